//! Fuzz targets: every parser that takes bytes from outside the platform, as a function of
//! arbitrary bytes that must never panic and must keep its invariant (docs/security.md,
//! "Fuzzing").
//!
//! Each target answers whether the input was accepted. `cargo fuzz` runs them
//! coverage-guided (`fuzz/`, for as long as one likes); the test suite runs each over its
//! committed corpus (`fuzz/corpus/<target>/`) and a bounded number of mutations of it.
//! Signed inputs are checked against fixed public material in `fuzz/fixtures/`: the
//! DEV ONLY CA and its CRL, and the platform keys that signed the seeds (public halves
//! only; the private keys were thrown away).

use chrono::{DateTime, TimeZone as _, Utc};
use std::collections::HashMap;
use std::sync::OnceLock;

use crate::crypto::cert::{parse_pem_certificates, TrustStore};
use crate::crypto::checkpoint::Checkpoint;
use crate::crypto::envelope;
use crate::crypto::platform_key::PublicKeyInfo;
use crate::crypto::receipt::Receipt;
use crate::domain::bank::BankNotification;
use crate::domain::merkle::{self, Hash, NodeId};
use crate::domain::rulebook::Rulebook;
use crate::domain::trade::TradeTerms;

/// A target: arbitrary bytes in, whether they were accepted out; panics on a broken
/// invariant.
pub type Target = fn(&[u8]) -> bool;

/// Every target by name; `fuzz/corpus/<name>/` holds its seeds.
pub const TARGETS: &[(&str, Target)] = &[
    ("certificate", certificate),
    ("crl", crl),
    ("envelope", envelope),
    ("receipt", receipt),
    ("checkpoint", checkpoint),
    ("proof", proof),
    ("bank_notification", bank_notification),
    ("quote_json", quote_json),
    ("trade_json", trade_json),
    ("rulebook", rulebook),
    ("archive", archive),
];

/// The instant signed inputs are checked at: within the fixtures' validity.
pub fn fixture_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 2, 0, 0)
        .single()
        .unwrap_or_default()
}

const ROOT_DER: &[u8] = include_bytes!("../fuzz/fixtures/root.der");
const CRL_DER: &[u8] = include_bytes!("../fuzz/fixtures/crl.der");
const KEYS_JSON: &str = include_str!("../fuzz/fixtures/keys.json");

/// The platform keys the seeds were signed with.
pub fn fixture_keys() -> &'static [PublicKeyInfo] {
    static KEYS: OnceLock<Vec<PublicKeyInfo>> = OnceLock::new();
    KEYS.get_or_init(|| {
        serde_json::from_str(KEYS_JSON)
            .ok()
            .and_then(|json| crate::client::receipt::parse_keys(json).ok())
            .unwrap_or_default()
    })
}

fn trust_store(crls: Vec<Vec<u8>>) -> Option<TrustStore> {
    TrustStore::new(vec![ROOT_DER.to_vec()], crls).ok()
}

/// A certificate chain, as PEM text or one DER certificate, validated as a login would.
pub fn certificate(data: &[u8]) -> bool {
    let chain = match std::str::from_utf8(data) {
        Ok(text) if text.contains("-----BEGIN") => match parse_pem_certificates(text) {
            Ok(chain) => chain,
            Err(_) => return false,
        },
        _ => vec![data.to_vec()],
    };
    let Some(store) = trust_store(vec![CRL_DER.to_vec()]) else {
        return false;
    };
    match store.verify_identity(&chain, fixture_time()) {
        Ok(_) => true,
        Err(e) => {
            let _ = e.code();
            false
        }
    }
}

/// A certificate revocation list, loaded as `--crl` would be.
pub fn crl(data: &[u8]) -> bool {
    trust_store(vec![data.to_vec()]).is_some()
}

/// A sealed-bid envelope, inspected as intake does and its header read as the opening does.
pub fn envelope(data: &[u8]) -> bool {
    let header = envelope::read_header(data);
    match envelope::inspect(data) {
        Ok(inspected) => {
            assert!(
                header.is_ok(),
                "inspect accepted an envelope whose header read_header refuses"
            );
            assert!(inspected.payload_offset + inspected.payload_len <= data.len() as u64);
            let _ = inspected.certificate_chain();
            true
        }
        Err(_) => false,
    }
}

/// A bid receipt (JSON), verified with the platform keys as `tradehall receipt verify` does.
pub fn receipt(data: &[u8]) -> bool {
    let Ok(receipt) = serde_json::from_slice::<Receipt>(data) else {
        return false;
    };
    receipt.verify(fixture_keys()).is_ok()
}

/// A signed checkpoint (C2SP signed note).
pub fn checkpoint(data: &[u8]) -> bool {
    let Ok(note) = std::str::from_utf8(data) else {
        return false;
    };
    match Checkpoint::verify(note, fixture_keys()) {
        Ok(checkpoint) => {
            // The signed body is exactly what the note shows first.
            assert!(
                note.starts_with(&checkpoint.body()),
                "a checkpoint verified whose body is not the note's first lines"
            );
            true
        }
        Err(_) => false,
    }
}

