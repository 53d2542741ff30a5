//! Abuse resistance at the HTTP level: the per-IP and per-account login limits (429 with
//! `Retry-After`, and the budget coming back), the register and refresh limits, the trusted-proxy
//! rule both ways, the hold before a 429 (bounded), and the bounded password-hashing queue (503
//! at once when full); on SQLite and PostgreSQL.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rocket::http::{ContentType, Header, Status};
use rocket::local::asynchronous::Client;
use serde_json::{json, Value};

use crate::common::*;

crate::both_backends!(
    login_limits_per_ip_and_per_account,
    register_and_refresh_limits_per_ip,
    forwarding_header_only_from_trusted_proxies,
    a_full_hashing_queue_answers_503_at_once,
    a_refusal_is_held_and_the_hold_is_bounded,
    a_nul_in_a_login_name_is_a_400,
);

fn addr(ip: &str) -> SocketAddr {
    format!("{ip}:40000").parse().unwrap()
}

async fn post_from(
    client: &Client,
    from: &str,
    xff: Option<&str>,
    path: &str,
    body: Value,
) -> Reply {
    let mut req = client
        .post(path.to_owned())
        .remote(addr(from))
        .header(ContentType::JSON)
        .body(body.to_string());
    if let Some(x) = xff {
        req = req.header(Header::new("X-Forwarded-For", x.to_owned()));
    }
    Reply::of(req.dispatch().await).await
}

fn wrong(account: &str) -> Value {
    json!({"username": account, "password": "not the password"})
}

async fn login_limits_per_ip_and_per_account(db: &TestDb) {
    let client = client_with(
        db,
        |f| {
            f.merge(("rate_login_per_ip", 3))
                .merge(("rate_login_per_account", 2))
        },
        false,
    )
    .await;
    let (victim, _) = register(&client).await;
    // Two guesses for the victim's account: 401; the third is over the account's limit.
    for _ in 0..2 {
        post_from(&client, "10.1.0.1", None, "/login", wrong(&victim))
            .await
            .assert_error(401, "Invalid user credentials");
    }
    let over = post_from(&client, "10.1.0.1", None, "/login", wrong(&victim)).await;
    over.assert_error(429, "Too many requests, retry later");
    let secs: u64 = over.retry_after.as_deref().unwrap().parse().unwrap();
    assert!((1..=61).contains(&secs), "Retry-After {secs}");
    // Another address cannot guess that account either...
    post_from(&client, "10.1.0.2", None, "/login", wrong(&victim))
        .await
        .assert_error(429, "Too many requests, retry later");
    // ...while the first address has used its 3 attempts: any account is refused from it.
    post_from(&client, "10.1.0.1", None, "/login", wrong("someoneelse"))
        .await
        .assert_error(429, "Too many requests, retry later");
    // A third address and another account: untouched budgets.
    post_from(&client, "10.1.0.3", None, "/login", wrong("someoneelse"))
        .await
        .assert_error(401, "Invalid user credentials");

    // The budget comes back at the configured rate: 60 a minute is one a second.
    let client = client_with(db, |f| f.merge(("rate_login_per_ip", 60)), false).await;
    let mut refused = None;
    for i in 0..120 {
        let r = post_from(
            &client,
            "10.2.0.1",
            None,
            "/login",
            wrong(&format!("acct{i}")),
        )
        .await;
        if r.status == Status::TooManyRequests {
            refused = Some(i);
            break;
        }
    }
    // 60 at once, then about one more for each second the loop took.
    assert!(
        refused.is_some_and(|i| i >= 60),
        "refused after the burst of 60: {refused:?}"
    );
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    post_from(&client, "10.2.0.1", None, "/login", wrong("acct-late"))
        .await
        .assert_error(401, "Invalid user credentials");
}

