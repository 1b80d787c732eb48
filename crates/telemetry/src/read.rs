//! Reading telemetry and rollout logs, checked: every problem is reported with its line and
//! column and what was expected, and a file with any problem is refused whole.
//!
//! The telemetry is read as a stream, one window at a time ([`Telemetry::next_window`]): what it
//! keeps is per player (their key, cell and cohorts), never per row.

use std::borrow::Cow;
use std::io::{BufRead, Read};

use rollcage_harness::telemetry::{Exposure, LogEvent, Window};
use rollcage_model::{BuildId, Command, KillScope, Minutes, PolicyConfig, Share};
use rollcage_policy::{Cohort, StepResult};
use rollcage_sim::export::WindowRow;
use rollcage_sim::sums::{ReturnTotals, SessionTotals};
use rollcage_stats::rank::BINS;
use serde_json::{Map, Value};

use crate::columns::Column;
use crate::{Format, Names, Problems};

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

// ------------------------------------------------------------------------------------------------
// The rollout log

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

// ------------------------------------------------------------------------------------------------
// The telemetry

/// A streaming, checking reader of a telemetry file.
pub struct Telemetry<R: Read> {
    source: Source<R>,
    names: Names,
    /// Every build an exposure of the log names, with when it was first exposed; `None` accepts
    /// any build (telemetry read without its log).
    exposed: Option<Vec<(Minutes, BuildId)>>,
    /// Player keys, numbered in the order they first appear. Looked up, never iterated.
    #[allow(clippy::disallowed_types)]
    players: std::collections::HashMap<Box<str>, u32>,
    /// Per player: their cell, the cohorts they appear in (a bit each), and the serial of the last
    /// window each cohort's row was in (duplicates within a window are refused).
    cells: Vec<Option<u8>>,
    cohorts: Vec<u8>,
    last_row: Vec<[u32; Cohort::COUNT]>,
    /// The window being gathered, its serial, and the line it began on.
    current: Option<Window>,
    serial: u32,
    pub problems: Problems,
    /// Rows read.
    pub rows: u64,
}

enum Source<R: Read> {
    Csv { reader: csv::Reader<R>, columns: Vec<Option<usize>>, record: csv::StringRecord },
    Json { lines: std::io::Lines<std::io::BufReader<R>>, line: u64 },
}

/// One row's fields: the text of a column and its 1-based column on the line.
trait Fields {
    fn get(&self, column: Column) -> Option<(Cow<'_, str>, u64)>;
}

struct CsvFields<'a> {
    record: &'a csv::StringRecord,
    /// Each column's field, by the column's number in [`Column::ALL`].
    columns: &'a [Option<usize>],
}

impl Fields for CsvFields<'_> {
    fn get(&self, column: Column) -> Option<(Cow<'_, str>, u64)> {
        let i = self.columns[column as usize]?;
        let range = self.record.range(i)?;
        Some((Cow::Borrowed(&self.record[i]), range.start as u64 + i as u64 + 1))
    }
}

impl Fields for JsonLine<'_> {
    fn get(&self, column: Column) -> Option<(Cow<'_, str>, u64)> {
        let value = self.object.get(column.name())?;
        let text = match value {
            Value::String(s) => Cow::Borrowed(s.as_str()),
            Value::Null => Cow::Borrowed(""),
            other => Cow::Owned(other.to_string()),
        };
        Some((text, self.column_of(column.name())))
    }
}

