//! The rollout policy: a pure state machine that sees telemetry and decides.
//!
//! [`Policy`] walks a build through its stages ([`PolicyConfig`]), keeps a holdback cohort out of
//! it, evaluates guardrails on every telemetry snapshot, and kills, pauses or advances. It does no
//! IO, holds no clock (time is passed in) and draws no random numbers: the same inputs give the
//! same decisions, whether the telemetry comes from rollcage's simulator or, one day, from a live
//! feed. Its inputs are [`Telemetry`] (per-cohort sums, never the truth about a build) and operator
//! [`Command`]s; its outputs are [`Action`]s for the world and [`Event`]s that explain each decision.

pub mod event;
pub mod guardrail;
pub mod machine;
pub mod telemetry;

pub use event::{Action, Event, EventKind, Reason, SampleRatio, StepResult};
pub use guardrail::{Evaluation, Evidence, Look, Memory, Verdict};
pub use machine::{Controller, Phase, Policy, Response};
// The policy's configuration and units belong to the typed scenario; they are named here too,
// because the policy's interface speaks them.
pub use rollcage_model::{
    BUCKETS, Bucket, BucketLayout, BuildId, Command, Comparison, Guardrail, KillScope, Method,
    Metric, Minutes, Multiplicity, PlannedStep, PolicyConfig, Restore, Scope, Severity, Share,
    SrmCheck, Stage, Statistic, StepKind,
};
pub use rollcage_stats::spending::Spending;
pub use rollcage_stats::{Direction, Margin, VarianceModel};
pub use telemetry::{ALL_CELLS, Cohort, CohortTelemetry, MAX_CELLS, Telemetry};
