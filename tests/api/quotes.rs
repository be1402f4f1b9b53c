//! The quoting engine (ADR 0010) end to end: numbered bidders quote a land listing, it
//! goes to timed bidding, each valid quote restarts the countdown, the sale ends exactly
//! once when it expires (manual clock), and the deposits settle; concurrent quotes at one
//! price have one winner.

use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::deposits::{apply, bank_post, notification, notify, qualify};
use crate::helpers::{code, Backend, TestApp, User};
use crate::live::{listing, with};

crate::on_both_backends!(
    a_listing_goes_to_timed_bidding_and_ends_exactly_once,
    concurrent_quotes_at_one_price_have_one_winner,
    retries_sent_at_once_are_answered_alike,
    a_state_asset_goes_by_agreement_with_one_buyer_and_to_bidding_with_two,
    the_live_room_shows_the_sale_and_resumes_without_gaps,
    a_bidder_that_quotes_in_three_sales_and_never_wins_is_flagged,
    sales_due_together_fire_once_each_and_a_broken_one_holds_back_no_other
);

/// The listing's deposit, start price and increment (`listing` in live.rs), in 分.
const DEPOSIT: i64 = 7_200_000_000;
const START: i64 = 36_000_000_000;
const STEP: i64 = 50_000_000;

pub(crate) fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).map_or_else(|e| panic!("{e}"), |t| t.with_timezone(&Utc))
}

