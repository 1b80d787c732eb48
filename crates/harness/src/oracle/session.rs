//! What the policy declared about each build, and the checks a session on a new build goes
//! through against it: how soon a stop or a kill of the build, a feature or a segment must end
//! its sessions, and who may play a build not yet released (the holdback and the stage's share).

use rollcage_policy::{BuildId, Minutes, PolicyConfig, Share};
use rollcage_sim::SessionEvent;

use super::guarantee::{Oracle, Violations};

/// What the policy declared about one build, and when its kills took effect.
#[derive(Clone, Debug)]
pub(super) struct Declared {
    pub(super) id: BuildId,
    pub(super) share: Share,
    /// When the world reported exposure stopped.
    pub(super) stopped_at: Option<Minutes>,
    /// When the policy declared it rolled back.
    pub(super) rolled_back_at: Option<Minutes>,
    pub(super) killed_features: Vec<(usize, Minutes)>,
    pub(super) killed_cells: Vec<(u8, Minutes)>,
    /// When the policy decided to kill the whole build (exposing it again is a resume of a killed
    /// build).
    pub(super) killed: Option<Minutes>,
    pub(super) released: bool,
}

/// A session on a build whose exposure the world reported stopped, later than the propagation
/// `bound`; or, when the rollback plan returns every player to the old build, after the build's
/// rollback was declared done.
#[inline]
pub(super) fn check_stopped(
    declared: &Declared,
    e: &SessionEvent,
    bound: Minutes,
    returns_players: bool,
    violations: &mut Violations,
) {
    if let Some(stopped) = declared.stopped_at
        && e.start >= stopped + bound
    {
        violations.record(Oracle::KillPropagation, e.start, || {
            format!(
                "player {} started a session on build {} at {}, stopped at {} (bound {})",
                e.player,
                declared.id,
                e.start,
                stopped,
                stopped + bound
            )
        });
    }
    // A plan that returns players has made every client refresh: after it is done nobody plays
    // the build. Without that step, clients catch up within the propagation bound, which the
    // kill-propagation check above guards.
    if let Some(done) = declared.rolled_back_at
        && returns_players
        && e.start >= done
    {
        violations.record(Oracle::RollbackComplete, e.start, || {
            format!(
                "player {} played build {} at {}, after its rollback was declared done at {done}",
                e.player, declared.id, e.start
            )
        });
    }
}

/// A session that plays a killed feature of the build, or is in a killed segment of it, later
/// than the propagation `bound` after the kill.
#[inline]
pub(super) fn check_kills(
    declared: &Declared,
    e: &SessionEvent,
    bound: Minutes,
    policy: &PolicyConfig,
    violations: &mut Violations,
) {
    for &(feature, at) in &declared.killed_features {
        if e.features & (1 << feature) != 0 && e.start >= at + bound {
            violations.record(Oracle::KillPropagation, e.start, || {
                format!(
                    "player {} (segment {}) played feature {} of build {} at {}, killed at {at} (bound {})",
                    e.player,
                    e.segment,
                    policy.features[feature],
                    declared.id,
                    e.start,
                    at + bound
                )
            });
        }
    }
    for &(cell, at) in &declared.killed_cells {
        if e.cell == cell && e.start >= at + bound {
            violations.record(Oracle::KillPropagation, e.start, || {
                format!(
                    "player {} of killed segment {} played build {} at {}, killed at {at} (bound {})",
                    e.player,
                    policy.cells[usize::from(cell)],
                    declared.id,
                    e.start,
                    at + bound
                )
            });
        }
    }
}

/// A session on a build not yet released: its player must be outside the holdback and within
/// the share the policy last declared.
#[inline]
pub(super) fn check_exposure(
    declared: &Declared,
    e: &SessionEvent,
    holdback: bool,
    violations: &mut Violations,
) {
    if holdback {
        violations.record(Oracle::HoldbackIsolation, e.start, || {
            format!(
                "holdback player {} (bucket {}) played build {}",
                e.player,
                e.bucket.value(),
                declared.id
            )
        });
    } else if e.bucket.value() >= declared.share.basis_points() {
        violations.record(Oracle::ExposureWithinStage, e.start, || {
            format!(
                "player {} (bucket {}) played build {} exposed to {} (buckets below {})",
                e.player,
                e.bucket.value(),
                declared.id,
                declared.share,
                declared.share.basis_points()
            )
        });
    }
}
