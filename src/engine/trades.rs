//! Trades: creation and publication under the rulebook, tender documents, clarifications,
//! and the public reads.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashSet;

use super::{event, seal, Caller, EngineError, Platform, Result};
use crate::crypto::digest::sha256_hex;
use crate::domain::clock::rfc3339;
use crate::domain::event::NewEvent;
use crate::domain::identity::{Identity, Role};
use crate::domain::rulebook::{Procedure, ScheduleError};
use crate::domain::trade::{
    ChangeNotice, Clarification, CustodianKey, Trade, TradeDocument, TradeStatus, TradeTerms,
};
use crate::store::{ClarificationAnswer, Store, StoreError, TradeQuery};

/// Largest demo acceleration: a day in under a second is not a useful demo.
const MAX_TIME_SCALE: u32 = 86_400;
const MAX_LOTS: usize = 100;
const MAX_TEXT: usize = 200;
const MAX_QUESTION: usize = 4_000;
/// How far ahead a trade's deadline and sale dates may lie (ten years).
const MAX_SCHEDULE_DAYS: i64 = 3_650;

/// A trade to create: its terms and, in demo mode only, an acceleration factor.
#[derive(Debug, Clone)]
pub struct NewTrade {
    pub terms: TradeTerms,
    pub time_scale: Option<u32>,
}

/// A trade as shown to the public or an officer.
#[derive(Debug, Clone, Serialize)]
pub struct TradeView {
    #[serde(flatten)]
    pub trade: Trade,
    pub demo: bool,
    pub kind_name: String,
    pub procedure_name: String,
    pub documents: Vec<TradeDocument>,
    /// Answered clarifications only; the asker is never shown.
    pub clarifications: Vec<Clarification>,
    /// The change notices (变更公告) issued since the announcement, oldest first.
    pub notices: Vec<ChangeNotice>,
    /// The opening committee's registered per-trade keys; bids are sealed to them.
    pub custodian_keys: Vec<CustodianKey>,
    /// Whether every custodian has registered its key, so bids can be sealed.
    pub committee_ready: bool,
    /// Where the trade is now: `draft`, `bidding`, `opening`, `opened` or `failed`.
    pub phase: &'static str,
}

/// Public listing filters.
#[derive(Debug, Clone, Default)]
pub struct TradeFilter {
    pub kind: Option<String>,
    pub status: Option<String>,
    pub region: Option<crate::domain::region::RegionCode>,
    /// Published at or after this instant.
    pub published_from: Option<chrono::DateTime<chrono::Utc>>,
    /// Published before this instant.
    pub published_to: Option<chrono::DateTime<chrono::Utc>>,
    /// Opening (a tender's bid deadline, a sale's start) at or after this instant.
    pub opening_from: Option<chrono::DateTime<chrono::Utc>>,
    /// Opening before this instant.
    pub opening_to: Option<chrono::DateTime<chrono::Utc>>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

/// One page of trades and the cursor of the next, if any.
#[derive(Debug, Clone, Serialize)]
pub struct TradePage {
    pub trades: Vec<TradeView>,
    pub next_cursor: Option<String>,
}

/// The bid deadline after a clarification answer or change notice issued at `now`, if it
/// moves (the rulebook's cut-off, 实施条例 第21条), with the log entry that says so.
pub(super) fn moved_deadline(
    caller: &Caller,
    trade: &Trade,
    procedure: &Procedure,
    now: DateTime<Utc>,
) -> (Option<DateTime<Utc>>, Option<NewEvent>) {
    let deadline = trade.terms.bid_deadline;
    let moved = procedure.deadline_after_clarification(deadline, now, trade.time_scale);
    match &procedure.rules.clarification_cutoff_days {
        Some(rule) if moved != deadline => (
            Some(moved),
            Some(event(
                caller,
                "trade.deadline_extended",
                Some(&trade.id),
                serde_json::json!({
                    "previous": rfc3339(deadline), "bid_deadline": rfc3339(moved),
                    "rule": "clarification_cutoff_days", "article": rule.article,
                }),
                vec![],
            )),
        ),
        _ => (None, None),
    }
}

fn text(code: &'static str, what: &str, value: &str, max: usize) -> Result<String> {
    let v = value.trim();
    if !crate::domain::text::is_line(v, max) {
        return Err(EngineError::invalid(
            code,
            format!("{what} must be 1 to {max} characters without control characters"),
        ));
    }
    Ok(v.to_owned())
}

pub(super) fn trade_not_found() -> EngineError {
    EngineError::NotFound {
        code: "trade_not_found",
        what: "trade",
    }
}

fn encode_cursor(t: &Trade) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
        "{}:{}",
        t.created_at.timestamp_millis(),
        t.id
    ))
}

