//! Running the real `rotor-server` binary, and fresh databases for it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rocket::figment::Figment;
use rotor_server::db::DbPool;
use sqlx::{Connection, Executor, PgConnection};

/// Every run is bounded: a hung command fails its test instead of hanging the suite.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// What one run of the binary gave.
#[derive(Debug)]
pub struct Out {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    /// The standard output as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }

    /// Asserts the exit code, showing everything on failure.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "{self:#?}");
        self
    }

    /// Asserts that standard error is one line that starts with `error: ` and contains `needle`.
    #[track_caller]
    pub fn expect_error(&self, needle: &str) -> &Self {
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line on stderr: {self:#?}");
        assert!(lines[0].starts_with("error: "), "{self:#?}");
        assert!(lines[0].contains(needle), "wanted `{needle}`: {self:#?}");
        self
    }
}

/// The binary in a clean environment: no `ROCKET_*`/secret variables of the caller, a
/// temporary working directory (so no Rocket.toml is found), cheap password hashing.
pub fn command(dir: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_rotor-server"));
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        if name.starts_with("ROCKET_") || name.ends_with("_TOKEN_SECRET") {
            cmd.env_remove(name);
        }
    }
    cmd.current_dir(dir)
        .env("ROCKET_CLI_COLORS", "false")
        .env("ROCKET_PASSWORD_MEMORY_KIB", "64")
        .env("ROCKET_PASSWORD_ITERATIONS", "1")
        .timeout(TIMEOUT);
    cmd
}

/// Runs the binary with `args` and optional standard input (none: an empty pipe).
pub fn run_in(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Out {
    let mut cmd = command(dir);
    cmd.args(args);
    cmd.write_stdin(stdin.unwrap_or_default().to_vec());
    let out = cmd.output().expect("the binary runs");
    Out {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

/// Runs the binary in a throw-away directory.
pub fn run(args: &[&str], stdin: Option<&[u8]>) -> Out {
    let dir = tempfile::tempdir().expect("temporary directory");
    run_in(dir.path(), args, stdin)
}

fn loud(msg: &str) {
    // Straight to the process's stderr, past the test harness's capture.
    let _ = writeln!(std::io::stderr(), "\n{msg}\n");
}

fn postgres_required() -> bool {
    std::env::var("ROTOR_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

/// Which database a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// A fresh, empty database (a SQLite path that does not exist yet, or a new PostgreSQL
/// database), removed on drop.
pub struct TestDb {
    pub url: String,
    pub dir: tempfile::TempDir,
    admin: Option<(String, String)>,
}

impl TestDb {
    /// `None`, after a loud SKIPPED line, when PostgreSQL is asked for but not configured.
    pub fn new(kind: Kind, test: &str) -> Option<Self> {
        let dir = tempfile::tempdir().expect("temporary directory");
        match kind {
            Kind::Sqlite => Some(Self {
                url: format!("sqlite://{}", dir.path().join("rotor.db").display()),
                dir,
                admin: None,
            }),
            Kind::Postgres => {
                let admin = match std::env::var("ROTOR_TEST_POSTGRES_URL") {
                    Ok(url) if !url.is_empty() => url,
                    _ => {
                        assert!(
                            !postgres_required(),
                            "ROTOR_REQUIRE_POSTGRES=1 but ROTOR_TEST_POSTGRES_URL is not set ({test})"
                        );
                        loud(&format!(
                            "*** SKIPPED {test}: PostgreSQL test not run because ROTOR_TEST_POSTGRES_URL \
                             is not set (e.g. `source .ci/postgres.sh`) ***"
                        ));
                        return None;
                    }
                };
                let name = format!(
                    "rotor_cli_{}_{}",
                    std::process::id(),
                    &rotor_server::tokens::random_id()[..12]
                );
                block_on(async {
                    let mut conn = PgConnection::connect(&admin)
                        .await
                        .expect("PostgreSQL at ROTOR_TEST_POSTGRES_URL is reachable");
                    conn.execute(format!("CREATE DATABASE {name}").as_str())
                        .await
                        .expect("CREATE DATABASE (the role needs CREATEDB)");
                    let _ = conn.close().await;
                });
                Some(Self {
                    url: with_database(&admin, &name),
                    dir,
                    admin: Some((admin, name)),
                })
            }
        }
    }

    /// `--database-url URL` for the command line.
    pub fn flag(&self) -> [&str; 2] {
        ["--database-url", &self.url]
    }

    /// The SQLite file (SQLite only).
    pub fn sqlite_path(&self) -> PathBuf {
        self.dir.path().join("rotor.db")
    }

    /// A pool on the database, through the server library.
    pub async fn pool(&self) -> DbPool {
        DbPool::connect(&Figment::new().merge(("url", self.url.as_str())))
            .await
            .expect("the test database opens")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.admin.take() {
            block_on(async move {
                if let Ok(mut c) = PgConnection::connect(&admin).await {
                    let _ = c
                        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                        .await;
                    let _ = c.close().await;
                }
            });
        }
    }
}

/// Replaces the database name (the path) of a PostgreSQL URL.
fn with_database(url: &str, db: &str) -> String {
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

/// Runs a future on a runtime of its own (tests here are plain `#[test]`s).
pub fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}
