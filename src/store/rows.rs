//! Row wrappers: what the tables hold, converted to domain types here so the domain never
//! depends on sqlx.

use crate::domain::clock::from_millis;
use crate::domain::event::LoggedEvent;
use crate::domain::identity::{Identity, IdentityStatus, Role};
use crate::domain::money::{Currency, Money};
use crate::domain::region::RegionCode;
use crate::domain::trade::{
    Clarification, LiveTerms, Lot, OpeningCommittee, Principal, StoredBid, Trade, TradeDocument,
    TradeStatus, TradeTerms,
};
use crate::domain::usci::Usci;

use super::StoreError;

fn corrupt(what: &str) -> StoreError {
    StoreError::Other(format!("stored {what} is not valid").into())
}

#[derive(sqlx::FromRow)]
pub struct IdentityRow {
    pub id: String,
    pub name: String,
    pub usci: String,
    pub role: String,
    pub status: String,
    pub cert_fingerprint: String,
    pub subject: String,
    pub region_code: Option<String>,
}

impl TryFrom<IdentityRow> for Identity {
    type Error = StoreError;
    fn try_from(r: IdentityRow) -> Result<Self, StoreError> {
        Ok(Identity {
            id: r.id,
            organization: r.name,
            usci: Usci::parse(&r.usci).map_err(|_| corrupt("usci"))?,
            role: Role::parse(&r.role).ok_or_else(|| corrupt("role"))?,
            status: IdentityStatus::parse(&r.status).ok_or_else(|| corrupt("status"))?,
            cert_fingerprint: r.cert_fingerprint,
            subject: r.subject,
            region: r
                .region_code
                .map(|c| crate::domain::region::RegionCode::parse(&c))
                .transpose()
                .map_err(|_| corrupt("region_code"))?,
        })
    }
}

/// An identity with the expiry of the session it was found by.
#[derive(sqlx::FromRow)]
pub struct SessionRow {
    pub expires_at: i64,
    #[sqlx(flatten)]
    pub identity: IdentityRow,
}

impl TryFrom<SessionRow> for (Identity, chrono::DateTime<chrono::Utc>) {
    type Error = StoreError;
    fn try_from(r: SessionRow) -> Result<Self, StoreError> {
        Ok((r.identity.try_into()?, from_millis(r.expires_at)))
    }
}

#[derive(sqlx::FromRow)]
pub struct TradeRow {
    pub id: String,
    pub kind: String,
    pub procedure: String,
    pub title: String,
    pub principal_name: String,
    pub principal_usci: String,
    pub estimated_value: i64,
    pub currency: String,
    pub region_code: String,
    pub bid_deadline: i64,
    pub bond_amount: i64,
    pub threshold: i64,
    pub status: String,
    pub rulebook_version: String,
    pub rulebook_sha256: String,
    pub time_scale: i64,
    pub created_at: i64,
    pub published_at: Option<i64>,
    pub suspended_at: Option<i64>,
    pub evaluation: Option<String>,
    pub retender_of: Option<String>,
    pub invited: Option<String>,
    pub previous_round: Option<String>,
    pub announcement: Option<String>,
    pub suite: i64,
}

#[derive(sqlx::FromRow)]
pub struct LotRow {
    pub lot_id: String,
    pub title: String,
    pub estimated_value: i64,
}

#[derive(sqlx::FromRow)]
pub struct LiveRow {
    pub start_price: i64,
    pub increment: i64,
    pub starts_at: i64,
    pub ends_at: Option<i64>,
    pub countdown_seconds: i64,
}

impl LiveRow {
    fn into_terms(self) -> Result<LiveTerms, StoreError> {
        let money = |v: i64| Money::new(v).map_err(|_| corrupt("amount"));
        Ok(LiveTerms {
            start_price: money(self.start_price)?,
            increment: money(self.increment)?,
            starts_at: from_millis(self.starts_at),
            ends_at: self.ends_at.map(from_millis),
            countdown_seconds: Some(
                u32::try_from(self.countdown_seconds).map_err(|_| corrupt("countdown"))?,
            ),
        })
    }
}

