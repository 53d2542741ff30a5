//! Group commit of rotations (`store::group`), on SQLite and PostgreSQL: concurrent refreshes of
//! many sessions share commits and look-ups (`store::lookup`) and keep exactly-once rotation; a rotation that fails in a batch
//! fails alone, and the others of its batch are committed.

use std::sync::Arc;

use rocket::http::Status;
use rotor_server::store::group::{self, Job};
use rotor_server::store::{Rotation, Seen, TokenRow};

use crate::common::*;

crate::both_backends!(
    concurrent_refreshes_share_commits_and_rotate_once,
    a_failing_rotation_fails_alone,
);

const SESSIONS: usize = 40;

async fn shared_client(db: &TestDb) -> Arc<rocket::local::asynchronous::Client> {
    let client = client_with(
        db,
        |f| {
            f.merge(("refresh_grace", 0))
                .merge(("refresh_retry_window", 0))
                .merge(("databases.rotor.connect_timeout", 30))
                .merge(("rate_register_per_ip", 0))
                .merge(("rate_login_per_ip", 0))
                .merge(("rate_refresh_per_ip", 0))
        },
        false,
    )
    .await;
    Arc::new(client)
}

async fn concurrent_refreshes_share_commits_and_rotate_once(db: &TestDb) {
    let client = shared_client(db).await;
    let mut tokens = Vec::new();
    for _ in 0..SESSIONS {
        tokens.push(login_new(&client).await.refresh());
    }
    let state = client.rocket().state::<rotor_server::db::Db>().unwrap();
    let group = state.group();
    let (batches0, rotations0) = group.stats();
    let (_, lookups0) = state.lookups().stats();
    // Every session refreshed at once, and the first ten twice (with the grace window off,
    // the second of each pair is reuse).
    let barrier = Arc::new(tokio::sync::Barrier::new(SESSIONS + 10));
    let tasks: Vec<_> = tokens
        .iter()
        .chain(tokens.iter().take(10))
        .map(|token| {
            let (client, token, barrier) = (client.clone(), token.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                (sid_of(&token), refresh(&client, &token).await)
            })
        })
        .collect();
    let mut won = std::collections::HashMap::<String, usize>::new();
    for t in tasks {
        let (sid, r) = t.await.unwrap();
        if r.status == Status::Ok {
            *won.entry(sid).or_default() += 1;
        } else {
            r.assert_error(401, "Refresh token is expired or used");
        }
    }
    let (batches, rotations) = group.stats();
    let (batches, rotations) = (batches - batches0, rotations - rotations0);
    eprintln!("group commit: {rotations} rotations in {batches} transactions");
    // Every refresh reached the committer; each of the ten that lost its twin's race then
    // looked its token up and reached it again (`sessions::refresh`, step 2).
    assert_eq!(
        rotations,
        (SESSIONS + 20) as u64,
        "every refresh reached the committer"
    );
    assert!(
        batches < rotations,
        "some transactions held several rotations"
    );
    let (_, lookups) = state.lookups().stats();
    assert_eq!(lookups - lookups0, 10, "the ten that lost looked up");
    // Look-ups asked at once are batched too (`store::lookup`), and every one is answered with
    // its own row: all the presented tokens, now used.
    let (lookup_batches0, lookups0) = state.lookups().stats();
    let jtis: Vec<String> = tokens.iter().map(|t| jti_of(t)).collect();
    let asked: Vec<_> = jtis
        .iter()
        .map(|jti| {
            let (lookups, jti) = (state.lookups().clone(), jti.clone());
            tokio::spawn(async move { lookups.find(&jti).await })
        })
        .collect();
    let mut found = Vec::new();
    for a in asked {
        found.push(a.await.unwrap());
    }
    for (jti, row) in jtis.iter().zip(found) {
        let row = row.unwrap().expect("a presented token's row");
        assert_eq!(&row.token.jti, jti);
        assert!(row.token.used_at.is_some(), "{jti} used");
    }
    let (lookup_batches, lookups) = state.lookups().stats();
    let (lookup_batches, lookups) = (lookup_batches - lookup_batches0, lookups - lookups0);
    eprintln!("batched look-ups: {lookups} tokens in {lookup_batches} statements");
    assert_eq!(lookups, SESSIONS as u64);
    assert!(
        lookup_batches < lookups,
        "some statements looked up several tokens"
    );
    // The sessions refreshed once rotated; of the pairs, at most one won (the other, or the
    // winner's later use, is reuse, which may end the session before its twin is committed).
    for (i, token) in tokens.iter().enumerate() {
        let n = won.get(&sid_of(token)).copied().unwrap_or(0);
        if i >= 10 {
            assert_eq!(n, 1, "session {i} rotated once");
        } else {
            assert!(n <= 1, "session {i} rotated {n} times");
        }
    }
    // One live token per session that was not ended by reuse; none forked.
    let (forked,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM (SELECT session_id FROM refresh_tokens \
         WHERE used_at IS NULL AND revoked_at IS NULL GROUP BY session_id HAVING COUNT(*) > 1) f",
    )
    .fetch_one(state.pool())
    .await
    .unwrap();
    assert_eq!(forked, 0, "a session has two live tokens");
}

