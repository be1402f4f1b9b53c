//! From the opening to the contract (ADR 0014):
//! - `GET /api/v1/trades/{id}/evaluation`: where the evaluation is (anyone);
//! - `POST …/evaluation/sheets`: an expert of the committee submits its signed sheet;
//! - `GET …/evaluation/report`, `POST …/evaluation/report/signatures`: the report, and
//!   an expert's signature over it;
//! - `GET …/result`: candidates, publicity, award, contract (public once published);
//! - `GET`/`POST …/objections`, `POST …/objections/{oid}/answer`: objections (异议);
//! - `POST …/complaints`, `POST …/complaints/{cid}/ruling`: complaints (投诉);
//! - `POST …/award`, `POST …/contract`: the trading centre's award notice and contract;
//! - `GET …/archive`: the trade's archive (一项一档, docs/archive.md);
//! - `POST …/retender`: a failed or terminated tender tendered again;
//! - `POST …/rounds`: the next round of a competitive negotiation or consultation.

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use super::error::Result;
use super::extract::{Json, Path};
use super::AppState;
use crate::engine::{
    Acknowledged, AwardOrder, Caller, ComplaintView, ContractRecord, EvaluationStatus, Filing,
    ObjectionView, ReportSigning, ReportView, ResultView, Ruling, SheetSubmission,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/trades/{id}/evaluation", get(status))
        .route("/api/v1/trades/{id}/evaluation/sheets", post(submit_sheet))
        .route("/api/v1/trades/{id}/evaluation/report", get(report))
        .route(
            "/api/v1/trades/{id}/evaluation/report/signatures",
            post(sign_report),
        )
        .route("/api/v1/trades/{id}/result", get(result))
        .route(
            "/api/v1/trades/{id}/objections",
            get(objections).post(file_objection),
        )
        .route(
            "/api/v1/trades/{id}/objections/{objection}/answer",
            post(answer_objection),
        )
        .route("/api/v1/trades/{id}/complaints", post(file_complaint))
        .route(
            "/api/v1/trades/{id}/complaints/{complaint}/ruling",
            post(rule_complaint),
        )
        .route("/api/v1/trades/{id}/award", post(award))
        .route("/api/v1/trades/{id}/contract", post(contract))
        .route("/api/v1/trades/{id}/archive", get(archive))
        .route("/api/v1/trades/{id}/retender", post(retender))
        .route("/api/v1/trades/{id}/rounds", post(next_round))
}

async fn next_round(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<uuid::Uuid>,
    Json(body): Json<crate::engine::NextRound>,
) -> Result<(axum::http::StatusCode, Json<crate::engine::TradeView>)> {
    Ok((
        axum::http::StatusCode::CREATED,
        Json(
            app.platform
                .next_round(&caller, &id.to_string(), body)
                .await?,
        ),
    ))
}

async fn retender(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<uuid::Uuid>,
    Json(body): Json<crate::engine::RetenderOrder>,
) -> Result<(axum::http::StatusCode, Json<crate::engine::TradeView>)> {
    Ok((
        axum::http::StatusCode::CREATED,
        Json(
            app.platform
                .retender(&caller, &id.to_string(), body)
                .await?,
        ),
    ))
}

/// The trade's archive (docs/archive.md), as `trade-{id}.tar`.
async fn archive(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<uuid::Uuid>,
) -> Result<impl axum::response::IntoResponse> {
    let bytes = app.platform.trade_archive(&caller, &id.to_string()).await?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/x-tar".to_owned(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"trade-{id}.tar\""),
            ),
        ],
        bytes,
    ))
}

async fn status(
    State(app): State<AppState>,
    Path(id): Path<uuid::Uuid>,
) -> Result<Json<EvaluationStatus>> {
    Ok(Json(app.platform.evaluation_status(&id.to_string()).await?))
}

async fn submit_sheet(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<uuid::Uuid>,
    Json(body): Json<SheetSubmission>,
) -> Result<Json<Acknowledged>> {
    Ok(Json(
        app.platform
            .submit_sheet(&caller, &id.to_string(), body)
            .await?,
    ))
}

async fn report(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<uuid::Uuid>,
) -> Result<Json<ReportView>> {
    Ok(Json(
        app.platform
            .evaluation_report(&caller, &id.to_string())
            .await?,
    ))
}

async fn sign_report(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<uuid::Uuid>,
    Json(body): Json<ReportSigning>,
) -> Result<Json<Acknowledged>> {
    Ok(Json(
        app.platform
            .sign_report(&caller, &id.to_string(), body)
            .await?,
    ))
}

async fn result(
    State(app): State<AppState>,
    Path(id): Path<uuid::Uuid>,
) -> Result<Json<ResultView>> {
    Ok(Json(app.platform.trade_result(&id.to_string()).await?))
}

async fn objections(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<uuid::Uuid>,
) -> Result<Json<Value>> {
    let objections = app.platform.objections(&caller, &id.to_string()).await?;
    Ok(Json(json!({ "objections": objections })))
}

async fn file_objection(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<uuid::Uuid>,
    Json(body): Json<Filing>,
) -> Result<Json<ObjectionView>> {
    Ok(Json(
        app.platform
            .file_objection(&caller, &id.to_string(), body)
            .await?,
    ))
}

async fn answer_objection(
    State(app): State<AppState>,
    caller: Caller,
    Path((id, objection)): Path<(uuid::Uuid, uuid::Uuid)>,
    Json(body): Json<Filing>,
) -> Result<Json<ObjectionView>> {
    Ok(Json(
        app.platform
            .answer_objection(&caller, &id.to_string(), &objection.to_string(), body)
            .await?,
    ))
}

async fn file_complaint(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<uuid::Uuid>,
    Json(body): Json<Filing>,
) -> Result<Json<ComplaintView>> {
    Ok(Json(
        app.platform
            .file_complaint(&caller, &id.to_string(), body)
            .await?,
    ))
}

async fn rule_complaint(
    State(app): State<AppState>,
    caller: Caller,
    Path((id, complaint)): Path<(uuid::Uuid, uuid::Uuid)>,
    Json(body): Json<Ruling>,
) -> Result<Json<ComplaintView>> {
    Ok(Json(
        app.platform
            .rule_complaint(&caller, &id.to_string(), &complaint.to_string(), body)
            .await?,
    ))
}

async fn award(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<uuid::Uuid>,
    Json(body): Json<AwardOrder>,
) -> Result<Json<ResultView>> {
    Ok(Json(
        app.platform.award(&caller, &id.to_string(), body).await?,
    ))
}

async fn contract(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<uuid::Uuid>,
    Json(body): Json<ContractRecord>,
) -> Result<Json<ResultView>> {
    Ok(Json(
        app.platform
            .record_contract(&caller, &id.to_string(), body)
            .await?,
    ))
}
