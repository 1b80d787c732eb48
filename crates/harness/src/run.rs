//! One run: the driver loop that lets the world, the policy and the operators take turns, and
//! the record of what happened.
//!
//! ```text
//! start: policy.start(0) -> actions -> world
//! until released, the run's end, or a kill's aftermath has played out:
//!     operator commands due by now -> policy -> actions -> world
//!     world.advance(the next evaluation, or the end of the next rollback step attempt if sooner)
//!         -> sessions (to the oracles) and a telemetry snapshot
//!     rollback step results -> policy -> actions -> world   (at once, at the attempt's end)
//!     at an evaluation: policy.observe(snapshot) -> actions -> world
//! ```

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rollcage_policy::{
    Action, Bucket, BucketLayout, BuildId, Controller, Event, EventKind, KillScope, Minutes,
    Policy, Reason, Share, Telemetry,
};
use rollcage_sim::{Observation, RunSeed, Save, SessionEvent, SessionObserver, Stream, World};

use crate::harm::{acting_cells, first_false_stop};
use crate::oracle::{Oracles, Violations};
use crate::scenario::Scenario;

/// How a run is recorded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Record every guardrail evaluation (for `explain`); off in batches, where only decisions
    /// are kept.
    pub record_evaluations: bool,
    /// Run the policy dry ([`Policy::dry_run`]): every guardrail is evaluated and none acts, so
    /// every run follows the schedule of a clean one.
    pub dry_run: bool,
}

/// The verdict on a run: the truth (was the release harmful when it was stopped, or at all)
/// crossed with the decision (was it stopped).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    /// A harmful release's every harm was stopped (by kills of the release, of the faulty feature
    /// or of the affected segments, or by a guardrail pause) after the harm began.
    Detected,
    /// A harmful release's harm was never all stopped.
    Missed,
    /// Something was stopped while the release was doing no harm.
    FalseKill,
    /// A harmless release went through.
    CleanPass,
    /// A data-quality check (sample-ratio mismatch, the inconclusive limit) paused the rollout and
    /// nothing stopped the release otherwise: neither a false kill nor a detection, and a harmful
    /// release's harm was left running.
    DataPause,
}

impl Outcome {
    pub const ALL: [Outcome; 5] = [
        Outcome::Detected,
        Outcome::Missed,
        Outcome::FalseKill,
        Outcome::CleanPass,
        Outcome::DataPause,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Outcome::Detected => "detected",
            Outcome::Missed => "missed",
            Outcome::FalseKill => "false_kill",
            Outcome::CleanPass => "clean_pass",
            Outcome::DataPause => "data_pause",
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
    /// `release`, `feature:<name>` or `segment:<name>`; `release` for a pause.
    pub scope: String,
}

/// Where the run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FinalPhase {
    Released,
    RolledBack,
    RollbackFailed,
    /// The run ended while a rollback was still running.
    RollingBack,
    Paused,
    /// Still rolling out when the run reached its schedule bound.
    Running,
}

impl FinalPhase {
    pub fn name(self) -> &'static str {
        match self {
            FinalPhase::Released => "released",
            FinalPhase::RolledBack => "rolled_back",
            FinalPhase::RollbackFailed => "rollback_failed",
            FinalPhase::RollingBack => "rolling_back",
            FinalPhase::Paused => "paused",
            FinalPhase::Running => "running",
        }
    }
}

/// The first rollback of the run.
#[derive(Clone, Debug, PartialEq)]
pub struct RollbackRecord {
    pub started: Minutes,
    /// When it was declared rolled back or failed; `None` if the run ended first.
    pub ended: Option<Minutes>,
    /// `rolled_back`, `rollback_failed` or `rolling_back`.
    pub result: &'static str,
    /// Step attempts, every retry included.
    pub attempts: u32,
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

/// What the players' saves hold at the end of the run, against the truth.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SaveRecord {
    /// Legitimate coins the saves no longer hold.
    pub coins_lost: i64,
    /// Coins an exploit minted that are still in the saves.
    pub exploit_coins_left: i64,
    pub items_lost: u64,
    pub corrupted_saves_left: u64,
    /// Players whose saves a rollback restored.
    pub players_restored: u64,
    /// Players who played a new build or had their save migrated.
    pub players_affected: u64,
}

