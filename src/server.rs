//! Composition root of `tradehall serve`: configuration → store, trust, rulebook,
//! platform, router. Shared by the binary, the demo and the tests.

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use chrono::Duration;

use crate::config::{Mode, ServeArgs};
use crate::crypto::cert::parse_pem_certificates;
use crate::crypto::digest::sha256_hex;
use crate::crypto::platform_key::PlatformKey;
use crate::crypto::trust::ReloadableTrust;
use crate::domain::calendar::{Calendar, BUILTIN as CALENDAR};
use crate::domain::clock::Clock;
use crate::domain::rulebook::{Rulebook, BUILTIN};
use crate::engine::{BankSecrets, Platform, Settings, MIN_BANK_SECRET_BYTES};
use crate::http::{AppState, HttpSettings};

/// Why the server cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("rulebook {0}")]
    Rulebook(#[from] crate::domain::rulebook::RulebookError),
    #[error("the rulebook is looser than the region's unified rules (--region-rulebook), which it may only tighten: {}", .0.join("; "))]
    LooserThanRegion(Vec<String>),
    #[error("{0}")]
    Calendar(#[from] crate::domain::calendar::CalendarError),
    #[error("bank secrets {path}: {message}")]
    BankSecrets { path: String, message: String },
    #[error("trust configuration: {0}")]
    Trust(#[from] crate::crypto::cert::CertError),
    #[error("{0} is a DEV ONLY certificate authority; it is trusted only with --mode demo")]
    DevCaInProduction(String),
    #[error("{0}")]
    PlatformKey(#[from] crate::crypto::platform_key::PlatformKeyError),
    #[error("followed platforms or witnesses {path}: {message}")]
    Follow { path: String, message: String },
    #[error("database: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("TLS key: {0}")]
    TlsKey(String),
    #[error("the host clock ({now}) is behind the log's newest entry ({last}): set the clock right (NTP) before starting, or bids could be taken after a deadline that has passed")]
    ClockBehind { now: String, last: String },
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
}

fn read(path: &Path) -> Result<Vec<u8>, StartupError> {
    std::fs::read(path).map_err(|source| StartupError::Read {
        path: path.display().to_string(),
        source,
    })
}

/// Loads the working-day calendar from `path`, or the built-in one.
pub fn load_calendar(path: Option<&Path>) -> Result<Calendar, StartupError> {
    let text = match path {
        Some(p) => String::from_utf8_lossy(&read(p)?).into_owned(),
        None => CALENDAR.to_owned(),
    };
    Ok(Calendar::parse(&text, sha256_hex(text.as_bytes()))?)
}

/// The id of the bank a demo server makes up when no secrets are configured.
pub const DEV_BANK: &str = "DEVBANK";

/// Loads the banks' notification secrets from `path`. Without one, a demo server loads
/// (or first makes) a DEV ONLY `DEVBANK` secret in `data_dir`, and a production server has
/// none.
pub fn load_bank_secrets(
    path: Option<&Path>,
    mode: Mode,
    data_dir: &Path,
) -> Result<BankSecrets, StartupError> {
    let path = match (path, mode) {
        (Some(p), _) => p.to_path_buf(),
        (None, Mode::Demo) => {
            let p = data_dir.join("dev-bank-secrets.toml");
            if !p.exists() {
                std::fs::create_dir_all(data_dir).map_err(|source| StartupError::DataDir {
                    path: data_dir.display().to_string(),
                    source,
                })?;
                let secret = hex::encode(crate::crypto::digest::random_bytes::<32>());
                let text = format!(
                    "# DEV ONLY bank secret, made by a demo server. Never use it for real money.\n[banks]\n{DEV_BANK} = \"{secret}\"\n"
                );
                write_private(&p, text.as_bytes()).map_err(|e| StartupError::BankSecrets {
                    path: p.display().to_string(),
                    message: e.to_string(),
                })?;
            }
            p
        }
        (None, Mode::Production) => {
            tracing::warn!("no --bank-secrets: every bank notification will be refused");
            return Ok(BankSecrets::default());
        }
    };
    let failed = |message: String| StartupError::BankSecrets {
        path: path.display().to_string(),
        message,
    };
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        banks: std::collections::BTreeMap<String, String>,
    }
    // Whoever reads the secrets can forge deposits: like the platform key, the file is
    // the server user's alone.
    private_file(&path, 0o077).map_err(failed)?;
    let text = String::from_utf8(read(&path)?).map_err(|e| failed(e.to_string()))?;
    let file: File = toml::from_str(&text).map_err(|e| failed(e.to_string()))?;
    let mut secrets = std::collections::BTreeMap::new();
    for (bank, secret) in file.banks {
        let bytes = hex::decode(secret.trim())
            .map_err(|_| failed(format!("the secret of {bank} is not hex")))?;
        if bytes.len() < MIN_BANK_SECRET_BYTES {
            return Err(failed(format!(
                "the secret of {bank} has {} bytes; at least {MIN_BANK_SECRET_BYTES} are needed",
                bytes.len()
            )));
        }
        secrets.insert(bank, bytes);
    }
    Ok(BankSecrets::new(secrets))
}

/// Checks that `path` grants none of the permission bits in `forbidden` (0o077: the
/// owner's alone; 0o007: the owner's and its group's, as Debian keeps TLS keys in the
/// `ssl-cert` group). Err: what to do about it.
fn private_file(path: &Path, forbidden: u32) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .permissions()
        .mode()
        & 0o777;
    if mode & forbidden != 0 {
        return Err(format!(
            "{} has mode {mode:o}, which lets others read it; chmod {:o} it",
            path.display(),
            0o777 & !forbidden & 0o640
        ));
    }
    Ok(())
}

/// A named platform and its saved keys, as `--follow` and `--witnesses` list them.
struct KeyedEntry {
    name: String,
    url: Option<String>,
    region: Option<String>,
    keys: Vec<crate::crypto::platform_key::PublicKeyInfo>,
}

/// Reads the `[[table]]` entries of a `--follow` or `--witnesses` file: each one's name,
/// address (if `with_url`) and saved keys (a relative `keys` path is taken from the
/// file's directory).
async fn load_keyed(
    path: &Path,
    table: &str,
    with_url: bool,
) -> Result<Vec<KeyedEntry>, StartupError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Entry {
        name: String,
        url: Option<String>,
        region: Option<String>,
        keys: std::path::PathBuf,
    }
    let failed = |message: String| StartupError::Follow {
        path: path.display().to_string(),
        message,
    };
    let text = String::from_utf8(read(path)?).map_err(|e| failed(e.to_string()))?;
    let mut file: std::collections::BTreeMap<String, Vec<Entry>> =
        toml::from_str(&text).map_err(|e| failed(e.to_string()))?;
    let entries = file.remove(table).unwrap_or_default();
    if let Some(other) = file.keys().next() {
        return Err(failed(format!(
            "unknown table [[{other}]]; expected [[{table}]]"
        )));
    }
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let mut loaded: Vec<KeyedEntry> = Vec::new();
    for entry in entries {
        if loaded.iter().any(|f| f.name == entry.name) {
            return Err(failed(format!("{} is listed twice", entry.name)));
        }
        if with_url != entry.url.is_some() {
            return Err(failed(format!(
                "{}: url is {}",
                entry.name,
                if with_url { "required" } else { "not expected" }
            )));
        }
        if !with_url && entry.region.is_some() {
            return Err(failed(format!("{}: region is not expected", entry.name)));
        }
        let keys_path = dir.join(&entry.keys);
        let keys =
            crate::client::receipt::load_keys(crate::client::receipt::KeySource::File(&keys_path))
                .await
                .map_err(|e| failed(format!("{}: {e:#}", entry.name)))?;
        loaded.push(KeyedEntry {
            name: entry.name,
            url: entry.url.map(|u| u.trim_end_matches('/').to_owned()),
            region: entry.region,
            keys,
        });
    }
    Ok(loaded)
}

