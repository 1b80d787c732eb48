//! `rollcage calibrate`: the population of a scenario fitted to the telemetry of normal operation.

use std::path::PathBuf;

use anyhow::bail;
use rollcage_telemetry::fit::{Data, Known, fit, fragment, report};
use rollcage_telemetry::{Names, read};

use crate::exit;
use crate::files::load_one;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The base scenario: the segment cells the telemetry names, and what telemetry cannot tell
    /// (the share of new players and how much more they crash).
    scenario: PathBuf,
    /// Telemetry of normal operation, one build (.csv or .jsonl; see docs/telemetry.md). Every
    /// cohort's rows count; no rollout log is needed.
    #[arg(long, value_name = "FILE")]
    telemetry: PathBuf,
    /// The population's size, when known; else it is estimated, with the players who never
    /// played in the telemetry.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=rollcage_model::limits::MAX_PLAYERS as i64))]
    players: Option<u32>,
    /// Write the scenario fragment here (default: print it).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Seed of the bootstrap and of the fit report's simulated samples.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

pub fn run(args: &Args) -> anyhow::Result<u8> {
    let format = crate::telemetry::format_of(&args.telemetry)?;
    if !args.telemetry.is_file() {
        bail!("--telemetry {}: no such file", args.telemetry.display());
    }
    if let Some(out) = &args.out {
        crate::telemetry::outputs_one(out)?;
    }
    let Some(loaded) = load_one(&args.scenario)? else { return Ok(exit::BAD_INPUT) };
    let s = &loaded.scenario;
    let file = std::fs::File::open(&args.telemetry)?;
    let mut reader =
        read::Telemetry::new(std::io::BufReader::new(file), format, Names::of(s), &[]).any_build();
    let data = match Data::read(&mut reader) {
        Ok(data) => data,
        Err(problems) => {
            return Ok(crate::telemetry::refused(
                "telemetry",
                &args.telemetry,
                &problems,
                "fitted",
            ));
        }
    };
    if data.players.iter().all(|p| p.sessions == 0) {
        bail!("{}: no session to fit", args.telemetry.display());
    }
    let known = Known {
        players: args.players,
        new_player_share: s.world.population.new_player_share,
        new_player_crash_multiplier: s.world.baseline.new_player_crash_multiplier,
        session_length: s.world.session_length,
    };
    let fitted = fit(&data, &known, args.seed);
    let text = fragment(&fitted, &args.telemetry.display().to_string());
    let checks: String = report(&fitted).lines().map(|l| format!("# {l}\n")).collect();
    let all = format!("{text}\n# How well the fit reproduces the players:\n{checks}");
    match &args.out {
        Some(out) => {
            crate::write::write_text(out, &all)?;
            print!("{}", report(&fitted));
            println!("fragment: {}", out.display());
        }
        None => print!("{all}"),
    }
    Ok(exit::HELD)
}
