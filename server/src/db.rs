//! The `rocket_db_pools` database `rotor`: one `sqlx::Any` pool over SQLite or PostgreSQL,
//! chosen by the URL alone, with migrations applied at start-up.
//!
//! `rocket_db_pools` 0.2 ships pools for `SqlitePool` and `PgPool` but none for `sqlx::Any`, so
//! [`DbPool`] implements its [`Pool`] trait: same configuration keys (`url`, `max_connections`,
//! `min_connections`, `connect_timeout`, `idle_timeout`), one code path for both back ends.

use std::str::FromStr;
use std::time::Duration;

use rocket::fairing::AdHoc;
use rocket::figment::providers::Serialized;
use rocket::figment::Figment;
use rocket::{Build, Rocket};
use rocket_db_pools::{Database, Pool};
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{Any, ConnectOptions, Connection, Executor};
use sqlx::{AnyConnection, AnyPool};

/// Database URL used when none is configured: a SQLite file in the working directory, created
/// on first run.
pub const DEFAULT_URL: &str = "sqlite://rotor.db";

/// Default pool size on SQLite (`max_connections`).
///
/// SQLite takes one writer at a time whatever the pool size, and a writer that misses the lock
/// sleeps in SQLite's busy handler (steps of 1, 2, 5 ... 100 ms, no queue): with the 8
/// connections of `rocket_db_pools`' default on 2 cores, 16 concurrent refreshes had a p99 of
/// 0.55 to 0.7 s. With one connection they wait in the pool's fair queue instead: p99 60 to 70 ms
/// and 1.6 times the refreshes per second (`bench/run.sh`).
pub const DEFAULT_SQLITE_CONNECTIONS: u64 = 1;

/// Default pool size on PostgreSQL (`max_connections`).
pub const DEFAULT_POSTGRES_CONNECTIONS: u64 = 16;

/// Default SQLite busy timeout: how long a writer waits for the lock before giving up (503).
pub const DEFAULT_BUSY_TIMEOUT_MS: u64 = 5_000;

/// Default SQLite automatic checkpoint size (`databases.rotor.sqlite_wal_autocheckpoint`), in
/// WAL pages (4 KiB): about 4 MiB of WAL, SQLite's own default.
///
/// The commit that takes the WAL past this size copies its pages into the database file and
/// flushes it, on the writer connection, holding the one writer while it does
/// (<https://www.sqlite.org/wal.html#automatic_checkpoint>): every refresh waiting meanwhile
/// waits for the checkpoint, and those waits are SQLite's refresh tail. A larger WAL means
/// fewer, longer checkpoints. With one statement per refresh and time-ordered ids, 4000 pages
/// gave 1.02 to 1.09 times the refreshes per second of 1000 but twice the p99 (11.6 to 12.2 ms
/// against 6.4 to 6.9 ms at 10,000 and at 1,000,000 sessions, two interleaved rounds of
/// `bench/scale.sh`); before those changes it had given 1.15 to 1.2 times the throughput, and
/// was the default. Under refresh load a connection of its own copies most of the WAL back
/// first ([`crate::store::checkpoint`]), so the writer's checkpoint has less left to copy;
/// under continuous load it is still the writer's checkpoint that starts the WAL again. It does
/// not change what a commit guarantees: with `synchronous = FULL` each commit is in the flushed
/// WAL before it returns; a larger WAL only takes longer to read again when the database is
/// opened after a crash.
pub const DEFAULT_SQLITE_WAL_AUTOCHECKPOINT: u64 = 1_000;

/// SQLite's `synchronous` setting in WAL mode (`databases.rotor.sqlite_synchronous`): what a
/// power failure or an operating-system crash can take back. A crash of the rotor-server
/// process alone loses nothing in either mode: a commit is in the WAL file before it returns.
///
/// - [`Full`](Self::Full), the default: the WAL is flushed to disk (fsync) at every commit, so
///   every answer the server gave survives a power failure. Costs one fsync per write
///   transaction: per login and logout, and per group of rotations committed together
///   ([`crate::store::group`]).
/// - [`Normal`](Self::Normal): the WAL is flushed only at checkpoints. The database stays
///   consistent, but a power failure can roll back the last transactions committed before it
///   (up to the last checkpoint: at most `sqlite_wal_autocheckpoint` pages of WAL): a rotation the client
///   already received is forgotten (the client holds a successor the database never recorded,
///   so its next refresh is refused as unknown and the user is logged out, while the parent
///   token is unused again and can be refreshed by whoever holds it), and a logout or a reuse
///   revocation can be undone (the session is live again).
///
/// PostgreSQL's counterpart is `synchronous_commit` (default `on`, like `Full`); set it on the
/// server, not here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SqliteSynchronous {
    /// `PRAGMA synchronous = FULL`: every commit durable.
    Full,
    /// `PRAGMA synchronous = NORMAL`: commits durable from the next checkpoint on.
    Normal,
}

