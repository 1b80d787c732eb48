//! A small scenario for the harness's tests: 4000 players, three short stages, a 5% holdback.

// Shared by several test binaries, each of which uses only part of it.
#![allow(dead_code)]

use rollcage_harness::{Definition, Expectations, Scenario};
use rollcage_policy::{
    Comparison, Direction, Guardrail, Margin, Method, Metric, Minutes, PlannedStep, PolicyConfig,
    Scope, Severity, Share, Stage, StepKind, VarianceModel,
};
use rollcage_sim::{PopulationConfig, WorldConfig};

pub fn share(bp: u16) -> Share {
    Share::from_basis_points(bp).unwrap()
}

pub fn scenario() -> Scenario {
    Scenario::new(definition())
}

/// The definition of [`scenario`], for tests that change it.
pub fn definition() -> Definition {
    let stage = |bp, hours| Stage {
        share: share(bp),
        min_duration: Minutes::from_hours(hours),
        min_sample: 50,
        approval: false,
    };
    Definition {
        name: "test".into(),
        description: String::new(),
        compare: None,
        seed: 7,
        runs: 20,
        world: WorldConfig {
            population: PopulationConfig {
                platforms: vec![("ios".into(), 0.5), ("android".into(), 0.5)],
                regions: vec![("na".into(), 1.0)],
                ..rollcage_model::testing::world(4_000).population
            },
            ..rollcage_model::testing::world(4_000)
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
                    test: Comparison {
                        alpha: 0.05,
                        margin: Margin::Relative(0.0),
                        variance: VarianceModel::Clustered,
                        statistic: rollcage_policy::Statistic::Mean,
                    },
                    mixture_sd: 0.01,
                },
                min_sample: 100,
                severity: Severity::Rollback,
                breaches_required: 1,
                scope: Scope::Release,
                inconclusive_limit: 4,
            }],
            resume_stage: 0,
            rollback: vec![PlannedStep {
                kind: StepKind::StopExposure,
                retries: 0,
                backoff: Minutes(0),
            }],
            features: vec!["exchange-v2".into()],
            cells: vec!["all".into()],
            cell_shares: vec![1.0],
            multiplicity: rollcage_policy::Multiplicity::None,
            srm: Some(rollcage_policy::SrmCheck { alpha: 0.001, looks: 30 }),
        },
        evaluation_interval: Minutes(60),
        max_duration: Minutes::from_hours(48),
        commands: vec![],
        expect: Expectations::default(),
    }
}

/// The rollback plan of the economy scenario, with one restore strategy.
pub fn plan(strategy: rollcage_policy::Restore) -> Vec<PlannedStep> {
    use rollcage_policy::StepKind::*;
    [StopExposure, ReturnPlayers, RevertMigration, RestorePlayers(strategy)]
        .into_iter()
        .map(|kind| PlannedStep { kind, retries: 6, backoff: Minutes(5) })
        .collect()
}

/// A release with an exchange exploit and save corruption, killed by an operator at 10h and
/// rolled back with a plan whose data steps are flaky and half-apply when they fail.
pub fn economy_scenario(strategy: rollcage_policy::Restore) -> Definition {
    use rollcage_policy::{Command, KillScope};
    use rollcage_sim::{Fault, FaultKind, Migration, SegmentFilter, StepTruth};
    let mut s = definition();
    s.world.release.migration = Migration::Lazy;
    s.world.release.faults = vec![
        Fault {
            feature: 0,
            kind: FaultKind::Exploit {
                multiplier: 3.0,
                spread: Minutes::from_hours(4),
                audited: 0.8,
            },
            onset: Minutes(0),
            segment: SegmentFilter::default(),
        },
        Fault {
            feature: 0,
            kind: FaultKind::SaveCorruption { probability: 0.05 },
            onset: Minutes(0),
            segment: SegmentFilter::default(),
        },
    ];
    s.policy.guardrails.clear();
    s.policy.rollback = plan(strategy);
    let truth = |kind, failure_probability, half_applied_probability| StepTruth {
        kind,
        duration: Minutes(15),
        failure_probability,
        half_applied_probability,
    };
    s.world.rollback = s.policy.rollback.iter().map(|p| truth(p.kind, 0.0, 0.0)).collect();
    s.world.rollback[2] = truth(s.policy.rollback[2].kind, 0.4, 0.5);
    s.world.rollback[3] = truth(s.policy.rollback[3].kind, 0.5, 0.9);
    s.commands = vec![crate::common::kill_at(
        10,
        Command::Kill { note: "exploit reported".into(), scope: KillScope::Release },
    )];
    s
}

pub fn kill_at(
    hours: u32,
    command: rollcage_policy::Command,
) -> rollcage_harness::ScheduledCommand {
    rollcage_harness::ScheduledCommand { at: Minutes::from_hours(hours), command }
}
