//! Group commit of rotations.
//!
//! Rotations go to one task, which takes every rotation waiting (at most [`MAX_BATCH`]) and
//! commits them together; every answer is sent only after that commit, so each is as durable
//! as if it had committed alone.
//!
//! - **SQLite** has one writer at a time and, with `synchronous = FULL`, one fsync per commit:
//!   one rotation per commit made the fsync the bound of the whole service (PostgreSQL shares
//!   one WAL flush among the backends that commit together; SQLite has no such thing). A group
//!   is one `BEGIN IMMEDIATE` transaction: one lock, one fsync. Its SQL is handed to the
//!   connection's worker thread at once ([`batch_sql`]), so the write lock is held for the
//!   statements alone, never across a round trip to the async side. Within the transaction
//!   the rotations run one after another, each with the compare-and-set of
//!   [`super::rotate`]: two requests with the same token in one group are one winner and one
//!   `AlreadyUsed`, as in two transactions.
//! - **PostgreSQL**: one rotation alone is [`super::ROTATE_POSTGRES`]; several are one
//!   statement over a `VALUES` list ([`postgres_batch_sql`]): one round trip, one plan, one
//!   commit for the group instead of one each.
//!
//! If a group fails (a full disk, an I/O error, a deadlock with a revocation), it is rolled
//! back and its rotations are tried again one by one, so each gets its own answer: the error
//! that concerns it, or its outcome. A request that goes away does not cancel its rotation (it
//! may be in a group already); its answer is dropped, as when a client goes away after a
//! commit.

use std::sync::{Arc, OnceLock};

use rocket::tokio::sync::Notify;
use sqlx::{AnyConnection, AnyPool};

use super::batch::{Handle, Reply, Requests, Stats};
use super::{write_connection, Rotation, Seen, TokenRow};

/// Most rotations in one transaction.
pub const MAX_BATCH: usize = 32;

/// One rotation's data, as [`super::rotate`] takes it.
#[derive(Debug)]
pub struct Job {
    /// The presented token's `jti`.
    pub old_jti: String,
    /// The successor's row.
    pub successor: TokenRow,
    /// Unix seconds.
    pub now: i64,
    /// Where the request came from.
    pub seen: Seen,
    /// The SHA-256 fingerprint of the presented token: the compare-and-set changes its row only
    /// if the stored one is the same, so a refresh that has not looked its row up yet (the
    /// common case, see `sessions::refresh`) rotates only the exact token that row was written
    /// for. The token's signature was checked first (in constant time, by `rotor-core`); this
    /// compares two digests of it, which reveals nothing about a secret.
    pub old_fingerprint: Vec<u8>,
    /// The session's start as the presented token states it (`auth_time`): the successor's
    /// `exp` was capped from it, so the compare-and-set changes nothing unless the session row
    /// agrees.
    pub session_created_at: i64,
}

/// The handle of the committer task (in [`crate::db::DbPool`]).
#[derive(Debug, Clone)]
pub struct GroupCommit(Handle<Job, Rotation>);

impl GroupCommit {
    /// Starts the committer on `pool` (the writer pool). Needs a Tokio runtime; the task ends
    /// when every handle is dropped.
    #[must_use]
    pub fn start(pool: AnyPool) -> Self {
        Self(Handle::start(|rx, stats| run(pool, rx, stats)))
    }

    /// `(batches, rotations)` committed so far: the mean batch size is their ratio.
    #[must_use]
    pub fn stats(&self) -> (u64, u64) {
        self.0.stats()
    }

    /// The committer's counts, for a task that stops when the committer has
    /// ([`super::checkpoint`]).
    pub(crate) fn commits(&self) -> std::sync::Weak<Stats> {
        self.0.counts()
    }

    /// Notified at each group committed (or rolled back), and once when the committer has
    /// ended: what the checkpoint task waits for when it has nothing to copy.
    pub(crate) fn finishes(&self) -> Arc<Notify> {
        self.0.finishes()
    }

    /// Rotates as [`super::rotate`] does, in the next batch.
    ///
    /// # Errors
    /// The driver error of its commit; `PoolClosed` if the committer has stopped.
    pub async fn rotate(&self, job: Job) -> Result<Rotation, sqlx::Error> {
        self.0.call(job).await
    }
}

