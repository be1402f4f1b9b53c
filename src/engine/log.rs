//! The transparency log's proofs: inclusion of an entry in a tree size, consistency of an
//! earlier tree size with a later one, and the raw entries, all from the stored Merkle
//! nodes (`domain::merkle`). Leaf `i` is the entry with sequence number `i + 1`.

use base64::Engine as _;
use serde::Serialize;

use super::{EngineError, Platform, Result};
use crate::crypto::receipt::LogInclusion;
use crate::domain::merkle::{self, Hash, NodeId};
use crate::store::StoreError;

/// Most entries one request returns.
pub const MAX_ENTRIES: u64 = 1000;

/// An inclusion proof (RFC 9162 §2.1.3) of leaf `index` in the tree of `size` leaves.
#[derive(Debug, Clone, Serialize)]
pub struct InclusionProof {
    pub index: u64,
    pub size: u64,
    /// Hex SHA-256(0x00 ‖ entry).
    pub leaf_hash: String,
    /// Hex root of the tree of `size` leaves.
    pub root: String,
    /// Hex node hashes, leaf to root.
    pub proof: Vec<String>,
}

/// A consistency proof (RFC 9162 §2.1.4) between tree sizes `first` and `second`.
#[derive(Debug, Clone, Serialize)]
pub struct ConsistencyProof {
    pub first: u64,
    pub second: u64,
    pub first_root: String,
    pub second_root: String,
    pub proof: Vec<String>,
}

/// One raw entry: the exact bytes hashed as leaf `index`.
#[derive(Debug, Clone, Serialize)]
pub struct RawEntry {
    pub index: u64,
    /// Standard base64 of the entry bytes.
    pub entry: String,
}

fn range_error(message: impl Into<String>) -> EngineError {
    EngineError::invalid("invalid_log_range", message)
}

fn missing() -> EngineError {
    EngineError::Store(StoreError::Other(
        "the log's Merkle tree is missing a node".into(),
    ))
}

/// A signed checkpoint and the tree it commits to.
#[derive(Debug, Clone)]
struct Signed {
    size: u64,
    note: String,
}

/// The newest signed checkpoint. `GET /log/checkpoint` always signs the log as it is;
/// receipts reuse the newest checkpoint when it already covers their entry, so a batch of
/// receipts committed together shares one signature.
#[derive(Default)]
pub struct Checkpoints {
    latest: tokio::sync::Mutex<Option<Signed>>,
    /// The newest signed tree's size and root, for proofs at that size.
    root: std::sync::RwLock<Option<(u64, Hash)>>,
    /// The largest log size seen: the log only grows, so a size up to this one exists.
    known_size: std::sync::atomic::AtomicU64,
    /// The tree's upper levels (complete subtrees never change).
    upper: super::upper_nodes::UpperNodes,
    /// The other nodes, read from the store, merged across concurrent proofs.
    reads: super::node_reads::NodeReads,
    /// The newest checkpoint signed, kept outside the database (`log_audit`).
    pub signed: super::SignedRecord,
}

/// Nodes per read while warming the kept upper levels.
const WARM_PAGE: i64 = 10_000;

impl Checkpoints {
    fn root_of(&self, size: u64) -> Option<Hash> {
        self.root
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .filter(|(s, _)| *s == size)
            .map(|(_, root)| root)
    }
}

impl Platform {
    /// A checkpoint of the log as it is now, signed by the platform key (C2SP signed note;
    /// docs/transparency-log.md).
    pub async fn checkpoint(&self) -> Result<String> {
        let mut latest = self.checkpoints.latest.lock().await;
        let signed = self.sign_checkpoint().await?;
        *latest = Some(signed.clone());
        Ok(signed.note)
    }

    /// The newest checkpoint if it covers `size` entries, else a new one of the log now.
    async fn checkpoint_covering(&self, size: u64) -> Result<Signed> {
        let mut latest = self.checkpoints.latest.lock().await;
        if let Some(signed) = latest.as_ref().filter(|s| s.size >= size) {
            return Ok(signed.clone());
        }
        let signed = self.sign_checkpoint().await?;
        *latest = Some(signed.clone());
        Ok(signed)
    }

