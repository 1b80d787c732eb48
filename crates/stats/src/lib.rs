//! Statistics for rollout guardrails: no IO, no clock, no random numbers.
//!
//! The pieces, from the bottom up:
//! - [`Moments`]: the sums a cohort's telemetry carries for one metric, including the per-player
//!   (cluster) sums the delta method needs, because one player's sessions are correlated.
//! - [`contrast`]: the treatment-versus-control harm estimate with a margin, stratified by rollout
//!   stage so that a ramping treatment is compared only with its contemporaneous control.
//! - [`sequential`]: decisions on that estimate — the naive repeated z-test and the always-valid
//!   mixture SPRT (mSPRT).
//! - [`power`]: the chance a sequence of looks catches a given harm, for planning stages.
//! - [`rank`]: the Mann-Whitney rank test on binned latency distributions, stratified by stage.
//! - [`interval`]: Wilson and Clopper–Pearson intervals for the Monte Carlo rates.
//! - [`quantile`]: sample quantiles for times and blast radii.

pub mod contrast;
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

pub use contrast::{
    Carried, Direction, HarmEstimate, HarmSpec, Influence, Margin, Stratum, influences,
    strata_from_players, stratified_harm,
};
pub use interval::{Interval, clopper_pearson, wilson};
pub use moments::{Moments, VarianceModel};
