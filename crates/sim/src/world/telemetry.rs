//! Telemetry: a session reports when it ends and its next-day return a day later, into the
//! snapshot of the current exposure, per cohort and segment cell, with the per-player sums the
//! policy's clustered variances need and what players carry from one exposure into the next.
//!
//! Every sum is kept in integers ([`ExposureSums`]): a session adds to them at once, with the
//! player's running totals in their slot, and each advance writes them into the snapshot. So the
//! sums come out the same, to the bit, as a judge adding the players' exported window totals in
//! any order gets.
//!
//! A player's totals are per cohort of the exposure: a player whose sessions move between cohorts
//! (a client that fetches the new flags mid-exposure, or a forgetful assignment) keeps a total in
//! each, the one not in the slot held aside until the player comes back to it or the exposure
//! ends.

use std::collections::BTreeMap;

use rand::RngExt;
use rollcage_policy::Cohort;
use rollcage_stats::rank::bin_of;

use super::sessions::cohort_of;
use super::{MARKS, World};
use crate::carry::Totals;
use crate::export::add_to_bin;
use crate::flags::FlagState;
use crate::sums::{MS_PER_LATENCY_STEP, ReturnTotals, SessionTotals};

/// A tally's key: the exposure it counts in, and its cohort.
#[inline]
fn tally_key(epoch: u32, cohort: Cohort) -> u32 {
    (epoch << 2) | cohort as u32
}

fn key_cohort(key: u32) -> Cohort {
    Cohort::ALL[(key & 3) as usize]
}

/// Players' totals (of sessions, or of returns) in the current exposure that are not in their
/// slots, because their last report was in another cohort.
#[derive(Debug)]
pub(super) struct Aside<T>(BTreeMap<(u32, Cohort), T>);

impl<T> Default for Aside<T> {
    fn default() -> Self {
        Aside(BTreeMap::new())
    }
}

impl<T: Copy + Default> Aside<T> {
    /// A player's report in `cohort` finds the slot's tally (`key`, `totals`) counting elsewhere:
    /// in an earlier exposure, or in another cohort of this one, which is then held aside.
    /// Afterwards the tally counts the player's totals in `cohort` of exposure `epoch`.
    #[cold]
    #[inline(never)]
    fn switch(
        &mut self,
        player: u32,
        cohort: Cohort,
        (key, totals): (&mut u32, &mut T),
        epoch: u32,
    ) {
        if *key >> 2 == epoch {
            self.0.insert((player, key_cohort(*key)), *totals);
            *totals = self.0.remove(&(player, cohort)).unwrap_or_default();
        } else {
            *totals = T::default();
        }
        *key = tally_key(epoch, cohort);
    }

    /// The player's totals in `cohort` held aside, if any.
    fn get(&self, player: u32, cohort: Cohort) -> Option<T> {
        self.0.get(&(player, cohort)).copied()
    }

    /// The exposure is over: every total starts over.
    pub(super) fn clear(&mut self) {
        self.0.clear();
    }
}

/// A session that ended after the last snapshot was taken.
#[derive(Clone, Copy, Debug)]
pub(super) struct Ended {
    pub(super) player: u32,
    pub(super) cohort: Cohort,
    pub(super) build: u16,
    pub(super) values: SessionTotals,
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
        if !current.continued_by(&next) {
            self.carries.reset();
            return;
        }
        let epoch = self.epoch;
        // A player's count in the treatment if any, else in the holdback, of the exposure ending.
        let compared = |key: u32, count: u32, aside: &dyn Fn(Cohort) -> Option<u32>| {
            let in_slot = (key >> 2 == epoch).then(|| key_cohort(key));
            [Cohort::Treatment, Cohort::Holdback]
                .into_iter()
                .map(|c| (c, if in_slot == Some(c) { Some(count) } else { aside(c) }))
                .find_map(|(c, n)| n.filter(|&n| n > 0).map(|n| (c, n)))
        };
        let (sessions, returns) = (&self.aside, &self.returns_aside);
        let players = self.slots.iter().enumerate().map(|(i, slot)| {
            let i = i as u32;
            Totals {
                cell: usize::from(slot.cell),
                sessions: compared(slot.key, slot.count, &|c| {
                    sessions.get(i, c).map(|t| t.sessions)
                }),
                returns: compared(slot.return_key, slot.return_count, &|c| {
                    returns.get(i, c).map(|t| t.outcomes)
                }),
            }
        });
        self.carries.close(&self.snapshot, current.live_cells(), players);
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
            if let Some(recorder) = &mut self.recorder {
                recorder.row(index as u32, cohort, slot.cell).assigned = true;
            }
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
            let mut totals = slot.totals();
            self.aside.switch(e.player, e.cohort, (&mut slot.key, &mut totals), self.epoch);
            slot.set_totals(totals);
        }
        let cell = usize::from(slot.cell);
        let before = slot.totals();
        slot.set_totals(before.plus(&e.values));
        let histogram = self.config.latency_histogram;
        let bin =
            if histogram { bin_of(e.values.latency_us as f64 * MS_PER_LATENCY_STEP) } else { 0 };
        if histogram {
            self.snapshot.cohorts[e.cohort.index()].latency[bin] += 1;
        }
        let carry = self.carries.sessions(e.player as usize);
        self.sums.observe_session(e.cohort, cell, &before, &e.values, carry);
        if let Some(recorder) = &mut self.recorder {
            let row = recorder.row(e.player, e.cohort, cell as u8);
            row.build = e.build;
            row.sessions = row.sessions.plus(&e.values);
            let (latency, coins) = (i128::from(e.values.latency_us), i128::from(e.values.coins));
            row.squares[0] += latency * latency;
            row.squares[1] += coins * coins;
            if histogram {
                add_to_bin(&mut row.latency_bins, bin as u16);
            }
        }
    }

    pub(super) fn record_return(&mut self, r: Return) {
        if !self.reporting {
            return;
        }
        let key = tally_key(self.epoch, r.cohort);
        let slot = &mut self.slots[r.player as usize];
        if slot.return_key != key {
            let mut totals = slot.return_totals();
            self.returns_aside.switch(
                r.player,
                r.cohort,
                (&mut slot.return_key, &mut totals),
                self.epoch,
            );
            slot.set_return_totals(totals);
        }
        let before = slot.return_totals();
        let after = ReturnTotals {
            outcomes: before.outcomes + 1,
            returned: before.returned + u32::from(r.returned),
        };
        slot.set_return_totals(after);
        let carry = self.carries.returns(r.player as usize);
        self.sums.grow_returns(r.cohort, usize::from(slot.cell), &before, &after, carry);
        if let Some(recorder) = &mut self.recorder {
            let row = recorder.row(r.player, r.cohort, slot.cell);
            row.returns.outcomes += 1;
            row.returns.returned += u32::from(r.returned);
        }
    }
}
