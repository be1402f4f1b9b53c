//! `/api/v1/trades/{id}/opening`: the opening hall's state and record, custodians' shares
//! and contributions, and a supervisor's extension of the window.

use axum::extract::{DefaultBodyLimit, State};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method};
use axum::response::Response;

use super::error::Result;
use super::extract::{Json, Path};
use super::forward::where_opening_is_held;
use super::AppState;
use crate::domain::opening::{Contribution, OpeningStatus};
use crate::engine::Caller;

/// Largest contribution body: 64 MiB, about 500,000 bids' shares.
pub const MAX_CONTRIBUTION_BYTES: usize = 64 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/trades/{id}/opening", get(status))
        .route("/api/v1/trades/{id}/opening/shares", get(shares))
        .route(
            "/api/v1/trades/{id}/opening/contributions",
            post(contribute).layer(DefaultBodyLimit::max(MAX_CONTRIBUTION_BYTES)),
        )
        .route("/api/v1/trades/{id}/opening/extension", post(extend))
}

async fn status(
    State(app): State<AppState>,
    Path(id): Path<uuid::Uuid>,
) -> Result<Json<OpeningStatus>> {
    Ok(Json(app.platform.opening_status(&id.to_string()).await?))
}

/// A custodian's sealed shares ([`crate::domain::opening::ShareBundle`]), from the
/// instance holding the opening.
async fn shares(
    State(app): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<uuid::Uuid>,
) -> Result<Response> {
    let trade = id.to_string();
    let path = format!("/api/v1/trades/{trade}/opening/shares");
    where_opening_is_held(
        &app.platform,
        &caller,
        &headers,
        (Method::GET, path),
        None,
        || app.platform.opening_shares(&caller, &trade),
    )
    .await
}

/// A contribution, taken by the instance holding the opening
/// ([`crate::engine::ContributionOutcome`]).
async fn contribute(
    State(app): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<uuid::Uuid>,
    Json(contribution): Json<Contribution>,
) -> Result<Response> {
    let trade = id.to_string();
    let path = format!("/api/v1/trades/{trade}/opening/contributions");
    let body = serde_json::to_vec(&contribution).map(Bytes::from).ok();
    where_opening_is_held(
        &app.platform,
        &caller,
        &headers,
        (Method::POST, path),
        body,
        || {
            app.platform
                .contribute(&caller, &trade, contribution.clone())
        },
    )
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Extension {
    minutes: i64,
    reason: String,
}

async fn extend(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<uuid::Uuid>,
    Json(extension): Json<Extension>,
) -> Result<Json<OpeningStatus>> {
    Ok(Json(
        app.platform
            .extend_opening(
                &caller,
                &id.to_string(),
                extension.minutes,
                &extension.reason,
            )
            .await?,
    ))
}
