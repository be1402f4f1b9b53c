//! Bid receipts: what the platform signs when it has durably stored a sealed bid. A
//! bidder keeps it to prove, offline and later, that its envelope was committed in time.
//! The public log carries only the blinded commitment, so it reveals neither which trade
//! got a bid nor who bid (招标投标法 第22条); the opening record reveals the salts.

use serde::{Deserialize, Serialize};

use base64::Engine as _;

use super::checkpoint::Checkpoint;
use super::digest::sha256_hex;
use super::platform_key::{self, PlatformKey, PublicKeyInfo};
use crate::domain::merkle;

pub const RECEIPT_LABEL: &[u8] = b"tradehall-receipt-v1";
pub const COMMITMENT_LABEL: &[u8] = b"tradehall-bid-commitment-v1";

/// Why a receipt does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    #[error("the receipt names key {0}, which is not a published platform key")]
    UnknownKey(String),
    #[error("the platform signature does not verify: the receipt was altered or forged")]
    Signature,
    #[error("the blinded commitment does not match the trade, envelope hash and salt")]
    Commitment,
    #[error("the receipt is malformed: {0}")]
    Malformed(String),
    #[error("the envelope's SHA-256 is {actual}, the receipt says {receipt}")]
    Envelope { actual: String, receipt: String },
    #[error("the receipt's log inclusion does not verify: {0}")]
    Inclusion(String),
}

/// Proof that the receipt's log entry is in the transparency log: the entry's exact bytes,
/// a checkpoint signed by the platform key, and the RFC 9162 inclusion proof of leaf
/// `log_index - 1` in that checkpoint's tree. The checkpoint carries its own signature, so
/// this part is outside the receipt signature (docs/protocol.md, "Receipts").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogInclusion {
    /// Standard base64 of the log entry's bytes.
    pub entry: String,
    /// The signed checkpoint (C2SP signed note) the proof leads to.
    pub checkpoint: String,
    /// Hex node hashes, leaf to root.
    pub proof: Vec<String>,
}

impl LogInclusion {
    /// Verifies that the entry is leaf `log_index - 1` of the signed checkpoint and that it
    /// records `commitment` as a received bid; returns the checkpoint.
    pub fn verify(
        &self,
        keys: &[PublicKeyInfo],
        log_index: i64,
        commitment: &str,
    ) -> Result<Checkpoint, ReceiptError> {
        let fail = |m: &str| ReceiptError::Inclusion(m.to_owned());
        let checkpoint = Checkpoint::verify(&self.checkpoint, keys)
            .map_err(|e| ReceiptError::Inclusion(e.to_string()))?;
        let entry = base64::engine::general_purpose::STANDARD
            .decode(&self.entry)
            .map_err(|_| fail("the entry is not base64"))?;
        let json: serde_json::Value =
            serde_json::from_slice(&entry).map_err(|_| fail("the entry is not JSON"))?;
        if json["seq"].as_i64() != Some(log_index)
            || json["kind"] != "bid.received"
            || json["data"]["commitment"] != commitment
        {
            return Err(fail(
                "the entry is not this receipt's bid.received entry at its log index",
            ));
        }
        let index = u64::try_from(log_index - 1).map_err(|_| fail("log index below 1"))?;
        if index >= checkpoint.size {
            return Err(fail("the checkpoint does not cover the log index"));
        }
        let proof = self
            .proof
            .iter()
            .map(|h| {
                hex::decode(h)
                    .ok()
                    .and_then(|b| <merkle::Hash>::try_from(b).ok())
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| fail("a proof hash is not 32 bytes of hex"))?;
        let leaf = merkle::leaf_hash(&entry);
        if merkle::verify_inclusion(index, checkpoint.size, &leaf, &proof, &checkpoint.root) {
            Ok(checkpoint)
        } else {
            Err(fail(
                "the proof does not lead from the entry to the signed root",
            ))
        }
    }
}

/// A signed bid receipt (docs/protocol.md, "Receipts").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    pub v: u8,
    pub trade: String,
    /// Hex SHA-256 of the envelope: its commitment.
    pub envelope_sha256: String,
    /// Server time of receipt, RFC 3339 UTC with milliseconds.
    pub received_at: String,
    /// Index of the log entry that carries `blinded_commitment`.
    pub log_index: i64,
    pub blinded_commitment: String,
    /// Hex of the 32-byte salt; secret to the bidder until the opening record reveals it.
    pub salt: String,
    pub key_id: String,
    /// Hex of the Ed25519 signature.
    pub signature: String,
    /// The entry's inclusion in a signed checkpoint; absent in receipts issued before the
    /// transparency log had checkpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inclusion: Option<LogInclusion>,
}

