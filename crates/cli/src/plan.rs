//! `rollcage plan`: what each stage must gather for the guardrails to catch a given harm.

use std::path::PathBuf;

use anyhow::bail;
use rollcage_harness::plan::{Request, plan, render};

use crate::exit;
use crate::files::load_one;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The scenario file.
    scenario: PathBuf,
    /// The harm to detect, as a relative change of each guardrail's baseline in its harmful
    /// direction (0.2: crash rate 20% higher, return rate 20% lower).
    #[arg(long, default_value_t = 0.2)]
    effect: f64,
    /// The chance of detecting it (1 − β).
    #[arg(long, default_value_t = 0.8)]
    power: f64,
    /// Pilot runs to measure the baseline and the schedule from.
    #[arg(long, default_value_t = 20)]
    pilots: u32,
}

pub fn run(args: &Args) -> anyhow::Result<u8> {
    if !(args.effect > 0.0 && args.effect.is_finite()) {
        bail!(
            "--effect must be a positive relative change, such as 0.2 for 20% (got {})",
            args.effect
        );
    }
    if !(args.power > 0.0 && args.power < 1.0) {
        bail!("--power must be between 0 and 1, such as 0.8 (got {})", args.power);
    }
    if args.pilots == 0 || args.pilots > 10_000 {
        bail!("--pilots must be between 1 and 10000 (got {})", args.pilots);
    }
    let Some(loaded) = load_one(&args.scenario)? else { return Ok(exit::BAD_INPUT) };
    let s = &loaded.scenario;
    let request = Request { effect: args.effect, power: args.power, pilots: args.pilots };
    match plan(s, request) {
        Ok(p) => {
            print!("{}", render(s, &p));
            Ok(exit::HELD)
        }
        Err(e) => bail!("{}: {e}", loaded.display_path()),
    }
}
