//! The players of one run: their buckets (fixed per scenario), segments and personal propensities
//! (drawn per run from the run's population stream).

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rollcage_policy::Bucket;

use rollcage_model::{Segment, WorldConfig};
use rollcage_stats::fastmath;

/// What the hot loop needs of a player, packed into 20 bytes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Player {
    pub bucket: Bucket,
    /// Index into the world's segment table.
    pub segment: u8,
    /// Minute within the flag refresh interval at which this client fetches flags.
    pub refresh_phase: u16,
    /// Crash probability of one run on the old build.
    pub crash_probability: f32,
    /// ln of the player's median latency in ms.
    pub log_latency_ms: f32,
    /// ln of the player's median coins per run.
    pub log_coins: f32,
}

/// Samples an index with probability proportional to its weight in O(1) (Vose's alias method).
#[derive(Clone, Debug)]
pub struct AliasTable {
    threshold: Vec<u32>,
    alias: Vec<u32>,
}

impl AliasTable {
    /// Panics on an empty or all-zero weight list.
    pub fn new(weights: &[f64]) -> AliasTable {
        let n = weights.len();
        let total: f64 = weights.iter().sum();
        assert!(n > 0 && total > 0.0, "alias table needs a positive weight");
        let mut scaled: Vec<f64> = weights.iter().map(|w| w * n as f64 / total).collect();
        let (mut small, mut large): (Vec<usize>, Vec<usize>) =
            (0..n).partition(|&i| scaled[i] < 1.0);
        let mut threshold = vec![u32::MAX; n];
        let mut alias: Vec<u32> = (0..n as u32).collect();
        while let (Some(s), Some(&l)) = (small.pop(), large.last()) {
            threshold[s] = (scaled[s] * 4_294_967_296.0) as u32;
            alias[s] = l as u32;
            scaled[l] -= 1.0 - scaled[s];
            if scaled[l] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        AliasTable { threshold, alias }
    }

    pub fn len(&self) -> usize {
        self.threshold.len()
    }

    pub fn is_empty(&self) -> bool {
        self.threshold.is_empty()
    }

    /// The index drawn by 64 random bits: the high half picks a column, the low half flips its coin.
    #[inline]
    pub fn sample(&self, bits: u64) -> usize {
        let column = (((bits >> 32) * self.threshold.len() as u64) >> 32) as usize;
        if (bits as u32) < self.threshold[column] { column } else { self.alias[column] as usize }
    }
}

/// The logarithm of a log-normal factor with mean 1 and log-σ `sigma`.
fn log_mean_one(rng: &mut ChaCha8Rng, sigma: f64) -> f64 {
    let z: f64 = StandardNormal.sample(rng);
    sigma * z - sigma * sigma / 2.0
}

/// The index drawn by a uniform `u` in [0, 1) from categories with the given shares.
fn categorical(u: f64, shares: &[(String, f64)]) -> u8 {
    let mut acc = 0.0;
    for (i, (_, share)) in shares.iter().enumerate() {
        acc += share;
        if u < acc {
            return i as u8;
        }
    }
    (shares.len() - 1) as u8
}

/// Two uniforms in [0, 1) from the halves of one 64-bit draw (32 bits each is ample for shares).
fn two_uniforms(rng: &mut ChaCha8Rng) -> (f64, f64) {
    let bits = rng.next_u64();
    let scale = 1.0 / 4_294_967_296.0;
    ((bits >> 32) as f64 * scale, (bits as u32) as f64 * scale)
}

/// The players of one run and how often each plays.
#[derive(Clone, Debug)]
pub struct Population {
    pub players: Vec<Player>,
    /// Draws the player of the next session, proportional to activity.
    pub arrivals: AliasTable,
    /// Expected sessions per minute over the whole population, before the daily cycle.
    pub sessions_per_minute: f64,
}

impl Population {
    pub fn generate(config: &WorldConfig, buckets: &[Bucket], rng: &mut ChaCha8Rng) -> Population {
        let pop = &config.population;
        let base = &config.baseline;
        assert_eq!(buckets.len(), pop.players as usize, "one bucket per player");
        let refresh = u64::from(pop.flag_refresh.0.max(1));
        let mut activity = Vec::with_capacity(buckets.len());
        let (log_latency, log_coins) = (base.latency_ms_median.ln(), base.coins_per_run.ln());
        let coins_median_shift = -base.coins_spread * base.coins_spread / 2.0;
        let players = buckets
            .iter()
            .map(|&bucket| {
                activity.push(fastmath::exp(log_mean_one(rng, pop.activity_spread)));
                let (platform, region) = two_uniforms(rng);
                let (tenure, phase) = two_uniforms(rng);
                let segment = Segment {
                    platform: categorical(platform, &pop.platforms),
                    region: categorical(region, &pop.regions),
                    new_player: tenure < pop.new_player_share,
                };
                let new_factor =
                    if segment.new_player { base.new_player_crash_multiplier } else { 1.0 };
                let proneness = fastmath::exp(log_mean_one(rng, pop.crash_proneness_spread));
                let latency = log_latency + log_mean_one(rng, pop.latency_spread);
                let coins = log_coins + log_mean_one(rng, pop.skill_spread) + coins_median_shift;
                Player {
                    bucket,
                    segment: config.segment_index(segment),
                    refresh_phase: (phase * refresh as f64) as u16,
                    crash_probability: (base.crash_rate * new_factor * proneness).min(1.0) as f32,
                    log_latency_ms: latency as f32,
                    log_coins: coins as f32,
                }
            })
            .collect();
        let total_activity: f64 = activity.iter().sum();
        Population {
            players,
            arrivals: AliasTable::new(&activity),
            sessions_per_minute: pop.runs_per_day * total_activity / 1440.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// Draw frequencies match the weights within 5 binomial standard errors.
    #[test]
    fn alias_table_samples_in_proportion_to_weight() {
        let weights = [1.0, 0.0, 3.0, 0.5, 5.5];
        let table = AliasTable::new(&weights);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let n = 200_000;
        let mut counts = [0u32; 5];
        for _ in 0..n {
            counts[table.sample(rng.next_u64())] += 1;
        }
        let total: f64 = weights.iter().sum();
        for (i, &w) in weights.iter().enumerate() {
            let p = w / total;
            let sd = (n as f64 * p * (1.0 - p)).sqrt().max(1.0);
            let off = (f64::from(counts[i]) - n as f64 * p).abs();
            assert!(off < 5.0 * sd, "index {i}: {} draws for weight {w}", counts[i]);
        }
        assert_eq!(counts[1], 0, "a zero weight is never drawn");
    }
}
