//! The small world shared by the simulator's tests.

pub use rollcage_sim::testing::world as world_config;
