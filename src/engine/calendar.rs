//! Reckoning on the working-day calendar (docs/api.md, "Calendar"): what days are, and
//! where periods end.

use chrono::{DateTime, NaiveDate, Utc};

use super::{EngineError, Platform, Result};
use crate::domain::calendar::{Day, Period, YearUnknown, MAX_WORKING_DAYS};

/// Most days one listing may cover.
pub const MAX_DAYS: i64 = 366;

fn unknown(e: YearUnknown) -> EngineError {
    EngineError::invalid("calendar_year_unknown", e.to_string())
}

impl Platform {
    /// Every date from `from` to `to`, inclusive.
    pub fn calendar_days(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<Day>> {
        let span = (to - from).num_days();
        if !(0..MAX_DAYS).contains(&span) {
            return Err(EngineError::invalid(
                "invalid_query",
                format!("to must be on or after from, at most {MAX_DAYS} days in all"),
            ));
        }
        from.iter_days()
            .take_while(|d| *d <= to)
            .map(|d| self.calendar.day(d).map_err(unknown))
            .collect()
    }

    /// The period of `working_days` working days from `start`.
    pub fn calendar_period(&self, start: DateTime<Utc>, working_days: u32) -> Result<Period> {
        if !(1..=MAX_WORKING_DAYS).contains(&working_days) {
            return Err(EngineError::invalid(
                "invalid_query",
                format!("working_days must be 1 to {MAX_WORKING_DAYS}"),
            ));
        }
        self.calendar.period(start, working_days).map_err(unknown)
    }
}
