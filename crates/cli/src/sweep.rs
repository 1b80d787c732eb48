//! `rollcage sweep`, and `rollcage merge --sweep` of its shards: many policies on one scenario,
//! resumable and shardable.
//!
//! Each variant's row is written on its own as soon as the variant is done, to
//! `<out>/sweep/<name>/variant-NNNNN.csv`, stamped with a fingerprint of everything the row depends
//! on (the rollcage build, the variant's scenario text, its runs). A second invocation skips the
//! variants whose row is already there with the same fingerprint, so an interrupted sweep resumes
//! where it stopped, and shards (`--shard I/N`) each write their own share. The table
//! `<out>/sweep/<name>.csv` is assembled from the row files once all are present, by `sweep` or by
//! `merge`, through the same code: a merged table is byte for byte the unsharded one.

use std::path::{Path, PathBuf};

use anyhow::bail;
use indicatif::ProgressBar;
use rollcage_harness::{BatchOptions, Estimate, estimate, simulate_until};
use rollcage_report::Summary;
use rollcage_report::sweep::{SWEEP_HEADER, sweep_row, sweep_table};
use rollcage_scenario::Scenario;
use rollcage_scenario::sweep::{Sweep, Variant, parse, prepare as prepare_variants};

use crate::exit;
use crate::files::Problems;
use crate::interrupt;
use crate::shard::{MergeArgs, fingerprint, parse_shard, read_stamped, write_stamped};
use crate::work::{large, progress_bar, worker_pool};
use crate::write::write_csv;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The sweep file (see README, "Tuning a rollout with a sweep").
    sweep: PathBuf,
    /// Where reports go: <out>/sweep/<name>.csv, with one file per finished variant in
    /// <out>/sweep/<name>/.
    #[arg(long, default_value = "reports")]
    out: PathBuf,
    /// Worker threads (default: one per core). Results are identical at any thread count.
    #[arg(long, value_parser = crate::work::parse_threads)]
    threads: Option<usize>,
    /// Runs per variant, instead of the sweep's `runs` (or the scenario's).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=rollcage_model::limits::MAX_RUNS))]
    runs: Option<u32>,
    /// Run only shard I of N (1-based): the variants whose number modulo N is I - 1. Combine the
    /// shards' outputs with `rollcage merge --sweep FILE --from DIR...`.
    #[arg(long, value_parser = parse_shard)]
    shard: Option<(u32, u32)>,
}

/// A variant ready to run: its scenario and the fingerprint of its row.
pub(crate) struct Prepared {
    pub(crate) variant: Variant,
    pub(crate) scenario: Scenario,
    fingerprint: String,
}

/// Reads and checks the sweep, its scenario and every variant. Prints every problem and returns
/// `None` if there is any: nothing runs unless every variant can.
pub(crate) fn prepare(
    path: &Path,
    runs: Option<u32>,
) -> anyhow::Result<Option<(Sweep, Vec<Prepared>)>> {
    let mut problems = Problems::new();
    let source = match rollcage_scenario::source::read(path) {
        Ok(source) => source,
        Err(problem) => {
            problems.sentence(&problem);
            problems.summary("nothing was run");
            return Ok(None);
        }
    };
    let sweep = match parse(&source) {
        Ok(sweep) => sweep,
        Err(found) => {
            problems.diagnostics(path, &source, &found);
            problems.summary("nothing was run");
            return Ok(None);
        }
    };
    let base_path = path.parent().unwrap_or(Path::new(".")).join(&sweep.scenario);
    let Some(base) = crate::files::load_one(&base_path)? else { return Ok(None) };
    let runs = runs.or(sweep.runs).unwrap_or(base.scenario.runs);
    let ready = match prepare_variants(&base.source, &sweep, &source) {
        Ok(ready) => ready,
        Err(found) => {
            problems.diagnostics(path, &source, &found);
            problems.summary(&format!(
                "some variants cannot run on {}; nothing was run",
                base.path.display()
            ));
            return Ok(None);
        }
    };
    let prepared = ready
        .into_iter()
        .map(|(variant, scenario, text)| {
            let scenario = scenario.with(|s| s.runs = runs);
            let fingerprint = fingerprint(&["sweep variant", &text, &runs.to_string()]);
            Prepared { variant, scenario, fingerprint }
        })
        .collect();
    Ok(Some((sweep, prepared)))
}

