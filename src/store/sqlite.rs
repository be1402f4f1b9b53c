//! The embedded default: SQLite in WAL mode, one writer at a time (`BEGIN IMMEDIATE`).

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::Sqlite;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use super::sql::impl_store;
use super::Result;
use crate::domain::clock::Clock;

/// SQLite store. Reads share a pool; writes go through a pool of one connection and take
/// the database write lock up front with `BEGIN IMMEDIATE`, which is what serializes log
/// appends. Writers queue for that connection in order instead of polling SQLite's busy
/// handler, whose sleeps would cap intake on deadline day.
pub struct SqliteStore {
    pool: SqlitePool,
    write_pool: SqlitePool,
    clock: Arc<dyn Clock>,
    /// Bumped after every committed write.
    appended: tokio::sync::watch::Sender<u64>,
    gate: super::LogGate,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url`, e.g. `sqlite:data/tradehall.db`,
    /// and applies migrations.
    pub async fn connect(url: &str, clock: Arc<dyn Clock>) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: an acknowledged write survives power loss, not only a process crash.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("migrations/sqlite")
            .run(&pool)
            .await
            .map_err(|e| super::StoreError::Other(Box::new(e)))?;
        let write_pool = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?;
        let store = Self {
            pool,
            write_pool,
            clock,
            appended: tokio::sync::watch::channel(0).0,
            gate: super::LogGate::default(),
        };
        store.ensure_tree().await?;
        Ok(store)
    }

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Sqlite>> {
        self.gate.check()?;
        self.begin_write_past_gate().await
    }

    /// A write transaction even while the log is halted: only for what is kept outside
    /// the log (the alert that says it is halted).
    async fn begin_write_past_gate(&self) -> Result<sqlx::Transaction<'static, Sqlite>> {
        Ok(self.write_pool.begin_with("BEGIN IMMEDIATE").await?)
    }
}

impl_store!(SqliteStore, Sqlite);
super::supervision::impl_supervision_store!(SqliteStore, Sqlite);
super::live::impl_live_store!(SqliteStore, Sqlite);
super::reserve::impl_reserve_store!(SqliteStore);
super::refunds::impl_refund_store!(SqliteStore);
super::notices::impl_notice_store!(SqliteStore);
super::experts::impl_expert_store!(SqliteStore);
super::evaluation::impl_evaluation_store!(SqliteStore);
super::search::impl_search_store!(SqliteStore, sqlx::Sqlite);
super::mirror::impl_mirror_store!(SqliteStore, sqlx::Sqlite);
super::sale::impl_sale_store!(SqliteStore, Sqlite);
