//! The one ordered event log: what a state change records, and the exact entry bytes that
//! the transparency log hashes (format specified in docs/event-log.md).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::clock::rfc3339;

/// Version of the entry encoding; bumped if the format ever changes.
pub const ENTRY_VERSION: u8 = 1;

/// Confidential data that a public entry commits to as `SHA-256(salt ‖ data)`. Kept in its
/// own table; revealed by a later entry (salt and data) when it may become public.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// Which field of the entry's `data` holds the commitment, e.g. `asker`.
    pub name: &'static str,
    pub salt: [u8; 32],
    pub data: Vec<u8>,
}

/// Who did it, from where (电子招标投标办法 第49条). Private; the entry carries its
/// commitment in `audit`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Audit {
    /// Identity id of the operator, `None` for anonymous requests and timers.
    pub actor: Option<String>,
    pub client_addr: Option<String>,
    pub request_id: Option<String>,
}

/// The private side of a stored entry: who did it from where, and the confidential data
/// (by name) its public fields commit to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryPrivate {
    pub audit: Audit,
    pub sealed: Vec<(String, Vec<u8>)>,
}

/// A state change about to be appended. `data` is public the moment it is written.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub kind: &'static str,
    pub trade_id: Option<String>,
    pub data: serde_json::Value,
    pub audit: Audit,
    /// Salt of the audit commitment.
    pub audit_salt: [u8; 32],
    /// `SHA-256(audit_salt ‖ JSON(audit))`, hex.
    pub audit_commitment: String,
    pub sealed: Vec<Sealed>,
}

/// An appended entry as the log stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedEvent {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub kind: String,
    pub trade_id: Option<String>,
    /// The exact bytes hashed into the transparency log.
    pub entry: Vec<u8>,
}

#[derive(Serialize)]
struct Entry<'a> {
    v: u8,
    seq: i64,
    at: String,
    kind: &'a str,
    trade: Option<&'a str>,
    data: &'a serde_json::Value,
    audit: &'a str,
}

/// Encodes the entry for log index `seq`: compact UTF-8 JSON with the fields in the
/// documented order and `data`'s object keys sorted (serde_json's default map).
pub fn encode_entry(seq: i64, at: DateTime<Utc>, event: &NewEvent) -> Vec<u8> {
    let entry = Entry {
        v: ENTRY_VERSION,
        seq,
        at: rfc3339(at),
        kind: event.kind,
        trade: event.trade_id.as_deref(),
        data: &event.data,
        audit: &event.audit_commitment,
    };
    // Serializing a struct of strings, integers and a Value cannot fail.
    serde_json::to_vec(&entry).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_encode_in_the_documented_order() {
        let event = NewEvent {
            kind: "trade.published",
            trade_id: Some("t1".into()),
            data: serde_json::json!({"z": 1, "a": "x"}),
            audit: Audit::default(),
            audit_salt: [0; 32],
            audit_commitment: "ab".into(),
            sealed: vec![],
        };
        let at = DateTime::from_timestamp_millis(1_800_000_000_123).unwrap_or_default();
        let bytes = encode_entry(7, at, &event);
        assert_eq!(
            String::from_utf8(bytes).unwrap_or_default(),
            r#"{"v":1,"seq":7,"at":"2027-01-15T08:00:00.123Z","kind":"trade.published","trade":"t1","data":{"a":"x","z":1},"audit":"ab"}"#
        );
    }
}
