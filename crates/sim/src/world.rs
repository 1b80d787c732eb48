//! One run's world: sessions arrive, each is played on the build its client's flags say, the
//! faults of that build act, the player's save changes, and the outcomes flow into telemetry.
//!
//! Time advances in calls to [`World::advance`], at most one evaluation window at a time. Inside a
//! call the world steps at most an hour at a time (and at every live-event or fault boundary), so
//! the daily traffic cycle and the events are followed closely. Session arrivals are a Poisson
//! process over the whole population, each arrival going to a player drawn in proportion to their
//! activity: the same as every player having their own Poisson process, at a few random draws
//! per session.
//!
//! Flags: the server's state changes at once when the world applies an action; a client sees a
//! change at its next flag fetch (see [`crate::flags`]). A session's build and features are
//! decided at its start from the flags as its client last fetched them.
//!
//! Saves: a run on a new build migrates the player's save (lazily, or for every exposed player at
//! stage start); a corrupted or unreadable save makes the next run fail to load. A run's coins,
//! item and progress reach the save when the run ends; a run aborted by a kill leaves the save as
//! it was.
//!
//! Telemetry: a session reports when it ends; its next-day return is known a day after that. Every
//! report lands in the snapshot of the exposure that is current when it arrives. Snapshots are
//! cumulative since the current exposure began, per cohort and segment cell, and carry per-player
//! sums so the policy can estimate clustered variances.
//!
//! Rollback steps run as operations: each attempt takes its duration, then succeeds, fails, or
//! fails after applying itself to part of the players, as the run's operations stream decides.

use std::collections::VecDeque;

use rand::{Rng, RngExt};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp1, StandardNormal};
use rollcage_policy::{
    Action, Bucket, BucketLayout, BuildId, Cohort, KillScope, Metric, Minutes, Share, StepKind,
    StepResult, Telemetry,
};

use crate::carry::{Carries, Totals};
use crate::config::{AssignmentBug, FaultKind, InFlight, Migration, Sabotage, WorldConfig};
use crate::flags::{FlagState, Flags, NOTHING_EXPOSED};
use crate::population::{AliasTable, Player, Population};
use crate::saves::{Holdings, Save};
use crate::seed::{RunSeed, Stream};
use rollcage_stats::fastmath;
use rollcage_stats::rank::bin_of;

/// What the truth records of one session, for the harness's oracles and outcomes. The policy
/// never sees these.
///
/// The outcome fields (`crashed`, `load_failed`, `latency_ms`, `exploit_coins`) are simulated for
/// every session on a new build, of the holdback, or of a player whose save a new build touched.
/// Sessions of other players, on the old build with nothing observing them, report no outcome.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SessionEvent {
    pub start: Minutes,
    pub player: u32,
    pub bucket: Bucket,
    /// The player's segment index (see [`WorldConfig::segment`]) and telemetry cell.
    pub segment: u8,
    pub cell: u8,
    /// The world's index of the build played; 0 is the old build.
    pub build: u16,
    /// The release features enabled in the run, one bit per feature (0 on the old build).
    pub features: u32,
    pub cohort: Cohort,
    /// The session was played on a build whose fault was acting on this player.
    pub harmed: bool,
    pub crashed: bool,
    /// The save failed to load (corrupted, or unreadable by the build).
    pub load_failed: bool,
    pub latency_ms: f32,
    /// Coins the run minted through an exploit.
    pub exploit_coins: i64,
}

/// Sees every session as it starts, in time order.
pub trait SessionObserver {
    fn session(&mut self, event: &SessionEvent);
}

impl SessionObserver for () {
    #[inline]
    fn session(&mut self, _: &SessionEvent) {}
}

/// What a build with given flags does to a session of one segment during the current step.
#[derive(Clone, Copy, Debug, Default)]
struct Effect {
    crash: f64,
    latency: f64,
    retention: f64,
    /// Extra coins minted per legitimate coin by a player who knows the exploit (0: no exploit).
    exploit: f64,
    audited: f64,
    corruption: f64,
    harmful: bool,
    features: u32,
}

