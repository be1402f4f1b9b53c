//! Trades: what is being sold or bought, under which procedure, on what schedule.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::money::{Currency, Money};
use super::region::RegionCode;
use super::usci::Usci;

/// Where a trade is in its life, as stored. Between the deadline and the opening record a
/// published trade is *opening* (see [`Trade::phase`]). Evaluation and result join later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TradeStatus {
    /// Created by the trading centre, not yet visible to the public.
    Draft,
    /// Announced; bids may be prepared until the deadline.
    Published,
    /// Opened: the signed opening record is published and enough bids were valid.
    Opened,
    /// Failed at the opening (流标): fewer valid bids than the rulebook's minimum; or a
    /// live sale that ended unsold (流拍).
    Failed,
    /// A live sale that ended sold (成交).
    Sold,
    /// Suspended by a supervisor (暂停, 电子招标投标办法 第52条): refuses bids,
    /// withdrawals, questions and contributions until resumed.
    Suspended,
    /// Terminated by a supervisor (终止): final.
    Terminated,
    /// Evaluated: the candidates are publicised (中标候选人公示, ADR 0014).
    Publicity,
    /// The award notice (中标通知书) is out; the contract is due.
    Awarded,
    /// The contract is recorded; the bonds go back.
    Contracted,
}

impl TradeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TradeStatus::Draft => "draft",
            TradeStatus::Published => "published",
            TradeStatus::Opened => "opened",
            TradeStatus::Failed => "failed",
            TradeStatus::Sold => "sold",
            TradeStatus::Suspended => "suspended",
            TradeStatus::Terminated => "terminated",
            TradeStatus::Publicity => "publicity",
            TradeStatus::Awarded => "awarded",
            TradeStatus::Contracted => "contracted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "draft" => Some(Self::Draft),
            "published" => Some(Self::Published),
            "opened" => Some(Self::Opened),
            "failed" => Some(Self::Failed),
            "sold" => Some(Self::Sold),
            "suspended" => Some(Self::Suspended),
            "terminated" => Some(Self::Terminated),
            "publicity" => Some(Self::Publicity),
            "awarded" => Some(Self::Awarded),
            "contracted" => Some(Self::Contracted),
            _ => None,
        }
    }
}

/// One lot (标段/包) of a trade.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lot {
    pub id: String,
    pub title: String,
    pub estimated_value: Money,
}

/// The buyer, tenderer or seller behind a trade.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Principal {
    pub name: String,
    pub usci: Usci,
}

/// The k-of-n opening committee: custodian identities whose keys together open sealed bids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpeningCommittee {
    pub custodians: Vec<String>,
    pub threshold: u8,
    /// The envelope suite bids are sealed with, and so the kind of key each custodian
    /// registers: 1 (X25519) unless the centre asks for 2 (国密, SM2).
    #[serde(default)]
    pub suite: crate::domain::suite::Suite,
}

/// Everything the trading centre states when it creates a trade.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TradeTerms {
    pub kind: String,
    pub procedure: String,
    pub title: String,
    pub principal: Principal,
    pub estimated_value: Money,
    #[serde(default)]
    pub currency: Currency,
    pub lots: Vec<Lot>,
    pub region_code: RegionCode,
    /// Bid deadline, which is also the opening time (招标投标法 第34条).
    #[serde(serialize_with = "crate::domain::clock::serde_rfc3339::serialize")]
    pub bid_deadline: DateTime<Utc>,
    pub bond_amount: Money,
    pub committee: OpeningCommittee,
    /// The sale's own terms, for a procedure of the live engine (listing, auction,
    /// dynamic bidding); absent for tenders (ADR 0010). For a live trade `bid_deadline`
    /// is the cut-off for applications and deposits and `bond_amount` the deposit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveTerms>,
    /// How a tender's bids are evaluated, from its documents (ADR 0014); absent: the
    /// lowest evaluated price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluation: Option<super::evaluation::EvaluationTerms>,
    /// The suppliers an invited procedure invites, or the one a single source names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub invited: Vec<Usci>,
    /// The round before this one, for a procedure with rounds (set only by
    /// `POST /trades/{id}/rounds`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_round: Option<String>,
    /// The failed or terminated trade this one tenders again (set only by
    /// `POST /trades/{id}/retender`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retender_of: Option<String>,
    /// What the announcement says in words: overview, qualifications, contact, and a
    /// right's parcel (ADR 0037).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub announcement: Option<super::announcement::Announcement>,
}

/// What a live sale states beyond a trade's terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveTerms {
    /// The start (listing) price: the first quote must reach it.
    pub start_price: Money,
    /// Every quote is a whole multiple of it, and at least the best plus it.
    pub increment: Money,
    /// When the listing, disclosure or auction starts.
    #[serde(serialize_with = "crate::domain::clock::serde_rfc3339::serialize")]
    pub starts_at: DateTime<Utc>,
    /// When the listing or disclosure period ends; absent for an auction.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::domain::clock::serde_rfc3339::option"
    )]
    pub ends_at: Option<DateTime<Utc>>,
    /// Seconds of the countdown each valid quote restarts; the rulebook's when absent.
    #[serde(default)]
    pub countdown_seconds: Option<u32>,
}

