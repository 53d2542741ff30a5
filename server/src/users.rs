//! Users: the rules for user names, e-mail addresses and passwords, and [`register`], used by
//! both `POST /register` and `rotor-server user add`.

use std::fmt;

use serde::Serialize;

use crate::config::Config;
use crate::db::DbPool;
use crate::passwords::{self, PasswordError, MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS};
use crate::store::{self, UserRow};
use crate::tokens;

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

/// Why a user could not be registered.
#[derive(Debug)]
pub enum UserError {
    /// The user name breaks [`valid_username`].
    InvalidUsername,
    /// The e-mail address breaks [`valid_email`].
    InvalidEmail,
    /// Fewer than [`MIN_PASSWORD_CHARS`] characters.
    PasswordTooShort,
    /// More than [`MAX_PASSWORD_BYTES`] bytes.
    PasswordTooLong,
    /// The user name or the e-mail address is taken.
    Taken,
    /// No such user, or the wrong password: one answer for both.
    InvalidCredentials,
    /// Hashing the password failed (logged).
    Password(PasswordError),
    /// The database failed.
    Database(sqlx::Error),
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidUsername => f.write_str("invalid user name"),
            Self::InvalidEmail => f.write_str("invalid e-mail address"),
            Self::PasswordTooShort => f.write_str("password too short"),
            Self::PasswordTooLong => f.write_str("password too long"),
            Self::Taken => f.write_str("user name or e-mail address taken"),
            Self::InvalidCredentials => f.write_str("invalid credentials"),
            Self::Password(e) => write!(f, "password hashing: {e}"),
            Self::Database(e) => write!(f, "database: {e}"),
        }
    }
}

impl std::error::Error for UserError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Password(e) => Some(e),
            Self::Database(e) => Some(e),
            _ => None,
        }
    }
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
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Whether a login name (user name or e-mail address, as typed) could name a user at all: no
/// control character (a NUL would reach PostgreSQL as an error, not as a miss).
#[must_use]
pub fn valid_login(login: &str) -> bool {
    login.len() <= 254 && !login.chars().any(char::is_control)
}

/// Checks a new password's length (NIST SP 800-63B §5.1.1.2: at least 8 characters; at most
/// [`MAX_PASSWORD_BYTES`] bytes to bound the hashing work).
///
/// # Errors
/// [`UserError::PasswordTooLong`] or [`UserError::PasswordTooShort`].
pub fn valid_password(p: &str) -> Result<(), UserError> {
    if p.len() > MAX_PASSWORD_BYTES {
        return Err(UserError::PasswordTooLong);
    }
    if p.chars().count() < MIN_PASSWORD_CHARS {
        return Err(UserError::PasswordTooShort);
    }
    Ok(())
}

/// A user name and e-mail address trimmed and lower-cased, as stored, once both pass their rule.
///
/// # Errors
/// [`UserError::InvalidUsername`] or [`UserError::InvalidEmail`].
pub fn normalise(username: &str, email: &str) -> Result<(String, String), UserError> {
    let (username, email) = (username.trim().to_lowercase(), email.trim().to_lowercase());
    if !valid_username(&username) {
        return Err(UserError::InvalidUsername);
    }
    if !valid_email(&email) {
        return Err(UserError::InvalidEmail);
    }
    Ok((username, email))
}

/// Creates a user after checking every rule; the password is stored as an Argon2id hash.
///
/// # Errors
/// A rule broken, the name or address taken, or the hashing or the database failed.
pub async fn register(
    db: &DbPool,
    cfg: &Config,
    username: &str,
    email: &str,
    password: String,
) -> Result<UserRow, UserError> {
    let (username, email) = normalise(username, email)?;
    valid_password(&password)?;
    let user = UserRow {
        id: tokens::new_id(),
        username,
        email,
        password_hash: passwords::hash(cfg, password)
            .await
            .map_err(UserError::Password)?,
        created_at: i64::try_from(tokens::now()).unwrap_or(i64::MAX),
    };
    if store::insert_user(db.pool(), &user)
        .await
        .map_err(UserError::Database)?
    {
        Ok(user)
    } else {
        Err(UserError::Taken)
    }
}

/// The user whose user name or e-mail address (already lower-cased) is `login` and whose
/// password is `password`.
///
/// An unknown user costs one hash too, and gets the same answer as a wrong password (OWASP
/// Authentication Cheat Sheet, "Authentication and Error Messages").
///
/// # Errors
/// [`UserError::PasswordTooLong`] before any hashing, [`UserError::InvalidCredentials`], or
/// the hashing or the database failed.
pub async fn authenticate(
    db: &DbPool,
    cfg: &Config,
    login: &str,
    password: String,
) -> Result<UserRow, UserError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(UserError::PasswordTooLong);
    }
    let user = store::user_by_login(db.reader(), login)
        .await
        .map_err(UserError::Database)?;
    let ok = passwords::verify(
        cfg,
        password,
        user.as_ref().map(|u| u.password_hash.clone()),
    )
    .await
    .map_err(UserError::Password)?;
    match user {
        Some(u) if ok => Ok(u),
        _ => Err(UserError::InvalidCredentials),
    }
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
        assert!(valid_login("ada@example.com") && !valid_login("ada\0x") && !valid_login("a\u{7}"));
        for bad in [
            "a.b.io", "@b.io", "a@b", "a@b@c.io", "a b@c.io", "a\0@b.io", "a@b.io\0",
        ] {
            assert!(!valid_email(bad), "{bad}");
        }
        assert!(valid_password("12345678").is_ok());
        assert!(matches!(
            valid_password("1234567"),
            Err(UserError::PasswordTooShort)
        ));
        assert!(matches!(
            valid_password(&"p".repeat(MAX_PASSWORD_BYTES + 1)),
            Err(UserError::PasswordTooLong)
        ));
        assert_eq!(
            normalise(" Bob ", "BOB@Example.com").unwrap(),
            ("bob".to_owned(), "bob@example.com".to_owned())
        );
    }
}
