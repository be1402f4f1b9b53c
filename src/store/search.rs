//! The search index (ADR 0015): each published trade's terms (`domain::search`) with
//! its publication instant, so that a query walks the postings of its rarest term
//! newest first and stops at a page of trades that have every term.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Result;

/// Postings counted per term, at most, to pick the rarest term of a query.
pub const SELECTIVITY_CAP: i64 = 2000;

/// A search with its filters, terms as `domain::search::query_terms` gives them.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    pub terms: Vec<String>,
    pub kind: Option<String>,
    /// A region code prefix: `65` the region, `6501` one city.
    pub region_prefix: Option<String>,
    pub status: Option<String>,
    /// Published at or after.
    pub from: Option<DateTime<Utc>>,
    /// Published before.
    pub to: Option<DateTime<Utc>>,
    /// After this (published_at millis, trade id), newest first.
    pub cursor: Option<(i64, String)>,
    pub limit: i64,
}

/// One trade found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SearchHit {
    pub trade_id: String,
    pub title: String,
    pub kind: String,
    pub procedure: String,
    pub region_code: String,
    pub principal: String,
    pub status: String,
    #[serde(serialize_with = "crate::domain::clock::serde_rfc3339::serialize")]
    pub published_at: DateTime<Utc>,
    /// Minor units.
    pub estimated_value: i64,
}

/// What a published trade is found by, for a rebuild of the index.
#[derive(Debug, Clone)]
pub struct Searchable {
    pub trade_id: String,
    pub published_at: DateTime<Utc>,
    pub kind: String,
    pub procedure: String,
    /// Title, principal, region code, and the winner once awarded.
    pub text: String,
}

#[async_trait]
pub trait SearchStore: Send + Sync {
    /// Adds terms to a published trade's entry in the index.
    async fn index_terms(
        &self,
        trade_id: &str,
        published_at: DateTime<Utc>,
        terms: &[String],
    ) -> Result<()>;
    async fn search(&self, query: &SearchQuery) -> Result<Vec<SearchHit>>;
    /// The term rules the index was built with; `None` before any build.
    async fn search_version(&self) -> Result<Option<i64>>;
    /// Every published trade with the text it is found by.
    async fn searchable_trades(&self) -> Result<Vec<Searchable>>;
    /// Replaces the whole index, and records the rules it was built with.
    async fn rebuild_search(
        &self,
        version: i64,
        entries: &[(String, i64, Vec<String>)],
    ) -> Result<()>;
}

