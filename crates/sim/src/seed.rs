//! Seeds and random streams. Every random number in a run comes from a ChaCha8 stream derived
//! from (scenario seed, run index), one stream per subsystem, so runs are independent of one
//! another and of the order or thread in which they execute.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// SplitMix64's finaliser: a bijective mix of 64 bits.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The seed of one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RunSeed(pub u64);

impl RunSeed {
    /// The seed of run `run` of a scenario seeded with `scenario_seed`.
    pub fn derive(scenario_seed: u64, run: u32) -> RunSeed {
        RunSeed(mix(scenario_seed ^ mix(u64::from(run))))
    }

    /// The random stream of one subsystem of this run.
    pub fn stream(self, stream: Stream) -> ChaCha8Rng {
        let mut rng = ChaCha8Rng::seed_from_u64(self.0);
        rng.set_stream(stream as u64);
        rng
    }

    /// Whether this run's release carries its faults, drawn from the run's own Truth stream
    /// (always when `faulty_share` is 1, with no draw).
    pub fn carries_faults(self, release: &rollcage_model::Release) -> bool {
        use rand::RngExt;
        release.faulty_share >= 1.0
            || self.stream(Stream::Truth).random::<f64>() < release.faulty_share
    }
}

/// The subsystems that draw random numbers, each from its own stream, so that a change in how
/// many numbers one of them draws does not shift the others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Player attributes.
    Population = 1,
    /// Session arrivals and outcomes.
    Sessions = 2,
    /// Planted bugs in tests (never drawn from in a correct world).
    Sabotage = 3,
    /// Fault draws that belong to players rather than sessions (when a player learns an exploit,
    /// which clients are stale, eager migrations).
    Faults = 4,
    /// How rollback step attempts go.
    Operations = 5,
    /// When sessions start and whose they are (drawn ahead of the sessions' outcomes, so the
    /// simulator can fetch each player's data from memory before it needs it).
    Arrivals = 6,
    /// Faults of the telemetry pipeline (late, lost and duplicated reports).
    Observation = 7,
    /// When the telemetry pipeline delivers each evaluation window (drawn by the harness).
    Delivery = 8,
    /// Whether the release carries its faults in this run (when only a share of runs does).
    Truth = 9,
    /// The outcomes of sessions played on the old build by eligible players not yet exposed,
    /// drawn only for the telemetry (see [`crate::WorldConfig::report_unexposed`]).
    Unexposed = 10,
}

impl Stream {
    /// Every stream, in the order of their numbers.
    pub const ALL: [Stream; 10] = [
        Stream::Population,
        Stream::Sessions,
        Stream::Sabotage,
        Stream::Faults,
        Stream::Operations,
        Stream::Arrivals,
        Stream::Observation,
        Stream::Delivery,
        Stream::Truth,
        Stream::Unexposed,
    ];
}
