//! Reading a parsed TOML tree against the format's declarations, collecting every problem.
//!
//! Reading happens in two passes over the same declarations. [`Reader::check`] walks a table and
//! reports every unknown key (with a suggestion), missing required key, wrong type and value out
//! of bounds. Then the typed getters of [`Obj`] hand the loader values that passed, or the
//! declared default; they return `None` for a value that failed, whose problem is already
//! reported. The loader's semantic checks then add the problems that involve several values.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::Diagnostic;
use crate::spec::{Key, Kind, TableSpec};

/// A value that passed its declaration.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Typed<'a> {
    Integer(i64),
    Number(f64),
    Text(&'a str),
    Boolean(bool),
}

/// Collects the problems of one source text.
pub(crate) struct Reader {
    pub(crate) diagnostics: Vec<Diagnostic>,
}

fn describe(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a number",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

fn shown(min: f64) -> String {
    if min == min.trunc() && min.abs() < 1e15 {
        format!("{}", min as i64)
    } else {
        format!("{min}")
    }
}

/// The number a TOML integer or float holds, if it is a finite number.
pub(crate) fn number(value: &DeValue<'_>) -> Option<f64> {
    match value {
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).ok().map(|v| v as f64),
        DeValue::Float(f) => f.as_str().parse::<f64>().ok().filter(|v| v.is_finite()),
        _ => None,
    }
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && s.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Converts a value against its declared kind, or says in a sentence why it does not fit.
pub(crate) fn convert<'a>(key: &Key, value: &'a DeValue<'_>) -> Result<Typed<'a>, String> {
    let name = key.name;
    let wrong = |expected: &str| format!("`{name}` must be {expected}, not {}", describe(value));
    match &key.kind {
        Kind::Integer { min, max, .. } => {
            let DeValue::Integer(i) = value else { return Err(wrong("an integer")) };
            let Ok(v) = i64::from_str_radix(i.as_str(), i.radix()) else {
                return Err(format!("`{name}` = {} does not fit in 64 bits", i.as_str()));
            };
            if v < *min || v > *max {
                return Err(range(
                    name,
                    &shown(v as f64),
                    &shown(*min as f64),
                    &shown(*max as f64),
                ));
            }
            Ok(Typed::Integer(v))
        }
        Kind::Number { min, max, .. } => {
            let Some(v) = number(value) else {
                return Err(if matches!(value, DeValue::Float(_)) {
                    format!("`{name}` must be a finite number")
                } else {
                    wrong("a number")
                });
            };
            if v < *min || v > *max {
                return Err(range(name, &shown(v), &shown(*min), &shown(*max)));
            }
            Ok(Typed::Number(v))
        }
        Kind::Text { .. } => value.as_str().map(Typed::Text).ok_or_else(|| wrong("a string")),
        Kind::Name => {
            let s = value.as_str().ok_or_else(|| wrong("a string"))?;
            if !is_name(s) {
                return Err(format!(
                    "`{name}` = \"{s}\" is not a valid name: use up to 64 lowercase letters, digits, `-` and `_`, starting with a letter or digit"
                ));
            }
            Ok(Typed::Text(s))
        }
        Kind::Choice { values, .. } => {
            let s = value.as_str().ok_or_else(|| wrong("a string"))?;
            if !values.contains(&s) {
                return Err(format!("`{name}` must be one of {}; \"{s}\" is not", quoted(values)));
            }
            Ok(Typed::Text(s))
        }
        Kind::Boolean { .. } => {
            value.as_bool().map(Typed::Boolean).ok_or_else(|| wrong("true or false"))
        }
        Kind::Table(_) | Kind::Tables { .. } | Kind::Shares { .. } => {
            unreachable!("tables are read by the table getters")
        }
    }
}

fn range(name: &str, value: &str, min: &str, max: &str) -> String {
    format!("`{name}` must be between {min} and {max} (rollcage's bounds), not {value}")
}

fn quoted(values: &[&str]) -> String {
    values.iter().map(|v| format!("\"{v}\"")).collect::<Vec<_>>().join(", ")
}

/// Whether two names are within two edits of each other, for "did you mean": the edit distance,
/// computed only along the diagonal band that can stay within two, so a long unknown key costs
/// its length, not its length times the candidate's.
fn close(a: &str, b: &str) -> Option<usize> {
    const MOST: usize = 2;
    if a.chars().count().abs_diff(b.chars().count()) > MOST {
        return None;
    }
    if a.is_ascii() && b.is_ascii() {
        return banded(a.as_bytes(), b.as_bytes());
    }
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    banded(&a, &b)
}

fn banded<T: PartialEq>(a: &[T], b: &[T]) -> Option<usize> {
    const MOST: usize = 2;
    let far = MOST + 1;
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        let mut best = row[0];
        for (j, cb) in b.iter().enumerate() {
            let next = if j + MOST < i || j > i + MOST {
                far
            } else {
                (row[j + 1] + 1).min(row[j] + 1).min(prev + usize::from(ca != cb))
            };
            prev = row[j + 1];
            row[j + 1] = next.min(far);
            best = best.min(row[j + 1]);
        }
        if best > MOST {
            return None;
        }
    }
    Some(row[b.len()]).filter(|&d| d <= MOST)
}

