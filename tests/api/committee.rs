//! The opening committee registers its per-trade keys before bids can be sealed.

use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{code, spawn_app, Backend, User};
use tradehall::crypto::threshold::{custodian_key_message, CustodianSecretKey};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// What `tradehall custodian keygen` sends: a fresh public key signed with the custodian's
/// certificate key.
fn registration(trade_id: &str, custodian: &User) -> Value {
    let (_, public) = CustodianSecretKey::generate();
    let signature = custodian
        .signer
        .sign(&custodian_key_message(trade_id, &public))
        .unwrap_or_else(|e| panic!("{e}"));
    json!({ "public_key": b64(public.as_bytes()), "signature": b64(&signature) })
}

async fn custodians_register_their_keys_once_and_the_trade_publishes_them(backend: Backend) {
    let app = spawn_app(backend).await;
    let (officer, custodians) = app.officer_and_custodians().await;
    let ids: Vec<String> = custodians.iter().map(User::id).collect();
    let id = app.published_trade(&officer, &ids).await;
    let path = format!("/api/v1/trades/{id}/custodian-key");
    let put = |token: String, body: Value| {
        let req = app
            .http
            .put(app.url(&path))
            .bearer_auth(token)
            .json(&body)
            .send();
        async move {
            let resp = req.await.unwrap_or_else(|e| panic!("{e}"));
            let status = resp.status();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };

    // Signed by another key than the custodian's certificate.
    let mut forged = registration(&id, &custodians[0]);
    forged["signature"] = registration(&id, &custodians[1])["signature"].clone();
    let (status, body) = put(custodians[0].token.clone(), forged).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "signature_invalid"),
        "{body}"
    );
    // A signature for another trade does not count for this one.
    let (status, body) = put(
        custodians[0].token.clone(),
        registration("another-trade", &custodians[0]),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "signature_invalid")
    );
    // Only the trade's own custodians.
    let outsider = app.user("custodian").await;
    let (status, _) = put(outsider.token.clone(), registration(&id, &outsider)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let bidder = app.user("bidder").await;
    let (status, _) = put(bidder.token.clone(), registration(&id, &bidder)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, key) = put(
        custodians[0].token.clone(),
        registration(&id, &custodians[0]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    let (_, trade) = app.get(&format!("/api/v1/trades/{id}"), None).await;
    assert_eq!(trade["committee_ready"], false);
    assert_eq!(trade["custodian_keys"][0]["key_id"], key["key_id"]);

    let (status, body) = put(
        custodians[0].token.clone(),
        registration(&id, &custodians[0]),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "custodian_key_registered"),
        "keys are never replaced"
    );
    for c in &custodians[1..] {
        let (status, body) = put(c.token.clone(), registration(&id, c)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (_, trade) = app.get(&format!("/api/v1/trades/{id}"), None).await;
    assert_eq!(trade["committee_ready"], true);
    assert_eq!(trade["custodian_keys"].as_array().map(Vec::len), Some(3));

    let (_, events) = app.get("/api/v1/events?after=0&limit=1000", None).await;
    let logged = events["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["entry"]["kind"] == "trade.custodian_key_registered")
        .count();
    assert_eq!(logged, 3, "every key is in the public log");

    let (status, body) = put(
        custodians[1].token.clone(),
        json!({"public_key": "AAAA", "signature": "AAAA"}),
    )
    .await;
    assert!(status.is_client_error(), "{body}");
}

async fn the_custodian_cli_generates_keeps_and_registers_a_key(backend: Backend) {
    let app = spawn_app(backend).await;
    let (officer, custodians) = app.officer_and_custodians().await;
    let ids: Vec<String> = custodians.iter().map(User::id).collect();
    let id = app.published_trade(&officer, &ids).await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cert = crate::helpers::write(dir.path(), "cert.pem", custodians[0].cert_pem.as_bytes());
    let key = crate::helpers::write(dir.path(), "key.der", &custodians[0].key_pkcs8);
    let keystore = dir.path().join("custodian.key");
    let (trade_id, base) = (id.clone(), app.base.clone());
    let (cert, key, keystore_arg) = (cert.clone(), key.clone(), keystore.clone());
    let run = move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_tradehall"))
            .args([
                "custodian",
                "keygen",
                "--trade",
                &trade_id,
                "--server",
                &base,
            ])
            .arg("--cert")
            .arg(&cert)
            .arg("--key")
            .arg(&key)
            .arg("--keystore")
            .arg(&keystore_arg)
            .env("TRADEHALL_KEYSTORE_PASSPHRASE", "a long test passphrase")
            // Everything the CLI could log, logged: the passphrase must not be in it.
            .env("TRADEHALL_LOG", "trace")
            .output()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let out = tokio::task::spawn_blocking(run.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let (_, trade) = app.get(&format!("/api/v1/trades/{id}"), None).await;
    let registered = trade["custodian_keys"][0].clone();
    assert_eq!(registered["custodian"], json!(ids[0]));
    let (_, _, public) = tradehall::client::keystore::open(&keystore, "a long test passphrase")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        registered["key_id"],
        json!(public.key_id()),
        "the registered key is the one kept locally"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(&public.key_id()));
    let never_printed = |out: &std::process::Output| {
        for text in [&out.stdout, &out.stderr] {
            assert!(
                !String::from_utf8_lossy(text).contains("a long test passphrase"),
                "the passphrase was printed or logged"
            );
        }
    };
    never_printed(&out);

    // For the web page's custodian form: the key as PKCS#8, readable by its owner only;
    // an existing file is never overwritten.
    let pem_path = dir.path().join("trade-key.pem");
    let export = |out: std::path::PathBuf| {
        let keystore = keystore.clone();
        move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_tradehall"))
                .args(["custodian", "export-key", "--keystore"])
                .arg(&keystore)
                .arg("--out")
                .arg(&out)
                .env("TRADEHALL_KEYSTORE_PASSPHRASE", "a long test passphrase")
                .output()
                .unwrap_or_else(|e| panic!("{e}"))
        }
    };
    let exported = tokio::task::spawn_blocking(export(pem_path.clone()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let (_, secret, _) = tradehall::client::keystore::open(&keystore, "a long test passphrase")
        .unwrap_or_else(|e| panic!("{e}"));
    let written = std::fs::read_to_string(&pem_path).unwrap_or_default();
    assert_eq!(
        Some(written),
        secret.to_pkcs8_pem().map(|pem| pem.to_string())
    );
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&pem_path)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0);
        assert_eq!(mode, 0o600);
    }
    let twice = tokio::task::spawn_blocking(export(pem_path))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !twice.status.success(),
        "an existing file is not overwritten"
    );

    // Running it again is refused by the key store and by the server; nothing is replaced.
    let again = tokio::task::spawn_blocking(run)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!again.status.success());
    never_printed(&again);
    let (_, after) = app.get(&format!("/api/v1/trades/{id}"), None).await;
    assert_eq!(after["custodian_keys"], trade["custodian_keys"]);
}

