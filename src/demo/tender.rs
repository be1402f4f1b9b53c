//! The demo tender from the announcement to the contract, played through the public API
//! with the same client code as the CLI: the committee registers its keys, five bidders
//! pay their bonds and seal and submit bids, two custodians open them at the deadline;
//! the centre draws five experts (seeded by the log, verifiable), each signs a score
//! sheet (a majority fails one bid) and the report (one with a dissent), the candidates
//! are publicised, a bidder objects and the centre answers, the award, the contract, and
//! the bonds go back through the DEV ONLY bank. Also the procurement tender, whose
//! committee registers its keys so a person can bid on it, and opens at its deadline.

use anyhow::Context as _;
use serde_json::{json, Value};

use super::bank;
use super::cast::{refused_with, say, yuan, Cast};
use super::committee;
use crate::client::bid::{self, SealOptions};
use crate::client::expert;
use crate::crypto::pki::DevIdentity;
use crate::domain::money::Money;

const PART: &str = "tender";

/// Demo prices in 分, one per bidder.
const PRICES: [i64; 5] = [
    1_158_000_000,
    1_132_500_000,
    1_176_000_000,
    1_145_800_000,
    1_169_900_000,
];

/// The specialty the demo experts declare and the committee is drawn for.
pub const SPECIALTY: &str = "construction.road";

/// How many experts the demo draws (评标委员会 of five: 招标投标法 第37条).
const COMMITTEE: u64 = 5;

/// The reason three of the five experts fail the fifth bidder's bid.
const FAILED_BID: &str = "项目经理注册建造师证书已过有效期, 不满足招标文件第3.2条 (DEMO)";

/// The dissent the last expert signs the report with.
const DISSENT: &str = "本人认为第五名投标人项目经理证书问题可通过澄清补正, 不宜否决其投标 (DEMO)";

/// The bidder that objects to the candidates.
const OBJECTOR: &str = "bidder-3";

/// A bank account of the demo's bidder number `i`.
fn account(i: usize) -> String {
    format!("62220202{:011}", 1_000 + i)
}

/// Every demo expert states its specialty for the pool, once.
pub async fn join_the_pool(cast: &Cast) -> anyhow::Result<()> {
    for e in cast.of_role("expert") {
        let me = cast.session(e).await?;
        match me.get("/api/v1/experts/me").await {
            Ok(_) => continue,
            Err(err) if refused_with(&err, &["profile_not_found"]) => {}
            Err(err) => return Err(err),
        }
        me.put(
            "/api/v1/experts/me",
            &json!({ "specialties": [SPECIALTY, "construction.bridge"] }),
        )
        .await
        .with_context(|| format!("{} stating its specialties", e.name))?;
    }
    say(
        "experts",
        format!(
            "{} experts are in the pool for {SPECIALTY}",
            cast.of_role("expert").count()
        ),
    );
    Ok(())
}

/// Plays the demo tender `trade` from wherever it is to its settled bonds.
pub async fn play(cast: &Cast, trade: &str) -> anyhow::Result<()> {
    committee::register_keys(cast, PART, trade).await?;
    if cast.trade(trade).await?["phase"] == "bidding" {
        bid_round(cast, trade).await?;
    }
    let hall = cast.get(&format!("/api/v1/trades/{trade}/opening")).await?;
    let opening = match &hall["opening"] {
        Value::Null => open_at_deadline(cast, trade).await?,
        opening => opening.clone(),
    };
    if opening["record"]["outcome"] != "opened" {
        say(
            PART,
            "the tender failed at the opening (流标); nothing to evaluate",
        );
        return Ok(());
    }
    evaluate(cast, trade, &opening["record"]).await?;
    publicise_and_award(cast, trade).await?;
    contract_and_refunds(cast, trade).await
}

