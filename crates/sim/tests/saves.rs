//! The world's saves, faults, kill switches and rollback steps against their promises.

mod common;

use common::run;

use rollcage_model::hash::buckets;
use rollcage_policy::{
    Action, BuildId, Cohort, KillScope, Metric, Minutes, Restore, Share, StepKind, StepResult,
};
use rollcage_sim::{
    Breakdown, Fault, FaultKind, InFlight, Migration, RunSeed, Sabotage, SegmentFilter,
    SessionEvent, StepTruth, World, WorldConfig,
};

fn build() -> BuildId {
    BuildId::new("1.4.0")
}

fn expose(bp: u16) -> Action {
    Action::Expose { build: build(), share: Share::from_basis_points(bp).unwrap() }
}

fn fault(feature: usize, kind: FaultKind) -> Fault {
    Fault { feature, kind, onset: Minutes(0), segment: SegmentFilter::default() }
}

fn step(kind: StepKind, failure_probability: f64, half_applied_probability: f64) -> StepTruth {
    StepTruth { kind, duration: Minutes(10), failure_probability, half_applied_probability }
}

/// Runs step `index` until an attempt succeeds (at most `tries`), advancing to each attempt's end.
fn run_step_until_done(world: &mut World<'_>, index: usize, tries: u32) -> u32 {
    for attempt in 1..=tries {
        world.apply(&Action::RunStep { build: build(), step: index, attempt, start: world.now() });
        let end = world.next_operation_end().expect("the attempt is under way");
        world.advance(end, &mut ());
        let results = world.take_step_results();
        assert_eq!(results.len(), 1);
        let (_, StepResult { succeeded, .. }) = results[0];
        if succeeded {
            return attempt;
        }
    }
    panic!("step {index} did not succeed in {tries} attempts");
}

#[test]
fn an_exploit_spreads_and_its_coins_are_kept_apart_in_the_ledger() {
    let mut config = common::world_config(10_000);
    config.release.faults.push(fault(
        0,
        FaultKind::Exploit { multiplier: 4.0, spread: Minutes::from_hours(24), audited: 0.9 },
    ));
    let b = buckets(&config.assignment, 10_000);
    let mut world = World::new(&config, &b, RunSeed(11));
    let (sessions, snapshot) = run(&mut world, 48, &[(0, expose(5_000))]);
    let share_using = |from: u32, to: u32| {
        let on_build: Vec<_> = sessions
            .iter()
            .filter(|s| s.build != 0 && s.start.0 >= from && s.start.0 < to)
            .collect();
        on_build.iter().filter(|s| s.exploit_coins > 0).count() as f64 / on_build.len() as f64
    };
    // Players learn the exploit over time: with a 24h mean delay, about 1 - e^(-t/24) know it.
    let (early, late) = (share_using(0, 6 * 60), share_using(42 * 60, 48 * 60));
    assert!(early < 0.2 && late > 0.75, "share exploiting: {early} early, {late} late");
    assert!(
        sessions.iter().filter(|s| s.build == 0).all(|s| s.exploit_coins == 0),
        "only the build exploits"
    );
    // Every exploit coin of a completed run is in the ledger (runs still in flight are not).
    let minted: i64 =
        sessions.iter().filter(|s| s.start.0 < 47 * 60).map(|s| s.exploit_coins).sum();
    let in_saves: i64 = world.saves().iter().map(|s| s.exploit_coins).sum();
    assert!(
        in_saves >= minted && in_saves <= sessions.iter().map(|s| s.exploit_coins).sum(),
        "{in_saves} vs {minted}"
    );
    for s in world.saves() {
        assert_eq!(s.holdings.coins, s.legit.coins + s.exploit_coins);
        // Each run's flagged coins are round(0.9 × its exploit coins): at most half a coin off.
        let runs = f64::from(s.legit.progress - s.snapshot.progress);
        assert!(s.flagged_total <= s.exploit_coins);
        assert!(
            (s.flagged_total as f64 - 0.9 * s.exploit_coins as f64).abs() <= 0.5 * runs + 1e-9,
            "{s:?}"
        );
    }
    let coins = |c: Cohort| snapshot.cohort(c).metric(Metric::CoinsPerRun).mean().unwrap();
    assert!(
        coins(Cohort::Treatment) > 3.0 * coins(Cohort::Holdback),
        "the economy guardrail can see it"
    );
}

