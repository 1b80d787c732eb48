//! Playing sessions: each arrival is played on the build its client's flags say, the build's
//! faults act, the player's save changes, and the session's outcome is told to the observer and
//! sent on to the telemetry.

use rand::{Rng, RngExt};
use rand_distr::{Distribution, Exp1, StandardNormal};
use rollcage_policy::{Bucket, Cohort, Metric, Minutes};
use rollcage_stats::fastmath;

use super::telemetry::{Ended, Return, RunGains};
use super::{LOOKAHEAD, SessionEvent, SessionObserver, World, prefetch, whole};
use crate::config::{AssignmentBug, Migration, Sabotage};
use crate::flags::FlagState;

const DAY: u32 = 1440;

impl World<'_> {
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
        let config = self.config;
        let base = &config.baseline;
        let refresh = config.population.flag_refresh.0.max(1);
        let stale_refresh = config.population.stale_refresh.0.max(1);
        let session_length = config.session_length.0;
        let mean_gap = 1.0 / rate;
        let (last_index, current) = self.flags.current();
        let settled_since = self.flags.current_since() + i64::from(self.max_refresh);
        let lazy = config.release.migration == Migration::Lazy;
        let backward_compatible = config.release.backward_compatible;
        let leak_platform = match config.sabotage {
            Some(Sabotage::FeatureKillLeak { platform }) => Some(platform),
            _ => None,
        };
        // The step's arrivals first, from their own stream; then the sessions, each asking for the
        // data of the player a few sessions ahead while it works on this one.
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
        for (n, &(t, index)) in arrivals.iter().enumerate() {
            if let Some(&(_, ahead)) = arrivals.get(n + LOOKAHEAD) {
                prefetch(&self.slots[ahead as usize]);
                prefetch(&self.saves[ahead as usize]);
            }
            let index = index as usize;
            let player = self.slots[index];
            let start = t as u32;
            // Only when the flags changed within the slowest client's interval does it matter when
            // this client last fetched.
            let (view_index, view) = if i64::from(start) >= settled_since {
                (last_index, current)
            } else {
                let interval = if player.stale { stale_refresh } else { refresh };
                let i = self.flags.index_at(self.flags.last_fetch(
                    start,
                    player.refresh_phase,
                    interval,
                ));
                (i, self.flags.state(i))
            };
            let holdback = self.layout.is_holdback(player.bucket);
            let serves = |state: FlagState| {
                state.build != 0
                    && state.killed_cells & (1 << player.cell) == 0
                    && (state.everyone || self.layout.is_exposed(player.bucket, state.share))
            };
            let mut build = if serves(view) { view.build } else { 0 };
            // What the server assigned, whatever the client has fetched: the count a
            // sample-ratio check compares with the assignment's promise.
            let mut assigned = serves(current);
            if let Some(bug) = config.assignment_bug
                && !view.everyone
                && bug_excludes(&bug, config.segment(player.segment), index)
            {
                build = 0;
                assigned &= current.everyone;
            }
            let mark = self.mark();
            if self.slots[index].assigned_mark != mark {
                self.slots[index].assigned_mark = mark;
                let cohort = cohort_of(assigned, holdback);
                self.snapshot.cohorts[cohort.index()].assigned[usize::from(player.cell)] += 1;
            }
            if let Some(sabotage) = config.sabotage {
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
            // build with nothing watching: no guardrail compares with them, no report counts their
            // outcomes, and nothing about their save can move a measure. Only the arrival matters.
            if cohort == Cohort::Unexposed && !self.saves[index].touched {
                observer.session(&event);
                continue;
            }
            let segment = usize::from(player.segment);
            let effect = if build == 0 {
                self.old_effects[segment]
            } else {
                let row = (view_index - self.first_visible) * self.segments + segment;
                match leak_platform {
                    Some(p) if config.segment(player.segment).platform == p => {
                        self.leak_effects[row]
                    }
                    _ => self.view_effects[row],
                }
            };
            let uniforms = self.rng.next_u64();
            let crash_draw = (uniforms >> 32) as f64 * (1.0 / 4_294_967_296.0);
            let return_draw = (uniforms as u32) as f64 * (1.0 / 4_294_967_296.0);
            let more = self.rng.next_u64();
            let item_draw = (more >> 32) as f64 * (1.0 / 4_294_967_296.0);
            let corruption_draw = (more as u32) as f64 * (1.0 / 4_294_967_296.0);
            let z_latency: f64 = StandardNormal.sample(&mut self.rng);
            let z_coins: f64 = StandardNormal.sample(&mut self.rng);

            let save = &mut self.saves[index];
            let load_failed =
                save.corrupted || (build == 0 && save.schema == 1 && !backward_compatible);
            if build != 0 {
                save.touched = true;
                if lazy {
                    save.migrate(corruption_draw < effect.corruption);
                }
            }
            let crashed =
                load_failed || crash_draw < f64::from(player.crash_probability) * effect.crash;
            let latency =
                fastmath::exp(f64::from(player.log_latency_ms) + base.latency_spread * z_latency)
                    * effect.latency;
            let (coins, exploit, flagged) = if crashed {
                (0, 0, 0)
            } else {
                let coins =
                    whole(fastmath::exp(f64::from(player.log_coins) + base.coins_spread * z_coins));
                let exploit = if effect.exploit > 0.0 && start >= save.learns_exploit {
                    whole(coins as f64 * effect.exploit)
                } else {
                    0
                };
                (coins, exploit, whole(exploit as f64 * effect.audited))
            };
            let completed = (!crashed).then_some(RunGains {
                coins,
                item: item_draw < base.item_rate,
                exploit,
                flagged,
            });
            let values = [
                if crashed { 1.0 } else { 0.0 },
                latency,
                (coins + exploit) as f64,
                if load_failed { 1.0 } else { 0.0 },
            ];
            event.features = if build != 0 { effect.features } else { 0 };
            event.harmed = build != 0 && effect.harmful;
            event.crashed = crashed;
            event.load_failed = load_failed;
            event.latency_ms = latency as f32;
            event.exploit_coins = exploit;
            observer.session(&event);
            // The session reports when it ends; its next-day return is known a day after that.
            let ends = start + session_length;
            let session = Ended { player: index as u32, cohort, build, values, completed };
            if ends < snapshot_at.0 {
                self.record(session);
            } else {
                self.ended.push(session);
            }
            if config.watched[Metric::ReturnRate.index()] {
                self.returns.push_back(Return {
                    at: ends + 1 + DAY,
                    player: index as u32,
                    cohort,
                    returned: return_draw < base.return_rate * effect.retention,
                });
            }
        }
        self.arrival_buffer = arrivals;
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
            _ => build,
        }
    }
}

/// The cohort of a session on the new build (`on_build`) or not, by a holdback player or not.
#[inline]
fn cohort_of(on_build: bool, holdback: bool) -> Cohort {
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
fn bug_excludes(bug: &AssignmentBug, segment: crate::config::Segment, index: usize) -> bool {
    if !bug.segment.matches(segment) {
        return false;
    }
    let h = crate::seed::mix(index as u64 ^ 0x5bd1_e995);
    ((h >> 11) as f64) * (1.0 / 9_007_199_254_740_992.0) < bug.share
}
