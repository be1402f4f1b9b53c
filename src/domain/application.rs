//! Applications to a live sale (竞买申请): who asks to take part, from which account its
//! deposit will come, and the trading centre's decision.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// Where an application is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationStatus {
    /// Waiting for the trading centre's review.
    Pending,
    /// Qualified (资格审查通过): once its deposit is confirmed it gets a bidder number.
    Qualified,
    /// Rejected, with the reason.
    Rejected,
}

impl ApplicationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Qualified => "qualified",
            Self::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Qualified, Self::Rejected]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// One organisation's application to one live sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Application {
    pub id: String,
    pub trade_id: String,
    /// The identity that applied.
    pub identity_id: String,
    pub usci: String,
    pub organization: String,
    /// The account the deposit will be paid from; a deposit from any other is refused.
    pub payer_account: String,
    pub payer_name: String,
    pub status: ApplicationStatus,
    /// Why it was rejected, or the centre's note on qualifying it.
    pub reason: Option<String>,
    #[serde(serialize_with = "super::clock::serde_rfc3339::serialize")]
    pub applied_at: DateTime<Utc>,
    #[serde(serialize_with = "super::clock::serde_rfc3339::option")]
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<String>,
    /// When its deposit was confirmed by the bank (booked before the cut-off).
    #[serde(serialize_with = "super::clock::serde_rfc3339::option")]
    pub deposit_at: Option<DateTime<Utc>>,
    /// The anonymous bidder number (竞买号), once qualified with a confirmed deposit.
    pub bidder_number: Option<String>,
}

impl Application {
    /// Whether it may now draw a bidder number: qualified, deposit confirmed, none yet.
    pub fn due_a_number(&self) -> bool {
        self.status == ApplicationStatus::Qualified
            && self.deposit_at.is_some()
            && self.bidder_number.is_none()
    }
}

/// Whether `account` can be a bank account number: 8 to 34 letters and digits (an IBAN
/// is at most 34).
pub fn is_account_number(account: &str) -> bool {
    (8..=34).contains(&account.len()) && account.bytes().all(|b| b.is_ascii_alphanumeric())
}
