//! The record of a run: everything its reports need, from the outcome and the stop to each
//! stage's sessions and the players' saves at the end.

use rollcage_policy::{BuildId, Event, Minutes, Share};
use rollcage_sim::{RunSeed, Save, SessionEvent};

use crate::oracle::Violations;
use crate::telemetry::Recording;

/// The verdict on a run: the truth (was the release harmful when it was stopped, or at all)
/// crossed with the decision (was it stopped).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[strum(serialize_all = "snake_case")]
pub enum Outcome {
    /// A harmful release's every harm was stopped (by kills of the release, of the faulty feature
    /// or of the affected segments, or by a guardrail pause) after the harm began.
    Detected,
    /// A harmful release's harm was never all stopped.
    Missed,
    /// Something was stopped while the release was doing no harm.
    FalseKill,
    /// A harmless release went through.
    CleanPass,
    /// A data-quality check (sample-ratio mismatch, the inconclusive limit) paused the rollout and
    /// nothing stopped the release otherwise: neither a false kill nor a detection, and a harmful
    /// release's harm was left running.
    DataPause,
}

impl Outcome {
    pub const ALL: &'static [Outcome] = <Outcome as strum::VariantArray>::VARIANTS;

    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// How the release under test was first stopped.
#[derive(Clone, Debug, PartialEq)]
pub struct Stop {
    pub at: Minutes,
    pub kind: StopKind,
    /// The guardrail's name, or `operator`.
    pub by: String,
    /// `release`, `feature:<name>` or `segment:<name>`; `release` for a pause.
    pub scope: String,
}

/// How the release under test was first stopped. Its names come from the derive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::Display)]
#[strum(serialize_all = "snake_case")]
pub enum StopKind {
    /// A guardrail or an operator killed it (or a part of it).
    Kill,
    /// A guardrail paused it.
    Pause,
}

/// Which data-quality check paused the rollout. Its names come from the derive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::Display)]
#[strum(serialize_all = "snake_case")]
pub enum DataPauseReason {
    /// A sample-ratio mismatch.
    Srm,
    /// A guardrail inconclusive for too many looks in a row.
    Inconclusive,
}

/// How the run's first rollback ended. Its names come from the derive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::Display)]
#[strum(serialize_all = "snake_case")]
pub enum RollbackResult {
    RolledBack,
    RollbackFailed,
    /// The run ended while it was still running.
    RollingBack,
}

/// Why a stage ended. Its names come from the derive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::Display)]
#[strum(serialize_all = "snake_case")]
pub enum StageEnd {
    /// The policy moved on to the next stage, or to the holdback period.
    Advanced,
    /// The build was killed.
    Killed,
    /// The holdback period ended: the build went to everyone.
    Released,
    /// The run reached its end with the stage still open.
    RunEnded,
}

/// Where the run ended. Its names come from the derive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum FinalPhase {
    Released,
    RolledBack,
    RollbackFailed,
    /// The run ended while a rollback was still running.
    RollingBack,
    Paused,
    /// Still rolling out when the run reached its schedule bound.
    Running,
}

impl FinalPhase {
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// The first rollback of the run.
#[derive(Clone, Debug, PartialEq)]
pub struct RollbackRecord {
    pub started: Minutes,
    /// When it was declared rolled back or failed; `None` if the run ended first.
    pub ended: Option<Minutes>,
    pub result: RollbackResult,
    /// Step attempts, every retry included.
    pub attempts: u32,
}

/// Sessions and what happened in them, for one cohort over one stage.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CohortTally {
    pub sessions: u64,
    pub crashes: u64,
    pub latency_ms_sum: f64,
}

impl CohortTally {
    pub(super) fn add(&mut self, e: &SessionEvent) {
        self.sessions += 1;
        self.crashes += u64::from(e.crashed);
        self.latency_ms_sum += f64::from(e.latency_ms);
    }

    pub fn crash_rate(&self) -> Option<f64> {
        (self.sessions > 0).then(|| self.crashes as f64 / self.sessions as f64)
    }

