//! Browser-facing rules at the HTTP level: CORS for listed origins only, the CSRF defence on
//! state-changing routes, logout with what a browser sends after the access cookie expired,
//! stale refresh tokens on the logout routes, and the base path. Each request carries only the
//! cookies and headers a browser would send to that path (untracked client). The same rules
//! in a real browser: `server/tests/browser/`.

use rocket::http::{ContentType, Cookie, Header, Status};
use rocket::local::asynchronous::Client;
use serde_json::json;

use crate::common::*;

crate::both_backends!(
    logout_with_only_the_refresh_cookie_ends_the_session,
    a_used_refresh_token_on_logout_is_reuse,
);

const FRONT: &str = "http://localhost:5173";

async fn with_front_end(db: &TestDb) -> Client {
    client_with(db, |f| f.merge(("cors_origins", vec![FRONT])), false).await
}

fn header<'a>(
    res: &'a rocket::local::asynchronous::LocalResponse<'_>,
    name: &str,
) -> Option<&'a str> {
    res.headers().get_one(name)
}

#[rocket::async_test]
async fn cors_answers_listed_origins_only() {
    let db = TestDb::new(Kind::Sqlite, "web::cors").await.unwrap();
    let client = with_front_end(&db).await;
    for path in ["/refresh-token", "/login", "/logout", "/me", "/anything"] {
        let pre = client
            .options(path)
            .header(Header::new("Origin", FRONT))
            .header(Header::new("Access-Control-Request-Method", "POST"))
            .header(Header::new(
                "Access-Control-Request-Headers",
                "content-type,authorization",
            ))
            .dispatch()
            .await;
        assert_eq!(pre.status(), Status::NoContent, "{path}");
        assert_eq!(header(&pre, "Access-Control-Allow-Origin"), Some(FRONT));
        assert_eq!(
            header(&pre, "Access-Control-Allow-Credentials"),
            Some("true")
        );
        let methods = header(&pre, "Access-Control-Allow-Methods").unwrap();
        assert!(
            methods.contains("POST") && methods.contains("GET"),
            "{methods}"
        );
        let headers = header(&pre, "Access-Control-Allow-Headers").unwrap();
        assert!(headers.contains("Content-Type") && headers.contains("Authorization"));
        assert!(pre.headers().get("Vary").any(|v| v == "Origin"));
    }
    let actual = client
        .get("/health")
        .header(Header::new("Origin", FRONT))
        .dispatch()
        .await;
    assert_eq!(header(&actual, "Access-Control-Allow-Origin"), Some(FRONT));
    assert_eq!(
        header(&actual, "Access-Control-Expose-Headers"),
        Some("Retry-After")
    );
    assert_eq!(
        header(&actual, "Access-Control-Allow-Credentials"),
        Some("true")
    );
    assert!(actual.headers().get("Vary").any(|v| v == "Origin"));

    for stranger in ["http://localhost:5174", "https://localhost:5173", "null"] {
        let pre = client
            .options("/refresh-token")
            .header(Header::new("Origin", stranger))
            .header(Header::new("Access-Control-Request-Method", "POST"))
            .dispatch()
            .await;
        for name in [
            "Access-Control-Allow-Origin",
            "Access-Control-Allow-Credentials",
            "Access-Control-Allow-Methods",
        ] {
            assert_eq!(header(&pre, name), None, "{name} for {stranger}");
        }
        let actual = client
            .get("/health")
            .header(Header::new("Origin", stranger))
            .dispatch()
            .await;
        assert_eq!(header(&actual, "Access-Control-Allow-Origin"), None);
    }
    // No list, no CORS at all.
    let plain = crate::common::client(&db).await;
    let pre = plain
        .options("/login")
        .header(Header::new("Origin", FRONT))
        .header(Header::new("Access-Control-Request-Method", "POST"))
        .dispatch()
        .await;
    assert_eq!(header(&pre, "Access-Control-Allow-Origin"), None);
}

