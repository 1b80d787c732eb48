//! Sweep files: one scenario, many policies.
//!
//! A sweep names a scenario file and the policy parameters to vary over a grid: whole stage
//! schedules (percentages with their durations), a scale on every stage's duration, the holdback,
//! the statistical guardrails' method and alpha, and the evaluation cadence; and, to draw a power
//! curve, the size of the fault the release carries (`fault_multiplier`). Each combination is a
//! [`Variant`]; [`apply`] writes it into the scenario's own TOML and loads the result, so a variant
//! is checked exactly as a scenario file is and gets the defaults its schedule implies (Bonferroni's
//! looks, spending's planned information).
//!
//! ```toml
//! name = "faster-rollout"
//! scenario = "../scenarios/methods/spending-pocock.toml"   # relative to the sweep file
//! runs = 400                                               # per variant; default: the scenario's
//!
//! [[schedule]]
//! name = "five-steps"
//! percent = [2, 10, 25, 50, 90]
//! hours = [6, 12, 12, 12, 24]
//!
//! [vary]
//! duration_scale = [0.5, 1.0]
//! holdback_percent = [5, 10]
//! method = ["msprt", "pocock"]
//! alpha = [0.05]
//! evaluation_interval_min = [30, 60]
//! fault_multiplier = [1.1, 1.25, 1.5, 2.0]
//! ```

use std::fmt::Write as _;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue};

use crate::reader::number;
use crate::{Diagnostic, Scenario};

/// The most variants one sweep may have.
pub const MAX_VARIANTS: usize = 5_000;

/// The methods a sweep can give every statistical guardrail. (Wald's SPRT is left out: it needs an
/// effect size per guardrail, which belongs in a scenario file.)
pub const METHODS: &[&str] = &["naive_z", "bonferroni", "obrien_fleming", "pocock", "msprt"];

const VARY_KEYS: &[&str] = &[
    "duration_scale",
    "holdback_percent",
    "method",
    "alpha",
    "evaluation_interval_min",
    "fault_multiplier",
];

/// A stage schedule: each stage's percentage and, optionally, its minimum duration in hours.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    pub name: String,
    pub percent: Vec<f64>,
    /// `None` keeps the scenario's durations (the schedule then has as many stages as it).
    pub hours: Option<Vec<f64>>,
}

/// A parsed sweep file.
#[derive(Clone, Debug, PartialEq)]
pub struct Sweep {
    pub name: String,
    /// The scenario file, as written (relative to the sweep file's directory).
    pub scenario: String,
    pub runs: Option<u32>,
    pub schedules: Vec<Schedule>,
    pub duration_scale: Vec<f64>,
    pub holdback_percent: Vec<f64>,
    pub method: Vec<String>,
    pub alpha: Vec<f64>,
    pub evaluation_interval_min: Vec<i64>,
    pub fault_multiplier: Vec<f64>,
    /// Where each axis's values are written in the sweep file, in the axes' order (see [`AXES`]).
    places: [Vec<Range<usize>>; AXES],
}

/// The grid's axes, in grid order: the last varies fastest.
const AXES: usize = 7;
const SCHEDULE: usize = 0;
const DURATION_SCALE: usize = 1;
const HOLDBACK_PERCENT: usize = 2;
const METHOD: usize = 3;
const ALPHA: usize = 4;
const EVALUATION_INTERVAL: usize = 5;
const FAULT_MULTIPLIER: usize = 6;

fn values(found: Vec<(f64, Range<usize>)>) -> Vec<f64> {
    found.into_iter().map(|(v, _)| v).collect()
}

/// One point of the grid. `None` keeps what the scenario says.
#[derive(Clone, Debug, PartialEq)]
pub struct Variant {
    /// Its position in the grid, from 0: the last axis varies fastest.
    pub index: usize,
    pub schedule: Option<Schedule>,
    pub duration_scale: Option<f64>,
    pub holdback_percent: Option<f64>,
    pub method: Option<String>,
    pub alpha: Option<f64>,
    pub evaluation_interval_min: Option<i64>,
    /// The multiplier of every fault the release carries (a crash-rate or latency multiplier, say).
    pub fault_multiplier: Option<f64>,
    /// Which value of each axis it takes.
    picks: [Option<usize>; AXES],
}

