//! Rotation, reuse detection (RFC 9700 §4.14.2), the grace window, secret rotation and the
//! expired-row sweep; on SQLite and on PostgreSQL.

use std::time::Duration;

use rocket::http::Status;

use crate::common::*;

crate::both_backends!(
    reuse_revokes_the_whole_family,
    grace_window_returns_the_same_successor,
    grace_window_ends_after_its_time,
    lost_response_keeps_the_session,
    alternating_late_replays_revoke_the_session,
    secrets_rotate_without_logging_users_out,
    sweep_removes_expired_rows,
    sweep_goes_on_past_one_batch,
);

async fn reuse_revokes_the_whole_family(db: &TestDb) {
    let client = client_with(db, |f| f.merge(("refresh_grace", 0)), false).await;
    let login = login_new(&client).await;
    let r1 = login.refresh();
    let p2 = refresh(&client, &r1).await;
    assert_eq!(p2.status, Status::Ok);
    let p3 = refresh(&client, &p2.refresh()).await;
    assert_eq!(p3.status, Status::Ok);
    assert_eq!(me_bearer(&client, &p3.access()).await.status, Status::Ok);

    // The first token again: reuse. The whole family goes, the newest descendant too.
    refresh(&client, &r1)
        .await
        .assert_error(401, "Refresh token is expired or used");
    refresh(&client, &p3.refresh())
        .await
        .assert_error(401, "Refresh token is expired or used");
    me_bearer(&client, &p3.access())
        .await
        .assert_error(401, "Invalid access token");
    let pool = client
        .rocket()
        .state::<rotor_server::db::Db>()
        .unwrap()
        .pool();
    let (reason,): (String,) = sqlx::query_as("SELECT revoked_reason FROM sessions WHERE id = $1")
        .bind(sid_of(&r1))
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(reason, "refresh_token_reuse");
    assert_eq!(token_rows(&client, &sid_of(&r1)).await, 3);

    // Another session of the same user is untouched.
    let other = login_new(&client).await;
    assert_eq!(refresh(&client, &other.refresh()).await.status, Status::Ok);
}

async fn grace_window_returns_the_same_successor(db: &TestDb) {
    let client = client(db).await; // default grace: 10 s
    let login = login_new(&client).await;
    let r1 = login.refresh();
    let first = refresh(&client, &r1).await;
    assert_eq!(first.status, Status::Ok);
    let again = refresh(&client, &r1).await;
    assert_eq!(again.status, Status::Ok, "{:?}", again.body);
    assert_eq!(again.body, first.body, "same successor pair, byte for byte");
    assert_eq!(again.set_cookies, first.set_cookies);
    assert_eq!(token_rows(&client, &sid_of(&r1)).await, 2, "no fork");

    // Once the successor itself is used, the old token is reuse, even within the window.
    let third = refresh(&client, &first.refresh()).await;
    assert_eq!(third.status, Status::Ok);
    refresh(&client, &r1)
        .await
        .assert_error(401, "Refresh token is expired or used");
    refresh(&client, &third.refresh())
        .await
        .assert_error(401, "Refresh token is expired or used");
}

async fn grace_window_ends_after_its_time(db: &TestDb) {
    let client = client_with(
        db,
        |f| {
            f.merge(("refresh_grace", 1))
                .merge(("refresh_retry_window", 0))
        },
        false,
    )
    .await;
    let login = login_new(&client).await;
    let r1 = login.refresh();
    let p2 = refresh(&client, &r1).await;
    assert_eq!(p2.status, Status::Ok);
    // Whole seconds: past `used_at + 1` for sure after 2.1 s.
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    refresh(&client, &r1)
        .await
        .assert_error(401, "Refresh token is expired or used");
    refresh(&client, &p2.refresh())
        .await
        .assert_error(401, "Refresh token is expired or used");
}

/// A client whose refresh response never arrived presents the parent again, well after the
/// grace window: it gets the very successor it missed, and the session goes on.
async fn lost_response_keeps_the_session(db: &TestDb) {
    let client = client_with(db, |f| f.merge(("refresh_grace", 1)), false).await;
    let login = login_new(&client).await;
    let r1 = login.refresh();
    let lost = refresh(&client, &r1).await; // the response the client never saw
    assert_eq!(lost.status, Status::Ok);
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let retried = refresh(&client, &r1).await;
    assert_eq!(retried.status, Status::Ok, "{:?}", retried.body);
    assert_eq!(retried.body, lost.body, "the same successor pair");
    assert_eq!(token_rows(&client, &sid_of(&r1)).await, 2, "no fork");
    let next = refresh(&client, &retried.refresh()).await;
    assert_eq!(next.status, Status::Ok);
    assert_eq!(me_bearer(&client, &next.access()).await.status, Status::Ok);
}

/// A thief and the user hold one chain and take turns replaying late (RFC 9700 §4.14.2): the
/// first late replay is answered, the second within a refresh lifetime is reuse and ends the
/// session, for both of them.
async fn alternating_late_replays_revoke_the_session(db: &TestDb) {
    let client = client_with(db, |f| f.merge(("refresh_grace", 1)), false).await;
    let login = login_new(&client).await;
    let r1 = login.refresh();
    let user_r2 = refresh(&client, &r1).await; // the user rotates
    assert_eq!(user_r2.status, Status::Ok);
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let thief_r2 = refresh(&client, &r1).await; // the thief replays late: answered once
    assert_eq!(thief_r2.status, Status::Ok);
    assert_eq!(thief_r2.body, user_r2.body);
    let user_r3 = refresh(&client, &user_r2.refresh()).await; // the user rotates again
    assert_eq!(user_r3.status, Status::Ok);
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    // The thief's second late replay within one refresh lifetime: reuse, session revoked.
    refresh(&client, &thief_r2.refresh())
        .await
        .assert_error(401, "Refresh token is expired or used");
    refresh(&client, &user_r3.refresh())
        .await
        .assert_error(401, "Refresh token is expired or used");
    me_bearer(&client, &user_r3.access())
        .await
        .assert_error(401, "Invalid access token");
}

