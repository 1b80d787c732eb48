//! rollcage's harness: runs a rollout policy against the simulated world, thousands of times,
//! and judges every run with the truth.
//!
//! - [`run`]: one run, the driver loop, and its record ([`RunRecord`]).
//! - [`oracle`]: the safety and liveness guarantees, checked on every session.
//! - [`batch`]: Monte Carlo batches in parallel, with panics caught per run.
//! - [`summary`]: rates with intervals, quantiles, and the scenario's expectations judged, from
//!   each run's [`figures`] (which a shard writes and `rollcage merge` reads back).
//! - [`rows`]: the CSV report tables; [`explain`]: the human summary and a run's timeline.

pub mod batch;
pub mod calibrate;
pub mod explain;
pub mod figures;
mod harm;
pub mod oracle;
pub mod plan;
pub mod rows;
pub mod run;
pub mod summary;
pub mod sweep;
mod table;

pub use batch::{BatchOptions, Estimate, RunResult, estimate, simulate, simulate_until};
pub use oracle::{Oracle, Violation, Violations};
pub use rollcage_model::{Definition, Expectations, Scenario, ScheduledCommand};
pub use run::{
    DataPauseReason, FinalPhase, Outcome, RollbackRecord, RollbackResult, RunOptions, RunRecord,
    SaveRecord, StageEnd, StopKind, run, run_controller, run_with_seed,
};
pub use summary::Summary;
