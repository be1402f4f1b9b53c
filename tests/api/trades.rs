//! Trades under the rulebook: creation, publication, clarifications, public reads, bad input.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{code, spawn_app, usci, Backend};
use tradehall::domain::clock::rfc3339;

fn assert_rule(status: StatusCode, body: &Value, rule: &str, article: &str) {
    assert_eq!(
        (status, code(body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "rule_violation"),
        "{body}"
    );
    assert_eq!(body["error"]["rule"], rule, "{body}");
    let cited = body["error"]["article"].as_str().unwrap_or_default();
    assert!(
        cited.contains(article),
        "{rule} cites {cited:?}, expected {article:?}"
    );
}

async fn a_trade_that_breaks_a_statutory_rule_is_refused_naming_the_rule(backend: Backend) {
    let app = spawn_app(backend).await;
    let (officer, custodians) = app.officer_and_committee().await;
    let now = app.clock_now();
    let token = Some(officer.token.as_str());

    let mut terms = app.tender_terms(&custodians);
    terms["bid_deadline"] = json!(rfc3339(now + Duration::days(19)));
    let (status, body) = app.post("/api/v1/trades", token, &terms).await;
    assert_rule(
        status,
        &body,
        "min_days_to_deadline",
        "招标投标法 第二十四条",
    );
    // The centre's form asks the same question without creating anything: the same
    // refusal (as an answer, not a failed request) for terms that break a rule, `ok` for
    // terms that keep them, and no draft.
    let (status, checked) = app.post("/api/v1/trades/check", token, &terms).await;
    assert_eq!(status, StatusCode::OK, "{checked}");
    assert_eq!(checked, json!({"ok": false, "error": body["error"]}));
    let (status, checked) = app
        .post(
            "/api/v1/trades/check",
            token,
            &app.tender_terms(&custodians),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{checked}");
    assert_eq!(checked, json!({"ok": true}));
    let (_, drafts) = app.get("/api/v1/trades?status=draft", token).await;
    assert_eq!(drafts["trades"], json!([]), "checking creates nothing");

    let mut terms = app.tender_terms(&custodians);
    terms["kind"] = json!("government_procurement");
    terms["bid_deadline"] = json!(rfc3339(now + Duration::days(19)));
    let (status, body) = app.post("/api/v1/trades", token, &terms).await;
    assert_rule(
        status,
        &body,
        "min_days_to_deadline",
        "政府采购法 第三十五条",
    );

    let mut terms = app.tender_terms(&custodians);
    terms["bond_amount"] = json!(200_000_001_i64); // 2% of 1亿 plus one fen
    let (status, body) = app.post("/api/v1/trades", token, &terms).await;
    assert_rule(
        status,
        &body,
        "bond_cap_basis_points",
        "实施条例 第二十六条",
    );

    let mut terms = app.tender_terms(&custodians[..2]);
    terms["committee"]["threshold"] = json!(2);
    let (status, body) = app.post("/api/v1/trades", token, &terms).await;
    assert_rule(status, &body, "min_custodians", "平台规则");

    let mut terms = app.tender_terms(&custodians);
    terms["committee"]["threshold"] = json!(1);
    let (status, body) = app.post("/api/v1/trades", token, &terms).await;
    assert_rule(status, &body, "min_threshold", "平台规则");

    // Exactly at the limits is allowed.
    let mut terms = app.tender_terms(&custodians);
    terms["bid_deadline"] = json!(rfc3339(now + Duration::days(20)));
    terms["bond_amount"] = json!(200_000_000_i64);
    let (status, body) = app.post("/api/v1/trades", token, &terms).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "draft");
    assert_eq!(body["rulebook_version"], "2026.4");
    assert_eq!(body["rulebook_sha256"].as_str().map(str::len), Some(64));
}

async fn publication_is_held_to_the_rules_at_the_moment_it_happens(backend: Backend) {
    let app = spawn_app(backend).await;
    let (officer, custodians) = app.officer_and_committee().await;
    let token = Some(officer.token.as_str());
    let mut terms = app.tender_terms(&custodians);
    terms["bid_deadline"] = json!(rfc3339(app.clock_now() + Duration::days(21)));
    let (status, trade) = app.post("/api/v1/trades", token, &terms).await;
    assert_eq!(status, StatusCode::CREATED, "{trade}");
    let id = trade["id"].as_str().unwrap_or_default().to_owned();
    let publish = format!("/api/v1/trades/{id}/publish");

    let (status, body) = app.post(&publish, token, &json!({})).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "documents_required")
    );
    let (status, _) = app
        .upload(&officer.token, &id, "招标文件.pdf", b"%PDF tender")
        .await;
    assert_eq!(status, StatusCode::CREATED);

    // Two days later only 19 days remain: publishing now would break 第二十四条.
    app.clock.advance(Duration::days(2));
    let (status, body) = app.post(&publish, token, &json!({})).await;
    assert_rule(status, &body, "min_days_to_deadline", "第二十四条");
    let (status, _) = app.get(&format!("/api/v1/trades/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a draft is not public");

    app.clock.set(crate::helpers::start_time());
    let (status, published) = app.post(&publish, token, &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{published}");
    assert_eq!(published["status"], "published");
    let (status, public) = app.get(&format!("/api/v1/trades/{id}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        public["documents"][0]["sha256"],
        tradehall::crypto::digest::sha256_hex(b"%PDF tender")
    );
    let sha = public["documents"][0]["sha256"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let doc = app
        .http
        .get(app.url(&format!("/api/v1/documents/{sha}")))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(doc.status(), StatusCode::OK);
    assert_eq!(
        doc.bytes().await.unwrap_or_default().as_ref(),
        b"%PDF tender"
    );

    let (status, body) = app.post(&publish, token, &json!({})).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "trade_not_draft")
    );
    let (status, body) = app.upload(&officer.token, &id, "补充.pdf", b"late").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "trade_not_draft")
    );
}

