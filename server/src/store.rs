//! Every SQL statement of the service. The same text runs on SQLite and PostgreSQL through
//! `sqlx::Any` (`$n` placeholders, BIGINT Unix seconds, no bound NULLs), except where a back end
//! has a better form: the rotation is one statement on PostgreSQL ([`rotate`]).
//!
//! Every statement is a prepared statement cached per connection (sqlx's `persistent(true)`
//! default; 100 statements per connection on both back ends, far more than the two dozen
//! distinct statements here), so after a connection's first use of a statement only Bind and
//! Execute travel.
//!
//! Write transactions start with [`begin_write`]: `BEGIN IMMEDIATE` on SQLite.

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Connection, FromRow, Transaction};

mod batch;
pub mod cache;
pub mod checkpoint;
pub mod group;
pub mod lookup;

/// [`AnyConnection::backend_name`] of PostgreSQL connections.
pub(crate) const POSTGRES: &str = "PostgreSQL";
/// [`AnyConnection::backend_name`] of SQLite connections.
const SQLITE: &str = "SQLite";

/// A pooled connection for a write: one that sqlx does not believe to be inside a transaction.
///
/// When a commit fails with an I/O error or a full disk, SQLite may roll the transaction back
/// by itself; sqlx's own `ROLLBACK` then fails too and its bookkeeping still counts an open
/// transaction on that connection, so the next `BEGIN IMMEDIATE` would be refused
/// (`InvalidSavePointStatement`, a 500). Such a connection is closed and replaced. (The pool
/// pings a connection when it comes back, after any pending rollback, so the count is settled
/// by then.)
///
/// # Errors
/// Driver errors.
pub async fn write_connection(pool: &AnyPool) -> Result<PoolConnection<Any>, sqlx::Error> {
    let conn = pool.acquire().await?;
    if !conn.is_in_transaction() {
        return Ok(conn);
    }
    log::warn!("rotor: closing a database connection left inside a failed transaction");
    // Closing frees its place in the pool (of one, on SQLite) before the next acquire.
    let _ = conn.close().await;
    pool.acquire().await
}

/// `e` once per waiter of a batch (`n` of them) that failed before any statement concerned one
/// of them: a pool timeout, a lost connection. The first gets `e` itself, the others a copy of
/// the same kind for the status it maps to ([`crate::db::is_unavailable`]: 503).
pub(crate) fn errors_for_all(e: sqlx::Error, n: usize) -> Vec<sqlx::Error> {
    let copy = || match &e {
        sqlx::Error::PoolTimedOut => sqlx::Error::PoolTimedOut,
        sqlx::Error::PoolClosed => sqlx::Error::PoolClosed,
        other => sqlx::Error::Protocol(other.to_string()),
    };
    let mut all: Vec<sqlx::Error> = (1..n).map(|_| copy()).collect();
    all.insert(0, e);
    all
}

/// Starts a write transaction on `conn`: `BEGIN IMMEDIATE` on SQLite, plain `BEGIN` elsewhere.
///
/// A deferred SQLite `BEGIN` takes the write lock only at the first write, inside a read
/// snapshot: if another connection (a second pooled connection, `rotor-server session revoke`
/// in another process) committed meanwhile, the upgrade fails at once with `SQLITE_BUSY`
/// (`SQLITE_BUSY_SNAPSHOT`) and `busy_timeout` cannot help. `BEGIN IMMEDIATE` waits for the
/// write lock up front, under `busy_timeout`, and only then opens the snapshot. Dropping the
/// returned transaction without committing rolls it back, as with `pool.begin()`.
///
/// # Errors
/// Driver errors (on SQLite, `SQLITE_BUSY` once `busy_timeout` has passed).
pub async fn begin_write(conn: &mut AnyConnection) -> Result<Transaction<'_, Any>, sqlx::Error> {
    let statement = if conn.backend_name() == SQLITE {
        "BEGIN IMMEDIATE"
    } else {
        "BEGIN"
    };
    conn.begin_with(statement).await
}

