//! The demo land listing's automatic participants. The custodians register their keys
//! and the demo trading centre seals the reserve price to them. Three demo bidders
//! apply, the centre qualifies them, and the DEV ONLY bank reports their deposits. They
//! quote in the listing, which goes into timed bidding, and they outbid each other until
//! each reaches its limit and the countdown runs out. Two custodians then open the
//! reserve, which decides the result. All of it goes through the public API, with the
//! same client code as `tradehall custodian`, `tradehall reserve` and `tradehall quote`.

use anyhow::{anyhow, Context as _};
use serde_json::{json, Value};
use std::time::Duration;

use super::actors::{of_role, path_of, say, two_custodians_open, wait_until_up, DEMO_PASSPHRASE};
use crate::client::custodian;
use crate::client::quote::quote;
use crate::client::session::{login, Credentials, Session};
use crate::crypto::bank_signature;
use crate::crypto::pki::{DevIdentity, DevPkiLayout};
use crate::domain::money::Money;
use crate::server::DEV_BANK;

/// How many increments above the start price each demo bidder will go.
const LIMITS: [i64; 3] = [9, 14, 6];

/// The sealed reserve price, in increments above the start price: the bidding passes it.
const RESERVE_STEPS: i64 = 8;

async fn sale(server: &str, trade: &str) -> anyhow::Result<Value> {
    Ok(reqwest::get(format!("{server}/api/v1/trades/{trade}/sale"))
        .await?
        .error_for_status()?
        .json()
        .await?)
}

