//! After the evaluation (ADR 0014): the candidates' publicity, objections (异议) to the
//! trading centre and complaints (投诉) to the supervisor, the award notice, and the
//! contract with the bonds' refunds it schedules. Each step is a log entry; an objection
//! not yet answered and a complaint not yet ruled on both hold the award.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{b64, corrupt, event, seal, Caller, EngineError, Platform, Result};
use crate::domain::clock::rfc3339;
use crate::domain::evaluation::Candidate;
use crate::domain::identity::Role;
use crate::domain::ledger::{Refund, RefundReason, RefundStatus};
use crate::domain::money::Money;
use crate::domain::rulebook::{scaled_days, Rules};
use crate::domain::trade::{Trade, TradeStatus};
use crate::store::evaluation::{Complaint, Objection};
use crate::store::StoreError;

/// Longest objection, answer, complaint or ruling.
pub const MAX_TEXT_CHARS: usize = 4000;

/// The centre's award order: the candidate ranked `rank` (1 unless the first declined
/// or was found unfit, with the reason; 实施条例 第55条).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwardOrder {
    #[serde(default)]
    pub rank: Option<u32>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// The contract as the centre records it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContractRecord {
    /// When the parties signed.
    pub signed_at: DateTime<Utc>,
    /// The contract price: the winning bid's (招标投标法 第46条).
    pub amount: Money,
    /// Hex SHA-256 of the signed contract document.
    pub document_sha256: String,
}

/// A text filed or answered (objection, answer, complaint).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filing {
    pub text: String,
    /// For a complaint: the objection it follows.
    #[serde(default)]
    pub objection_id: Option<String>,
}

/// A supervisor's ruling on a complaint.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ruling {
    pub upheld: bool,
    pub ruling: String,
}

/// The centre's order to tender a failed or terminated trade again.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetenderOrder {
    /// The new trade's bid deadline, held to the rulebook like any new trade's.
    pub bid_deadline: DateTime<Utc>,
    pub reason: String,
}

/// A trade's result as published.
#[derive(Debug, Clone, Serialize)]
pub struct ResultView {
    pub trade_id: String,
    pub status: TradeStatus,
    pub candidates: Vec<Candidate>,
    #[serde(serialize_with = "crate::domain::clock::serde_rfc3339::serialize")]
    pub publicity_from: DateTime<Utc>,
    #[serde(serialize_with = "crate::domain::clock::serde_rfc3339::serialize")]
    pub publicity_until: DateTime<Utc>,
    /// Objections filed and still unanswered; the award waits for them.
    pub objections: usize,
    pub objections_open: usize,
    pub complaints_open: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub award: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contract: Option<serde_json::Value>,
}

/// An objection as its filer, the centre and the trade's supervisors see it.
#[derive(Debug, Clone, Serialize)]
pub struct ObjectionView {
    pub id: String,
    pub text: String,
    #[serde(serialize_with = "crate::domain::clock::serde_rfc3339::serialize")]
    pub filed_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::domain::clock::serde_rfc3339::serialize")]
    pub answer_due: DateTime<Utc>,
    pub answer: Option<String>,
    #[serde(serialize_with = "crate::domain::clock::serde_rfc3339::option")]
    pub answered_at: Option<DateTime<Utc>>,
    pub complaint: Option<ComplaintView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ComplaintView {
    pub id: String,
    pub text: String,
    #[serde(serialize_with = "crate::domain::clock::serde_rfc3339::serialize")]
    pub filed_at: DateTime<Utc>,
    pub upheld: Option<bool>,
    pub ruling: Option<String>,
    #[serde(serialize_with = "crate::domain::clock::serde_rfc3339::option")]
    pub ruled_at: Option<DateTime<Utc>>,
}

impl ComplaintView {
    fn of(c: &Complaint) -> Self {
        Self {
            id: c.id.clone(),
            text: c.text.clone(),
            filed_at: c.filed_at,
            upheld: c.upheld,
            ruling: c.ruling.clone(),
            ruled_at: c.ruled_at,
        }
    }
}

fn check_text<'a>(field: &'static str, text: &'a str) -> Result<&'a str> {
    let text = text.trim();
    if !crate::domain::text::is_written(text, MAX_TEXT_CHARS) {
        return Err(EngineError::invalid(
            "invalid_text",
            format!("{field} must be 1 to {MAX_TEXT_CHARS} characters, without control characters other than line breaks"),
        ));
    }
    Ok(text)
}

fn days(
    rule: Option<&crate::domain::rulebook::Rule>,
    default: i64,
    trade: &Trade,
) -> chrono::Duration {
    scaled_days(rule.map_or(default, |r| r.value), trade.time_scale)
}

impl Platform {
    /// The rules of a trade's procedure (none if the rulebook lacks it).
    pub(crate) fn rules_of(&self, trade: &Trade) -> Rules {
        self.rulebook
            .procedure(&trade.terms.kind, &trade.terms.procedure)
            .map(|p| p.rules.clone())
            .unwrap_or_default()
    }

