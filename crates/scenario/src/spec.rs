//! The scenario format, declared once: every table, every key, its type, bounds, default and
//! meaning. The loader validates against these declarations and `rollcage schema` prints them as
//! a JSON Schema, so the two cannot drift apart.
//!
//! The bounds double as rollcage's limits: populations, runs, stages, durations and counts all
//! have explicit maxima, checked at load time with an error that names the limit.

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

/// Rollcage's limits.
pub const MAX_PLAYERS: i64 = 1_000_000;
pub const MAX_RUNS: i64 = 100_000;
pub const MAX_STAGES: usize = 20;
pub const MAX_GUARDRAILS: usize = 16;
pub const MAX_FEATURES: usize = 32;
pub const MAX_FAULTS_PER_FEATURE: usize = 16;
pub const MAX_LIVE_EVENTS: usize = 64;
pub const MAX_OPERATOR_EVENTS: usize = 256;
pub const MAX_PLATFORMS: usize = 8;
pub const MAX_REGIONS: usize = 16;
/// 90 days: the longest rollout, counting every stage's minimum duration and the holdback period.
pub const MAX_HOURS: f64 = 2_160.0;
/// The largest scenario or sweep file, in bytes. The biggest shipped scenario is a few kilobytes;
/// the bound keeps a mistaken path (a log, a binary) from being read whole.
pub const MAX_FILE_BYTES: u64 = 1 << 20;
/// The deepest nesting of tables, arrays and dotted keys: the TOML parser's own bound, which
/// refuses deeper input with this message.
pub const MAX_NESTING: usize = 80;
/// The most problems a command prints; the rest are counted.
pub const MAX_PRINTED_PROBLEMS: usize = 50;
/// How many builds a run may roll out: the release and the builds that replace it after kills.
pub const MAX_BUILDS: usize = 8;

pub const METRICS: &[&str] =
    &["crash_rate", "latency_ms", "coins_per_run", "return_rate", "save_error_rate"];
pub const METHODS: &[&str] = &["threshold", "naive_z", "bonferroni", "spending", "msprt", "sprt"];
pub const ACTIONS: &[&str] = &["kill", "pause", "resume", "approve", "new_build"];
/// Names a scenario cannot take: the folders rollcage writes in a reports directory beside the
/// scenarios' own (`sweep` writes `<out>/sweep/`).
pub const RESERVED_NAMES: &[&str] = &["sweep"];

pub const HASHES: &[&str] = &["unleash-murmur3", "launchdarkly-sha1"];
pub const FAULT_KINDS: &[&str] =
    &["crash_rate", "latency", "exploit", "save_corruption", "retention"];
pub const STEPS: &[&str] =
    &["stop_exposure", "return_players", "revert_migration", "restore_players"];
pub const STRATEGIES: &[&str] = &["snapshot", "clawback", "replay"];
/// Steps in a rollback plan: each kind at most once.
pub const MAX_STEPS: usize = 4;

pub static POPULATION: TableSpec = TableSpec {
    name: "[population]",
    doc: "Who plays, and how differently. Player attributes are drawn afresh in every run.",
    keys: &[
        required(
            "players",
            Kind::Integer { min: 100, max: MAX_PLAYERS, default: None },
            "Simulated players.",
        ),
        optional(
            "runs_per_day",
            number(0.01, 200.0, 3.0),
            "Mean 12-minute runs per player per day.",
        ),
        optional(
            "activity_spread",
            number(0.0, 3.0, 0.8),
            "Log-normal sigma of per-player activity: a few players play far more than the rest.",
        ),
        optional(
            "crash_proneness_spread",
            number(0.0, 3.0, 0.5),
            "Log-normal sigma of per-player crash-proneness.",
        ),
        optional(
            "latency_spread",
            number(0.0, 3.0, 0.25),
            "Log-normal sigma of per-player latency (device, network).",
        ),
        optional(
            "skill_spread",
            number(0.0, 3.0, 0.3),
            "Log-normal sigma of per-player exchange skill (coins per run).",
        ),
        optional(
            "new_player_share",
            number(0.0, 1.0, 0.2),
            "Share of players who are new to the game.",
        ),
        optional(
            "platforms",
            Kind::Shares { max: MAX_PLATFORMS },
            "Platforms and their shares of players, e.g. { ios = 0.45, android = 0.45, pc = 0.1 }. Default: one platform, `all`.",
        ),
        optional(
            "regions",
            Kind::Shares { max: MAX_REGIONS },
            "Regions and their shares of players. Default: one region, `global`.",
        ),
        optional(
            "flag_refresh_min",
            Kind::Integer { min: 1, max: 1_440, default: Some(15) },
            "Clients fetch feature flags every this many minutes; a change reaches a client at its next fetch. Also the promised bound on kill propagation.",
        ),
        optional(
            "stale_client_share",
            number(0.0, 1.0, 0.0),
            "Share of clients that fetch flags only every stale_refresh_min (old app versions, clients in the background): they see a kill late.",
        ),
        optional(
            "stale_refresh_min",
            Kind::Integer { min: 1, max: 10_080, default: Some(240) },
            "How often stale clients fetch flags. With stale clients, the promised bound on kill propagation is this.",
        ),
    ],
};

