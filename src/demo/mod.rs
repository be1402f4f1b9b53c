//! `tradehall demo`: one command from a fresh clone to a running platform with a DEV ONLY
//! PKI ([`crate::crypto::pki::directory`]), registered demo organisations and five
//! published, accelerated trades, one of each kind ([`seed`]). Unless `--manual`, the
//! demo's automatic participants then play the whole platform while a person watches:
//! the tender from its bids to its contract and refunds ([`tender`]), the procurement's
//! committee, the land, state-asset and mining sales ([`sales`]), the supervisor
//! ([`supervision`]) and the DEV ONLY bank ([`bank`]). They work through the public API
//! as users on their own machines would, and each step first looks whether it was done,
//! so a demo restarted on the same data directory goes on where it was ([`cast`]).

pub mod bank;
pub mod cast;
pub mod committee;
pub mod sales;
pub mod seed;
pub mod supervision;
pub mod tender;
pub mod tour;

use chrono::Utc;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{DemoArgs, Mode, ServeArgs};
use crate::crypto::pki;
use crate::domain::clock::SystemClock;
use crate::engine::Platform;
pub use seed::DemoTrades;

/// The procurement runs at 1440×: a statutory day lasts one minute.
pub const DEMO_TIME_SCALE: u32 = 1440;
/// The demo tender runs at 14,400×: a statutory day lasts six seconds, so its deadline
/// (30 statutory days) is three minutes away.
pub const ROUND_TIME_SCALE: u32 = 14_400;

/// The demo's live sales run at 28,800×: a land listing's 20 days of announcement last a
/// minute, its 10 working days of listing 30 seconds.
pub const LISTING_TIME_SCALE: u32 = 28_800;

/// The demo listing's countdown at [`LISTING_TIME_SCALE`], in seconds.
const LISTING_COUNTDOWN_SECONDS: u64 = 15;

/// The demo listing's countdown at `scale`: 15 s at the default, shorter in proportion
/// above it (at least one second).
pub fn listing_countdown_seconds(scale: u32) -> u32 {
    let seconds =
        LISTING_COUNTDOWN_SECONDS * u64::from(LISTING_TIME_SCALE) / u64::from(scale.max(1));
    u32::try_from(seconds.max(1)).unwrap_or(1)
}

/// What `prepare` set up.
pub struct Prepared {
    pub platform: Arc<Platform>,
    pub router: axum::Router,
    /// The connections one client may hold.
    pub limits: crate::http::ConnectionLimits,
    pub layout: pki::DevPkiLayout,
    pub trades: DemoTrades,
    /// Whether the trades were created now (a fresh data directory).
    pub seeded: bool,
}

/// The serve configuration of the demo: the dev PKI under `data_dir`, and SQLite there
/// unless a database is named.
pub fn serve_args(args: &DemoArgs, layout: &pki::DevPkiLayout) -> ServeArgs {
    let admin = layout
        .identities
        .iter()
        .filter(|i| i.role == "admin")
        .map(|i| i.cert_path.clone());
    ServeArgs {
        listen: args.listen,
        tls_cert: None,
        tls_key: None,
        database_url: args.database_url.clone(),
        read_database_url: None,
        instance_url: None,
        data_dir: args.data_dir.clone(),
        key_dir: None,
        trust_ca: layout.cas.iter().map(|(_, ca, _)| ca.clone()).collect(),
        crl: layout.cas.iter().map(|(_, _, crl)| crl.clone()).collect(),
        trust_reload_seconds: 300,
        log_audit_seconds: 60,
        admin_cert: admin.collect(),
        rulebook: None,
        region_rulebook: None,
        follow: None,
        witnesses: args.witnesses.clone(),
        calendar: None,
        bank_secrets: None,
        mode: Mode::Demo,
        max_body_bytes: 1024 * 1024,
        max_document_bytes: 64 * 1024 * 1024,
        max_envelope_bytes: 64 * 1024 * 1024,
        log_origin: "tradehall.local/log".into(),
        public_url: "https://tradehall.local".into(),
        ocds_prefix: "ocds-th0dev".into(),
        ocds_publisher: "tradehall 公共资源交易平台".into(),
        web_dir: args.web_dir.clone(),
        session_minutes: 480,
        challenge_seconds: 120,
        // The demo's own bidders and custodians all come from this machine's address: the
        // limits per identity hold, those per address would throttle the demo itself.
        limits: crate::config::LimitArgs {
            login_per_address: 0,
            submit_per_address: 0,
            quote_per_address: 0,
            connections_per_address: 0,
            ..crate::config::DEFAULT_LIMITS
        },
    }
}

