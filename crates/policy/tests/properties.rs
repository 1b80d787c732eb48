//! Property tests: whatever telemetry arrives and whatever operators do, the policy never exposes
//! the holdback, never shrinks a build's exposure except by killing it, and never brings a killed
//! build back.

use proptest::prelude::*;
use rollcage_policy::{
    Action, BuildId, Cohort, Command, Controller, Direction, Guardrail, Margin, Method, Metric,
    Minutes, Policy, PolicyConfig, Severity, Share, Stage, Telemetry, VarianceModel,
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
    }
}

#[derive(Clone, Debug)]
enum Input {
    Observe { advance: u32, treatment: (u64, u64), holdback: (u64, u64) },
    Command { advance: u32, command: Command },
}

const BUILDS: [&str; 3] = ["1.0.0", "1.0.1", "1.0.2"];

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        Just(Command::Kill { note: "k".into() }),
        Just(Command::Pause { note: "p".into() }),
        Just(Command::Resume { note: "r".into() }),
        (0usize..6).prop_map(|stage| Command::Approve { stage }),
        (0usize..3).prop_map(|i| Command::NewBuild { build: BuildId::new(BUILDS[i]) }),
    ]
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        4 => (0u32..600, (0u64..3000, 0u64..300), (0u64..3000, 0u64..300)).prop_map(
            |(advance, treatment, holdback)| Input::Observe { advance, treatment, holdback }
        ),
        1 => (0u32..600, command()).prop_map(|(advance, command)| Input::Command { advance, command }),
    ]
}

fn policy_config() -> impl Strategy<Value = PolicyConfig> {
    (
        0u16..3_000,
        prop::collection::btree_set(1u16..7_000, 1..6),
        prop::collection::vec((0u32..400, 0u64..500, any::<bool>()), 6),
        prop::collection::vec((0u8..3, any::<bool>(), 1u32..4), 0..4),
        0usize..6,
    )
        .prop_map(|(holdback, shares, stage_rules, guardrails, resume)| {
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
                .map(|(i, (kind, rollback, breaches))| Guardrail {
                    name: format!("g{i}"),
                    metric: Metric::CrashRate,
                    direction: Direction::Increase,
                    method: match kind {
                        0 => Method::Threshold { limit: 0.05 },
                        1 => Method::NaiveZ {
                            alpha: 0.05,
                            margin: Margin::Absolute(0.0),
                            variance: VarianceModel::Session,
                        },
                        _ => Method::Msprt {
                            alpha: 0.05,
                            margin: Margin::Relative(0.1),
                            variance: VarianceModel::Clustered,
                            mixture_sd: 0.01,
                        },
                    },
                    min_sample: 50,
                    severity: if rollback { Severity::Rollback } else { Severity::Pause },
                    breaches_required: breaches,
                })
                .collect();
            PolicyConfig {
                resume_stage: resume % stages.len(),
                stages,
                holdback: Share::from_basis_points(holdback).unwrap(),
                holdback_period: Minutes(120),
                guardrails,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_policy_keeps_its_promises(config in policy_config(), inputs in prop::collection::vec(input(), 0..80)) {
        let layout = config.layout();
        let mut policy = Policy::new(&config, BuildId::new(BUILDS[0]));
        let mut now = Minutes(0);
        let mut actions: Vec<Action> = policy.start(now).actions;
        for input in &inputs {
            let step = match input {
                Input::Observe { advance, treatment, holdback } => {
                    now = now + Minutes(*advance);
                    let mut t = Telemetry::default();
                    t.cohorts[Cohort::Treatment.index()].metrics[Metric::CrashRate.index()] = binary(treatment.0, treatment.1);
                    t.cohorts[Cohort::Holdback.index()].metrics[Metric::CrashRate.index()] = binary(holdback.0, holdback.1);
                    policy.observe(now, &t)
                }
                Input::Command { advance, command } => {
                    now = now + Minutes(*advance);
                    policy.command(now, command)
                }
            };
            actions.extend(step.actions);
        }

        let mut live: Option<(BuildId, Share)> = None;
        let mut killed: Vec<BuildId> = Vec::new();
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
                }
                Action::Kill { build } => {
                    prop_assert_eq!(live.as_ref().map(|l| &l.0), Some(build), "killed a build that was not live");
                    killed.push(build.clone());
                    live = None;
                }
                Action::Release { build } => {
                    prop_assert_eq!(live.as_ref().map(|l| &l.0), Some(build), "released a build that was not live");
                    prop_assert!(!killed.contains(build));
                }
            }
        }
    }
}
