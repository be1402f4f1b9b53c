//! Money of live sales: `POST /api/v1/bank/notifications` and `POST
//! /api/v1/bank/refund-claims` (banks, authenticated by HMAC-SHA256 headers, not by a
//! session), `GET /api/v1/trades/{id}/money` (the trading centre and the trade's
//! supervisors) and `GET /api/v1/trades/{id}/money/mine` (a bidder, its own).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use super::error::{ApiError, Result};
use super::extract::{Json, Path};
use super::AppState;
use crate::engine::{Caller, ClaimedRefunds, MyMoney, SignedNotification, TradeMoney};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/bank/notifications", post(notification))
        .route("/api/v1/bank/refund-claims", post(refund_claim))
        .route("/api/v1/trades/{id}/money", get(money))
        .route("/api/v1/trades/{id}/money/mine", get(my_money))
}

fn header<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ApiError::request(
                StatusCode::UNAUTHORIZED,
                "bank_headers_missing",
                format!("a bank notification needs the {name} header"),
            )
        })
}

/// Records a notification: `200` with its outcome, also for a repeat (`repeated: true`).
async fn notification(
    State(app): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: std::result::Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<Value>> {
    let body = body?;
    let signed = signed(&headers, &body)?;
    let record = app.platform.bank_notification(&caller, signed).await?;
    Ok(Json(json!({
        "outcome": record.outcome,
        "counted": record.outcome == "deposit_confirmed" || record.outcome == "refund_confirmed",
        "repeated": record.repeated,
        "application": record.application_id,
        "refund": record.refund_id,
        "seq": record.seq,
    })))
}

fn signed<'a>(headers: &'a HeaderMap, body: &'a [u8]) -> Result<SignedNotification<'a>> {
    Ok(SignedNotification {
        bank_id: header(headers, "x-bank-id")?,
        timestamp: header(headers, "x-bank-timestamp")?,
        signature: header(headers, "x-bank-signature")?,
        body,
    })
}

/// A bank takes its pending refund instructions: `200` with them, now `sent`.
async fn refund_claim(
    State(app): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: std::result::Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<ClaimedRefunds>> {
    let body = body?;
    let signed = signed(&headers, &body)?;
    Ok(Json(app.platform.claim_refunds(&caller, signed).await?))
}

async fn money(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<uuid::Uuid>,
) -> Result<Json<TradeMoney>> {
    Ok(Json(
        app.platform.trade_money(&caller, &id.to_string()).await?,
    ))
}

async fn my_money(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<uuid::Uuid>,
) -> Result<Json<MyMoney>> {
    Ok(Json(
        app.platform
            .my_trade_money(&caller, &id.to_string())
            .await?,
    ))
}
