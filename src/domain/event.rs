//! The one ordered event log: what a state change records, and the exact entry bytes that
//! the transparency log hashes (format specified in docs/event-log.md).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::clock::rfc3339;

/// Version of the entry encoding; bumped if the format ever changes. Version 2 added
/// `prev` to entries that name a trade (docs/event-log.md).
pub const ENTRY_VERSION: u8 = 2;

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
    /// Only in entries that name a trade: the previous entry naming it, `null` for its
    /// first. Written as `null` or a number, never left out, when the trade is named.
    #[serde(skip_serializing_if = "Option::is_none")]
    prev: Option<Option<i64>>,
    data: &'a serde_json::Value,
    audit: &'a str,
}

/// Encodes the entry for log index `seq`: compact UTF-8 JSON with the fields in the
/// documented order and `data`'s object keys sorted (serde_json's default map). `prev` is
/// the index of the previous entry naming the same trade (ignored for an entry naming
/// none): the trade's entries form a chain, so a gap in a set of them shows.
pub fn encode_entry(seq: i64, at: DateTime<Utc>, event: &NewEvent, prev: Option<i64>) -> Vec<u8> {
    let trade = event.trade_id.as_deref();
    let entry = Entry {
        v: ENTRY_VERSION,
        seq,
        at: rfc3339(at),
        kind: event.kind,
        trade,
        prev: trade.map(|_| prev),
        data: &event.data,
        audit: &event.audit_commitment,
    };
    // Serializing a struct of strings, integers and a Value cannot fail.
    serde_json::to_vec(&entry).unwrap_or_default()
}

/// What an entry's bytes say about its trade: the trade it names, and the `prev` link
/// (`Some(None)` for a trade's first entry, `None` for an entry from before the links,
/// version 1). `None` for an entry that names no trade or is not an entry.
pub fn trade_link(entry: &[u8]) -> Option<(String, Option<Option<i64>>)> {
    #[derive(serde::Deserialize)]
    struct Link {
        trade: Option<String>,
        #[serde(default, deserialize_with = "present")]
        prev: Option<Option<i64>>,
    }
    fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
        <Option<i64> as serde::Deserialize>::deserialize(d).map(Some)
    }
    let link: Link = serde_json::from_slice(entry).ok()?;
    Some((link.trade?, link.prev))
}

/// Follows the trade links of a log's entries, read in order, and finds where they fork:
/// each entry that names a trade must link to the trade's entry before it. A link that
/// skips an entry naming the trade means that entry was hidden from whoever appended the
/// next one (its `trade_id` column changed behind the log, or the log forked).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct TradeLinks {
    /// Each trade's newest entry seen.
    heads: std::collections::BTreeMap<String, i64>,
}

impl TradeLinks {
    /// Takes entry `seq` (its bytes). `complete`: every entry before it was seen, so a
    /// trade not seen yet has no entry before. `Err` says where the links fork.
    pub fn follow(&mut self, seq: i64, entry: &[u8], complete: bool) -> Result<(), String> {
        let Some((trade, prev)) = trade_link(entry) else {
            return Ok(());
        };
        let known = self.heads.get(&trade).copied();
        if let Some(prev) = prev {
            if (known.is_some() || complete) && prev != known {
                let name = |s: Option<i64>| s.map_or("none".to_owned(), |s| format!("entry {s}"));
                return Err(format!(
                    "entry {seq} of trade {trade} links to {} as the trade's entry before it, but that is {}: an entry of the trade was hidden when it was appended",
                    name(prev),
                    name(known)
                ));
            }
        }
        self.heads.insert(trade, seq);
        Ok(())
    }
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
        let bytes = encode_entry(7, at, &event, Some(3));
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap_or_default(),
            r#"{"v":2,"seq":7,"at":"2027-01-15T08:00:00.123Z","kind":"trade.published","trade":"t1","prev":3,"data":{"a":"x","z":1},"audit":"ab"}"#
        );
        assert_eq!(trade_link(&bytes), Some(("t1".into(), Some(Some(3)))));
        let first = encode_entry(7, at, &event, None);
        assert!(String::from_utf8_lossy(&first).contains(r#""trade":"t1","prev":null,"#));
        assert_eq!(trade_link(&first), Some(("t1".into(), Some(None))));
        let unnamed = NewEvent {
            trade_id: None,
            ..event
        };
        let bytes = encode_entry(8, at, &unnamed, Some(3));
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap_or_default(),
            r#"{"v":2,"seq":8,"at":"2027-01-15T08:00:00.123Z","kind":"trade.published","trade":null,"data":{"a":"x","z":1},"audit":"ab"}"#
        );
        assert_eq!(trade_link(&bytes), None);
        let old = br#"{"v":1,"seq":2,"at":"2027-01-15T08:00:00.123Z","kind":"trade.published","trade":"t1","data":{},"audit":"ab"}"#;
        assert_eq!(trade_link(old), Some(("t1".into(), None)));
    }

    fn linked(seq: i64, trade: &str, prev: Option<i64>) -> Vec<u8> {
        let event = NewEvent {
            kind: "trade.published",
            trade_id: Some(trade.into()),
            data: serde_json::json!({}),
            audit: Audit::default(),
            audit_salt: [0; 32],
            audit_commitment: "ab".into(),
            sealed: vec![],
        };
        encode_entry(seq, DateTime::default(), &event, prev)
    }

    #[test]
    fn links_that_skip_an_entry_of_the_trade_fork() {
        let mut links = TradeLinks::default();
        assert_eq!(links.follow(1, &linked(1, "a", None), true), Ok(()));
        assert_eq!(links.follow(2, &linked(2, "b", None), true), Ok(()));
        assert_eq!(links.follow(3, &linked(3, "a", Some(1)), true), Ok(()));
        // Entry 4 of trade a skips entry 3.
        let forked = links.follow(4, &linked(4, "a", Some(1)), true);
        assert!(forked.is_err_and(|e| e.contains("entry 4 of trade a links to entry 1")));
        // A trade's first entry when the trade had one before.
        let mut links = TradeLinks::default();
        assert_eq!(links.follow(1, &linked(1, "a", None), true), Ok(()));
        assert!(links.follow(2, &linked(2, "a", None), true).is_err());
        // Without the entries before, a trade not seen yet is taken as it links.
        let mut links = TradeLinks::default();
        assert_eq!(links.follow(9, &linked(9, "a", Some(5)), false), Ok(()));
        assert!(links.follow(10, &linked(10, "a", Some(5)), false).is_err());
        // Entries before the links (format 1) link nothing and are heads all the same.
        let mut links = TradeLinks::default();
        let old = br#"{"v":1,"seq":1,"at":"2027-01-15T08:00:00.123Z","kind":"trade.published","trade":"a","data":{},"audit":"ab"}"#;
        assert_eq!(links.follow(1, old, true), Ok(()));
        assert_eq!(links.follow(2, &linked(2, "a", Some(1)), true), Ok(()));
    }
}
