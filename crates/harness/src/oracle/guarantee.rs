//! The guarantees the oracles check, and what a run's broken ones leave in its record.

use rollcage_policy::Minutes;

/// The guarantees checked. Their names come from the derive.
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
    strum::VariantArray,
)]
#[strum(serialize_all = "kebab-case")]
pub enum Oracle {
    HoldbackIsolation,
    ExposureWithinStage,
    StickyExposure,
    KillPropagation,
    GateRespected,
    NoResumeOfKilledBuild,
    Liveness,
    RollbackComplete,
    RestorePromise,
    RollbackHonest,
}

impl Oracle {
    pub const ALL: &'static [Oracle] = <Oracle as strum::VariantArray>::VARIANTS;
    pub const COUNT: usize = Oracle::ALL.len();

    pub fn name(self) -> &'static str {
        self.into()
    }

    /// The guarantee, in one sentence.
    pub fn guarantee(self) -> &'static str {
        match self {
            Oracle::HoldbackIsolation => "no holdback player plays the new build before release",
            Oracle::ExposureWithinStage => {
                "no player beyond the current stage's share plays the new build"
            }
            Oracle::StickyExposure => "a player who got the build keeps it until it is killed",
            Oracle::KillPropagation => {
                "no session starts on a killed build, feature or segment later than the propagation bound"
            }
            Oracle::GateRespected => {
                "no stage advances before its duration, sample and approval gate holds"
            }
            Oracle::NoResumeOfKilledBuild => "a killed build is never exposed again",
            Oracle::Liveness => "a rollout never stopped is released within its schedule bound",
            Oracle::RollbackComplete => {
                "when a rollback is done, no player is on the build or the new schema, no save is corrupt, and holdback saves are untouched"
            }
            Oracle::RestorePromise => {
                "every restored save holds exactly what its restore strategy promises: nothing removed twice, nothing dropped"
            }
            Oracle::RollbackHonest => {
                "a rollback is declared done only after every step succeeded, and always ends, done or failed"
            }
        }
    }
}

/// One broken guarantee.
#[derive(Clone, Debug, PartialEq)]
pub struct Violation {
    pub oracle: Oracle,
    pub at: Minutes,
    pub detail: String,
}

/// The violations of one run: the first of each kind in full, and how many of each.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Violations {
    pub first: Vec<Violation>,
    pub counts: [u64; Oracle::COUNT],
}

impl Violations {
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    pub fn is_empty(&self) -> bool {
        self.total() == 0
    }

    pub(super) fn record(&mut self, oracle: Oracle, at: Minutes, detail: impl FnOnce() -> String) {
        let count = &mut self.counts[oracle as usize];
        if *count == 0 {
            self.first.push(Violation { oracle, at, detail: detail() });
        }
        *count += 1;
    }
}