impl Variant {
    /// `key=value` for every parameter the variant sets, for messages and progress.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        let mut put = |k: &str, v: String| {
            let _ = write!(out, "{}{k}={v}", if out.is_empty() { "" } else { " " });
        };
        if let Some(s) = &self.schedule {
            put("schedule", s.name.clone());
        }
        if let Some(x) = self.duration_scale {
            put("duration_scale", x.to_string());
        }
        if let Some(x) = self.holdback_percent {
            put("holdback_percent", x.to_string());
        }
        if let Some(x) = &self.method {
            put("method", x.clone());
        }
        if let Some(x) = self.alpha {
            put("alpha", x.to_string());
        }
        if let Some(x) = self.evaluation_interval_min {
            put("evaluation_interval_min", x.to_string());
        }
        if let Some(x) = self.fault_multiplier {
            put("fault_multiplier", x.to_string());
        }
        if out.is_empty() { "as written".to_string() } else { out }
    }
}

impl Sweep {
    /// An axis's values, their places remembered.
    fn axis(&mut self, axis: usize, found: Vec<(f64, Range<usize>)>) -> Vec<f64> {
        self.places[axis] = found.iter().map(|(_, span)| span.clone()).collect();
        values(found)
    }

    fn lengths(&self) -> [usize; AXES] {
        [
            self.schedules.len(),
            self.duration_scale.len(),
            self.holdback_percent.len(),
            self.method.len(),
            self.alpha.len(),
            self.evaluation_interval_min.len(),
            self.fault_multiplier.len(),
        ]
    }

    /// How many variants the grid has (an empty axis counts once), or `None` past `usize`.
    pub fn count(&self) -> Option<usize> {
        self.lengths().iter().try_fold(1usize, |n, &len| n.checked_mul(len.max(1)))
    }

    /// Every combination of the axes, in grid order. An empty axis keeps the scenario's value.
    pub fn variants(&self) -> Vec<Variant> {
        (0..self.count().unwrap_or(0)).map(|index| self.variant(index)).collect()
    }

    /// The variant at `index` in grid order.
    fn variant(&self, index: usize) -> Variant {
        let mut picks = [None; AXES];
        let mut rest = index;
        for (axis, len) in self.lengths().into_iter().enumerate().rev() {
            if len > 0 {
                picks[axis] = Some(rest % len);
                rest /= len;
            }
        }
        self.pick(index, picks)
    }

