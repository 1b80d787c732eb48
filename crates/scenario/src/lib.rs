//! Scenario files: TOML in, a validated [`Scenario`] out, or every problem at once.
//!
//! The format is declared once, in [`spec`]: the loader checks a file against the declarations
//! (unknown keys, missing keys, types, bounds and rollcage's limits), then builds the domain types
//! and checks what involves several values (stage order, holdback plus stages above 100%, shares
//! that do not sum to 1, operator events after the run ends, approvals nobody gives, ...). Each
//! problem is a [`Diagnostic`] with its line and column and a sentence saying what to fix.
//! [`schema`] prints the same declarations as a JSON Schema.

mod load;
mod reader;
pub mod schema;
pub mod spec;
pub mod sweep;

use std::ops::Range;

pub use rollcage_harness::Scenario;
use toml::de::DeTable;

use crate::reader::{Obj, Reader};

/// One problem in a scenario file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// Byte range in the source.
    pub span: Range<usize>,
    pub message: String,
}

impl Diagnostic {
    pub(crate) fn at(source: &str, span: Range<usize>, message: String) -> Diagnostic {
        let start = span.start.min(source.len());
        let before = &source[..start];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = source[line_start..start].chars().count() + 1;
        Diagnostic { line, column, span, message }
    }

    /// `path:line:column: message`, the source line, and a caret under the problem.
    pub fn render(&self, path: &str, source: &str) -> String {
        let text = source.lines().nth(self.line - 1).unwrap_or("");
        let width = source
            .get(self.span.clone())
            .map_or(1, |s| s.lines().next().unwrap_or("").chars().count().max(1));
        let width = width.min(text.chars().count().saturating_sub(self.column - 1).max(1));
        format!(
            "{path}:{}:{}: {}\n{:>5} | {text}\n      | {}{}",
            self.line,
            self.column,
            self.message,
            self.line,
            " ".repeat(self.column - 1),
            "^".repeat(width)
        )
    }
}

/// Loads a scenario from its TOML text, or returns every problem found, in file order.
pub fn load(source: &str) -> Result<Scenario, Vec<Diagnostic>> {
    let mut reader = Reader::new(source);
    let (doc, errors) = DeTable::parse_recoverable(source);
    if !errors.is_empty() {
        for e in errors {
            let span = e.span().unwrap_or(0..0);
            let message = format!("this is not valid TOML: {}", e.message());
            if !reader.diagnostics.iter().any(|d| d.span == span && d.message == message) {
                reader.error(span, message);
            }
        }
        return Err(reader.diagnostics);
    }
    let span = doc.span();
    reader.check(&spec::SCENARIO, doc.get_ref(), span.clone());
    let scenario = load::scenario(&mut reader, &Obj::new(&spec::SCENARIO, doc.get_ref(), span));
    let mut diagnostics = reader.diagnostics;
    if diagnostics.is_empty() {
        return Ok(scenario.expect("a scenario without problems builds"));
    }
    diagnostics.sort_by_key(|d| (d.span.start, d.span.end));
    diagnostics.dedup();
    Err(diagnostics)
}
