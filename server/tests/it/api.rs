//! Every route and status of the contract, cookie attributes, body and cookie sources, and the
//! access-token guard; on SQLite and on PostgreSQL.

use rocket::http::{ContentType, Cookie, Header, Status};
use rotor_core::{sign, Claims, Key};
use serde::Serialize;
use serde_json::json;

use crate::common::*;

crate::both_backends!(
    cookie_flow_register_login_me_refresh_logout,
    refresh_token_from_json_and_form_bodies,
    refresh_token_problems_are_401,
    malformed_and_oversized_requests,
    register_and_login_rules,
    me_guard_with_cookie_and_bearer,
    sessions_are_independent_and_logout_all_ends_them,
    health_and_unknown_routes,
);

/// The service's own claims, for forging tokens with the test secrets.
#[derive(Serialize)]
struct Forged<'a> {
    iss: &'a str,
    sub: &'a str,
    sid: &'a str,
    jti: &'a str,
    iat: u64,
    exp: u64,
}

fn kid(secret: &str) -> String {
    rotor_server::keys::derived_kid(secret.as_bytes())
}

fn forge(secret: &str, claims: &Forged<'_>) -> String {
    let key = Key::with_kid(secret.as_bytes(), &kid(secret)).unwrap();
    let mut buf = [0u8; 1024];
    sign(&key, claims, &mut buf).unwrap().to_owned()
}

fn now() -> u64 {
    rotor_server::tokens::now()
}

fn b64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

