//! One error shape for the whole API: `{"error": {"code": "…", "message": "…"}}`.

use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::engine::EngineError;

pub type Result<T, E = ApiError> = std::result::Result<T, E>;

/// An API refusal. Every variant maps to one status; `code` is stable and documented in
/// docs/api.md.
#[derive(Debug)]
pub enum ApiError {
    /// A use case refused (4xx by kind) or failed (500).
    Engine(EngineError),
    /// The request itself is malformed: 400, 413, 415 or 422 with its own code.
    Request {
        status: StatusCode,
        code: &'static str,
        message: String,
    },
    /// A rate limit was reached: 429 `rate_limited`, with the seconds to wait in
    /// `Retry-After` and `retry_after`.
    TooManyRequests { message: String, retry_after: u64 },
}

/// A use case's refusal as the `error` member of an answer: code, message, and for a
/// rule the rule and its article.
pub(super) fn refusal(e: &EngineError) -> serde_json::Value {
    match e {
        EngineError::RuleViolation(v) => json!({
            "code": e.code(), "message": e.to_string(), "rule": v.rule, "article": v.article,
        }),
        _ => json!({"code": e.code(), "message": e.to_string()}),
    }
}

impl ApiError {
    pub fn request(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self::Request {
            status,
            code,
            message: message.into(),
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        Self::Engine(e)
    }
}

pub(super) fn status_of(e: &EngineError) -> StatusCode {
    use EngineError as E;
    match e {
        E::Certificate(_)
        | E::NonceUnknown
        | E::NonceExpired
        | E::NonceReplayed
        | E::NotRegistered
        | E::BankRefused { .. }
        | E::Unauthenticated => StatusCode::UNAUTHORIZED,
        E::Forbidden { .. } | E::NotInvited | E::AdminNotConfigured | E::DemoModeRequired => {
            StatusCode::FORBIDDEN
        }
        E::UsciNotInCertificate(_) | E::Invalid { .. } | E::RuleViolation(_) => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        E::AlreadyRegistered | E::OrganizationNameMismatch | E::Conflict { .. } => {
            StatusCode::CONFLICT
        }
        E::NotFound { .. } => StatusCode::NOT_FOUND,
        E::OpeningElsewhere { .. } => StatusCode::SERVICE_UNAVAILABLE,
        E::Store(crate::store::StoreError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
        E::Store(crate::store::StoreError::Full(_)) => StatusCode::INSUFFICIENT_STORAGE,
        E::Store(crate::store::StoreError::Halted(_)) => StatusCode::SERVICE_UNAVAILABLE,
        E::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match &self {
            ApiError::Engine(e) => {
                let status = status_of(e);
                let body = match e {
                    EngineError::Store(cause @ crate::store::StoreError::Unavailable(_)) => {
                        tracing::warn!(error = %cause, "database unavailable");
                        json!({"error": {"code": "database_unavailable", "message": "the database is unavailable for a moment; nothing was done, retry shortly"}})
                    }
                    EngineError::Store(cause @ crate::store::StoreError::Full(_)) => {
                        tracing::error!(error = %cause, "storage full");
                        json!({"error": {"code": "storage_full", "message": "the platform's storage is full; nothing was done. Retry later: the operators are told"}})
                    }
                    EngineError::Store(crate::store::StoreError::Halted(why)) => {
                        json!({"error": {"code": "log_halted", "message": format!("the platform's log has halted and takes no entry: {why}. Nothing was done; the operators are told")}})
                    }
                    EngineError::Store(cause) => {
                        // The cause goes to the log in the request's span, never to the client.
                        tracing::error!(error = %cause, "storage failure");
                        json!({"error": {"code": "internal", "message": "internal error"}})
                    }
                    _ => json!({ "error": refusal(e) }),
                };
                (status, body)
            }
            ApiError::Request {
                status,
                code,
                message,
            } => (
                *status,
                json!({"error": {"code": code, "message": message}}),
            ),
            ApiError::TooManyRequests {
                message,
                retry_after,
            } => {
                let body = json!({"error": {
                    "code": "rate_limited", "message": message, "retry_after": retry_after,
                }});
                let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
                response
                    .headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, (*retry_after).into());
                return response;
            }
        };
        let mut response = (status, Json(body)).into_response();
        let halted = matches!(
            &self,
            ApiError::Engine(EngineError::Store(crate::store::StoreError::Halted(_)))
        );
        if !halted
            && (status == StatusCode::SERVICE_UNAVAILABLE
                || status == StatusCode::INSUFFICIENT_STORAGE)
        {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("1"),
            );
        }
        response
    }
}

fn too_large(status: StatusCode) -> Option<ApiError> {
    (status == StatusCode::PAYLOAD_TOO_LARGE).then(|| {
        ApiError::request(
            status,
            "body_too_large",
            "request body is larger than this endpoint accepts",
        )
    })
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        if let Some(e) = too_large(r.status()) {
            return e;
        }
        match r {
            JsonRejection::JsonDataError(e) => {
                // serde's message names the field and what was wrong with it.
                let detail = std::error::Error::source(&e)
                    .map_or_else(|| e.body_text(), ToString::to_string);
                ApiError::request(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", detail)
            }
            JsonRejection::JsonSyntaxError(e) => {
                ApiError::request(StatusCode::BAD_REQUEST, "malformed_json", e.body_text())
            }
            JsonRejection::MissingJsonContentType(_) => ApiError::request(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send JSON with Content-Type: application/json",
            ),
            other => ApiError::request(other.status(), "invalid_body", other.body_text()),
        }
    }
}

impl From<BytesRejection> for ApiError {
    fn from(r: BytesRejection) -> Self {
        too_large(r.status())
            .unwrap_or_else(|| ApiError::request(r.status(), "invalid_body", r.body_text()))
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::request(StatusCode::BAD_REQUEST, "invalid_id", r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::request(StatusCode::BAD_REQUEST, "invalid_query", r.body_text())
    }
}

/// Answers unknown routes in the API's error shape.
pub async fn not_found() -> ApiError {
    ApiError::request(StatusCode::NOT_FOUND, "route_not_found", "no such endpoint")
}
