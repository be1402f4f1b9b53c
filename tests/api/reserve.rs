//! The sealed reserve price (ADR 0011): the trading centre seals it to the committee
//! like a bid before the sale starts; when quoting ends on a quote the sale waits, the
//! committee opens the reserve, and the signed record decides: below it the sale fails
//! (流拍) with the reason public and every deposit goes back; at or above it the best
//! quote wins. Replay reaches the same result from the log.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{code, Backend, TestApp, User};
use crate::opening::{register_committee, verify_record_signature, Round};
use crate::quotes::{at, auction, fire, numbered, quote, sale};
use tradehall::domain::opening::SignedRecord;

crate::on_both_backends!(
    a_best_quote_below_the_sealed_reserve_fails_the_sale,
    a_best_quote_at_the_sealed_reserve_sells
);

/// The auction's start price and increment (`listing` in live.rs), in 分.
const START: i64 = 36_000_000_000;
const STEP: i64 = 50_000_000;

/// A published land auction whose committee registered its keys, with `reserve`
/// sealed by the officer; two numbered bidders quote START and START + STEP, and the
/// countdown runs out. Returns the round, the officer and the bidders.
async fn auction_ending_on_a_reserve(
    backend: Backend,
    reserve: i64,
) -> (Round, User, Vec<(User, String)>) {
    let app = crate::helpers::spawn_app(backend).await;
    let (officer, custodians) = app.officer_and_custodians().await;
    let ids: Vec<String> = custodians.iter().map(User::id).collect();
    let trade = app
        .published_trade_with(&officer, &auction(&app, &ids))
        .await;
    let committee = register_committee(&app, &trade, custodians).await;
    let round = Round {
        app,
        trade: trade.clone(),
        deadline: at("2026-12-18T01:00:00Z"),
        committee,
    };
    let app = &round.app;

    // Only the trading centre seals it, and only as an envelope to this committee.
    let bidders = numbered(app, &officer, &trade, 2).await;
    let envelope = round.seal(&officer, reserve, &["2026-041"]);
    let (status, body) = put_reserve(app, &bidders[0].0, &trade, envelope.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = put_reserve(app, &officer, &trade, b"not an envelope".to_vec()).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "envelope_invalid"),
        "{body}"
    );
    // A first reserve is replaced by the one that counts, before the start.
    let (status, first) = put_reserve(
        app,
        &officer,
        &trade,
        round.seal(&officer, 1, &["2026-041"]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let (status, sealed) = put_reserve(app, &officer, &trade, envelope).await;
    assert_eq!(status, StatusCode::OK, "{sealed}");
    let (_, shown) = app
        .get(&format!("/api/v1/trades/{trade}/reserve"), None)
        .await;
    assert_eq!(shown["sealed"], true);
    assert_eq!(
        shown["reserve"]["envelope_sha256"],
        sealed["envelope_sha256"]
    );
    assert_ne!(first["envelope_sha256"], sealed["envelope_sha256"]);

    app.clock.set(at("2026-12-18T01:00:00Z"));
    let (status, body) = quote(app, &bidders[0].0, &trade, "a-1", START).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = put_reserve(
        app,
        &officer,
        &trade,
        round.seal(&officer, 1, &["2026-041"]),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "reserve_locked"),
        "once the sale has started the reserve cannot change: {body}"
    );
    let (status, body) = quote(app, &bidders[1].0, &trade, "b-1", START + STEP).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The custodians cannot open it while quoting goes on.
    let (status, body) = round.shares(0).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "opening_not_started"),
        "{body}"
    );

    // The countdown runs out: the best quote waits for the reserve.
    app.clock
        .set(at("2026-12-18T01:00:00Z") + Duration::seconds(240 + 1));
    fire(app).await;
    let view = sale(app, &trade).await;
    assert_eq!(view["phase"], "reserve", "{view}");
    assert_eq!(view["result"], Value::Null);
    let (_, shown) = app.get(&format!("/api/v1/trades/{trade}"), None).await;
    assert_eq!(shown["status"], "published");
    let (status, body) = quote(app, &bidders[0].0, &trade, "a-2", START + 2 * STEP).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "quoting_closed"),
        "{body}"
    );
    (round, officer, bidders)
}

