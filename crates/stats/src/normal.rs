//! The standard normal distribution, the one distribution every guardrail statistic meets.

use statrs::distribution::{ContinuousCDF, Normal};

fn standard() -> Normal {
    Normal::standard()
}

/// P(Z <= z) for a standard normal Z.
pub fn cdf(z: f64) -> f64 {
    standard().cdf(z)
}

/// P(Z > z) for a standard normal Z, accurate in the far upper tail.
pub fn sf(z: f64) -> f64 {
    standard().sf(z)
}

/// The z with P(Z <= z) = p. `p` must lie strictly between 0 and 1.
pub fn quantile(p: f64) -> f64 {
    assert!(p > 0.0 && p < 1.0, "normal quantile needs 0 < p < 1, got {p}");
    standard().inverse_cdf(p)
}
