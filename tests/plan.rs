//! `rollcage plan` predicts what the simulation then measures: the chance that the planned
//! schedule catches a harm is the detection rate of a batch whose every run carries that harm.
//!
//! The batch's detection rate over n runs has Monte Carlo standard error √(p(1 − p)/n); the plan's
//! power is a mean over pilot runs with its own standard error. The test allows four standard
//! errors of their difference, so a correct planner fails it with probability below 1e-4. A
//! planner that used the session variance, the naive boundary or the wrong margin would be off by
//! far more (the naive z boundary alone predicts 0.95 here, against about 0.5).

use rollcage_harness::plan::{Request, plan};
use rollcage_harness::{BatchOptions, simulate};
use rollcage_report::Summary;

fn load(path: &str) -> rollcage_scenario::Scenario {
    let path = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
    rollcage_scenario::load(&std::fs::read_to_string(path).unwrap()).expect("the input loads")
}

#[test]
fn planned_power_is_the_simulated_detection_rate() {
    let scenario = load("tests/inputs/plan/msprt-x1.25.toml");
    let request = Request { effect: 0.25, power: 0.8, pilots: 40 };
    let planned = plan(&scenario, request).expect("a plan");
    assert_eq!(planned.guardrails.len(), 1);
    let last = planned.guardrails[0].stages.last().unwrap().clone();

    let results = simulate(&scenario, 0..scenario.runs, BatchOptions::default(), &|| {});
    let summary = Summary::from_results(&scenario, &results);
    let detected = summary.detection_rate.expect("every run is harmful");
    let p = detected.value;
    let se = (p * (1.0 - p) / detected.trials as f64 + last.power_se.powi(2)).sqrt();
    assert!(
        (last.power - p).abs() <= 4.0 * se,
        "planned power {:.3} ± {:.3}, simulated detection {p:.3} over {} runs",
        last.power,
        last.power_se,
        detected.trials
    );
    // And the power grows stage by stage, from almost nothing at a 2% canary.
    let powers: Vec<f64> = planned.guardrails[0].stages.iter().map(|s| s.power).collect();
    assert!(powers.windows(2).all(|w| w[0] <= w[1]) && powers[0] < 0.05, "{powers:?}");
}

#[test]
fn a_harm_within_the_margin_cannot_be_planned_for() {
    let scenario = load("scenarios/subtle-crash.toml");
    let request = Request { effect: 0.05, power: 0.8, pilots: 2 };
    let planned = plan(&scenario, request).expect("a plan");
    let crash = planned.guardrails.iter().find(|g| g.guardrail == 1).expect("the msprt guardrail");
    assert!(crash.harm < 0.0, "5% is within the 10% margin: {}", crash.harm);
    assert!(crash.stages.iter().all(|s| s.needs.is_none()));
}
