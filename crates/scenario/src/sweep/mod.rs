//! Sweep files: one scenario, many policies.
//!
//! A sweep names a scenario file and the policy parameters to vary over a grid: whole stage
//! schedules (percentages with their durations), a scale on every stage's duration, the holdback,
//! the statistical guardrails' method and alpha, and the evaluation cadence; and, to draw a power
//! curve, the size of the fault the release carries (`fault_multiplier`). Each combination is a
//! [`Variant`]; [`apply`] writes it into the scenario's own TOML and loads the result, so a variant
//! is checked exactly as a scenario file is and gets the defaults its schedule implies (Bonferroni's
//! looks, spending's planned information).
//!
//! ```toml
//! name = "faster-rollout"
//! scenario = "../scenarios/methods/spending-pocock.toml"   # relative to the sweep file
//! runs = 400                                               # per variant; default: the scenario's
//!
//! [[schedule]]
//! name = "five-steps"
//! percent = [2, 10, 25, 50, 90]
//! hours = [6, 12, 12, 12, 24]
//!
//! [vary]
//! duration_scale = [0.5, 1.0]
//! holdback_percent = [5, 10]
//! method = ["msprt", "pocock"]
//! alpha = [0.05]
//! evaluation_interval_min = [30, 60]
//! fault_multiplier = [1.1, 1.25, 1.5, 2.0]
//! ```

use std::fmt::Write as _;
use std::ops::Range;

pub use rollcage_model::limits::MAX_VARIANTS;

mod apply;
mod parse;

pub use apply::{Ready, VariantError, apply, prepare};
pub use parse::parse;

/// A method a sweep can give every statistical guardrail: a scenario's method, with the spending
/// methods named by their function. (Wald's SPRT is left out: it needs an effect size per
/// guardrail, which belongs in a scenario file.) Its names come from the derive.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantNames,
    strum::Display,
)]
#[strum(serialize_all = "snake_case")]
pub enum SweepMethod {
    NaiveZ,
    Bonferroni,
    #[strum(serialize = "obrien_fleming")]
    OBrienFleming,
    Pocock,
    Msprt,
}

/// Every method's name, in the order sweep files list them.
pub const METHODS: &[&str] = <SweepMethod as strum::VariantNames>::VARIANTS;

pub(super) const VARY_KEYS: &[&str] = &[
    "duration_scale",
    "holdback_percent",
    "method",
    "alpha",
    "evaluation_interval_min",
    "fault_multiplier",
];

/// A stage schedule: each stage's percentage and, optionally, its minimum duration in hours.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    pub name: String,
    pub percent: Vec<f64>,
    /// `None` keeps the scenario's durations (the schedule then has as many stages as it).
    pub hours: Option<Vec<f64>>,
}

/// A parsed sweep file.
#[derive(Clone, Debug, PartialEq)]
pub struct Sweep {
    pub name: String,
    /// The scenario file, as written (relative to the sweep file's directory).
    pub scenario: String,
    pub runs: Option<u32>,
    pub schedules: Vec<Schedule>,
    pub duration_scale: Vec<f64>,
    pub holdback_percent: Vec<f64>,
    pub method: Vec<SweepMethod>,
    pub alpha: Vec<f64>,
    pub evaluation_interval_min: Vec<i64>,
    pub fault_multiplier: Vec<f64>,
    /// Where each axis's values are written in the sweep file, in the axes' order (see [`AXES`]).
    pub(super) places: [Vec<Range<usize>>; AXES],
}

/// The grid's axes, in grid order: the last varies fastest.
pub(super) const AXES: usize = 7;

pub(super) const SCHEDULE: usize = 0;

pub(super) const DURATION_SCALE: usize = 1;

pub(super) const HOLDBACK_PERCENT: usize = 2;

pub(super) const METHOD: usize = 3;

pub(super) const ALPHA: usize = 4;

pub(super) const EVALUATION_INTERVAL: usize = 5;

pub(super) const FAULT_MULTIPLIER: usize = 6;

pub(super) fn values(found: Vec<(f64, Range<usize>)>) -> Vec<f64> {
    found.into_iter().map(|(v, _)| v).collect()
}

/// One point of the grid. `None` keeps what the scenario says.
#[derive(Clone, Debug, PartialEq)]
pub struct Variant {
    /// Its position in the grid, from 0: the last axis varies fastest.
    pub index: usize,
    pub schedule: Option<Schedule>,
    pub duration_scale: Option<f64>,
    pub holdback_percent: Option<f64>,
    pub method: Option<SweepMethod>,
    pub alpha: Option<f64>,
    pub evaluation_interval_min: Option<i64>,
    /// The multiplier of every fault the release carries (a crash-rate or latency multiplier, say).
    pub fault_multiplier: Option<f64>,
    /// Which value of each axis it takes.
    pub(super) picks: [Option<usize>; AXES],
}

