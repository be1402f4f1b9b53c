//! The timed opening: shares only after the deadline, k-of-n contributions sealed to the
//! one-time opening key, nothing revealed before k, all bids revealed at once in a signed
//! record, 流标 below the rulebook minimum, and a supervisor's extension of a stalled window.

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{
    code, platform_keys, put_bid, spawn_app, spawn_app_with, usci, Backend, TestApp, User,
};
use crate::openssl_pki::{make_openssl_pki, make_openssl_sm2_pki};
use tradehall::config::Mode;
use tradehall::crypto::cert::parse_pem_certificates;
use tradehall::crypto::envelope::{self, Manifest, Organization, SealRequest};
use tradehall::crypto::opening::opening_record_message;
use tradehall::crypto::receipt::blinded_commitment;
use tradehall::crypto::threshold::{custodian_key_message, CustodianPublicKey, CustodianSecretKey};
use tradehall::domain::opening::{OpeningStatus, ShareBundle, SignedRecord};
use tradehall::domain::suite::Suite;

crate::on_both_backends!(
    four_bidders_from_four_cas_two_made_with_openssl_open_together,
    a_suite_2_trade_is_sealed_with_the_cli_and_opened_by_sm2_custodians,
    a_certificate_revoked_before_submission_is_refused,
    shares_and_contributions_are_refused_before_the_deadline,
    a_full_round_reveals_every_bid_at_once_in_a_signed_record,
    fewer_than_three_valid_bids_fail_the_trade,
    a_stalled_opening_resumes_after_a_supervisors_extension,
);

pub struct Committee {
    pub custodians: Vec<User>,
    pub secrets: Vec<(CustodianSecretKey, CustodianPublicKey)>,
}

