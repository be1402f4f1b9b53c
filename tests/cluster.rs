//! Several real `tradehall` server processes on one PostgreSQL database (issue 8,
//! docs/adr/0018): bids through different instances open at one opening, even when the
//! instance holding the opening is killed; every instance's feed is gap-free and
//! duplicate-free; a sale timer due while an instance is killed fires exactly once; a
//! PostgreSQL restart in the middle of intake loses no acknowledged bid.
//!
//! Each instance is `tradehall demo --manual` on the shared database and data directory
//! (the first one seeds it): real time, accelerated demo trades.

mod common;

use common::private_pg::PrivatePg;
use common::{free_port, get, report_faults, wait_up};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use tradehall::bench::pg::ThrowawayPg;
use tradehall::client::bid::{self, Credentials, SealOptions};
use tradehall::client::custodian;
use tradehall::crypto::pki::{load_dev_pki, DevIdentity, DevPkiLayout};
use tradehall::crypto::receipt::Receipt;
use tradehall::domain::money::Money;
use tradehall::domain::opening::SignedRecord;

const PASSPHRASE: &str = "cluster-test-passphrase";

fn admin_url() -> String {
    std::env::var("TRADEHALL_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// One server process.
struct Instance {
    url: String,
    port: u16,
    child: Option<Child>,
}

impl Instance {
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Instances on one database and one data directory.
struct Cluster {
    data: PathBuf,
    tender_scale: u32,
    witnesses: Option<PathBuf>,
    work: PathBuf,
    database_url: String,
    instances: Vec<Instance>,
    layout: Option<DevPkiLayout>,
    _dir: tempfile::TempDir,
}

impl Cluster {
    /// `n` instances on `database_url`; the first seeds the demo, whose tender's
    /// deadline is 30 seconds away.
    async fn start(n: usize, database_url: &str) -> Self {
        Self::start_with(n, database_url, 86_400).await
    }

    /// `n` instances; the demo tender runs at `tender_scale` (its deadline is 30
    /// statutory days away).
    async fn start_with(n: usize, database_url: &str, tender_scale: u32) -> Self {
        Self::start_witnessed(n, database_url, tender_scale, None).await
    }

    /// [`Cluster::start_with`], taking cosignatures from the witnesses in `witnesses`.
    async fn start_witnessed(
        n: usize,
        database_url: &str,
        tender_scale: u32,
        witnesses: Option<PathBuf>,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let data = dir.path().join("data");
        let work = dir.path().join("work");
        std::fs::create_dir_all(&work).unwrap_or_else(|e| panic!("{e}"));
        let mut cluster = Self {
            data,
            work,
            tender_scale,
            witnesses,
            database_url: database_url.to_owned(),
            instances: Vec::new(),
            layout: None,
            _dir: dir,
        };
        for _ in 0..n {
            let port = free_port();
            let instance = cluster.spawn(port);
            wait_up(&instance.url).await;
            cluster.instances.push(instance);
        }
        cluster.layout =
            Some(load_dev_pki(&cluster.data.join("pki")).unwrap_or_else(|e| panic!("{e}")));
        cluster
    }

    fn spawn(&self, port: u16) -> Instance {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tradehall"));
        if let Some(w) = &self.witnesses {
            command.env("TRADEHALL_WITNESSES", w);
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.work.join(format!("instance-{port}.log")))
            .unwrap_or_else(|e| panic!("{e}"));
        let child = command
            .args(["demo", "--manual"])
            .arg("--tender-time-scale")
            .arg(self.tender_scale.to_string())
            .args(["--listing-time-scale", "86400"])
            .arg("--database-url")
            .arg(&self.database_url)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(&self.data)
            .env("TRADEHALL_LOG", "info,sqlx=warn")
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        Instance {
            url: format!("http://127.0.0.1:{port}"),
            port,
            child: Some(child),
        }
    }

    /// Restarts every instance without the checkpoint the platform kept as its newest
    /// signed: what an operator who holds the key directory as well as the database can
    /// do, and a dishonest one would, so that its servers sign whatever the database
    /// says. (An honest server refuses to sign a rewritten log: tests/log_audit.rs.)
    async fn restart_forgetting_what_was_signed(&mut self) {
        let ports: Vec<u16> = self.instances.iter().map(|i| i.port).collect();
        for instance in &mut self.instances {
            instance.kill();
        }
        let _ = std::fs::remove_file(
            self.data
                .join("keys")
                .join(tradehall::engine::SIGNED_RECORD),
        );
        self.instances.clear();
        for port in ports {
            let instance = self.spawn(port);
            wait_up(&instance.url).await;
            self.instances.push(instance);
        }
    }

    fn layout(&self) -> &DevPkiLayout {
        self.layout.as_ref().unwrap_or_else(|| panic!("no PKI"))
    }

    fn url(&self, i: usize) -> String {
        self.instances[i % self.instances.len()].url.clone()
    }

    fn path(&self, p: &Path) -> PathBuf {
        self.layout().dir.join(p)
    }

    fn of_role(&self, role: &str) -> Vec<DevIdentity> {
        self.layout()
            .identities
            .iter()
            .filter(|i| i.role == role)
            .cloned()
            .collect()
    }

    /// The demo trade of `kind`: its id and its JSON.
    async fn trade(&self, kind: &str) -> (String, Value) {
        let trades = get(format!("{}/api/v1/trades", self.url(0))).await;
        let trade = trades["trades"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| t["kind"] == kind)
            .cloned()
            .unwrap_or_else(|| panic!("no demo {kind} in {trades}"));
        (trade["id"].as_str().unwrap_or_default().to_owned(), trade)
    }

    /// The custodians of the demo committee, each with a key for `trade` registered
    /// through another instance.
    async fn committee_keys(&self, trade: &str) -> Vec<DevIdentity> {
        let custodians = self.of_role("custodian");
        for (i, c) in custodians.iter().enumerate() {
            custodian::keygen(
                &self.url(i),
                trade,
                &self.path(&c.cert_path),
                &self.path(&c.key_path),
                &self.work.join(format!("{}.key", c.name)),
                PASSPHRASE,
            )
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        }
        custodians
    }

    /// What the instances logged, for a failure message.
    fn logs(&self) -> String {
        self.instances
            .iter()
            .map(|i| {
                let text =
                    std::fs::read_to_string(self.work.join(format!("instance-{}.log", i.port)))
                        .unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(15).collect();
                format!(
                    "--- instance {}:\n{}",
                    i.port,
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn instant(trade: &Value, field: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(trade[field].as_str().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{field}: {e} in {trade}"))
        .with_timezone(&chrono::Utc)
}

async fn sleep_until(at: chrono::DateTime<chrono::Utc>) {
    let wait = (at - chrono::Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait).await;
}

/// Follows an instance's public feed from the start, collecting the sequence numbers it
/// delivers, until the socket ends.
fn follow_feed(server: &str) -> Arc<Mutex<Vec<i64>>> {
    let seen: Arc<Mutex<Vec<i64>>> = Arc::default();
    let url = format!("{}/api/v1/feed?after=0", server.replacen("http", "ws", 1));
    let collected = seen.clone();
    tokio::spawn(async move {
        let Ok((mut socket, _)) = tokio_tungstenite::connect_async(url.as_str()).await else {
            return;
        };
        while let Some(Ok(message)) = socket.next().await {
            if let Message::Text(text) = message {
                let m: Value = serde_json::from_str(&text).unwrap_or_default();
                if m["type"] == "event" {
                    collected
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push(m["seq"].as_i64().unwrap_or_default());
                }
            }
        }
    });
    seen
}

fn seen(feed: &Arc<Mutex<Vec<i64>>>) -> Vec<i64> {
    feed.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

async fn log_size(server: &str) -> i64 {
    let checkpoint = reqwest::get(format!("{server}/api/v1/log/checkpoint"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    checkpoint
        .lines()
        .nth(1)
        .and_then(|l| l.parse().ok())
        .unwrap_or_else(|| panic!("no tree size in {checkpoint}"))
}

/// The public log entries about `trade`, in order.
async fn trade_events(server: &str, trade: &str) -> Vec<Value> {
    let mut entries = Vec::new();
    let mut after = 0;
    loop {
        let page = get(format!("{server}/api/v1/events?after={after}&limit=1000")).await;
        let events = page["events"].as_array().cloned().unwrap_or_default();
        let Some(last) = events.last().and_then(|e| e["seq"].as_i64()) else {
            return entries;
        };
        after = last;
        entries.extend(
            events
                .into_iter()
                .map(|e| e["entry"].clone())
                .filter(|e| e["trade"] == trade),
        );
    }
}

async fn seal_and_submit(
    cluster: &Cluster,
    server: &str,
    trade: &str,
    bidder: &DevIdentity,
    price: i64,
    name: &str,
) -> anyhow::Result<Receipt> {
    let (cert, key) = (
        cluster.path(&bidder.cert_path),
        cluster.path(&bidder.key_path),
    );
    let envelope = cluster.work.join(format!("{name}.sealed"));
    bid::seal(&SealOptions {
        server: server.to_owned(),
        trade: trade.to_owned(),
        price: Money::new(price)?,
        lots: vec!["1".into()],
        files: vec![],
        cert: cert.clone(),
        key: key.clone(),
        out: envelope.clone(),
        trust_ca: Vec::new(),
    })
    .await?;
    let credentials = Credentials {
        server,
        cert: &cert,
        key: &key,
    };
    bid::submit(&credentials, &envelope, &envelope.with_extension("receipt")).await
}

async fn open_as(
    cluster: &Cluster,
    server: &str,
    trade: &str,
    custodian: &DevIdentity,
) -> anyhow::Result<Value> {
    custodian::open(
        server,
        trade,
        &cluster.path(&custodian.cert_path),
        &cluster.path(&custodian.key_path),
        &cluster.work.join(format!("{}.key", custodian.name)),
        PASSPHRASE,
        None,
    )
    .await
    .map(|o| o.answer)
}

fn assert_whole(feed: &[i64], upto: i64, which: &str) {
    let expected: Vec<i64> = (1..=upto).collect();
    assert_eq!(
        &feed[..feed.len().min(upto as usize)],
        &expected[..feed.len().min(upto as usize)],
        "the feed of {which} has a gap, a duplicate or a reordering"
    );
    assert!(
        feed.len() >= upto as usize,
        "the feed of {which} stopped at {} of {upto}",
        feed.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bids_through_three_instances_open_at_one_opening_even_when_its_instance_dies() {
    let db = ThrowawayPg::create(&admin_url())
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL is needed: {e:#}"));
    let mut cluster = Cluster::start(3, &db.url).await;
    let feeds: Vec<_> = (0..3).map(|i| follow_feed(&cluster.url(i))).collect();
    let (trade, tender) = cluster.trade("construction_tender").await;
    let custodians = cluster.committee_keys(&trade).await;

    // Every bidder bids twice (the second replaces the first), each time through another
    // instance.
    let bidders = cluster.of_role("bidder");
    let mut last = Vec::new();
    for round in 0..2 {
        for (n, b) in bidders.iter().enumerate() {
            let server = cluster.url(n + round);
            let price = 1_000_000_000 + (n as i64) * 1_000_000 + round as i64;
            let receipt = seal_and_submit(
                &cluster,
                &server,
                &trade,
                b,
                price,
                &format!("{}-{round}", b.name),
            )
            .await
            .unwrap_or_else(|e| panic!("{} through {server}: {e:#}", b.name));
            if round == 1 {
                last.push((b.clone(), receipt));
            }
        }
    }

    sleep_until(instant(&tender, "bid_deadline") + chrono::Duration::milliseconds(500)).await;
    // The first custodian opens through instance 2, which starts the opening session.
    let first = open_as(&cluster, &cluster.url(1), &trade, &custodians[0])
        .await
        .unwrap_or_else(|e| panic!("{e:#}\n{}", cluster.logs()));
    assert_eq!(first["contributions"], 1, "{first}");
    let status = get(format!("{}/api/v1/trades/{trade}/opening", cluster.url(2))).await;
    let counted: Vec<_> = status["custodians"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["contributed"] == true)
        .collect();
    assert_eq!(
        counted.len(),
        1,
        "another instance shows the progress: {status}"
    );

    // The instance holding the opening dies. The next custodian, on instance 3, gets a
    // new opening session there (a new opening key); the first contributes again through
    // instance 1, which forwards to instance 3.
    cluster.instances[1].kill();
    let second = open_as(&cluster, &cluster.url(2), &trade, &custodians[1])
        .await
        .unwrap_or_else(|e| panic!("{e:#}\n{}", cluster.logs()));
    assert_eq!(
        second["contributions"], 1,
        "a new session starts counting anew: {second}"
    );
    let third = open_as(&cluster, &cluster.url(0), &trade, &custodians[0])
        .await
        .unwrap_or_else(|e| panic!("{e:#}\n{}", cluster.logs()));
    let signed: SignedRecord = serde_json::from_value(third["opening"].clone())
        .unwrap_or_else(|e| panic!("the opening did not complete: {e}: {third}"));
    assert_eq!(signed.record.bids.len(), bidders.len());
    for (b, receipt) in &last {
        let opened = signed
            .record
            .bids
            .iter()
            .find(|x| x.organization.usci == b.usci.to_string())
            .unwrap_or_else(|| panic!("{}'s bid is missing", b.name));
        assert!(opened.valid, "{opened:?}");
        assert_eq!(
            opened.envelope_sha256, receipt.envelope_sha256,
            "{}",
            b.name
        );
    }
    // One record, the same through every live instance.
    for i in [0, 2] {
        let record = get(format!("{}/api/v1/trades/{trade}/opening", cluster.url(i))).await;
        assert_eq!(record["opening"]["signature"], signed.signature.as_str());
    }

    // Every feed delivered every entry once, in order (the dead instance's up to its end).
    let head = log_size(&cluster.url(0)).await;
    let started = Instant::now();
    while [0, 2]
        .iter()
        .any(|&i| seen(&feeds[i]).len() < head as usize)
        && started.elapsed() < Duration::from_secs(10)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_whole(&seen(&feeds[0]), head, "instance 1");
    assert_whole(&seen(&feeds[2]), head, "instance 3");
    let dead = seen(&feeds[1]);
    assert_eq!(
        dead,
        (1..=dead.len() as i64).collect::<Vec<_>>(),
        "instance 2's feed"
    );
    let started: Vec<_> = trade_events(&cluster.url(0), &trade)
        .await
        .into_iter()
        .filter(|e| e["kind"] == "opening.started")
        .collect();
    assert_eq!(
        started.len(),
        2,
        "one session per instance that held the opening"
    );
    report_faults(
        "kill -9 of the instance holding the opening (PostgreSQL, 3 instances)",
        1,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sale_timer_due_while_an_instance_is_killed_fires_exactly_once() {
    let db = ThrowawayPg::create(&admin_url())
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL is needed: {e:#}"));
    let mut cluster = Cluster::start(3, &db.url).await;
    let (trade, _) = cluster.trade("land_use_right").await;
    let sale = get(format!("{}/api/v1/trades/{trade}/sale", cluster.url(0))).await;
    let ends = instant(&sale["rules"], "ends_at");
    // Kill one instance just before the listing ends, another right after: the one left
    // fires the end once.
    sleep_until(ends - chrono::Duration::milliseconds(150)).await;
    cluster.instances[0].kill();
    sleep_until(ends + chrono::Duration::milliseconds(50)).await;
    cluster.instances[1].kill();
    let server = cluster.url(2);
    let started = Instant::now();
    loop {
        let sale = get(format!("{server}/api/v1/trades/{trade}/sale")).await;
        if !sale["result"].is_null() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the listing did not end: {sale}\n{}",
            cluster.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let events = trade_events(&server, &trade).await;
    let closed = events.iter().filter(|e| e["kind"] == "sale.closed").count();
    assert_eq!(closed, 1, "{events:#?}");
    let periods: Vec<String> = events
        .iter()
        .filter(|e| e["kind"] == "sale.period")
        .map(|e| e["data"].to_string())
        .collect();
    let unique: std::collections::BTreeSet<&String> = periods.iter().collect();
    assert_eq!(
        unique.len(),
        periods.len(),
        "a period end fired twice: {periods:#?}"
    );
    report_faults(
        "kill -9 of two of three instances as a sale timer falls due (PostgreSQL)",
        1,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_postgres_restart_in_the_middle_of_intake_loses_no_acknowledged_bid() {
    let pg = PrivatePg::start();
    // A tender whose deadline is three minutes away: intake goes on through the restart.
    let cluster = Cluster::start_with(2, &pg.url(), 14_400).await;
    let (trade, _) = cluster.trade("construction_tender").await;
    cluster.committee_keys(&trade).await;
    let cluster = Arc::new(cluster);
    let acknowledged: Arc<Mutex<Vec<Receipt>>> = Arc::default();
    let refused = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for (n, b) in cluster.of_role("bidder").into_iter().enumerate() {
        let (cluster, trade, acknowledged, refused, stop) = (
            cluster.clone(),
            trade.clone(),
            acknowledged.clone(),
            refused.clone(),
            stop.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                i += 1;
                let server = cluster.url(n + i);
                let price = 2_000_000_000 + (n as i64) * 1_000_000 + i as i64;
                let name = format!("{}-{i}", b.name);
                // A request the server never answers fails the test instead of hanging it.
                let attempt = tokio::time::timeout(
                    Duration::from_secs(60),
                    seal_and_submit(&cluster, &server, &trade, &b, price, &name),
                )
                .await
                .unwrap_or_else(|_| panic!("{server} never answered {name}\n{}", cluster.logs()));
                match attempt {
                    Ok(receipt) => acknowledged
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push(receipt),
                    Err(e) => {
                        if refused.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 3 {
                            eprintln!("refused: {e:#}");
                        }
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        }));
    }
    let count = |a: &Arc<Mutex<Vec<Receipt>>>| {
        a.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    };
    let wait_for = |target: usize| {
        let (acknowledged, cluster, pg) = (acknowledged.clone(), cluster.clone(), &pg);
        async move {
            let started = Instant::now();
            while count(&acknowledged) < target {
                assert!(
                    started.elapsed() < Duration::from_secs(120),
                    "intake stalled at {} acknowledged bids\n{}\n{}",
                    count(&acknowledged),
                    cluster.logs(),
                    pg.log_tail()
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    wait_for(10).await;
    // A crash of PostgreSQL (no shutdown checkpoint) and its recovery, mid-intake.
    pg.crash_and_restart();
    let before = count(&acknowledged);
    wait_for(before + 10).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for t in tasks {
        t.await.unwrap_or_else(|e| panic!("a bidder: {e}"));
    }
    let acknowledged = acknowledged
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();

    // Every acknowledged bid is in the log, whichever instance took it.
    for receipt in &acknowledged {
        let events = get(format!(
            "{}/api/v1/events?after={}&limit=1",
            cluster.url(receipt.log_index as usize),
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
    // And the log still verifies from the first entry.
    let state = cluster.work.join("witness.json");
    let verified = Command::new(env!("CARGO_BIN_EXE_tradehall"))
        .args(["log", "verify", "--server"])
        .arg(cluster.url(0))
        .arg("--state")
        .arg(&state)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        verified.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&verified.stderr),
        cluster.logs()
    );
    println!(
        "{} bids acknowledged across a PostgreSQL crash and recovery ({before} before it); {} attempts refused meanwhile",
        acknowledged.len(),
        refused.load(std::sync::atomic::Ordering::SeqCst)
    );
    report_faults("PostgreSQL crash-restart in the middle of intake", 1);
}

/// The regional platform's log origin, its name as a witness.
const REGION_ORIGIN: &str = "region.example.cn/tradehall";

/// Starts `tradehall serve` for a regional platform following `follow`.
fn spawn_region(dir: &Path, database_url: &str, port: u16, follow: &Path) -> Instance {
    let log = std::fs::File::create(dir.join("region.log")).unwrap_or_else(|e| panic!("{e}"));
    let child = Command::new(env!("CARGO_BIN_EXE_tradehall"))
        .arg("serve")
        .arg("--database-url")
        .arg(database_url)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--follow")
        .arg(follow)
        .arg("--log-origin")
        .arg(REGION_ORIGIN)
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    Instance {
        url: format!("http://127.0.0.1:{port}"),
        port,
        child: Some(child),
    }
}

/// The region's view of followed platform `name`.
async fn followed(region: &str, name: &str) -> Value {
    let platforms = get(format!("{region}/api/v1/region/platforms")).await;
    platforms["platforms"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("{name} is not followed: {platforms}"))
}

/// Removes log entries `seq >= from` and the tree nodes over them, as an operator
/// rewriting history would; the server then appends after what is left.
async fn truncate_log(database_url: &str, from: i64) {
    use sqlx::Connection as _;
    let mut db = sqlx::PgConnection::connect(database_url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for table in ["event_audit", "event_sealed", "events"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE seq >= {from}"))
            .execute(&mut db)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    sqlx::query(&format!(
        "DELETE FROM log_nodes WHERE ((idx + 1) << level) > {}",
        from - 1
    ))
    .execute(&mut db)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_region_mirrors_two_prefectures_and_stops_when_one_rewrites_its_log() {
    let admin = admin_url();
    let dbs = [
        ThrowawayPg::create(&admin).await,
        ThrowawayPg::create(&admin).await,
        ThrowawayPg::create(&admin).await,
    ]
    .map(|db| db.unwrap_or_else(|e| panic!("PostgreSQL is needed: {e:#}")));
    // The region's signing key exists first: the prefectures take its cosignatures.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let region_key = tradehall::crypto::platform_key::PlatformKey::load_or_generate(
        &dir.path().join("data").join("keys"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.path().join("region-keys.json"),
        serde_json::json!({ "keys": region_key.published() }).to_string(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let witnesses = dir.path().join("witnesses.toml");
    std::fs::write(
        &witnesses,
        format!(
            "[[witness]]\nname = \"{REGION_ORIGIN}\"\nkeys = \"{}\"\n",
            dir.path().join("region-keys.json").display()
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut prefectures = [
        Cluster::start_witnessed(1, &dbs[0].url, 86_400, Some(witnesses.clone())).await,
        Cluster::start_witnessed(1, &dbs[1].url, 86_400, Some(witnesses)).await,
    ];
    let mut follow = String::new();
    for (name, p) in ["650100", "650200"].iter().zip(&prefectures) {
        let keys = reqwest::get(format!("{}/api/v1/platform/keys", p.url(0)))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .text()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.path().join(format!("{name}-keys.json")), keys)
            .unwrap_or_else(|e| panic!("{e}"));
        follow.push_str(&format!(
            "[[platform]]\nname = \"{name}\"\nurl = \"{}\"\nkeys = \"{name}-keys.json\"\n",
            p.url(0)
        ));
    }
    let follow_path = dir.path().join("follow.toml");
    std::fs::write(&follow_path, follow).unwrap_or_else(|e| panic!("{e}"));
    let region = spawn_region(dir.path(), &dbs[2].url, free_port(), &follow_path);
    wait_up(&region.url).await;
    let region_log = || std::fs::read_to_string(dir.path().join("region.log")).unwrap_or_default();

    // The region catches up with both logs, verified, and lists both prefectures' trades.
    for (name, p) in ["650100", "650200"].iter().zip(&prefectures) {
        let size = log_size(&p.url(0)).await;
        let started = Instant::now();
        while followed(&region.url, name).await["size"]
            .as_i64()
            .unwrap_or(0)
            < size
        {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the region did not mirror {name}: {}\n{}",
                followed(&region.url, name).await,
                region_log()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let listed = get(format!("{}/api/v1/region/trades", region.url)).await;
    for (name, p) in ["650100", "650200"].iter().zip(&prefectures) {
        let own = get(format!("{}/api/v1/trades", p.url(0))).await;
        for t in own["trades"].as_array().into_iter().flatten() {
            assert!(
                listed["trades"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|r| r["platform"] == *name && r["trade"]["id"] == t["id"]),
                "{} of {name} is missing from the region-wide listing: {listed}",
                t["id"]
            );
        }
    }

    // Each prefecture publishes the region's cosignature of a checkpoint the region
    // verified, which anyone checks with the region's key.
    for p in &prefectures {
        let started = Instant::now();
        let cosigned = loop {
            let c = get(format!("{}/api/v1/log/cosignatures", p.url(0))).await;
            if let Some(first) = c["cosignatures"].as_array().and_then(|a| a.first()) {
                break first.clone();
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "no cosignature published: {c}\n{}",
                region_log()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert_eq!(cosigned["witness"], REGION_ORIGIN);
        let note = cosigned["note"].as_str().unwrap_or_default();
        let (signed, line) = note
            .trim_end()
            .rsplit_once('\n')
            .unwrap_or_else(|| panic!("{note}"));
        let checkpoint = tradehall::crypto::checkpoint::Checkpoint::verify(
            &format!("{signed}\n"),
            &serde_json::from_value::<Vec<Value>>(
                get(format!("{}/api/v1/platform/keys", p.url(0))).await["keys"].clone(),
            )
            .unwrap_or_default()
            .iter()
            .map(|k| tradehall::crypto::platform_key::PublicKeyInfo {
                key_id: k["key_id"].as_str().unwrap_or_default().to_owned(),
                algorithm: "Ed25519",
                public_key: k["public_key"].as_str().unwrap_or_default().to_owned(),
            })
            .collect::<Vec<_>>(),
        )
        .unwrap_or_else(|e| panic!("{e}: {note}"));
        assert!(checkpoint
            .verify_cosignature(line, REGION_ORIGIN, &region_key.published())
            .is_ok());
        // A cosignature by anyone else is refused.
        let forged = checkpoint.cosign("someone.else/log", &region_key, 1);
        let refused = reqwest::Client::new()
            .post(format!("{}/api/v1/log/cosignatures", p.url(0)))
            .json(
                &serde_json::json!({ "checkpoint": format!("{signed}\n"), "cosignature": forged }),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(refused.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    }

    // The second prefecture rewrites the end of its history and grows past it.
    let seen = followed(&region.url, "650200").await["size"]
        .as_i64()
        .unwrap_or_default();
    truncate_log(&dbs[1].url, seen - 1).await;
    prefectures[1].restart_forgetting_what_was_signed().await;
    let (tender, _) = prefectures[1].trade("construction_tender").await;
    prefectures[1].committee_keys(&tender).await;
    let started = Instant::now();
    loop {
        let view = followed(&region.url, "650200").await;
        if let Some(why) = view["halted"].as_str() {
            // The region may look while the log is shorter than what it saw ("shrank") or
            // after it grew past it ("rewritten"): either halts the mirror. The rewritten
            // case on its own is pinned in tests/api/region.rs.
            assert!(why.contains("rewritten") || why.contains("shrank"), "{why}");
            // Nothing of the forged history was taken in.
            assert_eq!(view["size"].as_i64(), Some(seen), "{view}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the rewrite was not detected: {view}\n{}",
            region_log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Loudly: a public entry in the region's log, so on every feed.
    let events = get(format!("{}/api/v1/events?after=0&limit=1000", region.url)).await;
    let halted: Vec<&Value> = events["events"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| &e["entry"])
        .filter(|e| e["kind"] == "mirror.halted")
        .collect();
    assert_eq!(halted.len(), 1, "{events}");
    assert_eq!(halted[0]["data"]["platform"], "650200");
    assert_eq!(halted[0]["data"]["verified_size"], seen);
    // The honest prefecture is still followed.
    let honest = followed(&region.url, "650100").await;
    assert!(honest["halted"].is_null(), "{honest}");
}
