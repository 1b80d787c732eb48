//! The facts a scenario derives from its definition: the world flags its policy's guardrails need,
//! every player's bucket, the kill-propagation promise and the schedule. They are derived again
//! whenever the definition changes, so they cannot disagree with it.

use rollcage_model::hash::buckets;
use rollcage_model::{
    Comparison, Definition, Expectations, Fault, FaultKind, Guardrail, HashScheme, Method, Metric,
    Minutes, Multiplicity, PolicyConfig, Scenario, Scope, SegmentFilter, Severity, Share, Stage,
    Statistic, testing,
};
use rollcage_stats::{Direction, Margin, VarianceModel};

fn guardrail(metric: Metric, statistic: Statistic, variance: VarianceModel) -> Guardrail {
    let test = Comparison { alpha: 0.05, margin: Margin::Relative(0.0), variance, statistic };
    Guardrail {
        name: format!("{metric:?}"),
        metric,
        direction: Direction::Increase,
        method: Method::Msprt { test, mixture_sd: 0.01 },
        min_sample: 100,
        severity: Severity::Rollback,
        breaches_required: 1,
        scope: Scope::Release,
        inconclusive_limit: 4,
    }
}

/// A 2,000-player definition whose policy holds back 7% and watches `guardrails`. Its world says
/// the opposite of what the policy needs (a 5% holdback, every metric watched, every flag on), so
/// a derivation that kept the definition's flags is seen.
fn definition(guardrails: Vec<Guardrail>) -> Definition {
    let stage = |bp, hours| Stage {
        share: Share::from_basis_points(bp).unwrap(),
        min_duration: Minutes::from_hours(hours),
        min_sample: 50,
        approval: false,
    };
    Definition {
        name: "derived".into(),
        description: String::new(),
        compare: None,
        seed: 3,
        runs: 10,
        world: testing::world(2_000),
        policy: PolicyConfig {
            stages: vec![stage(500, 6), stage(9_300, 10)],
            holdback: Share::from_basis_points(700).unwrap(),
            holdback_period: Minutes::from_hours(24),
            guardrails,
            resume_stage: 0,
            rollback: vec![],
            features: vec!["exchange-v2".into()],
            cells: vec!["all".into()],
            cell_shares: vec![1.0],
            multiplicity: Multiplicity::None,
            srm: None,
        },
        evaluation_interval: Minutes(60),
        max_duration: Minutes::from_hours(60),
        commands: vec![],
        expect: Expectations::default(),
    }
}

#[test]
fn the_world_flags_follow_the_policy_not_the_definition() {
    let s = Scenario::new(definition(vec![guardrail(
        Metric::CrashRate,
        Statistic::Mean,
        VarianceModel::Session,
    )]));
    let mut watched = [false; Metric::COUNT];
    watched[Metric::CrashRate.index()] = true;
    assert_eq!(s.world.watched, watched);
    assert_eq!(s.world.holdback, s.policy.holdback);
    assert!(!s.world.latency_histogram, "no rank test");
    assert!(!s.world.carry_players && !s.world.report_unexposed, "no clustered variance");

    let rank = s.with(|d| {
        d.policy.guardrails.push(guardrail(
            Metric::LatencyMs,
            Statistic::MannWhitney,
            VarianceModel::Clustered,
        ))
    });
    assert!(rank.world.latency_histogram);
    assert!(rank.world.watched[Metric::LatencyMs.index()]);
    // A rank test takes no clustered variance, whatever its variance model says.
    assert!(!rank.world.carry_players && !rank.world.report_unexposed);

    let clustered = rank.with(|d| {
        d.policy.guardrails[0] =
            guardrail(Metric::CrashRate, Statistic::Mean, VarianceModel::Clustered)
    });
    assert!(clustered.world.carry_players && clustered.world.report_unexposed);

    let none = clustered.with(|d| d.policy.guardrails.clear());
    assert_eq!(none.world.watched, [false; Metric::COUNT]);
    assert!(!none.world.latency_histogram && !none.world.carry_players);
}

#[test]
fn buckets_are_every_players_and_follow_the_assignment() {
    let s = Scenario::new(definition(vec![]));
    assert_eq!(s.buckets(), buckets(&s.world.assignment, 2_000).as_slice());

    // An edit that leaves the players and the assignment alone keeps the same buckets.
    let edited = s.with(|d| d.runs = 99);
    assert!(std::ptr::eq(edited.buckets(), s.buckets()));

    let more = s.with(|d| d.world.population.players = 3_000);
    assert_eq!(more.buckets(), buckets(&more.world.assignment, 3_000).as_slice());

    let salted = s.with(|d| d.world.assignment = HashScheme::UnleashMurmur3 { group: "x".into() });
    assert_eq!(salted.buckets(), buckets(&salted.world.assignment, 2_000).as_slice());
    assert_ne!(salted.buckets(), s.buckets(), "another salt, other buckets");
}

#[test]
fn kills_propagate_within_the_slowest_clients_refresh() {
    let s = Scenario::new(definition(vec![]));
    let p = &s.world.population;
    assert!(p.stale_refresh > p.flag_refresh);
    assert_eq!(s.kill_propagation_bound(), p.flag_refresh, "no stale clients");
    let stale = s.with(|d| d.world.population.stale_client_share = 0.01);
    assert_eq!(stale.kill_propagation_bound(), p.stale_refresh);
    let fast = stale.with(|d| d.world.population.stale_refresh = Minutes(1));
    assert_eq!(fast.kill_propagation_bound(), p.flag_refresh, "the slower of the two");
}

#[test]
fn the_schedule_is_the_stages_then_the_holdback_period() {
    let s = Scenario::new(definition(vec![]));
    assert_eq!(s.policy.schedule(), Minutes::from_hours(6 + 10 + 24));
}

#[test]
fn a_harmless_scenario_is_the_same_without_its_faults() {
    let fault = Fault {
        feature: 0,
        kind: FaultKind::SaveCorruption { probability: 0.1 },
        onset: Minutes(0),
        segment: SegmentFilter::default(),
    };
    let s = Scenario::new(definition(vec![])).with(|d| d.world.release.faults.push(fault));
    let harmless = s.harmless();
    assert!(harmless.world.release.faults.is_empty());
    assert_eq!(harmless.with(|d| d.world.release.faults = s.world.release.faults.clone()), s);
}
