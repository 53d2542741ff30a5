//! Access and refresh tokens: the claims this service signs, and their verification.
//! All signing and checking goes through `rotor-core`.

use std::time::{SystemTime, UNIX_EPOCH};

use rotor_core::{sign, verify_with, Error, Fingerprint, KeyRing};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::keys::{self, Keys, MAX_KEYS};

/// Which kind of token a [`TokenError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// An access token.
    Access,
    /// A refresh token.
    Refresh,
}

/// Why a token was not issued or not accepted. The reason itself is logged, never returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Bad signature, wrong issuer, malformed, missing claim: every refusal but expiry.
    Invalid(TokenKind),
    /// Authentic but past its `exp` (with the leeway). The client sees what `Invalid` shows.
    Expired(TokenKind),
    /// Longer than `max_token_len`.
    TooLarge,
    /// Signing failed (logged); cannot happen with this service's claims.
    Signing,
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Invalid(TokenKind::Access) => f.write_str("invalid access token"),
            Self::Invalid(TokenKind::Refresh) => f.write_str("invalid refresh token"),
            Self::Expired(TokenKind::Access) => f.write_str("expired access token"),
            Self::Expired(TokenKind::Refresh) => f.write_str("expired refresh token"),
            Self::TooLarge => f.write_str("token too large"),
            Self::Signing => f.write_str("signing failed"),
        }
    }
}

impl std::error::Error for TokenError {}

/// Room for one signed token: header, about 200 bytes of claims in base64url, and the tag.
const TOKEN_BUF: usize = 1024;

/// The current Unix time in seconds.
#[must_use]
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// 128 random bits from the operating system, as 32 hex digits: values nobody may predict.
#[must_use]
pub fn random_id() -> String {
    let mut bytes = [0u8; 16];
    keys::fill_random(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new id of a user, session or refresh token (`jti`): a UUIDv7 (RFC 9562 §5.7, "UUID
/// Version 7") as 32 hex digits, the Unix time in milliseconds then 74 random bits from the
/// operating system.
///
/// Time first, so rows written together sit together in every index keyed by an id: a
/// rotation's new token goes to the right edge of the `refresh_tokens` primary key, and the token
/// it replaces (issued one rotation earlier) sits near it, instead of each on a random page of
/// a table of millions (at a million sessions random ids cost PostgreSQL a full-page image of
/// WAL per refresh and SQLite checkpoints of scattered pages: bench/SCALE.md). The expired rows
/// the sweeper deletes are likewise the oldest, at the left edge.
///
/// # Security
/// These ids are names, not secrets: a refresh token is accepted for its signature and its
/// stored fingerprint, and a session is ended only by its owner. An id reveals when it was made,
/// as the token's `iat` and the session list already do. 74 random bits keep ids unguessable
/// all the same (OWASP Session Management Cheat Sheet, "Session ID Entropy": at least 64 bits).
#[must_use]
pub fn new_id() -> String {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let mut random = [0u8; 10];
    keys::fill_random(&mut random);
    uuid::Builder::from_unix_timestamp_millis(millis, &random)
        .into_uuid()
        .simple()
        .to_string()
}

/// What this service signs in both kinds of token. `sid` names the session (token family).
#[derive(Serialize)]
struct OutClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    sid: &'a str,
    jti: &'a str,
    iat: u64,
    exp: u64,
    /// `"access"` or `"refresh"`: the token's purpose, checked on every verification (RFC 8725
    /// §3.12), so an access token never passes as a refresh token or the reverse, even under
    /// one secret.
    token_use: &'a str,
    /// Refresh tokens only: see [`Issue::auth_time`].
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_time: Option<u64>,
}

#[derive(Deserialize)]
struct SessionClaim<'a> {
    sid: &'a str,
    /// Absent in tokens issued before the claim existed: accepted, since their rings are
    /// disjoint (see [`crate::keys::Keys::from_config`]).
    token_use: Option<&'a str>,
    /// Absent in access tokens and in refresh tokens issued before the claim existed.
    auth_time: Option<u64>,
}

impl TokenKind {
    fn token_use(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Refresh => "refresh",
        }
    }
}

/// An access and refresh token issued together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pair {
    /// The access token.
    #[serde(rename = "accessToken")]
    pub access: String,
    /// The refresh token.
    #[serde(rename = "refreshToken")]
    pub refresh: String,
}

/// The claims of a verified token that the service uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaims {
    /// User id.
    pub sub: String,
    /// Session id.
    pub sid: String,
    /// Token id.
    pub jti: String,
    /// Issued at.
    pub iat: u64,
    /// Expiry.
    pub exp: u64,
    /// The session's start, in a refresh token that carries it ([`Issue::auth_time`]).
    pub auth_time: Option<u64>,
}

