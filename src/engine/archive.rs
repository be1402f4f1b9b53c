//! One archive per trade (一项一档, docs/archive.md): a tar of everything the trade
//! produced, with every log entry about it, each with its inclusion proof in one signed
//! checkpoint, so that `tradehall verify archive` can check the whole of it offline.
//! For the trading centre and the trade's supervisors; each download is a logged read.

use serde_json::{json, Value};

use super::{b64, corrupt, event, Caller, EngineError, Platform, Result};
use crate::crypto::archive::manifest_message;
use crate::crypto::checkpoint::Checkpoint;
use crate::crypto::digest::sha256_hex;
use crate::domain::clock::rfc3339;
use crate::domain::event::{trade_link, LoggedEvent};
use crate::domain::opening::OpeningRecord;
use crate::store::StoreError;
use std::collections::BTreeMap;

/// Version of the archive layout.
pub const ARCHIVE_VERSION: u8 = 1;

fn json_bytes(value: &Value) -> Result<Vec<u8>> {
    serde_json_canonicalizer::to_vec(value).map_err(corrupt)
}

impl Platform {
    /// The trade's archive as tar bytes.
    #[tracing::instrument(skip_all, fields(trade.id = %trade_id), err)]
    pub async fn trade_archive(&self, caller: &Caller, trade_id: &str) -> Result<Vec<u8>> {
        let trade = self.announced_trade(trade_id).await?;
        self.require_centre_or_supervisor(caller, &trade)?;
        // The trade's entries are the ones whose bytes name it; none may hide behind a
        // changed `trade_id` column after the trade's newest entry (below it, the chain
        // the entries form shows a gap).
        self.check_nothing_names_after_head(trade_id).await?;
        // The archive's own read names the trade: the newest link of the trade's chain,
        // from which the archive walks back to the first.
        let read = self
            .store
            .append(event(
                caller,
                "confidential.read",
                Some(trade_id),
                json!({ "what": "archive", "trade": trade_id }),
                vec![],
            ))
            .await?;
        let now = self.clock.now();
        let mut files: Vec<(String, Vec<u8>)> = Vec::new();
        let view = self.trade(caller, trade_id).await?;
        files.push((
            "trade.json".into(),
            json_bytes(&serde_json::to_value(&view).map_err(corrupt)?)?,
        ));
        let documents = self.store.trade_documents(trade_id).await?;
        for d in &documents {
            if let Some((_, content)) = self.store.document(&d.sha256, true).await? {
                files.push((format!("documents/{}", d.sha256), content));
            }
        }
        files.push((
            "documents.json".into(),
            json_bytes(&serde_json::to_value(&documents).map_err(corrupt)?)?,
        ));
        let opening = self.store.opening_record(trade_id).await?;
        let mut bid_entries = Vec::new();
        if let Some(stored) = &opening {
            files.push(("opening/record.json".into(), stored.record.clone()));
            files.push((
                "opening/signature.json".into(),
                json_bytes(
                    &json!({ "signature": b64(&stored.signature), "key_id": stored.key_id }),
                )?,
            ));
            let record: OpeningRecord = serde_json::from_slice(&stored.record).map_err(corrupt)?;
            bid_entries = record.bids.iter().map(|b| b.log_index).collect();
        }
        let draw = self.store.draw_of(trade_id).await?;
        if let Some(draw) = &draw {
            files.push((
                "evaluation/draw.json".into(),
                json_bytes(&json!({
                    "request": serde_json::from_str::<Value>(&draw.request).map_err(corrupt)?,
                    "seed_size": draw.seed_size,
                    "seed": draw.seed,
                    "pool_sha256": draw.pool_sha256,
                    "disclosed": draw.disclosed,
                    "salt": hex::encode(&draw.salt),
                }))?,
            ));
        }
        let sheets = self.store.sheets(trade_id).await?;
        let mut experts: Vec<String> = sheets.iter().map(|s| s.expert_id.clone()).collect();
        if !sheets.is_empty() {
            let list: Vec<Value> = sheets
                .iter()
                .map(|s| json!({ "expert": s.expert_id, "sheet": s.sheet, "signature": b64(&s.signature) }))
                .collect();
            files.push(("evaluation/sheets.json".into(), json_bytes(&json!(list))?));
        }
        if let Some(report) = self.store.report(trade_id).await? {
            files.push((
                "evaluation/report.json".into(),
                report.report.clone().into_bytes(),
            ));
            let signatures = self.store.report_signatures(trade_id).await?;
            experts.extend(signatures.iter().map(|s| s.expert_id.clone()));
            let list: Vec<Value> = signatures
                .iter()
                .map(|s| json!({ "expert": s.expert_id, "signature": b64(&s.signature), "dissent": s.dissent }))
                .collect();
            files.push((
                "evaluation/report-signatures.json".into(),
                json_bytes(&json!(list))?,
            ));
        }
        experts.sort();
        experts.dedup();
        for expert in &experts {
            if let Some(der) = self.store.identity_certificate(expert).await? {
                files.push((format!("certificates/{expert}.der"), der));
            }
        }
        if let Ok(result) = self.trade_result(trade_id).await {
            files.push((
                "result.json".into(),
                json_bytes(&serde_json::to_value(&result).map_err(corrupt)?)?,
            ));
            let objections = self.objections(caller, trade_id).await?;
            files.push((
                "objections.json".into(),
                json_bytes(&serde_json::to_value(&objections).map_err(corrupt)?)?,
            ));
        }

        // The log: the trade's entries and its bids' (which do not name the trade), each
        // with its inclusion proof in the newest signed checkpoint.
        let note = self.checkpoint().await?;
        let checkpoint = Checkpoint::verify(&note, &self.platform_key.published())
            .map_err(|e| EngineError::Store(StoreError::Other(e.to_string().into())))?;
        let mut entries: Vec<LoggedEvent> = self.trade_chain(trade_id, read).await?;
        for index in bid_entries {
            entries.extend(self.store.events_after(index - 1, 1).await?);
        }
        entries.sort_by_key(|e| e.seq);
        entries.dedup_by_key(|e| e.seq);
        let size = checkpoint.size;
        let mut lines = Vec::new();
        for e in entries
            .iter()
            .filter(|e| u64::try_from(e.seq).is_ok_and(|s| s <= size))
        {
            let index = u64::try_from(e.seq - 1).unwrap_or_default();
            let proof = self.inclusion_proof(index, size).await?;
            let line = json!({ "index": index, "entry": b64(&e.entry), "proof": proof.proof });
            lines.extend(serde_json::to_vec(&line).map_err(corrupt)?);
            lines.push(b'\n');
        }
        files.push(("log/entries.jsonl".into(), lines));
        // The draw's seed is the root of the log's first `seed_size` entries: a
        // consistency proof to the checkpoint lets the draw be rerun offline.
        if let Some(draw) = &draw {
            let seed_size = u64::try_from(draw.seed_size).unwrap_or_default();
            if (1..=size).contains(&seed_size) {
                let proof = self.consistency_proof(seed_size, size).await?;
                files.push((
                    "log/seed-proof.json".into(),
                    json_bytes(&json!({
                        "seed_size": seed_size,
                        "size": size,
                        "proof": proof.proof,
                    }))?,
                ));
            }
        }
        files.push(("log/checkpoint.txt".into(), note.into_bytes()));
        files.push((
            "keys.json".into(),
            json_bytes(&json!({ "keys": self.platform_key.published() }))?,
        ));

        let manifest = json_bytes(&json!({
            "v": ARCHIVE_VERSION,
            "trade": trade_id,
            "created_at": rfc3339(now),
            "checkpoint_size": size,
            "read_entry": read,
            "files": files.iter().map(|(path, bytes)| json!({
                "path": path, "sha256": sha256_hex(bytes), "size": bytes.len(),
            })).collect::<Vec<_>>(),
        }))?;
        let signature = json_bytes(&json!({
            "key_id": self.platform_key.info().key_id,
            "signature": b64(&self.platform_key.sign(&manifest_message(&manifest))),
        }))?;
        let mut tar = tar::Builder::new(Vec::new());
        let mtime = u64::try_from(now.timestamp()).unwrap_or_default();
        for (path, bytes) in [
            ("archive.json".to_owned(), manifest),
            ("archive.sig".to_owned(), signature),
        ]
        .into_iter()
        .chain(files)
        {
            let mut header = tar::Header::new_ustar();
            header.set_size(u64::try_from(bytes.len()).unwrap_or_default());
            header.set_mode(0o644);
            header.set_mtime(mtime);
            header.set_cksum();
            tar.append_data(&mut header, &path, bytes.as_slice())
                .map_err(corrupt)?;
        }
        tar.into_inner().map_err(corrupt)
    }

