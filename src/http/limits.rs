//! Abuse limits of the HTTP layer (docs/security.md, "Limits"): request rates per client
//! address and per identity on login, bid submission and quoting, a rate per identity on
//! every other action that goes into the permanent log, and a cap on the WebSocket
//! subscriptions one identity (or one anonymous address) holds open.
//!
//! The limits are kept in memory by each instance: behind several instances a client
//! gets at most the sum of theirs, which still bounds it.

use axum::http::{Method, StatusCode};
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::error::ApiError;
use crate::config::LimitArgs;

/// What a request counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Challenge, login and registration.
    Login,
    /// Submitting or withdrawing a sealed bid.
    Submission,
    /// A quote in a live sale.
    Quote,
    /// Anything else an identity does that goes into the permanent log: every other
    /// write, and the reads that are logged (a bidder's document download, confidential
    /// reads). Limited per identity only, so the log cannot be grown without bound.
    Logged,
}

impl Class {
    /// The class of a request by its method and matched route, if it is limited. The
    /// limits are applied by the `Caller` extractor, which every handler of these routes
    /// takes (tests/api/limits.rs drives each class).
    pub fn of(method: &Method, route: &str) -> Option<Self> {
        match (method, route) {
            (&Method::POST, "/api/v1/auth/challenge" | "/api/v1/auth/login")
            | (&Method::POST, "/api/v1/registrations") => Some(Self::Login),
            (&Method::PUT | &Method::DELETE, "/api/v1/trades/{id}/bid") => Some(Self::Submission),
            (&Method::POST, "/api/v1/trades/{id}/quotes") => Some(Self::Quote),
            (
                &Method::GET,
                "/api/v1/documents/{sha256}"
                | "/api/v1/alerts"
                | "/api/v1/alerts/{id}"
                | "/api/v1/experts"
                | "/api/v1/trades/{id}/applications"
                | "/api/v1/trades/{id}/evaluation/draw"
                | "/api/v1/trades/{id}/evaluation/report"
                | "/api/v1/trades/{id}/objections"
                | "/api/v1/trades/{id}/archive",
            ) => Some(Self::Logged),
            // Banks sign their requests and are recorded once per transaction.
            (&Method::POST | &Method::PUT | &Method::DELETE, route)
                if route.starts_with("/api/v1/") && !route.starts_with("/api/v1/bank/") =>
            {
                Some(Self::Logged)
            }
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Submission => "bid submission",
            Self::Quote => "quoting",
            Self::Logged => "logged actions",
        }
    }
}

/// One rate per key, or none.
struct Rate(Option<DefaultKeyedRateLimiter<String>>);

impl Rate {
    fn per_minute(n: u32) -> Self {
        Self(NonZeroU32::new(n).map(|n| RateLimiter::keyed(Quota::per_minute(n))))
    }

