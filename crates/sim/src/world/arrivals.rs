//! When sessions start: a Poisson process over the whole population, its rate following the daily
//! cycle and the live events.

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
}
