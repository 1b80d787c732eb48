//! Sufficient statistics of one metric in one cohort.
//!
//! A metric such as "crash rate per run" is a ratio over sessions, but sessions come in clusters:
//! one player plays many runs, and a crash-prone device crashes again. Treating sessions as
//! independent understates the variance whenever players differ. [`Moments`] therefore keeps two
//! sets of sums: the session-level sums (Σy, Σy²) and the per-player sums (Σnᵢ², Σnᵢ³, Σnᵢ⁴,
//! Σyᵢ², Σnᵢyᵢ and Σyᵢ²/nᵢ, where nᵢ and yᵢ are player i's session count and total). From them
//! come the within-player and between-player variance components of a one-way random-effects
//! model (see [`crate::components`]), which give the variance of the cohort's mean however
//! unevenly players play.
//!
//! The per-player sums are kept incrementally: adding one observation v for a player whose totals
//! so far are (n, y) changes Σnᵢ² by 2n + 1, Σnᵢ³ by 3n² + 3n + 1, Σnᵢ⁴ by 4n³ + 6n² + 4n + 1,
//! Σyᵢ² by 2·y·v + v², Σnᵢyᵢ by n·v + y + v and Σyᵢ²/nᵢ by (y + v)²/(n + 1) − y²/n. That keeps
//! the per-session cost constant, which matters on the simulator's hot path.

/// How to estimate the variance of a cohort mean. Its names come from the derive, in the order
/// scenario files list them.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString, strum::VariantNames,
)]
#[strum(serialize_all = "snake_case")]
pub enum VarianceModel {
    /// Sessions clustered by player: within- and between-player variance components, by the
    /// method of moments (see [`crate::components`] and, for a comparison, [`crate::contrast`]).
    Clustered,
    /// Every session independent: s²/n. Cheap, and wrong when players differ.
    Session,
}

/// The running sums of one metric over one cohort. All fields are plain sums, so two `Moments`
/// over disjoint sets of players add up (see [`Moments::merge`]).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Moments {
    /// Players with at least one observation.
    pub players: u64,
    /// Observations (sessions).
    pub count: u64,
    /// Σ y over observations.
    pub sum: f64,
    /// Σ y² over observations.
    pub sum_sq: f64,
    /// Σ nᵢ² over players.
    pub player_count_sq: f64,
    /// Σ yᵢ² over players.
    pub player_sum_sq: f64,
    /// Σ nᵢ·yᵢ over players.
    pub player_cross: f64,
    /// Σ nᵢ³ over players.
    pub player_count_cube: f64,
    /// Σ nᵢ⁴ over players.
    pub player_count_fourth: f64,
    /// Σ yᵢ²/nᵢ over players: what the session sum of squares keeps between players.
    pub player_mean_sq: f64,
}

impl Moments {
    /// Adds one observation `value` for a player whose totals in this cohort so far are
    /// `player_count` observations summing to `player_sum`. The caller then updates the player's
    /// totals to (`player_count + 1`, `player_sum + value`).
    #[inline]
    pub fn observe(&mut self, player_count: u32, player_sum: f64, value: f64) {
        let n = f64::from(player_count);
        if player_count == 0 {
            self.players += 1;
        }
        self.count += 1;
        self.sum += value;
        self.sum_sq += value * value;
        self.player_count_sq += 2.0 * n + 1.0;
        self.player_sum_sq += 2.0 * player_sum * value + value * value;
        self.player_cross += n * value + player_sum + value;
        self.player_count_cube += 3.0 * n * n + 3.0 * n + 1.0;
        self.player_count_fourth += ((4.0 * n + 6.0) * n + 4.0) * n + 1.0;
        let before = if player_count == 0 { 0.0 } else { player_sum * player_sum / n };
        let after = player_sum + value;
        self.player_mean_sq += after * after / (n + 1.0) - before;
    }

