//! Planning stage durations from numbers: what each stage must gather for a guardrail to catch a
//! given harm, and the chance the planned schedule catches it.
//!
//! A plan starts from pilot runs: the scenario's own population, schedule and policy on a release
//! with no faults, a healthy telemetry pipeline and a correct assignment (operator commands other
//! than approvals left out): a plan is about the statistics, which a broken pipeline only delays. Every guardrail evaluation
//! of a pilot gives the estimate's standard error, the control's mean and the boundary the method
//! used, look by look, so the plan sees the variance the guardrail really sees (clustering, the
//! daily cycle, stratification by stage) and the boundaries the method really draws (looks that
//! did not test, spending analyses that waited, Bonferroni's budget running out). Pilots that the
//! policy stopped anyway (a false kill, a data pause) are left out and counted.
//!
//! For a harm of `effect` (a relative change of the baseline in the harmful direction), the harm
//! beyond the margin is h = μ·effect − margin. Then, per stage:
//!
//! - **power by the end of the stage**: the chance that some look up to the stage's last one
//!   rejects, with every look's boundary, computed by [`rollcage_stats::power`];
//! - **what the stage needs**: the information I at which a single test at the boundary in force
//!   at the stage's end has the requested power, h·√I − b(I) = z₁₋β, turned into sessions and hours
//!   at the stage's own traffic (what it gathers per hour in the pilots), on top of what the
//!   earlier stages gathered. A one-look figure: the stage's earlier looks only add to it.
//!
//! Both are averaged over the pilots. A clustered metric's information grows more slowly than its
//! sessions as players come back, so the hours needed are exact at the planned duration and an
//! underestimate far beyond it.

use rayon::prelude::*;
use rollcage_policy::{Evaluation, EventKind, Method, Statistic, Verdict};
use rollcage_sim::RunSeed;
use rollcage_stats::power::{Boundary, power};
use rollcage_stats::sequential::{msprt_z_bound, sprt_log_bounds, z_critical};
use rollcage_stats::{Margin, normal};

use crate::run::{Outcome, RunOptions, RunRecord, run_with_seed};
use rollcage_model::Scenario;

mod render;
pub use render::render;

/// What the designer asks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Request {
    /// The harm to detect: a relative change of the baseline mean in the harmful direction.
    pub effect: f64,
    /// The chance of detecting it, 1 − β.
    pub power: f64,
    /// Pilot runs to average over.
    pub pilots: u32,
}

/// The plan of every statistical guardrail (and segment cell) of a scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub request: Request,
    /// Pilot runs used, and those left out because the policy stopped them.
    pub pilots_used: u32,
    pub pilots_stopped: u32,
    /// Hours each stage lasted in the pilots, on average (the last including the holdback period).
    pub stage_hours: Vec<f64>,
    pub guardrails: Vec<GuardrailPlan>,
    /// Guardrails running a rank test, which are not planned: a rank test's power depends on the
    /// whole shape of the distribution, not on a mean and a variance.
    pub ranked: Vec<usize>,
}

/// One guardrail's plan, for everyone or one segment cell.
#[derive(Clone, Debug, PartialEq)]
pub struct GuardrailPlan {
    pub guardrail: usize,
    pub cell: Option<usize>,
    /// The holdback's mean at the pilots' last looks.
    pub baseline: f64,
    /// The harm beyond the margin that `effect` means, in the metric's units; at or below zero the
    /// guardrail is built not to catch it.
    pub harm: f64,
    pub stages: Vec<StagePlan>,
}

/// One stage of a guardrail's plan (figures averaged over the pilots).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StagePlan {
    /// Sessions the guardrail counted in the stage, new build and holdback.
    pub treatment_sessions: f64,
    pub holdback_sessions: f64,
    /// The chance of having caught the harm by the stage's end, on the planned schedule.
    pub power: f64,
    /// The standard error of `power` over the pilots (their schedules and variances differ).
    pub power_se: f64,
    /// What a single test at the stage's end needs; `None` when no information would do (the
    /// method has no alpha left, or the harm is within the margin).
    pub needs: Option<Need>,
}

