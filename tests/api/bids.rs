//! Sealed-bid intake: receipts, replace and withdraw, the deadline to the millisecond,
//! refusals, and nothing revealed before the opening.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{code, platform_keys, put_bid, spawn_app, Backend, TestApp, User};
use tradehall::crypto::cert::parse_pem_certificates;
use tradehall::crypto::envelope::{self, Manifest, Organization, SealRequest};
use tradehall::crypto::receipt::Receipt;
use tradehall::crypto::threshold::{custodian_key_message, CustodianPublicKey, CustodianSecretKey};

struct Round {
    app: TestApp,
    trade: String,
    committee: Vec<CustodianPublicKey>,
}

async fn round(backend: Backend) -> Round {
    round_on(spawn_app(backend).await).await
}

/// [`round`] on a given server.
async fn round_on(app: TestApp) -> Round {
    use base64::Engine as _;
    let (officer, custodians) = app.officer_and_custodians().await;
    let ids: Vec<String> = custodians.iter().map(User::id).collect();
    let trade = app.published_trade(&officer, &ids).await;
    let mut committee = Vec::new();
    for c in &custodians {
        let (_, pk) = CustodianSecretKey::generate();
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let body = serde_json::json!({ "public_key": b64(pk.as_bytes()), "signature": b64(&c.signer.sign(&custodian_key_message(&trade, &pk)).unwrap_or_else(|e| panic!("{e}"))) });
        let resp = app
            .http
            .put(app.url(&format!("/api/v1/trades/{trade}/custodian-key")))
            .bearer_auth(&c.token)
            .json(&body)
            .send()
            .await;
        assert_eq!(resp.map(|r| r.status()).ok(), Some(StatusCode::CREATED));
        committee.push(pk);
    }
    Round {
        app,
        trade,
        committee,
    }
}

/// What `tradehall bid seal` produces for `bidder`, sealed for `trade`.
fn seal_for(round: &Round, bidder: &User, trade: &str, price: i64) -> Vec<u8> {
    seal_with(round, bidder, trade, price, None)
}

/// [`seal_for`] with an attachment of `kib` KiB: above 64 KiB, an envelope the server
/// keeps as a file.
fn seal_large_for(round: &Round, bidder: &User, price: i64, kib: usize) -> Vec<u8> {
    let attachment = vec![0x5a_u8; kib * 1024];
    seal_with(
        round,
        bidder,
        &round.trade,
        price,
        Some(attachment.as_slice()),
    )
}

fn seal_with(
    round: &Round,
    bidder: &User,
    trade: &str,
    price: i64,
    attachment: Option<&[u8]>,
) -> Vec<u8> {
    let entry = attachment.map(|bytes| {
        let (sha256, size) = envelope::hash_reader(bytes).unwrap_or_else(|e| panic!("{e}"));
        envelope::FileEntry {
            name: "技术标.pdf".into(),
            sha256,
            size,
        }
    });
    let manifest = Manifest {
        v: 1,
        trade: trade.to_owned(),
        lots: vec!["1".into()],
        price,
        currency: "CNY".into(),
        organization: Organization {
            name: bidder.identity["organization"]
                .as_str()
                .unwrap_or_default()
                .into(),
            usci: bidder.identity["usci"].as_str().unwrap_or_default().into(),
        },
        machine: "test".into(),
        files: entry.iter().cloned().collect(),
    };
    let request = SealRequest {
        manifest,
        attachments: entry
            .into_iter()
            .zip(attachment)
            .map(|(entry, bytes)| envelope::Attachment {
                entry,
                content: Box::new(bytes),
            })
            .collect(),
        certificate_chain: parse_pem_certificates(&bidder.cert_pem)
            .unwrap_or_else(|e| panic!("{e}")),
        committee: round.committee.clone(),
        threshold: 2,
    };
    let mut out = Vec::new();
    let mut rng = hpke::rand_core::UnwrapErr(getrandom::SysRng);
    envelope::seal(request, &bidder.signer, &[0x33; 32], &mut rng, &mut out)
        .unwrap_or_else(|e| panic!("{e}"));
    out
}

/// The ways a price in 分 could sit in stored bytes: its digits, in 元 with two
/// decimals, as a 64-bit integer either way round, and each of those as hex (how
/// PostgreSQL prints a bytea).
fn in_clear(price: i64) -> Vec<Vec<u8>> {
    let plain = vec![
        price.to_string().into_bytes(),
        format!("{}.{:02}", price / 100, price % 100).into_bytes(),
        price.to_be_bytes().to_vec(),
        price.to_le_bytes().to_vec(),
    ];
    let hexed: Vec<Vec<u8>> = plain.iter().map(|b| hex::encode(b).into_bytes()).collect();
    plain.into_iter().chain(hexed).collect()
}

