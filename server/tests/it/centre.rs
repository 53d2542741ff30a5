//! The session centre: `GET /sessions`, `DELETE /sessions/<id>` (another user's id is 404),
//! `POST /logout-others`, the absolute session lifetime and the per-user cap; on SQLite and
//! PostgreSQL.

use std::time::Duration;

use rocket::http::{ContentType, Header, Status};
use rocket::local::asynchronous::Client;
use serde_json::{json, Value};

use crate::common::*;

crate::both_backends!(
    sessions_are_listed_and_ended_by_their_owner,
    rotation_never_outlives_the_absolute_lifetime,
    the_oldest_sessions_end_beyond_the_cap,
);

async fn login_as(client: &Client, email: &str, ip: &str, ua: &str) -> Reply {
    let r = client
        .post("/login")
        .remote(format!("{ip}:5000").parse().unwrap())
        .header(Header::new("User-Agent", ua.to_owned()))
        .header(ContentType::JSON)
        .body(json!({"email": email, "password": PASSWORD}).to_string())
        .dispatch()
        .await;
    let r = Reply::of(r).await;
    assert_eq!(r.status, Status::Ok, "{:?}", r.body);
    r
}

async fn with_bearer(client: &Client, method: &str, path: &str, access: &str) -> Reply {
    let auth = Header::new("Authorization", format!("Bearer {access}"));
    let req = match method {
        "GET" => client.get(path.to_owned()),
        "DELETE" => client.delete(path.to_owned()),
        _ => client.post(path.to_owned()),
    };
    Reply::of(req.header(auth).dispatch().await).await
}

fn sessions(r: &Reply) -> Vec<Value> {
    assert_eq!(r.status, Status::Ok, "{:?}", r.body);
    r.body["data"].as_array().unwrap().clone()
}

async fn sessions_are_listed_and_ended_by_their_owner(db: &TestDb) {
    let client = client_with(db, |f| f.merge(("refresh_grace", 0)), false).await;
    let (_, email) = register(&client).await;
    let one = login_as(&client, &email, "10.5.0.1", "Firefox/1").await;
    tokio::time::sleep(Duration::from_millis(1_100)).await; // distinct creation seconds
    let two = login_as(&client, &email, "10.5.0.2", "Chrome/2").await;
    let long_ua = "x".repeat(1_000);
    let three = login_as(&client, &email, "10.5.0.3", &long_ua).await;

    // A refresh of the first session from elsewhere is recorded as its last refresh.
    let r = client
        .post("/refresh-token")
        .remote("10.5.0.9:5000".parse().unwrap())
        .header(Header::new("User-Agent", "Firefox/1 (moved)"))
        .header(ContentType::JSON)
        .body(json!({"refreshToken": one.refresh()}).to_string())
        .dispatch()
        .await;
    let one_r = Reply::of(r).await;
    assert_eq!(one_r.status, Status::Ok);

    let list = sessions(&with_bearer(&client, "GET", "/sessions", &three.access()).await);
    assert_eq!(list.len(), 3);
    let ids: Vec<&str> = list.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids.last().copied(),
        Some(sid_of(&one.refresh()).as_str()),
        "oldest last"
    );
    let current: Vec<&Value> = list.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["id"], sid_of(&three.refresh()));
    assert_eq!(
        current[0]["login"]["userAgent"].as_str().unwrap().len(),
        256,
        "bounded"
    );
    let first = list.last().unwrap();
    assert_eq!(first["login"]["ip"], "10.5.0.1");
    assert_eq!(first["login"]["userAgent"], "Firefox/1");
    assert_eq!(first["lastRefresh"]["ip"], "10.5.0.9");
    assert_eq!(first["lastRefresh"]["userAgent"], "Firefox/1 (moved)");
    for key in ["createdAt", "lastRefreshedAt", "expiresAt"] {
        assert!(first[key].as_i64().unwrap() > 0, "{key}");
    }

    // Another user cannot end these sessions, and cannot tell they exist.
    let (_, other_email) = register(&client).await;
    let other = login_as(&client, &other_email, "10.5.1.1", "Other/1").await;
    let two_sid = sid_of(&two.refresh());
    with_bearer(
        &client,
        "DELETE",
        &format!("/sessions/{two_sid}"),
        &other.access(),
    )
    .await
    .assert_error(404, "Not found");
    with_bearer(
        &client,
        "DELETE",
        "/sessions/no-such-session",
        &other.access(),
    )
    .await
    .assert_error(404, "Not found");
    assert_eq!(me_bearer(&client, &two.access()).await.status, Status::Ok);

    // The owner ends session two.
    let ended = with_bearer(
        &client,
        "DELETE",
        &format!("/sessions/{two_sid}"),
        &three.access(),
    )
    .await;
    assert_eq!(ended.status, Status::Ok, "{:?}", ended.body);
    refresh(&client, &two.refresh())
        .await
        .assert_error(401, "Refresh token is expired or used");
    with_bearer(
        &client,
        "DELETE",
        &format!("/sessions/{two_sid}"),
        &three.access(),
    )
    .await
    .assert_error(404, "Not found");

    // Logout-others keeps the current session only.
    let out = with_bearer(&client, "POST", "/logout-others", &three.access()).await;
    assert_eq!(out.status, Status::Ok, "{:?}", out.body);
    assert_eq!(out.body["data"]["sessionsEnded"], 1);
    refresh(&client, &one_r.refresh())
        .await
        .assert_error(401, "Refresh token is expired or used");
    let left = sessions(&with_bearer(&client, "GET", "/sessions", &three.access()).await);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["current"], true);
    // The other user was never touched.
    assert_eq!(me_bearer(&client, &other.access()).await.status, Status::Ok);
    // No access token, no list.
    Reply::of(client.get("/sessions").dispatch().await)
        .await
        .assert_error(401, "unauthorized request");
}

async fn rotation_never_outlives_the_absolute_lifetime(db: &TestDb) {
    let client = client_with(
        db,
        |f| {
            f.merge(("session_max_lifetime", 3))
                .merge(("refresh_grace", 0))
        },
        false,
    )
    .await;
    let login = login_new(&client).await;
    let started = rotor_server::tokens::now();
    let r = refresh(&client, &login.refresh()).await;
    assert_eq!(r.status, Status::Ok);
    let exp = token_exp(&r.refresh());
    assert!(
        exp <= started + 3,
        "the successor expires with the session: {exp} vs {started}"
    );
    tokio::time::sleep(Duration::from_millis(3_200)).await;
    // Within the 30 s leeway the token still verifies; the session's lifetime is over.
    refresh(&client, &r.refresh())
        .await
        .assert_error(401, "Refresh token is expired or used");
    me_bearer(&client, &r.access())
        .await
        .assert_error(401, "Invalid access token");
}

fn token_exp(token: &str) -> u64 {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice::<Value>(&bytes).unwrap()["exp"]
        .as_u64()
        .unwrap()
}

async fn the_oldest_sessions_end_beyond_the_cap(db: &TestDb) {
    let client = client_with(db, |f| f.merge(("max_sessions_per_user", 2)), false).await;
    let (_, email) = register(&client).await;
    let first = login_as(&client, &email, "10.6.0.1", "a").await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let second = login_as(&client, &email, "10.6.0.1", "b").await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let third = login_as(&client, &email, "10.6.0.1", "c").await;
    refresh(&client, &first.refresh())
        .await
        .assert_error(401, "Refresh token is expired or used");
    let list = sessions(&with_bearer(&client, "GET", "/sessions", &third.access()).await);
    let ids: Vec<&str> = list.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [sid_of(&third.refresh()), sid_of(&second.refresh())]);
}
