//! One problem in an input file: where it is, what is wrong, what else is involved and how to fix
//! it; rendered by `annotate-snippets`, the renderer rustc and cargo use.
//!
//! Checking stays linear in the file's size: problems are collected with byte spans only, and
//! [`locate`] gives them their lines and columns in one pass over the text, in file order.
//! Rendering reads only the lines a problem points at.

use std::ops::Range;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

/// One problem in a scenario or sweep file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// 1-based line of the span's start.
    pub line: usize,
    /// 1-based column of the span's start, in characters.
    pub column: usize,
    /// Byte range in the source.
    pub span: Range<usize>,
    pub message: String,
    /// Other places the problem involves, e.g. the value it conflicts with.
    pub labels: Vec<Label>,
    /// How to fix it, when the message alone does not say.
    pub help: Option<String>,
}

/// A secondary place of a [`Diagnostic`], with what it contributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    /// 1-based line of the span's start.
    pub line: usize,
    pub span: Range<usize>,
    pub message: String,
}

impl Diagnostic {
    /// A problem at `span`, not yet located: [`locate`] fills in its line and column.
    pub(crate) fn new(span: Range<usize>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            line: 0,
            column: 0,
            span,
            message: message.into(),
            labels: Vec::new(),
            help: None,
        }
    }

    /// The same problem, also pointing at `span` for `message`.
    pub(crate) fn label(mut self, span: Range<usize>, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label { line: 0, span, message: message.into() });
        self
    }

    /// The same problem, also pointing at the value of `key` in `table` when it is written there
    /// (a default has no place to point at).
    pub(crate) fn label_if(
        self,
        table: &crate::reader::Obj<'_, '_>,
        key: &str,
        message: impl Into<String>,
    ) -> Diagnostic {
        match table.written(key) {
            Some(span) => self.label(span, message),
            None => self,
        }
    }

    /// The same problem, with a line saying how to fix it.
    pub(crate) fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// The problem as text: the message, `path:line:column`, the lines involved with a caret under
    /// the problem and a label under each other place, and the help line.
    pub fn render(&self, path: &str, source: &str) -> String {
        self.render_with(path, source, &Renderer::plain())
    }

    /// [`Diagnostic::render`] with colours, for a terminal.
    pub fn render_styled(&self, path: &str, source: &str) -> String {
        self.render_with(path, source, &Renderer::styled())
    }

    fn render_with(&self, path: &str, source: &str, renderer: &Renderer) -> String {
        let primary = clamp(source, &self.span);
        let mut places: Vec<(Range<usize>, Option<&str>, bool)> = vec![(primary, None, true)];
        places
            .extend(self.labels.iter().map(|l| (clamp(source, &l.span), Some(&*l.message), false)));
        let first = places.iter().map(|p| p.0.start).min().unwrap_or(0);
        let last = places.iter().map(|p| inner_end(source, &p.0)).max().unwrap_or(0);
        let from = line_start(source, first);
        let to = line_end(source, last);
        // The lines between the places are read only when they are few; otherwise each place is
        // shown on its own.
        let region = if to - from <= 16 * 1024 {
            vec![(from, to, places)]
        } else {
            places
                .into_iter()
                .map(|p| {
                    (
                        line_start(source, p.0.start),
                        line_end(source, inner_end(source, &p.0)),
                        vec![p],
                    )
                })
                .collect()
        };
        let mut lines = self.labels.iter().map(|l| (l.span.start, l.line)).collect::<Vec<_>>();
        lines.push((self.span.start, self.line));
        let mut group = Group::with_title(Level::ERROR.primary_title(&self.message));
        for (from, to, places) in region {
            let line = line_of(source, &lines, from);
            let snippet = Snippet::source(&source[from..to]).line_start(line).path(path).fold(true);
            let snippet = places.into_iter().fold(snippet, |s, (span, label, primary)| {
                let kind = if primary { AnnotationKind::Primary } else { AnnotationKind::Context };
                let span = span.start - from..span.end - from;
                s.annotation(match label {
                    Some(label) => kind.span(span).label(label),
                    None => kind.span(span),
                })
            });
            group = group.element(snippet);
        }
        if let Some(help) = &self.help {
            group = group.element(Level::HELP.message(help));
        }
        renderer.render(&[group])
    }
}

/// The 1-based line at byte `from`, a line start: found from the located places (whose lines are
/// known) by counting the newlines between, so only the shown text is read.
fn line_of(source: &str, known: &[(usize, usize)], from: usize) -> usize {
    let (at, line) = known
        .iter()
        .copied()
        .filter(|&(at, _)| at >= from)
        .min_by_key(|&(at, _)| at)
        .unwrap_or((from, 1));
    let at = at.min(source.len());
    line.saturating_sub(source.as_bytes()[from..at].iter().filter(|&&b| b == b'\n').count()).max(1)
}

