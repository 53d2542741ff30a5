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
//! When the writer's commit then reaches `wal_autocheckpoint`, most of the WAL is in the
//! database already, and its own checkpoint, still the backstop (it also restarts the WAL), has
//! little left to copy. Nothing a commit guarantees changes: a commit is durable when it is in
//! the WAL (flushed at every commit with `synchronous = FULL`); the checkpoint only moves it.
//!
//! Written here, not taken from a crate: it is one statement on a timer, and sqlx has no hook
//! for it. The task ends when the group committer's task has ended (every handle of the pool
//! dropped) or the writer pool is closed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use rocket::tokio;
use sqlx::{AnyConnection, AnyPool};

use super::batch::Stats;
use super::group::GroupCommit;

/// Default interval (`databases.rotor.sqlite_checkpoint_interval_ms`), in milliseconds: 0 turns
/// the task off, leaving every checkpoint to the writer.
pub const DEFAULT_INTERVAL_MS: u64 = 10;

#[derive(Debug, Default)]
struct Counts {
    runs: AtomicU64,
    failed: AtomicU64,
}

/// The handle of the checkpoint task: what it has done.
#[derive(Debug, Clone)]
pub struct Checkpoints(Arc<Counts>);

impl Checkpoints {
    /// Starts the task on `conn`, a connection of its own to the database of `writer`,
    /// checkpointing every `every` while `group` commits. Needs a Tokio runtime.
    #[must_use]
    pub fn start(
        conn: AnyConnection,
        writer: AnyPool,
        group: &GroupCommit,
        every: Duration,
    ) -> Self {
        let counts = Arc::new(Counts::default());
        tokio::spawn(run(
            conn,
            writer,
            group.commits(),
            every,
            Arc::clone(&counts),
        ));
        Self(counts)
    }

    /// `(checkpoints, failed)` run so far: failed ones are logged and tried again at the next
    /// interval; `PASSIVE` never waits, so a checkpoint that found the WAL in use by another
    /// checkpoint counts as run.
    #[must_use]
    pub fn stats(&self) -> (u64, u64) {
        (
            self.0.runs.load(Ordering::Relaxed),
            self.0.failed.load(Ordering::Relaxed),
        )
    }
}

async fn run(
    mut conn: AnyConnection,
    writer: AnyPool,
    commits: Weak<Stats>,
    every: Duration,
    counts: Arc<Counts>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut seen = 0;
    loop {
        tick.tick().await;
        let Some(batches) = commits.upgrade().map(|s| s.batches()) else {
            break;
        };
        if writer.is_closed() {
            break;
        }
        // Only after new group commits: an idle server's WAL has nothing new to copy.
        if batches == seen {
            continue;
        }
        seen = batches;
        match sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&mut conn)
            .await
        {
            Ok(_) => counts.runs.fetch_add(1, Ordering::Relaxed),
            Err(e) => {
                log::warn!("rotor: background WAL checkpoint failed: {e}");
                counts.failed.fetch_add(1, Ordering::Relaxed)
            }
        };
    }
    let _ = sqlx::Connection::close(conn).await;
}
