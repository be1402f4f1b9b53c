//! Storage for supervision: risk alerts, their handling and the risk rules' cursor, and
//! interventions (suspend, resume, terminate). A second trait on the same backends, with
//! the same one-SQL-body-for-both approach as `sql.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::Result;
use crate::domain::alert::{Alert, AlertStep};
use crate::domain::event::NewEvent;

/// An alert about to be raised.
#[derive(Debug, Clone)]
pub struct NewAlert {
    pub id: String,
    /// Rule, trade and bidders: the same finding again raises nothing.
    pub dedup_key: String,
    pub rule: String,
    pub severity: String,
    pub trade_id: String,
    pub region_code: String,
    pub summary: String,
    /// JSON of the finding.
    pub finding: String,
    pub raised_at: DateTime<Utc>,
}

/// Filters for listing alerts, newest first.
#[derive(Debug, Clone, Default)]
pub struct AlertQuery {
    /// Prefix of the 行政区划代码 (see `RegionCode::prefix`).
    pub region_prefix: String,
    pub status: Option<String>,
    pub severity: Option<String>,
    pub rule: Option<String>,
    pub trade_id: Option<String>,
    pub limit: i64,
}

/// A tender bond that counted, as the bank reported it: where its refund goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountedBond {
    pub bank_id: String,
    pub account: String,
    pub bidder_usci: String,
    pub amount: i64,
}

#[async_trait]
pub trait SupervisionStore: Send + Sync {
    /// Openings recorded after log entry `after`, oldest first: (trade id, entry).
    async fn openings_after(&self, after: i64, limit: i64) -> Result<Vec<(String, i64)>>;
    /// The latest `limit` opening records before entry `before`: (trade id, record bytes).
    async fn openings_before(&self, before: i64, limit: i64) -> Result<Vec<(String, Vec<u8>)>>;
    /// The distinct client addresses `actor` has acted from.
    async fn actor_addresses(&self, actor: &str) -> Result<Vec<String>>;
    /// For each organisation that quoted in `trade_id`: the closed live sales it quoted
    /// in (with its accepted quotes in each, oldest first) and how many it won.
    async fn quoting_records(
        &self,
        trade_id: &str,
    ) -> Result<Vec<crate::domain::risk::price_pushing::QuotingRecord>>;
    /// The bonds that counted for a tender, in log order.
    async fn counted_bonds(&self, trade_id: &str) -> Result<Vec<CountedBond>>;
    /// The last opening the risk rules evaluated.
    async fn risk_cursor(&self) -> Result<i64>;
    /// Raises those of `alerts` not raised before, each with its log event, in one
    /// transaction; with `advance_cursor` (the openings' rules), also moves the risk
    /// cursor to `trigger_seq`. Returns the ids raised.
    async fn raise_alerts(
        &self,
        trigger_seq: i64,
        alerts: Vec<(NewAlert, NewEvent)>,
        advance_cursor: bool,
    ) -> Result<Vec<String>>;
    /// Keeps `alert` without a log entry, once (by its dedup key), even while the log is
    /// halted: the alert that says the log itself cannot be trusted. Returns whether it
    /// was new.
    async fn raise_alert_outside_log(&self, alert: NewAlert) -> Result<bool>;
    async fn alerts(&self, query: &AlertQuery) -> Result<Vec<Alert>>;
    /// One alert with its history.
    async fn alert(&self, id: &str) -> Result<Option<Alert>>;
    /// Takes `step` if the alert's status allows it (else `Conflict("alert_status")`).
    async fn alert_step(
        &self,
        id: &str,
        step: AlertStep,
        actor: &str,
        note: &str,
        assignee: Option<&str>,
        event: NewEvent,
    ) -> Result<i64>;

