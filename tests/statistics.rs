//! What repeated looks cost: on the shipped null release (a good build), the naive repeated
//! z-test kills far more often than its nominal alpha, while mSPRT stays at or below it.
//!
//! The null scenario's two comparison guardrails each run at alpha = 0.025, so the policy's
//! nominal false-kill rate is at most 0.05 (Bonferroni). Over n = 1000 runs a rate's Monte Carlo
//! standard error at 0.05 is sqrt(0.05 · 0.95 / 1000) = 0.0069; both assertions use four of those,
//! so a correct implementation fails them with probability below 1e-4.

use rollcage_harness::{BatchOptions, Summary, simulate};
use rollcage_policy::Method;

const NOMINAL_ALPHA: f64 = 0.05;

fn null_release() -> rollcage_scenario::Scenario {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/null-release.toml");
    rollcage_scenario::load(&std::fs::read_to_string(path).unwrap())
        .expect("the shipped scenario loads")
}

fn false_kill_rate(scenario: &rollcage_scenario::Scenario) -> (f64, u64) {
    let buckets = scenario.buckets();
    let results = simulate(scenario, &buckets, 0..scenario.runs, BatchOptions::default(), &|| {});
    let summary = Summary::from_results(scenario, &results);
    assert_eq!(summary.violation_runs, 0, "the null scenario breaks no oracle");
    let rate = summary.false_kill_rate.expect("a null release has harmless runs");
    (rate.value, rate.trials)
}

#[test]
fn naive_repeated_looks_inflate_false_kills_while_msprt_holds_alpha() {
    let msprt = null_release();
    let comparison_alphas: f64 = msprt
        .policy
        .guardrails
        .iter()
        .filter_map(|g| match g.method {
            Method::Msprt { test, .. } => Some(test.alpha),
            _ => None,
        })
        .sum();
    assert!(
        (comparison_alphas - NOMINAL_ALPHA).abs() < 1e-12,
        "the scenario's alphas sum to {comparison_alphas}"
    );

    let mut naive = msprt.clone();
    for g in &mut naive.policy.guardrails {
        if let Method::Msprt { test, .. } = g.method {
            g.method = Method::NaiveZ(test);
        }
    }

    let (msprt_rate, n) = false_kill_rate(&msprt);
    let (naive_rate, _) = false_kill_rate(&naive);
    let se = (NOMINAL_ALPHA * (1.0 - NOMINAL_ALPHA) / n as f64).sqrt();
    assert!(
        naive_rate > NOMINAL_ALPHA + 4.0 * se,
        "naive z-test false-kill rate {naive_rate} is not clearly above {NOMINAL_ALPHA}"
    );
    assert!(
        msprt_rate <= NOMINAL_ALPHA + 4.0 * se,
        "mSPRT false-kill rate {msprt_rate} exceeds {NOMINAL_ALPHA}"
    );
}