/// What one stage must gather, on top of the earlier stages, for a test at its end to have the
/// requested power.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Need {
    pub treatment_sessions: f64,
    pub holdback_sessions: f64,
    pub hours: f64,
}

/// Why no plan could be made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlanError {
    /// Only threshold guardrails, which have no power to compute.
    NothingToPlan,
    /// The policy stopped every pilot run (this many) of a release with no faults.
    EveryPilotStopped(u32),
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlanError::NothingToPlan => write!(
                f,
                "the scenario has no statistical guardrail to plan (a threshold guardrail compares \
                 the new build with a fixed limit and has no power to compute)"
            ),
            PlanError::EveryPilotStopped(n) => write!(
                f,
                "the policy stopped all {n} pilot runs of the release with its faults removed, so \
                 no schedule ran to its end: its false-kill or data-pause rate is too high to plan \
                 from (`rollcage explain` with the scenario shows why a run stopped)"
            ),
        }
    }
}

impl std::error::Error for PlanError {}

/// One guardrail's look in a pilot: when, in which stage, and what the guardrail saw.
#[derive(Clone, Copy, Debug)]
struct PilotLook {
    stage: usize,
    evaluation: Evaluation,
}

/// Makes the plan of every statistical guardrail of `scenario`.
pub fn plan(scenario: &Scenario, request: Request) -> Result<Plan, PlanError> {
    let statistic =
        |g: &usize| scenario.policy.guardrails[*g].method.comparison().map(|c| c.statistic);
    let (guardrails, ranked): (Vec<usize>, Vec<usize>) = (0..scenario.policy.guardrails.len())
        .filter(|g| statistic(g).is_some())
        .partition(|g| statistic(g) == Some(Statistic::Mean));
    if guardrails.is_empty() && ranked.is_empty() {
        return Err(PlanError::NothingToPlan);
    }
    let clean = clean(scenario);
    let (pilots, stopped) = pilots(&clean, request.pilots);
    if pilots.is_empty() {
        return Err(PlanError::EveryPilotStopped(stopped));
    }
    let stages = scenario.policy.stages.len();
    let pilot_stages: Vec<Vec<(f64, Vec<PilotLook>)>> = pilots.iter().map(stage_windows).collect();
    let stage_hours = (0..stages)
        .map(|k| mean(pilot_stages.iter().map(|p| p.get(k).map_or(0.0, |w| w.0))))
        .collect();
    let mut plans = Vec::new();
    for g in guardrails {
        let mut cells: Vec<Option<usize>> = Vec::new();
        for look in pilot_stages.iter().flatten().flat_map(|w| &w.1) {
            if look.evaluation.guardrail == g && !cells.contains(&look.evaluation.cell) {
                cells.push(look.evaluation.cell);
            }
        }
        cells.sort();
        for cell in cells {
            plans.push(guardrail_plan(scenario, g, cell, &pilot_stages, request));
        }
    }
    Ok(Plan {
        request,
        pilots_used: pilots.len() as u32,
        pilots_stopped: stopped,
        stage_hours,
        guardrails: plans,
        ranked,
    })
}

/// The scenario on a release with no faults and a healthy telemetry pipeline and assignment,
/// driven only by its approvals.
fn clean(scenario: &Scenario) -> Scenario {
    scenario.with(|clean| {
        clean.world.release.faults.clear();
        clean.world.observation = rollcage_sim::Observation::default();
        clean.world.assignment_bug = None;
        clean.commands.retain(|c| matches!(c.command, rollcage_policy::Command::Approve { .. }));
    })
}

