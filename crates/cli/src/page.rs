//! `reports/index.html` on disk: the CSV reports of a directory read back, the page
//! (`rollcage_report::page`) drawn from them and written beside them.

use std::path::{Path, PathBuf};

use anyhow::Context;
use rollcage_report::columns::{RunsColumn, SummaryColumn};
use rollcage_report::page::{Csv, Inputs, render};

use crate::write::write_text;

/// The CSV report at `path`, if there is one.
fn read_csv(path: &Path) -> anyhow::Result<Option<Csv>> {
    if !path.exists() {
        return Ok(None);
    }
    let read = || -> anyhow::Result<Csv> { Ok(Csv::parse(&std::fs::read_to_string(path)?)?) };
    read().with_context(|| format!("cannot read {}", path.display())).map(Some)
}

/// What the reports in `out` hold.
fn inputs(out: &Path) -> anyhow::Result<Inputs> {
    let summary = read_csv(&out.join("summary.csv"))?;
    let mut detections = Vec::new();
    for row in summary
        .iter()
        .flat_map(|s| s.rows().iter().map(move |r| s.cell(r, SummaryColumn::Scenario)))
    {
        let Some(runs) = read_csv(&out.join(row).join("runs.csv"))? else { continue };
        let hours: Vec<f64> =
            runs.rows().iter().filter_map(|r| runs.number(r, RunsColumn::TimeToDetectH)).collect();
        detections.push((row.to_string(), hours));
    }
    let sweeps = tables(&out.join("sweep"))?;
    let backtests = tables(&out.join("backtest"))?;
    Ok(Inputs { summary, detections, sweeps, backtests })
}

/// The CSV tables in `dir`, by name (a file's stem), in name order.
fn tables(dir: &Path) -> anyhow::Result<Vec<(String, Csv)>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|x| x == "csv") && p.is_file());
    files.sort();
    let mut tables = Vec::new();
    for path in files {
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        if let Some(table) = read_csv(&path)? {
            tables.push((name, table));
        }
    }
    Ok(tables)
}

/// Rebuilds `<out>/index.html` from the reports there; returns its path.
pub fn write_index(out: &Path) -> anyhow::Result<PathBuf> {
    let path = out.join("index.html");
    write_text(&path, &render(&inputs(out)?)?)?;
    Ok(path)
}

/// Rebuilds the page after another command's reports, and says where it is. The reports are the
/// command's result: a page that cannot be rebuilt (a damaged CSV beside them, say) is a warning.
pub fn refresh(out: &Path) {
    match write_index(out) {
        Ok(page) => eprintln!("the reports at a glance: {}", page.display()),
        Err(e) => eprintln!("warning: the visual report was not rebuilt: {e:#}"),
    }
}

/// `rollcage report`: rebuild the page and say where it is.
pub fn run(out: &Path) -> anyhow::Result<u8> {
    if !out.is_dir() {
        anyhow::bail!(
            "--out {} is not a reports directory: `report` rebuilds <out>/index.html from the CSV \
             reports that simulate, sweep or merge wrote there",
            out.display()
        );
    }
    let path = write_index(out)?;
    println!("{}", path.display());
    Ok(crate::exit::HELD)
}