/// Generates the PKI if needed, builds the server, seeds the demo data once.
pub async fn prepare(args: &DemoArgs) -> anyhow::Result<Prepared> {
    let pki_dir = args.data_dir.join("pki");
    let layout = if pki_dir.join("identities.json").exists() {
        pki::load_dev_pki(&pki_dir)?
    } else {
        pki::init_dev_pki(&pki_dir, Utc::now(), false)?
    };
    let serve = serve_args(args, &layout);
    let (platform, router) = crate::server::build(&serve, Arc::new(SystemClock)).await?;
    let (trades, seeded) = match DemoTrades::find(&platform).await? {
        Some(trades) => (trades, false),
        None => (seed::seed(&platform, &layout, args).await?, true),
    };
    Ok(Prepared {
        platform,
        router,
        limits: (&serve.limits).into(),
        layout,
        trades,
        seeded,
    })
}

/// The demo's participants, for a demo served at `server`.
pub fn cast(args: &DemoArgs, prepared: &Prepared, server: String) -> cast::Cast {
    let secret = prepared
        .platform
        .settings
        .bank_secrets
        .get(crate::server::DEV_BANK)
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    cast::Cast::new(
        server,
        prepared.layout.clone(),
        args.data_dir.join("actors"),
        secret,
        Duration::from_millis(args.pace_ms),
    )
}

/// Plays the whole demo from wherever it is: every story at once, each printing its
/// steps; returns when all but the procurement (which waits for a person's bid) are
/// told. The bank's refund desk keeps running.
pub async fn play(cast: cast::Cast, trades: DemoTrades) {
    if let Err(e) = cast.wait_until_up().await {
        eprintln!("[demo] {e:#}");
        return;
    }
    tokio::spawn(bank::run(cast.clone()));
    let procurement = {
        let (cast, trade) = (cast.clone(), trades.procurement.clone());
        tokio::spawn(async move { tender::play_procurement(&cast, &trade).await })
    };
    let tender = {
        let (cast, trade) = (cast.clone(), trades.tender.clone());
        tokio::spawn(async move {
            tender::join_the_pool(&cast).await?;
            tender::play(&cast, &trade).await
        })
    };
    let sale = |trade: &str, plan: &'static sales::SalePlan| {
        let (cast, trade) = (cast.clone(), trade.to_owned());
        tokio::spawn(async move { sales::play(&cast, &trade, plan).await.map(|_| ()) })
    };
    let land = sale(&trades.land, &sales::LAND);
    let state_asset = sale(&trades.state_asset, &sales::STATE_ASSET);
    let mining = sale(&trades.mining, &sales::MINING);
    let supervisor = {
        let (cast, tender, asset) = (
            cast.clone(),
            trades.tender.clone(),
            trades.state_asset.clone(),
        );
        tokio::spawn(async move { supervision::play(&cast, &tender, &asset).await })
    };
    let mut told = true;
    for (part, story) in [
        ("tender", tender),
        ("land", land),
        ("state asset", state_asset),
        ("mining", mining),
        ("supervisor", supervisor),
    ] {
        let outcome = story.await.map_err(anyhow::Error::from).and_then(|r| r);
        if let Err(e) = outcome {
            told = false;
            eprintln!("[demo] [{part}] the automatic story stopped: {e:#}");
        }
    }
    if told {
        println!(
            "[demo] every story is told. Check the whole log: tradehall log verify --server {}",
            cast.server
        );
    }
    if let Ok(Err(e)) = procurement.await {
        eprintln!("[demo] [procurement] the automatic story stopped: {e:#}");
    }
}