    fn pick(&self, index: usize, picks: [Option<usize>; AXES]) -> Variant {
        Variant {
            index,
            schedule: picks[SCHEDULE].map(|i| self.schedules[i].clone()),
            duration_scale: picks[DURATION_SCALE].map(|i| self.duration_scale[i]),
            holdback_percent: picks[HOLDBACK_PERCENT].map(|i| self.holdback_percent[i]),
            method: picks[METHOD].map(|i| self.method[i].clone()),
            alpha: picks[ALPHA].map(|i| self.alpha[i]),
            evaluation_interval_min: picks[EVALUATION_INTERVAL]
                .map(|i| self.evaluation_interval_min[i]),
            fault_multiplier: picks[FAULT_MULTIPLIER].map(|i| self.fault_multiplier[i]),
            picks,
        }
    }
}

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
    min: f64,
    max: f64,
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
            "percent" => percent = Some((values(numbers(p, "percent", v, 0.01, 100.0)), v.span())),
            "hours" => hours = Some((values(numbers(p, "hours", v, 0.0, 720.0)), v.span())),
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
            p.at(e.span().unwrap_or(0..0), format!("this is not valid TOML: {}", e.message()));
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
            "name" => match (name = true, v.get_ref()).1 {
                DeValue::String(s)
                    if !s.is_empty()
                        && s.len() <= 64
                        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
                {
                    sweep.name = s.to_string();
                    name = true;
                }
                _ => p.at(
                    v.span(),
                    "`name` names the report file: letters, digits, - and _ (at most 64)",
                ),
            },
            "scenario" => match (scenario = true, v.get_ref()).1 {
                DeValue::String(s) if !s.is_empty() => {
                    sweep.scenario = s.to_string();
                    scenario = true;
                }
                _ => p.at(
                    v.span(),
                    "`scenario` is the path of a scenario file, relative to this file",
                ),
            },
            "runs" => match integer(v.get_ref()) {
                Some(r) if (1..=crate::spec::MAX_RUNS).contains(&r) => sweep.runs = Some(r as u32),
                _ => p.at(v.span(), "`runs` is an integer from 1 to 100000: runs per variant"),
            },
            "schedule" => match v.get_ref() {
                DeValue::Array(items) => {
                    for item in items.iter() {
                        if let Some(s) = schedule(&mut p, item) {
                            sweep.schedules.push(s);
                            sweep.places[SCHEDULE].push(item.span());
                        }
                    }
                    let mut names: Vec<&str> =
                        sweep.schedules.iter().map(|s| s.name.as_str()).collect();
                    names.sort_unstable();
                    if names.windows(2).any(|w| w[0] == w[1]) {
                        p.at(v.span(), "schedule names must differ: they label the rows");
                    }
                }
                _ => p.at(v.span(), "schedules are [[schedule]] tables"),
            },
            "vary" => {
                let DeValue::Table(t) = v.get_ref() else {
                    p.at(v.span(), "[vary] is a table of lists");
                    continue;
                };
                for (k, v) in t.iter() {
                    match k.get_ref().as_ref() {
                        "duration_scale" => {
                            let found = numbers(&mut p, "duration_scale", v, 0.01, 100.0);
                            sweep.duration_scale = sweep.axis(DURATION_SCALE, found);
                        }
                        "holdback_percent" => {
                            let found = numbers(&mut p, "holdback_percent", v, 0.0, 50.0);
                            sweep.holdback_percent = sweep.axis(HOLDBACK_PERCENT, found);
                        }
                        "alpha" => {
                            let found = numbers(&mut p, "alpha", v, 1e-6, 0.5);
                            sweep.alpha = sweep.axis(ALPHA, found);
                        }
                        "fault_multiplier" => {
                            let found = numbers(&mut p, "fault_multiplier", v, 0.01, 100.0);
                            sweep.fault_multiplier = sweep.axis(FAULT_MULTIPLIER, found);
                        }
                        "evaluation_interval_min" => {
                            let Some(items) = list(&mut p, "evaluation_interval_min", v) else {
                                continue;
                            };
                            for item in items.iter() {
                                match integer(item.get_ref()) {
                                    Some(m) if (15..=1_440).contains(&m) => {
                                        sweep.evaluation_interval_min.push(m);
                                        sweep.places[EVALUATION_INTERVAL].push(item.span());
                                    }
                                    _ => p.at(item.span(), "`evaluation_interval_min` values are whole minutes from 15 to 1440"),
                                }
                            }
                        }
                        "method" => {
                            let Some(items) = list(&mut p, "method", v) else { continue };
                            for item in items.iter() {
                                match item.get_ref() {
                                    DeValue::String(s) if METHODS.contains(&s.as_ref()) => {
                                        sweep.method.push(s.to_string());
                                        sweep.places[METHOD].push(item.span());
                                    }
                                    _ => p.at(
                                        item.span(),
                                        format!(
                                            "`method` values are one of {}",
                                            METHODS.join(", ")
                                        ),
                                    ),
                                }
                            }
                        }
                        _ => unknown(&mut p, k, VARY_KEYS, "[vary]"),
                    }
                }
            }
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
    let too_many = match sweep.count() {
        Some(n) if n <= MAX_VARIANTS => None,
        Some(n) => Some(n.to_string()),
        None => Some(format!("more than {}", usize::MAX)),
    };
    if let Some(count) = too_many {
        // Counted from the axes' lengths: the grid is never built to be measured.
        // At the first value of the longest axis (the first written, among equals).
        let most = sweep.lengths().into_iter().max().unwrap_or(0);
        let span = (0..AXES)
            .filter(|&a| sweep.places[a].len() == most)
            .filter_map(|a| sweep.places[a].first().cloned())
            .min_by_key(|span| span.start)
            .unwrap_or(0..0);
        p.at(
            span,
            format!("this grid has {count} variants; at most {MAX_VARIANTS} are allowed: vary fewer values at once"),
        );
    }
    if p.found.is_empty() { Ok(sweep) } else { Err(crate::diagnostic::locate(source, p.found)) }
}

/// A variant that can run: its scenario and that scenario's TOML text.
pub type Ready = (Variant, Scenario, String);

