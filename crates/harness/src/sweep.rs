//! The sweep table: one row per policy variant, and the Pareto frontier over them.
//!
//! Each variant runs twice on the same seeds: once as the scenario is written, whose harmful runs
//! give the detection rate, the time to detect and the blast radius, and once with a harmless
//! release ([`Scenario::harmless`]), which gives the false-kill rate and the time to reach 100% on
//! a clean release. Every variant of a sweep uses the same seeds (common random numbers), so the
//! differences between rows are the policy's, not the dice's.
//!
//! A row is on the Pareto frontier when no other row facing the same harm (the same
//! `fault_multiplier`) is at least as good on all three of the time to 100% (median, on the clean
//! release), the mean blast radius (players harmed, on harmful runs) and the false-kill rate, and
//! better on one. The frontier is computed from the row's own printed
//! cells, so a table merged from shards marks exactly the rows an unsharded sweep marks.

use crate::rows::{Table, opt, rate_cells as rate};
use crate::summary::{Spread, Summary};
use rollcage_model::Scenario;

/// The columns of `reports/sweep/<name>.csv`, documented in reports/README.md.
pub const SWEEP_HEADER: &[&str] = &[
    "variant",
    "schedule",
    "stage_percents",
    "stage_hours",
    "holdback_percent",
    "method",
    "alpha",
    "evaluation_interval_min",
    "fault_multiplier",
    "runs",
    "release_h_median",
    "release_h_p90",
    "released_rate",
    "released_rate_lo",
    "released_rate_hi",
    "false_kill_rate",
    "false_kill_rate_lo",
    "false_kill_rate_hi",
    "detection_rate",
    "detection_rate_lo",
    "detection_rate_hi",
    "time_to_detect_h_median",
    "time_to_detect_h_p90",
    "harmed_players_mean",
    "harmed_players_p90",
    "rolled_back_rate",
    "rolled_back_rate_lo",
    "rolled_back_rate_hi",
    "rollback_h_p90",
    "coins_lost_mean",
    "corrupted_saves_left_mean",
    "oracle_violation_runs",
    "pareto",
];

fn column(name: &str) -> usize {
    SWEEP_HEADER.iter().position(|c| *c == name).expect("a sweep column")
}

fn joined(values: impl Iterator<Item = String>) -> String {
    values.collect::<Vec<_>>().join("/")
}

/// A row's cells up to the frontier mark: the variant's number and schedule name (`as written`
/// when the sweep kept the scenario's), the policy it ran, and what its two batches measured.
pub fn sweep_row(
    variant: usize,
    schedule: &str,
    scenario: &Scenario,
    harmful: &Summary,
    clean: &Summary,
) -> Vec<String> {
    let policy = &scenario.policy;
    let statistical: Vec<_> =
        policy.guardrails.iter().filter_map(|g| Some((g, g.method.comparison()?))).collect();
    let spread = |x: Option<Spread>, f: fn(Spread) -> f64, d| opt(x.map(f), d);
    let mut row = vec![
        variant.to_string(),
        schedule.to_string(),
        joined(policy.stages.iter().map(|s| format!("{}", s.share.percent()))),
        joined(policy.stages.iter().map(|s| format!("{}", s.min_duration.hours()))),
        format!("{}", policy.holdback.percent()),
        joined(statistical.iter().map(|(g, _)| g.method.label().to_string())),
        joined(statistical.iter().map(|(_, c)| format!("{}", c.alpha))),
        scenario.evaluation_interval.0.to_string(),
        joined(
            scenario
                .world
                .release
                .faults
                .iter()
                .filter_map(|f| f.kind.multiplier())
                .map(|m| format!("{m}")),
        ),
        scenario.runs.to_string(),
        spread(clean.release_h, |x| x.median, 2),
        spread(clean.release_h, |x| x.p90, 2),
    ];
    row.extend(rate(clean.released_rate));
    row.extend(rate(clean.false_kill_rate));
    row.extend(rate(harmful.detection_rate));
    row.extend([
        spread(harmful.time_to_detect_h, |x| x.median, 2),
        spread(harmful.time_to_detect_h, |x| x.p90, 2),
        spread(harmful.harmed_players_when_harmful, |x| x.mean, 1),
        spread(harmful.harmed_players_when_harmful, |x| x.p90, 1),
    ]);
    row.extend(rate(harmful.rolled_back_rate));
    row.extend([
        spread(harmful.rollback_h, |x| x.p90, 2),
        spread(harmful.coins_lost, |x| x.mean, 1),
        spread(harmful.corrupted_saves_left, |x| x.mean, 2),
        (harmful.violation_runs + clean.violation_runs).to_string(),
    ]);
    debug_assert_eq!(row.len(), SWEEP_HEADER.len() - 1);
    row
}