pub static BASELINE: TableSpec = TableSpec {
    name: "[baseline]",
    doc: "How sessions go on the old build.",
    keys: &[
        required(
            "crash_rate",
            number_or_none(0.0, 1.0),
            "Share of runs that crash, for a typical veteran player.",
        ),
        optional(
            "new_player_crash_multiplier",
            number(0.0, 100.0, 1.0),
            "New players crash this many times as often.",
        ),
        optional(
            "latency_ms_median",
            number(0.001, 1e6, 80.0),
            "Median exchange latency of a run, in milliseconds.",
        ),
        optional(
            "latency_spread",
            number(0.0, 3.0, 0.35),
            "Log-normal sigma of one run's latency around the player's median.",
        ),
        optional(
            "coins_per_run",
            number(0.0, 1e9, 100.0),
            "Mean coins minted through the exchange per run.",
        ),
        optional(
            "coins_spread",
            number(0.0, 3.0, 0.5),
            "Log-normal sigma of one run's coins around the player's mean.",
        ),
        optional(
            "return_rate",
            number(0.0, 1.0, 0.6),
            "Share of runs after which the player returns the next day.",
        ),
        optional(
            "daily_cycle_amplitude",
            number(0.0, 0.95, 0.4),
            "Traffic swings by this fraction around its daily mean.",
        ),
        optional("peak_hour", number(0.0, 24.0, 20.0), "Hour of the day when traffic peaks."),
        optional(
            "item_rate",
            number(0.0, 1.0, 0.05),
            "Chance that a completed run earns the player an item.",
        ),
    ],
};

pub static ASSIGNMENT: TableSpec = TableSpec {
    name: "[assignment]",
    doc: "How players are hashed to buckets. Player ids are `player-0`, `player-1`, ...",
    keys: &[
        optional(
            "hash",
            Kind::Choice { values: HASHES, default: Some("unleash-murmur3") },
            "unleash-murmur3: MurmurHash3 of \"{group}:{id}\", as Unleash's gradual rollout; launchdarkly-sha1: SHA-1 of \"{group}.{salt}.{id}\", as LaunchDarkly's percentage rollouts.",
        ),
        optional(
            "group",
            Kind::Text { default: Some("rollcage") },
            "Unleash's groupId, or LaunchDarkly's flag key.",
        ),
        optional(
            "salt",
            Kind::Text { default: Some("rollcage") },
            "LaunchDarkly's salt (unused by Unleash).",
        ),
        optional(
            "seed",
            Kind::Integer { min: i64::MIN, max: i64::MAX, default: None },
            "LaunchDarkly's rollout seed, which replaces the flag key and salt in the hash (unused by Unleash).",
        ),
    ],
};

pub static SEGMENT: TableSpec = TableSpec {
    name: "segment",
    doc: "Which players a fault touches; a key left out matches everyone.",
    keys: &[
        optional(
            "platform",
            Kind::Text { default: None },
            "A platform named in [population] platforms.",
        ),
        optional("region", Kind::Text { default: None }, "A region named in [population] regions."),
        optional(
            "new_player",
            Kind::Boolean { default: None },
            "Only new players (true) or only veterans (false).",
        ),
    ],
};

