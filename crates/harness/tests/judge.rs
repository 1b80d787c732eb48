//! The judge on recordings of small runs: it gives back the run's decisions and snapshots, says
//! what the last look decided, and stops where a doctored log parts from the policy.

mod common;

use rollcage_harness::telemetry::{
    Change, Decision, Exposure, Judge, Judged, LogEvent, Recording, judge, judge_windows,
};
use rollcage_harness::{RunOptions, RunRecord, Scenario, run};
use rollcage_model::Breakdown;
use rollcage_policy::{EventKind, Restore, VarianceModel};

const OPTIONS: RunOptions =
    RunOptions { record_evaluations: true, dry_run: false, record_telemetry: true };

fn recorded(scenario: &Scenario, r: u32) -> (RunRecord, Recording) {
    let record = run(scenario, r, OPTIONS);
    let recording = record.telemetry.as_ref().expect("recorded").recording.clone();
    (record, recording)
}

/// The judge's snapshots and events are the run's, whether it knows the players' count from the
/// start or learns it row by row.
fn same_as_run(scenario: &Scenario, r: u32) -> Judged {
    let (record, recording) = recorded(scenario, r);
    let judged = judge(scenario, &recording);
    let learnt = judge_windows(scenario, &recording.log, 0, recording.windows.iter().cloned());
    assert_eq!(learnt, judged, "run {r}");
    assert_eq!(judged.divergence, None, "run {r}");
    assert_eq!(judged.seen, record.telemetry.as_ref().unwrap().seen, "run {r}");
    assert_eq!(judged.events, record.events, "run {r}");
    judged
}

/// Guardrails of every kind of telemetry: latency by rank (histograms) and next-day returns.
fn more_guardrails(d: &mut rollcage_harness::Definition) {
    let mut latency = d.policy.guardrails[0].clone();
    latency.name = "latency".into();
    latency.metric = rollcage_policy::Metric::LatencyMs;
    if let rollcage_policy::Method::Msprt { test, .. } = &mut latency.method {
        test.statistic = rollcage_policy::Statistic::MannWhitney;
        test.variance = VarianceModel::Session;
    }
    let mut returns = d.policy.guardrails[0].clone();
    returns.name = "returns".into();
    returns.metric = rollcage_policy::Metric::ReturnRate;
    returns.direction = rollcage_policy::Direction::Decrease;
    d.policy.guardrails.extend([latency, returns]);
}

/// A crash regression the guardrail kills, by platform cells, with every player carrying their
/// weight across stages and unexposed players reported.
fn killed_by_cells() -> Scenario {
    let mut d = common::definition();
    d.world.release.faults = vec![rollcage_sim::Fault {
        feature: 0,
        kind: rollcage_sim::FaultKind::CrashRate { multiplier: 3.0 },
        onset: rollcage_policy::Minutes(0),
        segment: rollcage_sim::SegmentFilter::default(),
    }];
    d.policy.cells = vec!["ios".into(), "android".into()];
    d.policy.cell_shares = vec![0.5, 0.5];
    d.world.breakdown = Breakdown::Platform;
    if let rollcage_policy::Method::Msprt { test, .. } = &mut d.policy.guardrails[0].method {
        test.variance = VarianceModel::Clustered;
    }
    more_guardrails(&mut d);
    Scenario::new(d)
}

/// Operators kill a feature, then a segment, then the release, and resume with a new build.
fn operators() -> Scenario {
    use rollcage_policy::{BuildId, Command, KillScope};
    let mut d = common::definition();
    d.policy.features = vec!["exchange-v2".into(), "quests".into()];
    d.world.release.features = d.policy.features.clone();
    d.policy.cells = vec!["ios".into(), "android".into()];
    d.policy.cell_shares = vec![0.5, 0.5];
    d.world.breakdown = Breakdown::Platform;
    let note = || "by hand".to_string();
    d.commands = vec![
        common::kill_at(8, Command::Kill { note: note(), scope: KillScope::Feature(1) }),
        common::kill_at(9, Command::Kill { note: note(), scope: KillScope::Segment(1) }),
        common::kill_at(14, Command::Kill { note: note(), scope: KillScope::Release }),
        common::kill_at(16, Command::NewBuild { build: BuildId::new("1.4.1") }),
    ];
    Scenario::new(d)
}

