//! Variance components of a one-way random-effects model, by the method of moments.
//!
//! A player's sessions share the player: a crash-prone device crashes again, a slow device is slow
//! every run. Model a session's value as yᵢⱼ = μ + bᵢ + εᵢⱼ, with player effects bᵢ of variance
//! σ²_b (between players) and session noise εᵢⱼ of variance σ²_w (within a player). A player with
//! nᵢ sessions then contributes a total yᵢ whose deviation from μ·nᵢ has variance
//! nᵢσ²_w + nᵢ²σ²_b, and a cohort's mean Σyᵢ/N has variance (σ²_w·N + σ²_b·Σnᵢ²)/N².
//!
//! The components are estimated from sums a telemetry pipeline keeps as sessions arrive
//! ([`Moments`]):
//! - σ²_w from the squares within players, Σy² − Σyᵢ²/nᵢ, over N − k degrees of freedom;
//! - σ²_b in one of two ways ([`Weighting`]), each unbiased under the model however unevenly
//!   players play, each correcting for the cohort's mean being estimated from the same players
//!   (the small-sample correction a plain cluster-robust sum of squares lacks):
//!   - from the squares of the players' totals around the cohort's mean R, Q = Σ(yᵢ − R·nᵢ)²,
//!     whose expectation is σ²_w·(N − Σnᵢ²/N) + σ²_b·(Σnᵢ² − 2Σnᵢ³/N + (Σnᵢ²)²/N²). A player
//!     counts by nᵢ², as in the variance of the mean itself;
//!   - from the squares of the players' means, Σnᵢ(ȳᵢ − R)² = Σyᵢ²/nᵢ − N·R², whose expectation
//!     is σ²_w·(k − 1) + σ²_b·(N − Σnᵢ²/N): the one-way analysis of variance (Searle, Casella
//!     and McCulloch, 1992, ch. 3). A player counts by nᵢ, as in the mean.
//!
//! The two differ where it matters, when a few players play far more than everyone else. Then the
//! first moves with the cohort's mean (both are driven by the same few players: when they happen
//! to crash little, the mean and the estimated variance fall together), which makes a test on
//! that cohort too bold exactly when its mean looks good; the second leans on them less.
//!
//! How many players stand behind a between-player estimate sets the degrees of freedom of a
//! Student t reference: (Σnᵢ²)²/Σnᵢ⁴ for the first, N²/Σnᵢ² for the second
//! ([`Weighting::effective_players`]); both are k when every player played equally.
//!
//! The sums of several cohorts and strata add up, each around its own mean, so one set of
//! components can be pooled over a whole stratified comparison, or over both of its cohorts.

use crate::moments::Moments;

/// How a between-player estimate weighs players (see the module's introduction).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Weighting {
    /// By nᵢ², from the squares of the players' totals around the mean.
    Totals,
    /// By nᵢ, from the squares of the players' means (the analysis of variance).
    Means,
}

impl Weighting {
    /// The effective number of players behind a between-player estimate from `m`: k when every
    /// player played equally, falling towards 1 as a few players take most of the sessions.
    pub fn effective_players(self, m: &Moments) -> f64 {
        match self {
            Weighting::Totals if m.player_count_fourth > 0.0 => {
                m.player_count_sq * m.player_count_sq / m.player_count_fourth
            }
            Weighting::Means if m.player_count_sq > 0.0 => {
                (m.count as f64) * (m.count as f64) / m.player_count_sq
            }
            _ => 0.0,
        }
    }
}

/// The sums over one or more cohorts (each around its own mean) from which variance components
/// are estimated. Plain sums: sets of cohorts add up with [`ComponentSums::merge`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ComponentSums {
    /// Σy² − Σyᵢ²/nᵢ: the squares within players.
    within_ss: f64,
    /// N − k: observations less players.
    within_df: f64,
    /// Σ(yᵢ − R·nᵢ)², each cohort around its own mean R.
    residual_ss: f64,
    /// The residual squares' expectation is σ²_w·`within_coefficient` +
    /// σ²_b·`between_coefficient`.
    within_coefficient: f64,
    between_coefficient: f64,
    /// Players less one, summed: the degrees of freedom when every player played once, and
    /// the within coefficient of the players' means' squares.
    player_df: f64,
    /// Σyᵢ²/nᵢ − N·R², each cohort around its own mean: the players' means' squares, and their
    /// between coefficient, N − Σnᵢ²/N (which is also the totals' within coefficient).
    means_ss: f64,
}

