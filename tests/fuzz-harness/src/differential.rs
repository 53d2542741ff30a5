//! `differential`: the same token through `rotor-core` and through `jsonwebtoken` (HS256, same
//! key, same clock, same leeway and claim requirements). They must agree on accept or reject,
//! and on the claims when both accept; the only disagreements allowed are the deliberate ones
//! in [`Deliberate`], each checked against the input before it is allowed.
//!
//! Input layout: byte 0 picks the mode (even: build a signed token from JSON; odd: the rest is
//! the token itself), byte 1 picks the policy (bit 0 `exp` required, bit 1 issuer, bit 2
//! audience, bit 3 subject). In build mode byte 2 is the header length, then header JSON, then
//! payload JSON, in which each `@` and the byte after it become the decimal Unix time now plus
//! that byte read as an `i8`, so expiry and not-before edges around the leeway are reachable.

use std::collections::HashSet;
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, TokenData};
use rotor_core::{inspect, scratch_len, Error, Validation};
use serde_json::Value;

use crate::common::{self, assert_claims_match, has_duplicate_member, nesting_depth};
use crate::decode_parts::MAX_DEPTH;

/// Leeway for both libraries, in seconds.
pub const LEEWAY: u64 = 30;
/// Issuer required when policy bit 1 is set.
pub const ISSUER: &str = "auth.example";
/// Audience required when policy bit 2 is set.
pub const AUDIENCE: &str = "api";
/// Subject required when policy bit 3 is set.
pub const SUBJECT: &str = "42";

/// Header members `rotor-core` does not use and so does not look at; `jsonwebtoken` parses them
/// into typed fields and refuses the token when one is ill-typed.
pub const IGNORED_HEADER_MEMBERS: &[&str] = &[
    "cty", "jku", "jwk", "x5u", "x5c", "x5t", "x5t#S256", "url", "nonce",
];

/// Most header members `rotor-core` accepts.
pub use rotor_core::MAX_HEADER_MEMBERS;

/// A deliberate difference from `jsonwebtoken`, with its reason. `fuzz/README.md` lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deliberate {
    /// Stricter: `typ`, when present, must be `JWT` or `application/jwt` (RFC 7515 §4.1.9,
    /// RFC 7519 §5.1, RFC 8725 §3.11 explicit typing). `jsonwebtoken` ignores `typ`.
    Type,
    /// Stricter: `crit` is refused, and `b64` unless `true`: no extension is understood
    /// (RFC 7515 §4.1.11 "MUST reject", RFC 7797 §3). `jsonwebtoken` ignores both.
    Critical,
    /// Stricter: a header with `enc` or `zip` is a JWE header (RFC 7516 §9, §4.1.3) and is
    /// refused; `jsonwebtoken` reads both into its `Header` and verifies the token as a JWS.
    Jwe,
    /// Stricter: `kid` selects the key; a token naming a key id the verifier does not hold is
    /// refused (RFC 7515 §4.1.4). `jsonwebtoken` ignores `kid`.
    KeyId,
    /// Stricter: a repeated member name is refused. RFC 7515 §4 and RFC 7519 §4: names MUST be
    /// unique, and a parser MUST either reject duplicates or keep only the last; `serde_json`
    /// keeps the last for members it stores as a map and refuses repeats of struct fields.
    Duplicate,
    /// Stricter: `exp`, `nbf`, `iat` must be integers from 0 to `i64::MAX`. RFC 7519 §2 allows
    /// fractions; `rotor-core` is `no_std` integer-only and fails closed rather than rounding as
    /// `jsonwebtoken` does, refuses `null` or ill-typed dates it would ignore, and refuses dates
    /// above `i64::MAX` that a verifier with signed 64-bit time would misread.
    NumericDate,
    /// Stricter: `iss`, `sub`, `jti` must be strings and `aud` a string or array of strings
    /// (RFC 7519 §4.1.1–4.1.3, §4.1.7). `jsonwebtoken` skips ill-typed claims it is not asked
    /// to check and accepts an array as `iss`.
    ClaimType,
    /// Stricter: `iat` in the future (beyond the leeway) is refused as a clock or forgery
    /// problem. RFC 7519 §4.1.6 gives `iat` no validation rule; `jsonwebtoken` ignores it.
    IssuedInFuture,
    /// Stricter: a token is expired ON its `exp` (plus leeway), as RFC 7519 §4.1.4 says ("on or
    /// after"); `jsonwebtoken` still accepts it at that second.
    ExpiryBoundary,
    /// Stricter: nesting is limited to 64 levels (RFC 8259 §9 allows a limit);
    /// `serde_json` allows 128.
    Depth,
    /// Stricter: a header of more than [`MAX_HEADER_MEMBERS`] members is refused. The header is
    /// parsed before the MAC is checked, so its cost is bounded (RFC 8259 §9 lets a parser limit
    /// the size of what it accepts; an HS256 header needs `alg` and at most `typ` and `kid`).
    HeaderMembers,
    /// Stricter: the claims set must be a JSON object (RFC 7519 §7.2 step 10); `jsonwebtoken`
    /// reads an array into its claims struct by position.
    NotObject,
    /// Laxer: header members `rotor-core` does not use ([`IGNORED_HEADER_MEMBERS`]) are not
    /// looked at (RFC 7515 §4.1: they are optional, and no key is taken from the token,
    /// RFC 8725 §3.10); `jsonwebtoken` refuses the token when one of them is ill-typed.
    IgnoredHeaderMember,
    /// Laxer: a number outside `f64` range in a member `rotor-core` does not read is accepted as
    /// valid JSON (RFC 8259 §6); `serde_json` refuses the whole text.
    NumberRange,
}

