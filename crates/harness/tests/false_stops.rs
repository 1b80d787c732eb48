//! False stops (a guardrail stopping a part of the release that does no harm at that moment, by
//! the ground truth) and alpha used. Each false-stop case is planted with a scripted controller
//! (the scenario's own policy, with kills and pauses at fixed hours recorded as a guardrail's
//! breach) and judged by the run's `false_stop_at`; the alpha budget and the summary figures are
//! checked from hand-made run figures.

mod common;

use rollcage_harness::{
    DataPauseReason, Definition, Oracle, Outcome, RunRecord, RunResult, SaveRecord, Scenario,
    ScheduledCommand, run_controller,
};
use rollcage_policy::{
    BuildId, Command, Controller, Direction, Evaluation, EventKind, Guardrail, KillScope, Method,
    Metric, Minutes, Multiplicity, Policy, Reason, Response, Scope, Severity, StepResult,
    Telemetry, Verdict,
};
use rollcage_report::Summary;
use rollcage_report::explain::describe_summary;
use rollcage_report::figures::{Figures, RunFigures, figures_table, parse_figures, shard_range};
use rollcage_report::rows::{RUNS_HEADER, SUMMARY_HEADER, runs_table, summary_table};
use rollcage_sim::{Breakdown, Fault, FaultKind, RunSeed, SegmentFilter};

const IOS: usize = 0;
const ANDROID: usize = 1;
const EXCHANGE: usize = 0;
const QUESTS: usize = 1;

/// A guardrail that never breaches on its own (no crash rate exceeds 1): the scripted breaches
/// name it.
fn quiet_guardrail() -> Guardrail {
    Guardrail {
        name: "scripted".into(),
        metric: Metric::CrashRate,
        direction: Direction::Increase,
        method: Method::Threshold { limit: 1.0 },
        min_sample: 100,
        severity: Severity::Rollback,
        breaches_required: 1,
        scope: Scope::Release,
        inconclusive_limit: 0,
    }
}

/// A crash regression (x3) in `feature`, on one platform or everywhere.
fn crash(feature: usize, platform: Option<u8>) -> Fault {
    Fault {
        feature,
        kind: FaultKind::CrashRate { multiplier: 3.0 },
        onset: Minutes(0),
        segment: SegmentFilter { platform, ..SegmentFilter::default() },
    }
}

/// The common scenario with telemetry and kills broken down by platform (ios, android), two
/// features (a faulty exchange and healthy daily quests), and only the quiet guardrail.
fn scenario(faults: Vec<Fault>) -> Scenario {
    let mut s = common::definition();
    s.world.breakdown = Breakdown::Platform;
    s.policy.cells = vec!["ios".into(), "android".into()];
    s.policy.cell_shares = vec![0.5, 0.5];
    s.world.release.features = vec!["exchange-v2".into(), "daily-quests".into()];
    s.policy.features = s.world.release.features.clone();
    s.policy.guardrails = vec![quiet_guardrail()];
    s.world.release.faults = faults;
    Scenario::new(s)
}

/// A breach of the quiet guardrail, in `cell` or over everyone.
fn breach(cell: Option<usize>) -> Evaluation {
    Evaluation {
        guardrail: 0,
        cell,
        treatment_mean: None,
        control_mean: None,
        treatment_count: 0,
        control_count: 0,
        estimate: None,
        std_error: None,
        degrees_of_freedom: None,
        interval: None,
        statistic: None,
        threshold: 1.0,
        accept_below: None,
        alpha: 0.0,
        alpha_spent: None,
        p_value: None,
        information_fraction: None,
        verdict: Verdict::Breach,
    }
}

/// The note of an operator command that the test controller records as a guardrail's breach.
const AS_GUARDRAIL: &str = "scripted breach";
/// The note of an operator pause that the test controller records as a data-quality pause.
const AS_DATA_PAUSE: &str = "scripted data pause";

/// The scenario's own policy, where an operator command noted [`AS_GUARDRAIL`] is carried out as
/// any operator command would be, then recorded with a guardrail's breach as its reason.
struct Scripted<'a>(Policy<'a>);

