//! The world a scenario describes: population, baseline behaviour, the release under test with
//! the faults it really carries, and live events. This is ground truth; the policy never sees it.

use crate::command::BuildId;
use crate::hash::HashScheme;
use crate::policy::StepKind;
use crate::units::{Minutes, Share};

/// Who plays, and how differently.
#[derive(Clone, Debug, PartialEq)]
pub struct PopulationConfig {
    pub players: u32,
    /// Mean runs per player per day.
    pub runs_per_day: f64,
    /// Log-normal σ of each player's activity (heavy-tailed: a few players play a lot).
    pub activity_spread: f64,
    /// Log-normal σ of each player's crash-proneness (device, habits).
    pub crash_proneness_spread: f64,
    /// Log-normal σ of each player's latency factor (device, network).
    pub latency_spread: f64,
    /// Log-normal σ of each player's exchange skill, which scales the coins they make.
    pub skill_spread: f64,
    /// Share of players who are new to the game.
    pub new_player_share: f64,
    /// Platform names with their shares of players (shares sum to 1).
    pub platforms: Vec<(String, f64)>,
    /// Region names with their shares of players (shares sum to 1).
    pub regions: Vec<(String, f64)>,
    /// Clients fetch flags at this interval; a change reaches a client at its next fetch.
    pub flag_refresh: Minutes,
    /// Share of clients that fetch flags only every `stale_refresh` (old app versions, clients in
    /// the background): they see a kill late.
    pub stale_client_share: f64,
    pub stale_refresh: Minutes,
}

/// How sessions go on the old build.
#[derive(Clone, Debug, PartialEq)]
pub struct Baseline {
    pub crash_rate: f64,
    /// New players crash more often by this factor.
    pub new_player_crash_multiplier: f64,
    pub latency_ms_median: f64,
    /// Log-normal σ of one session's latency around the player's own median.
    pub latency_spread: f64,
    pub coins_per_run: f64,
    /// Log-normal σ of one session's coins around the player's own mean.
    pub coins_spread: f64,
    pub return_rate: f64,
    /// Relative swing of traffic over the day: traffic is 1 ± amplitude around its mean.
    pub daily_cycle_amplitude: f64,
    /// Hour of the day (0–24) when traffic peaks.
    pub peak_hour: f64,
    /// Chance that a run earns the player an item.
    pub item_rate: f64,
}

/// Which players a fault touches. Indices refer to [`PopulationConfig::platforms`] and
/// [`PopulationConfig::regions`]; `None` matches every value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SegmentFilter {
    pub platform: Option<u8>,
    pub region: Option<u8>,
    pub new_player: Option<bool>,
}

impl SegmentFilter {
    pub fn matches(&self, segment: Segment) -> bool {
        self.platform.is_none_or(|p| p == segment.platform)
            && self.region.is_none_or(|r| r == segment.region)
            && self.new_player.is_none_or(|n| n == segment.new_player)
    }
}

/// A player's segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    pub platform: u8,
    pub region: u8,
    pub new_player: bool,
}

/// What a fault does to the sessions it touches. [`FaultName`] names the kinds.
#[derive(Clone, Copy, Debug, PartialEq, strum::EnumDiscriminants)]
#[strum_discriminants(
    name(FaultName),
    derive(strum::IntoStaticStr, strum::EnumString, strum::VariantNames, strum::Display),
    strum(serialize_all = "snake_case")
)]
pub enum FaultKind {
    /// Multiplies the crash probability.
    CrashRate { multiplier: f64 },
    /// Multiplies the exchange latency.
    Latency { multiplier: f64 },
    /// A duplication exploit in the exchange: once a player has learnt it (after an exponential
    /// delay with mean `spread` from the onset), every run on the build mints `multiplier` times
    /// its legitimate coins on top. The audit trail flags a share `audited` of the minted coins.
    Exploit { multiplier: f64, spread: Minutes, audited: f64 },
    /// A save migrated by the build is corrupted with this probability; the corruption shows when
    /// the save is next loaded (the run fails to load) and lasts until the save is repaired.
    SaveCorruption { probability: f64 },
    /// Multiplies the chance that the player returns the next day.
    Retention { multiplier: f64 },
}

impl FaultKind {
    /// The fault's multiplier (its size), for the kinds that have one.
    pub fn multiplier(&self) -> Option<f64> {
        match *self {
            FaultKind::CrashRate { multiplier }
            | FaultKind::Latency { multiplier }
            | FaultKind::Exploit { multiplier, .. }
            | FaultKind::Retention { multiplier } => Some(multiplier),
            FaultKind::SaveCorruption { .. } => None,
        }
    }

