//! Telemetry outside the simulator: what a run's pipeline would export, and a judge that runs the
//! policy on exported telemetry.
//!
//! A [`Recording`] is what a rollout system holds after a rollout: every player's reports per
//! telemetry window ([`Window`]), and the rollout log ([`LogEvent`]): when the flags changed
//! (each change begins an exposure), when the policy looked and how fresh its data was, what the
//! operators commanded, and how rollback steps ended. A run records one when asked
//! ([`crate::RunOptions::record_telemetry`]); [`judge`] replays the policy on one, and gets the
//! run's decisions back to the bit.

mod judge;

pub use judge::{Decision, Divergence, Judge, Judged, judge, judge_windows};

use rollcage_policy::{BuildId, Command, Minutes, Share, StepResult};
use rollcage_sim::export::WindowRow;

/// Every player's reports in one telemetry window, [`Window::start`] to [`Window::end`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    pub start: Minutes,
    pub end: Minutes,
    /// Players are numbered from 0 in the order a recording or a file first names them.
    pub rows: Vec<WindowRow>,
}

/// The flags a change sets: the start of an exposure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exposure {
    /// The exposed build; `None` when nothing is.
    pub build: Option<BuildId>,
    pub share: Share,
    /// Released: the holdback receives the build too.
    pub everyone: bool,
    /// Features switched off, one bit per feature.
    pub killed_features: u32,
    /// Segment cells sent back to the old build, one bit per cell.
    pub killed_cells: u32,
}

/// A change a rollout makes: new flags, or a release kill (whose rollback plan then changes the
/// flags step by step).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Flags(Exposure),
    Kill,
}

/// One entry of the rollout log, at its time.
#[derive(Clone, Debug, PartialEq)]
pub enum LogEvent {
    /// The flags changed: a new exposure begins, and the telemetry's sums start over.
    Exposure { at: Minutes, exposure: Exposure },
    /// The release was killed: its rollback plan begins.
    Kill { at: Minutes },
    /// The policy looked at the telemetry, which was complete up to `data_until` (the look's own
    /// time when the data was fresh; an earlier look's when it was late or lost).
    Look { at: Minutes, data_until: Minutes },
    /// An operator command.
    Command { at: Minutes, command: Command },
    /// A rollback step attempt ended.
    StepResult { at: Minutes, result: StepResult },
}

impl LogEvent {
    pub fn at(&self) -> Minutes {
        match self {
            LogEvent::Exposure { at, .. }
            | LogEvent::Kill { at }
            | LogEvent::Look { at, .. }
            | LogEvent::Command { at, .. }
            | LogEvent::StepResult { at, .. } => *at,
        }
    }
}

/// A recorded rollout: its telemetry windows in time order, and its log.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Recording {
    pub windows: Vec<Window>,
    pub log: Vec<LogEvent>,
    /// The players' count: rows name players 0 to `players - 1`.
    pub players: usize,
    /// The builds rows name by index; index 0 is the old build.
    pub builds: Vec<BuildId>,
}
