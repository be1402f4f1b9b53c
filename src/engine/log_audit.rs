//! The log audits itself. A transparency log is only worth what its operator cannot
//! quietly change, and the database is what an operator (or whoever holds it) can change:
//! so the platform keeps the newest checkpoint it signed outside the database, next to its
//! key, and holds the database against it and against itself.
//!
//! - At start: the entries and the tree have the same size, the newest leaf is the hash
//!   of the newest entry's bytes, and the tree still has the root of the newest checkpoint
//!   signed (the log cannot have lost or changed what was signed).
//! - Before every signature: the new checkpoint extends the newest signed one, or nothing
//!   is signed.
//! - All the time: every entry's bytes are hashed again, page by page, against its stored
//!   leaf; the root of those hashes is held against the stored tree and against the
//!   newest checkpoint signed.
//!
//! On any disagreement the log halts: the store takes no more writes (`503 log_halted`),
//! the server's log says why, `/healthz` says so, and a red alert is kept for the
//! supervisors (outside the log, which can no longer be trusted). Restoring the database
//! from a backup that agrees with the signed checkpoint is the operator's way back
//! (docs/operations.md, "The log halted").

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Platform, Result};
use crate::domain::merkle::{self, Hash, NodeId, RootBuilder};
use crate::domain::risk::{Finding, RuleInfo, Severity};

/// The file, in the platform key's directory, that keeps the newest checkpoint signed.
pub const SIGNED_RECORD: &str = "signed-checkpoint.json";

/// Entries hashed again per read of the continuous audit.
const AUDIT_PAGE: i64 = 1000;
/// The pause between two pages: the audit reads at most 20,000 entries a second.
const AUDIT_PAUSE: Duration = Duration::from_millis(50);

const LOG_HALTED: RuleInfo = RuleInfo {
    id: "log_halted",
    name: "交易日志与平台已签名的检查点不一致, 平台已停止写入",
    severity: Severity::Red,
    basis: "电子招标投标办法 第三十六条 (数据不可篡改); RFC 9162 §2.1.4 (一致性)",
};

/// The newest checkpoint signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Signed {
    size: u64,
    root: Hash,
}

/// [`Signed`] as kept in [`SIGNED_RECORD`]: `{"size": N, "root": "<hex>"}`.
#[derive(Serialize, Deserialize)]
struct Kept {
    size: u64,
    root: String,
}

impl Kept {
    fn signed(&self) -> Option<Signed> {
        let root = hex::decode(&self.root).ok()?.try_into().ok()?;
        Some(Signed {
            size: self.size,
            root,
        })
    }
}

/// Where the newest signed checkpoint is kept, and what it is.
#[derive(Default)]
pub struct SignedRecord {
    path: std::sync::OnceLock<PathBuf>,
    newest: std::sync::Mutex<Option<Signed>>,
}

