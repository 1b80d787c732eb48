//! The alpha-spending test: a group-sequential analysis whose spent alpha follows the schedule's
//! calendar and whose boundaries follow the statistical information.

use rollcage_stats::spending::GroupSequential;

use super::evaluation::{Evaluation, Verdict};
use super::harm::Harm;
use super::memory::{Analysis, Memory};
use super::method::Scaled;

/// A spending test runs a new analysis only when its information has grown by this factor.
const INFORMATION_STEP: f64 = 1.1;

/// The statistical information 1/V at an analysis whose calendar information is `calendar`. A
/// variance that grew faster than the data (a harm that grows, or a noisy estimate of few
/// players) would make it fall, and the boundaries need it to grow: then it grows as the calendar
/// does since the last analysis, the correlation the sessions alone imply.
fn statistical_information(harm: &Harm, calendar: f64, last: Option<Analysis>) -> f64 {
    let statistical = (harm.std_error * harm.std_error).recip();
    match last {
        Some(a) if statistical <= a.statistical => a.statistical * calendar / a.calendar,
        _ => statistical,
    }
}

/// What a spending test spends: its function, the information (in sessions) it plans for, and
/// the alpha in force.
#[derive(Clone, Copy)]
pub(super) struct Plan {
    pub(super) spending: rollcage_stats::spending::Spending,
    pub(super) planned: f64,
    pub(super) alpha: f64,
}

impl Plan {
    fn fraction(&self, calendar: f64) -> f64 {
        calendar / self.planned
    }

    /// What the current evidence may have spent by `calendar`: the function's alpha there, less
    /// what earlier evidence of the build spent.
    fn budget(&self, memory: &Memory, calendar: f64) -> f64 {
        let cumulative = self.spending.cumulative(self.alpha, self.fraction(calendar));
        (cumulative - memory.spent_before).max(0.0)
    }
}

/// A group-sequential analysis under alpha spending. How much alpha it may have spent follows the
/// schedule's calendar: the information in sessions, as a fraction of the planned information
/// (Lan and DeMets allow any calendar), and the final look spends what is left. How its statistic
/// moves with the earlier analyses' follows the statistical information 1/V, which for a clustered
/// metric grows more slowly than its sessions once players come back: computing the boundaries on
/// sessions would take the analyses for less correlated than they are and spend less than the
/// alpha.
pub(super) fn spend(
    plan: Plan,
    harm: &Harm,
    scaled: Scaled,
    last_look: bool,
    memory: &mut Memory,
    e: &mut Evaluation,
) -> Verdict {
    let gathered = memory.calendar_before + harm.information;
    // The final look counts as the whole plan.
    let calendar = if last_look { gathered.max(plan.planned) } else { gathered };
    e.information_fraction = Some(plan.fraction(gathered));
    if memory.test_alpha != plan.alpha {
        // The alpha in force changed (Holm passed on a breached guardrail's share): the
        // boundaries of every analysis so far (if any) are recomputed at the new level.
        memory.test = GroupSequential::new();
        for a in memory.analyses.clone() {
            let cumulative = plan.budget(memory, a.calendar);
            memory.test.analyse(a.statistical, cumulative);
        }
    }
    memory.test_alpha = plan.alpha;
    e.alpha_spent = Some(memory.spent());
    let last = memory.analyses.last().copied();
    if last.is_some_and(|a| plan.fraction(a.calendar) >= 1.0)
        || (last.is_none() && plan.fraction(memory.calendar_before) >= 1.0)
    {
        // The analysis at the planned information spent whatever was left.
        return Verdict::Spent;
    }
    if last.is_some_and(|a| !last_look && calendar < a.calendar * INFORMATION_STEP) {
        return Verdict::Waiting;
    }
    let statistical = statistical_information(harm, calendar, last);
    let bound = memory.test.analyse(statistical, plan.budget(memory, calendar));
    memory.analyses.push(Analysis { calendar, statistical });
    e.alpha_spent = Some(memory.spent());
    let breach = if bound.is_infinite() {
        // Nothing to spend yet (O'Brien–Fleming at a sliver of the information): this analysis
        // cannot breach, and it is no interval's business.
        e.threshold = bound;
        e.statistic = Some(scaled.z);
        false
    } else {
        scaled.z_rule(e, bound)
    };
    if breach { Verdict::Breach } else { Verdict::Pass }
}