/// `n` bidders that applied, were qualified and paid: each has a bidder number.
pub(crate) async fn numbered(
    app: &TestApp,
    officer: &User,
    trade: &str,
    n: usize,
) -> Vec<(User, String)> {
    let mut out = Vec::new();
    for i in 0..n {
        let bidder = app.user("bidder").await;
        let account = format!("62220202{:011}", out.len() + 1000 * i + 1);
        let application = apply(app, &bidder, trade, &account).await;
        qualify(app, officer, &application).await;
        let txn = format!("DEV-{trade}-{i}");
        let (status, paid) = notify(app, notification(trade, &txn, &account, &json!({}))).await;
        assert_eq!(paid["outcome"], "deposit_confirmed", "{status} {paid}");
        let (_, mine) = app
            .get(
                &format!("/api/v1/trades/{trade}/applications/mine"),
                Some(&bidder.token),
            )
            .await;
        let number = mine["bidder_number"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert_eq!(number.len(), 6, "{mine}");
        out.push((bidder, number));
    }
    out
}

pub(crate) async fn quote(
    app: &TestApp,
    bidder: &User,
    trade: &str,
    id: &str,
    amount: i64,
) -> (StatusCode, Value) {
    app.post(
        &format!("/api/v1/trades/{trade}/quotes"),
        Some(&bidder.token),
        &json!({ "client_quote_id": id, "amount": amount }),
    )
    .await
}

/// Fires the sale timers that are due and returns how many this call fired. The server's
/// own timer loop runs too and may get to a due sale first; either way everything due is
/// fired and committed when this returns, so tests check the log and the sale, and count
/// only to show that nothing is left (`0`).
pub(crate) async fn fire(app: &TestApp) -> usize {
    app.platform
        .fire_due_sales()
        .await
        .unwrap_or_else(|e| panic!("fire: {e}"))
}

pub(crate) async fn sale(app: &TestApp, trade: &str) -> Value {
    let (status, body) = app.get(&format!("/api/v1/trades/{trade}/sale"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn count_events(app: &TestApp, kind: &str) -> usize {
    let (_, events) = app.get("/api/v1/events?after=0&limit=1000", None).await;
    events["events"].as_array().map_or(0, |e| {
        e.iter().filter(|e| e["entry"]["kind"] == kind).count()
    })
}

async fn a_listing_goes_to_timed_bidding_and_ends_exactly_once(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let (officer, custodians) = app.officer_and_committee().await;
    let id = app
        .published_trade_with(&officer, &listing(&app, &custodians))
        .await;
    let bidders = numbered(&app, &officer, &id, 2).await;
    let ((a, number_a), (b, number_b)) = (&bidders[0], &bidders[1]);
    let unpaid = app.user("bidder").await;
    let application = apply(&app, &unpaid, &id, "6222020200005555555").await;
    qualify(&app, &officer, &application).await;

    let (status, body) = quote(&app, a, &id, "a-0", START).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "quoting_not_open"),
        "{body}"
    );

    // The listing runs from 18 December to 4 January 17:00 (Beijing).
    app.clock.set(at("2026-12-21T02:00:00Z"));
    let refusals = [
        (&unpaid, START, StatusCode::CONFLICT, "no_bidder_number"),
        (
            a,
            START + STEP / 2,
            StatusCode::UNPROCESSABLE_ENTITY,
            "quote_not_multiple",
        ),
        (
            a,
            START - STEP,
            StatusCode::UNPROCESSABLE_ENTITY,
            "quote_below_start",
        ),
    ];
    for (i, (who, amount, status, expected)) in refusals.into_iter().enumerate() {
        let (got, body) = quote(&app, who, &id, &format!("r-{i}"), amount).await;
        assert_eq!((got, code(&body)), (status, expected), "{body}");
    }
    let (status, first) = quote(&app, a, &id, "a-1", START).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["became_best"], true);
    assert_eq!(first["bidder_number"], number_a.as_str());
    assert_eq!(first["next_minimum"], START + STEP);
    assert!(
        first["deadline"].is_null(),
        "no countdown in the listing: {first}"
    );
    for (who, qid, amount, expected) in [
        (a, "a-2", START + STEP, "quote_already_best"),
        (b, "b-0", START, "quote_price_taken"),
        (b, "b-00", START - STEP, "quote_below_increment"),
    ] {
        let (status, body) = quote(&app, who, &id, qid, amount).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::CONFLICT, expected),
            "{body}"
        );
    }
    // A retry of an accepted quote gets the first answer.
    let (_, b1) = quote(&app, b, &id, "b-1", START + STEP).await;
    let (status, again) = quote(&app, b, &id, "b-1", START + STEP).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(
        (again["quote_id"].clone(), again["repeated"].clone()),
        (b1["quote_id"].clone(), json!(true))
    );

    // Suspended: no quotes; resumed an hour later: the listing ends an hour later.
    let supervisor = app.supervisor_of("650100").await;
    let (status, body) = app
        .post(
            &format!("/api/v1/trades/{id}/suspend"),
            Some(&supervisor.token),
            &json!({ "reason": "核查举报" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = quote(&app, a, &id, "a-3", START + 2 * STEP).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "trade_suspended"),
        "{body}"
    );
    app.clock.advance(Duration::hours(1));
    let (status, body) = app
        .post(
            &format!("/api/v1/trades/{id}/resume"),
            Some(&supervisor.token),
            &json!({ "reason": "核查完毕" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = quote(&app, a, &id, "a-3", START + 2 * STEP).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The listing ends (10:00Z after the hour's shift) with two bidders in: ten minutes'
    // freeze, then a four-minute countdown.
    app.clock.set(at("2027-01-04T10:00:00Z"));
    fire(&app).await;
    let view = sale(&app, &id).await;
    assert_eq!(view["phase"], "frozen", "{view}");
    let (status, body) = quote(&app, b, &id, "b-2", START + 3 * STEP).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "quoting_frozen"),
        "{body}"
    );
    app.clock.set(at("2027-01-04T10:10:00Z"));
    fire(&app).await;
    let view = sale(&app, &id).await;
    assert_eq!(view["phase"], "timed", "{view}");
    assert_eq!(view["remaining_ms"], 240_000);

    // Each valid quote restarts the countdown.
    app.clock.set(at("2027-01-04T10:13:00Z"));
    let (status, body) = quote(&app, b, &id, "b-2", START + 3 * STEP).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["remaining_ms"], 240_000, "{body}");
    assert_eq!(body["deadline"], "2027-01-04T10:17:00.000Z");

    // A millisecond before the end nothing fires; at the end the sale closes, once.
    app.clock.set(at("2027-01-04T10:16:59.999Z"));
    assert_eq!(fire(&app).await, 0);
    app.clock.set(at("2027-01-04T10:17:00Z"));
    let (status, body) = quote(&app, a, &id, "a-4", START + 4 * STEP).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "quoting_closed"),
        "{body}"
    );
    assert_eq!(fire(&app).await, 0, "the quote's step closed it already");
    assert_eq!(count_events(&app, "sale.closed").await, 1);
    let view = sale(&app, &id).await;
    assert_eq!(view["result"]["outcome"], "sold", "{view}");
    assert_eq!(view["result"]["bidder_number"], number_b.as_str());
    assert_eq!(view["result"]["amount"], START + 3 * STEP);
    let (_, trade) = app.get(&format!("/api/v1/trades/{id}"), None).await;
    assert_eq!(trade["status"], "sold");

    // Settlement: B's deposit became payment; A's goes back, and once the bank confirms
    // it nothing is held.
    let money_path = format!("/api/v1/trades/{id}/money");
    let (_, money) = app.get(&money_path, Some(&officer.token)).await;
    let refunds = money["refunds"].as_array().cloned().unwrap_or_default();
    assert_eq!(refunds.len(), 1, "{money}");
    assert_eq!(refunds[0]["reason"], "not_winner");
    assert_eq!(money["balance"]["converted"], DEPOSIT);
    assert_eq!(refunds[0]["status"], "pending");
    takes_the_refund(&app, &refunds[0]).await;
    let account = refunds[0]["account"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let body = notification(
        &id,
        "DEV-R-A",
        &account,
        &json!({ "kind": "refund", "refund": refunds[0]["id"] }),
    );
    let (_, done) = notify(&app, body).await;
    assert_eq!(done["outcome"], "refund_confirmed", "{done}");
    let (_, money) = app.get(&money_path, Some(&officer.token)).await;
    assert_eq!(money["settled"], true, "{money}");
    assert_eq!(money["balance"]["received"], 2 * DEPOSIT);
    assert_eq!(money["balance"]["refunded"], DEPOSIT);
    assert_eq!(money["balance"]["held"], 0);

    let releases = crate::ocds::valid_open_data(&app).await;
    let sold = releases.last().cloned().unwrap_or_default();
    assert_eq!(sold["awards"][0]["status"], "active", "{sold}");
    replay_detects_tampering(&app, &id, number_a).await;
}

