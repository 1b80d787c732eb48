//! One run's world: sessions arrive, each is played on the build its client's flags say, the
//! faults of that build act, the player's save changes, and the outcomes flow into telemetry.
//!
//! Time advances in calls to [`World::advance`], at most one evaluation window at a time. Inside a
//! call the world steps at most an hour at a time (and at every live-event or fault boundary), so
//! the daily traffic cycle and the events are followed closely. Session arrivals are a Poisson
//! process over the whole population, each arrival going to a player drawn in proportion to their
//! activity: the same as every player having their own Poisson process, at a few random draws
//! per session.
//!
//! Flags: the server's state changes at once when the world applies an action; a client sees a
//! change at its next flag fetch (see the `flags` module). A session's build and features are
//! decided at its start from the flags as its client last fetched them.
//!
//! Saves: a run on a new build migrates the player's save (lazily, or for every exposed player at
//! stage start); a corrupted or unreadable save makes the next run fail to load. A run's coins,
//! item and progress reach the save when the run ends; a run aborted by a kill leaves the save as
//! it was.
//!
//! Telemetry: a session reports when it ends; its next-day return is known a day after that. Every
//! report lands in the snapshot of the exposure that is current when it arrives. Snapshots are
//! cumulative since the current exposure began, per cohort and segment cell, and carry per-player
//! sums so the policy can estimate clustered variances.
//!
//! Rollback steps run as operations: each attempt takes its duration, then succeeds, fails, or
//! fails after applying itself to part of the players, as the run's operations stream decides.
//!
//! The world's rooms are its submodules: `setup` draws the population and their saves, `arrivals`
//! says when sessions start, `sessions` plays each one, `faults` says what a build's faults do to a
//! session, `telemetry` turns ended sessions into the snapshot, `actions` applies the policy's
//! actions to the flags, and `operations` runs the rollback steps.

mod actions;
mod arrivals;
mod faults;
mod operations;
mod sessions;
mod setup;
mod telemetry;

use std::collections::VecDeque;

use rand_chacha::ChaCha8Rng;
use rollcage_policy::{Bucket, BucketLayout, BuildId, Cohort, Minutes, StepResult, Telemetry};

use crate::carry::Carries;
use crate::export::{Recorder, WindowRow};
use crate::flags::FlagState;
use crate::flags::Flags;
use crate::population::{AliasTable, Player};
use crate::saves::Save;
use crate::sums::{ExposureSums, ReturnTotals, SessionTotals};
use rollcage_model::WorldConfig;

use faults::Effect;
use operations::Operation;
pub use operations::Operations;
use telemetry::{Aside, Ended, Return};

/// What the truth records of one session, for the harness's oracles and outcomes. The policy
/// never sees these.
///
/// The outcome fields (`crashed`, `load_failed`, `latency_ms`, `exploit_coins`) are simulated for
/// every session on a new build, of the holdback, or of a player whose save a new build touched.
/// Sessions of other players, on the old build with nothing observing them, report no outcome.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SessionEvent {
    pub start: Minutes,
    pub player: u32,
    pub bucket: Bucket,
    /// The player's segment index (see [`WorldConfig::segment`]) and telemetry cell.
    pub segment: u8,
    pub cell: u8,
    /// The world's index of the build played; 0 is the old build.
    pub build: u16,
    /// The release features enabled in the run, one bit per feature (0 on the old build).
    pub features: u32,
    pub cohort: Cohort,
    /// The session was played on a build whose fault was acting on this player.
    pub harmed: bool,
    pub crashed: bool,
    /// The save failed to load (corrupted, or unreadable by the build).
    pub load_failed: bool,
    pub latency_ms: f32,
    /// Coins the run minted through an exploit.
    pub exploit_coins: i64,
}

/// Sees every session as it starts, in time order.
pub trait SessionObserver {
    fn session(&mut self, event: &SessionEvent);
}

impl SessionObserver for () {
    #[inline]
    fn session(&mut self, _: &SessionEvent) {}
}

/// Everything the hot loop touches for one player, in one cache line: who the player is, and
/// their running totals in the current exposure for the per-player telemetry sums. A tally's
/// `key` packs the exposure epoch and the cohort, so a stale tally is recognised in one compare.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C, align(64))]
struct Slot {
    /// Latency (in microseconds) and coins totals.
    latency_us: i64,
    coins: i64,
    crash_probability: f32,
    log_latency_ms: f32,
    log_coins: f32,
    key: u32,
    count: u32,
    crashes: u32,
    errors: u32,
    return_key: u32,
    return_count: u32,
    returned: u32,
    bucket: Bucket,
    refresh_phase: u16,
    segment: u8,
    cell: u8,
    stale: bool,
    /// The exposure (epoch, modulo [`MARKS`]) in which the player was last counted as assigned.
    assigned_mark: u8,
}