/// Runs pilots until `wanted` ran their schedule to the end, trying at most four times as many.
fn pilots(scenario: &Scenario, wanted: u32) -> (Vec<RunRecord>, u32) {
    let options = RunOptions { record_evaluations: true, ..RunOptions::default() };
    let limit = wanted.saturating_mul(4);
    let (mut used, mut stopped, mut next) = (Vec::new(), 0, 0);
    while (used.len() as u32) < wanted && next < limit {
        let batch = (wanted - used.len() as u32).min(limit - next);
        let records: Vec<RunRecord> = (next..next + batch)
            .into_par_iter()
            .map(|run| run_with_seed(scenario, run, RunSeed::derive(scenario.seed, run), options))
            .collect();
        next += batch;
        for record in records {
            if record.outcome == Outcome::CleanPass && record.released_at.is_some() {
                used.push(record);
            } else {
                stopped += 1;
            }
        }
    }
    (used, stopped)
}

/// A pilot's stages: hours each lasted and the guardrail looks made during it.
fn stage_windows(record: &RunRecord) -> Vec<(f64, Vec<PilotLook>)> {
    let mut windows: Vec<(f64, Vec<PilotLook>)> = Vec::new();
    let mut started = Vec::new();
    let mut end = record.ended_at;
    for event in &record.events {
        match &event.kind {
            EventKind::StageStarted { stage, .. } => {
                started.push(event.at);
                windows.resize(stage + 1, (0.0, Vec::new()));
            }
            EventKind::Released { .. } => end = event.at,
            EventKind::Evaluated(e) if !windows.is_empty() => {
                let stage = windows.len() - 1;
                windows[stage].1.push(PilotLook { stage, evaluation: *e });
            }
            // Looks before the first stage, and what a pilot's plan does not read.
            EventKind::Evaluated(_)
            | EventKind::GateHeld { .. }
            | EventKind::HoldbackPeriodStarted { .. }
            | EventKind::SampleRatioChecked(_)
            | EventKind::Paused { .. }
            | EventKind::Resumed { .. }
            | EventKind::Killed { .. }
            | EventKind::StepStarted { .. }
            | EventKind::StepSucceeded { .. }
            | EventKind::StepFailed { .. }
            | EventKind::RolledBack { .. }
            | EventKind::RollbackFailed { .. }
            | EventKind::Approved { .. }
            | EventKind::Refused { .. } => {}
        }
    }
    for (k, window) in windows.iter_mut().enumerate() {
        let until = started.get(k + 1).copied().unwrap_or(end);
        window.0 = (until.0 - started[k].0) as f64 / 60.0;
    }
    windows
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (mut sum, mut n) = (0.0, 0.0);
    for v in values {
        sum += v;
        n += 1.0;
    }
    if n > 0.0 { sum / n } else { 0.0 }
}

/// The standard error of the mean of `values` (0 for fewer than two).
fn standard_error(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    if n < 2.0 {
        return 0.0;
    }
    let m = mean(values.iter().copied());
    let variance = values.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n - 1.0);
    (variance / n).sqrt()
}

/// A look's boundaries on z given its variance, as the guardrail's method drew them (or would
/// have, for the methods whose boundary depends on the variance).
fn boundaries(method: &Method, e: &Evaluation, variance: f64) -> (f64, f64) {
    let none = f64::NEG_INFINITY;
    match *method {
        Method::Msprt { mixture_sd, .. } => (none, msprt_z_bound(variance, mixture_sd, e.alpha)),
        Method::Sprt { effect, beta, .. } => {
            let (accept, reject) = sprt_log_bounds(e.alpha, beta);
            let at = |log: f64| (variance * log / effect + effect / 2.0) / variance.sqrt();
            (at(accept), at(reject))
        }
        Method::Threshold { .. }
        | Method::NaiveZ(_)
        | Method::Bonferroni { .. }
        | Method::Spending { .. } => match e.verdict {
            Verdict::Pass | Verdict::Breach => (none, e.threshold),
            // No test was run at this look: no boundary to cross.
            Verdict::TooFewSamples
            | Verdict::NoVariance
            | Verdict::NoData
            | Verdict::Waiting
            | Verdict::Spent
            | Verdict::Accepted => (none, f64::INFINITY),
        },
    }
}

