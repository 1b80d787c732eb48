//! A telemetry pipeline's arithmetic: how players' totals become a [`Telemetry`] snapshot, the
//! same to the bit whoever adds them up and in whatever order.
//!
//! The world adds each session as it ends; a judge of exported telemetry adds each player's
//! totals window by window. Both grow an [`ExposureSums`] with the same calls: a player's totals in
//! a cohort grow from what they were to what they are ([`ExposureSums::grow_sessions`],
//! [`ExposureSums::grow_returns`]), and the squares of latencies and coins are added as they
//! come ([`ExposureSums::add_squares`]). Every sum is an integer ([`rollcage_stats::exact`], and carries in
//! fixed point), so the order of the players and of their windows does not matter, and
//! [`ExposureSums::write`] turns the same sums into the same floating-point snapshot.
//!
//! Values are integers: a crash, a save error or a return is 0 or 1, coins are whole, and a
//! latency is in whole microseconds ([`LATENCY_STEPS_PER_MS`]).

use rollcage_model::{Breakdown, WorldConfig};
use rollcage_policy::{Cohort, MAX_CELLS, Metric, Telemetry};
use rollcage_stats::{ExactCounts, ExactValues};

/// Microseconds in a millisecond: latency is reported in whole microseconds.
pub const LATENCY_STEPS_PER_MS: f64 = 1000.0;

/// A millisecond's share of a latency step, for a latency's histogram bin: a product, where a
/// quotient would cost the hot loop a division.
pub const MS_PER_LATENCY_STEP: f64 = 0.001;

/// The longest latency a session reports, in microseconds: the length of a run (twelve minutes).
/// A slower session is reported at this bound, which keeps every player's total within what the
/// exact sums hold (see [`rollcage_stats::exact`]).
pub const MAX_LATENCY_US: i64 = 12 * 60 * 1_000_000;

/// Fractional bits of a carry (see [`crate::carry`]): a carry is kept in units of 2⁻⁴⁰, so a
/// player may carry up to 2²⁴ observations in a `u64`.
pub const CARRY_BITS: u32 = 40;

/// The metrics a session reports when it ends (the return rate is reported a day later).
pub const PLAYED_METRICS: [Metric; 4] =
    [Metric::CrashRate, Metric::LatencyMs, Metric::CoinsPerRun, Metric::SaveErrorRate];

/// A player's sessions in one cohort of an exposure, added up: what one session reports, too.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SessionTotals {
    pub sessions: u32,
    pub crashes: u32,
    pub save_errors: u32,
    pub latency_us: i64,
    /// Coins gained, exploit coins included.
    pub coins: i64,
}

impl SessionTotals {
    /// The total of `metric`, one of [`PLAYED_METRICS`], in its integer unit.
    #[inline]
    pub fn of(&self, metric: Metric) -> i64 {
        match metric {
            Metric::CrashRate => i64::from(self.crashes),
            Metric::LatencyMs => self.latency_us,
            Metric::CoinsPerRun => self.coins,
            Metric::SaveErrorRate => i64::from(self.save_errors),
            Metric::ReturnRate => unreachable!("a return is reported a day after its session"),
        }
    }

    /// These totals and `more`'s.
    #[inline]
    pub fn plus(&self, more: &SessionTotals) -> SessionTotals {
        SessionTotals {
            sessions: self.sessions + more.sessions,
            crashes: self.crashes + more.crashes,
            save_errors: self.save_errors + more.save_errors,
            latency_us: self.latency_us + more.latency_us,
            coins: self.coins + more.coins,
        }
    }
}

/// A player's next-day return outcomes in one cohort of an exposure, added up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReturnTotals {
    /// Return outcomes reported.
    pub outcomes: u32,
    /// Of which the player came back.
    pub returned: u32,
}

/// What a player carries into this exposure (see [`crate::carry`]), in units of 2^−[`CARRY_BITS`]:
/// as a comparison over every cell weighs it, and as one within the player's cell does.
pub type Carry = [u64; 2];

/// What [`ExposureSums`] keeps, as the scenario's policy asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keep {
    /// The metrics a guardrail watches.
    pub watched: [bool; Metric::COUNT],
    /// Whether players carry their weight from one exposure into the next.
    pub carry: bool,
    /// How many segment cells telemetry has (1 without a breakdown).
    pub cells: usize,
    /// Whether telemetry is broken down into segment cells: carries are then also kept as a
    /// comparison within the player's cell weighs them.
    pub in_cells: bool,
}

