//! `tradehall log verify`: a witness of the transparency log. It fetches the newest signed
//! checkpoint and checks its signature; it checks that the checkpoint extends the last one
//! it saw (consistency proof); it re-hashes every entry it has not seen and recomputes the
//! root from them. It keeps what it saw in a state file: the size, the root and the
//! tree's frontier (the complete subtrees of `[0, size)`), so the next run continues from
//! there. Any failure says what broke (docs/transparency-log.md).

use anyhow::{anyhow, bail, Context as _};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

use super::receipt::{load_keys, KeySource};
use crate::crypto::checkpoint::Checkpoint;
use crate::crypto::receipt::{LogInclusion, Receipt};
use crate::domain::merkle::{self, Hash, NodeId};

/// What the witness remembers between runs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WitnessState {
    pub origin: String,
    pub size: u64,
    /// Hex root of the tree of `size` leaves.
    pub root: String,
    /// Hex hashes of the frontier nodes of `[0, size)`, left to right.
    pub frontier: Vec<String>,
    /// Each trade's newest entry seen, to check the next one links to it; absent in
    /// states saved before the links were followed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_heads: Option<crate::domain::event::TradeLinks>,
}

/// A log that does not verify: a bad signature, a rewritten, shrunk or forked history,
/// a missing or altered entry. Unlike a network failure, trying again will not help.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Inconsistent(pub String);

fn inconsistent(message: impl Into<String>) -> anyhow::Error {
    Inconsistent(message.into()).into()
}

/// Whether `e` says the log does not verify (rather than that it could not be reached).
pub fn is_inconsistent(e: &anyhow::Error) -> bool {
    e.downcast_ref::<Inconsistent>().is_some()
}

/// What a run verified.
#[derive(Debug, Clone)]
pub struct Verified {
    pub previous_size: u64,
    pub size: u64,
    pub root: Hash,
    /// Log indexes of the receipts found in the log.
    pub receipts: Vec<i64>,
}

fn unhex(s: &str) -> anyhow::Result<Hash> {
    hex::decode(s)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| anyhow!("not a 32-byte hex hash: {s}"))
}

async fn get_json(url: &str) -> anyhow::Result<serde_json::Value> {
    let resp = reqwest::get(url).await?;
    let status = resp.status();
    let body: serde_json::Value = resp.json().await.unwrap_or_default();
    if !status.is_success() {
        bail!("{url}: {status} {body}");
    }
    Ok(body)
}

/// Verifies the log at `server` against the state in `state_path` (created if missing)
/// and saves the new state. Platform keys come from `keys` or the server.
pub async fn verify(
    server: &str,
    state_path: Option<&Path>,
    keys: Option<&Path>,
    receipts: &[std::path::PathBuf],
) -> anyhow::Result<Verified> {
    verify_visiting(server, state_path, keys, receipts, &mut |_, _| Ok(())).await
}

/// What [`verify_visiting`] calls with each new entry's index and bytes, in order.
pub type Visit<'a> = &'a mut (dyn FnMut(u64, &[u8]) -> anyhow::Result<()> + Send);

