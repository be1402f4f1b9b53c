//! The working-day calendar (工作日历): which days are working days, as data, and the
//! periods counted on it.
//!
//! Working days are Monday to Friday, less the public holidays of the year's table, plus
//! its adjusted working days (调休上班). Periods follow 民法典 第二百零一条 to 第二百零三条:
//! the day a period starts is not counted; counting starts the next day; a period ends at
//! the close of business (`business_hours_end`) of its last working day. A year without a
//! table cannot be reckoned on, so a period that reaches it is refused.

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The calendar shipped with tradehall; `--calendar FILE` replaces it.
pub const BUILTIN: &str = include_str!("../../calendar/calendar.toml");

/// Longest period the calendar reckons, in working days: far beyond any statutory period,
/// and a bound on the work one request can ask for.
pub const MAX_WORKING_DAYS: u32 = 1000;

/// Whether a year's table is the State Council's notice or only the statutory holidays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum YearStatus {
    Official,
    Provisional,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarFile {
    time_zone: String,
    business_hours_end: String,
    years: Vec<YearFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct YearFile {
    year: i32,
    status: YearStatus,
    source: String,
    holidays: Vec<HolidayFile>,
    working_weekend_days: Vec<NaiveDate>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HolidayFile {
    name: String,
    from: NaiveDate,
    to: NaiveDate,
}

/// One year's table.
#[derive(Debug, Clone, Serialize)]
pub struct Year {
    pub year: i32,
    pub status: YearStatus,
    pub source: String,
    /// Each public holiday's date and name.
    pub holidays: BTreeMap<NaiveDate, String>,
    pub working_weekend_days: BTreeSet<NaiveDate>,
}

/// A loaded calendar.
#[derive(Debug, Clone, Serialize)]
pub struct Calendar {
    /// SHA-256 (hex) of the text it was loaded from.
    pub sha256: String,
    #[serde(serialize_with = "as_text")]
    pub time_zone: FixedOffset,
    pub business_hours_end: NaiveTime,
    pub years: BTreeMap<i32, Year>,
}

/// Why a calendar file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    #[error("calendar is not valid: {0}")]
    Syntax(#[from] toml::de::Error),
    #[error("calendar time_zone must be an offset like +08:00")]
    TimeZone,
    #[error("calendar business_hours_end must be a time like 17:00")]
    BusinessHours,
    #[error("calendar lists {0} twice")]
    Duplicate(i32),
    #[error("calendar year {year}: {message}")]
    Invalid { year: i32, message: String },
}

/// A date the calendar has no table for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the working-day calendar has no table for {0}; add the year's holiday notice to the calendar"
)]
pub struct YearUnknown(pub i32);

/// What one date is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Day {
    pub date: NaiveDate,
    pub working: bool,
    /// The public holiday it is part of.
    pub holiday: Option<String>,
    /// A weekend day worked in exchange for a holiday (调休上班).
    pub adjusted_working_day: bool,
    pub provisional: bool,
}

/// A period counted in working days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Period {
    pub start: DateTime<Utc>,
    pub working_days: u32,
    /// The last working day of the period (local date).
    pub last_day: NaiveDate,
    /// When the period ends: the close of business of its last working day.
    pub end: DateTime<Utc>,
    /// Whether any day of it was reckoned on a provisional year.
    pub provisional: bool,
}

/// Working days counted between two instants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Count {
    pub working_days: u32,
    pub provisional: bool,
}