/// `tradehall replay` reproduces the closed sale from the log; it fails when the
/// server's state is changed behind its back, and when a logged quote is.
/// The bank takes the pending refund instruction (pending → sent) with a signed claim;
/// a repeat of the claim returns it again and takes nothing more.
async fn takes_the_refund(app: &TestApp, refund: &Value) {
    const CLAIMS: &str = "/api/v1/bank/refund-claims";
    let forged = crate::deposits::post_signed_to(
        app,
        CLAIMS,
        "DEVBANK",
        &[7; 32],
        &app.clock_now().timestamp().to_string(),
        br#"{"claim_id":"c-1"}"#.to_vec(),
    )
    .await;
    assert_eq!(
        (forged.0, code(&forged.1)),
        (StatusCode::UNAUTHORIZED, "bank_signature_invalid")
    );
    let (status, claimed) = bank_post(app, CLAIMS, &json!({ "claim_id": "c-1" })).await;
    assert_eq!(status, StatusCode::OK, "{claimed}");
    assert_eq!(claimed["repeated"], false);
    let taken = claimed["refunds"].as_array().cloned().unwrap_or_default();
    assert_eq!(taken.len(), 1, "{claimed}");
    assert_eq!(taken[0]["id"], refund["id"]);
    assert_eq!(taken[0]["status"], "sent");
    assert_eq!(taken[0]["account"], refund["account"]);

    let (_, again) = bank_post(app, CLAIMS, &json!({ "claim_id": "c-1" })).await;
    assert_eq!(again["repeated"], true, "{again}");
    assert_eq!(again["refunds"], claimed["refunds"]);
    let (status, body) = bank_post(app, CLAIMS, &json!({ "claim_id": "c-1", "limit": 5 })).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "bank_txn_conflict")
    );
    let (_, next) = bank_post(app, CLAIMS, &json!({ "claim_id": "c-2" })).await;
    assert_eq!(
        next["refunds"],
        json!([]),
        "nothing pending is left: {next}"
    );
    assert_eq!(count_events(app, "refund.sent").await, 1);
}