impl SqliteSynchronous {
    /// Parses `"full"` or `"normal"` (any case).
    ///
    /// # Errors
    /// A message naming the accepted values.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "full" => Ok(Self::Full),
            "normal" => Ok(Self::Normal),
            _ => Err(format!(
                "databases.rotor.sqlite_synchronous must be \"full\" or \"normal\", not `{text}`"
            )),
        }
    }

    /// The `PRAGMA synchronous` value.
    #[must_use]
    pub fn pragma(self) -> &'static str {
        match self {
            Self::Full => "FULL",
            Self::Normal => "NORMAL",
        }
    }
}

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// Which database the URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// `sqlite:` URLs.
    Sqlite,
    /// `postgres:` and `postgresql:` URLs.
    Postgres,
}

impl Backend {
    /// The back end of `url`.
    ///
    /// # Errors
    /// A message naming the accepted schemes.
    pub fn of(url: &str) -> Result<Self, String> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            Err("databases.rotor.url must start with sqlite:, postgres:// or postgresql://".into())
        }
    }

    /// The migrations embedded for this back end (`migrations/sqlite` or `migrations/postgres`).
    #[must_use]
    pub fn migrator(self) -> &'static Migrator {
        match self {
            Self::Sqlite => &SQLITE_MIGRATIONS,
            Self::Postgres => &POSTGRES_MIGRATIONS,
        }
    }
}

/// Errors of [`DbPool`].
#[derive(Debug)]
pub enum DbError {
    /// The configuration is not usable.
    Config(String),
    /// The driver failed.
    Sqlx(sqlx::Error),
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Config(m) => f.write_str(m),
            Self::Sqlx(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for DbError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Config(_) => None,
            Self::Sqlx(e) => Some(e),
        }
    }
}

/// Creates the SQLite file readable and writable by its owner only (0600) if it does not
/// exist yet; SQLite gives the `-wal` and `-shm` files the database file's permissions. An
/// existing file keeps the permissions it has. (It holds password hashes and session data:
/// OWASP Password Storage Cheat Sheet; ASVS 5.0 V13 "protect stored secrets".)
fn create_private(path: &std::path::Path) -> Result<(), DbError> {
    if path.as_os_str().is_empty() || path.to_str() == Some(":memory:") {
        return Ok(());
    }
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
    match open.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(DbError::Config(format!(
            "cannot create the SQLite file {}: {e}",
            path.display()
        ))),
    }
}

/// Default number of SQLite reader connections (`databases.rotor.sqlite_readers`).
pub const DEFAULT_SQLITE_READERS: u64 = 4;

/// The connection pool and the back end it talks to.
///
/// On SQLite, beside the writer pool (one connection by default), a pool of reader connections
/// ([`reader`](Self::reader)): in WAL mode they read the last committed state while the writer
/// commits, so the look-ups of the hot paths (a refresh's token, the access check's session, a
/// login's user) never queue behind a commit. They are `query_only`. On both back ends,
/// rotations are committed in groups ([`group`](Self::group)) and refresh tokens looked up in
/// batches ([`lookups`](Self::lookups)).
#[derive(Debug, Clone)]
pub struct DbPool {
    pool: AnyPool,
    readers: AnyPool,
    group: crate::store::group::GroupCommit,
    lookups: crate::store::lookup::Lookups,
    checkpoints: Option<crate::store::checkpoint::Checkpoints>,
    backend: Backend,
}

