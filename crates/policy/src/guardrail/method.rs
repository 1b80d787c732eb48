//! Each method's decision at a look: an absolute threshold on the treatment's mean, or a test of
//! the harm (naive z, Bonferroni, alpha spending, mSPRT, SPRT) with what it keeps in memory.

use rollcage_stats::sequential::{
    msprt_log_lr, msprt_log_threshold, msprt_p_value, msprt_z_bound, sprt_log_bounds, sprt_log_lr,
    z_critical,
};
use rollcage_stats::student::effective_std_error;
use rollcage_stats::{Direction, Moments};

use super::Look;
use super::evaluation::{Evaluation, Verdict};
use super::harm::Harm;
use super::memory::Memory;
use super::spending::{Plan, spend};
use rollcage_model::{Guardrail, Method};

/// An absolute critical threshold on the treatment's mean.
pub(super) fn threshold(g: &Guardrail, treatment: &Moments, e: &mut Evaluation) {
    let Method::Threshold { limit } = g.method else {
        unreachable!("only a threshold has no test")
    };
    e.threshold = limit;
    if treatment.count < g.min_sample {
        return;
    }
    let mean = treatment.mean().expect("a minimum sample is at least one session");
    e.statistic = Some(mean);
    let breach = match g.direction {
        Direction::Increase => mean > limit,
        Direction::Decrease => mean < limit,
    };
    e.verdict = if breach { Verdict::Breach } else { Verdict::Pass };
}

/// The normal-scale view of a harm every method decides on: the estimate, the standard error
/// under which its z has the tail probability its statistic has under its reference
/// distribution, and that z.
#[derive(Clone, Copy)]
pub(super) struct Scaled {
    estimate: f64,
    se: f64,
    pub(super) z: f64,
}

impl Scaled {
    /// Records the z rule at `bound` in the evaluation and says whether it rejects.
    pub(super) fn z_rule(&self, e: &mut Evaluation, bound: f64) -> bool {
        e.statistic = Some(self.z);
        e.threshold = bound;
        e.interval = Some((self.estimate - bound * self.se, self.estimate + bound * self.se));
        self.z >= bound
    }
}

/// Runs the method's decision on a harm with a usable variance.
pub(super) fn decide(
    method: Method,
    harm: &Harm,
    look: &Look,
    memory: &mut Memory,
    e: &mut Evaluation,
) -> Verdict {
    let estimate = harm.estimate;
    let se = effective_std_error(estimate, harm.std_error, harm.degrees_of_freedom);
    let scaled = Scaled { estimate, se, z: estimate / se };
    let alpha = look.alpha;
    let breach = match method {
        Method::Threshold { .. } => unreachable!("decided by `threshold`"),
        Method::NaiveZ(_) => {
            memory.looks += 1;
            e.alpha_spent = Some((f64::from(memory.looks) * alpha).min(1.0));
            scaled.z_rule(e, z_critical(alpha))
        }
        Method::Bonferroni { looks: planned, .. } => {
            memory.looks += 1;
            if memory.looks > planned {
                e.alpha_spent = Some(alpha);
                e.threshold = f64::INFINITY;
                return Verdict::Spent;
            }
            let per_look = alpha / f64::from(planned);
            e.alpha_spent = Some(f64::from(memory.looks) * per_look);
            scaled.z_rule(e, z_critical(per_look))
        }
        Method::Spending { spending, planned_information, .. } => {
            let plan = Plan { spending, planned: planned_information * look.plan_share, alpha };
            return spend(plan, harm, scaled, look.last, memory, e);
        }
        Method::Msprt { mixture_sd, .. } => {
            let variance = se * se;
            memory.last_log_lr = msprt_log_lr(estimate, variance, mixture_sd);
            let llr = memory.log_lr_before + memory.last_log_lr;
            let threshold = msprt_log_threshold(alpha);
            memory.p_value = memory.p_value.min(msprt_p_value(llr));
            e.p_value = Some(memory.p_value);
            // The confidence sequence of the current evidence, at the alpha the earlier
            // evidence's likelihood ratio leaves it: Λ·Λ_before ≥ 1/α.
            let remaining = (alpha * memory.log_lr_before.exp()).min(0.5);
            let half = msprt_z_bound(variance, mixture_sd, remaining) * se;
            e.interval = Some((estimate - half, estimate + half));
            e.statistic = Some(llr);
            e.threshold = threshold;
            llr >= threshold
        }
        Method::Sprt { effect, beta, .. } => {
            let (accept, reject) = sprt_log_bounds(alpha, beta);
            memory.last_log_lr = sprt_log_lr(estimate, se * se, effect);
            let llr = memory.log_lr_before + memory.last_log_lr;
            let fixed = z_critical(alpha);
            e.interval = Some((estimate - fixed * se, estimate + fixed * se));
            e.statistic = Some(llr);
            e.threshold = reject;
            e.accept_below = Some(accept);
            if llr <= accept {
                memory.accepted = true;
                return Verdict::Accepted;
            }
            llr >= reject
        }
    };
    if breach { Verdict::Breach } else { Verdict::Pass }
}
