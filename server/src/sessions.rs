//! Sessions (token families): login, exactly-once rotation with an idempotent grace window,
//! reuse detection, logout. The routes call these; they hold no crypto or SQL themselves.

use serde_json::json;

use crate::config::Config;
use crate::db::DbPool;
use crate::keys::Keys;
use crate::store::{self, Rotation, Seen, SessionInfo, TokenRow, UserRow};
use crate::tokens::{self, Issue, Pair, TokenClaims, TokenError};

/// Why a session operation failed. Every token problem is one of the first three; the route
/// layer turns them into 401s ([`crate::error::ApiError`]).
#[derive(Debug)]
pub enum SessionError {
    /// The token failed verification, or is too large, or signing failed.
    Token(TokenError),
    /// A verified refresh token with no matching row (unknown `jti`, fingerprint mismatch, user
    /// gone).
    Unknown,
    /// A refresh token already used, revoked, or of an ended session.
    Used,
    /// A used refresh token presented again outside every allowance: its session was revoked
    /// (RFC 9700 §4.14.2). The client sees what [`SessionError::Used`] shows.
    Reuse,
    /// The database failed during `context`.
    Database {
        /// What was being done.
        context: &'static str,
        /// The driver's error.
        source: sqlx::Error,
    },
}

impl std::fmt::Display for SessionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Token(e) => write!(f, "{e}"),
            Self::Unknown => f.write_str("unknown refresh token"),
            Self::Used => f.write_str("refresh token used or session ended"),
            Self::Reuse => f.write_str("refresh token reuse: session revoked"),
            Self::Database { context, source } => write!(f, "database, during {context}: {source}"),
        }
    }
}

impl std::error::Error for SessionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Token(e) => Some(e),
            Self::Database { source, .. } => Some(source),
            Self::Unknown | Self::Used | Self::Reuse => None,
        }
    }
}

impl From<TokenError> for SessionError {
    fn from(e: TokenError) -> Self {
        Self::Token(e)
    }
}

fn db_err(context: &'static str) -> impl Fn(sqlx::Error) -> SessionError {
    move |source| SessionError::Database { context, source }
}

fn secs(t: u64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

fn unsigned(t: i64) -> u64 {
    u64::try_from(t).unwrap_or(0)
}

/// A refresh token's expiry: its lifetime from `now`, but never past the session's absolute
/// lifetime counted from `started` (OWASP Session Management Cheat Sheet, "Absolute Timeout").
fn refresh_exp(cfg: &Config, started: u64, now: u64) -> u64 {
    let sliding = now.saturating_add(cfg.refresh_token_expiry.0);
    match cfg.session_max_lifetime.0 {
        0 => sliding,
        max => sliding.min(started.saturating_add(max)),
    }
}

fn token_row(claims_of: &Issue<'_>, refresh: &str) -> TokenRow {
    TokenRow {
        jti: claims_of.jti.to_owned(),
        session_id: claims_of.sid.to_owned(),
        user_id: claims_of.sub.to_owned(),
        fingerprint: tokens::fingerprint(refresh).as_bytes().to_vec(),
        issued_at: secs(claims_of.iat),
        expires_at: secs(claims_of.refresh_exp),
        used_at: None,
        revoked_at: None,
        successor_jti: None,
    }
}

/// Starts a new session for `user` and returns its first pair.
///
/// # Errors
/// [`SessionError::Database`].
pub async fn start(
    db: &DbPool,
    cfg: &Config,
    keys: &Keys,
    user: &UserRow,
    now: u64,
    seen: &Seen,
) -> Result<Pair, SessionError> {
    let (sid, jti) = (tokens::new_id(), tokens::new_id());
    let issue = Issue {
        sub: &user.id,
        sid: &sid,
        jti: &jti,
        iat: now,
        refresh_exp: refresh_exp(cfg, now, now),
        // `create_session` records `now` as the session's `created_at`.
        auth_time: Some(now),
    };
    let pair = tokens::sign_pair(cfg, keys, &issue)?;
    store::create_session(db.pool(), &token_row(&issue, &pair.refresh), seen)
        .await
        .map_err(db_err("login"))?;
    if cfg.max_sessions_per_user > 0 {
        let ended =
            store::enforce_session_cap(db.pool(), &user.id, cfg.max_sessions_per_user, secs(now))
                .await
                .map_err(db_err("login"))?;
        if ended > 0 {
            crate::events::audit(json!({
                "event": "sessions_ended",
                "reason": "session_cap",
                "user_id": user.id,
                "count": ended,
            }));
        }
    }
    crate::events::audit(
        json!({"event": "session_started", "user_id": user.id, "session_id": sid}),
    );
    Ok(pair)
}

/// The row of a verified refresh token (`claims`), looked up in the next batch
/// ([`store::lookup`]): it exists for an existing user, and the stored SHA-256 fingerprint
/// matches in constant time. Returns the row and its session's start.
async fn stored_row(
    db: &DbPool,
    claims: &TokenClaims,
    token: &str,
) -> Result<(TokenRow, i64), SessionError> {
    let invalid = |why: &str| {
        log::info!("rotor: refresh token refused: {why} (jti {})", claims.jti);
        SessionError::Unknown
    };
    let found = db
        .lookups()
        .find(&claims.jti)
        .await
        .map_err(db_err("refresh"))?
        .ok_or_else(|| invalid("unknown jti or user"))?;
    let (row, started) = (found.token, found.session_created_at);
    let matches = tokens::stored_fingerprint(&row.fingerprint)
        .is_some_and(|stored| stored == tokens::fingerprint(token));
    if !matches || row.user_id != claims.sub || row.session_id != claims.sid {
        return Err(invalid("stored fingerprint does not match"));
    }
    Ok((row, started))
}

/// The user and session a refresh token may end (`/logout`, `/logout-all`): the token is
/// verified and found as for a refresh, and must be the live one of an active session. A used
/// token is reuse, handled as on `/refresh-token` (the session is revoked and a security event
/// logged, RFC 9700 §4.14.2), and authorises nothing; so does a revoked one.
///
/// # Errors
/// As [`refresh`].
pub async fn owner_of(
    db: &DbPool,
    cfg: &Config,
    keys: &Keys,
    token: &str,
    now: u64,
) -> Result<(String, String), SessionError> {
    let claims = tokens::verify_refresh(cfg, keys, token, now)?;
    let (row, _) = stored_row(db, &claims, token).await?;
    if row.revoked_at.is_some() {
        log::info!(
            "rotor: refresh token of a revoked session presented to log out (session {})",
            row.session_id
        );
        return Err(SessionError::Used);
    }
    if let Some(used_at) = row.used_at {
        reuse(db, &row, used_at, now).await?;
        return Err(SessionError::Reuse);
    }
    let active = store::session(db.pool(), &row.session_id)
        .await
        .map_err(db_err("logout"))?
        .is_some_and(|s| s.revoked_at.is_none());
    if !active {
        return Err(SessionError::Used);
    }
    Ok((claims.sub, claims.sid))
}

/// How a refresh was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refreshed {
    /// The token was exchanged for a new successor.
    Rotated,
    /// A duplicate within the grace window got the same successor.
    Duplicate,
    /// A late replay (a lost response) got the same successor.
    LateReplay,
}

