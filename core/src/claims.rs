//! Registered claims (RFC 7519 §4.1) and the validation policy applied to them.

use serde::Serialize;

use crate::json;

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
        serialize_with = "numeric_date"
    )]
    pub exp: Option<u64>,
    /// Not before, seconds since the Unix epoch; at most `i64::MAX`.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "numeric_date"
    )]
    pub nbf: Option<u64>,
    /// Issued at, seconds since the Unix epoch; at most `i64::MAX`.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "numeric_date"
    )]
    pub iat: Option<u64>,
    /// Token id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<&'a str>,
}

/// Writes a NumericDate, refusing one that verification would refuse.
fn numeric_date<S: serde::Serializer>(date: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    match *date {
        Some(d) if d <= json::MAX_NUMERIC_DATE => s.serialize_u64(d),
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
