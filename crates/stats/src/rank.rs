//! The Mann-Whitney rank test on binned distributions, stratified by stage (van Elteren).
//!
//! A latency regression often shows in the tail before it moves the mean, and a rank test sees the
//! whole distribution. Telemetry cannot carry every session's latency, so it carries a histogram
//! with [`BINS`] log-spaced bins, each [`BIN_RATIO`] wide (5%). Sessions in one bin are ties.
//!
//! For one stratum with nₜ treatment and n꜀ control sessions, U counts the pairs where the treatment
//! is worse (larger), ties counting half: U = Σᵢⱼ tᵢ·c ⱼ·\[i > j\] + ½·Σᵢ tᵢcᵢ. Under "no
//! difference" E\[U\] = nₜn꜀/2 and, with tie groups of sizes gₖ over N = nₜ + n꜀ sessions,
//! Var U = nₜn꜀/12 · (N + 1 − Σ(gₖ³ − gₖ)/(N(N − 1))). The strata (stages) are combined as van
//! Elteren did, weighting stratum s by 1/(Nₛ + 1): z = Σ wₛ(Uₛ − E Uₛ) / √(Σ wₛ² Var Uₛ), so that
//! each stage is compared only with the control of its own hours.
//!
//! A relative margin m asks whether the treatment is worse than the control made (1 + m) times
//! slower: the control histogram is shifted up by ln(1 + m)/ln(1.05) bins, with sessions spread
//! evenly (in log latency) within a bin, so pairs in overlapping bins count the chance that one
//! uniform exceeds the other. With a shift the data have no ties left to correct for, and the
//! plain variance nₜn꜀(N + 1)/12 is used; it is at least the tie-corrected one, so the test stays
//! conservative.
//!
//! Sessions are assumed independent. One player's sessions are not (a slow device is slow every
//! run), so, like any session-level test, this one rejects more often than its alpha when players
//! differ; rollcage's method comparison shows by how much.

use crate::normal;

/// Histogram bins of a latency distribution.
pub const BINS: usize = 160;
/// The ratio of a bin's upper to its lower edge.
pub const BIN_RATIO: f64 = 1.05;
/// The lower edge of bin 1, in milliseconds; bin 0 holds everything below, the last bin
/// everything above its lower edge (about 24 seconds).
pub const FIRST_EDGE_MS: f64 = 10.0;

/// The bin of a latency in milliseconds.
#[inline]
pub fn bin_of(latency_ms: f64) -> usize {
    if latency_ms < FIRST_EDGE_MS || latency_ms.is_nan() {
        return 0;
    }
    let i = ((latency_ms / FIRST_EDGE_MS).ln() / BIN_RATIO.ln()) as usize + 1;
    i.min(BINS - 1)
}

/// The lower edge of `bin` in milliseconds (0 for the first).
pub fn lower_edge_ms(bin: usize) -> f64 {
    if bin == 0 { 0.0 } else { FIRST_EDGE_MS * BIN_RATIO.powi(bin as i32 - 1) }
}

/// One stratum's histograms: the treatment's and the control's counts per bin.
#[derive(Clone, Copy, Debug)]
pub struct Binned<'a> {
    pub treatment: &'a [u32],
    pub control: &'a [u32],
}

/// The outcome of a stratified Mann-Whitney test.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RankTest {
    /// The weighted chance that a treatment session is worse than a (shifted) control session,
    /// ties half, minus ½: positive when the treatment is worse.
    pub estimate: f64,
    /// Its standard error under "no difference".
    pub std_error: f64,
    /// z = estimate / std_error; large when the treatment is worse.
    pub z: f64,
    pub treatment_count: u64,
    pub control_count: u64,
}

impl RankTest {
    /// The one-sided p-value P(Z ≥ z).
    pub fn p_value(&self) -> f64 {
        normal::sf(self.z)
    }
}

/// P(X > Y) for X uniform on [d, d + 1] and Y uniform on [0, 1].
fn exceeds(d: f64) -> f64 {
    if d >= 1.0 {
        1.0
    } else if d <= -1.0 {
        0.0
    } else if d >= 0.0 {
        1.0 - (1.0 - d) * (1.0 - d) / 2.0
    } else {
        (1.0 + d) * (1.0 + d) / 2.0
    }
}

