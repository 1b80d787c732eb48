//! When sessions start: a Poisson process over the whole population, its rate following the daily
//! cycle and the live events.

use rand::Rng;
use rand_distr::{Distribution, Exp1};
use rollcage_policy::Minutes;

use super::World;

impl World<'_> {
    /// Expected sessions per minute from `from` to `to`: the population's rate, the daily cycle,
    /// live events.
    pub(super) fn arrival_rate(&self, from: Minutes, to: Minutes) -> f64 {
        let base = &self.config.baseline;
        let mid_hour = f64::from(from.0 + to.0) / 120.0;
        let cycle = 1.0
            + base.daily_cycle_amplitude
                * (2.0 * std::f64::consts::PI * (mid_hour - base.peak_hour) / 24.0).cos();
        let traffic: f64 = self
            .config
            .live_events
            .iter()
            .filter(|e| e.start <= from && from < e.end)
            .map(|e| e.traffic_multiplier)
            .product();
        self.sessions_per_minute * cycle * traffic
    }

    /// The arrivals from `from` to `to` at `rate` sessions per minute, as (start time, player) in
    /// time order. The list is the world's reused buffer: the caller gives it back to
    /// `arrival_buffer` when done, so it keeps its capacity from step to step.
    pub(super) fn draw_arrivals(
        &mut self,
        from: Minutes,
        to: Minutes,
        rate: f64,
    ) -> Vec<(f64, u32)> {
        let mean_gap = 1.0 / rate;
        let mut arrivals = std::mem::take(&mut self.arrival_buffer);
        arrivals.clear();
        let mut t = f64::from(from.0);
        let end = f64::from(to.0);
        loop {
            let gap: f64 = Exp1.sample(&mut self.arrivals_rng);
            t += gap * mean_gap;
            if t >= end {
                break;
            }
            arrivals.push((t, self.arrivals.sample(self.arrivals_rng.next_u64()) as u32));
        }
        arrivals
    }
}
