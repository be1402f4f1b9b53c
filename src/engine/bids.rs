//! Sealed-bid intake: verify an uploaded envelope without any key, store it durably,
//! log only a blinded commitment, and return a platform-signed receipt.

use std::path::{Path, PathBuf};

use super::intake::SealingCommittee;
use super::{event, Caller, EngineError, Platform, Result};
use crate::crypto::digest::random_bytes;
use crate::crypto::envelope::{self, envelope_signature_message};
use crate::crypto::receipt::{blinded_commitment, Receipt};
use crate::domain::clock::rfc3339;
use crate::domain::event::encode_entry;
use crate::domain::identity::Role;
use crate::domain::trade::{StoredBid, Trade, TradeStatus};
use crate::store::{NewBid, StoreError, INLINE_STORAGE};

/// Envelopes up to this size are kept in the database (one flush with their row); larger
/// ones stream to files.
pub const INLINE_ENVELOPE_BYTES: u64 = 64 * 1024;

/// Where an uploaded envelope is while it is checked.
enum Upload {
    File(PathBuf),
    Memory(Vec<u8>),
}

fn refused(code: &'static str, message: impl Into<String>) -> EngineError {
    EngineError::invalid(code, message)
}

fn io_failure(e: std::io::Error) -> EngineError {
    EngineError::Store(StoreError::from_io(e))
}

impl Platform {
    /// A new file path for an upload in progress.
    pub fn incoming_bid_path(&self) -> Result<PathBuf> {
        let dir = self.settings.bid_dir.join("incoming");
        std::fs::create_dir_all(&dir).map_err(io_failure)?;
        Ok(dir.join(uuid::Uuid::new_v4().to_string()))
    }

    /// Takes the envelope uploaded to `upload` (a path from [`Platform::incoming_bid_path`])
    /// as the caller's bid for the trade, replacing any earlier one. The file is removed
    /// or kept, never left half-accepted.
    #[tracing::instrument(skip_all, fields(trade.id = %trade_id), err)]
    pub async fn submit_bid(
        &self,
        caller: &Caller,
        trade_id: &str,
        upload: &Path,
    ) -> Result<Receipt> {
        let result = self
            .accept_bid(caller, trade_id, Upload::File(upload.to_path_buf()))
            .await;
        if result.is_err() {
            let _ = std::fs::remove_file(upload);
        }
        result
    }

    /// [`Platform::submit_bid`] for a small envelope received in memory (at most
    /// [`INLINE_ENVELOPE_BYTES`]): it never touches a file.
    #[tracing::instrument(skip_all, fields(trade.id = %trade_id), err)]
    pub async fn submit_bid_bytes(
        &self,
        caller: &Caller,
        trade_id: &str,
        envelope: Vec<u8>,
    ) -> Result<Receipt> {
        self.accept_bid(caller, trade_id, Upload::Memory(envelope))
            .await
    }

