//! rollcage's harness: runs a rollout policy against the simulated world, thousands of times,
//! and judges every run with the truth.
//!
//! - [`mod@run`]: one run, the driver loop, and its record ([`RunRecord`]).
//! - [`oracle`]: the safety and liveness guarantees, checked on every session.
//! - [`batch`]: Monte Carlo batches in parallel, with panics caught per run.
//! - [`plan`]: stage planning from pilot runs; [`calibrate`]: standard-error calibration.
//!
//! What a batch means for people (summaries, tables, explanations, the visual report) is
//! `rollcage-report`'s.

pub mod batch;
pub mod calibrate;
mod harm;
pub mod oracle;
pub mod plan;
pub mod run;
pub mod telemetry;

pub use batch::{BatchOptions, Estimate, RunResult, estimate, simulate, simulate_until};
pub use oracle::{Oracle, Violation, Violations};
pub use rollcage_model::{Definition, Expectations, Scenario, ScheduledCommand};
pub use run::{
    DataPauseReason, FinalPhase, Outcome, RollbackRecord, RollbackResult, RunOptions, RunRecord,
    SaveRecord, StageEnd, StopKind, run, run_controller, run_with_seed,
};
