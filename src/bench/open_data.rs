//! `tradehall bench open-data`: many published trades (100,000 by default), then public
//! search latency p50/p99 over a mix of queries, and the OCDS export of every release
//! (time, releases/s, bytes, memory). Both answer from the database the trades are in.

use std::time::{Duration, Instant};

use futures_util::{StreamExt as _, TryStreamExt as _};
use serde::Serialize;

use super::log::current_rss_mib;
use super::{quantile_ms, World};
use crate::domain::identity::Role;
use crate::domain::money::{Currency, Money};
use crate::domain::region::RegionCode;
use crate::domain::trade::{Lot, OpeningCommittee, Principal, TradeTerms};
use crate::engine::{Caller, NewTrade, SearchParams};

#[derive(Debug, Clone, clap::Args)]
pub struct OpenDataOptions {
    /// Published trades to create.
    #[arg(long, default_value_t = 100_000)]
    pub trades: usize,
    /// Search queries to time.
    #[arg(long, default_value_t = 2_000)]
    pub queries: usize,
    /// Run on PostgreSQL: a server URL the user may create databases from; a
    /// throwaway database is made and dropped.
    #[arg(long)]
    pub postgres: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OpenDataReport {
    pub backend: &'static str,
    pub trades: usize,
    pub setup_seconds: f64,
    pub search_queries: usize,
    pub search_p50_ms: f64,
    pub search_p99_ms: f64,
    pub search_max_ms: f64,
    /// Mean results per query (at most 20 a page).
    pub search_mean_results: f64,
    pub ocds_releases: usize,
    pub ocds_seconds: f64,
    pub ocds_releases_per_second: f64,
    pub ocds_mib: f64,
    /// RSS growth of this process while exporting.
    pub ocds_rss_growth_mib: f64,
    pub peak_rss_mib: f64,
}

const CITIES: [(&str, &str); 15] = [
    ("乌鲁木齐市", "650100"),
    ("克拉玛依市", "650200"),
    ("吐鲁番市", "650400"),
    ("哈密市", "650500"),
    ("昌吉州", "652300"),
    ("博州", "652700"),
    ("巴州", "652800"),
    ("阿克苏地区", "652900"),
    ("克州", "653000"),
    ("喀什地区", "653100"),
    ("和田地区", "653200"),
    ("伊犁州", "654000"),
    ("塔城地区", "654200"),
    ("阿勒泰地区", "654300"),
    ("石河子市", "659001"),
];
const PLACES: [&str; 12] = [
    "河滩路",
    "北京路",
    "人民路",
    "友好路",
    "新华路",
    "解放路",
    "长江路",
    "黄河路",
    "天山路",
    "昆仑路",
    "西虹路",
    "南湖片区",
];
const WORKS: [&str; 10] = [
    "改造工程",
    "新建工程",
    "维修工程",
    "绿化工程",
    "供水管网改造",
    "供热管网新建",
    "道路拓宽",
    "桥梁加固",
    "学校建设",
    "医院扩建",
];
const PURPOSES: [&str; 4] = ["施工招标", "监理招标", "设备采购", "服务采购"];

/// A small deterministic generator (SplitMix64), so a run is repeatable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        let n = u64::try_from(items.len()).unwrap_or(1);
        items[usize::try_from(self.next() % n).unwrap_or(0)]
    }
}

