//! Fixed keys, token building and JSON helpers shared by the checks.

use std::fmt;

use arbitrary::Arbitrary;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rotor_core::{Claims, Key, RegisteredClaims};
use serde::de::{Deserializer as _, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

pub use rotor_tests::{b64, other_key, signature_for, OTHER_SECRET, SECRET};

/// Key id of the first key in [`ring`].
pub const KID_1: &str = "k1";

/// Key id of the second key in [`ring`].
pub const KID_2: &str = "k2";

/// The key for [`SECRET`], without a key id.
#[must_use]
pub fn key() -> Key {
    rotor_tests::test_key()
}

/// Three keys as a verifier with rotated secrets holds them: [`KID_1`] and [`KID_2`] over
/// [`OTHER_SECRET`] and [`SECRET`], then [`SECRET`] without a key id.
///
/// # Panics
/// Never: the secrets and key ids are valid.
#[must_use]
pub fn ring() -> [Key; 3] {
    [
        Key::with_kid(OTHER_SECRET, KID_1).expect("valid key id"),
        Key::with_kid(SECRET, KID_2).expect("valid key id"),
        key(),
    ]
}

/// Decodes canonical unpadded base64url; `None` if `text` is not that.
#[must_use]
pub fn unb64(text: &[u8]) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// A compact token from two already-encoded segments, correctly signed by `key`.
pub use rotor_tests::sign_segments_bytes as sign_segments;

/// A compact token whose header and payload are exactly these bytes (not necessarily JSON),
/// correctly signed by `key`.
#[must_use]
pub fn forge(key: &Key, header: &[u8], payload: &[u8]) -> Vec<u8> {
    rotor_tests::forge(key, header, payload).into_bytes()
}

/// The three segments of a compact token, if it has exactly two dots.
#[must_use]
pub fn segments(token: &[u8]) -> Option<[&[u8]; 3]> {
    let mut parts = token.split(|&b| b == b'.');
    let out = [parts.next()?, parts.next()?, parts.next()?];
    parts.next().is_none().then_some(out)
}

/// Top-level member names of a JSON object as `serde_json` reads them (escapes decoded), in
/// order and with repeats; `None` if `json` is not a JSON object.
#[must_use]
pub fn member_names(json: &[u8]) -> Option<Vec<String>> {
    struct Names;
    impl<'de> Visitor<'de> for Names {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut names = Vec::new();
            while let Some(name) = map.next_key::<String>()? {
                map.next_value::<IgnoredAny>()?;
                names.push(name);
            }
            Ok(names)
        }
    }
    let mut de = serde_json::Deserializer::from_slice(json);
    let names = (&mut de).deserialize_map(Names).ok()?;
    de.end().ok()?;
    Some(names)
}

/// Whether the JSON object `json` repeats a top-level member name.
#[must_use]
pub fn has_duplicate_member(json: &[u8]) -> bool {
    member_names(json).is_some_and(|names| {
        names
            .iter()
            .enumerate()
            .any(|(i, n)| names[i + 1..].contains(n))
    })
}

