//! Applying the policy's actions: exposures, releases and kills change the flags on the server at
//! once, and an eager migration moves every exposed player's save when a stage starts.

use rand::RngExt;
use rollcage_policy::{Action, BuildId, KillScope, Share, Telemetry};

use super::faults::fault_corruption;
use super::{Build, MARKS, World};
use crate::flags::{FlagState, NOTHING_EXPOSED};
use rollcage_model::Migration;

impl World<'_> {
    fn register(&mut self, id: &BuildId) -> u16 {
        if let Some(i) = self.build_index(id) {
            return i;
        }
        self.builds.push(Build { id: id.clone(), faulty: *id == self.config.release.build });
        (self.builds.len() - 1) as u16
    }

    pub(super) fn set_flags(&mut self, state: FlagState) {
        self.carry_forward(state);
        self.flags.push(self.now.0, state);
        if let Some(recorder) = &mut self.recorder {
            recorder.flags_changed(self.now, state);
        }
        self.epoch += 1;
        if self.epoch.is_multiple_of(MARKS) {
            // The marks are about to repeat: forget them all, so no player counts as already seen.
            self.slots.iter_mut().for_each(|s| s.assigned_mark = 0);
        }
        self.snapshot = Telemetry::default();
        self.sums.clear();
        self.aside.clear();
        self.returns_aside.clear();
    }

    /// Applies a policy action, now.
    pub fn apply(&mut self, action: &Action) {
        let (_, current) = self.flags.current();
        match action {
            Action::Expose { build, share } => {
                let index = self.register(build);
                let killed = if index == current.build { current } else { NOTHING_EXPOSED };
                self.set_flags(FlagState {
                    build: index,
                    share: *share,
                    everyone: false,
                    ..killed
                });
                if self.config.release.migration == Migration::Eager {
                    self.migrate_exposed(index, *share);
                }
            }
            Action::Kill { scope: KillScope::Release, .. } => {
                self.rollbacks = self.rollbacks.saturating_add(1)
            }
            Action::Kill { scope: KillScope::Feature(f), .. } => {
                self.set_flags(FlagState {
                    killed_features: current.killed_features | (1 << f),
                    ..current
                });
            }
            Action::Kill { scope: KillScope::Segment(c), .. } => {
                self.set_flags(FlagState {
                    killed_cells: current.killed_cells | (1 << c),
                    ..current
                });
            }
            Action::RunStep { step, attempt, start, .. } => self.schedule(*step, *attempt, *start),
            Action::Release { build } => {
                let index = self.register(build);
                self.set_flags(FlagState {
                    build: index,
                    share: Share::ALL,
                    everyone: true,
                    ..current
                });
            }
        }
    }

    /// Eager migration: every exposed player's save moves to the new schema when the stage starts.
    fn migrate_exposed(&mut self, build: u16, share: Share) {
        let faulty = self.builds[usize::from(build)].faulty;
        let (_, flags) = self.flags.current();
        for (slot, save) in self.slots.iter().zip(self.saves.iter_mut()) {
            if save.schema == 0 && self.layout.is_exposed(slot.bucket, share) {
                let corruption = if faulty {
                    fault_corruption(
                        self.config,
                        self.config.segment(slot.segment),
                        flags.killed_features,
                        self.now,
                    )
                } else {
                    0.0
                };
                let u: f64 = self.faults_rng.random();
                save.migrate(u < corruption);
            }
        }
    }
}
