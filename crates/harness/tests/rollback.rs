//! Rollbacks that restore every player exactly, and the oracles that hold them to it: each
//! planted bug (a claw-back that runs twice, a down-migration that drops items, a feature kill that
//! leaks on one platform, a policy that declares victory early, a plan that forgets the migration)
//! is caught. A property test draws random step failures and checks that every rollback ends, and
//! that a rollback declared done always keeps every guarantee.

mod common;

use proptest::prelude::*;
use rollcage_harness::{
    FinalPhase, Oracle, RollbackResult, RunOptions, RunRecord, Scenario, run, run_controller,
};
use rollcage_policy::{
    Action, BuildId, Command, Controller, Event, EventKind, KillScope, Minutes, Response, Restore,
    StepResult, Telemetry,
};
use rollcage_sim::{RunSeed, Sabotage, StepTruth};

fn violated(record: &RunRecord) -> Vec<Oracle> {
    Oracle::ALL.iter().copied().filter(|o| record.violations.counts[*o as usize] > 0).collect()
}

fn run_economy(strategy: Restore, sabotage: Option<Sabotage>, run_index: u32) -> RunRecord {
    let mut s = common::economy_scenario(strategy);
    s.world.sabotage = sabotage;
    run(&Scenario::new(s), run_index, RunOptions::default())
}

#[test]
fn each_strategy_rolls_back_cleanly_with_its_own_losses() {
    let snapshot = run_economy(Restore::Snapshot, None, 1);
    let clawback = run_economy(Restore::Clawback, None, 1);
    let replay = run_economy(Restore::Replay, None, 1);
    for (name, r) in [("snapshot", &snapshot), ("clawback", &clawback), ("replay", &replay)] {
        assert!(r.violations.is_empty(), "{name}: {:?}", r.violations.first);
        assert_eq!(r.final_phase, FinalPhase::RolledBack, "{name}");
        let b = r.rollback.as_ref().unwrap();
        assert_eq!(b.result, RollbackResult::RolledBack);
        assert!(
            r.saves.players_restored > 0 && r.saves.corrupted_saves_left == 0,
            "{name}: {:?}",
            r.saves
        );
    }
    // Snapshot restore removes every exploit coin and loses legitimate progress since the rollout.
    assert!(
        snapshot.saves.coins_lost > 0 && snapshot.saves.exploit_coins_left == 0,
        "{:?}",
        snapshot.saves
    );
    assert!(snapshot.saves.items_lost > 0);
    // Claw-back keeps legitimate coins (but those of corrupted saves, restored from the snapshot)
    // and leaves the exploit coins the audit trail missed.
    assert!(clawback.saves.exploit_coins_left > 0, "{:?}", clawback.saves);
    assert!(clawback.saves.coins_lost < snapshot.saves.coins_lost);
    // Replay is exact.
    assert_eq!(
        (replay.saves.coins_lost, replay.saves.exploit_coins_left, replay.saves.items_lost),
        (0, 0, 0)
    );
}

#[test]
fn a_retried_clawback_that_claws_back_twice_is_caught() {
    let found = (0..4)
        .map(|r| run_economy(Restore::Clawback, Some(Sabotage::DoubleClawback), r))
        .collect::<Vec<_>>();
    assert!(
        found.iter().any(|r| violated(r) == vec![Oracle::RestorePromise]),
        "{:?}",
        found.iter().map(violated).collect::<Vec<_>>()
    );
    let r = found.iter().find(|r| !r.violations.is_empty()).unwrap();
    assert!(
        r.violations.first[0].detail.contains("differ from their strategy's promise"),
        "{}",
        r.violations.first[0].detail
    );
}

#[test]
fn a_down_migration_that_drops_items_is_caught() {
    let r = run_economy(Restore::Clawback, Some(Sabotage::LossyDownMigration), 1);
    assert_eq!(violated(&r), vec![Oracle::RestorePromise], "{:?}", r.violations);
    assert!(r.saves.items_lost > 0);
}

#[test]
fn a_feature_kill_that_leaks_on_one_platform_is_caught() {
    let mut s = common::definition();
    s.policy.features = vec!["exchange-v2".into(), "daily-quests".into()];
    s.world.release.features = s.policy.features.clone();
    s.commands = vec![common::kill_at(
        8,
        Command::Kill { note: "quests broken".into(), scope: KillScope::Feature(1) },
    )];
    let s = Scenario::new(s);
    let clean = run(&s, 0, RunOptions::default());
    assert!(clean.violations.is_empty(), "{:?}", clean.violations);
    assert_eq!(clean.final_phase, FinalPhase::Released, "a feature kill lets the rollout go on");
    let s = s.with(|s| s.world.sabotage = Some(Sabotage::FeatureKillLeak { platform: 1 }));
    let leaky = run(&s, 0, RunOptions::default());
    assert_eq!(violated(&leaky), vec![Oracle::KillPropagation], "{:?}", leaky.violations);
    assert!(
        leaky.violations.first[0].detail.contains("feature daily-quests"),
        "{}",
        leaky.violations.first[0].detail
    );
}