/// The information at which one test at boundary `bound(I)` has power `power` against `harm`:
/// the least I with harm·√I − bound(I) ≥ z₁₋β, by doubling then bisection; `None` when even a
/// billion times the first guess is not enough.
fn information_needed(harm: f64, power: f64, bound: impl Fn(f64) -> f64) -> Option<f64> {
    if harm <= 0.0 {
        return None;
    }
    let z = normal::quantile(power);
    let enough = |i: f64| harm * i.sqrt() - bound(i) >= z;
    let mut hi = ((z_critical(0.05) + z) / harm).powi(2);
    let mut tries = 0;
    while !enough(hi) {
        hi *= 2.0;
        tries += 1;
        if tries > 30 || !hi.is_finite() {
            return None;
        }
    }
    let mut lo = 0.0;
    for _ in 0..80 {
        let mid = 0.5 * (lo + hi);
        if enough(mid) { hi = mid } else { lo = mid }
    }
    Some(hi)
}

/// One pilot's looks for a guardrail, the walk of those that tested (with their stages) and the
/// cumulative power along it.
type PilotWalk<'a> = (Vec<&'a PilotLook>, Vec<(usize, Boundary)>, Vec<f64>);

/// The looks that tested, with information growing (a look that gained none adds nothing to the
/// walk), each with its stage and boundaries.
fn walk(method: &Method, looks: &[&PilotLook]) -> Vec<(usize, Boundary)> {
    let mut walk: Vec<(usize, Boundary)> = Vec::new();
    for look in looks {
        let Some(se) = look.evaluation.std_error.filter(|s| *s > 0.0 && s.is_finite()) else {
            continue;
        };
        let variance = se * se;
        let information = 1.0 / variance;
        if walk.last().is_some_and(|(_, b)| b.information >= information) {
            continue;
        }
        let (lower, upper) = boundaries(method, &look.evaluation, variance);
        walk.push((look.stage, Boundary { information, lower, upper }));
    }
    walk
}

fn guardrail_plan(
    scenario: &Scenario,
    g: usize,
    cell: Option<usize>,
    pilots: &[Vec<(f64, Vec<PilotLook>)>],
    request: Request,
) -> GuardrailPlan {
    let guardrail = &scenario.policy.guardrails[g];
    let test = guardrail.method.comparison().expect("only statistical guardrails are planned");
    let stages = scenario.policy.stages.len();
    let mine = |look: &&PilotLook| look.evaluation.guardrail == g && look.evaluation.cell == cell;
    let baseline = mean(pilots.iter().filter_map(|p| {
        p.iter()
            .flat_map(|w| &w.1)
            .filter(mine)
            .filter_map(|l| l.evaluation.control_mean)
            .next_back()
    }));
    let harm = match test.margin {
        Margin::Relative(m) => baseline.abs() * (request.effect - m),
        Margin::Absolute(m) => baseline.abs() * request.effect - m,
    };
    // The power along each pilot's looks, the costly part, pilot by pilot in parallel.
    let walks: Vec<PilotWalk<'_>> = pilots
        .par_iter()
        .map(|pilot| {
            let looks: Vec<&PilotLook> = pilot.iter().flat_map(|w| &w.1).filter(mine).collect();
            let walk = walk(&guardrail.method, &looks);
            let bounds: Vec<Boundary> = walk.iter().map(|w| w.1).collect();
            let caught = power(&bounds, harm.max(0.0));
            (looks, walk, caught)
        })
        .collect();
    let mut sums = StageSums::new(stages);
    for (pilot, walk) in pilots.iter().zip(&walks) {
        sums.add(&guardrail.method, pilot, walk, harm, request.power);
    }
    let stages = sums.average(pilots.len());
    GuardrailPlan { guardrail: g, cell, baseline, harm, stages }
}