fn row_dir(out: &Path, sweep: &Sweep) -> PathBuf {
    out.join("sweep").join(&sweep.name)
}

fn row_path(dir: &Path, index: usize) -> PathBuf {
    dir.join(format!("variant-{index:05}.csv"))
}

/// The row a finished variant left in `dir`, if it is there with the expected fingerprint.
/// An error names the row file if it was changed after it was saved.
fn finished_row(dir: &Path, p: &Prepared) -> Result<Option<Vec<String>>, String> {
    let path = row_path(dir, p.variant.index);
    Ok(read_stamped(&path, &p.fingerprint, ROW_HEADER)?.and_then(|mut rows| rows.pop()))
}

/// A variant's row file holds its row without the Pareto column, which needs the whole table.
const ROW_HEADER: &[&str] = SWEEP_HEADER.split_at(SWEEP_HEADER.len() - 1).0;

fn write_row(dir: &Path, p: &Prepared, row: Vec<String>) -> anyhow::Result<()> {
    write_stamped(&row_path(dir, p.variant.index), &p.fingerprint, ROW_HEADER, &[row])
}

/// Runs one variant: the scenario as written and its harmless twin, on the same seeds. `None` if
/// a Ctrl-C stopped it.
fn run_variant(p: &Prepared, bar: &ProgressBar) -> anyhow::Result<Option<Vec<String>>> {
    let s = &p.scenario;
    let tick = || bar.inc(1);
    let options = BatchOptions::default();
    let stop = interrupt::requested;
    let Some(harmful) = simulate_until(s, 0..s.runs, options, &tick, &stop) else {
        return Ok(None);
    };
    let clean_scenario = s.harmless();
    let Some(clean) = simulate_until(&clean_scenario, 0..s.runs, options, &tick, &stop) else {
        return Ok(None);
    };
    let (harmful, clean) =
        (Summary::from_results(s, &harmful), Summary::from_results(&clean_scenario, &clean));
    if let Some(run) = harmful.panicked.first().or(clean.panicked.first()) {
        bail!(
            "variant {} ({}): run {} (seed {}) panicked: {}; this is a bug in rollcage",
            p.variant.index,
            p.variant.describe(),
            run.run,
            run.seed.0,
            run.message
        );
    }
    let schedule = p.variant.schedule.as_ref().map_or("as written", |s| s.name.as_str());
    Ok(Some(sweep_row(p.variant.index, schedule, s, &harmful, &clean)))
}

/// Writes the table if every variant's row is in one of `dirs`; returns the variants missing.
fn assemble(
    sweep: &Sweep,
    prepared: &[Prepared],
    dirs: &[PathBuf],
    out: &Path,
) -> anyhow::Result<Vec<usize>> {
    let mut rows = Vec::new();
    let mut missing = Vec::new();
    let mut changed = Vec::new();
    for p in prepared {
        let mut found = dirs.iter().map(|d| finished_row(d, p));
        match found.find(|r| !matches!(r, Ok(None))).unwrap_or(Ok(None)) {
            Ok(Some(row)) => rows.push(row),
            Ok(None) => missing.push(p.variant.index),
            Err(problem) => changed.push(problem),
        }
    }
    if !changed.is_empty() {
        bail!("cannot assemble the table; nothing was written:\n  {}", changed.join("\n  "));
    }
    if missing.is_empty() {
        let table = sweep_table(rows);
        let path = out.join("sweep").join(format!("{}.csv", sweep.name));
        write_csv(&path, &table)?;
        let front: Vec<&str> = table
            .rows
            .iter()
            .filter(|r| r.last().is_some_and(|c| c == "yes"))
            .map(|r| r[0].as_str())
            .collect();
        println!(
            "sweep {}: {} variants in {}; on the Pareto frontier: variant{} {}",
            sweep.name,
            table.rows.len(),
            path.display(),
            if front.len() == 1 { "" } else { "s" },
            front.join(", ")
        );
        crate::page::refresh(out);
    }
    Ok(missing)
}

