//! Every report column, typed: its CSV header, the unit of its cells and its label on the page, in
//! one place (the `columns!` declarations below). The tables are built column by column from these enums and the page
//! reads the CSV reports back through them, so no column is ever named by a string twice. Each
//! column is documented in `reports/README.md`.

/// What a column's cells hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// A run's, a variant's or a stage's number, or a seed.
    Id,
    /// A name or a sentence.
    Text,
    /// `true` or `false`.
    Flag,
    /// A number of things (sessions, players, coins, runs), or its mean or percentile.
    Count,
    /// Hours from the start of the rollout, or a duration in hours.
    Hours,
    Minutes,
    Milliseconds,
    /// A share from 0 to 1 (a rate over runs or sessions, or an interval's bound).
    Rate,
    /// A share from 0 to 100.
    Percent,
    /// A probability given in the policy (a guardrail's alpha).
    Probability,
    /// A multiple of a reference (a fault's size; the alpha used, as a multiple of the alpha).
    Multiplier,
}

/// A report column.
pub trait Column: Copy + 'static {
    /// Its header in the CSV file.
    fn header(self) -> &'static str;
    fn unit(self) -> Unit;
    /// How the page names it.
    fn label(self) -> &'static str;
}

/// Declares a table's columns, one line each: `Variant = "header", Unit, "page label";`.
macro_rules! columns {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $header:literal, $unit:ident, $label:literal;)* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant,)*
        }

        impl $name {
            /// Every column, in file order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];
            /// Every header, in file order.
            pub const HEADER: &'static [&'static str] = &[$($header,)*];
        }

        impl Column for $name {
            fn header(self) -> &'static str {
                match self {
                    $($name::$variant => $header,)*
                }
            }

            fn unit(self) -> Unit {
                match self {
                    $($name::$variant => Unit::$unit,)*
                }
            }

            fn label(self) -> &'static str {
                match self {
                    $($name::$variant => $label,)*
                }
            }
        }
    };
}

columns! {
    /// The columns of `<scenario>/runs.csv`: one row per run.
    RunsColumn {
    Run = "run", Id, "run";
    Seed = "seed", Id, "seed";
    Outcome = "outcome", Text, "outcome";
    Harmful = "harmful", Flag, "harmful";
    StopKind = "stop_kind", Text, "stop kind";
    StoppedBy = "stopped_by", Text, "stopped by";
    StopH = "stop_h", Hours, "stop (h)";
    DataPauseH = "data_pause_h", Hours, "data pause (h)";
    DataPauseReason = "data_pause_reason", Text, "data pause reason";
    TimeToDetectH = "time_to_detect_h", Hours, "time to detect (h)";
    FinalPhase = "final_phase", Text, "final phase";
    ReleasedH = "released_h", Hours, "released (h)";
    EndedH = "ended_h", Hours, "ended (h)";
    StageReached = "stage_reached", Count, "stage reached";
    Builds = "builds", Count, "builds";
    Sessions = "sessions", Count, "sessions";
    TreatmentSessions = "treatment_sessions", Count, "treatment sessions";
    HoldbackSessions = "holdback_sessions", Count, "holdback sessions";
    ExposedPlayers = "exposed_players", Count, "exposed players";
    ExposedSessions = "exposed_sessions", Count, "exposed sessions";
    HarmedPlayers = "harmed_players", Count, "harmed players";
    HarmedSessions = "harmed_sessions", Count, "harmed sessions";
    StopScope = "stop_scope", Text, "stop scope";
    Kills = "kills", Count, "kills";
    SessionsAfterStop = "sessions_after_stop", Count, "sessions after stop";
    AbortedSessions = "aborted_sessions", Count, "aborted sessions";
    RollbackResult = "rollback_result", Text, "rollback result";
    RollbackH = "rollback_h", Hours, "rollback (h)";
    RollbackAttempts = "rollback_attempts", Count, "rollback attempts";
    CoinsLost = "coins_lost", Count, "coins lost";
    ExploitCoinsLeft = "exploit_coins_left", Count, "exploit coins left";
    ItemsLost = "items_lost", Count, "items lost";
    CorruptedSavesLeft = "corrupted_saves_left", Count, "corrupted saves left";
    PlayersRestored = "players_restored", Count, "players restored";
    PlayersAffected = "players_affected", Count, "players affected";
    OracleViolations = "oracle_violations", Count, "oracle violations";
    Problem = "problem", Text, "problem";
    FalseStopH = "false_stop_h", Hours, "false stop (h)";
    }
}

