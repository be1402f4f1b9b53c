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
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpListener;
use tower::ServiceExt;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::ServeDir;
use tower_http::trace::TraceLayer;

use crate::engine::Platform;
use extract::Json;

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
        .route("/api/v1/rulebook", get(rulebook))
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
    let web = ServeDir::new(&settings.web_dir);
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
}

/// Readiness: the database answers.
/// The rulebook in force: every kind, procedure, rule and the article it implements, and
/// the SHA-256 of the exact text it was loaded from. Public: the rules are the same for all.
async fn rulebook(State(app): State<AppState>) -> Json<crate::domain::rulebook::Rulebook> {
    Json(app.platform.rulebook.clone())
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

/// Longest a graceful shutdown waits for requests in flight.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(30);

/// Serves `app` over HTTPS (rustls, TLS 1.2 and 1.3) on `listener` with the PEM certificate
/// chain and private key given, until `shutdown` resolves.
pub async fn serve_tls(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    cert_pem: &std::path::Path,
    key_pem: &std::path::Path,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert_pem, key_pem).await?;
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        stopper.graceful_shutdown(Some(SHUTDOWN_GRACE));
    });
    let mut server = axum_server::from_tcp_rustls(listener.into_std()?, config)?.handle(handle);
    server
        .http_builder()
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    server
        .serve(app.into_make_service_with_connect_info::<SocketAddr>())
        .await
}

/// The platform's signing keys: the one in force first, then retired ones, so anyone can
/// verify receipts, checkpoints and opening records offline.
async fn platform_keys(State(app): State<AppState>) -> Json<serde_json::Value> {
    Json(json!({ "keys": app.platform.platform_key.published() }))
}

/// What one client may hold of the server's connections (`LimitArgs`).
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Connections open at once from one address; 0: no cap.
    pub per_address: usize,
    /// Time to send a request's headers, after which the connection is closed.
    pub header_timeout: std::time::Duration,
}

impl From<&crate::config::LimitArgs> for ConnectionLimits {
    fn from(args: &crate::config::LimitArgs) -> Self {
        Self {
            per_address: args.connections_per_address as usize,
            header_timeout: std::time::Duration::from_secs(args.header_seconds),
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then finishes in-flight requests
/// (for at most `SHUTDOWN_GRACE`).
///
/// Our own accept loop rather than `axum::serve`, for what a deadline-day flood needs:
/// headers must arrive within `limits.header_timeout` (a slowloris client is cut off), and
/// one address holds at most `limits.per_address` connections (more are closed at accept).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use tower::Service as _;

    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let open = connections::PerAddress::new(limits.per_address);
    let mut make = app.into_make_service_with_connect_info::<SocketAddr>();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before it was taken:
                    // wait a moment rather than spin, and go on serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(place) = open.take(peer.ip()) else {
            tracing::debug!(%peer, "connection refused: too many open from this address");
            drop(stream);
            continue;
        };
        // Responses and feed messages go out when written: Nagle's algorithm would hold a
        // small write back until the previous one is acknowledged.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY could not be set");
        }
        let service = match make.call(peer).await {
            Ok(service) => service,
            Err(never) => match never {},
        };
        let service = hyper_util::service::TowerToHyperService::new(
            service
                .map_request(|req: Request<hyper::body::Incoming>| req.map(axum::body::Body::new)),
        );
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::trace!(error = %e, "connection ended with an error");
            }
            drop(place);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!("shutdown: connections still open after the grace period");
        }
    }
    Ok(())
}

mod connections {
    use std::collections::HashMap;
    use std::net::IpAddr;
    use std::sync::{Arc, Mutex};

    /// Open connections per client address.
    #[derive(Clone)]
    pub struct PerAddress {
        cap: usize,
        open: Arc<Mutex<HashMap<IpAddr, usize>>>,
    }

    impl PerAddress {
        pub fn new(cap: usize) -> Self {
            Self {
                cap,
                open: Arc::default(),
            }
        }

        /// A place for one more connection from `addr`, or none if it holds its cap.
        pub fn take(&self, addr: IpAddr) -> Option<Place> {
            let mut open = self
                .open
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let count = open.entry(addr).or_default();
            if self.cap > 0 && *count >= self.cap {
                return None;
            }
            *count += 1;
            Some(Place {
                addr,
                open: self.clone(),
            })
        }
    }

    /// One open connection; dropping it frees the place.
    pub struct Place {
        addr: IpAddr,
        open: PerAddress,
    }

    impl Drop for Place {
        fn drop(&mut self) {
            let mut open = self
                .open
                .open
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(count) = open.get_mut(&self.addr) {
                *count -= 1;
                if *count == 0 {
                    open.remove(&self.addr);
                }
            }
        }
    }
}
