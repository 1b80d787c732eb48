//! A batch in numbers: rates with 95% Wilson intervals, time-to-detect and blast-radius
//! quantiles, oracle violations, and the scenario's expectations held or not.

use rollcage_sim::RunSeed;
use rollcage_stats::quantile::sorted_quantile;
use rollcage_stats::{Interval, wilson};

use crate::figures::{Figures, RunFigures};
use rollcage_harness::RunResult;
use rollcage_harness::oracle::{Oracle, Violation};
use rollcage_harness::run::Outcome;
use rollcage_model::Scenario;

/// The confidence of every interval in rollcage's reports.
pub const CONFIDENCE: f64 = 0.95;

/// A rate over runs, with its Wilson interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    pub successes: u64,
    pub trials: u64,
    pub value: f64,
    pub interval: Interval,
}

impl Rate {
    fn of(successes: u64, trials: u64) -> Option<Rate> {
        (trials > 0).then(|| Rate {
            successes,
            trials,
            value: successes as f64 / trials as f64,
            interval: wilson(successes, trials, CONFIDENCE),
        })
    }
}

/// How much of the policy's alpha budget its false kills used: the false-kill rate over the budget,
/// with the rate's Wilson interval divided likewise. Above 1, the policy kills good builds more
/// often than it promises.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AlphaUsed {
    pub value: f64,
    pub interval: Interval,
}

impl AlphaUsed {
    fn of(false_kill_rate: Option<Rate>, alpha: Option<f64>) -> Option<AlphaUsed> {
        let (rate, alpha) = (false_kill_rate?, alpha?);
        Some(AlphaUsed {
            value: rate.value / alpha,
            interval: Interval { lo: rate.interval.lo / alpha, hi: rate.interval.hi / alpha },
        })
    }
}

/// Median, 90th percentile and maximum of a sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    pub mean: f64,
    pub median: f64,
    pub p90: f64,
    pub max: f64,
}

impl Spread {
    fn of(mut values: Vec<f64>) -> Option<Spread> {
        values.sort_by(|a, b| a.partial_cmp(b).expect("no NaN in run figures"));
        let max = *values.last()?;
        Some(Spread {
            mean: values.iter().sum::<f64>() / values.len() as f64,
            median: sorted_quantile(&values, 0.5)?,
            p90: sorted_quantile(&values, 0.9)?,
            max,
        })
    }
}

/// One expectation of the scenario, judged.
#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    /// The expectation's key in the scenario file.
    pub name: &'static str,
    /// `<=` or `>=`.
    pub relation: &'static str,
    pub bound: f64,
    /// `None` when the batch cannot measure it (e.g. a detection rate without harmful runs).
    pub actual: Option<f64>,
    pub held: bool,
}

/// A run that broke an oracle, with the first violation in it.
#[derive(Clone, Debug, PartialEq)]
pub struct ViolatingRun {
    pub run: u32,
    pub seed: RunSeed,
    pub violation: Violation,
}

/// A run that panicked.
#[derive(Clone, Debug, PartialEq)]
pub struct PanickedRun {
    pub run: u32,
    pub seed: RunSeed,
    pub message: String,
}

/// Everything `summary.csv` and the human summary say about one scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    pub scenario: String,
    pub runs: u64,
    pub completed: u64,
    pub panicked: Vec<PanickedRun>,
    pub harmful_runs: u64,
    pub detected: u64,
    pub missed: u64,
    pub false_kills: u64,
    pub clean_passes: u64,
    /// Runs a data-quality check paused and nothing else stopped.
    pub data_pauses: u64,
    /// Detected among harmful runs.
    pub detection_rate: Option<Rate>,
    /// False kills among runs the release did no harm in when stopped or at all.
    pub false_kill_rate: Option<Rate>,
    /// Data pauses among all completed runs.
    pub data_pause_rate: Option<Rate>,
    /// Runs in which a guardrail stopped a part of the release doing no harm.
    pub false_stops: u64,
    /// False stops among all completed runs.
    pub false_stop_rate: Option<Rate>,
    /// The policy's alpha budget (see [`rollcage_policy::PolicyConfig::alpha_budget`]); `None`
    /// without a statistical guardrail.
    pub alpha: Option<f64>,
    /// The false-kill rate over `alpha`; `None` without a budget or without harmless runs.
    pub alpha_used: Option<AlphaUsed>,
    pub time_to_detect_h: Option<Spread>,
    pub harmed_players: Option<Spread>,
    /// Players harmed, over the harmful runs only (the blast radius of a bad build when a batch
    /// mixes harmless and harmful runs).
    pub harmed_players_when_harmful: Option<Spread>,
    pub harmed_sessions: Option<Spread>,
    pub exposed_players: Option<Spread>,
    pub released_rate: Option<Rate>,
    pub release_h: Option<Spread>,
    /// Runs in which the release was killed and its rollback plan ran.
    pub rollbacks: u64,
    /// Rollbacks that ended rolled back (the rest failed or were still running at the run's end).
    pub rolled_back_rate: Option<Rate>,
    /// Hours from the release kill to rolled back, over rolled-back runs.
    pub rollback_h: Option<Spread>,
    pub rollback_attempts: Option<Spread>,
    pub coins_lost: Option<Spread>,
    pub exploit_coins_left: Option<Spread>,
    pub items_lost: Option<Spread>,
    pub corrupted_saves_left: Option<Spread>,
    pub players_restored: Option<Spread>,
    /// Runs with at least one violation, per oracle.
    pub violation_runs_by_oracle: [u64; Oracle::COUNT],
    pub violation_runs: u64,
    /// The first violating runs (at most five), for the repro commands.
    pub violating: Vec<ViolatingRun>,
    pub checks: Vec<Check>,
}

