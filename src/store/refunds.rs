//! Refund instructions taken by a bank (ADR 0010: pending → sent): a bank's signed claim
//! takes its oldest pending instructions, marks them sent and logs each, in one write
//! transaction; the claim is recorded under the bank's own id, so a repeat returns the
//! same instructions and takes no more.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::Result;
use crate::domain::event::NewEvent;
use crate::domain::ledger::Refund;

/// A bank's claim of its pending refund instructions.
#[derive(Debug, Clone)]
pub struct RefundClaim<'a> {
    pub bank_id: &'a str,
    pub claim_id: &'a str,
    /// SHA-256 of the signed body: the same claim id with another body is a conflict.
    pub body_sha256: &'a str,
    pub limit: u32,
    pub at: DateTime<Utc>,
}

/// Builds the log entry of one instruction taken by the bank.
pub type SentEventFor<'a> = &'a (dyn Fn(&Refund) -> NewEvent + Send + Sync);

#[async_trait]
pub trait RefundStore: Send + Sync {
    /// Takes up to `claim.limit` of the bank's pending refund instructions, oldest first,
    /// and marks them sent; returns them and whether this repeats a recorded claim (then
    /// nothing changes). `Conflict` if the claim id was recorded with another body.
    async fn claim_refunds(
        &self,
        claim: &RefundClaim<'_>,
        event: SentEventFor<'_>,
    ) -> Result<(Vec<Refund>, bool)>;
}

/// Implements `RefundStore` for a store type that `impl_live_store!` was applied to.
macro_rules! impl_refund_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::refunds::RefundStore for $store {
            async fn claim_refunds(
                &self,
                claim: &$crate::store::refunds::RefundClaim<'_>,
                event: $crate::store::refunds::SentEventFor<'_>,
            ) -> $crate::store::Result<(Vec<$crate::domain::ledger::Refund>, bool)> {
                use $crate::domain::ledger::{Refund, RefundStatus};
                use $crate::store::live::{RefundRow, REFUND_SELECT};
                let mut tx = self.begin_write().await?;
                let seen: Option<(String, String)> = sqlx::query_as(
                    "SELECT body_sha256, refund_ids FROM bank_refund_claims WHERE bank_id = $1 AND claim_id = $2",
                )
                .bind(claim.bank_id)
                .bind(claim.claim_id)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some((sha, ids)) = seen {
                    if sha != claim.body_sha256 {
                        return Err($crate::store::StoreError::Conflict("claim_conflict".into()));
                    }
                    let ids: Vec<String> = serde_json::from_str(&ids)
                        .map_err(|e| $crate::store::StoreError::Other(Box::new(e)))?;
                    let mut refunds = Vec::with_capacity(ids.len());
                    for id in ids {
                        let row: RefundRow = sqlx::query_as(&format!("{REFUND_SELECT} WHERE id = $1"))
                            .bind(id)
                            .fetch_one(&mut *tx)
                            .await?;
                        refunds.push(Refund::try_from(row)?);
                    }
                    tx.rollback().await?;
                    return Ok((refunds, true));
                }
                let rows: Vec<RefundRow> = sqlx::query_as(&format!(
                    "{REFUND_SELECT} WHERE bank_id = $1 AND status = 'pending' ORDER BY created_at, id LIMIT $2"
                ))
                .bind(claim.bank_id)
                .bind(i64::from(claim.limit))
                .fetch_all(&mut *tx)
                .await?;
                let mut refunds = Vec::with_capacity(rows.len());
                for row in rows {
                    let mut refund = Refund::try_from(row)?;
                    sqlx::query("UPDATE refunds SET status = 'sent', sent_at = $2 WHERE id = $1 AND status = 'pending'")
                        .bind(&refund.id)
                        .bind(claim.at.timestamp_millis())
                        .execute(&mut *tx)
                        .await?;
                    refund.status = RefundStatus::Sent;
                    refund.sent_at = Some(claim.at);
                    self.append_in(&mut tx, &event(&refund)).await?;
                    refunds.push(refund);
                }
                let ids: Vec<&str> = refunds.iter().map(|r| r.id.as_str()).collect();
                sqlx::query(
                    "INSERT INTO bank_refund_claims (bank_id, claim_id, body_sha256, refund_ids, claimed_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(claim.bank_id)
                .bind(claim.claim_id)
                .bind(claim.body_sha256)
                .bind(serde_json::to_string(&ids).map_err(|e| $crate::store::StoreError::Other(Box::new(e)))?)
                .bind(claim.at.timestamp_millis())
                .execute(&mut *tx)
                .await?;
                self.commit(tx).await?;
                Ok((refunds, false))
            }
        }
    };
}

pub(crate) use impl_refund_store;
