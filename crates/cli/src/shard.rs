//! What sharded and resumable work shares: the `--shard I/N` argument, the fingerprint that says a
//! saved piece of work is still valid, and the stamped CSV files those pieces are saved in.
//!
//! A fingerprint covers the rollcage build (the SHA-1 of the running executable, so a rebuilt binary
//! never reuses another's results, and shards from different builds never merge), the exact input
//! text, and every option that changes the results. A piece whose stamp differs is not reused.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sha1::{Digest, Sha1};

use std::io::Write as _;

use anyhow::Context as _;

use crate::write::write_atomically;
use rollcage_report::table::parse_csv;

#[derive(clap::Args, Debug)]
pub struct MergeArgs {
    /// The scenario files or directories the shards simulated (`simulate --shard I/N`).
    #[arg(default_value = "scenarios")]
    pub paths: Vec<PathBuf>,
    /// Merge a sweep's shards (`sweep FILE --shard I/N`) instead: the sweep file they ran.
    #[arg(long, conflicts_with = "paths")]
    pub sweep: Option<PathBuf>,
    /// The shards' output directories (each shard's --out).
    #[arg(long, required = true, num_args = 1..)]
    pub from: Vec<PathBuf>,
    /// Where the merged reports go, as the unsharded command would have written them.
    #[arg(long, default_value = "reports")]
    pub out: PathBuf,
    /// The --runs the shards were given, if any.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=rollcage_model::limits::MAX_RUNS))]
    pub runs: Option<u32>,
}

/// Parses `I/N` (1-based) into `(I, N)`.
pub fn parse_shard(text: &str) -> Result<(u32, u32), String> {
    let bad = || format!("a shard is I/N with 1 <= I <= N, such as 2/8 (got `{text}`)");
    let (i, n) = text.split_once('/').ok_or_else(bad)?;
    let (i, n): (u32, u32) =
        (i.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
    if i == 0 || i > n { Err(bad()) } else { Ok((i, n)) }
}

/// The running rollcage build: the SHA-1 of its executable (its version, if the file can't be
/// read).
fn build_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let exe = std::env::current_exe().and_then(std::fs::read);
        match exe {
            Ok(bytes) => hex(&Sha1::digest(&bytes)),
            Err(_) => env!("CARGO_PKG_VERSION").to_string(),
        }
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The fingerprint of a piece of work: the SHA-1 of this build and `parts`, each part prefixed
/// with its length so that no two lists of parts read alike.
pub fn fingerprint(parts: &[&str]) -> String {
    let mut h = Sha1::new();
    for part in std::iter::once(build_id()).chain(parts.iter().copied()) {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    hex(&h.finalize())
}

/// Writes `header` and `rows` as CSV after a stamp line, atomically. The stamp holds the
/// fingerprint of the work and the SHA-1 of the CSV below it, so that an edited or damaged file
/// is told from the one rollcage saved.
pub fn write_stamped(
    path: &Path,
    fingerprint: &str,
    header: &[&str],
    rows: &[Vec<String>],
) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header)?;
    for row in rows {
        w.write_record(row)?;
    }
    let body = w.into_inner().map_err(|e| e.into_error())?;
    let sum = hex(&Sha1::digest(&body));
    write_atomically(path, |out| {
        writeln!(out, "# fingerprint {fingerprint} sha1 {sum}")?;
        out.write_all(&body)?;
        Ok(())
    })
    .with_context(|| format!("writing {}", path.display()))
}

/// The rows of a file [`write_stamped`] wrote: `Ok(None)` if it is missing or was saved for
/// other work (another fingerprint, or a format from before checksums); an error naming the file
/// if it carries this work's fingerprint but its contents are not what was saved.
pub fn read_stamped(
    path: &Path,
    fingerprint: &str,
    header: &[&str],
) -> Result<Option<Vec<Vec<String>>>, String> {
    let Ok(bytes) = std::fs::read(path) else { return Ok(None) };
    let Some(newline) = bytes.iter().position(|&b| b == b'\n') else { return Ok(None) };
    let (stamp, body) = (&bytes[..newline], &bytes[newline + 1..]);
    let Some((found, sum)) = std::str::from_utf8(stamp)
        .ok()
        .and_then(|s| s.strip_prefix("# fingerprint "))
        .and_then(|s| s.split_once(" sha1 "))
    else {
        return Ok(None);
    };
    if found != fingerprint {
        return Ok(None);
    }
    let edited = || {
        format!(
            "{} was changed after rollcage saved it (its contents do not match the checksum in its \
             first line); delete it to compute that work again",
            path.display()
        )
    };
    if hex(&Sha1::digest(body)) != sum {
        return Err(edited());
    }
    let text = std::str::from_utf8(body).map_err(|_| edited())?;
    let (found, rows) = parse_csv(text).map_err(|_| edited())?;
    if found.iter().eq(header.iter()) { Ok(Some(rows)) } else { Err(edited()) }
}

/// The fingerprint a stamped file carries, if it has one.
pub fn stamp_of(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let stamp = text.lines().next()?.strip_prefix("# fingerprint ")?;
    Some(stamp.split_once(" sha1 ").map_or(stamp, |(f, _)| f).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_bad_ones_are_explained() {
        assert_eq!(parse_shard("2/8"), Ok((2, 8)));
        assert_eq!(parse_shard(" 1 / 1 "), Ok((1, 1)));
        for bad in ["0/4", "5/4", "2", "a/b", "-1/3", ""] {
            assert!(parse_shard(bad).unwrap_err().contains("I/N"), "{bad}");
        }
    }

    #[test]
    fn fingerprints_tell_inputs_apart() {
        assert_eq!(fingerprint(&["a", "b"]), fingerprint(&["a", "b"]));
        assert_ne!(fingerprint(&["a", "b"]), fingerprint(&["ab", ""]));
        assert_ne!(fingerprint(&["a", "b"]), fingerprint(&["a", "c"]));
        assert_ne!(fingerprint(&["12345678"]), fingerprint(&["12345679"]));
        assert!(fingerprint(&[]).bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(fingerprint(&["a"]).len(), 40);
    }

    /// FIPS 180-2, appendix A.1: SHA-1("abc").
    #[test]
    fn hashes_are_written_in_hex() {
        assert_eq!(hex(&Sha1::digest(b"abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
    }
}
