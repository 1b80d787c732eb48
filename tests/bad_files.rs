//! Bad files are refused before any work: exit 2, every problem at its file:line:col, at most 50
//! printed, nothing simulated and nothing written. One test per class of bad input: limits that
//! involve several values, files that are not UTF-8 text, files past rollcage's size and nesting
//! bounds, files with thousands of problems, and sweep variants the scenario format refuses.

use std::path::{Path, PathBuf};

mod common;
#[path = "common/refusal.rs"]
mod refusal;
use common::rollcage;
use refusal::refused;

/// A fresh scratch directory holding nothing but what a test writes.
fn scratch(name: &str) -> PathBuf {
    refusal::scratch("bad-files", name)
}

fn fixture() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/small-null.toml"),
    )
    .unwrap()
}

/// The 1-based line of the first line of `text` that starts with `prefix`.
fn line_of(text: &str, prefix: &str) -> usize {
    text.lines().position(|l| l.starts_with(prefix)).expect("the line is there") + 1
}

/// `rollcage simulate FILE --out DIR/reports`, which must refuse with exit 2, print `needles`, and
/// leave `DIR` holding only `FILE`.
fn simulate_refused(dir: &Path, file: &str, needles: &[&str]) -> String {
    let out = dir.join("reports");
    let output =
        rollcage(&["simulate", dir.join(file).to_str().unwrap(), "--out", out.to_str().unwrap()]);
    refused(&output, needles);
    let left: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, vec![file.to_string()], "something was written");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_rollout_longer_than_90_days_is_refused_where_it_adds_up() {
    let dir = scratch("long");
    // Five stages of 480 h and the fixture's 12 h holdback period: 2412 h, each part within its
    // own bound.
    let text = fixture().replace("min_duration_h = 12\n", "min_duration_h = 480\n");
    let text = text.replacen("min_duration_h = 6\n", "min_duration_h = 480\n", 1);
    std::fs::write(dir.join("long.toml"), &text).unwrap();
    let last = text.rfind("min_duration_h = 480").unwrap();
    let line = text[..last].matches('\n').count() + 1;
    simulate_refused(
        &dir,
        "long.toml",
        &[
            &format!("long.toml:{line}:18"),
            "add up to 2412 h (100.5 days), past rollcage's bound of 2160 h (90 days)",
            &format!("{} | holdback_period_h = 12", line_of(&text, "holdback_period_h")),
            "the holdback period adds this",
            "help: shorten the stages or the holdback period",
        ],
    );
}

#[test]
fn a_policy_that_could_never_leave_a_stage_is_refused() {
    let dir = scratch("no-holdback");
    let text = fixture().replace("holdback_percent = 5\n", "holdback_percent = 0\n");
    std::fs::write(dir.join("stuck.toml"), &text).unwrap();
    let stderr = simulate_refused(
        &dir,
        "stuck.toml",
        &[
            &format!("stuck.toml:{}:14", line_of(&text, "min_sample = 100")),
            "stage 1 waits for 100 holdback sessions, and holdback_percent is 0: it could never end",
            "the holdback is set to 0 here",
        ],
    );
    // Every stage that waits is named, not only the first.
    assert!(stderr.contains("stage 5 waits for 150 holdback sessions"), "{stderr}");
}

#[test]
fn files_that_are_not_utf8_text_are_located() {
    let dir = scratch("encoding");
    let text = fixture();
    let mut binary = text.clone().into_bytes();
    let at = text.find("players = 3000").unwrap() + 10;
    binary[at] = 0xFF;
    std::fs::write(dir.join("binary.toml"), &binary).unwrap();
    let line = line_of(&text, "players = 3000");
    simulate_refused(
        &dir,
        "binary.toml",
        &[&format!("binary.toml:{line}:11: byte 0xFF at offset {at} is not UTF-8 text")],
    );
    std::fs::remove_file(dir.join("binary.toml")).unwrap();
    let utf16: Vec<u8> =
        [0xFF, 0xFE].into_iter().chain(text.encode_utf16().flat_map(u16::to_le_bytes)).collect();
    std::fs::write(dir.join("utf16.toml"), utf16).unwrap();
    simulate_refused(
        &dir,
        "utf16.toml",
        &["utf16.toml:1:1: the file is UTF-16", "save it as UTF-8"],
    );
}

#[test]
fn files_past_the_size_and_nesting_bounds_are_refused() {
    let dir = scratch("bounds");
    let big = fixture() + &"# padding\n".repeat(120_000);
    std::fs::write(dir.join("big.toml"), big).unwrap();
    simulate_refused(&dir, "big.toml", &["big.toml is larger than 1024 KiB"]);
    std::fs::remove_file(dir.join("big.toml")).unwrap();
    let text = fixture() + "\n[" + &vec!["deep"; 100].join(".") + "]\n";
    std::fs::write(dir.join("deep.toml"), &text).unwrap();
    let line = text.lines().count();
    simulate_refused(
        &dir,
        "deep.toml",
        &[
            &format!("deep.toml:{line}:1"),
            "help: tables, arrays and dotted keys nest at most 80 deep",
        ],
    );
}

#[test]
fn thousands_of_problems_print_fifty_and_a_count() {
    let dir = scratch("many");
    let keys: String = (0..20_000).map(|i| format!("stray_key_{i} = 1\n")).collect();
    let text = fixture().replacen("[population]\n", &format!("[population]\n{keys}"), 1);
    std::fs::write(dir.join("many.toml"), text).unwrap();
    let stderr = simulate_refused(
        &dir,
        "many.toml",
        &[
            "many.toml:15:1",
            "unknown key `stray_key_0` in [population]; expected one of: players,",
            "20000 problems in 1 file (the first 50 are shown)",
        ],
    );
    assert_eq!(stderr.matches("error: ").count(), 50, "{stderr}");
    assert!(stderr.contains("stray_key_49`"), "{stderr}");
    assert!(!stderr.contains("stray_key_50`"), "{stderr}");
}

