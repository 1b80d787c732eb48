//! A guardrail: its method and test, what its breach kills, and the checks between them.

use rollcage_model::{MethodName, ScopeName};
use rollcage_policy::{
    Comparison, Direction, Guardrail, Margin, Method, Metric, Scope, Severity, Share, Spending,
    Statistic, VarianceModel,
};
use rollcage_sim::{Breakdown, PopulationConfig};

use super::Context;
use super::world::baseline_mean;
use crate::reader::{Obj, Reader};

/// The cell names of a breakdown.
pub(super) fn cell_names(breakdown: Breakdown, population: &PopulationConfig) -> Vec<String> {
    let names = |v: &[(String, f64)]| v.iter().map(|(n, _)| n.clone()).collect();
    match breakdown {
        Breakdown::None => vec!["all".to_string()],
        Breakdown::Platform => names(&population.platforms),
        Breakdown::Region => names(&population.regions),
    }
}

pub(super) fn breakdown(t: &Obj<'_, '_>) -> Option<Breakdown> {
    t.choice::<Breakdown>("segment_by")
}

/// The index of a named feature of the release, or an error at `key`.
pub(super) fn feature_index(
    r: &mut Reader,
    t: &Obj<'_, '_>,
    key: &str,
    features: &[String],
) -> Option<usize> {
    let name = t.text(key)?;
    let found = features.iter().position(|f| f == name);
    if found.is_none() {
        r.error(
            t.span_of(key),
            format!("the release has no feature `{name}` (it has {})", features.join(", ")),
        );
    }
    found
}

/// The statistic a comparison tests, with the rank test's own rules checked: latency only, a
/// z-based method, a relative margin, and no variance model.
pub(super) fn rank_statistic(
    r: &mut Reader,
    t: &Obj<'_, '_>,
    method: &str,
    metric: Option<Metric>,
) -> Option<Statistic> {
    match t.text("statistic")?.parse::<Statistic>().ok()? {
        Statistic::Mean => return Some(Statistic::Mean),
        Statistic::MannWhitney => {}
    }
    let at = t.span_of("statistic");
    if metric.is_some_and(|m| m != Metric::LatencyMs) {
        r.error(
            at.clone(),
            "statistic = \"mann_whitney\" ranks latency distributions: it needs metric = \"latency_ms\""
                .to_string(),
        );
    }
    if !matches!(method, "naive_z" | "bonferroni" | "spending") {
        r.error(
            at.clone(),
            format!(
                "statistic = \"mann_whitney\" gives a z statistic, not an estimate in the metric's \
                 units, so method = \"{method}\" cannot use it; use naive_z, bonferroni or spending"
            ),
        );
    }
    if t.number("margin_absolute").is_some_and(|m| m != 0.0) {
        r.error(
            t.span_of("margin_absolute"),
            "a rank test's margin is relative (the holdback made that much slower); use \
             `margin_relative`"
                .to_string(),
        );
    }
    if t.has("variance") {
        r.error(
            t.span_of("variance"),
            "`variance` has no meaning for statistic = \"mann_whitney\" (a rank test has its own); \
             remove it"
                .to_string(),
        );
    }
    Some(Statistic::MannWhitney)
}

/// The keys that belong to one statistical method each.
pub(super) const METHOD_KEYS: [&str; 6] =
    ["looks", "spending", "planned_information", "mixture_sd", "effect", "beta"];

pub(super) fn guardrail(r: &mut Reader, t: &Obj<'_, '_>, cx: &Context<'_>) -> Option<Guardrail> {
    let metric = t.text("metric").and_then(Metric::from_name);
    let method = method(r, t, cx, metric)?;
    let scope = scope(r, t, cx)?;
    let metric = metric?;
    let direction = match t.has("harmful") {
        true => t.choice::<Direction>("harmful")?,
        false => metric.harmful_direction(),
    };
    Some(Guardrail {
        name: t.text("name")?.to_string(),
        metric,
        direction,
        method,
        min_sample: t.integer("min_sample")? as u64,
        severity: t.text("severity")?.parse::<Severity>().ok()?,
        breaches_required: t.integer("breaches_required")? as u32,
        scope,
        inconclusive_limit: t.integer("inconclusive_limit")? as u32,
    })
}

/// Reports each of `keys` written in the guardrail, which `method` has no use for.
pub(super) fn not_for(r: &mut Reader, t: &Obj<'_, '_>, keys: &[&str], method: &str) {
    for key in keys.iter().filter(|k| t.has(k)) {
        r.error(
            t.span_of(key),
            format!("`{key}` has no meaning for method = \"{method}\"; remove it"),
        );
    }
}

