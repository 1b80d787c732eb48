//! `rollcage simulate`: every scenario's batch, its reports, and the exit code; and the merge of a
//! sharded one.
//!
//! Each scenario's batch (or, with `--shard I/N`, its share of the runs) is first saved as a part,
//! `<out>/<scenario>/part-I-of-N/` (the report rows and each run's figures, stamped with a
//! fingerprint), then reported from it. A part whose fingerprint matches is not run again, so an
//! interrupted `simulate` resumes at the scenario it stopped in. An unsharded run removes its parts
//! once every report is written; a shard keeps them for `rollcage merge`, which reports from the
//! shards' parts through the same code, so its reports are the unsharded run's, byte for byte.

use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::bail;
use rollcage_harness::{BatchOptions, RunResult, Scenario, estimate, simulate_until};
use rollcage_report::Summary;
use rollcage_report::explain::{compare_groups, describe_summary};
use rollcage_report::figures::{
    FIGURES_HEADER, RunFigures, figures_table, parse_figures, shard_range,
};
use rollcage_report::rows::{
    RUNS_HEADER, STAGES_HEADER, Table, runs_table, stages_table, summary_table,
};

use crate::exit;
use crate::files::{Loaded, load_all, out_writable};
use crate::interrupt;
use crate::shard::{MergeArgs, fingerprint, parse_shard, read_stamped, stamp_of, write_stamped};
use crate::work::{large, parse_threads, progress_bar, worker_pool};
use crate::write::{write_csv, write_text};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Scenario files or directories of them.
    #[arg(default_value = "scenarios")]
    paths: Vec<PathBuf>,
    /// Where reports go: <out>/<scenario>/runs.csv, stages.csv, summary.txt, and <out>/summary.csv.
    #[arg(long, default_value = "reports")]
    out: PathBuf,
    /// Worker threads (default: one per core). Reports are identical at any thread count.
    #[arg(long, value_parser = parse_threads)]
    threads: Option<usize>,
    /// Run this many runs of each scenario instead of the scenario's own `runs` (for quick looks).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=rollcage_model::limits::MAX_RUNS))]
    runs: Option<u32>,
    /// Run only shard I of N (1-based): a contiguous 1/N of every scenario's runs, saved in
    /// <out>/<scenario>/part-I-of-N/. `rollcage merge` turns the shards into the reports (and the
    /// verdict) of the unsharded run.
    #[arg(long, value_parser = parse_shard)]
    shard: Option<(u32, u32)>,
    /// Make this run panic, to exercise the internal-error path.
    #[arg(long, hide = true)]
    debug_panic_run: Option<u32>,
}

/// A batch's report rows and run figures: all its runs, or one shard's.
#[derive(Default)]
struct Batch {
    runs: Vec<Vec<String>>,
    stages: Vec<Vec<String>>,
    figures: Vec<RunFigures>,
}

impl Batch {
    fn of(results: &[RunResult]) -> Batch {
        Batch {
            runs: runs_table(results).rows,
            stages: stages_table(results).rows,
            figures: results.iter().map(RunFigures::of).collect(),
        }
    }

    fn append(&mut self, mut other: Batch) {
        self.runs.append(&mut other.runs);
        self.stages.append(&mut other.stages);
        self.figures.append(&mut other.figures);
    }
}

fn part_dir(out: &Path, scenario: &str, (shard, shards): (u32, u32)) -> PathBuf {
    out.join(scenario).join(format!("part-{shard}-of-{shards}"))
}

/// Everything a part's results depend on: the build, the scenario's text, its runs, the shard.
fn part_fingerprint(l: &Loaded, (shard, shards): (u32, u32), panic_run: Option<u32>) -> String {
    fingerprint(&[
        "simulate part",
        &l.source,
        &l.scenario.runs.to_string(),
        &format!("{shard}/{shards}"),
        &format!("{panic_run:?}"),
    ])
}

