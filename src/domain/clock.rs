//! Time is injected: the server clock rules every deadline, and tests use a manual clock.

use chrono::{DateTime, Duration, Utc};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;

/// The source of "now" for every rule that depends on time.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The host's clock (UTC), never running backwards within the process.
///
/// If the host clock steps back (a bad NTP step, an operator's mistake), time stands still
/// until the host catches up. A deadline the platform has seen pass stays passed: a bid
/// cannot slip in after it because the host clock was set back. Across a restart, log
/// entry times still never run backwards: the log takes the later of now and its last
/// entry (ADR 0020).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

/// The latest instant the process has read, in milliseconds since the epoch.
static LATEST_MILLIS: AtomicI64 = AtomicI64::new(i64::MIN);

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        let host = Utc::now();
        let seen = LATEST_MILLIS.fetch_max(host.timestamp_millis(), Ordering::SeqCst);
        if seen > host.timestamp_millis() {
            from_millis(seen)
        } else {
            host
        }
    }
}

/// A clock that only moves when told to; for tests and simulations.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self(Mutex::new(start))
    }

    pub fn set(&self, to: DateTime<Utc>) {
        *self.lock() = to;
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.lock();
        *now += by;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DateTime<Utc>> {
        // A poisoned clock still holds a valid instant; keep using it.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.lock()
    }
}

/// Milliseconds since the Unix epoch, as stored in the database.
pub fn to_millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// The inverse of [`to_millis`]; out-of-range values clamp to the epoch.
pub fn from_millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// RFC 3339 with milliseconds and `Z`, the one timestamp format of our API and log.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Serde helpers so every timestamp leaves the API in the one [`rfc3339`] format.
pub mod serde_rfc3339 {
    use chrono::{DateTime, Utc};
    use serde::Serializer;

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::rfc3339(*t))
    }

    pub fn option<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&super::rfc3339(*t)),
            None => s.serialize_none(),
        }
    }
}
