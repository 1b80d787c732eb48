//! rollcage's limits, in one place: every bound the scenario and sweep formats, the loader, the
//! policy and the commands enforce. The scenario format's declarations and the sweep format read
//! their bounds from here, and the assertions at the end check, when rollcage compiles, that the limits
//! agree with each other and with the types that hold the values.

/// Players in a population.
pub const MAX_PLAYERS: i64 = 1_000_000;
/// Runs in a batch (and a sweep variant's runs).
pub const MAX_RUNS: i64 = 100_000;
/// Stages of a rollout.
pub const MAX_STAGES: usize = 20;
/// Guardrails of a policy.
pub const MAX_GUARDRAILS: usize = 16;
/// Features of a release.
pub const MAX_FEATURES: usize = 32;
/// Faults of one feature.
pub const MAX_FAULTS_PER_FEATURE: usize = 16;
/// Live events, and telemetry outages.
pub const MAX_LIVE_EVENTS: usize = 64;
/// Scripted operator events.
pub const MAX_OPERATOR_EVENTS: usize = 256;
/// Platforms of a population.
pub const MAX_PLATFORMS: usize = 8;
/// Regions of a population.
pub const MAX_REGIONS: usize = 16;
/// Segment cells a guardrail's telemetry is broken into: one per platform or per region.
pub const MAX_CELLS: usize = 16;
/// 90 days: the longest rollout, counting every stage's minimum duration and the holdback period.
pub const MAX_HOURS: f64 = 2_160.0;
/// The longest a single stage may be required to last, in hours.
pub const MAX_STAGE_HOURS: f64 = 720.0;
/// The longest holdback period, in hours.
pub const MAX_HOLDBACK_PERIOD_HOURS: f64 = 720.0;
/// How many builds a run may roll out: the release and the builds that replace it after kills.
pub const MAX_BUILDS: usize = 8;
/// Retries of one rollback step.
pub const MAX_RETRIES: i64 = 20;
/// Looks a Bonferroni guardrail may plan for.
pub const MAX_LOOKS: i64 = 100_000;
/// The fewest dry runs a standard-error calibration accepts.
pub const MIN_CALIBRATION_RUNS: u32 = 20;
/// Steps in a rollback plan: each kind at most once.
pub const MAX_STEPS: usize = 4;
/// The most variants one sweep may have.
pub const MAX_VARIANTS: usize = 5_000;
/// The largest scenario or sweep file, in bytes. The biggest shipped scenario is a few kilobytes;
/// the bound keeps a mistaken path (a log, a binary) from being read whole.
pub const MAX_FILE_BYTES: u64 = 1 << 20;
/// The deepest nesting of tables, arrays and dotted keys: the TOML parser's own bound, which
/// refuses deeper input.
pub const MAX_NESTING: usize = 80;
/// The most worker threads a command starts: far more than any machine's cores, and few enough
/// for any system to start.
pub const MAX_THREADS: usize = 1024;
/// The most problems a command prints; the rest are counted.
pub const MAX_PRINTED_PROBLEMS: usize = 50;

// The limits agree with each other and with the types that hold the values.
const _: () = {
    // Players and runs are counted in u32.
    assert!(MAX_PLAYERS <= u32::MAX as i64);
    assert!(MAX_RUNS <= u32::MAX as i64);
    // A sweep's runs (each variant runs twice: the scenario and its harmless twin) count in u64.
    assert!((MAX_VARIANTS as u64) * 2 * (MAX_RUNS as u64) < u64::MAX / 2);
    // Durations are whole minutes in u32.
    assert!(MAX_HOURS * 60.0 <= u32::MAX as f64);
    // A stage and the holdback period each fit in the whole rollout.
    assert!(MAX_STAGE_HOURS <= MAX_HOURS);
    assert!(MAX_HOLDBACK_PERIOD_HOURS <= MAX_HOURS);
    // Every breakdown's cells fit in a snapshot: one cell per platform or per region.
    assert!(MAX_PLATFORMS <= MAX_CELLS && MAX_REGIONS <= MAX_CELLS);
    // Cells are sets of bits in a u32.
    assert!(MAX_CELLS <= 32);
    // Segments are indexed by u8.
    assert!(MAX_PLATFORMS <= u8::MAX as usize);
    assert!(MAX_REGIONS <= u8::MAX as usize);
    // A rollback plan holds each of the four step kinds at most once.
    assert!(MAX_STEPS == 4);
    // A calibration fits in a batch, and its attempts and looks count in u32.
    assert!(MIN_CALIBRATION_RUNS as i64 <= MAX_RUNS);
    assert!(MAX_RETRIES < u32::MAX as i64);
    assert!(MAX_LOOKS <= u32::MAX as i64);
    // A command runs on at least one thread.
    assert!(MAX_THREADS > 0);
    // A command prints at least one problem.
    assert!(MAX_PRINTED_PROBLEMS > 0);
    // A run's builds: the release and at least one replacement after a kill.
    assert!(MAX_BUILDS >= 2);
};
