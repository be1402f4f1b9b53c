//! Following other platforms (互联互通, issue 8, docs/adr/0019): a regional platform
//! follows its prefectures' platforms. For each one, a loop witnesses its transparency
//! log exactly as `tradehall log verify` does (`client::witness`):
//!
//! 1. the newest checkpoint's signature, with the keys configured for that platform;
//! 2. a consistency proof from the last verified checkpoint;
//! 3. every new entry, re-hashed up to the signed root.
//!
//! Only then are the new entries kept, in one transaction with the new verified state.
//! A log that ever fails to verify (a fork, a rewrite, a shrink, an altered entry, a bad
//! signature) stops the mirror for good. A public `mirror.halted` entry then appears in
//! this platform's log, and so on every feed, including the supervisors'. The mirrored
//! entries make one region-wide view of the public data.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{event, Caller, EngineError, Platform, Result};
use crate::client::witness::{self, WitnessState};
use crate::crypto::checkpoint::Checkpoint;
use crate::crypto::platform_key::PublicKeyInfo;
use crate::domain::clock::rfc3339;
use crate::domain::risk::{Finding, RuleInfo, Severity};
use crate::store::mirror::{Cosignature, MirrorState, MirroredEntry};

/// The alert a followed log that stops verifying raises, to the supervisors of its region.
const MIRROR_HALTED: RuleInfo = RuleInfo {
    id: "mirror_halted",
    name: "下级平台交易日志无法验证 (分叉、改写或删除)",
    severity: Severity::Red,
    basis:
        "《公共资源交易平台管理暂行办法》(国家发展改革委等14部委令第39号): 平台互联互通、信息共享",
};

/// How often each followed log is looked at.
pub const MIRROR_INTERVAL: Duration = Duration::from_secs(1);

/// A platform this one follows.
#[derive(Debug, Clone)]
pub struct Followed {
    /// A short name, e.g. the prefecture's 行政区划代码.
    pub name: String,
    /// Its public address.
    pub url: String,
    /// Its 行政区划代码: whose supervisors see alerts about it.
    pub region: crate::domain::region::RegionCode,
    /// Its published signing keys (its `GET /api/v1/platform/keys`, saved by the
    /// operator): checkpoints signed with anything else do not verify.
    pub keys: Vec<PublicKeyInfo>,
}

/// A witness of this platform's log (the region's platform, for a prefecture): its
/// name (its log origin) and its published keys.
#[derive(Debug, Clone)]
pub struct Witness {
    pub name: String,
    pub keys: Vec<PublicKeyInfo>,
}

/// A witness's newest cosignature as published: the checkpoint with the witness's line
/// added, a C2SP cosigned note.
#[derive(Debug, Clone, Serialize)]
pub struct CosignedCheckpoint {
    pub witness: String,
    pub size: u64,
    pub cosigned_at: String,
    /// This platform's signed checkpoint followed by the witness's signature line.
    pub note: String,
}

/// What one look at a followed log found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MirrorRun {
    /// New entries verified and kept: the new size.
    Advanced(u64),
    Unchanged,
    /// The log does not verify; mirroring stopped (now or before) for this reason.
    Halted(String),
    /// It could not be reached or answered an error; the next look tries again.
    Unreachable(String),
}

/// A followed platform as the region-wide view shows it.
#[derive(Debug, Clone, Serialize)]
pub struct FollowedView {
    pub name: String,
    pub url: String,
    /// The log's origin (its checkpoints' first line), once seen.
    pub origin: String,
    /// Entries verified and mirrored.
    pub size: u64,
    pub root: String,
    /// The newest checkpoint verified, as signed (note text).
    pub checkpoint: String,
    pub verified_at: Option<String>,
    /// Why mirroring stopped, if the log ever failed to verify.
    pub halted: Option<String>,
    pub halted_at: Option<String>,
}

fn cosigned_view(c: &Cosignature) -> CosignedCheckpoint {
    CosignedCheckpoint {
        witness: c.witness.clone(),
        size: c.size,
        cosigned_at: rfc3339(c.cosigned_at),
        note: format!("{}{}\n", c.checkpoint, c.cosignature),
    }
}

/// The kind and trade of an entry, from its bytes (docs/event-log.md).
fn entry_fields(bytes: &[u8]) -> (String, Option<String>) {
    let entry: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
    (
        entry["kind"].as_str().unwrap_or_default().to_owned(),
        entry["trade"].as_str().map(str::to_owned),
    )
}

