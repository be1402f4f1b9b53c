//! Abuse limits (docs/security.md, "Limits"): rates per address and per identity with a
//! clear 429, the WebSocket cap per holder, and slow clients that cannot starve an honest
//! bidder on deadline day. The limits live in the HTTP layer, the same over either store,
//! so these run on SQLite.

use reqwest::StatusCode;
use serde_json::{json, Value};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::helpers::{code, put_bid, spawn_app_with, Backend, TestApp};
use tradehall::config::LimitArgs;
use tradehall::config::Mode;

async fn app_with(limits: LimitArgs) -> TestApp {
    spawn_app_with(Backend::Sqlite, Mode::Demo, move |args| {
        args.limits = limits;
    })
    .await
}

/// A client whose requests come from `addr` (any 127/8 address is this machine's).
fn client_from(addr: Ipv4Addr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(addr))
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn challenge(app: &TestApp, client: &reqwest::Client) -> (StatusCode, Value, Option<String>) {
    let resp = client
        .post(app.url("/api/v1/auth/challenge"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = resp.status();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (
        status,
        resp.json().await.unwrap_or(Value::Null),
        retry_after,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_over_the_rate_of_an_address_get_429_and_other_addresses_do_not() {
    let app = app_with(LimitArgs {
        login_per_address: 5,
        ..LimitArgs::unlimited()
    })
    .await;
    let flooder = client_from(Ipv4Addr::new(127, 0, 0, 2));
    for _ in 0..5 {
        assert_eq!(challenge(&app, &flooder).await.0, StatusCode::OK);
    }
    let (status, body, retry_after) = challenge(&app, &flooder).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(code(&body), "rate_limited");
    let wait: u64 = retry_after.and_then(|v| v.parse().ok()).unwrap_or(0);
    assert!((1..=12).contains(&wait), "Retry-After {wait}");
    assert_eq!(body["error"]["retry_after"], json!(wait));
    // Another address, and requests that are not logins, are not held back.
    let honest = client_from(Ipv4Addr::new(127, 0, 0, 3));
    assert_eq!(challenge(&app, &honest).await.0, StatusCode::OK);
    let (status, _) = app.get("/api/v1/trades", None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_with_one_certificate_are_limited_whatever_the_address() {
    let app = app_with(LimitArgs {
        login_per_identity: 2,
        ..LimitArgs::unlimited()
    })
    .await;
    let bidder = app.user("bidder").await; // registers and logs in once
    let (status, _) = app.try_login(&bidder.cert_pem, &bidder.signer).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app.try_login(&bidder.cert_pem, &bidder.signer).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(code(&body), "rate_limited");
    // Re-wrapping the certificate's PEM does not make it another identity.
    let rewrapped = bidder.cert_pem.replace('\n', "\r\n");
    let (status, _) = app.try_login(&rewrapped, &bidder.signer).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let other = app.user("bidder").await;
    assert!(!other.token.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submissions_and_quotes_are_limited_per_identity_before_the_body_is_read() {
    let app = app_with(LimitArgs {
        submit_per_identity: 2,
        quote_per_identity: 3,
        ..LimitArgs::unlimited()
    })
    .await;
    let (officer, committee) = app.officer_and_committee().await;
    let trade = app.published_trade(&officer, &committee).await;
    let greedy = app.user("bidder").await;
    let other = app.user("bidder").await;
    // Not envelopes at all: refused on their merits, but counted.
    for _ in 0..2 {
        let (status, body) = put_bid(&app, &greedy.token, &trade, b"junk".to_vec()).await;
        assert_ne!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    }
    let (status, body) = put_bid(&app, &greedy.token, &trade, b"junk".to_vec()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(code(&body), "rate_limited");
    let (status, _) = put_bid(&app, &other.token, &trade, b"junk".to_vec()).await;
    assert_ne!(status, StatusCode::TOO_MANY_REQUESTS);

    let quote = json!({"amount": 100_000, "client_quote_id": "q"});
    let path = format!("/api/v1/trades/{trade}/quotes");
    for _ in 0..3 {
        let (status, body) = app.post(&path, Some(&greedy.token), &quote).await;
        assert_ne!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    }
    let (status, body) = app.post(&path, Some(&greedy.token), &quote).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let (status, _) = app.post(&path, Some(&other.token), &quote).await;
    assert_ne!(status, StatusCode::TOO_MANY_REQUESTS);

    // Before the body is read: a submission over the rate is answered 429 on its headers
    // alone, its 8 MiB body never sent; one within the rate waits for its body.
    let answer = headers_only(&app, &greedy.token, &trade, 8 * 1024 * 1024).await;
    assert!(
        answer.starts_with("HTTP/1.1 429") && answer.contains("rate_limited"),
        "{answer:?}"
    );
    let answer = headers_only(&app, &other.token, &trade, 8 * 1024 * 1024).await;
    assert_eq!(
        answer, "",
        "a submission within the rate waits for its body"
    );
}

/// Sends only the headers of a bid submission announcing `length` bytes of body; what the
/// server answers within two seconds ("" for nothing).
async fn headers_only(app: &TestApp, token: &str, trade: &str, length: usize) -> String {
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let head = format!(
        "PUT /api/v1/trades/{trade}/bid HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/octet-stream\r\nContent-Length: {length}\r\n\r\n"
    );
    stream
        .write_all(head.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut answer = vec![0_u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut answer))
        .await
        .map_or(0, |read| read.unwrap_or(0));
    String::from_utf8_lossy(&answer[..n]).into_owned()
}

/// `client` submitting not-an-envelope as a bid for `trade`.
async fn put_junk_from(
    client: &reqwest::Client,
    app: &TestApp,
    token: &str,
    trade: &str,
) -> (StatusCode, Value) {
    let request = client
        .put(app.url(&format!("/api/v1/trades/{trade}/bid")))
        .body(b"junk".to_vec());
    answer(request, token).await
}

/// `client` quoting in `trade`.
async fn quote_from(
    client: &reqwest::Client,
    app: &TestApp,
    token: &str,
    trade: &str,
) -> (StatusCode, Value) {
    let request = client
        .post(app.url(&format!("/api/v1/trades/{trade}/quotes")))
        .json(&json!({"amount": 100_000, "client_quote_id": "q"}));
    answer(request, token).await
}

async fn answer(request: reqwest::RequestBuilder, token: &str) -> (StatusCode, Value) {
    let resp = request
        .bearer_auth(token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submissions_and_quotes_from_one_address_are_limited_whoever_sends_them() {
    let app = app_with(LimitArgs {
        submit_per_address: 2,
        quote_per_address: 2,
        ..LimitArgs::unlimited()
    })
    .await;
    let (officer, committee) = app.officer_and_committee().await;
    let trade = app.published_trade(&officer, &committee).await;
    let bidders = [
        app.user("bidder").await,
        app.user("bidder").await,
        app.user("bidder").await,
    ];
    // Three bidders behind one address (one office's NAT): the address's rate holds
    // whoever sends; the same bidder from another address goes on.
    let office = client_from(Ipv4Addr::new(127, 0, 0, 7));
    let elsewhere = client_from(Ipv4Addr::new(127, 0, 0, 8));
    for b in &bidders[..2] {
        let (status, body) = put_junk_from(&office, &app, &b.token, &trade).await;
        assert_ne!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    }
    let (status, body) = put_junk_from(&office, &app, &bidders[2].token, &trade).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
        "{body}"
    );
    let (status, body) = put_junk_from(&elsewhere, &app, &bidders[2].token, &trade).await;
    assert_ne!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");

    for b in &bidders[..2] {
        let (status, body) = quote_from(&office, &app, &b.token, &trade).await;
        assert_ne!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    }
    let (status, body) = quote_from(&office, &app, &bidders[2].token, &trade).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
        "{body}"
    );
    let (status, body) = quote_from(&elsewhere, &app, &bidders[2].token, &trade).await;
    assert_ne!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bidder_cannot_grow_the_permanent_log_without_limit() {
    let app = app_with(LimitArgs {
        logged_per_identity: 10,
        ..LimitArgs::unlimited()
    })
    .await;
    let (officer, committee) = app.officer_and_committee().await;
    let trade = app.published_trade(&officer, &committee).await;
    let (_, view) = app.get(&format!("/api/v1/trades/{trade}"), None).await;
    let document = format!(
        "/api/v1/documents/{}",
        view["documents"][0]["sha256"].as_str().unwrap_or_default()
    );
    let greedy = app.user("bidder").await;
    let other = app.user("bidder").await;
    let (_, before) = app.get("/api/v1/events?after=0&limit=1000", None).await;
    // Each download by a bidder and each question is a log entry: ten, then no more.
    for n in 0..10 {
        let (status, body) = if n % 2 == 0 {
            app.get(&document, Some(&greedy.token)).await
        } else {
            app.post(
                &format!("/api/v1/trades/{trade}/clarifications"),
                Some(&greedy.token),
                &json!({ "question": "q".repeat(4000) }),
            )
            .await
        };
        assert_ne!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    }
    let (status, body) = app.get(&document, Some(&greedy.token)).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
        "{body}"
    );
    let (status, _) = app
        .post(
            &format!("/api/v1/trades/{trade}/clarifications"),
            Some(&greedy.token),
            &json!({ "question": "one more" }),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let (_, after) = app.get("/api/v1/events?after=0&limit=1000", None).await;
    let grown = after["events"].as_array().map_or(0, Vec::len)
        - before["events"].as_array().map_or(0, Vec::len);
    assert_eq!(grown, 10, "only what was allowed went into the log");
    // Anyone may still read the document without a session; another bidder acts.
    let (status, _) = app.get(&document, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.get(&document, Some(&other.token)).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_subscriptions_are_capped_per_holder_and_a_closed_one_frees_its_place() {
    let app = app_with(LimitArgs {
        subscribers_per_identity: 2,
        ..LimitArgs::unlimited()
    })
    .await;
    let url = app.url("/api/v1/feed").replace("http://", "ws://");
    let connect = || tokio_tungstenite::connect_async(url.clone());
    let first = connect().await.unwrap_or_else(|e| panic!("{e}"));
    let _second = connect().await.unwrap_or_else(|e| panic!("{e}"));
    match connect().await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status().as_u16(), 429);
            let body: Value = serde_json::from_slice(resp.body().as_deref().unwrap_or_default())
                .unwrap_or(Value::Null);
            assert_eq!(code(&body), "too_many_subscriptions");
        }
        other => panic!(
            "a third subscription was not refused: {:?}",
            other.map(|_| ())
        ),
    }
    // A signed-in supervisor is another holder.
    let supervisor = app.supervisor_of("650000").await;
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
            url.as_str(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let bearer = format!("Bearer {}", supervisor.token)
        .parse()
        .unwrap_or_else(|e| panic!("{e:?}"));
    request.headers_mut().insert("authorization", bearer);
    assert!(tokio_tungstenite::connect_async(request).await.is_ok());
    // Closing one frees its place once the server has seen the close.
    let (mut first, _) = first;
    first.close(None).await.unwrap_or_else(|e| panic!("{e}"));
    drop(first);
    let mut reopened = false;
    for _ in 0..100 {
        if connect().await.is_ok() {
            reopened = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(reopened, "a closed subscription kept its place");
}

/// Opens a connection from `addr` that sends half a request's headers and then nothing.
async fn slow_headers(app: &TestApp, addr: Ipv4Addr) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap_or_else(|e| panic!("{e}"));
    socket
        .bind((addr, 0).into())
        .unwrap_or_else(|e| panic!("{e}"));
    let server = app
        .base
        .trim_start_matches("http://")
        .parse()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut stream = socket
        .connect(server)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    stream
        .write_all(b"GET /api/v1/trades HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    stream
}

/// Whether the server has closed `stream` (reads end of file or a reset).
async fn closed_by_server(stream: &mut tokio::net::TcpStream) -> bool {
    let mut buf = [0u8; 256];
    matches!(
        tokio::time::timeout(Duration::from_secs(20), stream.read(&mut buf)).await,
        Ok(Ok(0) | Err(_))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_do_not_starve_an_honest_bidder_and_are_cut_off() {
    let app = app_with(LimitArgs {
        connections_per_address: 50,
        header_seconds: 2,
        body_idle_seconds: 2,
        ..LimitArgs::unlimited()
    })
    .await;
    let (officer, committee) = app.officer_and_committee().await;
    let trade = app.published_trade(&officer, &committee).await;
    let attacker = app.user("bidder").await;
    let honest = app.user("bidder").await;
    let evil = Ipv4Addr::new(127, 0, 0, 9);

    // Slowloris: the attacker's address fills its 50 connections with headers that never
    // end; the 51st is closed at once.
    let mut slow = Vec::new();
    for _ in 0..50 {
        slow.push(slow_headers(&app, evil).await);
    }
    let mut over = slow_headers(&app, evil).await;
    assert!(
        closed_by_server(&mut over).await,
        "the 51st connection was kept"
    );

    // Slow uploads: bids whose bodies trickle a few bytes and stall.
    let mut uploads = Vec::new();
    for _ in 0..20 {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
        let body = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|chunk| (chunk, rx))
        });
        let request = client_from(evil)
            .put(app.url(&format!("/api/v1/trades/{trade}/bid")))
            .bearer_auth(&attacker.token)
            .body(reqwest::Body::wrap_stream(body))
            .send();
        uploads.push(tokio::spawn(async move {
            let _ = tx.send(Ok(b"THB".to_vec())).await;
            // The sender stays open (the upload never ends) until the server answers.
            let answer = request.await;
            drop(tx);
            answer.map(|r| r.status())
        }));
    }

    // Meanwhile the honest bidder, from another address, is served as usual.
    let (status, _) = app
        .get(&format!("/api/v1/trades/{trade}"), Some(&honest.token))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = put_bid(&app, &honest.token, &trade, b"not an envelope".to_vec()).await;
    assert_eq!(status.as_u16() / 100, 4, "{body}");
    assert_ne!(status, StatusCode::TOO_MANY_REQUESTS);
    let (status, _) = app.get("/healthz", None).await;
    assert_eq!(status, StatusCode::OK);

    // The slow ones are cut off by the header and body timeouts, not kept forever.
    for mut stream in slow {
        assert!(
            closed_by_server(&mut stream).await,
            "a slowloris connection stayed open"
        );
    }
    for upload in uploads {
        let answer = tokio::time::timeout(Duration::from_secs(30), upload)
            .await
            .unwrap_or_else(|_| panic!("a stalled upload was never cut off"))
            .unwrap_or_else(|e| panic!("{e}"));
        if let Ok(status) = answer {
            assert!(!status.is_success(), "a stalled upload was accepted");
        }
    }
    // Its places are free again.
    let mut again = slow_headers(&app, evil).await;
    let mut buf = [0u8; 1];
    assert!(
        tokio::time::timeout(Duration::from_millis(300), again.read(&mut buf))
            .await
            .is_err(),
        "a new connection from the address was refused after the slow ones ended"
    );
}
