//! The sufficient statistics of [`Moments`], kept exactly: every sum in integers, so that it is
//! the same whatever order the observations arrive in.
//!
//! [`Moments`] keeps its sums in floating point, updated one session at a time; the last bits of
//! each sum depend on the order of the sessions. Telemetry that a live rollout system exports
//! comes as each player's totals per time window, in no particular order, and a judge of that
//! telemetry must reach the decision the simulator reached, to the bit. [`ExactMoments`] makes that
//! possible: values are integers (a count, coins, or a latency in whole microseconds: the caller
//! scales them), every sum of [`Moments`] but one is then an integer, and the one that is not,
//! Σyᵢ²/nᵢ, is kept as a sum of per-player terms F(yᵢ, nᵢ), each a deterministic integer
//! ([`mean_sq_term`]). Updated one observation at a time, that sum changes by
//! F(y + v, n + 1) − F(y, n), which telescopes to Σᵢ F(yᵢ, nᵢ) whatever the order; grown a window of
//! a player's observations at a time ([`ExactMoments::grow_player`]) it telescopes to the same.
//! Every way gives the same integers, and [`ExactMoments::to_moments`] turns them into the same
//! floating-point [`Moments`].
//!
//! Bounds: a player's total |yᵢ| stays below 2⁴² (4.4·10¹²: ten thousand sessions of seven
//! minutes' latency each, in microseconds), so every term fits in an `i128`.

use crate::moments::Moments;

/// Fractional bits of each player's term yᵢ²/nᵢ: 2⁻²⁴ ≈ 6·10⁻⁸ of a unit of the value squared.
pub const MEAN_SQ_BITS: u32 = 24;

/// The largest player total the sums hold exactly (exclusive).
pub const MAX_PLAYER_SUM: i64 = 1 << 42;

// A term y²·2^MEAN_SQ_BITS fits in an i128, for |y| < 2⁴².
const _: () = assert!(2 * 42 + MEAN_SQ_BITS < 127);

/// The per-player counting sums of one cohort: the part of [`ExactMoments`] that depends only on
/// how many observations each player has, shared by every metric each observation reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExactCounts {
    /// Players with at least one observation.
    pub players: u64,
    /// Observations (sessions).
    pub count: u64,
    /// Σ nᵢ² over players.
    pub player_count_sq: i128,
    /// Σ nᵢ³ over players.
    pub player_count_cube: i128,
    /// Σ nᵢ⁴ over players.
    pub player_count_fourth: i128,
}

impl ExactCounts {
    /// Adds one observation of a player who had `player_count` before it.
    #[inline]
    pub fn observe(&mut self, player_count: u32) {
        let n = i128::from(player_count);
        self.players += u64::from(player_count == 0);
        self.count += 1;
        self.player_count_sq += 2 * n + 1;
        self.player_count_cube += 3 * n * n + 3 * n + 1;
        self.player_count_fourth += ((4 * n + 6) * n + 4) * n + 1;
    }

    /// A player's observations grow from `from` to `to`.
    #[inline]
    pub fn grow(&mut self, from: u32, to: u32) {
        debug_assert!(to >= from, "a player's observations only grow");
        if to == from {
            return;
        }
        let (n0, n1) = (i128::from(from), i128::from(to));
        self.players += u64::from(from == 0);
        self.count += u64::from(to - from);
        self.player_count_sq += n1 * n1 - n0 * n0;
        self.player_count_cube += n1 * n1 * n1 - n0 * n0 * n0;
        self.player_count_fourth += n1 * n1 * n1 * n1 - n0 * n0 * n0 * n0;
    }

    pub fn merge(&mut self, other: &ExactCounts) {
        self.players += other.players;
        self.count += other.count;
        self.player_count_sq += other.player_count_sq;
        self.player_count_cube += other.player_count_cube;
        self.player_count_fourth += other.player_count_fourth;
    }
}

/// The sums of one metric's values over one cohort, beside its [`ExactCounts`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExactValues {
    /// Σ y over observations.
    pub sum: i128,
    /// Σ y² over observations.
    pub sum_sq: i128,
    /// Σ yᵢ² over players.
    pub player_sum_sq: i128,
    /// Σ nᵢ·yᵢ over players.
    pub player_cross: i128,
    /// Σ F(yᵢ, nᵢ) over players (see [`mean_sq_term`]).
    pub player_mean_sq: i128,
}

impl ExactValues {
    /// Adds one observation `value` of a player whose totals so far are `player_count`
    /// observations summing to `player_sum`.
    #[inline]
    pub fn observe(&mut self, player_count: u32, player_sum: i64, value: i64) {
        debug_assert!((player_sum + value).abs() < MAX_PLAYER_SUM, "a player total out of range");
        if player_sum == 0 && value == 0 {
            // Every term is 0: the common case of a rate (no crash so far, none now).
            return;
        }
        let n = i128::from(player_count);
        let (y, v) = (i128::from(player_sum), i128::from(value));
        self.sum += v;
        self.sum_sq += v * v;
        self.player_sum_sq += 2 * y * v + v * v;
        self.player_cross += n * v + y + v;
        self.player_mean_sq += mean_sq_term(player_sum + value, player_count + 1)
            - mean_sq_term(player_sum, player_count);
    }

