//! The log is a Merkle tree (RFC 9162 hashing) grown in the same transaction as its
//! entries: its root is the RFC 9162 root of the raw entries, every entry has an inclusion
//! proof, every earlier tree a consistency proof; also for entries appended in one batch.

use std::collections::HashMap;

use base64::Engine as _;

use crate::helpers::{spawn_app, tamper, Backend};
use crate::opening::round_on;
use tradehall::domain::merkle::{self, Hash, NodeId};

crate::on_both_backends!(
    the_log_tree_matches_its_entries_and_proves_them,
    proofs_from_the_upper_levels_kept_in_memory_match_the_entries,
    anyone_can_fetch_entries_and_check_proofs_over_http,
    the_witness_accepts_an_honest_log_and_detects_tampering,
    a_witness_with_a_state_file_looks_again_at_what_it_saw_before,
    a_verifier_holds_the_log_against_what_a_witness_cosigned,
    a_witness_finds_an_entry_hidden_from_its_trade,
);

fn hash_of(v: &serde_json::Value) -> Hash {
    hex::decode(v.as_str().unwrap_or_default())
        .ok()
        .and_then(|b| b.try_into().ok())
        .unwrap_or_else(|| panic!("not a hash: {v}"))
}

fn hashes(v: &serde_json::Value) -> Vec<Hash> {
    v.as_array().into_iter().flatten().map(hash_of).collect()
}

async fn anyone_can_fetch_entries_and_check_proofs_over_http(backend: Backend) {
    let app = spawn_app(backend).await;
    let _ = app.officer_and_custodians().await;
    // Some entries appended as one batch (one commit), as a group commit does.
    let batch: Vec<tradehall::domain::event::NewEvent> = (0..7)
        .map(|n| tradehall::domain::event::NewEvent {
            kind: "test.batched",
            trade_id: None,
            data: serde_json::json!({ "n": n }),
            audit: tradehall::domain::event::Audit::default(),
            audit_salt: [0; 32],
            audit_commitment: String::new(),
            sealed: vec![],
        })
        .collect();
    let numbers = app
        .platform
        .store
        .append_batch(&batch)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(numbers.windows(2).filter(|w| w[1] != w[0] + 1).count(), 0);
    let size = app
        .platform
        .store
        .log_size()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(size >= 11, "enrolling and the batch made entries");
    assert_eq!(numbers.last().copied(), i64::try_from(size).ok());
    let leaves: Vec<Hash> = log_entries(&app, size)
        .await
        .iter()
        .map(|e| merkle::leaf_hash(e))
        .collect();
    assert_eq!(leaves.len() as u64, size);
    let root = mth(&leaves);
    // The signed checkpoint names this tree; a verifier checks it with the published keys.
    let note = app.text("/api/v1/log/checkpoint").await;
    let checkpoint = tradehall::crypto::checkpoint::Checkpoint::verify(
        &note,
        &crate::helpers::platform_keys(&app).await,
    )
    .unwrap_or_else(|e| panic!("{e}: {note}"));
    assert_eq!(
        (checkpoint.origin.as_str(), checkpoint.size, checkpoint.root),
        ("test.tradehall.local/log", size, root)
    );
    for index in 0..size {
        let (status, p) = app
            .get(
                &format!("/api/v1/log/proof/inclusion?index={index}&size={size}"),
                None,
            )
            .await;
        assert_eq!(status, reqwest::StatusCode::OK, "{p}");
        assert_eq!(hash_of(&p["root"]), root);
        assert_eq!(hash_of(&p["leaf_hash"]), leaves[index as usize]);
        assert!(merkle::verify_inclusion(
            index,
            size,
            &leaves[index as usize],
            &hashes(&p["proof"]),
            &root
        ));
    }
    let first = size / 2;
    let (status, p) = app
        .get(
            &format!("/api/v1/log/proof/consistency?first={first}&second={size}"),
            None,
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{p}");
    assert!(merkle::verify_consistency(
        first,
        size,
        &mth(&leaves[..first as usize]),
        &root,
        &hashes(&p["proof"])
    ));
    for bad in [
        format!("/api/v1/log/proof/inclusion?index={size}&size={size}"),
        format!("/api/v1/log/proof/inclusion?index=0&size={}", size + 1),
        format!("/api/v1/log/proof/consistency?first=0&second={size}"),
        "/api/v1/log/entries?start=5&end=5".to_owned(),
    ] {
        let (status, body) = app.get(&bad, None).await;
        assert!(status.is_client_error(), "{bad}: {status}");
        assert_eq!(crate::helpers::code(&body), "invalid_log_range", "{bad}");
    }
}

/// RFC 9162 MTH from the raw entries, by the definition.
/// The raw bytes of the log's first `size` entries, as the public API serves them.
pub(crate) async fn log_entries(app: &crate::helpers::TestApp, size: u64) -> Vec<Vec<u8>> {
    use base64::Engine as _;
    let (status, body) = app
        .get(&format!("/api/v1/log/entries?start=0&end={size}"), None)
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    body["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            base64::engine::general_purpose::STANDARD
                .decode(e["entry"].as_str().unwrap_or_default())
                .unwrap_or_default()
        })
        .collect()
}

