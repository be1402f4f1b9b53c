//! The quoting engine of live sales (ADR 0010): quotes from numbered bidders, period
//! ends fired by a timer loop, the close and its settlement. The rules are
//! `domain::auction`; steps run in store write transactions (`store::sale`), quotes
//! queued together sharing one (`quote_writer`, ADR 0023).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{event, Caller, EngineError, Platform, Result};
use crate::domain::auction::{Accepted, Format, Phase, QuoteError, Rules, Sale, SaleResult};
use crate::domain::clock::rfc3339;
use crate::domain::identity::Role;
use crate::domain::money::Money;
use crate::domain::trade::Trade;
use crate::store::sale::{QuoteIntake, SaleEvent, SaleStep, STEP_BATCH};

/// Longest client quote id.
pub const MAX_CLIENT_QUOTE_ID: usize = 64;

/// How often the timer loop looks for period ends due.
pub const TIMER_TICK: std::time::Duration = std::time::Duration::from_millis(200);

/// How many due sales the timer loop reads at a time, to fire in batches of
/// [`STEP_BATCH`].
const DUE_READ: usize = 10 * STEP_BATCH;

/// What a bidder sends to quote.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewQuote {
    /// The bidder's own id for this quote: a retry with the same id gets the first answer.
    pub client_quote_id: String,
    pub amount: Money,
}

/// The answer to an accepted quote.
#[derive(Debug, Clone, Serialize)]
pub struct QuoteAnswer {
    #[serde(flatten)]
    pub accepted: Accepted,
    /// Whether this answers a retry.
    pub repeated: bool,
    /// Milliseconds left on the countdown at the server's time of answering.
    pub remaining_ms: Option<i64>,
    #[serde(serialize_with = "crate::domain::clock::serde_rfc3339::serialize")]
    pub server_time: DateTime<Utc>,
}

/// A live sale as anyone may see it: numbers, never names.
#[derive(Debug, Clone, Serialize)]
pub struct SaleView {
    pub trade_id: String,
    /// The log entry of the sale's last step: the view is the sale as of it.
    pub seq: i64,
    pub suspended: bool,
    #[serde(flatten)]
    pub phase: Phase,
    pub rules: Rules,
    pub best: Option<BestView>,
    pub next_minimum: Money,
    pub remaining_ms: Option<i64>,
    pub quotes: Vec<Accepted>,
    pub result: Option<SaleResult>,
    /// What the opening of a sealed reserve found, once the close revealed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reserve: Option<crate::domain::auction::Reserve>,
    #[serde(serialize_with = "crate::domain::clock::serde_rfc3339::serialize")]
    pub server_time: DateTime<Utc>,
}

/// The caller's place in a sale, for the live room.
#[derive(Debug, Clone, Serialize)]
pub struct Standing {
    pub bidder_number: String,
    /// Whether the caller holds the best quote.
    pub best: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct BestView {
    pub bidder_number: String,
    pub amount: Money,
}

/// The best accepted quote of each sale this process has seen. A sale's best only
/// rises, so a quote at or below a known best is refused here without the write
/// transaction that would refuse it anyway: a hot auction's many losing quotes do not queue
/// for the writer. Stale (another instance accepted more since) only means less is
/// refused early.
#[derive(Debug, Default)]
pub struct KnownBests(std::sync::Mutex<std::collections::HashMap<String, Money>>);

impl KnownBests {
    fn get(&self, trade_id: &str) -> Option<Money> {
        self.0.lock().ok()?.get(trade_id).copied()
    }

    fn raise(&self, trade_id: &str, amount: Money) {
        if let Ok(mut bests) = self.0.lock() {
            let best = bests.entry(trade_id.to_owned()).or_insert(amount);
            *best = (*best).max(amount);
        }
    }
}

/// What the quote path would otherwise read from the store for every quote, kept in this
/// process: a live trade, used only while its status and its sale's start and end are
/// what one small read finds now (a suspension or a resume changes them), and each
/// bidder's number, which never changes once drawn. A hot auction's quotes then cost
/// two reads before the decision instead of six.
#[derive(Debug, Default)]
pub struct QuotingCache {
    trades: std::sync::Mutex<std::collections::HashMap<String, Arc<Trade>>>,
    numbers: std::sync::Mutex<std::collections::HashMap<(String, String), String>>,
}

impl QuotingCache {
    fn trade(&self, id: &str) -> Option<Arc<Trade>> {
        self.trades.lock().ok()?.get(id).cloned()
    }

