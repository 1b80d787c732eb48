//! The oracles of one run: what they follow of it (the builds the policy declared, each player's
//! last build, the stage and its gate sample, the rollback under way), and the checks they make
//! of the policy's actions and events, of every session, and of the run's end.

use rollcage_policy::{
    Action, BucketLayout, BuildId, Command, Event, EventKind, KillScope, Minutes, Share, StepKind,
    StepResult,
};
use rollcage_sim::{Save, SessionEvent};

use super::guarantee::{Oracle, Violations};
use super::rollback::check_saves;
use super::session::{Declared, check_exposure, check_kills, check_stopped};
use rollcage_model::Scenario;

/// Sessions each compared cohort really reported during the current stage, counted the way
/// telemetry counts them: when the session ends.
#[derive(Clone, Copy, Debug, Default)]
struct GateSample {
    treatment: u64,
    holdback: u64,
}

/// The oracles of one run.
pub struct Oracles<'a> {
    scenario: &'a Scenario,
    layout: BucketLayout,
    bound: Minutes,
    /// By world build index − 1 (index 0 is the old build).
    builds: Vec<Declared>,
    /// Per player: the world index of the new build they last played, 0 if none.
    last_build: Vec<u8>,
    stage: Option<(usize, Minutes)>,
    sample: GateSample,
    /// Sessions that end after the current advance: telemetry reports them in the next one.
    pending: GateSample,
    snapshot_at: Minutes,
    approvals: Vec<bool>,
    holdback_period_started: Option<Minutes>,
    stopped: bool,
    released: bool,
    /// The rollback under way: its build, and whether each step's last attempt succeeded.
    rollback: Option<(BuildId, Vec<bool>)>,
    /// The rollback plan forces every client back to the old build.
    returns_players: bool,
    violations: Violations,
}