/// A trade as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Trade {
    pub id: String,
    #[serde(flatten)]
    pub terms: TradeTerms,
    pub status: TradeStatus,
    pub rulebook_version: String,
    pub rulebook_sha256: String,
    /// Demo acceleration: statutory periods are divided by this factor. `1` for real trades.
    pub time_scale: u32,
    #[serde(serialize_with = "crate::domain::clock::serde_rfc3339::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::domain::clock::serde_rfc3339::option")]
    pub published_at: Option<DateTime<Utc>>,
    /// When a supervisor suspended it, while it is suspended.
    #[serde(serialize_with = "crate::domain::clock::serde_rfc3339::option")]
    pub suspended_at: Option<DateTime<Utc>>,
}

impl Trade {
    pub fn is_demo(&self) -> bool {
        self.time_scale != 1
    }

    /// Where the trade is at `now`: its stored status, except that a published tender
    /// past its deadline is `opening` until its opening record exists, and a published
    /// live sale is `announced` before its start, `listing` until its end, and `closing`
    /// after it.
    pub fn phase(&self, now: DateTime<Utc>) -> &'static str {
        match (self.status, &self.terms.live) {
            (TradeStatus::Published, Some(live)) if now < live.starts_at => "announced",
            (TradeStatus::Published, Some(live)) if live.ends_at.is_none_or(|end| now < end) => {
                "listing"
            }
            (TradeStatus::Published, Some(_)) => "closing",
            (TradeStatus::Published, None) if now >= self.terms.bid_deadline => "opening",
            (TradeStatus::Published, None) => "bidding",
            (other, _) => other.as_str(),
        }
    }
}

/// A document attached to a trade, stored by its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TradeDocument {
    pub name: String,
    pub sha256: String,
    pub size: i64,
    pub media_type: String,
    #[serde(serialize_with = "crate::domain::clock::serde_rfc3339::serialize")]
    pub added_at: DateTime<Utc>,
}

/// A change notice (变更公告): after the announcement, the only way a trade's documents
/// change. Numbered from 1 per trade; public, like the announcement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangeNotice {
    pub number: i64,
    pub notice: String,
    #[serde(serialize_with = "crate::domain::clock::serde_rfc3339::serialize")]
    pub issued_at: DateTime<Utc>,
    /// The bid deadline the notice moved to (the rulebook's clarification cut-off), if
    /// it moved.
    #[serde(serialize_with = "crate::domain::clock::serde_rfc3339::option")]
    pub new_deadline: Option<DateTime<Utc>>,
    pub documents: Vec<ChangedDocument>,
}

/// A document a change notice adds or replaces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangedDocument {
    pub name: String,
    pub sha256: String,
    pub size: i64,
    pub media_type: String,
    /// The version it replaces; `None` when the notice adds a document.
    pub previous_sha256: Option<String>,
}

/// A bidder's question and, once given, the centre's public answer. The asker is never
/// part of this public view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Clarification {
    pub id: String,
    pub trade_id: String,
    pub question: String,
    #[serde(serialize_with = "crate::domain::clock::serde_rfc3339::serialize")]
    pub asked_at: DateTime<Utc>,
    pub answer: Option<String>,
    #[serde(serialize_with = "crate::domain::clock::serde_rfc3339::option")]
    pub answered_at: Option<DateTime<Utc>>,
}

/// A custodian's per-trade public key as registered: bids for the trade are sealed to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustodianKey {
    pub custodian: String,
    /// Hex SHA-256 of the public key.
    pub key_id: String,
    /// The 32-byte X25519 public key.
    #[serde(serialize_with = "base64_bytes")]
    pub public_key: Vec<u8>,
    /// The custodian's certificate signature over the key (docs/protocol.md).
    #[serde(serialize_with = "base64_bytes")]
    pub signature: Vec<u8>,
    #[serde(serialize_with = "crate::domain::clock::serde_rfc3339::serialize")]
    pub registered_at: DateTime<Utc>,
    /// The custodian's certificate (DER) the signature verifies with, issued by a
    /// recognised root (`GET /api/v1/trust/roots`).
    #[serde(serialize_with = "base64_bytes")]
    pub certificate: Vec<u8>,
    /// The log entry that registered the key (`trade.custodian_key_registered`): not part
    /// of that entry, which cannot name itself; none for keys registered before it was
    /// kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_index: Option<i64>,
}

fn base64_bytes<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    use base64::Engine as _;
    s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// A sealed bid as the platform holds it before the opening: whose, which envelope, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBid {
    pub id: String,
    pub trade_id: String,
    pub bidder_id: String,
    pub envelope_sha256: String,
    pub envelope_len: i64,
    /// Where the envelope file is, relative to the bid directory.
    pub storage_path: String,
    pub salt: [u8; 32],
    pub blinded_commitment: String,
    pub received_at: DateTime<Utc>,
    pub seq: i64,
    pub status: String,
}
