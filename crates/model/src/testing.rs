//! A small, typical world for tests and benchmarks, in this crate and the ones above it. Scenario
//! files are the way to describe a world; this exists so tests need not repeat one.

use crate::hash::HashScheme;
use crate::world::{
    Baseline, Breakdown, InFlight, Migration, PopulationConfig, Release, StepTruth, WorldConfig,
};
use crate::{BuildId, Minutes, Share, StepKind};

/// `players` players on three platforms and two regions, a 2% crash rate, a 5% holdback and a
/// release `1.4.0` with one feature and no fault.
pub fn world(players: u32) -> WorldConfig {
    WorldConfig {
        population: PopulationConfig {
            players,
            runs_per_day: 4.0,
            activity_spread: 0.8,
            crash_proneness_spread: 0.5,
            latency_spread: 0.25,
            skill_spread: 0.3,
            new_player_share: 0.2,
            platforms: vec![("ios".into(), 0.45), ("android".into(), 0.45), ("pc".into(), 0.10)],
            regions: vec![("na".into(), 0.5), ("eu".into(), 0.5)],
            flag_refresh: Minutes(15),
            stale_client_share: 0.0,
            stale_refresh: Minutes(240),
        },
        baseline: Baseline {
            crash_rate: 0.02,
            new_player_crash_multiplier: 1.5,
            latency_ms_median: 80.0,
            latency_spread: 0.35,
            coins_per_run: 120.0,
            coins_spread: 0.5,
            return_rate: 0.6,
            daily_cycle_amplitude: 0.5,
            peak_hour: 20.0,
            item_rate: 0.05,
        },
        release: Release {
            build: BuildId::new("1.4.0"),
            features: vec!["exchange-v2".into()],
            faults: vec![],
            migration: Migration::None,
            backward_compatible: true,
            faulty_share: 1.0,
        },
        live_events: vec![],
        assignment: HashScheme::UnleashMurmur3 { group: "test".into() },
        holdback: Share::from_basis_points(500).expect("5% is a share"),
        session_length: Minutes(12),
        breakdown: Breakdown::None,
        in_flight: InFlight::Drain,
        rollback: vec![StepTruth {
            kind: StepKind::StopExposure,
            duration: Minutes(0),
            failure_probability: 0.0,
            half_applied_probability: 0.0,
        }],
        watched: [true; crate::Metric::COUNT],
        latency_histogram: true,
        carry_players: true,
        report_unexposed: true,
        observation: crate::world::Observation::default(),
        assignment_bug: None,
        sabotage: None,
    }
}