impl Platform {
    /// Starts one loop per followed platform; each stops when the platform is dropped.
    pub fn start_mirrors(self: &Arc<Self>) {
        for followed in self.settings.follow.clone() {
            let platform = Arc::downgrade(self);
            tokio::spawn(async move {
                // The region-wide risk rules run on what was mirrored before this process
                // started once (a stop between a mirror's advance and its rules loses
                // nothing), then after each advance that brings an award.
                let mut checked = false;
                loop {
                    let Some(p) = platform.upgrade() else { return };
                    match p.mirror_once(&followed).await {
                        Ok(MirrorRun::Halted(_)) => return,
                        Ok(MirrorRun::Unreachable(why)) => {
                            tracing::warn!(platform = %followed.name, error = %why, "cannot reach a followed platform");
                        }
                        Ok(_) if !checked => match p.region_risk(&followed.name).await {
                            Ok(_) => checked = true,
                            Err(e) => {
                                tracing::warn!(platform = %followed.name, error = %e, "region-wide risk rules");
                            }
                        },
                        Ok(_) => {}
                        Err(e) => tracing::warn!(platform = %followed.name, error = ?e, "mirror"),
                    }
                    drop(p);
                    tokio::time::sleep(MIRROR_INTERVAL).await;
                }
            });
        }
    }

    /// Looks once at `followed`'s log: verifies what is new and keeps it, or halts the
    /// mirror if the log does not verify.
    pub async fn mirror_once(&self, followed: &Followed) -> Result<MirrorRun> {
        let current = self.store.mirror(&followed.name).await?;
        if let Some(halted) = current.as_ref().and_then(|c| c.halted.clone()) {
            return Ok(MirrorRun::Halted(halted));
        }
        let state = current
            .as_ref()
            .map(|c| WitnessState {
                origin: c.origin.clone(),
                size: c.size,
                root: c.root.clone(),
                frontier: c.frontier.clone(),
                // The mirror keeps no trade heads: it checks the links of trades it sees
                // begin, and of all trades on its first run.
                trade_heads: None,
            })
            .unwrap_or_default();
        let mut entries = Vec::new();
        let mut terms = Vec::new();
        let name = followed.name.clone();
        let mut keep = |index: u64, bytes: &[u8]| -> anyhow::Result<()> {
            let (kind, trade_id) = entry_fields(bytes);
            if kind == "trade.published" {
                terms.extend(self.announced(index, bytes));
            }
            entries.push(MirroredEntry {
                mirror: name.clone(),
                index,
                kind,
                trade_id,
                entry: bytes.to_vec(),
            });
            Ok(())
        };
        match witness::verify_from(&followed.url, &state, &followed.keys, &[], &mut keep).await {
            Ok((verified, saved, note)) => {
                if verified.size == state.size && current.is_some() {
                    return Ok(MirrorRun::Unchanged);
                }
                let next = MirrorState {
                    name: followed.name.clone(),
                    url: followed.url.clone(),
                    origin: saved.origin,
                    size: saved.size,
                    root: saved.root,
                    frontier: saved.frontier,
                    checkpoint: note,
                    verified_at: self.clock.now(),
                    halted: None,
                    halted_at: None,
                };
                if self
                    .store
                    .advance_mirror(&next, state.size, &entries, &terms)
                    .await?
                {
                    self.cosign(followed, &next.checkpoint).await;
                    if entries.iter().any(|e| e.kind == "award.notified") {
                        if let Err(e) = self.region_risk(&followed.name).await {
                            tracing::warn!(platform = %followed.name, error = %e, "region-wide risk rules");
                        }
                    }
                    Ok(MirrorRun::Advanced(next.size))
                } else {
                    Ok(MirrorRun::Unchanged)
                }
            }
            Err(e) if witness::is_inconsistent(&e) => {
                let reason = format!("{e:#}");
                tracing::error!(platform = %followed.name, %reason, "a followed log does not verify: mirroring stopped");
                let ev = event(
                    &Caller::default(),
                    "mirror.halted",
                    None,
                    serde_json::json!({
                        "platform": followed.name,
                        "url": followed.url,
                        "reason": reason,
                        "verified_size": state.size,
                        "verified_root": state.root,
                        "verified_checkpoint": current.as_ref().map(|c| c.checkpoint.clone()),
                    }),
                    vec![],
                );
                let finding = Finding {
                    rule: MIRROR_HALTED,
                    subjects: vec![followed.name.clone()],
                    summary: format!("{} 的交易日志无法验证, 已停止同步: {reason}", followed.name),
                    evidence: serde_json::json!({
                        "platform": followed.name,
                        "url": followed.url,
                        "reason": reason,
                        "verified_size": state.size,
                        "verified_root": state.root,
                    }),
                };
                let alert = super::risk::alert_of(
                    &finding,
                    &followed.name,
                    &followed.region,
                    self.clock.now(),
                );
                self.store
                    .halt_mirror(&followed.name, &reason, self.clock.now(), ev, alert)
                    .await?;
                Ok(MirrorRun::Halted(reason))
            }
            Err(e) => Ok(MirrorRun::Unreachable(format!("{e:#}"))),
        }
    }

