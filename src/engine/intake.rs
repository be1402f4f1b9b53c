//! Group commit of sealed-bid intake: on deadline day many bids arrive at once, and each
//! durable commit costs a disk flush. Bids that arrive while a commit is running wait and
//! are committed together by the next one, in arrival order, each still checked against
//! the deadline by its own log entry's time. Small envelopes are committed in the same
//! transaction as their rows; for a batch with envelope files, one `syncfs` of the bid
//! directory's file system makes them durable before the rows commit, instead of two
//! `fsync`s per bid.

use super::group_commit::GroupCommit;
use crate::domain::trade::StoredBid;
use crate::store::{NewBid, Store, StoreError};

type Answer = crate::store::Result<StoredBid>;

/// The custodian key ids (in committee order) and threshold a trade's bids are sealed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealingCommittee {
    pub key_ids: Vec<String>,
    pub threshold: u8,
    /// The envelope suite bids are sealed with.
    pub suite: crate::domain::suite::Suite,
    /// The 统一社会信用代码 of the suppliers the trade invites; empty when it is open.
    pub invited: Vec<String>,
}

/// The intake queue, and the committees bids are checked against.
#[derive(Default)]
pub struct Intake {
    queue: GroupCommit<NewBid, Answer>,
    /// Complete committees of published trades: fixed once complete.
    committees: std::sync::Mutex<std::collections::HashMap<String, SealingCommittee>>,
}

impl Intake {
    pub fn committee(&self, trade_id: &str) -> Option<SealingCommittee> {
        self.committees
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(trade_id)
            .cloned()
    }

    pub fn remember(&self, trade_id: &str, committee: SealingCommittee) {
        self.committees
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(trade_id.to_owned(), committee);
    }

    /// Stores `bid` with its log `event`, committed together with whatever else is
    /// waiting (see [`GroupCommit`]).
    pub async fn submit(
        &self,
        store: std::sync::Arc<dyn Store>,
        bid_dir: &std::path::Path,
        bid: NewBid,
    ) -> Answer {
        let write = |bids: Vec<NewBid>| commit(store.clone(), bid_dir.to_path_buf(), bids);
        self.queue
            .submit(bid, usize::MAX, write)
            .await
            .unwrap_or_else(|| Err(StoreError::Other("the intake batch was lost".into())))
    }
}

/// Commits a batch of bids; an answer for each, in order.
async fn commit(
    store: std::sync::Arc<dyn Store>,
    dir: std::path::PathBuf,
    bids: Vec<NewBid>,
) -> Vec<Answer> {
    let failed =
        |e: &StoreError, n: usize| -> Vec<Answer> { (0..n).map(|_| Err(e.again())).collect() };
    // Every envelope file of the batch is renamed into place; make them durable first.
    // Envelopes kept in the database commit with their rows.
    let files = bids.iter().any(|b| b.envelope.is_none());
    let synced = tokio::task::spawn_blocking(move || {
        if !files {
            return Ok(());
        }
        let dir = std::fs::File::open(&dir)?;
        rustix::fs::syncfs(&dir).map_err(std::io::Error::from)
    })
    .await
    .map_err(std::io::Error::other)
    .and_then(|r| r);
    if let Err(e) = synced {
        return failed(&StoreError::from_io(e), bids.len());
    }
    match store.submit_bids(&bids).await {
        Ok(results) => results,
        Err(e) => failed(&e, bids.len()),
    }
}
