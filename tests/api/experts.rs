//! The expert pool (ADR 0013): experts state their specialties and conflicts, the
//! profile stays sealed in the public log, the trading centre reads the pool (a logged
//! read), and a draw over the pool honours the declared conflicts.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{code, Backend, TestApp, User};
use tradehall::domain::expert_draw::{draw, DrawRequest, Excluded};

crate::on_both_backends!(experts_state_their_profiles_and_the_centre_reads_the_pool);

async fn put_profile(app: &TestApp, who: &User, profile: &Value) -> (StatusCode, Value) {
    let resp = app
        .http
        .put(app.url("/api/v1/experts/me"))
        .bearer_auth(&who.token)
        .json(profile)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn experts_state_their_profiles_and_the_centre_reads_the_pool(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let (first, second) = (app.user("expert").await, app.user("expert").await);
    let bidder = app.user("bidder").await;
    let officer = app.user("trading_centre").await;
    let bidder_usci = bidder.identity["usci"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    let (status, body) = put_profile(
        &app,
        &first,
        &json!({ "specialties": ["road", "bridge", "road"], "conflicts": [bidder_usci] }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["specialties"], json!(["bridge", "road"]));
    let (status, body) = put_profile(&app, &second, &json!({ "specialties": ["road"] })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, mine) = app.get("/api/v1/experts/me", Some(&first.token)).await;
    assert_eq!(mine["conflicts"], json!([bidder_usci]), "{mine}");

    // Bad profiles, and anyone but an expert, are refused.
    for bad in [
        json!({ "specialties": [] }),
        json!({ "specialties": ["Road"] }),
        json!({ "specialties": ["road"], "conflicts": ["not-a-usci"] }),
    ] {
        let (status, body) = put_profile(&app, &first, &bad).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_profile"),
            "{bad}"
        );
    }
    let (status, _) = put_profile(&app, &bidder, &json!({ "specialties": ["road"] })).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The public log holds only a commitment to each profile.
    let (_, events) = app.get("/api/v1/events?after=0&limit=1000", None).await;
    let profiles: Vec<&Value> = events["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["entry"]["kind"] == "expert.profile")
        .collect();
    assert_eq!(profiles.len(), 2);
    assert!(
        !profiles[0].to_string().contains("bridge"),
        "{}",
        profiles[0]
    );

    // The centre reads the pool; a bidder may not.
    let (status, _) = app.get("/api/v1/experts", Some(&bidder.token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, pool) = app.get("/api/v1/experts", Some(&officer.token)).await;
    assert_eq!(status, StatusCode::OK, "{pool}");
    let entries: Vec<tradehall::store::experts::PoolEntry> = app
        .platform
        .store
        .expert_pool()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(pool["experts"].as_array().map(Vec::len), Some(2), "{pool}");

    // A draw for a trade the bidder bids in leaves out the expert in conflict with it.
    let experts: Vec<_> = entries
        .iter()
        .map(tradehall::store::experts::PoolEntry::for_draw)
        .collect();
    let request = DrawRequest {
        specialty: "road".into(),
        experts: 1,
        avoid: vec![bidder_usci],
    };
    let drawn = draw(&[9; 32], &experts, &request).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(drawn.experts, vec![second.id()]);
    assert_eq!(
        drawn.excluded,
        vec![(first.id(), Excluded::DeclaredConflict)]
    );
}