#[rocket::async_test]
async fn cross_site_requests_are_refused() {
    let db = TestDb::new(Kind::Sqlite, "web::csrf").await.unwrap();
    let client = with_front_end(&db).await;
    let attacker = login_new(&client).await;
    let attacker_token = attacker.refresh();
    let (name, email) = register(&client).await;

    let refused = |r: &Reply| {
        r.assert_error(403, "Cross-site request refused");
        assert!(
            r.set_cookies.is_empty(),
            "no session planted: {:?}",
            r.set_cookies
        );
    };
    // A form on another site posting the attacker's refresh token or credentials.
    for (site, origin) in [
        (Some("cross-site"), Some("http://127.0.0.1:9999")),
        (Some("cross-site"), None),
        (None, Some("http://127.0.0.1:9999")),
        (Some("same-site"), Some("http://localhost:6000")), // same site, unlisted origin
        (None, Some("null")),
    ] {
        fn with<'c>(
            mut req: rocket::local::asynchronous::LocalRequest<'c>,
            site: Option<&'static str>,
            origin: Option<&'static str>,
        ) -> rocket::local::asynchronous::LocalRequest<'c> {
            if let Some(s) = site {
                req = req.header(Header::new("Sec-Fetch-Site", s));
            }
            if let Some(o) = origin {
                req = req.header(Header::new("Origin", o));
            }
            req
        }
        let form = with(client.post("/refresh-token"), site, origin)
            .header(ContentType::Form)
            .body(format!("refreshToken={attacker_token}"))
            .dispatch()
            .await;
        refused(&Reply::of(form).await);
        let json_body = with(client.post("/login"), site, origin)
            .header(ContentType::JSON)
            .body(json!({"username": name, "password": PASSWORD}).to_string())
            .dispatch()
            .await;
        refused(&Reply::of(json_body).await);
        for path in ["/register", "/logout", "/logout-all"] {
            let r = with(client.post(path), site, origin)
                .header(ContentType::JSON)
                .body("{}")
                .dispatch()
                .await;
            refused(&Reply::of(r).await);
        }
    }
    // The attacker's token was never used by any of those requests.
    assert_eq!(refresh(&client, &attacker_token).await.status, Status::Ok);

    // Allowed: the listed front end (same site or not), the service's own origin, and clients
    // that send neither header.
    let listed = client
        .post("/login")
        .header(Header::new("Origin", FRONT))
        .header(Header::new("Sec-Fetch-Site", "same-site"))
        .header(ContentType::JSON)
        .body(json!({"email": email, "password": PASSWORD}).to_string())
        .dispatch()
        .await;
    assert_eq!(listed.status(), Status::Ok);
    let own = client
        .post("/login")
        .header(Header::new("Host", "api.example.com"))
        .header(Header::new("Origin", "https://api.example.com"))
        .header(Header::new("Sec-Fetch-Site", "same-origin"))
        .header(ContentType::JSON)
        .body(json!({"email": email, "password": PASSWORD}).to_string())
        .dispatch()
        .await;
    assert_eq!(own.status(), Status::Ok);
    let curl = post_json(
        &client,
        "/login",
        json!({"email": email, "password": PASSWORD}),
    )
    .await;
    assert_eq!(curl.status, Status::Ok);
}

/// What a browser sends to `/logout` once the access cookie has expired (and so left the jar):
/// the refresh cookie alone. The session ends and both cookies are removed.
async fn logout_with_only_the_refresh_cookie_ends_the_session(db: &TestDb) {
    let client = client(db).await;
    let login = login_new(&client).await;
    let out = Reply::of(
        client
            .post("/logout")
            .cookie(Cookie::new("refreshToken", login.refresh()))
            .dispatch()
            .await,
    )
    .await;
    assert_eq!(out.status, Status::Ok, "{:?}", out.body);
    for name in ["accessToken", "refreshToken"] {
        let c = out
            .cookie(name)
            .expect("removal cookie for a cookie the request lacked");
        for attr in [
            "Max-Age=0",
            "Path=/",
            "HttpOnly",
            "Secure",
            "SameSite=Strict",
        ] {
            assert!(c.split("; ").any(|a| a == attr), "{attr} in {c}");
        }
    }
    refresh(&client, &login.refresh())
        .await
        .assert_error(401, "Refresh token is expired or used");
    me_bearer(&client, &login.access())
        .await
        .assert_error(401, "Invalid access token");
}

