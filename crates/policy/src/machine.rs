//! The rollout state machine.
//!
//! ```text
//! Pending -> Stage 1 -> gate -> Stage 2 -> ... -> Stage n -> gate -> Holdback period -> Released
//!            any live phase -> Paused -> (operator resume) -> the same phase
//!            any live phase -> Killed -> (operator new_build with an id never killed) -> Stage r
//! ```
//!
//! A stage's gate holds when the stage has lasted its minimum duration, each compared cohort has
//! reported its minimum sample during the stage, no guardrail is in breach, and, where the stage
//! asks for one, an operator has approved. Guardrails are evaluated on every telemetry snapshot in
//! every live phase, paused or not; a breach acts once it has lasted the guardrail's required
//! number of consecutive evaluations: `rollback` kills the build, `pause` stops the rollout where
//! it is. A killed build never comes back: the rollout resumes only with a new build id.

use crate::config::{PolicyConfig, Severity};
use crate::event::{Action, BuildId, Command, Event, EventKind, Reason};
use crate::guardrail::{Evaluation, Verdict, evaluate};
use crate::telemetry::{Cohort, Telemetry};
use crate::units::Minutes;

/// What a controller asks of the world and what it records, after one input.
#[derive(Debug, Default, PartialEq)]
pub struct Step {
    pub actions: Vec<Action>,
    pub events: Vec<Event>,
}

impl Step {
    fn event(&mut self, at: Minutes, kind: EventKind) {
        self.events.push(Event { at, kind });
    }
}

/// Anything that can run a rollout: [`Policy`] in production use, deliberately broken controllers
/// in the tests that show each oracle catches the bug it guards against.
pub trait Controller {
    /// The rollout begins.
    fn start(&mut self, now: Minutes) -> Step;
    /// A telemetry snapshot arrives (cumulative since the current exposure began).
    fn observe(&mut self, now: Minutes, telemetry: &Telemetry) -> Step;
    /// An operator intervenes.
    fn command(&mut self, now: Minutes, command: &Command) -> Step;
}

/// Where the rollout stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Pending,
    Stage { index: usize, paused: bool },
    HoldbackPeriod { paused: bool },
    Released,
    Killed,
}

impl Phase {
    fn is_live(self) -> bool {
        matches!(self, Phase::Stage { .. } | Phase::HoldbackPeriod { .. })
    }

    fn is_paused(self) -> bool {
        matches!(self, Phase::Stage { paused: true, .. } | Phase::HoldbackPeriod { paused: true })
    }

    fn set_paused(&mut self, value: bool) {
        match self {
            Phase::Stage { paused, .. } | Phase::HoldbackPeriod { paused } => *paused = value,
            _ => unreachable!("only a live phase can be paused"),
        }
    }
}

/// The rollout policy of one build (and of the builds that replace it after a kill).
#[derive(Clone, Debug)]
pub struct Policy<'a> {
    config: &'a PolicyConfig,
    record_evaluations: bool,
    build: BuildId,
    killed: Vec<BuildId>,
    phase: Phase,
    /// When the current stage or holdback period began.
    since: Minutes,
    /// One cumulative snapshot per exposure of the current build: the guardrails' strata.
    strata: Vec<Telemetry>,
    approvals: Vec<bool>,
    /// Consecutive breaching evaluations, per guardrail.
    streaks: Vec<u32>,
}

