//! `/api/v1/region/…`: the region-wide view of the platforms this one follows
//! (docs/adr/0019, docs/interconnection.md): how far each followed log is verified, their
//! trades as mirrored (listed, searched, one with its results), and their open data.
//! Public, like the data it is built from.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::Result;
use super::extract::{Json, Query};
use super::AppState;
use crate::engine::{RegionQuery, RegionTradeDetail};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/region/platforms", get(platforms))
        .route("/api/v1/region/trades", get(trades))
        .route("/api/v1/region/trades/{platform}/{trade_id}", get(trade))
        .route("/api/v1/region/ocds/releases", get(releases))
}

async fn platforms(State(app): State<AppState>) -> Result<Json<Value>> {
    Ok(Json(json!({ "platforms": app.platform.followed().await? })))
}

async fn trades(State(app): State<AppState>, Query(q): Query<RegionQuery>) -> Result<Json<Value>> {
    let trades = app.platform.region_trades(&q).await?;
    Ok(Json(json!({ "trades": trades })))
}

async fn trade(
    State(app): State<AppState>,
    Path((platform, trade_id)): Path<(String, String)>,
) -> Result<Json<RegionTradeDetail>> {
    Ok(Json(app.platform.region_trade(&platform, &trade_id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReleasesQuery {
    platform: String,
    #[serde(default)]
    after: u64,
    #[serde(default = "default_limit")]
    limit: i64,
}

fn default_limit() -> i64 {
    100
}

async fn releases(State(app): State<AppState>, Query(q): Query<ReleasesQuery>) -> Result<Response> {
    let (package, next_after) = app
        .platform
        .region_releases(&q.platform, q.after, q.limit)
        .await?;
    let next = format!(
        "</api/v1/region/ocds/releases?platform={}&after={next_after}&limit={}>; rel=\"next\"",
        q.platform, q.limit
    );
    let link = [(header::LINK, next)];
    Ok(match package {
        Some(package) => (link, Json(package)).into_response(),
        None => (StatusCode::NO_CONTENT, link).into_response(),
    })
}
