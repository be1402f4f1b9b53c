//! The evaluation (评标, ADR 0014): each expert of the drawn committee signs a score sheet
//! for every valid bid; once every sheet is in, the platform computes the report
//! (`domain::evaluation::rank`); once every expert has signed the report, its outcome is
//! published: the candidates and their publicity, or the trade fails for want of
//! qualified bids. Sheets and signatures are sealed in the log until the award; the
//! committee's names stay hidden from bidders until then.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{b64, corrupt, event, seal, Caller, EngineError, Platform, Result};
use crate::crypto::digest::sha256_hex;
use crate::crypto::evaluation::{report_message, sheet_message};
use crate::domain::clock::rfc3339;
use crate::domain::evaluation::{
    candidates, check_sheet, rank, BidUnderEvaluation, EvaluationReport, ReportSheet, ScoreSheet,
};
use crate::domain::expert_draw::Drawn;
use crate::domain::identity::Role;
use crate::domain::rulebook::scaled_days;
use crate::domain::trade::{Trade, TradeStatus};
use crate::store::evaluation::{Outcome, ReportSignature, StoredReport, StoredSheet};
use crate::store::StoreError;

/// Longest dissent an expert may attach to its signature.
pub const MAX_DISSENT_CHARS: usize = 2000;

/// An expert's sheet as sent: the sheet and the expert's certificate signature over
/// `sheet_message(JCS(sheet))`, standard base64.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SheetSubmission {
    pub sheet: serde_json::Value,
    pub signature: String,
}

/// An expert's signature over the report: `report_message(trade, report_sha256,
/// dissent)`, standard base64, with its dissent if it disagrees (实施条例 第53条).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSigning {
    pub report_sha256: String,
    pub signature: String,
    #[serde(default)]
    pub dissent: Option<String>,
}

/// Where a trade's evaluation is, for anyone.
#[derive(Debug, Clone, Serialize)]
pub struct EvaluationStatus {
    pub trade_id: String,
    /// `not_drawn`, `scoring`, `signing`, or `done`.
    pub stage: &'static str,
    pub method: &'static str,
    pub committee_size: usize,
    pub sheets: usize,
    pub signatures: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_sha256: Option<String>,
}

/// A trade an expert was drawn to evaluate, and what the expert has done on it.
#[derive(Debug, Clone, Serialize)]
pub struct Assignment {
    pub trade_id: String,
    pub title: String,
    pub trade_status: TradeStatus,
    /// As in [`EvaluationStatus`].
    pub stage: &'static str,
    pub method: &'static str,
    pub committee_size: usize,
    #[serde(serialize_with = "crate::domain::clock::serde_rfc3339::option")]
    pub sheet_submitted_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(serialize_with = "crate::domain::clock::serde_rfc3339::option")]
    pub signed_at: Option<chrono::DateTime<chrono::Utc>>,
    pub dissent: Option<String>,
}

/// What an expert gets back for a sheet or a signature.
#[derive(Debug, Clone, Serialize)]
pub struct Acknowledged {
    pub trade_id: String,
    pub seq: i64,
    /// Hex SHA-256 of what was signed (the sheet's canonical JSON, or the report's).
    pub sha256: String,
    #[serde(serialize_with = "crate::domain::clock::serde_rfc3339::serialize")]
    pub at: DateTime<Utc>,
}

/// The report with the experts' signatures over it.
#[derive(Debug, Clone, Serialize)]
pub struct ReportView {
    pub report: serde_json::Value,
    pub sha256: String,
    pub signatures: Vec<SignatureView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SignatureView {
    pub expert: String,
    pub signature: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dissent: Option<String>,
    #[serde(serialize_with = "crate::domain::clock::serde_rfc3339::serialize")]
    pub signed_at: DateTime<Utc>,
}

fn decode_signature(value: &str) -> Result<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .map_err(|_| EngineError::invalid("invalid_field", "signature must be standard base64"))
}

fn canonical(value: &impl Serialize) -> Result<Vec<u8>> {
    serde_json_canonicalizer::to_vec(value).map_err(corrupt)
}

impl Platform {
    /// The experts drawn for a trade, in draw order; empty before the draw.
    pub(crate) async fn committee_of(&self, trade_id: &str) -> Result<Vec<String>> {
        let Some(stored) = self.store.draw_of(trade_id).await? else {
            return Ok(Vec::new());
        };
        #[derive(Deserialize)]
        struct Disclosed {
            drawn: Drawn,
        }
        let disclosed: Disclosed = serde_json::from_str(&stored.disclosed).map_err(corrupt)?;
        Ok(disclosed.drawn.experts)
    }