/// Loads the platforms to follow (`--follow`, `[[platform]]` entries).
/// Each platform's `region` is its 行政区划代码 (its supervisors see its alerts); it may be
/// left out when the name is one.
pub async fn load_followed(path: &Path) -> Result<Vec<crate::engine::Followed>, StartupError> {
    load_keyed(path, "platform", true)
        .await?
        .into_iter()
        .map(|e| {
            let code = e.region.as_deref().unwrap_or(&e.name);
            let region = crate::domain::region::RegionCode::parse(code).map_err(|err| {
                StartupError::Follow {
                    path: path.display().to_string(),
                    message: format!(
                        "{}: {err}; give the platform's region (its 行政区划代码) as region = \"…\"",
                        e.name
                    ),
                }
            })?;
            Ok(crate::engine::Followed {
                name: e.name,
                url: e.url.unwrap_or_default(),
                region,
                keys: e.keys,
            })
        })
        .collect()
}

/// Loads the witnesses of this log (`--witnesses`, `[[witness]]` entries).
pub async fn load_witnesses(path: &Path) -> Result<Vec<crate::engine::Witness>, StartupError> {
    Ok(load_keyed(path, "witness", false)
        .await?
        .into_iter()
        .map(|e| crate::engine::Witness {
            name: e.name,
            keys: e.keys,
        })
        .collect())
}

