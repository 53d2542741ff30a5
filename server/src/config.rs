//! Configuration through Rocket's figment, and the stage that checks it and builds the key rings
//! ([`crate::keys`]).
//!
//! Every setting is a top-level key of Rocket's configuration (`Rocket.toml`, `ROCKET_*`), and the
//! original service's variables `ACCESS_TOKEN_SECRET`, `REFRESH_TOKEN_SECRET`,
//! `ACCESS_TOKEN_EXPIRY` and `REFRESH_TOKEN_EXPIRY` are read as well (they win over the rest).

use std::fmt;

use rocket::fairing::AdHoc;
use rocket::figment::providers::Serialized;
use rocket::figment::Figment;
use rocket::http::SameSite;
use rocket::{Build, Rocket};

use crate::keys::Keys;
use rotor_core::Validation;
use serde::{Deserialize, Deserializer};

/// Environment variables of the original service, read without the `ROCKET_` prefix.
pub const ORIGINAL_ENV: [&str; 4] = [
    "ACCESS_TOKEN_SECRET",
    "REFRESH_TOKEN_SECRET",
    "ACCESS_TOKEN_EXPIRY",
    "REFRESH_TOKEN_EXPIRY",
];

/// The original app's `cors({ origin: process.env.CORS_ORIGIN, credentials: true })` variable:
/// one origin, or several separated by commas. When set, it replaces `cors_origins`.
pub const CORS_ORIGIN_ENV: &str = "CORS_ORIGIN";

/// A secret string whose `Debug` never prints it.
#[derive(Clone)]
pub struct Secret(String);

impl<'de> Deserialize<'de> for Secret {
    /// Only strings: an unquoted `ROCKET_…` value of digits would otherwise arrive as a number
    /// (even a float, keeping 53 bits of a long secret).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Secret;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a secret string (quote it: ROCKET_ values are parsed, so digits become a number)",
                )
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Secret, E> {
                Ok(Secret(v.to_owned()))
            }
        }
        d.deserialize_str(V)
    }
}

impl Secret {
    /// Wraps a secret.
    #[must_use]
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret's bytes.
    #[must_use]
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// A duration in whole seconds, written as a number (`900`) or with a unit (`"15m"`, `"10d"`),
/// like the original service's `ACCESS_TOKEN_EXPIRY=15m`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seconds(pub u64);

impl Seconds {
    /// Parses `"90"`, `"90s"`, `"15m"`, `"1h"`, `"10d"`, `"2w"` (also long unit names).
    ///
    /// # Errors
    /// A message naming the accepted forms.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let n: u64 = num.parse().map_err(|_| {
            format!("`{text}` is not a duration such as 900, \"90s\", \"15m\", \"1h\" or \"10d\"")
        })?;
        let mult = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "s" | "sec" | "secs" | "second" | "seconds" => 1,
            "m" | "min" | "mins" | "minute" | "minutes" => 60,
            "h" | "hr" | "hrs" | "hour" | "hours" => 3600,
            "d" | "day" | "days" => 86_400,
            "w" | "week" | "weeks" => 604_800,
            other => return Err(format!("unknown duration unit `{other}` in `{text}`")),
        };
        n.checked_mul(mult)
            .map(Seconds)
            .ok_or_else(|| format!("duration `{text}` is too large"))
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Int(n) => Ok(Seconds(n)),
            Raw::Text(t) => Seconds::parse(&t).map_err(serde::de::Error::custom),
        }
    }
}

/// The `SameSite` attribute of the token cookies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SameSitePolicy {
    /// `SameSite=Strict`: the default, no cross-site sending at all.
    Strict,
    /// `SameSite=Lax`.
    Lax,
    /// `SameSite=None` (browsers require `Secure` with it).
    None,
}

impl From<SameSitePolicy> for SameSite {
    fn from(p: SameSitePolicy) -> Self {
        match p {
            SameSitePolicy::Strict => SameSite::Strict,
            SameSitePolicy::Lax => SameSite::Lax,
            SameSitePolicy::None => SameSite::None,
        }
    }
}

