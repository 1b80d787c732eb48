//! Kills and the rollback plan: a breach or an operator kills the release, one feature or one
//! segment cell; a release kill runs the plan's steps one by one; a partial kill makes the
//! guardrails' evidence start over with the error budget it left.

use std::ops::ControlFlow;

use super::looks::Breaches;
use super::{Phase, Policy, Response};
use crate::event::{Action, EventKind, Reason};
use crate::guardrail::Memory;
use crate::telemetry::{MAX_CELLS, Telemetry};
use rollcage_model::KillScope;
use rollcage_model::Minutes;

impl Policy<'_> {
    pub(super) fn run_step(
        &mut self,
        now: Minutes,
        index: usize,
        attempt: u32,
        start: Minutes,
        response: &mut Response,
    ) {
        self.phase = Phase::RollingBack { step: index, attempt };
        response.actions.push(Action::RunStep {
            build: self.build.clone(),
            step: index,
            attempt,
            start,
        });
        if start == now {
            response.event(now, EventKind::StepStarted { step: index, attempt });
        }
    }

    pub(super) fn kill(
        &mut self,
        now: Minutes,
        scope: KillScope,
        reason: Reason,
        response: &mut Response,
    ) {
        response.actions.push(Action::Kill { build: self.build.clone(), scope });
        response.event(now, EventKind::Killed { build: self.build.clone(), scope, reason });
        match scope {
            KillScope::Release => {
                self.killed.push(self.build.clone());
                self.run_step(now, 0, 1, now, response);
            }
            KillScope::Feature(f) => self.killed_features[f] = true,
            KillScope::Segment(c) => self.killed_cells[c] = true,
        }
        if scope != KillScope::Release {
            // What the evidence measured no longer runs: start over, as after a new exposure,
            // with whatever error budget the earlier looks left.
            self.strata.push(Telemetry::default());
            let earlier = self.strata.drain(..self.strata.len() - 1);
            self.history.extend(earlier);
            self.streaks.iter_mut().for_each(|s| *s = [0; MAX_CELLS]);
            self.memories.iter_mut().flatten().for_each(Memory::carry_over);
        }
    }

    /// A new build: the guardrails' evidence and error budgets start over whole: streaks,
    /// sequential tests' memories, Holm's record.
    pub(super) fn forget_evidence(&mut self) {
        self.streaks.iter_mut().for_each(|s| *s = [0; MAX_CELLS]);
        self.memories.iter_mut().flatten().for_each(|m| *m = Memory::new());
        self.breached.iter_mut().for_each(|b| *b = false);
    }

    /// Acts on a look's breaches: a release kill first, then each partial kill, then a pause. The
    /// look ends here (no gate can hold) when the release was killed or the rollout is paused.
    pub(super) fn act_on(
        &mut self,
        now: Minutes,
        breaches: Breaches,
        response: &mut Response,
    ) -> ControlFlow<()> {
        if let Some(e) = breaches.release {
            self.kill(now, KillScope::Release, Reason::Guardrail(e), response);
            return ControlFlow::Break(());
        }
        // Several guardrails may breach on one feature or cell at a look: it is killed once, for
        // the first of them.
        let mut killed: Vec<KillScope> = Vec::new();
        for (scope, e) in breaches.partial {
            if killed.contains(&scope) {
                continue;
            }
            killed.push(scope);
            self.kill(now, scope, Reason::Guardrail(e), response);
        }
        if let Some(reason) = breaches.pause {
            if !self.phase.is_paused() {
                self.phase.set_paused(true);
                response.event(now, EventKind::Paused { reason });
            }
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }
}