/// Estimated variance components, and the degrees of freedom of the within component.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Components {
    /// σ²_w: the variance of a session around its player's mean.
    pub within: f64,
    /// σ²_b: the variance of players' means around the cohort's. Unbiased, so it can come out
    /// below zero when the true component is small against its noise.
    pub between: f64,
    /// The degrees of freedom behind `within`.
    pub within_df: f64,
}

impl ComponentSums {
    /// Adds one cohort's sums (in one stratum), around the cohort's own mean.
    pub fn add(&mut self, m: &Moments) {
        if m.count == 0 {
            return;
        }
        let (n, k) = (m.count as f64, m.players as f64);
        let (s2, s3) = (m.player_count_sq, m.player_count_cube);
        self.within_ss += (m.sum_sq - m.player_mean_sq).max(0.0);
        self.within_df += n - k;
        self.residual_ss += m.residual_sq(m.sum / n);
        self.within_coefficient += n - s2 / n;
        self.between_coefficient += s2 - 2.0 * s3 / n + s2 * s2 / (n * n);
        self.player_df += k - 1.0;
        self.means_ss += (m.player_mean_sq - m.sum * m.sum / n).max(0.0);
    }

    pub fn merge(&mut self, other: &ComponentSums) {
        self.within_ss += other.within_ss;
        self.within_df += other.within_df;
        self.residual_ss += other.residual_ss;
        self.within_coefficient += other.within_coefficient;
        self.between_coefficient += other.between_coefficient;
        self.player_df += other.player_df;
        self.means_ss += other.means_ss;
    }

    /// The components with the between-player one estimated as `weighting` says, or `None` when
    /// no cohort has two players to compare.
    ///
    /// The between-player component is left as estimated, below zero too: truncating it at zero
    /// (the usual remedy) biases the variance upwards wherever it is small against its noise, and
    /// whoever uses it decides (see [`crate::contrast`]). When every player played exactly once,
    /// the two components cannot be told apart and only their sum matters (a one-session
    /// player's variance is σ²_w + σ²_b either way): it is reported as within-player variance.
    pub fn components(&self, weighting: Weighting) -> Option<Components> {
        if self.within_coefficient <= 0.0 {
            return None;
        }
        if self.within_df <= 0.0 {
            return Some(Components {
                within: self.residual_ss / self.within_coefficient,
                between: 0.0,
                within_df: self.player_df,
            });
        }
        let within = (self.within_ss / self.within_df).max(0.0);
        let (ss, within_coefficient, between_coefficient) = match weighting {
            Weighting::Totals => {
                (self.residual_ss, self.within_coefficient, self.between_coefficient)
            }
            Weighting::Means => (self.means_ss, self.player_df, self.within_coefficient),
        };
        let between = if between_coefficient > 0.0 {
            (ss - within * within_coefficient) / between_coefficient
        } else {
            0.0
        };
        Some(Components { within, between, within_df: self.within_df })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, Normal, Poisson};

    /// The same quantities computed directly from every player's values.
    fn direct(players: &[Vec<f64>]) -> (f64, f64, f64, f64, f64) {
        let n: f64 = players.iter().map(|p| p.len() as f64).sum();
        let y: f64 = players.iter().flatten().sum();
        let r = y / n;
        let within_ss: f64 = players
            .iter()
            .map(|p| {
                let m = p.iter().sum::<f64>() / p.len() as f64;
                p.iter().map(|v| (v - m).powi(2)).sum::<f64>()
            })
            .sum();
        let residual: f64 =
            players.iter().map(|p| (p.iter().sum::<f64>() - r * p.len() as f64).powi(2)).sum();
        let s2: f64 = players.iter().map(|p| (p.len() as f64).powi(2)).sum();
        let s3: f64 = players.iter().map(|p| (p.len() as f64).powi(3)).sum();
        (within_ss, residual, n - s2 / n, s2 - 2.0 * s3 / n + s2 * s2 / (n * n), n)
    }