#[test]
fn runs_judged_from_their_recordings_decide_as_they_ran() {
    // Released after a day and more: next-day returns reach the telemetry.
    let mut clean = common::definition();
    more_guardrails(&mut clean);
    clean.policy.holdback_period = rollcage_policy::Minutes::from_hours(24);
    clean.max_duration = rollcage_policy::Minutes::from_hours(72);
    let clean = Scenario::new(clean);
    for r in 0..4 {
        let judged = same_as_run(&clean, r);
        let returns = |t: &rollcage_policy::Telemetry| {
            t.cohorts
                .iter()
                .map(|c| c.metric(rollcage_policy::Metric::ReturnRate).count)
                .sum::<u64>()
        };
        assert!(judged.seen.iter().any(|t| returns(t) > 0), "returns are reported");
        let released = run(&clean, r, OPTIONS).released_at.is_some();
        assert_eq!(Decision::of(&judged) == Decision::Release, released, "run {r}");
        assert_eq!(Decision::of(&judged).name() == "release", released);
    }
    let killed = killed_by_cells();
    let mut kills = 0;
    for r in 0..4 {
        let judged = same_as_run(&killed, r);
        if let Decision::Kill { at, .. } = Decision::of(&judged) {
            assert_eq!(Decision::of(&judged).name(), "kill");
            kills += 1;
            let kill = judged.events.iter().find(|e| matches!(e.kind, EventKind::Killed { .. }));
            assert_eq!(Some(at), kill.map(|e| e.at));
        }
    }
    assert!(kills > 0, "the crash regression is killed in some run");
    // Operators' kills of a feature, a segment and the release, and a new build after them.
    let ops = operators();
    for r in 0..3 {
        let (record, recording) = recorded(&ops, r);
        let killed = |scope: &dyn Fn(&Exposure) -> bool| {
            recording.log.iter().any(|e| match e {
                LogEvent::Exposure { exposure, .. } => scope(exposure),
                _ => false,
            })
        };
        assert!(killed(&|e: &Exposure| e.killed_features == 0b10), "the feature kill is logged");
        assert!(killed(&|e: &Exposure| e.killed_cells == 0b10), "the segment kill is logged");
        assert!(
            killed(&|e: &Exposure| e.build.as_ref().is_some_and(|b| b.as_str() == "1.4.1")
                && e.killed_features == 0
                && e.killed_cells == 0),
            "the new build starts with nothing killed"
        );
        assert_eq!(judge(&ops, &recording).events, record.events);
        same_as_run(&ops, r);
    }
    // An operator's kill and a rollback of four steps, two of them flaky.
    let economy = Scenario::new(common::economy_scenario(Restore::Clawback));
    for r in 0..3 {
        let judged = same_as_run(&economy, r);
        assert!(matches!(Decision::of(&judged), Decision::Kill { .. }));
    }
}

#[test]
fn carries_and_cells_reach_the_judges_snapshots() {
    let (record, recording) = recorded(&killed_by_cells(), 1);
    let seen = &record.telemetry.as_ref().unwrap().seen;
    let carried = seen
        .iter()
        .any(|t| t.cohorts.iter().any(|c| c.carried.iter().flatten().any(|w| w.weight > 0.0)));
    assert!(carried, "players carry weight across the stages");
    assert!(seen.iter().any(|t| t.cohorts[0].cells[1][0].count > 0), "the second cell reports");
    assert_eq!(judge(&killed_by_cells(), &recording).seen, *seen);
}

/// The index of the first exposure after the first look at which the policy advanced.
fn first_advance(log: &[LogEvent]) -> usize {
    log.iter()
        .enumerate()
        .skip(1)
        .find(|(_, e)| matches!(e, LogEvent::Exposure { .. }))
        .map(|(i, _)| i)
        .expect("the rollout advances")
}