impl Scripted<'_> {
    fn as_guardrail(step: &mut Response) {
        for e in &mut step.events {
            match &mut e.kind {
                EventKind::Killed { scope, reason, .. } => {
                    let cell = match scope {
                        KillScope::Segment(c) => Some(*c),
                        KillScope::Release | KillScope::Feature(_) => None,
                    };
                    *reason = Reason::Guardrail(breach(cell));
                }
                EventKind::Paused { reason } => *reason = Reason::Guardrail(breach(None)),
                _ => {}
            }
        }
    }
}

impl Controller for Scripted<'_> {
    fn start(&mut self, now: Minutes) -> Response {
        self.0.start(now)
    }

    fn observe(&mut self, now: Minutes, telemetry: &Telemetry) -> Response {
        self.0.observe(now, telemetry)
    }

    fn command(&mut self, now: Minutes, command: &Command) -> Response {
        let mut step = self.0.command(now, command);
        match command {
            Command::Kill { note, .. } | Command::Pause { note } if note == AS_GUARDRAIL => {
                Scripted::as_guardrail(&mut step)
            }
            Command::Pause { note } if note == AS_DATA_PAUSE => {
                for e in &mut step.events {
                    if let EventKind::Paused { reason } = &mut e.kind {
                        *reason = Reason::Inconclusive { guardrail: 0, looks: 4 };
                    }
                }
            }
            _ => {}
        }
        step
    }

    fn step_result(&mut self, now: Minutes, result: &StepResult) -> Response {
        self.0.step_result(now, result)
    }
}

fn at(hours: u32, command: Command) -> ScheduledCommand {
    ScheduledCommand { at: Minutes::from_hours(hours), command }
}

fn guardrail_kill(hours: u32, scope: KillScope) -> ScheduledCommand {
    at(hours, Command::Kill { note: AS_GUARDRAIL.into(), scope })
}

fn guardrail_pause(hours: u32) -> ScheduledCommand {
    at(hours, Command::Pause { note: AS_GUARDRAIL.into() })
}

fn operator_kill(hours: u32, scope: KillScope) -> ScheduledCommand {
    at(hours, Command::Kill { note: "on call".into(), scope })
}

/// Runs `s` with `script` as its commands.
fn drive(s: &Scenario, script: Vec<ScheduledCommand>) -> RunRecord {
    let s = s.with(|s| s.commands = script);
    let policy = Scripted(Policy::new(&s.policy, s.world.release.build.clone()));
    let record = run_controller(&s, 0, RunSeed(11), policy);
    assert!(record.violations.is_empty(), "{:?}", record.violations.first);
    record
}

/// The times and scopes of every kill of `build` in the run, and whether a guardrail made it.
fn kills(record: &RunRecord, build: &str) -> Vec<(Minutes, KillScope, bool)> {
    record
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Killed { build: b, scope, reason } if b.as_str() == build => {
                Some((e.at, *scope, matches!(reason, Reason::Guardrail(_))))
            }
            _ => None,
        })
        .collect()
}

fn column(header: &[&str], name: &str) -> usize {
    header.iter().position(|c| *c == name).unwrap()
}

fn hours(h: u32) -> Minutes {
    Minutes::from_hours(h)
}

#[test]
fn a_release_kill_after_the_harmful_segment_was_killed_is_a_false_stop() {
    let s = scenario(vec![crash(EXCHANGE, Some(ANDROID as u8))]);
    let segment = guardrail_kill(5, KillScope::Segment(ANDROID));
    let record = drive(&s, vec![segment.clone(), guardrail_kill(10, KillScope::Release)]);
    assert_eq!(
        kills(&record, "1.4.0"),
        vec![(hours(5), KillScope::Segment(ANDROID), true), (hours(10), KillScope::Release, true)]
    );
    // Killing android contained the harm: the run detected it, and the release kill after it
    // stopped a release that was no longer doing harm.
    assert_eq!(record.outcome, Outcome::Detected);
    assert_eq!(record.time_to_detect, Some(hours(5)));
    assert_eq!(record.false_stop_at, Some(hours(10)));
    let table = runs_table(&[RunResult::Done(Box::new(record))]);
    assert_eq!(table.rows[0][column(RUNS_HEADER, "false_stop_h")], "10.00");

    // The segment kill alone stops only harm.
    let alone = drive(&s, vec![segment.clone()]);
    assert_eq!(alone.outcome, Outcome::Detected);
    assert_eq!(alone.false_stop_at, None);
    let table = runs_table(&[RunResult::Done(Box::new(alone))]);
    assert_eq!(table.rows[0][column(RUNS_HEADER, "false_stop_h")], "");

    // Both kills at the same moment: the harm was still live when the release was killed.
    let together = drive(&s, vec![segment, guardrail_kill(5, KillScope::Release)]);
    assert_eq!(kills(&together, "1.4.0").len(), 2);
    assert_eq!(together.false_stop_at, None);
}