impl TradeRow {
    pub fn into_trade(
        self,
        lots: Vec<LotRow>,
        custodians: Vec<String>,
        live: Option<LiveRow>,
    ) -> Result<Trade, StoreError> {
        let money = |v: i64| Money::new(v).map_err(|_| corrupt("amount"));
        let lots = lots
            .into_iter()
            .map(|l| {
                Ok(Lot {
                    id: l.lot_id,
                    title: l.title,
                    estimated_value: money(l.estimated_value)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        if self.currency != Currency::Cny.code() {
            return Err(corrupt("currency"));
        }
        Ok(Trade {
            id: self.id,
            terms: TradeTerms {
                kind: self.kind,
                procedure: self.procedure,
                title: self.title,
                principal: Principal {
                    name: self.principal_name,
                    usci: Usci::parse(&self.principal_usci).map_err(|_| corrupt("usci"))?,
                },
                estimated_value: money(self.estimated_value)?,
                currency: Currency::Cny,
                lots,
                region_code: RegionCode::parse(&self.region_code).map_err(|_| corrupt("region"))?,
                bid_deadline: from_millis(self.bid_deadline),
                bond_amount: money(self.bond_amount)?,
                committee: OpeningCommittee {
                    custodians,
                    threshold: u8::try_from(self.threshold).map_err(|_| corrupt("threshold"))?,
                    suite: u8::try_from(self.suite)
                        .ok()
                        .and_then(|n| n.try_into().ok())
                        .ok_or_else(|| corrupt("envelope suite"))?,
                },
                live: live.map(LiveRow::into_terms).transpose()?,
                evaluation: self
                    .evaluation
                    .as_deref()
                    .map(serde_json::from_str)
                    .transpose()
                    .map_err(|_| corrupt("evaluation terms"))?,
                retender_of: self.retender_of,
                invited: self
                    .invited
                    .as_deref()
                    .map(serde_json::from_str)
                    .transpose()
                    .map_err(|_| corrupt("invited suppliers"))?
                    .unwrap_or_default(),
                previous_round: self.previous_round,
                announcement: self
                    .announcement
                    .as_deref()
                    .map(serde_json::from_str)
                    .transpose()
                    .map_err(|_| corrupt("announcement"))?,
            },
            status: TradeStatus::parse(&self.status).ok_or_else(|| corrupt("trade status"))?,
            rulebook_version: self.rulebook_version,
            rulebook_sha256: self.rulebook_sha256,
            time_scale: u32::try_from(self.time_scale).map_err(|_| corrupt("time scale"))?,
            created_at: from_millis(self.created_at),
            published_at: self.published_at.map(from_millis),
            suspended_at: self.suspended_at.map(from_millis),
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct DocumentRow {
    pub name: String,
    pub sha256: String,
    pub size: i64,
    pub media_type: String,
    pub added_at: i64,
}

impl From<DocumentRow> for TradeDocument {
    fn from(r: DocumentRow) -> Self {
        TradeDocument {
            name: r.name,
            sha256: r.sha256,
            size: r.size,
            media_type: r.media_type,
            added_at: from_millis(r.added_at),
        }
    }
}

#[derive(sqlx::FromRow)]
pub struct ClarificationRow {
    pub id: String,
    pub trade_id: String,
    pub question: String,
    pub question_salt: Vec<u8>,
    pub asked_at: i64,
    pub answer: Option<String>,
    pub answered_at: Option<i64>,
}

impl From<ClarificationRow> for Clarification {
    fn from(r: ClarificationRow) -> Self {
        Clarification {
            id: r.id,
            trade_id: r.trade_id,
            question: r.question,
            asked_at: from_millis(r.asked_at),
            answer: r.answer,
            answered_at: r.answered_at.map(from_millis),
        }
    }
}

#[derive(sqlx::FromRow)]
pub struct EventRow {
    pub seq: i64,
    pub at: i64,
    pub kind: String,
    pub trade_id: Option<String>,
    pub entry: Vec<u8>,
}

impl From<EventRow> for LoggedEvent {
    fn from(r: EventRow) -> Self {
        LoggedEvent {
            seq: r.seq,
            at: from_millis(r.at),
            kind: r.kind,
            trade_id: r.trade_id,
            entry: r.entry,
        }
    }
}

/// A `bids` row.
#[derive(sqlx::FromRow)]
pub struct BidRow {
    pub id: String,
    pub trade_id: String,
    pub bidder_id: String,
    pub envelope_sha256: String,
    pub envelope_len: i64,
    pub storage_path: String,
    pub salt: Vec<u8>,
    pub blinded_commitment: String,
    pub received_at: i64,
    pub seq: i64,
    pub status: String,
}

impl TryFrom<BidRow> for StoredBid {
    type Error = StoreError;

    fn try_from(r: BidRow) -> Result<Self, StoreError> {
        Ok(StoredBid {
            salt: r.salt.try_into().map_err(|_| corrupt("bid salt"))?,
            id: r.id,
            trade_id: r.trade_id,
            bidder_id: r.bidder_id,
            envelope_sha256: r.envelope_sha256,
            envelope_len: r.envelope_len,
            storage_path: r.storage_path,
            blinded_commitment: r.blinded_commitment,
            received_at: from_millis(r.received_at),
            seq: r.seq,
            status: r.status,
        })
    }
}

/// One log node as the aggregated node query returns it: `level,index,hex hash`.
pub fn log_node(row: &str) -> Option<(crate::domain::merkle::NodeId, crate::domain::merkle::Hash)> {
    let mut parts = row.split(',');
    let level = parts.next()?.parse().ok()?;
    let index = parts.next()?.parse().ok()?;
    let hash = hex::decode(parts.next()?).ok()?.try_into().ok()?;
    parts
        .next()
        .is_none()
        .then_some((crate::domain::merkle::NodeId { level, index }, hash))
}
