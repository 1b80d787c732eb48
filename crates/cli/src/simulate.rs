//! `rollcage simulate`: every scenario's batch, its reports, and the exit code.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use rollcage_harness::explain::{compare_groups, describe_summary};
use rollcage_harness::rows::{runs_table, stages_table, summary_table};
use rollcage_harness::{BatchOptions, Summary, simulate};

use crate::exit;
use crate::files::load_all;
use crate::report::{write_csv, write_text};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Scenario files or directories of them.
    #[arg(default_value = "scenarios")]
    paths: Vec<PathBuf>,
    /// Where reports go: <out>/<scenario>/runs.csv, stages.csv, summary.txt, and <out>/summary.csv.
    #[arg(long, default_value = "reports")]
    out: PathBuf,
    /// Worker threads (default: one per core). Reports are identical at any thread count.
    #[arg(long)]
    threads: Option<usize>,
    /// Run this many runs of each scenario instead of the scenario's own `runs` (for quick looks).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    runs: Option<u32>,
    /// Make this run panic, to exercise the internal-error path.
    #[arg(long, hide = true)]
    debug_panic_run: Option<u32>,
}

/// A progress bar on stderr (hidden unless stderr is a terminal): `name`, runs done, rate, ETA.
pub fn progress_bar(name: &str, runs: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(runs);
    bar.set_style(
        ProgressStyle::with_template("{prefix:>24} [{bar:30}] {pos}/{len} runs, {rate}, ETA {eta}")
            .expect("a valid progress template")
            .with_key("rate", |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.0} runs/s", state.per_sec());
            })
            .progress_chars("=> "),
    );
    bar.set_prefix(name.to_string());
    bar
}

/// The rayon pool: `threads` workers, or one per core.
pub fn worker_pool(threads: Option<usize>) -> anyhow::Result<rayon::ThreadPool> {
    let mut pool = rayon::ThreadPoolBuilder::new();
    if let Some(threads) = threads {
        pool = pool.num_threads(threads.max(1));
    }
    pool.build().context("cannot start worker threads")
}

pub fn run(args: &Args) -> anyhow::Result<u8> {
    let Some(mut loaded) = load_all(&args.paths)? else { return Ok(exit::BAD_INPUT) };
    if let Some(runs) = args.runs {
        loaded.iter_mut().for_each(|l| l.scenario.runs = runs);
    }
    let pool = worker_pool(args.threads)?;
    let options = BatchOptions { panic_on_run: args.debug_panic_run };

    let mut summaries = Vec::new();
    for l in &loaded {
        let s = &l.scenario;
        let buckets = s.buckets();
        let bar = progress_bar(&s.name, u64::from(s.runs));
        #[allow(clippy::disallowed_methods)] // The command line may read the clock, for the user.
        let started = std::time::Instant::now();
        let results = pool.install(|| simulate(s, &buckets, 0..s.runs, options, &|| bar.inc(1)));
        bar.finish_and_clear();
        let elapsed = started.elapsed().as_secs_f64();
        let sessions: u64 = results
            .iter()
            .filter_map(|r| match r {
                rollcage_harness::RunResult::Done(r) => Some(r.sessions),
                rollcage_harness::RunResult::Panicked { .. } => None,
            })
            .sum();
        let summary = Summary::from_results(s, &results);
        let dir = args.out.join(&s.name);
        write_csv(&dir.join("runs.csv"), &runs_table(&results))?;
        write_csv(&dir.join("stages.csv"), &stages_table(&results))?;
        let text = describe_summary(&summary, &l.display_path());
        write_text(&dir.join("summary.txt"), &text)?;
        print!("{text}");
        eprintln!(
            "  ({} runs, {:.1}M sessions in {:.1}s: {:.1}M sessions/s; reports in {})",
            s.runs,
            sessions as f64 / 1e6,
            elapsed,
            sessions as f64 / 1e6 / elapsed.max(1e-9),
            dir.display()
        );
        summaries.push(summary);
    }
    write_csv(&args.out.join("summary.csv"), &summary_table(&summaries))?;
    let groups: Vec<Option<String>> = loaded.iter().map(|l| l.scenario.compare.clone()).collect();
    print!("{}", compare_groups(&summaries, &groups));

    let panicked = summaries.iter().any(|s| !s.panicked.is_empty());
    let failed: Vec<&str> =
        summaries.iter().filter(|s| !s.held()).map(|s| s.scenario.as_str()).collect();
    if panicked {
        eprintln!("internal error: runs panicked (see above); the other runs are reported");
        Ok(exit::INTERNAL)
    } else if !failed.is_empty() {
        eprintln!("FAILED: {}", failed.join(", "));
        Ok(exit::FAILED)
    } else {
        match summaries.len() {
            1 => eprintln!("the scenario held"),
            n => eprintln!("all {n} scenarios held"),
        }
        Ok(exit::HELD)
    }
}
