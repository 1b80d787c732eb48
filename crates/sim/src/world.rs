//! One run's world: sessions arrive, each is played on the build its client's flags say, the
//! faults of that build act, and the outcomes flow into telemetry.
//!
//! Time advances in calls to [`World::advance`], one evaluation window at a time. Inside a window
//! the world steps at most an hour at a time (and at every live-event or fault boundary), so the
//! daily traffic cycle and the events are followed closely. Session arrivals are a Poisson process
//! over the whole population, each arrival going to a player drawn in proportion to their
//! activity: the same as every player having their own Poisson process, at a few random draws
//! per session.
//!
//! Flags: the server's flag state changes at once when the policy acts ([`World::apply`]); a
//! client sees a change at its next flag fetch, every `flag_refresh` minutes at its own phase. A
//! session's build is decided at its start from the flags as its client last fetched them.
//!
//! Telemetry: a session reports when it ends, 12 minutes after it starts; its next-day return is
//! known a day after that. Every report lands in the snapshot of the exposure that is current when
//! it arrives. Snapshots are cumulative since the current exposure began and carry per-player
//! sums so the policy can estimate clustered variances.

use std::collections::VecDeque;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp1, StandardNormal};
use rollcage_policy::{
    Action, Bucket, BucketLayout, BuildId, Cohort, Metric, Minutes, Share, Telemetry,
};

use crate::config::{FaultKind, Sabotage, WorldConfig};
use crate::fastmath;
use crate::population::{AliasTable, Player, Population};
use crate::seed::{RunSeed, Stream};

/// What the truth records of one session, for the harness's oracles and outcomes. The policy
/// never sees these.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SessionEvent {
    pub start: Minutes,
    pub player: u32,
    pub bucket: Bucket,
    /// The world's index of the build played; 0 is the old build.
    pub build: u16,
    pub cohort: Cohort,
    /// The session was played on a build whose fault was acting on this player.
    pub harmed: bool,
    pub crashed: bool,
    pub latency_ms: f32,
}

/// Sees every session as it starts, in time order.
pub trait SessionObserver {
    fn session(&mut self, event: &SessionEvent);
}

impl SessionObserver for () {
    #[inline]
    fn session(&mut self, _: &SessionEvent) {}
}

/// The server-side flag state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FlagState {
    /// The world's index of the exposed build; 0 when none is.
    build: u16,
    share: Share,
    /// Released: the holdback receives the build too.
    everyone: bool,
}

const NOTHING_EXPOSED: FlagState = FlagState { build: 0, share: Share::ZERO, everyone: false };

/// What a (build, segment) pair does to a session during the current step.
#[derive(Clone, Copy, Debug, Default)]
struct Effect {
    crash: f64,
    latency: f64,
    harmful: bool,
}

/// Everything the hot loop touches for one player, in one cache line: who the player is, and
/// their running totals in the current exposure for the per-player telemetry sums. A tally's
/// `key` packs the exposure epoch and the cohort, so a stale tally is recognised in one compare.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C, align(64))]
struct Slot {
    sums: [f64; 3],
    crash_probability: f32,
    log_latency_ms: f32,
    log_coins: f32,
    key: u32,
    count: u32,
    return_key: u32,
    return_count: u32,
    returned: u32,
    bucket: Bucket,
    refresh_phase: u16,
    segment: u8,
}

impl Slot {
    fn new(p: Player) -> Slot {
        Slot {
            crash_probability: p.crash_probability,
            log_latency_ms: p.log_latency_ms,
            log_coins: p.log_coins,
            bucket: p.bucket,
            refresh_phase: p.refresh_phase,
            segment: p.segment,
            ..Slot::default()
        }
    }

    fn player(&self) -> Player {
        Player {
            bucket: self.bucket,
            segment: self.segment,
            refresh_phase: self.refresh_phase,
            crash_probability: self.crash_probability,
            log_latency_ms: self.log_latency_ms,
            log_coins: self.log_coins,
        }
    }
}

const _: () = assert!(std::mem::size_of::<Slot>() == 64);

fn tally_key(epoch: u32, cohort: Cohort) -> u32 {
    (epoch << 2) | cohort as u32
}

/// A session that ended after the last snapshot was taken.
#[derive(Clone, Copy, Debug)]
struct Ended {
    player: u32,
    cohort: Cohort,
    values: [f64; 3],
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

/// One run's world.
pub struct World<'a> {
    config: &'a WorldConfig,
    layout: BucketLayout,
    slots: Vec<Slot>,
    arrivals: AliasTable,
    sessions_per_minute: f64,
    rng: ChaCha8Rng,
    sabotage_rng: ChaCha8Rng,
    now: Minutes,
    builds: Vec<Build>,
    flags: Vec<(u32, FlagState)>,
    epoch: u32,
    snapshot: Telemetry,
    ended: Vec<Ended>,
    returns: VecDeque<Return>,
    effects: Vec<Effect>,
    segments: usize,
}

