//! `spawn_app`: a real server on a loopback port, over SQLite or a fresh PostgreSQL
//! database, with a manual clock and a throwaway PKI.

use base64::Engine as _;
use chrono::{DateTime, Duration, TimeZone, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;

use tradehall::config::{Mode, ServeArgs};
use tradehall::crypto::pki::{DevCa, IdentitySpec, IssuedIdentity, KeyUsageProfile};
use tradehall::crypto::signer::Signer;
use tradehall::domain::clock::ManualClock;
use tradehall::domain::usci::Usci;
use tradehall::engine::Platform;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each listed scenario `async fn name(backend: Backend)` once per backend.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name($crate::helpers::Backend::Sqlite).await } )*
        }
        mod postgres {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name($crate::helpers::Backend::Postgres).await } )*
        }
    };
}

/// A PostgreSQL database that exists for one test and is dropped after it, even if the
/// test panics.
pub type PgDatabase = tradehall::bench::pg::ThrowawayPg;

async fn create_pg() -> PgDatabase {
    let admin_url = std::env::var("TRADEHALL_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    PgDatabase::create(&admin_url).await.unwrap_or_else(|e| {
        panic!("PostgreSQL at {admin_url} is needed for the PostgreSQL suite: {e:#}")
    })
}

/// The store URL for a backend, and what must live as long as the test.
pub async fn database(backend: Backend, dir: &std::path::Path) -> (String, Option<PgDatabase>) {
    match backend {
        Backend::Sqlite => (format!("sqlite:{}", dir.join("test.db").display()), None),
        Backend::Postgres => {
            let db = create_pg().await;
            (db.url.clone(), Some(db))
        }
    }
}

/// A certificate holder the test can act as.
pub struct User {
    pub identity: Value,
    pub token: String,
    pub cert_pem: String,
    pub signer: Signer,
    /// The private key, PKCS#8 DER (for driving the CLI).
    pub key_pkcs8: Vec<u8>,
}

impl User {
    pub fn id(&self) -> String {
        self.identity["id"].as_str().unwrap_or_default().to_owned()
    }
}

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub clock: Arc<ManualClock>,
    pub platform: Arc<Platform>,
    pub ca_a: DevCa,
    pub ca_b: DevCa,
    /// Keeps the CA files and SQLite database alive for the test.
    pub _dir: tempfile::TempDir,
    pub admin: Option<User>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    _pg: Option<PgDatabase>,
    /// The store's URL, for tests that tamper with the database behind the server's back.
    pub database_url: String,
    /// The router's debug form, which names every route (tests/api/authz.rs).
    pub router_debug: String,
    orgs: std::sync::atomic::AtomicU32,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// 2026-11-28 09:00 Asia/Shanghai, a fixed start for every test clock.
pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 1, 0, 0)
        .single()
        .unwrap_or_default()
}

pub fn write(dir: &std::path::Path, name: &str, data: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, data).unwrap_or_else(|e| panic!("write {name}: {e}"));
    path
}

pub fn spec(cn: &str, org: &str, usci: Option<&Usci>, profile: KeyUsageProfile) -> IdentitySpec {
    let now = start_time();
    IdentitySpec {
        common_name: cn.into(),
        organization: org.into(),
        usci: usci.cloned(),
        not_before: now - Duration::days(1),
        not_after: now + Duration::days(365),
        key_usage: profile,
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, Mode::Demo, |_| {}).await
}

