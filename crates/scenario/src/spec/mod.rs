//! The scenario format, declared once: every table, every key, its type, bounds, default and
//! meaning. The loader validates against these declarations and `rollcage schema` prints them as
//! a JSON Schema, so the two cannot drift apart.
//!
//! The bounds are rollcage's limits, from [`rollcage_model::limits`]: populations, runs, stages, durations and
//! counts all have explicit maxima, checked at load time with an error that names the limit.

mod policy;
mod world;

use rollcage_model::{
    Breakdown, CommandName, FaultName, HashName, InFlight, MethodName, Metric, Migration, Restore,
    ScopeName, StepName,
};
use rollcage_stats::spending::Spending;
use rollcage_stats::{Direction, VarianceModel};
use strum::VariantNames;

pub use policy::*;
pub use rollcage_model::limits::*;
pub use world::*;

/// A TOML table of the format.
#[derive(Debug)]
pub struct TableSpec {
    /// How messages name the table, e.g. `[policy]` or `[[policy.stages]]`.
    pub name: &'static str,
    pub doc: &'static str,
    pub keys: &'static [Key],
}

/// One key of a table.
#[derive(Debug)]
pub struct Key {
    pub name: &'static str,
    pub doc: &'static str,
    pub kind: Kind,
    pub required: bool,
}

/// What a key holds.
#[derive(Debug)]
pub enum Kind {
    Integer {
        min: i64,
        max: i64,
        default: Option<i64>,
    },
    /// A number; integers are accepted too.
    Number {
        min: f64,
        max: f64,
        default: Option<f64>,
    },
    Text {
        default: Option<&'static str>,
    },
    /// A lowercase name: letters, digits, `-` and `_`, starting with a letter or digit.
    Name,
    Choice {
        values: &'static [&'static str],
        default: Option<&'static str>,
    },
    Boolean {
        default: Option<bool>,
    },
    Table(&'static TableSpec),
    Tables {
        spec: &'static TableSpec,
        min: usize,
        max: usize,
    },
    /// An inline table of names to shares in [0, 1] that sum to 1.
    Shares {
        max: usize,
    },
}

const fn optional(name: &'static str, kind: Kind, doc: &'static str) -> Key {
    Key { name, doc, kind, required: false }
}

const fn required(name: &'static str, kind: Kind, doc: &'static str) -> Key {
    Key { name, doc, kind, required: true }
}

const fn number(min: f64, max: f64, default: f64) -> Kind {
    Kind::Number { min, max, default: Some(default) }
}

const fn number_or_none(min: f64, max: f64) -> Kind {
    Kind::Number { min, max, default: None }
}

/// The metrics' names, from the metric enum itself.
pub const METRICS: &[&str] = Metric::NAMES;

// Every other choice's names, from its enum.
pub const METHODS: &[&str] = MethodName::VARIANTS;
pub const ACTIONS: &[&str] = CommandName::VARIANTS;
pub const HASHES: &[&str] = HashName::VARIANTS;
pub const FAULT_KINDS: &[&str] = FaultName::VARIANTS;
pub const STEPS: &[&str] = StepName::VARIANTS;
pub const STRATEGIES: &[&str] = Restore::VARIANTS;
pub const DIRECTIONS: &[&str] = Direction::VARIANTS;
pub const SPENDINGS: &[&str] = Spending::VARIANTS;
pub const SCOPES: &[&str] = ScopeName::VARIANTS;
pub const VARIANCES: &[&str] = VarianceModel::VARIANTS;
pub const BREAKDOWNS: &[&str] = Breakdown::VARIANTS;
pub const IN_FLIGHT: &[&str] = InFlight::VARIANTS;
pub const MIGRATIONS: &[&str] = Migration::VARIANTS;

/// Names a scenario cannot take: the folders rollcage writes in a reports directory beside the
/// scenarios' own (`sweep` writes `<out>/sweep/`).
pub const RESERVED_NAMES: &[&str] = &["sweep"];

