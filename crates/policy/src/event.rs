//! What the policy does ([`Action`]), what it is told by operators ([`Command`]) and what it
//! records ([`Event`]) so that every decision can be explained.

use crate::guardrail::Evaluation;
use rollcage_model::{BuildId, Command, KillScope, Minutes, Share};
use std::fmt;

/// A change the policy asks the world to make.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Serve `build` to every eligible player whose bucket is below `share`.
    Expose { build: BuildId, share: Share },
    /// Kill `build` at `scope`. A feature or segment kill switches its flag off at once; a release
    /// kill is carried out by the rollback plan's steps, beginning with stopping exposure.
    Kill { build: BuildId, scope: KillScope },
    /// Start step `step` of the rollback plan (attempt `attempt`, from 1) at `start`.
    RunStep { build: BuildId, step: usize, attempt: u32, start: Minutes },
    /// The holdback period is over: the build goes to everyone, holdback included.
    Release { build: BuildId },
}

/// How a rollback step attempt ended, as the world reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepResult {
    pub step: usize,
    pub attempt: u32,
    pub succeeded: bool,
}

/// One sample-ratio check: the current stage's assigned players against the split the
/// assignment promises.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SampleRatio {
    pub treatment: u64,
    pub holdback: u64,
    /// The treatment's expected share of the two: stage share / (stage share + holdback).
    pub expected_share: f64,
    /// Pearson's chi-square statistic (one degree of freedom) and its p-value.
    pub statistic: f64,
    pub p_value: f64,
    /// The p-value below which the check pauses: its alpha over the planned looks.
    pub threshold: f64,
}

impl fmt::Display for SampleRatio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = (self.treatment + self.holdback) as f64;
        write!(
            f,
            "sample ratio: treatment {} vs holdback {} players, treatment share {:.4} (expected {:.4}), chi-square {:.2}, p {:.3e} (mismatch if < {:.1e})",
            self.treatment,
            self.holdback,
            self.treatment as f64 / total,
            self.expected_share,
            self.statistic,
            self.p_value,
            self.threshold
        )
    }
}

/// Why the rollout was paused or the build killed.
#[derive(Clone, Debug, PartialEq)]
pub enum Reason {
    /// A guardrail breached, with the evaluation that did it.
    Guardrail(Evaluation),
    /// An operator said so.
    Operator(String),
    /// The cohorts are not the size the assignment promised: a data-quality pause.
    SampleRatio(SampleRatio),
    /// Guardrail `guardrail` has had no new telemetry for `looks` consecutive looks: a
    /// data-quality pause.
    Inconclusive { guardrail: usize, looks: u32 },
}

impl Reason {
    /// Whether the reason is about the data rather than the build.
    pub fn is_data_quality(&self) -> bool {
        matches!(self, Reason::SampleRatio(_) | Reason::Inconclusive { .. })
    }
}

/// Something the policy did or decided, at a time.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub at: Minutes,
    pub kind: EventKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum EventKind {
    StageStarted {
        build: BuildId,
        stage: usize,
        share: Share,
    },
    /// The gate of `stage` held: duration, samples, approval and guardrails all satisfied.
    GateHeld {
        stage: usize,
        elapsed: Minutes,
        treatment_sessions: u64,
        holdback_sessions: u64,
    },
    HoldbackPeriodStarted {
        build: BuildId,
    },
    Released {
        build: BuildId,
    },
    /// One guardrail evaluation (recorded only when the policy is asked to record evaluations).
    Evaluated(Evaluation),
    /// One sample-ratio check (recorded only when the policy records evaluations).
    SampleRatioChecked(SampleRatio),
    Paused {
        reason: Reason,
    },
    Resumed {
        note: String,
    },
    Killed {
        build: BuildId,
        scope: KillScope,
        reason: Reason,
    },
    /// A rollback step attempt began.
    StepStarted {
        step: usize,
        attempt: u32,
    },
    StepSucceeded {
        step: usize,
        attempt: u32,
    },
    /// A rollback step attempt failed; it is retried at `retry_at`, or, with no retry left, the
    /// rollback has failed.
    StepFailed {
        step: usize,
        attempt: u32,
        retry_at: Option<Minutes>,
    },
    /// Every step of the rollback plan succeeded.
    RolledBack {
        build: BuildId,
    },
    /// A step ran out of retries: the rollback is incomplete and someone must act.
    RollbackFailed {
        build: BuildId,
        step: usize,
    },
    Approved {
        stage: usize,
    },
    /// An operator command the policy refused, and why.
    Refused {
        command: Command,
        why: String,
    },
}