async fn replay_detects_tampering(app: &TestApp, id: &str, loser: &str) {
    use tradehall::client::replay::replay;
    let (replayed, _) = replay(&app.base, id, None)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(replayed.quotes, 4);
    assert_eq!(replayed.periods, 4, "start, listing end, freeze end, close");

    // A DBA hands the sale to the loser in the sale's state: the log says otherwise.
    let mut state = app
        .platform
        .store
        .sale(id)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_default()
        .0;
    if let Some(tradehall::domain::auction::SaleResult::Sold { bidder_number, .. }) =
        &mut state.result
    {
        *bidder_number = loser.to_owned();
    }
    let forged = serde_json::to_string(&state)
        .unwrap_or_default()
        .replace('\'', "''");
    crate::helpers::tamper(
        app,
        &format!("UPDATE live_sales SET state = '{forged}'"),
        &[],
    )
    .await;
    let err = replay(&app.base, id, None)
        .await
        .err()
        .map(|e| format!("{e:#}"));
    assert!(
        err.as_deref()
            .is_some_and(|e| e.contains("the server shows")),
        "{err:?}"
    );

    // A logged quote rewritten: the log no longer hashes to its signed root.
    crate::helpers::tamper(
        app,
        "UPDATE events SET entry = $1 WHERE seq = (SELECT MAX(seq) FROM events WHERE kind = 'sale.quote')",
        &[br#"{"kind":"sale.quote","forged":true}"#.to_vec()],
    )
    .await;
    let err = replay(&app.base, id, None)
        .await
        .err()
        .map(|e| format!("{e:#}"));
    assert!(
        err.as_deref()
            .is_some_and(|e| e.contains("does not verify")),
        "{err:?}"
    );
}

/// A land auction starting 20 days after the tests' start, deposits due before.
pub(crate) fn auction(app: &TestApp, custodians: &[String]) -> Value {
    let terms = listing(app, custodians);
    let terms = with(terms, "/procedure", json!("auction"));
    let terms = with(terms, "/bid_deadline", json!("2026-12-18T00:00:00Z"));
    let mut terms = with(terms, "/live/starts_at", json!("2026-12-18T01:00:00Z"));
    if let Some(live) = terms["live"].as_object_mut() {
        live.remove("ends_at");
    }
    terms
}

/// A quote by `bidder`, ready to send from a task of its own: its status and body.
fn post_quote(
    app: &TestApp,
    bidder: &User,
    trade: &str,
    client_quote_id: &str,
    amount: i64,
) -> impl std::future::Future<Output = (StatusCode, Value)> + Send + 'static {
    let request = app
        .http
        .post(app.url(&format!("/api/v1/trades/{trade}/quotes")))
        .bearer_auth(&bidder.token)
        .json(&json!({ "client_quote_id": client_quote_id, "amount": amount }));
    async move {
        let resp = request.send().await.unwrap_or_else(|e| panic!("{e}"));
        let status = resp.status();
        (status, resp.json::<Value>().await.unwrap_or(Value::Null))
    }
}

async fn concurrent_quotes_at_one_price_have_one_winner(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let (officer, custodians) = app.officer_and_committee().await;
    let id = app
        .published_trade_with(&officer, &auction(&app, &custodians))
        .await;
    let bidders = numbered(&app, &officer, &id, 10).await;
    app.clock.set(at("2026-12-18T01:00:00Z"));

    // 200 quotes at the start price, twenty from each bidder, all at once.
    let mut tasks = tokio::task::JoinSet::new();
    for (b, (bidder, _)) in bidders.iter().enumerate() {
        for q in 0..20 {
            tasks.spawn(post_quote(&app, bidder, &id, &format!("q-{b}-{q}"), START));
        }
    }
    let mut accepted = Vec::new();
    let mut refused = std::collections::BTreeMap::<String, usize>::new();
    while let Some(done) = tasks.join_next().await {
        let (status, body) = done.unwrap_or_else(|e| panic!("{e}"));
        if status == StatusCode::OK {
            accepted.push(body);
        } else {
            *refused.entry(code(&body).to_owned()).or_default() += 1;
        }
    }
    assert_eq!(accepted.len(), 1, "{accepted:?} {refused:?}");
    assert_eq!(refused.values().sum::<usize>(), 199, "{refused:?}");
    assert!(
        refused
            .keys()
            .all(|c| c == "quote_price_taken" || c == "quote_already_best"),
        "{refused:?}"
    );
    let view = sale(&app, &id).await;
    assert_eq!(view["best"]["bidder_number"], accepted[0]["bidder_number"]);
    assert_eq!(view["quotes"].as_array().map(Vec::len), Some(1));
}

