//! The driver loop: the world, the policy and the operators take turns until the run is over,
//! and the driver keeps what the record needs (the policy's events, each stage as it went, the
//! kill, the release).

use std::iter::Peekable;
use std::slice;

use rollcage_policy::{Action, BuildId, Controller, Event, EventKind, KillScope, Minutes, Share};
use rollcage_sim::{RunSeed, World};

use super::observer::{Observer, Tally};
use super::pipeline::Pipeline;
use super::record::{
    CohortTally, FinalPhase, Recorded, RunRecord, SaveRecord, StageEnd, StageRecord,
};
use super::verdict::{Decisions, builds, stage_reached};
use crate::harm::{contained_at, first_false_stop};
use crate::oracle::Oracles;
use crate::telemetry::{Exposure, LogEvent, Recording, Window};
use rollcage_model::{Scenario, ScheduledCommand};

/// Plays one run of `scenario` with `seed` to its end, or until `stop` says so at an evaluation.
pub(super) fn drive<C: Controller>(
    scenario: &Scenario,
    run: u32,
    seed: RunSeed,
    controller: C,
    record_telemetry: bool,
    stop: &dyn Fn() -> bool,
) -> Option<RunRecord> {
    let mut d = Driver::new(scenario, seed, controller);
    if record_telemetry {
        d.world.record_telemetry();
        d.recorded = Some(Box::new(Recorded {
            recording: Recording { players: scenario.buckets().len(), ..Recording::default() },
            seen: Vec::new(),
        }));
    }
    let start = d.controller.start(Minutes::ZERO);
    d.handle(Minutes::ZERO, start);
    let mut commands = scenario.commands.iter().peekable();
    let mut next_evaluation = scenario.evaluation_interval;
    let mut now = Minutes::ZERO;
    loop {
        d.run_commands(now, &mut commands);
        if d.is_over(now, &mut commands) {
            break;
        }
        now = d.advance(now, next_evaluation);
        if now == next_evaluation {
            if stop() {
                return None;
            }
            next_evaluation = now + scenario.evaluation_interval;
            d.evaluate(now);
        }
    }
    Some(d.finish(run, seed, now))
}

/// The scenario's operator commands not yet delivered, in time order.
type Commands<'a> = Peekable<slice::Iter<'a, ScheduledCommand>>;

/// One run under way: the world, the controller, the observer of sessions, and what the record
/// needs that only the driver sees.
struct Driver<'a, C> {
    scenario: &'a Scenario,
    pipeline: Option<Pipeline<'a>>,
    controller: C,
    world: World<'a>,
    observer: Observer<'a>,
    events: Vec<Event>,
    stages: Vec<StageRecord>,
    /// When the release under test (or its latest replacement) was killed.
    kill: Option<Minutes>,
    rollback_over: bool,
    released_at: Option<Minutes>,
    paused: bool,
    /// What the telemetry pipeline exported, when recorded.
    recorded: Option<Box<Recorded>>,
}

impl<'a, C: Controller> Driver<'a, C> {
    /// The run of `scenario` with `seed` before its start: no action taken, no session played.
    fn new(scenario: &'a Scenario, seed: RunSeed, controller: C) -> Self {
        let layout = scenario.policy.layout();
        Driver {
            scenario,
            controller,
            world: World::new(&scenario.world, scenario.buckets(), seed),
            observer: Observer {
                oracles: Oracles::new(scenario, scenario.buckets().len()),
                tally: Tally::new(layout, scenario.buckets().len()),
            },
            pipeline: Pipeline::of(&scenario.world.observation, seed),
            events: Vec::new(),
            stages: Vec::new(),
            kill: None,
            rollback_over: false,
            released_at: None,
            paused: false,
            recorded: None,
        }
    }

    /// Hands the operator commands due by `now` to the oracles and the controller, and the
    /// controller's reaction to the world.
    fn run_commands(&mut self, now: Minutes, commands: &mut Commands<'_>) {
        while let Some(c) = commands.next_if(|c| c.at <= now) {
            self.log(|| LogEvent::Command { at: now, command: c.command.clone() });
            self.observer.oracles.command(now, &c.command);
            let response = self.controller.command(now, &c.command);
            self.handle(now, response);
        }
    }

    /// Whether the run is over at `now`: the release is released, the schedule bound is reached,
    /// or a kill's aftermath has played out (its rollback over, no command left, and its
    /// propagation bound and one more evaluation passed).
    fn is_over(&self, now: Minutes, commands: &mut Commands<'_>) -> bool {
        let scenario = self.scenario;
        if self.released_at.is_some() || now >= scenario.max_duration {
            return true;
        }
        if let Some(killed) = self.kill
            && self.rollback_over
            && commands.peek().is_none()
            && now >= killed + scenario.kill_propagation_bound() + scenario.evaluation_interval
        {
            return true;
        }
        false
    }

