//! Live sales (ADR 0010) as far as they go today: a land listing is created and published
//! under its rulebook entry, its statutory periods counted on the working-day calendar,
//! and the sealed-bid machinery refuses it.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{code, put_bid, Backend, TestApp};

crate::on_both_backends!(
    a_land_listing_is_held_to_its_statutory_periods,
    applications_are_reviewed_by_the_centre_and_stay_confidential
);

/// A land listing announced now (Saturday 28 November 2026, 09:00 in Beijing): 20 days to
/// the start, then 10 working days of listing. Counting from 19 December: 21 to 25, 28
/// to 31 December, (1 January off), Monday 4 January 2027 is the tenth; the listing ends
/// at 17:00 that day.
pub(crate) fn listing(app: &TestApp, custodians: &[String]) -> Value {
    let mut terms = app.tender_terms(custodians);
    let patch = json!({
        "kind": "land_use_right",
        "procedure": "listing",
        "title": "乌鲁木齐市高新区 2026-041 号地块国有建设用地使用权挂牌出让",
        "estimated_value": 36_000_000_000_i64,
        "lots": [{ "id": "2026-041", "title": "2026-041 号地块", "estimated_value": 36_000_000_000_i64 }],
        "bid_deadline": "2026-12-31T08:00:00Z",
        "bond_amount": 7_200_000_000_i64,
        "live": {
            "start_price": 36_000_000_000_i64,
            "increment": 50_000_000_i64,
            "starts_at": "2026-12-18T01:00:00Z",
            "ends_at": "2027-01-04T09:00:00Z"
        }
    });
    if let (Some(t), Some(p)) = (terms.as_object_mut(), patch.as_object()) {
        for (k, v) in p {
            t.insert(k.clone(), v.clone());
        }
    }
    terms
}

/// `terms` with the field at `pointer` set (added if absent).
pub(crate) fn with(mut terms: Value, pointer: &str, value: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap_or(("", pointer));
    if let Some(object) = terms.pointer_mut(parent).and_then(Value::as_object_mut) {
        object.insert(key.to_owned(), value);
    }
    terms
}

