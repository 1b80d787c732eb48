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
//!
//! # Players across strata
//!
//! Strata are not independent samples: the holdback is the same players in every stage, and a
//! treatment player stays exposed from the stage that exposed them on. A holdback player who
//! crashes more than most in stage 1 crashes more than most in stage 2 too, so the strata's control
//! means move together, and a variance that adds the strata's variances as if they were
//! independent is too small. The delta method clusters by player across the whole contrast
//! instead: the estimate's variance is Σᵢψᵢ², where player i's influence ψᵢ = Σₛ cₛ(yᵢₛ − Rₛnᵢₛ)
//! runs over every stratum the player played in (cₛ is the stratum's weight over its cohort's
//! observations, Rₛ the cohort's mean there, nᵢₛ and yᵢₛ the player's count and total). Expanding
//! the square gives each stratum's own term, which [`Moments`] already carries, plus twice each
//! stratum's cross term with the strata before it: Σᵢ uᵢ(yᵢₛ − Rₛnᵢₛ), where uᵢ is what the player
//! carries in from the earlier strata. Once a stratum closes its weight and mean are fixed, so a
//! telemetry pipeline can keep each player's carry as one number, and the stratum's
//! Σᵢuᵢyᵢₛ and Σᵢuᵢnᵢₛ ([`Carried`]) as observations arrive. [`Influence`] says how a closed
//! stratum adds to the carry.

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
    /// What the treatment's and the control's players carry into this stratum from the earlier
    /// strata of the same contrast (zero for the first, or when nobody keeps carries).
    pub carried: [Carried; 2],
}

/// The sums of a cohort's carries over one stratum's observations: with uᵢ what player i carries
/// in from the earlier strata (see the module's introduction), Σ uᵢ·y over the observations and
/// Σ uᵢ over them (which is Σᵢ uᵢnᵢₛ). Plain sums, so disjoint sets of players add up.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Carried {
    pub sum: f64,
    pub count: f64,
}

impl Carried {
    /// Adds one observation `value` of a player who carries `carry`.
    #[inline]
    pub fn observe(&mut self, carry: f64, value: f64) {
        self.sum += carry * value;
        self.count += carry;
    }

    pub fn merge(&mut self, other: &Carried) {
        self.sum += other.sum;
        self.count += other.count;
    }

    /// Σᵢ uᵢ(yᵢₛ − mean·nᵢₛ): the cross term of this stratum with the earlier ones.
    fn cross(&self, mean: f64) -> f64 {
        self.sum - mean * self.count
    }
}

/// How a closed stratum adds to the carry of one cohort's players: a player with `n` observations
/// summing to `y` there adds `share·(y − mean·n)`. The share is the stratum's weight over the
/// cohort's observations, wₛ/nₛ, which for the treatment is the control's share of the stratum's
/// observations and for the control the treatment's. The direction and margin scale a cohort's
/// influence by the same factor in every stratum, so they are applied when the variance is
/// computed, not here.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Influence {
    pub share: f64,
    pub mean: f64,
}

impl Influence {
    #[inline]
    pub fn of(&self, n: f64, y: f64) -> f64 {
        self.share * (y - self.mean * n)
    }
}

/// The influences of a closed stratum on its treatment's and its control's players, or `None` if
/// [`stratified_harm`] leaves the stratum out under `model`.
pub fn influences(
    treatment: &Moments,
    control: &Moments,
    model: VarianceModel,
) -> Option<[Influence; 2]> {
    let usable = usable(treatment, control, model)?;
    let (nt, nc) = (treatment.count as f64, control.count as f64);
    Some([
        Influence { share: nc / (nt + nc), mean: usable.means[0] },
        Influence { share: nt / (nt + nc), mean: usable.means[1] },
    ])
}

