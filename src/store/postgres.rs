//! The production store: PostgreSQL. Log appends are serialized with a transaction-scoped
//! advisory lock, so commit order equals sequence order across every server instance.

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::Postgres;
use std::sync::Arc;
use std::time::Duration;

use super::sql::impl_store;
use super::Result;
use crate::domain::clock::Clock;

/// Key of the advisory lock that serializes log appends ("tradehall" in ASCII, truncated).
const LOG_APPEND_LOCK: i64 = 0x7472_6164_6568_616c;

/// PostgreSQL store.
pub struct PgStore {
    pool: PgPool,
    clock: Arc<dyn Clock>,
    /// Bumped after every committed write.
    appended: tokio::sync::watch::Sender<u64>,
}

impl PgStore {
    /// Connects to `url` and applies migrations.
    pub async fn connect(url: &str, clock: Arc<dyn Clock>) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        sqlx::migrate!("migrations/postgres")
            .run(&pool)
            .await
            .map_err(|e| super::StoreError::Other(Box::new(e)))?;
        let store = Self {
            pool,
            clock,
            appended: tokio::sync::watch::channel(0).0,
        };
        store.ensure_tree().await?;
        Ok(store)
    }

    /// A transaction holding the log append lock until it commits or rolls back.
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Postgres>> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(LOG_APPEND_LOCK)
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }
}

impl_store!(PgStore, Postgres);
super::supervision::impl_supervision_store!(PgStore, Postgres);
super::live::impl_live_store!(PgStore, Postgres);
super::reserve::impl_reserve_store!(PgStore);
super::refunds::impl_refund_store!(PgStore);
super::experts::impl_expert_store!(PgStore);
super::evaluation::impl_evaluation_store!(PgStore);
super::search::impl_search_store!(PgStore, sqlx::Postgres);
super::sale::impl_sale_store!(PgStore, Postgres);
