//! Playing sessions: each arrival is played on the build its client's flags say, the build's
//! faults act, the player's save changes, and the session's outcome is told to the observer and
//! sent on to the telemetry.
//!
//! A session simulated in full draws the same numbers from the sessions stream in the same order
//! ([`Draws`]); the order of every draw and every floating-point operation is part of the
//! determinism promise, so the helpers below keep the order the one loop had.
//!
//! The per-session helpers are `#[inline(always)]`: they were one loop body, and the hot loop's
//! speed depends on their staying one (left to itself, LLVM keeps `play` and `Draws::new` out of
//! line, which costs about a tenth of the sessions per second).

use rand::{Rng, RngExt};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rollcage_policy::{Bucket, Cohort, Metric, Minutes};
use rollcage_stats::fastmath;

use super::faults::Effect;
use super::telemetry::{Ended, Return, RunGains};
use super::{LOOKAHEAD, SessionEvent, SessionObserver, Slot, World, prefetch, whole};
use crate::flags::FlagState;
use crate::sums::{LATENCY_STEPS_PER_MS, MAX_LATENCY_US, SessionTotals};
use rollcage_model::{AssignmentBug, Migration, Sabotage};

const DAY: u32 = 1440;

/// What every session of one step shares: the flags on the server, how clients fetch them, the
/// release's rules for saves, and when the step's snapshot is taken.
#[derive(Clone, Copy, Debug)]
struct StepRules {
    /// How often clients fetch their flags, and how often stale clients do.
    refresh: u32,
    stale_refresh: u32,
    session_length: u32,
    /// The server's flag state, and its index in the flags' history.
    last_index: usize,
    current: FlagState,
    /// From this time on, every client has fetched the server's current state.
    settled_since: i64,
    lazy: bool,
    backward_compatible: bool,
    /// The platform on which the feature-kill-leak sabotage ignores feature kills, if planted.
    leak_platform: Option<u8>,
    /// Sessions that end before this time report now; the others wait for the next snapshot.
    snapshot_at: Minutes,
}

/// A session's own random numbers, drawn from the sessions stream in this order: one word for
/// the crash and return uniforms, one for the item and corruption uniforms, then the latency's
/// and the coins' standard normal deviates.
#[derive(Clone, Copy, Debug)]
struct Draws {
    crash: f64,
    returns: f64,
    item: f64,
    corruption: f64,
    z_latency: f64,
    z_coins: f64,
}

impl Draws {
    #[inline(always)]
    fn new(rng: &mut ChaCha8Rng) -> Draws {
        let uniforms = rng.next_u64();
        let crash = (uniforms >> 32) as f64 * (1.0 / 4_294_967_296.0);
        let returns = (uniforms as u32) as f64 * (1.0 / 4_294_967_296.0);
        let more = rng.next_u64();
        let item = (more >> 32) as f64 * (1.0 / 4_294_967_296.0);
        let corruption = (more as u32) as f64 * (1.0 / 4_294_967_296.0);
        let z_latency: f64 = StandardNormal.sample(rng);
        let z_coins: f64 = StandardNormal.sample(rng);
        Draws { crash, returns, item, corruption, z_latency, z_coins }
    }
}

/// What a session simulated in full came to.
#[derive(Clone, Copy, Debug)]
struct Played {
    crashed: bool,
    load_failed: bool,
    latency: f64,
    /// Coins the run minted through an exploit.
    exploit: i64,
    /// What the session reports.
    values: SessionTotals,
    /// What the run brings the save, if it completed.
    completed: Option<RunGains>,
}