pub static FAULT: TableSpec = TableSpec {
    name: "[[release.features.faults]]",
    doc: "A fault the feature really carries: the ground truth the policy must discover.",
    keys: &[
        required(
            "kind",
            Kind::Choice { values: FAULT_KINDS, default: None },
            "crash_rate multiplies the crash probability; latency the exchange latency; retention the chance of returning the next day; exploit mints extra coins in the exchange; save_corruption corrupts saves as they migrate.",
        ),
        optional(
            "multiplier",
            number_or_none(0.01, 1_000.0),
            "crash_rate, latency, retention: the factor (above 1 harms players and below 1 improves; for retention the reverse). exploit: the extra coins minted per legitimate coin of a run.",
        ),
        optional(
            "probability",
            number_or_none(0.0, 1.0),
            "save_corruption: the chance that a migration by the build corrupts the save (found when it is next loaded).",
        ),
        optional(
            "spread_h",
            number_or_none(0.0, MAX_HOURS),
            "exploit: the mean hours a player on the build takes to learn the exploit (exponential). Default 24.",
        ),
        optional(
            "audited",
            number_or_none(0.0, 1.0),
            "exploit: the share of exploit coins the audit trail flags (what a claw-back can find). Default 1.",
        ),
        optional(
            "onset_h",
            number(0.0, MAX_HOURS, 0.0),
            "Hours after the rollout starts when the fault begins to act.",
        ),
        optional("segment", Kind::Table(&SEGMENT), "Only these players are affected."),
    ],
};

pub static FEATURE: TableSpec = TableSpec {
    name: "[[release.features]]",
    doc: "A feature of the release, behind its own flag.",
    keys: &[
        required("name", Kind::Name, "The feature's name."),
        optional(
            "faults",
            Kind::Tables { spec: &FAULT, min: 0, max: MAX_FAULTS_PER_FEATURE },
            "Faults the feature carries.",
        ),
    ],
};

pub static RELEASE: TableSpec = TableSpec {
    name: "[release]",
    doc: "The build under test and the truth about it. A build that replaces it after a kill carries no fault.",
    keys: &[
        required("build", Kind::Text { default: None }, "The build id, e.g. \"1.4.0\"."),
        optional(
            "migration",
            Kind::Choice { values: &["none", "lazy", "eager"], default: Some("none") },
            "How the build moves saves to its new schema: not at all, at each player's first run on it, or for every exposed player when a stage starts.",
        ),
        optional(
            "backward_compatible",
            Kind::Boolean { default: Some(true) },
            "Whether the old build can load a migrated save; when it cannot, players sent back fail to load until the migration is reverted.",
        ),
        optional(
            "faulty_share",
            number(0.0, 1.0, 1.0),
            "The share of runs in which the release carries its faults. Below 1, each run draws whether it does, so one batch measures the false-kill rate on the runs without faults and detection on the runs with them.",
        ),
        optional(
            "features",
            Kind::Tables { spec: &FEATURE, min: 0, max: MAX_FEATURES },
            "The release's features.",
        ),
    ],
};

pub static LIVE_EVENT: TableSpec = TableSpec {
    name: "[[live_events]]",
    doc: "Something that changes every player's behaviour for a while, whatever their build.",
    keys: &[
        required("name", Kind::Name, "The event's name."),
        required("start_h", number_or_none(0.0, MAX_HOURS), "Hours after the rollout starts."),
        required("duration_h", number_or_none(0.0, MAX_HOURS), "How long it lasts, in hours."),
        optional(
            "traffic_multiplier",
            number(0.0, 100.0, 1.0),
            "Sessions per minute are multiplied by this.",
        ),
        optional(
            "crash_multiplier",
            number(0.0, 100.0, 1.0),
            "Every run's crash probability is multiplied by this.",
        ),
        optional(
            "latency_multiplier",
            number(0.0, 100.0, 1.0),
            "Every run's latency is multiplied by this.",
        ),
    ],
};

pub static STAGE: TableSpec = TableSpec {
    name: "[[policy.stages]]",
    doc: "One stage of the rollout.",
    keys: &[
        required(
            "percent",
            number_or_none(0.01, 100.0),
            "Share of all players exposed during the stage, in steps of 0.01%. Stages must increase, and the last plus the holdback may not exceed 100.",
        ),
        required(
            "min_duration_h",
            number_or_none(0.0, 720.0),
            "The stage lasts at least this many hours.",
        ),
        optional(
            "min_sample",
            Kind::Integer { min: 0, max: 1_000_000_000, default: Some(0) },
            "Sessions each of the treatment and the holdback must report during the stage before it may end.",
        ),
        optional(
            "approval",
            Kind::Boolean { default: Some(false) },
            "Leaving the stage needs an operator's approve event.",
        ),
    ],
};