#[test]
fn a_corrupted_save_fails_at_its_next_load_and_stays_broken() {
    let mut config = common::world_config(5_000);
    config.release.migration = Migration::Lazy;
    config.release.faults.push(fault(0, FaultKind::SaveCorruption { probability: 1.0 }));
    let b = buckets(&config.assignment, 5_000);
    let mut world = World::new(&config, &b, RunSeed(12));
    let (sessions, snapshot) = run(&mut world, 24, &[(0, expose(5_000))]);
    let mut seen = vec![0u32; 5_000];
    for s in &sessions {
        let n = &mut seen[s.player as usize];
        // A player's first run on the build migrates (and corrupts) the save; from the next run on,
        // the save fails to load.
        if s.build != 0 || *n > 0 {
            assert_eq!(s.load_failed, *n > 0, "{s:?} after {n} runs on the build");
            *n += 1;
        }
        assert!(!s.load_failed || s.crashed);
    }
    let errors = snapshot.cohort(Cohort::Treatment).metric(Metric::SaveErrorRate).mean().unwrap();
    assert!(errors > 0.5, "save errors on the build: {errors}");
    let corrupted = world.saves().iter().filter(|s| s.corrupted).count();
    assert_eq!(corrupted, world.saves().iter().filter(|s| s.schema == 1).count());
}

#[test]
fn eager_migration_moves_every_exposed_save_at_stage_start() {
    let mut config = common::world_config(5_000);
    config.release.migration = Migration::Eager;
    let b = buckets(&config.assignment, 5_000);
    let mut world = World::new(&config, &b, RunSeed(13));
    world.apply(&expose(2_500));
    let layout = rollcage_policy::BucketLayout { holdback: config.holdback };
    for (i, save) in world.saves().iter().enumerate() {
        assert_eq!(
            save.schema == 1,
            layout.is_exposed(b[i], Share::from_basis_points(2_500).unwrap())
        );
    }
}

fn kill_config(players: u32) -> WorldConfig {
    let mut config = common::world_config(players);
    config.population.stale_client_share = 0.2;
    config.population.stale_refresh = Minutes(240);
    config.rollback =
        vec![step(StepKind::StopExposure, 0.0, 0.0), step(StepKind::ReturnPlayers, 0.0, 0.0)];
    config.rollback[0].duration = Minutes(0);
    config
}

#[test]
fn stale_clients_see_a_kill_late_until_every_client_is_made_to_refresh() {
    let config = kill_config(10_000);
    let b = buckets(&config.assignment, 10_000);
    let mut world = World::new(&config, &b, RunSeed(14));
    run(&mut world, 6, &[(0, expose(5_000))]);
    world.apply(&Action::RunStep { build: build(), step: 0, attempt: 1, start: world.now() });
    assert_eq!(world.take_step_results().len(), 1, "a step of no duration completes at once");
    assert_eq!(world.operations().exposure_stopped_at, Some(Minutes(6 * 60)));
    let (late, _) = run(&mut world, 8, &[]);
    let on_build: Vec<_> = late.iter().filter(|s| s.build != 0).collect();
    assert!(
        on_build.iter().any(|s| s.start.0 >= 6 * 60 + 15),
        "stale clients still play the killed build"
    );
    // Every client is made to refresh: from then on, nobody plays the build.
    run_step_until_done(&mut world, 1, 1);
    let returned_at = world.now();
    let (after, _) = run(&mut world, 12, &[]);
    assert!(after.iter().all(|s| s.build == 0 || s.start < returned_at));
}

