//! Live sales (ADR 0010) as far as they go today: a land listing is created and published
//! under its rulebook entry, its statutory periods counted on the working-day calendar,
//! and the sealed-bid machinery refuses it.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{code, put_bid, Backend, TestApp};

crate::on_both_backends!(a_land_listing_is_held_to_its_statutory_periods);

/// A land listing announced now (Saturday 28 November 2026, 09:00 in Beijing): 20 days to
/// the start, then 10 working days of listing. Counting from 19 December: 21 to 25, 28
/// to 31 December, (1 January off), Monday 4 January 2027 is the tenth; the listing ends
/// at 17:00 that day.
fn listing(app: &TestApp, custodians: &[String]) -> Value {
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
fn with(mut terms: Value, pointer: &str, value: Value) -> Value {
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
