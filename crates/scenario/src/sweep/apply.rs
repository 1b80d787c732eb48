//! A sweep's variants written into the scenario's own TOML and loaded, so a variant is checked
//! exactly as a scenario file is; a refused variant is blamed on the sweep file's value that
//! causes it.

use rollcage_model::MethodName;
use rollcage_stats::spending::Spending;

use super::{AXES, Schedule, Sweep, SweepMethod, Variant};
use crate::{Diagnostic, Scenario};

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
        set_schedule(policy, schedule)?;
    }
    if let Some(scale) = variant.duration_scale {
        scale_durations(policy, scale);
    }
    if let Some(holdback) = variant.holdback_percent {
        policy.insert("holdback_percent".into(), toml::Value::Float(holdback));
    }
    if let Some(minutes) = variant.evaluation_interval_min {
        policy.insert("evaluation_interval_min".into(), toml::Value::Integer(minutes));
    }
    set_methods(policy, variant);
    if let Some(multiplier) = variant.fault_multiplier {
        set_fault_multiplier(&mut doc, multiplier)?;
    }
    let text = doc.to_string();
    match crate::load(&text) {
        Ok(scenario) => Ok((scenario, text)),
        Err(problems) => Err(VariantError(problems.into_iter().map(|d| d.message).collect())),
    }
}

/// The variant's stage schedule in place of the scenario's stages.
fn set_schedule(policy: &mut toml::Table, schedule: &Schedule) -> Result<(), VariantError> {
    let stages = policy.get("stages").and_then(toml::Value::as_array).cloned().unwrap_or_default();
    if schedule.hours.is_none() && stages.len() != schedule.percent.len() {
        return Err(VariantError(vec![format!(
            "schedule `{}` has {} stages and no `hours`, but the scenario has {} stages to take durations from",
            schedule.name,
            schedule.percent.len(),
            stages.len()
        )]));
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
    Ok(())
}

/// Every stage's minimum duration scaled, in whole minutes.
fn scale_durations(policy: &mut toml::Table, scale: f64) {
    let Some(stages) = policy.get_mut("stages").and_then(toml::Value::as_array_mut) else {
        return;
    };
    for stage in stages.iter_mut().filter_map(toml::Value::as_table_mut) {
        let hours = stage.get("min_duration_h").and_then(as_number).unwrap_or(0.0);
        // Whole minutes, as the scenario format counts them.
        let scaled = (hours * scale * 60.0).round() / 60.0;
        stage.insert("min_duration_h".into(), toml::Value::Float(scaled));
    }
}

/// The variant's method and alpha on every statistical guardrail.
fn set_methods(policy: &mut toml::Table, variant: &Variant) {
    let guardrails = policy.get_mut("guardrails").and_then(toml::Value::as_array_mut);
    for g in guardrails.into_iter().flatten().filter_map(toml::Value::as_table_mut) {
        let method = g.get("method").and_then(toml::Value::as_str);
        if method.and_then(|m| m.parse().ok()) == Some(MethodName::Threshold) {
            continue;
        }
        if let Some(alpha) = variant.alpha {
            g.insert("alpha".into(), toml::Value::Float(alpha));
        }
        if let Some(method) = variant.method {
            let (name, spending) = match method {
                SweepMethod::NaiveZ => (MethodName::NaiveZ, None),
                SweepMethod::Bonferroni => (MethodName::Bonferroni, None),
                SweepMethod::OBrienFleming => (MethodName::Spending, Some(Spending::OBrienFleming)),
                SweepMethod::Pocock => (MethodName::Spending, Some(Spending::Pocock)),
                SweepMethod::Msprt => (MethodName::Msprt, None),
            };
            // Keys of the other methods would be refused as meaningless for this one.
            let keep: &[&str] = match name {
                MethodName::Msprt => &["mixture_sd"],
                MethodName::Spending => &["planned_information"],
                MethodName::Bonferroni => &["looks"],
                MethodName::Threshold | MethodName::NaiveZ | MethodName::Sprt => &[],
            };
            for key in ["mixture_sd", "spending", "planned_information", "looks", "effect", "beta"]
            {
                if !keep.contains(&key) {
                    g.remove(key);
                }
            }
            g.insert("method".into(), toml::Value::String(name.to_string()));
            if let Some(spending) = spending {
                g.insert("spending".into(), toml::Value::String(spending.name().into()));
            }
        }
    }
}

/// The variant's multiplier on every fault of the release that has one.
fn set_fault_multiplier(doc: &mut toml::Table, multiplier: f64) -> Result<(), VariantError> {
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
    if faults.map(|f| f.insert("multiplier".into(), toml::Value::Float(multiplier))).count() == 0 {
        return Err(VariantError(vec![
            "`fault_multiplier` sets the multiplier of the release's faults, and this \
             scenario's release carries none with a multiplier"
                .to_string(),
        ]));
    }
    Ok(())
}

fn as_number(v: &toml::Value) -> Option<f64> {
    v.as_float().or_else(|| v.as_integer().map(|i| i as f64))
}