impl<'a> Policy<'a> {
    pub fn new(config: &'a PolicyConfig, build: BuildId) -> Policy<'a> {
        config.assert_valid();
        Policy {
            config,
            record_evaluations: false,
            build,
            killed: Vec::new(),
            phase: Phase::Pending,
            since: Minutes::ZERO,
            strata: Vec::new(),
            approvals: vec![false; config.stages.len()],
            streaks: vec![0; config.guardrails.len()],
        }
    }

    /// Also record every guardrail evaluation as an event (for `explain`; off in Monte Carlo runs).
    pub fn recording_evaluations(mut self) -> Policy<'a> {
        self.record_evaluations = true;
        self
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    pub fn build(&self) -> &BuildId {
        &self.build
    }

    pub fn config(&self) -> &PolicyConfig {
        self.config
    }

    fn enter_stage(&mut self, now: Minutes, index: usize, step: &mut Step) {
        let share = self.config.stages[index].share;
        debug_assert!(
            share <= self.config.layout().max_exposure(),
            "exposure would reach the holdback"
        );
        self.phase = Phase::Stage { index, paused: false };
        self.since = now;
        self.strata.push(Telemetry::default());
        step.actions.push(Action::Expose { build: self.build.clone(), share });
        step.event(now, EventKind::StageStarted { build: self.build.clone(), stage: index, share });
    }

    fn kill(&mut self, now: Minutes, reason: Reason, step: &mut Step) {
        self.phase = Phase::Killed;
        self.killed.push(self.build.clone());
        step.actions.push(Action::Kill { build: self.build.clone() });
        step.event(now, EventKind::Killed { build: self.build.clone(), reason });
    }

    fn release(&mut self, now: Minutes, step: &mut Step) {
        self.phase = Phase::Released;
        step.actions.push(Action::Release { build: self.build.clone() });
        step.event(now, EventKind::Released { build: self.build.clone() });
    }

    /// Whether stage `index`'s gate holds now, apart from guardrail breaches.
    fn gate_holds(&self, now: Minutes, index: usize) -> Option<EventKind> {
        let stage = &self.config.stages[index];
        let elapsed = now - self.since;
        let current = self.strata.last().expect("a live stage has a stratum");
        let treatment_sessions = current.cohort(Cohort::Treatment).sessions();
        let holdback_sessions = current.cohort(Cohort::Holdback).sessions();
        let holds = elapsed >= stage.min_duration
            && treatment_sessions >= stage.min_sample
            && holdback_sessions >= stage.min_sample
            && (!stage.approval || self.approvals[index]);
        holds.then_some(EventKind::GateHeld {
            stage: index,
            elapsed,
            treatment_sessions,
            holdback_sessions,
        })
    }

    fn evaluate_guardrails(
        &mut self,
        now: Minutes,
        step: &mut Step,
    ) -> (Option<Evaluation>, Option<Evaluation>) {
        let (mut rollback, mut pause) = (None, None);
        for (i, g) in self.config.guardrails.iter().enumerate() {
            let e = evaluate(i, g, &self.strata);
            if self.record_evaluations {
                step.event(now, EventKind::Evaluated(e));
            }
            if e.verdict != Verdict::Breach {
                self.streaks[i] = 0;
                continue;
            }
            self.streaks[i] += 1;
            if self.streaks[i] >= g.breaches_required {
                let slot = match g.severity {
                    Severity::Rollback => &mut rollback,
                    Severity::Pause => &mut pause,
                };
                slot.get_or_insert(e);
            }
        }
        (rollback, pause)
    }
}

impl Controller for Policy<'_> {
    fn start(&mut self, now: Minutes) -> Step {
        assert_eq!(self.phase, Phase::Pending, "a rollout starts once");
        let mut step = Step::default();
        self.enter_stage(now, 0, &mut step);
        step
    }

    fn observe(&mut self, now: Minutes, telemetry: &Telemetry) -> Step {
        let mut step = Step::default();
        if !self.phase.is_live() {
            return step;
        }
        *self.strata.last_mut().expect("a live phase has a stratum") = *telemetry;
        let (rollback, pause) = self.evaluate_guardrails(now, &mut step);
        if let Some(e) = rollback {
            self.kill(now, Reason::Guardrail(e), &mut step);
            return step;
        }
        if let Some(e) = pause {
            if !self.phase.is_paused() {
                self.phase.set_paused(true);
                step.event(now, EventKind::Paused { reason: Reason::Guardrail(e) });
            }
            return step;
        }
        if self.phase.is_paused() || self.streaks.iter().any(|&s| s > 0) {
            return step;
        }
        match self.phase {
            Phase::Stage { index, .. } => {
                if let Some(held) = self.gate_holds(now, index) {
                    step.event(now, held);
                    if index + 1 < self.config.stages.len() {
                        self.enter_stage(now, index + 1, &mut step);
                    } else {
                        self.phase = Phase::HoldbackPeriod { paused: false };
                        self.since = now;
                        step.event(
                            now,
                            EventKind::HoldbackPeriodStarted { build: self.build.clone() },
                        );
                        if self.config.holdback_period == Minutes::ZERO {
                            self.release(now, &mut step);
                        }
                    }
                }
            }
            Phase::HoldbackPeriod { .. } => {
                if now - self.since >= self.config.holdback_period {
                    self.release(now, &mut step);
                }
            }
            _ => unreachable!("checked live above"),
        }
        step
    }