    /// Fails, and halts the log, if an entry after the trade's newest (by the `trade_id`
    /// column) names the trade in its bytes: the column was changed behind the log.
    async fn check_nothing_names_after_head(&self, trade_id: &str) -> Result<()> {
        let head = self
            .store
            .trade_events(trade_id)
            .await?
            .last()
            .map_or(0, |e| e.seq);
        let mut after = head;
        loop {
            let page = self.store.events_after(after, SCAN_PAGE).await?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            after = last.seq;
            if let Some(hidden) = page
                .iter()
                .find(|e| trade_link(&e.entry).is_some_and(|(named, _)| named == trade_id))
            {
                return Err(self
                    .database_changed(&format!(
                        "log entry {} names trade {trade_id} but the database does not file it under the trade",
                        hidden.seq
                    ))
                    .await);
            }
        }
    }

    /// The trade's entries by what their bytes say: from entry `head` back along the
    /// `prev` links to the trade's first entry, in log order. Entries from before the
    /// links (entry format 1) are taken by the `trade_id` column, below the oldest link.
    async fn trade_chain(&self, trade_id: &str, head: i64) -> Result<Vec<LoggedEvent>> {
        let filed: BTreeMap<i64, LoggedEvent> = self
            .store
            .trade_events(trade_id)
            .await?
            .into_iter()
            .map(|e| (e.seq, e))
            .collect();
        let mut chain = Vec::new();
        let mut next = Some(head);
        let mut unlinked_below = None;
        while let Some(seq) = next {
            let entry = match filed.get(&seq) {
                Some(e) => e.clone(),
                // Linked by the entries but not filed under the trade: the column was
                // changed behind the log.
                None => {
                    let why = match self.store.events_after(seq - 1, 1).await?.first() {
                        Some(e) if e.seq == seq => format!(
                            "log entry {seq} is linked from trade {trade_id}'s entries but not filed under it"
                        ),
                        _ => format!("log entry {seq}, linked from trade {trade_id}'s entries, is missing"),
                    };
                    return Err(self.database_changed(&why).await);
                }
            };
            let Some((named, prev)) = trade_link(&entry.entry) else {
                return Err(self
                    .database_changed(&format!(
                        "log entry {seq}, linked from trade {trade_id}'s entries, does not name it"
                    ))
                    .await);
            };
            if named != trade_id {
                return Err(self
                    .database_changed(&format!(
                        "log entry {seq}, linked from trade {trade_id}'s entries, names trade {named}"
                    ))
                    .await);
            }
            next = match prev {
                Some(prev) => prev,
                None => {
                    unlinked_below = Some(seq);
                    None
                }
            };
            chain.push(entry);
        }
        let linked: std::collections::BTreeSet<i64> = chain.iter().map(|e| e.seq).collect();
        let oldest_link = chain.last().map_or(head, |e| e.seq);
        for (seq, e) in &filed {
            if linked.contains(seq) {
                continue;
            }
            // Below an entry without links, the column is all there is.
            if unlinked_below.is_some_and(|u| *seq < u) {
                chain.push(e.clone());
            } else if *seq > oldest_link || unlinked_below.is_none() {
                return Err(self
                    .database_changed(&format!(
                        "log entry {seq} is filed under trade {trade_id} but not linked from its entries"
                    ))
                    .await);
            }
        }
        chain.sort_by_key(|e| e.seq);
        Ok(chain)
    }

    /// The database disagrees with the log's own bytes: it was changed behind the log.
    /// The log halts (ADR 0030), and the caller gets why.
    async fn database_changed(&self, why: &str) -> EngineError {
        self.halt_log(why).await;
        EngineError::Store(StoreError::Halted(why.to_owned()))
    }
}

/// Entries read per page while looking for entries that name a trade.
const SCAN_PAGE: i64 = 1000;