impl Variant {
    /// `key=value` for every parameter the variant sets, for messages and progress.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        let mut put = |k: &str, v: String| {
            let _ = write!(out, "{}{k}={v}", if out.is_empty() { "" } else { " " });
        };
        if let Some(s) = &self.schedule {
            put("schedule", s.name.clone());
        }
        if let Some(x) = self.duration_scale {
            put("duration_scale", x.to_string());
        }
        if let Some(x) = self.holdback_percent {
            put("holdback_percent", x.to_string());
        }
        if let Some(x) = self.method {
            put("method", x.to_string());
        }
        if let Some(x) = self.alpha {
            put("alpha", x.to_string());
        }
        if let Some(x) = self.evaluation_interval_min {
            put("evaluation_interval_min", x.to_string());
        }
        if let Some(x) = self.fault_multiplier {
            put("fault_multiplier", x.to_string());
        }
        if out.is_empty() { "as written".to_string() } else { out }
    }
}

impl Sweep {
    /// An axis's values, their places remembered.
    pub(super) fn axis(&mut self, axis: usize, found: Vec<(f64, Range<usize>)>) -> Vec<f64> {
        self.places[axis] = found.iter().map(|(_, span)| span.clone()).collect();
        values(found)
    }

    pub(super) fn lengths(&self) -> [usize; AXES] {
        [
            self.schedules.len(),
            self.duration_scale.len(),
            self.holdback_percent.len(),
            self.method.len(),
            self.alpha.len(),
            self.evaluation_interval_min.len(),
            self.fault_multiplier.len(),
        ]
    }

    /// How many variants the grid has (an empty axis counts once), or `None` past `usize`.
    pub fn count(&self) -> Option<usize> {
        self.lengths().iter().try_fold(1usize, |n, &len| n.checked_mul(len.max(1)))
    }

    /// Every combination of the axes, in grid order. An empty axis keeps the scenario's value.
    pub fn variants(&self) -> Vec<Variant> {
        (0..self.count().unwrap_or(0)).map(|index| self.variant(index)).collect()
    }

    /// The variant at `index` in grid order.
    fn variant(&self, index: usize) -> Variant {
        let mut picks = [None; AXES];
        let mut rest = index;
        for (axis, len) in self.lengths().into_iter().enumerate().rev() {
            if len > 0 {
                picks[axis] = Some(rest % len);
                rest /= len;
            }
        }
        self.pick(index, picks)
    }

