//! Persistence: the [`Store`] trait and its SQLite and PostgreSQL implementations.
//!
//! Every method that changes state runs in one transaction that also appends the
//! event(s) describing the change to the log, under the log's write lock (`BEGIN
//! IMMEDIATE` on SQLite, a transaction-scoped advisory lock on PostgreSQL). Sequence
//! numbers are assigned as `max + 1` under that lock, so the log has no gaps and commit
//! order equals sequence order.

mod postgres;
mod rows;
mod sql;
mod sqlite;

pub mod evaluation;
pub mod experts;
pub mod live;
pub mod mirror;
pub mod notices;
pub mod refunds;
pub mod reserve;
pub mod sale;
pub mod search;
pub mod supervision;
pub use postgres::PgStore;
pub use sqlite::SqliteStore;
pub use supervision::{AlertQuery, NewAlert, SupervisionStore};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::Arc;

use crate::domain::clock::Clock;
use crate::domain::event::{Audit, LoggedEvent, NewEvent};
use crate::domain::identity::{Identity, IdentityStatus, Role};
use crate::domain::trade::{
    Clarification, CustodianKey, StoredBid, Trade, TradeDocument, TradeStatus,
};

/// What went wrong in the store, in terms the engine can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness or state precondition failed; the text says which.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database cannot be reached or is restarting: nothing was done, and the same
    /// request may be retried.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The disk under the database or the data directory is full: nothing was done, and
    /// the same request may be retried once space is freed.
    #[error("storage full: {0}")]
    Full(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The log's audit found it disagreeing with itself or with a checkpoint the platform
    /// signed: it takes no entry until an operator restores it (the text says why).
    #[error("the log is halted: {0}")]
    Halted(String),
    #[error("database error: {0}")]
    Other(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Whether the log takes entries. Every write goes through it (`begin_write`); the log's
/// audit closes it for good when it finds the log inconsistent (`engine::log_audit`).
#[derive(Debug, Default)]
pub struct LogGate(std::sync::RwLock<Option<String>>);

impl LogGate {
    /// Closes the gate with `why`; the first reason stays.
    pub fn close(&self, why: &str) {
        let mut closed = self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if closed.is_none() {
            *closed = Some(why.to_owned());
        }
    }

    /// Why the log takes no entry, if it does not.
    pub fn closed(&self) -> Option<String> {
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Refuses a write while closed.
    pub fn check(&self) -> Result<()> {
        match self.closed() {
            Some(why) => Err(StoreError::Halted(why)),
            None => Ok(()),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(db.constraint().unwrap_or("unique").to_owned())
            }
            // A lost connection, a pool that cannot connect, a server shutting down or
            // starting up (SQLSTATE classes 08 and 57P).
            sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => {
                StoreError::Unavailable(Box::new(e))
            }
            sqlx::Error::Database(ref db)
                if db
                    .code()
                    .is_some_and(|c| c.starts_with("08") || c.starts_with("57P")) =>
            {
                StoreError::Unavailable(Box::new(e))
            }
            // SQLite's SQLITE_FULL (13, with its extended codes), PostgreSQL's disk_full
            // (53100).
            sqlx::Error::Database(ref db)
                if db.code().is_some_and(|c| {
                    c == "53100" || c.parse::<i64>().is_ok_and(|n| n & 0xff == 13)
                }) =>
            {
                StoreError::Full(Box::new(e))
            }
            other => StoreError::Other(Box::new(other)),
        }
    }
}

impl StoreError {
    /// The same failure, for another item of a batch it failed: the same kind, with the
    /// source as text.
    pub fn again(&self) -> Self {
        let text = |e: &(dyn std::error::Error + Send + Sync)| -> Box<dyn std::error::Error + Send + Sync> {
            e.to_string().into()
        };
        match self {
            StoreError::NotFound => StoreError::NotFound,
            StoreError::Conflict(c) => StoreError::Conflict(c.clone()),
            StoreError::Unavailable(e) => StoreError::Unavailable(text(e.as_ref())),
            StoreError::Full(e) => StoreError::Full(text(e.as_ref())),
            StoreError::Halted(why) => StoreError::Halted(why.clone()),
            StoreError::Other(e) => StoreError::Other(text(e.as_ref())),
        }
    }

    /// A failed write to the data directory: `Full` when the disk (or quota) is full.
    pub fn from_io(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::StorageFull || e.raw_os_error() == Some(122) {
            StoreError::Full(Box::new(e))
        } else {
            StoreError::Other(Box::new(e))
        }
    }
}

/// The outcome of presenting a login/registration nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeState {
    /// Valid and now spent.
    Consumed,
    /// Issued by us but past its expiry.
    Expired,
    /// Already spent: a replay.
    Replayed,
    /// Never issued.
    Unknown,
}

/// A new certificate identity and its organisation.
#[derive(Debug, Clone)]
pub struct NewIdentity {
    pub identity: Identity,
    pub cert_der: Vec<u8>,
}

/// A bid to record, with its envelope if it is kept in the database (see
/// [`INLINE_STORAGE`]) rather than as a file, and its log entry.
#[derive(Debug, Clone)]
pub struct NewBid {
    pub bid: StoredBid,
    pub envelope: Option<Vec<u8>>,
    pub event: NewEvent,
}

/// `StoredBid::storage_path` of an envelope kept in the database.
pub const INLINE_STORAGE: &str = "db";

/// A signed opening record as stored: the exact canonical bytes that were signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredOpening {
    pub outcome: TradeStatus,
    pub record: Vec<u8>,
    pub signature: Vec<u8>,
    pub key_id: String,
    /// Log index of the `opening.completed` entry.
    pub seq: i64,
    pub opened_at: DateTime<Utc>,
}