    async fn accept_bid(&self, caller: &Caller, trade_id: &str, upload: Upload) -> Result<Receipt> {
        let bidder = caller.require(Role::Bidder)?;
        let committee = self.sealing_committee(trade_id).await?;
        if !committee.invited.is_empty()
            && !committee.invited.iter().any(|u| u == bidder.usci.as_str())
        {
            return Err(EngineError::NotInvited);
        }
        let (upload, inspected) = tokio::task::spawn_blocking(move || {
            let inspected = match &upload {
                Upload::File(path) => std::fs::File::open(path)
                    .map(|f| envelope::inspect(std::io::BufReader::new(f)))?,
                Upload::Memory(bytes) => envelope::inspect(bytes.as_slice()),
            };
            Ok::<_, std::io::Error>((upload, inspected))
        })
        .await
        .map_err(|e| io_failure(std::io::Error::other(e)))?
        .map_err(io_failure)?;
        let inspected = inspected.map_err(|e| refused("envelope_invalid", e.to_string()))?;
        let now = self.clock.now();
        self.check_sealed_by(bidder, trade_id, &inspected, &committee, now)?;

        let sha256 = hex::encode(inspected.commitment);
        let bid_id = uuid::Uuid::now_v7().to_string();
        // A small envelope is kept in the database, committed with its row; a larger one
        // is a file, one per submission, so a refused resubmission of the same envelope
        // never touches the file of the timely one.
        let (storage_path, stored, envelope) = match upload {
            Upload::Memory(bytes) => (INLINE_STORAGE.to_owned(), None, Some(bytes)),
            Upload::File(from) if inspected.len <= INLINE_ENVELOPE_BYTES => {
                let bytes = tokio::task::spawn_blocking(move || {
                    let bytes = std::fs::read(&from)?;
                    std::fs::remove_file(&from)?;
                    Ok::<_, std::io::Error>(bytes)
                })
                .await
                .map_err(|e| io_failure(std::io::Error::other(e)))?
                .map_err(io_failure)?;
                (INLINE_STORAGE.to_owned(), None, Some(bytes))
            }
            Upload::File(from) => {
                let dir = self.settings.bid_dir.join(trade_id);
                let file_name = format!("{sha256}-{bid_id}.sealed");
                let stored = dir.join(&file_name);
                let to = stored.clone();
                tokio::task::spawn_blocking(move || {
                    std::fs::create_dir_all(&dir)?;
                    // The group commit makes the envelope durable (syncfs) before its row
                    // commits, and so before any receipt exists.
                    std::fs::rename(&from, &to)
                })
                .await
                .map_err(|e| io_failure(std::io::Error::other(e)))?
                .map_err(io_failure)?;
                (format!("{trade_id}/{file_name}"), Some(stored), None)
            }
        };

        let salt = random_bytes::<32>();
        let commitment = blinded_commitment(trade_id, &sha256, &salt);
        let bid = StoredBid {
            id: bid_id,
            trade_id: trade_id.to_owned(),
            bidder_id: bidder.id.clone(),
            envelope_sha256: sha256.clone(),
            envelope_len: i64::try_from(inspected.len).unwrap_or(i64::MAX),
            storage_path,
            salt,
            blinded_commitment: commitment.clone(),
            received_at: now,
            seq: 0,
            status: "active".into(),
        };
        // Neither the trade nor the bidder is in the public entry (招标投标法 第22条).
        let ev = event(
            caller,
            "bid.received",
            None,
            serde_json::json!({ "commitment": commitment }),
            vec![],
        );
        let logged = ev.clone();
        let saved = match self
            .intake
            .submit(
                self.store.clone(),
                &self.settings.bid_dir,
                NewBid {
                    bid,
                    envelope,
                    event: ev,
                },
            )
            .await
        {
            Ok(saved) => saved,
            Err(StoreError::Conflict(code)) => {
                if let Some(stored) = &stored {
                    let _ = std::fs::remove_file(stored);
                }
                return Err(super::interventions::intake_refusal(&code));
            }
            Err(e) => return Err(e.into()),
        };
        // A bid's entry names no trade, so it links to none.
        let entry = encode_entry(saved.seq, saved.received_at, &logged, None);
        let mut receipt = Receipt::issue(
            &self.platform_key,
            trade_id,
            &sha256,
            rfc3339(saved.received_at),
            saved.seq,
            &saved.salt,
        );
        receipt.inclusion = Some(self.receipt_inclusion(saved.seq, &entry).await?);
        Ok(receipt)
    }

    /// Checks that an envelope is sealed for `trade_id` to its committee and signed by
    /// `sealer` (its organisation and certificate, valid at `now`): a bid, or a sale's
    /// sealed reserve.
    pub(super) fn check_sealed_by(
        &self,
        sealer: &crate::domain::identity::Identity,
        trade_id: &str,
        inspected: &envelope::Inspected,
        committee: &SealingCommittee,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<()> {
        let header = &inspected.header;
        if header.trade != trade_id {
            return Err(refused(
                "envelope_wrong_trade",
                "the envelope is sealed for another trade",
            ));
        }
        if header.organization.usci != sealer.usci.as_str()
            || header.organization.name != sealer.organization
        {
            return Err(refused(
                "envelope_wrong_organization",
                "the envelope names another organisation than the submitter",
            ));
        }
        let shares: Vec<&str> = header
            .shares
            .iter()
            .map(|s| s.custodian_key.as_str())
            .collect();
        if shares != committee.key_ids
            || header.threshold != committee.threshold
            || header.suite() != committee.suite
        {
            return Err(refused(
                "envelope_wrong_committee",
                "the envelope is not sealed to this trade's opening committee",
            ));
        }
        let chain = inspected
            .certificate_chain()
            .map_err(|e| refused("envelope_invalid", e.to_string()))?;
        let cert = self.trust.current().verify_identity(&chain, now)?;
        if cert.fingerprint != sealer.cert_fingerprint {
            return Err(refused(
                "envelope_wrong_signer",
                "the envelope is signed with another certificate than the submitter's",
            ));
        }
        // docs/protocol.md: a bidder's signatures are DER-encoded; nothing else is taken.
        cert.verify_der_signature(
            &envelope_signature_message(&inspected.body_digest.ok_or_else(|| {
                refused(
                    "envelope_invalid",
                    "the envelope was read without its body digest",
                )
            })?),
            &inspected.signature,
        )?;
        Ok(())
    }

    /// The key ids and threshold bids for a published trade must be sealed to. Once every
    /// custodian has registered, they never change, so intake remembers them rather than
    /// reading them for every bid. Whether the trade still takes bids is decided by the
    /// store, under the log lock.
    async fn sealing_committee(&self, trade_id: &str) -> Result<SealingCommittee> {
        if let Some(known) = self.intake.committee(trade_id) {
            return Ok(known);
        }
        let trade = self.announced_trade(trade_id).await?;
        super::trades::require_sealed_bid(&trade)?;
        super::interventions::require_active(&trade)?;
        if trade.status != TradeStatus::Published {
            return Err(super::interventions::intake_refusal("after_deadline"));
        }
        let committee = self.complete_committee(&trade).await?;
        self.intake.remember(trade_id, committee.clone());
        Ok(committee)
    }

    /// The trade's committee keys in committee order, once every custodian has
    /// registered one.
    pub(super) async fn complete_committee(&self, trade: &Trade) -> Result<SealingCommittee> {
        let keys = self.store.custodian_keys(&trade.id).await?;
        let key_ids: Vec<String> = trade
            .terms
            .committee
            .custodians
            .iter()
            .filter_map(|c| {
                keys.iter()
                    .find(|k| &k.custodian == c)
                    .map(|k| k.key_id.clone())
            })
            .collect();
        if key_ids.len() != trade.terms.committee.custodians.len() {
            return Err(EngineError::conflict(
                "committee_not_ready",
                "the opening committee has not registered all its keys",
            ));
        }
        Ok(SealingCommittee {
            key_ids,
            threshold: trade.terms.committee.threshold,
            suite: trade.terms.committee.suite,
            invited: trade
                .terms
                .invited
                .iter()
                .map(|u| u.as_str().to_owned())
                .collect(),
        })
    }

    /// Withdraws the caller's bid before the deadline.
    #[tracing::instrument(skip_all, fields(trade.id = %trade_id), err)]
    pub async fn withdraw_bid(&self, caller: &Caller, trade_id: &str) -> Result<()> {
        let bidder = caller.require(Role::Bidder)?;
        self.store
            .trade(trade_id)
            .await?
            .ok_or(EngineError::NotFound {
                code: "trade_not_found",
                what: "trade",
            })?;
        let (commitment, sealed) = super::seal("bid", bidder.id.clone().into_bytes());
        let ev = event(
            caller,
            "bid.withdrawn",
            None,
            serde_json::json!({ "withdrawal": commitment }),
            vec![sealed],
        );
        match self.store.withdraw_bid(trade_id, &bidder.id, ev).await {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict(c)) if c == "no_active_bid" => Err(EngineError::NotFound {
                code: "bid_not_found",
                what: "bid",
            }),
            Err(StoreError::Conflict(code)) => Err(super::interventions::intake_refusal(&code)),
            Err(e) => Err(e.into()),
        }
    }

