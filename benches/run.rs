//! One whole run, as a batch runs it: the world, the policy and the oracles together.
//!
//! `cargo bench --bench run` times run 0 of the shipped null release (a full 75-hour rollout of
//! 20000 players, about 190000 sessions) and of the severe crash regression (killed early), and
//! reports sessions per second on one core.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rollcage_harness::{RunOptions, run};

fn load(name: &str) -> rollcage_scenario::Scenario {
    let path = format!("{}/scenarios/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    rollcage_scenario::load(&std::fs::read_to_string(path).unwrap())
        .expect("a shipped scenario loads")
}

fn whole_run(c: &mut Criterion) {
    let mut group = c.benchmark_group("run");
    group.sample_size(20);
    for name in ["null-release", "severe-crash"] {
        let scenario = load(name);
        let sessions = run(&scenario, 0, RunOptions::default()).sessions;
        group.throughput(Throughput::Elements(sessions));
        group.bench_function(format!("{name} run 0, sessions"), |b| {
            b.iter(|| run(&scenario, 0, RunOptions::default()))
        });
    }
    group.finish();
}

criterion_group!(benches, whole_run);
criterion_main!(benches);
