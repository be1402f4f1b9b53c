//! The production store: PostgreSQL. Log appends are serialized with a transaction-scoped
//! advisory lock, so commit order equals sequence order across every server instance.
//! Each statement that appends to the log sends `NOTIFY tradehall_log` with the head it
//! wrote (a trigger, migration 0030; delivered at commit), and every instance listens: a
//! commit on one instance wakes the feed, the risk worker and the timers of all of them
//! (docs/adr/0018). A missed notification only delays them: they also look once a
//! second, and after a lost listening connection.

use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use sqlx::Postgres;
use std::sync::Arc;
use std::time::Duration;

use super::sql::impl_store;
use super::Result;
use crate::domain::clock::Clock;

/// Key of the advisory lock that serializes log appends ("tradehall" in ASCII, truncated).
const LOG_APPEND_LOCK: i64 = 0x7472_6164_6568_616c;

/// The channel commits are announced on (by the trigger of migration 0030); the payload
/// is the log's head (decimal).
pub const LOG_CHANNEL: &str = "tradehall_log";

/// PostgreSQL store.
pub struct PgStore {
    pool: PgPool,
    clock: Arc<dyn Clock>,
    /// Bumped after every committed write, here or (by notification) on another instance.
    appended: Arc<tokio::sync::watch::Sender<u64>>,
    gate: super::LogGate,
}

/// The pool both the primary and a replica use. sqlx pings a connection when it goes
/// back to the pool; its default ping on every acquire as well is one more round trip
/// per query or transaction, so it is off: a connection that dies while idle (a restart of
/// the server) fails the one statement that finds it dead, which the caller sees as
/// `unavailable` and may retry, and is then dropped (docs/adr/0024).
fn pool_options() -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(10))
        .test_before_acquire(false)
}

impl PgStore {
    /// Connects to `url` and applies migrations.
    pub async fn connect(url: &str, clock: Arc<dyn Clock>) -> Result<Self> {
        let pool = pool_options().connect(url).await?;
        sqlx::migrate!("migrations/postgres")
            .run(&pool)
            .await
            .map_err(|e| super::StoreError::Other(Box::new(e)))?;
        let store = Self {
            pool,
            clock,
            appended: Arc::new(tokio::sync::watch::channel(0).0),
            gate: super::LogGate::default(),
        };
        store.ensure_tree().await?;
        listen_for_commits(store.pool.clone(), Arc::downgrade(&store.appended));
        Ok(store)
    }

    /// Connects to a read replica of a database that `connect` set up: no migrations,
    /// nothing written; only reads are sent to it.
    pub async fn connect_replica(url: &str, clock: Arc<dyn Clock>) -> Result<Self> {
        let pool = pool_options().connect(url).await?;
        Ok(Self {
            pool,
            clock,
            appended: Arc::new(tokio::sync::watch::channel(0).0),
            gate: super::LogGate::default(),
        })
    }

    /// A transaction holding the log append lock until it commits or rolls back. The lock
    /// is taken in the same round trip as `BEGIN`: the write path's latency is mostly
    /// round trips (docs/adr/0024).
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Postgres>> {
        self.gate.check()?;
        self.begin_write_past_gate().await
    }

    /// A write transaction even while the log is halted: only for what is kept outside
    /// the log (the alert that says it is halted).
    async fn begin_write_past_gate(&self) -> Result<sqlx::Transaction<'static, Postgres>> {
        Ok(self
            .pool
            .begin_with(format!(
                "BEGIN; SELECT pg_advisory_xact_lock({LOG_APPEND_LOCK})"
            ))
            .await?)
    }
}

/// Follows [`LOG_CHANNEL`] and bumps `appended` on every notification, and after a lost
/// connection (notifications sent meanwhile are gone; whoever follows the log reads what
/// it missed). Stops when the store is dropped.
fn listen_for_commits(pool: PgPool, appended: std::sync::Weak<tokio::sync::watch::Sender<u64>>) {
    let alive = appended.clone();
    // Wakes the followers; `false` once the store is dropped.
    let bump = move || {
        appended
            .upgrade()
            .map(|a| a.send_modify(|n| *n = n.wrapping_add(1)))
            .is_some()
    };
    tokio::spawn(async move {
        let mut listener: Option<PgListener> = None;
        loop {
            let Some(l) = listener.as_mut() else {
                match PgListener::connect_with(&pool).await {
                    Ok(mut l) => match l.listen(LOG_CHANNEL).await {
                        Ok(()) => listener = Some(l),
                        Err(e) => tracing::warn!(error = %e, "cannot listen for commits"),
                    },
                    Err(e) => tracing::warn!(error = %e, "cannot listen for commits"),
                }
                // A (re)connection may have missed notifications: the followers read.
                if !bump() {
                    return;
                }
                if listener.is_none() {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                continue;
            };
            // At least once a second the loop looks whether the store was dropped.
            match tokio::time::timeout(Duration::from_secs(1), l.try_recv()).await {
                // A notification, or a lost connection that `try_recv` re-established.
                Ok(Ok(_)) => {
                    if !bump() {
                        return;
                    }
                }
                Ok(Err(e)) => {
                    if !bump() {
                        return;
                    }
                    tracing::warn!(error = %e, "lost the commit notifications; reconnecting");
                    listener = None;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                // Quiet: the followers look by themselves once a second.
                Err(_) => {
                    if alive.strong_count() == 0 {
                        return;
                    }
                }
            }
        }
    });
}

impl_store!(PgStore, Postgres);
super::supervision::impl_supervision_store!(PgStore, Postgres);
super::live::impl_live_store!(PgStore, Postgres);
super::reserve::impl_reserve_store!(PgStore);
super::refunds::impl_refund_store!(PgStore);
super::notices::impl_notice_store!(PgStore);
super::experts::impl_expert_store!(PgStore);
super::evaluation::impl_evaluation_store!(PgStore);
super::search::impl_search_store!(PgStore, sqlx::Postgres);
super::mirror::impl_mirror_store!(PgStore, sqlx::Postgres);
super::sale::impl_sale_store!(PgStore, Postgres);
