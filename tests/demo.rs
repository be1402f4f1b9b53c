//! The demo as a newcomer runs it: the real `tradehall demo` process with its automatic
//! participants, accelerated, on SQLite and on PostgreSQL. One test follows the whole
//! story and checks every stage it passes through on the server, then verifies the log
//! and replays the sales with the CLI; another kills the demo in the middle of the
//! tender's evaluation, starts it again on the same data directory, and checks that the
//! story goes on to its end with no step logged twice.

#[allow(dead_code)]
#[path = "api/browser.rs"]
mod browser;
mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, get, wait_up};

use serde_json::Value;
use tradehall::client::session::{login, Credentials, Session};

/// A demo process on its data directory.
struct Demo {
    data: PathBuf,
    port: u16,
    url: String,
    database_url: Option<String>,
    pace_ms: u64,
    child: Option<Child>,
    /// The stdout of each run, in order.
    runs: Vec<PathBuf>,
}

impl Demo {
    fn new(data: &Path, database_url: Option<String>, pace_ms: u64) -> Self {
        let port = free_port();
        Self {
            data: data.to_path_buf(),
            port,
            url: format!("http://127.0.0.1:{port}"),
            database_url,
            pace_ms,
            child: None,
            runs: Vec::new(),
        }
    }

    async fn start(&mut self) {
        let out = self
            .data
            .with_file_name(format!("demo-{}.out", self.runs.len() + 1));
        let stdout = std::fs::File::create(&out).unwrap_or_else(|e| panic!("{e}"));
        let mut command = Command::new(env!("CARGO_BIN_EXE_tradehall"));
        command
            .args(["demo", "--tender-time-scale", "86400"])
            .args(["--listing-time-scale", "86400"])
            .arg("--pace-ms")
            .arg(self.pace_ms.to_string())
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--data-dir")
            .arg(&self.data)
            .arg("--web-dir")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("web"))
            .stdout(stdout)
            .stderr(Stdio::null());
        if let Some(url) = &self.database_url {
            command.arg("--database-url").arg(url);
        }
        self.child = Some(command.spawn().unwrap_or_else(|e| panic!("{e}")));
        self.runs.push(out);
        wait_up(&self.url).await;
    }

    /// What the current run has printed.
    fn said(&self) -> String {
        self.runs
            .last()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_default()
    }

    /// Waits until the current run prints `line`; fails after `limit`, showing the output.
    async fn wait_for_line(&self, line: &str, limit: Duration) {
        let started = Instant::now();
        while !self.said().contains(line) {
            assert!(
                started.elapsed() < limit,
                "the demo did not say {line:?} within {limit:?}:\n{}",
                self.said()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    async fn get(&self, path: &str) -> Value {
        get(format!("{}{path}", self.url)).await
    }

    /// A session of the demo identity `name`, as its user signs in.
    async fn session(&self, name: &str) -> Session {
        let dir = self.data.join("pki").join(name);
        login(&Credentials {
            server: &self.url,
            cert: &dir.join("cert.pem"),
            key: &dir.join("key.pem"),
        })
        .await
        .unwrap_or_else(|e| panic!("{name}: {e:#}"))
    }

    /// The demo trade of `kind`.
    async fn trade(&self, kind: &str) -> String {
        let trades = self.get("/api/v1/trades?limit=50").await;
        trades["trades"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| t["kind"] == kind)
            .and_then(|t| t["id"].as_str())
            .unwrap_or_else(|| panic!("no demo {kind}: {trades}"))
            .to_owned()
    }

    /// Every log entry, in order.
    async fn entries(&self) -> Vec<Value> {
        let mut all = Vec::new();
        loop {
            let page = self
                .get(&format!("/api/v1/events?after={}&limit=1000", all.len()))
                .await;
            let events = page["events"].as_array().cloned().unwrap_or_default();
            let done = events.len() < 1000;
            all.extend(events.into_iter().map(|e| e["entry"].clone()));
            if done {
                return all;
            }
        }
    }

    /// Runs `tradehall <args> --server URL` and asserts it succeeds; returns its output.
    fn cli(&self, args: &[&str]) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_tradehall"))
            .args(args)
            .arg("--server")
            .arg(&self.url)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            out.status.success(),
            "tradehall {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// How long the whole accelerated story may take.
const STORY: Duration = Duration::from_secs(300);

const TOLD: &str = "every story is told";

fn count(entries: &[Value], trade: Option<&str>, kind: &str) -> usize {
    entries
        .iter()
        .filter(|e| e["kind"] == kind && trade.is_none_or(|t| e["trade"] == t))
        .count()
}

async fn postgres() -> tradehall::bench::pg::ThrowawayPg {
    let admin = std::env::var("TRADEHALL_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    tradehall::bench::pg::ThrowawayPg::create(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {admin} is needed: {e:#}"))
}

/// Follows the whole demo to its end and checks every stage on the server.
async fn the_whole_demo(database_url: Option<String>) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut demo = Demo::new(&dir.path().join("demo-data"), database_url, 100);
    demo.start().await;
    let said = demo.said();
    for role in ["bidder", "centre", "custodian", "expert", "supervisor"] {
        assert!(said.contains(role), "the tour names the {role}: {said}");
    }
    assert!(said.contains("#/signin") && said.contains("pki/bidder-1/cert.pem"));
    demo.wait_for_line(TOLD, STORY).await;

    let tender = demo.trade("construction_tender").await;
    let land = demo.trade("land_use_right").await;
    let asset = demo.trade("state_asset").await;
    let mining = demo.trade("mining_right").await;
    let procurement = demo.trade("government_procurement").await;
    let entries = demo.entries().await;
    let of = |trade: &str, kind: &str| count(&entries, Some(trade), kind);

    // The opening: five bids revealed at once in a signed record.
    let hall = demo.get(&format!("/api/v1/trades/{tender}/opening")).await;
    let record = &hall["opening"]["record"];
    assert_eq!(record["outcome"], "opened", "{hall}");
    assert_eq!(record["bids"].as_array().map(Vec::len), Some(5));
    assert!(hall["opening"]["signature"].is_string());
    // The draw, seeded by the log; public since the award, rerun by anyone.
    assert_eq!(of(&tender, "evaluation.drawn"), 1);
    let verified = demo.cli(&["verify", "draw", "--trade", &tender]);
    assert!(verified.contains("draw OK"), "{verified}");
    // Five signed sheets, a report signed by all five (one with a dissent); the fifth
    // bidder's bid failed by a majority of the committee.
    let evaluation = demo
        .get(&format!("/api/v1/trades/{tender}/evaluation"))
        .await;
    assert_eq!(evaluation["stage"], "done", "{evaluation}");
    assert_eq!(
        (
            of(&tender, "evaluation.sheet"),
            of(&tender, "evaluation.signed")
        ),
        (5, 5)
    );
    let report = demo
        .get(&format!("/api/v1/trades/{tender}/evaluation/report"))
        .await;
    let signatures = report["signatures"].as_array().cloned().unwrap_or_default();
    assert_eq!(signatures.len(), 5, "{report}");
    assert_eq!(
        signatures
            .iter()
            .filter(|s| s["dissent"].as_str().is_some_and(|d| !d.is_empty()))
            .count(),
        1
    );
    // The candidates publicised, an objection answered, the award, the contract.
    assert_eq!(of(&tender, "candidates.published"), 1);
    assert_eq!(of(&tender, "objection.filed"), 1);
    assert_eq!(of(&tender, "objection.answered"), 1);
    let result = demo.get(&format!("/api/v1/trades/{tender}/result")).await;
    let candidates: Vec<&str> = result["candidates"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["organization"]["name"].as_str())
        .collect();
    assert_eq!(candidates.len(), 3, "{result}");
    assert!(
        !candidates.contains(&"伊犁河谷水利水电工程有限公司"),
        "the failed bid is not a candidate: {candidates:?}"
    );
    assert_eq!(
        result["award"]["winner"]["organization"]["name"], "新疆昆仑路桥工程有限责任公司",
        "{result}"
    );
    assert_eq!(result["status"], "contracted", "{result}");
    assert!(result["contract"].is_object(), "{result}");
    // Every bond paid back by the dev bank.
    let centre = demo.session("officer").await;
    let money = centre
        .get(&format!("/api/v1/trades/{tender}/money"))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(money["settled"], true, "{money}");
    assert_eq!(money["balance"]["refunded"], 5 * 24_000_000, "{money}");

    // The land listing sold above its sealed reserve.
    let sale = demo.get(&format!("/api/v1/trades/{land}/sale")).await;
    assert_eq!(sale["result"]["outcome"], "sold", "{sale}");
    assert_eq!(sale["reserve"]["status"], "opened", "{sale}");
    // The state asset: suspended and resumed with public reasons, then sold by bidding.
    let sale = demo.get(&format!("/api/v1/trades/{asset}/sale")).await;
    assert_eq!(sale["result"]["outcome"], "sold", "{sale}");
    assert_eq!(sale["result"]["by"], "quote", "{sale}");
    for kind in ["trade.suspended", "trade.resumed"] {
        let entry = entries
            .iter()
            .find(|e| e["kind"] == kind && e["trade"] == asset.as_str())
            .unwrap_or_else(|| panic!("no {kind} of the state asset"));
        assert!(entry["data"]["reason"]
            .as_str()
            .is_some_and(|r| !r.is_empty()));
    }
    // The mining right: below its sealed reserve, not sold (流拍), and why is public.
    let sale = demo.get(&format!("/api/v1/trades/{mining}/sale")).await;
    assert_eq!(sale["result"]["outcome"], "failed", "{sale}");
    assert_eq!(sale["result"]["reason"], "below_reserve", "{sale}");
    let hall = demo.get(&format!("/api/v1/trades/{mining}/opening")).await;
    let reason = hall["opening"]["record"]["reason"]
        .as_str()
        .unwrap_or_default();
    assert!(reason.contains("流拍"), "{hall}");

    // The supervisor took the worst alert of the opening through its workflow.
    let supervisor = demo.session("supervisor").await;
    let alerts = supervisor
        .get(&format!("/api/v1/alerts?trade={tender}&status=closed"))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let closed = alerts["alerts"].as_array().cloned().unwrap_or_default();
    assert_eq!(closed.len(), 1, "{alerts}");
    let id = closed[0]["id"].as_str().unwrap_or_default();
    let alert = supervisor
        .get(&format!("/api/v1/alerts/{id}"))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let steps: Vec<&str> = alert["history"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|h| h["step"].as_str())
        .collect();
    assert_eq!(steps, ["assign", "handle", "close"], "{alert}");
    assert!(alert["history"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|h| h["note"].as_str().is_some_and(|n| !n.is_empty())));

    // The procurement's committee is ready for a person's bid.
    let trade = demo.get(&format!("/api/v1/trades/{procurement}")).await;
    assert_eq!(trade["committee_ready"], true, "{trade}");

    notices_in_the_browser(&demo, database_url_label(&demo)).await;

    // Anyone can check it all.
    let verified = demo.cli(&["log", "verify"]);
    assert!(verified.contains("log OK"), "{verified}");
    for sale in [&land, &asset, &mining] {
        let replayed = demo.cli(&["replay", "--trade", sale]);
        assert!(replayed.contains("replay OK"), "{replayed}");
    }

    // Started again on the finished story, the demo tells how it ended and does nothing
    // more: besides its participants' sign-ins, not one entry.
    demo.kill9();
    demo.start().await;
    demo.wait_for_line(TOLD, STORY).await;
    let again: Vec<Value> = demo
        .entries()
        .await
        .split_off(entries.len())
        .into_iter()
        .filter(|e| e["kind"] != "identity.logged_in" && e["kind"] != "confidential.read")
        .collect();
    assert!(again.is_empty(), "a finished demo did more: {again:?}");
}

fn database_url_label(demo: &Demo) -> &'static str {
    if demo.database_url.is_some() {
        "postgres"
    } else {
        "sqlite"
    }
}