    async fn result_of(&self, trade_id: &str) -> Result<crate::store::evaluation::TradeResult> {
        self.store
            .result(trade_id)
            .await?
            .ok_or(EngineError::NotFound {
                code: "result_not_found",
                what: "trade result",
            })
    }

    /// The published result: candidates, publicity, award and contract. Public.
    pub async fn trade_result(&self, trade_id: &str) -> Result<ResultView> {
        let trade = self.announced_trade(trade_id).await?;
        let result = self.result_of(trade_id).await?;
        let objections = self.store.objections(trade_id).await?;
        let complaints = self.store.complaints(trade_id).await?;
        let json = |s: &Option<String>| -> Result<Option<serde_json::Value>> {
            s.as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(corrupt)
        };
        Ok(ResultView {
            trade_id: trade_id.to_owned(),
            status: trade.status,
            candidates: serde_json::from_str(&result.candidates).map_err(corrupt)?,
            publicity_from: result.publicity_from,
            publicity_until: result.publicity_until,
            objections: objections.len(),
            objections_open: objections.iter().filter(|o| o.answer.is_none()).count(),
            complaints_open: complaints.iter().filter(|c| c.upheld.is_none()).count(),
            award: json(&result.award)?,
            contract: json(&result.contract)?,
        })
    }

    /// A bidder of the trade objects to the result during the publicity.
    #[tracing::instrument(skip_all, fields(trade.id = %trade_id), err)]
    pub async fn file_objection(
        &self,
        caller: &Caller,
        trade_id: &str,
        filing: Filing,
    ) -> Result<ObjectionView> {
        let bidder = caller.require(Role::Bidder)?;
        let trade = self.announced_trade(trade_id).await?;
        let text = check_text("text", &filing.text)?;
        let record = self.opening_record(trade_id).await?;
        let bid_in_it = record.is_some_and(|r| {
            r.record
                .bids
                .iter()
                .any(|b| b.organization.usci == bidder.usci.as_str())
        });
        if !bid_in_it {
            return Err(EngineError::Forbidden {
                needed: Role::Bidder,
            });
        }
        let now = self.clock.now();
        let rules = self.rules_of(&trade);
        let objection = Objection {
            id: uuid::Uuid::now_v7().to_string(),
            trade_id: trade_id.to_owned(),
            identity_id: bidder.id.clone(),
            text: text.to_owned(),
            filed_at: now,
            answer_due: now + days(rules.objection_answer_days.as_ref(), 3, &trade),
            seq: 0,
            answer: None,
            answered_at: None,
        };
        let (commitment, sealed) = seal("objection", text.as_bytes().to_vec());
        let ev = event(
            caller,
            "objection.filed",
            Some(trade_id),
            serde_json::json!({
                "objection": objection.id,
                "text": commitment,
                "filed_at": rfc3339(now),
                "answer_due": rfc3339(objection.answer_due),
            }),
            vec![sealed],
        );
        match self.store.file_objection(&objection, ev).await {
            Ok(_) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(EngineError::conflict(
                    "not_publicity",
                    "objections are taken while the candidates are publicised",
                ))
            }
            Err(e) => return Err(e.into()),
        }
        Ok(ObjectionView {
            id: objection.id,
            text: objection.text,
            filed_at: now,
            answer_due: objection.answer_due,
            answer: None,
            answered_at: None,
            complaint: None,
        })
    }

