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
//! feature, or the breaching segment cell (both switched off at once while the rollout goes on).
//! A killed build never comes back: the rollout resumes only with a new build id, once its
//! rollback has ended.
//!
//! Alpha is spent once per release. After a partial kill the guardrails' evidence starts over,
//! since what it measured no longer runs, but not their error budgets: every guardrail and cell
//! goes on from what its earlier looks spent ([`Memory::carry_over`]), a guardrail that breached
//! stays breached for Holm, and the killed cell's own evaluation stops. Comparisons over everyone
//! leave the killed cells out. Only a new build, replacing a killed one, starts with a whole
//! budget.
//!
//! The submodules are the parts of the machine: `looks` evaluates the guardrails and the data
//! checks on a telemetry snapshot, `kills` acts on breaches and runs the rollback plan, and
//! `schedule` walks the stages, their gates and the holdback period.

mod kills;
mod looks;
mod schedule;

use crate::event::{Action, Event, EventKind, Reason, StepResult};
use crate::guardrail::Memory;
use crate::telemetry::{MAX_CELLS, Telemetry};
use rollcage_model::Minutes;
use rollcage_model::PolicyConfig;
use rollcage_model::{BuildId, Command, KillScope};

/// What a controller asks of the world and what it records, after one input.
#[derive(Debug, Default, PartialEq)]
pub struct Response {
    pub actions: Vec<Action>,
    pub events: Vec<Event>,
}

impl Response {
    fn event(&mut self, at: Minutes, kind: EventKind) {
        self.events.push(Event { at, kind });
    }
}

/// Anything that can run a rollout: [`Policy`] in production use, deliberately broken controllers
/// in the tests that show each oracle catches the bug it guards against.
pub trait Controller {
    /// The rollout begins.
    fn start(&mut self, now: Minutes) -> Response;
    /// A telemetry snapshot arrives (cumulative since the current exposure began).
    fn observe(&mut self, now: Minutes, telemetry: &Telemetry) -> Response;
    /// An operator intervenes.
    fn command(&mut self, now: Minutes, command: &Command) -> Response;
    /// A rollback step attempt has ended.
    fn step_result(&mut self, _now: Minutes, _result: &StepResult) -> Response {
        Response::default()
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
            Phase::Pending
            | Phase::RollingBack { .. }
            | Phase::RolledBack
            | Phase::RollbackFailed
            | Phase::Released => unreachable!("only a live phase can be paused"),
        }
    }
}

/// The rollout policy of one build (and of the builds that replace it after a kill).
#[derive(Clone, Debug)]
pub struct Policy<'a> {
    config: &'a PolicyConfig,
    record_evaluations: bool,
    /// Evaluate and record, never act on a breach or a data-quality check (see [`Policy::dry_run`]).
    dry_run: bool,
    build: BuildId,
    killed: Vec<BuildId>,
    phase: Phase,
    /// When the current stage or holdback period began.
    since: Minutes,
    /// One cumulative snapshot per exposure of the current build: the guardrails' strata.
    strata: Vec<Telemetry>,
    /// The strata a partial kill took out of the comparison: the holdback's players in them are
    /// the same players, untouched by the kill, and still teach its variance.
    history: Vec<Telemetry>,
    approvals: Vec<bool>,
    /// Consecutive breaching evaluations, per guardrail and segment cell (cell 0 for guardrails
    /// evaluated over everyone).
    streaks: Vec<[u32; MAX_CELLS]>,
    /// What each guardrail's method remembers, per segment cell (cell 0 for everyone).
    memories: Vec<Vec<Memory>>,
    /// Guardrails that have breached for the current build (Holm passes their alpha on).
    breached: Vec<bool>,
    /// Consecutive looks without new telemetry.
    silent_looks: u32,
    /// The time the last snapshot acted on was complete up to.
    last_as_of: Option<Minutes>,
    killed_features: Vec<bool>,
    killed_cells: Vec<bool>,
}

impl<'a> Policy<'a> {
    pub fn new(config: &'a PolicyConfig, build: BuildId) -> Policy<'a> {
        config.assert_valid();
        Policy {
            config,
            record_evaluations: false,
            dry_run: false,
            build,
            killed: Vec::new(),
            phase: Phase::Pending,
            since: Minutes::ZERO,
            strata: Vec::new(),
            history: Vec::new(),
            approvals: vec![false; config.stages.len()],
            streaks: vec![[0; MAX_CELLS]; config.guardrails.len()],
            memories: vec![vec![Memory::new(); config.cells.len()]; config.guardrails.len()],
            breached: vec![false; config.guardrails.len()],
            silent_looks: 0,
            last_as_of: None,
            killed_features: vec![false; config.features.len()],
            killed_cells: vec![false; config.cells.len()],
        }
    }

    /// Also record every guardrail evaluation as an event (for `explain`; off in Monte Carlo runs).
    pub fn recording_evaluations(mut self) -> Policy<'a> {
        self.record_evaluations = true;
        self
    }

