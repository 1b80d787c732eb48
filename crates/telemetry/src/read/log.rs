//! The rollout log: one JSON object per line, in time order.

use rollcage_harness::telemetry::{Exposure, LogEvent};
use rollcage_model::{BuildId, Command, KillScope, Minutes, PolicyConfig, Share};
use rollcage_policy::StepResult;
use serde_json::{Map, Value};

use super::{JsonLine, json_object};
use crate::{Names, Problems};

/// The names a rollout log may use, from the policy.
pub struct LogNames<'a> {
    pub names: &'a Names,
    pub policy: &'a PolicyConfig,
}

/// Reads a rollout log: one JSON object per line, in time order.
pub fn log(text: &str, names: &LogNames<'_>) -> Result<Vec<LogEvent>, Problems> {
    let mut problems = Problems::default();
    let mut events = Vec::new();
    let mut last = 0u32;
    for (i, line) in text.lines().enumerate() {
        let n = i as u64 + 1;
        if line.trim().is_empty() {
            continue;
        }
        let object = match json_object(line) {
            Ok(o) => o,
            Err((column, message)) => {
                problems.push(n, column, message);
                continue;
            }
        };
        let json = JsonLine { line, object };
        let mut p = |key: &str, message: String| problems.push(n, json.column_of(key), message);
        if let Some(at) = json.object.get("at").and_then(Value::as_u64) {
            if at < u64::from(last) {
                p(
                    "at",
                    format!(
                        "`at` = {at} comes before the line above ({last}): the log must be in time order"
                    ),
                );
            }
            last = u32::try_from(at).unwrap_or(u32::MAX);
        }
        if let Some(event) = log_event(&json, names, &mut p) {
            events.push(event);
        }
    }
    if problems.is_empty() { Ok(events) } else { Err(problems) }
}

const LOG_KEYS: [(&str, &[&str]); 5] = [
    ("exposure", &["build", "share_percent", "everyone", "killed_features", "killed_cells"]),
    ("kill", &[]),
    ("look", &["data_until"]),
    ("command", &["action", "note", "feature", "segment", "stage", "build"]),
    ("step_result", &["step", "attempt", "succeeded"]),
];

fn log_event(
    json: &JsonLine<'_>,
    names: &LogNames<'_>,
    p: &mut dyn FnMut(&str, String),
) -> Option<LogEvent> {
    let o = &json.object;
    let at = minutes(o, "at", p);
    let Some(kind) = o.get("event") else {
        p("event", format!("every line needs an `event`: one of {}", event_names()));
        return None;
    };
    let Some((kind, keys)) = LOG_KEYS.iter().find(|(k, _)| Some(*k) == kind.as_str()) else {
        p("event", format!("`event` = {kind}: expected one of {}", event_names()));
        return None;
    };
    for key in o.keys().filter(|k| *k != "at" && *k != "event") {
        if !keys.contains(&key.as_str()) {
            let takes = if keys.is_empty() { "nothing more".to_string() } else { keys.join(", ") };
            p(key, format!("`{key}` has no meaning for event \"{kind}\"; it takes {takes}"));
        }
    }
    let at = Minutes(at?);
    let event = match *kind {
        "exposure" => LogEvent::Exposure { at, exposure: exposure(o, names, p)? },
        "kill" => LogEvent::Kill { at },
        "look" => {
            let data_until = minutes(o, "data_until", p)?;
            if data_until > at.0 {
                p(
                    "data_until",
                    format!("`data_until` = {data_until} is after the look's own time ({})", at.0),
                );
            }
            LogEvent::Look { at, data_until: Minutes(data_until) }
        }
        "command" => LogEvent::Command { at, command: command(o, names, p)? },
        _ => LogEvent::StepResult { at, result: step_result(o, names.policy, p)? },
    };
    Some(event)
}

fn event_names() -> String {
    LOG_KEYS.iter().map(|(k, _)| format!("\"{k}\"")).collect::<Vec<_>>().join(", ")
}

fn minutes(o: &Map<String, Value>, key: &str, p: &mut dyn FnMut(&str, String)) -> Option<u32> {
    match o.get(key) {
        None => {
            p(key, format!("`{key}` is missing: minutes since the rollout began"));
            None
        }
        Some(v) => match v.as_u64().and_then(|m| u32::try_from(m).ok()) {
            Some(m) => Some(m),
            None => {
                p(
                    key,
                    format!(
                        "`{key}` = {v}: expected whole minutes since the rollout began, 0 or more"
                    ),
                );
                None
            }
        },
    }
}