/// A user row.
#[derive(Debug, Clone, FromRow)]
pub struct UserRow {
    /// Random id.
    pub id: String,
    /// Lower-cased user name.
    pub username: String,
    /// Lower-cased e-mail address.
    pub email: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Creation time.
    pub created_at: i64,
}

/// A session (token family) row.
#[derive(Debug, Clone, FromRow)]
pub struct SessionRow {
    /// Random id, the `sid` claim.
    pub id: String,
    /// Owner.
    pub user_id: String,
    /// When the session was revoked (logout, logout-all, reuse).
    pub revoked_at: Option<i64>,
}

/// A refresh-token row: the token itself is never stored, only its SHA-256 fingerprint.
#[derive(Debug, Clone, FromRow)]
pub struct TokenRow {
    /// The `jti` claim.
    pub jti: String,
    /// The session (family).
    pub session_id: String,
    /// The `sub` claim.
    pub user_id: String,
    /// SHA-256 of the token.
    pub fingerprint: Vec<u8>,
    /// The `iat` claim.
    pub issued_at: i64,
    /// The `exp` claim.
    pub expires_at: i64,
    /// When it was exchanged for its successor.
    pub used_at: Option<i64>,
    /// When its session was revoked.
    pub revoked_at: Option<i64>,
    /// The token it was exchanged for.
    pub successor_jti: Option<String>,
}

/// Where a request came from, as recorded on its session.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    /// Client IP, as text.
    pub ip: String,
    /// User agent, bounded.
    pub user_agent: String,
}

/// One active session as the session centre shows it.
#[derive(Debug, Clone, FromRow)]
pub struct SessionInfo {
    /// Session id.
    pub id: String,
    /// Started at.
    pub created_at: i64,
    /// Last refreshed at (the start, if never refreshed).
    pub last_used_at: i64,
    /// Ends at, unless refreshed.
    pub expires_at: i64,
    /// IP at login.
    pub login_ip: String,
    /// User agent at login.
    pub login_user_agent: String,
    /// IP at the last refresh.
    pub last_ip: String,
    /// User agent at the last refresh.
    pub last_user_agent: String,
}

/// Result of [`rotate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// This call marked the token used and recorded the successor.
    Rotated,
    /// The token was already used or revoked: another request won, or this is a replay.
    AlreadyUsed,
    /// The session was revoked or no longer exists.
    SessionInactive,
}

const TOKEN_COLUMNS: &str = "jti, session_id, user_id, fingerprint, issued_at, expires_at, \
                             used_at, revoked_at, successor_jti";

/// Inserts a user; `Ok(false)` if the user name or e-mail is taken.
///
/// # Errors
/// Driver errors other than the unique violation.
pub async fn insert_user(pool: &AnyPool, user: &UserRow) -> Result<bool, sqlx::Error> {
    let res = sqlx::query(
        "INSERT INTO users (id, username, email, password_hash, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&user.id)
    .bind(&user.username)
    .bind(&user.email)
    .bind(&user.password_hash)
    .bind(user.created_at)
    .execute(pool)
    .await;
    match res {
        Ok(_) => Ok(true),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
        Err(e) => Err(e),
    }
}

/// The user with this lower-cased e-mail or user name.
///
/// # Errors
/// Driver errors.
pub async fn user_by_login(pool: &AnyPool, login: &str) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, username, email, password_hash, created_at FROM users \
         WHERE email = $1 OR username = $1 LIMIT 1",
    )
    .bind(login)
    .fetch_optional(pool)
    .await
}

/// The user with this lower-cased e-mail address (the command line's `--email`).
///
/// # Errors
/// Driver errors.
pub async fn user_by_email(pool: &AnyPool, email: &str) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, username, email, password_hash, created_at FROM users WHERE email = $1",
    )
    .bind(email)
    .fetch_optional(pool)
    .await
}

/// The user with this lower-cased user name (the command line's `--username`).
///
/// # Errors
/// Driver errors.
pub async fn user_by_username(
    pool: &AnyPool,
    username: &str,
) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, username, email, password_hash, created_at FROM users WHERE username = $1",
    )
    .bind(username)
    .fetch_optional(pool)
    .await
}

