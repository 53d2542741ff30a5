//! Grouped look-ups of presented refresh tokens.
//!
//! A refresh reads its token's row when its one-statement rotation changed nothing (a token
//! used already, an ended session: the row tells which), when the token carries no `auth_time`
//! (signed before the claim existed), and to log out by refresh token (`sessions::refresh`,
//! `sessions::owner_of`). One task takes every look-up
//! waiting (at most [`MAX_BATCH`]) and reads their rows in one statement (`WHERE t.jti IN (…)`,
//! [`lookup_sql`]), as [`super::group`] does for the rotations that follow. On PostgreSQL a
//! statement's fixed cost (its round trip, the backend's wake-up, executor start-up, the ping
//! sqlx sends when a connection comes back to the pool) was paid once per refresh; grouped, it
//! is paid once per batch. On SQLite the batch is one hop to a reader's worker thread instead
//! of one per refresh.
//!
//! A look-up reads the last committed state, as one alone does: the rotation's compare-and-set
//! re-checks what it depends on. A batch that fails on a statement's error is tried again one
//! look-up at a time, so each request gets its own answer (the error that concerns it, or its
//! row); one that fails because the database is unavailable answers every request with that
//! (a 503) at once.

use std::sync::{Arc, OnceLock};

use sqlx::AnyPool;

use super::batch::{Handle, Reply, Requests, Stats};
use super::{write_connection, PresentedRow};

/// Most look-ups in one statement.
pub const MAX_BATCH: usize = 32;

/// The handle of the look-up task (in [`crate::db::DbPool`]).
#[derive(Debug, Clone)]
pub struct Lookups(Handle<String, Option<PresentedRow>>);

impl Lookups {
    /// Starts the task on `pool` (the readers). Needs a Tokio runtime; the task ends when every
    /// handle is dropped.
    #[must_use]
    pub fn start(pool: AnyPool) -> Self {
        Self(Handle::start(|rx, stats| run(pool, rx, stats)))
    }

    /// `(batches, look-ups)` done so far: the mean batch size is their ratio.
    #[must_use]
    pub fn stats(&self) -> (u64, u64) {
        self.0.stats()
    }

    /// The row of the refresh token `jti` if its user still exists, with its session's start,
    /// in the next batch.
    ///
    /// # Errors
    /// The driver error of its statement; `PoolClosed` if the task has stopped.
    pub async fn find(&self, jti: &str) -> Result<Option<PresentedRow>, sqlx::Error> {
        self.0.call(jti.to_owned()).await
    }
}

async fn run(pool: AnyPool, mut rx: Requests<String, Option<PresentedRow>>, stats: Arc<Stats>) {
    let mut waiting = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut waiting, MAX_BATCH).await > 0 {
        let (jtis, replies): (Vec<String>, Vec<Reply<Option<PresentedRow>>>) =
            waiting.drain(..).unzip();
        stats.count(jtis.len());
        for (reply, row) in replies.into_iter().zip(find_all(&pool, &jtis).await) {
            let _ = reply.send(row);
        }
    }
}

/// The rows of `jtis` in one statement; if it fails, each alone. One answer per `jti`, in order.
async fn find_all(
    pool: &AnyPool,
    jtis: &[String],
) -> Vec<Result<Option<PresentedRow>, sqlx::Error>> {
    match find(pool, jtis).await {
        Ok(rows) => jtis
            .iter()
            .map(|jti| Ok(rows.iter().find(|r| &r.token.jti == jti).cloned()))
            .collect(),
        Err(e) if jtis.len() == 1 => vec![Err(e)],
        // The database or the pool is unavailable: each alone would only wait as long again,
        // one after another, while every other refresh waits behind them.
        Err(e) if crate::db::is_unavailable(&e) => {
            log::warn!("rotor: a batch of {} look-ups failed ({e})", jtis.len());
            super::errors_for_all(e, jtis.len())
                .into_iter()
                .map(Err)
                .collect()
        }
        Err(e) => {
            log::warn!(
                "rotor: a batch of {} look-ups failed ({e}); one by one",
                jtis.len()
            );
            let mut answers = Vec::with_capacity(jtis.len());
            for jti in jtis {
                let one = find(pool, std::slice::from_ref(jti)).await;
                answers.push(one.map(|rows| rows.into_iter().next()));
            }
            answers
        }
    }
}

async fn find(pool: &AnyPool, jtis: &[String]) -> Result<Vec<PresentedRow>, sqlx::Error> {
    let Some((sql, size)) = lookup_sql(jtis.len()) else {
        return Ok(Vec::new());
    };
    let mut query = sqlx::query_as::<_, PresentedRow>(sql);
    // The list is padded to its statement's size with the last `jti` again.
    for k in 0..size {
        query = query.bind(&jtis[k.min(jtis.len() - 1)]);
    }
    let mut conn = write_connection(pool).await?;
    query.fetch_all(&mut *conn).await
}

/// The statement for `n` look-ups (1 to [`MAX_BATCH`]; `None` otherwise) and its number of
/// parameters: `n` rounded up to a power of two, so the six statements 1, 2, 4 … 32 stay in every
/// connection's statement cache beside the others.
#[must_use]
pub fn lookup_sql(n: usize) -> Option<(&'static str, usize)> {
    static SQL: [OnceLock<String>; 6] = [const { OnceLock::new() }; 6];
    if n == 0 || n > MAX_BATCH {
        return None;
    }
    let size = n.next_power_of_two();
    let cell = SQL.get(size.trailing_zeros() as usize)?;
    let sql = cell.get_or_init(|| {
        let list: Vec<String> = (1..=size).map(|i| format!("${i}")).collect();
        format!(
            "SELECT t.jti, t.session_id, t.user_id, t.fingerprint, t.issued_at, t.expires_at, \
             t.used_at, t.revoked_at, t.successor_jti, s.created_at AS session_created_at \
             FROM refresh_tokens t JOIN users u ON u.id = t.user_id \
             JOIN sessions s ON s.id = t.session_id WHERE t.jti IN ({})",
            list.join(", ")
        )
    });
    Some((sql, size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_sizes() {
        assert!(lookup_sql(0).is_none());
        assert!(lookup_sql(MAX_BATCH + 1).is_none());
        let (one, n) = lookup_sql(1).unwrap();
        assert_eq!(n, 1);
        assert!(one.ends_with("WHERE t.jti IN ($1)"));
        let (three, n) = lookup_sql(3).unwrap();
        assert_eq!(n, 4);
        assert!(three.ends_with("IN ($1, $2, $3, $4)"));
        assert_eq!(lookup_sql(4).unwrap().0, three);
        let (_, n) = lookup_sql(MAX_BATCH).unwrap();
        assert_eq!(n, MAX_BATCH);
        assert_eq!(lookup_sql(17).unwrap().1, 32);
    }
}
