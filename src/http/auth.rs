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
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/auth/me", get(me))
        .route("/api/v1/registrations", post(register))
        .route("/api/v1/identities", get(identities))
        .route("/api/v1/identities/{id}/grant", post(grant))
}

/// The caller is extracted for its address: challenges count against the login rate.
async fn challenge(State(app): State<AppState>, _caller: Caller) -> Result<Json<Value>> {
    let (nonce, expires_at) = app.platform.challenge().await?;
    Ok(Json(json!({
        "nonce": nonce,
        "expires_at": crate::domain::clock::rfc3339(expires_at),
        "sign": format!("{}:<purpose>:{nonce}", crate::engine::AUTH_MESSAGE_PREFIX),
    })))
}

/// Logs in. The answer also sets the session cookie that a browser's WebSocket
/// subscriptions authenticate with (`extract::websocket_cookie`): HttpOnly, so page
/// scripts never read it, and SameSite=Strict.
async fn login(
    State(app): State<AppState>,
    caller: Caller,
    Json(proof): Json<AuthProof>,
) -> Result<([(axum::http::HeaderName, String); 1], Json<LoginOutcome>)> {
    app.limits.check_identity(
        super::limits::Class::Login,
        &certificate_key(&proof.certificate_chain),
    )?;
    let outcome = app.platform.login(&caller, proof).await?;
    let seconds = (outcome.expires_at - app.platform.clock.now())
        .num_seconds()
        .max(0);
    let cookie = format!(
        "{}={}; Path=/api/v1/; HttpOnly; SameSite=Strict; Max-Age={seconds}",
        super::extract::SESSION_COOKIE,
        outcome.token
    );
    Ok(([(axum::http::header::SET_COOKIE, cookie)], Json(outcome)))
}

/// What a login's rate per identity is kept under: the SHA-256 of the first certificate's
/// base64 text without whitespace, so re-wrapping the PEM does not make a new identity.
fn certificate_key(chain: &str) -> String {
    let first = chain
        .split("-----END")
        .next()
        .unwrap_or_default()
        .rsplit("-----")
        .next()
        .unwrap_or_default();
    let text: String = first.chars().filter(|c| !c.is_whitespace()).collect();
    hex::encode(ring::digest::digest(&ring::digest::SHA256, text.as_bytes()))
}

/// Signs out: the bearer token stops working at once and the cookie is cleared.
async fn logout(
    State(app): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Result<([(axum::http::HeaderName, String); 1], StatusCode)> {
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(EngineError::Unauthenticated)?;
    app.platform.end_session(token.trim()).await?;
    let cookie = format!(
        "{}=; Path=/api/v1/; HttpOnly; SameSite=Strict; Max-Age=0",
        super::extract::SESSION_COOKIE
    );
    Ok((
        [(axum::http::header::SET_COOKIE, cookie)],
        StatusCode::NO_CONTENT,
    ))
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
