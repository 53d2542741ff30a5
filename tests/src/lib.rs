//! Shared helpers for Rotor's cross-crate tests: base64url and hex codecs, and a way to sign
//! arbitrary header and payload text with a [`Key`], so malformed-input tables can show the raw
//! JSON they feed to the verifier while still carrying a valid MAC.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rotor_core::{scratch_len, Key};

/// A 40-byte secret shared by tests that need "some valid key".
pub const SECRET: &[u8] = b"rotor test secret, forty bytes long!!!!!";

/// A second, different 40-byte secret, for wrong-key checks.
pub const OTHER_SECRET: &[u8] = b"another test secret, also forty bytes!!!";

/// Canonical unpadded base64url of `bytes` (RFC 7515 §2).
#[must_use]
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes unpadded base64url.
///
/// # Panics
/// If `text` is not valid base64url (test fixtures only).
#[must_use]
pub fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(text)
        .unwrap_or_else(|e| panic!("bad base64url fixture {text:?}: {e}"))
}

/// Decodes a hex string.
///
/// # Panics
/// If `text` has odd length or a non-hex digit (test fixtures only).
#[must_use]
pub fn hex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd-length hex {text:?}");
    (0..text.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&text[i..i + 2], 16)
                .unwrap_or_else(|e| panic!("bad hex {text:?}: {e}"))
        })
        .collect()
}

/// A compact token from already-encoded header and payload segments, with the HS256
/// signature that `key` gives their signing input (RFC 7515 §5.1).
#[must_use]
pub fn sign_segments(key: &Key, header_b64: &str, payload_b64: &str) -> String {
    let signing_input = format!("{header_b64}.{payload_b64}");
    let tag = key.mac(signing_input.as_bytes());
    format!("{signing_input}.{}", b64(tag))
}

/// A compact token whose header and payload are exactly the given JSON text (whitespace,
/// escapes, duplicates and all), correctly signed by `key`.
#[must_use]
pub fn forge(key: &Key, header_json: &str, payload_json: &str) -> String {
    sign_segments(key, &b64(header_json), &b64(payload_json))
}

/// A zeroed scratch buffer of [`scratch_len`] for `token`.
#[must_use]
pub fn scratch_for(token: &str) -> Vec<u8> {
    vec![0; scratch_len(token.len())]
}

/// The key every table test signs with ([`SECRET`], no key id).
///
/// # Panics
/// Never: [`SECRET`] is longer than the minimum.
#[must_use]
pub fn test_key() -> Key {
    Key::new(SECRET).expect("SECRET is 40 bytes")
}

/// The repository README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
