//! Bid receipts: what the platform signs when it has durably stored a sealed bid. A
//! bidder keeps it to prove, offline and later, that its envelope was committed in time.
//! The public log carries only the blinded commitment, so it reveals neither which trade
//! got a bid nor who bid (招标投标法 第22条); the opening record reveals the salts.

use serde::{Deserialize, Serialize};

use super::digest::sha256_hex;
use super::platform_key::{self, PlatformKey, PublicKeyInfo};

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
        if platform_key::verify(key, &self.signed_message(), &signature) {
            Ok(())
        } else {
            Err(ReceiptError::Signature)
        }
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
}
