//! The report tables: `runs.csv`, `stages.csv` and `summary.csv`, as rows of text cells.
//!
//! The columns are a stable interface (designers build spreadsheets on them, CI diffs them), each
//! documented in `reports/README.md`. Numbers are written with a fixed number of decimals so that
//! the same batch always gives the same bytes; an empty cell means "not applicable" (e.g. a time
//! to detect in a run that detected nothing).

use crate::columns::{RunsColumn, StagesColumn, SummaryColumn};
use crate::summary::{AlphaUsed, Rate, Spread, Summary};
pub use crate::table::Table;
use rollcage_harness::RunResult;
use rollcage_harness::run::{RunRecord, StageRecord};

fn fixed(value: f64, decimals: usize) -> String {
    format!("{value:.decimals$}")
}

pub(crate) fn opt(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(String::new, |v| fixed(v, decimals))
}

fn hours(minutes: Option<rollcage_policy::Minutes>) -> String {
    opt(minutes.map(|m| m.hours()), 2)
}

/// Every header of `runs.csv`, in file order.
pub const RUNS_HEADER: &[&str] = RunsColumn::HEADER;

/// Run `r`'s cell in column `c` of `runs.csv`.
fn run_cell(r: &RunRecord, c: RunsColumn) -> String {
    use RunsColumn as C;
    let stop = r.stop.as_ref();
    let rollback = r.rollback.as_ref();
    match c {
        C::Run => r.run.to_string(),
        C::Seed => r.seed.0.to_string(),
        C::Outcome => r.outcome.name().to_string(),
        C::Harmful => r.harmful.to_string(),
        C::StopKind => stop.map_or_else(String::new, |s| s.kind.to_string()),
        C::StoppedBy => stop.map_or_else(String::new, |s| s.by.clone()),
        C::StopH => hours(stop.map(|s| s.at)),
        C::DataPauseH => hours(r.data_pause.map(|(at, _)| at)),
        C::DataPauseReason => r.data_pause.map_or_else(String::new, |(_, why)| why.to_string()),
        C::TimeToDetectH => hours(r.time_to_detect),
        C::FinalPhase => r.final_phase.name().to_string(),
        C::ReleasedH => hours(r.released_at),
        C::EndedH => hours(Some(r.ended_at)),
        C::StageReached => r.stage_reached.to_string(),
        C::Builds => r.builds.to_string(),
        C::Sessions => r.sessions.to_string(),
        C::TreatmentSessions => r.treatment_sessions.to_string(),
        C::HoldbackSessions => r.holdback_sessions.to_string(),
        C::ExposedPlayers => r.exposed_players.to_string(),
        C::ExposedSessions => r.exposed_sessions.to_string(),
        C::HarmedPlayers => r.harmed_players.to_string(),
        C::HarmedSessions => r.harmed_sessions.to_string(),
        C::StopScope => stop.map_or_else(String::new, |s| s.scope.clone()),
        C::Kills => r.kills.to_string(),
        C::SessionsAfterStop => r.sessions_after_stop.to_string(),
        C::AbortedSessions => r.aborted_sessions.to_string(),
        C::RollbackResult => rollback.map_or_else(String::new, |b| b.result.to_string()),
        C::RollbackH => hours(rollback.and_then(|b| b.ended.map(|e| e - b.started))),
        C::RollbackAttempts => rollback.map_or_else(String::new, |b| b.attempts.to_string()),
        C::CoinsLost => r.saves.coins_lost.to_string(),
        C::ExploitCoinsLeft => r.saves.exploit_coins_left.to_string(),
        C::ItemsLost => r.saves.items_lost.to_string(),
        C::CorruptedSavesLeft => r.saves.corrupted_saves_left.to_string(),
        C::PlayersRestored => r.saves.players_restored.to_string(),
        C::PlayersAffected => r.saves.players_affected.to_string(),
        C::OracleViolations => r.violations.total().to_string(),
        C::Problem => {
            r.violations.first.first().map_or_else(String::new, |v| {
                format!("{} at {}: {}", v.oracle.name(), v.at, v.detail)
            })
        }
        C::FalseStopH => hours(r.false_stop_at),
    }
}