impl DbPool {
    /// The back end.
    #[must_use]
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The sqlx pool: every write, and every read that must see this process's own writes
    /// at once within one request.
    #[must_use]
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The pool for look-ups that the write that follows re-checks (or that need no more than
    /// the last committed state): SQLite's reader connections, or [`pool`](Self::pool) on
    /// PostgreSQL, on an in-memory SQLite database and with `sqlite_readers = 0`.
    #[must_use]
    pub fn reader(&self) -> &AnyPool {
        &self.readers
    }

    /// The group committer of rotations ([`crate::store::group`]).
    #[must_use]
    pub fn group(&self) -> &crate::store::group::GroupCommit {
        &self.group
    }

    /// The batched look-ups of presented refresh tokens ([`crate::store::lookup`]).
    #[must_use]
    pub fn lookups(&self) -> &crate::store::lookup::Lookups {
        &self.lookups
    }

    /// SQLite's background checkpoints ([`crate::store::checkpoint`]); `None` on PostgreSQL,
    /// on an in-memory database and with `sqlite_checkpoint_interval_ms = 0`.
    #[must_use]
    pub fn checkpoints(&self) -> Option<&crate::store::checkpoint::Checkpoints> {
        self.checkpoints.as_ref()
    }

    /// Connects to `url` with the settings read from a `databases.rotor` figment.
    ///
    /// # Errors
    /// [`DbError::Config`] for a bad URL, [`DbError::Sqlx`] if the database cannot be opened.
    pub async fn connect(figment: &Figment) -> Result<Self, DbError> {
        sqlx::any::install_default_drivers();
        let url: String = figment
            .extract_inner("url")
            .unwrap_or_else(|_| DEFAULT_URL.to_string());
        let backend = Backend::of(&url).map_err(DbError::Config)?;
        let get = |key: &str| figment.extract_inner::<u64>(key).ok();
        let default_max = match backend {
            Backend::Sqlite => DEFAULT_SQLITE_CONNECTIONS,
            Backend::Postgres => DEFAULT_POSTGRES_CONNECTIONS,
        };
        let max = get("max_connections").unwrap_or(default_max).clamp(1, 1024);
        let connect_timeout = get("connect_timeout").unwrap_or(5).max(1);
        let busy_ms = get("busy_timeout_ms").unwrap_or(DEFAULT_BUSY_TIMEOUT_MS);
        let synchronous = match figment.extract_inner::<String>("sqlite_synchronous") {
            Ok(text) => SqliteSynchronous::parse(&text).map_err(DbError::Config)?,
            Err(e) if e.missing() => SqliteSynchronous::Full,
            Err(e) => {
                return Err(DbError::Config(format!(
                    "databases.rotor.sqlite_synchronous: {e}"
                )))
            }
        };

        let wal_autocheckpoint = get("sqlite_wal_autocheckpoint")
            .unwrap_or(DEFAULT_SQLITE_WAL_AUTOCHECKPOINT)
            .min(1 << 30);

        let mut url = url;
        if backend == Backend::Sqlite {
            // Create the file and switch it to WAL once, on a connection of its own: the journal
            // mode is stored in the file, and changing it needs a lock that the busy timeout
            // cannot wait for (sqlx `SqliteConnectOptions::journal_mode`).
            let opts = SqliteConnectOptions::from_str(&url).map_err(DbError::Sqlx)?;
            create_private(opts.get_filename())?;
            let opts = opts
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .busy_timeout(Duration::from_millis(busy_ms));
            let conn = opts.connect().await.map_err(DbError::Sqlx)?;
            conn.close().await.map_err(DbError::Sqlx)?;
            if !url.contains("mode=") {
                url.push(if url.contains('?') { '&' } else { '?' });
                url.push_str("mode=rwc");
            }
        }

        let mut options = AnyPoolOptions::new()
            .max_connections(u32::try_from(max).unwrap_or(1))
            .acquire_timeout(Duration::from_secs(connect_timeout));
        if let Some(min) = get("min_connections") {
            options = options.min_connections(u32::try_from(min).unwrap_or(0));
        }
        if let Some(idle) = get("idle_timeout") {
            options = options.idle_timeout(Duration::from_secs(idle));
        }
        // No ping when a connection is taken from the pool, unless `test_before_acquire` asks
        // for it: sqlx pings every connection when it comes back (which also settles a
        // pending rollback), so an idle connection was sound when it was put back. An
        // in-process SQLite connection cannot be lost while idle; a PostgreSQL one can (a
        // restart, a proxy's idle timeout): its next request then fails with 503 and
        // `Retry-After`, and the connection is dropped. The ping would cost a round trip on
        // every request (deadpool-postgres' default recycling skips it the same way).
        let test_before_acquire = backend == Backend::Postgres
            && figment
                .extract_inner::<bool>("test_before_acquire")
                .unwrap_or(false);
        options = options.test_before_acquire(test_before_acquire);
        if backend == Backend::Sqlite {
            options = options.after_connect(move |conn, _| {
                Box::pin(async move {
                    conn.execute(format!("PRAGMA busy_timeout = {busy_ms}").as_str())
                        .await?;
                    let sync = synchronous.pragma();
                    conn.execute(format!("PRAGMA synchronous = {sync}").as_str())
                        .await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    conn.execute(
                        format!("PRAGMA wal_autocheckpoint = {wal_autocheckpoint}").as_str(),
                    )
                    .await?;
                    Ok(())
                })
            });
        }
        let pool = options.connect(&url).await.map_err(DbError::Sqlx)?;
        if backend == Backend::Postgres {
            return Ok(Self::assemble(pool.clone(), pool, backend));
        }
        let readers = get("sqlite_readers")
            .unwrap_or(DEFAULT_SQLITE_READERS)
            .min(64);
        let memory = url.contains(":memory:");
        let mut db = if readers == 0 || memory {
            Self::assemble(pool.clone(), pool, backend)
        } else {
            let readers = AnyPoolOptions::new()
                .max_connections(u32::try_from(readers).unwrap_or(1))
                .acquire_timeout(Duration::from_secs(connect_timeout))
                .test_before_acquire(false)
                .after_connect(move |conn, _| {
                    Box::pin(async move {
                        conn.execute(format!("PRAGMA busy_timeout = {busy_ms}").as_str())
                            .await?;
                        conn.execute("PRAGMA query_only = ON").await?;
                        Ok(())
                    })
                })
                .connect(&url)
                .await
                .map_err(DbError::Sqlx)?;
            Self::assemble(pool, readers, backend)
        };
        let every = get("sqlite_checkpoint_interval_ms")
            .unwrap_or(crate::store::checkpoint::DEFAULT_INTERVAL_MS);
        // An in-memory database has no WAL.
        if every > 0 && !memory {
            let mut conn = AnyConnection::connect(&url).await.map_err(DbError::Sqlx)?;
            conn.execute(format!("PRAGMA busy_timeout = {busy_ms}").as_str())
                .await
                .map_err(DbError::Sqlx)?;
            // A checkpoint flushes the database file unless `synchronous` is OFF: as the writer.
            let sync = synchronous.pragma();
            conn.execute(format!("PRAGMA synchronous = {sync}").as_str())
                .await
                .map_err(DbError::Sqlx)?;
            db.checkpoints = Some(crate::store::checkpoint::Checkpoints::start(
                conn,
                &db.group,
                Duration::from_millis(every),
            ));
        }
        Ok(db)
    }

    /// The pools with their two tasks: rotations committed in groups on the writer pool, refresh
    /// look-ups in batches on the readers.
    fn assemble(pool: AnyPool, readers: AnyPool, backend: Backend) -> Self {
        Self {
            group: crate::store::group::GroupCommit::start(pool.clone()),
            lookups: crate::store::lookup::Lookups::start(readers.clone()),
            checkpoints: None,
            pool,
            readers,
            backend,
        }
    }

    /// Applies the migrations of this back end (idempotent; PostgreSQL serialises concurrent
    /// runs from several replicas with an advisory lock).
    ///
    /// # Errors
    /// The migration error.
    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        self.backend.migrator().run(&self.pool).await
    }
}