impl Slot {
    /// The player's session totals in the current exposure and cohort.
    #[inline]
    fn totals(&self) -> SessionTotals {
        SessionTotals {
            sessions: self.count,
            crashes: self.crashes,
            save_errors: self.errors,
            latency_us: self.latency_us,
            coins: self.coins,
        }
    }

    #[inline]
    fn set_totals(&mut self, t: SessionTotals) {
        (self.count, self.crashes, self.errors, self.latency_us, self.coins) =
            (t.sessions, t.crashes, t.save_errors, t.latency_us, t.coins);
    }

    /// The player's next-day return totals in the current exposure and cohort.
    #[inline]
    fn return_totals(&self) -> ReturnTotals {
        ReturnTotals { outcomes: self.return_count, returned: self.returned }
    }

    #[inline]
    fn set_return_totals(&mut self, t: ReturnTotals) {
        (self.return_count, self.returned) = (t.outcomes, t.returned);
    }
}

/// Assignment marks cycle through 1..=MARKS; 0 means never counted.
const MARKS: u32 = 255;

const _: () = assert!(std::mem::size_of::<Slot>() == 64);

struct Build {
    id: BuildId,
    /// Carries the release's faults (the build under test); its replacements do not.
    faulty: bool,
}

/// One run's world.
pub struct World<'a> {
    config: &'a WorldConfig,
    layout: BucketLayout,
    slots: Vec<Slot>,
    saves: Vec<Save>,
    arrivals: AliasTable,
    sessions_per_minute: f64,
    rng: ChaCha8Rng,
    arrivals_rng: ChaCha8Rng,
    /// The current step's arrivals: (start time, player), reused from step to step.
    arrival_buffer: Vec<(f64, u32)>,
    faults_rng: ChaCha8Rng,
    operations_rng: ChaCha8Rng,
    sabotage_rng: ChaCha8Rng,
    observation_rng: ChaCha8Rng,
    unexposed_rng: ChaCha8Rng,
    /// Whether sessions that end now reach the telemetry (false during a lost window).
    reporting: bool,
    now: Minutes,
    builds: Vec<Build>,
    flags: Flags,
    epoch: u32,
    snapshot: Telemetry,
    /// The current exposure's sums, from which each advance writes the snapshot.
    sums: Box<ExposureSums>,
    /// What the telemetry pipeline would export, when recorded.
    recorder: Option<Box<Recorder>>,
    /// Session and return totals of players whose last report was in another cohort.
    aside: Aside<SessionTotals>,
    returns_aside: Aside<ReturnTotals>,
    carries: Carries,
    ended: Vec<Ended>,
    returns: VecDeque<Return>,
    /// Effects on the old build, per segment.
    old_effects: Vec<Effect>,
    /// Effects per visible flag history index (from `first_visible`) and segment.
    view_effects: Vec<Effect>,
    /// The same, ignoring feature kills (for the feature-kill-leak sabotage).
    leak_effects: Vec<Effect>,
    first_visible: usize,
    segments: usize,
    max_refresh: u32,
    operations: Vec<Operation>,
    results: Vec<(Minutes, StepResult)>,
    facts: Operations,
    /// Release kills so far: the number of the rollback under way.
    rollbacks: u8,
}

/// How many sessions ahead the hot loop asks for a player's data.
const LOOKAHEAD: usize = 6;

