//! Player saves and the truth ledger.
//!
//! A [`Save`] holds what the game stores for a player (coins, items, progress, the schema
//! version, whether it is corrupted) next to the ground truth about it: how many coins, items and
//! runs of progress the player earned legitimately, how many of the coins in the save an exploit
//! minted, and how many of those the audit trail flagged. The ledger is only ever changed by plain
//! truth bookkeeping, never by the code under test, so an oracle can judge any restore exactly.
//!
//! Rollback steps change saves through [`Save::revert_migration`] and [`Save::restore`]; both are
//! idempotent, as a retried half-applied step must be (unless a planted bug says otherwise).

use rollcage_policy::Restore;

/// What a save holds at one moment: coins, items and progress.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Holdings {
    pub coins: i64,
    pub items: u32,
    pub progress: u32,
}

/// One player's save and its truth.
///
/// Laid out for the simulator's hot loop: every session reads or writes only the first 64 bytes
/// (one cache line); the snapshot and the restore record, which only rollbacks touch, come after.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C, align(64))]
pub struct Save {
    /// What the save says.
    pub holdings: Holdings,
    /// Truth: everything the player earned legitimately, including what they had before.
    pub legit: Holdings,
    /// Truth: exploit coins still in the save.
    pub exploit_coins: i64,
    /// Exploit coins the audit trail flagged and that have not been clawed back.
    pub flagged_unclawed: i64,
    /// Every exploit coin the audit trail ever flagged.
    pub flagged_total: i64,
    /// The minute the player learns the exploit (`u32::MAX`: never).
    pub learns_exploit: u32,
    /// 0 for the old schema, 1 once migrated by the new build.
    pub schema: u8,
    pub corrupted: bool,
    /// The player played a new build or had their save migrated: the rollback must consider them.
    pub touched: bool,
    /// Which rollback of the run last restored it (0: none), so that a retried pass skips it.
    pub restored_in: u8,
    /// The snapshot taken before the rollout.
    pub snapshot: Holdings,
    /// Items when the save was migrated (what a lossy down-migration falls back to).
    pub items_at_migration: u32,
    /// How the save was last restored, and the legitimate holdings at that moment.
    pub restored: Option<(Restore, Holdings)>,
}

const _: () = assert!(
    std::mem::offset_of!(Save, snapshot) == 64,
    "a session touches one cache line of its save"
);

impl Save {
    /// A save as the rollout finds it, which is also its snapshot.
    pub fn new(start: Holdings, learns_exploit: u32) -> Save {
        Save { holdings: start, legit: start, snapshot: start, learns_exploit, ..Save::default() }
    }

    /// A completed run: legitimate coins, an item or not, exploit coins (and how many of them the
    /// audit trail flagged).
    pub fn complete_run(&mut self, coins: i64, item: bool, exploit: i64, flagged: i64) {
        let item = u32::from(item);
        self.holdings.coins += coins + exploit;
        self.holdings.items += item;
        self.holdings.progress += 1;
        self.legit.coins += coins;
        self.legit.items += item;
        self.legit.progress += 1;
        self.exploit_coins += exploit;
        self.flagged_unclawed += flagged;
        self.flagged_total += flagged;
    }

    /// Migrates the save to the new schema.
    pub fn migrate(&mut self, corrupt: bool) {
        if self.schema == 0 {
            self.schema = 1;
            self.items_at_migration = self.holdings.items;
            self.corrupted |= corrupt;
            self.touched = true;
        }
    }

    /// Migrates the save back to the old schema; `lossy` plants the bug of dropping the items
    /// earned since the migration.
    pub fn revert_migration(&mut self, lossy: bool) {
        if self.schema == 1 {
            self.schema = 0;
            if lossy {
                self.holdings.items = self.items_at_migration.min(self.holdings.items);
            }
        }
    }

    /// Removes `coins` from the save; the truth ledger counts them against the exploit coins first.
    fn remove(&mut self, coins: i64) {
        self.holdings.coins -= coins;
        self.exploit_coins -= coins.min(self.exploit_coins);
    }

    fn restore_snapshot(&mut self) {
        self.holdings = self.snapshot;
        self.exploit_coins = 0;
        self.flagged_unclawed = 0;
        self.corrupted = false;
        self.restored = Some((Restore::Snapshot, self.legit));
    }

    /// Restores the save with `strategy` as part of rollback number `rollback` (from 1). A save
    /// already restored by this rollback is left alone, which is what makes a retried pass after a
    /// half-applied attempt safe. `double_clawback` plants the bug of a claw-back that does not
    /// know what it already did: it processes the save again and claws back every flagged coin.
    pub fn restore(&mut self, strategy: Restore, rollback: u8, double_clawback: bool) {
        let again = self.restored_in == rollback;
        if again && !(double_clawback && strategy == Restore::Clawback) {
            return;
        }
        self.restored_in = rollback;
        match strategy {
            Restore::Snapshot => self.restore_snapshot(),
            Restore::Clawback if self.corrupted => self.restore_snapshot(),
            Restore::Clawback => {
                let amount =
                    if double_clawback { self.flagged_total } else { self.flagged_unclawed };
                self.remove(amount);
                self.flagged_unclawed = 0;
                if !again {
                    self.restored = Some((Restore::Clawback, self.legit));
                }
            }
            Restore::Replay => {
                self.holdings = self.legit;
                self.exploit_coins = 0;
                self.flagged_unclawed = 0;
                self.corrupted = false;
                self.restored = Some((Restore::Replay, self.legit));
            }
        }
    }

