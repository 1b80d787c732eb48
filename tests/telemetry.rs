//! The round trip that proves the live judge is the validated one: the telemetry a simulated run
//! exports, judged look by look, gives the run's decisions exactly — the same snapshot at every
//! look, the same events (evaluations with their numbers, stage changes, pauses, kills, rollback
//! steps), at the same times.

use rollcage_harness::telemetry::judge;
use rollcage_harness::{RunOptions, run};

/// Runs of each shipped scenario checked: the first few of its batch, harmless and harmful alike.
const RUNS: u32 = 4;

/// Every shipped scenario, in name order.
fn shipped() -> Vec<std::path::PathBuf> {
    let mut paths = Vec::new();
    let mut dirs = vec![std::path::PathBuf::from("scenarios")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "toml") {
                paths.push(path);
            }
        }
    }
    paths.sort();
    assert!(paths.len() >= 27, "every shipped scenario: {}", paths.len());
    paths
}

#[test]
fn every_shipped_scenario_judged_from_its_telemetry_decides_as_it_ran() {
    let paths = shipped();
    let options = RunOptions { record_evaluations: true, record_telemetry: true, dry_run: false };
    let mut looks = 0;
    for path in &paths {
        let scenario = rollcage_scenario::load(&std::fs::read_to_string(path).unwrap())
            .expect("the shipped scenario loads");
        for r in 0..RUNS {
            let record = run(&scenario, r, options);
            let recorded = record.telemetry.as_ref().expect("the run recorded its telemetry");
            let judged = judge(&scenario, &recorded.recording);
            let at = |what: &str| format!("{} run {r}: {what}", path.display());
            assert_eq!(judged.divergence, None, "{}", at("the run did what its policy decided"));
            assert_eq!(judged.seen.len(), recorded.seen.len(), "{}", at("looks"));
            for (i, (seen, judged)) in recorded.seen.iter().zip(&judged.seen).enumerate() {
                assert_eq!(judged, seen, "{}", at(&format!("look {i}, at {}", seen.as_of.0)));
            }
            assert_eq!(judged.events, record.events, "{}", at("events"));
            looks += judged.seen.len();
        }
    }
    assert!(looks > 1000, "the round trip covers many looks: {looks}");
}

/// The same through the files: a run's telemetry written as CSV and as JSON Lines with its
/// rollout log, read back, checked and judged, decides as the run did.
#[test]
fn written_telemetry_read_back_decides_as_the_run_did() {
    use rollcage_telemetry::{Format, Names, read, write};
    let options = RunOptions { record_evaluations: true, record_telemetry: true, dry_run: false };
    let mut checked = 0;
    for path in shipped() {
        let scenario = rollcage_scenario::load(&std::fs::read_to_string(&path).unwrap())
            .expect("the shipped scenario loads");
        let names = Names::of(&scenario);
        let record = run(&scenario, 1, options);
        let recording = &record.telemetry.as_ref().unwrap().recording;
        let mut log = Vec::new();
        write::log(&recording.log, &names, &mut log).unwrap();
        let log_names = read::LogNames { names: &names, policy: &scenario.policy };
        let read_log = read::log(std::str::from_utf8(&log).unwrap(), &log_names)
            .unwrap_or_else(|p| panic!("{}: {}", path.display(), p.render("rollout.jsonl")));
        assert_eq!(read_log, recording.log, "{}: the log reads back as written", path.display());
        for format in [Format::Csv, Format::JsonLines] {
            let mut rows = Vec::new();
            write::telemetry(recording, &names, format, &mut rows).unwrap();
            let mut reader = read::Telemetry::new(&rows[..], format, names.clone(), &read_log);
            let verdict = rollcage_telemetry::judge::judge(&scenario, &read_log, &mut reader, None)
                .unwrap_or_else(|p| panic!("{}: {}", path.display(), p.render("telemetry")));
            assert_eq!(verdict.judged.events, record.events, "{} ({format:?})", path.display());
            let written: usize = recording.windows.iter().map(|w| w.rows.len()).sum();
            assert_eq!(verdict.rows, written as u64);
            checked += 1;
        }
    }
    assert!(checked >= 54);
}
