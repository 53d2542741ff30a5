//! A logout racing a refresh of the same session: whichever wins, no refresh token of the
//! session survives the logout (the rotation locks the session row first, as the revocation
//! does, so the revocation cannot miss a successor committed concurrently). On PostgreSQL this
//! exercises the one-statement rotation (`store::ROTATE_POSTGRES`).

use std::sync::Arc;

use rocket::http::{Header, Status};

use crate::common::*;

crate::both_backends!(logout_racing_a_refresh_leaves_no_live_token);

const ROUNDS: usize = 20;

async fn logout_racing_a_refresh_leaves_no_live_token(db: &TestDb) {
    let client = Arc::new(
        client_with(
            db,
            |f| {
                f.merge(("refresh_grace", 0))
                    .merge(("refresh_retry_window", 0))
                    .merge(("databases.rotor.connect_timeout", 30))
            },
            false,
        )
        .await,
    );
    let mut rotated = 0;
    for _ in 0..ROUNDS {
        let login = login_new(&client).await;
        let (access, token) = (login.access(), login.refresh());
        let sid = sid_of(&token);
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let refresher = {
            let (client, barrier) = (client.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                refresh(&client, &token).await
            })
        };
        let logout = {
            let (client, barrier) = (client.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                Reply::of(
                    client
                        .post("/logout")
                        .header(Header::new("Authorization", format!("Bearer {access}")))
                        .dispatch()
                        .await,
                )
                .await
            })
        };
        let (r, out) = (refresher.await.unwrap(), logout.await.unwrap());
        assert_eq!(out.status, Status::Ok, "{:?}", out.body);
        if r.status == Status::Ok {
            rotated += 1;
            refresh(&client, &r.refresh())
                .await
                .assert_error(401, "Refresh token is expired or used");
        } else {
            r.assert_error(401, "Refresh token is expired or used");
        }
        let pool = client.rocket().state::<rotor_server::db::Db>().unwrap();
        let (live,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM refresh_tokens WHERE session_id = $1 AND revoked_at IS NULL",
        )
        .bind(&sid)
        .fetch_one(pool.pool())
        .await
        .unwrap();
        assert_eq!(live, 0, "a refresh token outlived the logout");
    }
    eprintln!("logout vs refresh: the refresh won {rotated} of {ROUNDS} rounds");
}
