//! One archive per trade (docs/archive.md): the centre downloads it, `tradehall verify
//! archive` checks it offline, and an archive changed afterwards, or built from a
//! database changed behind the platform's back, fails.

use std::io::Read as _;

use reqwest::StatusCode;

use crate::evaluation::Evaluation;
use crate::helpers::{Backend, TestApp, User};
use tradehall::client::archive::verify;

crate::on_both_backends!(
    a_trade_archive_verifies_offline_and_tampering_is_caught,
    an_archive_that_leaves_out_a_stage_does_not_verify,
    an_archive_is_not_made_from_a_log_filed_wrongly_behind_its_back,
);

async fn download(app: &TestApp, who: &User, trade: &str) -> (StatusCode, Vec<u8>) {
    let resp = app
        .http
        .get(app.url(&format!("/api/v1/trades/{trade}/archive")))
        .bearer_auth(&who.token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = resp.status();
    (status, resp.bytes().await.unwrap_or_default().to_vec())
}

/// The archive with `path`'s content changed by `change`.
fn repack(bytes: &[u8], path: &str, change: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = tar::Builder::new(Vec::new());
    let mut archive = tar::Archive::new(bytes);
    for entry in archive.entries().unwrap_or_else(|e| panic!("{e}")) {
        let mut entry = entry.unwrap_or_else(|e| panic!("{e}"));
        let name = entry
            .path()
            .unwrap_or_else(|e| panic!("{e}"))
            .to_string_lossy()
            .into_owned();
        let mut content = Vec::new();
        entry
            .read_to_end(&mut content)
            .unwrap_or_else(|e| panic!("{e}"));
        if name == path {
            change(&mut content);
        }
        let mut header = tar::Header::new_ustar();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        out.append_data(&mut header, &name, content.as_slice())
            .unwrap_or_else(|e| panic!("{e}"));
    }
    out.into_inner().unwrap_or_else(|e| panic!("{e}"))
}

fn failure(bytes: &[u8]) -> String {
    match verify(bytes, None) {
        Ok(_) => panic!("a tampered archive verified"),
        Err(e) => e.to_string(),
    }
}

async fn a_trade_archive_verifies_offline_and_tampering_is_caught(backend: Backend) {
    let e = Evaluation::start(backend, None).await;
    e.through_contract().await;
    let app = &e.r.app;
    let trade = &e.r.trade;

    let (status, _) = download(app, &e.bidders[0], trade).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "bidders do not get archives");
    let (status, bytes) = download(app, &e.city, trade).await;
    assert_eq!(status, StatusCode::OK);
    let verified = verify(&bytes, None).unwrap_or_else(|err| panic!("{err:#}"));
    assert_eq!(&verified.trade, trade);
    assert_eq!(
        verified.documents, 2,
        "the tender documents and the contract"
    );
    let checks = verified.checks.join("\n");
    for expected in [
        "link without a gap from its first to this archive's read",
        "3 bids open their commitments",
        "5 sheets and 5 report signatures verify",
        "expert draw matches its commitment and reruns from the log's root",
        "candidates as logged",
        "award as logged",
        "contract as logged",
        "the signed contract's document is in the archive",
    ] {
        assert!(checks.contains(expected), "{expected}: {checks}");
    }

    // The CLI does the same: download as the centre, verify offline.
    let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
    let cert = crate::helpers::write(dir.path(), "cert.pem", e.officer.cert_pem.as_bytes());
    let key = crate::helpers::write(dir.path(), "key.der", &e.officer.key_pkcs8);
    let file = dir.path().join("trade.tar");
    let out = crate::helpers::run_cli(
        ["archive", "--trade", trade, "--server", &app.base, "--out"]
            .iter()
            .map(std::ffi::OsString::from)
            .chain([
                file.clone().into(),
                "--cert".into(),
                cert.into(),
                "--key".into(),
                key.into(),
            ])
            .collect(),
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out =
        crate::helpers::run_cli(vec!["verify".into(), "archive".into(), file.clone().into()]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("archive OK"), "{stdout}");

    // Changed afterwards: a document, a log entry, the report.
    let document = verified_document(&bytes);
    let changed = repack(&bytes, &document, |c| c[0] ^= 1);
    assert!(failure(&changed).contains("does not match its SHA-256"));
    let changed = repack(&bytes, "log/entries.jsonl", |c| {
        let text = String::from_utf8_lossy(c).into_owned();
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let mut first: serde_json::Value = serde_json::from_str(&lines[0]).unwrap_or_default();
        first["index"] = (first["index"].as_u64().unwrap_or_default() + 1).into();
        lines[0] = first.to_string();
        *c = (lines.join("\n") + "\n").into_bytes();
    });
    assert!(
        failure(&changed).contains("manifest"),
        "{}",
        failure(&changed)
    );
    std::fs::write(
        &file,
        repack(&bytes, "evaluation/report.json", |c| c.push(b' ')),
    )
    .unwrap_or_else(|err| panic!("{err}"));
    let out = crate::helpers::run_cli(vec!["verify".into(), "archive".into(), file.into()]).await;
    assert!(!out.status.success(), "the CLI fails on a tampered archive");

    // Built from a database changed behind the platform's back: the platform signs the
    // manifest, but the content no longer matches what the log committed to.
    crate::helpers::tamper(
        app,
        "UPDATE documents SET content = $1",
        &[b"forged".to_vec()],
    )
    .await;
    let (_, forged) = download(app, &e.city, trade).await;
    assert!(
        failure(&forged).contains("does not hash to its name"),
        "{}",
        failure(&forged)
    );
    for (path, content) in unpacked(&bytes)
        .into_iter()
        .filter(|(p, _)| p.starts_with("documents/"))
    {
        crate::helpers::tamper(
            app,
            &format!(
                "UPDATE documents SET content = $1 WHERE sha256 = '{}'",
                path.trim_start_matches("documents/")
            ),
            &[content],
        )
        .await;
    }
    let (_, restored) = download(app, &e.city, trade).await;
    verify(&restored, None).unwrap_or_else(|err| panic!("restored: {err:#}"));
    // A bid's price lowered in the stored opening record.
    let stored = app
        .platform
        .store
        .opening_record(trade)
        .await
        .unwrap_or_else(|err| panic!("{err}"))
        .unwrap_or_else(|| panic!("no opening record"));
    let lowered = String::from_utf8_lossy(&stored.record).replace("9650000002", "9650000001");
    crate::helpers::tamper(
        app,
        "UPDATE opening_records SET record = $1",
        &[lowered.into_bytes()],
    )
    .await;
    let (_, forged) = download(app, &e.city, trade).await;
    assert!(
        failure(&forged).contains("not the one the log committed to"),
        "{}",
        failure(&forged)
    );
}

/// What a dishonest platform could sign: the archive's files changed by `change`, with a
/// manifest made again and signed with the platform's key.
fn forged(
    app: &TestApp,
    bytes: &[u8],
    change: impl Fn(&mut std::collections::BTreeMap<String, Vec<u8>>),
) -> Vec<u8> {
    use base64::Engine as _;
    let mut files = unpacked(bytes);
    change(&mut files);
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&files["archive.json"]).unwrap_or_default();
    manifest["files"] = files
        .iter()
        .filter(|(path, _)| *path != "archive.json" && *path != "archive.sig")
        .map(|(path, content)| {
            serde_json::json!({
                "path": path,
                "sha256": tradehall::crypto::digest::sha256_hex(content),
                "size": content.len(),
            })
        })
        .collect();
    let manifest = serde_json_canonicalizer::to_vec(&manifest).unwrap_or_default();
    let key = &app.platform.platform_key;
    let signature = serde_json::json!({
        "key_id": key.info().key_id,
        "signature": base64::engine::general_purpose::STANDARD
            .encode(key.sign(&tradehall::crypto::archive::manifest_message(&manifest))),
    });
    files.insert("archive.json".into(), manifest);
    files.insert("archive.sig".into(), signature.to_string().into_bytes());
    let mut out = tar::Builder::new(Vec::new());
    for (name, content) in &files {
        let mut header = tar::Header::new_ustar();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        out.append_data(&mut header, name, content.as_slice())
            .unwrap_or_else(|e| panic!("{e}"));
    }
    out.into_inner().unwrap_or_else(|e| panic!("{e}"))
}

