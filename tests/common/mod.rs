//! What the binary's end-to-end tests share.

use std::process::{Command, Output};

/// The rollcage binary, to run from the project's root (where `tests/fixtures` and the shipped
/// scenarios are).
pub fn command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rollcage"));
    command.current_dir(env!("CARGO_MANIFEST_DIR"));
    command
}

/// `rollcage ARGS`, run to its end.
pub fn rollcage(args: &[&str]) -> Output {
    command().args(args).output().expect("rollcage runs")
}