/// What the pilots gathered, caught and needed in each stage of one guardrail's plan, pilot by
/// pilot, before they are averaged.
struct StageSums {
    /// Sessions counted, summed over the pilots.
    sums: Vec<StagePlan>,
    /// What each pilot's stage needed, for the pilots whose need could be met.
    needs: Vec<Vec<Need>>,
    /// The power by each stage's end, one per pilot.
    powers: Vec<Vec<f64>>,
}

impl StageSums {
    fn new(stages: usize) -> StageSums {
        StageSums {
            sums: vec![StagePlan::default(); stages],
            needs: vec![Vec::new(); stages],
            powers: vec![Vec::new(); stages],
        }
    }

    /// Adds one pilot's stages: its sessions, its power by each stage's end along its `walk`
    /// against `harm`, and what each stage needs for a test at its end to reach `power`.
    fn add(
        &mut self,
        method: &Method,
        pilot: &[(f64, Vec<PilotLook>)],
        (looks, walk, caught): &PilotWalk<'_>,
        harm: f64,
        power: f64,
    ) {
        let stages = self.sums.len();
        let (mut counts, mut information, mut last_bound) = ((0, 0), 0.0, None);
        for k in 0..stages {
            let hours = pilot.get(k).map_or(0.0, |w| w.0);
            let at_end = looks.iter().rev().find(|l| l.stage == k);
            let end_counts = at_end
                .map_or(counts, |l| (l.evaluation.treatment_count, l.evaluation.control_count));
            let gained = (end_counts.0 - counts.0, end_counts.1 - counts.1);
            self.sums[k].treatment_sessions += gained.0 as f64;
            self.sums[k].holdback_sessions += gained.1 as f64;
            let tested = walk.iter().rposition(|w| w.0 <= k);
            self.powers[k].push(tested.map_or(0.0, |i| caught[i]));
            let end_information =
                walk.iter().rev().find(|w| w.0 == k).map_or(information, |w| w.1.information);
            if let Some(b) = walk.iter().rev().find(|w| w.0 == k && w.1.upper.is_finite()) {
                last_bound = Some(b.1.upper);
            }
            let e = at_end.map(|l| l.evaluation);
            let bound = |i: f64| match (method, e) {
                (Method::Msprt { .. } | Method::Sprt { .. }, Some(e)) => {
                    boundaries(method, &e, 1.0 / i).1
                }
                _ => last_bound.unwrap_or(f64::INFINITY),
            };
            let rate = (end_information - information) / hours;
            if let Some(needed) = information_needed(harm, power, bound)
                && e.is_some()
                && rate > 0.0
            {
                let extra = ((needed - information) / rate).max(0.0);
                self.needs[k].push(Need {
                    treatment_sessions: gained.0 as f64 / hours * extra,
                    holdback_sessions: gained.1 as f64 / hours * extra,
                    hours: extra,
                });
            }
            counts = end_counts;
            information = end_information;
        }
    }

    /// The stages averaged over `pilots` pilots.
    fn average(self, pilots: usize) -> Vec<StagePlan> {
        let n = pilots as f64;
        self.sums
            .into_iter()
            .zip(self.needs)
            .zip(self.powers)
            .map(|((s, needs), powers)| StagePlan {
                treatment_sessions: s.treatment_sessions / n,
                holdback_sessions: s.holdback_sessions / n,
                power: mean(powers.iter().copied()),
                power_se: standard_error(&powers),
                // A stage whose need some pilot could not meet at all is reported as not meetable.
                needs: (needs.len() == pilots).then(|| Need {
                    treatment_sessions: mean(needs.iter().map(|x| x.treatment_sessions)),
                    holdback_sessions: mean(needs.iter().map(|x| x.holdback_sessions)),
                    hours: mean(needs.iter().map(|x| x.hours)),
                }),
            })
            .collect()
    }
}
