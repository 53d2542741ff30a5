//! The commands that touch the database: `migrate`, `user add`, `session revoke`. They read
//! the same configuration as the server (Rocket.toml, `ROCKET_*`, the original variables).

use std::collections::HashMap;
use std::future::Future;
use std::io::IsTerminal;
use std::str::FromStr;

use clap::{Args, Subcommand};
use rocket::figment::Figment;
use rocket::tokio::runtime::Builder;
use sqlx::migrate::Migrate;
use sqlx::sqlite::SqliteConnectOptions;

use super::input::{self, InputError};
use super::{CliError, DbArgs, Outcome};
use rotor_server::config::Config;
use rotor_server::db::{Backend, DbPool, DEFAULT_URL};
use rotor_server::passwords::MAX_PASSWORD_BYTES;
use rotor_server::store;
use rotor_server::tokens;
use rotor_server::users::{self, PublicUser, UserError};

/// `migrate` flags.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Apply nothing: list pending migrations and exit 1 if there are any (or if an applied
    /// migration was changed since), 0 if the database is up to date.
    #[arg(long)]
    check: bool,
    #[command(flatten)]
    db: DbArgs,
}

/// `user` sub-commands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user, as POST /register does. The password is asked for on the terminal, or
    /// read from standard input when that is not a terminal (one line); never from a flag.
    Add {
        /// User name: 3 to 64 letters, digits, `_`, `.` or `-` (stored lower-cased).
        #[arg(long, value_name = "NAME")]
        username: String,
        /// E-mail address (stored lower-cased).
        #[arg(long, value_name = "EMAIL")]
        email: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

/// Which user: exactly one explicit selector. There is no "name, e-mail or id" guess: a user
/// name chosen to equal another user's id must not redirect an operator's command.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct UserSelector {
    /// The user's id.
    #[arg(long, value_name = "ID")]
    id: Option<String>,
    /// The user's e-mail address (any case).
    #[arg(long, value_name = "EMAIL")]
    email: Option<String>,
    /// The user's user name (any case).
    #[arg(long, value_name = "NAME")]
    username: Option<String>,
}

/// `session` sub-commands.
#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// List a user's active sessions, newest first (JSON).
    List {
        #[command(flatten)]
        user: UserSelector,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Log a user out everywhere: revoke every active session and its refresh tokens.
    /// Access tokens of those sessions stop working too (the server checks the session).
    Revoke {
        #[command(flatten)]
        user: UserSelector,
        #[command(flatten)]
        db: DbArgs,
    },
}

async fn find_user(pool: &sqlx::AnyPool, sel: &UserSelector) -> Result<store::UserRow, CliError> {
    let lookup = |e: sqlx::Error| CliError::failed(format!("cannot look the user up: {e}"));
    let (found, what) = match (&sel.id, &sel.email, &sel.username) {
        (Some(id), _, _) => (
            store::user_by_id(pool, id.trim()).await,
            format!("id `{id}`"),
        ),
        (_, Some(e), _) => (
            store::user_by_email(pool, &e.trim().to_lowercase()).await,
            format!("e-mail `{e}`"),
        ),
        (_, _, Some(u)) => (
            store::user_by_username(pool, &u.trim().to_lowercase()).await,
            format!("user name `{u}`"),
        ),
        _ => return Err(CliError::usage("give --id, --email or --username")),
    };
    found
        .map_err(lookup)?
        .ok_or_else(|| CliError::failed(format!("no user with the {what}")))
}

/// Rocket's figment (Rocket.toml, `ROCKET_*`), with `--database-url` over it.
fn figment(db: &DbArgs) -> Figment {
    let figment = rocket::Config::figment();
    match &db.database_url {
        Some(url) => figment.merge(("databases.rotor.url", url.as_str())),
        None => figment,
    }
}

fn config(figment: &Figment) -> Result<Config, CliError> {
    Config::from_figment(figment)
        .map_err(|e| CliError::usage(format!("invalid configuration: {e}")))
}

fn block_on<T>(f: impl Future<Output = Result<T, CliError>>) -> Result<T, CliError> {
    Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::failed(format!("cannot start the async runtime: {e}")))?
        .block_on(f)
}

