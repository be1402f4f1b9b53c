//! The demo's supervisor (行政监督) acts as one would: it suspends the state-asset
//! transfer once its applications have closed, to look into an objection to the title,
//! and resumes it with the time given back; and when the tender's opening raises risk
//! alerts, it takes the most severe one through its workflow (分办, 处置, 反馈: assigned,
//! handled, closed), each step with its note.

use std::time::Duration;

use anyhow::Context as _;
use serde_json::{json, Value};

use super::cast::{parse_time, say, Cast};
use crate::client::session::Session;

const PART: &str = "supervisor";

/// How long the supervisor keeps the sale suspended, in statutory days of its clock.
const SUSPENDED_DAYS: u64 = 2;

/// Plays the supervisor's part: the intervention on `asset`, then an alert of `tender`.
pub async fn play(cast: &Cast, tender: &str, asset: &str) -> anyhow::Result<()> {
    let me = cast.session(cast.named("supervisor")?).await?;
    intervene(cast, &me, asset).await?;
    handle_an_alert(cast, &me, tender).await
}

/// Suspends `trade` after its applications have closed, and resumes it.
async fn intervene(cast: &Cast, me: &Session, trade: &str) -> anyhow::Result<()> {
    if cast.logged(trade, "trade.resumed").await? {
        return Ok(());
    }
    let mut view = cast.trade(trade).await?;
    if view["status"] != "suspended" {
        cast.wait_until(&view["bid_deadline"]).await?;
        let sale = cast.get(&format!("/api/v1/trades/{trade}/sale")).await?;
        if view["status"] != "published" || !sale["result"].is_null() {
            return Ok(());
        }
        view = me
            .post(
                &format!("/api/v1/trades/{trade}/suspend"),
                &json!({ "reason": "收到转让标的权属异议, 暂停交易进行核查 (DEMO)" }),
            )
            .await
            .context("suspending the state-asset transfer")?;
        say(
            PART,
            "suspended the state-asset transfer (暂停) to look into an objection to the title: no quote, no timer until it resumes",
        );
    }
    let scale = view["time_scale"].as_u64().unwrap_or(1).max(1);
    let hold = Duration::from_millis(SUSPENDED_DAYS * 86_400_000 / scale);
    let since = parse_time(&view["suspended_at"]).unwrap_or(cast.server_time().await?);
    let held = (cast.server_time().await? - since)
        .to_std()
        .unwrap_or_default();
    tokio::time::sleep(hold.saturating_sub(held)).await;
    let resumed = me
        .post(
            &format!("/api/v1/trades/{trade}/resume"),
            &json!({ "reason": "经核查转让标的权属清晰, 恢复交易, 剩余时间顺延 (DEMO)" }),
        )
        .await
        .context("resuming the state-asset transfer")?;
    say(
        PART,
        format!(
            "resumed it (恢复) with the suspended time given back: the disclosure now ends {}",
            resumed["live"]["ends_at"].as_str().unwrap_or("?")
        ),
    );
    Ok(())
}

/// Red first, then orange, then yellow.
fn severity_rank(alert: &Value) -> u8 {
    match alert["severity"].as_str() {
        Some("red") => 0,
        Some("orange") => 1,
        _ => 2,
    }
}

/// Takes the most severe alert of `tender`'s opening from open to closed.
async fn handle_an_alert(cast: &Cast, me: &Session, tender: &str) -> anyhow::Result<()> {
    cast.wait_for(&format!("/api/v1/trades/{tender}/opening"), |h| {
        !h["opening"].is_null()
    })
    .await?;
    // The risk rules run at the opening; every read of the alerts is itself logged, so
    // look a few times, not constantly.
    let mut alerts = Vec::new();
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let found = me.get(&format!("/api/v1/alerts?trade={tender}")).await?;
        alerts = found["alerts"].as_array().cloned().unwrap_or_default();
        if !alerts.is_empty() {
            break;
        }
    }
    alerts.sort_by_key(|a| {
        (
            severity_rank(a),
            a["raised_seq"].as_i64().unwrap_or_default(),
        )
    });
    let Some(alert) = alerts.first() else {
        say(PART, "the tender's opening raised no alert");
        return Ok(());
    };
    let id = alert["id"].as_str().unwrap_or_default().to_owned();
    if alert["status"] == "open" {
        say(
            PART,
            format!(
                "the opening raised {} alert(s); the worst, {} ({}): {}",
                alerts.len(),
                alert["rule"].as_str().unwrap_or("?"),
                alert["severity"].as_str().unwrap_or("?"),
                alert["summary"].as_str().unwrap_or("?")
            ),
        );
    }
    let steps = [
        ("open", "assign", "分办: 由本人核查投标文件制作环境及投标人关联关系 (DEMO)"),
        ("assigned", "handle", "处置: 已调取各投标人的登录与投标记录; 演示环境中全部投标人在同一台机器上操作, 非串通投标 (DEMO)"),
        ("handled", "close", "反馈: 预警不成立, 评标继续 (DEMO)"),
    ];
    let mut status = alert["status"].as_str().unwrap_or_default().to_owned();
    for (from, step, note) in steps {
        if status != from {
            continue;
        }
        cast.pause().await;
        cast.pause().await;
        let mut body = json!({ "note": note });
        if step == "assign" {
            body["assignee"] = json!(me.identity_id());
        }
        me.post(&format!("/api/v1/alerts/{id}/{step}"), &body)
            .await
            .with_context(|| format!("the alert's step {step}"))?;
        status = match step {
            "assign" => "assigned",
            "handle" => "handled",
            _ => "closed",
        }
        .to_owned();
        say(PART, format!("alert {status}: {note}"));
    }
    Ok(())
}