#[test]
fn a_kill_of_a_healthy_segment_is_a_false_stop_and_of_a_harmful_one_is_not() {
    let s = scenario(vec![crash(EXCHANGE, Some(ANDROID as u8))]);
    let ios = guardrail_kill(4, KillScope::Segment(IOS));
    let record = drive(&s, vec![ios.clone()]);
    assert_eq!(kills(&record, "1.4.0"), vec![(hours(4), KillScope::Segment(IOS), true)]);
    assert_eq!(record.false_stop_at, Some(hours(4)));
    // The first false stop is the one recorded.
    let record = drive(&s, vec![ios, guardrail_kill(8, KillScope::Feature(QUESTS))]);
    assert_eq!(kills(&record, "1.4.0").len(), 2);
    assert_eq!(record.false_stop_at, Some(hours(4)));
    // A fault on every platform acts in ios too.
    let everywhere = scenario(vec![crash(EXCHANGE, None)]);
    let record = drive(&everywhere, vec![guardrail_kill(4, KillScope::Segment(IOS))]);
    assert_eq!(record.false_stop_at, None);
}

#[test]
fn a_kill_of_a_healthy_feature_is_a_false_stop() {
    let s = scenario(vec![crash(EXCHANGE, None)]);
    let record = drive(&s, vec![guardrail_kill(6, KillScope::Feature(QUESTS))]);
    assert_eq!(kills(&record, "1.4.0"), vec![(hours(6), KillScope::Feature(QUESTS), true)]);
    assert_eq!(record.false_stop_at, Some(hours(6)));
    // The first stop was while the release did harm, so the outcome alone does not show it.
    assert_eq!(record.outcome, Outcome::Missed);

    let faulty = drive(&s, vec![guardrail_kill(6, KillScope::Feature(EXCHANGE))]);
    assert_eq!(faulty.outcome, Outcome::Detected);
    assert_eq!(faulty.false_stop_at, None);
}

#[test]
fn a_kill_before_the_harm_begins_is_a_false_stop() {
    let mut late = crash(EXCHANGE, None);
    late.onset = hours(8);
    let s = scenario(vec![late]);
    let early = drive(&s, vec![guardrail_kill(5, KillScope::Feature(EXCHANGE))]);
    assert_eq!(kills(&early, "1.4.0"), vec![(hours(5), KillScope::Feature(EXCHANGE), true)]);
    assert_eq!(early.false_stop_at, Some(hours(5)));
    let on_time = drive(&s, vec![guardrail_kill(8, KillScope::Feature(EXCHANGE))]);
    assert_eq!(on_time.false_stop_at, None);
}

#[test]
fn a_guardrail_pause_is_false_once_every_harm_is_contained() {
    let s = scenario(vec![crash(EXCHANGE, None)]);
    let before = drive(&s, vec![guardrail_pause(3)]);
    assert!(before.events.iter().any(|e| e.at == hours(3)
        && matches!(e.kind, EventKind::Paused { reason: Reason::Guardrail(_) })));
    assert_eq!(before.false_stop_at, None);

    let contained = guardrail_kill(3, KillScope::Feature(EXCHANGE));
    let after = drive(&s, vec![contained.clone(), guardrail_pause(5)]);
    assert_eq!(after.false_stop_at, Some(hours(5)));

    // Neither an operator's pause nor a data-quality pause is a guardrail's.
    let operator = at(5, Command::Pause { note: "on call".into() });
    let data = at(5, Command::Pause { note: AS_DATA_PAUSE.into() });
    for (pause, why) in [(operator, None), (data, Some(DataPauseReason::Inconclusive))] {
        let record = drive(&s, vec![contained.clone(), pause]);
        assert_eq!(record.data_pause.map(|(_, r)| r), why);
        assert!(
            record
                .events
                .iter()
                .any(|e| e.at == hours(5) && matches!(e.kind, EventKind::Paused { .. }))
        );
        assert_eq!(record.false_stop_at, None, "{why:?}");
    }
}