    /// `Err(wait)` when `key` has used its rate.
    fn check(&self, key: &str) -> Result<(), Duration> {
        let Some(limiter) = &self.0 else {
            return Ok(());
        };
        limiter
            .check_key(&key.to_owned())
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    fn forget_idle(&self) {
        if let Some(limiter) = &self.0 {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

/// The rates of one class, by address and by identity.
struct Rates {
    per_address: Rate,
    per_identity: Rate,
}

/// Every limit of this instance.
pub struct Limits {
    login: Rates,
    submission: Rates,
    quote: Rates,
    logged: Rates,
    subscribers: Subscribers,
}

impl Limits {
    pub fn new(args: &LimitArgs) -> Self {
        let rates = |address, identity| Rates {
            per_address: Rate::per_minute(address),
            per_identity: Rate::per_minute(identity),
        };
        Self {
            login: rates(args.login_per_address, args.login_per_identity),
            submission: rates(args.submit_per_address, args.submit_per_identity),
            quote: rates(args.quote_per_address, args.quote_per_identity),
            logged: rates(0, args.logged_per_identity),
            subscribers: Subscribers {
                cap: args.subscribers_per_identity as usize,
                open: Arc::default(),
            },
        }
    }

    fn rates(&self, class: Class) -> &Rates {
        match class {
            Class::Login => &self.login,
            Class::Submission => &self.submission,
            Class::Quote => &self.quote,
            Class::Logged => &self.logged,
        }
    }

    /// Counts a request of `class` from `address` (if known) against that address's rate.
    pub fn check_address(&self, class: Class, address: Option<&str>) -> Result<(), ApiError> {
        match address {
            Some(address) => self
                .rates(class)
                .per_address
                .check(address)
                .map_err(|wait| too_many(class, "this address", wait)),
            None => Ok(()),
        }
    }

    /// Counts a request of `class` by `identity` (an identity id, or for a login the
    /// certificate's fingerprint) against that identity's rate.
    pub fn check_identity(&self, class: Class, identity: &str) -> Result<(), ApiError> {
        self.rates(class)
            .per_identity
            .check(identity)
            .map_err(|wait| too_many(class, "this identity", wait))
    }

    /// A place for one more WebSocket subscription of `holder`, held until the slot drops.
    pub fn subscribe(&self, holder: String) -> Result<SubscriberSlot, ApiError> {
        self.subscribers.take(holder)
    }

    /// Drops the rate state of keys that have not been seen for a while (the rates keep
    /// one entry per address and identity seen).
    pub fn forget_idle(&self) {
        for rates in [&self.login, &self.submission, &self.quote] {
            rates.per_address.forget_idle();
            rates.per_identity.forget_idle();
        }
    }
}

/// A 429 with the seconds to wait, in the body and in `Retry-After`.
fn too_many(class: Class, whose: &str, wait: Duration) -> ApiError {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    ApiError::TooManyRequests {
        message: format!(
            "too many {} requests from {whose}: retry in {seconds} s",
            class.name()
        ),
        retry_after: seconds.max(1),
    }
}

/// Open WebSocket subscriptions per holder.
struct Subscribers {
    /// 0: no cap.
    cap: usize,
    open: Arc<Mutex<HashMap<String, usize>>>,
}

impl Subscribers {
    fn take(&self, holder: String) -> Result<SubscriberSlot, ApiError> {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = open.entry(holder.clone()).or_default();
        if self.cap > 0 && *count >= self.cap {
            return Err(ApiError::request(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_subscriptions",
                format!(
                    "{} WebSocket subscriptions are already open for this identity or address; close one first",
                    self.cap
                ),
            ));
        }
        *count += 1;
        Ok(SubscriberSlot {
            holder,
            open: self.open.clone(),
        })
    }
}

/// One open subscription; dropping it frees the place.
pub struct SubscriberSlot {
    holder: String,
    open: Arc<Mutex<HashMap<String, usize>>>,
}

impl Drop for SubscriberSlot {
    fn drop(&mut self) {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.holder) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.holder);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_minute: u32) -> Limits {
        Limits::new(&LimitArgs {
            login_per_address: per_minute,
            login_per_identity: per_minute,
            subscribers_per_identity: 2,
            ..LimitArgs::unlimited()
        })
    }

    #[test]
    fn a_rate_allows_its_burst_then_refuses_that_key_only() {
        let limits = limits(3);
        for _ in 0..3 {
            assert!(limits.check_address(Class::Login, Some("10.0.0.1")).is_ok());
        }
        let refused = limits.check_address(Class::Login, Some("10.0.0.1"));
        assert!(
            matches!(refused, Err(ApiError::TooManyRequests { retry_after, .. }) if (1..=20).contains(&retry_after))
        );
        assert!(limits.check_address(Class::Login, Some("10.0.0.2")).is_ok());
        assert!(limits.check_identity(Class::Login, "someone").is_ok());
        // Quoting is unlimited here.
        for _ in 0..100 {
            assert!(limits.check_address(Class::Quote, Some("10.0.0.1")).is_ok());
        }
    }

    #[test]
    fn a_subscription_place_is_given_back_when_dropped() {
        let limits = limits(0);
        let a = limits.subscribe("x".into());
        let b = limits.subscribe("x".into());
        assert!(a.is_ok() && b.is_ok());
        assert!(limits.subscribe("x".into()).is_err());
        assert!(limits.subscribe("y".into()).is_ok());
        drop(a);
        assert!(limits.subscribe("x".into()).is_ok());
    }

    #[test]
    fn every_route_that_logs_is_classed_and_reads_that_do_not_log_are_not() {
        assert_eq!(
            Class::of(&Method::PUT, "/api/v1/trades/{id}/bid"),
            Some(Class::Submission)
        );
        assert_eq!(Class::of(&Method::GET, "/api/v1/trades/{id}/bid"), None);
        assert_eq!(
            Class::of(&Method::POST, "/api/v1/auth/login"),
            Some(Class::Login)
        );
        assert_eq!(
            Class::of(&Method::POST, "/api/v1/trades/{id}/quotes"),
            Some(Class::Quote)
        );
        assert_eq!(
            Class::of(&Method::POST, "/api/v1/trades/{id}/clarifications"),
            Some(Class::Logged)
        );
        assert_eq!(
            Class::of(&Method::GET, "/api/v1/documents/{sha256}"),
            Some(Class::Logged)
        );
        assert_eq!(Class::of(&Method::GET, "/api/v1/trades/{id}"), None);
        assert_eq!(Class::of(&Method::POST, "/api/v1/bank/notifications"), None);
    }
}
