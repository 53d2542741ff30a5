//! The handle shared by the two batching tasks ([`super::group`], [`super::lookup`]): a bounded
//! queue of requests, each with the channel of its own answer, and the task's counts.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use rocket::tokio;
use rocket::tokio::sync::{mpsc, oneshot, Notify};

/// Requests waiting for a task at most; beyond it a request waits to be queued.
const QUEUE: usize = 1024;

/// Where a task sends one request's answer.
pub(crate) type Reply<R> = oneshot::Sender<Result<R, sqlx::Error>>;

/// What a task receives: requests with their reply channels.
pub(crate) type Requests<J, R> = mpsc::Receiver<(J, Reply<R>)>;

/// What a task has done: batches, and the requests in them.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    batches: AtomicU64,
    items: AtomicU64,
    finished: AtomicU64,
    /// Notified at each finished batch and when these counts go (the task has ended), for a
    /// task that waits for the next one ([`super::checkpoint`]).
    finishes: Arc<Notify>,
}

impl Drop for Stats {
    fn drop(&mut self) {
        self.finishes.notify_one();
    }
}

impl Stats {
    /// Counts one batch of `n` requests.
    pub(crate) fn count(&self, n: usize) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.items.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Counts one batch finished: its statement has returned (a batch is counted by
    /// [`count`](Self::count) when it starts).
    pub(crate) fn finish(&self) {
        self.finished.fetch_add(1, Ordering::Release);
        self.finishes.notify_one();
    }

    /// Notified at each finished batch, and once when these counts are dropped.
    pub(crate) fn finishes(&self) -> Arc<Notify> {
        Arc::clone(&self.finishes)
    }

    /// Batches finished so far: everything they wrote is committed (or rolled back).
    pub(crate) fn finished(&self) -> u64 {
        self.finished.load(Ordering::Acquire)
    }
}

/// The handle of one task.
#[derive(Debug)]
pub(crate) struct Handle<J, R> {
    queue: mpsc::Sender<(J, Reply<R>)>,
    stats: Arc<Stats>,
}

impl<J, R> Clone for Handle<J, R> {
    fn clone(&self) -> Self {
        Self {
            queue: self.queue.clone(),
            stats: Arc::clone(&self.stats),
        }
    }
}

impl<J, R> Handle<J, R> {
    /// Spawns `task` on its requests and counts. Needs a Tokio runtime; the task's queue closes
    /// when every handle is dropped.
    pub(crate) fn start<F, Fut>(task: F) -> Self
    where
        F: FnOnce(Requests<J, R>, Arc<Stats>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (queue, rx) = mpsc::channel(QUEUE);
        let stats = Arc::new(Stats::default());
        tokio::spawn(task(rx, Arc::clone(&stats)));
        Self { queue, stats }
    }

    /// `(batches, requests)` done so far: the mean batch size is their ratio.
    pub(crate) fn stats(&self) -> (u64, u64) {
        (
            self.stats.batches.load(Ordering::Relaxed),
            self.stats.items.load(Ordering::Relaxed),
        )
    }

    /// The task's counts without keeping them alive: they go when the task has ended.
    pub(crate) fn counts(&self) -> Weak<Stats> {
        Arc::downgrade(&self.stats)
    }

    /// Notified at each batch the task finishes, and once when it has ended.
    pub(crate) fn finishes(&self) -> Arc<Notify> {
        self.stats.finishes()
    }

    /// Queues `job` and waits for its answer.
    ///
    /// # Errors
    /// The task's answer; `PoolClosed` if the task has stopped.
    pub(crate) async fn call(&self, job: J) -> Result<R, sqlx::Error> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send((job, reply))
            .await
            .map_err(|_| sqlx::Error::PoolClosed)?;
        answer.await.map_err(|_| sqlx::Error::PoolClosed)?
    }
}
