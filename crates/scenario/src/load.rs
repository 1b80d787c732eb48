//! From a checked TOML tree to a [`Scenario`], with the checks that involve several values.

use rollcage_harness::{Expectations, Scenario, ScheduledCommand};
use rollcage_policy::{
    BuildId, Command, Comparison, Direction, Guardrail, KillScope, Margin, Method, Metric, Minutes,
    Multiplicity, PlannedStep, PolicyConfig, Restore, Scope, Severity, Share, Spending, SrmCheck,
    Stage, Statistic, StepKind, VarianceModel,
};
use rollcage_sim::{
    AssignmentBug, Baseline, Breakdown, Fault, FaultKind, HashScheme, InFlight, LiveEvent,
    Migration, Observation, Outage, PopulationConfig, Release, SegmentFilter, StepTruth,
    WorldConfig,
};
use toml::de::DeTable;

use crate::Diagnostic;
use crate::reader::{Obj, Reader};
use crate::spec::{self, MAX_BUILDS};

/// One run of the game, in minutes.
const SESSION_LENGTH: Minutes = Minutes(12);

fn minutes(r: &mut Reader, t: &Obj<'_, '_>, key: &str) -> Option<Minutes> {
    let hours = t.number(key)?;
    let m = hours * 60.0;
    if (m - m.round()).abs() > 1e-6 {
        r.error(
            t.span_of(key),
            format!("`{key}` = {hours} is not a whole number of minutes ({m} min)"),
        );
        return None;
    }
    Some(Minutes(m.round() as u32))
}

fn share(r: &mut Reader, t: &Obj<'_, '_>, key: &str) -> Option<Share> {
    let percent = t.number(key)?;
    let bp = percent * 100.0;
    if (bp - bp.round()).abs() > 1e-6 {
        r.error(
            t.span_of(key),
            format!("`{key}` = {percent} is finer than rollcage's buckets of 0.01%"),
        );
        return None;
    }
    Share::from_basis_points(bp.round() as u16)
}

fn with_default<'a, 'i>(
    t: Option<Obj<'a, 'i>>,
    spec: &'static spec::TableSpec,
    empty: &'a DeTable<'i>,
) -> Obj<'a, 'i> {
    t.unwrap_or_else(|| Obj::new(spec, empty, 0..0))
}

fn population(t: &Obj<'_, '_>) -> Option<PopulationConfig> {
    let named = |key: &str, fallback: &str| {
        t.shares(key)
            .map(|s| s.into_iter().map(|(n, v, _)| (n, v)).collect())
            .or_else(|| (!t.has(key)).then(|| vec![(fallback.to_string(), 1.0)]))
    };
    let platforms = named("platforms", "all");
    let regions = named("regions", "global");
    let flag_refresh = t.integer("flag_refresh_min").map(|m| Minutes(m as u32));
    Some(PopulationConfig {
        players: t.integer("players")? as u32,
        runs_per_day: t.number("runs_per_day")?,
        activity_spread: t.number("activity_spread")?,
        crash_proneness_spread: t.number("crash_proneness_spread")?,
        latency_spread: t.number("latency_spread")?,
        skill_spread: t.number("skill_spread")?,
        new_player_share: t.number("new_player_share")?,
        platforms: platforms?,
        regions: regions?,
        flag_refresh: flag_refresh?,
        stale_client_share: t.number("stale_client_share")?,
        stale_refresh: Minutes(t.integer("stale_refresh_min")? as u32),
    })
}

fn baseline(t: &Obj<'_, '_>) -> Option<Baseline> {
    Some(Baseline {
        crash_rate: t.number("crash_rate")?,
        new_player_crash_multiplier: t.number("new_player_crash_multiplier")?,
        latency_ms_median: t.number("latency_ms_median")?,
        latency_spread: t.number("latency_spread")?,
        coins_per_run: t.number("coins_per_run")?,
        coins_spread: t.number("coins_spread")?,
        return_rate: t.number("return_rate")?,
        daily_cycle_amplitude: t.number("daily_cycle_amplitude")?,
        peak_hour: t.number("peak_hour")?,
        item_rate: t.number("item_rate")?,
    })
}

/// The metric's mean on the old build over the whole population, for default mixture widths.
fn baseline_mean(metric: Metric, b: &Baseline, p: &PopulationConfig) -> f64 {
    match metric {
        Metric::CrashRate => {
            b.crash_rate * (1.0 + p.new_player_share * (b.new_player_crash_multiplier - 1.0))
        }
        Metric::LatencyMs => {
            b.latency_ms_median * (b.latency_spread * b.latency_spread / 2.0).exp()
        }
        Metric::CoinsPerRun => b.coins_per_run,
        Metric::ReturnRate => b.return_rate,
        Metric::SaveErrorRate => 0.0,
    }
}

fn assignment(t: &Obj<'_, '_>) -> Option<HashScheme> {
    let group = t.text("group")?.to_string();
    Some(match t.text("hash")? {
        "launchdarkly-sha1" => HashScheme::LaunchDarklySha1 {
            key: group,
            salt: t.text("salt")?.to_string(),
            seed: t.integer("seed"),
        },
        _ => HashScheme::UnleashMurmur3 { group },
    })
}

