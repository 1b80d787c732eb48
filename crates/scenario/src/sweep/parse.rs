//! Reading a sweep file: every problem at once, each at its place, and the grid's size counted
//! before any variant is built.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue};

use super::{
    ALPHA, AXES, DURATION_SCALE, EVALUATION_INTERVAL, FAULT_MULTIPLIER, HOLDBACK_PERCENT, METHOD,
    METHODS, SCHEDULE, Schedule, Sweep, SweepMethod, VARY_KEYS, values,
};
use crate::Diagnostic;
use crate::reader::number;
use crate::spec::{FAULT, GUARDRAIL, POLICY, STAGE};
use rollcage_model::limits::{MAX_RUNS, MAX_VARIANTS};

/// Collects the problems of one sweep file.
struct Problems {
    found: Vec<Diagnostic>,
}

impl Problems {
    fn at(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.found.push(Diagnostic::new(span, message.into()));
    }
}

fn integer(value: &DeValue<'_>) -> Option<i64> {
    match value {
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).ok(),
        _ => None,
    }
}

/// A list of numbers within [min, max], or a problem per bad element.
fn numbers(
    p: &mut Problems,
    key: &str,
    value: &Spanned<DeValue<'_>>,
    (min, max): (f64, f64),
) -> Vec<(f64, Range<usize>)> {
    let Some(items) = list(p, key, value) else { return Vec::new() };
    let mut out = Vec::new();
    for item in items.iter() {
        match number(item.get_ref()) {
            Some(v) if (min..=max).contains(&v) => out.push((v, item.span())),
            Some(v) => p.at(item.span(), format!("`{key}` values lie in [{min}, {max}], not {v}")),
            None => p.at(item.span(), format!("`{key}` holds numbers")),
        }
    }
    out
}

fn list<'a, 'b>(
    p: &mut Problems,
    key: &str,
    value: &'a Spanned<DeValue<'b>>,
) -> Option<&'a DeArray<'b>> {
    match value.get_ref() {
        DeValue::Array(items) if !items.is_empty() => Some(items),
        DeValue::Array(_) => {
            p.at(
                value.span(),
                format!("`{key}` needs at least one value (leave it out to keep the scenario's)"),
            );
            None
        }
        _ => {
            p.at(value.span(), format!("`{key}` is a list of values, e.g. {key} = [..]"));
            None
        }
    }
}

fn unknown(
    p: &mut Problems,
    key: &Spanned<std::borrow::Cow<'_, str>>,
    known: &[&str],
    table: &str,
) {
    p.at(
        key.span(),
        format!("unknown key `{}` in {table}; known keys: {}", key.get_ref(), known.join(", ")),
    );
}

fn schedule(p: &mut Problems, value: &Spanned<DeValue<'_>>) -> Option<Schedule> {
    let DeValue::Table(t) = value.get_ref() else {
        p.at(
            value.span(),
            "each [[schedule]] is a table with `name`, `percent` and, optionally, `hours`",
        );
        return None;
    };
    let (mut name, mut percent, mut hours) = (None, None, None);
    for (k, v) in t.iter() {
        match k.get_ref().as_ref() {
            "name" => match v.get_ref() {
                DeValue::String(s) if !s.is_empty() && s.len() <= 64 => name = Some(s.to_string()),
                _ => p.at(
                    v.span(),
                    "a schedule's `name` is a non-empty string of at most 64 characters",
                ),
            },
            "percent" => {
                let bounds = STAGE.bounds("percent");
                percent = Some((values(numbers(p, "percent", v, bounds)), v.span()))
            }
            "hours" => {
                let bounds = STAGE.bounds("min_duration_h");
                hours = Some((values(numbers(p, "hours", v, bounds)), v.span()))
            }
            _ => unknown(p, k, &["name", "percent", "hours"], "[[schedule]]"),
        }
    }
    let Some(name) = name else {
        p.at(value.span(), "this [[schedule]] needs a `name`, to label its rows");
        return None;
    };
    let Some((percent, span)) = percent else {
        p.at(value.span(), format!("schedule `{name}` needs `percent`, each stage's share"));
        return None;
    };
    if let Some((h, hours_span)) = &hours
        && h.len() != percent.len()
    {
        p.at(
            hours_span.clone(),
            format!(
                "schedule `{name}` has {} percentages but {} hours; give one duration per stage",
                percent.len(),
                h.len()
            ),
        );
        return None;
    }
    if percent.windows(2).any(|w| w[1] <= w[0]) {
        p.at(span, format!("schedule `{name}`: stage percentages must increase"));
        return None;
    }
    Some(Schedule { name, percent, hours: hours.map(|(h, _)| h) })
}

