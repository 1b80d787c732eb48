//! Group-sequential boundaries from an alpha-spending function (Lan and DeMets, 1983).
//!
//! A staged rollout looks at its data many times, and the amount of data behind each look grows
//! unevenly: a 1% canary adds little, a 50% stage adds a lot. A spending function α(t) says how
//! much of the error budget α may be used by the time a fraction t of the planned information has
//! arrived; at every analysis the boundary is the z value whose crossing probability, given that no
//! earlier boundary was crossed, is exactly the increment α(tₖ) − α(tₖ₋₁). Because the increments
//! sum to α, the chance of ever crossing under the null is α however unevenly the looks fall.
//!
//! The crossing probabilities come from the joint law of the z statistics: with information Iₖ,
//! the score Zₖ·√Iₖ is a Gaussian random walk with independent increments. [`GroupSequential`]
//! carries the sub-density of Zₖ on the paths that have not crossed yet and integrates it forward
//! one analysis at a time (Armitage, McPherson and Rowe, 1969; Jennison and Turnbull, 2000, ch.
//! 19), with Simpson's rule on a grid fine enough for the smallest information increment.
//!
//! Two spending functions are offered, both one-sided:
//! - O'Brien–Fleming-like: α(t) = 2 − 2Φ(z₁₋α/₂ / √t). Almost nothing is spent early, so a
//!   canary can only stop a build that is plainly harmful, and the final look is nearly a
//!   fixed-sample test.
//! - Pocock-like: α(t) = α·ln(1 + (e − 1)t). Spends evenly, so early stages catch more, at the
//!   cost of a stricter final look.

use crate::fastmath;
use crate::normal;

/// How the error budget is spent as information arrives. Its names come from the derive.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString, strum::VariantNames,
)]
#[strum(serialize_all = "snake_case")]
pub enum Spending {
    #[strum(serialize = "obrien_fleming")]
    OBrienFleming,
    Pocock,
}

impl Spending {
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// The error spent by information fraction `t` (clamped to [0, 1]) out of a total `alpha`.
    pub fn cumulative(self, alpha: f64, t: f64) -> f64 {
        let t = t.clamp(0.0, 1.0);
        if t == 0.0 {
            return 0.0;
        }
        if t == 1.0 {
            // Exactly the whole budget, whatever the rounding of the formulas below.
            return alpha;
        }
        match self {
            Spending::OBrienFleming => {
                let z = normal::quantile(1.0 - alpha / 2.0);
                (2.0 * normal::sf(z / t.sqrt())).min(alpha)
            }
            Spending::Pocock => alpha * (1.0 + (std::f64::consts::E - 1.0) * t).ln(),
        }
    }
}

/// Below this z the sub-density is taken as zero: the null's mass there is about 1e-9.
const LOWER_Z: f64 = -6.0;
/// Above this z nothing is integrated, even when the boundary is infinite.
const UPPER_Z: f64 = 8.0;
/// The widest grid step, in z units.
const MAX_STEP: f64 = 0.1;
/// Increments smaller than this are treated as no alpha at all: the boundary is infinite.
const NO_ALPHA: f64 = 1e-15;

/// A one-sided group-sequential test under the null, one analysis at a time.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GroupSequential {
    /// Information at the last analysis, in any unit (only ratios matter).
    information: f64,
    /// The cumulative crossing probability so far.
    spent: f64,
    /// The grid of the last analysis's continuation region: z and Simpson weight × sub-density.
    grid: Grid,
    analyses: u32,
}

impl GroupSequential {
    pub fn new() -> GroupSequential {
        GroupSequential::default()
    }

    /// The error actually spent so far: the chance under the null of having crossed a boundary.
    pub fn spent(&self) -> f64 {
        self.spent
    }

    /// Runs the next analysis at `information` (more than at the last one), which may spend up to
    /// `cumulative_alpha` in total, and returns its boundary on the z scale: reject when z is at or
    /// above it. The boundary is infinite when there is no alpha left to spend.
    pub fn analyse(&mut self, information: f64, cumulative_alpha: f64) -> f64 {
        self.check_growth(information);
        let increment = cumulative_alpha - self.spent;
        let bound = if increment <= NO_ALPHA {
            f64::INFINITY
        } else if self.analyses == 0 {
            normal::quantile(1.0 - increment)
        } else {
            self.solve(&Stride::new(self.information, information, 0.0), increment)
        };
        self.advance(information, bound);
        bound
    }

