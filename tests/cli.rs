//! End-to-end tests of the `rollcage` binary: reports, determinism, exit codes, and what is (not)
//! written on bad input. The fixtures in tests/fixtures are small fixed-seed scenarios.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::{command, rollcage};

fn out_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn simulate(out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["simulate", "tests/fixtures", "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    rollcage(&args)
}

const REPORTS: [&str; 11] = [
    "index.html",
    "summary.csv",
    "small-exploit/runs.csv",
    "small-exploit/stages.csv",
    "small-exploit/summary.txt",
    "small-null/runs.csv",
    "small-null/stages.csv",
    "small-null/summary.txt",
    "small-severe/runs.csv",
    "small-severe/stages.csv",
    "small-severe/summary.txt",
];

#[test]
fn reports_are_byte_identical_at_one_and_two_threads() {
    let (one, two) = (out_dir("threads-1"), out_dir("threads-2"));
    assert!(simulate(&one, &["--threads", "1"]).status.success());
    assert!(simulate(&two, &["--threads", "2"]).status.success());
    for report in REPORTS {
        assert_eq!(
            read(&one.join(report)),
            read(&two.join(report)),
            "{report} differs between thread counts"
        );
    }
}

#[test]
fn summaries_are_pinned() {
    let out = out_dir("pinned");
    let output = simulate(&out, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    insta::assert_snapshot!("summary_csv", read(&out.join("summary.csv")));
    insta::assert_snapshot!("stdout", String::from_utf8_lossy(&output.stdout));
    let runs = read(&out.join("small-severe/runs.csv"));
    assert_eq!(runs.lines().count(), 41, "a header and one row per run");
    let header = runs.lines().next().unwrap();
    assert_eq!(header, rollcage_harness_header());
}

/// The runs.csv header, a stable interface documented in reports/README.md.
fn rollcage_harness_header() -> &'static str {
    "run,seed,outcome,harmful,stop_kind,stopped_by,stop_h,data_pause_h,data_pause_reason,time_to_detect_h,\
final_phase,released_h,ended_h,\
stage_reached,builds,sessions,treatment_sessions,holdback_sessions,exposed_players,exposed_sessions,\
harmed_players,harmed_sessions,stop_scope,kills,sessions_after_stop,aborted_sessions,rollback_result,\
rollback_h,rollback_attempts,coins_lost,exploit_coins_left,items_lost,corrupted_saves_left,players_restored,\
players_affected,oracle_violations,problem,false_stop_h"
}

/// Every column of every report is documented in reports/README.md.
#[test]
fn every_column_is_documented() {
    let out = out_dir("documented");
    assert!(simulate(&out, &[]).status.success());
    let doc = read(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/reports/README.md")));
    for report in ["summary.csv", "small-null/runs.csv", "small-null/stages.csv"] {
        let text = read(&out.join(report));
        for column in text.lines().next().unwrap().split(',') {
            assert!(
                doc.contains(&format!("| `{column}` |")),
                "{report} column `{column}` is not documented"
            );
        }
    }
}

#[test]
fn bad_input_exits_2_and_touches_no_report() {
    let out = out_dir("bad-input");
    std::fs::create_dir_all(out.join("small-null")).unwrap();
    let earlier = out.join("small-null/runs.csv");
    std::fs::write(&earlier, "an earlier report\n").unwrap();
    let output = rollcage(&[
        "simulate",
        "tests/fixtures",
        "tests/inputs/bad",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("error: `crash_rate` must be between 0 and 1"), "{stderr}");
    assert!(stderr.contains("--> tests/inputs/bad/small-bad.toml:26:14"), "{stderr}");
    assert!(stderr.contains("nothing was simulated and no report was written"), "{stderr}");
    assert_eq!(read(&earlier), "an earlier report\n", "an earlier report was touched");
    assert!(!out.join("summary.csv").exists());
    assert!(!out.join("small-severe").exists());
}

#[test]
fn unmet_expectations_exit_1_and_say_which() {
    let out = out_dir("unmet");
    let output = rollcage(&["simulate", "tests/inputs/unmet", "--out", out.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("expect detection_rate_min >= 0.5: not measurable FAILED"), "{stdout}");
    let summary = read(&out.join("summary.csv"));
    let header: Vec<&str> = summary.lines().next().unwrap().split(',').collect();
    let row: Vec<&str> = summary.lines().nth(1).unwrap().split(',').collect();
    let cell = |name: &str| row[header.iter().position(|c| *c == name).unwrap()];
    assert_eq!(
        (cell("expectations"), cell("failed_expectations")),
        ("failed", "detection_rate_min")
    );
}

#[test]
fn a_panicking_run_exits_3_and_the_rest_are_reported() {
    let out = out_dir("panic");
    let output = rollcage(&[
        "simulate",
        "tests/fixtures/small-null.toml",
        "--out",
        out.to_str().unwrap(),
        "--debug-panic-run",
        "7",
    ]);
    assert_eq!(output.status.code(), Some(3));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("run 7 (seed "), "{stdout}");
    assert!(
        stdout.contains("reproduce: rollcage explain tests/fixtures/small-null.toml --run 7"),
        "{stdout}"
    );
    let runs = read(&out.join("small-null/runs.csv"));
    assert_eq!(runs.lines().count(), 41);
    let row = runs.lines().nth(8).unwrap();
    assert!(row.starts_with("7,") && row.contains(",panicked,"), "{row}");
    assert!(runs.lines().nth(9).unwrap().contains(",clean_pass,"));
}

#[test]
fn explain_replays_a_run_as_in_the_batch() {
    let out = out_dir("explain");
    assert!(simulate(&out, &[]).status.success());
    let runs = read(&out.join("small-severe/runs.csv"));
    let row: Vec<&str> = runs.lines().nth(4).unwrap().split(',').collect();
    let (run, seed, stop_h) = (row[0], row[1], row[6]);
    let by_run = rollcage(&[
        "explain",
        "tests/fixtures/small-severe.toml",
        "--run",
        run,
        "--decisions-only",
    ]);
    let by_seed = rollcage(&[
        "explain",
        "tests/fixtures/small-severe.toml",
        "--seed",
        seed,
        "--decisions-only",
    ]);
    assert_eq!(by_run.status.code(), Some(0));
    let text = String::from_utf8_lossy(&by_run.stdout);
    let hours = stop_h.split('.').next().unwrap();
    assert!(text.contains(&format!("{hours:>5}h00  KILLED build 1.4.0 by guardrail")), "{text}");
    assert_eq!(
        text.replace(&format!("run {run} "), "run 0 "),
        String::from_utf8_lossy(&by_seed.stdout)
    );
    insta::assert_snapshot!("explain", text);
}

#[test]
fn schema_is_json_and_check_reports_ok() {
    let output = rollcage(&["schema"]);
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.starts_with('{') && text.contains("\"title\": \"rollcage scenario\""));
    let check = rollcage(&["check"]);
    assert_eq!(check.status.code(), Some(0), "{}", String::from_utf8_lossy(&check.stderr));
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios");
    let tomls = |d: &std::path::Path| {
        std::fs::read_dir(d)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "toml"))
            .count()
    };
    // The suite's files and those of its subdirectories (methods/, variance/, data-quality/).
    let shipped: usize = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .map(|p| tomls(&p))
        .sum::<usize>()
        + tomls(std::path::Path::new(dir));
    assert!(shipped >= 24);
    assert_eq!(
        String::from_utf8_lossy(&check.stdout).lines().filter(|l| l.starts_with("ok: ")).count(),
        shipped
    );
    assert_eq!(rollcage(&["check", "tests/inputs/bad"]).status.code(), Some(2));
    assert_eq!(rollcage(&["check", "no/such/path"]).status.code(), Some(2));
    assert_eq!(rollcage(&["simulate", "--threads", "lots"]).status.code(), Some(2));
}