fn exposure(
    o: &Map<String, Value>,
    names: &LogNames<'_>,
    p: &mut dyn FnMut(&str, String),
) -> Option<Exposure> {
    let build = match o.get("build") {
        None | Some(Value::Null) => None,
        Some(Value::String(b)) if !b.is_empty() => Some(BuildId::new(b)),
        Some(v) => {
            p(
                "build",
                format!(
                    "`build` = {v}: expected the exposed build's id, or null when nothing is exposed"
                ),
            );
            return None;
        }
    };
    let share = match o.get("share_percent").map(|v| (v, v.as_f64())) {
        None => Share::ZERO,
        Some((_, Some(x)))
            if (0.0..=100.0).contains(&x) && ((x * 100.0).round() - x * 100.0).abs() < 1e-6 =>
        {
            Share::from_basis_points((x * 100.0).round() as u16).expect("at most 100%")
        }
        Some((v, _)) => {
            p(
                "share_percent",
                format!(
                    "`share_percent` = {v}: expected a percentage from 0 to 100, in hundredths at most"
                ),
            );
            return None;
        }
    };
    let everyone = match o.get("everyone") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(v) => {
            p("everyone", format!("`everyone` = {v}: expected true or false"));
            return None;
        }
    };
    let killed_features = named_bits(o, "killed_features", &names.names.features, "features", p)?;
    let killed_cells = named_bits(o, "killed_cells", &names.names.cells, "segment cells", p)?;
    Some(Exposure { build, share, everyone, killed_features, killed_cells })
}

fn named_bits(
    o: &Map<String, Value>,
    key: &str,
    known: &[String],
    what: &str,
    p: &mut dyn FnMut(&str, String),
) -> Option<u32> {
    let Some(v) = o.get(key) else { return Some(0) };
    let Some(items) = v.as_array() else {
        p(key, format!("`{key}` = {v}: expected a list of names"));
        return None;
    };
    let mut bits = 0;
    for item in items {
        match item.as_str().and_then(|s| known.iter().position(|k| k == s)) {
            Some(i) => bits |= 1 << i,
            None => {
                p(
                    key,
                    format!(
                        "`{key}` names {item}, which is not one of the {what} ({})",
                        known.join(", ")
                    ),
                );
                return None;
            }
        }
    }
    Some(bits)
}

fn text<'a>(
    o: &'a Map<String, Value>,
    key: &str,
    p: &mut dyn FnMut(&str, String),
    what: &str,
) -> Option<&'a str> {
    match o.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        Some(v) => {
            p(key, format!("`{key}` = {v}: expected {what}"));
            None
        }
        None => {
            p(key, format!("`{key}` is missing: {what}"));
            None
        }
    }
}

fn command(
    o: &Map<String, Value>,
    names: &LogNames<'_>,
    p: &mut dyn FnMut(&str, String),
) -> Option<Command> {
    let action = text(o, "action", p, "kill, pause, resume, approve or new_build")?;
    let note = o.get("note").and_then(Value::as_str).unwrap_or("logged").to_string();
    let command = match action {
        "kill" => {
            let scope = match (o.get("feature"), o.get("segment")) {
                (None, None) => KillScope::Release,
                (Some(_), None) => {
                    let name = text(o, "feature", p, "a feature's name")?;
                    let f = names.names.features.iter().position(|f| f == name);
                    match f {
                        Some(f) => KillScope::Feature(f),
                        None => {
                            p(
                                "feature",
                                format!(
                                    "`{name}` is not one of the features ({})",
                                    names.names.features.join(", ")
                                ),
                            );
                            return None;
                        }
                    }
                }
                (None, Some(_)) => {
                    let name = text(o, "segment", p, "a segment cell's name")?;
                    match names.names.cells.iter().position(|c| c == name) {
                        Some(c) => KillScope::Segment(c),
                        None => {
                            p(
                                "segment",
                                format!(
                                    "`{name}` is not one of the segment cells ({})",
                                    names.names.cells.join(", ")
                                ),
                            );
                            return None;
                        }
                    }
                }
                (Some(_), Some(_)) => {
                    p("segment", "a kill names a `feature` or a `segment`, not both".to_string());
                    return None;
                }
            };
            Command::Kill { note, scope }
        }
        "pause" => Command::Pause { note },
        "resume" => Command::Resume { note },
        "approve" => {
            let stages = names.policy.stages.len();
            match o.get("stage").and_then(Value::as_u64) {
                Some(s) if (1..=stages as u64).contains(&s) => {
                    Command::Approve { stage: s as usize - 1 }
                }
                _ => {
                    p("stage", format!("`stage`: expected the stage approved, from 1 to {stages}"));
                    return None;
                }
            }
        }
        "new_build" => {
            Command::NewBuild { build: BuildId::new(text(o, "build", p, "the new build's id")?) }
        }
        other => {
            p(
                "action",
                format!(
                    "`action` = \"{other}\": expected kill, pause, resume, approve or new_build"
                ),
            );
            return None;
        }
    };
    Some(command)
}

fn step_result(
    o: &Map<String, Value>,
    policy: &PolicyConfig,
    p: &mut dyn FnMut(&str, String),
) -> Option<StepResult> {
    let steps = policy.rollback.len();
    let step = match o.get("step").and_then(Value::as_u64) {
        Some(s) if (1..=steps as u64).contains(&s) => s as usize - 1,
        _ => {
            p("step", format!("`step`: expected the rollback step's number, from 1 to {steps}"));
            return None;
        }
    };
    let attempt = match o.get("attempt").and_then(Value::as_u64).and_then(|a| u32::try_from(a).ok())
    {
        Some(a) if a >= 1 => a,
        _ => {
            p("attempt", "`attempt`: expected the attempt's number, 1 or more".to_string());
            return None;
        }
    };
    let Some(succeeded) = o.get("succeeded").and_then(Value::as_bool) else {
        p("succeeded", "`succeeded`: expected true or false".to_string());
        return None;
    };
    Some(StepResult { step, attempt, succeeded })
}
