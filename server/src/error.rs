//! The one error type at the HTTP edge, its JSON envelope, and catchers that use the same envelope.
//!
//! The client sees a status and a fixed, generic message; the reason goes to the log
//! (OWASP Error Handling Cheat Sheet: no stack traces, queries or driver messages in responses).

use std::borrow::Cow;
use std::io::Cursor;

use rocket::fairing::AdHoc;
use rocket::http::{ContentType, Header, Status};
use rocket::request::Request;
use rocket::response::{self, Responder, Response};
use rocket::Catcher;
use serde::Serialize;

use crate::config::Config;
use crate::limits::Limited;
use crate::messages as msg;
use crate::passwords::PasswordError;
use crate::sessions::SessionError;
use crate::tokens::{TokenError, TokenKind};
use crate::users::UserError;

/// The Express service's error envelope: `{"statusCode","data":null,"message","success":false,"errors":[]}`.
#[derive(Serialize)]
struct ErrorEnvelope<'a> {
    #[serde(rename = "statusCode")]
    status_code: u16,
    data: Option<()>,
    message: &'a str,
    success: bool,
    errors: [(); 0],
}

/// An error answer: status, client-facing message, and whether to send `Retry-After`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: Status,
    /// The message the client sees; never carries internals.
    pub message: Cow<'static, str>,
    /// Whether the response carries `Retry-After` (503, 429).
    pub retry: bool,
    /// `Retry-After` seconds when not the configured `retry_after` (429: the limiter's wait).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with this status and message.
    pub fn new(status: Status, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status,
            message: message.into(),
            retry: status == Status::ServiceUnavailable,
            retry_after: None,
        }
    }

    /// 401 with this message.
    pub fn unauthorized(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Status::Unauthorized, message)
    }

    /// 400 with this message.
    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Status::BadRequest, message)
    }

    /// 413: token or body larger than allowed.
    #[must_use]
    pub fn too_large() -> Self {
        Self::new(Status::PayloadTooLarge, msg::TOO_LARGE)
    }

    /// 503 with `Retry-After`: the database cannot be reached now.
    #[must_use]
    pub fn unavailable() -> Self {
        Self::new(Status::ServiceUnavailable, msg::UNAVAILABLE)
    }

    /// 429 with `Retry-After`: over a rate limit.
    #[must_use]
    pub fn limited(l: Limited) -> Self {
        Self {
            status: Status::TooManyRequests,
            message: msg::TOO_MANY_REQUESTS.into(),
            retry: true,
            retry_after: Some(l.retry_after),
        }
    }

    /// 500 with a generic message; the reason must already be logged.
    #[must_use]
    pub fn internal() -> Self {
        Self::new(Status::InternalServerError, msg::INTERNAL)
    }

    /// Maps a database error: unavailability (lost connection, pool timeout, locked or full
    /// SQLite file, PostgreSQL shutting down) is 503, anything else a generic 500. The driver's
    /// message goes to the log only.
    #[must_use]
    pub fn database(context: &str, err: &sqlx::Error) -> Self {
        if crate::db::is_unavailable(err) {
            log::warn!("rotor: database unavailable during {context}: {err}");
            Self::unavailable()
        } else {
            log::error!("rotor: database error during {context}: {err}");
            Self::internal()
        }
    }

    /// The envelope's JSON text.
    #[must_use]
    pub fn body(&self) -> String {
        serde_json::to_string(&ErrorEnvelope {
            status_code: self.status.code,
            data: None,
            message: &self.message,
            success: false,
            errors: [],
        })
        .unwrap_or_else(|_| String::from(r#"{"success":false}"#))
    }
}

// The one place where domain errors become statuses (the client sees the generic message only).

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Invalid(TokenKind::Access) | TokenError::Expired(TokenKind::Access) => {
                Self::unauthorized(msg::INVALID_ACCESS)
            }
            TokenError::Invalid(TokenKind::Refresh) | TokenError::Expired(TokenKind::Refresh) => {
                Self::unauthorized(msg::INVALID_REFRESH)
            }
            TokenError::TooLarge => Self::too_large(),
            TokenError::Signing => Self::internal(),
        }
    }
}