/// A guardrail's method, with its test's settings.
pub(super) fn method(
    r: &mut Reader,
    t: &Obj<'_, '_>,
    cx: &Context<'_>,
    metric: Option<Metric>,
) -> Option<Method> {
    let method = t.choice::<MethodName>("method");
    if t.has("margin_relative") && t.has("margin_absolute") {
        r.error(
            t.span_of("margin_absolute"),
            "give either `margin_relative` or `margin_absolute`, not both".to_string(),
        );
    }
    let margin = match (t.number("margin_relative"), t.number("margin_absolute")) {
        (_, Some(m)) => Margin::Absolute(m),
        (Some(m), None) => Margin::Relative(m),
        (None, None) => Margin::Relative(0.0),
    };
    let alpha = if t.has("alpha") { t.number("alpha") } else { Some(0.05) };
    let variance = t.choice::<VarianceModel>("variance")?;
    Some(match method? {
        MethodName::Threshold => {
            not_for(
                r,
                t,
                &["alpha", "margin_relative", "margin_absolute", "variance"],
                "threshold",
            );
            not_for(r, t, &METHOD_KEYS, "threshold");
            if !t.has("limit") {
                r.error(t.span.clone(), "method = \"threshold\" needs a `limit`".to_string());
            }
            Method::Threshold { limit: t.number("limit")? }
        }
        name @ (MethodName::NaiveZ
        | MethodName::Bonferroni
        | MethodName::Spending
        | MethodName::Msprt
        | MethodName::Sprt) => {
            let comparison: &str = name.into();
            if cx.holdback == Some(Share::ZERO) {
                r.error(
                    t.span_of("method"),
                    format!("method = \"{comparison}\" compares with the holdback, but holdback_percent is 0"),
                );
            }
            not_for(r, t, &["limit"], comparison);
            let own: &[&str] = match name {
                MethodName::Bonferroni => &["looks"],
                MethodName::Spending => &["spending", "planned_information"],
                MethodName::Msprt => &["mixture_sd"],
                MethodName::Sprt => &["effect", "beta"],
                MethodName::Threshold | MethodName::NaiveZ => &[],
            };
            let foreign: Vec<&str> = METHOD_KEYS.into_iter().filter(|k| !own.contains(k)).collect();
            not_for(r, t, &foreign, comparison);
            let statistic = rank_statistic(r, t, comparison, metric);
            let test = Comparison { alpha: alpha?, margin, variance, statistic: statistic? };
            comparison_method(r, t, cx, name, test, alpha, metric)?
        }
    })
}

/// A statistical method around its `test`.
pub(super) fn comparison_method(
    r: &mut Reader,
    t: &Obj<'_, '_>,
    cx: &Context<'_>,
    name: MethodName,
    test: Comparison,
    alpha: Option<f64>,
    metric: Option<Metric>,
) -> Option<Method> {
    Some(match name {
        MethodName::NaiveZ => Method::NaiveZ(test),
        // The plans are filled in by `policy`, once the stages are known.
        MethodName::Bonferroni => {
            Method::Bonferroni { test, looks: t.integer("looks").unwrap_or(0) as u32 }
        }
        MethodName::Spending => Method::Spending {
            test,
            spending: match t.has("spending") {
                true => t.choice::<Spending>("spending")?,
                false => Spending::OBrienFleming,
            },
            planned_information: t.number("planned_information").unwrap_or(0.0),
        },
        MethodName::Sprt => {
            if !t.has("effect") {
                r.error(
                    t.span.clone(),
                    "method = \"sprt\" needs the `effect` it tests for, in the metric's units"
                        .to_string(),
                );
            }
            let beta = t.number("beta").unwrap_or(0.2);
            if t.has("beta") && t.has("alpha") && alpha? + beta >= 1.0 {
                r.error(t.span_of("beta"), "sprt needs alpha + beta below 1".to_string());
            }
            Method::Sprt { test, effect: t.number("effect")?, beta }
        }
        MethodName::Threshold => unreachable!("a threshold compares nothing"),
        MethodName::Msprt => {
            let mixture_sd = match t.number("mixture_sd") {
                Some(sd) => sd,
                None if t.has("mixture_sd") => return None,
                None => 0.5 * baseline_mean(metric?, cx.baseline?, cx.population?),
            };
            if mixture_sd <= 0.0 {
                r.error(
                    t.span.clone(),
                    "the metric's baseline mean is 0, so give `mixture_sd` explicitly".to_string(),
                );
                return None;
            }
            Method::Msprt { test, mixture_sd }
        }
    })
}

/// What a guardrail's breach kills: the release, one feature, or the breaching segment.
pub(super) fn scope(r: &mut Reader, t: &Obj<'_, '_>, cx: &Context<'_>) -> Option<Scope> {
    Some(match t.choice::<ScopeName>("scope")? {
        ScopeName::Feature => {
            if !t.has("feature") {
                r.error(
                    t.span_of("scope"),
                    "scope = \"feature\" needs the `feature` it kills".to_string(),
                );
            }
            Scope::Feature(feature_index(r, t, "feature", cx.features?)?)
        }
        name @ (ScopeName::Release | ScopeName::Segment) => {
            let other: &str = name.into();
            if t.has("feature") {
                r.error(
                    t.span_of("feature"),
                    format!("`feature` has no meaning for scope = \"{other}\"; remove it"),
                );
            }
            let segment = name == ScopeName::Segment;
            if segment && cx.cells.as_ref().is_some_and(|(b, _)| *b == Breakdown::None) {
                r.error(
                    t.span_of("scope"),
                    "scope = \"segment\" needs [policy] segment_by = \"platform\" or \"region\""
                        .to_string(),
                );
            }
            if segment && t.choice::<Statistic>("statistic") == Some(Statistic::MannWhitney) {
                r.error(
                    t.span_of("scope"),
                    "statistic = \"mann_whitney\" compares the whole cohorts' latency histograms; \
                     use scope = \"release\" or \"feature\""
                        .to_string(),
                );
            }
            if segment { Scope::Segment } else { Scope::Release }
        }
    })
}