impl Refreshed {
    /// A stable name for metrics.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Rotated => "rotated",
            Self::Duplicate => "duplicate_same_successor",
            Self::LateReplay => "late_replay",
        }
    }
}

/// Exchanges a refresh token for a new pair.
///
/// 1. Verify the token (signature, `iss`, `exp`). If it carries its session's start
///    (`auth_time`, [`Issue::auth_time`]), sign the successor at once and rotate: the
///    compare-and-set changes the token's row only if it is unused, of this user, with this
///    token's SHA-256 fingerprint, in an active session with this start, so it checks all that
///    step 2 checks, in the same statement. One statement per refresh, committed with the other
///    rotations waiting ([`store::group`]). If it rotates nothing, go on with step 2, which
///    finds out why.
/// 2. Load the row by `jti` joined with its user (the user must still exist), in one statement
///    with the other look-ups waiting ([`store::lookup`]), and compare the stored SHA-256
///    fingerprint in constant time; a token without `auth_time` (signed before the claim)
///    starts here.
/// 3. Sign the successor, then record it with one compare-and-set, committed with the other
///    rotations waiting ([`store::group`]; the commit of [`store::rotate`]).
/// 4. A request that loses the compare-and-set presented a token that is already used. Within
///    the grace window, while the successor is unused and the session active, it gets the same
///    successor pair, re-signed from the stored row (HS256 is deterministic). After the grace
///    window and within `refresh_retry_window`, the same holds once per session per refresh
///    lifetime (a lost response: the client never saw the successor). Otherwise this is reuse:
///    the whole session is revoked and a security event logged (RFC 9700 §4.14.2).
///
/// # Errors
/// [`SessionError::Token`], [`SessionError::Unknown`] or [`SessionError::Used`] for every token
/// problem, [`SessionError::Database`].
pub async fn refresh(
    db: &DbPool,
    cfg: &Config,
    keys: &Keys,
    token: &str,
    now: u64,
    seen: &Seen,
) -> Result<(Pair, Refreshed), SessionError> {
    // The signature is checked before a connection is taken: a forged token costs no look-up.
    let claims = tokens::verify_refresh(cfg, keys, token, now)?;
    if let Some(started) = claims.auth_time {
        if refresh_exp(cfg, started, now) > now {
            let fingerprint = tokens::fingerprint(token).as_bytes().to_vec();
            let (pair, job) = successor(cfg, keys, &claims, started, now, seen, fingerprint)?;
            let rotation = db.group().rotate(job).await.map_err(db_err("refresh"))?;
            if rotation == Rotation::Rotated {
                return Ok((pair, Refreshed::Rotated));
            }
            // Nothing was changed: used already, an ended session, or a row that does not
            // match. Step 2 tells which.
        }
    }
    // The look-up in the next batch of look-ups, the rotation in the next group commit.
    let (row, started) = stored_row(db, &claims, token).await?;
    let pool = db.pool();
    let exp = refresh_exp(cfg, unsigned(started), now);
    if exp <= now {
        store::revoke_session(pool, &row.session_id, "max_lifetime", secs(now))
            .await
            .map_err(db_err("refresh"))?;
        crate::events::audit(json!({
            "event": "session_ended",
            "reason": "max_lifetime",
            "session_id": row.session_id,
        }));
        return Err(SessionError::Used);
    }
    let (pair, job) = successor(
        cfg,
        keys,
        &claims,
        unsigned(started),
        now,
        seen,
        row.fingerprint,
    )?;
    let rotation = db.group().rotate(job).await.map_err(db_err("refresh"))?;
    match rotation {
        Rotation::Rotated => Ok((pair, Refreshed::Rotated)),
        Rotation::SessionInactive => {
            log::info!(
                "rotor: refresh token of an ended session presented (session {})",
                claims.sid
            );
            Err(SessionError::Used)
        }
        Rotation::AlreadyUsed => replayed(db, cfg, keys, &claims, unsigned(started), now).await,
    }
}