async fn register_and_refresh_limits_per_ip(db: &TestDb) {
    let client = client_with(
        db,
        |f| {
            f.merge(("rate_register_per_ip", 1))
                .merge(("rate_refresh_per_ip", 1))
        },
        false,
    )
    .await;
    let user =
        |n: &str| json!({"username": n, "email": format!("{n}@example.com"), "password": PASSWORD});
    assert_eq!(
        post_from(&client, "10.3.0.1", None, "/register", user("reg1"))
            .await
            .status,
        Status::Created
    );
    post_from(&client, "10.3.0.1", None, "/register", user("reg2"))
        .await
        .assert_error(429, "Too many requests, retry later");
    assert_eq!(
        post_from(&client, "10.3.0.2", None, "/register", user("reg3"))
            .await
            .status,
        Status::Created
    );

    let login = post_from(
        &client,
        "10.3.0.1",
        None,
        "/login",
        json!({"username": "reg1", "password": PASSWORD}),
    )
    .await;
    assert_eq!(login.status, Status::Ok);
    let r = post_from(
        &client,
        "10.3.0.1",
        None,
        "/refresh-token",
        json!({"refreshToken": login.refresh()}),
    )
    .await;
    assert_eq!(r.status, Status::Ok);
    let again = post_from(
        &client,
        "10.3.0.1",
        None,
        "/refresh-token",
        json!({"refreshToken": r.refresh()}),
    )
    .await;
    again.assert_error(429, "Too many requests, retry later");
    assert!(again.retry_after.is_some());
    // Refused before the token was looked at: it still works from another address.
    assert_eq!(
        post_from(
            &client,
            "10.3.0.2",
            None,
            "/refresh-token",
            json!({"refreshToken": r.refresh()})
        )
        .await
        .status,
        Status::Ok
    );
}

async fn forwarding_header_only_from_trusted_proxies(db: &TestDb) {
    let client = client_with(
        db,
        |f| {
            f.merge(("rate_login_per_ip", 1))
                .merge(("rate_login_per_account", 0))
                .merge(("trusted_proxies", vec!["10.9.0.0/16"]))
        },
        false,
    )
    .await;
    // Behind the trusted proxy, each client has its own budget.
    for client_ip in ["198.51.100.1", "198.51.100.2"] {
        post_from(&client, "10.9.0.1", Some(client_ip), "/login", wrong("x"))
            .await
            .assert_error(401, "Invalid user credentials");
    }
    post_from(
        &client,
        "10.9.0.1",
        Some("198.51.100.1"),
        "/login",
        wrong("x"),
    )
    .await
    .assert_error(429, "Too many requests, retry later");
    // A client spoofing the header from outside the proxy range is limited by its own address.
    post_from(
        &client,
        "203.0.113.5",
        Some("198.51.100.50"),
        "/login",
        wrong("x"),
    )
    .await
    .assert_error(401, "Invalid user credentials");
    post_from(
        &client,
        "203.0.113.5",
        Some("198.51.100.51"),
        "/login",
        wrong("x"),
    )
    .await
    .assert_error(429, "Too many requests, retry later");
}

async fn a_full_hashing_queue_answers_503_at_once(db: &TestDb) {
    // One slot, no queue, and a hash that takes a while (Argon2id, 8 MiB, 10 passes: about two
    // seconds in a debug build, so that a 503 delayed by a loaded machine, e.g. the browser
    // suite running beside this test, still comes well before it; with 2 passes a 503 once
    // took 512 ms against a 484 ms hash). Known accounts: each attempt is a full hash.
    let client = client_with(
        db,
        |f| {
            f.merge(("password_concurrency", 1))
                .merge(("password_queue", 0))
                .merge(("rate_login_per_ip", 0))
                .merge(("rate_login_per_account", 0))
                .merge(("password_memory_kib", 8_192))
                .merge(("password_iterations", 10))
        },
        false,
    )
    .await;
    let (name, _) = register(&client).await;
    let client = Arc::new(client);
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let (client, name) = (Arc::clone(&client), name.clone());
            tokio::spawn(async move {
                let started = Instant::now();
                let r = post_from(&client, "10.4.0.1", None, "/login", wrong(&name)).await;
                (r, started.elapsed())
            })
        })
        .collect();
    let mut busy = Vec::new();
    let mut hashed = Vec::new();
    for t in tasks {
        let (r, took) = t.await.unwrap();
        match r.status.code {
            503 => {
                assert_eq!(r.message(), "Service temporarily unavailable, retry later");
                assert!(r.retry_after.is_some());
                busy.push(took);
            }
            401 => hashed.push(took),
            other => panic!("unexpected {other}: {:?}", r.body),
        }
    }
    assert!(
        !busy.is_empty() && !hashed.is_empty(),
        "busy {busy:?} hashed {hashed:?}"
    );
    let slowest_busy = busy.iter().max().unwrap();
    let fastest_hash = hashed.iter().min().unwrap();
    assert!(
        slowest_busy < fastest_hash,
        "a 503 comes before any hash finishes: busy {busy:?}, hashed {hashed:?}"
    );
}

