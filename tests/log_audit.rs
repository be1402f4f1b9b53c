//! The log audits itself (issue 29; docs/transparency-log.md, "The platform audits its
//! own log"): a real server process whose database is changed behind its back while it
//! is stopped, or while it runs, on SQLite and on PostgreSQL. It halts instead of failing
//! every write with a 500, never signs a checkpoint that contradicts one it signed, and
//! serves proofs computed from the entries it serves.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::{free_port, get, wait_up};
use serde_json::Value;
use tradehall::domain::merkle;

/// A `tradehall demo --manual` process (its seeding writes the log) on its data directory.
struct Server {
    data: PathBuf,
    port: u16,
    url: String,
    database_url: String,
    child: Option<Child>,
    runs: usize,
}

impl Server {
    fn new(data: &Path, database_url: Option<String>) -> Self {
        let port = free_port();
        Self {
            data: data.to_path_buf(),
            port,
            url: format!("http://127.0.0.1:{port}"),
            database_url: database_url
                .unwrap_or_else(|| format!("sqlite:{}", data.join("tradehall.db").display())),
            child: None,
            runs: 0,
        }
    }

    fn log(&self) -> PathBuf {
        self.data
            .with_file_name(format!("server-{}.log", self.runs))
    }

    async fn start(&mut self) {
        self.runs += 1;
        let stderr = std::fs::File::create(self.log()).unwrap_or_else(|e| panic!("{e}"));
        let child = Command::new(env!("CARGO_BIN_EXE_tradehall"))
            .args([
                "demo",
                "--manual",
                "--listen",
                &format!("127.0.0.1:{}", self.port),
            ])
            .arg("--data-dir")
            .arg(&self.data)
            .arg("--database-url")
            .arg(&self.database_url)
            .arg("--web-dir")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("web"))
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        self.child = Some(child);
        // Up, or up and halted (503 on /healthz with a reason).
        let started = Instant::now();
        while reqwest::get(format!("{}/healthz", self.url)).await.is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the server did not come up"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }

