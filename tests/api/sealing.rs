//! `tradehall bid seal` on the bidder's machine: an envelope that only the committee opens.

use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{spawn_app, write, Backend, User};
use tradehall::crypto::envelope;
use tradehall::crypto::threshold::{
    custodian_key_message, open_share, recover_key, CustodianSecretKey, ShareBinding,
};

async fn a_bid_sealed_by_the_cli_opens_with_two_of_three_custodians(backend: Backend) {
    let app = spawn_app(backend).await;
    let (officer, custodians) = app.officer_and_custodians().await;
    let ids: Vec<String> = custodians.iter().map(User::id).collect();
    let id = app.published_trade(&officer, &ids).await;
    let bidder = app.user("bidder").await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cert = write(dir.path(), "cert.pem", bidder.cert_pem.as_bytes());
    let key = write(dir.path(), "key.der", &bidder.key_pkcs8);
    let (cert_path, key_path, base) = (cert.clone(), key.clone(), app.base.clone());
    let proposal = write(dir.path(), "技术标.pdf", &vec![0x25; 200_000]);
    let commercial = write(dir.path(), "商务标.pdf", b"commercial part");
    let out = dir.path().join("bid.sealed");
    let seal = {
        let (id, base, out) = (id.clone(), app.base.clone(), out.clone());
        move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_tradehall"))
                .args([
                    "bid",
                    "seal",
                    "--trade",
                    &id,
                    "--server",
                    &base,
                    "--price",
                    "12,345,678.90",
                    "--lot",
                    "1",
                ])
                .arg("--file")
                .arg(&proposal)
                .arg("--file")
                .arg(&commercial)
                .arg("--cert")
                .arg(&cert)
                .arg("--key")
                .arg(&key)
                .arg("--out")
                .arg(&out)
                .output()
                .unwrap_or_else(|e| panic!("{e}"))
        }
    };

    // Without the committee's keys there is nothing to seal to.
    let early = tokio::task::spawn_blocking(seal.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!early.status.success());
    assert!(
        String::from_utf8_lossy(&early.stderr).contains("committee"),
        "{}",
        String::from_utf8_lossy(&early.stderr)
    );
    assert!(!out.exists());

    let mut secrets = Vec::new();
    for c in &custodians {
        let (sk, pk) = CustodianSecretKey::generate();
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let body = json!({ "public_key": b64(pk.as_bytes()), "signature": b64(&c.signer.sign(&custodian_key_message(&id, &pk)).unwrap_or_else(|e| panic!("{e}"))) });
        let resp = app
            .http
            .put(app.url(&format!("/api/v1/trades/{id}/custodian-key")))
            .bearer_auth(&c.token)
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(resp.status(), StatusCode::CREATED);
        secrets.push((sk, pk));
    }

    let done = tokio::task::spawn_blocking(seal)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let bytes = std::fs::read(&out).unwrap_or_else(|e| panic!("{e}"));
    let commitment = tradehall::crypto::digest::sha256_hex(&bytes);
    assert!(
        String::from_utf8_lossy(&done.stdout).contains(&commitment),
        "the CLI prints the commitment"
    );
    assert!(
        !bytes.windows(10).any(|w| w == b"1234567890"),
        "the price is not in the envelope in clear"
    );

    let inspected = envelope::inspect(bytes.as_slice()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(inspected.header.trade, id);
    assert_eq!(inspected.header.threshold, 2);
    let fingerprint = bidder.identity["cert_fingerprint"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let shares: Vec<_> = secrets[1..]
        .iter()
        .map(|(sk, pk)| {
            let key_id = pk.key_id();
            let binding = ShareBinding {
                trade_id: &id,
                custodian_key_id: &key_id,
                bidder_cert_fingerprint: &fingerprint,
            };
            open_share(
                sk,
                &binding,
                &inspected
                    .share_for(&key_id)
                    .unwrap_or_else(|e| panic!("{e}")),
            )
            .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    let content_key = recover_key(&shares, 2).unwrap_or_else(|e| panic!("{e}"));
    let opened = envelope::open(bytes.as_slice(), &inspected, &content_key)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(opened.manifest.price, 1_234_567_890);
    assert_eq!(opened.manifest.lots, vec!["1".to_owned()]);
    assert_eq!(
        opened.manifest.organization.usci,
        bidder.identity["usci"].as_str().unwrap_or_default()
    );
    let names: Vec<&str> = opened
        .manifest
        .files
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(names, ["技术标.pdf", "商务标.pdf"]);
    assert_eq!(opened.manifest.files[0].size, 200_000);

    // Submit, check, withdraw — all from the bidder's machine.
    let cli = |args: &[&str]| {
        let mut all: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        all.extend([
            "--cert".into(),
            cert_path.display().to_string(),
            "--key".into(),
            key_path.display().to_string(),
        ]);
        all.extend(["--server".into(), base.clone()]);
        let run = move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_tradehall"))
                .args(&all)
                .output()
        };
        async move {
            tokio::task::spawn_blocking(run)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .unwrap_or_else(|e| panic!("{e}"))
        }
    };
    let submitted = cli(&["bid", "submit", &out.display().to_string()]).await;
    assert!(
        submitted.status.success(),
        "{}",
        String::from_utf8_lossy(&submitted.stderr)
    );
    let receipt_path = dir.path().join("bid.sealed.receipt.json");
    let receipt: tradehall::crypto::receipt::Receipt =
        serde_json::from_slice(&std::fs::read(&receipt_path).unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(receipt.envelope_sha256, commitment);
    let status = cli(&["bid", "status", "--trade", &id]).await;
    assert!(String::from_utf8_lossy(&status.stdout).contains(&commitment));
    let withdrawn = cli(&["bid", "withdraw", "--trade", &id]).await;
    assert!(
        withdrawn.status.success(),
        "{}",
        String::from_utf8_lossy(&withdrawn.stderr)
    );
    let status = cli(&["bid", "status", "--trade", &id]).await;
    assert!(!status.status.success(), "no active bid after withdrawal");
    assert!(String::from_utf8_lossy(&status.stderr).contains("bid_not_found"));
}

crate::on_both_backends!(a_bid_sealed_by_the_cli_opens_with_two_of_three_custodians);
