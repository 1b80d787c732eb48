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
//! # The variance: players, across strata, and which cohort's data it leans on
//!
//! A player's sessions are correlated, so the estimate's variance is a sum over players of their
//! influence on it: player i of a cohort moves the estimate by f·Σₛ cₛ(yᵢₛ − Rₛnᵢₛ)/W, summed over
//! every stratum s the player played in (cₛ = wₛ/nₛ is the stratum's weight over its cohort's
//! observations, Rₛ the cohort's mean there, W the weights' sum, f the cohort's sign and margin
//! factor). Under a one-way random-effects model ([`crate::components`]) with a lasting player
//! effect of variance σ²_b and session noise of variance σ²_w, that influence has variance
//! f²/W² · (σ²_w·Σₛcₛ²nᵢₛ + σ²_b·(Σₛcₛnᵢₛ)²). Summed over the cohort's players the first term is
//! σ²_w·Σₛcₛ²Nₛ; the second expands into each stratum's own Σᵢnᵢₛ² and, because the holdback is the
//! same players in every stage and a treatment player stays exposed from the stage that exposed
//! them on, twice each stratum's cross term with the strata before it: Σᵢuᵢnᵢₛ, where
//! uᵢ = Σ cₛ'nᵢₛ' over the earlier strata is what the player carries in. Once a stratum closes its
//! weight is fixed, so a telemetry pipeline keeps each player's carry as one number and adds it up
//! over the stratum's observations as they arrive ([`Carried`]).
//!
//! The components are estimated by the method of moments: unbiased however unevenly players
//! play (the moment equations count what estimating a cohort's mean from the same players takes
//! away, which is what a plain cluster-robust sum of squares misses: it falls short by as much as
//! a fifth among strongly different players). Where each cohort's components are learnt from, and
//! how, is set by one rule: a variance estimated from the same data as the cohort's mean moves
//! with that mean, and the statistic is then largest exactly where its standard error is smallest
//! (or the other way round), which a normal or t reference does not know.
//! - The between-player component is weighted according to the sign the cohort enters the harm
//!   with. The cohort that enters with a plus sign (the treatment, for a metric whose harm is an
//!   increase) weighs players as the variance does ([`Weighting::Totals`]); the other weighs them
//!   as the mean does, through the players' means ([`Weighting::Means`]), so that a few heavy
//!   players who happen to do well do not shrink its variance as they shrink its mean. A
//!   Totals estimate is left unbiased, below zero too (a truncation at zero would overstate the
//!   variance wherever the component is small against its noise), but the cohort's variance never
//!   falls below half its within-player part; a Means estimate is truncated at zero.
//! - The control's components are learnt from every player on the old build in the compared
//!   cells ([`Stratum::old_build`]): the holdback and the eligible players the rollout has not
//!   exposed yet (and, for a segment cell's comparison, the between-player one from them in every
//!   live cell, [`Stratum::between_population`]). They play the same build, are drawn by the same
//!   hash and never see the new build, so a harmful build cannot widen them, and they do not move
//!   with the holdback's mean. Two things went wrong with the holdback's own players. A few
//!   hundred of them cannot tell the between-player component from its noise, and a truncated
//!   noisy estimate overstates it: with 200 players who differ strongly the standard error
//!   overstated the estimate's spread by up to 12%. And the holdback's own within-player variance
//!   falls with its mean (a crash rate's variance is about the rate), so per-platform crash
//!   guardrails crossed a z of 2.58 up to 1.6 times as often as a normal does, and O'Brien–Fleming
//!   spending killed 5.5% [4.9%, 6.3%] of good builds at an alpha of 5%.
//! - The treatment's within-player component is a third its own and two thirds the old build's
//!   (`OWN_WITHIN_SHARE`); its between-player one is its own. The treatment's own within-player
//!   variance rises with its mean (a crash rate's, a latency's), so the statistic is squeezed when
//!   the build looks bad: at a rollout's first stage, 200 players on the new build, its skewness
//!   was −1.0, a z above 2.33 came a fifth as often as a normal's, and Pocock spending used 64% of
//!   its alpha. The old build's variance alone is what the null hypothesis of no change implies,
//!   and does not move with the treatment's mean; but then the difference's own skewness (a few
//!   crashes are a Poisson count) is left uncorrected, and the statistic's skewness was +0.34: a
//!   z above 2.33 came 1.5 times as often as a normal's. To first order, a statistic whose
//!   variance moves with the mean as a count's does has a skewness of γ(1 − 3a), where γ is the
//!   difference's own and a the share of the variance estimated from the same data: −2γ with
//!   a = 1, +γ with a = 0, and none with a = ⅓. Measured: −1.0 became +0.01, and the tails
//!   are the normal's from the first look on. The between-player component stays the treatment's
//!   own: a new build may change how differently players fare without changing the mean, and
//!   the old build's players cannot know that. The treatment's within-player share learnt from
//!   the old build does assume the new build's sessions vary about their player's mean as the old
//!   build's do (for a crash or return rate the mean alone fixes that).
//!
//! A harmful build's larger variance never inflates the control's, so it costs no power. Measured
//! on strongly heterogeneous players (activity spread 2, crash-proneness spread 1.5), a
//! delta-method statistic's one-sided tail at 2.5% was 6–7%, the same estimator with the holdback
//! weighed by its totals 3.6%, this one with the Student t reference below 2.5% or under.
//!
//! The components of a few players who play far more than the rest are uncertain, so the
//! statistic is referred to a Student t distribution with Satterthwaite's degrees of freedom
//! (each component's variance weighted by its share of the total: within-player components carry
//! their N − k degrees of freedom, the treatment's two shares each their own, between-player ones
//! the effective number of players
//! (Σnᵢ²)²/Σnᵢ⁴, averaged over the strata by their share of the term).