    /// Runs the next analysis at `information` with a given boundary, and returns the chance under
    /// the null of crossing it there without having crossed before.
    pub fn advance(&mut self, information: f64, bound: f64) -> f64 {
        self.check_growth(information);
        let top = bound.min(UPPER_Z);
        let crossed;
        if self.analyses == 0 {
            crossed = if bound.is_finite() { normal::sf(bound) } else { 0.0 };
            self.grid = first_grid(LOWER_Z, top, 0.0);
        } else {
            let step = Stride::new(self.information, information, 0.0);
            crossed = if bound.is_finite() { crossing(&self.grid, &step, bound) } else { 0.0 };
            self.grid = next_grid(&self.grid, &step, LOWER_Z, top);
        }
        self.spent += crossed.max(0.0);
        self.information = information;
        self.analyses += 1;
        crossed
    }

    fn check_growth(&self, information: f64) {
        assert!(
            information > self.information && information.is_finite(),
            "information must grow between analyses ({} then {information})",
            self.information
        );
    }

    /// The boundary whose crossing probability is `increment`, by bisection on a bracket that
    /// always contains it (crossing falls from its whole remaining mass to zero as b rises).
    fn solve(&self, step: &Stride, increment: f64) -> f64 {
        let (mut lo, mut hi) = (LOWER_Z, 40.0);
        if crossing(&self.grid, step, lo) <= increment {
            return lo;
        }
        for _ in 0..100 {
            let mid = 0.5 * (lo + hi);
            if crossing(&self.grid, step, mid) > increment {
                lo = mid;
            } else {
                hi = mid;
            }
            if hi - lo < 1e-10 {
                break;
            }
        }
        0.5 * (lo + hi)
    }
}

/// The geometry of one step of the random walk, from information `before` to `now`. Under a drift
/// θ the score Zₖ√Iₖ gains θ·(Iₖ − Iₖ₋₁) on average over the step, `shift` standardised
/// increments; the null has none.
pub(crate) struct Stride {
    root_before: f64,
    root_now: f64,
    root_increment: f64,
    shift: f64,
    /// The standard deviation of Zₖ₋₁ given Zₖ, which sets how fine the grid must be.
    sd: f64,
}

impl Stride {
    pub(crate) fn new(before: f64, now: f64, drift: f64) -> Stride {
        let increment = now - before;
        Stride {
            root_before: before.sqrt(),
            root_now: now.sqrt(),
            root_increment: increment.sqrt(),
            shift: drift * increment.sqrt(),
            sd: (increment / before).sqrt(),
        }
    }

    /// The standardised increment that takes Zₖ₋₁ = `from` to Zₖ = `to`.
    fn increment(&self, from: f64, to: f64) -> f64 {
        (to * self.root_now - from * self.root_before) / self.root_increment - self.shift
    }
}

/// A grid over the continuation region of an analysis: z and Simpson weight × sub-density of the
/// paths that have crossed no boundary so far.
pub(crate) type Grid = Vec<(f64, f64)>;

/// The first analysis's grid on [`lower`, `upper`], where Z₁ is normal with mean `mean`.
pub(crate) fn first_grid(lower: f64, upper: f64, mean: f64) -> Grid {
    simpson_grid(lower, upper, MAX_STEP)
        .into_iter()
        .map(|(z, w)| (z, w * density(z - mean)))
        .collect()
}

/// P(no earlier crossing and Zₖ ≥ b), from the previous analysis's grid.
pub(crate) fn crossing(grid: &Grid, step: &Stride, b: f64) -> f64 {
    grid.iter().map(|&(z, wh)| wh * normal::sf(step.increment(z, b))).sum()
}

