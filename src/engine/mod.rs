//! Use cases: everything the platform does, composed from `domain`, `crypto` and `store`.
//!
//! The [`Platform`] owns the clock, the store, the rulebook and the trust store; each use
//! case checks who is asking, applies the rules, and hands the store one atomic change
//! together with the log entries that describe it.

mod applications;
mod archive;
mod auth;
mod award;
mod bank;
mod bids;
mod calendar;
mod committee;
mod error;
mod evaluation;
mod events;
mod experts;
mod feed;
mod group_commit;
mod intake;
mod interventions;
mod log;
mod log_audit;
mod mirror;
mod node_reads;
mod notices;
pub mod ocds;
mod opening;
mod quote_writer;
mod region;
mod reserve;
mod risk;
mod rounds;
mod sales;
mod search;
mod sessions;
mod trades;
mod trust;
mod upper_nodes;

pub use applications::NewApplication;
pub use auth::{
    auth_message, AuthProof, LoginOutcome, OrganizationClaim, Registration, AUTH_MESSAGE_PREFIX,
};
pub use award::{
    AwardOrder, ComplaintView, ContractRecord, Filing, ObjectionView, ResultView, RetenderOrder,
    Ruling, MAX_TEXT_CHARS,
};
pub use bank::{
    BankSecrets, ClaimedRefunds, MyMoney, SignedNotification, TradeMoney, BANK_WINDOW_SECONDS,
    MAX_CLAIM, MIN_BANK_SECRET_BYTES,
};
pub use bids::INLINE_ENVELOPE_BYTES;
pub use committee::KeyRegistration;
pub use error::EngineError;
pub use evaluation::{
    Acknowledged, Assignment, EvaluationStatus, ReportSigning, ReportView, SheetSubmission,
    MAX_DISSENT_CHARS,
};
pub use events::PublicEvent;
pub use experts::{DrawOrder, DrawView};
pub use feed::{Feed, FeedEvent, Frame, PrivateSide, Subscription, View};
pub use intake::Intake;
pub use interventions::MAX_REASON_CHARS;
pub use log::{Checkpoints, ConsistencyProof, InclusionProof, RawEntry, MAX_ENTRIES};
pub use log_audit::{SignedRecord, SIGNED_RECORD};
pub use mirror::{CosignedCheckpoint, Followed, FollowedView, MirrorRun, Witness};
pub use notices::{
    MyDocument, MyDocuments, NoticeDocument, MAX_NOTICE_CHARS, MAX_NOTICE_DOCUMENTS,
};
pub use opening::{ContributionOutcome, Openings};
pub use quote_writer::QuoteWriter;
pub use region::{RegionQuery, RegionTrade, RegionTradeDetail, MAX_REGION_TRADES};
pub use reserve::{SealedReserve, MAX_RESERVE_ENVELOPE};
pub use risk::{AlertFilter, MAX_ALERTS, MAX_NOTE_CHARS};
pub use rounds::NextRound;
pub use sales::{
    KnownBests, NewQuote, QuoteAnswer, QuotingCache, SaleView, Standing, MAX_CLIENT_QUOTE_ID,
    TIMER_TICK,
};
pub use search::{SearchPage, SearchParams, MAX_RESULTS};
pub use sessions::{SessionCache, SESSION_CACHE_TTL};
pub use trades::{NewTrade, TradeFilter, TradePage, TradeView};
pub use trust::StandingCache;

use std::sync::Arc;

use chrono::Duration;

use crate::crypto::digest::{commit, random_bytes};
use crate::crypto::platform_key::PlatformKey;
use crate::crypto::trust::ReloadableTrust;
use crate::domain::clock::Clock;
use crate::domain::event::{Audit, NewEvent, Sealed};
use crate::domain::identity::{Identity, Role};
use crate::domain::rulebook::Rulebook;
use crate::store::Store;

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

/// Settings the use cases depend on.
#[derive(Debug, Clone)]
pub struct Settings {
    /// SHA-256 fingerprints (hex) of the administrator certificates named in config.
    pub admin_fingerprints: Vec<String>,
    /// Demo/dev mode: allows accelerated trades. Never in production.
    pub demo_mode: bool,
    pub challenge_ttl: Duration,
    pub session_ttl: Duration,
    pub max_document_bytes: usize,
    /// Where sealed envelopes are stored (a directory that survives restarts).
    pub bid_dir: std::path::PathBuf,
    /// Largest envelope accepted.
    pub max_envelope_bytes: u64,
    /// The transparency log's origin line and checkpoint key name.
    pub log_origin: String,
    /// The secret each bank signs its notifications with.
    pub bank_secrets: BankSecrets,
    /// Open data: the ocid prefix, the publisher and the public address.
    pub ocds: OcdsSettings,
    /// The platforms this one follows (a region its prefectures).
    pub follow: Vec<Followed>,
    /// The witnesses whose cosignatures of this log are taken and published.
    pub witnesses: Vec<Witness>,
}