impl<'a> Oracles<'a> {
    pub fn new(scenario: &'a Scenario, players: usize) -> Oracles<'a> {
        Oracles {
            scenario,
            layout: scenario.policy.layout(),
            bound: scenario.kill_propagation_bound(),
            builds: Vec::new(),
            last_build: vec![0; players],
            stage: None,
            sample: GateSample::default(),
            pending: GateSample::default(),
            snapshot_at: Minutes::ZERO,
            approvals: vec![false; scenario.policy.stages.len()],
            holdback_period_started: None,
            stopped: false,
            released: false,
            rollback: None,
            returns_players: scenario
                .policy
                .rollback
                .iter()
                .any(|s| s.kind == StepKind::ReturnPlayers),
            violations: Violations::default(),
        }
    }

    /// The world index of a build the policy has declared, registered in first-exposure order just
    /// as the world registers builds.
    pub fn build_index(&self, id: &BuildId) -> Option<u16> {
        self.builds.iter().position(|b| &b.id == id).map(|i| i as u16 + 1)
    }

    fn declare(&mut self, id: &BuildId) -> &mut Declared {
        let i = match self.build_index(id) {
            Some(i) => usize::from(i) - 1,
            None => {
                self.builds.push(Declared {
                    id: id.clone(),
                    share: Share::ZERO,
                    stopped_at: None,
                    rolled_back_at: None,
                    killed_features: Vec::new(),
                    killed_cells: Vec::new(),
                    killed: None,
                    released: false,
                });
                self.builds.len() - 1
            }
        };
        &mut self.builds[i]
    }

    /// The world is about to advance to `until`, where its next snapshot is taken.
    pub fn begin_advance(&mut self, until: Minutes) {
        self.sample.treatment += std::mem::take(&mut self.pending.treatment);
        self.sample.holdback += std::mem::take(&mut self.pending.holdback);
        self.snapshot_at = until;
    }

    /// Checks one session as it starts.
    #[inline]
    pub fn session(&mut self, e: &SessionEvent) {
        let holdback = self.layout.is_holdback(e.bucket);
        self.count_for_gate(e, holdback);
        let player = e.player as usize;
        if e.build == 0 {
            self.check_return_to_old_build(e);
            return;
        }
        self.last_build[player] = e.build as u8;
        let Some(declared) = self.builds.get(usize::from(e.build) - 1) else {
            self.violations.record(Oracle::ExposureWithinStage, e.start, || {
                format!(
                    "player {} played build #{} that the policy never exposed",
                    e.player, e.build
                )
            });
            return;
        };
        let violations = &mut self.violations;
        check_stopped(declared, e, self.bound, self.returns_players, violations);
        check_kills(declared, e, self.bound, &self.scenario.policy, violations);
        if declared.released {
            return;
        }
        check_exposure(declared, e, holdback, violations);
    }

    /// Counts a session in the gate sample of the snapshot it ends before: the current one, or
    /// the next.
    #[inline]
    fn count_for_gate(&mut self, e: &SessionEvent, holdback: bool) {
        let ends = e.start + self.scenario.world.session_length;
        let sample = if ends < self.snapshot_at { &mut self.sample } else { &mut self.pending };
        if e.build != 0 {
            sample.treatment += 1;
        } else if holdback {
            sample.holdback += 1;
        }
    }

    /// A session on the old build: a player who played a new build before may return to the old
    /// one only once that build, or the player's segment of it, was killed.
    #[inline]
    fn check_return_to_old_build(&mut self, e: &SessionEvent) {
        let last = self.last_build[e.player as usize];
        if last != 0 {
            let declared = &self.builds[usize::from(last) - 1];
            let killed_before = declared.killed.is_some_and(|k| k <= e.start);
            let cell_killed =
                declared.killed_cells.iter().any(|&(c, at)| c == e.cell && at <= e.start);
            if !killed_before && !cell_killed {
                self.violations.record(Oracle::StickyExposure, e.start, || {
                    format!(
                        "player {} played build {} before, and now the old build without a kill",
                        e.player, declared.id
                    )
                });
            }
        }
    }

    /// An action the policy took at `at`.
    pub fn action(&mut self, at: Minutes, action: &Action) {
        match action {
            Action::Expose { build, share } => {
                let declared = self.declare(build);
                if let Some(killed) = declared.killed {
                    let id = declared.id.clone();
                    self.violations.record(Oracle::NoResumeOfKilledBuild, at, || {
                        format!("build {id} exposed to {share} after it was killed at {killed}")
                    });
                }
                self.declare(build).share = *share;
            }
            Action::Kill { build, scope } => {
                self.stopped = true;
                let declared = self.declare(build);
                match *scope {
                    KillScope::Release => {
                        declared.killed.get_or_insert(at);
                    }
                    KillScope::Feature(f) => declared.killed_features.push((f, at)),
                    KillScope::Segment(c) => declared.killed_cells.push((c as u8, at)),
                }
                if *scope == KillScope::Release {
                    self.rollback =
                        Some((build.clone(), vec![false; self.scenario.policy.rollback.len()]));
                }
            }
            Action::RunStep { .. } => {}
            Action::Release { build } => {
                self.declare(build).released = true;
                self.released = true;
            }
        }
    }

    /// The world reported a rollback step attempt's end at `at`.
    pub fn step_result(&mut self, at: Minutes, result: &StepResult) {
        let Some((build, steps)) = &mut self.rollback else { return };
        if let Some(s) = steps.get_mut(result.step) {
            *s = result.succeeded;
        }
        if result.succeeded
            && self.scenario.policy.rollback[result.step].kind == StepKind::StopExposure
        {
            let build = build.clone();
            self.declare(&build).stopped_at.get_or_insert(at);
        }
    }

    /// An operator command delivered at `at`.
    pub fn command(&mut self, _at: Minutes, command: &Command) {
        if let Command::Approve { stage } = command
            && let Some(a) = self.approvals.get_mut(*stage)
        {
            *a = true;
        }
    }

    fn check_gate(&mut self, at: Minutes, index: usize) {
        let Some((stage, started)) = self.stage else { return };
        if stage != index {
            return;
        }
        let rule = &self.scenario.policy.stages[index];
        let elapsed = at.saturating_sub(started);
        let sample = self.sample;
        let approved = !rule.approval || self.approvals[index];
        let mut broken = Vec::new();
        if elapsed < rule.min_duration {
            broken.push(format!("lasted {elapsed} of its {}", rule.min_duration));
        }
        if sample.treatment < rule.min_sample || sample.holdback < rule.min_sample {
            broken.push(format!(
                "had {} treatment and {} holdback sessions of the {} required",
                sample.treatment, sample.holdback, rule.min_sample
            ));
        }
        if !approved {
            broken.push("had no operator approval".to_string());
        }
        if !broken.is_empty() {
            self.violations.record(Oracle::GateRespected, at, || {
                format!(
                    "stage {} was left at {} although it {}",
                    index + 1,
                    at,
                    broken.join(" and ")
                )
            });
        }
    }

    /// A policy event. `saves` is the world's saves now, for the checks a finished rollback needs.
    pub fn event(&mut self, event: &Event, saves: &[Save], holdback: &dyn Fn(usize) -> bool) {
        let at = event.at;
        match &event.kind {
            EventKind::StageStarted { build, stage, .. } => {
                let same_build =
                    self.builds.last().is_some_and(|b| &b.id == build) && self.stage.is_some();
                if same_build && *stage > 0 {
                    self.check_gate(at, stage - 1);
                } else if !same_build {
                    self.approvals.iter_mut().for_each(|a| *a = false);
                }
                self.stage = Some((*stage, at));
                self.sample = GateSample::default();
            }
            EventKind::Killed { scope, .. } if *scope != KillScope::Release => {
                // The evidence restarts, and so does the stage's sample.
                self.sample = GateSample::default();
            }
            EventKind::HoldbackPeriodStarted { .. } => {
                self.check_gate(at, self.scenario.policy.stages.len() - 1);
                self.stage = None;
                self.holdback_period_started = Some(at);
            }
            EventKind::Released { .. } => {
                let period = self.scenario.policy.holdback_period;
                match self.holdback_period_started {
                    Some(started) if at.saturating_sub(started) >= period => {}
                    started => self.violations.record(Oracle::GateRespected, at, || {
                        format!("released at {at}, before a holdback period of {period} (started {started:?})")
                    }),
                }
            }
            EventKind::Paused { .. } => self.stopped = true,
            EventKind::RolledBack { build } => self.rolled_back(at, build, saves, holdback),
            EventKind::RollbackFailed { .. } => self.rollback = None,
            // A kill of the whole build is followed through its actions and step results, and
            // the other events change nothing the oracles follow.
            EventKind::Killed { .. }
            | EventKind::GateHeld { .. }
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

    /// The policy declared `build` rolled back at `at`: every step of its plan must have
    /// succeeded, and the saves must show it.
    fn rolled_back(
        &mut self,
        at: Minutes,
        build: &BuildId,
        saves: &[Save],
        holdback: &dyn Fn(usize) -> bool,
    ) {
        let succeeded =
            self.rollback.take().is_some_and(|(b, steps)| &b == build && steps.iter().all(|&s| s));
        if !succeeded {
            self.violations.record(Oracle::RollbackHonest, at, || {
                format!("build {build} was declared rolled back although a step of its plan never succeeded")
            });
        }
        self.declare(build).rolled_back_at = Some(at);
        check_saves(self.scenario, at, build, saves, holdback, &mut self.violations);
    }

    /// The run is over at `now`; checks liveness and hands over the violations.
    pub fn finish(mut self, now: Minutes) -> Violations {
        if !self.released && !self.stopped {
            let bound = self.scenario.max_duration;
            let stage = self.stage.map_or_else(
                || "the holdback period".to_string(),
                |(s, _)| format!("stage {}", s + 1),
            );
            self.violations.record(Oracle::Liveness, now, || {
                format!("never stopped, yet not released by the schedule bound of {bound}; still in {stage}")
            });
        }
        if let Some((build, _)) = &self.rollback {
            let build = build.clone();
            self.violations.record(Oracle::RollbackHonest, now, || {
                format!("the rollback of build {build} neither finished nor failed by the end of the run at {now}")
            });
        }
        self.violations
    }
}
