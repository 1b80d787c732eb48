//! Calibration: the simulated population fitted to a game's own players, from the telemetry of
//! normal operation (one build, any cohorts).
//!
//! The world's population model (see `rollcage_sim::population`) gives each player a log-normal
//! activity, crash-proneness, latency and skill factor (each with mean 1 and its own spread), and
//! each session a log-normal latency and coins around the player's own. The fit is by moments, from
//! each player's totals:
//! - **activity**: a player's sessions are Poisson given their activity, so the players' counts are
//!   a Poisson–log-normal mixture: its mean and second moment give `runs_per_day` and
//!   `activity_spread`. Players who never played are not in the telemetry: without `players`, the
//!   mixture's chance of zero sessions is solved for with the rest, and the population is the
//!   players seen over their chance of being seen.
//! - **crashes**: the crash rate over sessions, and, from the players' overdispersion (the spread of
//!   their crash counts beyond the binomial's), `crash_proneness_spread`, new players' higher crash
//!   rate (`new_player_share`, `new_player_crash_multiplier`, from the base scenario) taken out.
//! - **latency** and **coins**: the within-player coefficient of variation gives the session
//!   spread (`baseline.latency_spread`, `coins_spread`), the between-player one, less the sampling
//!   noise of each player's mean, the player spread (`population.latency_spread`,
//!   `skill_spread`); the mean over sessions gives the median latency and the coins per run.
//! - **returns**: the share of next-day outcomes that came back.
//! - **daily cycle**: the first harmonic of the sessions per minute over the hour of the day (of
//!   each window's middle: windows of an hour or less resolve it), less a session's length, since
//!   a session is counted when it ends; the first window, which misses the sessions begun before
//!   the telemetry, is left out.
//!
//! Standard errors come from a bootstrap over players. The fit report compares, for each distribution, the observed players' quantiles with
//! a sample simulated from the fit, with the two-sample Kolmogorov–Smirnov distance between them.

use std::f64::consts::PI;
use std::io::Read;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Poisson, StandardNormal};
use rollcage_model::Minutes;

use crate::Problems;
use crate::read::Telemetry;

/// One player's totals over the whole telemetry.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Player {
    pub sessions: u64,
    pub crashes: u64,
    pub latency_us: f64,
    pub latency_us_sq: f64,
    pub coins: f64,
    pub coins_sq: f64,
    pub outcomes: u64,
    pub returned: u64,
    /// Sessions by the hour of the day of their window's middle.
    pub by_hour: [u16; 24],
}

/// What the fit reads from the telemetry: every player's totals, and the sessions per window.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Data {
    pub players: Vec<Player>,
    /// Each window's start and end, and the sessions that ended in it.
    pub windows: Vec<(Minutes, Minutes, u64)>,
}

/// The hour of the day of a window's middle.
fn hour_of(start: Minutes, end: Minutes) -> usize {
    ((u64::from(start.0) + u64::from(end.0)) / 120 % 24) as usize
}

impl Data {
    /// Reads every window of `reader`; the telemetry's problems refuse it.
    pub fn read<R: Read>(reader: &mut Telemetry<R>) -> Result<Data, Problems> {
        let mut data = Data::default();
        while let Some(w) = reader.next_window() {
            // The first window misses the sessions that began before the telemetry did: it is
            // left out of the daily cycle.
            let in_cycle = !data.windows.is_empty();
            let mut sessions = 0;
            for row in &w.rows {
                let p = row.player as usize;
                if p >= data.players.len() {
                    data.players.resize(p + 1, Player::default());
                }
                let t = &mut data.players[p];
                let s = &row.sessions;
                t.sessions += u64::from(s.sessions);
                t.crashes += u64::from(s.crashes);
                t.latency_us += s.latency_us as f64;
                t.latency_us_sq += row.squares[0] as f64;
                t.coins += s.coins as f64;
                t.coins_sq += row.squares[1] as f64;
                t.outcomes += u64::from(row.returns.outcomes);
                t.returned += u64::from(row.returns.returned);
                if in_cycle {
                    let hour = &mut t.by_hour[hour_of(w.start, w.end)];
                    *hour = hour.saturating_add(u16::try_from(s.sessions).unwrap_or(u16::MAX));
                }
                sessions += u64::from(s.sessions);
            }
            data.windows.push((w.start, w.end, sessions));
        }
        if reader.problems.is_empty() {
            Ok(data)
        } else {
            Err(std::mem::take(&mut reader.problems))
        }
    }

