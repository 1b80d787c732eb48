//! Evaluating one guardrail on the telemetry of every stage so far.
//!
//! A statistical guardrail asks, at every look, whether the build harms players beyond the margin.
//! How it decides depends on its method (see [`Method`]); the methods that hold their error rate
//! over many looks need to remember what they did at earlier looks, which [`Memory`] keeps for
//! each guardrail and segment cell.

use std::fmt;

use rollcage_stats::rank::{Binned, mann_whitney, margin_shift};
use rollcage_stats::sequential::{
    msprt_log_lr, msprt_log_threshold, msprt_p_value, msprt_z_bound, sprt_log_bounds, sprt_log_lr,
    z_critical,
};
use rollcage_stats::spending::GroupSequential;
use rollcage_stats::student::effective_std_error;
use rollcage_stats::{Direction, HarmSpec, Margin, Moments, Stratum, stratified_harm};

use crate::config::{Comparison, Guardrail, Method, Statistic};
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
    /// No new telemetry since the last look: nothing to decide on. Never a pass, never a breach.
    NoData,
    /// An alpha-spending test whose information has not grown enough since its last analysis to
    /// run another (10% more sessions, and more statistical information); it looks again when it
    /// has.
    Waiting,
    /// The method has used its whole error budget (Bonferroni past its planned looks, a spending
    /// test past its planned information): it can no longer breach for this build.
    Spent,
    /// The SPRT accepted "no harm" for this build.
    Accepted,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Breach => "breach",
            Verdict::TooFewSamples => "inconclusive (too few samples)",
            Verdict::NoVariance => "inconclusive (no variance estimate)",
            Verdict::NoData => "inconclusive (telemetry missing or late)",
            Verdict::Waiting => "pass (waiting for more information)",
            Verdict::Spent => "pass (alpha spent: the test can no longer breach)",
            Verdict::Accepted => "pass (SPRT accepted no harm)",
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

    fn empty(guardrail: usize, cell: Option<usize>) -> Evaluation {
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
        write!(f, "{} [{}]", g.name, g.method.name())?;
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
            _ => "z",
        };
        if let Some(s) = e.statistic {
            let rule = match (g.method, g.direction) {
                (Method::Threshold { .. }, Direction::Decrease) => "<",
                (Method::Threshold { .. }, Direction::Increase) => ">",
                _ => ">=",
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

/// What a guardrail remembers between looks, for one segment cell (or everyone), for the current
/// build. Forgotten when a new build replaces a killed one; carried over, error budget and all,
/// when a partial kill makes the evidence start over ([`Memory::carry_over`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Memory {
    /// Looks that tested (naive z and Bonferroni count them).
    looks: u32,
    /// Spending: each analysis of the current evidence, to recompute the boundaries when the
    /// alpha in force changes (Holm), and the recursion at the current alpha.
    analyses: Vec<Analysis>,
    test: GroupSequential,
    test_alpha: f64,
    /// Spending: the error earlier evidence of this build spent, and the information (in
    /// sessions) it gathered, before a partial kill made the evidence start over.
    spent_before: f64,
    calendar_before: f64,
    /// The information (in sessions) of the current evidence at its last look.
    last_information: f64,
    /// mSPRT: the running always-valid p-value. mSPRT and SPRT: the log-likelihood ratio of the
    /// current evidence at its last look, and the one earlier evidence ended with.
    p_value: f64,
    last_log_lr: f64,
    log_lr_before: f64,
    /// SPRT: accepted "no harm".
    accepted: bool,
}

/// One analysis of a spending test: the information that sets how much alpha it may have spent
/// (sessions, the schedule's calendar) and the statistical information 1/V that sets how its
/// statistic moves with the earlier ones'.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Analysis {
    calendar: f64,
    statistical: f64,
}

impl Memory {
    pub fn new() -> Memory {
        Memory { p_value: 1.0, ..Memory::default() }
    }

    /// A partial kill (a feature or a segment) makes the evidence start over, since what it
    /// measured no longer runs; the error budget does not. Every method goes on from what its
    /// earlier looks used: Bonferroni's and the naive test's looks keep counting; a spending test
    /// keeps what it spent and its place in the schedule, and spends only the rest on the new
    /// evidence; the mSPRT's and the SPRT's likelihood ratios go on from where they were, but
    /// never above 1: evidence against harm carries over, evidence for it does not (it may have
    /// come from what was just killed). Cutting a nonnegative supermartingale down to at most 1
    /// at a stopping time leaves it one, so Ville's inequality still bounds the whole sequence's
    /// error by alpha. An SPRT that accepted "no harm" stays so.
    pub fn carry_over(&mut self) {
        self.spent_before += self.test.spent();
        self.calendar_before += self.last_information;
        self.last_information = 0.0;
        self.analyses.clear();
        self.test = GroupSequential::new();
        self.log_lr_before = (self.log_lr_before + self.last_log_lr).min(0.0);
        self.last_log_lr = 0.0;
    }

    /// The error this build's evidence has spent so far under a spending test.
    fn spent(&self) -> f64 {
        self.spent_before + self.test.spent()
    }
}

/// A spending test runs a new analysis only when its information has grown by this factor.
const INFORMATION_STEP: f64 = 1.1;

fn moments(s: &Telemetry, cohort: Cohort, g: &Guardrail, look: &Look) -> Moments {
    match look.cell {
        Some(c) => *s.cohort(cohort).cell(c, g.metric),
        None => s.cohort(cohort).metric_in(g.metric, look.live_cells),
    }
}

fn pooled(strata: &[Telemetry], cohort: Cohort, g: &Guardrail, look: &Look) -> Moments {
    let mut m = Moments::default();
    for s in strata {
        m.merge(&moments(s, cohort, g, look));
    }
    m
}

/// What a guardrail looks at: one cumulative snapshot per exposure of the build (the strata it
/// compares), and the strata a partial kill took out of the comparison, whose holdback still
/// teaches the holdback's variance.
#[derive(Clone, Copy, Debug)]
pub struct Evidence<'a> {
    pub strata: &'a [Telemetry],
    pub history: &'a [Telemetry],
}