async fn secrets_rotate_without_logging_users_out(db: &TestDb) {
    let old = client(db).await;
    let login = login_new(&old).await;
    drop(old);
    const NEW_ACCESS: &str = "the new access secret, thirty-two bytes or more";
    const NEW_REFRESH: &str = "the new refresh secret, thirty-two bytes or more";
    let new = client_with(
        db,
        |f| {
            f.merge(("access_token_secret", NEW_ACCESS))
                .merge(("refresh_token_secret", NEW_REFRESH))
                .merge(("access_token_previous_secrets", [ACCESS_SECRET]))
                .merge(("refresh_token_previous_secrets", [REFRESH_SECRET]))
        },
        false,
    )
    .await;
    // Old access token still accepted, old refresh token still rotates, to a token of the new key.
    assert_eq!(me_bearer(&new, &login.access()).await.status, Status::Ok);
    let p2 = refresh(&new, &login.refresh()).await;
    assert_eq!(p2.status, Status::Ok, "{:?}", p2.body);
    let header = |t: &str| t.split('.').next().unwrap().to_owned();
    assert_ne!(header(&p2.refresh()), header(&login.refresh()), "new kid");
    drop(new);

    // A server that no longer lists the old secret refuses the old tokens.
    let newest = client_with(
        db,
        |f| {
            f.merge(("access_token_secret", NEW_ACCESS))
                .merge(("refresh_token_secret", NEW_REFRESH))
        },
        false,
    )
    .await;
    me_bearer(&newest, &login.access())
        .await
        .assert_error(401, "Invalid access token");
    assert_eq!(refresh(&newest, &p2.refresh()).await.status, Status::Ok);
}

async fn sweep_removes_expired_rows(db: &TestDb) {
    let client = client(db).await;
    let a = login_new(&client).await;
    let a2 = refresh(&client, &a.refresh()).await;
    assert_eq!(a2.status, Status::Ok);
    let db_state = client.rocket().state::<rotor_server::db::Db>().unwrap();
    let cfg = client
        .rocket()
        .state::<rotor_server::config::Config>()
        .unwrap();
    let now = rotor_server::tokens::now();
    // Nothing has expired yet.
    let swept = rotor_server::cleanup::sweep(db_state, cfg, now)
        .await
        .unwrap();
    assert_eq!((swept.sessions, swept.tokens), (0, 0));
    assert_eq!(token_rows(&client, &sid_of(&a.refresh())).await, 2);
    // Eleven days later the refresh tokens (ten days) and their session are gone.
    let later = now + 11 * 86_400;
    let swept = rotor_server::cleanup::sweep(db_state, cfg, later)
        .await
        .unwrap();
    assert_eq!(swept.sessions, 1);
    assert_eq!(token_rows(&client, &sid_of(&a.refresh())).await, 0);
    let pool = db_state.pool();
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sessions")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
}

/// More expired rows than one batch (`cleanup::BATCH`): the sweep goes on batch after batch,
/// through a last partial one, and leaves the live session alone.
async fn sweep_goes_on_past_one_batch(db: &TestDb) {
    let client = client(db).await;
    let live = login_new(&client).await;
    let db_state = client.rocket().state::<rotor_server::db::Db>().unwrap();
    let cfg = client
        .rocket()
        .state::<rotor_server::config::Config>()
        .unwrap();
    let pool = db_state.pool();
    let (user,): (String,) = sqlx::query_as("SELECT user_id FROM sessions WHERE id = $1")
        .bind(sid_of(&live.refresh()))
        .fetch_one(pool)
        .await
        .unwrap();
    let batch = usize::try_from(rotor_server::cleanup::BATCH).unwrap();
    let expired = 2 * batch + batch / 2;
    let now = rotor_server::tokens::now();
    let past = i64::try_from(now).unwrap() - 40 * 86_400;
    for i in 0..expired {
        let sid = format!("expired-session-{i:03}");
        sqlx::query(
            "INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at) \
             VALUES ($1, $2, $3, $3, $4)",
        )
        .bind(&sid)
        .bind(&user)
        .bind(past)
        .bind(past + 60)
        .execute(pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO refresh_tokens (jti, session_id, user_id, fingerprint, issued_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(format!("expired-token-{i:03}"))
        .bind(&sid)
        .bind(&user)
        .bind(vec![0u8; 32])
        .bind(past)
        .bind(past + 60)
        .execute(pool)
        .await
        .unwrap();
    }
    let swept = rotor_server::cleanup::sweep(db_state, cfg, now)
        .await
        .unwrap();
    assert_eq!(swept.sessions, u64::try_from(expired).unwrap());
    let (sessions,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sessions")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(sessions, 1, "the live session stays");
    let (tokens,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM refresh_tokens")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(
        tokens, 1,
        "its token stays; the expired ones went with their sessions"
    );
    assert_eq!(refresh(&client, &live.refresh()).await.status, Status::Ok);
}
