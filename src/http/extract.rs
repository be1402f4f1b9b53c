//! Extractors: JSON, path and query with our error shape, and the calling identity.

use axum::extract::{ConnectInfo, FromRef, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;
use std::net::SocketAddr;

use super::error::ApiError;
use super::AppState;
use crate::engine::Caller;

/// `axum::Json` whose rejections use our error codes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let axum::Json(v) = axum::Json::<T>::from_request(req, state).await?;
        Ok(Json(v))
    }
}

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::extract::Path` with our error codes.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Path(v) =
            axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(Path(v))
    }
}

/// `axum::extract::Query` with our error codes.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Query(v) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(Query(v))
    }
}

/// The caller: identity from the bearer token (if any), client address and request id.
/// A request with a bad or expired token is refused rather than treated as anonymous.
impl<S> FromRequestParts<S> for Caller
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        // The access gate (`access::gate`) has already authenticated and counted it.
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let app = AppState::from_ref(state);
        let mut client_addr = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_string());
        let mut request_id = parts
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        // Another instance passed this request on: the audit names the real client.
        if let Some((addr, id)) = super::forward::original_client(
            &app.platform,
            &parts.method,
            parts.uri.path(),
            &parts.headers,
        ) {
            client_addr = Some(addr);
            request_id = id.or(request_id);
        }
        // Limits by address first: a flood is refused before its tokens are looked up.
        let class = parts
            .extensions
            .get::<axum::extract::MatchedPath>()
            .and_then(|route| super::limits::Class::of(&parts.method, route.as_str()));
        if let Some(class) = class {
            app.limits.check_address(class, client_addr.as_deref())?;
        }
        let identity = match parts.headers.get(header::AUTHORIZATION) {
            None => match websocket_cookie(parts) {
                Some(token) => Some(app.platform.authenticate(token).await?),
                None => None,
            },
            Some(value) => {
                let token = value
                    .to_str()
                    .ok()
                    .and_then(|v| v.strip_prefix("Bearer "))
                    .ok_or_else(|| {
                        ApiError::request(
                            StatusCode::UNAUTHORIZED,
                            "unauthenticated",
                            "use Authorization: Bearer <token>",
                        )
                    })?;
                Some(app.platform.authenticate(token.trim()).await?)
            }
        };
        if let (Some(class), Some(identity)) = (class, &identity) {
            app.limits.check_identity(class, &identity.id)?;
        }
        Ok(Caller {
            identity,
            client_addr,
            request_id,
        })
    }
}

/// The session cookie set at login, a browser's only way to authenticate a WebSocket
/// (browsers cannot set `Authorization` on one). It is taken only on a same-origin
/// WebSocket upgrade, a read-only subscription; every other request needs the bearer
/// token, so the cookie cannot be used to act on anyone's behalf (no CSRF).
fn websocket_cookie(parts: &Parts) -> Option<&str> {
    let header_text =
        |name: header::HeaderName| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let upgrade = header_text(header::UPGRADE).is_some_and(|u| u.eq_ignore_ascii_case("websocket"));
    if parts.method != axum::http::Method::GET || !upgrade {
        return None;
    }
    // Cross-site WebSocket hijacking: the page that opens the socket must be ours.
    let host = header_text(header::HOST)?;
    if let Some(origin) = header_text(header::ORIGIN) {
        let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
        if origin_host != host {
            return None;
        }
    }
    header_text(header::COOKIE)?
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
}

/// The name of the session cookie (docs/api.md, "Sessions in the browser").
pub const SESSION_COOKIE: &str = "tradehall_session";
