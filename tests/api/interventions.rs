//! Interventions (电子招标投标办法 第52条): a supervisor of the trade's region suspends,
//! resumes or terminates it with a reason; a suspended trade refuses bids, withdrawals,
//! questions and contributions; resuming moves the deadline, or a running opening
//! window, by the time it was suspended.

use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{code, put_bid, Backend};
use crate::opening::round;

crate::on_both_backends!(
    suspending_stops_a_trade_and_resuming_shifts_its_deadline,
    a_suspension_during_the_opening_shifts_the_window_and_termination_is_final,
);

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {v}"))
        .with_timezone(&Utc)
}

async fn suspending_stops_a_trade_and_resuming_shifts_its_deadline(backend: Backend) {
    let r = round(backend).await;
    let app = &r.app;
    let city = app.supervisor_of("650100").await;
    let other_city = app.supervisor_of("650200").await;
    let bidder = app.user("bidder").await;
    r.bid(&bidder, 9_870_000_001).await;
    let suspend = format!("/api/v1/trades/{}/suspend", r.trade);
    let resume = format!("/api/v1/trades/{}/resume", r.trade);
    let reason = json!({ "reason": "接到投诉, 暂停核查" });

    // Only a supervisor of the trade's region, and only with a reason.
    let (status, _) = app.post(&suspend, Some(&bidder.token), &reason).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.post(&suspend, Some(&other_city.token), &reason).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = app
        .post(&suspend, Some(&city.token), &json!({ "reason": " " }))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_reason")
    );
    let (status, body) = app.post(&resume, Some(&city.token), &reason).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "trade_not_suspended")
    );

    app.clock.advance(Duration::hours(1));
    let (status, trade) = app.post(&suspend, Some(&city.token), &reason).await;
    assert_eq!(
        (status, trade["status"].clone()),
        (StatusCode::OK, json!("suspended")),
        "{trade}"
    );
    let (status, body) = app.post(&suspend, Some(&city.token), &reason).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "trade_suspended")
    );

    // A suspended trade takes nothing.
    let rival = app.user("bidder").await;
    let (status, body) = put_bid(
        app,
        &rival.token,
        &r.trade,
        r.seal(&rival, 9_000_000_000, &["1"]),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "trade_suspended")
    );
    let resp = app
        .http
        .delete(app.url(&format!("/api/v1/trades/{}/bid", r.trade)))
        .bearer_auth(&bidder.token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let body: Value = resp.json().await.unwrap_or_default();
    assert_eq!(code(&body), "trade_suspended");
    let (status, body) = app
        .post(
            &format!("/api/v1/trades/{}/clarifications", r.trade),
            Some(&rival.token),
            &json!({ "question": "何时恢复？" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "trade_suspended")
    );
    // The bid accepted before the suspension is still there.
    let (status, _) = app
        .get(
            &format!("/api/v1/trades/{}/bid", r.trade),
            Some(&bidder.token),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // Resumed after two days and three minutes: the deadline moves by exactly that.
    let suspended_for = Duration::days(2) + Duration::minutes(3);
    app.clock.advance(suspended_for);
    let (status, trade) = app
        .post(&resume, Some(&city.token), &json!({ "reason": "核查完毕" }))
        .await;
    assert_eq!(
        (status, trade["status"].clone()),
        (StatusCode::OK, json!("published")),
        "{trade}"
    );
    assert_eq!(time(&trade["bid_deadline"]), r.deadline + suspended_for);
    assert!(trade["suspended_at"].is_null());
    let (status, body) = put_bid(
        app,
        &rival.token,
        &r.trade,
        r.seal(&rival, 9_000_000_000, &["1"]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // The old deadline has no force any more: a bid after it but before the new one counts.
    app.clock.set(r.deadline + Duration::days(1));
    let late = app.user("bidder").await;
    let (status, body) = put_bid(
        app,
        &late.token,
        &r.trade,
        r.seal(&late, 9_100_000_000, &["1"]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // All of it is public in the log, with the reasons.
    let (_, log) = app.get("/api/v1/events?after=0&limit=1000", None).await;
    let entries: Vec<&Value> = log["events"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| &e["entry"])
        .filter(|e| e["trade"] == r.trade.as_str())
        .collect();
    let suspended = entries
        .iter()
        .find(|e| e["kind"] == "trade.suspended")
        .unwrap_or_else(|| panic!("not logged"));
    assert_eq!(suspended["data"]["reason"], "接到投诉, 暂停核查");
    let resumed = entries
        .iter()
        .find(|e| e["kind"] == "trade.resumed")
        .unwrap_or_else(|| panic!("not logged"));
    assert_eq!(
        resumed["data"]["suspended_ms"],
        suspended_for.num_milliseconds()
    );
}

async fn a_suspension_during_the_opening_shifts_the_window_and_termination_is_final(
    backend: Backend,
) {
    let r = round(backend).await;
    let app = &r.app;
    let region = app.supervisor_of("650000").await;
    for price in [9_870_000_001, 9_650_000_002, 9_990_000_003] {
        let bidder = app.user("bidder").await;
        r.bid(&bidder, price).await;
    }
    app.clock.set(r.deadline + Duration::minutes(10));
    let window =
        time(&serde_json::to_value(r.status().await).unwrap_or_default()["window_ends_at"]);
    let (status, body) = r.contribute(0).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = app
        .post(
            &format!("/api/v1/trades/{}/suspend", r.trade),
            Some(&region.token),
            &json!({ "reason": "开标异常" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = r.contribute(1).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "trade_suspended")
    );
    assert_eq!(r.status().await.phase, "suspended");

    app.clock.advance(Duration::minutes(30));
    let (status, trade) = app
        .post(
            &format!("/api/v1/trades/{}/resume", r.trade),
            Some(&region.token),
            &json!({ "reason": "已排除" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{trade}");
    assert_eq!(
        time(&trade["bid_deadline"]),
        r.deadline,
        "bids stay cut off at the deadline"
    );
    let status_view = serde_json::to_value(r.status().await).unwrap_or_default();
    assert_eq!(
        time(&status_view["window_ends_at"]),
        window + Duration::minutes(30)
    );
    let (status, body) = r.contribute(1).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(r.status().await.phase, "opened");

    // Termination: final, and nothing after it.
    let (officer, custodians) = app.officer_and_committee().await;
    let other = app.published_trade(&officer, &custodians).await;
    let terminate = format!("/api/v1/trades/{other}/terminate");
    let (status, trade) = app
        .post(
            &terminate,
            Some(&region.token),
            &json!({ "reason": "项目取消" }),
        )
        .await;
    assert_eq!(
        (status, trade["status"].clone()),
        (StatusCode::OK, json!("terminated")),
        "{trade}"
    );
    let (status, body) = app
        .post(
            &terminate,
            Some(&region.token),
            &json!({ "reason": "again" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "trade_terminated")
    );
    let (status, body) = app
        .post(
            &format!("/api/v1/trades/{other}/resume"),
            Some(&region.token),
            &json!({ "reason": "恢复" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "trade_not_suspended")
    );
    let (status, body) = app
        .post(
            &format!("/api/v1/trades/{}/suspend", r.trade),
            Some(&region.token),
            &json!({ "reason": "已开标" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "trade_not_active")
    );
}
