//! The live monitoring feed over a real WebSocket: catch-up then live, resumption without
//! gap or repeat, heartbeats, and what each role's view shows before and after opening.

use futures_util::StreamExt as _;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{code, Backend, TestApp, User};
use crate::opening::{round, Round};

crate::on_both_backends!(
    the_feed_catches_up_follows_live_and_resumes_without_gap_or_repeat,
    each_role_sees_exactly_its_view_before_and_after_opening,
);

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn connect(app: &TestApp, token: Option<&str>, query: &str) -> Socket {
    let url = format!("{}/api/v1/feed?{query}", app.base.replacen("http", "ws", 1));
    let mut request = url
        .clone()
        .into_client_request()
        .unwrap_or_else(|e| panic!("{e}"));
    if let Some(token) = token {
        request.headers_mut().insert(
            "authorization",
            format!("Bearer {token}")
                .parse()
                .unwrap_or_else(|e| panic!("{e}")),
        );
    }
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .unwrap_or_else(|e| panic!("connect {url}: {e}"));
    let hello = message(&mut socket).await;
    assert_eq!(hello["type"], "hello", "{hello}");
    socket
}

/// The next message, whatever its type.
pub async fn message(socket: &mut Socket) -> Value {
    loop {
        let next = tokio::time::timeout(std::time::Duration::from_secs(10), socket.next())
            .await
            .unwrap_or_else(|_| panic!("no feed message within 10 s"));
        match next {
            Some(Ok(Message::Text(text))) => {
                return serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            other => panic!("the feed ended: {other:?}"),
        }
    }
}

/// Events until (and including) entry `upto`, checking they are in order.
async fn events_until(socket: &mut Socket, upto: i64) -> Vec<Value> {
    let mut events = Vec::new();
    let mut last = 0;
    while last < upto {
        let m = message(socket).await;
        if m["type"] != "event" {
            continue;
        }
        let seq = m["seq"].as_i64().unwrap_or_default();
        assert!(
            seq > last,
            "entry {seq} after {last}: out of order or repeated"
        );
        last = seq;
        events.push(m);
    }
    events
}

async fn log_size(app: &TestApp) -> i64 {
    i64::try_from(app.platform.store.log_size().await.unwrap_or_default()).unwrap_or_default()
}

async fn the_feed_catches_up_follows_live_and_resumes_without_gap_or_repeat(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let (officer, custodians) = app.officer_and_committee().await;
    app.published_trade(&officer, &custodians).await;
    let head = log_size(&app).await;

    // Catch-up from the store: every entry from 1, in order, no gap.
    let mut socket = connect(&app, None, "after=0").await;
    let caught_up = events_until(&mut socket, head).await;
    let seqs: Vec<i64> = caught_up.iter().filter_map(|e| e["seq"].as_i64()).collect();
    assert_eq!(seqs, (1..=head).collect::<Vec<_>>());
    for e in &caught_up {
        assert!(e.get("private").is_none(), "the public view shows {e}");
        assert_eq!(e["entry"]["seq"], e["seq"]);
    }
    // The feed entry is the log entry: the same bytes' hash.
    let (_, page) = app.get("/api/v1/events?after=0&limit=1", None).await;
    assert_eq!(
        caught_up[0]["entry_sha256"],
        page["events"][0]["entry_sha256"]
    );

    // Live: new entries arrive as they are written.
    let _ = app.user("bidder").await;
    let now = log_size(&app).await;
    let live = events_until(&mut socket, now).await;
    assert_eq!(
        live.iter()
            .filter_map(|e| e["seq"].as_i64())
            .collect::<Vec<_>>(),
        ((head + 1)..=now).collect::<Vec<_>>()
    );

    // Disconnected while more happens; resuming after the last one seen gives exactly
    // the missed entries, then live ones.
    socket.close(None).await.unwrap_or_else(|e| panic!("{e}"));
    let seen = now;
    let _ = app.user("bidder").await;
    let _ = app.user("custodian").await;
    let mut socket = connect(&app, None, &format!("after={seen}")).await;
    let _ = app.user("bidder").await;
    let now = log_size(&app).await;
    let resumed = events_until(&mut socket, now).await;
    assert_eq!(
        resumed
            .iter()
            .filter_map(|e| e["seq"].as_i64())
            .collect::<Vec<_>>(),
        ((seen + 1)..=now).collect::<Vec<_>>(),
        "no gap and no repeat across the reconnect"
    );

    // Nothing happening: heartbeats, with the head and the server time.
    let mut quiet = connect(&app, None, &format!("after={now}&heartbeat=1")).await;
    let beat = message(&mut quiet).await;
    assert_eq!(beat["type"], "heartbeat", "{beat}");
    assert_eq!(beat["head"], now);
    assert!(beat["server_time"].is_string());

    // A plain GET is told to upgrade; bad queries are refused before the upgrade.
    let (status, body) = app.get("/api/v1/feed?after=0", None).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "websocket_required")
    );
    for query in ["after=-1", "heartbeat=0", "heartbeat=61"] {
        let url = format!("{}/api/v1/feed?{query}", app.base.replacen("http", "ws", 1));
        let refused = tokio_tungstenite::connect_async(url).await;
        assert!(
            matches!(&refused, Err(tokio_tungstenite::tungstenite::Error::Http(r)) if r.status() == StatusCode::UNPROCESSABLE_ENTITY),
            "{query}: {refused:?}"
        );
    }
}

/// Every message of a view up to the log's current end.
async fn view(app: &TestApp, user: Option<&User>) -> Vec<Value> {
    let mut socket = connect(app, user.map(|u| u.token.as_str()), "after=0").await;
    let upto = log_size(app).await;
    events_until(&mut socket, upto).await
}

