//! Mirrors of the logs of followed platforms (a region follows its prefectures, issue 8,
//! ADR 0019): how far each is verified, and the entries verified so far. An entry is kept
//! only together with the verified state that covers it, in one transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::Result;
use crate::domain::event::NewEvent;

/// How far a followed platform's log is verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorState {
    pub name: String,
    pub url: String,
    pub origin: String,
    pub size: u64,
    /// Hex root of the verified tree of `size` entries.
    pub root: String,
    /// Hex hashes of the frontier of that tree, left to right.
    pub frontier: Vec<String>,
    /// The newest signed checkpoint verified (note text).
    pub checkpoint: String,
    pub verified_at: DateTime<Utc>,
    /// Why mirroring stopped, if the followed log ever failed to verify.
    pub halted: Option<String>,
    pub halted_at: Option<DateTime<Utc>>,
}

/// A witness's newest cosignature of this platform's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosignature {
    pub witness: String,
    pub size: u64,
    /// The checkpoint as this platform signed it (note text).
    pub checkpoint: String,
    /// The witness's signature line.
    pub cosignature: String,
    pub cosigned_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
}

/// One mirrored entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirroredEntry {
    pub mirror: String,
    /// 0-based index in the followed log.
    pub index: u64,
    pub kind: String,
    pub trade_id: Option<String>,
    /// The exact bytes the followed platform hashed into its log.
    pub entry: Vec<u8>,
}

/// The search terms of a trade announced in a mirrored log (its `trade.published` entry
/// at `index`), kept with the entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirroredTerms {
    pub index: u64,
    /// When the trade was published (epoch milliseconds).
    pub published_at: i64,
    pub terms: Vec<String>,
}

/// Most entries one read of a mirror returns.
pub const MAX_MIRRORED_READ: i64 = 1000;