/// Spawns a server; `extra` may add trusted CAs and CRLs to the configuration.
pub async fn spawn_app_with(
    backend: Backend,
    mode: Mode,
    extra: impl FnOnce(&mut ServeArgs),
) -> TestApp {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let now = start_time();
    let ca_a = DevCa::new(
        "Test CA A",
        now - Duration::days(10),
        now + Duration::days(3650),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let ca_b = DevCa::new(
        "Test CA B",
        now - Duration::days(10),
        now + Duration::days(3650),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut crls = Vec::new();
    let mut cas = Vec::new();
    for (name, ca) in [("a", &ca_a), ("b", &ca_b)] {
        cas.push(write(
            dir.path(),
            &format!("ca-{name}.pem"),
            ca.cert_pem().as_bytes(),
        ));
        // A CRL valid as long as the tests move their clock: a session's certificate is
        // checked against it at every action (tests/revocation.rs lets one run out).
        let crl = ca
            .crl(&[], now - Duration::days(1), now + Duration::days(365))
            .unwrap_or_else(|e| panic!("{e}"));
        crls.push(write(dir.path(), &format!("crl-{name}.der"), &crl));
    }
    let admin_usci = usci("91650000ADMN00001");
    let admin_cert = ca_a
        .issue(&spec(
            "admin",
            "自治区公共资源交易监督管理局",
            Some(&admin_usci),
            KeyUsageProfile::Signing,
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    let admin_path = write(dir.path(), "admin.pem", admin_cert.cert_pem.as_bytes());
    let (database_url, pg) = database(backend, dir.path()).await;
    let mut args = ServeArgs {
        listen: "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}")),
        tls_cert: None,
        tls_key: None,
        database_url: Some(database_url.clone()),
        read_database_url: None,
        instance_url: None,
        data_dir: dir.path().to_path_buf(),
        key_dir: None,
        trust_ca: cas,
        crl: crls,
        trust_reload_seconds: 300,
        log_audit_seconds: 60,
        admin_cert: vec![admin_path],
        rulebook: None,
        region_rulebook: None,
        follow: None,
        witnesses: None,
        calendar: None,
        bank_secrets: None,
        mode,
        max_body_bytes: 64 * 1024,
        max_document_bytes: 1024 * 1024,
        max_envelope_bytes: 64 * 1024 * 1024,
        log_origin: "test.tradehall.local/log".into(),
        public_url: "https://tradehall.local".into(),
        ocds_prefix: "ocds-th0dev".into(),
        ocds_publisher: "tradehall 公共资源交易平台".into(),
        web_dir: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web"),
        session_minutes: 60 * 24 * 365,
        challenge_seconds: 120,
        // Tests drive many users from one address; tests/api/limits.rs sets its own.
        limits: tradehall::config::LimitArgs::unlimited(),
    };
    extra(&mut args);
    let clock = Arc::new(ManualClock::new(now));
    let (platform, router) = tradehall::server::build(&args, clock.clone())
        .await
        .unwrap_or_else(|e| panic!("build: {e}"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let connections = (&args.limits).into();
    let router_debug = format!("{router:?}");
    tokio::spawn(tradehall::http::serve(
        listener,
        router,
        connections,
        async {
            let _ = rx.await;
        },
    ));
    let mut app = TestApp {
        base: format!("http://{addr}"),
        http: reqwest::Client::new(),
        clock,
        platform,
        ca_a,
        ca_b,
        _dir: dir,
        admin: None,
        shutdown: Some(tx),
        _pg: pg,
        database_url,
        router_debug,
        orgs: std::sync::atomic::AtomicU32::new(0),
    };
    let admin = app
        .enroll(
            &admin_cert,
            "自治区公共资源交易监督管理局",
            &admin_usci,
            "admin",
        )
        .await;
    app.admin = Some(admin);
    app
}

pub fn usci(first17: &str) -> Usci {
    Usci::complete(first17).unwrap_or_else(|e| panic!("{first17}: {e}"))
}

pub fn sign_b64(signer: &Signer, message: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(
        signer
            .sign(message.as_bytes())
            .unwrap_or_else(|e| panic!("{e}")),
    )
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The body of an anonymous GET of `path` as text (a checkpoint note, a bulk stream).
    pub async fn text(&self, path: &str) -> String {
        self.http
            .get(self.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
            .text()
            .await
            .unwrap_or_default()
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        let mut req = self.http.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> (StatusCode, Value) {
        let mut req = self.http.post(self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn nonce(&self) -> String {
        let (status, body) = self.post("/api/v1/auth/challenge", None, &json!({})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["nonce"].as_str().unwrap_or_default().to_owned()
    }

    /// A proof for `purpose` signed by `signer`.
    pub async fn proof(&self, cert_pem: &str, signer: &Signer, purpose: &str) -> Value {
        let nonce = self.nonce().await;
        let signature = sign_b64(signer, &format!("tradehall-auth-v1:{purpose}:{nonce}"));
        json!({ "certificate_chain": cert_pem, "nonce": nonce, "signature": signature })
    }

    pub async fn try_register(
        &self,
        cert_pem: &str,
        signer: &Signer,
        org: &str,
        usci: &str,
        role: &str,
    ) -> (StatusCode, Value) {
        let proof = self.proof(cert_pem, signer, "register").await;
        let body =
            json!({ "proof": proof, "organization": { "name": org, "usci": usci }, "role": role });
        self.post("/api/v1/registrations", None, &body).await
    }

    pub async fn try_login(&self, cert_pem: &str, signer: &Signer) -> (StatusCode, Value) {
        let proof = self.proof(cert_pem, signer, "login").await;
        self.post("/api/v1/auth/login", None, &proof).await
    }

    /// Registers a certificate, has the admin grant an officer role, logs in.
    pub async fn enroll(
        &self,
        issued: &IssuedIdentity,
        org: &str,
        usci: &Usci,
        role: &str,
    ) -> User {
        let region = (role == "supervisor").then_some("650000");
        self.enroll_in(issued, org, usci, role, region).await
    }

    /// [`TestApp::enroll`], granting `region` (a supervisor's jurisdiction).
    pub async fn enroll_in(
        &self,
        issued: &IssuedIdentity,
        org: &str,
        usci: &Usci,
        role: &str,
        region: Option<&str>,
    ) -> User {
        let signer =
            Signer::from_pkcs8_der(&issued.key_pkcs8_der).unwrap_or_else(|e| panic!("{e}"));
        let (status, identity) = self
            .try_register(&issued.cert_pem, &signer, org, usci.as_str(), role)
            .await;
        assert_eq!(status, StatusCode::CREATED, "register {role}: {identity}");
        if identity["status"] == "pending" {
            let admin = self.admin.as_ref().unwrap_or_else(|| panic!("no admin"));
            let path = format!(
                "/api/v1/identities/{}/grant",
                identity["id"].as_str().unwrap_or_default()
            );
            let (status, body) = self
                .post(
                    &path,
                    Some(&admin.token),
                    &json!({ "role": role, "region": region }),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "grant {role}: {body}");
        }
        let (status, login) = self.try_login(&issued.cert_pem, &signer).await;
        assert_eq!(status, StatusCode::OK, "login {role}: {login}");
        User {
            identity: login["identity"].clone(),
            token: login["token"].as_str().unwrap_or_default().to_owned(),
            cert_pem: issued.cert_pem.clone(),
            signer,
            key_pkcs8: issued.key_pkcs8_der.clone(),
        }
    }

    /// A bidder whose certificate (`cert_pem`) and PKCS#8 key come from another PKI (an
    /// OpenSSL-made CA), registered as `org` and logged in.
    pub async fn bidder_from(&self, cert_pem: &str, key: &[u8], org: &str, usci: &Usci) -> User {
        let signer = Signer::from_pkcs8_der(key).unwrap_or_else(|e| panic!("{e}"));
        let (status, identity) = self
            .try_register(cert_pem, &signer, org, usci.as_str(), "bidder")
            .await;
        assert_eq!(status, StatusCode::CREATED, "{identity}");
        let (status, login) = self.try_login(cert_pem, &signer).await;
        assert_eq!(status, StatusCode::OK, "{login}");
        User {
            identity,
            token: login["token"].as_str().unwrap_or_default().to_owned(),
            cert_pem: cert_pem.to_owned(),
            signer,
            key_pkcs8: key.to_vec(),
        }
    }

    /// A new organisation with a certificate from CA A, enrolled in `role`.
    pub async fn user(&self, role: &str) -> User {
        self.user_from(&self.ca_a, role).await
    }

    /// A supervisor of `region` (e.g. `650000` the region, `650100` a city).
    pub async fn supervisor_of(&self, region: &str) -> User {
        let n = self.orgs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let org = format!("公共资源交易监督管理局{n}（测试）");
        let code = usci(&format!("11650100JDGL{n:05}"));
        let issued = self
            .ca_a
            .issue(&spec(
                &format!("supervisor-{n}"),
                &org,
                Some(&code),
                KeyUsageProfile::Signing,
            ))
            .unwrap_or_else(|e| panic!("{e}"));
        self.enroll_in(&issued, &org, &code, "supervisor", Some(region))
            .await
    }

    /// A new organisation with a certificate from `ca`, enrolled in `role`.
    pub async fn user_from(&self, ca: &DevCa, role: &str) -> User {
        self.new_organization(ca, role, None).await
    }

    /// A new organisation whose certificate (from CA A) is over `key_pkcs8`, another
    /// organisation's key: one holder acting for two.
    pub async fn user_with_key(&self, role: &str, key_pkcs8: &[u8]) -> User {
        self.new_organization(&self.ca_a, role, Some(key_pkcs8))
            .await
    }

    async fn new_organization(&self, ca: &DevCa, role: &str, key_pkcs8: Option<&[u8]>) -> User {
        let n = self.orgs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let org = format!("测试{role}单位{n}有限公司");
        let code = usci(&format!("91650100TEQT{n:05}"));
        let spec = spec(
            &format!("{role}-{n}"),
            &org,
            Some(&code),
            KeyUsageProfile::Signing,
        );
        let issued = match key_pkcs8 {
            None => ca.issue(&spec),
            Some(key) => ca.issue_for_key(&spec, key),
        }
        .unwrap_or_else(|e| panic!("{e}"));
        self.enroll(&issued, &org, &code, role).await
    }

    /// Terms of a construction tender that satisfy the rulebook at the current clock.
    pub fn tender_terms(&self, custodians: &[String]) -> Value {
        let now = self.clock_now();
        json!({
            "kind": "construction_tender",
            "procedure": "open_tender",
            "title": "河滩路改造工程施工招标",
            "principal": { "name": "乌鲁木齐市城市建设投资（集团）有限公司", "usci": usci("91650100BUYER0001").as_str() },
            "estimated_value": 10_000_000_000_i64,
            "lots": [
                { "id": "1", "title": "道路", "estimated_value": 6_000_000_000_i64 },
                { "id": "2", "title": "桥梁", "estimated_value": 4_000_000_000_i64 }
            ],
            "region_code": "650100",
            "bid_deadline": tradehall::domain::clock::rfc3339(now + Duration::days(25)),
            "bond_amount": 200_000_000_i64,
            "committee": { "custodians": custodians, "threshold": 2 }
        })
    }

    pub fn clock_now(&self) -> DateTime<Utc> {
        use tradehall::domain::clock::Clock as _;
        self.clock.now()
    }

    /// An officer and the ids of three custodians.
    pub async fn officer_and_committee(&self) -> (User, Vec<String>) {
        let (officer, custodians) = self.officer_and_custodians().await;
        (officer, custodians.iter().map(User::id).collect())
    }

    /// An officer and three custodians.
    pub async fn officer_and_custodians(&self) -> (User, Vec<User>) {
        let officer = self.user("trading_centre").await;
        let mut custodians = Vec::new();
        for _ in 0..3 {
            custodians.push(self.user("custodian").await);
        }
        (officer, custodians)
    }

    pub async fn upload(
        &self,
        token: &str,
        trade_id: &str,
        name: &str,
        content: &[u8],
    ) -> (StatusCode, Value) {
        let resp = self
            .http
            .put(self.url(&format!("/api/v1/trades/{trade_id}/documents/{name}")))
            .bearer_auth(token)
            .header("content-type", "application/pdf")
            .body(content.to_vec())
            .send()
            .await
            .unwrap_or_else(|e| panic!("upload: {e}"));
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// A published construction tender; returns its id.
    pub async fn published_trade(&self, officer: &User, custodians: &[String]) -> String {
        self.published_trade_with(officer, &self.tender_terms(custodians))
            .await
    }

    /// A published trade with `terms`; returns its id.
    pub async fn published_trade_with(&self, officer: &User, terms: &Value) -> String {
        let (status, trade) = self
            .post("/api/v1/trades", Some(&officer.token), terms)
            .await;
        assert_eq!(status, StatusCode::CREATED, "{trade}");
        let id = trade["id"].as_str().unwrap_or_default().to_owned();
        let (status, body) = self
            .upload(
                &officer.token,
                &id,
                "招标文件.pdf",
                b"%PDF-1.7 tender documents",
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (status, body) = self
            .post(
                &format!("/api/v1/trades/{id}/publish"),
                Some(&officer.token),
                &json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        id
    }
}

/// Runs the `tradehall` binary with `args` (off the async runtime); returns its output.
///
/// It runs in the system's temporary directory, where the tests keep their files, and
/// every argument that is a path under it is given relative to it, as a user types the
/// names of files in the directory they are in. So the CLI verbs these tests drive are
/// checked with relative paths; the tests that start the binary themselves give
/// absolute ones.
pub async fn run_cli(args: Vec<std::ffi::OsString>) -> std::process::Output {
    run_cli_with(args, Vec::new()).await
}

/// [`run_cli`] with environment variables `env` set for the process.
pub async fn run_cli_with(
    args: Vec<std::ffi::OsString>,
    env: Vec<(String, String)>,
) -> std::process::Output {
    let base = std::env::temp_dir();
    let args: Vec<std::ffi::OsString> = args
        .into_iter()
        .map(|arg| match std::path::Path::new(&arg).strip_prefix(&base) {
            Ok(relative) if !relative.as_os_str().is_empty() => relative.as_os_str().to_owned(),
            _ => arg,
        })
        .collect();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_tradehall"))
            .current_dir(&base)
            .args(args)
            .envs(env)
            .output()
            .unwrap_or_else(|e| panic!("{e}"))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `sql` with `binds` on the server's database behind its back (tampering tests),
/// and makes the server a dishonest one, which signs whatever its database says: an
/// honest one refuses to sign a log that contradicts what it signed before
/// (tests/log_audit.rs), and these tests check that outsiders catch the dishonest one.
pub async fn tamper(app: &TestApp, sql: &str, binds: &[Vec<u8>]) {
    app.platform.checkpoints.signed.forget();
    if app.database_url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(&app.database_url)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut q = sqlx::query(sql);
        for b in binds {
            q = q.bind(b.clone());
        }
        q.execute(&pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(&app.database_url)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut q = sqlx::query(sql);
        for b in binds {
            q = q.bind(b.clone());
        }
        q.execute(&pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        pool.close().await;
    }
}

pub fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<no error code>")
}

/// PUT an envelope as the caller's bid.
pub async fn put_bid(
    app: &TestApp,
    token: &str,
    trade: &str,
    bytes: Vec<u8>,
) -> (StatusCode, Value) {
    let resp = app
        .http
        .put(app.url(&format!("/api/v1/trades/{trade}/bid")))
        .bearer_auth(token)
        .body(bytes)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// The platform's published keys, as a verifier fetches them.
pub async fn platform_keys(app: &TestApp) -> Vec<tradehall::crypto::platform_key::PublicKeyInfo> {
    let (_, keys) = app.get("/api/v1/platform/keys", None).await;
    keys["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|k| tradehall::crypto::platform_key::PublicKeyInfo {
            key_id: k["key_id"].as_str().unwrap_or_default().into(),
            algorithm: "Ed25519",
            public_key: k["public_key"].as_str().unwrap_or_default().into(),
        })
        .collect()
}
