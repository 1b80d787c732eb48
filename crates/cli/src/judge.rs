//! `rollcage judge`: the scenario's policy on a live rollout's telemetry and rollout log, and what
//! the rollout system is to do now.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use rollcage_harness::telemetry::{Decision, Divergence};
use rollcage_model::{Minutes, Scenario};
use rollcage_policy::{Evaluation, EventKind};
use rollcage_report::explain;
use rollcage_telemetry::judge::Verdict;
use rollcage_telemetry::{Names, change_text, read};
use serde_json::{Value, json};

use crate::exit;
use crate::files::load_one;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The scenario whose policy judges: its `[policy]`, and the segment cells and features it
    /// names.
    scenario: PathBuf,
    /// The rollout's telemetry: one row per player, cohort and window, as CSV (`.csv`) or JSON
    /// Lines (`.jsonl`). See docs/telemetry.md.
    #[arg(long, value_name = "FILE")]
    telemetry: PathBuf,
    /// The rollout log (default: beside the telemetry, named <stem>.rollout.jsonl).
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
    /// Judge up to this minute since the rollout began: after the log's last event, the policy
    /// goes on looking every evaluation interval up to it, with the telemetry there is by then.
    #[arg(long, value_name = "MINUTE")]
    now: Option<u32>,
    /// `text` for people, `json` for pipelines.
    #[arg(long, value_enum, default_value = "text")]
    format: Output,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Output {
    Text,
    Json,
}

pub fn run(args: &Args) -> anyhow::Result<u8> {
    let (format, log_path) = crate::telemetry::inputs(&args.telemetry, args.log.as_deref())?;
    let Some(loaded) = load_one(&args.scenario)? else { return Ok(exit::BAD_INPUT) };
    let s = &loaded.scenario;
    let names = Names::of(s);
    let log_text = std::fs::read_to_string(&log_path)
        .with_context(|| format!("cannot read {}", log_path.display()))?;
    let log = match crate::telemetry::log_for(s, &log_text, &log_path, "judged")? {
        Ok(log) => log,
        Err(code) => return Ok(code),
    };
    let file = std::fs::File::open(&args.telemetry)
        .with_context(|| format!("cannot read {}", args.telemetry.display()))?;
    let mut reader = read::Telemetry::new(std::io::BufReader::new(file), format, names, &log);
    let verdict =
        match rollcage_telemetry::judge::judge(s, &log, &mut reader, args.now.map(Minutes)) {
            Ok(v) => v,
            Err(problems) => {
                let path = &args.telemetry;
                return Ok(crate::telemetry::refused("telemetry", path, &problems, "judged"));
            }
        };
    let decision = Decision::of(&verdict.judged);
    match args.format {
        Output::Text => print!("{}", text(s, &verdict, &decision, &args.telemetry, &log_path)),
        Output::Json => println!("{:#}", as_json(s, &verdict, &decision)),
    }
    Ok(code(&decision))
}

/// The exit code a pipeline acts on (see README.md).
fn code(decision: &Decision) -> u8 {
    match decision {
        Decision::Continue { .. }
        | Decision::Advance { .. }
        | Decision::HoldbackPeriod
        | Decision::Release => exit::HELD,
        Decision::Pause { .. } | Decision::Diverged(_) => exit::JUDGE_PAUSE,
        Decision::Kill { .. } => exit::JUDGE_KILL,
    }
}

/// The decision in words.
fn decision_text(s: &Scenario, decision: &Decision) -> String {
    let cause = |r: &Option<rollcage_policy::Reason>| {
        r.as_ref().map_or(String::new(), |r| format!(" by {}", explain::reason(s, r)))
    };
    match decision {
        Decision::Continue { stage: Some(i) } => format!("CONTINUE stage {}", i + 1),
        Decision::Continue { stage: None } => "CONTINUE".to_string(),
        Decision::Advance { stage, share } => {
            format!("ADVANCE to stage {}: {share} of players", stage + 1)
        }
        Decision::HoldbackPeriod => "ADVANCE to the holdback period".to_string(),
        Decision::Release => "RELEASE to everyone".to_string(),
        Decision::Pause { reason } => format!("PAUSE{}", cause(reason)),
        Decision::Kill { at, scope, reason } => format!(
            "KILL {}{} (decided at minute {})",
            explain::scope(s, &s.world.release.build, *scope),
            cause(&Some(reason.clone())),
            at.0
        ),
        Decision::Diverged(d) => diverged(s, d),
    }
}

