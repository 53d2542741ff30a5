//! Security and audit events: one structured line each (`rotor security event: {json}`,
//! `rotor audit: {json}`), written to standard output beside Rocket's log whatever its log
//! level, so they stay on in the release profile (whose Rocket log level is `critical`).
//!
//! The lines are rate limited (`event_lines_per_second`, GCRA through `governor`) so a flood of
//! failed logins cannot fill the disk; lines dropped are counted and the next line written
//! says how many (`"suppressed": n`). OWASP Logging Cheat Sheet: log authentication failures
//! and rate-limit hits, never passwords or tokens.

use std::io::Write;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde_json::Value;

static LIMITER: OnceLock<Option<DefaultDirectRateLimiter>> = OnceLock::new();
static OFF: AtomicBool = AtomicBool::new(false);
static SUPPRESSED: AtomicU64 = AtomicU64::new(0);

/// Sets the line budget per second (0: no limit; the first call wins, before any call the
/// budget is 50 lines per second), and whether the lines are written at all: only an explicit
/// Rocket `log_level = "off"` turns them off.
pub fn init(lines_per_second: u32, off: bool) {
    let _ = LIMITER.get_or_init(|| limiter(lines_per_second));
    OFF.store(off, Ordering::Relaxed);
}

fn limiter(lines_per_second: u32) -> Option<DefaultDirectRateLimiter> {
    NonZeroU32::new(lines_per_second).map(|n| RateLimiter::direct(Quota::per_second(n)))
}

fn write(prefix: &str, mut event: Value) {
    if OFF.load(Ordering::Relaxed) {
        return;
    }
    let allowed = LIMITER
        .get_or_init(|| limiter(50))
        .as_ref()
        .is_none_or(|l| l.check().is_ok());
    if !allowed {
        SUPPRESSED.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let suppressed = SUPPRESSED.swap(0, Ordering::Relaxed);
    if suppressed > 0 {
        if let Some(map) = event.as_object_mut() {
            map.insert("suppressed".into(), suppressed.into());
        }
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{prefix}{event}");
}

/// A security event: reuse, refused cross-site requests, failed logins, rate-limit hits.
pub fn security(event: Value) {
    write("rotor security event: ", event);
}

/// An audit event: sessions started and ended, late replays answered.
pub fn audit(event: Value) {
    write("rotor audit: ", event);
}
