//! A Student t reference for a statistic whose variance was estimated from few effective players.
//!
//! Every sequential method in rollcage works on the normal scale: boundaries are z values, the
//! mixture and Wald likelihood ratios assume a normal estimate of known variance. When the
//! variance itself is estimated from few effective players, estimate / standard error follows a
//! Student t with some degrees of freedom rather than a normal, and its tails are heavier. The
//! methods stay as they are and see the statistic through its tail probability instead:
//! [`normal_equivalent`] maps t to the z with the same one-sided tail, and
//! [`effective_std_error`] gives the standard error under which the estimate has that z, for the
//! methods that work on an estimate and its variance.

use statrs::distribution::{Continuous, ContinuousCDF, StudentsT};

use crate::normal;

/// Degrees of freedom beyond which the t and the normal agree to far better than the data do.
const NORMAL_DF: f64 = 1e7;

/// Whether a t with `df` degrees of freedom is a normal for our purposes (infinite, or beyond
/// [`NORMAL_DF`], or not a number).
fn is_normal(df: f64) -> bool {
    df.is_nan() || df >= NORMAL_DF
}

fn student(df: f64) -> StudentsT {
    StudentsT::new(0.0, 1.0, df).expect("degrees of freedom are positive")
}

/// The z with P(Z > z) = P(T > t) for T with `df` degrees of freedom (infinite: t itself).
pub fn normal_equivalent(t: f64, df: f64) -> f64 {
    if is_normal(df) || t == 0.0 || !t.is_finite() {
        return t;
    }
    assert!(df > 0.0, "degrees of freedom must be positive, got {df}");
    let tail = student(df).sf(t.abs());
    if tail <= f64::MIN_POSITIVE {
        // Beyond every boundary either way.
        return t;
    }
    // -Φ⁻¹(p) keeps its precision for small tails, where 1 − p would not.
    (-normal::quantile(tail)).copysign(t)
}

/// The standard error under which `estimate` has, on the normal scale, the tail probability that
/// estimate / `std_error` has under a t with `df` degrees of freedom. At least `std_error`.
pub fn effective_std_error(estimate: f64, std_error: f64, df: f64) -> f64 {
    if is_normal(df) {
        return std_error;
    }
    let t = estimate / std_error;
    if t.abs() < 1e-3 {
        // z ≈ t·f_t(0)/φ(0) near zero (to about t² relatively), where the tail's distance from
        // one half would lose the digits that matter.
        let normal_density = 0.398_942_280_401_432_7;
        return std_error * normal_density / student(df).pdf(0.0);
    }
    std_error * t / normal_equivalent(t, df)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: scipy 1.17, `norm.isf(t.sf(|t|, df))` with the sign of t.
    #[test]
    fn normal_equivalents_match_scipy() {
        for (t, df, z) in [
            (2.5, 5.0, 1.922_919_986_110_095),
            (1.0, 3.0, 0.857_801_250_840_957_3),
            (4.0, 12.5, 3.150_652_310_462_439_8),
            (-2.0, 7.0, -1.718_972_779_346_256_8),
            (6.0, 2.0, 2.216_292_545_765_618),
        ] {
            let got = normal_equivalent(t, df);
            assert!((got - z).abs() < 1e-9 * z.abs(), "t {t} df {df}: {got} vs {z}");
        }
        assert_eq!(normal_equivalent(2.5, f64::INFINITY), 2.5);
        assert_eq!(normal_equivalent(0.0, 3.0), 0.0);
    }

    /// Near zero the ratio of standard errors is φ(0)/f_t(0): 1.0509358530746118 for 5 degrees
    /// of freedom (scipy: norm.pdf(0) / t.pdf(0, 5)), and it joins the exact conversion smoothly.
    #[test]
    fn effective_std_error_is_continuous_through_zero() {
        let at_zero = effective_std_error(0.0, 2.0, 5.0);
        assert!((at_zero / 2.0 - 1.050_935_853_074_611_8).abs() < 1e-12, "{at_zero}");
        let near = effective_std_error(2.1e-3, 2.0, 5.0);
        assert!((near - at_zero).abs() < 1e-6 * at_zero, "{near} vs {at_zero}");
        let e = effective_std_error(5.0, 2.0, 5.0);
        assert!((5.0 / e - 1.922_919_986_110_095).abs() < 1e-9);
        assert_eq!(effective_std_error(5.0, 2.0, f64::INFINITY), 2.0);
    }
}
