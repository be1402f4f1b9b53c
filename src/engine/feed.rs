//! The live monitoring feed: every log entry in sequence order, from any point, as each
//! caller's role may see it.
//!
//! One hub task follows the log: it wakes when the store commits (and once a second in
//! case another instance wrote), reads the new entries with their private side, and
//! broadcasts them. Each subscriber first catches up from the store, then follows the
//! broadcast; whenever it finds a gap (it fell behind and the broadcast dropped entries
//! for it, or it joined mid-way) it reads the missing entries from the store. So nobody is
//! ever silently skipped, and a slow subscriber costs only itself: the broadcast never
//! waits for it, and neither do the writers.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use serde::Serialize;
use tokio::sync::{broadcast, watch};

use super::{event, Caller, Platform, Result};
use crate::domain::event::{EntryPrivate, LoggedEvent};
use crate::domain::identity::Role;
use crate::domain::region::RegionCode;
use crate::domain::trade::TradeStatus;

/// Entries read from the store per step of a catch-up.
const PAGE: i64 = 500;
/// Entries the broadcast holds for subscribers that are behind; past that they catch up
/// from the store.
const BROADCAST: usize = 4096;

/// Kinds whose private side names a (possible) bidder of a trade: withheld from every view
/// but the actor's own until the trade's opening (招标投标法 第22条).
const CONFIDENTIAL_UNTIL_OPENING: &[&str] = &["clarification.asked"];

/// Where an entry belongs for supervision.
#[derive(Debug, Clone, Default)]
struct Scope {
    /// The division of the trade it concerns; `None` for platform-wide entries.
    region: Option<RegionCode>,
    /// Whether that trade's bids have been opened.
    opened: bool,
}

/// One entry as the hub read it: public bytes, private side, scope, and the public
/// message serialized once for every subscriber.
#[derive(Debug)]
pub struct FeedItem {
    event: LoggedEvent,
    entry: serde_json::Value,
    entry_sha256: String,
    private: EntryPrivate,
    scope: Scope,
    public: Frame,
    /// What a live room sends of it, when that is not the public frame (a quote).
    room: Option<Frame>,
}

/// A feed message: an entry's sequence number and its JSON text (UTF-8), shared by every
/// subscriber it goes to.
#[derive(Debug, Clone)]
pub struct Frame {
    pub seq: i64,
    pub json: bytes::Bytes,
}

/// Who is watching, and so what of each entry they see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum View {
    /// Every entry, as the log publishes it.
    Public,
    /// Entries of the trades in `region` (and platform-wide ones), with their private side
    /// as far as supervision may see it.
    Supervisor {
        region: RegionCode,
        identity: String,
    },
    /// Every entry, with the private side of the caller's own.
    Own { identity: String },
    /// A live room: public entries, the quotes among them in brief ([`RoomQuote`]).
    Room,
}

impl View {
    fn name(&self) -> &'static str {
        match self {
            View::Public => "public",
            View::Supervisor { .. } => "supervisor",
            View::Own { .. } => "own",
            View::Room => "room",
        }
    }
}

/// The private side of an entry as a view shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PrivateSide {
    pub actor: Option<String>,
    pub client_addr: Option<String>,
    pub request_id: Option<String>,
    /// Confidential data the entry commits to, by name (UTF-8, else hex).
    pub sealed: BTreeMap<String, String>,
}

/// One entry of the feed.
#[derive(Debug, Clone, Serialize)]
pub struct FeedEvent {
    /// `"event"`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub seq: i64,
    pub entry: serde_json::Value,
    pub entry_sha256: String,
    /// Present when the view may see who did it and the sealed data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private: Option<PrivateSide>,
}

