//! Backtesting: a recorded rollout replayed under another policy. Each policy is judged on the
//! recording until it first decides otherwise than what was done; from there on the telemetry is
//! of what was done, so the replay stops, and what the policy would have changed is estimated
//! from the recorded sessions.

use rollcage_harness::telemetry::{Change, Decision, Exposure, LogEvent};
use rollcage_model::{Minutes, Share};

use crate::judge::Verdict;
use crate::{Names, change_text};

/// One policy's replay of a recorded rollout.
#[derive(Clone, Debug, PartialEq)]
pub struct Replay {
    /// Looks the policy judged before it parted from the rollout (all of them if it never did).
    pub looks: usize,
    /// Where it parted, if it did: the minute, what it decided, what the rollout did.
    pub diverged_at: Option<Minutes>,
    pub decided: String,
    pub happened: String,
    /// Its decision at the end of the replay (`diverged` when it parted).
    pub decision: &'static str,
    /// The treatment's sessions recorded from the divergence on.
    pub sessions_after: u64,
    /// How many more treatment sessions the policy would have exposed (fewer: negative, sessions
    /// saved), if sessions scale with the share exposed: to the end of the recording after a kill
    /// or a stop, which last; otherwise until the rollout's next change after the divergence, past
    /// which what the policy would have done is not known. `None` when the rollout exposed nothing
    /// where the policy would have, which the recording cannot tell.
    pub sessions_change: Option<i64>,
}

/// The replay of `verdict`, a policy judged on a recording with rollout log `log`.
pub fn replay(verdict: &Verdict, log: &[LogEvent], names: &Names) -> Replay {
    let judged = &verdict.judged;
    let decision = Decision::of(judged).name();
    let Some(d) = &judged.divergence else {
        return Replay {
            looks: judged.seen.len(),
            diverged_at: None,
            decided: String::new(),
            happened: String::new(),
            decision,
            sessions_after: 0,
            sessions_change: Some(0),
        };
    };
    // The share the policy would have kept exposing from the divergence on: a kill is taken to
    // stop exposure at once.
    let policy_share = match &d.decided {
        Some(Change::Flags(e)) => exposed(e),
        Some(Change::Kill) => 0.0,
        None => exposed(&d.current),
    };
    let lasting = policy_share == 0.0;
    let exposures: Vec<(Minutes, f64)> = log
        .iter()
        .filter_map(|e| match e {
            LogEvent::Exposure { at, exposure } => Some((*at, exposed(exposure))),
            _ => None,
        })
        .collect();
    let actual_share = |at: Minutes| {
        exposures.iter().take_while(|(t, _)| *t <= at).last().map_or(0.0, |&(_, s)| s)
    };
    let next_change = exposures.iter().map(|&(t, _)| t).find(|&t| t > d.at);
    let horizon = if lasting { None } else { next_change };
    let (mut after, mut change, mut known) = (0u64, 0.0, true);
    for &(start, _, sessions) in verdict.windows_read.iter().filter(|w| w.0 >= d.at) {
        after += sessions;
        if horizon.is_some_and(|h| start >= h) {
            continue;
        }
        let actual = actual_share(start);
        if actual > 0.0 {
            change += sessions as f64 * (policy_share / actual - 1.0);
        } else if policy_share > 0.0 {
            known = false;
        }
    }
    Replay {
        looks: judged.seen.len(),
        diverged_at: Some(d.at),
        decided: change_text(d.decided.as_ref(), names),
        happened: change_text(d.logged.as_ref(), names),
        decision,
        sessions_after: after,
        sessions_change: known.then(|| change.round() as i64),
    }
}

/// The share of players an exposure gives the build, from 0 to 1.
fn exposed(e: &Exposure) -> f64 {
    match (&e.build, e.everyone) {
        (None, _) => 0.0,
        (Some(_), true) => 1.0,
        (Some(_), false) => e.share.percent() / Share::ALL.percent(),
    }
}