fn segment(
    r: &mut Reader,
    t: &Obj<'_, '_>,
    population: Option<&PopulationConfig>,
) -> Option<SegmentFilter> {
    let mut filter =
        SegmentFilter { new_player: t.boolean("new_player"), ..SegmentFilter::default() };
    let population = population?;
    for (key, names) in [("platform", &population.platforms), ("region", &population.regions)] {
        let Some(wanted) = t.text(key) else { continue };
        match names.iter().position(|(n, _)| n == wanted) {
            Some(i) if key == "platform" => filter.platform = Some(i as u8),
            Some(i) => filter.region = Some(i as u8),
            None => {
                let known: Vec<&str> = names.iter().map(|(n, _)| n.as_str()).collect();
                r.error(
                    t.span_of(key),
                    format!(
                        "{key} `{wanted}` is not one of the population's {key}s ({})",
                        known.join(", ")
                    ),
                );
                return None;
            }
        }
    }
    Some(filter)
}

fn release(
    r: &mut Reader,
    t: &Obj<'_, '_>,
    population: Option<&PopulationConfig>,
) -> Option<Release> {
    let build = t.text("build");
    let mut features = Vec::new();
    let mut named: Vec<std::ops::Range<usize>> = Vec::new();
    let mut faults = Vec::new();
    let mut complete = true;
    for f in t.tables("features") {
        let Some(name) = f.text("name") else {
            complete = false;
            continue;
        };
        if let Some(i) = features.iter().position(|n| n == name) {
            r.report(
                Diagnostic::new(f.span_of("name"), format!("feature `{name}` is named twice"))
                    .label(named[i].clone(), "first named here"),
            );
        }
        features.push(name.to_string());
        named.push(f.span_of("name"));
        for fault in f.tables("faults") {
            let kind = fault_kind(r, &fault);
            let onset = minutes(r, &fault, "onset_h");
            let filter = match fault.table("segment") {
                Some(s) => segment(r, &s, population),
                None => Some(SegmentFilter::default()),
            };
            match (kind, onset, filter) {
                (Some(kind), Some(onset), Some(segment)) => {
                    faults.push(Fault { feature: features.len() - 1, kind, onset, segment });
                }
                _ => complete = false,
            }
        }
    }
    if features.is_empty() {
        features.push("release".to_string());
    }
    let migration = match t.text("migration") {
        Some("lazy") => Migration::Lazy,
        Some("eager") => Migration::Eager,
        _ => Migration::None,
    };
    let corrupts = faults.iter().any(|f| matches!(f.kind, FaultKind::SaveCorruption { .. }));
    if corrupts && migration == Migration::None {
        r.error(
            t.span_of("build"),
            "a save_corruption fault corrupts saves as they migrate, but this release does not migrate saves: set `migration`"
                .to_string(),
        );
    }
    complete.then_some(())?;
    Some(Release {
        build: BuildId::new(build?),
        features,
        faults,
        migration,
        backward_compatible: t.boolean("backward_compatible")?,
        faulty_share: t.number("faulty_share")?,
    })
}

/// A fault's kind from its keys, each of which means something for some kinds only.
fn fault_kind(r: &mut Reader, t: &Obj<'_, '_>) -> Option<FaultKind> {
    let kind = t.text("kind")?;
    let (needs, refuses): (&[&str], &[&str]) = match kind {
        "save_corruption" => (&["probability"], &["multiplier", "spread_h", "audited"]),
        "exploit" => (&["multiplier"], &["probability"]),
        _ => (&["multiplier"], &["probability", "spread_h", "audited"]),
    };
    let mut ok = true;
    for key in needs.iter().filter(|k| !t.has(k)) {
        r.error(t.span.clone(), format!("kind = \"{kind}\" needs `{key}`"));
        ok = false;
    }
    for key in refuses.iter().filter(|k| t.has(k)) {
        r.error(t.span_of(key), format!("`{key}` has no meaning for kind = \"{kind}\"; remove it"));
    }
    ok.then_some(())?;
    Some(match kind {
        "latency" => FaultKind::Latency { multiplier: t.number("multiplier")? },
        "retention" => FaultKind::Retention { multiplier: t.number("multiplier")? },
        "exploit" => {
            let spread = if t.has("spread_h") {
                minutes(r, t, "spread_h")?
            } else {
                Minutes::from_hours(24)
            };
            let audited = if t.has("audited") { t.number("audited")? } else { 1.0 };
            FaultKind::Exploit { multiplier: t.number("multiplier")?, spread, audited }
        }
        "save_corruption" => FaultKind::SaveCorruption { probability: t.number("probability")? },
        _ => FaultKind::CrashRate { multiplier: t.number("multiplier")? },
    })
}