/// Quotes that arrive together share write transactions (ADR 0023); a quote sent ten
/// times at once with one `client_quote_id` (a client retrying eagerly) is still taken at
/// most once, and every copy gets the same answer.
async fn retries_sent_at_once_are_answered_alike(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let (officer, custodians) = app.officer_and_committee().await;
    let id = app
        .published_trade_with(&officer, &auction(&app, &custodians))
        .await;
    let bidders = numbered(&app, &officer, &id, 5).await;
    app.clock.set(at("2026-12-18T01:00:00Z"));

    // Bidder b quotes the start price plus b increments, ten copies at once.
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..10 {
        for (b, (bidder, _)) in bidders.iter().enumerate() {
            let amount = START + STEP * i64::try_from(b).unwrap_or_default();
            let quote = post_quote(&app, bidder, &id, &format!("once-{b}"), amount);
            tasks.spawn(async move {
                let (status, body) = quote.await;
                (b, status, body)
            });
        }
    }
    let mut answers = vec![Vec::new(); bidders.len()];
    while let Some(done) = tasks.join_next().await {
        let (b, status, body) = done.unwrap_or_else(|e| panic!("{e}"));
        answers[b].push((status, body));
    }
    let view = sale(&app, &id).await;
    let quotes = view["quotes"].as_array().cloned().unwrap_or_default();
    assert!(!quotes.is_empty(), "{view}");
    let amounts: Vec<i64> = quotes.iter().filter_map(|q| q["amount"].as_i64()).collect();
    assert!(
        amounts.windows(2).all(|w| w[0] < w[1]),
        "accepted in rising order: {amounts:?}"
    );
    for (b, copies) in answers.iter().enumerate() {
        let taken: Vec<&Value> = copies
            .iter()
            .filter(|(status, _)| *status == StatusCode::OK)
            .map(|(_, body)| body)
            .collect();
        let stored = quotes
            .iter()
            .filter(|q| q["client_quote_id"] == format!("once-{b}"))
            .count();
        if taken.is_empty() {
            assert_eq!(stored, 0, "bidder {b}: refused, yet stored: {copies:?}");
            continue;
        }
        assert_eq!(
            taken.len(),
            10,
            "bidder {b}: taken, so every copy is: {copies:?}"
        );
        assert_eq!(stored, 1, "bidder {b}: stored once: {quotes:?}");
        assert!(
            taken.iter().all(|t| t["quote_id"] == taken[0]["quote_id"]),
            "bidder {b}: one answer: {taken:?}"
        );
        let first = taken.iter().filter(|t| t["repeated"] == false).count();
        assert_eq!(
            first, 1,
            "bidder {b}: one first answer, nine repeats: {taken:?}"
        );
    }
}

/// A state-asset transfer: disclosure from 1 to 29 December 2026 (20 working days),
/// deposits due by its end.
fn disclosure(app: &TestApp, custodians: &[String]) -> Value {
    let terms = listing(app, custodians);
    let terms = with(terms, "/kind", json!("state_asset"));
    let terms = with(terms, "/procedure", json!("disclosure"));
    let terms = with(terms, "/title", json!("某国有企业 100% 股权转让"));
    let terms = with(terms, "/bid_deadline", json!("2026-12-29T09:00:00Z"));
    let terms = with(terms, "/live/starts_at", json!("2026-12-01T01:00:00Z"));
    with(terms, "/live/ends_at", json!("2026-12-29T09:00:00Z"))
}

