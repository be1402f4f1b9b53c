//! Applications to live sales: `POST /api/v1/trades/{id}/applications` (bidder),
//! `GET …/applications` (trading centre, the trade's supervisors), `GET
//! …/applications/mine` (bidder), and `POST /api/v1/applications/{id}/qualify|reject`
//! (trading centre).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::Result;
use super::extract::{Json, Path};
use super::AppState;
use crate::domain::application::Application;
use crate::engine::{Caller, NewApplication};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/trades/{id}/applications",
            post(apply).get(applications),
        )
        .route("/api/v1/trades/{id}/applications/mine", get(mine))
        .route("/api/v1/applications/mine", get(all_mine))
        .route("/api/v1/applications/{id}/qualify", post(qualify))
        .route("/api/v1/applications/{id}/reject", post(reject))
}

async fn apply(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<uuid::Uuid>,
    Json(body): Json<NewApplication>,
) -> Result<(StatusCode, Json<Application>)> {
    let application = app.platform.apply(&caller, &id.to_string(), body).await?;
    Ok((StatusCode::CREATED, Json(application)))
}

async fn applications(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<uuid::Uuid>,
) -> Result<Json<Value>> {
    let all = app.platform.applications(&caller, &id.to_string()).await?;
    Ok(Json(json!({ "applications": all })))
}

/// The bidder workspace: the caller's applications on every trade.
async fn all_mine(State(app): State<AppState>, caller: Caller) -> Result<Json<Value>> {
    let applications = app.platform.my_applications(&caller).await?;
    Ok(Json(json!({ "applications": applications })))
}

async fn mine(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<uuid::Uuid>,
) -> Result<Json<Application>> {
    Ok(Json(
        app.platform
            .my_application(&caller, &id.to_string())
            .await?,
    ))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Decision {
    #[serde(default)]
    reason: Option<String>,
}

async fn qualify(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<uuid::Uuid>,
    Json(body): Json<Decision>,
) -> Result<Json<Application>> {
    Ok(Json(
        app.platform
            .decide_application(&caller, &id.to_string(), true, body.reason.as_deref())
            .await?,
    ))
}

async fn reject(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<uuid::Uuid>,
    Json(body): Json<Decision>,
) -> Result<Json<Application>> {
    Ok(Json(
        app.platform
            .decide_application(&caller, &id.to_string(), false, body.reason.as_deref())
            .await?,
    ))
}
