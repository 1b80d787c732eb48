//! The policy's tables: its stages, guardrails and rollback steps, and operator events.

use super::{
    ACTIONS, BREAKDOWNS, DIRECTIONS, IN_FLIGHT, Kind, METHODS, METRICS, SCOPES, SPENDINGS, STEPS,
    STRATEGIES, TableSpec, VARIANCES, number, number_or_none, optional, required,
};
use rollcage_policy::{Multiplicity, Severity, Statistic};

use rollcage_model::limits::{
    MAX_GUARDRAILS, MAX_HOLDBACK_PERIOD_HOURS, MAX_HOURS, MAX_LOOKS, MAX_RETRIES, MAX_STAGE_HOURS,
    MAX_STAGES, MAX_STEPS,
};

pub static STAGE: TableSpec = TableSpec {
    name: "[[policy.stages]]",
    doc: "One stage of the rollout.",
    keys: &[
        required(
            "percent",
            number_or_none(0.01, 100.0),
            "Share of all players exposed during the stage, in steps of 0.01%. Stages must increase, and the last plus the holdback may not exceed 100.",
        ),
        required(
            "min_duration_h",
            number_or_none(0.0, MAX_STAGE_HOURS),
            "The stage lasts at least this many hours.",
        ),
        optional(
            "min_sample",
            Kind::Integer { min: 0, max: 1_000_000_000, default: Some(0) },
            "Sessions each of the treatment and the holdback must report during the stage before it may end.",
        ),
        optional(
            "approval",
            Kind::Boolean { default: Some(false) },
            "Leaving the stage needs an operator's approve event.",
        ),
    ],
};