#[test]
fn a_sweep_variant_is_refused_at_the_value_that_causes_it() {
    let dir = scratch("sweep");
    std::fs::write(dir.join("scenario.toml"), fixture()).unwrap();
    let sweep = "name = \"s\"\nscenario = \"scenario.toml\"\nruns = 2\n\n[vary]\nmethod = [\"msprt\", \"pocock\"]\nholdback_percent = [5, 10]\nevaluation_interval_min = [60, 30]\n";
    std::fs::write(dir.join("sweep.toml"), sweep).unwrap();
    let out = dir.join("reports");
    let output = rollcage(&[
        "sweep",
        dir.join("sweep.toml").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    // The last stage (95%) and a 10% holdback pass 100%: blamed once, on the 10, for the four
    // variants that take it.
    refused(
        &output,
        &[
            "sweep.toml:7:24",
            "with this value, the scenario is refused: the last stage (95%) plus the holdback (10%)",
            "the first variant it refuses is variant 4 (holdback_percent=10 method=msprt evaluation_interval_min=60)",
            "1 problem in 1 file",
            "nothing was run",
        ],
    );
    assert!(!out.exists(), "something was written");
}

#[test]
fn a_grid_too_large_to_build_is_refused_by_its_size() {
    let dir = scratch("grid");
    std::fs::write(dir.join("scenario.toml"), fixture()).unwrap();
    let values = |n: usize| {
        (0..n).map(|i| format!("{}", 0.01 + i as f64 * 0.0001)).collect::<Vec<_>>().join(", ")
    };
    // 1000^4 variants, far past what memory could hold.
    let sweep = format!(
        "name = \"s\"\nscenario = \"scenario.toml\"\n\n[vary]\nalpha = [{}]\nduration_scale = [{}]\nfault_multiplier = [{}]\nholdback_percent = [{}]\n",
        values(1000),
        values(1000),
        values(1000),
        values(1000)
    );
    std::fs::write(dir.join("sweep.toml"), sweep).unwrap();
    let output = rollcage(&["sweep", dir.join("sweep.toml").to_str().unwrap()]);
    refused(
        &output,
        &["sweep.toml:5:10", "this grid has 1000000000000 variants; at most 5000 are allowed"],
    );
}

/// Changes one number in a saved file, keeping it valid CSV.
fn edit_a_number(path: &Path) {
    let text = std::fs::read_to_string(path).unwrap();
    let (stamp, body) = text.split_once('\n').unwrap();
    let (header, rows) = body.split_once('\n').unwrap();
    let at = rows.find(|c: char| c.is_ascii_digit()).expect("a number to change");
    let digit = rows.as_bytes()[at];
    let other = if digit == b'9' { '8' } else { (digit + 1) as char };
    let rows = format!("{}{other}{}", &rows[..at], &rows[at + 1..]);
    std::fs::write(path, format!("{stamp}\n{header}\n{rows}")).unwrap();
}

#[test]
fn an_edited_part_is_refused_by_merge_and_by_resume() {
    let dir = scratch("parts");
    let shards: Vec<PathBuf> = (1..=2).map(|i| dir.join(format!("shard-{i}"))).collect();
    for (i, out) in shards.iter().enumerate() {
        let shard = format!("{}/2", i + 1);
        let o = rollcage(&[
            "simulate",
            "tests/fixtures/small-null.toml",
            "--runs",
            "20",
            "--shard",
            &shard,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let edited = shards[0].join("small-null/part-1-of-2/runs.csv");
    edit_a_number(&edited);
    let merged = dir.join("merged");
    let merge = rollcage(&[
        "merge",
        "tests/fixtures/small-null.toml",
        "--runs",
        "20",
        "--out",
        merged.to_str().unwrap(),
        "--from",
        shards[0].to_str().unwrap(),
        shards[1].to_str().unwrap(),
    ]);
    let changed = format!("{} was changed after rollcage saved it", edited.display());
    refused(&merge, &[&changed, "nothing was written"]);
    assert!(!merged.exists(), "a refused merge wrote something");
    let before = std::fs::read(&edited).unwrap();
    let resume = rollcage(&[
        "simulate",
        "tests/fixtures/small-null.toml",
        "--runs",
        "20",
        "--shard",
        "1/2",
        "--out",
        shards[0].to_str().unwrap(),
    ]);
    refused(&resume, &[&changed, "nothing was simulated"]);
    assert_eq!(std::fs::read(&edited).unwrap(), before, "the refused part was touched");
}

#[test]
fn an_edited_sweep_row_is_refused_on_resume() {
    let dir = scratch("rows");
    let out = dir.join("reports");
    let args =
        ["sweep", "tests/inputs/sweep/small.toml", "--runs", "4", "--out", out.to_str().unwrap()];
    let first = rollcage(&args);
    assert_eq!(first.status.code(), Some(0), "{}", String::from_utf8_lossy(&first.stderr));
    let row = out.join("sweep/small/variant-00002.csv");
    edit_a_number(&row);
    let again = rollcage(&args);
    refused(
        &again,
        &[&format!("{} was changed after rollcage saved it", row.display()), "nothing was run"],
    );
}