/// The user with this id.
///
/// # Errors
/// Driver errors.
pub async fn user_by_id(pool: &AnyPool, id: &str) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as("SELECT id, username, email, password_hash, created_at FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// The user of an active (not revoked) session.
///
/// # Errors
/// Driver errors.
pub async fn active_session_user(
    pool: &AnyPool,
    session_id: &str,
    user_id: &str,
) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT u.id, u.username, u.email, u.password_hash, u.created_at \
         FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL",
    )
    .bind(session_id)
    .bind(user_id)
    .fetch_optional(pool)
    .await
}

async fn insert_token(tx: &mut Transaction<'_, Any>, t: &TokenRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO refresh_tokens (jti, session_id, user_id, fingerprint, issued_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&t.jti)
    .bind(&t.session_id)
    .bind(&t.user_id)
    .bind(&t.fingerprint)
    .bind(t.issued_at)
    .bind(t.expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Starts a session with its first refresh token, in one transaction.
///
/// # Errors
/// Driver errors.
pub async fn create_session(
    pool: &AnyPool,
    first: &TokenRow,
    seen: &Seen,
) -> Result<(), sqlx::Error> {
    let mut conn = write_connection(pool).await?;
    let mut tx = begin_write(&mut conn).await?;
    sqlx::query(
        "INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, \
         login_ip, login_user_agent, last_ip, last_user_agent) \
         VALUES ($1, $2, $3, $3, $4, $5, $6, $5, $6)",
    )
    .bind(&first.session_id)
    .bind(&first.user_id)
    .bind(first.issued_at)
    .bind(first.expires_at)
    .bind(&seen.ip)
    .bind(&seen.user_agent)
    .execute(&mut *tx)
    .await?;
    insert_token(&mut tx, first).await?;
    tx.commit().await
}

/// The refresh-token row with this `jti`.
///
/// # Errors
/// Driver errors.
pub async fn token_by_jti(pool: &AnyPool, jti: &str) -> Result<Option<TokenRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {TOKEN_COLUMNS} FROM refresh_tokens WHERE jti = $1"
    ))
    .bind(jti)
    .fetch_optional(pool)
    .await
}

/// A refresh-token row with what a refresh needs of its session.
#[derive(Debug, Clone, FromRow)]
pub struct PresentedRow {
    /// The token row.
    #[sqlx(flatten)]
    pub token: TokenRow,
    /// When its session started (for the absolute session lifetime).
    pub session_created_at: i64,
}

/// The user's active sessions (not revoked, not expired at `now`), newest first.
///
/// # Errors
/// Driver errors.
pub async fn user_sessions(
    pool: &AnyPool,
    user_id: &str,
    now: i64,
) -> Result<Vec<SessionInfo>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, created_at, last_used_at, expires_at, login_ip, login_user_agent, \
         last_ip, last_user_agent FROM sessions \
         WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 \
         ORDER BY created_at DESC, id DESC",
    )
    .bind(user_id)
    .bind(now)
    .fetch_all(pool)
    .await
}

/// Revokes the sessions of `user_id` chosen by `which` (`AND ...` over `sessions`, binding
/// `$4` onwards) and their tokens, in one write transaction; returns how many were active. The
/// user's sessions are then dropped from this process's access-check cache, also on an error.
async fn revoke_where(
    pool: &AnyPool,
    user_id: &str,
    reason: &str,
    now: i64,
    which: &str,
    arg: Option<&str>,
) -> Result<u64, sqlx::Error> {
    let res = revoke_where_rows(pool, user_id, reason, now, which, arg).await;
    cache::forget_user_sessions(user_id);
    res
}

