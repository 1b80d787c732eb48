//! The judge: the scenario's policy, run on a recorded rollout instead of the world.
//!
//! It keeps no state of its own between calls: the policy starts at time 0 and sees every look of
//! the log in turn, with the snapshot the telemetry gives at that look, so the decision at the
//! last look follows from the policy, the log and the telemetry alone. The snapshots are built as
//! the world builds its own ([`ExposureSums`], in integers), so a recording of a simulated run
//! judged here gives the run's decisions exactly.

use rollcage_policy::{Action, BuildId, Cohort, Controller, Event, Minutes, Policy, Telemetry};
use rollcage_sim::carry::{Carries, Totals};
use rollcage_sim::export::WindowRow;
use rollcage_sim::sums::{ExposureSums, Keep, PLAYED_METRICS, ReturnTotals, SessionTotals};
use rollcage_sim::{FlagState, NOTHING_EXPOSED};

use super::{Exposure, LogEvent, Recording, Window};
use rollcage_model::Scenario;

/// What the policy decided on a recorded rollout.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Judged {
    /// The policy's events, as a run records them.
    pub events: Vec<Event>,
    /// The policy's actions, each with its time.
    pub actions: Vec<(Minutes, Action)>,
    /// The snapshot the policy saw at each look.
    pub seen: Vec<Telemetry>,
}

/// Runs `scenario`'s policy on `recording`: every window's rows are added before any log event at
/// or after the window's end.
pub fn judge(scenario: &Scenario, recording: &Recording) -> Judged {
    let mut judge = Judge::new(scenario, recording.players);
    let mut windows = recording.windows.iter().peekable();
    for event in &recording.log {
        while let Some(w) = windows.next_if(|w| w.end <= event.at()) {
            judge.window(w);
        }
        judge.event(event);
    }
    judge.finish()
}

/// A judge under way: the policy, and the telemetry of the current exposure so far.
pub struct Judge<'a> {
    policy: Policy<'a>,
    sums: ExposureSums,
    /// The current exposure's snapshot, as of the last look.
    snapshot: Telemetry,
    /// What the policy was last handed.
    delivered: Telemetry,
    /// Every player's totals per cohort in the current exposure.
    sessions: Vec<[SessionTotals; Cohort::COUNT]>,
    returns: Vec<[ReturnTotals; Cohort::COUNT]>,
    /// Every player's segment cell.
    cells: Vec<u8>,
    carries: Carries,
    /// The builds the log has exposed, in order; index 0 is the old build.
    builds: Vec<Option<BuildId>>,
    flags: FlagState,
    judged: Judged,
}

