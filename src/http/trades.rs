//! `/api/v1/trades`, documents and clarifications.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::Router;
use serde::Deserialize;

use super::error::{ApiError, Result};
use super::extract::{Json, Path, Query};
use super::AppState;
use crate::crypto::receipt::Receipt;
use crate::domain::region::RegionCode;
use crate::domain::trade::{Clarification, CustodianKey, TradeDocument, TradeTerms};
use crate::engine::{
    Caller, KeyRegistration, MyDocuments, NewTrade, NoticeDocument, TradeFilter, TradePage,
    TradeView, INLINE_ENVELOPE_BYTES,
};

pub fn router(max_document_bytes: usize) -> Router<AppState> {
    Router::new()
        .route("/api/v1/trades", get(list).post(create))
        .route("/api/v1/trades/check", post(check))
        .route("/api/v1/trades/{id}", get(show))
        .route("/api/v1/trades/{id}/publish", post(publish))
        .route(
            "/api/v1/trades/{id}/documents/{name}",
            // Documents are the one large upload; they get their own limit.
            put(upload).layer(DefaultBodyLimit::max(max_document_bytes)),
        )
        .route(
            "/api/v1/trades/{id}/contract/document/{name}",
            put(upload_contract).layer(DefaultBodyLimit::max(max_document_bytes)),
        )
        .route(
            "/api/v1/trades/{id}/notices",
            // Base64 takes 4 bytes for 3; the rest is the notice's text and names.
            post(issue_notice).layer(DefaultBodyLimit::max(
                max_document_bytes.div_ceil(3) * 4 + NOTICE_OVERHEAD_BYTES,
            )),
        )
        .route("/api/v1/trades/{id}/downloads/mine", get(my_documents))
        .route("/api/v1/documents/{sha256}", get(download))
        .route("/api/v1/trades/{id}/custodian-key", put(register_key))
        .route(
            "/api/v1/trades/{id}/bid",
            // Envelopes stream to disk with their own limit (--max-envelope-bytes).
            put(submit_bid)
                .delete(withdraw_bid)
                .get(my_bid)
                .layer(DefaultBodyLimit::disable()),
        )
        .route("/api/v1/bids/mine", get(my_bids))
        .route("/api/v1/clarifications/mine", get(my_clarifications))
        .route("/api/v1/trades/{id}/clarifications", post(ask))
        .route(
            "/api/v1/trades/{id}/clarifications/{cid}/answer",
            post(answer),
        )
}

/// What a change notice's body may hold beyond its documents' base64.
const NOTICE_OVERHEAD_BYTES: usize = 64 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    kind: Option<String>,
    status: Option<String>,
    region: Option<String>,
    /// RFC 3339: published at or after.
    from: Option<String>,
    /// RFC 3339: published before.
    to: Option<String>,
    /// RFC 3339: opening (a tender's bid deadline, a sale's start) at or after.
    opening_from: Option<String>,
    /// RFC 3339: opening before.
    opening_to: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

