//! `tradehall bench opening`: many sealed bids opened by a 2-of-3 committee, from the
//! deadline to the published record, including both custodians' work (fetching, opening
//! and re-sealing their shares), with the raw decrypt-and-verify ceiling of the same bids.

use anyhow::Context as _;
use rayon::prelude::*;
use std::time::Instant;
use zeroize::Zeroizing;

use super::World;
use crate::client::custodian::contribute;
use crate::client::session::Session;
use crate::crypto::cert::verify_with_certificate;
use crate::crypto::envelope::{self, manifest_signature_message};
use crate::domain::opening::SignedRecord;

#[derive(Debug, Clone, clap::Args)]
pub struct OpeningOptions {
    /// Bids to open (one per bidder).
    #[arg(long, default_value_t = 10_000)]
    pub bids: usize,
    /// Size of the attached file in each bid, KiB.
    #[arg(long, default_value_t = 64)]
    pub payload_kib: usize,
    /// The envelope suite of the trade: 1 (HPKE, AES-256-GCM, SHA-256) or 2 (国密: SM2,
    /// SM4-GCM, SM3). Bidders sign with P-256 either way (see `bench crypto` for SM2).
    #[arg(long, default_value_t = crate::domain::suite::Suite::Hpke)]
    pub suite: crate::domain::suite::Suite,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct OpeningReport {
    pub bids: usize,
    pub valid_bids: usize,
    /// Deadline to signed record, custodians' work included.
    pub seconds: f64,
    /// Each custodian's fetch, open and re-seal, in seconds.
    pub custodian_seconds: Vec<f64>,
    /// Decrypt and verify of every bid with its key in hand, on every core.
    pub ceiling_seconds: f64,
    pub ratio_to_ceiling: f64,
    pub setup_seconds: f64,
}

/// Decrypt and verify every envelope with its content key, in parallel: the floor under
/// any opening of these bids.
fn ceiling(paths: &[(std::path::PathBuf, [u8; 32])]) -> anyhow::Result<f64> {
    let started = Instant::now();
    paths.par_iter().try_for_each(|(path, key)| {
        let inspected =
            envelope::inspect_stored(std::io::BufReader::new(std::fs::File::open(path)?))?;
        let opened = envelope::open(
            std::io::BufReader::new(std::fs::File::open(path)?),
            &inspected,
            &Zeroizing::new(*key),
        )?;
        let signer = inspected
            .certificate_chain()?
            .into_iter()
            .next()
            .context("no signer")?;
        verify_with_certificate(
            &signer,
            &manifest_signature_message(&opened.manifest_bytes),
            &opened.manifest_signature,
        )?;
        anyhow::Ok(())
    })?;
    Ok(started.elapsed().as_secs_f64())
}

pub async fn run(options: &OpeningOptions) -> anyhow::Result<OpeningReport> {
    let setup = Instant::now();
    let world = World::with_suite(64 * 1024 * 1024, options.suite).await?;
    let bidders = world.bidders(options.bids).await?;
    let payload: Vec<u8> = (0..options.payload_kib * 1024)
        .map(|i| (i * 7 % 253) as u8)
        .collect();
    let sealed: Vec<(Vec<u8>, [u8; 32])> = bidders
        .par_iter()
        .enumerate()
        .map(|(i, b)| world.seal(b, 500_000_000 + i as i64, &payload))
        .collect::<anyhow::Result<_>>()?;
    let mut keys = Vec::with_capacity(sealed.len());
    for (bidder, (bytes, key)) in bidders.iter().zip(sealed) {
        let upload = world.platform.incoming_bid_path()?;
        std::fs::write(&upload, &bytes)?;
        let receipt = world
            .platform
            .submit_bid(&bidder.caller(), &world.trade, &upload)
            .await?;
        keys.push((receipt.envelope_sha256, key));
    }
    let bid_dir = world.path("bids").join(&world.trade);
    let mut paths = Vec::with_capacity(keys.len());
    for entry in std::fs::read_dir(&bid_dir)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some((_, key)) = keys.iter().find(|(sha, _)| name.starts_with(sha.as_str())) {
            paths.push((path, *key));
        }
    }
    let ceiling_seconds = ceiling(&paths)?;
    world.clock.set(world.deadline);
    // The custodians are signed in and waiting in the opening hall.
    let mut sessions = Vec::new();
    for (issued, signer, _, _) in world.custodians.iter().take(2) {
        sessions.push(Session::login(&world.base, &issued.cert_pem, signer).await?);
    }
    let platform_keys = world.platform.platform_key.published();
    let setup_seconds = setup.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut work = Vec::new();
    for (session, (issued, _, secret, public)) in sessions.into_iter().zip(&world.custodians) {
        let trade = world.trade.clone();
        let signer = crate::crypto::signer::Signer::from_pkcs8_der(&issued.key_pkcs8_der)?;
        let keys = platform_keys.clone();
        let (secret, public) = (
            crate::crypto::threshold::CustodianSecretKey::from_bytes_for(
                public.suite(),
                &secret.to_bytes(),
            )?,
            public.clone(),
        );
        work.push(tokio::spawn(async move {
            let t = Instant::now();
            let outcome = contribute(&session, &trade, secret, public, signer, keys).await?;
            anyhow::Ok((t.elapsed().as_secs_f64(), outcome.answer))
        }));
    }
    let mut record = None;
    let mut custodian_seconds = Vec::new();
    for w in work {
        let (seconds, answer) = w.await??;
        custodian_seconds.push(seconds);
        if !answer["opening"].is_null() {
            record = Some(serde_json::from_value::<SignedRecord>(
                answer["opening"].clone(),
            )?);
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let record = record.context("the opening did not complete")?;
    Ok(OpeningReport {
        bids: record.record.bids.len(),
        valid_bids: record.record.valid_bids,
        seconds,
        custodian_seconds,
        ceiling_seconds,
        ratio_to_ceiling: ceiling_seconds / seconds,
        setup_seconds,
    })
}