impl Calendar {
    /// Parses calendar text; `sha256` is the hex digest of `text` as given.
    pub fn parse(text: &str, sha256: String) -> Result<Self, CalendarError> {
        let file: CalendarFile = toml::from_str(text)?;
        let time_zone: FixedOffset = file
            .time_zone
            .parse()
            .map_err(|_| CalendarError::TimeZone)?;
        let business_hours_end = NaiveTime::parse_from_str(&file.business_hours_end, "%H:%M")
            .map_err(|_| CalendarError::BusinessHours)?;
        let mut years = BTreeMap::new();
        for y in file.years {
            let year = y.year;
            let invalid = |message: String| CalendarError::Invalid { year, message };
            let mut holidays = BTreeMap::new();
            for h in &y.holidays {
                if h.from > h.to || h.from.year() != year || h.to.year() != year {
                    return Err(invalid(format!(
                        "holiday {} ({} to {}) must run forwards within the year",
                        h.name, h.from, h.to
                    )));
                }
                for date in h.from.iter_days().take_while(|d| *d <= h.to) {
                    if holidays.insert(date, h.name.clone()).is_some() {
                        return Err(invalid(format!("{date} is in two holidays")));
                    }
                }
            }
            let mut working_weekend_days = BTreeSet::new();
            for date in y.working_weekend_days {
                if date.year() != year || !is_weekend(date) {
                    return Err(invalid(format!(
                        "adjusted working day {date} must be a Saturday or Sunday of the year"
                    )));
                }
                if holidays.contains_key(&date) {
                    return Err(invalid(format!(
                        "{date} is both a holiday and a working day"
                    )));
                }
                working_weekend_days.insert(date);
            }
            let table = Year {
                year,
                status: y.status,
                source: y.source,
                holidays,
                working_weekend_days,
            };
            if years.insert(year, table).is_some() {
                return Err(CalendarError::Duplicate(year));
            }
        }
        Ok(Self {
            sha256,
            time_zone,
            business_hours_end,
            years,
        })
    }

    /// The date of `instant` in the calendar's time zone.
    pub fn local_date(&self, instant: DateTime<Utc>) -> NaiveDate {
        instant.with_timezone(&self.time_zone).date_naive()
    }

    /// The close of business of `date`, as an instant.
    pub fn close_of(&self, date: NaiveDate) -> DateTime<Utc> {
        let local = date.and_time(self.business_hours_end);
        // A fixed offset maps every local time to exactly one instant.
        (local - Duration::seconds(i64::from(self.time_zone.local_minus_utc()))).and_utc()
    }

    /// What `date` is.
    pub fn day(&self, date: NaiveDate) -> Result<Day, YearUnknown> {
        let year = self
            .years
            .get(&date.year())
            .ok_or(YearUnknown(date.year()))?;
        let holiday = year.holidays.get(&date).cloned();
        let adjusted = year.working_weekend_days.contains(&date);
        Ok(Day {
            date,
            working: holiday.is_none() && (adjusted || !is_weekend(date)),
            holiday,
            adjusted_working_day: adjusted,
            provisional: year.status == YearStatus::Provisional,
        })
    }

    /// The period of `working_days` working days that starts at `start`: counting starts
    /// the day after `start`'s date, and the period ends at the close of business of its
    /// last working day.
    pub fn period(&self, start: DateTime<Utc>, working_days: u32) -> Result<Period, YearUnknown> {
        let mut date = self.local_date(start);
        let mut counted = 0;
        let mut provisional = false;
        while counted < working_days.min(MAX_WORKING_DAYS) {
            date = date.succ_opt().ok_or(YearUnknown(date.year()))?;
            let day = self.day(date)?;
            provisional |= day.provisional;
            if day.working {
                counted += 1;
            }
        }
        Ok(Period {
            start,
            working_days: counted,
            last_day: date,
            end: if counted == 0 {
                start
            } else {
                self.close_of(date)
            },
            provisional,
        })
    }

    /// Working days of the period from `start` to `end`: those after `start`'s date whose
    /// close of business is at or before `end`.
    pub fn working_days_between(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Count, YearUnknown> {
        let mut count = Count {
            working_days: 0,
            provisional: false,
        };
        let mut date = self.local_date(start);
        loop {
            date = date.succ_opt().ok_or(YearUnknown(date.year()))?;
            if self.close_of(date) > end || count.working_days >= MAX_WORKING_DAYS {
                return Ok(count);
            }
            let day = self.day(date)?;
            count.provisional |= day.provisional;
            if day.working {
                count.working_days += 1;
            }
        }
    }
}

fn as_text<S: serde::Serializer>(
    value: &impl std::fmt::Display,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builtin() -> Calendar {
        Calendar::parse(BUILTIN, String::new()).unwrap_or_else(|e| panic!("{e}"))
    }

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    /// `s` local time in the calendar's zone (+08:00).
    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&format!("{s}+08:00"))
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn the_2026_table_has_its_holidays_and_adjusted_working_days() {
        let c = builtin();
        let day = |s| c.day(date(s)).unwrap_or_else(|e| panic!("{e}"));
        // National Day: 1 to 7 October off; Sunday 20 September and Saturday 10 October
        // worked.
        assert!(!day("2026-10-01").working);
        assert_eq!(day("2026-10-07").holiday.as_deref(), Some("国庆节"));
        assert!(day("2026-09-20").working && day("2026-09-20").adjusted_working_day);
        assert!(day("2026-10-10").working);
        assert!(!day("2026-10-11").working, "an ordinary Sunday");
        assert!(day("2026-10-08").working, "an ordinary Thursday");
        assert!(!day("2026-02-23").working, "the Spring Festival's last day");
        assert!(!day("2026-02-23").provisional);
        assert!(day("2027-01-01").provisional);
        assert_eq!(c.day(date("2028-03-01")), Err(YearUnknown(2028)));
    }

