//! Telemetry: a session reports when it ends and its next-day return a day later, into the
//! snapshot of the current exposure, per cohort and segment cell, with the per-player sums the
//! policy's clustered variances need and what players carry from one exposure into the next.

use rand::RngExt;
use rollcage_policy::{Cohort, Metric};
use rollcage_stats::rank::bin_of;

use super::sessions::cohort_of;
use super::{MARKS, World};
use crate::carry::Totals;
use crate::flags::{FlagState, NOTHING_EXPOSED};

/// The metrics a session's outcome reports when it ends (the return rate is reported a day later).
pub(super) const PLAYED_METRICS: [Metric; 4] =
    [Metric::CrashRate, Metric::LatencyMs, Metric::CoinsPerRun, Metric::SaveErrorRate];

/// What one session reports of each played metric, or what a player's sessions add up to.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(super) struct SessionValues {
    /// 1 if the session crashed.
    pub(super) crash: f64,
    pub(super) latency_ms: f64,
    /// Coins gained, exploit coins included.
    pub(super) coins: f64,
    /// 1 if the save failed to load.
    pub(super) save_error: f64,
}

impl SessionValues {
    /// The value of `metric`, one of [`PLAYED_METRICS`].
    #[inline]
    pub(super) fn of(self, metric: Metric) -> f64 {
        match metric {
            Metric::CrashRate => self.crash,
            Metric::LatencyMs => self.latency_ms,
            Metric::CoinsPerRun => self.coins,
            Metric::SaveErrorRate => self.save_error,
            Metric::ReturnRate => unreachable!("a return is reported a day after its session"),
        }
    }
}

fn tally_key(epoch: u32, cohort: Cohort) -> u32 {
    (epoch << 2) | cohort as u32
}

/// A session that ended after the last snapshot was taken.
#[derive(Clone, Copy, Debug)]
pub(super) struct Ended {
    pub(super) player: u32,
    pub(super) cohort: Cohort,
    pub(super) build: u16,
    pub(super) values: SessionValues,
    /// What the run brings the save, if it completed.
    pub(super) completed: Option<RunGains>,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct RunGains {
    pub(super) coins: i64,
    pub(super) item: bool,
    pub(super) exploit: i64,
    pub(super) flagged: i64,
}

/// A next-day return, known at `at`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Return {
    pub(super) at: u32,
    pub(super) player: u32,
    pub(super) cohort: Cohort,
    pub(super) returned: bool,
}

impl World<'_> {
    /// Before the flags change to `next`: when the same build goes on to a wider exposure, every
    /// player carries their influence on the exposure ending into the next; otherwise the
    /// comparisons start over and nobody carries anything.
    pub(super) fn carry_forward(&mut self, next: FlagState) {
        if self.carries.is_empty() {
            return;
        }
        let (_, current) = self.flags.current();
        let continues = next.build == current.build
            && next.build != NOTHING_EXPOSED.build
            && next.share >= current.share
            && next.killed_features == current.killed_features
            && next.killed_cells == current.killed_cells;
        if !continues {
            self.carries.reset();
            return;
        }
        let cohort_of_key = |key: u32| {
            [Cohort::Treatment, Cohort::Holdback]
                .into_iter()
                .find(|&c| key == tally_key(self.epoch, c))
        };
        let players = self.slots.iter().map(|slot| Totals {
            cell: usize::from(slot.cell),
            sessions: cohort_of_key(slot.key).map(|c| (c, f64::from(slot.count))),
            returns: cohort_of_key(slot.return_key).map(|c| (c, f64::from(slot.return_count))),
        });
        let live_cells = rollcage_policy::ALL_CELLS & !current.killed_cells;
        self.carries.close(&self.snapshot, live_cells, players);
    }

    /// The current exposure's assignment mark.
    pub(super) fn mark(&self) -> u8 {
        (self.epoch % MARKS + 1) as u8
    }

    /// Counts player `index` as assigned to the exposure (`assigned`) or not, once per exposure:
    /// the counts a sample-ratio check compares with the assignment's promise.
    #[inline(always)]
    pub(super) fn count_assigned(&mut self, index: usize, assigned: bool, holdback: bool) {
        let mark = self.mark();
        let slot = &mut self.slots[index];
        if slot.assigned_mark != mark {
            slot.assigned_mark = mark;
            let cohort = cohort_of(assigned, holdback);
            self.snapshot.cohorts[cohort.index()].assigned[usize::from(slot.cell)] += 1;
        }
    }

    #[inline]
    pub(super) fn record(&mut self, e: Ended) {
        if let Some(gains) = e.completed {
            self.saves[e.player as usize].complete_run(
                gains.coins,
                gains.item,
                gains.exploit,
                gains.flagged,
            );
        }
        if !self.reporting {
            return;
        }
        self.report(&e);
        let duplicate = self.config.observation.duplicate;
        if duplicate > 0.0 && e.cohort == Cohort::Treatment {
            let u: f64 = self.observation_rng.random();
            if u < duplicate {
                self.report(&e);
            }
        }
    }

    /// Adds a session's outcome to the telemetry.
    #[inline]
    fn report(&mut self, e: &Ended) {
        let key = tally_key(self.epoch, e.cohort);
        let slot = &mut self.slots[e.player as usize];
        if slot.key != key {
            (slot.key, slot.count, slot.crashes, slot.errors, slot.sums) = (key, 0, 0, 0, [0.0; 2]);
        }
        let cohort = &mut self.snapshot.cohorts[e.cohort.index()];
        if self.config.latency_histogram {
            cohort.latency[bin_of(e.values.latency_ms)] += 1;
        }
        if e.cohort != Cohort::Unexposed && !self.carries.is_empty() {
            self.carries.observe_session(e.player as usize, usize::from(slot.cell), cohort);
        }
        let metrics = &mut cohort.cells[usize::from(slot.cell)];
        let n = slot.count;
        let totals = slot.totals();
        for metric in PLAYED_METRICS {
            if metric == Metric::CrashRate || self.config.watched[metric.index()] {
                metrics[metric.index()].observe(n, totals.of(metric), e.values.of(metric));
            }
        }
        slot.count += 1;
        slot.crashes += e.values.crash as u32;
        slot.sums[0] += e.values.latency_ms;
        slot.sums[1] += e.values.coins;
        slot.errors += e.values.save_error as u32;
    }

    pub(super) fn record_return(&mut self, r: Return) {
        if !self.reporting {
            return;
        }
        let key = tally_key(self.epoch, r.cohort);
        let slot = &mut self.slots[r.player as usize];
        if slot.return_key != key {
            (slot.return_key, slot.return_count, slot.returned) = (key, 0, 0);
        }
        let value = if r.returned { 1.0 } else { 0.0 };
        let cohort = &mut self.snapshot.cohorts[r.cohort.index()];
        if r.cohort != Cohort::Unexposed {
            self.carries.observe_return(r.player as usize, usize::from(slot.cell), cohort);
        }
        cohort.cells[usize::from(slot.cell)][Metric::ReturnRate.index()].observe(
            slot.return_count,
            f64::from(slot.returned),
            value,
        );
        slot.return_count += 1;
        slot.returned += u32::from(r.returned);
    }
}
