//! The world's tables: the population, the old build's baseline, the release and its faults,
//! live events, telemetry faults and the assignment.

use rollcage_model::{FaultName, HashName};
use rollcage_policy::{BuildId, Metric, Minutes};
use rollcage_sim::{
    AssignmentBug, Baseline, Fault, FaultKind, HashScheme, LiveEvent, Migration, Observation,
    Outage, PopulationConfig, Release, SegmentFilter,
};

use super::minutes;
use crate::Diagnostic;
use crate::reader::{Obj, Reader};

pub(super) fn population(t: &Obj<'_, '_>) -> Option<PopulationConfig> {
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

pub(super) fn baseline(t: &Obj<'_, '_>) -> Option<Baseline> {
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
pub(super) fn baseline_mean(metric: Metric, b: &Baseline, p: &PopulationConfig) -> f64 {
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

pub(super) fn assignment(t: &Obj<'_, '_>) -> Option<HashScheme> {
    let group = t.text("group")?.to_string();
    Some(match t.choice::<HashName>("hash")? {
        HashName::LaunchDarklySha1 => HashScheme::LaunchDarklySha1 {
            key: group,
            salt: t.text("salt")?.to_string(),
            seed: t.integer("seed"),
        },
        HashName::UnleashMurmur3 => HashScheme::UnleashMurmur3 { group },
    })
}

pub(super) fn segment(
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

pub(super) fn release(
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
    let migration = t.choice::<Migration>("migration")?;
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
pub(super) fn fault_kind(r: &mut Reader, t: &Obj<'_, '_>) -> Option<FaultKind> {
    let name = t.choice::<FaultName>("kind")?;
    let kind: &str = name.into();
    let (needs, refuses): (&[&str], &[&str]) = match name {
        FaultName::SaveCorruption => (&["probability"], &["multiplier", "spread_h", "audited"]),
        FaultName::Exploit => (&["multiplier"], &["probability"]),
        FaultName::CrashRate | FaultName::Latency | FaultName::Retention => {
            (&["multiplier"], &["probability", "spread_h", "audited"])
        }
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
    Some(match name {
        FaultName::CrashRate => FaultKind::CrashRate { multiplier: t.number("multiplier")? },
        FaultName::Latency => FaultKind::Latency { multiplier: t.number("multiplier")? },
        FaultName::Retention => FaultKind::Retention { multiplier: t.number("multiplier")? },
        FaultName::Exploit => {
            let spread = if t.has("spread_h") {
                minutes(r, t, "spread_h")?
            } else {
                Minutes::from_hours(24)
            };
            let audited = if t.has("audited") { t.number("audited")? } else { 1.0 };
            FaultKind::Exploit { multiplier: t.number("multiplier")?, spread, audited }
        }
        FaultName::SaveCorruption => {
            FaultKind::SaveCorruption { probability: t.number("probability")? }
        }
    })
}

/// A period's start and end, from its `start_h` and `duration_h`.
pub(super) fn period(r: &mut Reader, t: &Obj<'_, '_>) -> Option<(Minutes, Minutes)> {
    let start = minutes(r, t, "start_h");
    let duration = minutes(r, t, "duration_h");
    let (start, duration) = (start?, duration?);
    Some((start, start + duration))
}

pub(super) fn live_event(r: &mut Reader, t: &Obj<'_, '_>) -> Option<LiveEvent> {
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

pub(super) fn observation(r: &mut Reader, t: &Obj<'_, '_>) -> Option<Observation> {
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

pub(super) fn assignment_bug(
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
