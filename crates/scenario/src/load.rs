//! From a checked TOML tree to a [`Scenario`], with the checks that involve several values.

use rollcage_harness::{Expectations, Scenario, ScheduledCommand};
use rollcage_policy::{
    BuildId, Command, Direction, Guardrail, Margin, Method, Metric, Minutes, PolicyConfig,
    Severity, Share, Stage, VarianceModel,
};
use rollcage_sim::{
    Baseline, Fault, FaultKind, HashScheme, LiveEvent, PopulationConfig, Release, SegmentFilter,
    WorldConfig,
};
use toml::de::DeTable;

use crate::reader::{Obj, Reader};
use crate::spec::{self, MAX_BUILDS};

/// One run of the game, in minutes.
const SESSION_LENGTH: Minutes = Minutes(12);

fn minutes(r: &mut Reader<'_>, t: &Obj<'_, '_>, key: &str) -> Option<Minutes> {
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

fn share(r: &mut Reader<'_>, t: &Obj<'_, '_>, key: &str) -> Option<Share> {
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
    r: &mut Reader<'_>,
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
    r: &mut Reader<'_>,
    t: &Obj<'_, '_>,
    population: Option<&PopulationConfig>,
) -> Option<Release> {
    let build = t.text("build");
    let mut features = Vec::new();
    let mut faults = Vec::new();
    let mut complete = true;
    for f in t.tables("features") {
        let Some(name) = f.text("name") else {
            complete = false;
            continue;
        };
        if features.iter().any(|n| n == name) {
            r.error(f.span_of("name"), format!("feature `{name}` is named twice"));
        }
        features.push(name.to_string());
        for fault in f.tables("faults") {
            let kind = match (fault.text("kind"), fault.number("multiplier")) {
                (Some("latency"), Some(m)) => Some(FaultKind::Latency { multiplier: m }),
                (Some(_), Some(m)) => Some(FaultKind::CrashRate { multiplier: m }),
                _ => None,
            };
            let onset = minutes(r, &fault, "onset_h");
            let filter = match fault.table("segment") {
                Some(s) => segment(r, &s, population),
                None => Some(SegmentFilter::default()),
            };
            match (kind, onset, filter) {
                (Some(kind), Some(onset), Some(segment)) => {
                    faults.push(Fault { feature: name.to_string(), kind, onset, segment });
                }
                _ => complete = false,
            }
        }
    }
    if features.is_empty() {
        features.push("release".to_string());
    }
    complete.then_some(())?;
    Some(Release { build: BuildId::new(build?), features, faults })
}

fn live_event(r: &mut Reader<'_>, t: &Obj<'_, '_>) -> Option<LiveEvent> {
    let start = minutes(r, t, "start_h");
    let duration = minutes(r, t, "duration_h");
    let (start, duration) = (start?, duration?);
    Some(LiveEvent {
        name: t.text("name")?.to_string(),
        start,
        end: start + duration,
        traffic_multiplier: t.number("traffic_multiplier")?,
        crash_multiplier: t.number("crash_multiplier")?,
        latency_multiplier: t.number("latency_multiplier")?,
    })
}

fn stages(r: &mut Reader<'_>, policy: &Obj<'_, '_>, holdback: Option<Share>) -> Option<Vec<Stage>> {
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
            r.error(
                t.span_of("percent"),
                format!(
                    "the last stage ({}%) plus the holdback ({}%) is {}%, above 100%; lower the last stage to at most {}% or shrink the holdback",
                    last.share.percent(),
                    h.percent(),
                    last.share.percent() + h.percent(),
                    100.0 - h.percent()
                ),
            );
        }
    }
    (complete && !stages.is_empty()).then_some(stages)
}

struct Context<'a> {
    baseline: Option<&'a Baseline>,
    population: Option<&'a PopulationConfig>,
    holdback: Option<Share>,
}