/// How open data names this platform (docs/ocds.md).
#[derive(Debug, Clone)]
pub struct OcdsSettings {
    pub prefix: String,
    pub publisher: String,
    /// The platform's public address, without a trailing slash.
    pub base_url: String,
}

impl Default for OcdsSettings {
    fn default() -> Self {
        Self {
            prefix: "ocds-th0dev".into(),
            publisher: "tradehall 公共资源交易平台".into(),
            base_url: "https://tradehall.local".into(),
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            admin_fingerprints: Vec::new(),
            demo_mode: false,
            challenge_ttl: Duration::minutes(2),
            session_ttl: Duration::hours(8),
            max_document_bytes: 64 * 1024 * 1024,
            bid_dir: std::path::PathBuf::from("data/bids"),
            max_envelope_bytes: 4 * 1024 * 1024 * 1024,
            log_origin: "tradehall.local/log".into(),
            bank_secrets: BankSecrets::default(),
            ocds: OcdsSettings::default(),
            follow: Vec::new(),
            witnesses: Vec::new(),
        }
    }
}

/// The running platform: shared by every request.
pub struct Platform {
    pub store: Arc<dyn Store>,
    /// Where the public read-heavy use cases read (trade listing for anonymous callers,
    /// search, open data): a read replica (`--read-database-url`), or the same store.
    pub reads: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub rulebook: Rulebook,
    /// The working-day calendar every period is counted on.
    pub calendar: crate::domain::calendar::Calendar,
    pub trust: Arc<ReloadableTrust>,
    /// Signs receipts, checkpoints and opening records.
    pub platform_key: Arc<PlatformKey>,
    pub settings: Settings,
    /// Openings in progress in this process (one-time keys and shares; memory only).
    pub openings: Openings,
    /// Bids waiting for the next group commit.
    pub intake: Intake,
    /// The newest signed log checkpoint.
    pub checkpoints: Checkpoints,
    /// The live feed's hub (started by [`Platform::start_feed`]).
    pub feed: Feed,
    /// The best quote of each live sale seen here, to refuse losing quotes early.
    pub known_bests: KnownBests,
    /// Live trades and bidder numbers the quote path keeps (see [`QuotingCache`]).
    pub quoting_cache: QuotingCache,
    /// Sessions found valid lately (see [`SessionCache`]).
    pub sessions: SessionCache,
    /// Certificates found in good standing lately (see [`StandingCache`]).
    pub standing: StandingCache,
    /// Quotes waiting for the next write transaction.
    pub quote_writer: QuoteWriter,
}

/// Who is asking and from where; turned into the audit record of every state change
/// (电子招标投标办法 第49条).
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub identity: Option<Identity>,
    pub client_addr: Option<String>,
    pub request_id: Option<String>,
}

impl Caller {
    /// The identity, if it is active in `role`.
    pub fn require(&self, role: Role) -> Result<&Identity> {
        let identity = self.identity.as_ref().ok_or(EngineError::Unauthenticated)?;
        if identity.acts_as(role) {
            Ok(identity)
        } else {
            Err(EngineError::Forbidden { needed: role })
        }
    }

    fn audit(&self) -> Audit {
        Audit {
            actor: self.identity.as_ref().map(|i| i.id.clone()),
            client_addr: self.client_addr.clone(),
            request_id: self.request_id.clone(),
        }
    }
}

/// Standard base64, as the API carries bytes.
pub(crate) fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Stored data the engine cannot read back (it was written by us, so it is corrupt).
pub(crate) fn corrupt(e: impl std::error::Error + Send + Sync + 'static) -> EngineError {
    EngineError::Store(crate::store::StoreError::Other(Box::new(e)))
}

/// Data to be committed now and revealed later: a commitment for the public entry, and the
/// salt and data for the private table.
pub(crate) fn seal(name: &'static str, data: Vec<u8>) -> (String, Sealed) {
    let salt = random_bytes::<32>();
    (commit(&salt, &data), Sealed { name, salt, data })
}

/// A log event about `trade_id` whose public entry does not name the trade: the trade
/// goes in the sealed data (`trade`), where the feed finds it to scope the event to the
/// trade's supervisors.
pub(crate) fn event_hiding_trade(
    caller: &Caller,
    kind: &'static str,
    trade_id: &str,
    data: serde_json::Value,
    mut sealed: Vec<Sealed>,
) -> NewEvent {
    sealed.push(seal("trade", trade_id.as_bytes().to_vec()).1);
    event(caller, kind, None, data, sealed)
}

/// Builds a log event with the caller's audit record committed.
pub(crate) fn event(
    caller: &Caller,
    kind: &'static str,
    trade_id: Option<&str>,
    data: serde_json::Value,
    sealed: Vec<Sealed>,
) -> NewEvent {
    let audit = caller.audit();
    let audit_salt = random_bytes::<32>();
    let audit_commitment = commit(&audit_salt, &serde_json::to_vec(&audit).unwrap_or_default());
    NewEvent {
        kind,
        trade_id: trade_id.map(str::to_owned),
        data,
        audit,
        audit_salt,
        audit_commitment,
        sealed,
    }
}