    /// Days the telemetry covers.
    pub fn days(&self) -> f64 {
        match (self.windows.first(), self.windows.last()) {
            (Some(first), Some(last)) => f64::from(last.1.0 - first.0.0) / 1440.0,
            _ => 0.0,
        }
    }
}

/// What the fit takes from the base scenario: what the telemetry cannot tell.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Known {
    /// The population's size, if known; else it is estimated.
    pub players: Option<u32>,
    /// The share of new players and how much more often they crash.
    pub new_player_share: f64,
    pub new_player_crash_multiplier: f64,
    /// How long a session lasts: the telemetry counts a session when it ends, the daily cycle
    /// times its start.
    pub session_length: Minutes,
}

/// The fitted parameters, each in the scenario's own unit.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Parameters {
    pub players: f64,
    pub runs_per_day: f64,
    pub activity_spread: f64,
    pub crash_rate: f64,
    pub crash_proneness_spread: f64,
    pub latency_ms_median: f64,
    /// Between players (`population.latency_spread`) and within a player's sessions
    /// (`baseline.latency_spread`).
    pub player_latency_spread: f64,
    pub session_latency_spread: f64,
    pub coins_per_run: f64,
    pub skill_spread: f64,
    pub coins_spread: f64,
    pub return_rate: f64,
    pub daily_cycle_amplitude: f64,
    pub peak_hour: f64,
}

impl Parameters {
    /// Every parameter with its scenario table and key, in the fragment's order.
    pub fn named(&self) -> [(&'static str, &'static str, f64); 14] {
        [
            ("population", "players", self.players),
            ("population", "runs_per_day", self.runs_per_day),
            ("population", "activity_spread", self.activity_spread),
            ("population", "crash_proneness_spread", self.crash_proneness_spread),
            ("population", "latency_spread", self.player_latency_spread),
            ("population", "skill_spread", self.skill_spread),
            ("baseline", "crash_rate", self.crash_rate),
            ("baseline", "latency_ms_median", self.latency_ms_median),
            ("baseline", "latency_spread", self.session_latency_spread),
            ("baseline", "coins_per_run", self.coins_per_run),
            ("baseline", "coins_spread", self.coins_spread),
            ("baseline", "return_rate", self.return_rate),
            ("baseline", "daily_cycle_amplitude", self.daily_cycle_amplitude),
            ("baseline", "peak_hour", self.peak_hour),
        ]
    }
}

/// The chance a player of activity spread `sigma` (log-normal, mean 1) plays no session when the
/// mean is `mu`: E[exp(−μ·a)], by the trapezoid rule over the normal's ±8σ.
fn chance_of_none(mu: f64, sigma: f64) -> f64 {
    let (steps, width) = (1_600, 16.0);
    let h = width / f64::from(steps);
    (0..=steps)
        .map(|i| {
            let z = -8.0 + h * f64::from(i);
            let a = (sigma * z - sigma * sigma / 2.0).exp();
            let w = if i == 0 || i == steps { 0.5 } else { 1.0 };
            w * (-mu * a).exp() * (-z * z / 2.0).exp() / (2.0 * PI).sqrt() * h
        })
        .sum()
}

/// Activity: the population, the mean sessions per player over the telemetry, and the spread.
fn activity(players: &[Player], known: Option<u32>) -> (f64, f64, f64) {
    let seen: Vec<f64> =
        players.iter().filter(|p| p.sessions > 0).map(|p| p.sessions as f64).collect();
    let n = seen.len() as f64;
    if n == 0.0 {
        return (0.0, 0.0, 0.0);
    }
    let (m1, m2) = (seen.iter().sum::<f64>() / n, seen.iter().map(|x| x * x).sum::<f64>() / n);
    let spread = |mu: f64, second: f64| ((second - mu) / (mu * mu)).max(1.0).ln().sqrt();
    if let Some(total) = known {
        let total = f64::from(total).max(n);
        let (mu, second) = (m1 * n / total, m2 * n / total);
        return (total, mu, spread(mu, second));
    }
    // Seen players are those with a session: solve for the chance of none with the rest.
    let mut none = 0.0;
    let (mut mu, mut sigma) = (m1, spread(m1, m2));
    for _ in 0..200 {
        mu = m1 * (1.0 - none);
        sigma = spread(mu, m2 * (1.0 - none));
        let next = chance_of_none(mu, sigma).min(0.99);
        if (next - none).abs() < 1e-12 {
            break;
        }
        none = next;
    }
    (n / (1.0 - none), mu, sigma)
}

