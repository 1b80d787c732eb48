//! Rollback steps run as operations: each attempt takes its duration, then succeeds, fails, or
//! fails after applying itself to part of the players, as the run's operations stream decides.

use rand::RngExt;
use rollcage_policy::{Minutes, StepKind, StepResult};

use super::World;
use crate::flags::NOTHING_EXPOSED;
use rollcage_model::{InFlight, Sabotage};

/// A rollback step attempt under way.
#[derive(Clone, Copy, Debug)]
pub(super) struct Operation {
    step: usize,
    attempt: u32,
    end: u32,
    succeeds: bool,
    /// On failure, the share of the players it applied itself to first.
    applied: f64,
}

/// Facts the harness reads about the run's rollback and kills.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Operations {
    /// When the release's flag went off on the server (the stop-exposure step succeeded).
    pub exposure_stopped_at: Option<Minutes>,
    /// Sessions aborted in flight when the flag went off.
    pub aborted_sessions: u64,
    /// Every attempt, as (step, attempt, end, succeeded).
    pub attempts: Vec<(usize, u32, Minutes, bool)>,
}

impl World<'_> {
    pub(super) fn schedule(&mut self, step: usize, attempt: u32, start: Minutes) {
        let truth = self.config.rollback[step];
        let start = start.max(self.now);
        let succeeds = self.operations_rng.random::<f64>() >= truth.failure_probability;
        let half = self.operations_rng.random::<f64>() < truth.half_applied_probability;
        let fraction: f64 = self.operations_rng.random();
        let applied = if succeeds || !half { 0.0 } else { fraction };
        self.operations.push(Operation {
            step,
            attempt,
            end: (start + truth.duration).0,
            succeeds,
            applied,
        });
        self.complete_operations();
    }

    /// When the next rollback step attempt ends, if one is under way.
    pub fn next_operation_end(&self) -> Option<Minutes> {
        self.operations.iter().map(|o| Minutes(o.end)).min()
    }

    /// The rollback step attempts that ended since the last call, with their end times.
    pub fn take_step_results(&mut self) -> Vec<(Minutes, StepResult)> {
        std::mem::take(&mut self.results)
    }

    /// Completes every operation that ends now.
    pub(super) fn complete_operations(&mut self) {
        while let Some(i) = self.operations.iter().position(|o| o.end <= self.now.0) {
            let op = self.operations.remove(i);
            let kind = self.config.rollback[op.step].kind;
            let share = if op.succeeds { 1.0 } else { op.applied };
            if share > 0.0 {
                self.carry_out(kind, share);
            }
            self.facts.attempts.push((op.step, op.attempt, self.now, op.succeeds));
            self.results.push((
                self.now,
                StepResult { step: op.step, attempt: op.attempt, succeeded: op.succeeds },
            ));
        }
    }

    /// Applies a rollback step to all players (`share` = 1) or to the first `share` of them.
    fn carry_out(&mut self, kind: StepKind, share: f64) {
        let sabotage = self.config.sabotage;
        match kind {
            StepKind::StopExposure => {
                if sabotage == Some(Sabotage::IgnoreKill) {
                    return;
                }
                let (_, current) = self.flags.current();
                let stopped = current.build;
                self.set_flags(NOTHING_EXPOSED);
                self.facts.exposure_stopped_at.get_or_insert(self.now);
                if self.config.in_flight == InFlight::Abort {
                    let before = self.ended.len();
                    self.ended.retain(|e| e.build != stopped || stopped == 0);
                    self.facts.aborted_sessions += (before - self.ended.len()) as u64;
                }
            }
            StepKind::ReturnPlayers => self.flags.force_refresh(self.now.0),
            StepKind::RevertMigration => {
                let lossy = sabotage == Some(Sabotage::LossyDownMigration);
                let affected: Vec<usize> =
                    (0..self.saves.len()).filter(|&i| self.saves[i].schema == 1).collect();
                let count = (affected.len() as f64 * share).floor() as usize;
                for &i in &affected[..count.min(affected.len())] {
                    self.saves[i].revert_migration(lossy);
                }
            }
            StepKind::RestorePlayers(strategy) => {
                let double = sabotage == Some(Sabotage::DoubleClawback);
                let affected: Vec<usize> =
                    (0..self.saves.len()).filter(|&i| self.saves[i].touched).collect();
                let count = (affected.len() as f64 * share).floor() as usize;
                let rollback = self.rollbacks.max(1);
                for &i in &affected[..count.min(affected.len())] {
                    self.saves[i].restore(strategy, rollback, double);
                }
            }
        }
    }
}
