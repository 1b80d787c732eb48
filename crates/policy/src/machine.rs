//! The rollout state machine.
//!
//! ```text
//! Pending -> Stage 1 -> gate -> Stage 2 -> ... -> Stage n -> gate -> Holdback period -> Released
//!            any live phase -> Paused -> (operator resume) -> the same phase
//!            any live phase -> release kill -> RollingBack(step i, attempt j) -> RolledBack
//!                                                                            -> RollbackFailed
//!            RolledBack | RollbackFailed -> (operator new_build, an id never killed) -> Stage r
//! ```
//!
//! A stage's gate holds when the stage has lasted its minimum duration, each compared cohort has
//! reported its minimum sample during the stage, no guardrail is in breach, and, where the stage
//! asks for one, an operator has approved. Guardrails are evaluated on every telemetry snapshot in
//! every live phase, paused or not; a breach acts once it has lasted the guardrail's required
//! number of consecutive evaluations. A `pause` breach stops the rollout where it is. A
//! `rollback` breach kills what the guardrail's scope names: the release (and the rollback plan
//! runs step by step, each step retried with doubling backoff until its retries run out), one
//! feature, or the breaching segment cell (both switched off at once while the rollout goes on,
//! and the evidence restarts, since what it measured no longer runs). A killed build never comes
//! back: the rollout resumes only with a new build id, once its rollback has ended.

use crate::config::{PolicyConfig, Scope, Severity};
use crate::event::{Action, BuildId, Command, Event, EventKind, KillScope, Reason, StepResult};
use crate::guardrail::{Evaluation, Verdict, evaluate};
use crate::telemetry::{Cohort, MAX_CELLS, Telemetry};
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
    /// A rollback step attempt has ended.
    fn step_result(&mut self, _now: Minutes, _result: &StepResult) -> Step {
        Step::default()
    }
}

/// Where the rollout stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Pending,
    Stage {
        index: usize,
        paused: bool,
    },
    HoldbackPeriod {
        paused: bool,
    },
    /// The release was killed and its rollback plan is running.
    RollingBack {
        step: usize,
        attempt: u32,
    },
    RolledBack,
    RollbackFailed,
    Released,
}

impl Phase {
    fn is_live(self) -> bool {
        matches!(self, Phase::Stage { .. } | Phase::HoldbackPeriod { .. })
    }

    fn is_paused(self) -> bool {
        matches!(self, Phase::Stage { paused: true, .. } | Phase::HoldbackPeriod { paused: true })
    }

    fn is_killed(self) -> bool {
        matches!(self, Phase::RollingBack { .. } | Phase::RolledBack | Phase::RollbackFailed)
    }

    fn set_paused(&mut self, value: bool) {
        match self {
            Phase::Stage { paused, .. } | Phase::HoldbackPeriod { paused } => *paused = value,
            _ => unreachable!("only a live phase can be paused"),
        }
    }
}

/// The breaches an evaluation round asks to act on.
#[derive(Default)]
struct Breaches {
    release: Option<Evaluation>,
    pause: Option<Evaluation>,
    partial: Vec<(KillScope, Evaluation)>,
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
    /// Consecutive breaching evaluations, per guardrail and segment cell (cell 0 for guardrails
    /// evaluated over everyone).
    streaks: Vec<[u32; MAX_CELLS]>,
    killed_features: Vec<bool>,
    killed_cells: Vec<bool>,
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
            streaks: vec![[0; MAX_CELLS]; config.guardrails.len()],
            killed_features: vec![false; config.features.len()],
            killed_cells: vec![false; config.cells.len()],
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

    fn run_step(
        &mut self,
        now: Minutes,
        index: usize,
        attempt: u32,
        start: Minutes,
        step: &mut Step,
    ) {
        self.phase = Phase::RollingBack { step: index, attempt };
        step.actions.push(Action::RunStep {
            build: self.build.clone(),
            step: index,
            attempt,
            start,
        });
        if start == now {
            step.event(now, EventKind::StepStarted { step: index, attempt });
        }
    }

