//! Certificate identity: registration, login, refusals with distinct codes.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::json;
use std::collections::BTreeSet;

use crate::helpers::{code, spawn_app, spawn_app_with, spec, usci, write, Backend};
use crate::openssl_pki::{make_openssl_pki, make_openssl_sm2_pki};
use tradehall::config::Mode;
use tradehall::crypto::pki::{DevCa, KeyUsageProfile};
use tradehall::crypto::signer::Signer;

async fn a_bidder_certificate_from_an_openssl_made_ca_registers_and_logs_in(backend: Backend) {
    let scratch = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let code_ = usci("91650100QPEN00001");
    let pki = make_openssl_pki(scratch.path(), "昌吉州建筑安装工程有限公司", code_.as_str());
    let app = spawn_app_with(backend, Mode::Demo, |args| {
        args.trust_ca.push(pki.ca_pem_path.clone());
        args.crl.push(pki.crl_pem_path.clone());
    })
    .await;
    let signer =
        Signer::from_pkcs8_der(&pki.bidder_key_pkcs8_der).unwrap_or_else(|e| panic!("{e}"));
    let (status, identity) = app
        .try_register(
            &pki.bidder_cert_pem,
            &signer,
            "昌吉州建筑安装工程有限公司",
            code_.as_str(),
            "bidder",
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{identity}");
    assert_eq!(identity["status"], "active");
    let (status, login) = app.try_login(&pki.bidder_cert_pem, &signer).await;
    assert_eq!(status, StatusCode::OK, "{login}");
    let token = login["token"].as_str().unwrap_or_default();
    let (status, me) = app.get("/api/v1/auth/me", Some(token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["usci"], code_.as_str());
    assert_eq!(me["role"], "bidder");
}

async fn sm2_certificates_sign_in_beside_p256_and_the_revoked_and_encryption_ones_do_not(
    backend: Backend,
) {
    let scratch = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let org = "伊犁州国密建设工程有限公司";
    let code_ = usci("91654000GMCA00001");
    let revoked_org = "伊犁州已吊销建设有限公司";
    let revoked_code = usci("91654000GMCA00002");
    let pki = make_openssl_sm2_pki(
        scratch.path(),
        org,
        code_.as_str(),
        revoked_org,
        revoked_code.as_str(),
    );
    // The SM2 CA joins the dev P-256 CAs in one trust store.
    let app = spawn_app_with(backend, Mode::Demo, |args| {
        args.trust_ca.push(pki.base.ca_pem_path.clone());
        args.crl.push(pki.base.crl_pem_path.clone());
    })
    .await;
    let sm2 = |der: &[u8]| {
        let signer = Signer::from_pkcs8_der(der).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(signer, Signer::Sm2(_)), "an SM2 key: {signer:?}");
        signer
    };

    // The encryption certificate of the pair never signs: not to register, not to log in.
    let encryption = sm2(&pki.encryption.key_pkcs8_der);
    let (status, body) = app
        .try_register(
            &pki.encryption.cert_pem,
            &encryption,
            org,
            code_.as_str(),
            "bidder",
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "certificate_wrong_key_usage"),
        "{body}"
    );

    let signer = sm2(&pki.base.bidder_key_pkcs8_der);
    let (status, identity) = app
        .try_register(
            &pki.base.bidder_cert_pem,
            &signer,
            org,
            code_.as_str(),
            "bidder",
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{identity}");
    let (status, login) = app.try_login(&pki.base.bidder_cert_pem, &signer).await;
    assert_eq!(status, StatusCode::OK, "{login}");
    let token = login["token"].as_str().unwrap_or_default();
    let (status, me) = app.get("/api/v1/auth/me", Some(token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (me["usci"].as_str(), me["role"].as_str()),
        (Some(code_.as_str()), Some("bidder"))
    );
    let (status, body) = app.try_login(&pki.encryption.cert_pem, &encryption).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "certificate_wrong_key_usage"),
        "{body}"
    );
    // A signature by the encryption key under the signing certificate is someone else's.
    let (status, body) = app.try_login(&pki.base.bidder_cert_pem, &encryption).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "signature_invalid"),
        "{body}"
    );

    // The CA revoked the second bidder's certificate before it made the CRL.
    let revoked = sm2(&pki.revoked.key_pkcs8_der);
    let (status, body) = app
        .try_register(
            &pki.revoked.cert_pem,
            &revoked,
            revoked_org,
            revoked_code.as_str(),
            "bidder",
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "certificate_revoked"),
        "{body}"
    );
    let (status, body) = app.try_login(&pki.revoked.cert_pem, &revoked).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "certificate_revoked"),
        "{body}"
    );

    // A P-256 bidder of the dev CA signs in beside them.
    let p256 = app.user("bidder").await;
    let (status, _) = app.get("/api/v1/auth/me", Some(&p256.token)).await;
    assert_eq!(status, StatusCode::OK);
}

