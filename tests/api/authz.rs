//! The authorization matrix (docs/security.md): every route of the router, for every role
//! and every phase of a tender, is admitted or refused as this table says.
//!
//! The routes come from the router itself, so a route added without a row here fails
//! `the_matrix_covers_every_route`. A cell is *refused* when the answer is 401 or 403. It is
//! *admitted* otherwise: the request reached its use case, which may still find nothing
//! (404), a wrong phase (409) or a bad body (422). A 5xx, a 405 or a `route_not_found` is
//! neither, and fails its cell whatever the matrix says. Bodies are shaped so that the use case
//! gets far enough to check who the caller is, and no further; a cell must not change what
//! the next cell sees. Routes authorized by a signature in the request rather than a
//! session (login, registration, bank notifications, witness cosignatures) are *never
//! accepted* with a bogus proof, whoever sends it.

use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeSet;

use crate::evaluation::Evaluation;
use crate::helpers::{Backend, TestApp, User};

/// Who calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anonymous,
    /// A bidder with a bid in this trade.
    BidderHere,
    /// A bidder with no part in this trade.
    BidderElsewhere,
    /// A trading-centre officer.
    Officer,
    /// A supervisor of the trade's city (650100).
    SupervisorHere,
    /// A supervisor of another city (650200).
    SupervisorElsewhere,
    /// A custodian on the trade's opening committee.
    Custodian,
    /// An evaluation expert: in the pool before the draw, drawn for this trade after it.
    Expert,
    Admin,
}

use Who::*;

const EVERYONE: [Who; 9] = [
    Anonymous,
    BidderHere,
    BidderElsewhere,
    Officer,
    SupervisorHere,
    SupervisorElsewhere,
    Custodian,
    Expert,
    Admin,
];

/// Where the trade is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Published, bids coming in.
    Bidding,
    /// Past the deadline, the committee not yet done.
    Opening,
    /// Opened, experts drawn, scoring.
    Evaluation,
    /// Awarded and contracted.
    Result,
}

use Phase::*;

/// What a cell expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Not 401 or 403.
    Admitted,
    /// 401 or 403.
    Refused,
    /// Not 2xx (authorized by a proof in the request, and the proof is bogus).
    NotAccepted,
}

