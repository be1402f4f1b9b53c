//! The expert pool: `PUT`/`GET /api/v1/experts/me` (an expert's own profile), `GET
//! /api/v1/experts/me/assignments` (the trades it was drawn for) and `GET
//! /api/v1/experts` (the trading centre, supervisors, administrators; a logged read); a
//! trade's expert draw: `POST`/`GET /api/v1/trades/{id}/evaluation/draw`.

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use super::error::Result;
use super::extract::{Json, Path};
use super::AppState;
use crate::domain::expert_draw::ExpertProfile;
use crate::engine::{Assignment, Caller, DrawOrder, DrawView};
use crate::store::experts::PoolEntry;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/experts/me", get(mine).put(set))
        .route("/api/v1/experts/me/assignments", get(assignments))
        .route("/api/v1/experts", get(pool))
        .route(
            "/api/v1/trades/{id}/evaluation/draw",
            get(committee_draw).post(draw_committee),
        )
}

async fn draw_committee(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<uuid::Uuid>,
    Json(order): Json<DrawOrder>,
) -> Result<Json<DrawView>> {
    Ok(Json(
        app.platform
            .draw_committee(&caller, &id.to_string(), order)
            .await?,
    ))
}

async fn committee_draw(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<uuid::Uuid>,
) -> Result<Json<DrawView>> {
    Ok(Json(
        app.platform
            .committee_draw(&caller, &id.to_string())
            .await?,
    ))
}

async fn set(
    State(app): State<AppState>,
    caller: Caller,
    Json(profile): Json<ExpertProfile>,
) -> Result<Json<PoolEntry>> {
    Ok(Json(
        app.platform.set_expert_profile(&caller, profile).await?,
    ))
}

async fn mine(State(app): State<AppState>, caller: Caller) -> Result<Json<PoolEntry>> {
    Ok(Json(app.platform.my_expert_profile(&caller).await?))
}

async fn pool(State(app): State<AppState>, caller: Caller) -> Result<Json<Value>> {
    let experts = app.platform.expert_pool(&caller).await?;
    Ok(Json(json!({ "experts": experts })))
}

async fn assignments(State(app): State<AppState>, caller: Caller) -> Result<Json<Value>> {
    let assignments: Vec<Assignment> = app.platform.my_assignments(&caller).await?;
    Ok(Json(json!({ "assignments": assignments })))
}