/// Before the deadline: the bidders pay their bonds and seal and submit their bids.
async fn bid_round(cast: &Cast, trade: &str) -> anyhow::Result<()> {
    let view = cast.trade(trade).await?;
    let bond = view["bond_amount"].as_i64().context("no bond amount")?;
    // The bank books each bond when the trade is published: the same booking each time
    // the demo tells it, and before the deadline.
    let booked_at = view["published_at"].as_str().context("not published")?;
    for (i, (b, price)) in cast.of_role("bidder").zip(PRICES).enumerate() {
        let paid = bank::pay_bond(cast, trade, b, &account(i), bond, booked_at).await?;
        let me = cast.session(b).await?;
        match me.get(&format!("/api/v1/trades/{trade}/bid")).await {
            Ok(_) => continue,
            Err(e) if refused_with(&e, &["bid_not_found"]) => {}
            Err(e) => return Err(e),
        }
        let desk = cast.desk(b, trade)?;
        let envelope = desk.join("bid.sealed");
        bid::seal(&SealOptions {
            server: cast.server.clone(),
            trade: trade.to_owned(),
            price: Money::new(price)?,
            lots: vec!["1".into()],
            files: vec![],
            cert: b.cert_path.clone(),
            key: b.key_path.clone(),
            out: envelope.clone(),
            trust_ca: Vec::new(),
        })
        .await
        .with_context(|| format!("{} sealing its bid", b.name))?;
        let receipt = bid::submit(
            &cast.credentials(b),
            &envelope,
            &desk.join("bid.sealed.receipt.json"),
        )
        .await
        .with_context(|| format!("{} submitting its bid", b.name))?;
        say(
            PART,
            format!(
                "{} paid its bond ({}: {}), sealed its bid and submitted it; receipt at log index {}, commitment {}…",
                b.organization,
                yuan(bond),
                paid["outcome"].as_str().unwrap_or("?"),
                receipt.log_index,
                receipt.blinded_commitment.get(..12).unwrap_or_default()
            ),
        );
        cast.pause().await;
    }
    let hall = cast.get(&format!("/api/v1/trades/{trade}/opening")).await?;
    say(
        PART,
        format!(
            "intake is open until the deadline {} (server time); nobody can read a bid before then",
            hall["deadline"].as_str().unwrap_or("?")
        ),
    );
    Ok(())
}

/// At the deadline two custodians open the bids; all are revealed at once.
async fn open_at_deadline(cast: &Cast, trade: &str) -> anyhow::Result<Value> {
    committee::wait_for_window(cast, trade).await?;
    say(
        PART,
        "the deadline has passed: intake is closed and the opening window is open",
    );
    let opening = committee::open(cast, PART, trade).await?;
    let record = &opening["record"];
    say(
        PART,
        format!(
            "opened: {} of {} bids valid, outcome {} — all revealed at once:",
            record["valid_bids"],
            record["bids"].as_array().map_or(0, Vec::len),
            record["outcome"].as_str().unwrap_or("?")
        ),
    );
    for b in record["bids"].as_array().into_iter().flatten() {
        say(
            PART,
            format!(
                "  {:<28} {:>16} {}",
                b["organization"]["name"].as_str().unwrap_or("?"),
                b["price"].as_i64().map_or("—".into(), yuan),
                if b["valid"] == true {
                    "valid"
                } else {
                    b["reason"].as_str().unwrap_or("invalid")
                }
            ),
        );
    }
    say(
        PART,
        format!(
            "the signed opening record: {}/api/v1/trades/{trade}/opening",
            cast.server
        ),
    );
    Ok(opening)
}

/// The experts' sessions, by identity id.
async fn experts_by_id(cast: &Cast) -> anyhow::Result<Vec<(String, &DevIdentity)>> {
    let mut out = Vec::new();
    for e in cast.of_role("expert") {
        out.push((cast.session(e).await?.identity_id().to_owned(), e));
    }
    Ok(out)
}