/// One row per run, in run order; a panicked run has its outcome `panicked` and the panic message
/// as its problem, and every other cell empty.
pub fn runs_table(results: &[RunResult]) -> Table {
    let rows = results
        .iter()
        .map(|result| match result {
            RunResult::Done(r) => RunsColumn::ALL.iter().map(|&c| run_cell(r, c)).collect(),
            RunResult::Panicked { run, seed, message } => RunsColumn::ALL
                .iter()
                .map(|c| match c {
                    RunsColumn::Run => run.to_string(),
                    RunsColumn::Seed => seed.0.to_string(),
                    RunsColumn::Outcome => "panicked".to_string(),
                    RunsColumn::Problem => format!("panic: {message}"),
                    _ => String::new(),
                })
                .collect(),
        })
        .collect();
    Table { header: RUNS_HEADER, rows }
}

/// Every header of `stages.csv`, in file order.
pub const STAGES_HEADER: &[&str] = StagesColumn::HEADER;

/// The cell in column `c` of `stages.csv` of run `r`'s stage `s`.
fn stage_cell(r: &RunRecord, s: &StageRecord, c: StagesColumn) -> String {
    use StagesColumn as C;
    match c {
        C::Run => r.run.to_string(),
        C::Build => s.build.to_string(),
        C::Stage => s.stage.map_or_else(|| "holdback".to_string(), |i| (i + 1).to_string()),
        C::Percent => fixed(s.share.percent(), 2),
        C::StartH => hours(Some(s.start)),
        C::EndH => hours(Some(s.end)),
        C::EndReason => s.end_reason.to_string(),
        C::TreatmentSessions => s.treatment.sessions.to_string(),
        C::HoldbackSessions => s.holdback.sessions.to_string(),
        C::TreatmentCrashRate => opt(s.treatment.crash_rate(), 5),
        C::HoldbackCrashRate => opt(s.holdback.crash_rate(), 5),
        C::TreatmentLatencyMs => opt(s.treatment.latency_ms_mean(), 2),
        C::HoldbackLatencyMs => opt(s.holdback.latency_ms_mean(), 2),
    }
}

/// One row per run and stage (the holdback period is the stage `holdback`).
pub fn stages_table(results: &[RunResult]) -> Table {
    let mut rows = Vec::new();
    for r in results.iter().filter_map(|r| match r {
        RunResult::Done(r) => Some(r),
        RunResult::Panicked { .. } => None,
    }) {
        for s in &r.stages {
            rows.push(StagesColumn::ALL.iter().map(|&c| stage_cell(r, s, c)).collect());
        }
    }
    Table { header: STAGES_HEADER, rows }
}

/// Every header of `summary.csv`, in file order.
pub const SUMMARY_HEADER: &[&str] = SummaryColumn::HEADER;

/// A rate's value, or the low or high bound of its interval (`part` 0, 1 or 2), to 4 decimals.
pub(crate) fn rate_cell(rate: Option<Rate>, part: usize) -> String {
    opt(rate.map(|r| [r.value, r.interval.lo, r.interval.hi][part]), 4)
}

