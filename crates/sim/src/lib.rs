//! rollcage's world: everything that is true about a rollout, and the telemetry it gives off.
//!
//! A [`World`] holds one run: a seeded population of players ([`population`]) with their own
//! activity, crash-proneness, latency and skill; stable buckets from a production-compatible hash
//! ([`hash`]); the builds being served and the faults they really carry ([`config`]); and the
//! flags that clients see late. It simulates sessions window by window, tells an observer the
//! truth about each one ([`SessionEvent`]), and hands the policy only telemetry.

mod carry;
pub mod config;
mod flags;
pub mod hash;
pub mod population;
pub mod saves;
pub mod seed;
#[doc(hidden)]
pub mod testing;
pub mod world;

pub use config::{
    AssignmentBug, Baseline, Breakdown, Fault, FaultKind, InFlight, LiveEvent, Migration,
    Observation, Outage, PopulationConfig, Release, Sabotage, Segment, SegmentFilter, StepTruth,
    WorldConfig,
};
pub use hash::HashScheme;
pub use saves::{Holdings, Save};
pub use seed::{RunSeed, Stream};
pub use world::{Operations, SessionEvent, SessionObserver, World};
