//! The region-wide view (互联互通, issue 8, docs/adr/0019): the public data of every
//! platform this one follows, read only from their verified, mirrored logs
//! (`engine::mirror`). Trades as announced, found by the same search terms as ours, with
//! their results, and their open data as OCDS releases built by the same code as ours
//! (`domain::ocds`) from the mirrored entries.

use serde::Serialize;
use serde_json::Value;

use super::{EngineError, Platform, Result};
use crate::domain::ocds::{release, Context, Entry, RELEASE_KINDS};
use crate::domain::region::RegionCode;
use crate::domain::risk::{
    rotating_winner::RotatingWinner, BidFacts, Finding, RiskRule, TradeFacts,
};
use crate::store::mirror::{MirroredEntry, MirroredTerms, MAX_MIRRORED_READ};

/// Most trades one region-wide listing or search returns.
pub const MAX_REGION_TRADES: i64 = 500;

/// Most awarded trades of each followed platform the region-wide risk rules look back on.
const RISK_HISTORY: i64 = 1000;

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
        let package = self.packaged(
            &format!(
                "/api/v1/region/ocds/releases?platform={platform}&after={after}&limit={limit}"
            ),
            releases,
        );
        Ok((package, next_after))
    }

    /// The region-wide risk rules (issue 8) on `platform`'s awarded trades: the same
    /// group of bidders together in trades of several followed platforms, the lowest price
    /// rotating among them (陪标 across prefectures; each prefecture sees only its part).
    /// Bidders and prices are read from the public `award.notified` entries, whose
    /// evaluation report ranks every bid. A finding is raised once (its alert's dedup key),
    /// for the supervisors of the division enclosing the platforms concerned.
    pub async fn region_risk(&self, platform: &str) -> Result<usize> {
        let Some(thresholds) = &self.rulebook.risk else {
            return Ok(0);
        };
        let awarded = self
            .store
            .newest_mirrored("award.notified", RISK_HISTORY)
            .await?;
        let all: Vec<TradeFacts> = awarded.iter().filter_map(awarded_facts).collect();
        let now = self.clock.now();
        let mut alerts = Vec::new();
        for trade in all
            .iter()
            .filter(|t| t.trade.starts_with(&format!("{platform}/")))
        {
            for finding in cross_platform(RotatingWinner.check(trade, &all, thresholds)) {
                let Some(region) = self.enclosing(&finding) else {
                    continue;
                };
                alerts.push(super::risk::alert_of(&finding, &trade.trade, &region, now));
            }
        }
        if alerts.is_empty() {
            return Ok(0);
        }
        // Raised by entries of another log: no entry of ours triggered them (0).
        let raised = self.store.raise_alerts(0, alerts, false).await?;
        if !raised.is_empty() {
            tracing::info!(
                platform,
                alerts = raised.len(),
                "region-wide risk alerts raised"
            );
        }
        Ok(raised.len())
    }

    /// The smallest division containing every followed platform a finding concerns.
    fn enclosing(&self, finding: &Finding) -> Option<RegionCode> {
        platforms_of(finding)
            .iter()
            .map(|name| self.followed_platform(name).map(|f| f.region.clone()).ok())
            .collect::<Option<Vec<_>>>()?
            .into_iter()
            .try_fold(None::<RegionCode>, |acc, r| match acc {
                None => Some(Some(r)),
                Some(a) => a.enclosing(&r).map(Some),
            })
            .flatten()
    }
}

/// The followed platforms of the trades a finding cites (`<platform>/<trade>`).
fn platforms_of(finding: &Finding) -> std::collections::BTreeSet<String> {
    finding.evidence["trades"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["trade"].as_str()?.split_once('/'))
        .map(|(platform, _)| platform.to_owned())
        .collect()
}

/// The findings that span several platforms: those within one are that platform's own
/// risk engine's to raise.
fn cross_platform(findings: Vec<Finding>) -> Vec<Finding> {
    findings
        .into_iter()
        .filter(|f| platforms_of(f).len() >= 2)
        .collect()
}