async fn bad_certificates_are_refused_with_distinct_codes(backend: Backend) {
    let now = crate::helpers::start_time();
    let scratch = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let ca = |name: &str| {
        DevCa::new(name, now - Duration::days(10), now + Duration::days(3650))
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let revoking = ca("Revoking CA");
    let no_crl = ca("CA without CRL");
    let unknown = ca("Unknown CA");
    let org = "和田地区路桥工程有限公司";
    let code_ = usci("91653200RQAD00001");
    let issue = |ca: &DevCa, profile, from: chrono::DateTime<chrono::Utc>, to| {
        let mut s = spec("bidder", org, Some(&code_), profile);
        s.not_before = from;
        s.not_after = to;
        ca.issue(&s).unwrap_or_else(|e| panic!("{e}"))
    };
    let valid = (now - Duration::days(1), now + Duration::days(100));
    let revoked = issue(&revoking, KeyUsageProfile::Signing, valid.0, valid.1);
    let crl = revoking
        .crl(
            std::slice::from_ref(&revoked.serial),
            now - Duration::days(1),
            now + Duration::days(30),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let revoking_pem = write(
        scratch.path(),
        "revoking.pem",
        revoking.cert_pem().as_bytes(),
    );
    let revoking_crl = write(scratch.path(), "revoking.crl", &crl);
    let no_crl_pem = write(scratch.path(), "nocrl.pem", no_crl.cert_pem().as_bytes());
    let app = spawn_app_with(backend, Mode::Demo, |args| {
        args.trust_ca.push(revoking_pem.clone());
        args.crl.push(revoking_crl.clone());
        args.trust_ca.push(no_crl_pem.clone());
    })
    .await;
    let cases = [
        ("certificate_revoked", revoked),
        (
            "certificate_expired",
            issue(
                &app.ca_a,
                KeyUsageProfile::Signing,
                now - Duration::days(400),
                now - Duration::days(1),
            ),
        ),
        (
            "certificate_not_yet_valid",
            issue(
                &app.ca_a,
                KeyUsageProfile::Signing,
                now + Duration::days(1),
                now + Duration::days(400),
            ),
        ),
        (
            "certificate_unknown_ca",
            issue(&unknown, KeyUsageProfile::Signing, valid.0, valid.1),
        ),
        (
            "certificate_revocation_unknown",
            issue(&no_crl, KeyUsageProfile::Signing, valid.0, valid.1),
        ),
        (
            "certificate_wrong_key_usage",
            issue(&app.ca_a, KeyUsageProfile::EncipherOnly, valid.0, valid.1),
        ),
        (
            "certificate_wrong_key_usage",
            issue(&app.ca_b, KeyUsageProfile::ServerOnly, valid.0, valid.1),
        ),
    ];
    let mut seen = BTreeSet::new();
    for (expected, issued) in cases {
        let signer =
            Signer::from_pkcs8_der(&issued.key_pkcs8_der).unwrap_or_else(|e| panic!("{e}"));
        let (status, body) = app
            .try_register(&issued.cert_pem, &signer, org, code_.as_str(), "bidder")
            .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNAUTHORIZED, expected),
            "{body}"
        );
        let (status, body) = app.try_login(&issued.cert_pem, &signer).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNAUTHORIZED, expected),
            "{body}"
        );
        seen.insert(expected);
    }
    assert_eq!(seen.len(), 6, "each refusal has its own code");
}

async fn a_login_nonce_works_once_and_only_before_it_expires(backend: Backend) {
    let app = spawn_app(backend).await;
    let bidder = app.user("bidder").await;
    let proof = app.proof(&bidder.cert_pem, &bidder.signer, "login").await;
    let (status, _) = app.post("/api/v1/auth/login", None, &proof).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app.post("/api/v1/auth/login", None, &proof).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "nonce_replayed")
    );

    let stale = app.proof(&bidder.cert_pem, &bidder.signer, "login").await;
    app.clock.advance(Duration::seconds(121));
    let (status, body) = app.post("/api/v1/auth/login", None, &stale).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "nonce_expired")
    );

    let mut invented = app.proof(&bidder.cert_pem, &bidder.signer, "login").await;
    let nonce = "never-issued";
    invented["nonce"] = json!(nonce);
    invented["signature"] = json!(crate::helpers::sign_b64(
        &bidder.signer,
        &format!("tradehall-auth-v1:login:{nonce}")
    ));
    let (status, body) = app.post("/api/v1/auth/login", None, &invented).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "nonce_unknown")
    );

    // A login proof is not a registration proof, and vice versa.
    let wrong_purpose = app
        .proof(&bidder.cert_pem, &bidder.signer, "register")
        .await;
    let (status, body) = app.post("/api/v1/auth/login", None, &wrong_purpose).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "signature_invalid")
    );
}