/// Every variant of `sweep` applied to `base` (its scenario file's text), or, if any cannot run,
/// the problems located in the sweep file's text `source`. A variant refused because of one of
/// its values (a holdback of 0 where the scenario's stages need one, say) is blamed on where that
/// value is written, once for all the variants that take it; a variant refused only for a
/// combination of values points at each of them.
pub fn prepare(base: &str, sweep: &Sweep, source: &str) -> Result<Vec<Ready>, Vec<Diagnostic>> {
    let mut ready = Vec::new();
    let mut found: Vec<Diagnostic> = Vec::new();
    // Whether each axis value alone is refused, and why: tried once each, on demand.
    let mut alone: [Vec<Option<Result<(), VariantError>>>; AXES] =
        std::array::from_fn(|a| vec![None; sweep.lengths()[a]]);
    for variant in sweep.variants() {
        let error = match apply(base, &variant) {
            Ok((scenario, text)) => {
                ready.push((variant, scenario, text));
                continue;
            }
            Err(e) => e,
        };
        let set: Vec<(usize, usize)> =
            (0..AXES).filter_map(|axis| variant.picks[axis].map(|value| (axis, value))).collect();
        let blamed = set.iter().copied().find(|&(axis, value)| {
            let tried = alone[axis][value].get_or_insert_with(|| {
                let mut picks = [None; AXES];
                picks[axis] = Some(value);
                apply(base, &sweep.pick(0, picks)).map(|_| ())
            });
            tried.is_err()
        });
        match blamed {
            Some((axis, value)) => {
                let Some(Err(why)) = &alone[axis][value] else {
                    unreachable!("blamed values failed")
                };
                let span = sweep.places[axis][value].clone();
                for message in &why.0 {
                    let message = format!("with this value, the scenario is refused: {message}");
                    if !found.iter().any(|d| d.span == span && d.message == message) {
                        found.push(Diagnostic::new(span.clone(), message).help(format!(
                            "the first variant it refuses is variant {} ({})",
                            variant.index,
                            variant.describe()
                        )));
                    }
                }
            }
            None => {
                let span = |&(axis, value): &(usize, usize)| sweep.places[axis][value].clone();
                for message in &error.0 {
                    let first = set.first().map_or(0..0, span);
                    let d = Diagnostic::new(
                        first,
                        format!(
                            "variant {} ({}) is refused: {message}",
                            variant.index,
                            variant.describe()
                        ),
                    );
                    found.push(
                        set.iter()
                            .skip(1)
                            .fold(d, |d, place| d.label(span(place), "combined with this")),
                    );
                }
            }
        }
    }
    if found.is_empty() { Ok(ready) } else { Err(crate::diagnostic::locate(source, found)) }
}

/// Why a variant cannot be built: the scenario's loader's sentences.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VariantError(pub Vec<String>);