async fn put_reserve(
    app: &TestApp,
    who: &User,
    trade: &str,
    envelope: Vec<u8>,
) -> (StatusCode, Value) {
    let resp = app
        .http
        .put(app.url(&format!("/api/v1/trades/{trade}/reserve")))
        .bearer_auth(&who.token)
        .header("content-type", "application/octet-stream")
        .body(envelope)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Two of the three custodians contribute; the second completes the opening.
pub(crate) async fn open(round: &Round) -> SignedRecord {
    let (status, first) = round.contribute(0).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(
        first["opening"],
        Value::Null,
        "one contribution reveals nothing"
    );
    let (status, second) = round.contribute(2).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let signed: SignedRecord = serde_json::from_value(second["opening"].clone())
        .unwrap_or_else(|e| panic!("{e}: {second}"));
    verify_record_signature(&round.app, &signed).await;
    let (_, status) = round
        .app
        .get(&format!("/api/v1/trades/{}/opening", round.trade), None)
        .await;
    assert_eq!(
        status["opening"]["record"],
        serde_json::to_value(&signed.record).unwrap_or_default()
    );
    signed
}

async fn a_best_quote_below_the_sealed_reserve_fails_the_sale(backend: Backend) {
    let reserve = START + 2 * STEP;
    let (round, officer, _) = auction_ending_on_a_reserve(backend, reserve).await;
    let (app, trade) = (&round.app, round.trade.as_str());
    let signed = open(&round).await;
    assert_eq!(signed.record.outcome, "failed");
    assert_eq!(signed.record.bids.len(), 1);
    assert_eq!(signed.record.bids[0].price, Some(reserve));
    assert!(signed.record.bids[0].valid);
    let reason = signed.record.reason.clone().unwrap_or_default();
    assert!(reason.contains("流拍"), "{reason}");

    // The reason is public; nobody won, every deposit goes back.
    let view = sale(app, trade).await;
    assert_eq!(view["phase"], "closed", "{view}");
    assert_eq!(view["result"]["outcome"], "failed");
    assert_eq!(view["result"]["reason"], "below_reserve");
    assert_eq!(view["reserve"]["status"], "opened", "{view}");
    assert_eq!(view["reserve"]["amount"], reserve);
    let (_, shown) = app.get(&format!("/api/v1/trades/{trade}"), None).await;
    assert_eq!(shown["status"], "failed");
    let (_, events) = app.get("/api/v1/events?after=0&limit=1000", None).await;
    let closed: Vec<&Value> = events["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["entry"]["kind"] == "sale.closed")
        .collect();
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0]["entry"]["data"]["reserve"]["amount"], reserve);
    let (_, money) = app
        .get(
            &format!("/api/v1/trades/{trade}/money"),
            Some(&officer.token),
        )
        .await;
    let refunds = money["refunds"].as_array().cloned().unwrap_or_default();
    assert_eq!(refunds.len(), 2, "{money}");
    assert_eq!(money["balance"]["converted"], 0);

    // Another contribution finds the opening done.
    let (status, body) = round.contribute(1).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "opening_completed"),
        "{body}"
    );

    // Replay from the log reaches the same 流拍.
    let (replayed, _) = tradehall::client::replay::replay(&app.base, trade, None)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert!(matches!(
        replayed.result,
        Some(tradehall::domain::auction::SaleResult::Failed { ref reason }) if reason == "below_reserve"
    ));
}

async fn a_best_quote_at_the_sealed_reserve_sells(backend: Backend) {
    let (round, _, bidders) = auction_ending_on_a_reserve(backend, START + STEP).await;
    let signed = open(&round).await;
    assert_eq!(signed.record.outcome, "sold", "{:?}", signed.record);
    let view = sale(&round.app, &round.trade).await;
    assert_eq!(view["result"]["outcome"], "sold", "{view}");
    assert_eq!(view["result"]["bidder_number"], bidders[1].1.as_str());
    assert_eq!(view["result"]["amount"], START + STEP);
    let (_, shown) = round
        .app
        .get(&format!("/api/v1/trades/{}", round.trade), None)
        .await;
    assert_eq!(shown["status"], "sold");
}
