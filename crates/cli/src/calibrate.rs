//! `rollcage calibrate-se`: whether each guardrail's standard error matches the spread of its
//! estimate, look by look, on the scenario's null world.

use std::path::PathBuf;

use anyhow::bail;
use rollcage_harness::calibrate::{MIN_RUNS, calibrate, null_world, render};

use crate::exit;
use crate::files::load_one;
use crate::work::{progress_bar, worker_pool};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The scenario file: a null world (a release without faults, or with `faulty_share` below 1).
    scenario: PathBuf,
    /// Dry runs of the null world (default: the scenario's own `runs`).
    #[arg(long, value_parser = clap::value_parser!(u32).range(i64::from(MIN_RUNS)..=rollcage_model::limits::MAX_RUNS))]
    runs: Option<u32>,
    /// Worker threads (default: one per core). The output is identical at any thread count.
    #[arg(long, value_parser = crate::work::parse_threads)]
    threads: Option<usize>,
}

pub fn run(args: &Args) -> anyhow::Result<u8> {
    let Some(loaded) = load_one(&args.scenario)? else { return Ok(exit::BAD_INPUT) };
    let s = &loaded.scenario;
    // Refuse a world that is not null before any run.
    if let Err(e) = null_world(s) {
        bail!("{}: {e}", loaded.display_path());
    }
    let runs = args.runs.unwrap_or(s.runs).max(MIN_RUNS);
    let pool = worker_pool(args.threads)?;
    let bar = progress_bar(&s.name, u64::from(runs));
    let calibration = pool.install(|| calibrate(s, runs, &|| bar.inc(1)));
    bar.finish_and_clear();
    match calibration {
        Ok(c) => {
            print!("{}", render(s, &c));
            Ok(if c.held() { exit::HELD } else { exit::FAILED })
        }
        Err(e) => bail!("{}: {e}", loaded.display_path()),
    }
}
