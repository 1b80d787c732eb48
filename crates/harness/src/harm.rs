//! The truth about harm at one moment: which of the release's harmful faults are live, and where
//! they act. A run's outcome (when every harm was stopped) and its false stops (a guardrail
//! stopping a part of the release that did no harm) are judged with it; the policy never sees it.

use rollcage_policy::{Event, EventKind, KillScope, Minutes, Reason};
use rollcage_sim::{Breakdown, Fault, WorldConfig};

/// The segment cells a fault acts in: the one its segment pins when the segment pins the
/// breakdown's dimension, otherwise every cell.
pub(crate) fn acting_cells(world: &WorldConfig, fault: &Fault) -> Vec<usize> {
    let pinned = match world.breakdown {
        Breakdown::Platform => fault.segment.platform.map(usize::from),
        Breakdown::Region => fault.segment.region.map(usize::from),
        Breakdown::None => None,
    };
    match pinned {
        Some(cell) => vec![cell],
        None => (0..world.cell_names().len()).collect(),
    }
}

/// When every harmful fault of the release had been stopped, by a kill of the release, of the
/// fault's feature or of every segment it acts in, or by a guardrail pause.
pub(crate) fn contained_at(
    world: &WorldConfig,
    kills: &[(Minutes, KillScope)],
    pause: Option<Minutes>,
) -> Option<Minutes> {
    let faults: Vec<_> = world.release.faults.iter().filter(|f| f.kind.is_harmful()).collect();
    let killed = |scope: KillScope| kills.iter().find(|(_, s)| *s == scope).map(|(t, _)| *t);
    let release = killed(KillScope::Release);
    let mut latest = Minutes::ZERO;
    for f in faults {
        let segments = acting_cells(world, f)
            .into_iter()
            .map(|c| killed(KillScope::Segment(c)))
            .try_fold(Minutes::ZERO, |a, t| t.map(|t| a.max(t)));
        let stopped = [release, killed(KillScope::Feature(f.feature)), segments, pause]
            .into_iter()
            .flatten()
            .min()?;
        latest = latest.max(stopped);
    }
    Some(latest)
}

/// The release's harm as it stands at the moment `at`. A harmful fault is live when its onset is
/// at or before `at`, and neither the release, nor the fault's feature, nor every cell it acts in
/// was killed before `at` (a kill at `at` itself has not yet stopped anything).
pub(crate) struct LiveHarm<'a> {
    world: &'a WorldConfig,
    /// Kills of the release under test, of any scope and by anyone, in any order.
    kills: &'a [(Minutes, KillScope)],
    at: Minutes,
}

impl<'a> LiveHarm<'a> {
    pub(crate) fn at(
        world: &'a WorldConfig,
        kills: &'a [(Minutes, KillScope)],
        at: Minutes,
    ) -> LiveHarm<'a> {
        LiveHarm { world, kills, at }
    }

    fn killed(&self, scope: KillScope) -> bool {
        self.kills.iter().any(|&(t, s)| s == scope && t < self.at)
    }

    /// The cells a fault still acts in: those it can act in, less the cells killed.
    fn cells(&self, fault: &Fault) -> impl Iterator<Item = usize> {
        let cells = acting_cells(self.world, fault);
        cells.into_iter().filter(|&c| !self.killed(KillScope::Segment(c)))
    }

    fn live(&self) -> impl Iterator<Item = &'a Fault> + '_ {
        self.world.release.faults.iter().filter(|f| {
            f.kind.is_harmful()
                && f.onset <= self.at
                && !self.killed(KillScope::Release)
                && !self.killed(KillScope::Feature(f.feature))
                && self.cells(f).next().is_some()
        })
    }

    /// Whether any harm is live: a kill of the release or a pause stops something harmful.
    pub(crate) fn anywhere(&self) -> bool {
        self.live().next().is_some()
    }

    /// Whether a kill of `scope` stops live harm.
    pub(crate) fn within(&self, scope: KillScope) -> bool {
        match scope {
            KillScope::Release => self.anywhere(),
            KillScope::Feature(feature) => self.live().any(|f| f.feature == feature),
            KillScope::Segment(cell) => self.live().any(|f| self.cells(f).any(|c| c == cell)),
        }
    }
}

