//! Reading telemetry and rollout logs, checked: every problem is reported with its line and
//! column and what was expected, and a file with any problem is refused whole.
//!
//! The telemetry is read as a stream, one window at a time ([`Telemetry::next_window`]): what it
//! keeps is per player (their key, cell and cohorts), never per row.

//!
//! `log` reads the rollout log; `rows` reads the telemetry window by window and checks rows
//! against each other and the log; `row` parses and checks one row.

mod log;
mod row;
mod rows;

pub use log::{LogNames, log};
pub use rows::Telemetry;

use serde_json::{Map, Value};

/// The fields of one JSON object, with where each key is on its line.
struct JsonLine<'a> {
    line: &'a str,
    object: Map<String, Value>,
}

impl JsonLine<'_> {
    /// The 1-based column of `key` on the line (of the line's start if it is not written).
    fn column_of(&self, key: &str) -> u64 {
        let quoted = format!("\"{key}\"");
        self.line.find(&quoted).map_or(1, |at| self.line[..at].chars().count() as u64 + 1)
    }
}

/// Parses a line as a JSON object, or says why not.
fn json_object(line: &str) -> Result<Map<String, Value>, (u64, String)> {
    match serde_json::from_str::<Value>(line) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err((1, "expected a JSON object, {...}".to_string())),
        Err(e) => Err((e.column() as u64, format!("not JSON: {e}"))),
    }
}
