//! Risk alerts: a worker runs the risk rules (`domain::risk`) on every opening as it is
//! recorded, raises what they find as alerts on the supervisors' feed, and supervisors of
//! the trade's region handle them: open → assigned → handled → closed, each step with a
//! note, in the log. Reading alerts is itself logged.
//!
//! The rules run at the opening because before it, naming the bidders of a trade, even
//! to a supervisor, would break 招标投标法 第22条. The worker's cursor moves in the same
//! transaction as the alerts it raises, so a crash neither loses nor repeats an alert.

use std::sync::Arc;

use chrono::DateTime;

use super::{event, event_hiding_trade, seal, Caller, EngineError, Platform, Result};
use crate::domain::alert::{Alert, AlertStep};
use crate::domain::event::NewEvent;
use crate::domain::identity::{Identity, Role};
use crate::domain::opening::OpeningRecord;
use crate::domain::risk::{self, BidFacts, TradeFacts};
use crate::domain::trade::Trade;
use crate::store::{AlertQuery, NewAlert, StoreError};

/// Earlier openings the cross-trade rules look at.
const HISTORY: i64 = 1000;
/// Longest note on a workflow step.
pub const MAX_NOTE_CHARS: usize = 2000;
/// Most alerts one listing returns.
pub const MAX_ALERTS: i64 = 500;

/// Filters of `GET /alerts`.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub status: Option<String>,
    pub severity: Option<String>,
    pub rule: Option<String>,
    pub trade: Option<String>,
    pub limit: Option<i64>,
}

fn parse_time(s: &str) -> Result<DateTime<chrono::Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| EngineError::Store(StoreError::Other(Box::new(e))))
}

