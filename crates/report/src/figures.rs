//! What a summary needs of each run, as a table that reads back exactly.
//!
//! [`Summary::from_figures`](crate::Summary::from_figures) is the only way a summary is made: from
//! a batch in memory ([`RunFigures::of`]) or from the `figures.csv` a shard of a sharded `simulate`
//! wrote ([`figures_table`], [`parse_figures`]). Every float is written in Rust's shortest form that
//! parses back to the same bits, so a summary rebuilt from shards is the unsharded one, byte for
//! byte, down to its quantiles.

use std::ops::Range;

use rollcage_policy::Minutes;
use rollcage_sim::RunSeed;

use crate::table::Table;
use rollcage_harness::RunResult;
use rollcage_harness::oracle::{Oracle, Violation};
use rollcage_harness::run::{FinalPhase, Outcome, RollbackResult, SaveRecord};

/// A rollback's figures: did it end rolled back, in how many hours, after how many attempts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RollbackFigures {
    pub rolled_back: bool,
    /// From the release kill to rolled back; `None` unless rolled back.
    pub hours: Option<f64>,
    pub attempts: u32,
}

/// One completed run, as far as its scenario's summary is concerned.
#[derive(Clone, Debug, PartialEq)]
pub struct Figures {
    pub outcome: Outcome,
    pub harmful: bool,
    pub released: bool,
    pub time_to_detect_h: Option<f64>,
    pub release_h: Option<f64>,
    /// When a guardrail first stopped a part of the release doing no harm.
    pub false_stop_h: Option<f64>,
    pub harmed_players: u64,
    pub harmed_sessions: u64,
    pub exposed_players: u64,
    pub rollback: Option<RollbackFigures>,
    pub saves: SaveRecord,
    pub violation_counts: [u64; Oracle::COUNT],
    /// The run's first violation, for the repro commands.
    pub first_violation: Option<Violation>,
}

/// One run: its figures, or the message it panicked with.
#[derive(Clone, Debug, PartialEq)]
pub struct RunFigures {
    pub run: u32,
    pub seed: RunSeed,
    pub figures: Result<Figures, String>,
}

impl RunFigures {
    pub fn of(result: &RunResult) -> RunFigures {
        match result {
            RunResult::Panicked { run, seed, message } => {
                RunFigures { run: *run, seed: *seed, figures: Err(message.clone()) }
            }
            RunResult::Done(r) => RunFigures {
                run: r.run,
                seed: r.seed,
                figures: Ok(Figures {
                    outcome: r.outcome,
                    harmful: r.harmful,
                    released: r.final_phase == FinalPhase::Released,
                    time_to_detect_h: r.time_to_detect.map(Minutes::hours),
                    release_h: r.released_at.map(Minutes::hours),
                    false_stop_h: r.false_stop_at.map(Minutes::hours),
                    harmed_players: r.harmed_players,
                    harmed_sessions: r.harmed_sessions,
                    exposed_players: r.exposed_players,
                    rollback: r.rollback.as_ref().map(|b| {
                        let rolled_back = b.result == RollbackResult::RolledBack;
                        RollbackFigures {
                            rolled_back,
                            hours: b
                                .ended
                                .filter(|_| rolled_back)
                                .map(|end| (end - b.started).hours()),
                            attempts: b.attempts,
                        }
                    }),
                    saves: r.saves,
                    violation_counts: r.violations.counts,
                    first_violation: r.violations.first.first().cloned(),
                }),
            },
        }
    }
}

/// The columns of a shard's `figures.csv` (an intermediate file, read only by `rollcage merge`).
pub const FIGURES_HEADER: &[&str] = &[
    "run",
    "seed",
    "panic",
    "outcome",
    "harmful",
    "released",
    "time_to_detect_h",
    "release_h",
    "false_stop_h",
    "harmed_players",
    "harmed_sessions",
    "exposed_players",
    "rollback",
    "rollback_h",
    "rollback_attempts",
    "coins_lost",
    "exploit_coins_left",
    "items_lost",
    "corrupted_saves_left",
    "players_restored",
    "players_affected",
    "violations",
    "first_oracle",
    "first_at_min",
    "first_detail",
];

fn exact(value: Option<f64>) -> String {
    // `{}` on an f64 is the shortest text that parses back to the same bits.
    value.map_or_else(String::new, |v| v.to_string())
}

