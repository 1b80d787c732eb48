//! The telemetry, read as a stream of windows: what is kept is per player (their key, cell and
//! cohorts), never per row.

use std::borrow::Cow;
use std::io::{BufRead, Read};

use rollcage_harness::telemetry::{Exposure, LogEvent, Window};
use rollcage_model::Minutes;
use rollcage_policy::Cohort;
use rollcage_sim::export::WindowRow;
use serde_json::Value;

use super::row::{Checks, Fields, column_names};
use super::{JsonLine, json_object};
use crate::columns::Column;
use crate::{Format, Names, Problems};

/// A streaming, checking reader of a telemetry file.
pub struct Telemetry<R: Read> {
    source: Source<R>,
    /// What each row is checked against, and the players the rows have named.
    checks: Checks,
    /// Per player: the cohorts they appear in (a bit each), and the serial of the last window
    /// each cohort's row was in (duplicates within a window are refused).
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
            checks: Checks::new(names, exposed),
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
        self.checks.exposed = None;
        self
    }

    /// How many players the rows so far have named.
    pub fn players(&self) -> usize {
        self.checks.players()
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
                        let row = self.checks.row(&fields, line, &mut self.problems);
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
                let row = self.checks.row(&fields, n, &mut self.problems);
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
