//! Ctrl-C (and SIGTERM, as a batch engine sends to stop a job): the first asks the long command
//! under way to stop at its next safe point, after saving what is finished; the second stops at
//! once, removing the temporary files of the writes under way. Reports are written by renaming
//! complete temporary files, so neither leaves a half-written one.

use std::sync::atomic::{AtomicU8, Ordering};

use crate::exit;

/// Presses so far.
static PRESSES: AtomicU8 = AtomicU8::new(0);

fn on_press() {
    if PRESSES.fetch_add(1, Ordering::SeqCst) == 0 {
        eprintln!("\nstopping once the work under way is saved (Ctrl-C again to stop now)");
    } else {
        crate::write::abandon_writes();
        eprintln!("\nstopped; run the same command again to resume");
        std::process::exit(i32::from(exit::INTERRUPTED));
    }
}

/// Installs the handler. (It may already be installed when the command line runs twice in one
/// process, as in tests; that one is the same.)
pub fn install() {
    let _ = ctrlc::set_handler(on_press);
}

/// Whether the user asked to stop.
pub fn requested() -> bool {
    PRESSES.load(Ordering::SeqCst) > 0
}