    fn command(&mut self, now: Minutes, command: &Command) -> Step {
        let mut step = Step::default();
        let refuse = |step: &mut Step, why: String| {
            step.event(now, EventKind::Refused { command: command.clone(), why });
        };
        match command {
            Command::Kill { note } if self.phase.is_live() => {
                self.kill(now, Reason::Operator(note.clone()), &mut step);
            }
            Command::Pause { note } if self.phase.is_live() && !self.phase.is_paused() => {
                self.phase.set_paused(true);
                step.event(now, EventKind::Paused { reason: Reason::Operator(note.clone()) });
            }
            Command::Resume { note } if self.phase.is_paused() => {
                self.phase.set_paused(false);
                self.streaks.iter_mut().for_each(|s| *s = 0);
                step.event(now, EventKind::Resumed { note: note.clone() });
            }
            Command::Resume { .. } if self.phase == Phase::Killed => refuse(
                &mut step,
                format!(
                    "build {} was killed; only a new build id can resume the rollout",
                    self.build
                ),
            ),
            Command::Approve { stage } if *stage < self.approvals.len() => {
                self.approvals[*stage] = true;
                step.event(now, EventKind::Approved { stage: *stage });
            }
            Command::NewBuild { build } if self.phase == Phase::Killed => {
                if self.killed.contains(build) {
                    refuse(
                        &mut step,
                        format!("build {build} was killed; resuming needs a build id never killed"),
                    );
                } else {
                    self.build = build.clone();
                    self.strata.clear();
                    self.approvals.iter_mut().for_each(|a| *a = false);
                    self.streaks.iter_mut().for_each(|s| *s = 0);
                    self.enter_stage(now, self.config.resume_stage, &mut step);
                }
            }
            Command::NewBuild { .. } => refuse(
                &mut step,
                format!(
                    "a new build replaces a killed one, and build {} is not killed",
                    self.build
                ),
            ),
            _ => refuse(
                &mut step,
                format!("nothing to {} while the rollout is {:?}", command.name(), self.phase),
            ),
        }
        step
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Guardrail, Method, Stage};
    use crate::metric::Metric;
    use crate::units::Share;
    use rollcage_stats::{Direction, Moments};

    fn config() -> PolicyConfig {
        let stage = |bp: u16, approval: bool| Stage {
            share: Share::from_basis_points(bp).unwrap(),
            min_duration: Minutes(120),
            min_sample: 10,
            approval,
        };
        PolicyConfig {
            stages: vec![stage(100, false), stage(2_500, true), stage(9_500, false)],
            holdback: Share::from_basis_points(500).unwrap(),
            holdback_period: Minutes(60),
            guardrails: vec![Guardrail {
                name: "crash-critical".into(),
                metric: Metric::CrashRate,
                direction: Direction::Increase,
                method: Method::Threshold { limit: 0.5 },
                min_sample: 10,
                severity: Severity::Rollback,
                breaches_required: 2,
            }],
            resume_stage: 0,
        }
    }

    /// A snapshot with `n` sessions per compared cohort and the given treatment crash rate.
    fn telemetry(n: usize, treatment_crash_rate: f64) -> Telemetry {
        let crashes = (n as f64 * treatment_crash_rate).round() as usize;
        let values = |k: usize| -> Vec<[f64; 1]> {
            (0..n).map(|i| [if i < k { 1.0 } else { 0.0 }]).collect()
        };
        let mut t = Telemetry::default();
        let tv = values(crashes);
        let hv = values(0);
        t.cohorts[Cohort::Treatment.index()].metrics[0] =
            Moments::from_players(tv.iter().map(|v| v.as_slice()));
        t.cohorts[Cohort::Holdback.index()].metrics[0] =
            Moments::from_players(hv.iter().map(|v| v.as_slice()));
        t
    }

