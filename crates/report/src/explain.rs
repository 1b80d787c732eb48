//! Human-readable accounts: the short summary of a batch, and the timeline of one run.

use std::fmt::Write;

use rollcage_policy::{Command, EventKind, KillScope, Reason, StepKind};
use rollcage_sim::FaultKind;

use crate::summary::{Rate, Summary};
use rollcage_harness::oracle::Oracle;
use rollcage_harness::run::RunRecord;
use rollcage_model::Scenario;

fn rate(r: Option<Rate>) -> String {
    r.map_or_else(
        || "n/a".to_string(),
        |r| {
            format!(
                "{:.4} [{:.4}, {:.4}] ({}/{})",
                r.value, r.interval.lo, r.interval.hi, r.successes, r.trials
            )
        },
    )
}

/// A number with at most six decimals and no trailing zeros (an alpha: `0.05`, `0.016667`).
fn short(x: f64) -> String {
    let text = format!("{x:.6}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The command that replays one run of a scenario.
pub fn repro_command(scenario_path: &str, run: u32) -> String {
    format!("rollcage explain {scenario_path} --run {run}")
}

/// Side-by-side tables of the scenarios that share a comparison group (`groups[i]` is summary
/// `i`'s group), in the order of their first appearance; empty when no scenario has a group.
pub fn compare_groups(summaries: &[Summary], groups: &[Option<String>]) -> String {
    let mut out = String::new();
    let mut seen: Vec<&str> = Vec::new();
    for group in groups.iter().flatten() {
        if seen.contains(&group.as_str()) {
            continue;
        }
        seen.push(group);
        let _ = writeln!(out, "\ncompare {group}:");
        let _ = writeln!(
            out,
            "  {:<24} {:>22} {:>22} {:>12} {:>12} {:>14}",
            "scenario",
            "false-kill rate",
            "detection rate",
            "TTD median",
            "TTD p90",
            "harmed players"
        );
        let cell = |r: Option<Rate>| {
            r.map_or_else(
                || "-".to_string(),
                |r| format!("{:.3} [{:.3}, {:.3}]", r.value, r.interval.lo, r.interval.hi),
            )
        };
        let hours = |x: Option<f64>| x.map_or_else(|| "-".to_string(), |h| format!("{h:.1}h"));
        for (s, _) in summaries.iter().zip(groups).filter(|(_, g)| g.as_deref() == Some(group)) {
            let _ = writeln!(
                out,
                "  {:<24} {:>22} {:>22} {:>12} {:>12} {:>14}",
                s.scenario,
                cell(s.false_kill_rate),
                cell(s.detection_rate),
                hours(s.time_to_detect_h.map(|t| t.median)),
                hours(s.time_to_detect_h.map(|t| t.p90)),
                s.harmed_players_when_harmful
                    .map_or_else(|| "-".to_string(), |h| format!("{:.1}", h.mean)),
            );
        }
    }
    out
}

/// A few lines on one scenario's batch, ending with the repro command of every failing run shown.
pub fn describe_summary(s: &Summary, scenario_path: &str) -> String {
    let mut out = String::new();
    let verdict = if !s.panicked.is_empty() {
        "INTERNAL ERROR (runs panicked)"
    } else if s.held() {
        "held"
    } else {
        "FAILED"
    };
    let _ = writeln!(out, "{}: {} runs, {}", s.scenario, s.runs, verdict);
    let _ = writeln!(
        out,
        "  outcomes: {} detected, {} missed, {} false kills, {} clean passes, {} data pauses",
        s.detected, s.missed, s.false_kills, s.clean_passes, s.data_pauses
    );
    describe_rates(&mut out, s);
    describe_harm(&mut out, s);
    describe_violations(&mut out, s, scenario_path);
    for p in &s.panicked {
        let _ = writeln!(out, "  run {} (seed {}) PANICKED: {}", p.run, p.seed.0, p.message);
        let _ = writeln!(out, "      reproduce: {}", repro_command(scenario_path, p.run));
    }
    for c in &s.checks {
        let actual = c.actual.map_or_else(|| "not measurable".to_string(), |a| format!("{a:.4}"));
        let mark = if c.held { "ok" } else { "FAILED" };
        let _ =
            writeln!(out, "  expect {} {} {}: {} {}", c.name, c.relation, c.bound, actual, mark);
    }
    out
}

/// The batch's decisions as rates: detections, false kills and the alpha they used, false stops,
/// data pauses.
fn describe_rates(out: &mut String, s: &Summary) {
    if s.detection_rate.is_some() {
        let _ = writeln!(out, "  detection rate:  {}", rate(s.detection_rate));
    }
    if s.false_kill_rate.is_some() {
        let _ = writeln!(out, "  false-kill rate: {}", rate(s.false_kill_rate));
    }
    if let (Some(used), Some(alpha)) = (s.alpha_used, s.alpha) {
        let _ = writeln!(
            out,
            "  alpha used:      {:.2} [{:.2}, {:.2}] of alpha {} (false-kill rate over the policy's alpha)",
            used.value,
            used.interval.lo,
            used.interval.hi,
            short(alpha)
        );
    }
    if s.false_stop_rate.is_some() {
        let _ = writeln!(
            out,
            "  false stops:     {} runs in which a guardrail stopped a part of the release doing no harm",
            rate(s.false_stop_rate)
        );
    }
    if s.data_pauses > 0 {
        let _ = writeln!(out, "  data-pause rate: {}", rate(s.data_pause_rate));
    }
}

/// What the releases did to players and how they ended: time to detect, blast radius,
/// rollbacks, player data, and releases.
fn describe_harm(out: &mut String, s: &Summary) {
    if let Some(t) = s.time_to_detect_h {
        let _ = writeln!(
            out,
            "  time to detect:  median {:.2}h, p90 {:.2}h, max {:.2}h",
            t.median, t.p90, t.max
        );
    }
    if let (Some(h), Some(e)) = (s.harmed_players, s.exposed_players) {
        let _ = writeln!(
            out,
            "  blast radius:    {:.1} players harmed on average (p90 {:.0}); {:.1} exposed to the release",
            h.mean, h.p90, e.mean
        );
    }
    if s.rollbacks > 0 {
        let duration = s.rollback_h.map_or_else(String::new, |t| {
            format!(", median {:.2}h (p90 {:.2}h) from kill to done", t.median, t.p90)
        });
        let attempts = s.rollback_attempts.map_or(0.0, |a| a.mean);
        let _ = writeln!(
            out,
            "  rollbacks:       {} rolled back{duration}; {attempts:.1} step attempts on average",
            rate(s.rolled_back_rate)
        );
    }
    if let (Some(lost), Some(left), Some(corrupt), Some(restored)) =
        (s.coins_lost, s.exploit_coins_left, s.corrupted_saves_left, s.players_restored)
        && (lost.max > 0.0 || left.max > 0.0 || corrupt.max > 0.0 || restored.max > 0.0)
    {
        let _ = writeln!(
            out,
            "  player data:     per run {:.1} players restored; {:.1} legitimate coins lost, {:.1} exploit coins left, {:.2} saves still corrupt",
            restored.mean, lost.mean, left.mean, corrupt.mean
        );
    }
    let release =
        s.release_h.map_or_else(String::new, |t| format!(", median {:.1}h to release", t.median));
    let _ = writeln!(out, "  released:        {}{}", rate(s.released_rate), release);
}

/// The oracles' verdict on the batch, with the repro command of each violating run shown.
fn describe_violations(out: &mut String, s: &Summary, scenario_path: &str) {
    if s.violation_runs == 0 {
        let _ = writeln!(out, "  oracles:         no violation in {} runs", s.completed);
        return;
    }
    let by: Vec<String> = Oracle::ALL
        .iter()
        .zip(s.violation_runs_by_oracle)
        .filter(|(_, n)| *n > 0)
        .map(|(o, n)| format!("{} in {n}", o.name()))
        .collect();
    let _ = writeln!(
        out,
        "  oracles:         VIOLATED in {} runs ({})",
        s.violation_runs,
        by.join(", ")
    );
    for v in &s.violating {
        let _ = writeln!(
            out,
            "    run {} (seed {}): {} at {}: {}",
            v.run,
            v.seed.0,
            v.violation.oracle.name(),
            v.violation.at,
            v.violation.detail
        );
        let _ = writeln!(out, "      reproduce: {}", repro_command(scenario_path, v.run));
    }
    let more = s.violation_runs - s.violating.len() as u64;
    if more > 0 {
        let _ = writeln!(
            out,
            "    ... and {more} more violating runs, each in runs.csv with its run number and seed"
        );
    }
}

/// Why the policy paused or killed, in words.
pub fn reason(scenario: &Scenario, r: &Reason) -> String {
    match r {
        Reason::Guardrail(e) => {
            let g = &scenario.policy.guardrails[e.guardrail];
            let cells = &scenario.policy.cells;
            format!(
                "guardrail {} ({} severity): {}",
                g.name,
                g.severity.name(),
                e.describe(g, cells)
            )
        }
        Reason::Operator(note) => format!("operator: {note}"),
        Reason::SampleRatio(ratio) => format!("data quality: {ratio}"),
        Reason::Inconclusive { guardrail, looks } => format!(
            "data quality: guardrail {} had no new telemetry for {looks} evaluations in a row",
            scenario.policy.guardrails[*guardrail].name
        ),
    }
}

/// What a kill switched off, in words.
pub fn scope(scenario: &Scenario, build: &rollcage_policy::BuildId, scope: KillScope) -> String {
    match scope {
        KillScope::Release => format!("build {build}"),
        KillScope::Feature(f) => {
            format!("feature {} of build {build}", scenario.policy.features[f])
        }
        KillScope::Segment(c) => format!("build {build} for segment {}", scenario.policy.cells[c]),
    }
}

fn step_name(scenario: &Scenario, step: usize) -> String {
    match scenario.policy.rollback[step].kind {
        StepKind::RestorePlayers(strategy) => {
            format!("step {} restore_players ({})", step + 1, strategy.name())
        }
        kind => format!("step {} {}", step + 1, kind.name()),
    }
}

fn command(c: &Command) -> String {
    match c {
        Command::Kill { note, .. } | Command::Pause { note } | Command::Resume { note } => {
            format!("{} ({note})", c.name())
        }
        Command::Approve { stage } => format!("approve stage {}", stage + 1),
        Command::NewBuild { build } => format!("new_build {build}"),
    }
}

/// The timeline of one run: every stage, every evaluation with its statistic and threshold, the
/// stop, every oracle's verdict and the outcome.
pub fn timeline(scenario: &Scenario, r: &RunRecord) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} run {} (seed {})", scenario.name, r.run, r.seed.0);
    describe_truth(&mut out, scenario, r);
    for e in &r.events {
        let at = e.at;
        let line = event(scenario, &e.kind);
        let _ = writeln!(out, "{at:>8}  {line}");
    }
    let _ = writeln!(out, "{:>8}  run ended ({})", r.ended_at, r.final_phase.name());
    describe_oracles(&mut out, r);
    describe_ending(&mut out, r);
    out
}

