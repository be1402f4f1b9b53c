//! Revocation takes effect in a running server: the real `tradehall serve` process, its
//! CA and CRL files replaced under it. A revoked certificate can no longer sign in, and
//! its open session stops working; a CRL file that does not read leaves the trust in
//! force; a CRL that runs out refuses its CA's users (status unknown), warns the
//! operators and the supervisors first, and a fresh one lets them back in, all without
//! a restart.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use chrono::Utc;
use common::{free_port, wait_up};
use serde_json::{json, Value};
use tradehall::crypto::pki::{DevCa, IdentitySpec, IssuedIdentity, KeyUsageProfile};
use tradehall::crypto::signer::{auth_message, Signer};
use tradehall::domain::usci::Usci;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One organisation's certificate and key, as its user holds them.
struct User {
    cert_pem: String,
    signer: Signer,
    usci: Usci,
    serial: Vec<u8>,
    organization: String,
}

fn issue(ca: &DevCa, organization: &str, first17: &str) -> User {
    let usci = Usci::complete(first17).unwrap_or_else(|e| panic!("{e}"));
    let now = Utc::now();
    let issued: IssuedIdentity = ca
        .issue(&IdentitySpec {
            common_name: organization.into(),
            organization: organization.into(),
            usci: Some(usci.clone()),
            not_before: now - chrono::Duration::days(1),
            not_after: now + chrono::Duration::days(30),
            key_usage: KeyUsageProfile::Signing,
        })
        .unwrap_or_else(|e| panic!("{e}"));
    User {
        cert_pem: issued.cert_pem.clone(),
        signer: Signer::from_pkcs8(&issued.key_pkcs8_der).unwrap_or_else(|e| panic!("{e}")),
        usci,
        serial: issued.serial.clone(),
        organization: organization.into(),
    }
}

