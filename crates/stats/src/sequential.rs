//! Decisions on a harm estimate, look after look.
//!
//! A guardrail looks at its data at every evaluation window. Two ways to decide:
//!
//! - The **naive repeated z-test** compares z = estimate / standard error with the one-sided
//!   critical value at every look. Each look alone has error rate α, but over many looks the chance
//!   that some look crosses grows far beyond α. It is what most teams run, and rollcage keeps it to
//!   show what it costs.
//! - The **mixture sequential probability ratio test** (mSPRT; Johari, Pekelis and Walsh, 2017)
//!   mixes the likelihood ratio over a prior on the effect. A guardrail asks a one-sided question
//!   (is the harm above zero?), so the prior is a half-normal on harms, 2·N(0, τ²) on θ ≥ 0: for
//!   an estimate θ̂ with variance V the mixture likelihood ratio is
//!   Λ = 2·sqrt(V / (V + τ²)) · exp(τ²θ̂² / (2V(V + τ²))) · Φ(τθ̂ / sqrt(V(V + τ²))).
//!   Under "no harm" Λ is a nonnegative martingale (a supermartingale when the build is better),
//!   so by Ville's inequality the chance that it ever reaches 1/α is at most α: rejecting when
//!   Λ ≥ 1/α holds α over any number of looks. A two-sided normal mixture, rejecting on one side
//!   only, would hold it too, but spend half its error on the side that never rejects: the
//!   half-normal mixture reaches 1/α at a smaller z.
//! - **Wald's SPRT** tests "no harm" against one stated harm δ. For a normal estimate θ̂ with
//!   variance V the log-likelihood ratio is (δ/V)·(θ̂ − δ/2). It rejects at ln((1 − β)/α) and
//!   accepts "no harm" at ln(β/(1 − α)); between the two it keeps looking. It needs the least data
//!   when the harm really is δ, and says nothing useful about harms far from δ.
//! - **Group-sequential alpha spending** lives in [`crate::spending`].

use crate::normal;

/// The one-sided critical value z₁₋α.
pub fn z_critical(alpha: f64) -> f64 {
    normal::quantile(1.0 - alpha)
}

/// The one-sided p-value of a z statistic: P(Z ≥ z).
pub fn z_p_value(z: f64) -> f64 {
    normal::sf(z)
}

/// The natural logarithm of the one-sided mSPRT mixture likelihood ratio for an estimate with
/// the given variance, under a half-normal mixture on harms with scale `mixture_sd`.
pub fn msprt_log_lr(estimate: f64, variance: f64, mixture_sd: f64) -> f64 {
    assert!(variance > 0.0 && mixture_sd > 0.0, "mSPRT needs positive variances");
    let tau2 = mixture_sd * mixture_sd;
    let side = normal::cdf(mixture_sd * estimate / (variance * (variance + tau2)).sqrt());
    std::f64::consts::LN_2
        + 0.5 * (variance / (variance + tau2)).ln()
        + tau2 * estimate * estimate / (2.0 * variance * (variance + tau2))
        + side.ln()
}

/// The log-likelihood-ratio threshold at which the mSPRT rejects: ln(1/α).
pub fn msprt_log_threshold(alpha: f64) -> f64 {
    -alpha.ln()
}

/// The z (estimate over its standard error) at which the one-sided mSPRT's mixture likelihood
/// ratio reaches 1/α for an estimate of variance V: the root of
/// ln 2 + ½·ln(V/(V + τ²)) + z²τ²/(2(V + τ²)) + ln Φ(zτ/√(V + τ²)) = ln(1/α), which is unique
/// because the left side grows with z. Times the standard error, it is the distance from the
/// estimate to the confidence sequence's lower end.
pub fn msprt_z_bound(variance: f64, mixture_sd: f64, alpha: f64) -> f64 {
    let se = variance.sqrt();
    let excess = |z: f64| msprt_log_lr(z * se, variance, mixture_sd) - msprt_log_threshold(alpha);
    let (mut lo, mut hi) = (0.0, 1.0);
    while excess(hi) < 0.0 {
        (lo, hi) = (hi, 2.0 * hi);
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if excess(mid) < 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-12 * hi {
            break;
        }
    }
    0.5 * (lo + hi)
}

/// The always-valid p-value after one look: min(1, 1/Λ). Over several looks the running minimum
/// of these is the always-valid p-value.
pub fn msprt_p_value(log_lr: f64) -> f64 {
    (-log_lr).exp().min(1.0)
}

/// Wald's SPRT log-likelihood ratio of "harm = `effect`" against "harm = 0" for an estimate with
/// the given variance.
pub fn sprt_log_lr(estimate: f64, variance: f64, effect: f64) -> f64 {
    assert!(variance > 0.0 && effect > 0.0, "the SPRT needs a positive variance and effect");
    effect * (estimate - effect / 2.0) / variance
}

