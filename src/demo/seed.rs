//! What a fresh demo data directory is seeded with: every DEV ONLY identity registered
//! (the officer roles granted by the administrator, the supervisor over the whole
//! region), and five published, accelerated trades, one of each kind the platform runs:
//! a construction tender, a government procurement, a land listing, a state-asset
//! transfer and a mining-right listing.

use anyhow::Context as _;
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};

use super::{listing_countdown_seconds, DEMO_TIME_SCALE};
use crate::config::DemoArgs;
use crate::crypto::pki::{DevIdentity, DevPkiLayout};
use crate::crypto::signer::Signer;
use crate::domain::announcement::{Announcement, Contact, Parcel};
use crate::domain::clock::rfc3339;
use crate::domain::identity::{Identity, Role};
use crate::domain::money::{Currency, Money};
use crate::domain::region::RegionCode;
use crate::domain::rulebook::scaled_days;
use crate::domain::trade::{LiveTerms, Lot, OpeningCommittee, Principal, TradeTerms};
use crate::domain::usci::Usci;
use crate::engine::{AuthProof, Caller, NewTrade, Platform, Registration};
use crate::store::TradeQuery;

pub const TENDER_TITLE: &str = "乌鲁木齐市河滩路快速路改造工程施工招标 (DEMO)";
pub const PROCUREMENT_TITLE: &str = "自治区人民医院医用设备采购项目 (DEMO)";
pub const LAND_TITLE: &str = "乌鲁木齐市高新区 DEMO-01 号地块国有建设用地使用权挂牌出让 (DEMO)";
pub const STATE_ASSET_TITLE: &str =
    "乌鲁木齐国有资产投资有限公司所持新疆天山物流有限公司35%股权转让 (DEMO)";
pub const MINING_TITLE: &str = "哈密市 DEMO-02 铜矿探矿权挂牌出让 (DEMO)";

/// The demo's trades, by what they are.
#[derive(Debug, Clone)]
pub struct DemoTrades {
    pub tender: String,
    pub procurement: String,
    pub land: String,
    pub state_asset: String,
    pub mining: String,
}

