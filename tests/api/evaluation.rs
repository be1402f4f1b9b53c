//! From the opening to the contract (ADR 0014): the drawn experts sign their score
//! sheets and the report, the candidates are publicised, an objection holds the award
//! until it is answered, a complaint until it is ruled on, and the contract schedules
//! the bonds' refunds, which the bank then pays.

use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::deposits::{bank_post, notification, notify};
use crate::helpers::{code, Backend, User};
use crate::opening::Round;
use tradehall::crypto::evaluation::{report_message, sheet_message};

crate::on_both_backends!(
    a_tender_goes_from_score_sheets_to_contract_and_its_bonds_go_back,
    comprehensive_scoring_ranks_by_hand_and_an_upheld_complaint_fails_the_trade
);

const BOND: i64 = 200_000_000;
const ACCOUNTS: [&str; 3] = [
    "6222020200001111111",
    "6222020200002222222",
    "6222020200003333333",
];

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn usci(user: &User) -> String {
    user.identity["usci"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// An opened tender with three bids (and their bonds) and five drawn experts.
pub(crate) struct Evaluation {
    pub r: Round,
    pub officer: User,
    pub city: User,
    pub bidders: Vec<User>,
    /// The drawn experts, in draw order.
    pub committee: Vec<User>,
    /// Each bidder's bid log index, in bidder order.
    pub bids: Vec<i64>,
    /// The experts of the pool who were not drawn.
    pub reserves: Vec<User>,
}

impl Evaluation {
    pub async fn start(backend: Backend, evaluation: Option<Value>) -> Self {
        let app = crate::helpers::spawn_app(backend).await;
        let bidders = [
            app.user("bidder").await,
            app.user("bidder").await,
            app.user("bidder").await,
        ];
        Self::open(app, bidders, |terms| {
            if let Some(evaluation) = evaluation {
                terms["evaluation"] = evaluation;
            }
        })
        .await
    }

    /// A trade with `patch` applied to the tender terms, the three bidders' bids (and
    /// bonds), its opening, and the draw.
    pub async fn open(
        app: crate::helpers::TestApp,
        bidders: [User; 3],
        patch: impl FnOnce(&mut Value),
    ) -> Self {
        Self::on_round(crate::opening::round_with(app, patch).await, bidders).await
    }

    /// [`Evaluation::open`] on a published round: the bids, their bonds, the opening and
    /// the draw.
    pub async fn on_round(r: Round, bidders: [User; 3]) -> Self {
        Self::bid_and_open(&r, &bidders).await;
        Self::drawn(r, bidders.into()).await
    }

    /// The three bidders' bids (at their set prices) and bonds, then the opening.
    pub async fn bid_and_open(r: &Round, bidders: &[User; 3]) {
        for (bidder, price) in bidders
            .iter()
            .zip([9_870_000_001_i64, 9_650_000_002, 9_990_000_003])
        {
            r.bid(bidder, price).await;
        }
        let app = &r.app;
        for (i, bidder) in bidders.iter().enumerate() {
            let body = notification(
                &r.trade,
                &format!("BOND-{i}"),
                ACCOUNTS[i],
                &json!({ "kind": "bond", "bidder_usci": usci(bidder), "amount": BOND }),
            );
            let (status, body) = notify(app, body).await;
            assert_eq!(body["outcome"], "bond_confirmed", "{status} {body}");
        }
        r.open_now().await;
    }

    /// An opened round's experts drawn.
    pub async fn drawn(r: Round, bidders: Vec<User>) -> Self {
        let (officer, pool, size) = Self::pool_for(&r).await;
        let (status, drawn) = r
            .app
            .post(
                &format!("/api/v1/trades/{}/evaluation/draw", r.trade),
                Some(&officer.token),
                &json!({ "specialty": "construction.road", "experts": size }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{drawn}");
        let ids: Vec<String> =
            serde_json::from_value(drawn["disclosed"]["drawn"]["experts"].clone())
                .unwrap_or_default();
        Self::with_committee(r, bidders, officer, pool, &ids).await
    }

    /// A centre officer, and a pool of experts in `construction.road` one larger than the
    /// committee the trade needs (its size is the third member).
    pub async fn pool_for(r: &Round) -> (User, Vec<User>, usize) {
        let app = &r.app;
        let officer = app.user("trading_centre").await;
        let mut pool = Vec::new();
        // A procurement of 10,000,000 yuan or more needs seven (办法 第47条).
        let (_, trade) = app.get(&format!("/api/v1/trades/{}", r.trade), None).await;
        let size = if trade["kind"] == "government_procurement" {
            7
        } else {
            5
        };
        for _ in 0..size + 1 {
            let expert = app.user("expert").await;
            let profile = json!({ "specialties": ["construction.road"] });
            let (status, body) = crate::experts::put_profile(app, &expert, &profile).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            pool.push(expert);
        }
        (officer, pool, size)
    }

    /// The evaluation once the experts `drawn` (ids, in draw order) were drawn from `pool`.
    pub async fn with_committee(
        r: Round,
        bidders: Vec<User>,
        officer: User,
        mut pool: Vec<User>,
        drawn: &[String],
    ) -> Self {
        let app = &r.app;
        let city = app.supervisor_of("650100").await;
        let mut committee = Vec::new();
        for id in drawn {
            let at = pool.iter().position(|e| e.id() == *id);
            committee.push(pool.remove(at.unwrap_or_else(|| panic!("{id} is not in the pool"))));
        }
        let (_, opening) = app
            .get(&format!("/api/v1/trades/{}/opening", r.trade), None)
            .await;
        let record = &opening["opening"]["record"]["bids"];
        let index = |bidder: &User| {
            record
                .as_array()
                .into_iter()
                .flatten()
                .find(|b| b["organization"]["usci"] == usci(bidder).as_str())
                .and_then(|b| b["log_index"].as_i64())
                .unwrap_or_else(|| panic!("no bid of the bidder: {opening}"))
        };
        let bids = bidders.iter().map(index).collect();
        Self {
            r,
            officer,
            city,
            bidders,
            committee,
            bids,
            reserves: pool,
        }
    }

    /// What `expert` reads as its assignment on this trade, if it has one.
    pub(crate) async fn assignment(&self, expert: &User) -> Option<Value> {
        let (status, body) = self
            .r
            .app
            .get("/api/v1/experts/me/assignments", Some(&expert.token))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["assignments"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["trade_id"] == self.r.trade.as_str())
            .cloned()
    }

    /// Every expert passes every bid and signs; the publicity passes; the first
    /// candidate (the lowest price, bidder 1) is awarded and its contract recorded.
    pub async fn through_contract(&self) {
        let app = &self.r.app;
        let judged: Vec<Value> = self.bids.iter().map(|b| pass(*b)).collect();
        for expert in &self.committee {
            let (status, body) = self.submit(expert, &judged).await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        self.sign_all().await;
        app.clock.set(app.clock_now() + chrono::Duration::days(3));
        let (status, body) = app
            .post(&self.path("/award"), Some(&self.officer.token), &json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (_, result) = app.get(&self.path("/result"), None).await;
        let document = self.upload_contract(b"%PDF-1.7 signed contract").await;
        let contract = json!({
            "signed_at": tradehall::domain::clock::rfc3339(app.clock_now()),
            "amount": result["award"]["winner"]["price"],
            "document_sha256": document,
        });
        let (status, body) = app
            .post(
                &self.path("/contract"),
                Some(&self.officer.token),
                &contract,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    /// Uploads the signed contract as the centre; its SHA-256.
    pub async fn upload_contract(&self, bytes: &[u8]) -> String {
        let resp = self
            .r
            .app
            .http
            .put(self.r.app.url(&self.path("/contract/document/合同.pdf")))
            .bearer_auth(&self.officer.token)
            .header("content-type", "application/pdf")
            .body(bytes.to_vec())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(resp.status(), StatusCode::CREATED);
        let body: serde_json::Value = resp.json().await.unwrap_or_default();
        body["sha256"].as_str().unwrap_or_default().to_owned()
    }

    pub(crate) fn path(&self, rest: &str) -> String {
        format!("/api/v1/trades/{}{rest}", self.r.trade)
    }

    /// `bids` judged by `expert`, signed as the expert's client does it.
    fn sheet(&self, expert: &User, bids: &[Value]) -> Value {
        let sheet = json!({ "v": 1, "trade": self.r.trade, "bids": bids });
        let bytes = serde_json_canonicalizer::to_vec(&sheet).unwrap_or_default();
        json!({ "sheet": sheet, "signature": b64(&expert.signer.sign(&sheet_message(&bytes)).unwrap_or_else(|e| panic!("{e}"))) })
    }

    pub(crate) async fn submit(&self, expert: &User, bids: &[Value]) -> (StatusCode, Value) {
        self.r
            .app
            .post(
                &self.path("/evaluation/sheets"),
                Some(&expert.token),
                &self.sheet(expert, bids),
            )
            .await
    }

    /// Every expert of the committee signs the report (the last with a dissent).
    pub(crate) async fn sign_all(&self) -> String {
        let app = &self.r.app;
        let (status, view) = app
            .get(
                &self.path("/evaluation/report"),
                Some(&self.committee[0].token),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{view}");
        let sha = view["sha256"].as_str().unwrap_or_default().to_owned();
        for (i, expert) in self.committee.iter().enumerate() {
            if i == 4 {
                // The last expert signs with the CLI, with its dissent.
                let dir = expert_cli(expert);
                let out = crate::helpers::run_cli(cli_args(
                    &dir,
                    &app.base,
                    &[
                        "expert",
                        "sign-report",
                        "--trade",
                        &self.r.trade,
                        "--sha256",
                        &sha,
                        "--dissent",
                        "价格分计算无异议, 技术评分偏高",
                    ],
                    None,
                ))
                .await;
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                continue;
            }
            let dissent = "";
            let body = json!({
                "report_sha256": sha,
                "signature": b64(&expert.signer.sign(&report_message(&self.r.trade, &sha, dissent)).unwrap_or_else(|e| panic!("{e}"))),
                "dissent": dissent,
            });
            let (status, body) = app
                .post(
                    &self.path("/evaluation/report/signatures"),
                    Some(&expert.token),
                    &body,
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        sha
    }
}

/// A directory with the expert's certificate and key, for the CLI.
fn expert_cli(expert: &User) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    crate::helpers::write(dir.path(), "cert.pem", expert.cert_pem.as_bytes());
    crate::helpers::write(dir.path(), "key.der", &expert.key_pkcs8);
    dir
}

/// `tradehall <args> [file] --server … --cert … --key …` for `expert`.
fn cli_args(
    dir: &tempfile::TempDir,
    server: &str,
    args: &[&str],
    file: Option<&std::path::Path>,
) -> Vec<std::ffi::OsString> {
    let mut all: Vec<std::ffi::OsString> = args.iter().map(Into::into).collect();
    if let Some(file) = file {
        all.push(file.into());
    }
    all.extend([
        "--server".into(),
        server.into(),
        "--cert".into(),
        dir.path().join("cert.pem").into(),
        "--key".into(),
        dir.path().join("key.der").into(),
    ]);
    all
}

pub(crate) fn pass(log_index: i64) -> Value {
    json!({ "log_index": log_index, "pass": true })
}

fn fail(log_index: i64, reason: &str) -> Value {
    json!({ "log_index": log_index, "pass": false, "reason": reason })
}

fn scored(log_index: i64, technical: f64, business: f64) -> Value {
    json!({ "log_index": log_index, "pass": true, "scores": { "technical": technical, "business": business } })
}

async fn a_tender_goes_from_score_sheets_to_contract_and_its_bonds_go_back(backend: Backend) {
    let e = Evaluation::start(backend, None).await;
    let app = &e.r.app;
    let [a, b, c] = e.bids[..] else {
        panic!("three bids")
    };

    // Each drawn expert finds the trade among its assignments, to score; an expert of the
    // pool who was not drawn does not.
    for expert in &e.committee {
        let assigned = e
            .assignment(expert)
            .await
            .unwrap_or_else(|| panic!("{} is assigned", expert.id()));
        assert_eq!(assigned["stage"], "scoring", "{assigned}");
        assert_eq!(assigned["committee_size"], 5, "{assigned}");
        assert!(assigned["sheet_submitted_at"].is_null(), "{assigned}");
        assert_eq!(assigned["title"], "河滩路改造工程施工招标", "{assigned}");
    }
    assert!(
        !e.reserves.is_empty(),
        "the pool is larger than the committee"
    );
    for reserve in &e.reserves {
        assert_eq!(
            e.assignment(reserve).await,
            None,
            "{} was not drawn",
            reserve.id()
        );
    }

    // Only the committee's experts score, each once, every valid bid, signed.
    let outsider = app.user("expert").await;
    let (status, _) = e.submit(&outsider, &[pass(a), pass(b), pass(c)]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = e.submit(&e.committee[0], &[pass(a), pass(b)]).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "sheet_bids_mismatch"),
        "{body}"
    );
    let mut forged = e.sheet(&e.committee[0], &[pass(a), pass(b), pass(c)]);
    forged["sheet"]["bids"][1] = fail(b, "资格不符");
    let (status, body) = app
        .post(
            &e.path("/evaluation/sheets"),
            Some(&e.committee[0].token),
            &forged,
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "signature_invalid"),
        "{body}"
    );

    // Bidder 1 (the lowest price) is failed by two of five experts: still qualified.
    for (i, expert) in e.committee.iter().enumerate() {
        let judged = if i < 2 {
            vec![pass(a), fail(b, "项目经理资格证书未按要求提供"), pass(c)]
        } else {
            vec![pass(a), pass(b), pass(c)]
        };
        if i == 4 {
            let (status, report) = app
                .get(&e.path("/evaluation/report"), Some(&expert.token))
                .await;
            assert_eq!(
                (status, code(&report)),
                (StatusCode::NOT_FOUND, "report_not_found")
            );
            let (_, progress) = app.get(&e.path("/evaluation"), None).await;
            assert_eq!(progress["stage"], "scoring", "{progress}");
            assert_eq!(progress["sheets"], 4);
        }
        if i == 4 {
            // The last expert scores with the CLI on its own machine.
            let sheet = expert_cli(expert);
            let path = crate::helpers::write(
                sheet.path(),
                "sheet.json",
                json!({ "v": 1, "trade": e.r.trade, "bids": judged })
                    .to_string()
                    .as_bytes(),
            );
            let out = crate::helpers::run_cli(cli_args(
                &sheet,
                &app.base,
                &["expert", "score", "--trade", &e.r.trade, "--sheet"],
                Some(&path),
            ))
            .await;
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            continue;
        }
        let (status, body) = e.submit(expert, &judged).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let assigned = e.assignment(expert).await.unwrap_or_default();
        assert!(assigned["sheet_submitted_at"].is_string(), "{assigned}");
        if i == 0 {
            // While scoring is open, a second sheet of the same expert is refused and
            // the first stands.
            let (status, body) = e.submit(expert, &[pass(a), pass(b), pass(c)]).await;
            assert_eq!(
                (status, code(&body)),
                (StatusCode::CONFLICT, "sheet_submitted"),
                "{body}"
            );
            let (_, progress) = app.get(&e.path("/evaluation"), None).await;
            assert_eq!(
                (&progress["stage"], &progress["sheets"]),
                (&json!("scoring"), &json!(1)),
                "{progress}"
            );
        }
    }
    // Once every sheet is in, one more is refused too.
    let (status, body) = e
        .submit(&e.committee[0], &[pass(a), pass(b), pass(c)])
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // The report exists; it is not public, nor shown to bidders, before the award.
    let (_, progress) = app.get(&e.path("/evaluation"), None).await;
    assert_eq!(progress["stage"], "signing", "{progress}");
    let (status, _) = app.get(&e.path("/evaluation/report"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app
        .get(&e.path("/evaluation/report"), Some(&e.bidders[0].token))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, view) = app
        .get(&e.path("/evaluation/report"), Some(&e.city.token))
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    let ranks: Vec<(i64, Option<i64>)> = view["report"]["ranking"]["bids"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| (b["log_index"].as_i64().unwrap_or(-1), b["rank"].as_i64()))
        .collect();
    // Lowest evaluated price: 9,650,000.02 < 9,870,000.01 < 9,990,000.03 yuan.
    assert_eq!(ranks, vec![(b, Some(1)), (a, Some(2)), (c, Some(3))]);
    let wrong = json!({ "report_sha256": "00", "signature": "AA==" });
    let (status, body) = app
        .post(
            &e.path("/evaluation/report/signatures"),
            Some(&e.committee[0].token),
            &wrong,
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "report_mismatch")
    );

    let sha = e.sign_all().await;
    let published_at = app.clock_now();
    let (_, trade) = app.get(&e.path(""), None).await;
    assert_eq!(trade["status"], "publicity", "{trade}");
    let (status, result) = app.get(&e.path("/result"), None).await;
    assert_eq!(status, StatusCode::OK, "{result}");
    let candidates = result["candidates"].as_array().cloned().unwrap_or_default();
    assert_eq!(candidates.len(), 3, "{result}");
    assert_eq!(candidates[0]["organization"]["usci"], usci(&e.bidders[1]));
    assert_eq!(
        result["publicity_until"],
        tradehall::domain::clock::rfc3339(published_at + chrono::Duration::days(3))
    );
    // The public log says who the candidates are, not who the experts are.
    let (_, events) = app.get("/api/v1/events?after=0&limit=1000", None).await;
    let public: Vec<String> = events["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|ev| ev["entry"]["trade"] == e.r.trade.as_str())
        .map(Value::to_string)
        .collect();
    assert!(public.iter().any(|ev| ev.contains(&sha)));
    for expert in &e.committee {
        assert!(
            !public.iter().any(|ev| ev.contains(&expert.id())),
            "the committee stays hidden"
        );
    }

    // An objection during the publicity holds the award until the centre answers it.
    let (status, objection) = app
        .post(
            &e.path("/objections"),
            Some(&e.bidders[2].token),
            &json!({ "text": "第一中标候选人项目经理资格不符合招标文件要求" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{objection}");
    let outsider = app.user("bidder").await;
    let (status, _) = app
        .post(
            &e.path("/objections"),
            Some(&outsider.token),
            &json!({ "text": "x" }),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "only the trade's bidders object"
    );
    let award = e.path("/award");
    let (status, body) = app.post(&award, Some(&e.officer.token), &json!({})).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "publicity_running")
    );
    app.clock.set(published_at + chrono::Duration::days(3));
    let (status, body) = app.post(&award, Some(&e.officer.token), &json!({})).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "objection_pending"),
        "{body}"
    );
    let (status, body) = app
        .post(
            &e.path("/objections"),
            Some(&e.bidders[0].token),
            &json!({ "text": "too late" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "not_publicity")
    );
    let (_, mine) = app
        .get(&e.path("/objections"), Some(&e.bidders[0].token))
        .await;
    assert_eq!(mine["objections"], json!([]), "a bidder sees only its own");
    let answer = format!(
        "/objections/{}/answer",
        objection["id"].as_str().unwrap_or_default()
    );
    let (status, answered) = app
        .post(
            &e.path(&answer),
            Some(&e.officer.token),
            &json!({ "text": "经复核, 项目经理证书已在投标文件第35页提供, 异议不成立" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answered}");
    assert!(answered["answer"].is_string());

    // Now the award: the first candidate wins; the committee becomes public.
    let (status, awarded) = app.post(&award, Some(&e.officer.token), &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{awarded}");
    assert_eq!(awarded["status"], "awarded");
    assert_eq!(
        awarded["award"]["winner"]["organization"]["usci"],
        usci(&e.bidders[1])
    );
    let (_, draw) = app.get(&e.path("/evaluation/draw"), None).await;
    assert!(draw["disclosed"]["drawn"].is_object(), "{draw}");
    // Anyone can now rerun the draw from the log, without a certificate.
    tradehall::client::draw::verify(&app.base, &e.r.trade, None, None)
        .await
        .unwrap_or_else(|err| panic!("{err:#}"));
    let (status, report) = app.get(&e.path("/evaluation/report"), None).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["signatures"].as_array().map(Vec::len), Some(5));
    // Anyone can check an expert's sheet signature from the award entry.
    let (_, events) = app.get("/api/v1/events?after=0&limit=1000", None).await;
    let entry = events["events"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|ev| ev["entry"]["kind"] == "award.notified")
        .map(|ev| ev["entry"]["data"].clone())
        .unwrap_or_default();
    let sheet = &entry["revealed"]["sheets"][0];
    let expert = e
        .committee
        .iter()
        .find(|x| sheet["expert"] == x.id().as_str())
        .unwrap_or_else(|| panic!("{entry}"));
    let der = tradehall::crypto::cert::parse_pem_certificates(&expert.cert_pem)
        .unwrap_or_default()
        .remove(0);
    let signature = base64::engine::general_purpose::STANDARD
        .decode(sheet["signature"].as_str().unwrap_or_default())
        .unwrap_or_default();
    let bytes = serde_json_canonicalizer::to_vec(&sheet["sheet"]).unwrap_or_default();
    tradehall::crypto::cert::verify_with_certificate(&der, &sheet_message(&bytes), &signature)
        .unwrap_or_else(|err| panic!("{err}"));

    // The contract: its signed document first, then at the winning price, once; then
    // every bond goes back by its day.
    let contract = e.path("/contract");
    let signed_at = tradehall::domain::clock::rfc3339(app.clock_now());
    let unknown = json!({ "signed_at": signed_at, "amount": 9_650_000_002_i64, "document_sha256": "ab".repeat(32) });
    let (status, body) = app.post(&contract, Some(&e.officer.token), &unknown).await;
    assert_eq!(
        (status, code(&body)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "contract_document_missing"
        )
    );
    let document = e.upload_contract(b"%PDF-1.7 the signed contract").await;
    let wrong_price = json!({ "signed_at": signed_at, "amount": 1, "document_sha256": document });
    let (status, body) = app
        .post(&contract, Some(&e.officer.token), &wrong_price)
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "contract_price_mismatch")
    );
    let terms =
        json!({ "signed_at": signed_at, "amount": 9_650_000_002_i64, "document_sha256": document });
    let (status, done) = app.post(&contract, Some(&e.officer.token), &terms).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["status"], "contracted");
    assert_eq!(done["contract"]["late"], false);
    let (status, body) = app.post(&contract, Some(&e.officer.token), &terms).await;
    assert_eq!((status, code(&body)), (StatusCode::CONFLICT, "not_awarded"));

    // Each bidder sees its own bond and its refund instruction, and nobody else's.
    for (i, bidder) in e.bidders.iter().enumerate() {
        let (status, mine) = app.get(&e.path("/money/mine"), Some(&bidder.token)).await;
        assert_eq!(status, StatusCode::OK, "{mine}");
        assert_eq!(mine["kind"], "bond", "{mine}");
        assert_eq!(mine["due"], BOND, "{mine}");
        assert_eq!(mine["accounts"], json!([ACCOUNTS[i]]), "{mine}");
        assert_eq!(mine["balance"]["received"], BOND, "{mine}");
        assert_eq!(mine["settled"], false, "{mine}");
        let refunds = mine["refunds"].as_array().cloned().unwrap_or_default();
        assert_eq!(refunds.len(), 1, "{mine}");
        assert_eq!(refunds[0]["account"], ACCOUNTS[i], "{mine}");
        assert_eq!(refunds[0]["status"], "pending", "{mine}");
    }
    let (status, body) = app
        .get(&e.path("/money/mine"), Some(&e.officer.token))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    let money_path = e.path("/money");
    let (_, money) = app.get(&money_path, Some(&e.officer.token)).await;
    let refunds = money["refunds"].as_array().cloned().unwrap_or_default();
    assert_eq!(refunds.len(), 3, "{money}");
    let due = tradehall::domain::clock::rfc3339(app.clock_now() + chrono::Duration::days(5));
    for refund in &refunds {
        assert_eq!(refund["reason"], "contract_signed", "{refund}");
        assert_eq!(refund["status"], "pending");
        assert_eq!(refund["due_at"], due.as_str());
        assert_eq!(refund["amount"], BOND);
    }
    let (status, claimed) = bank_post(
        app,
        "/api/v1/bank/refund-claims",
        &json!({ "claim_id": "bonds-1" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{claimed}");
    assert_eq!(claimed["refunds"].as_array().map(Vec::len), Some(3));
    for (i, refund) in refunds.iter().enumerate() {
        let body = notification(
            &e.r.trade,
            &format!("BOND-BACK-{i}"),
            refund["account"].as_str().unwrap_or_default(),
            &json!({ "kind": "refund", "refund": refund["id"], "amount": BOND }),
        );
        let (_, back) = notify(app, body).await;
        assert_eq!(back["outcome"], "refund_confirmed", "{back}");
    }
    let (_, money) = app.get(&money_path, Some(&e.officer.token)).await;
    assert_eq!(money["balance"]["received"], 3 * BOND, "{money}");
    assert_eq!(money["balance"]["refunded"], 3 * BOND, "{money}");
    assert_eq!(money["balance"]["held"], 0, "{money}");
    let (_, mine) = app
        .get(&e.path("/money/mine"), Some(&e.bidders[0].token))
        .await;
    assert_eq!(mine["refunds"][0]["status"], "confirmed", "{mine}");
    assert_eq!(mine["balance"]["refunded"], BOND, "{mine}");
    assert_eq!(mine["settled"], true, "{mine}");

    // The open data follow the trade to its contract.
    let releases = crate::ocds::valid_open_data(app).await;
    let tags: Vec<&Value> = releases.iter().map(|r| &r["tag"]).collect();
    assert_eq!(
        tags,
        [
            &json!(["tender"]),
            &json!(["tenderUpdate"]),
            &json!(["award"]),
            &json!(["award"]),
            &json!(["contract"])
        ]
    );
    let ocid = releases[0]["ocid"].as_str().unwrap_or_default();
    let (_, record) = app.get(&format!("/api/v1/ocds/records/{ocid}"), None).await;
    let compiled = &record["records"][0]["compiledRelease"];
    let statuses: Vec<&Value> = compiled["awards"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| &a["status"])
        .collect();
    assert_eq!(
        statuses,
        [
            &json!("active"),
            &json!("unsuccessful"),
            &json!("unsuccessful")
        ]
    );
    assert_eq!(compiled["contracts"][0]["value"]["amount"], 96_500_000.02);
    assert_eq!(
        compiled["contracts"][0]["awardID"],
        compiled["awards"][0]["id"]
    );
    assert_eq!(compiled["tender"]["status"], "complete");
}

async fn comprehensive_scoring_ranks_by_hand_and_an_upheld_complaint_fails_the_trade(
    backend: Backend,
) {
    let terms = json!({
        "method": "comprehensive_scoring",
        "price_weight": 30,
        "criteria": [
            { "id": "technical", "name": "技术", "weight": 60 },
            { "id": "business", "name": "商务", "weight": 10 }
        ]
    });
    let e = Evaluation::start(backend, Some(terms)).await;
    let app = &e.r.app;
    let [a, b, c] = e.bids[..] else {
        panic!("three bids")
    };
    // Prices: a 9,870,000.01, b 9,650,000.02 (the base), c 9,990,000.03 yuan.
    // Points per expert (technical + business), and their mean:
    //   a: 58, 60, 58, 58, 61 → 295 / 5 = 59.00
    //   b: 47, 49, 47, 47, 50 → 240 / 5 = 48.00
    //   c: 64, 65, 66, 64, 68 → 327 / 5 = 65.40
    // Price scores (base price b): b 30.00;
    //   a 9,650,000.02 / 9,870,000.01 × 30 = 29.3313… → 29.33;
    //   c 9,650,000.02 / 9,990,000.03 × 30 = 28.9789… → 28.98.
    // Totals: c 94.38, a 88.33, b 78.00: the cheapest bid ranks last.
    let points = [
        [(50.0, 8.0), (40.0, 7.0), (55.0, 9.0)],
        [(52.0, 8.0), (42.0, 7.0), (56.0, 9.0)],
        [(51.0, 7.0), (41.0, 6.0), (57.0, 9.0)],
        [(50.0, 8.0), (40.0, 7.0), (55.0, 9.0)],
        [(52.0, 9.0), (42.0, 8.0), (58.0, 10.0)],
    ];
    // A sheet with points over a criterion's weight is refused.
    let (status, body) = e
        .submit(
            &e.committee[0],
            &[
                scored(a, 61.0, 8.0),
                scored(b, 1.0, 1.0),
                scored(c, 1.0, 1.0),
            ],
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_scores"),
        "{body}"
    );
    for (expert, p) in e.committee.iter().zip(points) {
        let judged = [
            scored(a, p[0].0, p[0].1),
            scored(b, p[1].0, p[1].1),
            scored(c, p[2].0, p[2].1),
        ];
        let (status, body) = e.submit(expert, &judged).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    e.sign_all().await;
    let (_, result) = app.get(&e.path("/result"), None).await;
    let got: Vec<(i64, Value)> = result["candidates"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|x| (x["log_index"].as_i64().unwrap_or(-1), x["total"].clone()))
        .collect();
    assert_eq!(
        got,
        vec![(c, json!(94.38)), (a, json!(88.33)), (b, json!(78.0))],
        "{result}"
    );

    // An objection answered, then a complaint: the award waits for the supervisor.
    let (_, objection) = app
        .post(
            &e.path("/objections"),
            Some(&e.bidders[1].token),
            &json!({ "text": "技术评分畸高, 请复核" }),
        )
        .await;
    let objection_id = objection["id"].as_str().unwrap_or_default().to_owned();
    let complaint = json!({ "objection_id": objection_id, "text": "异议答复未说明理由" });
    let (status, body) = app
        .post(
            &e.path("/complaints"),
            Some(&e.bidders[1].token),
            &complaint,
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "objection_unanswered"),
        "a complaint follows the objection's answer"
    );
    let (status, _) = app
        .post(
            &e.path(&format!("/objections/{objection_id}/answer")),
            Some(&e.officer.token),
            &json!({ "text": "评分在评分标准范围内, 异议不成立" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, filed) = app
        .post(
            &e.path("/complaints"),
            Some(&e.bidders[1].token),
            &complaint,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{filed}");
    let publicity_end = app.clock_now() + chrono::Duration::days(3);
    app.clock.set(publicity_end);
    let (status, body) = app
        .post(&e.path("/award"), Some(&e.officer.token), &json!({}))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "complaint_pending")
    );
    let (_, listed) = app.get(&e.path("/objections"), Some(&e.city.token)).await;
    assert_eq!(
        listed["objections"][0]["complaint"]["id"], filed["id"],
        "{listed}"
    );
    let ruling = format!(
        "/complaints/{}/ruling",
        filed["id"].as_str().unwrap_or_default()
    );
    let (status, _) = app
        .post(
            &e.path(&ruling),
            Some(&e.officer.token),
            &json!({ "upheld": true, "ruling": "x" }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the supervisor rules");
    let (status, ruled) = app
        .post(
            &e.path(&ruling),
            Some(&e.city.token),
            &json!({ "upheld": true, "ruling": "评标委员会未按评分标准评分, 中标结果无效, 依法重新招标" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{ruled}");
    assert_eq!(ruled["upheld"], true);
    let (_, trade) = app.get(&e.path(""), None).await;
    assert_eq!(trade["status"], "failed", "{trade}");
    let (status, body) = app
        .post(&e.path("/award"), Some(&e.officer.token), &json!({}))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "not_publicity")
    );

    // The centre tenders it again: a new draft with the old terms and documents.
    let deadline = app.clock_now() + chrono::Duration::days(25);
    let order = json!({
        "bid_deadline": tradehall::domain::clock::rfc3339(deadline),
        "reason": "投诉成立, 重新招标",
    });
    let (status, _) = app
        .post(&e.path("/retender"), Some(&e.bidders[0].token), &order)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, draft) = app
        .post(&e.path("/retender"), Some(&e.officer.token), &order)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{draft}");
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["retender_of"], e.r.trade.as_str());
    assert_eq!(draft["title"], "河滩路改造工程施工招标");
    assert_eq!(
        draft["documents"].as_array().map(Vec::len),
        Some(1),
        "{draft}"
    );
    let (status, body) = app
        .post(&e.path("/retender"), Some(&e.officer.token), &order)
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "already_retendered")
    );
    let mut forged = app.tender_terms(&[]);
    forged["retender_of"] = e.r.trade.as_str().into();
    let (status, body) = app
        .post("/api/v1/trades", Some(&e.officer.token), &forged)
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_terms")
    );
    let new_trade = draft["id"].as_str().unwrap_or_default().to_owned();
    let (status, body) = app
        .post(
            &format!("/api/v1/trades/{new_trade}/publish"),
            Some(&e.officer.token),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let releases = crate::ocds::valid_open_data(app).await;
    let old = releases
        .iter()
        .rfind(|r| r["ocid"].as_str().is_some_and(|o| o.ends_with(&e.r.trade)))
        .cloned()
        .unwrap_or_default();
    assert_eq!(old["tender"]["status"], "unsuccessful", "{old}");
    let new = releases.last().cloned().unwrap_or_default();
    assert_eq!(new["tag"], json!(["tender"]));
    assert_eq!(
        new["relatedProcesses"][0]["identifier"], old["ocid"],
        "{new}"
    );
}
