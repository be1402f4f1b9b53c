//! Fault injection with real server processes (docs/security.md, "Fault injection").
//!
//! - `kill -9` at random points of intake, of the opening and of sale timers, again and
//!   again, on SQLite and on PostgreSQL;
//! - the disk under the SQLite data directory filling up;
//! - the host clock stepping back, while running and across a restart.
//!
//! After each fault nothing acknowledged is lost, nothing half-done is visible, the log
//! still verifies from its first entry and is consistent with what a witness saw before
//! the fault, and the trade goes on (or the server refuses with a clear reason). Each test
//! adds the faults it survived to `target/fault-injection.txt`, which `.ci/run` prints.
//! (A PostgreSQL crash-restart in the middle of intake is in `tests/cluster.rs`.)

mod common;

use common::{free_port, get, report_faults, wait_up};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tradehall::client::bid::{self, Credentials, SealOptions};
use tradehall::client::custodian;
use tradehall::crypto::pki::{load_dev_pki, DevIdentity, DevPkiLayout};
use tradehall::crypto::receipt::Receipt;
use tradehall::domain::money::Money;
use tradehall::domain::opening::SignedRecord;

const PASSPHRASE: &str = "fault-test-passphrase";

/// A demo server process without its automatic actors. Its tender's deadline is 30
/// statutory days at 86,400× (unless set), 30 s after it was first seeded; its land
/// listing runs at 43,200× (unless set), and ends about a minute after seeding.
struct Demo {
    data: PathBuf,
    /// The tender's acceleration (86,400 unless set).
    tender_scale: u32,
    /// The land listing's acceleration (43,200 unless set).
    listing_scale: u32,
    port: u16,
    database_url: Option<String>,
    env: Vec<(String, String)>,
    child: Option<Child>,
    url: String,
}

impl Demo {
    fn new(data: &Path, database_url: Option<String>) -> Self {
        let port = free_port();
        Self {
            data: data.to_path_buf(),
            tender_scale: 86_400,
            listing_scale: 43_200,
            port,
            database_url,
            env: Vec::new(),
            child: None,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tradehall"));
        command
            .args(["demo", "--manual", "--tender-time-scale"])
            .arg(self.tender_scale.to_string())
            .arg("--listing-time-scale")
            .arg(self.listing_scale.to_string())
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--data-dir")
            .arg(&self.data)
            .arg("--web-dir")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("web"))
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        if let Some(url) = &self.database_url {
            command.arg("--database-url").arg(url);
        }
        command
    }

    async fn start(&mut self) {
        let child = self
            .command()
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        self.child = Some(child);
        wait_up(&self.url).await;
    }

    /// SIGKILL: no shutdown, no flush, nothing the server could finish.
    fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap_or_else(|e| panic!("{e}"));
            let _ = child.wait();
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn path(layout: &DevPkiLayout, p: &Path) -> PathBuf {
    layout.dir.join(p)
}

fn random_below(n: u64) -> u64 {
    u64::from_le_bytes(tradehall::crypto::digest::random_bytes::<8>()) % n.max(1)
}

/// The demo's tender, ready for bids, and its land listing.
struct Stage {
    layout: DevPkiLayout,
    work: PathBuf,
    tender: String,
    deadline: chrono::DateTime<chrono::Utc>,
    listing: String,
}

impl Stage {
    async fn prepare(demo: &Demo, work: &Path) -> Self {
        let layout = load_dev_pki(&demo.data.join("pki")).unwrap_or_else(|e| panic!("{e}"));
        let trades = get(format!("{}/api/v1/trades", demo.url)).await;
        let of_kind = |kind: &str| {
            trades["trades"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|t| t["kind"] == kind)
                .cloned()
                .unwrap_or_else(|| panic!("no demo {kind} in {trades}"))
        };
        let tender = of_kind("construction_tender");
        let listing = of_kind("land_use_right");
        let deadline =
            chrono::DateTime::parse_from_rfc3339(tender["bid_deadline"].as_str().unwrap_or(""))
                .unwrap_or_else(|e| panic!("{e}"))
                .with_timezone(&chrono::Utc);
        let stage = Self {
            layout,
            work: work.to_path_buf(),
            tender: tender["id"].as_str().unwrap_or_default().to_owned(),
            deadline,
            listing: listing["id"].as_str().unwrap_or_default().to_owned(),
        };
        for c in stage.of_role("custodian") {
            custodian::keygen(
                &demo.url,
                &stage.tender,
                &path(&stage.layout, &c.cert_path),
                &path(&stage.layout, &c.key_path),
                &stage.keystore(&c),
                PASSPHRASE,
            )
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        }
        stage
    }

