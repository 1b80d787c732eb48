//! The world's tables: the population, the old build's baseline, the release, its features and
//! faults, live events, telemetry and the assignment.

use super::{
    FAULT_KINDS, HASHES, Kind, MIGRATIONS, TableSpec, number, number_or_none, optional, required,
};
use rollcage_model::limits::{
    MAX_FAULTS_PER_FEATURE, MAX_FEATURES, MAX_HOURS, MAX_LIVE_EVENTS, MAX_PLATFORMS, MAX_PLAYERS,
    MAX_REGIONS,
};

pub static POPULATION: TableSpec = TableSpec {
    name: "[population]",
    doc: "Who plays, and how differently. Player attributes are drawn afresh in every run.",
    keys: &[
        required(
            "players",
            Kind::Integer { min: 100, max: MAX_PLAYERS, default: None },
            "Simulated players.",
        ),
        optional(
            "runs_per_day",
            number(0.01, 200.0, 3.0),
            "Mean 12-minute runs per player per day.",
        ),
        optional(
            "activity_spread",
            number(0.0, 3.0, 0.8),
            "Log-normal sigma of per-player activity: a few players play far more than the rest.",
        ),
        optional(
            "crash_proneness_spread",
            number(0.0, 3.0, 0.5),
            "Log-normal sigma of per-player crash-proneness.",
        ),
        optional(
            "latency_spread",
            number(0.0, 3.0, 0.25),
            "Log-normal sigma of per-player latency (device, network).",
        ),
        optional(
            "skill_spread",
            number(0.0, 3.0, 0.3),
            "Log-normal sigma of per-player exchange skill (coins per run).",
        ),
        optional(
            "new_player_share",
            number(0.0, 1.0, 0.2),
            "Share of players who are new to the game.",
        ),
        optional(
            "platforms",
            Kind::Shares { max: MAX_PLATFORMS },
            "Platforms and their shares of players, e.g. { ios = 0.45, android = 0.45, pc = 0.1 }. Default: one platform, `all`.",
        ),
        optional(
            "regions",
            Kind::Shares { max: MAX_REGIONS },
            "Regions and their shares of players. Default: one region, `global`.",
        ),
        optional(
            "flag_refresh_min",
            Kind::Integer { min: 1, max: 1_440, default: Some(15) },
            "Clients fetch feature flags every this many minutes; a change reaches a client at its next fetch. Also the promised bound on kill propagation.",
        ),
        optional(
            "stale_client_share",
            number(0.0, 1.0, 0.0),
            "Share of clients that fetch flags only every stale_refresh_min (old app versions, clients in the background): they see a kill late.",
        ),
        optional(
            "stale_refresh_min",
            Kind::Integer { min: 1, max: 10_080, default: Some(240) },
            "How often stale clients fetch flags. With stale clients, the promised bound on kill propagation is this.",
        ),
    ],
};

pub static BASELINE: TableSpec = TableSpec {
    name: "[baseline]",
    doc: "How sessions go on the old build.",
    keys: &[
        required(
            "crash_rate",
            number_or_none(0.0, 1.0),
            "Share of runs that crash, for a typical veteran player.",
        ),
        optional(
            "new_player_crash_multiplier",
            number(0.0, 100.0, 1.0),
            "New players crash this many times as often.",
        ),
        optional(
            "latency_ms_median",
            number(0.001, 1e6, 80.0),
            "Median exchange latency of a run, in milliseconds.",
        ),
        optional(
            "latency_spread",
            number(0.0, 3.0, 0.35),
            "Log-normal sigma of one run's latency around the player's median.",
        ),
        optional(
            "coins_per_run",
            number(0.0, 1e9, 100.0),
            "Mean coins minted through the exchange per run.",
        ),
        optional(
            "coins_spread",
            number(0.0, 3.0, 0.5),
            "Log-normal sigma of one run's coins around the player's mean.",
        ),
        optional(
            "return_rate",
            number(0.0, 1.0, 0.6),
            "Share of runs after which the player returns the next day.",
        ),
        optional(
            "daily_cycle_amplitude",
            number(0.0, 0.95, 0.4),
            "Traffic swings by this fraction around its daily mean.",
        ),
        optional("peak_hour", number(0.0, 24.0, 20.0), "Hour of the day when traffic peaks."),
        optional(
            "item_rate",
            number(0.0, 1.0, 0.05),
            "Chance that a completed run earns the player an item.",
        ),
    ],
};

