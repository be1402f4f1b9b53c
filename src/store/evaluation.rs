//! Storage from the opening to the contract (ADR 0014): the experts' signed score sheets,
//! the evaluation report and the experts' signatures over it, the result (candidates'
//! publicity, award notice, contract), objections and complaints. Each change is one
//! transaction with its log entry; the state checks that decide whether a step may
//! happen (an objection still open blocks the award) run inside it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::Result;
use crate::domain::event::NewEvent;
use crate::domain::ledger::Refund;

/// An expert's score sheet as kept: the canonical JSON it signed and the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSheet {
    pub expert_id: String,
    pub sheet: String,
    pub signature: Vec<u8>,
    pub submitted_at: DateTime<Utc>,
    pub seq: i64,
}

/// The evaluation report (canonical JSON) and its SHA-256, hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReport {
    pub report: String,
    pub sha256: String,
    pub created_at: DateTime<Utc>,
    pub seq: i64,
}

/// An expert's signature over the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSignature {
    pub expert_id: String,
    pub signature: Vec<u8>,
    pub dissent: Option<String>,
    pub signed_at: DateTime<Utc>,
    pub seq: i64,
}

/// What the signed report decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome<'a> {
    /// Candidates (JSON), publicised from `from` until `until`.
    Publicity {
        candidates: &'a str,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    },
    /// Too few qualified bids: the trade fails.
    Failed,
}

/// A trade's result: the candidates and their publicity, then the award and the contract
/// (each JSON as published).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeResult {
    pub candidates: String,
    pub publicity_from: DateTime<Utc>,
    pub publicity_until: DateTime<Utc>,
    pub published_seq: i64,
    pub award: Option<String>,
    pub awarded_at: Option<DateTime<Utc>>,
    pub contract: Option<String>,
    pub contracted_at: Option<DateTime<Utc>>,
}

/// An objection (异议) and its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Objection {
    pub id: String,
    pub trade_id: String,
    pub identity_id: String,
    pub text: String,
    pub filed_at: DateTime<Utc>,
    pub answer_due: DateTime<Utc>,
    pub seq: i64,
    pub answer: Option<String>,
    pub answered_at: Option<DateTime<Utc>>,
}

/// A complaint (投诉) to the supervisor and its ruling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Complaint {
    pub id: String,
    pub trade_id: String,
    pub identity_id: String,
    pub objection_id: String,
    pub text: String,
    pub filed_at: DateTime<Utc>,
    pub seq: i64,
    pub upheld: Option<bool>,
    pub ruling: Option<String>,
    pub ruled_by: Option<String>,
    pub ruled_at: Option<DateTime<Utc>>,
}