pub static GUARDRAIL: TableSpec = TableSpec {
    name: "[[policy.guardrails]]",
    doc: "A metric watched for harm, comparing the treatment with the holdback (or, for threshold, the treatment alone).",
    keys: &[
        required("name", Kind::Name, "The guardrail's name, unique in the policy."),
        required("metric", Kind::Choice { values: METRICS, default: None }, "The metric watched."),
        required(
            "method",
            Kind::Choice { values: METHODS, default: None },
            "threshold: an absolute critical limit on the treatment; naive_z: a one-sided z-test at every look (inflates false kills); bonferroni: the z-test at alpha divided by the planned looks; spending: group-sequential boundaries from an alpha-spending function at the information the rollout actually gathers; msprt: the mixture sequential probability ratio test, which holds alpha over any number of looks; sprt: Wald's sequential probability ratio test against one stated effect.",
        ),
        optional(
            "harmful",
            Kind::Choice { values: &["increase", "decrease"], default: None },
            "The harmful direction. Default: increase, except decrease for return_rate.",
        ),
        optional(
            "alpha",
            Kind::Number { min: 1e-6, max: 0.5, default: None },
            "Error rate over the whole rollout (for naive_z, per look). Default 0.05.",
        ),
        optional(
            "margin_relative",
            number_or_none(0.0, 10.0),
            "Tolerated change as a fraction of the holdback's mean (every method but threshold). Default 0.",
        ),
        optional(
            "margin_absolute",
            number_or_none(0.0, 1e9),
            "Tolerated change in the metric's units (every method but threshold); instead of margin_relative.",
        ),
        optional(
            "mixture_sd",
            number_or_none(1e-12, 1e9),
            "msprt's mixture standard deviation, in the metric's units: the effect size it is most sensitive to. Default: half the metric's baseline mean, which balances speed on severe regressions against power on subtle ones.",
        ),
        optional(
            "spending",
            Kind::Choice { values: &["obrien_fleming", "pocock"], default: None },
            "spending's function: obrien_fleming spends almost nothing early (a canary stops only a plainly harmful build) and keeps the last look nearly a fixed-sample test; pocock spends evenly (catches more early, stricter at the end). Default obrien_fleming.",
        ),
        optional(
            "planned_information",
            number_or_none(1.0, 1e12),
            "spending's planned information, in sessions: the sum over stages of nt*nh/(nt+nh) the schedule is expected to gather. Default: computed from the population's traffic, the stage shares and the stages' minimum durations and samples (rollcage plan prints it).",
        ),
        optional(
            "looks",
            Kind::Integer { min: 1, max: 100_000, default: None },
            "bonferroni's planned looks. Default: the scheduled hours (stage minimums, or the time to their minimum samples, plus the holdback period) over the evaluation interval.",
        ),
        optional(
            "effect",
            number_or_none(1e-12, 1e12),
            "sprt's alternative: the harm beyond the margin, in the metric's units, it should detect with power 1 - beta (required for sprt).",
        ),
        optional(
            "beta",
            number_or_none(1e-4, 0.5),
            "sprt's type II error at `effect`. Default 0.2.",
        ),
        optional(
            "inconclusive_limit",
            Kind::Integer { min: 0, max: 1_000, default: Some(4) },
            "Consecutive evaluations without new telemetry (late, lost or during an outage) after which the rollout pauses; 0 never pauses. Such evaluations are inconclusive: never a pass, never a breach.",
        ),
        optional(
            "limit",
            number_or_none(-1e12, 1e12),
            "threshold's critical limit on the treatment's mean (required for threshold).",
        ),
        optional(
            "min_sample",
            Kind::Integer { min: 1, max: 1_000_000_000, default: Some(100) },
            "Sessions each compared cohort needs before the guardrail decides; until then it is inconclusive, never a pass.",
        ),
        optional(
            "severity",
            Kind::Choice { values: &["rollback", "pause"], default: Some("rollback") },
            "rollback kills the build; pause stops the rollout until an operator resumes it.",
        ),
        optional(
            "breaches_required",
            Kind::Integer { min: 1, max: 100, default: Some(1) },
            "Consecutive breaching evaluations before the breach acts.",
        ),
        optional(
            "scope",
            Kind::Choice { values: &["release", "feature", "segment"], default: Some("release") },
            "What a rollback-severity breach kills: the release (its rollback plan runs), one feature (named by `feature`), or each breaching segment cell of [policy] segment_by (evaluated per cell at alpha divided by the number of cells).",
        ),
        optional("feature", Kind::Name, "The feature a scope = \"feature\" guardrail kills."),
        optional(
            "variance",
            Kind::Choice { values: &["clustered", "session"], default: Some("clustered") },
            "clustered: variance components within and between players (sessions of one player are correlated), with a Student t reference; session: every session independent.",
        ),
        optional(
            "statistic",
            Kind::Choice { values: &["mean", "mann_whitney"], default: Some("mean") },
            "mean: compare the cohorts' means; mann_whitney: the Mann-Whitney rank test on the latency distributions, stratified by stage (latency_ms only, with naive_z, bonferroni or spending; relative margin; sessions taken as independent).",
        ),
    ],
};

