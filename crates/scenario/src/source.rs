//! Reading an input file's text: bounded in size, and UTF-8, or refused with the place of the
//! first byte that is not.

use std::io::Read;
use std::path::Path;

use crate::spec::MAX_FILE_BYTES;

/// The text of the scenario or sweep file at `path`, or a sentence that names the file and says
/// what is wrong: it cannot be read, it is larger than [`MAX_FILE_BYTES`], or it is not UTF-8 (with
/// the line, column and byte offset of the first bad byte). Reads at most one byte past the bound.
pub fn read(path: &Path) -> Result<String, String> {
    let shown = path.display();
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!(
            "{shown} is larger than {} KiB, rollcage's bound for a scenario or sweep file; is it the \
             file you meant?",
            MAX_FILE_BYTES / 1024
        ));
    }
    text(bytes).map_err(|problem| format!("{shown}:{problem}"))
}

/// The bytes as text, or `line:column: what is wrong` for the first byte that is not UTF-8.
fn text(bytes: Vec<u8>) -> Result<String, String> {
    let wide = bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]);
    match String::from_utf8(bytes) {
        Ok(text) => Ok(text),
        Err(e) => {
            let bytes = e.as_bytes();
            let at = e.utf8_error().valid_up_to();
            let good = std::str::from_utf8(&bytes[..at]).expect("valid up to here");
            let line = good.matches('\n').count() + 1;
            let column = good[good.rfind('\n').map_or(0, |i| i + 1)..].chars().count() + 1;
            let what = if wide {
                "the file is UTF-16 (it starts with a UTF-16 byte-order mark); save it as UTF-8"
                    .to_string()
            } else {
                format!(
                    "byte 0x{:02X} at offset {at} is not UTF-8 text; a scenario file is UTF-8 \
                     TOML (is this a binary file, or one saved in another encoding?)",
                    bytes[at]
                )
            };
            Err(format!("{line}:{column}: {what}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::text;

    #[test]
    fn the_first_bad_byte_is_located() {
        let bytes = b"name = \"x\"\nseed = 1\nnote = \"caf\xE9\"\n".to_vec();
        let problem = text(bytes).unwrap_err();
        assert!(problem.starts_with("3:12: byte 0xE9 at offset 31 is not UTF-8"), "{problem}");
    }

    #[test]
    fn utf16_is_named() {
        let bytes: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("name".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let problem = text(bytes).unwrap_err();
        assert!(problem.starts_with("1:1: the file is UTF-16"), "{problem}");
    }

    #[test]
    fn utf8_passes() {
        assert_eq!(text("a = \"é\"\n".as_bytes().to_vec()).unwrap(), "a = \"é\"\n");
    }
}
