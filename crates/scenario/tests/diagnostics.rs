//! Bad input: every problem in a file is reported at once, each with its line, column and a
//! sentence saying what to fix.

use rollcage_scenario::{Diagnostic, load};

fn problems(source: &str) -> Vec<Diagnostic> {
    load(source).expect_err("the scenario has problems")
}

fn render(source: &str) -> String {
    problems(source).iter().map(|d| d.render("bad.toml", source)).collect::<Vec<_>>().join("\n")
}

const MANY_MISTAKES: &str = r#"
name = "many-mistakes"
seed = 1
runs = 500000

[population]
players = 20000
platforms = { ios = 0.5, android = 0.4 }
flag_refresh_mins = 15

[baseline]
crash_rate = -0.1

[release]
build = "1.0.0"

[[release.features]]
name = "quests"

[[release.features.faults]]
kind = "crash_rate"
multiplier = 2.0
segment = { platform = "switch" }

[policy]
holdback_percent = 10

[[policy.stages]]
percent = 25
min_duration_h = 12

[[policy.stages]]
percent = 10
min_duration_h = 12

[[policy.stages]]
percent = 95
min_duration_h = 12
approval = true

[[policy.guardrails]]
name = "crash"
metric = "crash_rate"
method = "msprt2"

[[policy.guardrails]]
name = "critical"
metric = "crash_rate"
method = "threshold"
alpha = 0.05

[[operator]]
at_h = 9999
action = "kill"
"#;

#[test]
fn every_problem_is_reported_at_once() {
    let found = problems(MANY_MISTAKES);
    let messages: Vec<&str> = found.iter().map(|d| d.message.as_str()).collect();
    let expect = [
        "`runs` must be between 1 and 100000",
        "the shares in `platforms` sum to 0.9",
        "unknown key `flag_refresh_mins` in [population]; did you mean `flag_refresh_min`?",
        "`crash_rate` must be between 0 and 1 (rollcage's bounds), not -0.1",
        "platform `switch` is not one of the population's platforms (ios, android)",
        "stage percentages must increase (25 then 10)",
        "the last stage (95%) plus the holdback (10%) is 105%, above 100%",
        "stage 3 needs an approval, but no [[operator]] approves it",
        "`method` must be one of \"threshold\", \"naive_z\", \"bonferroni\", \"spending\", \"msprt\", \"sprt\"; \"msprt2\" is not",
        "`alpha` has no meaning for method = \"threshold\"; remove it",
        "method = \"threshold\" needs a `limit`",
        "`at_h` must be between 0 and 2160",
    ];
    for e in expect {
        assert!(messages.iter().any(|m| m.contains(e)), "missing {e:?} in {messages:#?}");
    }
    assert_eq!(found.len(), expect.len(), "{messages:#?}");
    // In file order, each with its place.
    assert!(found.windows(2).all(|w| (w[0].line, w[0].column) <= (w[1].line, w[1].column)));
    let stages = found.iter().find(|d| d.message.contains("must increase")).unwrap();
    assert_eq!((stages.line, stages.column), (33, 11));
}

#[test]
fn rendered_diagnostics_are_pinned() {
    insta::assert_snapshot!(render(MANY_MISTAKES));
}

#[test]
fn invalid_toml_is_reported_with_its_place() {
    let found = problems("name = \"x\"\nseed = \n");
    assert_eq!(found[0].line, 2);
    assert!(found[0].message.starts_with("this is not valid TOML"), "{}", found[0].message);
}

#[test]
fn missing_tables_are_named_with_what_they_hold() {
    let found = problems("name = \"x\"\nseed = 1\n");
    let messages: Vec<&str> = found.iter().map(|d| d.message.as_str()).collect();
    for table in ["population", "baseline", "release", "policy"] {
        assert!(messages.iter().any(|m| m.contains(&format!("needs `{table}`"))), "{messages:#?}");
    }
}

#[test]
fn limits_name_the_limit() {
    let source = MANY_MISTAKES.replace("players = 20000", "players = 5000000");
    let found = problems(&source);
    assert!(
        found.iter().any(|d| d.message
            == "`players` must be between 100 and 1000000 (rollcage's bounds), not 5000000"),
        "{found:#?}"
    );
}

#[test]
fn percentages_and_hours_must_fit_rollcages_units() {
    let source = MANY_MISTAKES
        .replace("percent = 25\n", "percent = 0.125\n")
        .replace("percent = 95\nmin_duration_h = 12\n", "percent = 95\nmin_duration_h = 0.001\n");
    let found = problems(&source);
    let messages: Vec<&str> = found.iter().map(|d| d.message.as_str()).collect();
    assert!(
        messages.contains(&"`percent` = 0.125 is finer than rollcage's buckets of 0.01%"),
        "{messages:#?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("`min_duration_h` = 0.001 is not a whole number of minutes")),
        "{messages:#?}"
    );
}

/// The method keys: each method's own keys are refused on the others, the SPRT needs its effect,
/// and the data-quality tables name unknown segments like the faults do.
#[test]
fn method_keys_belong_to_their_method() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scenarios/methods/msprt.toml");
    let source = std::fs::read_to_string(path).unwrap().replace(
        "method = \"msprt\"\nalpha = 0.05",
        "method = \"sprt\"\nlooks = 3\nspending = \"pocock\"\nalpha = 0.05",
    ) + "\n[assignment_bug]\nshare = 0.5\nsegment = { platform = \"switch\" }\n";
    exactly_these(
        &source,
        &[
            "`looks` has no meaning for method = \"sprt\"; remove it",
            "`spending` has no meaning for method = \"sprt\"; remove it",
            "method = \"sprt\" needs the `effect` it tests for, in the metric's units",
            "platform `switch` is not one of the population's platforms",
        ],
    );
}

/// Asserts that `source` has exactly the expected problems (each found by a part of its message).
fn exactly_these(source: &str, expected: &[&str]) {
    let found = problems(source);
    let messages: Vec<&str> = found.iter().map(|d| d.message.as_str()).collect();
    for expected in expected {
        assert!(
            messages.iter().any(|m| m.contains(expected)),
            "missing {expected:?}: {messages:#?}"
        );
    }
    assert_eq!(found.len(), expected.len(), "{messages:#?}");
}

/// The rank test's rules: latency only, a z-based method, a relative margin, no variance model.
#[test]
fn the_rank_test_states_its_rules() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scenarios/methods/msprt.toml");
    let source = std::fs::read_to_string(path).unwrap().replace(
        "method = \"msprt\"\nalpha = 0.05",
        "method = \"msprt\"\nstatistic = \"mann_whitney\"\nmargin_absolute = 5.0\nvariance = \"session\"\nalpha = 0.05",
    );
    exactly_these(
        &source,
        &[
            "it needs metric = \"latency_ms\"",
            "method = \"msprt\" cannot use it; use naive_z, bonferroni or spending",
            "a rank test's margin is relative",
            "`variance` has no meaning for statistic = \"mann_whitney\"",
        ],
    );
    // And the shipped rank scenarios load.
    for name in ["rank-spending", "rank-naive"] {
        let path = format!("{}/../../scenarios/latency/{name}.toml", env!("CARGO_MANIFEST_DIR"));
        load(&std::fs::read_to_string(path).unwrap()).expect("the shipped scenario loads");
    }
}