use crate::components::{ComponentSums, Weighting};
use crate::moments::{Moments, VarianceModel};

/// The cohorts' places in a [`Stratum`]'s pairs.
const TREATMENT: usize = 0;
const CONTROL: usize = 1;

/// The share of the treatment's within-player variance learnt from its own players; the rest is
/// learnt from the old build's (see the module's introduction).
const OWN_WITHIN_SHARE: f64 = 1.0 / 3.0;

/// Which way a metric moves when a build hurts players. Its names come from the derive.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString, strum::VariantNames,
)]
#[strum(serialize_all = "snake_case")]
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

impl HarmSpec {
    /// The factors that multiply the treatment's and the control's means in the harm.
    fn factors(&self) -> [f64; 2] {
        let d = self.direction.sign();
        match self.margin {
            Margin::Relative(m) => [d, -(d + m)],
            Margin::Absolute(_) => [d, -d],
        }
    }
}

/// One stage's data for the two cohorts being compared.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Stratum {
    pub treatment: Moments,
    pub control: Moments,
    /// What the treatment's and the control's players carry into this stratum from the earlier
    /// strata of the same contrast (zero for the first, or when nobody keeps carries).
    pub carried: [Carried; 2],
    /// Every player on the old build in the compared cells, the control's players among them
    /// (`None`: the control's players alone). The control's variance components are learnt from
    /// them, and two thirds of the treatment's within-player one (see the module's introduction).
    pub old_build: Option<Moments>,
    /// Where the treatment's and the control's between-player components are learnt from when a
    /// wider set shares them: a segment cell's comparison learns them from the build's players in
    /// every live cell, where the cell alone has too few players to tell them from noise (`None`:
    /// the control's from the `old_build`, the treatment's from its own players). The treatment's
    /// is used when it is weighted by its players' means.
    pub between_population: [Option<Moments>; 2],
}

/// The sum of a cohort's carries over one stratum's observations: with uᵢ what player i carries
/// in from the earlier strata (see the module's introduction), Σ uᵢ over the observations, which
/// is Σᵢ uᵢnᵢₛ. A plain sum, so disjoint sets of players add up.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Carried {
    pub weight: f64,
}

impl Carried {
    /// Adds one observation of a player who carries `carry`.
    #[inline]
    pub fn observe(&mut self, carry: f64) {
        self.weight += carry;
    }

    pub fn merge(&mut self, other: &Carried) {
        self.weight += other.weight;
    }
}

/// How a closed stratum adds to the carry of its players: a player with `n` observations there
/// adds `share·n`, where the share is the stratum's weight over its cohort's observations,
/// wₛ/nₛ: for the treatment the control's share of the stratum's observations, for the control
/// the treatment's. `None` when [`stratified_harm`] leaves the stratum out under `model`.
pub fn shares(treatment: &Moments, control: &Moments, model: VarianceModel) -> Option<[f64; 2]> {
    usable(treatment, control, model)?;
    let (nt, nc) = (treatment.count as f64, control.count as f64);
    Some([nc / (nt + nc), nt / (nt + nc)])
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
                values.iter().for_each(|_| stratum.carried[c].observe(carry));
            }
        }
        if let Some(share) = shares(&stratum.treatment, &stratum.control, model) {
            for (c, players) in cohorts.iter().enumerate() {
                for (values, carry) in players[s].iter().zip(&mut carries[c]) {
                    *carry += share[c] * values.len() as f64;
                }
            }
        }
        out.push(stratum);
    }
    out
}