fn guardrail(r: &mut Reader<'_>, t: &Obj<'_, '_>, cx: &Context<'_>) -> Option<Guardrail> {
    let metric = t.text("metric").and_then(Metric::from_name);
    let method = t.text("method");
    let not_for = |r: &mut Reader<'_>, keys: &[&str], method: &str| {
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
            not_for(
                r,
                &["alpha", "margin_relative", "margin_absolute", "mixture_sd", "variance"],
                "threshold",
            );
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
            if comparison == "naive_z" {
                not_for(r, &["mixture_sd"], comparison);
                Method::NaiveZ { alpha: alpha?, margin, variance }
            } else {
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
                Method::Msprt { alpha: alpha?, margin, variance, mixture_sd }
            }
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
    })
}

struct Built {
    policy: PolicyConfig,
    evaluation_interval: Minutes,
    max_duration: Minutes,
}

fn policy(r: &mut Reader<'_>, t: &Obj<'_, '_>, cx: &Context<'_>) -> Option<Built> {
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
        let bound = (schedule.0 as f64 * 1.5).ceil() as u32;
        Minutes(bound.div_ceil(interval.0).max(1) * interval.0)
    };
    complete.then_some(())?;
    Some(Built {
        policy: PolicyConfig {
            stages,
            holdback: cx.holdback?,
            holdback_period,
            guardrails,
            resume_stage: resume - 1,
        },
        evaluation_interval: interval,
        max_duration,
    })
}

fn operator(
    r: &mut Reader<'_>,
    t: &Obj<'_, '_>,
    stages: usize,
    release: Option<&str>,
) -> Option<ScheduledCommand> {
    let at = minutes(r, t, "at_h");
    let action = t.text("action")?;
    let note = t.text("note").unwrap_or("scripted").to_string();
    let misplaced = |r: &mut Reader<'_>, key: &str| {
        if t.has(key) {
            r.error(
                t.span_of(key),
                format!("`{key}` has no meaning for action = \"{action}\"; remove it"),
            );
        }
    };
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
                "kill" => Command::Kill { note },
                "pause" => Command::Pause { note },
                _ => Command::Resume { note },
            }
        }
    };
    Some(ScheduledCommand { at: at?, command })
}

fn expectations(t: &Obj<'_, '_>) -> Option<Expectations> {
    Some(Expectations {
        false_kill_rate_max: t.number("false_kill_rate_max"),
        detection_rate_min: t.number("detection_rate_min"),
        time_to_detect_h_p90_max: t.number("time_to_detect_h_p90_max"),
        harmed_players_mean_max: t.number("harmed_players_mean_max"),
        released_rate_min: t.number("released_rate_min"),
        oracle_violation_runs_max: t.integer("oracle_violation_runs_max")? as u64,
    })
}

/// Builds the scenario from its checked root table, reporting what involves several values.
pub(crate) fn scenario(r: &mut Reader<'_>, root: &Obj<'_, '_>) -> Option<Scenario> {
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
    let policy_table = root.table("policy");
    let holdback = policy_table.as_ref().and_then(|t| share(r, t, "holdback_percent"));
    let cx = Context { baseline: baseline.as_ref(), population: population.as_ref(), holdback };
    let built = policy_table.as_ref().and_then(|t| policy(r, t, &cx));
    let stage_count = built.as_ref().map_or(usize::MAX, |b| b.policy.stages.len());
    let release_build = release.as_ref().map(|rel| rel.build.as_str().to_string());
    let mut commands = Vec::new();
    let mut commands_complete = true;
    for t in root.tables("operator") {
        match operator(r, &t, stage_count, release_build.as_deref()) {
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
            r.error(
                stage.span_of("approval"),
                format!(
                    "stage {number} needs an approval, but no [[operator]] approves it: add one with action = \"approve\" and stage = {number}"
                ),
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
    let expect = expectations(&with_default(root.table("expect"), &spec::EXPECT, &empty));

    let (population, baseline, release, built) = (population?, baseline?, release?, built?);
    (events_complete && commands_complete).then_some(())?;
    let flag_refresh = population.flag_refresh;
    Some(Scenario {
        name: root.text("name")?.to_string(),
        description: root.text("description").unwrap_or_default().to_string(),
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
            sabotage: None,
        },
        policy: built.policy,
        evaluation_interval: built.evaluation_interval,
        max_duration: built.max_duration,
        kill_propagation_bound: flag_refresh,
        commands,
        expect: expect?,
    })
}
