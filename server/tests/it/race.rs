//! Fifty concurrent refreshes with one token record exactly one successor, on SQLite and on
//! PostgreSQL, with the grace window off and on.

use std::sync::Arc;

use rocket::http::Status;

use crate::common::*;

crate::both_backends!(fifty_refreshes_grace_off, fifty_refreshes_grace_on);

pub const RACERS: usize = 50;

async fn race(
    grace: u64,
    db: &TestDb,
) -> (Vec<Reply>, String, rocket::local::asynchronous::Client) {
    let client = client_with(
        db,
        |f| {
            // With the grace window off, the retry window is off too: exactly the grace-off rule.
            f.merge(("refresh_grace", grace))
                .merge(("refresh_retry_window", if grace == 0 { 0 } else { 86_400 }))
                .merge(("databases.rotor.connect_timeout", 30))
        },
        false,
    )
    .await;
    let token = login_new(&client).await.refresh();
    let client = Arc::new(client);
    let barrier = Arc::new(tokio::sync::Barrier::new(RACERS));
    let tasks: Vec<_> = (0..RACERS)
        .map(|_| {
            let (client, token, barrier) = (client.clone(), token.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                refresh(&client, &token).await
            })
        })
        .collect();
    let mut replies = Vec::with_capacity(RACERS);
    for t in tasks {
        replies.push(
            tokio::time::timeout(std::time::Duration::from_secs(60), t)
                .await
                .expect("bounded")
                .expect("task"),
        );
    }
    let client = Arc::try_unwrap(client).unwrap_or_else(|_| panic!("client still shared"));
    (replies, token, client)
}

async fn fifty_refreshes_grace_off(db: &TestDb) {
    let (replies, token, client) = race(0, db).await;
    let ok: Vec<_> = replies.iter().filter(|r| r.status == Status::Ok).collect();
    let refused = replies
        .iter()
        .filter(|r| {
            r.status == Status::Unauthorized && r.message() == "Refresh token is expired or used"
        })
        .count();
    let other: Vec<_> = replies
        .iter()
        .filter(|r| r.status != Status::Ok && r.status != Status::Unauthorized)
        .map(|r| (r.status, r.body.clone()))
        .collect();
    assert!(other.is_empty(), "unexpected answers: {other:?}");
    assert_eq!((ok.len(), refused), (1, RACERS - 1));
    assert_eq!(
        token_rows(&client, &sid_of(&token)).await,
        2,
        "exactly one successor"
    );
    // With the window off, the 49 replays are reuse: the family, winner's successor included, is revoked.
    refresh(&client, &ok[0].refresh())
        .await
        .assert_error(401, "Refresh token is expired or used");
}

async fn fifty_refreshes_grace_on(db: &TestDb) {
    let (replies, token, client) = race(30, db).await;
    let bad: Vec<_> = replies
        .iter()
        .filter(|r| r.status != Status::Ok)
        .map(|r| (r.status, r.body.clone()))
        .collect();
    assert!(bad.is_empty(), "every racer gets 200: {bad:?}");
    let first = &replies[0];
    for r in &replies {
        assert_eq!(r.body, first.body, "byte-identical pairs");
        assert_eq!(r.set_cookies, first.set_cookies);
    }
    assert_eq!(
        token_rows(&client, &sid_of(&token)).await,
        2,
        "exactly one successor"
    );
    let (distinct,): (i64,) = sqlx::query_as(
        "SELECT COUNT(DISTINCT successor_jti) FROM refresh_tokens WHERE session_id = $1 AND successor_jti IS NOT NULL",
    )
    .bind(sid_of(&token))
    .fetch_one(client.rocket().state::<rotor_server::db::Db>().unwrap().pool())
    .await
    .unwrap();
    assert_eq!(distinct, 1);
    // The successor is a normal, working token.
    assert_eq!(refresh(&client, &first.refresh()).await.status, Status::Ok);
}
