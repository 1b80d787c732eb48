//! A small scenario for the harness's tests: 4000 players, three short stages, a 5% holdback.

use rollcage_harness::{Expectations, Scenario};
use rollcage_policy::{
    Direction, Guardrail, Margin, Method, Metric, Minutes, PolicyConfig, Severity, Share, Stage,
    VarianceModel,
};
use rollcage_sim::{PopulationConfig, WorldConfig};

pub fn share(bp: u16) -> Share {
    Share::from_basis_points(bp).unwrap()
}

pub fn scenario() -> Scenario {
    let stage = |bp, hours| Stage {
        share: share(bp),
        min_duration: Minutes::from_hours(hours),
        min_sample: 50,
        approval: false,
    };
    Scenario {
        name: "test".into(),
        description: String::new(),
        seed: 7,
        runs: 20,
        world: WorldConfig {
            population: PopulationConfig {
                platforms: vec![("ios".into(), 0.5), ("android".into(), 0.5)],
                regions: vec![("na".into(), 1.0)],
                ..rollcage_sim::testing::world(4_000).population
            },
            ..rollcage_sim::testing::world(4_000)
        },
        policy: PolicyConfig {
            stages: vec![stage(500, 6), stage(2_500, 6), stage(9_500, 6)],
            holdback: share(500),
            holdback_period: Minutes::from_hours(6),
            guardrails: vec![Guardrail {
                name: "crash-rate".into(),
                metric: Metric::CrashRate,
                direction: Direction::Increase,
                method: Method::Msprt {
                    alpha: 0.05,
                    margin: Margin::Relative(0.0),
                    variance: VarianceModel::Clustered,
                    mixture_sd: 0.01,
                },
                min_sample: 100,
                severity: Severity::Rollback,
                breaches_required: 1,
            }],
            resume_stage: 0,
        },
        evaluation_interval: Minutes(60),
        max_duration: Minutes::from_hours(48),
        kill_propagation_bound: Minutes(15),
        commands: vec![],
        expect: Expectations::default(),
    }
}