fn database_url(figment: &Figment) -> String {
    figment
        .extract_inner::<String>("databases.rotor.url")
        .unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// Opens the configured database. Unless `create`, a SQLite file that does not exist is an
/// error instead of being created empty (a mistyped path must not look like a fresh database).
async fn open(figment: &Figment, create: bool) -> Result<DbPool, CliError> {
    let url = database_url(figment);
    let backend = Backend::of(&url).map_err(CliError::usage)?;
    if backend == Backend::Sqlite && !create && !url.contains(":memory:") {
        let opts = SqliteConnectOptions::from_str(&url)
            .map_err(|e| CliError::usage(format!("databases.rotor.url: {e}")))?;
        let path = opts.get_filename();
        if !path.exists() {
            return Err(CliError::failed(format!(
                "SQLite database `{}` does not exist: check databases.rotor.url / --database-url, \
                 or create it with `rotor-server migrate`",
                path.display()
            )));
        }
    }
    // No background checkpoints: a command commits no refreshes (`store::checkpoint`).
    let settings = figment
        .focus("databases.rotor")
        .merge(("sqlite_checkpoint_interval_ms", 0));
    DbPool::connect(&settings).await.map_err(|e| {
        CliError::failed(format!(
            "cannot open the {backend:?} database: {e} (is it running, and are \
                 databases.rotor.url / --database-url right?)"
        ))
    })
}

/// The migration state of the database.
struct Status {
    /// Versions and descriptions of migrations not applied yet.
    pending: Vec<(i64, String)>,
    /// Versions applied whose embedded script has changed since.
    changed: Vec<i64>,
    /// A migration that failed half-way.
    dirty: Option<i64>,
    /// How many migrations are applied.
    applied: usize,
}

async fn status(db: &DbPool) -> Result<Status, CliError> {
    let fail = |e: &dyn std::fmt::Display| {
        CliError::failed(format!("cannot read the migration state: {e}"))
    };
    let exists_sql = match db.backend() {
        Backend::Sqlite => {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'"
        }
        Backend::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'"
        }
    };
    let (tables,): (i64,) = sqlx::query_as(exists_sql)
        .fetch_one(db.pool())
        .await
        .map_err(|e| fail(&e))?;
    let (applied, dirty) = if tables > 0 {
        let mut conn = db.pool().acquire().await.map_err(|e| fail(&e))?;
        let dirty = conn.dirty_version().await.map_err(|e| fail(&e))?;
        let applied = conn.list_applied_migrations().await.map_err(|e| fail(&e))?;
        (applied, dirty)
    } else {
        (Vec::new(), None)
    };
    let by_version: HashMap<i64, &[u8]> = applied
        .iter()
        .map(|m| (m.version, m.checksum.as_ref()))
        .collect();
    let mut st = Status {
        pending: Vec::new(),
        changed: Vec::new(),
        dirty,
        applied: applied.len(),
    };
    for m in db.backend().migrator().iter() {
        if m.migration_type.is_down_migration() {
            continue;
        }
        match by_version.get(&m.version) {
            None => st.pending.push((m.version, m.description.to_string())),
            Some(sum) if *sum != m.checksum.as_ref() => st.changed.push(m.version),
            Some(_) => {}
        }
    }
    Ok(st)
}

/// Fails unless every migration is applied: the other commands need the current schema.
async fn require_current(db: &DbPool) -> Result<(), CliError> {
    let st = status(db).await?;
    if !st.pending.is_empty() || st.dirty.is_some() || !st.changed.is_empty() {
        return Err(CliError::failed(format!(
            "the database schema is not up to date ({} migration(s) pending): run `rotor-server migrate` first",
            st.pending.len()
        )));
    }
    Ok(())
}

/// `rotor-server migrate [--check]`.
///
/// # Errors
/// Exit 1 if the database cannot be opened, a migration fails, or (`--check`) any is pending.
pub fn migrate(args: &MigrateArgs) -> Outcome {
    let figment = figment(&args.db);
    block_on(async {
        let db = open(&figment, !args.check).await?;
        let before = status(&db).await?;
        if let Some(v) = before.dirty {
            return Err(CliError::failed(format!(
                "migration {v} failed part-way earlier: repair the database by hand, then delete its row from _sqlx_migrations"
            )));
        }
        if !before.changed.is_empty() {
            return Err(CliError::failed(format!(
                "applied migration(s) {:?} differ from the ones built into this binary: is this the right database and version?",
                before.changed
            )));
        }
        if args.check {
            for (v, d) in &before.pending {
                println!("pending: {v} {d}");
            }
            if before.pending.is_empty() {
                println!(
                    "up to date: {} migration(s) applied, none pending",
                    before.applied
                );
                return Ok(());
            }
            return Err(CliError::failed(format!(
                "{} migration(s) pending: run `rotor-server migrate`",
                before.pending.len()
            )));
        }
        db.migrate()
            .await
            .map_err(|e| CliError::failed(format!("migration failed: {e}")))?;
        for (v, d) in &before.pending {
            println!("applied: {v} {d}");
        }
        println!(
            "up to date: {} migration(s) applied now, {} before",
            before.pending.len(),
            before.applied
        );
        db.pool().close().await;
        Ok(())
    })
}

