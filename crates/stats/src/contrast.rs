//! The harm a treatment does relative to its control, with a margin, stratified by stage.
//!
//! A staged rollout ramps the treatment share up while the holdback stays fixed, so over the whole
//! rollout the treatment's sessions lean towards later hours than the holdback's. Anything that
//! moves both cohorts at once, such as a live event or a weekend, would then look like a
//! treatment effect in a pooled comparison. Comparing within each stage (where both cohorts are
//! sampled over the same hours) and combining the per-stage differences removes that bias. The
//! combination uses the Cochran–Mantel–Haenszel weights wₛ = nₜnₕ/(nₜ + nₕ).
//!
//! Harm is measured in the metric's own units, oriented so that positive means harmful beyond the
//! margin: for a metric whose harmful direction is an increase, with a relative margin m, the harm
//! is μₜ − (1 + m)·μₕ; with an absolute margin it is μₜ − μₕ − m. A guardrail asks whether the harm
//! is above zero.

use crate::moments::{Moments, VarianceModel};

/// Which way a metric moves when a build hurts players.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Higher is worse (crash rate, latency).
    Increase,
    /// Lower is worse (return rate, revenue).
    Decrease,
}

impl Direction {
    fn sign(self) -> f64 {
        match self {
            Direction::Increase => 1.0,
            Direction::Decrease => -1.0,
        }
    }
}

/// How much change in the harmful direction a guardrail tolerates before calling it harm.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Margin {
    /// A fraction of the control's mean (0.1 tolerates a 10% change).
    Relative(f64),
    /// An amount in the metric's units.
    Absolute(f64),
}

/// What a guardrail compares: direction, margin and variance model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HarmSpec {
    pub direction: Direction,
    pub margin: Margin,
    pub variance: VarianceModel,
}

/// One stage's data for the two cohorts being compared.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Stratum {
    pub treatment: Moments,
    pub control: Moments,
}

/// The combined harm estimate over all usable strata.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HarmEstimate {
    /// Harm beyond the margin, in metric units; positive is harmful.
    pub estimate: f64,
    /// Its standard error.
    pub std_error: f64,
    /// The treatment's mean pooled over the usable strata (for display).
    pub treatment_mean: f64,
    /// The control's mean pooled over the usable strata (for display).
    pub control_mean: f64,
    /// Treatment observations in the usable strata.
    pub treatment_count: u64,
    /// Control observations in the usable strata.
    pub control_count: u64,
    /// The information behind the estimate in sessions: Σ nₜnₕ/(nₜ + nₕ) over the usable strata
    /// (the weights' sum). It grows with the data and is what spending functions measure.
    pub information: f64,
}