    /// Suspends a published trade at `at` (else `Conflict("not_published")`).
    async fn suspend_trade(&self, id: &str, at: DateTime<Utc>, event: NewEvent) -> Result<i64>;
    /// Resumes a suspended trade with its new deadline, if the opening window was running
    /// its new end, and for a live sale its shifted start and end (else
    /// `Conflict("not_suspended")`).
    async fn resume_trade(
        &self,
        id: &str,
        bid_deadline: DateTime<Utc>,
        window_ends_at: Option<DateTime<Utc>>,
        live: Option<super::sale::LiveResume<'_>>,
        event: NewEvent,
    ) -> Result<i64>;
    /// Terminates a published or suspended trade (else `Conflict("not_active")`).
    async fn terminate_trade(&self, id: &str, event: NewEvent) -> Result<i64>;
}

type AlertRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    i64,
    i64,
    i64,
);

pub(crate) fn alert_from_row(r: AlertRow) -> Result<Alert> {
    use crate::domain::alert::AlertStatus;
    let (
        id,
        rule,
        severity,
        trade_id,
        region_code,
        status,
        summary,
        finding,
        assignee,
        raised_seq,
        trigger_seq,
        raised_at,
    ) = r;
    Ok(Alert {
        id,
        rule,
        severity,
        trade_id,
        region_code,
        status: AlertStatus::parse(&status)
            .ok_or_else(|| super::StoreError::Other("corrupt alert status".into()))?,
        summary,
        finding: serde_json::from_str(&finding)
            .map_err(|e| super::StoreError::Other(Box::new(e)))?,
        assignee,
        raised_seq,
        trigger_seq,
        raised_at: crate::domain::clock::from_millis(raised_at),
        history: Vec::new(),
    })
}

macro_rules! alert_select {
    () => {
        "SELECT id, rule, severity, trade_id, region_code, status, summary, finding, assignee, raised_seq, trigger_seq, raised_at FROM alerts"
    };
}