/// Session and player spreads and the mean, of a value whose per-player totals are
/// (observations, sum, sum of squares): log-normal within a player around the player's mean, and
/// log-normal between players.
fn spreads(totals: impl Iterator<Item = (f64, f64, f64)> + Clone) -> (f64, f64, f64) {
    let (count, sum): (f64, f64) =
        totals.clone().fold((0.0, 0.0), |(c, s), (n, y, _)| (c + n, s + y));
    if count == 0.0 {
        return (0.0, 0.0, 0.0);
    }
    let mean = sum / count;
    // Within: Σ(Q − Y²/n) over Σ(n − 1)·m², each player's squared mean corrected for its noise.
    let within_ss: f64 = totals.clone().filter(|t| t.0 >= 2.0).map(|(n, y, q)| q - y * y / n).sum();
    let mut cv2 = 0.0;
    for _ in 0..20 {
        let scale: f64 = totals
            .clone()
            .filter(|t| t.0 >= 2.0)
            .map(|(n, y, _)| (n - 1.0) * (y / n).powi(2) / (1.0 + cv2 / n))
            .sum();
        cv2 = if scale > 0.0 { (within_ss / scale).max(0.0) } else { 0.0 };
    }
    // Between: the variance of the players' means less each mean's own sampling noise.
    let players: Vec<(f64, f64)> =
        totals.filter(|t| t.0 >= 1.0).map(|(n, y, _)| (n, y / n)).collect();
    let k = players.len() as f64;
    let noise: f64 =
        players.iter().map(|&(n, m)| m * m / (1.0 + cv2 / n) * cv2 / n).sum::<f64>() / k;
    let spread_of_means = players.iter().map(|&(_, m)| (m - mean).powi(2)).sum::<f64>() / k;
    let between = ((spread_of_means - noise) / (mean * mean)).max(0.0);
    ((1.0 + cv2).ln().sqrt(), (1.0 + between).ln().sqrt(), mean)
}

/// Minutes of telemetry in each hour of the day.
fn minutes_by_hour(windows: &[(Minutes, Minutes, u64)]) -> [f64; 24] {
    let mut minutes = [0.0; 24];
    // The first window is not in the cycle (see `Data::read`).
    for &(start, end, _) in windows.iter().skip(1) {
        minutes[hour_of(start, end)] += f64::from(end.0 - start.0);
    }
    minutes
}

/// The daily cycle: amplitude and peak hour of sessions per minute over the hour of the day,
/// rate(h) = c·(1 + A·cos(2π(h − peak)/24)), fitted by least squares over the hours weighted by
/// their minutes of telemetry (so a telemetry of whole days or not, it is the same fit).
fn daily_cycle(players: &[Player], minutes: &[f64; 24]) -> (f64, f64) {
    let mut counts = [0.0; 24];
    for p in players {
        for (c, &n) in counts.iter_mut().zip(&p.by_hour) {
            *c += f64::from(n);
        }
    }
    // Normal equations of rate ≈ c0 + a·cos θ + b·sin θ, θ at each hour's middle.
    let mut m = [[0.0; 3]; 3];
    let mut v = [0.0; 3];
    for h in 0..24 {
        if minutes[h] == 0.0 {
            continue;
        }
        let theta = 2.0 * PI * (h as f64 + 0.5) / 24.0;
        let x = [1.0, theta.cos(), theta.sin()];
        let (w, rate) = (minutes[h], counts[h] / minutes[h]);
        for i in 0..3 {
            v[i] += w * x[i] * rate;
            for j in 0..3 {
                m[i][j] += w * x[i] * x[j];
            }
        }
    }
    let Some([c0, a, b]) = solve3(m, v) else { return (0.0, 0.0) };
    if c0 <= 0.0 {
        return (0.0, 0.0);
    }
    let amplitude = (a * a + b * b).sqrt() / c0;
    let peak = (b.atan2(a) * 24.0 / (2.0 * PI)).rem_euclid(24.0);
    (amplitude, peak)
}