    /// The root hash of the log's first `size` entries.
    pub(crate) async fn root_at(&self, size: u64) -> Result<merkle::Hash> {
        self.check_size(size).await?;
        let node = self.nodes(merkle::range_nodes(0, size)).await?;
        merkle::root(size, &node).ok_or_else(missing)
    }

    /// Signs a checkpoint of the log as it is now.
    async fn sign_checkpoint(&self) -> Result<Signed> {
        let size = self.store.log_size().await?;
        let node = self.nodes(merkle::range_nodes(0, size)).await?;
        let root = merkle::root(size, &node).ok_or_else(missing)?;
        // Never a signature that contradicts one given before.
        self.may_sign(size, root).await?;
        let checkpoint = crate::crypto::checkpoint::Checkpoint {
            origin: self.settings.log_origin.clone(),
            size,
            root,
            time: crate::domain::clock::rfc3339(self.clock.now()),
        };
        *self
            .checkpoints
            .root
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((size, root));
        self.checkpoints
            .known_size
            .fetch_max(size, std::sync::atomic::Ordering::Relaxed);
        Ok(Signed {
            size,
            note: checkpoint.sign(&self.platform_key),
        })
    }

    /// The inclusion of entry `seq` (whose bytes are `entry`) in a signed checkpoint, for
    /// a receipt.
    pub(crate) async fn receipt_inclusion(&self, seq: i64, entry: &[u8]) -> Result<LogInclusion> {
        let index = u64::try_from(seq - 1).map_err(|_| range_error("log index below 1"))?;
        let signed = self.checkpoint_covering(index + 1).await?;
        let node = self
            .nodes(merkle::inclusion_nodes(index, signed.size))
            .await?;
        let proof = merkle::inclusion_proof(index, signed.size, &node).ok_or_else(missing)?;
        Ok(LogInclusion {
            entry: base64::engine::general_purpose::STANDARD.encode(entry),
            checkpoint: signed.note,
            proof: proof.iter().map(hex::encode).collect(),
        })
    }

    /// The stored nodes among `ids`. The tree's upper levels are shared by most proofs
    /// and never change once written, so they are kept in memory after the first read
    /// (`UpperNodes`); the rest is read from the store.
    async fn nodes(&self, ids: Vec<NodeId>) -> Result<impl Fn(NodeId) -> Option<Hash>> {
        let upper = &self.checkpoints.upper;
        let mut found = std::collections::HashMap::with_capacity(ids.len());
        let missing: Vec<NodeId> = ids
            .into_iter()
            .filter(|id| match upper.get(*id) {
                Some(hash) => {
                    found.insert(*id, hash);
                    false
                }
                None => true,
            })
            .collect();
        let mut read = None;
        if !missing.is_empty() {
            let size = self
                .checkpoints
                .known_size
                .load(std::sync::atomic::Ordering::Relaxed);
            let keep: Vec<NodeId> = missing
                .iter()
                .copied()
                .filter(|id| super::upper_nodes::UpperNodes::keeps(*id, size))
                .collect();
            let nodes = self
                .checkpoints
                .reads
                .read(self.store.as_ref(), missing)
                .await?;
            if !keep.is_empty() {
                upper.insert(
                    size,
                    keep.into_iter()
                        .filter_map(|id| nodes.get(&id).map(|hash| (id, *hash))),
                );
            }
            read = Some(nodes);
        }
        Ok(move |id: NodeId| found.get(&id).or_else(|| read.as_ref()?.get(&id)).copied())
    }

    /// Reads the tree's kept upper levels (`UpperNodes`) from the store in order, a page
    /// at a time: what the first proofs after a start would otherwise read node by node.
    /// Returns how many nodes it read.
    pub async fn warm_log_tree(&self) -> Result<usize> {
        let size = self.store.log_size().await?;
        self.checkpoints
            .known_size
            .fetch_max(size, std::sync::atomic::Ordering::Relaxed);
        let mut from = NodeId {
            level: super::upper_nodes::UpperNodes::lowest(size),
            index: 0,
        };
        let mut read = 0;
        loop {
            let page = self.store.log_nodes_from(from, WARM_PAGE).await?;
            let Some(last) = page.last().map(|(id, _)| *id) else {
                return Ok(read);
            };
            read += page.len();
            self.checkpoints.upper.insert(size, page);
            from = NodeId {
                level: last.level,
                index: last.index + 1,
            };
        }
    }