fn kinds_with_private(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.get("private").is_some())
        .map(|e| e["entry"]["kind"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn of_trade<'a>(events: &'a [Value], trade: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["entry"]["trade"] == trade)
        .collect()
}

async fn each_role_sees_exactly_its_view_before_and_after_opening(backend: Backend) {
    let r: Round = round(backend).await;
    let app = &r.app;
    // A second trade, in another city (克拉玛依市).
    let officer = app.user("trading_centre").await;
    let ids: Vec<String> = r.committee.custodians.iter().map(User::id).collect();
    let mut terms = app.tender_terms(&ids);
    terms["region_code"] = json!("650200");
    let elsewhere = app.published_trade_with(&officer, &terms).await;

    let region = app.supervisor_of("650000").await;
    let city = app.supervisor_of("650100").await;
    let other_city = app.supervisor_of("650200").await;
    let bidder = app.user("bidder").await;
    let rival = app.user("bidder").await;
    let (status, _) = app
        .post(
            &format!("/api/v1/trades/{}/clarifications", r.trade),
            Some(&bidder.token),
            &json!({ "question": "工期能否顺延？" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    r.bid(&bidder, 9_870_000_001).await;
    r.bid(&rival, 9_650_000_002).await;

    let public = view(app, None).await;
    let regional = view(app, Some(&region)).await;
    let local = view(app, Some(&city)).await;
    let remote = view(app, Some(&other_city)).await;
    let own = view(app, Some(&bidder)).await;

    // Before opening no view but the bidder's own reveals a bidder: not its name, code or
    // id, nor who asked a question; bid entries carry no trade, so no per-trade count.
    // (An identity's opaque id is public from its registration; what must not appear is
    // anything tying it, its name or its code to the trade.)
    for (name, events) in [
        ("public", &public),
        ("region", &regional),
        ("city", &local),
        ("other city", &remote),
    ] {
        let about_the_trade: Vec<&Value> = events
            .iter()
            .filter(|e| {
                e["entry"]["trade"] == r.trade.as_str()
                    || e["entry"]["kind"]
                        .as_str()
                        .unwrap_or_default()
                        .starts_with("bid.")
            })
            .collect();
        for secret in [
            bidder.id(),
            rival.id(),
            bidder.identity["usci"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            bidder.identity["organization"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        ] {
            let found: Vec<&&Value> = about_the_trade
                .iter()
                .filter(|e| e.to_string().contains(&secret))
                .collect();
            assert!(
                found.is_empty(),
                "the {name} view ties a bidder ({secret}) to the trade before opening: {found:?}"
            );
        }
        for e in events.iter() {
            if e["entry"]["kind"] == "bid.received" {
                assert!(
                    e.get("private").is_none() && e["entry"]["trade"].is_null(),
                    "{name}: {e}"
                );
            }
        }
    }
    assert!(kinds_with_private(&public).is_empty());

    // The regional supervisor sees both cities' trades with who did what; the city
    // supervisor only its own city; neither sees the asker of a question yet.
    for (events, sees_here, sees_elsewhere) in [
        (&regional, true, true),
        (&local, true, false),
        (&remote, false, true),
    ] {
        assert_eq!(!of_trade(events, &r.trade).is_empty(), sees_here);
        assert_eq!(!of_trade(events, &elsewhere).is_empty(), sees_elsewhere);
        for e in of_trade(events, &r.trade)
            .into_iter()
            .chain(of_trade(events, &elsewhere))
        {
            let confidential = e["entry"]["kind"] == "clarification.asked";
            assert_eq!(e.get("private").is_some(), !confidential, "{e}");
        }
        let published = of_trade(events, &r.trade)
            .into_iter()
            .chain(of_trade(events, &elsewhere))
            .find(|e| e["entry"]["kind"] == "trade.published");
        if let Some(p) = published {
            assert!(
                p["private"]["actor"].is_string() && p["private"]["client_addr"] == "127.0.0.1",
                "{p}"
            );
        }
    }
    // The supervisors' own subscriptions are logged reads of confidential data.
    let opened_feeds: Vec<&Value> = own
        .iter()
        .filter(|e| e["entry"]["kind"] == "supervision.feed_opened")
        .collect();
    assert_eq!(
        opened_feeds.len(),
        3,
        "one logged read per supervisor subscription"
    );

    // The bidder sees its own actions with their private side, nobody else's.
    let mine = kinds_with_private(&own);
    for kind in ["identity.registered", "clarification.asked", "bid.received"] {
        assert!(
            mine.iter().any(|k| k == kind),
            "the bidder does not see its own {kind}: {mine:?}"
        );
    }
    for e in own.iter().filter(|e| e.get("private").is_some()) {
        assert_eq!(e["private"]["actor"], bidder.id().as_str(), "{e}");
    }
    let asked = own
        .iter()
        .find(|e| e["entry"]["kind"] == "clarification.asked")
        .unwrap_or_else(|| panic!("no clarification"));
    assert!(
        asked["private"]["sealed"]
            .to_string()
            .contains("工期能否顺延"),
        "{asked}"
    );

    // After the opening (two bids: the trade fails, but its bids are revealed), the city
    // supervisor sees who asked.
    app.clock.set(r.deadline + chrono::Duration::seconds(1));
    for i in 0..2 {
        let (status, body) = r.contribute(i).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let local = view(app, Some(&city)).await;
    let asked = local
        .iter()
        .find(|e| e["entry"]["kind"] == "clarification.asked")
        .unwrap_or_else(|| panic!("no clarification"));
    assert_eq!(asked["private"]["actor"], bidder.id().as_str(), "{asked}");
}