pub static STEP: TableSpec = TableSpec {
    name: "[[policy.rollback]]",
    doc: "One step of the rollback plan a release kill runs, in the order stop_exposure, return_players, revert_migration, restore_players (each at most once; stop_exposure is added at the front, instant and infallible, if left out).",
    keys: &[
        required(
            "step",
            Kind::Choice { values: STEPS, default: None },
            "stop_exposure turns the flag off on the server; return_players makes every client, stale ones too, refresh; revert_migration moves saves back to the old schema; restore_players puts affected players' coins, items and progress back and repairs corrupted saves.",
        ),
        optional(
            "strategy",
            Kind::Choice { values: STRATEGIES, default: None },
            "restore_players only: snapshot restores from before the rollout (loses legitimate progress since); clawback removes the coins the audit trail flagged (leaves what it missed); replay rebuilds saves from legitimate transactions (exact).",
        ),
        optional(
            "duration_min",
            Kind::Integer { min: 0, max: 10_080, default: Some(0) },
            "Minutes an attempt takes.",
        ),
        optional("failure_probability", number(0.0, 1.0, 0.0), "Chance that an attempt fails."),
        optional(
            "half_applied",
            number(0.0, 1.0, 0.0),
            "Chance that a failed attempt has already applied itself to part of the players (a retry must not apply it twice).",
        ),
        optional(
            "retries",
            Kind::Integer { min: 0, max: 20, default: Some(0) },
            "Attempts after the first before the rollback is declared failed.",
        ),
        optional(
            "backoff_min",
            Kind::Integer { min: 0, max: 1_440, default: Some(5) },
            "Minutes before the first retry; each further retry waits twice as long.",
        ),
    ],
};

pub static POLICY: TableSpec = TableSpec {
    name: "[policy]",
    doc: "The rollout policy under test.",
    keys: &[
        optional(
            "evaluation_interval_min",
            Kind::Integer { min: 15, max: 1_440, default: Some(60) },
            "Minutes between telemetry snapshots; the policy evaluates and acts at each.",
        ),
        optional(
            "holdback_percent",
            number(0.0, 50.0, 5.0),
            "Share of players who never receive the build during the rollout and the holdback period.",
        ),
        optional(
            "holdback_period_h",
            number(0.0, 720.0, 24.0),
            "Hours the holdback is kept after the last stage before the build is released to everyone.",
        ),
        optional(
            "max_duration_h",
            number_or_none(1.0, MAX_HOURS),
            "The schedule bound: a rollout never stopped must be released by then; every run ends then. Default: 1.5 times the stages' minimum durations plus the holdback period.",
        ),
        optional(
            "segment_by",
            Kind::Choice { values: &["none", "platform", "region"], default: Some("none") },
            "The segments telemetry is broken into, for segment-scoped guardrails and segment kills.",
        ),
        optional(
            "in_flight",
            Kind::Choice { values: &["drain", "abort"], default: Some("drain") },
            "What happens to runs in flight when the release is switched off: they finish, or they end and give the player back their state from before the run.",
        ),
        optional(
            "multiplicity",
            Kind::Choice { values: &["none", "bonferroni", "holm"], default: Some("none") },
            "How the statistical guardrails' alphas combine: none (each at its own; some guardrail fires on a harmless build more often than any alpha), bonferroni (each at alpha divided by their number) or holm (the same, and a guardrail that breached passes its share on to the others).",
        ),
        optional(
            "srm_alpha",
            number(0.0, 0.5, 0.001),
            "The sample-ratio-mismatch check's error rate over the rollout: at each evaluation the current stage's assigned players are compared with the split the stage and holdback shares promise (chi-square), at srm_alpha divided by the planned looks; a mismatch pauses the rollout. 0 turns the check off.",
        ),
        optional(
            "resume_stage",
            Kind::Integer { min: 1, max: MAX_STAGES as i64, default: Some(1) },
            "The stage (1-based) a new build starts from after a kill.",
        ),
        required(
            "stages",
            Kind::Tables { spec: &STAGE, min: 1, max: MAX_STAGES },
            "The stages, in order.",
        ),
        optional(
            "guardrails",
            Kind::Tables { spec: &GUARDRAIL, min: 0, max: MAX_GUARDRAILS },
            "The guardrails.",
        ),
        optional("rollback", Kind::Tables { spec: &STEP, min: 0, max: MAX_STEPS }, STEP.doc),
    ],
};