/// The figures of a batch, one row per run, in the order given.
pub fn figures_table(runs: &[RunFigures]) -> Table {
    let rows = runs
        .iter()
        .map(|r| {
            let mut row = vec![r.run.to_string(), r.seed.0.to_string()];
            match &r.figures {
                Err(message) => {
                    row.push(message.clone());
                    row.resize(FIGURES_HEADER.len(), String::new());
                }
                Ok(f) => {
                    let counts: Vec<String> =
                        f.violation_counts.iter().map(u64::to_string).collect();
                    let v = f.first_violation.as_ref();
                    row.extend([
                        String::new(),
                        f.outcome.name().to_string(),
                        f.harmful.to_string(),
                        f.released.to_string(),
                        exact(f.time_to_detect_h),
                        exact(f.release_h),
                        exact(f.false_stop_h),
                        f.harmed_players.to_string(),
                        f.harmed_sessions.to_string(),
                        f.exposed_players.to_string(),
                        f.rollback.map_or_else(String::new, |b| {
                            if b.rolled_back { "rolled_back" } else { "other" }.to_string()
                        }),
                        exact(f.rollback.and_then(|b| b.hours)),
                        f.rollback.map_or_else(String::new, |b| b.attempts.to_string()),
                        f.saves.coins_lost.to_string(),
                        f.saves.exploit_coins_left.to_string(),
                        f.saves.items_lost.to_string(),
                        f.saves.corrupted_saves_left.to_string(),
                        f.saves.players_restored.to_string(),
                        f.saves.players_affected.to_string(),
                        counts.join(" "),
                        v.map_or_else(String::new, |v| v.oracle.name().to_string()),
                        v.map_or_else(String::new, |v| v.at.0.to_string()),
                        v.map_or_else(String::new, |v| v.detail.clone()),
                    ]);
                }
            }
            row
        })
        .collect();
    Table { header: FIGURES_HEADER, rows }
}

/// Reads back the rows [`figures_table`] wrote; an error names the row and the cell.
pub fn parse_figures(rows: &[Vec<String>]) -> Result<Vec<RunFigures>, String> {
    rows.iter()
        .enumerate()
        .map(|(i, row)| parse_row(row).map_err(|e| format!("row {}: {e}", i + 1)))
        .collect()
}

fn parse_row(row: &[String]) -> Result<RunFigures, String> {
    if row.len() != FIGURES_HEADER.len() {
        return Err(format!("{} cells, not {}", row.len(), FIGURES_HEADER.len()));
    }
    let cell = |name: &str| {
        let i = FIGURES_HEADER.iter().position(|c| *c == name).expect("a figures column");
        row[i].as_str()
    };
    fn parsed<T: std::str::FromStr>(name: &str, text: &str) -> Result<T, String> {
        text.parse().map_err(|_| format!("`{name}` is not a valid value: `{text}`"))
    }
    let num = |name: &str| parsed::<u64>(name, cell(name));
    let maybe = |name: &str| -> Result<Option<f64>, String> {
        let text = cell(name);
        if text.is_empty() { Ok(None) } else { parsed(name, text).map(Some) }
    };
    let run = parsed("run", cell("run"))?;
    let seed = RunSeed(num("seed")?);
    if !cell("panic").is_empty() {
        return Ok(RunFigures { run, seed, figures: Err(cell("panic").to_string()) });
    }
    let outcome = cell("outcome")
        .parse::<Outcome>()
        .map_err(|_| format!("unknown outcome `{}`", cell("outcome")))?;
    let rollback = match cell("rollback") {
        "" => None,
        result => Some(RollbackFigures {
            rolled_back: result == "rolled_back",
            hours: maybe("rollback_h")?,
            attempts: parsed("rollback_attempts", cell("rollback_attempts"))?,
        }),
    };
    let mut violation_counts = [0; Oracle::COUNT];
    let counts: Vec<&str> = cell("violations").split(' ').collect();
    if counts.len() != Oracle::COUNT {
        return Err(format!("`violations` holds {} counts, not {}", counts.len(), Oracle::COUNT));
    }
    for (slot, text) in violation_counts.iter_mut().zip(counts) {
        *slot = parsed("violations", text)?;
    }
    let first_violation = match cell("first_oracle") {
        "" => None,
        name => Some(Violation {
            oracle: name.parse().map_err(|_| format!("unknown oracle `{name}`"))?,
            at: Minutes(parsed("first_at_min", cell("first_at_min"))?),
            detail: cell("first_detail").to_string(),
        }),
    };
    Ok(RunFigures {
        run,
        seed,
        figures: Ok(Figures {
            outcome,
            harmful: parsed("harmful", cell("harmful"))?,
            released: parsed("released", cell("released"))?,
            time_to_detect_h: maybe("time_to_detect_h")?,
            release_h: maybe("release_h")?,
            false_stop_h: maybe("false_stop_h")?,
            harmed_players: num("harmed_players")?,
            harmed_sessions: num("harmed_sessions")?,
            exposed_players: num("exposed_players")?,
            rollback,
            saves: SaveRecord {
                coins_lost: parsed("coins_lost", cell("coins_lost"))?,
                exploit_coins_left: parsed("exploit_coins_left", cell("exploit_coins_left"))?,
                items_lost: num("items_lost")?,
                corrupted_saves_left: num("corrupted_saves_left")?,
                players_restored: num("players_restored")?,
                players_affected: num("players_affected")?,
            },
            violation_counts,
            first_violation,
        }),
    })
}

