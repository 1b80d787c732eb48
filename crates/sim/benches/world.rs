//! The simulator's figure of merit: player-sessions per second on one core.
//!
//! `cargo bench -p rollcage-sim --bench world` simulates a day of a 20000-player population with
//! half of it on the new build, and reports sessions per second.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rollcage_model::hash::buckets;
use rollcage_policy::{Action, BuildId, Minutes, Share};
use rollcage_sim::{
    Fault, FaultKind, RunSeed, SegmentFilter, SessionEvent, SessionObserver, World, WorldConfig,
};

fn config() -> WorldConfig {
    let mut config = rollcage_model::testing::world(20_000);
    config.population.runs_per_day = 3.0;
    config.release.faults.push(Fault {
        feature: 0,
        kind: FaultKind::CrashRate { multiplier: 2.0 },
        onset: Minutes(0),
        segment: SegmentFilter::default(),
    });
    config
}

/// Counts sessions, as the harness's oracles would look at each.
struct Count(u64);

impl SessionObserver for Count {
    fn session(&mut self, e: &SessionEvent) {
        self.0 += u64::from(e.build) + 1;
    }
}

fn fresh_world<'a>(config: &'a WorldConfig, buckets: &[rollcage_policy::Bucket]) -> World<'a> {
    let mut world = World::new(config, buckets, RunSeed(9));
    world.apply(&Action::Expose {
        build: BuildId::new("1.4.0"),
        share: Share::from_basis_points(5_000).unwrap(),
    });
    world
}

/// A day in hourly evaluation windows.
fn one_day(mut world: World<'_>) -> u64 {
    let mut count = Count(0);
    for h in 1..=24 {
        std::hint::black_box(world.advance(Minutes(h * 60), &mut count));
    }
    count.0
}

fn sessions_per_second(c: &mut Criterion) {
    let config = config();
    let buckets = buckets(&config.assignment, config.population.players);
    // Sessions in the day, counted from the same seeded day the benchmark repeats.
    let mut world = World::new(&config, &buckets, RunSeed(9));
    let mut count = 0u64;
    struct Each<'a>(&'a mut u64);
    impl SessionObserver for Each<'_> {
        fn session(&mut self, _: &SessionEvent) {
            *self.0 += 1;
        }
    }
    world.advance(Minutes(24 * 60), &mut Each(&mut count));
    let mut group = c.benchmark_group("world");
    group.throughput(Throughput::Elements(count));
    group.sample_size(20);
    group.bench_function("one day, 20000 players, sessions", |b| {
        b.iter_batched(|| fresh_world(&config, &buckets), one_day, criterion::BatchSize::LargeInput)
    });
    group.throughput(Throughput::Elements(u64::from(config.population.players)));
    group.bench_function("population of 20000 players, players", |b| {
        b.iter(|| fresh_world(&config, &buckets))
    });
    group.finish();
}

criterion_group!(benches, sessions_per_second);
criterion_main!(benches);