/// The three objectives of a row, all to be made small: time to 100% (never released counts as
/// infinitely slow), blast radius (none measured counts as none), false-kill rate (none measured
/// counts as the worst).
fn objectives(row: &[String]) -> [f64; 3] {
    let cell = |name: &str, missing: f64| {
        let text = &row[column(name)];
        if text.is_empty() { missing } else { text.parse().expect("a sweep cell rollcage wrote") }
    };
    [
        cell("release_h_median", f64::INFINITY),
        cell("harmed_players_mean", 0.0),
        cell("false_kill_rate", 1.0),
    ]
}

/// For each point, whether no other point is at least as small in every coordinate and smaller in
/// one.
pub fn pareto<const N: usize>(points: &[[f64; N]]) -> Vec<bool> {
    points
        .iter()
        .map(|p| {
            !points.iter().any(|q| {
                q.iter().zip(p).all(|(a, b)| a <= b) && q.iter().zip(p).any(|(a, b)| a < b)
            })
        })
        .collect()
}

/// The sweep table from its rows (each as [`sweep_row`] made it, in variant order), with the
/// frontier marked `yes`.
pub fn sweep_table(rows: Vec<Vec<String>>) -> Table {
    // Rows facing different harms (a sweep that varies `fault_multiplier`) don't compare: each
    // harm has its own frontier.
    let harm = column("fault_multiplier");
    let mut front = vec![false; rows.len()];
    let mut harms: Vec<&str> = rows.iter().map(|r| r[harm].as_str()).collect();
    harms.sort_unstable();
    harms.dedup();
    for h in harms {
        let members: Vec<usize> = (0..rows.len()).filter(|&i| rows[i][harm] == h).collect();
        let points: Vec<[f64; 3]> = members.iter().map(|&i| objectives(&rows[i])).collect();
        for (&i, on) in members.iter().zip(pareto(&points)) {
            front[i] = on;
        }
    }
    let rows = rows
        .into_iter()
        .zip(front)
        .map(|(mut row, on)| {
            row.push(if on { "yes".to_string() } else { String::new() });
            row
        })
        .collect();
    Table { header: SWEEP_HEADER, rows }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_frontier_keeps_what_nothing_beats() {
        let points = [
            [10.0, 5.0, 0.01], // fast and safe
            [20.0, 5.0, 0.01], // slower, nothing better: dominated by the first
            [5.0, 50.0, 0.01], // fastest, but a wide blast radius
            [10.0, 5.0, 0.01], // a tie with the first: neither beats the other
            [30.0, 1.0, 0.20], // smallest blast radius, many false kills
        ];
        assert_eq!(pareto(&points), vec![true, false, true, true, true]);
    }

    #[test]
    fn rows_facing_different_harms_have_their_own_frontiers() {
        let row = |harm: &str, release: &str| {
            let mut row = vec![String::new(); SWEEP_HEADER.len() - 1];
            row[column("fault_multiplier")] = harm.into();
            row[column("release_h_median")] = release.into();
            row[column("harmed_players_mean")] = "100.0".into();
            row[column("false_kill_rate")] = "0.0100".into();
            row
        };
        let table = sweep_table(vec![row("1.5", "70"), row("1.5", "60"), row("2", "80")]);
        let marks: Vec<&str> = table.rows.iter().map(|r| r.last().unwrap().as_str()).collect();
        assert_eq!(marks, vec!["", "yes", "yes"], "the ×2 row is judged only against ×2 rows");
    }

    #[test]
    fn rows_are_judged_from_their_cells() {
        let mut row = vec![String::new(); SWEEP_HEADER.len() - 1];
        row[column("release_h_median")] = "71.00".into();
        row[column("harmed_players_mean")] = "120.5".into();
        row[column("false_kill_rate")] = "0.0100".into();
        let mut never = row.clone();
        never[column("release_h_median")] = String::new();
        let table = sweep_table(vec![row, never]);
        assert_eq!(table.rows[0].last().unwrap(), "yes");
        assert_eq!(table.rows[1].last().unwrap(), "", "a schedule that never releases is beaten");
    }
}
