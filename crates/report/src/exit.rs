//! Exit codes, a stable interface (documented in README.md).

/// Every scenario held.
pub const HELD: u8 = 0;
/// An oracle was violated or an expectation was not met.
pub const FAILED: u8 = 1;
/// Bad input or usage; nothing was simulated.
pub const BAD_INPUT: u8 = 2;
/// An internal error, a bug in rollcage: a run panicked (reported with its seed; the other runs
/// still reported), or the command itself did (reported with what it was doing).
pub const INTERNAL: u8 = 3;
/// Stopped by Ctrl-C (or SIGTERM); what finished is saved, and the same command resumes.
pub const INTERRUPTED: u8 = 130;