    pub(super) fn pick(&self, index: usize, picks: [Option<usize>; AXES]) -> Variant {
        Variant {
            index,
            schedule: picks[SCHEDULE].map(|i| self.schedules[i].clone()),
            duration_scale: picks[DURATION_SCALE].map(|i| self.duration_scale[i]),
            holdback_percent: picks[HOLDBACK_PERCENT].map(|i| self.holdback_percent[i]),
            method: picks[METHOD].map(|i| self.method[i]),
            alpha: picks[ALPHA].map(|i| self.alpha[i]),
            evaluation_interval_min: picks[EVALUATION_INTERVAL]
                .map(|i| self.evaluation_interval_min[i]),
            fault_multiplier: picks[FAULT_MULTIPLIER].map(|i| self.fault_multiplier[i]),
            picks,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
name = "base"
seed = 1
runs = 10

[population]
players = 2000

[baseline]
crash_rate = 0.02
new_player_crash_multiplier = 1.5
latency_ms_median = 80.0
latency_spread = 0.35
coins_per_run = 120.0
return_rate = 0.6
daily_cycle_amplitude = 0.4
peak_hour = 20

[release]
build = "2.0.0"

[[release.features]]
name = "core"

[[release.features.faults]]
kind = "crash_rate"
multiplier = 2.0

[policy]
holdback_percent = 10

[[policy.stages]]
percent = 5
min_duration_h = 6
min_sample = 100

[[policy.stages]]
percent = 50
min_duration_h = 12

[[policy.guardrails]]
name = "crash-rate"
metric = "crash_rate"
method = "msprt"
mixture_sd = 0.01

[[policy.guardrails]]
name = "crash-limit"
metric = "crash_rate"
method = "threshold"
limit = 0.5

[[policy.rollback]]
step = "stop_exposure"
"#;

    fn sweep(text: &str) -> Sweep {
        parse(text).unwrap_or_else(|d| panic!("{d:#?}"))
    }

    #[test]
    fn the_grid_is_every_combination_with_the_last_axis_fastest() {
        let s = sweep(
            "name = \"g\"\nscenario = \"x.toml\"\n[vary]\nholdback_percent = [5, 10]\nalpha = [0.01, 0.05, 0.1]\n",
        );
        let v = s.variants();
        assert_eq!(v.len(), 6);
        assert_eq!((v[1].holdback_percent, v[1].alpha), (Some(5.0), Some(0.05)));
        assert_eq!((v[3].holdback_percent, v[3].alpha), (Some(10.0), Some(0.01)));
        assert_eq!(v[5].index, 5);
        assert_eq!(v[0].describe(), "holdback_percent=5 alpha=0.01");
    }

    #[test]
    fn a_variant_rewrites_the_policy_and_loads() {
        let s = sweep(
            r#"name = "g"
scenario = "x.toml"
[[schedule]]
name = "three"
percent = [2, 20, 60]
hours = [3, 6, 9]
[vary]
duration_scale = [2.0]
method = ["pocock"]
alpha = [0.02]
evaluation_interval_min = [30]
"#,
        );
        let (scenario, _) = apply(BASE, &s.variants()[0]).unwrap();
        let stages: Vec<(u16, u32)> = scenario
            .policy
            .stages
            .iter()
            .map(|st| (st.share.basis_points(), st.min_duration.0))
            .collect();
        assert_eq!(stages, vec![(200, 360), (2_000, 720), (6_000, 1_080)]);
        // The first stage keeps the scenario's min_sample; the added third takes the last stage's.
        assert_eq!(scenario.policy.stages[0].min_sample, 100);
        assert_eq!(scenario.policy.stages[2].min_sample, 0);
        assert_eq!(scenario.evaluation_interval.0, 30);
        let g = &scenario.policy.guardrails;
        let test = g[0].method.comparison().unwrap();
        assert!((test.alpha - 0.02).abs() < 1e-15);
        assert!(
            matches!(g[0].method, rollcage_policy::Method::Spending { .. }),
            "{:?}",
            g[0].method
        );
        assert!(matches!(g[1].method, rollcage_policy::Method::Threshold { .. }));
    }

    #[test]
    fn a_variant_the_scenario_format_refuses_says_why() {
        let s = sweep(
            "name = \"g\"\nscenario = \"x.toml\"\n[[schedule]]\nname = \"big\"\npercent = [5, 95]\n",
        );
        let err = apply(BASE, &s.variants()[0]).unwrap_err();
        assert!(err.0.iter().any(|m| m.contains("100")), "{err:?}");
    }

    #[test]
    fn a_fault_multiplier_resizes_the_release_faults_or_is_refused_without_one() {
        let s =
            sweep("name = \"g\"\nscenario = \"x.toml\"\n[vary]\nfault_multiplier = [1.25, 3]\n");
        let v = s.variants();
        assert_eq!(v[1].describe(), "fault_multiplier=3");
        let (scenario, _) = apply(BASE, &v[0]).unwrap();
        let multipliers: Vec<Option<f64>> =
            scenario.world.release.faults.iter().map(|f| f.kind.multiplier()).collect();
        assert_eq!(multipliers, vec![Some(1.25)]);
        let faultless = BASE
            .replace("[[release.features.faults]]\nkind = \"crash_rate\"\nmultiplier = 2.0\n", "");
        assert_ne!(faultless, BASE);
        let err = apply(&faultless, &v[0]).unwrap_err();
        assert!(err.0[0].contains("carries none with a multiplier"), "{err:?}");
    }

    #[test]
    fn every_problem_in_a_sweep_file_is_reported_with_its_place() {
        let problems = parse(
            "name = \"bad name\"\nrunz = 3\n[[schedule]]\nname = \"a\"\npercent = [10, 5]\n[vary]\nmethod = [\"sprt\"]\nalpha = []\n",
        )
        .unwrap_err();
        let lines: Vec<(usize, &str)> =
            problems.iter().map(|d| (d.line, d.message.as_str())).collect();
        assert_eq!(problems.len(), 6, "{lines:#?}");
        assert!(lines.iter().any(|(l, m)| *l == 1 && m.contains("`name`")));
        assert!(lines.iter().any(|(l, m)| *l == 2 && m.contains("unknown key `runz`")));
        assert!(lines.iter().any(|(l, m)| *l == 5 && m.contains("must increase")));
        assert!(lines.iter().any(|(l, m)| *l == 7 && m.contains("`method` values")));
        assert!(lines.iter().any(|(l, m)| *l == 8 && m.contains("at least one value")));
        assert!(lines.iter().any(|(_, m)| m.contains("needs `scenario`")));
    }
}