/// The centre draws the committee; each drawn expert signs its score sheet, then the
/// report.
async fn evaluate(cast: &Cast, trade: &str, record: &Value) -> anyhow::Result<()> {
    let progress = cast
        .get(&format!("/api/v1/trades/{trade}/evaluation"))
        .await?;
    if progress["stage"] == "done" {
        return Ok(());
    }
    let officer = cast.named("officer")?;
    let centre = cast.session(officer).await?;
    let path = format!("/api/v1/trades/{trade}/evaluation/draw");
    let draw = match centre.get(&path).await {
        Ok(draw) => draw,
        Err(e) if refused_with(&e, &["draw_not_found"]) => {
            cast.pause().await;
            let draw = centre
                .post(
                    &path,
                    &json!({ "specialty": SPECIALTY, "experts": COMMITTEE }),
                )
                .await
                .context("drawing the committee")?;
            say(
                PART,
                format!(
                    "the centre drew {COMMITTEE} experts from a pool of {}, seeded by the log root at the opening ({} entries); check it: tradehall verify draw --server {} --trade {trade}",
                    draw["disclosed"]["pool"].as_array().map_or(0, Vec::len),
                    draw["seed_size"],
                    cast.server
                ),
            );
            draw
        }
        Err(e) => return Err(e),
    };
    let drawn: Vec<String> = serde_json::from_value(draw["disclosed"]["drawn"]["experts"].clone())
        .context("the draw names no experts")?;
    let experts = experts_by_id(cast).await?;
    let committee: Vec<&DevIdentity> = drawn
        .iter()
        .filter_map(|id| experts.iter().find(|(e, _)| e == id).map(|(_, who)| *who))
        .collect();
    if committee.len() != drawn.len() {
        anyhow::bail!("the drawn experts are not the demo's");
    }

    let fifth = cast
        .of_role("bidder")
        .nth(4)
        .map(|b| b.usci.as_str().to_owned())
        .unwrap_or_default();
    let valid: Vec<&Value> = record["bids"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| b["valid"] == true)
        .collect();
    for (n, e) in committee.iter().enumerate() {
        // The first three fail the fifth bidder's bid: a majority, so it is out.
        let bids: Vec<Value> = valid
            .iter()
            .map(|b| {
                if n < 3 && b["organization"]["usci"] == fifth.as_str() {
                    json!({ "log_index": b["log_index"], "pass": false, "reason": FAILED_BID })
                } else {
                    json!({ "log_index": b["log_index"], "pass": true })
                }
            })
            .collect();
        let sheet = cast.desk(e, trade)?.join("sheet.json");
        std::fs::write(
            &sheet,
            serde_json::to_vec_pretty(&json!({ "v": 1, "trade": trade, "bids": bids }))?,
        )?;
        match expert::submit_sheet(&cast.credentials(e), trade, &sheet).await {
            Ok(_) => {
                say(
                    PART,
                    format!(
                        "expert {} ({}) signed its score sheet{}",
                        n + 1,
                        e.organization,
                        if n < 3 {
                            ", failing one bid with its reason"
                        } else {
                            ""
                        }
                    ),
                );
                cast.pause().await;
            }
            Err(err) if refused_with(&err, &["sheet_submitted", "evaluation_reported"]) => {}
            Err(err) => return Err(err.context(format!("{} scoring", e.name))),
        }
    }

    for (n, e) in committee.iter().enumerate() {
        let view = expert::report(&cast.credentials(e), trade).await?;
        let my_id = experts
            .iter()
            .find(|(_, who)| who.name == e.name)
            .map(|(id, _)| id.as_str())
            .unwrap_or_default();
        let signed = view["signatures"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|s| s["expert"] == my_id);
        if signed {
            continue;
        }
        let sha = view["sha256"].as_str().unwrap_or_default().to_owned();
        let dissent = (n + 1 == committee.len()).then_some(DISSENT);
        match expert::sign_report(&cast.credentials(e), trade, &sha, dissent).await {
            Ok(_) => {
                say(
                    PART,
                    format!(
                        "expert {} signed the report {}…{}",
                        n + 1,
                        sha.get(..12).unwrap_or_default(),
                        if dissent.is_some() {
                            " with a dissent"
                        } else {
                            ""
                        }
                    ),
                );
                cast.pause().await;
            }
            Err(err) if refused_with(&err, &["report_signed"]) => {}
            Err(err) => return Err(err.context(format!("{} signing the report", e.name))),
        }
    }
    Ok(())
}

/// The candidates are publicised; a bidder objects and the centre answers; when the
/// publicity is over the centre issues the award.
async fn publicise_and_award(cast: &Cast, trade: &str) -> anyhow::Result<()> {
    let result_path = format!("/api/v1/trades/{trade}/result");
    let result = cast.wait_for(&result_path, |_| true).await?;
    if result["award"].is_null() {
        if result["objections"] == 0 {
            say(
                PART,
                format!(
                    "the candidates are publicised until {}:",
                    result["publicity_until"].as_str().unwrap_or("?")
                ),
            );
            for c in result["candidates"].as_array().into_iter().flatten() {
                say(
                    PART,
                    format!(
                        "  {}. {} {}",
                        c["rank"],
                        c["organization"]["name"].as_str().unwrap_or("?"),
                        c["price"].as_i64().map_or("—".into(), yuan)
                    ),
                );
            }
        }
        object_and_answer(cast, trade).await?;
        award(cast, trade).await?;
    }
    Ok(())
}

async fn object_and_answer(cast: &Cast, trade: &str) -> anyhow::Result<()> {
    let path = format!("/api/v1/trades/{trade}/objections");
    let objector = cast.named(OBJECTOR)?;
    let me = cast.session(objector).await?;
    let mine = me.get(&path).await?;
    if mine["objections"].as_array().is_none_or(Vec::is_empty) {
        cast.pause().await;
        me.post(
            &path,
            &json!({ "text": "第一中标候选人的项目经理在建项目未完工, 不满足招标文件第3.2条的要求, 请复核 (DEMO)" }),
        )
        .await
        .context("objecting")?;
        say(
            PART,
            format!(
                "{} objected to the candidates (异议); the award waits for the answer",
                objector.organization
            ),
        );
    }
    let centre = cast.session(cast.named("officer")?).await?;
    let all = centre.get(&path).await?;
    for o in all["objections"].as_array().into_iter().flatten() {
        if !o["answer"].is_null() {
            continue;
        }
        cast.pause().await;
        let id = o["id"].as_str().unwrap_or_default();
        centre
            .post(
                &format!("{path}/{id}/answer"),
                &json!({ "text": "经核查, 第一中标候选人项目经理已于投标前完成原项目竣工验收, 异议不成立 (DEMO)" }),
            )
            .await
            .context("answering the objection")?;
        say(
            PART,
            "the centre answered the objection: not upheld, with its reasons",
        );
    }
    Ok(())
}

