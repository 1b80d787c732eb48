//! What the policy is allowed to see: per-cohort sums, never the truth.
//!
//! A [`Telemetry`] snapshot is cumulative since the current exposure began (the last change of the
//! build's exposed share). Its types hold counts and sums only; nothing here can say whether a
//! build is really harmful, and that is the point: the policy must decide from what a real
//! telemetry pipeline would give it.

use rollcage_stats::rank::BINS as LATENCY_BINS;
use rollcage_stats::{Carried, Moments};

use rollcage_model::Metric;
use rollcage_model::Minutes;

/// The groups of players a snapshot reports on.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[strum(serialize_all = "snake_case")]
pub enum Cohort {
    /// Sessions played on the new build.
    Treatment,
    /// Sessions of holdback players, who never receive the build during the rollout.
    Holdback,
    /// Sessions of eligible players still on the old build.
    Unexposed,
}

impl Cohort {
    pub const ALL: &'static [Cohort] = <Cohort as strum::VariantArray>::VARIANTS;
    pub const COUNT: usize = Cohort::ALL.len();

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// The most segment cells a snapshot breaks a cohort into (the most regions a scenario may have).
pub use rollcage_model::limits::MAX_CELLS;

/// Every cell, as a set of cells (bit c for cell c).
pub const ALL_CELLS: u32 = (1 << MAX_CELLS) - 1;

/// One cohort's sums for every metric, broken down into segment cells (by platform or region, as
/// the policy asks; a single cell when it asks for no breakdown). A player belongs to one cell, so
/// the cells of a cohort add up to the cohort.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CohortTelemetry {
    pub cells: [[Moments; Metric::COUNT]; MAX_CELLS],
    /// Distinct players the server assigned to this cohort who started a session during the
    /// exposure, per cell, counted when the session starts. This is what a sample-ratio check
    /// compares with the assignment's promise; it does not depend on what clients report.
    pub assigned: [u64; MAX_CELLS],
    /// Sessions per latency bin (see [`rollcage_stats::rank`]), over every cell; kept only when a
    /// guardrail runs a rank test.
    pub latency: [u32; LATENCY_BINS],
    /// What the cohort's players carry into this exposure from the build's earlier exposures (see
    /// [`rollcage_stats::contrast`]), per cell and metric, with the earlier strata weighted as a
    /// comparison over every cell weighs them. Kept for clustered comparisons on the mean.
    pub carried: [[Carried; Metric::COUNT]; MAX_CELLS],
    /// The same, with the earlier strata weighted as a comparison within the player's own cell
    /// weighs them (equal to `carried` without a breakdown).
    pub carried_in_cell: [[Carried; Metric::COUNT]; MAX_CELLS],
}

impl Default for CohortTelemetry {
    fn default() -> CohortTelemetry {
        CohortTelemetry {
            cells: [[Moments::default(); Metric::COUNT]; MAX_CELLS],
            assigned: [0; MAX_CELLS],
            latency: [0; LATENCY_BINS],
            carried: [[Carried::default(); Metric::COUNT]; MAX_CELLS],
            carried_in_cell: [[Carried::default(); Metric::COUNT]; MAX_CELLS],
        }
    }
}

impl CohortTelemetry {
    /// The whole cohort's sums for one metric.
    pub fn metric(&self, metric: Metric) -> Moments {
        self.metric_in(metric, ALL_CELLS)
    }

    /// The cohort's sums for one metric over the cells in `cells` (bit c for cell c).
    pub fn metric_in(&self, metric: Metric, cells: u32) -> Moments {
        let mut total = Moments::default();
        for (_, cell) in self.cells.iter().enumerate().filter(|(c, _)| cells & (1 << c) != 0) {
            total.merge(&cell[metric.index()]);
        }
        total
    }

    /// What the players carry in for one metric, into a comparison within one cell, or over the
    /// cells in `cells` (bit c for cell c) when `cell` is `None`.
    pub fn carried_in(&self, metric: Metric, cell: Option<usize>, cells: u32) -> Carried {
        match cell {
            Some(c) => self.carried_in_cell[c][metric.index()],
            None => {
                let mut total = Carried::default();
                self.carried
                    .iter()
                    .enumerate()
                    .filter(|(c, _)| cells & (1 << c) != 0)
                    .for_each(|(_, c)| total.merge(&c[metric.index()]));
                total
            }
        }
    }

    /// One segment cell's sums for one metric.
    pub fn cell(&self, cell: usize, metric: Metric) -> &Moments {
        &self.cells[cell][metric.index()]
    }

    /// Sessions reported (every session reports a crash outcome).
    pub fn sessions(&self) -> u64 {
        self.cells.iter().map(|c| c[Metric::CrashRate.index()].count).sum()
    }
}

/// A snapshot of every cohort, cumulative since the current exposure began.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Telemetry {
    pub cohorts: [CohortTelemetry; Cohort::COUNT],
    /// The time the snapshot is complete up to. A pipeline that is late or down delivers an older
    /// snapshot again; the policy then has nothing new to decide on.
    pub as_of: Minutes,
}

impl Telemetry {
    pub fn cohort(&self, cohort: Cohort) -> &CohortTelemetry {
        &self.cohorts[cohort.index()]
    }
}