impl View {
    /// What this view sees of `item`, if anything.
    fn project(&self, item: &FeedItem) -> Option<Frame> {
        let private = match self {
            View::Public => None,
            View::Room => return Some(item.room.clone().unwrap_or_else(|| item.public.clone())),
            View::Own { identity } => {
                (item.private.audit.actor.as_deref() == Some(identity)).then_some(())
            }
            View::Supervisor { region, identity } => {
                let mine = item.private.audit.actor.as_deref() == Some(identity);
                match &item.scope.region {
                    Some(r) if !region.contains(r) => return None,
                    Some(_) => {
                        let withheld = CONFIDENTIAL_UNTIL_OPENING
                            .contains(&item.event.kind.as_str())
                            && !item.scope.opened;
                        (mine || !withheld).then_some(())
                    }
                    None => mine.then_some(()),
                }
            }
        };
        if private.is_none() {
            return Some(item.public.clone());
        }
        let event = FeedEvent {
            kind: "event",
            seq: item.event.seq,
            entry: item.entry.clone(),
            entry_sha256: item.entry_sha256.clone(),
            private: private.map(|()| PrivateSide {
                actor: item.private.audit.actor.clone(),
                client_addr: item.private.audit.client_addr.clone(),
                request_id: item.private.audit.request_id.clone(),
                sealed: item
                    .private
                    .sealed
                    .iter()
                    .map(|(name, data)| {
                        let text =
                            String::from_utf8(data.clone()).unwrap_or_else(|_| hex::encode(data));
                        (name.clone(), text)
                    })
                    .collect(),
            }),
        };
        Some(Frame {
            seq: item.event.seq,
            json: serde_json::to_vec(&event).unwrap_or_default().into(),
        })
    }
}

/// A `sale.quote` entry as a live room sends it: `{"type": "quote", "seq", "at",
/// "bidder_number", "amount", "deadline"}`, what a room shows of a quote, in a third of
/// the entry's bytes. Each quote goes to every watcher (5,000 in `bench auction`), and
/// the loopback sends and the watchers' reads cost by the byte. The whole entry, to
/// verify, is in the log and on the feed under the same `seq`.
#[derive(Serialize)]
struct RoomQuote<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    seq: i64,
    at: &'a serde_json::Value,
    bidder_number: &'a serde_json::Value,
    amount: &'a serde_json::Value,
    deadline: &'a serde_json::Value,
}

impl<'a> RoomQuote<'a> {
    /// The brief of `entry` when it is a quote.
    fn of(seq: i64, kind: &str, entry: &'a serde_json::Value) -> Option<Self> {
        if kind != "sale.quote" {
            return None;
        }
        let data = entry.get("data")?;
        Some(Self {
            kind: "quote",
            seq,
            at: &data["at"],
            bidder_number: &data["bidder_number"],
            amount: &data["amount"],
            deadline: &data["deadline"],
        })
    }
}

/// The hub's broadcast and how far it has read.
pub struct Feed {
    items: broadcast::Sender<Arc<FeedItem>>,
    head: watch::Sender<i64>,
    started: std::sync::atomic::AtomicBool,
}

