//! The timed opening (开标): at the deadline the window opens; custodians fetch their
//! sealed shares, open them on their own machines and contribute them sealed to the
//! server's one-time opening key; with k contributions every bid key is rebuilt, every
//! bid decrypted and checked, and all bids are revealed at once in a signed record.
//!
//! The opening key and the contributed shares live in this process's memory only and are
//! wiped when the opening completes; a restart starts a new opening key and the custodians
//! contribute again (docs/adr/0005).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use rayon::prelude::*;
use zeroize::Zeroizing;

use super::{b64, event, Caller, EngineError, Platform, Result};
use crate::crypto::cert::verify_der_with_certificate;
use crate::crypto::digest::sha256_hex;
use crate::crypto::envelope::{self, manifest_signature_message, EnvelopeError};
use crate::crypto::opening::{
    contribution_signature_message, open_contribution, opening_key_message, opening_record_message,
    ContributionBinding,
};
use crate::crypto::threshold::{recover_key, CustodianSecretKey, SealedShare};
use crate::domain::auction::Phase;
use crate::domain::clock::rfc3339;
use crate::domain::identity::Role;
use crate::domain::opening::{
    BidShare, Contribution, CustodianProgress, OpeningKey, OpeningRecord, OpeningStatus, RecordBid,
    RecordCommittee, RecordCustodian, RecordFile, RecordOrganization, RecordRule, ShareBundle,
    SignedRecord, RECORD_VERSION,
};
use crate::domain::trade::{StoredBid, Trade, TradeStatus};
use crate::store::{OpeningSession, StoreError, StoredOpening, INLINE_STORAGE};

/// Largest integer an RFC 8785 (IEEE double) number states exactly.
const MAX_EXACT_INTEGER: i64 = (1 << 53) - 1;

/// The storage path of a live sale's sealed reserve: its envelope is kept with it.
pub(super) const RESERVE_STORAGE: &str = "reserve";

/// Window length when the rulebook names none.
const DEFAULT_WINDOW_MINUTES: i64 = 60;

fn unb64(field: &'static str, value: &str) -> Result<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .map_err(|_| {
            EngineError::invalid("invalid_field", format!("{field} must be standard base64"))
        })
}

/// One custodian's opened shares, by bid id.
type Shares = HashMap<String, Zeroizing<Vec<u8>>>;

/// One trade's opening in progress. Dropping it wipes the opening key and the shares.
pub(super) struct Session {
    secret: CustodianSecretKey,
    key: OpeningKey,
    /// (custodian id, its shares by bid id), in the order they arrived.
    pub(super) contributions: Vec<(String, Shares)>,
}

/// The openings in progress in this process, and who this process is among the
/// instances sharing the database (docs/adr/0018).
pub struct Openings {
    sessions: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<Session>>>>>,
    /// This process: a fresh id at every start.
    instance_id: String,
    /// Where the other instances reach this one.
    instance_url: std::sync::RwLock<String>,
    /// Opening keys of sessions held by instances found unreachable: the next request for
    /// shares here replaces them.
    unreachable: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl Default for Openings {
    fn default() -> Self {
        Self {
            sessions: std::sync::Mutex::default(),
            instance_id: uuid::Uuid::new_v4().to_string(),
            instance_url: std::sync::RwLock::new(String::new()),
            unreachable: std::sync::Mutex::default(),
        }
    }
}

impl Openings {
    /// This process's id among the instances sharing the database.
    pub(crate) fn instance_id(&self) -> &str {
        &self.instance_id
    }

    fn slot(&self, trade_id: &str) -> Arc<tokio::sync::Mutex<Option<Session>>> {
        let mut sessions = self
            .sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        sessions.entry(trade_id.to_owned()).or_default().clone()
    }

    fn forget(&self, trade_id: &str) {
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(trade_id);
    }

    /// Sets where the other instances reach this one (once the server has bound).
    pub fn set_instance_url(&self, url: &str) {
        *self
            .instance_url
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            url.trim_end_matches('/').to_owned();
    }

