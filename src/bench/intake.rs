//! `tradehall bench intake`: sealed bids with a small payload submitted over HTTP by
//! concurrent clients to a server on SQLite; accepted bids per second, latency, memory,
//! and the per-bid cryptography ceiling measured in the same run.

use rayon::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{peak_rss_mib, quantile_ms, World};
use crate::crypto::envelope::{self, envelope_signature_message};
use crate::crypto::receipt::{blinded_commitment, Receipt};

/// What to run.
#[derive(Debug, Clone, clap::Args)]
pub struct IntakeOptions {
    /// Accepted bids to submit in the timed run.
    #[arg(long, default_value_t = 10_000)]
    pub bids: usize,
    /// Concurrent clients (each a bidder with its own session; later bids replace
    /// earlier ones, each fully checked, stored and receipted).
    #[arg(long, default_value_t = 32)]
    pub clients: usize,
    /// Size of the attached file in each bid, KiB.
    #[arg(long, default_value_t = 8)]
    pub payload_kib: usize,
    /// The envelope suite of the trade: 1 (HPKE, AES-256-GCM, SHA-256) or 2 (国密: SM2,
    /// SM4-GCM, SM3). Bidders sign with P-256 either way (see `bench crypto` for SM2).
    #[arg(long, default_value_t = crate::domain::suite::Suite::Hpke)]
    pub suite: crate::domain::suite::Suite,
}

/// Measured numbers.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IntakeReport {
    pub accepted: usize,
    pub refused: usize,
    pub seconds: f64,
    pub bids_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub crypto_ceiling_per_second: f64,
    pub ratio_to_ceiling: f64,
    pub process_peak_rss_mib: f64,
    pub envelope_bytes: usize,
}

/// The per-bid cryptography the server does, in a tight loop on every core: read and hash
/// the envelope, validate the certificate chain with its CRL, verify the outer signature,
/// make the blinded commitment and sign the receipt.
fn crypto_ceiling(world: &World, envelopes: &[Vec<u8>], rounds: usize) -> f64 {
    let trust = world.platform.trust.current();
    let now = chrono::Utc::now();
    let key = world.platform.platform_key.clone();
    let started = Instant::now();
    (0..rounds).into_par_iter().for_each(|i| {
        let bytes = &envelopes[i % envelopes.len()];
        let inspected = envelope::inspect(bytes.as_slice()).expect("bench envelope");
        let chain = inspected.certificate_chain().expect("chain");
        let cert = trust.verify_identity(&chain, now).expect("certificate");
        cert.verify_signature(
            &envelope_signature_message(&inspected.body_digest.unwrap_or_default()),
            &inspected.signature,
        )
        .expect("signature");
        let sha = hex::encode(inspected.commitment);
        let salt = crate::crypto::digest::random_bytes::<32>();
        let _ = blinded_commitment(&world.trade, &sha, &salt);
        let _ = Receipt::issue(&key, &world.trade, &sha, String::new(), i as i64, &salt);
    });
    rounds as f64 / started.elapsed().as_secs_f64()
}

pub async fn run(options: &IntakeOptions) -> anyhow::Result<IntakeReport> {
    let world = World::with_suite(64 * 1024 * 1024, options.suite).await?;
    let clients = options.clients.max(1);
    let (pools, tokens): (Vec<_>, Vec<_>) = world
        .bidding_clients(clients, options.payload_kib)
        .await?
        .into_iter()
        .unzip();
    let envelope_bytes = pools[0][0].len();
    let all: Vec<Vec<u8>> = pools.iter().flatten().cloned().collect();
    let ceiling = crypto_ceiling(&world, &all, 4_000.max(options.bids / 4));

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()?;
    let url = format!("{}/api/v1/trades/{}/bid", world.base, world.trade);
    let issued = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    for (pool, token) in pools.into_iter().zip(tokens) {
        let (http, url, issued, refused) =
            (http.clone(), url.clone(), issued.clone(), refused.clone());
        let target = options.bids;
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = 0;
            while issued.fetch_add(1, Ordering::SeqCst) < target {
                let body = pool[i % pool.len()].clone();
                i += 1;
                let t = Instant::now();
                let ok = http
                    .put(&url)
                    .bearer_auth(&token)
                    .body(body)
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == reqwest::StatusCode::CREATED);
                latencies.push(t.elapsed());
                if !ok {
                    refused.fetch_add(1, Ordering::SeqCst);
                }
            }
            latencies
        }));
    }
    let mut latencies: Vec<Duration> = Vec::with_capacity(options.bids);
    for t in tasks {
        latencies.extend(t.await?);
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let refused = refused.load(Ordering::SeqCst);
    let accepted = latencies.len() - refused;
    let rate = accepted as f64 / seconds;
    Ok(IntakeReport {
        accepted,
        refused,
        seconds,
        bids_per_second: rate,
        p50_ms: quantile_ms(&latencies, 0.50),
        p99_ms: quantile_ms(&latencies, 0.99),
        max_ms: quantile_ms(&latencies, 1.0),
        crypto_ceiling_per_second: ceiling,
        ratio_to_ceiling: rate / ceiling,
        process_peak_rss_mib: peak_rss_mib(std::process::id()).unwrap_or(0.0),
        envelope_bytes,
    })
}
