//! Standard-error calibration: does the spread of a guardrail's estimate across runs match the
//! standard error the guardrail reports?
//!
//! Every statistical guardrail turns its estimate into a statistic with its standard error, so
//! every error rate it promises rests on that standard error being right. This module checks it
//! the direct way: it runs a null world many times, with the policy dry (every guardrail evaluated
//! at every look, none acting, so every run follows the schedule and no run is dropped for having
//! crossed a boundary), and compares, look by look, the standard deviation of the estimates across
//! runs with the standard error the guardrail reported. A ratio above 1 means the guardrail is
//! more sure of itself than the data allow, and its z statistics are too large; below 1, the
//! other way.
//!
//! The reported standard errors are averaged as variances: the ratio is the spread over the root
//! mean square standard error, √(mean of the reported variances), which is 1 exactly when the
//! variance estimator is unbiased. The plain mean of standard errors is smaller than that whenever
//! the standard error varies from run to run (Jensen's inequality), and among strongly different
//! players it varies a lot: a ratio over the mean standard error would call even the exact
//! variance overconfident. The mean is printed beside it.
//!
//! The ratio's interval is a delta-method one on the log scale from the runs' own moments: the
//! sample variance's variance from the estimates' fourth central moment (so heavy tails widen it,
//! as they should), the mean reported variance's variance, and their covariance.

use rayon::prelude::*;
use rollcage_policy::{Command, EventKind, Method};
use rollcage_sim::RunSeed;

use crate::run::{RunOptions, RunRecord, run_with_seed};
use rollcage_model::Scenario;

/// The level of the ratio's interval.
const Z_95: f64 = 1.959_963_984_540_054;

/// The band a calibrated guardrail's ratio stays in (the promise `calibrate-se` checks).
pub const CALIBRATED: (f64, f64) = (0.95, 1.05);

/// Which look of which guardrail: guardrail index, segment cell, stage (the holdback period counts
/// as the stage after the last) and the look's number within the stage (from 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LookKey {
    pub guardrail: usize,
    pub cell: Option<usize>,
    pub stage: usize,
    pub look: u32,
}

/// One look's calibration over the runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LookCalibration {
    pub key: LookKey,
    /// When the look happened, in hours since the rollout began (the runs' mean).
    pub hours: f64,
    /// Runs whose guardrail had an estimate and a standard error at this look.
    pub runs: u32,
    pub estimate_mean: f64,
    /// The standard deviation of the estimates across runs.
    pub estimate_sd: f64,
    /// The mean standard error the guardrail reported.
    pub std_error_mean: f64,
    /// The root mean square of the standard errors: √(mean reported variance).
    pub std_error_rms: f64,
    /// `estimate_sd / std_error_rms`, and its 95% interval.
    pub ratio: f64,
    pub interval: (f64, f64),
}

/// The calibration of every statistical guardrail's looks.
#[derive(Clone, Debug, PartialEq)]
pub struct Calibration {
    pub runs: u32,
    /// The release's faults were removed: the scenario draws them in only a share of its runs, and
    /// the calibration runs its null runs.
    pub faults_removed: bool,
    /// Operator commands other than approvals left out.
    pub commands_dropped: usize,
    pub looks: Vec<LookCalibration>,
}

/// Why a scenario cannot be calibrated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CalibrationError {
    /// Every run's release carries faults: the ratio would mix the harm into the spread.
    NotNull { faults: Vec<String> },
    /// An assignment bug makes the cohorts differ by design.
    AssignmentBug,
    /// No guardrail compares the build with the holdback.
    NothingToCalibrate,
    /// Fewer runs than the moments need.
    TooFewRuns(u32),
}

impl std::fmt::Display for CalibrationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CalibrationError::NotNull { faults } => write!(
                f,
                "not a null world: every run's release carries {} ({}), so the estimates' spread \
                 would include the harm itself; calibrate a release without faults, or one with \
                 `faulty_share` below 1 (its null runs are then calibrated)",
                if faults.len() == 1 { "a fault" } else { "faults" },
                faults.join(", ")
            ),
            CalibrationError::AssignmentBug => write!(
                f,
                "not a null world: its `[assignment_bug]` makes the treatment and the holdback \
                 different players by design; remove it to calibrate the guardrails"
            ),
            CalibrationError::NothingToCalibrate => write!(
                f,
                "no guardrail to calibrate: only statistical guardrails (every method but \
                 `threshold`) report a standard error"
            ),
            CalibrationError::TooFewRuns(n) => {
                write!(f, "{n} runs are too few to measure a spread; give at least 20")
            }
        }
    }
}

impl std::error::Error for CalibrationError {}

/// The fewest runs a calibration accepts.
pub use rollcage_model::limits::MIN_CALIBRATION_RUNS as MIN_RUNS;