/// The next analysis's grid on [`lower`, `upper`]: the sub-density of Zₖ on paths that never
/// crossed, from the previous grid.
pub(crate) fn next_grid(grid: &Grid, step: &Stride, lower: f64, upper: f64) -> Grid {
    let scale = step.root_now / step.root_increment;
    simpson_grid(lower, upper, MAX_STEP.min(step.sd / 6.0))
        .into_iter()
        .map(|(z, w)| {
            let h: f64 = grid.iter().map(|&(y, wh)| wh * density(step.increment(y, z))).sum();
            (z, w * scale * h)
        })
        .collect()
}

/// The standard normal density, with the portable exponential.
fn density(z: f64) -> f64 {
    const INV_ROOT_TWO_PI: f64 = 0.398_942_280_401_432_7;
    INV_ROOT_TWO_PI * fastmath::exp(-0.5 * z * z)
}

/// Simpson's rule on [a, b] with steps no wider than `width`: points and weights.
fn simpson_grid(a: f64, b: f64, width: f64) -> Vec<(f64, f64)> {
    if b <= a {
        return Vec::new();
    }
    let intervals = (((b - a) / width).ceil() as usize).max(2).next_multiple_of(2);
    let h = (b - a) / intervals as f64;
    (0..=intervals)
        .map(|i| {
            let w = if i == 0 || i == intervals {
                1.0
            } else if i % 2 == 1 {
                4.0
            } else {
                2.0
            };
            (a + h * i as f64, w * h / 3.0)
        })
        .collect()
}

