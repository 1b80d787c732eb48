//! The telemetry pipeline between the world and the policy, when the scenario gives it faults:
//! each evaluation window may arrive late or be lost, and outages deliver nothing.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rollcage_policy::{Minutes, Telemetry};
use rollcage_sim::{Observation, RunSeed, Stream};

/// The pipeline of one run, with its own random stream for what is late and what is lost.
pub(super) struct Pipeline<'a> {
    observation: &'a Observation,
    rng: ChaCha8Rng,
    /// What the policy was last handed.
    delivered: Box<Telemetry>,
    /// The window under way is lost: its sessions never reach the telemetry.
    window_lost: bool,
}

impl Pipeline<'_> {
    /// The pipeline of the run with `seed`, or `None` when `observation` has no faults and the
    /// policy sees the world's telemetry as it is.
    pub(super) fn of(observation: &Observation, seed: RunSeed) -> Option<Pipeline<'_>> {
        observation.is_faulty().then(|| Pipeline {
            observation,
            rng: seed.stream(Stream::Delivery),
            delivered: Box::default(),
            window_lost: false,
        })
    }

    /// Whether sessions ending in the step starting at `now` are reported.
    pub(super) fn reporting(&self, now: Minutes) -> bool {
        let dropped = self.observation.outage_at(now).is_some_and(|o| !o.backfill);
        !self.window_lost && !dropped
    }

    /// What the policy sees at the evaluation at `now`, and the draws for the next window.
    pub(super) fn deliver(&mut self, now: Minutes, world: &Telemetry) -> &Telemetry {
        let late = self.rng.random::<f64>() < self.observation.late;
        let stale = late || self.window_lost || self.observation.outage_at(now).is_some();
        if !stale {
            *self.delivered = *world;
        }
        self.window_lost = self.rng.random::<f64>() < self.observation.gap;
        &self.delivered
    }
}
