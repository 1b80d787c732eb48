//! Batches give the same records at any thread count, and a panicking run is caught and reported
//! with its seed while the rest complete.

mod common;

use rollcage_harness::{BatchOptions, RunResult, simulate};
use rollcage_report::Summary;
use rollcage_report::rows::{runs_table, stages_table};

fn batch(threads: usize, options: BatchOptions) -> Vec<RunResult> {
    let s = common::scenario();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    pool.install(|| simulate(&s, 0..s.runs, options, &|| {}))
}

#[test]
fn one_thread_and_two_give_identical_tables() {
    let one = batch(1, BatchOptions::default());
    let two = batch(2, BatchOptions::default());
    assert_eq!(runs_table(&one), runs_table(&two));
    assert_eq!(stages_table(&one), stages_table(&two));
    assert_eq!(one.iter().map(RunResult::run).collect::<Vec<_>>(), (0..20).collect::<Vec<_>>());
}

#[test]
fn a_panicking_run_is_reported_and_the_rest_complete() {
    let results = batch(2, BatchOptions { panic_on_run: Some(3) });
    let s = common::scenario();
    let summary = Summary::from_results(&s, &results);
    assert_eq!(summary.runs, 20);
    assert_eq!(summary.completed, 19);
    assert_eq!(summary.panicked.len(), 1);
    assert_eq!(summary.panicked[0].run, 3);
    assert!(summary.panicked[0].message.contains("planted panic"));
    let table = runs_table(&results);
    assert_eq!(table.rows[3][2], "panicked");
    assert_eq!(table.rows[4][2], "clean_pass");
}

/// A batch where every run breaks an oracle prints five repro commands and says where the rest are.
#[test]
fn every_violating_run_can_be_found_from_the_summary() {
    let s =
        common::scenario().with(|s| s.world.sabotage = Some(rollcage_sim::Sabotage::LeakHoldback));
    let results = simulate(&s, 0..s.runs, BatchOptions::default(), &|| {});
    let summary = Summary::from_results(&s, &results);
    assert_eq!(summary.violation_runs, 20);
    let text = rollcage_report::explain::describe_summary(&summary, "scenarios/test.toml");
    assert_eq!(
        text.matches("reproduce: rollcage explain scenarios/test.toml --run ").count(),
        5,
        "{text}"
    );
    assert!(
        text.contains(
            "... and 15 more violating runs, each in runs.csv with its run number and seed"
        ),
        "{text}"
    );
    assert!(!summary.held());
}
