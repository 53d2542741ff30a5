//! Periodic removal of expired sessions and refresh tokens.

use std::future::Future;
use std::time::{Duration, Instant};

use rocket::fairing::AdHoc;
use rocket::tokio;
use rocket_db_pools::Database;

use crate::config::Config;
use crate::db::{Db, DbPool};
use crate::store::{self, Swept};
use crate::tokens;

/// Sessions (with their tokens) or tokens deleted per transaction, so a sweep never holds the
/// write lock long: at a million sessions a batch of 500 took over half a second on SQLite.
/// A refresh that arrives during a batch waits for it (SQLite's one writer, PostgreSQL's WAL
/// flush and the cores), so the batch sets how much a sweep adds to the refresh tail: with
/// one-statement refreshes (a 5 ms p99 on PostgreSQL), batches of 100 under load raised the
/// p99 1.30x and 1.34x in `bench/scale.sh`, batches of 25 1.11x, at 0.4x the rows swept per
/// second.
pub const BATCH: i64 = 25;
/// Batches per table per sweep: at most 50,000 rows of each table per `cleanup_interval`.
pub const MAX_BATCHES: u32 = 2000;
/// The sweeper's share of the time, in percent, while the server is answering refreshes: after
/// a batch during which refresh tokens were looked up or rotated, the sweeper rests nine times
/// as long as the batch took. With nothing else to do it rests as long as the batch (half the
/// time). Expired rows refuse nothing and serve nothing (an expired token no longer verifies),
/// so their removal can wait for a quiet moment; a refresh waiting behind a batch cannot: SQLite
/// has one writer, and on two cores PostgreSQL's deletes take CPU from the rotations (a backlog
/// swept at half the time raised refresh p99 1.6x on SQLite and 2.2x on PostgreSQL in
/// `bench/scale.sh`).
pub const BUSY_SHARE_PERCENT: u32 = 10;

/// Deletes what expired before `now` minus the leeway (an expired token no longer verifies, so
/// its row can go: the successor chain of a live session is never expired), in batches of
/// [`BATCH`], at most [`MAX_BATCHES`] per table, paced by [`BUSY_SHARE_PERCENT`].
///
/// # Errors
/// Driver errors.
pub async fn sweep(db: &DbPool, cfg: &Config, now: u64) -> Result<Swept, sqlx::Error> {
    let cutoff = now.saturating_sub(cfg.token_leeway.saturating_add(60));
    let cutoff = i64::try_from(cutoff).unwrap_or(i64::MAX);
    let pool = db.pool();
    Ok(Swept {
        sessions: batches(db, || store::sweep_sessions(pool, cutoff, BATCH)).await?,
        tokens: batches(db, || store::sweep_tokens(pool, cutoff, BATCH)).await?,
    })
}

/// Runs `one` batch after another until one deletes fewer than [`BATCH`] rows, resting between
/// two as [`rest`] says. Returns the rows deleted.
async fn batches<F, Fut>(db: &DbPool, mut one: F) -> Result<u64, sqlx::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<u64, sqlx::Error>>,
{
    let full = u64::try_from(BATCH).unwrap_or(u64::MAX);
    let mut deleted = 0;
    let mut seen = activity(db);
    for _ in 0..MAX_BATCHES {
        let started = Instant::now();
        let n = one().await?;
        deleted += n;
        if n < full {
            break;
        }
        let now_seen = activity(db);
        let busy = now_seen != seen;
        seen = now_seen;
        tokio::time::sleep(rest(started.elapsed(), busy)).await;
    }
    Ok(deleted)
}

/// Refresh-token look-ups and rotations done so far: when it moves, refreshes are being served.
fn activity(db: &DbPool) -> (u64, u64) {
    (db.lookups().stats().1, db.group().stats().1)
}

/// The rest after a batch that took `took`: as long again when the server was idle since the
/// last batch, so that the sweeper has [`BUSY_SHARE_PERCENT`] of the time when it was `busy`.
fn rest(took: Duration, busy: bool) -> Duration {
    if busy {
        took.saturating_mul(100 - BUSY_SHARE_PERCENT) / BUSY_SHARE_PERCENT
    } else {
        took
    }
}

/// Runs [`sweep`] every `cleanup_interval` seconds until shutdown (0 disables it).
#[must_use]
pub fn stage() -> AdHoc {
    AdHoc::on_liftoff("rotor expired-row sweeper", |rocket| {
        Box::pin(async move {
            let (Some(cfg), Some(db)) = (rocket.state::<Config>(), Db::fetch(rocket)) else {
                return;
            };
            let every = cfg.cleanup_interval.0;
            if every == 0 {
                return;
            }
            let (cfg, pool) = (cfg.clone(), (**db).clone());
            let mut shutdown = rocket.shutdown();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(every));
                loop {
                    tokio::select! {
                        _ = &mut shutdown => break,
                        _ = tick.tick() => match sweep(&pool, &cfg, tokens::now()).await {
                            Ok(s) if s.sessions + s.tokens > 0 => log::info!(
                                "rotor: removed {} expired sessions and {} expired tokens",
                                s.sessions, s.tokens
                            ),
                            Ok(_) => {}
                            Err(e) => log::warn!("rotor: expired-row sweep failed: {e}"),
                        },
                    }
                }
            });
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_rest_leaves_the_sweeper_its_share_and_idle_rest_half() {
        let took = Duration::from_millis(20);
        let busy = rest(took, true);
        assert_eq!(busy, Duration::from_millis(180));
        assert_eq!(
            took.as_micros() * 100 / (took + busy).as_micros(),
            u128::from(BUSY_SHARE_PERCENT)
        );
        assert_eq!(rest(took, false), took);
    }
}
