//! What a rollback declared done must have left in the players' saves, read with their truth
//! ledger: nobody on the new schema, no save corrupt, no holdback save touched, and every restored
//! save holding exactly what its restore strategy promises.

use rollcage_policy::{BuildId, Minutes, StepKind};
use rollcage_sim::{Migration, Save};

use super::guarantee::{Oracle, Violations};
use rollcage_model::Scenario;

/// Checks the saves when the policy has declared `build` rolled back at `at`; `holdback` says
/// whether a player (by index) is in the holdback.
pub(super) fn check_saves(
    scenario: &Scenario,
    at: Minutes,
    build: &BuildId,
    saves: &[Save],
    holdback: &dyn Fn(usize) -> bool,
    violations: &mut Violations,
) {
    let plan = &scenario.policy.rollback;
    let restores = plan.iter().any(|s| matches!(s.kind, StepKind::RestorePlayers(_)));
    let migrates = scenario.world.release.migration != Migration::None;
    let (mut new_schema, mut corrupt, mut holdback_touched, mut broken_promise) = (0, 0, 0, 0);
    let mut first_promise = None;
    for (i, s) in saves.iter().enumerate() {
        new_schema += u64::from(migrates && s.schema == 1);
        corrupt += u64::from(restores && s.corrupted);
        if holdback(i)
            && (s.touched || s.schema == 1 || s.restored.is_some() || s.holdings != s.legit)
        {
            holdback_touched += 1;
        }
        if let Some(promised) = s.promised()
            && promised != s.holdings
        {
            broken_promise += 1;
            first_promise.get_or_insert((i, promised, s.holdings));
        }
    }
    for (count, what) in [
        (new_schema, "saves still on the new schema"),
        (corrupt, "saves still corrupt"),
        (holdback_touched, "holdback saves touched"),
    ] {
        if count > 0 {
            violations.record(Oracle::RollbackComplete, at, || {
                format!("build {build} was declared rolled back at {at} with {count} {what}")
            });
        }
    }
    if let Some((player, promised, held)) = first_promise {
        violations.record(Oracle::RestorePromise, at, || {
            format!(
                "{broken_promise} restored saves differ from their strategy's promise; player {player} holds {} coins, {} items, {} progress where {} coins, {} items, {} progress were promised",
                held.coins, held.items, held.progress, promised.coins, promised.items, promised.progress
            )
        });
    }
}
