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

use crate::columns::SweepColumn;
use crate::rows::{Table, opt, rate_cell as rate};
use crate::summary::{Spread, Summary};
use rollcage_model::Scenario;

/// Every header of `reports/sweep/<name>.csv`, in file order (documented in reports/README.md).
pub const SWEEP_HEADER: &[&str] = SweepColumn::HEADER;

fn column(c: SweepColumn) -> usize {
    SweepColumn::ALL.iter().position(|x| *x == c).expect("a sweep column")
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
    let row: Vec<String> = SweepColumn::ALL
        .iter()
        .filter(|&&c| c != SweepColumn::Pareto)
        .map(|&c| sweep_cell(c, variant, schedule, scenario, harmful, clean))
        .collect();
    debug_assert_eq!(row.len(), SWEEP_HEADER.len() - 1);
    row
}

/// A variant's cell in column `c` (the frontier mark is [`sweep_table`]'s).
fn sweep_cell(
    c: SweepColumn,
    variant: usize,
    schedule: &str,
    scenario: &Scenario,
    harmful: &Summary,
    clean: &Summary,
) -> String {
    use SweepColumn as C;
    let policy = &scenario.policy;
    let statistical = || policy.guardrails.iter().filter_map(|g| Some((g, g.method.comparison()?)));
    let spread = |x: Option<Spread>, f: fn(Spread) -> f64, d| opt(x.map(f), d);
    match c {
        C::Variant => variant.to_string(),
        C::Schedule => schedule.to_string(),
        C::StagePercents => joined(policy.stages.iter().map(|s| format!("{}", s.share.percent()))),
        C::StageHours => {
            joined(policy.stages.iter().map(|s| format!("{}", s.min_duration.hours())))
        }
        C::HoldbackPercent => format!("{}", policy.holdback.percent()),
        C::Method => joined(statistical().map(|(g, _)| g.method.label().to_string())),
        C::Alpha => joined(statistical().map(|(_, c)| format!("{}", c.alpha))),
        C::EvaluationIntervalMin => scenario.evaluation_interval.0.to_string(),
        C::FaultMultiplier => joined(
            scenario
                .world
                .release
                .faults
                .iter()
                .filter_map(|f| f.kind.multiplier())
                .map(|m| format!("{m}")),
        ),
        C::Runs => scenario.runs.to_string(),
        C::ReleaseHMedian => spread(clean.release_h, |x| x.median, 2),
        C::ReleaseHP90 => spread(clean.release_h, |x| x.p90, 2),
        C::ReleasedRate => rate(clean.released_rate, 0),
        C::ReleasedRateLo => rate(clean.released_rate, 1),
        C::ReleasedRateHi => rate(clean.released_rate, 2),
        C::FalseKillRate => rate(clean.false_kill_rate, 0),
        C::FalseKillRateLo => rate(clean.false_kill_rate, 1),
        C::FalseKillRateHi => rate(clean.false_kill_rate, 2),
        C::DetectionRate => rate(harmful.detection_rate, 0),
        C::DetectionRateLo => rate(harmful.detection_rate, 1),
        C::DetectionRateHi => rate(harmful.detection_rate, 2),
        C::TimeToDetectHMedian => spread(harmful.time_to_detect_h, |x| x.median, 2),
        C::TimeToDetectHP90 => spread(harmful.time_to_detect_h, |x| x.p90, 2),
        C::HarmedPlayersMean => spread(harmful.harmed_players_when_harmful, |x| x.mean, 1),
        C::HarmedPlayersP90 => spread(harmful.harmed_players_when_harmful, |x| x.p90, 1),
        C::RolledBackRate => rate(harmful.rolled_back_rate, 0),
        C::RolledBackRateLo => rate(harmful.rolled_back_rate, 1),
        C::RolledBackRateHi => rate(harmful.rolled_back_rate, 2),
        C::RollbackHP90 => spread(harmful.rollback_h, |x| x.p90, 2),
        C::CoinsLostMean => spread(harmful.coins_lost, |x| x.mean, 1),
        C::CorruptedSavesLeftMean => spread(harmful.corrupted_saves_left, |x| x.mean, 2),
        C::OracleViolationRuns => (harmful.violation_runs + clean.violation_runs).to_string(),
        C::Pareto => unreachable!("the frontier is marked once every row is made"),
    }
}

/// The three objectives of a row, all to be made small: time to 100% (never released counts as
/// infinitely slow), blast radius (none measured counts as none), false-kill rate (none measured
/// counts as the worst).
fn objectives(row: &[String]) -> [f64; 3] {
    let cell = |c: SweepColumn, missing: f64| {
        let text = &row[column(c)];
        if text.is_empty() { missing } else { text.parse().expect("a sweep cell rollcage wrote") }
    };
    [
        cell(SweepColumn::ReleaseHMedian, f64::INFINITY),
        cell(SweepColumn::HarmedPlayersMean, 0.0),
        cell(SweepColumn::FalseKillRate, 1.0),
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
    let harm = column(SweepColumn::FaultMultiplier);
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
            row[column(SweepColumn::FaultMultiplier)] = harm.into();
            row[column(SweepColumn::ReleaseHMedian)] = release.into();
            row[column(SweepColumn::HarmedPlayersMean)] = "100.0".into();
            row[column(SweepColumn::FalseKillRate)] = "0.0100".into();
            row
        };
        let table = sweep_table(vec![row("1.5", "70"), row("1.5", "60"), row("2", "80")]);
        let marks: Vec<&str> = table.rows.iter().map(|r| r.last().unwrap().as_str()).collect();
        assert_eq!(marks, vec!["", "yes", "yes"], "the ×2 row is judged only against ×2 rows");
    }

    #[test]
    fn rows_are_judged_from_their_cells() {
        let mut row = vec![String::new(); SWEEP_HEADER.len() - 1];
        row[column(SweepColumn::ReleaseHMedian)] = "71.00".into();
        row[column(SweepColumn::HarmedPlayersMean)] = "120.5".into();
        row[column(SweepColumn::FalseKillRate)] = "0.0100".into();
        let mut never = row.clone();
        never[column(SweepColumn::ReleaseHMedian)] = String::new();
        let table = sweep_table(vec![row, never]);
        assert_eq!(table.rows[0].last().unwrap(), "yes");
        assert_eq!(table.rows[1].last().unwrap(), "", "a schedule that never releases is beaten");
    }
}
