//! The typed scenario: the world, the policy, the operators' script, the batch and the
//! expectations that decide the exit code, as a file defines them ([`Definition`]), and the facts
//! that follow from them ([`Scenario`]). Built by `rollcage-scenario` from a TOML file.

use std::ops::Deref;
use std::sync::Arc;

use crate::command::Command;
use crate::hash::buckets;
use crate::metric::Metric;
use crate::policy::{PolicyConfig, Statistic};
use crate::units::{Bucket, Minutes};
use crate::world::WorldConfig;
use rollcage_stats::VarianceModel;

/// An operator command at a time. Commands take effect at the first evaluation boundary at or
/// after their time.
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduledCommand {
    pub at: Minutes,
    pub command: Command,
}

/// What the batch must show for the scenario to hold. Each bound is optional.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Expectations {
    pub false_kill_rate_max: Option<f64>,
    pub false_stop_rate_max: Option<f64>,
    pub data_pause_rate_max: Option<f64>,
    pub data_pause_rate_min: Option<f64>,
    pub detection_rate_min: Option<f64>,
    pub time_to_detect_h_p90_max: Option<f64>,
    pub harmed_players_mean_max: Option<f64>,
    pub released_rate_min: Option<f64>,
    pub rolled_back_rate_min: Option<f64>,
    pub rollback_h_p90_max: Option<f64>,
    pub coins_lost_mean_max: Option<f64>,
    pub exploit_coins_left_mean_max: Option<f64>,
    pub corrupted_saves_left_mean_max: Option<f64>,
    /// Runs with an oracle violation the scenario tolerates (0 unless stated).
    pub oracle_violation_runs_max: u64,
}

/// A scenario as its file defines it: the world, the policy, the operators' script, the batch and
/// the expectations. [`Scenario::new`] derives the rest.
#[derive(Clone, Debug, PartialEq)]
pub struct Definition {
    pub name: String,
    pub description: String,
    /// Scenarios that share a comparison group are printed side by side after a batch.
    pub compare: Option<String>,
    pub seed: u64,
    pub runs: u32,
    /// The world. Its flags that follow from the policy (`holdback`, `watched`,
    /// `latency_histogram`, `carry_players`, `report_unexposed`) are derived by
    /// [`Scenario::new`]: whatever a definition holds there is replaced.
    pub world: WorldConfig,
    pub policy: PolicyConfig,
    /// How often telemetry reaches the policy.
    pub evaluation_interval: Minutes,
    /// The schedule bound: a rollout that is never stopped must be released by then. Also the
    /// end of every run.
    pub max_duration: Minutes,
    /// Operator commands, in time order.
    pub commands: Vec<ScheduledCommand>,
    pub expect: Expectations,
}

/// A complete, validated scenario with the facts that follow from its definition: the world flags
/// its policy needs and every player's bucket. It reads as its [`Definition`] (`scenario.world`,
/// `scenario.policy`, ...); a changed scenario is made with [`Scenario::with`], which derives the
/// facts again, so they can never disagree with the definition.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    definition: Definition,
    /// Every player's bucket, in player order. A bucket depends only on the player's id and the
    /// assignment salt, so it is computed once per scenario and shared by all its runs.
    buckets: Arc<[Bucket]>,
}

impl Scenario {
    /// The scenario `definition` defines, with its derived facts.
    pub fn new(definition: Definition) -> Scenario {
        let buckets = buckets(&definition.world.assignment, definition.world.population.players);
        Scenario::derive(definition, buckets.into())
    }

    fn derive(mut definition: Definition, buckets: Arc<[Bucket]>) -> Scenario {
        derive_world_flags(&mut definition.world, &definition.policy);
        Scenario { definition, buckets }
    }

    /// This scenario with `edit` made to its definition, and the facts derived again (the buckets
    /// only when the players or their assignment changed).
    pub fn with(&self, edit: impl FnOnce(&mut Definition)) -> Scenario {
        let mut definition = self.definition.clone();
        edit(&mut definition);
        let (old, new) = (&self.definition.world, &definition.world);
        if old.assignment == new.assignment && old.population.players == new.population.players {
            Scenario::derive(definition, Arc::clone(&self.buckets))
        } else {
            Scenario::new(definition)
        }
    }

    /// Every player's bucket, in player order.
    pub fn buckets(&self) -> &[Bucket] {
        &self.buckets
    }

    /// The promised bound on how long after a kill a client may still start a session on the
    /// killed build: the slowest client sees a kill after its own refresh interval.
    pub fn kill_propagation_bound(&self) -> Minutes {
        let population = &self.world.population;
        if population.stale_client_share > 0.0 {
            population.flag_refresh.max(population.stale_refresh)
        } else {
            population.flag_refresh
        }
    }

    /// The same scenario with a harmless release: the release without its faults.
    pub fn harmless(&self) -> Scenario {
        self.with(|d| d.world.release.faults.clear())
    }
}

impl Deref for Scenario {
    type Target = Definition;

    fn deref(&self) -> &Definition {
        &self.definition
    }
}

/// The world's flags that follow from the policy: its holdback, and which telemetry the policy's
/// guardrails need kept.
fn derive_world_flags(world: &mut WorldConfig, policy: &PolicyConfig) {
    let guardrails = &policy.guardrails;
    let comparisons = || guardrails.iter().filter_map(|g| g.method.comparison());
    world.holdback = policy.holdback;
    world.watched = [false; Metric::COUNT];
    for g in guardrails {
        world.watched[g.metric.index()] = true;
    }
    // A rank test compares latency histograms.
    world.latency_histogram = comparisons().any(|c| c.statistic == Statistic::MannWhitney);
    // A clustered variance needs each player's sums carried across evaluations, and learns the
    // old build's variance components from every player on it.
    let clustered = comparisons()
        .any(|c| c.statistic == Statistic::Mean && c.variance == VarianceModel::Clustered);
    world.carry_players = clustered;
    world.report_unexposed = clustered;
}