/// Where and at what level a guardrail is evaluated at one look.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Look {
    /// One segment cell, or everyone (`None`).
    pub cell: Option<usize>,
    /// The segment cells still live (bit c for cell c): a comparison over everyone leaves out
    /// the cells a segment kill sent back, whose holdback would otherwise stand against no
    /// treatment.
    pub live_cells: u32,
    /// The alpha in force, after dividing by the cells evaluated side by side and the
    /// multiplicity correction.
    pub alpha: f64,
    /// The share of the spending plan's information this cell is expected to gather (1 for
    /// everyone).
    pub plan_share: f64,
    /// The schedule ends the rollout after this look (the holdback period is over), unless a
    /// guardrail stops it: a spending test's analysis here is its final one and spends whatever
    /// the plan left, however much information the schedule actually gathered.
    pub last: bool,
}

/// The harm a look tests: an estimate beyond the margin, its standard error, and the information
/// behind it (Σ nₜnₕ/(nₜ + nₕ) over stages, what spending functions measure).
struct Harm {
    estimate: f64,
    std_error: f64,
    /// Infinite for a normal reference.
    degrees_of_freedom: f64,
    information: f64,
}

/// The stratified Mann-Whitney test on the latency histograms: the chance that a new-build session
/// is slower than a holdback session made (1 + margin) times slower, minus ½.
fn rank_harm(strata: &[Telemetry], margin: Margin) -> Option<Harm> {
    let binned: Vec<Binned<'_>> = strata
        .iter()
        .map(|s| Binned {
            treatment: &s.cohort(Cohort::Treatment).latency,
            control: &s.cohort(Cohort::Holdback).latency,
        })
        .collect();
    let shift = match margin {
        Margin::Relative(m) => margin_shift(m),
        Margin::Absolute(m) => {
            assert!(m == 0.0, "a rank test's margin is relative (the loader refuses others)");
            0.0
        }
    };
    let test = mann_whitney(&binned, shift)?;
    let information = binned
        .iter()
        .map(|b| {
            let nt: f64 = b.treatment.iter().map(|&c| f64::from(c)).sum();
            let nc: f64 = b.control.iter().map(|&c| f64::from(c)).sum();
            // Counts are whole: a stratum with sessions has a total of at least 1, and an empty
            // one adds 0 / 1.
            nt * nc / (nt + nc).max(1.0)
        })
        .sum();
    Some(Harm {
        estimate: test.estimate,
        std_error: test.std_error,
        degrees_of_freedom: f64::INFINITY,
        information,
    })
}

/// The harm a comparison sees in the strata, or `None` without a usable variance.
fn harm(g: &Guardrail, test: &Comparison, evidence: Evidence<'_>, look: &Look) -> Option<Harm> {
    match test.statistic {
        Statistic::Mean => {
            // The history's treatment measured a build that no longer runs: only its holdback
            // enters, and only the variance components.
            let history = evidence.history.iter().map(|s| {
                let mut held = Telemetry::default();
                held.cohorts[Cohort::Holdback.index()] = *s.cohort(Cohort::Holdback);
                held
            });
            let data: Vec<Stratum> = history
                .collect::<Vec<Telemetry>>()
                .iter()
                .chain(evidence.strata)
                .map(|s| Stratum {
                    treatment: moments(s, Cohort::Treatment, g, look),
                    control: moments(s, Cohort::Holdback, g, look),
                    carried: [Cohort::Treatment, Cohort::Holdback]
                        .map(|c| s.cohort(c).carried_in(g.metric, look.cell, look.live_cells)),
                    population: [Cohort::Treatment, Cohort::Holdback].map(|c| {
                        look.cell.map(|_| s.cohort(c).metric_in(g.metric, look.live_cells))
                    }),
                })
                .collect();
            let spec =
                HarmSpec { direction: g.direction, margin: test.margin, variance: test.variance };
            stratified_harm(&data, &spec).map(|h| Harm {
                estimate: h.estimate,
                std_error: h.std_error,
                degrees_of_freedom: h.degrees_of_freedom,
                information: h.information,
            })
        }
        Statistic::MannWhitney => rank_harm(evidence.strata, test.margin),
    }
}

/// Evaluates guardrail `index` on the snapshots of every stage of the current build.
pub fn evaluate(
    index: usize,
    g: &Guardrail,
    evidence: Evidence<'_>,
    look: Look,
    memory: &mut Memory,
) -> Evaluation {
    let treatment = pooled(evidence.strata, Cohort::Treatment, g, &look);
    let control = pooled(evidence.strata, Cohort::Holdback, g, &look);
    let mut e = Evaluation {
        treatment_mean: treatment.mean(),
        control_mean: control.mean(),
        treatment_count: treatment.count,
        control_count: control.count,
        ..Evaluation::empty(index, look.cell)
    };
    let Some(test) = g.method.comparison() else {
        threshold(g, &treatment, &mut e);
        return e;
    };
    e.alpha = look.alpha;
    if treatment.count < g.min_sample || control.count < g.min_sample {
        return e;
    }
    let Some(harm) = harm(g, test, evidence, &look) else {
        e.verdict = Verdict::NoVariance;
        return e;
    };
    e.estimate = Some(harm.estimate);
    e.std_error = Some(harm.std_error);
    e.degrees_of_freedom = harm.degrees_of_freedom.is_finite().then_some(harm.degrees_of_freedom);
    if harm.std_error <= 0.0 || !harm.std_error.is_finite() {
        e.verdict = Verdict::NoVariance;
        return e;
    }
    memory.last_information = harm.information;
    if memory.accepted {
        e.verdict = Verdict::Accepted;
        return e;
    }
    e.verdict = decide(g.method, &harm, &look, memory, &mut e);
    e
}

