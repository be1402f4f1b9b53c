//! Change notices (变更公告) and who downloaded which document version.
//!
//! A notice adds or replaces documents of a published trade in one write transaction
//! with its log entries: the new bytes, the notice and its documents, the trade's
//! current document list, and the bid deadline if the notice moved it. A replaced
//! version stays downloadable (`document` finds it through `changed_documents`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::Result;
use crate::domain::event::NewEvent;
use crate::domain::trade::ChangeNotice;

/// A document version a bidder downloaded, and when it first did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    pub sha256: String,
    pub first_at: DateTime<Utc>,
}

#[async_trait]
pub trait NoticeStore: Send + Sync {
    /// Issues `notice` on `trade_id` with the bytes of its documents (by SHA-256).
    /// `notice.number` must be the next one: `Conflict("notice_number")` otherwise (two
    /// notices issued at once); `Conflict("trade_not_published")` if the trade is not
    /// published.
    async fn issue_notice(
        &self,
        trade_id: &str,
        notice: &ChangeNotice,
        contents: &[(&str, &[u8])],
        events: Vec<NewEvent>,
    ) -> Result<i64>;
    /// A trade's change notices, oldest first.
    async fn notices(&self, trade_id: &str) -> Result<Vec<ChangeNotice>>;
    /// Records a bidder's download of a document version (the first time only), with
    /// its log entry.
    async fn record_download(
        &self,
        bidder_id: &str,
        sha256: &str,
        at: DateTime<Utc>,
        event: NewEvent,
    ) -> Result<i64>;
    /// The versions of `trade_id`'s documents (current or replaced) the bidder downloaded.
    async fn downloads(&self, bidder_id: &str, trade_id: &str) -> Result<Vec<Download>>;
}

