//! The small world and the helpers shared by the simulator's tests.

// Shared by several test binaries, each of which uses only part of it.
#![allow(dead_code)]

use rollcage_policy::{Action, Minutes, Telemetry};
use rollcage_sim::{SessionEvent, SessionObserver, World};

pub use rollcage_model::testing::world as world_config;

/// Keeps every session it sees.
#[derive(Default)]
pub struct Collect(pub Vec<SessionEvent>);

impl SessionObserver for Collect {
    fn session(&mut self, e: &SessionEvent) {
        self.0.push(*e);
    }
}

/// Advances in hourly windows from the world's time until `hours`, applying `actions` at their
/// minute (on the hour); returns the sessions and the last snapshot.
pub fn run(
    world: &mut World<'_>,
    hours: u32,
    actions: &[(u32, Action)],
) -> (Vec<SessionEvent>, Telemetry) {
    let mut seen = Collect::default();
    let mut last = Telemetry::default();
    for h in world.now().0 / 60..hours {
        for (at, action) in actions {
            if *at == h * 60 {
                world.apply(action);
            }
        }
        last = *world.advance(Minutes((h + 1) * 60), &mut seen);
    }
    (seen.0, last)
}