async fn revoke_where_rows(
    pool: &AnyPool,
    user_id: &str,
    reason: &str,
    now: i64,
    which: &str,
    arg: Option<&str>,
) -> Result<u64, sqlx::Error> {
    let mut conn = write_connection(pool).await?;
    let mut tx = begin_write(&mut conn).await?;
    let sql = format!(
        "UPDATE sessions SET revoked_at = $1, revoked_reason = $2 \
         WHERE user_id = $3 AND revoked_at IS NULL {which}"
    );
    let mut q = sqlx::query(&sql).bind(now).bind(reason).bind(user_id);
    if let Some(a) = arg {
        q = q.bind(a);
    }
    let res = q.execute(&mut *tx).await?;
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = $1 WHERE revoked_at IS NULL AND session_id IN \
         (SELECT id FROM sessions WHERE user_id = $2 AND revoked_at = $1 AND revoked_reason = $3)",
    )
    .bind(now)
    .bind(user_id)
    .bind(reason)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(res.rows_affected())
}

/// Ends one session of `user_id`; `Ok(false)` if it is not theirs or not active (the caller
/// cannot tell which: another user's id looks unknown).
///
/// # Errors
/// Driver errors.
pub async fn revoke_own_session(
    pool: &AnyPool,
    user_id: &str,
    session_id: &str,
    reason: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    revoke_where(pool, user_id, reason, now, "AND id = $4", Some(session_id))
        .await
        .map(|n| n == 1)
}

/// Ends every session of `user_id` but `keep`; returns how many were active.
///
/// # Errors
/// Driver errors.
pub async fn revoke_other_sessions(
    pool: &AnyPool,
    user_id: &str,
    keep: &str,
    reason: &str,
    now: i64,
) -> Result<u64, sqlx::Error> {
    revoke_where(pool, user_id, reason, now, "AND id <> $4", Some(keep)).await
}

/// Ends the oldest active sessions of `user_id` beyond the newest `cap`; returns how many.
///
/// # Errors
/// Driver errors.
pub async fn enforce_session_cap(
    pool: &AnyPool,
    user_id: &str,
    cap: u32,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let keep = format!(
        "AND id NOT IN (SELECT id FROM sessions WHERE user_id = $3 AND revoked_at IS NULL \
         ORDER BY created_at DESC, id DESC LIMIT {cap})"
    );
    revoke_where(pool, user_id, "session_cap", now, &keep, None).await
}

