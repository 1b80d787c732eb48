//! Evaluating one guardrail on the telemetry of every stage so far.

use std::fmt;

use rollcage_stats::sequential::{msprt_log_lr, msprt_log_threshold, z_critical};
use rollcage_stats::{Direction, HarmSpec, Moments, Stratum, stratified_harm};

use crate::config::{Guardrail, Method};
use crate::telemetry::{Cohort, Telemetry};

/// The outcome of one evaluation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Breach,
    /// A compared cohort has fewer sessions than the guardrail's minimum sample.
    TooFewSamples,
    /// There are enough sessions but no usable variance (e.g. no player with two sessions yet).
    NoVariance,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Breach => "breach",
            Verdict::TooFewSamples => "inconclusive (too few samples)",
            Verdict::NoVariance => "inconclusive (no variance estimate)",
        }
    }
}

/// One guardrail evaluation with every number that went into it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    /// The guardrail's index in the policy.
    pub guardrail: usize,
    /// The segment cell evaluated, for a segment-scoped guardrail; `None` for everyone.
    pub cell: Option<usize>,
    pub treatment_mean: Option<f64>,
    pub control_mean: Option<f64>,
    pub treatment_count: u64,
    pub control_count: u64,
    /// Harm beyond the margin, in metric units (comparison methods only).
    pub estimate: Option<f64>,
    pub std_error: Option<f64>,
    /// The statistic compared with the threshold: the treatment mean (threshold), z (naive_z) or
    /// the log mixture likelihood ratio (msprt).
    pub statistic: Option<f64>,
    pub threshold: f64,
    pub verdict: Verdict,
}

impl Evaluation {
    /// A one-line account of the evaluation for timelines, e.g.
    /// `crash-rate [msprt] treatment 0.0312 (n=1043) vs holdback 0.0201 (n=4120): harm +0.0111 ±
    /// 0.0049, log-LR 3.41 vs 3.00 -> breach`.
    pub fn describe(&self, guardrail: &Guardrail, cells: &[String]) -> String {
        DescribeEvaluation { evaluation: self, guardrail, cells }.to_string()
    }
}

struct DescribeEvaluation<'a> {
    evaluation: &'a Evaluation,
    guardrail: &'a Guardrail,
    cells: &'a [String],
}

fn opt(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_string(), |v| format!("{v:.4}"))
}

impl fmt::Display for DescribeEvaluation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (e, g) = (self.evaluation, self.guardrail);
        write!(f, "{} [{}]", g.name, g.method.name())?;
        if let Some(c) = e.cell {
            write!(f, " in {}", self.cells.get(c).map_or("?", String::as_str))?;
        }
        write!(f, " treatment {} (n={})", opt(e.treatment_mean), e.treatment_count)?;
        if !matches!(g.method, Method::Threshold { .. }) {
            write!(f, " vs holdback {} (n={})", opt(e.control_mean), e.control_count)?;
        }
        if let (Some(est), Some(se)) = (e.estimate, e.std_error) {
            write!(f, ": harm {est:+.4} ± {se:.4}")?;
        }
        let statistic = match g.method {
            Method::Threshold { .. } => "mean",
            Method::NaiveZ { .. } => "z",
            Method::Msprt { .. } => "log-LR",
        };
        if let Some(s) = e.statistic {
            let rule = match (g.method, g.direction) {
                (Method::Threshold { .. }, Direction::Decrease) => "<",
                (Method::Msprt { .. }, _) => ">=",
                _ => ">",
            };
            write!(f, ", {statistic} {s:.4} (breach if {rule} {:.4})", e.threshold)?;
        }
        write!(f, " -> {}", e.verdict.name())
    }
}

fn moments(s: &Telemetry, cohort: Cohort, g: &Guardrail, cell: Option<usize>) -> Moments {
    match cell {
        Some(c) => *s.cohort(cohort).cell(c, g.metric),
        None => s.cohort(cohort).metric(g.metric),
    }
}

fn pooled(strata: &[Telemetry], cohort: Cohort, g: &Guardrail, cell: Option<usize>) -> Moments {
    let mut m = Moments::default();
    for s in strata {
        m.merge(&moments(s, cohort, g, cell));
    }
    m
}

