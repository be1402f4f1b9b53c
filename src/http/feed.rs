//! `GET /api/v1/feed?after=N` (WebSocket): the live monitoring feed. Entries after `N` in
//! sequence order as the caller's role may see them (docs/api.md, "Feed"), caught up from
//! the store and then live, with a heartbeat while nothing happens.

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use futures_util::SinkExt as _;
use serde::Deserialize;
use serde_json::json;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::error::{ApiError, Result};
use super::extract::Query;
use super::limits::SubscriberSlot;
use super::AppState;
use crate::engine::{Caller, EngineError, Platform, Subscription};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/feed", get(feed))
}

/// Default seconds between heartbeats.
const HEARTBEAT_SECONDS: u64 = 15;
/// After an entry, how long to wait for others to send with it in one write: many
/// subscribers each woken for every entry would cost more than this delay.
const COALESCE: Duration = Duration::from_millis(50);
/// Bytes of frames a subscriber buffers while its socket is full (see [`upgrade`]).
const WRITE_BUFFER: usize = 16 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedQuery {
    #[serde(default)]
    after: i64,
    /// Seconds between heartbeats, 1 to 60.
    heartbeat: Option<u64>,
}

async fn feed(
    State(app): State<AppState>,
    caller: Caller,
    Query(q): Query<FeedQuery>,
    ws: std::result::Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response> {
    let heartbeat = q.heartbeat.unwrap_or(HEARTBEAT_SECONDS);
    if !(1..=60).contains(&heartbeat) {
        return Err(
            EngineError::invalid("invalid_query", "heartbeat must be 1 to 60 seconds").into(),
        );
    }
    // Refusals (a bad `after`) are plain HTTP errors, before the upgrade.
    let ws = ws.map_err(|_| {
        ApiError::request(
            StatusCode::BAD_REQUEST,
            "websocket_required",
            "the feed is a WebSocket: send an upgrade request",
        )
    })?;
    let slot = app.limits.subscribe(holder(&caller))?;
    let subscription = app.platform.subscribe(&caller, q.after).await?;
    let hello = status("hello", &app.platform, &subscription);
    Ok(upgrade(
        ws,
        app.platform.clone(),
        subscription,
        hello,
        Duration::from_secs(heartbeat),
        slot,
    ))
}

/// Upgrades to a WebSocket that sends `hello`, then the subscription's entries (see
/// [`stream`]) on the fan-out runtime, holding `slot` until it ends. Shared by the feed
/// and the live rooms.
pub(super) fn upgrade(
    ws: WebSocketUpgrade,
    platform: Arc<Platform>,
    subscription: Subscription,
    hello: Message,
    heartbeat: Duration,
    slot: SubscriberSlot,
) -> Response {
    // Subscribers only listen: small read buffers keep thousands of them cheap (each read
    // attempt zeroes the buffer's free space). A subscriber whose socket is full holds at
    // most WRITE_BUFFER of frames, then stops taking entries until the socket drains; the
    // broadcast keeps them meanwhile, and one that falls further behind catches up from
    // the store. 16 KiB is a few dozen entries: 5,000 congested watchers hold 80 MiB, not
    // the 640 MiB of the default 128 KiB.
    let ws = ws
        .write_buffer_size(WRITE_BUFFER)
        .read_buffer_size(512)
        .max_message_size(64 * 1024)
        .max_frame_size(64 * 1024);
    ws.on_upgrade(move |socket| {
        fan_out(async move {
            stream(platform, subscription, socket, hello, heartbeat).await;
            drop(slot);
        })
    })
}

/// Runs a subscriber's stream on the fan-out runtime, threads of its own, and waits for
/// it to end. Thousands of subscribers woken by one entry would otherwise queue in front
/// of the tasks that keep the platform moving (the feed's hub reading the log, requests,
/// commits): on threads of their own, the operating system shares the cores between the
/// two kinds of work instead (docs/benchmarks.md, "bench feed").
async fn fan_out(stream: impl std::future::Future<Output = ()> + Send + 'static) {
    static FAN_OUT: OnceLock<Option<tokio::runtime::Runtime>> = OnceLock::new();
    let runtime = FAN_OUT.get_or_init(|| {
        let threads = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("tradehall-fan-out")
            .enable_all()
            .build()
            .map_err(
                |e| tracing::warn!(error = %e, "no fan-out runtime: streams share the main one"),
            )
            .ok()
    });
    match runtime {
        Some(runtime) => {
            let _ = runtime.spawn(stream).await;
        }
        None => stream.await,
    }
}

/// Whose WebSocket subscriptions a caller's count against: its identity, or when
/// anonymous its address.
pub(super) fn holder(caller: &Caller) -> String {
    match (&caller.identity, &caller.client_addr) {
        (Some(identity), _) => format!("identity:{}", identity.id),
        (None, Some(addr)) => format!("address:{addr}"),
        (None, None) => "address:unknown".to_owned(),
    }
}

pub(super) fn status(kind: &str, platform: &Platform, subscription: &Subscription) -> Message {
    Message::Text(
        json!({
            "type": kind,
            "view": subscription.view(),
            "head": platform.feed_head(),
            "server_time": crate::domain::clock::rfc3339(platform.clock.now()),
        })
        .to_string()
        .into(),
    )
}

fn text(frame: crate::engine::Frame) -> Message {
    Message::Text(
        axum::extract::ws::Utf8Bytes::try_from(frame.json)
            .unwrap_or_else(|_| axum::extract::ws::Utf8Bytes::from_static("{}")),
    )
}

/// Sends `hello`, then the subscription's entries as they come, with a heartbeat while
/// nothing happens, until either side stops. Shared by the feed and the live rooms.
async fn stream(
    platform: Arc<Platform>,
    mut subscription: Subscription,
    mut socket: WebSocket,
    hello: Message,
    heartbeat: Duration,
) {
    if socket.send(hello).await.is_err() {
        return;
    }
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + heartbeat, heartbeat);
    loop {
        let message = tokio::select! {
            next = subscription.next(&platform) => match next {
                Ok(Some(frame)) => {
                    if socket.feed(text(frame)).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(COALESCE).await;
                    while let Some(frame) = subscription.try_next() {
                        if socket.feed(text(frame)).await.is_err() {
                            return;
                        }
                    }
                    if socket.flush().await.is_err() {
                        return;
                    }
                    continue;
                }
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "feed subscriber stopped");
                    let _ = socket
                        .send(Message::Text(
                            json!({ "type": "error", "code": "feed_unavailable", "message": e.to_string() })
                                .to_string()
                                .into(),
                        ))
                        .await;
                    return;
                }
            },
            _ = tick.tick() => status("heartbeat", &platform, &subscription),
            received = socket.recv() => match received {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => continue,
            },
        };
        if socket.send(message).await.is_err() {
            return;
        }
    }
}
