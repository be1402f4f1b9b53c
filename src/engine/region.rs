//! The region-wide view (互联互通, issue 8, docs/adr/0019): the public data of every
//! platform this one follows, read only from their verified, mirrored logs
//! (`engine::mirror`). Trades as announced, found by the same search terms as ours, with
//! their results, and their open data as OCDS releases built by the same code as ours
//! (`domain::ocds`) from the mirrored entries.

use serde::Serialize;
use serde_json::Value;

use super::{EngineError, Platform, Result};
use crate::domain::ocds::{release, release_package, Context, Entry, Publisher, RELEASE_KINDS};
use crate::store::mirror::{MirroredEntry, MirroredTerms, MAX_MIRRORED_READ};

/// Most trades one region-wide listing or search returns.
pub const MAX_REGION_TRADES: i64 = 500;

/// The public entries that state a trade's result, in the order a trade reaches them.
const RESULT_KINDS: [&str; 6] = [
    "evaluation.failed",
    "candidates.published",
    "award.notified",
    "contract.recorded",
    "sale.closed",
    "trade.terminated",
];

/// A trade published on a followed platform.
#[derive(Debug, Clone, Serialize)]
pub struct RegionTrade {
    pub platform: String,
    /// Its `trade.published` entry in that platform's log (1-based).
    pub log_index: u64,
    pub published_at: String,
    /// The trade as announced.
    pub trade: Value,
}

/// A trade of a followed platform with what its log states since the announcement.
#[derive(Debug, Clone, Serialize)]
pub struct RegionTradeDetail {
    #[serde(flatten)]
    pub announced: RegionTrade,
    /// The entries that state its result, in log order: kind, log index, time, data.
    pub results: Vec<Value>,
}

/// `GET /api/v1/region/trades` parameters.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionQuery {
    /// Search text (the terms of `GET /api/v1/search`); all trades without it.
    pub q: Option<String>,
    /// One followed platform by name; all without it.
    pub platform: Option<String>,
    pub limit: Option<i64>,
}

fn region_trade(e: MirroredEntry) -> RegionTrade {
    let entry: Value = serde_json::from_slice(&e.entry).unwrap_or_default();
    RegionTrade {
        platform: e.mirror,
        log_index: e.index + 1,
        published_at: entry["at"].as_str().unwrap_or_default().to_owned(),
        trade: entry["data"]["announcement"]["trade"].clone(),
    }
}

fn not_followed() -> EngineError {
    EngineError::NotFound {
        code: "platform_not_followed",
        what: "followed platform",
    }
}

impl Platform {
    /// The search terms of the trade a mirrored `trade.published` entry announces.
    pub(crate) fn announced(&self, index: u64, entry: &[u8]) -> Option<MirroredTerms> {
        let entry: Value = serde_json::from_slice(entry).ok()?;
        let published_at = chrono::DateTime::parse_from_rfc3339(entry["at"].as_str()?).ok()?;
        Some(MirroredTerms {
            index,
            published_at: published_at.timestamp_millis(),
            terms: self.announced_terms(&entry["data"]["announcement"]["trade"]),
        })
    }

    fn followed_platform(&self, name: &str) -> Result<&super::mirror::Followed> {
        self.settings
            .follow
            .iter()
            .find(|f| f.name == name)
            .ok_or_else(not_followed)
    }

    /// The trades published on the followed platforms, as mirrored, newest first:
    /// those found by `q` if given, of one platform if given.
    pub async fn region_trades(&self, query: &RegionQuery) -> Result<Vec<RegionTrade>> {
        let limit = query.limit.unwrap_or(100);
        if !(1..=MAX_REGION_TRADES).contains(&limit) {
            return Err(EngineError::invalid(
                "invalid_query",
                format!("limit is 1 to {MAX_REGION_TRADES}"),
            ));
        }
        let platform = query.platform.as_deref();
        if let Some(name) = platform {
            self.followed_platform(name)?;
        }
        let mut trades: Vec<RegionTrade> = match query.q.as_deref() {
            Some(q) => {
                let terms = super::search::terms_of_query(q)?;
                self.reads.search_mirrored(&terms, platform, limit).await?
            }
            None => self
                .reads
                .newest_mirrored("trade.published", limit)
                .await?
                .into_iter()
                .filter(|e| platform.is_none_or(|p| e.mirror == p))
                .collect(),
        }
        .into_iter()
        .map(region_trade)
        .collect();
        trades.sort_by(|a, b| b.published_at.cmp(&a.published_at));
        trades.truncate(usize::try_from(limit).unwrap_or(0));
        Ok(trades)
    }

