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

# Run the criterion benchmarks: the simulator's sessions per second, and one whole run.
bench:
    cargo bench -p rollcage-sim --bench world
    cargo bench --bench run

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
