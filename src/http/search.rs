//! `GET /api/v1/search?q=…`: public search of announcements and results (ADR 0015).

use axum::extract::State;
use axum::routing::get;
use axum::Router;

use super::error::Result;
use super::extract::{Json, Query};
use super::AppState;
use crate::engine::{SearchPage, SearchParams};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/search", get(search))
}

async fn search(
    State(app): State<AppState>,
    Query(params): Query<SearchParams>,
) -> Result<Json<SearchPage>> {
    Ok(Json(app.platform.search(params).await?))
}
