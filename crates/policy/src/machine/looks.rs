//! A look at a telemetry snapshot: whether it brings anything new, every guardrail evaluated on
//! every cell it watches at the alpha in force, the streaks that turn breaches into actions, the
//! sample-ratio check, and the count of looks without new telemetry.

use rollcage_stats::srm::chi_square;

use super::{Phase, Policy, Response};
use crate::event::{EventKind, Reason, SampleRatio};
use crate::guardrail::{Evaluation, Evidence, Look, Verdict, evaluate};
use crate::telemetry::{Cohort, Telemetry};
use rollcage_model::KillScope;
use rollcage_model::Minutes;
use rollcage_model::{Guardrail, Multiplicity, Scope, Severity};

/// The sample-ratio check runs once each group expects at least this many players.
const SRM_MIN_EXPECTED: f64 = 20.0;

/// The breaches an evaluation round asks to act on.
#[derive(Default)]
pub(super) struct Breaches {
    pub(super) release: Option<Evaluation>,
    pub(super) pause: Option<Reason>,
    pub(super) partial: Vec<(KillScope, Evaluation)>,
}

impl Breaches {
    /// Adds the breach of guardrail `g` (on `cell`, for a segment guardrail) that has lasted its
    /// required streak, as its severity and scope ask.
    fn add(&mut self, g: &Guardrail, cell: Option<usize>, e: Evaluation) {
        match (g.severity, g.scope) {
            (Severity::Pause, _) => {
                self.pause.get_or_insert(Reason::Guardrail(e));
            }
            (Severity::Rollback, Scope::Release) => {
                self.release.get_or_insert(e);
            }
            (Severity::Rollback, Scope::Feature(f)) => {
                self.partial.push((KillScope::Feature(f), e));
            }
            (Severity::Rollback, Scope::Segment) => {
                self.partial
                    .push((KillScope::Segment(cell.expect("a segment guardrail has a cell")), e));
            }
        }
    }
}

