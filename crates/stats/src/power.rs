//! The power of a sequence of looks: the chance that a harm is caught by each look.
//!
//! A guardrail looks again and again. At look k its estimate θ̂ₖ has variance Vₖ, so its
//! information is Iₖ = 1/Vₖ and its statistic is Zₖ = θ̂ₖ·√Iₖ. When the estimates accumulate data,
//! the score Zₖ√Iₖ is a random walk in information with drift θ, the true harm (Jennison and
//! Turnbull, 2000, section 3.1). A method is then a pair of boundaries per look: it rejects when
//! Zₖ reaches the upper one and, for a method that can accept (Wald's SPRT), stops looking when Zₖ
//! falls to the lower one. [`power`] follows the walk's density through every look on the same
//! Simpson grid the spending boundaries use, so the chance of rejection by each look is exact up
//! to the grid, not a simulation.

use crate::normal;
use crate::spending::{Grid, Stride, crossing, first_grid, next_grid};

/// One look: its information (1/variance of the estimate, in the estimate's units) and the
/// boundaries on z in force there. `upper` may be infinite (the look cannot reject) and `lower`
/// minus infinite (it cannot accept).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Boundary {
    pub information: f64,
    pub lower: f64,
    pub upper: f64,
}

/// How many standard deviations around the walk's mean the grid covers; beyond it the density is
/// below 1e-15.
const SPAN: f64 = 8.0;