impl Keep {
    /// What a world of `config` keeps: the metrics its policy's guardrails watch, carries when a
    /// guardrail clusters its variance, and its segment cells.
    pub fn of(config: &WorldConfig) -> Keep {
        Keep {
            watched: config.watched,
            carry: config.carry_players,
            cells: config.cell_count(),
            in_cells: config.breakdown != Breakdown::None,
        }
    }

    /// Whether `metric` is kept: the crash rate always (its count is the sessions'), the others
    /// when watched.
    pub fn kept(&self, metric: Metric) -> bool {
        metric == Metric::CrashRate || self.watched[metric.index()]
    }

    /// Whether `metric`'s observations carry their weight into the next exposure.
    pub fn carried(&self, metric: Metric) -> bool {
        self.carry && self.watched[metric.index()]
    }
}

/// One cohort's sums in one segment cell.
#[derive(Clone, Copy, Debug, Default)]
struct CellSums {
    /// Every session reports every played metric, so they share one set of counts.
    sessions: ExactCounts,
    /// The played metrics' values, in the order of [`PLAYED_METRICS`].
    played: [ExactValues; PLAYED_METRICS.len()],
    returns: ExactCounts,
    returned: ExactValues,
    /// Σ carry·n of sessions and of returns, as a comparison over every cell weighs the carries
    /// and as one within the player's cell does, in units of 2^−[`CARRY_BITS`].
    carried: [u128; 2],
    carried_returns: [u128; 2],
}

/// The current exposure's sums, per cohort and segment cell, in integers.
#[derive(Clone, Debug)]
pub struct ExposureSums {
    cells: [[CellSums; MAX_CELLS]; Cohort::COUNT],
    keep: Keep,
    /// Which of [`PLAYED_METRICS`] are kept.
    played: [bool; PLAYED_METRICS.len()],
}

impl ExposureSums {
    pub fn new(keep: Keep) -> ExposureSums {
        ExposureSums {
            cells: [[CellSums::default(); MAX_CELLS]; Cohort::COUNT],
            keep,
            played: PLAYED_METRICS.map(|m| keep.kept(m)),
        }
    }

    /// A new exposure begins: every sum starts over.
    pub fn clear(&mut self) {
        self.cells = [[CellSums::default(); MAX_CELLS]; Cohort::COUNT];
    }

    /// One session in `cell` of `cohort`, whose values are `session`, of a player carrying `carry`
    /// whose sessions in the exposure added up to `before`: the same as growing the player from
    /// `before` to `before` plus `session` and adding its squares.
    #[inline]
    pub fn observe_session(
        &mut self,
        cohort: Cohort,
        cell: usize,
        before: &SessionTotals,
        session: &SessionTotals,
        carry: Carry,
    ) {
        let sums = &mut self.cells[cohort.index()][cell];
        sums.sessions.observe(before.sessions);
        for (k, &metric) in PLAYED_METRICS.iter().enumerate() {
            if self.played[k] {
                sums.played[k].observe(before.sessions, before.of(metric), session.of(metric));
            }
        }
        if cohort != Cohort::Unexposed {
            sums.carried[0] += u128::from(carry[0]);
            sums.carried[1] += u128::from(carry[1]);
        }
    }

    /// A player in `cell` of `cohort`, carrying `carry`, whose sessions in the exposure added up to
    /// `from` now add up to `to`. The squares of latencies and coins are added apart
    /// ([`ExposureSums::add_squares`]); a 0 or 1 is its own square.
    pub fn grow_sessions(
        &mut self,
        cohort: Cohort,
        cell: usize,
        from: &SessionTotals,
        to: &SessionTotals,
        carry: Carry,
    ) {
        let sums = &mut self.cells[cohort.index()][cell];
        sums.sessions.grow(from.sessions, to.sessions);
        for (k, &metric) in PLAYED_METRICS.iter().enumerate() {
            if self.played[k] {
                let values = &mut sums.played[k];
                values.grow((from.sessions, from.of(metric)), (to.sessions, to.of(metric)));
                if matches!(metric, Metric::CrashRate | Metric::SaveErrorRate) {
                    values.add_squares(i128::from(to.of(metric) - from.of(metric)));
                }
            }
        }
        if cohort != Cohort::Unexposed {
            let added = u128::from(to.sessions - from.sessions);
            sums.carried[0] += u128::from(carry[0]) * added;
            sums.carried[1] += u128::from(carry[1]) * added;
        }
    }

