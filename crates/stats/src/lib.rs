//! Statistics for rollout guardrails: no IO, no clock, no random numbers.
//!
//! The pieces, from the bottom up:
//! - [`Moments`]: the sums a cohort's telemetry carries for one metric, including the per-player
//!   (cluster) sums the variance components need, because one player's sessions are correlated.
//! - [`exact`]: the same sums in integers ([`ExactMoments`]), the same in any order of the
//!   observations, so telemetry exported and judged elsewhere gives the same bits.
//! - [`components`]: within- and between-player variance components (random effects, method of
//!   moments) from those sums.
//! - [`contrast`]: the treatment-versus-control harm estimate with a margin, stratified by rollout
//!   stage so that a ramping treatment is compared only with its contemporaneous control.
//! - [`sequential`]: decisions on that estimate — the naive repeated z-test and the always-valid
//!   mixture SPRT (mSPRT).
//! - [`power`]: the chance a sequence of looks catches a given harm, for planning stages.
//! - [`rank`]: the Mann-Whitney rank test on binned latency distributions, stratified by stage.
//! - [`student`]: the Student t reference for a variance estimated from few effective players.
//! - [`interval`]: Wilson and Clopper–Pearson intervals for the Monte Carlo rates.
//! - [`quantile`]: sample quantiles for times and blast radii.

pub mod components;
pub mod contrast;
pub mod exact;
pub mod fastmath;
pub mod interval;
pub mod moments;
pub mod normal;
pub mod power;
pub mod quantile;
pub mod rank;
pub mod sequential;
pub mod spending;
pub mod srm;
pub mod student;

pub use contrast::{
    Carried, Direction, HarmEstimate, HarmSpec, Margin, Stratum, shares, strata_from_players,
    stratified_harm,
};
pub use exact::{ExactCounts, ExactMoments, ExactValues};
pub use interval::{Interval, clopper_pearson, wilson};
pub use moments::{Moments, VarianceModel};
