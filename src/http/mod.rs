//! The HTTP skin over the engine: one router per resource, our error shape, request
//! spans with the matched route and request id, and static pages from `web/`.

mod access;
mod alerts;
mod applications;
mod auth;
mod bank;
mod calendar;
pub mod error;
mod evaluation;
mod events;
mod experts;
mod extract;
mod feed;
mod forward;
mod interventions;
pub mod limits;
mod listen;
mod live;
mod log;
mod ocds;
mod opening;
mod region;
mod sales;
mod search;
mod trades;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use tower::ServiceExt;
use tower_http::compression::predicate::{DefaultPredicate, Predicate};
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::engine::Platform;
use extract::Json;
pub use listen::{serve, serve_tls, ConnectionLimits};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub platform: Arc<Platform>,
    pub limits: Arc<limits::Limits>,
}

/// Limits and locations of the HTTP layer.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Largest JSON body accepted (413 above).
    pub max_body_bytes: usize,
    /// Largest tender document upload (413 above).
    pub max_document_bytes: usize,
    /// Directory served at `/`.
    pub web_dir: PathBuf,
    /// Longest a request body may go without sending a byte.
    pub body_idle_timeout: std::time::Duration,
}

/// The whole application router.
pub fn router(state: AppState, settings: &HttpSettings) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let api = Router::new()
        .route("/healthz", get(healthz))
        .route("/api/v1/platform/keys", get(platform_keys))
        .route("/api/v1/trust/roots", get(trust_roots))
        .route("/api/v1/rulebook", get(rulebook))
        .route("/api/v1/regions", get(regions))
        .route("/api/v1/rulebook/source", get(rulebook_source))
        .merge(auth::router())
        .merge(trades::router(settings.max_document_bytes))
        .merge(events::router())
        .merge(feed::router())
        .merge(alerts::router())
        .merge(interventions::router())
        .merge(opening::router())
        .merge(log::router())
        .merge(calendar::router())
        .merge(applications::router())
        .merge(bank::router())
        .merge(sales::router())
        .merge(live::router())
        .merge(experts::router())
        .merge(evaluation::router())
        .merge(ocds::router())
        .merge(search::router())
        .merge(region::router())
        // Who may call what, before any handler or body (docs/security.md).
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            access::gate,
        ))
        .layer(DefaultBodyLimit::max(settings.max_body_bytes))
        // A body that sends nothing for this long is cut off: a trickling upload holds
        // a connection, not the deadline.
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            settings.body_idle_timeout,
        ));
    // The pages' files: revalidated on every use (`Last-Modified` answers `304` when they
    // have not changed), so a new release is seen at once and an unchanged file is not
    // sent again.
    let web = tower::ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::overriding(
            axum::http::header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static("no-cache"),
        ))
        .service(ServeDir::new(&settings.web_dir));
    api.with_state(state)
        .fallback(move |req: Request| {
            let web = web.clone();
            async move {
                if req.uri().path().starts_with("/api/") {
                    error::not_found().await.into_response()
                } else {
                    web.oneshot(req)
                        .await
                        .map_or_else(|e| match e {}, IntoResponse::into_response)
                }
            }
        })
        // Text is sent compressed to a client that accepts it (br, else gzip): the pages,
        // their scripts and the API's JSON. Uploads' answers, documents and envelopes are
        // bytes, and a WebSocket upgrade has no body to compress.
        .layer(CompressionLayer::new().compress_when(DefaultPredicate::new().and(compressible)))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            // The matched route, not the raw URI: low cardinality, no ids or tokens.
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map_or("-", MatchedPath::as_str);
            let id = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), route, request_id = id)
        }))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .layer(axum::middleware::map_request(bounded_request_id))
}