    /// The trading centre answers an objection; the award may then proceed.
    #[tracing::instrument(skip_all, fields(trade.id = %trade_id), err)]
    pub async fn answer_objection(
        &self,
        caller: &Caller,
        trade_id: &str,
        objection_id: &str,
        filing: Filing,
    ) -> Result<ObjectionView> {
        caller.require(Role::TradingCentre)?;
        self.announced_trade(trade_id).await?;
        let text = check_text("text", &filing.text)?;
        let now = self.clock.now();
        let (commitment, sealed) = seal("answer", text.as_bytes().to_vec());
        let ev = event(
            caller,
            "objection.answered",
            Some(trade_id),
            serde_json::json!({
                "objection": objection_id,
                "answer": commitment,
                "answered_at": rfc3339(now),
            }),
            vec![sealed],
        );
        match self
            .store
            .answer_objection(trade_id, objection_id, text, now, ev)
            .await
        {
            Ok(_) => {}
            Err(StoreError::NotFound) => {
                return Err(EngineError::NotFound {
                    code: "objection_not_found",
                    what: "objection",
                })
            }
            Err(StoreError::Conflict(_)) => {
                return Err(EngineError::conflict(
                    "objection_answered",
                    "this objection has its answer",
                ))
            }
            Err(e) => return Err(e.into()),
        }
        self.objections(caller, trade_id)
            .await?
            .into_iter()
            .find(|o| o.id == objection_id)
            .ok_or(EngineError::NotFound {
                code: "objection_not_found",
                what: "objection",
            })
    }

    /// The trade's objections with their answers and complaints: all of them for the
    /// centre and the trade's supervisors (a logged read), a bidder's own for a bidder.
    pub async fn objections(&self, caller: &Caller, trade_id: &str) -> Result<Vec<ObjectionView>> {
        let trade = self.announced_trade(trade_id).await?;
        let identity = caller
            .identity
            .as_ref()
            .ok_or(EngineError::Unauthenticated)?;
        let all = self.require_centre_or_supervisor(caller, &trade).is_ok();
        if !all && !identity.acts_as(Role::Bidder) {
            return Err(EngineError::Forbidden {
                needed: Role::TradingCentre,
            });
        }
        let complaints = self.store.complaints(trade_id).await?;
        let views: Vec<ObjectionView> = self
            .store
            .objections(trade_id)
            .await?
            .into_iter()
            .filter(|o| all || o.identity_id == identity.id)
            .map(|o| ObjectionView {
                complaint: complaints
                    .iter()
                    .find(|c| c.objection_id == o.id)
                    .map(ComplaintView::of),
                id: o.id,
                text: o.text,
                filed_at: o.filed_at,
                answer_due: o.answer_due,
                answer: o.answer,
                answered_at: o.answered_at,
            })
            .collect();
        if all && identity.acts_as(Role::Supervisor) {
            self.store
                .append(event(
                    caller,
                    "confidential.read",
                    None,
                    serde_json::json!({ "what": "objections", "trade": trade_id }),
                    vec![],
                ))
                .await?;
        }
        Ok(views)
    }