    /// A player's totals grow from `from` to `to` (observations, their sum): every sum but Σy²,
    /// which [`ExactValues::add_squares`] adds. Growing a player in steps gives the same sums as
    /// growing them at once, because each per-player sum changes by its value at `to` less its
    /// value at `from`.
    #[inline]
    pub fn grow(&mut self, from: (u32, i64), to: (u32, i64)) {
        debug_assert!(to.1.abs() < MAX_PLAYER_SUM, "a player total out of range");
        let (n0, y0) = (i128::from(from.0), i128::from(from.1));
        let (n1, y1) = (i128::from(to.0), i128::from(to.1));
        self.sum += y1 - y0;
        self.player_sum_sq += y1 * y1 - y0 * y0;
        self.player_cross += n1 * y1 - n0 * y0;
        self.player_mean_sq += mean_sq_term(to.1, to.0) - mean_sq_term(from.1, from.0);
    }

    /// Adds the squares of observations to Σy².
    #[inline]
    pub fn add_squares(&mut self, sum_sq: i128) {
        self.sum_sq += sum_sq;
    }

    pub fn merge(&mut self, other: &ExactValues) {
        self.sum += other.sum;
        self.sum_sq += other.sum_sq;
        self.player_sum_sq += other.player_sum_sq;
        self.player_cross += other.player_cross;
        self.player_mean_sq += other.player_mean_sq;
    }

    /// The floating-point moments of the values in their own unit, with their `counts`, where
    /// one unit is `scale` integer steps (1000 for a latency kept in microseconds and reported in
    /// milliseconds; 1 for counts). The same sums always give the same bits.
    pub fn to_moments(&self, counts: &ExactCounts, scale: f64) -> Moments {
        let (s1, s2) = (scale, scale * scale);
        Moments {
            players: counts.players,
            count: counts.count,
            sum: self.sum as f64 / s1,
            sum_sq: self.sum_sq as f64 / s2,
            player_count_sq: counts.player_count_sq as f64,
            player_sum_sq: self.player_sum_sq as f64 / s2,
            player_cross: self.player_cross as f64 / s1,
            player_count_cube: counts.player_count_cube as f64,
            player_count_fourth: counts.player_count_fourth as f64,
            player_mean_sq: self.player_mean_sq as f64 / MEAN_SQ_UNIT / s2,
        }
    }
}

/// F(y, n) = y²/n in units of 2^−[`MEAN_SQ_BITS`]: computed in double precision, whose every
/// step is correctly rounded and so the same on every machine, then truncated toward zero; 0 for
/// a player with no observation. A division in floating point, where one in 128-bit integers would
/// cost the hot loop a tenth of its speed.
#[inline]
pub fn mean_sq_term(y: i64, n: u32) -> i128 {
    if n == 0 {
        return 0;
    }
    let y = y as f64;
    let term = y * y / f64::from(n) * MEAN_SQ_UNIT;
    // The same truncation either way; the 64-bit one is one instruction.
    if term < I64_LIMIT { term as i64 as i128 } else { term as i128 }
}

/// 2^[`MEAN_SQ_BITS`].
const MEAN_SQ_UNIT: f64 = (1u64 << MEAN_SQ_BITS) as f64;

/// 2⁶³: below it a term converts through an `i64`.
const I64_LIMIT: f64 = 9_223_372_036_854_775_808.0;

/// The exact running sums of one metric over one cohort, in the value's integer unit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExactMoments {
    pub counts: ExactCounts,
    pub values: ExactValues,
}

impl ExactMoments {
    /// Adds one observation `value` for a player whose totals in this cohort so far are
    /// `player_count` observations summing to `player_sum`. The caller then updates the player's
    /// totals to (`player_count + 1`, `player_sum + value`).
    #[inline]
    pub fn observe(&mut self, player_count: u32, player_sum: i64, value: i64) {
        self.counts.observe(player_count);
        self.values.observe(player_count, player_sum, value);
    }

    /// Adds one player's totals: `count` observations summing to `sum`, whose squares sum to
    /// `sum_sq`. The same as observing them one by one, in any order.
    pub fn add_player(&mut self, count: u32, sum: i64, sum_sq: i128) {
        self.grow_player((0, 0), (count, sum));
        self.values.add_squares(sum_sq);
    }

    /// A player's totals grow from `from` to `to` (see [`ExactValues::grow`]).
    pub fn grow_player(&mut self, from: (u32, i64), to: (u32, i64)) {
        self.counts.grow(from.0, to.0);
        self.values.grow(from, to);
    }

    /// Adds the sums of a disjoint set of players.
    pub fn merge(&mut self, other: &ExactMoments) {
        self.counts.merge(&other.counts);
        self.values.merge(&other.values);
    }