    fn keep_trade(&self, trade: Arc<Trade>) {
        if let Ok(mut trades) = self.trades.lock() {
            trades.insert(trade.id.clone(), trade);
        }
    }

    fn number(&self, trade_id: &str, usci: &str) -> Option<String> {
        self.numbers
            .lock()
            .ok()?
            .get(&(trade_id.to_owned(), usci.to_owned()))
            .cloned()
    }

    fn keep_number(&self, trade_id: &str, usci: &str, number: &str) {
        if let Ok(mut numbers) = self.numbers.lock() {
            numbers.insert((trade_id.to_owned(), usci.to_owned()), number.to_owned());
        }
    }
}

fn quote_refused(e: &QuoteError) -> EngineError {
    match e {
        QuoteError::NotMultiple(_) | QuoteError::BelowStart(_) => {
            EngineError::invalid(e.code(), e.to_string())
        }
        _ => EngineError::conflict(e.code(), e.to_string()),
    }
}

fn remaining(sale: &Sale, now: DateTime<Utc>) -> Option<i64> {
    sale.deadline().map(|d| (d - now).num_milliseconds().max(0))
}

/// Builds the log entries of a sale's steps. `opening` (the reserve's signed record,
/// by digest and signature) goes into the close's entry when the reserve decided it.
pub(crate) fn sale_events<'a>(
    caller: &'a Caller,
    trade_id: &'a str,
    rules: &Rules,
    opening: Option<serde_json::Value>,
) -> impl Fn(&SaleEvent<'_>) -> crate::domain::event::NewEvent + Send + Sync + 'a {
    let disclosure = rules.format == Format::Disclosure;
    let logged_rules = serde_json::to_value(rules).unwrap_or_default();
    move |e: &SaleEvent<'_>| match e {
        SaleEvent::Period(t, numbered) => {
            // Each period end states the rules it ran on, and at a disclosure's end
            // the numbered buyers: what replay needs.
            let mut data = serde_json::json!({
                "due": rfc3339(t.due), "to": t.to, "rules": logged_rules,
            });
            if disclosure {
                data["numbered"] = serde_json::json!(numbered);
            }
            event(caller, "sale.period", Some(trade_id), data, vec![])
        }
        SaleEvent::Quote(a) => event(
            caller,
            "sale.quote",
            Some(trade_id),
            serde_json::json!({
                "quote": a.quote_id,
                "bidder_number": a.bidder_number,
                "amount": a.amount,
                "at": rfc3339(a.at),
                "deadline": a.deadline.map(rfc3339),
            }),
            vec![],
        ),
        SaleEvent::Closed(result, refunds, reserve) => {
            let mut data = serde_json::json!({ "result": result, "deposits_released": refunds });
            if let Some(reserve) = reserve {
                data["reserve"] = serde_json::json!(reserve);
            }
            if let Some(opening) = &opening {
                data["opening"] = opening.clone();
            }
            event(caller, "sale.closed", Some(trade_id), data, vec![])
        }
    }
}