/// The successor pair of the verified token `claims` (whose fingerprint is `old_fingerprint`)
/// in its session started at `started`, and the rotation job that records it.
fn successor(
    cfg: &Config,
    keys: &Keys,
    claims: &TokenClaims,
    started: u64,
    now: u64,
    seen: &Seen,
    old_fingerprint: Vec<u8>,
) -> Result<(Pair, store::group::Job), SessionError> {
    let jti = tokens::new_id();
    let issue = Issue {
        sub: &claims.sub,
        sid: &claims.sid,
        jti: &jti,
        iat: now,
        refresh_exp: refresh_exp(cfg, started, now),
        auth_time: Some(started),
    };
    let pair = tokens::sign_pair(cfg, keys, &issue)?;
    let job = store::group::Job {
        old_jti: claims.jti.clone(),
        successor: token_row(&issue, &pair.refresh),
        now: secs(now),
        seen: seen.clone(),
        old_fingerprint,
        session_created_at: secs(started),
    };
    Ok((pair, job))
}

/// The presented token was already exchanged: grace answer or reuse.
async fn replayed(
    db: &DbPool,
    cfg: &Config,
    keys: &Keys,
    claims: &TokenClaims,
    started: u64,
    now: u64,
) -> Result<(Pair, Refreshed), SessionError> {
    let pool = db.pool();
    let used = || SessionError::Used;
    let Some(row) = store::token_by_jti(pool, &claims.jti)
        .await
        .map_err(db_err("refresh"))?
    else {
        return Err(used());
    };
    if row.revoked_at.is_some() {
        log::info!(
            "rotor: refresh token of a revoked session presented (session {})",
            row.session_id
        );
        return Err(used());
    }
    let Some(used_at) = row.used_at else {
        return Err(used());
    };
    let grace = cfg.refresh_grace.0;
    let since_use = now.saturating_sub(unsigned(used_at));
    if grace > 0 && since_use <= grace {
        if let Some(pair) = grace_pair(db, cfg, keys, &row, started).await? {
            log::info!(
                "rotor: refresh token replayed within the grace window: same successor returned (session {})",
                row.session_id
            );
            return Ok((pair, Refreshed::Duplicate));
        }
    }
    let retry = cfg.refresh_retry_window.0;
    if retry > 0 && since_use <= retry {
        if let Some(pair) = grace_pair(db, cfg, keys, &row, started).await? {
            // One late replay per refresh lifetime: a thief and the user who both hold one
            // chain cannot keep trading late replays; the second one within a lifetime is reuse.
            let since = secs(now.saturating_sub(cfg.refresh_token_expiry.0));
            if store::claim_late_replay(pool, &row.session_id, secs(now), since)
                .await
                .map_err(db_err("refresh"))?
            {
                crate::events::audit(json!({
                    "event": "refresh_late_replay",
                    "action": "same_successor_returned",
                    "session_id": row.session_id,
                    "jti": row.jti,
                    "used_at": used_at,
                    "presented_at": now,
                }));
                return Ok((pair, Refreshed::LateReplay));
            }
        }
    }
    reuse(db, &row, used_at, now).await?;
    Err(SessionError::Reuse)
}

