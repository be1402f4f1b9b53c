//! `tradehall bench …`: the speed and memory targets, measured (docs/benchmarks.md).
//!
//! Each bench builds a throwaway platform on SQLite in a temporary directory with its own
//! DEV ONLY CA, serves it on a loopback port in this process, and drives it over HTTP as
//! bidders and custodians would. Setup (identities, sealing) is not timed.

pub mod auction;
pub mod cluster;
pub mod feed;
pub mod intake;
pub mod large;
pub mod log;
pub mod open_data;
pub mod opening;
pub mod pg;
pub mod primitives;
mod raw_http;

use anyhow::Context as _;
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::{Mode, ServeArgs};
use crate::crypto::envelope::{self, Attachment, FileEntry, Manifest, Organization, SealRequest};
use crate::crypto::pki::{DevCa, IdentitySpec, IssuedIdentity, KeyUsageProfile};
use crate::crypto::signer::Signer;
use crate::crypto::threshold::{custodian_key_message, CustodianPublicKey, CustodianSecretKey};
use crate::domain::clock::ManualClock;
use crate::domain::identity::{Identity, Role};
use crate::domain::money::{Currency, Money};
use crate::domain::region::RegionCode;
use crate::domain::suite::Suite;
use crate::domain::trade::{Lot, OpeningCommittee, Principal, TradeTerms};
use crate::domain::usci::Usci;
use crate::engine::{
    auth_message, AuthProof, Caller, KeyRegistration, NewTrade, OrganizationClaim, Platform,
    Registration,
};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Peak resident set size (VmHWM) of a process, in MiB, from /proc.
pub fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The `q` quantile (0..=1) of sorted durations, in milliseconds.
pub fn quantile_ms(sorted: &[std::time::Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

/// A registered bidder the bench acts as.
pub struct Bidder {
    pub identity: Identity,
    pub issued: IssuedIdentity,
    pub signer: Signer,
}

impl Bidder {
    pub fn caller(&self) -> Caller {
        Caller {
            identity: Some(self.identity.clone()),
            request_id: Some("bench".into()),
            ..Caller::default()
        }
    }
}

/// A platform on SQLite served on loopback, with a published tender whose 2-of-3
/// committee has registered its keys.
pub struct World {
    pub dir: tempfile::TempDir,
    pub platform: Arc<Platform>,
    pub clock: Arc<ManualClock>,
    pub base: String,
    pub ca: DevCa,
    pub trade: String,
    pub deadline: DateTime<Utc>,
    pub committee: Vec<CustodianPublicKey>,
    /// The custodians: certificate, signer and per-trade secret key.
    /// The custodians' identity ids (the tender's committee).
    pub custodian_ids: Vec<String>,
    pub custodians: Vec<(
        IssuedIdentity,
        Signer,
        CustodianSecretKey,
        CustodianPublicKey,
    )>,
    admin: Caller,
    next_org: std::sync::atomic::AtomicU32,
    /// The configuration it was built with, for more instances on the same database.
    args: ServeArgs,
    /// The servers of its instances, stopped when it is dropped.
    servers: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Drop for World {
    fn drop(&mut self) {
        for server in self
            .servers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .drain(..)
        {
            server.abort();
        }
    }
}

/// Serves `router` until the task is aborted.
async fn serve_quietly(listener: tokio::net::TcpListener, router: axum::Router) {
    if let Err(e) = crate::http::serve(
        listener,
        router,
        (&crate::config::LimitArgs::unlimited()).into(),
        std::future::pending::<()>(),
    )
    .await
    {
        tracing::warn!(error = %e, "bench server");
    }
}

fn spec(cn: &str, org: &str, usci: &Usci, now: DateTime<Utc>) -> IdentitySpec {
    IdentitySpec {
        common_name: cn.into(),
        organization: org.into(),
        usci: Some(usci.clone()),
        not_before: now - Duration::days(1),
        not_after: now + Duration::days(365),
        key_usage: KeyUsageProfile::Signing,
    }
}

fn usci(n: u32, kind: &str) -> anyhow::Result<Usci> {
    Ok(Usci::complete(&format!("91650100{kind}{n:06}"))?)
}

impl World {
    /// Builds the platform in a new temporary directory; envelopes up to `max_envelope`.
    pub async fn new(max_envelope_bytes: u64) -> anyhow::Result<Self> {
        Self::on(max_envelope_bytes, None).await
    }

    /// [`World::new`] with a tender whose committee seals with `suite`.
    pub async fn with_suite(max_envelope_bytes: u64, suite: Suite) -> anyhow::Result<Self> {
        Self::on_with(max_envelope_bytes, None, suite).await
    }

    /// [`World::new`] on the database at `database_url` (SQLite in the directory when
    /// `None`).
    pub async fn on(max_envelope_bytes: u64, database_url: Option<String>) -> anyhow::Result<Self> {
        Self::on_with(max_envelope_bytes, database_url, Suite::Hpke).await
    }

    async fn on_with(
        max_envelope_bytes: u64,
        database_url: Option<String>,
        suite: Suite,
    ) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("tradehall-bench")
            .tempdir()?;
        let now = Utc::now();
        let ca = DevCa::new(
            "tradehall bench CA (DEV ONLY)",
            now - Duration::days(10),
            now + Duration::days(3650),
        )?;
        let ca_path = dir.path().join("ca.pem");
        std::fs::write(&ca_path, ca.cert_pem())?;
        let crl_path = dir.path().join("crl.der");
        std::fs::write(
            &crl_path,
            ca.crl(&[], now - Duration::days(1), now + Duration::days(30))?,
        )?;
        let admin_usci = usci(1, "ADM")?;
        let admin_cert = ca.issue(&spec("admin", "bench 管理", &admin_usci, now))?;
        let admin_path = dir.path().join("admin.pem");
        std::fs::write(&admin_path, &admin_cert.cert_pem)?;
        let args = ServeArgs {
            listen: "127.0.0.1:0".parse()?,
            tls_cert: None,
            tls_key: None,
            database_url,
            read_database_url: None,
            instance_url: None,
            data_dir: dir.path().to_path_buf(),
            key_dir: None,
            trust_ca: vec![ca_path],
            crl: vec![crl_path],
            trust_reload_seconds: 3600,
            // The benches measure the request paths; the audit's pass would read with them.
            log_audit_seconds: 0,
            admin_cert: vec![admin_path],
            rulebook: None,
            region_rulebook: None,
            follow: None,
            witnesses: None,
            calendar: None,
            bank_secrets: None,
            mode: Mode::Demo,
            max_body_bytes: 1024 * 1024,
            max_document_bytes: 1024 * 1024,
            max_envelope_bytes,
            log_origin: "bench.tradehall.local/log".into(),
            public_url: "https://tradehall.local".into(),
            ocds_prefix: "ocds-th0dev".into(),
            ocds_publisher: "tradehall 公共资源交易平台".into(),
            web_dir: PathBuf::from("web"),
            session_minutes: 24 * 60,
            challenge_seconds: 600,
            // Thousands of clients from one address, on purpose.
            limits: crate::config::LimitArgs::unlimited(),
        };
        let clock = Arc::new(ManualClock::new(now));
        let (platform, router) = crate::server::build(&args, clock.clone()).await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let server = tokio::spawn(serve_quietly(listener, router));
        let mut world = Self {
            dir,
            platform,
            clock,
            base,
            ca,
            trade: String::new(),
            deadline: now,
            committee: Vec::new(),
            custodian_ids: Vec::new(),
            custodians: Vec::new(),
            admin: Caller::default(),
            next_org: std::sync::atomic::AtomicU32::new(10),
            args,
            servers: std::sync::Mutex::new(vec![server]),
        };
        let admin = world
            .enroll(&admin_cert, "bench 管理", &admin_usci, Role::Admin)
            .await?;
        world.admin = Caller {
            identity: Some(admin),
            ..Caller::default()
        };
        world.publish_tender(suite).await?;
        Ok(world)
    }

    async fn enroll(
        &self,
        issued: &IssuedIdentity,
        org: &str,
        usci: &Usci,
        role: Role,
    ) -> anyhow::Result<Identity> {
        let signer = Signer::from_pkcs8_der(&issued.key_pkcs8_der)?;
        let (nonce, _) = self.platform.challenge().await?;
        let signature = b64(&signer.sign(auth_message("register", &nonce).as_bytes())?);
        let identity = self
            .platform
            .register(
                &Caller::default(),
                Registration {
                    proof: AuthProof {
                        certificate_chain: issued.cert_pem.clone(),
                        nonce,
                        signature,
                    },
                    organization: OrganizationClaim {
                        name: org.into(),
                        usci: usci.to_string(),
                    },
                    role,
                },
            )
            .await?;
        if role.needs_grant() && role != Role::Admin {
            return Ok(self
                .platform
                .grant_role(&self.admin, &identity.id, role, supervised(role))
                .await?);
        }
        Ok(identity)
    }

    /// A new organisation with a certificate of the bench CA, enrolled in `role`.
    pub async fn member(&self, role: Role) -> anyhow::Result<(Identity, IssuedIdentity)> {
        let n = self
            .next_org
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let org = format!("bench {} {n} 有限公司", role.as_str());
        let code = usci(n, "BEN")?;
        let issued = self.ca.issue(&spec(
            &format!("{}-{n}", role.as_str()),
            &org,
            &code,
            self.now(),
        ))?;
        let identity = self.enroll(&issued, &org, &code, role).await?;
        Ok((identity, issued))
    }

    pub fn now(&self) -> DateTime<Utc> {
        use crate::domain::clock::Clock as _;
        self.clock.now()
    }

    async fn publish_tender(&mut self, suite: Suite) -> anyhow::Result<()> {
        let (officer, _) = self.member(Role::TradingCentre).await?;
        let officer = Caller {
            identity: Some(officer),
            ..Caller::default()
        };
        let mut custodians = Vec::new();
        for _ in 0..3 {
            custodians.push(self.member(Role::Custodian).await?);
        }
        let deadline = self.now() + Duration::days(25);
        let terms = TradeTerms {
            kind: "construction_tender".into(),
            procedure: "open_tender".into(),
            title: "bench tender".into(),
            principal: Principal {
                name: "bench 招标人".into(),
                usci: usci(2, "BUY")?,
            },
            estimated_value: Money::new(100_000_000_000)?,
            currency: Currency::Cny,
            lots: vec![Lot {
                id: "1".into(),
                title: "全部".into(),
                estimated_value: Money::new(100_000_000_000)?,
            }],
            region_code: RegionCode::parse("650100")?,
            bid_deadline: deadline,
            bond_amount: Money::new(0)?,
            committee: OpeningCommittee {
                custodians: custodians.iter().map(|(i, _)| i.id.clone()).collect(),
                threshold: 2,
                suite,
            },
            live: None,
            evaluation: None,
            retender_of: None,
            announcement: None,
            invited: Vec::new(),
            previous_round: None,
        };
        let view = self
            .platform
            .create_trade(
                &officer,
                NewTrade {
                    terms,
                    time_scale: None,
                },
            )
            .await?;
        let trade = view.trade.id.clone();
        self.platform
            .add_document(&officer, &trade, "招标文件.txt", "text/plain", b"bench")
            .await?;
        self.platform.publish_trade(&officer, &trade).await?;
        self.custodian_ids = custodians.iter().map(|(i, _)| i.id.clone()).collect();
        for (identity, issued) in custodians {
            let signer = Signer::from_pkcs8_der(&issued.key_pkcs8_der)?;
            let (sk, pk) = CustodianSecretKey::generate_for(suite);
            let caller = Caller {
                identity: Some(identity),
                ..Caller::default()
            };
            self.platform
                .register_custodian_key(
                    &caller,
                    &trade,
                    KeyRegistration {
                        public_key: b64(pk.as_bytes()),
                        signature: b64(&signer.sign(&custodian_key_message(&trade, &pk))?),
                    },
                )
                .await?;
            self.committee.push(pk.clone());
            self.custodians.push((issued, signer, sk, pk));
        }
        self.trade = trade;
        self.deadline = deadline;
        Ok(())
    }

    /// Another instance of the platform on the same database, key and clock, served on
    /// its own loopback port: its base URL and the platform.
    pub async fn another_instance(&self) -> anyhow::Result<(String, Arc<Platform>)> {
        let (platform, router) = crate::server::build(&self.args, self.clock.clone()).await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        platform.openings.set_instance_url(&base);
        self.servers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(tokio::spawn(serve_quietly(listener, router)));
        Ok((base, platform))
    }

    /// `n` new bidders, each with four sealed bids carrying a `payload_kib` KiB file (to
    /// cycle through) and a session token.
    pub async fn bidding_clients(
        &self,
        n: usize,
        payload_kib: usize,
    ) -> anyhow::Result<Vec<(Vec<Vec<u8>>, String)>> {
        let payload: Vec<u8> = (0..payload_kib * 1024)
            .map(|i| (i * 31 % 251) as u8)
            .collect();
        let mut clients = Vec::with_capacity(n);
        for (k, b) in self.bidders(n).await?.iter().enumerate() {
            let mut pool = Vec::new();
            for i in 0..4 {
                pool.push(self.seal(b, 1_000_000 + (k * 10 + i) as i64, &payload)?.0);
            }
            clients.push((pool, self.token(&b.issued).await?));
        }
        Ok(clients)
    }

    /// `n` new bidders.
    pub async fn bidders(&self, n: usize) -> anyhow::Result<Vec<Bidder>> {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let (identity, issued) = self.member(Role::Bidder).await?;
            let signer = Signer::from_pkcs8_der(&issued.key_pkcs8_der)?;
            out.push(Bidder {
                identity,
                issued,
                signer,
            });
        }
        Ok(out)
    }

    /// A bid of `bidder` with one attached file of `payload` bytes; returns the envelope
    /// and its content key (kept only to measure the decryption ceiling).
    pub fn seal(
        &self,
        bidder: &Bidder,
        price: i64,
        payload: &[u8],
    ) -> anyhow::Result<(Vec<u8>, [u8; 32])> {
        let (sha256, size) = envelope::hash_reader(payload)?;
        let file = FileEntry {
            name: "技术标.bin".into(),
            sha256,
            size,
        };
        let request = SealRequest {
            manifest: Manifest {
                v: 1,
                trade: self.trade.clone(),
                lots: vec!["1".into()],
                price,
                currency: "CNY".into(),
                organization: Organization {
                    name: bidder.identity.organization.clone(),
                    usci: bidder.identity.usci.to_string(),
                },
                machine: "bench".into(),
                files: vec![file.clone()],
            },
            attachments: vec![Attachment {
                entry: file,
                content: Box::new(payload),
            }],
            certificate_chain: vec![bidder.issued.cert_der.clone()],
            committee: self.committee.clone(),
            threshold: 2,
        };
        let key = crate::crypto::digest::random_bytes::<32>();
        let mut rng = hpke::rand_core::UnwrapErr(getrandom::SysRng);
        let mut out = Vec::with_capacity(payload.len() + 8192);
        envelope::seal(request, &bidder.signer, &key, &mut rng, &mut out)
            .context("sealing a bench bid")?;
        Ok((out, key))
    }

    /// A bearer token for `issued`, as `POST /auth/login` gives.
    pub async fn token(&self, issued: &IssuedIdentity) -> anyhow::Result<String> {
        let signer = Signer::from_pkcs8_der(&issued.key_pkcs8_der)?;
        let (nonce, _) = self.platform.challenge().await?;
        let signature = b64(&signer.sign(auth_message("login", &nonce).as_bytes())?);
        Ok(self
            .platform
            .login(
                &Caller::default(),
                AuthProof {
                    certificate_chain: issued.cert_pem.clone(),
                    nonce,
                    signature,
                },
            )
            .await?
            .token)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// Writes `bytes` to `path` (a bench scratch file).
pub fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// The whole region, for a supervisor.
fn supervised(role: Role) -> Option<crate::domain::region::RegionCode> {
    (role == Role::Supervisor)
        .then(|| crate::domain::region::RegionCode::parse("650000").ok())
        .flatten()
}
