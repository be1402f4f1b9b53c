//! Group commit: items that arrive while a write is running wait in one queue, and the
//! next write takes them together, in order of arrival, each with its own answer. Every
//! durable write has fixed costs (the write lock, the commit and its disk flush); at a
//! deadline's peak, items sharing them do not queue for them one by one. Serves the
//! sealed-bid intake and the quotes of live sales.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;

use tokio::sync::oneshot;

struct Waiting<T, A> {
    id: u64,
    item: T,
    done: oneshot::Sender<A>,
}

/// The queue and the right to run the next write, held until that write has answered.
pub struct GroupCommit<T, A> {
    queue: std::sync::Mutex<VecDeque<Waiting<T, A>>>,
    leader: Arc<tokio::sync::Mutex<()>>,
    next_id: std::sync::atomic::AtomicU64,
}

impl<T, A> Default for GroupCommit<T, A> {
    fn default() -> Self {
        Self {
            queue: std::sync::Mutex::new(VecDeque::new()),
            leader: Arc::default(),
            next_id: std::sync::atomic::AtomicU64::new(0),
        }
    }
}

impl<T: Send + 'static, A: Send + 'static> GroupCommit<T, A> {
    /// Queues `item` and waits for its answer. Whichever waiting caller holds the right
    /// to write takes up to `most` items from the front of the queue and writes them with
    /// `write`, which answers each, in order. The write runs in a task of its own that
    /// holds the right to write until it has answered, so a caller that goes away cannot
    /// cut a batch in half, nor let the next write start before this one ends; a caller
    /// that goes away while its item still waits takes it out of the queue. `None`: the
    /// write gave no answer for this item (it failed to run).
    pub async fn submit<W, F>(&self, item: T, most: usize, write: W) -> Option<A>
    where
        W: Fn(Vec<T>) -> F,
        F: Future<Output = Vec<A>> + Send + 'static,
    {
        let (done, mut answer) = oneshot::channel();
        let id = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push_back(Waiting { id, item, done });
        let _withdraw = Withdraw { commit: self, id };
        loop {
            let leader = Arc::clone(&self.leader).lock_owned().await;
            match answer.try_recv() {
                Ok(answer) => return Some(answer),
                Err(oneshot::error::TryRecvError::Closed) => return None,
                Err(oneshot::error::TryRecvError::Empty) => {}
            }
            let batch: Vec<Waiting<T, A>> = {
                let mut queue = self
                    .queue
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let n = queue.len().min(most.max(1));
                queue.drain(..n).collect()
            };
            let (items, senders): (Vec<T>, Vec<_>) =
                batch.into_iter().map(|w| (w.item, w.done)).unzip();
            let written = write(items);
            let _ = tokio::spawn(async move {
                let answers = written.await;
                for (sender, answer) in senders.into_iter().zip(answers) {
                    // The caller may have gone; its item stands.
                    let _ = sender.send(answer);
                }
                drop(leader);
            })
            .await;
        }
    }
}

/// Takes a caller's item out of the queue if the caller goes away before a write took it.
struct Withdraw<'a, T, A> {
    commit: &'a GroupCommit<T, A>,
    id: u64,
}

impl<T, A> Drop for Withdraw<'_, T, A> {
    fn drop(&mut self) {
        self.commit
            .queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|w| w.id != self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Mutex, PoisonError};
    use std::time::Duration;

    /// What a recording write did: its batches, and whether two ever ran at once.
    #[derive(Default)]
    struct Record {
        batches: Mutex<Vec<Vec<usize>>>,
        running: std::sync::atomic::AtomicUsize,
        overlapped: std::sync::atomic::AtomicBool,
    }

    type Batches = Arc<Record>;
    type Writing = std::pin::Pin<Box<dyn Future<Output = Vec<usize>> + Send>>;

    /// A write that takes `ms`, records each batch it wrote, and answers item `i` with
    /// `10 * i`.
    fn recording(ms: u64) -> (Batches, impl Fn(Vec<usize>) -> Writing + Clone) {
        let batches = Batches::default();
        let write = {
            let batches = Arc::clone(&batches);
            move |items: Vec<usize>| {
                let batches = Arc::clone(&batches);
                Box::pin(async move {
                    use std::sync::atomic::Ordering::SeqCst;
                    if batches.running.fetch_add(1, SeqCst) > 0 {
                        batches.overlapped.store(true, SeqCst);
                    }
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    let answers = items.iter().map(|i| i * 10).collect();
                    batches
                        .batches
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(items);
                    batches.running.fetch_sub(1, SeqCst);
                    answers
                }) as Writing
            }
        };
        (batches, write)
    }

    fn written(record: &Batches) -> Vec<usize> {
        let batches = record
            .batches
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        batches.iter().flatten().copied().collect()
    }

    /// Items that arrive while a write runs are written together, in order, at most
    /// `most` at a time, and each caller gets its own answer. One thread: each caller
    /// queues its item before the next is spawned, so arrival order is spawn order.
    #[tokio::test]
    async fn waiting_items_share_a_write_in_order() {
        let commit: Arc<GroupCommit<usize, usize>> = Arc::default();
        let (batches, write) = recording(20);
        let mut callers = Vec::new();
        for i in 0..40 {
            let (commit, write) = (Arc::clone(&commit), write.clone());
            callers.push(tokio::spawn(
                async move { commit.submit(i, 8, write).await },
            ));
            tokio::task::yield_now().await;
        }
        for (i, caller) in callers.into_iter().enumerate() {
            assert_eq!(caller.await.ok().flatten(), Some(i * 10));
        }
        let all = written(&batches);
        assert_eq!(all.len(), 40, "each item written once");
        assert!(
            all.windows(2).all(|w| w[0] < w[1]),
            "in order of arrival: {all:?}"
        );
        let batches = batches
            .batches
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        assert!(batches.iter().all(|b| b.len() <= 8), "at most 8 a write");
        assert!(batches.len() < 40, "some writes were shared: {batches:?}");
    }

    /// A caller that goes away while its write runs does not stop the write, nor let the
    /// next write start before it ends.
    #[tokio::test]
    async fn a_cancelled_caller_s_item_is_still_written() {
        let commit: Arc<GroupCommit<usize, usize>> = Arc::default();
        let (batches, write) = recording(50);
        let cancelled = tokio::time::timeout(
            Duration::from_millis(10),
            commit.submit(1, 8, write.clone()),
        )
        .await;
        assert!(cancelled.is_err());
        assert_eq!(commit.submit(2, 8, write).await, Some(20));
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(written(&batches), vec![1, 2]);
        assert!(!batches.overlapped.load(std::sync::atomic::Ordering::SeqCst));
    }

    /// A caller that goes away while its item still waits for a write takes it out: a
    /// quote whose bidder gave up is not judged later on.
    #[tokio::test]
    async fn a_caller_gone_before_its_write_started_is_not_written() {
        let commit: Arc<GroupCommit<usize, usize>> = Arc::default();
        let (batches, write) = recording(50);
        // 1 holds the write; 2 waits behind it and goes away; 3 comes after.
        let first = tokio::spawn({
            let (commit, write) = (Arc::clone(&commit), write.clone());
            async move { commit.submit(1, 8, write).await }
        });
        tokio::task::yield_now().await;
        let gone = tokio::time::timeout(
            Duration::from_millis(10),
            commit.submit(2, 8, write.clone()),
        )
        .await;
        assert!(gone.is_err());
        assert_eq!(commit.submit(3, 8, write).await, Some(30));
        assert_eq!(first.await.ok().flatten(), Some(10));
        assert_eq!(written(&batches), vec![1, 3]);
    }
}
