//! Safety and liveness oracles: what a rollout must guarantee, checked on every session.
//!
//! The oracles judge with the truth. They see every session as it starts
//! ([`SessionEvent`](rollcage_sim::SessionEvent)), every action and event of the policy, every
//! operator command, every rollback step result, and, when the policy declares a rollback done,
//! every save with its truth ledger. They compare what happened with what the policy declared and
//! the scenario promised, and never trust the world's own bookkeeping: the holdback is recomputed
//! from each player's bucket, exposure from the share the policy last set, gate samples from the
//! sessions themselves, a kill counts from the moment the world *reported* it done, and every
//! restored save is held to what its restore strategy promises. Any violation is a bug in the
//! policy, the world or the scenario's promises, and is reported with the run's seed.
//!
//! Its parts: `guarantee` names the guarantees and records the broken ones; `oracles` follows a
//! run and checks the policy's decisions and the run's end; `session` holds what the policy
//! declared about each build and checks each session on a new build against it; `rollback`
//! checks the saves when a rollback is declared done.

mod guarantee;
mod oracles;
mod rollback;
mod session;

pub use self::guarantee::{Oracle, Violation, Violations};
pub use self::oracles::Oracles;
