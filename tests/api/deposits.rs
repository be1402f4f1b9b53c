//! Deposits of live sales (ADR 0010): bank notifications authenticated by HMAC, fresh,
//! recorded once; amount and paying account checked against the application; a bidder
//! number for a qualified applicant with a confirmed deposit; refunds with their state;
//! the trade's ledger balancing.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{code, Backend, TestApp, User};
use crate::live::listing;
use tradehall::crypto::bank_signature;

crate::on_both_backends!(
    deposits_are_authenticated_recorded_once_and_draw_bidder_numbers,
    deposits_of_two_bidders_from_one_account_raise_an_alert,
    tender_bonds_of_two_bidders_from_one_account_raise_an_alert_at_the_opening
);

const BANK: &str = "DEVBANK";
const ACCOUNT_A: &str = "6222020200001234567";
const ACCOUNT_B: &str = "6222020200007654321";
/// The listing's deposit (`listing` in live.rs): 72,000,000.00 yuan.
const DEPOSIT: i64 = 7_200_000_000;

/// A notification of `kind` for `trade`, patched with `extra`.
pub(crate) fn notification(trade: &str, txn: &str, account: &str, extra: &Value) -> Vec<u8> {
    let mut body = json!({
        "bank_txn_id": txn,
        "kind": "deposit",
        "trade": trade,
        "payer_account": account,
        "payer_name": "测试竞买单位",
        "amount": DEPOSIT,
        "booked_at": "2026-11-28T01:00:00Z",
    });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    serde_json::to_vec(&body).unwrap_or_default()
}

/// Posts `body` as bank `bank` signed with `secret` at `timestamp`.
pub(crate) async fn post_signed(
    app: &TestApp,
    bank: &str,
    secret: &[u8],
    timestamp: &str,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    post_signed_to(
        app,
        "/api/v1/bank/notifications",
        bank,
        secret,
        timestamp,
        body,
    )
    .await
}

/// Posts `body` to `path` as the demo bank, signed now.
pub(crate) async fn bank_post(app: &TestApp, path: &str, body: &Value) -> (StatusCode, Value) {
    let now = app.clock_now().timestamp().to_string();
    let body = serde_json::to_vec(body).unwrap_or_default();
    post_signed_to(app, path, BANK, &dev_secret(app), &now, body).await
}

