//! Live sales' quoting: `POST /api/v1/trades/{id}/quotes` (a numbered bidder) and `GET
//! /api/v1/trades/{id}/sale` (anyone: the sale under bidder numbers).

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;

use super::error::Result;
use super::extract::{Json, Path};
use super::AppState;
use crate::engine::{Caller, NewQuote, QuoteAnswer, SaleView};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/trades/{id}/quotes", post(quote))
        .route("/api/v1/trades/{id}/sale", get(sale))
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
