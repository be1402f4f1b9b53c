//! `tradehall archive` downloads a trade's archive; `tradehall verify archive` checks one
//! offline (docs/archive.md): the manifest and its platform signature, every log entry's
//! inclusion in the signed checkpoint, and each file against the log entries that
//! committed to it.

use std::collections::BTreeMap;
use std::io::Read as _;

use anyhow::{anyhow, bail, Context as _};
use base64::Engine as _;
use serde_json::Value;

use super::receipt::parse_keys;
use super::session::{login, Credentials};
use crate::crypto::archive::manifest_message;
use crate::crypto::cert::verify_with_certificate;
use crate::crypto::checkpoint::Checkpoint;
use crate::crypto::digest::{commit, sha256_hex};
use crate::crypto::evaluation::{report_message, sheet_message};
use crate::crypto::opening::opening_record_message;
use crate::crypto::platform_key::{self, PublicKeyInfo};
use crate::crypto::receipt::blinded_commitment;
use crate::domain::merkle::{leaf_hash, verify_inclusion};
use crate::domain::opening::OpeningRecord;

/// Largest archive `verify` reads.
pub const MAX_ARCHIVE_BYTES: u64 = 4 * 1024 * 1024 * 1024;

/// Downloads the archive of `trade` as the holder of `credentials`.
pub async fn download(credentials: &Credentials<'_>, trade: &str) -> anyhow::Result<Vec<u8>> {
    let session = login(credentials).await?;
    session
        .get_bytes(&format!("/api/v1/trades/{trade}/archive"))
        .await
}

/// Trusted platform keys from a saved `GET /api/v1/platform/keys`.
pub fn load_keys(path: &std::path::Path) -> anyhow::Result<Vec<PublicKeyInfo>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse_keys(serde_json::from_str(&text).context("platform keys are not JSON")?)
}

/// What a verified archive holds.
#[derive(Debug, Clone, Default)]
pub struct Verified {
    pub trade: String,
    pub checkpoint_size: u64,
    pub entries: usize,
    pub documents: usize,
    /// What was checked, one line each.
    pub checks: Vec<String>,
}

fn b64(text: &str) -> anyhow::Result<Vec<u8>> {
    Ok(base64::engine::general_purpose::STANDARD.decode(text.trim())?)
}

fn json(files: &BTreeMap<String, Vec<u8>>, path: &str) -> anyhow::Result<Option<Value>> {
    files
        .get(path)
        .map(|bytes| serde_json::from_slice(bytes).with_context(|| format!("{path} is not JSON")))
        .transpose()
}

fn unpack(bytes: &[u8]) -> anyhow::Result<BTreeMap<String, Vec<u8>>> {
    let mut files = BTreeMap::new();
    let mut archive = tar::Archive::new(bytes);
    for entry in archive.entries().context("not a tar archive")? {
        let mut entry = entry.context("a damaged tar entry")?;
        let path = entry.path()?.to_string_lossy().into_owned();
        if path
            .split('/')
            .any(|p| p.is_empty() || p == ".." || p == ".")
        {
            bail!("the archive holds an unsafe path {path:?}");
        }
        let mut content = Vec::new();
        entry.read_to_end(&mut content)?;
        if files.insert(path.clone(), content).is_some() {
            bail!("the archive holds {path} twice");
        }
    }
    Ok(files)
}