fn diverged(s: &Scenario, d: &Divergence) -> String {
    let names = Names::of(s);
    format!(
        "DIVERGED at minute {}: the policy decided {}, the log shows {}; nothing after can be judged",
        d.at.0,
        change_text(d.decided.as_ref(), &names),
        change_text(d.logged.as_ref(), &names)
    )
}

/// The last look's guardrail evaluations.
fn last_look_evaluations(verdict: &Verdict) -> Vec<&Evaluation> {
    let since = verdict.judged.last_look.map_or(0, |(_, events, _)| events);
    verdict.judged.events[since..]
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Evaluated(ev) => Some(ev),
            _ => None,
        })
        .collect()
}

fn text(
    s: &Scenario,
    verdict: &Verdict,
    decision: &Decision,
    telemetry: &std::path::Path,
    log: &std::path::Path,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "judged {} on {} ({} rows, {} windows, {} players; data to minute {}) and {}",
        s.name,
        telemetry.display(),
        verdict.rows,
        verdict.windows,
        verdict.players,
        verdict.data_until.0,
        log.display()
    );
    let at = verdict.judged.last_look.map_or(0, |(at, _, _)| at.0);
    let _ = writeln!(out, "decision at minute {at}: {}", decision_text(s, decision));
    for ev in last_look_evaluations(verdict) {
        let g = &s.policy.guardrails[ev.guardrail];
        let _ = writeln!(out, "  {}", ev.describe(g, &s.policy.cells));
    }
    let _ = writeln!(out, "timeline:");
    for e in &verdict.judged.events {
        let _ = writeln!(out, "{:>8}  {}", e.at, explain::event(s, &e.kind));
    }
    out
}

fn as_json(s: &Scenario, verdict: &Verdict, decision: &Decision) -> Value {
    let at = verdict.judged.last_look.map(|(at, _, _)| at.0);
    let mut d = json!({ "kind": decision.name(), "at": at, "text": decision_text(s, decision) });
    match decision {
        Decision::Continue { stage } => d["stage"] = json!(stage.map(|i| i + 1)),
        Decision::Advance { stage, share } => {
            d["stage"] = json!(stage + 1);
            d["share_percent"] = json!(share.percent());
        }
        Decision::Pause { reason } => {
            d["reason"] = json!(reason.as_ref().map(|r| explain::reason(s, r)));
        }
        Decision::Kill { at, scope, reason } => {
            d["reason"] = json!(explain::reason(s, reason));
            d["scope"] = json!(explain::scope(s, &s.world.release.build, *scope));
            d["decided_at"] = json!(at.0);
        }
        Decision::Diverged(div) => d["diverged_at"] = json!(div.at.0),
        Decision::HoldbackPeriod | Decision::Release => {}
    }
    let evaluations: Vec<Value> = last_look_evaluations(verdict)
        .into_iter()
        .map(|ev| {
            let g = &s.policy.guardrails[ev.guardrail];
            json!({
                "guardrail": g.name,
                "metric": g.metric.name(),
                "method": <&str>::from(rollcage_model::MethodName::from(&g.method)),
                "cell": ev.cell.map(|c| s.policy.cells[c].clone()),
                "treatment_mean": ev.treatment_mean,
                "control_mean": ev.control_mean,
                "treatment_sessions": ev.treatment_count,
                "control_sessions": ev.control_count,
                "estimate": ev.estimate,
                "std_error": ev.std_error,
                "interval": ev.interval.map(|(lo, hi)| [lo, hi]),
                "statistic": ev.statistic,
                "boundary": finite(ev.threshold),
                "alpha": ev.alpha,
                "alpha_spent": ev.alpha_spent,
                "p_value": ev.p_value,
                "information_fraction": ev.information_fraction,
                "verdict": ev.verdict.name(),
                "text": ev.describe(g, &s.policy.cells),
            })
        })
        .collect();
    let events: Vec<Value> = verdict
        .judged
        .events
        .iter()
        .map(|e| json!({ "at": e.at.0, "text": explain::event(s, &e.kind) }))
        .collect();
    json!({
        "scenario": s.name,
        "decision": d,
        "evaluations": evaluations,
        "read": {
            "rows": verdict.rows,
            "windows": verdict.windows,
            "players": verdict.players,
            "data_until": verdict.data_until.0,
        },
        "events": events,
    })
}

/// A boundary for JSON: infinite when no alpha is left, which JSON cannot say (`null`).
fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}
