//! `tradehall demo`: one command from a fresh clone to a running platform with a DEV ONLY
//! PKI, registered demo organisations and published, accelerated demo trades; on a fresh
//! data directory, demo custodians and bidders then play a whole sealed-bid round
//! ([`actors`]).

pub mod actors;
pub mod auction;

use anyhow::Context as _;
use base64::Engine as _;
use chrono::{Duration, Utc};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::{DemoArgs, Mode, ServeArgs};
use crate::crypto::pki::{self, DevIdentity};
use crate::crypto::signer::Signer;
use crate::domain::clock::{rfc3339, SystemClock};
use crate::domain::identity::{Identity, Role};
use crate::domain::money::{Currency, Money};
use crate::domain::region::RegionCode;
use crate::domain::trade::{Lot, OpeningCommittee, Principal, TradeTerms};
use crate::domain::usci::Usci;
use crate::engine::{AuthProof, Caller, NewTrade, Platform, Registration};
use crate::store::TradeQuery;

/// Demo trades run at 1440×: a statutory day lasts one minute.
pub const DEMO_TIME_SCALE: u32 = 1440;
/// The demo tender the actors play runs at 14,400×: a statutory day lasts six seconds,
/// so its deadline (30 statutory days) is three minutes away.
pub const ROUND_TIME_SCALE: u32 = 14_400;

/// The demo land listing runs at 28,800×: its 20 days of announcement last a minute,
/// its 10 working days of listing 30 seconds.
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
    /// The demo trades: the tender the actors play first, the land listing last.
    pub trades: Vec<String>,
    /// Whether the trades were created now (a fresh data directory).
    pub seeded: bool,
}

fn resolve(dir: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        dir.join(p)
    }
}

