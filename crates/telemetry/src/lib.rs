//! rollcage's telemetry files: what a rollout system exports, written from a simulated run and
//! read, checked and judged from a real one.
//!
//! Two files describe a rollout (the format is documented in `docs/telemetry.md`):
//! - the **telemetry**: one row per player, cohort and telemetry window, with the sums every
//!   guardrail needs ([`columns`]), in CSV or JSON Lines;
//! - the **rollout log**: JSON Lines, one event per line: each change of the flags (an exposure),
//!   each look of the policy and how fresh its data was, each operator command, each rollback
//!   step result.
//!
//! [`mod@write`] writes a run's [`Recording`](rollcage_harness::telemetry::Recording);
//! [`mod@read`] reads both files back, streaming the telemetry (memory grows with the players, not
//! the rows), and refuses bad input with its line and column; [`judge`] runs a policy on them.

pub mod backtest;
pub mod columns;
pub mod fit;
pub mod judge;
pub mod read;
pub mod schema;
pub mod write;

use std::fmt;
use std::path::Path;

use rollcage_model::Scenario;

/// A telemetry file's format, from its extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    JsonLines,
}

impl Format {
    /// `.csv` or `.jsonl` (`.ndjson` too); `None` for any other extension.
    pub fn of(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()? {
            "csv" => Some(Format::Csv),
            "jsonl" | "ndjson" => Some(Format::JsonLines),
            _ => None,
        }
    }
}

/// One problem in an input file, at its line and column (both 1-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub line: u64,
    pub column: u64,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

/// The most problems a file's check reports one by one; the rest are counted.
pub const MAX_PROBLEMS: usize = 50;

/// Problems found in one file, in file order, and how many more there were.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Problems {
    pub listed: Vec<Problem>,
    pub more: u64,
}

impl Problems {
    pub fn push(&mut self, line: u64, column: u64, message: impl Into<String>) {
        if self.listed.len() < MAX_PROBLEMS {
            self.listed.push(Problem { line, column, message: message.into() });
        } else {
            self.more += 1;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.listed.is_empty()
    }

    /// The problems as `path:line:column: message` lines.
    pub fn render(&self, path: &str) -> String {
        let mut out = String::new();
        for p in &self.listed {
            out.push_str(&format!("{path}:{p}\n"));
        }
        if self.more > 0 {
            out.push_str(&format!("{path}: ... and {} more problems\n", self.more));
        }
        out
    }
}

/// The names telemetry files use for what a scenario numbers: segment cells and features.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Names {
    /// The telemetry's segment cells, by index (`all` without a breakdown).
    pub cells: Vec<String>,
    /// The release's features, by index.
    pub features: Vec<String>,
}

impl Names {
    pub fn of(scenario: &Scenario) -> Names {
        Names {
            cells: scenario.world.cell_names(),
            features: scenario.world.release.features.clone(),
        }
    }
}

/// A change a rollout makes, as a noun phrase; `None` is no change.
pub fn change_text(change: Option<&rollcage_harness::telemetry::Change>, names: &Names) -> String {
    use rollcage_harness::telemetry::Change;
    match change {
        None => "no change".to_string(),
        Some(Change::Kill) => "a kill of the release".to_string(),
        Some(Change::Flags(e)) => {
            let mut text = match &e.build {
                None => "an exposure of nothing".to_string(),
                Some(b) if e.everyone => format!("a release of build {b} to everyone"),
                Some(b) => format!("an exposure of build {b} to {}", e.share),
            };
            let killed = |bits: u32, names: &[String]| -> Vec<String> {
                let named = names.iter().enumerate().filter(|(i, _)| bits & (1 << i) != 0);
                named.map(|(_, n)| n.clone()).collect()
            };
            let features = killed(e.killed_features, &names.features);
            let cells = killed(e.killed_cells, &names.cells);
            if !features.is_empty() {
                text.push_str(&format!(", features {} killed", features.join(", ")));
            }
            if !cells.is_empty() {
                text.push_str(&format!(", segments {} killed", cells.join(", ")));
            }
            text
        }
    }
}
