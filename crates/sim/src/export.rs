//! What a run's telemetry pipeline would export: each player's reports per telemetry window, and
//! each change of the flags (the exposure log). A world records them only when asked
//! ([`crate::World::record_telemetry`]), for `explain --telemetry` and the round-trip tests; a
//! judge of the rows, adding them into an [`ExposureSums`](crate::sums::ExposureSums), gets the
//! snapshots the policy saw.

use std::collections::BTreeMap;

use rollcage_policy::Cohort;

use crate::flags::FlagState;
use crate::sums::{ReturnTotals, SessionTotals};
use rollcage_policy::Minutes;

/// One player's reports in one cohort during one telemetry window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowRow {
    pub player: u32,
    pub cohort: Cohort,
    pub cell: u8,
    /// The world's index of the build the player's sessions in the window were played on (0 for
    /// the old build, and for a row with no session).
    pub build: u16,
    /// The server assigned the player to this cohort for the first time in the exposure: a
    /// session of theirs started in the window.
    pub assigned: bool,
    pub sessions: SessionTotals,
    /// Σ latency² (in microseconds²) and Σ coins² of the sessions.
    pub squares: [i128; 2],
    pub returns: ReturnTotals,
    /// Sessions per latency bin (see [`rollcage_stats::rank`]), the bins with any, in order; kept
    /// only when a guardrail runs a rank test.
    pub latency_bins: Vec<(u16, u32)>,
}

/// The rows of the window under way, and the flag changes not yet taken.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    rows: BTreeMap<(u32, Cohort), WindowRow>,
    changes: Vec<(Minutes, FlagState)>,
}

impl Recorder {
    /// Player `player`'s row in `cohort`.
    pub(crate) fn row(&mut self, player: u32, cohort: Cohort, cell: u8) -> &mut WindowRow {
        self.rows.entry((player, cohort)).or_insert_with(|| WindowRow {
            player,
            cohort,
            cell,
            build: 0,
            assigned: false,
            sessions: SessionTotals::default(),
            squares: [0; 2],
            returns: ReturnTotals::default(),
            latency_bins: Vec::new(),
        })
    }

    pub(crate) fn flags_changed(&mut self, at: Minutes, state: FlagState) {
        self.changes.push((at, state));
    }

    /// The window's rows, by player and cohort; the next window starts empty.
    pub(crate) fn take_rows(&mut self) -> Vec<WindowRow> {
        std::mem::take(&mut self.rows).into_values().collect()
    }

    pub(crate) fn take_changes(&mut self) -> Vec<(Minutes, FlagState)> {
        std::mem::take(&mut self.changes)
    }
}

/// Adds one session to a latency histogram kept as (bin, sessions) in bin order.
pub(crate) fn add_to_bin(bins: &mut Vec<(u16, u32)>, bin: u16) {
    match bins.binary_search_by_key(&bin, |&(b, _)| b) {
        Ok(i) => bins[i].1 += 1,
        Err(i) => bins.insert(i, (bin, 1)),
    }
}