async fn list(
    State(app): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Json<TradePage>> {
    let region = q
        .region
        .as_deref()
        .map(RegionCode::parse)
        .transpose()
        .map_err(|e| ApiError::request(StatusCode::BAD_REQUEST, "invalid_query", e.to_string()))?;
    let instant = |name: &str, value: Option<&str>| {
        value
            .map(|v| {
                chrono::DateTime::parse_from_rfc3339(v)
                    .map(|t| t.with_timezone(&chrono::Utc))
                    .map_err(|e| {
                        ApiError::request(
                            StatusCode::BAD_REQUEST,
                            "invalid_query",
                            format!("{name} is not an RFC 3339 instant: {e}"),
                        )
                    })
            })
            .transpose()
    };
    let filter = TradeFilter {
        kind: q.kind,
        status: q.status,
        region,
        published_from: instant("from", q.from.as_deref())?,
        published_to: instant("to", q.to.as_deref())?,
        opening_from: instant("opening_from", q.opening_from.as_deref())?,
        opening_to: instant("opening_to", q.opening_to.as_deref())?,
        cursor: q.cursor,
        limit: q.limit,
    };
    Ok(Json(app.platform.list_trades(&caller, filter).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateQuery {
    /// Demo acceleration factor; refused unless the server runs in demo mode.
    demo_time_scale: Option<u32>,
}

async fn create(
    State(app): State<AppState>,
    caller: Caller,
    Query(q): Query<CreateQuery>,
    Json(terms): Json<TradeTerms>,
) -> Result<(StatusCode, Json<TradeView>)> {
    let new = NewTrade {
        terms,
        time_scale: q.demo_time_scale,
    };
    Ok((
        StatusCode::CREATED,
        Json(app.platform.create_trade(&caller, new).await?),
    ))
}

/// `POST /api/v1/trades/check`: the terms checked as `POST /api/v1/trades` checks them,
/// nothing created: `200 {"ok": true}`, or `200 {"ok": false, "error": …}` with the
/// refusal creating them would give (a 422 there). The question was answered either way;
/// who may not ask still gets 401 or 403.
async fn check(
    State(app): State<AppState>,
    caller: Caller,
    Json(terms): Json<TradeTerms>,
) -> Result<Json<serde_json::Value>> {
    match app.platform.check_new_trade(&caller, terms).await {
        Ok(()) => Ok(Json(serde_json::json!({ "ok": true }))),
        Err(e) if super::error::status_of(&e) == StatusCode::UNPROCESSABLE_ENTITY => Ok(Json(
            serde_json::json!({ "ok": false, "error": super::error::refusal(&e) }),
        )),
        Err(e) => Err(e.into()),
    }
}

async fn show(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<uuid::Uuid>,
) -> Result<Json<TradeView>> {
    Ok(Json(app.platform.trade(&caller, &id.to_string()).await?))
}

async fn publish(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<uuid::Uuid>,
) -> Result<Json<TradeView>> {
    Ok(Json(
        app.platform.publish_trade(&caller, &id.to_string()).await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoticeBody {
    notice: String,
    #[serde(default)]
    documents: Vec<NoticeDocumentBody>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoticeDocumentBody {
    name: String,
    #[serde(default)]
    media_type: Option<String>,
    /// The bytes, base64 (standard alphabet, padded).
    content: String,
}

/// `POST /api/v1/trades/{id}/notices`: a change notice (变更公告), with the documents it
/// adds or replaces. 201 with the notice and the trade as it now stands.
async fn issue_notice(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<uuid::Uuid>,
    Json(body): Json<NoticeBody>,
) -> Result<(StatusCode, Json<serde_json::Value>)> {
    use base64::Engine as _;
    let mut documents = Vec::with_capacity(body.documents.len());
    for d in body.documents {
        let content = base64::engine::general_purpose::STANDARD
            .decode(d.content.as_bytes())
            .map_err(|e| {
                ApiError::request(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_base64",
                    format!("the content of {} is not base64: {e}", d.name),
                )
            })?;
        documents.push(NoticeDocument {
            name: d.name,
            media_type: d
                .media_type
                .unwrap_or_else(|| "application/octet-stream".into()),
            content,
        });
    }
    let (notice, trade) = app
        .platform
        .issue_notice(&caller, &id.to_string(), &body.notice, documents)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "notice": notice, "trade": trade })),
    ))
}

/// `GET /api/v1/trades/{id}/downloads/mine`: the bidder's own standing with the trade's
/// documents (which versions it downloaded, what changed since).
async fn my_documents(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<uuid::Uuid>,
) -> Result<Json<MyDocuments>> {
    Ok(Json(
        app.platform.my_documents(&caller, &id.to_string()).await?,
    ))
}

/// An upload's declared media type, `application/octet-stream` when it names none.
fn media_type(headers: &HeaderMap) -> &str {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
}

async fn upload(
    State(app): State<AppState>,
    caller: Caller,
    Path((id, name)): Path<(uuid::Uuid, String)>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<(StatusCode, Json<TradeDocument>)> {
    let body = body?;
    let media_type = media_type(&headers);
    let doc = app
        .platform
        .add_document(&caller, &id.to_string(), &name, media_type, &body)
        .await?;
    Ok((StatusCode::CREATED, Json(doc)))
}

/// The signed contract of an awarded trade, uploaded before it is recorded.
async fn upload_contract(
    State(app): State<AppState>,
    caller: Caller,
    Path((id, name)): Path<(uuid::Uuid, String)>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<(StatusCode, Json<TradeDocument>)> {
    let body = body?;
    let media_type = media_type(&headers);
    let doc = app
        .platform
        .add_contract_document(&caller, &id.to_string(), &name, media_type, &body)
        .await?;
    Ok((StatusCode::CREATED, Json(doc)))
}

async fn download(
    State(app): State<AppState>,
    caller: Caller,
    Path(sha256): Path<String>,
) -> Result<impl IntoResponse> {
    let (media_type, content) = app.platform.document(&caller, &sha256).await?;
    // Whatever its media type says, an uploaded document is a file to save, never a page
    // of this origin: a tender's HTML would otherwise run with the platform's cookies.
    Ok((
        [
            (header::CONTENT_TYPE, media_type),
            (header::ETAG, format!("\"{sha256}\"")),
            (header::CONTENT_DISPOSITION, "attachment".to_owned()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (
                header::CONTENT_SECURITY_POLICY,
                "sandbox; default-src 'none'".to_owned(),
            ),
        ],
        content,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Ask {
    question: String,
}

async fn ask(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<uuid::Uuid>,
    Json(body): Json<Ask>,
) -> Result<(StatusCode, Json<Clarification>)> {
    let c = app
        .platform
        .ask_clarification(&caller, &id.to_string(), &body.question)
        .await?;
    Ok((StatusCode::CREATED, Json(c)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Answer {
    answer: String,
}

#[derive(serde::Serialize)]
struct Answered {
    clarification: Clarification,
    trade: TradeView,
}

async fn answer(
    State(app): State<AppState>,
    caller: Caller,
    Path((id, cid)): Path<(uuid::Uuid, uuid::Uuid)>,
    Json(body): Json<Answer>,
) -> Result<Json<Answered>> {
    let (clarification, trade) = app
        .platform
        .answer_clarification(&caller, &id.to_string(), &cid.to_string(), &body.answer)
        .await?;
    Ok(Json(Answered {
        clarification,
        trade,
    }))
}

async fn register_key(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<uuid::Uuid>,
    Json(body): Json<KeyRegistration>,
) -> Result<(StatusCode, Json<CustodianKey>)> {
    let key = app
        .platform
        .register_custodian_key(&caller, &id.to_string(), body)
        .await?;
    Ok((StatusCode::CREATED, Json(key)))
}

/// Streams the request body to `path`, refusing more than `limit` bytes.
/// Where a received envelope is: small ones stay in memory, larger ones stream to a file.
enum Received {
    Memory(Vec<u8>),
    File(std::path::PathBuf),
}

/// Receives an envelope of at most `limit` bytes without holding a large one in memory:
/// up to the inline size it is kept in memory, beyond that it streams to an incoming file.
async fn receive_envelope(app: &AppState, body: axum::body::Body, limit: u64) -> Result<Received> {
    use futures_util::StreamExt as _;
    use tokio::io::AsyncWriteExt as _;
    let internal = |e: std::io::Error| {
        ApiError::Engine(crate::engine::EngineError::Store(
            crate::store::StoreError::from_io(e),
        ))
    };
    let mut memory = Vec::new();
    let mut file: Option<(tokio::fs::File, std::path::PathBuf)> = None;
    let mut stream = body.into_data_stream();
    let mut written = 0u64;
    let outcome: Result<()> = async {
        // Set when the storage refused the envelope (a full disk): the rest of the upload
        // is still read, and dropped, so the client hears `507 storage_full` instead of a
        // connection closed under its upload. The envelope limit bounds what is read.
        let mut refused: Option<ApiError> = None;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| {
                ApiError::request(StatusCode::BAD_REQUEST, "upload_interrupted", e.to_string())
            })?;
            written += chunk.len() as u64;
            if written > limit {
                return Err(refused.unwrap_or_else(|| {
                    ApiError::request(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "body_too_large",
                        format!("envelopes are limited to {limit} bytes"),
                    )
                }));
            }
            if refused.is_some() {
                continue;
            }
            let stored: Result<()> = async {
                match &mut file {
                    Some((f, _)) => f.write_all(&chunk).await.map_err(internal)?,
                    None if written <= INLINE_ENVELOPE_BYTES => memory.extend_from_slice(&chunk),
                    None => {
                        let path = app.platform.incoming_bid_path()?;
                        let created = tokio::fs::File::create(&path).await.map_err(internal);
                        let f = &mut file.insert((created?, path)).0;
                        f.write_all(&memory).await.map_err(internal)?;
                        f.write_all(&chunk).await.map_err(internal)?;
                        memory = Vec::new();
                    }
                }
                Ok(())
            }
            .await;
            refused = stored.err();
        }
        if let Some(e) = refused {
            return Err(e);
        }
        if let Some((f, _)) = &mut file {
            f.flush().await.map_err(internal)?;
        }
        Ok(())
    }
    .await;
    match (outcome, file) {
        (Ok(()), Some((_, path))) => Ok(Received::File(path)),
        (Ok(()), None) => Ok(Received::Memory(memory)),
        (Err(e), Some((_, path))) => {
            let _ = tokio::fs::remove_file(&path).await;
            Err(e)
        }
        (Err(e), None) => Err(e),
    }
}

async fn submit_bid(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<uuid::Uuid>,
    body: axum::body::Body,
) -> Result<(StatusCode, Json<Receipt>)> {
    // Authenticate before accepting a byte of the upload.
    caller
        .require(crate::domain::identity::Role::Bidder)
        .map_err(ApiError::Engine)?;
    let limit = app.platform.settings.max_envelope_bytes;
    let receipt = match receive_envelope(&app, body, limit).await? {
        Received::Memory(bytes) => {
            app.platform
                .submit_bid_bytes(&caller, &id.to_string(), bytes)
                .await?
        }
        Received::File(path) => {
            app.platform
                .submit_bid(&caller, &id.to_string(), &path)
                .await?
        }
    };
    Ok((StatusCode::CREATED, Json(receipt)))
}

async fn withdraw_bid(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<uuid::Uuid>,
) -> Result<StatusCode> {
    app.platform.withdraw_bid(&caller, &id.to_string()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The bidder workspace: the questions the caller asked, with their answers.
async fn my_clarifications(
    State(app): State<AppState>,
    caller: Caller,
) -> Result<Json<serde_json::Value>> {
    let clarifications = app.platform.my_clarifications(&caller).await?;
    Ok(Json(
        serde_json::json!({ "clarifications": clarifications }),
    ))
}

/// The bidder workspace: the caller's active bids with their trades and receipts.
async fn my_bids(State(app): State<AppState>, caller: Caller) -> Result<Json<serde_json::Value>> {
    let bids = app.platform.my_bids(&caller).await?;
    Ok(Json(serde_json::json!({ "bids": bids })))
}

async fn my_bid(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<uuid::Uuid>,
) -> Result<Json<Receipt>> {
    Ok(Json(app.platform.my_bid(&caller, &id.to_string()).await?))
}