/// `hex SHA-256(label ‖ 0x00 ‖ trade ‖ 0x00 ‖ envelope hash (hex) ‖ 0x00 ‖ salt (32 bytes))`.
pub fn blinded_commitment(trade: &str, envelope_sha256: &str, salt: &[u8]) -> String {
    let mut m = COMMITMENT_LABEL.to_vec();
    for part in [trade.as_bytes(), envelope_sha256.as_bytes(), salt] {
        m.push(0);
        m.extend_from_slice(part);
    }
    sha256_hex(&m)
}

impl Receipt {
    /// label ‖ 0x00 ‖ trade ‖ 0x00 ‖ envelope hash ‖ 0x00 ‖ received_at ‖ 0x00 ‖ log index
    /// (decimal) ‖ 0x00 ‖ blinded commitment ‖ 0x00 ‖ key id.
    pub fn signed_message(&self) -> Vec<u8> {
        let index = self.log_index.to_string();
        let mut m = RECEIPT_LABEL.to_vec();
        for part in [
            &self.trade,
            &self.envelope_sha256,
            &self.received_at,
            &index,
            &self.blinded_commitment,
            &self.key_id,
        ] {
            m.push(0);
            m.extend_from_slice(part.as_bytes());
        }
        m
    }

    /// Issues a signed receipt.
    pub fn issue(
        key: &PlatformKey,
        trade: &str,
        envelope_sha256: &str,
        received_at: String,
        log_index: i64,
        salt: &[u8; 32],
    ) -> Self {
        let mut receipt = Receipt {
            v: 1,
            trade: trade.to_owned(),
            envelope_sha256: envelope_sha256.to_owned(),
            received_at,
            log_index,
            blinded_commitment: blinded_commitment(trade, envelope_sha256, salt),
            salt: hex::encode(salt),
            key_id: key.info().key_id.clone(),
            signature: String::new(),
            inclusion: None,
        };
        receipt.signature = hex::encode(key.sign(&receipt.signed_message()));
        receipt
    }

    /// Verifies the receipt against the published platform keys.
    pub fn verify(&self, keys: &[PublicKeyInfo]) -> Result<(), ReceiptError> {
        if self.v != 1 {
            return Err(ReceiptError::Malformed(format!("version {}", self.v)));
        }
        let salt = hex::decode(&self.salt)
            .map_err(|_| ReceiptError::Malformed("salt is not hex".into()))?;
        if blinded_commitment(&self.trade, &self.envelope_sha256, &salt) != self.blinded_commitment
        {
            return Err(ReceiptError::Commitment);
        }
        let key = keys
            .iter()
            .find(|k| k.key_id == self.key_id)
            .ok_or_else(|| ReceiptError::UnknownKey(self.key_id.clone()))?;
        let signature = hex::decode(&self.signature)
            .map_err(|_| ReceiptError::Malformed("signature is not hex".into()))?;
        if !platform_key::verify(key, &self.signed_message(), &signature) {
            return Err(ReceiptError::Signature);
        }
        if let Some(inclusion) = &self.inclusion {
            inclusion.verify(keys, self.log_index, &self.blinded_commitment)?;
        }
        Ok(())
    }

