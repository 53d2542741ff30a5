//! The HTTP routes. Each one reads its inputs through guards, calls one domain function
//! ([`crate::users`], [`crate::sessions`], [`crate::passwords`]) and maps its result to the
//! envelope; no crypto, no SQL and no cookie reading here.

use rocket::fairing::AdHoc;
use rocket::http::{ContentType, CookieJar, Status};
use rocket::{Route, State};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::client::Caller;
use crate::config::Config;
use crate::cookies;
use crate::db::Db;
use crate::error::ApiError;
use crate::events;
use crate::guards::{AuthUser, Body, RefreshToken, SameSite};
use crate::keys::Keys;
use crate::limits::{Limited, Limits};
use crate::messages as msg;
use crate::metrics::{count, Metrics};
use crate::response::ApiResponse;
use crate::sessions;
use crate::sessions::SessionError;
use crate::store;
use crate::tokens::TokenError;
use crate::tokens::{self, Pair};
use crate::users::{self, PublicUser, UserError};

/// `POST /register` body.
#[derive(Deserialize)]
pub struct RegisterBody {
    username: Option<String>,
    email: Option<String>,
    password: Option<String>,
}

/// `POST /login` body: `email` or `username`, and `password`.
#[derive(Deserialize)]
pub struct LoginBody {
    email: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

/// `POST /login` data: the user and the pair.
#[derive(Debug, Serialize)]
pub struct LoginData {
    /// The user.
    pub user: PublicUser,
    /// The tokens, as `accessToken` and `refreshToken`.
    #[serde(flatten)]
    pub pair: Pair,
}

type Answer<T> = Result<ApiResponse<T>, ApiError>;

/// Counts `n` sessions ended for `reason`.
fn ended_count(metrics: Option<&State<Metrics>>, reason: &str, n: u64) {
    if let Some(m) = metrics {
        m.sessions_ended.with_label_values(&[reason]).inc_by(n);
    }
}

/// The metrics label of a refresh's outcome.
fn refresh_outcome(outcome: &Result<(Pair, sessions::Refreshed), SessionError>) -> &'static str {
    match outcome {
        Ok((_, how)) => how.name(),
        Err(SessionError::Reuse) => "reuse_revoked",
        Err(SessionError::Used) => "session_ended",
        Err(SessionError::Token(TokenError::Expired(_))) => "expired",
        Err(SessionError::Token(_) | SessionError::Unknown) => "invalid",
        Err(SessionError::Database { source, .. }) if crate::db::is_unavailable(source) => {
            "database_unavailable"
        }
        Err(SessionError::Database { .. }) => "database_error",
    }
}

/// A 429 for `caller`, and the security event and count that go with it; the answer is held
/// first ([`Limits::hold`]).
async fn rate_limited(
    limits: &Limits,
    metrics: Option<&Metrics>,
    caller: &Caller,
    l: Limited,
    account: Option<&str>,
) -> ApiError {
    count(metrics, |m| &m.rate_limited, l.limit.name());
    events::security(json!({
        "event": "rate_limited",
        "limit": l.limit.name(),
        "ip": caller.ip.to_string(),
        "account": account,
        "retry_after": l.retry_after,
    }));
    ApiError::limited(limits.hold(l).await)
}