/// The null world a calibration runs: the scenario with its faults removed when only some runs
/// carry them, only its approvals among the operator commands. Checked before any run.
pub fn null_world(scenario: &Scenario) -> Result<(Scenario, bool, usize), CalibrationError> {
    let release = &scenario.world.release;
    if !release.faults.is_empty() && release.faulty_share >= 1.0 {
        let faults = release
            .faults
            .iter()
            .map(|f| format!("{} in feature `{}`", f.kind.name(), release.features[f.feature]))
            .collect();
        return Err(CalibrationError::NotNull { faults });
    }
    if scenario.world.assignment_bug.is_some() {
        return Err(CalibrationError::AssignmentBug);
    }
    if scenario.policy.guardrails.iter().all(|g| g.method.comparison().is_none()) {
        return Err(CalibrationError::NothingToCalibrate);
    }
    let faults_removed = !release.faults.is_empty();
    let null = scenario.with(|null| {
        null.world.release.faults.clear();
        null.commands.retain(|c| matches!(c.command, Command::Approve { .. }));
    });
    let dropped = scenario.commands.len() - null.commands.len();
    Ok((null, faults_removed, dropped))
}

/// One look of one run: the key, the time, the estimate and its standard error.
type Sample = (LookKey, f64, f64, f64);

/// Runs `runs` dry runs of the scenario's null world and calibrates every statistical guardrail's
/// looks. `progress` is told of each finished run.
pub fn calibrate(
    scenario: &Scenario,
    runs: u32,
    progress: &(dyn Fn() + Sync),
) -> Result<Calibration, CalibrationError> {
    if runs < MIN_RUNS {
        return Err(CalibrationError::TooFewRuns(runs));
    }
    let (null, faults_removed, commands_dropped) = null_world(scenario)?;
    let options = RunOptions { record_evaluations: true, dry_run: true, record_telemetry: false };
    let mut samples: Vec<Sample> = (0..runs)
        .into_par_iter()
        .map(|run| {
            let record = run_with_seed(&null, run, RunSeed::derive(null.seed, run), options);
            progress();
            samples_of(&null, &record)
        })
        .collect::<Vec<Vec<Sample>>>()
        .into_iter()
        .flatten()
        .collect();
    // Stable: within a key the runs keep their order, so the sums are the same at any thread count.
    samples.sort_by_key(|s| s.0);
    let looks = samples.chunk_by(|a, b| a.0 == b.0).filter_map(look_calibration).collect();
    Ok(Calibration { runs, faults_removed, commands_dropped, looks })
}

/// Every statistical guardrail's looks in one run that had an estimate.
fn samples_of(scenario: &Scenario, record: &RunRecord) -> Vec<Sample> {
    let guardrails = &scenario.policy.guardrails;
    let mut stage = 0;
    let mut looks: Vec<(usize, Option<usize>, u32)> = Vec::new();
    let mut out = Vec::new();
    for event in &record.events {
        match &event.kind {
            EventKind::StageStarted { stage: s, .. } => {
                stage = *s;
                looks.clear();
            }
            EventKind::HoldbackPeriodStarted { .. } => {
                stage = scenario.policy.stages.len();
                looks.clear();
            }
            EventKind::Evaluated(e) => {
                if matches!(guardrails[e.guardrail].method, Method::Threshold { .. }) {
                    continue;
                }
                let look = match looks.iter_mut().find(|l| (l.0, l.1) == (e.guardrail, e.cell)) {
                    Some(l) => {
                        l.2 += 1;
                        l.2
                    }
                    None => {
                        looks.push((e.guardrail, e.cell, 1));
                        1
                    }
                };
                if let (Some(estimate), Some(se)) = (e.estimate, e.std_error)
                    && se > 0.0
                    && se.is_finite()
                {
                    let key = LookKey { guardrail: e.guardrail, cell: e.cell, stage, look };
                    out.push((key, event.at.hours(), estimate, se));
                }
            }
            // Nothing the calibration reads.
            EventKind::GateHeld { .. }
            | EventKind::Released { .. }
            | EventKind::SampleRatioChecked(_)
            | EventKind::Paused { .. }
            | EventKind::Resumed { .. }
            | EventKind::Killed { .. }
            | EventKind::StepStarted { .. }
            | EventKind::StepSucceeded { .. }
            | EventKind::StepFailed { .. }
            | EventKind::RolledBack { .. }
            | EventKind::RollbackFailed { .. }
            | EventKind::Approved { .. }
            | EventKind::Refused { .. } => {}
        }
    }
    out
}