/// Writes a file only its owner can read.
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(data)
}

/// Loads the rulebook from `path`, or the built-in one.
pub fn load_rulebook(path: Option<&Path>) -> Result<Rulebook, StartupError> {
    let text = match path {
        Some(p) => String::from_utf8_lossy(&read(p)?).into_owned(),
        None => BUILTIN.to_owned(),
    };
    Ok(Rulebook::parse(&text, sha256_hex(text.as_bytes()))?)
}

/// The rulebook in force: the local one (`--rulebook`, else the built-in), held to the
/// region's unified rules if given (`--region-rulebook`, the text the regional platform
/// publishes at `GET /api/v1/rulebook/source`). Without a local file, the region's rules
/// apply as they are; a local rule looser than the region's stops the server.
pub fn load_rulebooks(
    local: Option<&Path>,
    region: Option<&Path>,
) -> Result<Rulebook, StartupError> {
    let Some(region) = region else {
        return load_rulebook(local);
    };
    let region = load_rulebook(Some(region))?;
    let Some(local) = local else {
        return Ok(region);
    };
    let local = load_rulebook(Some(local))?;
    let looser = local.looser_than(&region);
    if looser.is_empty() {
        Ok(local)
    } else {
        Err(StartupError::LooserThanRegion(looser))
    }
}

fn is_dev_only(der: &[u8]) -> bool {
    x509_parser::parse_x509_certificate(der)
        .map(|(_, cert)| cert.subject().to_string().contains("DEV ONLY"))
        .unwrap_or(false)
}

