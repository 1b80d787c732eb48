//! The report tables: `runs.csv`, `stages.csv` and `summary.csv`, as rows of text cells.
//!
//! The columns are a stable interface (designers build spreadsheets on them, CI diffs them), each
//! documented in `reports/README.md`. Numbers are written with a fixed number of decimals so that
//! the same batch always gives the same bytes; an empty cell means "not applicable" (e.g. a time
//! to detect in a run that detected nothing).

use crate::batch::RunResult;
use crate::run::RunRecord;
use crate::summary::{Rate, Spread, Summary};
pub use crate::table::Table;

fn fixed(value: f64, decimals: usize) -> String {
    format!("{value:.decimals$}")
}

pub(crate) fn opt(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(String::new, |v| fixed(v, decimals))
}

/// The index of column `name` in `header`.
fn column(header: &[&str], name: &str) -> usize {
    header.iter().position(|c| *c == name).expect("a column of the header")
}

fn hours(minutes: Option<rollcage_policy::Minutes>) -> String {
    opt(minutes.map(|m| m.hours()), 2)
}

pub const RUNS_HEADER: &[&str] = &[
    "run",
    "seed",
    "outcome",
    "harmful",
    "stop_kind",
    "stopped_by",
    "stop_h",
    "data_pause_h",
    "data_pause_reason",
    "time_to_detect_h",
    "final_phase",
    "released_h",
    "ended_h",
    "stage_reached",
    "builds",
    "sessions",
    "treatment_sessions",
    "holdback_sessions",
    "exposed_players",
    "exposed_sessions",
    "harmed_players",
    "harmed_sessions",
    "stop_scope",
    "kills",
    "sessions_after_stop",
    "aborted_sessions",
    "rollback_result",
    "rollback_h",
    "rollback_attempts",
    "coins_lost",
    "exploit_coins_left",
    "items_lost",
    "corrupted_saves_left",
    "players_restored",
    "players_affected",
    "oracle_violations",
    "problem",
    "false_stop_h",
];

fn run_row(r: &RunRecord) -> Vec<String> {
    let problem = r
        .violations
        .first
        .first()
        .map_or_else(String::new, |v| format!("{} at {}: {}", v.oracle.name(), v.at, v.detail));
    vec![
        r.run.to_string(),
        r.seed.0.to_string(),
        r.outcome.name().to_string(),
        r.harmful.to_string(),
        r.stop.as_ref().map_or_else(String::new, |s| s.kind.to_string()),
        r.stop.as_ref().map_or_else(String::new, |s| s.by.clone()),
        hours(r.stop.as_ref().map(|s| s.at)),
        hours(r.data_pause.map(|(at, _)| at)),
        r.data_pause.map_or_else(String::new, |(_, why)| why.to_string()),
        hours(r.time_to_detect),
        r.final_phase.name().to_string(),
        hours(r.released_at),
        hours(Some(r.ended_at)),
        r.stage_reached.to_string(),
        r.builds.to_string(),
        r.sessions.to_string(),
        r.treatment_sessions.to_string(),
        r.holdback_sessions.to_string(),
        r.exposed_players.to_string(),
        r.exposed_sessions.to_string(),
        r.harmed_players.to_string(),
        r.harmed_sessions.to_string(),
        r.stop.as_ref().map_or_else(String::new, |s| s.scope.clone()),
        r.kills.to_string(),
        r.sessions_after_stop.to_string(),
        r.aborted_sessions.to_string(),
        r.rollback.as_ref().map_or_else(String::new, |b| b.result.to_string()),
        hours(r.rollback.as_ref().and_then(|b| b.ended.map(|e| e - b.started))),
        r.rollback.as_ref().map_or_else(String::new, |b| b.attempts.to_string()),
        r.saves.coins_lost.to_string(),
        r.saves.exploit_coins_left.to_string(),
        r.saves.items_lost.to_string(),
        r.saves.corrupted_saves_left.to_string(),
        r.saves.players_restored.to_string(),
        r.saves.players_affected.to_string(),
        r.violations.total().to_string(),
        problem,
        hours(r.false_stop_at),
    ]
}

/// One row per run, in run order; a panicked run has its outcome `panicked` and the panic message
/// as its problem.
pub fn runs_table(results: &[RunResult]) -> Table {
    let rows = results
        .iter()
        .map(|result| match result {
            RunResult::Done(r) => run_row(r),
            RunResult::Panicked { run, seed, message } => {
                let mut row = vec![String::new(); RUNS_HEADER.len()];
                row[0] = run.to_string();
                row[1] = seed.0.to_string();
                row[2] = "panicked".to_string();
                row[column(RUNS_HEADER, "problem")] = format!("panic: {message}");
                row
            }
        })
        .collect();
    Table { header: RUNS_HEADER, rows }
}

pub const STAGES_HEADER: &[&str] = &[
    "run",
    "build",
    "stage",
    "percent",
    "start_h",
    "end_h",
    "end_reason",
    "treatment_sessions",
    "holdback_sessions",
    "treatment_crash_rate",
    "holdback_crash_rate",
    "treatment_latency_ms",
    "holdback_latency_ms",
];