/// POSTs `body` (with `token`, if any); the status and the JSON answer.
async fn post(base: &str, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let resp = request.send().await.unwrap_or_else(|e| panic!("{e}"));
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn get(base: &str, path: &str, token: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

async fn proof(base: &str, user: &User, purpose: &str) -> Value {
    let (_, challenge) = post(base, "/api/v1/auth/challenge", None, &json!({})).await;
    let nonce = challenge["nonce"].as_str().unwrap_or_default().to_owned();
    let signature = user
        .signer
        .sign(auth_message(purpose, &nonce).as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    json!({
        "certificate_chain": user.cert_pem,
        "nonce": nonce,
        "signature": base64::engine::general_purpose::STANDARD.encode(signature),
    })
}

async fn register(base: &str, user: &User, role: &str) -> Value {
    let body = json!({
        "proof": proof(base, user, "register").await,
        "organization": { "name": user.organization, "usci": user.usci.as_str() },
        "role": role,
    });
    let (status, identity) = post(base, "/api/v1/registrations", None, &body).await;
    assert_eq!(status, 201, "{identity}");
    identity
}

/// Signs in: the status, and the token or the refusal.
async fn login(base: &str, user: &User) -> (u16, Value) {
    post(
        base,
        "/api/v1/auth/login",
        None,
        &proof(base, user, "login").await,
    )
    .await
}

async fn token(base: &str, user: &User) -> String {
    let (status, body) = login(base, user).await;
    assert_eq!(status, 200, "{body}");
    body["token"].as_str().unwrap_or_default().to_owned()
}

/// Waits (up to 15 s) until `probe` holds; the server reloads its files every second.
async fn eventually<F, Fut>(what: &str, probe: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !probe().await {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the running server never got there: {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn write_crl(path: &Path, ca: &DevCa, revoked: &[Vec<u8>], lasts: chrono::Duration) {
    let now = Utc::now();
    let pem = ca
        .crl_pem(revoked, now - chrono::Duration::seconds(1), now + lasts)
        .unwrap_or_else(|e| panic!("{e}"));
    // Written whole, then renamed over the old one, as an operator's script does.
    let fresh = path.with_extension("new");
    std::fs::write(&fresh, pem).unwrap_or_else(|e| panic!("{e}"));
    std::fs::rename(&fresh, path).unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_crl_revokes_sessions_and_sign_ins_in_a_running_server_and_an_expired_one_is_told(
) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = dir.path();
    let now = Utc::now();
    let year = chrono::Duration::days(365);
    // The bidders' CA, whose CRL the test replaces, and the officers' CA.
    let bidders_ca =
        DevCa::new("ca-bidders", now - year, now + year).unwrap_or_else(|e| panic!("{e}"));
    let officers_ca =
        DevCa::new("ca-officers", now - year, now + year).unwrap_or_else(|e| panic!("{e}"));
    let files = [
        ("bidders-ca.pem", bidders_ca.cert_pem()),
        ("officers-ca.pem", officers_ca.cert_pem()),
    ];
    for (name, pem) in files {
        std::fs::write(d.join(name), pem).unwrap_or_else(|e| panic!("{e}"));
    }
    let bidders_crl = d.join("bidders-crl.pem");
    let officers_crl = d.join("officers-crl.pem");
    write_crl(&bidders_crl, &bidders_ca, &[], chrono::Duration::days(1));
    write_crl(&officers_crl, &officers_ca, &[], chrono::Duration::days(1));
    let admin = issue(
        &officers_ca,
        "自治区公共资源交易平台运营服务中心",
        "12650000MB1957001",
    );
    let supervisor = issue(&officers_ca, "自治区发展和改革委员会", "11650000010001234");
    std::fs::write(d.join("admin.pem"), &admin.cert_pem).unwrap_or_else(|e| panic!("{e}"));
    let revoked = issue(&bidders_ca, "新疆天山建设工程有限公司", "91650100MA77TH0Y1");
    let other = issue(
        &bidders_ca,
        "新疆昆仑路桥工程有限责任公司",
        "91650100MA78KL2Q5",
    );

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let log = d.join("server.log");
    let _server = Server(
        Command::new(env!("CARGO_BIN_EXE_tradehall"))
            .args([
                "serve",
                "--mode",
                "demo",
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            .arg("--data-dir")
            .arg(d.join("data"))
            .args(["--trust-reload-seconds", "1"])
            .arg("--trust-ca")
            .arg(d.join("bidders-ca.pem"))
            .arg("--trust-ca")
            .arg(d.join("officers-ca.pem"))
            .arg("--crl")
            .arg(&bidders_crl)
            .arg("--crl")
            .arg(&officers_crl)
            .arg("--admin-cert")
            .arg(d.join("admin.pem"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap_or_else(|e| panic!("{e}")))
            .spawn()
            .unwrap_or_else(|e| panic!("{e}")),
    );
    wait_up(&base).await;
    register(&base, &admin, "admin").await;
    let id = register(&base, &supervisor, "supervisor").await["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let admin_token = token(&base, &admin).await;
    let (status, body) = post(
        &base,
        &format!("/api/v1/identities/{id}/grant"),
        Some(&admin_token),
        &json!({ "role": "supervisor", "region": "650000" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let supervisor_token = token(&base, &supervisor).await;
    register(&base, &revoked, "bidder").await;
    register(&base, &other, "bidder").await;
    let session = token(&base, &revoked).await;
    let other_session = token(&base, &other).await;
    let me = |token: String| {
        let base = base.clone();
        async move { get(&base, "/api/v1/auth/me", &token).await }
    };
    assert_eq!(me(session.clone()).await.0, 200);

    // A CRL file that does not read leaves the trust in force.
    std::fs::write(&bidders_crl, b"-----BEGIN X509 CRL-----\nnot a CRL")
        .unwrap_or_else(|e| panic!("{e}"));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(me(session.clone()).await.0, 200);
    assert_eq!(login(&base, &revoked).await.0, 200);
    let said = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(said.contains("do not read"), "the operator is told: {said}");

    // The CA revokes one bidder: its open session and its sign-ins stop, without a
    // restart; the other bidder goes on.
    write_crl(
        &bidders_crl,
        &bidders_ca,
        std::slice::from_ref(&revoked.serial),
        chrono::Duration::days(1),
    );
    eventually("the revoked session refused", || async {
        let (status, body) = me(session.clone()).await;
        status == 401 && code(&body) == "certificate_revoked"
    })
    .await;
    let (status, body) = login(&base, &revoked).await;
    assert_eq!(
        (status, code(&body)),
        (401, "certificate_revoked"),
        "{body}"
    );
    assert_eq!(me(other_session.clone()).await.0, 200);

    // The next CRL is short-lived: the operators and the supervisors are warned before it
    // runs out; once it has, the CA's users are refused (status unknown).
    write_crl(
        &bidders_crl,
        &bidders_ca,
        std::slice::from_ref(&revoked.serial),
        chrono::Duration::seconds(5),
    );
    eventually("the other bidder refused as of unknown status", || async {
        let (status, body) = me(other_session.clone()).await;
        status == 401 && code(&body) == "certificate_revocation_unknown"
    })
    .await;
    let (status, body) = login(&base, &other).await;
    assert_eq!(
        (status, code(&body)),
        (401, "certificate_revocation_unknown"),
        "{body}"
    );
    // The next reload tells the operators, and the supervisors.
    eventually("the operators told", || async {
        let said = std::fs::read_to_string(&log).unwrap_or_default();
        said.contains("a CRL runs out soon") && said.contains("a CRL has run out")
    })
    .await;
    let (status, alerts) = get(&base, "/api/v1/alerts", &supervisor_token).await;
    assert_eq!(status, 200, "{alerts}");
    let rules: Vec<&str> = alerts["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["rule"].as_str())
        .collect();
    assert!(
        rules.contains(&"crl_expiring") && rules.contains(&"crl_expired"),
        "{alerts}"
    );
    assert_eq!(rules.len(), 2, "each raised once: {alerts}");

    // A fresh CRL lets them back in, the same session included.
    write_crl(
        &bidders_crl,
        &bidders_ca,
        std::slice::from_ref(&revoked.serial),
        chrono::Duration::days(1),
    );
    eventually("the other bidder's session working again", || async {
        me(other_session.clone()).await.0 == 200
    })
    .await;
    assert_eq!(login(&base, &other).await.0, 200);
    assert_eq!(me(session.clone()).await.0, 401);
}
