//! Risk alerts end to end: the rules run at the opening, alerts reach the supervisors'
//! feed, and supervisors of the trade's region take them through the workflow, each step
//! logged. (Each rule firing and staying silent is checked in `src/domain/risk/`.)

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::feed::{connect, message};
use crate::helpers::{code, put_bid, Backend};
use crate::opening::round;

crate::on_both_backends!(alerts_reach_supervisors_and_follow_the_workflow);

async fn alerts_reach_supervisors_and_follow_the_workflow(backend: Backend) {
    let r = round(backend).await;
    let app = &r.app;
    let city = app.supervisor_of("650100").await;
    let colleague = app.supervisor_of("650100").await;
    let other_city = app.supervisor_of("650200").await;
    let a = app.user("bidder").await;
    let b = app.user("bidder").await;
    // c's certificate is over a's key pair: one holder acts for both.
    let c = app.user_with_key("bidder", &a.key_pkcs8).await;
    // a and b attach the very same file; every test client shares 127.0.0.1. Prices are
    // neither close, nor regular, nor abnormally low.
    let same = b"%PDF-1.7 same technical proposal".to_vec();
    for (bidder, price, file) in [
        (&a, 9_870_000_001, Some(same.as_slice())),
        (&b, 9_650_000_002, Some(same.as_slice())),
        (&c, 9_990_000_003, None),
    ] {
        let envelope = r.seal_with_file(bidder, price, &["1"], file);
        let (status, body) = put_bid(app, &bidder.token, &r.trade, envelope).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let head =
        i64::try_from(app.platform.store.log_size().await.unwrap_or_default()).unwrap_or_default();
    let mut feed = connect(app, Some(&city.token), &format!("after={head}")).await;
    app.clock.set(r.deadline + chrono::Duration::seconds(1));
    for i in 0..2 {
        let (status, body) = r.contribute(i).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    // The alerts arrive on the city supervisor's feed with their detail.
    let mut raised = Vec::new();
    while raised.len() < 3 {
        let m = message(&mut feed).await;
        if m["entry"]["kind"] == "alert.raised" {
            raised.push(m);
        }
    }
    let mut rules: Vec<String> = raised
        .iter()
        .map(|m| {
            let detail: Value =
                serde_json::from_str(m["private"]["sealed"]["alert"].as_str().unwrap_or("null"))
                    .unwrap_or_default();
            assert_eq!(detail["trade"], r.trade.as_str(), "{m}");
            assert_eq!(
                m["entry"]["trade"],
                Value::Null,
                "the public entry hides the trade"
            );
            detail["rule"]["id"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    rules.sort();
    assert_eq!(
        rules,
        [
            "identical_files",
            "same_client_address",
            "shared_certificate_key"
        ]
    );
    // The public sees only that alerts were raised.
    let (_, public) = app
        .get(&format!("/api/v1/events?after={head}&limit=1000"), None)
        .await;
    let text = public.to_string();
    assert!(
        !text.contains("identical_files") && !text.contains(&a.id()),
        "{text}"
    );

    // Listing: the city's supervisors see them, the other city's none, bidders may not.
    let (status, listed) = app.get("/api/v1/alerts", Some(&city.token)).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    let alerts = listed["alerts"].as_array().cloned().unwrap_or_default();
    assert_eq!(alerts.len(), 3);
    assert!(alerts
        .iter()
        .all(|x| x["status"] == "open" && x["region_code"] == "650100"));
    let files = alerts
        .iter()
        .find(|x| x["rule"] == "identical_files")
        .unwrap_or_else(|| panic!("no identical_files alert"));
    assert_eq!(files["severity"], "red");
    let mut subjects: Vec<&str> = files["finding"]["subjects"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    subjects.sort_unstable();
    let mut expected = vec![
        a.identity["usci"].as_str().unwrap_or_default(),
        b.identity["usci"].as_str().unwrap_or_default(),
    ];
    expected.sort_unstable();
    assert_eq!(subjects, expected);
    let key = alerts
        .iter()
        .find(|x| x["rule"] == "shared_certificate_key")
        .unwrap_or_else(|| panic!("no shared_certificate_key alert"));
    let mut holders: Vec<&str> = key["finding"]["subjects"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    holders.sort_unstable();
    let mut expected = vec![
        a.identity["usci"].as_str().unwrap_or_default(),
        c.identity["usci"].as_str().unwrap_or_default(),
    ];
    expected.sort_unstable();
    assert_eq!(holders, expected, "{key}");
    let (_, red) = app
        .get(
            "/api/v1/alerts?severity=red&rule=identical_files",
            Some(&city.token),
        )
        .await;
    assert_eq!(red["alerts"].as_array().map(Vec::len), Some(1));
    let (_, none) = app.get("/api/v1/alerts", Some(&other_city.token)).await;
    assert_eq!(none["alerts"], json!([]));
    let (status, _) = app.get("/api/v1/alerts", Some(&a.token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = app
        .get("/api/v1/alerts?severity=purple", Some(&city.token))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_query")
    );

    // 预警 → 分办 → 处置 → 反馈.
    let id = files["id"].as_str().unwrap_or_default();
    let step = |path: &'static str, token: String, body: Value| {
        let path = format!("/api/v1/alerts/{id}/{path}");
        async move { app.post(&path, Some(&token), &body).await }
    };
    let (status, body) = step(
        "assign",
        city.token.clone(),
        json!({ "note": "" , "assignee": colleague.id() }),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_note")
    );
    let (status, body) = step(
        "assign",
        city.token.clone(),
        json!({ "note": "转交核查", "assignee": other_city.id() }),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_assignee")
    );
    let (status, body) = step("close", city.token.clone(), json!({ "note": "结束" })).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "alert_status")
    );
    let (status, body) = step(
        "assign",
        city.token.clone(),
        json!({ "note": "请核查两家投标文件", "assignee": colleague.id() }),
    )
    .await;
    assert_eq!(
        (status, body["status"].clone()),
        (StatusCode::OK, json!("assigned")),
        "{body}"
    );
    let (status, _) = step("handle", city.token.clone(), json!({ "note": "不是我的" })).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only the assignee handles");
    let (status, body) = step(
        "handle",
        colleague.token.clone(),
        json!({ "note": "约谈两家投标人, 确认文件出自同一代理" }),
    )
    .await;
    assert_eq!(
        (status, body["status"].clone()),
        (StatusCode::OK, json!("handled")),
        "{body}"
    );
    let (status, body) = step(
        "close",
        city.token.clone(),
        json!({ "note": "移交行政处罚" }),
    )
    .await;
    assert_eq!(
        (status, body["status"].clone()),
        (StatusCode::OK, json!("closed")),
        "{body}"
    );
    let history: Vec<&str> = body["history"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|h| h["step"].as_str())
        .collect();
    assert_eq!(history, ["assign", "handle", "close"]);
    let (status, _) = step(
        "handle",
        colleague.token.clone(),
        json!({ "note": "again" }),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = app
        .get(&format!("/api/v1/alerts/{id}"), Some(&other_city.token))
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "outside the region an alert does not exist"
    );

    // Every step and every read is in the log.
    let (_, log) = app
        .get(&format!("/api/v1/events?after={head}&limit=1000"), None)
        .await;
    let kinds: Vec<&str> = log["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["entry"]["kind"].as_str())
        .collect();
    for kind in [
        "alert.assigned",
        "alert.handled",
        "alert.closed",
        "confidential.read",
    ] {
        assert!(kinds.contains(&kind), "{kind} is not logged: {kinds:?}");
    }
}
