//! The demo's automatic participants: the three custodians and five bidders of the DEV
//! ONLY PKI play the demo tender through the public API with the same client code as
//! `tradehall custodian …` and `tradehall bid …`, so a new user watches a whole
//! sealed-bid round: keys, sealed bids and receipts, the deadline, the opening, the reveal.

use anyhow::Context as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::client::bid::{self, Credentials, SealOptions};
use crate::client::custodian;
use crate::crypto::pki::{DevIdentity, DevPkiLayout};
use crate::domain::money::Money;
use crate::domain::opening::SignedRecord;

/// The key store passphrase of the demo custodians (DEV ONLY).
pub const DEMO_PASSPHRASE: &str = "demo-only-passphrase";

/// Demo prices in 分, one per bidder.
const PRICES: [i64; 5] = [
    1_158_000_000,
    1_132_500_000,
    1_176_000_000,
    1_145_800_000,
    1_169_900_000,
];

pub(super) fn say(line: impl AsRef<str>) {
    println!("[demo] {}", line.as_ref());
}

pub(super) fn path_of(layout: &DevPkiLayout, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        layout.dir.join(p)
    }
}

pub(super) fn of_role<'a>(
    layout: &'a DevPkiLayout,
    role: &'a str,
) -> impl Iterator<Item = &'a DevIdentity> {
    layout.identities.iter().filter(move |i| i.role == role)
}

pub(super) async fn wait_until_up(server: &str) -> anyhow::Result<()> {
    for _ in 0..300 {
        if reqwest::get(format!("{server}/healthz"))
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("the demo server did not come up")
}

async fn opening_phase(server: &str, trade: &str) -> anyhow::Result<serde_json::Value> {
    Ok(
        reqwest::get(format!("{server}/api/v1/trades/{trade}/opening"))
            .await?
            .error_for_status()?
            .json()
            .await?,
    )
}

/// The first and the last demo custodian (2 of 3) open their shares of `trade` with the
/// key stores in `work` and contribute them, in turn.
pub(super) async fn two_custodians_open<'a>(
    server: &str,
    layout: &'a DevPkiLayout,
    trade: &str,
    work: &Path,
) -> anyhow::Result<Vec<(&'a DevIdentity, custodian::OpenOutcome)>> {
    let custodians: Vec<&DevIdentity> = of_role(layout, "custodian").collect();
    let mut outcomes = Vec::new();
    for c in [custodians.first(), custodians.last()]
        .into_iter()
        .flatten()
    {
        let outcome = custodian::open(
            server,
            trade,
            &path_of(layout, &c.cert_path),
            &path_of(layout, &c.key_path),
            &work.join(format!("{}.key", c.name)),
            DEMO_PASSPHRASE,
            None,
        )
        .await
        .with_context(|| format!("{} contributing", c.name))?;
        outcomes.push((*c, outcome));
    }
    Ok(outcomes)
}

/// Plays the sealed-bid round of `trade` on the server at `server`; `work` holds the
/// custodians' key stores and the bidders' envelopes and receipts.
pub async fn play(
    server: &str,
    layout: &DevPkiLayout,
    trade: &str,
    work: &Path,
) -> anyhow::Result<SignedRecord> {
    wait_until_up(server).await?;
    std::fs::create_dir_all(work)?;
    let custodians: Vec<&DevIdentity> = of_role(layout, "custodian").collect();
    for c in &custodians {
        let keystore = work.join(format!("{}.key", c.name));
        let key_id = custodian::keygen(
            server,
            trade,
            &path_of(layout, &c.cert_path),
            &path_of(layout, &c.key_path),
            &keystore,
            DEMO_PASSPHRASE,
        )
        .await
        .with_context(|| format!("{} registering its key", c.name))?;
        say(format!(
            "{} ({}) registered its opening key {}…",
            c.name,
            c.organization,
            &key_id[..12]
        ));
    }
    for (b, price) in of_role(layout, "bidder").zip(PRICES) {
        let envelope = work.join(format!("{}.sealed", b.name));
        let (cert, key) = (path_of(layout, &b.cert_path), path_of(layout, &b.key_path));
        bid::seal(&SealOptions {
            server: server.to_owned(),
            trade: trade.to_owned(),
            price: Money::new(price)?,
            lots: vec!["1".into()],
            files: vec![],
            cert: cert.clone(),
            key: key.clone(),
            out: envelope.clone(),
        })
        .await
        .with_context(|| format!("{} sealing its bid", b.name))?;
        let credentials = Credentials {
            server,
            cert: &cert,
            key: &key,
        };
        let receipt = bid::submit(
            &credentials,
            &envelope,
            &work.join(format!("{}.receipt.json", b.name)),
        )
        .await
        .with_context(|| format!("{} submitting its bid", b.name))?;
        say(format!(
            "{} sealed and submitted a bid; receipt at log index {}, commitment {}…",
            b.organization,
            receipt.log_index,
            &receipt.blinded_commitment[..12]
        ));
    }
    let status = opening_phase(server, trade).await?;
    say(format!(
        "intake is open until the deadline {} (server time); nobody can read a bid before then",
        status["deadline"].as_str().unwrap_or("?")
    ));
    loop {
        let status = opening_phase(server, trade).await?;
        if status["phase"] != "bidding" {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    say("the deadline has passed: intake is closed and the opening window is open");
    // Two of the three custodians (2-of-3) open their shares on their own machines.
    let mut record = None;
    for (c, outcome) in two_custodians_open(server, layout, trade, work).await? {
        say(format!(
            "{} opened {} key shares and contributed them ({} of {})",
            c.name, outcome.opened, outcome.answer["contributions"], outcome.answer["threshold"]
        ));
        if !outcome.answer["opening"].is_null() {
            record = Some(serde_json::from_value::<SignedRecord>(
                outcome.answer["opening"].clone(),
            )?);
        }
    }
    let record = record.context("the opening did not complete")?;
    say(format!(
        "opened: {} of {} bids valid, outcome {} — all revealed at once:",
        record.record.valid_bids,
        record.record.bids.len(),
        record.record.outcome
    ));
    for b in &record.record.bids {
        say(format!(
            "  {:<28} {:>16} {}",
            b.organization.name,
            b.price
                .and_then(|p| Money::new(p).ok())
                .map_or("—".into(), |m| format!("{m} 元")),
            if b.valid {
                "valid".to_owned()
            } else {
                b.reason.clone().unwrap_or_default()
            }
        ));
    }
    say(format!(
        "the signed opening record: {server}/api/v1/trades/{trade}/opening"
    ));
    Ok(record)
}
