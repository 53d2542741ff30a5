//! Request and data guards, each failing with a typed [`ApiError`].
//!
//! Use them as `Result<Guard, ApiError>` to answer the error yourself, or bare: the error is then
//! left for the catchers, which answer with its message.

use rocket::data::{self, Data, FromData, ToByteUnit};
use rocket::http::{ContentType, Status};
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest, Request};
use serde::de::DeserializeOwned;
use std::time::Duration;

use crate::config::{AccessCheck, Config};
use crate::cookies;
use crate::db::Db;
use crate::error::{stash, ApiError};
use crate::keys::Keys;
use crate::messages as msg;
use crate::store::{self, cache, UserRow};
use crate::tokens::{self, TokenClaims};

fn fail<T, F>(req: &Request<'_>, err: ApiError) -> Outcome<T, (Status, ApiError), F> {
    stash(req, &err);
    Outcome::Error((err.status, err))
}

fn state<'r, T: Send + Sync + 'static>(req: &'r Request<'_>) -> Result<&'r T, ApiError> {
    req.rocket().state::<T>().ok_or_else(|| {
        log::error!(
            "rotor: {} is not managed: attach rotor_server::config::stage() and db::stage()",
            std::any::type_name::<T>()
        );
        ApiError::internal()
    })
}

/// The access token of a request: `Authorization: Bearer …` first, else the access cookie.
fn access_token(req: &Request<'_>, cfg: &Config) -> Option<String> {
    let bearer = req.headers().get("Authorization").find_map(|h| {
        let (scheme, token) = h.trim().split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_owned())
    });
    bearer
        .filter(|t| !t.is_empty())
        .or_else(|| cookies::access(req.cookies(), cfg))
}

/// A user authenticated by a valid access token: signature and claims, and with
/// `access_check = "session"` (the default) a session that is still active ([`AccessCheck`]).
#[derive(Debug, Clone)]
pub struct AuthUser {
    /// The user.
    pub user: UserRow,
    /// The access token's claims (`sid` names the session).
    pub claims: TokenClaims,
}

async fn auth_user(req: &Request<'_>) -> Result<AuthUser, ApiError> {
    let cfg = state::<Config>(req)?;
    let keys = state::<Keys>(req)?;
    let db = state::<Db>(req)?;
    let token = access_token(req, cfg).ok_or_else(|| ApiError::unauthorized(msg::UNAUTHORIZED))?;
    let claims = tokens::verify_access(cfg, keys, &token, tokens::now()).map_err(ApiError::from)?;
    let ttl = Duration::from_secs(cfg.access_cache_ttl.0);
    let user = match cfg.access_check {
        AccessCheck::Session => session_user(db, &claims, ttl).await?,
        AccessCheck::Token => token_user(db, &claims, ttl).await?,
    };
    Ok(AuthUser { user, claims })
}

/// The user of the token's session if the session is active: from this process's cache when it
/// was seen active less than `ttl` ago, else from the database (and then cached).
async fn session_user(db: &Db, claims: &TokenClaims, ttl: Duration) -> Result<UserRow, ApiError> {
    if !ttl.is_zero() {
        if let Some(user) = cache::active_session(&claims.sid, &claims.sub, ttl) {
            return Ok(user);
        }
    }
    let ticket = cache::ticket();
    let user = store::active_session_user(db.reader(), &claims.sid, &claims.sub)
        .await
        .map_err(|e| ApiError::database("access check", &e))?
        .ok_or_else(|| {
            log::info!(
                "rotor: access token of an ended session (session {})",
                claims.sid
            );
            ApiError::unauthorized(msg::INVALID_ACCESS)
        })?;
    if !ttl.is_zero() {
        cache::remember_session(ticket, &claims.sid, &user);
    }
    Ok(user)
}

