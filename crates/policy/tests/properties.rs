//! Property tests: whatever telemetry arrives, whatever operators do and however rollback steps
//! fail, the policy never exposes the holdback, never shrinks a build's exposure except by killing
//! it, never brings a killed build back, and every rollback ends in RolledBack (only after every
//! step succeeded) or an explicit RollbackFailed.

use proptest::prelude::*;
use rollcage_policy::{
    Action, BuildId, Cohort, Command, Comparison, Controller, Direction, EventKind, Guardrail,
    KillScope, Margin, Method, Metric, Minutes, Multiplicity, Phase, PlannedStep, Policy,
    PolicyConfig, Restore, Scope, Severity, Share, Spending, SrmCheck, Stage, StepKind, StepResult,
    Telemetry, VarianceModel,
};
use rollcage_stats::Moments;

/// A cohort of `n` one-session players, `k` of whom crashed.
fn binary(n: u64, k: u64) -> Moments {
    let k = k.min(n) as f64;
    Moments {
        players: n,
        count: n,
        sum: k,
        sum_sq: k,
        player_count_sq: n as f64,
        player_sum_sq: k,
        player_cross: k,
        player_count_cube: n as f64,
        player_count_fourth: n as f64,
        player_mean_sq: k,
    }
}

#[derive(Clone, Debug)]
enum Input {
    Observe {
        advance: u32,
        treatment: [(u64, u64); 2],
        holdback: (u64, u64),
    },
    Command {
        advance: u32,
        command: Command,
    },
    /// The running rollback step's attempt ends.
    StepEnds {
        advance: u32,
        succeeded: bool,
    },
}

const BUILDS: [&str; 3] = ["1.0.0", "1.0.1", "1.0.2"];

fn scope() -> impl Strategy<Value = KillScope> {
    prop_oneof![
        Just(KillScope::Release),
        (0usize..2).prop_map(KillScope::Feature),
        (0usize..2).prop_map(KillScope::Segment)
    ]
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        scope().prop_map(|scope| Command::Kill { note: "k".into(), scope }),
        Just(Command::Pause { note: "p".into() }),
        Just(Command::Resume { note: "r".into() }),
        (0usize..6).prop_map(|stage| Command::Approve { stage }),
        (0usize..3).prop_map(|i| Command::NewBuild { build: BuildId::new(BUILDS[i]) }),
    ]
}

fn input() -> impl Strategy<Value = Input> {
    let cohort = || (0u64..3000, 0u64..300);
    prop_oneof![
        4 => (0u32..600, [cohort(), cohort()], cohort())
            .prop_map(|(advance, treatment, holdback)| Input::Observe { advance, treatment, holdback }),
        1 => (0u32..600, command()).prop_map(|(advance, command)| Input::Command { advance, command }),
        2 => (0u32..120, any::<bool>()).prop_map(|(advance, succeeded)| Input::StepEnds { advance, succeeded }),
    ]
}