/// The calibration of one look from its runs' samples; `None` with fewer than [`MIN_RUNS`].
fn look_calibration(samples: &[Sample]) -> Option<LookCalibration> {
    let n = samples.len();
    if n < MIN_RUNS as usize {
        return None;
    }
    let k = n as f64;
    let mean = |f: &dyn Fn(&Sample) -> f64| samples.iter().map(f).sum::<f64>() / k;
    let hours = mean(&|s| s.1);
    let estimate_mean = mean(&|s| s.2);
    let se_mean = mean(&|s| s.3);
    let reported = mean(&|s| s.3 * s.3);
    let centred = |s: &Sample| s.2 - estimate_mean;
    let m2 = mean(&|s| centred(s).powi(2));
    let m4 = mean(&|s| centred(s).powi(4));
    let reported_var = mean(&|s| (s.3 * s.3 - reported).powi(2));
    let cov = mean(&|s| (centred(s).powi(2) - m2) * (s.3 * s.3 - reported));
    let variance = m2 * k / (k - 1.0);
    let estimate_sd = variance.sqrt();
    let ratio = (variance / reported).sqrt();
    // ln r = ½ ln s² − ½ ln v̄: the delta method on the two sample means it is made of.
    let log_var = ((m4 - m2 * m2) / (m2 * m2) + reported_var / (reported * reported)
        - 2.0 * cov / (m2 * reported))
        / (4.0 * k);
    let half = Z_95 * log_var.max(0.0).sqrt();
    Some(LookCalibration {
        key: samples[0].0,
        hours,
        runs: n as u32,
        estimate_mean,
        estimate_sd,
        std_error_mean: se_mean,
        std_error_rms: reported.sqrt(),
        ratio,
        interval: (ratio * (-half).exp(), ratio * half.exp()),
    })
}

/// One guardrail's (and cell's) looks from its second stage on, summed up.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Verdict {
    pub guardrail: usize,
    pub cell: Option<usize>,
    pub looks: usize,
    pub lowest: f64,
    pub highest: f64,
    /// Looks whose whole interval lies outside [`CALIBRATED`].
    pub outside: usize,
}

impl Verdict {
    /// Every look from the second stage on is within [`CALIBRATED`] up to its interval.
    pub fn held(&self) -> bool {
        self.outside == 0
    }
}

impl Calibration {
    /// Whether every guardrail's looks from the second stage on are calibrated.
    pub fn held(&self) -> bool {
        self.verdicts().iter().all(Verdict::held)
    }

    /// Per guardrail and cell, the looks from the second stage on that at least half the runs
    /// reached: their lowest and highest ratio, and how many are outside [`CALIBRATED`] beyond
    /// their interval. A look fewer runs reached (a stage that some runs stayed in longer, for
    /// want of traffic) is printed but not judged: its runs are a selection, not the world.
    pub fn verdicts(&self) -> Vec<Verdict> {
        let mut out: Vec<Verdict> = Vec::new();
        let judged = |l: &&LookCalibration| l.key.stage >= 1 && 2 * l.runs >= self.runs;
        for look in self.looks.iter().filter(judged) {
            let (g, c) = (look.key.guardrail, look.key.cell);
            let i = match out.iter().position(|v| (v.guardrail, v.cell) == (g, c)) {
                Some(i) => i,
                None => {
                    out.push(Verdict {
                        guardrail: g,
                        cell: c,
                        looks: 0,
                        lowest: f64::INFINITY,
                        highest: f64::NEG_INFINITY,
                        outside: 0,
                    });
                    out.len() - 1
                }
            };
            let v = &mut out[i];
            v.looks += 1;
            v.lowest = v.lowest.min(look.ratio);
            v.highest = v.highest.max(look.ratio);
            v.outside +=
                usize::from(look.interval.1 < CALIBRATED.0 || look.interval.0 > CALIBRATED.1);
        }
        out
    }
}