/// The part saved in `dir` for this work: `Ok(None)` if there is none, it is incomplete (its
/// shard was interrupted) or it was saved for other work; an error naming the file if one of its
/// files was changed after it was saved.
fn read_part(dir: &Path, fingerprint: &str) -> Result<Option<Batch>, String> {
    let runs = read_stamped(&dir.join("runs.csv"), fingerprint, RUNS_HEADER)?;
    let stages = read_stamped(&dir.join("stages.csv"), fingerprint, STAGES_HEADER)?;
    let figures = read_stamped(&dir.join("figures.csv"), fingerprint, FIGURES_HEADER)?;
    let (Some(runs), Some(stages), Some(figures)) = (runs, stages, figures) else {
        return Ok(None);
    };
    let inconsistent = || {
        format!(
            "{} does not hold one figure per run of its part; delete the part to compute it again",
            dir.display()
        )
    };
    let figures = parse_figures(&figures).map_err(|_| inconsistent())?;
    if figures.len() != runs.len() {
        return Err(inconsistent());
    }
    Ok(Some(Batch { runs, stages, figures }))
}

/// The parts saved earlier for each scenario's share of the work, all read before any runs: a
/// changed part is refused (with its path), not silently recomputed or trusted.
fn saved_parts(
    loaded: &[Loaded],
    out: &Path,
    shard: (u32, u32),
    panic_run: Option<u32>,
) -> Result<Vec<Option<Batch>>, Vec<String>> {
    let mut saved = Vec::new();
    let mut changed = Vec::new();
    for l in loaded {
        let dir = part_dir(out, &l.scenario.name, shard);
        match read_part(&dir, &part_fingerprint(l, shard, panic_run)) {
            Ok(part) => saved.push(part),
            Err(problem) => changed.push(problem),
        }
    }
    if changed.is_empty() { Ok(saved) } else { Err(changed) }
}

fn write_part(dir: &Path, fingerprint: &str, batch: &Batch) -> anyhow::Result<()> {
    // figures.csv last: a part is whole only when all three carry the fingerprint.
    write_stamped(&dir.join("runs.csv"), fingerprint, RUNS_HEADER, &batch.runs)?;
    write_stamped(&dir.join("stages.csv"), fingerprint, STAGES_HEADER, &batch.stages)?;
    let figures = figures_table(&batch.figures);
    write_stamped(&dir.join("figures.csv"), fingerprint, figures.header, &figures.rows)
}

/// Runs `runs` of the scenario; `None` if a Ctrl-C stopped them (no run starts after it, and the
/// runs under way stop at their next evaluation, so the stop comes within a fraction of a second
/// at any size).
fn run_share(
    pool: &rayon::ThreadPool,
    l: &Loaded,
    runs: Range<u32>,
    options: BatchOptions,
) -> Option<Vec<RunResult>> {
    let s = &l.scenario;
    announce_if_large(s, runs.len() as u32, pool.current_num_threads());
    let bar = progress_bar(&s.name, u64::from(runs.end - runs.start));
    if bar.is_hidden() {
        // No terminal (a CI log, a batch job): one line per scenario says what is under way.
        eprintln!("{}: running {} runs", s.name, runs.len());
    }
    let tick = || bar.inc(1);
    let results = pool.install(|| simulate_until(s, runs, options, &tick, &interrupt::requested));
    bar.finish_and_clear();
    results
}

/// Before a batch that will take more than half a minute or a gigabyte, says so, with its size.
fn announce_if_large(s: &Scenario, runs: u32, threads: usize) {
    let e = estimate(s, runs, threads);
    let Some((time, memory)) = large(e.seconds, e.bytes) else { return };
    eprintln!(
        "{}: {runs} runs of {} players, about {:.1}M sessions each: estimated {time} on {threads} \
         thread{} and {memory} of memory (Ctrl-C stops it within a second)",
        s.name,
        s.world.population.players,
        e.sessions_per_run / 1e6,
        if threads == 1 { "" } else { "s" },
    );
}

/// Writes a scenario's reports from its whole batch and prints its summary.
fn report(out: &Path, l: &Loaded, batch: Batch) -> anyhow::Result<Summary> {
    let summary = Summary::from_figures(&l.scenario, &batch.figures);
    let dir = out.join(&l.scenario.name);
    write_csv(&dir.join("runs.csv"), &Table { header: RUNS_HEADER, rows: batch.runs })?;
    write_csv(&dir.join("stages.csv"), &Table { header: STAGES_HEADER, rows: batch.stages })?;
    let text = describe_summary(&summary, &l.display_path());
    write_text(&dir.join("summary.txt"), &text)?;
    print!("{text}");
    Ok(summary)
}