/// What the run's release really carried: its faults, or none (none at all, or none in this run
/// by the `faulty_share` draw).
fn describe_truth(out: &mut String, scenario: &Scenario, r: &RunRecord) {
    let truth = &scenario.world.release;
    let drawn_harmless = !truth.faults.is_empty() && !r.seed.carries_faults(truth);
    if truth.faults.is_empty() || drawn_harmless {
        let why = if drawn_harmless { " in this run (faulty_share draw)" } else { "" };
        let _ = writeln!(out, "truth: build {} carries no fault{why}", truth.build);
    }
    for f in truth.faults.iter().filter(|_| !drawn_harmless) {
        let what = match f.kind {
            FaultKind::CrashRate { multiplier } => format!("crash rate x{multiplier}"),
            FaultKind::Latency { multiplier } => format!("latency x{multiplier}"),
            FaultKind::Retention { multiplier } => format!("next-day return x{multiplier}"),
            FaultKind::Exploit { multiplier, spread, audited } => format!(
                "exploit minting {multiplier}x a run's coins, learnt in {spread} on average, {:.0}% audited",
                audited * 100.0
            ),
            FaultKind::SaveCorruption { probability } => {
                format!("corrupts {:.1}% of the saves it migrates", probability * 100.0)
            }
        };
        let _ = writeln!(
            out,
            "truth: build {} feature {}: {} from {}",
            truth.build, truth.features[f.feature], what, f.onset
        );
    }
}