impl From<SessionError> for ApiError {
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::Token(t) => t.into(),
            SessionError::Unknown => Self::unauthorized(msg::INVALID_REFRESH),
            SessionError::Used | SessionError::Reuse => Self::unauthorized(msg::USED_REFRESH),
            SessionError::Database { context, source } => Self::database(context, &source),
        }
    }
}

impl From<PasswordError> for ApiError {
    fn from(e: PasswordError) -> Self {
        match e {
            PasswordError::Busy => Self::unavailable(),
            // Already logged where it happened.
            PasswordError::Failed(_) => Self::internal(),
        }
    }
}

impl From<UserError> for ApiError {
    fn from(e: UserError) -> Self {
        match e {
            UserError::InvalidUsername => Self::bad_request(msg::INVALID_USERNAME),
            UserError::InvalidEmail => Self::bad_request(msg::INVALID_EMAIL),
            UserError::PasswordTooShort => Self::bad_request(msg::PASSWORD_TOO_SHORT),
            UserError::PasswordTooLong => Self::bad_request(msg::PASSWORD_TOO_LONG),
            UserError::Taken => Self::new(Status::Conflict, msg::USER_EXISTS),
            UserError::InvalidCredentials => Self::unauthorized(msg::INVALID_CREDENTIALS),
            UserError::Password(p) => p.into(),
            UserError::Database(d) => Self::database("users", &d),
        }
    }
}

impl<'r> Responder<'r, 'static> for ApiError {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let body = self.body();
        let mut res = Response::build();
        res.status(self.status)
            .header(ContentType::JSON)
            .raw_header("Cache-Control", "no-store")
            .sized_body(body.len(), Cursor::new(body));
        if self.retry {
            let secs = self.retry_after.unwrap_or_else(|| {
                req.rocket()
                    .state::<Config>()
                    .map_or(Config::default().retry_after, |c| c.retry_after)
            });
            res.header(Header::new("Retry-After", secs.to_string()));
        }
        Ok(res.finalize())
    }
}

/// Where a guard leaves its typed error, so a catcher can answer with the right message when the
/// guard is used bare (not as `Result<Guard, ApiError>`).
#[derive(Default)]
pub(crate) struct LastError(pub(crate) Option<ApiError>);

pub(crate) fn stash(req: &Request<'_>, err: &ApiError) {
    let cached = req.local_cache(|| std::sync::Mutex::new(LastError::default()));
    if let Ok(mut slot) = cached.lock() {
        slot.0 = Some(err.clone());
    }
}

fn stashed(req: &Request<'_>, status: Status) -> Option<ApiError> {
    let cached = req.local_cache(|| std::sync::Mutex::new(LastError::default()));
    let err = cached.lock().ok()?.0.clone()?;
    (err.status == status).then_some(err)
}

#[rocket::catch(default)]
fn default_catcher(status: Status, req: &Request<'_>) -> ApiError {
    if let Some(err) = stashed(req, status) {
        return err;
    }
    let message = match status.code {
        400 | 422 => msg::MALFORMED_BODY,
        401 => msg::UNAUTHORIZED,
        404 => msg::NOT_FOUND,
        405 => msg::METHOD_NOT_ALLOWED,
        413 => msg::TOO_LARGE,
        429 => msg::TOO_MANY_REQUESTS,
        503 => msg::UNAVAILABLE,
        500..=599 => msg::INTERNAL,
        _ => status.reason().unwrap_or("Error"),
    };
    // Rocket reports malformed JSON as 422; the contract says 400.
    let status = if status.code == 422 {
        Status::BadRequest
    } else {
        status
    };
    ApiError::new(status, message)
}

/// The catchers: every error status answers with the envelope.
#[must_use]
pub fn catchers() -> Vec<Catcher> {
    rocket::catchers![default_catcher]
}

/// Registers [`catchers`] at `/`.
#[must_use]
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("rotor error envelope", |rocket| async {
        rocket.register("/", catchers())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_matches_the_express_shape() {
        let e = ApiError::unauthorized(msg::INVALID_REFRESH);
        assert_eq!(
            e.body(),
            r#"{"statusCode":401,"data":null,"message":"Invalid refresh token","success":false,"errors":[]}"#
        );
        assert!(ApiError::unavailable().retry);
        assert!(!e.retry);
    }
}