    /// The objector complains to the supervisor after the answer, or once the answer is
    /// overdue (实施条例 第60条: an objection comes first), within the rulebook's days.
    #[tracing::instrument(skip_all, fields(trade.id = %trade_id), err)]
    pub async fn file_complaint(
        &self,
        caller: &Caller,
        trade_id: &str,
        filing: Filing,
    ) -> Result<ComplaintView> {
        let bidder = caller.require(Role::Bidder)?;
        let trade = self.announced_trade(trade_id).await?;
        let text = check_text("text", &filing.text)?;
        let objection_id = filing.objection_id.as_deref().unwrap_or_default();
        let objection = self
            .store
            .objections(trade_id)
            .await?
            .into_iter()
            .find(|o| o.id == objection_id && o.identity_id == bidder.id)
            .ok_or_else(|| {
                EngineError::conflict(
                    "objection_first",
                    "a complaint follows your own objection to this trade (实施条例 第60条)",
                )
            })?;
        let now = self.clock.now();
        let since = match objection.answered_at {
            Some(at) => at,
            None if now >= objection.answer_due => objection.answer_due,
            None => {
                return Err(EngineError::conflict(
                    "objection_unanswered",
                    "the objection's answer is not due yet",
                ))
            }
        };
        let rules = self.rules_of(&trade);
        if now > since + days(rules.complaint_days.as_ref(), 10, &trade) {
            return Err(EngineError::conflict(
                "complaint_too_late",
                "the time to complain after this objection has passed",
            ));
        }
        let complaint = Complaint {
            id: uuid::Uuid::now_v7().to_string(),
            trade_id: trade_id.to_owned(),
            identity_id: bidder.id.clone(),
            objection_id: objection.id.clone(),
            text: text.to_owned(),
            filed_at: now,
            seq: 0,
            upheld: None,
            ruling: None,
            ruled_by: None,
            ruled_at: None,
        };
        let (commitment, sealed) = seal("complaint", text.as_bytes().to_vec());
        let ev = event(
            caller,
            "complaint.filed",
            Some(trade_id),
            serde_json::json!({
                "complaint": complaint.id,
                "objection": objection.id,
                "text": commitment,
                "filed_at": rfc3339(now),
            }),
            vec![sealed],
        );
        match self.store.file_complaint(&complaint, ev).await {
            Ok(_) => Ok(ComplaintView::of(&complaint)),
            Err(StoreError::Conflict(c)) if c == "complaint_filed" => Err(EngineError::conflict(
                "complaint_filed",
                "this objection has its complaint",
            )),
            Err(StoreError::Conflict(_)) => Err(EngineError::conflict(
                "not_publicity",
                "complaints about the result are taken until the award",
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// A supervisor of the trade's region rules on a complaint. Upheld, the result is
    /// set aside and the trade fails (the centre may tender again).
    #[tracing::instrument(skip_all, fields(trade.id = %trade_id), err)]
    pub async fn rule_complaint(
        &self,
        caller: &Caller,
        trade_id: &str,
        complaint_id: &str,
        ruling: Ruling,
    ) -> Result<ComplaintView> {
        let trade = self.supervised_trade(caller, trade_id).await?;
        let supervisor = caller.require(Role::Supervisor)?;
        let text = check_text("ruling", &ruling.ruling)?;
        let now = self.clock.now();
        let ev = event(
            caller,
            "complaint.ruled",
            Some(trade_id),
            serde_json::json!({
                "complaint": complaint_id,
                "upheld": ruling.upheld,
                "ruling": text,
                "trade_failed": ruling.upheld && trade.status == TradeStatus::Publicity,
                "ruled_at": rfc3339(now),
            }),
            vec![],
        );
        match self
            .store
            .rule_complaint(
                trade_id,
                complaint_id,
                ruling.upheld,
                text,
                &supervisor.id,
                now,
                ev,
            )
            .await
        {
            Ok(_) => {}
            Err(StoreError::NotFound) => {
                return Err(EngineError::NotFound {
                    code: "complaint_not_found",
                    what: "complaint",
                })
            }
            Err(StoreError::Conflict(_)) => {
                return Err(EngineError::conflict(
                    "complaint_ruled",
                    "this complaint has its ruling",
                ))
            }
            Err(e) => return Err(e.into()),
        }
        self.store
            .complaints(trade_id)
            .await?
            .iter()
            .find(|c| c.id == complaint_id)
            .map(ComplaintView::of)
            .ok_or(EngineError::NotFound {
                code: "complaint_not_found",
                what: "complaint",
            })
    }

    /// The trading centre issues the award notice once the publicity is over and every
    /// objection and complaint is settled. The committee, the sheets and the report
    /// become public with it (the draw's salt is revealed).
    #[tracing::instrument(skip_all, fields(trade.id = %trade_id), err)]
    pub async fn award(
        &self,
        caller: &Caller,
        trade_id: &str,
        order: AwardOrder,
    ) -> Result<ResultView> {
        caller.require(Role::TradingCentre)?;
        let trade = self.announced_trade(trade_id).await?;
        if trade.status != TradeStatus::Publicity {
            return Err(EngineError::conflict(
                "not_publicity",
                "a trade is awarded after its candidates' publicity",
            ));
        }
        let result = self.result_of(trade_id).await?;
        let now = self.clock.now();
        if now < result.publicity_until {
            return Err(EngineError::conflict(
                "publicity_running",
                format!(
                    "the publicity runs until {} (server time)",
                    rfc3339(result.publicity_until)
                ),
            ));
        }
        let candidates: Vec<Candidate> =
            serde_json::from_str(&result.candidates).map_err(corrupt)?;
        let rank = order.rank.unwrap_or(1);
        let reason = order
            .reason
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty());
        if rank != 1 && reason.is_none() {
            return Err(EngineError::invalid(
                "award_reason_required",
                "awarding another than the first candidate needs the reason (实施条例 第55条)",
            ));
        }
        let winner = candidates.iter().find(|c| c.rank == rank).ok_or_else(|| {
            EngineError::invalid("unknown_candidate", format!("there is no candidate {rank}"))
        })?;
        let rules = self.rules_of(&trade);
        let contract_due = now + days(rules.contract_days.as_ref(), 30, &trade);
        let award = serde_json::json!({
            "winner": winner,
            "rank": rank,
            "reason": reason,
            "awarded_at": rfc3339(now),
            "contract_due": rfc3339(contract_due),
        });
        let draw = self.store.draw_of(trade_id).await?;
        let report = self.report_view(trade_id).await?;
        let sheets = self
            .store
            .sheets(trade_id)
            .await?
            .into_iter()
            .map(|s| {
                Ok(serde_json::json!({
                    "expert": s.expert_id,
                    "sheet": serde_json::from_str::<serde_json::Value>(&s.sheet).map_err(corrupt)?,
                    "signature": b64(&s.signature),
                }))
            })
            .collect::<Result<Vec<_>>>()?;
        let ev = event(
            caller,
            "award.notified",
            Some(trade_id),
            serde_json::json!({
                "award": award,
                "revealed": {
                    "report": report.report,
                    "report_sha256": report.sha256,
                    "signatures": report.signatures,
                    "sheets": sheets,
                    "draw": draw.map(|d| serde_json::json!({
                        "disclosed": serde_json::from_str::<serde_json::Value>(&d.disclosed).unwrap_or_default(),
                        "salt": hex::encode(&d.salt),
                    })),
                },
            }),
            vec![],
        );
        match self
            .store
            .award(
                trade_id,
                &award.to_string(),
                now,
                (
                    trade.published_at.unwrap_or(now),
                    &self.winner_terms(&winner.organization.name),
                ),
                ev,
            )
            .await
        {
            Ok(_) => {}
            Err(StoreError::Conflict(c)) => {
                let (code, message) = match c.as_str() {
                    "objection_pending" => (
                        "objection_pending",
                        "an objection is not answered yet: the award waits (实施条例 第54条)",
                    ),
                    "complaint_pending" => (
                        "complaint_pending",
                        "a complaint is before the supervisor: the award waits",
                    ),
                    _ => (
                        "not_publicity",
                        "a trade is awarded after its candidates' publicity",
                    ),
                };
                return Err(EngineError::conflict(code, message));
            }
            Err(e) => return Err(e.into()),
        }
        self.trade_result(trade_id).await
    }

    /// The trading centre tenders a failed or terminated tender again (重新招标,
    /// 招标投标法实施条例 第44条): a new draft with the same terms, a new deadline, the
    /// old trade's documents (to be amended before publishing), and `retender_of`
    /// naming the old trade. Once per trade; logged on the old trade.
    #[tracing::instrument(skip_all, fields(trade.id = %trade_id), err)]
    pub async fn retender(
        &self,
        caller: &Caller,
        trade_id: &str,
        order: RetenderOrder,
    ) -> Result<super::TradeView> {
        caller.require(Role::TradingCentre)?;
        let old = self.announced_trade(trade_id).await?;
        if !matches!(old.status, TradeStatus::Failed | TradeStatus::Terminated) {
            return Err(EngineError::conflict(
                "not_failed",
                "a trade is tendered again after it failed or was terminated",
            ));
        }
        if old.terms.live.is_some() {
            return Err(EngineError::conflict(
                "wrong_engine",
                "a sale that did not sell is listed again as a new trade with new sale terms",
            ));
        }
        let reason = check_text("reason", &order.reason)?;
        let done = self
            .store
            .trade_events_of_kinds(trade_id, &["trade.retendered"])
            .await?;
        if !done.is_empty() {
            return Err(EngineError::conflict(
                "already_retendered",
                "this trade has been tendered again already",
            ));
        }
        let mut terms = old.terms.clone();
        terms.bid_deadline = order.bid_deadline;
        terms.retender_of = Some(old.id.clone());
        let view = self.draft_following(caller, &old, terms).await?;
        self.store
            .append(event(
                caller,
                "trade.retendered",
                Some(trade_id),
                serde_json::json!({ "new_trade": view.trade.id, "reason": reason }),
                vec![],
            ))
            .await?;
        self.trade(caller, &view.trade.id).await
    }

    /// The trading centre uploads the signed contract of an awarded trade, before it
    /// records it: the archive then holds the contract itself, not only its digest.
    #[tracing::instrument(skip_all, fields(trade.id = %trade_id), err)]
    pub async fn add_contract_document(
        &self,
        caller: &Caller,
        trade_id: &str,
        name: &str,
        media_type: &str,
        content: &[u8],
    ) -> Result<crate::domain::trade::TradeDocument> {
        caller.require(Role::TradingCentre)?;
        let trade = self.announced_trade(trade_id).await?;
        if trade.status != TradeStatus::Awarded {
            return Err(EngineError::conflict(
                "not_awarded",
                "the signed contract of an awarded trade is uploaded before it is recorded",
            ));
        }
        self.store_document(
            caller,
            trade_id,
            name,
            media_type,
            content,
            "contract.document_added",
        )
        .await
    }

    /// The digests of the contract documents uploaded for `trade_id`, by its log.
    async fn contract_documents(&self, trade_id: &str) -> Result<Vec<String>> {
        Ok(self
            .store
            .trade_events_of_kinds(trade_id, &["contract.document_added"])
            .await?
            .iter()
            .filter_map(|e| {
                let entry: serde_json::Value = serde_json::from_slice(&e.entry).ok()?;
                Some(entry["data"]["sha256"].as_str()?.to_owned())
            })
            .collect())
    }

    /// The trading centre records the signed contract. Every counted bond then gets a
    /// refund instruction due within the rulebook's days (实施条例 第57条).
    #[tracing::instrument(skip_all, fields(trade.id = %trade_id), err)]
    pub async fn record_contract(
        &self,
        caller: &Caller,
        trade_id: &str,
        contract: ContractRecord,
    ) -> Result<ResultView> {
        caller.require(Role::TradingCentre)?;
        let trade = self.announced_trade(trade_id).await?;
        if trade.status != TradeStatus::Awarded {
            return Err(EngineError::conflict(
                "not_awarded",
                "a contract is recorded for an awarded trade, once",
            ));
        }
        let result = self.result_of(trade_id).await?;
        let award: serde_json::Value = result
            .award
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(corrupt)?
            .unwrap_or_default();
        let winner: Candidate = serde_json::from_value(award["winner"].clone()).map_err(corrupt)?;
        let now = self.clock.now();
        let sha = contract.document_sha256.trim().to_ascii_lowercase();
        if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(EngineError::invalid(
                "invalid_field",
                "document_sha256 is 64 hex digits",
            ));
        }
        if !self.contract_documents(trade_id).await?.contains(&sha) {
            return Err(EngineError::invalid(
                "contract_document_missing",
                "upload the signed contract (PUT /trades/{id}/contract/document/{name}) before recording it",
            ));
        }
        if contract.signed_at > now || result.awarded_at.is_some_and(|a| contract.signed_at < a) {
            return Err(EngineError::invalid(
                "invalid_signed_at",
                "a contract is signed after the award and not in the future",
            ));
        }
        if contract.amount.minor_units() != winner.price {
            return Err(EngineError::invalid(
                "contract_price_mismatch",
                "the contract price is the winning bid's (招标投标法 第46条)",
            ));
        }
        let due = award["contract_due"]
            .as_str()
            .and_then(|d| DateTime::parse_from_rfc3339(d).ok())
            .map(|d| d.with_timezone(&Utc));
        let late = due.is_some_and(|d| contract.signed_at > d);
        let rules = self.rules_of(&trade);
        let refund_due = now + days(rules.bond_refund_days.as_ref(), 5, &trade);
        let names: std::collections::BTreeMap<String, String> = self
            .opening_record(trade_id)
            .await?
            .map(|r| {
                r.record
                    .bids
                    .into_iter()
                    .map(|b| (b.organization.usci, b.organization.name))
                    .collect()
            })
            .unwrap_or_default();
        let refunds: Vec<(Refund, String)> = self
            .store
            .counted_bonds(trade_id)
            .await?
            .into_iter()
            .filter_map(|b| {
                let amount = Money::new(b.amount).ok()?;
                Some((
                    Refund {
                        id: uuid::Uuid::now_v7().to_string(),
                        trade_id: trade_id.to_owned(),
                        application_id: None,
                        account_name: names
                            .get(&b.bidder_usci)
                            .cloned()
                            .unwrap_or_else(|| b.bidder_usci.clone()),
                        account: b.account,
                        amount,
                        reason: RefundReason::ContractSigned,
                        status: RefundStatus::Pending,
                        created_at: now,
                        sent_at: None,
                        confirmed_at: None,
                        due_at: Some(refund_due),
                    },
                    b.bank_id,
                ))
            })
            .collect();
        let record = serde_json::json!({
            "signed_at": rfc3339(contract.signed_at),
            "amount": contract.amount,
            "document_sha256": sha,
            "winner": winner.organization,
            "award_rank": winner.rank,
            "late": late,
            "recorded_at": rfc3339(now),
            "bond_refunds": refunds.len(),
            "bond_refunds_due": rfc3339(refund_due),
        });
        let ev = event(
            caller,
            "contract.recorded",
            Some(trade_id),
            serde_json::json!({ "contract": record }),
            vec![],
        );
        match self
            .store
            .record_contract(trade_id, &record.to_string(), now, &refunds, ev)
            .await
        {
            Ok(_) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(EngineError::conflict(
                    "not_awarded",
                    "a contract is recorded for an awarded trade, once",
                ))
            }
            Err(e) => return Err(e.into()),
        }
        self.trade_result(trade_id).await
    }
}
