//! One run: the driver loop that lets the world, the policy and the operators take turns, and
//! the record of what happened.
//!
//! ```text
//! start: policy.start(0) -> actions -> world
//! every evaluation interval, until released, the run's end, or a kill's aftermath has played out:
//!     operator commands due by now -> policy -> actions -> world
//!     world.advance(next) -> sessions (to the oracles) and a telemetry snapshot
//!     policy.observe(next, snapshot) -> actions -> world
//! ```

use rollcage_policy::{
    Action, Bucket, BuildId, Controller, Event, EventKind, Minutes, Policy, Reason, Share,
};
use rollcage_sim::{RunSeed, SessionEvent, SessionObserver, World};

use crate::oracle::{Oracles, Violations};
use crate::scenario::Scenario;

/// How a run is recorded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Record every guardrail evaluation (for `explain`); off in batches, where only decisions
    /// are kept.
    pub record_evaluations: bool,
}

/// The verdict on a run: the truth (was the release harmful when it was stopped, or at all)
/// crossed with the decision (was it stopped).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    /// A harmful release was stopped after its harm began.
    Detected,
    /// A harmful release was never stopped.
    Missed,
    /// A release was stopped while it was doing no harm.
    FalseKill,
    /// A harmless release went through.
    CleanPass,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Detected => "detected",
            Outcome::Missed => "missed",
            Outcome::FalseKill => "false_kill",
            Outcome::CleanPass => "clean_pass",
        }
    }
}

/// How the release under test was first stopped.
#[derive(Clone, Debug, PartialEq)]
pub struct Stop {
    pub at: Minutes,
    /// `kill` or `pause`.
    pub kind: &'static str,
    /// The guardrail's name, or `operator`.
    pub by: String,
}

/// Where the run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FinalPhase {
    Released,
    Killed,
    Paused,
    /// Still rolling out when the run reached its schedule bound.
    Running,
}

impl FinalPhase {
    pub fn name(self) -> &'static str {
        match self {
            FinalPhase::Released => "released",
            FinalPhase::Killed => "killed",
            FinalPhase::Paused => "paused",
            FinalPhase::Running => "running",
        }
    }
}

/// Sessions and what happened in them, for one cohort over one stage.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CohortTally {
    pub sessions: u64,
    pub crashes: u64,
    pub latency_ms_sum: f64,
}

impl CohortTally {
    fn add(&mut self, e: &SessionEvent) {
        self.sessions += 1;
        self.crashes += u64::from(e.crashed);
        self.latency_ms_sum += f64::from(e.latency_ms);
    }

    pub fn crash_rate(&self) -> Option<f64> {
        (self.sessions > 0).then(|| self.crashes as f64 / self.sessions as f64)
    }

    pub fn latency_ms_mean(&self) -> Option<f64> {
        (self.sessions > 0).then(|| self.latency_ms_sum / self.sessions as f64)
    }
}

/// One stage (or the holdback period) of one build, as it really went.
#[derive(Clone, Debug, PartialEq)]
pub struct StageRecord {
    pub build: BuildId,
    /// 0-based stage index; `None` for the holdback period.
    pub stage: Option<usize>,
    pub share: Share,
    pub start: Minutes,
    pub end: Minutes,
    /// `advanced`, `killed`, `released` or `run_ended`.
    pub end_reason: &'static str,
    /// Sessions on the build, by start time within the stage.
    pub treatment: CohortTally,
    /// Holdback sessions, by start time within the stage.
    pub holdback: CohortTally,
}

/// Everything a run's reports need.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRecord {
    pub run: u32,
    pub seed: RunSeed,
    pub outcome: Outcome,
    /// The release carries a harmful fault (ground truth).
    pub harmful: bool,
    pub stop: Option<Stop>,
    /// From the start of harm to the stop.
    pub time_to_detect: Option<Minutes>,
    pub final_phase: FinalPhase,
    pub released_at: Option<Minutes>,
    pub ended_at: Minutes,
    /// The highest stage (1-based) the release under test reached.
    pub stage_reached: usize,
    /// Builds rolled out: the release and any that replaced it after a kill.
    pub builds: usize,
    pub sessions: u64,
    pub treatment_sessions: u64,
    pub holdback_sessions: u64,
    /// Players and sessions on the release under test.
    pub exposed_players: u64,
    pub exposed_sessions: u64,
    /// Players and sessions on the release while one of its faults acted on them.
    pub harmed_players: u64,
    pub harmed_sessions: u64,
    pub violations: Violations,
    pub stages: Vec<StageRecord>,
    /// The policy's events: every decision, and every evaluation when recorded.
    pub events: Vec<Event>,
}

/// A compact set of player indices.
struct PlayerSet(Vec<u64>);

