//! The deposit ledger of a live sale (ADR 0010): money in from bidders, money back to
//! them, money kept as payment. Amounts are integer 分. A trade is settled when nothing is
//! held any more and no refund is still on its way.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::money::Money;

/// What a ledger entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// The bank reported a deposit into the trade's account.
    DepositReceived,
    /// The bank reported that a refund reached the bidder.
    RefundConfirmed,
    /// The winner's deposit became part of its payment (转为成交价款).
    ConvertedToPayment,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DepositReceived => "deposit_received",
            Self::RefundConfirmed => "refund_confirmed",
            Self::ConvertedToPayment => "converted_to_payment",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::DepositReceived,
            Self::RefundConfirmed,
            Self::ConvertedToPayment,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// One movement on a trade's deposit account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LedgerEntry {
    pub id: String,
    pub trade_id: String,
    pub application_id: Option<String>,
    pub kind: EntryKind,
    pub amount: Money,
    /// The bidder's account the money came from or went to.
    pub account: String,
    pub bank_id: Option<String>,
    pub bank_txn_id: Option<String>,
    pub refund_id: Option<String>,
    #[serde(serialize_with = "super::clock::serde_rfc3339::serialize")]
    pub at: DateTime<Utc>,
    /// The log entry that recorded it.
    pub seq: i64,
}

/// Why money goes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundReason {
    /// The sale ended and this bidder did not win (or nobody did).
    NotWinner,
    /// The centre rejected the application.
    ApplicationRejected,
    /// The deposit was not the amount owed.
    WrongAmount,
    /// The deposit came from an account no applicant declared.
    UnknownPayer,
    /// The deposit was booked after the cut-off.
    Late,
    /// The application had a confirmed deposit already.
    Duplicate,
    /// A tender's bond, after the contract (实施条例 第57条).
    ContractSigned,
}

impl RefundReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotWinner => "not_winner",
            Self::ApplicationRejected => "application_rejected",
            Self::WrongAmount => "wrong_amount",
            Self::UnknownPayer => "unknown_payer",
            Self::Late => "late",
            Self::Duplicate => "duplicate",
            Self::ContractSigned => "contract_signed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::NotWinner,
            Self::ApplicationRejected,
            Self::WrongAmount,
            Self::UnknownPayer,
            Self::Late,
            Self::Duplicate,
            Self::ContractSigned,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// Where a refund instruction is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    /// Instructed, waiting for the bank to take it.
    Pending,
    /// The bank has taken the instruction.
    Sent,
    /// The bank reported the money back on the bidder's account.
    Confirmed,
}

impl RefundStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Confirmed => "confirmed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Sent, Self::Confirmed]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// An instruction to send a deposit back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refund {
    pub id: String,
    pub trade_id: String,
    pub application_id: Option<String>,
    pub account: String,
    pub account_name: String,
    pub amount: Money,
    pub reason: RefundReason,
    pub status: RefundStatus,
    #[serde(serialize_with = "super::clock::serde_rfc3339::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "super::clock::serde_rfc3339::option")]
    pub sent_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "super::clock::serde_rfc3339::option")]
    pub confirmed_at: Option<DateTime<Utc>>,
    /// When it must be paid by, where a rule sets a time (a bond after the contract).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "super::clock::serde_rfc3339::option"
    )]
    pub due_at: Option<DateTime<Utc>>,
}

/// A trade's deposit account summed up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Balance {
    pub received: i64,
    pub refunded: i64,
    pub converted: i64,
    /// Still on the account: `received - refunded - converted`.
    pub held: i64,
    /// Refund instructions not yet confirmed by the bank, and their total.
    pub open_refunds: usize,
    pub open_refund_amount: i64,
    /// Held and owed to nobody yet: the deposits that count for the sale.
    pub held_for_sale: i64,
}

impl Balance {
    /// Sums `entries` and the refunds still open.
    pub fn of(entries: &[LedgerEntry], refunds: &[Refund]) -> Self {
        let sum = |kind: EntryKind| -> i64 {
            entries
                .iter()
                .filter(|e| e.kind == kind)
                .map(|e| e.amount.minor_units())
                .sum()
        };
        let (received, refunded, converted) = (
            sum(EntryKind::DepositReceived),
            sum(EntryKind::RefundConfirmed),
            sum(EntryKind::ConvertedToPayment),
        );
        let open: Vec<&Refund> = refunds
            .iter()
            .filter(|r| r.status != RefundStatus::Confirmed)
            .collect();
        Self {
            received,
            refunded,
            converted,
            held: received - refunded - converted,
            open_refunds: open.len(),
            open_refund_amount: open.iter().map(|r| r.amount.minor_units()).sum(),
            held_for_sale: received
                - refunded
                - converted
                - open.iter().map(|r| r.amount.minor_units()).sum::<i64>(),
        }
    }

    /// Settled: nothing held and no refund on its way.
    pub fn is_settled(&self) -> bool {
        self.held == 0 && self.open_refunds == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: EntryKind, amount: i64) -> LedgerEntry {
        LedgerEntry {
            id: format!("{kind:?}{amount}"),
            trade_id: "t".into(),
            application_id: None,
            kind,
            amount: Money::new(amount).unwrap_or(Money::ZERO),
            account: "6222020200001234567".into(),
            bank_id: None,
            bank_txn_id: None,
            refund_id: None,
            at: DateTime::<Utc>::default(),
            seq: 1,
        }
    }

    fn refund(amount: i64, status: RefundStatus) -> Refund {
        Refund {
            id: "r".into(),
            trade_id: "t".into(),
            application_id: None,
            account: "6222020200001234567".into(),
            account_name: "x".into(),
            amount: Money::new(amount).unwrap_or(Money::ZERO),
            reason: RefundReason::NotWinner,
            status,
            created_at: DateTime::<Utc>::default(),
            sent_at: None,
            confirmed_at: None,
            due_at: None,
        }
    }

    #[test]
    fn a_trade_settles_when_its_refunds_arrive() {
        let mut entries = vec![
            entry(EntryKind::DepositReceived, 500),
            entry(EntryKind::DepositReceived, 500),
            entry(EntryKind::ConvertedToPayment, 500),
        ];
        let open = [refund(500, RefundStatus::Sent)];
        let b = Balance::of(&entries, &open);
        assert_eq!(
            (b.held, b.open_refund_amount, b.held_for_sale),
            (500, 500, 0)
        );
        assert!(!b.is_settled());

        entries.push(entry(EntryKind::RefundConfirmed, 500));
        let b = Balance::of(&entries, &[refund(500, RefundStatus::Confirmed)]);
        assert!(b.is_settled(), "{b:?}");

        // Two deposits in and nothing decided: both held for the sale.
        let b = Balance::of(&entries[..2], &[]);
        assert_eq!((b.held_for_sale, b.is_settled()), (1000, false));
    }
}
