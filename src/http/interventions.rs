//! Supervisors' interventions: `POST /api/v1/trades/{id}/suspend`, `…/resume` and
//! `…/terminate`, each with `{"reason": "…"}`; the answer is the trade.

use axum::extract::State;
use axum::routing::post;
use axum::Router;
use serde::Deserialize;

use super::error::Result;
use super::extract::{Json, Path};
use super::AppState;
use crate::domain::trade::Trade;
use crate::engine::Caller;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/trades/{id}/suspend", post(suspend))
        .route("/api/v1/trades/{id}/resume", post(resume))
        .route("/api/v1/trades/{id}/terminate", post(terminate))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reason {
    reason: String,
}

async fn suspend(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<uuid::Uuid>,
    Json(body): Json<Reason>,
) -> Result<Json<Trade>> {
    Ok(Json(
        app.platform
            .suspend_trade(&caller, &id.to_string(), &body.reason)
            .await?,
    ))
}

async fn resume(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<uuid::Uuid>,
    Json(body): Json<Reason>,
) -> Result<Json<Trade>> {
    Ok(Json(
        app.platform
            .resume_trade(&caller, &id.to_string(), &body.reason)
            .await?,
    ))
}

async fn terminate(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<uuid::Uuid>,
    Json(body): Json<Reason>,
) -> Result<Json<Trade>> {
    Ok(Json(
        app.platform
            .terminate_trade(&caller, &id.to_string(), &body.reason)
            .await?,
    ))
}
