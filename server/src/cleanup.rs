//! Periodic removal of expired sessions and refresh tokens.

use std::time::Duration;

use rocket::fairing::AdHoc;
use rocket::tokio;
use rocket_db_pools::Database;

use crate::config::Config;
use crate::db::{Db, DbPool};
use crate::store::{self, Swept};
use crate::tokens;

/// Sessions (with their tokens) or tokens deleted per transaction, so a sweep never holds the
/// write lock long: at a million sessions a batch of 500 took over half a second on SQLite.
pub const BATCH: i64 = 100;
/// Batches per table per sweep.
pub const MAX_BATCHES: u32 = 500;

/// Deletes what expired before `now` minus the leeway (an expired token no longer verifies, so
/// its row can go: the successor chain of a live session is never expired).
///
/// # Errors
/// Driver errors.
pub async fn sweep(db: &DbPool, cfg: &Config, now: u64) -> Result<Swept, sqlx::Error> {
    let cutoff = now.saturating_sub(cfg.token_leeway.saturating_add(60));
    store::cleanup(
        db.pool(),
        i64::try_from(cutoff).unwrap_or(i64::MAX),
        BATCH,
        MAX_BATCHES,
    )
    .await
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
