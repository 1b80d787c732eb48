# Shortcuts for rollcage. Every recipe is a plain cargo command; just is never required.

# Run the shipped scenario suite and write reports/.
simulate *ARGS:
    cargo run --release -- simulate {{ARGS}}

# Run the tests.
test:
    cargo test --workspace

# Validate the shipped scenarios, then run the formatting and lint checks CI runs.
check:
    cargo run --release -- check
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Run the criterion benchmarks: the simulator's sessions per second, one whole run, and how fast bad
# input is refused.
bench:
    cargo bench -p rollcage-sim --bench world
    cargo bench --bench run
    cargo bench -p rollcage-scenario --bench refusal

# Replay one run of a scenario and print its timeline.
explain SCENARIO RUN:
    cargo run --release -- explain {{SCENARIO}} --run {{RUN}}

# What each stage needs for the guardrails to catch a harm (see README, "Planning stage durations").
plan SCENARIO *ARGS:
    cargo run --release -- plan {{SCENARIO}} {{ARGS}}

# Review changed insta snapshots (needs `cargo install cargo-insta`).
snapshots:
    cargo insta review

# Run a sweep file's grid of policies (see README, "Tuning a rollout with a sweep").
sweep FILE *ARGS:
    cargo run --release -- sweep {{FILE}} {{ARGS}}

# Rebuild reports/index.html, the visual report, from the CSV reports.
report:
    cargo run --release -- report

# The validation matrix: every corrected method in nine stressed null worlds and across a partial
# kill, then each null world's standard-error calibration (see validation/README.md; about 20
# minutes on 2 cores).
validate:
    cargo run --release -- simulate validation --out reports/validation
    failed=""; for world in validation/*/; do runs=3000; case "$world" in *partial-kills*) continue;; *heavy-players*) runs=8000;; esac; if out=$(cargo run --release -- calibrate-se "${world}msprt.toml" --runs "$runs"); then :; else failed="$failed $world"; fi; echo "$out" | grep "from stage 2"; done; [ -z "$failed" ] || { echo "not calibrated:$failed"; exit 1; }

# Mutation testing of the decision logic: every mutant must be caught (README, "Mutation testing";
# about 20 minutes on 2 cores; needs `cargo install cargo-mutants`).
mutants:
    cargo mutants --workspace -f crates/stats/src/spending.rs -f crates/stats/src/contrast.rs -f crates/policy/src/guardrail.rs -f 'crates/policy/src/guardrail/*.rs' -f crates/policy/src/machine.rs -f 'crates/policy/src/machine/*.rs' --test-package rollcage-stats --test-package rollcage-policy