    /// Cosigns a checkpoint of `followed` this platform verified, as its witness, and
    /// hands the cosignature to it to publish. A failure is logged; the next verified
    /// checkpoint is cosigned again.
    async fn cosign(&self, followed: &Followed, note: &str) {
        let Ok(checkpoint) = Checkpoint::verify(note, &followed.keys) else {
            return;
        };
        let time = u64::try_from(self.clock.now().timestamp()).unwrap_or(0);
        let line = checkpoint.cosign(&self.settings.log_origin, &self.platform_key, time);
        let sent = reqwest::Client::new()
            .post(format!("{}/api/v1/log/cosignatures", followed.url))
            .timeout(Duration::from_secs(10))
            .json(&serde_json::json!({ "checkpoint": note, "cosignature": line }))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status);
        if let Err(e) = sent {
            tracing::warn!(platform = %followed.name, error = %e, "the followed platform did not take the cosignature");
        }
    }

    /// Takes a witness's cosignature of one of this platform's checkpoints: the
    /// checkpoint must be signed by this platform, the witness configured
    /// (`--witnesses`) and its signature good.
    pub async fn accept_cosignature(&self, note: &str, line: &str) -> Result<CosignedCheckpoint> {
        let name = crate::crypto::checkpoint::cosigner(line).unwrap_or_default();
        let witness = self
            .settings
            .witnesses
            .iter()
            .find(|w| w.name == name)
            .ok_or_else(|| {
                EngineError::invalid(
                    "unknown_witness",
                    format!("{name:?} is not a witness of this platform (--witnesses)"),
                )
            })?;
        let checkpoint = Checkpoint::verify(note, &self.platform_key.published())
            .ok()
            .filter(|c| c.origin == self.settings.log_origin)
            .ok_or_else(|| {
                EngineError::invalid(
                    "checkpoint_invalid",
                    "the checkpoint is not one this platform signed",
                )
            })?;
        let time = checkpoint
            .verify_cosignature(line, &witness.name, &witness.keys)
            .map_err(|e| EngineError::invalid("cosignature_invalid", e.to_string()))?;
        let cosignature = Cosignature {
            witness: witness.name.clone(),
            size: checkpoint.size,
            checkpoint: note.to_owned(),
            cosignature: line.trim_end().to_owned(),
            cosigned_at: DateTime::from_timestamp(i64::try_from(time).unwrap_or(0), 0)
                .unwrap_or_default(),
            received_at: self.clock.now(),
        };
        self.store.record_cosignature(&cosignature).await?;
        Ok(cosigned_view(&cosignature))
    }

    /// Each witness's newest cosigned checkpoint.
    pub async fn cosigned_checkpoints(&self) -> Result<Vec<CosignedCheckpoint>> {
        Ok(self
            .store
            .cosignatures()
            .await?
            .iter()
            .map(cosigned_view)
            .collect())
    }

    /// The followed platforms and how far each is verified.
    pub async fn followed(&self) -> Result<Vec<FollowedView>> {
        let stored = self.reads.mirrors().await?;
        let at = |t: Option<DateTime<Utc>>| t.map(rfc3339);
        Ok(self
            .settings
            .follow
            .iter()
            .map(|f| {
                let s = stored.iter().find(|s| s.name == f.name);
                FollowedView {
                    name: f.name.clone(),
                    url: f.url.clone(),
                    origin: s.map(|s| s.origin.clone()).unwrap_or_default(),
                    size: s.map_or(0, |s| s.size),
                    root: s.map(|s| s.root.clone()).unwrap_or_default(),
                    checkpoint: s.map(|s| s.checkpoint.clone()).unwrap_or_default(),
                    verified_at: at(s.filter(|s| s.size > 0).map(|s| s.verified_at)),
                    halted: s.and_then(|s| s.halted.clone()),
                    halted_at: at(s.and_then(|s| s.halted_at)),
                }
            })
            .collect())
    }
}