async fn a_refusal_is_held_and_the_hold_is_bounded(db: &TestDb) {
    // One attempt a minute per address, a 2 s hold, and room to hold one request.
    let client = client_with(
        db,
        |f| {
            f.merge(("rate_login_per_ip", 1))
                .merge(("rate_login_per_account", 0))
                .merge(("rate_limit_delay", 2))
                .merge(("rate_limit_held", 1))
        },
        false,
    )
    .await;
    let client = Arc::new(client);
    post_from(&client, "10.6.0.1", None, "/login", wrong("held1"))
        .await
        .assert_error(401, "Invalid user credentials");
    let held = {
        let client = Arc::clone(&client);
        tokio::spawn(async move {
            let started = Instant::now();
            let r = post_from(&client, "10.6.0.1", None, "/login", wrong("held2")).await;
            (r, started.elapsed())
        })
    };
    // While that one is held, the only place is taken: the next refusal is answered at once.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    let at_once = post_from(&client, "10.6.0.1", None, "/login", wrong("held3")).await;
    let quick = started.elapsed();
    at_once.assert_error(429, "Too many requests, retry later");
    assert!(quick < Duration::from_secs(1), "not held: {quick:?}");
    let (r, took) = held.await.unwrap();
    r.assert_error(429, "Too many requests, retry later");
    assert!(
        took >= Duration::from_secs(2),
        "held for the delay: {took:?}"
    );
    // Its Retry-After counts from the answer: what is left of the minute after the hold.
    let left: u64 = r.retry_after.as_deref().unwrap().parse().unwrap();
    let full: u64 = at_once.retry_after.as_deref().unwrap().parse().unwrap();
    assert!(
        (1..=59).contains(&left) && left < full,
        "Retry-After held {left}, at once {full}"
    );
    // The hold is over: its place is free again.
    let started = Instant::now();
    post_from(&client, "10.6.0.1", None, "/login", wrong("held4"))
        .await
        .assert_error(429, "Too many requests, retry later");
    assert!(started.elapsed() >= Duration::from_secs(2));
}

/// On PostgreSQL a NUL in a text parameter is a driver error (a 500 before); it never reaches
/// the database now.
async fn a_nul_in_a_login_name_is_a_400(db: &TestDb) {
    let client = client(db).await;
    let login = post_json(
        &client,
        "/login",
        json!({"username": "ada\u{0}", "password": PASSWORD}),
    )
    .await;
    login.assert_error(400, "username or email is not valid");
    let login = post_json(
        &client,
        "/login",
        json!({"email": "ada\u{0}@example.com", "password": PASSWORD}),
    )
    .await;
    login.assert_error(400, "username or email is not valid");
    let reg = post_json(
        &client,
        "/register",
        json!({"username": "ada", "email": "ada\u{0}@example.com", "password": PASSWORD}),
    )
    .await;
    reg.assert_error(400, "Email is not valid");
    let owner = login_new(&client).await;
    let del = Reply::of(
        client
            .delete("/sessions/%00")
            .header(Header::new(
                "Authorization",
                format!("Bearer {}", owner.access()),
            ))
            .dispatch()
            .await,
    )
    .await;
    del.assert_error(404, "Not found");
}

#[cfg(unix)]
#[rocket::async_test]
async fn the_sqlite_files_are_private_to_their_owner() {
    use std::os::unix::fs::PermissionsExt;
    let db = TestDb::new(Kind::Sqlite, "abuse::sqlite_files_private")
        .await
        .unwrap();
    let client = client(&db).await;
    let _ = login_new(&client).await; // some writes, so the WAL exists
    let path = db.sqlite_path();
    let mut seen = 0;
    for suffix in ["", "-wal", "-shm"] {
        let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
        if let Ok(meta) = std::fs::metadata(&file) {
            seen += 1;
            assert_eq!(
                meta.permissions().mode() & 0o777,
                0o600,
                "{}",
                file.display()
            );
        }
    }
    assert!(seen >= 2, "the database and its WAL exist");
}
