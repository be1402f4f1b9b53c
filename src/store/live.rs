//! Storage for live sales (ADR 0010): applications, bank notifications, refunds and the
//! deposit ledger. A third trait on the same backends, with the same
//! one-SQL-body-for-both approach as `sql.rs`. Decisions that depend on what is stored
//! (which application a deposit is for, whether a refund is still open) are taken by the
//! domain inside the write transaction, so two notifications never both count.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Result, StoreError};
use crate::domain::application::{Application, ApplicationStatus};
use crate::domain::bank::BankNotification;
use crate::domain::clock::from_millis;
use crate::domain::event::NewEvent;
use crate::domain::ledger::{EntryKind, LedgerEntry, Refund, RefundReason, RefundStatus};
use crate::domain::money::Money;

/// Builds the log entry of a change once the store knows its outcome.
pub type EventFor<'a, T> = &'a (dyn Fn(&T) -> NewEvent + Send + Sync);

/// An authenticated bank notification to record, with what deciding it may need.
#[derive(Debug, Clone)]
pub struct NotificationIntake {
    pub bank_id: String,
    pub body_sha256: String,
    pub notification: BankNotification,
    pub received_at: DateTime<Utc>,
    /// The deposit a qualified applicant owes (the trade's bond).
    pub owed: Money,
    /// Deposits booked after this do not count.
    pub cut_off: DateTime<Utc>,
    /// Bidder numbers to draw from, in random order: the first unused is taken.
    pub numbers: Vec<String>,
    /// Ids for the ledger entry and for a refund instruction, if one is made.
    pub ledger_id: String,
    pub refund_id: String,
}

/// What became of a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRecord {
    /// The outcome's stable code (`domain::bank::Decision::outcome`).
    pub outcome: String,
    pub application_id: Option<String>,
    /// The refund instruction made (a returned deposit) or confirmed (a refund).
    pub refund_id: Option<String>,
    /// The bidder number drawn because of this deposit.
    pub bidder_number: Option<String>,
    pub seq: i64,
    /// Whether this is a repeat of a notification already recorded.
    pub repeated: bool,
}

/// A centre's decision on an application, with what follows from it.
#[derive(Debug, Clone)]
pub struct ApplicationDecision<'a> {
    pub id: &'a str,
    pub status: ApplicationStatus,
    pub reason: Option<&'a str>,
    pub by: &'a str,
    pub at: DateTime<Utc>,
    /// Bidder numbers to draw from if it is qualified with a confirmed deposit.
    pub numbers: &'a [String],
    /// The deposit to return if it is rejected after paying, and the refund's id.
    pub deposit: Money,
    pub refund_id: &'a str,
}

#[async_trait]
pub trait LiveStore: Send + Sync {
    /// Records an application with its log entry (`Conflict` if the organisation has
    /// applied to this trade already).
    async fn insert_application(&self, application: &Application, event: NewEvent) -> Result<i64>;
    async fn application(&self, id: &str) -> Result<Option<Application>>;
    /// An organisation's application to a trade.
    async fn application_of(&self, trade_id: &str, usci: &str) -> Result<Option<Application>>;
    /// A trade's applications, oldest first.
    async fn applications(&self, trade_id: &str) -> Result<Vec<Application>>;
    /// An organisation's applications to every trade, newest first, at most `limit`.
    async fn applications_by(&self, usci: &str, limit: i64) -> Result<Vec<Application>>;
    /// Decides a pending application (else `Conflict("application_not_pending")`). A
    /// qualified one with a confirmed deposit draws its bidder number (logged with
    /// `numbered`); a rejected one with a confirmed deposit gets a refund instruction.
    async fn decide_application(
        &self,
        decision: &ApplicationDecision<'_>,
        event: NewEvent,
        numbered: EventFor<'_, Application>,
    ) -> Result<Application>;
    /// Records an authenticated notification once and applies it. A repeat with the same
    /// body returns the first record; the same id with another body is
    /// `Conflict("bank_txn_conflict")`.
    async fn record_notification(
        &self,
        intake: &NotificationIntake,
        event: EventFor<'_, NotificationRecord>,
    ) -> Result<NotificationRecord>;
    async fn refunds(&self, trade_id: &str) -> Result<Vec<Refund>>;
    async fn ledger(&self, trade_id: &str) -> Result<Vec<LedgerEntry>>;
}

