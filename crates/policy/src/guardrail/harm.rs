//! Measuring the harm a comparison tests: the pooled moments of a cohort, the stratified
//! difference of means with its clustered variance, and the stratified rank test on the latency
//! histograms.

use rollcage_stats::rank::{Binned, mann_whitney, margin_shift};
use rollcage_stats::{HarmSpec, Margin, Moments, Stratum, stratified_harm};

use super::{Evidence, Look};
use crate::telemetry::{Cohort, Telemetry};
use rollcage_model::{Comparison, Guardrail, Statistic};

fn moments(s: &Telemetry, cohort: Cohort, g: &Guardrail, look: &Look) -> Moments {
    match look.cell {
        Some(c) => *s.cohort(cohort).cell(c, g.metric),
        None => s.cohort(cohort).metric_in(g.metric, look.live_cells),
    }
}

pub(super) fn pooled(strata: &[Telemetry], cohort: Cohort, g: &Guardrail, look: &Look) -> Moments {
    let mut m = Moments::default();
    for s in strata {
        m.merge(&moments(s, cohort, g, look));
    }
    m
}

/// Every player on the old build in `cell` (`None`: in every live cell of the look), holdback
/// and unexposed alike: the holdback's variance components are learnt from them, in the cells
/// the look compares, and a segment cell's between-player one in every live cell, and so are two
/// thirds of the new build's within-player one (see [`rollcage_stats::contrast`]).
/// A holdback of a few hundred players cannot tell its between-player component from noise, and
/// its own estimates move with its mean; the unexposed play the same build, drawn from the same
/// players by the same hash, and never see the new build, so a harmful build cannot widen them.
fn old_build(s: &Telemetry, g: &Guardrail, look: &Look, cell: Option<usize>) -> Moments {
    let at = Look { cell, ..*look };
    let mut m = moments(s, Cohort::Holdback, g, &at);
    m.merge(&moments(s, Cohort::Unexposed, g, &at));
    m
}

/// The harm a look tests: an estimate beyond the margin, its standard error, and the information
/// behind it (Σ nₜnₕ/(nₜ + nₕ) over stages, what spending functions measure).
pub(super) struct Harm {
    pub(super) estimate: f64,
    pub(super) std_error: f64,
    /// Infinite for a normal reference.
    pub(super) degrees_of_freedom: f64,
    pub(super) information: f64,
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
pub(super) fn harm(
    g: &Guardrail,
    test: &Comparison,
    evidence: Evidence<'_>,
    look: &Look,
) -> Option<Harm> {
    match test.statistic {
        Statistic::Mean => {
            // The history's treatment measured a build that no longer runs: only the old build's
            // players enter, and only the variance components.
            let history = evidence.history.iter().map(|s| {
                let mut held = Telemetry::default();
                for c in [Cohort::Holdback, Cohort::Unexposed] {
                    held.cohorts[c.index()] = *s.cohort(c);
                }
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
                    old_build: Some(old_build(s, g, look, look.cell)),
                    between_population: [
                        look.cell.map(|_| {
                            s.cohort(Cohort::Treatment).metric_in(g.metric, look.live_cells)
                        }),
                        look.cell.map(|_| old_build(s, g, look, None)),
                    ],
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
