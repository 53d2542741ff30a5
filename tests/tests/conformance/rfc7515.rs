//! RFC 7515 Appendix A.1: the HS256 example JWS, verified with a fixed `now`.

use rotor_core::{verify, verify_with, Error, Key, Validation};
use rotor_tests::{b64, unb64};
use serde::Deserialize;

/// RFC 7515 A.1.1: the JWK `k` of the example key.
const A1_K: &str =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
/// RFC 7515 A.1.1: the encoded header of `{"typ":"JWT",\r\n "alg":"HS256"}`.
const A1_HEADER: &str = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9";
/// RFC 7515 A.1.1: the encoded payload (CRLF and spaces inside the JSON).
const A1_PAYLOAD: &str = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
/// RFC 7515 A.1.1: the encoded HMAC-SHA256 signature.
const A1_SIGNATURE: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// The `exp` claim of the example payload.
const A1_EXP: u64 = 1_300_819_380;
/// A time before `exp`: the RFC's example was current in March 2011.
const A1_NOW: u64 = 1_300_819_000;

fn a1_token() -> String {
    format!("{A1_HEADER}.{A1_PAYLOAD}.{A1_SIGNATURE}")
}

fn a1_key() -> Key {
    Key::new(&unb64(A1_K)).expect("the RFC key is 64 bytes")
}

/// The example's claims, read as a custom type; the private claim name is a URI.
#[derive(Debug, Deserialize, PartialEq)]
struct A1Claims<'a> {
    iss: &'a str,
    exp: u64,
    #[serde(rename = "http://example.com/is_root")]
    is_root: bool,
}

#[test]
fn rfc7515_a1_fixture_is_the_published_text() {
    // The header and payload bytes as printed in RFC 7515 A.1.1, CRLF included.
    assert_eq!(
        unb64(A1_HEADER),
        b"{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}"
    );
    assert_eq!(
        unb64(A1_PAYLOAD),
        b"{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}"
    );
    assert_eq!(unb64(A1_K).len(), 64);
}

#[test]
fn rfc7515_a1_mac_known_answer() {
    let signing_input = format!("{A1_HEADER}.{A1_PAYLOAD}");
    let tag = a1_key().mac(signing_input.as_bytes());
    assert_eq!(b64(tag), A1_SIGNATURE);
}

#[test]
fn rfc7515_a1_verifies() {
    let token = a1_token();
    let mut scratch = [0u8; 512];
    let ok = verify(&token, &a1_key(), &Validation::new(), A1_NOW, &mut scratch)
        .expect("RFC 7515 A.1 verifies before its exp");
    assert_eq!(ok.claims.iss, Some("joe"));
    assert_eq!(ok.claims.exp, Some(A1_EXP));
    assert_eq!(ok.claims.sub, None);
    assert_eq!(ok.claims.aud, None);
    assert_eq!(ok.key_index, 0);
}

#[test]
fn rfc7515_a1_verify_with_custom_claims_matches_serde_json() {
    let token = a1_token();
    let mut scratch = [0u8; 512];
    let ok =
        verify_with::<A1Claims, _>(&token, &a1_key(), &Validation::new(), A1_NOW, &mut scratch)
            .expect("RFC 7515 A.1 verifies with a custom type");
    let payload = unb64(A1_PAYLOAD);
    let reference: A1Claims = serde_json::from_slice(&payload).expect("serde_json reads A.1");
    assert_eq!(ok.custom, reference);
    assert_eq!(
        ok.custom,
        A1Claims {
            iss: "joe",
            exp: A1_EXP,
            is_root: true
        }
    );
}

#[test]
fn rfc7515_a1_expiry_boundaries() {
    let token = a1_token();
    let key = a1_key();
    let mut scratch = [0u8; 512];
    // (leeway, now, expected): RFC 7519 §4.1.4, "current date/time MUST be before" exp.
    let table: &[(u64, u64, Result<(), Error>)] = &[
        (0, A1_EXP - 1, Ok(())),
        (0, A1_EXP, Err(Error::Expired)),
        (30, A1_EXP + 29, Ok(())),
        (30, A1_EXP + 30, Err(Error::Expired)),
        (0, u64::MAX, Err(Error::Expired)),
        (u64::MAX, u64::MAX - 1, Ok(())),
    ];
    for &(leeway, now, want) in table {
        let got = verify(
            &token,
            &key,
            &Validation::new().leeway(leeway),
            now,
            &mut scratch,
        )
        .map(|_| ());
        assert_eq!(got, want, "leeway {leeway}, now {now}");
    }
}