columns! {
    /// The columns of `<scenario>/stages.csv`: one row per run and stage.
    StagesColumn {
    Run = "run", Id, "run";
    Build = "build", Text, "build";
    Stage = "stage", Id, "stage";
    Percent = "percent", Percent, "percent";
    StartH = "start_h", Hours, "start (h)";
    EndH = "end_h", Hours, "end (h)";
    EndReason = "end_reason", Text, "end reason";
    TreatmentSessions = "treatment_sessions", Count, "treatment sessions";
    HoldbackSessions = "holdback_sessions", Count, "holdback sessions";
    TreatmentCrashRate = "treatment_crash_rate", Rate, "treatment crash rate";
    HoldbackCrashRate = "holdback_crash_rate", Rate, "holdback crash rate";
    TreatmentLatencyMs = "treatment_latency_ms", Milliseconds, "treatment latency (ms)";
    HoldbackLatencyMs = "holdback_latency_ms", Milliseconds, "holdback latency (ms)";
    }
}

columns! {
    /// The columns of `summary.csv`: one row per scenario.
    SummaryColumn {
    Scenario = "scenario", Text, "scenario";
    Runs = "runs", Count, "runs";
    PanickedRuns = "panicked_runs", Count, "panicked runs";
    HarmfulRuns = "harmful_runs", Count, "harmful runs";
    Detected = "detected", Count, "detected";
    Missed = "missed", Count, "missed";
    FalseKills = "false_kills", Count, "false kills";
    CleanPasses = "clean_passes", Count, "clean passes";
    DataPauses = "data_pauses", Count, "data pauses";
    DetectionRate = "detection_rate", Rate, "detection rate [95%]";
    DetectionRateLo = "detection_rate_lo", Rate, "detection rate, 95% low";
    DetectionRateHi = "detection_rate_hi", Rate, "detection rate, 95% high";
    FalseKillRate = "false_kill_rate", Rate, "false-kill rate [95%]";
    FalseKillRateLo = "false_kill_rate_lo", Rate, "false kill rate, 95% low";
    FalseKillRateHi = "false_kill_rate_hi", Rate, "false kill rate, 95% high";
    DataPauseRate = "data_pause_rate", Rate, "data pause rate";
    DataPauseRateLo = "data_pause_rate_lo", Rate, "data pause rate, 95% low";
    DataPauseRateHi = "data_pause_rate_hi", Rate, "data pause rate, 95% high";
    TimeToDetectHMedian = "time_to_detect_h_median", Hours, "time to detect (h), median";
    TimeToDetectHP90 = "time_to_detect_h_p90", Hours, "time to detect (h), p90";
    TimeToDetectHMax = "time_to_detect_h_max", Hours, "time to detect (h), max";
    HarmedPlayersMean = "harmed_players_mean", Count, "players harmed, mean";
    HarmedPlayersP90 = "harmed_players_p90", Count, "players harmed, p90";
    HarmedSessionsMean = "harmed_sessions_mean", Count, "harmed sessions, mean";
    ExposedPlayersMean = "exposed_players_mean", Count, "exposed players, mean";
    ReleasedRate = "released_rate", Rate, "released [95%]";
    ReleasedRateLo = "released_rate_lo", Rate, "released rate, 95% low";
    ReleasedRateHi = "released_rate_hi", Rate, "released rate, 95% high";
    ReleaseHMedian = "release_h_median", Hours, "hours to 100%, median";
    Rollbacks = "rollbacks", Count, "rollbacks";
    RolledBackRate = "rolled_back_rate", Rate, "rolled back [95%]";
    RolledBackRateLo = "rolled_back_rate_lo", Rate, "rolled back rate, 95% low";
    RolledBackRateHi = "rolled_back_rate_hi", Rate, "rolled back rate, 95% high";
    RollbackHMedian = "rollback_h_median", Hours, "rollback (h), median";
    RollbackHP90 = "rollback_h_p90", Hours, "rollback (h), p90";
    RollbackAttemptsMean = "rollback_attempts_mean", Count, "rollback attempts, mean";
    CoinsLostMean = "coins_lost_mean", Count, "coins lost, mean";
    ExploitCoinsLeftMean = "exploit_coins_left_mean", Count, "exploit coins left, mean";
    ItemsLostMean = "items_lost_mean", Count, "items lost, mean";
    CorruptedSavesLeftMean = "corrupted_saves_left_mean", Count, "corrupted saves left, mean";
    PlayersRestoredMean = "players_restored_mean", Count, "players restored, mean";
    OracleViolationRuns = "oracle_violation_runs", Count, "runs with an oracle violation";
    Expectations = "expectations", Text, "verdict";
    FailedExpectations = "failed_expectations", Text, "failed expectations";
    FalseStops = "false_stops", Count, "false stops";
    FalseStopRate = "false_stop_rate", Rate, "false stop rate";
    FalseStopRateLo = "false_stop_rate_lo", Rate, "false stop rate, 95% low";
    FalseStopRateHi = "false_stop_rate_hi", Rate, "false stop rate, 95% high";
    Alpha = "alpha", Probability, "alpha";
    AlphaUsed = "alpha_used", Multiplier, "alpha used";
    AlphaUsedLo = "alpha_used_lo", Multiplier, "alpha used, 95% low";
    AlphaUsedHi = "alpha_used_hi", Multiplier, "alpha used, 95% high";
    }
}

