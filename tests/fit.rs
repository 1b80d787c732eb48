//! Calibration by recovery: telemetry simulated from known parameters (examples/live's normal
//! operation) is fitted back to them. Each run's estimate must lie within 4 of its own bootstrap
//! standard errors of the truth, and the bootstrap's standard errors must match the spread of the
//! estimates over independent runs (the Monte Carlo error), so the errors a fit reports can be
//! trusted.

use rollcage_harness::{RunOptions, run};
use rollcage_telemetry::fit::{Data, Known, Parameters, fit};
use rollcage_telemetry::{Format, Names, read, write};

/// Independent runs (seeds) of normal operation.
const RUNS: u32 = 16;

fn truth(s: &rollcage_scenario::Scenario) -> Parameters {
    let (p, b) = (&s.world.population, &s.world.baseline);
    Parameters {
        players: f64::from(p.players),
        runs_per_day: p.runs_per_day,
        activity_spread: p.activity_spread,
        crash_rate: b.crash_rate,
        crash_proneness_spread: p.crash_proneness_spread,
        latency_ms_median: b.latency_ms_median,
        player_latency_spread: p.latency_spread,
        session_latency_spread: b.latency_spread,
        coins_per_run: b.coins_per_run,
        skill_spread: p.skill_spread,
        coins_spread: b.coins_spread,
        return_rate: b.return_rate,
        daily_cycle_amplitude: b.daily_cycle_amplitude,
        peak_hour: b.peak_hour,
    }
}

#[test]
fn normal_operation_is_calibrated_back_to_its_parameters() {
    let path = "examples/live/normal-operation.toml";
    let s = rollcage_scenario::load(&std::fs::read_to_string(path).unwrap()).unwrap();
    let names = Names::of(&s);
    let known = Known {
        players: None,
        new_player_share: s.world.population.new_player_share,
        new_player_crash_multiplier: s.world.baseline.new_player_crash_multiplier,
        session_length: s.world.session_length,
    };
    let truth = truth(&s).named();
    let options = RunOptions { record_telemetry: true, ..RunOptions::default() };
    let mut fits = Vec::new();
    for r in 0..RUNS {
        let record = run(&s, r, options);
        let recording = &record.telemetry.as_ref().unwrap().recording;
        let mut csv = Vec::new();
        write::telemetry(recording, &names, Format::Csv, &mut csv).unwrap();
        let mut reader =
            read::Telemetry::new(&csv[..], Format::Csv, names.clone(), &[]).any_build();
        let data = Data::read(&mut reader).expect("the telemetry reads");
        fits.push(fit(&data, &known, u64::from(r)));
    }
    for (i, &(_, key, true_value)) in truth.iter().enumerate() {
        let estimates: Vec<f64> = fits.iter().map(|f| f.parameters.named()[i].2).collect();
        let errors: Vec<f64> = fits.iter().map(|f| f.errors.named()[i].2).collect();
        for (r, (e, se)) in estimates.iter().zip(&errors).enumerate() {
            assert!(
                (e - true_value).abs() <= 4.0 * se,
                "{key}, run {r}: {e} against the truth {true_value}, standard error {se}"
            );
        }
        // The spread over runs against the bootstrap's: with 16 runs, the sample standard
        // deviation of a normal estimate is within [0.55, 1.45] of the true one 99.5% of the time
        // (chi-square, 15 df); the bounds are wider for estimates dominated by a few heavy
        // players (crash-proneness), whose spread over 16 runs varies more.
        let n = estimates.len() as f64;
        let mean = estimates.iter().sum::<f64>() / n;
        let spread = (estimates.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        let reported = errors.iter().sum::<f64>() / n;
        let ratio = spread / reported;
        assert!(
            (0.5..=1.6).contains(&ratio),
            "{key}: estimates spread {spread} over runs, the bootstrap says {reported}"
        );
        // No bias beyond the Monte Carlo error of the mean of 16 runs.
        assert!(
            (mean - true_value).abs() <= 4.0 * reported / n.sqrt(),
            "{key}: the mean estimate {mean} against the truth {true_value}"
        );
    }
    for f in &fits {
        assert_eq!(f.checks.len(), 3);
        assert!(f.checks.iter().all(|c| c.ks < 2.0 * c.ks_critical), "{:?}", f.checks);
    }
}