impl Reader {
    pub(crate) fn new() -> Reader {
        Reader { diagnostics: Vec::new() }
    }

    /// A problem that involves more than one place, or needs a help line.
    pub(crate) fn report(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    pub(crate) fn error(&mut self, span: Range<usize>, message: String) {
        self.diagnostics.push(Diagnostic::new(span, message));
    }

    /// Checks one table and, recursively, every table below it.
    pub(crate) fn check(
        &mut self,
        spec: &'static TableSpec,
        table: &DeTable<'_>,
        span: Range<usize>,
    ) {
        let mut known = false;
        for (k, v) in table.iter() {
            let name: &str = k.get_ref();
            let Some(key) = spec.key(name) else {
                let chars = name.chars().count();
                let best = spec
                    .keys
                    .iter()
                    .filter(|c| c.name.chars().count().abs_diff(chars) <= 2)
                    .filter_map(|c| close(name, c.name).map(|d| (d, c)))
                    .min_by_key(|&(d, _)| d)
                    .map(|(_, c)| c);
                let hint = match best {
                    Some(c) => format!("did you mean `{}`?", c.name),
                    // The table's keys are listed once, at its first unknown key: a file with
                    // thousands of stray keys gets one list, not thousands.
                    None if known => "expected one of its keys (listed above)".to_string(),
                    None => {
                        known = true;
                        let keys: Vec<&str> = spec.keys.iter().map(|k| k.name).collect();
                        format!("expected one of: {}", keys.join(", "))
                    }
                };
                self.error(k.span(), format!("unknown key `{name}` in {}; {hint}", spec.name));
                continue;
            };
            self.check_value(key, v);
        }
        for key in spec.keys.iter().filter(|k| k.required) {
            if !table.iter().any(|(k, _)| k.get_ref() == key.name) {
                self.error(
                    span.clone(),
                    format!("{} needs `{}`: {}", spec.name, key.name, key.doc),
                );
            }
        }
    }

    fn check_value(&mut self, key: &'static Key, v: &Spanned<DeValue<'_>>) {
        match &key.kind {
            Kind::Table(spec) => match v.get_ref() {
                DeValue::Table(t) => self.check(spec, t, v.span()),
                other => self.error(
                    v.span(),
                    format!("`{}` must be a table, not {}", key.name, describe(other)),
                ),
            },
            Kind::Tables { spec, min, max } => match v.get_ref() {
                DeValue::Array(items) => {
                    if items.len() < *min || items.len() > *max {
                        self.error(
                            v.span(),
                            format!("`{}` must have between {min} and {max} entries (rollcage's bounds), not {}", key.name, items.len()),
                        );
                    }
                    for item in items.iter() {
                        match item.get_ref() {
                            DeValue::Table(t) => self.check(spec, t, item.span()),
                            other => self.error(
                                item.span(),
                                format!(
                                    "each entry of `{}` must be a table, not {}",
                                    key.name,
                                    describe(other)
                                ),
                            ),
                        }
                    }
                }
                other => self.error(
                    v.span(),
                    format!("`{}` must be an array of tables, not {}", key.name, describe(other)),
                ),
            },
            Kind::Shares { max } => self.check_shares(key.name, *max, v),
            _ => {
                if let Err(message) = convert(key, v.get_ref()) {
                    self.error(v.span(), message);
                }
            }
        }
    }

    fn check_shares(&mut self, name: &str, max: usize, v: &Spanned<DeValue<'_>>) {
        let DeValue::Table(t) = v.get_ref() else {
            self.error(
                v.span(),
                format!(
                    "`{name}` must be a table of names to shares, not {}",
                    describe(v.get_ref())
                ),
            );
            return;
        };
        if t.is_empty() || t.len() > max {
            self.error(
                v.span(),
                format!(
                    "`{name}` must name between 1 and {max} entries (rollcage's bounds), not {}",
                    t.len()
                ),
            );
        }
        let mut sum = 0.0;
        let mut all_numbers = true;
        for (k, share) in t.iter() {
            if !is_name(k.get_ref()) {
                self.error(k.span(), format!("`{}` in `{name}` is not a valid name: use lowercase letters, digits, `-` and `_`", k.get_ref()));
            }
            match number(share.get_ref()) {
                Some(s) if (0.0..=1.0).contains(&s) => sum += s,
                _ => {
                    all_numbers = false;
                    self.error(
                        share.span(),
                        format!(
                            "the share of `{}` in `{name}` must be a number between 0 and 1",
                            k.get_ref()
                        ),
                    );
                }
            }
        }
        if all_numbers && !t.is_empty() && (sum - 1.0).abs() > 1e-9 {
            self.error(
                v.span(),
                format!("the shares in `{name}` sum to {sum}; they must sum to 1"),
            );
        }
    }
}

/// A table being read by the loader, after [`Reader::check`] has reported its problems.
#[derive(Clone)]
pub(crate) struct Obj<'a, 'i> {
    spec: &'static TableSpec,
    table: &'a DeTable<'i>,
    pub(crate) span: Range<usize>,
}

impl std::fmt::Debug for Obj<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Obj({})", self.spec.name)
    }
}