fn policy_config() -> impl Strategy<Value = PolicyConfig> {
    (
        0u16..3_000,
        prop::collection::btree_set(1u16..7_000, 1..6),
        prop::collection::vec((0u32..400, 0u64..500, any::<bool>()), 6),
        prop::collection::vec((0u8..7, any::<bool>(), 1u32..4, 0u8..3), 0..4),
        0usize..6,
        prop::collection::vec(0u32..3, 0..4),
        (0u8..3, any::<bool>()),
    )
        .prop_map(
            |(holdback, shares, stage_rules, guardrails, resume, retries, (multiplicity, srm))| {
                let stages: Vec<Stage> = shares
                    .into_iter()
                    .zip(stage_rules)
                    .map(|(bp, (duration, sample, approval))| Stage {
                        share: Share::from_basis_points(bp).unwrap(),
                        min_duration: Minutes(duration),
                        min_sample: sample,
                        approval,
                    })
                    .collect();
                let guardrails = guardrails
                    .into_iter()
                    .enumerate()
                    .map(|(i, (kind, rollback, breaches, scope))| Guardrail {
                        name: format!("g{i}"),
                        metric: Metric::CrashRate,
                        direction: Direction::Increase,
                        method: {
                            let test = Comparison {
                                alpha: 0.05,
                                margin: if kind % 2 == 0 {
                                    Margin::Absolute(0.0)
                                } else {
                                    Margin::Relative(0.1)
                                },
                                variance: if kind % 3 == 0 {
                                    VarianceModel::Session
                                } else {
                                    VarianceModel::Clustered
                                },
                                statistic: rollcage_policy::Statistic::Mean,
                            };
                            match kind {
                                0 => Method::Threshold { limit: 0.05 },
                                1 => Method::NaiveZ(test),
                                2 => Method::Bonferroni { test, looks: 5 },
                                3 => Method::Spending {
                                    test,
                                    spending: Spending::OBrienFleming,
                                    planned_information: 2000.0,
                                },
                                4 => Method::Spending {
                                    test,
                                    spending: Spending::Pocock,
                                    planned_information: 500.0,
                                },
                                5 => Method::Sprt { test, effect: 0.02, beta: 0.2 },
                                _ => Method::Msprt { test, mixture_sd: 0.01 },
                            }
                        },
                        min_sample: 50,
                        severity: if rollback { Severity::Rollback } else { Severity::Pause },
                        breaches_required: breaches,
                        scope: match scope {
                            0 => Scope::Release,
                            1 => Scope::Feature(i % 2),
                            _ => Scope::Segment,
                        },
                        inconclusive_limit: u32::from(kind % 3),
                    })
                    .collect();
                let kinds = [
                    StepKind::ReturnPlayers,
                    StepKind::RevertMigration,
                    StepKind::RestorePlayers(Restore::Clawback),
                ];
                let mut rollback = vec![PlannedStep {
                    kind: StepKind::StopExposure,
                    retries: 1,
                    backoff: Minutes(5),
                }];
                rollback.extend(retries.iter().zip(kinds).map(|(&r, kind)| PlannedStep {
                    kind,
                    retries: r,
                    backoff: Minutes(5),
                }));
                PolicyConfig {
                    resume_stage: resume % stages.len(),
                    stages,
                    holdback: Share::from_basis_points(holdback).unwrap(),
                    holdback_period: Minutes(120),
                    guardrails,
                    rollback,
                    features: vec!["a".into(), "b".into()],
                    cells: vec!["ios".into(), "pc".into()],
                    cell_shares: vec![0.5, 0.5],
                    multiplicity: [
                        Multiplicity::None,
                        Multiplicity::Bonferroni,
                        Multiplicity::Holm,
                    ][usize::from(multiplicity)],
                    srm: srm.then_some(SrmCheck { alpha: 0.01, looks: 10 }),
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_policy_keeps_its_promises(config in policy_config(), inputs in prop::collection::vec(input(), 0..100)) {
        let layout = config.layout();
        let mut policy = Policy::new(&config, BuildId::new(BUILDS[0]));
        let mut now = Minutes(0);
        let mut steps = policy.start(now);
        let mut actions = std::mem::take(&mut steps.actions);
        // The step attempt running, and whether each step's last attempt succeeded.
        let mut running: Option<(usize, u32)> = None;
        let mut succeeded: Vec<bool> = vec![false; config.rollback.len()];
        for input in &inputs {
            let step = match input {
                Input::Observe { advance, treatment, holdback } => {
                    now = now + Minutes(*advance);
                    let mut t = Telemetry::default();
                    for (cell, (n, k)) in treatment.iter().enumerate() {
                        t.cohorts[Cohort::Treatment.index()].cells[cell][Metric::CrashRate.index()] = binary(*n, *k);
                    }
                    t.cohorts[Cohort::Holdback.index()].cells[0][Metric::CrashRate.index()] = binary(holdback.0, holdback.1);
                    t.cohorts[Cohort::Treatment.index()].assigned[0] = treatment[0].0;
                    t.cohorts[Cohort::Holdback.index()].assigned[0] = holdback.0;
                    // A look that does not advance the clock brings no new telemetry.
                    t.as_of = now;
                    policy.observe(now, &t)
                }
                Input::Command { advance, command } => {
                    now = now + Minutes(*advance);
                    policy.command(now, command)
                }
                Input::StepEnds { advance, succeeded: ok } => {
                    now = now + Minutes(*advance);
                    match running {
                        Some((step, attempt)) => {
                            succeeded[step] = *ok;
                            policy.step_result(now, &StepResult { step, attempt, succeeded: *ok })
                        }
                        None => continue,
                    }
                }
            };
            for a in &step.actions {
                match a {
                    Action::RunStep { step, attempt, .. } => running = Some((*step, *attempt)),
                    Action::Kill { scope: KillScope::Release, .. } => succeeded.iter_mut().for_each(|s| *s = false),
                    _ => {}
                }
            }
            for e in &step.events {
                if let EventKind::RolledBack { .. } = e.kind {
                    prop_assert!(succeeded.iter().all(|&s| s), "rolled back although a step's last attempt failed: {succeeded:?}");
                }
            }
            if matches!(policy.phase(), Phase::RolledBack | Phase::RollbackFailed) {
                running = None;
            }
            actions.extend(step.actions);
        }

        let mut live: Option<(BuildId, Share)> = None;
        let mut killed: Vec<BuildId> = Vec::new();
        let mut rolling_back = false;
        for action in &actions {
            match action {
                Action::Expose { build, share } => {
                    prop_assert!(*share <= layout.max_exposure(), "{share} reaches the holdback of {}", config.holdback);
                    prop_assert!(!killed.contains(build), "killed build {build} exposed again");
                    if let Some((live_build, live_share)) = &live {
                        prop_assert_eq!(live_build, build, "the build changed without a kill");
                        prop_assert!(share > live_share, "exposure shrank from {} to {} without a kill", live_share, share);
                    }
                    live = Some((build.clone(), *share));
                    rolling_back = false;
                }
                Action::Kill { build, scope } => {
                    prop_assert_eq!(live.as_ref().map(|l| &l.0), Some(build), "killed a build that was not live");
                    if *scope == KillScope::Release {
                        killed.push(build.clone());
                        live = None;
                        rolling_back = true;
                    }
                }
                Action::RunStep { .. } => prop_assert!(rolling_back, "a rollback step outside a rollback"),
                Action::Release { build } => {
                    prop_assert_eq!(live.as_ref().map(|l| &l.0), Some(build), "released a build that was not live");
                    prop_assert!(!killed.contains(build));
                }
            }
        }
        // Feeding the running step enough results always ends the rollback, one way or the other.
        let budget: u32 = config.rollback.iter().map(|s| s.retries + 1).sum();
        for _ in 0..budget {
            let Phase::RollingBack { step, attempt } = policy.phase() else { break };
            now = now + Minutes(1);
            policy.step_result(now, &StepResult { step, attempt, succeeded: false });
        }
        prop_assert!(!matches!(policy.phase(), Phase::RollingBack { .. }), "a rollback that never ends: {:?}", policy.phase());
    }
}
