//! The working-day calendar over HTTP: its tables, its days, and periods counted across
//! holidays and adjusted working days, with their end instants.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{code, spawn_app, Backend};

crate::on_both_backends!(periods_are_counted_on_the_working_day_calendar);

async fn periods_are_counted_on_the_working_day_calendar(backend: Backend) {
    let app = spawn_app(backend).await;

    let (status, calendar) = app.get("/api/v1/calendar", None).await;
    assert_eq!(status, StatusCode::OK, "{calendar}");
    assert_eq!(calendar["time_zone"], "+08:00");
    assert_eq!(calendar["business_hours_end"], "17:00");
    let years: Vec<(i64, String)> = calendar["years"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|y| {
            (
                y["year"].as_i64().unwrap_or_default(),
                y["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        years,
        [
            (2026, "official".to_owned()),
            (2027, "provisional".to_owned())
        ]
    );

    // Ten working days from Friday 18 September 2026, 10:00 in Beijing, across the
    // Mid-Autumn and National Day holidays and the Sunday worked in exchange.
    let (status, period) = app
        .get(
            "/api/v1/calendar/period?start=2026-09-18T02:00:00Z&working_days=10",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{period}");
    assert_eq!(period["last_day"], "2026-10-09");
    assert_eq!(period["end"], "2026-10-09T09:00:00Z", "17:00 in Beijing");
    assert_eq!(period["provisional"], false);

    let (status, days) = app
        .get("/api/v1/calendar/days?from=2026-09-19&to=2026-10-11", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{days}");
    let days = days["days"].as_array().cloned().unwrap_or_default();
    assert_eq!(days.len(), 23);
    let day = |date: &str| -> Value {
        days.iter()
            .find(|d| d["date"] == date)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(day("2026-09-19")["working"], false, "a Saturday");
    assert_eq!(day("2026-09-20")["working"], true);
    assert_eq!(day("2026-09-20")["adjusted_working_day"], true);
    assert_eq!(day("2026-10-01")["holiday"], "国庆节");
    assert_eq!(day("2026-10-10")["working"], true);
    let working = days.iter().filter(|d| d["working"] == true).count();
    assert_eq!(working, 11, "ten up to 9 October, and Saturday 10 October");

    // Bad input, each with its code.
    for (path, status, expected) in [
        (
            "/api/v1/calendar/period?start=2027-12-20T00:00:00Z&working_days=20",
            StatusCode::UNPROCESSABLE_ENTITY,
            "calendar_year_unknown",
        ),
        (
            "/api/v1/calendar/period?start=2026-09-18T02:00:00Z&working_days=0",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_query",
        ),
        (
            "/api/v1/calendar/days?from=2026-01-01&to=2027-06-01",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_query",
        ),
        (
            "/api/v1/calendar/days?from=2026-10-02&to=2026-10-01",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_query",
        ),
    ] {
        let (got, body) = app.get(path, None).await;
        assert_eq!((got, code(&body)), (status, expected), "{path}: {body}");
    }
    let (got, body) = app
        .get("/api/v1/calendar/days?from=2026-13-01&to=2026-10-01", None)
        .await;
    assert_eq!(got, StatusCode::BAD_REQUEST, "{body}");
}
