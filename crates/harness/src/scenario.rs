//! A scenario as the harness runs it: the world, the policy, the operators' script, the batch and
//! the expectations that decide the exit code. Built by `rollcage-scenario` from a TOML file.

use rollcage_policy::{Bucket, Command, Minutes, PolicyConfig};
use rollcage_sim::WorldConfig;
use rollcage_sim::hash::buckets;

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

/// A complete, validated scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    /// Scenarios that share a comparison group are printed side by side after a batch.
    pub compare: Option<String>,
    pub seed: u64,
    pub runs: u32,
    pub world: WorldConfig,
    pub policy: PolicyConfig,
    /// How often telemetry reaches the policy.
    pub evaluation_interval: Minutes,
    /// The schedule bound: a rollout that is never stopped must be released by then. Also the
    /// end of every run.
    pub max_duration: Minutes,
    /// The promised bound on how long after a kill a client may still start a session on the
    /// killed build.
    pub kill_propagation_bound: Minutes,
    /// Operator commands, in time order.
    pub commands: Vec<ScheduledCommand>,
    pub expect: Expectations,
}

impl Scenario {
    /// Every player's bucket. A bucket depends only on the player's id and the assignment salt, so
    /// it is computed once per scenario and shared by all runs.
    pub fn buckets(&self) -> Vec<Bucket> {
        buckets(&self.world.assignment, self.world.population.players)
    }

    /// The same scenario with a harmless release: the release without its faults.
    pub fn harmless(&self) -> Scenario {
        let mut harmless = self.clone();
        harmless.world.release.faults.clear();
        harmless
    }
}
