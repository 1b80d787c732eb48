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
        }
    }
}
