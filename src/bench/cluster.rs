//! `tradehall bench cluster`: one, two and three instances on one PostgreSQL database in
//! the same run (issue 8, docs/adr/0018). Concurrent clients submit sealed bids spread
//! over the instances. Each instance's feed has one subscriber, so every bid is also
//! measured from its acknowledgement to its delivery on every instance's feed, the others'
//! included. Every feed must be whole (no gap, no duplicate).
//!
//! The instances run in this process: separate pools, listeners, feed hubs and timers on
//! one database. That is what the database sees from separate machines, but here they
//! share two cores with the clients. What this machine can and cannot show is in
//! docs/benchmarks.md.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;

use super::{quantile_ms, World};

/// What to run.
#[derive(Debug, Clone, clap::Args)]
pub struct ClusterOptions {
    /// The PostgreSQL server to make a throwaway database on, per run.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pub postgres: String,
    /// The instance counts to compare, in this order, in one run.
    #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
    pub instances: Vec<usize>,
    /// Accepted bids to submit per run.
    #[arg(long, default_value_t = 3_000)]
    pub bids: usize,
    /// Concurrent clients, spread over the instances.
    #[arg(long, default_value_t = 32)]
    pub clients: usize,
    /// Size of the attached file in each bid, KiB.
    #[arg(long, default_value_t = 8)]
    pub payload_kib: usize,
    /// Sale timers due at one instant, fired by each instance count (0: skip).
    #[arg(long, default_value_t = 10_000)]
    pub timers: usize,
}

/// Timers due at one instant, fired by a number of instances.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TimerRun {
    pub instances: usize,
    pub timers: usize,
    /// From the instant they were due to the last one fired.
    pub seconds: f64,
    pub fired_per_second: f64,
    /// Sale steps logged more than once for one trade (must be 0).
    pub fired_twice: i64,
}

/// One run with a number of instances.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ClusterRun {
    pub instances: usize,
    pub accepted: usize,
    pub refused: usize,
    pub seconds: f64,
    pub bids_per_second: f64,
    pub ack_p50_ms: f64,
    pub ack_p99_ms: f64,
    /// From a bid's acknowledgement to its arrival on each instance's feed (0 if the
    /// feed was first).
    pub feed_p50_ms: f64,
    pub feed_p99_ms: f64,
    /// The same, counting only the feeds of instances other than the one that took the
    /// bid.
    pub feed_other_instance_p99_ms: f64,
    /// Entries every feed delivered, and feeds with a gap or a duplicate (must be 0).
    pub feed_entries: usize,
    pub feeds_not_whole: usize,
}

/// The runs and each one's throughput relative to one instance.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ClusterReport {
    pub runs: Vec<ClusterRun>,
    /// bids/s of each run divided by bids/s of the one-instance run.
    pub throughput_ratio_to_one_instance: Vec<(usize, f64)>,
    pub timers: Vec<TimerRun>,
    pub cores: usize,
}

