//! The README's "mounting in an existing Rocket app" example, built and exercised.

use rocket::http::{Header, Status};
use rocket::local::asynchronous::Client;
use rocket::{get, routes};
use rotor_server::guards::AuthUser;
use serde_json::json;

use crate::common::*;

#[get("/dashboard")]
fn dashboard(auth: AuthUser) -> String {
    format!("hello {}", auth.user.username)
}

#[rocket::async_test]
async fn routes_mount_under_a_base_path() {
    let db = TestDb::new(Kind::Sqlite, "mount").await.unwrap();
    let rocket =
        rocket::custom(figment(&db.url).merge(("refresh_cookie_path", "/auth/refresh-token")))
            .attach(rotor_server::config::stage())
            .attach(rotor_server::db::stage())
            .attach(rotor_server::cleanup::stage())
            .mount("/auth", rotor_server::routes())
            .register("/", rotor_server::error::catchers())
            .mount("/", routes![dashboard]);
    let client = Client::untracked(rocket).await.unwrap();

    let r = post_json(
        &client,
        "/auth/register",
        json!({"username": "mia", "email": "mia@example.com", "password": PASSWORD}),
    )
    .await;
    assert_eq!(r.status, Status::Created);
    let login = post_json(
        &client,
        "/auth/login",
        json!({"username": "mia", "password": PASSWORD}),
    )
    .await;
    assert_eq!(login.status, Status::Ok);
    assert!(login
        .cookie("refreshToken")
        .unwrap()
        .contains("Path=/auth/refresh-token"));
    let p2 = post_json(
        &client,
        "/auth/refresh-token",
        json!({"refreshToken": login.refresh()}),
    )
    .await;
    assert_eq!(p2.status, Status::Ok);

    let hello = client
        .get("/dashboard")
        .header(Header::new(
            "Authorization",
            format!("Bearer {}", p2.access()),
        ))
        .dispatch()
        .await;
    assert_eq!(hello.status(), Status::Ok);
    assert_eq!(hello.into_string().await.unwrap(), "hello mia");
    // A bare guard's error reaches the catcher with its own message.
    Reply::of(client.get("/dashboard").dispatch().await)
        .await
        .assert_error(401, "unauthorized request");
    Reply::of(
        client
            .get("/dashboard")
            .header(Header::new("Authorization", "Bearer x.y.z"))
            .dispatch()
            .await,
    )
    .await
    .assert_error(401, "Invalid access token");
}