/// The calibration as text: one line per look, then a verdict per guardrail.
pub fn render(scenario: &Scenario, calibration: &Calibration) -> String {
    use std::fmt::Write;
    let policy = &scenario.policy;
    let name = |g: usize, cell: Option<usize>| {
        let guardrail = &policy.guardrails[g];
        let mut s = format!("{} [{}]", guardrail.name, guardrail.method.label());
        if let Some(c) = cell {
            let _ = write!(s, " in {}", policy.cells[c]);
        }
        s
    };
    let stage = |s: usize| {
        if s < policy.stages.len() { format!("{}", s + 1) } else { "hold".to_string() }
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {} dry runs of the null world{}{}",
        scenario.name,
        calibration.runs,
        if calibration.faults_removed { ", the release's faults removed" } else { "" },
        if calibration.commands_dropped > 0 {
            format!(", {} operator commands left out", calibration.commands_dropped)
        } else {
            String::new()
        }
    );
    let _ = writeln!(
        out,
        "ratio = spread of the estimate across runs / root mean square of the reported standard \
         errors; 1 is calibrated"
    );
    let mut current = None;
    for l in &calibration.looks {
        let who = (l.key.guardrail, l.key.cell);
        if current != Some(who) {
            current = Some(who);
            let _ = writeln!(out, "\n{}", name(who.0, who.1));
            let _ = writeln!(
                out,
                "  stage look  hours  runs       estimate     spread (sd)       mean SE        rms SE   \
                 ratio [95% interval]"
            );
        }
        let _ = writeln!(
            out,
            "  {:>5} {:>4} {:>6.1} {:>5} {:>14.6} {:>15.6} {:>13.6} {:>13.6}   {:.3} [{:.3}, {:.3}]",
            stage(l.key.stage),
            l.key.look,
            l.hours,
            l.runs,
            l.estimate_mean,
            l.estimate_sd,
            l.std_error_mean,
            l.std_error_rms,
            l.ratio,
            l.interval.0,
            l.interval.1
        );
    }
    let _ = writeln!(out);
    for v in calibration.verdicts() {
        let _ = writeln!(
            out,
            "{}: from stage 2 on, ratio {:.3} to {:.3} over {} looks reached by most runs; {} outside \
             [{}, {}] beyond their interval: {}",
            name(v.guardrail, v.cell),
            v.lowest,
            v.highest,
            v.looks,
            v.outside,
            CALIBRATED.0,
            CALIBRATED.1,
            if v.held() { "calibrated" } else { "NOT calibrated" }
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> LookKey {
        LookKey { guardrail: 0, cell: None, stage: 1, look: 1 }
    }

    /// Estimates ±1 around 0 with a reported standard error of exactly 1: the spread is
    /// √(n/(n − 1)) and the reported variance's variance is zero, so the interval is the sample
    /// variance's alone: with fourth moment 1 and variance 1, Var(ln r) = (1 − 1)/(4n) = 0.
    #[test]
    fn a_look_is_the_spread_over_the_root_mean_square_standard_error() {
        let samples: Vec<Sample> =
            (0..40).map(|i| (key(), 30.0, if i % 2 == 0 { 1.0 } else { -1.0 }, 1.0)).collect();
        let l = look_calibration(&samples).unwrap();
        let expected = (40.0f64 / 39.0).sqrt();
        assert!((l.ratio - expected).abs() < 1e-12, "{l:?}");
        assert!((l.interval.0 - expected).abs() < 1e-12 && (l.interval.1 - expected).abs() < 1e-12);
        assert_eq!((l.runs, l.hours, l.std_error_rms, l.std_error_mean), (40, 30.0, 1.0, 1.0));
        // Standard errors of 1 and 3 in turn: their root mean square is √5, their mean 2.
        let mixed: Vec<Sample> = (0..40)
            .map(|i| {
                (
                    key(),
                    30.0,
                    if i % 2 == 0 { 1.0 } else { -1.0 },
                    if i % 4 < 2 { 1.0 } else { 3.0 },
                )
            })
            .collect();
        let l = look_calibration(&mixed).unwrap();
        assert!((l.std_error_rms - 5.0f64.sqrt()).abs() < 1e-12 && l.std_error_mean == 2.0);
        assert!((l.ratio - expected / 5.0f64.sqrt()).abs() < 1e-12);
        assert!(l.interval.0 < l.ratio && l.ratio < l.interval.1);
        assert_eq!(look_calibration(&mixed[..MIN_RUNS as usize - 1]), None);
    }

    #[test]
    fn a_look_outside_the_band_beyond_its_interval_fails_the_verdict() {
        let look = |stage: usize, ratio: f64, interval: (f64, f64)| LookCalibration {
            key: LookKey { stage, ..key() },
            hours: 1.0,
            runs: 100,
            estimate_mean: 0.0,
            estimate_sd: ratio,
            std_error_mean: 1.0,
            std_error_rms: 1.0,
            ratio,
            interval,
        };
        let calibration =
            |looks| Calibration { runs: 100, faults_removed: false, commands_dropped: 0, looks };
        // The first stage does not count; a wide interval that reaches the band passes.
        let ok = calibration(vec![look(0, 2.0, (1.8, 2.2)), look(1, 1.1, (1.04, 1.16))]);
        assert!(ok.held());
        // Nor does a look fewer than half the runs reached.
        let few = LookCalibration { runs: 49, ..look(3, 2.0, (1.8, 2.2)) };
        assert!(calibration(vec![look(1, 1.0, (0.98, 1.02)), few]).held());
        let half = LookCalibration { runs: 50, ..few };
        assert!(!calibration(vec![look(1, 1.0, (0.98, 1.02)), half]).held());
        let bad = calibration(vec![look(1, 1.0, (0.98, 1.02)), look(2, 0.9, (0.85, 0.94))]);
        assert!(!bad.held());
        assert_eq!(bad.verdicts()[0].outside, 1);
        assert_eq!((bad.verdicts()[0].lowest, bad.verdicts()[0].highest), (0.9, 1.0));
    }
}
