//! Storage of the expert pool (ADR 0013): each expert's profile, as it last stated it,
//! with the log entry that recorded it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Result;
use crate::domain::event::NewEvent;
use crate::domain::expert_draw::{ExpertProfile, PoolExpert};

/// An active expert of the pool with its profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PoolEntry {
    pub identity_id: String,
    pub organization: String,
    pub usci: String,
    #[serde(flatten)]
    pub profile: ExpertProfile,
    #[serde(serialize_with = "crate::domain::clock::serde_rfc3339::serialize")]
    pub updated_at: DateTime<Utc>,
}

impl PoolEntry {
    /// The entry as the draw sees it.
    pub fn for_draw(&self) -> PoolExpert {
        PoolExpert {
            id: self.identity_id.clone(),
            organization_usci: self.usci.clone(),
            specialties: self.profile.specialties.clone(),
            conflicts: self.profile.conflicts.clone(),
        }
    }
}

/// A trade's expert draw, as kept (ADR 0013).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDraw {
    /// The request as JSON.
    pub request: String,
    pub seed_size: i64,
    /// Hex of the seed.
    pub seed: String,
    pub pool_sha256: String,
    /// The sealed part as JSON: the pool drawn from and the result.
    pub disclosed: String,
    pub salt: Vec<u8>,
    pub drawn_at: DateTime<Utc>,
    /// The log entry that recorded it.
    pub seq: i64,
}

#[async_trait]
pub trait ExpertStore: Send + Sync {
    /// Keeps a trade's draw with its log entry; `Conflict("already_drawn")` if the trade
    /// has one.
    async fn record_draw(&self, trade_id: &str, draw: &StoredDraw, event: NewEvent) -> Result<i64>;
    async fn draw_of(&self, trade_id: &str) -> Result<Option<StoredDraw>>;
    /// The trades whose draw's sealed part names `identity_id` (in the pool or drawn),
    /// newest first, at most `limit`: `(trade id, disclosed JSON)`. The caller reads the
    /// JSON to tell the drawn from the rest of the pool.
    async fn draws_naming(&self, identity_id: &str, limit: i64) -> Result<Vec<(String, String)>>;
    /// Keeps an expert's profile (replacing the one before) with its log entry.
    async fn set_expert_profile(
        &self,
        identity_id: &str,
        profile: &ExpertProfile,
        at: DateTime<Utc>,
        event: NewEvent,
    ) -> Result<i64>;
    /// The active experts that stated a profile, by identity id.
    async fn expert_pool(&self) -> Result<Vec<PoolEntry>>;
}

/// Implements `ExpertStore` for a store type that `impl_store!` was applied to.
macro_rules! impl_expert_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::experts::ExpertStore for $store {
            async fn set_expert_profile(
                &self,
                identity_id: &str,
                profile: &$crate::domain::expert_draw::ExpertProfile,
                at: chrono::DateTime<chrono::Utc>,
                event: $crate::domain::event::NewEvent,
            ) -> $crate::store::Result<i64> {
                let json = |v: &[String]| {
                    serde_json::to_string(v).map_err(|e| $crate::store::StoreError::Other(Box::new(e)))
                };
                let mut tx = self.begin_write().await?;
                let seq = self.append_in(&mut tx, &event).await?;
                sqlx::query(
                    "INSERT INTO expert_profiles (identity_id, specialties, conflicts, updated_at, seq) \
                     VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (identity_id) DO UPDATE SET specialties = excluded.specialties, \
                     conflicts = excluded.conflicts, updated_at = excluded.updated_at, seq = excluded.seq",
                )
                .bind(identity_id)
                .bind(json(&profile.specialties)?)
                .bind(json(&profile.conflicts)?)
                .bind(at.timestamp_millis())
                .bind(seq)
                .execute(&mut *tx)
                .await?;
                self.commit(tx).await?;
                Ok(seq)
            }

            async fn record_draw(
                &self,
                trade_id: &str,
                draw: &$crate::store::experts::StoredDraw,
                event: $crate::domain::event::NewEvent,
            ) -> $crate::store::Result<i64> {
                let mut tx = self.begin_write().await?;
                let seen: Option<(String,)> =
                    sqlx::query_as("SELECT trade_id FROM committee_draws WHERE trade_id = $1")
                        .bind(trade_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                if seen.is_some() {
                    return Err($crate::store::StoreError::Conflict("already_drawn".into()));
                }
                let seq = self.append_in(&mut tx, &event).await?;
                sqlx::query(
                    "INSERT INTO committee_draws (trade_id, request, seed_size, seed, pool_sha256, disclosed, salt, drawn_at, seq) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(trade_id)
                .bind(&draw.request)
                .bind(draw.seed_size)
                .bind(&draw.seed)
                .bind(&draw.pool_sha256)
                .bind(&draw.disclosed)
                .bind(draw.salt.clone())
                .bind(draw.drawn_at.timestamp_millis())
                .bind(seq)
                .execute(&mut *tx)
                .await?;
                self.commit(tx).await?;
                Ok(seq)
            }

            async fn draws_naming(
                &self,
                identity_id: &str,
                limit: i64,
            ) -> $crate::store::Result<Vec<(String, String)>> {
                // Identity ids are UUIDs: nothing in them is special to LIKE.
                Ok(sqlx::query_as(
                    "SELECT trade_id, disclosed FROM committee_draws WHERE disclosed LIKE $1 ORDER BY seq DESC LIMIT $2",
                )
                .bind(format!("%\"{identity_id}\"%"))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn draw_of(
                &self,
                trade_id: &str,
            ) -> $crate::store::Result<Option<$crate::store::experts::StoredDraw>> {
                let row: Option<(String, i64, String, String, String, Vec<u8>, i64, i64)> = sqlx::query_as(
                    "SELECT request, seed_size, seed, pool_sha256, disclosed, salt, drawn_at, seq FROM committee_draws WHERE trade_id = $1",
                )
                .bind(trade_id)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(|(request, seed_size, seed, pool_sha256, disclosed, salt, at, seq)| {
                    $crate::store::experts::StoredDraw {
                        request,
                        seed_size,
                        seed,
                        pool_sha256,
                        disclosed,
                        salt,
                        drawn_at: $crate::domain::clock::from_millis(at),
                        seq,
                    }
                }))
            }

            async fn expert_pool(
                &self,
            ) -> $crate::store::Result<Vec<$crate::store::experts::PoolEntry>> {
                let rows: Vec<(String, String, String, String, String, i64)> = sqlx::query_as(
                    "SELECT i.id, o.name, o.usci, p.specialties, p.conflicts, p.updated_at \
                     FROM expert_profiles p JOIN identities i ON i.id = p.identity_id \
                     JOIN organizations o ON o.id = i.organization_id \
                     WHERE i.role = 'expert' AND i.status = 'active' ORDER BY i.id",
                )
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter()
                    .map(|(identity_id, organization, usci, specialties, conflicts, at)| {
                        let list = |s: &str| {
                            serde_json::from_str::<Vec<String>>(s)
                                .map_err(|e| $crate::store::StoreError::Other(Box::new(e)))
                        };
                        Ok($crate::store::experts::PoolEntry {
                            identity_id,
                            organization,
                            usci,
                            profile: $crate::domain::expert_draw::ExpertProfile {
                                specialties: list(&specialties)?,
                                conflicts: list(&conflicts)?,
                            },
                            updated_at: $crate::domain::clock::from_millis(at),
                        })
                    })
                    .collect()
            }
        }
    };
}

pub(crate) use impl_expert_store;
