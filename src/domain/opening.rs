//! The opening record (开标记录): what the committee's opening revealed, all bids at once,
//! signed by the platform and public. Its exact form is docs/protocol.md ("Opening record").

use serde::{Deserialize, Serialize};

/// Version of the record format.
pub const RECORD_VERSION: u8 = 1;

/// The bidder organisation, as named in the envelope header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordOrganization {
    pub name: String,
    pub usci: String,
}

/// An attached file of an opened bid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordFile {
    pub name: String,
    pub sha256: String,
    pub size: u64,
}

/// One bid in the record: valid or not, with everything needed to check that it was
/// committed before the deadline (`salt` opens the blinded commitment logged at
/// `log_index`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordBid {
    pub organization: RecordOrganization,
    /// Integer minor units; `None` if the bid did not open.
    pub price: Option<i64>,
    pub currency: Option<String>,
    pub lots: Vec<String>,
    pub files: Vec<RecordFile>,
    /// The client machine fingerprint from the manifest (for collusion checks).
    pub machine: Option<String>,
    /// `not_required`, or `unverified` until deposits are confirmed by the bank.
    pub bond: String,
    pub valid: bool,
    /// A stable code for why the bid is invalid (e.g. `manifest_signature_invalid`).
    pub reason_code: Option<String>,
    pub reason: Option<String>,
    pub envelope_sha256: String,
    /// Hex of the 32-byte salt of the blinded commitment.
    pub salt: String,
    pub commitment: String,
    pub log_index: i64,
    pub received_at: String,
}

/// A committee member and whether its contribution was used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordCustodian {
    pub custodian: String,
    pub key_id: String,
    pub contributed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordCommittee {
    pub threshold: u8,
    pub custodians: Vec<RecordCustodian>,
}

/// The rule the outcome was judged by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordRule {
    pub value: i64,
    pub article: String,
}

/// The whole record. Bids are in log order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpeningRecord {
    pub v: u8,
    pub trade: String,
    pub title: String,
    pub kind: String,
    pub procedure: String,
    pub rulebook_version: String,
    pub rulebook_sha256: String,
    pub deadline: String,
    pub opened_at: String,
    pub committee: RecordCommittee,
    pub min_valid_bids: Option<RecordRule>,
    /// `opened`, or `failed` (流标) with `reason`.
    pub outcome: String,
    pub reason: Option<String>,
    pub valid_bids: usize,
    pub bids: Vec<RecordBid>,
}

/// A record with the platform's signature over its canonical bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedRecord {
    pub record: OpeningRecord,
    /// Base64 Ed25519 signature over `opening_record_message(JCS(record))`.
    pub signature: String,
    /// Id of the platform key that signed (see /api/v1/platform/keys).
    pub key_id: String,
}

/// The server's one-time opening key for a trade: custodians seal their contributions to
/// it after checking the platform's signature (`opening_key_message`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpeningKey {
    /// Base64 of the 32-byte X25519 public key.
    pub public_key: String,
    /// Hex SHA-256 of the public key.
    pub key_id: String,
    /// Base64 Ed25519 signature of the platform key `platform_key_id`.
    pub signature: String,
    pub platform_key_id: String,
}

/// One bid's share sealed to the asking custodian, as the envelope header holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BidShare {
    pub bid: String,
    /// Hex SHA-256 of the bidder's certificate: part of the share's binding (`info`).
    pub bidder_certificate: String,
    /// The HPKE encapsulated key (suite 1); absent in suite 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enc: Option<String>,
    pub ct: String,
}

/// What a custodian fetches once the opening window is open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShareBundle {
    pub trade: String,
    /// Id of the custodian's per-trade key the shares are sealed to.
    pub custodian_key: String,
    pub opening_key: OpeningKey,
    pub window_ends_at: String,
    pub shares: Vec<BidShare>,
}

/// A custodian's contribution: its opened shares sealed to the opening key (base64 HPKE
/// `enc` and ciphertext), signed with its certificate (`contribution_signature_message`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contribution {
    pub opening_key: String,
    pub enc: String,
    pub ct: String,
    pub signature: String,
}

/// A committee member's progress in the current opening.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustodianProgress {
    pub custodian: String,
    pub contributed: bool,
}

/// The public state of a trade's opening (开标大厅): nothing about any bid until the
/// record exists, then the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpeningStatus {
    pub trade: String,
    /// `bidding`, `awaiting_contributions`, `window_expired`, `opened` or `failed`.
    pub phase: String,
    pub deadline: String,
    pub window_ends_at: String,
    pub server_time: String,
    pub threshold: u8,
    pub custodians: Vec<CustodianProgress>,
    pub opening: Option<SignedRecord>,
}
