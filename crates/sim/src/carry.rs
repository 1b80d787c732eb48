//! What players carry from one exposure of a build into the next.
//!
//! A guardrail compares the treatment with the holdback stage by stage, and the same players play
//! in many stages. Clustering its variance by player across stages needs, for every player, the
//! sum of their influences on the stages so far (see [`rollcage_stats::contrast`]): a number fixed
//! when a stage's exposure ends. [`Carries`] keeps it per player and carried metric, adds it to
//! the telemetry's [`Carried`](rollcage_stats::Carried) sums as sessions report, and updates it
//! from each exposure's final telemetry when the next exposure of the same build begins.
//!
//! Each metric has one carry weighted as a comparison over every cell weighs the strata, and, when
//! telemetry has segment cells, one weighted as a comparison within the player's cell does.

use rollcage_policy::{Cohort, CohortTelemetry, MAX_CELLS, Metric, Telemetry};
use rollcage_stats::{Influence, VarianceModel, influences};

use crate::config::{Breakdown, WorldConfig};

/// One player's telemetry totals in the exposure that is ending.
pub(crate) struct Totals {
    pub cell: usize,
    /// The cohort the player's sessions reported in (when the treatment or the holdback), their
    /// count, and their totals of the session values.
    pub sessions: Option<(Cohort, f64, [f64; 4])>,
    /// The same for next-day returns: cohort, returns observed, and how many came back.
    pub returns: Option<(Cohort, f64, f64)>,
}

pub(crate) struct Carries {
    /// Per player, `stride` numbers: for each carried metric its carry over every cell, then, with
    /// cells, its carry within the player's cell.
    values: Vec<f64>,
    /// The carried metrics that sessions report, with their index among a session's values.
    played: Vec<(Metric, usize)>,
    /// Whether the return rate is carried, and its position among a player's metrics.
    returns: Option<usize>,
    levels: usize,
    stride: usize,
}

impl Carries {
    /// `session_metrics` lists the metrics a session reports, in the order of its values.
    pub fn new(config: &WorldConfig, players: usize, session_metrics: &[Metric]) -> Carries {
        let wanted = |m: Metric| config.carry_players && config.watched[m.index()];
        let played: Vec<(Metric, usize)> = session_metrics
            .iter()
            .enumerate()
            .filter(|&(_, &m)| wanted(m))
            .map(|(i, &m)| (m, i))
            .collect();
        let returns = wanted(Metric::ReturnRate).then_some(played.len());
        let levels = if config.breakdown == Breakdown::None { 1 } else { 2 };
        let stride = (played.len() + usize::from(returns.is_some())) * levels;
        Carries { values: vec![0.0; players * stride], played, returns, levels, stride }
    }

    /// Whether nothing is carried.
    pub fn is_empty(&self) -> bool {
        self.stride == 0
    }

    /// Where `player`'s carries are, for a prefetch.
    pub fn of(&self, player: usize) -> Option<&f64> {
        self.values.get(player * self.stride)
    }

    /// Adds a session of `player`, in `cell` of `cohort`'s telemetry, with its values.
    #[inline]
    pub fn observe_session(
        &self,
        player: usize,
        cell: usize,
        cohort: &mut CohortTelemetry,
        values: &[f64; 4],
    ) {
        for (j, &(metric, value)) in self.played.iter().enumerate() {
            self.observe(player, j, metric, cell, cohort, values[value]);
        }
    }

    /// Adds a next-day return observation of `player`.
    #[inline]
    pub fn observe_return(
        &self,
        player: usize,
        cell: usize,
        cohort: &mut CohortTelemetry,
        value: f64,
    ) {
        if let Some(j) = self.returns {
            self.observe(player, j, Metric::ReturnRate, cell, cohort, value);
        }
    }

    /// Adds one observation of carried metric `j` (`metric`) to the sums of every level.
    #[inline]
    fn observe(
        &self,
        player: usize,
        j: usize,
        metric: Metric,
        cell: usize,
        cohort: &mut CohortTelemetry,
        value: f64,
    ) {
        let carries = &self.values[player * self.stride + j * self.levels..][..self.levels];
        cohort.carried[cell][metric.index()].observe(carries[0], value);
        if self.levels == 2 {
            cohort.carried_in_cell[cell][metric.index()].observe(carries[1], value);
        }
    }

    /// The build's exposures start over (a new build, a kill, or nothing exposed): nobody carries
    /// anything.
    pub fn reset(&mut self) {
        self.values.fill(0.0);
    }

    /// The exposure whose final telemetry is `ending` is over and the next exposure of the same
    /// build begins: every player adds their influence on it. `players` gives every player's totals
    /// in it, in player order.
    pub fn close(&mut self, ending: &Telemetry, players: impl Iterator<Item = Totals>) {
        if self.is_empty() {
            return;
        }
        let metrics: Vec<Metric> = self
            .played
            .iter()
            .map(|&(m, _)| m)
            .chain(self.returns.map(|_| Metric::ReturnRate))
            .collect();
        // The influences per (metric, level, cell): over every cell they are the same in each.
        let (treatment, holdback) =
            (ending.cohort(Cohort::Treatment), ending.cohort(Cohort::Holdback));
        let mut table: Vec<Option<[Influence; 2]>> = Vec::with_capacity(self.stride * MAX_CELLS);
        for &metric in &metrics {
            let everyone = influences(
                &treatment.metric(metric),
                &holdback.metric(metric),
                VarianceModel::Clustered,
            );
            table.extend(std::iter::repeat_n(everyone, MAX_CELLS));
            if self.levels == 2 {
                table.extend((0..MAX_CELLS).map(|c| {
                    influences(
                        treatment.cell(c, metric),
                        holdback.cell(c, metric),
                        VarianceModel::Clustered,
                    )
                }));
            }
        }
        let side = |cohort: Cohort| usize::from(cohort == Cohort::Holdback);
        for (carries, totals) in self.values.chunks_exact_mut(self.stride).zip(players) {
            let mut add = |j: usize, cohort: Cohort, n: f64, y: f64| {
                for level in 0..self.levels {
                    let at = j * self.levels + level;
                    if let Some(influence) = table[at * MAX_CELLS + totals.cell] {
                        carries[at] += influence[side(cohort)].of(n, y);
                    }
                }
            };
            if let Some((cohort, n, y)) = totals.sessions {
                for (j, &(_, value)) in self.played.iter().enumerate() {
                    add(j, cohort, n, y[value]);
                }
            }
            if let (Some(j), Some((cohort, n, y))) = (self.returns, totals.returns) {
                add(j, cohort, n, y);
            }
        }
    }
}