impl<R: Read> Telemetry<R> {
    /// A reader of `input` in `format`. `log` is the rollout log the telemetry goes with: a
    /// treatment row must name a build it exposed by then.
    pub fn new(input: R, format: Format, names: Names, log: &[LogEvent]) -> Telemetry<R> {
        let mut problems = Problems::default();
        let source = match format {
            Format::Csv => {
                let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(input);
                let mut columns = Vec::new();
                match reader.headers() {
                    Ok(header) => {
                        let mut at = 1;
                        for name in header {
                            match Column::by_name(name) {
                                Some(c) if columns.contains(&c) => {
                                    problems.push(1, at, format!("column `{name}` appears twice"))
                                }
                                Some(c) => columns.push(c),
                                None => problems.push(
                                    1,
                                    at,
                                    format!(
                                        "unknown column `{name}`: the columns are {}",
                                        column_names()
                                    ),
                                ),
                            }
                            at += name.chars().count() as u64 + 1;
                        }
                        for c in Column::ALL.iter().filter(|c| c.required() && !columns.contains(c))
                        {
                            problems.push(
                                1,
                                1,
                                format!("the header lacks the required column `{}`", c.name()),
                            );
                        }
                    }
                    Err(e) => problems.push(1, 1, format!("the header cannot be read: {e}")),
                }
                let mut fields = vec![None; Column::ALL.len()];
                for (i, &c) in columns.iter().enumerate() {
                    fields[c as usize] = Some(i);
                }
                Source::Csv { reader, columns: fields, record: csv::StringRecord::new() }
            }
            Format::JsonLines => {
                Source::Json { lines: std::io::BufReader::new(input).lines(), line: 0 }
            }
        };
        let exposed = Some(
            log.iter()
                .filter_map(|e| match e {
                    LogEvent::Exposure { at, exposure: Exposure { build: Some(b), .. } } => {
                        Some((*at, b.clone()))
                    }
                    _ => None,
                })
                .collect(),
        );
        Telemetry {
            source,
            names,
            exposed,
            players: Default::default(),
            cells: Vec::new(),
            cohorts: Vec::new(),
            last_row: Vec::new(),
            current: None,
            serial: 0,
            problems,
            rows: 0,
        }
    }

    /// The same reader, for telemetry without its rollout log: a row may name any build.
    pub fn any_build(mut self) -> Self {
        self.exposed = None;
        self
    }

    /// How many players the rows so far have named.
    pub fn players(&self) -> usize {
        self.players.len()
    }

    /// The next window, whole; `None` at the end of the file. Problems found on the way are
    /// added to [`Telemetry::problems`].
    pub fn next_window(&mut self) -> Option<Window> {
        loop {
            let Some((line, row)) = self.next_row() else {
                return self.current.take();
            };
            let Some((start, end, row)) = row else { continue };
            let current = self.current.as_ref().map(|w| (w.start, w.end));
            match current {
                Some(window) if window == (start, end) => {
                    self.check_cross(line, &row);
                    self.current.as_mut().expect("a window under way").rows.push(row);
                }
                Some((ws, we)) if start < we => {
                    self.problems.push(line, 1, format!("window {}-{} overlaps or comes before window {}-{} above: windows must come in time order, without overlap", start.0, end.0, ws.0, we.0));
                }
                _ => {
                    self.serial += 1;
                    self.check_cross(line, &row);
                    let next = Window { start, end, rows: vec![row] };
                    if let Some(done) = self.current.replace(next) {
                        return Some(done);
                    }
                }
            }
        }
    }

    /// The next row and its line: `None` at the end; `Some((line, None))` for a row with problems.
    #[allow(clippy::type_complexity)]
    fn next_row(&mut self) -> Option<(u64, Option<(Minutes, Minutes, WindowRow)>)> {
        match &mut self.source {
            Source::Csv { reader, columns, record } => {
                match reader.read_record(record) {
                    Ok(false) => None,
                    Ok(true) => {
                        let line = record.position().map_or(0, |p| p.line());
                        self.rows += 1;
                        let fields = CsvFields { record, columns };
                        let row = parse_row(
                            &fields,
                            line,
                            &self.names,
                            self.exposed.as_deref(),
                            &mut self.players,
                            &mut self.cells,
                            &mut self.problems,
                        );
                        Some((line, row))
                    }
                    Err(e) => {
                        let line = e.position().map_or(0, |p| p.line());
                        self.problems.push(line, 1, format!("not a CSV row: {e}"));
                        // A broken row: go on with the next, unless the input itself failed.
                        if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                            None
                        } else {
                            Some((line, None))
                        }
                    }
                }
            }
            Source::Json { lines, line } => loop {
                *line += 1;
                let n = *line;
                let text = match lines.next()? {
                    Ok(t) => t,
                    Err(e) => {
                        self.problems.push(n, 1, format!("the file cannot be read: {e}"));
                        return None;
                    }
                };
                if text.trim().is_empty() {
                    continue;
                }
                self.rows += 1;
                let object = match json_object(&text) {
                    Ok(o) => o,
                    Err((column, message)) => {
                        self.problems.push(n, column, message);
                        return Some((n, None));
                    }
                };
                let fields = JsonLine { line: &text, object };
                for key in fields.object.keys() {
                    if Column::by_name(key).is_none() {
                        self.problems.push(
                            n,
                            fields.column_of(key),
                            format!("unknown field `{key}`: the fields are {}", column_names()),
                        );
                    }
                }
                let row = parse_row(
                    &fields,
                    n,
                    &self.names,
                    self.exposed.as_deref(),
                    &mut self.players,
                    &mut self.cells,
                    &mut self.problems,
                );
                return Some((n, row));
            },
        }
    }

    /// The checks across rows: one row per player and cohort in a window, and no player both in
    /// the holdback and given the build.
    fn check_cross(&mut self, line: u64, row: &WindowRow) {
        let p = row.player as usize;
        if p >= self.cohorts.len() {
            self.cohorts.resize(p + 1, 0);
            self.last_row.resize(p + 1, [0; Cohort::COUNT]);
        }
        let c = row.cohort.index();
        if self.last_row[p][c] == self.serial {
            self.problems.push(
                line,
                1,
                format!(
                    "a second row for this player in the {} cohort in one window",
                    row.cohort.name()
                ),
            );
        }
        self.last_row[p][c] = self.serial;
        self.cohorts[p] |= 1 << c;
        let both = (1 << Cohort::Treatment.index()) | (1 << Cohort::Holdback.index());
        if self.cohorts[p] & both == both && row.cohort != Cohort::Unexposed {
            self.problems.push(line, 1, "this player is in both the holdback and the treatment: a holdback player never receives the build".to_string());
        }
    }
}