/// Solves a 3×3 system by Cramer's rule; `None` if it is singular.
fn solve3(m: [[f64; 3]; 3], v: [f64; 3]) -> Option<[f64; 3]> {
    let det = |m: [[f64; 3]; 3]| {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
            - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    };
    let d = det(m);
    if d.abs() < 1e-12 {
        return None;
    }
    let mut x = [0.0; 3];
    for (k, xk) in x.iter_mut().enumerate() {
        let mut mk = m;
        for i in 0..3 {
            mk[i][k] = v[i];
        }
        *xk = det(mk) / d;
    }
    Some(x)
}

/// The parameters of `players` (the data's, or a resample of them), with `minutes` of telemetry
/// in each hour of the day.
fn estimate(players: &[Player], minutes: &[f64; 24], days: f64, known: &Known) -> Parameters {
    let (population, mean_sessions, activity_spread) = activity(players, known.players);
    let sessions: f64 = players.iter().map(|p| p.sessions as f64).sum();
    let crashes: f64 = players.iter().map(|p| p.crashes as f64).sum();
    let rate = if sessions > 0.0 { crashes / sessions } else { 0.0 };
    let (over, pairs) = players.iter().fold((0.0, 0.0), |(o, pairs), p| {
        let n = p.sessions as f64;
        (o + (p.crashes as f64 - rate * n).powi(2) - rate * (1.0 - rate) * n, pairs + n * (n - 1.0))
    });
    let variance = if pairs > 0.0 { (over / pairs).max(0.0) } else { 0.0 };
    let (s, m) = (known.new_player_share, known.new_player_crash_multiplier);
    let (ef, ef2) = (1.0 + s * (m - 1.0), 1.0 + s * (m * m - 1.0));
    let crash_rate = rate / ef;
    let proneness = if crash_rate > 0.0 {
        ((variance + rate * rate) / (crash_rate * crash_rate * ef2)).max(1.0).ln().sqrt()
    } else {
        0.0
    };
    let latency = players.iter().map(|p| (p.sessions as f64, p.latency_us, p.latency_us_sq));
    let (session_latency, player_latency, mean_latency_us) = match spreads(latency) {
        (_, _, 0.0) => (f64::NAN, f64::NAN, f64::NAN),
        fitted => fitted,
    };
    let coins = players.iter().map(|p| ((p.sessions - p.crashes) as f64, p.coins, p.coins_sq));
    let (coins_spread, skill_spread, coins_per_run) = match spreads(coins) {
        (_, _, 0.0) => (f64::NAN, f64::NAN, f64::NAN),
        fitted => fitted,
    };
    let (outcomes, returned) =
        players.iter().fold((0.0, 0.0), |(o, r), p| (o + p.outcomes as f64, r + p.returned as f64));
    let (amplitude, peak) = daily_cycle(players, minutes);
    let peak = (peak - f64::from(known.session_length.0) / 60.0).rem_euclid(24.0);
    Parameters {
        players: population,
        runs_per_day: if days > 0.0 { mean_sessions / days } else { 0.0 },
        activity_spread,
        crash_rate,
        crash_proneness_spread: proneness,
        latency_ms_median: mean_latency_us
            / 1000.0
            / (session_latency * session_latency / 2.0).exp(),
        player_latency_spread: player_latency,
        session_latency_spread: session_latency,
        coins_per_run,
        skill_spread,
        coins_spread,
        return_rate: if outcomes > 0.0 { returned / outcomes } else { f64::NAN },
        daily_cycle_amplitude: amplitude,
        peak_hour: peak,
    }
}

/// Resamples for the standard errors.
pub const BOOTSTRAP: usize = 100;

/// A fit: the parameters, their standard errors, and how well each distribution fits.
#[derive(Clone, Debug, PartialEq)]
pub struct Fit {
    pub parameters: Parameters,
    pub errors: Parameters,
    pub checks: Vec<Check>,
    pub players_seen: usize,
    pub sessions: u64,
    pub days: f64,
}