    /// The opening record's valid bids, as the evaluation sees them.
    pub(crate) async fn bids_under_evaluation(
        &self,
        trade_id: &str,
    ) -> Result<Vec<BidUnderEvaluation>> {
        let record = self.opening_record(trade_id).await?.ok_or_else(|| {
            EngineError::conflict("not_opened", "the trade has no opening record")
        })?;
        Ok(record
            .record
            .bids
            .into_iter()
            .filter(|b| b.valid)
            .filter_map(|b| {
                Some(BidUnderEvaluation {
                    log_index: b.log_index,
                    price: b.price?,
                    organization: b.organization,
                })
            })
            .collect())
    }

    /// The trade an expert of its committee acts on while it is being evaluated.
    async fn evaluating(&self, caller: &Caller, trade_id: &str) -> Result<(Trade, Vec<String>)> {
        let expert = caller.require(Role::Expert)?;
        let trade = self.announced_trade(trade_id).await?;
        let committee = self.committee_of(trade_id).await?;
        if !committee.contains(&expert.id) {
            return Err(EngineError::Forbidden {
                needed: Role::Expert,
            });
        }
        if trade.status != TradeStatus::Opened {
            return Err(EngineError::conflict(
                "evaluation_closed",
                "this trade is not being evaluated",
            ));
        }
        Ok((trade, committee))
    }

    /// An expert of the committee submits its signed score sheet, once.
    #[tracing::instrument(skip_all, fields(trade.id = %trade_id), err)]
    pub async fn submit_sheet(
        &self,
        caller: &Caller,
        trade_id: &str,
        submission: SheetSubmission,
    ) -> Result<Acknowledged> {
        let (trade, _) = self.evaluating(caller, trade_id).await?;
        let expert = caller.require(Role::Expert)?;
        let sheet: ScoreSheet = serde_json::from_value(submission.sheet.clone())
            .map_err(|e| EngineError::invalid("invalid_sheet", e.to_string()))?;
        let terms = trade.terms.evaluation.clone().unwrap_or_default();
        let bids = self.bids_under_evaluation(trade_id).await?;
        check_sheet(&terms, trade_id, &bids, &sheet)
            .map_err(|e| EngineError::invalid(e.code(), e.to_string()))?;
        let bytes = canonical(&submission.sheet)?;
        let signature = decode_signature(&submission.signature)?;
        self.verify_expert_signature(&expert.id, &sheet_message(&bytes), &signature)
            .await?;
        let now = self.clock.now();
        let sheet_text = String::from_utf8(bytes).map_err(corrupt)?;
        let sha256 = sha256_hex(sheet_text.as_bytes());
        let (commitment, sealed) = seal(
            "sheet",
            serde_json::to_vec(&serde_json::json!({
                "expert": expert.id,
                "sheet": submission.sheet,
                "signature": b64(&signature),
            }))
            .unwrap_or_default(),
        );
        let ev = event(
            caller,
            "evaluation.sheet",
            Some(trade_id),
            serde_json::json!({ "sheet": commitment, "submitted_at": rfc3339(now) }),
            vec![sealed],
        );
        let stored = StoredSheet {
            expert_id: expert.id.clone(),
            sheet: sheet_text,
            signature,
            submitted_at: now,
            seq: 0,
        };
        let seq = match self.store.record_sheet(trade_id, &stored, ev).await {
            Ok(seq) => seq,
            Err(StoreError::Conflict(c)) if c == "sheet_submitted" => {
                return Err(EngineError::conflict(
                    "sheet_submitted",
                    "you have submitted your sheet for this trade; a sheet is never replaced",
                ))
            }
            Err(StoreError::Conflict(_)) => {
                return Err(EngineError::conflict(
                    "evaluation_reported",
                    "the evaluation report exists: every sheet is in",
                ))
            }
            Err(e) => return Err(e.into()),
        };
        self.advance_evaluation(&trade).await?;
        Ok(Acknowledged {
            trade_id: trade_id.to_owned(),
            seq,
            sha256,
            at: now,
        })
    }