/// The server instance that holds a trade's opening session (docs/adr/0018).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpeningSession {
    pub trade_id: String,
    /// The id of the one-time opening key the session holds.
    pub key_id: String,
    /// The process holding it: a fresh id at every start.
    pub instance_id: String,
    /// Where the other instances reach it.
    pub instance_url: String,
    pub started_at: DateTime<Utc>,
}

/// Filters and position for listing trades, newest first.
#[derive(Debug, Clone, Default)]
pub struct TradeQuery {
    pub kind: Option<String>,
    pub status: Option<String>,
    /// Prefix of the 行政区划代码 (see `RegionCode::prefix`).
    pub region_prefix: Option<String>,
    pub include_drafts: bool,
    /// Published at or after this instant (ms).
    pub published_from: Option<i64>,
    /// Published before this instant (ms).
    pub published_to: Option<i64>,
    /// Opening (a sealed-bid trade's bid deadline, a live sale's start) at or after this
    /// instant (ms).
    pub opening_from: Option<i64>,
    /// Opening before this instant (ms).
    pub opening_to: Option<i64>,
    /// Continue after this (created_at ms, id).
    pub after: Option<(i64, String)>,
    pub limit: i64,
}

/// A clarification answer and the deadline it may move.
#[derive(Debug, Clone)]
pub struct ClarificationAnswer {
    pub trade_id: String,
    pub clarification_id: String,
    pub answer: String,
    pub answered_at: DateTime<Utc>,
    pub new_deadline: Option<DateTime<Utc>>,
}

