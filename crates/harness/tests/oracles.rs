//! Every oracle can fail: each test plants the bug an oracle guards against, in the world or in
//! the policy, and sees it caught. A clean run of the same scenario violates nothing.

mod common;

use rollcage_harness::{Oracle, RunOptions, RunRecord, ScheduledCommand, run, run_controller};
use rollcage_policy::{
    Action, BuildId, Command, Controller, Event, EventKind, KillScope, Minutes, Response, Telemetry,
};
use rollcage_sim::{RunSeed, Sabotage};

fn violated(record: &RunRecord) -> Vec<Oracle> {
    Oracle::ALL.iter().copied().filter(|o| record.violations.counts[*o as usize] > 0).collect()
}

fn sabotaged(sabotage: Sabotage, commands: Vec<ScheduledCommand>) -> RunRecord {
    let s = common::scenario().with(|s| {
        s.world.sabotage = Some(sabotage);
        s.commands = commands;
    });
    run(&s, 0, RunOptions::default())
}

#[test]
fn a_clean_run_violates_nothing_and_is_released() {
    let s = common::scenario();
    let record = run(&s, 0, RunOptions::default());
    assert!(record.violations.is_empty(), "{:?}", record.violations.first);
    assert_eq!(record.final_phase, rollcage_harness::FinalPhase::Released);
    assert_eq!(record.stage_reached, 3);
}

#[test]
fn a_leaking_holdback_is_caught() {
    let record = sabotaged(Sabotage::LeakHoldback, vec![]);
    assert!(violated(&record).contains(&Oracle::HoldbackIsolation), "{:?}", record.violations);
}

#[test]
fn exposure_beyond_the_stage_is_caught() {
    let record = sabotaged(Sabotage::Overexpose { extra: 200 }, vec![]);
    assert_eq!(violated(&record), vec![Oracle::ExposureWithinStage], "{:?}", record.violations);
}

#[test]
fn a_player_dropped_from_the_build_is_caught() {
    let record = sabotaged(Sabotage::Forgetful { probability: 0.01 }, vec![]);
    assert_eq!(violated(&record), vec![Oracle::StickyExposure], "{:?}", record.violations);
}

#[test]
fn a_kill_that_never_reaches_clients_is_caught() {
    let kill = ScheduledCommand {
        at: Minutes::from_hours(8),
        command: Command::Kill { note: "bug report".into(), scope: KillScope::Release },
    };
    let record = sabotaged(Sabotage::IgnoreKill, vec![kill.clone()]);
    assert_eq!(violated(&record), vec![Oracle::KillPropagation], "{:?}", record.violations);
    // The same kill in a correct world propagates within the bound.
    let s = common::scenario().with(|s| s.commands = vec![kill]);
    let clean = run(&s, 0, RunOptions::default());
    assert!(clean.violations.is_empty(), "{:?}", clean.violations);
}

/// A policy that exposes stage after stage without waiting for any gate.
struct Impatient {
    stage: usize,
}

impl Controller for Impatient {
    fn start(&mut self, now: Minutes) -> Response {
        self.expose(now)
    }
    fn observe(&mut self, now: Minutes, _: &Telemetry) -> Response {
        if self.stage + 1 < 3 {
            self.stage += 1;
            self.expose(now)
        } else {
            Response::default()
        }
    }
    fn command(&mut self, _: Minutes, _: &Command) -> Response {
        Response::default()
    }
}

impl Impatient {
    fn expose(&self, now: Minutes) -> Response {
        let s = common::scenario();
        let build = BuildId::new("1.4.0");
        let share = s.policy.stages[self.stage].share;
        Response {
            actions: vec![Action::Expose { build: build.clone(), share }],
            events: vec![Event {
                at: now,
                kind: EventKind::StageStarted { build, stage: self.stage, share },
            }],
        }
    }
}

#[test]
fn a_stage_left_before_its_gate_holds_is_caught() {
    let s = common::scenario();
    let record = run_controller(&s, 0, RunSeed(1), Impatient { stage: 0 });
    assert!(violated(&record).contains(&Oracle::GateRespected), "{:?}", record.violations);
    let first = record.violations.first.iter().find(|v| v.oracle == Oracle::GateRespected).unwrap();
    assert!(first.detail.contains("stage 1"), "{}", first.detail);
}

/// A policy that kills its build and then exposes the same build again.
struct Stubborn;

impl Controller for Stubborn {
    fn start(&mut self, now: Minutes) -> Response {
        let build = BuildId::new("1.4.0");
        let share = common::share(500);
        Response {
            actions: vec![Action::Expose { build: build.clone(), share }],
            events: vec![Event {
                at: now,
                kind: EventKind::StageStarted { build, stage: 0, share },
            }],
        }
    }
    fn observe(&mut self, now: Minutes, _: &Telemetry) -> Response {
        let build = BuildId::new("1.4.0");
        match now.0 {
            120 => Response {
                actions: vec![Action::Kill { build, scope: KillScope::Release }],
                events: vec![],
            },
            240 => Response {
                actions: vec![Action::Expose { build, share: common::share(500) }],
                events: vec![],
            },
            _ => Response::default(),
        }
    }
    fn command(&mut self, _: Minutes, _: &Command) -> Response {
        Response::default()
    }
}

#[test]
fn a_killed_build_exposed_again_is_caught() {
    let s = common::scenario();
    let record = run_controller(&s, 0, RunSeed(2), Stubborn);
    assert!(violated(&record).contains(&Oracle::NoResumeOfKilledBuild), "{:?}", record.violations);
}

/// A policy that starts the rollout and then never advances.
struct Stuck;

impl Controller for Stuck {
    fn start(&mut self, now: Minutes) -> Response {
        Stubborn.start(now)
    }
    fn observe(&mut self, _: Minutes, _: &Telemetry) -> Response {
        Response::default()
    }
    fn command(&mut self, _: Minutes, _: &Command) -> Response {
        Response::default()
    }
}

#[test]
fn a_rollout_that_never_finishes_is_caught() {
    let s = common::scenario();
    let record = run_controller(&s, 0, RunSeed(3), Stuck);
    assert_eq!(violated(&record), vec![Oracle::Liveness], "{:?}", record.violations);
    assert_eq!(record.ended_at, s.max_duration);
}
