//! A small scenario for the harness's tests: 4000 players, three short stages, a 5% holdback.

use rollcage_harness::{Expectations, Scenario};
use rollcage_policy::{
    BuildId, Direction, Guardrail, Margin, Method, Metric, Minutes, PolicyConfig, Severity, Share,
    Stage, VarianceModel,
};
use rollcage_sim::{Baseline, HashScheme, PopulationConfig, Release, WorldConfig};

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
                players: 4_000,
                runs_per_day: 4.0,
                activity_spread: 0.8,
                crash_proneness_spread: 0.5,
                latency_spread: 0.25,
                skill_spread: 0.3,
                new_player_share: 0.2,
                platforms: vec![("ios".into(), 0.5), ("android".into(), 0.5)],
                regions: vec![("na".into(), 1.0)],
                flag_refresh: Minutes(15),
            },
            baseline: Baseline {
                crash_rate: 0.02,
                new_player_crash_multiplier: 1.5,
                latency_ms_median: 80.0,
                latency_spread: 0.35,
                coins_per_run: 120.0,
                coins_spread: 0.5,
                return_rate: 0.6,
                daily_cycle_amplitude: 0.5,
                peak_hour: 20.0,
            },
            release: Release {
                build: BuildId::new("1.4.0"),
                features: vec!["exchange-v2".into()],
                faults: vec![],
            },
            live_events: vec![],
            assignment: HashScheme::UnleashMurmur3 { group: "test".into() },
            holdback: share(500),
            session_length: Minutes(12),
            sabotage: None,
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