    pub fn name(&self) -> &'static str {
        FaultName::from(self).into()
    }

    /// Whether the fault hurts players (a crash or latency multiplier below 1, or a retention
    /// multiplier above 1, is an improvement).
    pub fn is_harmful(&self) -> bool {
        match *self {
            FaultKind::CrashRate { multiplier } | FaultKind::Latency { multiplier } => {
                multiplier > 1.0
            }
            FaultKind::Exploit { multiplier, .. } => multiplier > 0.0,
            FaultKind::SaveCorruption { probability } => probability > 0.0,
            FaultKind::Retention { multiplier } => multiplier < 1.0,
        }
    }
}

/// A fault the release really carries, in one of its features.
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    /// Index into [`Release::features`].
    pub feature: usize,
    pub kind: FaultKind,
    /// From when the fault acts (since the rollout began).
    pub onset: Minutes,
    pub segment: SegmentFilter,
}

/// The build under test and the truth about it. Builds that replace it after a kill carry no
/// faults: they are the fix.
#[derive(Clone, Debug, PartialEq)]
pub struct Release {
    pub build: BuildId,
    pub features: Vec<String>,
    pub faults: Vec<Fault>,
    pub migration: Migration,
    /// Whether the old build can still load a save migrated to the new schema. When it cannot,
    /// a player sent back to the old build fails to load until the migration is reverted.
    pub backward_compatible: bool,
    /// The share of runs in which the release carries its faults. Below 1 each run draws whether it
    /// does (drawn per run by the simulator), so one batch holds harmless and harmful runs of the same
    /// policy side by side.
    pub faulty_share: f64,
}

/// When the release migrates a player's save to its new schema. Its names come from the derive.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString, strum::VariantNames,
)]
#[strum(serialize_all = "snake_case")]
pub enum Migration {
    /// The release does not change the save schema.
    None,
    /// At the player's first run on the build.
    Lazy,
    /// For every newly exposed player when a stage starts.
    Eager,
}

impl Release {
    /// When the release first harms a player, if it ever does.
    pub fn harmful_onset(&self) -> Option<Minutes> {
        self.faults.iter().filter(|f| f.kind.is_harmful()).map(|f| f.onset).min()
    }
}

/// Something that changes every player's behaviour for a while, whatever build they are on
/// (a tournament, a holiday, an outage elsewhere).
#[derive(Clone, Debug, PartialEq)]
pub struct LiveEvent {
    pub name: String,
    pub start: Minutes,
    pub end: Minutes,
    pub traffic_multiplier: f64,
    pub crash_multiplier: f64,
    pub latency_multiplier: f64,
}

/// Which segment dimension telemetry is broken into, and segment kills act on. Its names come
/// from the derive.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString, strum::VariantNames,
)]
#[strum(serialize_all = "snake_case")]
pub enum Breakdown {
    None,
    Platform,
    Region,
}

/// What happens to runs in flight on a build when it is switched off. Its names come from the
/// derive.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString, strum::VariantNames,
)]
#[strum(serialize_all = "snake_case")]
pub enum InFlight {
    /// They finish on the build.
    Drain,
    /// They end at once, and the player gets back the state they had before the run.
    Abort,
}

/// The facts of one rollback step: how long an attempt takes and how it can go wrong.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepTruth {
    pub kind: StepKind,
    pub duration: Minutes,
    /// Chance that an attempt fails.
    pub failure_probability: f64,
    /// Chance that a failed attempt has already applied itself to part of the players.
    pub half_applied_probability: f64,
}

/// A deliberately broken world, for the tests that show each oracle catches the bug it guards
/// against. A scenario file cannot ask for one.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Sabotage {
    /// Holdback players receive the build whenever it is exposed at all.
    LeakHoldback,
    /// Exposure reaches this many basis points beyond the share the policy set.
    Overexpose { extra: u16 },
    /// An exposed player's session goes to the old build with this probability.
    Forgetful { probability: f64 },
    /// Clients never learn of a kill.
    IgnoreKill,
    /// Claw-back is not idempotent: a retried or repeated restore claws back every flagged coin
    /// again.
    DoubleClawback,
    /// The down-migration drops the items earned since the save was migrated.
    LossyDownMigration,
    /// A feature kill is not applied on one platform.
    FeatureKillLeak { platform: u8 },
}