/// Summary `s`'s cell in column `c` of `summary.csv`.
fn summary_cell(s: &Summary, c: SummaryColumn) -> String {
    use SummaryColumn as C;
    let spread = |x: Option<Spread>, f: fn(Spread) -> f64, d| opt(x.map(f), d);
    let alpha_used = |f: fn(AlphaUsed) -> f64| opt(s.alpha_used.map(f), 4);
    match c {
        C::Scenario => s.scenario.clone(),
        C::Runs => s.runs.to_string(),
        C::PanickedRuns => s.panicked.len().to_string(),
        C::HarmfulRuns => s.harmful_runs.to_string(),
        C::Detected => s.detected.to_string(),
        C::Missed => s.missed.to_string(),
        C::FalseKills => s.false_kills.to_string(),
        C::CleanPasses => s.clean_passes.to_string(),
        C::DataPauses => s.data_pauses.to_string(),
        C::DetectionRate => rate_cell(s.detection_rate, 0),
        C::DetectionRateLo => rate_cell(s.detection_rate, 1),
        C::DetectionRateHi => rate_cell(s.detection_rate, 2),
        C::FalseKillRate => rate_cell(s.false_kill_rate, 0),
        C::FalseKillRateLo => rate_cell(s.false_kill_rate, 1),
        C::FalseKillRateHi => rate_cell(s.false_kill_rate, 2),
        C::DataPauseRate => rate_cell(s.data_pause_rate, 0),
        C::DataPauseRateLo => rate_cell(s.data_pause_rate, 1),
        C::DataPauseRateHi => rate_cell(s.data_pause_rate, 2),
        C::TimeToDetectHMedian => spread(s.time_to_detect_h, |x| x.median, 2),
        C::TimeToDetectHP90 => spread(s.time_to_detect_h, |x| x.p90, 2),
        C::TimeToDetectHMax => spread(s.time_to_detect_h, |x| x.max, 2),
        C::HarmedPlayersMean => spread(s.harmed_players, |x| x.mean, 1),
        C::HarmedPlayersP90 => spread(s.harmed_players, |x| x.p90, 1),
        C::HarmedSessionsMean => spread(s.harmed_sessions, |x| x.mean, 1),
        C::ExposedPlayersMean => spread(s.exposed_players, |x| x.mean, 1),
        C::ReleasedRate => rate_cell(s.released_rate, 0),
        C::ReleasedRateLo => rate_cell(s.released_rate, 1),
        C::ReleasedRateHi => rate_cell(s.released_rate, 2),
        C::ReleaseHMedian => spread(s.release_h, |x| x.median, 2),
        C::Rollbacks => s.rollbacks.to_string(),
        C::RolledBackRate => rate_cell(s.rolled_back_rate, 0),
        C::RolledBackRateLo => rate_cell(s.rolled_back_rate, 1),
        C::RolledBackRateHi => rate_cell(s.rolled_back_rate, 2),
        C::RollbackHMedian => spread(s.rollback_h, |x| x.median, 2),
        C::RollbackHP90 => spread(s.rollback_h, |x| x.p90, 2),
        C::RollbackAttemptsMean => spread(s.rollback_attempts, |x| x.mean, 2),
        C::CoinsLostMean => spread(s.coins_lost, |x| x.mean, 1),
        C::ExploitCoinsLeftMean => spread(s.exploit_coins_left, |x| x.mean, 1),
        C::ItemsLostMean => spread(s.items_lost, |x| x.mean, 2),
        C::CorruptedSavesLeftMean => spread(s.corrupted_saves_left, |x| x.mean, 2),
        C::PlayersRestoredMean => spread(s.players_restored, |x| x.mean, 1),
        C::OracleViolationRuns => s.violation_runs.to_string(),
        C::Expectations => if s.held() { "held" } else { "failed" }.to_string(),
        C::FailedExpectations => {
            let failed: Vec<&str> = s.checks.iter().filter(|c| !c.held).map(|c| c.name).collect();
            failed.join(" ")
        }
        C::FalseStops => s.false_stops.to_string(),
        C::FalseStopRate => rate_cell(s.false_stop_rate, 0),
        C::FalseStopRateLo => rate_cell(s.false_stop_rate, 1),
        C::FalseStopRateHi => rate_cell(s.false_stop_rate, 2),
        C::Alpha => opt(s.alpha, 6),
        C::AlphaUsed => alpha_used(|a| a.value),
        C::AlphaUsedLo => alpha_used(|a| a.interval.lo),
        C::AlphaUsedHi => alpha_used(|a| a.interval.hi),
    }
}

/// One row per scenario.
pub fn summary_table(summaries: &[Summary]) -> Table {
    let rows =
        summaries.iter().map(|s| SummaryColumn::ALL.iter().map(|&c| summary_cell(s, c)).collect());
    Table { header: SUMMARY_HEADER, rows: rows.collect() }
}