#[async_trait]
pub trait MirrorStore: Send + Sync {
    async fn mirror(&self, name: &str) -> Result<Option<MirrorState>>;
    /// Every followed platform, by name.
    async fn mirrors(&self) -> Result<Vec<MirrorState>>;
    /// Keeps `entries` (indexes `from_size..state.size`) and moves the mirror to `state`,
    /// if it is still at `from_size` and not halted; `false` (nothing changes) if another
    /// instance got there first.
    /// `terms` index the trades the new entries announce, for region-wide search.
    async fn advance_mirror(
        &self,
        state: &MirrorState,
        from_size: u64,
        entries: &[MirroredEntry],
        terms: &[MirroredTerms],
    ) -> Result<bool>;
    /// Stops mirroring `name` for `reason`, appends `event` and raises `alert` (triggered
    /// by that entry), once: `None` if it was halted already.
    async fn halt_mirror(
        &self,
        name: &str,
        reason: &str,
        at: DateTime<Utc>,
        event: NewEvent,
        alert: (super::supervision::NewAlert, NewEvent),
    ) -> Result<Option<i64>>;
    /// Keeps `c` as its witness's newest cosignature, unless one of a larger tree is kept
    /// already (`false`).
    async fn record_cosignature(&self, c: &Cosignature) -> Result<bool>;
    /// The newest cosignature of each witness.
    async fn cosignatures(&self) -> Result<Vec<Cosignature>>;
    /// The newest `limit` mirrored entries of `kind` of each followed platform, newest
    /// first per platform.
    async fn newest_mirrored(&self, kind: &str, limit: i64) -> Result<Vec<MirroredEntry>>;
    /// The `trade.published` entries whose trades have every one of `terms`, on `mirror`
    /// or on every followed platform, newest publication first, at most `limit`.
    async fn search_mirrored(
        &self,
        terms: &[String],
        mirror: Option<&str>,
        limit: i64,
    ) -> Result<Vec<MirroredEntry>>;
    /// Entries of `kinds` of `mirror` from index `from` on, in log order, at most `limit`
    /// (up to [`MAX_MIRRORED_READ`]).
    async fn mirrored_from(
        &self,
        mirror: &str,
        from: u64,
        kinds: &[&'static str],
        limit: i64,
    ) -> Result<Vec<MirroredEntry>>;
    /// The first entry of `kind` about `trade_id` on `mirror`.
    async fn mirrored_of_trade(
        &self,
        mirror: &str,
        trade_id: &str,
        kind: &str,
    ) -> Result<Option<MirroredEntry>>;
}

type StateRow = (
    String,
    String,
    String,
    i64,
    String,
    String,
    String,
    i64,
    Option<String>,
    Option<i64>,
);

pub(crate) const STATE_SELECT: &str = "SELECT name, url, origin, size, root, frontier, checkpoint, verified_at, halted, halted_at FROM mirrors";

pub(crate) fn state_of(row: StateRow) -> MirrorState {
    use crate::domain::clock::from_millis;
    let (name, url, origin, size, root, frontier, checkpoint, verified_at, halted, halted_at) = row;
    MirrorState {
        name,
        url,
        origin,
        size: u64::try_from(size).unwrap_or(0),
        root,
        frontier: serde_json::from_str(&frontier).unwrap_or_default(),
        checkpoint,
        verified_at: from_millis(verified_at),
        halted,
        halted_at: halted_at.map(from_millis),
    }
}

pub(crate) fn entry_of(
    (mirror, index, kind, trade_id, entry): (String, i64, String, Option<String>, Vec<u8>),
) -> MirroredEntry {
    MirroredEntry {
        mirror,
        index: u64::try_from(index).unwrap_or(0),
        kind,
        trade_id,
        entry,
    }
}

/// Implements `MirrorStore` for a store type that `impl_store!` was applied to.
macro_rules! impl_mirror_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::mirror::MirrorStore for $store {
            async fn mirror(
                &self,
                name: &str,
            ) -> $crate::store::Result<Option<$crate::store::mirror::MirrorState>> {
                let sql = format!("{} WHERE name = $1", $crate::store::mirror::STATE_SELECT);
                let row = sqlx::query_as(&sql).bind(name).fetch_optional(&self.pool).await?;
                Ok(row.map($crate::store::mirror::state_of))
            }

            async fn mirrors(
                &self,
            ) -> $crate::store::Result<Vec<$crate::store::mirror::MirrorState>> {
                let sql = format!("{} ORDER BY name", $crate::store::mirror::STATE_SELECT);
                let rows = sqlx::query_as(&sql).fetch_all(&self.pool).await?;
                Ok(rows.into_iter().map($crate::store::mirror::state_of).collect())
            }

            async fn advance_mirror(
                &self,
                state: &$crate::store::mirror::MirrorState,
                from_size: u64,
                entries: &[$crate::store::mirror::MirroredEntry],
                terms: &[$crate::store::mirror::MirroredTerms],
            ) -> $crate::store::Result<bool> {
                let mut tx = self.begin_write().await?;
                let current: Option<(i64, Option<String>)> =
                    sqlx::query_as("SELECT size, halted FROM mirrors WHERE name = $1")
                        .bind(&state.name)
                        .fetch_optional(&mut *tx)
                        .await?;
                let from = i64::try_from(from_size).unwrap_or(i64::MAX);
                match current {
                    Some((size, None)) if size == from => {}
                    None if from == 0 => {}
                    _ => return Ok(false),
                }
                sqlx::query(
                    "INSERT INTO mirrors (name, url, origin, size, root, frontier, checkpoint, verified_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (name) DO UPDATE SET url = excluded.url, \
                     origin = excluded.origin, size = excluded.size, root = excluded.root, frontier = excluded.frontier, \
                     checkpoint = excluded.checkpoint, verified_at = excluded.verified_at",
                )
                .bind(&state.name)
                .bind(&state.url)
                .bind(&state.origin)
                .bind(i64::try_from(state.size).unwrap_or(i64::MAX))
                .bind(&state.root)
                .bind(serde_json::to_string(&state.frontier).unwrap_or_default())
                .bind(&state.checkpoint)
                .bind(state.verified_at.timestamp_millis())
                .execute(&mut *tx)
                .await?;
                for e in entries {
                    sqlx::query(
                        "INSERT INTO mirror_entries (mirror, idx, kind, trade_id, entry) VALUES ($1, $2, $3, $4, $5) \
                         ON CONFLICT (mirror, idx) DO NOTHING",
                    )
                    .bind(&state.name)
                    .bind(i64::try_from(e.index).unwrap_or(i64::MAX))
                    .bind(&e.kind)
                    .bind(e.trade_id.as_deref())
                    .bind(&e.entry)
                    .execute(&mut *tx)
                    .await?;
                }
                let rows: Vec<(&str, i64, i64)> = terms
                    .iter()
                    .flat_map(|t| {
                        let index = i64::try_from(t.index).unwrap_or(i64::MAX);
                        t.terms.iter().map(move |term| (term.as_str(), t.published_at, index))
                    })
                    .collect();
                for chunk in rows.chunks(500) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO mirror_search_terms (term, published_at, mirror, idx) ",
                    );
                    q.push_values(chunk, |mut b, (term, published_at, index)| {
                        b.push_bind(*term).push_bind(*published_at).push_bind(&state.name).push_bind(*index);
                    });
                    q.push(" ON CONFLICT DO NOTHING");
                    q.build().execute(&mut *tx).await?;
                }
                self.commit(tx).await?;
                Ok(true)
            }

            async fn halt_mirror(
                &self,
                name: &str,
                reason: &str,
                at: chrono::DateTime<chrono::Utc>,
                event: $crate::domain::event::NewEvent,
                alert: ($crate::store::supervision::NewAlert, $crate::domain::event::NewEvent),
            ) -> $crate::store::Result<Option<i64>> {
                let mut tx = self.begin_write().await?;
                let current: Option<(Option<String>,)> =
                    sqlx::query_as("SELECT halted FROM mirrors WHERE name = $1")
                        .bind(name)
                        .fetch_optional(&mut *tx)
                        .await?;
                match current {
                    Some((Some(_),)) => return Ok(None),
                    Some((None,)) => {
                        sqlx::query("UPDATE mirrors SET halted = $2, halted_at = $3 WHERE name = $1")
                            .bind(name)
                            .bind(reason)
                            .bind(at.timestamp_millis())
                            .execute(&mut *tx)
                            .await?;
                    }
                    None => {
                        sqlx::query(
                            "INSERT INTO mirrors (name, url, origin, size, root, frontier, checkpoint, verified_at, halted, halted_at) \
                             VALUES ($1, '', '', 0, '', '[]', '', $3, $2, $3)",
                        )
                        .bind(name)
                        .bind(reason)
                        .bind(at.timestamp_millis())
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                let seq = self.append_in(&mut tx, &event).await?;
                self.raise_in(&mut tx, seq, vec![alert]).await?;
                self.commit(tx).await?;
                Ok(Some(seq))
            }

            async fn record_cosignature(
                &self,
                c: &$crate::store::mirror::Cosignature,
            ) -> $crate::store::Result<bool> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(
                    "INSERT INTO log_cosignatures (witness, size, checkpoint, cosignature, cosigned_at, received_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (witness) DO UPDATE SET size = excluded.size, \
                     checkpoint = excluded.checkpoint, cosignature = excluded.cosignature, \
                     cosigned_at = excluded.cosigned_at, received_at = excluded.received_at \
                     WHERE log_cosignatures.size <= excluded.size",
                )
                .bind(&c.witness)
                .bind(i64::try_from(c.size).unwrap_or(i64::MAX))
                .bind(&c.checkpoint)
                .bind(&c.cosignature)
                .bind(c.cosigned_at.timestamp_millis())
                .bind(c.received_at.timestamp_millis())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                self.commit(tx).await?;
                Ok(done > 0)
            }

            async fn cosignatures(
                &self,
            ) -> $crate::store::Result<Vec<$crate::store::mirror::Cosignature>> {
                use $crate::domain::clock::from_millis;
                let rows: Vec<(String, i64, String, String, i64, i64)> = sqlx::query_as(
                    "SELECT witness, size, checkpoint, cosignature, cosigned_at, received_at FROM log_cosignatures ORDER BY witness",
                )
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(witness, size, checkpoint, cosignature, cosigned_at, received_at)| {
                        $crate::store::mirror::Cosignature {
                            witness,
                            size: u64::try_from(size).unwrap_or(0),
                            checkpoint,
                            cosignature,
                            cosigned_at: from_millis(cosigned_at),
                            received_at: from_millis(received_at),
                        }
                    })
                    .collect())
            }

            async fn newest_mirrored(
                &self,
                kind: &str,
                limit: i64,
            ) -> $crate::store::Result<Vec<$crate::store::mirror::MirroredEntry>> {
                let mirrors: Vec<(String,)> = sqlx::query_as("SELECT name FROM mirrors ORDER BY name")
                    .fetch_all(&self.pool)
                    .await?;
                let mut all = Vec::new();
                for (mirror,) in mirrors {
                    let rows: Vec<(String, i64, String, Option<String>, Vec<u8>)> = sqlx::query_as(
                        "SELECT mirror, idx, kind, trade_id, entry FROM mirror_entries \
                         WHERE mirror = $1 AND kind = $2 ORDER BY idx DESC LIMIT $3",
                    )
                    .bind(&mirror)
                    .bind(kind)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                    all.extend(rows.into_iter().map($crate::store::mirror::entry_of));
                }
                Ok(all)
            }

            async fn search_mirrored(
                &self,
                terms: &[String],
                mirror: Option<&str>,
                limit: i64,
            ) -> $crate::store::Result<Vec<$crate::store::mirror::MirroredEntry>> {
                if terms.is_empty() {
                    return Ok(Vec::new());
                }
                let mut q = sqlx::QueryBuilder::<$db>::new(
                    "SELECT e.mirror, e.idx, e.kind, e.trade_id, e.entry FROM mirror_entries e JOIN \
                     (SELECT mirror, idx, MAX(published_at) AS p FROM mirror_search_terms WHERE term IN (",
                );
                let mut list = q.separated(", ");
                for t in terms {
                    list.push_bind(t.as_str());
                }
                q.push(")");
                if let Some(m) = mirror {
                    q.push(" AND mirror = ").push_bind(m);
                }
                q.push(" GROUP BY mirror, idx HAVING COUNT(*) = ")
                    .push_bind(i64::try_from(terms.len()).unwrap_or(i64::MAX))
                    .push(" ORDER BY p DESC, mirror, idx LIMIT ")
                    .push_bind(limit)
                    .push(") h ON h.mirror = e.mirror AND h.idx = e.idx ORDER BY h.p DESC, e.mirror, e.idx");
                let rows: Vec<(String, i64, String, Option<String>, Vec<u8>)> =
                    q.build_query_as().fetch_all(&self.pool).await?;
                Ok(rows.into_iter().map($crate::store::mirror::entry_of).collect())
            }

            async fn mirrored_from(
                &self,
                mirror: &str,
                from: u64,
                kinds: &[&'static str],
                limit: i64,
            ) -> $crate::store::Result<Vec<$crate::store::mirror::MirroredEntry>> {
                let sql = format!(
                    "SELECT mirror, idx, kind, trade_id, entry FROM mirror_entries \
                     WHERE mirror = $1 AND idx >= $2 AND kind IN ({}) ORDER BY idx LIMIT $3",
                    $crate::store::sql::kind_list(kinds)?
                );
                let rows: Vec<(String, i64, String, Option<String>, Vec<u8>)> = sqlx::query_as(&sql)
                    .bind(mirror)
                    .bind(i64::try_from(from).unwrap_or(i64::MAX))
                    .bind(limit.clamp(1, $crate::store::mirror::MAX_MIRRORED_READ))
                    .fetch_all(&self.pool)
                    .await?;
                Ok(rows.into_iter().map($crate::store::mirror::entry_of).collect())
            }

            async fn mirrored_of_trade(
                &self,
                mirror: &str,
                trade_id: &str,
                kind: &str,
            ) -> $crate::store::Result<Option<$crate::store::mirror::MirroredEntry>> {
                let row: Option<(String, i64, String, Option<String>, Vec<u8>)> = sqlx::query_as(
                    "SELECT mirror, idx, kind, trade_id, entry FROM mirror_entries \
                     WHERE mirror = $1 AND trade_id = $2 AND kind = $3 ORDER BY idx LIMIT 1",
                )
                .bind(mirror)
                .bind(trade_id)
                .bind(kind)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map($crate::store::mirror::entry_of))
            }
        }
    };
}

pub(crate) use impl_mirror_store;
