//! `GET /metrics` after a scripted flow: exact counter values; off by default; on a separate
//! listener when given an address. On SQLite and PostgreSQL.

use std::time::Duration;

use rocket::http::{Header, Status};
use serde_json::json;

use crate::common::*;

crate::both_backends!(counters_after_a_scripted_flow);

/// The value of the sample `name{labels}` in a text exposition, 0 if absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| {
            l.strip_prefix(series)
                .and_then(|rest| rest.strip_prefix(' '))
        })
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

async fn counters_after_a_scripted_flow(db: &TestDb) {
    let client = client_with(
        db,
        |f| {
            f.merge(("metrics", "on"))
                .merge(("refresh_grace", 5))
                .merge(("rate_refresh_per_ip", 5))
        },
        false,
    )
    .await;
    let (name, _) = register(&client).await;
    let login = |password: &str| {
        post_json(
            &client,
            "/login",
            json!({"username": name.clone(), "password": password}),
        )
    };
    let one = login(PASSWORD).await; // login success 1, session started 1
    assert_eq!(one.status, Status::Ok);
    login("wrong password")
        .await
        .assert_error(401, "Invalid user credentials");
    let r2 = refresh(&client, &one.refresh()).await; // rotated 1
    assert_eq!(r2.status, Status::Ok);
    assert_eq!(refresh(&client, &one.refresh()).await.status, Status::Ok); // duplicate 1
    let r3 = refresh(&client, &r2.refresh()).await; // rotated 2
    assert_eq!(r3.status, Status::Ok);
    // The first token again, its successor used: reuse, the session revoked.
    refresh(&client, &one.refresh())
        .await
        .assert_error(401, "Refresh token is expired or used"); // reuse_revoked 1
    refresh(&client, &r3.refresh())
        .await
        .assert_error(401, "Refresh token is expired or used"); // session_ended 1
                                                                // That was the fifth refresh from this address: the sixth is over the limit.
    refresh(&client, "not.a.token")
        .await
        .assert_error(429, "Too many requests, retry later"); // rate_limited 1
    let two = login(PASSWORD).await; // login success 2, session started 2
    let out = Reply::of(
        client
            .post("/logout")
            .header(Header::new(
                "Authorization",
                format!("Bearer {}", two.access()),
            ))
            .dispatch()
            .await,
    )
    .await;
    assert_eq!(out.status, Status::Ok); // sessions ended {logout} 1

    let scrape = client.get("/metrics").dispatch().await;
    assert_eq!(scrape.status(), Status::Ok);
    assert_eq!(
        scrape.content_type().map(|c| c.to_string()).as_deref(),
        Some("text/plain; version=0.0.4")
    );
    let text = scrape.into_string().await.unwrap();
    for (series, want) in [
        (r#"rotor_refresh_total{outcome="rotated"}"#, 2.0),
        (
            r#"rotor_refresh_total{outcome="duplicate_same_successor"}"#,
            1.0,
        ),
        (r#"rotor_refresh_total{outcome="reuse_revoked"}"#, 1.0),
        (r#"rotor_refresh_total{outcome="session_ended"}"#, 1.0),
        (r#"rotor_refresh_total{outcome="rate_limited"}"#, 1.0),
        (r#"rotor_refresh_total{outcome="invalid"}"#, 0.0),
        (r#"rotor_login_total{outcome="success"}"#, 2.0),
        (r#"rotor_login_total{outcome="invalid_credentials"}"#, 1.0),
        (r#"rotor_rate_limited_total{limit="refresh_per_ip"}"#, 1.0),
        ("rotor_sessions_started_total", 2.0),
        (
            r#"rotor_sessions_ended_total{reason="refresh_token_reuse"}"#,
            1.0,
        ),
        (r#"rotor_sessions_ended_total{reason="logout"}"#, 1.0),
        // Five refreshes reached the database's compare-and-set (two rotations, the duplicate,
        // the reuse, the ended session), one after another, in groups of one. The two
        // rotations won at once, without a look-up; the other three rotated nothing, looked
        // their token up, and then tried the compare-and-set again: eight groups of one.
        ("rotor_rotation_groups_total", 8.0),
        ("rotor_rotation_grouped_total", 8.0),
        // The three looked their token up, one after another (the logout is by access token:
        // no look-up).
        ("rotor_refresh_lookup_batches_total", 3.0),
        ("rotor_refresh_lookups_total", 3.0),
        (
            r#"rotor_http_request_duration_seconds_count{route="refresh_token"}"#,
            6.0,
        ),
        (
            r#"rotor_http_request_duration_seconds_count{route="login"}"#,
            3.0,
        ),
    ] {
        assert_eq!(sample(&text, series), want, "{series} in\n{text}");
    }
    assert!(
        text.contains(r#"rotor_db_pool_connections{state="idle"}"#),
        "{text}"
    );
    // SQLite's background checkpoints: after the last group commit the task copies the WAL
    // within its interval (10 ms), then rests; PostgreSQL has no such task. The count is read
    // before and after the scrape, which shows one between the two.
    let state = client.rocket().state::<rotor_server::db::Db>().unwrap();
    let runs = || state.checkpoints().map_or(0, |task| task.stats().0);
    if state.checkpoints().is_some() {
        let start = std::time::Instant::now();
        while runs() == 0 && start.elapsed() < Duration::from_secs(5) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(runs() >= 1, "a checkpoint after the rotations");
    }
    let before = runs();
    let again = client.get("/metrics").dispatch().await;
    let text = again.into_string().await.unwrap();
    let after = runs();
    let shown = sample(&text, "rotor_sqlite_checkpoints_total");
    #[allow(clippy::cast_precision_loss)] // a handful of checkpoints
    let (before, after) = (before as f64, after as f64);
    assert!(
        before <= shown && shown <= after,
        "{before} <= {shown} <= {after}"
    );
    assert_eq!(sample(&text, "rotor_sqlite_checkpoints_failed_total"), 0.0);

    // Off by default: no route.
    let plain = client_with(db, |f| f, false).await;
    assert_eq!(
        plain.get("/metrics").dispatch().await.status(),
        Status::NotFound
    );
}

#[rocket::async_test]
async fn a_separate_listener_serves_the_metrics_off_the_service_port() {
    let db = TestDb::new(Kind::Sqlite, "metrics::separate")
        .await
        .unwrap();
    let port = free_port();
    let client = rocket::local::asynchronous::Client::untracked(rotor_server::custom(
        figment(&db.url).merge(("metrics", format!("127.0.0.1:{port}"))),
    ))
    .await
    .unwrap();
    let _ = login_new(&client).await;
    // Not on the service's own routes.
    assert_eq!(
        client.get("/metrics").dispatch().await.status(),
        Status::NotFound
    );
    let http = reqwest::Client::new();
    let mut text = None;
    for _ in 0..100 {
        if let Ok(r) = http
            .get(format!("http://127.0.0.1:{port}/metrics"))
            .send()
            .await
        {
            text = Some(r.text().await.unwrap());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let text = text.expect("the metrics listener answers");
    assert_eq!(
        sample(&text, r#"rotor_login_total{outcome="success"}"#),
        1.0,
        "{text}"
    );
}
