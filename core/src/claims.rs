//! Registered claims (RFC 7519 §4.1): what is signed, how a verified payload's claims are read,
//! and the validation policy they are checked against.

use serde::Serialize;

use crate::json::{self, Members};
use crate::Error;

/// Registered claims to sign, for tokens that need nothing else (RFC 7519 §4.1).
///
/// Absent fields are left out of the payload. A date above `i64::MAX` is not written (signing
/// fails with [`Error::InvalidClaims`](crate::Error::InvalidClaims)), since verifiers refuse it
/// ([`Error::InvalidNumericDate`](crate::Error::InvalidNumericDate)). For private claims, sign your own
/// `serde::Serialize` type instead.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Claims<'a> {
    /// Issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<&'a str>,
    /// Subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<&'a str>,
    /// Audience (a single string).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<&'a str>,
    /// Expiry, seconds since the Unix epoch; at most `i64::MAX`.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "write_numeric_date"
    )]
    pub exp: Option<u64>,
    /// Not before, seconds since the Unix epoch; at most `i64::MAX`.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "write_numeric_date"
    )]
    pub nbf: Option<u64>,
    /// Issued at, seconds since the Unix epoch; at most `i64::MAX`.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "write_numeric_date"
    )]
    pub iat: Option<u64>,
    /// Token id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<&'a str>,
}

/// Writes a NumericDate, refusing one that verification would refuse.
fn write_numeric_date<S: serde::Serializer>(date: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    match *date {
        Some(d) if d <= MAX_NUMERIC_DATE => s.serialize_u64(d),
        Some(_) => Err(serde::ser::Error::custom("NumericDate above i64::MAX")),
        None => s.serialize_none(),
    }
}

/// The registered claims of a verified token, borrowed from the caller's scratch buffer.
///
/// Strings are fully unescaped: a claim reads the same as `serde_json` would read it.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RegisteredClaims<'a> {
    /// Issuer.
    pub iss: Option<&'a str>,
    /// Subject.
    pub sub: Option<&'a str>,
    /// Audience: one string or an array of strings.
    pub aud: Option<Audience<'a>>,
    /// Expiry, seconds since the Unix epoch.
    pub exp: Option<u64>,
    /// Not before, seconds since the Unix epoch.
    pub nbf: Option<u64>,
    /// Issued at, seconds since the Unix epoch.
    pub iat: Option<u64>,
    /// Token id.
    pub jti: Option<&'a str>,
}

/// An `aud` claim: a string or an array of strings (RFC 7519 §4.1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Audience<'a> {
    /// Canonical JSON of the claim value.
    raw: &'a [u8],
}

impl<'a> Audience<'a> {
    /// Checks the shape and wraps canonical JSON; `None` unless a string or an array of strings.
    pub(crate) fn from_json(raw: &'a [u8]) -> Option<Self> {
        let ok = match raw.first() {
            Some(b'"') => true,
            Some(b'[') => Self { raw }
                .items()
                .all(|item| json::string_contents(item).is_some()),
            _ => false,
        };
        ok.then_some(Self { raw })
    }

    /// Each value as canonical JSON text.
    fn items(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        let (array, inner) = match self
            .raw
            .strip_prefix(b"[")
            .and_then(|r| r.strip_suffix(b"]"))
        {
            Some(inner) => (true, inner),
            None => (false, self.raw),
        };
        let mut at = 0usize;
        core::iter::from_fn(move || {
            if array && inner.is_empty() {
                return None;
            }
            let rest = inner.get(at..)?;
            if rest.is_empty() {
                return None;
            }
            let end = item_end(rest);
            at = at.wrapping_add(end).wrapping_add(1);
            rest.get(..end)
        })
    }

    /// Whether the audience names `who`.
    #[must_use]
    pub fn contains(&self, who: &str) -> bool {
        self.items()
            .filter_map(json::string_contents)
            .any(|s| json::str_eq(s, who))
    }

    /// The audience as canonical JSON text (a string or an array of strings).
    #[must_use]
    pub fn as_json(&self) -> &'a str {
        core::str::from_utf8(self.raw).unwrap_or_default()
    }
}

/// End of the string item at the start of `s` (canonical text, so a string ends at an unescaped quote).
fn item_end(s: &[u8]) -> usize {
    let mut i = 1usize;
    while let Some(&b) = s.get(i) {
        i = i.wrapping_add(1);
        match b {
            b'\\' => i = i.wrapping_add(1),
            b'"' => return i,
            _ => {}
        }
    }
    s.len()
}