impl SignedRecord {
    /// Keeps the record in `dir` (the platform key's directory), reading what an earlier
    /// run kept there. An unreadable record stops the server: it is what guards the log.
    pub fn keep_in(&self, dir: &Path) -> std::io::Result<()> {
        let path = dir.join(SIGNED_RECORD);
        let invalid = |why: String| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: {why}", path.display()),
            )
        };
        let newest = match std::fs::read(&path) {
            Ok(bytes) => Some(
                serde_json::from_slice::<Kept>(&bytes)
                    .map_err(|e| invalid(e.to_string()))?
                    .signed()
                    .ok_or_else(|| invalid("the root is not 32 bytes of hex".into()))?,
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        *self.lock() = newest;
        let _ = self.path.set(path);
        Ok(())
    }

    /// Forgets the newest checkpoint signed, in memory (the file stays): what a dishonest
    /// server does, signing whatever its database says. The tests that check outsiders
    /// catch such a server (the witness, a region's mirror) play one with it.
    pub fn forget(&self) {
        *self.lock() = None;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Signed>> {
        self.newest
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn newest(&self) -> Option<Signed> {
        *self.lock()
    }

    /// Keeps `signed` as the newest, if it is newer, in memory and in the file (written
    /// whole: a new file renamed over the old).
    fn record(&self, signed: Signed) {
        let mut newest = self.lock();
        if newest.is_some_and(|n| n.size >= signed.size) {
            return;
        }
        *newest = Some(signed);
        if let Some(path) = self.path.get() {
            let fresh = path.with_extension("json.new");
            let kept = Kept {
                size: signed.size,
                root: hex::encode(signed.root),
            };
            let written = serde_json::to_vec(&kept)
                .map_err(std::io::Error::other)
                .and_then(|bytes| std::fs::write(&fresh, bytes))
                .and_then(|()| std::fs::rename(&fresh, path));
            if let Err(e) = written {
                tracing::error!(error = %e, path = %path.display(), "the newest signed checkpoint could not be kept");
            }
        }
    }
}

impl Platform {
    /// Halts the log for `why`: no more writes, the reason in the server's log and on
    /// `/healthz`, a red alert for the supervisors.
    pub async fn halt_log(&self, why: &str) {
        if self.store.gate().closed().is_some() {
            return;
        }
        self.store.gate().close(why);
        tracing::error!(reason = %why, "the log disagrees with itself or with a checkpoint this platform signed: it takes no more entries until an operator restores it");
        let finding = Finding {
            rule: LOG_HALTED,
            subjects: vec![why.to_owned()],
            summary: format!("交易日志已停止写入: {why}"),
            evidence: serde_json::json!({ "reason": why }),
        };
        let regions = match self.supervised_regions().await {
            Ok(regions) => regions,
            Err(e) => {
                tracing::error!(error = %e, "the supervisors of the halted log could not be found");
                Vec::new()
            }
        };
        for region in regions {
            let (alert, _) = super::risk::alert_of(&finding, "log", &region, self.clock.now());
            if let Err(e) = self.store.raise_alert_outside_log(alert).await {
                tracing::error!(error = %e, "the alert of the halted log could not be kept");
            }
        }
    }

    /// Why the log is halted, if it is.
    pub fn log_halted(&self) -> Option<String> {
        self.store.gate().closed()
    }

    /// The checks at start (see the module). Halts the log on a disagreement; fails only
    /// when the store cannot be read.
    pub async fn audit_log_at_start(&self) -> Result<()> {
        if let Some(why) = self.start_disagreement().await? {
            self.halt_log(&why).await;
        }
        Ok(())
    }

    async fn start_disagreement(&self) -> Result<Option<String>> {
        let entries = self.store.log_size().await?;
        let leaves = self.store.tree_size().await?;
        if entries != leaves {
            return Ok(Some(format!(
                "the log has {entries} entries but its Merkle tree {leaves} leaves"
            )));
        }
        if entries > 0 {
            let newest = i64::try_from(entries).unwrap_or(i64::MAX);
            let entry = self.store.events_after(newest - 1, 1).await?;
            let stored = self.store.log_nodes(&[leaf(entries - 1)]).await?;
            let matches = entry.first().is_some_and(|e| {
                e.seq == newest
                    && stored.get(&leaf(entries - 1)) == Some(&merkle::leaf_hash(&e.entry))
            });
            if !matches {
                return Ok(Some(format!(
                    "entry {newest} is not the leaf its tree holds for it"
                )));
            }
        }
        self.contradicts_signed(entries).await
    }

    /// Whether the log of `size` entries contradicts the newest checkpoint signed: shorter
    /// than it, or with another root at its size.
    async fn contradicts_signed(&self, size: u64) -> Result<Option<String>> {
        let Some(signed) = self.checkpoints.signed.newest() else {
            return Ok(None);
        };
        if size < signed.size {
            return Ok(Some(format!(
                "the log has {size} entries, fewer than the {} of a checkpoint this platform signed",
                signed.size
            )));
        }
        if self.root_at(signed.size).await? != signed.root {
            return Ok(Some(format!(
                "the log's first {} entries no longer have the root of the checkpoint this platform signed of them",
                signed.size
            )));
        }
        Ok(None)
    }

    /// Before a checkpoint of `size` entries with `root` is signed: refuses, and halts
    /// the log, if it would contradict the newest signed; keeps it as the newest after.
    pub(crate) async fn may_sign(&self, size: u64, root: Hash) -> Result<()> {
        // A halted log is not vouched for at all, whatever its tree says.
        if let Some(why) = self.log_halted() {
            return Err(crate::store::StoreError::Halted(why).into());
        }
        if let Some(why) = self.contradicts_signed(size).await? {
            self.halt_log(&why).await;
            return Err(crate::store::StoreError::Halted(why).into());
        }
        self.checkpoints.signed.record(Signed { size, root });
        Ok(())
    }

    /// Hashes every entry again, against its leaf, its tree and the newest checkpoint
    /// signed, every `every` after the last pass ends, for as long as the platform lives.
    pub fn start_log_audit(self: &Arc<Self>, every: Duration) {
        let platform = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let Some(p) = platform.upgrade() else {
                    break;
                };
                if p.log_halted().is_some() {
                    break;
                }
                match p.audit_pass().await {
                    Ok(None) => {}
                    Ok(Some(why)) => {
                        p.halt_log(&why).await;
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "the log's audit could not read the log; it tries again");
                    }
                }
                drop(p);
                tokio::time::sleep(every).await;
            }
        });
    }

    /// One pass over the log as it is at its start: `Some(why)` on a disagreement.
    pub async fn audit_pass(&self) -> Result<Option<String>> {
        let size = self.store.log_size().await?;
        let signed = self.checkpoints.signed.newest();
        let mut builder = RootBuilder::default();
        let mut signed_root = None;
        let mut links = crate::domain::event::TradeLinks::default();
        let mut after = 0i64;
        while builder.size() < size {
            let page = self.store.events_after(after, AUDIT_PAGE).await?;
            if page.is_empty() {
                return Ok(Some(format!("entry {} is missing", after + 1)));
            }
            let ids: Vec<NodeId> = page
                .iter()
                .map(|e| leaf(u64::try_from(e.seq - 1).unwrap_or(0)))
                .collect();
            let stored = self.store.log_nodes(&ids).await?;
            for (e, id) in page.iter().zip(&ids) {
                if e.seq != after + 1 {
                    return Ok(Some(format!("entry {} is missing", after + 1)));
                }
                let hash = merkle::leaf_hash(&e.entry);
                if stored.get(id) != Some(&hash) {
                    return Ok(Some(format!(
                        "entry {} is not the leaf its tree holds for it: its bytes were changed",
                        e.seq
                    )));
                }
                // The trade an entry is filed under is the one its bytes name, and the
                // trade's entries link without skipping one.
                let named = crate::domain::event::trade_link(&e.entry).map(|(t, _)| t);
                if named != e.trade_id {
                    return Ok(Some(format!(
                        "entry {} names trade {} in its bytes but the database files it under {}",
                        e.seq,
                        named.as_deref().unwrap_or("none"),
                        e.trade_id.as_deref().unwrap_or("none")
                    )));
                }
                if let Err(why) = links.follow(e.seq, &e.entry, true) {
                    return Ok(Some(why));
                }
                after = e.seq;
                if builder.size() < size {
                    builder.push(hash);
                }
                if signed.is_some_and(|s| s.size == builder.size()) {
                    signed_root = Some(builder.root());
                }
            }
            tokio::time::sleep(AUDIT_PAUSE).await;
        }
        if builder.size() > 0 && self.root_at(size).await? != builder.root() {
            return Ok(Some(format!(
                "the stored tree's root of the first {size} entries is not the root of their bytes"
            )));
        }
        if let (Some(signed), Some(root)) = (signed, signed_root) {
            if root != signed.root {
                return Ok(Some(format!(
                    "the bytes of the first {} entries no longer have the root this platform signed",
                    signed.size
                )));
            }
        }
        Ok(None)
    }
}

fn leaf(index: u64) -> NodeId {
    NodeId { level: 0, index }
}