async fn a_failing_rotation_fails_alone(db: &TestDb) {
    let client = shared_client(db).await;
    for _ in 0..3 {
        let _ = login_new(&client).await;
    }
    let state = client.rocket().state::<rotor_server::db::Db>().unwrap();
    type Live = (String, String, String, Vec<u8>, i64);
    let live: Vec<Live> = sqlx::query_as(
        "SELECT t.jti, t.session_id, t.user_id, t.fingerprint, s.created_at \
         FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id \
         WHERE t.used_at IS NULL ORDER BY t.jti",
    )
    .fetch_all(state.pool())
    .await
    .unwrap();
    assert_eq!(live.len(), 3);
    let job = |(jti, sid, user, old_fp, started): &Live, successor: &str, fp: u8| Job {
        old_jti: jti.clone(),
        successor: TokenRow {
            jti: successor.to_owned(),
            session_id: sid.clone(),
            user_id: user.clone(),
            fingerprint: vec![fp; 32],
            issued_at: 1,
            expires_at: i64::MAX / 2,
            used_at: None,
            revoked_at: None,
            successor_jti: None,
        },
        now: 2,
        seen: Seen::default(),
        old_fingerprint: old_fp.clone(),
        session_created_at: *started,
    };
    // The middle one names as its successor a jti that exists already (the third session's
    // live token): its insert breaks the primary key, and so the batch.
    let jobs = [
        job(&live[0], "successor-a", 1),
        job(&live[1], &live[2].0, 2),
        job(&live[2], "successor-c", 3),
    ];
    let answers = group::commit_all(state.pool(), &jobs).await;
    assert!(
        matches!(answers[0], Ok(Rotation::Rotated)),
        "{:?}",
        answers[0]
    );
    assert!(answers[1].is_err(), "{:?}", answers[1]);
    assert!(
        matches!(answers[2], Ok(Rotation::Rotated)),
        "{:?}",
        answers[2]
    );
    // The failed one left nothing: its token is unused and has no successor.
    let (used, successor): (Option<i64>, Option<String>) =
        sqlx::query_as("SELECT used_at, successor_jti FROM refresh_tokens WHERE jti = $1")
            .bind(&live[1].0)
            .fetch_one(state.pool())
            .await
            .unwrap();
    assert_eq!((used, successor), (None, None));
    let (rows,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM refresh_tokens WHERE jti IN ('successor-a', 'successor-c')",
    )
    .fetch_one(state.pool())
    .await
    .unwrap();
    assert_eq!(rows, 2);
    // And the connection is usable: the next rotation of the second session commits.
    let again = group::commit_all(state.pool(), &[job(&live[1], "successor-b", 4)]).await;
    assert!(matches!(again[0], Ok(Rotation::Rotated)), "{:?}", again[0]);
}