/// How [`crate::guards::AuthUser`] checks an access token (`access_check`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccessCheck {
    /// The default: signature and claims, then the session must still be active (a database
    /// lookup, or this process's cache of sessions seen active less than `access_cache_ttl`
    /// ago). A revocation takes effect at once on the replica that made it, and within
    /// `access_cache_ttl` on the others.
    Session,
    /// Signature and claims only: a revoked session's access token is accepted until it
    /// expires (`access_token_expiry`). The user row is still read for the route (cached for
    /// `access_cache_ttl`); a user that no longer exists is refused.
    Token,
}

/// Longest `access_cache_ttl` accepted, in seconds.
pub const MAX_ACCESS_CACHE_TTL: u64 = 60;

/// Every setting of the service. Field names are the configuration keys.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Secret that signs access tokens (at least 32 bytes, RFC 7518 §3.2).
    pub access_token_secret: Option<Secret>,
    /// Older access-token secrets that still verify, for rotation without logging users out.
    pub access_token_previous_secrets: Vec<Secret>,
    /// Secret that signs refresh tokens; must differ from the access secret.
    pub refresh_token_secret: Option<Secret>,
    /// Older refresh-token secrets that still verify.
    pub refresh_token_previous_secrets: Vec<Secret>,
    /// Access-token lifetime (default 15 minutes).
    pub access_token_expiry: Seconds,
    /// Refresh-token lifetime (default 10 days).
    pub refresh_token_expiry: Seconds,
    /// Window in which a double-submitted refresh token gets the same successor (default 10 s, 0 disables).
    pub refresh_grace: Seconds,
    /// How long after its use a parent refresh token whose successor was never used still gets
    /// that successor (a lost response), at most once per session per refresh lifetime
    /// (default 1 day, 0 disables).
    pub refresh_retry_window: Seconds,
    /// Where the standalone server mounts its routes (default `/`; e.g. `/api/v1/users`).
    pub base_path: String,
    /// Origins of front ends allowed to call the service with credentials (CORS), e.g.
    /// `["https://app.example.com"]`; also from `CORS_ORIGIN`.
    pub cors_origins: Vec<String>,
    /// Clock skew tolerated when checking `exp`, `nbf` and `iat`, in seconds.
    pub token_leeway: u64,
    /// `iss` of every token issued and required of every token accepted.
    pub issuer: String,
    /// Longest token accepted, in bytes; longer ones get 413.
    pub max_token_len: usize,
    /// Largest request body accepted, in bytes; larger ones get 413.
    pub body_limit: u64,
    /// Name of the access-token cookie.
    pub access_cookie_name: String,
    /// Name of the refresh-token cookie.
    pub refresh_cookie_name: String,
    /// `Path` of the access-token cookie.
    pub access_cookie_path: String,
    /// `Path` of the refresh-token cookie; by default `base_path`, so that it reaches the
    /// refresh route and the logout routes, and no route outside the base.
    pub refresh_cookie_path: Option<String>,
    /// Set `Secure` on cookies; switch off only for plain-http local development.
    pub cookie_secure: bool,
    /// `SameSite` of the cookies.
    pub cookie_same_site: SameSitePolicy,
    /// `Retry-After` seconds sent with 503 responses.
    pub retry_after: u64,
    /// Seconds between sweeps of expired rows (0 disables the sweeper).
    pub cleanup_interval: Seconds,
    /// Argon2id memory cost in KiB (OWASP Password Storage Cheat Sheet: 19456).
    pub password_memory_kib: u32,
    /// Argon2id iterations (OWASP: 2).
    pub password_iterations: u32,
    /// Argon2id parallelism (OWASP: 1).
    pub password_parallelism: u32,
    /// Password hashes computed at once (0: one per core).
    pub password_concurrency: usize,
    /// Logins and registrations that may wait for a hashing slot; beyond it the answer is 503
    /// at once.
    pub password_queue: usize,
    /// `/login` attempts per client IP per minute (0 disables).
    pub rate_login_per_ip: u32,
    /// `/login` attempts per account (the normalised login name) per minute (0 disables).
    pub rate_login_per_account: u32,
    /// `/register` requests per client IP per minute (0 disables).
    pub rate_register_per_ip: u32,
    /// `/refresh-token` requests per client IP per minute (0 disables).
    pub rate_refresh_per_ip: u32,
    /// How long a request over a rate limit is held before its 429 (default 1 s, never longer
    /// than its `Retry-After`; 0: answered at once). See [`crate::limits`].
    pub rate_limit_delay: Seconds,
    /// Most requests held at once; beyond it a 429 is answered at once (default 1024).
    pub rate_limit_held: usize,
    /// Proxies (addresses or CIDR ranges) whose forwarding header is believed; empty: the
    /// client IP is always the socket peer.
    pub trusted_proxies: Vec<String>,
    /// The header a trusted proxy puts the client address in.
    pub forwarded_header: String,
    /// Longest a session lives, however often it is refreshed (default 30 days; 0: no limit).
    pub session_max_lifetime: Seconds,
    /// Most active sessions per user; a new login ends the oldest beyond it (default 100; 0: no
    /// limit).
    pub max_sessions_per_user: u32,
    /// Prometheus metrics: `"off"` (default), `"on"` (`GET <base>/metrics` on this port), or an
    /// address such as `"127.0.0.1:9100"` for a listener of their own.
    pub metrics: String,
    /// Security and audit event lines written per second at most (the rest are counted and
    /// reported as suppressed).
    pub event_lines_per_second: u32,
    /// What an access token must pass: `"session"` (default) or `"token"` ([`AccessCheck`]).
    pub access_check: AccessCheck,
    /// How long this process trusts a session it saw active (session mode) or a user row it
    /// read (token mode); default 1 s, 0 disables the cache.
    pub access_cache_ttl: Seconds,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            access_token_secret: None,
            access_token_previous_secrets: Vec::new(),
            refresh_token_secret: None,
            refresh_token_previous_secrets: Vec::new(),
            access_token_expiry: Seconds(15 * 60),
            refresh_token_expiry: Seconds(10 * 86_400),
            refresh_grace: Seconds(10),
            refresh_retry_window: Seconds(86_400),
            base_path: "/".into(),
            cors_origins: Vec::new(),
            token_leeway: 30,
            issuer: "rotor".into(),
            max_token_len: 4096,
            body_limit: 16 * 1024,
            access_cookie_name: "accessToken".into(),
            refresh_cookie_name: "refreshToken".into(),
            access_cookie_path: "/".into(),
            refresh_cookie_path: None,
            cookie_secure: true,
            cookie_same_site: SameSitePolicy::Strict,
            retry_after: 5,
            cleanup_interval: Seconds(3600),
            password_memory_kib: 19_456,
            password_iterations: 2,
            password_parallelism: 1,
            password_concurrency: 0,
            password_queue: 32,
            rate_login_per_ip: 60,
            rate_login_per_account: 10,
            rate_register_per_ip: 20,
            rate_refresh_per_ip: 1200,
            rate_limit_delay: Seconds(1),
            rate_limit_held: 1024,
            trusted_proxies: Vec::new(),
            forwarded_header: "X-Forwarded-For".into(),
            session_max_lifetime: Seconds(30 * 86_400),
            max_sessions_per_user: 100,
            metrics: "off".into(),
            event_lines_per_second: 50,
            access_check: AccessCheck::Session,
            access_cache_ttl: Seconds(1),
        }
    }
}