/// A rollback's timeline shows every step and every attempt, the retries with their backoff, and
/// what the rollback did to players' data.
#[test]
fn explain_shows_every_rollback_step_and_attempt() {
    let out = out_dir("rollback-explain");
    assert!(simulate(&out, &[]).status.success());
    let runs = read(&out.join("small-exploit/runs.csv"));
    let header: Vec<&str> = runs.lines().next().unwrap().split(',').collect();
    let attempts = header.iter().position(|c| *c == "rollback_attempts").unwrap();
    // The first run whose rollback needed a retry.
    let row = runs
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect::<Vec<_>>())
        .find(|r| r[attempts].parse::<u32>().unwrap_or(0) > 4)
        .expect("a rollback with a retried step");
    let output = rollcage(&[
        "explain",
        "tests/fixtures/small-exploit.toml",
        "--run",
        row[0],
        "--decisions-only",
    ]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("FAILED (attempt 1); retry at"), "{text}");
    assert!(text.contains("ROLLED BACK build 1.4.0"), "{text}");
    insta::assert_snapshot!("rollback_explain", text);
}

#[test]
fn plan_prints_each_stage_and_refuses_bad_requests() {
    let args = ["plan", "scenarios/methods/sprt.toml", "--effect", "0.5", "--pilots", "5"];
    let output = rollcage(&args);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    insta::assert_snapshot!("plan", String::from_utf8_lossy(&output.stdout));

    for (flag, value, says) in [
        ("--power", "1.5", "--power must be between 0 and 1"),
        ("--effect", "0", "--effect must be a positive relative change"),
        ("--pilots", "0", "--pilots must be between 1 and 10000"),
    ] {
        let output = rollcage(&["plan", "scenarios/methods/sprt.toml", flag, value]);
        assert_eq!(output.status.code(), Some(2), "{flag} {value}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(says), "{flag} {value}: {stderr}");
    }
    let output = rollcage(&["plan", "tests/inputs/bad/small-bad.toml"]);
    assert_eq!(output.status.code(), Some(2));
}

fn sweep(out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["sweep", "tests/inputs/sweep/small.toml", "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    rollcage(&args)
}

/// The sweep table: pinned, every column documented, and resumable: a second invocation runs
/// nothing and writes the same bytes.
#[test]
fn a_sweep_writes_a_pinned_documented_table_and_resumes() {
    let out = out_dir("sweep");
    let first = sweep(&out, &[]);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let table = read(&out.join("sweep/small.csv"));
    insta::assert_snapshot!("sweep_csv", table);
    let doc = read(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/reports/README.md")));
    for column in table.lines().next().unwrap().split(',') {
        assert!(
            doc.contains(&format!("| `{column}` |")),
            "sweep column `{column}` is not documented"
        );
    }
    let again = sweep(&out, &[]);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("4 of 4 variants already done"), "{stderr}");
    assert!(!stderr.contains("variant 0 done"), "{stderr}");
    assert_eq!(read(&out.join("sweep/small.csv")), table);
}

/// Two shards merged give exactly the bytes of the unsharded sweep; a merge with a shard missing
/// says which variants it lacks and writes nothing.
#[test]
fn merged_shards_equal_the_unsharded_sweep() {
    let (whole, one, two, merged) =
        (out_dir("sweep-whole"), out_dir("sweep-1"), out_dir("sweep-2"), out_dir("sweep-merged"));
    assert!(sweep(&whole, &["--threads", "2"]).status.success());
    assert!(sweep(&one, &["--shard", "1/2", "--threads", "1"]).status.success());
    assert!(!one.join("sweep/small.csv").exists(), "a shard alone writes no table");
    let partial = rollcage(&[
        "merge",
        "--sweep",
        "tests/inputs/sweep/small.toml",
        "--from",
        one.to_str().unwrap(),
        "--out",
        merged.to_str().unwrap(),
    ]);
    assert_eq!(partial.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&partial.stderr).contains("(variants 1, 3)"));
    assert!(!merged.join("sweep/small.csv").exists());
    assert!(sweep(&two, &["--shard", "2/2"]).status.success());
    let done = rollcage(&[
        "merge",
        "--sweep",
        "tests/inputs/sweep/small.toml",
        "--from",
        one.to_str().unwrap(),
        two.to_str().unwrap(),
        "--out",
        merged.to_str().unwrap(),
    ]);
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    assert_eq!(read(&merged.join("sweep/small.csv")), read(&whole.join("sweep/small.csv")));
}

/// A sweep with a bad key or a variant the scenario format refuses runs nothing and says why, with
/// the place in the file or the variant's parameters.
#[test]
fn a_bad_sweep_runs_nothing() {
    let out = out_dir("sweep-bad");
    for (file, expected) in [
        ("tests/inputs/sweep/bad.toml", ["bad.toml:6:1", "unknown key `alpah` in [vary]"]),
        (
            "tests/inputs/sweep/refused.toml",
            ["refused.toml:5:24", "variant 1 (holdback_percent=50)"],
        ),
    ] {
        let o = rollcage(&["sweep", file, "--out", out.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{file}");
        let stderr = String::from_utf8_lossy(&o.stderr);
        for expected in expected {
            assert!(stderr.contains(expected), "{file}: {stderr}");
        }
        assert!(stderr.contains("nothing was run"), "{file}: {stderr}");
        assert!(!out.exists(), "{file} wrote something");
    }
}

/// Files under `dir`, relative to it, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.push(path.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Three shards of `simulate`, merged, write exactly the bytes of the unsharded run, and the same
/// verdict; a merge with a shard missing says which and writes nothing.
#[test]
fn merged_shards_equal_the_unsharded_simulate() {
    let (whole, merged) = (out_dir("simulate-whole"), out_dir("simulate-merged"));
    let shards: Vec<PathBuf> = (1..=3).map(|i| out_dir(&format!("simulate-{i}"))).collect();
    assert!(simulate(&whole, &["--threads", "2"]).status.success());
    let mut reports: Vec<String> = REPORTS.iter().map(|r| r.to_string()).collect();
    reports.sort();
    assert_eq!(files_under(&whole), reports, "an unsharded run leaves its reports only");
    for (i, dir) in shards.iter().enumerate().take(2) {
        let shard = format!("{}/3", i + 1);
        let o = simulate(dir, &["--shard", &shard, "--threads", "1"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(!dir.join("summary.csv").exists(), "a shard alone writes no summary");
    }
    let merge = |dirs: &[PathBuf]| {
        let mut args = vec!["merge", "tests/fixtures", "--out", merged.to_str().unwrap(), "--from"];
        args.extend(dirs.iter().map(|d| d.to_str().unwrap()));
        rollcage(&args)
    };
    let partial = merge(&shards[..2]);
    assert_eq!(partial.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&partial.stderr);
    assert!(stderr.contains("small-null: shard 3/3 is missing"), "{stderr}");
    assert!(!merged.exists(), "a refused merge wrote something");
    assert!(simulate(&shards[2], &["--shard", "3/3"]).status.success());
    let done = merge(&shards);
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    for report in REPORTS {
        assert_eq!(read(&merged.join(report)), read(&whole.join(report)), "{report}");
    }
}

/// Ctrl-C stops `simulate` between chunks of runs: it exits 130, keeps the scenarios finished so
/// far, leaves no temporary or report file half-written, and says how to resume; the same command
/// then runs only the rest, and its reports are those of an uninterrupted run.
#[cfg(unix)]
#[test]
fn an_interrupted_simulate_resumes_where_it_stopped() {
    let (out, fresh) = (out_dir("interrupted"), out_dir("uninterrupted"));
    let args = |out: &Path| {
        ["simulate", "tests/fixtures", "--runs", "400", "--threads", "1", "--out"]
            .into_iter()
            .map(str::to_string)
            .chain([out.display().to_string()])
            .collect::<Vec<_>>()
    };
    let child = command()
        .args(args(&out))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("rollcage runs");
    let first = out.join("small-exploit/part-1-of-1/figures.csv");
    while !first.exists() {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let kill = Command::new("sh").args(["-c", &format!("kill -INT {}", child.id())]).status();
    assert!(kill.unwrap().success());
    let stopped = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&stopped.stderr);
    assert_eq!(stopped.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains(
            "interrupted: 1 of 3 scenarios done and saved; run the same command again to resume \
             from small-null"
        ),
        "{stderr}"
    );
    let left = files_under(&out);
    assert!(!left.iter().any(|f| f.ends_with(".tmp")), "{left:?}");
    assert!(!left.iter().any(|f| f.starts_with("small-null") || f == "summary.csv"), "{left:?}");

    let resumed = simulate_with(&args(&out));
    let stderr = String::from_utf8_lossy(&resumed.stderr);
    assert!(resumed.status.success(), "{stderr}");
    assert!(stderr.contains("(400 runs, saved earlier in"), "{stderr}");
    assert_eq!(stderr.matches("saved earlier").count(), 1, "{stderr}");
    assert!(simulate_with(&args(&fresh)).status.success());
    assert_eq!(files_under(&out), files_under(&fresh));
    for report in REPORTS {
        assert_eq!(read(&out.join(report)), read(&fresh.join(report)), "{report}");
    }
}

/// Ctrl-C pressed twice in a row (the second stops at once, if the first has not already stopped
/// the run at its next chunk of runs) exits 130 and leaves no temporary or partial file behind.
#[cfg(unix)]
#[test]
fn a_second_interrupt_stops_at_once_and_leaves_nothing_partial() {
    let out = out_dir("interrupted-twice");
    let child = command()
        .args(["simulate", "tests/fixtures", "--runs", "20000", "--threads", "1", "--out"])
        .arg(&out)
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("rollcage runs");
    // The handler is in place before the first scenario starts, which a line on stderr says.
    let mut child = child;
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    // A batch this size is announced first, with its estimated time and memory.
    let mut first = String::new();
    std::io::BufRead::read_line(&mut stderr, &mut first).unwrap();
    assert!(first.starts_with("small-exploit: 20000 runs of 3000 players"), "{first}");
    assert!(first.contains("estimated"), "{first}");
    let mut running = String::new();
    std::io::BufRead::read_line(&mut stderr, &mut running).unwrap();
    assert_eq!(running, "small-exploit: running 20000 runs\n");
    let pid = child.id();
    let kill =
        Command::new("sh").args(["-c", &format!("kill -INT {pid}; kill -INT {pid}")]).status();
    assert!(kill.unwrap().success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{rest}");
    assert!(rest.contains("run the same command again to resume"), "{rest}");
    let left = files_under(&out);
    assert!(!left.iter().any(|f| f.ends_with(".tmp")), "{left:?}");
    assert!(left.is_empty(), "nothing was finished, so nothing is written: {left:?}");
}

/// Ctrl-C stops a run under way, not only between runs: a world of a million players whose one
/// run lasts 85 simulated days (about three minutes of work) stops as soon as it is pressed,
/// saving nothing of the unfinished batch.
#[cfg(unix)]
#[test]
fn an_interrupt_stops_a_run_under_way() {
    let dir = out_dir("interrupted-large");
    std::fs::create_dir_all(&dir).unwrap();
    let fixture = read(Path::new("tests/fixtures/small-null.toml"));
    let large = fixture
        .replace("players = 3000\n", "players = 1000000\n")
        .replace("runs_per_day = 3.0\n", "runs_per_day = 10.0\n")
        .replace("min_duration_h = 12\n", "min_duration_h = 330\n")
        .replace("holdback_period_h = 12\n", "holdback_period_h = 720\nmax_duration_h = 2160\n")
        .replace("name = \"small-null\"", "name = \"large\"");
    let path = dir.join("large.toml");
    std::fs::write(&path, large).unwrap();
    let out = dir.join("reports");
    let mut child = command()
        .args(["simulate", path.to_str().unwrap(), "--runs", "2", "--threads", "1", "--out"])
        .arg(&out)
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("rollcage runs");
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("running 2 runs") {
        line.clear();
        assert!(std::io::BufRead::read_line(&mut stderr, &mut line).unwrap() > 0, "no run began");
    }
    // Well into the first run's set-up or its first days.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let pid = child.id();
    assert!(Command::new("kill").args(["-INT", &pid.to_string()]).status().unwrap().success());
    // A liveness bound (20 s of polling), not a speed measurement: the run alone takes minutes.
    let mut polls = 0;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        polls += 1;
        if polls > 1000 {
            let _ = child.kill();
            panic!("Ctrl-C was not honoured during a run");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert_eq!(status.code(), Some(130), "{rest}");
    assert!(rest.contains("interrupted: 0 of 1 scenarios done"), "{rest}");
    assert!(files_under(&out).is_empty(), "{:?}", files_under(&out));
}

fn simulate_with(args: &[String]) -> Output {
    rollcage(&args.iter().map(String::as_str).collect::<Vec<_>>())
}
