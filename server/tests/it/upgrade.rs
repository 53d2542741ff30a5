//! Schema upgrades: a database created by the first release (only the first migration), with a
//! live session in it, is migrated on start-up and the session goes on; on SQLite and
//! PostgreSQL.

use std::borrow::Cow;

use rocket::figment::Figment;
use rocket::http::Status;
use rotor_server::config::Config;
use rotor_server::db::{Backend, DbPool};
use rotor_server::keys::Keys;
use sqlx::migrate::Migrator;

use crate::common::*;

crate::both_backends!(an_existing_session_survives_the_upgrade);

async fn an_existing_session_survives_the_upgrade(db: &TestDb) {
    let backend = Backend::of(&db.url).unwrap();
    let pool = DbPool::connect(&Figment::new().merge(("url", db.url.as_str())))
        .await
        .unwrap();
    let all = backend.migrator();
    assert!(all.migrations.len() >= 2, "an upgrade to test");
    let first_release = Migrator {
        migrations: Cow::Owned(all.migrations[..1].to_vec()),
        ignore_missing: false,
        locking: true,
        no_tx: false,
    };
    first_release.run(pool.pool()).await.unwrap();

    // A user and a session as the first release wrote them.
    let cfg = Config::from_figment(&figment(&db.url)).unwrap();
    let keys = Keys::from_config(&cfg, false).unwrap();
    let user =
        rotor_server::users::register(&pool, &cfg, "olduser", "old@example.com", PASSWORD.into())
            .await
            .unwrap();
    let pair =
        rotor_server::sessions::start(&pool, &cfg, &keys, &user, rotor_server::tokens::now())
            .await
            .unwrap();
    pool.pool().close().await;

    // The new release starts on it: migrations run at ignition, the session still works.
    let client = client(db).await;
    assert_eq!(me_bearer(&client, &pair.access).await.status, Status::Ok);
    let next = refresh(&client, &pair.refresh).await;
    assert_eq!(next.status, Status::Ok, "{:?}", next.body);
    assert_eq!(me_bearer(&client, &next.access()).await.status, Status::Ok);
    let login = post_json(
        &client,
        "/login",
        serde_json::json!({"username": "olduser", "password": PASSWORD}),
    )
    .await;
    assert_eq!(login.status, Status::Ok);
}
