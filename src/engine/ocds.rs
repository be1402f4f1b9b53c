//! Open data (OCDS 1.1, docs/ocds.md): releases built from the public log
//! (`domain::ocds`), release packages by log position, one record per trade, and the
//! bulk download. Public: everything in them is in the public log already.

use std::collections::HashMap;

use serde_json::Value;

use super::{EngineError, Platform, Result};
use crate::domain::clock::rfc3339;
use crate::domain::event::LoggedEvent;
use crate::domain::ocds::{
    record_package, release, release_package, Context, Entry, Publisher, RELEASE_KINDS,
};
use crate::domain::opening::OpeningRecord;
use crate::store::StoreError;

/// Most releases one package holds.
pub const MAX_RELEASES: i64 = 1000;

/// A page of releases and where the next starts.
#[derive(Debug, Clone)]
pub struct ReleasePage {
    /// The release package; `None` when no release follows `after`.
    pub package: Option<Value>,
    /// The log position to ask from next (the last entry read).
    pub next_after: i64,
}

/// What a trade's releases need to know about it, kept for one page.
#[derive(Debug, Clone, Default)]
struct TradeFacts {
    procedure_name: Option<String>,
    live: bool,
}

impl Platform {
    async fn release_facts(
        &self,
        cache: &mut HashMap<String, TradeFacts>,
        trade_id: &str,
    ) -> Result<TradeFacts> {
        if let Some(facts) = cache.get(trade_id) {
            return Ok(facts.clone());
        }
        let facts = match self.reads.trade(trade_id).await? {
            Some(trade) => {
                let procedure = self
                    .rulebook
                    .procedure(&trade.terms.kind, &trade.terms.procedure);
                TradeFacts {
                    procedure_name: procedure.map(|p| p.procedure_name.clone()),
                    live: trade.terms.live.is_some(),
                }
            }
            None => TradeFacts::default(),
        };
        cache.insert(trade_id.to_owned(), facts.clone());
        Ok(facts)
    }

    /// The releases of `events` (entries of `RELEASE_KINDS`), in log order.
    async fn releases_of(&self, events: &[LoggedEvent]) -> Result<Vec<Value>> {
        let mut cache = HashMap::new();
        let mut releases = Vec::with_capacity(events.len());
        for e in events {
            let Some(trade_id) = e.trade_id.as_deref() else {
                continue;
            };
            let entry: Value = serde_json::from_slice(&e.entry)
                .map_err(|err| EngineError::Store(StoreError::Other(Box::new(err))))?;
            // An announcement carries the trade; other entries look it up once a page.
            let announced = &entry["data"]["announcement"]["trade"];
            let facts = if e.kind == "trade.published" && announced.is_object() {
                let procedure = self.rulebook.procedure(
                    announced["kind"].as_str().unwrap_or_default(),
                    announced["procedure"].as_str().unwrap_or_default(),
                );
                TradeFacts {
                    procedure_name: procedure.map(|p| p.procedure_name.clone()),
                    live: announced["live"].is_object(),
                }
            } else {
                self.release_facts(&mut cache, trade_id).await?
            };
            let opening: Option<OpeningRecord> = if e.kind == "opening.completed" && !facts.live {
                self.reads
                    .opening_record(trade_id)
                    .await?
                    .and_then(|stored| serde_json::from_slice(&stored.record).ok())
            } else {
                None
            };
            let at = rfc3339(e.at);
            let cx = Context {
                ocid_prefix: &self.settings.ocds.prefix,
                procedure_name: facts.procedure_name.as_deref(),
                live: facts.live,
                opening: opening.as_ref(),
                base_url: &self.settings.ocds.base_url,
            };
            let made = release(
                Entry {
                    seq: e.seq,
                    at: &at,
                    kind: &e.kind,
                    trade_id,
                    data: &entry["data"],
                },
                cx,
            );
            releases.extend(made);
        }
        Ok(releases)
    }

    /// `releases` as the package published at `path` (with its query) under our base URL;
    /// `None` without a release.
    pub(crate) fn packaged(&self, path: &str, releases: Vec<Value>) -> Option<Value> {
        let published = releases.last()?["date"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let uri = format!("{}{path}", self.settings.ocds.base_url);
        Some(release_package(
            Publisher {
                name: &self.settings.ocds.publisher,
                uri: &uri,
                published_date: &published,
            },
            releases,
        ))
    }

    /// Releases after log position `after`, at most `limit` entries read.
    pub async fn ocds_releases(&self, after: i64, limit: i64) -> Result<ReleasePage> {
        if after < 0 || !(1..=MAX_RELEASES).contains(&limit) {
            return Err(EngineError::invalid(
                "invalid_limit",
                format!("after is 0 or more, limit 1 to {MAX_RELEASES}"),
            ));
        }
        let events = self
            .reads
            .events_of_kinds(after, &RELEASE_KINDS, limit)
            .await?;
        let next_after = events.last().map_or(after, |e| e.seq);
        let releases = self.releases_of(&events).await?;
        let package = self.packaged(
            &format!("/api/v1/ocds/releases?after={after}&limit={limit}"),
            releases,
        );
        Ok(ReleasePage {
            package,
            next_after,
        })
    }

    /// The record of one contracting process, with its compiled release.
    pub async fn ocds_record(&self, ocid: &str) -> Result<Value> {
        let not_found = || EngineError::NotFound {
            code: "record_not_found",
            what: "OCDS record",
        };
        let trade_id = ocid
            .strip_prefix(&self.settings.ocds.prefix)
            .and_then(|rest| rest.strip_prefix('-'))
            .ok_or_else(not_found)?;
        let events = self
            .reads
            .trade_events_of_kinds(trade_id, &RELEASE_KINDS)
            .await?;
        let releases = self.releases_of(&events).await?;
        let published = releases
            .last()
            .and_then(|r| r["date"].as_str())
            .ok_or_else(not_found)?
            .to_owned();
        let uri = format!("{}/api/v1/ocds/records/{ocid}", self.settings.ocds.base_url);
        Ok(record_package(
            Publisher {
                name: &self.settings.ocds.publisher,
                uri: &uri,
                published_date: &published,
            },
            ocid,
            releases,
        ))
    }
}