/// Everything the hot loop touches for one player, in one cache line: who the player is, and
/// their running totals in the current exposure for the per-player telemetry sums. A tally's
/// `key` packs the exposure epoch and the cohort, so a stale tally is recognised in one compare.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C, align(64))]
struct Slot {
    /// Latency and coins totals.
    sums: [f64; 2],
    crash_probability: f32,
    log_latency_ms: f32,
    log_coins: f32,
    key: u32,
    count: u32,
    crashes: u32,
    errors: u32,
    return_key: u32,
    return_count: u32,
    returned: u32,
    bucket: Bucket,
    refresh_phase: u16,
    segment: u8,
    cell: u8,
    stale: bool,
    /// The exposure (epoch, modulo [`MARKS`]) in which the player was last counted as assigned.
    assigned_mark: u8,
}

impl Slot {
    /// The player's totals of each session value (crash, latency, coins, save error) in the
    /// current exposure, in the order of a session's values.
    #[inline]
    fn totals(&self) -> [f64; 4] {
        [f64::from(self.crashes), self.sums[0], self.sums[1], f64::from(self.errors)]
    }
}

/// Assignment marks cycle through 1..=MARKS; 0 means never counted.
const MARKS: u32 = 255;

const _: () = assert!(std::mem::size_of::<Slot>() == 64);

fn tally_key(epoch: u32, cohort: Cohort) -> u32 {
    (epoch << 2) | cohort as u32
}

/// A session that ended after the last snapshot was taken.
#[derive(Clone, Copy, Debug)]
struct Ended {
    player: u32,
    cohort: Cohort,
    build: u16,
    values: [f64; 4],
    /// What the run brings the save, if it completed.
    completed: Option<RunGains>,
}

#[derive(Clone, Copy, Debug)]
struct RunGains {
    coins: i64,
    item: bool,
    exploit: i64,
    flagged: i64,
}

/// A next-day return, known at `at`.
#[derive(Clone, Copy, Debug)]
struct Return {
    at: u32,
    player: u32,
    cohort: Cohort,
    returned: bool,
}

struct Build {
    id: BuildId,
    /// Carries the release's faults (the build under test); its replacements do not.
    faulty: bool,
}

/// A rollback step attempt under way.
#[derive(Clone, Copy, Debug)]
struct Operation {
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

/// One run's world.
pub struct World<'a> {
    config: &'a WorldConfig,
    layout: BucketLayout,
    slots: Vec<Slot>,
    saves: Vec<Save>,
    arrivals: AliasTable,
    sessions_per_minute: f64,
    rng: ChaCha8Rng,
    arrivals_rng: ChaCha8Rng,
    /// The current step's arrivals: (start time, player), reused from step to step.
    arrival_buffer: Vec<(f64, u32)>,
    faults_rng: ChaCha8Rng,
    operations_rng: ChaCha8Rng,
    sabotage_rng: ChaCha8Rng,
    observation_rng: ChaCha8Rng,
    /// Whether sessions that end now reach the telemetry (false during a lost window).
    reporting: bool,
    now: Minutes,
    builds: Vec<Build>,
    flags: Flags,
    epoch: u32,
    snapshot: Telemetry,
    carries: Carries,
    ended: Vec<Ended>,
    returns: VecDeque<Return>,
    /// Effects on the old build, per segment.
    old_effects: Vec<Effect>,
    /// Effects per visible flag history index (from `first_visible`) and segment.
    view_effects: Vec<Effect>,
    /// The same, ignoring feature kills (for the feature-kill-leak sabotage).
    leak_effects: Vec<Effect>,
    first_visible: usize,
    segments: usize,
    max_refresh: u32,
    operations: Vec<Operation>,
    results: Vec<(Minutes, StepResult)>,
    facts: Operations,
    /// Release kills so far: the number of the rollback under way.
    rollbacks: u8,
}

const PLAYED_METRICS: [Metric; 4] =
    [Metric::CrashRate, Metric::LatencyMs, Metric::CoinsPerRun, Metric::SaveErrorRate];
const DAY: u32 = 1440;

/// How many sessions ahead the hot loop asks for a player's data.
const LOOKAHEAD: usize = 6;

