//! `/api/v1/log/…`: the transparency log's raw entries and Merkle proofs
//! (docs/transparency-log.md).

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use super::error::Result;
use super::extract::{Json, Query};
use super::AppState;
use crate::engine::{ConsistencyProof, CosignedCheckpoint, InclusionProof, RawEntry};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/log/checkpoint", get(checkpoint))
        .route("/api/v1/log/entries", get(entries))
        .route("/api/v1/log/proof/inclusion", get(inclusion))
        .route("/api/v1/log/proof/consistency", get(consistency))
        .route(
            "/api/v1/log/cosignatures",
            get(cosignatures).post(add_cosignature),
        )
}

/// Each witness's newest cosigned checkpoint.
async fn cosignatures(State(app): State<AppState>) -> Result<Json<serde_json::Value>> {
    let cosigned = app.platform.cosigned_checkpoints().await?;
    Ok(Json(serde_json::json!({ "cosignatures": cosigned })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewCosignature {
    /// One of this platform's signed checkpoints (note text).
    checkpoint: String,
    /// The witness's signature line over it.
    cosignature: String,
}

/// A witness hands over its cosignature of one of this log's checkpoints.
async fn add_cosignature(
    State(app): State<AppState>,
    Json(c): Json<NewCosignature>,
) -> Result<Json<CosignedCheckpoint>> {
    Ok(Json(
        app.platform
            .accept_cosignature(&c.checkpoint, &c.cosignature)
            .await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Range {
    start: u64,
    end: u64,
}

async fn entries(
    State(app): State<AppState>,
    Query(q): Query<Range>,
) -> Result<Json<serde_json::Value>> {
    let entries: Vec<RawEntry> = app.platform.log_entries(q.start, q.end).await?;
    Ok(Json(serde_json::json!({ "entries": entries })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Inclusion {
    index: u64,
    size: u64,
}

async fn inclusion(
    State(app): State<AppState>,
    Query(q): Query<Inclusion>,
) -> Result<Json<InclusionProof>> {
    Ok(Json(app.platform.inclusion_proof(q.index, q.size).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Consistency {
    first: u64,
    second: u64,
}

async fn consistency(
    State(app): State<AppState>,
    Query(q): Query<Consistency>,
) -> Result<Json<ConsistencyProof>> {
    Ok(Json(
        app.platform.consistency_proof(q.first, q.second).await?,
    ))
}

async fn checkpoint(State(app): State<AppState>) -> Result<impl axum::response::IntoResponse> {
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        app.platform.checkpoint().await?,
    ))
}