pub static ASSIGNMENT: TableSpec = TableSpec {
    name: "[assignment]",
    doc: "How players are hashed to buckets. Player ids are `player-0`, `player-1`, ...",
    keys: &[
        optional(
            "hash",
            Kind::Choice { values: HASHES, default: Some("unleash-murmur3") },
            "unleash-murmur3: MurmurHash3 of \"{group}:{id}\", as Unleash's gradual rollout; launchdarkly-sha1: SHA-1 of \"{group}.{salt}.{id}\", as LaunchDarkly's percentage rollouts.",
        ),
        optional(
            "group",
            Kind::Text { default: Some("rollcage") },
            "Unleash's groupId, or LaunchDarkly's flag key.",
        ),
        optional(
            "salt",
            Kind::Text { default: Some("rollcage") },
            "LaunchDarkly's salt (unused by Unleash).",
        ),
        optional(
            "seed",
            Kind::Integer { min: i64::MIN, max: i64::MAX, default: None },
            "LaunchDarkly's rollout seed, which replaces the flag key and salt in the hash (unused by Unleash).",
        ),
    ],
};

pub static SEGMENT: TableSpec = TableSpec {
    name: "segment",
    doc: "Which players a fault touches; a key left out matches everyone.",
    keys: &[
        optional(
            "platform",
            Kind::Text { default: None },
            "A platform named in [population] platforms.",
        ),
        optional("region", Kind::Text { default: None }, "A region named in [population] regions."),
        optional(
            "new_player",
            Kind::Boolean { default: None },
            "Only new players (true) or only veterans (false).",
        ),
    ],
};

pub static FAULT: TableSpec = TableSpec {
    name: "[[release.features.faults]]",
    doc: "A fault the feature really carries: the ground truth the policy must discover.",
    keys: &[
        required(
            "kind",
            Kind::Choice { values: FAULT_KINDS, default: None },
            "crash_rate multiplies the crash probability; latency the exchange latency; retention the chance of returning the next day; exploit mints extra coins in the exchange; save_corruption corrupts saves as they migrate.",
        ),
        optional(
            "multiplier",
            number_or_none(0.01, 1_000.0),
            "crash_rate, latency, retention: the factor (above 1 harms players and below 1 improves; for retention the reverse). exploit: the extra coins minted per legitimate coin of a run.",
        ),
        optional(
            "probability",
            number_or_none(0.0, 1.0),
            "save_corruption: the chance that a migration by the build corrupts the save (found when it is next loaded).",
        ),
        optional(
            "spread_h",
            number_or_none(0.0, MAX_HOURS),
            "exploit: the mean hours a player on the build takes to learn the exploit (exponential). Default 24.",
        ),
        optional(
            "audited",
            number_or_none(0.0, 1.0),
            "exploit: the share of exploit coins the audit trail flags (what a claw-back can find). Default 1.",
        ),
        optional(
            "onset_h",
            number(0.0, MAX_HOURS, 0.0),
            "Hours after the rollout starts when the fault begins to act.",
        ),
        optional("segment", Kind::Table(&SEGMENT), "Only these players are affected."),
    ],
};

pub static FEATURE: TableSpec = TableSpec {
    name: "[[release.features]]",
    doc: "A feature of the release, behind its own flag.",
    keys: &[
        required("name", Kind::Name, "The feature's name."),
        optional(
            "faults",
            Kind::Tables { spec: &FAULT, min: 0, max: MAX_FAULTS_PER_FEATURE },
            "Faults the feature carries.",
        ),
    ],
};

