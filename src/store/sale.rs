//! Storage of the quoting engine (ADR 0010): steps of live sales (period ends due, then
//! a quote) run in a write transaction that loads each sale's state, runs
//! `domain::auction` on it, and writes the new state, the quotes and the log entries.
//! Steps in one transaction run in order, each on the state the one before left: a
//! transaction may hold many sales' timers, or quotes queued together (ADR 0023).
//! Writes are serialized (SQLite's single writer, PostgreSQL's log lock), so the log's
//! order is the order of receipt and each timer fires once.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::Result;
use crate::domain::auction::{Accepted, QuoteError, Reserve, Rules, Sale, SaleResult, Transition};
use crate::domain::money::Money;

/// A quote to judge.
#[derive(Debug, Clone)]
pub struct QuoteIntake {
    pub id: String,
    pub identity_id: String,
    pub client_quote_id: String,
    pub bidder_number: String,
    pub amount: Money,
}

/// One step of a sale: fire what is due, then judge `quote` if any.
#[derive(Clone, Copy)]
pub struct SaleStep<'a> {
    pub trade_id: &'a str,
    pub rules: &'a Rules,
    /// The deposit each bidder paid: converted for the winner at the close.
    pub deposit: Money,
    pub quote: Option<&'a QuoteIntake>,
    /// Builds the step's log entries.
    pub event: SaleEventFor<'a>,
}

/// What a step puts in the log.
#[derive(Debug, Clone, Copy)]
pub enum SaleEvent<'a> {
    /// A period ended; `numbered` is the sale's bidder numbers at that moment.
    Period(&'a Transition, &'a [String]),
    Quote(&'a Accepted),
    /// The result, how many deposits go back, and what the reserve's opening found
    /// when the sale waited for it.
    Closed(&'a SaleResult, usize, Option<&'a Reserve>),
}

/// Builds a step's log entries.
pub type SaleEventFor<'a> =
    &'a (dyn for<'b> Fn(&SaleEvent<'b>) -> crate::domain::event::NewEvent + Send + Sync);

/// What a step did.
#[derive(Debug, Clone)]
pub struct Stepped {
    pub sale: Sale,
    /// The quote's fate; `None` without a quote.
    pub quote: Option<Result<Accepted, QuoteError>>,
    /// The quote was a retry of one already taken.
    pub repeated: bool,
    /// The log entries this step wrote, in order.
    pub seqs: Vec<i64>,
}

/// A live sale being resumed: its shifted terms and rules, and the suspension.
#[derive(Debug, Clone, Copy)]
pub struct LiveResume<'a> {
    pub terms: &'a crate::domain::trade::LiveTerms,
    pub rules: &'a Rules,
    pub since: DateTime<Utc>,
    pub by: chrono::Duration,
}

/// A sale whose timer is due.
#[derive(Debug, Clone)]
pub struct DueSale {
    pub trade_id: String,
    pub due: Option<DateTime<Utc>>,
}

/// The log entries of one write transaction, numbered as they are made and written
/// together before it commits: a batch of steps costs a few multi-row statements, not a
/// round trip per entry. Nothing else may append in the same transaction.
pub(crate) struct Entries {
    next: i64,
    /// The time every entry of the transaction is stamped with.
    pub(crate) at: i64,
    made: Vec<(crate::domain::event::NewEvent, i64)>,
}

impl Entries {
    /// Entries from `seq` on, stamped `at` (from `next_entry` under the log lock).
    pub(crate) fn starting((seq, at): (i64, i64)) -> Self {
        Entries {
            next: seq,
            at,
            made: Vec::new(),
        }
    }

    /// Adds `event` as the next entry; returns its index.
    pub(crate) fn push(&mut self, event: crate::domain::event::NewEvent) -> i64 {
        let seq = self.next;
        self.next += 1;
        self.made.push((event, seq));
        seq
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.made.is_empty()
    }

    /// `(event, seq, at)` rows for `write_entries`.
    pub(crate) fn rows(&self) -> Vec<(&crate::domain::event::NewEvent, i64, i64)> {
        self.made
            .iter()
            .map(|(e, seq)| (e, *seq, self.at))
            .collect()
    }
}

/// The most sale steps one write transaction takes.
pub const STEP_BATCH: usize = 500;

