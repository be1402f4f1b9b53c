//! Bank notifications (ADR 0010): a bank reports a deposit into a trade's account, or a
//! refund carried out. Each is authenticated with the bank's secret, must be fresh, and
//! is recorded once; the decision (does the deposit count, does the refund match) is
//! taken in the write transaction that records it. A bank also takes the refund
//! instructions it is to pay with a signed claim (pending → sent).

use std::collections::BTreeMap;

use super::{event_hiding_trade, seal, Caller, EngineError, Platform, Result};
use crate::crypto::bank_signature;
use crate::crypto::digest::{random_bytes, sha256_hex};
use crate::domain::application::Application;
use crate::domain::bank::{check_timestamp, BankNotification, NotificationError, NotificationKind};
use crate::domain::ledger::{Balance, LedgerEntry, Refund};
use crate::store::live::{NotificationIntake, NotificationRecord};
use crate::store::refunds::RefundClaim;
use crate::store::StoreError;

/// How far a notification's timestamp may be from server time, in seconds.
pub const BANK_WINDOW_SECONDS: i64 = 300;

/// Shortest secret a bank may have: 32 bytes.
pub const MIN_BANK_SECRET_BYTES: usize = 32;

/// The secrets banks sign with, by bank id.
#[derive(Clone, Default)]
pub struct BankSecrets(BTreeMap<String, Vec<u8>>);

impl std::fmt::Debug for BankSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

impl BankSecrets {
    pub fn new(secrets: BTreeMap<String, Vec<u8>>) -> Self {
        Self(secrets)
    }

    pub fn get(&self, bank_id: &str) -> Option<&[u8]> {
        self.0.get(bank_id).map(Vec::as_slice)
    }

    pub fn banks(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}

/// A notification as it arrived: the three headers and the exact body.
#[derive(Debug, Clone, Copy)]
pub struct SignedNotification<'a> {
    pub bank_id: &'a str,
    pub timestamp: &'a str,
    pub signature: &'a str,
    pub body: &'a [u8],
}

/// A bidder's own money on one trade: what each bidder owes (the sale's deposit or the
/// tender's bond), the accounts it paid from, what the bank reported, and its refunds with
/// how far each has got.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MyMoney {
    pub trade_id: String,
    /// `deposit` (a live sale) or `bond` (a tender).
    pub kind: &'static str,
    /// What the trade asks of each bidder, in 分.
    pub due: i64,
    /// The accounts the bidder's money came from (its application's, or those its
    /// counted bonds came from).
    pub accounts: Vec<String>,
    pub balance: Balance,
    /// Nothing of the bidder's held, no refund of its on its way.
    pub settled: bool,
    pub ledger: Vec<LedgerEntry>,
    pub refunds: Vec<Refund>,
}

/// A trade's money: ledger entries, refund instructions, and the sums.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TradeMoney {
    pub balance: Balance,
    /// Nothing held, no refund on its way.
    pub settled: bool,
    pub ledger: Vec<LedgerEntry>,
    pub refunds: Vec<Refund>,
}

fn refused(e: &NotificationError) -> EngineError {
    match e {
        NotificationError::Invalid(_) => EngineError::invalid(e.code(), e.to_string()),
        _ => EngineError::BankRefused {
            code: e.code(),
            message: e.to_string(),
        },
    }
}

/// `count` random bidder numbers of six digits, to draw one unused from.
pub(crate) fn bidder_numbers(count: usize) -> Vec<String> {
    (0..count)
        .map(|_| {
            let r = u32::from_le_bytes(random_bytes::<4>());
            format!("{}", 100_000 + r % 900_000)
        })
        .collect()
}

/// Most refund instructions one claim takes.
pub const MAX_CLAIM: u32 = 500;

/// What a bank sends to take its pending refund instructions.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ClaimRequest {
    /// The bank's own id for this claim (1 to 64 letters, digits, `-`, `_`).
    claim_id: String,
    /// At most this many instructions (1 to [`MAX_CLAIM`]; default 100).
    #[serde(default)]
    limit: Option<u32>,
}

/// The instructions a claim took.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ClaimedRefunds {
    pub claim_id: String,
    /// Whether this answers a claim already recorded (nothing more was taken).
    pub repeated: bool,
    pub refunds: Vec<Refund>,
}