/// Builds a contrast's strata, carries included, from each player's observations: `cohorts[0]` is
/// the treatment and `cohorts[1]` the control, and `cohorts[c][s][i]` holds player i's
/// observations in stratum s (empty when they did not play then), player i being the same player
/// in every stratum of a cohort. For tests and for anything holding the raw data; a telemetry
/// pipeline keeps the same sums as the data arrives.
pub fn strata_from_players(cohorts: [&[Vec<Vec<f64>>]; 2], model: VarianceModel) -> Vec<Stratum> {
    let strata = cohorts[0].len();
    assert_eq!(strata, cohorts[1].len(), "both cohorts have every stratum");
    let mut carries: [Vec<f64>; 2] = cohorts.map(|c| vec![0.0; c.first().map_or(0, Vec::len)]);
    let mut out = Vec::with_capacity(strata);
    for s in 0..strata {
        let mut stratum = Stratum::default();
        for (c, players) in cohorts.iter().enumerate() {
            let moments = Moments::from_players(
                players[s].iter().map(Vec::as_slice).filter(|v| !v.is_empty()),
            );
            if c == 0 {
                stratum.treatment = moments
            } else {
                stratum.control = moments
            }
            for (values, &carry) in players[s].iter().zip(&carries[c]) {
                values.iter().for_each(|&v| stratum.carried[c].observe(carry, v));
            }
        }
        if let Some(influence) = influences(&stratum.treatment, &stratum.control, model) {
            for (c, players) in cohorts.iter().enumerate() {
                for (values, carry) in players[s].iter().zip(&mut carries[c]) {
                    *carry += influence[c].of(values.len() as f64, values.iter().sum());
                }
            }
        }
        out.push(stratum);
    }
    out
}

/// A stratum's means and variances of the means, when both cohorts have them.
struct Usable {
    means: [f64; 2],
    variances: [f64; 2],
}