/// One event of the policy, in words.
pub fn event(scenario: &Scenario, kind: &EventKind) -> String {
    match kind {
        EventKind::StageStarted { build, stage, share } => {
            format!("stage {} started: build {build} to {share} of players", stage + 1)
        }
        EventKind::GateHeld { stage, elapsed, treatment_sessions, holdback_sessions } => {
            format!(
                "gate of stage {} held after {elapsed}: {treatment_sessions} treatment and {holdback_sessions} holdback sessions",
                stage + 1
            )
        }
        EventKind::HoldbackPeriodStarted { build } => {
            format!("holdback period started for build {build}")
        }
        EventKind::Released { build } => format!("RELEASED build {build} to everyone"),
        EventKind::Evaluated(ev) => format!(
            "  {}",
            ev.describe(&scenario.policy.guardrails[ev.guardrail], &scenario.policy.cells)
        ),
        EventKind::SampleRatioChecked(ratio) => format!("  {ratio}"),
        EventKind::Paused { reason: why } => format!("PAUSED by {}", reason(scenario, why)),
        EventKind::Resumed { note } => format!("resumed by operator ({note})"),
        EventKind::Killed { build, scope: what, reason: why } => {
            format!("KILLED {} by {}", scope(scenario, build, *what), reason(scenario, why))
        }
        EventKind::StepStarted { step, attempt } => {
            format!("rollback {} started (attempt {attempt})", step_name(scenario, *step))
        }
        EventKind::StepSucceeded { step, attempt } => {
            format!("rollback {} succeeded (attempt {attempt})", step_name(scenario, *step))
        }
        EventKind::StepFailed { step, attempt, retry_at: Some(retry) } => {
            format!(
                "rollback {} FAILED (attempt {attempt}); retry at {retry}",
                step_name(scenario, *step)
            )
        }
        EventKind::StepFailed { step, attempt, retry_at: None } => {
            format!(
                "rollback {} FAILED (attempt {attempt}); no retry left",
                step_name(scenario, *step)
            )
        }
        EventKind::RolledBack { build } => {
            format!("ROLLED BACK build {build}: every step succeeded")
        }
        EventKind::RollbackFailed { build, step } => format!(
            "ROLLBACK FAILED for build {build}: {} ran out of retries; someone must act",
            step_name(scenario, *step)
        ),
        EventKind::Approved { stage } => format!("operator approved stage {}", stage + 1),
        EventKind::Refused { command: c, why } => {
            format!("refused operator command {}: {why}", command(c))
        }
    }
}

