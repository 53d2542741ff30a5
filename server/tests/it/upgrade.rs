//! Schema upgrades: a database created by the first release (only the first migration), with a
//! live session in it, is migrated on start-up and the session goes on; on SQLite and
//! PostgreSQL.

use std::borrow::Cow;

use rocket::figment::Figment;
use rocket::http::Status;
use rotor_server::config::Config;
use rotor_server::db::{Backend, DbPool};
use rotor_server::keys::Keys;
use rotor_server::tokens;
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

    // A user and a session as the first release wrote them (its columns only).
    let cfg = Config::from_figment(&figment(&db.url)).unwrap();
    let keys = Keys::from_config(&cfg, false).unwrap();
    let user =
        rotor_server::users::register(&pool, &cfg, "olduser", "old@example.com", PASSWORD.into())
            .await
            .unwrap();
    let now = tokens::now();
    let (sid, jti) = ("s-first-release", "j-first-release");
    let pair = tokens::sign_pair(
        &cfg,
        &keys,
        &tokens::Issue {
            sub: &user.id,
            sid,
            jti,
            iat: now,
            refresh_exp: now + 3600,
            // The first release signed no `auth_time`.
            auth_time: None,
        },
    )
    .unwrap();
    let t = i64::try_from(now).unwrap();
    sqlx::query(
        "INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at) \
         VALUES ($1, $2, $3, $3, $4)",
    )
    .bind(sid)
    .bind(&user.id)
    .bind(t)
    .bind(t + 3600)
    .execute(pool.pool())
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO refresh_tokens (jti, session_id, user_id, fingerprint, issued_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(jti)
    .bind(sid)
    .bind(&user.id)
    .bind(tokens::fingerprint(&pair.refresh).as_bytes().to_vec())
    .bind(t)
    .bind(t + 3600)
    .execute(pool.pool())
    .await
    .unwrap();
    // Its parent, used: the rotation history that reuse detection reads.
    sqlx::query(
        "INSERT INTO refresh_tokens \
         (jti, session_id, user_id, fingerprint, issued_at, expires_at, used_at, successor_jti) \
         VALUES ('j-parent', $1, $2, $3, $4, $5, $4, $6)",
    )
    .bind(sid)
    .bind(&user.id)
    .bind(vec![7u8; 32])
    .bind(t - 60)
    .bind(t + 3600)
    .bind(jti)
    .execute(pool.pool())
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

    // Every row of the first release is still there, the used parent with its successor.
    let pool = DbPool::connect(&Figment::new().merge(("url", db.url.as_str())))
        .await
        .unwrap();
    let parent: (Option<i64>, Option<String>) =
        sqlx::query_as("SELECT used_at, successor_jti FROM refresh_tokens WHERE jti = 'j-parent'")
            .fetch_one(pool.pool())
            .await
            .unwrap();
    assert_eq!(parent, (Some(t - 60), Some(jti.to_owned())));
    let tokens: (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM refresh_tokens WHERE session_id = $1")
            .bind(sid)
            .fetch_one(pool.pool())
            .await
            .unwrap();
    assert_eq!(
        tokens.0, 3,
        "the parent, the first release's token and its successor"
    );
}