/// A stale refresh token authorises no logout: a used one is reuse and ends its own session
/// (RFC 9700 §4.14.2), but never another session of the user.
async fn a_used_refresh_token_on_logout_is_reuse(db: &TestDb) {
    let client = client_with(db, |f| f.merge(("refresh_grace", 0)), false).await;
    let (_, email) = register(&client).await;
    let body = json!({"email": email, "password": PASSWORD});
    let one = post_json(&client, "/login", body.clone()).await;
    let other = post_json(&client, "/login", body).await;
    let r2 = refresh(&client, &one.refresh()).await;
    assert_eq!(r2.status, Status::Ok);
    for path in ["/logout-all", "/logout"] {
        let r = Reply::of(
            client
                .post(path)
                .cookie(Cookie::new("refreshToken", one.refresh()))
                .dispatch()
                .await,
        )
        .await;
        r.assert_error(401, "Refresh token is expired or used");
    }
    // Its own family is revoked (reuse); the user's other session lives on.
    refresh(&client, &r2.refresh())
        .await
        .assert_error(401, "Refresh token is expired or used");
    assert_eq!(me_bearer(&client, &other.access()).await.status, Status::Ok);
    assert_eq!(refresh(&client, &other.refresh()).await.status, Status::Ok);
}

#[rocket::async_test]
async fn base_path_moves_routes_and_cookies() {
    let db = TestDb::new(Kind::Sqlite, "web::base_path").await.unwrap();
    let client = client_with(&db, |f| f.merge(("base_path", "/api/v1/users/")), false).await;
    let base = "/api/v1/users";
    let reg = post_json(
        &client,
        &format!("{base}/register"),
        json!({"username": "basil", "email": "basil@example.com", "password": PASSWORD}),
    )
    .await;
    assert_eq!(reg.status, Status::Created, "{:?}", reg.body);
    let login = post_json(
        &client,
        &format!("{base}/login"),
        json!({"username": "basil", "password": PASSWORD}),
    )
    .await;
    assert_eq!(login.status, Status::Ok);
    let rt = login.cookie("refreshToken").unwrap();
    assert!(rt.split("; ").any(|a| a == "Path=/api/v1/users"), "{rt}");
    let at = login.cookie("accessToken").unwrap();
    assert!(at.split("; ").any(|a| a == "Path=/"), "{at}");
    let r = post_json(
        &client,
        &format!("{base}/refresh-token"),
        json!({"refreshToken": login.refresh()}),
    )
    .await;
    assert_eq!(r.status, Status::Ok);
    let root = post_json(
        &client,
        "/login",
        json!({"username": "basil", "password": PASSWORD}),
    )
    .await;
    root.assert_error(404, "Not found");
}

#[rocket::async_test]
async fn the_browser_helper_is_served() {
    let db = TestDb::new(Kind::Sqlite, "web::helper").await.unwrap();
    let client = client(&db).await;
    let js = client.get("/rotor.js").dispatch().await;
    assert_eq!(js.status(), Status::Ok);
    assert_eq!(js.content_type(), Some(ContentType::JavaScript));
    let text = js.into_string().await.unwrap();
    assert!(
        text.contains("export function createClient"),
        "the module's entry point"
    );
    let dts = client.get("/rotor.d.ts").dispatch().await;
    assert_eq!(dts.status(), Status::Ok);
    assert!(dts.into_string().await.unwrap().contains("createClient"));
}