    pub fn latency_ms_mean(&self) -> Option<f64> {
        (self.sessions > 0).then(|| self.latency_ms_sum / self.sessions as f64)
    }
}

/// One stage (or the holdback period) of one build, as it really went.
#[derive(Clone, Debug, PartialEq)]
pub struct StageRecord {
    pub build: BuildId,
    /// 0-based stage index; `None` for the holdback period.
    pub stage: Option<usize>,
    pub share: Share,
    pub start: Minutes,
    pub end: Minutes,
    pub end_reason: StageEnd,
    /// Sessions on the build, by start time within the stage.
    pub treatment: CohortTally,
    /// Holdback sessions, by start time within the stage.
    pub holdback: CohortTally,
}

/// What the players' saves hold at the end of the run, against the truth.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SaveRecord {
    /// Legitimate coins the saves no longer hold.
    pub coins_lost: i64,
    /// Coins an exploit minted that are still in the saves.
    pub exploit_coins_left: i64,
    pub items_lost: u64,
    pub corrupted_saves_left: u64,
    /// Players whose saves a rollback restored.
    pub players_restored: u64,
    /// Players who played a new build or had their save migrated.
    pub players_affected: u64,
}

impl SaveRecord {
    pub(super) fn of(saves: &[Save]) -> SaveRecord {
        let mut r = SaveRecord::default();
        for s in saves {
            r.coins_lost += s.coins_lost();
            r.exploit_coins_left += s.exploit_coins;
            r.items_lost += u64::from(s.items_lost());
            r.corrupted_saves_left += u64::from(s.corrupted);
            r.players_restored += u64::from(s.restored.is_some());
            r.players_affected += u64::from(s.touched);
        }
        r
    }
}

/// What a run's telemetry pipeline exported, and what the policy saw at each look.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Recorded {
    pub recording: Recording,
    pub seen: Vec<rollcage_policy::Telemetry>,
}

/// Everything a run's reports need.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRecord {
    pub run: u32,
    pub seed: RunSeed,
    pub outcome: Outcome,
    /// The release carries a harmful fault (ground truth).
    pub harmful: bool,
    pub stop: Option<Stop>,
    /// The first data-quality pause of the release under test: when, and `srm` or `inconclusive`.
    pub data_pause: Option<(Minutes, DataPauseReason)>,
    /// Kills of the release under test (any scope), in order.
    pub kills: u32,
    /// From the start of harm to when it was all stopped.
    pub time_to_detect: Option<Minutes>,
    /// When a guardrail first stopped a part of the release that was doing no harm at that moment
    /// (a healthy feature or segment, the release once its harm was contained, or a build that
    /// replaced it), by the ground truth; operators' kills and data-quality pauses never count.
    pub false_stop_at: Option<Minutes>,
    pub final_phase: FinalPhase,
    pub released_at: Option<Minutes>,
    pub ended_at: Minutes,
    /// The highest stage (1-based) the release under test reached.
    pub stage_reached: usize,
    /// Builds rolled out: the release and any that replaced it after a kill.
    pub builds: usize,
    pub sessions: u64,
    pub treatment_sessions: u64,
    pub holdback_sessions: u64,
    /// Players and sessions on the release under test.
    pub exposed_players: u64,
    pub exposed_sessions: u64,
    /// Players and sessions on the release while one of its faults acted on them.
    pub harmed_players: u64,
    pub harmed_sessions: u64,
    /// Sessions started on the release after the world stopped its exposure (stale clients).
    pub sessions_after_stop: u64,
    /// Runs in flight aborted when the release was switched off.
    pub aborted_sessions: u64,
    pub rollback: Option<RollbackRecord>,
    pub saves: SaveRecord,
    pub violations: Violations,
    pub stages: Vec<StageRecord>,
    /// The policy's events: every decision, and every evaluation when recorded.
    pub events: Vec<Event>,
    /// What the run's telemetry pipeline exported, when the run was asked to record it.
    pub telemetry: Option<Box<Recorded>>,
}
