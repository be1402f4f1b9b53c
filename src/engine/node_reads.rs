//! Reads of the log's Merkle nodes, merged: proofs asked for at the same moment are read
//! from the store in one query. A proof's stored nodes are a single query either way; on
//! a busy log most of a proof's cost is handing that query to a connection and back, not
//! the query itself (docs/benchmarks.md, "bench log").
//!
//! Each request joins a queue. Up to [`READERS`] requests at a time hold a turn: the holder
//! takes everything queued, reads the union of the nodes in one query, and hands every
//! request the result. A request answered while it waited for a turn is done; one whose
//! reader failed or went away reads its own nodes.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{oneshot, Semaphore};

use crate::domain::merkle::{Hash, NodeId};
use crate::store::{Result, Store};

/// Merged reads that may run at once.
const READERS: usize = 2;

/// The store pads a query's ids to a multiple of this, so that merged reads of any size
/// use a few prepared statements instead of one per size.
const PAD: usize = 16;

type Nodes = Arc<HashMap<NodeId, Hash>>;

struct Waiting {
    ids: Vec<NodeId>,
    answer: oneshot::Sender<Nodes>,
}

pub struct NodeReads {
    queue: Mutex<Vec<Waiting>>,
    turns: Semaphore,
}

impl Default for NodeReads {
    fn default() -> Self {
        Self {
            queue: Mutex::new(Vec::new()),
            turns: Semaphore::new(READERS),
        }
    }
}

impl NodeReads {
    /// The stored nodes among `ids` (and possibly others read with them).
    pub async fn read(&self, store: &dyn Store, ids: Vec<NodeId>) -> Result<Nodes> {
        self.read_with(ids, |ids| async move { store.log_nodes(&ids).await })
            .await
    }

    /// [`Self::read`] with `fetch` reading nodes from the store.
    async fn read_with<F, Fut>(&self, ids: Vec<NodeId>, fetch: F) -> Result<Nodes>
    where
        F: Fn(Vec<NodeId>) -> Fut,
        Fut: Future<Output = Result<HashMap<NodeId, Hash>>>,
    {
        let (answer, mut answered) = oneshot::channel();
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Waiting {
                ids: ids.clone(),
                answer,
            });
        let turn = tokio::select! {
            biased;
            nodes = &mut answered => return match nodes {
                Ok(nodes) => Ok(nodes),
                // The read that took this request failed or was dropped.
                Err(_) => Ok(Arc::new(fetch(ids).await?)),
            },
            turn = self.turns.acquire() => turn,
        };
        let taken = std::mem::take(&mut *self.queue.lock().unwrap_or_else(PoisonError::into_inner));
        if !taken.is_empty() {
            let mut union: Vec<NodeId> = taken.iter().flat_map(|w| w.ids.iter().copied()).collect();
            union.sort_unstable_by_key(|id| (id.level, id.index));
            union.dedup();
            if let Some(&last) = union.last() {
                union.resize(union.len().div_ceil(PAD) * PAD, last);
            }
            match fetch(union).await {
                Ok(nodes) => {
                    let nodes = Arc::new(nodes);
                    for waiting in taken {
                        let _ = waiting.answer.send(Arc::clone(&nodes));
                    }
                }
                // Dropping the senders sends each request taken, this one included, to
                // read on its own; holding them would leave every one waiting for ever.
                Err(_) => drop(taken),
            }
        }
        drop(turn);
        match answered.await {
            Ok(nodes) => Ok(nodes),
            Err(_) => Ok(Arc::new(fetch(ids).await?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreError;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    fn node(index: u64) -> NodeId {
        NodeId { level: 0, index }
    }

    /// Reads that fail while the database is away end with an error, each of them, the
    /// one holding the merged read included; none waits for ever (a bid's receipt once
    /// did, across a PostgreSQL crash).
    #[tokio::test]
    async fn a_failed_merged_read_answers_every_request_taken() {
        let reads = Arc::new(NodeReads::default());
        let calls = Arc::new(AtomicUsize::new(0));
        let mut requests = Vec::new();
        for i in 0..6u64 {
            let (reads, calls) = (Arc::clone(&reads), Arc::clone(&calls));
            requests.push(tokio::spawn(async move {
                reads
                    .read_with(vec![node(i)], |_| {
                        calls.fetch_add(1, Ordering::SeqCst);
                        async {
                            tokio::task::yield_now().await;
                            Err(StoreError::Other("the database is away".into()))
                        }
                    })
                    .await
            }));
        }
        for request in requests {
            let answered = tokio::time::timeout(Duration::from_secs(30), request)
                .await
                .unwrap_or_else(|_| panic!("a read waited for ever after its merged read failed"));
            assert!(matches!(answered, Ok(Err(_))), "each read fails");
        }
        assert!(
            calls.load(Ordering::SeqCst) >= 6,
            "each read tried on its own after the failure"
        );
    }

    /// After a failed merged read, a request reads its own nodes and gets them.
    #[tokio::test]
    async fn a_request_whose_merged_read_failed_reads_its_own() {
        let reads = NodeReads::default();
        let first = AtomicUsize::new(0);
        let got = tokio::time::timeout(
            Duration::from_secs(30),
            reads.read_with(vec![node(7)], |ids| {
                let failing = first.fetch_add(1, Ordering::SeqCst) == 0;
                async move {
                    if failing {
                        return Err(StoreError::Other("the database is away".into()));
                    }
                    Ok(ids
                        .into_iter()
                        .map(|id| (id, [id.index as u8; 32]))
                        .collect())
                }
            }),
        )
        .await
        .unwrap_or_else(|_| panic!("the read waited for ever"))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got.get(&node(7)), Some(&[7u8; 32]));
    }
}