/// Wald's thresholds on the log-likelihood ratio: accept "no harm" at or below the first, reject
/// at or above the second.
pub fn sprt_log_bounds(alpha: f64, beta: f64) -> (f64, f64) {
    assert!(alpha > 0.0 && beta > 0.0 && alpha + beta < 1.0, "the SPRT needs α + β < 1");
    ((beta / (1.0 - alpha)).ln(), ((1.0 - beta) / alpha).ln())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spending::{GroupSequential, Spending};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, StandardNormal};

    /// Reference: scipy.stats.norm.ppf(0.95) = 1.6448536269514722,
    /// norm.ppf(0.99) = 2.3263478740408408, norm.sf(2.0) = 0.022750131948179195.
    #[test]
    fn z_values_match_scipy() {
        assert!((z_critical(0.05) - 1.644_853_626_951_472_2).abs() < 1e-9);
        assert!((z_critical(0.01) - 2.326_347_874_040_840_8).abs() < 1e-9);
        assert!((z_p_value(2.0) - 0.022_750_131_948_179_195).abs() / 0.0227 < 1e-9);
    }

    /// Reference: the half-normal mixture integrated numerically with scipy 1.17
    /// (`quad` of 2·φ(θ; 0, τ)·exp(θθ̂/V − θ²/(2V)) over θ ≥ 0, relative tolerance 1e-12) for
    /// θ̂ = 0.01, V = 1e-5, τ = 0.02: ln Λ = 3.7135158836387925; the closed form in scipy gives
    /// -3.3057925644913806 at θ̂ = -0.01. The z bounds are scipy `brentq` roots of the closed
    /// form: 2.920740997995603 (V = 1e-5, τ = 0.02, α = 0.05), where the two-sided normal mixture
    /// needed 3.1539915233173343, and 4.384627935804216 (V = 2e-4, τ = 0.01, α = 0.025).
    #[test]
    fn msprt_matches_the_half_normal_mixture() {
        let l = msprt_log_lr(0.01, 1e-5, 0.02);
        assert!((l - 3.713_515_883_638_792_5).abs() < 1e-10, "{l}");
        let below = msprt_log_lr(-0.01, 1e-5, 0.02);
        assert!((below + 3.305_792_564_491_380_6).abs() < 1e-9, "{below}");
        assert!((msprt_log_threshold(0.05) - 2.995_732_273_553_991).abs() < 1e-12);
        assert!((msprt_p_value(l) - (-l).exp()).abs() < 1e-15);
        assert_eq!(msprt_p_value(-1.0), 1.0);
        for (v, tau, alpha, z) in
            [(1e-5, 0.02, 0.05, 2.920_740_997_995_603), (2e-4, 0.01, 0.025, 4.384_627_935_804_216)]
        {
            let got = msprt_z_bound(v, tau, alpha);
            assert!((got - z).abs() < 1e-9, "{got} vs {z}");
        }
    }

    /// Monte Carlo check of the property that makes mSPRT worth having: under the null, looking
    /// after every one of 100 batches, the naive z-test rejects far more often than α while the
    /// mSPRT stays at or below α, and uses more of it than a two-sided normal mixture rejecting
    /// on one side would. 4000 sequences; the tolerance is four binomial standard errors.
    #[test]
    fn msprt_holds_alpha_under_repeated_looks_while_naive_z_does_not() {
        let (sequences, looks, alpha) = (4000usize, 100usize, 0.05);
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let (mut naive, mut msprt, mut two_sided) = (0usize, 0usize, 0usize);
        // The normal mixture N(0, τ²), τ = 0.5: ½·ln(V/(V + τ²)) + τ²θ̂²/(2V(V + τ²)).
        let normal_mixture =
            |e: f64, v: f64| 0.5 * (v / (v + 0.25)).ln() + 0.25 * e * e / (2.0 * v * (v + 0.25));
        let zc = z_critical(alpha);
        let threshold = msprt_log_threshold(alpha);
        for _ in 0..sequences {
            let mut sum = 0.0;
            let (mut naive_hit, mut msprt_hit, mut two_sided_hit) = (false, false, false);
            for k in 1..=looks {
                let x: f64 = StandardNormal.sample(&mut rng);
                sum += x;
                let n = k as f64;
                let estimate = sum / n;
                let variance = 1.0 / n;
                if estimate / variance.sqrt() > zc {
                    naive_hit = true;
                }
                if msprt_log_lr(estimate, variance, 0.5) >= threshold {
                    msprt_hit = true;
                }
                if estimate > 0.0 && normal_mixture(estimate, variance) >= threshold {
                    two_sided_hit = true;
                }
            }
            naive += usize::from(naive_hit);
            msprt += usize::from(msprt_hit);
            two_sided += usize::from(two_sided_hit);
        }
        let se = (alpha * (1.0 - alpha) / sequences as f64).sqrt();
        let naive_rate = naive as f64 / sequences as f64;
        let msprt_rate = msprt as f64 / sequences as f64;
        assert!(naive_rate > alpha + 4.0 * se, "naive rate {naive_rate}");
        assert!(msprt_rate <= alpha + 4.0 * se, "mSPRT rate {msprt_rate}");
        // Every sequence the two-sided mixture rejects, the half-normal one rejects too.
        assert!(msprt > two_sided, "one-sided {msprt}, two-sided {two_sided}");
    }

    /// Reference from the closed forms, evaluated in Python: with θ̂ = 0.012, V = 1e-5, δ = 0.01,
    /// δ(θ̂ − δ/2)/V = 7.0; Wald's bounds for α = 0.05, β = 0.2 are ln(0.2/0.95) =
    /// -1.5581446180465499 and ln(0.8/0.05) = 2.772588722239781.
    #[test]
    fn sprt_matches_the_closed_form() {
        assert!((sprt_log_lr(0.012, 1e-5, 0.01) - 7.0).abs() < 1e-12);
        let (accept, reject) = sprt_log_bounds(0.05, 0.2);
        assert!((accept + 1.558_144_618_046_55).abs() < 1e-12);
        assert!((reject - 2.772_588_722_239_781).abs() < 1e-12);
    }

    /// Random walks of unit-variance observations looked at after `looks` batches.
    fn walks(
        seed: u64,
        sequences: usize,
        looks: &[usize],
        drift: f64,
        mut look: impl FnMut(usize, usize, f64, f64) -> bool,
    ) -> usize {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut hits = 0;
        for s in 0..sequences {
            let (mut sum, mut n) = (0.0, 0usize);
            for (k, &upto) in looks.iter().enumerate() {
                while n < upto {
                    let x: f64 = StandardNormal.sample(&mut rng);
                    sum += x + drift;
                    n += 1;
                }
                if look(s, k, sum / n as f64, 1.0 / n as f64) {
                    hits += 1;
                    break;
                }
            }
        }
        hits
    }

    /// Monte Carlo check of Wald's SPRT under the null, looking after every batch of 100 batches:
    /// it rejects at most α of the time (Wald's bound is approximate; the overshoot of discrete
    /// looks makes it conservative), and it accepts "no harm" in most sequences. 4000 sequences;
    /// tolerance four binomial standard errors.
    #[test]
    fn sprt_holds_alpha_under_the_null_and_mostly_accepts() {
        let (sequences, alpha, beta, effect) = (4000usize, 0.05, 0.2, 0.3);
        let (accept, reject) = sprt_log_bounds(alpha, beta);
        let looks: Vec<usize> = (1..=100).collect();
        let (mut accepted, mut stopped) = (0usize, None);
        let rejected = walks(11, sequences, &looks, 0.0, |s, _, estimate, variance| {
            if stopped == Some(s) {
                // An accepted sequence has stopped: no later look can reject.
                return false;
            }
            let llr = sprt_log_lr(estimate, variance, effect);
            if llr <= accept {
                accepted += 1;
                stopped = Some(s);
            }
            llr >= reject
        });
        let se = (alpha * (1.0 - alpha) / sequences as f64).sqrt();
        let rate = rejected as f64 / sequences as f64;
        assert!(rate <= alpha + 4.0 * se, "SPRT false rejection rate {rate}");
        assert!(accepted > sequences / 2, "accepted {accepted} of {sequences}");
    }

    /// Monte Carlo check of the spending boundaries where the information is as uneven as a
    /// staged rollout's (1, 3, 10, 30, 60 and 100 observations): the boundaries spend exactly α,
    /// so the crossing rate must sit within four binomial standard errors of α on both sides.
    #[test]
    fn spending_boundaries_hold_alpha_at_uneven_information() {
        let (sequences, alpha) = (20_000usize, 0.05);
        let looks = [1usize, 3, 10, 30, 60, 100];
        let se = (alpha * (1.0 - alpha) / sequences as f64).sqrt();
        for spending in [Spending::OBrienFleming, Spending::Pocock] {
            let mut test = GroupSequential::new();
            let bounds: Vec<f64> = looks
                .iter()
                .map(|&n| test.analyse(n as f64, spending.cumulative(alpha, n as f64 / 100.0)))
                .collect();
            let crossed = walks(13, sequences, &looks, 0.0, |_, k, estimate, variance| {
                estimate / variance.sqrt() >= bounds[k]
            });
            let rate = crossed as f64 / sequences as f64;
            assert!(
                (rate - alpha).abs() <= 4.0 * se,
                "{spending:?}: rate {rate}, bounds {bounds:?}"
            );
        }
    }
}
