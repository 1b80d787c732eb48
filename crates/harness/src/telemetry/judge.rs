//! The judge: the scenario's policy, run on a recorded rollout instead of the world.
//!
//! It keeps no state of its own between calls: the policy starts at time 0 and sees every look of
//! the log in turn, with the snapshot the telemetry gives at that look, so the decision at the
//! last look follows from the policy, the log and the telemetry alone. The snapshots are built as
//! the world builds its own ([`ExposureSums`], in integers), so a recording of a simulated run
//! judged here gives the run's decisions exactly.

use rollcage_policy::{
    Action, BuildId, Cohort, Controller, Event, KillScope, Minutes, Phase, Policy, Telemetry,
};
use rollcage_sim::carry::{Carries, Totals};
use rollcage_sim::export::WindowRow;
use rollcage_sim::sums::{ExposureSums, Keep, ReturnTotals, SessionTotals};
use rollcage_sim::{FlagState, NOTHING_EXPOSED};

use super::{Change, Exposure, LogEvent, Recording, Window};
use rollcage_model::Scenario;

/// What the policy decided on a recorded rollout.
#[derive(Clone, Debug, PartialEq)]
pub struct Judged {
    /// The policy's events, as a run records them.
    pub events: Vec<Event>,
    /// The policy's actions, each with its time.
    pub actions: Vec<(Minutes, Action)>,
    /// The snapshot the policy saw at each look.
    pub seen: Vec<Telemetry>,
    /// The last look judged: its time, and the number of events and actions before it (its own
    /// are the ones after).
    pub last_look: Option<(Minutes, usize, usize)>,
    /// Where the policy first decided otherwise than the log shows was done, if it did: the
    /// judging stops there, since the telemetry after it is of what was done instead.
    pub divergence: Option<Divergence>,
    /// Where the rollout stands after the last event judged.
    pub phase: Phase,
    /// The changes the policy has decided on that the log does not show done: what the rollout
    /// system is to do now.
    pub pending: Vec<(Minutes, Change)>,
}

/// The policy decided otherwise than the rollout did.
#[derive(Clone, Debug, PartialEq)]
pub struct Divergence {
    pub at: Minutes,
    /// The flags in force when they parted.
    pub current: Exposure,
    /// What the policy decided: a change, or none (`None`) where the rollout made one.
    pub decided: Option<Change>,
    /// What the log shows instead: another change, or none (`None`) before the next look.
    pub logged: Option<Change>,
}

/// Runs `scenario`'s policy on `recording`: every window's rows are added before any log event at
/// or after the window's end.
pub fn judge(scenario: &Scenario, recording: &Recording) -> Judged {
    judge_windows(scenario, &recording.log, recording.players, recording.windows.iter().cloned())
}