/// What is signed for one issuance; the same inputs always give the same pair (HS256 is
/// deterministic, RFC 7518 §3.2), which the grace window relies on.
#[derive(Debug, Clone, Copy)]
pub struct Issue<'a> {
    /// User id.
    pub sub: &'a str,
    /// Session id.
    pub sid: &'a str,
    /// Token id, shared by the access and the refresh token of the pair.
    pub jti: &'a str,
    /// Issued at.
    pub iat: u64,
    /// Refresh-token expiry; the access token expires `access_token_expiry` after `iat`.
    pub refresh_exp: u64,
    /// The session's start (Unix seconds, its `created_at`), signed into the refresh token as
    /// `auth_time`: "time when the End-User authentication occurred" (OpenID Connect Core 1.0
    /// §2, "ID Token"; a claim name in IANA's JSON Web Token Claims registry, RFC 7519 §4.2).
    /// A refresh needs it before it can sign the successor, whose `exp` is capped at the start
    /// plus `session_max_lifetime`: carried in the token, the refresh can sign first and then
    /// look up and rotate in one statement (see `sessions::refresh`). The rotation re-checks it
    /// against the session row, so a wrong value rotates nothing. `None` signs a token without
    /// it, as this service did before the claim existed.
    pub auth_time: Option<u64>,
}

fn sign_one(ring: &KeyRing<MAX_KEYS>, claims: &OutClaims<'_>) -> Result<String, TokenError> {
    let key = ring.primary().ok_or_else(|| {
        log::error!("rotor: key ring is empty");
        TokenError::Signing
    })?;
    let mut buf = [0u8; TOKEN_BUF];
    sign(key, claims, &mut buf).map(str::to_owned).map_err(|e| {
        log::error!("rotor: signing failed: {}", e.kind());
        TokenError::Signing
    })
}

/// Signs the access and refresh token of one issuance.
///
/// # Errors
/// [`TokenError::Signing`] if signing fails (logged), which cannot happen with this service's claims.
pub fn sign_pair(cfg: &Config, keys: &Keys, issue: &Issue<'_>) -> Result<Pair, TokenError> {
    let access = OutClaims {
        iss: &cfg.issuer,
        sub: issue.sub,
        sid: issue.sid,
        jti: issue.jti,
        iat: issue.iat,
        exp: issue.iat.saturating_add(cfg.access_token_expiry.0),
        token_use: TokenKind::Access.token_use(),
        auth_time: None,
    };
    let refresh = OutClaims {
        exp: issue.refresh_exp,
        token_use: TokenKind::Refresh.token_use(),
        auth_time: issue.auth_time,
        ..access
    };
    Ok(Pair {
        access: sign_one(&keys.access, &access)?,
        refresh: sign_one(&keys.refresh, &refresh)?,
    })
}

/// The fingerprint stored for a refresh token.
#[must_use]
pub fn fingerprint(token: &str) -> Fingerprint {
    Fingerprint::of(token.as_bytes())
}

/// A fingerprint read back from a row; `None` if the column does not hold 32 bytes.
#[must_use]
pub fn stored_fingerprint(bytes: &[u8]) -> Option<Fingerprint> {
    <[u8; 32]>::try_from(bytes)
        .ok()
        .map(Fingerprint::from_bytes)
}

fn check(
    cfg: &Config,
    ring: &KeyRing<MAX_KEYS>,
    token: &str,
    now: u64,
    kind: TokenKind,
) -> Result<TokenClaims, TokenError> {
    let what = match kind {
        TokenKind::Access => "access",
        TokenKind::Refresh => "refresh",
    };
    if token.len() > cfg.max_token_len {
        return Err(TokenError::TooLarge);
    }
    let mut scratch = vec![0u8; rotor_core::scratch_len(token.len())];
    let v = verify_with::<SessionClaim<'_>, _>(token, ring, &cfg.validation(), now, &mut scratch)
        .map_err(|e| {
        log::info!("rotor: {what} token refused: {}", e.kind());
        match e {
            Error::TooLarge => TokenError::TooLarge,
            Error::Expired => TokenError::Expired(kind),
            _ => TokenError::Invalid(kind),
        }
    })?;
    if v.custom.token_use.is_some_and(|u| u != kind.token_use()) {
        log::info!("rotor: {what} token refused: wrong token_use");
        return Err(TokenError::Invalid(kind));
    }
    match (v.claims.sub, v.claims.jti, v.claims.iat, v.claims.exp) {
        (Some(sub), Some(jti), Some(iat), Some(exp)) => Ok(TokenClaims {
            sub: sub.to_owned(),
            sid: v.custom.sid.to_owned(),
            jti: jti.to_owned(),
            iat,
            exp,
            auth_time: v.custom.auth_time,
        }),
        _ => {
            log::info!("rotor: {what} token refused: missing_claim");
            Err(TokenError::Invalid(kind))
        }
    }
}

/// Verifies a refresh token: signature with the refresh ring, `iss`, `exp`, and this service's
/// claims (RFC 8725 §3.1: one algorithm, verified; explicit claim validation).
///
/// # Errors
/// [`TokenError::TooLarge`] for an oversized token, [`TokenError::Invalid`] otherwise; the
/// reason is logged.
pub fn verify_refresh(
    cfg: &Config,
    keys: &Keys,
    token: &str,
    now: u64,
) -> Result<TokenClaims, TokenError> {
    check(cfg, &keys.refresh, token, now, TokenKind::Refresh)
}