/// A period's start and end, from its `start_h` and `duration_h`.
fn period(r: &mut Reader, t: &Obj<'_, '_>) -> Option<(Minutes, Minutes)> {
    let start = minutes(r, t, "start_h");
    let duration = minutes(r, t, "duration_h");
    let (start, duration) = (start?, duration?);
    Some((start, start + duration))
}

fn live_event(r: &mut Reader, t: &Obj<'_, '_>) -> Option<LiveEvent> {
    let (start, end) = period(r, t)?;
    Some(LiveEvent {
        name: t.text("name")?.to_string(),
        start,
        end,
        traffic_multiplier: t.number("traffic_multiplier")?,
        crash_multiplier: t.number("crash_multiplier")?,
        latency_multiplier: t.number("latency_multiplier")?,
    })
}

fn observation(r: &mut Reader, t: &Obj<'_, '_>) -> Option<Observation> {
    let mut outages = Vec::new();
    let mut complete = true;
    for o in t.tables("outages") {
        match (period(r, &o), o.boolean("backfill")) {
            (Some((start, end)), Some(backfill)) => outages.push(Outage { start, end, backfill }),
            _ => complete = false,
        }
    }
    complete.then_some(())?;
    Some(Observation {
        late: t.number("late_probability")?,
        gap: t.number("gap_probability")?,
        duplicate: t.number("duplicate_probability")?,
        outages,
    })
}

fn assignment_bug(
    r: &mut Reader,
    t: &Obj<'_, '_>,
    population: Option<&PopulationConfig>,
) -> Option<AssignmentBug> {
    let segment = match t.table("segment") {
        Some(s) => segment(r, &s, population)?,
        None => SegmentFilter::default(),
    };
    Some(AssignmentBug { share: t.number("share")?, segment })
}

fn stages(r: &mut Reader, policy: &Obj<'_, '_>, holdback: Option<Share>) -> Option<Vec<Stage>> {
    let mut stages = Vec::new();
    let mut complete = true;
    let tables = policy.tables("stages");
    for (i, t) in tables.iter().enumerate() {
        let share = share(r, t, "percent");
        let min_duration = minutes(r, t, "min_duration_h");
        match (share, min_duration, t.integer("min_sample"), t.boolean("approval")) {
            (Some(share), Some(min_duration), Some(min_sample), Some(approval)) => {
                if let Some(prev) = stages.last().map(|s: &Stage| s.share)
                    && share <= prev
                {
                    r.error(
                        t.span_of("percent"),
                        format!(
                            "stage percentages must increase ({} then {})",
                            prev.percent(),
                            share.percent()
                        ),
                    );
                }
                stages.push(Stage { share, min_duration, min_sample: min_sample as u64, approval });
            }
            _ => complete = false,
        }
        if i + 1 == tables.len()
            && let (Some(last), Some(h)) = (stages.last(), holdback)
            && u32::from(last.share.basis_points()) + u32::from(h.basis_points()) > 10_000
        {
            r.report(
                Diagnostic::new(
                    t.span_of("percent"),
                    format!(
                        "the last stage ({}%) plus the holdback ({}%) is {}%, above 100%",
                        last.share.percent(),
                        h.percent(),
                        last.share.percent() + h.percent(),
                    ),
                )
                .label_if(policy, "holdback_percent", "the holdback is set here")
                .help(format!(
                    "lower the last stage to at most {}% or shrink the holdback",
                    100.0 - h.percent()
                )),
            );
        }
        if holdback == Some(Share::ZERO)
            && let Some(min_sample) = t.integer("min_sample").filter(|&m| m > 0)
        {
            r.report(
                Diagnostic::new(
                    t.span_of("min_sample"),
                    format!(
                        "stage {} waits for {min_sample} holdback sessions, and holdback_percent is 0: it could never end",
                        i + 1
                    ),
                )
                .label_if(policy, "holdback_percent", "the holdback is set to 0 here")
                .help("give the policy a holdback, or set this stage's min_sample to 0"),
            );
        }
    }
    (complete && !stages.is_empty()).then_some(stages)
}

struct Context<'a> {
    baseline: Option<&'a Baseline>,
    population: Option<&'a PopulationConfig>,
    holdback: Option<Share>,
    features: Option<&'a [String]>,
    /// The segment breakdown and its cell names, once `segment_by` is read.
    cells: Option<(Breakdown, Vec<String>)>,
}

/// The cell names of a breakdown.
fn cell_names(breakdown: Breakdown, population: &PopulationConfig) -> Vec<String> {
    let names = |v: &[(String, f64)]| v.iter().map(|(n, _)| n.clone()).collect();
    match breakdown {
        Breakdown::None => vec!["all".to_string()],
        Breakdown::Platform => names(&population.platforms),
        Breakdown::Region => names(&population.regions),
    }
}

fn breakdown(t: &Obj<'_, '_>) -> Option<Breakdown> {
    Some(match t.text("segment_by")? {
        "platform" => Breakdown::Platform,
        "region" => Breakdown::Region,
        _ => Breakdown::None,
    })
}

