//! The test databases of every server test binary (`it`, `cli`): a fresh SQLite file in a
//! temporary directory, or a fresh PostgreSQL database with a unique name, removed on drop.
//!
//! PostgreSQL tests run when `ROTOR_TEST_POSTGRES_URL` is set (`source .ci/postgres.sh`); without
//! it they print a loud SKIPPED line, and with `ROTOR_REQUIRE_POSTGRES=1` (as CI sets) they fail
//! instead of skipping.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use rocket::figment::Figment;
use rotor_server::db::DbPool;
use sqlx::{Connection, Executor, PgConnection};

/// Which database a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// Writes straight to the process's stderr, past the test harness's output capture.
pub fn loud(msg: &str) {
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

/// A name no other test, process or run uses; it starts with this process's id (see
/// [`sweep_orphans`]).
pub fn unique() -> String {
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
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    match query {
        Some(q) => format!("{}/{db}?{q}", &base[..host_end]),
        None => format!("{}/{db}", &base[..host_end]),
    }
}

/// Drops test databases left behind by test processes that no longer exist (killed by a
/// timeout, say): names carry the creating process id, so live runs are never touched.
async fn sweep_orphans(conn: &mut PgConnection) {
    static SWEPT: AtomicBool = AtomicBool::new(false);
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

/// A fresh, empty database (a SQLite path that does not exist yet, or a new PostgreSQL
/// database), removed on drop.
pub struct TestDb {
    #[allow(dead_code)] // read by the `it` binary only
    pub kind: Kind,
    pub url: String,
    pub dir: tempfile::TempDir,
    admin_url: Option<String>,
    name: String,
}

impl TestDb {
    /// A fresh database of `kind`; `None` (after a loud message) when PostgreSQL is not
    /// configured or, unless required, unreachable.
    pub async fn new(kind: Kind, test: &str) -> Option<Self> {
        let dir = tempfile::tempdir().expect("temporary directory");
        match kind {
            Kind::Sqlite => Some(Self {
                kind,
                url: format!("sqlite://{}", dir.path().join("rotor.db").display()),
                dir,
                admin_url: None,
                name: String::new(),
            }),
            Kind::Postgres => {
                let admin = postgres_url(test)?;
                let name = format!("rotor_t_{}", unique());
                let mut conn = match PgConnection::connect(&admin).await {
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
                    dir,
                    admin_url: Some(admin),
                    name,
                })
            }
        }
    }

    /// The administrative URL (PostgreSQL only).
    #[allow(dead_code)] // each helper below is used by one of the binaries only
    pub fn admin_url(&self) -> Option<&str> {
        self.admin_url.as_deref()
    }

    /// The database name (PostgreSQL only).
    #[allow(dead_code)]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `--database-url URL` for the command line.
    #[allow(dead_code)]
    pub fn flag(&self) -> [&str; 2] {
        ["--database-url", &self.url]
    }

    /// The SQLite file (SQLite only).
    #[allow(dead_code)]
    pub fn sqlite_path(&self) -> PathBuf {
        self.dir.path().join("rotor.db")
    }

    /// A pool on the database, through the server library.
    #[allow(dead_code)]
    pub async fn pool(&self) -> DbPool {
        DbPool::connect(&Figment::new().merge(("url", self.url.as_str())))
            .await
            .expect("the test database opens")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
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