async fn a_land_listing_is_held_to_its_statutory_periods(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let (officer, custodians) = app.officer_and_committee().await;
    let good = listing(&app, &custodians);

    // Each statutory minimum, and each impossible term, refused with its code.
    let mut no_live = good.clone();
    if let Some(t) = no_live.as_object_mut() {
        t.remove("live");
    }
    let tender_with_live = with(
        with(good.clone(), "/kind", json!("construction_tender")),
        "/procedure",
        json!("open_tender"),
    );
    let cases = [
        (
            "starts a minute inside the 20 days",
            with(
                good.clone(),
                "/live/starts_at",
                json!("2026-12-18T00:59:00Z"),
            ),
            "min_days_announcement_to_start",
        ),
        (
            "ends a minute before the close of business of the tenth working day",
            with(good.clone(), "/live/ends_at", json!("2027-01-04T08:59:00Z")),
            "min_listing_working_days",
        ),
        (
            "a 30-second countdown",
            with(good.clone(), "/live/countdown_seconds", json!(30)),
            "min_countdown_seconds",
        ),
        (
            "a start price that is not a multiple of the increment",
            with(good.clone(), "/live/increment", json!(70_000_000_i64)),
            "invalid_live_terms",
        ),
        (
            "applications closing after the listing",
            with(good.clone(), "/bid_deadline", json!("2027-01-05T00:00:00Z")),
            "invalid_live_terms",
        ),
        (
            "a listing without its sale terms",
            no_live,
            "invalid_live_terms",
        ),
        (
            "a tender with sale terms",
            tender_with_live,
            "invalid_live_terms",
        ),
    ];
    for (what, terms, expected) in cases {
        let (status, body) = app
            .post("/api/v1/trades", Some(&officer.token), &terms)
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {body}");
        let got = match code(&body) {
            "rule_violation" => body["error"]["rule"].as_str().unwrap_or_default(),
            other => other,
        };
        assert_eq!(got, expected, "{what}: {body}");
    }
    let (_, body) = app
        .post(
            "/api/v1/trades",
            Some(&officer.token),
            &with(good.clone(), "/live/ends_at", json!("2027-01-04T08:59:00Z")),
        )
        .await;
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("2027-01-04T09:00:00.000Z") && message.contains("provisional"),
        "the earliest end, on a provisional year: {message}"
    );
    assert!(
        body["error"]["article"]
            .as_str()
            .unwrap_or_default()
            .contains("第十九条"),
        "{body}"
    );

    // The exact minimum is accepted; the rulebook's countdown is filled in.
    let id = app.published_trade_with(&officer, &good).await;
    let (status, trade) = app.get(&format!("/api/v1/trades/{id}"), None).await;
    assert_eq!(status, StatusCode::OK, "{trade}");
    assert_eq!(trade["phase"], "announced");
    assert_eq!(trade["live"]["countdown_seconds"], 240);
    assert_eq!(trade["live"]["ends_at"], "2027-01-04T09:00:00.000Z");
    assert_eq!(trade["live"]["start_price"], 36_000_000_000_i64);

    // During the listing it is `listing`; it takes no sealed bid.
    app.clock.set(
        chrono::DateTime::parse_from_rfc3339("2026-12-21T02:00:00Z")
            .map_or_else(|e| panic!("{e}"), |t| t.with_timezone(&chrono::Utc)),
    );
    let (_, trade) = app.get(&format!("/api/v1/trades/{id}"), None).await;
    assert_eq!(trade["phase"], "listing");

    // Suspended for an hour during the listing: on resume the listing's end and the
    // application cut-off move by the hour; the start, already past, stays.
    let supervisor = app.supervisor_of("650100").await;
    let (status, body) = app
        .post(
            &format!("/api/v1/trades/{id}/suspend"),
            Some(&supervisor.token),
            &json!({ "reason": "群众举报, 核查中" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.clock.advance(chrono::Duration::hours(1));
    let (status, body) = app
        .post(
            &format!("/api/v1/trades/{id}/resume"),
            Some(&supervisor.token),
            &json!({ "reason": "核查完毕, 恢复挂牌" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, trade) = app.get(&format!("/api/v1/trades/{id}"), None).await;
    assert_eq!(trade["phase"], "listing");
    assert_eq!(trade["live"]["starts_at"], "2026-12-18T01:00:00.000Z");
    assert_eq!(trade["live"]["ends_at"], "2027-01-04T10:00:00.000Z");
    assert_eq!(trade["bid_deadline"], "2026-12-31T09:00:00.000Z");

    let bidder = app.user("bidder").await;
    let (status, body) = put_bid(&app, &bidder.token, &id, b"not an envelope".to_vec()).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "wrong_engine"),
        "{body}"
    );
}

async fn applications_are_reviewed_by_the_centre_and_stay_confidential(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let (officer, custodians) = app.officer_and_committee().await;
    let id = app
        .published_trade_with(&officer, &listing(&app, &custodians))
        .await;
    let tender = app.published_trade(&officer, &custodians).await;
    let head = app.platform.store.log_size().await.unwrap_or_default();
    let (a, b, c) = (
        app.user("bidder").await,
        app.user("bidder").await,
        app.user("bidder").await,
    );
    let apply = |token: String, trade: String, account: &'static str| {
        let app = &app;
        async move {
            app.post(
                &format!("/api/v1/trades/{trade}/applications"),
                Some(&token),
                &json!({ "payer_account": account, "payer_name": "测试竞买单位" }),
            )
            .await
        }
    };

    let (status, first) = apply(a.token.clone(), id.clone(), "6222020200001234567").await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["status"], "pending");
    assert_eq!(first["usci"], a.identity["usci"]);
    for (token, trade, account, expected) in [
        (
            &a,
            &id,
            "6222020200001234567",
            (StatusCode::CONFLICT, "already_applied"),
        ),
        (
            &b,
            &id,
            "123",
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_payer_account"),
        ),
        (
            &b,
            &tender,
            "6222020200007654321",
            (StatusCode::CONFLICT, "wrong_engine"),
        ),
    ] {
        let (status, body) = apply(token.token.clone(), trade.clone(), account).await;
        assert_eq!((status, code(&body)), expected, "{body}");
    }
    let (status, second) = apply(b.token.clone(), id.clone(), "6222020200007654321").await;
    assert_eq!(status, StatusCode::CREATED, "{second}");

    // Who may see the list.
    let list = format!("/api/v1/trades/{id}/applications");
    let (status, all) = app.get(&list, Some(&officer.token)).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(all["applications"].as_array().map(Vec::len), Some(2));
    let city = app.supervisor_of("650100").await;
    let (status, _) = app.get(&list, Some(&city.token)).await;
    assert_eq!(status, StatusCode::OK);
    let other_city = app.supervisor_of("650200").await;
    let (status, _) = app.get(&list, Some(&other_city.token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.get(&list, Some(&a.token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, mine) = app.get(&format!("{list}/mine"), Some(&a.token)).await;
    assert_eq!(
        (status, mine["id"].clone()),
        (StatusCode::OK, first["id"].clone())
    );
    let (status, body) = app.get(&format!("{list}/mine"), Some(&c.token)).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::NOT_FOUND, "application_not_found")
    );

    // The centre decides: a rejection needs its reason, and a decision is final.
    let decide = |what: &'static str, application: &Value, body: Value| {
        let app = &app;
        let path = format!(
            "/api/v1/applications/{}/{what}",
            application["id"].as_str().unwrap_or_default()
        );
        let token = officer.token.clone();
        async move { app.post(&path, Some(&token), &body).await }
    };
    let (status, body) = decide("reject", &first, json!({})).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_reason")
    );
    let (status, rejected) = decide(
        "reject",
        &first,
        json!({ "reason": "未提交有效的营业执照副本" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{rejected}");
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["reason"], "未提交有效的营业执照副本");
    let (status, body) = decide("qualify", &first, json!({})).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "application_not_pending")
    );
    let (status, qualified) = decide("qualify", &second, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{qualified}");
    assert_eq!(qualified["status"], "qualified");

    // The public log names no applicant and no trade.
    let (_, public) = app
        .get(&format!("/api/v1/events?after={head}&limit=1000"), None)
        .await;
    let text = public.to_string();
    for secret in [
        a.identity["usci"].as_str().unwrap_or("-"),
        b.identity["organization"].as_str().unwrap_or("-"),
        "6222020200001234567",
        id.as_str(),
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    assert!(text.contains("application.submitted") && text.contains("application.decided"));

    // After the cut-off, no more applications.
    app.clock.set(
        chrono::DateTime::parse_from_rfc3339("2026-12-31T08:00:00Z")
            .map_or_else(|e| panic!("{e}"), |t| t.with_timezone(&chrono::Utc)),
    );
    let (status, body) = apply(c.token.clone(), id.clone(), "6222020200001111111").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "applications_closed"),
        "{body}"
    );
}
