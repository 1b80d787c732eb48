//! Writing reports atomically: every file goes to a temporary name in its directory and is renamed
//! into place once complete, so an interrupted run never leaves a half-written report.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context;
use rollcage_report::table::Table;

/// The temporary files being written, for a hard stop to remove.
static IN_FLIGHT: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn in_flight() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    IN_FLIGHT.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Removes the temporary files of the writes under way, before the process stops at once (a second
/// Ctrl-C): the reports already in place stay whole, and no partial file is left beside them.
pub fn abandon_writes() {
    for temp in in_flight().drain(..) {
        let _ = std::fs::remove_file(temp);
    }
}

/// Writes `path` atomically with whatever `fill` writes.
pub fn write_atomically(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<File>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("report");
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    in_flight().push(temp.clone());
    let result = (|| {
        let file =
            File::create(&temp).with_context(|| format!("cannot create {}", temp.display()))?;
        let mut out = BufWriter::new(file);
        fill(&mut out)?;
        let file = out
            .into_inner()
            .map_err(|e| e.into_error())
            .with_context(|| format!("cannot write {}", temp.display()))?;
        file.sync_all().with_context(|| format!("cannot write {}", temp.display()))?;
        std::fs::rename(&temp, path)
            .with_context(|| format!("cannot move {} into place", path.display()))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    in_flight().retain(|t| *t != temp);
    result
}

/// Writes a table as CSV, atomically.
pub fn write_csv(path: &Path, table: &Table) -> anyhow::Result<()> {
    write_rows(path, None, table.header, &table.rows)
}

/// Writes `header` and `rows` as CSV, atomically, after a `first_line` if one is given.
pub fn write_rows(
    path: &Path,
    first_line: Option<&str>,
    header: &[&str],
    rows: &[Vec<String>],
) -> anyhow::Result<()> {
    write_atomically(path, |out| {
        if let Some(line) = first_line {
            writeln!(out, "{line}")?;
        }
        let mut w = csv::Writer::from_writer(out);
        w.write_record(header)?;
        for row in rows {
            w.write_record(row)?;
        }
        w.flush()?;
        Ok(())
    })
    .with_context(|| format!("writing {}", path.display()))
}

/// Writes text, atomically.
pub fn write_text(path: &Path, text: &str) -> anyhow::Result<()> {
    write_atomically(path, |out| Ok(out.write_all(text.as_bytes())?))
        .with_context(|| format!("writing {}", path.display()))
}
