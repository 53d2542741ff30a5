//! Test harness: a fresh database per test (a SQLite file in a temporary directory, or a
//! PostgreSQL database with a random name, dropped afterwards), the service on a local client,
//! and small request helpers.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use rocket::figment::Figment;
use rocket::http::{ContentType, Header, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use serde_json::{json, Value};
use sqlx::{Connection, Executor, PgConnection};

pub const ACCESS_SECRET: &str = "test access secret, at least thirty-two bytes long";
pub const REFRESH_SECRET: &str = "test refresh secret, at least thirty-two bytes long";
pub const PASSWORD: &str = "correct horse battery staple";

/// Which database a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

fn loud(msg: &str) {
    // Written to the process's stderr directly, past the test harness's output capture.
    let _ = writeln!(std::io::stderr(), "\n{msg}\n");
}

fn required() -> bool {
    std::env::var("ROTOR_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

/// The administrative PostgreSQL URL, or `None` after a loud skip message.
///
/// # Panics
/// When `ROTOR_REQUIRE_POSTGRES=1` and the URL is missing.
pub fn postgres_url(test: &str) -> Option<String> {
    match std::env::var("ROTOR_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                !required(),
                "ROTOR_REQUIRE_POSTGRES=1 but ROTOR_TEST_POSTGRES_URL is not set ({test})"
            );
            loud(&format!(
                "*** SKIPPED {test}: PostgreSQL test not run because ROTOR_TEST_POSTGRES_URL is not set \
                 (e.g. `source .ci/postgres.sh`) ***"
            ));
            None
        }
    }
}

fn unique() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        rotor_server::tokens::random_id().get(..8).unwrap_or("0")
    )
}

/// Replaces the database name (the path) of a PostgreSQL URL.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{db}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// Drops test databases left behind by test processes that no longer exist (killed by a
/// timeout, say): names carry the creating process id, so live runs are never touched.
async fn sweep_orphans(conn: &mut PgConnection) {
    static SWEPT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if SWEPT.swap(true, Ordering::SeqCst) {
        return;
    }
    let names: Vec<(String,)> =
        sqlx::query_as("SELECT datname FROM pg_database WHERE datname LIKE 'rotor\\_t\\_%'")
            .fetch_all(&mut *conn)
            .await
            .unwrap_or_default();
    for (name,) in names {
        let pid = name.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
        let orphan = pid.is_some_and(|p| !std::path::Path::new(&format!("/proc/{p}")).exists());
        if orphan {
            let _ = conn
                .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                .await;
        }
    }
}

/// A fresh database, removed on drop.
pub struct TestDb {
    pub kind: Kind,
    pub url: String,
    admin_url: Option<String>,
    name: String,
    dir: Option<PathBuf>,
}

impl TestDb {
    /// A fresh database of `kind`; `None` (after a loud message) when PostgreSQL is not configured.
    pub async fn new(kind: Kind, test: &str) -> Option<Self> {
        match kind {
            Kind::Sqlite => {
                let dir = std::env::temp_dir().join(format!("rotor-it-{}", unique()));
                std::fs::create_dir_all(&dir).expect("temporary directory");
                let url = format!("sqlite://{}", dir.join("rotor.db").display());
                Some(Self {
                    kind,
                    url,
                    admin_url: None,
                    name: String::new(),
                    dir: Some(dir),
                })
            }
            Kind::Postgres => {
                let admin = postgres_url(test)?;
                let name = format!("rotor_t_{}", unique());
                let conn = PgConnection::connect(&admin).await;
                let mut conn = match conn {
                    Ok(c) => c,
                    Err(e) if required() => {
                        panic!("ROTOR_REQUIRE_POSTGRES=1 but PostgreSQL is unreachable: {e}")
                    }
                    Err(e) => {
                        loud(&format!(
                            "*** SKIPPED {test}: PostgreSQL at ROTOR_TEST_POSTGRES_URL is unreachable: {e} ***"
                        ));
                        return None;
                    }
                };
                sweep_orphans(&mut conn).await;
                conn.execute(format!("CREATE DATABASE {name}").as_str())
                    .await
                    .expect("CREATE DATABASE (the role needs CREATEDB)");
                let _ = conn.close().await;
                Some(Self {
                    kind,
                    url: with_database(&admin, &name),
                    admin_url: Some(admin),
                    name,
                    dir: None,
                })
            }
        }
    }

    /// The administrative URL (PostgreSQL only).
    pub fn admin_url(&self) -> Option<&str> {
        self.admin_url.as_deref()
    }

    /// The database name (PostgreSQL only).
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some(admin) = self.admin_url.take() {
            let name = std::mem::take(&mut self.name);
            // Drop may run inside an async runtime: use a thread with a runtime of its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async move {
                    if let Ok(mut c) = PgConnection::connect(&admin).await {
                        let _ = c
                            .execute(
                                format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str(),
                            )
                            .await;
                        let _ = c.close().await;
                    }
                });
            })
            .join();
        }
    }
}

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
    let mut scratch = vec![0u8; rotor_core::scratch_len(token.len())];
    let u = rotor_core::inspect(token, &mut scratch).expect("token");
    let v: Value = serde_json::from_str(u.payload).expect("payload");
    v["sid"].as_str().expect("sid").to_owned()
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
