//! Storage of a live sale's sealed reserve price (ADR 0011): the seller's envelope,
//! replaceable until the sale takes its first step, and the close that its opening
//! decides, in one write transaction with the signed opening record.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::sale::{SaleEventFor, Stepped};
use super::{Result, StoredOpening};
use crate::domain::auction::{Reserve, Rules};
use crate::domain::event::NewEvent;
use crate::domain::money::Money;

/// A sealed reserve to keep.
#[derive(Debug, Clone)]
pub struct NewReserve {
    pub id: String,
    pub identity_id: String,
    pub envelope: Vec<u8>,
    pub envelope_sha256: String,
    pub sealed_at: DateTime<Utc>,
}

/// A kept reserve, without its envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReserve {
    pub id: String,
    pub identity_id: String,
    pub envelope_sha256: String,
    pub sealed_at: DateTime<Utc>,
    /// The log entry that recorded it.
    pub seq: i64,
}

/// The close of a sale waiting for its reserve.
#[derive(Debug, Clone, Copy)]
pub struct RevealStep<'a> {
    pub trade_id: &'a str,
    pub rules: &'a Rules,
    pub deposit: Money,
    pub reserve: &'a Reserve,
    /// The signed record of the reserve's opening; its outcome is set from the result.
    pub opening: &'a StoredOpening,
}

#[async_trait]
pub trait ReserveStore: Send + Sync {
    /// Keeps (or replaces) a trade's sealed reserve with its log entry. Refused with
    /// `Conflict("reserve_locked")` once the sale has taken a step.
    async fn seal_reserve(
        &self,
        trade_id: &str,
        reserve: &NewReserve,
        event: NewEvent,
    ) -> Result<i64>;
    async fn reserve(&self, trade_id: &str) -> Result<Option<StoredReserve>>;
    async fn reserve_envelope(&self, trade_id: &str) -> Result<Option<Vec<u8>>>;
    /// Decides a sale waiting in `Phase::Reserve` on `step.reserve`, closes it (result,
    /// settlement, status) and keeps the opening record, in one transaction. Refused
    /// with `Conflict("not_awaiting_reserve")` for a sale in any other phase.
    async fn reveal_reserve(
        &self,
        step: RevealStep<'_>,
        event: SaleEventFor<'_>,
    ) -> Result<Stepped>;
}

/// Implements `ReserveStore` for a store type that `impl_sale_store!` was applied to.
macro_rules! impl_reserve_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::reserve::ReserveStore for $store {
            async fn seal_reserve(
                &self,
                trade_id: &str,
                reserve: &$crate::store::reserve::NewReserve,
                event: $crate::domain::event::NewEvent,
            ) -> $crate::store::Result<i64> {
                let mut tx = self.begin_write().await?;
                let started: Option<(String,)> =
                    sqlx::query_as("SELECT trade_id FROM live_sales WHERE trade_id = $1")
                        .bind(trade_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                if started.is_some() {
                    return Err($crate::store::StoreError::Conflict("reserve_locked".into()));
                }
                let seq = self.append_in(&mut tx, &event).await?;
                sqlx::query(
                    "INSERT INTO reserve_prices (trade_id, id, identity_id, envelope, envelope_sha256, sealed_at, seq) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) \
                     ON CONFLICT (trade_id) DO UPDATE SET id = excluded.id, identity_id = excluded.identity_id, \
                     envelope = excluded.envelope, envelope_sha256 = excluded.envelope_sha256, \
                     sealed_at = excluded.sealed_at, seq = excluded.seq",
                )
                .bind(trade_id)
                .bind(&reserve.id)
                .bind(&reserve.identity_id)
                .bind(reserve.envelope.clone())
                .bind(&reserve.envelope_sha256)
                .bind(reserve.sealed_at.timestamp_millis())
                .bind(seq)
                .execute(&mut *tx)
                .await?;
                self.commit(tx).await?;
                Ok(seq)
            }

            async fn reserve(
                &self,
                trade_id: &str,
            ) -> $crate::store::Result<Option<$crate::store::reserve::StoredReserve>> {
                let row: Option<(String, String, String, i64, i64)> = sqlx::query_as(
                    "SELECT id, identity_id, envelope_sha256, sealed_at, seq FROM reserve_prices WHERE trade_id = $1",
                )
                .bind(trade_id)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(|(id, identity_id, envelope_sha256, at, seq)| {
                    $crate::store::reserve::StoredReserve {
                        id,
                        identity_id,
                        envelope_sha256,
                        sealed_at: $crate::domain::clock::from_millis(at),
                        seq,
                    }
                }))
            }

            async fn reserve_envelope(
                &self,
                trade_id: &str,
            ) -> $crate::store::Result<Option<Vec<u8>>> {
                let row: Option<(Vec<u8>,)> =
                    sqlx::query_as("SELECT envelope FROM reserve_prices WHERE trade_id = $1")
                        .bind(trade_id)
                        .fetch_optional(&self.pool)
                        .await?;
                Ok(row.map(|(e,)| e))
            }

            async fn reveal_reserve(
                &self,
                step: $crate::store::reserve::RevealStep<'_>,
                event: $crate::store::sale::SaleEventFor<'_>,
            ) -> $crate::store::Result<$crate::store::sale::Stepped> {
                use $crate::domain::auction::SaleResult;
                let mut tx = self.begin_write().await?;
                let mut sale = Self::sale_in(&mut tx, step.trade_id).await?.unwrap_or_default();
                if !sale.reveal_reserve(step.reserve) {
                    return Err($crate::store::StoreError::Conflict("not_awaiting_reserve".into()));
                }
                let now = $crate::domain::clock::from_millis(self.clock.now().timestamp_millis());
                let mut entries = $crate::store::sale::Entries::starting(self.next_entry(&mut tx).await?);
                let seq = Self::close_in(&mut tx, &mut entries, step.trade_id, &sale, step.deposit, now, event)
                    .await?
                    .unwrap_or_default();
                self.write_made(&mut tx, &entries).await?;
                let outcome = match sale.result {
                    Some(SaleResult::Sold { .. }) => $crate::domain::trade::TradeStatus::Sold,
                    _ => $crate::domain::trade::TradeStatus::Failed,
                };
                sqlx::query(
                    "INSERT INTO opening_records (trade_id, outcome, record, signature, key_id, seq, opened_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(step.trade_id)
                .bind(outcome.as_str())
                .bind(step.opening.record.clone())
                .bind(step.opening.signature.clone())
                .bind(&step.opening.key_id)
                .bind(seq)
                .bind(step.opening.opened_at.timestamp_millis())
                .execute(&mut *tx)
                .await?;
                Self::save_sale(&mut tx, step.trade_id, &sale, step.rules, seq).await?;
                self.commit(tx).await?;
                Ok($crate::store::sale::Stepped {
                    sale,
                    quote: None,
                    repeated: false,
                    seqs: vec![seq],
                })
            }
        }
    };
}

pub(crate) use impl_reserve_store;
