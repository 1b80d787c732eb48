//! The policy a live-ops team writes down: stages, holdback and guardrails.
//!
//! These types are already validated (the scenario loader checks every bound and reports every
//! problem with its place in the file); the policy asserts the few invariants it relies on.

use rollcage_stats::spending::Spending;
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

/// What a guardrail breach does. Its names come from the derive, in the order scenario files list
/// them.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString, strum::VariantNames,
)]
#[strum(serialize_all = "snake_case")]
pub enum Severity {
    /// Kill the build: every player goes back to the old one.
    Rollback,
    /// Stop expanding and wait for an operator.
    Pause,
}

impl Severity {
    /// Every severity's name.
    pub const NAMES: &'static [&'static str] = <Severity as strum::VariantNames>::VARIANTS;

    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// What a statistical guardrail asks of the treatment against the holdback: is the harm beyond
/// `margin` above zero, at error rate `alpha` over the whole rollout (for the methods that hold
/// it)?
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Comparison {
    pub alpha: f64,
    pub margin: Margin,
    pub variance: VarianceModel,
    pub statistic: Statistic,
}

/// What a comparison tests. Its names come from the derive.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantNames,
)]
#[strum(serialize_all = "snake_case")]
pub enum Statistic {
    /// The difference of the cohorts' means (with `variance` as the variance model).
    #[default]
    Mean,
    /// The Mann-Whitney rank test on the latency distributions, stratified by stage: whether a
    /// new-build session tends to be slower than a holdback session. Latency only; its margin is
    /// relative; sessions are taken as independent.
    MannWhitney,
}

impl Statistic {
    /// Every statistic's name.
    pub const NAMES: &'static [&'static str] = <Statistic as strum::VariantNames>::VARIANTS;

    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// How a guardrail decides. [`MethodName`] names the methods.
#[derive(Clone, Copy, Debug, PartialEq, strum::EnumDiscriminants)]
#[strum_discriminants(
    name(MethodName),
    derive(strum::IntoStaticStr, strum::EnumString, strum::VariantNames, strum::Display),
    strum(serialize_all = "snake_case")
)]
pub enum Method {
    /// An absolute critical threshold on the treatment's mean; no statistics, no control.
    Threshold { limit: f64 },
    /// A one-sided z-test at level `alpha` at every look: what most teams run. Its error rate over
    /// a whole rollout is far above `alpha`.
    NaiveZ(Comparison),
    /// The z-test at alpha divided by the planned number of looks. Holds alpha for up to `looks`
    /// looks, and is very strict when there are many; after `looks` looks it has no alpha left.
    Bonferroni { test: Comparison, looks: u32 },
    /// Group-sequential boundaries from an alpha-spending function, at the information fractions
    /// the rollout actually reaches: information (Σ nₜnₕ/(nₜ + nₕ) over stages) divided by
    /// `planned_information`, the information the scheduled stages are expected to gather.
    Spending { test: Comparison, spending: Spending, planned_information: f64 },
    /// The mixture SPRT: holds `alpha` over any number of looks.
    Msprt { test: Comparison, mixture_sd: f64 },
    /// Wald's SPRT of no harm against a harm of `effect` (in the metric's units, beyond the
    /// margin), with type II error `beta` at that effect. Once it accepts "no harm" it stops
    /// looking for the rest of the build.
    Sprt { test: Comparison, effect: f64, beta: f64 },
}

impl Method {
    /// The method's label in reports and explanations: its name, and for a spending method its
    /// spending function too (`spending_obf`, `spending_pocock`).
    pub fn label(&self) -> &'static str {
        match self {
            Method::Threshold { .. } => "threshold",
            Method::NaiveZ(_) => "naive_z",
            Method::Bonferroni { .. } => "bonferroni",
            Method::Spending { spending: Spending::OBrienFleming, .. } => "spending_obf",
            Method::Spending { spending: Spending::Pocock, .. } => "spending_pocock",
            Method::Msprt { .. } => "msprt",
            Method::Sprt { .. } => "sprt",
        }
    }

    /// The comparison a statistical method makes; `None` for a threshold.
    pub fn comparison(&self) -> Option<&Comparison> {
        match self {
            Method::Threshold { .. } => None,
            Method::NaiveZ(test)
            | Method::Bonferroni { test, .. }
            | Method::Spending { test, .. }
            | Method::Msprt { test, .. }
            | Method::Sprt { test, .. } => Some(test),
        }
    }
}