/// Verifies an access token with the access ring (a refresh token never passes: other secret).
///
/// # Errors
/// [`TokenError::TooLarge`] for an oversized token, [`TokenError::Invalid`] otherwise; the
/// reason is logged.
pub fn verify_access(
    cfg: &Config,
    keys: &Keys,
    token: &str,
    now: u64,
) -> Result<TokenClaims, TokenError> {
    check(cfg, &keys.access, token, now, TokenKind::Access)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn setup() -> (Config, Keys) {
        let cfg = Config {
            access_token_secret: Some(Secret::new("a".repeat(32))),
            refresh_token_secret: Some(Secret::new("r".repeat(32))),
            ..Config::default()
        };
        let keys = Keys::from_config(&cfg, false).unwrap();
        (cfg, keys)
    }

    #[test]
    fn new_ids_are_uuid_v7_hex_in_time_order() {
        let first = new_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = new_id();
        for id in [&first, &second] {
            assert_eq!(id.len(), 32, "{id}");
            assert!(
                id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
                "{id}"
            );
            let uuid = uuid::Uuid::parse_str(id).unwrap();
            assert_eq!(uuid.get_version_num(), 7, "{id}");
        }
        assert!(first < second, "{first} then {second}");
        let millis = u64::from_str_radix(&first[..12], 16).unwrap();
        assert!(millis.abs_diff(now() * 1000) < 5_000, "{first}");
        // Two ids of one millisecond still differ in their random bits.
        assert_ne!(new_id()[12..], new_id()[12..]);
    }

    #[test]
    fn token_use_keeps_the_kinds_apart_even_under_one_secret() {
        let (cfg, _) = setup();
        let one = |s: &str| {
            let mut ring = KeyRing::new();
            ring.push(rotor_core::Key::new(s.as_bytes()).unwrap())
                .unwrap();
            ring
        };
        // Built by hand: Keys::from_config refuses a secret in both rings.
        let shared = Keys {
            access: one(&"s".repeat(32)),
            refresh: one(&"s".repeat(32)),
            ephemeral: false,
        };
        let issue = Issue {
            sub: "u1",
            sid: "s1",
            jti: "j1",
            iat: 1_000,
            refresh_exp: 2_000,
            auth_time: Some(900),
        };
        let pair = sign_pair(&cfg, &shared, &issue).unwrap();
        assert_eq!(
            verify_access(&cfg, &shared, &pair.refresh, 1_500),
            Err(TokenError::Invalid(TokenKind::Access))
        );
        assert_eq!(
            verify_refresh(&cfg, &shared, &pair.access, 1_500),
            Err(TokenError::Invalid(TokenKind::Refresh))
        );
        assert!(verify_access(&cfg, &shared, &pair.access, 1_500).is_ok());
        assert!(verify_refresh(&cfg, &shared, &pair.refresh, 1_500).is_ok());
    }

    #[test]
    fn pairs_are_deterministic_and_not_interchangeable() {
        let (cfg, keys) = setup();
        let issue = Issue {
            sub: "u1",
            sid: "s1",
            jti: "j1",
            iat: 1_000,
            refresh_exp: 2_000,
            auth_time: Some(900),
        };
        let a = sign_pair(&cfg, &keys, &issue).unwrap();
        assert_eq!(a, sign_pair(&cfg, &keys, &issue).unwrap());
        let r = verify_refresh(&cfg, &keys, &a.refresh, 1_500).unwrap();
        assert_eq!((r.sub.as_str(), r.sid.as_str(), r.exp), ("u1", "s1", 2_000));
        assert_eq!(r.auth_time, Some(900));
        let acc = verify_access(&cfg, &keys, &a.access, 1_500).unwrap();
        assert_eq!((acc.exp, acc.auth_time), (1_000 + 900, None));
        // A refresh token signed without `auth_time` (as before the claim) is still verified,
        // and differs from one with it.
        let legacy = sign_pair(
            &cfg,
            &keys,
            &Issue {
                auth_time: None,
                ..issue
            },
        )
        .unwrap();
        assert_ne!(legacy.refresh, a.refresh);
        assert_eq!(legacy.access, a.access);
        let r = verify_refresh(&cfg, &keys, &legacy.refresh, 1_500).unwrap();
        assert_eq!((r.jti.as_str(), r.auth_time), ("j1", None));
        assert_eq!(
            verify_access(&cfg, &keys, &a.refresh, 1_500),
            Err(TokenError::Invalid(TokenKind::Access))
        );
        assert_eq!(
            verify_refresh(&cfg, &keys, &a.access, 1_500),
            Err(TokenError::Invalid(TokenKind::Refresh))
        );
        assert_eq!(
            verify_refresh(&cfg, &keys, &a.refresh, 3_000),
            Err(TokenError::Expired(TokenKind::Refresh))
        );
        let long = "a".repeat(cfg.max_token_len + 1);
        assert_eq!(
            verify_refresh(&cfg, &keys, &long, 1_500),
            Err(TokenError::TooLarge)
        );
    }
}
