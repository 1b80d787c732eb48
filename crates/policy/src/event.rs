//! What the policy does ([`Action`]), what it is told by operators ([`Command`]) and what it
//! records ([`Event`]) so that every decision can be explained.

use std::fmt;
use std::sync::Arc;

use crate::guardrail::Evaluation;
use crate::units::{Minutes, Share};

/// A build's identifier, e.g. `1.4.0`. Cheap to clone.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BuildId(Arc<str>);

impl BuildId {
    pub fn new(id: &str) -> BuildId {
        BuildId(Arc::from(id))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BuildId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

/// A change the policy asks the world to make to its feature flags.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Serve `build` to every eligible player whose bucket is below `share`.
    Expose { build: BuildId, share: Share },
    /// Stop serving `build` to anyone.
    Kill { build: BuildId },
    /// The holdback period is over: the build goes to everyone, holdback included.
    Release { build: BuildId },
}

/// A scripted operator intervention.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    Kill {
        note: String,
    },
    Pause {
        note: String,
    },
    Resume {
        note: String,
    },
    /// Approve leaving the given stage (0-based).
    Approve {
        stage: usize,
    },
    /// Resume after a kill with a new build that addresses the root cause.
    NewBuild {
        build: BuildId,
    },
}

impl Command {
    pub fn name(&self) -> &'static str {
        match self {
            Command::Kill { .. } => "kill",
            Command::Pause { .. } => "pause",
            Command::Resume { .. } => "resume",
            Command::Approve { .. } => "approve",
            Command::NewBuild { .. } => "new_build",
        }
    }
}

/// Why the rollout was paused or the build killed.
#[derive(Clone, Debug, PartialEq)]
pub enum Reason {
    /// A guardrail breached, with the evaluation that did it.
    Guardrail(Evaluation),
    /// An operator said so.
    Operator(String),
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
    Paused {
        reason: Reason,
    },
    Resumed {
        note: String,
    },
    Killed {
        build: BuildId,
        reason: Reason,
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
