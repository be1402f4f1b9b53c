//! `tradehall bench log`: the transparency log at size. Appends entries into the Merkle
//! log (group-committed batches, as intake commits bids, and single appends), sampling
//! memory as it grows; then serves inclusion and consistency proofs over HTTP to
//! concurrent clients for random indexes of the full log.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{peak_rss_mib, quantile_ms, World};
use crate::domain::event::{Audit, NewEvent};

#[derive(Debug, Clone, clap::Args)]
pub struct LogOptions {
    /// Entries to append before serving proofs (the target is for 10,000,000).
    #[arg(long, default_value_t = 1_000_000)]
    pub entries: u64,
    /// Entries per commit while growing the log.
    #[arg(long, default_value_t = 1000)]
    pub batch: u64,
    /// Concurrent HTTP clients asking for proofs, each on its own keep-alive connection.
    #[arg(long, default_value_t = 32)]
    pub clients: u32,
    /// Seconds of each proof kind.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ProofReport {
    pub proofs: u64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct LogReport {
    pub entries: u64,
    pub batch: u64,
    pub append_seconds: f64,
    pub appends_per_second: f64,
    /// Entries appended one per commit, as a lone event is.
    pub single_appends_per_second: f64,
    /// Current resident memory (MiB) after each tenth of the entries: flat if the log
    /// keeps nothing per entry in memory.
    pub rss_mib_as_the_log_grows: Vec<f64>,
    pub database_mib: f64,
    pub inclusion: ProofReport,
    pub consistency: ProofReport,
    /// Inclusion proofs computed by calling the engine from the same clients, without
    /// HTTP: how much of a proof's cost is the proof itself.
    pub inclusion_without_http_per_second: f64,
    pub peak_rss_mib: f64,
}

pub(crate) fn current_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

fn entry(n: u64) -> NewEvent {
    NewEvent {
        kind: "bench.log_entry",
        trade_id: None,
        data: serde_json::json!({ "n": n, "payload": "公共资源交易平台 bench entry, about the size of a real one" }),
        audit: Audit::default(),
        audit_salt: [0; 32],
        audit_commitment: "0".repeat(64),
        sealed: vec![],
    }
}

/// A small xorshift generator: the bench needs spread, not secrecy.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

async fn proofs(
    base: &str,
    clients: u32,
    seconds: u64,
    url: impl Fn(&mut Rng) -> String + Send + Sync + Clone + 'static,
) -> anyhow::Result<ProofReport> {
    let count = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (count, url) = (count.clone(), url.clone());
        let mut http = super::raw_http::RawHttp::connect(base).await?;
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ ((u64::from(c) + 1) * 0x2545_f491));
            let mut latencies = Vec::new();
            while Instant::now() < until {
                let started = Instant::now();
                let path = url(&mut rng);
                let (status, body) = http.get(&path).await?;
                anyhow::ensure!(
                    status == 200 && body.starts_with(b"{"),
                    "proof refused: {status} {}",
                    String::from_utf8_lossy(body)
                );
                latencies.push(started.elapsed());
                count.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    all.sort();
    let proofs = count.load(Ordering::Relaxed);
    Ok(ProofReport {
        proofs,
        per_second: proofs as f64 / seconds as f64,
        p50_ms: quantile_ms(&all, 0.5),
        p99_ms: quantile_ms(&all, 0.99),
    })
}

pub async fn run(options: &LogOptions) -> anyhow::Result<LogReport> {
    let world = World::new(1024 * 1024).await?;
    let store = world.platform.store.clone();
    let batch = options.batch.max(1);
    let mut rss = Vec::new();
    let tenth = (options.entries / 10).max(1);
    let started = Instant::now();
    let mut written = 0;
    while written < options.entries {
        let n = batch.min(options.entries - written);
        let events: Vec<NewEvent> = (written..written + n).map(entry).collect();
        store.append_batch(&events).await?;
        let before = written / tenth;
        written += n;
        if written / tenth > before {
            rss.push((current_rss_mib() * 10.0).round() / 10.0);
        }
    }
    let append_seconds = started.elapsed().as_secs_f64();
    let singles = 500;
    let started = Instant::now();
    for i in 0..singles {
        store.append(entry(options.entries + i)).await?;
    }
    let single_appends_per_second = singles as f64 / started.elapsed().as_secs_f64();

    // A server started over this log would read its tree's upper levels into memory
    // (`warm_log_tree`); so does the bench, before it measures proofs.
    world.platform.warm_log_tree().await?;
    // Clients ask for proofs against the newest checkpoint, as witnesses and receipts do.
    world.platform.checkpoint().await?;
    let size = store.log_size().await?;
    let inclusion = proofs(&world.base, options.clients, options.seconds, move |rng| {
        format!(
            "/api/v1/log/proof/inclusion?index={}&size={size}",
            rng.below(size)
        )
    })
    .await?;
    let consistency = proofs(&world.base, options.clients, options.seconds, move |rng| {
        format!(
            "/api/v1/log/proof/consistency?first={}&second={size}",
            1 + rng.below(size - 1)
        )
    })
    .await?;
    let platform = world.platform.clone();
    let direct = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs(options.seconds);
    let mut tasks = Vec::new();
    for c in 0..options.clients {
        let (platform, direct) = (platform.clone(), direct.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ ((u64::from(c) + 1) * 0x2545_f491));
            while Instant::now() < until {
                platform.inclusion_proof(rng.below(size), size).await?;
                direct.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let inclusion_without_http_per_second =
        direct.load(Ordering::Relaxed) as f64 / options.seconds as f64;
    let database_mib = std::fs::read_dir(world.dir.path())?
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains(".db"))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len() as f64 / (1024.0 * 1024.0))
        .sum();
    Ok(LogReport {
        entries: options.entries,
        batch,
        append_seconds,
        appends_per_second: options.entries as f64 / append_seconds,
        single_appends_per_second,
        rss_mib_as_the_log_grows: rss,
        database_mib,
        inclusion,
        consistency,
        inclusion_without_http_per_second,
        peak_rss_mib: peak_rss_mib(std::process::id()).unwrap_or(0.0),
    })
}