    #[test]
    fn ten_working_days_across_national_day_with_its_adjusted_working_days() {
        let c = builtin();
        // Published Friday 18 September 2026 at 10:00. Counting starts on the 19th:
        // 20 (Sun, worked) 21 22 23 24 | 25-27 Mid-Autumn | 28 29 30 | 1-7 National Day |
        // 8 9 10 (Sat, worked).
        let p = c
            .period(at("2026-09-18T10:00:00"), 10)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.last_day, date("2026-10-09"));
        assert_eq!(p.end, at("2026-10-09T17:00:00"));
        assert!(!p.provisional);
        // Fourteen: 9 (Fri) is the 10th, 10 (Sat, worked) the 11th, 12 13 14.
        let p = c
            .period(at("2026-09-18T10:00:00"), 14)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.last_day, date("2026-10-14"));
        // And back: the period from publication to its end holds exactly ten.
        let count = c
            .working_days_between(at("2026-09-18T10:00:00"), at("2026-10-09T17:00:00"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(count.working_days, 10);
        // One minute short of the close of business, the last day does not count.
        let count = c
            .working_days_between(at("2026-09-18T10:00:00"), at("2026-10-09T16:59:00"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(count.working_days, 9);
    }

    #[test]
    fn a_period_into_a_provisional_year_says_so_and_one_past_the_tables_is_refused() {
        let c = builtin();
        // 30 November 2026: 20 working days end on 28 December, all in 2026.
        let p = c
            .period(at("2026-11-30T09:00:00"), 20)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!p.provisional);
        assert_eq!(p.last_day, date("2026-12-28"));
        let p = c
            .period(at("2026-12-28T09:00:00"), 5)
            .unwrap_or_else(|e| panic!("{e}"));
        // 29 30 31 December, (1 January off), 4 5 January.
        assert_eq!(p.last_day, date("2027-01-05"));
        assert!(p.provisional);
        assert_eq!(
            c.period(at("2027-12-20T09:00:00"), 20),
            Err(YearUnknown(2028))
        );
    }

    #[test]
    fn a_calendar_that_contradicts_itself_is_refused() {
        let base = "time_zone = \"+08:00\"\nbusiness_hours_end = \"17:00\"\n";
        let year = |holidays: &str, weekend: &str| {
            format!(
                "{base}[[years]]\nyear = 2026\nstatus = \"official\"\nsource = \"t\"\nholidays = [{holidays}]\nworking_weekend_days = [{weekend}]\n"
            )
        };
        let parse = |text: &str| Calendar::parse(text, String::new());
        assert!(parse(&year("", "")).is_ok());
        // A Monday cannot be an adjusted working day.
        assert!(matches!(
            parse(&year("", "\"2026-10-12\"")),
            Err(CalendarError::Invalid { year: 2026, .. })
        ));
        // A holiday outside its year, or backwards.
        assert!(parse(&year(
            "{ name = \"x\", from = \"2027-01-01\", to = \"2027-01-01\" }",
            ""
        ))
        .is_err());
        assert!(parse(&year(
            "{ name = \"x\", from = \"2026-01-03\", to = \"2026-01-01\" }",
            ""
        ))
        .is_err());
        // A day both off and worked.
        assert!(parse(&year(
            "{ name = \"x\", from = \"2026-10-10\", to = \"2026-10-10\" }",
            "\"2026-10-10\""
        ))
        .is_err());
        let twice = format!("{}{}", year("", ""), &year("", "")[base.len()..]);
        assert!(matches!(parse(&twice), Err(CalendarError::Duplicate(2026))));
        assert!(matches!(
            parse(&year("", "").replace("+08:00", "Asia/Shanghai")),
            Err(CalendarError::TimeZone)
        ));
    }
}
