//! rollcage's reports: what a batch means, for the people and pipelines that read it.
//!
//! - [`columns`]: every report column, typed: header, unit and page label in one place.
//! - [`figures`]: what a summary needs of each run, as a table that reads back exactly (a shard
//!   writes it, `rollcage merge` reads it back).
//! - [`summary`]: rates with intervals, quantiles, and the scenario's expectations judged.
//! - [`rows`]: the CSV report tables (`runs.csv`, `stages.csv`, `summary.csv`) and [`sweep`]'s
//!   table, as rows of text cells under their [`table::Table`] headers.
//! - [`explain`]: the human summary of a batch and the timeline of one run.
//! - [`page`]: the visual report, `index.html`, drawn from the CSV reports read back.
//! - [`exit`]: the exit codes, a stable interface.
//!
//! It does no IO: the command line reads and writes the files.

pub mod columns;
pub mod exit;
pub mod explain;
pub mod figures;
pub mod page;
pub mod rows;
pub mod summary;
pub mod sweep;
pub mod table;

pub use summary::Summary;
