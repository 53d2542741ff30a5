//! Test harness: a fresh database per test (a SQLite file in a temporary directory, or a
//! PostgreSQL database with a random name, dropped afterwards), the service on a local client,
//! and small request helpers.

use rocket::figment::Figment;
use rocket::http::{ContentType, Header, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use serde_json::{json, Value};

pub const ACCESS_SECRET: &str = "test access secret, at least thirty-two bytes long";
pub const REFRESH_SECRET: &str = "test refresh secret, at least thirty-two bytes long";
pub const PASSWORD: &str = "correct horse battery staple";

pub use crate::support::db::{unique, Kind, TestDb};

/// The configuration every test starts from: fixed secrets, cheap password hashing, quiet logs.
pub fn figment(url: &str) -> Figment {
    rocket::Config::figment()
        .merge(("log_level", "off"))
        .merge(("databases.rotor.url", url))
        .merge(("databases.rotor.connect_timeout", 2))
        .merge(("databases.rotor.busy_timeout_ms", 5_000))
        .merge(("access_token_secret", ACCESS_SECRET))
        .merge(("refresh_token_secret", REFRESH_SECRET))
        .merge(("password_memory_kib", 64))
        .merge(("password_iterations", 1))
        .merge(("cleanup_interval", 0))
}

/// A client for the service on `db` with `figment` tweaks applied.
pub async fn client_with(
    db: &TestDb,
    tweak: impl FnOnce(Figment) -> Figment,
    tracked: bool,
) -> Client {
    let rocket = rotor_server::custom(tweak(figment(&db.url)));
    if tracked {
        Client::tracked(rocket).await.expect("rocket ignites")
    } else {
        Client::untracked(rocket).await.expect("rocket ignites")
    }
}

/// An untracked client with the default test configuration.
pub async fn client(db: &TestDb) -> Client {
    client_with(db, |f| f, false).await
}

/// A response reduced to what tests look at.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: Status,
    pub set_cookies: Vec<String>,
    pub retry_after: Option<String>,
    pub cache_control: Option<String>,
    pub body: Value,
}

impl Reply {
    pub async fn of(res: LocalResponse<'_>) -> Self {
        let status = res.status();
        // Sorted: the jar emits cookies in no fixed order.
        let mut set_cookies: Vec<String> =
            res.headers().get("Set-Cookie").map(str::to_owned).collect();
        set_cookies.sort();
        let retry_after = res.headers().get_one("Retry-After").map(str::to_owned);
        let cache_control = res.headers().get_one("Cache-Control").map(str::to_owned);
        let text = res.into_string().await.unwrap_or_default();
        let body =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("body is not JSON: {text:?}"));
        Self {
            status,
            set_cookies,
            retry_after,
            cache_control,
            body,
        }
    }

    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or_default()
    }

    pub fn access(&self) -> String {
        self.body["data"]["accessToken"]
            .as_str()
            .expect("accessToken")
            .to_owned()
    }

    pub fn refresh(&self) -> String {
        self.body["data"]["refreshToken"]
            .as_str()
            .expect("refreshToken")
            .to_owned()
    }

    /// The `Set-Cookie` header of cookie `name`.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.set_cookies
            .iter()
            .map(String::as_str)
            .find(|c| c.starts_with(&format!("{name}=")))
    }

    /// Asserts the error envelope with this status and message.
    #[track_caller]
    pub fn assert_error(&self, status: u16, message: &str) {
        assert_eq!(self.status.code, status, "{:?}", self.body);
        assert_eq!(self.cache_control.as_deref(), Some("no-store"));
        assert_eq!(
            self.body,
            json!({"statusCode": status, "data": null, "message": message, "success": false, "errors": []})
        );
    }
}

pub async fn post_json(client: &Client, path: &str, body: Value) -> Reply {
    Reply::of(
        client
            .post(path.to_owned())
            .header(ContentType::JSON)
            .body(body.to_string())
            .dispatch()
            .await,
    )
    .await
}

pub async fn refresh(client: &Client, token: &str) -> Reply {
    post_json(client, "/refresh-token", json!({ "refreshToken": token })).await
}

pub async fn me_bearer(client: &Client, access: &str) -> Reply {
    Reply::of(
        client
            .get("/me")
            .header(Header::new("Authorization", format!("Bearer {access}")))
            .dispatch()
            .await,
    )
    .await
}

/// Registers a user with a unique name; returns (username, email).
pub async fn register(client: &Client) -> (String, String) {
    let name = format!("user{}", unique().replace('_', ""));
    let email = format!("{name}@example.com");
    let r = post_json(
        client,
        "/register",
        json!({"username": name, "email": email, "password": PASSWORD}),
    )
    .await;
    assert_eq!(r.status, Status::Created, "{:?}", r.body);
    (name, email)
}

/// Registers and logs in a fresh user; returns the login reply.
pub async fn login_new(client: &Client) -> Reply {
    let (_, email) = register(client).await;
    let r = post_json(
        client,
        "/login",
        json!({"email": email, "password": PASSWORD}),
    )
    .await;
    assert_eq!(r.status, Status::Ok, "{:?}", r.body);
    r
}

/// Rows in `refresh_tokens` for the session of `refresh_token`, read through the service's pool.
pub async fn token_rows(client: &Client, sid: &str) -> i64 {
    let db = client.rocket().state::<rotor_server::db::Db>().expect("db");
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM refresh_tokens WHERE session_id = $1")
        .bind(sid)
        .fetch_one(db.pool())
        .await
        .expect("count");
    n
}

/// The `sid` claim of a token (read without verification: test use only).
pub fn sid_of(token: &str) -> String {
    claim_of(token, "sid")
}

/// The `jti` claim of a token (unverified).
pub fn jti_of(token: &str) -> String {
    claim_of(token, "jti")
}

fn claim_of(token: &str, name: &str) -> String {
    let mut scratch = vec![0u8; rotor_core::scratch_len(token.len())];
    let u = rotor_core::inspect(token, &mut scratch).expect("token");
    let v: Value = serde_json::from_str(u.payload).expect("payload");
    v[name].as_str().expect(name).to_owned()
}

/// Runs each listed test on SQLite and on PostgreSQL: `mod sqlite { fn name }`, `mod postgres { fn name }`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let db = $crate::common::TestDb::new($crate::common::Kind::Sqlite, stringify!($name))
                        .await
                        .expect("sqlite");
                    super::$name(&db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let test = concat!(module_path!(), "::", stringify!($name));
                    let Some(db) = $crate::common::TestDb::new($crate::common::Kind::Postgres, test).await else {
                        return;
                    };
                    super::$name(&db).await;
                }
            )*
        }
    };
}

/// A loopback port that was free a moment ago, for starting the real binary.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}