#[test]
fn an_operator_kill_is_never_a_false_stop() {
    // An operator kills the healthy feature of a harmful release, and the whole of a harmless one.
    let harmful = scenario(vec![crash(EXCHANGE, None)]);
    let record = drive(&harmful, vec![operator_kill(6, KillScope::Feature(QUESTS))]);
    assert_eq!(kills(&record, "1.4.0"), vec![(hours(6), KillScope::Feature(QUESTS), false)]);
    assert_eq!(record.false_stop_at, None);

    // The harmless release carries an improvement: a fault, but no harm.
    let mut better = crash(EXCHANGE, None);
    better.kind = FaultKind::CrashRate { multiplier: 0.8 };
    let harmless = scenario(vec![better]);
    let record = drive(&harmless, vec![operator_kill(6, KillScope::Release)]);
    assert_eq!(record.outcome, Outcome::FalseKill);
    assert_eq!(kills(&record, "1.4.0"), vec![(hours(6), KillScope::Release, false)]);
    assert_eq!(record.false_stop_at, None);

    // The same kill by a guardrail is one.
    let record = drive(&harmless, vec![guardrail_kill(6, KillScope::Release)]);
    assert_eq!(record.outcome, Outcome::FalseKill);
    assert_eq!(record.false_stop_at, Some(hours(6)));
}

#[test]
fn a_guardrail_kill_of_the_build_that_replaced_the_release_is_a_false_stop() {
    // At 4h an operator kills the harmful release (a true stop) and rolls out a fix (its rollback
    // takes no time), and a guardrail kills the fix at once: the fix carries no fault, although
    // at that moment the release's kill had not yet stopped anything.
    let s = scenario(vec![crash(EXCHANGE, None)]);
    let fixed = |stop: ScheduledCommand| {
        let fix = at(4, Command::NewBuild { build: BuildId::new("1.4.1") });
        drive(&s, vec![operator_kill(4, KillScope::Release), fix, stop])
    };
    let record = fixed(guardrail_kill(4, KillScope::Release));
    assert_eq!(kills(&record, "1.4.0"), vec![(hours(4), KillScope::Release, false)]);
    assert_eq!(kills(&record, "1.4.1"), vec![(hours(4), KillScope::Release, true)]);
    assert_eq!(record.outcome, Outcome::Detected);
    assert_eq!(record.false_stop_at, Some(hours(4)));
    // A guardrail pause of the fix, likewise.
    let record = fixed(guardrail_pause(4));
    assert!(record.events.iter().any(|e| matches!(e.kind, EventKind::Paused { .. })));
    assert_eq!(record.false_stop_at, Some(hours(4)));
}

fn figures(outcome: Outcome, harmful: bool, false_stop_h: Option<f64>) -> Figures {
    Figures {
        outcome,
        harmful,
        released: outcome == Outcome::CleanPass,
        time_to_detect_h: (outcome == Outcome::Detected).then_some(5.0),
        release_h: None,
        false_stop_h,
        harmed_players: 0,
        harmed_sessions: 0,
        exposed_players: 100,
        rollback: None,
        saves: SaveRecord::default(),
        violation_counts: [0; Oracle::COUNT],
        first_violation: None,
    }
}

/// 20 runs: 10 harmful ones all detected, 3 of them with a false stop after, and 10 harmless
/// ones, 1 of them a false kill (a false stop too).
fn batch() -> Vec<RunFigures> {
    (0..20)
        .map(|run| {
            let f = match run {
                0..3 => figures(Outcome::Detected, true, Some(30.0)),
                3..10 => figures(Outcome::Detected, true, None),
                10 => figures(Outcome::FalseKill, false, Some(12.0)),
                _ => figures(Outcome::CleanPass, false, None),
            };
            RunFigures { run, seed: RunSeed(u64::from(run)), figures: Ok(f) }
        })
        .collect()
}

#[test]
fn the_summary_counts_false_stops_over_every_run_and_judges_their_bound() {
    let s = scenario(vec![]).with(|s| s.expect.false_stop_rate_max = Some(0.15));
    let summary = Summary::from_figures(&s, &batch());
    assert_eq!(summary.false_stops, 4);
    let rate = summary.false_stop_rate.unwrap();
    assert_eq!((rate.successes, rate.trials), (4, 20));
    let check = summary.checks.iter().find(|c| c.name == "false_stop_rate_max").unwrap();
    assert_eq!((check.actual, check.held), (Some(0.2), false));
    assert!(!summary.held());
    let text = describe_summary(&summary, "x.toml");
    assert!(
        text.contains(&format!(
            "  false stops:     0.2000 [{:.4}, {:.4}] (4/20) runs in which a guardrail stopped a part of the release doing no harm\n",
            rate.interval.lo, rate.interval.hi
        )),
        "{text}"
    );
}