pub struct Round {
    pub app: TestApp,
    pub trade: String,
    pub deadline: DateTime<Utc>,
    pub committee: Committee,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A published tender whose three custodians have registered their keys (2 of 3 open).
pub async fn round(backend: Backend) -> Round {
    round_on(spawn_app(backend).await).await
}

/// [`round`] on a given server.
pub async fn round_on(app: TestApp) -> Round {
    round_with(app, |_| {}).await
}

/// [`round_on`] for a tender whose terms `patch` changes (procedure, evaluation, …).
pub async fn round_with(app: TestApp, patch: impl FnOnce(&mut Value)) -> Round {
    let (officer, custodians) = app.officer_and_custodians().await;
    let ids: Vec<String> = custodians.iter().map(User::id).collect();
    let mut terms = app.tender_terms(&ids);
    patch(&mut terms);
    let trade = app.published_trade_with(&officer, &terms).await;
    let committee = register_committee(&app, &trade, custodians).await;
    let (_, view) = app.get(&format!("/api/v1/trades/{trade}"), None).await;
    let deadline = DateTime::parse_from_rfc3339(view["bid_deadline"].as_str().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{e}"))
        .with_timezone(&Utc);
    Round {
        app,
        trade,
        deadline,
        committee,
    }
}

/// Each custodian registers a fresh per-trade key for `trade`, of the trade's suite.
pub async fn register_committee(app: &TestApp, trade: &str, custodians: Vec<User>) -> Committee {
    let (_, view) = app.get(&format!("/api/v1/trades/{trade}"), None).await;
    let suite: Suite = serde_json::from_value(view["committee"]["suite"].clone())
        .unwrap_or_else(|e| panic!("the trade's suite: {e}"));
    let mut secrets = Vec::new();
    for c in &custodians {
        let (sk, pk) = CustodianSecretKey::generate_for(suite);
        let body = json!({ "public_key": b64(pk.as_bytes()), "signature": b64(&c.signer.sign(&custodian_key_message(trade, &pk)).unwrap_or_else(|e| panic!("{e}"))) });
        let resp = app
            .http
            .put(app.url(&format!("/api/v1/trades/{trade}/custodian-key")))
            .bearer_auth(&c.token)
            .json(&body)
            .send()
            .await;
        assert_eq!(resp.map(|r| r.status()).ok(), Some(StatusCode::CREATED));
        secrets.push((sk, pk));
    }
    Committee {
        custodians,
        secrets,
    }
}

impl Round {
    /// What `tradehall bid seal` produces for `bidder`.
    pub fn seal(&self, bidder: &User, price: i64, lots: &[&str]) -> Vec<u8> {
        self.seal_with_file(bidder, price, lots, None)
    }

    /// [`Round::seal`] with an attached file.
    pub fn seal_with_file(
        &self,
        bidder: &User,
        price: i64,
        lots: &[&str],
        file: Option<&[u8]>,
    ) -> Vec<u8> {
        let committee = self
            .committee
            .secrets
            .iter()
            .map(|(_, pk)| pk.clone())
            .collect();
        self.seal_to(committee, bidder, price, lots, file)
    }

    /// [`Round::seal_with_file`] to the keys `committee`.
    pub fn seal_to(
        &self,
        committee: Vec<CustodianPublicKey>,
        bidder: &User,
        price: i64,
        lots: &[&str],
        file: Option<&[u8]>,
    ) -> Vec<u8> {
        let organization = Organization {
            name: bidder.identity["organization"]
                .as_str()
                .unwrap_or_default()
                .into(),
            usci: bidder.identity["usci"].as_str().unwrap_or_default().into(),
        };
        let manifest = Manifest {
            v: 1,
            trade: self.trade.clone(),
            lots: lots.iter().map(|l| (*l).to_owned()).collect(),
            price,
            currency: "CNY".into(),
            organization,
            machine: format!("machine-of-{}", bidder.id()),
            files: vec![],
        };
        let mut manifest = manifest;
        let mut attachments = Vec::new();
        if let Some(bytes) = file {
            let (sha256, size) = envelope::hash_reader(bytes).unwrap_or_else(|e| panic!("{e}"));
            let entry = envelope::FileEntry {
                name: "技术标.pdf".into(),
                sha256,
                size,
            };
            manifest.files.push(entry.clone());
            attachments.push(envelope::Attachment {
                entry,
                content: Box::new(bytes),
            });
        }
        let request = SealRequest {
            manifest,
            attachments,
            certificate_chain: parse_pem_certificates(&bidder.cert_pem)
                .unwrap_or_else(|e| panic!("{e}")),
            committee,
            threshold: 2,
        };
        let mut out = Vec::new();
        let mut rng = hpke::rand_core::UnwrapErr(getrandom::SysRng);
        let key = tradehall::crypto::digest::random_bytes::<32>();
        envelope::seal(request, &bidder.signer, &key, &mut rng, &mut out)
            .unwrap_or_else(|e| panic!("{e}"));
        out
    }

    /// Three new bidders, each with a sealed bid at prices that raise no price alert.
    pub async fn three_bids(&self) -> [User; 3] {
        let bidders = [
            self.app.user("bidder").await,
            self.app.user("bidder").await,
            self.app.user("bidder").await,
        ];
        for (bidder, price) in bidders
            .iter()
            .zip([9_870_000_001, 9_650_000_002, 9_990_000_003])
        {
            self.bid(bidder, price).await;
        }
        bidders
    }

    /// The deadline passes and two custodians open.
    pub async fn open_now(&self) {
        self.app.clock.set(self.deadline);
        for i in 0..2 {
            let (status, body) = self.contribute(i).await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
    }

    /// Seals and submits; returns the receipt.
    pub async fn bid(&self, bidder: &User, price: i64) -> Value {
        let envelope = self.seal(bidder, price, &["1"]);
        let (status, receipt) = put_bid(&self.app, &bidder.token, &self.trade, envelope).await;
        assert_eq!(status, StatusCode::CREATED, "{receipt}");
        receipt
    }

    pub async fn shares(&self, custodian: usize) -> (StatusCode, Value) {
        self.app
            .get(
                &format!("/api/v1/trades/{}/opening/shares", self.trade),
                Some(&self.committee.custodians[custodian].token),
            )
            .await
    }

    /// What `tradehall custodian open` does for custodian `i`.
    pub async fn contribute(&self, i: usize) -> (StatusCode, Value) {
        let (status, bundle) = self.shares(i).await;
        if status != StatusCode::OK {
            return (status, bundle);
        }
        let bundle: ShareBundle = serde_json::from_value(bundle).unwrap_or_else(|e| panic!("{e}"));
        let (sk, pk) = &self.committee.secrets[i];
        let (contribution, _) = tradehall::client::custodian::build_contribution(
            &bundle,
            sk,
            pk,
            &self.committee.custodians[i].signer,
            &platform_keys(&self.app).await,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        self.app
            .post(
                &format!("/api/v1/trades/{}/opening/contributions", self.trade),
                Some(&self.committee.custodians[i].token),
                &serde_json::to_value(&contribution).unwrap_or_default(),
            )
            .await
    }

    pub async fn status(&self) -> OpeningStatus {
        let (status, body) = self
            .app
            .get(&format!("/api/v1/trades/{}/opening", self.trade), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        serde_json::from_value(body).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// Checks the record the way any member of the public can: the platform's signature over
/// its canonical form, and every bid's salt against the commitment in the public log.
pub async fn verify_record(app: &TestApp, signed: &SignedRecord) {
    verify_record_signature(app, signed).await;
    for bid in &signed.record.bids {
        let salt = hex::decode(&bid.salt).unwrap_or_default();
        assert_eq!(
            blinded_commitment(&signed.record.trade, &bid.envelope_sha256, &salt),
            bid.commitment
        );
        let (_, events) = app
            .get(&format!("/api/v1/events?after={}", bid.log_index - 1), None)
            .await;
        let entry = &events["events"][0]["entry"];
        assert_eq!(entry["kind"], "bid.received");
        assert_eq!(entry["data"]["commitment"], bid.commitment.as_str());
        assert!(
            entry["at"].as_str().unwrap_or_default() < signed.record.deadline.as_str(),
            "a bid in the record was logged after the deadline"
        );
    }
}

/// The platform's signature over the record's canonical form.
pub async fn verify_record_signature(app: &TestApp, signed: &SignedRecord) {
    let canonical =
        serde_json_canonicalizer::to_vec(&signed.record).unwrap_or_else(|e| panic!("{e}"));
    let keys = platform_keys(app).await;
    let key = keys
        .iter()
        .find(|k| k.key_id == signed.key_id)
        .unwrap_or_else(|| panic!("unknown key {}", signed.key_id));
    let signature = base64::engine::general_purpose::STANDARD
        .decode(&signed.signature)
        .unwrap_or_default();
    assert!(
        tradehall::crypto::platform_key::verify(
            key,
            &opening_record_message(&canonical),
            &signature
        ),
        "the opening record's signature does not verify"
    );
}

async fn shares_and_contributions_are_refused_before_the_deadline(backend: Backend) {
    let r = round(backend).await;
    let bidder = r.app.user("bidder").await;
    r.bid(&bidder, 1_000_000).await;
    r.app.clock.set(r.deadline - Duration::milliseconds(1));
    let (status, body) = r.shares(0).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "opening_not_started")
    );
    let (status, body) = r
        .app
        .post(
            &format!("/api/v1/trades/{}/opening/contributions", r.trade),
            Some(&r.committee.custodians[0].token),
            &json!({ "opening_key": "00", "enc": b64(&[0; 32]), "ct": b64(&[0; 49]), "signature": b64(&[0; 64]) }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "opening_not_started")
    );
    assert_eq!(r.status().await.phase, "bidding");

    // After the deadline only the trade's custodians get shares.
    r.app.clock.set(r.deadline);
    let (status, _) = r
        .app
        .get(
            &format!("/api/v1/trades/{}/opening/shares", r.trade),
            Some(&bidder.token),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let outsider = r.app.user("custodian").await;
    let (status, _) = r
        .app
        .get(
            &format!("/api/v1/trades/{}/opening/shares", r.trade),
            Some(&outsider.token),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, bundle) = r.shares(0).await;
    assert_eq!(status, StatusCode::OK, "{bundle}");
    assert_eq!(bundle["shares"].as_array().map(Vec::len), Some(1));
}

async fn a_full_round_reveals_every_bid_at_once_in_a_signed_record(backend: Backend) {
    let r = round(backend).await;
    let app = &r.app;
    // Bidders from two CAs.
    let a = app.user("bidder").await;
    let b = app.user_from(&app.ca_b, "bidder").await;
    let c = app.user("bidder").await;
    r.bid(&a, 9_870_000_001).await;
    r.bid(&b, 9_650_000_002).await;
    // A bid with a 200 KiB attachment is stored as a file; the small ones in the database.
    let attachment = vec![0x5a_u8; 200 * 1024];
    let large = r.seal_with_file(&c, 9_990_000_003, &["1"], Some(&attachment));
    let (status, receipt_c) = put_bid(app, &c.token, &r.trade, large).await;
    assert_eq!(status, StatusCode::CREATED, "{receipt_c}");

    app.clock.set(r.deadline + Duration::seconds(1));
    assert_eq!(r.status().await.phase, "awaiting_contributions");
    let (status, first) = r.contribute(0).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["contributions"], 1);
    assert!(first["opening"].is_null());

    // k-1 contributions reveal nothing: no price, no bidder, in any public view.
    let status_view = r.status().await;
    assert_eq!(status_view.phase, "awaiting_contributions");
    assert!(status_view.opening.is_none());
    assert_eq!(
        status_view
            .custodians
            .iter()
            .filter(|c| c.contributed)
            .count(),
        1
    );
    let (_, events) = app.get("/api/v1/events?after=0&limit=1000", None).await;
    let opening_entries: Vec<&Value> = events["events"]
        .as_array()
        .into_iter()
        .flatten()
        // A bid's entry names no trade (docs/event-log.md): all of them are looked at.
        .filter(|e| e["entry"]["trade"] == r.trade.as_str() || e["entry"]["kind"] == "bid.received")
        .collect();
    let kinds: Vec<&str> = opening_entries
        .iter()
        .filter_map(|e| e["entry"]["kind"].as_str())
        .collect();
    for kind in ["bid.received", "opening.started", "opening.contribution"] {
        assert!(
            kinds.contains(&kind),
            "no {kind} entry is looked at: {kinds:?}"
        );
    }
    let (_, trade_view) = app.get(&format!("/api/v1/trades/{}", r.trade), None).await;
    let (_, hall) = app
        .get(&format!("/api/v1/trades/{}/opening", r.trade), None)
        .await;
    let views = [
        events.to_string(),
        serde_json::to_string(&opening_entries).unwrap_or_default(),
        trade_view.to_string(),
        hall.to_string(),
    ];
    for (i, text) in views.iter().enumerate() {
        for secret in ["9870000001", "9650000002", "9990000003"] {
            assert!(
                !text.contains(secret),
                "{secret} is visible before the opening"
            );
        }
        if i > 0 {
            for bidder in [&a, &b, &c] {
                for secret in [bidder.id(), bidder.identity["usci"].to_string()] {
                    assert!(
                        !text.contains(&secret),
                        "a bidder of this trade is visible before the opening"
                    );
                }
            }
        }
    }
    assert_eq!(trade_view["phase"], "opening");

    let (status, second) = r.contribute(2).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let signed: SignedRecord =
        serde_json::from_value(second["opening"].clone()).unwrap_or_else(|e| panic!("{e}"));
    let record = &signed.record;
    assert_eq!(record.outcome, "opened");
    assert_eq!(record.valid_bids, 3);
    let prices: Vec<(String, Option<i64>)> = record
        .bids
        .iter()
        .map(|b| (b.organization.usci.clone(), b.price))
        .collect();
    let usci = |u: &User| u.identity["usci"].as_str().unwrap_or_default().to_owned();
    assert_eq!(
        prices,
        vec![
            (usci(&a), Some(9_870_000_001)),
            (usci(&b), Some(9_650_000_002)),
            (usci(&c), Some(9_990_000_003)),
        ]
    );
    assert!(record.bids.iter().all(|b| b.valid && b.lots == ["1"]));
    assert_eq!(
        record.bids[2].files.first().map(|f| f.size),
        Some(200 * 1024)
    );
    assert_eq!(
        record.bids[2].salt,
        receipt_c["salt"].as_str().unwrap_or_default()
    );
    let contributed: Vec<bool> = record
        .committee
        .custodians
        .iter()
        .map(|c| c.contributed)
        .collect();
    assert_eq!(contributed, vec![true, false, true]);
    verify_record(app, &signed).await;

    // The record is public, the same as the one returned, and the trade is opened.
    let public = r.status().await;
    assert_eq!(public.phase, "opened");
    assert_eq!(public.opening.as_ref(), Some(&signed));
    let (_, trade_view) = app.get(&format!("/api/v1/trades/{}", r.trade), None).await;
    assert_eq!(trade_view["status"], "opened");
    // The opening happened once: a late contribution is refused.
    let (status, body) = r.contribute(1).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "opening_completed")
    );
    let (_, events) = app.get("/api/v1/events?after=0&limit=1000", None).await;
    let kinds: Vec<&str> = events["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["entry"]["kind"].as_str())
        .filter(|k| k.starts_with("opening."))
        .collect();
    assert_eq!(
        kinds,
        vec![
            "opening.started",
            "opening.contribution",
            "opening.contribution",
            "opening.completed"
        ]
    );
}

async fn fewer_than_three_valid_bids_fail_the_trade(backend: Backend) {
    let r = round(backend).await;
    let app = &r.app;
    let a = app.user("bidder").await;
    let b = app.user("bidder").await;
    let c = app.user("bidder").await;
    r.bid(&a, 1_000_000).await;
    r.bid(&b, 1_100_000).await;
    // A bid for a lot the trade does not have opens, but is invalid.
    let stray = r.seal(&c, 1_200_000, &["9"]);
    let (status, body) = put_bid(app, &c.token, &r.trade, stray).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    app.clock.set(r.deadline);
    assert_eq!(r.contribute(1).await.0, StatusCode::OK);
    let (status, done) = r.contribute(0).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let signed: SignedRecord =
        serde_json::from_value(done["opening"].clone()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(signed.record.outcome, "failed");
    assert_eq!(signed.record.valid_bids, 2);
    assert!(signed
        .record
        .reason
        .as_deref()
        .unwrap_or_default()
        .contains("流标"));
    let stray = &signed.record.bids[2];
    assert!(!stray.valid);
    assert_eq!(stray.reason_code.as_deref(), Some("unknown_lot"));
    assert_eq!(stray.price, Some(1_200_000));
    verify_record(app, &signed).await;
    let (_, trade_view) = app.get(&format!("/api/v1/trades/{}", r.trade), None).await;
    assert_eq!(trade_view["status"], "failed");
}

async fn a_stalled_opening_resumes_after_a_supervisors_extension(backend: Backend) {
    let r = round(backend).await;
    let app = &r.app;
    for price in [3_000_000, 3_100_000, 3_200_000] {
        let bidder = app.user("bidder").await;
        r.bid(&bidder, price).await;
    }
    app.clock.set(r.deadline);
    assert_eq!(r.contribute(0).await.0, StatusCode::OK);
    // The window (60 minutes in the rulebook) ends with one contribution of two.
    app.clock.set(r.deadline + Duration::minutes(60));
    assert_eq!(r.status().await.phase, "window_expired");
    let (status, body) = r.contribute(1).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "opening_window_closed")
    );

    // Only a supervisor extends, with a reason, and it is logged.
    let supervisor = app.user("supervisor").await;
    let path = format!("/api/v1/trades/{}/opening/extension", r.trade);
    let ask = json!({ "minutes": 30, "reason": "开标人网络故障，延长开标窗口" });
    let (status, _) = app
        .post(&path, Some(&r.committee.custodians[0].token), &ask)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, extended) = app.post(&path, Some(&supervisor.token), &ask).await;
    assert_eq!(status, StatusCode::OK, "{extended}");
    assert_eq!(extended["phase"], "awaiting_contributions");

    let (status, done) = r.contribute(1).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["opening"]["record"]["outcome"], "opened");
    assert_eq!(done["opening"]["record"]["valid_bids"], 3);
    let (_, events) = app.get("/api/v1/events?after=0&limit=1000", None).await;
    assert!(events["events"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|e| e["entry"]["kind"] == "opening.extended"
            && e["entry"]["data"]["reason"] == "开标人网络故障，延长开标窗口"));
}

/// Bidders of four CAs: the two dev CAs, a P-256 CA and an SM2 CA made with openssl. The SM2
/// bidder's outer and manifest signatures are SM2 with SM3.
async fn four_bidders_from_four_cas_two_made_with_openssl_open_together(backend: Backend) {
    let scratch = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let org = "昌吉州建筑安装工程有限公司";
    let code_ = usci("91650100QPEN00002");
    let pki = make_openssl_pki(&scratch.path().join("p256"), org, code_.as_str());
    let sm2_org = "博州国密路桥有限公司";
    let sm2_code = usci("91652700GMCA00003");
    let sm2 = make_openssl_sm2_pki(
        &scratch.path().join("sm2"),
        sm2_org,
        sm2_code.as_str(),
        "博州已吊销路桥有限公司",
        usci("91652700GMCA00004").as_str(),
    );
    let app = spawn_app_with(backend, Mode::Demo, |args| {
        args.trust_ca.push(pki.ca_pem_path.clone());
        args.crl.push(pki.crl_pem_path.clone());
        args.trust_ca.push(sm2.base.ca_pem_path.clone());
        args.crl.push(sm2.base.crl_pem_path.clone());
    })
    .await;
    let openssl_bidder = app
        .bidder_from(&pki.bidder_cert_pem, &pki.bidder_key_pkcs8_der, org, &code_)
        .await;
    let sm2_bidder = app
        .bidder_from(
            &sm2.base.bidder_cert_pem,
            &sm2.base.bidder_key_pkcs8_der,
            sm2_org,
            &sm2_code,
        )
        .await;
    let r = round_on(app).await;
    let from_a = r.app.user("bidder").await;
    let from_b = r.app.user_from(&r.app.ca_b, "bidder").await;
    r.bid(&from_a, 550_000_000).await;
    r.bid(&from_b, 540_000_000).await;
    r.bid(&openssl_bidder, 530_000_000).await;
    r.bid(&sm2_bidder, 520_000_000).await;

    r.app.clock.set(r.deadline);
    assert_eq!(r.contribute(1).await.0, StatusCode::OK);
    let (status, done) = r.contribute(2).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let signed: SignedRecord =
        serde_json::from_value(done["opening"].clone()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(signed.record.outcome, "opened");
    assert_eq!(signed.record.valid_bids, 4);
    let opened = &signed.record.bids[2];
    assert_eq!(
        (opened.organization.name.as_str(), opened.price),
        (org, Some(530_000_000))
    );
    let opened = &signed.record.bids[3];
    assert_eq!(
        (opened.organization.name.as_str(), opened.price),
        (sm2_org, Some(520_000_000))
    );
    verify_record(&r.app, &signed).await;
}

/// A 国密 trade (its committee seals with suite 2): a bidder of an SM2 CA made with
/// openssl, a P-256 bidder and a bidder whose P-256 key is on a PKCS#11 token (SoftHSM2)
/// each seal with `tradehall bid seal` and submit with `tradehall bid submit`; custodians
/// holding SM2 keys open; all three bids are valid.
async fn a_suite_2_trade_is_sealed_with_the_cli_and_opened_by_sm2_custodians(backend: Backend) {
    let scratch = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let org = "塔城地区国密建设有限公司";
    let code_ = usci("91654200GMCA00005");
    let sm2 = make_openssl_sm2_pki(
        &scratch.path().join("sm2"),
        org,
        code_.as_str(),
        "塔城地区已吊销建设有限公司",
        usci("91654200GMCA00006").as_str(),
    );
    let app = spawn_app_with(backend, Mode::Demo, |args| {
        args.trust_ca.push(sm2.base.ca_pem_path.clone());
        args.crl.push(sm2.base.crl_pem_path.clone());
    })
    .await;
    let sm2_bidder = app
        .bidder_from(
            &sm2.base.bidder_cert_pem,
            &sm2.base.bidder_key_pkcs8_der,
            org,
            &code_,
        )
        .await;
    let r = round_with(app, |terms| terms["committee"]["suite"] = json!(2)).await;
    let (_, view) = r
        .app
        .get(&format!("/api/v1/trades/{}", r.trade), None)
        .await;
    assert_eq!(view["committee"]["suite"], 2);
    for key in view["custodian_keys"].as_array().into_iter().flatten() {
        let public = base64::engine::general_purpose::STANDARD
            .decode(key["public_key"].as_str().unwrap_or_default())
            .unwrap_or_default();
        assert_eq!((public.len(), public[0]), (65, 4), "an SM2 point: {key}");
    }
    // An X25519 key is not a suite-2 custodian key.
    let outsider = &r.committee.custodians[0];
    let (_, x25519) = CustodianSecretKey::generate();
    let response = r
        .app
        .http
        .put(r.app.url(&format!("/api/v1/trades/{}/custodian-key", r.trade)))
        .bearer_auth(&outsider.token)
        .json(&json!({
            "public_key": b64(x25519.as_bytes()),
            "signature": b64(&outsider.signer.sign(&custodian_key_message(&r.trade, &x25519)).unwrap_or_else(|e| panic!("{e}"))),
        }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = response.status();
    let body: Value = response.json().await.unwrap_or_default();
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_public_key"),
        "{body}"
    );

    let p256_bidder = r.app.user("bidder").await;
    let dir = scratch.path();
    crate::web::cli_bid(&r, &sm2_bidder, "5,200,000.00", dir).await;
    crate::web::cli_bid(&r, &p256_bidder, "5,300,000.00", dir).await;
    // The third bidder's key lives on a token; the CLI signs in and seals through it.
    let token_bidder = r.app.user("bidder").await;
    let hsm = crate::softhsm::SoftHsm::new(dir, "tradehall-ukey");
    hsm.import(&token_bidder.key_pkcs8, "bidder-signing", "01");
    let wrong_pin = crate::helpers::run_cli_with(
        vec![
            "bid".into(),
            "seal".into(),
            "--trade".into(),
            r.trade.clone().into(),
            "--price".into(),
            "5,400,000.00".into(),
            "--lot".into(),
            "1".into(),
            "--out".into(),
            dir.join("never.sealed").into_os_string(),
            "--cert".into(),
            crate::helpers::write(dir, "token-bidder.pem", token_bidder.cert_pem.as_bytes())
                .into_os_string(),
            "--key".into(),
            hsm.uri("bidder-signing").into(),
            "--server".into(),
            r.app.base.clone().into(),
        ],
        hsm.env("000000"),
    )
    .await;
    assert!(!wrong_pin.status.success());
    let said = String::from_utf8_lossy(&wrong_pin.stderr);
    assert!(said.contains("PIN"), "{said}");
    assert!(!dir.join("never.sealed").exists());
    crate::web::cli_bid_with_key(
        &r,
        &token_bidder,
        "5,400,000.00",
        dir,
        hsm.uri("bidder-signing").into(),
        hsm.env(&hsm.pin),
    )
    .await;
    let sealed = std::fs::read(dir.join(format!("{}.sealed", sm2_bidder.id())))
        .unwrap_or_else(|e| panic!("{e}"));
    let header = envelope::read_header(sealed.as_slice()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(header.suite(), Suite::Gm);
    // A suite-1 envelope is refused by a suite-2 trade.
    let x25519_keys = (0..3).map(|_| CustodianSecretKey::generate().1).collect();
    let (status, body) = put_bid(
        &r.app,
        &p256_bidder.token,
        &r.trade,
        r.seal_to(x25519_keys, &p256_bidder, 530_000_000, &["1"], None),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "envelope_wrong_committee"),
        "{body}"
    );

    r.app.clock.set(r.deadline);
    assert_eq!(r.contribute(0).await.0, StatusCode::OK);
    let (status, done) = r.contribute(2).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let signed: SignedRecord =
        serde_json::from_value(done["opening"].clone()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (signed.record.outcome.as_str(), signed.record.valid_bids),
        ("opened", 3)
    );
    let prices: Vec<(String, Option<i64>)> = signed
        .record
        .bids
        .iter()
        .map(|b| (b.organization.name.clone(), b.price))
        .collect();
    assert!(
        prices.contains(&(org.to_owned(), Some(520_000_000))),
        "{prices:?}"
    );
    let token_org = token_bidder.identity["organization"]
        .as_str()
        .unwrap_or_default();
    assert!(
        prices.contains(&(token_org.to_owned(), Some(540_000_000))),
        "{prices:?}"
    );
    verify_record(&r.app, &signed).await;
}

async fn a_certificate_revoked_before_submission_is_refused(backend: Backend) {
    // The server re-reads its CRL files on its own timer, every second here: the test
    // only replaces the file, as the CA's script does.
    let r =
        round_on(spawn_app_with(backend, Mode::Demo, |a| a.trust_reload_seconds = 1).await).await;
    let app = &r.app;
    let bidder = app.user("bidder").await;
    let envelope = r.seal(&bidder, 7_000_000, &["1"]);
    // The bidder is signed in; then its CA revokes the certificate.
    let serial = {
        let der = tradehall::crypto::cert::parse_pem_certificates(&bidder.cert_pem)
            .unwrap_or_else(|e| panic!("{e}"));
        let (_, cert) =
            x509_parser::parse_x509_certificate(&der[0]).unwrap_or_else(|e| panic!("{e}"));
        cert.raw_serial().to_vec()
    };
    let now = app.clock_now();
    let crl = app
        .ca_a
        .crl(&[serial], now, now + Duration::days(1))
        .unwrap_or_else(|e| panic!("{e}"));
    let path = app._dir.path().join("crl-a.der");
    let fresh = path.with_extension("new");
    std::fs::write(&fresh, crl).unwrap_or_else(|e| panic!("{e}"));
    std::fs::rename(&fresh, &path).unwrap_or_else(|e| panic!("{e}"));
    let started = std::time::Instant::now();
    loop {
        let (status, body) = app.get("/api/v1/auth/me", Some(&bidder.token)).await;
        if status == StatusCode::UNAUTHORIZED && code(&body) == "certificate_revoked" {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(15),
            "the running server never took the new CRL in: {status} {body}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (status, body) = put_bid(app, &bidder.token, &r.trade, envelope).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "certificate_revoked"),
        "{body}"
    );
    let (status, _) = app
        .get(
            &format!("/api/v1/trades/{}/bid", r.trade),
            Some(&bidder.token),
        )
        .await;
    assert_ne!(status, StatusCode::OK, "no bid was taken in");
}