async fn a_signature_by_another_key_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = app.user("bidder").await;
    let mallory = app.user("bidder").await;
    let (status, body) = app.try_login(&alice.cert_pem, &mallory.signer).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "signature_invalid")
    );
    let (status, body) = app.get("/api/v1/auth/me", Some("not-a-token")).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
}

async fn registration_checks_the_usci_and_who_may_hold_officer_roles(backend: Backend) {
    let app = spawn_app(backend).await;
    let good = usci("91650100CHECK0001");
    let mut bad = good.as_str().to_owned();
    let last = bad.pop().unwrap_or('0');
    bad.push(if last == '0' { '1' } else { '0' });
    let issued = app
        .ca_a
        .issue(&spec(
            "b",
            "喀什建工集团有限公司",
            Some(&good),
            KeyUsageProfile::Signing,
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    let signer = Signer::from_pkcs8_der(&issued.key_pkcs8_der).unwrap_or_else(|e| panic!("{e}"));
    let (status, body) = app
        .try_register(
            &issued.cert_pem,
            &signer,
            "喀什建工集团有限公司",
            &bad,
            "bidder",
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_usci"),
        "{body}"
    );
    let other = usci("91650100QTHER0001");
    let (status, body) = app
        .try_register(
            &issued.cert_pem,
            &signer,
            "喀什建工集团有限公司",
            other.as_str(),
            "bidder",
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "usci_not_in_certificate")
    );
    let (status, body) = app
        .try_register(
            &issued.cert_pem,
            &signer,
            "喀什建工集团有限公司",
            good.as_str(),
            "admin",
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "admin_not_configured")
    );

    // An officer role waits for the administrator.
    let (status, pending) = app
        .try_register(
            &issued.cert_pem,
            &signer,
            "喀什建工集团有限公司",
            good.as_str(),
            "trading_centre",
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(pending["status"], "pending");
    let (_, login) = app.try_login(&issued.cert_pem, &signer).await;
    let token = login["token"].as_str().unwrap_or_default().to_owned();
    let (status, body) = app
        .post("/api/v1/trades", Some(&token), &app.tender_terms(&[]))
        .await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "forbidden"));
    let bidder = app.user("bidder").await;
    let path = format!(
        "/api/v1/identities/{}/grant",
        pending["id"].as_str().unwrap_or_default()
    );
    let (status, body) = app
        .post(
            &path,
            Some(&bidder.token),
            &json!({"role": "trading_centre"}),
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "forbidden"));
    let admin = app.admin.as_ref().unwrap_or_else(|| panic!("admin"));
    let (status, list) = app
        .get("/api/v1/identities?status=pending", Some(&admin.token))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(list
        .as_array()
        .is_some_and(|l| l.iter().any(|i| i["id"] == pending["id"])));
    let (status, _) = app
        .post(
            &path,
            Some(&admin.token),
            &json!({"role": "trading_centre"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // The grant holds at once for the session the officer signed in with while pending
    // (and used just now, so this instance keeps it: docs/adr/0022).
    let (status, body) = app
        .get(
            "/api/v1/identities?status=active&role=custodian",
            Some(&token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .post(
            &path,
            Some(&admin.token),
            &json!({"role": "trading_centre"}),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "identity_not_pending")
    );
    // The same certificate cannot register twice.
    let (status, body) = app
        .try_register(
            &issued.cert_pem,
            &signer,
            "喀什建工集团有限公司",
            good.as_str(),
            "bidder",
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "already_registered")
    );
}

async fn officers_find_the_custodians_for_a_committee(backend: Backend) {
    let app = spawn_app(backend).await;
    let (officer, custodians) = app.officer_and_committee().await;
    let path = "/api/v1/identities?status=active&role=custodian";
    let (status, list) = app.get(path, Some(&officer.token)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let ids: Vec<&str> = list
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        custodians.iter().map(String::as_str).collect::<Vec<_>>()
    );
    let (status, body) = app
        .get("/api/v1/identities?status=pending", Some(&officer.token))
        .await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "forbidden"));
    let bidder = app.user("bidder").await;
    let (status, _) = app.get(path, Some(&bidder.token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.get(path, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

crate::on_both_backends!(
    officers_find_the_custodians_for_a_committee,
    a_bidder_certificate_from_an_openssl_made_ca_registers_and_logs_in,
    sm2_certificates_sign_in_beside_p256_and_the_revoked_and_encryption_ones_do_not,
    bad_certificates_are_refused_with_distinct_codes,
    a_login_nonce_works_once_and_only_before_it_expires,
    a_signature_by_another_key_is_refused,
    registration_checks_the_usci_and_who_may_hold_officer_roles,
    the_session_cookie_opens_websockets_only_and_logout_ends_the_session,
);

#[tokio::test]
async fn the_dev_pki_is_refused_by_a_production_server() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let layout =
        tradehall::crypto::pki::init_dev_pki(&dir.path().join("pki"), chrono::Utc::now(), false)
            .unwrap_or_else(|e| panic!("{e}"));
    let demo = tradehall::config::DemoArgs {
        listen: "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}")),
        data_dir: dir.path().to_path_buf(),
        database_url: None,
        witnesses: None,
        web_dir: "web".into(),
        setup_only: true,
        manual: true,
        pace_ms: 0,
        tender_time_scale: tradehall::demo::ROUND_TIME_SCALE,
        listing_time_scale: tradehall::demo::LISTING_TIME_SCALE,
    };
    let mut args = tradehall::demo::serve_args(&demo, &layout);
    args.mode = Mode::Production;
    let clock = std::sync::Arc::new(tradehall::domain::clock::SystemClock);
    match tradehall::server::build(&args, clock).await {
        Err(tradehall::server::StartupError::DevCaInProduction(_)) => {}
        Err(other) => panic!("wrong refusal: {other}"),
        Ok(_) => panic!("a production server trusted the DEV ONLY PKI"),
    }
}

/// The cookie set at login authenticates a same-origin WebSocket upgrade and nothing
/// else; logout ends the session for the token and clears the cookie.
async fn the_session_cookie_opens_websockets_only_and_logout_ends_the_session(backend: Backend) {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    let app = spawn_app(backend).await;
    let supervisor = app.supervisor_of("650100").await;
    let proof = app
        .proof(&supervisor.cert_pem, &supervisor.signer, "login")
        .await;
    let login = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .json(&proof)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(login.status(), StatusCode::OK);
    let set_cookie = login
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body: serde_json::Value = login.json().await.unwrap_or_default();
    let token = body["token"].as_str().unwrap_or_default().to_owned();
    assert!(
        set_cookie.starts_with(&format!("tradehall_session={token};"))
            && set_cookie.contains("HttpOnly")
            && set_cookie.contains("SameSite=Strict"),
        "{set_cookie}"
    );
    let cookie = format!("tradehall_session={token}");

    // Not for ordinary requests: the cookie alone is no identity.
    let me = app
        .http
        .get(app.url("/api/v1/auth/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);

    // A same-origin upgrade with it gets the supervisor's view; one from another origin
    // gets the public view.
    let view = |origin: Option<&'static str>| {
        let (base, cookie) = (app.base.clone(), cookie.clone());
        async move {
            let url = format!("{}/api/v1/feed?after=0", base.replacen("http", "ws", 1));
            let host = base.trim_start_matches("http://").to_owned();
            let mut request = url.into_client_request().unwrap_or_else(|e| panic!("{e}"));
            let headers = request.headers_mut();
            headers.insert("cookie", cookie.parse().unwrap_or_else(|e| panic!("{e}")));
            let origin = origin.map_or_else(|| format!("http://{host}"), str::to_owned);
            headers.insert("origin", origin.parse().unwrap_or_else(|e| panic!("{e}")));
            let (mut socket, _) = tokio_tungstenite::connect_async(request)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            crate::feed::message(&mut socket).await["view"].clone()
        }
    };
    assert_eq!(view(None).await, "supervisor");
    assert_eq!(view(Some("http://evil.example")).await, "public");

    // Logout: the token stops working and the cookie is cleared.
    let out = app
        .http
        .post(app.url("/api/v1/auth/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    assert!(out
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.contains("Max-Age=0")));
    let (status, body) = app.get("/api/v1/auth/me", Some(&token)).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
}