    /// The floating-point moments (see [`ExactValues::to_moments`]).
    pub fn to_moments(&self, scale: f64) -> Moments {
        self.values.to_moments(&self.counts, scale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::VarianceModel;
    use proptest::prelude::*;

    /// Players' observations, each a list of integer values.
    fn players() -> impl Strategy<Value = Vec<Vec<i64>>> {
        prop::collection::vec(prop::collection::vec(0i64..2_000_000, 1..12), 1..20)
    }

    /// Observes every player's values in the order `order` gives (a list of player indices,
    /// each player's values in turn).
    fn observed(players: &[Vec<i64>], order: &[usize]) -> ExactMoments {
        let mut m = ExactMoments::default();
        let mut totals = vec![(0u32, 0i64); players.len()];
        let mut next = vec![0usize; players.len()];
        for &p in order {
            let v = players[p][next[p]];
            next[p] += 1;
            let (n, y) = totals[p];
            m.observe(n, y, v);
            totals[p] = (n + 1, y + v);
        }
        m
    }

    fn in_turn(players: &[Vec<i64>]) -> Vec<usize> {
        players.iter().enumerate().flat_map(|(i, v)| std::iter::repeat_n(i, v.len())).collect()
    }

    proptest! {
        /// Any interleaving of the players' sessions gives the same sums, and so do the players'
        /// totals added at once: what a judge of exported telemetry computes is what the
        /// simulator computed.
        #[test]
        fn the_sums_do_not_depend_on_the_order(players in players(), seed in any::<u64>()) {
            let mut order = in_turn(&players);
            let in_order = observed(&players, &order);
            // A deterministic shuffle from the seed.
            let mut state = seed | 1;
            for i in (1..order.len()).rev() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                order.swap(i, (state % (i as u64 + 1)) as usize);
            }
            prop_assert_eq!(observed(&players, &order), in_order);
            let mut totals = ExactMoments::default();
            for values in players.iter().rev() {
                let sum_sq = values.iter().map(|&v| i128::from(v) * i128::from(v)).sum();
                totals.add_player(values.len() as u32, values.iter().sum(), sum_sq);
            }
            prop_assert_eq!(totals, in_order);
        }

        /// The exact sums, scaled, are the floating-point ones to rounding.
        #[test]
        fn the_moments_are_the_floating_point_ones(players in players()) {
            let exact = observed(&players, &in_turn(&players)).to_moments(1000.0);
            let scaled: Vec<Vec<f64>> = players
                .iter()
                .map(|p| p.iter().map(|&v| v as f64 / 1000.0).collect())
                .collect();
            let float = Moments::from_players(scaled.iter().map(Vec::as_slice));
            prop_assert_eq!((exact.players, exact.count), (float.players, float.count));
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-6);
            for (a, b) in [
                (exact.sum, float.sum),
                (exact.sum_sq, float.sum_sq),
                (exact.player_count_sq, float.player_count_sq),
                (exact.player_sum_sq, float.player_sum_sq),
                (exact.player_cross, float.player_cross),
                (exact.player_count_cube, float.player_count_cube),
                (exact.player_count_fourth, float.player_count_fourth),
                (exact.player_mean_sq, float.player_mean_sq),
            ] {
                prop_assert!(close(a, b), "{} against {}", a, b);
            }
            let (ve, vf) = (
                exact.variance_of_mean(VarianceModel::Clustered),
                float.variance_of_mean(VarianceModel::Clustered),
            );
            prop_assert_eq!(ve.is_some(), vf.is_some());
            if let (Some(ve), Some(vf)) = (ve, vf) {
                prop_assert!((ve - vf).abs() <= 1e-6 * vf.abs() + 1e-15, "{} against {}", ve, vf);
            }
        }
    }

    #[test]
    fn a_players_term_is_its_mean_square_in_fixed_point() {
        let unit = 1i128 << MEAN_SQ_BITS;
        assert_eq!(mean_sq_term(3, 2), 9 * unit / 2, "4.5 is exact");
        assert_eq!(mean_sq_term(1, 3), unit / 3, "a third, truncated");
        assert_eq!(mean_sq_term(-2, 1), 4 * unit);
        assert_eq!(mean_sq_term(7, 0), 0, "no observation, no term");
        // The largest total: to double precision.
        let big = MAX_PLAYER_SUM - 1;
        let exact = i128::from(big) * i128::from(big) * unit;
        assert!((mean_sq_term(big, 1) - exact).abs() <= exact >> 50);
        assert!(mean_sq_term(big, 1) > 0, "no overflow");
    }

    #[test]
    fn merged_sums_are_the_sums_of_both() {
        let mut a = ExactMoments::default();
        a.observe(0, 0, 5);
        a.observe(1, 5, 7);
        let mut b = ExactMoments::default();
        b.add_player(3, 9, 35);
        let mut both = a;
        both.merge(&b);
        let mut expected = ExactMoments::default();
        expected.add_player(2, 12, 74);
        expected.add_player(3, 9, 35);
        assert_eq!(both, expected);
        assert_eq!(both.to_moments(1.0).mean(), Some(21.0 / 5.0));
    }
}