/// Checks an archive offline. With `trusted_keys` (a saved `GET /api/v1/platform/keys`),
/// the platform's signatures must be by those keys; without, by the keys the archive
/// carries, which the caller should compare with the published ones.
pub fn verify(bytes: &[u8], trusted_keys: Option<Vec<PublicKeyInfo>>) -> anyhow::Result<Verified> {
    let files = unpack(bytes)?;
    let mut v = Verified::default();

    // The manifest lists every other file with its digest, and the platform signed it.
    let manifest_bytes = files
        .get("archive.json")
        .ok_or_else(|| anyhow!("no archive.json"))?;
    let manifest: Value = serde_json::from_slice(manifest_bytes).context("archive.json")?;
    let keys = match trusted_keys {
        Some(keys) => keys,
        None => parse_keys(json(&files, "keys.json")?.ok_or_else(|| anyhow!("no keys.json"))?)?,
    };
    let sig = json(&files, "archive.sig")?.ok_or_else(|| anyhow!("no archive.sig"))?;
    let key = keys
        .iter()
        .find(|k| sig["key_id"] == k.key_id.as_str())
        .ok_or_else(|| anyhow!("the manifest is signed by a key that is not the platform's"))?;
    if !platform_key::verify(
        key,
        &manifest_message(manifest_bytes),
        &b64(sig["signature"].as_str().unwrap_or_default())?,
    ) {
        bail!("the platform's signature over the manifest does not verify");
    }
    v.checks
        .push(format!("manifest signed by platform key {}", key.key_id));
    let listed: BTreeMap<&str, &Value> = manifest["files"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| Some((f["path"].as_str()?, f)))
        .collect();
    for (path, bytes) in &files {
        if path == "archive.json" || path == "archive.sig" {
            continue;
        }
        let entry = listed
            .get(path.as_str())
            .ok_or_else(|| anyhow!("{path} is not in the manifest"))?;
        if entry["sha256"] != sha256_hex(bytes).as_str() {
            bail!("{path} does not match its SHA-256 in the manifest");
        }
    }
    if let Some(missing) = listed.keys().find(|p| !files.contains_key(**p)) {
        bail!("{missing} is in the manifest but not in the archive");
    }
    v.trade = manifest["trade"].as_str().unwrap_or_default().to_owned();
    let trade = v.trade.clone();

    // Every entry is in the tree of the signed checkpoint.
    let note = String::from_utf8(files.get("log/checkpoint.txt").cloned().unwrap_or_default())?;
    let checkpoint = Checkpoint::verify(&note, &keys)
        .map_err(|e| anyhow!("the checkpoint does not verify: {e}"))?;
    v.checkpoint_size = checkpoint.size;
    let mut entries: BTreeMap<i64, Value> = BTreeMap::new();
    let lines = files.get("log/entries.jsonl").cloned().unwrap_or_default();
    for line in String::from_utf8(lines)?.lines() {
        let item: Value = serde_json::from_str(line).context("log/entries.jsonl")?;
        let index = item["index"]
            .as_u64()
            .ok_or_else(|| anyhow!("an entry without index"))?;
        let entry = b64(item["entry"].as_str().unwrap_or_default())?;
        let proof = item["proof"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|h| {
                hex::decode(h.as_str().unwrap_or_default())
                    .ok()
                    .and_then(|b| <[u8; 32]>::try_from(b).ok())
                    .ok_or_else(|| anyhow!("entry {index}: a proof hash is not 32 bytes of hex"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        if !verify_inclusion(
            index,
            checkpoint.size,
            &leaf_hash(&entry),
            &proof,
            &checkpoint.root,
        ) {
            bail!(
                "log entry {} is not in the signed log (its inclusion proof fails)",
                index + 1
            );
        }
        let parsed: Value = serde_json::from_slice(&entry).context("a log entry is not JSON")?;
        if parsed["seq"].as_u64() != Some(index + 1) {
            bail!("log entry {} says it is entry {}", index + 1, parsed["seq"]);
        }
        entries.insert(parsed["seq"].as_i64().unwrap_or_default(), parsed);
    }
    v.entries = entries.len();
    v.checks.push(format!(
        "{} log entries included in the checkpoint of {} entries",
        v.entries, checkpoint.size
    ));
    let of_kind = |kind: &str| -> Option<&Value> {
        entries
            .values()
            .find(|e| e["kind"] == kind && e["trade"] == trade.as_str())
    };

    // The documents are the ones announced.
    let published =
        of_kind("trade.published").ok_or_else(|| anyhow!("no trade.published entry"))?;
    let announced: BTreeMap<&str, &Value> = published["data"]["announcement"]["documents"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| Some((d["sha256"].as_str()?, d)))
        .collect();
    for (path, bytes) in files.iter().filter(|(p, _)| p.starts_with("documents/")) {
        let sha = path.trim_start_matches("documents/");
        if sha256_hex(bytes) != sha {
            bail!("{path} does not hash to its name");
        }
        if !announced.contains_key(sha) {
            bail!("{path} was not announced with the trade");
        }
        v.documents += 1;
    }
    if let Some(missing) = announced
        .keys()
        .find(|sha| !files.contains_key(&format!("documents/{sha}")))
    {
        bail!("announced document {missing} is missing");
    }
    v.checks
        .push(format!("{} documents as announced", v.documents));

    // The opening record is the one the log committed to and the platform signed, and
    // every bid in it was committed before the deadline.
    if let Some(opened) = of_kind("opening.completed") {
        let record_bytes = files
            .get("opening/record.json")
            .ok_or_else(|| anyhow!("the trade was opened but the archive has no opening record"))?;
        if opened["data"]["record_sha256"] != sha256_hex(record_bytes).as_str() {
            bail!("the opening record is not the one the log committed to");
        }
        let signed = json(&files, "opening/signature.json")?.unwrap_or_default();
        let key = keys
            .iter()
            .find(|k| signed["key_id"] == k.key_id.as_str())
            .ok_or_else(|| anyhow!("the opening record is signed by an unknown key"))?;
        if !platform_key::verify(
            key,
            &opening_record_message(record_bytes),
            &b64(signed["signature"].as_str().unwrap_or_default())?,
        ) {
            bail!("the platform's signature over the opening record does not verify");
        }
        let record: OpeningRecord = serde_json::from_slice(record_bytes)?;
        for bid in &record.bids {
            let entry = entries
                .get(&bid.log_index)
                .ok_or_else(|| anyhow!("bid entry {} is missing", bid.log_index))?;
            let salt = hex::decode(&bid.salt)?;
            if entry["kind"] != "bid.received"
                || entry["data"]["commitment"] != bid.commitment.as_str()
                || blinded_commitment(&trade, &bid.envelope_sha256, &salt) != bid.commitment
            {
                bail!("bid {} does not open its logged commitment", bid.log_index);
            }
        }
        v.checks.push(format!(
            "opening record signed and committed; {} bids open their commitments",
            record.bids.len()
        ));
    }

    // The draw, the sheets and the report are the ones committed to.
    if let Some(drawn) = of_kind("evaluation.drawn") {
        let draw = json(&files, "evaluation/draw.json")?
            .ok_or_else(|| anyhow!("the experts were drawn but the archive has no draw"))?;
        let salt: [u8; 32] = hex::decode(draw["salt"].as_str().unwrap_or_default())?
            .try_into()
            .map_err(|_| anyhow!("the draw's salt is not 32 bytes"))?;
        let disclosed = draw["disclosed"].as_str().unwrap_or_default();
        if drawn["data"]["draw"] != commit(&salt, disclosed.as_bytes()).as_str() {
            bail!("the draw is not the one the log committed to");
        }
        v.checks.push("expert draw matches its commitment".into());
    }
    if let Some(reported) = of_kind("evaluation.reported") {
        let report = files
            .get("evaluation/report.json")
            .ok_or_else(|| anyhow!("the trade was evaluated but the archive has no report"))?;
        let sha = sha256_hex(report);
        if reported["data"]["report_sha256"] != sha.as_str() {
            bail!("the evaluation report is not the one the log committed to");
        }
        let certificate = |expert: &str| {
            files
                .get(&format!("certificates/{expert}.der"))
                .ok_or_else(|| anyhow!("no certificate for expert {expert}"))
        };
        let parsed: Value = serde_json::from_slice(report)?;
        let sheets = json(&files, "evaluation/sheets.json")?.unwrap_or_default();
        for cited in parsed["sheets"].as_array().into_iter().flatten() {
            let expert = cited["expert"].as_str().unwrap_or_default();
            let sheet = sheets
                .as_array()
                .into_iter()
                .flatten()
                .find(|s| s["expert"] == expert)
                .ok_or_else(|| anyhow!("the sheet of expert {expert} is missing"))?;
            let text = sheet["sheet"].as_str().unwrap_or_default();
            if cited["sha256"] != sha256_hex(text.as_bytes()).as_str() {
                bail!("the sheet of expert {expert} is not the one the report cites");
            }
            verify_with_certificate(
                certificate(expert)?,
                &sheet_message(text.as_bytes()),
                &b64(sheet["signature"].as_str().unwrap_or_default())?,
            )
            .map_err(|e| anyhow!("the sheet of expert {expert}: {e}"))?;
        }
        let signatures = json(&files, "evaluation/report-signatures.json")?.unwrap_or_default();
        for s in signatures.as_array().into_iter().flatten() {
            let expert = s["expert"].as_str().unwrap_or_default();
            let dissent = s["dissent"].as_str().unwrap_or_default();
            verify_with_certificate(
                certificate(expert)?,
                &report_message(&trade, &sha, dissent),
                &b64(s["signature"].as_str().unwrap_or_default())?,
            )
            .map_err(|e| anyhow!("expert {expert}'s signature over the report: {e}"))?;
        }
        v.checks.push(format!(
            "evaluation report committed; {} sheets and {} report signatures verify",
            parsed["sheets"].as_array().map_or(0, Vec::len),
            signatures.as_array().map_or(0, Vec::len)
        ));
    }

    // The award and the contract are the logged ones.
    let result = json(&files, "result.json")?;
    for (kind, field) in [
        ("award.notified", "award"),
        ("contract.recorded", "contract"),
    ] {
        if let Some(logged) = of_kind(kind) {
            let shown = result.as_ref().map(|r| &r[field]);
            if shown != Some(&logged["data"][field]) {
                bail!("the {field} in result.json is not the logged one");
            }
            v.checks.push(format!("{field} as logged"));
        }
    }
    Ok(v)
}
