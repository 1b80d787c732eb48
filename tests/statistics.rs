//! What each guardrail method costs, on the shipped method comparison (scenarios/methods/): the
//! same rollout and seeds under each method, half the runs a null release and half a crash
//! regression. On the null runs the naive repeated z-test kills far more often than its alpha,
//! while every corrected method (Bonferroni over the planned looks, O'Brien–Fleming-like and
//! Pocock-like alpha spending, mSPRT and Wald's SPRT) stays at or below it. So does the mean
//! latency under O'Brien–Fleming spending in the latency comparison (scenarios/latency/), where
//! every player's device is slow or fast in every stage: its variance must cluster by player
//! across stages, not only within each.
//!
//! Every guardrail runs at alpha = 0.05. The false-kill rate is measured over the n null runs of a
//! batch (about 500); its Monte Carlo standard error at 0.05 is sqrt(0.05 · 0.95 / n) ≈ 0.0097.
//! Both assertions use four of those, so a correct implementation fails them with probability
//! below 1e-4 each.

use rollcage_harness::{BatchOptions, simulate};
use rollcage_report::Summary;

const ALPHA: f64 = 0.05;

/// A shipped scenario, by its path under scenarios/ without the extension.
fn method(name: &str) -> rollcage_scenario::Scenario {
    let path = format!("{}/scenarios/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    let scenario = rollcage_scenario::load(&std::fs::read_to_string(path).unwrap())
        .expect("the shipped scenario loads");
    for g in &scenario.policy.guardrails {
        let test = g.method.comparison().expect("a statistical guardrail");
        assert!((test.alpha - ALPHA).abs() < 1e-12, "{name} runs at alpha {}", test.alpha);
    }
    scenario
}

/// The false-kill rate and the number of null runs it is measured over.
fn false_kill_rate(scenario: &rollcage_scenario::Scenario) -> (f64, u64) {
    let results = simulate(scenario, 0..scenario.runs, BatchOptions::default(), &|| {});
    let summary = Summary::from_results(scenario, &results);
    assert_eq!(summary.violation_runs, 0, "{} breaks no oracle", scenario.name);
    let rate = summary.false_kill_rate.expect("half the runs are harmless");
    (rate.value, rate.trials)
}

fn tolerance(n: u64) -> f64 {
    4.0 * (ALPHA * (1.0 - ALPHA) / n as f64).sqrt()
}

#[test]
fn naive_repeated_looks_inflate_false_kills() {
    let (rate, n) = false_kill_rate(&method("methods/naive-z"));
    assert!(rate > ALPHA + tolerance(n), "naive z-test false-kill rate {rate} over {n} null runs");
}

#[test]
fn every_corrected_method_holds_its_alpha() {
    for name in [
        "methods/bonferroni",
        "methods/spending-obf",
        "methods/spending-pocock",
        "methods/msprt",
        "methods/sprt",
        "latency/mean-spending",
    ] {
        let (rate, n) = false_kill_rate(&method(name));
        assert!(rate <= ALPHA + tolerance(n), "{name}: false-kill rate {rate} over {n} null runs");
    }
}

/// Spending boundaries are built to spend their whole alpha; a variance that overstates the
/// estimate's spread, or a plan that ends before its information does, would leave most of it
/// unspent and only cost detection time. On 2000 null runs of each spending method's scenario the
/// false-kill rate must reach 70% of alpha, within four Monte Carlo standard errors at 0.7·alpha.
#[test]
fn spending_methods_use_most_of_their_alpha() {
    for name in ["methods/spending-obf", "methods/spending-pocock"] {
        let scenario = method(name).with(|s| {
            s.world.release.faults.clear();
            s.runs = 2000;
        });
        let (rate, n) = false_kill_rate(&scenario);
        let floor = 0.7 * ALPHA;
        let tolerance = 4.0 * (floor * (1.0 - floor) / n as f64).sqrt();
        assert!(rate >= floor - tolerance, "{name}: false-kill rate {rate} over {n} null runs");
        assert!(rate <= ALPHA + self::tolerance(n), "{name}: false-kill rate {rate} over {n}");
    }
}
