//! The driver loop: the world, the policy and the operators take turns until the run is over,
//! and the driver keeps what the record needs (the policy's events, each stage as it went, the
//! kill, the release).

use rollcage_policy::{
    Action, Bucket, BuildId, Controller, Event, EventKind, KillScope, Minutes, Reason, Share,
};
use rollcage_sim::{RunSeed, World};

use super::observer::{Observer, Tally};
use super::pipeline::Pipeline;
use super::record::{
    CohortTally, FinalPhase, Outcome, RollbackRecord, RunRecord, SaveRecord, StageRecord, Stop,
};
use crate::harm::{acting_cells, first_false_stop};
use crate::oracle::Oracles;
use crate::scenario::Scenario;

/// Plays one run of `scenario` with `seed` to its end, or until `stop` says so at an evaluation.
pub(super) fn drive<C: Controller>(
    scenario: &Scenario,
    buckets: &[Bucket],
    run: u32,
    seed: RunSeed,
    controller: C,
    stop: &dyn Fn() -> bool,
) -> Option<RunRecord> {
    let layout = scenario.policy.layout();
    let mut d = Driver {
        scenario,
        buckets,
        controller,
        world: World::new(&scenario.world, buckets, seed),
        observer: Observer {
            oracles: Oracles::new(scenario, buckets.len()),
            tally: Tally::new(layout, buckets.len()),
        },
        pipeline: Pipeline::of(&scenario.world.observation, seed),
        events: Vec::new(),
        stages: Vec::new(),
        kill: None,
        rollback_over: false,
        released_at: None,
        paused: false,
    };
    let start = d.controller.start(Minutes::ZERO);
    d.handle(Minutes::ZERO, start);
    let mut commands = scenario.commands.iter().peekable();
    let mut next_evaluation = scenario.evaluation_interval;
    let mut now = Minutes::ZERO;
    loop {
        while let Some(c) = commands.next_if(|c| c.at <= now) {
            d.observer.oracles.command(now, &c.command);
            let step = d.controller.command(now, &c.command);
            d.handle(now, step);
        }
        if d.released_at.is_some() || now >= scenario.max_duration {
            break;
        }
        if let Some(killed) = d.kill
            && d.rollback_over
            && commands.peek().is_none()
            && now >= killed + scenario.kill_propagation_bound + scenario.evaluation_interval
        {
            break;
        }
        let mut until = next_evaluation.min(scenario.max_duration);
        if let Some(end) = d.world.next_operation_end()
            && end > now
        {
            until = until.min(end);
        }
        if let Some(pipeline) = &d.pipeline {
            d.world.set_reporting(pipeline.reporting(now));
        }
        d.observer.oracles.begin_advance(until);
        d.world.advance(until, &mut d.observer);
        now = until;
        d.deliver_step_results();
        if now == next_evaluation {
            if stop() {
                return None;
            }
            next_evaluation = now + scenario.evaluation_interval;
            let step = match d.pipeline.as_mut() {
                Some(pipeline) => {
                    let delivered = pipeline.deliver(now, d.world.telemetry());
                    d.controller.observe(now, delivered)
                }
                None => d.controller.observe(now, d.world.telemetry()),
            };
            d.handle(now, step);
        }
    }
    Some(d.finish(run, seed, now))
}

struct Driver<'a, C> {
    scenario: &'a Scenario,
    pipeline: Option<Pipeline<'a>>,
    buckets: &'a [Bucket],
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
}

