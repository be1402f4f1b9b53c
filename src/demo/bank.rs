//! The DEV ONLY bank of the demo (`DEVBANK`): it reports the bonds and deposits the demo
//! bidders pay, and it takes the refund instructions the platform gives it and pays them,
//! over the same signed bank API a real bank uses (docs/api.md, "Deposits and refunds").
//!
//! A bank keeps its own books: every notification has the bank's own transaction id and
//! booking time, so a notification sent again after a restart is the same one and the
//! platform answers it as a repeat. The bank numbers its refund claims in
//! `<work>/bank.json`.

use std::time::Duration;

use anyhow::Context as _;
use serde_json::{json, Value};

use super::cast::{say, yuan, Cast};
use crate::crypto::pki::DevIdentity;

const PART: &str = "bank";

/// A tender's bond (投标保证金) for `bidder`, paid from `account` and booked at
/// `booked_at` (before the deadline).
pub async fn pay_bond(
    cast: &Cast,
    trade: &str,
    bidder: &DevIdentity,
    account: &str,
    amount: i64,
    booked_at: &str,
) -> anyhow::Result<Value> {
    let usci = bidder.usci.as_str();
    cast.bank(
        "/api/v1/bank/notifications",
        &json!({
            "bank_txn_id": txn_id("BOND", trade, usci),
            "kind": "bond",
            "trade": trade,
            "payer_account": account,
            "payer_name": bidder.organization,
            "bidder_usci": usci,
            "amount": amount,
            "booked_at": booked_at,
        }),
    )
    .await
    .context("the bank reporting a bond")
}

/// A live sale's deposit (竞买保证金) from `account`, booked at `booked_at`.
pub async fn pay_deposit(
    cast: &Cast,
    trade: &str,
    account: &str,
    payer: &str,
    amount: i64,
    booked_at: &str,
) -> anyhow::Result<Value> {
    cast.bank(
        "/api/v1/bank/notifications",
        &json!({
            "bank_txn_id": txn_id("DEPOSIT", trade, account),
            "kind": "deposit",
            "trade": trade,
            "payer_account": account,
            "payer_name": payer,
            "amount": amount,
            "booked_at": booked_at,
        }),
    )
    .await
    .context("the bank reporting a deposit")
}

/// The trade's money as the centre sees it, once it is settled: nothing held, every
/// refund paid.
pub async fn settled(cast: &Cast, trade: &str) -> anyhow::Result<Value> {
    let centre = cast.session(cast.named("officer")?).await?;
    loop {
        let money = centre.get(&format!("/api/v1/trades/{trade}/money")).await?;
        if money["settled"] == true {
            return Ok(money);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The bank's own transaction id: 1 to 64 letters, digits, `-` and `_`.
fn txn_id(kind: &str, trade: &str, party: &str) -> String {
    let trade: String = trade.chars().filter(char::is_ascii_alphanumeric).collect();
    format!(
        "DEMO-{kind}-{}-{party}",
        &trade[trade.len().saturating_sub(12)..]
    )
}

/// The number of the bank's next refund claim, from its books.
fn next_claim(cast: &Cast) -> u64 {
    std::fs::read(cast.work.join("bank.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| v["next_claim"].as_u64())
        .unwrap_or(1)
}

fn record_claim(cast: &Cast, next: u64) -> anyhow::Result<()> {
    std::fs::create_dir_all(&cast.work)?;
    let path = cast.work.join("bank.json");
    let fresh = cast.work.join("bank.json.new");
    std::fs::write(&fresh, json!({ "next_claim": next }).to_string())?;
    std::fs::rename(&fresh, &path).with_context(|| format!("writing {}", path.display()))
}

/// Takes the pending refund instructions with one claim and pays each. A claim the bank
/// made before a restart is made again first: the platform answers it with the same
/// instructions, and those already paid are answered as repeats.
async fn claim_and_pay(cast: &Cast) -> anyhow::Result<usize> {
    let n = next_claim(cast);
    let claim = cast
        .bank(
            "/api/v1/bank/refund-claims",
            &json!({ "claim_id": format!("DEVBANK-CLAIM-{n}") }),
        )
        .await
        .context("the bank claiming refunds")?;
    let refunds = claim["refunds"].as_array().cloned().unwrap_or_default();
    for refund in &refunds {
        let id = refund["id"].as_str().unwrap_or_default();
        let paid = cast
            .bank(
                "/api/v1/bank/notifications",
                &json!({
                    "bank_txn_id": format!("DEMO-REFUND-{}", id.replace('-', "")),
                    "kind": "refund",
                    "refund": id,
                    "trade": refund["trade_id"],
                    "payer_account": refund["account"],
                    "payer_name": refund["account_name"]
                        .as_str()
                        .filter(|n| !n.trim().is_empty())
                        .unwrap_or("DEVBANK 退款账户"),
                    "amount": refund["amount"],
                    "booked_at": refund["sent_at"],
                }),
            )
            .await
            .context("the bank reporting a refund")?;
        if paid["repeated"] != true {
            say(
                PART,
                format!(
                    "paid back {} to account {} ({}): {}",
                    yuan(refund["amount"].as_i64().unwrap_or_default()),
                    refund["account"].as_str().unwrap_or("?"),
                    refund["reason"].as_str().unwrap_or("?"),
                    paid["outcome"].as_str().unwrap_or("?")
                ),
            );
        }
    }
    record_claim(cast, n + 1)?;
    Ok(refunds.len())
}

/// Runs the bank's refund desk for as long as the demo runs: a claim every few seconds,
/// every instruction it takes paid at once.
pub async fn run(cast: Cast) {
    loop {
        match claim_and_pay(&cast).await {
            Ok(0) => tokio::time::sleep(Duration::from_secs(3)).await,
            Ok(_) => {}
            Err(e) => {
                say(PART, format!("will try again: {e:#}"));
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    }
}
