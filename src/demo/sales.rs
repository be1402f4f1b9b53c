//! The demo's live sales, played through the public API with the same client code as
//! `tradehall custodian`, `tradehall reserve` and `tradehall quote`: where the procedure
//! seals its reserve price (land, mining) the custodians register their keys and the
//! centre seals the reserve to them; the demo bidders apply, the centre qualifies them,
//! the DEV ONLY bank reports their deposits; they quote until each reaches its limit and
//! the countdown runs out; then two custodians open the reserve, which decides the result.

use std::time::Duration;

use anyhow::{anyhow, Context as _};
use serde_json::{json, Value};

use super::bank;
use super::cast::{parse_time, refused_with, say, yuan, Cast};
use super::committee;
use crate::crypto::pki::DevIdentity;
use crate::domain::money::Money;

/// How a demo sale is played.
pub struct SalePlan {
    /// The part of the demo, for its lines on the terminal.
    pub part: &'static str,
    /// The bidders, each with how many increments above the start price it will go.
    pub bidders: &'static [(&'static str, i64)],
    /// The reserve price the centre seals, in increments above the start price; `None`
    /// where the procedure publishes its reserve (a state asset's listing price).
    pub reserve_steps: Option<i64>,
    /// How many quotes the bidders make in the listing period before they wait for timed
    /// bidding.
    pub listing_quotes: usize,
}

/// The demo land listing: three bidders, the reserve passed: sold.
pub const LAND: SalePlan = SalePlan {
    part: "land",
    bidders: &[("bidder-1", 9), ("bidder-2", 14), ("bidder-3", 6)],
    reserve_steps: Some(8),
    listing_quotes: 2,
};

/// The demo state-asset transfer: two buyers after the disclosure, online dynamic bidding
/// (网络竞价) from the public listing price: sold.
pub const STATE_ASSET: SalePlan = SalePlan {
    part: "state asset",
    bidders: &[("bidder-4", 5), ("bidder-5", 7)],
    reserve_steps: None,
    listing_quotes: 0,
};

/// The demo mining right: one bidder quotes the start price, the sealed reserve is above
/// it: not sold (流拍), and the reason is public.
pub const MINING: SalePlan = SalePlan {
    part: "mining",
    bidders: &[("bidder-2", 0)],
    reserve_steps: Some(3),
    listing_quotes: 1,
};

fn amount(view: &Value, field: &str) -> anyhow::Result<i64> {
    view[field]
        .as_i64()
        .ok_or_else(|| anyhow!("the sale has no {field}"))
}

