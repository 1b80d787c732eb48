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
    /// run another; it looks again when it has.
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
            Verdict::Waiting => "pass (waiting for 10% more information)",
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
    pub std_error: Option<f64>,
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
        if g.method.comparison().is_some() && e.alpha > 0.0 {
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
/// build. Forgotten when the evidence starts over (a new build, a partial kill).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Memory {
    /// Looks that tested (naive z and Bonferroni count them).
    looks: u32,
    /// Spending: the information at each analysis, to recompute the boundaries when the alpha in
    /// force changes (Holm), and the recursion at the current alpha.
    analyses: Vec<f64>,
    test: GroupSequential,
    test_alpha: f64,
    /// mSPRT: the running always-valid p-value.
    p_value: f64,
    /// SPRT: accepted "no harm".
    accepted: bool,
}

impl Memory {
    pub fn new() -> Memory {
        Memory { p_value: 1.0, ..Memory::default() }
    }
}

/// A spending test runs a new analysis only when its information has grown by this factor.
const INFORMATION_STEP: f64 = 1.1;

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

/// Where and at what level a guardrail is evaluated at one look.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Look {
    /// One segment cell, or everyone (`None`).
    pub cell: Option<usize>,
    /// The alpha in force, after dividing by the cells evaluated side by side and the
    /// multiplicity correction.
    pub alpha: f64,
    /// The share of the spending plan's information this cell is expected to gather (1 for
    /// everyone).
    pub plan_share: f64,
}

/// The harm a look tests: an estimate beyond the margin, its standard error, and the information
/// behind it (Σ nₜnₕ/(nₜ + nₕ) over stages, what spending functions measure).
struct Harm {
    estimate: f64,
    std_error: f64,
    information: f64,
}

/// The stratified Mann-Whitney test on the latency histograms: the chance that a new-build session
/// is slower than a holdback session made (1 + margin) times slower, minus ½.
fn rank_harm(strata: &[Telemetry], margin: Margin) -> Option<(f64, f64, f64)> {
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
            if nt + nc > 0.0 { nt * nc / (nt + nc) } else { 0.0 }
        })
        .sum();
    Some((test.estimate, test.std_error, information))
}

