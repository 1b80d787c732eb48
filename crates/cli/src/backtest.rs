//! `rollcage backtest`: a recorded rollout replayed under other policies, and where each would
//! first have decided otherwise.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use rollcage_harness::telemetry::LogEvent;
use rollcage_model::Scenario;
use rollcage_report::columns::BacktestColumn;
use rollcage_telemetry::backtest::{Replay, replay};
use rollcage_telemetry::{Format, Names, Problems, read};

use crate::exit;
use crate::files::load_all;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Scenario files whose policies replay the rollout.
    scenarios: Vec<PathBuf>,
    /// A sweep file: every variant of its grid replays the rollout too.
    #[arg(long, value_name = "FILE")]
    sweep: Option<PathBuf>,
    /// The recorded rollout's telemetry (.csv or .jsonl; see docs/telemetry.md).
    #[arg(long, value_name = "FILE")]
    telemetry: PathBuf,
    /// Its rollout log (default: beside the telemetry, named <stem>.rollout.jsonl).
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
    /// Where the table goes: <out>/backtest/<telemetry's stem>.csv.
    #[arg(long, default_value = "reports")]
    out: PathBuf,
}

/// A policy to replay: its name in the table and its scenario.
struct Policy {
    name: String,
    scenario: Scenario,
}

pub fn run(args: &Args) -> anyhow::Result<u8> {
    let (format, log_path) = crate::telemetry::inputs(&args.telemetry, args.log.as_deref())?;
    if args.scenarios.is_empty() && args.sweep.is_none() {
        bail!("name the policies to replay: scenario files, or --sweep FILE, or both");
    }
    if !crate::files::out_writable(&args.out) {
        return Ok(exit::BAD_INPUT);
    }
    let Some(policies) = policies(args)? else { return Ok(exit::BAD_INPUT) };
    let log_text = std::fs::read_to_string(&log_path)
        .with_context(|| format!("cannot read {}", log_path.display()))?;
    // Every policy reads the log with its own names; all must take it before any replays.
    let mut logs = Vec::with_capacity(policies.len());
    for p in &policies {
        let nothing = format!("replayed (read for policy {})", p.name);
        match crate::telemetry::log_for(&p.scenario, &log_text, &log_path, &nothing)
            .with_context(|| format!("policy {}", p.name))?
        {
            Ok(log) => logs.push(log),
            Err(code) => return Ok(code),
        }
    }
    let mut rows = Vec::with_capacity(policies.len());
    for (p, log) in policies.iter().zip(&logs) {
        match replay_one(&p.scenario, log, &args.telemetry, format)? {
            Ok(replayed) => rows.push((p.name.clone(), replayed)),
            Err(problems) => {
                let path = &args.telemetry;
                return Ok(crate::telemetry::refused("telemetry", path, &problems, "replayed"));
            }
        }
    }
    let stem = args.telemetry.file_stem().and_then(|s| s.to_str()).unwrap_or("telemetry");
    let path = args.out.join("backtest").join(format!("{stem}.csv"));
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|(name, r)| BacktestColumn::ALL.iter().map(|&c| cell(c, name, r)).collect())
        .collect();
    crate::write::write_rows(&path, None, BacktestColumn::HEADER, &table)?;
    crate::page::refresh(&args.out);
    print!("{}", text(&rows));
    println!("table: {}", path.display());
    Ok(exit::HELD)
}

/// The policies to replay: the scenario files', then the sweep's variants. `None` when one does
/// not load (its problems are printed).
fn policies(args: &Args) -> anyhow::Result<Option<Vec<Policy>>> {
    let mut policies = Vec::new();
    if !args.scenarios.is_empty() {
        let Some(loaded) = load_all(&args.scenarios)? else { return Ok(None) };
        policies.extend(
            loaded.into_iter().map(|l| Policy { name: l.display_path(), scenario: l.scenario }),
        );
    }
    if let Some(sweep) = &args.sweep {
        let Some((_, variants)) = crate::sweep::prepare(sweep, None)? else { return Ok(None) };
        policies.extend(variants.into_iter().map(|v| Policy {
            name: format!("variant {} ({})", v.variant.index + 1, v.variant.describe()),
            scenario: v.scenario,
        }));
    }
    Ok(Some(policies))
}

/// One policy judged on the recording, or the telemetry's problems.
fn replay_one(
    scenario: &Scenario,
    log: &[LogEvent],
    telemetry: &Path,
    format: Format,
) -> anyhow::Result<Result<Replay, Problems>> {
    let names = Names::of(scenario);
    let file = std::fs::File::open(telemetry)
        .with_context(|| format!("cannot read {}", telemetry.display()))?;
    let mut reader =
        read::Telemetry::new(std::io::BufReader::new(file), format, names.clone(), log);
    Ok(match rollcage_telemetry::judge::judge(scenario, log, &mut reader, None) {
        Ok(verdict) => Ok(replay(&verdict, log, &names)),
        Err(problems) => Err(problems),
    })
}

/// One cell of a policy's row.
fn cell(column: BacktestColumn, policy: &str, r: &Replay) -> String {
    match column {
        BacktestColumn::Policy => policy.to_string(),
        BacktestColumn::LooksAgreed => r.looks.to_string(),
        BacktestColumn::DivergedAtMin => r.diverged_at.map_or(String::new(), |m| m.0.to_string()),
        BacktestColumn::Decided => r.decided.clone(),
        BacktestColumn::Happened => r.happened.clone(),
        BacktestColumn::Decision => r.decision.to_string(),
        BacktestColumn::TreatmentSessionsAfter => r.sessions_after.to_string(),
        BacktestColumn::SessionsChange => {
            r.sessions_change.map_or(String::new(), |c| c.to_string())
        }
    }
}

/// The table for people: one line per policy.
fn text(rows: &[(String, Replay)]) -> String {
    let mut out = String::new();
    for (name, r) in rows {
        let line = match r.diverged_at {
            None => format!(
                "{name}: agrees with the rollout at all {} looks (ends: {})",
                r.looks, r.decision
            ),
            Some(at) => {
                let change = match r.sessions_change {
                    Some(c) if c < 0 => format!("{} treatment sessions saved", -c),
                    Some(c) if c > 0 => format!("{c} more treatment sessions exposed"),
                    Some(_) => "the same treatment sessions".to_string(),
                    None => "its exposure cannot be told from the recording".to_string(),
                };
                format!(
                    "{name}: parts at minute {} after {} looks: it would have made {}, the rollout made {}; {change} (of {} recorded after)",
                    at.0, r.looks, r.decided, r.happened, r.sessions_after
                )
            }
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}