pub static EXPECT: TableSpec = TableSpec {
    name: "[expect]",
    doc: "What the batch must show; any bound not met makes `simulate` exit with 1.",
    keys: &[
        optional(
            "false_kill_rate_max",
            number_or_none(0.0, 1.0),
            "Highest acceptable share of harmless runs stopped.",
        ),
        optional(
            "false_stop_rate_max",
            number_or_none(0.0, 1.0),
            "Highest acceptable share of runs in which a guardrail stopped a part of the release doing no harm (a healthy feature or segment, the release once its harm was contained, or a build that replaced it).",
        ),
        optional(
            "data_pause_rate_max",
            number_or_none(0.0, 1.0),
            "Highest acceptable share of runs a data-quality check paused.",
        ),
        optional(
            "data_pause_rate_min",
            number_or_none(0.0, 1.0),
            "Lowest acceptable share of runs a data-quality check paused (for scenarios whose data is broken on purpose).",
        ),
        optional(
            "detection_rate_min",
            number_or_none(0.0, 1.0),
            "Lowest acceptable share of harmful runs stopped.",
        ),
        optional(
            "time_to_detect_h_p90_max",
            number_or_none(0.0, MAX_HOURS),
            "Highest acceptable 90th percentile of hours from harm to stop.",
        ),
        optional(
            "harmed_players_mean_max",
            number_or_none(0.0, 1e9),
            "Highest acceptable mean number of players harmed per run.",
        ),
        optional(
            "released_rate_min",
            number_or_none(0.0, 1.0),
            "Lowest acceptable share of runs ending released.",
        ),
        optional(
            "rolled_back_rate_min",
            number_or_none(0.0, 1.0),
            "Lowest acceptable share of rollbacks that end rolled back (not failed).",
        ),
        optional(
            "rollback_h_p90_max",
            number_or_none(0.0, MAX_HOURS),
            "Highest acceptable 90th percentile of hours from a release kill to rolled back.",
        ),
        optional(
            "coins_lost_mean_max",
            number_or_none(0.0, 1e15),
            "Highest acceptable mean legitimate coins lost per run.",
        ),
        optional(
            "exploit_coins_left_mean_max",
            number_or_none(0.0, 1e15),
            "Highest acceptable mean exploit coins left in saves per run.",
        ),
        optional(
            "corrupted_saves_left_mean_max",
            number_or_none(0.0, 1e9),
            "Highest acceptable mean corrupted saves left per run.",
        ),
        optional(
            "oracle_violation_runs_max",
            Kind::Integer { min: 0, max: MAX_RUNS, default: Some(0) },
            "Runs with a safety or liveness violation the scenario tolerates.",
        ),
    ],
};

pub static SCENARIO: TableSpec = TableSpec {
    name: "the top level",
    doc: "A rollcage scenario: a world, a release, a rollout policy, an operators' script and expectations.",
    keys: &[
        required(
            "name",
            Kind::Name,
            "The scenario's name; reports go to reports/<name>/, so it cannot be `sweep` (where sweeps report).",
        ),
        optional("description", Kind::Text { default: None }, "What the scenario shows."),
        optional(
            "compare",
            Kind::Name,
            "A comparison group: `simulate` prints every scenario of a group side by side (false-kill rate, detection rate, time to detect, blast radius, with intervals) after the batch, e.g. the same rollout under each guardrail method.",
        ),
        required(
            "seed",
            Kind::Integer { min: 0, max: i64::MAX, default: None },
            "The seed every run's seed derives from.",
        ),
        optional(
            "runs",
            Kind::Integer { min: 1, max: MAX_RUNS, default: Some(1_000) },
            "Seeded runs in the batch.",
        ),
        required("population", Kind::Table(&POPULATION), POPULATION.doc),
        required("baseline", Kind::Table(&BASELINE), BASELINE.doc),
        optional("assignment", Kind::Table(&ASSIGNMENT), ASSIGNMENT.doc),
        required("release", Kind::Table(&RELEASE), RELEASE.doc),
        optional(
            "live_events",
            Kind::Tables { spec: &LIVE_EVENT, min: 0, max: MAX_LIVE_EVENTS },
            LIVE_EVENT.doc,
        ),
        optional("telemetry", Kind::Table(&TELEMETRY), TELEMETRY.doc),
        optional("assignment_bug", Kind::Table(&ASSIGNMENT_BUG), ASSIGNMENT_BUG.doc),
        required("policy", Kind::Table(&POLICY), POLICY.doc),
        optional(
            "operator",
            Kind::Tables { spec: &OPERATOR, min: 0, max: MAX_OPERATOR_EVENTS },
            OPERATOR.doc,
        ),
        optional("expect", Kind::Table(&EXPECT), EXPECT.doc),
    ],
};

impl TableSpec {
    pub fn key(&'static self, name: &str) -> Option<&'static Key> {
        self.keys.iter().find(|k| k.name == name)
    }

    /// The bounds of a declared number (or integer) key: what other formats that set it (a
    /// sweep's axes) accept.
    pub fn bounds(&'static self, name: &str) -> (f64, f64) {
        match self.key(name).map(|k| &k.kind) {
            Some(Kind::Number { min, max, .. }) => (*min, *max),
            Some(Kind::Integer { min, max, .. }) => (*min as f64, *max as f64),
            _ => panic!("`{name}` is not a number key of {}", self.name),
        }
    }
}