    fn kill(&mut self, now: Minutes, scope: KillScope, reason: Reason, step: &mut Step) {
        step.actions.push(Action::Kill { build: self.build.clone(), scope });
        step.event(now, EventKind::Killed { build: self.build.clone(), scope, reason });
        match scope {
            KillScope::Release => {
                self.killed.push(self.build.clone());
                self.run_step(now, 0, 1, now, step);
            }
            KillScope::Feature(f) => self.killed_features[f] = true,
            KillScope::Segment(c) => self.killed_cells[c] = true,
        }
        if scope != KillScope::Release {
            // What the evidence measured no longer runs: start over, as after a new exposure.
            self.strata.push(Telemetry::default());
            self.strata.drain(..self.strata.len() - 1);
            self.streaks.iter_mut().for_each(|s| *s = [0; MAX_CELLS]);
        }
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

    fn evaluate_guardrails(&mut self, now: Minutes, step: &mut Step) -> Breaches {
        let mut breaches = Breaches::default();
        let cells = self.config.cells.len();
        for (i, g) in self.config.guardrails.iter().enumerate() {
            let targets: Vec<Option<usize>> = match g.scope {
                Scope::Segment => (0..cells).filter(|&c| !self.killed_cells[c]).map(Some).collect(),
                Scope::Release | Scope::Feature(_) => vec![None],
            };
            let looks = if g.scope == Scope::Segment { cells } else { 1 };
            for cell in targets {
                let e = evaluate(i, g, &self.strata, cell, looks);
                if self.record_evaluations {
                    step.event(now, EventKind::Evaluated(e));
                }
                let streak = &mut self.streaks[i][cell.unwrap_or(0)];
                if e.verdict != Verdict::Breach {
                    *streak = 0;
                    continue;
                }
                *streak += 1;
                if *streak < g.breaches_required {
                    continue;
                }
                match (g.severity, g.scope) {
                    (Severity::Pause, _) => {
                        breaches.pause.get_or_insert(e);
                    }
                    (Severity::Rollback, Scope::Release) => {
                        breaches.release.get_or_insert(e);
                    }
                    (Severity::Rollback, Scope::Feature(f)) if !self.killed_features[f] => {
                        breaches.partial.push((KillScope::Feature(f), e));
                    }
                    (Severity::Rollback, Scope::Segment) => {
                        breaches.partial.push((
                            KillScope::Segment(cell.expect("a segment guardrail has a cell")),
                            e,
                        ));
                    }
                    (Severity::Rollback, Scope::Feature(_)) => {}
                }
            }
        }
        breaches
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
        let breaches = self.evaluate_guardrails(now, &mut step);
        if let Some(e) = breaches.release {
            self.kill(now, KillScope::Release, Reason::Guardrail(e), &mut step);
            return step;
        }
        let mut partial = breaches.partial;
        partial.dedup_by_key(|(scope, _)| *scope);
        for (scope, e) in partial {
            self.kill(now, scope, Reason::Guardrail(e), &mut step);
        }
        if let Some(e) = breaches.pause {
            if !self.phase.is_paused() {
                self.phase.set_paused(true);
                step.event(now, EventKind::Paused { reason: Reason::Guardrail(e) });
            }
            return step;
        }
        if self.phase.is_paused()
            || self.streaks.iter().any(|s| s.iter().any(|&n| n > 0))
            || !step.actions.is_empty()
        {
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

    fn step_result(&mut self, now: Minutes, result: &StepResult) -> Step {
        let mut step = Step::default();
        let Phase::RollingBack { step: current, attempt } = self.phase else { return step };
        if (result.step, result.attempt) != (current, attempt) {
            return step;
        }
        if result.succeeded {
            step.event(now, EventKind::StepSucceeded { step: current, attempt });
            if current + 1 < self.config.rollback.len() {
                self.run_step(now, current + 1, 1, now, &mut step);
            } else {
                self.phase = Phase::RolledBack;
                step.event(now, EventKind::RolledBack { build: self.build.clone() });
            }
            return step;
        }
        let planned = &self.config.rollback[current];
        if attempt <= planned.retries {
            let wait = Minutes(planned.backoff.0.saturating_mul(1 << (attempt - 1).min(16)));
            let retry_at = now + wait;
            step.event(
                now,
                EventKind::StepFailed { step: current, attempt, retry_at: Some(retry_at) },
            );
            self.run_step(now, current, attempt + 1, retry_at, &mut step);
        } else {
            self.phase = Phase::RollbackFailed;
            step.event(now, EventKind::StepFailed { step: current, attempt, retry_at: None });
            step.event(now, EventKind::RollbackFailed { build: self.build.clone(), step: current });
        }
        step
    }

    fn command(&mut self, now: Minutes, command: &Command) -> Step {
        let mut step = Step::default();
        let refuse = |step: &mut Step, why: String| {
            step.event(now, EventKind::Refused { command: command.clone(), why });
        };
        match command {
            Command::Kill { note, scope } if self.phase.is_live() => {
                let already = match *scope {
                    KillScope::Release => false,
                    KillScope::Feature(f) => self.killed_features[f],
                    KillScope::Segment(c) => self.killed_cells[c],
                };
                if already {
                    refuse(&mut step, "that part of the release is already killed".to_string());
                } else {
                    self.kill(now, *scope, Reason::Operator(note.clone()), &mut step);
                }
            }
            Command::Pause { note } if self.phase.is_live() && !self.phase.is_paused() => {
                self.phase.set_paused(true);
                step.event(now, EventKind::Paused { reason: Reason::Operator(note.clone()) });
            }
            Command::Resume { note } if self.phase.is_paused() => {
                self.phase.set_paused(false);
                self.streaks.iter_mut().for_each(|s| *s = [0; MAX_CELLS]);
                step.event(now, EventKind::Resumed { note: note.clone() });
            }
            Command::Resume { .. } if self.phase.is_killed() => refuse(
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
            Command::NewBuild { .. } if matches!(self.phase, Phase::RollingBack { .. }) => refuse(
                &mut step,
                format!(
                    "the rollback of build {} is still running; a new build waits until it ends",
                    self.build
                ),
            ),
            Command::NewBuild { build } if self.phase.is_killed() => {
                if self.killed.contains(build) {
                    refuse(
                        &mut step,
                        format!("build {build} was killed; resuming needs a build id never killed"),
                    );
                } else {
                    self.build = build.clone();
                    self.strata.clear();
                    self.approvals.iter_mut().for_each(|a| *a = false);
                    self.streaks.iter_mut().for_each(|s| *s = [0; MAX_CELLS]);
                    self.killed_features.iter_mut().for_each(|k| *k = false);
                    self.killed_cells.iter_mut().for_each(|k| *k = false);
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
    use crate::config::{Guardrail, Method, PlannedStep, Restore, Stage, StepKind};
    use crate::metric::Metric;
    use crate::units::Share;
    use rollcage_stats::{Direction, Moments};

    fn guardrail(scope: Scope, limit: f64) -> Guardrail {
        Guardrail {
            name: "crash-critical".into(),
            metric: Metric::CrashRate,
            direction: Direction::Increase,
            method: Method::Threshold { limit },
            min_sample: 10,
            severity: Severity::Rollback,
            breaches_required: 2,
            scope,
        }
    }

    fn config() -> PolicyConfig {
        let stage = |bp: u16, approval: bool| Stage {
            share: Share::from_basis_points(bp).unwrap(),
            min_duration: Minutes(120),
            min_sample: 10,
            approval,
        };
        let planned = |kind, retries| PlannedStep { kind, retries, backoff: Minutes(10) };
        PolicyConfig {
            stages: vec![stage(100, false), stage(2_500, true), stage(9_500, false)],
            holdback: Share::from_basis_points(500).unwrap(),
            holdback_period: Minutes(60),
            guardrails: vec![guardrail(Scope::Release, 0.5)],
            resume_stage: 0,
            rollback: vec![
                planned(StepKind::StopExposure, 0),
                planned(StepKind::RevertMigration, 2),
                planned(StepKind::RestorePlayers(Restore::Replay), 0),
            ],
            features: vec!["exchange-v2".into(), "daily-quests".into()],
            cells: vec!["ios".into(), "pc".into()],
        }
    }

    fn binary(n: usize, k: usize) -> Moments {
        let values: Vec<[f64; 1]> = (0..n).map(|i| [if i < k { 1.0 } else { 0.0 }]).collect();
        Moments::from_players(values.iter().map(|v| v.as_slice()))
    }

    /// `n` sessions per compared cohort in each of two cells, with the given treatment crash rates.
    fn cells(n: usize, ios: f64, pc: f64) -> Telemetry {
        let mut t = Telemetry::default();
        for (cell, rate) in [(0, ios), (1, pc)] {
            t.cohorts[Cohort::Treatment.index()].cells[cell][0] =
                binary(n, (n as f64 * rate).round() as usize);
            t.cohorts[Cohort::Holdback.index()].cells[cell][0] = binary(n, 0);
        }
        t
    }

    fn telemetry(n: usize, rate: f64) -> Telemetry {
        cells(n, rate, rate)
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

    fn result(step: usize, attempt: u32, succeeded: bool) -> StepResult {
        StepResult { step, attempt, succeeded }
    }

    #[test]
    fn a_clean_rollout_walks_every_gate_and_is_released() {
        let config = config();
        let mut p = Policy::new(&config, BuildId::new("1.4.0"));
        assert_eq!(exposures(&p.start(Minutes(0))), vec![100]);
        // Too early: the minimum duration has not passed.
        assert!(exposures(&p.observe(Minutes(60), &telemetry(25, 0.0))).is_empty());
        assert_eq!(exposures(&p.observe(Minutes(120), &telemetry(25, 0.0))), vec![2_500]);
        // Stage 2 needs an approval.
        assert!(exposures(&p.observe(Minutes(240), &telemetry(25, 0.0))).is_empty());
        p.command(Minutes(250), &Command::Approve { stage: 1 });
        assert_eq!(exposures(&p.observe(Minutes(300), &telemetry(25, 0.0))), vec![9_500]);
        p.observe(Minutes(420), &telemetry(25, 0.0));
        assert_eq!(p.phase(), Phase::HoldbackPeriod { paused: false });
        let done = p.observe(Minutes(480), &telemetry(25, 0.0));
        assert_eq!(done.actions, vec![Action::Release { build: BuildId::new("1.4.0") }]);
        assert_eq!(p.phase(), Phase::Released);
    }

    #[test]
    fn too_few_samples_hold_the_gate() {
        let config = config();
        let mut p = Policy::new(&config, BuildId::new("1.4.0"));
        p.start(Minutes(0));
        assert!(exposures(&p.observe(Minutes(600), &telemetry(4, 0.0))).is_empty());
        assert_eq!(p.phase(), Phase::Stage { index: 0, paused: false });
    }

    #[test]
    fn a_breach_kills_only_after_the_required_streak_and_the_plan_runs() {
        let config = config();
        let mut p = Policy::new(&config, BuildId::new("1.4.0"));
        p.start(Minutes(0));
        let first = p.observe(Minutes(60), &telemetry(25, 0.9));
        assert!(first.actions.is_empty(), "one breach of two required");
        let second = p.observe(Minutes(120), &telemetry(25, 0.9));
        let build = BuildId::new("1.4.0");
        assert_eq!(
            second.actions,
            vec![
                Action::Kill { build: build.clone(), scope: KillScope::Release },
                Action::RunStep { build: build.clone(), step: 0, attempt: 1, start: Minutes(120) },
            ]
        );
        assert!(
            matches!(&second.events[0].kind, EventKind::Killed { reason: Reason::Guardrail(e), .. } if e.verdict == Verdict::Breach)
        );
        assert_eq!(p.phase(), Phase::RollingBack { step: 0, attempt: 1 });
        // Telemetry during a rollback changes nothing.
        assert_eq!(p.observe(Minutes(180), &telemetry(25, 0.0)), Step::default());
        let next = p.step_result(Minutes(125), &result(0, 1, true));
        assert_eq!(
            next.actions,
            vec![Action::RunStep {
                build: build.clone(),
                step: 1,
                attempt: 1,
                start: Minutes(125)
            }]
        );
        p.step_result(Minutes(130), &result(1, 1, true));
        let done = p.step_result(Minutes(150), &result(2, 1, true));
        assert!(done.actions.is_empty());
        assert!(matches!(done.events.last().unwrap().kind, EventKind::RolledBack { .. }));
        assert_eq!(p.phase(), Phase::RolledBack);
    }

    #[test]
    fn failed_steps_retry_with_doubling_backoff_then_fail_the_rollback_explicitly() {
        let config = config();
        let mut p = Policy::new(&config, BuildId::new("1.4.0"));
        p.start(Minutes(0));
        p.command(Minutes(5), &Command::Kill { note: "bug".into(), scope: KillScope::Release });
        p.step_result(Minutes(5), &result(0, 1, true));
        let build = BuildId::new("1.4.0");
        let retry = p.step_result(Minutes(20), &result(1, 1, false));
        assert_eq!(
            retry.actions,
            vec![Action::RunStep { build: build.clone(), step: 1, attempt: 2, start: Minutes(30) }]
        );
        // A result for an attempt that is not running is stale and ignored.
        assert_eq!(p.step_result(Minutes(21), &result(1, 1, false)), Step::default());
        let again = p.step_result(Minutes(40), &result(1, 2, false));
        assert_eq!(
            again.actions,
            vec![Action::RunStep { build, step: 1, attempt: 3, start: Minutes(60) }]
        );
        let failed = p.step_result(Minutes(70), &result(1, 3, false));
        assert!(failed.actions.is_empty());
        assert!(matches!(
            failed.events.last().unwrap().kind,
            EventKind::RollbackFailed { step: 1, .. }
        ));
        assert_eq!(p.phase(), Phase::RollbackFailed);
    }

    #[test]
    fn a_killed_build_resumes_only_under_a_new_id_once_its_rollback_ended() {
        let config = config();
        let mut p = Policy::new(&config, BuildId::new("1.4.0"));
        p.start(Minutes(0));
        p.command(
            Minutes(30),
            &Command::Kill { note: "bug report".into(), scope: KillScope::Release },
        );
        let early = p.command(Minutes(35), &Command::NewBuild { build: BuildId::new("1.4.1") });
        assert!(early.actions.is_empty(), "the rollback is still running");
        for s in 0..3 {
            p.step_result(Minutes(36), &result(s, 1, true));
        }
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
    fn a_feature_kill_switches_one_feature_off_and_the_rollout_goes_on() {
        let mut config = config();
        config.guardrails = vec![guardrail(Scope::Feature(1), 0.5)];
        let mut p = Policy::new(&config, BuildId::new("1.4.0"));
        p.start(Minutes(0));
        p.observe(Minutes(60), &telemetry(25, 0.9));
        let kill = p.observe(Minutes(120), &telemetry(25, 0.9));
        assert_eq!(
            kill.actions,
            vec![Action::Kill { build: BuildId::new("1.4.0"), scope: KillScope::Feature(1) }]
        );
        assert_eq!(p.phase(), Phase::Stage { index: 0, paused: false });
        // The evidence restarted: the old breach no longer holds the gate once the new data is clean.
        assert_eq!(exposures(&p.observe(Minutes(180), &telemetry(25, 0.0))), vec![2_500]);
    }

    #[test]
    fn a_segment_guardrail_kills_only_the_breaching_cell() {
        let mut config = config();
        config.guardrails =
            vec![Guardrail { breaches_required: 1, ..guardrail(Scope::Segment, 0.5) }];
        let mut p = Policy::new(&config, BuildId::new("1.4.0"));
        p.start(Minutes(0));
        let kill = p.observe(Minutes(60), &cells(25, 0.0, 0.9));
        assert_eq!(
            kill.actions,
            vec![Action::Kill { build: BuildId::new("1.4.0"), scope: KillScope::Segment(1) }]
        );
        // The killed cell is no longer evaluated.
        assert!(
            p.observe(Minutes(120), &cells(25, 0.0, 0.9))
                .actions
                .iter()
                .all(|a| !matches!(a, Action::Kill { .. }))
        );
    }

    #[test]
    fn pause_holds_the_stage_until_an_operator_resumes() {
        let config = config();
        let mut p = Policy::new(&config, BuildId::new("1.4.0"));
        p.start(Minutes(0));
        p.command(Minutes(10), &Command::Pause { note: "investigating".into() });
        assert!(exposures(&p.observe(Minutes(180), &telemetry(25, 0.0))).is_empty());
        p.command(Minutes(190), &Command::Resume { note: "false alarm".into() });
        assert_eq!(exposures(&p.observe(Minutes(240), &telemetry(25, 0.0))), vec![2_500]);
    }
}