#[test]
fn rfc7515_a1_alterations_are_rejected() {
    let key = a1_key();
    let payload = String::from_utf8(unb64(A1_PAYLOAD)).expect("utf-8");
    let header = String::from_utf8(unb64(A1_HEADER)).expect("utf-8");
    let joe_to_jim = b64(payload.replace("\"joe\"", "\"jim\""));
    let is_root_false = b64(payload.replace("true", "false"));
    let alg_none = b64(header.replace("HS256", "none"));
    let alg_hs512 = b64(header.replace("HS256", "HS512"));
    let typ_jws = b64(header.replace("\"JWT\"", "\"JWS\""));
    let mut last_sig_char = A1_SIGNATURE.to_owned();
    last_sig_char.pop();
    // 'k' encodes 0b100100; its two low bits are padding in a 43-character segment, so 'l'
    // decodes to the same 32 bytes in a lax decoder. The text comparison must still refuse it.
    let trailing_bits = format!("{last_sig_char}l");
    let sig_first_char = format!("e{}", &A1_SIGNATURE[1..]);

    let table: Vec<(&str, String, Error)> = vec![
        (
            "payload iss joe -> jim",
            format!("{A1_HEADER}.{joe_to_jim}.{A1_SIGNATURE}"),
            Error::BadSignature,
        ),
        (
            "payload is_root true -> false",
            format!("{A1_HEADER}.{is_root_false}.{A1_SIGNATURE}"),
            Error::BadSignature,
        ),
        (
            "header alg HS256 -> none",
            format!("{alg_none}.{A1_PAYLOAD}.{A1_SIGNATURE}"),
            Error::UnsupportedAlgorithm,
        ),
        (
            "header alg HS256 -> none, signature removed",
            format!("{alg_none}.{A1_PAYLOAD}."),
            Error::Malformed,
        ),
        (
            "header alg HS256 -> HS512",
            format!("{alg_hs512}.{A1_PAYLOAD}.{A1_SIGNATURE}"),
            Error::UnsupportedAlgorithm,
        ),
        (
            "header typ JWT -> JWS",
            format!("{typ_jws}.{A1_PAYLOAD}.{A1_SIGNATURE}"),
            Error::UnsupportedType,
        ),
        (
            "signature first char d -> e",
            format!("{A1_HEADER}.{A1_PAYLOAD}.{sig_first_char}"),
            Error::BadSignature,
        ),
        (
            "signature non-canonical trailing bits k -> l",
            format!("{A1_HEADER}.{A1_PAYLOAD}.{trailing_bits}"),
            Error::BadSignature,
        ),
        (
            "signature truncated by one char",
            format!("{A1_HEADER}.{A1_PAYLOAD}.{last_sig_char}"),
            Error::BadSignature,
        ),
        (
            "signature with '=' padding",
            format!("{A1_HEADER}.{A1_PAYLOAD}.{A1_SIGNATURE}="),
            Error::BadSignature,
        ),
        (
            "signature segment dropped",
            format!("{A1_HEADER}.{A1_PAYLOAD}"),
            Error::Malformed,
        ),
        (
            "extra fourth segment",
            format!("{A1_HEADER}.{A1_PAYLOAD}.{A1_SIGNATURE}.{A1_SIGNATURE}"),
            Error::Malformed,
        ),
        (
            "header and payload swapped",
            format!("{A1_PAYLOAD}.{A1_HEADER}.{A1_SIGNATURE}"),
            Error::UnsupportedAlgorithm,
        ),
    ];
    for (what, token, want) in table {
        let mut scratch = [0u8; 512];
        let got = verify(&token, &key, &Validation::new(), A1_NOW, &mut scratch).map(|_| ());
        assert_eq!(got, Err(want), "{what}: {token}");
    }

    // The unaltered token under a different 64-byte key.
    let mut other = unb64(A1_K);
    other[0] ^= 1;
    let other = Key::new(&other).expect("64 bytes");
    let mut scratch = [0u8; 512];
    assert_eq!(
        verify(
            &a1_token(),
            &other,
            &Validation::new(),
            A1_NOW,
            &mut scratch
        )
        .map(|_| ()),
        Err(Error::BadSignature)
    );
}
