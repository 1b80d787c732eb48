//! `rollcage judge` as a pipeline uses it: a run's telemetry written by `explain --telemetry`,
//! judged back with the exit code a pipeline acts on, and bad files refused with their line and
//! column.

mod common;
#[path = "common/refusal.rs"]
mod refusal;

use std::path::{Path, PathBuf};

use common::rollcage;
use refusal::{refused, scratch};

/// Writes run `run` of `scenario`'s telemetry to `dir/telemetry.<ext>` (and its log beside it).
fn export(scenario: &str, run: u32, dir: &Path, ext: &str) -> PathBuf {
    let path = dir.join(format!("telemetry.{ext}"));
    let out = rollcage(&[
        "explain",
        scenario,
        "--run",
        &run.to_string(),
        "--decisions-only",
        "--telemetry",
        path.to_str().unwrap(),
    ]);
    assert!(out.status.code().is_some_and(|c| c <= 1), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(path.is_file() && dir.join("telemetry.rollout.jsonl").is_file());
    path
}

fn judge(scenario: &str, telemetry: &Path, more: &[&str]) -> std::process::Output {
    let mut args = vec!["judge", scenario, "--telemetry", telemetry.to_str().unwrap()];
    args.extend_from_slice(more);
    rollcage(&args)
}

#[test]
fn a_killed_run_judged_from_its_files_is_a_kill() {
    let dir = scratch("judge", "kill");
    let telemetry = export("scenarios/severe-crash.toml", 0, &dir, "csv");
    let out = judge("scenarios/severe-crash.toml", &telemetry, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(5), "{stdout}");
    assert!(stdout.contains("KILL build 1.4.0 by guardrail crash-rate"), "{stdout}");
    // The explanation of the run and the judge's timeline name the same kill.
    let json = judge("scenarios/severe-crash.toml", &telemetry, &["--format", "json"]);
    assert_eq!(json.status.code(), Some(5));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["decision"]["kind"], "kill");
    assert_eq!(v["decision"]["decided_at"], 840);
    assert!(v["read"]["rows"].as_u64().unwrap() > 1000);
}

#[test]
fn a_released_run_judged_from_json_lines_is_a_release() {
    let dir = scratch("judge", "release");
    let telemetry = export("scenarios/null-release.toml", 0, &dir, "jsonl");
    let out = judge("scenarios/null-release.toml", &telemetry, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("RELEASE to everyone"), "{stdout}");
}