const PLAYED_METRICS: [Metric; 3] = [Metric::CrashRate, Metric::LatencyMs, Metric::CoinsPerRun];
const DAY: u32 = 1440;

impl<'a> World<'a> {
    /// A fresh world at time zero with nothing exposed. `buckets` holds every player's bucket.
    pub fn new(config: &'a WorldConfig, buckets: &[Bucket], seed: RunSeed) -> World<'a> {
        let mut population_rng = seed.stream(Stream::Population);
        let Population { players, arrivals, sessions_per_minute } =
            Population::generate(config, buckets, &mut population_rng);
        World {
            config,
            layout: BucketLayout { holdback: config.holdback },
            slots: players.into_iter().map(Slot::new).collect(),
            arrivals,
            sessions_per_minute,
            rng: seed.stream(Stream::Sessions),
            sabotage_rng: seed.stream(Stream::Sabotage),
            now: Minutes::ZERO,
            builds: vec![Build { id: BuildId::new("(old build)"), faulty: false }],
            flags: Vec::new(),
            epoch: 1,
            snapshot: Telemetry::default(),
            ended: Vec::new(),
            returns: VecDeque::new(),
            effects: Vec::new(),
            segments: config.segment_count(),
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

    /// A player's segment index and bucket, for reports.
    pub fn player(&self, index: u32) -> Player {
        self.slots[index as usize].player()
    }

    fn register(&mut self, id: &BuildId) -> u16 {
        if let Some(i) = self.build_index(id) {
            return i;
        }
        self.builds.push(Build { id: id.clone(), faulty: *id == self.config.release.build });
        (self.builds.len() - 1) as u16
    }

    /// Applies a policy action to the server's flags, now.
    pub fn apply(&mut self, action: &Action) {
        let state = match action {
            Action::Expose { build, share } => {
                FlagState { build: self.register(build), share: *share, everyone: false }
            }
            Action::Kill { .. } => {
                if self.config.sabotage == Some(Sabotage::IgnoreKill) {
                    return;
                }
                NOTHING_EXPOSED
            }
            Action::Release { build } => {
                FlagState { build: self.register(build), share: Share::ALL, everyone: true }
            }
        };
        self.flags.push((self.now.0, state));
        self.epoch += 1;
        self.snapshot = Telemetry::default();
    }

    /// The flag state as a client that last fetched at `fetched` sees it.
    #[inline]
    fn flags_at(&self, fetched: i64) -> FlagState {
        match self.flags.last() {
            Some(&(since, state)) if i64::from(since) <= fetched => state,
            _ => {
                let i = self.flags.partition_point(|&(t, _)| i64::from(t) <= fetched);
                if i == 0 { NOTHING_EXPOSED } else { self.flags[i - 1].1 }
            }
        }
    }

    /// Simulates until `until` and returns the telemetry snapshot the policy receives then.
    pub fn advance<O: SessionObserver>(&mut self, until: Minutes, observer: &mut O) -> Telemetry {
        assert!(until > self.now, "time must move forward");
        for e in std::mem::take(&mut self.ended) {
            self.record(e.player, e.cohort, e.values);
        }
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
            self.returns.pop_front();
            self.record_return(r);
        }
        self.now = until;
        self.snapshot
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

    fn prepare_effects(&mut self, at: Minutes) {
        let (mut crash, mut latency) = (1.0, 1.0);
        for e in self.config.live_events.iter().filter(|e| e.start <= at && at < e.end) {
            crash *= e.crash_multiplier;
            latency *= e.latency_multiplier;
        }
        self.effects.clear();
        for build in &self.builds {
            for s in 0..self.segments {
                let mut effect = Effect { crash, latency, harmful: false };
                if build.faulty {
                    let segment = self.config.segment(s as u8);
                    for f in &self.config.release.faults {
                        if f.onset <= at && f.segment.matches(segment) {
                            match f.kind {
                                FaultKind::CrashRate { multiplier } => effect.crash *= multiplier,
                                FaultKind::Latency { multiplier } => effect.latency *= multiplier,
                            }
                            effect.harmful |= f.kind.is_harmful();
                        }
                    }
                }
                self.effects.push(effect);
            }
        }
    }

    /// Expected sessions per minute at `at`: the population's rate, the daily cycle, live events.
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
        let base = &self.config.baseline;
        let refresh = i64::from(self.config.population.flag_refresh.0.max(1));
        let session_length = self.config.session_length.0;
        let mean_gap = 1.0 / rate;
        let (latency_sigma, coins_sigma) = (base.latency_spread, base.coins_spread);
        let return_rate = base.return_rate;
        let (last_change, current) =
            self.flags.last().map_or((i64::MIN / 2, NOTHING_EXPOSED), |&(t, f)| (i64::from(t), f));
        let mut t = f64::from(from.0);
        let end = f64::from(to.0);
        loop {
            let gap: f64 = Exp1.sample(&mut self.rng);
            t += gap * mean_gap;
            if t >= end {
                break;
            }
            let index = self.arrivals.sample(self.rng.next_u64());
            let player = self.slots[index];
            let start = t as u32;
            // Clients fetch flags every `refresh` minutes; only when the flags changed within the
            // last interval does it matter when this one last fetched.
            let view = if i64::from(start) - refresh >= last_change {
                current
            } else {
                let phase = i64::from(player.refresh_phase);
                self.flags_at(i64::from(start) - (i64::from(start) - phase).rem_euclid(refresh))
            };
            let holdback = self.layout.is_holdback(player.bucket);
            let mut build = if view.build != 0
                && (view.everyone || self.layout.is_exposed(player.bucket, view.share))
            {
                view.build
            } else {
                0
            };
            if let Some(sabotage) = self.config.sabotage {
                build = self.sabotaged(sabotage, player.bucket, holdback, view, build);
            }
            let cohort = if build != 0 {
                Cohort::Treatment
            } else if holdback {
                Cohort::Holdback
            } else {
                Cohort::Unexposed
            };
            let effect =
                self.effects[usize::from(build) * self.segments + usize::from(player.segment)];
            let uniforms = self.rng.next_u64();
            let crash_draw = (uniforms >> 32) as f64 * (1.0 / 4_294_967_296.0);
            let return_draw = (uniforms as u32) as f64 * (1.0 / 4_294_967_296.0);
            let z_latency: f64 = StandardNormal.sample(&mut self.rng);
            let z_coins: f64 = StandardNormal.sample(&mut self.rng);
            let crashed = crash_draw < f64::from(player.crash_probability) * effect.crash;
            let latency =
                fastmath::exp(f64::from(player.log_latency_ms) + latency_sigma * z_latency)
                    * effect.latency;
            let coins = fastmath::exp(f64::from(player.log_coins) + coins_sigma * z_coins);
            let values = [if crashed { 1.0 } else { 0.0 }, latency, coins];
            observer.session(&SessionEvent {
                start: Minutes(start),
                player: index as u32,
                bucket: player.bucket,
                build,
                cohort,
                harmed: build != 0 && effect.harmful,
                crashed,
                latency_ms: latency as f32,
            });
            // The session reports when it ends; its next-day return is known a day after that.
            let ends = start + session_length;
            if ends < snapshot_at.0 {
                self.record(index as u32, cohort, values);
            } else {
                self.ended.push(Ended { player: index as u32, cohort, values });
            }
            self.returns.push_back(Return {
                at: ends + 1 + DAY,
                player: index as u32,
                cohort,
                returned: return_draw < return_rate,
            });
        }
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
                let u: f64 = rand::RngExt::random(&mut self.sabotage_rng);
                if u < probability { 0 } else { build }
            }
            _ => build,
        }
    }

    #[inline]
    fn record(&mut self, player: u32, cohort: Cohort, values: [f64; 3]) {
        let key = tally_key(self.epoch, cohort);
        let slot = &mut self.slots[player as usize];
        if slot.key != key {
            (slot.key, slot.count, slot.sums) = (key, 0, [0.0; 3]);
        }
        let metrics = &mut self.snapshot.cohorts[cohort.index()].metrics;
        for (i, metric) in PLAYED_METRICS.iter().enumerate() {
            metrics[metric.index()].observe(slot.count, slot.sums[i], values[i]);
            slot.sums[i] += values[i];
        }
        slot.count += 1;
    }

    fn record_return(&mut self, r: Return) {
        let key = tally_key(self.epoch, r.cohort);
        let slot = &mut self.slots[r.player as usize];
        if slot.return_key != key {
            (slot.return_key, slot.return_count, slot.returned) = (key, 0, 0);
        }
        let value = if r.returned { 1.0 } else { 0.0 };
        self.snapshot.cohorts[r.cohort.index()].metrics[Metric::ReturnRate.index()].observe(
            slot.return_count,
            f64::from(slot.returned),
            value,
        );
        slot.return_count += 1;
        slot.returned += u32::from(r.returned);
    }
}
