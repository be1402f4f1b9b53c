//! Bank notifications (银行到账通知): what a bank tells the platform about money moving
//! for a trade, and the checks a notification must pass before it counts. The signature
//! over it is checked in `crypto::bank_signature`; this module holds the rules.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::application::{Application, ApplicationStatus};
use super::ledger::{Refund, RefundReason, RefundStatus};
use super::money::{Currency, Money};

/// Longest bank transaction id accepted.
pub const MAX_TXN_ID: usize = 64;

/// What moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// A bidder paid a deposit (保证金) into the trade's account.
    Deposit,
    /// The bank carried out a refund instruction.
    Refund,
    /// A bidder paid a tender's bond (投标保证金) into the trade's account; the bank names
    /// the bidder from the sub-account or the transfer's remark.
    Bond,
}

/// A notification's body, as the bank sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankNotification {
    /// The bank's own id of the transfer: the same notification twice is recorded once.
    pub bank_txn_id: String,
    pub kind: NotificationKind,
    pub trade: String,
    /// The account the money came from (a deposit) or went to (a refund).
    pub payer_account: String,
    pub payer_name: String,
    pub amount: Money,
    #[serde(default)]
    pub currency: Currency,
    /// For a refund: the refund instruction it carries out.
    #[serde(default)]
    pub refund: Option<String>,
    /// For a bond: the 统一社会信用代码 of the bidder it is for.
    #[serde(default)]
    pub bidder_usci: Option<String>,
    #[serde(serialize_with = "super::clock::serde_rfc3339::serialize")]
    pub booked_at: DateTime<Utc>,
}

/// Why a notification is refused. Each has a stable code (docs/api.md).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotificationError {
    #[error("the timestamp header is not Unix seconds")]
    TimestampMalformed,
    #[error("the notification was signed {age} s from the server's time; at most {window} s is accepted")]
    Stale { age: i64, window: i64 },
    #[error("{0}")]
    Invalid(String),
    #[error("the amount {got} is not the deposit of {expected} this application owes")]
    WrongAmount { got: Money, expected: Money },
    #[error("the payer account is not the one the applicant declared")]
    UnknownPayer,
}

impl NotificationError {
    pub fn code(&self) -> &'static str {
        match self {
            NotificationError::TimestampMalformed => "bank_timestamp_malformed",
            NotificationError::Stale { .. } => "bank_timestamp_stale",
            NotificationError::Invalid(_) => "invalid_notification",
            NotificationError::WrongAmount { .. } => "deposit_wrong_amount",
            NotificationError::UnknownPayer => "deposit_unknown_payer",
        }
    }
}

/// Checks the signed timestamp (Unix seconds, as sent) against the server's time: a
/// notification older or newer than `window_seconds` is refused, so a captured one cannot
/// be replayed later (and the transaction id refuses it inside the window).
pub fn check_timestamp(
    timestamp: &str,
    now: DateTime<Utc>,
    window_seconds: i64,
) -> Result<DateTime<Utc>, NotificationError> {
    let seconds: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| NotificationError::TimestampMalformed)?;
    let at = DateTime::from_timestamp(seconds, 0).ok_or(NotificationError::TimestampMalformed)?;
    let age = (now - at).num_seconds();
    if age.abs() > window_seconds {
        return Err(NotificationError::Stale {
            age,
            window: window_seconds,
        });
    }
    Ok(at)
}

