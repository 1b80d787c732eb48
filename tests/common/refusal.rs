//! What the tests of refused input share: a fresh scratch directory, and the check that a command
//! was refused (exit 2, nothing on stdout, every expected phrase on stderr).

use std::path::PathBuf;
use std::process::Output;

/// A fresh, empty scratch directory `name` under the test group `group`.
pub fn scratch(group: &str, name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(group).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Exit 2, nothing on stdout, and stderr holding every one of `needles`.
pub fn refused(output: &Output, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(output.stdout.is_empty(), "{}", String::from_utf8_lossy(&output.stdout));
    for needle in needles {
        assert!(stderr.contains(needle), "`{needle}` not in:\n{stderr}");
    }
}