/// Evaluates guardrail `index` on the snapshots of every stage of the current build, over
/// everyone (`cell` = `None`) or one segment cell. Comparison methods run at alpha divided by
/// `looks`, the number of cells evaluated side by side (Bonferroni).
pub fn evaluate(
    index: usize,
    g: &Guardrail,
    strata: &[Telemetry],
    cell: Option<usize>,
    looks: usize,
) -> Evaluation {
    let treatment = pooled(strata, Cohort::Treatment, g, cell);
    let control = pooled(strata, Cohort::Holdback, g, cell);
    let mut e = Evaluation {
        guardrail: index,
        cell,
        treatment_mean: treatment.mean(),
        control_mean: control.mean(),
        treatment_count: treatment.count,
        control_count: control.count,
        estimate: None,
        std_error: None,
        statistic: None,
        threshold: 0.0,
        verdict: Verdict::TooFewSamples,
    };
    let (alpha, margin, variance) = match g.method {
        Method::Threshold { limit } => {
            e.threshold = limit;
            if treatment.count < g.min_sample {
                return e;
            }
            let mean = treatment.mean().expect("a minimum sample is at least one session");
            e.statistic = Some(mean);
            let breach = match g.direction {
                Direction::Increase => mean > limit,
                Direction::Decrease => mean < limit,
            };
            e.verdict = if breach { Verdict::Breach } else { Verdict::Pass };
            return e;
        }
        Method::NaiveZ { alpha, margin, variance } => (alpha / looks as f64, margin, variance),
        Method::Msprt { alpha, margin, variance, .. } => (alpha / looks as f64, margin, variance),
    };
    e.threshold = match g.method {
        Method::Msprt { .. } => msprt_log_threshold(alpha),
        _ => z_critical(alpha),
    };
    if treatment.count < g.min_sample || control.count < g.min_sample {
        return e;
    }
    let data: Vec<Stratum> = strata
        .iter()
        .map(|s| Stratum {
            treatment: moments(s, Cohort::Treatment, g, cell),
            control: moments(s, Cohort::Holdback, g, cell),
        })
        .collect();
    let spec = HarmSpec { direction: g.direction, margin, variance };
    let Some(harm) = stratified_harm(&data, &spec) else {
        e.verdict = Verdict::NoVariance;
        return e;
    };
    e.estimate = Some(harm.estimate);
    e.std_error = Some(harm.std_error);
    if harm.std_error <= 0.0 || !harm.std_error.is_finite() {
        e.verdict = Verdict::NoVariance;
        return e;
    }
    let (statistic, breach) = match g.method {
        Method::Msprt { mixture_sd, .. } => {
            let llr = msprt_log_lr(harm.estimate, harm.std_error * harm.std_error, mixture_sd);
            (llr, harm.estimate > 0.0 && llr >= e.threshold)
        }
        _ => {
            let z = harm.estimate / harm.std_error;
            (z, z > e.threshold)
        }
    };
    e.statistic = Some(statistic);
    e.verdict = if breach { Verdict::Breach } else { Verdict::Pass };
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Severity;
    use crate::metric::Metric;
    use rollcage_stats::{Margin, VarianceModel};

    /// A snapshot with `n` one-session players per compared cohort and the given crash counts.
    fn snapshot(t_n: usize, t_crashes: usize, h_n: usize, h_crashes: usize) -> Telemetry {
        let binary = |n: usize, k: usize| {
            let v: Vec<[f64; 1]> = (0..n).map(|i| [if i < k { 1.0 } else { 0.0 }]).collect();
            Moments::from_players(v.iter().map(|x| x.as_slice()))
        };
        let mut t = Telemetry::default();
        t.cohorts[Cohort::Treatment.index()].cells[0][Metric::CrashRate.index()] =
            binary(t_n, t_crashes);
        t.cohorts[Cohort::Holdback.index()].cells[0][Metric::CrashRate.index()] =
            binary(h_n, h_crashes);
        t
    }

    fn guardrail(method: Method) -> Guardrail {
        Guardrail {
            name: "crash".into(),
            metric: Metric::CrashRate,
            direction: Direction::Increase,
            method,
            min_sample: 100,
            severity: Severity::Rollback,
            breaches_required: 1,
            scope: crate::config::Scope::Release,
        }
    }

    const NAIVE: Method = Method::NaiveZ {
        alpha: 0.05,
        margin: Margin::Absolute(0.0),
        variance: VarianceModel::Session,
    };

    #[test]
    fn too_few_samples_is_inconclusive_never_a_pass() {
        let e = evaluate(0, &guardrail(NAIVE), &[snapshot(50, 40, 1000, 10)], None, 1);
        assert_eq!(e.verdict, Verdict::TooFewSamples);
    }

    #[test]
    fn naive_z_breaches_on_a_clear_regression_and_passes_on_equal_rates() {
        let bad = evaluate(0, &guardrail(NAIVE), &[snapshot(1000, 60, 1000, 20)], None, 1);
        assert_eq!(bad.verdict, Verdict::Breach);
        assert!(bad.statistic.unwrap() > 1.645);
        let same = evaluate(0, &guardrail(NAIVE), &[snapshot(1000, 20, 1000, 20)], None, 1);
        assert_eq!(same.verdict, Verdict::Pass);
        assert_eq!(same.statistic, Some(0.0));
    }

    #[test]
    fn msprt_needs_stronger_evidence_than_one_naive_look() {
        let msprt = Method::Msprt {
            alpha: 0.05,
            margin: Margin::Absolute(0.0),
            variance: VarianceModel::Session,
            mixture_sd: 0.01,
        };
        // z is about 2.1 here: enough for one naive look, not for an always-valid test.
        let data = [snapshot(2000, 60, 2000, 37)];
        assert_eq!(evaluate(0, &guardrail(NAIVE), &data, None, 1).verdict, Verdict::Breach);
        assert_eq!(evaluate(0, &guardrail(msprt), &data, None, 1).verdict, Verdict::Pass);
        let strong = [snapshot(2000, 120, 2000, 37)];
        assert_eq!(evaluate(0, &guardrail(msprt), &strong, None, 1).verdict, Verdict::Breach);
    }

    #[test]
    fn threshold_looks_at_the_treatment_alone() {
        let g = guardrail(Method::Threshold { limit: 0.05 });
        assert_eq!(evaluate(0, &g, &[snapshot(200, 11, 0, 0)], None, 1).verdict, Verdict::Breach);
        assert_eq!(evaluate(0, &g, &[snapshot(200, 10, 0, 0)], None, 1).verdict, Verdict::Pass);
    }

    #[test]
    fn description_names_every_number() {
        let e = evaluate(0, &guardrail(NAIVE), &[snapshot(1000, 60, 1000, 20)], None, 1);
        let text = e.describe(&guardrail(NAIVE), &[]);
        assert!(
            text.starts_with(
                "crash [naive_z] treatment 0.0600 (n=1000) vs holdback 0.0200 (n=1000)"
            ),
            "{text}"
        );
        assert!(text.ends_with("-> breach"), "{text}");
    }
}