impl PlayerSet {
    fn new(players: usize) -> PlayerSet {
        PlayerSet(vec![0; players.div_ceil(64)])
    }

    #[inline]
    fn insert(&mut self, player: u32) {
        self.0[(player / 64) as usize] |= 1 << (player % 64);
    }

    fn len(&self) -> u64 {
        self.0.iter().map(|w| u64::from(w.count_ones())).sum()
    }
}

/// Per-session truth for the run's record.
struct Tally {
    layout: rollcage_policy::BucketLayout,
    sessions: u64,
    treatment_sessions: u64,
    holdback_sessions: u64,
    exposed_sessions: u64,
    harmed_sessions: u64,
    exposed: PlayerSet,
    harmed: PlayerSet,
    /// The world index of the release under test once it is exposed (0, the old build, before).
    release: u16,
    stage: Option<StageRecord>,
}

impl Tally {
    #[inline]
    fn session(&mut self, e: &SessionEvent) {
        self.sessions += 1;
        let holdback = e.build == 0 && self.layout.is_holdback(e.bucket);
        if e.build != 0 {
            self.treatment_sessions += 1;
        } else if holdback {
            self.holdback_sessions += 1;
        }
        if e.build == self.release && e.build != 0 {
            self.exposed_sessions += 1;
            self.exposed.insert(e.player);
            if e.harmed {
                self.harmed_sessions += 1;
                self.harmed.insert(e.player);
            }
        }
        if let Some(stage) = &mut self.stage {
            if e.build != 0 {
                stage.treatment.add(e);
            } else if holdback {
                stage.holdback.add(e);
            }
        }
    }
}

struct Observer<'a> {
    oracles: Oracles<'a>,
    tally: Tally,
}

impl SessionObserver for Observer<'_> {
    #[inline]
    fn session(&mut self, e: &SessionEvent) {
        self.oracles.session(e);
        self.tally.session(e);
    }
}

/// Runs `run` of `scenario` under its own policy.
pub fn run(scenario: &Scenario, buckets: &[Bucket], run: u32, options: RunOptions) -> RunRecord {
    let seed = RunSeed::derive(scenario.seed, run);
    run_with_seed(scenario, buckets, run, seed, options)
}

/// Runs `scenario` under its own policy with an explicit seed (for `explain --seed`).
pub fn run_with_seed(
    scenario: &Scenario,
    buckets: &[Bucket],
    run: u32,
    seed: RunSeed,
    options: RunOptions,
) -> RunRecord {
    let mut policy = Policy::new(&scenario.policy, scenario.world.release.build.clone());
    if options.record_evaluations {
        policy = policy.recording_evaluations();
    }
    run_controller(scenario, buckets, run, seed, policy)
}

/// The driver loop, for any controller: the scenario's own policy, or, in the oracle tests, a
/// deliberately broken one.
pub fn run_controller<C: Controller>(
    scenario: &Scenario,
    buckets: &[Bucket],
    run: u32,
    seed: RunSeed,
    mut controller: C,
) -> RunRecord {
    let mut world = World::new(&scenario.world, buckets, seed);
    let mut observer = Observer {
        oracles: Oracles::new(scenario, buckets.len()),
        tally: Tally {
            layout: scenario.policy.layout(),
            sessions: 0,
            treatment_sessions: 0,
            holdback_sessions: 0,
            exposed_sessions: 0,
            harmed_sessions: 0,
            exposed: PlayerSet::new(buckets.len()),
            harmed: PlayerSet::new(buckets.len()),
            release: 0,
            stage: None,
        },
    };
    let mut driver = Driver {
        events: Vec::new(),
        stages: Vec::new(),
        kill: None,
        released_at: None,
        paused: false,
    };

    let start = controller.start(Minutes::ZERO);
    driver.handle(Minutes::ZERO, start, &mut world, &mut observer);
    let mut commands = scenario.commands.iter().peekable();
    let mut now = Minutes::ZERO;
    loop {
        while let Some(c) = commands.next_if(|c| c.at <= now) {
            observer.oracles.command(now, &c.command);
            let step = controller.command(now, &c.command);
            driver.handle(now, step, &mut world, &mut observer);
        }
        if driver.released_at.is_some() || now >= scenario.max_duration {
            break;
        }
        if let Some(killed) = driver.kill
            && commands.peek().is_none()
            && now >= killed + scenario.kill_propagation_bound + scenario.evaluation_interval
        {
            break;
        }
        let next = Minutes((now + scenario.evaluation_interval).0.min(scenario.max_duration.0));
        observer.oracles.begin_window(next);
        let telemetry = world.advance(next, &mut observer);
        now = next;
        let step = controller.observe(now, &telemetry);
        driver.handle(now, step, &mut world, &mut observer);
    }
    driver.close_stage(now, "run_ended", &mut observer.tally);
    let Observer { oracles, tally } = observer;
    let violations = oracles.finish(now);
    driver.record(scenario, run, seed, now, tally, violations)
}

