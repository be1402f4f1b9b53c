//! `tradehall bench auction`: one hot auction. Numbered bidders quote over HTTP at a
//! fixed total rate, each on its own connection, while watchers follow the live room over
//! WebSocket in a child process (`bench feed-subscribers --room`). It measures the quotes
//! processed and accepted per second, the quote acknowledgement latency, the broadcast
//! delay to the watchers, memory, and, in the same run, the single-writer ceiling: the
//! same quotes through the engine from one task, without HTTP. It then checks that the
//! accepted quotes are stored in strictly increasing order and that every acknowledged
//! quote is stored.

use anyhow::{bail, Context as _};
use serde_json::{json, Value};
use std::io::BufRead as _;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::raw_http::RawHttp;
use super::{peak_rss_mib, quantile_ms, Bidder, World};
use crate::crypto::bank_signature;
use crate::domain::clock::{rfc3339, Clock as _};
use crate::domain::identity::Role;
use crate::domain::money::{Currency, Money};
use crate::domain::region::RegionCode;
use crate::domain::trade::{LiveTerms, Lot, OpeningCommittee, Principal, TradeTerms};
use crate::domain::usci::Usci;
use crate::engine::{Caller, NewApplication, NewQuote, NewTrade, SignedNotification};
use crate::server::DEV_BANK;

