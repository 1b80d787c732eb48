//! The typed scenario, in one room: what a scenario file defines and what follows from it.
//!
//! - [`units`]: minutes, shares, buckets and the bucket layout (holdback at the top, stages from
//!   the bottom).
//! - [`world`]: the population, the baseline, the release with the faults it really carries, live
//!   events, the telemetry pipeline's faults and the truth of each rollback step.
//! - [`policy`]: stages, holdback, guardrails, multiplicity, rollback plan.
//! - [`command`]: builds, kill scopes and operators' commands.
//! - [`hash`]: production-compatible bucketing, from which every player's bucket is derived.
//! - [`scenario`]: a scenario's [`Definition`] and the [`Scenario`] that derives its facts (the
//!   world flags its policy needs, every player's bucket).
//! - [`limits`]: every bound rollcage enforces, with compile-time assertions that they agree.
//!
//! Every crate above reads these types; this crate does no IO and no parsing (`rollcage-scenario`
//! builds a [`Scenario`] from TOML).

pub mod command;
pub mod hash;
pub mod limits;
pub mod metric;
pub mod policy;
pub mod scenario;
#[doc(hidden)]
pub mod testing;
pub mod units;
pub mod world;

pub use command::{BuildId, Command, CommandName, KillScope};
pub use hash::{HashName, HashScheme};
pub use metric::Metric;
pub use policy::{
    Comparison, Guardrail, Method, MethodName, Multiplicity, PlannedStep, PolicyConfig, Restore,
    Scope, ScopeName, Severity, SrmCheck, Stage, Statistic, StepKind, StepName,
};
pub use scenario::{Definition, Expectations, Scenario, ScheduledCommand};
pub use units::{BUCKETS, Bucket, BucketLayout, Minutes, Share};
pub use world::{
    AssignmentBug, Baseline, Breakdown, Fault, FaultKind, FaultName, InFlight, LiveEvent,
    Migration, Observation, Outage, PopulationConfig, Release, Sabotage, Segment, SegmentFilter,
    StepTruth, WorldConfig,
};
