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
/// `judge`: the rollout is to pause (a guardrail, an operator, or data too late or too skewed to
/// judge), or it did otherwise than its policy decided.
pub const JUDGE_PAUSE: u8 = 4;
/// `judge`: the build, a feature or a segment is to be killed (or was, and is rolling back).
pub const JUDGE_KILL: u8 = 5;
/// Stopped by Ctrl-C (or SIGTERM); what finished is saved, and the same command resumes.
pub const INTERRUPTED: u8 = 130;
