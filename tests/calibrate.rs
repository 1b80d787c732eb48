//! End-to-end tests of `rollcage calibrate-se`: it measures what it says, the same at any thread
//! count, and refuses a world that is not null before running anything.

mod common;
use common::rollcage;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn calibration_prints_every_look_and_is_the_same_at_any_thread_count() {
    let args = ["calibrate-se", "tests/fixtures/small-null.toml", "--runs", "60"];
    let one = rollcage(&[&args[..], &["--threads", "1"]].concat());
    let two = rollcage(&[&args[..], &["--threads", "2"]].concat());
    assert_eq!(one.stdout, two.stdout, "the output depends on the thread count");
    let out = text(&one.stdout);
    assert!(out.starts_with("small-null: 60 dry runs of the null world\n"), "{out}");
    // Both statistical guardrails, look by look, and a verdict for each.
    for guardrail in ["crash-rate [msprt]", "exchange-latency [msprt]"] {
        assert!(out.contains(&format!("\n{guardrail}\n  stage look")), "{guardrail}: {out}");
        assert!(out.contains(&format!("\n{guardrail}: from stage 2 on, ratio ")), "{out}");
    }
    assert!(!out.contains("crash-critical"), "a threshold guardrail has no standard error");
    // Every look row: stage, look, hours, runs, estimate, spread, mean SE, rms SE, ratio [lo, hi],
    // from the stage where the guardrails reach their minimum sample to the holdback period.
    let rows: Vec<Vec<&str>> = out
        .lines()
        .filter(|l| l.starts_with("  ") && l.ends_with(']') && !l.starts_with("  stage"))
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert!(rows.len() > 40, "{} look rows", rows.len());
    assert!(rows.iter().all(|r| r.len() == 11), "{rows:?}");
    assert!(rows.iter().any(|r| r[0] == "2") && rows.iter().any(|r| r[0] == "hold"));
    for r in &rows {
        let runs: u32 = r[3].parse().unwrap();
        assert!((20..=60).contains(&runs), "{r:?}");
        let ratio: f64 = r[8].parse().unwrap();
        let spread: f64 = r[5].parse().unwrap();
        let rms: f64 = r[7].parse().unwrap();
        assert!((ratio - spread / rms).abs() < 2e-3 * ratio.max(1.0), "{r:?}");
    }
    let code = one.status.code();
    assert!(code == Some(0) || code == Some(1), "{code:?}");
    assert_eq!(code == Some(0), !out.contains("NOT calibrated"), "{out}");
}

#[test]
fn a_world_that_is_not_null_is_refused_before_any_run() {
    let out = rollcage(&["calibrate-se", "tests/fixtures/small-severe.toml", "--runs", "40"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = text(&out.stderr);
    assert!(
        err.contains("tests/fixtures/small-severe.toml: not a null world: every run's release carries a fault (crash_rate in feature"),
        "{err}"
    );
    let few = rollcage(&["calibrate-se", "tests/fixtures/small-null.toml", "--runs", "5"]);
    assert_eq!(few.status.code(), Some(2));
    assert!(text(&few.stderr).contains("--runs"), "{}", text(&few.stderr));
}