/// The policy both sides apply, from byte 1 of the input.
#[derive(Clone, Copy, Debug)]
struct Policy {
    require_exp: bool,
    issuer: bool,
    audience: bool,
    subject: bool,
}

impl Policy {
    fn from_byte(b: u8) -> Self {
        Self {
            require_exp: b & 1 != 0,
            issuer: b & 2 != 0,
            audience: b & 4 != 0,
            subject: b & 8 != 0,
        }
    }

    fn rotor(self) -> Validation<'static> {
        let mut v = Validation::new()
            .leeway(LEEWAY)
            .require_exp(self.require_exp)
            .max_token_len(usize::MAX);
        if self.issuer {
            v = v.issuer(ISSUER);
        }
        if self.audience {
            v = v.audience(AUDIENCE);
        }
        if self.subject {
            v = v.subject(SUBJECT);
        }
        v
    }

    fn jwt(self) -> jsonwebtoken::Validation {
        let mut v = jsonwebtoken::Validation::new(Algorithm::HS256);
        v.leeway = LEEWAY;
        v.validate_exp = true;
        v.validate_nbf = true;
        v.validate_aud = true;
        let mut required = HashSet::new();
        if self.require_exp {
            required.insert("exp".to_owned());
        }
        if self.issuer {
            required.insert("iss".to_owned());
            v.set_issuer(&[ISSUER]);
        }
        if self.audience {
            required.insert("aud".to_owned());
            v.set_audience(&[AUDIENCE]);
        }
        if self.subject {
            required.insert("sub".to_owned());
            v.sub = Some(SUBJECT.to_owned());
        }
        v.required_spec_claims = required;
        v
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Replaces each `@` and the byte after it with `now` plus that byte as an `i8`.
fn substitute_times(payload: &[u8], now: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 16);
    let mut it = payload.iter();
    while let Some(&b) = it.next() {
        if b == b'@' {
            let delta = it.next().map_or(0, |&d| i64::from(i8::from_ne_bytes([d])));
            let t = now.saturating_add_signed(delta);
            out.extend_from_slice(t.to_string().as_bytes());
        } else {
            out.push(b);
        }
    }
    out
}

