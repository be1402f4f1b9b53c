//! The upper levels of the Merkle tree, kept in memory for proofs.
//!
//! A stored node covers a complete subtree, so it never changes once written. The nodes of
//! level `L` and up number about `2 n / 2^L` for a log of `n` entries, and every proof
//! needs one or two of them per level. Keeping them saves most of a proof's reads from
//! the store. The lowest kept level rises as the log grows so that at most [`BUDGET`]
//! nodes (32 bytes each: 64 MiB, with an eighth more reserved for growth) are ever kept:
//! memory stays flat while the log grows, and the levels given up are the ones that save
//! the least.

use std::sync::RwLock;

use crate::domain::merkle::{Hash, NodeId};

/// The lowest level ever kept: a node of level 4 covers 16 entries.
const LOWEST: u32 = 4;
/// The most nodes kept, all levels together.
const BUDGET: u64 = 1 << 21;
/// Marks a node not read yet (no SHA-256 output is all zeros in practice).
const UNKNOWN: Hash = [0; 32];

#[derive(Default)]
pub struct UpperNodes {
    kept: RwLock<Kept>,
}

#[derive(Default)]
struct Kept {
    /// The lowest level kept; 0 until the first insert.
    from: u32,
    /// `levels[k][i]`: node `i` of level `from + k`, or [`UNKNOWN`].
    levels: Vec<Vec<Hash>>,
}

impl UpperNodes {
    /// The kept node `id`, if it has been read before.
    pub fn get(&self, id: NodeId) -> Option<Hash> {
        let kept = self
            .kept
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let level = id.level.checked_sub(kept.from)?;
        let index = usize::try_from(id.index).ok()?;
        let hash = kept.levels.get(level as usize)?.get(index)?;
        (*hash != UNKNOWN).then_some(*hash)
    }

    /// The lowest level kept for a log of `size` entries.
    pub fn lowest(size: u64) -> u32 {
        let mut level = LOWEST;
        while level < 63 && size >> (level - 1) > BUDGET {
            level += 1;
        }
        level
    }

    /// Whether node `id` is of a level kept for a log of `size` entries.
    pub fn keeps(id: NodeId, size: u64) -> bool {
        id.level >= Self::lowest(size)
    }

    /// Keeps the `nodes` of kept levels, read from a log of at least `size` entries. As
    /// the log grows past a budget step, the lowest level kept is dropped.
    pub fn insert(&self, size: u64, nodes: impl IntoIterator<Item = (NodeId, Hash)>) {
        let from = Self::lowest(size);
        let mut kept = self
            .kept
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if kept.levels.is_empty() {
            kept.from = from;
        } else if from > kept.from {
            let drop = ((from - kept.from) as usize).min(kept.levels.len());
            kept.levels.drain(..drop);
            kept.from = from;
        }
        let from = kept.from;
        for (id, hash) in nodes {
            let (Some(level), Ok(index)) = (id.level.checked_sub(from), usize::try_from(id.index))
            else {
                continue;
            };
            let level = level as usize;
            if kept.levels.len() <= level {
                kept.levels.resize_with(level + 1, Vec::new);
            }
            let nodes = &mut kept.levels[level];
            if nodes.len() <= index {
                // Room for the whole level at this size and an eighth more for growth,
                // reserved exactly: a doubling would break the budget.
                let whole = usize::try_from(size >> id.level)
                    .unwrap_or(0)
                    .max(index + 1);
                nodes.reserve_exact(whole + whole / 8 - nodes.len());
                nodes.resize(index + 1, UNKNOWN);
            }
            nodes[index] = hash;
        }
    }

    /// How many nodes the kept levels have room for (for tests).
    #[cfg(test)]
    fn room(&self) -> usize {
        let kept = self
            .kept
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        kept.levels.iter().map(Vec::capacity).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(level: u32, index: u64) -> NodeId {
        NodeId { level, index }
    }

    #[test]
    fn kept_nodes_come_back_and_others_do_not() {
        let upper = UpperNodes::default();
        let size = 1 << 20;
        upper.insert(size, [(node(6, 3), [7; 32]), (node(12, 0), [9; 32])]);
        assert_eq!(upper.get(node(6, 3)), Some([7; 32]));
        assert_eq!(upper.get(node(12, 0)), Some([9; 32]));
        assert_eq!(upper.get(node(6, 2)), None, "never read");
        assert_eq!(upper.get(node(7, 1)), None, "a level with nothing read");
        upper.insert(size, [(node(3, 0), [1; 32])]);
        assert_eq!(upper.get(node(3, 0)), None, "below the lowest level");
        assert!(!UpperNodes::keeps(node(3, 0), size));
        assert!(UpperNodes::keeps(node(4, 0), size));
    }

    #[test]
    fn the_lowest_level_rises_with_the_log_and_memory_stays_within_the_budget() {
        let upper = UpperNodes::default();
        // 10 million entries: level 4 and up fit the budget.
        let size = 10_000_000_u64;
        assert_eq!(UpperNodes::lowest(size), 4);
        let all = (4..24).flat_map(|level| {
            (0..size >> level).map(move |index| (node(level, index), [level as u8 + 1; 32]))
        });
        upper.insert(size, all);
        assert!(upper.room() as u64 <= BUDGET + BUDGET / 8);
        assert_eq!(upper.get(node(4, 624_999)), Some([5; 32]));
        // Grown past the budget: level 4 is dropped, the rest stays.
        let grown = 20_000_000_u64;
        assert_eq!(UpperNodes::lowest(grown), 5);
        upper.insert(grown, [(node(4, 0), [1; 32])]);
        assert_eq!(upper.get(node(4, 624_999)), None);
        assert_eq!(upper.get(node(5, 312_499)), Some([6; 32]));
        assert!(upper.room() as u64 <= BUDGET + BUDGET / 8);
        // A log of any size keeps at most the budget.
        for size in [1_u64, 1 << 25, 1 << 40, u64::MAX / 4] {
            let from = UpperNodes::lowest(size);
            let room: u64 = (from..64).map(|level| size >> level).sum();
            assert!(
                room <= BUDGET,
                "size {size}: {room} nodes from level {from}"
            );
        }
    }
}
