//! Sample-ratio mismatch: are the cohorts the size the assignment promised?
//!
//! If a build is served to 5% of players and the holdback is 10%, active players should split
//! 1 : 2 between the two. When they do not, something upstream is broken (a targeting bug, a client
//! that fails to report on one build, a cache that serves the old build to some players), and every
//! comparison between the cohorts is suspect however significant it looks. Pearson's chi-square
//! goodness-of-fit test says how surprising the observed split is.

use statrs::distribution::{ChiSquared, ContinuousCDF};

/// Pearson's chi-square statistic and p-value for `observed` counts against the `expected` shares
/// (any positive weights; they are normalised), with k − 1 degrees of freedom. `None` when there
/// are fewer than two groups with an expected share or no observations at all.
pub fn chi_square(observed: &[u64], expected: &[f64]) -> Option<(f64, f64)> {
    assert_eq!(observed.len(), expected.len(), "one expected share per group");
    let total: u64 = observed.iter().sum();
    let weight: f64 = expected.iter().sum();
    let groups = expected.iter().filter(|&&e| e > 0.0).count();
    if total == 0 || groups < 2 || weight <= 0.0 {
        return None;
    }
    let mut statistic = 0.0;
    for (&o, &e) in observed.iter().zip(expected) {
        let e = e / weight * total as f64;
        if e > 0.0 {
            statistic += (o as f64 - e) * (o as f64 - e) / e;
        }
    }
    let freedom = ChiSquared::new((groups - 1) as f64).expect("at least one degree of freedom");
    Some((statistic, freedom.sf(statistic)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// References: scipy 1.17 `scipy.stats.chisquare(f_obs, f_exp)`; tolerance 1e-9 relative.
    #[test]
    fn matches_scipy_chisquare() {
        let cases: [(&[u64], &[f64], f64, f64); 3] = [
            (&[5230, 4770], &[1.0, 1.0], 21.16, 4.224_909_405_005_696e-6),
            (&[102, 130, 168], &[1.0, 1.0, 1.0], 16.46, 2.665_363_302_526_179e-4),
            (&[1030, 9205], &[0.1, 0.9], 0.045_866_579_818_704_88, 0.830_418_511_508_069_6),
        ];
        for (observed, expected, statistic, p) in cases {
            let (s, q) = chi_square(observed, expected).unwrap();
            assert!((s / statistic - 1.0).abs() < 1e-9, "{s} vs {statistic}");
            assert!((q / p - 1.0).abs() < 1e-9, "{q} vs {p}");
        }
    }

    #[test]
    fn nothing_to_test_without_two_groups_or_data() {
        assert_eq!(chi_square(&[0, 0], &[1.0, 1.0]), None);
        assert_eq!(chi_square(&[10, 3], &[1.0, 0.0]), None);
    }
}