/// What the risk rules need of an awarded trade of a followed platform, from its
/// `award.notified` entry: every ranked bid with its organization, price and whether it
/// qualified. The trade is named `<platform>/<trade id>`.
fn awarded_facts(e: &MirroredEntry) -> Option<TradeFacts> {
    let entry: Value = serde_json::from_slice(&e.entry).ok()?;
    let at = chrono::DateTime::parse_from_rfc3339(entry["at"].as_str()?).ok()?;
    let bids = entry["data"]["revealed"]["report"]["ranking"]["bids"]
        .as_array()?
        .iter()
        .map(|b| BidFacts {
            usci: b["organization"]["usci"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            organization: b["organization"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            valid: b["qualified"].as_bool().unwrap_or(false),
            price: b["price"].as_i64(),
            machine: None,
            files: Vec::new(),
            received_at: at.with_timezone(&chrono::Utc),
            addresses: Vec::new(),
            keys: Vec::new(),
        })
        .filter(|b| !b.usci.is_empty())
        .collect();
    Some(TradeFacts {
        trade: format!("{}/{}", e.mirror, e.trade_id.as_deref()?),
        deadline: at.with_timezone(&chrono::Utc),
        bids,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `award.notified` entry of `platform` ranking `bids` (usci, price).
    fn awarded(platform: &str, index: u64, trade: &str, bids: &[(&str, i64)]) -> MirroredEntry {
        let ranked: Vec<Value> = bids
            .iter()
            .map(|(usci, price)| {
                serde_json::json!({
                    "organization": { "name": format!("{usci} 公司"), "usci": usci },
                    "price": price, "qualified": true,
                })
            })
            .collect();
        let entry = serde_json::json!({
            "v": 1, "seq": index + 1, "at": "2027-03-01T02:00:00.000Z", "kind": "award.notified",
            "trade": trade,
            "data": { "revealed": { "report": { "ranking": { "bids": ranked } } } },
        });
        MirroredEntry {
            mirror: platform.to_owned(),
            index,
            kind: "award.notified".to_owned(),
            trade_id: Some(trade.to_owned()),
            entry: entry.to_string().into_bytes(),
        }
    }

    fn thresholds() -> crate::domain::risk::RiskThresholds {
        crate::domain::rulebook::Rulebook::parse(crate::domain::rulebook::BUILTIN, String::new())
            .ok()
            .and_then(|b| b.risk)
            .unwrap_or_else(|| panic!("the built-in rulebook has risk thresholds"))
    }

    #[test]
    fn a_group_rotating_across_two_prefectures_is_found_and_one_within_one_is_left_to_it() {
        let group = |a: i64, b: i64, c: i64| [("A", a), ("BB", b), ("CCC", c)];
        let across = [
            awarded("650100", 10, "t1", &group(1, 2, 3)),
            awarded("650100", 20, "t2", &group(2, 1, 3)),
            awarded("653100", 5, "t9", &group(3, 2, 1)),
        ];
        let facts: Vec<TradeFacts> = across.iter().filter_map(awarded_facts).collect();
        assert_eq!(facts.len(), 3);
        assert_eq!(facts[2].trade, "653100/t9");
        assert_eq!(facts[0].lowest().map(|b| b.usci.as_str()), Some("A"));
        let found = cross_platform(RotatingWinner.check(&facts[2], &facts, &thresholds()));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].subjects, ["A", "BB", "CCC"]);
        assert_eq!(
            platforms_of(&found[0]).into_iter().collect::<Vec<_>>(),
            ["650100", "653100"]
        );

        // All three in one prefecture: its own engine raises it, not the region.
        let within = [
            awarded("650100", 10, "t1", &group(1, 2, 3)),
            awarded("650100", 20, "t2", &group(2, 1, 3)),
            awarded("650100", 30, "t3", &group(3, 2, 1)),
        ];
        let facts: Vec<TradeFacts> = within.iter().filter_map(awarded_facts).collect();
        assert!(!RotatingWinner
            .check(&facts[2], &facts, &thresholds())
            .is_empty());
        assert!(cross_platform(RotatingWinner.check(&facts[2], &facts, &thresholds())).is_empty());
    }
}
