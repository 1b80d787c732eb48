//! A table of text cells: the form in which the harness hands every report and saved piece to the
//! binary, which writes it.
//!
//! It sits below both the report tables ([`crate::rows`]) and the runs' figures
//! ([`crate::figures`]), so neither has to reach into the other for it.

/// A header and rows of cells.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    pub header: &'static [&'static str],
    pub rows: Vec<Vec<String>>,
}
