//! rollcage's world: everything that is true about a rollout, and the telemetry it gives off.
//!
//! A [`World`] holds one run: a seeded population of players ([`population`]) with their own
//! activity, crash-proneness, latency and skill; each player's bucket (from `rollcage-model`'s
//! production-compatible hash); the builds being served and the faults they really carry (the
//! scenario's [`WorldConfig`]); and the flags that clients see late. It simulates sessions window by window, tells an observer the
//! truth about each one ([`SessionEvent`]), and hands the policy only telemetry.

pub mod carry;
pub mod export;
mod flags;
pub mod population;
pub mod saves;
pub mod seed;
pub mod sums;
pub mod world;

// The world's configuration belongs to the typed scenario; it is named here too, because the
// world's interface speaks it.
pub use flags::{FlagState, NOTHING_EXPOSED};
pub use rollcage_model::{
    AssignmentBug, Baseline, Breakdown, Fault, FaultKind, HashScheme, InFlight, LiveEvent,
    Migration, Observation, Outage, PopulationConfig, Release, Sabotage, Segment, SegmentFilter,
    StepTruth, WorldConfig,
};
pub use saves::{Holdings, Save};
pub use seed::{RunSeed, Stream};
pub use world::{Operations, SessionEvent, SessionObserver, World};
