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
    v.checks.push(check_chain(&entries, &trade, &manifest)?);
    let of_kind = |kind: &str| -> Option<&Value> {
        entries
            .values()
            .find(|e| e["kind"] == kind && e["trade"] == trade.as_str())
    };
    // What the archive's files claim happened must have its entry: a stage left out of
    // the log cannot be shown by a file alone.
    let required = |kind: &str, because: &str| -> anyhow::Result<&Value> {
        of_kind(kind).ok_or_else(|| anyhow!("{because}, but the archive has no {kind} entry"))
    };
    for (path, kind) in [
        ("opening/record.json", "opening.completed"),
        ("evaluation/draw.json", "evaluation.drawn"),
        ("evaluation/sheets.json", "evaluation.reported"),
        ("evaluation/report.json", "evaluation.reported"),
    ] {
        if files.contains_key(path) {
            required(kind, &format!("the archive holds {path}"))?;
        }
    }
    if of_kind("evaluation.reported").is_some() {
        required("evaluation.drawn", "the trade was evaluated")?;
    }
    if of_kind("evaluation.drawn").is_some() {
        required("opening.completed", "experts were drawn")?;
    }

    // The documents are the ones announced.
    let published =
        of_kind("trade.published").ok_or_else(|| anyhow!("no trade.published entry"))?;
    let announced: BTreeMap<&str, &Value> = published["data"]["announcement"]["documents"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| Some((d["sha256"].as_str()?, d)))
        .collect();
    // Documents added after the announcement: the signed contract's.
    let contract_documents: std::collections::BTreeSet<&str> = entries
        .values()
        .filter(|e| e["kind"] == "contract.document_added" && e["trade"] == trade.as_str())
        .filter_map(|e| e["data"]["sha256"].as_str())
        .collect();
    for (path, bytes) in files.iter().filter(|(p, _)| p.starts_with("documents/")) {
        let sha = path.trim_start_matches("documents/");
        if sha256_hex(bytes) != sha {
            bail!("{path} does not hash to its name");
        }
        if !announced.contains_key(sha) && !contract_documents.contains(sha) {
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
    let mut drawn_experts: Option<Vec<String>> = None;
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
        for field in ["request", "seed_size", "seed", "pool_sha256"] {
            if draw[field] != drawn["data"][field] {
                bail!("the draw's {field} is not the logged one");
            }
        }
        let rerun = rerun_draw(&files, &entries, &trade, &draw, disclosed, &checkpoint)?;
        v.checks.push(format!(
            "expert draw matches its commitment and reruns from the log's root at entry {}: {}",
            rerun.0,
            rerun.1.join(", ")
        ));
        drawn_experts = Some(rerun.1);
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
            if !drawn_experts
                .as_ref()
                .is_some_and(|d| d.iter().any(|x| x == expert))
            {
                bail!("expert {expert} was not drawn for the trade");
            }
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

    // The candidates, the award and the contract are the logged ones, and each one
    // result.json shows has its entry.
    let result = json(&files, "result.json")?;
    let shows = |field: &str| {
        result
            .as_ref()
            .is_some_and(|r| !r[field].is_null() && r[field] != Value::Array(vec![]))
    };
    for (kind, field) in [
        ("candidates.published", "candidates"),
        ("award.notified", "award"),
        ("contract.recorded", "contract"),
    ] {
        let logged = if shows(field) {
            Some(required(kind, &format!("result.json shows the {field}"))?)
        } else {
            of_kind(kind)
        };
        if let Some(logged) = logged {
            let shown = result.as_ref().map(|r| &r[field]);
            if shown != Some(&logged["data"][field]) {
                bail!("the {field} in result.json is not the logged one");
            }
            v.checks.push(format!("{field} as logged"));
        }
    }
    if let Some(published) = of_kind("candidates.published") {
        let reported = required("evaluation.reported", "candidates were published")?;
        if published["data"]["report_sha256"] != reported["data"]["report_sha256"] {
            bail!("the candidates were not published from the archived report");
        }
    }
    if let Some(contract) = of_kind("contract.recorded") {
        let sha = contract["data"]["contract"]["document_sha256"]
            .as_str()
            .unwrap_or_default();
        if !files.contains_key(&format!("documents/{sha}")) {
            bail!("the signed contract's document {sha} is not in the archive");
        }
        v.checks
            .push("the signed contract's document is in the archive".into());
    }
    Ok(v)
}

/// Checks that the trade's entries in the archive form one chain: from this archive's own
/// read (`read_entry` in the manifest, the trade's newest entry) back along the `prev`
/// links to the trade's first entry, every link present and nothing off the chain.
/// Entries from before the links (entry format 1) are taken as they are.
fn check_chain(
    entries: &BTreeMap<i64, Value>,
    trade: &str,
    manifest: &Value,
) -> anyhow::Result<String> {
    let read = manifest["read_entry"]
        .as_i64()
        .ok_or_else(|| anyhow!("the manifest names no read_entry"))?;
    // Each entry naming the trade, with its link: `None` when it has none (format 1).
    let named: BTreeMap<i64, Option<Option<i64>>> = entries
        .iter()
        .filter(|(_, e)| e["trade"] == trade)
        .map(|(seq, e)| (*seq, e.get("prev").map(Value::as_i64)))
        .collect();
    let own = entries
        .get(&read)
        .ok_or_else(|| anyhow!("the archive's own read, log entry {read}, is not in it"))?;
    if own["kind"] != "confidential.read"
        || own["data"]["what"] != "archive"
        || own["trade"] != trade
    {
        bail!("log entry {read} is not this archive's read of trade {trade}");
    }
    if named.keys().next_back() != Some(&read) {
        bail!("the archive's read, entry {read}, is not the trade's newest entry in it");
    }
    let mut on_chain = std::collections::BTreeSet::new();
    let mut seq = read;
    let unlinked_from = loop {
        on_chain.insert(seq);
        match named.get(&seq).copied().flatten() {
            Some(Some(prev)) => {
                if !named.contains_key(&prev) {
                    bail!("log entry {prev} of trade {trade} is missing: entry {seq} links to it");
                }
                if prev >= seq {
                    bail!("log entry {seq} links forward to entry {prev}");
                }
                seq = prev;
            }
            Some(None) => break None,
            None => break Some(seq),
        }
    };
    if let Some(off) = named
        .keys()
        .find(|s| !on_chain.contains(s) && unlinked_from.is_none_or(|u| **s > u))
    {
        bail!("log entry {off} names trade {trade} but is not on the chain of its entries");
    }
    Ok(match unlinked_from {
        None => format!(
            "the trade's {} entries link without a gap from its first to this archive's read (entry {read})",
            named.len()
        ),
        Some(u) => format!(
            "the trade's entries link without a gap from entry {u} to this archive's read (entry {read}); the {} before entry {u} predate the links",
            named.keys().filter(|s| **s < u).count()
        ),
    })
}

/// Reruns the expert draw offline: the seed is the log's root at the trade's opening
/// entry (a consistency proof to the archive's checkpoint shows it), the pool is the
/// disclosed one with the logged digest, and the draw must give the disclosed result.
/// Returns the seed's tree size and the experts drawn.
fn rerun_draw(
    files: &BTreeMap<String, Vec<u8>>,
    entries: &BTreeMap<i64, Value>,
    trade: &str,
    draw: &Value,
    disclosed: &str,
    checkpoint: &Checkpoint,
) -> anyhow::Result<(u64, Vec<String>)> {
    use crate::domain::expert_draw::{draw as run, pool_digest, DrawRequest, Drawn, PoolExpert};
    let seed_size = draw["seed_size"]
        .as_u64()
        .ok_or_else(|| anyhow!("the draw has no seed_size"))?;
    let opening = entries.get(&i64::try_from(seed_size)?).ok_or_else(|| {
        anyhow!("log entry {seed_size}, the end of the draw's seed, is not in the archive")
    })?;
    if opening["kind"] != "opening.completed" || opening["trade"] != trade {
        bail!("log entry {seed_size} is not the trade's opening: the seed's tree must end with it");
    }
    let seed: [u8; 32] = hex::decode(draw["seed"].as_str().unwrap_or_default())?
        .try_into()
        .map_err(|_| anyhow!("the draw's seed is not 32 bytes"))?;
    let proof = json(files, "log/seed-proof.json")?
        .ok_or_else(|| anyhow!("the archive has no log/seed-proof.json for the draw's seed"))?;
    if proof["seed_size"] != seed_size || proof["size"] != checkpoint.size {
        bail!("log/seed-proof.json is not from the seed's tree to the checkpoint");
    }
    let path = proof["proof"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|h| {
            hex::decode(h.as_str().unwrap_or_default())
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| anyhow!("a seed proof hash is not 32 bytes of hex"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    if !crate::domain::merkle::verify_consistency(
        seed_size,
        checkpoint.size,
        &seed,
        &checkpoint.root,
        &path,
    ) {
        bail!("the draw's seed is not the root of the log's first {seed_size} entries");
    }
    let disclosed: Value = serde_json::from_str(disclosed).context("the disclosed draw")?;
    let pool: Vec<PoolExpert> =
        serde_json::from_value(disclosed["pool"].clone()).context("the disclosed pool")?;
    if draw["pool_sha256"] != hex::encode(pool_digest(&pool)).as_str() {
        bail!("the disclosed pool does not match the logged pool digest");
    }
    let logged: Drawn =
        serde_json::from_value(disclosed["drawn"].clone()).context("the disclosed result")?;
    let request = DrawRequest {
        specialty: draw["request"]["specialty"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        experts: usize::try_from(draw["request"]["experts"].as_u64().unwrap_or_default())?,
        avoid: serde_json::from_value(draw["request"]["avoid"].clone())
            .context("the draw's avoided organisations")?,
    };
    let rerun = run(&seed, &pool, &request).map_err(|e| anyhow!("the draw does not rerun: {e}"))?;
    if rerun != logged {
        bail!(
            "rerunning the draw gives {:?}; the disclosed result is {:?}",
            rerun.experts,
            logged.experts
        );
    }
    Ok((seed_size, rerun.experts))
}