#[test]
fn alpha_used_is_the_false_kill_rate_over_the_policys_alpha() {
    // The common policy: one mSPRT guardrail at alpha 0.05.
    let s = common::scenario();
    assert_eq!(s.policy.alpha_budget(), Some(0.05));
    let summary = Summary::from_figures(&s, &batch());
    let kills = summary.false_kill_rate.unwrap();
    assert_eq!((kills.successes, kills.trials), (1, 10));
    let used = summary.alpha_used.unwrap();
    assert_eq!(summary.alpha, Some(0.05));
    assert!((used.value - 2.0).abs() < 1e-12, "{used:?}");
    assert!((used.interval.lo - kills.interval.lo / 0.05).abs() < 1e-12, "{used:?}");
    assert!((used.interval.hi - kills.interval.hi / 0.05).abs() < 1e-12, "{used:?}");
    let text = describe_summary(&summary, "x.toml");
    assert!(
        text.contains(&format!(
            "  alpha used:      2.00 [{:.2}, {:.2}] of alpha 0.05 (false-kill rate over the policy's alpha)\n",
            used.interval.lo, used.interval.hi
        )),
        "{text}"
    );

    // No harmless run: nothing to divide.
    let harmful_only: Vec<RunFigures> = batch().into_iter().take(10).collect();
    assert_eq!(Summary::from_figures(&s, &harmful_only).alpha_used, None);
    // No statistical guardrail: no budget, no line.
    let thresholds = scenario(vec![]);
    let summary = Summary::from_figures(&thresholds, &batch());
    assert_eq!((summary.alpha, summary.alpha_used), (None, None));
    assert!(!describe_summary(&summary, "x.toml").contains("alpha used"));
}

#[test]
fn the_alpha_budget_adds_the_statistical_guardrails_and_divides_under_a_correction() {
    let mut s = common::definition();
    let mut second = s.policy.guardrails[0].clone();
    if let Method::Msprt { test, .. } = &mut second.method {
        test.alpha = 0.025;
    }
    second.scope = Scope::Segment;
    s.policy.guardrails.push(second);
    s.policy.guardrails.push(quiet_guardrail());
    let budget = |s: &Definition| s.policy.alpha_budget().expect("statistical guardrails");
    assert!((budget(&s) - 0.075).abs() < 1e-12, "{}", budget(&s));
    for correction in [Multiplicity::Bonferroni, Multiplicity::Holm] {
        s.policy.multiplicity = correction;
        assert!((budget(&s) - 0.0375).abs() < 1e-12, "{correction:?}: {}", budget(&s));
    }
}

/// A shard writes its runs' figures as text and `rollcage merge` reads them back: the summary
/// made from three shards read back is the unsharded one, cell for cell, false stops and alpha
/// used included.
#[test]
fn a_summary_merged_from_shards_is_the_unsharded_one() {
    let s = common::scenario();
    let mut runs = batch();
    for (i, r) in runs.iter_mut().enumerate() {
        if let Ok(f) = &mut r.figures
            && let Some(h) = &mut f.false_stop_h
        {
            *h += 1.0 / (3.0 + i as f64);
        }
    }
    let whole = summary_table(&[Summary::from_figures(&s, &runs)]);
    let mut merged = Vec::new();
    for shard in 1..=3 {
        let range = shard_range(20, shard, 3);
        let table = figures_table(&runs[range.start as usize..range.end as usize]);
        merged.extend(parse_figures(&table.rows).unwrap());
    }
    assert_eq!(merged, runs);
    assert_eq!(summary_table(&[Summary::from_figures(&s, &merged)]), whole);
    let cell = |name| whole.rows[0][column(SUMMARY_HEADER, name)].as_str();
    assert_eq!(
        ["false_stops", "false_stop_rate", "alpha", "alpha_used"].map(cell),
        ["4", "0.2000", "0.050000", "2.0000"]
    );
}