/// How the error rates of several statistical guardrails are combined.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantNames,
)]
#[strum(serialize_all = "snake_case")]
pub enum Multiplicity {
    /// Each guardrail at its own alpha: the chance that some guardrail fires on a harmless build
    /// grows with the number of guardrails.
    #[default]
    None,
    /// Each guardrail at its alpha divided by the number of statistical guardrails m.
    Bonferroni,
    /// Holm's step-down procedure, run sequentially: each guardrail at its alpha divided by the
    /// number of statistical guardrails that have not breached for the current build. Holds the
    /// same family error as Bonferroni and is never less powerful.
    Holm,
}

impl Multiplicity {
    /// Every multiplicity correction's name.
    pub const NAMES: &'static [&'static str] = <Multiplicity as strum::VariantNames>::VARIANTS;

    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// The sample-ratio-mismatch check: players who played in the current stage should split between
/// the treatment and the holdback as the stage's share to the holdback's. A chi-square p-value
/// below `alpha` divided by `looks` (the planned looks, so that the check's own error over the
/// rollout stays below `alpha`) pauses the rollout: the comparison can no longer be trusted.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SrmCheck {
    pub alpha: f64,
    pub looks: u32,
}

/// What a guardrail's breach (of severity rollback) kills. [`ScopeName`] names its kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::EnumDiscriminants)]
#[strum_discriminants(
    name(ScopeName),
    derive(strum::IntoStaticStr, strum::EnumString, strum::VariantNames, strum::Display),
    strum(serialize_all = "snake_case")
)]
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

/// How the restore step puts players' data back. Its names come from the derive.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString, strum::VariantNames,
)]
#[strum(serialize_all = "snake_case")]
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
        self.into()
    }
}

/// One kind of rollback step. A plan runs them in this order. [`StepName`] names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::EnumDiscriminants)]
#[strum_discriminants(
    name(StepName),
    derive(strum::IntoStaticStr, strum::EnumString, strum::VariantNames, strum::Display),
    strum(serialize_all = "snake_case")
)]
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
        StepName::from(self).into()
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
    /// Consecutive looks without new telemetry after which the rollout pauses (0: never).
    pub inconclusive_limit: u32,
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
    /// Each cell's share of the players (for a cell's share of a spending plan's information).
    pub cell_shares: Vec<f64>,
    /// How the statistical guardrails' alphas are combined.
    pub multiplicity: Multiplicity,
    /// The sample-ratio-mismatch check, if the policy runs one.
    pub srm: Option<SrmCheck>,
}

impl PolicyConfig {
    pub fn layout(&self) -> BucketLayout {
        BucketLayout { holdback: self.holdback }
    }

    /// The shortest rollout the policy allows: every stage's minimum duration, then the holdback
    /// period.
    pub fn schedule(&self) -> Minutes {
        schedule(&self.stages, self.holdback_period)
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
            !self.cells.is_empty() && self.cells.len() <= crate::limits::MAX_CELLS,
            "segment cells out of range"
        );
        assert_eq!(self.cell_shares.len(), self.cells.len(), "one share per segment cell");
        for g in &self.guardrails {
            match g.method {
                Method::Bonferroni { looks, .. } => assert!(looks >= 1, "no planned looks"),
                Method::Spending { planned_information, .. } => {
                    assert!(planned_information > 0.0, "no planned information")
                }
                Method::Sprt { effect, beta, test } => assert!(
                    effect > 0.0 && beta > 0.0 && test.alpha + beta < 1.0,
                    "the SPRT needs a positive effect and alpha + beta below 1"
                ),
                Method::Threshold { .. } | Method::NaiveZ(_) | Method::Msprt { .. } => {}
            }
        }
    }

    /// The statistical guardrails (every method but a threshold): the family multiplicity
    /// corrections count.
    pub fn statistical_guardrails(&self) -> usize {
        self.guardrails.iter().filter(|g| g.method.comparison().is_some()).count()
    }

    /// The false-kill rate the policy promises over a rollout (its alpha budget): the union bound
    /// of its statistical guardrails, the sum of their alphas, divided by their number under a
    /// Bonferroni or Holm correction. A segment-scoped guardrail splits its alpha over the cells,
    /// so it counts once. `None` without a statistical guardrail.
    pub fn alpha_budget(&self) -> Option<f64> {
        let alphas = self.guardrails.iter().filter_map(|g| g.method.comparison().map(|c| c.alpha));
        let (sum, m) = alphas.fold((0.0, 0usize), |(sum, m), a| (sum + a, m + 1));
        let divisor = match self.multiplicity {
            Multiplicity::None => 1.0,
            Multiplicity::Bonferroni | Multiplicity::Holm => m as f64,
        };
        (m > 0).then(|| sum / divisor)
    }
}

/// The shortest rollout `stages` and a holdback period of `holdback_period` allow.
pub fn schedule(stages: &[Stage], holdback_period: Minutes) -> Minutes {
    stages.iter().map(|s| s.min_duration).fold(holdback_period, |a, b| a + b)
}