impl BankNotification {
    /// Parses and checks a body: an id of letters, digits, `-` and `_`; an account of 8 to
    /// 34 letters and digits (IBAN length at most); a positive amount; a refund naming its
    /// instruction and a deposit none.
    pub fn parse(body: &[u8]) -> Result<Self, NotificationError> {
        let n: BankNotification = serde_json::from_slice(body).map_err(|e| {
            NotificationError::Invalid(format!("the body is not a notification: {e}"))
        })?;
        let invalid = |m: &str| Err(NotificationError::Invalid(m.to_owned()));
        if n.bank_txn_id.is_empty()
            || n.bank_txn_id.len() > MAX_TXN_ID
            || !n
                .bank_txn_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return invalid("bank_txn_id must be 1 to 64 letters, digits, - or _");
        }
        if !super::application::is_account_number(&n.payer_account) {
            return invalid("payer_account must be 8 to 34 letters and digits");
        }
        if !super::text::is_line(n.payer_name.trim(), 200) {
            return invalid("payer_name must be 1 to 200 characters");
        }
        if n.amount == Money::ZERO {
            return invalid("amount must be positive");
        }
        match (n.kind, &n.refund, &n.bidder_usci) {
            (NotificationKind::Refund, None, _) => invalid("a refund names its refund instruction"),
            (NotificationKind::Deposit | NotificationKind::Bond, Some(_), _) => {
                invalid("only a refund names a refund instruction")
            }
            (NotificationKind::Bond, _, None) => invalid("a bond names the bidder_usci it is for"),
            (NotificationKind::Bond, _, Some(usci)) if super::usci::Usci::parse(usci).is_err() => {
                invalid("bidder_usci is not a valid 统一社会信用代码")
            }
            (NotificationKind::Deposit | NotificationKind::Refund, _, Some(_)) => {
                invalid("only a bond names a bidder_usci")
            }
            _ => Ok(n),
        }
    }

    /// Checks a deposit against what the application owes and the account its applicant
    /// declared.
    pub fn check_deposit(
        &self,
        expected: Money,
        declared_account: &str,
    ) -> Result<(), NotificationError> {
        if self.payer_account != declared_account {
            return Err(NotificationError::UnknownPayer);
        }
        if self.amount != expected {
            return Err(NotificationError::WrongAmount {
                got: self.amount,
                expected,
            });
        }
        Ok(())
    }
}

/// What an authenticated notification does, decided against the trade's applications (a
/// deposit) or the refund instruction it names (a refund). Every decision is recorded
/// once; only `DepositConfirmed` makes a deposit count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The deposit counts for this application.
    DepositConfirmed { application_id: String },
    /// The money is on the trade's account but does not count: it goes back.
    DepositReturned {
        application_id: Option<String>,
        reason: RefundReason,
    },
    /// The bank carried out this refund instruction.
    RefundConfirmed { refund_id: String },
    /// A tender's bond counts for this bidder.
    BondConfirmed { bidder_usci: String },
    /// A bond is on the trade's account but does not count: it goes back.
    BondReturned { reason: RefundReason },
    /// A refund report that matches no open instruction: recorded, nothing moves.
    RefundUnmatched { outcome: &'static str },
}

impl Decision {
    /// For money that does not count and goes back (a deposit or a bond): the
    /// application it was for, if any, and why it goes back.
    pub fn returned(&self) -> Option<(Option<String>, RefundReason)> {
        match self {
            Self::DepositReturned {
                application_id,
                reason,
            } => Some((application_id.clone(), *reason)),
            Self::BondReturned { reason } => Some((None, *reason)),
            _ => None,
        }
    }

    /// The outcome's stable code, as answered to the bank and kept with the notification.
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::DepositConfirmed { .. } => "deposit_confirmed",
            Self::DepositReturned { reason, .. } => match reason {
                RefundReason::WrongAmount => "deposit_wrong_amount",
                RefundReason::UnknownPayer => "deposit_unknown_payer",
                RefundReason::Late => "deposit_late",
                RefundReason::Duplicate => "deposit_duplicate",
                RefundReason::ApplicationRejected => "deposit_application_rejected",
                RefundReason::NotWinner | RefundReason::ContractSigned => "deposit_returned",
            },
            Self::RefundConfirmed { .. } => "refund_confirmed",
            Self::RefundUnmatched { outcome } => outcome,
            Self::BondConfirmed { .. } => "bond_confirmed",
            Self::BondReturned { reason } => match reason {
                RefundReason::WrongAmount => "bond_wrong_amount",
                RefundReason::Late => "bond_late",
                _ => "bond_duplicate",
            },
        }
    }
}

