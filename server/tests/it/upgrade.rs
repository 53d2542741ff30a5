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

crate::both_backends!(
    an_existing_session_survives_the_upgrade,
    a_successor_signed_before_auth_time_is_answered_again,
);

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

/// Refresh tokens signed before `auth_time` existed: a used one replayed within the grace
/// window gets its successor, re-signed without the claim, byte for byte; that successor
/// rotates through the look-up, and its own successor carries the claim.
async fn a_successor_signed_before_auth_time_is_answered_again(db: &TestDb) {
    let client = client(db).await;
    let (name, _) = register(&client).await;
    let state = client.rocket().state::<rotor_server::db::Db>().unwrap();
    let pool = state.pool();
    let (user_id,): (String,) = sqlx::query_as("SELECT id FROM users WHERE username = $1")
        .bind(&name)
        .fetch_one(pool)
        .await
        .unwrap();
    let cfg = Config::from_figment(&figment(&db.url)).unwrap();
    let keys = Keys::from_config(&cfg, false).unwrap();
    let now = tokens::now();
    let started = now - 60;
    let sid = "s-before-auth-time";
    let sign = |jti: &str, iat: u64| {
        tokens::sign_pair(
            &cfg,
            &keys,
            &tokens::Issue {
                sub: &user_id,
                sid,
                jti,
                iat,
                refresh_exp: iat + 3600,
                auth_time: None,
            },
        )
        .unwrap()
    };
    let (parent, live) = (sign("j-parent", started), sign("j-live", now - 1));
    let t = |u: u64| i64::try_from(u).unwrap();
    sqlx::query(
        "INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(sid)
    .bind(&user_id)
    .bind(t(started))
    .bind(t(now - 1))
    .bind(t(now + 3600))
    .execute(pool)
    .await
    .unwrap();
    for (jti, pair, iat, used, successor) in [
        (
            "j-parent",
            &parent,
            started,
            Some(t(now - 1)),
            Some("j-live"),
        ),
        ("j-live", &live, now - 1, None, None),
    ] {
        sqlx::query(
            "INSERT INTO refresh_tokens (jti, session_id, user_id, fingerprint, issued_at, \
             expires_at, used_at, successor_jti) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(jti)
        .bind(sid)
        .bind(&user_id)
        .bind(tokens::fingerprint(&pair.refresh).as_bytes().to_vec())
        .bind(t(iat))
        .bind(t(iat + 3600))
        .bind(used)
        .bind(successor)
        .execute(pool)
        .await
        .unwrap();
    }

    let again = refresh(&client, &parent.refresh).await;
    assert_eq!(again.status, Status::Ok, "{:?}", again.body);
    assert_eq!(again.refresh(), live.refresh, "the same successor");
    let next = refresh(&client, &live.refresh).await;
    assert_eq!(next.status, Status::Ok, "{:?}", next.body);
    let claims = tokens::verify_refresh(&cfg, &keys, &next.refresh(), tokens::now()).unwrap();
    assert_eq!(claims.auth_time, Some(started));
    let dup = refresh(&client, &live.refresh).await;
    assert_eq!(dup.status, Status::Ok, "{:?}", dup.body);
    assert_eq!(
        dup.refresh(),
        next.refresh(),
        "the same successor, with auth_time"
    );
    // That successor rotates without a look-up; the one without the claim looked up.
    let (_, lookups) = state.lookups().stats();
    let last = refresh(&client, &next.refresh()).await;
    assert_eq!(last.status, Status::Ok, "{:?}", last.body);
    assert_eq!(state.lookups().stats().1, lookups, "no look-up");
    assert!(lookups >= 1, "the token without auth_time was looked up");
}
