//! Argon2id password hashes (OWASP Password Storage Cheat Sheet), computed off the async
//! workers with `spawn_blocking`.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rocket::tokio;

use crate::config::Config;

/// Hashing could not be done: bad parameters, a failed task or a failed hash (already logged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordError(&'static str);

impl std::fmt::Display for PasswordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
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
        PasswordError("argon2 parameters")
    })?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// At most this many hashes run at once, one per core (at least two): each holds
/// `password_memory_kib` of memory, so unbounded concurrency would let a burst of logins
/// exhaust memory (OWASP Password Storage Cheat Sheet, "denial of service").
fn permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        tokio::sync::Semaphore::new(cores.max(2))
    })
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, PasswordError> {
    let _permit = permits().acquire().await.map_err(|e| {
        log::error!("rotor: password hashing queue closed: {e}");
        PasswordError("hashing queue closed")
    })?;
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        log::error!("rotor: password task failed: {e}");
        PasswordError("hashing task failed")
    })
}

/// Hashes `password` with a fresh random salt, as a PHC string.
///
/// # Errors
/// [`PasswordError`] (logged) if hashing fails.
pub async fn hash(cfg: &Config, password: String) -> Result<String, PasswordError> {
    let argon = hasher(cfg)?;
    blocking(move || {
        let salt = SaltString::generate(&mut crate::keys::rng());
        argon
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await?
    .map_err(|e| {
        log::error!("rotor: password hashing failed: {e}");
        PasswordError("hashing failed")
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
            PasswordError("hashing failed")
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
    let phc = match stored {
        Some(s) => s,
        None => dummy_hash(cfg)?,
    };
    let argon = hasher(cfg)?;
    let ok = blocking(move || {
        PasswordHash::new(&phc)
            .map(|parsed| argon.verify_password(password.as_bytes(), &parsed).is_ok())
            .unwrap_or(false)
    })
    .await?;
    Ok(ok && known)
}

#[cfg(test)]
mod tests {
    use super::*;

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
