//! Change notices (变更公告): after the announcement, the trading centre changes a trade's
//! documents only by a numbered public notice (招标投标法 第23条). A notice issued later
//! than the rulebook's clarification cut-off moves the bid deadline out to it, as a late
//! answer does (实施条例 第21条). Each bidder sees which documents changed since it
//! downloaded them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashSet;

use super::trades::moved_deadline;
use super::{event, Caller, EngineError, Platform, Result, TradeView};
use crate::domain::identity::Role;
use crate::domain::trade::{ChangeNotice, ChangedDocument, TradeDocument};
use crate::store::StoreError;

/// Longest notice text, in characters.
pub const MAX_NOTICE_CHARS: usize = 4_000;
/// Most documents one notice adds or replaces.
pub const MAX_NOTICE_DOCUMENTS: usize = 20;

/// A document a notice carries, as uploaded.
#[derive(Debug, Clone)]
pub struct NoticeDocument {
    pub name: String,
    pub media_type: String,
    pub content: Vec<u8>,
}

/// A trade's current documents as one bidder stands with them.
#[derive(Debug, Clone, Serialize)]
pub struct MyDocuments {
    pub documents: Vec<MyDocument>,
    /// When the bidder first downloaded any of the trade's documents.
    #[serde(serialize_with = "crate::domain::clock::serde_rfc3339::option")]
    pub first_download: Option<DateTime<Utc>>,
    /// The notices issued after that first download, oldest first: what it has to read.
    pub notices_since_download: Vec<ChangeNotice>,
}

/// A current document and the bidder's downloads of it.
#[derive(Debug, Clone, Serialize)]
pub struct MyDocument {
    #[serde(flatten)]
    pub document: TradeDocument,
    /// When the bidder first downloaded this version.
    #[serde(serialize_with = "crate::domain::clock::serde_rfc3339::option")]
    pub downloaded_at: Option<DateTime<Utc>>,
    /// It downloaded an earlier version, replaced since, and not this one.
    pub outdated: bool,
}

impl Platform {
    /// Issues a change notice on a published trade before its bid deadline: the text, and
    /// the documents it adds or replaces (by name).
    #[tracing::instrument(skip_all, fields(trade.id = %trade_id), err)]
    pub async fn issue_notice(
        &self,
        caller: &Caller,
        trade_id: &str,
        notice: &str,
        documents: Vec<NoticeDocument>,
    ) -> Result<(ChangeNotice, TradeView)> {
        caller.require(Role::TradingCentre)?;
        let notice = notice.trim();
        if !crate::domain::text::is_written(notice, MAX_NOTICE_CHARS) {
            return Err(EngineError::invalid(
                "invalid_notice",
                format!("a change notice is 1 to {MAX_NOTICE_CHARS} characters, without control characters other than line breaks"),
            ));
        }
        if documents.len() > MAX_NOTICE_DOCUMENTS {
            return Err(EngineError::invalid(
                "too_many_documents",
                format!("a change notice carries at most {MAX_NOTICE_DOCUMENTS} documents"),
            ));
        }
        let (trade, now) = self.open_for_questions(trade_id).await?;
        let current = self.store.trade_documents(trade_id).await?;
        let mut names = HashSet::new();
        let mut changed = Vec::with_capacity(documents.len());
        for d in &documents {
            let doc = self.checked_document(&d.name, &d.media_type, &d.content)?;
            if !names.insert(doc.name.clone()) {
                return Err(EngineError::invalid(
                    "duplicate_document_name",
                    format!("the notice carries two documents named {}", doc.name),
                ));
            }
            let previous = current.iter().find(|c| c.name == doc.name);
            if previous.is_some_and(|p| p.sha256 == doc.sha256) {
                return Err(EngineError::invalid(
                    "document_unchanged",
                    format!("{} is already the trade's current version", doc.name),
                ));
            }
            changed.push(ChangedDocument {
                name: doc.name,
                sha256: doc.sha256,
                size: doc.size,
                media_type: doc.media_type,
                previous_sha256: previous.map(|p| p.sha256.clone()),
            });
        }
        let procedure = self.procedure_of(&trade.terms)?;
        let (new_deadline, extended) = moved_deadline(caller, &trade, procedure, now);
        let number = self.store.notices(trade_id).await?.len() as i64 + 1;
        let issued = ChangeNotice {
            number,
            notice: notice.to_owned(),
            issued_at: now,
            new_deadline,
            documents: changed,
        };
        let mut events = vec![event(
            caller,
            "trade.notice_issued",
            Some(trade_id),
            serde_json::json!({ "notice": issued }),
            vec![],
        )];
        events.extend(extended);
        let contents: Vec<(&str, &[u8])> = issued
            .documents
            .iter()
            .zip(&documents)
            .map(|(c, d)| (c.sha256.as_str(), d.content.as_slice()))
            .collect();
        match self
            .store
            .issue_notice(trade_id, &issued, &contents, events)
            .await
        {
            Ok(_) => {}
            Err(StoreError::Conflict(code)) if code == "trade_not_published" => {
                return Err(EngineError::conflict(
                    "trade_not_published",
                    "change notices are issued on a published trade",
                ))
            }
            Err(StoreError::Conflict(_)) => {
                return Err(EngineError::conflict(
                    "notice_conflict",
                    "another change notice was issued at the same time; reload and issue again",
                ))
            }
            Err(e) => return Err(e.into()),
        }
        Ok((issued, self.trade(caller, trade_id).await?))
    }

    /// The trade's current documents as the calling bidder stands with them: which
    /// versions it downloaded, which changed since, and the notices issued since its first
    /// download. Only the bidder sees its own downloads.
    pub async fn my_documents(&self, caller: &Caller, trade_id: &str) -> Result<MyDocuments> {
        let bidder = caller.require(Role::Bidder)?;
        self.announced_trade(trade_id).await?;
        let current = self.store.trade_documents(trade_id).await?;
        let notices = self.store.notices(trade_id).await?;
        let downloads = self.store.downloads(&bidder.id, trade_id).await?;
        let first_download = downloads.iter().map(|d| d.first_at).min();
        let downloaded = |sha256: &str| {
            downloads
                .iter()
                .find(|d| d.sha256 == sha256)
                .map(|d| d.first_at)
        };
        let documents = current
            .into_iter()
            .map(|document| {
                let downloaded_at = downloaded(&document.sha256);
                let earlier = notices
                    .iter()
                    .flat_map(|n| &n.documents)
                    .filter(|c| c.name == document.name)
                    .filter_map(|c| c.previous_sha256.as_deref())
                    .any(|sha| downloaded(sha).is_some());
                MyDocument {
                    outdated: downloaded_at.is_none() && earlier,
                    downloaded_at,
                    document,
                }
            })
            .collect();
        let notices_since_download = match first_download {
            Some(first) => notices
                .into_iter()
                .filter(|n| n.issued_at > first)
                .collect(),
            None => Vec::new(),
        };
        Ok(MyDocuments {
            documents,
            first_download,
            notices_since_download,
        })
    }
}