/// Decides a deposit. It is for the oldest application of the trade that declared the
/// paying account and has no deposit yet. It counts if the amount is the deposit owed, it
/// was booked by the cut-off, and the application is not rejected; otherwise it is
/// returned with the reason.
pub fn decide_deposit(
    n: &BankNotification,
    applications: &[Application],
    owed: Money,
    cut_off: DateTime<Utc>,
) -> Decision {
    let mut declared = applications
        .iter()
        .filter(|a| a.trade_id == n.trade && a.payer_account == n.payer_account);
    let declared_first = declared.clone().next();
    let Some(application) = declared.find(|a| a.deposit_at.is_none()).or(declared_first) else {
        return Decision::DepositReturned {
            application_id: None,
            reason: RefundReason::UnknownPayer,
        };
    };
    let returned = |reason| Decision::DepositReturned {
        application_id: Some(application.id.clone()),
        reason,
    };
    if application.deposit_at.is_some() {
        return returned(RefundReason::Duplicate);
    }
    if n.check_deposit(owed, &application.payer_account).is_err() {
        return returned(RefundReason::WrongAmount);
    }
    if n.booked_at > cut_off {
        return returned(RefundReason::Late);
    }
    if application.status == ApplicationStatus::Rejected {
        return returned(RefundReason::ApplicationRejected);
    }
    Decision::DepositConfirmed {
        application_id: application.id.clone(),
    }
}

/// Decides a tender's bond: it counts if it is the trade's bond amount, booked by the bid
/// deadline, and the first for its bidder (`counted`: a bond already counts for it);
/// otherwise it goes back with the reason.
pub fn decide_bond(
    n: &BankNotification,
    owed: Money,
    deadline: DateTime<Utc>,
    counted: bool,
) -> Decision {
    let returned = |reason| Decision::BondReturned { reason };
    if counted {
        return returned(RefundReason::Duplicate);
    }
    if n.amount != owed {
        return returned(RefundReason::WrongAmount);
    }
    if n.booked_at > deadline {
        return returned(RefundReason::Late);
    }
    Decision::BondConfirmed {
        bidder_usci: n.bidder_usci.clone().unwrap_or_default(),
    }
}

