//! The one ordered log: no gaps under concurrent writers, nothing confidential in public.

use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;

use crate::helpers::{spawn_app, Backend};
use tradehall::crypto::digest::{commit, sha256_hex};
use tradehall::domain::event::{Audit, NewEvent};
use tradehall::store::Store;

const WRITERS: usize = 8;
const PER_WRITER: usize = 1_000;

fn test_event(writer: usize, n: usize) -> NewEvent {
    NewEvent {
        kind: "test.appended",
        trade_id: None,
        data: json!({ "writer": writer, "n": n }),
        audit: Audit::default(),
        audit_salt: [0; 32],
        audit_commitment: commit(&[0; 32], b"{}"),
        sealed: vec![],
    }
}

/// A reader that polls while the writers write: every batch it sees must continue exactly
/// where the last one ended, so a client resuming "after N" never skips an entry.
async fn follow(store: Arc<dyn Store>, until: i64) -> i64 {
    let mut last = 0;
    while last < until {
        let batch = store
            .events_after(last, 500)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        for e in &batch {
            assert_eq!(e.seq, last + 1, "gap or reordering after {last}");
            last = e.seq;
        }
        if batch.is_empty() {
            tokio::task::yield_now().await;
        }
    }
    last
}

async fn the_event_log_has_no_gaps_under_concurrent_writers(backend: Backend) {
    let app = spawn_app(backend).await;
    let store = app.platform.store.clone();
    let before = store
        .events_after(0, 10_000)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .len();
    let total = i64::try_from(before + WRITERS * PER_WRITER).unwrap_or(i64::MAX);
    let reader = tokio::spawn(follow(store.clone(), total));
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            for n in 0..PER_WRITER {
                store
                    .append(test_event(w, n))
                    .await
                    .unwrap_or_else(|e| panic!("append: {e}"));
            }
        }));
    }
    for w in writers {
        w.await.unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(reader.await.unwrap_or_else(|e| panic!("{e}")), total);

    // Read back through the public API in pages: contiguous, each writer's entries in order.
    let mut after = 0;
    let mut next_n = [0usize; WRITERS];
    let mut last_at = String::new();
    loop {
        let (status, page) = app
            .get(&format!("/api/v1/events?after={after}&limit=1000"), None)
            .await;
        assert_eq!(status, StatusCode::OK);
        let events = page["events"].as_array().cloned().unwrap_or_default();
        if events.is_empty() {
            break;
        }
        for e in events {
            let seq = e["seq"].as_i64().unwrap_or_default();
            assert_eq!(seq, after + 1);
            assert_eq!(
                e["entry"]["seq"],
                json!(seq),
                "the entry binds its own index"
            );
            let at = e["entry"]["at"].as_str().unwrap_or_default().to_owned();
            assert!(at >= last_at, "entry times never run backwards");
            last_at = at;
            if e["entry"]["kind"] == "test.appended" {
                let w = usize::try_from(e["entry"]["data"]["writer"].as_u64().unwrap_or_default())
                    .unwrap_or_default();
                assert_eq!(e["entry"]["data"]["n"], json!(next_n[w]));
                next_n[w] += 1;
            }
            after = seq;
        }
    }
    assert_eq!(after, total);
    assert!(next_n.iter().all(|&n| n == PER_WRITER));
}

fn all_text(events: &Value) -> String {
    events.to_string()
}