#[async_trait]
pub trait EvaluationStore: Send + Sync {
    /// Keeps an expert's sheet; `Conflict("sheet_submitted")` for a second one,
    /// `Conflict("reported")` once the report exists.
    async fn record_sheet(
        &self,
        trade_id: &str,
        sheet: &StoredSheet,
        event: NewEvent,
    ) -> Result<i64>;
    async fn sheets(&self, trade_id: &str) -> Result<Vec<StoredSheet>>;
    /// Keeps the report; `Conflict("reported")` if the trade has one.
    async fn record_report(
        &self,
        trade_id: &str,
        report: &StoredReport,
        event: NewEvent,
    ) -> Result<i64>;
    async fn report(&self, trade_id: &str) -> Result<Option<StoredReport>>;
    /// Keeps an expert's signature over the report; `Conflict("report_signed")` for a
    /// second one.
    async fn sign_report(
        &self,
        trade_id: &str,
        signature: &ReportSignature,
        event: NewEvent,
    ) -> Result<i64>;
    async fn report_signatures(&self, trade_id: &str) -> Result<Vec<ReportSignature>>;
    /// Applies the signed report's outcome to an opened trade; `Conflict("not_opened")`
    /// if it is no longer opened (the outcome is applied once).
    async fn publish_result(
        &self,
        trade_id: &str,
        outcome: Outcome<'_>,
        event: NewEvent,
    ) -> Result<i64>;
    async fn result(&self, trade_id: &str) -> Result<Option<TradeResult>>;
    /// Files an objection while the trade is in publicity before `publicity_until`;
    /// `Conflict("not_publicity")` otherwise.
    async fn file_objection(&self, objection: &Objection, event: NewEvent) -> Result<i64>;
    async fn objections(&self, trade_id: &str) -> Result<Vec<Objection>>;
    /// `NotFound`, or `Conflict("answered")` for an answered objection.
    async fn answer_objection(
        &self,
        trade_id: &str,
        objection_id: &str,
        answer: &str,
        at: DateTime<Utc>,
        event: NewEvent,
    ) -> Result<i64>;
    /// Files a complaint while the trade is in publicity; `Conflict("complaint_filed")`
    /// if the objection has one, `Conflict("not_publicity")` after the award.
    async fn file_complaint(&self, complaint: &Complaint, event: NewEvent) -> Result<i64>;
    async fn complaints(&self, trade_id: &str) -> Result<Vec<Complaint>>;
    /// Rules on a complaint; upheld, the trade (still in publicity) fails. `NotFound`, or
    /// `Conflict("ruled")`.
    #[allow(clippy::too_many_arguments)]
    async fn rule_complaint(
        &self,
        trade_id: &str,
        complaint_id: &str,
        upheld: bool,
        ruling: &str,
        by: &str,
        at: DateTime<Utc>,
        event: NewEvent,
    ) -> Result<i64>;
    /// Awards a trade in publicity and adds `terms` (the winner's) to its search entry:
    /// `Conflict("not_publicity")`, `Conflict("objection_pending")` or
    /// `Conflict("complaint_pending")` otherwise.
    async fn award(
        &self,
        trade_id: &str,
        award: &str,
        at: DateTime<Utc>,
        terms: (DateTime<Utc>, &[String]),
        event: NewEvent,
    ) -> Result<i64>;
    /// Records the contract of an awarded trade with the refunds it schedules (each with
    /// its bank); `Conflict("not_awarded")` otherwise.
    async fn record_contract(
        &self,
        trade_id: &str,
        contract: &str,
        at: DateTime<Utc>,
        refunds: &[(Refund, String)],
        event: NewEvent,
    ) -> Result<i64>;
}