/// [`post_signed`] to another bank endpoint.
pub(crate) async fn post_signed_to(
    app: &TestApp,
    path: &str,
    bank: &str,
    secret: &[u8],
    timestamp: &str,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let signature = bank_signature::sign(secret, timestamp, &body);
    let resp = app
        .http
        .post(app.url(path))
        .header("X-Bank-Id", bank)
        .header("X-Bank-Timestamp", timestamp)
        .header("X-Bank-Signature", signature)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST notification: {e}"));
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// The demo server's bank secret.
pub(crate) fn dev_secret(app: &TestApp) -> Vec<u8> {
    app.platform
        .settings
        .bank_secrets
        .get(BANK)
        .map(<[u8]>::to_vec)
        .unwrap_or_else(|| panic!("a demo server has the DEV ONLY bank"))
}

/// Posts `body` as the demo bank, signed now.
pub(crate) async fn notify(app: &TestApp, body: Vec<u8>) -> (StatusCode, Value) {
    let now = app.clock_now().timestamp().to_string();
    post_signed(app, BANK, &dev_secret(app), &now, body).await
}

pub(crate) async fn apply(app: &TestApp, bidder: &User, trade: &str, account: &str) -> Value {
    let (status, body) = app
        .post(
            &format!("/api/v1/trades/{trade}/applications"),
            Some(&bidder.token),
            &json!({ "payer_account": account, "payer_name": "测试竞买单位" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

pub(crate) async fn qualify(app: &TestApp, officer: &User, application: &Value) -> Value {
    let path = format!(
        "/api/v1/applications/{}/qualify",
        application["id"].as_str().unwrap_or_default()
    );
    let (status, body) = app.post(&path, Some(&officer.token), &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn mine(app: &TestApp, bidder: &User, trade: &str) -> Value {
    let (status, body) = app
        .get(
            &format!("/api/v1/trades/{trade}/applications/mine"),
            Some(&bidder.token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn deposits_are_authenticated_recorded_once_and_draw_bidder_numbers(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let (officer, custodians) = app.officer_and_committee().await;
    let id = app
        .published_trade_with(&officer, &listing(&app, &custodians))
        .await;
    let (a, b) = (app.user("bidder").await, app.user("bidder").await);
    let application_a = apply(&app, &a, &id, ACCOUNT_A).await;
    qualify(&app, &officer, &application_a).await;
    let application_b = apply(&app, &b, &id, ACCOUNT_B).await;
    let secret = dev_secret(&app);
    let now = app.clock_now().timestamp();
    let deposit_a = notification(&id, "DEV-0001", ACCOUNT_A, &json!({}));

    // Not authenticated, not fresh, not well formed: refused, nothing recorded.
    let refusals = [
        (
            "an unknown bank",
            "NOBANK",
            secret.clone(),
            now.to_string(),
            deposit_a.clone(),
            StatusCode::UNAUTHORIZED,
            "bank_unknown",
        ),
        (
            "another secret",
            BANK,
            vec![7; 32],
            now.to_string(),
            deposit_a.clone(),
            StatusCode::UNAUTHORIZED,
            "bank_signature_invalid",
        ),
        (
            "301 s old",
            BANK,
            secret.clone(),
            (now - 301).to_string(),
            deposit_a.clone(),
            StatusCode::UNAUTHORIZED,
            "bank_timestamp_stale",
        ),
        (
            "not a time",
            BANK,
            secret.clone(),
            "soon".into(),
            deposit_a.clone(),
            StatusCode::UNAUTHORIZED,
            "bank_timestamp_malformed",
        ),
        (
            "a zero amount",
            BANK,
            secret.clone(),
            now.to_string(),
            notification(&id, "DEV-0002", ACCOUNT_A, &json!({ "amount": 0 })),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_notification",
        ),
    ];
    for (what, bank, key, timestamp, body, status, expected) in refusals {
        let (got, answer) = post_signed(&app, bank, &key, &timestamp, body).await;
        assert_eq!((got, code(&answer)), (status, expected), "{what}: {answer}");
    }
    let resp = app
        .http
        .post(app.url("/api/v1/bank/notifications"))
        .body(deposit_a.clone())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    // A's deposit counts: A is qualified, so it draws a six-digit bidder number.
    let (status, first) = notify(&app, deposit_a.clone()).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(
        (
            first["outcome"].as_str(),
            first["counted"].as_bool(),
            first["repeated"].as_bool()
        ),
        (Some("deposit_confirmed"), Some(true), Some(false))
    );
    let number_a = mine(&app, &a, &id).await["bidder_number"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        number_a.len() == 6 && number_a.bytes().all(|c| c.is_ascii_digit()),
        "{number_a}"
    );

    // The same notification again (a bank retry) is answered as recorded, once; the same
    // id with another body is a conflict.
    let (status, again) = notify(&app, deposit_a.clone()).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["repeated"], true);
    assert_eq!(again["seq"], first["seq"]);
    let (status, body) = notify(
        &app,
        notification(
            &id,
            "DEV-0001",
            ACCOUNT_A,
            &json!({ "amount": DEPOSIT + 1 }),
        ),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "bank_txn_conflict")
    );

    // B pays the wrong amount, then from an account nobody declared, then after the
    // cut-off: each recorded once with its outcome, the money instructed back.
    for (txn, account, extra, expected) in [
        (
            "DEV-0003",
            ACCOUNT_B,
            json!({ "amount": DEPOSIT - 100 }),
            "deposit_wrong_amount",
        ),
        (
            "DEV-0004",
            "6222020200009999999",
            json!({}),
            "deposit_unknown_payer",
        ),
        (
            "DEV-0005",
            ACCOUNT_B,
            json!({ "booked_at": "2026-12-31T08:00:01Z" }),
            "deposit_late",
        ),
    ] {
        let (status, body) = notify(&app, notification(&id, txn, account, &extra)).await;
        assert_eq!(status, StatusCode::OK, "{expected}: {body}");
        assert_eq!(body["outcome"], expected, "{body}");
        assert_eq!(body["counted"], false, "{body}");
        assert!(body["refund"].is_string(), "{body}");
    }
    assert!(mine(&app, &b, &id).await["deposit_at"].is_null());

    // B pays right while still pending: the deposit counts, the number comes when the
    // centre qualifies B, and it is not A's.
    let (_, paid) = notify(&app, notification(&id, "DEV-0006", ACCOUNT_B, &json!({}))).await;
    assert_eq!(paid["outcome"], "deposit_confirmed", "{paid}");
    assert!(mine(&app, &b, &id).await["bidder_number"].is_null());
    let qualified = qualify(&app, &officer, &application_b).await;
    let number_b = qualified["bidder_number"].as_str().unwrap_or_default();
    assert!(number_b.len() == 6 && number_b != number_a, "{qualified}");

    // The bank reports the wrong-amount refund carried out.
    let money_path = format!("/api/v1/trades/{id}/money");
    let (status, money) = app.get(&money_path, Some(&officer.token)).await;
    assert_eq!(status, StatusCode::OK, "{money}");
    let refunds = money["refunds"].as_array().cloned().unwrap_or_default();
    assert_eq!(refunds.len(), 3, "{money}");
    let wrong = refunds
        .iter()
        .find(|r| r["reason"] == "wrong_amount")
        .cloned()
        .unwrap_or_default();
    assert_eq!(wrong["status"], "pending");
    let refund_body = |txn: &str, amount: i64| {
        notification(
            &id,
            txn,
            ACCOUNT_B,
            &json!({ "kind": "refund", "refund": wrong["id"], "amount": amount }),
        )
    };
    let (_, mismatch) = notify(&app, refund_body("DEV-R-0001", DEPOSIT)).await;
    assert_eq!(mismatch["outcome"], "refund_mismatch", "{mismatch}");
    let (_, done) = notify(&app, refund_body("DEV-R-0002", DEPOSIT - 100)).await;
    assert_eq!(done["outcome"], "refund_confirmed", "{done}");
    let (_, twice) = notify(&app, refund_body("DEV-R-0003", DEPOSIT - 100)).await;
    assert_eq!(twice["outcome"], "refund_already_confirmed", "{twice}");

    // The ledger: five deposits in, one refund out, two refunds owed; what is held for
    // the sale is the two deposits that count.
    let (_, money) = app.get(&money_path, Some(&officer.token)).await;
    let balance = &money["balance"];
    assert_eq!(balance["received"], 4 * DEPOSIT + DEPOSIT - 100, "{money}");
    assert_eq!(balance["refunded"], DEPOSIT - 100);
    assert_eq!(balance["held"], 4 * DEPOSIT);
    assert_eq!(balance["open_refund_amount"], 2 * DEPOSIT);
    assert_eq!(balance["held_for_sale"], 2 * DEPOSIT);
    assert_eq!(money["settled"], false);
    assert_eq!(money["ledger"].as_array().map(Vec::len), Some(6));
    let (status, _) = app.get(&money_path, Some(&a.token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Each bidder sees its own deposits and refunds: B its wrong amount (refunded), its
    // late one (owed) and the one that counts; A only its own; the unknown payer's is
    // nobody's.
    let mine_path = format!("/api/v1/trades/{id}/money/mine");
    let (status, theirs) = app.get(&mine_path, Some(&b.token)).await;
    assert_eq!(status, StatusCode::OK, "{theirs}");
    assert_eq!(theirs["kind"], "deposit", "{theirs}");
    assert_eq!(theirs["due"], DEPOSIT, "{theirs}");
    assert_eq!(theirs["accounts"], json!([ACCOUNT_B]), "{theirs}");
    let reasons: Vec<&str> = theirs["refunds"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["reason"].as_str())
        .collect();
    assert_eq!(reasons, ["wrong_amount", "late"], "{theirs}");
    assert_eq!(
        theirs["balance"]["received"],
        2 * DEPOSIT + DEPOSIT - 100,
        "{theirs}"
    );
    assert_eq!(theirs["balance"]["refunded"], DEPOSIT - 100, "{theirs}");
    assert_eq!(theirs["balance"]["held_for_sale"], DEPOSIT, "{theirs}");
    let (_, own) = app.get(&mine_path, Some(&a.token)).await;
    assert_eq!(own["refunds"], json!([]), "{own}");
    assert_eq!(own["balance"]["received"], DEPOSIT, "{own}");
    let all = money["ledger"].as_array().map_or(0, Vec::len);
    let seen = theirs["ledger"].as_array().map_or(0, Vec::len)
        + own["ledger"].as_array().map_or(0, Vec::len);
    assert_eq!(
        all,
        seen + 1,
        "only the unknown payer's deposit is nobody's: {money}"
    );
}

async fn deposits_of_two_bidders_from_one_account_raise_an_alert(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let (officer, custodians) = app.officer_and_committee().await;
    let id = app
        .published_trade_with(&officer, &listing(&app, &custodians))
        .await;
    let (a, b, c) = (
        app.user("bidder").await,
        app.user("bidder").await,
        app.user("bidder").await,
    );
    let city = app.supervisor_of("650100").await;
    // A and C declare one account; B its own. A and B pay: no finding.
    for (bidder, account, txn) in [(&a, ACCOUNT_A, "DEV-S1"), (&b, ACCOUNT_B, "DEV-S2")] {
        let application = apply(&app, bidder, &id, account).await;
        qualify(&app, &officer, &application).await;
        let (_, paid) = notify(&app, notification(&id, txn, account, &json!({}))).await;
        assert_eq!(paid["outcome"], "deposit_confirmed", "{paid}");
    }
    assert!(alerts(&app, &city.token).await.is_empty());
    // C pays from A's account: a red alert naming both, on the trade's supervisors' list.
    let application = apply(&app, &c, &id, ACCOUNT_A).await;
    qualify(&app, &officer, &application).await;
    let (_, paid) = notify(&app, notification(&id, "DEV-S3", ACCOUNT_A, &json!({}))).await;
    assert_eq!(paid["outcome"], "deposit_confirmed", "{paid}");
    let raised = alerts(&app, &city.token).await;
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert_eq!(raised[0]["severity"], "red");
    let mut subjects: Vec<String> = [&a, &c]
        .iter()
        .map(|u| u.identity["usci"].as_str().unwrap_or_default().to_owned())
        .collect();
    subjects.sort();
    assert_eq!(
        raised[0]["finding"]["subjects"],
        json!(subjects),
        "{}",
        raised[0]
    );
    // The same notification again raises nothing new.
    notify(&app, notification(&id, "DEV-S3", ACCOUNT_A, &json!({}))).await;
    assert_eq!(alerts(&app, &city.token).await.len(), 1);
}

async fn alerts(app: &TestApp, token: &str) -> Vec<Value> {
    let (status, body) = app
        .get("/api/v1/alerts?rule=shared_deposit_account", Some(token))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["alerts"].as_array().cloned().unwrap_or_default()
}

/// The tender's bond (`tender_terms` in helpers.rs): 2,000,000.00 yuan.
const BOND: i64 = 200_000_000;

async fn tender_bonds_of_two_bidders_from_one_account_raise_an_alert_at_the_opening(
    backend: Backend,
) {
    let r = crate::opening::round(backend).await;
    let app = &r.app;
    let city = app.supervisor_of("650100").await;
    let bidders = r.three_bids().await;
    let usci = |u: &User| u.identity["usci"].as_str().unwrap_or_default().to_owned();
    let bond = |txn: &str, account: &str, bidder: &User, amount: i64| {
        notification(
            &r.trade,
            txn,
            account,
            &json!({ "kind": "bond", "bidder_usci": usci(bidder), "amount": amount }),
        )
    };
    // The first and the third bidder's bonds come from one account.
    for (txn, account, bidder) in [
        ("B-1", ACCOUNT_A, &bidders[0]),
        ("B-2", ACCOUNT_B, &bidders[1]),
        ("B-3", ACCOUNT_A, &bidders[2]),
    ] {
        let (status, body) = notify(app, bond(txn, account, bidder, BOND)).await;
        assert_eq!(
            (status, body["outcome"].as_str()),
            (StatusCode::OK, Some("bond_confirmed")),
            "{body}"
        );
    }
    // A second bond for one bidder, and a wrong amount, are recorded and go back.
    let (_, twice) = notify(app, bond("B-4", ACCOUNT_B, &bidders[0], BOND)).await;
    assert_eq!(twice["outcome"], "bond_duplicate", "{twice}");
    assert!(twice["refund"].is_string(), "{twice}");
    let late_comer = app.user("bidder").await;
    let (_, wrong) = notify(app, bond("B-5", ACCOUNT_B, &late_comer, BOND - 1)).await;
    assert_eq!(wrong["outcome"], "bond_wrong_amount", "{wrong}");
    // A bond names its bidder; a tender takes no sale deposits.
    let unnamed = notification(
        &r.trade,
        "B-6",
        ACCOUNT_B,
        &json!({ "kind": "bond", "amount": BOND }),
    );
    let (status, body) = notify(app, unnamed).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_notification")
    );
    let deposit = notification(&r.trade, "B-7", ACCOUNT_B, &json!({ "amount": BOND }));
    let (status, body) = notify(app, deposit).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "wrong_engine")
    );

    // The centre sees the bonds on the trade's account: five arrived, two go back.
    let officer = app.user("trading_centre").await;
    let (status, money) = app
        .get(
            &format!("/api/v1/trades/{}/money", r.trade),
            Some(&officer.token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{money}");
    assert_eq!(money["balance"]["received"], 5 * BOND - 1, "{money}");
    assert_eq!(money["balance"]["open_refunds"], 2, "{money}");

    app.clock.set(r.deadline);
    for i in 0..2 {
        let (status, body) = r.contribute(i).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // The risk rules run on the opening in the background.
    let mut raised = Vec::new();
    for _ in 0..100 {
        let (status, body) = app
            .get("/api/v1/alerts?rule=shared_bond_account", Some(&city.token))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        raised = body["alerts"].as_array().cloned().unwrap_or_default();
        if !raised.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert_eq!(raised[0]["severity"], "red");
    let mut expected = vec![usci(&bidders[0]), usci(&bidders[2])];
    expected.sort();
    assert_eq!(
        raised[0]["finding"]["subjects"],
        json!(expected),
        "{}",
        raised[0]
    );
    assert_eq!(raised[0]["finding"]["evidence"]["payer_account"], ACCOUNT_A);
}