/// Everything the world needs to simulate a run.
#[derive(Clone, Debug, PartialEq)]
pub struct WorldConfig {
    pub population: PopulationConfig,
    pub baseline: Baseline,
    pub release: Release,
    pub live_events: Vec<LiveEvent>,
    pub assignment: HashScheme,
    /// The holdback share, which the world's assignment keeps out of every exposure.
    pub holdback: Share,
    /// One run of the game.
    pub session_length: Minutes,
    pub breakdown: Breakdown,
    pub in_flight: InFlight,
    /// The facts of the rollback plan's steps, in the plan's order.
    pub rollback: Vec<StepTruth>,
    /// The metrics some guardrail watches, by [`crate::Metric::index`]: the world keeps
    /// telemetry for those only (and always for the crash rate, whose counts are the sessions the
    /// stage gates need).
    pub watched: [bool; crate::Metric::COUNT],
    /// Whether telemetry keeps latency histograms (some guardrail runs a rank test on them).
    pub latency_histogram: bool,
    /// Whether telemetry keeps what players carry from one exposure of a build into the next, so
    /// that a comparison stratified by stage can cluster by player across stages (some guardrail
    /// compares means with the clustered variance). Costs one number per player and watched metric.
    pub carry_players: bool,
    /// Whether telemetry reports the sessions of eligible players still on the old build, whose
    /// outcomes nothing else needs (some guardrail learns the old build's variance components
    /// from every player on it, not from the holdback alone: see [`rollcage_stats::contrast`]).
    /// Their outcomes come from a stream of their own, so the rest of the world is the same
    /// with or without them.
    pub report_unexposed: bool,
    /// How the telemetry pipeline fails to deliver what happened.
    pub observation: Observation,
    /// A targeting bug that serves the old build to some players the rollout meant to expose.
    pub assignment_bug: Option<AssignmentBug>,
    #[doc(hidden)]
    pub sabotage: Option<Sabotage>,
}

/// Faults of the telemetry pipeline: what the policy sees is not all that happened, or not yet.
/// They touch only what is reported, never the players.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observation {
    /// Chance that an evaluation window's telemetry arrives late, at the next evaluation: the
    /// policy sees the previous snapshot again.
    pub late: f64,
    /// Chance that an evaluation window's telemetry is lost: it never arrives, and the policy sees
    /// the previous snapshot at that evaluation.
    pub gap: f64,
    /// Chance that a session on the new build is reported twice (a client retrying an upload).
    pub duplicate: f64,
    /// Periods when the pipeline delivers nothing.
    pub outages: Vec<Outage>,
}

impl Observation {
    /// Whether anything can go wrong.
    pub fn is_faulty(&self) -> bool {
        self.late > 0.0 || self.gap > 0.0 || self.duplicate > 0.0 || !self.outages.is_empty()
    }

    /// The outage covering `at`, if any.
    pub fn outage_at(&self, at: Minutes) -> Option<&Outage> {
        self.outages.iter().find(|o| o.start <= at && at < o.end)
    }
}

/// A telemetry outage from `start` to `end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outage {
    pub start: Minutes,
    pub end: Minutes,
    /// The pipeline catches up when it comes back (nothing lost), or drops what happened meanwhile.
    pub backfill: bool,
}

/// The server's targeting leaves a `share` of the players in `segment` out of every exposure:
/// they stay on the old build although their bucket is exposed. The treatment then lacks part of
/// a segment, and its comparison with the holdback is biased; the sample-ratio check is what can
/// tell.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AssignmentBug {
    pub share: f64,
    pub segment: SegmentFilter,
}

impl WorldConfig {
    /// The telemetry cell of a segment under the breakdown.
    pub fn cell(&self, segment: Segment) -> usize {
        match self.breakdown {
            Breakdown::None => 0,
            Breakdown::Platform => usize::from(segment.platform),
            Breakdown::Region => usize::from(segment.region),
        }
    }

    /// How many telemetry cells there are.
    pub fn cell_count(&self) -> usize {
        match self.breakdown {
            Breakdown::None => 1,
            Breakdown::Platform => self.population.platforms.len(),
            Breakdown::Region => self.population.regions.len(),
        }
    }

    /// The names of the telemetry cells.
    pub fn cell_names(&self) -> Vec<String> {
        let names = |v: &[(String, f64)]| v.iter().map(|(n, _)| n.clone()).collect();
        match self.breakdown {
            Breakdown::None => vec!["all".to_string()],
            Breakdown::Platform => names(&self.population.platforms),
            Breakdown::Region => names(&self.population.regions),
        }
    }

    /// Whether a fault can act on a player of `segment` when the given cells are killed.
    pub fn segment_killed(&self, segment: Segment, killed_cells: u32) -> bool {
        killed_cells & (1 << self.cell(segment)) != 0
    }

    pub fn segment_count(&self) -> usize {
        self.population.platforms.len() * self.population.regions.len() * 2
    }

    pub fn segment(&self, index: u8) -> Segment {
        let regions = self.population.regions.len();
        let i = usize::from(index);
        Segment {
            platform: (i / (regions * 2)) as u8,
            region: ((i / 2) % regions) as u8,
            new_player: i % 2 == 1,
        }
    }

    pub fn segment_index(&self, segment: Segment) -> u8 {
        let regions = self.population.regions.len();
        (usize::from(segment.platform) * regions * 2
            + usize::from(segment.region) * 2
            + usize::from(segment.new_player)) as u8
    }
}
