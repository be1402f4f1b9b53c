//! `tradehall bench feed`: many WebSocket subscribers on loopback while events are logged
//! at a fixed rate. The server runs in this process; the subscribers run in a child
//! process (`tradehall bench feed-subscribers`, hidden), so each side has its own file
//! descriptors and its own memory figure. Each event carries its send time; each
//! subscriber records the delay to its arrival, and checks that sequence numbers follow
//! each other with no gap and no repeat.

use anyhow::{bail, Context as _};
use futures_util::StreamExt as _;
use std::io::BufRead as _;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::{peak_rss_mib, World};
use crate::domain::event::{Audit, NewEvent};

#[derive(Debug, Clone, clap::Args)]
pub struct FeedOptions {
    /// Concurrent WebSocket subscribers.
    #[arg(long, default_value_t = 10_000)]
    pub subscribers: u32,
    /// Events logged per second while measuring.
    #[arg(long, default_value_t = 100)]
    pub rate: u32,
    /// Seconds of events.
    #[arg(long, default_value_t = 10)]
    pub seconds: u32,
}

#[derive(Debug, Clone, clap::Args)]
pub struct SubscriberOptions {
    /// WebSocket URL of the feed, with `?after=`.
    #[arg(long)]
    pub url: String,
    #[arg(long)]
    pub subscribers: u32,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct FeedReport {
    pub subscribers: u32,
    pub events: u64,
    pub messages_delivered: u64,
    pub messages_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub gaps: u64,
    pub repeats: u64,
    /// This process: the server (and the bench's event writer).
    pub server_peak_rss_mib: f64,
    pub subscribers_peak_rss_mib: f64,
    pub connect_seconds: f64,
}

/// What the subscriber process reports.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct Received {
    messages: u64,
    gaps: u64,
    repeats: u64,
    /// Count per millisecond of delay, 0..=BUCKETS (the last bucket is "or more").
    histogram: Vec<u64>,
    seconds: f64,
}

const BUCKETS: usize = 10_000;
const END: &str = "bench.feed_end";

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

fn tick(kind: &'static str) -> NewEvent {
    NewEvent {
        kind,
        trade_id: None,
        data: serde_json::json!({ "sent_ns": now_ns() }),
        audit: Audit::default(),
        audit_salt: [0; 32],
        audit_commitment: String::new(),
        sealed: vec![],
    }
}

fn quantile(histogram: &[u64], q: f64) -> f64 {
    let total: u64 = histogram.iter().sum();
    if total == 0 {
        return 0.0;
    }
    let want = ((total as f64) * q).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (ms, n) in histogram.iter().enumerate() {
        seen += n;
        if seen >= want {
            return ms as f64;
        }
    }
    BUCKETS as f64
}