/// `summary.csv`, the side-by-side comparisons, and the exit code.
fn conclude(out: &Path, loaded: &[Loaded], summaries: &[Summary]) -> anyhow::Result<u8> {
    write_csv(&out.join("summary.csv"), &summary_table(summaries))?;
    let groups: Vec<Option<String>> = loaded.iter().map(|l| l.scenario.compare.clone()).collect();
    print!("{}", compare_groups(summaries, &groups));
    crate::page::refresh(out);

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

fn load(paths: &[PathBuf], runs: Option<u32>) -> anyhow::Result<Option<Vec<Loaded>>> {
    let Some(mut loaded) = load_all(paths)? else { return Ok(None) };
    if let Some(runs) = runs {
        loaded.iter_mut().for_each(|l| l.scenario = l.scenario.with(|s| s.runs = runs));
    }
    Ok(Some(loaded))
}

/// The scenarios, and that `out` can take their reports: every problem of both is printed, and
/// `None` returned if there is any.
fn load_with_out(
    paths: &[PathBuf],
    runs: Option<u32>,
    out: &Path,
) -> anyhow::Result<Option<Vec<Loaded>>> {
    let writable = out_writable(out);
    let Some(loaded) = load(paths, runs)? else { return Ok(None) };
    if !writable {
        eprintln!("nothing was simulated and no report was written");
        return Ok(None);
    }
    Ok(Some(loaded))
}

/// Simulates a scenario's share of runs and saves it as a part in `dir`: the batch and a note of
/// its speed, or `None` if a Ctrl-C stopped it.
fn simulate_part(
    pool: &rayon::ThreadPool,
    l: &Loaded,
    runs: Range<u32>,
    options: BatchOptions,
    dir: &Path,
    fingerprint: &str,
) -> anyhow::Result<Option<(Batch, String)>> {
    #[allow(clippy::disallowed_methods)] // The command line may read the clock, for the user.
    let started = std::time::Instant::now();
    let Some(results) = run_share(pool, l, runs, options) else { return Ok(None) };
    let elapsed = started.elapsed().as_secs_f64();
    let sessions: u64 = results
        .iter()
        .filter_map(|r| match r {
            RunResult::Done(r) => Some(r.sessions),
            RunResult::Panicked { .. } => None,
        })
        .sum();
    let batch = Batch::of(&results);
    write_part(dir, fingerprint, &batch)?;
    let note = format!(
        "{:.1}M sessions in {:.1}s: {:.1}M sessions/s",
        sessions as f64 / 1e6,
        elapsed,
        sessions as f64 / 1e6 / elapsed.max(1e-9)
    );
    Ok(Some((batch, note)))
}

pub fn run(args: &Args) -> anyhow::Result<u8> {
    let Some(loaded) = load_with_out(&args.paths, args.runs, &args.out)? else {
        return Ok(exit::BAD_INPUT);
    };
    let pool = worker_pool(args.threads)?;
    let options = BatchOptions { panic_on_run: args.debug_panic_run };
    let shard = args.shard.unwrap_or((1, 1));
    interrupt::install();

    let mut saved = match saved_parts(&loaded, &args.out, shard, args.debug_panic_run) {
        Ok(saved) => saved,
        Err(changed) => {
            for problem in &changed {
                eprintln!("error: {problem}");
            }
            eprintln!("nothing was simulated and no report was written");
            return Ok(exit::BAD_INPUT);
        }
    };
    let mut summaries = Vec::new();
    for (done, l) in loaded.iter().enumerate() {
        let s = &l.scenario;
        crate::panics::doing(format!("simulating {}", l.display_path()));
        let runs = shard_range(s.runs, shard.0, shard.1);
        let dir = part_dir(&args.out, &s.name, shard);
        let fingerprint = part_fingerprint(l, shard, args.debug_panic_run);
        let (batch, note) = match saved[done].take() {
            Some(batch) => (batch, format!("saved earlier in {}", dir.display())),
            None => match simulate_part(&pool, l, runs.clone(), options, &dir, &fingerprint)? {
                Some(done) => done,
                None => {
                    eprintln!(
                        "interrupted: {done} of {} scenarios done and saved; run the same command \
                         again to resume from {}",
                        loaded.len(),
                        s.name
                    );
                    return Ok(exit::INTERRUPTED);
                }
            },
        };
        if shard.1 > 1 {
            eprintln!(
                "{}: runs {}..{} of {} ({note}) saved in {}",
                s.name,
                runs.start,
                runs.end,
                s.runs,
                dir.display()
            );
            continue;
        }
        summaries.push(report(&args.out, l, batch)?);
        let dir = args.out.join(&s.name);
        eprintln!("  ({} runs, {note}; reports in {})", s.runs, dir.display());
    }
    if shard.1 > 1 {
        let paths: Vec<String> = args.paths.iter().map(|p| p.display().to_string()).collect();
        eprintln!(
            "shard {}/{} done; once every shard is, `rollcage merge {} --from <each shard's --out>` \
             writes the reports{}",
            shard.0,
            shard.1,
            paths.join(" "),
            args.runs.map_or_else(String::new, |r| format!(" (give it --runs {r} too)"))
        );
        return Ok(exit::HELD);
    }
    // Every report is written: the parts were only there to resume from.
    for l in &loaded {
        let _ = std::fs::remove_dir_all(part_dir(&args.out, &l.scenario.name, shard));
    }
    conclude(&args.out, &loaded, &summaries)
}

/// The shard counts of the parts of `scenario` found in `dirs`, with where each part is.
fn parts_found(dirs: &[PathBuf], scenario: &str) -> Vec<(u32, u32, PathBuf)> {
    let mut found = Vec::new();
    for d in dirs {
        let Ok(entries) = std::fs::read_dir(d.join(scenario)) else { continue };
        for e in entries.filter_map(Result::ok) {
            let name = e.file_name().to_string_lossy().into_owned();
            let parsed = name
                .strip_prefix("part-")
                .and_then(|rest| rest.split_once("-of-"))
                .and_then(|(i, n)| Some((i.parse::<u32>().ok()?, n.parse::<u32>().ok()?)));
            if let Some((i, n)) = parsed.filter(|(i, n)| 1 <= *i && i <= n) {
                found.push((i, n, e.path()));
            }
        }
    }
    found.sort();
    found
}

/// `rollcage merge [PATHS] --from DIR...`: the reports of a sharded `simulate`.
pub fn merge(paths: &[PathBuf], args: &MergeArgs) -> anyhow::Result<u8> {
    let Some(loaded) = load_with_out(paths, args.runs, &args.out)? else {
        return Ok(exit::BAD_INPUT);
    };
    let mut batches = Vec::new();
    let mut problems = Vec::new();
    for l in &loaded {
        let name = &l.scenario.name;
        let found = parts_found(&args.from, name);
        let mut counts: Vec<u32> = found.iter().map(|(_, n, _)| *n).collect();
        counts.sort_unstable();
        counts.dedup();
        let &[shards] = counts.as_slice() else {
            problems.push(if counts.is_empty() {
                format!("{name}: no part in the given directories (each holds {name}/part-I-of-N/)")
            } else {
                format!("{name}: parts of different splits ({counts:?} shards); merge one split")
            });
            continue;
        };
        let mut batch = Batch::default();
        for shard in 1..=shards {
            let fingerprint = part_fingerprint(l, (shard, shards), None);
            let here = found.iter().filter(|(i, _, _)| *i == shard).map(|(_, _, p)| p);
            let mut parts = here.clone().map(|p| read_part(p, &fingerprint));
            match parts.find(|p| !matches!(p, Ok(None))).unwrap_or(Ok(None)) {
                Ok(Some(part)) => batch.append(part),
                Err(changed) => problems.push(format!("{name}: {changed}")),
                Ok(None) => problems.push(match here.clone().next() {
                    None => format!("{name}: shard {shard}/{shards} is missing"),
                    Some(p) if stamp_of(&p.join("figures.csv")).is_some() => format!(
                        "{name}: {} was written by another rollcage build, scenario text or \
                         --runs; run that shard again with this one",
                        p.display()
                    ),
                    Some(p) => {
                        format!("{name}: {} is incomplete (its shard did not finish)", p.display())
                    }
                }),
            }
        }
        batches.push(batch);
    }
    if !problems.is_empty() {
        bail!("cannot merge; nothing was written:\n  {}", problems.join("\n  "));
    }
    let mut summaries = Vec::new();
    for (l, batch) in loaded.iter().zip(batches) {
        summaries.push(report(&args.out, l, batch)?);
    }
    conclude(&args.out, &loaded, &summaries)
}