/// The scenario `base` (a scenario file's text) with `variant`'s policy, loaded and checked, and
/// its TOML text.
pub fn apply(base: &str, variant: &Variant) -> Result<(Scenario, String), VariantError> {
    let fail = |m: String| VariantError(vec![m]);
    let mut doc: toml::Table =
        base.parse().map_err(|e| fail(format!("the scenario is not valid TOML: {e}")))?;
    let policy = doc
        .get_mut("policy")
        .and_then(toml::Value::as_table_mut)
        .ok_or_else(|| fail("the scenario has no [policy]".to_string()))?;
    if let Some(schedule) = &variant.schedule {
        let stages =
            policy.get("stages").and_then(toml::Value::as_array).cloned().unwrap_or_default();
        if schedule.hours.is_none() && stages.len() != schedule.percent.len() {
            return Err(fail(format!(
                "schedule `{}` has {} stages and no `hours`, but the scenario has {} stages to take durations from",
                schedule.name,
                schedule.percent.len(),
                stages.len()
            )));
        }
        let new: Vec<toml::Value> = schedule
            .percent
            .iter()
            .enumerate()
            .map(|(i, &percent)| {
                // A stage keeps the other keys (min_sample, approval) of the scenario's stage at
                // the same position, or of its last stage.
                let mut stage = stages
                    .get(i)
                    .or(stages.last())
                    .and_then(toml::Value::as_table)
                    .cloned()
                    .unwrap_or_default();
                stage.insert("percent".into(), toml::Value::Float(percent));
                if let Some(hours) = &schedule.hours {
                    stage.insert("min_duration_h".into(), toml::Value::Float(hours[i]));
                }
                toml::Value::Table(stage)
            })
            .collect();
        policy.insert("stages".into(), toml::Value::Array(new));
    }
    if let Some(scale) = variant.duration_scale
        && let Some(stages) = policy.get_mut("stages").and_then(toml::Value::as_array_mut)
    {
        for stage in stages.iter_mut().filter_map(toml::Value::as_table_mut) {
            let hours = stage.get("min_duration_h").and_then(as_number).unwrap_or(0.0);
            // Whole minutes, as the scenario format counts them.
            let scaled = (hours * scale * 60.0).round() / 60.0;
            stage.insert("min_duration_h".into(), toml::Value::Float(scaled));
        }
    }
    if let Some(holdback) = variant.holdback_percent {
        policy.insert("holdback_percent".into(), toml::Value::Float(holdback));
    }
    if let Some(minutes) = variant.evaluation_interval_min {
        policy.insert("evaluation_interval_min".into(), toml::Value::Integer(minutes));
    }
    let guardrails = policy.get_mut("guardrails").and_then(toml::Value::as_array_mut);
    for g in guardrails.into_iter().flatten().filter_map(toml::Value::as_table_mut) {
        if g.get("method").and_then(toml::Value::as_str) == Some("threshold") {
            continue;
        }
        if let Some(alpha) = variant.alpha {
            g.insert("alpha".into(), toml::Value::Float(alpha));
        }
        if let Some(method) = &variant.method {
            let (name, spending) = match method.as_str() {
                "obrien_fleming" | "pocock" => ("spending", Some(method.as_str())),
                other => (other, None),
            };
            // Keys of the other methods would be refused as meaningless for this one.
            let keep: &[&str] = match name {
                "msprt" => &["mixture_sd"],
                "spending" => &["planned_information"],
                "bonferroni" => &["looks"],
                _ => &[],
            };
            for key in ["mixture_sd", "spending", "planned_information", "looks", "effect", "beta"]
            {
                if !keep.contains(&key) {
                    g.remove(key);
                }
            }
            g.insert("method".into(), toml::Value::String(name.into()));
            if let Some(spending) = spending {
                g.insert("spending".into(), toml::Value::String(spending.into()));
            }
        }
    }
    if let Some(multiplier) = variant.fault_multiplier {
        let faults = doc
            .get_mut("release")
            .and_then(|r| r.get_mut("features"))
            .and_then(toml::Value::as_array_mut)
            .into_iter()
            .flatten()
            .filter_map(|f| f.get_mut("faults").and_then(toml::Value::as_array_mut))
            .flatten()
            .filter_map(toml::Value::as_table_mut)
            .filter(|f| f.contains_key("multiplier"));
        if faults.map(|f| f.insert("multiplier".into(), toml::Value::Float(multiplier))).count()
            == 0
        {
            return Err(fail(
                "`fault_multiplier` sets the multiplier of the release's faults, and this \
                 scenario's release carries none with a multiplier"
                    .to_string(),
            ));
        }
    }
    let text = doc.to_string();
    match crate::load(&text) {
        Ok(scenario) => Ok((scenario, text)),
        Err(problems) => Err(VariantError(problems.into_iter().map(|d| d.message).collect())),
    }
}