#[async_trait]
pub trait SaleStore: Send + Sync {
    /// Runs steps of sales in one write transaction (see the module doc), in order, at
    /// most [`STEP_BATCH`]; the answers come in the same order. A failure writes nothing.
    async fn step_sales(&self, steps: &[SaleStep<'_>]) -> Result<Vec<Stepped>>;
    /// Runs one step of a sale in its own write transaction.
    async fn step_sale(&self, step: SaleStep<'_>) -> Result<Stepped> {
        self.step_sales(&[step])
            .await?
            .pop()
            .ok_or_else(|| super::StoreError::Other("a sale step gave no answer".into()))
    }
    /// A sale's state, if it has taken a step, and the log entry of its last step.
    async fn sale(&self, trade_id: &str) -> Result<Option<(Sale, i64)>>;
    /// A sale's accepted quotes, in log order.
    async fn quotes(&self, trade_id: &str) -> Result<Vec<Accepted>>;
    /// Published sales whose timer is due by `now`, and those past their start that have
    /// not taken a step: the `limit` due first.
    async fn due_sales(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<DueSale>>;
    /// What of a trade can change while it is on sale, in one read: its status and its
    /// sale's start and end (a resume moves them), and the answer to the quote `retry`
    /// (identity, client quote id) if it was accepted.
    async fn sale_state(
        &self,
        trade_id: &str,
        retry: (&str, &str),
    ) -> Result<Option<(SaleState, Option<Accepted>)>>;
}

/// What of a live trade can change while it is on sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SaleState {
    pub status: crate::domain::trade::TradeStatus,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
}

pub(crate) fn corrupt(e: impl std::fmt::Display) -> super::StoreError {
    super::StoreError::Other(format!("a stored sale is not valid: {e}").into())
}

/// Implements `SaleStore` for a store type that `impl_store!` and `impl_live_store!`
/// were applied to.
macro_rules! impl_sale_store {
    ($store:ty, $db:ty) => {
        impl $store {
            async fn sale_in(
                tx: &mut sqlx::Transaction<'static, $db>,
                trade_id: &str,
            ) -> $crate::store::Result<Option<$crate::domain::auction::Sale>> {
                Ok(Self::sales_in(tx, &[trade_id]).await?.remove(trade_id))
            }

            /// The stored state of each of these sales that has taken a step.
            async fn sales_in(
                tx: &mut sqlx::Transaction<'static, $db>,
                trade_ids: &[&str],
            ) -> $crate::store::Result<std::collections::HashMap<String, $crate::domain::auction::Sale>> {
                let mut sales = std::collections::HashMap::new();
                for chunk in trade_ids.chunks($crate::store::sale::STEP_BATCH) {
                    let rows: Vec<(String, String)> = $crate::store::sql::where_in::<$db>(
                        "SELECT trade_id, state FROM live_sales WHERE trade_id IN ",
                        chunk,
                        "",
                    )
                    .build_query_as()
                    .fetch_all(&mut **tx)
                    .await?;
                    for (id, state) in rows {
                        let sale = serde_json::from_str(&state).map_err($crate::store::sale::corrupt)?;
                        sales.insert(id, sale);
                    }
                }
                Ok(sales)
            }

            /// The bidder numbers drawn in each of these sales, in order.
            async fn numbered_in(
                tx: &mut sqlx::Transaction<'static, $db>,
                trade_ids: &[&str],
            ) -> $crate::store::Result<std::collections::HashMap<String, Vec<String>>> {
                let mut numbered: std::collections::HashMap<String, Vec<String>> = std::collections::HashMap::new();
                for chunk in trade_ids.chunks($crate::store::sale::STEP_BATCH) {
                    if chunk.is_empty() {
                        continue;
                    }
                    let rows: Vec<(String, String)> = $crate::store::sql::where_in::<$db>(
                        "SELECT trade_id, bidder_number FROM applications WHERE bidder_number IS NOT NULL AND trade_id IN ",
                        chunk,
                        " ORDER BY trade_id, bidder_number",
                    )
                    .build_query_as()
                    .fetch_all(&mut **tx)
                    .await?;
                    for (id, number) in rows {
                        numbered.entry(id).or_default().push(number);
                    }
                }
                Ok(numbered)
            }

            /// The stored answers to these quotes (trade, identity, client quote id) that
            /// were accepted before, in one read.
            async fn answered_in(
                tx: &mut sqlx::Transaction<'static, $db>,
                keys: &[(&str, &str, &str)],
            ) -> $crate::store::Result<std::collections::HashMap<(String, String, String), $crate::domain::auction::Accepted>> {
                let mut answered = std::collections::HashMap::new();
                for chunk in keys.chunks($crate::store::sale::STEP_BATCH) {
                    if chunk.is_empty() {
                        continue;
                    }
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "SELECT trade_id, identity_id, client_quote_id, response FROM quotes WHERE ",
                    );
                    let mut terms = q.separated(" OR ");
                    for (trade_id, identity_id, client_quote_id) in chunk {
                        terms.push("(trade_id = ");
                        terms.push_bind_unseparated(*trade_id);
                        terms.push_unseparated(" AND identity_id = ");
                        terms.push_bind_unseparated(*identity_id);
                        terms.push_unseparated(" AND client_quote_id = ");
                        terms.push_bind_unseparated(*client_quote_id);
                        terms.push_unseparated(")");
                    }
                    let rows: Vec<(String, String, String, String)> =
                        q.build_query_as().fetch_all(&mut **tx).await?;
                    for (trade_id, identity_id, client_quote_id, response) in rows {
                        let accepted = serde_json::from_str(&response).map_err($crate::store::sale::corrupt)?;
                        answered.insert((trade_id, identity_id, client_quote_id), accepted);
                    }
                }
                Ok(answered)
            }

            async fn save_sale(
                tx: &mut sqlx::Transaction<'static, $db>,
                trade_id: &str,
                sale: &$crate::domain::auction::Sale,
                rules: &$crate::domain::auction::Rules,
                seq: i64,
            ) -> $crate::store::Result<()> {
                Self::save_sales(tx, &[(trade_id, sale, rules, seq)]).await
            }

            /// Stores sales' states, each with its next due instant and the log entry of
            /// its last step; a trade appears at most once.
            async fn save_sales(
                tx: &mut sqlx::Transaction<'static, $db>,
                sales: &[(&str, &$crate::domain::auction::Sale, &$crate::domain::auction::Rules, i64)],
            ) -> $crate::store::Result<()> {
                for chunk in sales.chunks($crate::store::sale::STEP_BATCH) {
                    let mut rows = Vec::with_capacity(chunk.len());
                    for (trade_id, sale, rules, seq) in chunk {
                        let state = serde_json::to_string(sale).map_err($crate::store::sale::corrupt)?;
                        let due = sale.next_due(rules).map(|d| d.timestamp_millis());
                        rows.push((*trade_id, state, due, *seq));
                    }
                    let mut q = sqlx::QueryBuilder::<$db>::new("INSERT INTO live_sales (trade_id, state, next_due_at, seq) ");
                    q.push_values(rows, |mut b, (trade_id, state, due, seq)| {
                        b.push_bind(trade_id).push_bind(state).push_bind(due).push_bind(seq);
                    });
                    q.push(
                        " ON CONFLICT (trade_id) DO UPDATE SET state = excluded.state, \
                         next_due_at = excluded.next_due_at, seq = excluded.seq",
                    );
                    q.build().execute(&mut **tx).await?;
                }
                Ok(())
            }

            /// Stores accepted quotes `(trade, quote, response, seq)` at `at`, multi-row.
            async fn insert_quotes(
                tx: &mut sqlx::Transaction<'static, $db>,
                rows: &[(&str, &$crate::store::sale::QuoteIntake, String, i64)],
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<()> {
                for chunk in rows.chunks($crate::store::sale::STEP_BATCH) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO quotes (id, trade_id, identity_id, client_quote_id, bidder_number, amount, at, seq, response) ",
                    );
                    q.push_values(chunk, |mut b, (trade_id, quote, response, seq)| {
                        b.push_bind(quote.id.clone())
                            .push_bind(*trade_id)
                            .push_bind(quote.identity_id.clone())
                            .push_bind(quote.client_quote_id.clone())
                            .push_bind(quote.bidder_number.clone())
                            .push_bind(quote.amount.minor_units())
                            .push_bind(at.timestamp_millis())
                            .push_bind(*seq)
                            .push_bind(response.clone());
                    });
                    q.build().execute(&mut **tx).await?;
                }
                Ok(())
            }

            /// Writes the entries a transaction made (see [`Entries`](crate::store::sale::Entries)).
            async fn write_made(
                &self,
                tx: &mut sqlx::Transaction<'static, $db>,
                entries: &$crate::store::sale::Entries,
            ) -> $crate::store::Result<()> {
                self.write_entries(tx, &entries.rows()).await
            }

            /// Settles the deposits of a closed sale (`domain::auction::settlement`): the
            /// winner's becomes payment, the others get refund instructions.
            async fn settle_deposits(
                tx: &mut sqlx::Transaction<'static, $db>,
                winner: Option<&$crate::domain::application::Application>,
                released: &[&$crate::domain::application::Application],
                deposit: $crate::domain::money::Money,
                at: chrono::DateTime<chrono::Utc>,
                seq: i64,
            ) -> $crate::store::Result<()> {
                use $crate::domain::ledger::{EntryKind, LedgerEntry, Refund, RefundReason, RefundStatus};
                if let Some(a) = winner {
                    if let Some((bank_id, account)) = Self::deposit_source(tx, &a.id).await? {
                        let entry = LedgerEntry {
                            id: uuid::Uuid::now_v7().to_string(),
                            trade_id: a.trade_id.clone(),
                            application_id: Some(a.id.clone()),
                            kind: EntryKind::ConvertedToPayment,
                            amount: deposit,
                            account,
                            bank_id,
                            bank_txn_id: None,
                            refund_id: None,
                            at,
                            seq,
                        };
                        Self::insert_ledger(tx, &entry).await?;
                    }
                }
                for a in released {
                    let Some((bank_id, account)) = Self::deposit_source(tx, &a.id).await? else {
                        continue;
                    };
                    let refund = Refund {
                        id: uuid::Uuid::now_v7().to_string(),
                        trade_id: a.trade_id.clone(),
                        application_id: Some(a.id.clone()),
                        account,
                        account_name: a.payer_name.clone(),
                        amount: deposit,
                        reason: RefundReason::NotWinner,
                        status: RefundStatus::Pending,
                        created_at: at,
                        sent_at: None,
                        confirmed_at: None,
                        due_at: None,
                    };
                    Self::insert_refund(tx, &refund, bank_id.as_deref().unwrap_or_default()).await?;
                }
                Ok(())
            }

            /// Records the result of a sale that has just closed: its `sale.closed`
            /// entry first (the settlement cites it), the deposits' settlement and the
            /// trade's status. Returns the entry's log index.
            async fn close_in(
                tx: &mut sqlx::Transaction<'static, $db>,
                entries: &mut $crate::store::sale::Entries,
                trade_id: &str,
                sale: &$crate::domain::auction::Sale,
                deposit: $crate::domain::money::Money,
                now: chrono::DateTime<chrono::Utc>,
                event: $crate::store::sale::SaleEventFor<'_>,
            ) -> $crate::store::Result<Option<i64>> {
                use $crate::domain::auction::SaleResult;
                let Some(result) = &sale.result else {
                    return Ok(None);
                };
                let status = match result {
                    SaleResult::Sold { .. } => "sold",
                    SaleResult::Failed { .. } => "failed",
                };
                let applications = Self::applications_on(&mut **tx, trade_id).await?;
                let (winner, released) = $crate::domain::auction::settlement(&applications, result);
                let closed = $crate::store::sale::SaleEvent::Closed(result, released.len(), sale.reserve.as_ref());
                let seq = entries.push(event(&closed));
                Self::settle_deposits(tx, winner, &released, deposit, now, seq).await?;
                sqlx::query("UPDATE trades SET status = $2 WHERE id = $1 AND status = 'published'")
                    .bind(trade_id)
                    .bind(status)
                    .execute(&mut **tx)
                    .await?;
                Ok(Some(seq))
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::sale::SaleStore for $store {
            async fn step_sales(
                &self,
                steps: &[$crate::store::sale::SaleStep<'_>],
            ) -> $crate::store::Result<Vec<$crate::store::sale::Stepped>> {
                use $crate::domain::auction::{Accepted, Sale};
                use $crate::store::sale::{Entries, SaleEvent, Stepped};
                let mut tx = self.begin_write().await?;
                let ids: Vec<&str> = steps.iter().map(|s| s.trade_id).collect();
                let mut sales = Self::sales_in(&mut tx, &ids).await?;
                // Whole milliseconds, as the log states times: replay reaches the same instants.
                let now = $crate::domain::clock::from_millis(self.clock.now().timestamp_millis());
                // The numbered buyers matter only to a period end due now (a disclosure's).
                let due_now: Vec<&str> = steps
                    .iter()
                    .filter(|s| {
                        let due = sales.get(s.trade_id).map_or_else(|| Sale::default().next_due(s.rules), |sale| sale.next_due(s.rules));
                        due.is_some_and(|due| due <= now)
                    })
                    .map(|s| s.trade_id)
                    .collect();
                let numbered = Self::numbered_in(&mut tx, &due_now).await?;
                // Retries of quotes accepted before, and (added below) of those accepted in
                // this transaction: answered with the first answer.
                let keys: Vec<(&str, &str, &str)> = steps
                    .iter()
                    .filter_map(|s| s.quote.map(|q| (s.trade_id, q.identity_id.as_str(), q.client_quote_id.as_str())))
                    .collect();
                let mut answered = Self::answered_in(&mut tx, &keys).await?;
                let mut entries = Entries::starting(self.next_entry(&mut tx).await?);
                let mut stepped = Vec::with_capacity(steps.len());
                let mut saved: std::collections::BTreeMap<&str, (&$crate::domain::auction::Rules, i64)> =
                    std::collections::BTreeMap::new();
                // The accepted quotes' rows, written together after the loop: one statement,
                // not one round trip each.
                let mut quote_rows = Vec::new();
                for step in steps {
                    if let Some(q) = step.quote {
                        let key = (step.trade_id.to_owned(), q.identity_id.clone(), q.client_quote_id.clone());
                        if let Some(accepted) = answered.get(&key) {
                            let sale = sales.get(step.trade_id).cloned().unwrap_or_default();
                            stepped.push(Stepped { sale, quote: Some(Ok(accepted.clone())), repeated: true, seqs: Vec::new() });
                            continue;
                        }
                    }
                    let mut sale: Sale = sales.remove(step.trade_id).unwrap_or_default();
                    let was_open = sale.result.is_none();
                    let numbered = numbered.get(step.trade_id).map_or(&[][..], Vec::as_slice);
                    let event = step.event;
                    let mut seqs = Vec::new();
                    for transition in sale.advance(step.rules, now, numbered) {
                        seqs.push(entries.push(event(&SaleEvent::Period(&transition, numbered))));
                    }
                    let mut quote = None;
                    if let Some(q) = step.quote {
                        match sale.quote(step.rules, &q.bidder_number, q.amount, now) {
                            Err(e) => quote = Some(Err(e)),
                            Ok(()) => {
                                let mut accepted = Accepted {
                                    quote_id: q.id.clone(),
                                    client_quote_id: q.client_quote_id.clone(),
                                    bidder_number: q.bidder_number.clone(),
                                    amount: q.amount,
                                    became_best: true,
                                    next_minimum: sale.minimum(step.rules),
                                    deadline: sale.deadline(),
                                    at: now,
                                    seq: 0,
                                };
                                accepted.seq = entries.push(event(&SaleEvent::Quote(&accepted)));
                                seqs.push(accepted.seq);
                                let response = serde_json::to_string(&accepted).map_err($crate::store::sale::corrupt)?;
                                quote_rows.push((step.trade_id, q, response, accepted.seq));
                                answered.insert(
                                    (step.trade_id.to_owned(), q.identity_id.clone(), q.client_quote_id.clone()),
                                    accepted.clone(),
                                );
                                quote = Some(Ok(accepted));
                            }
                        }
                    }
                    if !seqs.is_empty() && matches!(sale.phase, $crate::domain::auction::Phase::Reserve { .. }) {
                        // Quoting just ended on a quote; with no reserve sealed before the
                        // start, there is nothing to open and the start price was the floor.
                        let sealed: Option<(String,)> =
                            sqlx::query_as("SELECT id FROM reserve_prices WHERE trade_id = $1")
                                .bind(step.trade_id)
                                .fetch_optional(&mut *tx)
                                .await?;
                        if sealed.is_none() {
                            sale.reveal_reserve(&$crate::domain::auction::Reserve::NotSealed);
                        }
                    }
                    if was_open {
                        seqs.extend(Self::close_in(&mut tx, &mut entries, step.trade_id, &sale, step.deposit, now, event).await?);
                    }
                    if let Some(last) = seqs.last() {
                        saved.insert(step.trade_id, (step.rules, *last));
                    }
                    sales.insert(step.trade_id.to_owned(), sale.clone());
                    stepped.push(Stepped { sale, quote, repeated: false, seqs });
                }
                if entries.is_empty() {
                    // Nothing happened (refused quotes, nothing due): nothing to write.
                    tx.rollback().await?;
                    return Ok(stepped);
                }
                Self::insert_quotes(&mut tx, &quote_rows, now).await?;
                self.write_made(&mut tx, &entries).await?;
                let mut states = Vec::with_capacity(saved.len());
                for (trade_id, (rules, seq)) in &saved {
                    let sale = sales.get(*trade_id).ok_or_else(|| $crate::store::sale::corrupt("a stepped sale went missing"))?;
                    states.push((*trade_id, sale, *rules, *seq));
                }
                Self::save_sales(&mut tx, &states).await?;
                self.commit(tx).await?;
                Ok(stepped)
            }

            async fn sale(
                &self,
                trade_id: &str,
            ) -> $crate::store::Result<Option<($crate::domain::auction::Sale, i64)>> {
                let row: Option<(String, i64)> =
                    sqlx::query_as("SELECT state, seq FROM live_sales WHERE trade_id = $1")
                        .bind(trade_id)
                        .fetch_optional(&self.pool)
                        .await?;
                row.map(|(s, seq)| {
                    serde_json::from_str(&s)
                        .map(|sale| (sale, seq))
                        .map_err($crate::store::sale::corrupt)
                })
                .transpose()
            }

            async fn quotes(
                &self,
                trade_id: &str,
            ) -> $crate::store::Result<Vec<$crate::domain::auction::Accepted>> {
                let rows: Vec<(String,)> =
                    sqlx::query_as("SELECT response FROM quotes WHERE trade_id = $1 ORDER BY seq")
                        .bind(trade_id)
                        .fetch_all(&self.pool)
                        .await?;
                rows.into_iter()
                    .map(|(r,)| serde_json::from_str(&r).map_err($crate::store::sale::corrupt))
                    .collect()
            }

            async fn sale_state(
                &self,
                trade_id: &str,
                retry: (&str, &str),
            ) -> $crate::store::Result<
                Option<($crate::store::sale::SaleState, Option<$crate::domain::auction::Accepted>)>,
            > {
                let row: Option<(String, Option<i64>, Option<i64>, Option<String>)> = sqlx::query_as(
                    "SELECT t.status, l.starts_at, l.ends_at, \
                     (SELECT response FROM quotes q WHERE q.trade_id = t.id AND q.identity_id = $2 AND q.client_quote_id = $3) \
                     FROM trades t LEFT JOIN trade_live_terms l ON l.trade_id = t.id WHERE t.id = $1",
                )
                .bind(trade_id)
                .bind(retry.0)
                .bind(retry.1)
                .fetch_optional(&self.pool)
                .await?;
                row.map(|(status, starts_at, ends_at, response)| {
                    let state = $crate::store::sale::SaleState {
                        status: $crate::domain::trade::TradeStatus::parse(&status)
                            .ok_or_else(|| $crate::store::sale::corrupt("trade status"))?,
                        starts_at: starts_at.map($crate::domain::clock::from_millis),
                        ends_at: ends_at.map($crate::domain::clock::from_millis),
                    };
                    let accepted = response
                        .map(|r| serde_json::from_str(&r).map_err($crate::store::sale::corrupt))
                        .transpose()?;
                    Ok((state, accepted))
                })
                .transpose()
            }

            async fn due_sales(
                &self,
                now: chrono::DateTime<chrono::Utc>,
                limit: usize,
            ) -> $crate::store::Result<Vec<$crate::store::sale::DueSale>> {
                let rows: Vec<(String, Option<i64>)> = sqlx::query_as(
                    "SELECT t.id, s.next_due_at FROM trades t \
                     JOIN trade_live_terms l ON l.trade_id = t.id \
                     LEFT JOIN live_sales s ON s.trade_id = t.id \
                     WHERE t.status = 'published' \
                     AND ((s.trade_id IS NULL AND l.starts_at <= $1) OR s.next_due_at <= $1) \
                     ORDER BY COALESCE(s.next_due_at, l.starts_at) LIMIT $2",
                )
                .bind(now.timestamp_millis())
                .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(trade_id, due)| $crate::store::sale::DueSale {
                        trade_id,
                        due: due.map($crate::domain::clock::from_millis),
                    })
                    .collect())
            }
        }
    };
}

pub(crate) use impl_sale_store;