/// Inclusion and consistency proofs: the first three bytes choose a tree of up to 64
/// leaves, a leaf and an earlier size; the rest is read as proof hashes. A proof that
/// verifies must be the true proof.
pub fn proof(data: &[u8]) -> bool {
    let [a, b, c, rest @ ..] = data else {
        return false;
    };
    let size = 1 + u64::from(*a % 64);
    let index = u64::from(*b) % size;
    let first = 1 + u64::from(*c) % size;
    let mut nodes: HashMap<NodeId, Hash> = HashMap::new();
    for i in 0..size {
        let leaf = merkle::leaf_hash(format!("leaf-{i}").as_bytes());
        for (id, hash) in
            merkle::append_nodes(i, leaf, |id| nodes.get(&id).copied()).unwrap_or_default()
        {
            nodes.insert(id, hash);
        }
    }
    let node = |id: NodeId| nodes.get(&id).copied();
    let root_of = |n: u64| merkle::root(n, &node).unwrap_or_default();
    let (root, first_root) = (root_of(size), root_of(first));
    let hashes: Vec<Hash> = rest
        .chunks_exact(32)
        .map(|chunk| {
            let mut h = [0u8; 32];
            h.copy_from_slice(chunk);
            h
        })
        .collect();
    let leaf = merkle::leaf_hash(format!("leaf-{index}").as_bytes());
    let true_inclusion = merkle::inclusion_proof(index, size, &node).unwrap_or_default();
    let true_consistency = merkle::consistency_proof(first, size, &node).unwrap_or_default();
    assert!(merkle::verify_inclusion(
        index,
        size,
        &leaf,
        &true_inclusion,
        &root
    ));
    let included = merkle::verify_inclusion(index, size, &leaf, &hashes, &root);
    assert!(
        !included || hashes == true_inclusion,
        "a false inclusion proof verified"
    );
    let consistent = merkle::verify_consistency(first, size, &first_root, &root, &hashes);
    assert!(
        !consistent || hashes == true_consistency,
        "a false consistency proof verified"
    );
    included || consistent
}

/// A bank's deposit, bond or refund notification body.
pub fn bank_notification(data: &[u8]) -> bool {
    match BankNotification::parse(data) {
        Ok(n) => {
            // What was accepted is what is kept: it reads back the same.
            let again = serde_json::to_vec(&n)
                .ok()
                .and_then(|bytes| BankNotification::parse(&bytes).ok());
            assert_eq!(
                again.as_ref(),
                Some(&n),
                "an accepted notification does not read back"
            );
            let _ = n.check_deposit(n.amount, &n.payer_account);
            true
        }
        Err(e) => {
            let _ = e.code();
            false
        }
    }
}

/// A quote's JSON body: an accepted amount survives a round trip unchanged.
pub fn quote_json(data: &[u8]) -> bool {
    let Ok(quote) = serde_json::from_slice::<crate::engine::NewQuote>(data) else {
        return false;
    };
    let again: crate::domain::money::Money =
        serde_json::from_value(serde_json::to_value(quote.amount).unwrap_or_default())
            .unwrap_or_else(|e| panic!("an accepted amount does not round-trip: {e}"));
    assert_eq!(again, quote.amount);
    true
}

/// A trade's terms (JSON), checked against the built-in rulebook as publishing does.
pub fn trade_json(data: &[u8]) -> bool {
    let Ok(terms) = serde_json::from_slice::<TradeTerms>(data) else {
        return false;
    };
    let Some(procedure) = builtin_rulebook().procedure(&terms.kind, &terms.procedure) else {
        return false;
    };
    procedure.check_terms(&terms, fixture_time(), 1).is_ok()
}

fn builtin_rulebook() -> &'static Rulebook {
    static BOOK: OnceLock<Option<Rulebook>> = OnceLock::new();
    BOOK.get_or_init(|| Rulebook::parse(crate::domain::rulebook::BUILTIN, String::new()).ok())
        .as_ref()
        .unwrap_or_else(|| panic!("the built-in rulebook does not load"))
}

/// A rulebook file, as `--rulebook` loads it.
pub fn rulebook(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let Ok(book) = Rulebook::parse(text, String::new()) else {
        return false;
    };
    let _ = book.looser_than(builtin_rulebook());
    true
}

/// A trade archive (tar), verified offline against the platform keys.
pub fn archive(data: &[u8]) -> bool {
    crate::client::archive::verify(data, Some(fixture_keys().to_vec())).is_ok()
}

#[cfg(test)]
mod tests {
    //! The bounded fuzzing CI runs: each target over its committed seeds, then over
    //! random edits of them (`TRADEHALL_FUZZ_CASES` per target, 2,048 unless set). A failing
    //! input is shrunk and kept in `proptest-regressions/fuzz.txt`, which is committed and
    //! replayed first on every later run; add it to the corpus as well.

    use super::TARGETS;
    use proptest::prelude::*;
    use std::path::PathBuf;

    fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/corpus")
            .join(target);
        let mut seeds: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .flatten()
            .map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                let bytes = std::fs::read(entry.path()).unwrap_or_else(|e| panic!("{e}"));
                (name, bytes)
            })
            .collect();
        seeds.sort();
        seeds
    }

    fn target(name: &str) -> super::Target {
        TARGETS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| *t)
            .unwrap_or_else(|| panic!("no target {name}"))
    }

    #[test]
    fn every_target_has_seeds_and_accepts_its_valid_ones() {
        for (name, run) in TARGETS {
            let seeds = corpus(name);
            assert!(
                seeds.iter().any(|(seed, _)| seed.starts_with("valid-")),
                "{name} has no valid seed"
            );
            for (seed, bytes) in seeds {
                let accepted = run(&bytes);
                if seed.starts_with("valid-") {
                    assert!(accepted, "{name}/{seed} is not accepted");
                }
                if seed.starts_with("invalid-") {
                    assert!(!accepted, "{name}/{seed} is accepted");
                }
            }
        }
    }

    /// One edit of a seed.
    #[derive(Debug, Clone)]
    enum Edit {
        Flip {
            at: usize,
            bit: u8,
        },
        Set {
            at: usize,
            byte: u8,
        },
        Insert {
            at: usize,
            bytes: Vec<u8>,
        },
        Remove {
            at: usize,
            len: usize,
        },
        Truncate {
            at: usize,
        },
        /// Copies a run of the input over another place (duplicated fields, lengths).
        Copy {
            from: usize,
            to: usize,
            len: usize,
        },
    }

    fn edit() -> impl Strategy<Value = Edit> {
        let at = any::<usize>();
        prop_oneof![
            (at, 0u8..8).prop_map(|(at, bit)| Edit::Flip { at, bit }),
            (
                at,
                prop_oneof![Just(0u8), Just(0xff), Just(b'"'), Just(b'-'), any::<u8>()]
            )
                .prop_map(|(at, byte)| Edit::Set { at, byte }),
            (at, proptest::collection::vec(any::<u8>(), 1..16))
                .prop_map(|(at, bytes)| Edit::Insert { at, bytes }),
            (at, 1usize..64).prop_map(|(at, len)| Edit::Remove { at, len }),
            at.prop_map(|at| Edit::Truncate { at }),
            (at, at, 1usize..64).prop_map(|(from, to, len)| Edit::Copy { from, to, len }),
        ]
    }

    fn apply(seed: &[u8], edits: &[Edit]) -> Vec<u8> {
        let mut out = seed.to_vec();
        for edit in edits {
            let n = out.len().max(1);
            match edit {
                Edit::Flip { at, bit } => {
                    if let Some(b) = out.get_mut(at % n) {
                        *b ^= 1 << bit;
                    }
                }
                Edit::Set { at, byte } => {
                    if let Some(b) = out.get_mut(at % n) {
                        *b = *byte;
                    }
                }
                Edit::Insert { at, bytes } => {
                    let at = at % (out.len() + 1);
                    out.splice(at..at, bytes.iter().copied());
                }
                Edit::Remove { at, len } => {
                    let at = at % n;
                    let end = (at + len).min(out.len());
                    if at < end {
                        out.drain(at..end);
                    }
                }
                Edit::Truncate { at } => out.truncate(at % n),
                Edit::Copy { from, to, len } => {
                    let from = from % n;
                    let run: Vec<u8> = out.iter().skip(from).take(*len).copied().collect();
                    let to = to % (out.len() + 1);
                    out.splice(to..to, run);
                }
            }
        }
        out
    }

    fn cases() -> u32 {
        std::env::var("TRADEHALL_FUZZ_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(2048)
    }

    /// Random edits of the target's seeds, and arbitrary bytes.
    fn inputs(name: &str) -> impl Strategy<Value = Vec<u8>> {
        let seeds: Vec<Vec<u8>> = corpus(name).into_iter().map(|(_, b)| b).collect();
        prop_oneof![
            9 => (proptest::sample::select(seeds), proptest::collection::vec(edit(), 1..6))
                .prop_map(|(seed, edits)| apply(&seed, &edits)),
            1 => proptest::collection::vec(any::<u8>(), 0..512),
        ]
    }

    macro_rules! fuzz_in_ci {
        ($($name:ident),* $(,)?) => {
            $(
                proptest! {
                    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]
                    #[test]
                    fn $name(input in inputs(stringify!($name))) {
                        target(stringify!($name))(&input);
                    }
                }
            )*
            #[test]
            fn every_target_runs_in_ci() {
                let listed = [$(stringify!($name)),*];
                for (name, _) in TARGETS {
                    assert!(listed.contains(name), "{name} is not run by fuzz_in_ci!");
                }
            }
        };
    }

    fuzz_in_ci!(
        certificate,
        crl,
        envelope,
        receipt,
        checkpoint,
        proof,
        bank_notification,
        quote_json,
        trade_json,
        rulebook,
        archive,
    );
}
