//! The HTTP routes. Each one reads its inputs, calls [`crate::sessions`] or
//! [`crate::passwords`], and sets cookies; no crypto and no SQL here.

use rocket::fairing::AdHoc;
use rocket::http::{CookieJar, Status};
use rocket::{Route, State};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::config::{Config, Keys};
use crate::cookies;
use crate::db::Db;
use crate::error::{ApiError, MSG_UNAUTHORIZED};
use crate::guards::{AuthUser, Body};
use crate::passwords::{self, MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS};
use crate::response::ApiResponse;
use crate::sessions;
use crate::store::{self, UserRow};
use crate::tokens::{self, Pair};

/// A user as the API shows it: never the password hash.
#[derive(Debug, Serialize)]
pub struct PublicUser {
    /// Id.
    pub id: String,
    /// User name.
    pub username: String,
    /// E-mail address.
    pub email: String,
    /// Creation time, Unix seconds.
    #[serde(rename = "createdAt")]
    pub created_at: i64,
}

impl From<&UserRow> for PublicUser {
    fn from(u: &UserRow) -> Self {
        Self {
            id: u.id.clone(),
            username: u.username.clone(),
            email: u.email.clone(),
            created_at: u.created_at,
        }
    }
}

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

/// Body of the routes that take a refresh token.
#[derive(Deserialize)]
pub struct RefreshBody {
    #[serde(rename = "refreshToken")]
    refresh_token: Option<String>,
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

fn required(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// Whether `u` (already lower-cased) is an acceptable user name: 3 to 64 ASCII letters, digits,
/// `_`, `.` or `-`.
#[must_use]
pub fn valid_username(u: &str) -> bool {
    (3..=64).contains(&u.len())
        && u.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Whether `e` looks like an e-mail address: `local@domain.tld`, at most 254 bytes, no whitespace.
#[must_use]
pub fn valid_email(e: &str) -> bool {
    let Some((local, domain)) = e.split_once('@') else {
        return false;
    };
    e.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.contains('@')
        && !e.chars().any(char::is_whitespace)
}

/// Checks a new password's length (NIST SP 800-63B §5.1.1.2: at least 8 characters; at most
/// [`MAX_PASSWORD_BYTES`] bytes to bound the hashing work).
///
/// # Errors
/// A 400 whose message says what is wrong.
pub fn valid_password(p: &str) -> Result<(), ApiError> {
    if p.len() > MAX_PASSWORD_BYTES {
        return Err(ApiError::bad_request("Password is too long"));
    }
    if p.chars().count() < MIN_PASSWORD_CHARS {
        return Err(ApiError::bad_request(
            "Password must have at least 8 characters",
        ));
    }
    Ok(())
}

/// Creates a user.
#[rocket::post("/register", data = "<body>")]
pub async fn register(
    body: Result<Body<RegisterBody>, ApiError>,
    cfg: &State<Config>,
    db: &State<Db>,
) -> Answer<PublicUser> {
    let b = body?
        .0
        .ok_or_else(|| ApiError::bad_request("All fields are required"))?;
    let (Some(username), Some(email), Some(password)) = (
        required(b.username),
        required(b.email),
        b.password.filter(|p| !p.is_empty()),
    ) else {
        return Err(ApiError::bad_request("All fields are required"));
    };
    let (username, email) = (username.to_lowercase(), email.to_lowercase());
    if !valid_username(&username) {
        return Err(ApiError::bad_request(
            "Username must be 3 to 64 letters, digits, '_', '.' or '-'",
        ));
    }
    if !valid_email(&email) {
        return Err(ApiError::bad_request("Email is not valid"));
    }
    valid_password(&password)?;
    let user = UserRow {
        id: tokens::random_id(),
        username,
        email,
        password_hash: passwords::hash(cfg, password).await?,
        created_at: i64::try_from(tokens::now()).unwrap_or(i64::MAX),
    };
    let created = store::insert_user(db.pool(), &user)
        .await
        .map_err(|e| ApiError::database("register", &e))?;
    if !created {
        return Err(ApiError::new(
            Status::Conflict,
            "User with email or username already exists",
        ));
    }
    Ok(ApiResponse {
        status: Status::Created,
        data: PublicUser::from(&user),
        message: "User registered Successfully",
    })
}

/// Checks the password and starts a session; sets both cookies and returns the pair.
#[rocket::post("/login", data = "<body>")]
pub async fn login(
    body: Result<Body<LoginBody>, ApiError>,
    jar: &CookieJar<'_>,
    cfg: &State<Config>,
    keys: &State<Keys>,
    db: &State<Db>,
) -> Answer<LoginData> {
    let b = body?
        .0
        .ok_or_else(|| ApiError::bad_request("username or email is required"))?;
    let login = required(b.email)
        .or_else(|| required(b.username))
        .ok_or_else(|| ApiError::bad_request("username or email is required"))?
        .to_lowercase();
    let password = b
        .password
        .filter(|p| !p.is_empty())
        .ok_or_else(|| ApiError::bad_request("Password is required"))?;
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(ApiError::bad_request("Password is too long"));
    }
    let user = store::user_by_login(db.pool(), &login)
        .await
        .map_err(|e| ApiError::database("login", &e))?;
    // One answer for an unknown user and a wrong password (OWASP Authentication Cheat Sheet).
    let ok = passwords::verify(
        cfg,
        password,
        user.as_ref().map(|u| u.password_hash.clone()),
    )
    .await?;
    let user = match user {
        Some(u) if ok => u,
        _ => return Err(ApiError::unauthorized("Invalid user credentials")),
    };
    let pair = sessions::start(db, cfg, keys, &user, tokens::now()).await?;
    cookies::set_pair(jar, cfg, &pair);
    Ok(ApiResponse::ok(
        LoginData {
            user: PublicUser::from(&user),
            pair,
        },
        "User logged In Successfully",
    ))
}

/// Exchanges the refresh token (cookie first, else body) for a new pair.
#[rocket::post("/refresh-token", data = "<body>")]
pub async fn refresh_token(
    body: Result<Body<RefreshBody>, ApiError>,
    jar: &CookieJar<'_>,
    cfg: &State<Config>,
    keys: &State<Keys>,
    db: &State<Db>,
) -> Answer<Pair> {
    let from_cookie = jar
        .get(&cfg.refresh_cookie_name)
        .map(|c| c.value().to_owned())
        .filter(|t| !t.is_empty());
    let token = match from_cookie {
        Some(t) => t,
        None => body?
            .0
            .and_then(|b| b.refresh_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::unauthorized(MSG_UNAUTHORIZED))?,
    };
    let pair = sessions::refresh(db, cfg, keys, &token, tokens::now()).await?;
    cookies::set_pair(jar, cfg, &pair);
    Ok(ApiResponse::ok(pair, "Access token refreshed successfully"))
}

/// The session a logout applies to: the access token's, else the refresh token's (cookie or body).
fn session_of(
    auth: Result<AuthUser, ApiError>,
    body: Result<Body<RefreshBody>, ApiError>,
    jar: &CookieJar<'_>,
    cfg: &Config,
    keys: &Keys,
) -> Result<(String, String), ApiError> {
    let auth_err = match auth {
        Ok(a) => return Ok((a.claims.sub, a.claims.sid)),
        Err(e) => e,
    };
    let token = jar
        .get(&cfg.refresh_cookie_name)
        .map(|c| c.value().to_owned())
        .or_else(|| body.ok().and_then(|b| b.0).and_then(|b| b.refresh_token))
        .filter(|t| !t.is_empty());
    match token {
        Some(t) => {
            let c = tokens::verify_refresh(cfg, keys, &t, tokens::now())?;
            Ok((c.sub, c.sid))
        }
        None => Err(auth_err),
    }
}

/// Ends this session and clears the cookies.
#[rocket::post("/logout", data = "<body>")]
pub async fn logout(
    auth: Result<AuthUser, ApiError>,
    body: Result<Body<RefreshBody>, ApiError>,
    jar: &CookieJar<'_>,
    cfg: &State<Config>,
    keys: &State<Keys>,
    db: &State<Db>,
) -> Answer<Value> {
    let (_, sid) = session_of(auth, body, jar, cfg, keys)?;
    sessions::end(db, &sid, "logout", tokens::now()).await?;
    cookies::clear(jar, cfg);
    Ok(ApiResponse::ok(json!({}), "User logged Out"))
}

/// Ends every session of the user and clears the cookies.
#[rocket::post("/logout-all", data = "<body>")]
pub async fn logout_all(
    auth: Result<AuthUser, ApiError>,
    body: Result<Body<RefreshBody>, ApiError>,
    jar: &CookieJar<'_>,
    cfg: &State<Config>,
    keys: &State<Keys>,
    db: &State<Db>,
) -> Answer<Value> {
    let (sub, _) = session_of(auth, body, jar, cfg, keys)?;
    let ended = sessions::end_all(db, &sub, tokens::now()).await?;
    cookies::clear(jar, cfg);
    Ok(ApiResponse::ok(
        json!({ "sessionsEnded": ended }),
        "User logged Out of all sessions",
    ))
}

/// The current user.
#[rocket::get("/me")]
pub fn me(auth: Result<AuthUser, ApiError>) -> Answer<PublicUser> {
    let auth = auth?;
    Ok(ApiResponse::ok(
        PublicUser::from(&auth.user),
        "Current user fetched successfully",
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
        "ok",
    ))
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
        health
    ]
}

/// Mounts [`routes`] at `/`.
#[must_use]
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("rotor routes", |rocket| async {
        rocket.mount("/", routes())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_rules() {
        for ok in ["bob", "a.b-c_d", &"x".repeat(64)] {
            assert!(valid_username(ok), "{ok}");
        }
        for bad in ["ab", "bob smith", "bób", &"x".repeat(65)] {
            assert!(!valid_username(bad), "{bad}");
        }
        assert!(valid_email("a@b.io"));
        for bad in ["a.b.io", "@b.io", "a@b", "a@b@c.io", "a b@c.io"] {
            assert!(!valid_email(bad), "{bad}");
        }
        assert!(valid_password("12345678").is_ok());
        assert!(valid_password("1234567").is_err());
        assert!(valid_password(&"p".repeat(MAX_PASSWORD_BYTES + 1)).is_err());
    }
}