struct Driver {
    events: Vec<Event>,
    stages: Vec<StageRecord>,
    kill: Option<Minutes>,
    released_at: Option<Minutes>,
    paused: bool,
}

impl Driver {
    fn handle(
        &mut self,
        now: Minutes,
        step: rollcage_policy::Step,
        world: &mut World<'_>,
        observer: &mut Observer<'_>,
    ) {
        let world_release = world.release().clone();
        for action in &step.actions {
            world.apply(action);
            observer.oracles.action(now, action);
            if let Action::Expose { build, .. } = action {
                debug_assert_eq!(world.build_index(build), observer.oracles.build_index(build));
                if *build == world_release {
                    observer.tally.release =
                        world.build_index(build).expect("an exposed build is registered");
                }
            }
        }
        for event in step.events {
            observer.oracles.event(&event);
            match &event.kind {
                EventKind::StageStarted { build, stage, share } => {
                    self.close_stage(now, "advanced", &mut observer.tally);
                    self.open_stage(now, build, Some(*stage), *share, &mut observer.tally);
                }
                EventKind::HoldbackPeriodStarted { build } => {
                    let share = observer.tally.stage.as_ref().map_or(Share::ZERO, |s| s.share);
                    self.close_stage(now, "advanced", &mut observer.tally);
                    self.open_stage(now, build, None, share, &mut observer.tally);
                }
                EventKind::Killed { .. } => {
                    self.kill = Some(now);
                    self.paused = false;
                    self.close_stage(now, "killed", &mut observer.tally);
                }
                EventKind::Released { .. } => {
                    self.released_at = Some(now);
                    self.close_stage(now, "released", &mut observer.tally);
                }
                EventKind::Paused { .. } => self.paused = true,
                EventKind::Resumed { .. } => self.paused = false,
                _ => {}
            }
            self.events.push(event);
        }
    }

    fn open_stage(
        &mut self,
        now: Minutes,
        build: &BuildId,
        stage: Option<usize>,
        share: Share,
        tally: &mut Tally,
    ) {
        if stage.is_some() && self.kill.is_some() {
            // A new build after a kill: back to rolling out.
            self.kill = None;
        }
        tally.stage = Some(StageRecord {
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

    fn close_stage(&mut self, now: Minutes, reason: &'static str, tally: &mut Tally) {
        if let Some(mut stage) = tally.stage.take() {
            stage.end = now;
            stage.end_reason = reason;
            self.stages.push(stage);
        }
    }

    fn record(
        self,
        scenario: &Scenario,
        run: u32,
        seed: RunSeed,
        now: Minutes,
        tally: Tally,
        violations: Violations,
    ) -> RunRecord {
        let release = &scenario.world.release.build;
        let stop = self.events.iter().find_map(|e| match &e.kind {
            EventKind::Killed { build, reason } if build == release => Some(Stop {
                at: e.at,
                kind: "kill",
                by: match reason {
                    Reason::Guardrail(ev) => scenario.policy.guardrails[ev.guardrail].name.clone(),
                    Reason::Operator(_) => "operator".to_string(),
                },
            }),
            EventKind::Paused { reason: Reason::Guardrail(ev) }
                if self.events_build_at(e.at) == Some(release) =>
            {
                Some(Stop {
                    at: e.at,
                    kind: "pause",
                    by: scenario.policy.guardrails[ev.guardrail].name.clone(),
                })
            }
            _ => None,
        });
        let onset = scenario.world.release.harmful_onset();
        let (outcome, time_to_detect) = match (&stop, onset) {
            (Some(s), Some(o)) if s.at >= o => (Outcome::Detected, Some(s.at - o)),
            (Some(_), _) => (Outcome::FalseKill, None),
            (None, Some(o)) if o < now => (Outcome::Missed, None),
            (None, _) => (Outcome::CleanPass, None),
        };
        let final_phase = if self.released_at.is_some() {
            FinalPhase::Released
        } else if self.kill.is_some() {
            FinalPhase::Killed
        } else if self.paused {
            FinalPhase::Paused
        } else {
            FinalPhase::Running
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
        RunRecord {
            run,
            seed,
            outcome,
            harmful: onset.is_some(),
            stop,
            time_to_detect,
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
            violations,
            stages: self.stages,
            events: self.events,
        }
    }

    /// The build being rolled out at `at`, from the stage records.
    fn events_build_at(&self, at: Minutes) -> Option<&BuildId> {
        self.stages.iter().rev().find(|s| s.start <= at).map(|s| &s.build)
    }
}
