//! The policy: its stages, guardrails and rollback plan, the traffic its schedule is expected to
//! gather, and when every run ends.

use rollcage_model::StepName;
use rollcage_policy::{
    Guardrail, Method, Minutes, Multiplicity, PlannedStep, PolicyConfig, Restore, Share, SrmCheck,
    Stage, StepKind,
};
use rollcage_sim::{Breakdown, InFlight, PopulationConfig, StepTruth};

use super::guardrail::guardrail;
use super::{Context, minutes, share};
use crate::Diagnostic;
use crate::reader::{Obj, Reader};
use crate::spec;

pub(super) fn stages(
    r: &mut Reader,
    policy: &Obj<'_, '_>,
    holdback: Option<Share>,
) -> Option<Vec<Stage>> {
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

/// The rollback plan: the policy's part (kinds, retries, backoff) and the world's (durations,
/// failure chances), from one table per step.
pub(super) fn rollback(
    r: &mut Reader,
    t: &Obj<'_, '_>,
) -> Option<(Vec<PlannedStep>, Vec<StepTruth>)> {
    let mut plan: Vec<PlannedStep> = Vec::new();
    let mut truth: Vec<StepTruth> = Vec::new();
    let mut complete = true;
    let mut last: Option<usize> = None;
    for step in t.tables("rollback") {
        let Some(name) = step.choice::<StepName>("step") else {
            complete = false;
            continue;
        };
        let order = name as usize;
        if let Some(prev) = last
            && order <= prev
        {
            r.error(
                step.span_of("step"),
                format!("rollback steps run in the order {}, each at most once; {name} comes too late here", spec::STEPS.join(", ")),
            );
        }
        last = Some(order);
        match rollback_step(r, &step, name) {
            Some((planned, world)) => {
                plan.push(planned);
                truth.push(world);
            }
            None => complete = false,
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

/// One rollback step named `name`: the policy's part and the world's.
pub(super) fn rollback_step(
    r: &mut Reader,
    step: &Obj<'_, '_>,
    name: StepName,
) -> Option<(PlannedStep, StepTruth)> {
    let kind = match name {
        StepName::StopExposure => StepKind::StopExposure,
        StepName::ReturnPlayers => StepKind::ReturnPlayers,
        StepName::RevertMigration => StepKind::RevertMigration,
        StepName::RestorePlayers => {
            if !step.has("strategy") {
                r.error(
                    step.span_of("step"),
                    "restore_players needs a `strategy`: snapshot, clawback or replay".to_string(),
                );
                return None;
            }
            StepKind::RestorePlayers(step.choice::<Restore>("strategy")?)
        }
    };
    if name != StepName::RestorePlayers && step.has("strategy") {
        r.error(
            step.span_of("strategy"),
            format!("`strategy` has no meaning for {name}; remove it"),
        );
    }
    let planned = PlannedStep {
        kind,
        retries: step.integer("retries")? as u32,
        backoff: Minutes(step.integer("backoff_min")? as u32),
    };
    let world = StepTruth {
        kind,
        duration: Minutes(step.integer("duration_min")? as u32),
        failure_probability: step.number("failure_probability")?,
        half_applied_probability: step.number("half_applied")?,
    };
    Some((planned, world))
}

/// What the schedule is expected to gather, from the population's mean traffic: the plan that
/// Bonferroni's looks, the spending functions' information and the sample-ratio check's looks are
/// set from. Each stage lasts its minimum duration, or longer if its minimum sample takes longer
/// at the expected traffic, rounded up to whole evaluations; the last stage goes on through the
/// holdback period.
#[derive(Clone, Debug, PartialEq)]
pub struct ExpectedTraffic {
    /// Hours of each stage (the last including the holdback period).
    pub stage_hours: Vec<f64>,
    /// Sessions per hour over the whole population.
    pub sessions_per_hour: f64,
    /// Evaluations over the schedule.
    pub looks: u32,
    /// Σ over stages of nₜnₕ/(nₜ + nₕ), in sessions.
    pub information: f64,
}

impl ExpectedTraffic {
    pub fn new(
        stages: &[Stage],
        holdback: Share,
        holdback_period: Minutes,
        interval: Minutes,
        population: &PopulationConfig,
    ) -> ExpectedTraffic {
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
        ExpectedTraffic { stage_hours, sessions_per_hour, looks, information }
    }
}

pub(super) struct Built {
    pub(super) policy: PolicyConfig,
    pub(super) evaluation_interval: Minutes,
    pub(super) max_duration: Minutes,
    pub(super) breakdown: Breakdown,
    pub(super) in_flight: InFlight,
    pub(super) rollback: Vec<StepTruth>,
}

pub(super) fn policy(r: &mut Reader, t: &Obj<'_, '_>, cx: &Context<'_>) -> Option<Built> {
    let stages = stages(r, t, cx.holdback);
    let (mut guardrails, complete) = guardrails(r, t, cx);
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
    let max_duration = run_bound(r, t, &stages, holdback_period, interval)?;
    complete.then_some(())?;
    let (breakdown, cells) = cx.cells.clone()?;
    let (plan, truth) = plan?;
    let population = cx.population?;
    let holdback = cx.holdback?;
    let traffic = ExpectedTraffic::new(&stages, holdback, holdback_period, interval, population);
    for g in &mut guardrails {
        match &mut g.method {
            Method::Bonferroni { looks, .. } if *looks == 0 => *looks = traffic.looks,
            Method::Spending { planned_information, .. } if *planned_information == 0.0 => {
                *planned_information = traffic.information;
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
            multiplicity: t.text("multiplicity")?.parse::<Multiplicity>().ok()?,
            srm: (srm_alpha > 0.0).then_some(SrmCheck { alpha: srm_alpha, looks: traffic.looks }),
        },
        evaluation_interval: interval,
        max_duration,
        breakdown,
        in_flight: t.choice::<InFlight>("in_flight")?,
        rollback: truth,
    })
}

/// The policy's guardrails, each name once, and whether every one could be built.
pub(super) fn guardrails(
    r: &mut Reader,
    t: &Obj<'_, '_>,
    cx: &Context<'_>,
) -> (Vec<Guardrail>, bool) {
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
    (guardrails, complete)
}

/// When every run ends: `max_duration_h`, or half as long again as the schedule (the stages'
/// minimum durations and the holdback period), which must itself fit in rollcage's 90 days.
pub(super) fn run_bound(
    r: &mut Reader,
    t: &Obj<'_, '_>,
    stages: &[Stage],
    holdback_period: Minutes,
    interval: Minutes,
) -> Option<Minutes> {
    let schedule = rollcage_model::policy::schedule(stages, holdback_period);
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
    Some(if t.has("max_duration_h") {
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
    })
}
