//! `/api/v1/auth/*`, `/api/v1/registrations`, `/api/v1/identities`: certificate identity.

use crate::domain::region::RegionCode;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::Result;
use super::extract::{Json, Path, Query};
use super::AppState;
use crate::domain::identity::{Identity, IdentityStatus, Role};
use crate::engine::{AuthProof, Caller, EngineError, LoginOutcome, Registration};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/auth/challenge", post(challenge))
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/me", get(me))
        .route("/api/v1/registrations", post(register))
        .route("/api/v1/identities", get(identities))
        .route("/api/v1/identities/{id}/grant", post(grant))
}

async fn challenge(State(app): State<AppState>) -> Result<Json<Value>> {
    let (nonce, expires_at) = app.platform.challenge().await?;
    Ok(Json(json!({
        "nonce": nonce,
        "expires_at": crate::domain::clock::rfc3339(expires_at),
        "sign": format!("{}:<purpose>:{nonce}", crate::engine::AUTH_MESSAGE_PREFIX),
    })))
}

async fn login(
    State(app): State<AppState>,
    caller: Caller,
    Json(proof): Json<AuthProof>,
) -> Result<Json<LoginOutcome>> {
    Ok(Json(app.platform.login(&caller, proof).await?))
}

async fn me(caller: Caller) -> Result<Json<Identity>> {
    caller
        .identity
        .map(Json)
        .ok_or_else(|| EngineError::Unauthenticated.into())
}

async fn register(
    State(app): State<AppState>,
    caller: Caller,
    Json(reg): Json<Registration>,
) -> Result<(StatusCode, Json<Identity>)> {
    Ok((
        StatusCode::CREATED,
        Json(app.platform.register(&caller, reg).await?),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentityQuery {
    status: Option<IdentityStatus>,
    role: Option<Role>,
}

async fn identities(
    State(app): State<AppState>,
    caller: Caller,
    Query(q): Query<IdentityQuery>,
) -> Result<Json<Vec<Identity>>> {
    let status = q.status.unwrap_or(IdentityStatus::Active);
    Ok(Json(
        app.platform.identities(&caller, status, q.role).await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Grant {
    role: Role,
    /// 行政区划代码 a supervisor supervises; required for supervisors only.
    #[serde(default)]
    region: Option<RegionCode>,
}

async fn grant(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<uuid::Uuid>,
    Json(body): Json<Grant>,
) -> Result<Json<Identity>> {
    Ok(Json(
        app.platform
            .grant_role(&caller, &id.to_string(), body.role, body.region)
            .await?,
    ))
}