/// The cumulative chance of having rejected by each look when the true harm is `drift` (in the
/// estimate's units). Looks must gain information. With no drift this is the error spent.
pub fn power(looks: &[Boundary], drift: f64) -> Vec<f64> {
    let mut rejected = 0.0;
    let mut out = Vec::with_capacity(looks.len());
    let mut grid: Grid = Vec::new();
    let mut before: Option<f64> = None;
    for look in looks {
        assert!(
            look.information > before.unwrap_or(0.0) && look.information.is_finite(),
            "information must grow between looks"
        );
        let mean = drift * look.information.sqrt();
        let lower = look.lower.max(mean - SPAN);
        let upper = look.upper.min(mean + SPAN);
        match before {
            None => {
                if look.upper.is_finite() {
                    rejected += normal::sf(look.upper - mean);
                }
                grid = first_grid(lower, upper, mean);
            }
            Some(previous) => {
                let step = Stride::new(previous, look.information, drift);
                if look.upper.is_finite() {
                    rejected += crossing(&grid, &step, look.upper).max(0.0);
                }
                grid = next_grid(&grid, &step, lower, upper);
            }
        }
        before = Some(look.information);
        out.push(rejected.min(1.0));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upper_only(information: &[f64], upper: &[f64]) -> Vec<Boundary> {
        information
            .iter()
            .zip(upper)
            .map(|(&information, &upper)| Boundary { information, lower: f64::NEG_INFINITY, upper })
            .collect()
    }

    #[test]
    fn one_look_is_the_fixed_sample_power() {
        let p = power(&upper_only(&[50.0], &[1.6449]), 0.3);
        let expected = normal::sf(1.6449 - 0.3 * 50f64.sqrt());
        assert!((p[0] - expected).abs() < 1e-12, "{p:?} vs {expected}");
    }

    /// Jennison and Turnbull (2000), Tables 2.3 and 2.4: for five equally spaced looks at
    /// two-sided α = 0.05 and power 0.9, Pocock's test (constant 2.413) needs 1.207 times the
    /// fixed-sample information and O'Brien–Fleming's (2.040·√(5/k)) 1.026 times. The power
    /// at that information is 0.900; scipy's multivariate normal gives 0.90014 and 0.89988 for
    /// the same one-sided crossing. Tolerance 0.0005, the tables' rounding.
    #[test]
    fn classical_designs_have_their_published_power() {
        let fixed = (normal::quantile(0.975) + normal::quantile(0.9)).powi(2);
        let obf: Vec<f64> = (1..=5).map(|k| 2.040 * (5.0 / f64::from(k)).sqrt()).collect();
        for (inflation, bounds, scipy) in
            [(1.207, vec![2.413; 5], 0.900_138), (1.026, obf, 0.899_878)]
        {
            let information: Vec<f64> =
                (1..=5).map(|k| inflation * fixed * f64::from(k) / 5.0).collect();
            let p = power(&upper_only(&information, &bounds), 1.0);
            assert!((p[4] - 0.9).abs() < 0.0005, "{bounds:?}: {p:?}");
            assert!((p[4] - scipy).abs() < 1e-4, "{bounds:?}: {p:?} vs scipy {scipy}");
        }
    }

    /// Unequal information and uneven boundaries, as a staged rollout's looks are. Reference:
    /// scipy 1.17, `1 - multivariate_normal(mean = θ√Iₖ, cov = √(Iᵢ/Iⱼ)).cdf(bounds)` at
    /// abseps 1e-10: 0.808324. Tolerance 1e-4.
    #[test]
    fn unequal_looks_match_an_independent_multivariate_normal_computation() {
        let p =
            power(&upper_only(&[5.0, 12.0, 30.0, 55.0, 100.0], &[3.1, 2.8, 2.5, 2.3, 2.2]), 0.3);
        assert!((p[4] - 0.808_324).abs() < 1e-4, "{p:?}");
        assert!(p.windows(2).all(|w| w[0] <= w[1]), "power never falls: {p:?}");
    }

    #[test]
    fn with_no_drift_it_is_the_error_spent() {
        let information = [0.2, 0.4, 0.6, 0.8, 1.0];
        let p = power(&upper_only(&information, &[2.413; 5]), 0.0);
        let mut test = crate::spending::GroupSequential::new();
        for i in information {
            test.advance(i, 2.413);
        }
        assert!((p[4] - test.spent()).abs() < 1e-9, "{p:?} vs {}", test.spent());
    }

    /// An infinite upper boundary rejects nothing at that look, and a lower boundary removes the
    /// paths that accept: with a lower boundary at the walk's mean, about half stop there.
    #[test]
    fn infinite_and_lower_boundaries() {
        let none = power(&upper_only(&[10.0, 20.0], &[f64::INFINITY, f64::INFINITY]), 0.5);
        assert_eq!(none, vec![0.0, 0.0]);
        let open = power(&upper_only(&[10.0, 20.0], &[f64::INFINITY, 2.0]), 0.5);
        let mean = 0.5 * 10f64.sqrt();
        let stopping = [
            Boundary { information: 10.0, lower: mean, upper: f64::INFINITY },
            Boundary { information: 20.0, lower: f64::NEG_INFINITY, upper: 2.0 },
        ];
        let stopped = power(&stopping, 0.5);
        assert!(stopped[1] < open[1] * 0.75 && stopped[1] > open[1] * 0.4, "{stopped:?} {open:?}");
    }

    /// Boundaries on both sides, as Wald's SPRT draws them, checked by simulating the walk:
    /// 200,000 paths, tolerance four Monte Carlo standard errors.
    #[test]
    fn both_boundaries_agree_with_a_simulated_walk() {
        use rand::SeedableRng;
        use rand_distr::{Distribution, StandardNormal};
        let looks: Vec<Boundary> = [4.0, 9.0, 16.0, 30.0, 50.0]
            .iter()
            .map(|&information: &f64| Boundary {
                information,
                lower: -1.0 + 0.05 * information,
                upper: 2.6 - 0.01 * information,
            })
            .collect();
        let drift = 0.2;
        let expected = power(&looks, drift)[4];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let paths = 200_000;
        let mut rejected = 0u32;
        for _ in 0..paths {
            let (mut score, mut before) = (0.0, 0.0);
            for look in &looks {
                let step: f64 = look.information - before;
                let e: f64 = StandardNormal.sample(&mut rng);
                score += drift * step + step.sqrt() * e;
                before = look.information;
                let z = score / look.information.sqrt();
                if z >= look.upper {
                    rejected += 1;
                    break;
                }
                if z <= look.lower {
                    break;
                }
            }
        }
        let simulated = f64::from(rejected) / f64::from(paths);
        let se = (expected * (1.0 - expected) / f64::from(paths)).sqrt();
        assert!((simulated - expected).abs() < 4.0 * se, "{simulated} vs {expected} ± {se}");
    }
}