async fn run(pool: AnyPool, mut rx: Requests<Job, Rotation>, stats: Arc<Stats>) {
    let mut waiting = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut waiting, MAX_BATCH).await > 0 {
        // One checkout for as many batches as are waiting, up to `HOLD`: a checkout costs a
        // wake-up of the pool and sqlx's ping when the connection comes back (a round trip to
        // SQLite's worker thread or to PostgreSQL), once per batch otherwise. Then the
        // connection goes back, and a login or logout waiting for it (SQLite has one writer)
        // is next in the pool's queue.
        let conn = match write_connection(&pool).await {
            Ok(conn) => conn,
            Err(e) => {
                // No connection within the acquire timeout (or none can be opened): every
                // rotation waiting gets that error (503) now, instead of one more wait each.
                log::warn!("rotor: no connection for {} rotations ({e})", waiting.len());
                let errors = super::errors_for_all(e, waiting.len());
                for ((_, reply), e) in waiting.drain(..).zip(errors) {
                    let _ = reply.send(Err(e));
                }
                continue;
            }
        };
        let mut conn = Some(conn);
        for round in 0..HOLD {
            if round > 0 {
                if rx.is_empty() {
                    break;
                }
                rx.recv_many(&mut waiting, MAX_BATCH).await;
            }
            let (jobs, replies): (Vec<Job>, Vec<Reply<Rotation>>) = waiting.drain(..).unzip();
            stats.count(jobs.len());
            let outcomes = match conn.as_mut() {
                Some(c) => match commit_on(c, &jobs).await {
                    Ok(outcomes) => outcomes.into_iter().map(Ok).collect(),
                    Err(e) => {
                        // A connection that failed is not kept; the retries take new ones.
                        conn = None;
                        retry(&pool, &jobs, e).await
                    }
                },
                None => commit_all(&pool, &jobs).await,
            };
            stats.finish();
            for (reply, outcome) in replies.into_iter().zip(outcomes) {
                let _ = reply.send(outcome);
            }
        }
    }
}

/// Most batches committed on one checkout while more keep waiting: a login waits for at most
/// this many group commits (a few milliseconds each) to get SQLite's one writer.
const HOLD: usize = 8;

/// Commits `jobs` in one transaction; if that fails, each alone. One answer per job, in order.
pub async fn commit_all(pool: &AnyPool, jobs: &[Job]) -> Vec<Result<Rotation, sqlx::Error>> {
    match commit(pool, jobs).await {
        Ok(outcomes) => outcomes.into_iter().map(Ok).collect(),
        Err(e) => retry(pool, jobs, e).await,
    }
}

/// After `jobs` failed together with `e`: the error for a job alone, else each job alone.
async fn retry(pool: &AnyPool, jobs: &[Job], e: sqlx::Error) -> Vec<Result<Rotation, sqlx::Error>> {
    if jobs.len() == 1 {
        return vec![Err(e)];
    }
    log::warn!(
        "rotor: a batch of {} rotations failed ({e}); one by one",
        jobs.len()
    );
    let mut answers = Vec::with_capacity(jobs.len());
    for job in jobs {
        let one = commit(pool, std::slice::from_ref(job)).await;
        answers.push(one.and_then(|o| {
            o.first()
                .copied()
                .ok_or_else(|| sqlx::Error::Protocol("empty rotation batch".into()))
        }));
    }
    answers
}

async fn commit(pool: &AnyPool, jobs: &[Job]) -> Result<Vec<Rotation>, sqlx::Error> {
    let mut conn = write_connection(pool).await?;
    commit_on(&mut conn, jobs).await
}

/// Commits `jobs` on `conn`, one outcome per job, in order: [`batch_sql`] on SQLite;
/// on PostgreSQL [`super::ROTATE_POSTGRES`] for one job and [`postgres_batch_sql`] for several.
///
/// # Errors
/// The driver error; nothing of the batch is recorded.
pub async fn commit_on(
    conn: &mut AnyConnection,
    jobs: &[Job],
) -> Result<Vec<Rotation>, sqlx::Error> {
    if conn.backend_name() == super::POSTGRES {
        postgres_commit_on(conn, jobs).await
    } else {
        sqlite_commit_on(conn, jobs).await
    }
}

fn bind_jobs<'q, O>(
    mut query: sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>>,
    jobs: &'q [Job],
) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>> {
    for j in jobs {
        query = query
            .bind(j.now)
            .bind(j.successor.expires_at)
            .bind(&j.successor.session_id)
            .bind(&j.successor.jti)
            .bind(&j.old_jti)
            .bind(&j.successor.user_id)
            .bind(&j.successor.fingerprint)
            .bind(j.successor.issued_at)
            .bind(&j.seen.ip)
            .bind(&j.seen.user_agent)
            .bind(&j.old_fingerprint)
            .bind(j.session_created_at);
    }
    query
}

/// Runs [`batch_sql`]. A statement that fails stops the batch, maybe inside its transaction:
/// that is rolled back before the error is returned (SQLite refuses the `ROLLBACK` when it
/// already rolled back by itself, after a full disk or an I/O error: that refusal is
/// expected). sqlx does not know of this transaction.
async fn sqlite_commit_on(
    conn: &mut AnyConnection,
    jobs: &[Job],
) -> Result<Vec<Rotation>, sqlx::Error> {
    let Some(sql) = batch_sql(jobs.len()) else {
        return Ok(Vec::new());
    };
    let query = bind_jobs(sqlx::query_as::<_, (i64, i64)>(sql), jobs);
    match query.fetch_all(&mut *conn).await {
        Ok(rows) => rows_of(jobs, rows),
        Err(e) => {
            if let Err(rollback) = sqlx::query("ROLLBACK").execute(&mut *conn).await {
                log::debug!("rotor: rollback after a failed rotation batch: {rollback}");
            }
            Err(e)
        }
    }
}

