//! `rollcage explain`: replay one run and print its timeline.

use std::path::PathBuf;

use anyhow::bail;

use rollcage_harness::{RunOptions, run_with_seed};
use rollcage_report::explain::timeline;
use rollcage_sim::RunSeed;

use crate::exit;
use crate::files::load_one;

#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["run", "seed"])))]
pub struct Args {
    /// The scenario file.
    scenario: PathBuf,
    /// The run to replay (its index in the batch, as in runs.csv).
    #[arg(long)]
    run: Option<u32>,
    /// Replay a run from its seed instead (the `seed` column of runs.csv).
    #[arg(long)]
    seed: Option<u64>,
    /// The `--runs` the batch was simulated with, if not the scenario's own `runs`.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=rollcage_model::limits::MAX_RUNS))]
    runs: Option<u32>,
    /// Make the replay panic, to exercise the internal-error path.
    #[arg(long, hide = true)]
    debug_panic: bool,
    /// Print only decisions, not every guardrail evaluation.
    #[arg(long)]
    decisions_only: bool,
    /// Also write the run's telemetry as a rollout system would export it: one row per player,
    /// cohort and window, as CSV (`.csv`) or JSON Lines (`.jsonl`). See docs/telemetry.md.
    #[arg(long, value_name = "FILE")]
    telemetry: Option<PathBuf>,
    /// Where to write the run's rollout log with --telemetry (default: beside the telemetry,
    /// named <stem>.rollout.jsonl).
    #[arg(long, value_name = "FILE", requires = "telemetry")]
    log: Option<PathBuf>,
}

pub fn run(args: &Args) -> anyhow::Result<u8> {
    // The output paths are checked before the run.
    let telemetry = match &args.telemetry {
        Some(path) => Some(crate::telemetry::outputs(path, args.log.as_deref())?),
        None => None,
    };
    let Some(loaded) = load_one(&args.scenario)? else { return Ok(exit::BAD_INPUT) };
    let s = &loaded.scenario;
    let runs = args.runs.unwrap_or(s.runs);
    if let Some(run) = args.run.filter(|&run| run >= runs) {
        bail!(
            "--run {run} is beyond the batch of {}: its runs are 0 to {}{}",
            loaded.display_path(),
            runs - 1,
            if args.runs.is_some() {
                String::new()
            } else {
                " (if you simulated it with --runs N, give explain the same --runs)".to_string()
            }
        );
    }
    let (run, seed) = match (args.run, args.seed) {
        (Some(run), _) => (run, RunSeed::derive(s.seed, run)),
        (None, Some(seed)) => (0, RunSeed(seed)),
        (None, None) => unreachable!("clap requires --run or --seed"),
    };
    crate::panics::doing(format!(
        "replaying run {run} (seed {}) of {}",
        seed.0,
        loaded.display_path()
    ));
    assert!(!args.debug_panic, "planted panic in the replay (--debug-panic)");
    let record = run_with_seed(
        s,
        run,
        seed,
        RunOptions {
            record_evaluations: !args.decisions_only,
            record_telemetry: telemetry.is_some(),
            ..RunOptions::default()
        },
    );
    print!("{}", timeline(s, &record));
    if let (Some(outputs), Some(recorded)) = (&telemetry, &record.telemetry) {
        crate::telemetry::write(outputs, s, &recorded.recording)?;
    }
    Ok(if record.violations.is_empty() { exit::HELD } else { exit::FAILED })
}
