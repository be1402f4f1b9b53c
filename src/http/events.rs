//! `GET /api/v1/events?after=N&limit=M`: the public projection of the ordered log.

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::Result;
use super::extract::{Json, Query};
use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/events", get(list))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsQuery {
    #[serde(default)]
    after: i64,
    limit: Option<i64>,
}

async fn list(State(app): State<AppState>, Query(q): Query<EventsQuery>) -> Result<Json<Value>> {
    let events = app
        .platform
        .events_after(q.after, q.limit.unwrap_or(100))
        .await?;
    let next_after = events.last().map_or(q.after, |e| e.seq);
    Ok(Json(json!({ "events": events, "next_after": next_after })))
}
