//! What a build's faults do to a session: the effects of every flag state a client may still see,
//! per segment, prepared once per step, and the chance a migration corrupts a save.

use rollcage_policy::Minutes;

use super::World;
use rollcage_model::{FaultKind, Sabotage, WorldConfig};

/// What a build with given flags does to a session of one segment during the current step.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Effect {
    pub(super) crash: f64,
    pub(super) latency: f64,
    pub(super) retention: f64,
    /// Extra coins minted per legitimate coin by a player who knows the exploit (0: no exploit).
    pub(super) exploit: f64,
    pub(super) audited: f64,
    pub(super) corruption: f64,
    pub(super) harmful: bool,
    pub(super) features: u32,
}

impl World<'_> {
    fn effect(
        &self,
        faulty: bool,
        killed_features: u32,
        segment: u8,
        at: Minutes,
        base: (f64, f64),
    ) -> Effect {
        let features = (1u32 << self.config.release.features.len()) - 1;
        let mut e = Effect {
            crash: base.0,
            latency: base.1,
            retention: 1.0,
            features: features & !killed_features,
            ..Effect::default()
        };
        if !faulty {
            return e;
        }
        let seg = self.config.segment(segment);
        for f in &self.config.release.faults {
            if f.onset > at || !f.segment.matches(seg) || killed_features & (1 << f.feature) != 0 {
                continue;
            }
            match f.kind {
                FaultKind::CrashRate { multiplier } => e.crash *= multiplier,
                FaultKind::Latency { multiplier } => e.latency *= multiplier,
                FaultKind::Retention { multiplier } => e.retention *= multiplier,
                FaultKind::Exploit { multiplier, audited, .. } => {
                    (e.exploit, e.audited) = (multiplier, audited)
                }
                FaultKind::SaveCorruption { probability } => e.corruption = probability,
            }
            e.harmful |= f.kind.is_harmful();
        }
        e
    }

    /// What the faults do to a session of a player of `segment` on `build` (0: the old build),
    /// as its client's view of the flags (history index `view_index`) has them.
    #[inline(always)]
    pub(super) fn effect_on(
        &self,
        build: u16,
        view_index: usize,
        segment: u8,
        leak_platform: Option<u8>,
    ) -> Effect {
        let row_segment = usize::from(segment);
        if build == 0 {
            self.old_effects[row_segment]
        } else {
            let row = (view_index - self.first_visible) * self.segments + row_segment;
            match leak_platform {
                Some(p) if self.config.segment(segment).platform == p => self.leak_effects[row],
                _ => self.view_effects[row],
            }
        }
    }

    pub(super) fn prepare_effects(&mut self, at: Minutes) {
        let (mut crash, mut latency) = (1.0, 1.0);
        for e in self.config.live_events.iter().filter(|e| e.start <= at && at < e.end) {
            crash *= e.crash_multiplier;
            latency *= e.latency_multiplier;
        }
        let base = (crash, latency);
        let mut old_effects = std::mem::take(&mut self.old_effects);
        old_effects.clear();
        old_effects.extend((0..self.segments).map(|s| self.effect(false, 0, s as u8, at, base)));
        self.old_effects = old_effects;
        // A client may still see any state of the last `max_refresh` minutes.
        let oldest_fetch = i64::from(at.0) - i64::from(self.max_refresh);
        self.first_visible = self.flags.index_at(oldest_fetch);
        let (last, _) = self.flags.current();
        let leak = matches!(self.config.sabotage, Some(Sabotage::FeatureKillLeak { .. }));
        let mut view_effects = std::mem::take(&mut self.view_effects);
        let mut leak_effects = std::mem::take(&mut self.leak_effects);
        view_effects.clear();
        leak_effects.clear();
        for index in self.first_visible..=last {
            let state = self.flags.state(index);
            let faulty = self.builds[usize::from(state.build)].faulty;
            for s in 0..self.segments {
                view_effects.push(self.effect(faulty, state.killed_features, s as u8, at, base));
                if leak {
                    leak_effects.push(self.effect(faulty, 0, s as u8, at, base));
                }
            }
        }
        self.view_effects = view_effects;
        self.leak_effects = leak_effects;
    }
}

/// The chance a migration on the faulty build corrupts a save of `segment` at `at`.
pub(super) fn fault_corruption(
    config: &WorldConfig,
    segment: rollcage_model::Segment,
    killed_features: u32,
    at: Minutes,
) -> f64 {
    config
        .release
        .faults
        .iter()
        .filter(|f| {
            f.onset <= at && f.segment.matches(segment) && killed_features & (1 << f.feature) == 0
        })
        .map(|f| match f.kind {
            FaultKind::SaveCorruption { probability } => probability,
            FaultKind::CrashRate { .. }
            | FaultKind::Latency { .. }
            | FaultKind::Exploit { .. }
            | FaultKind::Retention { .. } => 0.0,
        })
        .fold(0.0, f64::max)
}