/// Before a sweep that will take more than half a minute or a gigabyte, says so: each variant runs
/// twice (as written and harmless), one variant at a time.
fn announce_if_large(sweep: &Sweep, todo: &[&Prepared], threads: usize) {
    let costs: Vec<Estimate> =
        todo.iter().map(|p| estimate(&p.scenario, 2 * p.scenario.runs, threads)).collect();
    let seconds: f64 = costs.iter().map(|e| e.seconds).sum();
    let bytes = costs.iter().map(|e| e.bytes).fold(0.0, f64::max);
    let Some((time, memory)) = large(seconds, bytes) else { return };
    eprintln!(
        "sweep {}: {} variants to run: estimated {time} on {threads} thread{} and {memory} of \
         memory (Ctrl-C stops it within a second)",
        sweep.name,
        todo.len(),
        if threads == 1 { "" } else { "s" },
    );
}

pub fn run(args: &Args) -> anyhow::Result<u8> {
    let writable = crate::files::out_writable(&args.out);
    let Some((sweep, prepared)) = prepare(&args.sweep, args.runs)? else {
        return Ok(exit::BAD_INPUT);
    };
    if !writable {
        eprintln!("nothing was run");
        return Ok(exit::BAD_INPUT);
    }
    let pool = worker_pool(args.threads)?;
    let dir = row_dir(&args.out, &sweep);
    let (shard, shards) = args.shard.unwrap_or((1, 1));
    let mine: Vec<&Prepared> = prepared
        .iter()
        .filter(|p| p.variant.index % shards as usize == shard as usize - 1)
        .collect();
    let mut todo: Vec<&Prepared> = Vec::new();
    let mut changed = Vec::new();
    for &p in &mine {
        match finished_row(&dir, p) {
            Ok(Some(_)) => {}
            Ok(None) => todo.push(p),
            Err(problem) => changed.push(problem),
        }
    }
    if !changed.is_empty() {
        for problem in &changed {
            eprintln!("error: {problem}");
        }
        eprintln!("nothing was run");
        return Ok(exit::BAD_INPUT);
    }
    if todo.len() < mine.len() {
        eprintln!(
            "{} of {} variants already done in {}; running the other {}",
            mine.len() - todo.len(),
            mine.len(),
            dir.display(),
            todo.len()
        );
    }
    interrupt::install();
    announce_if_large(&sweep, &todo, pool.current_num_threads());
    let total: u64 = todo.iter().map(|p| 2 * u64::from(p.scenario.runs)).sum();
    let bar = progress_bar(&sweep.name, total);
    for (done, p) in todo.iter().enumerate() {
        bar.set_prefix(format!("{} variant {}", sweep.name, p.variant.index));
        // A variant that finished is saved even if Ctrl-C came as it ended.
        let row =
            if interrupt::requested() { None } else { pool.install(|| run_variant(p, &bar))? };
        let Some(row) = row else {
            bar.finish_and_clear();
            eprintln!(
                "interrupted with {} of {} variants of this run done; run the same command again to \
                 resume (finished variants are skipped)",
                done,
                todo.len()
            );
            return Ok(exit::INTERRUPTED);
        };
        write_row(&dir, p, row)?;
        let line = format!("variant {} done: {}", p.variant.index, p.variant.describe());
        if bar.is_hidden() { eprintln!("{line}") } else { bar.println(line) }
    }
    bar.finish_and_clear();
    let missing = assemble(&sweep, &prepared, std::slice::from_ref(&dir), &args.out)?;
    if !missing.is_empty() {
        eprintln!(
            "shard {shard}/{shards} done ({} variants); the table needs the other shards: \
             `rollcage merge --sweep {} --from <each shard's --out>`",
            mine.len(),
            args.sweep.display()
        );
    }
    Ok(exit::HELD)
}

/// `rollcage merge --sweep FILE --from DIR...`: the table from the shards' variant rows.
pub fn merge(path: &Path, args: &MergeArgs) -> anyhow::Result<u8> {
    let Some((sweep, prepared)) = prepare(path, args.runs)? else {
        return Ok(exit::BAD_INPUT);
    };
    let dirs: Vec<PathBuf> = args.from.iter().map(|d| row_dir(d, &sweep)).collect();
    let missing = assemble(&sweep, &prepared, &dirs, &args.out)?;
    if missing.is_empty() {
        return Ok(exit::HELD);
    }
    let shown: Vec<String> = missing.iter().take(20).map(usize::to_string).collect();
    bail!(
        "{} of {} variants have no finished row in the given directories (variants {}{}); run \
         their shards (or the same sweep with the same --runs) first",
        missing.len(),
        prepared.len(),
        shown.join(", "),
        if missing.len() > shown.len() { ", ..." } else { "" }
    )
}
