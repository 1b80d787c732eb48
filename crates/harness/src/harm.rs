//! The truth about where the release's harm acts: the segment cells each fault acts in. A run's
//! outcome (when every harm was stopped) is judged with it; the policy never sees it.

use rollcage_sim::{Breakdown, Fault, WorldConfig};

/// The segment cells a fault acts in: the one its segment pins when the segment pins the
/// breakdown's dimension, otherwise every cell.
pub(crate) fn acting_cells(world: &WorldConfig, fault: &Fault) -> Vec<usize> {
    let pinned = match world.breakdown {
        Breakdown::Platform => fault.segment.platform.map(usize::from),
        Breakdown::Region => fault.segment.region.map(usize::from),
        Breakdown::None => None,
    };
    match pinned {
        Some(cell) => vec![cell],
        None => (0..world.cell_names().len()).collect(),
    }
}
