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
                Err(_) => Ok(Arc::new(store.log_nodes(&ids).await?)),
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
            // On failure the senders are dropped: each request then reads on its own.
            if let Ok(nodes) = store.log_nodes(&union).await {
                let nodes = Arc::new(nodes);
                for waiting in taken {
                    let _ = waiting.answer.send(Arc::clone(&nodes));
                }
            }
        }
        drop(turn);
        match answered.await {
            Ok(nodes) => Ok(nodes),
            Err(_) => Ok(Arc::new(store.log_nodes(&ids).await?)),
        }
    }
}
