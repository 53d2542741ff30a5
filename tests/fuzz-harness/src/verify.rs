//! `verify`: arbitrary bytes as a token, against a fixed key and a key ring, under a permissive
//! and a strict policy. Nothing may panic, and a token is accepted only if its MAC really matches.

use rotor_core::{inspect, scratch_len, Key, Validation, Verified};
use serde_json::Value;

use crate::common::{self, assert_claims_match, segments, signature_for};

/// A fixed "now" for the strict policy: 2026-11-26T00:00:00Z.
pub const NOW: u64 = 1_795_651_200;

/// Issuer the strict policy requires.
pub const ISSUER: &str = "auth.example";

/// Audience the strict policy requires.
pub const AUDIENCE: &str = "api";

/// Every time check switched off (the leeway saturates), no claim required, no length limit,
/// `at+jwt` allowed as a type (RFC 9068).
#[must_use]
pub fn permissive() -> Validation<'static> {
    Validation::new()
        .require_exp(false)
        .leeway(u64::MAX)
        .max_token_len(usize::MAX)
        .extra_types(&["at+jwt"])
}

/// `exp` required, no leeway, issuer and audience required, the default length limit.
#[must_use]
pub fn strict() -> Validation<'static> {
    Validation::new()
        .leeway(0)
        .issuer(ISSUER)
        .audience(AUDIENCE)
}

/// Runs the check on one input.
///
/// # Panics
/// If `rotor-core` panics, accepts a token whose signature is not the HMAC of its signing
/// input under the key it reports, accepts it under a key it was not signed with, reports
/// claims that differ from the payload, or accepts claims that break the policy.
pub fn check(data: &[u8]) {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let key = common::key();
    let other = common::other_key();
    let ring = common::ring();
    let mut scratch = vec![0u8; scratch_len(token.len())];
    for (name, validation, now) in [
        ("permissive", permissive(), 0),
        ("permissive", permissive(), NOW),
        ("strict", strict(), NOW),
    ] {
        let context = format!("{name} policy at {now}");
        if let Ok(ok) = rotor_core::verify(token, &key, &validation, now, &mut scratch) {
            assert_eq!(
                ok.key_index, 0,
                "{context}: one key, index {}",
                ok.key_index
            );
            accepted(token, &key, &ok, &validation, now, &context);
            let mut again = vec![0u8; scratch_len(token.len())];
            assert!(
                rotor_core::verify(token, &other, &validation, now, &mut again).is_err(),
                "{context}: accepted under a key it was not signed with"
            );
        }
        if let Ok(ok) = rotor_core::verify(token, &ring, &validation, now, &mut scratch) {
            let used = ring
                .get(ok.key_index)
                .unwrap_or_else(|| panic!("{context}: key index {} out of range", ok.key_index));
            accepted(token, used, &ok, &validation, now, &context);
            let kid = header_kid(token);
            assert_eq!(
                kid.as_deref(),
                used.kid(),
                "{context}: key chosen does not match the header's kid"
            );
        }
    }
}

/// The `kid` of the token's header as `serde_json` reads it.
fn header_kid(token: &str) -> Option<String> {
    let [h, _, _] = segments(token.as_bytes())?;
    let header: Value = serde_json::from_slice(&common::unb64(h)?).ok()?;
    header.get("kid")?.as_str().map(str::to_owned)
}

/// Everything an accepted token must satisfy.
fn accepted(
    token: &str,
    key: &Key,
    ok: &Verified<'_>,
    validation: &Validation<'_>,
    now: u64,
    context: &str,
) {
    let [h, p, s] = segments(token.as_bytes())
        .unwrap_or_else(|| panic!("{context}: accepted a token without three segments"));
    let signing_input = &token.as_bytes()[..h.len() + 1 + p.len()];
    assert_eq!(
        s,
        signature_for(key, signing_input).as_bytes(),
        "{context}: accepted a signature that is not the canonical HMAC of the signing input"
    );

    let mut scratch = vec![0u8; scratch_len(token.len())];
    let parts = inspect(token, &mut scratch)
        .unwrap_or_else(|e| panic!("{context}: verify accepted what inspect refuses: {e}"));
    let header: Value = serde_json::from_str(parts.header)
        .unwrap_or_else(|e| panic!("{context}: canonical header is not JSON: {e}"));
    assert_eq!(
        header.get("alg").and_then(Value::as_str),
        Some("HS256"),
        "{context}: accepted a header whose alg is not HS256 (RFC 8725 §3.1)"
    );
    assert!(
        header.get("crit").is_none(),
        "{context}: accepted a crit header (RFC 7515 §4.1.11)"
    );
    for jwe in ["enc", "zip"] {
        assert!(
            header.get(jwe).is_none(),
            "{context}: accepted a JWE header with {jwe} (RFC 7516 §9, §4.1.3)"
        );
    }
    // Numbers beyond f64 range are valid JSON that serde_json refuses: nothing to compare then.
    if let Ok(payload) = serde_json::from_str::<Value>(parts.payload) {
        assert!(payload.is_object(), "{context}: payload is not an object");
        assert_claims_match(&ok.claims, &payload, context);
    }

    let c = &ok.claims;
    for (name, t) in [("exp", c.exp), ("nbf", c.nbf), ("iat", c.iat)] {
        assert!(
            t.is_none_or(|t| i64::try_from(t).is_ok()),
            "{context}: accepted {name} {t:?} above i64::MAX"
        );
    }
    let leeway = validation.leeway;
    if validation.require_exp {
        assert!(c.exp.is_some(), "{context}: accepted without exp");
    }
    if let Some(exp) = c.exp {
        assert!(
            now < exp.saturating_add(leeway),
            "{context}: accepted exp {exp} (RFC 7519 §4.1.4)"
        );
    }
    for (name, t) in [("nbf", c.nbf), ("iat", c.iat)] {
        if let Some(t) = t {
            assert!(
                t <= now.saturating_add(leeway),
                "{context}: accepted {name} {t} in the future"
            );
        }
    }
    if let Some(iss) = validation.issuer {
        assert_eq!(c.iss, Some(iss), "{context}: wrong issuer accepted");
    }
    match (validation.audience, c.aud) {
        (Some(want), Some(aud)) => assert!(aud.contains(want), "{context}: wrong audience"),
        (Some(_), None) => panic!("{context}: accepted without the required aud"),
        (None, Some(_)) => panic!("{context}: accepted an aud with no audience expected"),
        (None, None) => {}
    }
}
