//! The edges an attacker probes (issue 29, "Close the edges"): an uploaded document is a
//! file to save, never a page of the platform's origin; a client's request id is bounded
//! before it goes into the audit record; free text refuses NUL and other control
//! characters; amounts and dates have upper bounds.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{code, spawn_app, Backend};

crate::on_both_backends!(
    an_uploaded_html_document_is_served_as_an_attachment_that_cannot_run,
    a_client_request_id_is_bounded_and_a_fresh_one_replaces_a_bad_one,
    written_text_refuses_control_characters_but_keeps_line_breaks,
    amounts_and_dates_have_upper_bounds,
);

async fn an_uploaded_html_document_is_served_as_an_attachment_that_cannot_run(backend: Backend) {
    let app = spawn_app(backend).await;
    let (officer, custodians) = app.officer_and_committee().await;
    let (status, trade) = app
        .post(
            "/api/v1/trades",
            Some(&officer.token),
            &app.tender_terms(&custodians),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{trade}");
    let id = trade["id"].as_str().unwrap_or_default();
    let page = b"<html><script>fetch('/api/v1/auth/me')</script></html>";
    let resp = app
        .http
        .put(app.url(&format!("/api/v1/trades/{id}/documents/notice.html")))
        .bearer_auth(&officer.token)
        .header("content-type", "text/html")
        .body(page.to_vec())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status(), StatusCode::CREATED);
    let sha = tradehall::crypto::digest::sha256_hex(page);
    let doc = app
        .http
        .get(app.url(&format!("/api/v1/documents/{sha}")))
        .bearer_auth(&officer.token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(doc.status(), StatusCode::OK);
    let header = |name: &str| {
        doc.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("content-disposition"), "attachment");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert!(header("content-security-policy").starts_with("sandbox"));
}

async fn a_client_request_id_is_bounded_and_a_fresh_one_replaces_a_bad_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let echo = |id: String| {
        let app = &app;
        async move {
            let resp = app
                .http
                .get(app.url("/healthz"))
                .header("x-request-id", id)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            resp.headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        }
    };
    assert_eq!(echo("req-42.a:b_c".into()).await, "req-42.a:b_c");
    for bad in [
        "x".repeat(20_000),
        "x".repeat(65),
        "含中文".into(),
        "a b".into(),
    ] {
        let got = echo(bad.clone()).await;
        assert_ne!(got, bad);
        assert!(
            uuid::Uuid::parse_str(&got).is_ok(),
            "a fresh id instead of {:.20}…: {got}",
            bad
        );
    }
}

async fn written_text_refuses_control_characters_but_keeps_line_breaks(backend: Backend) {
    let app = spawn_app(backend).await;
    let (officer, custodians) = app.officer_and_committee().await;
    let trade = app.published_trade(&officer, &custodians).await;
    let bidder = app.user("bidder").await;
    let ask = |question: &str| {
        let (app, path, token) = (
            &app,
            format!("/api/v1/trades/{trade}/clarifications"),
            bidder.token.clone(),
        );
        let body = json!({ "question": question });
        async move { app.post(&path, Some(&token), &body).await }
    };
    for bad in ["a\u{0}b", "报价\u{1b}[2J", "tab\u{7f}"] {
        let (status, body) = ask(bad).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_question"),
            "{bad:?}: {body}"
        );
    }
    let (status, body) = ask("第一问:\n  工期能否顺延?\r\n第二问:\t否").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let supervisor = app.supervisor_of("650100").await;
    let (status, body) = app
        .post(
            &format!("/api/v1/trades/{trade}/suspend"),
            Some(&supervisor.token),
            &json!({ "reason": "核查\u{0}" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_reason")
    );
}

async fn amounts_and_dates_have_upper_bounds(backend: Backend) {
    let app = spawn_app(backend).await;
    let (officer, custodians) = app.officer_and_committee().await;
    let token = Some(officer.token.as_str());
    let mut terms = app.tender_terms(&custodians);
    terms["estimated_value"] = json!(i64::MAX);
    terms["lots"] = json!([{ "id": "1", "title": "全部", "estimated_value": i64::MAX }]);
    let (status, body) = app.post("/api/v1/trades", token, &terms).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.to_string().contains("1000000000000000"), "{body}");

    let mut terms = app.tender_terms(&custodians);
    terms["bid_deadline"] = json!("9999-12-31T00:00:00Z");
    let (status, body) = app.post("/api/v1/trades", token, &terms).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_date"),
        "{body}"
    );

    // At the bound, an amount is taken, and a browser's number holds it exactly.
    let mut terms = app.tender_terms(&custodians);
    terms["estimated_value"] = json!(1_000_000_000_000_000_i64);
    terms["lots"] =
        json!([{ "id": "1", "title": "全部", "estimated_value": 1_000_000_000_000_000_i64 }]);
    terms["bond_amount"] = json!(0);
    let (status, body) = app.post("/api/v1/trades", token, &terms).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["estimated_value"], 1_000_000_000_000_000_i64);
}