impl Policy<'_> {
    /// Takes the snapshot as the current stage's stratum if it is fresh, and says whether it is:
    /// a snapshot no newer than the last one, or taken before the current stage began, brings
    /// nothing to decide on.
    pub(super) fn take_snapshot(&mut self, telemetry: &Telemetry) -> bool {
        let stage_began = match self.phase {
            Phase::Stage { .. } => self.since,
            Phase::Pending
            | Phase::HoldbackPeriod { .. }
            | Phase::RollingBack { .. }
            | Phase::RolledBack
            | Phase::RollbackFailed
            | Phase::Released => Minutes::ZERO,
        };
        let fresh = self.last_as_of.is_none_or(|last| telemetry.as_of > last)
            && (telemetry.as_of > stage_began || self.last_as_of.is_none());
        if fresh {
            self.last_as_of = Some(telemetry.as_of);
            *self.strata.last_mut().expect("a live phase has a stratum") = *telemetry;
        }
        fresh
    }

    /// The segment cells still live, as a set (bit c for cell c).
    fn live_cells(&self) -> u32 {
        let killed: u32 =
            self.killed_cells.iter().enumerate().filter(|(_, k)| **k).map(|(c, _)| 1 << c).sum();
        crate::telemetry::ALL_CELLS & !killed
    }

    /// The alpha guardrail `index` runs at now: its own, divided by the cells evaluated side by
    /// side (segment scope) and by the multiplicity correction.
    pub(super) fn alpha(&self, index: usize) -> f64 {
        let g = &self.config.guardrails[index];
        let Some(test) = g.method.comparison() else { return 0.0 };
        let cells = if g.scope == Scope::Segment { self.config.cells.len() } else { 1 };
        let m = self.config.statistical_guardrails();
        let family = match self.config.multiplicity {
            Multiplicity::None => 1,
            Multiplicity::Bonferroni => m,
            Multiplicity::Holm => {
                let others_breached = (0..self.breached.len())
                    .filter(|&j| j != index && self.breached[j])
                    .filter(|&j| self.config.guardrails[j].method.comparison().is_some())
                    .count();
                (m - others_breached).max(1)
            }
        };
        test.alpha / (cells * family) as f64
    }

    /// The exposed share the assignment promises now, for the sample-ratio check.
    fn promised_share(&self) -> Option<rollcage_model::Share> {
        match self.phase {
            Phase::Stage { index, .. } => Some(self.config.stages[index].share),
            Phase::HoldbackPeriod { .. } => self.config.stages.last().map(|s| s.share),
            Phase::Pending
            | Phase::RollingBack { .. }
            | Phase::RolledBack
            | Phase::RollbackFailed
            | Phase::Released => None,
        }
    }

    /// The sample-ratio check on the current stage's assigned players, over the cells still live.
    fn sample_ratio(&self) -> Option<SampleRatio> {
        let check = self.config.srm?;
        let share = self.promised_share()?.percent();
        let holdback = self.config.holdback.percent();
        let current = self.strata.last()?;
        let live = |c: &usize| !self.killed_cells[*c];
        let count = |cohort: Cohort| -> u64 {
            (0..self.config.cells.len())
                .filter(live)
                .map(|c| current.cohort(cohort).assigned[c])
                .sum()
        };
        let (treatment, control) = (count(Cohort::Treatment), count(Cohort::Holdback));
        let total = (treatment + control) as f64;
        let expected_share = share / (share + holdback);
        // Pearson's approximation needs a handful of expected players in each group.
        if total * expected_share.min(1.0 - expected_share) < SRM_MIN_EXPECTED {
            return None;
        }
        let (statistic, p_value) = chi_square(&[treatment, control], &[share, holdback])?;
        Some(SampleRatio {
            treatment,
            holdback: control,
            expected_share,
            statistic,
            p_value,
            threshold: check.alpha / f64::from(check.looks),
        })
    }

    /// Runs the sample-ratio check on a fresh look; a mismatch pauses the rollout.
    pub(super) fn check_sample_ratio(
        &self,
        now: Minutes,
        breaches: &mut Breaches,
        response: &mut Response,
    ) {
        let Some(ratio) = self.sample_ratio() else { return };
        if self.record_evaluations {
            response.event(now, EventKind::SampleRatioChecked(ratio));
        }
        if ratio.p_value < ratio.threshold && !self.dry_run {
            breaches.pause.get_or_insert(Reason::SampleRatio(ratio));
        }
    }

    /// Evaluates every guardrail on every cell it watches, counts the breaches in their streaks,
    /// and counts a look without new telemetry towards the inconclusive limits. Returns the
    /// breaches to act on.
    pub(super) fn evaluate_guardrails(
        &mut self,
        now: Minutes,
        fresh: bool,
        response: &mut Response,
    ) -> Breaches {
        let mut breaches = Breaches::default();
        let last = self.last_look(now);
        let config = self.config;
        for (i, g) in config.guardrails.iter().enumerate() {
            let targets = self.targets(g);
            // Holm's alpha depends on the guardrails that breached before this one, in this round
            // too.
            let alpha = self.alpha(i);
            let live_cells = self.live_cells();
            for cell in targets {
                let plan_share = cell.map_or(1.0, |c| config.cell_shares[c]);
                let look = Look { cell, live_cells, alpha, plan_share, last };
                let e = self.evaluate_one(i, g, look, fresh);
                if self.record_evaluations {
                    response.event(now, EventKind::Evaluated(e));
                }
                self.count_breach(i, g, cell, e, &mut breaches);
            }
        }
        self.count_silence(fresh, &mut breaches);
        breaches
    }

    /// The cells guardrail `g` is evaluated on: each live cell for a segment guardrail, everyone
    /// (`None`) otherwise. A killed cell's or feature's own guardrail stops: what it watches no
    /// longer runs.
    fn targets(&self, g: &Guardrail) -> Vec<Option<usize>> {
        let cells = self.config.cells.len();
        match g.scope {
            Scope::Segment => (0..cells).filter(|&c| !self.killed_cells[c]).map(Some).collect(),
            Scope::Feature(f) if self.killed_features[f] => Vec::new(),
            Scope::Release | Scope::Feature(_) => vec![None],
        }
    }

    /// Evaluates guardrail `index` at one look, with its memory of the look's cell; a look without
    /// new telemetry evaluates nothing.
    fn evaluate_one(&mut self, index: usize, g: &Guardrail, look: Look, fresh: bool) -> Evaluation {
        if !fresh {
            return Evaluation::no_data(index, look.cell, look.alpha);
        }
        let memory = &mut self.memories[index][look.cell.unwrap_or(0)];
        evaluate(index, g, Evidence { strata: &self.strata, history: &self.history }, look, memory)
    }

    /// Counts evaluation `e` of guardrail `index` on `cell` in its streak: a breach lengthens it,
    /// anything else breaks it. A breach whose streak has reached the guardrail's requirement is
    /// added to `breaches`.
    fn count_breach(
        &mut self,
        index: usize,
        g: &Guardrail,
        cell: Option<usize>,
        e: Evaluation,
        breaches: &mut Breaches,
    ) {
        if e.verdict == Verdict::NoData || self.dry_run {
            // Nothing new (or nothing to act on): the streak neither grows nor breaks.
            return;
        }
        let streak = &mut self.streaks[index][cell.unwrap_or(0)];
        if e.verdict != Verdict::Breach {
            *streak = 0;
            return;
        }
        self.breached[index] = true;
        *streak += 1;
        if *streak < g.breaches_required {
            return;
        }
        breaches.add(g, cell, e);
    }

    /// Counts a look without new telemetry: once the silence lasts as many looks as a guardrail's
    /// inconclusive limit, the rollout pauses. A look with new telemetry ends the silence.
    fn count_silence(&mut self, fresh: bool, breaches: &mut Breaches) {
        if fresh {
            self.silent_looks = 0;
            return;
        }
        self.silent_looks += 1;
        let limit = self
            .config
            .guardrails
            .iter()
            .enumerate()
            .filter(|(_, g)| g.inconclusive_limit > 0 && self.silent_looks >= g.inconclusive_limit)
            .map(|(i, g)| (i, g.inconclusive_limit))
            .next();
        if let Some((guardrail, looks)) = limit.filter(|_| !self.dry_run) {
            breaches.pause.get_or_insert(Reason::Inconclusive { guardrail, looks });
        }
    }
}