/// One row per run and stage (the holdback period is the stage `holdback`).
pub fn stages_table(results: &[RunResult]) -> Table {
    let mut rows = Vec::new();
    for r in results.iter().filter_map(|r| match r {
        RunResult::Done(r) => Some(r),
        RunResult::Panicked { .. } => None,
    }) {
        for s in &r.stages {
            rows.push(vec![
                r.run.to_string(),
                s.build.to_string(),
                s.stage.map_or_else(|| "holdback".to_string(), |i| (i + 1).to_string()),
                fixed(s.share.percent(), 2),
                hours(Some(s.start)),
                hours(Some(s.end)),
                s.end_reason.to_string(),
                s.treatment.sessions.to_string(),
                s.holdback.sessions.to_string(),
                opt(s.treatment.crash_rate(), 5),
                opt(s.holdback.crash_rate(), 5),
                opt(s.treatment.latency_ms_mean(), 2),
                opt(s.holdback.latency_ms_mean(), 2),
            ]);
        }
    }
    Table { header: STAGES_HEADER, rows }
}

pub const SUMMARY_HEADER: &[&str] = &[
    "scenario",
    "runs",
    "panicked_runs",
    "harmful_runs",
    "detected",
    "missed",
    "false_kills",
    "clean_passes",
    "data_pauses",
    "detection_rate",
    "detection_rate_lo",
    "detection_rate_hi",
    "false_kill_rate",
    "false_kill_rate_lo",
    "false_kill_rate_hi",
    "data_pause_rate",
    "data_pause_rate_lo",
    "data_pause_rate_hi",
    "time_to_detect_h_median",
    "time_to_detect_h_p90",
    "time_to_detect_h_max",
    "harmed_players_mean",
    "harmed_players_p90",
    "harmed_sessions_mean",
    "exposed_players_mean",
    "released_rate",
    "released_rate_lo",
    "released_rate_hi",
    "release_h_median",
    "rollbacks",
    "rolled_back_rate",
    "rolled_back_rate_lo",
    "rolled_back_rate_hi",
    "rollback_h_median",
    "rollback_h_p90",
    "rollback_attempts_mean",
    "coins_lost_mean",
    "exploit_coins_left_mean",
    "items_lost_mean",
    "corrupted_saves_left_mean",
    "players_restored_mean",
    "oracle_violation_runs",
    "expectations",
    "failed_expectations",
    "false_stops",
    "false_stop_rate",
    "false_stop_rate_lo",
    "false_stop_rate_hi",
    "alpha",
    "alpha_used",
    "alpha_used_lo",
    "alpha_used_hi",
];

pub(crate) fn rate_cells(rate: Option<Rate>) -> [String; 3] {
    [
        opt(rate.map(|r| r.value), 4),
        opt(rate.map(|r| r.interval.lo), 4),
        opt(rate.map(|r| r.interval.hi), 4),
    ]
}

/// One row per scenario.
pub fn summary_table(summaries: &[Summary]) -> Table {
    let rows = summaries
        .iter()
        .map(|s| {
            let spread = |x: Option<Spread>, f: fn(Spread) -> f64, d| opt(x.map(f), d);
            let failed: Vec<&str> = s.checks.iter().filter(|c| !c.held).map(|c| c.name).collect();
            let mut row = vec![
                s.scenario.clone(),
                s.runs.to_string(),
                s.panicked.len().to_string(),
                s.harmful_runs.to_string(),
                s.detected.to_string(),
                s.missed.to_string(),
                s.false_kills.to_string(),
                s.clean_passes.to_string(),
                s.data_pauses.to_string(),
            ];
            row.extend(rate_cells(s.detection_rate));
            row.extend(rate_cells(s.false_kill_rate));
            row.extend(rate_cells(s.data_pause_rate));
            row.extend([
                spread(s.time_to_detect_h, |x| x.median, 2),
                spread(s.time_to_detect_h, |x| x.p90, 2),
                spread(s.time_to_detect_h, |x| x.max, 2),
                spread(s.harmed_players, |x| x.mean, 1),
                spread(s.harmed_players, |x| x.p90, 1),
                spread(s.harmed_sessions, |x| x.mean, 1),
                spread(s.exposed_players, |x| x.mean, 1),
            ]);
            row.extend(rate_cells(s.released_rate));
            row.push(spread(s.release_h, |x| x.median, 2));
            row.push(s.rollbacks.to_string());
            row.extend(rate_cells(s.rolled_back_rate));
            row.extend([
                spread(s.rollback_h, |x| x.median, 2),
                spread(s.rollback_h, |x| x.p90, 2),
                spread(s.rollback_attempts, |x| x.mean, 2),
                spread(s.coins_lost, |x| x.mean, 1),
                spread(s.exploit_coins_left, |x| x.mean, 1),
                spread(s.items_lost, |x| x.mean, 2),
                spread(s.corrupted_saves_left, |x| x.mean, 2),
                spread(s.players_restored, |x| x.mean, 1),
                s.violation_runs.to_string(),
                if s.held() { "held" } else { "failed" }.to_string(),
                failed.join(" "),
                s.false_stops.to_string(),
            ]);
            row.extend(rate_cells(s.false_stop_rate));
            row.extend([
                opt(s.alpha, 6),
                opt(s.alpha_used.map(|a| a.value), 4),
                opt(s.alpha_used.map(|a| a.interval.lo), 4),
                opt(s.alpha_used.map(|a| a.interval.hi), 4),
            ]);
            debug_assert_eq!(row.len(), SUMMARY_HEADER.len());
            row
        })
        .collect();
    Table { header: SUMMARY_HEADER, rows }
}