    /// An expert of the committee signs the report, with its dissent if any, once.
    #[tracing::instrument(skip_all, fields(trade.id = %trade_id), err)]
    pub async fn sign_report(
        &self,
        caller: &Caller,
        trade_id: &str,
        signing: ReportSigning,
    ) -> Result<Acknowledged> {
        let (trade, _) = self.evaluating(caller, trade_id).await?;
        let expert = caller.require(Role::Expert)?;
        let report = self.store.report(trade_id).await?.ok_or_else(|| {
            EngineError::conflict(
                "report_not_ready",
                "the report is computed once every expert's sheet is in",
            )
        })?;
        if signing.report_sha256.trim() != report.sha256 {
            return Err(EngineError::conflict(
                "report_mismatch",
                format!("the report's SHA-256 is {}", report.sha256),
            ));
        }
        let dissent = signing
            .dissent
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_owned);
        if dissent.as_deref().is_some_and(|d| {
            !d.is_empty() && !crate::domain::text::is_written(d, MAX_DISSENT_CHARS)
        }) {
            return Err(EngineError::invalid(
                "invalid_dissent",
                format!("a dissent is at most {MAX_DISSENT_CHARS} characters, without control characters other than line breaks"),
            ));
        }
        let signature = decode_signature(&signing.signature)?;
        let message = report_message(
            trade_id,
            &report.sha256,
            dissent.as_deref().unwrap_or_default(),
        );
        self.verify_expert_signature(&expert.id, &message, &signature)
            .await?;
        let now = self.clock.now();
        let (commitment, sealed) = seal(
            "report_signature",
            serde_json::to_vec(&serde_json::json!({
                "expert": expert.id,
                "signature": b64(&signature),
                "dissent": dissent,
            }))
            .unwrap_or_default(),
        );
        let ev = event(
            caller,
            "evaluation.signed",
            Some(trade_id),
            serde_json::json!({
                "report_sha256": report.sha256,
                "signature": commitment,
                "signed_at": rfc3339(now),
            }),
            vec![sealed],
        );
        let stored = ReportSignature {
            expert_id: expert.id.clone(),
            signature,
            dissent,
            signed_at: now,
            seq: 0,
        };
        let seq = match self.store.sign_report(trade_id, &stored, ev).await {
            Ok(seq) => seq,
            Err(StoreError::Conflict(_)) => {
                return Err(EngineError::conflict(
                    "report_signed",
                    "you have signed this report",
                ))
            }
            Err(e) => return Err(e.into()),
        };
        self.advance_evaluation(&trade).await?;
        Ok(Acknowledged {
            trade_id: trade_id.to_owned(),
            seq,
            sha256: report.sha256,
            at: now,
        })
    }

    /// Checks an expert's certificate signature; the certificate must be good now.
    async fn verify_expert_signature(
        &self,
        expert_id: &str,
        message: &[u8],
        signature: &[u8],
    ) -> Result<()> {
        let der = self
            .store
            .identity_certificate(expert_id)
            .await?
            .ok_or(EngineError::NotRegistered)?;
        let cert = self
            .trust
            .current()
            .verify_identity(&[der], self.clock.now())?;
        cert.verify_signature(message, signature)?;
        Ok(())
    }

    /// Takes the evaluation's next automatic step if it is due: the report once every
    /// sheet is in, the outcome once every expert signed. Each step is taken once (the
    /// store refuses a second), so concurrent callers and a retry after a crash are safe.
    pub(crate) async fn advance_evaluation(&self, trade: &Trade) -> Result<()> {
        if trade.status != TradeStatus::Opened {
            return Ok(());
        }
        let committee = self.committee_of(&trade.id).await?;
        if committee.is_empty() {
            return Ok(());
        }
        let report = match self.store.report(&trade.id).await? {
            Some(report) => report,
            None => {
                let sheets = self.store.sheets(&trade.id).await?;
                if !committee
                    .iter()
                    .all(|e| sheets.iter().any(|s| &s.expert_id == e))
                {
                    return Ok(());
                }
                let report = self.build_report(trade, &committee, &sheets).await?;
                match self
                    .store
                    .record_report(&trade.id, &report.0, report.1)
                    .await
                {
                    Ok(_) | Err(StoreError::Conflict(_)) => {}
                    Err(e) => return Err(e.into()),
                }
                match self.store.report(&trade.id).await? {
                    Some(report) => report,
                    None => return Ok(()),
                }
            }
        };
        let signatures = self.store.report_signatures(&trade.id).await?;
        if !committee
            .iter()
            .all(|e| signatures.iter().any(|s| &s.expert_id == e))
        {
            return Ok(());
        }
        let parsed: EvaluationReport = serde_json::from_str(&report.report).map_err(corrupt)?;
        let now = self.clock.now();
        let rules = self.rules_of(trade);
        let publicity = scaled_days(
            rules
                .candidate_publicity_days
                .as_ref()
                .map_or(3, |r| r.value),
            trade.time_scale,
        );
        let caller = Caller::default();
        let published = if parsed.outcome == "candidates" {
            let candidates = serde_json::to_string(&parsed.candidates).map_err(corrupt)?;
            let until = now + publicity;
            let ev = event(
                &caller,
                "candidates.published",
                Some(&trade.id),
                serde_json::json!({
                    "report_sha256": report.sha256,
                    "candidates": parsed.candidates,
                    "publicity_from": rfc3339(now),
                    "publicity_until": rfc3339(until),
                    "article": rules.candidate_publicity_days.as_ref().map(|r| r.article.clone()),
                }),
                vec![],
            );
            self.store
                .publish_result(
                    &trade.id,
                    Outcome::Publicity {
                        candidates: &candidates,
                        from: now,
                        until,
                    },
                    ev,
                )
                .await
        } else {
            let ev = event(
                &caller,
                "evaluation.failed",
                Some(&trade.id),
                serde_json::json!({
                    "report_sha256": report.sha256,
                    "reason": parsed.reason,
                    "qualified": parsed.ranking.qualified().count(),
                    "article": rules.min_qualified_bids.as_ref().map(|r| r.article.clone()),
                }),
                vec![],
            );
            self.store
                .publish_result(&trade.id, Outcome::Failed, ev)
                .await
        };
        match published {
            Ok(_) | Err(StoreError::Conflict(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The report from every sheet, with its log event.
    async fn build_report(
        &self,
        trade: &Trade,
        committee: &[String],
        sheets: &[StoredSheet],
    ) -> Result<(StoredReport, crate::domain::event::NewEvent)> {
        let terms = trade.terms.evaluation.clone().unwrap_or_default();
        let bids = self.bids_under_evaluation(&trade.id).await?;
        let mut parsed = Vec::new();
        let mut cited = Vec::new();
        for expert in committee {
            let Some(stored) = sheets.iter().find(|s| &s.expert_id == expert) else {
                continue;
            };
            let sheet: ScoreSheet = serde_json::from_str(&stored.sheet).map_err(corrupt)?;
            parsed.push(sheet);
            cited.push(ReportSheet {
                expert: expert.clone(),
                sha256: sha256_hex(stored.sheet.as_bytes()),
                signature: b64(&stored.signature),
            });
        }
        let ranking = rank(&terms, &bids, &parsed.iter().collect::<Vec<_>>());
        let rules = self.rules_of(trade);
        let min = rules.min_qualified_bids.as_ref().map_or(1, |r| r.value);
        let max = rules.max_candidates.as_ref().map_or(3, |r| r.value);
        let qualified = ranking.qualified().count();
        let enough = i64::try_from(qualified).unwrap_or(i64::MAX) >= min.max(1);
        let report = EvaluationReport {
            v: 1,
            trade: trade.id.clone(),
            title: trade.terms.title.clone(),
            terms,
            committee: committee.to_vec(),
            sheets: cited,
            candidates: if enough {
                candidates(&ranking, usize::try_from(max).unwrap_or(3))
            } else {
                Vec::new()
            },
            outcome: if enough { "candidates" } else { "failed" }.to_owned(),
            reason: (!enough).then(|| "too_few_qualified_bids".to_owned()),
            ranking,
        };
        let bytes = canonical(&report)?;
        let sha256 = sha256_hex(&bytes);
        let now = self.clock.now();
        let (commitment, sealed) = seal("report", bytes.clone());
        let ev = event(
            &Caller::default(),
            "evaluation.reported",
            Some(&trade.id),
            serde_json::json!({
                "report_sha256": sha256,
                "report": commitment,
                "sheets": report.sheets.len(),
                "created_at": rfc3339(now),
            }),
            vec![sealed],
        );
        Ok((
            StoredReport {
                report: String::from_utf8(bytes).map_err(corrupt)?,
                sha256,
                created_at: now,
                seq: 0,
            },
            ev,
        ))
    }

    /// The trades whose committee the calling expert was drawn for (at most 200, newest
    /// draw first), each with where its evaluation is and what the expert has done.
    pub async fn my_assignments(&self, caller: &Caller) -> Result<Vec<Assignment>> {
        let expert = caller.require(Role::Expert)?;
        #[derive(Deserialize)]
        struct Disclosed {
            drawn: Drawn,
        }
        let mut out = Vec::new();
        for (trade_id, disclosed) in self.store.draws_naming(&expert.id, 200).await? {
            let disclosed: Disclosed = serde_json::from_str(&disclosed).map_err(corrupt)?;
            if !disclosed.drawn.experts.contains(&expert.id) {
                continue;
            }
            let trade = self.announced_trade(&trade_id).await?;
            let status = self.evaluation_status(&trade_id).await?;
            let sheet = self
                .store
                .sheets(&trade_id)
                .await?
                .into_iter()
                .find(|s| s.expert_id == expert.id);
            let signature = self
                .store
                .report_signatures(&trade_id)
                .await?
                .into_iter()
                .find(|s| s.expert_id == expert.id);
            out.push(Assignment {
                trade_id,
                title: trade.terms.title.clone(),
                trade_status: trade.status,
                stage: status.stage,
                method: status.method,
                committee_size: status.committee_size,
                sheet_submitted_at: sheet.map(|s| s.submitted_at),
                signed_at: signature.as_ref().map(|s| s.signed_at),
                dissent: signature.and_then(|s| s.dissent),
            });
        }
        Ok(out)
    }

    /// Where the evaluation is; anyone may ask. Takes a step that is due (after a crash).
    pub async fn evaluation_status(&self, trade_id: &str) -> Result<EvaluationStatus> {
        let trade = self.announced_trade(trade_id).await?;
        self.advance_evaluation(&trade).await?;
        let committee = self.committee_of(trade_id).await?;
        let sheets = self.store.sheets(trade_id).await?.len();
        let report = self.store.report(trade_id).await?;
        let signatures = self.store.report_signatures(trade_id).await?.len();
        let stage = match (&report, committee.is_empty()) {
            (_, true) => "not_drawn",
            (None, false) => "scoring",
            (Some(_), false) if signatures < committee.len() => "signing",
            (Some(_), false) => "done",
        };
        Ok(EvaluationStatus {
            trade_id: trade_id.to_owned(),
            stage,
            method: trade
                .terms
                .evaluation
                .as_ref()
                .map_or("lowest_evaluated_price", |t| t.method.as_str()),
            committee_size: committee.len(),
            sheets,
            signatures,
            report_sha256: report.map(|r| r.sha256),
        })
    }

    /// The report with its signatures: for the committee's experts, the trading centre
    /// and the trade's supervisors (the last two a logged read) until the award; for
    /// everyone after it.
    pub async fn evaluation_report(&self, caller: &Caller, trade_id: &str) -> Result<ReportView> {
        let trade = self.announced_trade(trade_id).await?;
        let public = matches!(trade.status, TradeStatus::Awarded | TradeStatus::Contracted);
        if !public {
            let identity = caller
                .identity
                .as_ref()
                .ok_or(EngineError::Unauthenticated)?;
            let on_committee = identity.acts_as(Role::Expert)
                && self.committee_of(trade_id).await?.contains(&identity.id);
            if !on_committee {
                self.require_centre_or_supervisor(caller, &trade)?;
                self.store
                    .append(event(
                        caller,
                        "confidential.read",
                        None,
                        serde_json::json!({ "what": "evaluation_report", "trade": trade_id }),
                        vec![],
                    ))
                    .await?;
            }
        }
        self.report_view(trade_id).await
    }

    pub(crate) async fn report_view(&self, trade_id: &str) -> Result<ReportView> {
        let report = self
            .store
            .report(trade_id)
            .await?
            .ok_or(EngineError::NotFound {
                code: "report_not_found",
                what: "evaluation report",
            })?;
        let signatures = self
            .store
            .report_signatures(trade_id)
            .await?
            .into_iter()
            .map(|s| SignatureView {
                expert: s.expert_id,
                signature: b64(&s.signature),
                dissent: s.dissent,
                signed_at: s.signed_at,
            })
            .collect();
        Ok(ReportView {
            report: serde_json::from_str(&report.report).map_err(corrupt)?,
            sha256: report.sha256,
            signatures,
        })
    }
}