fn clamp(source: &str, span: &Range<usize>) -> Range<usize> {
    let start = floor_boundary(source, span.start.min(source.len()));
    let end = floor_boundary(source, span.end.clamp(start, source.len()));
    start..end
}

fn floor_boundary(source: &str, mut at: usize) -> usize {
    while !source.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn line_start(source: &str, at: usize) -> usize {
    source[..at].rfind('\n').map_or(0, |i| i + 1)
}

/// Where a span's last line ends: a span that ends just after a newline ends on the line before.
fn inner_end(source: &str, span: &Range<usize>) -> usize {
    if span.end > span.start && source.as_bytes()[span.end - 1] == b'\n' {
        span.end - 1
    } else {
        span.end
    }
}

fn line_end(source: &str, at: usize) -> usize {
    source[at..].find('\n').map_or(source.len(), |i| at + i)
}

/// The problems in file order, each once, with their lines and columns: one pass over the text
/// whatever the number of problems.
pub(crate) fn locate(source: &str, mut found: Vec<Diagnostic>) -> Vec<Diagnostic> {
    // A problem found twice (the same place and sentence) is kept once, where it was first found.
    let key = |i: usize| (found[i].span.start, found[i].span.end, &found[i].message, i);
    let mut order: Vec<usize> = (0..found.len()).collect();
    order.sort_unstable_by(|&i, &j| key(i).cmp(&key(j)));
    let mut keep = vec![true; found.len()];
    for pair in order.windows(2) {
        let (a, b) = (key(pair[0]), key(pair[1]));
        if (a.0, a.1, a.2) == (b.0, b.1, b.2) {
            keep[pair[1]] = false;
        }
    }
    let mut index = 0..;
    found.retain(|_| keep[index.next().expect("endless")]);
    // Stable: problems at the same place keep the order they were found in.
    found.sort_by_key(|d| (d.span.start, d.span.end));
    let mut offsets: Vec<usize> = found
        .iter()
        .flat_map(|d| std::iter::once(d.span.start).chain(d.labels.iter().map(|l| l.span.start)))
        .map(|at| floor_boundary(source, at.min(source.len())))
        .collect();
    offsets.sort_unstable();
    offsets.dedup();
    let places = positions(source, &offsets);
    let place = |at: usize| {
        let at = floor_boundary(source, at.min(source.len()));
        places[offsets.binary_search(&at).expect("every offset is located")]
    };
    for d in &mut found {
        (d.line, d.column) = place(d.span.start);
        for l in &mut d.labels {
            l.line = place(l.span.start).0;
        }
    }
    found
}

/// The 1-based (line, column in characters) of each of `offsets`, which are sorted, distinct and
/// on character boundaries.
fn positions(source: &str, offsets: &[usize]) -> Vec<(usize, usize)> {
    let (mut line, mut at, mut column) = (1, 0, 1);
    let mut out = Vec::with_capacity(offsets.len());
    for &offset in offsets {
        let passed = &source[at..offset];
        match passed.rfind('\n') {
            Some(i) => {
                line += passed.bytes().filter(|&b| b == b'\n').count();
                column = source[at + i + 1..offset].chars().count() + 1;
            }
            None => column += passed.chars().count(),
        }
        at = offset;
        out.push((line, column));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_found_in_one_pass() {
        let source = "a = 1\nbé = [1, 2]\n\nc = 3";
        let (two, c) = (source.find('2').unwrap(), source.find('c').unwrap());
        let found = locate(
            source,
            vec![
                Diagnostic::new(c..c + 1, "c"),
                Diagnostic::new(two..two + 1, "2"),
                Diagnostic::new(0..1, "a"),
                Diagnostic::new(two..two + 1, "2"),
            ],
        );
        let places: Vec<(usize, usize, &str)> =
            found.iter().map(|d| (d.line, d.column, d.message.as_str())).collect();
        assert_eq!(places, vec![(1, 1, "a"), (2, 10, "2"), (4, 1, "c")]);
    }

    #[test]
    fn a_conflict_shows_both_places_and_the_fix() {
        let source = "[policy]\nholdback_percent = 10\n\n[[policy.stages]]\npercent = 95\n";
        let at = source.find("95").unwrap();
        let hold = source.find("10").unwrap();
        let d = Diagnostic::new(at..at + 2, "too much")
            .label(hold..hold + 2, "the holdback is set here")
            .help("lower it");
        let shown = locate(source, vec![d])[0].render("bad.toml", source);
        assert!(shown.contains("--> bad.toml:5:11"), "{shown}");
        assert!(shown.contains("2 | holdback_percent = 10"), "{shown}");
        assert!(shown.contains("the holdback is set here"), "{shown}");
        assert!(shown.contains("5 | percent = 95"), "{shown}");
        assert!(shown.contains("= help: lower it"), "{shown}");
    }
}