#[derive(sqlx::FromRow)]
pub(crate) struct ApplicationRow {
    id: String,
    trade_id: String,
    identity_id: String,
    usci: String,
    organization: String,
    payer_account: String,
    payer_name: String,
    status: String,
    reason: Option<String>,
    applied_at: i64,
    decided_at: Option<i64>,
    decided_by: Option<String>,
    deposit_at: Option<i64>,
    bidder_number: Option<String>,
}

pub(crate) const APPLICATION_SELECT: &str = "SELECT id, trade_id, identity_id, usci, organization, payer_account, payer_name, status, reason, applied_at, decided_at, decided_by, deposit_at, bidder_number FROM applications";

fn corrupt(what: &str) -> StoreError {
    StoreError::Other(format!("a stored {what} is not valid").into())
}

impl TryFrom<ApplicationRow> for Application {
    type Error = StoreError;
    fn try_from(r: ApplicationRow) -> Result<Self> {
        Ok(Application {
            status: ApplicationStatus::parse(&r.status)
                .ok_or_else(|| corrupt("application status"))?,
            id: r.id,
            trade_id: r.trade_id,
            identity_id: r.identity_id,
            usci: r.usci,
            organization: r.organization,
            payer_account: r.payer_account,
            payer_name: r.payer_name,
            reason: r.reason,
            applied_at: from_millis(r.applied_at),
            decided_at: r.decided_at.map(from_millis),
            decided_by: r.decided_by,
            deposit_at: r.deposit_at.map(from_millis),
            bidder_number: r.bidder_number,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct RefundRow {
    id: String,
    trade_id: String,
    application_id: Option<String>,
    account: String,
    account_name: String,
    amount: i64,
    reason: String,
    status: String,
    created_at: i64,
    sent_at: Option<i64>,
    confirmed_at: Option<i64>,
    due_at: Option<i64>,
}

pub(crate) const REFUND_SELECT: &str = "SELECT id, trade_id, application_id, account, account_name, amount, reason, status, created_at, sent_at, confirmed_at, due_at FROM refunds";

impl TryFrom<RefundRow> for Refund {
    type Error = StoreError;
    fn try_from(r: RefundRow) -> Result<Self> {
        Ok(Refund {
            amount: Money::new(r.amount).map_err(|_| corrupt("refund amount"))?,
            reason: RefundReason::parse(&r.reason).ok_or_else(|| corrupt("refund reason"))?,
            status: RefundStatus::parse(&r.status).ok_or_else(|| corrupt("refund status"))?,
            id: r.id,
            trade_id: r.trade_id,
            application_id: r.application_id,
            account: r.account,
            account_name: r.account_name,
            created_at: from_millis(r.created_at),
            sent_at: r.sent_at.map(from_millis),
            confirmed_at: r.confirmed_at.map(from_millis),
            due_at: r.due_at.map(from_millis),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct LedgerRow {
    id: String,
    trade_id: String,
    application_id: Option<String>,
    kind: String,
    amount: i64,
    account: String,
    bank_id: Option<String>,
    bank_txn_id: Option<String>,
    refund_id: Option<String>,
    at: i64,
    seq: i64,
}

pub(crate) const LEDGER_SELECT: &str = "SELECT id, trade_id, application_id, kind, amount, account, bank_id, bank_txn_id, refund_id, at, seq FROM ledger_entries";

impl TryFrom<LedgerRow> for LedgerEntry {
    type Error = StoreError;
    fn try_from(r: LedgerRow) -> Result<Self> {
        Ok(LedgerEntry {
            kind: EntryKind::parse(&r.kind).ok_or_else(|| corrupt("ledger entry kind"))?,
            amount: Money::new(r.amount).map_err(|_| corrupt("ledger amount"))?,
            id: r.id,
            trade_id: r.trade_id,
            application_id: r.application_id,
            account: r.account,
            bank_id: r.bank_id,
            bank_txn_id: r.bank_txn_id,
            refund_id: r.refund_id,
            at: from_millis(r.at),
            seq: r.seq,
        })
    }
}

/// Implements `LiveStore` for a store type that `impl_store!` was applied to.
macro_rules! impl_live_store {
    ($store:ty, $db:ty) => {
        impl $store {
            /// A trade's applications, oldest first, on the pool or inside a transaction.
            async fn applications_on<'e, E: sqlx::Executor<'e, Database = $db>>(
                executor: E,
                trade_id: &str,
            ) -> $crate::store::Result<Vec<$crate::domain::application::Application>> {
                let rows: Vec<$crate::store::live::ApplicationRow> = sqlx::query_as(&format!(
                    "{} WHERE trade_id = $1 ORDER BY applied_at, id",
                    $crate::store::live::APPLICATION_SELECT
                ))
                .bind(trade_id)
                .fetch_all(executor)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            /// One application, on the pool or inside a transaction.
            async fn application_on<'e, E: sqlx::Executor<'e, Database = $db>>(
                executor: E,
                id: &str,
            ) -> $crate::store::Result<Option<$crate::domain::application::Application>> {
                let row: Option<$crate::store::live::ApplicationRow> =
                    sqlx::query_as(&format!("{} WHERE id = $1", $crate::store::live::APPLICATION_SELECT))
                        .bind(id)
                        .fetch_optional(executor)
                        .await?;
                row.map(TryInto::try_into).transpose()
            }

            /// Gives `application` the first of `numbers` no one in its trade holds.
            async fn draw_number(
                tx: &mut sqlx::Transaction<'static, $db>,
                application: &mut $crate::domain::application::Application,
                numbers: &[String],
            ) -> $crate::store::Result<()> {
                for number in numbers {
                    let taken: Option<(String,)> = sqlx::query_as(
                        "SELECT id FROM applications WHERE trade_id = $1 AND bidder_number = $2",
                    )
                    .bind(&application.trade_id)
                    .bind(number)
                    .fetch_optional(&mut **tx)
                    .await?;
                    if taken.is_none() {
                        sqlx::query("UPDATE applications SET bidder_number = $2 WHERE id = $1")
                            .bind(&application.id)
                            .bind(number)
                            .execute(&mut **tx)
                            .await?;
                        application.bidder_number = Some(number.clone());
                        return Ok(());
                    }
                }
                Err($crate::store::StoreError::Other(
                    "every bidder number offered is taken".into(),
                ))
            }

            async fn insert_refund(
                tx: &mut sqlx::Transaction<'static, $db>,
                r: &$crate::domain::ledger::Refund,
                bank_id: &str,
            ) -> $crate::store::Result<()> {
                sqlx::query(
                    "INSERT INTO refunds (id, trade_id, application_id, account, account_name, amount, reason, bank_id, status, created_at, due_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                )
                .bind(&r.id)
                .bind(&r.trade_id)
                .bind(&r.application_id)
                .bind(&r.account)
                .bind(&r.account_name)
                .bind(r.amount.minor_units())
                .bind(r.reason.as_str())
                .bind(bank_id)
                .bind(r.status.as_str())
                .bind(r.created_at.timestamp_millis())
                .bind(r.due_at.map(|d| d.timestamp_millis()))
                .execute(&mut **tx)
                .await?;
                Ok(())
            }

            async fn insert_ledger(
                tx: &mut sqlx::Transaction<'static, $db>,
                e: &$crate::domain::ledger::LedgerEntry,
            ) -> $crate::store::Result<()> {
                sqlx::query(
                    "INSERT INTO ledger_entries (id, trade_id, application_id, kind, amount, account, bank_id, bank_txn_id, refund_id, at, seq) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                )
                .bind(&e.id)
                .bind(&e.trade_id)
                .bind(&e.application_id)
                .bind(e.kind.as_str())
                .bind(e.amount.minor_units())
                .bind(&e.account)
                .bind(&e.bank_id)
                .bind(&e.bank_txn_id)
                .bind(&e.refund_id)
                .bind(e.at.timestamp_millis())
                .bind(e.seq)
                .execute(&mut **tx)
                .await?;
                Ok(())
            }

            /// The bank that took a confirmed deposit for `application_id`, and its
            /// account: where a refund of it goes.
            async fn deposit_source(
                tx: &mut sqlx::Transaction<'static, $db>,
                application_id: &str,
            ) -> $crate::store::Result<Option<(Option<String>, String)>> {
                Ok(sqlx::query_as(
                    "SELECT bank_id, account FROM ledger_entries \
                     WHERE application_id = $1 AND kind = 'deposit_received' \
                     AND EXISTS (SELECT 1 FROM bank_notifications b WHERE b.bank_id = ledger_entries.bank_id \
                     AND b.bank_txn_id = ledger_entries.bank_txn_id AND b.outcome = 'deposit_confirmed') \
                     ORDER BY seq LIMIT 1",
                )
                .bind(application_id)
                .fetch_optional(&mut **tx)
                .await?)
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::live::LiveStore for $store {
            async fn insert_application(
                &self,
                a: &$crate::domain::application::Application,
                event: $crate::domain::event::NewEvent,
            ) -> $crate::store::Result<i64> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO applications (id, trade_id, identity_id, usci, organization, payer_account, payer_name, status, applied_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(&a.id)
                .bind(&a.trade_id)
                .bind(&a.identity_id)
                .bind(&a.usci)
                .bind(&a.organization)
                .bind(&a.payer_account)
                .bind(&a.payer_name)
                .bind(a.status.as_str())
                .bind(a.applied_at.timestamp_millis())
                .execute(&mut *tx)
                .await?;
                let seq = self.append_in(&mut tx, &event).await?;
                self.commit(tx).await?;
                Ok(seq)
            }

            async fn application(
                &self,
                id: &str,
            ) -> $crate::store::Result<Option<$crate::domain::application::Application>> {
                Self::application_on(&self.pool, id).await
            }

            async fn application_of(
                &self,
                trade_id: &str,
                usci: &str,
            ) -> $crate::store::Result<Option<$crate::domain::application::Application>> {
                let row: Option<$crate::store::live::ApplicationRow> = sqlx::query_as(&format!(
                    "{} WHERE trade_id = $1 AND usci = $2",
                    $crate::store::live::APPLICATION_SELECT
                ))
                .bind(trade_id)
                .bind(usci)
                .fetch_optional(&self.pool)
                .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn applications_by(
                &self,
                usci: &str,
                limit: i64,
            ) -> $crate::store::Result<Vec<$crate::domain::application::Application>> {
                let rows: Vec<$crate::store::live::ApplicationRow> = sqlx::query_as(&format!(
                    "{} WHERE usci = $1 ORDER BY applied_at DESC, id DESC LIMIT $2",
                    $crate::store::live::APPLICATION_SELECT
                ))
                .bind(usci)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn applications(
                &self,
                trade_id: &str,
            ) -> $crate::store::Result<Vec<$crate::domain::application::Application>> {
                Self::applications_on(&self.pool, trade_id).await
            }

            async fn decide_application(
                &self,
                d: &$crate::store::live::ApplicationDecision<'_>,
                event: $crate::domain::event::NewEvent,
                numbered: $crate::store::live::EventFor<'_, $crate::domain::application::Application>,
            ) -> $crate::store::Result<$crate::domain::application::Application> {
                use $crate::domain::application::ApplicationStatus;
                use $crate::domain::ledger::{Refund, RefundReason, RefundStatus};
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(
                    "UPDATE applications SET status = $2, reason = $3, decided_by = $4, decided_at = $5 \
                     WHERE id = $1 AND status = 'pending'",
                )
                .bind(d.id)
                .bind(d.status.as_str())
                .bind(d.reason)
                .bind(d.by)
                .bind(d.at.timestamp_millis())
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 0 {
                    return Err($crate::store::StoreError::Conflict("application_not_pending".into()));
                }
                self.append_in(&mut tx, &event).await?;
                let mut application = Self::application_on(&mut *tx, d.id)
                    .await?
                    .ok_or($crate::store::StoreError::NotFound)?;
                if application.due_a_number() {
                    Self::draw_number(&mut tx, &mut application, d.numbers).await?;
                    self.append_in(&mut tx, &numbered(&application)).await?;
                }
                if application.status == ApplicationStatus::Rejected {
                    if let Some((bank_id, account)) = Self::deposit_source(&mut tx, &application.id).await? {
                        let refund = Refund {
                            id: d.refund_id.to_owned(),
                            trade_id: application.trade_id.clone(),
                            application_id: Some(application.id.clone()),
                            account,
                            account_name: application.payer_name.clone(),
                            amount: d.deposit,
                            reason: RefundReason::ApplicationRejected,
                            status: RefundStatus::Pending,
                            created_at: d.at,
                            sent_at: None,
                            confirmed_at: None,
                        due_at: None,
                        };
                        Self::insert_refund(&mut tx, &refund, bank_id.as_deref().unwrap_or_default()).await?;
                    }
                }
                self.commit(tx).await?;
                Ok(application)
            }

            async fn record_notification(
                &self,
                intake: &$crate::store::live::NotificationIntake,
                event: $crate::store::live::EventFor<'_, $crate::store::live::NotificationRecord>,
            ) -> $crate::store::Result<$crate::store::live::NotificationRecord> {
                use $crate::domain::bank::{decide_deposit, decide_refund, Decision, NotificationKind};
                use $crate::domain::ledger::{EntryKind, LedgerEntry, Refund, RefundStatus};
                use $crate::store::live::NotificationRecord;
                let n = &intake.notification;
                let mut tx = self.begin_write().await?;
                let seen: Option<(String, String, Option<String>, Option<String>, i64)> = sqlx::query_as(
                    "SELECT body_sha256, outcome, application_id, refund_id, seq FROM bank_notifications \
                     WHERE bank_id = $1 AND bank_txn_id = $2",
                )
                .bind(&intake.bank_id)
                .bind(&n.bank_txn_id)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some((sha, outcome, application_id, refund_id, seq)) = seen {
                    if sha != intake.body_sha256 {
                        return Err($crate::store::StoreError::Conflict("bank_txn_conflict".into()));
                    }
                    return Ok(NotificationRecord {
                        outcome,
                        application_id,
                        refund_id,
                        bidder_number: None,
                        seq,
                        repeated: true,
                    });
                }
                let decision = match n.kind {
                    NotificationKind::Deposit => {
                        let applications = Self::applications_on(&mut *tx, &n.trade).await?;
                        decide_deposit(n, &applications, intake.owed, intake.cut_off)
                    }
                    NotificationKind::Bond => {
                        let counted: Option<(String,)> = sqlx::query_as(
                            "SELECT bank_txn_id FROM bank_notifications \
                             WHERE trade_id = $1 AND kind = 'bond' AND outcome = 'bond_confirmed' AND bidder_usci = $2",
                        )
                        .bind(&n.trade)
                        .bind(n.bidder_usci.as_deref().unwrap_or_default())
                        .fetch_optional(&mut *tx)
                        .await?;
                        $crate::domain::bank::decide_bond(n, intake.owed, intake.cut_off, counted.is_some())
                    }
                    NotificationKind::Refund => {
                        let row: Option<$crate::store::live::RefundRow> = sqlx::query_as(&format!(
                            "{} WHERE id = $1",
                            $crate::store::live::REFUND_SELECT
                        ))
                        .bind(n.refund.as_deref().unwrap_or_default())
                        .fetch_optional(&mut *tx)
                        .await?;
                        let refund: Option<Refund> = row.map(TryInto::try_into).transpose()?;
                        decide_refund(n, refund.as_ref())
                    }
                };
                let mut record = NotificationRecord {
                    outcome: decision.outcome().to_owned(),
                    application_id: None,
                    refund_id: None,
                    bidder_number: None,
                    seq: 0,
                    repeated: false,
                };
                let at = intake.received_at;
                let entry = |kind, application_id: Option<String>, refund_id: Option<String>| LedgerEntry {
                    id: intake.ledger_id.clone(),
                    trade_id: n.trade.clone(),
                    application_id,
                    kind,
                    amount: n.amount,
                    account: n.payer_account.clone(),
                    bank_id: Some(intake.bank_id.clone()),
                    bank_txn_id: Some(n.bank_txn_id.clone()),
                    refund_id,
                    at,
                    seq: 0,
                };
                let mut ledger = None;
                // Money that does not count (a deposit or a bond) is on the account, and a
                // refund instruction sends it back.
                if let Some((application_id, reason)) = decision.returned() {
                    let refund = Refund {
                        id: intake.refund_id.clone(),
                        trade_id: n.trade.clone(),
                        application_id: application_id.clone(),
                        account: n.payer_account.clone(),
                        account_name: n.payer_name.clone(),
                        amount: n.amount,
                        reason,
                        status: RefundStatus::Pending,
                        created_at: at,
                        sent_at: None,
                        confirmed_at: None,
                        due_at: None,
                    };
                    Self::insert_refund(&mut tx, &refund, &intake.bank_id).await?;
                    record.application_id = application_id.clone();
                    record.refund_id = Some(refund.id.clone());
                    ledger = Some(entry(EntryKind::DepositReceived, application_id, None));
                }
                match &decision {
                    Decision::DepositConfirmed { application_id } => {
                        sqlx::query("UPDATE applications SET deposit_at = $2 WHERE id = $1")
                            .bind(application_id)
                            .bind(n.booked_at.timestamp_millis())
                            .execute(&mut *tx)
                            .await?;
                        let mut application = Self::application_on(&mut *tx, application_id)
                            .await?
                            .ok_or($crate::store::StoreError::NotFound)?;
                        if application.due_a_number() {
                            Self::draw_number(&mut tx, &mut application, &intake.numbers).await?;
                            record.bidder_number = application.bidder_number.clone();
                        }
                        record.application_id = Some(application_id.clone());
                        ledger = Some(entry(EntryKind::DepositReceived, Some(application_id.clone()), None));
                    }
                    Decision::RefundConfirmed { refund_id } => {
                        sqlx::query("UPDATE refunds SET status = 'confirmed', confirmed_at = $2 WHERE id = $1")
                            .bind(refund_id)
                            .bind(at.timestamp_millis())
                            .execute(&mut *tx)
                            .await?;
                        let (application_id,): (Option<String>,) =
                            sqlx::query_as("SELECT application_id FROM refunds WHERE id = $1")
                                .bind(refund_id)
                                .fetch_one(&mut *tx)
                                .await?;
                        record.application_id = application_id.clone();
                        record.refund_id = Some(refund_id.clone());
                        ledger = Some(entry(EntryKind::RefundConfirmed, application_id, Some(refund_id.clone())));
                    }
                    Decision::RefundUnmatched { .. } => {}
                    Decision::BondConfirmed { .. } => {
                        ledger = Some(entry(EntryKind::DepositReceived, None, None));
                    }
                    // Handled above.
                    Decision::DepositReturned { .. } | Decision::BondReturned { .. } => {}
                }
                let seq = self.append_in(&mut tx, &event(&record)).await?;
                record.seq = seq;
                if let Some(mut e) = ledger {
                    e.seq = seq;
                    Self::insert_ledger(&mut tx, &e).await?;
                }
                sqlx::query(
                    "INSERT INTO bank_notifications (bank_id, bank_txn_id, body_sha256, kind, trade_id, amount, outcome, application_id, refund_id, received_at, seq, bidder_usci, payer_account) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                )
                .bind(&intake.bank_id)
                .bind(&n.bank_txn_id)
                .bind(&intake.body_sha256)
                .bind(match n.kind {
                    NotificationKind::Deposit => "deposit",
                    NotificationKind::Refund => "refund",
                    NotificationKind::Bond => "bond",
                })
                .bind(&n.trade)
                .bind(n.amount.minor_units())
                .bind(&record.outcome)
                .bind(&record.application_id)
                .bind(&record.refund_id)
                .bind(at.timestamp_millis())
                .bind(seq)
                .bind(&n.bidder_usci)
                .bind(&n.payer_account)
                .execute(&mut *tx)
                .await?;
                self.commit(tx).await?;
                Ok(record)
            }

            async fn refunds(
                &self,
                trade_id: &str,
            ) -> $crate::store::Result<Vec<$crate::domain::ledger::Refund>> {
                let rows: Vec<$crate::store::live::RefundRow> = sqlx::query_as(&format!(
                    "{} WHERE trade_id = $1 ORDER BY created_at, id",
                    $crate::store::live::REFUND_SELECT
                ))
                .bind(trade_id)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn ledger(
                &self,
                trade_id: &str,
            ) -> $crate::store::Result<Vec<$crate::domain::ledger::LedgerEntry>> {
                let rows: Vec<$crate::store::live::LedgerRow> = sqlx::query_as(&format!(
                    "{} WHERE trade_id = $1 ORDER BY seq, id",
                    $crate::store::live::LEDGER_SELECT
                ))
                .bind(trade_id)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }
        }
    };
}

pub(crate) use impl_live_store;