#[async_trait]
pub trait Store:
    SupervisionStore
    + live::LiveStore
    + sale::SaleStore
    + reserve::ReserveStore
    + refunds::RefundStore
    + notices::NoticeStore
    + experts::ExpertStore
    + evaluation::EvaluationStore
    + search::SearchStore
    + mirror::MirrorStore
    + Send
    + Sync
    + 'static
{
    /// Whether the database answers (readiness).
    async fn ping(&self) -> Result<()>;

    async fn insert_challenge(&self, nonce: &str, expires_at: DateTime<Utc>) -> Result<()>;
    /// Spends a nonce exactly once.
    async fn consume_challenge(&self, nonce: &str, now: DateTime<Utc>) -> Result<ChallengeState>;

    /// Registers an identity (creating its organisation on first use). Conflict if the
    /// certificate is already registered or the USCI belongs to another name.
    async fn register_identity(&self, new: &NewIdentity, event: NewEvent) -> Result<i64>;
    async fn identity(&self, id: &str) -> Result<Option<Identity>>;
    async fn identity_by_fingerprint(&self, fingerprint: &str) -> Result<Option<Identity>>;
    /// Identities in `status`, optionally only those in `role`, oldest first.
    async fn identities(&self, status: IdentityStatus, role: Option<Role>)
        -> Result<Vec<Identity>>;
    /// Makes a pending identity active in `role`.
    /// Activates a pending identity in `role`, supervising `region` if it is a supervisor.
    async fn grant_role(
        &self,
        id: &str,
        role: Role,
        region: Option<&crate::domain::region::RegionCode>,
        event: NewEvent,
    ) -> Result<i64>;

    /// Records a login session (only the token's digest) and its log entry.
    async fn insert_session(
        &self,
        token_sha256: &str,
        identity_id: &str,
        expires_at: DateTime<Utc>,
        event: NewEvent,
    ) -> Result<i64>;
    /// Ends a session (sign-out): its token authenticates nothing after this.
    async fn end_session(&self, token_sha256: &str) -> Result<()>;
    /// The identity behind an unexpired session, and when the session expires.
    async fn session_identity(
        &self,
        token_sha256: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(Identity, DateTime<Utc>)>>;

    async fn create_trade(&self, trade: &Trade, created_by: &str, event: NewEvent) -> Result<i64>;
    async fn trade(&self, id: &str) -> Result<Option<Trade>>;
    /// The trades with these ids that exist, in no particular order.
    async fn trades(&self, ids: &[&str]) -> Result<Vec<Trade>>;
    async fn list_trades(&self, query: &TradeQuery) -> Result<Vec<Trade>>;
    /// Draft → published, indexed for search under `terms`. Conflict if the trade is not
    /// a draft.
    async fn publish_trade(
        &self,
        id: &str,
        at: DateTime<Utc>,
        terms: &[String],
        event: NewEvent,
    ) -> Result<i64>;
    /// Conflict if the trade already has a document of that name.
    async fn add_document(
        &self,
        trade_id: &str,
        doc: &TradeDocument,
        content: &[u8],
        event: NewEvent,
    ) -> Result<i64>;
    async fn trade_documents(&self, trade_id: &str) -> Result<Vec<TradeDocument>>;
    /// A stored document's media type and bytes.
    /// A document's media type and bytes; with `include_drafts` false, only if a trade that
    /// has been announced carries it.
    async fn document(
        &self,
        sha256: &str,
        include_drafts: bool,
    ) -> Result<Option<(String, Vec<u8>)>>;

    async fn ask_clarification(
        &self,
        c: &Clarification,
        asker_id: &str,
        question_salt: &[u8; 32],
        event: NewEvent,
    ) -> Result<i64>;
    /// Records the answer (Conflict if already answered), moves the deadline if given, and
    /// appends `events` in order. Returns the last sequence number.
    async fn answer_clarification(
        &self,
        answer: &ClarificationAnswer,
        events: Vec<NewEvent>,
    ) -> Result<i64>;
    async fn clarifications(&self, trade_id: &str) -> Result<Vec<Clarification>>;
    /// The questions one identity asked, on every trade, newest first, at most `limit`.
    async fn clarifications_asked_by(
        &self,
        asker_id: &str,
        limit: i64,
    ) -> Result<Vec<Clarification>>;
    /// A clarification and the salt of its question's commitment.
    async fn clarification(&self, id: &str) -> Result<Option<(Clarification, Vec<u8>)>>;

    /// The DER certificate an identity registered with.
    async fn identity_certificate(&self, id: &str) -> Result<Option<Vec<u8>>>;
    /// Records a custodian's per-trade key. Conflict if that custodian already has one.
    async fn register_custodian_key(
        &self,
        trade_id: &str,
        key: &CustodianKey,
        event: NewEvent,
    ) -> Result<i64>;
    /// A trade's registered custodian keys, in registration order.
    async fn custodian_keys(&self, trade_id: &str) -> Result<Vec<CustodianKey>>;

    /// Records bids received now, in order, in one transaction (group commit). Each is
    /// taken if its log entry's time (store time, under the log lock) is before its trade's
    /// deadline, and the bidder's earlier active bid becomes `replaced`; its result is the
    /// stored bid with its log index and receipt time, or Conflict `after_deadline`. Any
    /// other failure fails them all, and nothing is stored.
    async fn submit_bids(&self, bids: &[NewBid]) -> Result<Vec<Result<StoredBid>>>;
    /// The envelope of a bid kept in the database.
    async fn bid_envelope(&self, bid_id: &str) -> Result<Option<Vec<u8>>>;
    /// Withdraws the bidder's active bid before the deadline. Conflict `after_deadline` or
    /// `no_active_bid`.
    async fn withdraw_bid(&self, trade_id: &str, bidder_id: &str, event: NewEvent) -> Result<i64>;
    /// The bidder's active bid on a trade.
    async fn active_bid(&self, trade_id: &str, bidder_id: &str) -> Result<Option<StoredBid>>;

    /// A trade's active bids (one per bidder), in log order.
    async fn active_bids(&self, trade_id: &str) -> Result<Vec<StoredBid>>;
    /// A bidder's active bids on every trade, newest first, at most `limit`.
    async fn bids_of(&self, bidder_id: &str, limit: i64) -> Result<Vec<StoredBid>>;
    /// The end of the trade's opening window, if a supervisor extended it.
    async fn opening_extension(&self, trade_id: &str) -> Result<Option<DateTime<Utc>>>;
    /// Sets the end of the opening window (a supervisor's logged extension).
    async fn extend_opening(
        &self,
        trade_id: &str,
        ends_at: DateTime<Utc>,
        event: NewEvent,
    ) -> Result<i64>;
    /// Stores the signed opening record and moves the published trade to its outcome
    /// (`Opened` or `Failed`) with its log entry, atomically. Conflict `already_opened`.
    async fn record_opening(
        &self,
        trade_id: &str,
        opening: &StoredOpening,
        event: NewEvent,
    ) -> Result<i64>;
    async fn opening_record(&self, trade_id: &str) -> Result<Option<StoredOpening>>;
    /// The instance holding the trade's opening session, if one started.
    async fn opening_session(&self, trade_id: &str) -> Result<Option<OpeningSession>>;
    /// Records `session` and appends its `opening.started` event, if no session is
    /// recorded (`replacing` = `None`) or the recorded one holds the key `replacing`.
    /// Otherwise nothing changes and `None` comes back: another instance started first.
    async fn start_opening_session(
        &self,
        session: &OpeningSession,
        replacing: Option<&str>,
        event: NewEvent,
    ) -> Result<Option<i64>>;

    /// The number of entries in the log (its tree size).
    async fn log_size(&self) -> Result<u64>;
    /// The number of leaves of the stored Merkle tree: the log size, unless the two were
    /// made to disagree behind the platform's back.
    async fn tree_size(&self) -> Result<u64>;
    /// The gate every write of this store passes.
    fn gate(&self) -> &LogGate;
    /// The time of the newest log entry, if any.
    async fn last_entry_at(&self) -> Result<Option<chrono::DateTime<chrono::Utc>>>;
    /// The stored Merkle tree nodes among `ids` (see `domain::merkle`).
    async fn log_nodes(
        &self,
        ids: &[crate::domain::merkle::NodeId],
    ) -> Result<std::collections::HashMap<crate::domain::merkle::NodeId, crate::domain::merkle::Hash>>;

    /// Up to `limit` stored Merkle tree nodes from `from` on, in (level, index) order.
    async fn log_nodes_from(
        &self,
        from: crate::domain::merkle::NodeId,
        limit: i64,
    ) -> Result<Vec<(crate::domain::merkle::NodeId, crate::domain::merkle::Hash)>>;

    /// Appends one event on its own.
    async fn append(&self, event: NewEvent) -> Result<i64>;
    /// Appends `events` in order in one transaction (one flush); returns their numbers.
    async fn append_batch(&self, events: &[NewEvent]) -> Result<Vec<i64>>;
    /// Entries with `seq > after`, in order, at most `limit`.
    async fn events_after(&self, after: i64, limit: i64) -> Result<Vec<LoggedEvent>>;
    /// Entries of `kinds` after `after`, in log order, at most `limit`.
    async fn events_of_kinds(
        &self,
        after: i64,
        kinds: &[&'static str],
        limit: i64,
    ) -> Result<Vec<LoggedEvent>>;
    /// Every entry that names the trade, in log order.
    async fn trade_events(&self, trade_id: &str) -> Result<Vec<LoggedEvent>>;
    /// A trade's entries of `kinds`, in log order.
    async fn trade_events_of_kinds(
        &self,
        trade_id: &str,
        kinds: &[&'static str],
    ) -> Result<Vec<LoggedEvent>>;
    /// The private side (audit record, sealed data) of entries `after < seq <= upto`.
    async fn private_parts(
        &self,
        after: i64,
        upto: i64,
    ) -> Result<std::collections::BTreeMap<i64, crate::domain::event::EntryPrivate>>;
    /// Changes whenever a write commits: the signal to read the log again.
    fn appended(&self) -> tokio::sync::watch::Receiver<u64>;
    /// The private audit record of entry `seq` and the salt of its commitment.
    async fn audit(&self, seq: i64) -> Result<Option<(Audit, Vec<u8>)>>;
}

/// Opens the store named by `url` (`sqlite:…` or `postgres://…`) and applies migrations.
/// Connects to a PostgreSQL read replica (`postgres://…`) for reads only (see
/// `Platform::reads`).
pub async fn connect_replica(url: &str, clock: Arc<dyn Clock>) -> Result<Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::connect_replica(url, clock).await?))
    } else {
        Err(StoreError::Other(
            "a read replica URL must start with postgres://".into(),
        ))
    }
}

pub async fn connect(url: &str, clock: Arc<dyn Clock>) -> Result<Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::connect(url, clock).await?))
    } else if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url, clock).await?))
    } else {
        Err(StoreError::Other(
            "database URL must start with sqlite: or postgres://".into(),
        ))
    }
}
