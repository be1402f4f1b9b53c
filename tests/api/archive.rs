//! One archive per trade (docs/archive.md): the centre downloads it, `tradehall verify
//! archive` checks it offline, and an archive changed afterwards, or built from a
//! database changed behind the platform's back, fails.

use std::io::Read as _;

use reqwest::StatusCode;

use crate::evaluation::Evaluation;
use crate::helpers::{Backend, TestApp, User};
use tradehall::client::archive::verify;

crate::on_both_backends!(a_trade_archive_verifies_offline_and_tampering_is_caught);

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
    assert_eq!(verified.documents, 1);
    let checks = verified.checks.join("\n");
    for expected in [
        "3 bids open their commitments",
        "5 sheets and 5 report signatures verify",
        "expert draw matches its commitment",
        "award as logged",
        "contract as logged",
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
    crate::helpers::tamper(
        app,
        &format!(
            "UPDATE documents SET content = $1 WHERE sha256 = '{}'",
            document.trim_start_matches("documents/")
        ),
        &[b"%PDF-1.7 tender documents".to_vec()],
    )
    .await;
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

/// The path of the archive's one document.
fn verified_document(bytes: &[u8]) -> String {
    let mut archive = tar::Archive::new(bytes);
    archive
        .entries()
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(Result::ok)
        .filter_map(|e| e.path().ok().map(|p| p.to_string_lossy().into_owned()))
        .find(|p| p.starts_with("documents/") && p != "documents.json")
        .unwrap_or_else(|| panic!("no document"))
}
