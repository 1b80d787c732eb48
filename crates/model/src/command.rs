//! The release's builds and what operators may tell the policy: the builds a run rolls out
//! ([`BuildId`]), what a kill switch switches off ([`KillScope`]) and an operator's scripted
//! intervention ([`Command`]).

use std::fmt;
use std::sync::Arc;

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

/// What a kill switch switches off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KillScope {
    /// The whole release; its rollback plan runs.
    Release,
    /// One feature of the release (index into the policy's features).
    Feature(usize),
    /// One segment cell (index into the policy's cells).
    Segment(usize),
}

/// A scripted operator intervention. [`CommandName`] names the commands.
#[derive(Clone, Debug, PartialEq, strum::EnumDiscriminants)]
#[strum_discriminants(
    name(CommandName),
    derive(strum::IntoStaticStr, strum::EnumString, strum::VariantNames, strum::Display),
    strum(serialize_all = "snake_case")
)]
pub enum Command {
    Kill {
        note: String,
        scope: KillScope,
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
        CommandName::from(self).into()
    }
}