/// `alg: none` with the payload of a real token and an empty signature (RFC 8725 §2.1).
fn alg_none(token: &str) -> String {
    let payload = token.split('.').nth(1).unwrap();
    format!("{}.{payload}.", b64(r#"{"alg":"none","typ":"JWT"}"#))
}

/// Flips one character of the signature.
fn tampered(token: &str) -> String {
    let mut t = token.to_owned();
    let last = t.pop().unwrap();
    t.push(if last == 'A' { 'B' } else { 'A' });
    t
}

async fn cookie_flow_register_login_me_refresh_logout(db: &TestDb) {
    let client = client_with(db, |f| f, true).await;
    let r = post_json(
        &client,
        "/register",
        json!({"username": "Alice", "email": "Alice@Example.com", "password": PASSWORD}),
    )
    .await;
    assert_eq!(r.status, Status::Created);
    assert_eq!(r.body["statusCode"], 201);
    assert_eq!(r.body["success"], true);
    assert_eq!(r.body["message"], "User registered Successfully");
    assert_eq!(r.body["data"]["username"], "alice");
    assert_eq!(r.body["data"]["email"], "alice@example.com");
    assert!(r.body["data"].get("password_hash").is_none());
    assert!(!r.body.to_string().contains(PASSWORD));

    let dup = post_json(
        &client,
        "/register",
        json!({"username": "alice", "email": "other@example.com", "password": PASSWORD}),
    )
    .await;
    dup.assert_error(409, "User with email or username already exists");

    let login = post_json(
        &client,
        "/login",
        json!({"username": "ALICE", "password": PASSWORD}),
    )
    .await;
    assert_eq!(login.status, Status::Ok);
    assert_eq!(login.message(), "User logged In Successfully");
    assert_eq!(login.body["data"]["user"]["username"], "alice");
    let access = login.cookie("accessToken").expect("access cookie");
    let refresh_cookie = login.cookie("refreshToken").expect("refresh cookie");
    assert!(access.starts_with(&format!("accessToken={};", login.access())));
    assert!(refresh_cookie.starts_with(&format!("refreshToken={};", login.refresh())));
    for attr in [
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/",
        "Max-Age=900",
    ] {
        assert!(access.split("; ").any(|a| a == attr), "{attr} in {access}");
    }
    for attr in [
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/",
        "Max-Age=864000",
    ] {
        assert!(
            refresh_cookie.split("; ").any(|a| a == attr),
            "{attr} in {refresh_cookie}"
        );
    }
    assert!(!access.contains("Domain") && !refresh_cookie.contains("Domain"));

    // Both cookies have `Path=/` (the base path), so a browser sends both to every route, as
    // the tracked client does: /me and /refresh-token need no header or body.
    let me = Reply::of(client.get("/me").dispatch().await).await;
    assert_eq!(me.status, Status::Ok, "{:?}", me.body);
    assert_eq!(me.body["data"]["username"], "alice");

    let r2 = Reply::of(client.post("/refresh-token").dispatch().await).await;
    assert_eq!(r2.status, Status::Ok, "{:?}", r2.body);
    assert_eq!(
        r2.body,
        json!({"statusCode": 200, "data": {"accessToken": r2.access(), "refreshToken": r2.refresh()},
               "message": "Access token refreshed successfully", "success": true})
    );
    assert_ne!(r2.refresh(), login.refresh());
    // Token responses are never cached (RFC 6749 §5.1).
    assert_eq!(r2.cache_control.as_deref(), Some("no-store"));
    assert_eq!(login.cache_control.as_deref(), Some("no-store"));
    assert!(r2
        .cookie("refreshToken")
        .unwrap()
        .split("; ")
        .any(|a| a == "Path=/"));
    // The cookie jar now holds the successor: the cookie wins over a body token.
    let r3 = post_json(
        &client,
        "/refresh-token",
        json!({"refreshToken": "ignored.because.cookie"}),
    )
    .await;
    assert_eq!(r3.status, Status::Ok, "{:?}", r3.body);

    let out = Reply::of(client.post("/logout").dispatch().await).await;
    assert_eq!(out.status, Status::Ok, "{:?}", out.body);
    assert_eq!(out.message(), "User logged Out");
    for name in ["accessToken", "refreshToken"] {
        let c = out.cookie(name).expect("removal cookie");
        assert!(c.contains("Max-Age=0") && c.contains("Path=/;"), "{c}");
    }
    // Cookies gone: no token at all.
    Reply::of(client.get("/me").dispatch().await)
        .await
        .assert_error(401, "unauthorized request");
    // The old access token is refused too: its session ended.
    me_bearer(&client, &r3.access())
        .await
        .assert_error(401, "Invalid access token");
    refresh(&client, &r3.refresh())
        .await
        .assert_error(401, "Refresh token is expired or used");
}

async fn refresh_token_from_json_and_form_bodies(db: &TestDb) {
    let client = client(db).await;
    let login = login_new(&client).await;
    let json_body = refresh(&client, &login.refresh()).await;
    assert_eq!(json_body.status, Status::Ok, "{:?}", json_body.body);
    let form = Reply::of(
        client
            .post("/refresh-token")
            .header(ContentType::Form)
            .body(format!("refreshToken={}", json_body.refresh()))
            .dispatch()
            .await,
    )
    .await;
    assert_eq!(form.status, Status::Ok, "{:?}", form.body);
    assert_ne!(form.refresh(), json_body.refresh());
    // An explicit cookie on an untracked client is read too.
    let by_cookie = Reply::of(
        client
            .post("/refresh-token")
            .cookie(Cookie::new("refreshToken", form.refresh()))
            .dispatch()
            .await,
    )
    .await;
    assert_eq!(by_cookie.status, Status::Ok, "{:?}", by_cookie.body);
    assert_eq!(token_rows(&client, &sid_of(&login.refresh())).await, 4);
}

async fn refresh_token_problems_are_401(db: &TestDb) {
    let client = client(db).await;
    let login = login_new(&client).await;
    let good = login.refresh();
    let sid = sid_of(&good);

    Reply::of(client.post("/refresh-token").dispatch().await)
        .await
        .assert_error(401, "unauthorized request");
    post_json(&client, "/refresh-token", json!({}))
        .await
        .assert_error(401, "unauthorized request");
    post_json(&client, "/refresh-token", json!({"refreshToken": ""}))
        .await
        .assert_error(401, "unauthorized request");

    let user = {
        let mut scratch = vec![0u8; rotor_core::scratch_len(good.len())];
        let u = rotor_core::inspect(&good, &mut scratch).unwrap();
        let v: serde_json::Value = serde_json::from_str(u.payload).unwrap();
        v["sub"].as_str().unwrap().to_owned()
    };
    let t = now();
    let expired = forge(
        REFRESH_SECRET,
        &Forged {
            iss: "rotor",
            sub: &user,
            sid: &sid,
            jti: "x1",
            iat: t - 7200,
            exp: t - 3600,
        },
    );
    let unknown_jti = forge(
        REFRESH_SECRET,
        &Forged {
            iss: "rotor",
            sub: &user,
            sid: &sid,
            jti: "never-issued",
            iat: t,
            exp: t + 600,
        },
    );
    let wrong_issuer = forge(
        REFRESH_SECRET,
        &Forged {
            iss: "evil",
            sub: &user,
            sid: &sid,
            jti: "x2",
            iat: t,
            exp: t + 600,
        },
    );
    let other_secret = forge(
        "a different secret that is also thirty-two bytes",
        &Forged {
            iss: "rotor",
            sub: &user,
            sid: &sid,
            jti: "x3",
            iat: t,
            exp: t + 600,
        },
    );
    let no_exp = {
        let key = Key::with_kid(REFRESH_SECRET.as_bytes(), &kid(REFRESH_SECRET)).unwrap();
        let mut buf = [0u8; 512];
        sign(
            &key,
            &Claims {
                iss: Some("rotor"),
                sub: Some(&user),
                jti: Some("x4"),
                ..Claims::default()
            },
            &mut buf,
        )
        .unwrap()
        .to_owned()
    };
    for (what, token) in [
        ("garbage", "abc".to_owned()),
        ("three garbage segments", "a.b.c".to_owned()),
        ("tampered signature", tampered(&good)),
        ("alg none", alg_none(&good)),
        ("expired", expired),
        ("unknown jti", unknown_jti),
        ("wrong issuer", wrong_issuer),
        ("other secret", other_secret),
        ("no exp", no_exp),
        ("access token", login.access()),
    ] {
        let r = refresh(&client, &token).await;
        assert_eq!(r.status.code, 401, "{what}: {:?}", r.body);
        r.assert_error(401, "Invalid refresh token");
    }
    // None of these touched the session: the real token still works.
    assert_eq!(refresh(&client, &good).await.status, Status::Ok);

    // Unknown user: the user row is gone (its sessions with it).
    let second = login_new(&client).await;
    let pool = client
        .rocket()
        .state::<rotor_server::db::Db>()
        .unwrap()
        .pool();
    let sub = {
        let mut scratch = vec![0u8; rotor_core::scratch_len(second.refresh().len())];
        let u = rotor_core::inspect(&second.refresh(), &mut scratch).unwrap();
        serde_json::from_str::<serde_json::Value>(u.payload).unwrap()["sub"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(&sub)
        .execute(pool)
        .await
        .unwrap();
    refresh(&client, &second.refresh())
        .await
        .assert_error(401, "Invalid refresh token");
}

async fn malformed_and_oversized_requests(db: &TestDb) {
    let client = client(db).await;
    let raw = |ct: ContentType, body: &'static str| {
        let client = &client;
        async move {
            Reply::of(
                client
                    .post("/refresh-token")
                    .header(ct)
                    .body(body)
                    .dispatch()
                    .await,
            )
            .await
        }
    };
    raw(ContentType::JSON, r#"{"refreshToken": "#)
        .await
        .assert_error(400, "Malformed request body");
    raw(ContentType::JSON, r#"{"refreshToken": 42}"#)
        .await
        .assert_error(400, "Malformed request body");
    raw(ContentType::JSON, "[1,2]")
        .await
        .assert_error(400, "Malformed request body");
    raw(ContentType::Form, "refreshToken=a&refreshToken=b")
        .await
        .assert_error(400, "Malformed request body");
    raw(ContentType::XML, "<refreshToken/>").await.assert_error(
        400,
        "Request body must be JSON or application/x-www-form-urlencoded",
    );

    let huge_body = format!(r#"{{"refreshToken":"{}"}}"#, "a".repeat(20_000));
    let r = Reply::of(
        client
            .post("/refresh-token")
            .header(ContentType::JSON)
            .body(huge_body)
            .dispatch()
            .await,
    )
    .await;
    r.assert_error(413, "Request entity too large");
    let long_token = "a".repeat(5_000);
    refresh(&client, &long_token)
        .await
        .assert_error(413, "Request entity too large");
    me_bearer(&client, &long_token)
        .await
        .assert_error(413, "Request entity too large");
    let register_big = Reply::of(
        client
            .post("/register")
            .header(ContentType::JSON)
            .body(format!(r#"{{"username":"{}"}}"#, "u".repeat(20_000)))
            .dispatch()
            .await,
    )
    .await;
    register_big.assert_error(413, "Request entity too large");
}

async fn register_and_login_rules(db: &TestDb) {
    let client = client(db).await;
    for (body, msg) in [
        (json!({}), "All fields are required"),
        (
            json!({"username": "bob", "email": "bob@example.com"}),
            "All fields are required",
        ),
        (
            json!({"username": "  ", "email": "bob@example.com", "password": PASSWORD}),
            "All fields are required",
        ),
        (
            json!({"username": "bob", "email": "bob-at-example.com", "password": PASSWORD}),
            "Email is not valid",
        ),
        (
            json!({"username": "b", "email": "bob@example.com", "password": PASSWORD}),
            "Username must be 3 to 64 letters, digits, '_', '.' or '-'",
        ),
        (
            json!({"username": "bob", "email": "bob@example.com", "password": "short"}),
            "Password must have at least 8 characters",
        ),
    ] {
        post_json(&client, "/register", body)
            .await
            .assert_error(400, msg);
    }
    Reply::of(client.post("/register").dispatch().await)
        .await
        .assert_error(400, "All fields are required");

    // Form bodies work for register and login.
    let r = Reply::of(
        client
            .post("/register")
            .header(ContentType::Form)
            .body(format!(
                "username=carol&email=carol%40example.com&password={}",
                PASSWORD.replace(' ', "+")
            ))
            .dispatch()
            .await,
    )
    .await;
    assert_eq!(r.status, Status::Created, "{:?}", r.body);
    let login = Reply::of(
        client
            .post("/login")
            .header(ContentType::Form)
            .body(format!(
                "email=carol%40example.com&password={}",
                PASSWORD.replace(' ', "+")
            ))
            .dispatch()
            .await,
    )
    .await;
    assert_eq!(login.status, Status::Ok, "{:?}", login.body);

    post_json(
        &client,
        "/login",
        json!({"email": "carol@example.com", "password": "wrong password"}),
    )
    .await
    .assert_error(401, "Invalid user credentials");
    post_json(
        &client,
        "/login",
        json!({"email": "nobody@example.com", "password": PASSWORD}),
    )
    .await
    .assert_error(401, "Invalid user credentials");
    post_json(&client, "/login", json!({"password": PASSWORD}))
        .await
        .assert_error(400, "username or email is required");
    post_json(&client, "/login", json!({"username": "carol"}))
        .await
        .assert_error(400, "Password is required");
}

async fn me_guard_with_cookie_and_bearer(db: &TestDb) {
    let client = client(db).await;
    let login = login_new(&client).await;
    let by_bearer = me_bearer(&client, &login.access()).await;
    assert_eq!(by_bearer.status, Status::Ok, "{:?}", by_bearer.body);
    assert_eq!(
        by_bearer.body["message"],
        "Current user fetched successfully"
    );
    let by_cookie = Reply::of(
        client
            .get("/me")
            .cookie(Cookie::new("accessToken", login.access()))
            .dispatch()
            .await,
    )
    .await;
    assert_eq!(by_cookie.status, Status::Ok, "{:?}", by_cookie.body);
    assert_eq!(by_cookie.body["data"], by_bearer.body["data"]);

    Reply::of(client.get("/me").dispatch().await)
        .await
        .assert_error(401, "unauthorized request");
    Reply::of(
        client
            .get("/me")
            .header(Header::new("Authorization", "Basic dXNlcjpwdw=="))
            .dispatch()
            .await,
    )
    .await
    .assert_error(401, "unauthorized request");
    let sid = sid_of(&login.access());
    let t = now();
    let sub = by_bearer.body["data"]["id"].as_str().unwrap().to_owned();
    let expired = forge(
        ACCESS_SECRET,
        &Forged {
            iss: "rotor",
            sub: &sub,
            sid: &sid,
            jti: "a1",
            iat: t - 7200,
            exp: t - 3600,
        },
    );
    for (what, token) in [
        ("refresh token as access token", login.refresh()),
        ("tampered", tampered(&login.access())),
        ("alg none", alg_none(&login.access())),
        ("expired", expired),
        ("garbage", "not-a-token".to_owned()),
    ] {
        let r = me_bearer(&client, &token).await;
        assert_eq!(r.status.code, 401, "{what}");
        r.assert_error(401, "Invalid access token");
    }
}

async fn sessions_are_independent_and_logout_all_ends_them(db: &TestDb) {
    let client = client(db).await;
    let (_, email) = register(&client).await;
    let login = || {
        post_json(
            &client,
            "/login",
            json!({"email": email, "password": PASSWORD}),
        )
    };
    let (a, b, c) = (login().await, login().await, login().await);
    assert_ne!(sid_of(&a.refresh()), sid_of(&b.refresh()));

    // Logging out of A leaves B and C working (the original kept one token per user).
    let out = Reply::of(
        client
            .post("/logout")
            .header(Header::new(
                "Authorization",
                format!("Bearer {}", a.access()),
            ))
            .dispatch()
            .await,
    )
    .await;
    assert_eq!(out.status, Status::Ok, "{:?}", out.body);
    refresh(&client, &a.refresh())
        .await
        .assert_error(401, "Refresh token is expired or used");
    let b2 = refresh(&client, &b.refresh()).await;
    assert_eq!(b2.status, Status::Ok);
    assert_eq!(me_bearer(&client, &c.access()).await.status, Status::Ok);

    // Logout by refresh token in the body (no access token).
    let out_c = post_json(&client, "/logout", json!({"refreshToken": c.refresh()})).await;
    assert_eq!(out_c.status, Status::Ok, "{:?}", out_c.body);
    me_bearer(&client, &c.access())
        .await
        .assert_error(401, "Invalid access token");

    // Without any token: 401.
    Reply::of(client.post("/logout").dispatch().await)
        .await
        .assert_error(401, "unauthorized request");

    let d = login().await;
    let all = Reply::of(
        client
            .post("/logout-all")
            .header(Header::new(
                "Authorization",
                format!("Bearer {}", b2.access()),
            ))
            .dispatch()
            .await,
    )
    .await;
    assert_eq!(all.status, Status::Ok, "{:?}", all.body);
    assert_eq!(all.body["data"]["sessionsEnded"], 2);
    for token in [b2.refresh(), d.refresh()] {
        refresh(&client, &token)
            .await
            .assert_error(401, "Refresh token is expired or used");
    }
    me_bearer(&client, &d.access())
        .await
        .assert_error(401, "Invalid access token");
}

async fn health_and_unknown_routes(db: &TestDb) {
    let client = client(db).await;
    let h = Reply::of(client.get("/health").dispatch().await).await;
    assert_eq!(h.status, Status::Ok);
    let want = match db.kind {
        Kind::Sqlite => "sqlite",
        Kind::Postgres => "postgres",
    };
    assert_eq!(h.body["data"]["database"], want);
    Reply::of(client.get("/nope").dispatch().await)
        .await
        .assert_error(404, "Not found");
    Reply::of(client.get("/refresh-token").dispatch().await)
        .await
        .assert_error(404, "Not found");
}

#[tokio::test]
async fn cookie_settings_are_honoured() {
    let db = TestDb::new(Kind::Sqlite, "cookie_settings").await.unwrap();
    let client = client_with(
        &db,
        |f| {
            f.merge(("access_cookie_name", "__Secure-at"))
                .merge(("refresh_cookie_name", "__Secure-rt"))
                .merge(("cookie_same_site", "lax"))
                .merge(("refresh_cookie_path", "/auth/refresh-token"))
        },
        true,
    )
    .await;
    let login = login_new(&client).await;
    let rt = login.cookie("__Secure-rt").expect("renamed refresh cookie");
    let at = login.cookie("__Secure-at").expect("renamed access cookie");
    assert!(
        rt.contains("SameSite=Lax") && rt.contains("Path=/auth/refresh-token"),
        "{rt}"
    );
    assert!(at.contains("SameSite=Lax") && at.contains("Secure"), "{at}");
    // The renamed cookie is the one read.
    let me = Reply::of(client.get("/me").dispatch().await).await;
    assert_eq!(me.status, Status::Ok);

    let plain = client_with(&db, |f| f.merge(("cookie_secure", false)), false).await;
    let login = login_new(&plain).await;
    let rt = login.cookie("refreshToken").unwrap();
    assert!(!rt.contains("Secure") && rt.contains("HttpOnly"), "{rt}");

    // SameSite=None without Secure is refused at start-up.
    let bad = rotor_server::custom(
        figment(&db.url)
            .merge(("cookie_same_site", "none"))
            .merge(("cookie_secure", false)),
    );
    match rocket::local::asynchronous::Client::untracked(bad).await {
        // Looking at the kind marks Rocket's error as handled (it panics on drop otherwise).
        Err(e) => assert!(matches!(
            e.kind(),
            rocket::error::ErrorKind::FailedFairings(_)
        )),
        Ok(_) => panic!("SameSite=None without Secure must not ignite"),
    }
    // Outside the debug profile, `Secure` cannot be switched off.
    let release = rotor_server::custom(
        figment(&db.url)
            .merge(("cookie_secure", false))
            .select("release"),
    );
    match rocket::local::asynchronous::Client::untracked(release).await {
        Err(e) => assert!(matches!(
            e.kind(),
            rocket::error::ErrorKind::FailedFairings(_)
        )),
        Ok(_) => panic!("cookie_secure = false must not ignite in release"),
    }
}
