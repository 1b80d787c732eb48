//! The `rollcage` command line: the one place that reads files, writes reports, prints, and reads
//! the clock. It validates what the user typed first, then does the work.

// The arguments' doc comments are their `--help` text, which names paths such as `<out>/index.html`
// as a user types them; rustdoc would read those as HTML tags.
#![allow(rustdoc::invalid_html_tags)]

mod backtest;
mod calibrate;
mod explain;
mod files;
mod fit;
mod interrupt;
mod judge;
mod page;
mod panics;
mod plan;
mod shard;
mod simulate;
mod sweep;
mod telemetry;
mod work;
mod write;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use rollcage_report::exit;

/// Proves a game-release rollout policy safe before it touches players.
///
/// rollcage runs a rollout policy (stages, holdback, guardrails, kill switches) thousands of times
/// against a seeded population of simulated players with injected failures, and reports how often
/// it kills a good build, how often and how fast it catches a bad one, and how many players a bad
/// build reaches.
#[derive(Parser, Debug)]
#[command(name = "rollcage", version, about, long_about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The commands; their names in messages come from the derive, as clap's do.
#[derive(Subcommand, Debug, strum::IntoStaticStr)]
#[strum(serialize_all = "kebab-case")]
enum Command {
    /// Run every scenario's batch and write reports (exit 0 held, 1 failed, 2 bad input, 3 internal error).
    Simulate(simulate::Args),
    /// Validate scenario files and report every problem, without running them.
    Check {
        /// Scenario files or directories of them.
        #[arg(default_value = "scenarios")]
        paths: Vec<PathBuf>,
    },
    /// Run a null world's guardrails dry, many times, and compare the spread of each guardrail's
    /// estimate with the standard error it reports, look by look (1 is calibrated).
    CalibrateSe(calibrate::Args),
    /// Replay one run of a scenario and print its timeline: stages, evaluations, the stop, the oracles.
    Explain(explain::Args),
    /// Judge a live rollout: the scenario's policy on the rollout's telemetry and log, look by
    /// look, and what to do now (exit 0 continue or advance, 4 pause, 5 kill, 2 bad input).
    Judge(judge::Args),
    /// Replay a recorded rollout (telemetry and log) under other policies (scenario files, or a
    /// sweep's variants): where each would first have decided otherwise, and the treatment
    /// sessions it would have exposed or saved. Writes <out>/backtest/<name>.csv.
    Backtest(backtest::Args),
    /// Fit a scenario's population (activity, crash-proneness, latency, coins, returns, the daily
    /// cycle) to the telemetry of normal operation: a scenario fragment with each value's standard
    /// error, and how well the fit reproduces the players.
    Calibrate(fit::Args),
    /// For each statistical guardrail and stage: the chance the planned schedule catches a given
    /// harm, and the sessions and hours a stage needs to catch it with a given power.
    Plan(plan::Args),
    /// Run one scenario under many policies (a grid from a sweep file) on the same seeds, and write
    /// a table with each variant's costs and the Pareto frontier.
    Sweep(sweep::Args),
    /// Combine the outputs of shards (`simulate --shard I/N` or `sweep --shard I/N`) into exactly
    /// the reports the unsharded command writes.
    Merge(shard::MergeArgs),
    /// Rebuild the visual report, <out>/index.html, from the CSV reports in <out> (simulate,
    /// sweep and merge rebuild it themselves).
    Report {
        /// The reports directory.
        #[arg(long, default_value = "reports")]
        out: PathBuf,
    },
    /// Print the JSON Schema of the scenario format, or of a telemetry row or a rollout log event.
    Schema {
        /// Which format.
        #[arg(value_enum, default_value = "scenario")]
        format: SchemaOf,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum SchemaOf {
    Scenario,
    Telemetry,
    Log,
}

fn main() -> ExitCode {
    panics::quiet_broken_pipe();
    panics::install();
    let cli = Cli::parse();
    panics::doing(format!("running `rollcage {}`", cli.command.name()));
    match std::panic::catch_unwind(|| dispatch(cli.command)) {
        Ok(Ok(code)) => ExitCode::from(code),
        Ok(Err(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit::BAD_INPUT)
        }
        Err(payload) => {
            panics::report(payload.as_ref());
            ExitCode::from(exit::INTERNAL)
        }
    }
}

impl Command {
    fn name(&self) -> &'static str {
        self.into()
    }
}

fn dispatch(command: Command) -> anyhow::Result<u8> {
    match command {
        Command::Simulate(args) => simulate::run(&args),
        Command::Check { paths } => files::check(&paths),
        Command::CalibrateSe(args) => calibrate::run(&args),
        Command::Explain(args) => explain::run(&args),
        Command::Judge(args) => judge::run(&args),
        Command::Backtest(args) => backtest::run(&args),
        Command::Calibrate(args) => fit::run(&args),
        Command::Plan(args) => plan::run(&args),
        Command::Sweep(args) => sweep::run(&args),
        // The shards of a `simulate`, or of a `sweep`.
        Command::Merge(args) => match &args.sweep {
            Some(sweep) => sweep::merge(sweep, &args),
            None => simulate::merge(&args.paths, &args),
        },
        Command::Report { out } => page::run(&out),
        Command::Schema { format } => {
            match format {
                SchemaOf::Scenario => print!("{}", rollcage_scenario::schema::schema()),
                SchemaOf::Telemetry => println!("{:#}", rollcage_telemetry::schema::row()),
                SchemaOf::Log => println!("{:#}", rollcage_telemetry::schema::log()),
            }
            Ok(exit::HELD)
        }
    }
}