async fn award(cast: &Cast, trade: &str) -> anyhow::Result<()> {
    let result = cast.get(&format!("/api/v1/trades/{trade}/result")).await?;
    cast.wait_until(&result["publicity_until"]).await?;
    let centre = cast.session(cast.named("officer")?).await?;
    let awarded = centre
        .post(&format!("/api/v1/trades/{trade}/award"), &json!({}))
        .await
        .context("awarding")?;
    let winner = &awarded["award"]["winner"];
    say(
        PART,
        format!(
            "the publicity is over: awarded (中标通知) to {} at {}; the committee, sheets and report are now public",
            winner["organization"]["name"].as_str().unwrap_or("?"),
            winner["price"].as_i64().map_or("—".into(), yuan)
        ),
    );
    Ok(())
}

/// The contract at the winning price, which schedules every bond's refund; the bank
/// pays them.
async fn contract_and_refunds(cast: &Cast, trade: &str) -> anyhow::Result<()> {
    let centre = cast.session(cast.named("officer")?).await?;
    let result = cast.get(&format!("/api/v1/trades/{trade}/result")).await?;
    if result["contract"].is_null() {
        cast.pause().await;
        let text = format!(
            "DEMO 施工合同: 招标项目 {trade}, 中标人 {}, 合同价 {}",
            result["award"]["winner"]["organization"]["name"]
                .as_str()
                .unwrap_or("?"),
            result["award"]["winner"]["price"]
        );
        // The signed contract itself goes to the platform first: the trade's archive
        // holds it.
        let document = centre
            .put_bytes(
                &format!("/api/v1/trades/{trade}/contract/document/施工合同.txt"),
                "text/plain; charset=utf-8",
                text.clone().into_bytes(),
            )
            .await
            .context("uploading the signed contract")?;
        let now = cast.get("/healthz").await?["server_time"].clone();
        let done = centre
            .post(
                &format!("/api/v1/trades/{trade}/contract"),
                &json!({
                    "signed_at": now,
                    "amount": result["award"]["winner"]["price"],
                    "document_sha256": document["sha256"],
                }),
            )
            .await
            .context("recording the contract")?;
        say(
            PART,
            format!(
                "the contract is recorded at {}; every bond is to go back within 5 days",
                done["contract"]["amount"].as_i64().map_or("—".into(), yuan)
            ),
        );
    }
    let money = bank::settled(cast, trade).await?;
    say(
        PART,
        format!(
            "settled: {} of bonds received, {} paid back. The tender is done; check it: tradehall log verify --server {}",
            money["balance"]["received"].as_i64().map_or("—".into(), yuan),
            money["balance"]["refunded"].as_i64().map_or("—".into(), yuan),
            cast.server
        ),
    );
    Ok(())
}

/// The procurement tender: the committee registers its keys so anyone can seal a bid on
/// it (in the browser too), and opens what came in at the deadline.
pub async fn play_procurement(cast: &Cast, trade: &str) -> anyhow::Result<()> {
    const PART: &str = "procurement";
    committee::register_keys(cast, PART, trade).await?;
    let view = cast.trade(trade).await?;
    if view["phase"] == "bidding" {
        say(
            PART,
            format!(
                "the committee is ready: sign in as a demo bidder and seal a bid at {}/#/trades/{trade}/bid before {}",
                cast.server,
                view["bid_deadline"].as_str().unwrap_or("?")
            ),
        );
    }
    let hall = cast.get(&format!("/api/v1/trades/{trade}/opening")).await?;
    if !hall["opening"].is_null() {
        return Ok(());
    }
    committee::wait_for_window(cast, trade).await?;
    let opening = committee::open(cast, PART, trade).await?;
    let record = &opening["record"];
    say(
        PART,
        format!(
            "opened at its deadline: {} bid(s), {} valid, outcome {}{}",
            record["bids"].as_array().map_or(0, Vec::len),
            record["valid_bids"],
            record["outcome"].as_str().unwrap_or("?"),
            record["reason"]
                .as_str()
                .map_or(String::new(), |r| format!(" ({r})"))
        ),
    );
    Ok(())
}