/// The token's user, whatever its session's state (`access_check = "token"`).
async fn token_user(db: &Db, claims: &TokenClaims, ttl: Duration) -> Result<UserRow, ApiError> {
    if !ttl.is_zero() {
        if let Some(user) = cache::user(&claims.sub, ttl) {
            return Ok(user);
        }
    }
    let user = store::user_by_id(db.reader(), &claims.sub)
        .await
        .map_err(|e| ApiError::database("access check", &e))?
        .ok_or_else(|| {
            log::info!("rotor: access token of a user that no longer exists");
            ApiError::unauthorized(msg::INVALID_ACCESS)
        })?;
    if !ttl.is_zero() {
        cache::remember_user(&user);
    }
    Ok(user)
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for AuthUser {
    type Error = ApiError;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, Self::Error> {
        match auth_user(req).await {
            Ok(user) => Outcome::Success(user),
            Err(e) => fail(req, e),
        }
    }
}

/// A state-changing request that may proceed: not from another site. Put it first on every
/// route that changes state, so a refused request is answered 403 before its body is read.
///
/// Refused (403): a request whose `Origin` is neither this service's own origin (its `Host`) nor
/// one of `cors_origins`, or whose `Sec-Fetch-Site` is `cross-site` while its origin is not
/// listed (OWASP Cross-Site Request Forgery Prevention Cheat Sheet, "Fetch Metadata headers" and
/// "Verifying Origin With Standard Headers"). This also stops login CSRF: a cross-site form that
/// posts the attacker's credentials or refresh token never gets the attacker's session planted
/// in the victim's browser. Requests with neither header (curl, servers, the command line) pass,
/// as the cheat sheet allows for non-browser clients.
#[derive(Debug, Clone, Copy)]
pub struct SameSite;

/// Whether `origin` is `scheme://` followed by exactly this request's `Host`.
fn own_origin(req: &Request<'_>, origin: &str) -> bool {
    let authority = origin.split_once("://").map(|(_, rest)| rest);
    match (authority, req.headers().get_one("Host")) {
        (Some(a), Some(host)) => a.eq_ignore_ascii_case(host.trim()),
        _ => false,
    }
}

fn same_site(req: &Request<'_>) -> Result<(), ApiError> {
    let cfg = state::<Config>(req)?;
    let origin = req.headers().get_one("Origin");
    let listed = origin.is_some_and(|o| cfg.origin_allowed(o));
    let origin_ok = origin.is_none_or(|o| listed || own_origin(req, o));
    let cross_site = req
        .headers()
        .get_one("Sec-Fetch-Site")
        .is_some_and(|s| s.eq_ignore_ascii_case("cross-site"));
    if origin_ok && (!cross_site || listed) {
        return Ok(());
    }
    crate::events::security(serde_json::json!({
        "event": "cross_site_request_refused",
        "path": req.uri().path().as_str(),
        "origin": origin,
        "sec_fetch_site": req.headers().get_one("Sec-Fetch-Site"),
        "reference": "OWASP CSRF Prevention Cheat Sheet",
    }));
    Err(ApiError::new(Status::Forbidden, msg::CROSS_SITE))
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for SameSite {
    type Error = ApiError;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, Self::Error> {
        match same_site(req) {
            Ok(()) => Outcome::Success(SameSite),
            Err(e) => fail(req, e),
        }
    }
}

/// A request body read as JSON or as a form (`application/x-www-form-urlencoded`), capped at
/// `body_limit` bytes. An empty body gives `Body(None)`.
#[derive(Debug)]
pub struct Body<T>(pub Option<T>);

fn parse<T: DeserializeOwned>(
    ct: Option<&ContentType>,
    bytes: &[u8],
) -> Result<Option<T>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let malformed = |e: &dyn std::fmt::Display| {
        log::info!("rotor: malformed request body: {e}");
        ApiError::bad_request(msg::MALFORMED_BODY)
    };
    match ct {
        Some(ct) if ct.is_form() => serde_urlencoded::from_bytes(bytes)
            .map(Some)
            .map_err(|e| malformed(&e)),
        Some(ct) if !ct.is_json() => Err(ApiError::bad_request(msg::BODY_TYPE)),
        _ => serde_json::from_slice(bytes)
            .map(Some)
            .map_err(|e| malformed(&e)),
    }
}

async fn read_body<T: DeserializeOwned>(
    req: &Request<'_>,
    data: Data<'_>,
) -> Result<Option<T>, ApiError> {
    let limit = state::<Config>(req)?.body_limit;
    let bytes = match data.open(limit.bytes()).into_bytes().await {
        Ok(b) if b.is_complete() => b.into_inner(),
        Ok(_) => return Err(ApiError::too_large()),
        Err(e) => {
            log::info!("rotor: request body could not be read: {e}");
            return Err(ApiError::bad_request(msg::MALFORMED_BODY));
        }
    };
    parse(req.content_type(), &bytes)
}

#[rocket::async_trait]
impl<'r, T: DeserializeOwned + Send + 'static> FromData<'r> for Body<T> {
    type Error = ApiError;

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        match read_body(req, data).await {
            Ok(v) => Outcome::Success(Body(v)),
            Err(e) => fail(req, e),
        }
    }
}

/// The refresh token of a request: the refresh cookie first, else the body's `refreshToken`
/// field (JSON or form), as the original handler reads it. `None` when neither holds one.
#[derive(Debug)]
pub struct RefreshToken(pub Option<String>);

#[derive(serde::Deserialize)]
struct RefreshBody {
    #[serde(rename = "refreshToken")]
    refresh_token: Option<String>,
}

#[rocket::async_trait]
impl<'r> FromData<'r> for RefreshToken {
    type Error = ApiError;

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        let cfg = match state::<Config>(req) {
            Ok(cfg) => cfg,
            Err(e) => return fail(req, e),
        };
        if let Some(token) = cookies::refresh(req.cookies(), cfg) {
            return Outcome::Success(RefreshToken(Some(token)));
        }
        match read_body::<RefreshBody>(req, data).await {
            Ok(body) => Outcome::Success(RefreshToken(
                body.and_then(|b| b.refresh_token).filter(|t| !t.is_empty()),
            )),
            Err(e) => fail(req, e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct T {
        a: Option<String>,
    }

    #[test]
    fn bodies() {
        let json = ContentType::JSON;
        let form = ContentType::Form;
        assert_eq!(parse::<T>(Some(&json), b"  ").unwrap(), None);
        assert_eq!(
            parse::<T>(Some(&json), br#"{"a":"x"}"#).unwrap(),
            Some(T {
                a: Some("x".into())
            })
        );
        assert_eq!(
            parse::<T>(None, br#"{"a":"x"}"#).unwrap(),
            Some(T {
                a: Some("x".into())
            })
        );
        assert_eq!(
            parse::<T>(Some(&form), b"a=x%20y").unwrap(),
            Some(T {
                a: Some("x y".into())
            })
        );
        for bad in [&br#"{"a":"#[..], br#"{"a":5}"#, b"[1]"] {
            assert_eq!(parse::<T>(Some(&json), bad).unwrap_err().status.code, 400);
        }
        assert_eq!(
            parse::<T>(Some(&ContentType::XML), b"<a/>")
                .unwrap_err()
                .status
                .code,
            400
        );
    }
}
