//! Telemetry files on disk: where `explain --telemetry` writes a run's telemetry and rollout log,
//! and where `judge` reads them.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use rollcage_harness::telemetry::{Exposure, LogEvent, Recording};
use rollcage_model::Scenario;
use rollcage_telemetry::{Format, Names};

use crate::write::write_atomically;

/// A telemetry file, its format, and its rollout log.
pub struct Paths {
    pub telemetry: PathBuf,
    pub format: Format,
    pub log: PathBuf,
}

/// The rollout log's path when none is given: beside the telemetry, `<stem>.rollout.jsonl`.
pub fn default_log(telemetry: &Path) -> PathBuf {
    let stem = telemetry.file_stem().and_then(|s| s.to_str()).unwrap_or("telemetry");
    telemetry.with_file_name(format!("{stem}.rollout.jsonl"))
}

/// The telemetry's format from its extension, or a message saying what is expected.
pub fn format_of(path: &Path) -> anyhow::Result<Format> {
    match Format::of(path) {
        Some(f) => Ok(f),
        None => bail!(
            "{}: the telemetry's format comes from its extension: .csv (CSV) or .jsonl (JSON Lines)",
            path.display()
        ),
    }
}

/// A recorded rollout's files, checked before any work: the telemetry's format and the log's
/// path (given, or beside the telemetry), both existing files.
pub fn inputs(telemetry: &Path, log: Option<&Path>) -> anyhow::Result<(Format, PathBuf)> {
    let format = format_of(telemetry)?;
    let log = log.map_or_else(|| default_log(telemetry), Path::to_path_buf);
    for (what, path) in [("--telemetry", telemetry), ("--log", log.as_path())] {
        if !path.is_file() {
            bail!("{what} {}: no such file", path.display());
        }
    }
    Ok((format, log))
}

/// The paths `explain --telemetry` writes, checked before the run: a known format, a log that is
/// not the telemetry itself, and directories that can hold them.
pub fn outputs(telemetry: &Path, log: Option<&Path>) -> anyhow::Result<Paths> {
    let format = format_of(telemetry)?;
    let log = log.map_or_else(|| default_log(telemetry), Path::to_path_buf);
    if log == telemetry {
        bail!("--log {} is the telemetry file itself; give them different paths", log.display());
    }
    for path in [telemetry, log.as_path()] {
        outputs_one(path)?;
    }
    Ok(Paths { telemetry: telemetry.to_path_buf(), format, log })
}

/// The rollout log in `text` (read from `path`), as `scenario`'s policy reads it: its names, and
/// its first exposed build the policy's. `Err` holds the exit code when it is refused (its
/// problems printed, `nothing` saying what was not done).
pub fn log_for(
    scenario: &Scenario,
    text: &str,
    path: &Path,
    nothing: &str,
) -> anyhow::Result<Result<Vec<LogEvent>, u8>> {
    let names = Names::of(scenario);
    let log_names = rollcage_telemetry::read::LogNames { names: &names, policy: &scenario.policy };
    let log = match rollcage_telemetry::read::log(text, &log_names) {
        Ok(log) => log,
        Err(problems) => return Ok(Err(refused("rollout log", path, &problems, nothing))),
    };
    if let Some(problem) = first_build_problem(scenario, &log) {
        bail!("{}: {problem}", path.display());
    }
    Ok(Ok(log))
}

/// Prints `problems` found in the file at `path` (`what` it is), and that the command did
/// nothing (`nothing` says what it would have done); the exit code of a refused input.
pub fn refused(
    what: &str,
    path: &Path,
    problems: &rollcage_telemetry::Problems,
    nothing: &str,
) -> u8 {
    eprint!("{}", problems.render(&path.display().to_string()));
    eprintln!("error: the {what} {} was refused; nothing was {nothing}", path.display());
    crate::exit::BAD_INPUT
}

/// A file a command will write, checked before any work: not a directory, in a directory that can
/// hold it.
pub fn outputs_one(path: &Path) -> anyhow::Result<()> {
    if path.is_dir() {
        bail!("{} is a directory; name the file to write", path.display());
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !crate::files::out_writable(dir) {
        bail!("{} cannot be written", path.display());
    }
    Ok(())
}

/// Writes a run's telemetry and its rollout log, each atomically.
pub fn write(paths: &Paths, scenario: &Scenario, recording: &Recording) -> anyhow::Result<()> {
    let names = Names::of(scenario);
    write_atomically(&paths.telemetry, |out| {
        rollcage_telemetry::write::telemetry(recording, &names, paths.format, out)
            .with_context(|| format!("cannot write {}", paths.telemetry.display()))
    })?;
    write_atomically(&paths.log, |out| {
        rollcage_telemetry::write::log(&recording.log, &names, out)
            .with_context(|| format!("cannot write {}", paths.log.display()))
    })?;
    let rows: usize = recording.windows.iter().map(|w| w.rows.len()).sum();
    eprintln!(
        "telemetry: {} rows in {} windows to {}, and {} log events to {}",
        rows,
        recording.windows.len(),
        paths.telemetry.display(),
        recording.log.len(),
        paths.log.display()
    );
    Ok(())
}

/// The first exposure of a build must be of the build the scenario's policy rolls out.
pub fn first_build_problem(
    s: &Scenario,
    log: &[rollcage_harness::telemetry::LogEvent],
) -> Option<String> {
    let first = log.iter().find_map(|e| match e {
        rollcage_harness::telemetry::LogEvent::Exposure {
            exposure: Exposure { build: Some(b), .. },
            ..
        } => Some(b),
        _ => None,
    })?;
    let release = &s.world.release.build;
    (first != release).then(|| {
        format!("the log's first exposed build is {first}, but the scenario's policy rolls out {release}: judge with the scenario of that build")
    })
}
