//! Risk alerts for supervisors: `GET /api/v1/alerts`, `GET /api/v1/alerts/{id}`, and the
//! workflow steps `POST /api/v1/alerts/{id}/{assign|handle|close}`.

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::Result;
use super::extract::{Json, Path, Query};
use super::AppState;
use crate::domain::alert::{Alert, AlertStep};
use crate::engine::{AlertFilter, Caller};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/alerts", get(list))
        .route("/api/v1/alerts/{id}", get(one))
        .route("/api/v1/alerts/{id}/assign", post(assign))
        .route("/api/v1/alerts/{id}/handle", post(handle))
        .route("/api/v1/alerts/{id}/close", post(close))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertsQuery {
    status: Option<String>,
    severity: Option<String>,
    rule: Option<String>,
    trade: Option<String>,
    limit: Option<i64>,
}

async fn list(
    State(app): State<AppState>,
    caller: Caller,
    Query(q): Query<AlertsQuery>,
) -> Result<Json<Value>> {
    let alerts = app
        .platform
        .alerts(
            &caller,
            AlertFilter {
                status: q.status,
                severity: q.severity,
                rule: q.rule,
                trade: q.trade,
                limit: q.limit,
            },
        )
        .await?;
    Ok(Json(json!({ "alerts": alerts })))
}

async fn one(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<uuid::Uuid>,
) -> Result<Json<Alert>> {
    Ok(Json(app.platform.alert(&caller, &id.to_string()).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepBody {
    note: String,
    /// Identity id of the supervisor who will handle it (assign only).
    #[serde(default)]
    assignee: Option<String>,
}

async fn step(
    app: &AppState,
    caller: &Caller,
    id: uuid::Uuid,
    step: AlertStep,
    body: StepBody,
) -> Result<Json<Alert>> {
    Ok(Json(
        app.platform
            .alert_step(
                caller,
                &id.to_string(),
                step,
                &body.note,
                body.assignee.as_deref(),
            )
            .await?,
    ))
}

async fn assign(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<uuid::Uuid>,
    Json(body): Json<StepBody>,
) -> Result<Json<Alert>> {
    step(&app, &caller, id, AlertStep::Assign, body).await
}

async fn handle(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<uuid::Uuid>,
    Json(body): Json<StepBody>,
) -> Result<Json<Alert>> {
    step(&app, &caller, id, AlertStep::Handle, body).await
}

async fn close(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<uuid::Uuid>,
    Json(body): Json<StepBody>,
) -> Result<Json<Alert>> {
    step(&app, &caller, id, AlertStep::Close, body).await
}