    fn exposures(step: &Step) -> Vec<u16> {
        step.actions
            .iter()
            .filter_map(|a| match a {
                Action::Expose { share, .. } => Some(share.basis_points()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_clean_rollout_walks_every_gate_and_is_released() {
        let config = config();
        let mut p = Policy::new(&config, BuildId::new("1.4.0"));
        assert_eq!(exposures(&p.start(Minutes(0))), vec![100]);
        // Too early: the minimum duration has not passed.
        assert!(exposures(&p.observe(Minutes(60), &telemetry(50, 0.0))).is_empty());
        assert_eq!(exposures(&p.observe(Minutes(120), &telemetry(50, 0.0))), vec![2_500]);
        // Stage 2 needs an approval.
        assert!(exposures(&p.observe(Minutes(240), &telemetry(50, 0.0))).is_empty());
        p.command(Minutes(250), &Command::Approve { stage: 1 });
        assert_eq!(exposures(&p.observe(Minutes(300), &telemetry(50, 0.0))), vec![9_500]);
        p.observe(Minutes(420), &telemetry(50, 0.0));
        assert_eq!(p.phase(), Phase::HoldbackPeriod { paused: false });
        let done = p.observe(Minutes(480), &telemetry(50, 0.0));
        assert_eq!(done.actions, vec![Action::Release { build: BuildId::new("1.4.0") }]);
        assert_eq!(p.phase(), Phase::Released);
    }

    #[test]
    fn too_few_samples_hold_the_gate() {
        let config = config();
        let mut p = Policy::new(&config, BuildId::new("1.4.0"));
        p.start(Minutes(0));
        assert!(exposures(&p.observe(Minutes(600), &telemetry(9, 0.0))).is_empty());
        assert_eq!(p.phase(), Phase::Stage { index: 0, paused: false });
    }

    #[test]
    fn a_breach_kills_only_after_the_required_streak() {
        let config = config();
        let mut p = Policy::new(&config, BuildId::new("1.4.0"));
        p.start(Minutes(0));
        let first = p.observe(Minutes(60), &telemetry(50, 0.9));
        assert!(first.actions.is_empty(), "one breach of two required");
        let second = p.observe(Minutes(120), &telemetry(50, 0.9));
        assert_eq!(second.actions, vec![Action::Kill { build: BuildId::new("1.4.0") }]);
        assert!(
            matches!(&second.events[0].kind, EventKind::Killed { reason: Reason::Guardrail(e), .. } if e.verdict == Verdict::Breach)
        );
        assert_eq!(p.phase(), Phase::Killed);
        // Telemetry after a kill changes nothing.
        assert_eq!(p.observe(Minutes(180), &telemetry(50, 0.0)), Step::default());
    }

    #[test]
    fn a_killed_build_resumes_only_under_a_new_id() {
        let config = config();
        let mut p = Policy::new(&config, BuildId::new("1.4.0"));
        p.start(Minutes(0));
        p.command(Minutes(30), &Command::Kill { note: "bug report".into() });
        let resume = p.command(Minutes(40), &Command::Resume { note: "try again".into() });
        assert!(resume.actions.is_empty());
        assert!(matches!(resume.events[0].kind, EventKind::Refused { .. }));
        let same = p.command(Minutes(50), &Command::NewBuild { build: BuildId::new("1.4.0") });
        assert!(same.actions.is_empty());
        let fixed = p.command(Minutes(60), &Command::NewBuild { build: BuildId::new("1.4.1") });
        assert_eq!(
            fixed.actions,
            vec![Action::Expose {
                build: BuildId::new("1.4.1"),
                share: Share::from_basis_points(100).unwrap()
            }]
        );
        assert_eq!(p.build().as_str(), "1.4.1");
    }

    #[test]
    fn pause_holds_the_stage_until_an_operator_resumes() {
        let config = config();
        let mut p = Policy::new(&config, BuildId::new("1.4.0"));
        p.start(Minutes(0));
        p.command(Minutes(10), &Command::Pause { note: "investigating".into() });
        assert!(exposures(&p.observe(Minutes(180), &telemetry(50, 0.0))).is_empty());
        p.command(Minutes(190), &Command::Resume { note: "false alarm".into() });
        assert_eq!(exposures(&p.observe(Minutes(240), &telemetry(50, 0.0))), vec![2_500]);
    }
}