/// The boundaries of a whole plan: analyses at `information` (increasing), each allowed to have
/// spent `cumulative_alpha` in total by then.
pub fn boundaries(information: &[f64], cumulative_alpha: &[f64]) -> Vec<f64> {
    assert_eq!(information.len(), cumulative_alpha.len(), "one alpha per analysis");
    let mut test = GroupSequential::new();
    information.iter().zip(cumulative_alpha).map(|(&i, &a)| test.analyse(i, a)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_close(actual: &[f64], expected: &[f64], relative: f64) {
        assert_eq!(actual.len(), expected.len());
        for (a, e) in actual.iter().zip(expected) {
            assert!((a / e - 1.0).abs() < relative, "{actual:?} vs {expected:?}");
        }
    }

    fn plan(spending: Spending, alpha: f64, fractions: &[f64]) -> Vec<f64> {
        let alphas: Vec<f64> = fractions.iter().map(|&t| spending.cumulative(alpha, t)).collect();
        boundaries(fractions, &alphas)
    }

    const EQUAL: [f64; 5] = [0.2, 0.4, 0.6, 0.8, 1.0];

    /// Published values: gsDesign's one-sided α = 0.025 designs with five equally spaced looks,
    /// `gsDesign(k = 5, test.type = 1, sfu = sfLDOF)` and `sfu = sfLDPocock` (upper bounds as
    /// printed by the package's summaries). Tolerance: 1e-4 relative, the tables' precision.
    #[test]
    fn lan_demets_boundaries_match_gsdesign_tables() {
        let obf = plan(Spending::OBrienFleming, 0.025, &EQUAL);
        assert_close(&obf, &[4.8769, 3.3569, 2.6803, 2.2898, 2.0310], 1e-4);
        let pocock = plan(Spending::Pocock, 0.025, &EQUAL);
        assert_close(&pocock, &[2.4380, 2.4268, 2.4101, 2.3966, 2.3859], 1e-4);
    }

    /// Published values: gsDesign's regression snapshot of a Hwang–Shih–DeCani (γ = −4) design,
    /// k = 5, one-sided α = 0.025 (tests/testthat/_snaps/independent-test-gsBoundSummary.md):
    /// bounds 3.2527, 2.9860, 2.6917, 2.3737, 2.0253. Any spending sequence goes through the same
    /// recursion, so this checks it with a third function.
    #[test]
    fn the_recursion_matches_a_published_hwang_shih_decani_design() {
        let gamma: f64 = -4.0;
        let hsd = |t: f64| 0.025 * (1.0 - (-gamma * t).exp()) / (1.0 - (-gamma).exp());
        let alphas: Vec<f64> = EQUAL.iter().map(|&t| hsd(t)).collect();
        assert_close(&boundaries(&EQUAL, &alphas), &[3.2527, 2.9860, 2.6917, 2.3737, 2.0253], 1e-4);
    }

    /// Unequal fractions, as a staged rollout produces. Reference: scipy 1.17, bounds found one at
    /// a time with `brentq` on `1 - multivariate_normal(cov = sqrt(tᵢ/tⱼ)).cdf(bounds)` at
    /// abseps = 1e-9 (an independent numerical route). Tolerance 1e-4 relative.
    #[test]
    fn unequal_fractions_match_an_independent_multivariate_normal_computation() {
        let t = [0.1, 0.25, 0.5, 0.8, 1.0];
        let obf = plan(Spending::OBrienFleming, 0.025, &t);
        assert_close(&obf, &[6.991341, 4.332634, 2.963132, 2.266213, 2.0278], 1e-4);
        let pocock = plan(Spending::Pocock, 0.025, &t);
        assert_close(&pocock, &[2.65511, 2.524755, 2.385923, 2.334511, 2.374899], 1e-4);
    }

    /// Classical constant boundaries, read the other way: with Pocock's constant 2.413 (K = 5,
    /// two-sided 0.05) or O'Brien and Fleming's 2.040·√(5/k), the one-sided crossing probability
    /// over five equal looks is 0.025 (Jennison and Turnbull, 2000, Tables 2.1 and 2.3, to their
    /// three decimals).
    #[test]
    fn crossing_probabilities_of_classical_constant_boundaries() {
        let obf = [0, 1, 2, 3, 4].map(|k| 2.040 * (5.0 / (k as f64 + 1.0)).sqrt());
        for bounds in [[2.413; 5], obf] {
            let mut test = GroupSequential::new();
            for (information, bound) in EQUAL.iter().zip(bounds) {
                test.advance(*information, bound);
            }
            assert!((test.spent() - 0.025).abs() < 0.0005, "{bounds:?}: {}", test.spent());
        }
    }

    #[test]
    fn spending_functions_spend_alpha_by_the_end() {
        for s in [Spending::OBrienFleming, Spending::Pocock] {
            assert_eq!(s.cumulative(0.05, 0.0), 0.0);
            assert!((s.cumulative(0.05, 1.0) - 0.05).abs() < 1e-12);
            assert!((s.cumulative(0.05, 3.0) - 0.05).abs() < 1e-12);
            assert!(s.cumulative(0.05, 0.3) < s.cumulative(0.05, 0.6));
        }
        // O'Brien–Fleming spends almost nothing early; Pocock a sixth by a tenth of the way.
        assert!(Spending::OBrienFleming.cumulative(0.025, 0.1) < 1e-11);
        assert!(Spending::Pocock.cumulative(0.025, 0.1) > 0.025 / 6.5);
    }

    #[test]
    fn no_alpha_left_means_an_infinite_boundary() {
        let mut test = GroupSequential::new();
        test.analyse(1.0, 0.05);
        assert_eq!(test.analyse(1.5, 0.05), f64::INFINITY);
        assert!((test.spent() - 0.05).abs() < 1e-9);
        // And the recursion goes on correctly after an infinite boundary.
        let b = test.analyse(2.0, 0.06);
        assert!(b.is_finite() && (test.spent() - 0.06).abs() < 1e-6, "{b} {}", test.spent());
    }

    /// The names scenarios and reports use for each function.
    #[test]
    fn spending_functions_are_named_as_in_scenarios() {
        assert_eq!(Spending::OBrienFleming.name(), "obrien_fleming");
        assert_eq!(Spending::Pocock.name(), "pocock");
    }

    /// Information that does not grow has no boundary: the caller's bug is refused loudly, not
    /// turned into a step of zero length.
    #[test]
    #[should_panic(expected = "information must grow between analyses (2 then 2)")]
    fn an_analysis_at_the_same_information_is_refused() {
        let mut test = GroupSequential::new();
        test.analyse(2.0, 0.01);
        test.analyse(2.0, 0.02);
    }

    #[test]
    #[should_panic(expected = "information must grow between analyses (0 then inf)")]
    fn an_analysis_at_infinite_information_is_refused() {
        GroupSequential::new().advance(f64::INFINITY, 2.0);
    }
}