/// Asks the CPU to bring `value`'s cache line closer: a hint with no effect on the program's
/// results, so that the random accesses to players' data overlap instead of stalling in turn.
#[inline(always)]
fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: a prefetch is only a hint: it never faults, reads nothing into the program and
        // changes no state the program can observe.
        unsafe { _mm_prefetch::<_MM_HINT_T0>((value as *const T).cast::<i8>()) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

/// Rounds a non-negative amount to the nearest whole coin. (`f64::round` is a library call on
/// baseline x86-64; for non-negative values this is the same.)
#[inline]
fn whole(x: f64) -> i64 {
    debug_assert!(x >= 0.0);
    (x + 0.5) as i64
}

impl World<'_> {
    pub fn now(&self) -> Minutes {
        self.now
    }

    /// The build under test, which carries the faults.
    pub fn release(&self) -> &BuildId {
        &self.config.release.build
    }

    /// The world's index of a build it has seen exposed.
    pub fn build_index(&self, id: &BuildId) -> Option<u16> {
        self.builds.iter().position(|b| &b.id == id).map(|i| i as u16)
    }

    /// Every build's id, by index (0 is the old build).
    pub fn builds(&self) -> impl Iterator<Item = &BuildId> {
        self.builds.iter().map(|b| &b.id)
    }

    /// The id of a build index (0 is the old build).
    pub fn build_id(&self, index: u16) -> &BuildId {
        &self.builds[usize::from(index)].id
    }

    /// A player's bucket, segment and propensities.
    pub fn player(&self, index: u32) -> Player {
        let s = &self.slots[index as usize];
        Player {
            bucket: s.bucket,
            segment: s.segment,
            refresh_phase: s.refresh_phase,
            crash_probability: s.crash_probability,
            log_latency_ms: s.log_latency_ms,
            log_coins: s.log_coins,
        }
    }

    /// Every player's save, with its truth.
    pub fn saves(&self) -> &[Save] {
        &self.saves
    }

    /// Facts about kills and rollback steps so far.
    pub fn operations(&self) -> &Operations {
        &self.facts
    }

    /// The slowest client's flag refresh interval: how long a flag change takes to reach everyone
    /// without a forced refresh.
    pub fn max_refresh(&self) -> Minutes {
        Minutes(self.max_refresh)
    }

    /// Whether sessions ending from now on reach the telemetry. The harness turns reporting off for
    /// an evaluation window the pipeline loses.
    pub fn set_reporting(&mut self, reporting: bool) {
        self.reporting = reporting;
    }

    /// Simulates until `until` and returns the telemetry snapshot then. Rollback step attempts that
    /// end by `until` complete at its end; a caller that wants to react to each at its own time
    /// advances no further than [`World::next_operation_end`].
    pub fn advance<O: SessionObserver>(&mut self, until: Minutes, observer: &mut O) -> &Telemetry {
        assert!(until > self.now, "time must move forward");
        // Sessions that ended since the last snapshot; the buffer keeps its capacity.
        let mut ended = std::mem::take(&mut self.ended);
        for n in 0..ended.len() {
            if let Some(ahead) = ended.get(n + LOOKAHEAD) {
                prefetch(&self.slots[ahead.player as usize]);
                prefetch(&self.saves[ahead.player as usize]);
                if let Some(carries) = self.carries.of(ahead.player as usize) {
                    prefetch(carries);
                }
            }
            self.record(ended[n]);
        }
        ended.clear();
        self.ended = ended;
        let mut from = self.now;
        while from < until {
            let to = self.next_boundary(from, until);
            self.prepare_effects(from);
            self.simulate(from, to, until, observer);
            from = to;
        }
        while let Some(&r) = self.returns.front() {
            if r.at > until.0 {
                break;
            }
            if let Some(ahead) = self.returns.get(LOOKAHEAD) {
                prefetch(&self.slots[ahead.player as usize]);
            }
            self.returns.pop_front();
            self.record_return(r);
        }
        self.sums.write(&mut self.snapshot);
        self.now = until;
        self.snapshot.as_of = until;
        self.complete_operations();
        &self.snapshot
    }

    /// Records from now on what the telemetry pipeline would export (see [`crate::export`]).
    pub fn record_telemetry(&mut self) {
        self.recorder = Some(Box::default());
    }

    /// The rows of the telemetry window that the last advance closed, when recording.
    pub fn take_window_rows(&mut self) -> Vec<WindowRow> {
        self.recorder.as_mut().map(|r| r.take_rows()).unwrap_or_default()
    }

    /// The flag changes since the last call, each with its time, when recording: each begins an
    /// exposure.
    pub fn take_flag_changes(&mut self) -> Vec<(Minutes, FlagState)> {
        self.recorder.as_mut().map(|r| r.take_changes()).unwrap_or_default()
    }

    /// The telemetry snapshot of the current exposure, as of the last advance.
    pub fn telemetry(&self) -> &Telemetry {
        &self.snapshot
    }

    /// The end of the step that starts at `from`: the next whole hour, live-event edge or fault
    /// onset, or `until`.
    fn next_boundary(&self, from: Minutes, until: Minutes) -> Minutes {
        let mut next = ((from.0 / 60) + 1) * 60;
        let mut consider = |t: u32| {
            if t > from.0 && t < next {
                next = t;
            }
        };
        for e in &self.config.live_events {
            consider(e.start.0);
            consider(e.end.0);
        }
        for f in &self.config.release.faults {
            consider(f.onset.0);
        }
        Minutes(next.min(until.0))
    }
}
