//! What one guardrail evaluation found, with every number that went into it, and its one-line
//! account for timelines.

use std::fmt;

use rollcage_stats::Direction;

use rollcage_model::{Guardrail, Method};

/// The outcome of one evaluation. Its names, as the explanations print them, come from the derive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum Verdict {
    Pass,
    Breach,
    /// A compared cohort has fewer sessions than the guardrail's minimum sample.
    #[strum(serialize = "inconclusive (too few samples)")]
    TooFewSamples,
    /// There are enough sessions but no usable variance (e.g. no player with two sessions yet).
    #[strum(serialize = "inconclusive (no variance estimate)")]
    NoVariance,
    /// No new telemetry since the last look: nothing to decide on. Never a pass, never a breach.
    #[strum(serialize = "inconclusive (telemetry missing or late)")]
    NoData,
    /// An alpha-spending test whose information has not grown enough since its last analysis to
    /// run another (10% more sessions, and more statistical information); it looks again when it
    /// has.
    #[strum(serialize = "pass (waiting for more information)")]
    Waiting,
    /// The method has used its whole error budget (Bonferroni past its planned looks, a spending
    /// test past its planned information): it can no longer breach for this build.
    #[strum(serialize = "pass (alpha spent: the test can no longer breach)")]
    Spent,
    /// The SPRT accepted "no harm" for this build.
    #[strum(serialize = "pass (SPRT accepted no harm)")]
    Accepted,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        self.into()
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
    /// The estimate's standard error, as the variance model estimates it.
    pub std_error: Option<f64>,
    /// The degrees of freedom of the Student t the statistic is referred to (`None`: normal).
    /// Decisions see the statistic through its tail probability (see
    /// [`rollcage_stats::student`]).
    pub degrees_of_freedom: Option<f64>,
    /// A one-sided-test interval for the harm at this look: estimate ± (boundary × standard error)
    /// for the z-based methods, the confidence sequence for mSPRT, and the fixed-sample interval at
    /// the SPRT's alpha.
    pub interval: Option<(f64, f64)>,
    /// The statistic compared with the threshold: the treatment mean (threshold), z (naive_z,
    /// bonferroni, spending) or the log-likelihood ratio (msprt, sprt).
    pub statistic: Option<f64>,
    /// The boundary the statistic was compared with (infinite when no alpha is left).
    pub threshold: f64,
    /// The SPRT's lower boundary, at or below which it accepts "no harm".
    pub accept_below: Option<f64>,
    /// The alpha in force for this guardrail (after the segment and multiplicity corrections).
    pub alpha: f64,
    /// Of that alpha, how much the looks so far may have used: k·α for the naive test (the union
    /// bound, which is what it risks), k·α/K for Bonferroni, α(t) for spending; the running
    /// always-valid p-value's complement is not an alpha, so mSPRT reports its p-value instead.
    pub alpha_spent: Option<f64>,
    /// mSPRT's always-valid p-value so far.
    pub p_value: Option<f64>,
    /// The spending test's information fraction.
    pub information_fraction: Option<f64>,
    pub verdict: Verdict,
}

impl Evaluation {
    /// A one-line account of the evaluation for timelines, e.g.
    /// `crash-rate [msprt] treatment 0.0312 (n=1043) vs holdback 0.0201 (n=4120): harm +0.0111 ±
    /// 0.0049, log-LR 3.41 vs 3.00 -> breach`.
    pub fn describe(&self, guardrail: &Guardrail, cells: &[String]) -> String {
        DescribeEvaluation { evaluation: self, guardrail, cells }.to_string()
    }

    /// An evaluation of a look that brought no new telemetry.
    pub fn no_data(guardrail: usize, cell: Option<usize>, alpha: f64) -> Evaluation {
        Evaluation { alpha, verdict: Verdict::NoData, ..Evaluation::empty(guardrail, cell) }
    }

    pub(super) fn empty(guardrail: usize, cell: Option<usize>) -> Evaluation {
        Evaluation {
            guardrail,
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
            threshold: 0.0,
            accept_below: None,
            alpha: 0.0,
            alpha_spent: None,
            p_value: None,
            information_fraction: None,
            verdict: Verdict::TooFewSamples,
        }
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
        write!(f, "{} [{}]", g.name, g.method.label())?;
        if let Some(c) = e.cell {
            write!(f, " in {}", self.cells.get(c).map_or("?", String::as_str))?;
        }
        if e.verdict == Verdict::NoData {
            return write!(f, " -> {}", e.verdict.name());
        }
        write!(f, " treatment {} (n={})", opt(e.treatment_mean), e.treatment_count)?;
        if !matches!(g.method, Method::Threshold { .. }) {
            write!(f, " vs holdback {} (n={})", opt(e.control_mean), e.control_count)?;
        }
        if let (Some(est), Some(se)) = (e.estimate, e.std_error) {
            write!(f, ": harm {est:+.4} ± {se:.4}")?;
            if let Some(df) = e.degrees_of_freedom {
                write!(f, " (t, {df:.1} df)")?;
            }
        }
        if let Some((lo, hi)) = e.interval {
            write!(f, ", interval [{lo:+.4}, {hi:+.4}]")?;
        }
        let statistic = match g.method {
            Method::Threshold { .. } => "mean",
            Method::Msprt { .. } | Method::Sprt { .. } => "log-LR",
            Method::NaiveZ(_) | Method::Bonferroni { .. } | Method::Spending { .. } => "z",
        };
        if let Some(s) = e.statistic {
            let rule = match (g.method, g.direction) {
                (Method::Threshold { .. }, Direction::Decrease) => "<",
                (Method::Threshold { .. }, Direction::Increase) => ">",
                (
                    Method::NaiveZ(_)
                    | Method::Bonferroni { .. }
                    | Method::Spending { .. }
                    | Method::Msprt { .. }
                    | Method::Sprt { .. },
                    _,
                ) => ">=",
            };
            write!(f, ", {statistic} {s:.4} (breach if {rule} {:.4}", e.threshold)?;
            if let Some(accept) = e.accept_below {
                write!(f, ", accept if <= {accept:.4}")?;
            }
            write!(f, ")")?;
        }
        if let Some(t) = e.information_fraction {
            write!(f, ", information {:.1}%", 100.0 * t)?;
        }
        if g.method.comparison().is_some() {
            write!(f, ", alpha {:.4}", e.alpha)?;
            if let Some(spent) = e.alpha_spent {
                write!(f, " (spent {spent:.4})")?;
            }
        }
        if let Some(p) = e.p_value {
            write!(f, ", always-valid p {p:.4}")?;
        }
        write!(f, " -> {}", e.verdict.name())
    }
}