    /// Advances the world from `now` to the next evaluation, or to the end of the next rollback
    /// step attempt if sooner, and hands the step results to the controller; returns the time
    /// reached.
    fn advance(&mut self, now: Minutes, next_evaluation: Minutes) -> Minutes {
        let mut until = next_evaluation.min(self.scenario.max_duration);
        if let Some(end) = self.world.next_operation_end()
            && end > now
        {
            until = until.min(end);
        }
        if let Some(pipeline) = &self.pipeline {
            self.world.set_reporting(pipeline.reporting(now));
        }
        self.observer.oracles.begin_advance(until);
        self.world.advance(until, &mut self.observer);
        if let Some(recorded) = &mut self.recorded {
            let rows = self.world.take_window_rows();
            recorded.recording.windows.push(Window { start: now, end: until, rows });
            self.log_flag_changes();
        }
        self.deliver_step_results();
        until
    }

    /// Adds an event to the rollout log, when the run records one.
    fn log(&mut self, event: impl FnOnce() -> LogEvent) {
        if let Some(recorded) = &mut self.recorded {
            recorded.recording.log.push(event());
        }
    }

    /// Logs the flag changes the world made since the last call, when the run records them.
    fn log_flag_changes(&mut self) {
        let Some(recorded) = &mut self.recorded else { return };
        for (at, state) in self.world.take_flag_changes() {
            let build = (state.build != 0).then(|| self.world.build_id(state.build).clone());
            let exposure = Exposure {
                build,
                share: state.share,
                everyone: state.everyone,
                killed_features: state.killed_features,
                killed_cells: state.killed_cells,
            };
            recorded.recording.log.push(LogEvent::Exposure { at, exposure });
        }
    }

    /// The evaluation at `now`: the controller observes the telemetry, through the pipeline if
    /// it has faults, and the world applies its reaction.
    fn evaluate(&mut self, now: Minutes) {
        let delivered = match self.pipeline.as_mut() {
            Some(pipeline) => pipeline.deliver(now, self.world.telemetry()),
            None => self.world.telemetry(),
        };
        if let Some(recorded) = &mut self.recorded {
            let data_until = delivered.as_of;
            recorded.recording.log.push(LogEvent::Look { at: now, data_until });
            recorded.seen.push(*delivered);
        }
        let response = self.controller.observe(now, delivered);
        self.handle(now, response);
    }

    /// Hands every rollback step result the world has to the controller, and the controller's
    /// reaction to the world, until none is left (a step of no duration ends at once).
    fn deliver_step_results(&mut self) {
        loop {
            let results = self.world.take_step_results();
            if results.is_empty() {
                return;
            }
            for (at, result) in results {
                self.log(|| LogEvent::StepResult { at, result });
                self.observer.oracles.step_result(at, &result);
                if result.succeeded
                    && self.scenario.policy.rollback[result.step].kind
                        == rollcage_policy::StepKind::StopExposure
                {
                    self.observer.tally.stopped_at.get_or_insert(at);
                }
                let response = self.controller.step_result(at, &result);
                self.handle(at, response);
            }
        }
    }

    fn handle(&mut self, now: Minutes, response: rollcage_policy::Response) {
        for action in &response.actions {
            if let Action::Kill { scope: KillScope::Release, .. } = action {
                self.log(|| LogEvent::Kill { at: now });
            }
            self.world.apply(action);
            self.log_flag_changes();
            self.observer.oracles.action(now, action);
            if let Action::Expose { build, .. } = action {
                debug_assert_eq!(
                    self.world.build_index(build),
                    self.observer.oracles.build_index(build)
                );
                if build == &self.scenario.world.release.build {
                    self.observer.tally.release =
                        self.world.build_index(build).expect("an exposed build is registered");
                }
            }
        }
        let layout = self.scenario.policy.layout();
        let buckets = self.scenario.buckets();
        let holdback = |i: usize| layout.is_holdback(buckets[i]);
        for event in response.events {
            self.observer.oracles.event(&event, self.world.saves(), &holdback);
            match &event.kind {
                EventKind::StageStarted { build, stage, share } => {
                    self.close_stage(now, StageEnd::Advanced);
                    self.open_stage(now, build, Some(*stage), *share);
                }
                EventKind::HoldbackPeriodStarted { build } => {
                    let share = self.observer.tally.stage.as_ref().map_or(Share::ZERO, |s| s.share);
                    self.close_stage(now, StageEnd::Advanced);
                    self.open_stage(now, build, None, share);
                }
                EventKind::Killed { scope: KillScope::Release, .. } => {
                    self.kill = Some(now);
                    self.rollback_over = false;
                    self.paused = false;
                    self.close_stage(now, StageEnd::Killed);
                }
                EventKind::RolledBack { .. } | EventKind::RollbackFailed { .. } => {
                    self.rollback_over = true
                }
                EventKind::Released { .. } => {
                    self.released_at = Some(now);
                    self.close_stage(now, StageEnd::Released);
                }
                EventKind::Paused { .. } => self.paused = true,
                EventKind::Resumed { .. } => self.paused = false,
                // Kills of a feature or a segment, and the events that change no stage.
                EventKind::Killed { .. }
                | EventKind::GateHeld { .. }
                | EventKind::Evaluated(_)
                | EventKind::SampleRatioChecked(_)
                | EventKind::StepStarted { .. }
                | EventKind::StepSucceeded { .. }
                | EventKind::StepFailed { .. }
                | EventKind::Approved { .. }
                | EventKind::Refused { .. } => {}
            }
            self.events.push(event);
        }
        // A step of no duration ends at once; its result is due now.
        self.deliver_step_results();
    }