impl DemoTrades {
    /// Each trade with its kind in Chinese, in the order they are seeded.
    pub fn each(&self) -> [(&'static str, &str); 5] {
        [
            ("工程招标", self.tender.as_str()),
            ("政府采购", self.procurement.as_str()),
            ("土地出让", self.land.as_str()),
            ("国有产权", self.state_asset.as_str()),
            ("矿业权", self.mining.as_str()),
        ]
    }

    /// The demo's trades in the store, found by their titles (the newest of each), or
    /// None before the demo has seeded them.
    pub async fn find(platform: &Platform) -> anyhow::Result<Option<Self>> {
        let trades = platform
            .store
            .list_trades(&TradeQuery {
                include_drafts: true,
                limit: 200,
                ..TradeQuery::default()
            })
            .await?;
        let id = |title: &str| {
            trades
                .iter()
                .find(|t| t.terms.title == title)
                .map(|t| t.id.clone())
        };
        Ok((|| {
            Some(Self {
                tender: id(TENDER_TITLE)?,
                procurement: id(PROCUREMENT_TITLE)?,
                land: id(LAND_TITLE)?,
                state_asset: id(STATE_ASSET_TITLE)?,
                mining: id(MINING_TITLE)?,
            })
        })())
    }
}

async fn register(platform: &Platform, who: &DevIdentity) -> anyhow::Result<Identity> {
    let cert_pem = std::fs::read_to_string(&who.cert_path)?;
    let signer = Signer::from_pkcs8(&std::fs::read(&who.key_path)?)?;
    let (nonce, _) = platform.challenge().await?;
    let message = crate::engine::auth_message("register", &nonce);
    let signature =
        base64::engine::general_purpose::STANDARD.encode(signer.sign(message.as_bytes())?);
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
    Ok(platform.register(&setup(None), reg).await?)
}

fn setup(identity: Option<Identity>) -> Caller {
    Caller {
        identity,
        request_id: Some("demo-setup".into()),
        ..Caller::default()
    }
}

/// Registers every identity of the dev PKI, has the administrator grant the officer
/// roles, and publishes the demo trades.
pub async fn seed(
    platform: &Platform,
    layout: &DevPkiLayout,
    args: &DemoArgs,
) -> anyhow::Result<DemoTrades> {
    let mut registered = Vec::new();
    for who in &layout.identities {
        registered.push((who.role.clone(), register(platform, who).await?));
    }
    let admin = registered
        .iter()
        .find(|(r, _)| r == "admin")
        .map(|(_, i)| i.clone())
        .context("no admin identity")?;
    let as_admin = setup(Some(admin));
    let mut officer = None;
    let mut custodians = Vec::new();
    for (role, identity) in &registered {
        let Some(role) = Role::parse(role) else {
            continue;
        };
        if role.needs_grant() && role != Role::Admin {
            // The demo's supervisor supervises the whole region.
            let region = (role == Role::Supervisor)
                .then(|| RegionCode::parse("650000"))
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
    let officer = setup(Some(officer.context("no officer identity")?));
    let committee = OpeningCommittee {
        custodians,
        threshold: 2,
        suite: Default::default(),
    };
    let now = Utc::now();
    let sales = args.listing_time_scale;
    let trades = [
        (
            tender(now, &committee, args.tender_time_scale)?,
            args.tender_time_scale,
        ),
        (procurement(now, &committee)?, DEMO_TIME_SCALE),
        (land(now, &committee, sales)?, sales),
        (state_asset(now, &committee, sales)?, sales),
        (mining(now, &committee, sales)?, sales),
    ];
    let mut ids = Vec::new();
    for (terms, time_scale) in trades {
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
        let document = announcement(&title, &view.trade.terms);
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
    let [tender, procurement, land, state_asset, mining] =
        <[String; 5]>::try_from(ids).map_err(|_| anyhow::anyhow!("five demo trades"))?;
    Ok(DemoTrades {
        tender,
        procurement,
        land,
        state_asset,
        mining,
    })
}

/// The demo document of a trade: what it is and its schedule.
fn announcement(title: &str, terms: &TradeTerms) -> String {
    match &terms.live {
        Some(live) => format!(
            "# {title}\n\n出让 (转让) 文件 (DEMO ONLY)\n\n起始价: {} 元, 增价幅度: {} 元\n\
             公告 (披露) 期满开始: {}\n截止: {}\n竞买申请及保证金截止: {}\n",
            live.start_price,
            live.increment,
            rfc3339(live.starts_at),
            live.ends_at.map(rfc3339).unwrap_or_default(),
            rfc3339(terms.bid_deadline)
        ),
        None => format!(
            "# {title}\n\n招标文件 (DEMO ONLY)\n\n投标截止时间即开标时间: {}\n",
            rfc3339(terms.bid_deadline)
        ),
    }
}

fn principal(name: &str, first17: &str) -> anyhow::Result<Principal> {
    Ok(Principal {
        name: name.into(),
        usci: Usci::complete(first17)?,
    })
}

fn lot(id: &str, title: &str, value: i64) -> anyhow::Result<Lot> {
    Ok(Lot {
        id: id.into(),
        title: title.into(),
        estimated_value: Money::new(value)?,
    })
}

/// A sealed-bid trade's terms with what the demo trades share.
fn sealed_bid(
    kind: &str,
    title: &str,
    principal: Principal,
    lots: Vec<Lot>,
    region: &str,
    (bid_deadline, bond): (DateTime<Utc>, i64),
    committee: &OpeningCommittee,
) -> anyhow::Result<TradeTerms> {
    Ok(TradeTerms {
        kind: kind.into(),
        procedure: "open_tender".into(),
        title: title.into(),
        principal,
        estimated_value: Money::new(lots.iter().map(|l| l.estimated_value.minor_units()).sum())?,
        currency: Currency::Cny,
        lots,
        region_code: RegionCode::parse(region)?,
        bid_deadline,
        bond_amount: Money::new(bond)?,
        committee: committee.clone(),
        live: None,
        evaluation: None,
        retender_of: None,
        invited: Vec::new(),
        previous_round: None,
        announcement: None,
    })
}

/// The tender the demo plays to its contract: 30 statutory days to the deadline.
fn tender(
    now: DateTime<Utc>,
    committee: &OpeningCommittee,
    scale: u32,
) -> anyhow::Result<TradeTerms> {
    sealed_bid(
        "construction_tender",
        TENDER_TITLE,
        principal(
            "乌鲁木齐市城市建设投资（集团）有限公司",
            "91650100MA7DEM001",
        )?,
        vec![
            lot("1", "第一标段 道路工程", 800_000_000)?,
            lot("2", "第二标段 桥梁工程", 400_000_000)?,
        ],
        "650100",
        (now + scaled_days(30, scale), 24_000_000),
        committee,
    )
    .map(|t| announced(t, words(
        "河滩路（北京路至苏州路段）改造工程，全长 3.2 公里，含道路、排水、照明及一座跨线桥。\n\
         招标范围：第一标段 道路工程（路基、路面、排水、照明）；第二标段 桥梁工程（跨线桥一座，长 186 米）。\n\
         计划工期：365 日历天。质量要求：合格。",
        "1. 具有独立法人资格，持有有效的营业执照；\n\
         2. 第一标段须具备市政公用工程施工总承包二级及以上资质，第二标段须具备桥梁工程专业承包一级资质；\n\
         3. 拟派项目经理具备市政公用工程专业一级注册建造师执业资格；\n\
         4. 未被列入失信被执行人名单、重大税收违法失信主体名单、政府采购严重违法失信行为记录名单；\n\
         5. 本项目不接受联合体投标。",
        ("城投集团招标办 王工", "0991-4567890", "乌鲁木齐市天山区解放南路 88 号"),
        None,
    )))
}

/// The procurement a person can bid on in the browser: 45 minutes at 1,440×.
fn procurement(now: DateTime<Utc>, committee: &OpeningCommittee) -> anyhow::Result<TradeTerms> {
    sealed_bid(
        "government_procurement",
        PROCUREMENT_TITLE,
        principal("新疆维吾尔自治区人民医院", "12650000MB0DEM002")?,
        vec![lot("1", "医学影像设备", 350_000_000)?],
        "650000",
        (now + Duration::minutes(45), 7_000_000),
        committee,
    )
    .map(|t| announced(t, words(
        "采购医学影像设备一批：1.5T 磁共振成像系统 1 台、64 排 CT 1 台，含安装、调试、培训及五年保修。",
        "1. 符合《中华人民共和国政府采购法》第二十二条规定的条件；\n\
         2. 具有医疗器械经营许可证（第三类）；\n\
         3. 本项目专门面向所有供应商采购，不专门面向中小企业。",
        ("医院采购中心 李老师", "0991-8562000", "乌鲁木齐市天山区天池路 91 号"),
        None,
    )))
}

/// A live sale's terms: announced now, quoting from `starts_at` to `ends_at`,
/// applications and deposits until `bid_deadline`.
#[allow(clippy::too_many_arguments)]
fn live_sale(
    kind: &str,
    procedure: &str,
    title: &str,
    seller: Principal,
    lot: Lot,
    region: &str,
    (start_price, increment, deposit): (i64, i64, i64),
    (starts_at, ends_at, bid_deadline): (DateTime<Utc>, DateTime<Utc>, DateTime<Utc>),
    committee: &OpeningCommittee,
    scale: u32,
) -> anyhow::Result<TradeTerms> {
    Ok(TradeTerms {
        kind: kind.into(),
        procedure: procedure.into(),
        title: title.into(),
        principal: seller,
        estimated_value: lot.estimated_value,
        currency: Currency::Cny,
        lots: vec![lot],
        region_code: RegionCode::parse(region)?,
        bid_deadline,
        bond_amount: Money::new(deposit)?,
        committee: committee.clone(),
        live: Some(LiveTerms {
            start_price: Money::new(start_price)?,
            increment: Money::new(increment)?,
            starts_at,
            ends_at: Some(ends_at),
            countdown_seconds: Some(listing_countdown_seconds(scale)),
        }),
        evaluation: None,
        retender_of: None,
        invited: Vec::new(),
        previous_round: None,
        announcement: None,
    })
}

/// A listing announced now: 20 scaled days of announcement, 10 scaled working days of
/// listing, applications and deposits until the middle of the listing.
fn listing_schedule(
    now: DateTime<Utc>,
    scale: u32,
) -> (DateTime<Utc>, DateTime<Utc>, DateTime<Utc>) {
    // A few seconds of margin: the announcement is checked again at publication.
    let starts_at = now + scaled_days(20, scale) + Duration::seconds(3);
    let ends_at = starts_at + scaled_days(10, scale);
    (starts_at, ends_at, starts_at + (ends_at - starts_at) / 2)
}

fn land(
    now: DateTime<Utc>,
    committee: &OpeningCommittee,
    scale: u32,
) -> anyhow::Result<TradeTerms> {
    live_sale(
        "land_use_right",
        "listing",
        LAND_TITLE,
        principal("乌鲁木齐市自然资源局", "11650100MB0DEM003")?,
        lot(
            "DEMO-01",
            "DEMO-01 号地块 (商住用地, 42,000 ㎡)",
            8_000_000_000,
        )?,
        "650100",
        (8_000_000_000, 20_000_000, 1_600_000_000),
        listing_schedule(now, scale),
        committee,
        scale,
    )
    .map(|t| announced(t, words(
        "DEMO-01 号宗地位于乌鲁木齐市天山区延安路以南、新华南路以东，四至清楚，已完成土地前期开发。\n\
         规划指标：容积率不大于 2.5，建筑密度不大于 30%，绿地率不小于 35%。",
        "中华人民共和国境内外的法人、非法人组织和自然人均可申请参加竞买，法律法规另有规定的除外。\n\
         申请人须在报名截止前足额缴纳竞买保证金。",
        ("乌鲁木齐市自然资源局 土地交易科", "0991-2345678", "乌鲁木齐市天山区人民路 1 号"),
        Some(Parcel {
            location: "乌鲁木齐市天山区延安路以南、新华南路以东".into(),
            area_m2: "42000".into(),
            land_use: "商住用地（城镇住宅用地、商务金融用地）".into(),
            term_years: 70,
        }),
    )))
}

fn mining(
    now: DateTime<Utc>,
    committee: &OpeningCommittee,
    scale: u32,
) -> anyhow::Result<TradeTerms> {
    live_sale(
        "mining_right",
        "listing",
        MINING_TITLE,
        principal("新疆维吾尔自治区自然资源厅", "11650000MB0DEM005")?,
        lot(
            "DEMO-02",
            "DEMO-02 铜矿探矿权 (勘查面积 12.6 km²)",
            2_000_000_000,
        )?,
        "650500",
        (2_000_000_000, 20_000_000, 400_000_000),
        listing_schedule(now, scale),
        committee,
        scale,
    )
    .map(|t| announced(t, words(
        "DEMO-02 铜矿探矿权位于哈密市伊州区，勘查面积 12.6 平方公里，勘查矿种为铜矿。",
        "竞买人须为中华人民共和国境内注册的企业法人，具有相应的勘查资金能力，未被列入严重失信主体名单。",
        ("自治区自然资源厅 矿业权管理处", "0991-2800000", "乌鲁木齐市沙依巴克区黄河路 71 号"),
        Some(Parcel {
            location: "哈密市伊州区".into(),
            area_m2: "12600000".into(),
            land_use: "铜矿勘查".into(),
            term_years: 5,
        }),
    )))
}

/// The state-asset transfer: disclosed from now for 20 scaled working days, buyers apply
/// until the middle of it; with two or more, online dynamic bidding follows.
fn state_asset(
    now: DateTime<Utc>,
    committee: &OpeningCommittee,
    scale: u32,
) -> anyhow::Result<TradeTerms> {
    let starts_at = now + Duration::seconds(3);
    let ends_at = starts_at + scaled_days(20, scale) + Duration::seconds(1);
    live_sale(
        "state_asset",
        "disclosure",
        STATE_ASSET_TITLE,
        principal("乌鲁木齐国有资产投资有限公司", "91650100MA7DEM004")?,
        lot("1", "新疆天山物流有限公司 35% 股权", 1_200_000_000)?,
        "650100",
        (1_200_000_000, 10_000_000, 200_000_000),
        (starts_at, ends_at, starts_at + (ends_at - starts_at) / 2),
        committee,
        scale,
    )
    .map(|t| {
        announced(
            t,
            words(
                "转让标的：新疆天山物流有限公司 35% 股权。标的企业主营道路货物运输与仓储，\n\
         经审计的 2025 年末净资产 3.1 亿元。转让方为乌鲁木齐国有资产投资有限公司。",
                "意向受让方须为依法设立并有效存续的企业法人，具有良好的财务状况和支付能力，\n\
         未被列入失信被执行人名单。",
                (
                    "乌鲁木齐国有资产投资有限公司 产权部",
                    "0991-3330000",
                    "乌鲁木齐市水磨沟区南湖北路 6 号",
                ),
                None,
            ),
        )
    })
}

/// The announcement's words for a demo trade.
fn words(
    overview: &str,
    qualifications: &str,
    (name, phone, address): (&str, &str, &str),
    parcel: Option<Parcel>,
) -> Announcement {
    Announcement {
        overview: overview.into(),
        qualifications: qualifications.into(),
        contact: Some(Contact {
            name: name.into(),
            phone: phone.into(),
            address: address.into(),
        }),
        parcel,
    }
}

fn announced(mut terms: TradeTerms, announcement: Announcement) -> TradeTerms {
    terms.announcement = Some(announcement);
    terms
}
