//! Monte Carlo batches: thousands of seeded runs in parallel, collected in run order.
//!
//! rayon spreads runs over threads; each run depends only on its own seed, and results are
//! collected by run index, so a batch gives the same records whatever the thread count. A run
//! that panics is caught and reported with its seed; the other runs still complete.

use std::panic::{AssertUnwindSafe, catch_unwind};

use rayon::prelude::*;
use rollcage_policy::Bucket;
use rollcage_sim::RunSeed;

use crate::run::{RunOptions, RunRecord, run};
use crate::scenario::Scenario;

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
    buckets: &[Bucket],
    runs: std::ops::Range<u32>,
    options: BatchOptions,
    progress: &(dyn Fn() + Sync),
) -> Vec<RunResult> {
    runs.into_par_iter()
        .map(|r| {
            let seed = RunSeed::derive(scenario.seed, r);
            let result = catch_unwind(AssertUnwindSafe(|| {
                if options.panic_on_run == Some(r) {
                    panic!("planted panic in run {r} (--debug-panic-run)");
                }
                run(scenario, buckets, r, RunOptions::default())
            }));
            progress();
            match result {
                Ok(record) => RunResult::Done(Box::new(record)),
                Err(payload) => {
                    RunResult::Panicked { run: r, seed, message: panic_message(payload.as_ref()) }
                }
            }
        })
        .collect()
}