#[rocket::async_trait]
impl Pool for DbPool {
    type Connection = PoolConnection<Any>;
    type Error = DbError;

    async fn init(figment: &Figment) -> Result<Self, Self::Error> {
        Self::connect(figment).await
    }

    async fn get(&self) -> Result<Self::Connection, Self::Error> {
        self.pool.acquire().await.map_err(DbError::Sqlx)
    }

    async fn close(&self) {
        // The checkpoint task's connection first: the last connection to close checkpoints the
        // WAL and removes it.
        if let Some(task) = &self.checkpoints {
            task.stop().await;
        }
        self.pool.close().await;
        self.readers.close().await;
    }
}

pub use self::database::Db;

// The derive expands to paths that the workspace lint `unused_qualifications` flags.
#[allow(unused_qualifications)]
mod database {
    use super::DbPool;
    use rocket_db_pools::Database;

    /// The database named `rotor` (`[default.databases.rotor]` or `ROCKET_DATABASES`).
    #[derive(Database, Debug)]
    #[database("rotor")]
    pub struct Db(DbPool);
}

/// Whether `err` means the database is unreachable or cannot take writes right now, rather than
/// a bug: such errors answer 503 with `Retry-After`.
#[must_use]
pub fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let Some(code) = db.code() else {
                return false;
            };
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                sqlite_unavailable(&code)
            } else {
                postgres_unavailable(&code)
            }
        }
        _ => false,
    }
}