#[test]
fn a_feature_kill_switches_off_that_feature_only() {
    let mut config = common::world_config(10_000);
    config.release.features = vec!["exchange-v2".into(), "daily-quests".into()];
    config.release.faults.push(fault(1, FaultKind::CrashRate { multiplier: 4.0 }));
    let b = buckets(&config.assignment, 10_000);
    let mut world = World::new(&config, &b, RunSeed(15));
    let kill = Action::Kill { build: build(), scope: KillScope::Feature(1) };
    let (sessions, _) = run(&mut world, 24, &[(0, expose(5_000)), (6 * 60, kill)]);
    let after: Vec<_> =
        sessions.iter().filter(|s| s.start.0 >= 6 * 60 + 15 && s.build != 0).collect();
    assert!(!after.is_empty(), "the rest of the release rolls on");
    assert!(
        after.iter().all(|s| s.features == 0b01 && !s.harmed),
        "the killed feature is off everywhere"
    );
    assert!(sessions.iter().any(|s| s.start.0 < 6 * 60 && s.features == 0b11 && s.harmed));
}

#[test]
fn a_feature_kill_that_leaks_on_one_platform_is_visible_in_the_sessions() {
    let mut config = common::world_config(10_000);
    config.release.features = vec!["exchange-v2".into(), "daily-quests".into()];
    config.sabotage = Some(Sabotage::FeatureKillLeak { platform: 2 });
    let b = buckets(&config.assignment, 10_000);
    let mut world = World::new(&config, &b, RunSeed(15));
    let kill = Action::Kill { build: build(), scope: KillScope::Feature(1) };
    let (sessions, _) = run(&mut world, 12, &[(0, expose(5_000)), (2 * 60, kill)]);
    let leaked = sessions
        .iter()
        .filter(|s| s.start.0 >= 3 * 60 && s.features & 0b10 != 0)
        .collect::<Vec<_>>();
    assert!(!leaked.is_empty() && leaked.iter().all(|s| config.segment(s.segment).platform == 2));
}

#[test]
fn a_segment_kill_sends_one_cell_back() {
    let mut config = common::world_config(10_000);
    config.breakdown = Breakdown::Platform;
    let b = buckets(&config.assignment, 10_000);
    let mut world = World::new(&config, &b, RunSeed(16));
    let kill = Action::Kill { build: build(), scope: KillScope::Segment(2) };
    let (sessions, snapshot) = run(&mut world, 12, &[(0, expose(5_000)), (6 * 60, kill)]);
    let after = |cell: u8| {
        sessions
            .iter()
            .filter(|s| s.start.0 >= 6 * 60 + 15 && s.cell == cell && s.build != 0)
            .count()
    };
    assert_eq!(after(2), 0, "pc went back to the old build");
    assert!(after(0) > 0 && after(1) > 0, "ios and android roll on");
    // After the kill, pc reports as treatment only the runs its clients played on the build until
    // their next fetch, and those in flight at the kill: every one that ends after it.
    let pc = snapshot.cohort(Cohort::Treatment).cell(2, Metric::CrashRate);
    let late =
        sessions.iter().filter(|s| s.cell == 2 && s.build != 0 && s.start.0 + 12 >= 6 * 60).count();
    assert_eq!(pc.count, late as u64);
    assert!(late > 0);
}

