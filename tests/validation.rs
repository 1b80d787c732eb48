//! The hardest cells of the validation matrix (validation/README.md), run on every CI: in each a
//! corrected guardrail must keep its false-kill rate (false stops, across a partial kill) within
//! alpha plus four Monte Carlo standard errors. At 2000 null runs that bound is 0.0695 for alpha
//! 0.05, and a method whose real rate were 0.08 would exceed it with a probability of 0.96, so an
//! overshoot like the one these cells were built to catch (0.086 among heavy players, 0.087 with
//! per-segment partial kills) fails the build. `just validate` runs the whole matrix at its full size.

use std::path::PathBuf;

mod common;
use common::rollcage;

const RUNS: u32 = 2000;
const ALPHA: f64 = 0.05;

/// The rate `simulate` measured for `cell` in summary.csv's `column`.
fn rate(cell: &str, column_name: &str) -> (f64, String) {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("validation").join(cell);
    let _ = std::fs::remove_dir_all(&out);
    let result = rollcage(&[
        "simulate",
        &format!("validation/{cell}.toml"),
        "--runs",
        &RUNS.to_string(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&result.stdout).into_owned();
    let summary = std::fs::read_to_string(out.join("summary.csv")).expect("summary.csv");
    let mut lines = summary.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    assert_eq!(row[column("runs")], RUNS.to_string(), "{stdout}");
    if column_name == "false_kill_rate" {
        assert_eq!(row[column("harmful_runs")], "0", "a null world: every stop is a false kill");
    }
    (row[column(column_name)].parse().unwrap(), stdout)
}

/// The rate in `column` (over every run) stays within alpha plus four standard errors.
fn holds_alpha(cell: &str, column: &str) {
    let bound = ALPHA + 4.0 * (ALPHA * (1.0 - ALPHA) / f64::from(RUNS)).sqrt();
    let (rate, stdout) = rate(cell, column);
    assert!(rate <= bound, "{cell}: {column} {rate} above {bound:.4}\n{stdout}");
}

/// A few players play dozens of times more than most and their crash-proneness varies as
/// wildly: O'Brien–Fleming spending killed 8.6% of good builds before its variance was fixed.
#[test]
fn heavy_players_under_obrien_fleming() {
    holds_alpha("heavy-players/obrien-fleming", "false_kill_rate");
}

/// Per-platform guardrails at alpha over three: 8.7% before.
#[test]
fn per_segment_guardrails_under_obrien_fleming() {
    holds_alpha("segments/obrien-fleming", "false_kill_rate");
}

/// Four times the looks: the cell whose rate sat closest to alpha in the matrix (0.048 at 4000
/// runs).
#[test]
fn fifteen_minute_looks_under_obrien_fleming() {
    holds_alpha("fast-looks/obrien-fleming", "false_kill_rate");
}

/// A metric whose harm is a decrease, so the treatment is the cohort weighed by its means.
#[test]
fn next_day_return_under_pocock() {
    holds_alpha("return/pocock", "false_kill_rate");
}

/// PC's harm rightly killed, then every stop of a healthy platform or the release is a false stop:
/// 4.7% on segment-kill before alpha was spent once per release.
#[test]
fn false_stops_across_a_partial_kill_under_obrien_fleming() {
    holds_alpha("partial-kills/obrien-fleming", "false_stop_rate");
}