fn as_number(v: &toml::Value) -> Option<f64> {
    v.as_float().or_else(|| v.as_integer().map(|i| i as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
name = "base"
seed = 1
runs = 10

[population]
players = 2000

[baseline]
crash_rate = 0.02
new_player_crash_multiplier = 1.5
latency_ms_median = 80.0
latency_spread = 0.35
coins_per_run = 120.0
return_rate = 0.6
daily_cycle_amplitude = 0.4
peak_hour = 20

[release]
build = "2.0.0"

[[release.features]]
name = "core"

[[release.features.faults]]
kind = "crash_rate"
multiplier = 2.0

[policy]
holdback_percent = 10

[[policy.stages]]
percent = 5
min_duration_h = 6
min_sample = 100

[[policy.stages]]
percent = 50
min_duration_h = 12

[[policy.guardrails]]
name = "crash-rate"
metric = "crash_rate"
method = "msprt"
mixture_sd = 0.01

[[policy.guardrails]]
name = "crash-limit"
metric = "crash_rate"
method = "threshold"
limit = 0.5

[[policy.rollback]]
step = "stop_exposure"
"#;

    fn sweep(text: &str) -> Sweep {
        parse(text).unwrap_or_else(|d| panic!("{d:#?}"))
    }

    #[test]
    fn the_grid_is_every_combination_with_the_last_axis_fastest() {
        let s = sweep(
            "name = \"g\"\nscenario = \"x.toml\"\n[vary]\nholdback_percent = [5, 10]\nalpha = [0.01, 0.05, 0.1]\n",
        );
        let v = s.variants();
        assert_eq!(v.len(), 6);
        assert_eq!((v[1].holdback_percent, v[1].alpha), (Some(5.0), Some(0.05)));
        assert_eq!((v[3].holdback_percent, v[3].alpha), (Some(10.0), Some(0.01)));
        assert_eq!(v[5].index, 5);
        assert_eq!(v[0].describe(), "holdback_percent=5 alpha=0.01");
    }

    #[test]
    fn a_variant_rewrites_the_policy_and_loads() {
        let s = sweep(
            r#"name = "g"
scenario = "x.toml"
[[schedule]]
name = "three"
percent = [2, 20, 60]
hours = [3, 6, 9]
[vary]
duration_scale = [2.0]
method = ["pocock"]
alpha = [0.02]
evaluation_interval_min = [30]
"#,
        );
        let (scenario, _) = apply(BASE, &s.variants()[0]).unwrap();
        let stages: Vec<(u16, u32)> = scenario
            .policy
            .stages
            .iter()
            .map(|st| (st.share.basis_points(), st.min_duration.0))
            .collect();
        assert_eq!(stages, vec![(200, 360), (2_000, 720), (6_000, 1_080)]);
        // The first stage keeps the scenario's min_sample; the added third takes the last stage's.
        assert_eq!(scenario.policy.stages[0].min_sample, 100);
        assert_eq!(scenario.policy.stages[2].min_sample, 0);
        assert_eq!(scenario.evaluation_interval.0, 30);
        let g = &scenario.policy.guardrails;
        let test = g[0].method.comparison().unwrap();
        assert!((test.alpha - 0.02).abs() < 1e-15);
        assert!(
            matches!(g[0].method, rollcage_policy::Method::Spending { .. }),
            "{:?}",
            g[0].method
        );
        assert!(matches!(g[1].method, rollcage_policy::Method::Threshold { .. }));
    }

    #[test]
    fn a_variant_the_scenario_format_refuses_says_why() {
        let s = sweep(
            "name = \"g\"\nscenario = \"x.toml\"\n[[schedule]]\nname = \"big\"\npercent = [5, 95]\n",
        );
        let err = apply(BASE, &s.variants()[0]).unwrap_err();
        assert!(err.0.iter().any(|m| m.contains("100")), "{err:?}");
    }

    #[test]
    fn a_fault_multiplier_resizes_the_release_faults_or_is_refused_without_one() {
        let s =
            sweep("name = \"g\"\nscenario = \"x.toml\"\n[vary]\nfault_multiplier = [1.25, 3]\n");
        let v = s.variants();
        assert_eq!(v[1].describe(), "fault_multiplier=3");
        let (scenario, _) = apply(BASE, &v[0]).unwrap();
        let multipliers: Vec<Option<f64>> =
            scenario.world.release.faults.iter().map(|f| f.kind.multiplier()).collect();
        assert_eq!(multipliers, vec![Some(1.25)]);
        let faultless = BASE
            .replace("[[release.features.faults]]\nkind = \"crash_rate\"\nmultiplier = 2.0\n", "");
        assert_ne!(faultless, BASE);
        let err = apply(&faultless, &v[0]).unwrap_err();
        assert!(err.0[0].contains("carries none with a multiplier"), "{err:?}");
    }

    #[test]
    fn every_problem_in_a_sweep_file_is_reported_with_its_place() {
        let problems = parse(
            "name = \"bad name\"\nrunz = 3\n[[schedule]]\nname = \"a\"\npercent = [10, 5]\n[vary]\nmethod = [\"sprt\"]\nalpha = []\n",
        )
        .unwrap_err();
        let lines: Vec<(usize, &str)> =
            problems.iter().map(|d| (d.line, d.message.as_str())).collect();
        assert_eq!(problems.len(), 6, "{lines:#?}");
        assert!(lines.iter().any(|(l, m)| *l == 1 && m.contains("`name`")));
        assert!(lines.iter().any(|(l, m)| *l == 2 && m.contains("unknown key `runz`")));
        assert!(lines.iter().any(|(l, m)| *l == 5 && m.contains("must increase")));
        assert!(lines.iter().any(|(l, m)| *l == 7 && m.contains("`method` values")));
        assert!(lines.iter().any(|(l, m)| *l == 8 && m.contains("at least one value")));
        assert!(lines.iter().any(|(_, m)| m.contains("needs `scenario`")));
    }
}
