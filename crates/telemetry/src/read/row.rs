//! One telemetry row, parsed and checked: its numbers, its names (cohort, cell), the counts
//! against what they count among, its latency bins, its build against the log, and its player.

use std::borrow::Cow;

use rollcage_model::{BuildId, Minutes};
use rollcage_policy::Cohort;
use rollcage_sim::export::WindowRow;
use rollcage_sim::sums::{ReturnTotals, SessionTotals};
use rollcage_stats::rank::BINS;

use crate::columns::Column;
use crate::{Names, Problems};

/// One row's fields: the text of a column and its 1-based column on the line.
pub(super) trait Fields {
    fn get(&self, column: Column) -> Option<(Cow<'_, str>, u64)>;
}

/// Every column's name, for messages.
pub(super) fn column_names() -> String {
    Column::ALL.iter().map(|c| c.name()).collect::<Vec<_>>().join(", ")
}

/// What rows are checked against, and the players they have named so far.
pub(super) struct Checks {
    names: Names,
    /// Every build an exposure of the log names, with when it was first exposed; `None` accepts
    /// any build (telemetry read without its log).
    pub(super) exposed: Option<Vec<(Minutes, BuildId)>>,
    /// Player keys, numbered in the order they first appear. Looked up, never iterated.
    #[allow(clippy::disallowed_types)]
    players: std::collections::HashMap<Box<str>, u32>,
    /// Each player's cell, once a row has named it.
    cells: Vec<Option<u8>>,
    /// The cohorts' names, and what a cell must be, for the messages: made once, not per row.
    cohort_names: Vec<&'static str>,
    cells_expected: String,
}

/// One line's fields and the problems they are reported to.
struct Line<'a> {
    fields: &'a dyn Fields,
    line: u64,
    problems: &'a mut Problems,
}

impl Line<'_> {
    fn problem(&mut self, column: u64, message: String) {
        self.problems.push(self.line, column, message);
    }

    /// Where column `c` is on the line (its start when the line does not have it).
    fn column_of(&self, c: Column) -> u64 {
        self.fields.get(c).map_or(1, |(_, at)| at)
    }

    /// A whole number from 0 to `max` in column `c`: 0, reported, when it is not one; 0 when an
    /// optional column is left out or empty.
    fn number(&mut self, c: Column, max: u128) -> u128 {
        let parsed = match self.fields.get(c) {
            None => Err(None),
            Some((text, _)) if text.is_empty() && !c.required() => return 0,
            // Most numbers fit 64 bits; only sums of squares may need more.
            Some((text, at)) => {
                match text.parse::<u64>().map(u128::from).or_else(|_| text.parse::<u128>()) {
                    Ok(v) if v <= max => Ok(v),
                    _ => Err(Some((text.into_owned(), at))),
                }
            }
        };
        match parsed {
            Ok(v) => v,
            Err(None) if !c.required() => 0,
            Err(None) => {
                self.problem(1, format!("`{}` is missing", c.name()));
                0
            }
            Err(Some((text, at))) => {
                let message =
                    format!("`{}` = {text}: expected a whole number from 0 to {max}", c.name());
                self.problem(at, message);
                0
            }
        }
    }

    /// Which of `choices` column `c` names, `expected` saying what they are.
    fn choice<T: AsRef<str>>(&mut self, c: Column, choices: &[T], expected: &str) -> Option<usize> {
        let Some((name, at)) = self.fields.get(c) else {
            self.problem(1, format!("`{}` is missing", c.name()));
            return None;
        };
        let found = choices.iter().position(|choice| choice.as_ref() == name);
        if found.is_none() {
            let message = format!("`{}` = \"{name}\": expected {expected}", c.name());
            self.problem(at, message);
        }
        found
    }

    /// The counts that count among others (crashes among sessions, returns among outcomes) are
    /// no more than those.
    fn counts_within(&mut self, sessions: &SessionTotals, returns: &ReturnTotals) {
        for (part, whole, c) in [
            (sessions.crashes, sessions.sessions, Column::Crashes),
            (sessions.save_errors, sessions.sessions, Column::SaveErrors),
            (returns.returned, returns.outcomes, Column::Returned),
        ] {
            if part > whole {
                let message =
                    format!("`{}` = {part} is more than the {whole} it counts among", c.name());
                self.problem(self.column_of(c), message);
            }
        }
    }

    /// The latency histogram: `bin:count` pairs, bins increasing, adding up to the `sessions`.
    fn latency_bins(&mut self, sessions: u32) -> Vec<(u16, u32)> {
        let mut bins = Vec::new();
        let Some((text, at)) = self.fields.get(Column::LatencyBins).filter(|(t, _)| !t.is_empty())
        else {
            return bins;
        };
        let text = text.into_owned();
        let mut total = 0u64;
        for pair in text.split_whitespace() {
            let parsed = pair
                .split_once(':')
                .and_then(|(b, n)| Some((b.parse::<u16>().ok()?, n.parse::<u32>().ok()?)));
            match parsed {
                Some((b, n))
                    if usize::from(b) < BINS && bins.last().is_none_or(|&(last, _)| last < b) =>
                {
                    bins.push((b, n));
                    total += u64::from(n);
                }
                _ => {
                    self.problem(
                        at,
                        format!(
                            "`latency_bins`: `{pair}` is not a bin:count pair with the bin from 0 to {} and the bins in increasing order",
                            BINS - 1
                        ),
                    );
                    return bins;
                }
            }
        }
        if total != u64::from(sessions) {
            self.problem(at, format!("`latency_bins` counts {total} sessions, the row {sessions}"));
        }
        bins
    }
}

