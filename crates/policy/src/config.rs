//! The policy a live-ops team writes down: stages, holdback and guardrails.
//!
//! These types are already validated (the scenario loader checks every bound and reports every
//! problem with its place in the file); the policy asserts the few invariants it relies on.

use rollcage_stats::{Direction, Margin, VarianceModel};

use crate::metric::Metric;
use crate::units::{BucketLayout, Minutes, Share};

/// One stage of the rollout.
#[derive(Clone, Debug, PartialEq)]
pub struct Stage {
    /// Share of the whole population exposed to the build during this stage.
    pub share: Share,
    /// The stage lasts at least this long.
    pub min_duration: Minutes,
    /// Sessions each of the treatment and the holdback must report during the stage.
    pub min_sample: u64,
    /// Leaving the stage needs an operator's approval.
    pub approval: bool,
}

/// What a guardrail breach does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// Stop expanding and wait for an operator.
    Pause,
    /// Kill the build: every player goes back to the old one.
    Rollback,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Pause => "pause",
            Severity::Rollback => "rollback",
        }
    }
}

/// How a guardrail decides.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Method {
    /// An absolute critical threshold on the treatment's mean; no statistics, no control.
    Threshold { limit: f64 },
    /// A one-sided z-test at level `alpha` at every look: what most teams run. Its error rate over
    /// a whole rollout is far above `alpha`.
    NaiveZ { alpha: f64, margin: Margin, variance: VarianceModel },
    /// The mixture SPRT: holds `alpha` over any number of looks.
    Msprt { alpha: f64, margin: Margin, variance: VarianceModel, mixture_sd: f64 },
}

impl Method {
    pub fn name(&self) -> &'static str {
        match self {
            Method::Threshold { .. } => "threshold",
            Method::NaiveZ { .. } => "naive_z",
            Method::Msprt { .. } => "msprt",
        }
    }
}

/// What a guardrail's breach (of severity rollback) kills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The whole release: every player goes back to the old build, through the rollback plan.
    Release,
    /// One feature of the release (index into [`PolicyConfig::features`]); the rollout goes on
    /// without it.
    Feature(usize),
    /// The segment cell that breaches: the guardrail is evaluated in every cell of the policy's
    /// segment breakdown, at alpha divided by the number of cells, and a breaching cell goes back
    /// to the old build while the others roll on.
    Segment,
}

/// How the restore step puts players' data back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restore {
    /// Restore every affected player from the snapshot taken before the rollout: simple, removes
    /// every exploit coin and repairs every save, and loses legitimate progress made since.
    Snapshot,
    /// Claw back the exploit coins the audit trail flagged; saves that cannot be repaired otherwise
    /// are restored from the snapshot. Leaves exploit coins the audit trail missed.
    Clawback,
    /// Rebuild every affected save by replaying only legitimate transactions: exact, and slow.
    Replay,
}

impl Restore {
    pub fn name(self) -> &'static str {
        match self {
            Restore::Snapshot => "snapshot",
            Restore::Clawback => "clawback",
            Restore::Replay => "replay",
        }
    }
}

/// One kind of rollback step. A plan runs them in this order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepKind {
    /// Turn the release's flag off on the server.
    StopExposure,
    /// Push every client, stale ones too, to refresh its flags and go back to the old build.
    ReturnPlayers,
    /// Migrate every save back to the old schema.
    RevertMigration,
    /// Put affected players' coins, items and progress back, and repair corrupted saves.
    RestorePlayers(Restore),
}

impl StepKind {
    pub fn name(self) -> &'static str {
        match self {
            StepKind::StopExposure => "stop_exposure",
            StepKind::ReturnPlayers => "return_players",
            StepKind::RevertMigration => "revert_migration",
            StepKind::RestorePlayers(_) => "restore_players",
        }
    }
}

/// One step of the rollback plan, as the policy runs it: how often to retry and how long to wait.
/// (How long the step takes and how often it fails are facts of the world.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlannedStep {
    pub kind: StepKind,
    /// Attempts after the first before the rollback is declared failed.
    pub retries: u32,
    /// Wait before the first retry; each further retry waits twice as long as the one before.
    pub backoff: Minutes,
}

/// A metric watched for harm.
#[derive(Clone, Debug, PartialEq)]
pub struct Guardrail {
    pub name: String,
    pub metric: Metric,
    pub direction: Direction,
    pub method: Method,
    /// Sessions each compared cohort needs before the guardrail decides anything.
    pub min_sample: u64,
    pub severity: Severity,
    /// Consecutive breaching evaluations needed before the breach acts.
    pub breaches_required: u32,
    pub scope: Scope,
}

/// The whole rollout policy.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyConfig {
    pub stages: Vec<Stage>,
    /// Share of players who never receive the build during the rollout or the holdback period.
    pub holdback: Share,
    /// How long the holdback is kept after the last stage before the build is released to all.
    pub holdback_period: Minutes,
    pub guardrails: Vec<Guardrail>,
    /// The stage (0-based) a new build starts from after a kill.
    pub resume_stage: usize,
    /// What a release kill runs, in order. It always begins with stopping exposure.
    pub rollback: Vec<PlannedStep>,
    /// The release's features, by name, for feature-level kills.
    pub features: Vec<String>,
    /// The segment cells telemetry is broken into (e.g. the platforms), by name; one cell named
    /// `all` when there is no breakdown.
    pub cells: Vec<String>,
}

impl PolicyConfig {
    pub fn layout(&self) -> BucketLayout {
        BucketLayout { holdback: self.holdback }
    }

    /// Panics if the configuration breaks an invariant the state machine relies on. The scenario
    /// loader reports these as input errors long before this could fire.
    pub fn assert_valid(&self) {
        assert!(!self.stages.is_empty(), "a policy needs at least one stage");
        let max = self.layout().max_exposure();
        for pair in self.stages.windows(2) {
            assert!(pair[0].share < pair[1].share, "stage shares must increase");
        }
        for stage in &self.stages {
            assert!(stage.share > Share::ZERO && stage.share <= max, "stage share out of range");
        }
        assert!(self.resume_stage < self.stages.len(), "resume stage out of range");
        for g in &self.guardrails {
            assert!(g.breaches_required >= 1, "a breach needs at least one evaluation");
            if let Scope::Feature(f) = g.scope {
                assert!(f < self.features.len(), "guardrail kills an unknown feature");
            }
        }
        assert!(
            self.rollback.first().is_some_and(|s| s.kind == StepKind::StopExposure),
            "a rollback plan begins by stopping exposure"
        );
        assert!(
            !self.cells.is_empty() && self.cells.len() <= crate::telemetry::MAX_CELLS,
            "segment cells out of range"
        );
    }
}