/// Combines the per-stratum harm into one estimate. Strata where either cohort has too little data
/// to estimate a variance are left out; `None` when no stratum is usable.
pub fn stratified_harm(strata: &[Stratum], spec: &HarmSpec) -> Option<HarmEstimate> {
    let d = spec.direction.sign();
    let (mut weight_sum, mut weighted_harm, mut weighted_var) = (0.0, 0.0, 0.0);
    let (mut t_sum, mut t_count, mut c_sum, mut c_count) = (0.0, 0u64, 0.0, 0u64);
    for s in strata {
        let (Some(mt), Some(mc)) = (s.treatment.mean(), s.control.mean()) else { continue };
        let (Some(vt), Some(vc)) = (
            s.treatment.variance_of_mean(spec.variance),
            s.control.variance_of_mean(spec.variance),
        ) else {
            continue;
        };
        let (harm, var) = match spec.margin {
            Margin::Relative(m) => (d * mt - (d + m) * mc, vt + (d + m) * (d + m) * vc),
            Margin::Absolute(m) => (d * (mt - mc) - m, vt + vc),
        };
        let (nt, nc) = (s.treatment.count as f64, s.control.count as f64);
        let w = nt * nc / (nt + nc);
        weight_sum += w;
        weighted_harm += w * harm;
        weighted_var += w * w * var;
        t_sum += s.treatment.sum;
        t_count += s.treatment.count;
        c_sum += s.control.sum;
        c_count += s.control.count;
    }
    (weight_sum > 0.0).then(|| HarmEstimate {
        estimate: weighted_harm / weight_sum,
        std_error: weighted_var.sqrt() / weight_sum,
        treatment_mean: t_sum / t_count as f64,
        control_mean: c_sum / c_count as f64,
        treatment_count: t_count,
        control_count: c_count,
        information: weight_sum,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binary(players: usize, events: usize) -> Moments {
        // `players` players with one session each, the first `events` of them with y = 1.
        let values: Vec<[f64; 1]> =
            (0..players).map(|i| [if i < events { 1.0 } else { 0.0 }]).collect();
        Moments::from_players(values.iter().map(|v| v.as_slice()))
    }

    fn spec(direction: Direction, margin: Margin) -> HarmSpec {
        HarmSpec { direction, margin, variance: VarianceModel::Session }
    }

    /// One stratum, no margin: the estimate is the difference of proportions and the standard
    /// error is the unpooled Wald one. Reference (numpy): p1 = 30/1000, p2 = 20/1000,
    /// sqrt(p1(1-p1)/999 + p2(1-p2)/999) with the n-1 sample variance = 0.006960...
    #[test]
    fn single_stratum_is_the_difference_of_means() {
        let s = Stratum { treatment: binary(1000, 30), control: binary(1000, 20) };
        let h = stratified_harm(&[s], &spec(Direction::Increase, Margin::Absolute(0.0))).unwrap();
        assert!((h.estimate - 0.01).abs() < 1e-15);
        let expected: f64 = 0.03 * 0.97 / 999.0 + 0.02 * 0.98 / 999.0;
        let expected = expected.sqrt();
        assert!((h.std_error - expected).abs() < 1e-12, "{} vs {}", h.std_error, expected);
    }

    #[test]
    fn relative_margin_scales_the_control() {
        let s = Stratum { treatment: binary(1000, 30), control: binary(1000, 20) };
        let h = stratified_harm(&[s], &spec(Direction::Increase, Margin::Relative(0.5))).unwrap();
        // 0.03 - 1.5 * 0.02 = 0.
        assert!(h.estimate.abs() < 1e-15);
        let dec = stratified_harm(&[s], &spec(Direction::Decrease, Margin::Relative(0.1))).unwrap();
        // (1 - 0.1) * 0.02 - 0.03 = -0.012: the treatment is higher, which is not harm here.
        assert!((dec.estimate + 0.012).abs() < 1e-15);
    }

    /// A confounder that doubles the rate in both cohorts during the second stage, while the
    /// treatment is much larger there, makes the pooled comparison call harm where there is
    /// none. The stratified estimate stays at zero.
    #[test]
    fn stratification_removes_a_shared_shock() {
        let quiet = Stratum { treatment: binary(100, 2), control: binary(1000, 20) };
        let shocked = Stratum { treatment: binary(5000, 200), control: binary(1000, 40) };
        let s = spec(Direction::Increase, Margin::Absolute(0.0));
        let h = stratified_harm(&[quiet, shocked], &s).unwrap();
        assert!(h.estimate.abs() < 1e-15, "stratified estimate {}", h.estimate);
        let pooled_t = 202.0 / 5100.0;
        let pooled_c = 60.0 / 2000.0;
        assert!(pooled_t - pooled_c > 0.009, "the pooled comparison is biased by the shock");
        assert!((h.treatment_mean - pooled_t).abs() < 1e-15);
    }

    #[test]
    fn strata_without_a_variance_are_left_out() {
        let empty = Stratum::default();
        let s = spec(Direction::Increase, Margin::Absolute(0.0));
        assert_eq!(stratified_harm(&[empty], &s), None);
        let ok = Stratum { treatment: binary(10, 1), control: binary(10, 2) };
        let h = stratified_harm(&[empty, ok], &s).unwrap();
        assert_eq!(h.treatment_count, 10);
    }
}