impl Default for Feed {
    fn default() -> Self {
        Self {
            items: broadcast::channel(BROADCAST).0,
            head: watch::channel(0).0,
            started: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

impl Platform {
    /// Starts the hub that follows the log (once; later calls do nothing). It stops when
    /// the platform is dropped.
    pub async fn start_feed(self: &Arc<Self>) -> Result<()> {
        use std::sync::atomic::Ordering;
        if self.feed.started.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let head = i64::try_from(self.store.log_size().await?).unwrap_or(i64::MAX);
        self.feed.head.send_replace(head);
        let mut changes = self.store.appended();
        let platform = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut head = head;
            loop {
                let Some(p) = platform.upgrade() else { return };
                match p.feed_items(head, PAGE).await {
                    Ok(items) if !items.is_empty() => {
                        for item in items {
                            head = item.event.seq;
                            let _ = p.feed.items.send(Arc::new(item));
                        }
                        p.feed.head.send_replace(head);
                        continue;
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "the feed could not read the log"),
                }
                drop(p);
                tokio::select! {
                    changed = changes.changed() => if changed.is_err() { return },
                    () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                }
            }
        });
        Ok(())
    }

    /// The newest entry the feed has published.
    pub fn feed_head(&self) -> i64 {
        *self.feed.head.borrow()
    }

    /// Up to `limit` entries after `after`, with their private side and scope.
    async fn feed_items(&self, after: i64, limit: i64) -> Result<Vec<FeedItem>> {
        let events = self.store.events_after(after, limit).await?;
        let Some(last) = events.last().map(|e| e.seq) else {
            return Ok(Vec::new());
        };
        let mut private = self.store.private_parts(after, last).await?;
        let mut scopes: HashMap<String, Scope> = HashMap::new();
        let mut items = Vec::with_capacity(events.len());
        for event in events {
            let private = private.remove(&event.seq).unwrap_or_default();
            // An entry that hides its trade may name it in its sealed data.
            let trade = event.trade_id.clone().or_else(|| {
                private
                    .sealed
                    .iter()
                    .find(|(name, _)| name == "trade")
                    .and_then(|(_, data)| String::from_utf8(data.clone()).ok())
            });
            let scope = match trade {
                None => Scope::default(),
                Some(id) => match scopes.get(&id) {
                    Some(scope) => scope.clone(),
                    None => {
                        let scope = self
                            .store
                            .trade(&id)
                            .await?
                            .map(|t| Scope {
                                region: Some(t.terms.region_code.clone()),
                                opened: matches!(
                                    t.status,
                                    TradeStatus::Opened | TradeStatus::Failed
                                ),
                            })
                            .unwrap_or_default();
                        scopes.insert(id, scope.clone());
                        scope
                    }
                },
            };
            // A trade of a followed platform is not ours: its entry states its region.
            let scope = match scope.region {
                Some(_) => scope,
                None => Scope {
                    region: private
                        .sealed
                        .iter()
                        .find(|(name, _)| name == "region")
                        .and_then(|(_, data)| std::str::from_utf8(data).ok())
                        .and_then(|code| RegionCode::parse(code).ok()),
                    opened: true,
                },
            };
            let entry: serde_json::Value =
                serde_json::from_slice(&event.entry).unwrap_or(serde_json::Value::Null);
            let entry_sha256 = crate::crypto::digest::sha256_hex(&event.entry);
            let public = FeedEvent {
                kind: "event",
                seq: event.seq,
                entry: entry.clone(),
                entry_sha256: entry_sha256.clone(),
                private: None,
            };
            let room = RoomQuote::of(event.seq, &event.kind, &entry).map(|brief| Frame {
                seq: event.seq,
                json: serde_json::to_vec(&brief).unwrap_or_default().into(),
            });
            items.push(FeedItem {
                public: Frame {
                    seq: event.seq,
                    json: serde_json::to_vec(&public).unwrap_or_default().into(),
                },
                room,
                entry,
                entry_sha256,
                event,
                private,
                scope,
            });
        }
        Ok(items)
    }

    /// The view a caller gets. A supervisor's subscription is itself logged: it is a read
    /// of confidential data.
    pub async fn subscribe(&self, caller: &Caller, after: i64) -> Result<Subscription> {
        if after < 0 {
            return Err(super::EngineError::invalid(
                "invalid_query",
                "after must be zero or positive",
            ));
        }
        let view = match &caller.identity {
            None => View::Public,
            Some(identity) if identity.acts_as(Role::Supervisor) => match &identity.region {
                Some(region) => View::Supervisor {
                    region: region.clone(),
                    identity: identity.id.clone(),
                },
                None => View::Own {
                    identity: identity.id.clone(),
                },
            },
            Some(identity) => View::Own {
                identity: identity.id.clone(),
            },
        };
        if let View::Supervisor { region, .. } = &view {
            let ev = event(
                caller,
                "supervision.feed_opened",
                None,
                serde_json::json!({ "region": region, "after": after }),
                vec![],
            );
            self.store.append(ev).await?;
        }
        Ok(Subscription {
            rx: self.feed.items.subscribe(),
            view,
            trade: None,
            last: after,
            pending: VecDeque::new(),
            held: None,
        })
    }

    /// The public entries of one trade after `after`, from the same hub: what a live
    /// room shows.
    pub fn subscribe_trade(&self, trade_id: &str, after: i64) -> Subscription {
        Subscription {
            rx: self.feed.items.subscribe(),
            view: View::Room,
            trade: Some(trade_id.to_owned()),
            last: after.max(0),
            pending: VecDeque::new(),
            held: None,
        }
    }
}

/// One subscriber's position in the feed.
pub struct Subscription {
    rx: broadcast::Receiver<Arc<FeedItem>>,
    view: View,
    /// Only this trade's entries (a live room).
    trade: Option<String>,
    /// The last entry this subscriber has been given or skipped by its view.
    last: i64,
    pending: VecDeque<Frame>,
    /// An entry taken from the broadcast by `try_next` after a gap, for `next` to place.
    held: Option<Arc<FeedItem>>,
}

impl Subscription {
    pub fn view(&self) -> &'static str {
        self.view.name()
    }