/// `log/entries.jsonl` without the entries of `kinds`.
fn without(files: &mut std::collections::BTreeMap<String, Vec<u8>>, kinds: &[&str]) {
    use base64::Engine as _;
    let lines = String::from_utf8_lossy(&files["log/entries.jsonl"]).into_owned();
    let kept: String = lines
        .lines()
        .filter(|line| {
            let item: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
            let entry = base64::engine::general_purpose::STANDARD
                .decode(item["entry"].as_str().unwrap_or_default())
                .unwrap_or_default();
            let entry: serde_json::Value = serde_json::from_slice(&entry).unwrap_or_default();
            !kinds.iter().any(|k| entry["kind"] == *k)
        })
        .map(|line| format!("{line}\n"))
        .collect();
    files.insert("log/entries.jsonl".into(), kept.into_bytes());
}

/// Changes `path` (JSON) in place.
fn edit(
    files: &mut std::collections::BTreeMap<String, Vec<u8>>,
    path: &str,
    change: impl Fn(&mut serde_json::Value),
) {
    let mut value: serde_json::Value = serde_json::from_slice(&files[path]).unwrap_or_default();
    change(&mut value);
    files.insert(
        path.into(),
        serde_json_canonicalizer::to_vec(&value).unwrap_or_default(),
    );
}