    /// Evaluates every guardrail and check as usual but acts on none: no breach kills, pauses or
    /// holds a gate, and no data-quality check pauses, so the rollout follows its schedule as a
    /// clean run does. For measuring what the guardrails see on every run (`calibrate-se`), never
    /// for deciding.
    pub fn dry_run(mut self) -> Policy<'a> {
        self.dry_run = true;
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
}

impl Controller for Policy<'_> {
    fn start(&mut self, now: Minutes) -> Response {
        assert_eq!(self.phase, Phase::Pending, "a rollout starts once");
        let mut response = Response::default();
        self.enter_stage(now, 0, &mut response);
        response
    }

    fn observe(&mut self, now: Minutes, telemetry: &Telemetry) -> Response {
        let mut response = Response::default();
        if !self.phase.is_live() {
            return response;
        }
        let fresh = self.take_snapshot(telemetry);
        let mut breaches = self.evaluate_guardrails(now, fresh, &mut response);
        if fresh {
            self.check_sample_ratio(now, &mut breaches, &mut response);
        }
        if self.act_on(now, breaches, &mut response).is_break() {
            return response;
        }
        if !fresh {
            // The gate never holds on a look that brought no data.
            return response;
        }
        if self.phase.is_paused()
            || self.streaks.iter().any(|s| s.iter().any(|&n| n > 0))
            || !response.actions.is_empty()
        {
            return response;
        }
        self.follow_schedule(now, &mut response);
        response
    }

    fn step_result(&mut self, now: Minutes, result: &StepResult) -> Response {
        let mut response = Response::default();
        let Phase::RollingBack { step: current, attempt } = self.phase else { return response };
        if (result.step, result.attempt) != (current, attempt) {
            return response;
        }
        if result.succeeded {
            response.event(now, EventKind::StepSucceeded { step: current, attempt });
            if current + 1 < self.config.rollback.len() {
                self.run_step(now, current + 1, 1, now, &mut response);
            } else {
                self.phase = Phase::RolledBack;
                response.event(now, EventKind::RolledBack { build: self.build.clone() });
            }
            return response;
        }
        let planned = &self.config.rollback[current];
        if attempt <= planned.retries {
            let wait = Minutes(planned.backoff.0.saturating_mul(1 << (attempt - 1).min(16)));
            let retry_at = now + wait;
            response.event(
                now,
                EventKind::StepFailed { step: current, attempt, retry_at: Some(retry_at) },
            );
            self.run_step(now, current, attempt + 1, retry_at, &mut response);
        } else {
            self.phase = Phase::RollbackFailed;
            response.event(now, EventKind::StepFailed { step: current, attempt, retry_at: None });
            response
                .event(now, EventKind::RollbackFailed { build: self.build.clone(), step: current });
        }
        response
    }

    fn command(&mut self, now: Minutes, command: &Command) -> Response {
        let mut response = Response::default();
        let refuse = |response: &mut Response, why: String| {
            response.event(now, EventKind::Refused { command: command.clone(), why });
        };
        match command {
            Command::Kill { note, scope } if self.phase.is_live() => {
                let already = match *scope {
                    KillScope::Release => false,
                    KillScope::Feature(f) => self.killed_features[f],
                    KillScope::Segment(c) => self.killed_cells[c],
                };
                if already {
                    refuse(&mut response, "that part of the release is already killed".to_string());
                } else {
                    self.kill(now, *scope, Reason::Operator(note.clone()), &mut response);
                }
            }
            Command::Pause { note } if self.phase.is_live() && !self.phase.is_paused() => {
                self.phase.set_paused(true);
                response.event(now, EventKind::Paused { reason: Reason::Operator(note.clone()) });
            }
            Command::Resume { note } if self.phase.is_paused() => {
                self.phase.set_paused(false);
                self.streaks.iter_mut().for_each(|s| *s = [0; MAX_CELLS]);
                response.event(now, EventKind::Resumed { note: note.clone() });
            }
            Command::Resume { .. } if self.phase.is_killed() => refuse(
                &mut response,
                format!(
                    "build {} was killed; only a new build id can resume the rollout",
                    self.build
                ),
            ),
            Command::Approve { stage } if *stage < self.approvals.len() => {
                self.approvals[*stage] = true;
                response.event(now, EventKind::Approved { stage: *stage });
            }
            Command::NewBuild { .. } if matches!(self.phase, Phase::RollingBack { .. }) => refuse(
                &mut response,
                format!(
                    "the rollback of build {} is still running; a new build waits until it ends",
                    self.build
                ),
            ),
            Command::NewBuild { build } if self.phase.is_killed() => {
                if self.killed.contains(build) {
                    refuse(
                        &mut response,
                        format!("build {build} was killed; resuming needs a build id never killed"),
                    );
                } else {
                    self.build = build.clone();
                    self.strata.clear();
                    self.history.clear();
                    self.approvals.iter_mut().for_each(|a| *a = false);
                    self.forget_evidence();
                    self.killed_features.iter_mut().for_each(|k| *k = false);
                    self.killed_cells.iter_mut().for_each(|k| *k = false);
                    self.enter_stage(now, self.config.resume_stage, &mut response);
                }
            }
            Command::NewBuild { .. } => refuse(
                &mut response,
                format!(
                    "a new build replaces a killed one, and build {} is not killed",
                    self.build
                ),
            ),
            // What the arms above did not take: nothing to do in this phase.
            Command::Kill { .. }
            | Command::Pause { .. }
            | Command::Resume { .. }
            | Command::Approve { .. } => refuse(
                &mut response,
                format!("nothing to {} while the rollout is {:?}", command.name(), self.phase),
            ),
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guardrail::{Evaluation, Verdict};
    use crate::telemetry::Cohort;
    use rollcage_model::Metric;
    use rollcage_model::Share;
    use rollcage_model::{
        Comparison, Guardrail, Method, Multiplicity, PlannedStep, Restore, Scope, Severity,
        SrmCheck, Stage, StepKind,
    };
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
            inconclusive_limit: 0,
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
            cell_shares: vec![0.6, 0.4],
            multiplicity: Multiplicity::None,
            srm: None,
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

    /// A look at minute `at` with a snapshot complete up to then.
    fn look(p: &mut Policy<'_>, at: u32, mut telemetry: Telemetry) -> Response {
        telemetry.as_of = Minutes(at);
        p.observe(Minutes(at), &telemetry)
    }

    fn exposures(response: &Response) -> Vec<u16> {
        response
            .actions
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
        assert!(exposures(&look(&mut p, 60, telemetry(25, 0.0))).is_empty());
        assert_eq!(exposures(&look(&mut p, 120, telemetry(25, 0.0))), vec![2_500]);
        // Stage 2 needs an approval.
        assert!(exposures(&look(&mut p, 240, telemetry(25, 0.0))).is_empty());
        p.command(Minutes(250), &Command::Approve { stage: 1 });
        assert_eq!(exposures(&look(&mut p, 300, telemetry(25, 0.0))), vec![9_500]);
        look(&mut p, 420, telemetry(25, 0.0));
        assert_eq!(p.phase(), Phase::HoldbackPeriod { paused: false });
        let done = look(&mut p, 480, telemetry(25, 0.0));
        assert_eq!(done.actions, vec![Action::Release { build: BuildId::new("1.4.0") }]);
        assert_eq!(p.phase(), Phase::Released);
    }

    #[test]
    fn too_few_samples_hold_the_gate() {
        let config = config();
        let mut p = Policy::new(&config, BuildId::new("1.4.0"));
        p.start(Minutes(0));
        assert!(exposures(&look(&mut p, 600, telemetry(4, 0.0))).is_empty());
        assert_eq!(p.phase(), Phase::Stage { index: 0, paused: false });
    }

    #[test]
    fn a_breach_kills_only_after_the_required_streak_and_the_plan_runs() {
        let config = config();
        let mut p = Policy::new(&config, BuildId::new("1.4.0"));
        p.start(Minutes(0));
        let first = look(&mut p, 60, telemetry(25, 0.9));
        assert!(first.actions.is_empty(), "one breach of two required");
        let second = look(&mut p, 120, telemetry(25, 0.9));
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
        assert_eq!(look(&mut p, 180, telemetry(25, 0.0)), Response::default());
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
        assert_eq!(p.step_result(Minutes(21), &result(1, 1, false)), Response::default());
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
        look(&mut p, 60, telemetry(25, 0.9));
        let kill = look(&mut p, 120, telemetry(25, 0.9));
        assert_eq!(
            kill.actions,
            vec![Action::Kill { build: BuildId::new("1.4.0"), scope: KillScope::Feature(1) }]
        );
        assert_eq!(p.phase(), Phase::Stage { index: 0, paused: false });
        // The evidence restarted: the old breach no longer holds the gate once the new data is clean.
        assert_eq!(exposures(&look(&mut p, 180, telemetry(25, 0.0))), vec![2_500]);
    }

    #[test]
    fn a_segment_guardrail_kills_only_the_breaching_cell() {
        let mut config = config();
        config.guardrails =
            vec![Guardrail { breaches_required: 1, ..guardrail(Scope::Segment, 0.5) }];
        let mut p = Policy::new(&config, BuildId::new("1.4.0"));
        p.start(Minutes(0));
        let kill = look(&mut p, 60, cells(25, 0.0, 0.9));
        assert_eq!(
            kill.actions,
            vec![Action::Kill { build: BuildId::new("1.4.0"), scope: KillScope::Segment(1) }]
        );
        // The killed cell is no longer evaluated.
        assert!(
            look(&mut p, 120, cells(25, 0.0, 0.9))
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
        assert!(exposures(&look(&mut p, 180, telemetry(25, 0.0))).is_empty());
        p.command(Minutes(190), &Command::Resume { note: "false alarm".into() });
        assert_eq!(exposures(&look(&mut p, 240, telemetry(25, 0.0))), vec![2_500]);
    }

    fn paused_by(response: &Response) -> Option<&Reason> {
        response.events.iter().find_map(|e| match &e.kind {
            EventKind::Paused { reason } => Some(reason),
            _ => None,
        })
    }

    #[test]
    fn a_look_without_new_telemetry_never_passes_a_gate_and_the_limit_pauses() {
        let mut config = config();
        config.guardrails[0].inconclusive_limit = 2;
        let mut p = Policy::new(&config, BuildId::new("1.4.0"));
        p.start(Minutes(0));
        look(&mut p, 60, telemetry(25, 0.0));
        // At 120 the gate would hold, but the snapshot is the one from 60 again.
        let mut late = telemetry(25, 0.0);
        late.as_of = Minutes(60);
        let first = p.observe(Minutes(120), &late);
        assert!(exposures(&first).is_empty() && paused_by(&first).is_none());
        let second = p.observe(Minutes(180), &late);
        assert_eq!(paused_by(&second), Some(&Reason::Inconclusive { guardrail: 0, looks: 2 }));
        assert!(paused_by(&second).unwrap().is_data_quality());
    }

    #[test]
    fn a_sample_ratio_mismatch_pauses_the_rollout() {
        let mut config = config();
        config.srm = Some(SrmCheck { alpha: 0.001, looks: 10 });
        let assigned = |treatment: u64, holdback: u64| {
            let mut t = telemetry(25, 0.0);
            t.cohorts[Cohort::Treatment.index()].assigned[0] = treatment;
            t.cohorts[Cohort::Holdback.index()].assigned[0] = holdback;
            t
        };
        // Stage 1 exposes 1% against a 5% holdback: players should split 1 : 5.
        let mut p = Policy::new(&config, BuildId::new("1.4.0"));
        p.start(Minutes(0));
        assert_eq!(paused_by(&look(&mut p, 60, assigned(200, 1000))), None);
        let response = look(&mut p, 120, assigned(120, 1000));
        let Some(Reason::SampleRatio(ratio)) = paused_by(&response) else { panic!("{response:?}") };
        // Reference: scipy.stats.chisquare([120, 1000], [1120/6, 1120*5/6]) gives statistic
        // 28.571428571428562 and p = 9.030488680364755e-08.
        assert!((ratio.p_value / 9.030_488_680_364_755e-8 - 1.0).abs() < 1e-9, "{ratio:?}");
        assert!((ratio.threshold - 1e-4).abs() < 1e-15);
        assert!(exposures(&response).is_empty());
    }

    /// `n` one-session players per compared cohort in each of two cells, with the given crash
    /// counts: `[(treatment, holdback) for ios, (treatment, holdback) for pc]`.
    fn crashes(n: usize, counts: [(usize, usize); 2]) -> Telemetry {
        let mut t = Telemetry::default();
        for (cell, (treatment, holdback)) in counts.into_iter().enumerate() {
            t.cohorts[Cohort::Treatment.index()].cells[cell][0] = binary(n, treatment);
            t.cohorts[Cohort::Holdback.index()].cells[cell][0] = binary(n, holdback);
        }
        t
    }

    fn spending_guardrail(scope: Scope) -> Guardrail {
        Guardrail {
            name: "crash-rate".into(),
            method: Method::Spending {
                test: Comparison {
                    alpha: 0.1,
                    margin: rollcage_stats::Margin::Absolute(0.0),
                    variance: rollcage_stats::VarianceModel::Session,
                    statistic: rollcage_model::Statistic::Mean,
                },
                spending: rollcage_stats::spending::Spending::Pocock,
                planned_information: 1000.0,
            },
            breaches_required: 1,
            ..guardrail(scope, 0.5)
        }
    }

    /// Every evaluation a step recorded, of guardrail `index`, in cell `cell`.
    fn evaluations(response: &Response, index: usize, cell: Option<usize>) -> Vec<Evaluation> {
        response
            .events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Evaluated(ev) if ev.guardrail == index && ev.cell == cell => Some(*ev),
                _ => None,
            })
            .collect()
    }

    /// A segment kill used to restart every other cell's spending from nothing, so the same
    /// alpha was spent twice over a release; what a cell spent before the kill stays spent.
    #[test]
    fn a_segment_kill_leaves_the_other_cells_spent_alpha_spent() {
        let mut config = config();
        config.guardrails = vec![spending_guardrail(Scope::Segment)];
        let mut p = Policy::new(&config, BuildId::new("1.4.0")).recording_evaluations();
        p.start(Minutes(0));
        look(&mut p, 60, crashes(100, [(3, 3), (3, 3)]));
        let kill = look(&mut p, 120, crashes(200, [(6, 6), (120, 6)]));
        assert!(kill.actions.contains(&Action::Kill {
            build: BuildId::new("1.4.0"),
            scope: KillScope::Segment(1)
        }));
        let before = evaluations(&kill, 0, Some(0))[0];
        let spent = before.alpha_spent.unwrap();
        assert!(spent > 0.01, "a sixth of the planned information spends a good part: {spent}");
        // A little new evidence after the kill: a fresh test would have spent almost nothing.
        let after = look(&mut p, 180, crashes(12, [(1, 1), (1, 1)]));
        let ios = evaluations(&after, 0, Some(0))[0];
        assert!(ios.alpha_spent.unwrap() >= spent, "{:?} after {spent}", ios.alpha_spent);
        let fraction = before.information_fraction.unwrap();
        assert!(ios.information_fraction.unwrap() > fraction, "the schedule's place carries over");
        // The killed cell's own guardrail stops.
        assert!(evaluations(&after, 0, Some(1)).is_empty());
    }

    /// After a segment kill, a comparison over everyone leaves the killed cell out: its holdback
    /// would otherwise stand against no treatment.
    #[test]
    fn comparisons_over_everyone_leave_killed_cells_out() {
        let mut config = config();
        let mut release = spending_guardrail(Scope::Release);
        release.severity = Severity::Pause;
        release.name = "everyone".into();
        config.guardrails = vec![spending_guardrail(Scope::Segment), release];
        let mut p = Policy::new(&config, BuildId::new("1.4.0")).recording_evaluations();
        p.start(Minutes(0));
        let first = look(&mut p, 60, crashes(100, [(3, 3), (60, 3)]));
        assert_eq!(evaluations(&first, 1, None)[0].treatment_count, 200);
        let after = look(&mut p, 120, crashes(100, [(3, 3), (3, 3)]));
        let everyone = evaluations(&after, 1, None)[0];
        assert_eq!((everyone.treatment_count, everyone.control_count), (100, 100));
    }

    #[test]
    fn a_killed_features_own_guardrail_stops() {
        let mut config = config();
        config.guardrails =
            vec![Guardrail { breaches_required: 1, ..guardrail(Scope::Feature(1), 0.5) }];
        let mut p = Policy::new(&config, BuildId::new("1.4.0")).recording_evaluations();
        p.start(Minutes(0));
        let kill = look(&mut p, 60, telemetry(25, 0.9));
        assert_eq!(evaluations(&kill, 0, None).len(), 1);
        let after = look(&mut p, 120, telemetry(25, 0.9));
        assert!(evaluations(&after, 0, None).is_empty(), "{after:?}");
        // Nothing holds the gate any more: the rollout goes on.
        assert_eq!(exposures(&after), vec![2_500]);
    }

    /// The look after which the schedule releases the build is a spending test's final
    /// analysis, whatever information the schedule gathered: it spends the whole alpha.
    #[test]
    fn the_last_look_spends_what_the_plan_left() {
        let mut config = config();
        config.guardrails = vec![spending_guardrail(Scope::Release)];
        config.stages[1].approval = false;
        let mut p = Policy::new(&config, BuildId::new("1.4.0")).recording_evaluations();
        p.start(Minutes(0));
        let null = || crashes(10, [(0, 0), (0, 0)]);
        for at in [120, 240, 360] {
            look(&mut p, at, null());
        }
        assert_eq!(p.phase(), Phase::HoldbackPeriod { paused: false });
        let mut t = null();
        t.cohorts[Cohort::Treatment.index()].cells[0][0] = binary(40, 1);
        t.cohorts[Cohort::Holdback.index()].cells[0][0] = binary(40, 1);
        let last = look(&mut p, 420, t);
        let e = evaluations(&last, 0, None)[0];
        assert!(e.information_fraction.unwrap() < 0.5, "{e:?}");
        assert!((e.alpha_spent.unwrap() - 0.1).abs() < 1e-6, "{e:?}");
        assert_eq!(p.phase(), Phase::Released);
    }

    /// A dry run evaluates and records every breach but acts on none, so a run follows the
    /// schedule of a clean one (what `calibrate-se` needs to see every look of every run).
    #[test]
    fn a_dry_run_records_breaches_and_never_acts() {
        let mut config = config();
        config.stages[1].approval = false;
        config.srm = Some(SrmCheck { alpha: 0.5, looks: 1 });
        config.guardrails[0].inconclusive_limit = 1;
        let mut p = Policy::new(&config, BuildId::new("1.4.0")).recording_evaluations().dry_run();
        p.start(Minutes(0));
        let mut breached = 0;
        for at in [60, 120, 240, 360] {
            let mut t = telemetry(25, 0.9);
            t.cohorts[Cohort::Treatment.index()].assigned[0] = 500;
            t.cohorts[Cohort::Holdback.index()].assigned[0] = 5;
            let response = look(&mut p, at, t);
            breached += evaluations(&response, 0, None)
                .iter()
                .filter(|e| e.verdict == Verdict::Breach)
                .count();
            assert!(
                response.actions.iter().all(|a| matches!(a, Action::Expose { .. })),
                "{response:?}"
            );
            assert!(paused_by(&response).is_none(), "{response:?}");
        }
        assert_eq!(breached, 4);
        // A look without new telemetry: the inconclusive limit would pause; a dry run does not.
        let mut stale = telemetry(25, 0.9);
        stale.as_of = Minutes(360);
        assert!(paused_by(&p.observe(Minutes(400), &stale)).is_none());
        assert_eq!(p.phase(), Phase::HoldbackPeriod { paused: false });
    }

    #[test]
    fn holm_passes_a_breached_guardrails_alpha_on() {
        let statistical = |name: &str| Guardrail {
            name: name.into(),
            method: Method::NaiveZ(Comparison {
                alpha: 0.06,
                margin: rollcage_stats::Margin::Absolute(0.0),
                variance: rollcage_stats::VarianceModel::Session,
                statistic: rollcage_model::Statistic::Mean,
            }),
            severity: Severity::Pause,
            breaches_required: 1,
            ..guardrail(Scope::Release, 0.5)
        };
        let mut config = config();
        config.guardrails = vec![statistical("a"), statistical("b"), statistical("c")];
        config.multiplicity = Multiplicity::Holm;
        let mut p = Policy::new(&config, BuildId::new("1.4.0"));
        assert!((p.alpha(1) - 0.02).abs() < 1e-15);
        p.breached[0] = true;
        assert!((p.alpha(1) - 0.03).abs() < 1e-15);
        assert!((p.alpha(2) - 0.03).abs() < 1e-15);
        config.multiplicity = Multiplicity::Bonferroni;
        let p = Policy::new(&config, BuildId::new("1.4.0"));
        assert!((p.alpha(2) - 0.02).abs() < 1e-15);
    }

    fn refusal(response: &Response) -> &str {
        match &response.events[..] {
            [Event { kind: EventKind::Refused { why, .. }, .. }] => why,
            other => panic!("not one refusal: {other:?}"),
        }
    }

    /// A rollback step starts at once, or (a retry) at its backoff's end, when the driver says so.
    #[test]
    fn a_step_is_started_now_or_at_its_retry_time() {
        let config = config();
        let mut p = Policy::new(&config, BuildId::new("1.4.0"));
        p.start(Minutes(0));
        let started = |response: &Response| {
            response
                .events
                .iter()
                .filter_map(|e| match e.kind {
                    EventKind::StepStarted { step, attempt } => Some((step, attempt)),
                    _ => None,
                })
                .collect::<Vec<_>>()
        };
        let kill = Command::Kill { note: "bug".into(), scope: KillScope::Release };
        assert_eq!(started(&p.command(Minutes(5), &kill)), vec![(0, 1)]);
        assert_eq!(started(&p.step_result(Minutes(6), &result(0, 1, true))), vec![(1, 1)]);
        let retry = p.step_result(Minutes(20), &result(1, 1, false));
        assert!(started(&retry).is_empty(), "the retry starts at minute 30: {retry:?}");
    }

    /// A new build starts over whole: no breach streak, no spent alpha, no breached guardrail
    /// carries over from the build it replaces.
    #[test]
    fn a_new_build_starts_its_evidence_and_budgets_over() {
        let mut config = config();
        let mut watch = spending_guardrail(Scope::Release);
        watch.severity = Severity::Pause;
        config.guardrails.push(watch);
        let bad = || crashes(25, [(20, 0), (20, 0)]);
        let mut p = Policy::new(&config, BuildId::new("1.4.0")).recording_evaluations();
        p.start(Minutes(0));
        let first = evaluations(&look(&mut p, 60, bad()), 1, None)[0];
        assert!(p.breached.iter().all(|&b| b), "both guardrails breached once");
        p.command(Minutes(70), &Command::Kill { note: "bug".into(), scope: KillScope::Release });
        for s in 0..3 {
            p.step_result(Minutes(71), &result(s, 1, true));
        }
        p.command(Minutes(100), &Command::NewBuild { build: BuildId::new("1.4.1") });
        assert!(p.breached.iter().all(|&b| !b));
        let again = look(&mut p, 160, bad());
        assert!(
            again.actions.iter().all(|a| !matches!(a, Action::Kill { .. })),
            "one breach of the new build, of two required: {again:?}"
        );
        let fresh = evaluations(&again, 1, None)[0];
        assert_eq!(fresh.alpha_spent, first.alpha_spent);
        assert_eq!(fresh.threshold, first.threshold);
    }

    /// Every look of the assignment is checked for its sample ratio, the holdback period's too,
    /// once each group expects at least `SRM_MIN_EXPECTED` players.
    #[test]
    fn the_sample_ratio_is_checked_once_enough_players_are_expected() {
        let mut config = config();
        config.srm = Some(SrmCheck { alpha: 0.001, looks: 10 });
        config.stages[1].approval = false;
        let assigned = |treatment: u64, holdback: u64| {
            let mut t = telemetry(25, 0.0);
            t.cohorts[Cohort::Treatment.index()].assigned[0] = treatment;
            t.cohorts[Cohort::Holdback.index()].assigned[0] = holdback;
            t
        };
        let checked = |response: &Response| {
            response.events.iter().any(|e| matches!(e.kind, EventKind::SampleRatioChecked(_)))
        };
        let mut p = Policy::new(&config, BuildId::new("1.4.0")).recording_evaluations();
        p.start(Minutes(0));
        // Stage 1 splits 1 : 5: the treatment expects a sixth of the players, 20 of 120.
        assert!(!checked(&look(&mut p, 30, assigned(20, 99))));
        assert!(checked(&look(&mut p, 60, assigned(20, 100))));
        look(&mut p, 120, assigned(20, 100));
        look(&mut p, 240, assigned(0, 0));
        look(&mut p, 360, assigned(0, 0));
        assert_eq!(p.phase(), Phase::HoldbackPeriod { paused: false });
        // The holdback period splits 95 : 5: the holdback expects a twentieth, 20 of 400.
        assert!(!checked(&look(&mut p, 370, assigned(379, 20))));
        let response = look(&mut p, 380, assigned(200, 200));
        let Some(Reason::SampleRatio(ratio)) = paused_by(&response) else { panic!("{response:?}") };
        assert!((ratio.expected_share - 0.95).abs() < 1e-12, "{ratio:?}");
    }

    /// The stage's minimum duration counts from when the stage began.
    #[test]
    fn a_stage_holds_for_its_duration_from_when_it_began() {
        let mut config = config();
        config.stages[1].approval = false;
        let mut p = Policy::new(&config, BuildId::new("1.4.0"));
        p.start(Minutes(0));
        assert_eq!(exposures(&look(&mut p, 120, telemetry(25, 0.0))), vec![2_500]);
        assert!(exposures(&look(&mut p, 180, telemetry(25, 0.0))).is_empty());
        let held = look(&mut p, 240, telemetry(25, 0.0));
        assert!(
            matches!(
                held.events[0].kind,
                EventKind::GateHeld { stage: 1, elapsed: Minutes(120), .. }
            ),
            "{held:?}"
        );
    }

    /// Without a holdback period the last stage's look that holds its gate is the schedule's
    /// last: a spending test spends all that is left there, and at no earlier look.
    #[test]
    fn without_a_holdback_period_the_last_gate_is_the_last_look() {
        let mut config = config();
        config.guardrails = vec![spending_guardrail(Scope::Release)];
        config.stages[1].approval = false;
        config.holdback_period = Minutes::ZERO;
        let mut p = Policy::new(&config, BuildId::new("1.4.0")).recording_evaluations();
        p.start(Minutes(0));
        let spent = |p: &mut Policy<'_>, at: u32, n: usize| {
            let response = look(p, at, crashes(n, [(1, 1), (1, 1)]));
            evaluations(&response, 0, None)[0].alpha_spent.unwrap()
        };
        // The first stage's gate holds at 120, the second's at 240; the last stage's at 360.
        for (at, n) in [(120, 20), (240, 30), (300, 40)] {
            let alpha = spent(&mut p, at, n);
            assert!(alpha < 0.05, "not the last look at {at}: {alpha}");
        }
        assert_eq!(p.phase(), Phase::Stage { index: 2, paused: false });
        assert!((spent(&mut p, 360, 50) - 0.1).abs() < 1e-6);
        assert_eq!(p.phase(), Phase::Released);
    }

    /// A look inside the holdback period, before it ends, is not the last and does not release.
    #[test]
    fn the_holdback_period_lasts_from_its_start() {
        let mut config = config();
        config.guardrails = vec![spending_guardrail(Scope::Release)];
        config.stages[1].approval = false;
        let mut p = Policy::new(&config, BuildId::new("1.4.0")).recording_evaluations();
        p.start(Minutes(0));
        for (at, n) in [(120, 20), (240, 30), (360, 40)] {
            look(&mut p, at, crashes(n, [(1, 1), (1, 1)]));
        }
        assert_eq!(p.phase(), Phase::HoldbackPeriod { paused: false });
        let response = look(&mut p, 380, crashes(60, [(1, 1), (1, 1)]));
        let e = evaluations(&response, 0, None)[0];
        assert!(e.alpha_spent.unwrap() < 0.05, "{e:?}");
        assert_eq!(p.phase(), Phase::HoldbackPeriod { paused: false });
        look(&mut p, 420, crashes(80, [(1, 1), (1, 1)]));
        assert_eq!(p.phase(), Phase::Released);
    }

    /// Without an inconclusive limit, looks without new telemetry never pause.
    #[test]
    fn no_inconclusive_limit_never_pauses() {
        let config = config();
        let mut p = Policy::new(&config, BuildId::new("1.4.0"));
        p.start(Minutes(0));
        look(&mut p, 60, telemetry(25, 0.0));
        let mut stale = telemetry(25, 0.0);
        stale.as_of = Minutes(60);
        for at in [120, 180, 240] {
            assert!(paused_by(&p.observe(Minutes(at), &stale)).is_none());
        }
    }

    /// A snapshot taken at or before the current stage began holds nothing of the stage.
    #[test]
    fn a_snapshot_from_before_the_stage_began_is_no_data() {
        let mut config = config();
        config.stages[1].approval = false;
        let mut p = Policy::new(&config, BuildId::new("1.4.0")).recording_evaluations();
        p.start(Minutes(0));
        let lagging = |as_of: u32| {
            let mut t = telemetry(25, 0.0);
            t.as_of = Minutes(as_of);
            t
        };
        assert_eq!(exposures(&p.observe(Minutes(120), &lagging(100))), vec![2_500]);
        for (now, as_of) in [(130, 110), (140, 120)] {
            let response = p.observe(Minutes(now), &lagging(as_of));
            assert_eq!(evaluations(&response, 0, None)[0].verdict, Verdict::NoData, "{as_of}");
        }
        let response = p.observe(Minutes(150), &lagging(121));
        assert_eq!(evaluations(&response, 0, None)[0].verdict, Verdict::Pass);
    }

    /// A breach streak short of a kill holds the gate.
    #[test]
    fn a_breach_short_of_the_required_streak_holds_the_gate() {
        let config = config();
        let mut p = Policy::new(&config, BuildId::new("1.4.0"));
        p.start(Minutes(0));
        let response = look(&mut p, 120, telemetry(25, 0.9));
        assert!(response.actions.is_empty(), "{response:?}");
        assert_eq!(p.phase(), Phase::Stage { index: 0, paused: false });
    }

    /// Two guardrails that breach on one feature at one look kill it once.
    #[test]
    fn a_feature_is_killed_once_however_many_guardrails_breach_on_it() {
        let mut config = config();
        let on_feature = Guardrail { breaches_required: 1, ..guardrail(Scope::Feature(1), 0.5) };
        let on_cells = Guardrail { breaches_required: 1, ..guardrail(Scope::Segment, 0.5) };
        config.guardrails = vec![on_feature.clone(), on_cells, on_feature];
        let mut p = Policy::new(&config, BuildId::new("1.4.0"));
        p.start(Minutes(0));
        let response = look(&mut p, 60, cells(25, 0.9, 0.6));
        let build = BuildId::new("1.4.0");
        assert_eq!(
            response.actions,
            vec![
                Action::Kill { build: build.clone(), scope: KillScope::Feature(1) },
                Action::Kill { build: build.clone(), scope: KillScope::Segment(0) },
                Action::Kill { build, scope: KillScope::Segment(1) },
            ]
        );
    }

    /// Each command that cannot apply says why, in words that fit the case.
    #[test]
    fn refusals_say_why() {
        let config = config();
        let mut p = Policy::new(&config, BuildId::new("1.4.0"));
        p.start(Minutes(0));
        let resume = Command::Resume { note: "go".into() };
        assert!(refusal(&p.command(Minutes(1), &resume)).starts_with("nothing to resume"));
        let new = Command::NewBuild { build: BuildId::new("1.4.1") };
        assert_eq!(
            refusal(&p.command(Minutes(2), &new)),
            "a new build replaces a killed one, and build 1.4.0 is not killed"
        );
        p.command(Minutes(3), &Command::Kill { note: "bug".into(), scope: KillScope::Release });
        for s in 0..3 {
            p.step_result(Minutes(4), &result(s, 1, true));
        }
        assert_eq!(
            refusal(&p.command(Minutes(5), &resume)),
            "build 1.4.0 was killed; only a new build id can resume the rollout"
        );
    }

    /// The check pauses when the p-value is below its threshold, not at it: a perfect split
    /// has p = 1 and never pauses, even at a threshold of 1.
    #[test]
    fn a_sample_ratio_pauses_strictly_below_its_threshold() {
        let mut config = config();
        config.stages[0].share = config.holdback;
        config.srm = Some(SrmCheck { alpha: 1.0, looks: 1 });
        let mut p = Policy::new(&config, BuildId::new("1.4.0")).recording_evaluations();
        p.start(Minutes(0));
        let mut t = telemetry(25, 0.0);
        t.cohorts[Cohort::Treatment.index()].assigned[0] = 60;
        t.cohorts[Cohort::Holdback.index()].assigned[0] = 60;
        let response = look(&mut p, 60, t);
        let ratio = response
            .events
            .iter()
            .find_map(|e| match e.kind {
                EventKind::SampleRatioChecked(r) => Some(r),
                _ => None,
            })
            .expect("checked");
        assert_eq!((ratio.p_value, ratio.threshold), (1.0, 1.0));
        assert!(paused_by(&response).is_none(), "{response:?}");
    }
}