/// The runs shard `shard` of `shards` (1-based) takes of a batch of `runs`: a contiguous block, the
/// blocks in shard order covering `0..runs` once.
pub fn shard_range(runs: u32, shard: u32, shards: u32) -> Range<u32> {
    assert!(1 <= shard && shard <= shards, "shard {shard} of {shards}");
    let at = |k: u32| (u64::from(runs) * u64::from(k) / u64::from(shards)) as u32;
    at(shard - 1)..at(shard)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_every_run_once_in_order() {
        for runs in [0, 1, 7, 1000] {
            for shards in 1..=9 {
                let ranges: Vec<Range<u32>> =
                    (1..=shards).map(|i| shard_range(runs, i, shards)).collect();
                assert_eq!(ranges[0].start, 0);
                assert_eq!(ranges.last().unwrap().end, runs);
                assert!(ranges.windows(2).all(|w| w[0].end == w[1].start));
                let sizes: Vec<u32> = ranges.iter().map(|r| r.end - r.start).collect();
                let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
                assert!(hi - lo <= 1, "{runs} runs over {shards} shards: {sizes:?}");
            }
        }
    }

    #[test]
    fn figures_read_back_exactly() {
        let done = RunFigures {
            run: 3,
            seed: RunSeed(u64::MAX),
            figures: Ok(Figures {
                outcome: Outcome::Detected,
                harmful: true,
                released: false,
                time_to_detect_h: Some(0.1 + 0.2),
                release_h: None,
                false_stop_h: Some(2.0 / 3.0),
                harmed_players: 17,
                harmed_sessions: 40,
                exposed_players: 900,
                rollback: Some(RollbackFigures {
                    rolled_back: true,
                    hours: Some(1.0 / 3.0),
                    attempts: 2,
                }),
                saves: SaveRecord {
                    coins_lost: -5,
                    exploit_coins_left: 12,
                    items_lost: 1,
                    corrupted_saves_left: 0,
                    players_restored: 8,
                    players_affected: 9,
                },
                violation_counts: [0, 0, 0, 2, 0, 0, 0, 0, 0, 1],
                first_violation: Some(Violation {
                    oracle: Oracle::KillPropagation,
                    at: Minutes(125),
                    detail: "a client, \"stale\",\nstill on it".to_string(),
                }),
            }),
        };
        let panicked =
            RunFigures { run: 4, seed: RunSeed(9), figures: Err("index out of bounds".into()) };
        let runs = vec![done, panicked];
        let table = figures_table(&runs);
        assert!(table.rows.iter().all(|r| r.len() == FIGURES_HEADER.len()));
        assert_eq!(parse_figures(&table.rows), Ok(runs));
    }

    #[test]
    fn a_damaged_row_is_refused_with_its_cell() {
        let mut table = figures_table(&[RunFigures {
            run: 0,
            seed: RunSeed(1),
            figures: Ok(Figures {
                outcome: Outcome::CleanPass,
                harmful: false,
                released: true,
                time_to_detect_h: None,
                release_h: Some(60.0),
                false_stop_h: None,
                harmed_players: 0,
                harmed_sessions: 0,
                exposed_players: 10,
                rollback: None,
                saves: SaveRecord::default(),
                violation_counts: [0; Oracle::COUNT],
                first_violation: None,
            }),
        }]);
        let good = table.rows[0].clone();
        table.rows[0][7] = "sixty".to_string();
        let error = parse_figures(&table.rows).unwrap_err();
        assert!(error.contains("row 1") && error.contains("release_h"), "{error}");
        table.rows[0] = good;
        let false_stop = FIGURES_HEADER.iter().position(|c| *c == "false_stop_h").unwrap();
        table.rows[0][false_stop] = "soon".to_string();
        let error = parse_figures(&table.rows).unwrap_err();
        assert!(error.contains("`false_stop_h`"), "{error}");
    }
}