/// Every oracle's verdict on the run: ok, or how often it was violated and the first violation.
fn describe_oracles(out: &mut String, r: &RunRecord) {
    let _ = writeln!(out, "oracles:");
    for (i, o) in Oracle::ALL.iter().enumerate() {
        let count = r.violations.counts[i];
        if count == 0 {
            let _ = writeln!(out, "  {:<26} ok: {}", o.name(), o.guarantee());
        } else {
            let first = r
                .violations
                .first
                .iter()
                .find(|v| v.oracle == *o)
                .expect("a counted violation is kept");
            let _ = writeln!(
                out,
                "  {:<26} VIOLATED {count} times; first at {}: {}",
                o.name(),
                first.at,
                first.detail
            );
        }
    }
}

/// How the run ended: its outcome, a false stop, the rollback, and what the players' saves lost.
fn describe_ending(out: &mut String, r: &RunRecord) {
    let ttd = r.time_to_detect.map_or_else(String::new, |t| format!(", time to detect {t}"));
    let _ = writeln!(
        out,
        "outcome: {}{ttd}; {} players and {} sessions harmed; {} players exposed; stage reached {}",
        r.outcome.name(),
        r.harmed_players,
        r.harmed_sessions,
        r.exposed_players,
        r.stage_reached
    );
    if let Some(at) = r.false_stop_at {
        let _ = writeln!(
            out,
            "false stop: at {at} a guardrail stopped a part of the release doing no harm"
        );
    }
    if let Some(b) = &r.rollback {
        let took = b
            .ended
            .map_or_else(|| "did not end".to_string(), |e| format!("took {}", e - b.started));
        let _ = writeln!(out, "rollback: {} ({took}, {} step attempts)", b.result, b.attempts);
    }
    let d = &r.saves;
    if d.players_restored + d.items_lost + d.corrupted_saves_left > 0
        || d.coins_lost + d.exploit_coins_left > 0
    {
        let _ = writeln!(
            out,
            "player data: {} players affected, {} restored; {} legitimate coins and {} items lost, {} exploit coins left, {} saves still corrupt",
            d.players_affected,
            d.players_restored,
            d.coins_lost,
            d.items_lost,
            d.exploit_coins_left,
            d.corrupted_saves_left
        );
    }
}
