//! The token cookies: their names and attributes, set explicitly, and their reading and clearing.
//! The guards ([`crate::guards`]) read them through here; no route touches the jar itself.
//!
//! Rocket's jar alone sets neither `HttpOnly` nor, without its own TLS, `Secure`
//! (OWASP Session Management Cheat Sheet, "Cookies"): `HttpOnly`, `Secure`, `SameSite=Strict`,
//! a `Path` per cookie (the refresh cookie only reaches the refresh route), `Max-Age` equal to
//! the token lifetime, and no `Domain`, so the cookie stays on this host.

use rocket::http::{Cookie, CookieJar};
use rocket::time::Duration;

use crate::config::Config;
use crate::tokens::Pair;

fn cookie(cfg: &Config, name: &str, value: &str, path: &str, max_age: u64) -> Cookie<'static> {
    Cookie::build((name.to_owned(), value.to_owned()))
        .http_only(true)
        .secure(cfg.cookie_secure)
        .same_site(cfg.cookie_same_site.into())
        .path(path.to_owned())
        .max_age(Duration::seconds(
            i64::try_from(max_age).unwrap_or(i64::MAX),
        ))
        .build()
}

fn value(jar: &CookieJar<'_>, name: &str) -> Option<String> {
    jar.get(name)
        .map(|c| c.value().to_owned())
        .filter(|t| !t.is_empty())
}

/// The access cookie's token, if the request carries a non-empty one.
#[must_use]
pub fn access(jar: &CookieJar<'_>, cfg: &Config) -> Option<String> {
    value(jar, &cfg.access_cookie_name)
}

/// The refresh cookie's token, if the request carries a non-empty one.
#[must_use]
pub fn refresh(jar: &CookieJar<'_>, cfg: &Config) -> Option<String> {
    value(jar, &cfg.refresh_cookie_name)
}

/// Sets both token cookies.
pub fn set_pair(jar: &CookieJar<'_>, cfg: &Config, pair: &Pair) {
    jar.add(cookie(
        cfg,
        &cfg.access_cookie_name,
        &pair.access,
        &cfg.access_cookie_path,
        cfg.access_token_expiry.0,
    ));
    jar.add(cookie(
        cfg,
        &cfg.refresh_cookie_name,
        &pair.refresh,
        cfg.refresh_path(),
        cfg.refresh_token_expiry.0,
    ));
}

/// Clears both token cookies in the browser: a removal `Set-Cookie` for each (same name,
/// `Path` and attributes, empty value, `Max-Age=0`, an `Expires` in the past), sent whether or
/// not the request carried the cookie. Rocket's `CookieJar::remove` sends one only for cookies
/// the request carried, and a browser never sends the refresh cookie outside its `Path`.
pub fn clear(jar: &CookieJar<'_>, cfg: &Config) {
    for (name, path) in [
        (&cfg.access_cookie_name, cfg.access_cookie_path.as_str()),
        (&cfg.refresh_cookie_name, cfg.refresh_path()),
    ] {
        let mut gone = cookie(cfg, name, "", path, 0);
        gone.set_expires(rocket::time::OffsetDateTime::UNIX_EPOCH);
        jar.add(gone);
    }
}