impl World<'_> {
    /// Simulates the sessions that start from `from` to `to`: one step of [`World::advance`],
    /// whose snapshot is taken at `snapshot_at`.
    pub(super) fn simulate<O: SessionObserver>(
        &mut self,
        from: Minutes,
        to: Minutes,
        snapshot_at: Minutes,
        observer: &mut O,
    ) {
        let rate = self.arrival_rate(from, to);
        if rate <= 0.0 {
            return;
        }
        let rules = self.step_rules(snapshot_at);
        // The step's arrivals first, from their own stream; then the sessions, each asking for the
        // data of the player a few sessions ahead while it works on this one.
        let arrivals = self.draw_arrivals(from, to, rate);
        for (n, &(t, index)) in arrivals.iter().enumerate() {
            if let Some(&(_, ahead)) = arrivals.get(n + LOOKAHEAD) {
                prefetch(&self.slots[ahead as usize]);
                prefetch(&self.saves[ahead as usize]);
            }
            self.session(&rules, t, index as usize, observer);
        }
        self.arrival_buffer = arrivals;
    }

    /// The rules every session of the current step shares.
    fn step_rules(&self, snapshot_at: Minutes) -> StepRules {
        let config = self.config;
        let (last_index, current) = self.flags.current();
        StepRules {
            refresh: config.population.flag_refresh.0.max(1),
            stale_refresh: config.population.stale_refresh.0.max(1),
            session_length: config.session_length.0,
            last_index,
            current,
            settled_since: self.flags.current_since() + i64::from(self.max_refresh),
            lazy: config.release.migration == Migration::Lazy,
            backward_compatible: config.release.backward_compatible,
            leak_platform: leak_platform(config.sabotage),
            snapshot_at,
        }
    }

    /// Plays the session of player `index` that starts at `t`, tells the observer the truth
    /// about it, and sends its outcome on to the telemetry.
    #[inline(always)]
    fn session<O: SessionObserver>(
        &mut self,
        rules: &StepRules,
        t: f64,
        index: usize,
        observer: &mut O,
    ) {
        let player = self.slots[index];
        let start = t as u32;
        let (view_index, view) = self.view(rules, &player, start);
        let holdback = self.layout.is_holdback(player.bucket);
        let (mut build, assigned) = self.served(rules, index, &player, view);
        self.count_assigned(index, assigned, holdback);
        if let Some(sabotage) = self.config.sabotage {
            build = self.sabotaged(sabotage, player.bucket, holdback, view, build);
        }
        let cohort = cohort_of(build != 0, holdback);
        let mut event = SessionEvent {
            start: Minutes(start),
            player: index as u32,
            bucket: player.bucket,
            segment: player.segment,
            cell: player.cell,
            build,
            features: 0,
            cohort,
            harmed: false,
            crashed: false,
            load_failed: false,
            latency_ms: 0.0,
            exploit_coins: 0,
        };
        // An eligible player not yet exposed, whose save no new build ever touched, plays the old
        // build with nothing watching: no report counts their outcomes and nothing about their
        // save can move a measure. Only the arrival matters, and the outcome's telemetry when a
        // guardrail learns the old build's variance from them.
        if cohort == Cohort::Unexposed && !self.saves[index].touched {
            observer.session(&event);
            if self.config.report_unexposed {
                self.report_unexposed(rules, &event, &player, view_index);
            }
            return;
        }
        let effect = self.effect_on(build, view_index, player.segment, rules.leak_platform);
        let draws = Draws::new(&mut self.rng);
        let played = self.play(rules, &event, &player, &effect, &draws);
        event.features = if build != 0 { effect.features } else { 0 };
        event.harmed = build != 0 && effect.harmful;
        event.crashed = played.crashed;
        event.load_failed = played.load_failed;
        event.latency_ms = played.latency as f32;
        event.exploit_coins = played.exploit;
        observer.session(&event);
        let session = Ended {
            player: index as u32,
            cohort,
            build,
            values: played.values,
            completed: played.completed,
        };
        self.end(rules, start, session, &draws, &effect);
    }

    /// Plays an untouched unexposed player's session on the old build for the telemetry alone:
    /// its outcome is drawn from a stream of its own, and the save is left as it was (build 0
    /// changes nothing in it, and a completed run is not added to it), so the world the other
    /// sessions see is the same whether or not these are reported.
    #[inline(always)]
    fn report_unexposed(
        &mut self,
        rules: &StepRules,
        event: &SessionEvent,
        player: &Slot,
        view_index: usize,
    ) {
        let effect = self.effect_on(0, view_index, player.segment, rules.leak_platform);
        let draws = Draws::new(&mut self.unexposed_rng);
        let played = self.play(rules, event, player, &effect, &draws);
        let session = Ended {
            player: event.player,
            cohort: Cohort::Unexposed,
            build: 0,
            values: played.values,
            completed: None,
        };
        self.end(rules, event.start.0, session, &draws, &effect);
    }

    /// The flags as the player's client last fetched them before `start`, and their index in the
    /// flags' history.
    #[inline(always)]
    fn view(&self, rules: &StepRules, player: &Slot, start: u32) -> (usize, FlagState) {
        // Only when the flags changed within the slowest client's interval does it matter when
        // this client last fetched.
        if i64::from(start) >= rules.settled_since {
            (rules.last_index, rules.current)
        } else {
            let interval = if player.stale { rules.stale_refresh } else { rules.refresh };
            let i =
                self.flags.index_at(self.flags.last_fetch(start, player.refresh_phase, interval));
            (i, self.flags.state(i))
        }
    }

    /// The build player `index` is served from the client's `view` of the flags (0: the old
    /// build), and whether the server assigned the player to the exposure.
    #[inline(always)]
    fn served(
        &self,
        rules: &StepRules,
        index: usize,
        player: &Slot,
        view: FlagState,
    ) -> (u16, bool) {
        let config = self.config;
        let serves = |state: FlagState| {
            state.build != 0
                && state.killed_cells & (1 << player.cell) == 0
                && (state.everyone || self.layout.is_exposed(player.bucket, state.share))
        };
        let mut build = if serves(view) { view.build } else { 0 };
        // What the server assigned, whatever the client has fetched: the count a
        // sample-ratio check compares with the assignment's promise.
        let mut assigned = serves(rules.current);
        if let Some(bug) = config.assignment_bug
            && !view.everyone
            && bug_excludes(&bug, config.segment(player.segment), index)
        {
            build = 0;
            assigned &= rules.current.everyone;
        }
        (build, assigned)
    }

    /// Loads the player's save (migrating it on a new build when migration is lazy), then decides
    /// whether the session crashed, its latency, and what it earned.
    #[inline(always)]
    fn play(
        &mut self,
        rules: &StepRules,
        event: &SessionEvent,
        player: &Slot,
        effect: &Effect,
        draws: &Draws,
    ) -> Played {
        let base = &self.config.baseline;
        let build = event.build;
        let save = &mut self.saves[event.player as usize];
        let load_failed =
            save.corrupted || (build == 0 && save.schema == 1 && !rules.backward_compatible);
        if build != 0 {
            save.touched = true;
            if rules.lazy {
                save.migrate(draws.corruption < effect.corruption);
            }
        }
        let crashed =
            load_failed || draws.crash < f64::from(player.crash_probability) * effect.crash;
        let latency =
            fastmath::exp(f64::from(player.log_latency_ms) + base.latency_spread * draws.z_latency)
                * effect.latency;
        let (coins, exploit, flagged) = if crashed {
            (0, 0, 0)
        } else {
            let coins = whole(fastmath::exp(
                f64::from(player.log_coins) + base.coins_spread * draws.z_coins,
            ));
            let exploit = if effect.exploit > 0.0 && event.start.0 >= save.learns_exploit {
                whole(coins as f64 * effect.exploit)
            } else {
                0
            };
            (coins, exploit, whole(exploit as f64 * effect.audited))
        };
        let completed = (!crashed).then_some(RunGains {
            coins,
            item: draws.item < base.item_rate,
            exploit,
            flagged,
        });
        let values = SessionTotals {
            sessions: 1,
            crashes: u32::from(crashed),
            save_errors: u32::from(load_failed),
            latency_us: reported_latency(latency),
            coins: coins + exploit,
        };
        Played { crashed, load_failed, latency, exploit, values, completed }
    }

    /// The session reports when it ends; its next-day return is known a day after that.
    #[inline(always)]
    fn end(
        &mut self,
        rules: &StepRules,
        start: u32,
        session: Ended,
        draws: &Draws,
        effect: &Effect,
    ) {
        let ends = start + rules.session_length;
        if ends < rules.snapshot_at.0 {
            self.record(session);
        } else {
            self.ended.push(session);
        }
        if self.config.watched[Metric::ReturnRate.index()] {
            self.returns.push_back(Return {
                at: ends + 1 + DAY,
                player: session.player,
                cohort: session.cohort,
                returned: draws.returns < self.config.baseline.return_rate * effect.retention,
            });
        }
    }

    #[cold]
    fn sabotaged(
        &mut self,
        sabotage: Sabotage,
        bucket: Bucket,
        holdback: bool,
        view: FlagState,
        build: u16,
    ) -> u16 {
        match sabotage {
            Sabotage::LeakHoldback if holdback && view.build != 0 => view.build,
            Sabotage::Overexpose { extra }
                if !holdback
                    && view.build != 0
                    && bucket.value() < view.share.basis_points().saturating_add(extra) =>
            {
                view.build
            }
            Sabotage::Forgetful { probability } if build != 0 => {
                let u: f64 = self.sabotage_rng.random();
                if u < probability { 0 } else { build }
            }
            // The sabotage does not touch this session's build.
            Sabotage::LeakHoldback
            | Sabotage::Overexpose { .. }
            | Sabotage::Forgetful { .. }
            | Sabotage::IgnoreKill
            | Sabotage::DoubleClawback
            | Sabotage::LossyDownMigration
            | Sabotage::FeatureKillLeak { .. } => build,
        }
    }
}