    /// The squares of the latencies (in microseconds) and coins of sessions in `cell` of `cohort`.
    pub fn add_squares(&mut self, cohort: Cohort, cell: usize, latency_sq: i128, coins_sq: i128) {
        let sums = &mut self.cells[cohort.index()][cell];
        sums.played[1].add_squares(latency_sq);
        sums.played[2].add_squares(coins_sq);
    }

    /// The same as [`ExposureSums::grow_sessions`], for a player's next-day return outcomes.
    #[inline]
    pub fn grow_returns(
        &mut self,
        cohort: Cohort,
        cell: usize,
        from: &ReturnTotals,
        to: &ReturnTotals,
        carry: Carry,
    ) {
        let sums = &mut self.cells[cohort.index()][cell];
        let (y0, y1) = (i64::from(from.returned), i64::from(to.returned));
        sums.returns.grow(from.outcomes, to.outcomes);
        sums.returned.grow((from.outcomes, y0), (to.outcomes, y1));
        sums.returned.add_squares(i128::from(y1 - y0));
        if cohort != Cohort::Unexposed {
            let added = u128::from(to.outcomes - from.outcomes);
            sums.carried_returns[0] += u128::from(carry[0]) * added;
            sums.carried_returns[1] += u128::from(carry[1]) * added;
        }
    }

    /// Writes the sums into `snapshot`'s moments and carries, each metric in its reported unit.
    /// The snapshot's other fields (the assigned counts, the latency bins, its time) are left as
    /// they are.
    pub fn write(&self, snapshot: &mut Telemetry) {
        let unit = (1u64 << CARRY_BITS) as f64;
        let in_cells = self.keep.in_cells;
        for (c, cohort) in snapshot.cohorts.iter_mut().enumerate() {
            for cell in 0..self.keep.cells {
                let sums = &self.cells[c][cell];
                let mut put = |metric: Metric, moments, carried: [u128; 2]| {
                    let i = metric.index();
                    cohort.cells[cell][i] = moments;
                    if self.keep.carried(metric) {
                        cohort.carried[cell][i].weight = carried[0] as f64 / unit;
                        if in_cells {
                            cohort.carried_in_cell[cell][i].weight = carried[1] as f64 / unit;
                        }
                    }
                };
                for (k, &metric) in PLAYED_METRICS.iter().enumerate() {
                    if self.played[k] {
                        let moments = sums.played[k].to_moments(&sums.sessions, scale(metric));
                        put(metric, moments, sums.carried);
                    }
                }
                if self.keep.kept(Metric::ReturnRate) {
                    let moments = sums.returned.to_moments(&sums.returns, 1.0);
                    put(Metric::ReturnRate, moments, sums.carried_returns);
                }
            }
        }
    }
}