    fn open_stage(&mut self, now: Minutes, build: &BuildId, stage: Option<usize>, share: Share) {
        if stage.is_some() && self.kill.is_some() {
            // A new build after a kill: back to rolling out.
            self.kill = None;
        }
        self.observer.tally.stage = Some(StageRecord {
            build: build.clone(),
            stage,
            share,
            start: now,
            end: now,
            // Until the stage is closed otherwise, it ends with the run.
            end_reason: StageEnd::RunEnded,
            treatment: CohortTally::default(),
            holdback: CohortTally::default(),
        });
    }

    fn close_stage(&mut self, now: Minutes, reason: StageEnd) {
        if let Some(mut stage) = self.observer.tally.stage.take() {
            stage.end = now;
            stage.end_reason = reason;
            self.stages.push(stage);
        }
    }

    /// Where the run ended: released; after a kill, rolled back, failed or still rolling back;
    /// paused; or still rolling out.
    fn final_phase(&self) -> FinalPhase {
        match (self.released_at, self.kill) {
            (Some(_), _) => FinalPhase::Released,
            (None, Some(_)) => {
                let last = self.events.iter().rev().find_map(|e| rollback_end(&e.kind));
                if self.rollback_over {
                    last.unwrap_or(FinalPhase::RolledBack)
                } else {
                    FinalPhase::RollingBack
                }
            }
            _ if self.paused => FinalPhase::Paused,
            _ => FinalPhase::Running,
        }
    }

    /// The run is over at `now`: its record, judged.
    fn finish(mut self, run: u32, seed: RunSeed, now: Minutes) -> RunRecord {
        self.close_stage(now, StageEnd::RunEnded);
        let scenario = self.scenario;
        let release = &scenario.world.release.build;
        let decisions = Decisions::read(scenario, &self.events, self.world.operations(), now);
        let onset = scenario.world.release.harmful_onset();
        let contained = contained_at(&scenario.world, &decisions.kills, decisions.pause);
        let false_stop_at = first_false_stop(&scenario.world, &self.events, &decisions.kills);
        let (outcome, time_to_detect) = decisions.outcome(onset, contained, now);
        let final_phase = self.final_phase();
        let stage_reached = stage_reached(&self.stages, release);
        let builds = builds(&self.stages);
        let saves = SaveRecord::of(self.world.saves());
        let aborted_sessions = self.world.operations().aborted_sessions;
        let Observer { oracles, tally } = self.observer;
        let violations = oracles.finish(now);
        RunRecord {
            run,
            seed,
            outcome,
            harmful: onset.is_some(),
            stop: decisions.stop,
            data_pause: decisions.data_pause,
            kills: decisions.kills.len() as u32,
            time_to_detect,
            false_stop_at,
            final_phase,
            released_at: self.released_at,
            ended_at: now,
            stage_reached,
            builds,
            sessions: tally.sessions,
            treatment_sessions: tally.treatment_sessions,
            holdback_sessions: tally.holdback_sessions,
            exposed_players: tally.exposed.len(),
            exposed_sessions: tally.exposed_sessions,
            harmed_players: tally.harmed.len(),
            harmed_sessions: tally.harmed_sessions,
            sessions_after_stop: tally.sessions_after_stop,
            aborted_sessions,
            rollback: decisions.rollback,
            saves,
            violations,
            stages: self.stages,
            events: self.events,
            telemetry: self.recorded.map(|mut r| {
                r.recording.builds = self.world.builds().cloned().collect();
                r
            }),
        }
    }
}

/// How a rollback ended, if `kind` is the end of one.
fn rollback_end(kind: &EventKind) -> Option<FinalPhase> {
    match kind {
        EventKind::RolledBack { .. } => Some(FinalPhase::RolledBack),
        EventKind::RollbackFailed { .. } => Some(FinalPhase::RollbackFailed),
        EventKind::StageStarted { .. }
        | EventKind::GateHeld { .. }
        | EventKind::HoldbackPeriodStarted { .. }
        | EventKind::Released { .. }
        | EventKind::Evaluated(_)
        | EventKind::SampleRatioChecked(_)
        | EventKind::Paused { .. }
        | EventKind::Resumed { .. }
        | EventKind::Killed { .. }
        | EventKind::StepStarted { .. }
        | EventKind::StepSucceeded { .. }
        | EventKind::StepFailed { .. }
        | EventKind::Approved { .. }
        | EventKind::Refused { .. } => None,
    }
}
