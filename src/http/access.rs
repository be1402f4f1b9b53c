//! Who may call each route, checked before the handler runs and before its body is read
//! (docs/security.md, "Authorization matrix").
//!
//! This is the first of two gates. It checks the role only: anonymous callers get 401 and
//! the wrong role gets 403, whatever the body holds. The use case then checks how the
//! caller relates to the resource: the trade's committee, the supervisor's region, one's
//! own bid. A route with no entry here is refused with 500, so a new route cannot go out
//! without a decision. `tests/api/authz.rs` checks every route for every role and phase.

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::AppState;
use crate::domain::identity::Role;
use crate::engine::{Caller, EngineError};

/// What a route asks of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone. Some public routes give signed-in callers more (their own view).
    Public,
    /// Any signed-in identity, active or pending.
    SignedIn,
    /// An active identity in one of these roles.
    Roles(&'static [Role]),
    /// A bank, authenticated by its HMAC signature rather than a session.
    Bank,
}

use Access::{Bank, Public, Roles, SignedIn};

const BIDDER: Access = Roles(&[Role::Bidder]);
const CENTRE: Access = Roles(&[Role::TradingCentre]);
const SUPERVISOR: Access = Roles(&[Role::Supervisor]);
const CUSTODIAN: Access = Roles(&[Role::Custodian]);
const EXPERT: Access = Roles(&[Role::Expert]);
const CENTRE_OR_SUPERVISOR: Access = Roles(&[Role::TradingCentre, Role::Supervisor]);