/// Reads a sweep file, or returns every problem in it.
pub fn parse(source: &str) -> Result<Sweep, Vec<Diagnostic>> {
    let mut p = Problems { found: Vec::new() };
    let doc = match DeTable::parse(source) {
        Ok(doc) => doc,
        Err(e) => {
            let span = e.span().unwrap_or_else(|| crate::unlocated(source));
            p.at(span, format!("this is not valid TOML: {}", e.message()));
            return Err(crate::diagnostic::locate(source, p.found));
        }
    };
    let mut sweep = Sweep {
        name: String::new(),
        scenario: String::new(),
        runs: None,
        schedules: Vec::new(),
        duration_scale: Vec::new(),
        holdback_percent: Vec::new(),
        method: Vec::new(),
        alpha: Vec::new(),
        evaluation_interval_min: Vec::new(),
        fault_multiplier: Vec::new(),
        places: Default::default(),
    };
    let (mut name, mut scenario) = (false, false);
    for (k, v) in doc.get_ref().iter() {
        match k.get_ref().as_ref() {
            "name" => name |= read_name(&mut p, &mut sweep, v),
            "scenario" => scenario |= read_scenario(&mut p, &mut sweep, v),
            "runs" => match integer(v.get_ref()) {
                Some(r) if (1..=MAX_RUNS).contains(&r) => sweep.runs = Some(r as u32),
                _ => p.at(
                    v.span(),
                    format!("`runs` is an integer from 1 to {MAX_RUNS}: runs per variant"),
                ),
            },
            "schedule" => schedules(&mut p, &mut sweep, v),
            "vary" => match v.get_ref() {
                DeValue::Table(t) => vary(&mut p, &mut sweep, t),
                _ => p.at(v.span(), "[vary] is a table of lists"),
            },
            _ => unknown(
                &mut p,
                k,
                &["name", "scenario", "runs", "schedule", "vary"],
                "a sweep file",
            ),
        }
    }
    if !name {
        p.at(0..0, "a sweep needs a `name`: the report is reports/sweep/<name>.csv");
    }
    if !scenario {
        p.at(0..0, "a sweep needs `scenario`, the scenario file whose policy it varies");
    }
    grid_size(&mut p, &sweep);
    if p.found.is_empty() { Ok(sweep) } else { Err(crate::diagnostic::locate(source, p.found)) }
}

/// `name`, which names the report file; whether it is written (valid or not).
fn read_name(p: &mut Problems, sweep: &mut Sweep, v: &Spanned<DeValue<'_>>) -> bool {
    match v.get_ref() {
        DeValue::String(s)
            if !s.is_empty()
                && s.len() <= 64
                && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
        {
            sweep.name = s.to_string();
        }
        _ => p.at(v.span(), "`name` names the report file: letters, digits, - and _ (at most 64)"),
    }
    true
}

/// `scenario`, the scenario file's path; whether it is written (valid or not).
fn read_scenario(p: &mut Problems, sweep: &mut Sweep, v: &Spanned<DeValue<'_>>) -> bool {
    match v.get_ref() {
        DeValue::String(s) if !s.is_empty() => sweep.scenario = s.to_string(),
        _ => p.at(v.span(), "`scenario` is the path of a scenario file, relative to this file"),
    }
    true
}

