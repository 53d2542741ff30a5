//! Background WAL checkpoints (SQLite).
//!
//! In WAL mode a commit appends the pages it changed to the WAL, and a checkpoint copies them
//! back into the database file and flushes it (<https://www.sqlite.org/wal.html#checkpointing>).
//! By default SQLite checkpoints on the connection whose commit takes the WAL past
//! `wal_autocheckpoint` pages, before that commit returns
//! (<https://www.sqlite.org/wal.html#automatic_checkpoint>): on Rotor's one writer, so every
//! rotation waiting meanwhile waits for the checkpoint's scattered page writes and its fsync.
//! Those waits are SQLite's refresh tail (`bench/SCALE.md`).
//!
//! This task checkpoints on a connection of its own, every
//! `databases.rotor.sqlite_checkpoint_interval_ms` while rotations commit, in `PASSIVE` mode
//! (<https://www.sqlite.org/c3ref/wal_checkpoint_v2.html>): it copies the frames committed so
//! far without waiting for any reader or writer, and the writer goes on committing meanwhile.
//! Once every frame is copied, the writer's next transaction starts the WAL again from its
//! beginning (<https://www.sqlite.org/wal.html#avoiding_excessively_large_wal_files>). Under
//! continuous refresh load that seldom happens (why is not settled: `bench/SCALE.md`): the WAL
//! still grows to `wal_autocheckpoint` pages and the writer's own checkpoint starts it again,
//! about 20 times a second at full load; but it finds most frames copied already (the task was
//! 180 to 200 frames behind, median, in `bench/SCALE.md`'s sampling), so it holds the writer
//! for less time. Nothing a commit guarantees changes: with `synchronous = FULL` a commit is
//! durable once it is in the flushed WAL, before it returns; a checkpoint only copies it. With
//! `NORMAL` the WAL is flushed at checkpoints, so this task makes them more frequent: a power
//! failure then takes back about one interval of commits instead of up to `wal_autocheckpoint`
//! pages.
//!
//! Written here, not taken from a crate: it is one statement on a timer, and sqlx has no hook
//! for it. The task wakes every interval while groups commit, and runs nothing unless one has
//! committed since the last checkpoint that copied the whole WAL. Once that checkpoint has
//! copied everything it sleeps until the next group commits: an idle server does not wake it
//! (logins, logouts and revocations do not go through the group committer, so their frames
//! wait for the next group's checkpoint or the writer's own). It ends when
//! [`Checkpoints::stop`] is called (the pool's `close`, at Rocket's shutdown) or the group
//! committer's task has ended (every handle of the pool dropped).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use rocket::tokio;
use rocket::tokio::sync::Notify;
use rocket::tokio::task::JoinHandle;
use sqlx::AnyConnection;

use super::batch::Stats;
use super::group::GroupCommit;

/// Default interval (`databases.rotor.sqlite_checkpoint_interval_ms`), in milliseconds: 0 turns
/// the task off, leaving every checkpoint to the writer.
pub const DEFAULT_INTERVAL_MS: u64 = 10;

#[derive(Debug, Default)]
struct Counts {
    runs: AtomicU64,
    failed: AtomicU64,
    wakeups: AtomicU64,
}

/// The handle of the checkpoint task: what it has done, and its stop.
#[derive(Debug, Clone)]
pub struct Checkpoints {
    counts: Arc<Counts>,
    stop: Arc<Notify>,
    task: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl Checkpoints {
    /// Starts the task on `conn`, a connection of its own to the database of `group`'s pool,
    /// checkpointing every `every` while `group` commits. Needs a Tokio runtime.
    #[must_use]
    pub fn start(conn: AnyConnection, group: &GroupCommit, every: Duration) -> Self {
        let counts = Arc::new(Counts::default());
        let stop = Arc::new(Notify::new());
        let task = tokio::spawn(run(
            conn,
            group.commits(),
            group.finishes(),
            every,
            Arc::clone(&counts),
            Arc::clone(&stop),
        ));
        Self {
            counts,
            stop,
            task: Arc::new(Mutex::new(Some(task))),
        }
    }

    /// `(checkpoints, failed)` run so far. A checkpoint counts when its statement ran, whether
    /// it copied every frame or stopped short (a reader's snapshot, the writer's own checkpoint
    /// at the same moment: then the next interval tries again). A failed one is logged and
    /// tried again at the next interval.
    #[must_use]
    pub fn stats(&self) -> (u64, u64) {
        (
            self.counts.runs.load(Ordering::Relaxed),
            self.counts.failed.load(Ordering::Relaxed),
        )
    }

    /// How many times the task has woken up: at most one per interval while groups commit, and
    /// none while nothing commits once the whole WAL is copied.
    #[must_use]
    pub fn wakeups(&self) -> u64 {
        self.counts.wakeups.load(Ordering::Relaxed)
    }

    /// Stops the task and waits until its connection is closed, so the pool's last connection
    /// to close checkpoints the WAL and removes it, as without the task.
    pub async fn stop(&self) {
        self.stop.notify_one();
        let task = self.task.lock().ok().and_then(|mut t| t.take());
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

async fn run(
    mut conn: AnyConnection,
    commits: Weak<Stats>,
    finishes: Arc<Notify>,
    every: Duration,
    counts: Arc<Counts>,
    stop: Arc<Notify>,
) {
    // The group count when the whole WAL was last copied.
    let mut done = 0;
    loop {
        if tokio::time::timeout(every, stop.notified()).await.is_ok() {
            break;
        }
        counts.wakeups.fetch_add(1, Ordering::Relaxed);
        // `None` once the committer has ended (its counts are dropped, which notifies).
        let Some(batches) = commits.upgrade().map(|s| s.finished()) else {
            break;
        };
        if batches == done {
            // Nothing committed since the whole WAL was copied: sleep until a group finishes.
            // A group that finished since the last wake-up left a permit, so none is missed.
            tokio::select! {
                () = stop.notified() => break,
                () = finishes.notified() => continue,
            }
        }
        // `(busy, log, checkpointed)`: busy when another checkpoint ran at the same moment; the
        // WAL's frames, and how many of them are in the database file now. Groups are counted
        // once their commit has returned, so every frame they wrote is in `log`.
        match sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&mut conn)
            .await
        {
            Ok((busy, log, copied)) => {
                counts.runs.fetch_add(1, Ordering::Relaxed);
                if busy == 0 && copied == log {
                    done = batches;
                }
            }
            Err(e) => {
                log::warn!("rotor: background WAL checkpoint failed: {e}");
                counts.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    let _ = sqlx::Connection::close(conn).await;
}