impl Checks {
    pub(super) fn new(names: Names, exposed: Option<Vec<(Minutes, BuildId)>>) -> Checks {
        let cells_expected =
            format!("one of the policy's segment cells ({})", names.cells.join(", "));
        Checks {
            names,
            exposed,
            players: Default::default(),
            cells: Vec::new(),
            cohort_names: Cohort::ALL.iter().map(|c| c.name()).collect(),
            cells_expected,
        }
    }

    /// How many players the rows have named.
    pub(super) fn players(&self) -> usize {
        self.players.len()
    }

    /// Parses and checks the row of `fields` on `line`: its window and the row, or `None` when it
    /// has a problem (each is reported to `problems`).
    pub(super) fn row(
        &mut self,
        fields: &dyn Fields,
        line: u64,
        problems: &mut Problems,
    ) -> Option<(Minutes, Minutes, WindowRow)> {
        let before = problems.listed.len() as u64 + problems.more;
        let mut l = Line { fields, line, problems };
        let start = l.number(Column::WindowStart, u128::from(u32::MAX)) as u32;
        let end = l.number(Column::WindowEnd, u128::from(u32::MAX)) as u32;
        let (count, sum, square) = (u128::from(u32::MAX), i64::MAX as u128, i128::MAX as u128);
        let sessions = SessionTotals {
            sessions: l.number(Column::Sessions, count) as u32,
            crashes: l.number(Column::Crashes, count) as u32,
            save_errors: l.number(Column::SaveErrors, count) as u32,
            latency_us: l.number(Column::LatencyUs, sum) as i64,
            coins: l.number(Column::Coins, sum) as i64,
        };
        let squares = [
            l.number(Column::LatencyUsSq, square) as i128,
            l.number(Column::CoinsSq, square) as i128,
        ];
        let returns = ReturnTotals {
            outcomes: l.number(Column::ReturnOutcomes, count) as u32,
            returned: l.number(Column::Returned, count) as u32,
        };
        let assigned = l.number(Column::Assigned, 1) == 1;
        if end <= start && fields.get(Column::WindowEnd).is_some() {
            let message = format!("the window ends at {end}, not after its start at {start}");
            l.problem(l.column_of(Column::WindowEnd), message);
        }
        let cohort = l
            .choice(Column::Cohort, &self.cohort_names, "treatment, holdback or unexposed")
            .map(|i| Cohort::ALL[i]);
        let cell = l.choice(Column::Cell, &self.names.cells, &self.cells_expected).map(|c| c as u8);
        l.counts_within(&sessions, &returns);
        let latency_bins = l.latency_bins(sessions.sessions);
        let build = self.build(&mut l, start, cohort, sessions.sessions);
        let player = self.player(&mut l, cell);
        if problems.listed.len() as u64 + problems.more != before {
            return None;
        }
        let row = WindowRow {
            player: player?,
            cohort: cohort?,
            cell: cell?,
            build,
            assigned,
            sessions,
            squares,
            returns,
            latency_bins,
        };
        Some((Minutes(start), Minutes(end), row))
    }

    /// The row's build: 0 for the old build; else the first exposure of it in the log, counted
    /// from 1 (enough for the judge, which only asks whether a row names a new build), which must
    /// come by the window's `start`. Treatment sessions must name their build.
    fn build(&self, l: &mut Line<'_>, start: u32, cohort: Option<Cohort>, sessions: u32) -> u16 {
        let named = l.fields.get(Column::Build).filter(|(b, _)| !b.is_empty());
        match (named, &self.exposed) {
            (None, _) => {
                if cohort == Some(Cohort::Treatment) && sessions > 0 {
                    let message = "a treatment row with sessions needs the `build` they ran";
                    l.problem(l.column_of(Column::Build), message.to_string());
                }
                0
            }
            (Some(_), None) => 1,
            (Some((b, at)), Some(exposed)) => {
                match exposed.iter().position(|(t, id)| id.as_str() == b && t.0 <= start) {
                    Some(i) => u16::try_from(i + 1).unwrap_or(u16::MAX),
                    None => {
                        let message = format!(
                            "`build` = \"{b}\" was not exposed by the rollout log by minute {start}"
                        );
                        l.problem(at, message);
                        0
                    }
                }
            }
        }
    }

    /// The row's player, numbered in the order players first appear, who must stay in one cell.
    fn player(&mut self, l: &mut Line<'_>, cell: Option<u8>) -> Option<u32> {
        let player = match l.fields.get(Column::Player) {
            Some((key, at)) if key.is_empty() => {
                l.problem(at, "`player` is empty: expected the player's key".to_string());
                return None;
            }
            Some((key, _)) => match self.players.get(key.as_ref()) {
                Some(&known) => known,
                None => {
                    let next = self.players.len() as u32;
                    self.players.insert(key.into_owned().into_boxed_str(), next);
                    next
                }
            },
            None => {
                l.problem(1, "`player` is missing".to_string());
                return None;
            }
        };
        let i = player as usize;
        if i >= self.cells.len() {
            self.cells.resize(i + 1, None);
        }
        match (self.cells[i], cell) {
            (None, _) => self.cells[i] = cell,
            (Some(known), Some(cell)) if known != cell => {
                let message = format!(
                    "this player's rows name two cells, `{}` and `{}`: a player is in one cell",
                    self.names.cells[usize::from(known)],
                    self.names.cells[usize::from(cell)]
                );
                l.problem(l.column_of(Column::Cell), message);
            }
            (Some(_), _) => {}
        }
        Some(player)
    }
}