/// One distribution's fit: observed and simulated quantiles, and the KS distance between them.
#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    pub what: &'static str,
    pub quantiles: Vec<(f64, f64, f64)>,
    pub ks: f64,
    /// The distance two samples of these sizes from one distribution exceed 5% of the time.
    pub ks_critical: f64,
}

/// The quantiles a check reports.
pub const QUANTILES: [f64; 6] = [0.1, 0.25, 0.5, 0.75, 0.9, 0.99];

/// Fits `data`, with `known` from the base scenario; `seed` seeds the bootstrap and the simulated
/// samples, so a fit is reproducible.
pub fn fit(data: &Data, known: &Known, seed: u64) -> Fit {
    let days = data.days();
    let players: Vec<Player> = data.players.iter().copied().filter(|p| p.sessions > 0).collect();
    let minutes = minutes_by_hour(&data.windows);
    let parameters = estimate(&players, &minutes, days, known);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut samples = Vec::with_capacity(BOOTSTRAP);
    let mut resample = vec![Player::default(); players.len()];
    for _ in 0..BOOTSTRAP {
        for slot in resample.iter_mut() {
            *slot = players[rng.random_range(0..players.len())];
        }
        samples.push(estimate(&resample, &minutes, days, known));
    }
    let mut errors = standard_errors(&samples);
    // A resample keeps the number of players seen; how many of the population happened to play
    // varies too: binomially, which adds N·P0/(1 − P0) to the estimated population's variance.
    if known.players.is_none() {
        let seen = players.len() as f64;
        let none = (1.0 - seen / parameters.players).max(0.0);
        let binomial = parameters.players * none / (1.0 - none);
        errors.players = (errors.players.powi(2) + binomial).sqrt();
    }
    let checks = checks(&players, &parameters, days, &mut rng);
    Fit {
        parameters,
        errors,
        checks,
        players_seen: players.len(),
        sessions: players.iter().map(|p| p.sessions).sum(),
        days,
    }
}

fn standard_errors(samples: &[Parameters]) -> Parameters {
    let k = samples.len() as f64;
    let columns: Vec<Vec<f64>> =
        (0..14).map(|i| samples.iter().map(|s| s.named()[i].2).collect()).collect();
    let sd: Vec<f64> = columns
        .iter()
        .map(|c| {
            let mean = c.iter().sum::<f64>() / k;
            (c.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (k - 1.0)).sqrt()
        })
        .collect();
    Parameters {
        players: sd[0],
        runs_per_day: sd[1],
        activity_spread: sd[2],
        crash_proneness_spread: sd[3],
        player_latency_spread: sd[4],
        skill_spread: sd[5],
        crash_rate: sd[6],
        latency_ms_median: sd[7],
        session_latency_spread: sd[8],
        coins_per_run: sd[9],
        coins_spread: sd[10],
        return_rate: sd[11],
        daily_cycle_amplitude: sd[12],
        peak_hour: sd[13],
    }
}

/// A log-normal factor with mean 1 and log-σ `sigma`.
fn factor(rng: &mut ChaCha8Rng, sigma: f64) -> f64 {
    let z: f64 = StandardNormal.sample(rng);
    (sigma * z - sigma * sigma / 2.0).exp()
}