    /// The running sums give exactly what the definitions give on the raw values.
    #[test]
    fn running_sums_equal_the_definitions() {
        let players: Vec<Vec<f64>> = vec![
            vec![1.0, 0.0, 1.0, 1.0],
            vec![0.0],
            vec![2.5, 3.5],
            vec![4.0, 0.5, 0.25, 7.0, 1.0, 3.0],
        ];
        let m = Moments::from_players(players.iter().map(Vec::as_slice));
        let mut sums = ComponentSums::default();
        sums.add(&m);
        let (within_ss, residual, cw, cb, n) = direct(&players);
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs().max(1.0);
        assert!(close(sums.within_ss, within_ss), "{} vs {within_ss}", sums.within_ss);
        assert!(close(sums.residual_ss, residual));
        assert!(close(sums.within_coefficient, cw));
        assert!(close(sums.between_coefficient, cb));
        assert_eq!(sums.within_df, n - 4.0);
        // Σnᵢ⁴ = 256 + 1 + 16 + 1296 and Σnᵢ² = 16 + 1 + 4 + 36.
        assert!(close(Weighting::Totals.effective_players(&m), 57.0 * 57.0 / 1569.0));
        // N²/Σnᵢ² = 13²/57.
        assert!(close(Weighting::Means.effective_players(&m), 169.0 / 57.0));
        // Σnᵢ(ȳᵢ − R)², directly.
        let r: f64 = players.iter().flatten().sum::<f64>() / n;
        let means: f64 = players
            .iter()
            .map(|p| p.len() as f64 * (p.iter().sum::<f64>() / p.len() as f64 - r).powi(2))
            .sum();
        assert!(close(sums.means_ss, means), "{} vs {means}", sums.means_ss);
    }

    /// Unbiased under the model, both ways, with very uneven players: players' session counts are Poisson
    /// with a log-normal (σ = 1.5) rate, effects normal. Over 4000 replications the mean of each
    /// estimate is within four of its Monte Carlo standard errors of the truth.
    #[test]
    fn components_are_unbiased_however_unevenly_players_play() {
        let (sigma_w, sigma_b) = (2.0f64, 0.7f64);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let effect = Normal::new(0.0, sigma_b).unwrap();
        let noise = Normal::new(0.0, sigma_w).unwrap();
        let rate = Normal::new(0.0, 1.5).unwrap();
        let replications = 4000;
        let (mut within, mut between, mut means) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..replications {
            let players: Vec<Vec<f64>> = (0..200)
                .map(|_| {
                    let lambda = 3.0 * f64::exp(rate.sample(&mut rng) - 1.125);
                    let n = Poisson::new(lambda).unwrap().sample(&mut rng) as usize + 1;
                    let b = effect.sample(&mut rng);
                    (0..n).map(|_| 5.0 + b + noise.sample(&mut rng)).collect()
                })
                .collect();
            let mut sums = ComponentSums::default();
            sums.add(&Moments::from_players(players.iter().map(Vec::as_slice)));
            let c = sums.components(Weighting::Totals).unwrap();
            within.push(c.within);
            between.push(c.between);
            means.push(sums.components(Weighting::Means).unwrap().between);
        }
        for (name, values, truth) in [
            ("within", &within, sigma_w * sigma_w),
            ("between, by totals", &between, sigma_b * sigma_b),
            ("between, by means", &means, sigma_b * sigma_b),
        ] {
            let r = values.len() as f64;
            let mean = values.iter().sum::<f64>() / r;
            let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (r - 1.0)).sqrt();
            assert!((mean - truth).abs() <= 4.0 * sd / r.sqrt(), "{name}: {mean} vs {truth}");
        }
    }

    #[test]
    fn one_session_players_give_the_total_variance_and_one_player_none() {
        let single: Vec<[f64; 1]> = [1.0, 3.0, 5.0, 7.0].map(|v| [v]).to_vec();
        let m = Moments::from_players(single.iter().map(|v| v.as_slice()));
        let mut sums = ComponentSums::default();
        sums.add(&m);
        let c = sums.components(Weighting::Totals).unwrap();
        assert_eq!(sums.components(Weighting::Means), Some(c));
        // Reference: numpy.var([1, 3, 5, 7], ddof=1) = 6.666666666666667.
        assert!((c.within - 6.666_666_666_666_667).abs() < 1e-12, "{c:?}");
        assert_eq!((c.between, c.within_df), (0.0, 3.0));
        let mut one = ComponentSums::default();
        one.add(&Moments::from_players([[1.0, 2.0, 4.0].as_slice()]));
        assert_eq!(one.components(Weighting::Totals), None);
    }
}
