//! A short in-process cache for the access-token check ([`crate::guards::AuthUser`]): sessions
//! recently seen active (`access_check = "session"`) and users recently seen
//! (`access_check = "token"`), each entry trusted for at most `access_cache_ttl`.
//!
//! The cache is one per process, not one per Rocket instance, so that every revocation made
//! through this crate invalidates it: [`super::revoke_session`] and
//! [`super::revoke_user_sessions`] call [`forget_session`] and [`forget_user_sessions`] after
//! their commit, whichever route or command line tool (or future caller) revoked. Keys are
//! random 128-bit ids, and a hit must also match the token's `sub`, so instances on different
//! databases in one process (the test suite) cannot answer for each other.
//!
//! # Security
//! A session revoked by *another* process (another replica, `rotor-server session revoke`)
//! still passes the access check on this replica for up to `access_cache_ttl` after this
//! replica last looked it up. A revocation by this process takes effect at once: an insert
//! that raced with it is dropped (see [`Ticket`]).

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::UserRow;

/// Most entries kept per map; when full, the map is emptied (a burst of misses, never an error).
pub const CAPACITY: usize = 16_384;

#[derive(Default)]
struct Maps {
    /// Session id → its user and when the session was seen active.
    sessions: HashMap<String, (UserRow, Instant)>,
    /// User id → the user and when it was read.
    users: HashMap<String, (UserRow, Instant)>,
    /// Bumped by every revocation.
    epoch: u64,
}

static CACHE: LazyLock<Mutex<Maps>> = LazyLock::new(Mutex::default);

fn maps() -> MutexGuard<'static, Maps> {
    // Every critical section leaves the maps consistent, so a poisoned lock is still usable.
    CACHE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Taken before a database lookup whose answer is to be cached: [`remember_session`] drops the
/// answer if a revocation happened after the ticket was taken, since the lookup may predate it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket(u64);

/// A ticket for a lookup about to start.
#[must_use]
pub fn ticket() -> Ticket {
    Ticket(maps().epoch)
}

fn fresh(
    map: &mut HashMap<String, (UserRow, Instant)>,
    key: &str,
    ttl: Duration,
) -> Option<UserRow> {
    let (user, seen) = map.get(key)?;
    if seen.elapsed() < ttl {
        return Some(user.clone());
    }
    map.remove(key);
    None
}

fn insert(map: &mut HashMap<String, (UserRow, Instant)>, key: &str, user: &UserRow) {
    if map.len() >= CAPACITY && !map.contains_key(key) {
        map.clear();
    }
    map.insert(key.to_owned(), (user.clone(), Instant::now()));
}

/// The user of session `sid`, if it was seen active less than `ttl` ago and belongs to `sub`.
#[must_use]
pub fn active_session(sid: &str, sub: &str, ttl: Duration) -> Option<UserRow> {
    fresh(&mut maps().sessions, sid, ttl).filter(|u| u.id == sub)
}

/// Records that session `sid` of `user` was just seen active, unless a revocation happened
/// since `ticket` was taken.
pub fn remember_session(ticket: Ticket, sid: &str, user: &UserRow) {
    let mut maps = maps();
    if maps.epoch == ticket.0 {
        insert(&mut maps.sessions, sid, user);
    }
}

/// The user with id `id`, if read less than `ttl` ago.
#[must_use]
pub fn user(id: &str, ttl: Duration) -> Option<UserRow> {
    fresh(&mut maps().users, id, ttl)
}

/// Records a user row just read.
pub fn remember_user(user: &UserRow) {
    insert(&mut maps().users, &user.id, user);
}

/// Forgets session `sid` (it was just revoked).
pub fn forget_session(sid: &str) {
    let mut maps = maps();
    maps.epoch = maps.epoch.wrapping_add(1);
    maps.sessions.remove(sid);
}

/// Forgets every session of `user_id` (they were just revoked).
pub fn forget_user_sessions(user_id: &str) {
    let mut maps = maps();
    maps.epoch = maps.epoch.wrapping_add(1);
    maps.sessions.retain(|_, (user, _)| user.id != user_id);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str) -> UserRow {
        UserRow {
            id: id.into(),
            username: format!("name-{id}"),
            email: format!("{id}@example.com"),
            password_hash: String::new(),
            created_at: 0,
        }
    }

    #[test]
    fn entries_expire_and_revocations_win_races() {
        let ttl = Duration::from_secs(60);
        let (a, b) = (user("cache-test-user-a"), user("cache-test-user-b"));
        let t = ticket();
        remember_session(t, "cache-test-s1", &a);
        assert_eq!(
            active_session("cache-test-s1", &a.id, ttl).map(|u| u.id),
            Some(a.id.clone())
        );
        // A hit must name the token's subject.
        assert!(active_session("cache-test-s1", &b.id, ttl).is_none());
        // Expired.
        assert!(active_session("cache-test-s1", &a.id, Duration::ZERO).is_none());
        assert!(active_session("cache-test-s1", &a.id, ttl).is_none());

        // A lookup that started before a revocation is not cached after it.
        let before = ticket();
        forget_session("cache-test-s2");
        remember_session(before, "cache-test-s2", &a);
        assert!(active_session("cache-test-s2", &a.id, ttl).is_none());

        // Revoking all of a user's sessions forgets each of them.
        remember_session(ticket(), "cache-test-s3", &b);
        remember_session(ticket(), "cache-test-s4", &b);
        forget_user_sessions(&b.id);
        assert!(active_session("cache-test-s3", &b.id, ttl).is_none());
        assert!(active_session("cache-test-s4", &b.id, ttl).is_none());
    }

    #[test]
    fn capacity_is_bounded() {
        let mut map = HashMap::new();
        let u = user("cache-test-cap");
        for i in 0..=CAPACITY {
            insert(&mut map, &i.to_string(), &u);
            assert!(map.len() <= CAPACITY);
        }
    }
}
