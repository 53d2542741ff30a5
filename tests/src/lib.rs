//! The one set of test fixtures for Rotor's cross-crate tests and the fuzz harness
//! (`rotor-fuzz-harness` depends on this library): the secrets, base64url and hex codecs, and a
//! way to sign arbitrary header and payload text with a [`Key`], so malformed-input tables and
//! fuzz seeds can show the raw JSON they feed to the verifier while still carrying a valid MAC.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rotor_core::{scratch_len, Key};

/// A 40-byte secret shared by tests that need "some valid key", the fuzz checks and the seed
/// corpora signed with it (`fuzz/corpus/`: regenerate them after changing it).
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

/// The HS256 signature segment `key` gives `signing_input` (RFC 7515 §5.1, RFC 7518 §3.2),
/// computed from [`Key::mac`] rather than by the signer under test.
#[must_use]
pub fn signature_for(key: &Key, signing_input: &[u8]) -> String {
    b64(key.mac(signing_input))
}

/// [`sign_segments`] for segments that need not be text (fuzzed bytes).
#[must_use]
pub fn sign_segments_bytes(key: &Key, header_b64: &[u8], payload_b64: &[u8]) -> Vec<u8> {
    let mut token = Vec::with_capacity(header_b64.len() + payload_b64.len() + 45);
    token.extend_from_slice(header_b64);
    token.push(b'.');
    token.extend_from_slice(payload_b64);
    let signature = signature_for(key, &token);
    token.push(b'.');
    token.extend_from_slice(signature.as_bytes());
    token
}

/// A compact token from already-encoded header and payload segments, with the HS256
/// signature that `key` gives their signing input (RFC 7515 §5.1).
///
/// # Panics
/// Never: text segments and a base64url signature make a text token.
#[must_use]
pub fn sign_segments(key: &Key, header_b64: &str, payload_b64: &str) -> String {
    String::from_utf8(sign_segments_bytes(
        key,
        header_b64.as_bytes(),
        payload_b64.as_bytes(),
    ))
    .expect("text segments give a text token")
}

/// A compact token whose header and payload are exactly the given bytes (whitespace, escapes,
/// duplicates, invalid UTF-8 and all), correctly signed by `key`.
#[must_use]
pub fn forge(key: &Key, header_json: impl AsRef<[u8]>, payload_json: impl AsRef<[u8]>) -> String {
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

/// The key for [`OTHER_SECRET`], without a key id.
///
/// # Panics
/// Never: [`OTHER_SECRET`] is 40 bytes.
#[must_use]
pub fn other_key() -> Key {
    Key::new(OTHER_SECRET).expect("OTHER_SECRET is 40 bytes")
}

/// The repository README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