async fn a_state_asset_goes_by_agreement_with_one_buyer_and_to_bidding_with_two(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let (officer, custodians) = app.officer_and_committee().await;
    let one = app
        .published_trade_with(&officer, &disclosure(&app, &custodians))
        .await;
    let two = app
        .published_trade_with(&officer, &disclosure(&app, &custodians))
        .await;
    let only = numbered(&app, &officer, &one, 1).await;
    let pair = numbered(&app, &officer, &two, 2).await;

    app.clock.set(at("2026-12-10T02:00:00Z"));
    let (status, body) = quote(&app, &pair[0].0, &two, "d-0", START).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "quoting_not_open"),
        "{body}"
    );

    app.clock.set(at("2026-12-29T09:00:00Z"));
    fire(&app).await;
    let view = sale(&app, &one).await;
    assert_eq!(view["result"]["outcome"], "sold", "{view}");
    assert_eq!(view["result"]["by"], "agreement");
    assert_eq!(view["result"]["amount"], START);
    assert_eq!(view["result"]["bidder_number"], only[0].1.as_str());

    // Two buyers: thirty minutes of free quotes, then the countdown.
    let view = sale(&app, &two).await;
    assert_eq!(view["phase"], "free_quote", "{view}");
    let (status, body) = quote(&app, &pair[0].0, &two, "d-1", START).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["deadline"].is_null());
    app.clock.set(at("2026-12-29T09:30:00Z"));
    fire(&app).await;
    let view = sale(&app, &two).await;
    assert_eq!(
        (view["phase"].clone(), view["remaining_ms"].clone()),
        (json!("timed"), json!(300_000)),
        "{view}"
    );
    app.clock.set(at("2026-12-29T09:35:00Z"));
    fire(&app).await;
    let view = sale(&app, &two).await;
    assert_eq!(view["result"]["by"], "quote", "{view}");
    assert_eq!(view["result"]["bidder_number"], pair[0].1.as_str());
}

/// Opens the live room of `trade` (`query` may be empty) and returns the socket with its
/// first message.
async fn room(
    app: &TestApp,
    token: Option<&str>,
    trade: &str,
    query: &str,
) -> (crate::feed::Socket, Value) {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    let url = format!(
        "{}/api/v1/trades/{trade}/live{query}",
        app.base.replacen("http", "ws", 1)
    );
    let mut request = url.into_client_request().unwrap_or_else(|e| panic!("{e}"));
    if let Some(token) = token {
        let value = format!("Bearer {token}")
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        request.headers_mut().insert("authorization", value);
    }
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    let first = crate::feed::message(&mut socket).await;
    (socket, first)
}

/// The next entry the room sends, a quote in brief or an entry whole (skipping
/// heartbeats).
async fn next_entry(socket: &mut crate::feed::Socket) -> Value {
    loop {
        let m = crate::feed::message(socket).await;
        if m["type"] == "event" || m["type"] == "quote" {
            return m;
        }
    }
}

