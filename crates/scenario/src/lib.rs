//! Scenario files: TOML in, a validated [`Scenario`] out, or every problem at once.
//!
//! The format is declared once, in [`spec`]: the loader checks a file against the declarations
//! (unknown keys, missing keys, types, bounds and rollcage's limits), then builds the domain types
//! and checks what involves several values (stage order, holdback plus stages above 100%, shares
//! that do not sum to 1, operator events after the run ends, approvals nobody gives, ...). Each
//! problem is a [`Diagnostic`] with its line and column and a sentence saying what to fix.
//! [`schema`] prints the same declarations as a JSON Schema.

mod diagnostic;
mod load;
mod reader;
pub mod schema;
pub mod source;
pub mod spec;
pub mod sweep;

pub use diagnostic::{Diagnostic, Label};
pub use rollcage_model::Scenario;
use toml::de::DeTable;

use crate::reader::{Obj, Reader};

/// Loads a scenario from its TOML text, or returns every problem found, in file order.
pub fn load(source: &str) -> Result<Scenario, Vec<Diagnostic>> {
    let mut reader = Reader::new();
    let (doc, errors) = DeTable::parse_recoverable(source);
    if !errors.is_empty() {
        for e in errors {
            let span = e.span().unwrap_or_else(|| unlocated(source));
            let problem = Diagnostic::new(span, format!("this is not valid TOML: {}", e.message()));
            reader.report(if e.message().contains("recurs") {
                problem.help(format!(
                    "tables, arrays and dotted keys nest at most {} deep",
                    spec::MAX_NESTING
                ))
            } else {
                problem
            });
        }
        return Err(diagnostic::locate(source, reader.diagnostics));
    }
    let span = doc.span();
    reader.check(&spec::SCENARIO, doc.get_ref(), span.clone());
    let scenario = load::scenario(&mut reader, &Obj::new(&spec::SCENARIO, doc.get_ref(), span));
    if reader.diagnostics.is_empty() {
        return Ok(scenario.expect("a scenario without problems builds"));
    }
    Err(diagnostic::locate(source, reader.diagnostics))
}

/// Where a TOML error the parser gives no place for is: its only such error is a key nested
/// deeper than it follows (`a.b.c...` with [`spec::MAX_NESTING`] parts or more), so this is the
/// first line holding such a key, or the start of the file.
pub(crate) fn unlocated(source: &str) -> std::ops::Range<usize> {
    let mut start = 0;
    for line in source.split_inclusive('\n') {
        let key = line.split('=').next().unwrap_or(line);
        if key.matches('.').count() + 1 >= spec::MAX_NESTING {
            return start..start + line.trim_end().len();
        }
        start += line.len();
    }
    0..0
}