/// When a guardrail first stopped a part of a release that was doing no harm: a kill of a scope
/// in which no harm was live, a pause while no harm was live at all, or any kill or pause of a
/// build that replaced the release (it carries no faults). Operators' kills and data-quality
/// pauses are never false stops. `kills` are the kills of the release under test in the run.
pub(crate) fn first_false_stop(
    world: &WorldConfig,
    events: &[Event],
    kills: &[(Minutes, KillScope)],
) -> Option<Minutes> {
    let release = &world.release.build;
    let harm = |at| LiveHarm::at(world, kills, at);
    let mut on_release = false;
    let mut first: Option<Minutes> = None;
    for e in events {
        let false_stop = match &e.kind {
            EventKind::StageStarted { build, .. } => {
                on_release = build == release;
                false
            }
            EventKind::Killed { build, scope, reason: Reason::Guardrail(_) } => {
                build != release || !harm(e.at).within(*scope)
            }
            EventKind::Paused { reason: Reason::Guardrail(_) } => {
                !on_release || !harm(e.at).anywhere()
            }
            // An operator's kill or pause is never a false stop, and the other events stop
            // nothing.
            EventKind::Killed { .. }
            | EventKind::Paused { .. }
            | EventKind::GateHeld { .. }
            | EventKind::HoldbackPeriodStarted { .. }
            | EventKind::Released { .. }
            | EventKind::Evaluated(_)
            | EventKind::SampleRatioChecked(_)
            | EventKind::Resumed { .. }
            | EventKind::StepStarted { .. }
            | EventKind::StepSucceeded { .. }
            | EventKind::StepFailed { .. }
            | EventKind::RolledBack { .. }
            | EventKind::RollbackFailed { .. }
            | EventKind::Approved { .. }
            | EventKind::Refused { .. } => false,
        };
        if false_stop {
            first = Some(first.map_or(e.at, |t| t.min(e.at)));
        }
    }
    first
}

#[cfg(test)]
mod tests {
    use rollcage_policy::{BuildId, Evaluation, Share, Verdict};
    use rollcage_sim::{FaultKind, SegmentFilter};

    use super::*;

    fn hours(h: u32) -> Minutes {
        Minutes::from_hours(h)
    }

    fn breach() -> Reason {
        Reason::Guardrail(Evaluation {
            guardrail: 0,
            cell: None,
            treatment_mean: None,
            control_mean: None,
            treatment_count: 0,
            control_count: 0,
            estimate: None,
            std_error: None,
            degrees_of_freedom: None,
            interval: None,
            statistic: None,
            threshold: 0.0,
            accept_below: None,
            alpha: 0.05,
            alpha_spent: None,
            p_value: None,
            information_fraction: None,
            verdict: Verdict::Breach,
        })
    }

    /// Once the release is killed, nothing of it does harm: a later guardrail kill of the feature
    /// that carries the fault is false. (The policy refuses to kill part of a killed build; a
    /// controller that did would be caught here.)
    #[test]
    fn nothing_of_a_killed_release_does_harm() {
        let mut world = rollcage_model::testing::world(100);
        world.release.faults = vec![Fault {
            feature: 0,
            kind: FaultKind::CrashRate { multiplier: 2.0 },
            onset: Minutes::ZERO,
            segment: SegmentFilter::default(),
        }];
        let build = BuildId::new("1.4.0");
        let share = Share::from_basis_points(100).expect("1% is a share");
        let event = |h, kind| Event { at: hours(h), kind };
        let killed =
            |h, scope, reason| event(h, EventKind::Killed { build: build.clone(), scope, reason });
        let feature = KillScope::Feature(0);
        let kills = [(hours(4), KillScope::Release), (hours(6), feature)];
        assert!(LiveHarm::at(&world, &kills, hours(4)).within(feature));
        assert!(!LiveHarm::at(&world, &kills, hours(6)).within(feature));
        let events = vec![
            event(0, EventKind::StageStarted { build: build.clone(), stage: 0, share }),
            killed(4, KillScope::Release, Reason::Operator("on call".into())),
            killed(6, feature, breach()),
        ];
        assert_eq!(first_false_stop(&world, &events, &kills), Some(hours(6)));
    }

    /// A kill stops only what it switches off: killing a healthy feature or another segment
    /// leaves the fault of feature 0 live everywhere it acts.
    #[test]
    fn a_kill_of_another_scope_leaves_the_harm_live() {
        let mut world = rollcage_model::testing::world(100);
        world.release.features = vec!["exchange-v2".into(), "daily-quests".into()];
        world.release.faults = vec![Fault {
            feature: 0,
            kind: FaultKind::CrashRate { multiplier: 2.0 },
            onset: Minutes::ZERO,
            segment: SegmentFilter::default(),
        }];
        let kills = [(hours(2), KillScope::Feature(1)), (hours(3), KillScope::Segment(1))];
        let later = LiveHarm::at(&world, &kills, hours(5));
        assert!(later.anywhere(), "no kill of the release or of feature 0");
        assert!(later.within(KillScope::Release));
        assert!(later.within(KillScope::Feature(0)));
        assert!(!later.within(KillScope::Feature(1)), "feature 1 carries no fault");
        assert!(later.within(KillScope::Segment(0)), "segment 0 was never killed");
    }
}
