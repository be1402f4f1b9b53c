//! The public projection of the event log.

use serde::Serialize;

use super::{EngineError, Platform, Result};

/// One log entry as the public sees it: the entry itself (public by construction) and its
/// exact bytes' SHA-256.
#[derive(Debug, Clone, Serialize)]
pub struct PublicEvent {
    pub seq: i64,
    pub entry: serde_json::Value,
    pub entry_sha256: String,
}

impl Platform {
    /// Entries after `after`, in sequence order, at most `limit` (1..=1000).
    pub async fn events_after(&self, after: i64, limit: i64) -> Result<Vec<PublicEvent>> {
        if after < 0 {
            return Err(EngineError::invalid(
                "invalid_query",
                "after must be zero or positive",
            ));
        }
        if !(1..=1000).contains(&limit) {
            return Err(EngineError::invalid(
                "invalid_limit",
                "limit must be 1 to 1000",
            ));
        }
        let events = self.store.events_after(after, limit).await?;
        Ok(events
            .into_iter()
            .map(|e| PublicEvent {
                seq: e.seq,
                entry_sha256: crate::crypto::digest::sha256_hex(&e.entry),
                entry: serde_json::from_slice(&e.entry).unwrap_or(serde_json::Value::Null),
            })
            .collect())
    }
}
