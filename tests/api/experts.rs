//! The expert pool (ADR 0013): experts state their specialties and conflicts, the
//! profile stays sealed in the public log, the trading centre reads the pool (a logged
//! read), and a draw over the pool honours the declared conflicts.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{code, Backend, TestApp, User};
use tradehall::domain::expert_draw::{draw, pool_digest, DrawRequest, Drawn, Excluded, PoolExpert};

crate::on_both_backends!(
    experts_state_their_profiles_and_the_centre_reads_the_pool,
    an_opened_trades_experts_are_drawn_once_and_the_draw_reruns
);

pub(crate) async fn put_profile(app: &TestApp, who: &User, profile: &Value) -> (StatusCode, Value) {
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

async fn an_opened_trades_experts_are_drawn_once_and_the_draw_reruns(backend: Backend) {
    let r = crate::opening::round(backend).await;
    let app = &r.app;
    let officer = app.user("trading_centre").await;
    let city = app.supervisor_of("650100").await;
    let bidders = r.three_bids().await;
    let bidder_usci = bidders[0].identity["usci"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // Eight road experts, one of them in conflict with the first bidder.
    let mut experts = Vec::new();
    for i in 0..8 {
        let expert = app.user("expert").await;
        let conflicts = if i == 0 {
            json!([bidder_usci])
        } else {
            json!([])
        };
        let profile = json!({ "specialties": ["construction.road"], "conflicts": conflicts });
        let (status, body) = put_profile(app, &expert, &profile).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        experts.push(expert);
    }
    let path = format!("/api/v1/trades/{}/evaluation/draw", r.trade);
    let order = json!({ "specialty": "construction.road", "experts": 5 });
    let (status, body) = app.post(&path, Some(&officer.token), &order).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "not_opened"),
        "{body}"
    );

    app.clock.set(r.deadline);
    for i in 0..2 {
        let (status, body) = r.contribute(i).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, _) = app.post(&path, Some(&bidders[0].token), &order).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let even = json!({ "specialty": "construction.road", "experts": 4 });
    let (status, body) = app.post(&path, Some(&officer.token), &even).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_committee"),
        "{body}"
    );
    let (status, drawn) = app.post(&path, Some(&officer.token), &order).await;
    assert_eq!(status, StatusCode::OK, "{drawn}");
    let (status, body) = app.post(&path, Some(&officer.token), &order).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "already_drawn"),
        "{body}"
    );

    // The result: five experts, none in conflict with a bidder.
    let result: Drawn = serde_json::from_value(drawn["disclosed"]["drawn"].clone())
        .unwrap_or_else(|e| panic!("{e}: {drawn}"));
    assert_eq!(result.experts.len(), 5);
    assert!(!result.experts.contains(&experts[0].id()));
    assert!(result
        .excluded
        .contains(&(experts[0].id(), Excluded::DeclaredConflict)));

    // Bidders and the public see the seed and the commitment, not the names.
    for token in [None, Some(bidders[1].token.as_str())] {
        let (status, shown) = app.get(&path, token).await;
        assert_eq!(status, StatusCode::OK, "{shown}");
        assert_eq!(shown["disclosed"], Value::Null, "{shown}");
        assert_eq!(shown["commitment"], drawn["commitment"]);
    }
    let (_, shown) = app.get(&path, Some(&city.token)).await;
    assert_eq!(shown["disclosed"], drawn["disclosed"]);

    // Anyone with the disclosed draw can rerun it: the seed is the root of the public log
    // up to the opening entry, the pool matches its digest, the draw gives the same experts.
    let size = drawn["seed_size"].as_u64().unwrap_or_default();
    let entries = crate::log_tree::log_entries(app, size).await;
    let leaves: Vec<_> = entries
        .iter()
        .map(|e| tradehall::domain::merkle::leaf_hash(e))
        .collect();
    let seed = crate::log_tree::mth(&leaves);
    assert_eq!(drawn["seed"], hex::encode(seed));
    let last: Value =
        serde_json::from_slice(entries.last().map_or(&[][..], Vec::as_slice)).unwrap_or_default();
    assert_eq!(
        last["kind"], "opening.completed",
        "the seed's tree ends with the opening"
    );
    let pool: Vec<PoolExpert> = serde_json::from_value(drawn["disclosed"]["pool"].clone())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(drawn["pool_sha256"], hex::encode(pool_digest(&pool)));
    let request = DrawRequest {
        specialty: "construction.road".into(),
        experts: 5,
        avoid: serde_json::from_value(drawn["request"]["avoid"].clone()).unwrap_or_default(),
    };
    assert_eq!(draw(&seed, &pool, &request), Ok(result.clone()));
    // A pool changed afterwards no longer matches the logged digest.
    let mut changed = pool.clone();
    changed.pop();
    assert_ne!(drawn["pool_sha256"], hex::encode(pool_digest(&changed)));

    // `tradehall verify draw` does all of it against the verified log.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cert = crate::helpers::write(dir.path(), "cert.pem", city.cert_pem.as_bytes());
    let key = crate::helpers::write(dir.path(), "key.der", &city.key_pkcs8);
    let args: Vec<std::ffi::OsString> = vec![
        "verify".into(),
        "draw".into(),
        "--trade".into(),
        r.trade.clone().into(),
        "--server".into(),
        app.base.clone().into(),
        "--cert".into(),
        cert.clone().into(),
        "--key".into(),
        key.clone().into(),
    ];
    let out = crate::helpers::run_cli(args).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("draw OK"), "{stdout}");
    assert!(stdout.contains(&result.experts[0]), "{stdout}");

    // Without a supervisor's certificate the draw stays sealed.
    let sealed = tradehall::client::draw::verify(&app.base, &r.trade, None, None).await;
    assert!(
        sealed.is_err_and(|e| e.to_string().contains("sealed")),
        "the public cannot rerun it before the result"
    );
    // A result swapped in the database after the draw is caught.
    let (kept, other) = (&result.experts[0], &result.ranked[5]);
    crate::helpers::tamper(
        app,
        &format!("UPDATE committee_draws SET disclosed = replace(disclosed, '\"{kept}\"', '\"{other}\"')"),
        &[],
    )
    .await;
    let credentials = tradehall::client::bid::Credentials {
        server: &app.base,
        cert: &cert,
        key: &key,
    };
    let tampered =
        tradehall::client::draw::verify(&app.base, &r.trade, None, Some(&credentials)).await;
    let message = tampered.err().map(|e| format!("{e:#}")).unwrap_or_default();
    assert!(message.contains("committed"), "{message}");
}