/// Runs a `user` sub-command.
///
/// # Errors
/// Exit 2 for an invalid name, e-mail or password; 1 if the user exists or the database fails.
pub fn user(cmd: UserCommand) -> Outcome {
    let UserCommand::Add {
        username,
        email,
        db,
    } = cmd;
    let (username, email) = users::normalise(&username, &email).map_err(user_error)?;
    let figment = figment(&db);
    let cfg = config(&figment)?;
    let password = read_password(&username)?;
    users::valid_password(&password).map_err(user_error)?;
    block_on(async {
        let db = open(&figment, false).await?;
        require_current(&db).await?;
        let created = users::register(&db, &cfg, &username, &email, password).await;
        db.pool().close().await;
        let user = created.map_err(|e| match e {
            UserError::Taken => CliError::failed(format!(
                "a user named `{username}` or with e-mail `{email}` already exists"
            )),
            other => user_error(other),
        })?;
        let json = serde_json::to_string(&PublicUser::from(&user))
            .map_err(|e| CliError::failed(e.to_string()))?;
        println!("{json}");
        Ok(())
    })
}

/// The command line's words for a [`UserError`]: rule breaks are usage errors (exit 2).
fn user_error(e: UserError) -> CliError {
    match e {
        UserError::InvalidUsername => {
            CliError::usage("--username must be 3 to 64 letters, digits, '_', '.' or '-'")
        }
        UserError::InvalidEmail => {
            CliError::usage("--email is not a valid e-mail address (name@example.com)")
        }
        UserError::PasswordTooShort => CliError::usage("Password must have at least 8 characters"),
        UserError::PasswordTooLong => CliError::usage("Password is too long"),
        UserError::Password(_) => CliError::failed("password hashing failed"),
        UserError::Database(e) => CliError::failed(format!("cannot add the user: {e}")),
        other => CliError::failed(other.to_string()),
    }
}

/// The new user's password: prompted twice on a terminal, else one line of standard input.
fn read_password(username: &str) -> Result<String, CliError> {
    if std::io::stdin().is_terminal() {
        let prompt = |p: &str| {
            rpassword::prompt_password(p)
                .map_err(|e| CliError::failed(format!("cannot read the password: {e}")))
        };
        let first = prompt(&format!("Password for {username}: "))?;
        let again = prompt("Same password again: ")?;
        if first != again {
            return Err(CliError::usage("the two passwords differ"));
        }
        return Ok(first);
    }
    let bytes = input::read_stdin(MAX_PASSWORD_BYTES + 2).map_err(|e| match e {
        InputError::TooLarge(_) => CliError::usage(format!(
            "password on standard input is longer than {MAX_PASSWORD_BYTES} bytes"
        )),
        other => CliError::failed(format!("cannot read standard input: {other:?}")),
    })?;
    let mut text = String::from_utf8(bytes)
        .map_err(|_| CliError::usage("password on standard input is not UTF-8 text"))?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    if text.contains('\n') {
        return Err(CliError::usage(
            "standard input has more than one line: give the password alone on one line",
        ));
    }
    if text.is_empty() {
        return Err(CliError::usage(
            "no password on standard input: pipe it in (e.g. from a password manager) or run on a terminal to be asked",
        ));
    }
    Ok(text)
}

/// Runs a `session` sub-command.
///
/// # Errors
/// Exit 1 if there is no such user or the database fails.
pub fn session(cmd: &SessionCommand) -> Outcome {
    let (SessionCommand::List { user, db } | SessionCommand::Revoke { user, db }) = cmd;
    let figment = figment(db);
    block_on(async {
        let db = open(&figment, false).await?;
        require_current(&db).await?;
        let pool = db.pool();
        let found = find_user(pool, user).await?;
        let now = i64::try_from(tokens::now()).unwrap_or(i64::MAX);
        let out = match cmd {
            SessionCommand::List { .. } => {
                let list = store::user_sessions(pool, &found.id, now)
                    .await
                    .map_err(|e| CliError::failed(format!("cannot list the sessions: {e}")))?;
                let sessions: Vec<serde_json::Value> = list
                    .iter()
                    .map(|s| {
                        serde_json::json!({
                            "id": s.id,
                            "createdAt": s.created_at,
                            "lastRefreshedAt": s.last_used_at,
                            "expiresAt": s.expires_at,
                            "login": {"ip": s.login_ip, "userAgent": s.login_user_agent},
                            "lastRefresh": {"ip": s.last_ip, "userAgent": s.last_user_agent},
                        })
                    })
                    .collect();
                serde_json::json!({"id": found.id, "username": found.username, "sessions": sessions})
            }
            SessionCommand::Revoke { .. } => {
                let n = store::revoke_user_sessions(pool, &found.id, "admin_revoke", now)
                    .await
                    .map_err(|e| CliError::failed(format!("cannot revoke the sessions: {e}")))?;
                serde_json::json!({"id": found.id, "username": found.username, "sessionsRevoked": n})
            }
        };
        db.pool().close().await;
        println!("{out}");
        Ok(())
    })
}