impl Platform {
    /// Starts the risk worker (once per call; the server calls it once). It stops when
    /// the platform is dropped.
    pub fn start_risk(self: &Arc<Self>) {
        let mut changes = self.store.appended();
        let platform = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let Some(p) = platform.upgrade() else { return };
                match p.evaluate_openings().await {
                    Ok(true) => continue,
                    Ok(false) => {}
                    Err(e) => tracing::warn!(error = %e, "risk rules could not run"),
                }
                drop(p);
                tokio::select! {
                    changed = changes.changed() => if changed.is_err() { return },
                    () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                }
                // At most ten looks a second, however busy the log is.
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        });
    }

    /// Whether an opening record is of a live sale (its sealed reserve).
    fn is_live(&self, record: &OpeningRecord) -> bool {
        self.rulebook
            .procedure(&record.kind, &record.procedure)
            .is_some_and(|p| p.engine == "live")
    }

    /// Runs the rules on the next openings after the cursor. `true` if there may be more.
    async fn evaluate_openings(&self) -> Result<bool> {
        let Some(thresholds) = &self.rulebook.risk else {
            return Ok(false);
        };
        let cursor = self.store.risk_cursor().await?;
        let openings = self.store.openings_after(cursor, 10).await?;
        for (trade_id, seq) in &openings {
            let Some(trade) = self.store.trade(trade_id).await? else {
                continue;
            };
            let Some(stored) = self.store.opening_record(trade_id).await? else {
                continue;
            };
            let record: OpeningRecord = serde_json::from_slice(&stored.record)
                .map_err(|e| EngineError::Store(StoreError::Other(Box::new(e))))?;
            // A live sale's record opens its sealed reserve, not bids: the tender rules
            // do not apply to it, and it is no tender history (the cursor still moves).
            let alerts = if self.is_live(&record) {
                Vec::new()
            } else {
                let facts = self.trade_facts(&record, true).await?;
                let mut history = Vec::new();
                for (_, bytes) in self.store.openings_before(*seq, HISTORY).await? {
                    if let Ok(earlier) = serde_json::from_slice::<OpeningRecord>(&bytes) {
                        if !self.is_live(&earlier) {
                            history.push(self.trade_facts(&earlier, false).await?);
                        }
                    }
                }
                let now = self.clock.now();
                let bonds: Vec<(String, String)> = self
                    .store
                    .counted_bonds(trade_id)
                    .await?
                    .into_iter()
                    .map(|b| (b.account, b.bidder_usci))
                    .collect();
                risk::evaluate(&facts, &history, thresholds)
                    .into_iter()
                    .chain(risk::shared_account::check_bonds(&bonds))
                    .map(|finding| alert_of(&finding, &trade.id, &trade.terms.region_code, now))
                    .collect()
            };
            let raised = self.store.raise_alerts(*seq, alerts, true).await?;
            if !raised.is_empty() {
                tracing::info!(trade.id = %trade_id, alerts = raised.len(), "risk alerts raised");
            }
        }
        Ok(openings.len() == 10)
    }

    /// Runs the live-sale rules on a trade after a deposit is confirmed (log entry
    /// `trigger_seq`): deposits of several bidders from one account.
    pub(crate) async fn check_deposits(&self, trade: &Trade, trigger_seq: i64) -> Result<()> {
        let applications = self.store.applications(&trade.id).await?;
        let now = self.clock.now();
        let alerts: Vec<_> = risk::shared_account::check(&applications)
            .iter()
            .map(|finding| alert_of(finding, &trade.id, &trade.terms.region_code, now))
            .collect();
        if !alerts.is_empty() {
            let raised = self.store.raise_alerts(trigger_seq, alerts, false).await?;
            if !raised.is_empty() {
                tracing::info!(trade.id = %trade.id, alerts = raised.len(), "risk alerts raised");
            }
        }
        Ok(())
    }

    /// Runs the live-sale rules across trades after a sale closes (log entry
    /// `trigger_seq`): a bidder of it that keeps quoting in sales and never wins.
    pub(crate) async fn check_closed_sale(&self, trade: &Trade, trigger_seq: i64) -> Result<()> {
        let Some(min_sales) = self
            .rulebook
            .risk
            .as_ref()
            .and_then(|t| t.price_pushing_min_sales.as_ref())
        else {
            return Ok(());
        };
        let now = self.clock.now();
        let alerts: Vec<_> = self
            .store
            .quoting_records(&trade.id)
            .await?
            .iter()
            .filter_map(|record| risk::price_pushing::check(record, min_sales.value))
            .map(|finding| alert_of(&finding, &trade.id, &trade.terms.region_code, now))
            .collect();
        if !alerts.is_empty() {
            let raised = self.store.raise_alerts(trigger_seq, alerts, false).await?;
            if !raised.is_empty() {
                tracing::info!(trade.id = %trade.id, alerts = raised.len(), "risk alerts raised");
            }
        }
        Ok(())
    }

    /// What the rules need of an opened trade; with `details`, also where each bidder
    /// acted from and the key of the certificate it bid with (for the trade being checked;
    /// the patterns across trades need neither).
    async fn trade_facts(&self, record: &OpeningRecord, details: bool) -> Result<TradeFacts> {
        let mut bids = Vec::with_capacity(record.bids.len());
        for bid in &record.bids {
            let mut seen = Vec::new();
            let mut keys = Vec::new();
            if details {
                if let Some((audit, _)) = self.store.audit(bid.log_index).await? {
                    seen.extend(audit.client_addr.clone());
                    if let Some(actor) = &audit.actor {
                        seen.extend(self.store.actor_addresses(actor).await?);
                        if let Some(der) = self.store.identity_certificate(actor).await? {
                            keys.extend(crate::crypto::cert::public_key_sha256(&der));
                        }
                    }
                }
                seen.sort();
                seen.dedup();
            }
            bids.push(BidFacts {
                usci: bid.organization.usci.clone(),
                organization: bid.organization.name.clone(),
                valid: bid.valid,
                price: bid.price,
                machine: bid.machine.clone(),
                files: bid.files.iter().map(|f| f.sha256.clone()).collect(),
                received_at: parse_time(&bid.received_at)?,
                addresses: seen,
                keys,
            });
        }
        Ok(TradeFacts {
            trade: record.trade.clone(),
            deadline: parse_time(&record.deadline)?,
            bids,
        })
    }

    /// Logs that `caller` read confidential data.
    async fn log_read(&self, caller: &Caller, what: serde_json::Value) -> Result<()> {
        self.store
            .append(event(caller, "confidential.read", None, what, vec![]))
            .await?;
        Ok(())
    }

    /// Alerts of trades in the caller's region, newest first. The read is logged.
    pub async fn alerts(&self, caller: &Caller, filter: AlertFilter) -> Result<Vec<Alert>> {
        let supervisor = supervisor(caller)?;
        let region = supervisor.region.as_ref().ok_or(EngineError::Forbidden {
            needed: Role::Supervisor,
        })?;
        let limit = filter.limit.unwrap_or(100);
        if !(1..=MAX_ALERTS).contains(&limit) {
            return Err(EngineError::invalid(
                "invalid_limit",
                format!("limit must be 1 to {MAX_ALERTS}"),
            ));
        }
        if let Some(s) = &filter.status {
            if crate::domain::alert::AlertStatus::parse(s).is_none() {
                return Err(EngineError::invalid(
                    "invalid_query",
                    "status is open, assigned, handled or closed",
                ));
            }
        }
        if let Some(s) = &filter.severity {
            if risk::Severity::parse(s).is_none() {
                return Err(EngineError::invalid(
                    "invalid_query",
                    "severity is red, orange or yellow",
                ));
            }
        }
        let alerts = self
            .store
            .alerts(&AlertQuery {
                region_prefix: region.prefix().to_owned(),
                status: filter.status.clone(),
                severity: filter.severity.clone(),
                rule: filter.rule.clone(),
                trade_id: filter.trade.clone(),
                limit,
            })
            .await?;
        self.log_read(
            caller,
            serde_json::json!({
                "what": "alerts",
                "alerts": alerts.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
            }),
        )
        .await?;
        Ok(alerts)
    }

    /// One alert with its history, if it is in the caller's region. The read is logged.
    pub async fn alert(&self, caller: &Caller, id: &str) -> Result<Alert> {
        let alert = self.alert_in_region(caller, id).await?;
        self.log_read(caller, serde_json::json!({ "what": "alert", "alert": id }))
            .await?;
        Ok(alert)
    }

    async fn alert_in_region(&self, caller: &Caller, id: &str) -> Result<Alert> {
        let supervisor = supervisor(caller)?;
        let not_found = EngineError::NotFound {
            code: "alert_not_found",
            what: "alert",
        };
        let alert = self.store.alert(id).await?.ok_or(not_found)?;
        let inside = supervisor.region.as_ref().is_some_and(|r| {
            crate::domain::region::RegionCode::parse(&alert.region_code)
                .is_ok_and(|code| r.contains(&code))
        });
        if !inside {
            return Err(EngineError::NotFound {
                code: "alert_not_found",
                what: "alert",
            });
        }
        Ok(alert)
    }

    /// A supervisor of the alert's region takes a workflow step with a note. Assigning
    /// names a supervisor of that region; only the assignee handles; closing follows
    /// handling.
    pub async fn alert_step(
        &self,
        caller: &Caller,
        id: &str,
        step: AlertStep,
        note: &str,
        assignee: Option<&str>,
    ) -> Result<Alert> {
        let me = supervisor(caller)?.clone();
        let alert = self.alert_in_region(caller, id).await?;
        let note = note.trim();
        if !crate::domain::text::is_written(note, MAX_NOTE_CHARS) {
            return Err(EngineError::invalid(
                "invalid_note",
                format!("a step needs a note of 1 to {MAX_NOTE_CHARS} characters, without control characters other than line breaks"),
            ));
        }
        match (step, assignee) {
            (AlertStep::Assign, Some(who)) => {
                let target = self.store.identity(who).await?;
                let fits = target.as_ref().is_some_and(|t| {
                    t.acts_as(Role::Supervisor)
                        && t.region.as_ref().is_some_and(|r| {
                            crate::domain::region::RegionCode::parse(&alert.region_code)
                                .is_ok_and(|code| r.contains(&code))
                        })
                });
                if !fits {
                    return Err(EngineError::invalid(
                        "invalid_assignee",
                        "the assignee must be a supervisor of the alert's region",
                    ));
                }
            }
            (AlertStep::Assign, None) => {
                return Err(EngineError::invalid(
                    "invalid_assignee",
                    "assigning names the supervisor who will handle the alert",
                ))
            }
            (_, Some(_)) => {
                return Err(EngineError::invalid(
                    "invalid_assignee",
                    "only assigning names an assignee",
                ))
            }
            (AlertStep::Handle, None) if alert.assignee.as_deref() != Some(me.id.as_str()) => {
                return Err(EngineError::Forbidden {
                    needed: Role::Supervisor,
                })
            }
            _ => {}
        }
        let (commitment, note_sealed) = seal("note", note.as_bytes().to_vec());
        let kind = match step {
            AlertStep::Assign => "alert.assigned",
            AlertStep::Handle => "alert.handled",
            AlertStep::Close => "alert.closed",
        };
        let ev = event_hiding_trade(
            caller,
            kind,
            &alert.trade_id,
            serde_json::json!({ "alert": id, "note": commitment }),
            vec![note_sealed],
        );
        match self
            .store
            .alert_step(id, step, &me.id, note, assignee, ev)
            .await
        {
            Ok(_) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(EngineError::conflict(
                    "alert_status",
                    format!(
                        "an alert that is {} cannot be {}",
                        alert.status.as_str(),
                        match step {
                            AlertStep::Assign => "assigned",
                            AlertStep::Handle => "handled",
                            AlertStep::Close => "closed",
                        }
                    ),
                ))
            }
            Err(e) => return Err(e.into()),
        }
        self.alert_in_region(caller, id).await
    }
}