async fn the_public_log_never_shows_confidential_fields(backend: Backend) {
    let app = spawn_app(backend).await;
    let (officer, custodians) = app.officer_and_committee().await;
    let id = app.published_trade(&officer, &custodians).await;
    let bidder = app.user("bidder").await;
    let question = "投标保证金能否以保函形式提交？";
    let (status, asked) = app
        .post(
            &format!("/api/v1/trades/{id}/clarifications"),
            Some(&bidder.token),
            &json!({"question": question}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // A bidder obtaining the tender documents is logged, sealed: who and which document.
    let (_, view) = app.get(&format!("/api/v1/trades/{id}"), None).await;
    let document = view["documents"][0]["sha256"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let resp = app
        .http
        .get(app.url(&format!("/api/v1/documents/{document}")))
        .bearer_auth(&bidder.token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status(), StatusCode::OK);

    let (_, before) = app.get("/api/v1/events?after=0&limit=1000", None).await;
    let downloaded = before["events"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["entry"]["kind"] == "document.downloaded")
        .unwrap_or_else(|| panic!("the download is not logged"));
    assert!(downloaded["entry"]["trade"].is_null());
    assert!(!downloaded.to_string().contains(&document), "{downloaded}");
    let text = all_text(&before);
    let org = bidder.identity["organization"].as_str().unwrap_or_default();
    let usci = bidder.identity["usci"].as_str().unwrap_or_default();
    for secret in [org, usci, question, bidder.token.as_str(), "127.0.0.1"] {
        assert!(!text.contains(secret), "public log reveals {secret:?}");
    }
    let fingerprint = bidder.identity["cert_fingerprint"]
        .as_str()
        .unwrap_or_default();
    assert!(
        !text.contains(fingerprint),
        "public log reveals the bidder's certificate"
    );
    let entries: Vec<Value> = before["events"].as_array().cloned().unwrap_or_default();
    let ask_entry = entries
        .iter()
        .find(|e| e["entry"]["kind"] == "clarification.asked")
        .cloned()
        .unwrap_or_else(|| panic!("no clarification.asked entry"));
    assert!(
        !ask_entry.to_string().contains(&bidder.id()),
        "the asker is committed, not named"
    );
    for e in &entries {
        assert_eq!(
            e["entry"]["audit"].as_str().map(str::len),
            Some(64),
            "every entry commits its audit record"
        );
    }

    // The answer reveals the question with its salt; the earlier commitment checks out.
    let path = format!(
        "/api/v1/trades/{id}/clarifications/{}/answer",
        asked["id"].as_str().unwrap_or_default()
    );
    let (status, _) = app
        .post(&path, Some(&officer.token), &json!({"answer": "可以。"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let after_seq = ask_entry["seq"].as_i64().unwrap_or_default();
    let (_, later) = app
        .get(&format!("/api/v1/events?after={after_seq}"), None)
        .await;
    let answered = later["events"]
        .as_array()
        .and_then(|l| {
            l.iter()
                .find(|e| e["entry"]["kind"] == "clarification.answered")
        })
        .cloned()
        .unwrap_or_else(|| panic!("no clarification.answered entry"));
    let salt = hex::decode(
        answered["entry"]["data"]["question_salt"]
            .as_str()
            .unwrap_or_default(),
    )
    .unwrap_or_default();
    let salt: [u8; 32] = salt
        .try_into()
        .unwrap_or_else(|_| panic!("salt is 32 bytes"));
    assert_eq!(answered["entry"]["data"]["question"], question);
    assert_eq!(
        json!(commit(&salt, question.as_bytes())),
        ask_entry["entry"]["data"]["question"]
    );
    assert!(
        !later.to_string().contains(&bidder.id()),
        "the asker stays sealed"
    );

    // Who did it and from where is recorded privately (电子招标投标办法 第49条) and matches
    // the entry's commitment.
    let seq = answered["seq"].as_i64().unwrap_or_default();
    let (audit, salt) = app
        .platform
        .store
        .audit(seq)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no audit"));
    assert_eq!(audit.actor.as_deref(), Some(officer.id().as_str()));
    assert_eq!(audit.client_addr.as_deref(), Some("127.0.0.1"));
    assert!(audit.request_id.is_some());
    let salt: [u8; 32] = salt.try_into().unwrap_or_else(|_| panic!("salt"));
    let recorded = serde_json::to_vec(&audit).unwrap_or_default();
    assert_eq!(json!(commit(&salt, &recorded)), answered["entry"]["audit"]);
    assert_eq!(answered["entry_sha256"].as_str().map(str::len), Some(64));
    let _ = sha256_hex(b"");
}

crate::on_both_backends!(
    the_event_log_has_no_gaps_under_concurrent_writers,
    the_public_log_never_shows_confidential_fields,
);

/// Two instances on one PostgreSQL database: an entry appended through one wakes the
/// other's log followers (its feed, risk worker, timers) at once, by the notification the
/// entry's statement sends (ADR 0018, migration 0030), not only by their once-a-second
/// look.
#[tokio::test]
async fn an_entry_appended_on_one_postgresql_instance_wakes_the_others() {
    use std::time::Duration;
    use tradehall::domain::clock::{Clock, SystemClock};
    use tradehall::store::PgStore;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (url, _db) = crate::helpers::database(Backend::Postgres, dir.path()).await;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let one = PgStore::connect(&url, clock.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let other = PgStore::connect(&url, clock)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // The other instance counts one wake-up once it listens.
    let mut woken = other.appended();
    tokio::time::timeout(Duration::from_secs(10), woken.wait_for(|n| *n > 0))
        .await
        .unwrap_or_else(|_| panic!("the other instance never listened"))
        .unwrap_or_else(|e| panic!("{e}"));
    woken.borrow_and_update();
    for n in 0..3 {
        one.append(test_event(0, n))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        tokio::time::timeout(Duration::from_secs(5), woken.changed())
            .await
            .unwrap_or_else(|_| panic!("entry {n} did not wake the other instance"))
            .unwrap_or_else(|e| panic!("{e}"));
        woken.borrow_and_update();
    }
}

/// PostgreSQL restarted under a running server (its own PostgreSQL, stopped and started
/// as an administrator does): while it is down every request is refused `503
/// database_unavailable` (retry), never an internal error; when it is back the pool's
/// dead connections fail at most one request each (the pool does not ping a connection
/// it hands out, ADR 0024), and then the server answers again on fresh connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_lost_to_a_postgresql_restart_fail_one_request_each_then_recover() {
    let pg = tokio::task::spawn_blocking(crate::private_pg::PrivatePg::start)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let url = pg.url();
    let app =
        crate::helpers::spawn_app_with(Backend::Postgres, tradehall::config::Mode::Demo, |a| {
            a.database_url = Some(url);
        })
        .await;
    let path = "/api/v1/events?after=0&limit=1";
    for _ in 0..20 {
        let (status, body) = app.get(path, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let admin = sqlx::PgPool::connect(&pg.url())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (open,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_one(&admin)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    admin.close().await;
    assert!(open > 0, "the server had no connection to lose");

    let pg = std::sync::Arc::new(pg);
    let stopping = pg.clone();
    tokio::task::spawn_blocking(move || stopping.stop("fast"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let refusal = |status: StatusCode, body: &Value| {
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Some("database_unavailable")
            ),
            "{body}"
        );
    };
    for _ in 0..3 {
        let (status, body) = app.get(path, None).await;
        refusal(status, &body);
    }
    let starting = pg.clone();
    tokio::task::spawn_blocking(move || starting.start_again())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut refused = 0;
    let mut answered_in_a_row = 0;
    for _ in 0..60 {
        let (status, body) = app.get(path, None).await;
        if status == StatusCode::OK {
            answered_in_a_row += 1;
            if answered_in_a_row == 10 {
                break;
            }
            continue;
        }
        refusal(status, &body);
        refused += 1;
        answered_in_a_row = 0;
    }
    assert_eq!(
        answered_in_a_row, 10,
        "no recovery after {refused} refusals"
    );
    assert!(
        refused <= open,
        "{refused} requests refused for {open} lost connections"
    );
    drop(app);
}