/// A live rollout judged before its data is in: the looks after the log see nothing new, and the
/// guardrails say so; with the data, the same look decides on it.
#[test]
fn late_data_is_judged_inconclusive() {
    let dir = scratch("judge", "late");
    let full = export("scenarios/subtle-crash.toml", 2, &dir, "csv");
    let text = std::fs::read_to_string(&full).unwrap();
    let kept: Vec<&str> = text
        .lines()
        .enumerate()
        .filter(|(i, l)| *i == 0 || l.split(',').nth(1).unwrap().parse::<u32>().unwrap() <= 600)
        .map(|(_, l)| l)
        .collect();
    let live = dir.join("live.csv");
    std::fs::write(&live, kept.join("\n") + "\n").unwrap();
    let log = std::fs::read_to_string(dir.join("telemetry.rollout.jsonl")).unwrap();
    let early: Vec<&str> = log
        .lines()
        .filter(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["at"].as_u64().unwrap() <= 540
        })
        .collect();
    std::fs::write(dir.join("live.rollout.jsonl"), early.join("\n") + "\n").unwrap();
    let late = judge("scenarios/subtle-crash.toml", &live, &["--now", "720", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&late.stdout).unwrap();
    assert_eq!(v["decision"]["at"], 720);
    assert_eq!(v["read"]["data_until"], 600);
    let verdicts: Vec<&str> = v["evaluations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["verdict"].as_str().unwrap())
        .collect();
    assert!(!verdicts.is_empty());
    assert!(verdicts.iter().all(|v| v.contains("missing or late")), "{verdicts:?}");
    let fresh = judge("scenarios/subtle-crash.toml", &live, &["--now", "600", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&fresh.stdout).unwrap();
    assert_eq!(v["decision"]["at"], 600);
    assert!(
        v["evaluations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| { !e["verdict"].as_str().unwrap().contains("missing or late") })
    );
}

const HEADER: &str = "window_start,window_end,player,cohort,cell,build,sessions,crashes";

/// A log that exposes build 1.4.0 (severe-crash's release) to 1% at minute 0.
const LOG: &str = r#"{"at":0,"event":"exposure","build":"1.4.0","share_percent":1.0}
{"at":60,"event":"look","data_until":60}
"#;

fn files(name: &str, telemetry: &str, log: &str) -> PathBuf {
    let dir = scratch("judge", name);
    let path = dir.join("t.csv");
    std::fs::write(&path, telemetry).unwrap();
    std::fs::write(dir.join("t.rollout.jsonl"), log).unwrap();
    path
}

#[test]
fn bad_rows_are_refused_each_with_its_line_and_column() {
    let rows = [
        HEADER,
        "0,60,a,treatment,all,1.4.0,2,1",
        "0,60,b,control,all,,2,0",
        "0,60,c,holdback,all,,-1,0",
        "0,60,d,holdback,all,,1,3",
        "0,60,e,treatment,all,9.9.9,1,0",
        "0,60,f,holdback,mars,,1,0",
        "0,60,a,treatment,all,1.4.0,1,0",
        "0,60,g,holdback,all,,1,0",
        "60,120,g,treatment,all,1.4.0,1,0",
        "30,90,h,holdback,all,,1,0",
    ];
    let path = files("rows", &(rows.join("\n") + "\n"), LOG);
    let shown = path.display().to_string();
    let out = judge("scenarios/severe-crash.toml", &path, &[]);
    refused(
        &out,
        &[
            &format!(
                "{shown}:3:8: `cohort` = \"control\": expected treatment, holdback or unexposed"
            ),
            &format!("{shown}:4:22: `sessions` = -1: expected a whole number"),
            &format!("{shown}:5:24: `crashes` = 3 is more than the 1 it counts among"),
            &format!(
                "{shown}:6:22: `build` = \"9.9.9\" was not exposed by the rollout log by minute 0"
            ),
            &format!(
                "{shown}:7:17: `cell` = \"mars\": expected one of the policy's segment cells (all)"
            ),
            &format!(
                "{shown}:8:1: a second row for this player in the treatment cohort in one window"
            ),
            &format!("{shown}:10:1: this player is in both the holdback and the treatment"),
            &format!("{shown}:11:1: window 30-90 overlaps or comes before window 60-120 above"),
            "was refused; nothing was judged",
        ],
    );
}

#[test]
fn a_bad_log_is_refused_with_its_line_and_column() {
    let log = r#"{"at":0,"event":"exposure","build":"1.4.0","share_percent":1.0}
{"at":60,"event":"peek"}
{"at":30,"event":"look","data_until":30}
{"at":90,"event":"look","data_until":120}
{"at":120,"event":"command","action":"approve","stage":9}
not json
{"at":150,"event":"exposure","build":"1.4.0","share_percent":150}
"#;
    let path = files("log", &format!("{HEADER}\n"), log);
    let log_path = path.with_file_name("t.rollout.jsonl").display().to_string();
    refused(
        &judge("scenarios/severe-crash.toml", &path, &[]),
        &[
            &format!(
                "{log_path}:2:10: `event` = \"peek\": expected one of \"exposure\", \"kill\", \"look\""
            ),
            &format!("{log_path}:3:2: `at` = 30 comes before the line above (60)"),
            &format!("{log_path}:4:25: `data_until` = 120 is after the look's own time (90)"),
            &format!("{log_path}:5:48: `stage`: expected the stage approved, from 1 to 5"),
            &format!("{log_path}:6:2: not JSON"),
            &format!("{log_path}:7:"),
            "`share_percent` = 150: expected a percentage from 0 to 100",
            "the rollout log",
        ],
    );
}

#[test]
fn a_log_of_another_build_is_refused() {
    let log = r#"{"at":0,"event":"exposure","build":"2.0.0","share_percent":1.0}
"#;
    let path = files("other-build", &format!("{HEADER}\n"), log);
    refused(
        &judge("scenarios/severe-crash.toml", &path, &[]),
        &["the log's first exposed build is 2.0.0, but the scenario's policy rolls out 1.4.0"],
    );
}

#[test]
fn unknown_formats_and_missing_files_are_refused_before_anything_runs() {
    let dir = scratch("judge", "paths");
    let txt = dir.join("t.txt");
    std::fs::write(&txt, "").unwrap();
    refused(
        &judge("scenarios/severe-crash.toml", &txt, &[]),
        &[".csv (CSV) or .jsonl (JSON Lines)"],
    );
    let missing = dir.join("none.csv");
    refused(&judge("scenarios/severe-crash.toml", &missing, &[]), &["--telemetry", "no such file"]);
    // explain checks where it would write before it runs.
    let out = rollcage(&[
        "explain",
        "scenarios/severe-crash.toml",
        "--run",
        "0",
        "--telemetry",
        dir.to_str().unwrap(),
    ]);
    refused(&out, &["the telemetry's format comes from its extension"]);
    let out = rollcage(&[
        "explain",
        "scenarios/severe-crash.toml",
        "--run",
        "0",
        "--telemetry",
        dir.join("t.csv").to_str().unwrap(),
        "--log",
        dir.join("t.csv").to_str().unwrap(),
    ]);
    refused(&out, &["is the telemetry file itself"]);
}

/// A recorded rollout replayed under its own policy agrees with it at every look; under a naive
/// z-test it parts at the look where the naive test kills, with the sessions that kill saves;
/// a sweep's variants each get their row.
#[test]
fn backtest_finds_where_each_policy_parts_from_the_rollout() {
    let dir = scratch("judge", "backtest");
    let telemetry = export("scenarios/methods/msprt.toml", 1, &dir, "csv");
    let out = dir.join("reports");
    let args = [
        "backtest",
        "scenarios/methods/msprt.toml",
        "scenarios/methods/naive-z.toml",
        "--sweep",
        "sweeps/faster-rollout.toml",
        "--telemetry",
        telemetry.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    let run = rollcage(&args);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&run.stderr));
    let table = std::fs::read_to_string(out.join("backtest/telemetry.csv")).unwrap();
    let mut reader = csv::Reader::from_reader(table.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2 + 12, "the two scenarios and the sweep's 12 variants");
    let own = &rows[0];
    assert_eq!((&own[0], &own[2], &own[5]), ("scenarios/methods/msprt.toml", "", "kill"));
    let naive = &rows[1];
    assert_eq!(&naive[3], "a kill of the release", "{naive:?}");
    let (parted, after, change): (u32, i64, i64) =
        (naive[2].parse().unwrap(), naive[6].parse().unwrap(), naive[7].parse().unwrap());
    let looks: u32 = naive[1].parse().unwrap();
    assert!(parted < 26 * 60 && looks == parted / 60, "{naive:?}");
    assert!(change < 0 && -change <= after, "a kill saves at most what came after: {naive:?}");
    assert!(rows[2..].iter().any(|r| r[2].is_empty()), "some variant agrees throughout");
    assert!(rows[2..].iter().any(|r| !r[2].is_empty()), "some variant parts");
    assert!(stdout.contains("treatment sessions saved"), "{stdout}");
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/reports/README.md")).unwrap();
    for column in table.lines().next().unwrap().split(',') {
        assert!(doc.contains(&format!("| `{column}` |")), "`{column}` is not documented");
    }
    let page = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(page.contains(r#"<h2 id="backtests">"#) && page.contains("a kill of the release"));
}

/// The walk-through of examples/live/README.md, as a newcomer would type it.
#[test]
fn the_live_walkthrough_works() {
    let dir = scratch("judge", "walkthrough");
    let normal = dir.join("normal.csv");
    let out = rollcage(&[
        "explain",
        "examples/live/normal-operation.toml",
        "--run",
        "0",
        "--decisions-only",
        "--telemetry",
        normal.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let fitted = dir.join("fitted.toml");
    let out = rollcage(&[
        "calibrate",
        "examples/live/normal-operation.toml",
        "--telemetry",
        normal.to_str().unwrap(),
        "--out",
        fitted.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let fragment = std::fs::read_to_string(&fitted).unwrap();
    for key in ["[population]", "runs_per_day = ", "[baseline]", "peak_hour = ", "KS distance"] {
        assert!(fragment.contains(key), "{key} in:\n{fragment}");
    }
    // The fragment's keys are the scenario format's: put in place of the scenario's own, it loads.
    let base = std::fs::read_to_string("examples/live/normal-operation.toml").unwrap();
    let mut lines: Vec<String> = base.lines().map(str::to_string).collect();
    let mut table = String::new();
    for line in fragment.lines().map(str::trim) {
        if line.starts_with('[') {
            table = line.to_string();
        } else if let Some((key, _)) = line.split_once(" = ") {
            let value = line.split('#').next().unwrap().trim().to_string();
            let at = lines.iter().position(|l| *l == table).expect("the table is in the scenario");
            let end = lines[at + 1..]
                .iter()
                .position(|l| l.starts_with('['))
                .map_or(lines.len(), |e| at + 1 + e);
            match lines[at + 1..end].iter().position(|l| l.starts_with(&format!("{key} ="))) {
                Some(i) => lines[at + 1 + i] = value,
                None => lines.insert(at + 1, value),
            }
        }
    }
    let merged = lines.join("\n");
    rollcage_scenario::load(&merged).unwrap_or_else(|d| panic!("{d:?}\n{merged}"));

    let judged = rollcage(&[
        "judge",
        "examples/live/rollout.toml",
        "--telemetry",
        "examples/live/rollout.csv",
        "--now",
        "960",
    ]);
    let stdout = String::from_utf8_lossy(&judged.stdout);
    assert_eq!(judged.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("decision at minute 960: CONTINUE stage 2"), "{stdout}");

    let reports = dir.join("reports");
    let backtest = rollcage(&[
        "backtest",
        "--sweep",
        "examples/live/alternatives.toml",
        "--telemetry",
        "examples/live/rollout.csv",
        "--out",
        reports.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&backtest.stdout);
    assert_eq!(backtest.status.code(), Some(0), "{stdout}");
    assert_eq!(stdout.matches("agrees with the rollout at all 15 looks").count(), 3, "{stdout}");
    assert_eq!(stdout.matches("parts at minute 780").count(), 3, "{stdout}");
}