impl Platform {
    /// Checks a signed bank request: a configured bank, its HMAC over the timestamp and
    /// body, and a timestamp within [`BANK_WINDOW_SECONDS`]. Returns server time.
    fn authenticate_bank(
        &self,
        signed: &SignedNotification<'_>,
    ) -> Result<chrono::DateTime<chrono::Utc>> {
        let secret =
            self.settings
                .bank_secrets
                .get(signed.bank_id)
                .ok_or(EngineError::BankRefused {
                    code: "bank_unknown",
                    message: "no bank with this X-Bank-Id is configured".into(),
                })?;
        if !bank_signature::verify(secret, signed.timestamp, signed.body, signed.signature) {
            return Err(EngineError::BankRefused {
                code: "bank_signature_invalid",
                message:
                    "X-Bank-Signature is not this bank's HMAC-SHA256 of the timestamp and body"
                        .into(),
            });
        }
        let now = self.clock.now();
        check_timestamp(signed.timestamp, now, BANK_WINDOW_SECONDS).map_err(|e| refused(&e))?;
        Ok(now)
    }

    /// A bank takes the refund instructions it is to pay: up to `limit` of its pending
    /// ones, oldest first, become `sent`, each with a log entry. A repeat of a recorded
    /// claim id returns the same instructions and takes no more.
    #[tracing::instrument(skip_all, fields(bank = %signed.bank_id), err)]
    pub async fn claim_refunds(
        &self,
        caller: &Caller,
        signed: SignedNotification<'_>,
    ) -> Result<ClaimedRefunds> {
        let now = self.authenticate_bank(&signed)?;
        let request: ClaimRequest = serde_json::from_slice(signed.body).map_err(|e| {
            EngineError::invalid("invalid_claim", format!("the claim is not valid: {e}"))
        })?;
        let id = request.claim_id.trim();
        if id.is_empty()
            || id.len() > 64
            || !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(EngineError::invalid(
                "invalid_claim",
                "claim_id must be 1 to 64 letters, digits, - or _",
            ));
        }
        let limit = request.limit.unwrap_or(100);
        if !(1..=MAX_CLAIM).contains(&limit) {
            return Err(EngineError::invalid(
                "invalid_claim",
                format!("limit must be 1 to {MAX_CLAIM}"),
            ));
        }
        let claim = RefundClaim {
            bank_id: signed.bank_id,
            claim_id: id,
            body_sha256: &sha256_hex(signed.body),
            limit,
            at: now,
        };
        let bank = signed.bank_id.to_owned();
        let claim_id = id.to_owned();
        let event = move |refund: &Refund| {
            event_hiding_trade(
                caller,
                "refund.sent",
                &refund.trade_id,
                serde_json::json!({ "bank": bank, "claim": claim_id, "refund": refund.id }),
                vec![],
            )
        };
        match self.store.claim_refunds(&claim, &event).await {
            Ok((refunds, repeated)) => Ok(ClaimedRefunds {
                claim_id: id.to_owned(),
                repeated,
                refunds,
            }),
            Err(StoreError::Conflict(_)) => Err(EngineError::conflict(
                "bank_txn_conflict",
                "this claim id was already recorded with a different body",
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// Authenticates, checks and records a bank notification. A repeat of one already
    /// recorded is answered with the first record and changes nothing.
    #[tracing::instrument(skip_all, fields(bank = %signed.bank_id), err)]
    pub async fn bank_notification(
        &self,
        caller: &Caller,
        signed: SignedNotification<'_>,
    ) -> Result<NotificationRecord> {
        let now = self.authenticate_bank(&signed)?;
        let notification = BankNotification::parse(signed.body).map_err(|e| refused(&e))?;
        // Deposits are for live sales, bonds for tenders; a refund may be for either.
        let trade = match notification.kind {
            NotificationKind::Deposit => self.live_trade(&notification.trade).await?,
            NotificationKind::Bond => {
                let trade = self.announced_trade(&notification.trade).await?;
                super::trades::require_sealed_bid(&trade)?;
                trade
            }
            NotificationKind::Refund => self.announced_trade(&notification.trade).await?,
        };
        let intake = NotificationIntake {
            bank_id: signed.bank_id.to_owned(),
            body_sha256: sha256_hex(signed.body),
            notification,
            received_at: now,
            owed: trade.terms.bond_amount,
            cut_off: trade.terms.bid_deadline,
            numbers: bidder_numbers(16),
            ledger_id: uuid::Uuid::now_v7().to_string(),
            refund_id: uuid::Uuid::now_v7().to_string(),
        };
        let body = signed.body.to_vec();
        let bank = signed.bank_id.to_owned();
        let trade_id = trade.id.clone();
        let event = move |record: &NotificationRecord| {
            let (commitment, sealed_body) = seal("notification", body.clone());
            let mut sealed = vec![sealed_body];
            if let (Some(application), Some(number)) =
                (&record.application_id, &record.bidder_number)
            {
                let numbered =
                    serde_json::json!({ "application": application, "bidder_number": number });
                sealed.push(seal("bidder_number", numbered.to_string().into_bytes()).1);
            }
            event_hiding_trade(
                caller,
                "bank.notification",
                &trade_id,
                serde_json::json!({
                    "bank": bank,
                    "outcome": record.outcome,
                    "notification": commitment,
                }),
                sealed,
            )
        };
        match self.store.record_notification(&intake, &event).await {
            Ok(record) => {
                if record.outcome == "deposit_confirmed" && !record.repeated {
                    self.check_deposits(&trade, record.seq).await?;
                }
                Ok(record)
            }
            Err(StoreError::Conflict(_)) => Err(EngineError::conflict(
                "bank_txn_conflict",
                "this bank transaction id was already recorded with a different body",
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// A trade's deposit (or bond) ledger and refunds, for the trading centre and the
    /// trade's supervisors.
    pub async fn trade_money(&self, caller: &Caller, trade_id: &str) -> Result<TradeMoney> {
        // A live sale's deposits, or a tender's bonds.
        let trade = self.announced_trade(trade_id).await?;
        self.require_centre_or_supervisor(caller, &trade)?;
        let ledger = self.store.ledger(trade_id).await?;
        let refunds = self.store.refunds(trade_id).await?;
        let balance = Balance::of(&ledger, &refunds);
        Ok(TradeMoney {
            settled: balance.is_settled(),
            balance,
            ledger,
            refunds,
        })
    }

    /// The caller's organisation's money on a trade: its deposit (a sale, by its
    /// application) or its bond (a tender, by the accounts its counted bonds came from),
    /// the ledger entries and refunds of those, and their sums.
    pub async fn my_trade_money(&self, caller: &Caller, trade_id: &str) -> Result<MyMoney> {
        let bidder = caller.require(crate::domain::identity::Role::Bidder)?;
        let usci = bidder.usci.as_str();
        let trade = self.announced_trade(trade_id).await?;
        let (kind, application, accounts) = if trade.terms.live.is_some() {
            let application = self.store.application_of(trade_id, usci).await?;
            let accounts = application
                .iter()
                .map(|a| a.payer_account.clone())
                .collect();
            ("deposit", application.map(|a| a.id), accounts)
        } else {
            let mut accounts: Vec<String> = self
                .store
                .counted_bonds(trade_id)
                .await?
                .into_iter()
                .filter(|b| b.bidder_usci == usci)
                .map(|b| b.account)
                .collect();
            accounts.dedup();
            ("bond", None, accounts)
        };
        let mine = |entry_application: &Option<String>, account: &str| match &application {
            Some(id) => entry_application.as_ref() == Some(id),
            None => accounts.iter().any(|a| a == account),
        };
        let ledger: Vec<LedgerEntry> = self
            .store
            .ledger(trade_id)
            .await?
            .into_iter()
            .filter(|e| mine(&e.application_id, &e.account))
            .collect();
        let refunds: Vec<Refund> = self
            .store
            .refunds(trade_id)
            .await?
            .into_iter()
            .filter(|r| mine(&r.application_id, &r.account))
            .collect();
        let balance = Balance::of(&ledger, &refunds);
        Ok(MyMoney {
            trade_id: trade.id.clone(),
            kind,
            due: trade.terms.bond_amount.minor_units(),
            accounts,
            settled: balance.is_settled(),
            balance,
            ledger,
            refunds,
        })
    }

    /// The log entry of a number drawn when the centre qualifies a paid application.
    pub(crate) fn numbered_event(
        caller: &Caller,
        application: &Application,
    ) -> crate::domain::event::NewEvent {
        let numbered = serde_json::json!({
            "application": application.id,
            "bidder_number": application.bidder_number,
        });
        let (commitment, sealed) = seal("bidder_number", numbered.to_string().into_bytes());
        event_hiding_trade(
            caller,
            "application.numbered",
            &application.trade_id,
            serde_json::json!({ "bidder_number": commitment }),
            vec![sealed],
        )
    }
}