/// What the two libraries made of one input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The input is not a UTF-8 token, or the clock ticked between the two verifications.
    Skipped,
    /// Both accepted, with the same claims.
    BothAccept,
    /// Both refused.
    BothRefuse,
    /// They disagree, for this documented reason.
    Deliberate(Deliberate),
}

/// Runs the check on one input.
///
/// # Panics
/// As [`judge`].
pub fn check(data: &[u8]) {
    judge(data);
}

/// Runs both libraries on one input and says how they compare.
///
/// # Panics
/// If `rotor-core` panics, or the two libraries disagree in a way [`Deliberate`] does not
/// explain, or both accept and read different claims.
pub fn judge(data: &[u8]) -> Verdict {
    let [mode, policy, rest @ ..] = data else {
        return Verdict::Skipped;
    };
    let policy = Policy::from_byte(*policy);
    let now = unix_now();
    let token = if mode.is_multiple_of(2) {
        let Some((&split, rest)) = rest.split_first() else {
            return Verdict::Skipped;
        };
        let (header, payload) = rest.split_at(usize::from(split).min(rest.len()));
        common::forge(&common::key(), header, &substitute_times(payload, now))
    } else {
        rest.to_vec()
    };
    let Ok(token) = String::from_utf8(token) else {
        return Verdict::Skipped;
    };

    let key = common::key();
    let mut scratch = vec![0u8; scratch_len(token.len())];
    let ours = rotor_core::verify(&token, &key, &policy.rotor(), now, &mut scratch);
    let theirs: Result<TokenData<Value>, _> = jsonwebtoken::decode(
        token.as_bytes(),
        &DecodingKey::from_secret(common::SECRET),
        &policy.jwt(),
    );
    if unix_now() != now {
        // The clock ticked between the two: they may have judged different instants.
        return Verdict::Skipped;
    }
    let facts = Facts::of(&token);
    let context = || {
        format!(
            "token {token}\nheader {:?}\npayload {:?}\npolicy {policy:?}, now {now}",
            String::from_utf8_lossy(&facts.header),
            String::from_utf8_lossy(&facts.payload),
        )
    };
    match (ours, theirs) {
        (Ok(ok), Ok(data)) => {
            assert_claims_match(&ok.claims, &data.claims, &context());
            let mut s = vec![0u8; scratch_len(token.len())];
            let parts = inspect(&token, &mut s).expect("verify accepted what inspect refuses");
            let payload: Value = serde_json::from_str(parts.payload)
                .unwrap_or_else(|e| panic!("canonical payload not JSON: {e}\n{}", context()));
            assert_eq!(payload, data.claims, "claims differ\n{}", context());
            Verdict::BothAccept
        }
        (Err(_), Err(_)) => Verdict::BothRefuse,
        (Err(e), Ok(_)) => Verdict::Deliberate(facts.stricter(e, now).unwrap_or_else(|| {
            panic!(
                "rotor-core refused with {e:?} what jsonwebtoken accepts\n{}",
                context()
            )
        })),
        (Ok(_), Err(e)) => Verdict::Deliberate(facts.laxer(e.kind()).unwrap_or_else(|| {
            panic!(
                "rotor-core accepted what jsonwebtoken refuses with {:?}\n{}",
                e.kind(),
                context()
            )
        })),
    }
}

/// The decoded header and payload bytes, for explaining a disagreement.
struct Facts {
    header: Vec<u8>,
    payload: Vec<u8>,
}

impl Facts {
    fn of(token: &str) -> Self {
        let decoded = common::segments(token.as_bytes()).map(|[h, p, _]| {
            (
                common::unb64(h).unwrap_or_default(),
                common::unb64(p).unwrap_or_default(),
            )
        });
        let (header, payload) = decoded.unwrap_or_default();
        Self { header, payload }
    }