/// The request body of a row.
#[derive(Clone, Copy)]
enum Body {
    /// JSON, sent with every method but GET and DELETE.
    Json(fn() -> Value),
    Bytes(&'static [u8]),
}

struct Row {
    method: &'static str,
    path: &'static str,
    /// Added to the path (required query parameters).
    query: &'static str,
    body: Body,
    rule: fn(Who, Phase) -> Expect,
}

fn admit(yes: bool) -> Expect {
    if yes {
        Expect::Admitted
    } else {
        Expect::Refused
    }
}

fn anyone(_: Who, _: Phase) -> Expect {
    Expect::Admitted
}
fn signed_in(w: Who, _: Phase) -> Expect {
    admit(w != Anonymous)
}
fn nobody_with_a_bogus_proof(_: Who, _: Phase) -> Expect {
    Expect::NotAccepted
}
fn bidders(w: Who, _: Phase) -> Expect {
    admit(matches!(w, BidderHere | BidderElsewhere))
}
fn officer(w: Who, _: Phase) -> Expect {
    admit(w == Officer)
}
fn supervisors(w: Who, _: Phase) -> Expect {
    admit(matches!(w, SupervisorHere | SupervisorElsewhere))
}
fn supervisor_here(w: Who, _: Phase) -> Expect {
    admit(w == SupervisorHere)
}
fn officer_or_supervisor_here(w: Who, _: Phase) -> Expect {
    admit(matches!(w, Officer | SupervisorHere))
}
fn custodian(w: Who, _: Phase) -> Expect {
    admit(w == Custodian)
}
fn expert(w: Who, _: Phase) -> Expect {
    admit(w == Expert)
}
/// The experts drawn for this trade, who exist from the evaluation on.
fn drawn_expert(w: Who, p: Phase) -> Expect {
    admit(w == Expert && matches!(p, Evaluation | Result))
}
fn admin_or_officer(w: Who, _: Phase) -> Expect {
    admit(matches!(w, Admin | Officer))
}
fn admin(w: Who, _: Phase) -> Expect {
    admit(w == Admin)
}
fn pool_readers(w: Who, _: Phase) -> Expect {
    admit(matches!(
        w,
        Officer | SupervisorHere | SupervisorElsewhere | Admin
    ))
}
/// Objections: the centre and the region's supervisors read them all, a bidder its own.
fn objection_readers(w: Who, _: Phase) -> Expect {
    admit(matches!(
        w,
        Officer | SupervisorHere | BidderHere | BidderElsewhere
    ))
}
/// An objection comes from a bidder whose bid is in the opening record, so from the
/// opening on.
fn objector(w: Who, p: Phase) -> Expect {
    admit(w == BidderHere && matches!(p, Evaluation | Result))
}
/// The evaluation report: public after the award; before it, the committee, the centre
/// and the supervisors of the trade's region.
fn report_readers(w: Who, p: Phase) -> Expect {
    match p {
        Result => Expect::Admitted,
        _ => admit(matches!(w, Officer | SupervisorHere) || (w == Expert && p == Evaluation)),
    }
}

fn none() -> Value {
    json!({})
}

/// Every route, in the order the matrix runs them. Logout comes last: it ends the
/// caller's session.
const ROWS: &[Row] = &[
    row("GET", "/healthz", anyone),
    row("GET", "/api/v1/platform/keys", anyone),
    row("GET", "/api/v1/rulebook", anyone),
    row("GET", "/api/v1/rulebook/source", anyone),
    row("GET", "/api/v1/regions", anyone),
    row("POST", "/api/v1/auth/challenge", anyone),
    Row {
        body: Body::Json(
            || json!({"certificate_chain": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "nonce": "n", "signature": "AA=="}),
        ),
        ..row("POST", "/api/v1/auth/login", nobody_with_a_bogus_proof)
    },
    row("GET", "/api/v1/auth/me", signed_in),
    Row {
        body: Body::Json(|| {
            json!({
                "proof": {"certificate_chain": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "nonce": "n", "signature": "AA=="},
                "organization": {"name": "某公司", "usci": "91350100M000100Y43"},
                "role": "bidder",
            })
        }),
        ..row("POST", "/api/v1/registrations", nobody_with_a_bogus_proof)
    },
    Row {
        query: "?role=custodian",
        ..row("GET", "/api/v1/identities", admin_or_officer)
    },
    Row {
        body: Body::Json(|| json!({"role": "trading_centre"})),
        ..row("POST", "/api/v1/identities/{id}/grant", admin)
    },
    row("GET", "/api/v1/trades", anyone),
    row("POST", "/api/v1/trades", officer),
    row("POST", "/api/v1/trades/check", officer),
    row("GET", "/api/v1/trades/{id}", anyone),
    row("POST", "/api/v1/trades/{id}/publish", officer),
    Row {
        body: Body::Bytes(b"%PDF-1.7"),
        ..row("PUT", "/api/v1/trades/{id}/documents/{name}", officer)
    },
    Row {
        body: Body::Json(|| json!({"notice": "开标地点变更为第二开标室。"})),
        ..row("POST", "/api/v1/trades/{id}/notices", officer)
    },
    row("GET", "/api/v1/trades/{id}/downloads/mine", bidders),
    row("GET", "/api/v1/documents/{sha256}", anyone),
    row("PUT", "/api/v1/trades/{id}/custodian-key", custodian),
    Row {
        body: Body::Bytes(b"not an envelope"),
        ..row("PUT", "/api/v1/trades/{id}/bid", bidders)
    },
    row("GET", "/api/v1/trades/{id}/bid", bidders),
    row("GET", "/api/v1/bids/mine", bidders),
    row("GET", "/api/v1/clarifications/mine", bidders),
    row("POST", "/api/v1/trades/{id}/clarifications", bidders),
    row(
        "POST",
        "/api/v1/trades/{id}/clarifications/{cid}/answer",
        officer,
    ),
    row("GET", "/api/v1/alerts", supervisors),
    row("GET", "/api/v1/alerts/{id}", supervisors),
    row("POST", "/api/v1/alerts/{id}/assign", supervisors),
    row("POST", "/api/v1/alerts/{id}/handle", supervisors),
    row("POST", "/api/v1/alerts/{id}/close", supervisors),
    // An empty reason: the region is checked first, then nothing happens.
    Row {
        body: Body::Json(|| json!({"reason": ""})),
        ..row("POST", "/api/v1/trades/{id}/suspend", supervisor_here)
    },
    Row {
        body: Body::Json(|| json!({"reason": ""})),
        ..row("POST", "/api/v1/trades/{id}/resume", supervisor_here)
    },
    Row {
        body: Body::Json(|| json!({"reason": ""})),
        ..row("POST", "/api/v1/trades/{id}/terminate", supervisor_here)
    },
    row("GET", "/api/v1/feed", anyone),
    row("GET", "/api/v1/events", anyone),
    row("POST", "/api/v1/trades/{id}/applications", bidders),
    row(
        "GET",
        "/api/v1/trades/{id}/applications",
        officer_or_supervisor_here,
    ),
    row("GET", "/api/v1/trades/{id}/applications/mine", bidders),
    row("GET", "/api/v1/applications/mine", bidders),
    row("POST", "/api/v1/applications/{id}/qualify", officer),
    row("POST", "/api/v1/applications/{id}/reject", officer),
    Row {
        body: Body::Bytes(b"{}"),
        ..row(
            "POST",
            "/api/v1/bank/notifications",
            nobody_with_a_bogus_proof,
        )
    },
    Row {
        body: Body::Bytes(b"{}"),
        ..row(
            "POST",
            "/api/v1/bank/refund-claims",
            nobody_with_a_bogus_proof,
        )
    },
    row(
        "GET",
        "/api/v1/trades/{id}/money",
        officer_or_supervisor_here,
    ),
    row("GET", "/api/v1/trades/{id}/money/mine", bidders),
    row("POST", "/api/v1/trades/{id}/quotes", bidders),
    row("GET", "/api/v1/trades/{id}/sale", anyone),
    Row {
        body: Body::Bytes(b"not an envelope"),
        ..row("PUT", "/api/v1/trades/{id}/reserve", officer)
    },
    row("GET", "/api/v1/trades/{id}/reserve", anyone),
    row("GET", "/api/v1/trades/{id}/live", anyone),
    row("GET", "/api/v1/calendar", anyone),
    Row {
        query: "?from=2026-12-01&to=2026-12-31",
        ..row("GET", "/api/v1/calendar/days", anyone)
    },
    Row {
        query: "?start=2026-12-01&working_days=10",
        ..row("GET", "/api/v1/calendar/period", anyone)
    },
    row("GET", "/api/v1/trades/{id}/opening", anyone),
    row("GET", "/api/v1/trades/{id}/opening/shares", custodian),
    Row {
        body: Body::Json(
            || json!({"opening_key": "k", "enc": "AA==", "ct": "AA==", "signature": "AA=="}),
        ),
        ..row(
            "POST",
            "/api/v1/trades/{id}/opening/contributions",
            custodian,
        )
    },
    // Zero minutes: the region is checked first, then nothing happens.
    Row {
        body: Body::Json(|| json!({"minutes": 0, "reason": "r"})),
        ..row(
            "POST",
            "/api/v1/trades/{id}/opening/extension",
            supervisor_here,
        )
    },
    row("GET", "/api/v1/experts/me", expert),
    row("GET", "/api/v1/experts/me/assignments", expert),
    row("PUT", "/api/v1/experts/me", expert),
    row("GET", "/api/v1/experts", pool_readers),
    row("GET", "/api/v1/trades/{id}/evaluation/draw", anyone),
    row("POST", "/api/v1/trades/{id}/evaluation/draw", officer),
    row("GET", "/api/v1/trades/{id}/evaluation", anyone),
    Row {
        body: Body::Json(|| json!({"sheet": {}, "signature": "AA=="})),
        ..row(
            "POST",
            "/api/v1/trades/{id}/evaluation/sheets",
            drawn_expert,
        )
    },
    row(
        "GET",
        "/api/v1/trades/{id}/evaluation/report",
        report_readers,
    ),
    Row {
        body: Body::Json(|| json!({"report_sha256": "00", "signature": "AA=="})),
        ..row(
            "POST",
            "/api/v1/trades/{id}/evaluation/report/signatures",
            drawn_expert,
        )
    },
    row("GET", "/api/v1/trades/{id}/result", anyone),
    row("GET", "/api/v1/trades/{id}/objections", objection_readers),
    Row {
        body: Body::Json(|| json!({"text": "异议"})),
        ..row("POST", "/api/v1/trades/{id}/objections", objector)
    },
    row(
        "POST",
        "/api/v1/trades/{id}/objections/{objection}/answer",
        officer,
    ),
    row("POST", "/api/v1/trades/{id}/complaints", bidders),
    // An empty ruling: the region is checked first, then nothing happens.
    Row {
        body: Body::Json(|| json!({"upheld": false, "ruling": ""})),
        ..row(
            "POST",
            "/api/v1/trades/{id}/complaints/{complaint}/ruling",
            supervisor_here,
        )
    },
    row("POST", "/api/v1/trades/{id}/award", officer),
    row("POST", "/api/v1/trades/{id}/contract", officer),
    Row {
        body: Body::Bytes(b"%PDF-1.7 contract"),
        ..row(
            "PUT",
            "/api/v1/trades/{id}/contract/document/{name}",
            officer,
        )
    },
    row(
        "GET",
        "/api/v1/trades/{id}/archive",
        officer_or_supervisor_here,
    ),
    row("POST", "/api/v1/trades/{id}/retender", officer),
    row("POST", "/api/v1/trades/{id}/rounds", officer),
    Row {
        query: "?start=0&end=1",
        ..row("GET", "/api/v1/log/entries", anyone)
    },
    row("GET", "/api/v1/log/checkpoint", anyone),
    Row {
        query: "?index=0&size=1",
        ..row("GET", "/api/v1/log/proof/inclusion", anyone)
    },
    Row {
        query: "?first=1&second=2",
        ..row("GET", "/api/v1/log/proof/consistency", anyone)
    },
    row("GET", "/api/v1/trust/roots", anyone),
    row("GET", "/api/v1/log/cosignatures", anyone),
    Row {
        body: Body::Json(|| json!({"checkpoint": "x", "cosignature": "y"})),
        ..row(
            "POST",
            "/api/v1/log/cosignatures",
            nobody_with_a_bogus_proof,
        )
    },
    row("GET", "/api/v1/ocds/releases", anyone),
    row("GET", "/api/v1/ocds/records/{ocid}", anyone),
    row("GET", "/api/v1/ocds/bulk", anyone),
    Row {
        query: "?q=道路",
        ..row("GET", "/api/v1/search", anyone)
    },
    row("GET", "/api/v1/region/platforms", anyone),
    row("GET", "/api/v1/region/trades", anyone),
    row("GET", "/api/v1/region/trades/{platform}/{trade_id}", anyone),
    Row {
        query: "?platform=nowhere",
        ..row("GET", "/api/v1/region/ocds/releases", anyone)
    },
    // Withdrawing is the bidder's own act on its own bid; it runs late in the matrix so
    // that the bid is there for the rows before.
    row("DELETE", "/api/v1/trades/{id}/bid", bidders),
    row("POST", "/api/v1/auth/logout", signed_in),
];

const fn row(method: &'static str, path: &'static str, rule: fn(Who, Phase) -> Expect) -> Row {
    Row {
        method,
        path,
        query: "",
        body: Body::Json(none),
        rule,
    }
}

/// The routes the router has, read from its debug form: each route id's path, and the
/// methods its `Allow` header would list.
fn routed(app: &TestApp) -> BTreeSet<(String, String)> {
    // The routes proper; the fallback router after them has route ids of its own.
    let debug = app
        .router_debug
        .split("fallback_router")
        .next()
        .unwrap_or_default();
    let number =
        |text: &str| -> Option<u32> { text.split(')').next().and_then(|n| n.parse().ok()) };
    let mut paths = std::collections::HashMap::new();
    let mut methods = std::collections::HashMap::new();
    for piece in debug.split("RouteId(").skip(1) {
        let Some(id) = number(piece) else { continue };
        let rest = piece.split_once("): ").map_or("", |(_, r)| r);
        if let Some(path) = rest.strip_prefix('"') {
            paths.insert(id, path.split('"').next().unwrap_or_default().to_owned());
        } else if rest.starts_with("MethodRouter") {
            let allow = rest
                .split("allow_header: Bytes(b\"")
                .nth(1)
                .and_then(|a| a.split('"').next())
                .unwrap_or_default();
            methods.insert(id, allow.to_owned());
        }
    }
    assert!(paths.len() > 50, "the router's debug form changed: {debug}");
    let mut routes = BTreeSet::new();
    for (id, path) in &paths {
        let allow = methods
            .get(id)
            .unwrap_or_else(|| panic!("no methods for {path} in the router's debug form"));
        for method in allow.split(',').filter(|m| *m != "HEAD" && !m.is_empty()) {
            routes.insert((method.to_owned(), path.clone()));
        }
    }
    routes
}

/// The path with its parameters filled in for this trade.
fn concrete(path: &str, trade: &str, document: &str) -> String {
    let other = uuid::Uuid::new_v4().to_string();
    let trade_param = if path.starts_with("/api/v1/trades/{id}") {
        trade
    } else {
        &other
    };
    path.replace("{id}", trade_param)
        .replace("{name}", "extra.pdf")
        .replace("{sha256}", document)
        .replace("{cid}", &other)
        .replace("{objection}", &other)
        .replace("{complaint}", &other)
        .replace("{ocid}", &format!("ocds-th0dev-{trade}"))
        .replace("{platform}", "nowhere")
        .replace("{trade_id}", trade)
}

/// One phase's trade and callers.
struct World {
    app: TestApp,
    trade: String,
    document: String,
    callers: Vec<(Who, Option<User>)>,
}

impl World {
    fn token(&self, who: Who) -> Option<&str> {
        self.callers
            .iter()
            .find(|(w, _)| *w == who)
            .and_then(|(_, u)| u.as_ref())
            .map(|u| u.token.as_str())
    }
}

async fn world(phase: Phase) -> World {
    // Before the opening: a published tender with one bid in it. From the opening on: the
    // evaluation tests' tender, opened with three bids and its experts drawn.
    let (round, bidder_here, officer, supervisor_here, expert) = match phase {
        Bidding | Opening => {
            let r = crate::opening::round(Backend::Sqlite).await;
            let bidder = r.app.user("bidder").await;
            r.bid(&bidder, 9_870_000_001).await;
            if phase == Opening {
                r.app.clock.set(r.deadline);
            }
            let officer = r.app.user("trading_centre").await;
            let supervisor = r.app.supervisor_of("650100").await;
            let expert = r.app.user("expert").await;
            (r, bidder, officer, supervisor, expert)
        }
        Evaluation | Result => {
            let e = Evaluation::start(Backend::Sqlite, None).await;
            if phase == Result {
                e.through_contract().await;
            }
            let Evaluation {
                r,
                officer,
                city,
                mut bidders,
                mut committee,
                ..
            } = e;
            (r, bidders.remove(0), officer, city, committee.remove(0))
        }
    };
    let mut r = round;
    let custodian = r.committee.custodians.remove(0);
    let mut app = r.app;
    let bidder_elsewhere = app.user("bidder").await;
    let supervisor_elsewhere = app.supervisor_of("650200").await;
    let admin = app.admin.take();
    let (_, trade) = app.get(&format!("/api/v1/trades/{}", r.trade), None).await;
    let document = trade["documents"][0]["sha256"]
        .as_str()
        .unwrap_or_else(|| panic!("the trade has no document: {trade}"))
        .to_owned();
    World {
        app,
        trade: r.trade,
        document,
        callers: vec![
            (Anonymous, None),
            (BidderHere, Some(bidder_here)),
            (BidderElsewhere, Some(bidder_elsewhere)),
            (Officer, Some(officer)),
            (SupervisorHere, Some(supervisor_here)),
            (SupervisorElsewhere, Some(supervisor_elsewhere)),
            (Custodian, Some(custodian)),
            (Expert, Some(expert)),
            (Admin, admin),
        ],
    }
}

async fn outcome(world: &World, row: &Row, who: Who) -> (StatusCode, String) {
    let path = format!(
        "{}{}",
        concrete(row.path, &world.trade, &world.document),
        row.query
    );
    let method = reqwest::Method::from_bytes(row.method.as_bytes()).unwrap_or_default();
    let mut request = world.app.http.request(method, world.app.url(&path));
    if let Some(token) = world.token(who) {
        request = request.bearer_auth(token);
    }
    request = match row.body {
        Body::Json(make) if row.method != "GET" && row.method != "DELETE" => request.json(&make()),
        Body::Json(_) => request,
        Body::Bytes(bytes) => request.body(bytes.to_vec()),
    };
    let resp = request.send().await.unwrap_or_else(|e| panic!("{e}"));
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    (status, text.chars().take(200).collect())
}

/// The view the feed's greeting names for `who`.
async fn feed_view(world: &World, who: Who) -> String {
    use futures_util::StreamExt as _;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    let url = world.app.url("/api/v1/feed").replace("http://", "ws://");
    let mut request = url.into_client_request().unwrap_or_else(|e| panic!("{e}"));
    if let Some(token) = world.token(who) {
        let bearer = format!("Bearer {token}")
            .parse()
            .unwrap_or_else(|e| panic!("{e:?}"));
        request.headers_mut().insert("authorization", bearer);
    }
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .unwrap_or_else(|e| panic!("{who:?}: {e}"));
    let hello = socket
        .next()
        .await
        .and_then(std::result::Result::ok)
        .and_then(|m| m.into_text().ok())
        .map(|t| t.to_string())
        .unwrap_or_default();
    let hello: Value = serde_json::from_str(&hello).unwrap_or(Value::Null);
    hello["view"].as_str().unwrap_or("none").to_owned()
}

fn matches(expect: Expect, status: StatusCode, body: &str) -> bool {
    // A server error is never a cell's answer: it neither admits nor refuses. Nor is a
    // request that found no route or method: it never reached a use case.
    if status.is_server_error()
        || status == StatusCode::METHOD_NOT_ALLOWED
        || body.contains("\"route_not_found\"")
    {
        return false;
    }
    let refused = status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN;
    match expect {
        Expect::Admitted => !refused,
        Expect::Refused => refused,
        Expect::NotAccepted => !status.is_success(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_admits_exactly_whom_the_matrix_says_in_every_phase() {
    let mut failures = Vec::new();
    let mut cells = 0;
    for phase in [Bidding, Opening, Evaluation, Result] {
        let world = world(phase).await;
        // The feed over a real WebSocket: each caller gets the view its role allows (first:
        // the logout row ends the sessions).
        for who in EVERYONE {
            let view = feed_view(&world, who).await;
            cells += 1;
            let expected = match who {
                Anonymous => "public",
                SupervisorHere | SupervisorElsewhere => "supervisor",
                _ => "own",
            };
            if view != expected {
                failures.push(format!(
                    "{phase:?} {who:?} feed: expected the {expected} view, got {view}"
                ));
            }
        }
        for row in ROWS {
            for who in EVERYONE {
                let expect = (row.rule)(who, phase);
                let (status, body) = outcome(&world, row, who).await;
                cells += 1;
                if !matches(expect, status, &body) {
                    failures.push(format!(
                        "{phase:?} {who:?} {} {}: expected {expect:?}, got {status} {body}",
                        row.method, row.path
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {cells} cells differ from the matrix:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_matrix_covers_every_route() {
    let app = crate::helpers::spawn_app(Backend::Sqlite).await;
    let routed = routed(&app);
    let listed: BTreeSet<(String, String)> = ROWS
        .iter()
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    let missing: Vec<_> = routed.difference(&listed).collect();
    let stale: Vec<_> = listed.difference(&routed).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "routes without a row in the matrix: {missing:?}; rows without a route: {stale:?}"
    );
    assert_eq!(listed.len(), ROWS.len(), "a route is listed twice");
}