/// Asks the CPU to bring `value`'s cache line closer: a hint with no effect on the program's
/// results, so that the random accesses to players' data overlap instead of stalling in turn.
#[inline(always)]
fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: a prefetch is only a hint: it never faults, reads nothing into the program and
        // changes no state the program can observe.
        unsafe { _mm_prefetch::<_MM_HINT_T0>((value as *const T).cast::<i8>()) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

/// Rounds a non-negative amount to the nearest whole coin. (`f64::round` is a library call on
/// baseline x86-64; for non-negative values this is the same.)
#[inline]
fn whole(x: f64) -> i64 {
    debug_assert!(x >= 0.0);
    (x + 0.5) as i64
}

/// What a veteran has in their save before the rollout, in runs' worth of coins and in items and
/// progress. New players start empty.
const VETERAN_RUNS_OF_COINS: f64 = 20.0;
const VETERAN_ITEMS: u32 = 5;
const VETERAN_PROGRESS: u32 = 40;

impl<'a> World<'a> {
    /// A fresh world at time zero with nothing exposed. `buckets` holds every player's bucket.
    pub fn new(config: &'a WorldConfig, buckets: &[Bucket], seed: RunSeed) -> World<'a> {
        let mut population_rng = seed.stream(Stream::Population);
        let Population { players, arrivals, sessions_per_minute } =
            Population::generate(config, buckets, &mut population_rng);
        let mut faults_rng = seed.stream(Stream::Faults);
        // When the exploit starts and how long players take to learn it, if the release has one.
        let exploit = config.release.faults.iter().find_map(|f| match f.kind {
            FaultKind::Exploit { spread, .. } => Some((f64::from(f.onset.0), f64::from(spread.0))),
            _ => None,
        });
        let stale_interval = config.population.stale_refresh.0.max(1);
        let refresh = config.population.flag_refresh.0.max(1);
        let mut stale_flags = Vec::with_capacity(players.len());
        let saves = players
            .iter()
            .map(|p| {
                let segment = config.segment(p.segment);
                let start = if segment.new_player {
                    Holdings::default()
                } else {
                    Holdings {
                        coins: whole(fastmath::exp(f64::from(p.log_coins)) * VETERAN_RUNS_OF_COINS),
                        items: VETERAN_ITEMS,
                        progress: VETERAN_PROGRESS,
                    }
                };
                let learns = match exploit {
                    Some((onset, mean)) => {
                        let delay: f64 = Exp1.sample(&mut faults_rng);
                        (onset + delay * mean).min(f64::from(u32::MAX - 1)) as u32
                    }
                    None => u32::MAX,
                };
                // A stale client fetches at its own phase of the long interval.
                let stale = config.population.stale_client_share > 0.0
                    && faults_rng.random::<f64>() < config.population.stale_client_share;
                let phase = stale.then(|| {
                    (((faults_rng.next_u64() >> 32) * u64::from(stale_interval)) >> 32) as u16
                });
                stale_flags.push(phase);
                Save::new(start, learns)
            })
            .collect();
        let player_count = players.len();
        let slots = players
            .into_iter()
            .zip(stale_flags)
            .map(|(p, stale_phase)| Slot {
                crash_probability: p.crash_probability,
                log_latency_ms: p.log_latency_ms,
                log_coins: p.log_coins,
                bucket: p.bucket,
                refresh_phase: stale_phase.unwrap_or(p.refresh_phase),
                segment: p.segment,
                cell: config.cell(config.segment(p.segment)) as u8,
                stale: stale_phase.is_some(),
                ..Slot::default()
            })
            .collect();
        let max_refresh = if config.population.stale_client_share > 0.0 {
            stale_interval.max(refresh)
        } else {
            refresh
        };
        World {
            config,
            layout: BucketLayout { holdback: config.holdback },
            slots,
            saves,
            arrivals,
            sessions_per_minute,
            rng: seed.stream(Stream::Sessions),
            arrivals_rng: seed.stream(Stream::Arrivals),
            arrival_buffer: Vec::new(),
            faults_rng,
            operations_rng: seed.stream(Stream::Operations),
            sabotage_rng: seed.stream(Stream::Sabotage),
            observation_rng: seed.stream(Stream::Observation),
            reporting: true,
            now: Minutes::ZERO,
            builds: vec![Build { id: BuildId::new("(old build)"), faulty: false }],
            flags: Flags::default(),
            epoch: 1,
            snapshot: Telemetry::default(),
            carries: Carries::new(config, player_count, &PLAYED_METRICS),
            ended: Vec::new(),
            returns: VecDeque::new(),
            old_effects: Vec::new(),
            view_effects: Vec::new(),
            leak_effects: Vec::new(),
            first_visible: 0,
            segments: config.segment_count(),
            max_refresh,
            operations: Vec::new(),
            results: Vec::new(),
            facts: Operations::default(),
            rollbacks: 0,
        }
    }

    pub fn now(&self) -> Minutes {
        self.now
    }

    /// The build under test, which carries the faults.
    pub fn release(&self) -> &BuildId {
        &self.config.release.build
    }

    /// The world's index of a build it has seen exposed.
    pub fn build_index(&self, id: &BuildId) -> Option<u16> {
        self.builds.iter().position(|b| &b.id == id).map(|i| i as u16)
    }

    /// The id of a build index (0 is the old build).
    pub fn build_id(&self, index: u16) -> &BuildId {
        &self.builds[usize::from(index)].id
    }

    /// A player's bucket, segment and propensities.
    pub fn player(&self, index: u32) -> Player {
        let s = &self.slots[index as usize];
        Player {
            bucket: s.bucket,
            segment: s.segment,
            refresh_phase: s.refresh_phase,
            crash_probability: s.crash_probability,
            log_latency_ms: s.log_latency_ms,
            log_coins: s.log_coins,
        }
    }

    /// Every player's save, with its truth.
    pub fn saves(&self) -> &[Save] {
        &self.saves
    }

    /// Facts about kills and rollback steps so far.
    pub fn operations(&self) -> &Operations {
        &self.facts
    }

    /// The slowest client's flag refresh interval: how long a flag change takes to reach everyone
    /// without a forced refresh.
    pub fn max_refresh(&self) -> Minutes {
        Minutes(self.max_refresh)
    }

    fn register(&mut self, id: &BuildId) -> u16 {
        if let Some(i) = self.build_index(id) {
            return i;
        }
        self.builds.push(Build { id: id.clone(), faulty: *id == self.config.release.build });
        (self.builds.len() - 1) as u16
    }

    fn set_flags(&mut self, state: FlagState) {
        self.carry_forward(state);
        self.flags.push(self.now.0, state);
        self.epoch += 1;
        if self.epoch.is_multiple_of(MARKS) {
            // The marks are about to repeat: forget them all, so no player counts as already seen.
            self.slots.iter_mut().for_each(|s| s.assigned_mark = 0);
        }
        self.snapshot = Telemetry::default();
    }

    /// Before the flags change to `next`: when the same build goes on to a wider exposure, every
    /// player carries their influence on the exposure ending into the next; otherwise the
    /// comparisons start over and nobody carries anything.
    fn carry_forward(&mut self, next: FlagState) {
        if self.carries.is_empty() {
            return;
        }
        let (_, current) = self.flags.current();
        let continues = next.build == current.build
            && next.build != NOTHING_EXPOSED.build
            && next.share >= current.share
            && next.killed_features == current.killed_features
            && next.killed_cells == current.killed_cells;
        if !continues {
            self.carries.reset();
            return;
        }
        let cohort_of_key = |key: u32| {
            [Cohort::Treatment, Cohort::Holdback]
                .into_iter()
                .find(|&c| key == tally_key(self.epoch, c))
        };
        let players = self.slots.iter().map(|slot| Totals {
            cell: usize::from(slot.cell),
            sessions: cohort_of_key(slot.key).map(|c| (c, f64::from(slot.count))),
            returns: cohort_of_key(slot.return_key).map(|c| (c, f64::from(slot.return_count))),
        });
        let live_cells = rollcage_policy::ALL_CELLS & !current.killed_cells;
        self.carries.close(&self.snapshot, live_cells, players);
    }

    /// The current exposure's assignment mark.
    fn mark(&self) -> u8 {
        (self.epoch % MARKS + 1) as u8
    }

    /// Whether sessions ending from now on reach the telemetry. The harness turns reporting off for
    /// an evaluation window the pipeline loses.
    pub fn set_reporting(&mut self, reporting: bool) {
        self.reporting = reporting;
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

    fn schedule(&mut self, step: usize, attempt: u32, start: Minutes) {
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
    fn complete_operations(&mut self) {
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

    /// Simulates until `until` and returns the telemetry snapshot then. Rollback step attempts that
    /// end by `until` complete at its end; a caller that wants to react to each at its own time
    /// advances no further than [`World::next_operation_end`].
    pub fn advance<O: SessionObserver>(&mut self, until: Minutes, observer: &mut O) -> &Telemetry {
        assert!(until > self.now, "time must move forward");
        // Sessions that ended since the last snapshot; the buffer keeps its capacity.
        let mut ended = std::mem::take(&mut self.ended);
        for n in 0..ended.len() {
            if let Some(ahead) = ended.get(n + LOOKAHEAD) {
                prefetch(&self.slots[ahead.player as usize]);
                prefetch(&self.saves[ahead.player as usize]);
                if let Some(carries) = self.carries.of(ahead.player as usize) {
                    prefetch(carries);
                }
            }
            self.record(ended[n]);
        }
        ended.clear();
        self.ended = ended;
        let mut from = self.now;
        while from < until {
            let to = self.next_boundary(from, until);
            self.prepare_effects(from);
            self.simulate(from, to, until, observer);
            from = to;
        }
        while let Some(&r) = self.returns.front() {
            if r.at > until.0 {
                break;
            }
            if let Some(ahead) = self.returns.get(LOOKAHEAD) {
                prefetch(&self.slots[ahead.player as usize]);
            }
            self.returns.pop_front();
            self.record_return(r);
        }
        self.now = until;
        self.snapshot.as_of = until;
        self.complete_operations();
        &self.snapshot
    }

    /// The telemetry snapshot of the current exposure, as of the last advance.
    pub fn telemetry(&self) -> &Telemetry {
        &self.snapshot
    }

    /// The end of the step that starts at `from`: the next whole hour, live-event edge or fault
    /// onset, or `until`.
    fn next_boundary(&self, from: Minutes, until: Minutes) -> Minutes {
        let mut next = ((from.0 / 60) + 1) * 60;
        let mut consider = |t: u32| {
            if t > from.0 && t < next {
                next = t;
            }
        };
        for e in &self.config.live_events {
            consider(e.start.0);
            consider(e.end.0);
        }
        for f in &self.config.release.faults {
            consider(f.onset.0);
        }
        Minutes(next.min(until.0))
    }

    fn effect(
        &self,
        faulty: bool,
        killed_features: u32,
        segment: u8,
        at: Minutes,
        base: (f64, f64),
    ) -> Effect {
        let features = (1u32 << self.config.release.features.len()) - 1;
        let mut e = Effect {
            crash: base.0,
            latency: base.1,
            retention: 1.0,
            features: features & !killed_features,
            ..Effect::default()
        };
        if !faulty {
            return e;
        }
        let seg = self.config.segment(segment);
        for f in &self.config.release.faults {
            if f.onset > at || !f.segment.matches(seg) || killed_features & (1 << f.feature) != 0 {
                continue;
            }
            match f.kind {
                FaultKind::CrashRate { multiplier } => e.crash *= multiplier,
                FaultKind::Latency { multiplier } => e.latency *= multiplier,
                FaultKind::Retention { multiplier } => e.retention *= multiplier,
                FaultKind::Exploit { multiplier, audited, .. } => {
                    (e.exploit, e.audited) = (multiplier, audited)
                }
                FaultKind::SaveCorruption { probability } => e.corruption = probability,
            }
            e.harmful |= f.kind.is_harmful();
        }
        e
    }

    fn prepare_effects(&mut self, at: Minutes) {
        let (mut crash, mut latency) = (1.0, 1.0);
        for e in self.config.live_events.iter().filter(|e| e.start <= at && at < e.end) {
            crash *= e.crash_multiplier;
            latency *= e.latency_multiplier;
        }
        let base = (crash, latency);
        let mut old_effects = std::mem::take(&mut self.old_effects);
        old_effects.clear();
        old_effects.extend((0..self.segments).map(|s| self.effect(false, 0, s as u8, at, base)));
        self.old_effects = old_effects;
        // A client may still see any state of the last `max_refresh` minutes.
        let oldest_fetch = i64::from(at.0) - i64::from(self.max_refresh);
        self.first_visible = self.flags.index_at(oldest_fetch);
        let (last, _) = self.flags.current();
        let leak = matches!(self.config.sabotage, Some(Sabotage::FeatureKillLeak { .. }));
        let mut view_effects = std::mem::take(&mut self.view_effects);
        let mut leak_effects = std::mem::take(&mut self.leak_effects);
        view_effects.clear();
        leak_effects.clear();
        for index in self.first_visible..=last {
            let state = self.flags.state(index);
            let faulty = self.builds[usize::from(state.build)].faulty;
            for s in 0..self.segments {
                view_effects.push(self.effect(faulty, state.killed_features, s as u8, at, base));
                if leak {
                    leak_effects.push(self.effect(faulty, 0, s as u8, at, base));
                }
            }
        }
        self.view_effects = view_effects;
        self.leak_effects = leak_effects;
    }

    /// Expected sessions per minute from `from` to `to`: the population's rate, the daily cycle,
    /// live events.
    fn arrival_rate(&self, from: Minutes, to: Minutes) -> f64 {
        let base = &self.config.baseline;
        let mid_hour = f64::from(from.0 + to.0) / 120.0;
        let cycle = 1.0
            + base.daily_cycle_amplitude
                * (2.0 * std::f64::consts::PI * (mid_hour - base.peak_hour) / 24.0).cos();
        let traffic: f64 = self
            .config
            .live_events
            .iter()
            .filter(|e| e.start <= from && from < e.end)
            .map(|e| e.traffic_multiplier)
            .product();
        self.sessions_per_minute * cycle * traffic
    }

    fn simulate<O: SessionObserver>(
        &mut self,
        from: Minutes,
        to: Minutes,
        snapshot_at: Minutes,
        observer: &mut O,
    ) {
        let rate = self.arrival_rate(from, to);
        if rate <= 0.0 {
            return;
        }
        let config = self.config;
        let base = &config.baseline;
        let refresh = config.population.flag_refresh.0.max(1);
        let stale_refresh = config.population.stale_refresh.0.max(1);
        let session_length = config.session_length.0;
        let mean_gap = 1.0 / rate;
        let (last_index, current) = self.flags.current();
        let settled_since = self.flags.current_since() + i64::from(self.max_refresh);
        let lazy = config.release.migration == Migration::Lazy;
        let backward_compatible = config.release.backward_compatible;
        let leak_platform = match config.sabotage {
            Some(Sabotage::FeatureKillLeak { platform }) => Some(platform),
            _ => None,
        };
        // The step's arrivals first, from their own stream; then the sessions, each asking for the
        // data of the player a few sessions ahead while it works on this one.
        let mut arrivals = std::mem::take(&mut self.arrival_buffer);
        arrivals.clear();
        let mut t = f64::from(from.0);
        let end = f64::from(to.0);
        loop {
            let gap: f64 = Exp1.sample(&mut self.arrivals_rng);
            t += gap * mean_gap;
            if t >= end {
                break;
            }
            arrivals.push((t, self.arrivals.sample(self.arrivals_rng.next_u64()) as u32));
        }
        for (n, &(t, index)) in arrivals.iter().enumerate() {
            if let Some(&(_, ahead)) = arrivals.get(n + LOOKAHEAD) {
                prefetch(&self.slots[ahead as usize]);
                prefetch(&self.saves[ahead as usize]);
            }
            let index = index as usize;
            let player = self.slots[index];
            let start = t as u32;
            // Only when the flags changed within the slowest client's interval does it matter when
            // this client last fetched.
            let (view_index, view) = if i64::from(start) >= settled_since {
                (last_index, current)
            } else {
                let interval = if player.stale { stale_refresh } else { refresh };
                let i = self.flags.index_at(self.flags.last_fetch(
                    start,
                    player.refresh_phase,
                    interval,
                ));
                (i, self.flags.state(i))
            };
            let holdback = self.layout.is_holdback(player.bucket);
            let serves = |state: FlagState| {
                state.build != 0
                    && state.killed_cells & (1 << player.cell) == 0
                    && (state.everyone || self.layout.is_exposed(player.bucket, state.share))
            };
            let mut build = if serves(view) { view.build } else { 0 };
            // What the server assigned, whatever the client has fetched: the count a
            // sample-ratio check compares with the assignment's promise.
            let mut assigned = serves(current);
            if let Some(bug) = config.assignment_bug
                && !view.everyone
                && bug_excludes(&bug, config.segment(player.segment), index)
            {
                build = 0;
                assigned &= current.everyone;
            }
            let mark = self.mark();
            if self.slots[index].assigned_mark != mark {
                self.slots[index].assigned_mark = mark;
                let cohort = cohort_of(assigned, holdback);
                self.snapshot.cohorts[cohort.index()].assigned[usize::from(player.cell)] += 1;
            }
            if let Some(sabotage) = config.sabotage {
                build = self.sabotaged(sabotage, player.bucket, holdback, view, build);
            }
            let cohort = cohort_of(build != 0, holdback);
            let mut event = SessionEvent {
                start: Minutes(start),
                player: index as u32,
                bucket: player.bucket,
                segment: player.segment,
                cell: player.cell,
                build,
                features: 0,
                cohort,
                harmed: false,
                crashed: false,
                load_failed: false,
                latency_ms: 0.0,
                exploit_coins: 0,
            };
            // An eligible player not yet exposed, whose save no new build ever touched, plays the old
            // build with nothing watching: no guardrail compares with them, no report counts their
            // outcomes, and nothing about their save can move a measure. Only the arrival matters.
            if cohort == Cohort::Unexposed && !self.saves[index].touched {
                observer.session(&event);
                continue;
            }
            let segment = usize::from(player.segment);
            let effect = if build == 0 {
                self.old_effects[segment]
            } else {
                let row = (view_index - self.first_visible) * self.segments + segment;
                match leak_platform {
                    Some(p) if config.segment(player.segment).platform == p => {
                        self.leak_effects[row]
                    }
                    _ => self.view_effects[row],
                }
            };
            let uniforms = self.rng.next_u64();
            let crash_draw = (uniforms >> 32) as f64 * (1.0 / 4_294_967_296.0);
            let return_draw = (uniforms as u32) as f64 * (1.0 / 4_294_967_296.0);
            let more = self.rng.next_u64();
            let item_draw = (more >> 32) as f64 * (1.0 / 4_294_967_296.0);
            let corruption_draw = (more as u32) as f64 * (1.0 / 4_294_967_296.0);
            let z_latency: f64 = StandardNormal.sample(&mut self.rng);
            let z_coins: f64 = StandardNormal.sample(&mut self.rng);

            let save = &mut self.saves[index];
            let load_failed =
                save.corrupted || (build == 0 && save.schema == 1 && !backward_compatible);
            if build != 0 {
                save.touched = true;
                if lazy {
                    save.migrate(corruption_draw < effect.corruption);
                }
            }
            let crashed =
                load_failed || crash_draw < f64::from(player.crash_probability) * effect.crash;
            let latency =
                fastmath::exp(f64::from(player.log_latency_ms) + base.latency_spread * z_latency)
                    * effect.latency;
            let (coins, exploit, flagged) = if crashed {
                (0, 0, 0)
            } else {
                let coins =
                    whole(fastmath::exp(f64::from(player.log_coins) + base.coins_spread * z_coins));
                let exploit = if effect.exploit > 0.0 && start >= save.learns_exploit {
                    whole(coins as f64 * effect.exploit)
                } else {
                    0
                };
                (coins, exploit, whole(exploit as f64 * effect.audited))
            };
            let completed = (!crashed).then_some(RunGains {
                coins,
                item: item_draw < base.item_rate,
                exploit,
                flagged,
            });
            let values = [
                if crashed { 1.0 } else { 0.0 },
                latency,
                (coins + exploit) as f64,
                if load_failed { 1.0 } else { 0.0 },
            ];
            event.features = if build != 0 { effect.features } else { 0 };
            event.harmed = build != 0 && effect.harmful;
            event.crashed = crashed;
            event.load_failed = load_failed;
            event.latency_ms = latency as f32;
            event.exploit_coins = exploit;
            observer.session(&event);
            // The session reports when it ends; its next-day return is known a day after that.
            let ends = start + session_length;
            let session = Ended { player: index as u32, cohort, build, values, completed };
            if ends < snapshot_at.0 {
                self.record(session);
            } else {
                self.ended.push(session);
            }
            if config.watched[Metric::ReturnRate.index()] {
                self.returns.push_back(Return {
                    at: ends + 1 + DAY,
                    player: index as u32,
                    cohort,
                    returned: return_draw < base.return_rate * effect.retention,
                });
            }
        }
        self.arrival_buffer = arrivals;
    }

    #[cold]
    fn sabotaged(
        &mut self,
        sabotage: Sabotage,
        bucket: Bucket,
        holdback: bool,
        view: FlagState,
        build: u16,
    ) -> u16 {
        match sabotage {
            Sabotage::LeakHoldback if holdback && view.build != 0 => view.build,
            Sabotage::Overexpose { extra }
                if !holdback
                    && view.build != 0
                    && bucket.value() < view.share.basis_points().saturating_add(extra) =>
            {
                view.build
            }
            Sabotage::Forgetful { probability } if build != 0 => {
                let u: f64 = self.sabotage_rng.random();
                if u < probability { 0 } else { build }
            }
            _ => build,
        }
    }

    #[inline]
    fn record(&mut self, e: Ended) {
        if let Some(gains) = e.completed {
            self.saves[e.player as usize].complete_run(
                gains.coins,
                gains.item,
                gains.exploit,
                gains.flagged,
            );
        }
        if !self.reporting {
            return;
        }
        self.report(&e);
        let duplicate = self.config.observation.duplicate;
        if duplicate > 0.0 && e.cohort == Cohort::Treatment {
            let u: f64 = self.observation_rng.random();
            if u < duplicate {
                self.report(&e);
            }
        }
    }

    /// Adds a session's outcome to the telemetry.
    #[inline]
    fn report(&mut self, e: &Ended) {
        let key = tally_key(self.epoch, e.cohort);
        let slot = &mut self.slots[e.player as usize];
        if slot.key != key {
            (slot.key, slot.count, slot.crashes, slot.errors, slot.sums) = (key, 0, 0, 0, [0.0; 2]);
        }
        let cohort = &mut self.snapshot.cohorts[e.cohort.index()];
        if self.config.latency_histogram {
            cohort.latency[bin_of(e.values[1])] += 1;
        }
        if e.cohort != Cohort::Unexposed && !self.carries.is_empty() {
            self.carries.observe_session(e.player as usize, usize::from(slot.cell), cohort);
        }
        let metrics = &mut cohort.cells[usize::from(slot.cell)];
        let n = slot.count;
        let totals = slot.totals();
        for (i, metric) in PLAYED_METRICS.iter().enumerate() {
            if i == 0 || self.config.watched[metric.index()] {
                metrics[metric.index()].observe(n, totals[i], e.values[i]);
            }
        }
        slot.count += 1;
        slot.crashes += e.values[0] as u32;
        slot.sums[0] += e.values[1];
        slot.sums[1] += e.values[2];
        slot.errors += e.values[3] as u32;
    }

    fn record_return(&mut self, r: Return) {
        if !self.reporting {
            return;
        }
        let key = tally_key(self.epoch, r.cohort);
        let slot = &mut self.slots[r.player as usize];
        if slot.return_key != key {
            (slot.return_key, slot.return_count, slot.returned) = (key, 0, 0);
        }
        let value = if r.returned { 1.0 } else { 0.0 };
        let cohort = &mut self.snapshot.cohorts[r.cohort.index()];
        if r.cohort != Cohort::Unexposed {
            self.carries.observe_return(r.player as usize, usize::from(slot.cell), cohort);
        }
        cohort.cells[usize::from(slot.cell)][Metric::ReturnRate.index()].observe(
            slot.return_count,
            f64::from(slot.returned),
            value,
        );
        slot.return_count += 1;
        slot.returned += u32::from(r.returned);
    }
}

/// The cohort of a session on the new build (`on_build`) or not, by a holdback player or not.
#[inline]
fn cohort_of(on_build: bool, holdback: bool) -> Cohort {
    if on_build {
        Cohort::Treatment
    } else if holdback {
        Cohort::Holdback
    } else {
        Cohort::Unexposed
    }
}

/// Whether the assignment bug leaves player `index` of `segment` out of the exposure: a fixed
/// share of the segment's players, chosen by a hash of the player's index (independent of the
/// bucket, which comes from the player's id).
fn bug_excludes(bug: &AssignmentBug, segment: crate::config::Segment, index: usize) -> bool {
    if !bug.segment.matches(segment) {
        return false;
    }
    let h = crate::seed::mix(index as u64 ^ 0x5bd1_e995);
    ((h >> 11) as f64) * (1.0 / 9_007_199_254_740_992.0) < bug.share
}

/// The chance a migration on the faulty build corrupts a save of `segment` at `at`.
fn fault_corruption(
    config: &WorldConfig,
    segment: crate::config::Segment,
    killed_features: u32,
    at: Minutes,
) -> f64 {
    config
        .release
        .faults
        .iter()
        .filter(|f| {
            f.onset <= at && f.segment.matches(segment) && killed_features & (1 << f.feature) == 0
        })
        .map(|f| match f.kind {
            FaultKind::SaveCorruption { probability } => probability,
            _ => 0.0,
        })
        .fold(0.0, f64::max)
}
