//! Rate limits (GCRA, keyed, through `governor`), in managed state from `config::stage()`: per client IP and per account on `/login`,
//! per client IP on `/register` and `/refresh-token`. Over a limit the answer is 429 with
//! `Retry-After`, before any password is hashed (OWASP Authentication Cheat Sheet, "Login
//! Throttling"; ASVS 5.0 V6 brute-force protection).
//!
//! Each limit is `n` per minute with a burst of `n`: a real login page never meets it, a
//! guessing script does at once. `0` turns a limit off. Memory stays bounded: keys whose state
//! has returned to "fresh" are dropped every [`SWEEP_EVERY`] checks, so the map holds only
//! the keys seen within about a minute.
//!
//! A refused request is **held** before its 429 ([`Limits::hold`]): `rate_limit_delay` (default
//! 1 s, never longer than the `Retry-After` it carries), for at most `rate_limit_held` requests
//! at once (default 1024; beyond that the 429 goes out at once). A client that honours
//! `Retry-After` never notices. A script that ignores it and re-sends on every connection as
//! soon as it reads an answer gets one answer per connection per delay instead of thousands
//! a second, so the refusals stop costing the service the CPU its real users need (the
//! "delayed response" countermeasure of OWASP's *Blocking Brute Force Attacks*; nginx's
//! `limit_req` delays excess requests the same way). A held request costs a timer and the
//! connection it already has: no worker, no hash, no database.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use rocket::tokio;

use crate::config::Config;

/// How often (in checks) a limiter forgets the keys it no longer needs.
pub const SWEEP_EVERY: u64 = 4096;

/// Which limit a request met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// `rate_login_per_ip`.
    LoginPerIp,
    /// `rate_login_per_account`.
    LoginPerAccount,
    /// `rate_register_per_ip`.
    RegisterPerIp,
    /// `rate_refresh_per_ip`.
    RefreshPerIp,
}

impl Limit {
    /// A stable name for logs and metrics.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::LoginPerIp => "login_per_ip",
            Self::LoginPerAccount => "login_per_account",
            Self::RegisterPerIp => "register_per_ip",
            Self::RefreshPerIp => "refresh_per_ip",
        }
    }
}

/// Over a limit: which, and in how many whole seconds a retry may pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    /// The limit met.
    pub limit: Limit,
    /// `Retry-After`, in seconds (at least 1).
    pub retry_after: u64,
}

struct Keyed<K: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
    checks: AtomicU64,
}

impl<K: Hash + Eq + Clone> Keyed<K> {
    fn new(per_minute: u32) -> Option<Self> {
        NonZeroU32::new(per_minute).map(|n| Self {
            limiter: RateLimiter::dashmap(Quota::per_minute(n).allow_burst(n)),
            checks: AtomicU64::new(0),
        })
    }

    fn check(&self, key: &K, limit: Limit) -> Result<(), Limited> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            Limited {
                limit,
                retry_after: wait.as_secs().saturating_add(1),
            }
        })
    }
}

fn check<K: Hash + Eq + Clone>(l: Option<&Keyed<K>>, key: &K, limit: Limit) -> Result<(), Limited> {
    l.map_or(Ok(()), |l| l.check(key, limit))
}

/// Every limit of the service, in managed state.
pub struct Limits {
    login_ip: Option<Keyed<IpAddr>>,
    login_account: Option<Keyed<String>>,
    register_ip: Option<Keyed<IpAddr>>,
    refresh_ip: Option<Keyed<IpAddr>>,
    delay: Duration,
    held: tokio::sync::Semaphore,
}

impl Limits {
    /// The limits `cfg` asks for.
    #[must_use]
    pub fn from_config(cfg: &Config) -> Self {
        Self {
            login_ip: Keyed::new(cfg.rate_login_per_ip),
            login_account: Keyed::new(cfg.rate_login_per_account),
            register_ip: Keyed::new(cfg.rate_register_per_ip),
            refresh_ip: Keyed::new(cfg.rate_refresh_per_ip),
            delay: Duration::from_secs(cfg.rate_limit_delay.0),
            held: tokio::sync::Semaphore::new(
                cfg.rate_limit_held.min(tokio::sync::Semaphore::MAX_PERMITS),
            ),
        }
    }

    /// Holds a refused request for `rate_limit_delay` (at most its `Retry-After`) before it is
    /// answered, if fewer than `rate_limit_held` are held already; returns what is left of the
    /// wait, for the `Retry-After` of the 429 (at least 1 s).
    pub async fn hold(&self, l: Limited) -> Limited {
        let delay = self.delay.min(Duration::from_secs(l.retry_after));
        if delay.is_zero() {
            return l;
        }
        let Ok(_slot) = self.held.try_acquire() else {
            return l;
        };
        tokio::time::sleep(delay).await;
        Limited {
            retry_after: l.retry_after.saturating_sub(delay.as_secs()).max(1),
            ..l
        }
    }

    /// A login attempt from `ip` for `account` (the normalised login name): the IP's limit
    /// first, so a flood from one address does not lock the account for everyone else.
    ///
    /// # Errors
    /// [`Limited`] when over either limit.
    pub fn login(&self, ip: IpAddr, account: &str) -> Result<(), Limited> {
        check(self.login_ip.as_ref(), &ip, Limit::LoginPerIp)?;
        check(
            self.login_account.as_ref(),
            &account.to_owned(),
            Limit::LoginPerAccount,
        )
    }

    /// A registration from `ip`.
    ///
    /// # Errors
    /// [`Limited`] when over the limit.
    pub fn register(&self, ip: IpAddr) -> Result<(), Limited> {
        check(self.register_ip.as_ref(), &ip, Limit::RegisterPerIp)
    }

    /// A refresh from `ip`.
    ///
    /// # Errors
    /// [`Limited`] when over the limit.
    pub fn refresh(&self, ip: IpAddr) -> Result<(), Limited> {
        check(self.refresh_ip.as_ref(), &ip, Limit::RefreshPerIp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_count_per_key_and_zero_disables() {
        let cfg = Config {
            rate_login_per_ip: 3,
            rate_login_per_account: 2,
            rate_refresh_per_ip: 0,
            ..Config::default()
        };
        let l = Limits::from_config(&cfg);
        let (a, b): (IpAddr, IpAddr) = ("127.0.0.1".parse().unwrap(), "127.0.0.2".parse().unwrap());
        assert!(l.login(a, "x").is_ok());
        assert!(l.login(a, "y").is_ok());
        assert!(l.login(a, "z").is_ok());
        let over = l.login(a, "w").unwrap_err();
        assert_eq!(over.limit, Limit::LoginPerIp);
        assert!((1..=61).contains(&over.retry_after), "{over:?}");
        // Another address: its own budget, but the account `x` has one attempt left.
        assert!(l.login(b, "x").is_ok());
        assert_eq!(l.login(b, "x").unwrap_err().limit, Limit::LoginPerAccount);
        for _ in 0..10_000 {
            assert!(l.refresh(a).is_ok());
        }
    }
}