pub static RELEASE: TableSpec = TableSpec {
    name: "[release]",
    doc: "The build under test and the truth about it. A build that replaces it after a kill carries no fault.",
    keys: &[
        required("build", Kind::Text { default: None }, "The build id, e.g. \"1.4.0\"."),
        optional(
            "migration",
            Kind::Choice { values: MIGRATIONS, default: Some("none") },
            "How the build moves saves to its new schema: not at all, at each player's first run on it, or for every exposed player when a stage starts.",
        ),
        optional(
            "backward_compatible",
            Kind::Boolean { default: Some(true) },
            "Whether the old build can load a migrated save; when it cannot, players sent back fail to load until the migration is reverted.",
        ),
        optional(
            "faulty_share",
            number(0.0, 1.0, 1.0),
            "The share of runs in which the release carries its faults. Below 1, each run draws whether it does, so one batch measures the false-kill rate on the runs without faults and detection on the runs with them.",
        ),
        optional(
            "features",
            Kind::Tables { spec: &FEATURE, min: 0, max: MAX_FEATURES },
            "The release's features.",
        ),
    ],
};

pub static LIVE_EVENT: TableSpec = TableSpec {
    name: "[[live_events]]",
    doc: "Something that changes every player's behaviour for a while, whatever their build.",
    keys: &[
        required("name", Kind::Name, "The event's name."),
        required("start_h", number_or_none(0.0, MAX_HOURS), "Hours after the rollout starts."),
        required("duration_h", number_or_none(0.0, MAX_HOURS), "How long it lasts, in hours."),
        optional(
            "traffic_multiplier",
            number(0.0, 100.0, 1.0),
            "Sessions per minute are multiplied by this.",
        ),
        optional(
            "crash_multiplier",
            number(0.0, 100.0, 1.0),
            "Every run's crash probability is multiplied by this.",
        ),
        optional(
            "latency_multiplier",
            number(0.0, 100.0, 1.0),
            "Every run's latency is multiplied by this.",
        ),
    ],
};

pub static OUTAGE: TableSpec = TableSpec {
    name: "[[telemetry.outages]]",
    doc: "A period when the telemetry pipeline delivers nothing.",
    keys: &[
        required("start_h", number_or_none(0.0, MAX_HOURS), "Hours after the rollout starts."),
        required("duration_h", number_or_none(0.0, MAX_HOURS), "How long it lasts, in hours."),
        optional(
            "backfill",
            Kind::Boolean { default: Some(true) },
            "Whether the pipeline delivers what happened during the outage when it comes back (true), or loses it (false).",
        ),
    ],
};

pub static TELEMETRY: TableSpec = TableSpec {
    name: "[telemetry]",
    doc: "Faults of the telemetry pipeline: the policy sees less, or later, than what happened. Players are not affected.",
    keys: &[
        optional(
            "late_probability",
            number(0.0, 1.0, 0.0),
            "Chance that an evaluation window's telemetry arrives one evaluation late.",
        ),
        optional(
            "gap_probability",
            number(0.0, 1.0, 0.0),
            "Chance that an evaluation window's telemetry is lost for good.",
        ),
        optional(
            "duplicate_probability",
            number(0.0, 1.0, 0.0),
            "Chance that a session on the new build is reported twice.",
        ),
        optional(
            "outages",
            Kind::Tables { spec: &OUTAGE, min: 0, max: MAX_LIVE_EVENTS },
            OUTAGE.doc,
        ),
    ],
};

pub static ASSIGNMENT_BUG: TableSpec = TableSpec {
    name: "[assignment_bug]",
    doc: "A targeting bug on the flag server: a share of one segment's players is left out of every stage's exposure and stays on the old build. The treatment then lacks part of that segment, which biases its comparison with the holdback; the sample-ratio check is what can tell.",
    keys: &[
        required("share", number_or_none(0.0, 1.0), "The share of the segment's players left out."),
        optional("segment", Kind::Table(&SEGMENT), "The players it touches; everyone if left out."),
    ],
};