    /// Checks that `envelope` is the envelope this receipt is for.
    pub fn matches_envelope(&self, envelope_sha256: &str) -> Result<(), ReceiptError> {
        if envelope_sha256 == self.envelope_sha256 {
            Ok(())
        } else {
            Err(ReceiptError::Envelope {
                actual: envelope_sha256.to_owned(),
                receipt: self.envelope_sha256.clone(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receipt_verifies_and_any_altered_field_does_not() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let key = PlatformKey::load_or_generate(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let keys = key.published();
        let envelope = sha256_hex(b"envelope");
        let receipt = Receipt::issue(
            &key,
            "trade-1",
            &envelope,
            "2026-11-28T01:00:00.000Z".into(),
            42,
            &[7; 32],
        );
        assert_eq!(receipt.verify(&keys), Ok(()));
        assert_eq!(receipt.matches_envelope(&envelope), Ok(()));
        assert!(receipt.matches_envelope(&sha256_hex(b"other")).is_err());

        let mut later = receipt.clone();
        later.received_at = "2026-11-28T01:00:00.001Z".into();
        assert_eq!(
            later.verify(&keys),
            Err(ReceiptError::Signature),
            "backdating is detected"
        );
        let mut moved = receipt.clone();
        moved.log_index = 41;
        assert_eq!(moved.verify(&keys), Err(ReceiptError::Signature));
        let mut other_trade = receipt.clone();
        other_trade.trade = "trade-2".into();
        assert_eq!(other_trade.verify(&keys), Err(ReceiptError::Commitment));
        assert!(matches!(
            receipt.verify(&[]),
            Err(ReceiptError::UnknownKey(_))
        ));
        // The commitment hides the trade and envelope: it differs from both hashes.
        assert_ne!(receipt.blinded_commitment, envelope);
    }

    /// A log of `entries` signed by `key`, and the inclusion of entry `at` in it.
    fn included(key: &PlatformKey, entries: &[String], at: u64) -> LogInclusion {
        use base64::Engine as _;
        use std::collections::HashMap;
        let mut nodes = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            let i = u64::try_from(i).unwrap_or_default();
            let added = merkle::append_nodes(i, merkle::leaf_hash(e.as_bytes()), |id| {
                nodes.get(&id).copied()
            })
            .unwrap_or_else(|| panic!("append"));
            nodes.extend(added);
        }
        let node = |id| nodes.get(&id).copied();
        let size = u64::try_from(entries.len()).unwrap_or_default();
        let checkpoint = Checkpoint {
            origin: "test/log".into(),
            size,
            root: merkle::root(size, &node).unwrap_or_else(|| panic!("root")),
            time: "2026-11-28T01:00:00.000Z".into(),
        };
        let proof = merkle::inclusion_proof(at, size, &node).unwrap_or_else(|| panic!("proof"));
        LogInclusion {
            entry: base64::engine::general_purpose::STANDARD
                .encode(&entries[usize::try_from(at).unwrap_or_default()]),
            checkpoint: checkpoint.sign(key),
            proof: proof.iter().map(hex::encode).collect(),
        }
    }

    /// A receipt's inclusion names its own entry: the bid.received entry at its log index
    /// with its commitment. Another entry with a valid proof is refused, whichever of the
    /// three differs.
    #[test]
    fn an_inclusion_of_another_entry_is_refused_even_with_a_valid_proof() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let key = PlatformKey::load_or_generate(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let keys = key.published();
        let receipt = Receipt::issue(
            &key,
            "trade-1",
            &sha256_hex(b"envelope"),
            "2026-11-28T01:00:00.000Z".into(),
            2,
            &[7; 32],
        );
        let entry = |seq: u64, kind: &str, commitment: &str| {
            format!(
                r#"{{"v":1,"seq":{seq},"at":"2026-11-28T01:00:00.000Z","kind":"{kind}","trade":null,"data":{{"commitment":"{commitment}"}},"audit":"00"}}"#
            )
        };
        let own = receipt.blinded_commitment.clone();
        let filler = entry(1, "bid.received", "other");
        let with_middle = |middle: String| {
            let mut r = receipt.clone();
            r.inclusion = Some(included(&key, &[filler.clone(), middle, filler.clone()], 1));
            r.verify(&keys)
        };
        assert_eq!(with_middle(entry(2, "bid.received", &own)), Ok(()));
        for (what, middle) in [
            ("another log index", entry(5, "bid.received", &own)),
            ("another kind", entry(2, "bid.withdrawn", &own)),
            ("another commitment", entry(2, "bid.received", "other")),
        ] {
            assert!(
                matches!(with_middle(middle), Err(ReceiptError::Inclusion(_))),
                "{what} must not verify"
            );
        }
    }

    #[test]
    fn the_inclusion_proof_leads_from_the_bid_entry_to_a_signed_checkpoint() {
        use base64::Engine as _;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let key = PlatformKey::load_or_generate(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let keys = key.published();
        let mut receipt = Receipt::issue(
            &key,
            "trade-1",
            &sha256_hex(b"envelope"),
            "2026-11-28T01:00:00.000Z".into(),
            2,
            &[7; 32],
        );
        let entry = |seq: u64, commitment: &str| {
            format!(
                r#"{{"v":1,"seq":{seq},"at":"2026-11-28T01:00:00.000Z","kind":"bid.received","trade":null,"data":{{"commitment":"{commitment}"}},"audit":"00"}}"#
            )
        };
        let entries = [
            entry(1, "other"),
            entry(2, &receipt.blinded_commitment),
            entry(3, "other"),
        ];
        let inclusion = included(&key, &entries, 1);
        receipt.inclusion = Some(inclusion.clone());
        assert_eq!(receipt.verify(&keys), Ok(()));

        let broken = |change: &dyn Fn(&mut LogInclusion)| {
            let mut r = receipt.clone();
            let mut i = inclusion.clone();
            change(&mut i);
            r.inclusion = Some(i);
            r.verify(&keys)
        };
        for (what, change) in [
            (
                "another entry",
                &(|i: &mut LogInclusion| {
                    i.entry = base64::engine::general_purpose::STANDARD.encode(&entries[0]);
                }) as &dyn Fn(&mut LogInclusion),
            ),
            ("a changed proof", &|i: &mut LogInclusion| {
                i.proof[0] = hex::encode([0u8; 32]);
            }),
            ("a forged checkpoint", &|i: &mut LogInclusion| {
                i.checkpoint = i.checkpoint.replace("\n3\n", "\n4\n");
            }),
        ] {
            assert!(
                matches!(broken(change), Err(ReceiptError::Inclusion(_))),
                "{what} must not verify"
            );
        }
    }
}