impl Summary {
    /// Whether every expectation held and no oracle was violated beyond what the scenario allows.
    /// Panics are judged separately (exit code 3).
    pub fn held(&self) -> bool {
        self.checks.iter().all(|c| c.held)
    }

    pub fn from_results(scenario: &Scenario, results: &[RunResult]) -> Summary {
        let figures: Vec<RunFigures> = results.iter().map(RunFigures::of).collect();
        Summary::from_figures(scenario, &figures)
    }

    /// The summary of a batch from its runs' figures, in run order (a batch in memory, or the
    /// shards of one read back).
    pub fn from_figures(scenario: &Scenario, runs: &[RunFigures]) -> Summary {
        let (records, panicked) = completed(runs);
        let count = |o: Outcome| records.iter().filter(|(_, f)| f.outcome == o).count() as u64;
        let (detected, missed, false_kills, clean_passes) = (
            count(Outcome::Detected),
            count(Outcome::Missed),
            count(Outcome::FalseKill),
            count(Outcome::CleanPass),
        );
        let data_pauses = count(Outcome::DataPause);
        let harmful_data_pauses =
            records.iter().filter(|(_, f)| f.outcome == Outcome::DataPause && f.harmful).count()
                as u64;
        let figure = |get: &dyn Fn(&Figures) -> Option<f64>| {
            Spread::of(records.iter().filter_map(|(_, f)| get(f)).collect())
        };
        let (violation_runs_by_oracle, violation_runs, violating) = violations(&records);
        let released = records.iter().filter(|(_, f)| f.released).count() as u64;
        let false_stops = records.iter().filter(|(_, f)| f.false_stop_h.is_some()).count() as u64;
        let false_kill_rate =
            Rate::of(false_kills, false_kills + clean_passes + data_pauses - harmful_data_pauses);
        let alpha = scenario.policy.alpha_budget();
        let rollbacks = records.iter().filter_map(|(_, f)| f.rollback).collect::<Vec<_>>();
        let mut summary = Summary {
            scenario: scenario.name.clone(),
            runs: runs.len() as u64,
            completed: records.len() as u64,
            panicked,
            harmful_runs: records.iter().filter(|(_, f)| f.harmful).count() as u64,
            detected,
            missed,
            false_kills,
            clean_passes,
            data_pauses,
            detection_rate: Rate::of(detected, detected + missed + harmful_data_pauses),
            false_kill_rate,
            data_pause_rate: Rate::of(data_pauses, records.len() as u64),
            false_stops,
            false_stop_rate: Rate::of(false_stops, records.len() as u64),
            alpha,
            alpha_used: AlphaUsed::of(false_kill_rate, alpha),
            time_to_detect_h: figure(&|f| f.time_to_detect_h),
            harmed_players: figure(&|f| Some(f.harmed_players as f64)),
            harmed_players_when_harmful: figure(&|f| f.harmful.then_some(f.harmed_players as f64)),
            harmed_sessions: figure(&|f| Some(f.harmed_sessions as f64)),
            exposed_players: figure(&|f| Some(f.exposed_players as f64)),
            released_rate: Rate::of(released, records.len() as u64),
            release_h: figure(&|f| f.release_h),
            rollbacks: rollbacks.len() as u64,
            rolled_back_rate: Rate::of(
                rollbacks.iter().filter(|b| b.rolled_back).count() as u64,
                rollbacks.len() as u64,
            ),
            rollback_h: figure(&|f| f.rollback.and_then(|b| b.hours)),
            rollback_attempts: figure(&|f| f.rollback.map(|b| f64::from(b.attempts))),
            coins_lost: figure(&|f| Some(f.saves.coins_lost as f64)),
            exploit_coins_left: figure(&|f| Some(f.saves.exploit_coins_left as f64)),
            items_lost: figure(&|f| Some(f.saves.items_lost as f64)),
            corrupted_saves_left: figure(&|f| Some(f.saves.corrupted_saves_left as f64)),
            players_restored: figure(&|f| Some(f.saves.players_restored as f64)),
            violation_runs_by_oracle,
            violation_runs,
            violating,
            checks: Vec::new(),
        };
        summary.checks = summary.judge(scenario);
        summary
    }