pub static GUARDRAIL: TableSpec = TableSpec {
    name: "[[policy.guardrails]]",
    doc: "A metric watched for harm, comparing the treatment with the holdback (or, for threshold, the treatment alone).",
    keys: &[
        required("name", Kind::Name, "The guardrail's name, unique in the policy."),
        required("metric", Kind::Choice { values: METRICS, default: None }, "The metric watched."),
        required(
            "method",
            Kind::Choice { values: METHODS, default: None },
            "threshold: an absolute critical limit on the treatment; naive_z: a one-sided z-test at every look (inflates false kills); bonferroni: the z-test at alpha divided by the planned looks; spending: group-sequential boundaries from an alpha-spending function at the information the rollout actually gathers; msprt: the mixture sequential probability ratio test, which holds alpha over any number of looks; sprt: Wald's sequential probability ratio test against one stated effect.",
        ),
        optional(
            "harmful",
            Kind::Choice { values: DIRECTIONS, default: None },
            "The harmful direction. Default: increase, except decrease for return_rate.",
        ),
        optional(
            "alpha",
            Kind::Number { min: 1e-6, max: 0.5, default: None },
            "Error rate over the whole rollout (for naive_z, per look). Default 0.05.",
        ),
        optional(
            "margin_relative",
            number_or_none(0.0, 10.0),
            "Tolerated change as a fraction of the holdback's mean (every method but threshold). Default 0.",
        ),
        optional(
            "margin_absolute",
            number_or_none(0.0, 1e9),
            "Tolerated change in the metric's units (every method but threshold); instead of margin_relative.",
        ),
        optional(
            "mixture_sd",
            number_or_none(1e-12, 1e9),
            "msprt's mixture standard deviation, in the metric's units: the effect size it is most sensitive to. Default: half the metric's baseline mean, which balances speed on severe regressions against power on subtle ones.",
        ),
        optional(
            "spending",
            Kind::Choice { values: SPENDINGS, default: None },
            "spending's function: obrien_fleming spends almost nothing early (a canary stops only a plainly harmful build) and keeps the last look nearly a fixed-sample test; pocock spends evenly (catches more early, stricter at the end). Default obrien_fleming.",
        ),
        optional(
            "planned_information",
            number_or_none(1.0, 1e12),
            "spending's planned information, in sessions: the sum over stages of nt*nh/(nt+nh) the schedule is expected to gather. Default: computed from the population's traffic, the stage shares and the stages' minimum durations and samples (rollcage plan prints it).",
        ),
        optional(
            "looks",
            Kind::Integer { min: 1, max: MAX_LOOKS, default: None },
            "bonferroni's planned looks. Default: the scheduled hours (stage minimums, or the time to their minimum samples, plus the holdback period) over the evaluation interval.",
        ),
        optional(
            "effect",
            number_or_none(1e-12, 1e12),
            "sprt's alternative: the harm beyond the margin, in the metric's units, it should detect with power 1 - beta (required for sprt).",
        ),
        optional(
            "beta",
            number_or_none(1e-4, 0.5),
            "sprt's type II error at `effect`. Default 0.2.",
        ),
        optional(
            "inconclusive_limit",
            Kind::Integer { min: 0, max: 1_000, default: Some(4) },
            "Consecutive evaluations without new telemetry (late, lost or during an outage) after which the rollout pauses; 0 never pauses. Such evaluations are inconclusive: never a pass, never a breach.",
        ),
        optional(
            "limit",
            number_or_none(-1e12, 1e12),
            "threshold's critical limit on the treatment's mean (required for threshold).",
        ),
        optional(
            "min_sample",
            Kind::Integer { min: 1, max: 1_000_000_000, default: Some(100) },
            "Sessions each compared cohort needs before the guardrail decides; until then it is inconclusive, never a pass.",
        ),
        optional(
            "severity",
            Kind::Choice { values: Severity::NAMES, default: Some("rollback") },
            "rollback kills the build; pause stops the rollout until an operator resumes it.",
        ),
        optional(
            "breaches_required",
            Kind::Integer { min: 1, max: 100, default: Some(1) },
            "Consecutive breaching evaluations before the breach acts.",
        ),
        optional(
            "scope",
            Kind::Choice { values: SCOPES, default: Some("release") },
            "What a rollback-severity breach kills: the release (its rollback plan runs), one feature (named by `feature`), or each breaching segment cell of [policy] segment_by (evaluated per cell at alpha divided by the number of cells).",
        ),
        optional("feature", Kind::Name, "The feature a scope = \"feature\" guardrail kills."),
        optional(
            "variance",
            Kind::Choice { values: VARIANCES, default: Some("clustered") },
            "clustered: variance components within and between players (sessions of one player are correlated), with a Student t reference; session: every session independent.",
        ),
        optional(
            "statistic",
            Kind::Choice { values: Statistic::NAMES, default: Some("mean") },
            "mean: compare the cohorts' means; mann_whitney: the Mann-Whitney rank test on the latency distributions, stratified by stage (latency_ms only, with naive_z, bonferroni or spending; relative margin; sessions taken as independent).",
        ),
    ],
};

pub static STEP: TableSpec = TableSpec {
    name: "[[policy.rollback]]",
    doc: "One step of the rollback plan a release kill runs, in the order stop_exposure, return_players, revert_migration, restore_players (each at most once; stop_exposure is added at the front, instant and infallible, if left out).",
    keys: &[
        required(
            "step",
            Kind::Choice { values: STEPS, default: None },
            "stop_exposure turns the flag off on the server; return_players makes every client, stale ones too, refresh; revert_migration moves saves back to the old schema; restore_players puts affected players' coins, items and progress back and repairs corrupted saves.",
        ),
        optional(
            "strategy",
            Kind::Choice { values: STRATEGIES, default: None },
            "restore_players only: snapshot restores from before the rollout (loses legitimate progress since); clawback removes the coins the audit trail flagged (leaves what it missed); replay rebuilds saves from legitimate transactions (exact).",
        ),
        optional(
            "duration_min",
            Kind::Integer { min: 0, max: 10_080, default: Some(0) },
            "Minutes an attempt takes.",
        ),
        optional("failure_probability", number(0.0, 1.0, 0.0), "Chance that an attempt fails."),
        optional(
            "half_applied",
            number(0.0, 1.0, 0.0),
            "Chance that a failed attempt has already applied itself to part of the players (a retry must not apply it twice).",
        ),
        optional(
            "retries",
            Kind::Integer { min: 0, max: MAX_RETRIES, default: Some(0) },
            "Attempts after the first before the rollback is declared failed.",
        ),
        optional(
            "backoff_min",
            Kind::Integer { min: 0, max: 1_440, default: Some(5) },
            "Minutes before the first retry; each further retry waits twice as long.",
        ),
    ],
};