/// Evaluates guardrail `index` on the snapshots of every stage of the current build.
pub fn evaluate(
    index: usize,
    g: &Guardrail,
    strata: &[Telemetry],
    look: Look,
    memory: &mut Memory,
) -> Evaluation {
    let cell = look.cell;
    let treatment = pooled(strata, Cohort::Treatment, g, cell);
    let control = pooled(strata, Cohort::Holdback, g, cell);
    let mut e = Evaluation {
        treatment_mean: treatment.mean(),
        control_mean: control.mean(),
        treatment_count: treatment.count,
        control_count: control.count,
        ..Evaluation::empty(index, cell)
    };
    let test: Comparison = match g.method {
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
        _ => *g.method.comparison().expect("every other method compares"),
    };
    let alpha = look.alpha;
    e.alpha = alpha;
    if treatment.count < g.min_sample || control.count < g.min_sample {
        return e;
    }
    let data: Vec<Stratum> = strata
        .iter()
        .map(|s| Stratum {
            treatment: moments(s, Cohort::Treatment, g, cell),
            control: moments(s, Cohort::Holdback, g, cell),
            carried: [Cohort::Treatment, Cohort::Holdback]
                .map(|c| s.cohort(c).carried(g.metric, cell)),
        })
        .collect();
    let harm = match test.statistic {
        Statistic::Mean => {
            let spec =
                HarmSpec { direction: g.direction, margin: test.margin, variance: test.variance };
            stratified_harm(&data, &spec).map(|h| (h.estimate, h.std_error, h.information))
        }
        Statistic::MannWhitney => rank_harm(strata, test.margin),
    };
    let Some((estimate, std_error, information)) = harm else {
        e.verdict = Verdict::NoVariance;
        return e;
    };
    let harm = Harm { estimate, std_error, information };
    e.estimate = Some(harm.estimate);
    e.std_error = Some(harm.std_error);
    if harm.std_error <= 0.0 || !harm.std_error.is_finite() {
        e.verdict = Verdict::NoVariance;
        return e;
    }
    if memory.accepted {
        e.verdict = Verdict::Accepted;
        return e;
    }
    let (estimate, se) = (harm.estimate, harm.std_error);
    let z = estimate / se;
    let z_rule = |e: &mut Evaluation, bound: f64| {
        e.statistic = Some(z);
        e.threshold = bound;
        e.interval = Some((estimate - bound * se, estimate + bound * se));
        z >= bound
    };
    let breach = match g.method {
        Method::Threshold { .. } => unreachable!("returned above"),
        Method::NaiveZ(_) => {
            memory.looks += 1;
            e.alpha_spent = Some((f64::from(memory.looks) * alpha).min(1.0));
            z_rule(&mut e, z_critical(alpha))
        }
        Method::Bonferroni { looks: planned, .. } => {
            memory.looks += 1;
            if memory.looks > planned {
                e.alpha_spent = Some(alpha);
                e.threshold = f64::INFINITY;
                e.verdict = Verdict::Spent;
                return e;
            }
            let per_look = alpha / f64::from(planned);
            e.alpha_spent = Some(f64::from(memory.looks) * per_look);
            z_rule(&mut e, z_critical(per_look))
        }
        Method::Spending { spending, planned_information, .. } => {
            let planned = planned_information * look.plan_share;
            let fraction = |information: f64| information / planned;
            e.information_fraction = Some(fraction(harm.information));
            if memory.test_alpha != alpha && !memory.analyses.is_empty() {
                // The alpha in force changed (Holm passed on a breached guardrail's share):
                // the boundaries of every analysis so far are recomputed at the new level.
                memory.test = GroupSequential::new();
                for &information in &memory.analyses {
                    memory
                        .test
                        .analyse(information, spending.cumulative(alpha, fraction(information)));
                }
            }
            memory.test_alpha = alpha;
            e.alpha_spent = Some(memory.test.spent());
            if memory.analyses.last().is_some_and(|&last| fraction(last) >= 1.0) {
                // The analysis at the planned information spent whatever was left.
                e.verdict = Verdict::Spent;
                return e;
            }
            if memory
                .analyses
                .last()
                .is_some_and(|&last| harm.information < last * INFORMATION_STEP)
            {
                e.verdict = Verdict::Waiting;
                return e;
            }
            let cumulative = spending.cumulative(alpha, fraction(harm.information));
            let bound = memory.test.analyse(harm.information, cumulative);
            memory.analyses.push(harm.information);
            e.alpha_spent = Some(memory.test.spent());
            if bound.is_infinite() {
                // Nothing to spend yet (O'Brien–Fleming at a sliver of the information): this
                // analysis cannot breach, and it is no interval's business.
                e.threshold = bound;
                e.statistic = Some(z);
                false
            } else {
                z_rule(&mut e, bound)
            }
        }
        Method::Msprt { mixture_sd, .. } => {
            let variance = se * se;
            let llr = msprt_log_lr(estimate, variance, mixture_sd);
            let threshold = msprt_log_threshold(alpha);
            if estimate > 0.0 {
                memory.p_value = memory.p_value.min(msprt_p_value(llr));
            }
            e.p_value = Some(memory.p_value);
            let half = msprt_z_bound(variance, mixture_sd, alpha) * se;
            e.interval = Some((estimate - half, estimate + half));
            e.statistic = Some(llr);
            e.threshold = threshold;
            estimate > 0.0 && llr >= threshold
        }
        Method::Sprt { effect, beta, .. } => {
            let (accept, reject) = sprt_log_bounds(alpha, beta);
            let llr = sprt_log_lr(estimate, se * se, effect);
            let fixed = z_critical(alpha);
            e.interval = Some((estimate - fixed * se, estimate + fixed * se));
            e.statistic = Some(llr);
            e.threshold = reject;
            e.accept_below = Some(accept);
            if llr <= accept {
                memory.accepted = true;
                e.verdict = Verdict::Accepted;
                return e;
            }
            llr >= reject
        }
    };
    e.verdict = if breach { Verdict::Breach } else { Verdict::Pass };
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Severity;
    use crate::metric::Metric;
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

    /// One look with a fresh memory, at the guardrail's own alpha.
    fn check(g: &Guardrail, strata: &[Telemetry]) -> Evaluation {
        let alpha = g.method.comparison().map_or(0.0, |c| c.alpha);
        evaluate(0, g, strata, Look { cell: None, alpha, plan_share: 1.0 }, &mut Memory::new())
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
        let look = Look { cell: None, alpha: 0.05, plan_share: 1.0 };
        data.iter()
            .map(|&(n, k)| evaluate(0, g, &[snapshot(n, k, n, n / 50)], look, &mut memory))
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
}