    /// Checks that a tree of `size` leaves exists now. The log only grows, so a size up
    /// to the largest seen needs no query.
    async fn check_size(&self, size: u64) -> Result<()> {
        use std::sync::atomic::Ordering;
        if size > 0 && size <= self.checkpoints.known_size.load(Ordering::Relaxed) {
            return Ok(());
        }
        let current = self.store.log_size().await?;
        self.checkpoints
            .known_size
            .fetch_max(current, Ordering::Relaxed);
        if size == 0 || size > current {
            return Err(range_error(format!(
                "tree size must be 1 to {current}, the current size"
            )));
        }
        Ok(())
    }

    /// Inclusion proof of leaf `index` (entry `index + 1`) in the tree of `size` leaves.
    pub async fn inclusion_proof(&self, index: u64, size: u64) -> Result<InclusionProof> {
        self.check_size(size).await?;
        if index >= size {
            return Err(range_error("index must be below size"));
        }
        let cached = self.checkpoints.root_of(size);
        let mut ids = merkle::inclusion_nodes(index, size);
        if cached.is_none() {
            ids.extend(merkle::range_nodes(0, size));
        }
        let node = self.nodes(ids).await?;
        let proof = merkle::inclusion_proof(index, size, &node).ok_or_else(missing)?;
        let root = match cached {
            Some(root) => root,
            None => merkle::root(size, &node).ok_or_else(missing)?,
        };
        // The leaf is the hash of the entry as it is served, not the stored node: a proof
        // for bytes that were changed does not verify.
        let seq = i64::try_from(index + 1).map_err(|_| range_error("index is too large"))?;
        let entry = self
            .store
            .events_after(seq - 1, 1)
            .await?
            .into_iter()
            .find(|e| e.seq == seq)
            .ok_or_else(missing)?;
        let leaf = merkle::leaf_hash(&entry.entry);
        Ok(InclusionProof {
            index,
            size,
            leaf_hash: hex::encode(leaf),
            root: hex::encode(root),
            proof: proof.iter().map(hex::encode).collect(),
        })
    }

    /// Consistency proof between the trees of `first` and `second` leaves.
    pub async fn consistency_proof(&self, first: u64, second: u64) -> Result<ConsistencyProof> {
        self.check_size(second).await?;
        if first == 0 || first > second {
            return Err(range_error("first must be 1 to second"));
        }
        let cached = self.checkpoints.root_of(second);
        let mut ids = merkle::consistency_nodes(first, second);
        ids.extend(merkle::range_nodes(0, first));
        if cached.is_none() {
            ids.extend(merkle::range_nodes(0, second));
        }
        let node = self.nodes(ids).await?;
        let proof = merkle::consistency_proof(first, second, &node).ok_or_else(missing)?;
        let second_root = match cached {
            Some(root) => root,
            None => merkle::root(second, &node).ok_or_else(missing)?,
        };
        Ok(ConsistencyProof {
            first,
            second,
            first_root: hex::encode(merkle::root(first, &node).ok_or_else(missing)?),
            second_root: hex::encode(second_root),
            proof: proof.iter().map(hex::encode).collect(),
        })
    }

    /// The raw entries of leaves `start..end` (at most [`MAX_ENTRIES`]).
    pub async fn log_entries(&self, start: u64, end: u64) -> Result<Vec<RawEntry>> {
        if end <= start || end - start > MAX_ENTRIES {
            return Err(range_error(format!(
                "end must be above start, by at most {MAX_ENTRIES}"
            )));
        }
        // docs/api.md: a range outside the current log is refused, not cut short.
        self.check_size(end).await?;
        let after = i64::try_from(start).map_err(|_| range_error("start is too large"))?;
        let limit = i64::try_from(end - start).unwrap_or(1);
        let events = self.store.events_after(after, limit).await?;
        Ok(events
            .into_iter()
            .map(|e| RawEntry {
                index: u64::try_from(e.seq - 1).unwrap_or(0),
                entry: base64::engine::general_purpose::STANDARD.encode(&e.entry),
            })
            .collect())
    }
}