impl SaveRecord {
    fn of(saves: &[Save]) -> SaveRecord {
        let mut r = SaveRecord::default();
        for s in saves {
            r.coins_lost += s.coins_lost();
            r.exploit_coins_left += s.exploit_coins;
            r.items_lost += u64::from(s.items_lost());
            r.corrupted_saves_left += u64::from(s.corrupted);
            r.players_restored += u64::from(s.restored.is_some());
            r.players_affected += u64::from(s.touched);
        }
        r
    }
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
    /// The first data-quality pause of the release under test: when, and `srm` or `inconclusive`.
    pub data_pause: Option<(Minutes, &'static str)>,
    /// Kills of the release under test (any scope), in order.
    pub kills: u32,
    /// From the start of harm to when it was all stopped.
    pub time_to_detect: Option<Minutes>,
    /// When a guardrail first stopped a part of the release that was doing no harm at that moment
    /// (a healthy feature or segment, the release once its harm was contained, or a build that
    /// replaced it), by the ground truth; operators' kills and data-quality pauses never count.
    pub false_stop_at: Option<Minutes>,
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
    /// Sessions started on the release after the world stopped its exposure (stale clients).
    pub sessions_after_stop: u64,
    /// Runs in flight aborted when the release was switched off.
    pub aborted_sessions: u64,
    pub rollback: Option<RollbackRecord>,
    pub saves: SaveRecord,
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
    layout: BucketLayout,
    sessions: u64,
    treatment_sessions: u64,
    holdback_sessions: u64,
    exposed_sessions: u64,
    harmed_sessions: u64,
    exposed: PlayerSet,
    harmed: PlayerSet,
    /// The world index of the release under test once it is exposed (0, the old build, before).
    release: u16,
    /// When the world stopped the release's exposure.
    stopped_at: Option<Minutes>,
    sessions_after_stop: u64,
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
            if self.stopped_at.is_some_and(|s| e.start >= s) {
                self.sessions_after_stop += 1;
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
    run_until(scenario, buckets, run, options, &|| false).expect("a run nothing stops finishes")
}

/// [`run`], abandoned at the first evaluation at which `stop` says so (a Ctrl-C): `None` then.
/// A large world's run takes seconds; it is stopped within one evaluation interval of simulated
/// time, a few hundredths of a second.
pub fn run_until(
    scenario: &Scenario,
    buckets: &[Bucket],
    run: u32,
    options: RunOptions,
    stop: &dyn Fn() -> bool,
) -> Option<RunRecord> {
    let seed = RunSeed::derive(scenario.seed, run);
    let policy = scenario_policy(scenario, options);
    run_controller_until(scenario, buckets, run, seed, policy, stop)
}

fn scenario_policy(scenario: &Scenario, options: RunOptions) -> Policy<'_> {
    let mut policy = Policy::new(&scenario.policy, scenario.world.release.build.clone());
    if options.record_evaluations {
        policy = policy.recording_evaluations();
    }
    if options.dry_run {
        policy = policy.dry_run();
    }
    policy
}

/// Runs `scenario` under its own policy with an explicit seed (for `explain --seed`).
pub fn run_with_seed(
    scenario: &Scenario,
    buckets: &[Bucket],
    run: u32,
    seed: RunSeed,
    options: RunOptions,
) -> RunRecord {
    run_controller(scenario, buckets, run, seed, scenario_policy(scenario, options))
}

/// The driver loop, for any controller: the scenario's own policy, or, in the oracle tests, a
/// deliberately broken one.
pub fn run_controller<C: Controller>(
    scenario: &Scenario,
    buckets: &[Bucket],
    run: u32,
    seed: RunSeed,
    controller: C,
) -> RunRecord {
    run_controller_until(scenario, buckets, run, seed, controller, &|| false)
        .expect("a run nothing stops finishes")
}

fn run_controller_until<C: Controller>(
    scenario: &Scenario,
    buckets: &[Bucket],
    run: u32,
    seed: RunSeed,
    controller: C,
    stop: &dyn Fn() -> bool,
) -> Option<RunRecord> {
    if !scenario.world.release.draw(seed) {
        // This run's release is the harmless one.
        return drive(&scenario.harmless(), buckets, run, seed, controller, stop);
    }
    drive(scenario, buckets, run, seed, controller, stop)
}

fn drive<C: Controller>(
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
            tally: Tally {
                layout,
                sessions: 0,
                treatment_sessions: 0,
                holdback_sessions: 0,
                exposed_sessions: 0,
                harmed_sessions: 0,
                exposed: PlayerSet::new(buckets.len()),
                harmed: PlayerSet::new(buckets.len()),
                release: 0,
                stopped_at: None,
                sessions_after_stop: 0,
                stage: None,
            },
        },
        pipeline: scenario.world.observation.is_faulty().then(|| Pipeline {
            observation: &scenario.world.observation,
            rng: seed.stream(Stream::Delivery),
            delivered: Box::default(),
            window_lost: false,
        }),
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

/// The telemetry pipeline between the world and the policy, when the scenario gives it faults:
/// each evaluation window may arrive late or be lost, and outages deliver nothing.
struct Pipeline<'a> {
    observation: &'a Observation,
    rng: ChaCha8Rng,
    /// What the policy was last handed.
    delivered: Box<Telemetry>,
    /// The window under way is lost: its sessions never reach the telemetry.
    window_lost: bool,
}

impl Pipeline<'_> {
    /// Whether sessions ending in the step starting at `now` are reported.
    fn reporting(&self, now: Minutes) -> bool {
        let dropped = self.observation.outage_at(now).is_some_and(|o| !o.backfill);
        !self.window_lost && !dropped
    }

    /// What the policy sees at the evaluation at `now`, and the draws for the next window.
    fn deliver(&mut self, now: Minutes, world: &Telemetry) -> &Telemetry {
        let late = self.rng.random::<f64>() < self.observation.late;
        let stale = late || self.window_lost || self.observation.outage_at(now).is_some();
        if !stale {
            *self.delivered = *world;
        }
        self.window_lost = self.rng.random::<f64>() < self.observation.gap;
        &self.delivered
    }
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