pub(crate) fn mth(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => merkle::empty_root(),
        1 => leaves[0],
        n => {
            let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
            merkle::node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

async fn the_log_tree_matches_its_entries_and_proves_them(backend: Backend) {
    let r = round_on(spawn_app(backend).await).await;
    // Concurrent bids go through the group commit: several entries per transaction.
    let mut bidders = Vec::new();
    for _ in 0..4 {
        bidders.push(r.app.user("bidder").await);
    }
    let bids: Vec<_> = bidders.iter().map(|b| r.bid(b, 1_000_000)).collect();
    futures_util::future::join_all(bids).await;

    let store = &r.app.platform.store;
    let size = store.log_size().await.unwrap_or_else(|e| panic!("{e}"));
    let events = store
        .events_after(0, 1000)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(events.len() as u64, size);
    let leaves: Vec<Hash> = events.iter().map(|e| merkle::leaf_hash(&e.entry)).collect();

    let mut wanted: Vec<NodeId> = merkle::range_nodes(0, size);
    for m in 0..size {
        wanted.extend(merkle::inclusion_nodes(m, size));
    }
    for first in 1..=size {
        wanted.extend(merkle::consistency_nodes(first, size));
    }
    let nodes: HashMap<NodeId, Hash> = store
        .log_nodes(&wanted)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let node = |id: NodeId| nodes.get(&id).copied();
    let root = merkle::root(size, &node).unwrap_or_else(|| panic!("root"));
    assert_eq!(
        root,
        mth(&leaves),
        "the stored tree is the RFC 9162 tree of the entries"
    );
    for m in 0..size {
        let proof = merkle::inclusion_proof(m, size, &node).unwrap_or_else(|| panic!("proof"));
        assert!(merkle::verify_inclusion(
            m,
            size,
            &leaves[m as usize],
            &proof,
            &root
        ));
    }
    for first in 1..=size {
        let proof =
            merkle::consistency_proof(first, size, &node).unwrap_or_else(|| panic!("proof"));
        let first_root = mth(&leaves[..first as usize]);
        assert!(merkle::verify_consistency(
            first,
            size,
            &first_root,
            &root,
            &proof
        ));
    }

    // Proofs asked for all at once share their reads of the tree: each must still be
    // its own proof, checked against the entries.
    let platform = &r.app.platform;
    let inclusions = (0..size).map(|m| platform.inclusion_proof(m, size));
    let consistencies = (1..=size).map(|first| platform.consistency_proof(first, size));
    let (inclusions, consistencies) = futures_util::future::join(
        futures_util::future::join_all(inclusions),
        futures_util::future::join_all(consistencies),
    )
    .await;
    for (m, got) in inclusions.into_iter().enumerate() {
        let got = got.unwrap_or_else(|e| panic!("{e}"));
        let proof = hashes(&serde_json::json!(got.proof));
        assert_eq!(hex::encode(root), got.root);
        assert_eq!(hex::encode(leaves[m]), got.leaf_hash);
        assert!(
            merkle::verify_inclusion(got.index, size, &leaves[m], &proof, &root),
            "inclusion of {m} asked for with the others"
        );
    }
    for (i, got) in consistencies.into_iter().enumerate() {
        let got = got.unwrap_or_else(|e| panic!("{e}"));
        let first = i as u64 + 1;
        let first_root = mth(&leaves[..i + 1]);
        assert_eq!(hex::encode(first_root), got.first_root);
        let proof = hashes(&serde_json::json!(got.proof));
        assert!(
            merkle::verify_consistency(first, size, &first_root, &root, &proof),
            "consistency of {first} asked for with the others"
        );
    }
}

/// The tree's upper levels are kept in memory once read, and a started server reads
/// them all at once (`warm_log_tree`): every proof made from them must be the proof of
/// the entries, before and after, and as the log grows past what was kept.
async fn proofs_from_the_upper_levels_kept_in_memory_match_the_entries(backend: Backend) {
    use tradehall::domain::event::{Audit, NewEvent};
    let app = spawn_app(backend).await;
    let (store, platform) = (&app.platform.store, &app.platform);
    let entry = |n: u64| NewEvent {
        kind: "test.log_entry",
        trade_id: None,
        data: serde_json::json!({ "n": n }),
        audit: Audit::default(),
        audit_salt: [0; 32],
        audit_commitment: "0".repeat(64),
        sealed: vec![],
    };
    // Appends entries `n` of `range` in one batch; the log's size after.
    let grow = |range: std::ops::Range<u64>| async move {
        let events: Vec<NewEvent> = range.map(entry).collect();
        store
            .append_batch(&events)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        store.log_size().await.unwrap_or_else(|e| panic!("{e}"))
    };
    let check = |size: u64| async move {
        let events = store
            .events_after(0, 1000)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let leaves: Vec<Hash> = events[..size as usize]
            .iter()
            .map(|e| merkle::leaf_hash(&e.entry))
            .collect();
        let root = mth(&leaves);
        for m in (0..size).step_by(5) {
            let got = platform
                .inclusion_proof(m, size)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(hex::encode(root), got.root, "root of {size}");
            let proof = hashes(&serde_json::json!(got.proof));
            assert!(
                merkle::verify_inclusion(m, size, &leaves[m as usize], &proof, &root),
                "inclusion of {m} in {size}"
            );
        }
        for first in (1..=size).step_by(3) {
            let got = platform
                .consistency_proof(first, size)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let first_root = mth(&leaves[..first as usize]);
            assert_eq!(hex::encode(first_root), got.first_root);
            let proof = hashes(&serde_json::json!(got.proof));
            assert!(
                merkle::verify_consistency(first, size, &first_root, &root, &proof),
                "consistency of {first} with {size}"
            );
        }
    };
    let size = grow(0..300).await;
    // Before anything is kept, proofs read the store and keep what they read.
    check(size).await;
    // Levels 4 and up: one node per 16 entries, per 32, per 64, and so on.
    let kept: u64 = (4..64).map(|level| size >> level).sum();
    let warmed = platform
        .warm_log_tree()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(warmed as u64, kept, "every stored node of the kept levels");
    check(size).await;
    // The log grows: new nodes, kept or not, and proofs at the old size still hold.
    let grown = grow(300..700).await;
    check(grown).await;
    check(size).await;
}

/// A database whose entries predate the tree gets its tree built when the store opens.
#[tokio::test]
async fn a_database_from_before_the_tree_gets_its_tree_at_start() {
    use tradehall::domain::event::{Audit, NewEvent};
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let url = format!("sqlite:{}", dir.path().join("old.db").display());
    let clock = std::sync::Arc::new(tradehall::domain::clock::SystemClock);
    let store = tradehall::store::connect(&url, clock.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for n in 0..13 {
        store
            .append(NewEvent {
                kind: "test.appended",
                trade_id: None,
                data: serde_json::json!({ "n": n }),
                audit: Audit::default(),
                audit_salt: [0; 32],
                audit_commitment: String::new(),
                sealed: vec![],
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    drop(store);
    // As an earlier version left it: entries, no tree.
    let pool = sqlx::SqlitePool::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    sqlx::query("DELETE FROM log_nodes")
        .execute(&pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    pool.close().await;

    let store = tradehall::store::connect(&url, clock)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let events = store
        .events_after(0, 100)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let leaves: Vec<Hash> = events.iter().map(|e| merkle::leaf_hash(&e.entry)).collect();
    let nodes = store
        .log_nodes(&merkle::range_nodes(0, 13))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let root = merkle::root(13, &|id| nodes.get(&id).copied());
    assert_eq!(root, Some(mth(&leaves)));
}

/// `tradehall log verify` as a witness: it accepts an honest log as it grows, with a bid
/// receipt in it, and detects an altered entry, a rewritten history, a removed entry, and
/// a log truncated and re-grown without the bid, which only the receipt reveals.
async fn the_witness_accepts_an_honest_log_and_detects_tampering(backend: Backend) {
    use tradehall::client::witness::verify;
    let r = crate::opening::round(backend).await;
    let app = &r.app;
    let bidder = app.user("bidder").await;
    let receipt = r.bid(&bidder, 1_000_000).await;
    let scratch = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let receipt_path = scratch.path().join("bid.receipt.json");
    std::fs::write(&receipt_path, receipt.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let receipts = [receipt_path];
    let bid_index = receipt["log_index"].as_i64().unwrap_or_default();
    assert!(
        receipt["inclusion"]["proof"].is_array(),
        "the receipt carries an inclusion proof: {receipt}"
    );

    let state = scratch.path().join("witness.json");
    let first = verify(&app.base, Some(&state), None, &receipts)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(
        (first.previous_size, first.receipts.clone()),
        (0, vec![bid_index])
    );
    let _ = app.user("bidder").await;
    let second = verify(&app.base, Some(&state), None, &receipts)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(second.previous_size, first.size);
    assert!(second.size > first.size);
    let fresh = |name: &str| scratch.path().join(name);

    // The newest entry removed: the log shrank below what the witness saw. On its own it is
    // a well-formed log, which a witness without state accepts.
    let saved = scratch.path().join("saved.json");
    std::fs::copy(&state, &saved).unwrap_or_else(|e| panic!("{e}"));
    truncate(app, second.size).await;
    let err = verify(&app.base, Some(&state), None, &[])
        .await
        .map(|_| ())
        .expect_err("a removed entry must be detected");
    assert!(format!("{err:#}").contains("shrank"), "{err:#}");
    verify(&app.base, Some(&fresh("c.json")), None, &receipts)
        .await
        .unwrap_or_else(|e| panic!("a truncated log is still well formed: {e:#}"));

    // The log truncated before the bid and grown again: only the receipt, or a witness
    // that saw the bid, reveals it.
    truncate(app, u64::try_from(bid_index).unwrap_or_default()).await;
    let _ = app.user("bidder").await;
    let _ = app.user("bidder").await;
    let err = verify(&app.base, Some(&fresh("b.json")), None, &receipts)
        .await
        .map(|_| ())
        .expect_err("a log re-grown without the bid must fail the receipt");
    assert!(
        format!("{err:#}").contains("no longer in the log"),
        "{err:#}"
    );
    let err = verify(&app.base, Some(&saved), None, &[])
        .await
        .map(|_| ())
        .expect_err("a rewritten history must be detected");
    assert!(format!("{err:#}").contains("rewritten"), "{err:#}");

    // An entry altered in the database: a witness re-hashing the log notices.
    tamper(
        app,
        "UPDATE events SET entry = $1 WHERE seq = 2",
        &[br#"{"forged":true}"#.to_vec()],
    )
    .await;
    let err = verify(&app.base, Some(&fresh("a.json")), None, &[])
        .await
        .map(|_| ())
        .expect_err("an altered entry must be detected");
    assert!(
        format!("{err:#}").contains("do not hash to the signed root"),
        "{err:#}"
    );
}

/// `tradehall log verify --state`: an entry changed below the size the state file saw
/// (its bytes only, the tree left as it was) passes a run that trusts the state; a random
/// sample of old entries, or `--full`, finds it.
async fn a_witness_with_a_state_file_looks_again_at_what_it_saw_before(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    for _ in 0..3 {
        app.user("bidder").await;
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let state = dir.path().join("witness.json");
    let verify = |extra: &[&str]| {
        let mut args: Vec<std::ffi::OsString> = vec![
            "log".into(),
            "verify".into(),
            "--server".into(),
            app.base.clone().into(),
            "--state".into(),
            state.clone().into(),
        ];
        args.extend(extra.iter().map(Into::into));
        crate::helpers::run_cli(args)
    };
    let first = verify(&[]).await;
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let saved = std::fs::read(&state).unwrap_or_default();
    // Entry 3's bytes changed behind the platform's back.
    let (_, entries) = app.get("/api/v1/log/entries?start=2&end=3", None).await;
    let mut bytes = base64::engine::general_purpose::STANDARD
        .decode(entries["entries"][0]["entry"].as_str().unwrap_or_default())
        .unwrap_or_default();
    bytes.push(b' ');
    tamper(&app, "UPDATE events SET entry = $1 WHERE seq = 3", &[bytes]).await;
    app.user("bidder").await;

    let trusting = verify(&["--sample", "0"]).await;
    assert!(
        trusting.status.success(),
        "taking the state on trust, the run does not look below it: {}",
        String::from_utf8_lossy(&trusting.stderr)
    );
    std::fs::write(&state, &saved).unwrap_or_else(|e| panic!("{e}"));
    let sampled = verify(&["--sample", "1000"]).await;
    assert!(!sampled.status.success());
    let said = String::from_utf8_lossy(&sampled.stderr);
    assert!(said.contains("entry 2, seen before"), "{said}");
    std::fs::write(&state, &saved).unwrap_or_else(|e| panic!("{e}"));
    let full = verify(&["--full"]).await;
    assert!(!full.status.success());
    let said = String::from_utf8_lossy(&full.stderr);
    assert!(said.contains("do not hash to the signed root"), "{said}");
}

/// `tradehall log verify --witness NAME --witness-keys FILE`: the log must be consistent
/// with the newest checkpoint the witness cosigned, as the platform publishes it. A
/// platform that rewrites its history after the witness cosigned (and so shows a new
/// verifier a history the witness never saw) is caught, though the new history is well
/// formed on its own.
async fn a_verifier_holds_the_log_against_what_a_witness_cosigned(backend: Backend) {
    use tradehall::crypto::checkpoint::Checkpoint;
    use tradehall::crypto::platform_key::PlatformKey;
    const WITNESS: &str = "region.example.cn/tradehall";
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let witness = PlatformKey::load_or_generate(&dir.path().join("witness-key"))
        .unwrap_or_else(|e| panic!("{e}"));
    let witness_keys = dir.path().join("witness-keys.json");
    std::fs::write(
        &witness_keys,
        serde_json::json!({ "keys": witness.published() }).to_string(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let witnesses = dir.path().join("witnesses.toml");
    std::fs::write(
        &witnesses,
        format!(
            "[[witness]]\nname = \"{WITNESS}\"\nkeys = \"{}\"\n",
            witness_keys.display()
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let app = crate::helpers::spawn_app_with(backend, tradehall::config::Mode::Demo, |args| {
        args.witnesses = Some(witnesses.clone());
    })
    .await;
    for _ in 0..4 {
        app.user("bidder").await;
    }
    // The witness cosigns the checkpoint it verified and hands it over.
    let note = app.text("/api/v1/log/checkpoint").await;
    let keys = crate::helpers::platform_keys(&app).await;
    let checkpoint = Checkpoint::verify(&note, &keys).unwrap_or_else(|e| panic!("{e}"));
    let line = checkpoint.cosign(WITNESS, &witness, 1_796_000_000);
    let (status, body) = app
        .post(
            "/api/v1/log/cosignatures",
            None,
            &serde_json::json!({ "checkpoint": note, "cosignature": line }),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    let verify = || {
        crate::helpers::run_cli(vec![
            "log".into(),
            "verify".into(),
            "--server".into(),
            app.base.clone().into(),
            "--witness".into(),
            WITNESS.into(),
            "--witness-keys".into(),
            witness_keys.clone().into(),
        ])
    };
    app.user("bidder").await;
    let honest = verify().await;
    assert!(
        honest.status.success(),
        "{}",
        String::from_utf8_lossy(&honest.stderr)
    );
    let said = String::from_utf8_lossy(&honest.stdout);
    assert!(said.contains(&format!("that {WITNESS} cosigned")), "{said}");

    // The platform cuts its history below what the witness cosigned and grows again.
    truncate(&app, checkpoint.size - 1).await;
    for _ in 0..3 {
        app.user("bidder").await;
    }
    let split = verify().await;
    assert!(!split.status.success());
    let said = String::from_utf8_lossy(&split.stderr);
    assert!(said.contains("split view"), "{said}");
}

/// Removes entries `seq >= from` and the tree nodes over them, as an operator rewriting
/// history would; the server keeps appending after what is left.
async fn truncate(app: &crate::helpers::TestApp, from: u64) {
    for table in ["event_audit", "event_sealed", "events"] {
        tamper(
            app,
            &format!("DELETE FROM {table} WHERE seq >= {from}"),
            &[],
        )
        .await;
    }
    tamper(
        app,
        &format!(
            "DELETE FROM log_nodes WHERE ((idx + 1) << level) > {}",
            from - 1
        ),
        &[],
    )
    .await;
}

/// The docs are enough for an independent verifier: `tools/verify-receipt.mjs`, written
/// from them with Node's standard library alone, accepts a real receipt and refuses it
/// with a changed proof, a changed entry or a changed checkpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_independent_verifier_in_another_language_checks_a_receipt() {
    let r = crate::opening::round(Backend::Sqlite).await;
    let bidder = r.app.user("bidder").await;
    // Some entries after the bid, so its proof is not trivial.
    let receipt = r.bid(&bidder, 9_870_000_001).await;
    let _ = r.app.user("bidder").await;
    let (_, keys) = r.app.get("/api/v1/platform/keys", None).await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let keys_path = dir.path().join("keys.json");
    std::fs::write(&keys_path, keys.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/verify-receipt.mjs");
    let run = |receipt: &serde_json::Value, name: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, receipt.to_string()).unwrap_or_else(|e| panic!("{e}"));
        std::process::Command::new("node")
            .arg(&script)
            .arg(&path)
            .arg(&keys_path)
            .output()
            .unwrap_or_else(|e| panic!("the independent verifier needs Node.js (node): {e}"))
    };
    let ok = run(&receipt, "receipt.json");
    assert!(
        ok.status.success(),
        "{}{}",
        String::from_utf8_lossy(&ok.stdout),
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).starts_with("receipt OK"));

    let mut proof = receipt.clone();
    proof["inclusion"]["proof"][0] = serde_json::json!(hex::encode([7u8; 32]));
    let mut entry = receipt.clone();
    {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let bytes = b64
            .decode(receipt["inclusion"]["entry"].as_str().unwrap_or_default())
            .unwrap_or_default();
        let mut text = String::from_utf8(bytes).unwrap_or_default();
        text = text.replacen("\"bid.received\"", "\"bid.receivee\"", 1);
        entry["inclusion"]["entry"] = b64.encode(text).into();
    }
    let mut checkpoint = receipt.clone();
    let size = receipt["inclusion"]["checkpoint"]
        .as_str()
        .and_then(|c| c.lines().nth(1))
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or_default();
    checkpoint["inclusion"]["checkpoint"] = receipt["inclusion"]["checkpoint"]
        .as_str()
        .map(|c| c.replacen(&format!("\n{size}\n"), &format!("\n{}\n", size + 1), 1))
        .into();
    for (name, forged) in [
        ("proof", proof),
        ("entry", entry),
        ("checkpoint", checkpoint),
    ] {
        let out = run(&forged, &format!("{name}.json"));
        assert!(!out.status.success(), "a changed {name} was accepted");
    }
}

/// Each entry of a trade links to the trade's entry before it. An entry whose
/// `trade_id` column is cleared behind the platform's back is hidden from the trade's next
/// entry, which links past it: a witness (new, then with its state file) finds the fork.
async fn a_witness_finds_an_entry_hidden_from_its_trade(backend: Backend) {
    let app = spawn_app(backend).await;
    let (officer, custodians) = app.officer_and_custodians().await;
    let ids: Vec<String> = custodians.iter().map(crate::helpers::User::id).collect();
    let trade = app.published_trade(&officer, &ids).await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let state = dir.path().join("witness.json");
    let verify = || {
        crate::helpers::run_cli(vec![
            "log".into(),
            "verify".into(),
            "--server".into(),
            app.base.clone().into(),
            "--state".into(),
            state.clone().into(),
        ])
    };
    let honest = verify().await;
    assert!(
        honest.status.success(),
        "{}",
        String::from_utf8_lossy(&honest.stderr)
    );
    let saved = std::fs::read(&state).unwrap_or_default();
    tamper(
        &app,
        &format!(
            "UPDATE events SET trade_id = NULL WHERE seq = (SELECT MAX(seq) FROM events WHERE trade_id = '{trade}')"
        ),
        &[],
    )
    .await;
    // The trade's next entries: the custodians register their keys.
    crate::opening::register_committee(&app, &trade, custodians).await;
    for (run, from) in [
        ("a witness with a state file", true),
        ("a new witness", false),
    ] {
        if from {
            std::fs::write(&state, &saved).unwrap_or_else(|e| panic!("{e}"));
        } else {
            let _ = std::fs::remove_file(&state);
        }
        let out = verify().await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{run} accepted a forked trade");
        assert!(
            stderr.contains(&format!("of trade {trade} links to entry"))
                && stderr.contains("hidden"),
            "{run}: {stderr}"
        );
    }
}