/// Implements `NoticeStore` for a store type that `impl_store!` was applied to.
macro_rules! impl_notice_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::notices::NoticeStore for $store {
            async fn issue_notice(
                &self,
                trade_id: &str,
                notice: &$crate::domain::trade::ChangeNotice,
                contents: &[(&str, &[u8])],
                events: Vec<$crate::domain::event::NewEvent>,
            ) -> $crate::store::Result<i64> {
                use $crate::store::StoreError;
                let mut tx = self.begin_write().await?;
                let status: Option<(String,)> =
                    sqlx::query_as("SELECT status FROM trades WHERE id = $1")
                        .bind(trade_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                if status.as_ref().map(|(s,)| s.as_str()) != Some("published") {
                    return Err(StoreError::Conflict("trade_not_published".into()));
                }
                let (last,): (Option<i64>,) = sqlx::query_as(
                    "SELECT MAX(number) FROM change_notices WHERE trade_id = $1",
                )
                .bind(trade_id)
                .fetch_one(&mut *tx)
                .await?;
                if last.unwrap_or(0) + 1 != notice.number {
                    return Err(StoreError::Conflict("notice_number".into()));
                }
                for (sha256, content) in contents {
                    sqlx::query("INSERT INTO documents (sha256, size, content) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO NOTHING")
                        .bind(*sha256)
                        .bind(i64::try_from(content.len()).unwrap_or(i64::MAX))
                        .bind(content.to_vec())
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query("INSERT INTO change_notices (trade_id, number, notice, issued_at, new_deadline) VALUES ($1, $2, $3, $4, $5)")
                    .bind(trade_id)
                    .bind(notice.number)
                    .bind(&notice.notice)
                    .bind(notice.issued_at.timestamp_millis())
                    .bind(notice.new_deadline.map(|t| t.timestamp_millis()))
                    .execute(&mut *tx)
                    .await?;
                for d in &notice.documents {
                    let previous: Option<(String, String)> = sqlx::query_as(
                        "SELECT sha256, media_type FROM trade_documents WHERE trade_id = $1 AND name = $2",
                    )
                    .bind(trade_id)
                    .bind(&d.name)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if previous.as_ref().map(|(sha, _)| sha) != d.previous_sha256.as_ref() {
                        // The document changed since the engine read it.
                        return Err(StoreError::Conflict("notice_number".into()));
                    }
                    sqlx::query("INSERT INTO changed_documents (trade_id, number, name, sha256, media_type, size, previous_sha256, previous_media_type) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                        .bind(trade_id)
                        .bind(notice.number)
                        .bind(&d.name)
                        .bind(&d.sha256)
                        .bind(&d.media_type)
                        .bind(d.size)
                        .bind(previous.as_ref().map(|(sha, _)| sha.clone()))
                        .bind(previous.as_ref().map(|(_, media)| media.clone()))
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("DELETE FROM trade_documents WHERE trade_id = $1 AND name = $2")
                        .bind(trade_id)
                        .bind(&d.name)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("INSERT INTO trade_documents (trade_id, name, sha256, media_type, size, added_at) VALUES ($1, $2, $3, $4, $5, $6)")
                        .bind(trade_id)
                        .bind(&d.name)
                        .bind(&d.sha256)
                        .bind(&d.media_type)
                        .bind(d.size)
                        .bind(notice.issued_at.timestamp_millis())
                        .execute(&mut *tx)
                        .await?;
                }
                if let Some(deadline) = notice.new_deadline {
                    sqlx::query("UPDATE trades SET bid_deadline = $1 WHERE id = $2")
                        .bind(deadline.timestamp_millis())
                        .bind(trade_id)
                        .execute(&mut *tx)
                        .await?;
                }
                let mut seq = 0;
                for event in &events {
                    seq = self.append_in(&mut tx, event).await?;
                }
                self.commit(tx).await?;
                Ok(seq)
            }

            async fn notices(
                &self,
                trade_id: &str,
            ) -> $crate::store::Result<Vec<$crate::domain::trade::ChangeNotice>> {
                use $crate::domain::clock::from_millis;
                use $crate::domain::trade::{ChangeNotice, ChangedDocument};
                let notices: Vec<(i64, String, i64, Option<i64>)> = sqlx::query_as(
                    "SELECT number, notice, issued_at, new_deadline FROM change_notices WHERE trade_id = $1 ORDER BY number",
                )
                .bind(trade_id)
                .fetch_all(&self.pool)
                .await?;
                if notices.is_empty() {
                    return Ok(Vec::new());
                }
                let documents: Vec<(i64, String, String, String, i64, Option<String>)> = sqlx::query_as(
                    "SELECT number, name, sha256, media_type, size, previous_sha256 FROM changed_documents WHERE trade_id = $1 ORDER BY number, name",
                )
                .bind(trade_id)
                .fetch_all(&self.pool)
                .await?;
                Ok(notices
                    .into_iter()
                    .map(|(number, notice, issued_at, new_deadline)| ChangeNotice {
                        number,
                        notice,
                        issued_at: from_millis(issued_at),
                        new_deadline: new_deadline.map(from_millis),
                        documents: documents
                            .iter()
                            .filter(|d| d.0 == number)
                            .map(|(_, name, sha256, media_type, size, previous)| ChangedDocument {
                                name: name.clone(),
                                sha256: sha256.clone(),
                                size: *size,
                                media_type: media_type.clone(),
                                previous_sha256: previous.clone(),
                            })
                            .collect(),
                    })
                    .collect())
            }

            async fn record_download(
                &self,
                bidder_id: &str,
                sha256: &str,
                at: chrono::DateTime<chrono::Utc>,
                event: $crate::domain::event::NewEvent,
            ) -> $crate::store::Result<i64> {
                let mut tx = self.begin_write().await?;
                sqlx::query("INSERT INTO document_downloads (bidder_id, sha256, first_at) VALUES ($1, $2, $3) ON CONFLICT (bidder_id, sha256) DO NOTHING")
                    .bind(bidder_id)
                    .bind(sha256)
                    .bind(at.timestamp_millis())
                    .execute(&mut *tx)
                    .await?;
                let seq = self.append_in(&mut tx, &event).await?;
                self.commit(tx).await?;
                Ok(seq)
            }

            async fn downloads(
                &self,
                bidder_id: &str,
                trade_id: &str,
            ) -> $crate::store::Result<Vec<$crate::store::notices::Download>> {
                let rows: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT sha256, first_at FROM document_downloads WHERE bidder_id = $1 AND sha256 IN \
                     (SELECT sha256 FROM trade_documents WHERE trade_id = $2 \
                      UNION SELECT previous_sha256 FROM changed_documents WHERE trade_id = $2 AND previous_sha256 IS NOT NULL) \
                     ORDER BY first_at, sha256",
                )
                .bind(bidder_id)
                .bind(trade_id)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(sha256, first_at)| $crate::store::notices::Download {
                        sha256,
                        first_at: $crate::domain::clock::from_millis(first_at),
                    })
                    .collect())
            }
        }
    };
}
pub(crate) use impl_notice_store;
