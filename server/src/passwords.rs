//! Argon2id password hashes (OWASP Password Storage Cheat Sheet), computed off the async
//! workers with `spawn_blocking`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rocket::tokio;

use crate::config::Config;

/// Hashing could not be done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordError {
    /// Every hashing slot is taken and the queue is full: try again shortly (503).
    Busy,
    /// Bad parameters, a failed task or a failed hash (already logged).
    Failed(&'static str),
}

impl std::fmt::Display for PasswordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Busy => f.write_str("hashing queue full"),
            Self::Failed(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for PasswordError {}

/// Shortest password accepted (NIST SP 800-63B §5.1.1.2: at least 8 characters).
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest password accepted, in bytes: bounds the hashing work a request can cause.
pub const MAX_PASSWORD_BYTES: usize = 1024;

fn hasher(cfg: &Config) -> Result<Argon2<'static>, PasswordError> {
    let params = Params::new(
        cfg.password_memory_kib,
        cfg.password_iterations,
        cfg.password_parallelism,
        None,
    )
    .map_err(|e| {
        log::error!("rotor: argon2 parameters: {e}");
        PasswordError::Failed("argon2 parameters")
    })?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// The hashing slots and their bounded queue.
///
/// At most `password_concurrency` hashes run at once (default: one per core, at least two):
/// each holds `password_memory_kib` of memory, so unbounded concurrency would let a burst of
/// logins exhaust memory (OWASP Password Storage Cheat Sheet). At most `password_queue`
/// requests wait for a slot; one more is answered [`PasswordError::Busy`] at once (503 with
/// `Retry-After`), instead of after a queue of hashes it would only lengthen. There is one queue
/// per setting in a process (a server has one). Rocket tells a route nothing of a client that
/// has gone away, so a queued request is hashed even if its client left; the bound caps that.
struct Queue {
    permits: tokio::sync::Semaphore,
    waiting: AtomicUsize,
    max_waiting: usize,
}

/// The queues of the process, by (slots, queue length).
type Queues = Mutex<HashMap<(usize, usize), Arc<Queue>>>;

fn queue(cfg: &Config) -> Arc<Queue> {
    static QUEUES: OnceLock<Queues> = OnceLock::new();
    let slots = match cfg.password_concurrency {
        0 => std::thread::available_parallelism()
            .map_or(2, std::num::NonZeroUsize::get)
            .max(2),
        n => n,
    };
    let key = (slots, cfg.password_queue);
    let mut map = QUEUES
        .get_or_init(|| Mutex::new(HashMap::new()))
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    Arc::clone(map.entry(key).or_insert_with(|| {
        Arc::new(Queue {
            permits: tokio::sync::Semaphore::new(slots),
            waiting: AtomicUsize::new(0),
            max_waiting: cfg.password_queue,
        })
    }))
}

async fn blocking<T: Send + 'static>(
    cfg: &Config,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, PasswordError> {
    let q = queue(cfg);
    let _permit = match q.permits.try_acquire() {
        Ok(p) => p,
        Err(_) => {
            if q.waiting.fetch_add(1, Ordering::SeqCst) >= q.max_waiting {
                q.waiting.fetch_sub(1, Ordering::SeqCst);
                return Err(PasswordError::Busy);
            }
            let p = q.permits.acquire().await;
            q.waiting.fetch_sub(1, Ordering::SeqCst);
            p.map_err(|e| {
                log::error!("rotor: password hashing queue closed: {e}");
                PasswordError::Failed("hashing queue closed")
            })?
        }
    };
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        log::error!("rotor: password task failed: {e}");
        PasswordError::Failed("hashing task failed")
    })
}

/// Hashes `password` with a fresh random salt, as a PHC string.
///
/// # Errors
/// [`PasswordError`] (logged) if hashing fails.
pub async fn hash(cfg: &Config, password: String) -> Result<String, PasswordError> {
    let argon = hasher(cfg)?;
    blocking(cfg, move || {
        let salt = SaltString::generate(&mut crate::keys::rng());
        argon
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await?
    .map_err(|e| {
        log::error!("rotor: password hashing failed: {e}");
        PasswordError::Failed("hashing failed")
    })
}

/// A hash of a random password with the configured cost, checked when the user does not exist
/// so that an unknown login costs as much time as a wrong password (OWASP Authentication Cheat
/// Sheet: avoid user enumeration through response times).
fn dummy_hash(cfg: &Config) -> Result<String, PasswordError> {
    static DUMMY: OnceLock<(u32, u32, u32, String)> = OnceLock::new();
    let key = (
        cfg.password_memory_kib,
        cfg.password_iterations,
        cfg.password_parallelism,
    );
    if let Some((m, t, p, h)) = DUMMY.get() {
        if (*m, *t, *p) == key {
            return Ok(h.clone());
        }
    }
    let salt = SaltString::generate(&mut crate::keys::rng());
    let h = hasher(cfg)?
        .hash_password(crate::tokens::random_id().as_bytes(), &salt)
        .map_err(|e| {
            log::error!("rotor: password hashing failed: {e}");
            PasswordError::Failed("hashing failed")
        })?
        .to_string();
    let _ = DUMMY.set((key.0, key.1, key.2, h.clone()));
    Ok(h)
}

/// Checks `password` against a stored PHC string, or against a dummy hash when there is none.
///
/// # Errors
/// [`PasswordError`] (logged) if the task fails.
pub async fn verify(
    cfg: &Config,
    password: String,
    stored: Option<String>,
) -> Result<bool, PasswordError> {
    let known = stored.is_some();
    let argon = hasher(cfg)?;
    let owned = cfg.clone();
    // The dummy hash is computed (once per cost setting) inside the blocking task too: hashing
    // never runs on an async worker.
    let ok = blocking(cfg, move || {
        let phc = match stored {
            Some(s) => s,
            None => dummy_hash(&owned)?,
        };
        Ok::<_, PasswordError>(
            PasswordHash::new(&phc)
                .map(|parsed| argon.verify_password(password.as_bytes(), &parsed).is_ok())
                .unwrap_or(false),
        )
    })
    .await??;
    Ok(ok && known)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[rocket::async_test]
    async fn a_full_queue_answers_busy_at_once() {
        let cfg = Config {
            password_memory_kib: 64,
            password_iterations: 1,
            password_concurrency: 1,
            password_queue: 0,
            ..Config::default()
        };
        let q = queue(&cfg);
        let held = q.permits.acquire().await.unwrap(); // the one slot is busy
        let started = std::time::Instant::now();
        assert_eq!(
            hash(&cfg, "correct horse".into()).await,
            Err(PasswordError::Busy)
        );
        assert!(started.elapsed() < std::time::Duration::from_millis(100));
        drop(held);
        assert!(hash(&cfg, "correct horse".into()).await.is_ok());
    }

    #[rocket::async_test]
    async fn hash_and_verify() {
        let cfg = Config {
            password_memory_kib: 64,
            password_iterations: 1,
            ..Config::default()
        };
        let h = hash(&cfg, "correct horse".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert!(verify(&cfg, "correct horse".into(), Some(h.clone()))
            .await
            .unwrap());
        assert!(!verify(&cfg, "wrong horse".into(), Some(h)).await.unwrap());
        assert!(!verify(&cfg, "correct horse".into(), None).await.unwrap());
        assert!(!verify(&cfg, "x".into(), Some("not a phc".into()))
            .await
            .unwrap());
    }
}
