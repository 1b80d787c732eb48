//! From a checked TOML tree to a [`Scenario`], with the checks that involve several values.

mod guardrail;
mod operator;
mod policy;
mod world;

use rollcage_model::{Definition, Expectations, Scenario};
use rollcage_policy::{Metric, Minutes, Share};
use rollcage_sim::{Baseline, Breakdown, LiveEvent, PopulationConfig, WorldConfig};
use toml::de::DeTable;

use crate::reader::{Obj, Reader};
use crate::spec;
use guardrail::{breakdown, cell_names};
use operator::{Names, approvals_given, builds_and_name, operators};
use policy::policy;
use world::{assignment, assignment_bug, baseline, live_event, observation, population, release};

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

struct Context<'a> {
    baseline: Option<&'a Baseline>,
    population: Option<&'a PopulationConfig>,
    holdback: Option<Share>,
    features: Option<&'a [String]>,
    /// The segment breakdown and its cell names, once `segment_by` is read.
    cells: Option<(Breakdown, Vec<String>)>,
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

/// The live events, and whether every one could be read.
fn live_events(r: &mut Reader, root: &Obj<'_, '_>) -> (Vec<LiveEvent>, bool) {
    let mut events = Vec::new();
    let mut complete = true;
    for t in root.tables("live_events") {
        match live_event(r, &t) {
            Some(e) => events.push(e),
            None => complete = false,
        }
    }
    (events, complete)
}

pub(crate) fn scenario(r: &mut Reader, root: &Obj<'_, '_>) -> Option<Scenario> {
    let empty = DeTable::new();
    let population = root.table("population").as_ref().and_then(population);
    let baseline = root.table("baseline").as_ref().and_then(baseline);
    let assignment = assignment(&with_default(root.table("assignment"), &spec::ASSIGNMENT, &empty));
    let release = root.table("release").as_ref().and_then(|t| release(r, t, population.as_ref()));
    let (live_events, events_complete) = live_events(r, root);
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
    let (commands, commands_complete) = operators(r, root, &names, built.as_ref());
    approvals_given(r, root, policy_table.as_ref());
    builds_and_name(r, root, &commands);
    let expect = expectations(&with_default(root.table("expect"), &spec::EXPECT, &empty));

    let (population, baseline, release, mut built) = (population?, baseline?, release?, built?);
    let (observation, assignment_bug) = (observation?, bug.map_or(Some(None), |b| b.map(Some))?);
    (events_complete && commands_complete).then_some(())?;
    let world = WorldConfig {
        population,
        baseline,
        release,
        live_events,
        assignment: assignment?,
        holdback: built.policy.holdback,
        session_length: SESSION_LENGTH,
        breakdown: built.breakdown,
        in_flight: built.in_flight,
        rollback: std::mem::take(&mut built.rollback),
        // Derived from the policy by `Scenario::new`.
        watched: [false; Metric::COUNT],
        latency_histogram: false,
        carry_players: false,
        report_unexposed: false,
        observation,
        assignment_bug,
        sabotage: None,
    };
    Some(Scenario::new(Definition {
        name: root.text("name")?.to_string(),
        description: root.text("description").unwrap_or_default().to_string(),
        compare: root.text("compare").map(str::to_string),
        seed: root.integer("seed")? as u64,
        runs: root.integer("runs")? as u32,
        world,
        policy: built.policy,
        evaluation_interval: built.evaluation_interval,
        max_duration: built.max_duration,
        commands,
        expect: expect?,
    }))
}