/// Whether an answer is text worth compressing: JSON, HTML, CSS, JavaScript or SVG.
fn compressible(
    status: StatusCode,
    _: axum::http::Version,
    headers: &axum::http::HeaderMap,
    _: &axum::http::Extensions,
) -> bool {
    let kind = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    status != StatusCode::SWITCHING_PROTOCOLS
        && ["application/json", "text/", "javascript", "image/svg+xml"]
            .iter()
            .any(|t| kind.contains(t))
}

/// The longest client request id kept, and what it may hold.
const MAX_REQUEST_ID: usize = 64;

/// A client's `x-request-id` goes into the audit record of what it does: one longer than
/// [`MAX_REQUEST_ID`] or with anything but letters, digits, `-`, `_`, `.` and `:` is
/// dropped, and the request gets a fresh id as if it had sent none.
async fn bounded_request_id(mut req: Request) -> Request {
    let valid = |v: &axum::http::HeaderValue| {
        let b = v.as_bytes();
        (1..=MAX_REQUEST_ID).contains(&b.len())
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b':'))
    };
    if req.headers().get("x-request-id").is_some_and(|v| !valid(v)) {
        req.headers_mut().remove("x-request-id");
    }
    req
}

/// Readiness: the database answers.
/// The rulebook in force: every kind, procedure, rule and the article it implements, and
/// the SHA-256 of the exact text it was loaded from. Public: the rules are the same for all.
async fn rulebook(State(app): State<AppState>) -> Json<crate::domain::rulebook::Rulebook> {
    Json(app.platform.rulebook.clone())
}

/// The administrative divisions the platform names (regions/xinjiang.json), as stored.
async fn regions() -> axum::response::Response {
    use axum::response::IntoResponse as _;
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/json; charset=utf-8",
        )],
        crate::domain::region::DIVISIONS_JSON,
    )
        .into_response()
}

/// The exact text of the rulebook in force, for the platforms that load it as their
/// region's unified rules (`--region-rulebook`); its SHA-256 is in `x-rulebook-sha256`.
async fn rulebook_source(State(app): State<AppState>) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let book = &app.platform.rulebook;
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/toml; charset=utf-8".to_owned(),
            ),
            (
                axum::http::HeaderName::from_static("x-rulebook-sha256"),
                book.sha256.clone(),
            ),
        ],
        book.source.clone(),
    )
        .into_response()
}

async fn healthz(State(app): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
    match app.platform.store.ping().await {
        // The log halted: reads still work, nothing can be written, and everyone is told.
        Ok(()) if app.platform.log_halted().is_some() => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({
                "status": "log_halted",
                "reason": app.platform.log_halted(),
                "server_time": crate::domain::clock::rfc3339(app.platform.clock.now()),
                "rulebook": app.platform.rulebook.version,
                "demo_mode": app.platform.settings.demo_mode,
            })),
        ),
        Ok(()) => (
            StatusCode::OK,
            Json(json!({
                "status": "ready",
                "server_time": crate::domain::clock::rfc3339(app.platform.clock.now()),
                "rulebook": app.platform.rulebook.version,
                "demo_mode": app.platform.settings.demo_mode,
            })),
        ),
        Err(e) => {
            tracing::error!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable"})),
            )
        }
    }
}

/// The certification authorities the platform recognises (base64 DER): what a client
/// checks a custodian's or another party's certificate against itself.
async fn trust_roots(State(app): State<AppState>) -> Json<serde_json::Value> {
    use base64::Engine as _;
    let roots: Vec<String> = app
        .platform
        .trust
        .current()
        .roots()
        .iter()
        .map(|der| base64::engine::general_purpose::STANDARD.encode(der))
        .collect();
    Json(json!({ "roots": roots }))
}

/// The platform's signing keys: the one in force first, then retired ones, so anyone can
/// verify receipts, checkpoints and opening records offline.
async fn platform_keys(State(app): State<AppState>) -> Json<serde_json::Value> {
    // The origin too: the name a verifier needs to check a checkpoint's signature line.
    Json(json!({
        "origin": app.platform.settings.log_origin,
        "keys": app.platform.platform_key.published(),
    }))
}