fn required(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// Creates a user.
#[rocket::post("/register", data = "<body>")]
#[allow(clippy::too_many_arguments)] // each argument is a request guard
pub async fn register(
    _site: SameSite,
    caller: Caller,
    body: Result<Body<RegisterBody>, ApiError>,
    cfg: &State<Config>,
    limits: &State<Limits>,
    metrics: Option<&State<Metrics>>,
    db: &State<Db>,
) -> Answer<PublicUser> {
    if let Err(l) = limits.register(caller.ip) {
        return Err(rate_limited(limits, metrics.map(|m| &**m), &caller, l, None).await);
    }
    let b = body?
        .0
        .ok_or_else(|| ApiError::bad_request(msg::ALL_FIELDS_REQUIRED))?;
    let (Some(username), Some(email), Some(password)) = (
        required(b.username),
        required(b.email),
        b.password.filter(|p| !p.is_empty()),
    ) else {
        return Err(ApiError::bad_request(msg::ALL_FIELDS_REQUIRED));
    };
    let user = users::register(db, cfg, &username, &email, password).await?;
    Ok(ApiResponse {
        status: Status::Created,
        data: PublicUser::from(&user),
        message: msg::REGISTERED,
    })
}

/// Checks the password and starts a session; sets both cookies and returns the pair.
#[allow(clippy::too_many_arguments)] // each argument is a request guard
#[rocket::post("/login", data = "<body>")]
pub async fn login(
    _site: SameSite,
    caller: Caller,
    body: Result<Body<LoginBody>, ApiError>,
    jar: &CookieJar<'_>,
    cfg: &State<Config>,
    keys: &State<Keys>,
    limits: &State<Limits>,
    metrics: Option<&State<Metrics>>,
    db: &State<Db>,
) -> Answer<LoginData> {
    let metrics = metrics.map(|m| &**m);
    let answer = login_inner(caller, body, jar, cfg, keys, limits, metrics, db).await;
    let outcome = match &answer {
        Ok(_) => "success",
        Err(e) => match e.status.code {
            401 => "invalid_credentials",
            429 => "rate_limited",
            503 => "unavailable",
            400 | 413 => "bad_request",
            _ => "error",
        },
    };
    count(metrics, |m| &m.login, outcome);
    if answer.is_ok() {
        crate::metrics::session_started(metrics);
    }
    answer
}

#[allow(clippy::too_many_arguments)] // the guards of `login`
async fn login_inner(
    caller: Caller,
    body: Result<Body<LoginBody>, ApiError>,
    jar: &CookieJar<'_>,
    cfg: &Config,
    keys: &Keys,
    limits: &Limits,
    metrics: Option<&Metrics>,
    db: &Db,
) -> Answer<LoginData> {
    let b = body?
        .0
        .ok_or_else(|| ApiError::bad_request(msg::LOGIN_REQUIRED))?;
    let login = required(b.email)
        .or_else(|| required(b.username))
        .ok_or_else(|| ApiError::bad_request(msg::LOGIN_REQUIRED))?
        .to_lowercase();
    if !users::valid_login(&login) {
        return Err(ApiError::bad_request(msg::INVALID_LOGIN));
    }
    let password = b
        .password
        .filter(|p| !p.is_empty())
        .ok_or_else(|| ApiError::bad_request(msg::PASSWORD_REQUIRED))?;
    if let Err(l) = limits.login(caller.ip, &login) {
        return Err(rate_limited(limits, metrics, &caller, l, Some(&login)).await);
    }
    let user = match users::authenticate(db, cfg, &login, password).await {
        Ok(user) => user,
        Err(e) => {
            if matches!(e, UserError::InvalidCredentials) {
                events::security(json!({
                    "event": "login_failed",
                    "ip": caller.ip.to_string(),
                    "account": login,
                }));
            }
            return Err(e.into());
        }
    };
    let pair = sessions::start(db, cfg, keys, &user, tokens::now(), &caller.seen()).await?;
    cookies::set_pair(jar, cfg, &pair);
    Ok(ApiResponse::ok(
        LoginData {
            user: PublicUser::from(&user),
            pair,
        },
        msg::LOGGED_IN,
    ))
}

/// Exchanges the refresh token (cookie first, else body) for a new pair.
#[allow(clippy::too_many_arguments)] // each argument is a request guard
#[rocket::post("/refresh-token", data = "<token>")]
pub async fn refresh_token(
    _site: SameSite,
    caller: Caller,
    token: Result<RefreshToken, ApiError>,
    jar: &CookieJar<'_>,
    cfg: &State<Config>,
    keys: &State<Keys>,
    limits: &State<Limits>,
    metrics: Option<&State<Metrics>>,
    db: &State<Db>,
) -> Answer<Pair> {
    let metrics = metrics.map(|m| &**m);
    if let Err(l) = limits.refresh(caller.ip) {
        count(metrics, |m| &m.refresh, "rate_limited");
        return Err(rate_limited(limits, metrics, &caller, l, None).await);
    }
    let Some(token) = token?.0 else {
        count(metrics, |m| &m.refresh, "invalid");
        return Err(ApiError::unauthorized(msg::UNAUTHORIZED));
    };
    let outcome = sessions::refresh(db, cfg, keys, &token, tokens::now(), &caller.seen()).await;
    count(metrics, |m| &m.refresh, refresh_outcome(&outcome));
    if matches!(outcome, Err(SessionError::Reuse)) {
        count(metrics, |m| &m.sessions_ended, "refresh_token_reuse");
    }
    let (pair, _) = outcome?;
    cookies::set_pair(jar, cfg, &pair);
    Ok(ApiResponse::ok(pair, msg::REFRESHED))
}

/// The user and session a logout applies to: the access token's, else the refresh token's
/// (cookie or body), which must be the live token of an active session
/// ([`sessions::owner_of`]).
async fn session_of(
    auth: Result<AuthUser, ApiError>,
    refresh: Result<RefreshToken, ApiError>,
    db: &Db,
    cfg: &Config,
    keys: &Keys,
) -> Result<(String, String), ApiError> {
    let auth_err = match auth {
        Ok(a) => return Ok((a.claims.sub, a.claims.sid)),
        Err(e) => e,
    };
    match refresh.ok().and_then(|t| t.0) {
        Some(t) => Ok(sessions::owner_of(db, cfg, keys, &t, tokens::now()).await?),
        None => Err(auth_err),
    }
}

/// Clears both cookies after a logout that succeeded or that no retry can make succeed (a
/// token problem: 401); keeps them after a 503 or 500, so the client can retry the logout.
fn clear_unless_retryable<T>(
    jar: &CookieJar<'_>,
    cfg: &Config,
    outcome: Result<T, ApiError>,
) -> Result<T, ApiError> {
    let retryable = outcome
        .as_ref()
        .err()
        .is_some_and(|e| e.status.class().is_server_error());
    if !retryable {
        cookies::clear(jar, cfg);
    }
    outcome
}

/// Ends this session and clears the cookies.
#[allow(clippy::too_many_arguments)] // each argument is a request guard
#[rocket::post("/logout", data = "<refresh>")]
pub async fn logout(
    _site: SameSite,
    auth: Result<AuthUser, ApiError>,
    refresh: Result<RefreshToken, ApiError>,
    jar: &CookieJar<'_>,
    cfg: &State<Config>,
    keys: &State<Keys>,
    metrics: Option<&State<Metrics>>,
    db: &State<Db>,
) -> Answer<Value> {
    let ended = async {
        let (_, sid) = session_of(auth, refresh, db, cfg, keys).await?;
        Ok::<_, ApiError>(sessions::end(db, &sid, "logout", tokens::now()).await?)
    };
    if clear_unless_retryable(jar, cfg, ended.await)? {
        ended_count(metrics, "logout", 1);
    }
    Ok(ApiResponse::ok(json!({}), msg::LOGGED_OUT))
}

/// Ends every session of the user and clears the cookies.
#[allow(clippy::too_many_arguments)] // each argument is a request guard
#[rocket::post("/logout-all", data = "<refresh>")]
pub async fn logout_all(
    _site: SameSite,
    auth: Result<AuthUser, ApiError>,
    refresh: Result<RefreshToken, ApiError>,
    jar: &CookieJar<'_>,
    cfg: &State<Config>,
    keys: &State<Keys>,
    metrics: Option<&State<Metrics>>,
    db: &State<Db>,
) -> Answer<Value> {
    let ended = async {
        let (sub, _) = session_of(auth, refresh, db, cfg, keys).await?;
        Ok::<_, ApiError>(sessions::end_all(db, &sub, tokens::now()).await?)
    };
    let ended = clear_unless_retryable(jar, cfg, ended.await)?;
    ended_count(metrics, "logout_all", ended);
    Ok(ApiResponse::ok(
        json!({ "sessionsEnded": ended }),
        msg::LOGGED_OUT_ALL,
    ))
}

/// Where a session was seen: IP and user agent.
#[derive(Debug, Serialize)]
pub struct SeenView {
    /// Client IP.
    pub ip: String,
    /// User agent (at most 256 bytes).
    #[serde(rename = "userAgent")]
    pub user_agent: String,
}

/// One session in `GET /sessions`.
#[derive(Debug, Serialize)]
pub struct SessionView {
    /// Session id (for `DELETE /sessions/<id>`).
    pub id: String,
    /// Started at, Unix seconds.
    #[serde(rename = "createdAt")]
    pub created_at: i64,
    /// Last refreshed at, Unix seconds.
    #[serde(rename = "lastRefreshedAt")]
    pub last_refreshed_at: i64,
    /// Ends at unless refreshed, Unix seconds.
    #[serde(rename = "expiresAt")]
    pub expires_at: i64,
    /// Seen at login.
    pub login: SeenView,
    /// Seen at the last refresh.
    #[serde(rename = "lastRefresh")]
    pub last_refresh: SeenView,
    /// Whether this is the caller's own session.
    pub current: bool,
}

/// The caller's active sessions, newest first.
#[rocket::get("/sessions")]
pub async fn list_sessions(
    auth: Result<AuthUser, ApiError>,
    db: &State<Db>,
) -> Answer<Vec<SessionView>> {
    let auth = auth?;
    let list = sessions::list(db, &auth.user.id, tokens::now()).await?;
    let views = list
        .into_iter()
        .map(|s| SessionView {
            current: s.id == auth.claims.sid,
            id: s.id,
            created_at: s.created_at,
            last_refreshed_at: s.last_used_at,
            expires_at: s.expires_at,
            login: SeenView {
                ip: s.login_ip,
                user_agent: s.login_user_agent,
            },
            last_refresh: SeenView {
                ip: s.last_ip,
                user_agent: s.last_user_agent,
            },
        })
        .collect();
    Ok(ApiResponse::ok(views, msg::SESSIONS))
}

/// Ends one of the caller's sessions; another user's id answers 404, as an unknown one does.
#[rocket::delete("/sessions/<id>")]
pub async fn end_session(
    _site: SameSite,
    auth: Result<AuthUser, ApiError>,
    id: &str,
    metrics: Option<&State<Metrics>>,
    db: &State<Db>,
) -> Answer<Value> {
    let auth = auth?;
    // Session ids are this service's own random hex: anything else names no session.
    let plausible = (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_hexdigit());
    if !plausible || !sessions::end_own(db, &auth.user.id, id, tokens::now()).await? {
        return Err(ApiError::new(Status::NotFound, msg::NOT_FOUND));
    }
    ended_count(metrics, "ended_by_user", 1);
    Ok(ApiResponse::ok(json!({}), msg::SESSION_ENDED))
}

/// Ends every session of the caller but the current one.
#[rocket::post("/logout-others")]
pub async fn logout_others(
    _site: SameSite,
    auth: Result<AuthUser, ApiError>,
    metrics: Option<&State<Metrics>>,
    db: &State<Db>,
) -> Answer<Value> {
    let auth = auth?;
    let ended = sessions::end_others(db, &auth.user.id, &auth.claims.sid, tokens::now()).await?;
    ended_count(metrics, "logout_others", ended);
    Ok(ApiResponse::ok(
        json!({ "sessionsEnded": ended }),
        msg::LOGGED_OUT_OTHERS,
    ))
}

/// The current user.
#[rocket::get("/me")]
pub fn me(auth: Result<AuthUser, ApiError>) -> Answer<PublicUser> {
    let auth = auth?;
    Ok(ApiResponse::ok(
        PublicUser::from(&auth.user),
        msg::CURRENT_USER,
    ))
}

/// Liveness with a database round trip: 200, or 503 with `Retry-After`.
#[rocket::get("/health")]
pub async fn health(db: &State<Db>) -> Answer<Value> {
    store::ping(db.pool())
        .await
        .map_err(|e| ApiError::database("health check", &e))?;
    Ok(ApiResponse::ok(
        json!({ "database": format!("{:?}", db.backend()).to_lowercase() }),
        msg::HEALTH_OK,
    ))
}

/// The browser helper (`static/rotor.js`), an ES module a front end imports from here.
#[rocket::get("/rotor.js")]
#[must_use]
pub fn helper_js() -> (ContentType, &'static str) {
    (ContentType::JavaScript, include_str!("../static/rotor.js"))
}

/// The helper's TypeScript declarations (`static/rotor.d.ts`).
#[rocket::get("/rotor.d.ts")]
#[must_use]
pub fn helper_types() -> (ContentType, &'static str) {
    (
        ContentType::new("application", "typescript"),
        include_str!("../static/rotor.d.ts"),
    )
}

/// Every route, for mounting at any base path.
#[must_use]
pub fn routes() -> Vec<Route> {
    rocket::routes![
        register,
        login,
        refresh_token,
        logout,
        logout_all,
        me,
        list_sessions,
        end_session,
        logout_others,
        health,
        crate::metrics::metrics,
        helper_js,
        helper_types,
        crate::cors::preflight
    ]
}

/// Mounts [`routes`] at the configured `base_path` (default `/`).
#[must_use]
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("rotor routes", |rocket| async {
        let base = rocket
            .state::<Config>()
            .map_or_else(|| "/".to_owned(), |c| c.base_path.clone());
        rocket.mount(base, routes())
    })
}