/// Polls the sale until `done` holds for it.
async fn wait_for(
    server: &str,
    trade: &str,
    done: impl Fn(&Value) -> bool,
) -> anyhow::Result<Value> {
    loop {
        let view = sale(server, trade).await?;
        if done(&view) {
            return Ok(view);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn amount(view: &Value, field: &str) -> anyhow::Result<i64> {
    view[field]
        .as_i64()
        .ok_or_else(|| anyhow!("the sale has no {field}"))
}

fn yuan(minor: i64) -> String {
    Money::new(minor).map_or_else(|_| minor.to_string(), |m| format!("{m} 元"))
}

fn credentials(
    server: &str,
    layout: &DevPkiLayout,
    who: &DevIdentity,
) -> (String, std::path::PathBuf, std::path::PathBuf) {
    (
        server.to_owned(),
        path_of(layout, &who.cert_path),
        path_of(layout, &who.key_path),
    )
}

async fn session(
    server: &str,
    layout: &DevPkiLayout,
    who: &DevIdentity,
) -> anyhow::Result<Session> {
    let (server, cert, key) = credentials(server, layout, who);
    login(&Credentials {
        server: &server,
        cert: &cert,
        key: &key,
    })
    .await
    .with_context(|| format!("{} logging in", who.name))
}

/// The DEV ONLY bank reports a deposit.
async fn deposit(server: &str, secret: &[u8], body: &Value) -> anyhow::Result<Value> {
    let body = serde_json::to_vec(body)?;
    let timestamp = chrono::Utc::now().timestamp().to_string();
    let signature = bank_signature::sign(secret, &timestamp, &body);
    Ok(reqwest::Client::new()
        .post(format!("{server}/api/v1/bank/notifications"))
        .header("X-Bank-Id", DEV_BANK)
        .header("X-Bank-Timestamp", timestamp)
        .header("X-Bank-Signature", signature)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?)
}

/// The custodians register their keys for the listing, and the centre seals the
/// reserve price to them before the listing starts.
async fn seal_reserve(
    server: &str,
    layout: &DevPkiLayout,
    trade: &Value,
    work: &std::path::Path,
) -> anyhow::Result<()> {
    let id = trade["id"].as_str().context("no trade id")?;
    std::fs::create_dir_all(work)?;
    for c in of_role(layout, "custodian") {
        custodian::keygen(
            server,
            id,
            &path_of(layout, &c.cert_path),
            &path_of(layout, &c.key_path),
            &work.join(format!("{}.key", c.name)),
            DEMO_PASSPHRASE,
        )
        .await
        .with_context(|| format!("{} registering its key for the listing", c.name))?;
    }
    let officer = of_role(layout, "trading_centre")
        .next()
        .context("no demo trading centre")?;
    let (server, cert, key) = credentials(server, layout, officer);
    let reserve = amount(&trade["live"], "start_price")?
        + RESERVE_STEPS * amount(&trade["live"], "increment")?;
    let sealed = crate::client::reserve::seal_and_submit(
        &Credentials {
            server: &server,
            cert: &cert,
            key: &key,
        },
        id,
        Money::new(reserve)?,
    )
    .await
    .context("sealing the reserve price")?;
    say(format!(
        "the committee registered its keys; the centre sealed the reserve price to it (envelope {}…): nobody can read it before the close",
        sealed["envelope_sha256"].as_str().unwrap_or("?").get(..12).unwrap_or("?")
    ));
    Ok(())
}

/// Two of the three custodians open the sealed reserve once quoting has ended.
pub async fn open_reserve(
    server: &str,
    layout: &DevPkiLayout,
    trade: &str,
    work: &std::path::Path,
) -> anyhow::Result<()> {
    for (c, outcome) in two_custodians_open(server, layout, trade, work).await? {
        let record = &outcome.answer["opening"]["record"];
        if let Some(reason) = record["reason"].as_str() {
            say(format!("the reserve is open: {reason}"));
        } else {
            say(format!(
                "{} contributed its share of the reserve ({} of {})",
                c.name, outcome.answer["contributions"], outcome.answer["threshold"]
            ));
        }
    }
    Ok(())
}

/// Plays the land listing `trade` on `server` to its end; returns the sale's result.
/// `work` keeps the custodians' key stores for it.
pub async fn play(
    server: &str,
    layout: &DevPkiLayout,
    trade: &str,
    bank_secret: &[u8],
    work: &std::path::Path,
) -> anyhow::Result<Value> {
    wait_until_up(server).await?;
    let officer = of_role(layout, "trading_centre")
        .next()
        .context("no demo trading centre")?;
    let centre = session(server, layout, officer).await?;
    let bidders: Vec<&DevIdentity> = of_role(layout, "bidder").take(LIMITS.len()).collect();
    let trade_view: Value = reqwest::get(format!("{server}/api/v1/trades/{trade}"))
        .await?
        .error_for_status()?
        .json()
        .await?;
    seal_reserve(server, layout, &trade_view, work).await?;
    let bond = trade_view["bond_amount"].as_i64().context("no deposit")?;
    say(format!(
        "land listing: {} — applications and deposits until {}",
        trade_view["title"].as_str().unwrap_or(trade),
        trade_view["bid_deadline"].as_str().unwrap_or("?")
    ));
    let mut numbers = Vec::new();
    for (i, b) in bidders.iter().enumerate() {
        let account = format!("62220202{:011}", 7_000 + i);
        let me = session(server, layout, b).await?;
        let application = me
            .post(
                &format!("/api/v1/trades/{trade}/applications"),
                &json!({ "payer_account": account, "payer_name": b.organization }),
            )
            .await
            .with_context(|| format!("{} applying", b.name))?;
        let id = application["id"].as_str().context("no application id")?;
        centre
            .post(
                &format!("/api/v1/applications/{id}/qualify"),
                &json!({ "reason": "资格审查通过 (DEMO)" }),
            )
            .await?;
        let paid = deposit(
            server,
            bank_secret,
            &json!({
                "bank_txn_id": format!("DEMO-{trade}-{i}"),
                "kind": "deposit",
                "trade": trade,
                "payer_account": account,
                "payer_name": b.organization,
                "amount": bond,
                "booked_at": crate::domain::clock::rfc3339(chrono::Utc::now()),
            }),
        )
        .await?;
        let mine = me
            .get(&format!("/api/v1/trades/{trade}/applications/mine"))
            .await?;
        let number = mine["bidder_number"].as_str().unwrap_or("?").to_owned();
        say(format!(
            "{} applied, was qualified, and its deposit of {} is {}: bidder number {number}",
            b.organization,
            yuan(bond),
            paid["outcome"].as_str().unwrap_or("?"),
        ));
        numbers.push(number);
    }
    let view = wait_for(server, trade, |v| v["phase"] != "announced").await?;
    let start = amount(&view["rules"], "start_price")?;
    let step = amount(&view["rules"], "increment")?;
    let countdown = view["rules"]["countdown_seconds"].as_u64().unwrap_or(15);
    say(format!(
        "the listing is open: start price {}, increment {}; it ends {}",
        yuan(start),
        yuan(step),
        view["rules"]["ends_at"].as_str().unwrap_or("?")
    ));
    let limits: Vec<i64> = LIMITS.iter().map(|n| start + n * step).collect();
    let creds: Vec<_> = bidders
        .iter()
        .map(|b| credentials(server, layout, b))
        .collect();
    let mut quotes = 0_u32;
    // Between quotes, a fifth of the countdown: watchers see it restart.
    let pause = Duration::from_millis(countdown * 200);
    loop {
        let view = sale(server, trade).await?;
        if !view["result"].is_null() || view["phase"] == "reserve" {
            break;
        }
        let phase = view["phase"].as_str().unwrap_or_default().to_owned();
        let best = view["best"]["bidder_number"].as_str().map(str::to_owned);
        let next = amount(&view, "next_minimum")?;
        // In the listing, two bidders quote once each; in timed bidding, whoever is not
        // best and still under its limit raises.
        let n = creds.len();
        let bidder = (0..n).map(|k| (quotes as usize + k) % n).find(|&i| {
            let listing_done = phase == "listing" && quotes >= 2;
            !listing_done && limits[i] >= next && best.as_deref() != Some(numbers[i].as_str())
        });
        let Some(i) = bidder else {
            tokio::time::sleep(Duration::from_millis(250)).await;
            continue;
        };
        let (server, cert, key) = &creds[i];
        let id = format!("demo-{}-{quotes}", bidders[i].name);
        let answer = quote(
            &Credentials { server, cert, key },
            trade,
            Money::new(next)?,
            &id,
        )
        .await;
        match answer {
            Ok(a) => {
                quotes += 1;
                say(format!(
                    "[{phase}] bidder {} quotes {}{}",
                    a["bidder_number"].as_str().unwrap_or("?"),
                    yuan(next),
                    a["remaining_ms"]
                        .as_i64()
                        .map_or(String::new(), |ms| format!(" — countdown {} s", ms / 1000))
                ));
            }
            // Someone else was faster, or the phase moved on: look again.
            Err(e) => say(format!("a quote was refused: {e}")),
        }
        tokio::time::sleep(pause).await;
    }
    if sale(server, trade).await?["phase"] == "reserve" {
        say("the countdown ran out: the best quote waits for the reserve price, which two custodians now open");
        open_reserve(server, layout, trade, work).await?;
    }
    let view = wait_for(server, trade, |v| !v["result"].is_null()).await?;
    let result = view["result"].clone();
    match result["outcome"].as_str() {
        Some("sold") => say(format!(
            "sold to bidder {} at {} after {} quotes",
            result["bidder_number"].as_str().unwrap_or("?"),
            yuan(result["amount"].as_i64().unwrap_or_default()),
            view["quotes"].as_array().map_or(0, Vec::len)
        )),
        _ => say(format!("the sale ended unsold: {result}")),
    }
    say(format!(
        "the losers' deposits are instructed back; check it all: tradehall replay --server {server} --trade {trade}"
    ));
    Ok(result)
}