async fn a_clarification_answered_after_the_cutoff_pushes_the_deadline(backend: Backend) {
    let app = spawn_app(backend).await;
    let (officer, custodians) = app.officer_and_committee().await;
    let id = app.published_trade(&officer, &custodians).await;
    let bidder = app.user("bidder").await;
    let deadline = app.clock_now() + Duration::days(25);
    let ask = format!("/api/v1/trades/{id}/clarifications");

    // Answered 25 days ahead: no change.
    let (status, q1) = app
        .post(
            &ask,
            Some(&bidder.token),
            &json!({"question": "工期是否可以调整？"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{q1}");
    let answer = |q: &Value| {
        format!(
            "/api/v1/trades/{id}/clarifications/{}/answer",
            q["id"].as_str().unwrap_or_default()
        )
    };
    let (status, body) = app
        .post(
            &answer(&q1),
            Some(&officer.token),
            &json!({"answer": "不可以。"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["trade"]["bid_deadline"], json!(rfc3339(deadline)));

    // Answered 13 days ahead: the deadline moves to 15 days after the answer (第二十一条).
    let (_, q2) = app
        .post(
            &ask,
            Some(&bidder.token),
            &json!({"question": "钢材规格以哪版图纸为准？"}),
        )
        .await;
    app.clock.advance(Duration::days(12));
    let answered_at = app.clock_now();
    let (status, body) = app
        .post(
            &answer(&q2),
            Some(&officer.token),
            &json!({"answer": "以第二版为准。"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let moved = answered_at + Duration::days(15);
    assert_eq!(body["trade"]["bid_deadline"], json!(rfc3339(moved)));
    let (status, body) = app
        .post(
            &answer(&q2),
            Some(&officer.token),
            &json!({"answer": "again"}),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "clarification_already_answered")
    );

    let (_, public) = app.get(&format!("/api/v1/trades/{id}"), None).await;
    assert_eq!(public["bid_deadline"], json!(rfc3339(moved)));
    assert_eq!(public["clarifications"].as_array().map(Vec::len), Some(2));
    assert!(
        !public.to_string().contains(&bidder.id()),
        "the asker is never shown"
    );
    let (_, events) = app.get("/api/v1/events?after=0&limit=1000", None).await;
    let extended: Vec<&Value> = events["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["entry"]["kind"] == "trade.deadline_extended")
        .collect();
    assert_eq!(extended.len(), 1);
    assert_eq!(
        extended[0]["entry"]["data"]["bid_deadline"],
        json!(rfc3339(moved))
    );
    assert!(extended[0]["entry"]["data"]["article"]
        .as_str()
        .unwrap_or_default()
        .contains("第二十一条"));

    // Only bidders ask, only officers answer, and nothing after the deadline.
    let (status, _) = app
        .post(&ask, Some(&officer.token), &json!({"question": "?"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.clock.set(moved);
    let (status, body) = app
        .post(
            &ask,
            Some(&bidder.token),
            &json!({"question": "还能问吗？"}),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "after_deadline")
    );
}

async fn the_public_listing_filters_and_pages(backend: Backend) {
    let app = spawn_app(backend).await;
    let (officer, custodians) = app.officer_and_committee().await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(app.published_trade(&officer, &custodians).await);
        app.clock.advance(Duration::seconds(1));
    }
    let mut elsewhere = app.tender_terms(&custodians);
    elsewhere["region_code"] = json!("640100");
    elsewhere["kind"] = json!("government_procurement");
    let (status, draft) = app
        .post("/api/v1/trades", Some(&officer.token), &elsewhere)
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let (_, all) = app.get("/api/v1/trades", None).await;
    assert_eq!(
        all["trades"].as_array().map(Vec::len),
        Some(3),
        "drafts are not listed publicly"
    );
    let (_, officers) = app
        .get("/api/v1/trades?status=draft", Some(&officer.token))
        .await;
    assert_eq!(officers["trades"][0]["id"], draft["id"]);

    let (_, region) = app
        .get(
            "/api/v1/trades?region=650000&kind=construction_tender",
            None,
        )
        .await;
    assert_eq!(region["trades"].as_array().map(Vec::len), Some(3));
    let (_, other) = app.get("/api/v1/trades?region=640000", None).await;
    assert_eq!(other["trades"].as_array().map(Vec::len), Some(0));

    let (_, page1) = app.get("/api/v1/trades?limit=2", None).await;
    assert_eq!(page1["trades"][0]["id"], json!(ids[2]), "newest first");
    let cursor = page1["next_cursor"].as_str().unwrap_or_default().to_owned();
    let (_, page2) = app
        .get(&format!("/api/v1/trades?limit=2&cursor={cursor}"), None)
        .await;
    assert_eq!(page2["trades"].as_array().map(Vec::len), Some(1));
    assert_eq!(page2["trades"][0]["id"], json!(ids[0]));
    assert!(page2["next_cursor"].is_null());

    let (status, body) = app.get("/api/v1/trades?cursor=%%%", None).await;
    assert!(status.is_client_error(), "{body}");
    let (status, body) = app.get("/api/v1/trades?region=65", None).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_query")
    );
    let (status, body) = app.get("/api/v1/trades?limit=1000", None).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_limit")
    );

    // Publication dates: `from` included, `to` not.
    let (_, second) = app.get(&format!("/api/v1/trades/{}", ids[1]), None).await;
    let published = second["published_at"].as_str().unwrap_or_default();
    let at = urlencoding(published);
    let (_, since) = app.get(&format!("/api/v1/trades?from={at}"), None).await;
    let since: Vec<&Value> = since["trades"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| &t["id"])
        .collect();
    assert_eq!(since, [&json!(ids[2]), &json!(ids[1])]);
    let (_, before) = app.get(&format!("/api/v1/trades?to={at}"), None).await;
    assert_eq!(before["trades"].as_array().map(Vec::len), Some(1));
    assert_eq!(before["trades"][0]["id"], json!(ids[0]));
    let (status, body) = app.get("/api/v1/trades?from=yesterday", None).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_query")
    );

    // The rulebook the filters offer is public.
    let (status, rulebook) = app.get("/api/v1/rulebook", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rulebook["version"], all["trades"][0]["rulebook_version"]);
    assert!(rulebook["procedures"].as_array().is_some_and(|p| p
        .iter()
        .any(|p| p["kind"] == "construction_tender" && p["procedure"] == "open_tender")));
    // So is its exact text, which a prefecture loads as the region's unified rules.
    let source = app
        .http
        .get(app.url("/api/v1/rulebook/source"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(source.status(), StatusCode::OK);
    let digest = source.headers()["x-rulebook-sha256"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    let text = source.bytes().await.unwrap_or_default();
    assert_eq!(digest, tradehall::crypto::digest::sha256_hex(&text));
    assert_eq!(all["trades"][0]["rulebook_sha256"], json!(digest));

    // The calendar's question: what opens in a window. A tender opens at its deadline, a
    // sale when its bidding starts (not at its applications' cut-off).
    let (_, second) = app.get(&format!("/api/v1/trades/{}", ids[1]), None).await;
    let opens =
        chrono::DateTime::parse_from_rfc3339(second["bid_deadline"].as_str().unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}: {second}"));
    let window =
        |from: &str, to: &str| format!("/api/v1/trades?opening_from={from}&opening_to={to}");
    let (_, one) = app
        .get(
            &window(
                &rfc3339(opens.into()),
                &rfc3339((opens + Duration::seconds(1)).into()),
            ),
            None,
        )
        .await;
    let listed: Vec<&Value> = one["trades"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| &t["id"])
        .collect();
    assert_eq!(listed, [&json!(ids[1])], "{one}");
    let sale = app
        .published_trade_with(
            &officer,
            &crate::live::with(
                crate::live::listing(&app, &custodians),
                "/live/starts_at",
                json!("2026-12-18T02:00:00Z"),
            ),
        )
        .await;
    let (_, starts) = app
        .get(
            &window("2026-12-18T00:00:00Z", "2026-12-19T00:00:00Z"),
            None,
        )
        .await;
    assert_eq!(starts["trades"][0]["id"], json!(sale), "{starts}");
    assert_eq!(
        starts["trades"].as_array().map(Vec::len),
        Some(1),
        "{starts}"
    );
    let (_, cut_off) = app
        .get(
            &window("2026-12-30T00:00:00Z", "2027-01-01T00:00:00Z"),
            None,
        )
        .await;
    assert_eq!(cut_off["trades"], json!([]), "{cut_off}");
    let (status, body) = app.get("/api/v1/trades?opening_from=tomorrow", None).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_query")
    );
}

fn urlencoding(text: &str) -> String {
    text.replace('+', "%2B").replace(':', "%3A")
}

async fn bad_input_gets_a_coded_4xx_and_never_a_500(backend: Backend) {
    let app = spawn_app(backend).await;
    let (officer, custodians) = app.officer_and_committee().await;
    let token = officer.token.clone();
    let raw = |body: String| {
        app.http
            .post(app.url("/api/v1/trades"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let resp = raw("{\"kind\": ".into())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        code(&resp.json().await.unwrap_or_default()),
        "malformed_json"
    );

    let cases: Vec<(&str, Value, &str)> = vec![
        ("unknown field", json!({"surprise": 1}), "invalid_field"),
        (
            "negative money",
            json!({"bond_amount": -1}),
            "invalid_field",
        ),
        (
            "fractional money",
            json!({"estimated_value": 100.5}),
            "invalid_field",
        ),
        (
            "money as text",
            json!({"estimated_value": "100"}),
            "invalid_field",
        ),
        ("bad region", json!({"region_code": "65"}), "invalid_field"),
        (
            "bad principal usci",
            json!({"principal": {"name": "x", "usci": "91650100BUYER00010"}}),
            "invalid_field",
        ),
        (
            "bad date",
            json!({"bid_deadline": "next tuesday"}),
            "invalid_field",
        ),
        (
            "deadline in the past",
            json!({"bid_deadline": rfc3339(app.clock_now() - Duration::days(1))}),
            "deadline_not_in_future",
        ),
        (
            "lots not adding up",
            json!({"lots": [{"id": "1", "title": "x", "estimated_value": 1}]}),
            "invalid_lots",
        ),
        (
            "duplicate lots",
            json!({"lots": [
            {"id": "1", "title": "x", "estimated_value": 5_000_000_000_i64},
            {"id": "1", "title": "y", "estimated_value": 5_000_000_000_i64}]}),
            "invalid_lots",
        ),
        (
            "threshold above n",
            json!({"committee": {"custodians": custodians, "threshold": 4}}),
            "invalid_committee",
        ),
        (
            "custodian not a custodian",
            json!({"committee": {"custodians": [officer.id(), custodians[0], custodians[1]], "threshold": 2}}),
            "invalid_committee",
        ),
        (
            "unknown kind",
            json!({"kind": "fishing_rights"}),
            "unknown_kind",
        ),
        (
            "unknown procedure",
            json!({"procedure": "auction"}),
            "unknown_procedure",
        ),
        (
            "a live procedure with sealed-bid terms",
            json!({"kind": "land_use_right", "procedure": "listing"}),
            "invalid_live_terms",
        ),
        ("empty title", json!({"title": "  "}), "invalid_title"),
    ];
    for (what, patch, expected) in cases {
        let mut terms = app.tender_terms(&custodians);
        if let (Some(t), Some(p)) = (terms.as_object_mut(), patch.as_object()) {
            for (k, v) in p {
                t.insert(k.clone(), v.clone());
            }
        }
        let (status, body) = app
            .post("/api/v1/trades", Some(&officer.token), &terms)
            .await;
        assert!(status.is_client_error(), "{what}: {status} {body}");
        assert_eq!(code(&body), expected, "{what}: {body}");
    }

    let (status, body) = app.get("/api/v1/trades/not-a-uuid", None).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_id")
    );
    let (status, body) = app
        .get(&format!("/api/v1/trades/{}", uuid::Uuid::new_v4()), None)
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::NOT_FOUND, "trade_not_found")
    );
    let (status, body) = app.get("/api/v1/documents/xyz", None).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_id")
    );
    let (status, body) = app.get("/api/v1/nowhere", None).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::NOT_FOUND, "route_not_found")
    );
    let (status, body) = app.get("/api/v1/events?after=-1", None).await;
    assert!(status.is_client_error(), "{body}");

    // Limits: JSON bodies (64 KiB in tests) and documents (1 MiB in tests).
    let mut huge = app.tender_terms(&custodians);
    huge["title"] = json!("长".repeat(40_000));
    let (status, body) = app
        .post("/api/v1/trades", Some(&officer.token), &huge)
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large")
    );
    let (_, draft) = app
        .post(
            "/api/v1/trades",
            Some(&officer.token),
            &app.tender_terms(&custodians),
        )
        .await;
    let id = draft["id"].as_str().unwrap_or_default();
    let (status, body) = app
        .upload(&officer.token, id, "big.pdf", &vec![0u8; 1024 * 1024 + 1])
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large")
    );
    let (status, _) = app
        .upload(&officer.token, id, "ok.pdf", &vec![1u8; 1024 * 1024])
        .await;
    assert_eq!(status, StatusCode::CREATED);

    // Without a token nothing changes.
    let (status, body) = app
        .post("/api/v1/trades", None, &app.tender_terms(&custodians))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    let _ = usci("91650100BUYER0001");
}

async fn demo_acceleration_is_refused_outside_demo_mode_and_marks_its_trades(backend: Backend) {
    let app = spawn_app(backend).await;
    let (officer, custodians) = app.officer_and_committee().await;
    let mut terms = app.tender_terms(&custodians);
    // 20 statutory days at 1440× are 20 minutes.
    terms["bid_deadline"] = json!(rfc3339(app.clock_now() + Duration::minutes(21)));
    let (status, body) = app
        .post("/api/v1/trades", Some(&officer.token), &terms)
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "rule_violation")
    );
    let (status, body) = app
        .post(
            "/api/v1/trades?demo_time_scale=1440",
            Some(&officer.token),
            &terms,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        (body["demo"].clone(), body["time_scale"].clone()),
        (json!(true), json!(1440))
    );

    // The same request to a platform that is not in demo mode.
    let p = &app.platform;
    let production = tradehall::engine::Platform {
        store: p.store.clone(),
        reads: p.reads.clone(),
        clock: p.clock.clone(),
        rulebook: p.rulebook.clone(),
        calendar: p.calendar.clone(),
        trust: p.trust.clone(),
        platform_key: p.platform_key.clone(),
        settings: tradehall::engine::Settings {
            demo_mode: false,
            ..p.settings.clone()
        },
        openings: Default::default(),
        intake: Default::default(),
        checkpoints: Default::default(),
        feed: Default::default(),
        known_bests: Default::default(),
        quoting_cache: Default::default(),
        sessions: Default::default(),
        standing: Default::default(),
        quote_writer: Default::default(),
    };
    let identity = p
        .store
        .identity(&officer.id())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let caller = tradehall::engine::Caller {
        identity,
        ..Default::default()
    };
    let terms = serde_json::from_value(terms).unwrap_or_else(|e| panic!("{e}"));
    let refused = production
        .create_trade(
            &caller,
            tradehall::engine::NewTrade {
                terms,
                time_scale: Some(1440),
            },
        )
        .await;
    assert!(
        matches!(
            refused,
            Err(tradehall::engine::EngineError::DemoModeRequired)
        ),
        "{refused:?}"
    );
}

