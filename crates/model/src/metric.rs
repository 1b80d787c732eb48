//! The metrics a session reports and a guardrail can watch.

use rollcage_stats::Direction;

/// A per-run metric. Every one is a mean over sessions (a rate is a mean of 0/1 outcomes). Its
/// name in scenario files, reports and messages comes from the derive: the variant in snake case.
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
    strum::EnumString,
    strum::VariantNames,
)]
#[strum(serialize_all = "snake_case")]
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

    /// Every metric's name, in the order of [`Metric::ALL`].
    pub const NAMES: &'static [&'static str] = <Metric as strum::VariantNames>::VARIANTS;

    /// The name used in scenario files and reports.
    pub fn name(self) -> &'static str {
        self.into()
    }

    pub fn from_name(name: &str) -> Option<Metric> {
        name.parse().ok()
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
        // The names scenario files and reports have always used.
        assert_eq!(
            Metric::NAMES,
            ["crash_rate", "latency_ms", "coins_per_run", "return_rate", "save_error_rate"]
        );
        assert_eq!(Metric::NAMES.len(), Metric::ALL.len());
    }
}
