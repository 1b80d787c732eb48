//! The rollout's schedule: stages start, their gates hold, the holdback period follows the last
//! stage, and the build is released when it ends.

use super::{Phase, Policy, Response};
use crate::event::{Action, EventKind};
use crate::telemetry::{Cohort, Telemetry};
use rollcage_model::Minutes;

impl Policy<'_> {
    pub(super) fn enter_stage(&mut self, now: Minutes, index: usize, response: &mut Response) {
        let share = self.config.stages[index].share;
        debug_assert!(
            share <= self.config.layout().max_exposure(),
            "exposure would reach the holdback"
        );
        self.phase = Phase::Stage { index, paused: false };
        self.since = now;
        self.strata.push(Telemetry::default());
        response.actions.push(Action::Expose { build: self.build.clone(), share });
        response
            .event(now, EventKind::StageStarted { build: self.build.clone(), stage: index, share });
    }

    fn release(&mut self, now: Minutes, response: &mut Response) {
        self.phase = Phase::Released;
        response.actions.push(Action::Release { build: self.build.clone() });
        response.event(now, EventKind::Released { build: self.build.clone() });
    }

    /// Whether stage `index`'s gate holds now, apart from guardrail breaches.
    fn gate_holds(&self, now: Minutes, index: usize) -> Option<EventKind> {
        let stage = &self.config.stages[index];
        let elapsed = now - self.since;
        let current = self.strata.last().expect("a live stage has a stratum");
        let treatment_sessions = current.cohort(Cohort::Treatment).sessions();
        let holdback_sessions = current.cohort(Cohort::Holdback).sessions();
        let holds = elapsed >= stage.min_duration
            && treatment_sessions >= stage.min_sample
            && holdback_sessions >= stage.min_sample
            && (!stage.approval || self.approvals[index]);
        holds.then_some(EventKind::GateHeld {
            stage: index,
            elapsed,
            treatment_sessions,
            holdback_sessions,
        })
    }

    /// Whether the schedule releases the build after a look at `now`, if nothing stops it: the
    /// holdback period is over, or the last stage's gate holds with no holdback period to follow.
    pub(super) fn last_look(&self, now: Minutes) -> bool {
        match self.phase {
            Phase::HoldbackPeriod { paused: false } => {
                now - self.since >= self.config.holdback_period
            }
            Phase::Stage { index, paused: false } => {
                index + 1 == self.config.stages.len()
                    && self.config.holdback_period == Minutes::ZERO
                    && self.gate_holds(now, index).is_some()
            }
            Phase::Stage { paused: true, .. }
            | Phase::HoldbackPeriod { paused: true }
            | Phase::Pending
            | Phase::RollingBack { .. }
            | Phase::RolledBack
            | Phase::RollbackFailed
            | Phase::Released => false,
        }
    }

    /// Moves the rollout along its schedule after a fresh look with nothing against it: a stage
    /// whose gate holds opens the next stage or the holdback period, and the holdback period's end
    /// releases the build.
    pub(super) fn follow_schedule(&mut self, now: Minutes, response: &mut Response) {
        match self.phase {
            Phase::Stage { index, .. } => {
                if let Some(held) = self.gate_holds(now, index) {
                    response.event(now, held);
                    if index + 1 < self.config.stages.len() {
                        self.enter_stage(now, index + 1, response);
                    } else {
                        self.phase = Phase::HoldbackPeriod { paused: false };
                        self.since = now;
                        response.event(
                            now,
                            EventKind::HoldbackPeriodStarted { build: self.build.clone() },
                        );
                        if self.config.holdback_period == Minutes::ZERO {
                            self.release(now, response);
                        }
                    }
                }
            }
            Phase::HoldbackPeriod { .. } => {
                if now - self.since >= self.config.holdback_period {
                    self.release(now, response);
                }
            }
            Phase::Pending
            | Phase::RollingBack { .. }
            | Phase::RolledBack
            | Phase::RollbackFailed
            | Phase::Released => unreachable!("only a live phase follows the schedule"),
        }
    }
}