/// A bank account of the demo's bidder `who` for sale `part`.
fn account(part: &str, who: &DevIdentity) -> String {
    let n: u32 = who
        .name
        .bytes()
        .chain(part.bytes())
        .fold(0, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    format!("62220203{n:011}")
}

/// Plays the sale `trade` from wherever it is to its result; returns the result.
pub async fn play(cast: &Cast, trade: &str, plan: &SalePlan) -> anyhow::Result<Value> {
    let part = plan.part;
    let view = cast.trade(trade).await?;
    if let Some(steps) = plan.reserve_steps {
        seal_reserve(cast, trade, &view, steps, part).await?;
    }
    let sale_path = format!("/api/v1/trades/{trade}/sale");
    if view["status"] == "published" && before(cast, &view["bid_deadline"]).await? {
        say(
            part,
            format!(
                "{} — applications and deposits until {}",
                view["title"].as_str().unwrap_or(trade),
                view["bid_deadline"].as_str().unwrap_or("?")
            ),
        );
        for (who, _) in plan.bidders {
            apply(cast, trade, &view, cast.named(who)?, part).await?;
        }
    }
    let view = cast
        .wait_for(&sale_path, |v| {
            !matches!(v["phase"].as_str(), Some("announced" | "disclosure"))
        })
        .await?;
    if view["result"].is_null() {
        say(
            part,
            format!(
                "quoting is open ({}): start price {}, increment {}",
                view["phase"].as_str().unwrap_or("?"),
                yuan(amount(&view["rules"], "start_price")?),
                yuan(amount(&view["rules"], "increment")?)
            ),
        );
        bid_until_the_end(cast, trade, plan).await?;
    }
    if cast.get(&sale_path).await?["phase"] == "reserve" {
        say(
            part,
            "quoting has ended: the best quote waits for the sealed reserve price, which two custodians now open",
        );
        let opening = committee::open(cast, part, trade).await?;
        if let Some(reason) = opening["record"]["reason"].as_str() {
            say(part, format!("the reserve is open: {reason}"));
        }
    }
    let view = cast
        .wait_for(&sale_path, |v| !v["result"].is_null())
        .await?;
    let result = view["result"].clone();
    match result["outcome"].as_str() {
        Some("sold") => say(
            part,
            format!(
                "sold (成交) to bidder {} at {} after {} quote(s); the others' deposits go back",
                result["bidder_number"].as_str().unwrap_or("?"),
                yuan(result["amount"].as_i64().unwrap_or_default()),
                view["quotes"].as_array().map_or(0, Vec::len)
            ),
        ),
        _ => say(
            part,
            format!(
                "not sold (流拍): {}; every deposit goes back",
                result["reason"].as_str().unwrap_or("?")
            ),
        ),
    }
    let money = bank::settled(cast, trade).await?;
    let converted = money["balance"]["converted"].as_i64().unwrap_or_default();
    say(
        part,
        format!(
            "settled: {} of deposits paid back{}. Check the sale: tradehall replay --server {} --trade {trade}",
            yuan(money["balance"]["refunded"].as_i64().unwrap_or_default()),
            if converted > 0 {
                format!(", the winner's {} counts toward the price", yuan(converted))
            } else {
                String::new()
            },
            cast.server
        ),
    );
    Ok(result)
}

/// Whether the server's clock is still before `instant` (RFC 3339).
async fn before(cast: &Cast, instant: &Value) -> anyhow::Result<bool> {
    let at = parse_time(instant).with_context(|| format!("not a time: {instant}"))?;
    Ok(cast.server_time().await? < at)
}

/// The committee registers its keys and the centre seals the reserve price to it, once,
/// before the sale starts.
async fn seal_reserve(
    cast: &Cast,
    trade: &str,
    view: &Value,
    steps: i64,
    part: &str,
) -> anyhow::Result<()> {
    committee::register_keys(cast, part, trade).await?;
    if cast.get(&format!("/api/v1/trades/{trade}/reserve")).await?["sealed"] == true {
        return Ok(());
    }
    let reserve =
        amount(&view["live"], "start_price")? + steps * amount(&view["live"], "increment")?;
    let officer = cast.named("officer")?;
    let sealed = crate::client::reserve::seal_and_submit(
        &cast.credentials(officer),
        trade,
        Money::new(reserve)?,
    )
    .await
    .context("sealing the reserve price")?;
    say(
        part,
        format!(
            "the centre sealed the reserve price (底价) to the committee (envelope {}…): nobody can read it before the close",
            sealed["envelope_sha256"].as_str().unwrap_or("?").get(..12).unwrap_or("?")
        ),
    );
    cast.pause().await;
    Ok(())
}

/// `who` applies naming its account, the centre qualifies it, the bank reports its
/// deposit; it draws a bidder number.
async fn apply(
    cast: &Cast,
    trade: &str,
    view: &Value,
    who: &DevIdentity,
    part: &str,
) -> anyhow::Result<()> {
    let me = cast.session(who).await?;
    let mine_path = format!("/api/v1/trades/{trade}/applications/mine");
    let account = account(part, who);
    let application = match me.get(&mine_path).await {
        Ok(application) => application,
        Err(e) if refused_with(&e, &["application_not_found"]) => me
            .post(
                &format!("/api/v1/trades/{trade}/applications"),
                &json!({ "payer_account": account, "payer_name": who.organization }),
            )
            .await
            .with_context(|| format!("{} applying", who.name))?,
        Err(e) => return Err(e),
    };
    if application["status"] == "pending" {
        let id = application["id"].as_str().context("no application id")?;
        let centre = cast.session(cast.named("officer")?).await?;
        match centre
            .post(
                &format!("/api/v1/applications/{id}/qualify"),
                &json!({ "reason": "资格审查通过 (DEMO)" }),
            )
            .await
        {
            Ok(_) => {}
            Err(e) if refused_with(&e, &["application_not_pending"]) => {}
            Err(e) => return Err(e),
        }
    }
    let booked_at = view["published_at"].as_str().context("not published")?;
    let bond = amount(view, "bond_amount")?;
    let paid = bank::pay_deposit(cast, trade, &account, &who.organization, bond, booked_at).await?;
    let mine = me.get(&mine_path).await?;
    if paid["repeated"] != true {
        say(
            part,
            format!(
                "{} applied, was qualified, and its deposit of {} is {}: bidder number {}",
                who.organization,
                yuan(bond),
                paid["outcome"].as_str().unwrap_or("?"),
                mine["bidder_number"].as_str().unwrap_or("?")
            ),
        );
        cast.pause().await;
    }
    Ok(())
}

/// The bidders outbid each other until each has reached its limit and the sale moves on.
async fn bid_until_the_end(cast: &Cast, trade: &str, plan: &SalePlan) -> anyhow::Result<()> {
    let sale_path = format!("/api/v1/trades/{trade}/sale");
    let mut bidders = Vec::new();
    for (name, limit) in plan.bidders {
        let who = cast.named(name)?;
        let number = cast
            .session(who)
            .await?
            .get(&format!("/api/v1/trades/{trade}/applications/mine"))
            .await?["bidder_number"]
            .as_str()
            .map(str::to_owned);
        bidders.push((who, *limit, number));
    }
    loop {
        let view = cast.get(&sale_path).await?;
        if !view["result"].is_null() || view["phase"] == "reserve" {
            return Ok(());
        }
        let phase = view["phase"].as_str().unwrap_or_default().to_owned();
        let quotes = view["quotes"].as_array().map_or(0, Vec::len);
        let quoting = matches!(phase.as_str(), "listing" | "free_quote" | "timed")
            && !(phase == "listing" && quotes >= plan.listing_quotes);
        let best = view["best"]["bidder_number"].as_str().map(str::to_owned);
        let start = amount(&view["rules"], "start_price")?;
        let step = amount(&view["rules"], "increment")?;
        let next = amount(&view, "next_minimum")?;
        let n = bidders.len();
        let turn = (0..n).map(|k| (quotes + k) % n).find(|&i| {
            let (_, limit, number) = &bidders[i];
            number.is_some() && start + limit * step >= next && best.as_ref() != number.as_ref()
        });
        let Some(i) = turn.filter(|_| quoting) else {
            tokio::time::sleep(Duration::from_millis(250)).await;
            continue;
        };
        let (who, _, _) = bidders[i];
        let id = format!("demo-{}-{}-{quotes}", plan.part.replace(' ', "-"), who.name);
        let quoted = cast
            .session(who)
            .await?
            .post(
                &format!("/api/v1/trades/{trade}/quotes"),
                &json!({ "client_quote_id": id, "amount": next }),
            )
            .await;
        match quoted {
            Ok(a) => say(
                plan.part,
                format!(
                    "[{phase}] bidder {} quotes {}{}",
                    a["bidder_number"].as_str().unwrap_or("?"),
                    yuan(next),
                    a["remaining_ms"]
                        .as_i64()
                        .map_or(String::new(), |ms| format!(" — countdown {} s", ms / 1000))
                ),
            ),
            // Someone else was faster, the phase moved on, or the trade is suspended:
            // look again.
            Err(e) => say(plan.part, format!("a quote was refused: {e}")),
        }
        // Between quotes a fifth of the countdown, so watchers see it restart.
        let countdown = view["rules"]["countdown_seconds"].as_u64().unwrap_or(15);
        tokio::time::sleep(Duration::from_millis(countdown * 200)).await;
    }
}