fn column_names() -> String {
    Column::ALL.iter().map(|c| c.name()).collect::<Vec<_>>().join(", ")
}

/// Parses and checks one row; `None` when it has a problem (each is reported).
#[allow(clippy::disallowed_types, clippy::too_many_arguments)]
fn parse_row(
    f: &dyn Fields,
    line: u64,
    names: &Names,
    exposed: Option<&[(Minutes, BuildId)]>,
    players: &mut std::collections::HashMap<Box<str>, u32>,
    cells: &mut Vec<Option<u8>>,
    problems: &mut Problems,
) -> Option<(Minutes, Minutes, WindowRow)> {
    let before = problems.listed.len() as u64 + problems.more;
    let mut p = |column: u64, message: String| problems.push(line, column, message);
    let mut number = |c: Column, max: u128| -> u128 {
        match f.get(c) {
            None => {
                if c.required() {
                    p(1, format!("`{}` is missing", c.name()));
                }
                0
            }
            Some((text, col)) if text.is_empty() && !c.required() => {
                let _ = col;
                0
            }
            // Most numbers fit 64 bits; only sums of squares may need more.
            Some((text, col)) => match text
                .parse::<u64>()
                .map(u128::from)
                .or_else(|_| text.parse::<u128>())
            {
                Ok(v) if v <= max => v,
                _ => {
                    p(
                        col,
                        format!("`{}` = {text}: expected a whole number from 0 to {max}", c.name()),
                    );
                    0
                }
            },
        }
    };
    let start = number(Column::WindowStart, u128::from(u32::MAX)) as u32;
    let end = number(Column::WindowEnd, u128::from(u32::MAX)) as u32;
    let count = u128::from(u32::MAX);
    let sum = i64::MAX as u128;
    let square = i128::MAX as u128;
    let sessions = SessionTotals {
        sessions: number(Column::Sessions, count) as u32,
        crashes: number(Column::Crashes, count) as u32,
        save_errors: number(Column::SaveErrors, count) as u32,
        latency_us: number(Column::LatencyUs, sum) as i64,
        coins: number(Column::Coins, sum) as i64,
    };
    let squares =
        [number(Column::LatencyUsSq, square) as i128, number(Column::CoinsSq, square) as i128];
    let returns = ReturnTotals {
        outcomes: number(Column::ReturnOutcomes, count) as u32,
        returned: number(Column::Returned, count) as u32,
    };
    let assigned = number(Column::Assigned, 1) == 1;
    let mut p = |column: u64, message: String| problems.push(line, column, message);
    let text = |c: Column| f.get(c);
    if end <= start && f.get(Column::WindowEnd).is_some() {
        let col = f.get(Column::WindowEnd).map_or(1, |(_, c)| c);
        p(col, format!("the window ends at {end}, not after its start at {start}"));
    }
    let cohort = match text(Column::Cohort) {
        Some((name, col)) => match Cohort::ALL.iter().find(|c| c.name() == name) {
            Some(&c) => Some(c),
            None => {
                p(col, format!("`cohort` = \"{name}\": expected treatment, holdback or unexposed"));
                None
            }
        },
        None => {
            p(1, "`cohort` is missing".to_string());
            None
        }
    };
    let cell = match text(Column::Cell) {
        Some((name, col)) => match names.cells.iter().position(|c| *c == name) {
            Some(c) => Some(c as u8),
            None => {
                p(
                    col,
                    format!(
                        "`cell` = \"{name}\": expected one of the policy's segment cells ({})",
                        names.cells.join(", ")
                    ),
                );
                None
            }
        },
        None => {
            p(1, "`cell` is missing".to_string());
            None
        }
    };
    for (part, whole, c) in [
        (sessions.crashes, sessions.sessions, Column::Crashes),
        (sessions.save_errors, sessions.sessions, Column::SaveErrors),
        (returns.returned, returns.outcomes, Column::Returned),
    ] {
        if part > whole {
            let col = f.get(c).map_or(1, |(_, c)| c);
            p(col, format!("`{}` = {part} is more than the {whole} it counts among", c.name()));
        }
    }
    let mut latency_bins = Vec::new();
    if let Some((text, col)) = f.get(Column::LatencyBins).filter(|(t, _)| !t.is_empty()) {
        let mut total = 0u64;
        for pair in text.split_whitespace() {
            let parsed = pair
                .split_once(':')
                .and_then(|(b, n)| Some((b.parse::<u16>().ok()?, n.parse::<u32>().ok()?)));
            match parsed {
                Some((b, n))
                    if usize::from(b) < BINS
                        && latency_bins.last().is_none_or(|&(last, _)| last < b) =>
                {
                    latency_bins.push((b, n));
                    total += u64::from(n);
                }
                _ => {
                    p(
                        col,
                        format!(
                            "`latency_bins`: `{pair}` is not a bin:count pair with the bin from 0 to {} and the bins in increasing order",
                            BINS - 1
                        ),
                    );
                    break;
                }
            }
        }
        if total != u64::from(sessions.sessions)
            && latency_bins.len() == text.split_whitespace().count()
        {
            p(
                col,
                format!("`latency_bins` counts {total} sessions, the row {}", sessions.sessions),
            );
        }
    }
    let build = match text(Column::Build) {
        Some((b, _)) if b.is_empty() => 0,
        None => 0,
        Some((_, _)) if exposed.is_none() => 1,
        Some((b, col)) => {
            let exposed = exposed.unwrap_or_default();
            match exposed.iter().position(|(at, id)| id.as_str() == b && at.0 <= start) {
                // The first exposure of the build, counted from 1: enough for the judge, which
                // only asks whether a row names a new build.
                Some(i) => u16::try_from(i + 1).unwrap_or(u16::MAX),
                None => {
                    p(
                        col,
                        format!(
                            "`build` = \"{b}\" was not exposed by the rollout log by minute {start}"
                        ),
                    );
                    0
                }
            }
        }
    };
    if cohort == Some(Cohort::Treatment)
        && sessions.sessions > 0
        && build == 0
        && text(Column::Build).is_none_or(|(b, _)| b.is_empty())
    {
        let col = f.get(Column::Build).map_or(1, |(_, c)| c);
        p(col, "a treatment row with sessions needs the `build` they ran".to_string());
    }
    let player = match text(Column::Player) {
        Some((key, col)) if key.is_empty() => {
            p(col, "`player` is empty: expected the player's key".to_string());
            None
        }
        Some((key, _)) => match players.get(key.as_ref()) {
            Some(&known) => Some(known),
            None => {
                let next = players.len() as u32;
                players.insert(key.into_owned().into_boxed_str(), next);
                Some(next)
            }
        },
        None => {
            p(1, "`player` is missing".to_string());
            None
        }
    };
    if let (Some(player), Some(cell)) = (player, cell) {
        let i = player as usize;
        if i >= cells.len() {
            cells.resize(i + 1, None);
        }
        match cells[i] {
            None => cells[i] = Some(cell),
            Some(known) if known != cell => {
                let col = f.get(Column::Cell).map_or(1, |(_, c)| c);
                p(
                    col,
                    format!(
                        "this player's rows name two cells, `{}` and `{}`: a player is in one cell",
                        names.cells[usize::from(known)],
                        names.cells[usize::from(cell)]
                    ),
                );
            }
            Some(_) => {}
        }
    }
    if problems.listed.len() as u64 + problems.more != before {
        return None;
    }
    let row = WindowRow {
        player: player?,
        cohort: cohort?,
        cell: cell?,
        build,
        assigned,
        sessions,
        squares,
        returns,
        latency_bins,
    };
    Some((Minutes(start), Minutes(end), row))
}