/// Whether a stratum enters the estimate: both cohorts have observations, and under the session
/// model enough of them for a variance.
fn usable(treatment: &Moments, control: &Moments, model: VarianceModel) -> Option<[f64; 2]> {
    let means = [treatment.mean()?, control.mean()?];
    if model == VarianceModel::Session {
        treatment.variance_of_mean(model)?;
        control.variance_of_mean(model)?;
    }
    Some(means)
}

/// The combined harm estimate over all usable strata.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HarmEstimate {
    /// Harm beyond the margin, in metric units; positive is harmful.
    pub estimate: f64,
    /// Its standard error.
    pub std_error: f64,
    /// The degrees of freedom of the Student t the statistic estimate / standard error is referred
    /// to; infinite for a normal reference.
    pub degrees_of_freedom: f64,
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

/// Combines the per-stratum harm into one estimate. Strata where either cohort has no data (or,
/// under the session model, too little for a variance) are left out of it, though under the
/// clustered model every cohort's data teaches its variance components (a stratum with an empty
/// treatment brings the holdback's hours that an estimate does not compare); `None` when no
/// stratum is usable or the clustered variance cannot be estimated (no cohort has two players).
pub fn stratified_harm(strata: &[Stratum], spec: &HarmSpec) -> Option<HarmEstimate> {
    let factors = spec.factors();
    let (mut weight_sum, mut weighted_harm) = (0.0, 0.0);
    let (mut t_sum, mut t_count, mut c_sum, mut c_count) = (0.0, 0u64, 0.0, 0u64);
    let mut used: Vec<&Stratum> = Vec::with_capacity(strata.len());
    for s in strata {
        let Some([mt, mc]) = usable(&s.treatment, &s.control, spec.variance) else { continue };
        let harm = match spec.margin {
            Margin::Relative(_) => factors[0] * mt + factors[1] * mc,
            Margin::Absolute(m) => factors[0] * mt + factors[1] * mc - m,
        };
        let (nt, nc) = (s.treatment.count as f64, s.control.count as f64);
        let w = nt * nc / (nt + nc);
        weight_sum += w;
        weighted_harm += w * harm;
        t_sum += s.treatment.sum;
        t_count += s.treatment.count;
        c_sum += s.control.sum;
        c_count += s.control.count;
        used.push(s);
    }
    if weight_sum <= 0.0 {
        return None;
    }
    let (variance, degrees_of_freedom) = match spec.variance {
        VarianceModel::Session => (session_variance(&used, factors), f64::INFINITY),
        VarianceModel::Clustered => clustered_variance(&used, strata, factors)?,
    };
    Some(HarmEstimate {
        estimate: weighted_harm / weight_sum,
        std_error: variance.max(0.0).sqrt() / weight_sum,
        degrees_of_freedom,
        treatment_mean: t_sum / t_count as f64,
        control_mean: c_sum / c_count as f64,
        treatment_count: t_count,
        control_count: c_count,
        information: weight_sum,
    })
}

/// Σ wₛ²·(fₜ²·Vₜ + f꜀²·V꜀) with every session independent: the variance times W².
fn session_variance(strata: &[&Stratum], [ft, fc]: [f64; 2]) -> f64 {
    strata
        .iter()
        .map(|s| {
            let (nt, nc) = (s.treatment.count as f64, s.control.count as f64);
            let w = nt * nc / (nt + nc);
            let vt = s.treatment.variance_of_mean(VarianceModel::Session).unwrap_or(0.0);
            let vc = s.control.variance_of_mean(VarianceModel::Session).unwrap_or(0.0);
            w * w * (ft * ft * vt + fc * fc * vc)
        })
        .sum()
}

/// One cohort's design over the strata: what multiplies σ²_w and σ²_b in its share of the
/// variance (times W², before its factor), and the effective players behind its between term.
#[derive(Default)]
struct Design {
    within: f64,
    between: f64,
    /// The strata's own between terms, Σₛ cₛ²Σᵢnᵢₛ², and the same weighted by each stratum's
    /// effective players: their ratio is the effective players behind the term.
    own_between: f64,
    players: f64,
}

impl Design {
    fn of(strata: &[&Stratum], cohort: usize, weighting: Weighting) -> Design {
        let mut d = Design::default();
        for s in strata {
            let (nt, nc) = (s.treatment.count as f64, s.control.count as f64);
            let (own, share) = if cohort == 0 {
                (&s.treatment, nc / (nt + nc))
            } else {
                (&s.control, nt / (nt + nc))
            };
            let stratum_term = share * share * own.player_count_sq;
            d.within += share * share * own.count as f64;
            d.between += stratum_term + 2.0 * share * s.carried[cohort].weight;
            d.own_between += stratum_term;
            d.players += stratum_term * weighting.effective_players(own);
        }
        d
    }