    fn of_role(&self, role: &str) -> Vec<DevIdentity> {
        self.layout
            .identities
            .iter()
            .filter(|i| i.role == role)
            .cloned()
            .collect()
    }

    fn keystore(&self, custodian: &DevIdentity) -> PathBuf {
        self.work.join(format!("{}.key", custodian.name))
    }

    fn credentials(&self, server: &str, who: &DevIdentity) -> (String, PathBuf, PathBuf) {
        (
            server.to_owned(),
            path(&self.layout, &who.cert_path),
            path(&self.layout, &who.key_path),
        )
    }

    /// Seals a bid of `bidder` at `price`, with `files` attached.
    async fn seal(
        &self,
        server: &str,
        bidder: &DevIdentity,
        price: i64,
        files: Vec<PathBuf>,
        name: &str,
    ) -> PathBuf {
        let (server, cert, key) = self.credentials(server, bidder);
        let out = self.work.join(format!("{name}.sealed"));
        bid::seal(&SealOptions {
            server,
            trade: self.tender.clone(),
            price: Money::new(price).unwrap_or_else(|e| panic!("{e}")),
            lots: vec!["1".into()],
            files,
            cert,
            key,
            out: out.clone(),
            trust_ca: Vec::new(),
        })
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
        out
    }

    fn usci_of(&self, name: &str) -> String {
        self.layout
            .identities
            .iter()
            .find(|i| i.name == name)
            .map(|i| i.usci.to_string())
            .unwrap_or_default()
    }
}

/// Receipts the server acknowledged, by bidder name.
type Acknowledged = Arc<Mutex<Vec<(String, Receipt)>>>;

fn acknowledged(a: &Acknowledged) -> Vec<(String, Receipt)> {
    a.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

/// Every bidder replaces its bid as fast as it can, until a request fails (the server is
/// gone).
fn burst(
    stage: &Arc<Stage>,
    server: &str,
    round: usize,
    acks: &Acknowledged,
) -> Vec<tokio::task::JoinHandle<()>> {
    stage
        .of_role("bidder")
        .into_iter()
        .enumerate()
        .map(|(n, b)| {
            let (stage, server, acks) = (stage.clone(), server.to_owned(), acks.clone());
            tokio::spawn(async move {
                let (_, cert, key) = stage.credentials(&server, &b);
                for i in 0.. {
                    let price = 1_000_000_000 + (n as i64) * 1_000_000 + (round as i64) * 1_000 + i;
                    let name = format!("{}-{round}-{i}", b.name);
                    let envelope = stage.work.join(format!("{name}.sealed"));
                    let sealed = bid::seal(&SealOptions {
                        server: server.clone(),
                        trade: stage.tender.clone(),
                        price: Money::new(price).unwrap_or_else(|e| panic!("{e}")),
                        lots: vec!["1".into()],
                        files: vec![],
                        cert: cert.clone(),
                        key: key.clone(),
                        out: envelope.clone(),
                        trust_ca: Vec::new(),
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
                        Ok(receipt) => acks
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .push((b.name.clone(), receipt)),
                        Err(_) => return,
                    }
                }
            })
        })
        .collect()
}

/// Every acknowledged bid is in the log, as the receipt says.
async fn assert_acknowledged_in_log(server: &str, acks: &[(String, Receipt)]) {
    for (name, receipt) in acks {
        let events = get(format!(
            "{server}/api/v1/events?after={}&limit=1",
            receipt.log_index - 1
        ))
        .await;
        let entry = &events["events"][0]["entry"];
        assert_eq!(entry["kind"], "bid.received", "{name}: {events}");
        assert_eq!(
            entry["data"]["commitment"],
            receipt.blinded_commitment.as_str(),
            "{name}'s acknowledged bid is not in the log"
        );
    }
}

/// The log verifies from its first entry, and is consistent with the checkpoint the
/// witness saw before (kept in `state`).
async fn assert_log_verifies(server: &str, state: &Path) {
    tradehall::client::witness::verify(server, Some(state), None, &[])
        .await
        .unwrap_or_else(|e| panic!("the log does not verify after the fault: {e:#}"));
}

/// The last acknowledged bid of each bidder, or a later one whose answer the crash cut
/// off, is the one that counts.
fn last_of<'a>(acks: &'a [(String, Receipt)], name: &str) -> Option<&'a Receipt> {
    acks.iter()
        .filter(|(n, _)| n == name)
        .map(|(_, r)| r)
        .max_by_key(|r| r.log_index)
}

/// How many times intake is killed: each round a burst of bids, a kill at a random
/// moment of it, a restart and the checks.
const INTAKE_KILLS: usize = 8;

async fn kill_9_at_random_points(database_url: Option<String>) -> usize {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap_or_else(|e| panic!("{e}"));
    let state = work.join("witness.json");
    let mut demo = Demo::new(&dir.path().join("data"), database_url);
    // Room for every kill before the deadline (60 s after seeding) and for the opening
    // before the listing ends (about 2 min 16 s after).
    demo.tender_scale = 43_200;
    demo.listing_scale = 21_600;
    demo.start().await;
    let stage = Arc::new(Stage::prepare(&demo, &work).await);
    let server = demo.url.clone();
    assert_log_verifies(&server, &state).await;
    let mut faults = 0;

    // Intake: kill -9 at a random moment of a burst of replacements, again and again
    // while the tender takes bids.
    let acks: Acknowledged = Arc::default();
    for round in 0..INTAKE_KILLS {
        // A skip is not a pass: each kill must land in the bidding window.
        assert!(
            chrono::Utc::now() + chrono::Duration::seconds(6) < stage.deadline,
            "only {round} of {INTAKE_KILLS} kills fitted before the tender's deadline"
        );
        let before = acknowledged(&acks).len();
        let tasks = burst(&stage, &server, round, &acks);
        let started = Instant::now();
        while acknowledged(&acks).len() < before + 3 {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "intake stalled"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(random_below(400))).await;
        demo.kill9();
        for t in tasks {
            let _ = t.await;
        }
        demo.start().await;
        assert_acknowledged_in_log(&server, &acknowledged(&acks)).await;
        assert_log_verifies(&server, &state).await;
        faults += 1;
    }
    let acks = acknowledged(&acks);
    for b in stage.of_role("bidder") {
        let Some(last) = last_of(&acks, &b.name) else {
            continue;
        };
        let (_, cert, key) = stage.credentials(&server, &b);
        let active = bid::status(
            &Credentials {
                server: &server,
                cert: &cert,
                key: &key,
            },
            &stage.tender,
        )
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
        let index = active["log_index"].as_i64().unwrap_or_default();
        assert!(
            index > last.log_index
                || (index == last.log_index
                    && active["envelope_sha256"] == last.envelope_sha256.as_str()),
            "{}'s acknowledged bid is not its active bid after the crashes",
            b.name
        );
    }

    // The opening: one custodian contributes, the server dies with the opening key in its
    // memory, and the round opens after the restart with a new key.
    let wait = (stage.deadline - chrono::Utc::now())
        .to_std()
        .unwrap_or_default();
    tokio::time::sleep(wait + Duration::from_millis(300)).await;
    let custodians = stage.of_role("custodian");
    let open = |c: DevIdentity| {
        let (stage, server) = (stage.clone(), server.clone());
        async move {
            custodian::open(
                &server,
                &stage.tender,
                &path(&stage.layout, &c.cert_path),
                &path(&stage.layout, &c.key_path),
                &stage.keystore(&c),
                PASSPHRASE,
                None,
            )
            .await
        }
    };
    let first = open(custodians[0].clone())
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert!(
        first.answer["opening"].is_null(),
        "one custodian opened alone"
    );
    demo.kill9();
    demo.start().await;
    assert_log_verifies(&server, &state).await;
    faults += 1;
    let mut record = None;
    for c in [&custodians[1], &custodians[2]] {
        let outcome = open(c.clone()).await.unwrap_or_else(|e| panic!("{e:#}"));
        if !outcome.answer["opening"].is_null() {
            record = Some(outcome.answer["opening"].clone());
        }
    }
    let signed: SignedRecord = serde_json::from_value(record.unwrap_or_default())
        .unwrap_or_else(|e| panic!("the opening did not complete: {e}"));
    let record = signed.record;
    assert!(record.bids.iter().all(|b| b.valid), "{record:?}");
    for b in stage.of_role("bidder") {
        let Some(last) = last_of(&acks, &b.name) else {
            continue;
        };
        let opened = record
            .bids
            .iter()
            .find(|o| o.organization.usci == stage.usci_of(&b.name))
            .unwrap_or_else(|| panic!("{}'s acknowledged bid is missing from the opening", b.name));
        assert!(
            opened.log_index > last.log_index
                || (opened.log_index == last.log_index
                    && opened.envelope_sha256 == last.envelope_sha256),
            "{}'s last acknowledged bid was lost",
            b.name
        );
    }

    // A sale timer: the server dies just before the land listing ends and comes back
    // after; the listing ends once.
    let sale = get(format!("{server}/api/v1/trades/{}/sale", stage.listing)).await;
    let ends_at =
        chrono::DateTime::parse_from_rfc3339(sale["rules"]["ends_at"].as_str().unwrap_or_default())
            .unwrap_or_else(|e| panic!("no listing end in {sale}: {e}"))
            .with_timezone(&chrono::Utc);
    let before_end = (ends_at - chrono::Utc::now() - chrono::Duration::milliseconds(150))
        .to_std()
        .unwrap_or_else(|_| panic!("the listing ended before the kill just before its end"));
    tokio::time::sleep(before_end).await;
    demo.kill9();
    let after_end = (ends_at - chrono::Utc::now() + chrono::Duration::milliseconds(500))
        .to_std()
        .unwrap_or_default();
    tokio::time::sleep(after_end).await;
    demo.start().await;
    faults += 1;
    let started = Instant::now();
    while get(format!("{server}/api/v1/trades/{}/sale", stage.listing)).await["result"].is_null() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the listing did not end after the restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Each period end of the listing is in the log once, and so is its close.
    let events = get(format!("{server}/api/v1/events?after=0&limit=1000")).await;
    let steps: Vec<&serde_json::Value> = events["events"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| &e["entry"])
        .filter(|e| e["trade"] == stage.listing.as_str())
        .filter(|e| e["kind"].as_str().is_some_and(|k| k.starts_with("sale.")))
        .collect();
    let closes = steps.iter().filter(|e| e["kind"] == "sale.closed").count();
    assert_eq!(closes, 1, "{steps:?}");
    let periods: Vec<String> = steps
        .iter()
        .filter(|e| e["kind"] == "sale.period")
        .map(|e| format!("{} {}", e["data"]["due"], e["data"]["to"]))
        .collect();
    let distinct: std::collections::BTreeSet<&String> = periods.iter().collect();
    assert_eq!(
        distinct.len(),
        periods.len(),
        "a period end fired twice: {periods:?}"
    );
    assert_log_verifies(&server, &state).await;
    faults
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_at_random_points_loses_nothing_acknowledged_on_sqlite() {
    let faults = kill_9_at_random_points(None).await;
    report_faults(
        "kill -9 in intake, opening and sale timers (SQLite)",
        faults,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_at_random_points_loses_nothing_acknowledged_on_postgres() {
    let pg = throwaway_pg().await;
    let faults = kill_9_at_random_points(Some(pg.url.clone())).await;
    report_faults(
        "kill -9 in intake, opening and sale timers (PostgreSQL)",
        faults,
    );
}

/// A database of its own on the PostgreSQL server of `TRADEHALL_TEST_POSTGRES`.
async fn throwaway_pg() -> tradehall::bench::pg::ThrowawayPg {
    let admin = std::env::var("TRADEHALL_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    tradehall::bench::pg::ThrowawayPg::create(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {admin} is needed: {e:#}"))
}

/// Submits `envelope` as `bidder`: the receipt, or the server's refusal as text.
async fn submit(
    stage: &Stage,
    server: &str,
    bidder: &DevIdentity,
    envelope: &Path,
) -> Result<Receipt, String> {
    let (_, cert, key) = stage.credentials(server, bidder);
    bid::submit(
        &Credentials {
            server,
            cert: &cert,
            key: &key,
        },
        envelope,
        &envelope.with_extension("receipt"),
    )
    .await
    .map_err(|e| format!("{e:#}"))
}

/// A tmpfs of `size` mounted on `dir`, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    /// Mounting needs root (CI runs as root): where this process may not mount, the test
    /// fails and says so, for a skipped check is not a passed one.
    fn mount(dir: &Path, size: &str) -> Self {
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{e}"));
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            mounted,
            "this test fills a disk of its own: it needs to mount a tmpfs on {}, which \
             needs root (run ./test.sh as root, as CI does)",
            dir.display()
        );
        Self(dir.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes to `path` until the disk is full.
fn fill(path: &Path) {
    use std::io::Write as _;
    let mut file = std::fs::File::create(path).unwrap_or_else(|e| panic!("{e}"));
    let chunk = vec![0x5a_u8; 256 * 1024];
    while file
        .write_all(&chunk)
        .and_then(|()| file.sync_data())
        .is_ok()
    {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_disk_is_refused_with_storage_full_and_nothing_acknowledged_is_lost() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path().join("data");
    let _disk = Tmpfs::mount(&data, "32m");
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap_or_else(|e| panic!("{e}"));
    let state = work.join("witness.json");
    let mut demo = Demo::new(&data, None);
    demo.start().await;
    let stage = Stage::prepare(&demo, &work).await;
    let server = demo.url.clone();
    assert_log_verifies(&server, &state).await;
    let bidders = stage.of_role("bidder");
    // An attachment large enough that its envelope streams to the data directory.
    let plans = work.join("plans.bin");
    std::fs::write(
        &plans,
        tradehall::crypto::digest::random_bytes::<32>().repeat(8 * 1024),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut sealed = Vec::new();
    for (n, b) in bidders.iter().enumerate() {
        let small = stage
            .seal(
                &server,
                b,
                2_000_000_000 + n as i64,
                vec![],
                &format!("{}-small", b.name),
            )
            .await;
        let large = stage
            .seal(
                &server,
                b,
                2_100_000_000 + n as i64,
                vec![plans.clone()],
                &format!("{}-large", b.name),
            )
            .await;
        sealed.push((b, small, large));
    }
    let mut acknowledged = Vec::new();
    let (b, small, _) = &sealed[0];
    acknowledged.push(
        submit(&stage, &server, b, small)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    );

    // The disk fills up. Every submission is either taken whole or refused with
    // `507 storage_full`; never a 500, never half of one.
    fill(&data.join("filler"));
    let mut refused = 0;
    for (b, small, large) in &sealed {
        for envelope in [large, small] {
            match submit(&stage, &server, b, envelope).await {
                Ok(receipt) => acknowledged.push(receipt),
                Err(e) => {
                    assert!(
                        e.contains("507") && e.contains("storage_full"),
                        "not a clear refusal: {e}"
                    );
                    refused += 1;
                }
            }
        }
    }
    assert!(refused > 0, "nothing was refused on a full disk");
    // The refusal says when to retry, and the half-received upload is gone from the
    // data directory.
    let (_, cert, key) = stage.credentials(&server, b);
    let session = tradehall::client::session::login(&Credentials {
        server: &server,
        cert: &cert,
        key: &key,
    })
    .await
    .unwrap_or_else(|e| panic!("{e:#}"));
    let (_, _, large) = &sealed[0];
    let answer = reqwest::Client::new()
        .put(format!("{server}/api/v1/trades/{}/bid", stage.tender))
        .bearer_auth(session.token())
        .header("content-type", "application/octet-stream")
        .body(std::fs::read(large).unwrap_or_else(|e| panic!("{e}")))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let retry_after = answer
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let status = answer.status();
    let body: serde_json::Value = answer.json().await.unwrap_or_default();
    assert_eq!(
        (status.as_u16(), body["error"]["code"].as_str()),
        (507, Some("storage_full")),
        "{body}"
    );
    assert!(
        retry_after.is_some_and(|s| s >= 1),
        "a 507 without Retry-After: {retry_after:?}"
    );
    let incoming: Vec<_> = std::fs::read_dir(data.join("bids").join("incoming"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(
        incoming.is_empty(),
        "half-received uploads were left behind: {incoming:?}"
    );
    let (status, _) = (
        reqwest::get(format!("{server}/healthz"))
            .await
            .map(|r| r.status())
            .unwrap_or_else(|e| panic!("{e}")),
        (),
    );
    assert!(
        status.is_success(),
        "the server is down on a full disk: {status}"
    );

    // Space comes back: the same submissions go through, and after a crash every
    // acknowledged bid is still there.
    std::fs::remove_file(data.join("filler")).unwrap_or_else(|e| panic!("{e}"));
    for (b, _, large) in &sealed {
        acknowledged.push(
            submit(&stage, &server, b, large)
                .await
                .unwrap_or_else(|e| panic!("after space came back: {e}")),
        );
    }
    demo.kill9();
    demo.start().await;
    let named: Vec<(String, Receipt)> = acknowledged
        .into_iter()
        .map(|r| (String::from("bidder"), r))
        .collect();
    assert_acknowledged_in_log(&server, &named).await;
    assert_log_verifies(&server, &state).await;
    report_faults(
        &format!("disk full under the SQLite data directory ({refused} submissions refused with 507, none lost)"),
        1,
    );
}

/// Where libfaketime is on Debian (the package faketime, which ./test.sh sets up).
const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

async fn server_time(server: &str) -> chrono::DateTime<chrono::Utc> {
    let health = get(format!("{server}/healthz")).await;
    chrono::DateTime::parse_from_rfc3339(health["server_time"].as_str().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {health}"))
        .with_timezone(&chrono::Utc)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_host_clock_stepping_back_reopens_no_deadline() {
    assert!(
        Path::new(LIBFAKETIME).exists(),
        "{LIBFAKETIME} is needed: the Debian package faketime, which ./test.sh (the README's test command) installs"
    );
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap_or_else(|e| panic!("{e}"));
    let state = work.join("witness.json");
    // The server's wall clock is the host's shifted by what the file says; its monotonic
    // clock is left alone, as a real clock step leaves it.
    let offset = work.join("faketime");
    std::fs::write(&offset, "+0s").unwrap_or_else(|e| panic!("{e}"));
    let mut demo = Demo::new(&dir.path().join("data"), None);
    demo.env = vec![
        ("LD_PRELOAD".into(), LIBFAKETIME.into()),
        (
            "FAKETIME_TIMESTAMP_FILE".into(),
            offset.display().to_string(),
        ),
        ("FAKETIME_NO_CACHE".into(), "1".into()),
        ("DONT_FAKE_MONOTONIC".into(), "1".into()),
    ];
    demo.start().await;
    let stage = Stage::prepare(&demo, &work).await;
    let server = demo.url.clone();
    let bidder = stage.of_role("bidder").remove(0);
    let early = stage
        .seal(&server, &bidder, 2_000_000_000, vec![], "early")
        .await;
    let late = stage
        .seal(&server, &bidder, 2_000_000_001, vec![], "late")
        .await;
    submit(&stage, &server, &bidder, &early)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // The clock runs past the deadline, then steps back an hour, before it.
    std::fs::write(&offset, "+60s").unwrap_or_else(|e| panic!("{e}"));
    let past = server_time(&server).await;
    assert!(
        past > stage.deadline,
        "{past} is not past {}",
        stage.deadline
    );
    std::fs::write(&offset, "-3600s").unwrap_or_else(|e| panic!("{e}"));
    let after_step = server_time(&server).await;
    assert!(
        after_step >= past,
        "the server's time ran backwards: {after_step} < {past}"
    );
    let refused = submit(&stage, &server, &bidder, &late)
        .await
        .expect_err("a bid after the deadline was taken once the clock stepped back");
    assert!(refused.contains("after_deadline"), "{refused}");
    let events = get(format!("{server}/api/v1/events?after=0&limit=1000")).await;
    let times: Vec<&str> = events["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["entry"]["at"].as_str())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "log entry times ran backwards: {times:?}"
    );
    assert_log_verifies(&server, &state).await;

    // A restart on the stepped-back clock is refused, naming the reason; with the clock
    // right again the server starts and the late bid is still refused.
    demo.kill9();
    let refused_start = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::task::spawn_blocking({
            let mut command = demo.command();
            move || command.output()
        }),
    )
    .await
    .unwrap_or_else(|_| panic!("a server on a clock behind its log started"))
    .unwrap_or_else(|e| panic!("{e}"))
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(!refused_start.status.success());
    let said = String::from_utf8_lossy(&refused_start.stderr);
    assert!(said.contains("behind the log"), "{said}");
    std::fs::write(&offset, "+60s").unwrap_or_else(|e| panic!("{e}"));
    demo.start().await;
    let refused = submit(&stage, &server, &bidder, &late)
        .await
        .expect_err("a bid after the deadline was taken after the restart");
    assert!(refused.contains("after_deadline"), "{refused}");
    assert_log_verifies(&server, &state).await;
    report_faults(
        "host clock stepped back an hour, running and across a restart",
        2,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rotated_platform_key_keeps_old_receipts_and_the_log_verifiable() {
    use tradehall::client::receipt::KeySource;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap_or_else(|e| panic!("{e}"));
    let state = work.join("witness.json");
    let data = dir.path().join("data");
    let mut demo = Demo::new(&data, None);
    demo.start().await;
    let stage = Stage::prepare(&demo, &work).await;
    let server = demo.url.clone();
    let bidder = stage.of_role("bidder").remove(0);
    let envelope = stage
        .seal(&server, &bidder, 2_000_000_000, vec![], "before-rotation")
        .await;
    let before = submit(&stage, &server, &bidder, &envelope)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_log_verifies(&server, &state).await;

    // The operator rotates the key and restarts (docs/operations.md, "Keys").
    demo.kill9();
    let rotated = Command::new(env!("CARGO_BIN_EXE_tradehall"))
        .args(["key", "rotate", "--key-dir"])
        .arg(data.join("keys"))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        rotated.status.success(),
        "{}",
        String::from_utf8_lossy(&rotated.stderr)
    );
    demo.start().await;
    let keys = get(format!("{server}/api/v1/platform/keys")).await;
    assert_eq!(keys["keys"].as_array().map_or(0, Vec::len), 2, "{keys}");
    assert_ne!(keys["keys"][0]["key_id"], before.key_id.as_str());

    // The old receipt verifies against the published keys, and is still in the log a
    // witness checks across the change of key; new receipts carry the new key.
    let receipt_path = envelope.with_extension("receipt");
    tradehall::client::receipt::verify(&receipt_path, KeySource::Server(&server), Some(&envelope))
        .await
        .unwrap_or_else(|e| panic!("an old receipt no longer verifies: {e:#}"));
    tradehall::client::witness::verify(&server, Some(&state), None, &[receipt_path])
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let envelope = stage
        .seal(&server, &bidder, 2_000_000_001, vec![], "after-rotation")
        .await;
    let after = submit(&stage, &server, &bidder, &envelope)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(keys["keys"][0]["key_id"], after.key_id.as_str());
}

/// Quotes for one bidder until the server dies, back to back with no read between them
/// (so a quote is nearly always in flight): after an acknowledgement one increment above
/// it, after a refusal (a rival was faster) one increment above the refused amount. The
/// answers it acknowledged (log entry, amount, bidder number), and how many quotes were
/// sent before the kill and never answered.
async fn quote_until_killed(
    session: &tradehall::client::session::Session,
    sale_url: &str,
    path: &str,
    name: &str,
    killed: &std::sync::atomic::AtomicBool,
) -> (Vec<(i64, i64, String)>, usize) {
    let mut acknowledged = Vec::new();
    let view: Option<serde_json::Value> = match reqwest::get(sale_url).await {
        Ok(answer) => answer.json().await.ok(),
        Err(_) => None,
    };
    let (Some(mut amount), Some(step)) = (
        view.as_ref().and_then(|v| v["next_minimum"].as_i64()),
        view.as_ref().and_then(|v| v["rules"]["increment"].as_i64()),
    ) else {
        // The server is down already (or the sale over): nothing in flight here.
        return (acknowledged, 0);
    };
    for n in 0.. {
        let sent_before_the_kill = !killed.load(std::sync::atomic::Ordering::SeqCst);
        let body =
            serde_json::json!({ "client_quote_id": format!("race-{name}-{n}"), "amount": amount });
        match session.post(path, &body).await {
            Ok(a) => {
                let taken = a["amount"].as_i64().unwrap_or_default();
                acknowledged.push((
                    a["seq"].as_i64().unwrap_or_default(),
                    taken,
                    a["bidder_number"].as_str().unwrap_or_default().to_owned(),
                ));
                amount = taken + step;
            }
            Err(e) => match e.downcast_ref::<reqwest::Error>() {
                // Not answered: the server died with it, or was dead already.
                Some(cut) => {
                    let in_flight = sent_before_the_kill && !cut.is_connect();
                    return (acknowledged, usize::from(in_flight));
                }
                // Refused (a rival was faster, or this bidder is the best): higher.
                None => amount += step,
            },
        }
    }
    (acknowledged, 0)
}

/// A live auction killed in the middle of its quotes: after the restart the sale is what
/// the log replays to, the countdown still ends it, and it ends once.
async fn kill_9_in_a_live_auction(database_url: Option<String>) -> usize {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap_or_else(|e| panic!("{e}"));
    let state = work.join("witness.json");
    let data = dir.path().join("data");
    let mut demo = Demo::new(&data, database_url);
    // The listing starts 20 s after seeding, ends 14 s later; its countdown is 5 s.
    demo.listing_scale = 86_400;
    demo.start().await;
    let stage = Stage::prepare(&demo, &work).await;
    let server = demo.url.clone();
    let secrets = tradehall::server::load_bank_secrets(None, tradehall::config::Mode::Demo, &data)
        .unwrap_or_else(|e| panic!("{e}"));
    let secret = secrets
        .get(tradehall::server::DEV_BANK)
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    // The demo's three bidders apply, pay their deposits and quote, as in the README demo.
    let cast = tradehall::demo::cast::Cast::new(
        server.clone(),
        stage.layout.clone(),
        work.join("auction"),
        secret,
        Duration::ZERO,
    );
    let play = {
        let (cast, listing) = (cast.clone(), stage.listing.clone());
        tokio::spawn(async move {
            tradehall::demo::sales::play(&cast, &listing, &tradehall::demo::sales::LAND).await
        })
    };
    let sale_url = format!("{server}/api/v1/trades/{}/sale", stage.listing);
    let started = Instant::now();
    while get(sale_url.clone()).await["quotes"]
        .as_array()
        .map_or(0, Vec::len)
        < 3
    {
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "the auction did not get going"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The bidders now quote as fast as they can, each on the answer to its last quote, so
    // the kill lands with quotes in flight; every answer is kept.
    let killed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut quoters = Vec::new();
    for (name, _) in tradehall::demo::sales::LAND.bidders {
        let session = cast
            .session(cast.named(name).unwrap_or_else(|e| panic!("{e}")))
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        let (sale_url, path) = (
            sale_url.clone(),
            format!("/api/v1/trades/{}/quotes", stage.listing),
        );
        let killed = killed.clone();
        quoters.push(tokio::spawn(async move {
            quote_until_killed(&session, &sale_url, &path, name, &killed).await
        }));
    }
    tokio::time::sleep(Duration::from_millis(100 + random_below(500))).await;
    killed.store(true, std::sync::atomic::Ordering::SeqCst);
    demo.kill9();
    let mut acknowledged = Vec::new();
    let mut in_flight = 0;
    for q in quoters {
        let (acks, cut) = q.await.unwrap_or_else(|e| panic!("{e}"));
        acknowledged.extend(acks);
        in_flight += cut;
    }
    let _ = play.await;
    assert!(
        !acknowledged.is_empty(),
        "no quote was acknowledged before the kill"
    );
    assert!(
        in_flight > 0,
        "the kill landed on no quote in flight ({} acknowledged)",
        acknowledged.len()
    );
    demo.start().await;
    let (replayed, _) = tradehall::client::replay::replay(&server, &stage.listing, None)
        .await
        .unwrap_or_else(|e| panic!("after the crash the sale is not what its log says: {e:#}"));
    assert!(replayed.quotes >= 3 + acknowledged.len(), "{replayed:?}");
    // Every acknowledged quote is in the sale the restarted server shows, at the log
    // entry its answer named.
    let sale = get(sale_url.clone()).await;
    let kept: Vec<(i64, i64, String)> = sale["quotes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|q| {
            (
                q["seq"].as_i64().unwrap_or_default(),
                q["amount"].as_i64().unwrap_or_default(),
                q["bidder_number"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    for ack in &acknowledged {
        assert!(
            kept.contains(ack),
            "the acknowledged quote {ack:?} was lost in the crash: {sale}"
        );
    }
    assert_log_verifies(&server, &state).await;

    // The countdown still runs out (a timer, fired after the restart if it fell due while
    // the server was down); the committee opens the sealed reserve; the sale ends once.
    let started = Instant::now();
    loop {
        let sale = get(sale_url.clone()).await;
        if !sale["result"].is_null() {
            break;
        }
        if sale["phase"] == "reserve" {
            tradehall::demo::committee::open(&cast, "land", &stage.listing)
                .await
                .unwrap_or_else(|e| panic!("{e:#}"));
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the auction did not end after the restart: {sale}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (replayed, _) = tradehall::client::replay::replay(&server, &stage.listing, None)
        .await
        .unwrap_or_else(|e| panic!("the sale's end is not what its log says: {e:#}"));
    assert!(replayed.result.is_some());
    let events = get(format!("{server}/api/v1/events?after=0&limit=1000")).await;
    let closes = events["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| {
            e["entry"]["trade"] == stage.listing.as_str() && e["entry"]["kind"] == "sale.closed"
        })
        .count();
    assert_eq!(closes, 1);
    assert_log_verifies(&server, &state).await;
    1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_in_a_live_auction_loses_no_quote_on_sqlite() {
    let faults = kill_9_in_a_live_auction(None).await;
    report_faults(
        "kill -9 in the middle of a live auction's quotes (SQLite)",
        faults,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_in_a_live_auction_loses_no_quote_on_postgres() {
    let pg = throwaway_pg().await;
    let faults = kill_9_in_a_live_auction(Some(pg.url.clone())).await;
    report_faults(
        "kill -9 in the middle of a live auction's quotes (PostgreSQL)",
        faults,
    );
}