fn supervisor(caller: &Caller) -> Result<&Identity> {
    caller.require(Role::Supervisor)
}

/// The alert of `finding` on `trade_id` in `region`, with its log entry: the public
/// entry says only that an alert was raised; the detail is sealed, the trade hidden. The
/// trade is one of ours, or one of a followed platform as `<platform>/<trade id>`.
pub(crate) fn alert_of(
    finding: &risk::Finding,
    trade_id: &str,
    region: &crate::domain::region::RegionCode,
    now: DateTime<chrono::Utc>,
) -> (NewAlert, NewEvent) {
    let id = uuid::Uuid::now_v7().to_string();
    let detail = serde_json::json!({
        "alert": id, "trade": trade_id, "region": region,
        "rule": finding.rule, "summary": finding.summary,
        "subjects": finding.subjects, "evidence": finding.evidence,
    });
    let (commitment, detail_sealed) = seal("alert", detail.to_string().into_bytes());
    let ev = event_hiding_trade(
        &Caller::default(),
        "alert.raised",
        trade_id,
        serde_json::json!({ "alert": id, "detail": commitment }),
        // The region places the entry for supervision when the trade is not ours.
        vec![
            detail_sealed,
            seal("region", region.as_str().as_bytes().to_vec()).1,
        ],
    );
    (
        NewAlert {
            dedup_key: finding.key(trade_id),
            rule: finding.rule.id.to_owned(),
            severity: finding.rule.severity.as_str().to_owned(),
            trade_id: trade_id.to_owned(),
            region_code: region.as_str().to_owned(),
            summary: finding.summary.clone(),
            finding: detail.to_string(),
            raised_at: now,
            id,
        },
        ev,
    )
}
