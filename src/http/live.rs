//! `GET /api/v1/trades/{id}/live[?after=N]` (WebSocket): a live sale's room. Without
//! `after`: a snapshot of the sale (best quote, countdown as a server-time deadline and
//! the remaining milliseconds, the quote history under bidder numbers, the caller's
//! standing), then every later entry of the trade as the feed sends it. With `after` (a
//! reconnect): the trade's entries after that log index, caught up from the store, then
//! live, so nothing is missed. Heartbeats carry the server's time.

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use serde_json::json;
use std::time::Duration;

use super::error::{ApiError, Result};
use super::extract::{Path, Query};
use super::feed::{status, upgrade};
use super::AppState;
use crate::engine::Caller;

/// Seconds between heartbeats in a live room: often enough to keep a countdown honest.
const HEARTBEAT_SECONDS: u64 = 5;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/trades/{id}/live", get(room))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoomQuery {
    after: Option<i64>,
}

async fn room(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<uuid::Uuid>,
    Query(q): Query<RoomQuery>,
    ws: std::result::Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response> {
    let platform = app.platform.clone();
    // The log head before the view: every step after it is newer than the view, and the
    // view holds every step up to it (a later step raises `view.seq`).
    let head = platform.feed_head();
    // Refusals (not a live sale, a bad `after`) are plain HTTP errors, before the upgrade.
    let view = platform.sale_view(&id.to_string()).await?;
    let ws = ws.map_err(|_| {
        ApiError::request(
            StatusCode::BAD_REQUEST,
            "websocket_required",
            "the live room is a WebSocket: send an upgrade request",
        )
    })?;
    let (subscription, hello) = match q.after {
        Some(after) if after < 0 => {
            return Err(crate::engine::EngineError::invalid(
                "invalid_query",
                "after must be zero or positive",
            )
            .into())
        }
        Some(after) => {
            let subscription = platform.subscribe_trade(&view.trade_id, after);
            let hello = status("hello", &platform, &subscription);
            (subscription, hello)
        }
        None => {
            let you = platform.standing(&caller, &view).await?;
            let subscription = platform.subscribe_trade(&view.trade_id, view.seq.max(head));
            let mut snapshot = serde_json::to_value(&view).unwrap_or_default();
            snapshot["type"] = json!("snapshot");
            snapshot["you"] = json!(you);
            (subscription, Message::Text(snapshot.to_string().into()))
        }
    };
    let slot = app.limits.subscribe(super::feed::holder(&caller))?;
    Ok(upgrade(
        ws,
        platform,
        subscription,
        hello,
        Duration::from_secs(HEARTBEAT_SECONDS),
        slot,
    ))
}