/// `timers` live sales (copies of one auction, made in SQL) start at the same instant;
/// the clock moves to it and `instances` instances fire them.
async fn timer_run(options: &ClusterOptions, instances: usize) -> anyhow::Result<TimerRun> {
    use sqlx::Connection as _;
    let pg = super::pg::ThrowawayPg::create(&options.postgres).await?;
    let world = World::on(1024 * 1024, Some(pg.url.clone())).await?;
    let mut others = Vec::new();
    for _ in 1..instances.max(1) {
        others.push(world.another_instance().await?);
    }
    let (template, _) = super::auction::auction(&world, "bench 定时器").await?;
    let mut db = sqlx::PgConnection::connect(&pg.url).await?;
    sqlx::query(&format!(
        "CREATE TEMP TABLE bench_ids AS SELECT gen_random_uuid()::text AS id FROM generate_series(1, {})",
        options.timers.saturating_sub(1)
    ))
    .execute(&mut db)
    .await?;
    for (table, key) in [
        ("trades", "id"),
        ("trade_lots", "trade_id"),
        ("trade_custodians", "trade_id"),
        ("trade_live_terms", "trade_id"),
    ] {
        sqlx::query(&format!(
            "INSERT INTO {table} SELECT (jsonb_populate_record(NULL::{table}, to_jsonb(t) || jsonb_build_object('{key}', i.id))).* \
             FROM {table} t, bench_ids i WHERE t.{key} = $1"
        ))
        .bind(&template)
        .execute(&mut db)
        .await?;
    }
    let (starts_at,): (i64,) =
        sqlx::query_as("SELECT starts_at FROM trade_live_terms WHERE trade_id = $1")
            .bind(&template)
            .fetch_one(&mut db)
            .await?;
    let total = i64::try_from(options.timers)?;
    world
        .clock
        .set(crate::domain::clock::from_millis(starts_at));
    let started = Instant::now();
    loop {
        let (fired,): (i64,) = sqlx::query_as("SELECT count(*) FROM live_sales")
            .fetch_one(&mut db)
            .await?;
        if fired >= total || started.elapsed() > Duration::from_secs(300) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let (fired_twice,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM (SELECT trade_id, kind FROM events WHERE kind LIKE 'sale.%' \
         GROUP BY trade_id, kind HAVING count(*) > 1) d",
    )
    .fetch_one(&mut db)
    .await?;
    let (fired,): (i64,) = sqlx::query_as("SELECT count(*) FROM live_sales")
        .fetch_one(&mut db)
        .await?;
    drop(others);
    Ok(TimerRun {
        instances,
        timers: usize::try_from(fired)?,
        seconds,
        fired_per_second: fired as f64 / seconds,
        fired_twice,
    })
}

type Arrivals = Arc<Mutex<Vec<(i64, Instant)>>>;

/// A feed subscriber: what arrived, and its task (aborted when dropped).
struct Follower {
    arrivals: Arrivals,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Follows `base`'s public feed from `after`, noting when each entry arrives.
async fn follow(base: &str, after: i64) -> anyhow::Result<Follower> {
    let url = format!(
        "{}/api/v1/feed?after={after}",
        base.replacen("http", "ws", 1)
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url.as_str()).await?;
    let arrivals: Arrivals = Arc::default();
    let noted = arrivals.clone();
    let task = tokio::spawn(async move {
        while let Some(Ok(message)) = socket.next().await {
            if let tokio_tungstenite::tungstenite::Message::Text(text) = message {
                let at = Instant::now();
                let m: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                if m["type"] == "event" {
                    if let Some(seq) = m["seq"].as_i64() {
                        noted
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .push((seq, at));
                    }
                }
            }
        }
    });
    Ok(Follower { arrivals, task })
}

async fn one_run(options: &ClusterOptions, instances: usize) -> anyhow::Result<ClusterRun> {
    let pg = super::pg::ThrowawayPg::create(&options.postgres).await?;
    let world = World::on(64 * 1024 * 1024, Some(pg.url.clone())).await?;
    let mut bases = vec![world.base.clone()];
    let mut others = Vec::new();
    for _ in 1..instances.max(1) {
        let (base, platform) = world.another_instance().await?;
        bases.push(base);
        others.push(platform);
    }
    let clients = options.clients.max(1);
    let (pools, tokens): (Vec<_>, Vec<_>) = world
        .bidding_clients(clients, options.payload_kib)
        .await?
        .into_iter()
        .unzip();
    let head = i64::try_from(world.platform.store.log_size().await?)?;
    let mut feeds = Vec::new();
    for base in &bases {
        feeds.push(follow(base, head).await?);
    }

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()?;
    let issued = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    for (n, (pool, token)) in pools.into_iter().zip(tokens).enumerate() {
        let instance = n % bases.len();
        let url = format!("{}/api/v1/trades/{}/bid", bases[instance], world.trade);
        let (http, issued, refused) = (http.clone(), issued.clone(), refused.clone());
        let target = options.bids;
        tasks.push(tokio::spawn(async move {
            // (latency, log index, acknowledged at, instance)
            let mut acks = Vec::new();
            let mut i = 0;
            while issued.fetch_add(1, Ordering::SeqCst) < target {
                let body = pool[i % pool.len()].clone();
                i += 1;
                let t = Instant::now();
                let answer = http.put(&url).bearer_auth(&token).body(body).send().await;
                let index = match answer {
                    Ok(r) if r.status() == reqwest::StatusCode::CREATED => r
                        .json::<serde_json::Value>()
                        .await
                        .ok()
                        .and_then(|v| v["log_index"].as_i64()),
                    _ => None,
                };
                let now = Instant::now();
                match index {
                    Some(index) => acks.push((now - t, index, now, instance)),
                    None => {
                        refused.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }
            acks
        }));
    }
    let mut acks = Vec::with_capacity(options.bids);
    for t in tasks {
        acks.extend(t.await?);
    }
    let seconds = started.elapsed().as_secs_f64();

    // Every feed reaches the last acknowledged entry (or 10 s pass).
    let last = acks.iter().map(|a| a.1).max().unwrap_or(head);
    let waited = Instant::now();
    while waited.elapsed() < Duration::from_secs(10)
        && feeds.iter().any(|f| {
            f.arrivals
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .last()
                .is_none_or(|(seq, _)| *seq < last)
        })
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut feed_latencies = Vec::new();
    let mut other_latencies = Vec::new();
    let mut not_whole = 0;
    let mut delivered = usize::MAX;
    for (instance, feed) in feeds.iter().enumerate() {
        let arrivals = feed
            .arrivals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let whole = arrivals
            .iter()
            .enumerate()
            .all(|(i, (seq, _))| *seq == head + 1 + i as i64);
        if !whole {
            not_whole += 1;
        }
        delivered = delivered.min(arrivals.len());
        let at: HashMap<i64, Instant> = arrivals.into_iter().collect();
        for (_, index, acked, took) in &acks {
            if let Some(arrived) = at.get(index) {
                let latency = arrived.saturating_duration_since(*acked);
                feed_latencies.push(latency);
                if *took != instance {
                    other_latencies.push(latency);
                }
            }
        }
    }
    feed_latencies.sort_unstable();
    other_latencies.sort_unstable();
    let mut ack: Vec<Duration> = acks.iter().map(|a| a.0).collect();
    ack.sort_unstable();
    drop(feeds);
    drop(others);
    Ok(ClusterRun {
        instances: bases.len(),
        accepted: acks.len(),
        refused: refused.load(Ordering::SeqCst),
        seconds,
        bids_per_second: acks.len() as f64 / seconds,
        ack_p50_ms: quantile_ms(&ack, 0.50),
        ack_p99_ms: quantile_ms(&ack, 0.99),
        feed_p50_ms: quantile_ms(&feed_latencies, 0.50),
        feed_p99_ms: quantile_ms(&feed_latencies, 0.99),
        feed_other_instance_p99_ms: quantile_ms(&other_latencies, 0.99),
        feed_entries: if delivered == usize::MAX {
            0
        } else {
            delivered
        },
        feeds_not_whole: not_whole,
    })
}

pub async fn run(options: &ClusterOptions) -> anyhow::Result<ClusterReport> {
    let mut runs = Vec::new();
    for &n in &options.instances {
        runs.push(one_run(options, n).await?);
    }
    let one = runs
        .iter()
        .find(|r| r.instances == 1)
        .map_or(0.0, |r| r.bids_per_second);
    let throughput_ratio_to_one_instance = runs
        .iter()
        .map(|r| {
            (
                r.instances,
                if one > 0.0 {
                    r.bids_per_second / one
                } else {
                    0.0
                },
            )
        })
        .collect();
    let mut timers = Vec::new();
    if options.timers > 0 {
        for &n in &options.instances {
            timers.push(timer_run(options, n).await?);
        }
    }
    Ok(ClusterReport {
        runs,
        throughput_ratio_to_one_instance,
        timers,
        cores: std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
    })
}
