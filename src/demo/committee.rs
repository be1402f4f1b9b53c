//! The demo's opening committee: the three DEV ONLY custodians register their per-trade
//! keys, and two of them (2 of 3) open a trade's sealed bids or sealed reserve price,
//! each with the same client code as `tradehall custodian keygen` and `custodian open`.

use anyhow::Context as _;
use serde_json::Value;

use super::cast::{refused_with, say, Cast, DEMO_PASSPHRASE};
use crate::client::custodian;

/// Every custodian that has no key for `trade` yet generates one, keeps its private half
/// in its key store and registers the public half.
pub async fn register_keys(cast: &Cast, part: &str, trade: &str) -> anyhow::Result<()> {
    for c in cast.of_role("custodian") {
        let view = cast.trade(trade).await?;
        let me = cast.session(c).await?;
        let keystore = cast.keystore(c, trade);
        let registered = view["custodian_keys"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|k| k["custodian"] == me.identity_id());
        if registered {
            if !keystore.exists() {
                say(
                    part,
                    format!(
                        "{} registered a key for this trade but its key store {} is gone: it cannot open",
                        c.name,
                        keystore.display()
                    ),
                );
            }
            continue;
        }
        if let Some(dir) = keystore.parent() {
            std::fs::create_dir_all(dir)?;
        }
        // A key store left by a run stopped before its key was registered is useless.
        let _ = std::fs::remove_file(&keystore);
        let key_id = custodian::keygen(
            &cast.server,
            trade,
            &c.cert_path,
            &c.key_path,
            &keystore,
            DEMO_PASSPHRASE,
        )
        .await
        .with_context(|| format!("{} registering its key", c.name))?;
        say(
            part,
            format!(
                "{} ({}) registered its opening key {}…",
                c.name,
                c.organization,
                key_id.get(..12).unwrap_or(&key_id)
            ),
        );
        cast.pause().await;
    }
    Ok(())
}

/// The first and the last custodian (2 of 3) open what `trade` has sealed to them, in
/// turn, once its opening window is open; returns the signed opening record (`record`,
/// `signature`, `key_id`). A trade opened already is not opened again.
pub async fn open(cast: &Cast, part: &str, trade: &str) -> anyhow::Result<Value> {
    let custodians: Vec<_> = cast.of_role("custodian").collect();
    let openers = [custodians.first(), custodians.last()];
    for c in openers.into_iter().flatten() {
        let hall = cast.get(&format!("/api/v1/trades/{trade}/opening")).await?;
        if !hall["opening"].is_null() {
            break;
        }
        let outcome = custodian::open(
            &cast.server,
            trade,
            &c.cert_path,
            &c.key_path,
            &cast.keystore(c, trade),
            DEMO_PASSPHRASE,
            None,
        )
        .await;
        match outcome {
            Ok(outcome) => say(
                part,
                format!(
                    "{} opened {} key share(s) on its own machine and contributed them ({} of {})",
                    c.name,
                    outcome.opened,
                    outcome.answer["contributions"],
                    outcome.answer["threshold"]
                ),
            ),
            // Another run of the demo completed it in the meantime.
            Err(e) if refused_with(&e, &["opening_completed"]) => break,
            Err(e) => return Err(e.context(format!("{} contributing", c.name))),
        }
        cast.pause().await;
    }
    let hall = cast.get(&format!("/api/v1/trades/{trade}/opening")).await?;
    let opening = hall["opening"].clone();
    if opening.is_null() {
        anyhow::bail!("the opening did not complete: {hall}");
    }
    Ok(opening)
}

/// Waits until `trade`'s opening window is open (its deadline has passed).
pub async fn wait_for_window(cast: &Cast, trade: &str) -> anyhow::Result<Value> {
    cast.wait_for(&format!("/api/v1/trades/{trade}/opening"), |h| {
        h["phase"] != "bidding"
    })
    .await
}