    /// Why `rotor-core` may refuse with `e` a token that `jsonwebtoken` accepted.
    fn stricter(&self, e: Error, now: u64) -> Option<Deliberate> {
        let header: Value = serde_json::from_slice(&self.header).ok()?;
        let payload: Value = serde_json::from_slice(&self.payload).ok()?;
        let claim = |name: &str| payload.get(name);
        let holds = |cond: bool, why: Deliberate| cond.then_some(why);
        match e {
            Error::DuplicateMember => holds(
                has_duplicate_member(&self.header) || has_duplicate_member(&self.payload),
                Deliberate::Duplicate,
            ),
            Error::UnsupportedType => holds(
                header.get("typ").is_some_and(|t| {
                    !t.as_str().is_some_and(|t| {
                        t.eq_ignore_ascii_case("JWT") || t.eq_ignore_ascii_case("application/jwt")
                    })
                }),
                Deliberate::Type,
            ),
            Error::UnsupportedCritical => holds(
                header.get("crit").is_some()
                    || header.get("b64").is_some_and(|b| *b != Value::Bool(true)),
                Deliberate::Critical,
            ),
            Error::JweHeader => holds(
                header.get("enc").is_some() || header.get("zip").is_some(),
                Deliberate::Jwe,
            ),
            Error::UnknownKeyId => holds(header.get("kid").is_some(), Deliberate::KeyId),
            Error::InvalidNumericDate => holds(
                ["exp", "nbf", "iat"]
                    .iter()
                    .any(|n| claim(n).is_some_and(|v| v.as_i64().is_none_or(|d| d < 0))),
                Deliberate::NumericDate,
            ),
            Error::InvalidClaims => holds(
                ["iss", "sub", "jti"]
                    .iter()
                    .any(|n| claim(n).is_some_and(|v| !v.is_string()))
                    || claim("aud").is_some_and(|v| match v {
                        Value::String(_) => false,
                        Value::Array(items) => !items.iter().all(Value::is_string),
                        _ => true,
                    }),
                Deliberate::ClaimType,
            ),
            Error::IssuedInFuture => holds(
                claim("iat")
                    .and_then(Value::as_u64)
                    .is_some_and(|iat| iat > now.saturating_add(LEEWAY)),
                Deliberate::IssuedInFuture,
            ),
            Error::Expired => holds(
                claim("exp")
                    .and_then(Value::as_u64)
                    .is_some_and(|exp| exp.saturating_add(LEEWAY) == now),
                Deliberate::ExpiryBoundary,
            ),
            Error::InvalidJson => {
                if nesting_depth(&self.header) > MAX_DEPTH
                    || nesting_depth(&self.payload) > MAX_DEPTH
                {
                    Some(Deliberate::Depth)
                } else if common::member_names(&self.header)
                    .is_some_and(|names| names.len() > MAX_HEADER_MEMBERS)
                {
                    Some(Deliberate::HeaderMembers)
                } else {
                    holds(!payload.is_object(), Deliberate::NotObject)
                }
            }
            _ => None,
        }
    }

    /// Why `rotor-core` may accept a token that `jsonwebtoken` refused with `kind`.
    fn laxer(&self, kind: &ErrorKind) -> Option<Deliberate> {
        if !matches!(kind, ErrorKind::Json(_)) {
            return None;
        }
        if common::number_out_of_range(&self.header) || common::number_out_of_range(&self.payload) {
            return Some(Deliberate::NumberRange);
        }
        let Ok(Value::Object(mut header)) = serde_json::from_slice::<Value>(&self.header) else {
            return None;
        };
        let before = header.len();
        header.retain(|name, _| !IGNORED_HEADER_MEMBERS.contains(&name.as_str()));
        let removed = header.len() < before;
        let readable =
            serde_json::from_value::<jsonwebtoken::Header>(Value::Object(header)).is_ok();
        (removed && readable).then_some(Deliberate::IgnoredHeaderMember)
    }
}