    /// One trade of a followed platform: as announced, and its result entries.
    pub async fn region_trade(&self, platform: &str, trade_id: &str) -> Result<RegionTradeDetail> {
        self.followed_platform(platform)?;
        let announced = self
            .reads
            .mirrored_of_trade(platform, trade_id, "trade.published")
            .await?
            .ok_or(EngineError::NotFound {
                code: "trade_not_found",
                what: "mirrored trade",
            })?;
        let mut results = Vec::new();
        for kind in RESULT_KINDS {
            if let Some(e) = self
                .reads
                .mirrored_of_trade(platform, trade_id, kind)
                .await?
            {
                let entry: Value = serde_json::from_slice(&e.entry).unwrap_or_default();
                results.push(serde_json::json!({
                    "kind": e.kind,
                    "log_index": e.index + 1,
                    "at": entry["at"],
                    "data": entry["data"],
                }));
            }
        }
        results.sort_by_key(|r| r["log_index"].as_u64());
        Ok(RegionTradeDetail {
            announced: region_trade(announced),
            results,
        })
    }

    /// The OCDS releases of a followed platform's mirrored entries from its log index
    /// `after` on (1-based, as its own releases), at most `limit` entries read, and where
    /// to ask from next. The ocids are `<our prefix>-<platform>-<trade>`; documents link
    /// to the platform itself. An opening's release needs its opening record, which is
    /// not in the log, so the region has none.
    pub async fn region_releases(
        &self,
        platform: &str,
        after: u64,
        limit: i64,
    ) -> Result<(Option<Value>, u64)> {
        let followed = self.followed_platform(platform)?;
        if !(1..=MAX_MIRRORED_READ).contains(&limit) {
            return Err(EngineError::invalid(
                "invalid_limit",
                format!("limit is 1 to {MAX_MIRRORED_READ}"),
            ));
        }
        let entries = self
            .reads
            .mirrored_from(platform, after, &RELEASE_KINDS, limit)
            .await?;
        let next_after = entries.last().map_or(after, |e| e.index + 1);
        let prefix = format!("{}-{platform}", self.settings.ocds.prefix);
        let mut facts: std::collections::HashMap<String, (Option<String>, bool)> =
            std::collections::HashMap::new();
        let mut releases = Vec::with_capacity(entries.len());
        for e in &entries {
            let Some(trade_id) = e.trade_id.as_deref() else {
                continue;
            };
            let entry: Value = serde_json::from_slice(&e.entry).unwrap_or_default();
            if !facts.contains_key(trade_id) {
                let announced = match e.kind.as_str() {
                    "trade.published" => Some(entry.clone()),
                    _ => self
                        .reads
                        .mirrored_of_trade(platform, trade_id, "trade.published")
                        .await?
                        .and_then(|p| serde_json::from_slice::<Value>(&p.entry).ok()),
                };
                let trade = announced
                    .map(|a| a["data"]["announcement"]["trade"].clone())
                    .unwrap_or_default();
                let procedure = self.rulebook.procedure(
                    trade["kind"].as_str().unwrap_or_default(),
                    trade["procedure"].as_str().unwrap_or_default(),
                );
                facts.insert(
                    trade_id.to_owned(),
                    (
                        procedure.map(|p| p.procedure_name.clone()),
                        trade["live"].is_object(),
                    ),
                );
            }
            let (procedure_name, live) = facts.get(trade_id).cloned().unwrap_or_default();
            let made = release(
                Entry {
                    seq: i64::try_from(e.index + 1).unwrap_or(i64::MAX),
                    at: entry["at"].as_str().unwrap_or_default(),
                    kind: &e.kind,
                    trade_id,
                    data: &entry["data"],
                },
                Context {
                    ocid_prefix: &prefix,
                    procedure_name: procedure_name.as_deref(),
                    live,
                    opening: None,
                    base_url: &followed.url,
                },
            );
            releases.extend(made);
        }
        let package = (!releases.is_empty()).then(|| {
            let published = releases
                .last()
                .and_then(|r| r["date"].as_str())
                .unwrap_or_default()
                .to_owned();
            let uri = format!(
                "{}/api/v1/region/ocds/releases?platform={platform}&after={after}&limit={limit}",
                self.settings.ocds.base_url
            );
            release_package(
                Publisher {
                    name: &self.settings.ocds.publisher,
                    uri: &uri,
                    published_date: &published,
                },
                releases,
            )
        });
        Ok((package, next_after))
    }
}