impl<'a, 'i> Obj<'a, 'i> {
    pub(crate) fn new(
        spec: &'static TableSpec,
        table: &'a DeTable<'i>,
        span: Range<usize>,
    ) -> Obj<'a, 'i> {
        Obj { spec, table, span }
    }

    fn declared(&self, name: &str) -> &'static Key {
        self.spec
            .key(name)
            .unwrap_or_else(|| panic!("`{name}` is not declared in {}", self.spec.name))
    }

    fn raw(&self, name: &str) -> Option<&'a Spanned<DeValue<'i>>> {
        self.declared(name);
        self.table.iter().find(|(k, _)| k.get_ref() == name).map(|(_, v)| v)
    }

    /// Whether the key is written in the file.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.raw(name).is_some()
    }

    /// The key's value, if it is written in the file.
    pub(crate) fn written(&self, name: &str) -> Option<Range<usize>> {
        self.raw(name).map(Spanned::span)
    }

    /// Where the key's value is, or the table itself when the key is absent.
    pub(crate) fn span_of(&self, name: &str) -> Range<usize> {
        self.raw(name).map_or_else(|| self.span.clone(), |v| v.span())
    }

    fn typed(&self, name: &str) -> Option<Typed<'a>> {
        let key = self.declared(name);
        match self.raw(name) {
            Some(v) => convert(key, v.get_ref()).ok(),
            None => match key.kind {
                Kind::Integer { default, .. } => default.map(Typed::Integer),
                Kind::Number { default, .. } => default.map(Typed::Number),
                Kind::Text { default } | Kind::Choice { default, .. } => default.map(Typed::Text),
                Kind::Boolean { default } => default.map(Typed::Boolean),
                _ => None,
            },
        }
    }

    pub(crate) fn integer(&self, name: &str) -> Option<i64> {
        match self.typed(name)? {
            Typed::Integer(v) => Some(v),
            _ => None,
        }
    }

    pub(crate) fn number(&self, name: &str) -> Option<f64> {
        match self.typed(name)? {
            Typed::Number(v) => Some(v),
            _ => None,
        }
    }

    pub(crate) fn text(&self, name: &str) -> Option<&'a str> {
        match self.typed(name)? {
            Typed::Text(v) => Some(v),
            _ => None,
        }
    }

    /// A choice's value as the enum that names it: `None` when the key is absent with no default,
    /// or holds a name the declarations have already refused.
    pub(crate) fn choice<T: std::str::FromStr>(&self, name: &str) -> Option<T> {
        self.text(name)?.parse().ok()
    }

    pub(crate) fn boolean(&self, name: &str) -> Option<bool> {
        match self.typed(name)? {
            Typed::Boolean(v) => Some(v),
            _ => None,
        }
    }

    pub(crate) fn table(&self, name: &str) -> Option<Obj<'a, 'i>> {
        let Kind::Table(spec) = self.declared(name).kind else { panic!("`{name}` is not a table") };
        match self.raw(name).map(|v| (v.get_ref(), v.span())) {
            Some((DeValue::Table(t), span)) => Some(Obj::new(spec, t, span)),
            _ => None,
        }
    }

    /// The entries of an array of tables, up to the declared most (more are already reported, and
    /// reading them all would make the checks that compare entries quadratic in the file);
    /// entries that are not tables are left out.
    pub(crate) fn tables(&self, name: &str) -> Vec<Obj<'a, 'i>> {
        let Kind::Tables { spec, max, .. } = self.declared(name).kind else {
            panic!("`{name}` is not an array of tables")
        };
        match self.raw(name).map(Spanned::get_ref) {
            Some(DeValue::Array(items)) => items
                .iter()
                .take(max)
                .filter_map(|item| match item.get_ref() {
                    DeValue::Table(t) => Some(Obj::new(spec, t, item.span())),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// A valid table of shares as (name, share, span of the name), or `None` if absent or invalid.
    pub(crate) fn shares(&self, name: &str) -> Option<Vec<(String, f64, Range<usize>)>> {
        let DeValue::Table(t) = self.raw(name)?.get_ref() else { return None };
        let entries: Vec<(String, f64, Range<usize>)> = t
            .iter()
            .filter_map(|(k, v)| {
                number(v.get_ref()).map(|s| (k.get_ref().to_string(), s, k.span()))
            })
            .collect();
        (entries.len() == t.len()).then_some(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::close;

    #[test]
    fn near_names_are_found_and_far_ones_are_not() {
        assert_eq!(close("players", "players"), Some(0));
        assert_eq!(close("playrs", "players"), Some(1));
        assert_eq!(close("flag_refresh_mins", "flag_refresh_min"), Some(1));
        assert_eq!(close("palyers", "players"), Some(2));
        assert_eq!(close("plyrs", "players"), Some(2));
        assert_eq!(close("plrs", "players"), None);
        assert_eq!(close("abcdefg", "players"), None);
        assert_eq!(close("", "ab"), Some(2));
        assert_eq!(close("", "abc"), None);
        assert_eq!(close("xplayersx", "players"), Some(2));
        assert_eq!(close("players_count_00000001", "players"), None);
    }
}