/// A policy that declares its rollback done as soon as exposure has stopped.
struct Hasty {
    build: BuildId,
}

impl Controller for Hasty {
    fn start(&mut self, now: Minutes) -> Response {
        let share = common::share(2_500);
        Response {
            actions: vec![Action::Expose { build: self.build.clone(), share }],
            events: vec![Event {
                at: now,
                kind: EventKind::StageStarted { build: self.build.clone(), stage: 0, share },
            }],
        }
    }
    fn observe(&mut self, _: Minutes, _: &Telemetry) -> Response {
        Response::default()
    }
    fn command(&mut self, now: Minutes, _: &Command) -> Response {
        let build = self.build.clone();
        Response {
            actions: vec![
                Action::Kill { build: build.clone(), scope: KillScope::Release },
                Action::RunStep { build, step: 0, attempt: 1, start: now },
            ],
            events: vec![],
        }
    }
    fn step_result(&mut self, now: Minutes, _: &StepResult) -> Response {
        Response {
            actions: vec![],
            events: vec![Event {
                at: now,
                kind: EventKind::RolledBack { build: self.build.clone() },
            }],
        }
    }
}

#[test]
fn a_rollback_declared_done_before_its_steps_succeeded_is_caught() {
    let s = Scenario::new(common::economy_scenario(Restore::Replay));
    let r = run_controller(&s, 0, RunSeed(5), Hasty { build: BuildId::new("1.4.0") });
    let found = violated(&r);
    assert!(found.contains(&Oracle::RollbackHonest), "{:?}", r.violations);
    assert!(
        found.contains(&Oracle::RollbackComplete),
        "saves are still on the new schema: {:?}",
        r.violations
    );
}

#[test]
fn a_plan_that_forgets_the_migration_is_caught() {
    let mut s = common::economy_scenario(Restore::Replay);
    s.policy.rollback.remove(2);
    s.world.rollback.remove(2);
    let r = run(&Scenario::new(s), 0, RunOptions::default());
    assert_eq!(violated(&r), vec![Oracle::RollbackComplete], "{:?}", r.violations);
    assert!(r.violations.first[0].detail.contains("saves still on the new schema"));
}

#[test]
fn a_step_that_never_succeeds_ends_in_an_explicit_rollback_failed() {
    let mut s = common::economy_scenario(Restore::Replay);
    s.world.rollback[2].failure_probability = 1.0;
    let r = run(&Scenario::new(s), 0, RunOptions::default());
    assert_eq!(r.final_phase, FinalPhase::RollbackFailed);
    assert_eq!(r.rollback.as_ref().unwrap().result, RollbackResult::RollbackFailed);
    // Three steps, the third tried 1 + 6 times; no guarantee is broken by failing loudly.
    assert_eq!(r.rollback.as_ref().unwrap().attempts, 2 + 7);
    assert!(r.violations.is_empty(), "{:?}", r.violations);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever the steps' failure and half-apply probabilities and retry budgets, a rollback ends
    /// rolled back or failed, and rolled back always means every oracle holds.
    #[test]
    fn rollbacks_end_and_rolled_back_means_the_oracles_hold(
        failures in prop::collection::vec((0.0f64..0.9, 0.0f64..1.0), 4),
        retries in prop::collection::vec(0u32..5, 4),
        strategy in prop_oneof![Just(Restore::Snapshot), Just(Restore::Clawback), Just(Restore::Replay)],
        run_index in 0u32..1000,
    ) {
        let mut s = common::economy_scenario(strategy);
        s.max_duration = Minutes::from_hours(48);
        for (i, ((p, half), r)) in failures.into_iter().zip(retries).enumerate() {
            s.world.rollback[i] = StepTruth { failure_probability: p, half_applied_probability: half, ..s.world.rollback[i] };
            s.policy.rollback[i].retries = r;
        }
        let r = run(&Scenario::new(s), run_index, RunOptions::default());
        prop_assert!(matches!(r.final_phase, FinalPhase::RolledBack | FinalPhase::RollbackFailed), "{:?}", r.final_phase);
        if r.final_phase == FinalPhase::RolledBack {
            prop_assert!(r.violations.is_empty(), "{:?}", r.violations);
        }
    }
}
