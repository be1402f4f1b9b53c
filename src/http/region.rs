//! `/api/v1/region/…`: the region-wide view of the platforms this one follows
//! (docs/adr/0019): how far each followed log is verified, and their trades as mirrored.

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::Result;
use super::extract::{Json, Query};
use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/region/platforms", get(platforms))
        .route("/api/v1/region/trades", get(trades))
}

async fn platforms(State(app): State<AppState>) -> Result<Json<Value>> {
    Ok(Json(json!({ "platforms": app.platform.followed().await? })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TradesQuery {
    limit: Option<i64>,
}

async fn trades(State(app): State<AppState>, Query(q): Query<TradesQuery>) -> Result<Json<Value>> {
    let trades = app.platform.region_trades(q.limit.unwrap_or(100)).await?;
    Ok(Json(json!({ "trades": trades })))
}
