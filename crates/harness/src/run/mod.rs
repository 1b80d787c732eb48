//! One run: the driver loop that lets the world, the policy and the operators take turns, and
//! the record of what happened.
//!
//! ```text
//! start: policy.start(0) -> actions -> world
//! until released, the run's end, or a kill's aftermath has played out:
//!     operator commands due by now -> policy -> actions -> world
//!     world.advance(the next evaluation, or the end of the next rollback step attempt if sooner)
//!         -> sessions (to the oracles) and a telemetry snapshot
//!     rollback step results -> policy -> actions -> world   (at once, at the attempt's end)
//!     at an evaluation: policy.observe(snapshot) -> actions -> world
//! ```
//!
//! Its parts: `driver` plays the loop; `observer` sees every session as it starts (the oracles,
//! and the tally the record counts from); `pipeline` stands between the world's telemetry and the
//! policy when the scenario gives the pipeline faults; `record` is what a run leaves for its
//! reports, and `verdict` how a finished run is judged for it.

mod driver;
mod observer;
mod pipeline;
mod record;
mod verdict;

use rollcage_policy::{Controller, Policy};
use rollcage_sim::RunSeed;

use self::driver::drive;
pub use self::record::{
    CohortTally, DataPauseReason, FinalPhase, Outcome, Recorded, RollbackRecord, RollbackResult,
    RunRecord, SaveRecord, StageEnd, StageRecord, Stop, StopKind,
};
use rollcage_model::Scenario;

/// How a run is recorded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Record every guardrail evaluation (for `explain`); off in batches, where only decisions
    /// are kept.
    pub record_evaluations: bool,
    /// Run the policy dry ([`Policy::dry_run`]): every guardrail is evaluated and none acts, so
    /// every run follows the schedule of a clean one.
    pub dry_run: bool,
    /// Record what the run's telemetry pipeline would export, and what the policy saw at each
    /// look ([`RunRecord::telemetry`]), for `explain --telemetry` and the judge's tests.
    pub record_telemetry: bool,
}

/// Runs `run` of `scenario` under its own policy.
pub fn run(scenario: &Scenario, run: u32, options: RunOptions) -> RunRecord {
    run_until(scenario, run, options, &|| false).expect("a run nothing stops finishes")
}

/// [`run`], abandoned at the first evaluation at which `stop` says so (a Ctrl-C): `None` then.
/// A large world's run takes seconds; it is stopped within one evaluation interval of simulated
/// time, a few hundredths of a second.
pub fn run_until(
    scenario: &Scenario,
    run: u32,
    options: RunOptions,
    stop: &dyn Fn() -> bool,
) -> Option<RunRecord> {
    let seed = RunSeed::derive(scenario.seed, run);
    let policy = scenario_policy(scenario, options);
    run_controller_until(scenario, run, seed, policy, options.record_telemetry, stop)
}

fn scenario_policy(scenario: &Scenario, options: RunOptions) -> Policy<'_> {
    let mut policy = Policy::new(&scenario.policy, scenario.world.release.build.clone());
    if options.record_evaluations {
        policy = policy.recording_evaluations();
    }
    if options.dry_run {
        policy = policy.dry_run();
    }
    policy
}

/// Runs `scenario` under its own policy with an explicit seed (for `explain --seed`).
pub fn run_with_seed(
    scenario: &Scenario,
    run: u32,
    seed: RunSeed,
    options: RunOptions,
) -> RunRecord {
    let policy = scenario_policy(scenario, options);
    run_controller_until(scenario, run, seed, policy, options.record_telemetry, &|| false)
        .expect("a run nothing stops finishes")
}

/// The driver loop, for any controller: the scenario's own policy, or, in the oracle tests, a
/// deliberately broken one.
pub fn run_controller<C: Controller>(
    scenario: &Scenario,
    run: u32,
    seed: RunSeed,
    controller: C,
) -> RunRecord {
    run_controller_until(scenario, run, seed, controller, false, &|| false)
        .expect("a run nothing stops finishes")
}

fn run_controller_until<C: Controller>(
    scenario: &Scenario,
    run: u32,
    seed: RunSeed,
    controller: C,
    record_telemetry: bool,
    stop: &dyn Fn() -> bool,
) -> Option<RunRecord> {
    if !seed.carries_faults(&scenario.world.release) {
        // This run's release is the harmless one.
        return drive(&scenario.harmless(), run, seed, controller, record_telemetry, stop);
    }
    drive(scenario, run, seed, controller, record_telemetry, stop)
}