/// `tradehall bid seal` for a new bidder of `r`'s trade, with `extra` arguments.
async fn seal(
    r: &crate::opening::Round,
    dir: &std::path::Path,
    extra: &[&std::ffi::OsStr],
) -> std::process::Output {
    let bidder = r.app.user("bidder").await;
    let name = bidder.id();
    let cert = crate::helpers::write(dir, &format!("{name}.pem"), bidder.cert_pem.as_bytes());
    let key = crate::helpers::write(dir, &format!("{name}.der"), &bidder.key_pkcs8);
    let out = dir.join(format!("{name}.sealed"));
    let mut args: Vec<std::ffi::OsString> = [
        "bid",
        "seal",
        "--trade",
        &r.trade,
        "--price",
        "1,000,000.00",
        "--lot",
        "1",
    ]
    .iter()
    .map(Into::into)
    .collect();
    args.extend(["--server".into(), r.app.base.clone().into()]);
    args.extend([
        "--cert".into(),
        cert.into_os_string(),
        "--key".into(),
        key.into_os_string(),
    ]);
    args.extend(["--out".into(), out.clone().into_os_string()]);
    args.extend(extra.iter().map(|a| a.to_os_string()));
    let run = crate::helpers::run_cli(args).await;
    assert_eq!(
        run.status.success(),
        out.exists(),
        "a sealed file exists only when sealing succeeded"
    );
    run
}

fn refused(run: &std::process::Output, custodian: &str, why: &str) {
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        !run.status.success(),
        "sealed to a committee that does not check out"
    );
    assert!(
        stderr.contains("refusing to seal") && stderr.contains(custodian) && stderr.contains(why),
        "expected a refusal naming {custodian} and `{why}`: {stderr}"
    );
}

/// An operator who swaps a committee key in the database would read every bid sealed
/// after; the bidder's client checks each key itself and refuses to seal.
async fn the_bidders_client_refuses_a_committee_key_swapped_in_the_database(backend: Backend) {
    let r = crate::opening::round(backend).await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let victim = r.committee.custodians[0].id();

    // The honest committee checks out, against the published roots or the bidder's own.
    let ca_a = crate::helpers::write(dir.path(), "ca-a.pem", r.app.ca_a.cert_pem().as_bytes());
    let ca_b = crate::helpers::write(dir.path(), "ca-b.pem", r.app.ca_b.cert_pem().as_bytes());
    let run = seal(&r, dir.path(), &[]).await;
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let run = seal(&r, dir.path(), &["--trust-ca".as_ref(), ca_a.as_os_str()]).await;
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // A bidder who recognises only CA B does not recognise the committee's certificates.
    let run = seal(&r, dir.path(), &["--trust-ca".as_ref(), ca_b.as_os_str()]).await;
    refused(&run, &victim, "not from a recognised CA");

    // The crude swap: the operator's own key in place of the custodian's.
    let (_, theirs) = CustodianSecretKey::generate();
    let swap = |columns: &str| {
        format!("UPDATE custodian_keys SET {columns} WHERE trade_id = '{}' AND identity_id = '{victim}'", r.trade)
    };
    crate::helpers::tamper(
        &r.app,
        &swap("public_key = $1"),
        &[theirs.as_bytes().to_vec()],
    )
    .await;
    refused(&seal(&r, dir.path(), &[]).await, &victim, "did not sign it");

    // The careful swap: an insider with a real certificate of a recognised CA signs the
    // operator's key, and the row names that certificate; the log still names the
    // custodian's key.
    let insider = r.app.user("custodian").await;
    let certificate = tradehall::crypto::cert::parse_pem_certificates(&insider.cert_pem)
        .unwrap_or_else(|e| panic!("{e}"))
        .remove(0);
    let signature = insider
        .signer
        .sign(&custodian_key_message(&r.trade, &theirs))
        .unwrap_or_else(|e| panic!("{e}"));
    crate::helpers::tamper(
        &r.app,
        &swap(&format!(
            "signature = $1, certificate = $2, key_id = '{}'",
            theirs.key_id()
        )),
        &[signature, certificate],
    )
    .await;
    refused(
        &seal(&r, dir.path(), &[]).await,
        &victim,
        "registration entry",
    );
}

crate::on_both_backends!(
    custodians_register_their_keys_once_and_the_trade_publishes_them,
    the_custodian_cli_generates_keeps_and_registers_a_key,
    the_bidders_client_refuses_a_committee_key_swapped_in_the_database,
);