#[derive(Debug, Clone, clap::Args)]
pub struct AuctionOptions {
    /// Bidders quoting, each on its own HTTP connection.
    #[arg(long, default_value_t = 1_000)]
    pub bidders: u32,
    /// Watchers connected to the live room.
    #[arg(long, default_value_t = 5_000)]
    pub watchers: u32,
    /// Quotes per second offered by all bidders together, spread evenly: each bidder
    /// quotes every `bidders / rate` seconds.
    #[arg(long, default_value_t = 1_000)]
    pub rate: u32,
    /// Seconds of quoting.
    #[arg(long, default_value_t = 10)]
    pub seconds: u32,
    /// Run on PostgreSQL: a throwaway database is created from this URL (one the user
    /// may CREATE DATABASE from) and dropped after. SQLite when absent.
    #[arg(long)]
    pub postgres: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct AuctionReport {
    pub backend: &'static str,
    pub bidders: u32,
    pub watchers: u32,
    /// Quotes per second offered.
    pub rate: u32,
    pub seconds: f64,
    /// Quotes answered (accepted or refused): each is judged inside a write transaction.
    pub quotes_processed: u64,
    pub quotes_accepted: u64,
    pub processed_per_second: f64,
    pub accepted_per_second: f64,
    pub ack_p50_ms: f64,
    pub ack_p99_ms: f64,
    /// Room messages delivered to watchers, and their delay from the entry's time.
    pub broadcast_messages: u64,
    pub broadcast_p50_ms: f64,
    pub broadcast_p99_ms: f64,
    pub broadcast_repeats: u64,
    /// Accepted quotes are stored in strictly increasing amounts in log order.
    pub strictly_ordered: bool,
    /// Every acknowledged quote is in the store.
    pub acknowledged_stored: bool,
    /// Accepted quotes per second through the engine from one task, no HTTP.
    pub single_writer_quotes_per_second: f64,
    /// `accepted_per_second` / `single_writer_quotes_per_second`.
    pub ratio_to_single_writer: f64,
    /// This process: the server and the bidders' HTTP clients.
    pub server_peak_rss_mib: f64,
    pub watchers_peak_rss_mib: f64,
    pub setup_seconds: f64,
}

/// Deposit, start price and increment of the bench auction, in 分.
const DEPOSIT: i64 = 1_000_000;
const START: i64 = 100_000_000;
const STEP: i64 = 10_000;

/// A published land auction starting in 21 days, its application cut-off an hour
/// before; returns its id and the officer.
pub(super) async fn auction(world: &World, title: &str) -> anyhow::Result<(String, Caller)> {
    let (officer, _) = world.member(Role::TradingCentre).await?;
    let officer = Caller {
        identity: Some(officer),
        ..Caller::default()
    };
    let starts_at = world.now() + chrono::Duration::days(21);
    let terms = TradeTerms {
        kind: "land_use_right".into(),
        procedure: "auction".into(),
        title: title.into(),
        principal: Principal {
            name: "bench 出让人".into(),
            usci: Usci::complete("11650100MB0BEN001")?,
        },
        estimated_value: Money::new(START)?,
        currency: Currency::Cny,
        lots: vec![Lot {
            id: "1".into(),
            title: "bench 地块".into(),
            estimated_value: Money::new(START)?,
        }],
        region_code: RegionCode::parse("650100")?,
        bid_deadline: starts_at - chrono::Duration::hours(1),
        bond_amount: Money::new(DEPOSIT)?,
        committee: OpeningCommittee {
            custodians: world.custodian_ids.clone(),
            threshold: 2,
            suite: Default::default(),
        },
        live: Some(LiveTerms {
            start_price: Money::new(START)?,
            increment: Money::new(STEP)?,
            starts_at,
            ends_at: None,
            countdown_seconds: None,
        }),
        evaluation: None,
        retender_of: None,
        announcement: None,
        invited: Vec::new(),
        previous_round: None,
    };
    let view = world
        .platform
        .create_trade(
            &officer,
            NewTrade {
                terms,
                time_scale: None,
            },
        )
        .await?;
    let id = view.trade.id.clone();
    world
        .platform
        .add_document(&officer, &id, "出让文件.txt", "text/plain", b"bench")
        .await?;
    world.platform.publish_trade(&officer, &id).await?;
    Ok((id, officer))
}

/// Applies, qualifies and pays for each bidder: each gets a bidder number.
async fn number(
    world: &World,
    officer: &Caller,
    trade: &str,
    bidders: &[Bidder],
) -> anyhow::Result<()> {
    let secret = world
        .platform
        .settings
        .bank_secrets
        .get(DEV_BANK)
        .context("the bench server has no DEV ONLY bank")?
        .to_vec();
    for (i, b) in bidders.iter().enumerate() {
        let account = format!("6222{:015}", i + 1);
        let application = world
            .platform
            .apply(
                &b.caller(),
                trade,
                NewApplication {
                    payer_account: account.clone(),
                    payer_name: b.identity.organization.clone(),
                },
            )
            .await?;
        world
            .platform
            .decide_application(officer, &application.id, true, None)
            .await?;
        let body = serde_json::to_vec(&json!({
            "bank_txn_id": format!("BENCH-{trade}-{i}"),
            "kind": "deposit",
            "trade": trade,
            "payer_account": account,
            "payer_name": b.identity.organization,
            "amount": DEPOSIT,
            "booked_at": rfc3339(world.now()),
        }))?;
        let timestamp = world.now().timestamp().to_string();
        let signature = bank_signature::sign(&secret, &timestamp, &body);
        let record = world
            .platform
            .bank_notification(
                &Caller::default(),
                SignedNotification {
                    bank_id: DEV_BANK,
                    timestamp: &timestamp,
                    signature: &signature,
                    body: &body,
                },
            )
            .await?;
        if record.outcome != "deposit_confirmed" {
            bail!("a bench deposit was not confirmed: {}", record.outcome);
        }
    }
    Ok(())
}

/// What one bidder's connection did.
#[derive(Default)]
struct Quoted {
    processed: u64,
    /// Acknowledged quotes: id and amount.
    accepted: Vec<(String, i64)>,
    acks: Vec<Duration>,
}

/// One bidder on its own keep-alive connection (raw HTTP/1.1, as light a client as the
/// bench can have: it shares the cores with the server): a quote every `every`, starting
/// at `first`, until `stop`.
async fn quote_loop(
    (base, path): (String, String),
    token: String,
    best: Arc<AtomicI64>,
    stop: Arc<AtomicBool>,
    me: usize,
    (first, every): (Duration, Duration),
) -> anyhow::Result<Quoted> {
    let mut http = RawHttp::connect(&base).await?;
    let mut out = Quoted::default();
    let mut n = 0_u64;
    let mut slot = tokio::time::Instant::now() + first;
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep_until(slot).await;
        slot += every;
        // A little above the best this bidder knows of: 1 to 3 increments.
        let steps = 1 + i64::try_from((me as u64 + n) % 3).unwrap_or(0);
        let amount = best.load(Ordering::Relaxed) + steps * STEP;
        n += 1;
        let body = format!(r#"{{"client_quote_id":"b{me}-{n}","amount":{amount}}}"#);
        let sent = Instant::now();
        let (status, answer) = http.post_json(&path, &token, body.as_bytes()).await?;
        out.acks.push(sent.elapsed());
        out.processed += 1;
        let answer: Value = serde_json::from_slice(answer).unwrap_or(Value::Null);
        if (200..300).contains(&status) {
            best.fetch_max(amount, Ordering::Relaxed);
            out.accepted.push((
                answer["quote_id"].as_str().unwrap_or_default().to_owned(),
                amount,
            ));
        } else if !matches!(
            answer["error"]["code"].as_str(),
            Some("quote_price_taken" | "quote_below_increment" | "quote_already_best")
        ) {
            bail!("a bench quote was refused: {status} {answer}");
        }
    }
    Ok(out)
}

/// Keeps the bench's manual clock on real time plus `offset` until `stop`.
fn follow_real_time(world: &World, offset: chrono::Duration, stop: Arc<AtomicBool>) {
    let clock = world.clock.clone();
    tokio::spawn(async move {
        while !stop.load(Ordering::Relaxed) {
            clock.set(chrono::Utc::now() + offset);
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    });
}

/// Quotes through the engine from one task for `seconds`: the single-writer ceiling.
async fn single_writer(world: &World, seconds: f64) -> anyhow::Result<f64> {
    let (trade, officer) = auction(world, "bench auction (single writer)").await?;
    let pair = world.bidders(2).await?;
    number(world, &officer, &trade, &pair).await?;
    world
        .clock
        .set(world.now() + chrono::Duration::days(21) + chrono::Duration::seconds(1));
    let started = Instant::now();
    let mut accepted = 0_u64;
    let mut amount = START;
    while started.elapsed().as_secs_f64() < seconds {
        let b = &pair[usize::try_from(accepted % 2).unwrap_or(0)];
        world
            .platform
            .quote(
                &b.caller(),
                &trade,
                NewQuote {
                    client_quote_id: format!("w{accepted}"),
                    amount: Money::new(amount)?,
                },
            )
            .await?;
        accepted += 1;
        amount += STEP;
    }
    Ok(accepted as f64 / started.elapsed().as_secs_f64())
}

pub async fn run(options: &AuctionOptions) -> anyhow::Result<AuctionReport> {
    let setup = Instant::now();
    let pg = match &options.postgres {
        Some(url) => Some(super::pg::ThrowawayPg::create(url).await?),
        None => None,
    };
    let world = World::on(1024 * 1024, pg.as_ref().map(|p| p.url.clone())).await?;
    let (trade, officer) = auction(&world, "bench auction").await?;
    let bidders = world.bidders(options.bidders as usize).await?;
    number(&world, &officer, &trade, &bidders).await?;
    // The auction starts; from here the server's clock runs with real time.
    let started_at = world.now() + chrono::Duration::days(21);
    let offset = started_at - chrono::Utc::now();
    let stop_clock = Arc::new(AtomicBool::new(false));
    follow_real_time(&world, offset, stop_clock.clone());
    tokio::time::sleep(Duration::from_millis(10)).await;
    let mut tokens = Vec::with_capacity(bidders.len());
    for b in &bidders {
        tokens.push(world.token(&b.issued).await?);
    }
    let head = world.platform.store.log_size().await?;
    let url = format!(
        "{}/api/v1/trades/{trade}/live?after={head}",
        world.base.replacen("http", "ws", 1)
    );
    let mut child = Command::new(std::env::current_exe()?)
        .args(["bench", "feed-subscribers", "--room", "--url", &url])
        .args(["--subscribers", &options.watchers.to_string()])
        .args(["--offset-ms", &offset.num_milliseconds().to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting the watcher process")?;
    let child_pid = child.id();
    let stdout = child.stdout.take().context("no watcher stdout")?;
    let (lines_tx, mut lines) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if lines_tx.send(line).is_err() {
                return;
            }
        }
    });
    match lines.recv().await.as_deref() {
        Some("connected") => {}
        other => bail!("the watchers did not connect: {other:?}"),
    }
    let setup_seconds = setup.elapsed().as_secs_f64();

    let best = Arc::new(AtomicI64::new(START - STEP));
    let stop = Arc::new(AtomicBool::new(false));
    let quote_path = format!("/api/v1/trades/{trade}/quotes");
    let quoting = Instant::now();
    let every =
        Duration::from_secs_f64(f64::from(options.bidders) / f64::from(options.rate.max(1)));
    let mut tasks = Vec::new();
    for (me, token) in tokens.into_iter().enumerate() {
        let first = every.mul_f64(me as f64 / f64::from(options.bidders.max(1)));
        tasks.push(tokio::spawn(quote_loop(
            (world.base.clone(), quote_path.clone()),
            token,
            best.clone(),
            stop.clone(),
            me,
            (first, every),
        )));
    }
    tokio::time::sleep(Duration::from_secs(u64::from(options.seconds))).await;
    // Sampled while the watchers still run: they exit as soon as they have reported.
    let mut watchers_rss = peak_rss_mib(child_pid).unwrap_or(0.0);
    stop.store(true, Ordering::Relaxed);
    let mut processed = 0;
    let mut accepted = Vec::new();
    let mut acks = Vec::new();
    for t in tasks {
        let q = t.await??;
        processed += q.processed;
        accepted.extend(q.accepted);
        acks.extend(q.acks);
    }
    let seconds = quoting.elapsed().as_secs_f64();
    acks.sort_unstable();

    // The countdown runs out: the close reaches every watcher and ends its count.
    stop_clock.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(10)).await;
    world
        .clock
        .set(world.clock.now() + chrono::Duration::seconds(3_600));
    world.platform.fire_due_sales().await?;
    let received = loop {
        if let Some(rss) = peak_rss_mib(child_pid) {
            watchers_rss = watchers_rss.max(rss);
        }
        match tokio::time::timeout(Duration::from_millis(200), lines.recv()).await {
            Ok(Some(line)) => break serde_json::from_str::<super::feed::Received>(&line)?,
            Ok(None) => bail!("the watcher process ended without a report"),
            Err(_) => {}
        }
    };
    let _ = child.wait();