/// The index of a named feature of the release, or an error at `key`.
fn feature_index(r: &mut Reader, t: &Obj<'_, '_>, key: &str, features: &[String]) -> Option<usize> {
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
fn rank_statistic(
    r: &mut Reader,
    t: &Obj<'_, '_>,
    method: &str,
    metric: Option<Metric>,
) -> Option<Statistic> {
    if t.text("statistic")? != "mann_whitney" {
        return Some(Statistic::Mean);
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
const METHOD_KEYS: [&str; 6] =
    ["looks", "spending", "planned_information", "mixture_sd", "effect", "beta"];

fn guardrail(r: &mut Reader, t: &Obj<'_, '_>, cx: &Context<'_>) -> Option<Guardrail> {
    let metric = t.text("metric").and_then(Metric::from_name);
    let method = t.text("method");
    let not_for = |r: &mut Reader, keys: &[&str], method: &str| {
        for key in keys.iter().filter(|k| t.has(k)) {
            r.error(
                t.span_of(key),
                format!("`{key}` has no meaning for method = \"{method}\"; remove it"),
            );
        }
    };
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
    let variance = match t.text("variance")? {
        "session" => VarianceModel::Session,
        _ => VarianceModel::Clustered,
    };
    let method = match method? {
        "threshold" => {
            not_for(r, &["alpha", "margin_relative", "margin_absolute", "variance"], "threshold");
            not_for(r, &METHOD_KEYS, "threshold");
            if !t.has("limit") {
                r.error(t.span.clone(), "method = \"threshold\" needs a `limit`".to_string());
            }
            Method::Threshold { limit: t.number("limit")? }
        }
        comparison => {
            if cx.holdback == Some(Share::ZERO) {
                r.error(
                    t.span_of("method"),
                    format!("method = \"{comparison}\" compares with the holdback, but holdback_percent is 0"),
                );
            }
            not_for(r, &["limit"], comparison);
            let own: &[&str] = match comparison {
                "bonferroni" => &["looks"],
                "spending" => &["spending", "planned_information"],
                "msprt" => &["mixture_sd"],
                "sprt" => &["effect", "beta"],
                _ => &[],
            };
            let foreign: Vec<&str> = METHOD_KEYS.into_iter().filter(|k| !own.contains(k)).collect();
            not_for(r, &foreign, comparison);
            let statistic = rank_statistic(r, t, comparison, metric);
            let test = Comparison { alpha: alpha?, margin, variance, statistic: statistic? };
            match comparison {
                "naive_z" => Method::NaiveZ(test),
                // The plans are filled in by `policy`, once the stages are known.
                "bonferroni" => {
                    Method::Bonferroni { test, looks: t.integer("looks").unwrap_or(0) as u32 }
                }
                "spending" => Method::Spending {
                    test,
                    spending: match t.text("spending") {
                        Some("pocock") => Spending::Pocock,
                        _ => Spending::OBrienFleming,
                    },
                    planned_information: t.number("planned_information").unwrap_or(0.0),
                },
                "sprt" => {
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
                _ => {
                    let mixture_sd = match t.number("mixture_sd") {
                        Some(sd) => sd,
                        None if t.has("mixture_sd") => return None,
                        None => 0.5 * baseline_mean(metric?, cx.baseline?, cx.population?),
                    };
                    if mixture_sd <= 0.0 {
                        r.error(
                            t.span.clone(),
                            "the metric's baseline mean is 0, so give `mixture_sd` explicitly"
                                .to_string(),
                        );
                        return None;
                    }
                    Method::Msprt { test, mixture_sd }
                }
            }
        }
    };
    let scope = match t.text("scope")? {
        "feature" => {
            if !t.has("feature") {
                r.error(
                    t.span_of("scope"),
                    "scope = \"feature\" needs the `feature` it kills".to_string(),
                );
            }
            Scope::Feature(feature_index(r, t, "feature", cx.features?)?)
        }
        other => {
            if t.has("feature") {
                r.error(
                    t.span_of("feature"),
                    format!("`feature` has no meaning for scope = \"{other}\"; remove it"),
                );
            }
            if other == "segment" && cx.cells.as_ref().is_some_and(|(b, _)| *b == Breakdown::None) {
                r.error(
                    t.span_of("scope"),
                    "scope = \"segment\" needs [policy] segment_by = \"platform\" or \"region\""
                        .to_string(),
                );
            }
            if other == "segment" && t.text("statistic") == Some("mann_whitney") {
                r.error(
                    t.span_of("scope"),
                    "statistic = \"mann_whitney\" compares the whole cohorts' latency histograms; \
                     use scope = \"release\" or \"feature\""
                        .to_string(),
                );
            }
            if other == "segment" { Scope::Segment } else { Scope::Release }
        }
    };
    let metric = metric?;
    let direction = match t.text("harmful") {
        Some("decrease") => Direction::Decrease,
        Some(_) => Direction::Increase,
        None => metric.harmful_direction(),
    };
    Some(Guardrail {
        name: t.text("name")?.to_string(),
        metric,
        direction,
        method,
        min_sample: t.integer("min_sample")? as u64,
        severity: if t.text("severity")? == "pause" { Severity::Pause } else { Severity::Rollback },
        breaches_required: t.integer("breaches_required")? as u32,
        scope,
        inconclusive_limit: t.integer("inconclusive_limit")? as u32,
    })
}

/// The rollback plan: the policy's part (kinds, retries, backoff) and the world's (durations,
/// failure chances), from one table per step.
fn rollback(r: &mut Reader, t: &Obj<'_, '_>) -> Option<(Vec<PlannedStep>, Vec<StepTruth>)> {
    let mut plan: Vec<PlannedStep> = Vec::new();
    let mut truth: Vec<StepTruth> = Vec::new();
    let mut complete = true;
    let mut last: Option<usize> = None;
    for step in t.tables("rollback") {
        let Some(name) = step.text("step") else {
            complete = false;
            continue;
        };
        let order = spec::STEPS.iter().position(|s| *s == name).expect("a declared step");
        if let Some(prev) = last
            && order <= prev
        {
            r.error(
                step.span_of("step"),
                format!("rollback steps run in the order {}, each at most once; {name} comes too late here", spec::STEPS.join(", ")),
            );
        }
        last = Some(order);
        let kind = match name {
            "stop_exposure" => StepKind::StopExposure,
            "return_players" => StepKind::ReturnPlayers,
            "revert_migration" => StepKind::RevertMigration,
            _ => {
                let Some(strategy) = step.text("strategy") else {
                    if !step.has("strategy") {
                        r.error(
                            step.span_of("step"),
                            "restore_players needs a `strategy`: snapshot, clawback or replay"
                                .to_string(),
                        );
                    }
                    complete = false;
                    continue;
                };
                StepKind::RestorePlayers(match strategy {
                    "snapshot" => Restore::Snapshot,
                    "clawback" => Restore::Clawback,
                    _ => Restore::Replay,
                })
            }
        };
        if name != "restore_players" && step.has("strategy") {
            r.error(
                step.span_of("strategy"),
                format!("`strategy` has no meaning for {name}; remove it"),
            );
        }
        match (
            step.integer("retries"),
            step.integer("backoff_min"),
            step.integer("duration_min"),
            step.number("failure_probability"),
            step.number("half_applied"),
        ) {
            (Some(retries), Some(backoff), Some(duration), Some(failure), Some(half)) => {
                plan.push(PlannedStep {
                    kind,
                    retries: retries as u32,
                    backoff: Minutes(backoff as u32),
                });
                truth.push(StepTruth {
                    kind,
                    duration: Minutes(duration as u32),
                    failure_probability: failure,
                    half_applied_probability: half,
                });
            }
            _ => complete = false,
        }
    }
    complete.then_some(())?;
    if plan.first().is_none_or(|p| p.kind != StepKind::StopExposure) {
        // The kill switch itself: instant and infallible unless the plan says otherwise.
        plan.insert(
            0,
            PlannedStep { kind: StepKind::StopExposure, retries: 0, backoff: Minutes(0) },
        );
        truth.insert(
            0,
            StepTruth {
                kind: StepKind::StopExposure,
                duration: Minutes(0),
                failure_probability: 0.0,
                half_applied_probability: 0.0,
            },
        );
    }
    Some((plan, truth))
}

/// What the schedule is expected to gather, from the population's mean traffic: the plan that
/// Bonferroni's looks, the spending functions' information and the sample-ratio check's looks are
/// set from. Each stage lasts its minimum duration, or longer if its minimum sample takes longer
/// at the expected traffic, rounded up to whole evaluations; the last stage goes on through the
/// holdback period.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    /// Hours of each stage (the last including the holdback period).
    pub stage_hours: Vec<f64>,
    /// Sessions per hour over the whole population.
    pub sessions_per_hour: f64,
    /// Evaluations over the schedule.
    pub looks: u32,
    /// Σ over stages of nₜnₕ/(nₜ + nₕ), in sessions.
    pub information: f64,
}

impl Schedule {
    pub fn new(
        stages: &[Stage],
        holdback: Share,
        holdback_period: Minutes,
        interval: Minutes,
        population: &PopulationConfig,
    ) -> Schedule {
        let sessions_per_hour = f64::from(population.players) * population.runs_per_day / 24.0;
        let h = holdback.percent() / 100.0;
        let step = interval.hours();
        let mut stage_hours = Vec::new();
        let mut information = 0.0;
        for (i, stage) in stages.iter().enumerate() {
            let s = stage.share.percent() / 100.0;
            let to_sample = stage.min_sample as f64 / (sessions_per_hour * s.min(h)).max(1e-9);
            let mut hours =
                (stage.min_duration.hours().max(to_sample) / step).ceil().max(1.0) * step;
            if i + 1 == stages.len() {
                hours += holdback_period.hours();
            }
            if h > 0.0 {
                information += sessions_per_hour * hours * s * h / (s + h);
            }
            stage_hours.push(hours);
        }
        let looks = (stage_hours.iter().sum::<f64>() / step).round().max(1.0) as u32;
        Schedule { stage_hours, sessions_per_hour, looks, information }
    }
}

struct Built {
    policy: PolicyConfig,
    evaluation_interval: Minutes,
    max_duration: Minutes,
    breakdown: Breakdown,
    in_flight: InFlight,
    rollback: Vec<StepTruth>,
}

fn policy(r: &mut Reader, t: &Obj<'_, '_>, cx: &Context<'_>) -> Option<Built> {
    let stages = stages(r, t, cx.holdback);
    let mut guardrails = Vec::new();
    let mut complete = true;
    for g in t.tables("guardrails") {
        if let Some(name) = g.text("name")
            && guardrails.iter().any(|x: &Guardrail| x.name == name)
        {
            r.error(g.span_of("name"), format!("guardrail `{name}` is named twice"));
        }
        match guardrail(r, &g, cx) {
            Some(g) => guardrails.push(g),
            None => complete = false,
        }
    }
    let holdback_period = minutes(r, t, "holdback_period_h");
    let interval = t.integer("evaluation_interval_min").map(|m| Minutes(m as u32));
    let plan = rollback(r, t);
    let stages = stages?;
    let resume = t.integer("resume_stage")? as usize;
    if resume > stages.len() {
        r.error(
            t.span_of("resume_stage"),
            format!("`resume_stage` = {resume}, but the policy has {} stages", stages.len()),
        );
        return None;
    }
    let (holdback_period, interval) = (holdback_period?, interval?);
    let schedule = stages.iter().map(|s| s.min_duration).fold(holdback_period, |a, b| a + b);
    let longest = Minutes((spec::MAX_HOURS * 60.0) as u32);
    if schedule > longest {
        let last = t.tables("stages").pop().map_or(t.span.clone(), |s| s.span_of("min_duration_h"));
        r.report(
            Diagnostic::new(
                last,
                format!(
                    "the stages' minimum durations and the holdback period add up to {} h ({:.1} days), past rollcage's bound of {} h (90 days)",
                    schedule.hours(),
                    schedule.hours() / 24.0,
                    spec::MAX_HOURS
                ),
            )
            .label_if(t, "holdback_period_h", "the holdback period adds this")
            .help("shorten the stages or the holdback period"),
        );
        return None;
    }
    let max_duration = if t.has("max_duration_h") {
        let m = minutes(r, t, "max_duration_h")?;
        if m < schedule {
            r.error(
                t.span_of("max_duration_h"),
                format!(
                    "`max_duration_h` = {} is shorter than the schedule itself ({} of stage minimums and holdback period)",
                    m.hours(),
                    schedule
                ),
            );
        }
        m
    } else {
        // Half as long again as the schedule, in whole evaluations, within the 90-day bound.
        let bound = (schedule.0 as f64 * 1.5).ceil() as u32;
        let bound = bound.div_ceil(interval.0).max(1) * interval.0;
        Minutes(bound.min(longest.0 / interval.0 * interval.0).max(schedule.0))
    };
    complete.then_some(())?;
    let (breakdown, cells) = cx.cells.clone()?;
    let (plan, truth) = plan?;
    let population = cx.population?;
    let holdback = cx.holdback?;
    let schedule = Schedule::new(&stages, holdback, holdback_period, interval, population);
    for g in &mut guardrails {
        match &mut g.method {
            Method::Bonferroni { looks, .. } if *looks == 0 => *looks = schedule.looks,
            Method::Spending { planned_information, .. } if *planned_information == 0.0 => {
                *planned_information = schedule.information;
            }
            _ => {}
        }
    }
    let srm_alpha = t.number("srm_alpha")?;
    let cell_shares = match breakdown {
        Breakdown::None => vec![1.0],
        Breakdown::Platform => population.platforms.iter().map(|(_, s)| *s).collect(),
        Breakdown::Region => population.regions.iter().map(|(_, s)| *s).collect(),
    };
    Some(Built {
        policy: PolicyConfig {
            stages,
            holdback,
            holdback_period,
            guardrails,
            resume_stage: resume - 1,
            rollback: plan,
            features: cx.features?.to_vec(),
            cells,
            cell_shares,
            multiplicity: match t.text("multiplicity")? {
                "bonferroni" => Multiplicity::Bonferroni,
                "holm" => Multiplicity::Holm,
                _ => Multiplicity::None,
            },
            srm: (srm_alpha > 0.0).then_some(SrmCheck { alpha: srm_alpha, looks: schedule.looks }),
        },
        evaluation_interval: interval,
        max_duration,
        breakdown,
        in_flight: if t.text("in_flight")? == "abort" { InFlight::Abort } else { InFlight::Drain },
        rollback: truth,
    })
}

/// What operator events may name: the policy's stage count, the release, its features and the
/// segment breakdown.
struct Names<'a> {
    stages: usize,
    release: Option<&'a str>,
    features: &'a [String],
    cells: Option<&'a (Breakdown, Vec<String>)>,
}

fn operator(r: &mut Reader, t: &Obj<'_, '_>, names: &Names<'_>) -> Option<ScheduledCommand> {
    let (stages, release) = (names.stages, names.release);
    let at = minutes(r, t, "at_h");
    let action = t.text("action")?;
    let note = t.text("note").unwrap_or("scripted").to_string();
    let misplaced = |r: &mut Reader, key: &str| {
        if t.has(key) {
            r.error(
                t.span_of(key),
                format!("`{key}` has no meaning for action = \"{action}\"; remove it"),
            );
        }
    };
    if action != "kill" {
        misplaced(r, "feature");
        misplaced(r, "segment");
    }
    let command = match action {
        "approve" => {
            misplaced(r, "build");
            let Some(stage) = t.integer("stage") else {
                if !t.has("stage") {
                    r.error(
                        t.span.clone(),
                        "action = \"approve\" needs the `stage` it approves".to_string(),
                    );
                }
                return None;
            };
            if stage as usize > stages {
                r.error(
                    t.span_of("stage"),
                    format!("`stage` = {stage}, but the policy has {stages} stages"),
                );
                return None;
            }
            Command::Approve { stage: stage as usize - 1 }
        }
        "new_build" => {
            misplaced(r, "stage");
            let Some(build) = t.text("build") else {
                if !t.has("build") {
                    r.error(
                        t.span.clone(),
                        "action = \"new_build\" needs the new `build` id".to_string(),
                    );
                }
                return None;
            };
            if Some(build) == release {
                r.error(
                    t.span_of("build"),
                    format!("new_build must name a build other than the release under test ({build}): a killed build never comes back"),
                );
            }
            Command::NewBuild { build: BuildId::new(build) }
        }
        other => {
            misplaced(r, "stage");
            misplaced(r, "build");
            match other {
                "kill" => Command::Kill { note, scope: kill_scope(r, t, names)? },
                "pause" => Command::Pause { note },
                _ => Command::Resume { note },
            }
        }
    };
    Some(ScheduledCommand { at: at?, command })
}

/// What an operator's kill switches off: the release, a feature, or a segment.
fn kill_scope(r: &mut Reader, t: &Obj<'_, '_>, names: &Names<'_>) -> Option<KillScope> {
    match (t.has("feature"), t.has("segment")) {
        (true, true) => {
            r.error(
                t.span_of("segment"),
                "a kill names a `feature` or a `segment`, not both".to_string(),
            );
            None
        }
        (true, false) => feature_index(r, t, "feature", names.features).map(KillScope::Feature),
        (false, true) => {
            let name = t.text("segment")?;
            let (breakdown, cells) = names.cells?;
            if *breakdown == Breakdown::None {
                r.error(
                    t.span_of("segment"),
                    "a segment kill needs [policy] segment_by = \"platform\" or \"region\""
                        .to_string(),
                );
                return None;
            }
            let found = cells.iter().position(|c| c == name);
            if found.is_none() {
                r.error(
                    t.span_of("segment"),
                    format!("`{name}` is not one of the segments ({})", cells.join(", ")),
                );
            }
            found.map(KillScope::Segment)
        }
        (false, false) => Some(KillScope::Release),
    }
}

fn expectations(t: &Obj<'_, '_>) -> Option<Expectations> {
    Some(Expectations {
        false_kill_rate_max: t.number("false_kill_rate_max"),
        false_stop_rate_max: t.number("false_stop_rate_max"),
        data_pause_rate_max: t.number("data_pause_rate_max"),
        data_pause_rate_min: t.number("data_pause_rate_min"),
        detection_rate_min: t.number("detection_rate_min"),
        time_to_detect_h_p90_max: t.number("time_to_detect_h_p90_max"),
        harmed_players_mean_max: t.number("harmed_players_mean_max"),
        released_rate_min: t.number("released_rate_min"),
        rolled_back_rate_min: t.number("rolled_back_rate_min"),
        rollback_h_p90_max: t.number("rollback_h_p90_max"),
        coins_lost_mean_max: t.number("coins_lost_mean_max"),
        exploit_coins_left_mean_max: t.number("exploit_coins_left_mean_max"),
        corrupted_saves_left_mean_max: t.number("corrupted_saves_left_mean_max"),
        oracle_violation_runs_max: t.integer("oracle_violation_runs_max")? as u64,
    })
}

/// Builds the scenario from its checked root table, reporting what involves several values.
pub(crate) fn scenario(r: &mut Reader, root: &Obj<'_, '_>) -> Option<Scenario> {
    let empty = DeTable::new();
    let population = root.table("population").as_ref().and_then(population);
    let baseline = root.table("baseline").as_ref().and_then(baseline);
    let assignment = assignment(&with_default(root.table("assignment"), &spec::ASSIGNMENT, &empty));
    let release = root.table("release").as_ref().and_then(|t| release(r, t, population.as_ref()));
    let mut live_events = Vec::new();
    let mut events_complete = true;
    for t in root.tables("live_events") {
        match live_event(r, &t) {
            Some(e) => live_events.push(e),
            None => events_complete = false,
        }
    }
    let observation =
        observation(r, &with_default(root.table("telemetry"), &spec::TELEMETRY, &empty));
    let bug = root.table("assignment_bug").map(|t| assignment_bug(r, &t, population.as_ref()));
    let policy_table = root.table("policy");
    let holdback = policy_table.as_ref().and_then(|t| share(r, t, "holdback_percent"));
    let cells = match (policy_table.as_ref().and_then(breakdown), population.as_ref()) {
        (Some(b), Some(p)) => Some((b, cell_names(b, p))),
        _ => None,
    };
    let cx = Context {
        baseline: baseline.as_ref(),
        population: population.as_ref(),
        holdback,
        features: release.as_ref().map(|rel| rel.features.as_slice()),
        cells: cells.clone(),
    };
    let built = policy_table.as_ref().and_then(|t| policy(r, t, &cx));
    let release_build = release.as_ref().map(|rel| rel.build.as_str().to_string());
    let names = Names {
        stages: built.as_ref().map_or(usize::MAX, |b| b.policy.stages.len()),
        release: release_build.as_deref(),
        features: release.as_ref().map_or(&[], |rel| rel.features.as_slice()),
        cells: cells.as_ref(),
    };
    let mut commands = Vec::new();
    let mut commands_complete = true;
    for t in root.tables("operator") {
        match operator(r, &t, &names) {
            Some(c) => {
                if let Some(b) = &built
                    && c.at > b.max_duration
                {
                    r.error(
                        t.span_of("at_h"),
                        format!(
                            "this event at {} comes after every run has ended ({}, max_duration_h)",
                            c.at, b.max_duration
                        ),
                    );
                }
                commands.push(c);
            }
            None => commands_complete = false,
        }
    }
    // Stable: events at the same time keep their order in the file.
    commands.sort_by_key(|c| c.at);
    let approvals: Vec<i64> = root
        .tables("operator")
        .iter()
        .filter(|t| t.text("action") == Some("approve"))
        .filter_map(|t| t.integer("stage"))
        .collect();
    let stage_tables = policy_table.as_ref().map(|t| t.tables("stages")).unwrap_or_default();
    for (i, stage) in stage_tables.iter().enumerate() {
        let number = i as i64 + 1;
        if stage.boolean("approval") == Some(true) && !approvals.contains(&number) {
            r.report(
                Diagnostic::new(
                    stage.span_of("approval"),
                    format!("stage {number} needs an approval, but no [[operator]] approves it"),
                )
                .help(format!(
                    "add an [[operator]] event with action = \"approve\" and stage = {number}"
                )),
            );
        }
    }
    let builds =
        1 + commands.iter().filter(|c| matches!(c.command, Command::NewBuild { .. })).count();
    if builds > MAX_BUILDS {
        r.error(
            root.span_of("operator"),
            format!("{builds} builds in one run is above rollcage's limit of {MAX_BUILDS}"),
        );
    }
    if let Some(name) = root.text("name").filter(|n| spec::RESERVED_NAMES.contains(n)) {
        r.error(
            root.span_of("name"),
            format!(
                "a scenario cannot be named `{name}`: <out>/{name}/ holds the reports of `rollcage {name}`; choose another name"
            ),
        );
    }
    let expect = expectations(&with_default(root.table("expect"), &spec::EXPECT, &empty));

    let (population, baseline, release, built) = (population?, baseline?, release?, built?);
    let (observation, assignment_bug) = (observation?, bug.map_or(Some(None), |b| b.map(Some))?);
    (events_complete && commands_complete).then_some(())?;
    // The slowest client sees a kill after its own refresh interval: that is the promise.
    let kill_propagation_bound = if population.stale_client_share > 0.0 {
        population.flag_refresh.max(population.stale_refresh)
    } else {
        population.flag_refresh
    };
    Some(Scenario {
        name: root.text("name")?.to_string(),
        description: root.text("description").unwrap_or_default().to_string(),
        compare: root.text("compare").map(str::to_string),
        seed: root.integer("seed")? as u64,
        runs: root.integer("runs")? as u32,
        world: WorldConfig {
            population,
            baseline,
            release,
            live_events,
            assignment: assignment?,
            holdback: built.policy.holdback,
            session_length: SESSION_LENGTH,
            breakdown: built.breakdown,
            in_flight: built.in_flight,
            rollback: built.rollback,
            watched: {
                let mut watched = [false; Metric::COUNT];
                for g in &built.policy.guardrails {
                    watched[g.metric.index()] = true;
                }
                watched
            },
            latency_histogram: built.policy.guardrails.iter().any(|g| {
                g.method.comparison().is_some_and(|c| c.statistic == Statistic::MannWhitney)
            }),
            carry_players: built.policy.guardrails.iter().any(|g| {
                g.method.comparison().is_some_and(|c| {
                    c.statistic == Statistic::Mean && c.variance == VarianceModel::Clustered
                })
            }),
            observation,
            assignment_bug,
            sabotage: None,
        },
        policy: built.policy,
        evaluation_interval: built.evaluation_interval,
        max_duration: built.max_duration,
        kill_propagation_bound,
        commands,
        expect: expect?,
    })
}