/// Deepest nesting of arrays and objects in JSON text (strings skipped).
#[must_use]
pub fn nesting_depth(json: &[u8]) -> usize {
    let (mut depth, mut max, mut in_str, mut escaped) = (0usize, 0usize, false, false);
    for &b in json {
        if in_str {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'{' | b'[' => {
                depth += 1;
                max = max.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Whether `serde_json` refuses `json` only because a number does not fit an `f64`
/// (RFC 8259 §6 lets implementations limit the range of numbers).
#[must_use]
pub fn number_out_of_range(json: &[u8]) -> bool {
    serde_json::from_slice::<Value>(json)
        .is_err_and(|e| e.to_string().starts_with("number out of range"))
}

/// Checks that registered claims read by `rotor-core` say what `serde_json` reads in the same
/// payload (escapes decoded, numbers exact).
///
/// # Panics
/// On the first claim that differs.
pub fn assert_claims_match(claims: &RegisteredClaims<'_>, payload: &Value, context: &str) {
    let text = |name: &str| payload.get(name).map(|v| v.as_str());
    for (name, got) in [
        ("iss", claims.iss),
        ("sub", claims.sub),
        ("jti", claims.jti),
    ] {
        match text(name) {
            None => assert_eq!(got, None, "{context}: {name} absent but read as {got:?}"),
            Some(want) => assert_eq!(got, want, "{context}: {name} read differently"),
        }
    }
    for (name, got) in [
        ("exp", claims.exp),
        ("nbf", claims.nbf),
        ("iat", claims.iat),
    ] {
        let want = payload.get(name).map(|v| v.as_u64());
        match want {
            None => assert_eq!(got, None, "{context}: {name} absent but read as {got:?}"),
            Some(want) => assert_eq!(got, want, "{context}: {name} read differently"),
        }
    }
    let aud = claims.aud.map(|a| {
        serde_json::from_str::<Value>(a.as_json())
            .unwrap_or_else(|e| panic!("{context}: aud {:?} is not JSON: {e}", a.as_json()))
    });
    assert_eq!(
        aud.as_ref(),
        payload.get("aud"),
        "{context}: aud read differently"
    );
    if let (Some(a), Some(Value::Array(items))) = (claims.aud, payload.get("aud")) {
        for item in items.iter().filter_map(Value::as_str) {
            assert!(
                a.contains(item),
                "{context}: aud {:?} does not contain its member {item:?}",
                a.as_json()
            );
        }
    }
}

/// Registered claims chosen by the fuzzer, for the structured checks.
#[derive(Arbitrary, Clone, Debug, PartialEq, Eq)]
pub struct ClaimsInput {
    /// Issuer.
    pub iss: Option<String>,
    /// Subject.
    pub sub: Option<String>,
    /// Audience.
    pub aud: Option<String>,
    /// Expiry.
    pub exp: Option<u64>,
    /// Not before.
    pub nbf: Option<u64>,
    /// Issued at.
    pub iat: Option<u64>,
    /// Token id.
    pub jti: Option<String>,
    /// Key id for the signing key; used only when [`Key::with_kid`] accepts it.
    pub kid: Option<String>,
}

impl ClaimsInput {
    /// The claims as `rotor-core` signs them.
    #[must_use]
    pub fn claims(&self) -> Claims<'_> {
        Claims {
            iss: self.iss.as_deref(),
            sub: self.sub.as_deref(),
            aud: self.aud.as_deref(),
            exp: self.exp,
            nbf: self.nbf,
            iat: self.iat,
            jti: self.jti.as_deref(),
        }
    }

    /// Whether every date is a NumericDate `rotor-core` signs and accepts (at most `i64::MAX`);
    /// signing [`Claims`] with a larger one must fail with `InvalidClaims`.
    #[must_use]
    pub fn dates_in_range(&self) -> bool {
        [self.exp, self.nbf, self.iat]
            .iter()
            .flatten()
            .all(|&d| i64::try_from(d).is_ok())
    }

    /// The signing key: [`SECRET`] with the fuzzer's key id when it is a valid one.
    ///
    /// # Panics
    /// If `rotor-core` refuses a key id that its documented rules allow, or accepts one they
    /// forbid.
    #[must_use]
    pub fn key(&self) -> Key {
        let Some(kid) = self.kid.as_deref() else {
            return key();
        };
        let valid = !kid.is_empty()
            && kid.len() <= rotor_core::MAX_KID_LEN
            && kid
                .bytes()
                .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\');
        match Key::with_kid(SECRET, kid) {
            Ok(k) => {
                assert!(valid, "Key::with_kid accepted the invalid key id {kid:?}");
                assert_eq!(k.kid(), Some(kid), "key id not kept");
                k
            }
            Err(e) => {
                assert!(
                    !valid,
                    "Key::with_kid refused the valid key id {kid:?}: {e}"
                );
                assert_eq!(e, rotor_core::Error::InvalidKeyId, "kid {kid:?}");
                key()
            }
        }
    }

    /// An upper bound on the signed token's length, for a buffer that must always suffice:
    /// every string byte escapes to at most 6 bytes, base64 adds a third, plus fixed overhead.
    #[must_use]
    pub fn token_len_bound(&self) -> usize {
        let strings: usize = [&self.iss, &self.sub, &self.aud, &self.jti]
            .iter()
            .filter_map(|s| s.as_ref().map(String::len))
            .sum();
        let json = 6 * strings + 3 * 26 + 4 * 10 + 2;
        512 + json * 4 / 3
    }
}
