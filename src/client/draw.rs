//! `tradehall verify draw --trade ID`: reruns a trade's expert draw (ADR 0013). It
//! verifies the whole log against the newest signed checkpoint, recomputes the seed as
//! the root of the log tree that ends with the trade's opening entry, checks the draw's
//! log entry, the commitment to the disclosed pool and result, and the pool's digest,
//! and runs the draw again. Until the result the pool and the result are sealed: a
//! supervisor of the trade's region or the trading centre verifies with its certificate.

use anyhow::{anyhow, bail, Context as _};
use serde_json::Value;
use std::path::Path;

use super::session::{login, Credentials};
use super::witness::verify_visiting;
use crate::domain::expert_draw::{draw, pool_digest, DrawRequest, Drawn, PoolExpert};
use crate::domain::merkle::{self, Hash};

/// What a verified draw established.
#[derive(Debug, Clone)]
pub struct VerifiedDraw {
    pub seed_size: u64,
    pub experts: Vec<String>,
    pub log_size: u64,
}

/// MTH over leaf hashes (RFC 9162 §2.1.1).
fn tree_hash(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => merkle::empty_root(),
        1 => leaves[0],
        n => {
            let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
            merkle::node_hash(&tree_hash(&leaves[..k]), &tree_hash(&leaves[k..]))
        }
    }
}

/// Verifies the draw of `trade` at `server`; `credentials` see the sealed part.
pub async fn verify(
    server: &str,
    trade: &str,
    keys: Option<&Path>,
    credentials: Option<&Credentials<'_>>,
) -> anyhow::Result<VerifiedDraw> {
    let server = server.trim_end_matches('/');
    let path = format!("/api/v1/trades/{trade}/evaluation/draw");
    let view: Value = match credentials {
        Some(c) => login(c).await?.get(&path).await?,
        None => {
            reqwest::get(format!("{server}{path}"))
                .await?
                .error_for_status()?
                .json()
                .await?
        }
    };
    if view["disclosed"].is_null() {
        bail!("the draw is sealed until the result: a supervisor of the trade's region or the trading centre can verify it now with --cert and --key");
    }
    let seed_size = view["seed_size"]
        .as_u64()
        .context("the draw has no seed_size")?;
    let draw_seq = view["seq"].as_u64().context("the draw has no seq")?;
    let mut leaves: Vec<Hash> = Vec::new();
    let (mut opening, mut entry) = (Value::Null, Value::Null);
    let mut visit = |index: u64, bytes: &[u8]| -> anyhow::Result<()> {
        if index < seed_size {
            leaves.push(merkle::leaf_hash(bytes));
        }
        if index + 1 == seed_size {
            opening = serde_json::from_slice(bytes).context("a log entry is not JSON")?;
        }
        if index + 1 == draw_seq {
            entry = serde_json::from_slice(bytes).context("a log entry is not JSON")?;
        }
        Ok(())
    };
    let verified = verify_visiting(server, None, keys, &[], &mut visit)
        .await
        .context("the log does not verify")?;
    if u64::try_from(leaves.len()).unwrap_or_default() != seed_size {
        bail!("the log has fewer than {seed_size} entries");
    }
    if opening["kind"] != "opening.completed" || opening["trade"] != trade {
        bail!("log entry {seed_size} is not the opening of trade {trade}: the seed's tree must end with it");
    }
    let seed = tree_hash(&leaves);
    if view["seed"] != hex::encode(seed) {
        bail!(
            "the seed {} is not the root of the first {seed_size} log entries ({})",
            view["seed"],
            hex::encode(seed)
        );
    }
    if entry["kind"] != "evaluation.drawn" || entry["trade"] != trade {
        bail!("log entry {draw_seq} is not the draw of trade {trade}");
    }
    for field in ["seed", "pool_sha256"] {
        if entry["data"][field] != view[field] {
            bail!(
                "the logged draw's {field} is {}, the server shows {}",
                entry["data"][field],
                view[field]
            );
        }
    }
    let salt: [u8; 32] = hex::decode(view["salt"].as_str().unwrap_or_default())
        .ok()
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| anyhow!("the disclosed draw has no 32-byte salt"))?;
    let disclosed = serde_json::to_string(&view["disclosed"])?;
    if entry["data"]["draw"] != crate::crypto::digest::commit(&salt, disclosed.as_bytes()) {
        bail!(
            "the disclosed pool and result are not the ones committed to in log entry {draw_seq}"
        );
    }
    let pool: Vec<PoolExpert> = serde_json::from_value(view["disclosed"]["pool"].clone())
        .context("the disclosed pool is not readable")?;
    if view["pool_sha256"] != hex::encode(pool_digest(&pool)) {
        bail!("the disclosed pool does not match the logged pool digest");
    }
    let logged: Drawn = serde_json::from_value(view["disclosed"]["drawn"].clone())
        .context("the disclosed result is not readable")?;
    let request = DrawRequest {
        specialty: view["request"]["specialty"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        experts: usize::try_from(view["request"]["experts"].as_u64().unwrap_or_default())?,
        avoid: serde_json::from_value(view["request"]["avoid"].clone())
            .context("the request's avoided organisations are not readable")?,
    };
    let rerun =
        draw(&seed, &pool, &request).map_err(|e| anyhow!("the draw does not rerun: {e}"))?;
    if rerun != logged {
        bail!(
            "rerunning the draw gives {:?}; the logged result is {:?}",
            rerun.experts,
            logged.experts
        );
    }
    Ok(VerifiedDraw {
        seed_size,
        experts: rerun.experts,
        log_size: verified.size,
    })
}