    /// The effective players behind the between term: each stratum's, averaged by its share of
    /// the term. The holdback is the same players in every stratum, so its effective players do
    /// not add up over strata.
    fn effective_players(&self) -> f64 {
        if self.own_between > 0.0 { self.players / self.own_between } else { 0.0 }
    }
}

/// The component sums of the players `pick` chooses in each stratum.
fn sums_over<'a>(all: &'a [Stratum], pick: impl Fn(&'a Stratum) -> &'a Moments) -> ComponentSums {
    let mut sums = ComponentSums::default();
    all.iter().for_each(|s| sums.add(pick(s)));
    sums
}

/// The clustered variance (times W²) of the contrast over the `strata` it uses and its degrees of
/// freedom, each cohort on its own random-effects components learnt from `all` the strata given,
/// the between-player one weighted by the sign the cohort enters the harm with (see the module's
/// introduction). `None` when a cohort's components cannot be estimated.
fn clustered_variance<'a>(
    strata: &[&Stratum],
    all: &'a [Stratum],
    factors: [f64; 2],
) -> Option<(f64, f64)> {
    // The variance, and Σ termᵢ²/dfᵢ over its terms for Satterthwaite's degrees of freedom.
    let (mut total, mut spread) = (0.0, 0.0);
    // Every stratum with data teaches the components, the ones the estimate leaves out too (a
    // holdback's hours before a partial kill restarted the comparison are the same players).
    let old_build_of = |s: &'a Stratum| s.old_build.as_ref().unwrap_or(&s.control);
    let old_build = sums_over(all, old_build_of);
    for (cohort, &f) in factors.iter().enumerate() {
        if f == 0.0 {
            continue;
        }
        let weighting = if f > 0.0 { Weighting::Totals } else { Weighting::Means };
        let wider = || {
            sums_over(all, |s| {
                let around = if cohort == TREATMENT { &s.treatment } else { old_build_of(s) };
                s.between_population[cohort].as_ref().unwrap_or(around)
            })
        };
        let d = Design::of(strata, cohort, weighting);
        let old = old_build.components(weighting);
        // The within-player component as shares of estimates, each with its degrees of freedom.
        let (within, between) = if cohort == CONTROL {
            // The control's components come from the old build's players, which do not move with
            // its mean; the between-player one from the wider set where there is one.
            (vec![(1.0, old?)], wider().components(weighting)?.between)
        } else {
            // The treatment's within-player component is a third its own and two thirds the old
            // build's (see the module's introduction); its between-player one its own, from the
            // wider set where its weighting leans on the mean.
            let own = sums_over(all, |s| &s.treatment).components(weighting)?;
            let between = match weighting {
                Weighting::Totals => own.between,
                Weighting::Means => wider().components(weighting)?.between,
            };
            let within = match old {
                Some(old) => vec![(OWN_WITHIN_SHARE, own), (1.0 - OWN_WITHIN_SHARE, old)],
                None => vec![(1.0, own)],
            };
            (within, between)
        };
        let mut within_term = 0.0;
        for (share, c) in &within {
            let term = f * f * share * c.within * d.within;
            within_term += term;
            spread += term * term / c.within_df.max(1.0);
        }
        // Rounding can leave the carries' cross terms a hair below what they offset.
        let design = d.between.max(0.0);
        let between_term = if weighting == Weighting::Means {
            // Never below zero: a variance that shrank when this cohort looks good would be a
            // false kill.
            f * f * between.max(0.0) * design
        } else {
            // Left unbiased, which a truncation at zero is not; the cohort's variance still never
            // falls below half its within-player part, whatever a few players' noise says.
            (f * f * between * design).max(-0.5 * within_term)
        };
        total += within_term + between_term;
        // Fewer than two effective players still leave one degree of freedom.
        spread += between_term * between_term / (d.effective_players() - 1.0).max(1.0);
    }
    let df = if spread > 0.0 { total * total / spread } else { f64::INFINITY };
    Some((total, df))
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
        let spec = no_harm_clustered();
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

    /// A crash rate's comparison with no margin, its variance clustered by player.
    fn no_harm_clustered() -> HarmSpec {
        HarmSpec {
            variance: VarianceModel::Clustered,
            ..spec(Direction::Increase, Margin::Absolute(0.0))
        }
    }

    /// The statistic on the normal scale: the z with the tail its t has.
    fn normal_z(h: &HarmEstimate) -> f64 {
        crate::student::normal_equivalent(h.estimate / h.std_error, h.degrees_of_freedom)
    }

    /// A cohort of `players` players who differ strongly, in the sums a telemetry pipeline keeps:
    /// a player's sessions are Poisson around `sessions` times a log-normal activity (mean 1,
    /// spread `spread[0]`), and each crashes with 2% times a log-normal crash-proneness (spread
    /// `spread[1]`). Players who did not play are not in the sums.
    fn crash_cohort(
        rng: &mut rand_chacha::ChaCha8Rng,
        players: usize,
        sessions: f64,
        spread: [f64; 2],
    ) -> Moments {
        use rand_distr::{Binomial, Distribution, Poisson, StandardNormal};
        let log_normal = |rng: &mut rand_chacha::ChaCha8Rng, sigma: f64| {
            let z: f64 = StandardNormal.sample(rng);
            (sigma * z - sigma * sigma / 2.0).exp()
        };
        let mut m = Moments::default();
        for _ in 0..players {
            let n = Poisson::new(sessions * log_normal(rng, spread[0])).unwrap().sample(rng) as u64;
            if n == 0 {
                continue;
            }
            let p = (0.02 * log_normal(rng, spread[1])).min(1.0);
            let y = Binomial::new(n, p).unwrap().sample(rng) as f64;
            // A player's totals enter the sums as n sessions of which y crashed.
            let (n, mut sum) = (n as u32, 0.0);
            for i in 0..n {
                let v = if f64::from(i) < y { 1.0 } else { 0.0 };
                m.observe(i, sum, v);
                sum += v;
            }
        }
        m
    }

    /// The regression this estimator fixes. Among strongly different players (activity spread 2:
    /// a few players play dozens of times more than most; crash-proneness spread 1.5), a holdback
    /// of 500 players and a treatment of 2500, with no harm: the one-sided tail at z 1.96 of the
    /// delta-method (cluster-robust) statistic was far above its 2.5%, because a few heavy
    /// players who happen to crash little lower both the holdback's mean and its variance. The
    /// random-effects components with the Student t reference stay at or under it. 4000
    /// replications; the tolerance is four binomial standard errors.
    #[test]
    fn a_heavy_tailed_holdback_no_longer_makes_false_alarms() {
        use rand::{RngExt, SeedableRng};

        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(13);
        let spec = no_harm_clustered();
        let cohort = |rng: &mut rand_chacha::ChaCha8Rng, players: usize| {
            crash_cohort(rng, players, 7.5, [2.0, 1.5])
        };
        let replications = 4000;
        let critical = crate::normal::quantile(0.975);
        let (mut ours, mut delta) = (0, 0);
        for _ in 0..replications {
            let stratum = Stratum {
                treatment: cohort(&mut rng, 2500),
                control: cohort(&mut rng, 500),
                ..Stratum::default()
            };
            let h = stratified_harm(&[stratum], &spec).unwrap();
            let z = normal_z(&h);
            ours += usize::from(z > critical);
            // The delta method: Σᵢ(yᵢ − R·nᵢ)²/N² per cohort, times k/(k − 1).
            let sandwich = |m: &Moments| {
                let k = m.players as f64;
                m.residual_sq(m.mean().unwrap()) / (m.count as f64).powi(2) * k / (k - 1.0)
            };
            let se = (sandwich(&stratum.treatment) + sandwich(&stratum.control)).sqrt();
            delta += usize::from(h.estimate / se > critical);
        }
        let _ = rng.random::<u8>();
        let r = f64::from(replications);
        let tolerance = 4.0 * (0.025 * 0.975 / r).sqrt();
        let (ours, delta) = (ours as f64 / r, delta as f64 / r);
        assert!(ours <= 0.025 + tolerance, "random effects with t: {ours}");
        assert!(delta > 0.025 + tolerance, "the delta method was expected to overshoot: {delta}");
    }

    /// The regression the treatment's within-player share fixes. A new build on 200 players at
    /// a rollout's first stage (a session and a half each, 2% crashes: a handful of them) beside
    /// a holdback of 1000 and 2000 unexposed players, with no harm. Judged on its own variance,
    /// which rises with its mean, the statistic was squeezed when the build looked bad: a z above
    /// 2.33 came a seventh as often as a normal's. On the old build's variance alone it came 1.8
    /// times as often (the handful of crashes is itself skewed). With a third of its
    /// within-player variance its own and two thirds the old build's, both tails are the
    /// normal's 1%. 4000 replications; the tolerance is four binomial standard errors.
    #[test]
    fn a_small_new_build_is_not_squeezed_by_its_own_variance() {
        use rand::SeedableRng;

        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(31);
        let spec = no_harm_clustered();
        let cohort = |rng: &mut rand_chacha::ChaCha8Rng, players: usize| {
            crash_cohort(rng, players, 1.5, [0.8, 0.5])
        };
        let replications = 4000;
        let critical = crate::normal::quantile(0.99);
        let (mut above, mut below) = (0, 0);
        for _ in 0..replications {
            let (treatment, control) = (cohort(&mut rng, 200), cohort(&mut rng, 1000));
            let mut old_build = cohort(&mut rng, 2000);
            old_build.merge(&control);
            let stratum =
                Stratum { treatment, control, old_build: Some(old_build), ..Stratum::default() };
            let h = stratified_harm(&[stratum], &spec).unwrap();
            let z = normal_z(&h);
            above += usize::from(z > critical);
            below += usize::from(z < -critical);
        }
        let r = f64::from(replications);
        let tolerance = 4.0 * (0.01 * 0.99 / r).sqrt();
        for (tail, count) in [("above", above), ("below", below)] {
            let rate = count as f64 / r;
            assert!((rate - 0.01).abs() <= tolerance, "z {tail} ±2.33: {rate}");
        }
    }

    /// The regression the old build's population fixes. A holdback of 200 strongly different
    /// players (three sessions on average, activity spread 1.2, crash-proneness spread 1.0, rare
    /// crashes) beside a treatment of 1000, with no harm: the holdback's between-player
    /// component, learnt from its own 200 players and kept at zero or above, overstated the
    /// estimate's variance by a fifth. Learnt from the 2000 players on the old build (the
    /// holdback and 1800 unexposed), the mean estimated variance matches the estimates' spread.
    /// 4000 replications; the tolerance is four relative standard errors of a sample variance,
    /// √(2/(R − 1)).
    #[test]
    fn a_small_holdback_learns_its_variance_from_the_old_builds_players() {
        use rand::SeedableRng;

        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(29);
        let spec = HarmSpec {
            direction: Direction::Increase,
            margin: Margin::Relative(0.1),
            variance: VarianceModel::Clustered,
        };
        let cohort = |rng: &mut rand_chacha::ChaCha8Rng, players: usize| {
            crash_cohort(rng, players, 3.0, [1.2, 1.0])
        };
        let replications = 4000;
        let (mut estimates, mut own, mut learnt) = (Vec::new(), 0.0, 0.0);
        for _ in 0..replications {
            let (treatment, control) = (cohort(&mut rng, 1000), cohort(&mut rng, 200));
            let mut old_build = cohort(&mut rng, 1800);
            old_build.merge(&control);
            let alone = Stratum { treatment, control, ..Stratum::default() };
            let h = stratified_harm(&[alone], &spec).unwrap();
            estimates.push(h.estimate);
            own += h.std_error * h.std_error;
            let taught = Stratum { old_build: Some(old_build), ..alone };
            learnt += stratified_harm(&[taught], &spec).unwrap().std_error.powi(2);
        }
        let r = f64::from(replications);
        let mean = estimates.iter().sum::<f64>() / r;
        let spread = estimates.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / (r - 1.0);
        let (own, learnt) = (own / r / spread, learnt / r / spread);
        let tolerance = 4.0 * (2.0 / (r - 1.0)).sqrt();
        assert!((learnt - 1.0).abs() <= tolerance, "learnt from the old build: {learnt:.3}");
        assert!(own > 1.0 + tolerance, "the holdback alone was expected to overstate: {own:.3}");
    }

    #[test]
    fn carries_add_up() {
        let mut a = Carried::default();
        a.observe(0.25);
        a.observe(0.5);
        let mut b = Carried::default();
        b.observe(2.0);
        a.merge(&b);
        assert_eq!(a.weight, 2.75);
    }

    /// Two strata of one-session players, by hand: the Cochran–Mantel–Haenszel weights
    /// wₛ = nₜnₕ/(nₜ + nₕ), the session variance Σ wₛ²(fₜ²Vₜ + f꜀²V꜀)/W² with a relative margin's
    /// factor f꜀ = −1.5, and the pooled means and counts the estimate reports beside them.
    #[test]
    fn two_strata_combine_by_their_weights() {
        let first =
            Stratum { treatment: binary(100, 10), control: binary(300, 15), ..Stratum::default() };
        let second =
            Stratum { treatment: binary(400, 20), control: binary(200, 4), ..Stratum::default() };
        let h =
            stratified_harm(&[first, second], &spec(Direction::Increase, Margin::Relative(0.5)))
                .unwrap();
        let (w1, w2) = (100.0 * 300.0 / 400.0, 400.0 * 200.0 / 600.0);
        let harm = |pt: f64, pc: f64| pt - 1.5 * pc;
        let estimate = (w1 * harm(0.1, 0.05) + w2 * harm(0.05, 0.02)) / (w1 + w2);
        assert!((h.estimate - estimate).abs() < 1e-15, "{h:?}");
        // The n − 1 sample variance of a mean of 0/1 values: p(1 − p)·n/(n − 1)/n.
        let v = |p: f64, n: f64| p * (1.0 - p) / (n - 1.0);
        let variance = w1 * w1 * (v(0.1, 100.0) + 2.25 * v(0.05, 300.0))
            + w2 * w2 * (v(0.05, 400.0) + 2.25 * v(0.02, 200.0));
        let se = variance.sqrt() / (w1 + w2);
        assert!((h.std_error - se).abs() < 1e-15, "{} vs {se}", h.std_error);
        assert_eq!((h.treatment_count, h.control_count), (500, 500));
        assert!((h.treatment_mean - 30.0 / 500.0).abs() < 1e-15);
        assert!((h.control_mean - 19.0 / 500.0).abs() < 1e-15);
        assert!((h.information - (w1 + w2)).abs() < 1e-12);
        assert_eq!(h.degrees_of_freedom, f64::INFINITY);
    }

    /// The clustered variance and its degrees of freedom by hand, in one stratum: Satterthwaite's
    /// total²/Σ termᵢ²/dfᵢ over the within terms (N − k degrees of freedom) and the between terms
    /// (effective players less one). The treatment's players play one or three times; its
    /// within-player component is a third its own and two thirds the old build's (each share a
    /// term of its own degrees of freedom), its between-player one its own, weighted by their
    /// totals, whatever its wider set says. The holdback (times the relative margin's 1.5) takes
    /// its within-player component from the old build and its between-player one from the wider
    /// set, both weighted by the players' means.
    #[test]
    fn clustered_components_come_from_where_they_should() {
        let players = |sessions: &[usize], crashing: usize| -> (Moments, f64, f64) {
            let values: Vec<Vec<f64>> = sessions
                .iter()
                .enumerate()
                .map(|(i, &n)| {
                    (0..n).map(|s| f64::from(u8::from(i < crashing && s == 0))).collect()
                })
                .collect();
            let m = Moments::from_players(values.iter().map(Vec::as_slice));
            let sq: f64 = sessions.iter().map(|&n| (n * n) as f64).sum();
            let fourth: f64 = sessions.iter().map(|&n| (n * n * n * n) as f64).sum();
            (m, sq, sq * sq / fourth)
        };
        let uneven: Vec<usize> = (0..40).map(|i| if i % 3 == 0 { 3 } else { 1 }).collect();
        let (treatment, t_sq, t_players) = players(&uneven, 9);
        let (control, c_sq, _) = players(&[2; 60], 12);
        let (old_build, _, _) = players(&[2; 600], 70);
        // A wider set whose players differ: 60 of them crash every time.
        let wider = {
            let values: Vec<[f64; 2]> =
                (0..900).map(|i| if i < 60 { [1.0, 1.0] } else { [0.0, 0.0] }).collect();
            Moments::from_players(values.iter().map(|v| v.as_slice()))
        };
        let (other_cells, _, _) = players(&[4; 300], 150);
        let stratum = Stratum {
            treatment,
            control,
            old_build: Some(old_build),
            between_population: [Some(other_cells), Some(wider)],
            ..Stratum::default()
        };
        let spec = HarmSpec {
            direction: Direction::Increase,
            margin: Margin::Relative(0.5),
            variance: VarianceModel::Clustered,
        };
        let h = stratified_harm(&[stratum], &spec).unwrap();
        let components = |m: &Moments, weighting| {
            let mut sums = ComponentSums::default();
            sums.add(m);
            sums.components(weighting).unwrap()
        };
        let t = components(&treatment, Weighting::Totals);
        let c = components(&old_build, Weighting::Means);
        // The within-player component does not depend on the weighting.
        assert_eq!(c.within, components(&old_build, Weighting::Totals).within);
        let c_between = components(&wider, Weighting::Means).between;
        assert!(c_between > 0.0, "{c_between}");
        let (nt, nc) = (treatment.count as f64, 120.0);
        let (st, sc) = (nc / (nt + nc), nt / (nt + nc));
        // The holdback enters the harm times 1.5 (the margin); every holdback player has two
        // sessions: 60 effective players.
        let t_within = st * st * nt * (t.within / 3.0 + 2.0 * c.within / 3.0);
        let terms = [
            (st * st * nt * t.within / 3.0, nt - 40.0),
            (st * st * nt * 2.0 * c.within / 3.0, c.within_df),
            ((st * st * t_sq * t.between).max(-0.5 * t_within), t_players - 1.0),
            (2.25 * sc * sc * nc * c.within, c.within_df),
            (2.25 * sc * sc * c_sq * c_between.max(0.0), 59.0),
        ];
        let total: f64 = terms.iter().map(|(v, _)| v).sum();
        let spread: f64 = terms.iter().map(|(v, df)| v * v / df).sum();
        let w = nt * nc / (nt + nc);
        assert!((h.std_error - total.sqrt() / w).abs() < 1e-15, "{h:?}");
        assert!((h.degrees_of_freedom - total * total / spread).abs() < 1e-9, "{h:?}");
    }

    /// For a harm that is a decrease the signs swap: with a relative margin of 0.5 the holdback
    /// enters times +0.5 and is weighted by its totals, the treatment times −1 by its means; the
    /// sources stay with the cohorts.
    #[test]
    fn a_decrease_swaps_the_cohorts_weightings() {
        let pairs = |players: usize, both: usize| {
            let values: Vec<[f64; 2]> =
                (0..players).map(|i| if i < both { [1.0, 1.0] } else { [0.0, 1.0] }).collect();
            Moments::from_players(values.iter().map(|v| v.as_slice()))
        };
        let (treatment, control) = (pairs(50, 20), pairs(70, 35));
        let stratum = Stratum { treatment, control, ..Stratum::default() };
        let spec = HarmSpec {
            direction: Direction::Decrease,
            margin: Margin::Relative(0.5),
            variance: VarianceModel::Clustered,
        };
        let h = stratified_harm(&[stratum], &spec).unwrap();
        let components = |m: &Moments, weighting| {
            let mut sums = ComponentSums::default();
            sums.add(m);
            sums.components(weighting).unwrap()
        };
        let (t, c) =
            (components(&treatment, Weighting::Means), components(&control, Weighting::Totals));
        let (nt, nc) = (100.0, 140.0);
        let (st, sc) = (nc / (nt + nc), nt / (nt + nc));
        let c_within = 0.25 * sc * sc * nc * c.within;
        // The treatment's within-player component is a third its own and two thirds the old
        // build's, which is the holdback alone here.
        let total = st * st * nt * (t.within + 2.0 * c.within) / 3.0
            + st * st * 200.0 * t.between.max(0.0)
            + c_within
            + (0.25 * sc * sc * 280.0 * c.between).max(-0.5 * c_within);
        let w = nt * nc / (nt + nc);
        assert!((h.std_error - total.sqrt() / w).abs() < 1e-15, "{h:?} {t:?} {c:?}");
    }

    /// An absolute margin is taken off the difference: harm is μₜ − μ꜀ − m.
    #[test]
    fn an_absolute_margin_is_subtracted() {
        let s = Stratum {
            treatment: binary(1000, 30),
            control: binary(1000, 20),
            ..Stratum::default()
        };
        let h = stratified_harm(&[s], &spec(Direction::Increase, Margin::Absolute(0.004))).unwrap();
        assert!((h.estimate - 0.006).abs() < 1e-15, "{h:?}");
    }

    #[test]
    fn strata_without_a_variance_are_left_out() {
        let empty = Stratum::default();
        let s = spec(Direction::Increase, Margin::Absolute(0.0));
        assert_eq!(stratified_harm(&[empty], &s), None);
        let ok = Stratum { treatment: binary(10, 1), control: binary(10, 2), ..Stratum::default() };
        let h = stratified_harm(&[empty, ok], &s).unwrap();
        assert_eq!(h.treatment_count, 10);
        // A single observation has a mean but no session variance: left out under the session
        // model, in under the clustered one (whose variance comes from every stratum's players).
        let single = Stratum { treatment: binary(1, 1), control: binary(10, 2), ..ok };
        let h = stratified_harm(&[single, ok], &s).unwrap();
        assert_eq!(h.treatment_count, 10);
        let clustered = HarmSpec { variance: VarianceModel::Clustered, ..s };
        let h = stratified_harm(&[single, ok], &clustered).unwrap();
        assert_eq!(h.treatment_count, 11);
    }

    /// The strata built from each player's observations put the first cohort in the treatment
    /// and the second in the control: the harm of a treatment whose every session is 1 against a
    /// control whose every session is 0 is +1.
    #[test]
    fn strata_from_players_keep_the_cohorts_apart() {
        let treatment = vec![vec![vec![1.0, 1.0], vec![1.0]]];
        let control = vec![vec![vec![0.0], vec![0.0, 0.0], vec![0.0]]];
        let strata = strata_from_players([&treatment, &control], VarianceModel::Clustered);
        assert_eq!((strata[0].treatment.count, strata[0].control.count), (3, 4));
        let h =
            stratified_harm(&strata, &spec(Direction::Increase, Margin::Absolute(0.0))).unwrap();
        assert_eq!((h.estimate, h.treatment_mean, h.control_mean), (1.0, 1.0, 0.0));
    }
}