/// Implements `SearchStore` for a store type that `impl_store!` was applied to, on
/// database `$db`.
macro_rules! impl_search_store {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Adds a trade's terms inside a write transaction.
            async fn insert_terms(
                tx: &mut sqlx::Transaction<'static, $db>,
                trade_id: &str,
                published_at: chrono::DateTime<chrono::Utc>,
                terms: &[String],
            ) -> $crate::store::Result<()> {
                for term in terms {
                    sqlx::query(
                        "INSERT INTO search_terms (term, published_at, trade_id) VALUES ($1, $2, $3) \
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(term)
                    .bind(published_at.timestamp_millis())
                    .bind(trade_id)
                    .execute(&mut **tx)
                    .await?;
                }
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::search::SearchStore for $store {
            async fn index_terms(
                &self,
                trade_id: &str,
                published_at: chrono::DateTime<chrono::Utc>,
                terms: &[String],
            ) -> $crate::store::Result<()> {
                let mut tx = self.begin_write().await?;
                Self::insert_terms(&mut tx, trade_id, published_at, terms).await?;
                self.commit(tx).await?;
                Ok(())
            }

            async fn search(
                &self,
                q: &$crate::store::search::SearchQuery,
            ) -> $crate::store::Result<Vec<$crate::store::search::SearchHit>> {
                // The rarest term drives the walk; the others are probed.
                let mut ranked = Vec::with_capacity(q.terms.len());
                for term in &q.terms {
                    let (count,): (i64,) = sqlx::query_as(
                        "SELECT COUNT(*) FROM (SELECT 1 FROM search_terms WHERE term = $1 LIMIT $2) capped",
                    )
                    .bind(term)
                    .bind($crate::store::search::SELECTIVITY_CAP)
                    .fetch_one(&self.pool)
                    .await?;
                    if count == 0 {
                        return Ok(Vec::new());
                    }
                    ranked.push((count, term));
                }
                ranked.sort();
                let Some(((_, first), rest)) = ranked.split_first() else {
                    return Ok(Vec::new());
                };
                let mut sql = String::from(
                    "SELECT t.id, t.title, t.kind, t.procedure, t.region_code, t.principal_name, t.status, \
                     s.published_at, t.estimated_value \
                     FROM search_terms s JOIN trades t ON t.id = s.trade_id WHERE s.term = $1",
                );
                let mut n = 1;
                let mut next = || {
                    n += 1;
                    n
                };
                for _ in rest {
                    sql.push_str(&format!(
                        " AND EXISTS (SELECT 1 FROM search_terms x WHERE x.trade_id = s.trade_id AND x.term = ${})",
                        next()
                    ));
                }
                if q.kind.is_some() {
                    sql.push_str(&format!(" AND t.kind = ${}", next()));
                }
                if q.region_prefix.is_some() {
                    sql.push_str(&format!(" AND t.region_code LIKE ${}", next()));
                }
                if q.status.is_some() {
                    sql.push_str(&format!(" AND t.status = ${}", next()));
                }
                if q.from.is_some() {
                    sql.push_str(&format!(" AND s.published_at >= ${}", next()));
                }
                if q.to.is_some() {
                    sql.push_str(&format!(" AND s.published_at < ${}", next()));
                }
                if q.cursor.is_some() {
                    let (a, b) = (next(), next());
                    sql.push_str(&format!(
                        " AND (s.published_at < ${a} OR (s.published_at = ${a} AND s.trade_id < ${b}))"
                    ));
                }
                sql.push_str(&format!(
                    " ORDER BY s.published_at DESC, s.trade_id DESC LIMIT ${}",
                    next()
                ));
                type Row = (String, String, String, String, String, String, String, i64, i64);
                let mut query = sqlx::query_as::<_, Row>(&sql).bind(*first);
                for (_, term) in rest {
                    query = query.bind(*term);
                }
                if let Some(kind) = &q.kind {
                    query = query.bind(kind);
                }
                if let Some(prefix) = &q.region_prefix {
                    query = query.bind(format!("{prefix}%"));
                }
                if let Some(status) = &q.status {
                    query = query.bind(status);
                }
                if let Some(from) = q.from {
                    query = query.bind(from.timestamp_millis());
                }
                if let Some(to) = q.to {
                    query = query.bind(to.timestamp_millis());
                }
                if let Some((at, id)) = &q.cursor {
                    query = query.bind(*at).bind(id);
                }
                let rows = query.bind(q.limit).fetch_all(&self.pool).await?;
                Ok(rows
                    .into_iter()
                    .map(|(trade_id, title, kind, procedure, region_code, principal, status, at, value)| {
                        $crate::store::search::SearchHit {
                            trade_id,
                            title,
                            kind,
                            procedure,
                            region_code,
                            principal,
                            status,
                            published_at: $crate::domain::clock::from_millis(at),
                            estimated_value: value,
                        }
                    })
                    .collect())
            }

            async fn search_version(&self) -> $crate::store::Result<Option<i64>> {
                let row: Option<(i64,)> = sqlx::query_as("SELECT version FROM search_state WHERE id = 1")
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(|(v,)| v))
            }

            async fn searchable_trades(
                &self,
            ) -> $crate::store::Result<Vec<$crate::store::search::Searchable>> {
                let rows: Vec<(String, i64, String, String, String, String, String, Option<String>)> = sqlx::query_as(
                    "SELECT t.id, t.published_at, t.kind, t.procedure, t.title, t.principal_name, t.region_code, r.award \
                     FROM trades t LEFT JOIN trade_results r ON r.trade_id = t.id \
                     WHERE t.status <> 'draft' AND t.published_at IS NOT NULL ORDER BY t.published_at",
                )
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(trade_id, at, kind, procedure, title, principal, region, award)| {
                        let winner = award
                            .and_then(|a| serde_json::from_str::<serde_json::Value>(&a).ok())
                            .and_then(|a| a["winner"]["organization"]["name"].as_str().map(str::to_owned))
                            .unwrap_or_default();
                        $crate::store::search::Searchable {
                            trade_id,
                            published_at: $crate::domain::clock::from_millis(at),
                            kind,
                            procedure,
                            text: format!("{title} {principal} {region} {winner}"),
                        }
                    })
                    .collect())
            }

            async fn rebuild_search(
                &self,
                version: i64,
                entries: &[(String, i64, Vec<String>)],
            ) -> $crate::store::Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query("DELETE FROM search_terms").execute(&mut *tx).await?;
                for (trade_id, at, terms) in entries {
                    for term in terms {
                        sqlx::query(
                            "INSERT INTO search_terms (term, published_at, trade_id) VALUES ($1, $2, $3) \
                             ON CONFLICT DO NOTHING",
                        )
                        .bind(term)
                        .bind(*at)
                        .bind(trade_id)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                sqlx::query("DELETE FROM search_state").execute(&mut *tx).await?;
                sqlx::query("INSERT INTO search_state (id, version) VALUES (1, $1)")
                    .bind(version)
                    .execute(&mut *tx)
                    .await?;
                self.commit(tx).await?;
                Ok(())
            }
        }
    };
}

pub(crate) use impl_search_store;
