//! Confidence intervals for a binomial rate, such as a policy's detection or false-kill rate over
//! a Monte Carlo batch of runs.

use statrs::distribution::{Beta, ContinuousCDF};

use crate::normal;

/// A two-sided interval [lo, hi].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Interval {
    pub lo: f64,
    pub hi: f64,
}

fn check(successes: u64, trials: u64, confidence: f64) {
    assert!(trials > 0, "an interval needs at least one trial");
    assert!(successes <= trials, "{successes} successes out of {trials} trials");
    assert!(confidence > 0.0 && confidence < 1.0, "confidence {confidence} is not in (0, 1)");
}

/// The Wilson score interval: well behaved near 0 and 1, and close to nominal coverage.
pub fn wilson(successes: u64, trials: u64, confidence: f64) -> Interval {
    check(successes, trials, confidence);
    let n = trials as f64;
    let p = successes as f64 / n;
    let z = normal::quantile(0.5 + confidence / 2.0);
    let z2 = z * z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = z / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Interval { lo: (centre - half).max(0.0), hi: (centre + half).min(1.0) }
}

/// The Clopper–Pearson ("exact") interval: never below nominal coverage, often above it.
pub fn clopper_pearson(successes: u64, trials: u64, confidence: f64) -> Interval {
    check(successes, trials, confidence);
    let tail = (1.0 - confidence) / 2.0;
    let (k, n) = (successes as f64, trials as f64);
    let lo = if successes == 0 {
        0.0
    } else {
        Beta::new(k, n - k + 1.0).expect("valid beta parameters").inverse_cdf(tail)
    };
    let hi = if successes == trials {
        1.0
    } else {
        Beta::new(k + 1.0, n - k).expect("valid beta parameters").inverse_cdf(1.0 - tail)
    };
    Interval { lo, hi }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (successes, trials, Wilson lo, Wilson hi, Clopper–Pearson lo, Clopper–Pearson hi), from
    /// scipy 1.17: `binomtest(k, n).proportion_ci(0.95, method)` with 'wilson' and 'exact'.
    const SCIPY: [(u64, u64, f64, f64, f64, f64); 5] = [
        (0, 10, 0.0, 0.277_532_799_862_889_26, 0.0, 0.308_497_107_818_762_94),
        (
            5,
            20,
            0.111_861_701_407_665_71,
            0.468_700_877_618_744,
            0.086_571_469_101_434_55,
            0.491_045_871_707_957_55,
        ),
        (
            37,
            1000,
            0.026_961_180_875_554_734,
            0.050_582_397_482_069_31,
            0.026_182_708_843_990_08,
            0.050_641_123_059_960_9,
        ),
        (1000, 1000, 0.996_173_241_514_444_9, 1.0, 0.996_317_916_103_360_8, 1.0),
        (
            3,
            7,
            0.158_219_855_251_469_7,
            0.749_541_635_472_342_8,
            0.098_988_278_442_436_89,
            0.815_948_432_359_93,
        ),
    ];

    /// Relative tolerance 1e-9 (1e-12 absolute at the exact bounds 0 and 1).
    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs() + 1e-12
    }

    #[test]
    fn wilson_matches_scipy() {
        for (k, n, lo, hi, _, _) in SCIPY {
            let i = wilson(k, n, 0.95);
            assert!(close(i.lo, lo) && close(i.hi, hi), "{k}/{n}: {i:?} vs ({lo}, {hi})");
        }
    }

    #[test]
    fn clopper_pearson_matches_scipy() {
        for (k, n, _, _, lo, hi) in SCIPY {
            let i = clopper_pearson(k, n, 0.95);
            assert!(close(i.lo, lo) && close(i.hi, hi), "{k}/{n}: {i:?} vs ({lo}, {hi})");
        }
    }
}