/// An absolute critical threshold on the treatment's mean.
fn threshold(g: &Guardrail, treatment: &Moments, e: &mut Evaluation) {
    let Method::Threshold { limit } = g.method else {
        unreachable!("only a threshold has no test")
    };
    e.threshold = limit;
    if treatment.count < g.min_sample {
        return;
    }
    let mean = treatment.mean().expect("a minimum sample is at least one session");
    e.statistic = Some(mean);
    let breach = match g.direction {
        Direction::Increase => mean > limit,
        Direction::Decrease => mean < limit,
    };
    e.verdict = if breach { Verdict::Breach } else { Verdict::Pass };
}

/// The normal-scale view of a harm every method decides on: the estimate, the standard error
/// under which its z has the tail probability its statistic has under its reference
/// distribution, and that z.
#[derive(Clone, Copy)]
struct Scaled {
    estimate: f64,
    se: f64,
    z: f64,
}

impl Scaled {
    /// Records the z rule at `bound` in the evaluation and says whether it rejects.
    fn z_rule(&self, e: &mut Evaluation, bound: f64) -> bool {
        e.statistic = Some(self.z);
        e.threshold = bound;
        e.interval = Some((self.estimate - bound * self.se, self.estimate + bound * self.se));
        self.z >= bound
    }
}

/// Runs the method's decision on a harm with a usable variance.
fn decide(
    method: Method,
    harm: &Harm,
    look: &Look,
    memory: &mut Memory,
    e: &mut Evaluation,
) -> Verdict {
    let estimate = harm.estimate;
    let se = effective_std_error(estimate, harm.std_error, harm.degrees_of_freedom);
    let scaled = Scaled { estimate, se, z: estimate / se };
    let alpha = look.alpha;
    let breach = match method {
        Method::Threshold { .. } => unreachable!("decided by `threshold`"),
        Method::NaiveZ(_) => {
            memory.looks += 1;
            e.alpha_spent = Some((f64::from(memory.looks) * alpha).min(1.0));
            scaled.z_rule(e, z_critical(alpha))
        }
        Method::Bonferroni { looks: planned, .. } => {
            memory.looks += 1;
            if memory.looks > planned {
                e.alpha_spent = Some(alpha);
                e.threshold = f64::INFINITY;
                return Verdict::Spent;
            }
            let per_look = alpha / f64::from(planned);
            e.alpha_spent = Some(f64::from(memory.looks) * per_look);
            scaled.z_rule(e, z_critical(per_look))
        }
        Method::Spending { spending, planned_information, .. } => {
            let plan = Plan { spending, planned: planned_information * look.plan_share, alpha };
            return spend(plan, harm, scaled, look.last, memory, e);
        }
        Method::Msprt { mixture_sd, .. } => {
            let variance = se * se;
            memory.last_log_lr = msprt_log_lr(estimate, variance, mixture_sd);
            let llr = memory.log_lr_before + memory.last_log_lr;
            let threshold = msprt_log_threshold(alpha);
            memory.p_value = memory.p_value.min(msprt_p_value(llr));
            e.p_value = Some(memory.p_value);
            // The confidence sequence of the current evidence, at the alpha the earlier
            // evidence's likelihood ratio leaves it: Λ·Λ_before ≥ 1/α.
            let remaining = (alpha * memory.log_lr_before.exp()).min(0.5);
            let half = msprt_z_bound(variance, mixture_sd, remaining) * se;
            e.interval = Some((estimate - half, estimate + half));
            e.statistic = Some(llr);
            e.threshold = threshold;
            llr >= threshold
        }
        Method::Sprt { effect, beta, .. } => {
            let (accept, reject) = sprt_log_bounds(alpha, beta);
            memory.last_log_lr = sprt_log_lr(estimate, se * se, effect);
            let llr = memory.log_lr_before + memory.last_log_lr;
            let fixed = z_critical(alpha);
            e.interval = Some((estimate - fixed * se, estimate + fixed * se));
            e.statistic = Some(llr);
            e.threshold = reject;
            e.accept_below = Some(accept);
            if llr <= accept {
                memory.accepted = true;
                return Verdict::Accepted;
            }
            llr >= reject
        }
    };
    if breach { Verdict::Breach } else { Verdict::Pass }
}

/// The statistical information 1/V at an analysis whose calendar information is `calendar`. A
/// variance that grew faster than the data (a harm that grows, or a noisy estimate of few
/// players) would make it fall, and the boundaries need it to grow: then it grows as the calendar
/// does since the last analysis, the correlation the sessions alone imply.
fn statistical_information(harm: &Harm, calendar: f64, last: Option<Analysis>) -> f64 {
    let statistical = (harm.std_error * harm.std_error).recip();
    match last {
        Some(a) if statistical <= a.statistical => a.statistical * calendar / a.calendar,
        _ => statistical,
    }
}

/// What a spending test spends: its function, the information (in sessions) it plans for, and
/// the alpha in force.
#[derive(Clone, Copy)]
struct Plan {
    spending: rollcage_stats::spending::Spending,
    planned: f64,
    alpha: f64,
}

impl Plan {
    fn fraction(&self, calendar: f64) -> f64 {
        calendar / self.planned
    }

    /// What the current evidence may have spent by `calendar`: the function's alpha there, less
    /// what earlier evidence of the build spent.
    fn budget(&self, memory: &Memory, calendar: f64) -> f64 {
        let cumulative = self.spending.cumulative(self.alpha, self.fraction(calendar));
        (cumulative - memory.spent_before).max(0.0)
    }
}