/// [`verify`], handing each entry it re-hashes to `visit`. The entries only count once
/// the run returns `Ok`: the root is checked after the last one.
pub async fn verify_visiting(
    server: &str,
    state_path: Option<&Path>,
    keys: Option<&Path>,
    receipts: &[std::path::PathBuf],
    visit: Visit<'_>,
) -> anyhow::Result<Verified> {
    let server = server.trim_end_matches('/');
    let keys = load_keys(match keys {
        Some(path) => KeySource::File(path),
        None => KeySource::Server(server),
    })
    .await?;
    let state: WitnessState = match state_path {
        Some(path) if path.exists() => serde_json::from_slice(
            &std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
        )
        .context("the state file is not witness state")?,
        _ => WitnessState::default(),
    };
    let (verified, saved, _) = verify_from(server, &state, &keys, receipts, visit).await?;
    if let Some(path) = state_path {
        std::fs::write(path, serde_json::to_vec_pretty(&saved)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(verified)
}

/// One witness run from `state` with the platform's `keys`: what it verified, the state to
/// keep, and the signed checkpoint (note text) it verified. A log that does not verify is
/// an [`Inconsistent`] error.
pub async fn verify_from(
    server: &str,
    state: &WitnessState,
    keys: &[crate::crypto::platform_key::PublicKeyInfo],
    receipts: &[std::path::PathBuf],
    visit: Visit<'_>,
) -> anyhow::Result<(Verified, WitnessState, String)> {
    let server = server.trim_end_matches('/');
    let note = reqwest::get(format!("{server}/api/v1/log/checkpoint"))
        .await?
        .error_for_status()?
        .text()
        .await?;
    let checkpoint = Checkpoint::verify(&note, keys)
        .map_err(|e| inconsistent(format!("the checkpoint's signature does not verify: {e}")))?;
    if state.size > 0 && state.origin != checkpoint.origin {
        return Err(inconsistent(format!(
            "the log's origin changed from {} to {}",
            state.origin, checkpoint.origin
        )));
    }
    if checkpoint.size < state.size {
        return Err(inconsistent(format!(
            "the log shrank: the newest checkpoint has {} entries, {} were seen before",
            checkpoint.size, state.size
        )));
    }
    // The checkpoint extends what was seen before.
    if state.size > 0 {
        let old_root = unhex(&state.root)?;
        let proof = get_json(&format!(
            "{server}/api/v1/log/proof/consistency?first={}&second={}",
            state.size, checkpoint.size
        ))
        .await?;
        let proof = hashes(&proof["proof"])?;
        if !merkle::verify_consistency(
            state.size,
            checkpoint.size,
            &old_root,
            &checkpoint.root,
            &proof,
        ) {
            return Err(inconsistent(format!(
                "the log was rewritten: the checkpoint of {} entries does not extend the {} entries seen before",
                checkpoint.size, state.size
            )));
        }
    }
    // Re-hash every new entry and recompute the root from the saved frontier.
    let mut nodes: HashMap<NodeId, Hash> = HashMap::new();
    let frontier_ids = merkle::range_nodes(0, state.size);
    if frontier_ids.len() != state.frontier.len() {
        bail!("the state file's frontier does not match its size");
    }
    for (id, h) in frontier_ids.iter().zip(&state.frontier) {
        nodes.insert(*id, unhex(h)?);
    }
    // Every trade's entries link to the trade's entry before: a link that skips one shows
    // an entry hidden when the next was appended.
    let complete = state.size == 0 || state.trade_heads.is_some();
    let mut links = state.trade_heads.clone().unwrap_or_default();
    let mut next = state.size;
    while next < checkpoint.size {
        let end = (next + PAGE).min(checkpoint.size);
        let page = get_json(&format!(
            "{server}/api/v1/log/entries?start={next}&end={end}"
        ))
        .await?;
        let entries = page["entries"].as_array().cloned().unwrap_or_default();
        if entries.is_empty() {
            return Err(inconsistent(format!(
                "the log does not serve entry {next} of its checkpoint"
            )));
        }
        for e in entries {
            if e["index"].as_u64() != Some(next) {
                return Err(inconsistent(format!(
                    "entry {next} is missing: the server skipped to {}",
                    e["index"]
                )));
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(e["entry"].as_str().unwrap_or_default())
                .context("an entry is not base64")?;
            links
                .follow(i64::try_from(next + 1)?, &bytes, complete)
                .map_err(inconsistent)?;
            visit(next, &bytes)?;
            let added = merkle::append_nodes(next, merkle::leaf_hash(&bytes), |id| {
                nodes.get(&id).copied()
            })
            .ok_or_else(|| anyhow!("the saved frontier cannot extend the tree"))?;
            nodes.extend(added);
            next += 1;
            if next == checkpoint.size {
                break;
            }
        }
    }
    let root = merkle::root(checkpoint.size, &|id| nodes.get(&id).copied())
        .ok_or_else(|| anyhow!("the recomputed tree is incomplete"))?;
    if root != checkpoint.root {
        return Err(inconsistent(
            "the entries do not hash to the signed root: an entry was altered, inserted or removed",
        ));
    }
    let frontier = merkle::range_nodes(0, checkpoint.size)
        .iter()
        .map(|id| nodes.get(id).map(hex::encode))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| anyhow!("the recomputed tree is incomplete"))?;
    let mut included = Vec::new();
    for path in receipts {
        let index = verify_receipt(server, path, keys, &note, &checkpoint)
            .await
            .with_context(|| format!("receipt {}", path.display()))?;
        included.push(index);
    }
    let saved = WitnessState {
        origin: checkpoint.origin.clone(),
        size: checkpoint.size,
        root: hex::encode(root),
        frontier,
        trade_heads: Some(links),
    };
    Ok((
        Verified {
            previous_size: state.size,
            size: checkpoint.size,
            root,
            receipts: included,
        },
        saved,
        note,
    ))
}

/// Checks that the receipt at `path` verifies, that its entry is in the tree of the newest
/// checkpoint `note`, and that the checkpoint it was issued with is a prefix of that tree.
async fn verify_receipt(
    server: &str,
    path: &Path,
    keys: &[crate::crypto::platform_key::PublicKeyInfo],
    note: &str,
    newest: &Checkpoint,
) -> anyhow::Result<i64> {
    let receipt: Receipt = serde_json::from_slice(
        &std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
    )
    .context("not receipt JSON")?;
    receipt.verify(keys)?;
    let index = u64::try_from(receipt.log_index - 1).context("log index below 1")?;
    if index >= newest.size {
        bail!(
            "the log has {} entries and does not contain the receipt's entry {}",
            newest.size,
            receipt.log_index
        );
    }
    let entries = get_json(&format!(
        "{server}/api/v1/log/entries?start={index}&end={}",
        index + 1
    ))
    .await?;
    let entry = entries["entries"][0]["entry"]
        .as_str()
        .ok_or_else(|| anyhow!("the log does not serve the receipt's entry"))?
        .to_owned();
    let proof = get_json(&format!(
        "{server}/api/v1/log/proof/inclusion?index={index}&size={}",
        newest.size
    ))
    .await?;
    let now = LogInclusion {
        entry,
        checkpoint: note.to_owned(),
        proof: hashes(&proof["proof"])?.iter().map(hex::encode).collect(),
    };
    now.verify(keys, receipt.log_index, &receipt.blinded_commitment)
        .map_err(|e| anyhow!("the receipt's entry is no longer in the log as issued: {e}"))?;
    if let Some(issued) = &receipt.inclusion {
        let then = Checkpoint::verify(&issued.checkpoint, keys)?;
        let consistent = if then.size == newest.size {
            then.root == newest.root
        } else if then.size < newest.size {
            let proof = get_json(&format!(
                "{server}/api/v1/log/proof/consistency?first={}&second={}",
                then.size, newest.size
            ))
            .await?;
            merkle::verify_consistency(
                then.size,
                newest.size,
                &then.root,
                &newest.root,
                &hashes(&proof["proof"])?,
            )
        } else {
            false
        };
        if !consistent {
            bail!(
                "the log was rewritten: the newest checkpoint ({} entries) does not extend the one the receipt was issued with ({} entries)",
                newest.size,
                then.size
            );
        }
    }
    Ok(receipt.log_index)
}

fn hashes(json: &serde_json::Value) -> anyhow::Result<Vec<Hash>> {
    json.as_array()
        .into_iter()
        .flatten()
        .map(|h| unhex(h.as_str().unwrap_or_default()))
        .collect()
}

/// Entries fetched per request.
pub const PAGE: u64 = 1000;

/// How a run looks again at the entries a state file says were seen before: a state file
/// alone takes them on trust, so an entry changed or removed below its size would pass.
#[derive(Debug, Clone, Copy)]
pub enum Again {
    /// `n` of them at random, each fetched and proved included in the newest checkpoint.
    Sample(usize),
    /// All of them, re-hashed from the first against the newest checkpoint.
    All,
}

/// What a thorough run found besides the log itself.
#[derive(Debug, Clone, Copy)]
pub struct Thorough {
    /// Entries seen before that were looked at again.
    pub checked_again: u64,
    /// The size of the checkpoint the witness cosigned, if one was asked for.
    pub cosigned: Option<u64>,
}

/// `tradehall log verify`: [`verify`], then [`look_again`] at the entries seen before,
/// then, given a witness's name and its published keys, [`check_cosigned`].
pub async fn verify_thoroughly(
    server: &str,
    state_path: Option<&Path>,
    keys: Option<&Path>,
    receipts: &[std::path::PathBuf],
    again: Again,
    witness: Option<(&str, &Path)>,
) -> anyhow::Result<(Verified, Thorough)> {
    let verified = verify(server, state_path, keys, receipts).await?;
    let published = load_keys(match keys {
        Some(path) => KeySource::File(path),
        None => KeySource::Server(server),
    })
    .await?;
    let checked_again = look_again(server, &published, verified.previous_size, again).await?;
    let cosigned = match witness {
        Some((name, witness_keys)) => {
            let witness_keys = load_keys(KeySource::File(witness_keys)).await?;
            Some(
                check_cosigned(
                    server,
                    &published,
                    name,
                    &witness_keys,
                    verified.size,
                    &verified.root,
                )
                .await?,
            )
        }
        None => None,
    };
    Ok((
        verified,
        Thorough {
            checked_again,
            cosigned,
        },
    ))
}

/// Checks the log of `size` entries with `root`, as verified here, against the newest
/// checkpoint the witness `name` cosigned, as the platform publishes it: the witness's
/// cosignature verifies with its `witness_keys`, and the two trees are consistent. A
/// platform that shows the witness one history and this verifier another (a split view)
/// fails here. Returns the cosigned size.
pub async fn check_cosigned(
    server: &str,
    platform_keys: &[crate::crypto::platform_key::PublicKeyInfo],
    name: &str,
    witness_keys: &[crate::crypto::platform_key::PublicKeyInfo],
    size: u64,
    root: &Hash,
) -> anyhow::Result<u64> {
    let server = server.trim_end_matches('/');
    let published = get_json(&format!("{server}/api/v1/log/cosignatures")).await?;
    let note = published["cosignatures"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["witness"] == name)
        .and_then(|c| c["note"].as_str())
        .ok_or_else(|| {
            inconsistent(format!(
                "the platform publishes no checkpoint cosigned by {name}"
            ))
        })?
        .to_owned();
    let cosigned = Checkpoint::verify(&note, platform_keys).map_err(|e| {
        inconsistent(format!(
            "the checkpoint {name} cosigned is not signed by the platform: {e}"
        ))
    })?;
    let line = note
        .lines()
        .find(|l| crate::crypto::checkpoint::cosigner(l) == Some(name))
        .ok_or_else(|| {
            inconsistent(format!(
                "the checkpoint published as {name}'s has no line of {name}"
            ))
        })?;
    cosigned
        .verify_cosignature(line, name, witness_keys)
        .map_err(|e| inconsistent(format!("{name}'s cosignature does not verify: {e}")))?;
    let (first, second, first_root, second_root) = if cosigned.size <= size {
        (cosigned.size, size, cosigned.root, *root)
    } else {
        (size, cosigned.size, *root, cosigned.root)
    };
    let consistent = if first == second {
        first_root == second_root
    } else {
        let proof = get_json(&format!(
            "{server}/api/v1/log/proof/consistency?first={first}&second={second}"
        ))
        .await?;
        merkle::verify_consistency(
            first,
            second,
            &first_root,
            &second_root,
            &hashes(&proof["proof"])?,
        )
    };
    if !consistent {
        return Err(inconsistent(format!(
            "the log is not consistent with the checkpoint of {} entries that {name} cosigned: the platform shows {name} another history (a split view)",
            cosigned.size
        )));
    }
    Ok(cosigned.size)
}

/// Looks again at the entries below `seen` of the log at `server`, against its newest
/// signed checkpoint: how many it checked. A change is an [`Inconsistent`] error.
pub async fn look_again(
    server: &str,
    keys: &[crate::crypto::platform_key::PublicKeyInfo],
    seen: u64,
    again: Again,
) -> anyhow::Result<u64> {
    let server = server.trim_end_matches('/');
    match again {
        Again::All => {
            let (verified, _, _) =
                verify_from(server, &WitnessState::default(), keys, &[], &mut |_, _| {
                    Ok(())
                })
                .await?;
            Ok(verified.size)
        }
        Again::Sample(n) if seen > 0 && n > 0 => {
            let note = reqwest::get(format!("{server}/api/v1/log/checkpoint"))
                .await?
                .error_for_status()?
                .text()
                .await?;
            let checkpoint = Checkpoint::verify(&note, keys).map_err(|e| {
                inconsistent(format!("the checkpoint's signature does not verify: {e}"))
            })?;
            let mut checked = 0;
            for _ in 0..n {
                let draw = u64::from_le_bytes(crate::crypto::digest::random_bytes::<8>());
                let index = draw % seen.min(checkpoint.size);
                let entries = get_json(&format!(
                    "{server}/api/v1/log/entries?start={index}&end={}",
                    index + 1
                ))
                .await?;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(entries["entries"][0]["entry"].as_str().unwrap_or_default())
                    .context("an entry is not base64")?;
                let proof = get_json(&format!(
                    "{server}/api/v1/log/proof/inclusion?index={index}&size={}",
                    checkpoint.size
                ))
                .await?;
                let path = hashes(&proof["proof"])?;
                if bytes.is_empty()
                    || !merkle::verify_inclusion(
                        index,
                        checkpoint.size,
                        &merkle::leaf_hash(&bytes),
                        &path,
                        &checkpoint.root,
                    )
                {
                    return Err(inconsistent(format!(
                        "entry {index}, seen before, is not in the signed tree as served: it was changed or removed"
                    )));
                }
                checked += 1;
            }
            Ok(checked)
        }
        Again::Sample(_) => Ok(0),
    }
}
