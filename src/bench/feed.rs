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
    /// Subscribers are in a live room: entries of one trade, so sequence numbers only
    /// increase (no gap check); the delay is measured from each entry's `at`, and the
    /// sale's close ends the run.
    #[arg(long)]
    pub room: bool,
    /// Milliseconds the server's clock is ahead of this machine's (room mode).
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    pub offset_ms: i64,
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
pub(super) struct Received {
    pub(super) messages: u64,
    pub(super) gaps: u64,
    pub(super) repeats: u64,
    /// Count per millisecond of delay, 0..=BUCKETS (the last bucket is "or more").
    pub(super) histogram: Vec<u64>,
    pub(super) seconds: f64,
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

pub(super) fn quantile(histogram: &[u64], q: f64) -> f64 {
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

/// The integer after `key` in `text`, found without parsing the whole message: the
/// subscriber process shares the machine with the server and must keep up with a million
/// messages a second.
fn number_after(text: &[u8], key: &memchr::memmem::Finder<'_>) -> Option<u64> {
    let at = key.find(text)? + key.needle().len();
    let digits = text[at..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .take(19);
    digits
        .map(|d| u64::from(d - b'0'))
        .reduce(|n, d| n * 10 + d)
}

/// The delay of a live-room entry: now (on the server's clock, `offset_ms` ahead) less
/// the entry's `at`, read as milliseconds of the day from its fixed RFC 3339 positions
/// (`2026-11-29T09:52:38.399Z`) rather than parsed, as the subscriber process must keep up.
fn room_delay_ms(text: &[u8], key: &memchr::memmem::Finder<'_>, offset_ms: i64) -> Option<u32> {
    let at = key.find(text)? + key.needle().len();
    let t = text.get(at..at + 24)?;
    let n = |r: std::ops::Range<usize>| -> Option<i64> {
        std::str::from_utf8(t.get(r)?).ok()?.parse().ok()
    };
    let entry = ((n(11..13)? * 60 + n(14..16)?) * 60 + n(17..19)?) * 1000 + n(20..23)?;
    let now = i64::try_from(now_ns() / 1_000_000).ok()? + offset_ms;
    let delay = (now % 86_400_000 - entry).rem_euclid(86_400_000);
    u32::try_from(delay).ok()
}

/// Reads the server's WebSocket frames off a raw stream. The subscriber process shares the
/// machine with the server it measures, so it does as little as it can per message: a
/// general WebSocket client took as much CPU as the server. Server frames are unmasked
/// and the feed never fragments a message (RFC 6455 §5.2); anything else ends the read.
struct FrameReader {
    stream: tokio::net::TcpStream,
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl FrameReader {
    fn new(stream: tokio::net::TcpStream) -> Self {
        Self {
            stream,
            buf: vec![0; 16 * 1024],
            start: 0,
            end: 0,
        }
    }

    /// The payload of the next text frame; `None` at a close frame, a malformed frame or
    /// the end of the stream.
    async fn next_text(&mut self) -> Option<&[u8]> {
        use tokio::io::AsyncReadExt as _;
        loop {
            if let Some((opcode, header, len)) = Self::header(&self.buf[self.start..self.end]) {
                if self.end - self.start >= header + len {
                    let at = self.start + header;
                    self.start = at + len;
                    match opcode {
                        0x1 => return Some(&self.buf[at..at + len]),
                        0x2 | 0x9 | 0xA => continue,
                        _ => return None,
                    }
                }
                if header + len > self.buf.len() {
                    return None;
                }
            }
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            match self.stream.read(&mut self.buf[self.end..]).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.end += n,
            }
        }
    }

    /// Opcode, header length and payload length of the frame `bytes` starts with, once its
    /// header is complete.
    fn header(bytes: &[u8]) -> Option<(u8, usize, usize)> {
        let (&first, rest) = bytes.split_first()?;
        let (&second, rest) = rest.split_first()?;
        if first & 0x80 == 0 || second & 0x80 != 0 {
            // A fragment, or a masked frame: not what a server sends here.
            return Some((0xF, 2, 0));
        }
        match second & 0x7F {
            126 => Some((
                first & 0x0F,
                4,
                usize::from(u16::from_be_bytes(rest.get(..2)?.try_into().ok()?)),
            )),
            127 => Some((
                first & 0x0F,
                10,
                usize::try_from(u64::from_be_bytes(rest.get(..8)?.try_into().ok()?)).ok()?,
            )),
            n => Some((first & 0x0F, 2, usize::from(n))),
        }
    }
}

/// The subscriber side: connects every subscriber, says `connected`, then counts until
/// each has seen the end event, and prints its report as one JSON line.
pub async fn subscribers(options: &SubscriberOptions) -> anyhow::Result<()> {
    let after: i64 = options
        .url
        .split("after=")
        .nth(1)
        .and_then(|s| s.split('&').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (room, offset_ms) = (options.room, options.offset_ms);
    let mut sockets = Vec::with_capacity(options.subscribers as usize);
    let connects = Arc::new(tokio::sync::Semaphore::new(200));
    let mut pending = Vec::new();
    for _ in 0..options.subscribers {
        let url = options.url.clone();
        let connects = connects.clone();
        pending.push(tokio::spawn(async move {
            let _permit = connects.acquire().await;
            let host = url
                .trim_start_matches("ws://")
                .split('/')
                .next()
                .unwrap_or_default()
                .to_string();
            let tcp = tokio::net::TcpStream::connect(host).await?;
            tcp.set_nodelay(true)?;
            let (mut socket, _) = tokio_tungstenite::client_async(&url, tcp).await?;
            // The hello. Nothing follows it until every subscriber has connected, so the
            // library has read no further and the raw stream starts at the next frame.
            socket.next().await;
            let socket = socket.into_inner();
            Ok::<_, anyhow::Error>(socket)
        }));
    }
    for p in pending {
        sockets.push(p.await??);
    }
    println!("connected");
    let started = Instant::now();
    let mut tasks = Vec::new();
    for socket in sockets {
        tasks.push(tokio::spawn(async move {
            // Counted per subscriber and added up at the end: shared counters would make
            // the two cores fight over the same cache lines a million times a second.
            let mut seen = Received::default();
            let mut delays_ms: Vec<u32> = Vec::new();
            let mut last = after;
            let seq_key = memchr::memmem::Finder::new(r#""seq":"#);
            let sent_key = memchr::memmem::Finder::new(r#""sent_ns":"#);
            let at_key = memchr::memmem::Finder::new(r#""at":""#);
            let end_key = memchr::memmem::Finder::new(if room { "sale.closed" } else { END });
            let mut frames = FrameReader::new(socket);
            while let Some(text) = frames.next_text().await {
                // A live room sends its quotes in brief, its other entries whole.
                let quote = room && text.starts_with(br#"{"type":"quote""#);
                if !quote && !text.starts_with(br#"{"type":"event""#) {
                    continue;
                }
                let seq = number_after(text, &seq_key)
                    .and_then(|s| i64::try_from(s).ok())
                    .unwrap_or_default();
                if seq <= last {
                    seen.repeats += 1;
                    continue;
                }
                if seq != last + 1 && !room {
                    seen.gaps += 1;
                }
                last = seq;
                seen.messages += 1;
                if room {
                    // The quotes' broadcast; the close comes after the bench moves the
                    // clock to end the sale, so it has no meaningful delay.
                    if quote {
                        if let Some(ms) = room_delay_ms(text, &at_key, offset_ms) {
                            delays_ms.push(ms);
                        }
                    }
                } else if let Some(sent) = number_after(text, &sent_key) {
                    let ms = now_ns().saturating_sub(sent) / 1_000_000;
                    delays_ms.push(u32::try_from(ms).unwrap_or(u32::MAX));
                }
                if end_key.find(text).is_some() {
                    break;
                }
            }
            (seen, delays_ms)
        }));
    }
    let mut report = Received {
        histogram: vec![0; BUCKETS + 1],
        ..Received::default()
    };
    for t in tasks {
        let (seen, delays_ms) = t.await?;
        report.messages += seen.messages;
        report.gaps += seen.gaps;
        report.repeats += seen.repeats;
        for ms in delays_ms {
            report.histogram[(ms as usize).min(BUCKETS)] += 1;
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}