/// What a verifier checks besides the signature.
///
/// The defaults are this crate's choices, not an RFC's: `exp` required (RFC 7519 §4.1.4 makes it
/// optional, but a token without it never expires), 30 seconds of leeway (RFC 7519 §4.1.4 allows
/// "some small leeway"), issuer, audience and subject checked only when set (RFC 8725 §3.8 and
/// §3.9 recommend setting them). A token that carries `aud` is refused unless an audience is set
/// (RFC 7519 §4.1.3).
///
/// # Examples
/// ```
/// let v = rotor_core::Validation::new().issuer("auth.example").audience("api").leeway(5);
/// assert_eq!(v.leeway, 5);
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Validation<'a> {
    /// Seconds of clock skew tolerated for `exp`, `nbf` and `iat`.
    pub leeway: u64,
    /// Refuse tokens without `exp`.
    pub require_exp: bool,
    /// Required `iss`.
    pub issuer: Option<&'a str>,
    /// Required member of `aud`.
    pub audience: Option<&'a str>,
    /// Required `sub`.
    pub subject: Option<&'a str>,
    /// `typ` values accepted besides `JWT` (compared without regard to ASCII case).
    pub extra_types: &'a [&'a str],
    /// Longest token accepted, in bytes, checked before any other work.
    pub max_token_len: usize,
}

/// Default [`Validation::max_token_len`]: 8 KiB, a common HTTP header size limit.
pub const DEFAULT_MAX_TOKEN_LEN: usize = 8192;
/// Default [`Validation::leeway`] in seconds.
pub const DEFAULT_LEEWAY: u64 = 30;

impl Default for Validation<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a> Validation<'a> {
    /// The default policy.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            leeway: DEFAULT_LEEWAY,
            require_exp: true,
            issuer: None,
            audience: None,
            subject: None,
            extra_types: &[],
            max_token_len: DEFAULT_MAX_TOKEN_LEN,
        }
    }

    /// Sets the leeway in seconds.
    #[must_use]
    pub const fn leeway(mut self, seconds: u64) -> Self {
        self.leeway = seconds;
        self
    }

    /// Requires `iss` to equal `iss`.
    #[must_use]
    pub const fn issuer(mut self, iss: &'a str) -> Self {
        self.issuer = Some(iss);
        self
    }

    /// Requires `aud` to name `aud`.
    #[must_use]
    pub const fn audience(mut self, aud: &'a str) -> Self {
        self.audience = Some(aud);
        self
    }

    /// Requires `sub` to equal `sub`.
    #[must_use]
    pub const fn subject(mut self, sub: &'a str) -> Self {
        self.subject = Some(sub);
        self
    }

    /// Accepts these `typ` values as well as `JWT`.
    #[must_use]
    pub const fn extra_types(mut self, types: &'a [&'a str]) -> Self {
        self.extra_types = types;
        self
    }

    /// Sets the longest token accepted.
    #[must_use]
    pub const fn max_token_len(mut self, len: usize) -> Self {
        self.max_token_len = len;
        self
    }

    /// Whether `exp` may be absent.
    #[must_use]
    pub const fn require_exp(mut self, required: bool) -> Self {
        self.require_exp = required;
        self
    }
}

/// Largest NumericDate accepted: `i64::MAX` seconds (see [`Error::InvalidNumericDate`]).
pub const MAX_NUMERIC_DATE: u64 = i64::MAX.unsigned_abs();

/// Parses a canonical JSON number that must be an integer from 0 to [`MAX_NUMERIC_DATE`].
pub(crate) fn numeric_date(value: &[u8]) -> Result<u64, Error> {
    if value.is_empty() || (value.len() > 1 && value.first() == Some(&b'0')) {
        return Err(Error::InvalidNumericDate);
    }
    // Up to 18 digits cannot exceed `i64::MAX`; 19 digits do not when they are at most its
    // digits, which for strings of digits of equal length is the byte order.
    match value.len() {
        0..=18 => {}
        19 if value <= b"9223372036854775807".as_slice() => {}
        _ => return Err(Error::InvalidNumericDate),
    }
    let mut v: u64 = 0;
    let mut digits = true;
    for &b in value {
        let d = b.wrapping_sub(b'0');
        digits &= d < 10;
        v = v.wrapping_mul(10).wrapping_add(u64::from(d));
    }
    if digits {
        Ok(v)
    } else {
        Err(Error::InvalidNumericDate)
    }
}

