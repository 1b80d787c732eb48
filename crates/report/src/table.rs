//! A table of text cells: the form in which every report and saved piece goes to the binary, which
//! writes it, and in which a CSV text comes back.
//!
//! It sits below both the report tables ([`crate::rows`]) and the runs' figures
//! ([`crate::figures`]), so neither has to reach into the other for it.

/// A header and rows of cells.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    pub header: &'static [&'static str],
    pub rows: Vec<Vec<String>>,
}

/// A CSV text's header and rows.
pub fn parse_csv(text: &str) -> Result<(Vec<String>, Vec<Vec<String>>), csv::Error> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers()?.iter().map(str::to_string).collect();
    let rows = reader
        .records()
        .map(|r| r.map(|r| r.iter().map(str::to_string).collect()))
        .collect::<Result<_, _>>()?;
    Ok((header, rows))
}
