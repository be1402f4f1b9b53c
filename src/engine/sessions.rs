//! Sessions the request path looked up lately, kept for a second.
//!
//! Every authenticated request names its session by bearer token or cookie, and reading
//! the session is one query on the store's connection threads before anything else can
//! happen: on the quote path that is one of the two reads before the decision. A session
//! found valid is kept here for [`SESSION_CACHE_TTL`] of the platform's clock, never past
//! its own expiry (docs/adr/0022). Signing out forgets it here at once; a role grant
//! forgets every kept session. What this instance cannot see (a sign-out through another
//! instance) takes effect here within the TTL.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use crate::domain::identity::Identity;

/// How long a session found valid is trusted without reading it again.
pub const SESSION_CACHE_TTL: Duration = Duration::seconds(1);
/// Sessions kept at most; past that, the expired ones are dropped, and if none had
/// expired, all of them.
const MAX_KEPT: usize = 100_000;

/// Identities of valid sessions, by the token's SHA-256, each with when to read it again.
#[derive(Default)]
pub struct SessionCache {
    kept: Mutex<HashMap<String, (Identity, DateTime<Utc>)>>,
}

impl SessionCache {
    /// The identity of session `token_sha256` if it was found valid less than the TTL ago
    /// (on the platform clock, `now`) and has not expired.
    pub fn get(&self, token_sha256: &str, now: DateTime<Utc>) -> Option<Identity> {
        let kept = self
            .kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        kept.get(token_sha256)
            .filter(|(_, until)| now < *until)
            .map(|(identity, _)| identity.clone())
    }

    /// Keeps `identity`, read from the store at `now`, for its session that expires at
    /// `expires_at`.
    pub fn keep(
        &self,
        token_sha256: &str,
        identity: Identity,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) {
        let until = (now + SESSION_CACHE_TTL).min(expires_at);
        let mut kept = self
            .kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if kept.len() >= MAX_KEPT && !kept.contains_key(token_sha256) {
            kept.retain(|_, (_, u)| now < *u);
            if kept.len() >= MAX_KEPT {
                kept.clear();
            }
        }
        kept.insert(token_sha256.to_owned(), (identity, until));
    }

    /// Forgets one session (signed out).
    pub fn forget(&self, token_sha256: &str) {
        self.kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(token_sha256);
    }

    /// Forgets every session (an identity changed).
    pub fn clear(&self) {
        self.kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::identity::{IdentityStatus, Role};

    fn identity(id: &str) -> Identity {
        Identity {
            id: id.to_owned(),
            organization: "Org".to_owned(),
            usci: crate::domain::usci::Usci::parse("91350100M000100Y43")
                .unwrap_or_else(|e| panic!("{e}")),
            role: Role::Bidder,
            status: IdentityStatus::Active,
            cert_fingerprint: String::new(),
            subject: String::new(),
            region: None,
        }
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap_or_default()
    }

    #[test]
    fn a_session_is_kept_for_the_ttl_and_never_past_its_expiry() {
        let cache = SessionCache::default();
        cache.keep("a", identity("i-a"), at(0), at(3_600));
        assert_eq!(cache.get("a", at(0)).map(|i| i.id), Some("i-a".to_owned()));
        assert!(cache.get("a", at(0) + SESSION_CACHE_TTL).is_none());
        // A session expiring within the TTL is kept only until it expires.
        cache.keep(
            "b",
            identity("i-b"),
            at(10),
            at(10) + Duration::milliseconds(300),
        );
        assert!(cache
            .get("b", at(10) + Duration::milliseconds(299))
            .is_some());
        assert!(cache
            .get("b", at(10) + Duration::milliseconds(300))
            .is_none());
        assert!(cache.get("unknown", at(0)).is_none());
    }

    #[test]
    fn signing_out_and_identity_changes_forget_sessions_at_once() {
        let cache = SessionCache::default();
        cache.keep("a", identity("i-a"), at(0), at(3_600));
        cache.keep("b", identity("i-b"), at(0), at(3_600));
        cache.forget("a");
        assert!(cache.get("a", at(0)).is_none());
        assert!(cache.get("b", at(0)).is_some());
        cache.clear();
        assert!(cache.get("b", at(0)).is_none());
    }
}
