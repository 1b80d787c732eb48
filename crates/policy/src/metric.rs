//! The metrics a session reports and a guardrail can watch.

use rollcage_stats::Direction;

/// A per-run metric. Every one is a mean over sessions (a rate is a mean of 0/1 outcomes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    /// Share of runs that crash.
    CrashRate,
    /// Exchange latency in milliseconds, averaged over runs.
    LatencyMs,
    /// Coins minted through the exchange per run.
    CoinsPerRun,
    /// Share of runs after which the player returns the next day; observed a day late.
    ReturnRate,
    /// Share of runs whose save failed to load (a corrupted save, or a save the build cannot read).
    SaveErrorRate,
}

impl Metric {
    pub const COUNT: usize = 5;
    pub const ALL: [Metric; Metric::COUNT] = [
        Metric::CrashRate,
        Metric::LatencyMs,
        Metric::CoinsPerRun,
        Metric::ReturnRate,
        Metric::SaveErrorRate,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    /// The name used in scenario files and reports.
    pub fn name(self) -> &'static str {
        match self {
            Metric::CrashRate => "crash_rate",
            Metric::LatencyMs => "latency_ms",
            Metric::CoinsPerRun => "coins_per_run",
            Metric::ReturnRate => "return_rate",
            Metric::SaveErrorRate => "save_error_rate",
        }
    }

    pub fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The direction in which a change hurts players, unless a guardrail says otherwise.
    pub fn harmful_direction(self) -> Direction {
        match self {
            Metric::CrashRate | Metric::LatencyMs | Metric::CoinsPerRun | Metric::SaveErrorRate => {
                Direction::Increase
            }
            Metric::ReturnRate => Direction::Decrease,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_indices_are_dense() {
        for (i, m) in Metric::ALL.into_iter().enumerate() {
            assert_eq!(m.index(), i);
            assert_eq!(Metric::from_name(m.name()), Some(m));
        }
        assert_eq!(Metric::from_name("crashes"), None);
    }
}
