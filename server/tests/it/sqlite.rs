//! SQLite settings of the pool: `synchronous` (`databases.rotor.sqlite_synchronous`), WAL and
//! its checkpoint size (`databases.rotor.sqlite_wal_autocheckpoint`).

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
