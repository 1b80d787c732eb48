//! What a run observes of every session as it starts: the oracles check it, and the tally counts
//! it for the run's record (sessions by cohort, players exposed and harmed, each stage's cohorts).

use rollcage_policy::{BucketLayout, Minutes};
use rollcage_sim::{SessionEvent, SessionObserver};

use super::record::StageRecord;
use crate::oracle::Oracles;

/// A compact set of player indices.
pub(super) struct PlayerSet(Vec<u64>);

impl PlayerSet {
    fn new(players: usize) -> PlayerSet {
        PlayerSet(vec![0; players.div_ceil(64)])
    }

    #[inline]
    fn insert(&mut self, player: u32) {
        self.0[(player / 64) as usize] |= 1 << (player % 64);
    }

    pub(super) fn len(&self) -> u64 {
        self.0.iter().map(|w| u64::from(w.count_ones())).sum()
    }
}

/// Per-session truth for the run's record.
pub(super) struct Tally {
    layout: BucketLayout,
    pub(super) sessions: u64,
    pub(super) treatment_sessions: u64,
    pub(super) holdback_sessions: u64,
    pub(super) exposed_sessions: u64,
    pub(super) harmed_sessions: u64,
    pub(super) exposed: PlayerSet,
    pub(super) harmed: PlayerSet,
    /// The world index of the release under test once it is exposed (0, the old build, before).
    pub(super) release: u16,
    /// When the world stopped the release's exposure.
    pub(super) stopped_at: Option<Minutes>,
    pub(super) sessions_after_stop: u64,
    pub(super) stage: Option<StageRecord>,
}

impl Tally {
    /// A tally of no session yet, for a world of `players` players.
    pub(super) fn new(layout: BucketLayout, players: usize) -> Tally {
        Tally {
            layout,
            sessions: 0,
            treatment_sessions: 0,
            holdback_sessions: 0,
            exposed_sessions: 0,
            harmed_sessions: 0,
            exposed: PlayerSet::new(players),
            harmed: PlayerSet::new(players),
            release: 0,
            stopped_at: None,
            sessions_after_stop: 0,
            stage: None,
        }
    }

    #[inline]
    fn session(&mut self, e: &SessionEvent) {
        self.sessions += 1;
        let holdback = e.build == 0 && self.layout.is_holdback(e.bucket);
        if e.build != 0 {
            self.treatment_sessions += 1;
        } else if holdback {
            self.holdback_sessions += 1;
        }
        if e.build == self.release && e.build != 0 {
            self.exposed_sessions += 1;
            self.exposed.insert(e.player);
            if e.harmed {
                self.harmed_sessions += 1;
                self.harmed.insert(e.player);
            }
            if self.stopped_at.is_some_and(|s| e.start >= s) {
                self.sessions_after_stop += 1;
            }
        }
        if let Some(stage) = &mut self.stage {
            if e.build != 0 {
                stage.treatment.add(e);
            } else if holdback {
                stage.holdback.add(e);
            }
        }
    }
}

/// The world's session observer during a run: the oracles first, then the tally.
pub(super) struct Observer<'a> {
    pub(super) oracles: Oracles<'a>,
    pub(super) tally: Tally,
}

impl SessionObserver for Observer<'_> {
    #[inline]
    fn session(&mut self, e: &SessionEvent) {
        self.oracles.session(e);
        self.tally.session(e);
    }
}