/// The bins a relative margin shifts the control by.
pub fn margin_shift(relative_margin: f64) -> f64 {
    (1.0 + relative_margin).ln() / BIN_RATIO.ln()
}

/// Tests whether the treatment is stochastically larger than the control shifted up by `shift`
/// bins, over every stratum with data in both cohorts; `None` when none has.
pub fn mann_whitney(strata: &[Binned<'_>], shift: f64) -> Option<RankTest> {
    let (mut numerator, mut variance, mut weight_sum, mut weighted_estimate) = (0.0, 0.0, 0.0, 0.0);
    let (mut nt_total, mut nc_total) = (0u64, 0u64);
    for s in strata {
        assert_eq!(s.treatment.len(), s.control.len(), "the histograms share their bins");
        let nt: u64 = s.treatment.iter().map(|&c| u64::from(c)).sum();
        let nc: u64 = s.control.iter().map(|&c| u64::from(c)).sum();
        if nt == 0 || nc == 0 {
            continue;
        }
        let (ntf, ncf) = (nt as f64, nc as f64);
        let n = ntf + ncf;
        let u = if shift == 0.0 { u_unshifted(s) } else { u_shifted(s, shift) };
        let var_u = if shift == 0.0 {
            let ties: f64 = s
                .treatment
                .iter()
                .zip(s.control)
                .map(|(&t, &c)| {
                    let g = f64::from(t) + f64::from(c);
                    g * g * g - g
                })
                .sum();
            ntf * ncf / 12.0 * (n + 1.0 - if n > 1.0 { ties / (n * (n - 1.0)) } else { 0.0 })
        } else {
            ntf * ncf * (n + 1.0) / 12.0
        };
        let w = 1.0 / (n + 1.0);
        numerator += w * (u - ntf * ncf / 2.0);
        variance += w * w * var_u;
        // For display: the chance of superiority, weighted by the stratum's pairs.
        weighted_estimate += w * ntf * ncf * (u / (ntf * ncf) - 0.5);
        weight_sum += w * ntf * ncf;
        nt_total += nt;
        nc_total += nc;
    }
    if weight_sum == 0.0 {
        return None;
    }
    let estimate = weighted_estimate / weight_sum;
    let z = if variance > 0.0 { numerator / variance.sqrt() } else { 0.0 };
    let std_error = if variance > 0.0 { variance.sqrt() / weight_sum } else { 0.0 };
    Some(RankTest { estimate, std_error, z, treatment_count: nt_total, control_count: nc_total })
}

/// U with ties counting half: Σᵢ tᵢ·(c below i + ½·cᵢ).
fn u_unshifted(s: &Binned<'_>) -> f64 {
    let mut below = 0.0;
    let mut u = 0.0;
    for (&t, &c) in s.treatment.iter().zip(s.control) {
        u += f64::from(t) * (below + 0.5 * f64::from(c));
        below += f64::from(c);
    }
    u
}

/// U against the control shifted up by `shift` bins, sessions spread evenly within a bin.
fn u_shifted(s: &Binned<'_>, shift: f64) -> f64 {
    // Control bin j, shifted, lies on [j + shift, j + shift + 1]; treatment bin i on [i, i + 1].
    // Pairs more than one bin apart are certain; only neighbours need the overlap formula.
    let mut control_below = vec![0.0; s.control.len() + 1];
    for (j, &c) in s.control.iter().enumerate() {
        control_below[j + 1] = control_below[j] + f64::from(c);
    }
    let whole = shift.floor() as i64;
    let mut u = 0.0;
    for (i, &t) in s.treatment.iter().enumerate() {
        if t == 0 {
            continue;
        }
        let i = i as i64;
        // Control bins j with i − (j + shift) ≥ 1 for sure: j ≤ i − shift − 1.
        let certain = (i - whole - 1).min(s.control.len() as i64);
        let mut wins = if certain > 0 { control_below[certain as usize] } else { 0.0 };
        for j in (certain.max(0))..(i - whole + 1).min(s.control.len() as i64) {
            wins += f64::from(s.control[j as usize]) * exceeds(i as f64 - j as f64 - shift);
        }
        u += f64::from(t) * wins;
    }
    u
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram(bins: &[usize]) -> Vec<u32> {
        let mut h = vec![0; BINS];
        for &b in bins {
            h[b] += 1;
        }
        h
    }

    /// Reference: scipy 1.17, `mannwhitneyu(x, y, alternative="greater", method="asymptotic",
    /// use_continuity=False)` on x = [3,5,5,6,7,7,7,9,12,12], y = [1,2,3,3,5,6,6,8] (values as
    /// bins, so with ties): U = 63.0, p = 0.019614850 (z = 2.0617694). Tolerance 1e-6 relative.
    #[test]
    fn one_stratum_matches_scipy_with_ties() {
        let t = histogram(&[3, 5, 5, 6, 7, 7, 7, 9, 12, 12]);
        let c = histogram(&[1, 2, 3, 3, 5, 6, 6, 8]);
        let s = [Binned { treatment: &t, control: &c }];
        assert_eq!(u_unshifted(&s[0]), 63.0);
        let test = mann_whitney(&s, 0.0).unwrap();
        assert!((test.p_value() / 0.019_614_850 - 1.0).abs() < 1e-6, "{test:?}");
        assert!((test.estimate - (63.0 / 80.0 - 0.5)).abs() < 1e-12);
    }

    /// Reference: van Elteren's statistic for two strata computed with scipy 1.17 by hand from
    /// `rankdata` midranks and `tiecorrect` (the script is in the test's comment below): z =
    /// 2.0849267. Stratum 1 as above; stratum 2 x = [4,4,6,10,11], y = [2,4,5,5,7,9].
    ///
    /// ```text
    /// def stratum(x, y):
    ///     nx, ny = len(x), len(y); n = nx + ny
    ///     r = rankdata(np.r_[x, y]); u = r[:nx].sum() - nx * (nx + 1) / 2
    ///     var = nx * ny / 12 * ((n + 1) - (n + 1) * (1 - tiecorrect(r)))
    ///     return u - nx * ny / 2, var, 1 / (n + 1)
    /// ```
    #[test]
    fn two_strata_match_van_elteren() {
        let (t1, c1) =
            (histogram(&[3, 5, 5, 6, 7, 7, 7, 9, 12, 12]), histogram(&[1, 2, 3, 3, 5, 6, 6, 8]));
        let (t2, c2) = (histogram(&[4, 4, 6, 10, 11]), histogram(&[2, 4, 5, 5, 7, 9]));
        let s = [Binned { treatment: &t1, control: &c1 }, Binned { treatment: &t2, control: &c2 }];
        let test = mann_whitney(&s, 0.0).unwrap();
        assert!((test.z / 2.084_926_7 - 1.0).abs() < 1e-6, "{test:?}");
        assert_eq!((test.treatment_count, test.control_count), (15, 14));
    }

    #[test]
    fn a_whole_bin_shift_is_the_same_test_on_moved_bins() {
        let t = histogram(&[10, 11, 12, 12, 14, 15, 20]);
        let c = histogram(&[9, 10, 10, 11, 13]);
        let moved = histogram(&[10, 11, 11, 12, 14]);
        let shifted = u_shifted(&Binned { treatment: &t, control: &c }, 1.0);
        let direct = u_unshifted(&Binned { treatment: &t, control: &moved });
        assert!((shifted - direct).abs() < 1e-12, "{shifted} vs {direct}");
        // A half-bin shift lies between no shift and a whole bin.
        let half = u_shifted(&Binned { treatment: &t, control: &c }, 0.5);
        let none = u_unshifted(&Binned { treatment: &t, control: &c });
        assert!(direct < half && half < none, "{direct} {half} {none}");
    }

    #[test]
    fn bins_are_five_percent_wide_and_clamped() {
        assert_eq!(bin_of(5.0), 0);
        assert_eq!(bin_of(10.0), 1);
        assert_eq!(bin_of(10.49), 1);
        assert_eq!(bin_of(10.51), 2);
        assert_eq!(bin_of(1e9), BINS - 1);
        for b in 1..BINS {
            assert_eq!(bin_of(lower_edge_ms(b) * 1.0001), b);
        }
        assert!((margin_shift(0.05) - 1.0).abs() < 1e-12);
    }
}