    /// The scenario's expectations judged on this summary, in the order their keys are declared
    /// in [`Expectations`](rollcage_model::Expectations); a bound the scenario leaves out is not judged.
    fn judge(&self, scenario: &Scenario) -> Vec<Check> {
        let e = &scenario.expect;
        [
            at_most(
                "false_kill_rate_max",
                e.false_kill_rate_max,
                self.false_kill_rate.map(|r| r.value),
            ),
            at_most(
                "false_stop_rate_max",
                e.false_stop_rate_max,
                self.false_stop_rate.map(|r| r.value),
            ),
            at_most(
                "data_pause_rate_max",
                e.data_pause_rate_max,
                self.data_pause_rate.map(|r| r.value),
            ),
            at_least(
                "data_pause_rate_min",
                e.data_pause_rate_min,
                self.data_pause_rate.map(|r| r.value),
            ),
            at_least(
                "detection_rate_min",
                e.detection_rate_min,
                self.detection_rate.map(|r| r.value),
            ),
            at_most(
                "time_to_detect_h_p90_max",
                e.time_to_detect_h_p90_max,
                self.time_to_detect_h.map(|s| s.p90),
            ),
            at_most(
                "harmed_players_mean_max",
                e.harmed_players_mean_max,
                self.harmed_players.map(|s| s.mean),
            ),
            at_least("released_rate_min", e.released_rate_min, self.released_rate.map(|r| r.value)),
            at_least(
                "rolled_back_rate_min",
                e.rolled_back_rate_min,
                self.rolled_back_rate.map(|r| r.value),
            ),
            at_most("rollback_h_p90_max", e.rollback_h_p90_max, self.rollback_h.map(|s| s.p90)),
            at_most("coins_lost_mean_max", e.coins_lost_mean_max, self.coins_lost.map(|s| s.mean)),
            at_most(
                "exploit_coins_left_mean_max",
                e.exploit_coins_left_mean_max,
                self.exploit_coins_left.map(|s| s.mean),
            ),
            at_most(
                "corrupted_saves_left_mean_max",
                e.corrupted_saves_left_mean_max,
                self.corrupted_saves_left.map(|s| s.mean),
            ),
            at_most(
                "oracle_violation_runs_max",
                Some(e.oracle_violation_runs_max as f64),
                Some(self.violation_runs as f64),
            ),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// The completed runs of a batch with their figures, and the runs that panicked, in run order.
fn completed(runs: &[RunFigures]) -> (Vec<(&RunFigures, &Figures)>, Vec<PanickedRun>) {
    let mut records: Vec<(&RunFigures, &Figures)> = Vec::with_capacity(runs.len());
    let mut panicked = Vec::new();
    for r in runs {
        match &r.figures {
            Ok(f) => records.push((r, f)),
            Err(message) => {
                panicked.push(PanickedRun { run: r.run, seed: r.seed, message: message.clone() });
            }
        }
    }
    (records, panicked)
}

/// Runs with at least one violation, per oracle and of any oracle, and the first violating runs
/// (at most five), each with its first violation.
fn violations(
    records: &[(&RunFigures, &Figures)],
) -> ([u64; Oracle::COUNT], u64, Vec<ViolatingRun>) {
    let mut violation_runs_by_oracle = [0; Oracle::COUNT];
    let mut violating = Vec::new();
    for (r, f) in records {
        for (i, &c) in f.violation_counts.iter().enumerate() {
            violation_runs_by_oracle[i] += u64::from(c > 0);
        }
        if let (Some(first), true) = (&f.first_violation, violating.len() < 5) {
            violating.push(ViolatingRun { run: r.run, seed: r.seed, violation: first.clone() });
        }
    }
    let violation_runs =
        records.iter().filter(|(_, f)| f.violation_counts.iter().any(|&c| c > 0)).count() as u64;
    (violation_runs_by_oracle, violation_runs, violating)
}

/// An expectation that `actual` is at most `bound`, if the scenario sets one.
fn at_most(name: &'static str, bound: Option<f64>, actual: Option<f64>) -> Option<Check> {
    bound.map(|b| Check {
        name,
        relation: "<=",
        bound: b,
        actual,
        held: actual.is_some_and(|a| a <= b),
    })
}

/// An expectation that `actual` is at least `bound`, if the scenario sets one.
fn at_least(name: &'static str, bound: Option<f64>, actual: Option<f64>) -> Option<Check> {
    bound.map(|b| Check {
        name,
        relation: ">=",
        bound: b,
        actual,
        held: actual.is_some_and(|a| a >= b),
    })
}