/// Builds the platform and its router from configuration.
pub async fn build(
    args: &ServeArgs,
    clock: Arc<dyn Clock>,
) -> Result<(Arc<Platform>, Router), StartupError> {
    if args.database_url.is_none() {
        std::fs::create_dir_all(&args.data_dir).map_err(|source| StartupError::DataDir {
            path: args.data_dir.display().to_string(),
            source,
        })?;
    }
    let trust = ReloadableTrust::load(args.trust_ca.clone(), args.crl.clone())?;
    if args.mode == Mode::Production {
        for path in &args.trust_ca {
            let pem = String::from_utf8_lossy(&read(path)?).into_owned();
            if parse_pem_certificates(&pem)?
                .iter()
                .any(|der| is_dev_only(der))
            {
                return Err(StartupError::DevCaInProduction(path.display().to_string()));
            }
        }
    }
    if trust.current().is_empty() {
        tracing::warn!("no CA is trusted (--trust-ca): nobody can register or log in");
    }
    let mut admin_fingerprints = Vec::new();
    for path in &args.admin_cert {
        let pem = String::from_utf8_lossy(&read(path)?).into_owned();
        if let Some(der) = parse_pem_certificates(&pem)?.first() {
            admin_fingerprints.push(sha256_hex(der));
        }
    }
    let rulebook = load_rulebooks(args.rulebook.as_deref(), args.region_rulebook.as_deref())?;
    let calendar = load_calendar(args.calendar.as_deref())?;
    let follow = match &args.follow {
        Some(path) => load_followed(path).await?,
        None => Vec::new(),
    };
    let witnesses = match &args.witnesses {
        Some(path) => load_witnesses(path).await?,
        None => Vec::new(),
    };
    let bank_secrets = load_bank_secrets(args.bank_secrets.as_deref(), args.mode, &args.data_dir)?;
    let platform_key = Arc::new(PlatformKey::load_or_generate(&args.key_dir())?);
    tracing::info!(key_id = %platform_key.info().key_id, "platform signing key");
    let store = crate::store::connect(&args.database_url(), clock.clone()).await?;
    check_clock(store.as_ref(), clock.as_ref()).await?;
    if let Some(key) = &args.tls_key {
        private_file(key, 0o007).map_err(StartupError::TlsKey)?;
    }
    let reads = match &args.read_database_url {
        Some(url) => crate::store::connect_replica(url, clock.clone()).await?,
        None => store.clone(),
    };
    let platform = Arc::new(Platform {
        store,
        reads,
        clock,
        rulebook,
        calendar,
        trust: Arc::new(trust),
        platform_key,
        settings: Settings {
            admin_fingerprints,
            demo_mode: args.mode == Mode::Demo,
            challenge_ttl: Duration::seconds(args.challenge_seconds),
            session_ttl: Duration::minutes(args.session_minutes),
            max_document_bytes: args.max_document_bytes,
            bid_dir: args.data_dir.join("bids"),
            max_envelope_bytes: args.max_envelope_bytes,
            log_origin: args.log_origin.clone(),
            bank_secrets,
            ocds: crate::engine::OcdsSettings {
                prefix: args.ocds_prefix.clone(),
                publisher: args.ocds_publisher.clone(),
                base_url: args.public_url.trim_end_matches('/').to_owned(),
            },
            follow,
            witnesses,
        },
        openings: Default::default(),
        intake: Default::default(),
        checkpoints: Default::default(),
        feed: Default::default(),
        known_bests: Default::default(),
        quoting_cache: Default::default(),
        sessions: Default::default(),
        standing: Default::default(),
        quote_writer: Default::default(),
    });
    platform.openings.set_instance_url(&args.instance_url());
    // The newest checkpoint signed is kept next to the key, outside the database, and the
    // log is held against it before anything is served (engine::log_audit).
    platform
        .checkpoints
        .signed
        .keep_in(&args.key_dir())
        .map_err(|e| StartupError::Store(crate::store::StoreError::Other(e.to_string().into())))?;
    platform
        .audit_log_at_start()
        .await
        .map_err(|e| StartupError::Store(crate::store::StoreError::Other(e.to_string().into())))?;
    if args.instance_url.is_none()
        && args.listen.ip().is_unspecified()
        && args.database_url().starts_with("postgres")
    {
        tracing::warn!(
            "--listen {} with no --instance-url: other instances cannot reach this one for an opening it holds",
            args.listen
        );
    }
    platform
        .ensure_search_index()
        .await
        .map_err(|e| StartupError::Store(crate::store::StoreError::Other(e.to_string().into())))?;
    platform
        .start_feed()
        .await
        .map_err(|e| StartupError::Store(crate::store::StoreError::Other(e.to_string().into())))?;
    {
        // Proofs are answered meanwhile, reading what is not kept yet from the store.
        let platform = platform.clone();
        tokio::spawn(async move {
            match platform.warm_log_tree().await {
                Ok(nodes) => tracing::info!(nodes, "log tree's upper levels in memory"),
                Err(e) => {
                    tracing::warn!(error = %e, "the log tree's upper levels were not preloaded");
                }
            }
        });
    }
    platform.start_risk();
    platform.start_sale_timers();
    platform.start_mirrors();
    if args.log_audit_seconds > 0 {
        platform.start_log_audit(std::time::Duration::from_secs(args.log_audit_seconds));
    }
    if args.trust_reload_seconds > 0 {
        platform.start_trust_reload(std::time::Duration::from_secs(args.trust_reload_seconds));
    }
    let http = HttpSettings {
        max_body_bytes: args.max_body_bytes,
        max_document_bytes: args.max_document_bytes,
        web_dir: args.web_dir.clone(),
        body_idle_timeout: std::time::Duration::from_secs(args.limits.body_idle_seconds),
    };
    let limits = Arc::new(crate::http::limits::Limits::new(&args.limits));
    forget_idle_limits(Arc::downgrade(&limits));
    let router = crate::http::router(
        AppState {
            platform: platform.clone(),
            limits,
        },
        &http,
    );
    Ok((platform, router))
}

