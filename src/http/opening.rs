//! `/api/v1/trades/{id}/opening`: the opening hall's state and record, custodians' shares
//! and contributions, and a supervisor's extension of the window.

use axum::extract::{DefaultBodyLimit, State};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::error::Result;
use super::extract::{Json, Path};
use super::AppState;
use crate::domain::opening::{Contribution, OpeningStatus, ShareBundle};
use crate::engine::{Caller, ContributionOutcome};

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

async fn shares(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<uuid::Uuid>,
) -> Result<Json<ShareBundle>> {
    Ok(Json(
        app.platform
            .opening_shares(&caller, &id.to_string())
            .await?,
    ))
}

async fn contribute(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<uuid::Uuid>,
    Json(contribution): Json<Contribution>,
) -> Result<Json<ContributionOutcome>> {
    Ok(Json(
        app.platform
            .contribute(&caller, &id.to_string(), contribution)
            .await?,
    ))
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
