//! SQLite settings of the pool: `synchronous` (`databases.rotor.sqlite_synchronous`), WAL, its
//! checkpoint size (`databases.rotor.sqlite_wal_autocheckpoint`) and the background checkpoints
//! (`databases.rotor.sqlite_checkpoint_interval_ms`).

use std::time::{Duration, Instant};

use rocket::http::Status;

use crate::common::*;

async fn pragma(client: &rocket::local::asynchronous::Client, name: &str) -> String {
    let db = client.rocket().state::<rotor_server::db::Db>().expect("db");
    let row: (String,) = sqlx::query_as(&format!("SELECT CAST({name} AS TEXT) FROM pragma_{name}"))
        .fetch_one(db.pool())
        .await
        .expect(name);
    row.0
}

/// `PRAGMA wal_autocheckpoint` of the writer: the pragma has no table-valued form.
async fn wal_autocheckpoint(client: &rocket::local::asynchronous::Client) -> i64 {
    let db = client.rocket().state::<rotor_server::db::Db>().expect("db");
    let row: (i64,) = sqlx::query_as("PRAGMA wal_autocheckpoint")
        .fetch_one(db.pool())
        .await
        .expect("wal_autocheckpoint");
    row.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synchronous_defaults_to_full_and_is_configurable() {
    let db = TestDb::new(Kind::Sqlite, "sqlite_synchronous")
        .await
        .expect("sqlite");
    let full = client(&db).await;
    // PRAGMA synchronous: 2 = FULL, 1 = NORMAL.
    assert_eq!(pragma(&full, "synchronous").await, "2");
    assert_eq!(pragma(&full, "journal_mode").await, "wal");
    drop(full);
    let normal = client_with(
        &db,
        |f| f.merge(("databases.rotor.sqlite_synchronous", "normal")),
        false,
    )
    .await;
    assert_eq!(pragma(&normal, "synchronous").await, "1");
    drop(normal);
    let bad =
        rotor_server::custom(figment(&db.url).merge(("databases.rotor.sqlite_synchronous", "off")));
    match rocket::local::asynchronous::Client::untracked(bad).await {
        // Looking at the kind marks Rocket's error as handled (it panics on drop otherwise).
        Err(e) => assert!(matches!(
            e.kind(),
            rocket::error::ErrorKind::FailedFairings(_)
        )),
        Ok(_) => panic!("sqlite_synchronous = off must not ignite"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wal_autocheckpoint_defaults_to_1000_pages_and_is_configurable() {
    let db = TestDb::new(Kind::Sqlite, "sqlite_wal_autocheckpoint")
        .await
        .expect("sqlite");
    let default = client(&db).await;
    assert_eq!(wal_autocheckpoint(&default).await, 1000);
    drop(default);
    let set = client_with(
        &db,
        |f| f.merge(("databases.rotor.sqlite_wal_autocheckpoint", 2500)),
        false,
    )
    .await;
    assert_eq!(wal_autocheckpoint(&set).await, 2500);
}

/// `(mxFrame, nBackfill)` of the WAL index (the `-shm` file): the frames in the WAL and how many
/// of them a checkpoint has copied into the database file, read as SQLite's readers do, in
/// native byte order (<https://www.sqlite.org/walformat.html#the_wal_index_file_format>:
/// `mxFrame` at byte 16 of the header, `nBackfill` at byte 96, after the header's two copies).
fn wal_index(db: &TestDb) -> (u32, u32) {
    let shm = std::fs::read(db.dir.path().join("rotor.db-shm")).expect("wal index");
    let word = |at: usize| u32::from_ne_bytes(shm[at..at + 4].try_into().expect("4 bytes"));
    (word(16), word(96))
}

/// Logs in and refreshes `n` times in a row: group commits on the writer.
async fn rotations(client: &rocket::local::asynchronous::Client, n: usize) {
    let mut token = login_new(client).await.refresh();
    for _ in 0..n {
        let r = refresh(client, &token).await;
        assert_eq!(r.status, Status::Ok, "{:?}", r.body);
        token = r.refresh();
    }
}

/// The WAL index `(mxFrame, nBackfill)`: with `want_backfilled`, as soon as every frame is
/// copied (at most 5 s); otherwise after 1 s, time enough for a checkpoint that should not come.
async fn settled(db: &TestDb, want_backfilled: bool) -> (u32, u32) {
    let start = Instant::now();
    loop {
        let (frames, copied) = wal_index(db);
        if (want_backfilled && frames > 0 && copied == frames)
            || start.elapsed() > Duration::from_secs(if want_backfilled { 5 } else { 1 })
        {
            return (frames, copied);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_of_its_own_checkpoints_the_wal_while_rotations_commit() {
    // The writer's own automatic checkpoint is off in both halves, so only the task copies WAL
    // frames into the database file.
    let db = TestDb::new(Kind::Sqlite, "sqlite_checkpoints")
        .await
        .expect("sqlite");
    let off = client_with(
        &db,
        |f| {
            f.merge(("databases.rotor.sqlite_wal_autocheckpoint", 0))
                .merge(("databases.rotor.sqlite_checkpoint_interval_ms", 0))
        },
        false,
    )
    .await;
    let state = off.rocket().state::<rotor_server::db::Db>().expect("db");
    assert!(state.checkpoints().is_none(), "0 turns the task off");
    rotations(&off, 5).await;
    let (frames, copied) = settled(&db, false).await;
    assert!(frames > 0, "the rotations are in the WAL");
    assert_eq!(
        copied, 0,
        "nothing checkpointed {frames} frames without the task"
    );
    drop(off);

    // The default interval, with the writer's checkpoints still off.
    let on = client_with(
        &db,
        |f| f.merge(("databases.rotor.sqlite_wal_autocheckpoint", 0)),
        false,
    )
    .await;
    let state = on.rocket().state::<rotor_server::db::Db>().expect("db");
    let task = state.checkpoints().expect("on by default").clone();
    assert_eq!(task.stats(), (0, 0), "nothing to copy before a rotation");
    rotations(&on, 5).await;
    let (frames, copied) = settled(&db, true).await;
    assert!(
        frames > 0 && copied == frames,
        "{copied} of {frames} frames checkpointed"
    );
    let (runs, failed) = task.stats();
    assert!(runs >= 1, "{runs} checkpoints");
    assert_eq!(failed, 0);
    // An idle server: no new commits, no more checkpoints, and the task asleep (it woke every
    // interval, 20 times in 200 ms, before it waited for the next group).
    tokio::time::sleep(Duration::from_millis(100)).await;
    let idle = task.stats().0;
    let woken = task.wakeups();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(task.stats().0, idle, "no checkpoint without a new commit");
    assert_eq!(
        task.wakeups(),
        woken,
        "the task slept while nothing committed"
    );
    // The next group wakes it, and its frames are copied.
    rotations(&on, 1).await;
    let (frames, copied) = settled(&db, true).await;
    assert!(
        task.wakeups() > woken && copied == frames,
        "woken {} times, {copied} of {frames} frames checkpointed",
        task.wakeups() - woken
    );
}