impl<C: Controller> Driver<'_, C> {
    /// Hands every rollback step result the world has to the controller, and the controller's
    /// reaction to the world, until none is left (a step of no duration ends at once).
    fn deliver_step_results(&mut self) {
        loop {
            let results = self.world.take_step_results();
            if results.is_empty() {
                return;
            }
            for (at, result) in results {
                self.observer.oracles.step_result(at, &result);
                if result.succeeded
                    && self.scenario.policy.rollback[result.step].kind
                        == rollcage_policy::StepKind::StopExposure
                {
                    self.observer.tally.stopped_at.get_or_insert(at);
                }
                let step = self.controller.step_result(at, &result);
                self.handle(at, step);
            }
        }
    }

    fn handle(&mut self, now: Minutes, step: rollcage_policy::Step) {
        for action in &step.actions {
            self.world.apply(action);
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
        let buckets = self.buckets;
        let holdback = |i: usize| layout.is_holdback(buckets[i]);
        for event in step.events {
            self.observer.oracles.event(&event, self.world.saves(), &holdback);
            match &event.kind {
                EventKind::StageStarted { build, stage, share } => {
                    self.close_stage(now, "advanced");
                    self.open_stage(now, build, Some(*stage), *share);
                }
                EventKind::HoldbackPeriodStarted { build } => {
                    let share = self.observer.tally.stage.as_ref().map_or(Share::ZERO, |s| s.share);
                    self.close_stage(now, "advanced");
                    self.open_stage(now, build, None, share);
                }
                EventKind::Killed { scope: KillScope::Release, .. } => {
                    self.kill = Some(now);
                    self.rollback_over = false;
                    self.paused = false;
                    self.close_stage(now, "killed");
                }
                EventKind::RolledBack { .. } | EventKind::RollbackFailed { .. } => {
                    self.rollback_over = true
                }
                EventKind::Released { .. } => {
                    self.released_at = Some(now);
                    self.close_stage(now, "released");
                }
                EventKind::Paused { .. } => self.paused = true,
                EventKind::Resumed { .. } => self.paused = false,
                _ => {}
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
            end_reason: "",
            treatment: CohortTally::default(),
            holdback: CohortTally::default(),
        });
    }

    fn close_stage(&mut self, now: Minutes, reason: &'static str) {
        if let Some(mut stage) = self.observer.tally.stage.take() {
            stage.end = now;
            stage.end_reason = reason;
            self.stages.push(stage);
        }
    }

    fn scope_name(&self, scope: KillScope) -> String {
        match scope {
            KillScope::Release => "release".to_string(),
            KillScope::Feature(f) => format!("feature:{}", self.scenario.policy.features[f]),
            KillScope::Segment(c) => format!("segment:{}", self.scenario.policy.cells[c]),
        }
    }

    /// When every harmful fault of the release had been stopped, by a kill of the release, of the
    /// fault's feature or of every segment it acts in, or by a guardrail pause.
    fn contained_at(
        &self,
        kills: &[(Minutes, KillScope)],
        pause: Option<Minutes>,
    ) -> Option<Minutes> {
        let world = &self.scenario.world;
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

    fn finish(mut self, run: u32, seed: RunSeed, now: Minutes) -> RunRecord {
        self.close_stage(now, "run_ended");
        let scenario = self.scenario;
        let release = &scenario.world.release.build;
        let mut kills: Vec<(Minutes, KillScope)> = Vec::new();
        let mut stop: Option<Stop> = None;
        let mut pause = None;
        let mut data_pause = None;
        let mut rollback: Option<RollbackRecord> = None;
        let mut on_release = false;
        for e in &self.events {
            let by = |reason: &Reason| match reason {
                Reason::Guardrail(ev) => scenario.policy.guardrails[ev.guardrail].name.clone(),
                Reason::Operator(_) => "operator".to_string(),
                Reason::SampleRatio(_) => "srm".to_string(),
                Reason::Inconclusive { .. } => "inconclusive".to_string(),
            };
            match &e.kind {
                EventKind::StageStarted { build, .. } => on_release = build == release,
                EventKind::Killed { build, scope, reason } if build == release => {
                    kills.push((e.at, *scope));
                    stop.get_or_insert_with(|| Stop {
                        at: e.at,
                        kind: "kill",
                        by: by(reason),
                        scope: self.scope_name(*scope),
                    });
                    if *scope == KillScope::Release && rollback.is_none() {
                        rollback = Some(RollbackRecord {
                            started: e.at,
                            ended: None,
                            result: "rolling_back",
                            attempts: 0,
                        });
                    }
                }
                EventKind::Paused { reason: reason @ Reason::Guardrail(_) } if on_release => {
                    pause.get_or_insert(e.at);
                    stop.get_or_insert_with(|| Stop {
                        at: e.at,
                        kind: "pause",
                        by: by(reason),
                        scope: "release".into(),
                    });
                }
                EventKind::Paused { reason } if on_release && reason.is_data_quality() => {
                    let kind = if matches!(reason, Reason::SampleRatio(_)) {
                        "srm"
                    } else {
                        "inconclusive"
                    };
                    data_pause.get_or_insert((e.at, kind));
                }
                EventKind::RolledBack { build } | EventKind::RollbackFailed { build, .. }
                    if build == release =>
                {
                    if let Some(r) = rollback.as_mut().filter(|r| r.ended.is_none()) {
                        r.ended = Some(e.at);
                        r.result = if matches!(e.kind, EventKind::RolledBack { .. }) {
                            "rolled_back"
                        } else {
                            "rollback_failed"
                        };
                    }
                }
                _ => {}
            }
        }
        if let Some(r) = rollback.as_mut() {
            let end = r.ended.unwrap_or(now);
            r.attempts = self
                .world
                .operations()
                .attempts
                .iter()
                .filter(|(_, _, at, _)| *at >= r.started && *at <= end)
                .count() as u32;
        }
        let onset = scenario.world.release.harmful_onset();
        let contained = self.contained_at(&kills, pause);
        let false_stop_at = first_false_stop(&scenario.world, &self.events, &kills);
        // A harmful release left running behind a data-quality pause was not missed by the
        // guardrails alone: the rollout stopped expanding and someone must look.
        let (outcome, time_to_detect) = match (onset, contained, &stop) {
            (Some(o), Some(c), _) if c >= o => (Outcome::Detected, Some(c - o)),
            (Some(o), _, Some(s)) if s.at < o => (Outcome::FalseKill, None),
            (Some(o), _, _) if o < now && data_pause.is_some() => (Outcome::DataPause, None),
            (Some(o), _, _) if o < now => (Outcome::Missed, None),
            (_, _, Some(_)) => (Outcome::FalseKill, None),
            (_, _, None) if data_pause.is_some() => (Outcome::DataPause, None),
            (_, _, None) => (Outcome::CleanPass, None),
        };
        let final_phase = match (self.released_at, self.kill, &rollback) {
            (Some(_), _, _) => FinalPhase::Released,
            (None, Some(_), _) => {
                let last = self.events.iter().rev().find_map(|e| match e.kind {
                    EventKind::RolledBack { .. } => Some(FinalPhase::RolledBack),
                    EventKind::RollbackFailed { .. } => Some(FinalPhase::RollbackFailed),
                    _ => None,
                });
                if self.rollback_over {
                    last.unwrap_or(FinalPhase::RolledBack)
                } else {
                    FinalPhase::RollingBack
                }
            }
            _ if self.paused => FinalPhase::Paused,
            _ => FinalPhase::Running,
        };
        let stage_reached = self
            .stages
            .iter()
            .filter(|s| &s.build == release)
            .filter_map(|s| s.stage)
            .max()
            .map_or(0, |s| s + 1);
        let builds = {
            let mut ids: Vec<&BuildId> = self.stages.iter().map(|s| &s.build).collect();
            ids.dedup();
            ids.len()
        };
        let saves = SaveRecord::of(self.world.saves());
        let aborted_sessions = self.world.operations().aborted_sessions;
        let Observer { oracles, tally } = self.observer;
        let violations = oracles.finish(now);
        RunRecord {
            run,
            seed,
            outcome,
            harmful: onset.is_some(),
            stop,
            data_pause,
            kills: kills.len() as u32,
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
            rollback,
            saves,
            violations,
            stages: self.stages,
            events: self.events,
        }
    }
}
