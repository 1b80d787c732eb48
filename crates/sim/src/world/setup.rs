//! Setting up a world: the run's population, every player's save before the rollout, and which
//! clients fetch their flags late.

use std::collections::VecDeque;

use rand::{Rng, RngExt};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp1};
use rollcage_policy::{Bucket, BucketLayout, BuildId, Minutes, Telemetry};
use rollcage_stats::fastmath;

use super::{Build, Operations, Slot, World, whole};
use crate::carry::Carries;
use crate::flags::Flags;
use crate::population::{Player, Population};
use crate::saves::{Holdings, Save};
use crate::seed::{RunSeed, Stream};
use crate::sums::{ExposureSums, Keep};
use rollcage_model::{FaultKind, WorldConfig};

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
        let (saves, stale_phases) = starting_saves(config, &players, &mut faults_rng);
        let player_count = players.len();
        let slots = slots(config, players, stale_phases);
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
            unexposed_rng: seed.stream(Stream::Unexposed),
            reporting: true,
            now: Minutes::ZERO,
            builds: vec![Build { id: BuildId::new("(old build)"), faulty: false }],
            flags: Flags::default(),
            epoch: 1,
            snapshot: Telemetry::default(),
            sums: Box::new(ExposureSums::new(Keep::of(config))),
            recorder: None,
            aside: Default::default(),
            returns_aside: Default::default(),
            carries: Carries::new(Keep::of(config), player_count),
            ended: Vec::new(),
            returns: VecDeque::new(),
            old_effects: Vec::new(),
            view_effects: Vec::new(),
            leak_effects: Vec::new(),
            first_visible: 0,
            segments: config.segment_count(),
            max_refresh: max_refresh(config),
            operations: Vec::new(),
            results: Vec::new(),
            facts: Operations::default(),
            rollbacks: 0,
        }
    }
}

/// Every player's save before the rollout, and the phase at which each player's client fetches
/// its flags if it is a stale one. Both draw from the faults stream, one player after the other:
/// when the player learns the exploit first, then whether their client is stale.
fn starting_saves(
    config: &WorldConfig,
    players: &[Player],
    faults_rng: &mut ChaCha8Rng,
) -> (Vec<Save>, Vec<Option<u16>>) {
    let exploit = exploit_learning(config);
    let stale_interval = config.population.stale_refresh.0.max(1);
    let mut stale_phases = Vec::with_capacity(players.len());
    let saves = players
        .iter()
        .map(|p| {
            let start = starting_holdings(config, p);
            let learns = learns_exploit(exploit, faults_rng);
            stale_phases.push(stale_phase(config, stale_interval, faults_rng));
            Save::new(start, learns)
        })
        .collect();
    (saves, stale_phases)
}

/// What a player has in their save before the rollout: a veteran some runs' worth of coins, items
/// and progress, a new player nothing.
#[inline]
fn starting_holdings(config: &WorldConfig, p: &Player) -> Holdings {
    if config.segment(p.segment).new_player {
        Holdings::default()
    } else {
        Holdings {
            coins: whole(fastmath::exp(f64::from(p.log_coins)) * VETERAN_RUNS_OF_COINS),
            items: VETERAN_ITEMS,
            progress: VETERAN_PROGRESS,
        }
    }
}

/// When the exploit starts and how long players take to learn it on average (its onset and
/// spread, in minutes), if the release has one.
fn exploit_learning(config: &WorldConfig) -> Option<(f64, f64)> {
    config.release.faults.iter().find_map(|f| match f.kind {
        FaultKind::Exploit { spread, .. } => Some((f64::from(f.onset.0), f64::from(spread.0))),
        FaultKind::CrashRate { .. }
        | FaultKind::Latency { .. }
        | FaultKind::SaveCorruption { .. }
        | FaultKind::Retention { .. } => None,
    })
}

/// When a player learns the exploit: an exponential delay after its onset, or never
/// (`u32::MAX`) if the release has none.
#[inline]
fn learns_exploit(exploit: Option<(f64, f64)>, faults_rng: &mut ChaCha8Rng) -> u32 {
    match exploit {
        Some((onset, mean)) => {
            let delay: f64 = Exp1.sample(faults_rng);
            (onset + delay * mean).min(f64::from(u32::MAX - 1)) as u32
        }
        None => u32::MAX,
    }
}

/// The phase at which a stale client fetches its flags, or `None` for a client that fetches at
/// the usual interval. A stale client fetches at its own phase of the long interval.
#[inline]
fn stale_phase(
    config: &WorldConfig,
    stale_interval: u32,
    faults_rng: &mut ChaCha8Rng,
) -> Option<u16> {
    let stale = config.population.stale_client_share > 0.0
        && faults_rng.random::<f64>() < config.population.stale_client_share;
    stale.then(|| (((faults_rng.next_u64() >> 32) * u64::from(stale_interval)) >> 32) as u16)
}

/// Every player's hot-loop slot: who they are, and their client's flag fetching.
fn slots(config: &WorldConfig, players: Vec<Player>, stale_phases: Vec<Option<u16>>) -> Vec<Slot> {
    players
        .into_iter()
        .zip(stale_phases)
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
        .collect()
}

/// The slowest client's flag refresh interval: a stale client's, if there are any.
fn max_refresh(config: &WorldConfig) -> u32 {
    let stale_interval = config.population.stale_refresh.0.max(1);
    let refresh = config.population.flag_refresh.0.max(1);
    if config.population.stale_client_share > 0.0 { stale_interval.max(refresh) } else { refresh }
}
