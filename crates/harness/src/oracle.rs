//! Safety and liveness oracles: what a rollout must guarantee, checked on every session.
//!
//! The oracles judge with the truth. They see every session as it starts ([`SessionEvent`]), every
//! action and event of the policy, and every operator command, and compare what happened with what
//! the policy declared and the scenario promised. They do not trust the world's own bookkeeping:
//! the holdback is recomputed from each player's bucket, exposure from the share the policy last
//! set, gate samples from the sessions themselves. Any violation is a bug in the policy, the world
//! or the scenario's promises, and is reported with the run's seed.

use rollcage_policy::{Action, BucketLayout, BuildId, Command, Event, EventKind, Minutes, Share};
use rollcage_sim::SessionEvent;

use crate::scenario::Scenario;

/// The guarantees checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Oracle {
    HoldbackIsolation,
    ExposureWithinStage,
    StickyExposure,
    KillPropagation,
    GateRespected,
    NoResumeOfKilledBuild,
    Liveness,
}

impl Oracle {
    pub const COUNT: usize = 7;
    pub const ALL: [Oracle; Oracle::COUNT] = [
        Oracle::HoldbackIsolation,
        Oracle::ExposureWithinStage,
        Oracle::StickyExposure,
        Oracle::KillPropagation,
        Oracle::GateRespected,
        Oracle::NoResumeOfKilledBuild,
        Oracle::Liveness,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Oracle::HoldbackIsolation => "holdback-isolation",
            Oracle::ExposureWithinStage => "exposure-within-stage",
            Oracle::StickyExposure => "sticky-exposure",
            Oracle::KillPropagation => "kill-propagation",
            Oracle::GateRespected => "gate-respected",
            Oracle::NoResumeOfKilledBuild => "no-resume-of-killed-build",
            Oracle::Liveness => "liveness",
        }
    }

    /// The guarantee, in one sentence.
    pub fn guarantee(self) -> &'static str {
        match self {
            Oracle::HoldbackIsolation => "no holdback player plays the new build before release",
            Oracle::ExposureWithinStage => {
                "no player beyond the current stage's share plays the new build"
            }
            Oracle::StickyExposure => "a player who got the build keeps it until it is killed",
            Oracle::KillPropagation => {
                "no session starts on a killed build later than the propagation bound"
            }
            Oracle::GateRespected => {
                "no stage advances before its duration, sample and approval gate holds"
            }
            Oracle::NoResumeOfKilledBuild => "a killed build is never exposed again",
            Oracle::Liveness => "a rollout never stopped is released within its schedule bound",
        }
    }
}

/// One broken guarantee.
#[derive(Clone, Debug, PartialEq)]
pub struct Violation {
    pub oracle: Oracle,
    pub at: Minutes,
    pub detail: String,
}

/// The violations of one run: the first of each kind in full, and how many of each.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Violations {
    pub first: Vec<Violation>,
    pub counts: [u64; Oracle::COUNT],
}

impl Violations {
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    pub fn is_empty(&self) -> bool {
        self.total() == 0
    }

    fn record(&mut self, oracle: Oracle, at: Minutes, detail: impl FnOnce() -> String) {
        let count = &mut self.counts[oracle as usize];
        if *count == 0 {
            self.first.push(Violation { oracle, at, detail: detail() });
        }
        *count += 1;
    }
}

/// What the policy declared about one build.
#[derive(Clone, Debug)]
struct Declared {
    id: BuildId,
    share: Share,
    killed_at: Option<Minutes>,
    released: bool,
}

/// Sessions each compared cohort really reported during the current stage, counted the way
/// telemetry counts them: when the session ends.
#[derive(Clone, Copy, Debug, Default)]
struct GateSample {
    treatment: u64,
    holdback: u64,
}