/// The serve configuration of the demo: the dev PKI under `data_dir`, and SQLite there
/// unless a database is named.
pub fn serve_args(args: &DemoArgs, layout: &pki::DevPkiLayout) -> ServeArgs {
    let dir = &layout.dir;
    let admin = layout
        .identities
        .iter()
        .filter(|i| i.role == "admin")
        .map(|i| resolve(dir, &i.cert_path));
    ServeArgs {
        listen: args.listen,
        tls_cert: None,
        tls_key: None,
        database_url: args.database_url.clone(),
        read_database_url: None,
        instance_url: None,
        data_dir: args.data_dir.clone(),
        key_dir: None,
        trust_ca: layout
            .cas
            .iter()
            .map(|(_, ca, _)| resolve(dir, ca))
            .collect(),
        crl: layout
            .cas
            .iter()
            .map(|(_, _, crl)| resolve(dir, crl))
            .collect(),
        trust_reload_seconds: 300,
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

/// Generates the PKI if needed, builds the server, seeds demo data once.
pub async fn prepare(args: &DemoArgs) -> anyhow::Result<Prepared> {
    let pki_dir = args.data_dir.join("pki");
    let layout = if pki_dir.join("identities.json").exists() {
        pki::load_dev_pki(&pki_dir)?
    } else {
        pki::init_dev_pki(&pki_dir, Utc::now(), false)?
    };
    let serve = serve_args(args, &layout);
    let (platform, router) = crate::server::build(&serve, Arc::new(SystemClock)).await?;
    let existing = platform
        .store
        .list_trades(&TradeQuery {
            include_drafts: true,
            limit: 10,
            ..TradeQuery::default()
        })
        .await?;
    let seeded = existing.is_empty();
    let trades = if seeded {
        seed(&platform, &layout, args).await?
    } else {
        existing.into_iter().rev().map(|t| t.id).collect()
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

async fn register(platform: &Platform, dir: &Path, who: &DevIdentity) -> anyhow::Result<Identity> {
    let cert_pem = std::fs::read_to_string(resolve(dir, &who.cert_path))?;
    let signer = Signer::from_pkcs8(&std::fs::read(resolve(dir, &who.key_path))?)?;
    let (nonce, _) = platform.challenge().await?;
    let message = crate::engine::auth_message("register", &nonce);
    let signature =
        base64::engine::general_purpose::STANDARD.encode(signer.sign(message.as_bytes()));
    let role = Role::parse(&who.role).with_context(|| format!("unknown role {}", who.role))?;
    let reg = Registration {
        proof: AuthProof {
            certificate_chain: cert_pem,
            nonce,
            signature,
        },
        organization: crate::engine::OrganizationClaim {
            name: who.organization.clone(),
            usci: who.usci.to_string(),
        },
        role,
    };
    let setup = Caller {
        request_id: Some("demo-setup".into()),
        ..Caller::default()
    };
    Ok(platform.register(&setup, reg).await?)
}

async fn seed(
    platform: &Platform,
    layout: &pki::DevPkiLayout,
    args: &DemoArgs,
) -> anyhow::Result<Vec<String>> {
    let tender_time_scale = args.tender_time_scale;
    let dir = &layout.dir;
    let mut registered = Vec::new();
    for who in &layout.identities {
        registered.push((who.role.clone(), register(platform, dir, who).await?));
    }
    let admin = registered
        .iter()
        .find(|(r, _)| r == "admin")
        .map(|(_, i)| i.clone())
        .context("no admin identity")?;
    let as_admin = Caller {
        identity: Some(admin),
        request_id: Some("demo-setup".into()),
        ..Caller::default()
    };
    let mut officer = None;
    let mut custodians = Vec::new();
    for (role, identity) in &registered {
        let Some(role) = Role::parse(role) else {
            continue;
        };
        if role.needs_grant() && role != Role::Admin {
            // The demo's supervisor supervises the whole region.
            let region = (role == Role::Supervisor)
                .then(|| crate::domain::region::RegionCode::parse("650000"))
                .transpose()?;
            let granted = platform
                .grant_role(&as_admin, &identity.id, role, region)
                .await?;
            match role {
                Role::TradingCentre => officer = Some(granted),
                Role::Custodian => custodians.push(granted.id),
                _ => {}
            }
        }
    }
    let officer = Caller {
        identity: Some(officer.context("no officer identity")?),
        request_id: Some("demo-setup".into()),
        ..Caller::default()
    };
    let now = Utc::now();
    let buyer = Principal {
        name: "乌鲁木齐市城市建设投资（集团）有限公司".into(),
        usci: Usci::complete("91650100MA7DEM001")?,
    };
    let tender = TradeTerms {
        kind: "construction_tender".into(),
        procedure: "open_tender".into(),
        title: "乌鲁木齐市河滩路快速路改造工程施工招标 (DEMO)".into(),
        principal: buyer.clone(),
        estimated_value: Money::new(1_200_000_000)?,
        currency: Currency::Cny,
        lots: vec![
            Lot {
                id: "1".into(),
                title: "第一标段 道路工程".into(),
                estimated_value: Money::new(800_000_000)?,
            },
            Lot {
                id: "2".into(),
                title: "第二标段 桥梁工程".into(),
                estimated_value: Money::new(400_000_000)?,
            },
        ],
        region_code: RegionCode::parse("650100")?,
        // 30 statutory days: three minutes away at the default 14,400×.
        bid_deadline: now + crate::domain::rulebook::scaled_days(30, tender_time_scale),
        bond_amount: Money::new(24_000_000)?,
        committee: OpeningCommittee {
            custodians: custodians.clone(),
            threshold: 2,
        },
        live: None,
        evaluation: None,
        retender_of: None,
        invited: Vec::new(),
        previous_round: None,
    };
    let procurement = TradeTerms {
        kind: "government_procurement".into(),
        procedure: "open_tender".into(),
        title: "自治区人民医院医用设备采购项目 (DEMO)".into(),
        principal: Principal {
            name: "新疆维吾尔自治区人民医院".into(),
            usci: Usci::complete("12650000MB0DEM002")?,
        },
        estimated_value: Money::new(350_000_000)?,
        currency: Currency::Cny,
        lots: vec![Lot {
            id: "1".into(),
            title: "医学影像设备".into(),
            estimated_value: Money::new(350_000_000)?,
        }],
        region_code: RegionCode::parse("650000")?,
        bid_deadline: now + Duration::minutes(45),
        bond_amount: Money::new(7_000_000)?,
        committee: OpeningCommittee {
            custodians,
            threshold: 2,
        },
        live: None,
        evaluation: None,
        retender_of: None,
        invited: Vec::new(),
        previous_round: None,
    };
    let listing = listing_terms(
        &buyer_of_land()?,
        &procurement.committee,
        args.listing_time_scale,
    )?;
    let mut ids = Vec::new();
    for (terms, time_scale) in [
        (tender, tender_time_scale),
        (procurement, DEMO_TIME_SCALE),
        (listing, args.listing_time_scale),
    ] {
        let title = terms.title.clone();
        let view = platform
            .create_trade(
                &officer,
                NewTrade {
                    terms,
                    time_scale: Some(time_scale),
                },
            )
            .await?;
        let document = match &view.trade.terms.live {
            Some(live) => format!(
                "# {title}\n\n挂牌出让文件 (DEMO ONLY)\n\n挂牌时间: {} 至 {}\n竞买申请及保证金截止: {}\n",
                rfc3339(live.starts_at),
                live.ends_at.map(rfc3339).unwrap_or_default(),
                rfc3339(view.trade.terms.bid_deadline)
            ),
            None => format!(
                "# {title}\n\n招标文件 (DEMO ONLY)\n\n投标截止时间即开标时间: {}\n",
                rfc3339(view.trade.terms.bid_deadline)
            ),
        };
        platform
            .add_document(
                &officer,
                &view.trade.id,
                "招标文件.md",
                "text/markdown; charset=utf-8",
                document.as_bytes(),
            )
            .await?;
        platform.publish_trade(&officer, &view.trade.id).await?;
        ids.push(view.trade.id);
    }
    Ok(ids)
}

fn buyer_of_land() -> anyhow::Result<Principal> {
    Ok(Principal {
        name: "乌鲁木齐市自然资源局".into(),
        usci: Usci::complete("11650100MB0DEM003")?,
    })
}

/// The demo land listing: announced now, listed after 20 scaled days for 10 scaled
/// working days, applications and deposits until the middle of the listing.
fn listing_terms(
    seller: &Principal,
    committee: &OpeningCommittee,
    scale: u32,
) -> anyhow::Result<TradeTerms> {
    use crate::domain::rulebook::scaled_days;
    use crate::domain::trade::LiveTerms;
    // A few seconds of margin: the announcement is checked again at publication.
    let starts_at = Utc::now() + scaled_days(20, scale) + Duration::seconds(3);
    let ends_at = starts_at + scaled_days(10, scale);
    Ok(TradeTerms {
        kind: "land_use_right".into(),
        procedure: "listing".into(),
        title: "乌鲁木齐市高新区 DEMO-01 号地块国有建设用地使用权挂牌出让 (DEMO)".into(),
        principal: seller.clone(),
        estimated_value: Money::new(8_000_000_000)?,
        currency: Currency::Cny,
        lots: vec![Lot {
            id: "DEMO-01".into(),
            title: "DEMO-01 号地块 (商住用地, 42,000 ㎡)".into(),
            estimated_value: Money::new(8_000_000_000)?,
        }],
        region_code: RegionCode::parse("650100")?,
        bid_deadline: starts_at + (ends_at - starts_at) / 2,
        bond_amount: Money::new(1_600_000_000)?,
        committee: committee.clone(),
        live: Some(LiveTerms {
            start_price: Money::new(8_000_000_000)?,
            increment: Money::new(20_000_000)?,
            starts_at,
            ends_at: Some(ends_at),
            countdown_seconds: Some(listing_countdown_seconds(scale)),
        }),
        evaluation: None,
        retender_of: None,
        invited: Vec::new(),
        previous_round: None,
    })
}