    async fn health(&self) -> (u16, Value) {
        let resp = reqwest::get(format!("{}/healthz", self.url))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Signs a checkpoint of the log as it is: the platform keeps it as its newest.
    async fn checkpoint(&self) -> (u16, String) {
        let resp = reqwest::get(format!("{}/api/v1/log/checkpoint", self.url))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        (
            resp.status().as_u16(),
            resp.text().await.unwrap_or_default(),
        )
    }

    async fn exec(&self, sql: &str) {
        if self.database_url.starts_with("sqlite:") {
            let pool = sqlx::SqlitePool::connect(&self.database_url)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            sqlx::query(sql)
                .execute(&pool)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            pool.close().await;
        } else {
            let pool = sqlx::PgPool::connect(&self.database_url)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            sqlx::query(sql)
                .execute(&pool)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            pool.close().await;
        }
    }

    async fn count(&self, sql: &str) -> i64 {
        if self.database_url.starts_with("sqlite:") {
            let pool = sqlx::SqlitePool::connect(&self.database_url)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let (n,): (i64,) = sqlx::query_as(sql)
                .fetch_one(&pool)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            n
        } else {
            let pool = sqlx::PgPool::connect(&self.database_url)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let (n,): (i64,) = sqlx::query_as(sql)
                .fetch_one(&pool)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            n
        }
    }

    /// Removes entries `from..` with their audit, sealed data and, if `nodes`, tree nodes.
    async fn remove_from(&self, from: u64, nodes: bool) {
        for table in ["event_audit", "event_sealed", "events"] {
            self.exec(&format!("DELETE FROM {table} WHERE seq >= {from}"))
                .await;
        }
        if nodes {
            // Every node that covers a leaf at index from - 1 or after.
            self.exec(&format!(
                "DELETE FROM log_nodes WHERE ((idx + 1) << level) > {}",
                from - 1
            ))
            .await;
        }
    }

    /// A write as a user makes one: an identity issued from the demo's PKI registered.
    fn register_someone(&self, name: &str) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_tradehall"))
            .args(["pki", "issue"])
            .arg(self.data.join("pki"))
            .args([
                "--name",
                name,
                "--role",
                "bidder",
                "--organization",
                "新疆测试有限公司",
            ])
            .args(["--server", &self.url])
            .output()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Waits until `/healthz` says the log halted; its reason.
    async fn halted(&self, within: Duration) -> String {
        let started = Instant::now();
        loop {
            let (status, health) = self.health().await;
            if status == 503 && health["status"] == "log_halted" {
                return health["reason"].as_str().unwrap_or_default().to_owned();
            }
            assert!(
                started.elapsed() < within,
                "the log did not halt: {status} {health}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// What a halted server shows: writes refused with `log_halted`, no checkpoint
    /// signed, the reason in its log, a red alert kept for the supervisors.
    async fn shows_it_halted(&self) {
        let refused = self.register_someone("after-halt");
        assert!(!refused.status.success());
        let said = String::from_utf8_lossy(&refused.stderr);
        assert!(said.contains("log_halted"), "{said}");
        assert_eq!(self.checkpoint().await.0, 503, "nothing is signed");
        // Reading goes on.
        let trades = get(format!("{}/api/v1/trades", self.url)).await;
        assert!(trades["trades"].is_array(), "{trades}");
        let log = std::fs::read_to_string(self.log()).unwrap_or_default();
        assert!(log.contains("takes no more entries"), "{log}");
        assert_eq!(
            self.count(
                "SELECT COUNT(*) FROM alerts WHERE rule = 'log_halted' AND severity = 'red'"
            )
            .await,
            1
        );
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A demo that has seeded its data and signed a checkpoint of it; its size.
async fn signed(server: &mut Server) -> u64 {
    server.start().await;
    wait_up(&server.url).await;
    let (status, note) = server.checkpoint().await;
    assert_eq!(status, 200, "{note}");
    let size = note
        .lines()
        .nth(1)
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    assert!(size > 20, "{note}");
    assert!(
        server
            .data
            .join("keys")
            .join("signed-checkpoint.json")
            .exists(),
        "the newest checkpoint signed is kept next to the key"
    );
    size
}

async fn a_deleted_newest_entry_halts_the_log(database_url: Option<String>) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut server = Server::new(&dir.path().join("data"), database_url);
    let size = signed(&mut server).await;
    server.stop();
    server.remove_from(size, false).await;
    server.start().await;
    let why = server.halted(Duration::from_secs(10)).await;
    assert!(why.contains("entries but its Merkle tree"), "{why}");
    server.shows_it_halted().await;
}

async fn a_forked_tail_is_never_signed(database_url: Option<String>) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut server = Server::new(&dir.path().join("data"), database_url);
    let size = signed(&mut server).await;
    server.stop();
    // The last three entries removed with their nodes: the tree agrees with the entries,
    // and new entries would grow a tail of their own.
    server.remove_from(size - 2, true).await;
    server.start().await;
    let why = server.halted(Duration::from_secs(10)).await;
    assert!(why.contains("fewer than"), "{why}");
    server.shows_it_halted().await;
}

async fn an_altered_entry_is_found_and_its_proof_does_not_verify(database_url: Option<String>) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut server = Server::new(&dir.path().join("data"), database_url.clone());
    let size = signed(&mut server).await;
    let (_, note) = server.checkpoint().await;
    let root = base64::engine::general_purpose::STANDARD
        .decode(note.lines().nth(2).unwrap_or_default())
        .unwrap_or_default();
    server.stop();
    // Entry 5's bytes changed, its leaf left as it was: the start-up checks, which look
    // at the newest entry and the signed root of the tree, do not see it; the audit does.
    let changed = if database_url.is_some() {
        "UPDATE events SET entry = entry || '\\x20'::bytea WHERE seq = 5"
    } else {
        "UPDATE events SET entry = entry || x'20' WHERE seq = 5"
    };
    server.exec(changed).await;
    server.start().await;
    // The proof names the leaf of the bytes served, which does not lead to the signed root.
    let proof = get(format!(
        "{}/api/v1/log/proof/inclusion?index=4&size={size}",
        server.url
    ))
    .await;
    let entries = get(format!("{}/api/v1/log/entries?start=4&end=5", server.url)).await;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(entries["entries"][0]["entry"].as_str().unwrap_or_default())
        .unwrap_or_default();
    let leaf = merkle::leaf_hash(&bytes);
    assert_eq!(proof["leaf_hash"], hex::encode(leaf), "{proof}");
    let path: Vec<merkle::Hash> = proof["proof"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|h| hex::decode(h.as_str()?).ok()?.try_into().ok())
        .collect();
    let signed_root: merkle::Hash = root.try_into().unwrap_or([0; 32]);
    assert!(!merkle::verify_inclusion(
        4,
        size,
        &leaf,
        &path,
        &signed_root
    ));
    let why = server.halted(Duration::from_secs(20)).await;
    assert!(why.contains("entry 5"), "{why}");
    server.shows_it_halted().await;
}

async fn an_entry_filed_under_no_trade_halts_the_log(database_url: Option<String>) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut server = Server::new(&dir.path().join("data"), database_url);
    signed(&mut server).await;
    server.stop();
    // A trade's newest entry no longer filed under it: its bytes still name the trade,
    // which is what archives go by (docs/archive.md).
    server
        .exec(
            "UPDATE events SET trade_id = NULL WHERE seq = \
             (SELECT MAX(seq) FROM events WHERE trade_id IS NOT NULL)",
        )
        .await;
    server.start().await;
    let why = server.halted(Duration::from_secs(20)).await;
    assert!(why.contains("the database files it under none"), "{why}");
    server.shows_it_halted().await;
}

async fn postgres() -> tradehall::bench::pg::ThrowawayPg {
    let admin = std::env::var("TRADEHALL_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    tradehall::bench::pg::ThrowawayPg::create(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {admin} is needed: {e:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_newest_entry_halts_the_log_on_sqlite() {
    a_deleted_newest_entry_halts_the_log(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_newest_entry_halts_the_log_on_postgres() {
    let pg = postgres().await;
    a_deleted_newest_entry_halts_the_log(Some(pg.url.clone())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forked_tail_is_never_signed_on_sqlite() {
    a_forked_tail_is_never_signed(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forked_tail_is_never_signed_on_postgres() {
    let pg = postgres().await;
    a_forked_tail_is_never_signed(Some(pg.url.clone())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_altered_entry_is_found_and_its_proof_does_not_verify_on_sqlite() {
    an_altered_entry_is_found_and_its_proof_does_not_verify(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_altered_entry_is_found_and_its_proof_does_not_verify_on_postgres() {
    let pg = postgres().await;
    an_altered_entry_is_found_and_its_proof_does_not_verify(Some(pg.url.clone())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_filed_under_no_trade_halts_the_log_on_sqlite() {
    an_entry_filed_under_no_trade_halts_the_log(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_filed_under_no_trade_halts_the_log_on_postgres() {
    let pg = postgres().await;
    an_entry_filed_under_no_trade_halts_the_log(Some(pg.url.clone())).await;
}