    /// Builds the moments of a cohort from each player's observations, one slice per player.
    /// Used by tests and by anything that has the raw data rather than a running stream.
    pub fn from_players<'a>(players: impl IntoIterator<Item = &'a [f64]>) -> Moments {
        let mut m = Moments::default();
        for values in players {
            let mut sum = 0.0;
            for (i, &v) in values.iter().enumerate() {
                m.observe(i as u32, sum, v);
                sum += v;
            }
        }
        m
    }

    /// Adds the moments of a disjoint set of players.
    pub fn merge(&mut self, other: &Moments) {
        self.players += other.players;
        self.count += other.count;
        self.sum += other.sum;
        self.sum_sq += other.sum_sq;
        self.player_count_sq += other.player_count_sq;
        self.player_sum_sq += other.player_sum_sq;
        self.player_cross += other.player_cross;
        self.player_count_cube += other.player_count_cube;
        self.player_count_fourth += other.player_count_fourth;
        self.player_mean_sq += other.player_mean_sq;
    }

    /// The mean per observation, or `None` without observations.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / self.count as f64)
    }

    /// Σᵢ (yᵢ − r·nᵢ)²: the players' totals around a rate `r`.
    pub fn residual_sq(&self, r: f64) -> f64 {
        // Exact in real numbers and never negative; rounding can make it slightly so.
        (self.player_sum_sq - 2.0 * r * self.player_cross + r * r * self.player_count_sq).max(0.0)
    }

    /// The estimated variance of [`Moments::mean`], or `None` when it cannot be estimated (fewer
    /// than two observations, or fewer than two players for the clustered model).
    pub fn variance_of_mean(&self, model: VarianceModel) -> Option<f64> {
        let mean = self.mean()?;
        let variance = match model {
            VarianceModel::Session => {
                if self.count < 2 {
                    return None;
                }
                let n = self.count as f64;
                let s2 = (self.sum_sq - n * mean * mean) / (n - 1.0);
                s2 / n
            }
            VarianceModel::Clustered => {
                let mut sums = crate::components::ComponentSums::default();
                sums.add(self);
                let c = sums.components(crate::components::Weighting::Totals)?;
                (c.within * self.count as f64 + c.between * self.player_count_sq)
                    / (self.count as f64 * self.count as f64)
            }
        };
        // Rounding can push an exact zero slightly negative.
        Some(variance.max(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    #[test]
    fn incremental_sums_equal_direct_sums() {
        let players: Vec<Vec<f64>> = vec![vec![1.0, 0.0, 1.0], vec![0.0], vec![2.5, 3.5]];
        let m = Moments::from_players(players.iter().map(Vec::as_slice));
        assert_eq!(m.players, 3);
        assert_eq!(m.count, 6);
        assert!(close(m.sum, 8.0, 1e-15));
        assert!(close(m.sum_sq, 1.0 + 1.0 + 6.25 + 12.25, 1e-15));
        // nᵢ = 3, 1, 2 and yᵢ = 2, 0, 6.
        assert!(close(m.player_count_sq, 9.0 + 1.0 + 4.0, 1e-15));
        assert!(close(m.player_sum_sq, 4.0 + 0.0 + 36.0, 1e-15));
        assert!(close(m.player_cross, 6.0 + 0.0 + 12.0, 1e-15));
    }

    /// Reference: for y = [1, 2, 3, 4] as independent sessions, numpy.var(y, ddof=1) / 4 =
    /// 1.6666666666666667 / 4.
    #[test]
    fn session_variance_matches_reference() {
        let m = Moments::from_players([[1.0].as_slice(), &[2.0], &[3.0], &[4.0]]);
        let v = m.variance_of_mean(VarianceModel::Session).unwrap();
        assert!(close(v, 1.666_666_666_666_666_7 / 4.0, 1e-12));
    }

    /// With one session per player the clustered variance reduces to the session variance: the
    /// components cannot be told apart, and their sum is the sessions' variance.
    #[test]
    fn clustered_equals_session_when_every_player_has_one_session() {
        let m = Moments::from_players([[0.5].as_slice(), &[1.5], &[4.0], &[2.0], &[7.0]]);
        let s = m.variance_of_mean(VarianceModel::Session).unwrap();
        let c = m.variance_of_mean(VarianceModel::Clustered).unwrap();
        assert!(close(c, s, 1e-12), "clustered {c} vs session {s}");
    }

    /// Reference computed in exact fractions in Python, from the raw values by the definitions
    /// (not the running sums), for players [1, 0], [1, 1, 1] and [0]: σ²_w = 1/6 (squares within
    /// players 1/2 over 6 − 3 degrees of freedom), σ²_b = 17/134, and the mean's variance
    /// (σ²_w·6 + σ²_b·14)/36 = 31/402.
    #[test]
    fn clustered_variance_matches_reference() {
        let m = Moments::from_players([[1.0, 0.0].as_slice(), &[1.0, 1.0, 1.0], &[0.0]]);
        let v = m.variance_of_mean(VarianceModel::Clustered).unwrap();
        assert!(close(v, 31.0 / 402.0, 1e-12), "{v}");
    }

    #[test]
    fn too_little_data_gives_no_variance() {
        assert_eq!(Moments::default().mean(), None);
        let one = Moments::from_players([[1.0, 2.0].as_slice()]);
        assert!(one.variance_of_mean(VarianceModel::Session).is_some());
        assert_eq!(one.variance_of_mean(VarianceModel::Clustered), None);
    }

    #[test]
    fn merge_is_the_sum_of_disjoint_players() {
        let a = Moments::from_players([[1.0, 0.0].as_slice(), &[3.0]]);
        let b = Moments::from_players([[2.0].as_slice(), &[0.0, 0.0, 1.0]]);
        let all = Moments::from_players([[1.0, 0.0].as_slice(), &[3.0], &[2.0], &[0.0, 0.0, 1.0]]);
        let mut merged = a;
        merged.merge(&b);
        // Equal up to the last bit of the running Σyᵢ²/nᵢ, which adds in another order.
        assert_eq!(
            Moments { player_mean_sq: 0.0, ..merged },
            Moments { player_mean_sq: 0.0, ..all }
        );
        assert!(close(merged.player_mean_sq, all.player_mean_sq, 1e-15));
    }
}