/// Every notice of every demo trade, as the public reads them (issue 32): in Chinese and
/// in English, on a desktop and on a 390 px phone. Each page is checked before its
/// screenshot (axe-core, nothing wider than the window, no bare region code), the English
/// ones for Chinese left untranslated, and the walk fails on any console error.
async fn notices_in_the_browser(demo: &Demo, backend: &str) {
    let mut browser = browser::Browser::open(&format!("demo-notices-{backend}")).await;
    let trades = demo.get("/api/v1/trades?limit=50").await;
    let mut pages = Vec::new();
    for trade in trades["trades"].as_array().into_iter().flatten() {
        let id = trade["id"].as_str().unwrap_or_default();
        let title = trade["title"].as_str().unwrap_or_default();
        browser.goto(&format!("{}/#/trades/{id}", demo.url)).await;
        browser.wait_text("[data-testid=notice-list]", "公告").await;
        let links = browser
            .client
            .execute(
                "return [...document.querySelectorAll('[data-testid=notice-list] a')].map(a => a.getAttribute('href'));",
                vec![],
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let links: Vec<String> = serde_json::from_value(links).unwrap_or_default();
        assert!(!links.is_empty(), "{title} lists no notice");
        pages.extend(links.into_iter().map(|l| (title.to_owned(), l)));
    }
    let kinds: std::collections::BTreeSet<&str> = trades["trades"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["kind"].as_str())
        .collect();
    assert_eq!(kinds.len(), 5, "every kind of the demo: {kinds:?}");
    let procurement = trades["trades"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["kind"] == "government_procurement")
        .and_then(|t| t["title"].as_str())
        .unwrap_or_default();
    let shown: Vec<&str> = pages
        .iter()
        .map(|(_, l)| l.rsplit('/').next().unwrap_or_default())
        .collect();
    for key in ["announcement", "opening", "candidates", "award", "contract"] {
        assert!(
            shown.contains(&key),
            "the tender's {key} notice is listed: {shown:?}"
        );
    }
    for (english, phone) in [(false, false), (false, true), (true, true), (true, false)] {
        browser
            .set_size(
                if phone { 390 } else { 1280 },
                if phone { 844 } else { 900 },
            )
            .await;
        let lang = browser
            .client
            .execute("return document.documentElement.lang;", vec![])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        if (lang == "en") != english {
            // The header's language button; the choice is kept for the next pages.
            browser.click("header > button.lang").await;
            browser
                .wait_text("header", if english { "Sign in" } else { "登录" })
                .await;
        }
        // The calendar of openings and auctions: the procurement opens today.
        browser.goto(&format!("{}/#/calendar", demo.url)).await;
        browser
            .wait_text("[data-testid=calendar]", procurement)
            .await;
        if english {
            browser.assert_english("calendar").await;
        }
        browser
            .screenshot(&format!(
                "calendar-{}-{}",
                if english { "en" } else { "zh" },
                if phone { "phone" } else { "desktop" }
            ))
            .await;
        for (title, link) in &pages {
            browser.goto(&format!("{}/{link}", demo.url)).await;
            browser
                .wait_text("[data-testid=notice-page] h1", title)
                .await;
            let key = link.rsplit('/').next().unwrap_or_default();
            if english {
                browser.assert_english(link).await;
            }
            browser
                .screenshot(&format!(
                    "{key}-{}-{}",
                    if english { "en" } else { "zh" },
                    if phone { "phone" } else { "desktop" }
                ))
                .await;
        }
    }
    browser.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_demo_plays_to_its_end_on_sqlite() {
    the_whole_demo(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_demo_plays_to_its_end_on_postgres() {
    let pg = postgres().await;
    the_whole_demo(Some(pg.url.clone())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demo_restarted_in_the_middle_of_the_evaluation_goes_on_and_logs_nothing_twice() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    // A slower pace: the experts sign their sheets about a second apart.
    let mut demo = Demo::new(&dir.path().join("demo-data"), None, 800);
    demo.start().await;
    let tender = demo.trade("construction_tender").await;
    let evaluation = format!("/api/v1/trades/{tender}/evaluation");
    let started = Instant::now();
    loop {
        let progress = demo.get(&evaluation).await;
        let sheets = progress["sheets"].as_u64().unwrap_or_default();
        if progress["stage"] == "scoring" && (1..5).contains(&sheets) {
            break;
        }
        assert!(
            progress["stage"] != "signing" && progress["stage"] != "done",
            "the evaluation went past its sheets before the test could stop it"
        );
        assert!(
            started.elapsed() < STORY,
            "no sheet was signed:\n{}",
            demo.said()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    demo.kill9();
    let entries_at_kill = demo_entries_offline(&demo).await;

    demo.start().await;
    assert!(demo.said().contains("resuming"), "{}", demo.said());
    demo.wait_for_line(TOLD, STORY).await;
    let entries = demo.entries().await;
    assert!(entries.len() > entries_at_kill);
    let of = |trade: &str, kind: &str| count(&entries, Some(trade), kind);
    for (kind, expected) in [
        ("trade.custodian_key_registered", 3),
        ("opening.completed", 1),
        ("evaluation.drawn", 1),
        ("evaluation.sheet", 5),
        ("evaluation.reported", 1),
        ("evaluation.signed", 5),
        ("candidates.published", 1),
        ("objection.filed", 1),
        ("objection.answered", 1),
        ("award.notified", 1),
        ("contract.recorded", 1),
    ] {
        assert_eq!(of(&tender, kind), expected, "{kind} of the tender");
    }
    // Five bids; five bonds and six deposits (three land, two state asset, one mining)
    // reported once each; nine refunds (five bonds, two land and one state-asset loser,
    // the mining bidder) sent and paid once each.
    assert_eq!(count(&entries, None, "bid.received"), 5);
    assert_eq!(count(&entries, None, "application.submitted"), 6);
    assert_eq!(count(&entries, None, "refund.sent"), 9);
    assert_eq!(count(&entries, None, "bank.notification"), 5 + 6 + 9);
    for kind in ["reserve.sealed", "trade.suspended", "trade.resumed"] {
        assert!(count(&entries, None, kind) <= 2, "{kind} logged twice");
    }
    let verified = demo.cli(&["log", "verify"]);
    assert!(verified.contains("log OK"), "{verified}");
    common::report_faults(
        "kill -9 of the demo in the middle of the tender's evaluation, story resumed (SQLite)",
        1,
    );
}

/// The log's size as the killed demo left it, read from its SQLite database.
async fn demo_entries_offline(demo: &Demo) -> usize {
    let db = demo.data.join("tradehall.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite:{}", db.display()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM events")
        .fetch_one(&pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    pool.close().await;
    usize::try_from(n).unwrap_or_default()
}
