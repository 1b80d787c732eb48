//! What long commands share to do their work: the worker pool and its `--threads` flag, and the
//! progress bar.

use std::io::IsTerminal;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use rollcage_model::limits::MAX_THREADS;

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

/// Parses `--threads`: 1 to [`MAX_THREADS`].
pub fn parse_threads(text: &str) -> Result<usize, String> {
    let threads: usize = text
        .trim()
        .parse()
        .map_err(|_| format!("a whole number of threads, such as 4 (got `{text}`)"))?;
    if threads == 0 || threads > MAX_THREADS {
        return Err(format!("between 1 and {MAX_THREADS} threads (got {threads})"));
    }
    Ok(threads)
}

/// The rayon pool: `threads` workers, or one per core.
pub fn worker_pool(threads: Option<usize>) -> anyhow::Result<rayon::ThreadPool> {
    let mut pool = rayon::ThreadPoolBuilder::new();
    if let Some(threads) = threads {
        pool = pool.num_threads(threads);
    }
    pool.build().context("cannot start worker threads")
}

/// A batch's estimated time and memory, as words, if it is large enough to announce before it
/// starts: more than half a minute or a gigabyte.
pub fn large(seconds: f64, bytes: f64) -> Option<(String, String)> {
    if seconds < 30.0 && bytes < 1e9 {
        return None;
    }
    let time = match seconds {
        t if t < 90.0 => format!("{t:.0} s"),
        t if t < 5400.0 => format!("{:.0} min", t / 60.0),
        t => format!("{:.1} h", t / 3600.0),
    };
    let memory = if bytes < 1e9 {
        format!("{:.0} MB", bytes / 1e6)
    } else {
        format!("{:.1} GB", bytes / 1e9)
    };
    Some((time, memory))
}