/// A latency in milliseconds as a session reports it: in whole microseconds, rounded half up,
/// and no more than [`MAX_LATENCY_US`].
#[inline(always)]
fn reported_latency(ms: f64) -> i64 {
    // A cast truncates toward zero and saturates: for a positive latency, + 0.5 rounds half up.
    ((ms * LATENCY_STEPS_PER_MS + 0.5) as i64).min(MAX_LATENCY_US)
}

/// The cohort of a session on the new build (`on_build`) or not, by a holdback player or not.
#[inline]
pub(super) fn cohort_of(on_build: bool, holdback: bool) -> Cohort {
    if on_build {
        Cohort::Treatment
    } else if holdback {
        Cohort::Holdback
    } else {
        Cohort::Unexposed
    }
}

/// Whether the assignment bug leaves player `index` of `segment` out of the exposure: a fixed
/// share of the segment's players, chosen by a hash of the player's index (independent of the
/// bucket, which comes from the player's id).
fn bug_excludes(bug: &AssignmentBug, segment: rollcage_model::Segment, index: usize) -> bool {
    if !bug.segment.matches(segment) {
        return false;
    }
    let h = crate::seed::mix(index as u64 ^ 0x5bd1_e995);
    ((h >> 11) as f64) * (1.0 / 9_007_199_254_740_992.0) < bug.share
}

/// The platform on which a planted feature-kill leak ignores feature kills, if one is planted.
fn leak_platform(sabotage: Option<Sabotage>) -> Option<u8> {
    match sabotage {
        Some(Sabotage::FeatureKillLeak { platform }) => Some(platform),
        Some(
            Sabotage::LeakHoldback
            | Sabotage::Overexpose { .. }
            | Sabotage::Forgetful { .. }
            | Sabotage::IgnoreKill
            | Sabotage::DoubleClawback
            | Sabotage::LossyDownMigration,
        )
        | None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_latency_is_reported_in_whole_microseconds_rounded_and_capped() {
        assert_eq!(reported_latency(12.3456), 12_346);
        assert_eq!(reported_latency(12.3454), 12_345);
        assert_eq!(reported_latency(0.0005), 1, "half a microsecond rounds up");
        assert_eq!(reported_latency(0.0004), 0);
        assert_eq!(reported_latency(719_999.999), 719_999_999);
        assert_eq!(reported_latency(1e12), MAX_LATENCY_US, "no slower than a whole run");
    }
}