/// The oracles of one run.
pub struct Oracles<'a> {
    scenario: &'a Scenario,
    layout: BucketLayout,
    /// By world build index − 1 (index 0 is the old build).
    builds: Vec<Declared>,
    /// Per player: the world index of the new build they last played, 0 if none.
    last_build: Vec<u8>,
    stage: Option<(usize, Minutes)>,
    sample: GateSample,
    /// Sessions that end after the current window: telemetry reports them in the next one.
    pending: GateSample,
    window_end: Minutes,
    approvals: Vec<bool>,
    holdback_period_started: Option<Minutes>,
    stopped: bool,
    released: bool,
    violations: Violations,
}

impl<'a> Oracles<'a> {
    pub fn new(scenario: &'a Scenario, players: usize) -> Oracles<'a> {
        Oracles {
            scenario,
            layout: scenario.policy.layout(),
            builds: Vec::new(),
            last_build: vec![0; players],
            stage: None,
            sample: GateSample::default(),
            pending: GateSample::default(),
            window_end: Minutes::ZERO,
            approvals: vec![false; scenario.policy.stages.len()],
            holdback_period_started: None,
            stopped: false,
            released: false,
            violations: Violations::default(),
        }
    }

    /// The world index of a build the policy has declared, registered in first-exposure order just
    /// as the world registers builds.
    pub fn build_index(&self, id: &BuildId) -> Option<u16> {
        self.builds.iter().position(|b| &b.id == id).map(|i| i as u16 + 1)
    }

    fn declare(&mut self, id: &BuildId) -> &mut Declared {
        let i = match self.build_index(id) {
            Some(i) => usize::from(i) - 1,
            None => {
                self.builds.push(Declared {
                    id: id.clone(),
                    share: Share::ZERO,
                    killed_at: None,
                    released: false,
                });
                self.builds.len() - 1
            }
        };
        &mut self.builds[i]
    }

    /// A new evaluation window, ending at `until`, begins.
    pub fn begin_window(&mut self, until: Minutes) {
        self.sample.treatment += std::mem::take(&mut self.pending.treatment);
        self.sample.holdback += std::mem::take(&mut self.pending.holdback);
        self.window_end = until;
    }

    /// Checks one session as it starts.
    #[inline]
    pub fn session(&mut self, e: &SessionEvent) {
        let holdback = self.layout.is_holdback(e.bucket);
        let ends = e.start + self.scenario.world.session_length;
        let sample = if ends < self.window_end { &mut self.sample } else { &mut self.pending };
        if e.build != 0 {
            sample.treatment += 1;
        } else if holdback {
            sample.holdback += 1;
        }
        let player = e.player as usize;
        if e.build == 0 {
            let last = self.last_build[player];
            if last != 0 {
                let declared = &self.builds[usize::from(last) - 1];
                if declared.killed_at.is_none_or(|k| e.start < k) {
                    self.violations.record(Oracle::StickyExposure, e.start, || {
                        format!("player {} played build {} before, and now the old build without a kill", e.player, declared.id)
                    });
                }
            }
            return;
        }
        self.last_build[player] = e.build as u8;
        let Some(declared) = self.builds.get(usize::from(e.build) - 1) else {
            self.violations.record(Oracle::ExposureWithinStage, e.start, || {
                format!(
                    "player {} played build #{} that the policy never exposed",
                    e.player, e.build
                )
            });
            return;
        };
        if declared.released {
            return;
        }
        if holdback {
            self.violations.record(Oracle::HoldbackIsolation, e.start, || {
                format!(
                    "holdback player {} (bucket {}) played build {}",
                    e.player,
                    e.bucket.value(),
                    declared.id
                )
            });
        } else if e.bucket.value() >= declared.share.basis_points() {
            self.violations.record(Oracle::ExposureWithinStage, e.start, || {
                format!(
                    "player {} (bucket {}) played build {} exposed to {} (buckets below {})",
                    e.player,
                    e.bucket.value(),
                    declared.id,
                    declared.share,
                    declared.share.basis_points()
                )
            });
        }
        if let Some(killed) = declared.killed_at {
            let bound = killed + self.scenario.kill_propagation_bound;
            if e.start >= bound {
                self.violations.record(Oracle::KillPropagation, e.start, || {
                    format!(
                        "player {} started a session on build {} at {}, killed at {} (bound {})",
                        e.player, declared.id, e.start, killed, bound
                    )
                });
            }
        }
    }

    /// An action the policy took at `at`.
    pub fn action(&mut self, at: Minutes, action: &Action) {
        match action {
            Action::Expose { build, share } => {
                let declared = self.declare(build);
                if let Some(killed) = declared.killed_at {
                    let id = declared.id.clone();
                    self.violations.record(Oracle::NoResumeOfKilledBuild, at, || {
                        format!("build {id} exposed to {share} after it was killed at {killed}")
                    });
                }
                self.declare(build).share = *share;
            }
            Action::Kill { build } => {
                self.stopped = true;
                let declared = self.declare(build);
                declared.killed_at.get_or_insert(at);
            }
            Action::Release { build } => {
                self.declare(build).released = true;
                self.released = true;
            }
        }
    }

    /// An operator command delivered at `at`.
    pub fn command(&mut self, _at: Minutes, command: &Command) {
        if let Command::Approve { stage } = command
            && let Some(a) = self.approvals.get_mut(*stage)
        {
            *a = true;
        }
    }

    fn check_gate(&mut self, at: Minutes, index: usize) {
        let Some((stage, started)) = self.stage else { return };
        if stage != index {
            return;
        }
        let rule = &self.scenario.policy.stages[index];
        let elapsed = at.saturating_sub(started);
        let sample = self.sample;
        let approved = !rule.approval || self.approvals[index];
        let mut broken = Vec::new();
        if elapsed < rule.min_duration {
            broken.push(format!("lasted {elapsed} of its {}", rule.min_duration));
        }
        if sample.treatment < rule.min_sample || sample.holdback < rule.min_sample {
            broken.push(format!(
                "had {} treatment and {} holdback sessions of the {} required",
                sample.treatment, sample.holdback, rule.min_sample
            ));
        }
        if !approved {
            broken.push("had no operator approval".to_string());
        }
        if !broken.is_empty() {
            self.violations.record(Oracle::GateRespected, at, || {
                format!(
                    "stage {} was left at {} although it {}",
                    index + 1,
                    at,
                    broken.join(" and ")
                )
            });
        }
    }

    /// A policy event.
    pub fn event(&mut self, event: &Event) {
        let at = event.at;
        match &event.kind {
            EventKind::StageStarted { build, stage, .. } => {
                let same_build =
                    self.builds.last().is_some_and(|b| &b.id == build) && self.stage.is_some();
                if same_build && *stage > 0 {
                    self.check_gate(at, stage - 1);
                } else {
                    self.approvals.iter_mut().for_each(|a| *a = false);
                }
                self.stage = Some((*stage, at));
                self.sample = GateSample::default();
            }
            EventKind::HoldbackPeriodStarted { .. } => {
                self.check_gate(at, self.scenario.policy.stages.len() - 1);
                self.stage = None;
                self.holdback_period_started = Some(at);
            }
            EventKind::Released { .. } => {
                let period = self.scenario.policy.holdback_period;
                match self.holdback_period_started {
                    Some(started) if at.saturating_sub(started) >= period => {}
                    started => self.violations.record(Oracle::GateRespected, at, || {
                        format!("released at {at}, before a holdback period of {period} (started {started:?})")
                    }),
                }
            }
            EventKind::Paused { .. } | EventKind::Killed { .. } => self.stopped = true,
            _ => {}
        }
    }

    /// The run is over at `now`; checks liveness and hands over the violations.
    pub fn finish(mut self, now: Minutes) -> Violations {
        if !self.released && !self.stopped {
            let bound = self.scenario.max_duration;
            let stage = self.stage.map_or_else(
                || "the holdback period".to_string(),
                |(s, _)| format!("stage {}", s + 1),
            );
            self.violations.record(Oracle::Liveness, now, || {
                format!("never stopped, yet not released by the schedule bound of {bound}; still in {stage}")
            });
        }
        self.violations
    }
}
