//! Bad command lines are refused before any work: exit 2, a message that names the flag or the
//! file and what is wrong with it, nothing simulated and nothing written. One test per class.

use std::path::{Path, PathBuf};

mod common;
#[path = "common/refusal.rs"]
mod refusal;
use common::{command, rollcage};
use refusal::refused;

/// A fresh, empty scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    refusal::scratch("refusals", name)
}

/// Every file and directory under `dir`, relative to it.
fn contents(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path().strip_prefix(dir).unwrap().to_path_buf())
        .collect();
    found.sort();
    found
}

#[test]
fn an_out_that_cannot_be_a_directory_is_refused_before_any_run() {
    let dir = scratch("out");
    let file = dir.join("reports");
    std::fs::write(&file, "not a directory\n").unwrap();
    let file_arg = file.to_str().unwrap();
    let below = file.join("deeper");
    let below_arg = below.to_str().unwrap();
    for out in [file_arg, below_arg] {
        let simulate = rollcage(&["simulate", "tests/fixtures", "--out", out]);
        refused(&simulate, &[&format!("--out {out}"), "nothing was simulated"]);
        assert!(!String::from_utf8_lossy(&simulate.stderr).contains("running"));
        let sweep = rollcage(&["sweep", "tests/inputs/sweep/small.toml", "--out", out]);
        refused(&sweep, &[&format!("--out {out}"), "nothing was run"]);
        let merge =
            rollcage(&["merge", "tests/fixtures", "--from", dir.to_str().unwrap(), "--out", out]);
        refused(&merge, &[&format!("--out {out}")]);
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "not a directory\n");
    assert_eq!(contents(&dir), vec![PathBuf::from("reports")]);
    // The problem with --out and the problems in the scenarios are reported together.
    let both = rollcage(&["simulate", "tests/inputs/bad", "--out", file_arg]);
    refused(&both, &["is a file", "small-bad.toml:26:14"]);
}

#[test]
fn report_refuses_a_directory_that_does_not_exist() {
    let dir = scratch("report");
    let missing = dir.join("no").join("reports");
    let output = rollcage(&["report", "--out", missing.to_str().unwrap()]);
    refused(&output, &["is not a reports directory"]);
    assert!(contents(&dir).is_empty(), "{:?}", contents(&dir));
}

#[test]
fn threads_beyond_what_a_machine_runs_are_refused() {
    for threads in ["0", "100000", "two"] {
        for command in [
            vec!["simulate", "tests/fixtures"],
            vec!["sweep", "tests/inputs/sweep/small.toml"],
            vec!["calibrate-se", "tests/fixtures/small-null.toml"],
        ] {
            let mut args = command.clone();
            args.extend(["--threads", threads]);
            refused(&rollcage(&args), &["--threads", threads]);
        }
    }
}

#[test]
fn explain_refuses_a_run_beyond_the_batch() {
    let output = rollcage(&["explain", "tests/fixtures/small-null.toml", "--run", "5000"]);
    refused(&output, &["--run 5000 is beyond the batch", "give explain the same --runs"]);
    // With the --runs the batch was simulated with, the run is there.
    let longer = rollcage(&[
        "explain",
        "tests/fixtures/small-null.toml",
        "--run",
        "5000",
        "--runs",
        "6000",
        "--decisions-only",
    ]);
    assert_eq!(longer.status.code(), Some(0), "{}", String::from_utf8_lossy(&longer.stderr));
}

#[test]
fn one_scenario_commands_refuse_a_directory() {
    for command in [
        vec!["explain", "tests/fixtures", "--run", "1"],
        vec!["plan", "tests/fixtures"],
        vec!["calibrate-se", "tests/fixtures"],
    ] {
        refused(
            &rollcage(&command),
            &["tests/fixtures is a directory", "name one of its 3 scenario files"],
        );
    }
}

#[test]
fn a_scenario_cannot_take_the_name_of_a_reports_folder() {
    let dir = scratch("name");
    let source = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/small-null.toml"),
    )
    .unwrap();
    let line = source.lines().position(|l| l.starts_with("name = ")).unwrap() + 1;
    let renamed = source.replacen(
        source.lines().find(|l| l.starts_with("name = ")).unwrap(),
        "name = \"sweep\"",
        1,
    );
    let path = dir.join("sweep.toml");
    std::fs::write(&path, renamed).unwrap();
    let output = rollcage(&["check", path.to_str().unwrap()]);
    refused(&output, &[&format!("sweep.toml:{line}:8"), "a scenario cannot be named `sweep`"]);
}

/// A panic is a bug in rollcage: the user reads what it was doing and what reproduces it, never
/// the runtime's panic line or a backtrace, even with RUST_BACKTRACE=1, and the exit code is 3.
#[test]
fn an_internal_panic_reaches_no_user_as_a_rust_panic() {
    for args in [
        vec!["explain", "tests/fixtures/small-null.toml", "--run", "3", "--debug-panic"],
        vec![
            "simulate",
            "tests/fixtures/small-null.toml",
            "--runs",
            "20",
            "--debug-panic-run",
            "3",
        ],
    ] {
        let mut args = args.clone();
        let out = scratch("panic");
        let out_arg = out.to_str().unwrap().to_string();
        if args[0] == "simulate" {
            args.extend(["--out", &out_arg]);
        }
        let output = command().args(&args).env("RUST_BACKTRACE", "1").output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let all = format!("{stderr}{}", String::from_utf8_lossy(&output.stdout));
        assert_eq!(output.status.code(), Some(3), "{all}");
        assert!(!all.contains("panicked at") && !all.contains("stack backtrace"), "{all}");
        assert!(all.contains("seed 8028897477156983986"), "{all}");
    }
}
