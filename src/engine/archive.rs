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
use crate::domain::event::LoggedEvent;
use crate::domain::opening::OpeningRecord;
use crate::store::StoreError;

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
        self.store
            .append(event(
                caller,
                "confidential.read",
                None,
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
        if let Some(draw) = self.store.draw_of(trade_id).await? {
            files.push((
                "evaluation/draw.json".into(),
                json_bytes(&json!({
                    "request": draw.request,
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
        let mut entries: Vec<LoggedEvent> = self.store.trade_events(trade_id).await?;
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
}
