//! The access-token check in both modes (`access_check`), and the session cache of session mode
//! (`access_cache_ttl`): what a revoked session's access token gets, and for how long.

use std::time::Duration;

use rocket::http::{Header, Status};
use rocket::local::asynchronous::Client;

use crate::common::*;

crate::both_backends!(
    session_mode_cache_refuses_a_session_revoked_elsewhere_after_the_ttl,
    session_mode_without_cache_refuses_at_once,
    session_mode_own_revocations_take_effect_at_once,
    token_mode_accepts_a_revoked_session_until_the_token_expires,
);

/// Revokes a session behind the service's back, as another replica or the command line in
/// another process would: this process's cache is not told.
async fn revoke_elsewhere(client: &Client, sid: &str) {
    let db = client.rocket().state::<rotor_server::db::Db>().expect("db");
    let res = sqlx::query("UPDATE sessions SET revoked_at = 1 WHERE id = $1")
        .bind(sid)
        .execute(db.pool())
        .await
        .expect("revoke");
    assert_eq!(res.rows_affected(), 1);
}

async fn logout(client: &Client, access: &str) -> Reply {
    Reply::of(
        client
            .post("/logout")
            .header(Header::new("Authorization", format!("Bearer {access}")))
            .dispatch()
            .await,
    )
    .await
}

async fn session_mode_cache_refuses_a_session_revoked_elsewhere_after_the_ttl(db: &TestDb) {
    let client = client_with(db, |f| f.merge(("access_cache_ttl", 1)), false).await;
    let login = login_new(&client).await;
    let access = login.access();
    assert_eq!(me_bearer(&client, &access).await.status, Status::Ok);
    revoke_elsewhere(&client, &sid_of(&access)).await;
    // Seen active a moment ago: trusted for up to the TTL on this replica.
    assert_eq!(me_bearer(&client, &access).await.status, Status::Ok);
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    me_bearer(&client, &access)
        .await
        .assert_error(401, "Invalid access token");
}

async fn session_mode_without_cache_refuses_at_once(db: &TestDb) {
    let client = client_with(db, |f| f.merge(("access_cache_ttl", 0)), false).await;
    let login = login_new(&client).await;
    let access = login.access();
    assert_eq!(me_bearer(&client, &access).await.status, Status::Ok);
    revoke_elsewhere(&client, &sid_of(&access)).await;
    me_bearer(&client, &access)
        .await
        .assert_error(401, "Invalid access token");
}

async fn session_mode_own_revocations_take_effect_at_once(db: &TestDb) {
    // A TTL far longer than the test: only the invalidation can make these 401s.
    let client = client_with(
        db,
        |f| {
            f.merge(("access_cache_ttl", 60))
                .merge(("refresh_grace", 0))
                .merge(("refresh_retry_window", 0))
        },
        false,
    )
    .await;
    let a = login_new(&client).await;
    assert_eq!(me_bearer(&client, &a.access()).await.status, Status::Ok);
    assert_eq!(logout(&client, &a.access()).await.status, Status::Ok);
    me_bearer(&client, &a.access())
        .await
        .assert_error(401, "Invalid access token");

    // Reuse detection revokes the session: its access tokens stop at once too.
    let b = login_new(&client).await;
    let b2 = refresh(&client, &b.refresh()).await;
    assert_eq!(b2.status, Status::Ok);
    let b3 = refresh(&client, &b2.refresh()).await;
    assert_eq!(b3.status, Status::Ok);
    assert_eq!(me_bearer(&client, &b3.access()).await.status, Status::Ok);
    refresh(&client, &b.refresh())
        .await
        .assert_error(401, "Refresh token is expired or used");
    me_bearer(&client, &b3.access())
        .await
        .assert_error(401, "Invalid access token");
}

async fn token_mode_accepts_a_revoked_session_until_the_token_expires(db: &TestDb) {
    let client = client_with(
        db,
        |f| {
            f.merge(("access_check", "token"))
                .merge(("access_token_expiry", 2))
                .merge(("token_leeway", 0))
        },
        false,
    )
    .await;
    let login = login_new(&client).await;
    let access = login.access();
    assert_eq!(logout(&client, &access).await.status, Status::Ok);
    // Revoked, but token mode checks signature and claims only.
    let me = me_bearer(&client, &access).await;
    assert_eq!(me.status, Status::Ok, "{:?}", me.body);
    refresh(&client, &login.refresh())
        .await
        .assert_error(401, "Refresh token is expired or used");
    // Past `exp` (2 s after issue, no leeway): refused.
    tokio::time::sleep(Duration::from_millis(3_100)).await;
    me_bearer(&client, &access)
        .await
        .assert_error(401, "Invalid access token");
}
