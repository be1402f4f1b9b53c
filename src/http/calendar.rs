//! `/api/v1/calendar…`: the working-day calendar, its days, and periods counted on it.

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::Result;
use super::extract::{Json, Query};
use super::AppState;
use crate::domain::calendar::Period;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/calendar", get(calendar))
        .route("/api/v1/calendar/days", get(days))
        .route("/api/v1/calendar/period", get(period))
}

/// The calendar in force: its digest, time zone, close of business and each year's table.
async fn calendar(State(app): State<AppState>) -> Json<Value> {
    let c = &app.platform.calendar;
    Json(json!({
        "sha256": c.sha256,
        "time_zone": c.time_zone.to_string(),
        "business_hours_end": c.business_hours_end.format("%H:%M").to_string(),
        "years": c.years.values().map(|y| json!({
            "year": y.year,
            "status": y.status,
            "source": y.source,
            "holidays": y.holidays,
            "working_weekend_days": y.working_weekend_days,
        })).collect::<Vec<_>>(),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Days {
    from: NaiveDate,
    to: NaiveDate,
}

async fn days(State(app): State<AppState>, Query(q): Query<Days>) -> Result<Json<Value>> {
    let days = app.platform.calendar_days(q.from, q.to)?;
    Ok(Json(json!({ "days": days })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PeriodQuery {
    start: DateTime<Utc>,
    working_days: u32,
}

async fn period(State(app): State<AppState>, Query(q): Query<PeriodQuery>) -> Result<Json<Period>> {
    Ok(Json(app.platform.calendar_period(q.start, q.working_days)?))
}