/// A platform that signs whatever it puts in an archive still cannot leave out a stage of
/// the trade: the trade's entries link to one another in their signed bytes, and each
/// stage a file shows needs its entry (the reproductions, made offline).
async fn an_archive_that_leaves_out_a_stage_does_not_verify(backend: Backend) {
    let e = Evaluation::start(backend, None).await;
    e.through_contract().await;
    let app = &e.r.app;
    let (status, bytes) = download(app, &e.officer, &e.r.trade).await;
    assert_eq!(status, StatusCode::OK);
    verify(&forged(app, &bytes, |_| {}), None)
        .unwrap_or_else(|err| panic!("re-signed as it was: {err:#}"));

    // The contract's entry left out, its amount changed.
    let no_contract = forged(app, &bytes, |files| {
        without(files, &["contract.recorded"]);
        edit(files, "result.json", |r| r["contract"]["amount"] = 1.into());
    });
    let why = failure(&no_contract);
    assert!(why.contains("is missing: entry"), "{why}");
    // The award left out and moved to rank 2.
    let moved = forged(app, &bytes, |files| {
        without(files, &["award.notified"]);
        edit(files, "result.json", |r| r["award"]["rank"] = 2.into());
    });
    assert!(
        failure(&moved).contains("is missing: entry"),
        "{}",
        failure(&moved)
    );
    // Every evaluation entry stripped.
    let stripped = forged(app, &bytes, |files| {
        without(
            files,
            &[
                "evaluation.drawn",
                "evaluation.sheet",
                "evaluation.reported",
                "evaluation.signed",
                "candidates.published",
            ],
        );
    });
    assert!(
        failure(&stripped).contains("is missing: entry"),
        "{}",
        failure(&stripped)
    );
    // Another committee in draw.json, its entry left out.
    let other = forged(app, &bytes, |files| {
        without(files, &["evaluation.drawn"]);
        edit(files, "evaluation/draw.json", |d| {
            let mut disclosed: serde_json::Value =
                serde_json::from_str(d["disclosed"].as_str().unwrap_or_default())
                    .unwrap_or_default();
            if let Some(experts) = disclosed["drawn"]["experts"].as_array_mut() {
                experts.reverse();
            }
            d["disclosed"] = disclosed.to_string().into();
        });
    });
    assert!(
        failure(&other).contains("is missing: entry"),
        "{}",
        failure(&other)
    );
    // Another committee in draw.json with its entry kept: the commitment fails; with the
    // seed's proof left out, the draw cannot be rerun.
    let other = forged(app, &bytes, |files| {
        edit(files, "evaluation/draw.json", |d| d["seed_size"] = 1.into());
    });
    assert!(
        failure(&other).contains("seed_size is not the logged one"),
        "{}",
        failure(&other)
    );
    let unproven = forged(app, &bytes, |files| {
        files.remove("log/seed-proof.json");
    });
    assert!(
        failure(&unproven).contains("seed-proof"),
        "{}",
        failure(&unproven)
    );
    // The signed contract's document left out.
    let undocumented = forged(app, &bytes, |files| {
        let contract: serde_json::Value =
            serde_json::from_slice(&files["result.json"]).unwrap_or_default();
        let sha = contract["contract"]["document_sha256"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        files.remove(&format!("documents/{sha}"));
    });
    assert!(
        failure(&undocumented).contains("contract's document"),
        "{}",
        failure(&undocumented)
    );
    // The archive's own read left out: its chain has no head.
    let headless = forged(app, &bytes, |files| without(files, &["confidential.read"]));
    assert!(
        failure(&headless).contains("archive's own read"),
        "{}",
        failure(&headless)
    );
}

/// A database whose `trade_id` column was changed behind the log (the issue's
/// reproduction: the contract's entry unfiled, its amount changed) gives no archive: the
/// entries' own bytes say which trade they belong to, and the log halts.
async fn an_archive_is_not_made_from_a_log_filed_wrongly_behind_its_back(backend: Backend) {
    for (kind, case) in [
        ("contract.recorded", "the newest"),
        ("evaluation.reported", "a middle"),
    ] {
        let e = Evaluation::start(backend, None).await;
        e.through_contract().await;
        let app = &e.r.app;
        crate::helpers::tamper(
            app,
            &format!("UPDATE events SET trade_id = NULL WHERE kind = '{kind}'"),
            &[],
        )
        .await;
        crate::helpers::tamper(
            app,
            "UPDATE trade_results SET contract = REPLACE(contract, '9650000002', '9650000001')",
            &[],
        )
        .await;
        let (status, body) = download(app, &e.officer, &e.r.trade).await;
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::SERVICE_UNAVAILABLE, Some("log_halted")),
            "{case} entry unfiled: {body}"
        );
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("trade")),
            "{body}"
        );
    }
}

/// The path of the archive's tender document (announced with the trade).
fn verified_document(bytes: &[u8]) -> String {
    let files = unpacked(bytes);
    let announced: serde_json::Value =
        serde_json::from_slice(&files["documents.json"]).unwrap_or_default();
    let result: serde_json::Value =
        serde_json::from_slice(&files["result.json"]).unwrap_or_default();
    announced
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["sha256"].as_str())
        .find(|sha| result["contract"]["document_sha256"] != *sha)
        .map(|sha| format!("documents/{sha}"))
        .unwrap_or_else(|| panic!("no tender document"))
}

fn unpacked(bytes: &[u8]) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut files = std::collections::BTreeMap::new();
    let mut archive = tar::Archive::new(bytes);
    for entry in archive.entries().unwrap_or_else(|e| panic!("{e}")) {
        let mut entry = entry.unwrap_or_else(|e| panic!("{e}"));
        let name = entry
            .path()
            .unwrap_or_else(|e| panic!("{e}"))
            .to_string_lossy()
            .into_owned();
        let mut content = Vec::new();
        entry
            .read_to_end(&mut content)
            .unwrap_or_else(|e| panic!("{e}"));
        files.insert(name, content);
    }
    files
}