/// The session with this id.
///
/// # Errors
/// Driver errors.
pub async fn session(pool: &AnyPool, id: &str) -> Result<Option<SessionRow>, sqlx::Error> {
    sqlx::query_as("SELECT id, user_id, revoked_at FROM sessions WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// Exchanges the job's old token for its successor, exactly once.
///
/// The lock is taken first: on PostgreSQL the session row's, which serialises every rotation
/// and revocation of one family on that row in the same order, so they cannot deadlock and a
/// revocation cannot miss a successor committed concurrently; on SQLite the database's write
/// lock. Then one compare-and-set marks the old token used and names its successor:
/// `UPDATE ... WHERE jti = $ AND used_at IS NULL AND revoked_at IS NULL`, which also re-checks
/// the row's user and fingerprint and the session's start against the job's. However many
/// requests race, the database lets exactly one of them change the row; only that one inserts
/// the successor row and extends the session.
///
/// - SQLite: one `BEGIN IMMEDIATE` transaction with the compare-and-set, the insert and the
///   touch, sent to the connection as one batch ([`group::batch_sql`]); the service commits
///   the rotations waiting together ([`group::GroupCommit`]).
/// - PostgreSQL: the same three steps as one data-modifying statement in autocommit, one round
///   trip on one connection ([`ROTATE_POSTGRES`]).
///
/// `conn` comes from [`write_connection`]. The service itself rotates through the group task
/// ([`group::GroupCommit`]); this is the same commit for one rotation on a caller's connection.
///
/// # Errors
/// Driver errors; nothing is recorded (the transaction is rolled back, or the single statement
/// did not commit).
pub async fn rotate(conn: &mut AnyConnection, job: &group::Job) -> Result<Rotation, sqlx::Error> {
    let outcomes = group::commit_on(conn, std::slice::from_ref(job)).await?;
    Ok(outcomes
        .first()
        .copied()
        .unwrap_or(Rotation::SessionInactive))
}

/// The rotation on PostgreSQL, one statement (READ COMMITTED, the default).
///
/// - `s` locks the session row if it is active. A concurrent rotation or revocation of the same
///   family holds that lock until it commits; PostgreSQL then re-checks `revoked_at IS NULL`
///   on the newest row version (EvalPlanQual), so a revoked session gives no row.
/// - `t` is the compare-and-set, of the token with this user and fingerprint in a session with
///   this start. `EXISTS (SELECT 1 FROM s …)` is uncorrelated: PostgreSQL runs it
///   first, as a one-time filter, so the token row is never locked before the session row (the
///   lock order of the transaction version, and of the revocations). The statement's snapshot
///   predates the wait for the session lock, so the token row may look unused in it; but an
///   `UPDATE` of a row changed by a transaction that committed after the snapshot re-checks its
///   `WHERE` on the newest version: a token used meanwhile gives no row.
/// - `i` inserts the successor and `u` extends the session only when `t` won, so a losing or
///   replayed token changes nothing (the transaction version rolled the touch back).
/// - `(count(s), count(t))`: `(0, 0)` session inactive, `(1, 0)` already used, `(1, 1)`
///   rotated. Data-modifying sub-statements always run to completion, read or not.
pub const ROTATE_POSTGRES: &str = "\
WITH s AS (\
  SELECT id, created_at FROM sessions WHERE id = $3 AND revoked_at IS NULL FOR UPDATE\
), t AS (\
  UPDATE refresh_tokens SET used_at = $1, successor_jti = $4 \
  WHERE jti = $5 AND session_id = $3 AND user_id = $6 AND fingerprint = $11 \
  AND used_at IS NULL AND revoked_at IS NULL \
  AND EXISTS (SELECT 1 FROM s WHERE created_at = $12) \
  RETURNING jti\
), i AS (\
  INSERT INTO refresh_tokens (jti, session_id, user_id, fingerprint, issued_at, expires_at) \
  SELECT $4, $3, $6, $7, $8, $2 FROM t \
  RETURNING jti\
), u AS (\
  UPDATE sessions SET last_used_at = $1, expires_at = $2, last_ip = $9, last_user_agent = $10 \
  WHERE id = $3 AND EXISTS (SELECT 1 FROM t) \
  RETURNING id\
) \
SELECT (SELECT count(*) FROM s) AS active, (SELECT count(*) FROM t) AS won";

/// Spends the session's one late replay: `Ok(true)` if the session is active and answered no
/// late replay since `since` (then it is recorded at `now`), `Ok(false)` otherwise. One
/// conditional update, so two racing late replays cannot both be answered.
///
/// # Errors
/// Driver errors.
pub async fn claim_late_replay(
    pool: &AnyPool,
    session_id: &str,
    now: i64,
    since: i64,
) -> Result<bool, sqlx::Error> {
    let res = sqlx::query(
        "UPDATE sessions SET late_replay_at = $1 \
         WHERE id = $2 AND revoked_at IS NULL \
         AND (late_replay_at IS NULL OR late_replay_at < $3)",
    )
    .bind(now)
    .bind(session_id)
    .bind(since)
    .execute(pool)
    .await?;
    Ok(res.rows_affected() == 1)
}

/// Revokes one session and every token in it; `Ok(true)` if it was active. The session is then
/// dropped from this process's access-check cache ([`cache::forget_session`]), also when the
/// outcome is unknown (an error).
///
/// # Errors
/// Driver errors.
pub async fn revoke_session(
    pool: &AnyPool,
    session_id: &str,
    reason: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let res = revoke_session_rows(pool, session_id, reason, now).await;
    cache::forget_session(session_id);
    res
}

async fn revoke_session_rows(
    pool: &AnyPool,
    session_id: &str,
    reason: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let mut conn = write_connection(pool).await?;
    let mut tx = begin_write(&mut conn).await?;
    let res = sqlx::query(
        "UPDATE sessions SET revoked_at = $1, revoked_reason = $2 \
         WHERE id = $3 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(reason)
    .bind(session_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = $1 WHERE session_id = $2 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(session_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(res.rows_affected() == 1)
}

/// Revokes every session of a user; returns how many were active. The sessions are then dropped
/// from this process's access-check cache ([`cache::forget_user_sessions`]), also when the
/// outcome is unknown (an error).
///
/// # Errors
/// Driver errors.
pub async fn revoke_user_sessions(
    pool: &AnyPool,
    user_id: &str,
    reason: &str,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let res = revoke_user_rows(pool, user_id, reason, now).await;
    cache::forget_user_sessions(user_id);
    res
}

async fn revoke_user_rows(
    pool: &AnyPool,
    user_id: &str,
    reason: &str,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let mut conn = write_connection(pool).await?;
    let mut tx = begin_write(&mut conn).await?;
    let res = sqlx::query(
        "UPDATE sessions SET revoked_at = $1, revoked_reason = $2 \
         WHERE user_id = $3 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(reason)
    .bind(user_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        // Through the user's sessions (`sessions_user_id`, then `refresh_tokens_session_id`):
        // `refresh_tokens.user_id` has no index, and filtering on it scanned every token (about
        // a second at 4 million tokens on SQLite, holding the writer; `bench/scale.sh`).
        "UPDATE refresh_tokens SET revoked_at = $1 WHERE revoked_at IS NULL AND session_id IN \
         (SELECT id FROM sessions WHERE user_id = $2)",
    )
    .bind(now)
    .bind(user_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(res.rows_affected())
}

/// Rows removed by a sweep ([`crate::cleanup::sweep`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Sessions deleted (with their tokens).
    pub sessions: u64,
    /// Tokens of live sessions deleted.
    pub tokens: u64,
}

/// Deletes, in one transaction, up to `batch` sessions that expired before `cutoff`, the oldest
/// first, with their tokens. Returns the sessions deleted.
///
/// # Errors
/// Driver errors.
pub async fn sweep_sessions(pool: &AnyPool, cutoff: i64, batch: i64) -> Result<u64, sqlx::Error> {
    let mut conn = write_connection(pool).await?;
    let mut tx = begin_write(&mut conn).await?;
    // Tokens first, explicitly, so the sweep does not depend on foreign-key cascades. The
    // batch is read in `expires_at` order, from the `sessions_expires_at` index: ordered by
    // `id`, SQLite walked the primary key and tested every session (a million, holding the
    // write lock, at every sweep: refresh p99 0.7 s in `bench/scale.sh`).
    sqlx::query(
        "DELETE FROM refresh_tokens WHERE session_id IN \
         (SELECT id FROM sessions WHERE expires_at < $1 ORDER BY expires_at LIMIT $2)",
    )
    .bind(cutoff)
    .bind(batch)
    .execute(&mut *tx)
    .await?;
    let n = sqlx::query(
        "DELETE FROM sessions WHERE id IN \
         (SELECT id FROM sessions WHERE expires_at < $1 ORDER BY expires_at LIMIT $2)",
    )
    .bind(cutoff)
    .bind(batch)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(n)
}

/// Deletes up to `batch` refresh tokens of live sessions that expired before `cutoff`. Returns
/// the tokens deleted.
///
/// # Errors
/// Driver errors.
pub async fn sweep_tokens(pool: &AnyPool, cutoff: i64, batch: i64) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "DELETE FROM refresh_tokens WHERE jti IN \
         (SELECT jti FROM refresh_tokens WHERE expires_at < $1 LIMIT $2)",
    )
    .bind(cutoff)
    .bind(batch)
    .execute(pool)
    .await?
    .rows_affected())
}

/// A round trip to the database.
///
/// # Errors
/// Driver errors.
pub async fn ping(pool: &AnyPool) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1").execute(pool).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_for_all_keep_their_status() {
        for e in [
            sqlx::Error::PoolTimedOut,
            sqlx::Error::Io(std::io::Error::other("connection reset")),
        ] {
            let all = errors_for_all(e, 3);
            assert_eq!(all.len(), 3);
            assert!(all.iter().all(crate::db::is_unavailable), "{all:?}");
        }
        assert_eq!(errors_for_all(sqlx::Error::PoolClosed, 1).len(), 1);
    }
}
