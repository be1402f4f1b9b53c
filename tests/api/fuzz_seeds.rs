//! Writes the fuzz corpus seeds and fixtures (`fuzz/corpus/`, `fuzz/fixtures/`) from a
//! real server: a sealed envelope, its receipt and checkpoint, a trade archive, the DEV ONLY
//! CA with its CRL and a bidder's certificate, the platform public keys that signed them.
//! Run it by hand when one of those formats changes:
//!
//! ```sh
//! cargo test --test api fuzz_seeds -- --ignored
//! ```
//!
//! The unit tests of `tradehall::fuzz` then check that every `valid-*` seed is accepted.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};

use crate::evaluation::Evaluation;
use crate::helpers::{start_time, Backend, TestApp};

fn put(target: &str, name: &str, bytes: &[u8]) {
    let dir = root().join("corpus").join(target);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join(name), bytes).unwrap_or_else(|e| panic!("{e}"));
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

async fn keys(app: &TestApp) -> Vec<Value> {
    let (_, keys) = app.get("/api/v1/platform/keys", None).await;
    keys["keys"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes fuzz/corpus and fuzz/fixtures; run by hand when a format changes"]
async fn write_fuzz_seeds() {
    // A bid: its envelope, receipt and the checkpoint the receipt's proof leads to.
    let r = crate::opening::round(Backend::Sqlite).await;
    let bidder = r.app.user("bidder").await;
    put(
        "envelope",
        "valid-envelope",
        &r.seal(&bidder, 1_000_000, &["1"]),
    );
    let receipt = r.bid(&bidder, 1_000_000).await;
    put(
        "receipt",
        "valid-receipt.json",
        &serde_json::to_vec_pretty(&receipt).unwrap_or_default(),
    );
    let checkpoint = receipt["inclusion"]["checkpoint"]
        .as_str()
        .unwrap_or_else(|| panic!("no checkpoint in {receipt}"));
    put("checkpoint", "valid-checkpoint", checkpoint.as_bytes());
    let ids: Vec<String> = r
        .committee
        .custodians
        .iter()
        .map(crate::helpers::User::id)
        .collect();
    let terms = r.app.tender_terms(&ids);
    put(
        "trade_json",
        "valid-tender.json",
        &serde_json::to_vec_pretty(&terms).unwrap_or_default(),
    );

    // A whole trade's archive, from another server (so two platform keys are fixtures).
    let e = Evaluation::start(Backend::Sqlite, None).await;
    e.through_contract().await;
    let app = &e.r.app;
    let resp = app
        .http
        .get(app.url(&format!("/api/v1/trades/{}/archive", e.r.trade)))
        .bearer_auth(&e.city.token)
        .send()
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    let archive = resp.bytes().await.unwrap_or_else(|err| panic!("{err}"));
    put("archive", "valid-trade.tar", &archive);

    let mut all = keys(&r.app).await;
    all.extend(keys(app).await);
    let fixtures = root().join("fixtures");
    std::fs::create_dir_all(&fixtures).unwrap_or_else(|err| panic!("{err}"));
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(fixtures.join(name), bytes).unwrap_or_else(|err| panic!("{err}"));
    };
    write(
        "keys.json",
        &serde_json::to_vec_pretty(&json!({ "keys": all })).unwrap_or_default(),
    );

    // The DEV ONLY CA, its CRL (current at the fixture time) and a bidder it issued.
    let now = start_time();
    let crl = app
        .ca_a
        .crl(
            &[],
            now - chrono::Duration::days(1),
            now + chrono::Duration::days(30),
        )
        .unwrap_or_else(|err| panic!("{err}"));
    write("root.der", &app.ca_a.cert_der());
    write("crl.der", &crl);
    put("crl", "valid-crl.der", &crl);
    put(
        "certificate",
        "valid-bidder.pem",
        e.bidders[0].cert_pem.as_bytes(),
    );

    put(
        "bank_notification",
        "valid-deposit.json",
        &crate::deposits::notification(&e.r.trade, "TXN-0001", "6222020200000000001", &json!({})),
    );
    put(
        "quote_json",
        "valid-quote.json",
        br#"{"client_quote_id":"q-1","amount":125000000}"#,
    );
    put(
        "rulebook",
        "valid-builtin.toml",
        tradehall::domain::rulebook::BUILTIN.as_bytes(),
    );
    put("proof", "valid-inclusion", &proof_seed());
}

/// A tree of 23 leaves, leaf 9, and the true inclusion proof (see `tradehall::fuzz::proof`).
fn proof_seed() -> Vec<u8> {
    use std::collections::HashMap;
    use tradehall::domain::merkle;
    let (size, index) = (23u64, 9u64);
    let mut nodes = HashMap::new();
    for i in 0..size {
        let leaf = merkle::leaf_hash(format!("leaf-{i}").as_bytes());
        for (id, hash) in
            merkle::append_nodes(i, leaf, |id| nodes.get(&id).copied()).unwrap_or_default()
        {
            nodes.insert(id, hash);
        }
    }
    let proof =
        merkle::inclusion_proof(index, size, &|id| nodes.get(&id).copied()).unwrap_or_default();
    let mut seed = vec![(size - 1) as u8, index as u8, 5];
    for hash in proof {
        seed.extend_from_slice(&hash);
    }
    seed
}