/// [`judge`], with the windows from any source, in time order.
pub fn judge_windows(
    scenario: &Scenario,
    log: &[LogEvent],
    players: usize,
    windows: impl Iterator<Item = Window>,
) -> Judged {
    let mut judge = Judge::new(scenario, players);
    let mut windows = windows.peekable();
    for event in log {
        while let Some(w) = windows.next_if(|w| w.end <= event.at()) {
            judge.window(&w);
        }
        if !judge.event(event) {
            break;
        }
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
    /// The flags the policy set that the log has not shown done yet.
    pending: std::collections::VecDeque<(Minutes, Change)>,
    judged: Judged,
}

impl<'a> Judge<'a> {
    /// A judge of `scenario`'s policy before the rollout's start, for `players` players (more
    /// are added as rows name them).
    pub fn new(scenario: &'a Scenario, players: usize) -> Judge<'a> {
        let world = &scenario.world;
        let mut policy =
            Policy::new(&scenario.policy, world.release.build.clone()).recording_evaluations();
        let mut judged = Judged {
            events: Vec::new(),
            actions: Vec::new(),
            seen: Vec::new(),
            last_look: None,
            divergence: None,
            phase: Phase::Pending,
            pending: Vec::new(),
        };
        let start = policy.start(Minutes::ZERO);
        let start_actions = start.actions.clone();
        judged.take(Minutes::ZERO, start);
        Judge {
            policy,
            sums: ExposureSums::new(Keep::of(world)),
            snapshot: Telemetry::default(),
            delivered: Telemetry::default(),
            sessions: vec![Default::default(); players],
            returns: vec![Default::default(); players],
            cells: vec![0; players],
            carries: Carries::new(Keep::of(world), players),
            builds: vec![None],
            flags: NOTHING_EXPOSED,
            pending: std::collections::VecDeque::new(),
            judged,
        }
        .with_start(start_actions)
    }

    fn with_start(mut self, actions: Vec<Action>) -> Self {
        self.expect(Minutes::ZERO, &actions);
        self
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
        // A row with no session (or no return outcome) grows nothing.
        let from = self.sessions[p][c.index()];
        let to = from.plus(&row.sessions);
        self.sums.grow_sessions(c, cell, &from, &to, self.carries.sessions(p));
        self.sums.add_squares(c, cell, row.squares[0], row.squares[1]);
        self.sessions[p][c.index()] = to;
        let from = self.returns[p][c.index()];
        let to = ReturnTotals {
            outcomes: from.outcomes + row.returns.outcomes,
            returned: from.returned + row.returns.returned,
        };
        self.sums.grow_returns(c, cell, &from, &to, self.carries.returns(p));
        self.returns[p][c.index()] = to;
    }

    /// Hands the policy one log event; `false` once the policy has diverged from the log.
    pub fn event(&mut self, event: &LogEvent) -> bool {
        if self.judged.divergence.is_some() {
            return false;
        }
        let (at, response) = match event {
            LogEvent::Exposure { at, exposure } => {
                let logged = Change::Flags(exposure.clone());
                match self.pending.pop_front() {
                    Some((_, decided)) if decided == logged => {}
                    // A rollback step's change, which no decision announces.
                    None if matches!(self.policy.phase(), Phase::RollingBack { .. }) => {}
                    other => return self.diverge(*at, other.map(|(_, d)| d), Some(logged)),
                }
                self.expose(exposure);
                return true;
            }
            LogEvent::Kill { at } => {
                return match self.pending.pop_front() {
                    Some((_, Change::Kill)) => true,
                    other => self.diverge(*at, other.map(|(_, d)| d), Some(Change::Kill)),
                };
            }
            LogEvent::Look { at, data_until } => {
                if let Some((decided_at, decided)) = self.pending.pop_front() {
                    return self.diverge(decided_at, Some(decided), None);
                }
                if data_until >= at {
                    self.sums.write(&mut self.snapshot);
                    self.snapshot.as_of = *at;
                    self.delivered = self.snapshot;
                }
                let response = self.policy.observe(*at, &self.delivered);
                self.judged.seen.push(self.delivered);
                let (events, actions) = (self.judged.events.len(), self.judged.actions.len());
                self.judged.last_look = Some((*at, events, actions));
                (*at, response)
            }
            LogEvent::Command { at, command } => (*at, self.policy.command(*at, command)),
            LogEvent::StepResult { at, result } => (*at, self.policy.step_result(*at, result)),
        };
        self.expect(at, &response.actions);
        self.judged.take(at, response);
        true
    }

    /// Notes where the policy and the log part: judging stops there.
    fn diverge(&mut self, at: Minutes, decided: Option<Change>, logged: Option<Change>) -> bool {
        let current = self.exposure();
        self.judged.divergence = Some(Divergence { at, current, decided, logged });
        false
    }

    /// Notes the changes the policy's `actions` at `at` make, which the log must show next.
    fn expect(&mut self, at: Minutes, actions: &[Action]) {
        let mut flags = self
            .pending
            .iter()
            .rev()
            .find_map(|(_, c)| match c {
                Change::Flags(e) => Some(e.clone()),
                Change::Kill => None,
            })
            .unwrap_or_else(|| self.exposure());
        for action in actions {
            let next = match action {
                Action::Expose { build, share } => {
                    let same = flags.build.as_ref() == Some(build);
                    Exposure {
                        build: Some(build.clone()),
                        share: *share,
                        everyone: false,
                        killed_features: if same { flags.killed_features } else { 0 },
                        killed_cells: if same { flags.killed_cells } else { 0 },
                    }
                }
                Action::Release { build } => Exposure {
                    build: Some(build.clone()),
                    share: rollcage_policy::Share::ALL,
                    everyone: true,
                    ..flags.clone()
                },
                Action::Kill { scope: KillScope::Feature(f), .. } => {
                    Exposure { killed_features: flags.killed_features | (1 << f), ..flags.clone() }
                }
                Action::Kill { scope: KillScope::Segment(c), .. } => {
                    Exposure { killed_cells: flags.killed_cells | (1 << c), ..flags.clone() }
                }
                Action::Kill { scope: KillScope::Release, .. } => {
                    self.pending.push_back((at, Change::Kill));
                    continue;
                }
                // A step's changes come as it ends, announced by no decision.
                Action::RunStep { .. } => continue,
            };
            self.pending.push_back((at, Change::Flags(next.clone())));
            flags = next;
        }
    }

    /// The current flags, as the log names them.
    fn exposure(&self) -> Exposure {
        Exposure {
            build: self.builds[usize::from(self.flags.build)].clone(),
            share: self.flags.share,
            everyone: self.flags.everyone,
            killed_features: self.flags.killed_features,
            killed_cells: self.flags.killed_cells,
        }
    }

    /// Whether the policy has decided on flags the log does not show done yet.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
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
    pub fn finish(mut self) -> Judged {
        self.judged.phase = self.policy.phase();
        self.judged.pending = self.pending.into_iter().collect();
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

/// What a rollout system is to do after the last look judged.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    /// Nothing changes: the stage (0-based) goes on, or the holdback period (`None`).
    Continue { stage: Option<usize> },
    /// Go on to stage `stage` (0-based), exposing `share`.
    Advance { stage: usize, share: rollcage_policy::Share },
    /// The stages are done: the holdback period begins.
    HoldbackPeriod,
    /// The holdback period is over: the build goes to everyone.
    Release,
    /// The rollout is paused, and why (a guardrail, an operator, or the data's quality).
    Pause { reason: Option<rollcage_policy::Reason> },
    /// The build (or a feature or a segment of it) is killed at `at`, and why: at the last look,
    /// or before it, its rollback then under way or done.
    Kill { at: Minutes, scope: KillScope, reason: rollcage_policy::Reason },
    /// The rollout did otherwise than the policy decided: nothing after can be judged.
    Diverged(Divergence),
}

impl Decision {
    /// The decision of a judged rollout: the last look's own, or where the rollout stands.
    pub fn of(judged: &Judged) -> Decision {
        use rollcage_policy::EventKind;
        if let Some(d) = &judged.divergence {
            return Decision::Diverged(d.clone());
        }
        let since = judged.last_look.map_or(0, |(_, events, _)| events);
        for e in &judged.events[since..] {
            match &e.kind {
                EventKind::Killed { scope, reason, .. } => {
                    return Decision::Kill { at: e.at, scope: *scope, reason: reason.clone() };
                }
                EventKind::Paused { reason } => {
                    return Decision::Pause { reason: Some(reason.clone()) };
                }
                EventKind::StageStarted { stage, share, .. } => {
                    return Decision::Advance { stage: *stage, share: *share };
                }
                EventKind::HoldbackPeriodStarted { .. } => return Decision::HoldbackPeriod,
                EventKind::Released { .. } => return Decision::Release,
                EventKind::GateHeld { .. }
                | EventKind::Evaluated(_)
                | EventKind::SampleRatioChecked(_)
                | EventKind::Resumed { .. }
                | EventKind::StepStarted { .. }
                | EventKind::StepSucceeded { .. }
                | EventKind::StepFailed { .. }
                | EventKind::RolledBack { .. }
                | EventKind::RollbackFailed { .. }
                | EventKind::Approved { .. }
                | EventKind::Refused { .. } => {}
            }
        }
        match judged.phase {
            Phase::Pending => Decision::Continue { stage: None },
            Phase::Stage { paused: true, .. } | Phase::HoldbackPeriod { paused: true } => {
                Decision::Pause { reason: None }
            }
            Phase::Stage { index, paused: false } => Decision::Continue { stage: Some(index) },
            Phase::HoldbackPeriod { paused: false } => Decision::Continue { stage: None },
            Phase::RollingBack { .. } | Phase::RolledBack | Phase::RollbackFailed => judged
                .events
                .iter()
                .rev()
                .find_map(|e| match &e.kind {
                    EventKind::Killed { scope, reason, .. } => {
                        Some(Decision::Kill { at: e.at, scope: *scope, reason: reason.clone() })
                    }
                    _ => None,
                })
                .expect("a rollback follows a kill"),
            Phase::Released => Decision::Release,
        }
    }

    /// Its name in words and in JSON.
    pub fn name(&self) -> &'static str {
        match self {
            Decision::Continue { .. } => "continue",
            Decision::Advance { .. } => "advance",
            Decision::HoldbackPeriod => "holdback_period",
            Decision::Release => "release",
            Decision::Pause { .. } => "pause",
            Decision::Kill { .. } => "kill",
            Decision::Diverged(_) => "diverged",
        }
    }
}
