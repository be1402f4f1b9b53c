//! A live sale's sealed reserve price (底价/保留价, ADR 0011). The seller's officer
//! seals it on their own machine exactly like a bid (docs/protocol.md), to the trade's
//! opening committee, before the sale starts. When quoting ends on a quote the sale
//! waits; the committee opens the reserve with the opening's own machinery, and the
//! opening decides the result: sold at the best quote if it reaches the reserve, else
//! failed (流拍) with the reason public.

use chrono::{DateTime, Utc};
use serde::Serialize;
use zeroize::Zeroizing;

use super::opening::{open_bid, Decided, Session, Source};
use super::{event, Caller, EngineError, Platform, Result};
use crate::crypto::digest::sha256_hex;
use crate::crypto::envelope;
use crate::domain::auction::{Phase, Reserve, SaleResult};
use crate::domain::identity::Role;
use crate::domain::money::Money;
use crate::domain::opening::SignedRecord;
use crate::domain::rulebook::ReservePolicy;
use crate::domain::trade::{StoredBid, Trade, TradeStatus};
use crate::store::reserve::{NewReserve, RevealStep};
use crate::store::StoreError;

/// Largest sealed reserve accepted: a price needs no attachments.
pub const MAX_RESERVE_ENVELOPE: usize = 64 * 1024;

/// What sealing a reserve recorded.
#[derive(Debug, Clone, Serialize)]
pub struct SealedReserve {
    pub trade_id: String,
    pub envelope_sha256: String,
    #[serde(serialize_with = "crate::domain::clock::serde_rfc3339::serialize")]
    pub sealed_at: DateTime<Utc>,
    /// The log entry that recorded it.
    pub seq: i64,
}

fn reserve_locked() -> EngineError {
    EngineError::conflict(
        "reserve_locked",
        "the reserve price can only be sealed before the sale starts",
    )
}

impl Platform {
    /// The trading centre seals (or, before the start, replaces) a live sale's reserve
    /// price: an envelope of the sealed-bid protocol, signed by the officer and sealed to
    /// the trade's committee. Only its SHA-256 is public until the close.
    #[tracing::instrument(skip_all, fields(trade.id = %trade_id), err)]
    pub async fn seal_reserve(
        &self,
        caller: &Caller,
        trade_id: &str,
        sealed: Vec<u8>,
    ) -> Result<SealedReserve> {
        let officer = caller.require(Role::TradingCentre)?;
        let trade = self
            .store
            .trade(trade_id)
            .await?
            .ok_or_else(super::trades::trade_not_found)?;
        let live = trade.terms.live.as_ref().ok_or_else(|| {
            EngineError::conflict(
                "wrong_engine",
                "this trade is a tender: it has no reserve price",
            )
        })?;
        let sealed_policy = self
            .rulebook
            .procedure(&trade.terms.kind, &trade.terms.procedure)
            .and_then(|p| p.reserve_price.as_ref())
            .is_some_and(|r| r.policy == ReservePolicy::Sealed);
        if !sealed_policy {
            return Err(EngineError::conflict(
                "reserve_not_sealed",
                "this procedure publishes its reserve (the start price is the floor): there is nothing to seal",
            ));
        }
        super::interventions::require_active(&trade)?;
        let now = self.clock.now();
        if !matches!(trade.status, TradeStatus::Draft | TradeStatus::Published)
            || now >= live.starts_at
        {
            return Err(reserve_locked());
        }
        if sealed.len() > MAX_RESERVE_ENVELOPE {
            return Err(EngineError::invalid(
                "reserve_too_large",
                format!("a sealed reserve is at most {MAX_RESERVE_ENVELOPE} bytes"),
            ));
        }
        let committee = self.complete_committee(&trade).await?;
        let inspected = envelope::inspect(sealed.as_slice())
            .map_err(|e| EngineError::invalid("envelope_invalid", e.to_string()))?;
        self.check_sealed_by(officer, trade_id, &inspected, &committee, now)?;
        let sha256 = hex::encode(inspected.commitment);
        let replaces = self
            .store
            .reserve(trade_id)
            .await?
            .map(|r| r.envelope_sha256);
        let ev = event(
            caller,
            "reserve.sealed",
            Some(trade_id),
            serde_json::json!({ "envelope_sha256": sha256, "replaces": replaces }),
            vec![],
        );
        let reserve = NewReserve {
            id: uuid::Uuid::now_v7().to_string(),
            identity_id: officer.id.clone(),
            envelope: sealed,
            envelope_sha256: sha256.clone(),
            sealed_at: now,
        };
        let seq = match self.store.seal_reserve(trade_id, &reserve, ev).await {
            Ok(seq) => seq,
            Err(StoreError::Conflict(_)) => return Err(reserve_locked()),
            Err(e) => return Err(e.into()),
        };
        Ok(SealedReserve {
            trade_id: trade_id.to_owned(),
            envelope_sha256: sha256,
            sealed_at: now,
            seq,
        })
    }