/// Runs `steps` in one write transaction, or one by one if that fails, so one failing
/// step does not fail the others: an answer for each, in order. `what` names them in the
/// warning.
pub(crate) async fn step_together_or_each(
    store: &dyn crate::store::Store,
    steps: &[SaleStep<'_>],
    what: &str,
) -> Vec<crate::store::Result<crate::store::sale::Stepped>> {
    match store.step_sales(steps).await {
        Ok(stepped) => stepped.into_iter().map(Ok).collect(),
        Err(e) if steps.len() > 1 => {
            tracing::warn!(error = %e, steps = steps.len(), "a batch of {what} failed: stepping them one by one");
            let mut one_by_one = Vec::with_capacity(steps.len());
            for step in steps {
                one_by_one.push(store.step_sale(*step).await);
            }
            one_by_one
        }
        Err(e) => vec![Err(e)],
    }
}

impl Platform {
    /// The rules a live trade's sale runs on: its terms and its rulebook entry.
    pub(crate) fn sale_rules(&self, trade: &Trade) -> Result<Rules> {
        let live = trade.terms.live.as_ref().ok_or_else(|| {
            EngineError::conflict("wrong_engine", "this trade is a tender: it takes no quotes")
        })?;
        let procedure = self
            .rulebook
            .procedure(&trade.terms.kind, &trade.terms.procedure)
            .ok_or_else(|| {
                EngineError::conflict(
                    "unknown_procedure",
                    "the trade's procedure is not in the rulebook the server runs",
                )
            })?;
        let format = Format::of_procedure(&procedure.procedure).ok_or_else(|| {
            EngineError::conflict("wrong_engine", "this procedure has no quoting format")
        })?;
        let rule = |r: &Option<crate::domain::rulebook::Rule>| r.as_ref().map_or(0, |r| r.value);
        let scale = i64::from(trade.time_scale.max(1));
        Ok(Rules {
            format,
            start_price: live.start_price,
            increment: live.increment,
            starts_at: live.starts_at,
            ends_at: live.ends_at,
            countdown_seconds: live
                .countdown_seconds
                .map_or_else(|| rule(&procedure.rules.countdown_seconds), i64::from),
            // A demo trade's periods are shortened by its time scale, like its days.
            freeze_seconds: rule(&procedure.rules.freeze_minutes) * 60 / scale,
            free_quote_seconds: rule(&procedure.rules.free_quote_minutes) * 60 / scale,
            min_bidders_for_timed: usize::try_from(rule(&procedure.rules.min_bidders_for_timed))
                .unwrap_or(2),
            reserve_sealed: procedure
                .reserve_price
                .as_ref()
                .is_some_and(|r| r.policy == crate::domain::rulebook::ReservePolicy::Sealed),
        })
    }

    /// What follows a step that closed a sale (its last entry is `sale.closed`): the
    /// risk rules across sales. A failure there is logged; the close stands.
    pub(crate) async fn after_close(&self, trade: &Trade, seqs: &[i64]) {
        let Some(closed) = seqs.last() else {
            return;
        };
        if let Err(e) = self.check_closed_sale(trade, *closed).await {
            tracing::warn!(trade.id = %trade.id, error = %e, "risk rules after the close");
        }
    }

    /// A numbered bidder quotes. The server's order of receipt decides; the answer says
    /// the quote became best, the next minimum, and the countdown.
    /// Refusals are answers, not failures: they are not logged as errors.
    #[tracing::instrument(skip_all, fields(trade.id = %trade_id))]
    pub async fn quote(
        &self,
        caller: &Caller,
        trade_id: &str,
        new: NewQuote,
    ) -> Result<QuoteAnswer> {
        let bidder = caller.require(Role::Bidder)?;
        let id = new.client_quote_id.trim();
        if id.is_empty()
            || id.len() > MAX_CLIENT_QUOTE_ID
            || !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(EngineError::invalid(
                "invalid_client_quote_id",
                "client_quote_id must be 1 to 64 letters, digits, - or _",
            ));
        }
        // The best known before the retry is looked up: a quote at or below it cannot be
        // accepted after the lookup, so the lookup has the answer to any retry of it.
        let known_best = self.known_bests.get(trade_id);
        let (trade, retried) = self.quoting_trade(trade_id, (&bidder.id, id)).await?;
        super::interventions::require_active(&trade)?;
        let number = self.bidder_number(&trade.id, bidder.usci.as_str()).await?;
        let intake = QuoteIntake {
            id: uuid::Uuid::now_v7().to_string(),
            identity_id: bidder.id.clone(),
            client_quote_id: id.to_owned(),
            bidder_number: number,
            amount: new.amount,
        };
        let rules = self.sale_rules(&trade)?;
        let open = trade.status == crate::domain::trade::TradeStatus::Published;
        if let Some(best) = known_best.filter(|b| open && new.amount <= *b) {
            // Certainly refused, unless it is the retry of a quote accepted before.
            if let Some(accepted) = retried {
                return Ok(self.answer(accepted, true));
            }
            let refusal = if new.amount == best {
                QuoteError::PriceTaken(best)
            } else {
                QuoteError::BelowIncrement(
                    Money::new(best.minor_units() + rules.increment.minor_units()).unwrap_or(best),
                )
            };
            return Err(quote_refused(&refusal));
        }
        let stepped = self
            .quote_writer
            .write(&self.store, caller, Arc::clone(&trade), rules, intake)
            .await?;
        if stepped.sale.result.is_some() {
            self.after_close(&trade, &stepped.seqs).await;
        }
        if let Some(best) = stepped.sale.best.as_ref() {
            self.known_bests.raise(&trade.id, best.amount);
        }
        match stepped.quote {
            Some(Ok(accepted)) => Ok(self.answer(accepted, stepped.repeated)),
            Some(Err(e)) => Err(quote_refused(&e)),
            None => Err(EngineError::conflict(
                "quoting_closed",
                "quoting has closed (server time)",
            )),
        }
    }

    /// The live trade a quote is for: the kept copy while its status and sale instants
    /// are unchanged, else read afresh (see [`QuotingCache`]); and, read with them, the
    /// answer to `retry` (identity, client quote id) if that quote was accepted.
    async fn quoting_trade(
        &self,
        trade_id: &str,
        retry: (&str, &str),
    ) -> Result<(Arc<Trade>, Option<Accepted>)> {
        let Some((state, retried)) = self.store.sale_state(trade_id, retry).await? else {
            return Err(super::trades::trade_not_found());
        };
        if let Some(kept) = self.quoting_cache.trade(trade_id) {
            let live = kept.terms.live.as_ref();
            if kept.status == state.status
                && live.map(|l| l.starts_at) == state.starts_at
                && live.and_then(|l| l.ends_at) == state.ends_at
            {
                return Ok((kept, retried));
            }
        }
        let trade = Arc::new(self.live_trade(trade_id).await?);
        self.quoting_cache.keep_trade(Arc::clone(&trade));
        Ok((trade, retried))
    }

    /// The bidder number of the organisation `usci` in a sale.
    async fn bidder_number(&self, trade_id: &str, usci: &str) -> Result<String> {
        if let Some(number) = self.quoting_cache.number(trade_id, usci) {
            return Ok(number);
        }
        let number = self
            .store
            .application_of(trade_id, usci)
            .await?
            .and_then(|a| a.bidder_number)
            .ok_or_else(|| {
                EngineError::conflict(
                    "no_bidder_number",
                    "only a qualified bidder whose deposit is confirmed has a bidder number and may quote",
                )
            })?;
        self.quoting_cache.keep_number(trade_id, usci, &number);
        Ok(number)
    }

    fn answer(&self, accepted: Accepted, repeated: bool) -> QuoteAnswer {
        let now = self.clock.now();
        QuoteAnswer {
            remaining_ms: accepted
                .deadline
                .map(|d| (d - now).num_milliseconds().max(0)),
            accepted,
            repeated,
            server_time: now,
        }
    }

    /// Fires every sale period end due by now (listing ends, freezes, countdowns), once
    /// each, [`STEP_BATCH`] sales to a write transaction. Returns how many sales moved.
    ///
    /// The next batch's trades are read while one batch is written. Each instance takes
    /// the batches of what is due from its own starting point, so several instances
    /// mostly step different sales; one that finds a sale already stepped (its state is
    /// re-read under the log lock) does nothing to it.
    pub async fn fire_due_sales(&self) -> Result<usize> {
        let mut moved = 0;
        loop {
            let due = self.store.due_sales(self.clock.now(), DUE_READ).await?;
            let ids: Vec<&str> = due.iter().map(|d| d.trade_id.as_str()).collect();
            let mut batches: Vec<&[&str]> = ids.chunks(STEP_BATCH).collect();
            if !batches.is_empty() {
                // A random id: its first 32 bits pick this instance's starting batch.
                let id = self.openings.instance_id();
                let turn = usize::from_str_radix(id.get(..8).unwrap_or_default(), 16).unwrap_or(0);
                let n = batches.len();
                batches.rotate_left(turn % n);
            }
            let mut batches = batches.into_iter();
            let Some(first) = batches.next() else {
                return Ok(moved);
            };
            let mut trades = self.store.trades(first).await?;
            let mut fired = 0;
            loop {
                let next = batches.next();
                let (stepped, loaded) = tokio::join!(self.fire(&trades), async {
                    match next {
                        Some(ids) => self.store.trades(ids).await.map(Some),
                        None => Ok(None),
                    }
                });
                fired += stepped;
                match loaded? {
                    Some(next) => trades = next,
                    None => break,
                }
            }
            moved += fired;
            // A full read may have more behind it; a round that moved nothing would only
            // find the same sales again (their failures are logged).
            if due.len() < DUE_READ || fired == 0 {
                return Ok(moved);
            }
        }
    }

    /// Steps these sales in one write transaction, or one by one if that fails, so one
    /// failing sale does not hold back the others. Returns how many moved.
    async fn fire(&self, trades: &[Trade]) -> usize {
        let caller = Caller::default();
        let mut ruled = Vec::with_capacity(trades.len());
        for trade in trades {
            match self.sale_rules(trade) {
                Ok(rules) => ruled.push((trade, rules)),
                Err(e) => tracing::error!(trade.id = %trade.id, error = %e, "sale timer"),
            }
        }
        let builds: Vec<_> = ruled
            .iter()
            .map(|(trade, rules)| sale_events(&caller, &trade.id, rules, None))
            .collect();
        let steps: Vec<SaleStep<'_>> = ruled
            .iter()
            .zip(&builds)
            .map(|((trade, rules), build)| SaleStep {
                trade_id: &trade.id,
                rules,
                deposit: trade.terms.bond_amount,
                quote: None,
                event: build,
            })
            .collect();
        let stepped = step_together_or_each(&*self.store, &steps, "sale timers").await;
        let mut moved = 0;
        for ((trade, _), stepped) in ruled.iter().zip(stepped) {
            match stepped {
                Ok(s) if !s.seqs.is_empty() => {
                    moved += 1;
                    if s.sale.result.is_some() {
                        self.after_close(trade, &s.seqs).await;
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::error!(trade.id = %trade.id, error = %e, "sale timer"),
            }
        }
        moved
    }

    /// Starts the loop that fires sale timers every [`TIMER_TICK`]. It stops when the
    /// platform is dropped.
    pub fn start_sale_timers(self: &Arc<Self>) {
        let platform = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(TIMER_TICK);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(p) = platform.upgrade() else { return };
                if let Err(e) = p.fire_due_sales().await {
                    tracing::warn!(error = %e, "sale timers");
                }
            }
        });
    }

    /// The caller's bidder number in a sale and whether it holds the best quote; `None`
    /// for anyone without a number.
    pub async fn standing(&self, caller: &Caller, view: &SaleView) -> Result<Option<Standing>> {
        let Some(bidder) = caller.identity.as_ref().filter(|i| i.acts_as(Role::Bidder)) else {
            return Ok(None);
        };
        let number = self
            .store
            .application_of(&view.trade_id, bidder.usci.as_str())
            .await?
            .and_then(|a| a.bidder_number);
        Ok(number.map(|n| Standing {
            best: view.best.as_ref().is_some_and(|b| b.bidder_number == n),
            bidder_number: n,
        }))
    }

    /// A live sale as the public sees it: phase, best quote and countdown under bidder
    /// numbers, the quote history, and the result.
    pub async fn sale_view(&self, trade_id: &str) -> Result<SaleView> {
        let trade = self.live_trade(trade_id).await?;
        let rules = self.sale_rules(&trade)?;
        let now = self.clock.now();
        // As stored: a period end due fires within a tick of the timer loop, and the
        // countdown shown never goes below zero.
        let (sale, seq) = self.store.sale(trade_id).await?.unwrap_or_default();
        let mut quotes = self.store.quotes(trade_id).await?;
        quotes.retain(|q| q.seq <= seq);
        Ok(SaleView {
            trade_id: trade.id,
            seq,
            suspended: trade.status == crate::domain::trade::TradeStatus::Suspended,
            remaining_ms: remaining(&sale, now),
            next_minimum: sale.minimum(&rules),
            best: sale.best.as_ref().map(|b| BestView {
                bidder_number: b.bidder_number.clone(),
                amount: b.amount,
            }),
            phase: sale.phase,
            rules,
            quotes,
            result: sale.result,
            reserve: sale.reserve,
            server_time: now,
        })
    }
}