pub async fn run(options: &OpenDataOptions) -> anyhow::Result<OpenDataReport> {
    let setup = Instant::now();
    let pg = match &options.postgres {
        Some(url) => Some(super::pg::ThrowawayPg::create(url).await?),
        None => None,
    };
    let world = World::on(1024 * 1024, pg.as_ref().map(|p| p.url.clone())).await?;
    let (officer, _) = world.member(Role::TradingCentre).await?;
    let officer = Caller {
        identity: Some(officer),
        ..Caller::default()
    };
    let progress = indicatif::ProgressBar::new(options.trades as u64);
    let mut rng = Rng(2026);
    let mut all_terms = Vec::with_capacity(options.trades);
    for n in 0..options.trades {
        let (city, region) = rng.pick(&CITIES);
        let title = format!(
            "{city}{}{}{}（第{n}标段）",
            rng.pick(&PLACES),
            rng.pick(&WORKS),
            rng.pick(&PURPOSES)
        );
        let kind = if n % 3 == 0 {
            "government_procurement"
        } else {
            "construction_tender"
        };
        all_terms.push(TradeTerms {
            kind: kind.into(),
            procedure: "open_tender".into(),
            title,
            principal: Principal {
                name: format!("{city}城市建设投资有限公司"),
                usci: crate::domain::usci::Usci::complete("91650100MA77BENCH")?,
            },
            estimated_value: Money::new(1_000_000_000)?,
            currency: Currency::Cny,
            lots: vec![Lot {
                id: "1".into(),
                title: "全部".into(),
                estimated_value: Money::new(1_000_000_000)?,
            }],
            region_code: RegionCode::parse(region)?,
            bid_deadline: world.now() + chrono::Duration::days(25),
            bond_amount: Money::new(0)?,
            committee: OpeningCommittee {
                custodians: world.custodian_ids.clone(),
                threshold: 2,
                suite: Default::default(),
            },
            live: None,
            evaluation: None,
            retender_of: None,
            announcement: None,
            invited: Vec::new(),
            previous_round: None,
        });
    }
    // Several officers' requests at once, as on a busy day: reads overlap the writes.
    let platform = &world.platform;
    let officer = &officer;
    let progress_ref = &progress;
    futures_util::stream::iter(all_terms)
        .map(|terms| async move {
            let view = platform
                .create_trade(
                    officer,
                    NewTrade {
                        terms,
                        time_scale: None,
                    },
                )
                .await?;
            platform
                .add_document(
                    officer,
                    &view.trade.id,
                    "招标文件.txt",
                    "text/plain",
                    b"bench",
                )
                .await?;
            platform.publish_trade(officer, &view.trade.id).await?;
            progress_ref.inc(1);
            anyhow::Ok(())
        })
        .buffer_unordered(8)
        .try_collect::<Vec<()>>()
        .await?;
    progress.finish_and_clear();
    let setup_seconds = setup.elapsed().as_secs_f64();

    // Search: a city, a road, a kind of work, two of them, with a region filter, or a
    // lot number (one trade).
    let mut latencies = Vec::with_capacity(options.queries);
    let mut found = 0usize;
    for i in 0..options.queries {
        let (city, region) = rng.pick(&CITIES);
        let place = rng.pick(&PLACES);
        let work = rng.pick(&WORKS);
        let (q, region) = match i % 6 {
            0 => (city.to_owned(), None),
            1 => (place.to_owned(), None),
            2 => (work.to_owned(), None),
            3 => (format!("{place} {work}"), None),
            4 => (work.to_owned(), Some(region[..4].to_owned())),
            _ => (
                format!("第{}标段", rng.next() % options.trades.max(1) as u64),
                None,
            ),
        };
        let started = Instant::now();
        let page = world
            .platform
            .search(SearchParams {
                q,
                region,
                ..SearchParams::default()
            })
            .await?;
        latencies.push(started.elapsed());
        found += page.results.len();
    }
    latencies.sort();

    // The OCDS export, page by page as the bulk download reads it.
    let rss_before = current_rss_mib();
    let mut rss_peak = rss_before;
    let started = Instant::now();
    let (mut releases, mut bytes, mut after) = (0usize, 0usize, 0i64);
    loop {
        let page = world
            .platform
            .ocds_releases(after, crate::engine::ocds::MAX_RELEASES)
            .await?;
        if page.next_after == after {
            break;
        }
        if let Some(package) = &page.package {
            releases += package["releases"].as_array().map_or(0, Vec::len);
            bytes += serde_json::to_vec(package)?.len();
        }
        after = page.next_after;
        rss_peak = rss_peak.max(current_rss_mib());
    }
    let ocds_seconds = started.elapsed().as_secs_f64();
    let ms = |d: Option<&Duration>| d.map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    drop(pg);
    Ok(OpenDataReport {
        backend: if options.postgres.is_some() {
            "postgres"
        } else {
            "sqlite"
        },
        trades: options.trades,
        setup_seconds,
        search_queries: options.queries,
        search_p50_ms: quantile_ms(&latencies, 0.50),
        search_p99_ms: quantile_ms(&latencies, 0.99),
        search_max_ms: ms(latencies.last()),
        search_mean_results: found as f64 / options.queries.max(1) as f64,
        ocds_releases: releases,
        ocds_seconds,
        ocds_releases_per_second: releases as f64 / ocds_seconds.max(1e-9),
        ocds_mib: bytes as f64 / (1024.0 * 1024.0),
        ocds_rss_growth_mib: rss_peak - rss_before,
        peak_rss_mib: rss_peak,
    })
}