/// Everything the server keeps: every file under its data directory and, on
/// PostgreSQL, every row of every table, each as text.
async fn stored_bytes(app: &TestApp) -> Vec<(String, Vec<u8>)> {
    fn walk(dir: &std::path::Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if let Ok(bytes) = std::fs::read(&path) {
                out.push((path.display().to_string(), bytes));
            }
        }
    }
    let mut out = Vec::new();
    walk(app._dir.path(), &mut out);
    if app.database_url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(&app.database_url)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let tables: Vec<(String,)> = sqlx::query_as(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
        )
        .fetch_all(&pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            tables.iter().any(|(t,)| t == "bids"),
            "the bids table was not found: {tables:?}"
        );
        for (table,) in tables {
            let (text,): (String,) = sqlx::query_as(&format!(
                "SELECT coalesce(string_agg(t::text, E'\\n'), '') FROM \"{table}\" t"
            ))
            .fetch_one(&pool)
            .await
            .unwrap_or_else(|e| panic!("{table}: {e}"));
            out.push((format!("table {table}"), text.into_bytes()));
        }
        pool.close().await;
    }
    out
}

async fn a_bid_gets_a_verifiable_receipt_and_can_be_replaced_and_withdrawn(backend: Backend) {
    let r = round(backend).await;
    let app = &r.app;
    let bidder = app.user("bidder").await;
    let first = seal_for(&r, &bidder, &r.trade, 1_234_567_891);
    let (status, receipt) = put_bid(app, &bidder.token, &r.trade, first.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
    let receipt: Receipt = serde_json::from_value(receipt).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(receipt.verify(&platform_keys(app).await), Ok(()));
    assert_eq!(
        receipt.envelope_sha256,
        tradehall::crypto::digest::sha256_hex(&first)
    );

    // The public log shows a bid arrived, not for which trade, from whom or which envelope.
    let (_, events) = app
        .get(
            &format!("/api/v1/events?after={}", receipt.log_index - 1),
            None,
        )
        .await;
    let entry = &events["events"][0]["entry"];
    assert_eq!(entry["kind"], "bid.received");
    assert_eq!(
        entry["data"]["commitment"],
        receipt.blinded_commitment.as_str()
    );
    let text = entry.to_string();
    for secret in [
        r.trade.as_str(),
        receipt.envelope_sha256.as_str(),
        &bidder.id(),
    ] {
        assert!(!text.contains(secret), "the bid entry reveals {secret}");
    }

    let (status, mine) = app
        .get(
            &format!("/api/v1/trades/{}/bid", r.trade),
            Some(&bidder.token),
        )
        .await;
    assert_eq!(
        (status, mine["envelope_sha256"].clone()),
        (StatusCode::OK, Value::from(receipt.envelope_sha256.clone()))
    );
    // Nobody else learns anything about it.
    let rival = app.user("bidder").await;
    let (status, _) = app
        .get(
            &format!("/api/v1/trades/{}/bid", r.trade),
            Some(&rival.token),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // 电子招标投标办法: the price is nowhere in clear before the opening — not in any
    // file under the data directory (the SQLite database, its WAL, envelopes large
    // enough to be kept as files), not in any row of the PostgreSQL database.
    let rival_price = 2_345_678_912_i64;
    let large = seal_large_for(&r, &rival, rival_price, 100);
    assert!(large.len() as u64 > tradehall::engine::INLINE_ENVELOPE_BYTES);
    let (status, body) = put_bid(app, &rival.token, &r.trade, large.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let stored = stored_bytes(app).await;
    assert!(
        stored.iter().any(|(_, bytes)| bytes == &large),
        "the large envelope is not among what was searched: {:?}",
        stored.iter().map(|(name, _)| name).collect::<Vec<_>>()
    );
    if backend == Backend::Sqlite {
        assert!(
            stored.iter().any(|(name, _)| name.ends_with("test.db")),
            "the database file was not searched"
        );
    }
    for price in [1_234_567_891_i64, rival_price] {
        for (name, bytes) in &stored {
            assert!(
                in_clear(price)
                    .iter()
                    .all(|clear| !bytes.windows(clear.len()).any(|w| w == clear.as_slice())),
                "{name} holds the price {price} in clear"
            );
        }
    }

    let second = seal_for(&r, &bidder, &r.trade, 990_000);
    let (status, replaced) = put_bid(app, &bidder.token, &r.trade, second.clone()).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, mine) = app
        .get(
            &format!("/api/v1/trades/{}/bid", r.trade),
            Some(&bidder.token),
        )
        .await;
    assert_eq!(
        mine["envelope_sha256"], replaced["envelope_sha256"],
        "the last bid counts"
    );

    let withdraw = || {
        app.http
            .delete(app.url(&format!("/api/v1/trades/{}/bid", r.trade)))
            .bearer_auth(&bidder.token)
            .send()
    };
    assert_eq!(
        withdraw().await.map(|r| r.status()).ok(),
        Some(StatusCode::NO_CONTENT)
    );
    let (status, _) = app
        .get(
            &format!("/api/v1/trades/{}/bid", r.trade),
            Some(&bidder.token),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        withdraw().await.map(|r| r.status()).ok(),
        Some(StatusCode::NOT_FOUND)
    );
}

async fn a_bid_one_millisecond_late_is_refused(backend: Backend) {
    let r = round(backend).await;
    let app = &r.app;
    let bidder = app.user("bidder").await;
    let (_, trade) = app.get(&format!("/api/v1/trades/{}", r.trade), None).await;
    let deadline =
        chrono::DateTime::parse_from_rfc3339(trade["bid_deadline"].as_str().unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}"))
            .with_timezone(&chrono::Utc);
    app.clock.set(deadline - Duration::milliseconds(1));
    let (status, body) = put_bid(
        app,
        &bidder.token,
        &r.trade,
        seal_for(&r, &bidder, &r.trade, 5),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "one millisecond before the deadline: {body}"
    );
    app.clock.set(deadline);
    let (status, body) = put_bid(
        app,
        &bidder.token,
        &r.trade,
        seal_for(&r, &bidder, &r.trade, 4),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "bid_after_deadline")
    );
    let (_, mine) = app
        .get(
            &format!("/api/v1/trades/{}/bid", r.trade),
            Some(&bidder.token),
        )
        .await;
    assert!(
        mine["log_index"].as_i64().is_some(),
        "the timely bid stands"
    );
    let resp = app
        .http
        .delete(app.url(&format!("/api/v1/trades/{}/bid", r.trade)))
        .bearer_auth(&bidder.token)
        .send()
        .await;
    assert_eq!(
        resp.map(|r| r.status()).ok(),
        Some(StatusCode::CONFLICT),
        "no withdrawal after the deadline"
    );
}

async fn bad_envelopes_are_refused_and_nothing_is_kept(backend: Backend) {
    // Envelopes are limited to 256 KiB here (--max-envelope-bytes).
    let limit = 256 * 1024;
    let r = round_on(
        crate::helpers::spawn_app_with(backend, tradehall::config::Mode::Demo, |a| {
            a.max_envelope_bytes = limit;
        })
        .await,
    )
    .await;
    let app = &r.app;
    let bidder = app.user("bidder").await;
    let other = app.user("bidder").await;
    let good = seal_for(&r, &bidder, &r.trade, 777);

    // A real envelope over the limit: refused as it streams in, before it is whole.
    let oversized = seal_large_for(&r, &bidder, 778, 256);
    assert!(oversized.len() as u64 > limit);
    let (status, body) = put_bid(app, &bidder.token, &r.trade, oversized).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains(&limit.to_string())),
        "the refusal names the limit: {body}"
    );

    let mut flipped = good.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 1;
    let (status, body) = put_bid(app, &bidder.token, &r.trade, flipped).await;
    assert!(status.is_client_error(), "a flipped byte: {body}");

    let (status, body) = put_bid(app, &bidder.token, &r.trade, br#"{"price": 777}"#.to_vec()).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "envelope_invalid"),
        "an unencrypted bid"
    );

    // Someone else's envelope, submitted under my name.
    let (status, body) = put_bid(app, &other.token, &r.trade, good.clone()).await;
    assert_eq!(
        (status, code(&body)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "envelope_wrong_organization"
        )
    );

    let (officer, custodians) = app.officer_and_committee().await;
    let elsewhere = app.published_trade(&officer, &custodians).await;
    let (status, body) = put_bid(app, &bidder.token, &elsewhere, good.clone()).await;
    assert!(status.is_client_error(), "{body}");
    let (status, body) = put_bid(
        app,
        &bidder.token,
        &r.trade,
        seal_for(&r, &bidder, &elsewhere, 1),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "envelope_wrong_trade")
    );
    let (status, _) = put_bid(app, &officer.token, &r.trade, good).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, _) = app
        .get(
            &format!("/api/v1/trades/{}/bid", r.trade),
            Some(&bidder.token),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "no refused envelope became a bid"
    );
    let incoming = app._dir.path().join("bids").join("incoming");
    let left = std::fs::read_dir(&incoming)
        .map(Iterator::count)
        .unwrap_or(0);
    assert_eq!(left, 0, "refused uploads are not left on disk");
}

crate::on_both_backends!(
    a_bid_gets_a_verifiable_receipt_and_can_be_replaced_and_withdrawn,
    a_bid_one_millisecond_late_is_refused,
    bad_envelopes_are_refused_and_nothing_is_kept,
);