/// Reuse of a used refresh token: revokes its whole session and logs the security event
/// (RFC 9700 §4.14.2).
async fn reuse(db: &DbPool, row: &TokenRow, used_at: i64, now: u64) -> Result<(), SessionError> {
    let pool = db.pool();
    let was_active = store::revoke_session(pool, &row.session_id, "refresh_token_reuse", secs(now))
        .await
        .map_err(db_err("reuse revocation"))?;
    crate::events::security(json!({
        "event": "refresh_token_reuse",
        "action": "session_revoked",
        "reference": "RFC 9700 §4.14.2",
        "user_id": row.user_id,
        "session_id": row.session_id,
        "jti": row.jti,
        "used_at": used_at,
        "presented_at": now,
        "session_was_active": was_active,
    }));
    Ok(())
}

/// The successor pair of `row`, re-signed from its stored claims and its session's start
/// (`started`), if the grace window applies: the successor exists, is neither used nor revoked,
/// its session is active, and the re-signed token matches its stored fingerprint (it does
/// unless the signing secret changed meanwhile). A successor signed before `auth_time` existed
/// is re-signed without it.
async fn grace_pair(
    db: &DbPool,
    cfg: &Config,
    keys: &Keys,
    row: &TokenRow,
    started: u64,
) -> Result<Option<Pair>, SessionError> {
    let pool = db.pool();
    let Some(next_jti) = &row.successor_jti else {
        return Ok(None);
    };
    let Some(next) = store::token_by_jti(pool, next_jti)
        .await
        .map_err(db_err("refresh"))?
    else {
        return Ok(None);
    };
    if next.used_at.is_some() || next.revoked_at.is_some() {
        return Ok(None);
    }
    let active = store::session(pool, &next.session_id)
        .await
        .map_err(db_err("refresh"))?
        .is_some_and(|s| s.revoked_at.is_none());
    if !active {
        return Ok(None);
    }
    let Some(stored) = tokens::stored_fingerprint(&next.fingerprint) else {
        return Ok(None);
    };
    for auth_time in [Some(started), None] {
        let pair = tokens::sign_pair(
            cfg,
            keys,
            &Issue {
                sub: &next.user_id,
                sid: &next.session_id,
                jti: &next.jti,
                iat: unsigned(next.issued_at),
                refresh_exp: unsigned(next.expires_at),
                auth_time,
            },
        )?;
        if stored == tokens::fingerprint(&pair.refresh) {
            return Ok(Some(pair));
        }
    }
    log::warn!(
        "rotor: grace re-signing did not reproduce the stored successor (signing secret changed?); treating as reuse"
    );
    Ok(None)
}

/// Ends one session.
///
/// # Errors
/// [`SessionError::Database`].
pub async fn end(
    db: &DbPool,
    session_id: &str,
    reason: &str,
    now: u64,
) -> Result<bool, SessionError> {
    store::revoke_session(db.pool(), session_id, reason, secs(now))
        .await
        .map_err(db_err("logout"))
}

/// Ends every session of a user; returns how many were active.
///
/// # Errors
/// [`SessionError::Database`].
pub async fn end_all(db: &DbPool, user_id: &str, now: u64) -> Result<u64, SessionError> {
    store::revoke_user_sessions(db.pool(), user_id, "logout_all", secs(now))
        .await
        .map_err(db_err("logout-all"))
}

/// The user's active sessions, newest first.
///
/// # Errors
/// [`SessionError::Database`].
pub async fn list(db: &DbPool, user_id: &str, now: u64) -> Result<Vec<SessionInfo>, SessionError> {
    store::user_sessions(db.pool(), user_id, secs(now))
        .await
        .map_err(db_err("sessions"))
}

/// Ends one of the user's sessions; `Ok(false)` when it is unknown, ended, or another user's.
///
/// # Errors
/// [`SessionError::Database`].
pub async fn end_own(
    db: &DbPool,
    user_id: &str,
    session_id: &str,
    now: u64,
) -> Result<bool, SessionError> {
    store::revoke_own_session(
        db.pool(),
        user_id,
        session_id,
        "session_ended_by_user",
        secs(now),
    )
    .await
    .map_err(db_err("sessions"))
}

/// Ends every session of the user but `keep`; returns how many were active.
///
/// # Errors
/// [`SessionError::Database`].
pub async fn end_others(
    db: &DbPool,
    user_id: &str,
    keep: &str,
    now: u64,
) -> Result<u64, SessionError> {
    store::revoke_other_sessions(db.pool(), user_id, keep, "logout_others", secs(now))
        .await
        .map_err(db_err("logout-others"))
}