/// The [[schedule]] tables, each name once.
fn schedules(p: &mut Problems, sweep: &mut Sweep, v: &Spanned<DeValue<'_>>) {
    let DeValue::Array(items) = v.get_ref() else {
        p.at(v.span(), "schedules are [[schedule]] tables");
        return;
    };
    for item in items.iter() {
        if let Some(s) = schedule(p, item) {
            sweep.schedules.push(s);
            sweep.places[SCHEDULE].push(item.span());
        }
    }
    let mut names: Vec<&str> = sweep.schedules.iter().map(|s| s.name.as_str()).collect();
    names.sort_unstable();
    if names.windows(2).any(|w| w[0] == w[1]) {
        p.at(v.span(), "schedule names must differ: they label the rows");
    }
}

/// The [vary] table's axes, each within the bounds the scenario format gives the key it sets.
fn vary(p: &mut Problems, sweep: &mut Sweep, t: &DeTable<'_>) {
    for (k, v) in t.iter() {
        match k.get_ref().as_ref() {
            "duration_scale" => {
                let found = numbers(p, "duration_scale", v, (0.01, 100.0));
                sweep.duration_scale = sweep.axis(DURATION_SCALE, found);
            }
            "holdback_percent" => {
                let bounds = POLICY.bounds("holdback_percent");
                let found = numbers(p, "holdback_percent", v, bounds);
                sweep.holdback_percent = sweep.axis(HOLDBACK_PERCENT, found);
            }
            "alpha" => {
                let found = numbers(p, "alpha", v, GUARDRAIL.bounds("alpha"));
                sweep.alpha = sweep.axis(ALPHA, found);
            }
            "fault_multiplier" => {
                let found = numbers(p, "fault_multiplier", v, FAULT.bounds("multiplier"));
                sweep.fault_multiplier = sweep.axis(FAULT_MULTIPLIER, found);
            }
            "evaluation_interval_min" => intervals(p, sweep, v),
            "method" => methods(p, sweep, v),
            _ => unknown(p, k, VARY_KEYS, "[vary]"),
        }
    }
}

fn intervals(p: &mut Problems, sweep: &mut Sweep, v: &Spanned<DeValue<'_>>) {
    let Some(items) = list(p, "evaluation_interval_min", v) else { return };
    let (min, max) = POLICY.bounds("evaluation_interval_min");
    for item in items.iter() {
        match integer(item.get_ref()) {
            Some(m) if (min..=max).contains(&(m as f64)) => {
                sweep.evaluation_interval_min.push(m);
                sweep.places[EVALUATION_INTERVAL].push(item.span());
            }
            _ => p.at(
                item.span(),
                format!("`evaluation_interval_min` values are whole minutes from {min} to {max}"),
            ),
        }
    }
}

fn methods(p: &mut Problems, sweep: &mut Sweep, v: &Spanned<DeValue<'_>>) {
    let Some(items) = list(p, "method", v) else { return };
    for item in items.iter() {
        match item.get_ref() {
            DeValue::String(s) if let Ok(method) = s.parse::<SweepMethod>() => {
                sweep.method.push(method);
                sweep.places[METHOD].push(item.span());
            }
            _ => p.at(item.span(), format!("`method` values are one of {}", METHODS.join(", "))),
        }
    }
}

/// The grid's size, counted from the axes' lengths: the grid is never built to be measured. A
/// grid too large is reported at the first value of its longest axis (the first written, among
/// equals).
fn grid_size(p: &mut Problems, sweep: &Sweep) {
    let count = match sweep.count() {
        Some(n) if n <= MAX_VARIANTS => return,
        Some(n) => n.to_string(),
        None => format!("more than {}", usize::MAX),
    };
    let most = sweep.lengths().into_iter().max().unwrap_or(0);
    let span = (0..AXES)
        .filter(|&a| sweep.places[a].len() == most)
        .filter_map(|a| sweep.places[a].first().cloned())
        .min_by_key(|span| span.start)
        .unwrap_or(0..0);
    p.at(
        span,
        format!(
            "this grid has {count} variants; at most {MAX_VARIANTS} are allowed: vary fewer values at once"
        ),
    );
}