pub static POLICY: TableSpec = TableSpec {
    name: "[policy]",
    doc: "The rollout policy under test.",
    keys: &[
        optional(
            "evaluation_interval_min",
            Kind::Integer { min: 15, max: 1_440, default: Some(60) },
            "Minutes between telemetry snapshots; the policy evaluates and acts at each.",
        ),
        optional(
            "holdback_percent",
            number(0.0, 50.0, 5.0),
            "Share of players who never receive the build during the rollout and the holdback period.",
        ),
        optional(
            "holdback_period_h",
            number(0.0, MAX_HOLDBACK_PERIOD_HOURS, 24.0),
            "Hours the holdback is kept after the last stage before the build is released to everyone.",
        ),
        optional(
            "max_duration_h",
            number_or_none(1.0, MAX_HOURS),
            "The schedule bound: a rollout never stopped must be released by then; every run ends then. Default: 1.5 times the stages' minimum durations plus the holdback period.",
        ),
        optional(
            "segment_by",
            Kind::Choice { values: BREAKDOWNS, default: Some("none") },
            "The segments telemetry is broken into, for segment-scoped guardrails and segment kills.",
        ),
        optional(
            "in_flight",
            Kind::Choice { values: IN_FLIGHT, default: Some("drain") },
            "What happens to runs in flight when the release is switched off: they finish, or they end and give the player back their state from before the run.",
        ),
        optional(
            "multiplicity",
            Kind::Choice { values: Multiplicity::NAMES, default: Some("none") },
            "How the statistical guardrails' alphas combine: none (each at its own; some guardrail fires on a harmless build more often than any alpha), bonferroni (each at alpha divided by their number) or holm (the same, and a guardrail that breached passes its share on to the others).",
        ),
        optional(
            "srm_alpha",
            number(0.0, 0.5, 0.001),
            "The sample-ratio-mismatch check's error rate over the rollout: at each evaluation the current stage's assigned players are compared with the split the stage and holdback shares promise (chi-square), at srm_alpha divided by the planned looks; a mismatch pauses the rollout. 0 turns the check off.",
        ),
        optional(
            "resume_stage",
            Kind::Integer { min: 1, max: MAX_STAGES as i64, default: Some(1) },
            "The stage (1-based) a new build starts from after a kill.",
        ),
        required(
            "stages",
            Kind::Tables { spec: &STAGE, min: 1, max: MAX_STAGES },
            "The stages, in order.",
        ),
        optional(
            "guardrails",
            Kind::Tables { spec: &GUARDRAIL, min: 0, max: MAX_GUARDRAILS },
            "The guardrails.",
        ),
        optional("rollback", Kind::Tables { spec: &STEP, min: 0, max: MAX_STEPS }, STEP.doc),
    ],
};

pub static OPERATOR: TableSpec = TableSpec {
    name: "[[operator]]",
    doc: "A scripted operator intervention; it takes effect at the first evaluation at or after its time.",
    keys: &[
        required("at_h", number_or_none(0.0, MAX_HOURS), "Hours after the rollout starts."),
        required(
            "action",
            Kind::Choice { values: ACTIONS, default: None },
            "kill the build; pause or resume the rollout; approve a stage's gate; new_build resumes after a kill with a new build id.",
        ),
        optional("note", Kind::Text { default: None }, "Why, for the timeline."),
        optional(
            "stage",
            Kind::Integer { min: 1, max: MAX_STAGES as i64, default: None },
            "The stage (1-based) an approve event approves.",
        ),
        optional("build", Kind::Text { default: None }, "The new build id of a new_build event."),
        optional(
            "feature",
            Kind::Name,
            "kill only: kill this feature of the release instead of all of it.",
        ),
        optional(
            "segment",
            Kind::Name,
            "kill only: send this segment (a platform or region of [policy] segment_by) back to the old build instead of everyone.",
        ),
    ],
};