/// How far the host clock may be behind the log's newest entry at start: the skew of
/// several instances' clocks, not a step back.
const CLOCK_TOLERANCE: chrono::Duration = chrono::Duration::seconds(5);

/// Refuses to start on a clock set back behind the log. Within a process the clock never
/// runs backwards (`SystemClock`); across a restart this is what keeps a passed deadline
/// passed.
async fn check_clock(
    store: &dyn crate::store::Store,
    clock: &dyn crate::domain::clock::Clock,
) -> Result<(), StartupError> {
    let now = clock.now();
    match store.last_entry_at().await? {
        Some(last) if now + CLOCK_TOLERANCE < last => Err(StartupError::ClockBehind {
            now: crate::domain::clock::rfc3339(now),
            last: crate::domain::clock::rfc3339(last),
        }),
        _ => Ok(()),
    }
}

/// Every minute, drops the rate state of addresses and identities not seen lately, for as
/// long as the router that holds the limits lives.
fn forget_idle_limits(limits: std::sync::Weak<crate::http::limits::Limits>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            match limits.upgrade() {
                Some(limits) => limits.forget_idle(),
                None => break,
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_file_the_world_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let key = dir.path().join("tls.key");
        std::fs::write(&key, "-----BEGIN PRIVATE KEY-----\n").unwrap_or_else(|e| panic!("{e}"));
        for (mode, ok) in [(0o644, false), (0o604, false), (0o640, true), (0o600, true)] {
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(mode))
                .unwrap_or_else(|e| panic!("{e}"));
            let checked = private_file(&key, 0o007);
            assert_eq!(checked.is_ok(), ok, "mode {mode:o}: {checked:?}");
        }
        // The bank secrets' rule: the owner's alone.
        assert!(private_file(&key, 0o077).is_ok());
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(private_file(&key, 0o077).is_err_and(|e| e.contains("chmod 600")));
    }

    #[test]
    fn bank_secrets_others_can_read_are_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("banks.toml");
        let secret = "ab".repeat(MIN_BANK_SECRET_BYTES);
        std::fs::write(&path, format!("[banks]\nICBC = \"{secret}\"\n"))
            .unwrap_or_else(|e| panic!("{e}"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))
            .unwrap_or_else(|e| panic!("{e}"));
        let refused = load_bank_secrets(Some(&path), Mode::Production, dir.path());
        assert!(
            matches!(&refused, Err(StartupError::BankSecrets { message, .. }) if message.contains("chmod 600")),
            "{:?}",
            refused.map(|_| ())
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .unwrap_or_else(|e| panic!("{e}"));
        let secrets = load_bank_secrets(Some(&path), Mode::Production, dir.path())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(secrets.get("ICBC").is_some());
    }

    #[test]
    fn an_operator_rulebook_replaces_the_builtin_one_and_is_fingerprinted() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let text = BUILTIN
            .replace("version = \"2026.4\"", "version = \"2026.4-xj\"")
            .replace(
                "min_days_to_deadline = { value = 20,",
                "min_days_to_deadline = { value = 25,",
            );
        let path = dir.path().join("rulebook.toml");
        std::fs::write(&path, &text).unwrap_or_else(|e| panic!("{e}"));
        let book = load_rulebook(Some(&path)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(book.version, "2026.4-xj");
        assert_eq!(book.sha256, sha256_hex(text.as_bytes()));
        let rules = &book
            .procedure("construction_tender", "open_tender")
            .map(|p| p.rules.clone())
            .unwrap_or_default();
        assert_eq!(
            rules.min_days_to_deadline.as_ref().map(|r| r.value),
            Some(25)
        );
        assert_ne!(
            book.sha256,
            load_rulebook(None).map(|b| b.sha256).unwrap_or_default()
        );
    }

    #[test]
    fn an_operator_calendar_adds_a_year_as_data_and_a_broken_one_stops_the_server() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("calendar.toml");
        let text = format!(
            "{CALENDAR}\n[[years]]\nyear = 2028\nstatus = \"official\"\nsource = \"test\"\nholidays = [{{ name = \"元旦\", from = \"2028-01-01\", to = \"2028-01-03\" }}]\nworking_weekend_days = []\n"
        );
        std::fs::write(&path, &text).unwrap_or_else(|e| panic!("{e}"));
        let calendar = load_calendar(Some(&path)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(calendar.sha256, sha256_hex(text.as_bytes()));
        let day = chrono::NaiveDate::from_ymd_opt(2028, 1, 3).unwrap_or_default();
        assert_eq!(calendar.day(day).map(|d| d.working), Ok(false));
        assert!(load_calendar(None).is_ok_and(|c| c.day(day).is_err()));
        std::fs::write(&path, "time_zone = \"+08:00\"").unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            load_calendar(Some(&path)),
            Err(StartupError::Calendar(_))
        ));
    }

    #[test]
    fn a_prefecture_rulebook_looser_than_the_regions_stops_the_server() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let region = dir.path().join("region.toml");
        std::fs::write(&region, BUILTIN).unwrap_or_else(|e| panic!("{e}"));
        let local = dir.path().join("local.toml");
        let tighter = BUILTIN.replacen(
            "min_bidders = { value = 3,",
            "min_bidders = { value = 4,",
            1,
        );
        std::fs::write(&local, &tighter).unwrap_or_else(|e| panic!("{e}"));
        let book = load_rulebooks(Some(&local), Some(&region)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(book.sha256, sha256_hex(tighter.as_bytes()));
        let looser = BUILTIN.replacen(
            "min_bidders = { value = 3,",
            "min_bidders = { value = 2,",
            1,
        );
        std::fs::write(&local, looser).unwrap_or_else(|e| panic!("{e}"));
        match load_rulebooks(Some(&local), Some(&region)) {
            Err(StartupError::LooserThanRegion(why)) => {
                assert!(why.iter().any(|w| w.contains("min_bidders = 2")), "{why:?}");
            }
            other => panic!(
                "a looser rulebook was loaded: {:?}",
                other.map(|b| b.sha256)
            ),
        }
        // Without a local file the region's rules apply as they are.
        let book = load_rulebooks(None, Some(&region)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(book.sha256, sha256_hex(BUILTIN.as_bytes()));
    }

    #[test]
    fn a_broken_rulebook_stops_the_server() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("rulebook.toml");
        std::fs::write(&path, "version = 1").unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            load_rulebook(Some(&path)),
            Err(StartupError::Rulebook(_))
        ));
    }

    #[tokio::test]
    async fn a_followed_platform_has_a_region_from_its_name_or_its_own_line() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let key = crate::crypto::platform_key::PlatformKey::load_or_generate(&dir.path().join("k"))
            .unwrap_or_else(|e| panic!("{e}"));
        let keys = serde_json::json!({ "keys": key.published() }).to_string();
        std::fs::write(dir.path().join("keys.json"), keys).unwrap_or_else(|e| panic!("{e}"));
        let follow = dir.path().join("follow.toml");
        let platform = |name: &str, region: &str| {
            format!("[[platform]]\nname = \"{name}\"\nurl = \"http://127.0.0.1:1/\"\nkeys = \"keys.json\"\n{region}")
        };
        let text = platform("650100", "") + &platform("kashi", "region = \"653100\"\n");
        std::fs::write(&follow, text).unwrap_or_else(|e| panic!("{e}"));
        let followed = load_followed(&follow)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let regions: Vec<&str> = followed.iter().map(|f| f.region.as_str()).collect();
        assert_eq!(regions, ["650100", "653100"]);
        assert_eq!(followed[0].url, "http://127.0.0.1:1");
        // A name that is not a code needs the region.
        std::fs::write(&follow, platform("kashi", "")).unwrap_or_else(|e| panic!("{e}"));
        match load_followed(&follow).await {
            Err(StartupError::Follow { message, .. }) => {
                assert!(message.contains("region = "), "{message}");
            }
            other => panic!("loaded without a region: {:?}", other.map(|f| f.len())),
        }
    }
}