/// Every route: method, path as routed, access.
pub const POLICY: &[(&str, &str, Access)] = &[
    ("GET", "/healthz", Public),
    ("GET", "/api/v1/platform/keys", Public),
    ("GET", "/api/v1/trust/roots", Public),
    ("GET", "/api/v1/rulebook", Public),
    ("GET", "/api/v1/regions", Public),
    ("GET", "/api/v1/rulebook/source", Public),
    // Identity
    ("POST", "/api/v1/auth/challenge", Public),
    ("POST", "/api/v1/auth/login", Public),
    ("POST", "/api/v1/auth/logout", Public),
    ("GET", "/api/v1/auth/me", SignedIn),
    ("POST", "/api/v1/registrations", Public),
    // The centre lists custodians to form committees; the rest is the administrator's.
    (
        "GET",
        "/api/v1/identities",
        Roles(&[Role::Admin, Role::TradingCentre]),
    ),
    (
        "POST",
        "/api/v1/identities/{id}/grant",
        Roles(&[Role::Admin]),
    ),
    // Trades, documents, bids, clarifications
    ("GET", "/api/v1/trades", Public),
    ("POST", "/api/v1/trades", CENTRE),
    ("POST", "/api/v1/trades/check", CENTRE),
    ("GET", "/api/v1/trades/{id}", Public),
    ("POST", "/api/v1/trades/{id}/publish", CENTRE),
    ("PUT", "/api/v1/trades/{id}/documents/{name}", CENTRE),
    ("POST", "/api/v1/trades/{id}/notices", CENTRE),
    ("GET", "/api/v1/trades/{id}/downloads/mine", BIDDER),
    ("GET", "/api/v1/documents/{sha256}", Public),
    ("PUT", "/api/v1/trades/{id}/custodian-key", CUSTODIAN),
    ("PUT", "/api/v1/trades/{id}/bid", BIDDER),
    ("DELETE", "/api/v1/trades/{id}/bid", BIDDER),
    ("GET", "/api/v1/trades/{id}/bid", BIDDER),
    ("GET", "/api/v1/bids/mine", BIDDER),
    ("GET", "/api/v1/clarifications/mine", BIDDER),
    ("POST", "/api/v1/trades/{id}/clarifications", BIDDER),
    (
        "POST",
        "/api/v1/trades/{id}/clarifications/{cid}/answer",
        CENTRE,
    ),
    // Supervision
    ("GET", "/api/v1/alerts", SUPERVISOR),
    ("GET", "/api/v1/alerts/{id}", SUPERVISOR),
    ("POST", "/api/v1/alerts/{id}/assign", SUPERVISOR),
    ("POST", "/api/v1/alerts/{id}/handle", SUPERVISOR),
    ("POST", "/api/v1/alerts/{id}/close", SUPERVISOR),
    ("POST", "/api/v1/trades/{id}/suspend", SUPERVISOR),
    ("POST", "/api/v1/trades/{id}/resume", SUPERVISOR),
    ("POST", "/api/v1/trades/{id}/terminate", SUPERVISOR),
    ("GET", "/api/v1/feed", Public),
    ("GET", "/api/v1/events", Public),
    // Live sales: applications, money, quotes, the reserve
    ("POST", "/api/v1/trades/{id}/applications", BIDDER),
    (
        "GET",
        "/api/v1/trades/{id}/applications",
        CENTRE_OR_SUPERVISOR,
    ),
    ("GET", "/api/v1/trades/{id}/applications/mine", BIDDER),
    ("GET", "/api/v1/applications/mine", BIDDER),
    ("POST", "/api/v1/applications/{id}/qualify", CENTRE),
    ("POST", "/api/v1/applications/{id}/reject", CENTRE),
    ("POST", "/api/v1/bank/notifications", Bank),
    ("POST", "/api/v1/bank/refund-claims", Bank),
    ("GET", "/api/v1/trades/{id}/money", CENTRE_OR_SUPERVISOR),
    ("GET", "/api/v1/trades/{id}/money/mine", BIDDER),
    ("POST", "/api/v1/trades/{id}/quotes", BIDDER),
    ("GET", "/api/v1/trades/{id}/sale", Public),
    ("PUT", "/api/v1/trades/{id}/reserve", CENTRE),
    ("GET", "/api/v1/trades/{id}/reserve", Public),
    ("GET", "/api/v1/trades/{id}/live", Public),
    ("GET", "/api/v1/calendar", Public),
    ("GET", "/api/v1/calendar/days", Public),
    ("GET", "/api/v1/calendar/period", Public),
    // Opening
    ("GET", "/api/v1/trades/{id}/opening", Public),
    ("GET", "/api/v1/trades/{id}/opening/shares", CUSTODIAN),
    (
        "POST",
        "/api/v1/trades/{id}/opening/contributions",
        CUSTODIAN,
    ),
    ("POST", "/api/v1/trades/{id}/opening/extension", SUPERVISOR),
    // Experts, evaluation, award
    ("GET", "/api/v1/experts/me", EXPERT),
    ("GET", "/api/v1/experts/me/assignments", EXPERT),
    ("PUT", "/api/v1/experts/me", EXPERT),
    (
        "GET",
        "/api/v1/experts",
        Roles(&[Role::TradingCentre, Role::Supervisor, Role::Admin]),
    ),
    ("GET", "/api/v1/trades/{id}/evaluation/draw", Public),
    ("POST", "/api/v1/trades/{id}/evaluation/draw", CENTRE),
    ("GET", "/api/v1/trades/{id}/evaluation", Public),
    ("POST", "/api/v1/trades/{id}/evaluation/sheets", EXPERT),
    // Public after the award; before it, the committee, the centre and the region's
    // supervisors (checked by the use case).
    ("GET", "/api/v1/trades/{id}/evaluation/report", Public),
    (
        "POST",
        "/api/v1/trades/{id}/evaluation/report/signatures",
        EXPERT,
    ),
    ("GET", "/api/v1/trades/{id}/result", Public),
    (
        "GET",
        "/api/v1/trades/{id}/objections",
        Roles(&[Role::TradingCentre, Role::Supervisor, Role::Bidder]),
    ),
    ("POST", "/api/v1/trades/{id}/objections", BIDDER),
    (
        "POST",
        "/api/v1/trades/{id}/objections/{objection}/answer",
        CENTRE,
    ),
    ("POST", "/api/v1/trades/{id}/complaints", BIDDER),
    (
        "POST",
        "/api/v1/trades/{id}/complaints/{complaint}/ruling",
        SUPERVISOR,
    ),
    ("POST", "/api/v1/trades/{id}/award", CENTRE),
    ("POST", "/api/v1/trades/{id}/contract", CENTRE),
    (
        "PUT",
        "/api/v1/trades/{id}/contract/document/{name}",
        CENTRE,
    ),
    ("GET", "/api/v1/trades/{id}/archive", CENTRE_OR_SUPERVISOR),
    ("POST", "/api/v1/trades/{id}/retender", CENTRE),
    ("POST", "/api/v1/trades/{id}/rounds", CENTRE),
    // The transparency log and open data; cosignatures are authorized by the witness's
    // signature over the checkpoint.
    ("GET", "/api/v1/log/checkpoint", Public),
    ("GET", "/api/v1/log/entries", Public),
    ("GET", "/api/v1/log/proof/inclusion", Public),
    ("GET", "/api/v1/log/proof/consistency", Public),
    ("GET", "/api/v1/log/cosignatures", Public),
    ("POST", "/api/v1/log/cosignatures", Public),
    ("GET", "/api/v1/ocds/releases", Public),
    ("GET", "/api/v1/ocds/records/{ocid}", Public),
    ("GET", "/api/v1/ocds/bulk", Public),
    ("GET", "/api/v1/search", Public),
    ("GET", "/api/v1/region/platforms", Public),
    ("GET", "/api/v1/region/trades", Public),
    ("GET", "/api/v1/region/trades/{platform}/{trade_id}", Public),
    ("GET", "/api/v1/region/ocds/releases", Public),
];