/// The fit's checks: per-player session counts, mean latency and crash share, observed against a
/// sample of as many players simulated from the fit (each with the observed player's sessions,
/// for latency and crashes).
fn checks(players: &[Player], fit: &Parameters, days: f64, rng: &mut ChaCha8Rng) -> Vec<Check> {
    let mu = fit.runs_per_day * days;
    let mut counts_fit = Vec::with_capacity(players.len());
    while counts_fit.len() < players.len() && mu > 0.0 {
        let mean = mu * factor(rng, fit.activity_spread);
        let n: f64 = Poisson::new(mean.max(1e-9)).map_or(0.0, |d| d.sample(rng));
        if n > 0.0 {
            counts_fit.push(n);
        }
    }
    let counts: Vec<f64> = players.iter().map(|p| p.sessions as f64).collect();
    let with = |min: u64| players.iter().filter(move |p| p.sessions >= min);
    let latency: Vec<f64> = with(3).map(|p| p.latency_us / p.sessions as f64 / 1000.0).collect();
    let median = (fit.latency_ms_median).ln();
    let latency_fit: Vec<f64> = with(3)
        .map(|p| {
            let player = median + factor(rng, fit.player_latency_spread).ln();
            let total: f64 = (0..p.sessions)
                .map(|_| {
                    let z: f64 = StandardNormal.sample(rng);
                    (player + fit.session_latency_spread * z).exp()
                })
                .sum();
            total / p.sessions as f64
        })
        .collect();
    let crashes: Vec<f64> = with(3).map(|p| p.crashes as f64 / p.sessions as f64).collect();
    let crashes_fit: Vec<f64> = with(3)
        .map(|p| {
            let chance = (fit.crash_rate * factor(rng, fit.crash_proneness_spread)).min(1.0);
            let crashed = (0..p.sessions).filter(|_| rng.random::<f64>() < chance).count();
            crashed as f64 / p.sessions as f64
        })
        .collect();
    vec![
        check("sessions per player", counts, counts_fit),
        check("mean latency per player (ms)", latency, latency_fit),
        check("crash share per player", crashes, crashes_fit),
    ]
}

fn check(what: &'static str, mut observed: Vec<f64>, mut fitted: Vec<f64>) -> Check {
    observed.sort_by(f64::total_cmp);
    fitted.sort_by(f64::total_cmp);
    let quantile = |v: &[f64], q: f64| {
        if v.is_empty() { f64::NAN } else { v[((v.len() - 1) as f64 * q).round() as usize] }
    };
    let quantiles =
        QUANTILES.iter().map(|&q| (q, quantile(&observed, q), quantile(&fitted, q))).collect();
    let (n, m) = (observed.len() as f64, fitted.len() as f64);
    Check {
        what,
        quantiles,
        ks: ks_distance(&observed, &fitted),
        ks_critical: if n > 0.0 && m > 0.0 { 1.358 * ((n + m) / (n * m)).sqrt() } else { f64::NAN },
    }
}

/// The two-sample Kolmogorov–Smirnov distance between two sorted samples.
fn ks_distance(a: &[f64], b: &[f64]) -> f64 {
    let (mut i, mut j, mut d) = (0, 0, 0.0f64);
    while i < a.len() && j < b.len() {
        let x = a[i].min(b[j]);
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        d = d.max((i as f64 / a.len() as f64 - j as f64 / b.len() as f64).abs());
    }
    d
}

/// The fit as a scenario fragment: `[population]` and `[baseline]` keys, each value with its
/// standard error in a comment.
pub fn fragment(fit: &Fit, source: &str) -> String {
    let mut out = format!(
        "# Fitted by `rollcage calibrate` from {source}: {} sessions of {} players over {:.2} days.\n\
         # Each value's standard error (a bootstrap over players) follows it. Paste these keys into\n\
         # a scenario's tables.\n",
        fit.sessions, fit.players_seen, fit.days
    );
    let errors = fit.errors.named();
    let mut table = "";
    for (i, (t, key, value)) in fit.parameters.named().into_iter().enumerate() {
        if t != table {
            out.push_str(&format!("\n[{t}]\n"));
            table = t;
        }
        if value.is_nan() {
            out.push_str(&format!("# {key}: not in the telemetry; keep the scenario's\n"));
            continue;
        }
        let shown =
            if key == "players" { format!("{}", value.round()) } else { format!("{value:.4}") };
        out.push_str(&format!("{key} = {shown}  # ± {:.4}\n", errors[i].2));
    }
    out
}

/// The fit report: each distribution's quantiles, observed against fitted, and its KS distance.
pub fn report(fit: &Fit) -> String {
    let mut out = String::new();
    for c in &fit.checks {
        let verdict = if c.ks <= c.ks_critical { "fits" } else { "does NOT fit" };
        out.push_str(&format!(
            "{}: KS distance {:.4} (5% critical {:.4}): {verdict}\n",
            c.what, c.ks, c.ks_critical
        ));
        for (q, observed, fitted) in &c.quantiles {
            out.push_str(&format!(
                "  {:>4.0}%  observed {:>12.4}  fitted {:>12.4}\n",
                q * 100.0,
                observed,
                fitted
            ));
        }
    }
    out
}