    /// Whether a reserve is sealed for the trade, and which envelope: public, since only
    /// the committee can open it.
    pub async fn reserve_status(&self, trade_id: &str) -> Result<Option<SealedReserve>> {
        let trade = self.live_trade(trade_id).await?;
        Ok(self.store.reserve(&trade.id).await?.map(|r| SealedReserve {
            trade_id: trade.id.clone(),
            envelope_sha256: r.envelope_sha256,
            sealed_at: r.sealed_at,
            seq: r.seq,
        }))
    }

    /// The k-th contribution opens the reserve of a sale waiting for it; the record is
    /// signed, and the sale is decided and closed with it in one transaction.
    pub(super) async fn open_reserve(
        &self,
        caller: &Caller,
        trade: &Trade,
        session: &Session,
        items: Vec<StoredBid>,
    ) -> Result<SignedRecord> {
        let rules = self.sale_rules(trade)?;
        let (sale, _) = self.store.sale(&trade.id).await?.unwrap_or_default();
        let Phase::Reserve { since } = sale.phase else {
            return Err(EngineError::conflict(
                "opening_not_started",
                "the sale is not waiting for its reserve",
            ));
        };
        let bid = items.into_iter().next().ok_or_else(|| {
            EngineError::conflict("reserve_missing", "no reserve is sealed for this trade")
        })?;
        let shares: Vec<Zeroizing<Vec<u8>>> = session
            .contributions
            .iter()
            .filter_map(|(_, s)| s.get(&bid.id).cloned())
            .take(usize::from(trade.terms.committee.threshold))
            .collect();
        let (for_job, store, dir) = (
            trade.clone(),
            self.store.clone(),
            self.settings.bid_dir.clone(),
        );
        let handle = tokio::runtime::Handle::current();
        let entry = tokio::task::spawn_blocking(move || {
            let source = Source::of(&handle, &store, &dir, &bid);
            let mut entry = open_bid(&for_job, source, &bid, &shares);
            // The seller's reserve carries no deposit.
            entry.bond = "not_applicable".into();
            entry
        })
        .await
        .map_err(|e| EngineError::Store(StoreError::Other(Box::new(e))))?;
        let reserve = match (entry.valid, entry.price.map(Money::new)) {
            (true, Some(Ok(amount))) => Reserve::Opened { amount },
            _ => Reserve::Invalid {
                reason: entry
                    .reason
                    .clone()
                    .unwrap_or_else(|| "the reserve is not a valid amount".into()),
            },
        };
        let mut decided = sale.clone();
        decided.reveal_reserve(&reserve);
        let best = sale.best.as_ref().map_or(Money::ZERO, |b| b.amount);
        let (outcome, reason) = match (&reserve, &decided.result) {
            (Reserve::Opened { amount }, Some(SaleResult::Sold { bidder_number, .. })) => (
                TradeStatus::Sold,
                format!("the best quote {best} reaches the reserve price {amount}: sold (成交) to bidder number {bidder_number}"),
            ),
            (Reserve::Opened { amount }, _) => (
                TradeStatus::Failed,
                format!("the best quote {best} is below the reserve price {amount}: the sale fails (流拍)"),
            ),
            (Reserve::Invalid { reason }, _) => (
                TradeStatus::Failed,
                format!("the sealed reserve price is not valid ({reason}): the sale cannot be confirmed and fails (流拍)"),
            ),
            (Reserve::NotSealed, _) => (TradeStatus::Sold, "no reserve price was sealed".into()),
        };
        let now = self.clock.now();
        let decided = Decided {
            outcome,
            reason: Some(reason),
            min_valid_bids: None,
        };
        // For a reserve, the opening starts when quoting ended.
        let record = self
            .new_record(trade, session, since, now, vec![entry], decided)
            .await?;
        let (stored, signed) = self.sign_record(record, outcome, now)?;
        let opening = serde_json::json!({
            "record_sha256": sha256_hex(&stored.record),
            "signature": signed.signature,
            "key_id": signed.key_id,
        });
        let build = super::sales::sale_events(caller, &trade.id, &rules, Some(opening));
        let step = RevealStep {
            trade_id: &trade.id,
            rules: &rules,
            deposit: trade.terms.bond_amount,
            reserve: &reserve,
            opening: &stored,
        };
        match self.store.reveal_reserve(step, &build).await {
            Ok(stepped) => {
                self.after_close(trade, &stepped.seqs).await;
                Ok(signed)
            }
            Err(StoreError::Conflict(_)) => Err(EngineError::conflict(
                "opening_completed",
                "this trade has already been opened",
            )),
            Err(e) => Err(e.into()),
        }
    }
}