async fn the_live_room_shows_the_sale_and_resumes_without_gaps(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let (officer, custodians) = app.officer_and_committee().await;
    let id = app
        .published_trade_with(&officer, &auction(&app, &custodians))
        .await;
    let tender = app.published_trade(&officer, &custodians).await;
    let (status, body) = app
        .get(&format!("/api/v1/trades/{tender}/live"), None)
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "wrong_engine"),
        "{body}"
    );

    let bidders = numbered(&app, &officer, &id, 3).await;
    let ((a, number_a), (b, number_b), (c, number_c)) = (&bidders[0], &bidders[1], &bidders[2]);
    app.clock.set(at("2026-12-18T01:01:00Z"));
    let (status, body) = quote(&app, a, &id, "a-1", START).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // B walks in: the sale as it stands, B's own place in it.
    let (mut socket, snapshot) = room(&app, Some(&b.token), &id, "").await;
    assert_eq!(snapshot["type"], "snapshot", "{snapshot}");
    assert_eq!(snapshot["phase"], "timed");
    assert_eq!(snapshot["deadline"], "2026-12-18T01:05:00.000Z");
    assert_eq!(snapshot["remaining_ms"], 240_000);
    assert_eq!(snapshot["best"]["bidder_number"], number_a.as_str());
    assert_eq!(
        snapshot["you"],
        json!({ "bidder_number": number_b, "best": false })
    );
    assert_eq!(snapshot["quotes"].as_array().map(Vec::len), Some(1));
    let text = snapshot.to_string();
    for name in [&a.identity["organization"], &a.identity["usci"]] {
        assert!(
            !text.contains(name.as_str().unwrap_or("-")),
            "{name} in {text}"
        );
    }

    // B's own quote comes through the room in brief, with the new countdown: what the
    // log's entry under the same seq says, and nothing else.
    let (_, mine) = quote(&app, b, &id, "b-1", START + STEP).await;
    let seen = next_entry(&mut socket).await;
    let last = seen["seq"].as_i64().unwrap_or_default();
    let (_, events) = app
        .get(&format!("/api/v1/events?after={}&limit=1", last - 1), None)
        .await;
    let logged = &events["events"][0]["entry"];
    assert_eq!(logged["kind"], "sale.quote", "{logged}");
    let data = &logged["data"];
    assert_eq!(
        seen,
        json!({
            "type": "quote",
            "seq": mine["seq"],
            "at": data["at"],
            "bidder_number": number_b,
            "amount": START + STEP,
            "deadline": mine["deadline"],
        })
    );
    assert_eq!(data["deadline"], mine["deadline"], "{data}");
    drop(socket);

    // While B is away, C and A quote; B comes back after the last entry it saw and gets
    // both, in order, and nothing else.
    // C quotes from a script with `tradehall quote`; its retry quotes nothing twice.
    let from_c = quote_cli(&app, c, &id, "361,000,000", "c-1").await;
    assert_eq!(from_c["amount"], START + 2 * STEP, "{from_c}");
    let retry = quote_cli(&app, c, &id, "361,000,000", "c-1").await;
    assert_eq!(
        (retry["seq"].clone(), retry["repeated"].clone()),
        (from_c["seq"].clone(), json!(true))
    );
    let (_, from_a) = quote(&app, a, &id, "a-2", START + 3 * STEP).await;
    let (mut socket, hello) = room(&app, Some(&b.token), &id, &format!("?after={last}")).await;
    assert_eq!(hello["type"], "hello", "{hello}");
    let first = next_entry(&mut socket).await;
    let second = next_entry(&mut socket).await;
    assert_eq!(
        (first["seq"].clone(), first["bidder_number"].clone()),
        (from_c["seq"].clone(), json!(number_c))
    );
    assert_eq!(
        (second["seq"].clone(), second["bidder_number"].clone()),
        (from_a["seq"].clone(), json!(number_a))
    );

    // The countdown runs out: the close reaches the room.
    app.clock.set(at("2026-12-18T01:10:00Z"));
    fire(&app).await;
    let closed = next_entry(&mut socket).await;
    assert_eq!(closed["entry"]["kind"], "sale.period", "{closed}");
    let closed = next_entry(&mut socket).await;
    assert_eq!(closed["entry"]["kind"], "sale.closed", "{closed}");
    assert_eq!(
        closed["entry"]["data"]["result"]["bidder_number"],
        number_a.as_str()
    );
}

/// `tradehall quote` as a bidder's script runs it; its JSON answer.
async fn quote_cli(app: &TestApp, bidder: &User, trade: &str, yuan: &str, id: &str) -> Value {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cert = crate::helpers::write(dir.path(), "cert.pem", bidder.cert_pem.as_bytes());
    let key = crate::helpers::write(dir.path(), "key.der", &bidder.key_pkcs8);
    let args: Vec<std::ffi::OsString> = vec![
        "quote".into(),
        "--trade".into(),
        trade.into(),
        "--amount".into(),
        yuan.into(),
        "--client-quote-id".into(),
        id.into(),
        "--server".into(),
        app.base.clone().into(),
        "--cert".into(),
        cert.into(),
        "--key".into(),
        key.into(),
    ];
    let out = crate::helpers::run_cli(args).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"))
}