    /// The next entry this view sees, in sequence order, with no gap and no repeat.
    /// Cancel-safe: state changes only after each await completes.
    pub async fn next(&mut self, platform: &Platform) -> Result<Option<Frame>> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Ok(Some(event));
            }
            if let Some(item) = self.held.clone() {
                if item.event.seq > self.last + 1 {
                    self.catch_up(platform, item.event.seq - 1).await?;
                    continue;
                }
                self.held = None;
                self.take(&item);
                continue;
            }
            // What the broadcast holds comes first; only a subscriber behind what the hub has
            // published and not in the broadcast (new, or lagging) reads the store.
            match self.rx.try_recv() {
                Ok(item) => {
                    self.held = Some(item);
                    continue;
                }
                Err(broadcast::error::TryRecvError::Lagged(_)) => continue,
                Err(broadcast::error::TryRecvError::Closed) => return Ok(None),
                Err(broadcast::error::TryRecvError::Empty) => {}
            }
            let head = platform.feed_head();
            if self.last < head {
                self.catch_up(platform, head).await?;
                continue;
            }
            match self.rx.recv().await {
                Ok(item) => self.held = Some(item),
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return Ok(None),
            }
        }
    }

    /// The next entry if one is ready now, without waiting or reading the store: for
    /// sending entries that arrive close together in one write.
    pub fn try_next(&mut self) -> Option<Frame> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            if self.held.is_some() {
                return None;
            }
            match self.rx.try_recv() {
                Ok(item) if item.event.seq > self.last + 1 => {
                    self.held = Some(item);
                    return None;
                }
                Ok(item) => self.take(&item),
                Err(_) => return None,
            }
        }
    }

    /// Moves past `item` (the next entry, or one already passed), queueing what the view
    /// sees of it.
    fn take(&mut self, item: &FeedItem) {
        if item.event.seq == self.last + 1 {
            self.last = item.event.seq;
            if let Some(event) = self.project(item) {
                self.pending.push_back(event);
            }
        }
    }

    /// What this subscriber sees of `item`: its view's projection, if the item is about
    /// the subscriber's trade (when it follows one).
    fn project(&self, item: &FeedItem) -> Option<Frame> {
        match &self.trade {
            Some(trade) if item.event.trade_id.as_deref() != Some(trade.as_str()) => None,
            _ => self.view.project(item),
        }
    }

    /// Reads entries `last + 1 ..= upto` (one page at most) from the store.
    async fn catch_up(&mut self, platform: &Platform, upto: i64) -> Result<()> {
        let limit = (upto - self.last).clamp(1, PAGE);
        let items = platform.feed_items(self.last, limit).await?;
        for item in &items {
            if let Some(event) = self.project(item) {
                self.pending.push_back(event);
            }
        }
        match items.last() {
            Some(item) => self.last = item.event.seq,
            // The hub has published entries this read did not return yet: never skip them,
            // try again shortly.
            None => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
        Ok(())
    }
}