impl Config {
    /// Reads the configuration from Rocket's figment plus the original service's variables.
    ///
    /// # Errors
    /// The figment error, which names the offending key.
    pub fn from_figment(figment: &Figment) -> Result<Self, Box<rocket::figment::Error>> {
        let mut figment = figment.clone();
        // Read verbatim, as strings: the original service's values are never parsed as TOML.
        for name in ORIGINAL_ENV {
            match std::env::var(name) {
                Ok(value) => {
                    figment = figment.merge(Serialized::global(&name.to_ascii_lowercase(), value));
                }
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err(Box::new(rocket::figment::Error::from(format!(
                        "{name} is not valid UTF-8"
                    ))))
                }
                Err(std::env::VarError::NotPresent) => {}
            }
        }
        match std::env::var(CORS_ORIGIN_ENV) {
            Ok(value) => {
                let list: Vec<String> = value
                    .split(',')
                    .map(str::trim)
                    .filter(|o| !o.is_empty())
                    .map(str::to_owned)
                    .collect();
                figment = figment.merge(Serialized::global("cors_origins", list));
            }
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(Box::new(rocket::figment::Error::from(format!(
                    "{CORS_ORIGIN_ENV} is not valid UTF-8"
                ))))
            }
            Err(std::env::VarError::NotPresent) => {}
        }
        let mut cfg: Self = figment.extract().map_err(|e| Box::new(redacted(e)))?;
        cfg.base_path = normalise_path(&cfg.base_path);
        cfg.cors_origins = cfg
            .cors_origins
            .iter()
            .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
            .collect();
        Ok(cfg)
    }

    /// The refresh cookie's `Path`: `refresh_cookie_path`, else `base_path`.
    #[must_use]
    pub fn refresh_path(&self) -> &str {
        self.refresh_cookie_path
            .as_deref()
            .unwrap_or(&self.base_path)
    }

    /// Whether `origin` (as a browser sends it: `scheme://host[:port]`) is in `cors_origins`.
    #[must_use]
    pub fn origin_allowed(&self, origin: &str) -> bool {
        self.cors_origins
            .iter()
            .any(|o| o.eq_ignore_ascii_case(origin))
    }

    /// The validation policy for tokens of this service.
    #[must_use]
    pub fn validation(&self) -> Validation<'_> {
        Validation::new()
            .issuer(&self.issuer)
            .leeway(self.token_leeway)
            .max_token_len(self.max_token_len)
    }
}

