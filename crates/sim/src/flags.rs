//! Feature flags as the server holds them, and as each client sees them.
//!
//! The server's state changes at once when the world applies an action; a client sees the state
//! as of its last fetch. Clients fetch every `interval` minutes at their own phase, and all of them
//! fetch when the rollback's return-players step forces a refresh. The history of states is kept so
//! that any client's view at any time can be answered exactly.

use rollcage_policy::Share;

/// The server-side flag state. Each change begins an exposure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlagState {
    /// The world's index of the exposed build; 0 when none is.
    pub build: u16,
    pub share: Share,
    /// Released: the holdback receives the build too.
    pub everyone: bool,
    /// Features of the build switched off, one bit per feature.
    pub killed_features: u32,
    /// Segment cells sent back to the old build, one bit per cell.
    pub killed_cells: u32,
}

pub const NOTHING_EXPOSED: FlagState = FlagState {
    build: 0,
    share: Share::ZERO,
    everyone: false,
    killed_features: 0,
    killed_cells: 0,
};

impl FlagState {
    /// Whether the exposure this state begins continues the one `self` began: the same build
    /// goes on to at least the same share with the same kills, so the players carry their weight
    /// from one into the next (see [`crate::carry`]).
    pub fn continued_by(&self, next: &FlagState) -> bool {
        next.build == self.build
            && next.build != NOTHING_EXPOSED.build
            && next.share >= self.share
            && next.killed_features == self.killed_features
            && next.killed_cells == self.killed_cells
    }

    /// The cells still live (bit c for cell c).
    pub fn live_cells(&self) -> u32 {
        rollcage_policy::ALL_CELLS & !self.killed_cells
    }
}

/// The history of flag states and forced refreshes.
#[derive(Clone, Debug, Default)]
pub(crate) struct Flags {
    /// (time, state), in time order. The state before the first change is [`NOTHING_EXPOSED`].
    changes: Vec<(u32, FlagState)>,
    /// Times at which every client was made to fetch, in time order.
    forced: Vec<u32>,
}

impl Flags {
    /// The server's state now, and its index in the history (0 before any change).
    pub fn current(&self) -> (usize, FlagState) {
        self.changes.last().map_or((0, NOTHING_EXPOSED), |&(_, s)| (self.changes.len(), s))
    }

    /// When the current state began (`i64::MIN / 2` before any change).
    pub fn current_since(&self) -> i64 {
        self.changes.last().map_or(i64::MIN / 2, |&(t, _)| i64::from(t))
    }

    pub fn push(&mut self, at: u32, state: FlagState) {
        self.changes.push((at, state));
    }

    pub fn force_refresh(&mut self, at: u32) {
        self.forced.push(at);
    }

    /// The state at history index `index`.
    pub fn state(&self, index: usize) -> FlagState {
        if index == 0 { NOTHING_EXPOSED } else { self.changes[index - 1].1 }
    }

    /// The history index of the state a client that last fetched at `fetched` sees.
    pub fn index_at(&self, fetched: i64) -> usize {
        self.changes.partition_point(|&(t, _)| i64::from(t) <= fetched)
    }

    /// When a client with the given phase and interval last fetched, at or before `t`.
    pub fn last_fetch(&self, t: u32, phase: u16, interval: u32) -> i64 {
        let t = i64::from(t);
        let regular = t - (t - i64::from(phase)).rem_euclid(i64::from(interval));
        let forced = self.forced.partition_point(|&f| i64::from(f) <= t);
        match forced {
            0 => regular,
            i => regular.max(i64::from(self.forced[i - 1])),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exposed(bp: u16) -> FlagState {
        FlagState { build: 1, share: Share::from_basis_points(bp).unwrap(), ..NOTHING_EXPOSED }
    }

    #[test]
    fn a_client_sees_the_state_of_its_last_fetch() {
        let mut flags = Flags::default();
        flags.push(0, exposed(100));
        flags.push(60, exposed(500));
        // A client fetching every 15 minutes at minute 7 of each interval.
        assert_eq!(flags.last_fetch(65, 7, 15), 52);
        assert_eq!(flags.state(flags.index_at(flags.last_fetch(65, 7, 15))), exposed(100));
        assert_eq!(flags.state(flags.index_at(flags.last_fetch(67, 7, 15))), exposed(500));
        // Before its first fetch, a client sees nothing exposed.
        assert_eq!(flags.state(flags.index_at(flags.last_fetch(5, 7, 15))), NOTHING_EXPOSED);
    }

    #[test]
    fn a_forced_refresh_reaches_even_stale_clients() {
        let mut flags = Flags::default();
        flags.push(0, exposed(100));
        flags.push(100, NOTHING_EXPOSED);
        // A stale client fetching every 240 minutes still sees the build at 150...
        assert_eq!(flags.state(flags.index_at(flags.last_fetch(150, 0, 240))), exposed(100));
        flags.force_refresh(120);
        // ...until every client is made to fetch.
        assert_eq!(flags.state(flags.index_at(flags.last_fetch(150, 0, 240))), NOTHING_EXPOSED);
        assert_eq!(flags.state(flags.index_at(flags.last_fetch(110, 0, 240))), exposed(100));
    }
}
