//! Finding, reading and loading scenario files, and reporting their problems.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use rollcage_model::limits::MAX_PRINTED_PROBLEMS;
use rollcage_scenario::{Diagnostic, Scenario};

use crate::exit;

/// A scenario loaded from a file.
pub struct Loaded {
    pub path: PathBuf,
    /// The file's text, as read.
    pub source: String,
    pub scenario: Scenario,
}

impl Loaded {
    /// The path as the user would type it in a repro command.
    pub fn display_path(&self) -> String {
        self.path.display().to_string()
    }
}

/// The scenario files named by `paths`: files as given; for a directory, its `*.toml` files and
/// those of its subdirectories, sorted by path.
pub fn discover(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        let meta =
            std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
        if meta.is_dir() {
            let mut found = Vec::new();
            collect(path, &mut found)?;
            found.sort();
            if found.is_empty() {
                bail!("{} holds no scenario files (*.toml)", path.display());
            }
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

fn collect(dir: &Path, found: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        if path.is_dir() {
            collect(&path, found)?;
        } else if path.extension().is_some_and(|x| x == "toml") && path.is_file() {
            found.push(path);
        }
    }
    Ok(())
}

/// Prints the problems a command finds in its inputs, to stderr: the first
/// [`MAX_PRINTED_PROBLEMS`] in full (in colour on a terminal), then only counted, so a file with
/// thousands of mistakes costs a screenful, not megabytes.
pub struct Problems {
    count: usize,
    files: usize,
    color: bool,
}

impl Problems {
    pub fn new() -> Problems {
        use std::io::IsTerminal;
        let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        Problems { count: 0, files: 0, color }
    }

    /// Whether any problem was reported.
    pub fn any(&self) -> bool {
        self.count > 0
    }

    /// A file's problems, located in its text.
    pub fn diagnostics(&mut self, path: &Path, source: &str, found: &[Diagnostic]) {
        let shown = path.display().to_string();
        self.files += 1;
        for d in found {
            if self.count < MAX_PRINTED_PROBLEMS {
                let text = if self.color {
                    d.render_styled(&shown, source)
                } else {
                    d.render(&shown, source)
                };
                eprintln!("{text}\n");
            }
            self.count += 1;
        }
    }

    /// A problem that is a sentence of its own (it names its file).
    pub fn sentence(&mut self, message: &str) {
        self.files += 1;
        if self.count < MAX_PRINTED_PROBLEMS {
            eprintln!("error: {message}\n");
        }
        self.count += 1;
    }

    /// The closing line: how many problems in how many files, how many were not shown, and what
    /// was not done because of them.
    pub fn summary(&self, consequence: &str) {
        let (count, files) = (self.count, self.files);
        let hidden = count.saturating_sub(MAX_PRINTED_PROBLEMS);
        eprintln!(
            "{count} problem{} in {files} file{}{}; {consequence}",
            if count == 1 { "" } else { "s" },
            if files == 1 { "" } else { "s" },
            if hidden > 0 {
                format!(" (the first {MAX_PRINTED_PROBLEMS} are shown)")
            } else {
                String::new()
            },
        );
    }
}

/// Loads every file. On any problem, prints them all (to stderr) and returns `None`.
pub fn load_all(paths: &[PathBuf]) -> anyhow::Result<Option<Vec<Loaded>>> {
    let files = discover(paths)?;
    let mut loaded: Vec<Loaded> = Vec::new();
    let mut problems = Problems::new();
    for path in files {
        let source = match rollcage_scenario::source::read(&path) {
            Ok(source) => source,
            Err(problem) => {
                problems.sentence(&problem);
                continue;
            }
        };
        match rollcage_scenario::load(&source) {
            Ok(scenario) => {
                if let Some(other) = loaded.iter().find(|l| l.scenario.name == scenario.name) {
                    problems.sentence(&format!(
                        "{}: scenario name `{}` is already used by {}; reports would overwrite each other",
                        path.display(),
                        scenario.name,
                        other.path.display()
                    ));
                }
                loaded.push(Loaded { path, source, scenario });
            }
            Err(diagnostics) => problems.diagnostics(&path, &source, &diagnostics),
        }
    }
    if problems.any() {
        problems.summary("nothing was simulated and no report was written");
        return Ok(None);
    }
    Ok(Some(loaded))
}

/// `rollcage check`.
pub fn check(paths: &[PathBuf]) -> anyhow::Result<u8> {
    let Some(loaded) = load_all(paths)? else { return Ok(exit::BAD_INPUT) };
    for l in &loaded {
        let s = &l.scenario;
        println!(
            "ok: {} ({}: {} runs of {} players, {} stages, {} guardrails)",
            l.path.display(),
            s.name,
            s.runs,
            s.world.population.players,
            s.policy.stages.len(),
            s.policy.guardrails.len()
        );
    }
    Ok(exit::HELD)
}

/// Loads the one scenario file a command is about (`explain`, `plan`, `calibrate-se`, a sweep's
/// scenario). A directory is refused, not searched: which of its files was meant is the user's
/// to say.
pub fn load_one(path: &Path) -> anyhow::Result<Option<Loaded>> {
    if path.is_dir() {
        let files = discover(&[path.to_path_buf()]).unwrap_or_default();
        let example = files.first().map_or(String::new(), |f| format!(", such as {}", f.display()));
        bail!(
            "{} is a directory, and this command takes one scenario file: name one of its {} \
             scenario files{example}",
            path.display(),
            files.len()
        );
    }
    Ok(load_all(&[path.to_path_buf()])?.and_then(|mut v| v.pop()))
}

/// Whether reports can be written under `out`, checked before any work; a problem is printed.
pub fn out_writable(out: &Path) -> bool {
    let problem = out_problem(out);
    if let Some(problem) = &problem {
        eprintln!("error: {problem}");
    }
    problem.is_none()
}

/// What keeps reports from being written under `out`, as a message naming `--out`: it must be a
/// directory, or creatable as one (its nearest existing ancestor is a directory this process can
/// write in). Nothing is left behind.
fn out_problem(out: &Path) -> Option<String> {
    let shown = out.display();
    if out.exists() && !out.is_dir() {
        return Some(format!("--out {shown} is a file; reports go in a directory"));
    }
    let mut existing = out;
    while !existing.exists() {
        match existing.parent() {
            Some(p) if !p.as_os_str().is_empty() => existing = p,
            _ => {
                existing = Path::new(".");
                break;
            }
        }
    }
    if !existing.is_dir() {
        return Some(format!(
            "--out {shown} cannot be created: {} is a file, not a directory",
            existing.display()
        ));
    }
    let probe = existing.join(format!(".rollcage-write-check-{}", std::process::id()));
    match std::fs::File::create(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            None
        }
        Err(e) => Some(format!("--out {shown} cannot be written: {}: {e}", existing.display())),
    }
}
