//! Open data (OCDS 1.1, docs/ocds.md):
//! - `GET /api/v1/ocds/releases?after=N&limit=M`: a release package of the releases made
//!   by log entries after N; `Link: <…>; rel="next"` names the next page, and `204` says
//!   there is nothing after N yet;
//! - `GET /api/v1/ocds/records/{ocid}`: the record package of one trade;
//! - `GET /api/v1/ocds/bulk`: every release, as JSON Lines of release packages.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use super::error::Result;
use super::extract::{Json, Path, Query};
use super::AppState;
use crate::engine::ocds::MAX_RELEASES;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/ocds/releases", get(releases))
        .route("/api/v1/ocds/records/{ocid}", get(record))
        .route("/api/v1/ocds/bulk", get(bulk))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Page {
    #[serde(default)]
    after: i64,
    #[serde(default = "default_limit")]
    limit: i64,
}

fn default_limit() -> i64 {
    100
}

async fn releases(State(app): State<AppState>, Query(q): Query<Page>) -> Result<Response> {
    let page = app.platform.ocds_releases(q.after, q.limit).await?;
    let next = format!(
        "</api/v1/ocds/releases?after={}&limit={}>; rel=\"next\"",
        page.next_after, q.limit
    );
    let link = [(header::LINK, next)];
    Ok(match page.package {
        Some(package) => (link, Json(package)).into_response(),
        None => (StatusCode::NO_CONTENT, link).into_response(),
    })
}

async fn record(
    State(app): State<AppState>,
    Path(ocid): Path<String>,
) -> Result<Json<serde_json::Value>> {
    Ok(Json(app.platform.ocds_record(&ocid).await?))
}

/// Streams every release package, a line each, from the start of the log to its end as
/// the stream reaches it.
async fn bulk(State(app): State<AppState>) -> impl IntoResponse {
    let platform = app.platform.clone();
    let stream = futures_util::stream::unfold(Some(0_i64), move |after| {
        let platform = platform.clone();
        async move {
            let after = after?;
            match platform.ocds_releases(after, MAX_RELEASES).await {
                Ok(page) if page.next_after == after => None,
                Ok(page) => {
                    let mut line = page
                        .package
                        .map(|p| serde_json::to_vec(&p).unwrap_or_default())
                        .unwrap_or_default();
                    if !line.is_empty() {
                        line.push(b'\n');
                    }
                    Some((Ok::<_, std::io::Error>(line), Some(page.next_after)))
                }
                Err(e) => Some((Err(std::io::Error::other(e.to_string())), None)),
            }
        }
    });
    (
        [(header::CONTENT_TYPE, "application/x-ndjson; charset=utf-8")],
        Body::from_stream(stream),
    )
}
