//! Monte Carlo batches: thousands of seeded runs in parallel, collected in run order.
//!
//! rayon spreads runs over threads; each run depends only on its own seed, and results are
//! collected by run index, so a batch gives the same records whatever the thread count. A run
//! that panics is caught and reported with its seed; the other runs still complete.

use std::panic::{AssertUnwindSafe, catch_unwind};

use rayon::prelude::*;
use rollcage_sim::RunSeed;

use crate::run::{RunOptions, RunRecord, run_until};
use rollcage_model::Scenario;

/// One run's result.
#[derive(Clone, Debug)]
pub enum RunResult {
    Done(Box<RunRecord>),
    /// The run panicked: a bug in rollcage, caught so the batch can report the rest.
    Panicked {
        run: u32,
        seed: RunSeed,
        message: String,
    },
}

impl RunResult {
    pub fn run(&self) -> u32 {
        match self {
            RunResult::Done(r) => r.run,
            RunResult::Panicked { run, .. } => *run,
        }
    }
}

/// Knobs for a batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BatchOptions {
    /// Make this run panic, to exercise the panic path end to end. Not for users.
    #[doc(hidden)]
    pub panic_on_run: Option<u32>,
}

/// The message a panic carried.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

/// Runs every run of `runs` in parallel on the current rayon pool, calling `progress` after each.
pub fn simulate(
    scenario: &Scenario,
    runs: std::ops::Range<u32>,
    options: BatchOptions,
    progress: &(dyn Fn() + Sync),
) -> Vec<RunResult> {
    simulate_until(scenario, runs, options, progress, &|| false)
        .expect("a batch nothing stops finishes")
}

/// [`simulate`], abandoned as soon as `stop` says so (a Ctrl-C): no run starts after that, and the
/// runs under way stop at their next evaluation. `None` then: a part of a batch is never returned
/// as if it were the whole.
pub fn simulate_until(
    scenario: &Scenario,
    runs: std::ops::Range<u32>,
    options: BatchOptions,
    progress: &(dyn Fn() + Sync),
    stop: &(dyn Fn() -> bool + Sync),
) -> Option<Vec<RunResult>> {
    runs.into_par_iter()
        .map(|r| {
            if stop() {
                return None;
            }
            let seed = RunSeed::derive(scenario.seed, r);
            let result = catch_unwind(AssertUnwindSafe(|| {
                if options.panic_on_run == Some(r) {
                    panic!("planted panic in run {r} (--debug-panic-run)");
                }
                run_until(scenario, r, RunOptions::default(), stop)
            }));
            let result = match result {
                Ok(Some(record)) => RunResult::Done(Box::new(record)),
                Ok(None) => return None,
                Err(payload) => {
                    RunResult::Panicked { run: r, seed, message: panic_message(payload.as_ref()) }
                }
            };
            progress();
            Some(result)
        })
        .collect()
}

/// What a batch will cost, roughly, from the scenario's size alone: told to the user before a
/// large batch starts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    /// Sessions in one run that is never stopped (the schedule, or the run's bound if shorter).
    pub sessions_per_run: f64,
    /// Wall-clock seconds for the batch.
    pub seconds: f64,
    /// Peak memory, in bytes.
    pub bytes: f64,
}

/// The cost of `runs` runs of `scenario` on `threads` workers. The rates are those measured on
/// the 2-core machine rollcage is developed on (README, "Performance"): about 9M sessions/s per
/// thread for a small world, falling to about 5M at a million players as the players' data stops
/// fitting the caches; each worker holds about 260 bytes per player for the run under way.
pub fn estimate(scenario: &Scenario, runs: u32, threads: usize) -> Estimate {
    let hours = scenario.policy.schedule().min(scenario.max_duration).hours();
    let population = &scenario.world.population;
    let players = f64::from(population.players);
    let sessions_per_run = players * population.runs_per_day / 24.0 * hours;
    let per_thread = 9.0e6 / (1.0 + players / 1.2e6);
    let workers = threads.clamp(1, runs.max(1) as usize) as f64;
    let seconds = sessions_per_run * f64::from(runs) / (per_thread * workers);
    let bytes = 20.0e6 + workers * players * 260.0 + f64::from(runs) * 2.0e3;
    Estimate { sessions_per_run, seconds, bytes }
}