fn usable(treatment: &Moments, control: &Moments, model: VarianceModel) -> Option<Usable> {
    Some(Usable {
        means: [treatment.mean()?, control.mean()?],
        variances: [treatment.variance_of_mean(model)?, control.variance_of_mean(model)?],
    })
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
/// to estimate a variance are left out; `None` when no stratum is usable. Under the clustered
/// model the variance also counts each stratum's covariance with the earlier ones through the
/// players they share (see the module's introduction), from the strata's [`Carried`] sums.
pub fn stratified_harm(strata: &[Stratum], spec: &HarmSpec) -> Option<HarmEstimate> {
    let d = spec.direction.sign();
    let (mut weight_sum, mut weighted_harm, mut weighted_var) = (0.0, 0.0, 0.0);
    let (mut t_sum, mut t_count, mut c_sum, mut c_count) = (0.0, 0u64, 0.0, 0u64);
    for s in strata {
        let Some(Usable { means: [mt, mc], variances: [vt, vc] }) =
            usable(&s.treatment, &s.control, spec.variance)
        else {
            continue;
        };
        // The control's influence is scaled by `control`, the treatment's by ±1.
        let (harm, control) = match spec.margin {
            Margin::Relative(m) => (d * mt - (d + m) * mc, d + m),
            Margin::Absolute(m) => (d * (mt - mc) - m, d),
        };
        let (nt, nc) = (s.treatment.count as f64, s.control.count as f64);
        let w = nt * nc / (nt + nc);
        weight_sum += w;
        weighted_harm += w * harm;
        weighted_var += w * w * (vt + control * control * vc);
        if spec.variance == VarianceModel::Clustered {
            let [t, c] = s.carried;
            weighted_var += 2.0 * w * (t.cross(mt) / nt + control * control * c.cross(mc) / nc);
        }
        t_sum += s.treatment.sum;
        t_count += s.treatment.count;
        c_sum += s.control.sum;
        c_count += s.control.count;
    }
    (weight_sum > 0.0).then(|| HarmEstimate {
        estimate: weighted_harm / weight_sum,
        // The cross terms can be negative; rounding must not make the sum so.
        std_error: weighted_var.max(0.0).sqrt() / weight_sum,
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
        let s = Stratum {
            treatment: binary(1000, 30),
            control: binary(1000, 20),
            ..Stratum::default()
        };
        let h = stratified_harm(&[s], &spec(Direction::Increase, Margin::Absolute(0.0))).unwrap();
        assert!((h.estimate - 0.01).abs() < 1e-15);
        let expected: f64 = 0.03 * 0.97 / 999.0 + 0.02 * 0.98 / 999.0;
        let expected = expected.sqrt();
        assert!((h.std_error - expected).abs() < 1e-12, "{} vs {}", h.std_error, expected);
    }

    #[test]
    fn relative_margin_scales_the_control() {
        let s = Stratum {
            treatment: binary(1000, 30),
            control: binary(1000, 20),
            ..Stratum::default()
        };
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
        let quiet =
            Stratum { treatment: binary(100, 2), control: binary(1000, 20), ..Stratum::default() };
        let shocked = Stratum {
            treatment: binary(5000, 200),
            control: binary(1000, 40),
            ..Stratum::default()
        };
        let s = spec(Direction::Increase, Margin::Absolute(0.0));
        let h = stratified_harm(&[quiet, shocked], &s).unwrap();
        assert!(h.estimate.abs() < 1e-15, "stratified estimate {}", h.estimate);
        let pooled_t = 202.0 / 5100.0;
        let pooled_c = 60.0 / 2000.0;
        assert!(pooled_t - pooled_c > 0.009, "the pooled comparison is biased by the shock");
        assert!((h.treatment_mean - pooled_t).abs() < 1e-15);
    }

    /// The clustered standard error against the estimator's real spread, by Monte Carlo: the same
    /// heterogeneous players in three strata, the holdback in all of them and the treatment
    /// growing stage by stage. Counting the players' covariance across strata makes the mean
    /// estimated variance match the empirical variance of the estimates; adding the strata's
    /// variances as if independent falls short by far more than the Monte Carlo error.
    #[test]
    fn clustering_across_strata_matches_the_estimators_spread() {
        use rand::{RngExt, SeedableRng};
        use rand_distr::{Distribution, Normal, Poisson};

        const REPLICATIONS: usize = 2000;
        let spec = HarmSpec {
            direction: Direction::Increase,
            margin: Margin::Absolute(0.0),
            variance: VarianceModel::Clustered,
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let frailty: Normal<f64> = Normal::new(0.0, 1.2).unwrap();
        // Treatment players exposed by stratum: 150, then 300, then 450 (the earlier ones stay).
        let exposed = [150, 300, 450];
        let (treatment_players, control_players) = (450, 300);
        let mut estimates = Vec::with_capacity(REPLICATIONS);
        let (mut clustered, mut independent) = (0.0, 0.0);
        for _ in 0..REPLICATIONS {
            let player = |rng: &mut rand_chacha::ChaCha8Rng| {
                let p = (0.04 * frailty.sample(rng).exp()).min(0.9);
                let activity = Poisson::new(rng.random_range(1.0..8.0)).unwrap();
                (p, activity)
            };
            let mut draw = |count: usize, playing: &dyn Fn(usize, usize) -> bool| {
                let players: Vec<_> = (0..count).map(|_| player(&mut rng)).collect();
                (0..3)
                    .map(|s| {
                        players
                            .iter()
                            .enumerate()
                            .map(|(i, (p, activity))| {
                                if !playing(s, i) {
                                    return Vec::new();
                                }
                                let n = activity.sample(&mut rng) as usize;
                                (0..n)
                                    .map(|_| f64::from(u8::from(rng.random::<f64>() < *p)))
                                    .collect()
                            })
                            .collect()
                    })
                    .collect::<Vec<Vec<Vec<f64>>>>()
            };
            let treatment = draw(treatment_players, &|s, i| i < exposed[s]);
            let control = draw(control_players, &|_, _| true);
            let strata = strata_from_players([&treatment, &control], spec.variance);
            let h = stratified_harm(&strata, &spec).unwrap();
            estimates.push(h.estimate);
            clustered += h.std_error * h.std_error;
            let apart: Vec<Stratum> =
                strata.iter().map(|s| Stratum { carried: Default::default(), ..*s }).collect();
            independent += stratified_harm(&apart, &spec).unwrap().std_error.powi(2);
        }
        let r = REPLICATIONS as f64;
        let mean = estimates.iter().sum::<f64>() / r;
        let empirical = estimates.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / (r - 1.0);
        let (clustered, independent) = (clustered / r / empirical, independent / r / empirical);
        // The sample variance of near-normal estimates has relative standard error √(2/(R−1)).
        let tolerance = 4.0 * (2.0 / (r - 1.0)).sqrt();
        assert!((clustered - 1.0).abs() <= tolerance, "clustered/empirical {clustered:.3}");
        assert!(independent < 1.0 - tolerance, "independent/empirical {independent:.3}");
    }

    #[test]
    fn strata_without_a_variance_are_left_out() {
        let empty = Stratum::default();
        let s = spec(Direction::Increase, Margin::Absolute(0.0));
        assert_eq!(stratified_harm(&[empty], &s), None);
        let ok = Stratum { treatment: binary(10, 1), control: binary(10, 2), ..Stratum::default() };
        let h = stratified_harm(&[empty, ok], &s).unwrap();
        assert_eq!(h.treatment_count, 10);
    }
}