/// Reads the registered claims from a canonical payload, unescaping strings into `arena` when
/// they hold escapes. Returns them with the unused rest of `arena`.
///
/// `index` is the member index recorded while normalising `payload`; an object too large for it
/// is walked with [`Members`] instead, with the same checks.
pub(crate) fn registered_claims<'s>(
    payload: &'s [u8],
    index: &json::Index,
    arena: &'s mut [u8],
) -> Result<(RegisteredClaims<'s>, &'s mut [u8]), Error> {
    match index.members(payload) {
        Some(members) => {
            index.check_unique(payload)?;
            read_claims(members, index.may_have_escapes(), arena)
        }
        None => {
            json::check_unique(payload)?;
            read_claims(Members::new(payload), true, arena)
        }
    }
}

/// `escapes` is false when no string in the payload holds an escape, so none is looked for.
fn read_claims<'s>(
    members: impl Iterator<Item = (&'s [u8], &'s [u8])>,
    escapes: bool,
    mut arena: &'s mut [u8],
) -> Result<(RegisteredClaims<'s>, &'s mut [u8]), Error> {
    let mut c = RegisteredClaims::default();
    for (name, value) in members {
        match name {
            b"exp" => c.exp = Some(numeric_date(value)?),
            b"nbf" => c.nbf = Some(numeric_date(value)?),
            b"iat" => c.iat = Some(numeric_date(value)?),
            b"aud" => c.aud = Some(Audience::from_json(value).ok_or(Error::InvalidClaims)?),
            b"iss" | b"sub" | b"jti" => {
                let raw = json::string_contents(value).ok_or(Error::InvalidClaims)?;
                let text = if escapes && raw.contains(&b'\\') {
                    let n = json::unescape_into(raw, arena)?;
                    let (used, rest) = core::mem::take(&mut arena).split_at_mut(n);
                    arena = rest;
                    let used: &'s [u8] = used;
                    used
                } else {
                    raw
                };
                let text = core::str::from_utf8(text).map_err(|_| Error::InvalidJson)?;
                match name {
                    b"iss" => c.iss = Some(text),
                    b"sub" => c.sub = Some(text),
                    _ => c.jti = Some(text),
                }
            }
            _ => {}
        }
    }
    Ok((c, arena))
}

/// RFC 7519 §4.1 checks, with leeway for clock skew (RFC 7519 §4.1.4: "some small leeway").
pub(crate) fn check_claims(
    c: &RegisteredClaims<'_>,
    v: &Validation<'_>,
    now: u64,
) -> Result<(), Error> {
    match c.exp {
        Some(exp) if now >= exp.saturating_add(v.leeway) => return Err(Error::Expired),
        None if v.require_exp => return Err(Error::MissingClaim),
        _ => {}
    }
    let horizon = now.saturating_add(v.leeway);
    if c.nbf.is_some_and(|nbf| nbf > horizon) {
        return Err(Error::NotYetValid);
    }
    // jsonwebtoken and jwt-compact accept any `iat`; a token minted in the future is a clock or
    // forgery problem, so it is refused like an early `nbf`.
    if c.iat.is_some_and(|iat| iat > horizon) {
        return Err(Error::IssuedInFuture);
    }
    if let Some(want) = v.issuer {
        if c.iss.ok_or(Error::MissingClaim)? != want {
            return Err(Error::InvalidIssuer);
        }
    }
    if let Some(want) = v.subject {
        if c.sub.ok_or(Error::MissingClaim)? != want {
            return Err(Error::InvalidSubject);
        }
    }
    match (v.audience, c.aud) {
        (Some(want), Some(aud)) if !aud.contains(want) => Err(Error::InvalidAudience),
        (Some(_), None) => Err(Error::MissingClaim),
        // RFC 7519 §4.1.3: a token for a named audience is refused by a verifier that is none.
        (None, Some(_)) => Err(Error::InvalidAudience),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_dates() {
        assert_eq!(numeric_date(b"0"), Ok(0));
        assert_eq!(numeric_date(b"9223372036854775807"), Ok(MAX_NUMERIC_DATE));
        assert_eq!(
            numeric_date(b"9223372036854775806"),
            Ok(MAX_NUMERIC_DATE - 1)
        );
        assert_eq!(
            numeric_date(b"999999999999999999"),
            Ok(999_999_999_999_999_999)
        );
        assert_eq!(numeric_date(b"1764000900"), Ok(1_764_000_900));
        for bad in [
            &b"9223372036854775808"[..], // 2^63
            b"9999999999999999999",
            b"18446744073709551615", // u64::MAX
            b"18446744073709551616",
            b"-1",
            b"1.0",
            b"1e3",
            b"01",
            b"",
            b"\"1\"",
        ] {
            assert_eq!(numeric_date(bad), Err(Error::InvalidNumericDate), "{bad:?}");
        }
    }
}