#[test]
fn aborted_runs_leave_the_save_as_it_was() {
    let mut config = kill_config(10_000);
    config.in_flight = InFlight::Abort;
    config.population.stale_client_share = 0.0;
    let b = buckets(&config.assignment, 10_000);
    let mut world = World::new(&config, &b, RunSeed(17));
    let (before, _) = run(&mut world, 6, &[(0, expose(5_000))]);
    let progress = |w: &World<'_>| {
        w.saves().iter().map(|s| u64::from(s.legit.progress - s.snapshot.progress)).sum::<u64>()
    };
    let recorded = progress(&world);
    world.apply(&Action::RunStep { build: build(), step: 0, attempt: 1, start: world.now() });
    // The runs still in flight at 6h00 on the build are those started in its last 12 minutes.
    let in_flight = |s: &&SessionEvent| s.build != 0 && s.start.0 + 12 >= 6 * 60;
    assert_eq!(world.operations().aborted_sessions, before.iter().filter(in_flight).count() as u64);
    assert!(world.operations().aborted_sessions > 0);
    // A minute later every run that was in flight has ended: the completed ones reached their
    // saves, the aborted ones did not.
    world.advance(Minutes(6 * 60 + 1), &mut ());
    // (Players never exposed play with nothing observing them: their runs reach no save.)
    let pending_completed = before
        .iter()
        .filter(|s| {
            s.start.0 + 12 >= 6 * 60 && !s.crashed && !in_flight(s) && s.cohort != Cohort::Unexposed
        })
        .count() as u64;
    assert_eq!(progress(&world), recorded + pending_completed);
}

fn economy_config(sabotage: Option<Sabotage>) -> WorldConfig {
    let mut config = common::world_config(5_000);
    config.release.migration = Migration::Lazy;
    config.release.faults.push(fault(
        0,
        FaultKind::Exploit { multiplier: 3.0, spread: Minutes::from_hours(6), audited: 0.8 },
    ));
    config.release.faults.push(fault(0, FaultKind::SaveCorruption { probability: 0.05 }));
    config.rollback = vec![
        step(StepKind::StopExposure, 0.0, 0.0),
        step(StepKind::ReturnPlayers, 0.0, 0.0),
        step(StepKind::RevertMigration, 0.5, 0.5),
        step(StepKind::RestorePlayers(Restore::Clawback), 0.6, 0.9),
    ];
    config.sabotage = sabotage;
    config
}

/// Runs a full rollback of an exploited, corrupting build, retrying every failed attempt.
fn rolled_back(config: &WorldConfig) -> (World<'_>, u32) {
    let b = buckets(&config.assignment, config.population.players);
    let mut world = World::new(config, &b, RunSeed(18));
    run(&mut world, 24, &[(0, expose(5_000))]);
    world.apply(&Action::Kill { build: build(), scope: KillScope::Release });
    let attempts = (0..config.rollback.len()).map(|i| run_step_until_done(&mut world, i, 50)).sum();
    (world, attempts)
}

#[test]
fn a_rollback_with_flaky_half_applied_steps_still_restores_every_save_as_promised() {
    let config = economy_config(None);
    let (world, attempts) = rolled_back(&config);
    assert!(attempts > 4, "some attempts failed and were retried");
    let saves = world.saves();
    assert!(saves.iter().all(|s| s.schema == 0), "every save is back on the old schema");
    assert!(saves.iter().all(|s| !s.corrupted), "every corrupted save was repaired");
    let restored: Vec<_> = saves.iter().filter(|s| s.restored.is_some()).collect();
    assert!(!restored.is_empty());
    for s in &restored {
        assert_eq!(s.promised(), Some(s.holdings), "{s:?}");
    }
    // Claw-back leaves the exploit coins the audit trail missed (20% of them), nothing more.
    let left: i64 = saves.iter().map(|s| s.exploit_coins).sum();
    assert!(left > 0);
    assert!(saves.iter().all(|s| s.coins_lost() == 0 || s.restored.is_some_and(|(r, _)| r == Restore::Snapshot)));
}

#[test]
fn a_non_idempotent_clawback_removes_coins_twice() {
    let config = economy_config(Some(Sabotage::DoubleClawback));
    let (world, _) = rolled_back(&config);
    let broken = world
        .saves()
        .iter()
        .filter(|s| s.restored.is_some() && s.promised() != Some(s.holdings))
        .count();
    assert!(broken > 0, "a retried half-applied claw-back takes coins a second time");
}
