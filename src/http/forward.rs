//! Forwarding between instances (docs/adr/0018). A trade's opening session lives in the
//! memory of one instance; a custodian's request that lands on another is passed on to
//! it, with the caller's token, and its answer comes back unchanged. If that instance
//! cannot be reached it is presumed gone, and this one replaces the session.
//!
//! The forwarded request carries who really asked, for the audit record
//! (电子招标投标办法 第49条): the client's address and request id, signed with the
//! platform key that every instance of the platform shares, so no client can claim
//! another address by sending the header itself.

use std::time::Duration;

use axum::body::Bytes;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;

use super::error::ApiError;
use crate::crypto::platform_key::{self, PlatformKey};
use crate::engine::{Caller, EngineError, Platform};

/// The header naming the original client of a forwarded request.
pub const FORWARDED: &str = "tradehall-forwarded";
/// How old a forwarded request may be, in milliseconds.
const FRESH_MS: i64 = 60_000;
/// How long to wait to connect to the instance holding the session before presuming it
/// gone.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a forwarded request may take (an opening of many bids takes a while).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(600);

fn client() -> &'static reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .unwrap_or_default()
    })
}

fn signed_message(method: &str, path: &str, addr: &str, request_id: &str, at: i64) -> Vec<u8> {
    format!("tradehall-forwarded\n{method} {path}\n{addr}\n{request_id}\n{at}").into_bytes()
}

/// The header value for forwarding `method path` asked by `caller` at `at_ms`.
fn header_value(
    key: &PlatformKey,
    method: &Method,
    path: &str,
    caller: &Caller,
    at_ms: i64,
) -> String {
    let addr = caller.client_addr.as_deref().unwrap_or_default();
    let id = caller.request_id.as_deref().unwrap_or_default();
    let sig = key.sign(&signed_message(method.as_str(), path, addr, id, at_ms));
    format!(
        "addr={addr};id={id};at={at_ms};sig={}",
        base64::engine::general_purpose::STANDARD.encode(sig)
    )
}

/// The original client address and request id of a request another instance forwarded,
/// if its header is signed with this platform's key and fresh; `None` otherwise.
pub fn original_client(
    platform: &Platform,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> Option<(String, Option<String>)> {
    let value = headers.get(FORWARDED)?.to_str().ok()?;
    let mut fields = std::collections::HashMap::new();
    for part in value.split(';') {
        let (name, v) = part.split_once('=')?;
        fields.insert(name, v);
    }
    let (addr, id) = (*fields.get("addr")?, *fields.get("id")?);
    let at: i64 = fields.get("at")?.parse().ok()?;
    let sig = base64::engine::general_purpose::STANDARD
        .decode(fields.get("sig")?)
        .ok()?;
    if (platform.clock.now().timestamp_millis() - at).abs() > FRESH_MS {
        return None;
    }
    let message = signed_message(method.as_str(), path, addr, id, at);
    if !platform_key::verify(platform.platform_key.info(), &message, &sig) {
        tracing::warn!("a forwarded request whose header does not verify; using the peer address");
        return None;
    }
    Some((addr.to_owned(), (!id.is_empty()).then(|| id.to_owned())))
}

/// What became of a request passed to the instance holding the opening.
pub enum Forwarded {
    /// Its answer, to return as it is.
    Answer(Response),
    /// It could not be reached: presumed gone.
    Unreachable,
}

/// Passes `method path` (with `body`, JSON) on to `instance_url`, as `caller`, with the
/// caller's `Authorization` header.
pub async fn forward(
    platform: &Platform,
    instance_url: &str,
    method: Method,
    path: &str,
    headers: &HeaderMap,
    caller: &Caller,
    body: Option<Bytes>,
) -> Result<Forwarded, ApiError> {
    let at = platform.clock.now().timestamp_millis();
    let mut request = client()
        .request(method.clone(), format!("{instance_url}{path}"))
        .header(
            FORWARDED,
            header_value(&platform.platform_key, &method, path, caller, at),
        );
    if let Some(auth) = headers.get(header::AUTHORIZATION) {
        request = request.header(header::AUTHORIZATION, auth.clone());
    }
    if let Some(id) = &caller.request_id {
        request = request.header("x-request-id", id.as_str());
    }
    if let Some(body) = body {
        request = request
            .header(header::CONTENT_TYPE, "application/json")
            .body(body);
    }
    let answer = match request.send().await {
        Ok(answer) => answer,
        Err(e) if e.is_connect() || (e.is_timeout() && !e.is_body()) => {
            tracing::warn!(instance = %instance_url, error = %e, "the instance holding the opening cannot be reached");
            return Ok(Forwarded::Unreachable);
        }
        Err(e) => {
            tracing::error!(instance = %instance_url, error = %e, "forwarding failed");
            return Err(EngineError::OpeningElsewhere {
                instance_url: instance_url.to_owned(),
                key_id: String::new(),
            }
            .into());
        }
    };
    let status = StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let content_type = answer.headers().get(header::CONTENT_TYPE).cloned();
    let bytes = answer.bytes().await.map_err(|e| {
        tracing::error!(instance = %instance_url, error = %e, "forwarded answer cut off");
        ApiError::from(EngineError::OpeningElsewhere {
            instance_url: instance_url.to_owned(),
            key_id: String::new(),
        })
    })?;
    let mut response = (status, bytes).into_response();
    if let Some(ct) = content_type {
        response.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    Ok(Forwarded::Answer(response))
}

/// Runs `run` here, or where the trade's opening session is held: forwards the request
/// (`method path` with `body`) to that instance, and if it cannot be reached, marks its
/// session replaceable and runs `run` here again. A request that was itself forwarded is
/// never forwarded again.
pub async fn where_opening_is_held<T, F, Fut>(
    platform: &Platform,
    caller: &Caller,
    headers: &HeaderMap,
    (method, path): (Method, String),
    body: Option<Bytes>,
    run: F,
) -> Result<Response, ApiError>
where
    T: serde::Serialize,
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, EngineError>>,
{
    let mut tries = 0;
    loop {
        tries += 1;
        match run().await {
            Ok(answer) => return Ok(axum::Json(answer).into_response()),
            Err(EngineError::OpeningElsewhere {
                instance_url,
                key_id,
            }) if tries < 3 && !headers.contains_key(FORWARDED) => {
                match forward(
                    platform,
                    &instance_url,
                    method.clone(),
                    &path,
                    headers,
                    caller,
                    body.clone(),
                )
                .await?
                {
                    Forwarded::Answer(response) => return Ok(response),
                    Forwarded::Unreachable => platform.openings.mark_unreachable(&key_id),
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
}
