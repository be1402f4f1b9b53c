//! Group commit of sealed-bid intake: on deadline day many bids arrive at once, and each
//! durable commit costs a disk flush. Bids that arrive while a commit is running wait and
//! are committed together by the next one, in arrival order, each still checked against
//! the deadline by its own log entry's time. Small envelopes are committed in the same
//! transaction as their rows; for a batch with envelope files, one `syncfs` of the bid
//! directory's file system makes them durable before the rows commit, instead of two
//! `fsync`s per bid.

use tokio::sync::oneshot;

use crate::domain::trade::StoredBid;
use crate::store::{NewBid, Store, StoreError};

type Answer = crate::store::Result<StoredBid>;

struct Pending {
    bid: NewBid,
    done: oneshot::Sender<Answer>,
}

/// The custodian key ids (in committee order) and threshold a trade's bids are sealed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealingCommittee {
    pub key_ids: Vec<String>,
    pub threshold: u8,
    /// The 统一社会信用代码 of the suppliers the trade invites; empty when it is open.
    pub invited: Vec<String>,
}

/// The intake queue and the right to commit the next batch.
#[derive(Default)]
pub struct Intake {
    queue: std::sync::Mutex<Vec<Pending>>,
    leader: tokio::sync::Mutex<()>,
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
    /// waiting. The commit runs in its own task, so a caller that goes away cannot cut a
    /// batch in half.
    pub async fn submit(
        &self,
        store: std::sync::Arc<dyn Store>,
        bid_dir: &std::path::Path,
        bid: NewBid,
    ) -> Answer {
        let (done, mut answer) = oneshot::channel();
        self.queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(Pending { bid, done });
        loop {
            let leader = self.leader.lock().await;
            match answer.try_recv() {
                Ok(result) => return result,
                Err(oneshot::error::TryRecvError::Closed) => {
                    return Err(StoreError::Other("the intake batch was lost".into()))
                }
                Err(oneshot::error::TryRecvError::Empty) => {}
            }
            let batch = std::mem::take(
                &mut *self
                    .queue
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
            );
            let store = store.clone();
            let dir = bid_dir.to_path_buf();
            let files = batch.iter().any(|p| p.bid.envelope.is_none());
            let committed = tokio::spawn(async move {
                // Every envelope file of the batch is renamed into place; make them durable
                // first. Envelopes kept in the database commit with their rows.
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
                    for p in batch {
                        let _ = p
                            .done
                            .send(Err(StoreError::Other(Box::new(std::io::Error::new(
                                e.kind(),
                                e.to_string(),
                            )))));
                    }
                    return;
                }
                let (items, senders): (Vec<_>, Vec<_>) =
                    batch.into_iter().map(|p| (p.bid, p.done)).unzip();
                match store.submit_bids(&items).await {
                    Ok(results) => {
                        for (sender, result) in senders.into_iter().zip(results) {
                            let _ = sender.send(result);
                        }
                    }
                    Err(e) => {
                        let message = e.to_string();
                        for sender in senders {
                            let _ = sender.send(Err(StoreError::Other(message.clone().into())));
                        }
                    }
                }
            });
            let _ = committed.await;
            drop(leader);
        }
    }
}
