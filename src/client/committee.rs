//! Before sealing anything to a trade's opening committee, the client checks every
//! committee key itself, trusting the platform for nothing: an operator who swapped a key
//! in the database would read every bid sealed after. Each key must be
//!
//! 1. signed by its custodian's certificate (`custodian_key_message`), and that
//!    certificate must chain to a certification authority the bidder recognises (the
//!    files given with `--trust-ca`, else the roots the platform publishes), valid when
//!    the key was registered;
//! 2. the key its registration entry in the transparency log names, with the same
//!    signature and certificate, and that entry must be in the newest signed checkpoint
//!    (an inclusion proof).
//!
//! Anything else refuses the seal, naming the custodian and what failed
//! (docs/protocol.md, "Custodian keys").

use std::path::PathBuf;

use anyhow::{anyhow, bail, Context as _};
use base64::Engine as _;
use serde_json::Value;

use super::receipt::{load_keys, KeySource};
use super::session::Session;
use crate::crypto::cert::TrustStore;
use crate::crypto::checkpoint::Checkpoint;
use crate::crypto::threshold::{custodian_key_message, CustodianPublicKey};
use crate::domain::merkle;
use crate::domain::suite::Suite;

fn b64(what: &str, v: &Value) -> anyhow::Result<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(v.as_str().unwrap_or_default())
        .with_context(|| format!("{what} is not base64"))
}

/// The roots the bidder recognises: `trust_ca` (PEM or DER files), else those the
/// platform publishes.
async fn roots(session: &Session, trust_ca: &[PathBuf]) -> anyhow::Result<TrustStore> {
    if !trust_ca.is_empty() {
        return Ok(TrustStore::from_files(trust_ca, &[])?);
    }
    let published = session.get("/api/v1/trust/roots").await?;
    let roots = published["roots"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| b64("a root", r))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(TrustStore::new(roots, Vec::new())?)
}

/// The committee keys of `trade` (its JSON) in committee order and its threshold, each
/// checked as the module says; refuses a committee that has not registered every key.
pub async fn checked_keys(
    session: &Session,
    server: &str,
    trade: &Value,
    trust_ca: &[PathBuf],
) -> anyhow::Result<(Vec<CustodianPublicKey>, u8)> {
    if trade["committee_ready"] != true {
        bail!("the trade's opening committee has not registered all its keys yet; bids cannot be sealed");
    }
    let trade_id = trade["id"].as_str().unwrap_or_default();
    let trust = roots(session, trust_ca).await?;
    let platform_keys = load_keys(KeySource::Server(server)).await?;
    let note = session.get_text("/api/v1/log/checkpoint").await?;
    let checkpoint = Checkpoint::verify(&note, &platform_keys)
        .map_err(|e| anyhow!("the log's checkpoint does not verify: {e}"))?;
    let suite: Suite = serde_json::from_value(trade["committee"]["suite"].clone())
        .map_err(|e| anyhow!("the trade's envelope suite: {e}"))?;
    let keys = trade["custodian_keys"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut out = Vec::new();
    for custodian in trade["committee"]["custodians"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let key = keys
            .iter()
            .find(|k| k["custodian"] == *custodian)
            .ok_or_else(|| anyhow!("no key for custodian {custodian}"))?;
        let checked = check_key(session, trade_id, suite, key, &trust, &checkpoint)
            .await
            .with_context(|| {
                format!("refusing to seal: the committee key of custodian {custodian} does not check out")
            })?;
        if out
            .iter()
            .any(|k: &CustodianPublicKey| k.as_bytes() == checked.as_bytes())
        {
            bail!("refusing to seal: custodian {custodian} registered the same key as another custodian");
        }
        out.push(checked);
    }
    let threshold = trade["committee"]["threshold"]
        .as_u64()
        .and_then(|t| u8::try_from(t).ok())
        .unwrap_or(0);
    Ok((out, threshold))
}

async fn check_key(
    session: &Session,
    trade_id: &str,
    suite: Suite,
    key: &Value,
    trust: &TrustStore,
    checkpoint: &Checkpoint,
) -> anyhow::Result<CustodianPublicKey> {
    let public =
        CustodianPublicKey::from_bytes_for(suite, &b64("the public key", &key["public_key"])?)
            .map_err(|e| anyhow!("custodian key (suite {suite}): {e}"))?;
    let certificate = b64("the certificate", &key["certificate"])?;
    let signature = b64("the signature", &key["signature"])?;
    let registered_at =
        chrono::DateTime::parse_from_rfc3339(key["registered_at"].as_str().unwrap_or_default())
            .context("registered_at is not a time")?
            .with_timezone(&chrono::Utc);
    let cert = trust
        .verify_chain(std::slice::from_ref(&certificate), registered_at)
        .map_err(|e| anyhow!("its certificate is not from a recognised CA: {e}"))?;
    cert.verify_signature(&custodian_key_message(trade_id, &public), &signature)
        .map_err(|e| anyhow!("its custodian's certificate did not sign it: {e}"))?;

    let index = key["log_index"]
        .as_i64()
        .filter(|i| *i >= 1)
        .ok_or_else(|| anyhow!("its registration is not in the log"))?;
    let leaf = u64::try_from(index - 1)?;
    if leaf >= checkpoint.size {
        bail!("its registration is not in the newest checkpoint");
    }
    let entries = session
        .get(&format!(
            "/api/v1/log/entries?start={leaf}&end={}",
            leaf + 1
        ))
        .await?;
    let bytes = b64("the log entry", &entries["entries"][0]["entry"])?;
    let entry: Value =
        serde_json::from_slice(&bytes).context("the registration entry is not JSON")?;
    let logged = &entry["data"]["key"];
    let same = entry["kind"] == "trade.custodian_key_registered"
        && entry["trade"] == trade_id
        && entry["data"]["custodian"] == key["custodian"]
        && logged["public_key"] == key["public_key"]
        && logged["signature"] == key["signature"]
        && logged["certificate"] == key["certificate"];
    if !same {
        bail!("it is not the key its registration entry {index} in the log names");
    }
    let proof = session
        .get(&format!(
            "/api/v1/log/proof/inclusion?index={leaf}&size={}",
            checkpoint.size
        ))
        .await?;
    let path: Vec<merkle::Hash> = proof["proof"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|h| {
            hex::decode(h.as_str().unwrap_or_default())
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| anyhow!("a proof hash is not 32 bytes of hex"))
        })
        .collect::<anyhow::Result<_>>()?;
    if !merkle::verify_inclusion(
        leaf,
        checkpoint.size,
        &merkle::leaf_hash(&bytes),
        &path,
        &checkpoint.root,
    ) {
        bail!("its registration entry {index} is not in the signed log");
    }
    Ok(public)
}