    /// The caller's own active bid, as a receipt.
    pub async fn my_bid(&self, caller: &Caller, trade_id: &str) -> Result<Receipt> {
        let bidder = caller.require(Role::Bidder)?;
        let bid =
            self.store
                .active_bid(trade_id, &bidder.id)
                .await?
                .ok_or(EngineError::NotFound {
                    code: "bid_not_found",
                    what: "bid",
                })?;
        self.receipt_of(&bid).await
    }

    /// The caller's active bids on every trade (at most [`MY_BIDS_LIMIT`], newest first),
    /// each with its trade and its receipt: the bidder workspace.
    pub async fn my_bids(&self, caller: &Caller) -> Result<Vec<MyBid>> {
        let bidder = caller.require(Role::Bidder)?;
        let bids = self.store.bids_of(&bidder.id, MY_BIDS_LIMIT).await?;
        let now = self.clock.now();
        let mut out = Vec::with_capacity(bids.len());
        for bid in bids {
            let trade = self.store.trade(&bid.trade_id).await?.ok_or_else(|| {
                EngineError::Store(StoreError::Other("a bid's trade is missing".into()))
            })?;
            out.push(MyBid {
                trade_id: trade.id.clone(),
                title: trade.terms.title.clone(),
                phase: trade.phase(now),
                bid_deadline: rfc3339(trade.terms.bid_deadline),
                receipt: self.receipt_of(&bid).await?,
            });
        }
        Ok(out)
    }

    /// A stored bid's receipt, with its inclusion proof in a signed checkpoint.
    async fn receipt_of(&self, bid: &StoredBid) -> Result<Receipt> {
        let trade_id = bid.trade_id.as_str();
        let mut receipt = Receipt::issue(
            &self.platform_key,
            trade_id,
            &bid.envelope_sha256,
            rfc3339(bid.received_at),
            bid.seq,
            &bid.salt,
        );
        let entry = self
            .store
            .events_after(bid.seq - 1, 1)
            .await?
            .pop()
            .filter(|e| e.seq == bid.seq)
            .ok_or_else(|| {
                EngineError::Store(StoreError::Other("the bid's log entry is missing".into()))
            })?;
        receipt.inclusion = Some(self.receipt_inclusion(bid.seq, &entry.entry).await?);
        Ok(receipt)
    }
}

/// Most bids the workspace lists.
pub const MY_BIDS_LIMIT: i64 = 200;

/// One of the caller's bids, with its trade and its receipt.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MyBid {
    pub trade_id: String,
    pub title: String,
    pub phase: &'static str,
    pub bid_deadline: String,
    pub receipt: Receipt,
}