/// Runs the one statement of [`super::ROTATE_POSTGRES`] (one job) or [`postgres_batch_sql`]
/// (several), in autocommit: a failed statement commits nothing.
async fn postgres_commit_on(
    conn: &mut AnyConnection,
    jobs: &[Job],
) -> Result<Vec<Rotation>, sqlx::Error> {
    if jobs.len() == 1 {
        let row = bind_jobs(
            sqlx::query_as::<_, (i64, i64)>(super::ROTATE_POSTGRES),
            jobs,
        )
        .fetch_one(&mut *conn)
        .await?;
        return rows_of(jobs, vec![row]);
    }
    let Some(sql) = postgres_batch_sql(jobs.len()) else {
        return Ok(Vec::new());
    };
    let mut rows: Vec<(i64, i64, i64)> = bind_jobs(sqlx::query_as(sql), jobs)
        .fetch_all(&mut *conn)
        .await?;
    rows.sort_unstable_by_key(|r| r.0);
    rows_of(jobs, rows.into_iter().map(|(_, a, w)| (a, w)).collect())
}

fn rows_of(jobs: &[Job], rows: Vec<(i64, i64)>) -> Result<Vec<Rotation>, sqlx::Error> {
    if rows.len() == jobs.len() {
        Ok(rows.into_iter().map(outcome).collect())
    } else {
        Err(sqlx::Error::Protocol(format!(
            "rotation batch of {} gave {} rows",
            jobs.len(),
            rows.len()
        )))
    }
}

/// `(active, won)` of one job: see [`batch_sql`].
fn outcome((active, won): (i64, i64)) -> Rotation {
    if won > 0 {
        Rotation::Rotated
    } else if active > 0 {
        Rotation::AlreadyUsed
    } else {
        Rotation::SessionInactive
    }
}

/// Parameters per job, in the order of [`super::ROTATE_POSTGRES`]: now, the successor's
/// `expires_at`, session id, successor `jti`, old `jti`, user id, fingerprint, `issued_at`, IP,
/// user agent, the old token's fingerprint, the session's start.
const PARAMS: usize = 12;

/// One rotation of the batch, its parameters numbered from `$(o+1)`:
///
/// - the compare-and-set marks the old token used only if it is unused, of this user, with this
///   fingerprint, and its session active with this start;
/// - the successor is inserted only if the compare-and-set changed a row, and the session is
///   touched only if that insert did (`changes()`: the rows of the statement just before);
/// - one row: `(active, won)`, where `won` is the touch's `changes()`, 1 exactly when this
///   rotation won, and `active` tells an ended session from a token used already, as on
///   PostgreSQL. It is read inside the transaction, so nothing can change it in between.
fn rotation_sql(o: usize) -> String {
    let p = |n: usize| format!("${}", o + n);
    let (now, exp, sid, new, old) = (p(1), p(2), p(3), p(4), p(5));
    let (user, fp, iat, ip, ua) = (p(6), p(7), p(8), p(9), p(10));
    let (old_fp, started) = (p(11), p(12));
    format!(
        "UPDATE refresh_tokens SET used_at = {now}, successor_jti = {new} \
         WHERE jti = {old} AND session_id = {sid} AND user_id = {user} \
         AND fingerprint = {old_fp} AND used_at IS NULL AND revoked_at IS NULL \
         AND EXISTS (SELECT 1 FROM sessions WHERE id = {sid} AND revoked_at IS NULL \
         AND created_at = {started}); \
         INSERT INTO refresh_tokens (jti, session_id, user_id, fingerprint, issued_at, expires_at) \
         SELECT {new}, {sid}, {user}, {fp}, {iat}, {exp} WHERE changes() = 1; \
         UPDATE sessions SET last_used_at = {now}, expires_at = {exp}, last_ip = {ip}, \
         last_user_agent = {ua} WHERE id = {sid} AND changes() = 1; \
         SELECT (SELECT count(*) FROM sessions WHERE id = {sid} AND revoked_at IS NULL), \
         changes(); "
    )
}

