//! The loader on arbitrary damage to a real scenario: it never panics, every problem it reports
//! lies in the text at the line and column it names, and every problem renders. Bounded (256
//! cases of a few edits each) so it runs in every `cargo test`.

use proptest::prelude::*;
use rollcage_scenario::{Diagnostic, load};

const FIXTURE: &str = include_str!("../../../tests/fixtures/small-severe.toml");

/// Pieces a damaged file is made of: TOML punctuation, keys and values of the format, and bytes
/// that are not ASCII.
const PIECES: &[&str] = &[
    "[",
    "]",
    "[[",
    "]]",
    "=",
    "\"",
    "'",
    ",",
    "{",
    "}",
    ".",
    "\n",
    "#",
    " ",
    "0",
    "-1",
    "1e400",
    "nan",
    "inf",
    "true",
    "99999999999999999999",
    "players",
    "percent",
    "holdback_percent",
    "method",
    "\"msprt\"",
    "[policy]",
    "[[policy.stages]]",
    "[[operator]]",
    "é",
    "\u{2028}",
    "\t",
    "\\u0000",
];

#[derive(Clone, Debug)]
enum Edit {
    Insert(usize, usize),
    Delete(usize, usize),
    DropLine(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 0..PIECES.len()).prop_map(|(at, piece)| Edit::Insert(at, piece)),
        (any::<usize>(), 1usize..40).prop_map(|(at, len)| Edit::Delete(at, len)),
        any::<usize>().prop_map(Edit::DropLine),
    ]
}

fn boundary(text: &str, at: usize) -> usize {
    let mut at = at % (text.len() + 1);
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn damage(edits: &[Edit]) -> String {
    let mut text = FIXTURE.to_string();
    for e in edits {
        match *e {
            Edit::Insert(at, piece) => {
                let at = boundary(&text, at);
                text.insert_str(at, PIECES[piece]);
            }
            Edit::Delete(at, len) => {
                let from = boundary(&text, at);
                let to = boundary(&text, (from + len).min(text.len()));
                text.replace_range(from..to.max(from), "");
            }
            Edit::DropLine(n) => {
                let lines: Vec<&str> = text.lines().collect();
                let n = n % lines.len().max(1);
                text = lines
                    .iter()
                    .enumerate()
                    .filter(|&(i, _)| i != n)
                    .map(|(_, l)| *l)
                    .collect::<Vec<_>>()
                    .join("\n");
            }
        }
    }
    text
}

fn placed_truly(text: &str, d: &Diagnostic) {
    let start = d.span.start.min(text.len());
    let before = &text[..start];
    assert_eq!(d.line, before.matches('\n').count() + 1, "{d:?}");
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    assert_eq!(d.column, before[line_start..].chars().count() + 1, "{d:?}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn damaged_scenarios_are_reported_not_crashed(edits in prop::collection::vec(edit(), 1..6)) {
        let text = damage(&edits);
        if let Err(found) = load(&text) {
            prop_assert!(!found.is_empty());
            for d in &found {
                placed_truly(&text, d);
                prop_assert!(!d.render("damaged.toml", &text).is_empty());
            }
            prop_assert!(found.windows(2).all(|w| w[0].span.start <= w[1].span.start));
        }
    }
}