/// A group-sequential analysis under alpha spending. How much alpha it may have spent follows the
/// schedule's calendar: the information in sessions, as a fraction of the planned information
/// (Lan and DeMets allow any calendar), and the final look spends what is left. How its statistic
/// moves with the earlier analyses' follows the statistical information 1/V, which for a clustered
/// metric grows more slowly than its sessions once players come back: computing the boundaries on
/// sessions would take the analyses for less correlated than they are and spend less than the
/// alpha.
fn spend(
    plan: Plan,
    harm: &Harm,
    scaled: Scaled,
    last_look: bool,
    memory: &mut Memory,
    e: &mut Evaluation,
) -> Verdict {
    let gathered = memory.calendar_before + harm.information;
    // The final look counts as the whole plan.
    let calendar = if last_look { gathered.max(plan.planned) } else { gathered };
    e.information_fraction = Some(plan.fraction(gathered));
    if memory.test_alpha != plan.alpha {
        // The alpha in force changed (Holm passed on a breached guardrail's share): the
        // boundaries of every analysis so far (if any) are recomputed at the new level.
        memory.test = GroupSequential::new();
        for a in memory.analyses.clone() {
            let cumulative = plan.budget(memory, a.calendar);
            memory.test.analyse(a.statistical, cumulative);
        }
    }
    memory.test_alpha = plan.alpha;
    e.alpha_spent = Some(memory.spent());
    let last = memory.analyses.last().copied();
    if last.is_some_and(|a| plan.fraction(a.calendar) >= 1.0)
        || (last.is_none() && plan.fraction(memory.calendar_before) >= 1.0)
    {
        // The analysis at the planned information spent whatever was left.
        return Verdict::Spent;
    }
    if last.is_some_and(|a| !last_look && calendar < a.calendar * INFORMATION_STEP) {
        return Verdict::Waiting;
    }
    let statistical = statistical_information(harm, calendar, last);
    let bound = memory.test.analyse(statistical, plan.budget(memory, calendar));
    memory.analyses.push(Analysis { calendar, statistical });
    e.alpha_spent = Some(memory.spent());
    let breach = if bound.is_infinite() {
        // Nothing to spend yet (O'Brien–Fleming at a sliver of the information): this analysis
        // cannot breach, and it is no interval's business.
        e.threshold = bound;
        e.statistic = Some(scaled.z);
        false
    } else {
        scaled.z_rule(e, bound)
    };
    if breach { Verdict::Breach } else { Verdict::Pass }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Severity;
    use crate::metric::Metric;
    use crate::telemetry::ALL_CELLS;
    use rollcage_stats::VarianceModel;

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
            inconclusive_limit: 0,
        }
    }

    const TEST: Comparison = Comparison {
        alpha: 0.05,
        margin: Margin::Absolute(0.0),
        variance: VarianceModel::Session,
        statistic: Statistic::Mean,
    };
    const NAIVE: Method = Method::NaiveZ(TEST);

    /// Evidence of these strata alone, with no history.
    fn only(strata: &[Telemetry]) -> Evidence<'_> {
        Evidence { strata, history: &[] }
    }

    /// A look over everyone at `alpha`, not the schedule's last.
    fn everyone(alpha: f64) -> Look {
        Look { cell: None, live_cells: ALL_CELLS, alpha, plan_share: 1.0, last: false }
    }

    /// One look with a fresh memory, at the guardrail's own alpha.
    fn check(g: &Guardrail, strata: &[Telemetry]) -> Evaluation {
        let alpha = g.method.comparison().map_or(0.0, |c| c.alpha);
        evaluate(0, g, only(strata), everyone(alpha), &mut Memory::new())
    }

    #[test]
    fn too_few_samples_is_inconclusive_never_a_pass() {
        let e = check(&guardrail(NAIVE), &[snapshot(50, 40, 1000, 10)]);
        assert_eq!(e.verdict, Verdict::TooFewSamples);
    }

    #[test]
    fn naive_z_breaches_on_a_clear_regression_and_passes_on_equal_rates() {
        let bad = check(&guardrail(NAIVE), &[snapshot(1000, 60, 1000, 20)]);
        assert_eq!(bad.verdict, Verdict::Breach);
        assert!(bad.statistic.unwrap() > 1.645);
        let same = check(&guardrail(NAIVE), &[snapshot(1000, 20, 1000, 20)]);
        assert_eq!(same.verdict, Verdict::Pass);
        assert_eq!(same.statistic, Some(0.0));
    }

    #[test]
    fn msprt_needs_stronger_evidence_than_one_naive_look() {
        let msprt = Method::Msprt { test: TEST, mixture_sd: 0.01 };
        // z is about 2.1 here: enough for one naive look, not for an always-valid test.
        let data = [snapshot(2000, 60, 2000, 37)];
        assert_eq!(check(&guardrail(NAIVE), &data).verdict, Verdict::Breach);
        assert_eq!(check(&guardrail(msprt), &data).verdict, Verdict::Pass);
        let strong = [snapshot(2000, 120, 2000, 37)];
        assert_eq!(check(&guardrail(msprt), &strong).verdict, Verdict::Breach);
    }

    #[test]
    fn threshold_looks_at_the_treatment_alone() {
        let g = guardrail(Method::Threshold { limit: 0.05 });
        assert_eq!(check(&g, &[snapshot(200, 11, 0, 0)]).verdict, Verdict::Breach);
        assert_eq!(check(&g, &[snapshot(200, 10, 0, 0)]).verdict, Verdict::Pass);
    }

    #[test]
    fn description_names_every_number() {
        let e = check(&guardrail(NAIVE), &[snapshot(1000, 60, 1000, 20)]);
        let text = e.describe(&guardrail(NAIVE), &[]);
        assert!(
            text.starts_with(
                "crash [naive_z] treatment 0.0600 (n=1000) vs holdback 0.0200 (n=1000)"
            ),
            "{text}"
        );
        assert!(text.ends_with("-> breach"), "{text}");
    }

    /// Looks with one memory, at growing data: `(sessions per cohort, treatment crashes)`.
    fn looks(g: &Guardrail, data: &[(usize, usize)]) -> Vec<Evaluation> {
        let mut memory = Memory::new();
        let look = everyone(0.05);
        data.iter()
            .map(|&(n, k)| evaluate(0, g, only(&[snapshot(n, k, n, n / 50)]), look, &mut memory))
            .collect()
    }

    #[test]
    fn bonferroni_splits_alpha_over_its_planned_looks_then_has_none_left() {
        let g = guardrail(Method::Bonferroni { test: TEST, looks: 2 });
        let e = looks(&g, &[(1000, 20), (2000, 40), (3000, 300)]);
        // Two looks at 0.025 each: z_0.975 = 1.959963984540054 (scipy norm.ppf(0.975)).
        assert!((e[0].threshold - 1.959_963_984_540_054).abs() < 1e-9);
        assert_eq!(e[1].alpha_spent, Some(0.05));
        // The third look would breach on this data, but the plan had two looks.
        assert_eq!(e[2].verdict, Verdict::Spent);
    }

    #[test]
    fn spending_analyses_when_information_grows_and_spends_all_alpha_at_the_plan() {
        // Equal cohorts of n sessions carry n/2 of information: the plan ends at n = 2000.
        let planned = 1000.0;
        let g = guardrail(Method::Spending {
            test: TEST,
            spending: rollcage_stats::spending::Spending::Pocock,
            planned_information: planned,
        });
        let e = looks(&g, &[(500, 10), (520, 10), (1000, 20), (2000, 40), (2100, 42)]);
        assert_eq!(e[0].verdict, Verdict::Pass);
        // 4% more information is not enough for a new analysis.
        assert_eq!(e[1].verdict, Verdict::Waiting);
        assert_eq!(e[3].information_fraction, Some(1.0));
        assert!((e[3].alpha_spent.unwrap() - 0.05).abs() < 1e-6, "{:?}", e[3].alpha_spent);
        // Past the plan, nothing is left to spend.
        assert_eq!(e[4].verdict, Verdict::Spent);
        // The boundaries of the three analyses are Pocock's at fractions 0.25, 0.5 and 1: above
        // the fixed-sample 1.645 and falling only slowly.
        let bounds: Vec<f64> = [0, 2, 3].iter().map(|&i| e[i].threshold).collect();
        assert!(bounds.iter().all(|&b| b > 1.7 && b < 2.3), "{bounds:?}");
    }

    #[test]
    fn sprt_accepts_no_harm_and_stops_looking() {
        let g = guardrail(Method::Sprt { test: TEST, effect: 0.02, beta: 0.2 });
        let e = looks(&g, &[(2000, 38), (4000, 400)]);
        assert_eq!(e[0].verdict, Verdict::Accepted);
        assert!(e[0].statistic.unwrap() <= e[0].accept_below.unwrap());
        // A later regression is not looked for once the SPRT has accepted.
        assert_eq!(e[1].verdict, Verdict::Accepted);
        let bad = looks(&g, &[(2000, 120)]);
        assert_eq!(bad[0].verdict, Verdict::Breach);
    }

    /// One look of `g` with `memory`, on one stratum of 2000 sessions per cohort with `k`
    /// treatment crashes against 37 in the holdback.
    fn msprt_look(g: &Guardrail, memory: &mut Memory, k: usize) -> Evaluation {
        let look = everyone(0.05);
        evaluate(0, g, only(&[snapshot(2000, k, 2000, 37)]), look, memory)
    }

    /// After a partial kill the mSPRT goes on from its likelihood ratio, capped at 1: evidence
    /// against harm still counts (the alpha is not spent again), evidence for harm does not (it
    /// may have come from what was killed).
    #[test]
    fn msprt_carries_evidence_against_harm_over_a_partial_kill_and_not_for_it() {
        let g = guardrail(Method::Msprt { test: TEST, mixture_sd: 0.01 });
        // Strong evidence against harm, then data that alone would breach.
        let mut memory = Memory::new();
        let against = msprt_look(&g, &mut memory, 10);
        assert!(against.statistic.unwrap() < -2.0, "{against:?}");
        memory.carry_over();
        let fresh = msprt_look(&g, &mut Memory::new(), 70);
        assert_eq!(fresh.verdict, Verdict::Breach);
        let carried = msprt_look(&g, &mut memory, 70);
        assert_eq!(carried.verdict, Verdict::Pass, "{carried:?}");
        assert!(
            (carried.statistic.unwrap() - (fresh.statistic.unwrap() + against.statistic.unwrap()))
                .abs()
                < 1e-9
        );
        // Evidence for harm just short of the threshold, then data that alone would not breach.
        let mut memory = Memory::new();
        let near = msprt_look(&g, &mut memory, 62);
        assert!(near.verdict == Verdict::Pass && near.statistic.unwrap() > 1.5, "{near:?}");
        memory.carry_over();
        let after = msprt_look(&g, &mut memory, 60);
        let alone = msprt_look(&g, &mut Memory::new(), 60);
        assert_eq!(after.statistic, alone.statistic, "nothing above 1 carries over");
        assert_eq!(after.verdict, Verdict::Pass);
    }

    /// A harm that grows can make the variance grow faster than the data, so 1/V falls between
    /// analyses; the spending test still analyses (with the sessions' growth as the information's)
    /// and breaches, rather than waiting for 1/V to recover.
    #[test]
    fn spending_analyses_a_growing_harm_whose_variance_outgrows_the_data() {
        let g = guardrail(Method::Spending {
            test: TEST,
            spending: rollcage_stats::spending::Spending::Pocock,
            planned_information: 10_000.0,
        });
        let e = looks(&g, &[(500, 10), (1000, 600)]);
        assert!(e[1].std_error.unwrap() > e[0].std_error.unwrap(), "{e:?}");
        assert_eq!(e[1].verdict, Verdict::Breach, "{:?}", e[1]);
    }

    /// A partial kill restarts a spending test's evidence, not its budget or its calendar: the new
    /// evidence's first analysis spends only what the schedule added since the earlier evidence's
    /// spending, so its boundary is that increment's fixed-sample bound; after two kills the
    /// calendar holds both earlier evidences.
    #[test]
    fn spending_carries_its_spent_alpha_and_calendar_over_a_partial_kill() {
        let spending = rollcage_stats::spending::Spending::Pocock;
        let g = pocock(2000.0);
        let look = everyone(0.05);
        let mut memory = Memory::new();
        let before = evaluate(0, &g, only(&[snapshot(2000, 40, 2000, 40)]), look, &mut memory);
        memory.carry_over();
        let after = evaluate(0, &g, only(&[snapshot(200, 4, 200, 4)]), look, &mut memory);
        assert!((after.information_fraction.unwrap() - 0.55).abs() < 1e-12, "{after:?}");
        assert!(after.alpha_spent.unwrap() > before.alpha_spent.unwrap(), "{after:?}");
        let increment = spending.cumulative(0.05, 0.55) - before.alpha_spent.unwrap();
        let bound = rollcage_stats::normal::quantile(1.0 - increment);
        assert!((after.threshold - bound).abs() < 1e-9, "{after:?} vs {bound}");
        assert!((after.alpha_spent.unwrap() - spending.cumulative(0.05, 0.55)).abs() < 1e-9);
        memory.carry_over();
        let last = Look { last: true, ..look };
        let end = evaluate(0, &g, only(&[snapshot(200, 4, 200, 4)]), last, &mut memory);
        assert!((end.information_fraction.unwrap() - 0.6).abs() < 1e-12, "{end:?}");
        assert!((end.alpha_spent.unwrap() - 0.05).abs() < 1e-9, "{end:?}");
        // Past the plan, what is left is spent and the test stops.
        let mut past = Memory::new();
        past.calendar_before = 2500.0;
        let spent = evaluate(0, &g, only(&[snapshot(200, 4, 200, 4)]), look, &mut past);
        assert_eq!(spent.verdict, Verdict::Spent);
    }

    /// After a partial kill the comparison restarts on a few hours of data; a holdback that
    /// happened to crash not once in them looked certain, and a healthy segment was killed for
    /// it. Its hours before the kill are the same untouched players and still teach its variance.
    #[test]
    fn the_holdbacks_history_teaches_its_variance_after_a_restart() {
        let g = guardrail(Method::NaiveZ(Comparison {
            alpha: 0.025,
            variance: VarianceModel::Clustered,
            ..TEST
        }));
        let g = Guardrail { min_sample: 50, ..g };
        let look = everyone(0.025);
        let restarted = [snapshot(60, 4, 60, 0)];
        let alone = evaluate(0, &g, only(&restarted), look, &mut Memory::new());
        assert_eq!(alone.verdict, Verdict::Breach, "{alone:?}");
        let before = [snapshot(200, 30, 200, 4)];
        let evidence = Evidence { strata: &restarted, history: &before };
        let taught = evaluate(0, &g, evidence, look, &mut Memory::new());
        assert_eq!(taught.verdict, Verdict::Pass, "{taught:?}");
        // The history's treatment measured a build that no longer runs: it changes nothing.
        assert_eq!((taught.estimate, taught.treatment_count), (alone.estimate, 60));
        let other = [snapshot(200, 0, 200, 4)];
        let same = evaluate(
            0,
            &g,
            Evidence { strata: &restarted, history: &other },
            look,
            &mut Memory::new(),
        );
        assert_eq!(same.std_error, taught.std_error);
    }

    #[test]
    fn msprt_interval_excludes_zero_exactly_when_it_breaches() {
        let g = guardrail(Method::Msprt { test: TEST, mixture_sd: 0.01 });
        for k in [40, 60, 80, 120] {
            let e = check(&g, &[snapshot(2000, k, 2000, 37)]);
            let (lo, _) = e.interval.unwrap();
            assert_eq!(lo > 0.0, e.verdict == Verdict::Breach, "{k}: {e:?}");
        }
    }

    /// A latency snapshot: 400 one-session players per cohort, the treatment's latencies `slower`
    /// times the holdback's, spread over 40 bins around 80 ms.
    fn latencies(slower: f64) -> Telemetry {
        let mut t = Telemetry::default();
        for (cohort, factor) in [(Cohort::Treatment, slower), (Cohort::Holdback, 1.0)] {
            let values: Vec<[f64; 1]> = (0..400)
                .map(|i| [80.0 * 1.05f64.powf(f64::from(i % 40) - 20.0) * factor])
                .collect();
            let c = &mut t.cohorts[cohort.index()];
            c.cells[0][Metric::LatencyMs.index()] =
                Moments::from_players(values.iter().map(|x| x.as_slice()));
            for v in &values {
                c.latency[rollcage_stats::rank::bin_of(v[0])] += 1;
            }
        }
        t
    }

    #[test]
    fn mann_whitney_ranks_the_latency_histograms() {
        let rank = |margin: f64| {
            let mut g = guardrail(Method::NaiveZ(Comparison {
                margin: Margin::Relative(margin),
                statistic: Statistic::MannWhitney,
                ..TEST
            }));
            g.metric = Metric::LatencyMs;
            g
        };
        let same = check(&rank(0.0), &[latencies(1.0)]);
        assert_eq!(same.verdict, Verdict::Pass);
        assert!(same.statistic.unwrap().abs() < 1e-9, "identical histograms: z = 0");
        let slower = check(&rank(0.0), &[latencies(1.1)]);
        assert_eq!(slower.verdict, Verdict::Breach, "{slower:?}");
        // A 10% margin forgives a 10% slowdown, and a wider one more.
        let forgiven = check(&rank(0.1), &[latencies(1.1)]);
        assert_eq!(forgiven.verdict, Verdict::Pass, "{forgiven:?}");
        assert!(forgiven.statistic.unwrap().abs() < 0.5, "{forgiven:?}");
        assert!(check(&rank(0.2), &[latencies(1.1)]).statistic.unwrap() < -1.5);
        // Two stages of the same data are as convincing as one, and more with both.
        let two = check(&rank(0.0), &[latencies(1.1), latencies(1.1)]);
        assert!(two.statistic.unwrap() > slower.statistic.unwrap());
    }

    #[test]
    fn a_look_without_data_keeps_the_alpha_in_force() {
        let e = Evaluation::no_data(2, Some(1), 0.0125);
        assert_eq!((e.guardrail, e.cell, e.alpha), (2, Some(1), 0.0125));
        assert_eq!(e.verdict, Verdict::NoData);
        let cells = ["ios".to_string(), "pc".to_string()];
        assert_eq!(
            e.describe(&guardrail(NAIVE), &cells),
            "crash [naive_z] in pc -> inconclusive (telemetry missing or late)"
        );
    }

    #[test]
    fn a_sample_of_exactly_the_minimum_is_enough() {
        let g = guardrail(NAIVE);
        assert_eq!(check(&g, &[snapshot(100, 5, 100, 2)]).verdict, Verdict::Pass);
        assert_eq!(check(&g, &[snapshot(99, 5, 1000, 2)]).verdict, Verdict::TooFewSamples);
        assert_eq!(check(&g, &[snapshot(1000, 5, 99, 2)]).verdict, Verdict::TooFewSamples);
        let limit = guardrail(Method::Threshold { limit: 0.5 });
        assert_eq!(check(&limit, &[snapshot(100, 5, 0, 0)]).verdict, Verdict::Pass);
        assert_eq!(check(&limit, &[snapshot(99, 5, 0, 0)]).verdict, Verdict::TooFewSamples);
    }

    /// A floor breaches strictly below its limit.
    #[test]
    fn a_threshold_on_a_decrease_breaches_below_its_limit() {
        let g = Guardrail {
            direction: Direction::Decrease,
            ..guardrail(Method::Threshold { limit: 0.05 })
        };
        assert_eq!(check(&g, &[snapshot(200, 9, 0, 0)]).verdict, Verdict::Breach);
        assert_eq!(check(&g, &[snapshot(200, 10, 0, 0)]).verdict, Verdict::Pass);
        assert_eq!(check(&g, &[snapshot(200, 11, 0, 0)]).verdict, Verdict::Pass);
    }

    /// Every method's line names its statistic and its rule, and the alpha only where a test
    /// has one.
    #[test]
    fn descriptions_name_each_methods_statistic_and_rule() {
        let ceiling = guardrail(Method::Threshold { limit: 0.05 });
        let e = check(&ceiling, &[snapshot(200, 11, 0, 0)]);
        assert_eq!(
            e.describe(&ceiling, &[]),
            "crash [threshold] treatment 0.0550 (n=200), mean 0.0550 (breach if > 0.0500) -> breach"
        );
        let floor = Guardrail { direction: Direction::Decrease, ..ceiling };
        let e = check(&floor, &[snapshot(200, 9, 0, 0)]);
        assert!(e.describe(&floor, &[]).ends_with("(breach if < 0.0500) -> breach"));
        let naive = guardrail(NAIVE);
        let text = check(&naive, &[snapshot(1000, 60, 1000, 20)]).describe(&naive, &[]);
        assert!(text.contains(", z "), "{text}");
        assert!(text.contains("(breach if >= 1.6449), alpha 0.0500 (spent 0.0500)"), "{text}");
        let msprt = guardrail(Method::Msprt { test: TEST, mixture_sd: 0.01 });
        let text = check(&msprt, &[snapshot(2000, 60, 2000, 37)]).describe(&msprt, &[]);
        assert!(text.contains(", log-LR "), "{text}");
        assert!(text.contains(", alpha 0.0500, always-valid p "), "{text}");
        let sprt = guardrail(Method::Sprt { test: TEST, effect: 0.02, beta: 0.2 });
        let text = check(&sprt, &[snapshot(2000, 60, 2000, 37)]).describe(&sprt, &[]);
        assert!(text.contains(", log-LR ") && text.contains(", accept if <= "), "{text}");
    }

    /// The reported intervals are the estimate plus and minus the rule's bound in standard
    /// errors: the fixed-sample bound for the naive test and the SPRT, the boundary for spending.
    #[test]
    fn intervals_are_the_estimate_plus_and_minus_the_bound() {
        let around = |e: &Evaluation, bound: f64| {
            let (estimate, se) = (e.estimate.unwrap(), e.std_error.unwrap());
            let (lo, hi) = e.interval.unwrap();
            assert!((lo - (estimate - bound * se)).abs() < 1e-15, "{e:?}");
            assert!((hi - (estimate + bound * se)).abs() < 1e-15, "{e:?}");
        };
        let data = [snapshot(1000, 60, 1000, 20)];
        let naive = check(&guardrail(NAIVE), &data);
        around(&naive, naive.threshold);
        let sprt = check(&guardrail(Method::Sprt { test: TEST, effect: 0.02, beta: 0.2 }), &data);
        around(&sprt, z_critical(0.05));
        let spending = Method::Spending {
            test: TEST,
            spending: rollcage_stats::spending::Spending::Pocock,
            planned_information: 1000.0,
        };
        let spent = check(&guardrail(spending), &data);
        assert!(spent.threshold.is_finite(), "{spent:?}");
        around(&spent, spent.threshold);
    }

    /// The mSPRT's confidence sequence: symmetric about the estimate, at the alpha the earlier
    /// evidence's likelihood ratio leaves (all of it for a fresh test, less after evidence
    /// against harm carried over a partial kill).
    #[test]
    fn msprt_interval_is_the_confidence_sequence_at_the_alpha_left() {
        let g = guardrail(Method::Msprt { test: TEST, mixture_sd: 0.01 });
        let half = |e: &Evaluation, alpha: f64| {
            let se = e.std_error.unwrap();
            msprt_z_bound(se * se, 0.01, alpha) * se
        };
        let fresh = msprt_look(&g, &mut Memory::new(), 60);
        let (lo, hi) = fresh.interval.unwrap();
        let estimate = fresh.estimate.unwrap();
        assert!((lo - (estimate - half(&fresh, 0.05))).abs() < 1e-15, "{fresh:?}");
        assert!((hi - (estimate + half(&fresh, 0.05))).abs() < 1e-15, "{fresh:?}");
        let mut memory = Memory::new();
        msprt_look(&g, &mut memory, 10);
        memory.carry_over();
        let before = memory.log_lr_before;
        assert!(before < -1.0, "{before}");
        let carried = msprt_look(&g, &mut memory, 60);
        let (lo, hi) = carried.interval.unwrap();
        let width = 2.0 * half(&carried, 0.05 * before.exp());
        assert!((hi - lo - width).abs() < 1e-12, "{carried:?}");
        assert!(hi - lo > fresh.interval.map(|(l, h)| h - l).unwrap());
    }

    #[test]
    fn the_naive_test_spends_alpha_at_every_look() {
        let e = looks(&guardrail(NAIVE), &[(1000, 20), (2000, 40), (3000, 60)]);
        let spent: Vec<f64> = e.iter().map(|e| e.alpha_spent.unwrap()).collect();
        assert!((spent[0] - 0.05).abs() < 1e-15 && (spent[2] - 0.15).abs() < 1e-15, "{spent:?}");
    }

    #[test]
    fn bonferroni_tests_at_its_last_planned_look() {
        let g = guardrail(Method::Bonferroni { test: TEST, looks: 2 });
        let e = looks(&g, &[(1000, 20), (2000, 40)]);
        assert_eq!(e[1].verdict, Verdict::Pass);
        assert!((e[1].threshold - 1.959_963_984_540_054).abs() < 1e-9, "{:?}", e[1]);
    }

    fn pocock(planned: f64) -> Guardrail {
        guardrail(Method::Spending {
            test: TEST,
            spending: rollcage_stats::spending::Spending::Pocock,
            planned_information: planned,
        })
    }

    /// Each analysis's boundary is the recursion's at the statistical information 1/V it saw,
    /// spending Pocock's alpha at the calendar fraction (sessions): recomputed here step by step.
    #[test]
    fn spending_boundaries_follow_the_statistical_information() {
        let planned = 4000.0;
        let spending = rollcage_stats::spending::Spending::Pocock;
        // The crash rate falls, so 1/V grows faster than the sessions.
        let e = looks(&pocock(planned), &[(1000, 30), (2000, 40), (4000, 60)]);
        let mut reference = GroupSequential::new();
        for (e, calendar) in e.iter().zip([500.0, 1000.0, 2000.0]) {
            let se = e.std_error.unwrap();
            let bound =
                reference.analyse(se.powi(-2), spending.cumulative(0.05, calendar / planned));
            assert!((e.threshold - bound).abs() < 1e-9, "{e:?} vs {bound}");
        }
        assert!(e[1].std_error.unwrap().powi(-2) > 2.0 * e[0].std_error.unwrap().powi(-2));
    }

    /// When 1/V falls, the recursion takes it to have grown as the sessions did.
    #[test]
    fn spending_takes_the_sessions_growth_when_the_variance_outgrows_the_data() {
        let planned = 10_000.0;
        let spending = rollcage_stats::spending::Spending::Pocock;
        let e = looks(&pocock(planned), &[(500, 10), (1000, 600)]);
        let first = e[0].std_error.unwrap().powi(-2);
        let mut reference = GroupSequential::new();
        reference.analyse(first, spending.cumulative(0.05, 250.0 / planned));
        let bound = reference.analyse(2.0 * first, spending.cumulative(0.05, 500.0 / planned));
        assert!((e[1].threshold - bound).abs() < 1e-9, "{:?} vs {bound}", e[1]);
    }

    /// Information grown by exactly the step is enough for a new analysis.
    #[test]
    fn spending_analyses_at_exactly_the_information_step() {
        let e = looks(&pocock(10_000.0), &[(2000, 40), (2200, 44)]);
        assert_eq!(e[1].verdict, Verdict::Pass, "{:?}", e[1]);
    }

    /// When Holm raises the alpha in force, the analyses so far are redone at the new level: the
    /// test then stands where it would had it run at that level from the start.
    #[test]
    fn spending_recomputes_its_boundaries_when_the_alpha_in_force_changes() {
        let g = pocock(4000.0);
        let run = |alphas: [f64; 3]| {
            let mut memory = Memory::new();
            let data = [(1000, 20), (2000, 40), (3000, 60)];
            data.iter()
                .zip(alphas)
                .map(|(&(n, k), alpha)| {
                    let look = everyone(alpha);
                    evaluate(0, &g, only(&[snapshot(n, k, n, n / 50)]), look, &mut memory)
                })
                .collect::<Vec<_>>()
        };
        let raised = run([0.025, 0.025, 0.05]);
        let always = run([0.05, 0.05, 0.05]);
        assert!((raised[2].threshold - always[2].threshold).abs() < 1e-12, "{raised:?}");
        assert!((raised[2].alpha_spent.unwrap() - always[2].alpha_spent.unwrap()).abs() < 1e-12);
        assert!(raised[1].threshold > always[1].threshold);
    }

    /// The rank test's information is Σ nₜnₕ/(nₜ + nₕ) over its strata, empty ones adding none.
    #[test]
    fn the_rank_tests_information_counts_each_strata_sessions() {
        let mut g = guardrail(Method::Spending {
            test: Comparison {
                margin: Margin::Relative(0.0),
                statistic: Statistic::MannWhitney,
                ..TEST
            },
            spending: rollcage_stats::spending::Spending::Pocock,
            planned_information: 1000.0,
        });
        g.metric = Metric::LatencyMs;
        let one = check(&g, &[latencies(1.0)]);
        assert_eq!(one.information_fraction, Some(0.2), "400 · 400 / 800 of 1000: {one:?}");
        let two = check(&g, &[latencies(1.0), Telemetry::default(), latencies(1.0)]);
        assert_eq!(two.information_fraction, Some(0.4), "{two:?}");
    }
}