/// How many of a metric's integer steps make one of its reported units.
pub fn scale(metric: Metric) -> f64 {
    match metric {
        Metric::LatencyMs => LATENCY_STEPS_PER_MS,
        Metric::CrashRate | Metric::CoinsPerRun | Metric::ReturnRate | Metric::SaveErrorRate => 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A session: its player, cohort, and values (crashed, save error, latency, coins).
    type Session = (u32, usize, bool, bool, i64, i64);

    fn sessions() -> impl Strategy<Value = Vec<Session>> {
        let session =
            (0u32..12, 0usize..3, any::<bool>(), any::<bool>(), 1i64..5_000_000, 0i64..900);
        prop::collection::vec(session, 1..120)
    }

    fn values(s: &Session) -> SessionTotals {
        SessionTotals {
            sessions: 1,
            crashes: u32::from(s.2),
            save_errors: u32::from(s.3),
            latency_us: s.4,
            coins: s.5,
        }
    }

    const KEEP: Keep =
        Keep { watched: [true; Metric::COUNT], carry: true, cells: 2, in_cells: true };

    /// Each player's cell and carry.
    fn cell(player: u32) -> usize {
        (player % 2) as usize
    }
    fn carry(player: u32) -> Carry {
        [u64::from(player) << 38, u64::from(player) * 977]
    }

    proptest! {
        /// What the world adds session by session, a judge adding each player's totals window by
        /// window gets to the bit, whatever order either goes in.
        #[test]
        fn sessions_one_by_one_and_windows_of_totals_give_the_same_snapshot(
            sessions in sessions(),
            windows in 1usize..5,
            reverse in any::<bool>(),
        ) {
            let cohort = |s: &Session| Cohort::ALL[s.1];
            let mut world = ExposureSums::new(KEEP);
            let mut totals = std::collections::BTreeMap::<(u32, usize), SessionTotals>::new();
            for s in &sessions {
                let before = totals.entry((s.0, s.1)).or_default();
                world.observe_session(cohort(s), cell(s.0), before, &values(s), carry(s.0));
                *before = before.plus(&values(s));
            }
            // The same sessions cut into windows, each player's window added up, the windows
            // and the players in another order.
            let per_window = sessions.len().div_ceil(windows);
            let mut rows = Vec::new();
            for (w, chunk) in sessions.chunks(per_window).enumerate() {
                let mut window = std::collections::BTreeMap::<(u32, usize), (SessionTotals, [i128; 2])>::new();
                for s in chunk {
                    let row = window.entry((s.0, s.1)).or_default();
                    row.0 = row.0.plus(&values(s));
                    row.1[0] += i128::from(s.4) * i128::from(s.4);
                    row.1[1] += i128::from(s.5) * i128::from(s.5);
                }
                rows.extend(window.into_iter().map(|(k, v)| (w, k, v)));
            }
            if reverse {
                rows.reverse();
                // Windows stay in order for a player: a player's totals grow window by window.
                rows.sort_by_key(|&(w, _, _)| w);
            }
            let mut judge = ExposureSums::new(KEEP);
            let mut grown = std::collections::BTreeMap::<(u32, usize), SessionTotals>::new();
            for (_, (player, c), (row, squares)) in rows {
                let from = grown.entry((player, c)).or_default();
                let to = from.plus(&row);
                judge.grow_sessions(Cohort::ALL[c], cell(player), from, &to, carry(player));
                judge.add_squares(Cohort::ALL[c], cell(player), squares[0], squares[1]);
                *from = to;
            }
            let (mut a, mut b) = (Telemetry::default(), Telemetry::default());
            world.write(&mut a);
            judge.write(&mut b);
            prop_assert_eq!(a, b);
        }
    }

    /// One treatment session of a player carrying 1 over every cell and 2 within their cell, and
    /// one return outcome, under `keep`.
    fn one_session(keep: Keep) -> Telemetry {
        let mut sums = ExposureSums::new(keep);
        let session = SessionTotals {
            sessions: 1,
            crashes: 1,
            save_errors: 0,
            latency_us: 80_000,
            coins: 40,
        };
        let carry = [1 << CARRY_BITS, 2 << CARRY_BITS];
        sums.observe_session(Cohort::Treatment, 0, &SessionTotals::default(), &session, carry);
        let outcome = ReturnTotals { outcomes: 1, returned: 1 };
        sums.grow_returns(Cohort::Treatment, 0, &ReturnTotals::default(), &outcome, carry);
        let mut t = Telemetry::default();
        sums.write(&mut t);
        t
    }

    #[test]
    fn only_watched_metrics_are_kept_and_only_when_players_carry_do_they_carry() {
        let mut watched = [false; Metric::COUNT];
        watched[Metric::LatencyMs.index()] = true;
        watched[Metric::ReturnRate.index()] = true;
        let t = one_session(Keep { watched, carry: true, cells: 2, in_cells: true });
        let treatment = t.cohort(Cohort::Treatment);
        let at = |m: Metric| treatment.cells[0][m.index()];
        assert_eq!(at(Metric::CrashRate).count, 1, "the crash rate always counts the sessions");
        assert_eq!(at(Metric::LatencyMs).mean(), Some(80.0), "in milliseconds");
        assert_eq!(at(Metric::CoinsPerRun), Default::default(), "coins are not watched");
        assert_eq!(at(Metric::SaveErrorRate), Default::default());
        assert_eq!(at(Metric::ReturnRate).count, 1);
        let carried = |m: Metric| treatment.carried[0][m.index()].weight;
        let in_cell = |m: Metric| treatment.carried_in_cell[0][m.index()].weight;
        assert_eq!((carried(Metric::LatencyMs), in_cell(Metric::LatencyMs)), (1.0, 2.0));
        assert_eq!((carried(Metric::ReturnRate), in_cell(Metric::ReturnRate)), (1.0, 2.0));
        assert_eq!(
            (carried(Metric::CrashRate), in_cell(Metric::CrashRate)),
            (0.0, 0.0),
            "kept, not watched"
        );
        // Without a breakdown, nothing is carried within a cell; without carries, nothing at all.
        let t = one_session(Keep { watched, carry: true, cells: 1, in_cells: false });
        let treatment = t.cohort(Cohort::Treatment);
        assert_eq!(treatment.carried[0][Metric::LatencyMs.index()].weight, 1.0);
        assert_eq!(treatment.carried_in_cell[0][Metric::LatencyMs.index()].weight, 0.0);
        assert_eq!(treatment.carried_in_cell[0][Metric::ReturnRate.index()].weight, 0.0);
        // A breakdown into a single cell still keeps carries within it.
        let t = one_session(Keep { watched, carry: true, cells: 1, in_cells: true });
        let treatment = t.cohort(Cohort::Treatment);
        assert_eq!(treatment.carried_in_cell[0][Metric::LatencyMs.index()].weight, 2.0);
        // Two outcomes at once carry twice over, within the cell too.
        let mut sums = ExposureSums::new(Keep { watched, carry: true, cells: 2, in_cells: true });
        let two = ReturnTotals { outcomes: 2, returned: 1 };
        let carry = [1 << CARRY_BITS, 2 << CARRY_BITS];
        sums.grow_returns(Cohort::Treatment, 1, &ReturnTotals::default(), &two, carry);
        let mut t = Telemetry::default();
        sums.write(&mut t);
        let treatment = t.cohort(Cohort::Treatment);
        assert_eq!(treatment.carried[1][Metric::ReturnRate.index()].weight, 2.0);
        assert_eq!(treatment.carried_in_cell[1][Metric::ReturnRate.index()].weight, 4.0);
        let t = one_session(Keep { watched, carry: false, cells: 2, in_cells: true });
        let treatment = t.cohort(Cohort::Treatment);
        assert_eq!(treatment.carried[0][Metric::LatencyMs.index()].weight, 0.0);
        assert_eq!(treatment.carried[0][Metric::ReturnRate.index()].weight, 0.0);
    }

    #[test]
    fn the_longest_reported_latency_is_a_run() {
        assert_eq!(MAX_LATENCY_US, 720_000_000, "twelve minutes, in microseconds");
    }

    #[test]
    fn returns_grown_at_once_or_one_by_one_are_the_same() {
        let keep = Keep { watched: [true; Metric::COUNT], carry: true, cells: 1, in_cells: false };
        let (mut one, mut all) = (ExposureSums::new(keep), ExposureSums::new(keep));
        let outcomes = [true, false, true, true];
        let mut before = ReturnTotals::default();
        for &returned in &outcomes {
            let after = ReturnTotals {
                outcomes: before.outcomes + 1,
                returned: before.returned + u32::from(returned),
            };
            one.grow_returns(Cohort::Treatment, 0, &before, &after, [3 << 39, 0]);
            before = after;
        }
        all.grow_returns(Cohort::Treatment, 0, &ReturnTotals::default(), &before, [3 << 39, 0]);
        let (mut a, mut b) = (Telemetry::default(), Telemetry::default());
        one.write(&mut a);
        all.write(&mut b);
        assert_eq!(a, b);
        let returns = a.cohort(Cohort::Treatment).metric(Metric::ReturnRate);
        assert_eq!((returns.count, returns.sum, returns.sum_sq), (4, 3.0, 3.0));
        // Four outcomes, each carrying 1.5.
        assert_eq!(a.cohort(Cohort::Treatment).carried[0][Metric::ReturnRate.index()].weight, 6.0);
    }
}