#[test]
fn a_log_that_parts_from_the_policy_is_a_divergence() {
    let s = common::scenario();
    let (_, recording) = recorded(&s, 0);
    let i = first_advance(&recording.log);
    let LogEvent::Exposure { at, exposure } = recording.log[i].clone() else { unreachable!() };

    // Another share than the policy's.
    let mut other = recording.clone();
    let wider = Exposure { share: common::share(9_000), ..exposure.clone() };
    other.log[i] = LogEvent::Exposure { at, exposure: wider.clone() };
    let judged = judge(&s, &other);
    let d = judged.divergence.clone().expect("diverged");
    assert_eq!(
        (d.at, d.decided, d.logged),
        (at, Some(Change::Flags(exposure.clone())), Some(Change::Flags(wider)))
    );
    assert_eq!(d.current.share, common::share(500), "the first stage was in force");
    assert!(matches!(Decision::of(&judged), Decision::Diverged(_)));
    assert_eq!(
        judged.seen.len(),
        judge(&s, &recording).seen.iter().take_while(|t| t.as_of <= at).count()
    );

    // No change where the policy made one: found at the next look.
    let mut none = recording.clone();
    none.log.remove(i);
    let d = judge(&s, &none).divergence.expect("diverged");
    assert_eq!((d.at, d.decided, d.logged), (at, Some(Change::Flags(exposure.clone())), None));

    // A change the policy did not make.
    let mut extra = recording.clone();
    let look = extra.log.iter().position(|e| matches!(e, LogEvent::Look { .. })).unwrap();
    let first = extra.log[look].at();
    extra.log.insert(look + 1, LogEvent::Exposure { at: first, exposure: exposure.clone() });
    let d = judge(&s, &extra).divergence.expect("diverged");
    assert_eq!((d.at, d.decided, d.logged), (first, None, Some(Change::Flags(exposure.clone()))));

    // A kill the policy did not make.
    let mut kill = recording.clone();
    kill.log.insert(look + 1, LogEvent::Kill { at: first });
    let d = judge(&s, &kill).divergence.expect("diverged");
    assert_eq!((d.decided, d.logged), (None, Some(Change::Kill)));
}

#[test]
fn a_kill_left_out_of_the_log_is_a_divergence() {
    let killed = killed_by_cells();
    let (record, recording) = (0..8)
        .map(|r| recorded(&killed, r))
        .find(|(r, _)| r.events.iter().any(|e| matches!(e.kind, EventKind::Killed { .. })))
        .expect("a killed run");
    let _ = record;
    let i = recording.log.iter().position(|e| matches!(e, LogEvent::Kill { .. })).unwrap();
    let at = recording.log[i].at();
    let mut missing = recording.clone();
    missing.log.remove(i);
    let judged = judge(&killed, &missing);
    let d = judged.divergence.expect("diverged");
    assert_eq!((d.at, d.decided), (at, Some(Change::Kill)));
    assert!(d.logged.is_none() || matches!(d.logged, Some(Change::Flags(_))));
}

#[test]
fn a_late_look_sees_the_last_fresh_snapshot_again() {
    let s = common::scenario();
    let (_, mut recording) = recorded(&s, 0);
    let looks: Vec<usize> = recording
        .log
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(e, LogEvent::Look { .. }))
        .map(|(i, _)| i)
        .collect();
    let (first, second) = (recording.log[looks[0]].at(), looks[1]);
    let at = recording.log[second].at();
    recording.log[second] = LogEvent::Look { at, data_until: first };
    let judged = judge(&s, &recording);
    assert_eq!(judged.seen[1], judged.seen[0], "the late look is handed the last snapshot");
    assert_eq!(judged.seen[1].as_of, first);
    let fresh = judge(&s, &recorded(&s, 0).1);
    assert_ne!(fresh.seen[1], fresh.seen[0]);
    assert_eq!(judged.seen[2], fresh.seen[2], "the next fresh look has every window");
}

#[test]
fn a_log_cut_after_a_decision_leaves_it_to_do() {
    let s = common::scenario();
    let (_, recording) = recorded(&s, 0);
    let i = first_advance(&recording.log);
    let mut cut = recording.clone();
    cut.log.truncate(i);
    let judged = judge(&s, &cut);
    assert_eq!(judged.divergence, None);
    // The judge under way knows it has a decision to carry out.
    let mut under_way = Judge::new(&s, 0);
    let mut windows = cut.windows.iter().peekable();
    for (n, event) in cut.log.iter().enumerate() {
        while let Some(w) = windows.next_if(|w| w.end <= event.at()) {
            under_way.window(w);
        }
        under_way.event(event);
        assert_eq!(under_way.has_pending(), n + 1 == cut.log.len(), "after event {n}");
    }
    let LogEvent::Exposure { at, exposure } = &recording.log[i] else { unreachable!() };
    assert_eq!(judged.pending, vec![(*at, Change::Flags(exposure.clone()))]);
    assert_eq!(
        Decision::of(&judged),
        Decision::Advance { stage: 1, share: exposure.share },
        "the last look advanced"
    );
    assert_eq!(Decision::of(&judged).name(), "advance");
    // One look earlier, the stage went on.
    let before = cut.log.iter().rposition(|e| matches!(e, LogEvent::Look { .. })).unwrap();
    cut.log.truncate(before);
    assert_eq!(Decision::of(&judge(&s, &cut)), Decision::Continue { stage: Some(0) });
}
