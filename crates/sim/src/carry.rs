//! What players carry from one exposure of a build into the next.
//!
//! A guardrail compares the treatment with the holdback stage by stage, and the same players play
//! in many stages. Clustering its variance by player across stages needs, for every player, the
//! weight of their sessions in the stages so far (see [`rollcage_stats::contrast`]): Σ cₛ·nᵢₛ
//! over the closed stages, each stage's share cₛ fixed when its exposure ends. [`Carries`] keeps
//! it per player, adds it to the telemetry's [`Carried`](rollcage_stats::Carried) sums as
//! observations report, and updates it from each exposure's final telemetry when the next
//! exposure of the same build begins.
//!
//! A carry counts observations, so every metric a session reports shares one (their counts and
//! shares are the same); next-day returns, observed a day late, have their own. Each has one carry
//! weighted as a comparison over every cell weighs the strata, and, when telemetry has segment
//! cells, one weighted as a comparison within the player's cell does.
//!
//! Carries are kept in fixed point, in units of 2^−[`CARRY_BITS`]: each stratum's share is
//! rounded to that unit once, and a carry is then a sum of integers, the same in any order.

use rollcage_policy::{Cohort, MAX_CELLS, Metric, Telemetry};
use rollcage_stats::{VarianceModel, shares};

use crate::sums::{CARRY_BITS, Carry, Keep, PLAYED_METRICS};

/// One player's observation counts in the exposure that is ending.
pub struct Totals {
    pub cell: usize,
    /// The comparison the player's sessions weigh in, and how many: the treatment when they
    /// reported any there, else the holdback when they reported any there.
    pub sessions: Option<(Cohort, u32)>,
    /// The same for next-day returns.
    pub returns: Option<(Cohort, u32)>,
}

/// Every player's carries, players numbered from 0.
pub struct Carries {
    /// Per player, `stride` numbers: for sessions, then returns (each when carried), the carry
    /// over every cell, then, with cells, the carry within the player's cell.
    values: Vec<u64>,
    /// Whether sessions and returns are carried.
    sessions: bool,
    returns: bool,
    levels: usize,
    stride: usize,
}

impl Carries {
    /// The carries of `players` players in telemetry that keeps what `keep` says.
    pub fn new(keep: Keep, players: usize) -> Carries {
        let sessions = PLAYED_METRICS.iter().any(|&m| keep.carried(m));
        let returns = keep.carried(Metric::ReturnRate);
        let levels = if keep.in_cells { 2 } else { 1 };
        let stride = (usize::from(sessions) + usize::from(returns)) * levels;
        Carries { values: vec![0; players * stride], sessions, returns, levels, stride }
    }

    /// Makes room for `players` players (more players than before carry nothing yet).
    pub fn grow_to(&mut self, players: usize) {
        if players * self.stride > self.values.len() {
            self.values.resize(players * self.stride, 0);
        }
    }

    /// Whether nothing is carried.
    pub fn is_empty(&self) -> bool {
        self.stride == 0
    }

    /// Where `player`'s carries are, for a prefetch.
    pub fn of(&self, player: usize) -> Option<&u64> {
        self.values.get(player * self.stride)
    }

    /// What `player`'s sessions carry (nothing when sessions carry nothing).
    #[inline]
    pub fn sessions(&self, player: usize) -> Carry {
        if !self.sessions { [0; 2] } else { self.at(player * self.stride) }
    }

    /// What `player`'s next-day returns carry (nothing when returns carry nothing).
    #[inline]
    pub fn returns(&self, player: usize) -> Carry {
        if !self.returns {
            return [0; 2];
        }
        self.at(player * self.stride + usize::from(self.sessions) * self.levels)
    }

    #[inline]
    fn at(&self, at: usize) -> Carry {
        let carries = &self.values[at..][..self.levels];
        [carries[0], if self.levels == 2 { carries[1] } else { 0 }]
    }

    /// The build's exposures start over (a new build, a kill, or nothing exposed): nobody carries
    /// anything.
    pub fn reset(&mut self) {
        self.values.fill(0);
    }

    /// The exposure whose final telemetry is `ending` is over and the next exposure of the same
    /// build begins: every player adds the weight of their observations in it. `players` gives
    /// every player's counts in it, in player order; `live_cells` the cells still live (bit c for
    /// cell c), which a comparison over every cell weighs, as the policy does.
    pub fn close(
        &mut self,
        ending: &Telemetry,
        live_cells: u32,
        players: impl Iterator<Item = Totals>,
    ) {
        if self.is_empty() {
            return;
        }
        // Every session metric has the crash rate's counts (every session reports a crash).
        let kinds: Vec<Metric> =
            [(self.sessions, Metric::CrashRate), (self.returns, Metric::ReturnRate)]
                .into_iter()
                .filter_map(|(carried, m)| carried.then_some(m))
                .collect();
        // The shares per (kind, level, cell): over every cell they are the same in each.
        let (treatment, holdback) =
            (ending.cohort(Cohort::Treatment), ending.cohort(Cohort::Holdback));
        let mut table: Vec<Option<[u64; 2]>> = Vec::with_capacity(self.stride * MAX_CELLS);
        let fixed = |shares: Option<[f64; 2]>| shares.map(|s| s.map(to_fixed));
        for &metric in &kinds {
            let everyone = fixed(shares(
                &treatment.metric_in(metric, live_cells),
                &holdback.metric_in(metric, live_cells),
                VarianceModel::Clustered,
            ));
            table.extend(std::iter::repeat_n(everyone, MAX_CELLS));
            if self.levels == 2 {
                table.extend((0..MAX_CELLS).map(|c| {
                    fixed(shares(
                        treatment.cell(c, metric),
                        holdback.cell(c, metric),
                        VarianceModel::Clustered,
                    ))
                }));
            }
        }
        let side = |cohort: Cohort| usize::from(cohort == Cohort::Holdback);
        let returns_at = usize::from(self.sessions);
        for (carries, totals) in self.values.chunks_exact_mut(self.stride).zip(players) {
            let mut add = |kind: usize, cohort: Cohort, n: u32| {
                for level in 0..self.levels {
                    let at = kind * self.levels + level;
                    if let Some(share) = table[at * MAX_CELLS + totals.cell] {
                        carries[at] += share[side(cohort)] * u64::from(n);
                    }
                }
            };
            if let (true, Some((cohort, n))) = (self.sessions, totals.sessions) {
                add(0, cohort, n);
            }
            if let (true, Some((cohort, n))) = (self.returns, totals.returns) {
                add(returns_at, cohort, n);
            }
        }
    }
}

/// A share in [0, 1] in units of 2^−[`CARRY_BITS`], rounded to the nearest.
fn to_fixed(share: f64) -> u64 {
    (share * (1u64 << CARRY_BITS) as f64).round() as u64
}