/// Implements `SupervisionStore` for a store type that `impl_store!` was applied to.
macro_rules! impl_supervision_store {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Raises `alerts` inside `tx`, each with its `alert.raised` entry, except those
            /// raised before (same dedup key). Returns the ids of those raised now.
            async fn raise_in(
                &self,
                tx: &mut sqlx::Transaction<'static, $db>,
                trigger_seq: i64,
                alerts: Vec<($crate::store::supervision::NewAlert, $crate::domain::event::NewEvent)>,
            ) -> $crate::store::Result<Vec<String>> {
                let mut raised = Vec::new();
                for (alert, event) in alerts {
                    let known: Option<(String,)> = sqlx::query_as("SELECT id FROM alerts WHERE dedup_key = $1")
                        .bind(&alert.dedup_key)
                        .fetch_optional(&mut **tx)
                        .await?;
                    if known.is_some() {
                        continue;
                    }
                    let seq = self.append_in(tx, &event).await?;
                    sqlx::query(
                        "INSERT INTO alerts (id, dedup_key, rule, severity, trade_id, region_code, status, summary, finding, assignee, raised_seq, trigger_seq, raised_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8, NULL, $9, $10, $11)",
                    )
                    .bind(&alert.id)
                    .bind(&alert.dedup_key)
                    .bind(&alert.rule)
                    .bind(&alert.severity)
                    .bind(&alert.trade_id)
                    .bind(&alert.region_code)
                    .bind(&alert.summary)
                    .bind(&alert.finding)
                    .bind(seq)
                    .bind(trigger_seq)
                    .bind(alert.raised_at.timestamp_millis())
                    .execute(&mut **tx)
                    .await?;
                    raised.push(alert.id);
                }
                Ok(raised)
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::supervision::SupervisionStore for $store {
            async fn openings_after(&self, after: i64, limit: i64) -> $crate::store::Result<Vec<(String, i64)>> {
                Ok(sqlx::query_as("SELECT trade_id, seq FROM opening_records WHERE seq > $1 ORDER BY seq LIMIT $2")
                    .bind(after)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn openings_before(&self, before: i64, limit: i64) -> $crate::store::Result<Vec<(String, Vec<u8>)>> {
                Ok(sqlx::query_as("SELECT trade_id, record FROM opening_records WHERE seq < $1 ORDER BY seq DESC LIMIT $2")
                    .bind(before)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn actor_addresses(&self, actor: &str) -> $crate::store::Result<Vec<String>> {
                let rows: Vec<(String,)> = sqlx::query_as(
                    "SELECT DISTINCT client_addr FROM event_audit WHERE actor = $1 AND client_addr IS NOT NULL ORDER BY client_addr",
                )
                .bind(actor)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(|(a,)| a).collect())
            }

            async fn quoting_records(
                &self,
                trade_id: &str,
            ) -> $crate::store::Result<Vec<$crate::domain::risk::price_pushing::QuotingRecord>> {
                const QUOTERS: &str = "SELECT a2.usci FROM quotes q2 JOIN applications a2 \
                    ON a2.trade_id = q2.trade_id AND a2.bidder_number = q2.bidder_number WHERE q2.trade_id = $1";
                let sales: Vec<(String, String, String, i64)> = sqlx::query_as(&format!(
                    "SELECT a.usci, MIN(a.organization), q.trade_id, COUNT(*) FROM quotes q \
                     JOIN applications a ON a.trade_id = q.trade_id AND a.bidder_number = q.bidder_number \
                     JOIN trades t ON t.id = q.trade_id \
                     WHERE t.status IN ('sold', 'failed') AND a.usci IN ({QUOTERS}) \
                     GROUP BY a.usci, q.trade_id ORDER BY a.usci, MIN(q.seq)"
                ))
                .bind(trade_id)
                .fetch_all(&self.pool)
                .await?;
                let wins: Vec<(String, i64)> = sqlx::query_as(&format!(
                    "SELECT a.usci, COUNT(*) FROM ledger_entries l JOIN applications a ON a.id = l.application_id \
                     WHERE l.kind = 'converted_to_payment' AND a.usci IN ({QUOTERS}) GROUP BY a.usci"
                ))
                .bind(trade_id)
                .fetch_all(&self.pool)
                .await?;
                let mut records: Vec<$crate::domain::risk::price_pushing::QuotingRecord> = Vec::new();
                for (usci, organization, trade, quotes) in sales {
                    let quotes = u64::try_from(quotes).unwrap_or_default();
                    match records.last_mut() {
                        Some(r) if r.usci == usci => r.sales.push((trade, quotes)),
                        _ => records.push($crate::domain::risk::price_pushing::QuotingRecord {
                            wins: wins
                                .iter()
                                .find(|(u, _)| *u == usci)
                                .map_or(0, |(_, n)| u64::try_from(*n).unwrap_or_default()),
                            usci,
                            organization,
                            sales: vec![(trade, quotes)],
                        }),
                    }
                }
                Ok(records)
            }

            async fn counted_bonds(
                &self,
                trade_id: &str,
            ) -> $crate::store::Result<Vec<$crate::store::supervision::CountedBond>> {
                let rows: Vec<(String, Option<String>, Option<String>, i64)> = sqlx::query_as(
                    "SELECT bank_id, payer_account, bidder_usci, amount FROM bank_notifications \
                     WHERE trade_id = $1 AND kind = 'bond' AND outcome = 'bond_confirmed' ORDER BY seq",
                )
                .bind(trade_id)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(bank_id, account, usci, amount)| $crate::store::supervision::CountedBond {
                        bank_id,
                        account: account.unwrap_or_default(),
                        bidder_usci: usci.unwrap_or_default(),
                        amount,
                    })
                    .collect())
            }

            async fn risk_cursor(&self) -> $crate::store::Result<i64> {
                let row: Option<(i64,)> = sqlx::query_as("SELECT seq FROM risk_cursor WHERE id = 1")
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map_or(0, |(s,)| s))
            }

            async fn raise_alerts(
                &self,
                trigger_seq: i64,
                alerts: Vec<($crate::store::supervision::NewAlert, $crate::domain::event::NewEvent)>,
                advance_cursor: bool,
            ) -> $crate::store::Result<Vec<String>> {
                let mut tx = self.begin_write().await?;
                let raised = self.raise_in(&mut tx, trigger_seq, alerts).await?;
                if advance_cursor {
                    sqlx::query(
                        "INSERT INTO risk_cursor (id, seq) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq",
                    )
                    .bind(trigger_seq)
                    .execute(&mut *tx)
                    .await?;
                }
                self.commit(tx).await?;
                Ok(raised)
            }

            async fn raise_alert_outside_log(
                &self,
                alert: $crate::store::supervision::NewAlert,
            ) -> $crate::store::Result<bool> {
                let mut tx = self.begin_write_past_gate().await?;
                let known: Option<(String,)> = sqlx::query_as("SELECT id FROM alerts WHERE dedup_key = $1")
                    .bind(&alert.dedup_key)
                    .fetch_optional(&mut *tx)
                    .await?;
                if known.is_some() {
                    return Ok(false);
                }
                sqlx::query(
                    "INSERT INTO alerts (id, dedup_key, rule, severity, trade_id, region_code, status, summary, finding, assignee, raised_seq, trigger_seq, raised_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8, NULL, 0, 0, $9)",
                )
                .bind(&alert.id)
                .bind(&alert.dedup_key)
                .bind(&alert.rule)
                .bind(&alert.severity)
                .bind(&alert.trade_id)
                .bind(&alert.region_code)
                .bind(&alert.summary)
                .bind(&alert.finding)
                .bind(alert.raised_at.timestamp_millis())
                .execute(&mut *tx)
                .await?;
                self.commit(tx).await?;
                Ok(true)
            }

            async fn alerts(
                &self,
                q: &$crate::store::supervision::AlertQuery,
            ) -> $crate::store::Result<Vec<$crate::domain::alert::Alert>> {
                let rows = sqlx::query_as(concat!(
                    $crate::store::supervision::ALERT_SELECT!(),
                    " WHERE region_code LIKE $1 AND ($2 IS NULL OR status = $2) AND ($3 IS NULL OR severity = $3) \
                     AND ($4 IS NULL OR rule = $4) AND ($5 IS NULL OR trade_id = $5) ORDER BY raised_seq DESC LIMIT $6"
                ))
                .bind(format!("{}%", q.region_prefix))
                .bind(q.status.as_deref())
                .bind(q.severity.as_deref())
                .bind(q.rule.as_deref())
                .bind(q.trade_id.as_deref())
                .bind(q.limit)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map($crate::store::supervision::alert_from_row).collect()
            }

            async fn alert(&self, id: &str) -> $crate::store::Result<Option<$crate::domain::alert::Alert>> {
                let row = sqlx::query_as(concat!($crate::store::supervision::ALERT_SELECT!(), " WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                let Some(row) = row else { return Ok(None) };
                let mut alert = $crate::store::supervision::alert_from_row(row)?;
                let steps: Vec<(i64, String, String, String, Option<String>, i64)> = sqlx::query_as(
                    "SELECT seq, step, actor, note, assignee, at FROM alert_history WHERE alert_id = $1 ORDER BY seq",
                )
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
                alert.history = steps
                    .into_iter()
                    .map(|(seq, step, actor, note, assignee, at)| $crate::domain::alert::AlertHistory {
                        seq,
                        step,
                        actor,
                        note,
                        assignee,
                        at: $crate::domain::clock::from_millis(at),
                    })
                    .collect();
                Ok(Some(alert))
            }

            async fn alert_step(
                &self,
                id: &str,
                step: $crate::domain::alert::AlertStep,
                actor: &str,
                note: &str,
                assignee: Option<&str>,
                event: $crate::domain::event::NewEvent,
            ) -> $crate::store::Result<i64> {
                let (from, to) = step.transition();
                let mut tx = self.begin_write().await?;
                let current: Option<(String,)> = sqlx::query_as("SELECT status FROM alerts WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some((status,)) = current else {
                    return Err($crate::store::StoreError::Conflict("alert_not_found".into()));
                };
                if !from.iter().any(|s| s.as_str() == status) {
                    return Err($crate::store::StoreError::Conflict("alert_status".into()));
                }
                let seq = self.append_in(&mut tx, &event).await?;
                sqlx::query("UPDATE alerts SET status = $2, assignee = COALESCE($3, assignee) WHERE id = $1")
                    .bind(id)
                    .bind(to.as_str())
                    .bind(assignee)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("INSERT INTO alert_history (alert_id, seq, step, actor, note, assignee, at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                    .bind(id)
                    .bind(seq)
                    .bind(step.as_str())
                    .bind(actor)
                    .bind(note)
                    .bind(assignee)
                    .bind(self.clock.now().timestamp_millis())
                    .execute(&mut *tx)
                    .await?;
                self.commit(tx).await?;
                Ok(seq)
            }

            async fn suspend_trade(
                &self,
                id: &str,
                at: chrono::DateTime<chrono::Utc>,
                event: $crate::domain::event::NewEvent,
            ) -> $crate::store::Result<i64> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query("UPDATE trades SET status = 'suspended', suspended_at = $2 WHERE id = $1 AND status = 'published'")
                    .bind(id)
                    .bind(at.timestamp_millis())
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err($crate::store::StoreError::Conflict("not_published".into()));
                }
                let seq = self.append_in(&mut tx, &event).await?;
                self.commit(tx).await?;
                Ok(seq)
            }

            async fn resume_trade(
                &self,
                id: &str,
                bid_deadline: chrono::DateTime<chrono::Utc>,
                window_ends_at: Option<chrono::DateTime<chrono::Utc>>,
                live: Option<$crate::store::sale::LiveResume<'_>>,
                event: $crate::domain::event::NewEvent,
            ) -> $crate::store::Result<i64> {
                let mut tx = self.begin_write().await?;
                if let Some(live) = live {
                    sqlx::query("UPDATE trade_live_terms SET starts_at = $2, ends_at = $3 WHERE trade_id = $1")
                        .bind(id)
                        .bind(live.terms.starts_at.timestamp_millis())
                        .bind(live.terms.ends_at.map(|e| e.timestamp_millis()))
                        .execute(&mut *tx)
                        .await?;
                }
                let done = sqlx::query("UPDATE trades SET status = 'published', suspended_at = NULL, bid_deadline = $2 WHERE id = $1 AND status = 'suspended'")
                    .bind(id)
                    .bind(bid_deadline.timestamp_millis())
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err($crate::store::StoreError::Conflict("not_suspended".into()));
                }
                if let Some(end) = window_ends_at {
                    sqlx::query(
                        "INSERT INTO opening_windows (trade_id, ends_at) VALUES ($1, $2) \
                         ON CONFLICT (trade_id) DO UPDATE SET ends_at = excluded.ends_at",
                    )
                    .bind(id)
                    .bind(end.timestamp_millis())
                    .execute(&mut *tx)
                    .await?;
                }
                let seq = self.append_in(&mut tx, &event).await?;
                if let Some(live) = live {
                    // The sale's own pending instant (a freeze or countdown) moves too.
                    if let Some(mut sale) = Self::sale_in(&mut tx, id).await? {
                        sale.shift(live.since, live.by);
                        Self::save_sale(&mut tx, id, &sale, live.rules, seq).await?;
                    }
                }
                self.commit(tx).await?;
                Ok(seq)
            }

            async fn terminate_trade(
                &self,
                id: &str,
                event: $crate::domain::event::NewEvent,
            ) -> $crate::store::Result<i64> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query("UPDATE trades SET status = 'terminated', suspended_at = NULL WHERE id = $1 AND status IN ('published', 'suspended')")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err($crate::store::StoreError::Conflict("not_active".into()));
                }
                let seq = self.append_in(&mut tx, &event).await?;
                self.commit(tx).await?;
                Ok(seq)
            }
        }
    };
}

pub(crate) use alert_select as ALERT_SELECT;
pub(crate) use impl_supervision_store;