impl<'a> Judge<'a> {
    /// A judge of `scenario`'s policy before the rollout's start, for `players` players (more
    /// are added as rows name them).
    pub fn new(scenario: &'a Scenario, players: usize) -> Judge<'a> {
        let world = &scenario.world;
        let mut policy =
            Policy::new(&scenario.policy, world.release.build.clone()).recording_evaluations();
        let mut judged = Judged::default();
        let start = policy.start(Minutes::ZERO);
        judged.take(Minutes::ZERO, start);
        Judge {
            policy,
            sums: ExposureSums::new(Keep {
                watched: world.watched,
                carry: world.carry_players,
                cells: world.cell_count(),
            }),
            snapshot: Telemetry::default(),
            delivered: Telemetry::default(),
            sessions: vec![Default::default(); players],
            returns: vec![Default::default(); players],
            cells: vec![0; players],
            carries: Carries::new(world, players, &PLAYED_METRICS),
            builds: vec![None],
            flags: NOTHING_EXPOSED,
            judged,
        }
    }

    /// Adds a window's rows to the current exposure.
    pub fn window(&mut self, window: &Window) {
        for row in &window.rows {
            self.row(row);
        }
    }

    fn row(&mut self, row: &WindowRow) {
        let p = row.player as usize;
        if p >= self.sessions.len() {
            self.sessions.resize(p + 1, Default::default());
            self.returns.resize(p + 1, Default::default());
            self.cells.resize(p + 1, 0);
            self.carries.grow_to(p + 1);
        }
        self.cells[p] = row.cell;
        let (c, cell) = (row.cohort, usize::from(row.cell));
        let cohort = &mut self.snapshot.cohorts[c.index()];
        cohort.assigned[cell] += u64::from(row.assigned);
        for &(bin, n) in &row.latency_bins {
            cohort.latency[usize::from(bin)] += n;
        }
        if row.sessions.sessions > 0 {
            let from = self.sessions[p][c.index()];
            let to = from.plus(&row.sessions);
            self.sums.grow_sessions(c, cell, &from, &to, self.carries.sessions(p));
            self.sums.add_squares(c, cell, row.squares[0], row.squares[1]);
            self.sessions[p][c.index()] = to;
        }
        if row.returns.outcomes > 0 {
            let from = self.returns[p][c.index()];
            let to = ReturnTotals {
                outcomes: from.outcomes + row.returns.outcomes,
                returned: from.returned + row.returns.returned,
            };
            self.sums.grow_returns(c, cell, &from, &to, self.carries.returns(p));
            self.returns[p][c.index()] = to;
        }
    }

    /// Hands the policy one log event.
    pub fn event(&mut self, event: &LogEvent) {
        match event {
            LogEvent::Exposure { exposure, .. } => self.expose(exposure),
            LogEvent::Look { at, data_until } => {
                if data_until >= at {
                    self.sums.write(&mut self.snapshot);
                    self.snapshot.as_of = *at;
                    self.delivered = self.snapshot;
                }
                let response = self.policy.observe(*at, &self.delivered);
                self.judged.seen.push(self.delivered);
                self.judged.take(*at, response);
            }
            LogEvent::Command { at, command } => {
                let response = self.policy.command(*at, command);
                self.judged.take(*at, response);
            }
            LogEvent::StepResult { at, result } => {
                let response = self.policy.step_result(*at, result);
                self.judged.take(*at, response);
            }
        }
    }

    /// A new exposure begins: the players carry their weight into it when it continues the last,
    /// and the sums start over.
    fn expose(&mut self, exposure: &Exposure) {
        let next = self.flag_state(exposure);
        if !self.carries.is_empty() {
            if self.flags.continued_by(&next) {
                self.sums.write(&mut self.snapshot);
                let players = self.sessions.iter().zip(&self.returns).zip(&self.cells).map(
                    |((sessions, returns), &cell)| Totals {
                        cell: usize::from(cell),
                        sessions: compared(sessions.map(|t| t.sessions)),
                        returns: compared(returns.map(|t| t.outcomes)),
                    },
                );
                self.carries.close(&self.snapshot, self.flags.live_cells(), players);
            } else {
                self.carries.reset();
            }
        }
        self.flags = next;
        self.sums.clear();
        self.snapshot = Telemetry::default();
        self.sessions.fill(Default::default());
        self.returns.fill(Default::default());
    }

    fn flag_state(&mut self, exposure: &Exposure) -> FlagState {
        let build = match self.builds.iter().position(|b| *b == exposure.build) {
            Some(i) => i,
            None => {
                self.builds.push(exposure.build.clone());
                self.builds.len() - 1
            }
        };
        FlagState {
            build: build as u16,
            share: exposure.share,
            everyone: exposure.everyone,
            killed_features: exposure.killed_features,
            killed_cells: exposure.killed_cells,
        }
    }

    /// What the policy decided.
    pub fn finish(self) -> Judged {
        self.judged
    }
}

/// A player's count in the treatment, or else in the holdback: the comparison they carry weight
/// in.
fn compared(counts: [u32; Cohort::COUNT]) -> Option<(Cohort, u32)> {
    [Cohort::Treatment, Cohort::Holdback]
        .into_iter()
        .map(|c| (c, counts[c.index()]))
        .find(|&(_, n)| n > 0)
}

impl Judged {
    fn take(&mut self, at: Minutes, response: rollcage_policy::Response) {
        self.actions.extend(response.actions.into_iter().map(|a| (at, a)));
        self.events.extend(response.events);
    }
}