/// The same errors, without the value of any secret: figment's messages quote the offending
/// value ("found integer 1234…"), which for a secret key would put it in the log (OWASP Logging
/// Cheat Sheet: never log secrets).
fn redacted(err: rocket::figment::Error) -> rocket::figment::Error {
    use rocket::figment::error::Kind;
    let lines: Vec<String> = err
        .into_iter()
        .map(|e| {
            let key = e.path.join(".");
            if !key.contains("secret") {
                return e.to_string();
            }
            match &e.kind {
                Kind::InvalidType(_, expected) | Kind::InvalidValue(_, expected) => {
                    format!("invalid value for `{key}` (value not shown): expected {expected}")
                }
                _ => format!("invalid value for `{key}` (value not shown)"),
            }
        })
        .collect();
    rocket::figment::Error::from(lines.join("; "))
}

/// `/`, or the path with one leading and no trailing `/`.
fn normalise_path(path: &str) -> String {
    let trimmed = path.trim().trim_matches('/');
    if trimmed.is_empty() {
        "/".into()
    } else {
        format!("/{trimmed}")
    }
}

/// Whether `o` is a serialised origin: `http` or `https`, a host, an optional port, no path.
fn is_origin(o: &str) -> bool {
    let Some(rest) = o
        .strip_prefix("https://")
        .or_else(|| o.strip_prefix("http://"))
    else {
        return false;
    };
    !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

fn check(cfg: &Config, debug: bool) -> Result<(), String> {
    if let Some(bad) = cfg.cors_origins.iter().find(|o| !is_origin(o)) {
        // Fetch Standard, CORS protocol: with credentials the allowed origin is echoed exactly;
        // `*` is refused by browsers for credentialed requests, so it is never configurable.
        return Err(format!(
            "cors_origins / CORS_ORIGIN: `{bad}` is not an origin such as https://app.example.com              (scheme, host and optional port; no path, no `*`)"
        ));
    }
    if let Some(bad) = cfg
        .trusted_proxies
        .iter()
        .find(|p| crate::client::parse_net(p).is_none())
    {
        return Err(format!(
            "trusted_proxies: `{bad}` is not an IP address or a CIDR range such as 10.0.0.0/8"
        ));
    }
    crate::metrics::Exposure::parse(&cfg.metrics)?;
    if uri_path_invalid(&cfg.base_path) {
        return Err(format!(
            "base_path `{}` must be a plain path such as /api/v1/users",
            cfg.base_path
        ));
    }
    if !cfg.cookie_secure && !debug {
        // OWASP Session Management Cheat Sheet: session cookies always carry `Secure`.
        return Err(
            "cookie_secure = false is for local plain-http development only (the debug profile)"
                .into(),
        );
    }
    if cfg.access_token_expiry.0 == 0 || cfg.refresh_token_expiry.0 == 0 {
        return Err("ACCESS_TOKEN_EXPIRY and REFRESH_TOKEN_EXPIRY must be positive".into());
    }
    if cfg.access_cache_ttl.0 > MAX_ACCESS_CACHE_TTL {
        return Err(format!(
            "access_cache_ttl must be at most {MAX_ACCESS_CACHE_TTL} s: it is how long a session revoked elsewhere still passes"
        ));
    }
    if cfg.access_cookie_name == cfg.refresh_cookie_name {
        return Err("access_cookie_name and refresh_cookie_name must differ".into());
    }
    if cfg.cookie_same_site == SameSitePolicy::None && !cfg.cookie_secure {
        return Err("cookie_same_site = \"none\" requires cookie_secure = true".into());
    }
    argon2::Params::new(
        cfg.password_memory_kib,
        cfg.password_iterations,
        cfg.password_parallelism,
        None,
    )
    .map_err(|e| format!("password hashing parameters: {e}"))?;
    Ok(())
}

async fn ignite(rocket: Rocket<Build>) -> Result<Rocket<Build>, Rocket<Build>> {
    let cfg = match Config::from_figment(rocket.figment()) {
        Ok(cfg) => cfg,
        Err(e) => {
            log::error!("rotor: invalid configuration: {e}");
            return Err(rocket);
        }
    };
    let debug = rocket.figment().profile() == rocket::Config::DEBUG_PROFILE;
    let log_off = rocket
        .figment()
        .extract_inner::<rocket::config::LogLevel>("log_level")
        .is_ok_and(|l| l == rocket::config::LogLevel::Off);
    crate::events::init(cfg.event_lines_per_second, log_off);
    if let Err(e) = check(&cfg, debug) {
        log::error!("rotor: invalid configuration: {e}");
        return Err(rocket);
    }
    let keys = match Keys::from_config(&cfg, debug) {
        Ok(keys) => keys,
        Err(e) => {
            log::error!("rotor: refusing to start: {e}");
            return Err(rocket);
        }
    };
    if keys.ephemeral {
        log::warn!(
            "rotor: ******** NO TOKEN SECRETS CONFIGURED: generated EPHEMERAL secrets for this process. \
             Every token becomes invalid at restart and replicas cannot share sessions. \
             Set ACCESS_TOKEN_SECRET and REFRESH_TOKEN_SECRET (the release profile refuses to start without them). ********"
        );
    }
    if !cfg.cookie_secure {
        log::warn!(
            "rotor: cookie_secure = false: token cookies are sent over plain http. Local development only."
        );
    }
    let limits = crate::limits::Limits::from_config(&cfg);
    Ok(rocket
        .manage(cfg)
        .manage(keys)
        .manage(limits)
        .manage(crate::metrics::Metrics::new()))
}

/// Reads and checks [`Config`], builds [`Keys`], the rate [`Limits`](crate::limits::Limits) and
/// the [`Metrics`](crate::metrics::Metrics) registry, and puts them in managed state.
///
/// Fails ignition with a clear log line when a setting is invalid or, outside the debug profile,
/// when a token secret is missing.
#[must_use]
pub fn stage() -> AdHoc {
    AdHoc::try_on_ignite("rotor configuration", ignite)
}

fn uri_path_invalid(path: &str) -> bool {
    !path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.' | b'~'))
        || path.contains("//")
        || path.split('/').any(|seg| seg == "." || seg == "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_like_the_original() {
        let table = [
            ("900", 900),
            ("90s", 90),
            ("15m", 900),
            ("1h", 3600),
            ("10d", 864_000),
            ("2w", 1_209_600),
            ("7 days", 604_800),
        ];
        for (text, want) in table {
            assert_eq!(Seconds::parse(text), Ok(Seconds(want)), "{text}");
        }
        for bad in ["", "m", "15x", "-5", "1.5h", "99999999999999999999d"] {
            assert!(Seconds::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn base_path_and_origins() {
        assert_eq!(normalise_path("/"), "/");
        assert_eq!(normalise_path(""), "/");
        assert_eq!(normalise_path("api/v1/users/"), "/api/v1/users");
        let cfg = Config {
            base_path: "/api/v1/users".into(),
            ..Config::default()
        };
        assert_eq!(cfg.refresh_path(), "/api/v1/users");
        assert_eq!(check(&cfg, false), Ok(()));
        for bad in ["/a/../b", "/a b", "/a?x"] {
            let cfg = Config {
                base_path: bad.into(),
                ..Config::default()
            };
            assert!(check(&cfg, false).is_err(), "{bad}");
        }
        for ok in ["http://localhost:5173", "https://app.example.com"] {
            assert!(is_origin(ok), "{ok}");
        }
        for bad in [
            "*",
            "null",
            "localhost:5173",
            "https://a.io/path",
            "https://",
        ] {
            let cfg = Config {
                cors_origins: vec![bad.into()],
                ..Config::default()
            };
            assert!(check(&cfg, false).is_err(), "{bad}");
        }
    }

    #[test]
    fn settings_are_checked() {
        let mut cfg = Config::default();
        assert_eq!(check(&cfg, false), Ok(()));
        cfg.cookie_secure = false;
        assert_eq!(check(&cfg, true), Ok(()));
        assert!(check(&cfg, false).unwrap_err().contains("debug profile"));
        cfg.cookie_same_site = SameSitePolicy::None;
        assert!(check(&cfg, true)
            .unwrap_err()
            .contains("requires cookie_secure"));
        let cfg = Config {
            refresh_cookie_name: "accessToken".into(),
            ..Config::default()
        };
        assert!(check(&cfg, true).unwrap_err().contains("must differ"));
        let cfg = Config {
            password_memory_kib: 1,
            ..Config::default()
        };
        assert!(check(&cfg, true).unwrap_err().contains("password hashing"));
    }

    #[test]
    fn configuration_errors_never_show_a_secret() {
        let digits = "98765432109876543210987654321098765";
        let figment = Figment::new()
            .merge(("access_token_secret", 9.876_543_210_987_654e34))
            .merge((
                "refresh_token_previous_secrets",
                vec![98_765_432_109_876_u64],
            ));
        let err = Config::from_figment(&figment).unwrap_err().to_string();
        assert!(
            err.contains("access_token_secret") && err.contains("value not shown"),
            "{err}"
        );
        assert!(err.contains("quote it"), "{err}");
        for leak in ["9876", "98765432109876", digits] {
            assert!(!err.contains(leak), "{leak} in {err}");
        }
        // Other keys keep figment's full message.
        let err = Config::from_figment(&Figment::new().merge(("token_leeway", "soon")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("soon"), "{err}");
    }

    #[test]
    fn secrets_must_be_strings() {
        let digits = "1234567890123456789012345678901234567890";
        let parsed = Figment::new()
            .merge(("access_token_secret", digits))
            .extract::<Config>()
            .unwrap();
        assert_eq!(
            parsed.access_token_secret.unwrap().expose(),
            digits.as_bytes()
        );
        // What an unquoted `ROCKET_ACCESS_TOKEN_SECRET=1234…` becomes: a number, refused.
        let err = Figment::new()
            .merge(("access_token_secret", 1.234_567_890_123_456_7e39))
            .extract::<Config>()
            .unwrap_err();
        assert!(err.to_string().contains("quote it"), "{err}");
    }

    #[test]
    fn access_check_settings() {
        let cfg = Config::default();
        assert_eq!(cfg.access_check, AccessCheck::Session);
        assert_eq!(cfg.access_cache_ttl, Seconds(1));
        let parsed = Figment::new()
            .merge(("access_check", "token"))
            .merge(("access_cache_ttl", "2s"))
            .extract::<Config>()
            .unwrap();
        assert_eq!(parsed.access_check, AccessCheck::Token);
        assert_eq!(parsed.access_cache_ttl, Seconds(2));
        assert!(Figment::new()
            .merge(("access_check", "none"))
            .extract::<Config>()
            .is_err());
        let long = Config {
            access_cache_ttl: Seconds(MAX_ACCESS_CACHE_TTL + 1),
            ..Config::default()
        };
        assert!(check(&long, true).unwrap_err().contains("access_cache_ttl"));
    }
}