/// The access of `method` on `route`; `HEAD` is `GET`'s.
pub fn access(method: &Method, route: &str) -> Option<Access> {
    let method = if method == Method::HEAD {
        "GET"
    } else {
        method.as_str()
    };
    POLICY
        .iter()
        .find(|(m, r, _)| *m == method && *r == route)
        .map(|(_, _, access)| *access)
}

/// A method the policy does not list for a route: 405 if the route has other methods
/// (what the router would answer for one it does not take; one it takes without a policy
/// entry is refused all the same), 500 if the route has no policy at all.
fn unlisted(method: &Method, route: &str) -> Response {
    let allowed: Vec<&str> = POLICY
        .iter()
        .filter(|(_, r, _)| *r == route)
        .map(|(m, _, _)| *m)
        .collect();
    if allowed.is_empty() {
        tracing::error!(%method, route, "route without an access policy");
        return ApiError::request(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error",
        )
        .into_response();
    }
    let mut response = axum::http::StatusCode::METHOD_NOT_ALLOWED.into_response();
    if let Ok(allow) = allowed.join(",").parse() {
        response
            .headers_mut()
            .insert(axum::http::header::ALLOW, allow);
    }
    response
}

/// The first gate: refuses a caller the route's access does not admit, before its
/// handler and its body. The caller it authenticated is handed on, so the handler does not
/// look the token up again.
pub async fn gate(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let Some(access) = access(request.method(), &route) else {
        return unlisted(request.method(), &route);
    };
    let wanted = match access {
        Public | Bank => return next.run(request).await,
        SignedIn => None,
        Roles(roles) => Some(roles),
    };
    let (mut parts, body) = request.into_parts();
    let caller = match Caller::from_request_parts(&mut parts, &app).await {
        Ok(caller) => caller,
        Err(refused) => return refused.into_response(),
    };
    let admitted = match (&caller.identity, wanted) {
        (None, _) => Err(EngineError::Unauthenticated),
        (Some(_), None) => Ok(()),
        (Some(identity), Some(roles)) if roles.iter().any(|r| identity.acts_as(*r)) => Ok(()),
        (Some(_), Some(roles)) => Err(EngineError::Forbidden {
            needed: roles.first().copied().unwrap_or(Role::Admin),
        }),
    };
    if let Err(refused) = admitted {
        return ApiError::Engine(refused).into_response();
    }
    parts.extensions.insert(caller);
    next.run(Request::from_parts(parts, body)).await
}