/// `bidder` applies to `trade` paying from `account`, is qualified and pays; returns its
/// bidder number.
async fn numbered_as(
    app: &TestApp,
    officer: &User,
    trade: &str,
    bidder: &User,
    account: &str,
) -> String {
    let application = apply(app, bidder, trade, account).await;
    qualify(app, officer, &application).await;
    let txn = format!("DEV-{trade}-{account}");
    let (_, paid) = notify(app, notification(trade, &txn, account, &json!({}))).await;
    assert_eq!(paid["outcome"], "deposit_confirmed", "{paid}");
    let (_, mine) = app
        .get(
            &format!("/api/v1/trades/{trade}/applications/mine"),
            Some(&bidder.token),
        )
        .await;
    mine["bidder_number"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn a_bidder_that_quotes_in_three_sales_and_never_wins_is_flagged(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let (officer, custodians) = app.officer_and_committee().await;
    let city = app.supervisor_of("650100").await;
    let pusher = app.user("bidder").await;
    // Three auctions an hour apart; in each the pusher opens and a new bidder wins.
    let mut sales = Vec::new();
    for hour in 1..=3 {
        let start = format!("2026-12-18T{hour:02}:00:00Z");
        let terms = with(auction(&app, &custodians), "/live/starts_at", json!(start));
        let id = app.published_trade_with(&officer, &terms).await;
        let winner = app.user("bidder").await;
        numbered_as(
            &app,
            &officer,
            &id,
            &pusher,
            &format!("6222020200{hour}000001"),
        )
        .await;
        numbered_as(
            &app,
            &officer,
            &id,
            &winner,
            &format!("6222020200{hour}000002"),
        )
        .await;
        sales.push((id, winner, at(&start)));
    }
    for (n, (id, winner, start)) in sales.iter().enumerate() {
        app.clock.set(*start);
        let (status, body) = quote(&app, &pusher, id, &format!("p-{n}"), START).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) = quote(&app, winner, id, &format!("w-{n}"), START + STEP).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        app.clock.set(*start + Duration::seconds(241));
        fire(&app).await;
        assert_eq!(sale(&app, id).await["result"]["outcome"], "sold");
        let (status, body) = app
            .get("/api/v1/alerts?rule=price_pushing", Some(&city.token))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let raised = body["alerts"].as_array().cloned().unwrap_or_default();
        if n < 2 {
            assert!(raised.is_empty(), "after {} sales: {raised:?}", n + 1);
        } else {
            assert_eq!(raised.len(), 1, "{raised:?}");
            assert_eq!(raised[0]["severity"], "orange");
            assert_eq!(raised[0]["trade_id"], id.as_str());
            assert_eq!(
                raised[0]["finding"]["subjects"],
                json!([pusher.identity["usci"]]),
                "{}",
                raised[0]
            );
            assert_eq!(raised[0]["finding"]["evidence"]["wins"], 0);
        }
    }
}

/// Sale steps of `trade` in the log, by kind.
async fn steps_of(app: &TestApp, trade: &str) -> Vec<String> {
    let (_, events) = app.get("/api/v1/events?after=0&limit=1000", None).await;
    events["events"]
        .as_array()
        .map(|e| {
            e.iter()
                .filter(|e| e["entry"]["trade"] == trade)
                .filter_map(|e| e["entry"]["kind"].as_str())
                .filter(|k| k.starts_with("sale."))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

async fn sales_due_together_fire_once_each_and_a_broken_one_holds_back_no_other(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let (officer, custodians) = app.officer_and_committee().await;
    let mut trades = Vec::new();
    for _ in 0..3 {
        trades.push(
            app.published_trade_with(&officer, &listing(&app, &custodians))
                .await,
        );
    }

    // All three listings start at one instant: one pass starts them all, once.
    app.clock.set(at("2026-12-18T01:00:01Z"));
    fire(&app).await;
    assert_eq!(fire(&app).await, 0);
    for trade in &trades {
        assert_eq!(steps_of(&app, trade).await, ["sale.period"], "{trade}");
    }

    // One sale's stored state is broken; the others still end when their listing does.
    let broken = &trades[1];
    crate::helpers::tamper(
        &app,
        &format!("UPDATE live_sales SET state = 'not a sale' WHERE trade_id = '{broken}'"),
        &[],
    )
    .await;
    app.clock.set(at("2027-01-04T09:00:01Z"));
    fire(&app).await;
    assert_eq!(fire(&app).await, 0);
    for trade in [&trades[0], &trades[2]] {
        let steps = steps_of(&app, trade).await;
        assert_eq!(
            steps.last().map(String::as_str),
            Some("sale.closed"),
            "{steps:?}"
        );
        assert_eq!(steps.iter().filter(|k| *k == "sale.closed").count(), 1);
        assert!(sale(&app, trade).await["result"].is_object());
    }
    assert_eq!(steps_of(&app, broken).await, ["sale.period"]);
}
