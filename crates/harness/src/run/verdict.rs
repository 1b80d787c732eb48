//! How a finished run is judged: what the policy did to the release under test, read back from
//! the run's events (its kills, its first stop, a guardrail's pause, a data-quality pause and the
//! rollback), and from that and the truth the run's outcome.

use rollcage_policy::{BuildId, Event, EventKind, KillScope, Minutes, Reason};
use rollcage_sim::Operations;

use super::record::{
    DataPauseReason, Outcome, RollbackRecord, RollbackResult, StageRecord, Stop, StopKind,
};
use rollcage_model::Scenario;

/// What the policy did to the release under test, read from a run's events.
pub(super) struct Decisions {
    /// Kills of the release under test (any scope), in order.
    pub(super) kills: Vec<(Minutes, KillScope)>,
    /// How the release was first stopped: a kill of any scope, or a guardrail's pause.
    pub(super) stop: Option<Stop>,
    /// The first pause of the release by a guardrail.
    pub(super) pause: Option<Minutes>,
    /// The first data-quality pause of the release: when, and `srm` or `inconclusive`.
    pub(super) data_pause: Option<(Minutes, DataPauseReason)>,
    /// The first rollback of the release.
    pub(super) rollback: Option<RollbackRecord>,
}

impl Decisions {
    /// Reads the decisions about the release under test from `events`, with the rollback's step
    /// attempts counted from `operations` up to its end, or the run's end `now` if it did not end.
    pub(super) fn read(
        scenario: &Scenario,
        events: &[Event],
        operations: &Operations,
        now: Minutes,
    ) -> Decisions {
        let release = &scenario.world.release.build;
        let mut d = Decisions {
            kills: Vec::new(),
            stop: None,
            pause: None,
            data_pause: None,
            rollback: None,
        };
        let mut on_release = false;
        for e in events {
            match &e.kind {
                EventKind::StageStarted { build, .. } => on_release = build == release,
                EventKind::Killed { build, scope, reason } if build == release => {
                    d.killed(scenario, e.at, *scope, reason);
                }
                EventKind::Paused { reason: reason @ Reason::Guardrail(_) } if on_release => {
                    d.pause.get_or_insert(e.at);
                    d.stop.get_or_insert_with(|| Stop {
                        at: e.at,
                        kind: StopKind::Pause,
                        by: stopped_by(scenario, reason),
                        scope: "release".into(),
                    });
                }
                EventKind::Paused { reason } if on_release && reason.is_data_quality() => {
                    let kind = if matches!(reason, Reason::SampleRatio(_)) {
                        DataPauseReason::Srm
                    } else {
                        DataPauseReason::Inconclusive
                    };
                    d.data_pause.get_or_insert((e.at, kind));
                }
                EventKind::RolledBack { build } | EventKind::RollbackFailed { build, .. }
                    if build == release =>
                {
                    d.rollback_ended(e);
                }
                // Other builds' kills and rollbacks, pauses of other builds or by an operator,
                // and the events that stop nothing.
                EventKind::Killed { .. }
                | EventKind::Paused { .. }
                | EventKind::RolledBack { .. }
                | EventKind::RollbackFailed { .. }
                | EventKind::GateHeld { .. }
                | EventKind::HoldbackPeriodStarted { .. }
                | EventKind::Released { .. }
                | EventKind::Evaluated(_)
                | EventKind::SampleRatioChecked(_)
                | EventKind::Resumed { .. }
                | EventKind::StepStarted { .. }
                | EventKind::StepSucceeded { .. }
                | EventKind::StepFailed { .. }
                | EventKind::Approved { .. }
                | EventKind::Refused { .. } => {}
            }
        }
        if let Some(r) = d.rollback.as_mut() {
            let end = r.ended.unwrap_or(now);
            r.attempts = operations
                .attempts
                .iter()
                .filter(|(_, _, at, _)| *at >= r.started && *at <= end)
                .count() as u32;
        }
        d
    }

    /// A kill of the release under test: the first is its stop, and the first of the whole
    /// release starts its rollback.
    fn killed(&mut self, scenario: &Scenario, at: Minutes, scope: KillScope, reason: &Reason) {
        self.kills.push((at, scope));
        self.stop.get_or_insert_with(|| Stop {
            at,
            kind: StopKind::Kill,
            by: stopped_by(scenario, reason),
            scope: scope_name(scenario, scope),
        });
        if scope == KillScope::Release && self.rollback.is_none() {
            self.rollback = Some(RollbackRecord {
                started: at,
                ended: None,
                result: RollbackResult::RollingBack,
                attempts: 0,
            });
        }
    }

    /// The release's rollback ended, rolled back or failed (only its first end counts).
    fn rollback_ended(&mut self, e: &Event) {
        if let Some(r) = self.rollback.as_mut().filter(|r| r.ended.is_none()) {
            r.ended = Some(e.at);
            r.result = if matches!(e.kind, EventKind::RolledBack { .. }) {
                RollbackResult::RolledBack
            } else {
                RollbackResult::RollbackFailed
            };
        }
    }

    /// The verdict on the run that ended at `now`, given when the release's harm began (`None`
    /// for a harmless release) and when it was all contained; with the time to detect, for a
    /// detection.
    pub(super) fn outcome(
        &self,
        onset: Option<Minutes>,
        contained: Option<Minutes>,
        now: Minutes,
    ) -> (Outcome, Option<Minutes>) {
        let data_pause = self.data_pause;
        // A harmful release left running behind a data-quality pause was not missed by the
        // guardrails alone: the rollout stopped expanding and someone must look.
        match (onset, contained, &self.stop) {
            (Some(o), Some(c), _) if c >= o => (Outcome::Detected, Some(c - o)),
            (Some(o), _, Some(s)) if s.at < o => (Outcome::FalseKill, None),
            (Some(o), _, _) if o < now && data_pause.is_some() => (Outcome::DataPause, None),
            (Some(o), _, _) if o < now => (Outcome::Missed, None),
            (_, _, Some(_)) => (Outcome::FalseKill, None),
            (_, _, None) if data_pause.is_some() => (Outcome::DataPause, None),
            (_, _, None) => (Outcome::CleanPass, None),
        }
    }
}

/// Who stopped the release: the guardrail's name, `operator`, `srm` or `inconclusive`.
fn stopped_by(scenario: &Scenario, reason: &Reason) -> String {
    match reason {
        Reason::Guardrail(ev) => scenario.policy.guardrails[ev.guardrail].name.clone(),
        Reason::Operator(_) => "operator".to_string(),
        Reason::SampleRatio(_) => "srm".to_string(),
        Reason::Inconclusive { .. } => "inconclusive".to_string(),
    }
}

/// What a kill switched off: `release`, `feature:<name>` or `segment:<name>`.
fn scope_name(scenario: &Scenario, scope: KillScope) -> String {
    match scope {
        KillScope::Release => "release".to_string(),
        KillScope::Feature(f) => format!("feature:{}", scenario.policy.features[f]),
        KillScope::Segment(c) => format!("segment:{}", scenario.policy.cells[c]),
    }
}

/// The highest stage (1-based) `release` reached, 0 if it never started one.
pub(super) fn stage_reached(stages: &[StageRecord], release: &BuildId) -> usize {
    stages.iter().filter(|s| &s.build == release).filter_map(|s| s.stage).max().map_or(0, |s| s + 1)
}

/// Builds rolled out: the release and any that replaced it after a kill.
pub(super) fn builds(stages: &[StageRecord]) -> usize {
    let mut ids: Vec<&BuildId> = stages.iter().map(|s| &s.build).collect();
    ids.dedup();
    ids.len()
}