    /// What the save should hold now, given how it was last restored: exactly the legitimate
    /// holdings after a replay; the snapshot plus what was earned since after a snapshot restore;
    /// the legitimate holdings plus the exploit coins the audit trail missed after a claw-back.
    /// `None` if it was never restored.
    pub fn promised(&self) -> Option<Holdings> {
        let (strategy, at) = self.restored?;
        let since = Holdings {
            coins: self.legit.coins - at.coins,
            items: self.legit.items - at.items,
            progress: self.legit.progress - at.progress,
        };
        Some(match strategy {
            Restore::Replay => self.legit,
            Restore::Snapshot => Holdings {
                coins: self.snapshot.coins + since.coins,
                items: self.snapshot.items + since.items,
                progress: self.snapshot.progress + since.progress,
            },
            Restore::Clawback => {
                Holdings { coins: self.legit.coins + self.exploit_coins, ..self.legit }
            }
        })
    }

    /// Legitimate coins the save no longer holds.
    pub fn coins_lost(&self) -> i64 {
        (self.legit.coins - (self.holdings.coins - self.exploit_coins)).max(0)
    }

    pub fn items_lost(&self) -> u32 {
        self.legit.items.saturating_sub(self.holdings.items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn played() -> Save {
        let mut s = Save::new(Holdings { coins: 1_000, items: 5, progress: 40 }, 0);
        s.migrate(false);
        s.complete_run(100, true, 0, 0);
        s.complete_run(120, false, 500, 400);
        s
    }

    #[test]
    fn the_ledger_separates_legitimate_and_exploit_coins() {
        let s = played();
        assert_eq!(s.holdings, Holdings { coins: 1_720, items: 6, progress: 42 });
        assert_eq!(s.legit, Holdings { coins: 1_220, items: 6, progress: 42 });
        assert_eq!((s.exploit_coins, s.flagged_unclawed), (500, 400));
    }

    #[test]
    fn replay_is_exact_and_idempotent() {
        let mut s = played();
        s.restore(Restore::Replay, 1, false);
        s.restore(Restore::Replay, 1, false);
        assert_eq!(s.holdings, s.legit);
        assert_eq!(s.promised(), Some(s.holdings));
        assert_eq!((s.coins_lost(), s.exploit_coins), (0, 0));
    }

    #[test]
    fn snapshot_loses_legitimate_progress_since_the_rollout() {
        let mut s = played();
        s.restore(Restore::Snapshot, 1, false);
        s.complete_run(50, false, 0, 0);
        // A retried pass of the same rollback leaves the save alone: no progress lost twice.
        s.restore(Restore::Snapshot, 1, false);
        assert_eq!(s.holdings, Holdings { coins: 1_050, items: 5, progress: 41 });
        assert_eq!(s.promised(), Some(s.holdings));
        assert_eq!(s.coins_lost(), 220);
        assert_eq!(s.items_lost(), 1);
    }

    #[test]
    fn clawback_leaves_what_the_audit_missed_and_is_idempotent() {
        let mut s = played();
        s.restore(Restore::Clawback, 1, false);
        s.restore(Restore::Clawback, 1, false);
        assert_eq!(s.holdings.coins, 1_320, "100 unflagged exploit coins remain");
        assert_eq!(s.exploit_coins, 100);
        assert_eq!(s.promised(), Some(s.holdings));
        assert_eq!(s.coins_lost(), 0);
    }

    /// The planted bug: claw-back run twice removes the flagged coins twice, and the promise
    /// computed from the ledger no longer matches the save.
    #[test]
    fn a_double_clawback_breaks_the_promise() {
        let mut s = played();
        s.restore(Restore::Clawback, 1, true);
        s.restore(Restore::Clawback, 1, true);
        assert_eq!(s.holdings.coins, 920);
        assert_ne!(s.promised(), Some(s.holdings));
        assert_eq!(s.coins_lost(), 300);
    }

    #[test]
    fn a_lossy_down_migration_drops_items_earned_since_migration() {
        let mut s = played();
        let mut lossy = s;
        s.revert_migration(false);
        lossy.revert_migration(true);
        assert_eq!((s.schema, s.holdings.items), (0, 6));
        assert_eq!((lossy.schema, lossy.holdings.items), (0, 5));
        assert_eq!(lossy.items_lost(), 1);
    }
}