/// SQLite result codes that mean "try again later": SQLITE_BUSY 5, LOCKED 6, READONLY 8,
/// IOERR 10, FULL 13, CANTOPEN 14 (primary codes; extended codes keep them in the low byte).
fn sqlite_unavailable(code: &str) -> bool {
    code.parse::<u32>()
        .is_ok_and(|n| matches!(n & 0xff, 5 | 6 | 8 | 10 | 13 | 14))
}

/// PostgreSQL SQLSTATEs that mean "try again later".
fn postgres_unavailable(code: &str) -> bool {
    // 08: connection exception; 53: insufficient resources (disk full, out of memory,
    // too many connections); 57P01-57P05: shutdown, crash, cannot connect now;
    // 40001/40P01: serialization failure, deadlock; 25006: read-only transaction (a standby).
    code.starts_with("08")
        || code.starts_with("53")
        || code.starts_with("57P")
        || code == "40001"
        || code == "40P01"
        || code == "25006"
}

/// On SQLite, unless `max_connections` is configured, a pool of [`DEFAULT_SQLITE_CONNECTIONS`]
/// rather than `rocket_db_pools`' default of workers × 4.
fn sqlite_pool_default(rocket: Rocket<Build>) -> Rocket<Build> {
    let figment = rocket.figment();
    let url = figment
        .extract_inner::<String>("databases.rotor.url")
        .unwrap_or_else(|_| DEFAULT_URL.to_string());
    if Backend::of(&url) != Ok(Backend::Sqlite)
        || figment.contains("databases.rotor.max_connections")
    {
        return rocket;
    }
    let figment = figment.clone().merge(Serialized::default(
        "databases.rotor.max_connections",
        DEFAULT_SQLITE_CONNECTIONS,
    ));
    rocket.configure(figment)
}

/// Attaches the pool (`Db::init()`) and runs the migrations once it is up.
#[must_use]
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("rotor database", |rocket| async {
        sqlite_pool_default(rocket)
            .attach(Db::init())
            .attach(AdHoc::try_on_ignite("rotor migrations", |rocket| async {
                let Some(db) = Db::fetch(&rocket) else {
                    return Err(rocket);
                };
                match db.migrate().await {
                    Ok(()) => {
                        log::info!(
                            "rotor: database ready ({:?}), migrations applied",
                            db.backend()
                        );
                        Ok(rocket)
                    }
                    Err(e) => {
                        log::error!("rotor: database migrations failed: {e}");
                        Err(rocket)
                    }
                }
            }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unavailable_codes() {
        for code in ["5", "517", "6", "13", "8", "10", "266", "14"] {
            assert!(sqlite_unavailable(code), "{code}");
        }
        for code in ["19", "2067", "1", "11"] {
            assert!(!sqlite_unavailable(code), "{code}");
        }
        for code in ["08006", "57P01", "53100", "40001", "40P01"] {
            assert!(postgres_unavailable(code), "{code}");
        }
        for code in ["23505", "42P01", "22001"] {
            assert!(!postgres_unavailable(code), "{code}");
        }
    }

    #[test]
    fn sqlite_pool_defaults_to_one_connection_unless_configured() {
        let max = |figment: Figment| {
            sqlite_pool_default(rocket::custom(figment))
                .figment()
                .extract_inner::<u64>("databases.rotor.max_connections")
                .ok()
        };
        let base = Figment::from(rocket::Config::default());
        assert_eq!(max(base.clone()), Some(DEFAULT_SQLITE_CONNECTIONS));
        let sqlite = base.clone().merge(("databases.rotor.url", "sqlite://x.db"));
        assert_eq!(max(sqlite.clone()), Some(DEFAULT_SQLITE_CONNECTIONS));
        assert_eq!(
            max(sqlite.merge(("databases.rotor.max_connections", 3))),
            Some(3)
        );
        let postgres = base.merge(("databases.rotor.url", "postgres://u@h/db"));
        assert_eq!(max(postgres), None);
    }

    #[test]
    fn backends_by_scheme() {
        assert_eq!(Backend::of("sqlite://rotor.db"), Ok(Backend::Sqlite));
        assert_eq!(Backend::of("sqlite::memory:"), Ok(Backend::Sqlite));
        assert_eq!(Backend::of("postgres://u@h/db"), Ok(Backend::Postgres));
        assert_eq!(Backend::of("postgresql://u@h/db"), Ok(Backend::Postgres));
        assert!(Backend::of("mysql://u@h/db").is_err());
    }
}