/// Decides a refund report against the instruction it names: it must be open, for this
/// trade, this amount and this account.
pub fn decide_refund(n: &BankNotification, refund: Option<&Refund>) -> Decision {
    let unmatched = |outcome| Decision::RefundUnmatched { outcome };
    let Some(refund) = refund else {
        return unmatched("refund_unknown");
    };
    if refund.status == RefundStatus::Confirmed {
        return unmatched("refund_already_confirmed");
    }
    if refund.trade_id != n.trade || refund.amount != n.amount || refund.account != n.payer_account
    {
        return unmatched("refund_mismatch");
    }
    Decision::RefundConfirmed {
        refund_id: refund.id.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(patch: &serde_json::Value) -> Vec<u8> {
        let mut v = serde_json::json!({
            "bank_txn_id": "ICBC-20261129-0001",
            "kind": "deposit",
            "trade": "0193a1b2-0000-7000-8000-000000000001",
            "payer_account": "6222020200001234567",
            "payer_name": "乌鲁木齐某某置业有限公司",
            "amount": 500_000_000_i64,
            "booked_at": "2026-11-29T02:00:00Z",
        });
        if let (Some(v), Some(p)) = (v.as_object_mut(), patch.as_object()) {
            for (k, x) in p {
                v.insert(k.clone(), x.clone());
            }
        }
        serde_json::to_vec(&v).unwrap_or_default()
    }

    #[test]
    fn a_well_formed_deposit_parses_and_matches_its_application() {
        let n = BankNotification::parse(&body(&serde_json::json!({})))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(n.kind, NotificationKind::Deposit);
        let owed = Money::new(500_000_000).unwrap_or(Money::ZERO);
        assert_eq!(n.check_deposit(owed, "6222020200001234567"), Ok(()));
        assert_eq!(
            n.check_deposit(owed, "6222020200009999999")
                .map_err(|e| e.code()),
            Err("deposit_unknown_payer")
        );
        let more = Money::new(600_000_000).unwrap_or(Money::ZERO);
        assert_eq!(
            n.check_deposit(more, "6222020200001234567")
                .map_err(|e| e.code()),
            Err("deposit_wrong_amount")
        );
    }

    fn application(id: &str, account: &str, status: ApplicationStatus) -> Application {
        Application {
            id: id.into(),
            trade_id: "0193a1b2-0000-7000-8000-000000000001".into(),
            identity_id: "i".into(),
            usci: "u".into(),
            organization: "o".into(),
            payer_account: account.into(),
            payer_name: "p".into(),
            status,
            reason: None,
            applied_at: DateTime::<Utc>::default(),
            decided_at: None,
            decided_by: None,
            deposit_at: None,
            bidder_number: None,
        }
    }

    #[test]
    fn each_deposit_is_decided_once_against_the_applications() {
        let n = BankNotification::parse(&body(&serde_json::json!({})))
            .unwrap_or_else(|e| panic!("{e}"));
        let owed = Money::new(500_000_000).unwrap_or(Money::ZERO);
        let cut_off = n.booked_at;
        let a = application("a", "6222020200001234567", ApplicationStatus::Qualified);
        let b = application("b", "6222020200001234567", ApplicationStatus::Pending);
        let decide =
            |apps: &[Application], owed, cut_off| decide_deposit(&n, apps, owed, cut_off).outcome();

        assert_eq!(
            decide(std::slice::from_ref(&a), owed, cut_off),
            "deposit_confirmed"
        );
        assert_eq!(decide(&[], owed, cut_off), "deposit_unknown_payer");
        let more = Money::new(600_000_000).unwrap_or(Money::ZERO);
        assert_eq!(
            decide(std::slice::from_ref(&a), more, cut_off),
            "deposit_wrong_amount"
        );
        let earlier = cut_off - chrono::Duration::seconds(1);
        assert_eq!(
            decide(std::slice::from_ref(&a), owed, earlier),
            "deposit_late"
        );
        let rejected = application("r", "6222020200001234567", ApplicationStatus::Rejected);
        assert_eq!(
            decide(&[rejected], owed, cut_off),
            "deposit_application_rejected"
        );

        // Two applications declared one account: the deposit is for the oldest one still
        // without a deposit; with both paid, it is a duplicate.
        let paid = Application {
            deposit_at: Some(cut_off),
            ..a.clone()
        };
        assert_eq!(
            decide_deposit(&n, &[paid.clone(), b.clone()], owed, cut_off),
            Decision::DepositConfirmed {
                application_id: "b".into()
            }
        );
        let b_paid = Application {
            deposit_at: Some(cut_off),
            ..b
        };
        assert_eq!(
            decide_deposit(&n, &[paid, b_paid], owed, cut_off),
            Decision::DepositReturned {
                application_id: Some("a".into()),
                reason: RefundReason::Duplicate
            }
        );
    }

    #[test]
    fn malformed_notifications_are_refused() {
        for patch in [
            serde_json::json!({ "bank_txn_id": "" }),
            serde_json::json!({ "bank_txn_id": "a b" }),
            serde_json::json!({ "bank_txn_id": "x".repeat(65) }),
            serde_json::json!({ "payer_account": "123" }),
            serde_json::json!({ "payer_account": "6222 0202 0000 1234" }),
            serde_json::json!({ "payer_name": " " }),
            serde_json::json!({ "amount": 0 }),
            serde_json::json!({ "amount": -1 }),
            serde_json::json!({ "amount": 1.5 }),
            serde_json::json!({ "kind": "refund" }),
            serde_json::json!({ "refund": "r-1" }),
            serde_json::json!({ "currency": "USD" }),
            serde_json::json!({ "extra": true }),
        ] {
            let result = BankNotification::parse(&body(&patch));
            assert_eq!(
                result.map_err(|e| e.code()),
                Err("invalid_notification"),
                "{patch}"
            );
        }
        let refund = BankNotification::parse(&body(
            &serde_json::json!({ "kind": "refund", "refund": "r-1" }),
        ));
        assert!(refund.is_ok(), "{refund:?}");
    }

    #[test]
    fn the_timestamp_must_be_within_the_window() {
        let now = DateTime::from_timestamp(1_795_914_000, 0).unwrap_or_default();
        assert!(check_timestamp("1795914000", now, 300).is_ok());
        assert!(check_timestamp("1795913700", now, 300).is_ok());
        assert_eq!(
            check_timestamp("1795913699", now, 300).map_err(|e| e.code()),
            Err("bank_timestamp_stale")
        );
        assert_eq!(
            check_timestamp("1795914301", now, 300).map_err(|e| e.code()),
            Err("bank_timestamp_stale"),
            "from the future too"
        );
        assert_eq!(
            check_timestamp("yesterday", now, 300).map_err(|e| e.code()),
            Err("bank_timestamp_malformed")
        );
    }
}