    pub fn instance_url(&self) -> String {
        self.instance_url
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Notes that the instance holding the session with opening key `key_id` cannot be
    /// reached: this instance may replace the session.
    pub fn mark_unreachable(&self, key_id: &str) {
        self.unreachable
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(key_id.to_owned());
    }

    fn is_unreachable(&self, key_id: &str) -> bool {
        self.unreachable
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(key_id)
    }

    /// Whether a recorded session belongs to a process that is gone or cannot be reached,
    /// so that this one may replace it: a process of an earlier start of this instance
    /// (same address, another id), or one marked unreachable.
    fn replaceable(&self, recorded: &OpeningSession) -> bool {
        recorded.instance_id == self.instance_id
            || recorded.instance_url == self.instance_url()
            || self.is_unreachable(&recorded.key_id)
    }
}

fn elsewhere(recorded: &OpeningSession) -> EngineError {
    EngineError::OpeningElsewhere {
        instance_url: recorded.instance_url.clone(),
        key_id: recorded.key_id.clone(),
    }
}

/// What a contribution achieved.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ContributionOutcome {
    pub contributions: usize,
    pub threshold: u8,
    /// The signed record, if this contribution completed the opening.
    pub opening: Option<SignedRecord>,
}

/// How an opening ended, for its record.
pub(super) struct Decided {
    pub outcome: TradeStatus,
    pub reason: Option<String>,
    pub min_valid_bids: Option<RecordRule>,
}

/// Why a bid is invalid: a stable code and words for the record.
struct Invalid(&'static str, String);

impl Platform {
    /// When the trade's opening can start: a tender's bid deadline; for a live sale, the
    /// instant its quoting ended and the sealed reserve began to wait (ADR 0011), if it
    /// has.
    pub async fn opening_start(&self, trade: &Trade) -> Result<Option<DateTime<Utc>>> {
        if trade.terms.live.is_none() {
            return Ok(Some(trade.terms.bid_deadline));
        }
        Ok(match self.store.sale(&trade.id).await? {
            Some((sale, _)) => match sale.phase {
                Phase::Reserve { since } => Some(since),
                _ => None,
            },
            None => None,
        })
    }

    /// The end of the trade's opening window: the rulebook's length after the opening's
    /// start (or after the deadline, before a live sale's start is known), or a
    /// supervisor's extension.
    pub async fn opening_window_end(&self, trade: &Trade) -> Result<DateTime<Utc>> {
        if let Some(end) = self.store.opening_extension(&trade.id).await? {
            return Ok(end);
        }
        let minutes = self
            .rulebook
            .procedure(&trade.terms.kind, &trade.terms.procedure)
            .and_then(|p| p.rules.opening_window_minutes.as_ref())
            .map_or(DEFAULT_WINDOW_MINUTES, |r| r.value);
        let start = self
            .opening_start(trade)
            .await?
            .unwrap_or(trade.terms.bid_deadline);
        Ok(start + Duration::minutes(minutes))
    }

    /// What the committee opens: a tender's active bids, or a live sale's sealed reserve
    /// (as a bid of the seller, its envelope kept with the reserve).
    async fn sealed_items(&self, trade: &Trade) -> Result<Vec<StoredBid>> {
        if trade.terms.live.is_none() {
            return Ok(self.store.active_bids(&trade.id).await?);
        }
        Ok(self
            .store
            .reserve(&trade.id)
            .await?
            .map(|r| StoredBid {
                id: r.id,
                trade_id: trade.id.clone(),
                bidder_id: r.identity_id,
                envelope_sha256: r.envelope_sha256,
                envelope_len: 0,
                storage_path: RESERVE_STORAGE.to_owned(),
                salt: [0; 32],
                blinded_commitment: String::new(),
                received_at: r.sealed_at,
                seq: r.seq,
                status: "reserve".into(),
            })
            .into_iter()
            .collect())
    }

    /// Checks that the window is open now for a custodian of this trade, and returns the
    /// custodian's registered key id.
    async fn check_window(&self, caller: &Caller, trade: &Trade) -> Result<String> {
        let custodian = caller.require(Role::Custodian)?;
        if !trade.terms.committee.custodians.contains(&custodian.id) {
            return Err(EngineError::Forbidden {
                needed: Role::Custodian,
            });
        }
        super::interventions::require_active(trade)?;
        if trade.status != TradeStatus::Published {
            return Err(EngineError::conflict(
                "opening_completed",
                "this trade has already been opened",
            ));
        }
        let now = self.clock.now();
        match self.opening_start(trade).await? {
            Some(start) if now >= start => {}
            Some(start) => {
                return Err(EngineError::conflict(
                    "opening_not_started",
                    format!(
                        "the opening starts at the bid deadline, {} (server time)",
                        rfc3339(start)
                    ),
                ))
            }
            // Only a live sale has no start yet.
            None => {
                return Err(EngineError::conflict(
                    "opening_not_started",
                    "a sale's sealed reserve is opened when quoting ends on a quote",
                ))
            }
        }
        let end = self.opening_window_end(trade).await?;
        if now >= end {
            return Err(EngineError::conflict(
                "opening_window_closed",
                "the opening window has ended without enough contributions; a supervisor can extend it",
            ));
        }
        self.store
            .custodian_keys(&trade.id)
            .await?
            .into_iter()
            .find(|k| k.custodian == custodian.id)
            .map(|k| k.key_id)
            .ok_or_else(|| {
                EngineError::conflict(
                    "custodian_key_missing",
                    "this custodian registered no key for the trade",
                )
            })
    }

    /// The opening session of this trade, held here: the one running, or a new one
    /// with a fresh one-time opening key, signed by the platform key and logged, if none
    /// is recorded or the recorded one is gone. A session held by another live instance
    /// is `OpeningElsewhere`.
    async fn start_session(
        &self,
        caller: &Caller,
        trade: &Trade,
        slot: &mut Option<Session>,
    ) -> Result<OpeningKey> {
        let recorded = self.store.opening_session(&trade.id).await?;
        if let (Some(session), Some(r)) = (slot.as_ref(), &recorded) {
            if r.key_id == session.key.key_id {
                return Ok(session.key.clone());
            }
        }
        // A session here that the record no longer names was replaced by another instance.
        *slot = None;
        let replacing = match &recorded {
            None => None,
            Some(r) if self.openings.replaceable(r) => Some(r.key_id.as_str()),
            Some(r) => return Err(elsewhere(r)),
        };
        let (secret, public) = CustodianSecretKey::generate();
        let key = OpeningKey {
            public_key: b64(public.as_bytes()),
            key_id: public.key_id(),
            signature: b64(&self
                .platform_key
                .sign(&opening_key_message(&trade.id, &public))),
            platform_key_id: self.platform_key.info().key_id.clone(),
        };
        let window_end = self.opening_window_end(trade).await?;
        let ev = event(
            caller,
            "opening.started",
            Some(&trade.id),
            serde_json::json!({ "opening_key": key, "window_ends_at": rfc3339(window_end) }),
            vec![],
        );
        let session = OpeningSession {
            trade_id: trade.id.clone(),
            key_id: key.key_id.clone(),
            instance_id: self.openings.instance_id.clone(),
            instance_url: self.openings.instance_url(),
            started_at: self.clock.now(),
        };
        if self
            .store
            .start_opening_session(&session, replacing, ev)
            .await?
            .is_none()
        {
            // Another instance started (or replaced) the session first.
            return Err(match self.store.opening_session(&trade.id).await? {
                Some(r) => elsewhere(&r),
                None => EngineError::conflict(
                    "opening_key_stale",
                    "the opening restarted: fetch the shares again",
                ),
            });
        }
        *slot = Some(Session {
            secret,
            key: key.clone(),
            contributions: Vec::new(),
        });
        Ok(key)
    }

    /// The custodians who contributed to the opening session in force, from the log.
    async fn contributors(&self, trade_id: &str) -> Result<Vec<String>> {
        let mut key = None;
        let mut contributors: Vec<String> = Vec::new();
        for e in self
            .store
            .trade_events_of_kinds(trade_id, &["opening.started", "opening.contribution"])
            .await?
        {
            let entry: serde_json::Value = serde_json::from_slice(&e.entry).unwrap_or_default();
            let data = &entry["data"];
            if e.kind == "opening.started" {
                key = data["opening_key"]["key_id"].as_str().map(str::to_owned);
                contributors.clear();
            } else if data["opening_key"].as_str() == key.as_deref() {
                if let Some(c) = data["custodian"].as_str() {
                    if !contributors.iter().any(|x| x == c) {
                        contributors.push(c.to_owned());
                    }
                }
            }
        }
        Ok(contributors)
    }

    /// A custodian's sealed shares of every bid, once the deadline has passed.
    #[tracing::instrument(skip_all, fields(trade.id = %trade_id), err)]
    pub async fn opening_shares(&self, caller: &Caller, trade_id: &str) -> Result<ShareBundle> {
        let trade = self.announced_trade(trade_id).await?;
        let key_id = self.check_window(caller, &trade).await?;
        let slot = self.openings.slot(trade_id);
        let mut guard = slot.lock().await;
        let opening_key = self.start_session(caller, &trade, &mut guard).await?;
        drop(guard);
        let bids = self.sealed_items(&trade).await?;
        let (dir, store) = (self.settings.bid_dir.clone(), self.store.clone());
        let handle = tokio::runtime::Handle::current();
        let wanted = key_id.clone();
        let shares = tokio::task::spawn_blocking(move || {
            bids.par_iter()
                .filter_map(|bid| {
                    // An envelope that cannot be read now is reported invalid at the opening.
                    let source = Source::of(&handle, &store, &dir, bid).ok()?;
                    let header = envelope::read_header(source.reader().ok()?).ok()?;
                    let share = header.share_for(&wanted).ok()?;
                    let cert = header.certificate_chain().ok()?.into_iter().next()?;
                    Some(BidShare {
                        bid: bid.id.clone(),
                        bidder_certificate: sha256_hex(&cert),
                        enc: share.enc.map(|enc| b64(&enc)),
                        ct: b64(&share.ciphertext),
                    })
                })
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| EngineError::Store(StoreError::Other(Box::new(e))))?;
        Ok(ShareBundle {
            trade: trade_id.to_owned(),
            custodian_key: key_id,
            opening_key,
            window_ends_at: rfc3339(self.opening_window_end(&trade).await?),
            shares,
        })
    }

    /// Takes a custodian's contribution; the k-th one runs the opening.
    #[tracing::instrument(skip_all, fields(trade.id = %trade_id), err)]
    pub async fn contribute(
        &self,
        caller: &Caller,
        trade_id: &str,
        contribution: Contribution,
    ) -> Result<ContributionOutcome> {
        let trade = self.announced_trade(trade_id).await?;
        let key_id = self.check_window(caller, &trade).await?;
        let custodian = caller.require(Role::Custodian)?.id.clone();
        let enc: [u8; 32] = unb64("enc", &contribution.enc)?
            .try_into()
            .map_err(|_| EngineError::invalid("invalid_field", "enc is 32 bytes"))?;
        let ct = unb64("ct", &contribution.ct)?;
        let signature = unb64("signature", &contribution.signature)?;
        let ct_sha256 = sha256_hex(&ct);

        let slot = self.openings.slot(trade_id);
        let mut guard = slot.lock().await;
        let recorded = self.store.opening_session(trade_id).await?;
        match (guard.as_ref(), &recorded) {
            (Some(session), Some(r)) if r.key_id == session.key.key_id => {}
            (_, Some(r)) if !self.openings.replaceable(r) => return Err(elsewhere(r)),
            _ => *guard = None,
        }
        let Some(session) = guard.as_mut() else {
            return Err(EngineError::conflict(
                "opening_key_stale",
                "no opening is running with this key (the server restarted?): fetch the shares again",
            ));
        };
        if session.key.key_id != contribution.opening_key {
            return Err(EngineError::conflict(
                "opening_key_stale",
                "the contribution is sealed to another opening key: fetch the shares again",
            ));
        }
        let der = self
            .store
            .identity_certificate(&custodian)
            .await?
            .ok_or(EngineError::NotRegistered)?;
        let cert = self
            .trust
            .current()
            .verify_identity(&[der], self.clock.now())?;
        cert.verify_signature(
            &contribution_signature_message(trade_id, &session.key.key_id, &ct_sha256),
            &signature,
        )?;
        let binding = ContributionBinding {
            trade_id,
            custodian_key_id: &key_id,
            opening_key_id: &session.key.key_id,
        };
        let opened = open_contribution(
            &session.secret,
            &binding,
            &SealedShare {
                enc: Some(enc),
                ciphertext: ct,
            },
        )
        .map_err(|e| {
            EngineError::invalid(
                "contribution_invalid",
                format!("the contribution does not open with this trade's opening key: {e}"),
            )
        })?;
        let bids = self.sealed_items(&trade).await?;
        let mut shares = HashMap::new();
        for s in opened {
            if !bids.iter().any(|b| b.id == s.bid) {
                return Err(EngineError::invalid(
                    "contribution_invalid",
                    format!("the contribution names an unknown bid {}", s.bid),
                ));
            }
            if let Some(share) = s.share {
                shares.insert(s.bid, share);
            }
        }
        let ev = event(
            caller,
            "opening.contribution",
            Some(trade_id),
            serde_json::json!({
                "custodian": custodian,
                "opening_key": session.key.key_id,
                "ciphertext_sha256": ct_sha256,
                "signature": contribution.signature,
            }),
            vec![],
        );
        self.store.append(ev).await?;
        // A custodian that contributes again replaces its earlier contribution.
        session.contributions.retain(|(c, _)| c != &custodian);
        session.contributions.push((custodian, shares));
        let contributions = session.contributions.len();
        let threshold = trade.terms.committee.threshold;
        if contributions < usize::from(threshold) {
            return Ok(ContributionOutcome {
                contributions,
                threshold,
                opening: None,
            });
        }
        let record = if trade.terms.live.is_some() {
            self.open_reserve(caller, &trade, session, bids).await?
        } else {
            self.run_opening(caller, &trade, session, bids).await?
        };
        // The opening is done: the key and every share are wiped with the session.
        *guard = None;
        drop(guard);
        self.openings.forget(trade_id);
        Ok(ContributionOutcome {
            contributions,
            threshold,
            opening: Some(record),
        })
    }

    /// Rebuilds every bid key from the contributions, decrypts and checks every bid, and
    /// publishes the signed record: all bids at once.
    async fn run_opening(
        &self,
        caller: &Caller,
        trade: &Trade,
        session: &Session,
        bids: Vec<StoredBid>,
    ) -> Result<SignedRecord> {
        let threshold = trade.terms.committee.threshold;
        let mut jobs = Vec::with_capacity(bids.len());
        for bid in bids {
            // The first k custodians (in arrival order) that opened this bid's share.
            let shares: Vec<Zeroizing<Vec<u8>>> = session
                .contributions
                .iter()
                .filter_map(|(_, s)| s.get(&bid.id).cloned())
                .take(usize::from(threshold))
                .collect();
            jobs.push((bid, shares));
        }
        let trade_for_jobs = trade.clone();
        let (dir, store) = (self.settings.bid_dir.clone(), self.store.clone());
        let handle = tokio::runtime::Handle::current();
        let opened: Vec<RecordBid> = tokio::task::spawn_blocking(move || {
            jobs.into_par_iter()
                .map(|(bid, shares)| {
                    let source = Source::of(&handle, &store, &dir, &bid);
                    open_bid(&trade_for_jobs, source, &bid, &shares)
                })
                .collect()
        })
        .await
        .map_err(|e| EngineError::Store(StoreError::Other(Box::new(e))))?;

        let now = self.clock.now();
        let valid_bids = opened.iter().filter(|b| b.valid).count();
        let rule = self
            .rulebook
            .procedure(&trade.terms.kind, &trade.terms.procedure)
            .and_then(|p| p.rules.min_bidders.as_ref())
            .map(|r| RecordRule {
                value: r.value,
                article: r.article.clone(),
            });
        let (outcome, reason) = match &rule {
            Some(r) if (valid_bids as i64) < r.value => (
                TradeStatus::Failed,
                Some(format!(
                    "{valid_bids} valid bid(s), fewer than the {} required ({}): the trade fails (流标) and may be tendered again",
                    r.value, r.article
                )),
            ),
            _ => (TradeStatus::Opened, None),
        };
        let decided = Decided {
            outcome,
            reason,
            min_valid_bids: rule,
        };
        let record = self
            .new_record(
                trade,
                session,
                trade.terms.bid_deadline,
                now,
                opened,
                decided,
            )
            .await?;
        let (stored, signed) = self.sign_record(record, outcome, now)?;
        let ev = event(
            caller,
            "opening.completed",
            Some(&trade.id),
            serde_json::json!({
                "outcome": outcome.as_str(),
                "record_sha256": sha256_hex(&stored.record),
                "bids": signed.record.bids.len(),
                "valid_bids": valid_bids,
                "signature": signed.signature,
                "key_id": signed.key_id,
            }),
            vec![],
        );
        match self.store.record_opening(&trade.id, &stored, ev).await {
            Ok(_) => Ok(signed),
            Err(StoreError::Conflict(_)) => Err(EngineError::conflict(
                "opening_completed",
                "this trade has already been opened",
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// A record of an opening of `trade` that started at `deadline` and completed at
    /// `now`, with its committee, the opened `bids` and how it ended.
    pub(super) async fn new_record(
        &self,
        trade: &Trade,
        session: &Session,
        deadline: DateTime<Utc>,
        now: DateTime<Utc>,
        bids: Vec<RecordBid>,
        decided: Decided,
    ) -> Result<OpeningRecord> {
        Ok(OpeningRecord {
            v: RECORD_VERSION,
            trade: trade.id.clone(),
            title: trade.terms.title.clone(),
            kind: trade.terms.kind.clone(),
            procedure: trade.terms.procedure.clone(),
            rulebook_version: trade.rulebook_version.clone(),
            rulebook_sha256: trade.rulebook_sha256.clone(),
            deadline: rfc3339(deadline),
            opened_at: rfc3339(now),
            committee: self.record_committee(trade, session).await?,
            min_valid_bids: decided.min_valid_bids,
            outcome: decided.outcome.as_str().to_owned(),
            reason: decided.reason,
            valid_bids: bids.iter().filter(|b| b.valid).count(),
            bids,
        })
    }

    /// The committee as a record states it: each custodian, its key, and whether it
    /// contributed.
    pub(super) async fn record_committee(
        &self,
        trade: &Trade,
        session: &Session,
    ) -> Result<RecordCommittee> {
        let keys = self.store.custodian_keys(&trade.id).await?;
        let contributed: Vec<&String> = session.contributions.iter().map(|(c, _)| c).collect();
        Ok(RecordCommittee {
            threshold: trade.terms.committee.threshold,
            custodians: trade
                .terms
                .committee
                .custodians
                .iter()
                .map(|c| RecordCustodian {
                    custodian: c.clone(),
                    key_id: keys
                        .iter()
                        .find(|k| &k.custodian == c)
                        .map(|k| k.key_id.clone())
                        .unwrap_or_default(),
                    contributed: contributed.contains(&c),
                })
                .collect(),
        })
    }

    /// Signs a record's RFC 8785 bytes with the platform key: the record as stored
    /// (with `outcome`, opened at `now`) and as served.
    pub(super) fn sign_record(
        &self,
        record: OpeningRecord,
        outcome: TradeStatus,
        now: DateTime<Utc>,
    ) -> Result<(StoredOpening, SignedRecord)> {
        let canonical = serde_json_canonicalizer::to_vec(&record)
            .map_err(|e| EngineError::Store(StoreError::Other(Box::new(e))))?;
        let signature = self.platform_key.sign(&opening_record_message(&canonical));
        let signed = SignedRecord {
            record,
            signature: b64(&signature),
            key_id: self.platform_key.info().key_id.clone(),
        };
        let stored = StoredOpening {
            outcome,
            record: canonical,
            signature,
            key_id: signed.key_id.clone(),
            seq: 0,
            opened_at: now,
        };
        Ok((stored, signed))
    }

    /// The signed opening record, if the trade has been opened.
    pub async fn opening_record(&self, trade_id: &str) -> Result<Option<SignedRecord>> {
        let Some(stored) = self.store.opening_record(trade_id).await? else {
            return Ok(None);
        };
        let record: OpeningRecord = serde_json::from_slice(&stored.record)
            .map_err(|e| EngineError::Store(StoreError::Other(Box::new(e))))?;
        Ok(Some(SignedRecord {
            record,
            signature: b64(&stored.signature),
            key_id: stored.key_id,
        }))
    }

    /// The public state of the opening: phase, window, custodian progress, and the record
    /// once it exists. Nothing about any bid before that.
    pub async fn opening_status(&self, trade_id: &str) -> Result<OpeningStatus> {
        let trade = self.announced_trade(trade_id).await?;
        let now = self.clock.now();
        let window_end = self.opening_window_end(&trade).await?;
        let opening = self.opening_record(trade_id).await?;
        let contributors = if opening.is_none() {
            self.contributors(trade_id).await?
        } else {
            Vec::new()
        };
        let start = self.opening_start(&trade).await?;
        let phase = match trade.status {
            // A live sale before its quoting ends on a quote.
            TradeStatus::Published if start.is_none() => "quoting",
            TradeStatus::Published if start.is_some_and(|s| now < s) => "bidding",
            TradeStatus::Published if now >= window_end => "window_expired",
            TradeStatus::Published => "awaiting_contributions",
            other => other.as_str(),
        };
        Ok(OpeningStatus {
            trade: trade.id.clone(),
            phase: phase.to_owned(),
            deadline: rfc3339(start.unwrap_or(trade.terms.bid_deadline)),
            window_ends_at: rfc3339(window_end),
            server_time: rfc3339(now),
            threshold: trade.terms.committee.threshold,
            custodians: trade
                .terms
                .committee
                .custodians
                .iter()
                .map(|c| CustodianProgress {
                    custodian: c.clone(),
                    contributed: match &opening {
                        Some(o) => o
                            .record
                            .committee
                            .custodians
                            .iter()
                            .any(|r| &r.custodian == c && r.contributed),
                        None => contributors.contains(c),
                    },
                })
                .collect(),
            opening,
        })
    }

    /// A supervisor extends the opening window of a trade whose opening has not
    /// completed, with a logged reason: the stalled opening can resume.
    #[tracing::instrument(skip_all, fields(trade.id = %trade_id), err)]
    pub async fn extend_opening(
        &self,
        caller: &Caller,
        trade_id: &str,
        minutes: i64,
        reason: &str,
    ) -> Result<OpeningStatus> {
        // Only a supervisor of the trade's region, as for every intervention.
        let trade = self.supervised_trade(caller, trade_id).await?;
        if !(1..=7 * 24 * 60).contains(&minutes) {
            return Err(EngineError::invalid(
                "invalid_field",
                "minutes must be 1 to 10080",
            ));
        }
        let reason = reason.trim();
        if !crate::domain::text::is_written(reason, 500) {
            return Err(EngineError::invalid(
                "invalid_field",
                "reason must be 1 to 500 characters, without control characters other than line breaks",
            ));
        }
        let now = self.clock.now();
        super::interventions::require_active(&trade)?;
        if trade.status != TradeStatus::Published {
            return Err(EngineError::conflict(
                "opening_completed",
                "this trade has already been opened",
            ));
        }
        if self
            .opening_start(&trade)
            .await?
            .is_none_or(|start| now < start)
        {
            return Err(EngineError::conflict(
                "opening_not_started",
                "the opening window opens at the bid deadline (a sale's, when quoting ends)",
            ));
        }
        let previous = self.opening_window_end(&trade).await?;
        let ends_at = previous.max(now) + Duration::minutes(minutes);
        let ev = event(
            caller,
            "opening.extended",
            Some(trade_id),
            serde_json::json!({
                "previous_end": rfc3339(previous),
                "window_ends_at": rfc3339(ends_at),
                "reason": reason,
            }),
            vec![],
        );
        match self.store.extend_opening(trade_id, ends_at, ev).await {
            Ok(_) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(EngineError::conflict(
                    "opening_completed",
                    "this trade has already been opened",
                ))
            }
            Err(e) => return Err(e.into()),
        }
        self.opening_status(trade_id).await
    }
}

/// Where a stored envelope's bytes are: a file under the bid directory, or the database.
pub(super) enum Source {
    File(std::path::PathBuf),
    Inline(Vec<u8>),
}

impl Source {
    /// Locates `bid`'s envelope; one kept in the database is fetched (from a blocking
    /// thread, through `handle`).
    pub(super) fn of(
        handle: &tokio::runtime::Handle,
        store: &Arc<dyn crate::store::Store>,
        dir: &Path,
        bid: &StoredBid,
    ) -> std::io::Result<Self> {
        if bid.storage_path == RESERVE_STORAGE {
            return handle
                .block_on(store.reserve_envelope(&bid.trade_id))
                .map_err(std::io::Error::other)?
                .map(Self::Inline)
                .ok_or_else(|| std::io::Error::other("the reserve's envelope is missing"));
        }
        if bid.storage_path != INLINE_STORAGE {
            return Ok(Self::File(dir.join(&bid.storage_path)));
        }
        handle
            .block_on(store.bid_envelope(&bid.id))
            .map_err(std::io::Error::other)?
            .map(Self::Inline)
            .ok_or_else(|| std::io::Error::other("the envelope is missing from the database"))
    }

    fn reader(&self) -> std::io::Result<Box<dyn std::io::Read + '_>> {
        Ok(match self {
            Self::File(path) => Box::new(std::io::BufReader::new(std::fs::File::open(path)?)),
            Self::Inline(bytes) => Box::new(bytes.as_slice()),
        })
    }
}

/// Opens one stored bid with its rebuilt key and checks it; never fails, but says why a
/// bid is invalid.
pub(super) fn open_bid(
    trade: &Trade,
    source: std::io::Result<Source>,
    bid: &StoredBid,
    shares: &[Zeroizing<Vec<u8>>],
) -> RecordBid {
    let mut entry = RecordBid {
        organization: RecordOrganization {
            name: String::new(),
            usci: String::new(),
        },
        price: None,
        currency: None,
        lots: Vec::new(),
        files: Vec::new(),
        machine: None,
        bond: if trade.terms.bond_amount.minor_units() == 0 {
            "not_required".into()
        } else {
            "unverified".into()
        },
        valid: false,
        reason_code: None,
        reason: None,
        envelope_sha256: bid.envelope_sha256.clone(),
        salt: hex::encode(bid.salt),
        commitment: bid.blinded_commitment.clone(),
        log_index: bid.seq,
        received_at: rfc3339(bid.received_at),
    };
    match check_bid(trade, source, bid, shares, &mut entry) {
        Ok(()) => entry.valid = true,
        Err(Invalid(code, reason)) => {
            entry.reason_code = Some(code.to_owned());
            entry.reason = Some(reason);
        }
    }
    entry
}

fn check_bid(
    trade: &Trade,
    source: std::io::Result<Source>,
    bid: &StoredBid,
    shares: &[Zeroizing<Vec<u8>>],
    entry: &mut RecordBid,
) -> std::result::Result<(), Invalid> {
    let unreadable = |e: std::io::Error| {
        Invalid(
            "envelope_unreadable",
            format!("the stored envelope cannot be read: {e}"),
        )
    };
    let source = source.map_err(unreadable)?;
    let inspected =
        envelope::inspect_stored(source.reader().map_err(unreadable)?).map_err(|e| {
            Invalid(
                "envelope_unreadable",
                format!("the stored envelope is damaged: {e}"),
            )
        })?;
    entry.organization = RecordOrganization {
        name: inspected.header.organization.name.clone(),
        usci: inspected.header.organization.usci.clone(),
    };
    if hex::encode(inspected.commitment) != bid.envelope_sha256 {
        return Err(Invalid(
            "envelope_altered",
            "the stored envelope is not the one received (its SHA-256 differs)".into(),
        ));
    }
    if shares.len() < usize::from(trade.terms.committee.threshold) {
        return Err(Invalid(
            "key_shares_missing",
            "fewer than k custodians could open this bid's key share".into(),
        ));
    }
    let key = recover_key(shares, trade.terms.committee.threshold).map_err(|e| {
        Invalid(
            "key_shares_invalid",
            format!("the key shares do not combine: {e}"),
        )
    })?;
    let opened = envelope::open(source.reader().map_err(unreadable)?, &inspected, &key).map_err(
        |e| match e {
            EnvelopeError::Attachment { name } => Invalid(
                "attachment_mismatch",
                format!("attached file {name} does not match its SHA-256 or size"),
            ),
            EnvelopeError::Unauthentic(_) => Invalid(
                "does_not_authenticate",
                "the bid does not authenticate with the key rebuilt from the custodians' shares: a share is wrong, or the bid was not sealed with the key it shared".into(),
            ),
            EnvelopeError::ManifestVersion(v) => Invalid(
                "manifest_version_unsupported",
                format!("the bid's manifest is version {v}; this platform opens version 1"),
            ),
            other => Invalid(
                "does_not_decrypt",
                format!("the bid does not decrypt with its rebuilt key: {other}"),
            ),
        },
    )?;
    drop(key);
    let manifest = &opened.manifest;
    // The record is signed in RFC 8785 form, where numbers are IEEE doubles: a price
    // beyond 2^53 - 1 分 (about 90 trillion yuan) could not be stated exactly.
    if !(1..=MAX_EXACT_INTEGER).contains(&manifest.price) {
        return Err(Invalid(
            "invalid_price",
            "the price is not a positive amount the record can state exactly".into(),
        ));
    }
    entry.price = Some(manifest.price);
    entry.currency = Some(manifest.currency.clone());
    entry.lots = manifest.lots.clone();
    entry.machine = Some(manifest.machine.clone());
    entry.files = manifest
        .files
        .iter()
        .map(|f| RecordFile {
            name: f.name.clone(),
            sha256: f.sha256.clone(),
            size: f.size,
        })
        .collect();
    let signer = inspected
        .certificate_chain()
        .ok()
        .and_then(|c| c.into_iter().next())
        .ok_or_else(|| Invalid("manifest_signature_invalid", "no signer certificate".into()))?;
    // The signer's certificate was validated (chain, revocation, validity) at submission.
    verify_der_with_certificate(
        &signer,
        &manifest_signature_message(&opened.manifest_bytes),
        &opened.manifest_signature,
    )
    .map_err(|e| {
        Invalid(
            "manifest_signature_invalid",
            format!("the bidder's signature over the bid does not verify: {e}"),
        )
    })?;
    if manifest.trade != trade.id {
        return Err(Invalid(
            "manifest_wrong_trade",
            format!("the bid inside names trade {}", manifest.trade),
        ));
    }
    if manifest.organization != inspected.header.organization {
        return Err(Invalid(
            "manifest_wrong_organization",
            "the bid inside names another organisation than the envelope".into(),
        ));
    }
    if manifest.currency != trade.terms.currency.code() {
        return Err(Invalid(
            "wrong_currency",
            format!(
                "the price is in {}, the trade in {}",
                manifest.currency,
                trade.terms.currency.code()
            ),
        ));
    }
    if !trade.terms.lots.is_empty() {
        if manifest.lots.is_empty() {
            return Err(Invalid("unknown_lot", "the bid names no lot".into()));
        }
        if let Some(lot) = manifest
            .lots
            .iter()
            .find(|l| !trade.terms.lots.iter().any(|t| &t.id == *l))
        {
            return Err(Invalid(
                "unknown_lot",
                format!("the trade has no lot {lot}"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_price_stops_at_the_largest_integer_a_record_states_exactly() {
        // RFC 8785 writes numbers as IEEE doubles: 2^53 − 1 is the last exact integer.
        assert_eq!(MAX_EXACT_INTEGER, 9_007_199_254_740_991);
    }

    #[test]
    fn base64_fields_are_standard_and_trimmed() {
        assert_eq!(unb64("share", " AAEC\n").ok(), Some(vec![0, 1, 2]));
        assert!(matches!(
            unb64("share", "AA-_"),
            Err(EngineError::Invalid {
                code: "invalid_field",
                ..
            })
        ));
    }

    /// ADR 0018: a session recorded by another process is taken over only if that
    /// process is this instance before a restart (same id or same address), or was found
    /// unreachable.
    #[test]
    fn a_session_is_taken_over_only_from_this_instance_or_an_unreachable_one() {
        let here = Openings::default();
        let other = Openings::default();
        assert_ne!(here.instance_id(), other.instance_id());
        assert!(uuid::Uuid::parse_str(here.instance_id()).is_ok());
        here.set_instance_url("https://a.example:8443/");
        assert_eq!(here.instance_url(), "https://a.example:8443");
        let recorded = |instance_id: &str, instance_url: &str, key_id: &str| OpeningSession {
            trade_id: "t".into(),
            key_id: key_id.into(),
            instance_id: instance_id.into(),
            instance_url: instance_url.into(),
            started_at: DateTime::default(),
        };
        assert!(here.replaceable(&recorded(here.instance_id(), "https://b", "k1")));
        assert!(here.replaceable(&recorded(
            other.instance_id(),
            "https://a.example:8443",
            "k1"
        )));
        assert!(!here.replaceable(&recorded(other.instance_id(), "https://b", "k1")));
        here.mark_unreachable("k1");
        assert!(here.replaceable(&recorded(other.instance_id(), "https://b", "k1")));
        assert!(!here.replaceable(&recorded(other.instance_id(), "https://b", "k2")));
    }

    #[test]
    fn forgetting_a_trade_drops_its_session_slot() {
        let openings = Openings::default();
        let slot = openings.slot("t");
        assert!(Arc::ptr_eq(&slot, &openings.slot("t")));
        openings.forget("t");
        assert!(!Arc::ptr_eq(&slot, &openings.slot("t")));
    }

    // What the opening does with each bid (`open_bid`): a real envelope sealed to a
    // committee of three, opened with the custodians' shares.

    const TRADE: &str = "01a2205e-3040-76cf-abb9-cd45eedc8466";

    fn rng() -> impl hpke::rand_core::CryptoRng {
        hpke::rand_core::UnwrapErr(getrandom::SysRng)
    }

    /// A published tender with lot "1", k = 2 of 3 and no bond; `patch` changes its terms'
    /// JSON first.
    fn tender(patch: impl FnOnce(&mut serde_json::Value)) -> Trade {
        let mut terms = serde_json::json!({
            "kind": "construction_tender", "procedure": "open_tender", "title": "工程",
            "principal": { "name": "招标人", "usci": "11650100MB0BEN001X" },
            "estimated_value": 100_000_000_i64,
            "lots": [{ "id": "1", "title": "全部", "estimated_value": 100_000_000_i64 }],
            "region_code": "650100", "bid_deadline": "2026-12-31T08:00:00Z",
            "bond_amount": 0,
            "committee": { "custodians": ["a", "b", "c"], "threshold": 2 }
        });
        patch(&mut terms);
        Trade {
            id: TRADE.into(),
            terms: serde_json::from_value(terms).unwrap_or_else(|e| panic!("{e}")),
            status: TradeStatus::Published,
            rulebook_version: "test".into(),
            rulebook_sha256: String::new(),
            time_scale: 1,
            created_at: DateTime::default(),
            published_at: None,
            suspended_at: None,
        }
    }

    /// A bidder with its certificate, and the trade's three custodians.
    struct Sealing {
        bidder: crate::crypto::pki::IssuedIdentity,
        custodians: Vec<(
            CustodianSecretKey,
            crate::crypto::threshold::CustodianPublicKey,
        )>,
    }

    fn sealing() -> Sealing {
        use crate::crypto::pki::{DevCa, IdentitySpec, KeyUsageProfile};
        let now = Utc::now();
        let ca = DevCa::new(
            "Opening Test",
            now - Duration::days(1),
            now + Duration::days(30),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let spec = IdentitySpec {
            common_name: "bidder".into(),
            organization: "新疆测试建设有限公司".into(),
            usci: Some(
                crate::domain::usci::Usci::complete("91650100ENQLP0001")
                    .unwrap_or_else(|e| panic!("{e}")),
            ),
            not_before: now - Duration::days(1),
            not_after: now + Duration::days(30),
            key_usage: KeyUsageProfile::Signing,
        };
        Sealing {
            bidder: ca.issue(&spec).unwrap_or_else(|e| panic!("{e}")),
            custodians: (0..3).map(|_| CustodianSecretKey::generate()).collect(),
        }
    }

    /// A bid of `price` 分 for lot "1" of the tender.
    fn manifest(price: i64) -> envelope::Manifest {
        envelope::Manifest {
            v: 1,
            trade: TRADE.into(),
            lots: vec!["1".into()],
            price,
            currency: "CNY".into(),
            organization: envelope::Organization {
                name: "新疆测试建设有限公司".into(),
                usci: "91650100ENQLP0001".into(),
            },
            machine: "machine-fingerprint".into(),
            files: Vec::new(),
        }
    }

    impl Sealing {
        /// `manifest` sealed to the committee (k = 2) with one attached file, under
        /// `content_key`, the manifest signed with the PKCS#8 key `signing_key`.
        fn seal_signed(
            &self,
            mut manifest: envelope::Manifest,
            content_key: [u8; 32],
            signing_key: &[u8],
        ) -> Vec<u8> {
            let content = b"technical offer".to_vec();
            let (sha256, size) =
                envelope::hash_reader(content.as_slice()).unwrap_or_else(|e| panic!("{e}"));
            let entry = envelope::FileEntry {
                name: "技术标.pdf".into(),
                sha256,
                size,
            };
            manifest.files = vec![entry.clone()];
            let request = envelope::SealRequest {
                manifest,
                attachments: vec![envelope::Attachment {
                    entry,
                    content: Box::new(content.as_slice()),
                }],
                certificate_chain: vec![self.bidder.cert_der.clone()],
                committee: self.custodians.iter().map(|(_, pk)| pk.clone()).collect(),
                threshold: 2,
            };
            let signer = crate::crypto::signer::Signer::from_pkcs8_der(signing_key)
                .unwrap_or_else(|e| panic!("{e}"));
            let mut out = Vec::new();
            envelope::seal(request, &signer, &content_key, &mut rng(), &mut out)
                .unwrap_or_else(|e| panic!("{e}"));
            out
        }

        /// `manifest` sealed and signed by the bidder.
        fn seal(&self, manifest: envelope::Manifest) -> Vec<u8> {
            self.seal_signed(manifest, [0x42; 32], &self.bidder.key_pkcs8_der)
        }

        /// The key shares of `sealed` that custodians `which` open.
        fn shares(&self, sealed: &[u8], which: &[usize]) -> Vec<Zeroizing<Vec<u8>>> {
            let header = envelope::read_header(sealed).unwrap_or_else(|e| panic!("{e}"));
            let fingerprint = sha256_hex(&self.bidder.cert_der);
            which
                .iter()
                .map(|&i| {
                    let (secret, public) = &self.custodians[i];
                    let key_id = public.key_id();
                    let binding = crate::crypto::threshold::ShareBinding {
                        trade_id: &header.trade,
                        custodian_key_id: &key_id,
                        bidder_cert_fingerprint: &fingerprint,
                    };
                    let share = header.share_for(&key_id).unwrap_or_else(|e| panic!("{e}"));
                    crate::crypto::threshold::open_share(secret, &binding, &share)
                        .unwrap_or_else(|e| panic!("{e}"))
                })
                .collect()
        }
    }

    /// `sealed` as the store keeps it: received 42nd in the log, with its SHA-256.
    fn stored(sealed: &[u8]) -> StoredBid {
        StoredBid {
            id: "bid".into(),
            trade_id: TRADE.into(),
            bidder_id: "bidder".into(),
            envelope_sha256: sha256_hex(sealed),
            envelope_len: sealed.len() as i64,
            storage_path: INLINE_STORAGE.into(),
            salt: [7; 32],
            blinded_commitment: "commitment".into(),
            received_at: DateTime::default(),
            seq: 42,
            status: "active".into(),
        }
    }

    /// The record's entry for `sealed`, opened with `shares`.
    fn open_entry(trade: &Trade, sealed: &[u8], shares: &[Zeroizing<Vec<u8>>]) -> RecordBid {
        open_bid(
            trade,
            Ok(Source::Inline(sealed.to_vec())),
            &stored(sealed),
            shares,
        )
    }

    fn reason(entry: &RecordBid) -> Option<&str> {
        assert_eq!(entry.valid, entry.reason_code.is_none());
        entry.reason_code.as_deref()
    }

    #[test]
    fn a_bid_opened_with_k_shares_is_valid_and_its_entry_states_what_it_offers() {
        let f = sealing();
        let sealed = f.seal(manifest(123_456));
        let entry = open_entry(&tender(|_| {}), &sealed, &f.shares(&sealed, &[0, 2]));
        assert_eq!(reason(&entry), None);
        assert!(entry.valid && entry.reason.is_none());
        assert_eq!(entry.organization.name, "新疆测试建设有限公司");
        assert_eq!(entry.organization.usci, "91650100ENQLP0001");
        assert_eq!(entry.price, Some(123_456));
        assert_eq!(entry.currency.as_deref(), Some("CNY"));
        assert_eq!(entry.lots, ["1"]);
        assert_eq!(entry.machine.as_deref(), Some("machine-fingerprint"));
        assert_eq!(entry.files.len(), 1);
        assert_eq!(entry.files[0].name, "技术标.pdf");
        assert_eq!(entry.files[0].size, 15);
        assert_eq!(entry.bond, "not_required");
        assert_eq!(entry.envelope_sha256, sha256_hex(&sealed));
        assert_eq!(entry.salt, "07".repeat(32));
        assert_eq!(entry.commitment, "commitment");
        assert_eq!(entry.log_index, 42);
        // Every custodian's share opens it too.
        let all = open_entry(&tender(|_| {}), &sealed, &f.shares(&sealed, &[0, 1, 2]));
        assert!(all.valid);
    }

    #[test]
    fn a_bid_with_fewer_than_k_shares_is_invalid_for_missing_shares_and_shows_no_price() {
        let f = sealing();
        let sealed = f.seal(manifest(123_456));
        let entry = open_entry(&tender(|_| {}), &sealed, &f.shares(&sealed, &[1]));
        assert_eq!(reason(&entry), Some("key_shares_missing"));
        assert_eq!(entry.price, None);
        // The envelope's header names its bidder even so.
        assert_eq!(entry.organization.name, "新疆测试建设有限公司");
        let none = open_entry(&tender(|_| {}), &sealed, &[]);
        assert_eq!(reason(&none), Some("key_shares_missing"));
    }

    #[test]
    fn a_bid_whose_shares_do_not_rebuild_its_key_is_invalid() {
        let f = sealing();
        let sealed = f.seal(manifest(123_456));
        // Shares of another envelope of the same bidder, under another content key.
        let other = f.seal_signed(manifest(123_456), [0x24; 32], &f.bidder.key_pkcs8_der);
        let entry = open_entry(&tender(|_| {}), &sealed, &f.shares(&other, &[0, 1]));
        assert_eq!(reason(&entry), Some("does_not_authenticate"));
        assert_eq!(entry.price, None);
        // The same share twice is one share.
        let twice = [f.shares(&sealed, &[0]), f.shares(&sealed, &[0])].concat();
        assert_eq!(
            reason(&open_entry(&tender(|_| {}), &sealed, &twice)),
            Some("key_shares_invalid")
        );
    }

    #[test]
    fn a_bond_is_unverified_in_the_record_when_the_trade_requires_one() {
        let f = sealing();
        let sealed = f.seal(manifest(123_456));
        let trade = tender(|t| t["bond_amount"] = serde_json::json!(2_000_000));
        let entry = open_entry(&trade, &sealed, &f.shares(&sealed, &[0, 1]));
        assert!(entry.valid);
        assert_eq!(entry.bond, "unverified");
    }

    #[test]
    fn an_envelope_that_is_not_the_one_received_or_cannot_be_read_is_invalid() {
        let f = sealing();
        let sealed = f.seal(manifest(123_456));
        let shares = f.shares(&sealed, &[0, 1]);
        let trade = tender(|_| {});
        let mut bid = stored(&sealed);
        bid.envelope_sha256 = sha256_hex(b"another envelope");
        let altered = open_bid(&trade, Ok(Source::Inline(sealed.clone())), &bid, &shares);
        assert_eq!(reason(&altered), Some("envelope_altered"));
        assert_eq!(altered.price, None);
        let damaged = open_bid(
            &trade,
            Ok(Source::Inline(sealed[..sealed.len() / 2].to_vec())),
            &stored(&sealed),
            &shares,
        );
        assert_eq!(reason(&damaged), Some("envelope_unreadable"));
        let missing = open_bid(
            &trade,
            Err(std::io::Error::other("gone")),
            &stored(&sealed),
            &shares,
        );
        assert_eq!(reason(&missing), Some("envelope_unreadable"));
    }

    #[test]
    fn a_price_must_be_positive_and_at_most_the_largest_integer_a_record_states_exactly() {
        let f = sealing();
        let trade = tender(|_| {});
        for (price, valid) in [
            (0, false),
            (-1, false),
            (1, true),
            (MAX_EXACT_INTEGER, true),
            (MAX_EXACT_INTEGER + 1, false),
        ] {
            let sealed = f.seal(manifest(price));
            let entry = open_entry(&trade, &sealed, &f.shares(&sealed, &[0, 1]));
            assert_eq!(entry.valid, valid, "{price}");
            if !valid {
                assert_eq!(reason(&entry), Some("invalid_price"));
                assert_eq!(entry.price, None);
            }
        }
    }

    #[test]
    fn a_bid_signed_by_another_key_than_its_certificates_is_invalid() {
        let f = sealing();
        let other = sealing();
        let sealed = f.seal_signed(manifest(123_456), [0x42; 32], &other.bidder.key_pkcs8_der);
        let entry = open_entry(&tender(|_| {}), &sealed, &f.shares(&sealed, &[0, 1]));
        assert_eq!(reason(&entry), Some("manifest_signature_invalid"));
    }

    #[test]
    fn a_bid_for_another_trade_or_in_another_currency_is_invalid() {
        let f = sealing();
        let sealed = f.seal(manifest(123_456));
        let mut trade = tender(|_| {});
        trade.id = "another-trade".into();
        let entry = open_entry(&trade, &sealed, &f.shares(&sealed, &[0, 1]));
        assert_eq!(reason(&entry), Some("manifest_wrong_trade"));

        let mut usd = manifest(123_456);
        usd.currency = "USD".into();
        let sealed = f.seal(usd);
        let entry = open_entry(&tender(|_| {}), &sealed, &f.shares(&sealed, &[0, 1]));
        assert_eq!(reason(&entry), Some("wrong_currency"));
    }

    #[test]
    fn a_bid_must_name_lots_of_the_trade_and_at_least_one_when_the_trade_has_lots() {
        let f = sealing();
        let with_lots = tender(|_| {});
        let without_lots = tender(|t| t["lots"] = serde_json::json!([]));
        for (lots, with_lots_reason) in [
            (vec![], Some("unknown_lot")),
            (vec!["2"], Some("unknown_lot")),
            (vec!["1", "2"], Some("unknown_lot")),
            (vec!["1"], None),
        ] {
            let mut m = manifest(123_456);
            m.lots = lots.iter().map(|l| (*l).to_owned()).collect();
            let sealed = f.seal(m);
            let shares = f.shares(&sealed, &[0, 1]);
            let entry = open_entry(&with_lots, &sealed, &shares);
            assert_eq!(reason(&entry), with_lots_reason, "{lots:?}");
            // A trade without lots takes a bid whatever lots it names.
            assert!(
                open_entry(&without_lots, &sealed, &shares).valid,
                "{lots:?}"
            );
        }
    }

    /// A tender's bid is read from its file under the bid directory, or from the
    /// database; a live sale's reserve from the database.
    #[test]
    fn a_bids_envelope_is_read_from_its_file_and_one_missing_from_the_database_is_an_error() {
        use std::io::Read as _;
        let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = runtime
            .block_on(crate::store::connect(
                &format!("sqlite:{}", dir.path().join("store.db").display()),
                Arc::new(crate::domain::clock::SystemClock),
            ))
            .unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.path().join("bid.env"), b"sealed").unwrap_or_else(|e| panic!("{e}"));
        let mut bid = stored(b"sealed");
        bid.storage_path = "bid.env".into();
        let source = Source::of(runtime.handle(), &store, dir.path(), &bid)
            .unwrap_or_else(|e| panic!("{e}"));
        let mut bytes = Vec::new();
        source
            .reader()
            .and_then(|mut r| r.read_to_end(&mut bytes))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(bytes, b"sealed");
        for path in [INLINE_STORAGE, RESERVE_STORAGE] {
            bid.storage_path = path.into();
            assert!(
                Source::of(runtime.handle(), &store, dir.path(), &bid).is_err(),
                "{path}"
            );
        }
    }
}
