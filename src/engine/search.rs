//! Public search of announcements and results (ADR 0015): the terms of a trade's title,
//! principal, region, kind and procedure names, and its winner once awarded
//! (`domain::search`), kept in the database with the trade, so every instance answers
//! from the same index and a published trade is found as soon as it is published.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{EngineError, Platform, Result};
use crate::domain::search::{
    index_terms, query_terms, MAX_QUERY_CHARS, MAX_QUERY_TERMS, TERMS_VERSION,
};
use crate::domain::trade::{Trade, TradeStatus};
use crate::store::search::{SearchHit, SearchQuery};

/// Most results one page returns.
pub const MAX_RESULTS: i64 = 50;

/// `GET /api/v1/search` parameters.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    pub q: String,
    #[serde(default)]
    pub kind: Option<String>,
    /// A region code or its prefix (`65`, `6501`, `650102`).
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    /// Published at or after (RFC 3339).
    #[serde(default)]
    pub from: Option<DateTime<Utc>>,
    /// Published before (RFC 3339).
    #[serde(default)]
    pub to: Option<DateTime<Utc>>,
    /// The `next` of the page before.
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub limit: Option<i64>,
}

/// A page of results, newest first.
#[derive(Debug, Clone, Serialize)]
pub struct SearchPage {
    pub results: Vec<SearchHit>,
    /// Pass as `cursor` for the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

fn invalid(message: impl Into<String>) -> EngineError {
    EngineError::invalid("invalid_query", message)
}

/// The terms of a search query, refused if it is too long or has too few or too many.
pub(crate) fn terms_of_query(q: &str) -> Result<Vec<String>> {
    if q.chars().count() > MAX_QUERY_CHARS {
        return Err(invalid(format!(
            "a query is at most {MAX_QUERY_CHARS} characters"
        )));
    }
    let terms: Vec<String> = query_terms(q).into_iter().collect();
    if terms.is_empty() || terms.len() > MAX_QUERY_TERMS {
        return Err(invalid(format!(
            "a query needs 1 to {MAX_QUERY_TERMS} terms (Chinese characters, words, numbers)"
        )));
    }
    Ok(terms)
}

impl Platform {
    /// The text a trade is found by.
    fn search_text(&self, trade: &Trade, winner: Option<&str>) -> String {
        self.text_of(
            [
                trade.terms.title.as_str(),
                trade.terms.principal.name.as_str(),
                trade.terms.region_code.as_str(),
            ],
            (&trade.terms.kind, &trade.terms.procedure),
            winner,
        )
    }

    /// The text of a trade from its title, principal and region, with the names of its
    /// kind and procedure in the rulebook.
    fn text_of(
        &self,
        [title, principal, region]: [&str; 3],
        (kind, procedure): (&str, &str),
        winner: Option<&str>,
    ) -> String {
        let procedure = self.rulebook.procedure(kind, procedure);
        format!(
            "{title} {principal} {region} {} {} {}",
            procedure.map_or("", |p| p.kind_name.as_str()),
            procedure.map_or("", |p| p.procedure_name.as_str()),
            winner.unwrap_or_default(),
        )
    }

    /// The terms of a trade as announced (the `trade` of a `trade.published` entry), for
    /// one announced on a followed platform: the same rules as for a trade of ours.
    pub(crate) fn announced_terms(&self, announced: &serde_json::Value) -> Vec<String> {
        let field = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
        let text = self.text_of(
            [
                &field(&announced["title"]),
                &field(&announced["principal"]["name"]),
                &field(&announced["region_code"]),
            ],
            (&field(&announced["kind"]), &field(&announced["procedure"])),
            None,
        );
        index_terms(&text).into_iter().collect()
    }

    /// The terms a trade is indexed under when it is published.
    pub(crate) fn trade_terms(&self, trade: &Trade) -> Vec<String> {
        index_terms(&self.search_text(trade, None))
            .into_iter()
            .collect()
    }

    /// The terms an awarded trade is also found by: its winner's name.
    pub(crate) fn winner_terms(&self, winner: &str) -> Vec<String> {
        index_terms(winner).into_iter().collect()
    }

    /// Builds the index again if it was built with other term rules (or never).
    pub async fn ensure_search_index(&self) -> Result<usize> {
        if self.store.search_version().await? == Some(TERMS_VERSION) {
            return Ok(0);
        }
        let trades = self.store.searchable_trades().await?;
        let entries: Vec<(String, i64, Vec<String>)> = trades
            .iter()
            .map(|t| {
                let procedure = self.rulebook.procedure(&t.kind, &t.procedure);
                let text = format!(
                    "{} {} {}",
                    t.text,
                    procedure.map_or("", |p| p.kind_name.as_str()),
                    procedure.map_or("", |p| p.procedure_name.as_str()),
                );
                (
                    t.trade_id.clone(),
                    t.published_at.timestamp_millis(),
                    index_terms(&text).into_iter().collect(),
                )
            })
            .collect();
        self.store.rebuild_search(TERMS_VERSION, &entries).await?;
        tracing::info!(trades = entries.len(), "search index built");
        Ok(entries.len())
    }

    /// Searches published trades, newest first.
    pub async fn search(&self, params: SearchParams) -> Result<SearchPage> {
        let terms = terms_of_query(&params.q)?;
        let limit = params.limit.unwrap_or(20);
        if !(1..=MAX_RESULTS).contains(&limit) {
            return Err(invalid(format!("limit is 1 to {MAX_RESULTS}")));
        }
        if let Some(region) = &params.region {
            if region.is_empty() || region.len() > 6 || !region.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(invalid("region is 1 to 6 digits of a division code"));
            }
        }
        if let Some(status) = &params.status {
            if TradeStatus::parse(status).is_none_or(|s| s == TradeStatus::Draft) {
                return Err(invalid(format!("unknown status {status:?}")));
            }
        }
        let cursor = match &params.cursor {
            Some(c) => {
                let (at, id) = c.split_once('_').ok_or_else(|| invalid("invalid cursor"))?;
                Some((
                    at.parse::<i64>().map_err(|_| invalid("invalid cursor"))?,
                    id.to_owned(),
                ))
            }
            None => None,
        };
        let query = SearchQuery {
            terms,
            kind: params.kind.clone(),
            region_prefix: params.region.clone(),
            status: params.status.clone(),
            from: params.from,
            to: params.to,
            cursor,
            limit: limit + 1,
        };
        let mut results = self.reads.search(&query).await?;
        let next = if results.len() > usize::try_from(limit).unwrap_or(usize::MAX) {
            results.pop();
            results
                .last()
                .map(|h| format!("{}_{}", h.published_at.timestamp_millis(), h.trade_id))
        } else {
            None
        };
        Ok(SearchPage { results, next })
    }
}