columns! {
    /// The columns of `sweep/<name>.csv`: one row per policy variant.
    SweepColumn {
    Variant = "variant", Id, "variant";
    Schedule = "schedule", Text, "schedule";
    StagePercents = "stage_percents", Percent, "stage percents";
    StageHours = "stage_hours", Hours, "stage hours";
    HoldbackPercent = "holdback_percent", Percent, "holdback percent";
    Method = "method", Text, "method";
    Alpha = "alpha", Probability, "alpha";
    EvaluationIntervalMin = "evaluation_interval_min", Minutes, "evaluation interval (min)";
    FaultMultiplier = "fault_multiplier", Multiplier, "the fault's multiplier (×1.5 = half again as many crashes)";
    Runs = "runs", Count, "runs";
    ReleaseHMedian = "release_h_median", Hours, "hours to 100% on a clean release (median)";
    ReleaseHP90 = "release_h_p90", Hours, "release (h), p90";
    ReleasedRate = "released_rate", Rate, "released [95%]";
    ReleasedRateLo = "released_rate_lo", Rate, "released rate, 95% low";
    ReleasedRateHi = "released_rate_hi", Rate, "released rate, 95% high";
    FalseKillRate = "false_kill_rate", Rate, "false-kill rate [95%]";
    FalseKillRateLo = "false_kill_rate_lo", Rate, "false kill rate, 95% low";
    FalseKillRateHi = "false_kill_rate_hi", Rate, "false kill rate, 95% high";
    DetectionRate = "detection_rate", Rate, "detection rate (harmful runs stopped)";
    DetectionRateLo = "detection_rate_lo", Rate, "detection rate, 95% low";
    DetectionRateHi = "detection_rate_hi", Rate, "detection rate, 95% high";
    TimeToDetectHMedian = "time_to_detect_h_median", Hours, "time to detect (h), median";
    TimeToDetectHP90 = "time_to_detect_h_p90", Hours, "time to detect (h), p90";
    HarmedPlayersMean = "harmed_players_mean", Count, "players harmed per harmful run (mean)";
    HarmedPlayersP90 = "harmed_players_p90", Count, "players harmed per harmful run (90th percentile)";
    RolledBackRate = "rolled_back_rate", Rate, "rolled back [95%]";
    RolledBackRateLo = "rolled_back_rate_lo", Rate, "rolled back rate, 95% low";
    RolledBackRateHi = "rolled_back_rate_hi", Rate, "rolled back rate, 95% high";
    RollbackHP90 = "rollback_h_p90", Hours, "rollback (h), p90";
    CoinsLostMean = "coins_lost_mean", Count, "coins lost, mean";
    CorruptedSavesLeftMean = "corrupted_saves_left_mean", Count, "corrupted saves left, mean";
    OracleViolationRuns = "oracle_violation_runs", Count, "runs with an oracle violation";
    Pareto = "pareto", Text, "pareto";
    }
}

columns! {
    /// The columns of `backtest/<name>.csv`: one row per policy replayed on a recorded rollout.
    BacktestColumn {
    Policy = "policy", Id, "policy";
    LooksAgreed = "looks_agreed", Count, "looks agreed";
    DivergedAtMin = "diverged_at_min", Minutes, "parts at (min)";
    Decided = "decided", Text, "it would have made";
    Happened = "happened", Text, "the rollout made";
    Decision = "decision", Text, "decision at the end";
    TreatmentSessionsAfter = "treatment_sessions_after", Count, "treatment sessions recorded after";
    SessionsChange = "sessions_change", Count, "treatment sessions it would have added (saved: negative)";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn distinct(headers: &[&str]) -> bool {
        let mut sorted = headers.to_vec();
        sorted.sort_unstable();
        sorted.windows(2).all(|w| w[0] != w[1])
    }

    #[test]
    fn each_table_names_each_column_once_and_in_order() {
        assert!(distinct(RunsColumn::HEADER) && distinct(StagesColumn::HEADER));
        assert!(distinct(SummaryColumn::HEADER) && distinct(SweepColumn::HEADER));
        assert!(distinct(BacktestColumn::HEADER));
        for (i, c) in SummaryColumn::ALL.iter().enumerate() {
            assert_eq!(SummaryColumn::HEADER[i], c.header());
        }
        assert_eq!(SweepColumn::FaultMultiplier.unit(), Unit::Multiplier);
        assert_eq!(SummaryColumn::FalseKillRateLo.unit(), Unit::Rate);
        assert_eq!(RunsColumn::TimeToDetectH.unit(), Unit::Hours);
    }
}
