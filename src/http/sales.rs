//! Live sales' quoting: `POST /api/v1/trades/{id}/quotes` (a numbered bidder), `GET
//! /api/v1/trades/{id}/sale` (anyone: the sale under bidder numbers), and the sealed
//! reserve price: `PUT /api/v1/trades/{id}/reserve` (the trading centre, before the
//! start) and `GET` (anyone: whether one is sealed, and its envelope's SHA-256).

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::routing::{get, post, put};
use axum::Router;

use super::error::Result;
use super::extract::{Json, Path};
use super::AppState;
use crate::engine::{Caller, NewQuote, QuoteAnswer, SaleView, SealedReserve, MAX_RESERVE_ENVELOPE};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/trades/{id}/quotes", post(quote))
        .route("/api/v1/trades/{id}/sale", get(sale))
        .route(
            "/api/v1/trades/{id}/reserve",
            put(seal_reserve)
                .get(reserve)
                .layer(DefaultBodyLimit::max(MAX_RESERVE_ENVELOPE)),
        )
}

/// The body is the sealed envelope's bytes (`application/octet-stream`).
async fn seal_reserve(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<uuid::Uuid>,
    body: std::result::Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<SealedReserve>> {
    let body = body?;
    Ok(Json(
        app.platform
            .seal_reserve(&caller, &id.to_string(), body.to_vec())
            .await?,
    ))
}

async fn reserve(
    State(app): State<AppState>,
    Path(id): Path<uuid::Uuid>,
) -> Result<Json<serde_json::Value>> {
    let sealed = app.platform.reserve_status(&id.to_string()).await?;
    Ok(Json(
        serde_json::json!({ "sealed": sealed.is_some(), "reserve": sealed }),
    ))
}

async fn quote(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<uuid::Uuid>,
    Json(body): Json<NewQuote>,
) -> Result<Json<QuoteAnswer>> {
    Ok(Json(
        app.platform.quote(&caller, &id.to_string(), body).await?,
    ))
}

async fn sale(State(app): State<AppState>, Path(id): Path<uuid::Uuid>) -> Result<Json<SaleView>> {
    Ok(Json(app.platform.sale_view(&id.to_string()).await?))
}
