//! No panic reaches a user as a Rust panic. A panic is a bug in rollcage, never in the user's
//! input: instead of the runtime's "thread ... panicked at" line and a backtrace, the user reads
//! what rollcage was doing, that it is a bug, and what reproduces it, and the process exits with
//! its own code ([`crate::exit::INTERNAL`]). A run's panic inside a batch is caught there and
//! reported with the run's seed among the other runs' results.

use std::sync::Mutex;

/// What rollcage is doing, in words that complete "while ...".
static DOING: Mutex<String> = Mutex::new(String::new());
/// Where the last panic happened.
static LOCATION: Mutex<Option<String>> = Mutex::new(None);

/// Replaces the runtime's panic report with a note of where the panic happened, for [`report`].
pub fn install() {
    std::panic::set_hook(Box::new(|info| {
        let location = info.location().map(|l| format!("{} line {}", l.file(), l.line()));
        *LOCATION.lock().unwrap_or_else(|e| e.into_inner()) = location;
    }));
}

/// Says what rollcage is doing now, for a report of a panic.
pub fn doing(what: impl Into<String>) {
    *DOING.lock().unwrap_or_else(|e| e.into_inner()) = what.into();
}

/// Reports a panic that reached the command's top.
pub fn report(payload: &(dyn std::any::Any + Send)) {
    let doing = DOING.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let location = LOCATION.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let message = rollcage_harness::batch::panic_message(payload);
    eprintln!("internal error while {doing}: {message}");
    if let Some(location) = location {
        eprintln!("  (in {location})");
    }
    eprintln!(
        "This is a bug in rollcage, not in your input. Please report it with the command line \
         above: the same command and files reproduce it exactly."
    );
}

/// Lets a closed pipe end the process quietly, as it ends any command-line tool
/// (`rollcage explain ... | head`), instead of panicking on the next print.
pub fn quiet_broken_pipe() {
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE at the start of main, before any
    // other thread exists, is what C programs get by default; no handler is involved.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
