//! What a guardrail remembers between looks, per segment cell, for the current build, and how a
//! partial kill carries it over.

use rollcage_stats::spending::GroupSequential;

/// What a guardrail remembers between looks, for one segment cell (or everyone), for the current
/// build. Forgotten when a new build replaces a killed one; carried over, error budget and all,
/// when a partial kill makes the evidence start over ([`Memory::carry_over`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Memory {
    /// Looks that tested (naive z and Bonferroni count them).
    pub(super) looks: u32,
    /// Spending: each analysis of the current evidence, to recompute the boundaries when the
    /// alpha in force changes (Holm), and the recursion at the current alpha.
    pub(super) analyses: Vec<Analysis>,
    pub(super) test: GroupSequential,
    pub(super) test_alpha: f64,
    /// Spending: the error earlier evidence of this build spent, and the information (in
    /// sessions) it gathered, before a partial kill made the evidence start over.
    pub(super) spent_before: f64,
    pub(super) calendar_before: f64,
    /// The information (in sessions) of the current evidence at its last look.
    pub(super) last_information: f64,
    /// mSPRT: the running always-valid p-value. mSPRT and SPRT: the log-likelihood ratio of the
    /// current evidence at its last look, and the one earlier evidence ended with.
    pub(super) p_value: f64,
    pub(super) last_log_lr: f64,
    pub(super) log_lr_before: f64,
    /// SPRT: accepted "no harm".
    pub(super) accepted: bool,
}

/// One analysis of a spending test: the information that sets how much alpha it may have spent
/// (sessions, the schedule's calendar) and the statistical information 1/V that sets how its
/// statistic moves with the earlier ones'.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Analysis {
    pub(super) calendar: f64,
    pub(super) statistical: f64,
}

impl Memory {
    pub fn new() -> Memory {
        Memory { p_value: 1.0, ..Memory::default() }
    }

    /// A partial kill (a feature or a segment) makes the evidence start over, since what it
    /// measured no longer runs; the error budget does not. Every method goes on from what its
    /// earlier looks used: Bonferroni's and the naive test's looks keep counting; a spending test
    /// keeps what it spent and its place in the schedule, and spends only the rest on the new
    /// evidence; the mSPRT's and the SPRT's likelihood ratios go on from where they were, but
    /// never above 1: evidence against harm carries over, evidence for it does not (it may have
    /// come from what was just killed). Cutting a nonnegative supermartingale down to at most 1
    /// at a stopping time leaves it one, so Ville's inequality still bounds the whole sequence's
    /// error by alpha. An SPRT that accepted "no harm" stays so.
    pub fn carry_over(&mut self) {
        self.spent_before += self.test.spent();
        self.calendar_before += self.last_information;
        self.last_information = 0.0;
        self.analyses.clear();
        self.test = GroupSequential::new();
        self.log_lr_before = (self.log_lr_before + self.last_log_lr).min(0.0);
        self.last_log_lr = 0.0;
    }

    /// The error this build's evidence has spent so far under a spending test.
    pub(super) fn spent(&self) -> f64 {
        self.spent_before + self.test.spent()
    }
}