/// Implements `EvaluationStore` for a store type that `impl_store!` and
/// `impl_live_store!` were applied to.
macro_rules! impl_evaluation_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::evaluation::EvaluationStore for $store {
            async fn record_sheet(
                &self,
                trade_id: &str,
                sheet: &$crate::store::evaluation::StoredSheet,
                event: $crate::domain::event::NewEvent,
            ) -> $crate::store::Result<i64> {
                let mut tx = self.begin_write().await?;
                let reported: Option<(String,)> =
                    sqlx::query_as("SELECT trade_id FROM evaluation_reports WHERE trade_id = $1")
                        .bind(trade_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                if reported.is_some() {
                    return Err($crate::store::StoreError::Conflict("reported".into()));
                }
                let seen: Option<(String,)> = sqlx::query_as(
                    "SELECT expert_id FROM evaluation_sheets WHERE trade_id = $1 AND expert_id = $2",
                )
                .bind(trade_id)
                .bind(&sheet.expert_id)
                .fetch_optional(&mut *tx)
                .await?;
                if seen.is_some() {
                    return Err($crate::store::StoreError::Conflict("sheet_submitted".into()));
                }
                let seq = self.append_in(&mut tx, &event).await?;
                sqlx::query(
                    "INSERT INTO evaluation_sheets (trade_id, expert_id, sheet, signature, submitted_at, seq) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(trade_id)
                .bind(&sheet.expert_id)
                .bind(&sheet.sheet)
                .bind(sheet.signature.clone())
                .bind(sheet.submitted_at.timestamp_millis())
                .bind(seq)
                .execute(&mut *tx)
                .await?;
                self.commit(tx).await?;
                Ok(seq)
            }

            async fn sheets(
                &self,
                trade_id: &str,
            ) -> $crate::store::Result<Vec<$crate::store::evaluation::StoredSheet>> {
                let rows: Vec<(String, String, Vec<u8>, i64, i64)> = sqlx::query_as(
                    "SELECT expert_id, sheet, signature, submitted_at, seq FROM evaluation_sheets \
                     WHERE trade_id = $1 ORDER BY seq",
                )
                .bind(trade_id)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(expert_id, sheet, signature, at, seq)| {
                        $crate::store::evaluation::StoredSheet {
                            expert_id,
                            sheet,
                            signature,
                            submitted_at: $crate::domain::clock::from_millis(at),
                            seq,
                        }
                    })
                    .collect())
            }

            async fn record_report(
                &self,
                trade_id: &str,
                report: &$crate::store::evaluation::StoredReport,
                event: $crate::domain::event::NewEvent,
            ) -> $crate::store::Result<i64> {
                let mut tx = self.begin_write().await?;
                let seen: Option<(String,)> =
                    sqlx::query_as("SELECT trade_id FROM evaluation_reports WHERE trade_id = $1")
                        .bind(trade_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                if seen.is_some() {
                    return Err($crate::store::StoreError::Conflict("reported".into()));
                }
                let seq = self.append_in(&mut tx, &event).await?;
                sqlx::query(
                    "INSERT INTO evaluation_reports (trade_id, report, sha256, created_at, seq) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(trade_id)
                .bind(&report.report)
                .bind(&report.sha256)
                .bind(report.created_at.timestamp_millis())
                .bind(seq)
                .execute(&mut *tx)
                .await?;
                self.commit(tx).await?;
                Ok(seq)
            }

            async fn report(
                &self,
                trade_id: &str,
            ) -> $crate::store::Result<Option<$crate::store::evaluation::StoredReport>> {
                let row: Option<(String, String, i64, i64)> = sqlx::query_as(
                    "SELECT report, sha256, created_at, seq FROM evaluation_reports WHERE trade_id = $1",
                )
                .bind(trade_id)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(|(report, sha256, at, seq)| $crate::store::evaluation::StoredReport {
                    report,
                    sha256,
                    created_at: $crate::domain::clock::from_millis(at),
                    seq,
                }))
            }

            async fn sign_report(
                &self,
                trade_id: &str,
                signature: &$crate::store::evaluation::ReportSignature,
                event: $crate::domain::event::NewEvent,
            ) -> $crate::store::Result<i64> {
                let mut tx = self.begin_write().await?;
                let seen: Option<(String,)> = sqlx::query_as(
                    "SELECT expert_id FROM report_signatures WHERE trade_id = $1 AND expert_id = $2",
                )
                .bind(trade_id)
                .bind(&signature.expert_id)
                .fetch_optional(&mut *tx)
                .await?;
                if seen.is_some() {
                    return Err($crate::store::StoreError::Conflict("report_signed".into()));
                }
                let seq = self.append_in(&mut tx, &event).await?;
                sqlx::query(
                    "INSERT INTO report_signatures (trade_id, expert_id, signature, dissent, signed_at, seq) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(trade_id)
                .bind(&signature.expert_id)
                .bind(signature.signature.clone())
                .bind(&signature.dissent)
                .bind(signature.signed_at.timestamp_millis())
                .bind(seq)
                .execute(&mut *tx)
                .await?;
                self.commit(tx).await?;
                Ok(seq)
            }

            async fn report_signatures(
                &self,
                trade_id: &str,
            ) -> $crate::store::Result<Vec<$crate::store::evaluation::ReportSignature>> {
                let rows: Vec<(String, Vec<u8>, Option<String>, i64, i64)> = sqlx::query_as(
                    "SELECT expert_id, signature, dissent, signed_at, seq FROM report_signatures \
                     WHERE trade_id = $1 ORDER BY seq",
                )
                .bind(trade_id)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(expert_id, signature, dissent, at, seq)| {
                        $crate::store::evaluation::ReportSignature {
                            expert_id,
                            signature,
                            dissent,
                            signed_at: $crate::domain::clock::from_millis(at),
                            seq,
                        }
                    })
                    .collect())
            }

            async fn publish_result(
                &self,
                trade_id: &str,
                outcome: $crate::store::evaluation::Outcome<'_>,
                event: $crate::domain::event::NewEvent,
            ) -> $crate::store::Result<i64> {
                use $crate::store::evaluation::Outcome;
                let mut tx = self.begin_write().await?;
                let status = match outcome {
                    Outcome::Publicity { .. } => "publicity",
                    Outcome::Failed => "failed",
                };
                let changed = sqlx::query("UPDATE trades SET status = $2 WHERE id = $1 AND status = 'opened'")
                    .bind(trade_id)
                    .bind(status)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if changed == 0 {
                    return Err($crate::store::StoreError::Conflict("not_opened".into()));
                }
                let seq = self.append_in(&mut tx, &event).await?;
                if let Outcome::Publicity { candidates, from, until } = outcome {
                    sqlx::query(
                        "INSERT INTO trade_results (trade_id, candidates, publicity_from, publicity_until, published_seq) \
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(trade_id)
                    .bind(candidates)
                    .bind(from.timestamp_millis())
                    .bind(until.timestamp_millis())
                    .bind(seq)
                    .execute(&mut *tx)
                    .await?;
                }
                self.commit(tx).await?;
                Ok(seq)
            }

            async fn result(
                &self,
                trade_id: &str,
            ) -> $crate::store::Result<Option<$crate::store::evaluation::TradeResult>> {
                type Row = (String, i64, i64, i64, Option<String>, Option<i64>, Option<String>, Option<i64>);
                let row: Option<Row> = sqlx::query_as(
                    "SELECT candidates, publicity_from, publicity_until, published_seq, award, awarded_at, contract, contracted_at \
                     FROM trade_results WHERE trade_id = $1",
                )
                .bind(trade_id)
                .fetch_optional(&self.pool)
                .await?;
                use $crate::domain::clock::from_millis;
                Ok(row.map(|(candidates, from, until, published_seq, award, awarded_at, contract, contracted_at)| {
                    $crate::store::evaluation::TradeResult {
                        candidates,
                        publicity_from: from_millis(from),
                        publicity_until: from_millis(until),
                        published_seq,
                        award,
                        awarded_at: awarded_at.map(from_millis),
                        contract,
                        contracted_at: contracted_at.map(from_millis),
                    }
                }))
            }

            async fn file_objection(
                &self,
                o: &$crate::store::evaluation::Objection,
                event: $crate::domain::event::NewEvent,
            ) -> $crate::store::Result<i64> {
                let mut tx = self.begin_write().await?;
                let open: Option<(String,)> = sqlx::query_as(
                    "SELECT t.id FROM trades t JOIN trade_results r ON r.trade_id = t.id \
                     WHERE t.id = $1 AND t.status = 'publicity' AND r.publicity_until > $2",
                )
                .bind(&o.trade_id)
                .bind(o.filed_at.timestamp_millis())
                .fetch_optional(&mut *tx)
                .await?;
                if open.is_none() {
                    return Err($crate::store::StoreError::Conflict("not_publicity".into()));
                }
                let seq = self.append_in(&mut tx, &event).await?;
                sqlx::query(
                    "INSERT INTO objections (id, trade_id, identity_id, text, filed_at, answer_due, seq) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&o.id)
                .bind(&o.trade_id)
                .bind(&o.identity_id)
                .bind(&o.text)
                .bind(o.filed_at.timestamp_millis())
                .bind(o.answer_due.timestamp_millis())
                .bind(seq)
                .execute(&mut *tx)
                .await?;
                self.commit(tx).await?;
                Ok(seq)
            }

            async fn objections(
                &self,
                trade_id: &str,
            ) -> $crate::store::Result<Vec<$crate::store::evaluation::Objection>> {
                type Row = (String, String, String, String, i64, i64, i64, Option<String>, Option<i64>);
                let rows: Vec<Row> = sqlx::query_as(
                    "SELECT id, trade_id, identity_id, text, filed_at, answer_due, seq, answer, answered_at \
                     FROM objections WHERE trade_id = $1 ORDER BY seq",
                )
                .bind(trade_id)
                .fetch_all(&self.pool)
                .await?;
                use $crate::domain::clock::from_millis;
                Ok(rows
                    .into_iter()
                    .map(|(id, trade_id, identity_id, text, filed_at, answer_due, seq, answer, answered_at)| {
                        $crate::store::evaluation::Objection {
                            id,
                            trade_id,
                            identity_id,
                            text,
                            filed_at: from_millis(filed_at),
                            answer_due: from_millis(answer_due),
                            seq,
                            answer,
                            answered_at: answered_at.map(from_millis),
                        }
                    })
                    .collect())
            }

            async fn answer_objection(
                &self,
                trade_id: &str,
                objection_id: &str,
                answer: &str,
                at: chrono::DateTime<chrono::Utc>,
                event: $crate::domain::event::NewEvent,
            ) -> $crate::store::Result<i64> {
                let mut tx = self.begin_write().await?;
                let row: Option<(Option<String>,)> =
                    sqlx::query_as("SELECT answer FROM objections WHERE id = $1 AND trade_id = $2")
                        .bind(objection_id)
                        .bind(trade_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                match row {
                    None => return Err($crate::store::StoreError::NotFound),
                    Some((Some(_),)) => {
                        return Err($crate::store::StoreError::Conflict("answered".into()))
                    }
                    Some((None,)) => {}
                }
                let seq = self.append_in(&mut tx, &event).await?;
                sqlx::query("UPDATE objections SET answer = $2, answered_at = $3, answer_seq = $4 WHERE id = $1")
                    .bind(objection_id)
                    .bind(answer)
                    .bind(at.timestamp_millis())
                    .bind(seq)
                    .execute(&mut *tx)
                    .await?;
                self.commit(tx).await?;
                Ok(seq)
            }

            async fn file_complaint(
                &self,
                c: &$crate::store::evaluation::Complaint,
                event: $crate::domain::event::NewEvent,
            ) -> $crate::store::Result<i64> {
                let mut tx = self.begin_write().await?;
                let (status,): (String,) = sqlx::query_as("SELECT status FROM trades WHERE id = $1")
                    .bind(&c.trade_id)
                    .fetch_one(&mut *tx)
                    .await?;
                if status != "publicity" {
                    return Err($crate::store::StoreError::Conflict("not_publicity".into()));
                }
                let seen: Option<(String,)> =
                    sqlx::query_as("SELECT id FROM complaints WHERE objection_id = $1")
                        .bind(&c.objection_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                if seen.is_some() {
                    return Err($crate::store::StoreError::Conflict("complaint_filed".into()));
                }
                let seq = self.append_in(&mut tx, &event).await?;
                sqlx::query(
                    "INSERT INTO complaints (id, trade_id, identity_id, objection_id, text, filed_at, seq) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&c.id)
                .bind(&c.trade_id)
                .bind(&c.identity_id)
                .bind(&c.objection_id)
                .bind(&c.text)
                .bind(c.filed_at.timestamp_millis())
                .bind(seq)
                .execute(&mut *tx)
                .await?;
                self.commit(tx).await?;
                Ok(seq)
            }

            async fn complaints(
                &self,
                trade_id: &str,
            ) -> $crate::store::Result<Vec<$crate::store::evaluation::Complaint>> {
                type Row = (
                    String, String, String, String, String, i64, i64,
                    Option<i64>, Option<String>, Option<String>, Option<i64>,
                );
                let rows: Vec<Row> = sqlx::query_as(
                    "SELECT id, trade_id, identity_id, objection_id, text, filed_at, seq, upheld, ruling, ruled_by, ruled_at \
                     FROM complaints WHERE trade_id = $1 ORDER BY seq",
                )
                .bind(trade_id)
                .fetch_all(&self.pool)
                .await?;
                use $crate::domain::clock::from_millis;
                Ok(rows
                    .into_iter()
                    .map(|(id, trade_id, identity_id, objection_id, text, filed_at, seq, upheld, ruling, ruled_by, ruled_at)| {
                        $crate::store::evaluation::Complaint {
                            id,
                            trade_id,
                            identity_id,
                            objection_id,
                            text,
                            filed_at: from_millis(filed_at),
                            seq,
                            upheld: upheld.map(|u| u != 0),
                            ruling,
                            ruled_by,
                            ruled_at: ruled_at.map(from_millis),
                        }
                    })
                    .collect())
            }

            async fn rule_complaint(
                &self,
                trade_id: &str,
                complaint_id: &str,
                upheld: bool,
                ruling: &str,
                by: &str,
                at: chrono::DateTime<chrono::Utc>,
                event: $crate::domain::event::NewEvent,
            ) -> $crate::store::Result<i64> {
                let mut tx = self.begin_write().await?;
                let row: Option<(Option<i64>,)> =
                    sqlx::query_as("SELECT upheld FROM complaints WHERE id = $1 AND trade_id = $2")
                        .bind(complaint_id)
                        .bind(trade_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                match row {
                    None => return Err($crate::store::StoreError::NotFound),
                    Some((Some(_),)) => return Err($crate::store::StoreError::Conflict("ruled".into())),
                    Some((None,)) => {}
                }
                let seq = self.append_in(&mut tx, &event).await?;
                sqlx::query(
                    "UPDATE complaints SET upheld = $2, ruling = $3, ruled_by = $4, ruled_at = $5, ruling_seq = $6 WHERE id = $1",
                )
                .bind(complaint_id)
                .bind(i64::from(upheld))
                .bind(ruling)
                .bind(by)
                .bind(at.timestamp_millis())
                .bind(seq)
                .execute(&mut *tx)
                .await?;
                if upheld {
                    sqlx::query("UPDATE trades SET status = 'failed' WHERE id = $1 AND status = 'publicity'")
                        .bind(trade_id)
                        .execute(&mut *tx)
                        .await?;
                }
                self.commit(tx).await?;
                Ok(seq)
            }

            async fn award(
                &self,
                trade_id: &str,
                award: &str,
                at: chrono::DateTime<chrono::Utc>,
                terms: (chrono::DateTime<chrono::Utc>, &[String]),
                event: $crate::domain::event::NewEvent,
            ) -> $crate::store::Result<i64> {
                let mut tx = self.begin_write().await?;
                let (status,): (String,) = sqlx::query_as("SELECT status FROM trades WHERE id = $1")
                    .bind(trade_id)
                    .fetch_one(&mut *tx)
                    .await?;
                if status != "publicity" {
                    return Err($crate::store::StoreError::Conflict("not_publicity".into()));
                }
                let (objections,): (i64,) = sqlx::query_as(
                    "SELECT COUNT(*) FROM objections WHERE trade_id = $1 AND answer IS NULL",
                )
                .bind(trade_id)
                .fetch_one(&mut *tx)
                .await?;
                if objections > 0 {
                    return Err($crate::store::StoreError::Conflict("objection_pending".into()));
                }
                let (complaints,): (i64,) = sqlx::query_as(
                    "SELECT COUNT(*) FROM complaints WHERE trade_id = $1 AND upheld IS NULL",
                )
                .bind(trade_id)
                .fetch_one(&mut *tx)
                .await?;
                if complaints > 0 {
                    return Err($crate::store::StoreError::Conflict("complaint_pending".into()));
                }
                let seq = self.append_in(&mut tx, &event).await?;
                sqlx::query("UPDATE trade_results SET award = $2, awarded_at = $3, award_seq = $4 WHERE trade_id = $1")
                    .bind(trade_id)
                    .bind(award)
                    .bind(at.timestamp_millis())
                    .bind(seq)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("UPDATE trades SET status = 'awarded' WHERE id = $1")
                    .bind(trade_id)
                    .execute(&mut *tx)
                    .await?;
                Self::insert_terms(&mut tx, trade_id, terms.0, terms.1).await?;
                self.commit(tx).await?;
                Ok(seq)
            }

            async fn record_contract(
                &self,
                trade_id: &str,
                contract: &str,
                at: chrono::DateTime<chrono::Utc>,
                refunds: &[($crate::domain::ledger::Refund, String)],
                event: $crate::domain::event::NewEvent,
            ) -> $crate::store::Result<i64> {
                let mut tx = self.begin_write().await?;
                let changed = sqlx::query("UPDATE trades SET status = 'contracted' WHERE id = $1 AND status = 'awarded'")
                    .bind(trade_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if changed == 0 {
                    return Err($crate::store::StoreError::Conflict("not_awarded".into()));
                }
                let seq = self.append_in(&mut tx, &event).await?;
                sqlx::query("UPDATE trade_results SET contract = $2, contracted_at = $3, contract_seq = $4 WHERE trade_id = $1")
                    .bind(trade_id)
                    .bind(contract)
                    .bind(at.timestamp_millis())
                    .bind(seq)
                    .execute(&mut *tx)
                    .await?;
                for (refund, bank_id) in refunds {
                    Self::insert_refund(&mut tx, refund, bank_id).await?;
                }
                self.commit(tx).await?;
                Ok(seq)
            }
        }
    };
}

pub(crate) use impl_evaluation_store;
