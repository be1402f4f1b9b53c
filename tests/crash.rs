//! Crash safety with a real server process: `kill -9` in the middle of a burst of
//! concurrent submissions loses no acknowledged bid and leaves nothing half-written
//! visible; after a restart the round opens and every acknowledged bid verifies.

mod common;

use common::{free_port, get, wait_up};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tradehall::client::bid::{self, Credentials, SealOptions};
use tradehall::client::custodian;
use tradehall::crypto::pki::{load_dev_pki, DevPkiLayout};
use tradehall::crypto::receipt::Receipt;
use tradehall::domain::money::Money;
use tradehall::domain::opening::SignedRecord;

const PASSPHRASE: &str = "crash-test-passphrase";

/// The demo server without its automatic actors; its tender's deadline is 30 statutory
/// days at 86,400×, 30 seconds after it was first seeded.
fn start(dir: &Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_tradehall"))
        .args(["demo", "--manual", "--tender-time-scale", "86400"])
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn path(layout: &DevPkiLayout, p: &Path) -> PathBuf {
    layout.dir.join(p)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_during_a_burst_of_submissions_loses_no_acknowledged_bid() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path().join("data");
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap_or_else(|e| panic!("{e}"));
    let port = free_port();
    let server = format!("http://127.0.0.1:{port}");
    let mut child = start(&data, port);
    wait_up(&server).await;
    let layout = load_dev_pki(&data.join("pki")).unwrap_or_else(|e| panic!("{e}"));
    let trades = get(format!("{server}/api/v1/trades")).await;
    let tender = trades["trades"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["kind"] == "construction_tender")
        .unwrap_or_else(|| panic!("no demo tender in {trades}"));
    let trade = tender["id"].as_str().unwrap_or_default().to_owned();
    let deadline =
        chrono::DateTime::parse_from_rfc3339(tender["bid_deadline"].as_str().unwrap_or(""))
            .unwrap_or_else(|e| panic!("{e}"));

    let custodians: Vec<_> = layout
        .identities
        .iter()
        .filter(|i| i.role == "custodian")
        .cloned()
        .collect();
    for c in &custodians {
        custodian::keygen(
            &server,
            &trade,
            &path(&layout, &c.cert_path),
            &path(&layout, &c.key_path),
            &work.join(format!("{}.key", c.name)),
            PASSPHRASE,
        )
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    }

    // Five bidders replace their bids as fast as they can, all at once.
    let acknowledged: Arc<Mutex<Vec<(String, Receipt)>>> = Arc::default();
    let mut tasks = Vec::new();
    for (n, b) in layout
        .identities
        .iter()
        .filter(|i| i.role == "bidder")
        .cloned()
        .enumerate()
    {
        let (server, trade, work, acknowledged) = (
            server.clone(),
            trade.clone(),
            work.clone(),
            acknowledged.clone(),
        );
        let (cert, key) = (path(&layout, &b.cert_path), path(&layout, &b.key_path));
        tasks.push(tokio::spawn(async move {
            for i in 0.. {
                let envelope = work.join(format!("{}-{i}.sealed", b.name));
                let price = 1_000_000_000 + (n as i64) * 1_000_000 + i;
                let sealed = bid::seal(&SealOptions {
                    server: server.clone(),
                    trade: trade.clone(),
                    price: Money::new(price).unwrap_or_else(|e| panic!("{e}")),
                    lots: vec!["1".into()],
                    files: vec![],
                    cert: cert.clone(),
                    key: key.clone(),
                    out: envelope.clone(),
                })
                .await;
                if sealed.is_err() {
                    return;
                }
                let credentials = Credentials {
                    server: &server,
                    cert: &cert,
                    key: &key,
                };
                match bid::submit(&credentials, &envelope, &envelope.with_extension("receipt"))
                    .await
                {
                    Ok(receipt) => acknowledged
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push((b.name.clone(), receipt)),
                    Err(_) => return,
                }
            }
        }));
    }
    let started = Instant::now();
    while acknowledged
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .len()
        < 15
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the burst is too slow"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // SIGKILL while submissions are in flight.
    child.kill().unwrap_or_else(|e| panic!("{e}"));
    let _ = child.wait();
    for t in tasks {
        let _ = t.await;
    }
    let acknowledged = acknowledged
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();

    let mut child = start(&data, port);
    wait_up(&server).await;
    // Every acknowledged bid is in the log.
    for (_, receipt) in &acknowledged {
        let events = get(format!(
            "{server}/api/v1/events?after={}&limit=1",
            receipt.log_index - 1
        ))
        .await;
        let entry = &events["events"][0]["entry"];
        assert_eq!(entry["kind"], "bid.received", "{events}");
        assert_eq!(
            entry["data"]["commitment"],
            receipt.blinded_commitment.as_str()
        );
    }
    // Each bidder's active bid is its last acknowledged one, or a later one whose answer
    // the crash cut off.
    for b in layout.identities.iter().filter(|i| i.role == "bidder") {
        let Some(last) = acknowledged
            .iter()
            .filter(|(n, _)| n == &b.name)
            .map(|(_, r)| r)
            .max_by_key(|r| r.log_index)
        else {
            continue;
        };
        let active = bid::status(
            &Credentials {
                server: &server,
                cert: &path(&layout, &b.cert_path),
                key: &path(&layout, &b.key_path),
            },
            &trade,
        )
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
        let index = active["log_index"].as_i64().unwrap_or_default();
        assert!(
            index > last.log_index
                || (index == last.log_index
                    && active["envelope_sha256"] == last.envelope_sha256.as_str()),
            "{}'s acknowledged bid is not its active bid after the crash",
            b.name
        );
    }

    // After the deadline the committee opens the round the crash interrupted.
    let wait = (deadline.with_timezone(&chrono::Utc) - chrono::Utc::now())
        .to_std()
        .unwrap_or_default();
    tokio::time::sleep(wait + Duration::from_millis(500)).await;
    let mut record = None;
    for c in [&custodians[0], &custodians[2]] {
        let outcome = custodian::open(
            &server,
            &trade,
            &path(&layout, &c.cert_path),
            &path(&layout, &c.key_path),
            &work.join(format!("{}.key", c.name)),
            PASSPHRASE,
            None,
        )
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
        if !outcome.answer["opening"].is_null() {
            record = Some(outcome.answer["opening"].clone());
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let signed: SignedRecord = serde_json::from_value(record.unwrap_or_default())
        .unwrap_or_else(|e| panic!("the opening did not complete: {e}"));
    let record = signed.record;
    // Every opened bid is whole and valid; nothing half-written was taken in.
    assert!(record.bids.iter().all(|b| b.valid), "{record:?}");
    // Each bidder's last acknowledged bid counts, or a later one whose answer the crash cut.
    let bidders: std::collections::BTreeSet<&String> =
        acknowledged.iter().map(|(name, _)| name).collect();
    assert!(record.bids.len() >= bidders.len());
    for name in bidders {
        let last = acknowledged
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, r)| r)
            .max_by_key(|r| r.log_index)
            .unwrap_or_else(|| panic!("no receipt"));
        let opened = record
            .bids
            .iter()
            .find(|b| b.organization.usci == usci_of(&layout, name))
            .unwrap_or_else(|| panic!("{name}'s acknowledged bid is missing from the opening"));
        assert!(
            opened.log_index > last.log_index
                || (opened.log_index == last.log_index
                    && opened.envelope_sha256 == last.envelope_sha256),
            "{name}'s last acknowledged bid was lost"
        );
    }
    println!(
        "{} acknowledged submissions before kill -9; {} bids opened after restart",
        acknowledged.len(),
        record.bids.len()
    );
}

fn usci_of(layout: &DevPkiLayout, name: &str) -> String {
    layout
        .identities
        .iter()
        .find(|i| i.name == name)
        .map(|i| i.usci.to_string())
        .unwrap_or_default()
}