fn decode_cursor(cursor: &str) -> Result<(i64, String)> {
    let bad = || EngineError::invalid("invalid_cursor", "cursor is not one this server issued");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| bad())?;
    let raw = String::from_utf8(raw).map_err(|_| bad())?;
    let (at, id) = raw.split_once(':').ok_or_else(bad)?;
    Ok((at.parse().map_err(|_| bad())?, id.to_owned()))
}

/// Refuses sealed-bid actions (bids, opening) on a live sale (ADR 0010).
pub(crate) fn require_sealed_bid(trade: &Trade) -> Result<()> {
    match trade.terms.live {
        None => Ok(()),
        Some(_) => Err(EngineError::conflict(
            "wrong_engine",
            "this trade is a live sale: it takes applications and quotes, not sealed bids",
        )),
    }
}

impl Platform {
    /// A trade that has been announced (anything but a draft), else `trade_not_found`:
    /// drafts do not exist for anyone acting on trades.
    pub(crate) async fn announced_trade(&self, id: &str) -> Result<Trade> {
        self.store
            .trade(id)
            .await?
            .filter(|t| t.status != TradeStatus::Draft)
            .ok_or_else(trade_not_found)
    }

    /// Holds terms to their procedure's rulebook entry as if published at `now`: the
    /// tender rules, and for a live sale its own terms and schedule on the calendar.
    fn check_procedure(
        &self,
        procedure: &Procedure,
        terms: &mut TradeTerms,
        now: DateTime<Utc>,
        time_scale: u32,
    ) -> Result<()> {
        if let Some(announcement) = &mut terms.announcement {
            announcement
                .check(procedure.engine == "live")
                .map_err(|m| EngineError::invalid("invalid_announcement", m))?;
        }
        if let Some(evaluation) = &terms.evaluation {
            if procedure.engine != "sealed_bid" {
                return Err(EngineError::invalid(
                    "invalid_evaluation",
                    "only sealed-bid procedures are evaluated by experts",
                ));
            }
            evaluation
                .check()
                .map_err(|m| EngineError::invalid("invalid_evaluation", m))?;
        }
        let schedule = |e: ScheduleError, terms_code: &'static str| match e {
            ScheduleError::Rule(v) => v.into(),
            ScheduleError::Calendar(e) => {
                EngineError::invalid("calendar_year_unknown", e.to_string())
            }
            ScheduleError::Terms(m) => EngineError::invalid(terms_code, m),
        };
        procedure
            .check_participation(terms)
            .map_err(|e| schedule(e, "invalid_participation"))?;
        if procedure.engine == "sealed_bid" && terms.previous_round.is_none() {
            procedure
                .check_working_deadline(&self.calendar, terms.bid_deadline, now, time_scale)
                .map_err(|e| schedule(e, "invalid_terms"))?;
        }
        procedure
            .check_live_terms(terms, &self.calendar, now, time_scale)
            .map_err(|e| schedule(e, "invalid_live_terms"))?;
        Ok(procedure.check_terms(terms, now, time_scale)?)
    }

    pub(super) fn procedure_of(&self, terms: &TradeTerms) -> Result<&Procedure> {
        if !self.rulebook.has_kind(&terms.kind) {
            return Err(EngineError::invalid(
                "unknown_kind",
                format!(
                    "trade kind {:?} is not in rulebook {}",
                    terms.kind, self.rulebook.version
                ),
            ));
        }
        self.rulebook
            .procedure(&terms.kind, &terms.procedure)
            .ok_or_else(|| {
                EngineError::invalid(
                    "unknown_procedure",
                    format!(
                        "procedure {:?} is not defined for {} in rulebook {}",
                        terms.procedure, terms.kind, self.rulebook.version
                    ),
                )
            })
    }

    /// Structural checks that do not depend on the rulebook.
    async fn check_terms_shape(&self, terms: &mut TradeTerms, now: DateTime<Utc>) -> Result<()> {
        terms.title = text("invalid_title", "title", &terms.title, MAX_TEXT)?;
        terms.principal.name = text(
            "invalid_principal",
            "principal name",
            &terms.principal.name,
            MAX_TEXT,
        )?;
        if terms.estimated_value.minor_units() == 0 {
            return Err(EngineError::invalid(
                "invalid_amount",
                "estimated value must be positive",
            ));
        }
        if terms.lots.is_empty() || terms.lots.len() > MAX_LOTS {
            return Err(EngineError::invalid(
                "invalid_lots",
                format!("a trade has 1 to {MAX_LOTS} lots"),
            ));
        }
        let mut ids = HashSet::new();
        let mut total: i64 = 0;
        for lot in &mut terms.lots {
            lot.id = text("invalid_lots", "lot id", &lot.id, 32)?;
            lot.title = text("invalid_lots", "lot title", &lot.title, MAX_TEXT)?;
            if !ids.insert(lot.id.clone()) {
                return Err(EngineError::invalid(
                    "invalid_lots",
                    format!("lot id {:?} appears twice", lot.id),
                ));
            }
            total = total
                .checked_add(lot.estimated_value.minor_units())
                .ok_or_else(|| EngineError::invalid("invalid_amount", "lot estimates overflow"))?;
        }
        if total != terms.estimated_value.minor_units() {
            return Err(EngineError::invalid(
                "invalid_lots",
                format!(
                    "lot estimates add up to {total} 分 but the trade's estimate is {}",
                    terms.estimated_value.minor_units()
                ),
            ));
        }
        if terms.bid_deadline <= now {
            return Err(EngineError::invalid(
                "deadline_not_in_future",
                "the bid deadline must be after the current server time",
            ));
        }
        let horizon = now + chrono::Duration::days(MAX_SCHEDULE_DAYS);
        let live = terms.live.as_ref();
        let dates = [
            Some(terms.bid_deadline),
            live.map(|l| l.starts_at),
            live.and_then(|l| l.ends_at),
        ];
        if dates.into_iter().flatten().any(|d| d > horizon) {
            return Err(EngineError::invalid(
                "invalid_date",
                format!("a trade's dates are at most {MAX_SCHEDULE_DAYS} days after the current server time"),
            ));
        }
        let committee = &terms.committee;
        let n = committee.custodians.len();
        if committee.threshold == 0 || usize::from(committee.threshold) > n {
            return Err(EngineError::invalid(
                "invalid_committee",
                format!("threshold must be between 1 and the {n} custodians"),
            ));
        }
        if committee.custodians.iter().collect::<HashSet<_>>().len() != n {
            return Err(EngineError::invalid(
                "invalid_committee",
                "a custodian appears twice",
            ));
        }
        for id in &committee.custodians {
            match self.store.identity(id).await? {
                Some(identity) if identity.acts_as(Role::Custodian) => {}
                _ => {
                    return Err(EngineError::invalid(
                        "invalid_committee",
                        format!("{id} is not an active custodian identity"),
                    ))
                }
            }
        }
        Ok(())
    }

    /// A trading-centre officer creates a draft trade; it is checked against the rulebook
    /// as if it were published now.
    #[tracing::instrument(skip_all, err)]
    pub async fn create_trade(&self, caller: &Caller, new: NewTrade) -> Result<TradeView> {
        caller.require(Role::TradingCentre)?;
        let time_scale = match new.time_scale {
            None | Some(1) => 1,
            Some(_) if !self.settings.demo_mode => return Err(EngineError::DemoModeRequired),
            Some(s) if (2..=MAX_TIME_SCALE).contains(&s) => s,
            Some(_) => {
                return Err(EngineError::invalid(
                    "invalid_time_scale",
                    format!("demo time scale must be 1 to {MAX_TIME_SCALE}"),
                ))
            }
        };
        if new.terms.retender_of.is_some() || new.terms.previous_round.is_some() {
            return Err(EngineError::invalid(
                "invalid_terms",
                "retender_of and previous_round are set by POST /api/v1/trades/{id}/retender \
                 and …/rounds",
            ));
        }
        self.create_draft(caller, new.terms, time_scale).await
    }

    /// A new draft that follows `from` (a re-tender or a next round): `terms`, and
    /// copies of `from`'s documents to amend before publishing.
    pub(crate) async fn draft_following(
        &self,
        caller: &Caller,
        from: &Trade,
        terms: TradeTerms,
    ) -> Result<TradeView> {
        let view = self.create_draft(caller, terms, from.time_scale).await?;
        for document in self.store.trade_documents(&from.id).await? {
            if let Some((media_type, content)) = self.store.document(&document.sha256, true).await?
            {
                self.add_document(
                    caller,
                    &view.trade.id,
                    &document.name,
                    &media_type,
                    &content,
                )
                .await?;
            }
        }
        Ok(view)
    }

    /// Creates a draft from checked terms.
    /// Checks terms as a new draft's are checked (their shape, then the rulebook's rules
    /// for the procedure, as if published `now`), completing what the rules fill in.
    async fn checked_terms(
        &self,
        terms: &mut TradeTerms,
        now: DateTime<Utc>,
        time_scale: u32,
    ) -> Result<()> {
        let procedure = self.procedure_of(terms)?.clone();
        self.check_terms_shape(terms, now).await?;
        self.check_procedure(&procedure, terms, now, time_scale)
    }

    /// Checks a new trade's terms exactly as `create_trade` would and creates nothing:
    /// `Ok` or the same error, naming the rule and its article. The centre's form asks
    /// this as it is filled in.
    pub async fn check_new_trade(&self, caller: &Caller, mut terms: TradeTerms) -> Result<()> {
        caller.require(Role::TradingCentre)?;
        let now = self.clock.now();
        self.checked_terms(&mut terms, now, 1).await
    }

    pub(crate) async fn create_draft(
        &self,
        caller: &Caller,
        mut terms: TradeTerms,
        time_scale: u32,
    ) -> Result<TradeView> {
        let officer = caller.require(Role::TradingCentre)?;
        let now = self.clock.now();
        self.checked_terms(&mut terms, now, time_scale).await?;
        let trade = Trade {
            id: uuid::Uuid::now_v7().to_string(),
            terms,
            status: TradeStatus::Draft,
            rulebook_version: self.rulebook.version.clone(),
            rulebook_sha256: self.rulebook.sha256.clone(),
            time_scale,
            created_at: now,
            published_at: None,
            suspended_at: None,
        };
        // A draft's terms are not public until the announcement (trade.published).
        let ev = event(
            caller,
            "trade.created",
            Some(&trade.id),
            serde_json::json!({
                "kind": trade.terms.kind, "procedure": trade.terms.procedure,
                "region_code": trade.terms.region_code, "rulebook_version": trade.rulebook_version,
                "time_scale": time_scale, "retender_of": trade.terms.retender_of,
            }),
            vec![],
        );
        self.store.create_trade(&trade, &officer.id, ev).await?;
        self.view(self.store.as_ref(), trade, true).await
    }

    /// A trade as shown, with what `store` holds of its documents, answered questions
    /// and committee keys.
    async fn view(&self, store: &dyn Store, trade: Trade, officer: bool) -> Result<TradeView> {
        let documents = store.trade_documents(&trade.id).await?;
        let notices = store.notices(&trade.id).await?;
        let clarifications = store
            .clarifications(&trade.id)
            .await?
            .into_iter()
            .filter(|c| officer || c.answer.is_some())
            .collect();
        let (kind_name, procedure_name) = self
            .rulebook
            .procedure(&trade.terms.kind, &trade.terms.procedure)
            .map(|p| (p.kind_name.clone(), p.procedure_name.clone()))
            .unwrap_or_default();
        let custodian_keys = store.custodian_keys(&trade.id).await?;
        let committee_ready = custodian_keys.len() == trade.terms.committee.custodians.len();
        Ok(TradeView {
            phase: trade.phase(self.clock.now()),
            demo: trade.is_demo(),
            trade,
            kind_name,
            procedure_name,
            documents,
            clarifications,
            notices,
            custodian_keys,
            committee_ready,
        })
    }

    /// Whether the caller sees drafts in listings and their documents: the trading centre,
    /// whose working papers they are until the announcement.
    fn sees_drafts(caller: &Caller) -> bool {
        caller
            .identity
            .as_ref()
            .is_some_and(|i: &Identity| i.acts_as(Role::TradingCentre))
    }

    /// Whether the caller sees `trade` as the centre does (drafts, unanswered
    /// clarifications): the trading centre, and the supervisors of the trade's region.
    fn officer_of(caller: &Caller, trade: &Trade) -> bool {
        caller.identity.as_ref().is_some_and(|i: &Identity| {
            i.acts_as(Role::TradingCentre)
                || (i.acts_as(Role::Supervisor)
                    && i.region
                        .as_ref()
                        .is_some_and(|r| r.contains(&trade.terms.region_code)))
        })
    }

    /// A trade; drafts only for the trading centre and the supervisors of its region.
    pub async fn trade(&self, caller: &Caller, id: &str) -> Result<TradeView> {
        let trade = self.store.trade(id).await?.ok_or_else(trade_not_found)?;
        let officer = Self::officer_of(caller, &trade);
        if trade.status == TradeStatus::Draft && !officer {
            return Err(trade_not_found());
        }
        self.view(self.store.as_ref(), trade, officer).await
    }

    pub async fn list_trades(&self, caller: &Caller, filter: TradeFilter) -> Result<TradePage> {
        let limit = filter.limit.unwrap_or(20);
        if !(1..=100).contains(&limit) {
            return Err(EngineError::invalid(
                "invalid_limit",
                "limit must be 1 to 100",
            ));
        }
        if let Some(status) = &filter.status {
            if TradeStatus::parse(status).is_none() {
                return Err(EngineError::invalid(
                    "invalid_status",
                    format!("unknown trade status {status:?}"),
                ));
            }
        }
        let officer = Self::sees_drafts(caller);
        let query = TradeQuery {
            kind: filter.kind,
            status: filter.status,
            region_prefix: filter.region.as_ref().map(|r| r.prefix().to_owned()),
            include_drafts: officer,
            published_from: filter.published_from.map(|t| t.timestamp_millis()),
            published_to: filter.published_to.map(|t| t.timestamp_millis()),
            opening_from: filter.opening_from.map(|t| t.timestamp_millis()),
            opening_to: filter.opening_to.map(|t| t.timestamp_millis()),
            after: filter.cursor.as_deref().map(decode_cursor).transpose()?,
            limit: limit + 1,
        };
        // The public listing may come from the read replica; anyone signed in reads the
        // primary, and so sees their own writes.
        let store = if caller.identity.is_some() {
            self.store.as_ref()
        } else {
            self.reads.as_ref()
        };
        let mut trades = store.list_trades(&query).await?;
        let more = trades.len() > usize::try_from(limit).unwrap_or(usize::MAX);
        trades.truncate(usize::try_from(limit).unwrap_or(0));
        let next_cursor = if more {
            trades.last().map(encode_cursor)
        } else {
            None
        };
        let mut views = Vec::with_capacity(trades.len());
        for t in trades {
            views.push(self.view(store, t, officer).await?);
        }
        Ok(TradePage {
            trades: views,
            next_cursor,
        })
    }

    /// Attaches a tender document to a draft trade. After publication documents change
    /// only by clarification (which may move the deadline).
    #[tracing::instrument(skip_all, fields(trade.id = %trade_id), err)]
    pub async fn add_document(
        &self,
        caller: &Caller,
        trade_id: &str,
        name: &str,
        media_type: &str,
        content: &[u8],
    ) -> Result<TradeDocument> {
        caller.require(Role::TradingCentre)?;
        let trade = self
            .store
            .trade(trade_id)
            .await?
            .ok_or_else(trade_not_found)?;
        if trade.status != TradeStatus::Draft {
            return Err(EngineError::conflict(
                "trade_not_draft",
                "documents of a published trade change only by clarification",
            ));
        }
        self.store_document(
            caller,
            trade_id,
            name,
            media_type,
            content,
            "trade.document_added",
        )
        .await
    }

    /// A document as `trade_id` will list it, once its name, size and bytes pass.
    pub(super) fn checked_document(
        &self,
        name: &str,
        media_type: &str,
        content: &[u8],
    ) -> Result<TradeDocument> {
        let name = text("invalid_document_name", "document name", name, MAX_TEXT)?;
        if name.contains(['/', '\\']) {
            return Err(EngineError::invalid(
                "invalid_document_name",
                "document names cannot contain slashes",
            ));
        }
        if content.is_empty() {
            return Err(EngineError::invalid(
                "empty_document",
                "the document is empty",
            ));
        }
        if content.len() > self.settings.max_document_bytes {
            return Err(EngineError::invalid(
                "document_too_large",
                format!(
                    "documents are limited to {} bytes",
                    self.settings.max_document_bytes
                ),
            ));
        }
        Ok(TradeDocument {
            name,
            sha256: sha256_hex(content),
            size: i64::try_from(content.len()).unwrap_or(i64::MAX),
            media_type: media_type.to_owned(),
            added_at: self.clock.now(),
        })
    }

    /// Checks and stores a document of `trade_id`, logged as `kind`.
    pub(super) async fn store_document(
        &self,
        caller: &Caller,
        trade_id: &str,
        name: &str,
        media_type: &str,
        content: &[u8],
        kind: &'static str,
    ) -> Result<TradeDocument> {
        let doc = self.checked_document(name, media_type, content)?;
        let ev = event(
            caller,
            kind,
            Some(trade_id),
            serde_json::json!({ "sha256": doc.sha256, "size": doc.size }),
            vec![],
        );
        match self.store.add_document(trade_id, &doc, content, ev).await {
            Ok(_) => Ok(doc),
            Err(StoreError::Conflict(_)) => Err(EngineError::conflict(
                "document_exists",
                "the trade already has a document with this name",
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// A document's bytes. A signed-in bidder's download is logged (who, from where,
    /// which document, all sealed): the risk rules compare where bidders acted from, and
    /// who obtained the documents must not be public (招标投标法 第22条).
    pub async fn document(&self, caller: &Caller, sha256: &str) -> Result<(String, Vec<u8>)> {
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(EngineError::invalid(
                "invalid_id",
                "a document is named by its lower-case hex SHA-256",
            ));
        }
        let sha256 = sha256.to_ascii_lowercase();
        let document = self
            .store
            // A draft's documents are the centre's until the announcement.
            .document(&sha256, Self::sees_drafts(caller))
            .await?
            .ok_or(EngineError::NotFound {
                code: "document_not_found",
                what: "document",
            })?;
        if let Ok(bidder) = caller.require(Role::Bidder) {
            let (commitment, sealed) = super::seal("document", sha256.clone().into_bytes());
            self.store
                .record_download(
                    &bidder.id,
                    &sha256,
                    self.clock.now(),
                    event(
                        caller,
                        "document.downloaded",
                        None,
                        serde_json::json!({ "document": commitment }),
                        vec![sealed],
                    ),
                )
                .await?;
        }
        Ok(document)
    }

    /// Publishes a draft: the announcement. The schedule is re-checked against the
    /// rulebook at the moment of publication.
    #[tracing::instrument(skip_all, fields(trade.id = %trade_id), err)]
    pub async fn publish_trade(&self, caller: &Caller, trade_id: &str) -> Result<TradeView> {
        caller.require(Role::TradingCentre)?;
        let mut trade = self
            .store
            .trade(trade_id)
            .await?
            .ok_or_else(trade_not_found)?;
        if trade.status != TradeStatus::Draft {
            return Err(EngineError::conflict(
                "trade_not_draft",
                "the trade is already published",
            ));
        }
        let now = self.clock.now();
        let procedure = self.procedure_of(&trade.terms)?.clone();
        let documents = self.store.trade_documents(trade_id).await?;
        if documents.is_empty() {
            return Err(EngineError::invalid(
                "documents_required",
                "publish the tender documents with the announcement",
            ));
        }
        self.check_terms_shape(&mut trade.terms, now).await?;
        self.check_procedure(&procedure, &mut trade.terms, now, trade.time_scale)?;
        trade.status = TradeStatus::Published;
        trade.published_at = Some(now);
        let announcement = serde_json::json!({
            "trade": trade, "documents": documents,
        });
        let ev = event(
            caller,
            "trade.published",
            Some(trade_id),
            serde_json::json!({ "announcement": announcement }),
            vec![],
        );
        let terms = self.trade_terms(&trade);
        match self.store.publish_trade(trade_id, now, &terms, ev).await {
            Ok(_) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(EngineError::conflict(
                    "trade_not_draft",
                    "the trade is already published",
                ))
            }
            Err(e) => return Err(e.into()),
        }
        self.trade(caller, trade_id).await
    }

    pub(super) async fn open_for_questions(
        &self,
        trade_id: &str,
    ) -> Result<(Trade, DateTime<Utc>)> {
        let trade = self
            .store
            .trade(trade_id)
            .await?
            .ok_or_else(trade_not_found)?;
        super::interventions::require_active(&trade)?;
        if trade.status != TradeStatus::Published {
            return Err(trade_not_found());
        }
        let now = self.clock.now();
        if now >= trade.terms.bid_deadline {
            return Err(EngineError::conflict(
                "after_deadline",
                "the bid deadline has passed",
            ));
        }
        Ok((trade, now))
    }

    /// The questions the caller asked, on every trade (at most 200, newest first), with
    /// their answers: the bidder workspace. Only the asker sees that it asked.
    pub async fn my_clarifications(&self, caller: &Caller) -> Result<Vec<Clarification>> {
        let bidder = caller.require(Role::Bidder)?;
        Ok(self.store.clarifications_asked_by(&bidder.id, 200).await?)
    }

    /// A bidder asks a question. The asker is recorded privately and never shown; the
    /// question itself becomes public with its answer.
    #[tracing::instrument(skip_all, fields(trade.id = %trade_id), err)]
    pub async fn ask_clarification(
        &self,
        caller: &Caller,
        trade_id: &str,
        question: &str,
    ) -> Result<Clarification> {
        let bidder = caller.require(Role::Bidder)?;
        // Questions may span lines; no other control character goes into the record.
        let question = question.trim().to_owned();
        if !crate::domain::text::is_written(&question, MAX_QUESTION) {
            return Err(EngineError::invalid(
                "invalid_question",
                format!("a question is 1 to {MAX_QUESTION} characters, without control characters other than line breaks"),
            ));
        }
        let (_, now) = self.open_for_questions(trade_id).await?;
        let clarification = Clarification {
            id: uuid::Uuid::now_v7().to_string(),
            trade_id: trade_id.to_owned(),
            question,
            asked_at: now,
            answer: None,
            answered_at: None,
        };
        let (question_commitment, question_sealed) =
            seal("question", clarification.question.clone().into_bytes());
        let (asker_commitment, asker_sealed) = seal("asker", bidder.id.clone().into_bytes());
        let salt = question_sealed.salt;
        let ev = event(
            caller,
            "clarification.asked",
            Some(trade_id),
            serde_json::json!({
                "clarification": clarification.id, "question": question_commitment, "asker": asker_commitment,
            }),
            vec![question_sealed, asker_sealed],
        );
        self.store
            .ask_clarification(&clarification, &bidder.id, &salt, ev)
            .await?;
        Ok(clarification)
    }

    /// The centre answers publicly. An answer later than the rulebook's cut-off moves the
    /// deadline (招标投标法实施条例 第21条).
    #[tracing::instrument(skip_all, fields(trade.id = %trade_id), err)]
    pub async fn answer_clarification(
        &self,
        caller: &Caller,
        trade_id: &str,
        clarification_id: &str,
        answer: &str,
    ) -> Result<(Clarification, TradeView)> {
        caller.require(Role::TradingCentre)?;
        let answer = answer.trim();
        if !crate::domain::text::is_written(answer, MAX_QUESTION) {
            return Err(EngineError::invalid(
                "invalid_answer",
                format!("an answer is 1 to {MAX_QUESTION} characters, without control characters other than line breaks"),
            ));
        }
        let (trade, now) = self.open_for_questions(trade_id).await?;
        let (clarification, salt) = self
            .store
            .clarification(clarification_id)
            .await?
            .filter(|(c, _)| c.trade_id == trade_id)
            .ok_or(EngineError::NotFound {
                code: "clarification_not_found",
                what: "clarification",
            })?;
        let procedure = self.procedure_of(&trade.terms)?;
        let (new_deadline, extended) = moved_deadline(caller, &trade, procedure, now);
        let mut events = vec![event(
            caller,
            "clarification.answered",
            Some(trade_id),
            serde_json::json!({
                "clarification": clarification.id, "question": clarification.question,
                "question_salt": hex::encode(&salt), "answer": answer,
            }),
            vec![],
        )];
        events.extend(extended);
        let record = ClarificationAnswer {
            trade_id: trade_id.to_owned(),
            clarification_id: clarification_id.to_owned(),
            answer: answer.to_owned(),
            answered_at: now,
            new_deadline,
        };
        match self.store.answer_clarification(&record, events).await {
            Ok(_) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(EngineError::conflict(
                    "clarification_already_answered",
                    "this question already has an answer",
                ))
            }
            Err(e) => return Err(e.into()),
        }
        let answered = Clarification {
            answer: Some(answer.to_owned()),
            answered_at: Some(now),
            ..clarification
        };
        Ok((answered, self.trade(caller, trade_id).await?))
    }
}