pub static OPERATOR: TableSpec = TableSpec {
    name: "[[operator]]",
    doc: "A scripted operator intervention; it takes effect at the first evaluation at or after its time.",
    keys: &[
        required("at_h", number_or_none(0.0, MAX_HOURS), "Hours after the rollout starts."),
        required(
            "action",
            Kind::Choice { values: ACTIONS, default: None },
            "kill the build; pause or resume the rollout; approve a stage's gate; new_build resumes after a kill with a new build id.",
        ),
        optional("note", Kind::Text { default: None }, "Why, for the timeline."),
        optional(
            "stage",
            Kind::Integer { min: 1, max: MAX_STAGES as i64, default: None },
            "The stage (1-based) an approve event approves.",
        ),
        optional("build", Kind::Text { default: None }, "The new build id of a new_build event."),
        optional(
            "feature",
            Kind::Name,
            "kill only: kill this feature of the release instead of all of it.",
        ),
        optional(
            "segment",
            Kind::Name,
            "kill only: send this segment (a platform or region of [policy] segment_by) back to the old build instead of everyone.",
        ),
    ],
};

pub static OUTAGE: TableSpec = TableSpec {
    name: "[[telemetry.outages]]",
    doc: "A period when the telemetry pipeline delivers nothing.",
    keys: &[
        required("start_h", number_or_none(0.0, MAX_HOURS), "Hours after the rollout starts."),
        required("duration_h", number_or_none(0.0, MAX_HOURS), "How long it lasts, in hours."),
        optional(
            "backfill",
            Kind::Boolean { default: Some(true) },
            "Whether the pipeline delivers what happened during the outage when it comes back (true), or loses it (false).",
        ),
    ],
};

pub static TELEMETRY: TableSpec = TableSpec {
    name: "[telemetry]",
    doc: "Faults of the telemetry pipeline: the policy sees less, or later, than what happened. Players are not affected.",
    keys: &[
        optional(
            "late_probability",
            number(0.0, 1.0, 0.0),
            "Chance that an evaluation window's telemetry arrives one evaluation late.",
        ),
        optional(
            "gap_probability",
            number(0.0, 1.0, 0.0),
            "Chance that an evaluation window's telemetry is lost for good.",
        ),
        optional(
            "duplicate_probability",
            number(0.0, 1.0, 0.0),
            "Chance that a session on the new build is reported twice.",
        ),
        optional(
            "outages",
            Kind::Tables { spec: &OUTAGE, min: 0, max: MAX_LIVE_EVENTS },
            OUTAGE.doc,
        ),
    ],
};

pub static ASSIGNMENT_BUG: TableSpec = TableSpec {
    name: "[assignment_bug]",
    doc: "A targeting bug on the flag server: a share of one segment's players is left out of every stage's exposure and stays on the old build. The treatment then lacks part of that segment, which biases its comparison with the holdback; the sample-ratio check is what can tell.",
    keys: &[
        required("share", number_or_none(0.0, 1.0), "The share of the segment's players left out."),
        optional("segment", Kind::Table(&SEGMENT), "The players it touches; everyone if left out."),
    ],
};

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
}
