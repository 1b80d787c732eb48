//! Evaluating one guardrail on the telemetry of every stage so far.
//!
//! A statistical guardrail asks, at every look, whether the build harms players beyond the margin.
//! How it decides depends on its method (see [`Method`](rollcage_model::Method)); the methods that
//! hold their error rate over many looks need to remember what they did at earlier looks, which
//! [`Memory`] keeps for each guardrail and segment cell.
//!
//! The submodules are the parts of a look: `evaluation` records what a look found and describes
//! it, `memory` is what a guardrail remembers, `harm` measures the harm in the telemetry, `method`
//! applies each method's decision rule, and `spending` is the alpha-spending test's.

mod evaluation;
mod harm;
mod memory;
mod method;
mod spending;

use crate::telemetry::{Cohort, Telemetry};
use rollcage_model::Guardrail;

pub use evaluation::{Evaluation, Verdict};
use harm::{harm, pooled};
pub use memory::Memory;
use method::{decide, threshold};

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
#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::ALL_CELLS;
    use rollcage_model::Metric;
    use rollcage_model::{Comparison, Method, Severity, Statistic};
    use rollcage_stats::sequential::{msprt_z_bound, z_critical};
    use rollcage_stats::spending::GroupSequential;
    use rollcage_stats::{Direction, Margin, Moments, VarianceModel};

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
            scope: rollcage_model::Scope::Release,
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
        let restarted = [snapshot(60, 3, 60, 0)];
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

    /// Players with ten sessions each, the first `crashing` of them crashing in `crashes` of
    /// their sessions, the others in one.
    fn repeat_players(players: usize, crashing: usize, crashes: usize) -> Moments {
        let values: Vec<Vec<f64>> = (0..players)
            .map(|i| {
                let k = if i < crashing { crashes } else { 1 };
                (0..10).map(|s| if s < k { 1.0 } else { 0.0 }).collect()
            })
            .collect();
        Moments::from_players(values.iter().map(Vec::as_slice))
    }

    /// The holdback's variance is learnt from every player on the old build: a holdback of 40 in
    /// which four players crash half the time looks far more varied than the 400 unexposed
    /// players beside it, who all crash once in ten, and with them its standard error is what the
    /// contrast gives with those players as the holdback's population. They change nothing else,
    /// and after a restart the history's unexposed teach it too.
    #[test]
    fn the_old_builds_players_teach_the_holdbacks_variance() {
        let g = guardrail(Method::NaiveZ(Comparison {
            variance: VarianceModel::Clustered,
            margin: Margin::Relative(0.1),
            ..TEST
        }));
        let mut data = Telemetry::default();
        let crash = Metric::CrashRate.index();
        data.cohorts[Cohort::Treatment.index()].cells[0][crash] = repeat_players(40, 2, 5);
        data.cohorts[Cohort::Holdback.index()].cells[0][crash] = repeat_players(40, 4, 5);
        let alone = check(&g, &[data]);
        data.cohorts[Cohort::Unexposed.index()].cells[0][crash] = repeat_players(400, 0, 5);
        let taught = check(&g, &[data]);
        assert_eq!(
            (taught.estimate, taught.treatment_count),
            (alone.estimate, alone.treatment_count)
        );
        let (taught_se, alone_se) = (taught.std_error.unwrap(), alone.std_error.unwrap());
        assert!(taught_se < 0.95 * alone_se, "{taught:?} {alone:?}");
        let mut old_build = repeat_players(40, 4, 5);
        old_build.merge(&repeat_players(400, 0, 5));
        let stratum = rollcage_stats::Stratum {
            treatment: repeat_players(40, 2, 5),
            control: repeat_players(40, 4, 5),
            old_build: Some(old_build),
            ..Default::default()
        };
        let spec = rollcage_stats::HarmSpec {
            direction: Direction::Increase,
            margin: Margin::Relative(0.1),
            variance: VarianceModel::Clustered,
        };
        let direct = rollcage_stats::stratified_harm(&[stratum], &spec).unwrap();
        assert!((taught_se - direct.std_error).abs() < 1e-15, "{direct:?}");
        // A restart keeps the old build's players of the hours before it.
        let mut before = data;
        before.cohorts[Cohort::Unexposed.index()].cells[0][crash] = Moments::default();
        let mut history = data;
        history.cohorts[Cohort::Holdback.index()].cells[0][crash] = Moments::default();
        let look = everyone(0.05);
        let evidence = Evidence { strata: std::slice::from_ref(&before), history: &[history] };
        let restarted = evaluate(0, &g, evidence, look, &mut Memory::new());
        let without = evaluate(0, &g, only(&[before]), look, &mut Memory::new());
        assert!(restarted.std_error.unwrap() < without.std_error.unwrap(), "{restarted:?}");
    }

    /// A segment cell's look learns the holdback's within-player variance from the old build's
    /// players in that cell and its between-player variance from them in every live cell: the
    /// unexposed of another live cell move the cell's standard error, those of a killed cell do
    /// not.
    #[test]
    fn a_cells_between_player_variance_comes_from_every_live_cell() {
        let g =
            guardrail(Method::NaiveZ(Comparison { variance: VarianceModel::Clustered, ..TEST }));
        let crash = Metric::CrashRate.index();
        let mut data = Telemetry::default();
        data.cohorts[Cohort::Treatment.index()].cells[0][crash] = repeat_players(40, 2, 5);
        data.cohorts[Cohort::Holdback.index()].cells[0][crash] = repeat_players(40, 4, 5);
        data.cohorts[Cohort::Unexposed.index()].cells[0][crash] = repeat_players(400, 0, 5);
        let look = Look { cell: Some(0), live_cells: 0b11, ..everyone(0.05) };
        let cell_alone = evaluate(0, &g, only(&[data]), look, &mut Memory::new());
        data.cohorts[Cohort::Unexposed.index()].cells[1][crash] = repeat_players(400, 100, 6);
        let other_live = evaluate(0, &g, only(&[data]), look, &mut Memory::new());
        assert!(other_live.std_error.unwrap() > cell_alone.std_error.unwrap(), "{other_live:?}");
        let killed = Look { live_cells: 0b01, ..look };
        let other_killed = evaluate(0, &g, only(&[data]), killed, &mut Memory::new());
        assert_eq!(other_killed.std_error, cell_alone.std_error);
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