pub async fn run(options: &FeedOptions) -> anyhow::Result<FeedReport> {
    let world = World::new(1024 * 1024).await?;
    let platform = world.platform.clone();
    let head = platform.store.log_size().await?;
    let url = format!(
        "{}/api/v1/feed?after={head}&heartbeat=60",
        world.base.replacen("http", "ws", 1)
    );
    let mut child = Command::new(std::env::current_exe()?)
        .args([
            "bench",
            "feed-subscribers",
            "--url",
            &url,
            "--subscribers",
            &options.subscribers.to_string(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting the subscriber process")?;
    let child_pid = child.id();
    let stdout = child.stdout.take().context("no subscriber stdout")?;
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
    let connecting = Instant::now();
    match lines.recv().await.as_deref() {
        Some("connected") => {}
        other => bail!("the subscribers did not connect: {other:?}"),
    }
    let connect_seconds = connecting.elapsed().as_secs_f64();

    // Log events at the rate, on time: the writer sleeps until each one's slot.
    let events = u64::from(options.rate) * u64::from(options.seconds);
    let period = Duration::from_secs_f64(1.0 / f64::from(options.rate.max(1)));
    let started = tokio::time::Instant::now();
    for i in 0..events {
        tokio::time::sleep_until(started + period.mul_f64(i as f64)).await;
        platform.store.append(tick("bench.feed_tick")).await?;
    }
    platform.store.append(tick(END)).await?;

    let mut client_rss = 0.0f64;
    let report = loop {
        if let Some(rss) = peak_rss_mib(child_pid) {
            client_rss = client_rss.max(rss);
        }
        match tokio::time::timeout(Duration::from_millis(200), lines.recv()).await {
            Ok(Some(line)) => break serde_json::from_str::<Received>(&line)?,
            Ok(None) => bail!("the subscriber process ended without a report"),
            Err(_) => {}
        }
    };
    let _ = child.wait();
    Ok(FeedReport {
        subscribers: options.subscribers,
        events,
        messages_delivered: report.messages,
        messages_per_second: report.messages as f64 / report.seconds.max(1e-9),
        p50_ms: quantile(&report.histogram, 0.50),
        p99_ms: quantile(&report.histogram, 0.99),
        max_ms: report
            .histogram
            .iter()
            .rposition(|n| *n > 0)
            .map_or(0.0, |ms| ms as f64),
        gaps: report.gaps,
        repeats: report.repeats,
        server_peak_rss_mib: peak_rss_mib(std::process::id()).unwrap_or(0.0),
        subscribers_peak_rss_mib: client_rss,
        connect_seconds,
    })
}

/// The integer after `"key":` in `text`, found without parsing the whole message: the
/// subscriber process must keep up with a million messages a second.
fn number_after(text: &str, key: &str) -> Option<u64> {
    let at = text.find(key)? + key.len();
    let digits: &str = &text[at..];
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse().ok()
}

/// The subscriber side: connects every subscriber, says `connected`, then counts until
/// each has seen the end event, and prints its report as one JSON line.
pub async fn subscribers(options: &SubscriberOptions) -> anyhow::Result<()> {
    let histogram: Arc<Vec<AtomicU64>> =
        Arc::new((0..=BUCKETS).map(|_| AtomicU64::new(0)).collect());
    let (messages, gaps, repeats) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let after: i64 = options
        .url
        .split("after=")
        .nth(1)
        .and_then(|s| s.split('&').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut sockets = Vec::with_capacity(options.subscribers as usize);
    let connects = Arc::new(tokio::sync::Semaphore::new(200));
    let mut pending = Vec::new();
    for _ in 0..options.subscribers {
        let url = options.url.clone();
        let connects = connects.clone();
        pending.push(tokio::spawn(async move {
            let _permit = connects.acquire().await;
            let (mut socket, _) = tokio_tungstenite::connect_async(&url).await?;
            // The hello.
            socket.next().await;
            Ok::<_, anyhow::Error>(socket)
        }));
    }
    for p in pending {
        sockets.push(p.await??);
    }
    println!("connected");
    let started = Instant::now();
    let mut tasks = Vec::new();
    for mut socket in sockets {
        let (histogram, messages, gaps, repeats) = (
            histogram.clone(),
            messages.clone(),
            gaps.clone(),
            repeats.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut last = after;
            while let Some(Ok(frame)) = socket.next().await {
                let tokio_tungstenite::tungstenite::Message::Text(text) = frame else {
                    continue;
                };
                let text: &str = &text;
                if !text.starts_with(r#"{"type":"event""#) {
                    continue;
                }
                let seq = number_after(text, r#""seq":"#)
                    .and_then(|s| i64::try_from(s).ok())
                    .unwrap_or_default();
                if seq <= last {
                    repeats.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                if seq != last + 1 {
                    gaps.fetch_add(1, Ordering::Relaxed);
                }
                last = seq;
                messages.fetch_add(1, Ordering::Relaxed);
                if let Some(sent) = number_after(text, r#""sent_ns":"#) {
                    let ms = (now_ns().saturating_sub(sent) / 1_000_000) as usize;
                    histogram[ms.min(BUCKETS)].fetch_add(1, Ordering::Relaxed);
                }
                if text.contains(END) {
                    break;
                }
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let report = Received {
        messages: messages.load(Ordering::Relaxed),
        gaps: gaps.load(Ordering::Relaxed),
        repeats: repeats.load(Ordering::Relaxed),
        histogram: histogram
            .iter()
            .map(|h| h.load(Ordering::Relaxed))
            .collect(),
        seconds: started.elapsed().as_secs_f64(),
    };
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}
