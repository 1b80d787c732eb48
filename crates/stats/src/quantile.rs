//! Sample quantiles, for time-to-detect and blast-radius distributions.

/// The `p`-quantile of already sorted values by linear interpolation between order statistics
/// (Hyndman and Fan's type 7, numpy's default). `None` for no values.
pub fn sorted_quantile(sorted: &[f64], p: f64) -> Option<f64> {
    assert!((0.0..=1.0).contains(&p), "quantile level {p} is not in [0, 1]");
    debug_assert!(sorted.windows(2).all(|w| w[0] <= w[1]), "values must be sorted");
    let last = sorted.len().checked_sub(1)?;
    let h = p * last as f64;
    let below = h.floor() as usize;
    let above = (below + 1).min(last);
    Some(sorted[below] + (h - below as f64) * (sorted[above] - sorted[below]))
}

/// The `p`-quantile of unsorted values (sorted on a copy; NaN is not allowed).
pub fn quantile(values: &[f64], p: f64) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.partial_cmp(b).expect("quantile of NaN"));
    sorted_quantile(&sorted, p)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: numpy.quantile([3, 1, 4, 1, 5, 9, 2, 6], [0, 0.5, 0.9, 1]) =
    /// [1.0, 3.5, 6.899999999999999, 9.0].
    #[test]
    fn matches_numpy_linear() {
        let v = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0];
        assert_eq!(quantile(&v, 0.0), Some(1.0));
        assert_eq!(quantile(&v, 0.5), Some(3.5));
        assert!((quantile(&v, 0.9).unwrap() - 6.899_999_999_999_999).abs() < 1e-12);
        assert_eq!(quantile(&v, 1.0), Some(9.0));
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(quantile(&[2.0], 0.9), Some(2.0));
    }
}
