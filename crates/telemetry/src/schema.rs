//! The telemetry's rows and the rollout log's events as JSON Schemas (draft 2020-12), from the
//! same definitions the reader checks against.

use serde_json::{Map, Value, json};

use crate::columns::Column;

/// A JSON Lines telemetry row (a CSV row has the same columns, in a header).
pub fn row() -> Value {
    let mut properties = Map::new();
    for &c in Column::ALL {
        let kind = match c {
            Column::Player | Column::Cell | Column::Build | Column::LatencyBins => {
                json!({ "type": "string" })
            }
            Column::Cohort => json!({ "enum": ["treatment", "holdback", "unexposed"] }),
            Column::Assigned => json!({ "type": "integer", "minimum": 0, "maximum": 1 }),
            _ => json!({ "type": "integer", "minimum": 0 }),
        };
        let mut kind = kind;
        kind["description"] = json!(c.doc());
        properties.insert(c.name().to_string(), kind);
    }
    let required: Vec<&str> =
        Column::ALL.iter().filter(|c| c.required()).map(|c| c.name()).collect();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "rollcage telemetry row",
        "description": "One player's reports in one cohort during one telemetry window (docs/telemetry.md).",
        "type": "object",
        "additionalProperties": false,
        "required": required,
        "properties": properties,
    })
}

/// A rollout log event.
pub fn log() -> Value {
    let minutes = |doc: &str| json!({ "type": "integer", "minimum": 0, "description": doc });
    let event = |name: &str, doc: &str, required: &[&str], properties: Value| {
        let mut props = properties;
        props["at"] =
            minutes("When, in whole minutes since the rollout began; events come in time order.");
        props["event"] = json!({ "const": name });
        let mut req = vec!["at", "event"];
        req.extend_from_slice(required);
        json!({
            "description": doc,
            "type": "object",
            "additionalProperties": false,
            "required": req,
            "properties": props,
        })
    };
    let names =
        |doc: &str| json!({ "type": "array", "items": { "type": "string" }, "description": doc });
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "rollcage rollout log event",
        "description": "One line of a rollout log (docs/telemetry.md).",
        "oneOf": [
            event("exposure", "The flags changed: a new exposure begins and the telemetry's sums start over.", &[], json!({
                "build": { "type": ["string", "null"], "description": "The exposed build, or null when nothing is." },
                "share_percent": { "type": "number", "minimum": 0, "maximum": 100, "description": "The share of eligible players exposed, in percent (hundredths at most)." },
                "everyone": { "type": "boolean", "description": "Released: the holdback receives the build too." },
                "killed_features": names("Features switched off, by name."),
                "killed_cells": names("Segment cells sent back to the old build, by name."),
            })),
            event("kill", "The release was killed: its rollback plan begins.", &[], json!({})),
            event("look", "The policy looked at the telemetry.", &["data_until"], json!({
                "data_until": minutes("The telemetry was complete up to this minute: the look's own when fresh, an earlier one when late."),
            })),
            event("command", "An operator command, as a scenario's [[operator]] writes it.", &["action"], json!({
                "action": { "enum": ["kill", "pause", "resume", "approve", "new_build"] },
                "note": { "type": "string" },
                "feature": { "type": "string", "description": "A kill of one feature." },
                "segment": { "type": "string", "description": "A kill for one segment cell." },
                "stage": { "type": "integer", "minimum": 1, "description": "The stage an approval approves." },
                "build": { "type": "string", "description": "The build a new_build resumes with." },
            })),
            event("step_result", "A rollback step attempt ended.", &["step", "attempt", "succeeded"], json!({
                "step": { "type": "integer", "minimum": 1, "description": "The step's number in the policy's rollback plan." },
                "attempt": { "type": "integer", "minimum": 1 },
                "succeeded": { "type": "boolean" },
            })),
        ],
    })
}