    let stored = world.platform.store.quotes(&trade).await?;
    let strictly_ordered = stored.windows(2).all(|w| w[0].amount < w[1].amount);
    let ids: std::collections::HashSet<&str> = stored.iter().map(|q| q.quote_id.as_str()).collect();
    let acknowledged_stored =
        stored.len() == accepted.len() && accepted.iter().all(|(id, _)| ids.contains(id.as_str()));
    let ceiling = single_writer(&world, 3.0).await?;
    let accepted_per_second = accepted.len() as f64 / seconds;
    drop(pg);
    Ok(AuctionReport {
        backend: if options.postgres.is_some() {
            "postgres"
        } else {
            "sqlite"
        },
        bidders: options.bidders,
        watchers: options.watchers,
        rate: options.rate,
        seconds,
        quotes_processed: processed,
        quotes_accepted: accepted.len() as u64,
        processed_per_second: processed as f64 / seconds,
        accepted_per_second,
        ack_p50_ms: quantile_ms(&acks, 0.50),
        ack_p99_ms: quantile_ms(&acks, 0.99),
        broadcast_messages: received.messages,
        broadcast_p50_ms: super::feed::quantile(&received.histogram, 0.50),
        broadcast_p99_ms: super::feed::quantile(&received.histogram, 0.99),
        broadcast_repeats: received.repeats,
        strictly_ordered,
        acknowledged_stored,
        single_writer_quotes_per_second: ceiling,
        ratio_to_single_writer: accepted_per_second / ceiling.max(1e-9),
        server_peak_rss_mib: peak_rss_mib(std::process::id()).unwrap_or(0.0),
        watchers_peak_rss_mib: watchers_rss,
        setup_seconds,
    })
}