/// The SQL of a batch of `n` rotations (1 to [`MAX_BATCH`]; `None` otherwise), built once per
/// size and then a cached prepared statement on each connection: `BEGIN IMMEDIATE` (the write
/// lock up front, [`super::begin_write`]), every rotation with its row (`rotation_sql`), in
/// order, then `COMMIT`. Nothing can interleave: the lock is the whole database's, taken
/// before the first read.
#[must_use]
pub fn batch_sql(n: usize) -> Option<&'static str> {
    static SQL: [OnceLock<String>; MAX_BATCH] = [const { OnceLock::new() }; MAX_BATCH];
    let cell = SQL.get(n.checked_sub(1)?)?;
    Some(cell.get_or_init(|| {
        let mut sql = String::from("BEGIN IMMEDIATE; ");
        for i in 0..n {
            sql.push_str(&rotation_sql(i * PARAMS));
        }
        sql.push_str("COMMIT;");
        sql
    }))
}

/// The PostgreSQL statement of a batch of `n` rotations (2 to [`MAX_BATCH`]; `None` otherwise):
/// [`super::ROTATE_POSTGRES`] over a `VALUES` list, one data-modifying statement in autocommit.
///
/// - `s` locks the active sessions of the batch, in `id` order, so two batches lock their
///   common sessions in the same order. Each token row is locked only after its session row
///   (`t` updates a token only if its session is in `s`): the lock order of one rotation and
///   of the revocations, family by family.
/// - `t` is the compare-and-set of every job whose session is active with the job's start,
///   re-checked on the newest row version as in the one-job statement. Two jobs with the same
///   token join the same row, which PostgreSQL updates once: one of them wins, the other reads
///   as already used.
/// - `i` inserts, and `u` touches the session of, exactly the jobs `t` returned. A session
///   has one live token, so at most one job per session wins, and `u` updates each session
///   row at most once.
/// - One row per job: its index, whether its session is active, whether it won.
#[must_use]
pub fn postgres_batch_sql(n: usize) -> Option<&'static str> {
    static SQL: [OnceLock<String>; MAX_BATCH] = [const { OnceLock::new() }; MAX_BATCH];
    if n < 2 {
        return None;
    }
    let cell = SQL.get(n - 1)?;
    Some(cell.get_or_init(|| {
        let rows: Vec<String> = (0..n)
            .map(|k| {
                let p = |i: usize| format!("${}", k * PARAMS + i);
                format!(
                    "({k}::int8, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
                    p(5),
                    p(4),
                    p(3),
                    p(6),
                    p(7),
                    p(8),
                    p(2),
                    p(9),
                    p(10),
                    p(1),
                    p(11),
                    p(12)
                )
            })
            .collect();
        format!(
            "WITH j (k, old, new, sid, usr, fp, iat, exp, ip, ua, now, ofp, started) \
               AS (VALUES {}), \
             s AS (SELECT id, created_at FROM sessions WHERE id IN (SELECT sid FROM j) \
               AND revoked_at IS NULL ORDER BY id FOR UPDATE), \
             t AS (UPDATE refresh_tokens r SET used_at = j.now, successor_jti = j.new FROM j \
               WHERE r.jti = j.old AND r.session_id = j.sid AND r.user_id = j.usr \
               AND r.fingerprint = j.ofp AND r.used_at IS NULL AND r.revoked_at IS NULL \
               AND (j.sid, j.started) IN (SELECT id, created_at FROM s) RETURNING j.new), \
             i AS (INSERT INTO refresh_tokens \
               (jti, session_id, user_id, fingerprint, issued_at, expires_at) \
               SELECT j.new, j.sid, j.usr, j.fp, j.iat, j.exp FROM j \
               WHERE j.new IN (SELECT new FROM t) RETURNING jti), \
             u AS (UPDATE sessions x SET last_used_at = j.now, expires_at = j.exp, \
               last_ip = j.ip, last_user_agent = j.ua FROM j \
               WHERE x.id = j.sid AND j.new IN (SELECT new FROM t) RETURNING x.id) \
             SELECT j.k, \
               CASE WHEN j.sid IN (SELECT id FROM s) THEN 1::int8 ELSE 0::int8 END, \
               CASE WHEN j.new IN (SELECT new FROM t) THEN 1::int8 ELSE 0::int8 END \
             FROM j",
            rows.join(", ")
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_sizes() {
        assert!(batch_sql(0).is_none());
        assert!(batch_sql(MAX_BATCH + 1).is_none());
        let two = batch_sql(2).unwrap();
        assert!(two.starts_with("BEGIN IMMEDIATE; UPDATE refresh_tokens"));
        assert!(two.ends_with("COMMIT;"));
        assert_eq!(two.matches("COMMIT").count(), 1);
        assert_eq!(two.matches(" SELECT (SELECT count(*)").count(), 2);
        // The second rotation's parameters run from $13 to $24.
        assert!(two.contains("$24") && !two.contains("$25"));
        assert!(batch_sql(MAX_BATCH)
            .unwrap()
            .contains(&format!("${}", MAX_BATCH * PARAMS)));
    }
}