/// A change notice (变更公告) replaces and adds documents in public; the replaced version
/// stays downloadable; a notice after the clarification cut-off moves the deadline; each
/// bidder sees which versions it downloaded and what changed since, and nobody else does.
async fn a_change_notice_replaces_documents_and_tells_each_bidder_what_changed(backend: Backend) {
    use base64::Engine as _;
    let app = spawn_app(backend).await;
    let (officer, custodians) = app.officer_and_committee().await;
    let id = app.published_trade(&officer, &custodians).await;
    let deadline = app.clock_now() + Duration::days(25);
    let (reader, bystander) = (app.user("bidder").await, app.user("bidder").await);
    let v1 = tradehall::crypto::digest::sha256_hex(b"%PDF-1.7 tender documents");
    let mine = |token: &str| {
        let path = format!("/api/v1/trades/{id}/downloads/mine");
        let token = token.to_owned();
        let app = &app;
        async move {
            let (status, body) = app.get(&path, Some(&token)).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            body
        }
    };
    let download = |sha: String, token: Option<String>| {
        let app = &app;
        async move {
            let mut request = app.http.get(app.url(&format!("/api/v1/documents/{sha}")));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let answer = request.send().await.unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(answer.status(), StatusCode::OK);
            answer.bytes().await.unwrap_or_default().to_vec()
        }
    };
    download(v1.clone(), Some(reader.token.clone())).await;
    let before = mine(&reader.token).await;
    assert_eq!(before["documents"][0]["sha256"], json!(v1));
    assert!(
        before["documents"][0]["downloaded_at"].is_string(),
        "{before}"
    );
    assert_eq!(before["documents"][0]["outdated"], json!(false));
    assert_eq!(before["notices_since_download"], json!([]));

    // A day later, 24 days before the deadline: the notice replaces the documents and adds
    // the bill of quantities; the deadline stays.
    app.clock.advance(Duration::days(1));
    let notices = format!("/api/v1/trades/{id}/notices");
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let first = json!({
        "notice": "第三章技术要求第2.1条修改为：路面结构层厚度不小于18厘米。",
        "documents": [
            {"name": "招标文件.pdf", "media_type": "application/pdf", "content": b64(b"%PDF-1.7 tender documents, v2")},
            {"name": "工程量清单.xlsx", "content": b64(b"PK bill of quantities")},
        ],
    });
    let (status, body) = app.post(&notices, Some(&officer.token), &first).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let v2 = tradehall::crypto::digest::sha256_hex(b"%PDF-1.7 tender documents, v2");
    assert_eq!(body["notice"]["number"], json!(1));
    assert_eq!(body["notice"]["new_deadline"], Value::Null);
    assert_eq!(body["trade"]["bid_deadline"], json!(rfc3339(deadline)));
    let (_, public) = app.get(&format!("/api/v1/trades/{id}"), None).await;
    let current: Vec<(&str, &str)> = public["documents"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            (
                d["name"].as_str().unwrap_or(""),
                d["sha256"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(current.len(), 2, "{public}");
    assert!(
        current.contains(&("招标文件.pdf", v2.as_str())),
        "{current:?}"
    );
    let changed = &public["notices"][0]["documents"];
    let replaced = changed
        .as_array()
        .into_iter()
        .flatten()
        .find(|d| d["name"] == "招标文件.pdf")
        .unwrap_or_else(|| panic!("{changed}"));
    assert_eq!(replaced["previous_sha256"], json!(v1));
    assert_eq!(
        download(v1.clone(), None).await,
        b"%PDF-1.7 tender documents",
        "the replaced version stays downloadable"
    );

    // The bidder that read v1 is told; the one that downloaded nothing has nothing to catch
    // up on; and the public trade says nothing about who downloaded what.
    let after = mine(&reader.token).await;
    let standing = |body: &Value, name: &str| -> Value {
        body["documents"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|d| d["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} in {body}"))
    };
    assert_eq!(standing(&after, "招标文件.pdf")["outdated"], json!(true));
    assert_eq!(
        standing(&after, "招标文件.pdf")["downloaded_at"],
        Value::Null
    );
    assert_eq!(
        standing(&after, "工程量清单.xlsx")["outdated"],
        json!(false)
    );
    assert_eq!(after["notices_since_download"][0]["number"], json!(1));
    let other = mine(&bystander.token).await;
    assert_eq!(other["first_download"], Value::Null);
    assert_eq!(other["notices_since_download"], json!([]));
    assert_eq!(standing(&other, "招标文件.pdf")["outdated"], json!(false));
    assert!(!public.to_string().contains(&reader.id()), "{public}");
    download(v2.clone(), Some(reader.token.clone())).await;
    let caught_up = mine(&reader.token).await;
    assert_eq!(
        standing(&caught_up, "招标文件.pdf")["outdated"],
        json!(false)
    );
    assert!(standing(&caught_up, "招标文件.pdf")["downloaded_at"].is_string());

    // Refusals: the same bytes again, an empty text, bytes that are not base64, a bidder.
    let same = json!({"notice": "重发", "documents": [{"name": "招标文件.pdf", "content": b64(b"%PDF-1.7 tender documents, v2")}]});
    for (body, status, expected) in [
        (same, StatusCode::UNPROCESSABLE_ENTITY, "document_unchanged"),
        (
            json!({"notice": "  "}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_notice",
        ),
        (
            json!({"notice": "x", "documents": [{"name": "a.pdf", "content": "%%%"}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_base64",
        ),
    ] {
        let (got, answer) = app.post(&notices, Some(&officer.token), &body).await;
        assert_eq!((got, code(&answer)), (status, expected), "{answer}");
    }
    let (status, _) = app
        .post(&notices, Some(&reader.token), &json!({"notice": "x"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Twelve days later, 12 days before the deadline and inside the 15-day cut-off: the
    // notice moves the deadline to 15 days after it (实施条例 第二十一条), in the log too.
    app.clock.advance(Duration::days(12));
    let issued_at = app.clock_now();
    let (status, body) = app
        .post(
            &notices,
            Some(&officer.token),
            &json!({"notice": "开标地点变更为第二开标室。"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let moved = issued_at + Duration::days(15);
    assert_eq!(body["notice"]["number"], json!(2));
    assert_eq!(body["notice"]["new_deadline"], json!(rfc3339(moved)));
    assert_eq!(body["trade"]["bid_deadline"], json!(rfc3339(moved)));
    let (_, events) = app.get("/api/v1/events?after=0&limit=1000", None).await;
    let kinds: Vec<&str> = events["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["entry"]["kind"].as_str())
        .filter(|k| ["trade.notice_issued", "trade.deadline_extended"].contains(k))
        .collect();
    assert_eq!(
        kinds,
        [
            "trade.notice_issued",
            "trade.notice_issued",
            "trade.deadline_extended"
        ]
    );

    // Nothing after the deadline.
    app.clock.set(moved);
    let (status, body) = app
        .post(
            &notices,
            Some(&officer.token),
            &json!({"notice": "迟到的变更"}),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "after_deadline")
    );
}

/// The announcement's words (项目概况, 资格要求, 联系方式) are stored as the centre wrote them,
/// trimmed, and published with the trade; each field is held to its form, and a parcel
/// belongs to the sale of a right, never to a tender.
async fn an_announcement_says_its_project_in_words_held_to_their_form(backend: Backend) {
    let app = spawn_app(backend).await;
    let (officer, custodians) = app.officer_and_committee().await;
    let token = Some(officer.token.as_str());
    let words = json!({
        "overview": "  河滩路改造工程，全长 3.2 公里。\n招标范围：道路、桥梁。 ",
        "qualifications": "具备市政公用工程施工总承包二级及以上资质。",
        "contact": {"name": "城投集团招标办 王工", "phone": "0991-4567890"}
    });
    let mut terms = app.tender_terms(&custodians);
    terms["announcement"] = words.clone();
    let id = app.published_trade_with(&officer, &terms).await;
    let (status, trade) = app.get(&format!("/api/v1/trades/{id}"), None).await;
    assert_eq!(status, StatusCode::OK, "{trade}");
    assert_eq!(
        trade["announcement"],
        json!({
            "overview": "河滩路改造工程，全长 3.2 公里。\n招标范围：道路、桥梁。",
            "qualifications": "具备市政公用工程施工总承包二级及以上资质。",
            "contact": {"name": "城投集团招标办 王工", "phone": "0991-4567890"}
        }),
        "{trade}"
    );
    // A trade without them has none.
    let plain = app.published_trade(&officer, &custodians).await;
    let (_, trade) = app.get(&format!("/api/v1/trades/{plain}"), None).await;
    assert_eq!(trade.get("announcement"), None, "{trade}");

    let parcel =
        json!({"location": "天山区", "area_m2": "42000", "land_use": "住宅用地", "term_years": 70});
    for (patch, expect) in [
        (json!({"parcel": parcel}), "invalid_announcement"),
        (
            json!({"contact": {"name": "王工", "phone": "call me"}}),
            "invalid_announcement",
        ),
        (
            json!({"overview": "坏\u{1b}[31m字"}),
            "invalid_announcement",
        ),
        (
            json!({"overview": "长".repeat(4001)}),
            "invalid_announcement",
        ),
        (json!({"budget": 1}), "invalid_field"),
    ] {
        let mut terms = app.tender_terms(&custodians);
        terms["announcement"] = patch.clone();
        let (status, body) = app.post("/api/v1/trades", token, &terms).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNPROCESSABLE_ENTITY, expect),
            "{patch}: {body}"
        );
    }
}

crate::on_both_backends!(
    an_announcement_says_its_project_in_words_held_to_their_form,
    a_trade_that_breaks_a_statutory_rule_is_refused_naming_the_rule,
    publication_is_held_to_the_rules_at_the_moment_it_happens,
    a_clarification_answered_after_the_cutoff_pushes_the_deadline,
    a_change_notice_replaces_documents_and_tells_each_bidder_what_changed,
    the_public_listing_filters_and_pages,
    bad_input_gets_a_coded_4xx_and_never_a_500,
    demo_acceleration_is_refused_outside_demo_mode_and_marks_its_trades,
);

/// With `--read-database-url`, the public listing, search and open data come from the
/// replica, and anyone signed in reads the primary (their own writes). The "replica" here
/// is another platform's database, so the test sees which one answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_reads_come_from_the_read_replica_and_signed_in_reads_from_the_primary() {
    let replica = spawn_app(Backend::Postgres).await;
    let (officer, committee) = replica.officer_and_committee().await;
    let on_replica = replica.published_trade(&officer, &committee).await;
    let replica_url = replica.database_url.clone();
    let app =
        crate::helpers::spawn_app_with(Backend::Postgres, tradehall::config::Mode::Demo, |args| {
            args.read_database_url = Some(replica_url);
        })
        .await;
    let (officer, committee) = app.officer_and_committee().await;
    let on_primary = app.published_trade(&officer, &committee).await;
    let ids = |body: &Value, list: &str| -> Vec<String> {
        body[list]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| {
                t["id"]
                    .as_str()
                    .or(t["trade_id"].as_str())
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    };

    let (status, public) = app.get("/api/v1/trades", None).await;
    assert_eq!(status, StatusCode::OK, "{public}");
    assert_eq!(ids(&public, "trades"), vec![on_replica.clone()]);
    let (_, own) = app.get("/api/v1/trades", Some(&officer.token)).await;
    assert_eq!(ids(&own, "trades"), vec![on_primary.clone()]);
    // A single trade is always read from the primary.
    let (status, _) = app.get(&format!("/api/v1/trades/{on_primary}"), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, found) = app.get("/api/v1/search?q=%E6%96%BD%E5%B7%A5", None).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert!(
        found.to_string().contains(&on_replica) && !found.to_string().contains(&on_primary),
        "search reads the replica: {found}"
    );
}
