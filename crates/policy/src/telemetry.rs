//! What the policy is allowed to see: per-cohort sums, never the truth.
//!
//! A [`Telemetry`] snapshot is cumulative since the current exposure began (the last change of the
//! build's exposed share). Its types hold counts and sums only; nothing here can say whether a
//! build is really harmful, and that is the point: the policy must decide from what a real
//! telemetry pipeline would give it.

use rollcage_stats::Moments;

use crate::metric::Metric;

/// The groups of players a snapshot reports on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Cohort {
    /// Sessions played on the new build.
    Treatment,
    /// Sessions of holdback players, who never receive the build during the rollout.
    Holdback,
    /// Sessions of eligible players still on the old build.
    Unexposed,
}

impl Cohort {
    pub const COUNT: usize = 3;
    pub const ALL: [Cohort; Cohort::COUNT] =
        [Cohort::Treatment, Cohort::Holdback, Cohort::Unexposed];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn name(self) -> &'static str {
        match self {
            Cohort::Treatment => "treatment",
            Cohort::Holdback => "holdback",
            Cohort::Unexposed => "unexposed",
        }
    }
}

/// One cohort's sums for every metric.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CohortTelemetry {
    pub metrics: [Moments; Metric::COUNT],
}

impl CohortTelemetry {
    pub fn metric(&self, metric: Metric) -> &Moments {
        &self.metrics[metric.index()]
    }

    /// Sessions reported (every session reports a crash outcome).
    pub fn sessions(&self) -> u64 {
        self.metric(Metric::CrashRate).count
    }
}

/// A snapshot of every cohort, cumulative since the current exposure began.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Telemetry {
    pub cohorts: [CohortTelemetry; Cohort::COUNT],
}

impl Telemetry {
    pub fn cohort(&self, cohort: Cohort) -> &CohortTelemetry {
        &self.cohorts[cohort.index()]
    }
}
