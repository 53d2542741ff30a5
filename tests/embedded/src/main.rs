//! rotor-core on a Cortex-M3 (QEMU `lm3s6965evb`) or a RISC-V 32 core (QEMU `virt`): known-answer
//! sign and verify cases, and the peak stack of `sign`, `verify` and `verify_with`, reported
//! through semihosting.
//!
//! Exits with semihosting status 0 when every case passes, 1 on any failure, panic or fault.
//! `run.sh` builds and runs it; see README.md.
#![no_std]
#![no_main]

mod flash;
mod platform;
mod stack;

use core::fmt;

use base64ct::{Base64UrlUnpadded, Encoding};
use platform::semihosting::{debug, hprintln};
use platform::{entry, exit};
use rotor_core::{
    ct_eq, sign, verify, verify_with, Claims, Error, Fingerprint, Key, KeyRing, Validation,
};
use serde::{Deserialize, Serialize};

/// RFC 7515 Appendix A.1: the example HS256 JWS (line breaks removed).
const RFC7515_A1_TOKEN: &str = concat!(
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9",
    ".",
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ",
    ".",
    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
);
/// RFC 7515 Appendix A.1: the JWK `k` member, base64url.
const RFC7515_A1_JWK_K: &str =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
/// RFC 7515 Appendix A.1: the `exp` of the example (2011-03-22T18:43:00Z).
const RFC7515_A1_EXP: u64 = 1_300_819_380;

/// The device's idea of "now" for the tokens it signs: 2026-01-01T00:00:00Z.
const NOW: u64 = 1_767_225_600;
/// Secret for the tokens signed on the device.
const DEVICE_SECRET: &[u8] = b"rotor embedded test secret, 32+ bytes";
/// The token `sign` must produce for [`device_claims`] under [`DEVICE_SECRET`]: computed off the
/// device with Python's `hmac`/`hashlib`/`base64` over the compact JSON
/// `{"iss":"rotor-device","sub":"sensor-7","aud":"api","exp":1767226200,"nbf":1767225600,"iat":1767225600,"jti":"0001"}`.
const DEVICE_TOKEN: &str = concat!(
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
    ".",
    "eyJpc3MiOiJyb3Rvci1kZXZpY2UiLCJzdWIiOiJzZW5zb3ItNyIsImF1ZCI6ImFwaSIsImV4cCI6MTc2NzIyNjIwMCwibmJmIjoxNzY3MjI1NjAwLCJpYXQiOjE3NjcyMjU2MDAsImp0aSI6IjAwMDEifQ",
    ".",
    "HjBSl8bryT-t8w5aHvztjoHWNtqNxTQnXPjrLULuKJ4",
);

/// Issue targets for the footprint on the device (issue: proofs 5 and 7).
const VERIFY_STACK_TARGET: usize = 2048;

/// Why a case failed.
enum Fail {
    /// The core returned an error where none was expected.
    Core(&'static str, Error),
    /// The core returned the wrong error.
    WrongError {
        what: &'static str,
        want: Error,
        got: Error,
    },
    /// The core accepted what it must refuse.
    Accepted(&'static str),
    /// A value differs from the expected one.
    Mismatch(&'static str),
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Core(what, e) => write!(f, "{what}: unexpected error `{}` ({e})", e.kind()),
            Self::WrongError { what, want, got } => {
                write!(f, "{what}: want `{}`, got `{}`", want.kind(), got.kind())
            }
            Self::Accepted(what) => write!(f, "{what}: accepted, must be refused"),
            Self::Mismatch(what) => write!(f, "{what}: value differs from the expected one"),
        }
    }
}

type Outcome = Result<(), Fail>;

/// A named device test case.
type Case = (&'static str, fn() -> Outcome);

/// `Ok` if `got` is exactly `Err(want)`.
fn expect_err<T>(what: &'static str, want: Error, got: Result<T, Error>) -> Outcome {
    match got {
        Ok(_) => Err(Fail::Accepted(what)),
        Err(e) if e == want => Ok(()),
        Err(e) => Err(Fail::WrongError { what, want, got: e }),
    }
}

fn ensure(what: &'static str, ok: bool) -> Outcome {
    if ok {
        Ok(())
    } else {
        Err(Fail::Mismatch(what))
    }
}

fn core_ok<T>(what: &'static str, r: Result<T, Error>) -> Result<T, Fail> {
    r.map_err(|e| Fail::Core(what, e))
}

/// The RFC 7515 A.1 key, decoded from the JWK's base64url `k`.
fn rfc_key() -> Result<Key, Fail> {
    let mut secret = [0u8; 64];
    let secret = Base64UrlUnpadded::decode(RFC7515_A1_JWK_K, &mut secret)
        .map_err(|_| Fail::Mismatch("decode RFC 7515 A.1 JWK k"))?;
    ensure("RFC 7515 A.1 key is 64 bytes", secret.len() == 64)?;
    core_ok("Key::new(RFC 7515 A.1 k)", Key::new(secret))
}

fn device_key() -> Result<Key, Fail> {
    core_ok("Key::new(device secret)", Key::new(DEVICE_SECRET))
}

fn device_claims() -> Claims<'static> {
    Claims {
        iss: Some("rotor-device"),
        sub: Some("sensor-7"),
        aud: Some("api"),
        exp: Some(NOW + 600),
        nbf: Some(NOW),
        iat: Some(NOW),
        jti: Some("0001"),
    }
}

fn device_validation() -> Validation<'static> {
    Validation::new()
        .issuer("rotor-device")
        .audience("api")
        .subject("sensor-7")
}

/// The RFC's private claim, read through `verify_with`.
#[derive(Deserialize)]
struct RootFlag {
    #[serde(rename = "http://example.com/is_root")]
    is_root: bool,
}

/// RFC 7515 A.1 verifies (strict header parser: `typ` first, CRLF and spaces in the JSON) with a
/// `now` before its `exp`, and reads back `iss`, `exp` and the private boolean claim.
fn rfc7515_a1_verify() -> Outcome {
    let key = rfc_key()?;
    let mut scratch = [0u8; 256];
    let now = RFC7515_A1_EXP - 100;
    let v = core_ok(
        "verify(RFC 7515 A.1)",
        verify(
            RFC7515_A1_TOKEN,
            &key,
            &Validation::new(),
            now,
            &mut scratch,
        ),
    )?;
    ensure("iss == \"joe\"", v.claims.iss == Some("joe"))?;
    ensure("exp == 1300819380", v.claims.exp == Some(RFC7515_A1_EXP))?;
    ensure(
        "no sub, aud, jti",
        v.claims.sub.is_none() && v.claims.aud.is_none(),
    )?;
    let v = core_ok(
        "verify_with(RFC 7515 A.1)",
        verify_with::<RootFlag, _>(
            RFC7515_A1_TOKEN,
            &key,
            &Validation::new(),
            now,
            &mut scratch,
        ),
    )?;
    ensure("http://example.com/is_root == true", v.custom.is_root)
}

/// RFC 7515 A.1 after its `exp` (plus the default leeway) is refused as expired.
fn rfc7515_a1_expired() -> Outcome {
    let key = rfc_key()?;
    let mut scratch = [0u8; 256];
    let now = RFC7515_A1_EXP + rotor_core::DEFAULT_LEEWAY;
    expect_err(
        "verify(RFC 7515 A.1) at exp + leeway",
        Error::Expired,
        verify(
            RFC7515_A1_TOKEN,
            &key,
            &Validation::new(),
            now,
            &mut scratch,
        ),
    )
}

/// Signing on the device gives the token computed off the device, byte for byte, and it verifies
/// back with every registered claim and an issuer/audience/subject policy.
fn sign_known_answer_and_verify() -> Outcome {
    let key = device_key()?;
    let mut buf = [0u8; 256];
    let token = core_ok("sign", sign(&key, &device_claims(), &mut buf))?;
    ensure(
        "signed token == off-device known answer",
        token == DEVICE_TOKEN,
    )?;
    let mut scratch = [0u8; 256];
    let v = core_ok(
        "verify(device token)",
        verify(token, &key, &device_validation(), NOW + 1, &mut scratch),
    )?;
    let c = v.claims;
    ensure("iss", c.iss == Some("rotor-device"))?;
    ensure("sub", c.sub == Some("sensor-7"))?;
    ensure("aud", c.aud.is_some_and(|a| a.contains("api")))?;
    ensure("exp", c.exp == Some(NOW + 600))?;
    ensure("nbf", c.nbf == Some(NOW))?;
    ensure("iat", c.iat == Some(NOW))?;
    ensure("jti", c.jti == Some("0001"))?;
    ensure("key_index", v.key_index == 0)
}

/// A changed payload character, or a changed signature character, is a bad signature; and a
/// token checked with another key is too.
fn tampered_rejected() -> Outcome {
    let key = device_key()?;
    let mut scratch = [0u8; 256];
    let mut bytes = [0u8; DEVICE_TOKEN.len()];

    // Payload: the first payload character, 'e' -> 'f' (still base64url, now a different JSON).
    bytes.copy_from_slice(DEVICE_TOKEN.as_bytes());
    let dot = DEVICE_TOKEN
        .find('.')
        .ok_or(Fail::Mismatch("token has a dot"))?;
    bytes[dot + 1] = b'f';
    let token = core::str::from_utf8(&bytes).map_err(|_| Fail::Mismatch("utf8"))?;
    expect_err(
        "payload tampered",
        Error::BadSignature,
        verify(token, &key, &device_validation(), NOW + 1, &mut scratch),
    )?;

    // Signature: the middle character of the signature segment.
    bytes.copy_from_slice(DEVICE_TOKEN.as_bytes());
    let mid = DEVICE_TOKEN.len() - rotor_core::SIGNATURE_B64_LEN / 2;
    bytes[mid] = if bytes[mid] == b'A' { b'B' } else { b'A' };
    let token = core::str::from_utf8(&bytes).map_err(|_| Fail::Mismatch("utf8"))?;
    expect_err(
        "signature tampered",
        Error::BadSignature,
        verify(token, &key, &device_validation(), NOW + 1, &mut scratch),
    )?;

    // The RFC token under the device key.
    expect_err(
        "RFC 7515 A.1 under another key",
        Error::BadSignature,
        verify(
            RFC7515_A1_TOKEN,
            &key,
            &Validation::new(),
            RFC7515_A1_EXP - 100,
            &mut scratch,
        ),
    )
}

/// A token signed on the device with an `exp` in the past is refused as expired; one signed with
/// `nbf` in the future as not yet valid.
fn expired_rejected() -> Outcome {
    let key = device_key()?;
    let mut buf = [0u8; 256];
    let mut scratch = [0u8; 256];
    let past = Claims {
        sub: Some("sensor-7"),
        exp: Some(NOW - 100),
        ..Claims::default()
    };
    let token = core_ok("sign(expired)", sign(&key, &past, &mut buf))?;
    expect_err(
        "exp 100 s ago",
        Error::Expired,
        verify(token, &key, &Validation::new(), NOW, &mut scratch),
    )?;
    let early = Claims {
        exp: Some(NOW + 600),
        nbf: Some(NOW + 300),
        ..Claims::default()
    };
    let token = core_ok("sign(not yet valid)", sign(&key, &early, &mut buf))?;
    expect_err(
        "nbf in 300 s",
        Error::NotYetValid,
        verify(token, &key, &Validation::new(), NOW, &mut scratch),
    )
}

/// Base64url of `json` followed by `rest`, into `out`; returns the text.
fn token_from<'o>(json: &[u8], rest: &str, out: &'o mut [u8]) -> Result<&'o str, Fail> {
    let n = Base64UrlUnpadded::encode(json, out)
        .map_err(|_| Fail::Mismatch("encode header"))?
        .len();
    let end = n + rest.len();
    out.get_mut(n..end)
        .ok_or(Fail::Mismatch("token buffer"))?
        .copy_from_slice(rest.as_bytes());
    core::str::from_utf8(&out[..end]).map_err(|_| Fail::Mismatch("utf8"))
}

/// `alg: none` and case variants of `HS256` are refused before any MAC work (RFC 8725 §3.1,
/// §3.2), whatever the signature segment holds; an empty signature segment is malformed.
fn alg_none_rejected() -> Outcome {
    let key = device_key()?;
    let mut scratch = [0u8; 256];
    let mut buf = [0u8; 320];
    // The payload and signature of a genuine token, behind a forged header.
    let dot = DEVICE_TOKEN
        .find('.')
        .ok_or(Fail::Mismatch("token has a dot"))?;
    let genuine_rest = &DEVICE_TOKEN[dot..];
    for (what, header) in [
        ("alg none", &br#"{"alg":"none","typ":"JWT"}"#[..]),
        ("alg None", br#"{"alg":"None","typ":"JWT"}"#),
        ("alg hs256", br#"{"alg":"hs256","typ":"JWT"}"#),
        ("no alg", br#"{"typ":"JWT"}"#),
    ] {
        let token = token_from(header, genuine_rest, &mut buf)?;
        expect_err(
            what,
            Error::UnsupportedAlgorithm,
            verify(token, &key, &device_validation(), NOW + 1, &mut scratch),
        )?;
    }
    // The classic unsecured JWS: `header.payload.` with an empty signature.
    let sig_dot = DEVICE_TOKEN
        .rfind('.')
        .ok_or(Fail::Mismatch("token has a dot"))?;
    let token = token_from(br#"{"alg":"none"}"#, &DEVICE_TOKEN[dot..=sig_dot], &mut buf)?;
    expect_err(
        "alg none, empty signature",
        Error::Malformed,
        verify(token, &key, &device_validation(), NOW + 1, &mut scratch),
    )
}

/// The caller's own claims type, borrowing its strings from the scratch buffer.
#[derive(Deserialize)]
struct Custom<'a> {
    sub: &'a str,
    role: &'a str,
    level: u8,
}

/// Payload signed on the device for [`custom_claims_borrowed`].
#[derive(Serialize)]
struct CustomOut<'a> {
    sub: &'a str,
    exp: u64,
    role: &'a str,
    level: u8,
    extra: [u32; 3],
}

/// `verify_with` deserialises a custom claims type whose `&str` fields borrow from scratch:
/// first from a token signed with `sign`, then from one whose JSON escapes (`\u00e9`, a UTF-16
/// surrogate pair, `\/`) must be decoded to the text `serde_json` would give.
fn custom_claims_borrowed() -> Outcome {
    let key = device_key()?;
    let mut buf = [0u8; 320];
    let mut scratch = [0u8; 384];
    let out = CustomOut {
        sub: "sensor-7",
        exp: NOW + 60,
        role: "opérateur",
        level: 3,
        extra: [1, 2, 3],
    };
    let token = core_ok("sign(custom)", sign(&key, &out, &mut buf))?;
    let v = core_ok(
        "verify_with(custom)",
        verify_with::<Custom, _>(token, &key, &Validation::new(), NOW, &mut scratch),
    )?;
    ensure("custom.sub", v.custom.sub == "sensor-7")?;
    ensure("custom.role", v.custom.role == "opérateur")?;
    ensure("custom.level", v.custom.level == 3)?;
    ensure("registered sub", v.claims.sub == Some("sensor-7"))?;

    // A token from another signer that escapes what it need not; signed here with the same key.
    let payload = br#"{"sub":"caf\u00e9 \/ \ud83d\ude00","exp":1767225660,"role":"op\u00e9rateur","level":7,"unknown":{"a":[1,{"b":null}]}}"#;
    let mut token_buf = [0u8; 320];
    let header_len = key.header_b64().len();
    token_buf[..header_len].copy_from_slice(key.header_b64().as_bytes());
    token_buf[header_len] = b'.';
    let body = Base64UrlUnpadded::encode(payload, &mut token_buf[header_len + 1..])
        .map_err(|_| Fail::Mismatch("encode payload"))?
        .len();
    let signing_input_len = header_len + 1 + body;
    let tag = key.mac(&token_buf[..signing_input_len]);
    token_buf[signing_input_len] = b'.';
    let sig = Base64UrlUnpadded::encode(tag.as_bytes(), &mut token_buf[signing_input_len + 1..])
        .map_err(|_| Fail::Mismatch("encode signature"))?
        .len();
    let token = core::str::from_utf8(&token_buf[..signing_input_len + 1 + sig])
        .map_err(|_| Fail::Mismatch("utf8"))?;
    let v = core_ok(
        "verify_with(escaped custom)",
        verify_with::<Custom, _>(token, &key, &Validation::new(), NOW, &mut scratch),
    )?;
    ensure("escaped custom.sub", v.custom.sub == "café / 😀")?;
    ensure("escaped custom.role", v.custom.role == "opérateur")?;
    ensure("escaped custom.level", v.custom.level == 7)?;
    ensure("escaped registered sub", v.claims.sub == Some("café / 😀"))
}

/// Keys: a short secret is refused (RFC 7518 §3.2); a ring selects the key named by `kid`; a
/// buffer too small to sign into is an error, not a truncated token.
fn keys_and_buffers() -> Outcome {
    expect_err(
        "31-byte secret",
        Error::WeakKey,
        Key::new(&DEVICE_SECRET[..31]),
    )?;
    let mut ring = KeyRing::<2>::new();
    core_ok(
        "ring.push(2026-01)",
        ring.push(core_ok(
            "Key::with_kid",
            Key::with_kid(DEVICE_SECRET, "2026-01"),
        )?),
    )?;
    let old = core_ok(
        "Key::with_kid",
        Key::with_kid(b"the retired device secret, 32+ bytes", "2025-12"),
    )?;
    let mut buf = [0u8; 256];
    let mut scratch = [0u8; 256];
    let claims = Claims {
        exp: Some(NOW + 60),
        ..Claims::default()
    };
    let token = core_ok("sign(old key)", sign(&old, &claims, &mut buf))?;
    expect_err(
        "kid 2025-12 before rotation",
        Error::UnknownKeyId,
        verify(token, &ring, &Validation::new(), NOW, &mut scratch),
    )?;
    core_ok("ring.push(2025-12)", ring.push(old.clone()))?;
    let v = core_ok(
        "verify(kid 2025-12)",
        verify(token, &ring, &Validation::new(), NOW, &mut scratch),
    )?;
    ensure("key_index == 1", v.key_index == 1)?;
    let mut small = [0u8; 60];
    expect_err(
        "sign into 60 bytes",
        Error::BufferTooSmall,
        sign(&old, &claims, &mut small),
    )
}

/// SHA-256 of the RFC 7515 A.1 token, computed off the device with Python's `hashlib`.
const RFC7515_A1_SHA256: [u8; 32] = [
    0x8d, 0x4e, 0xf6, 0x53, 0x6d, 0xc8, 0x89, 0x5f, 0x25, 0x6c, 0x1e, 0x0d, 0x95, 0xdc, 0xd1, 0x97,
    0x63, 0x03, 0x67, 0x32, 0xd6, 0x4a, 0x09, 0x5e, 0x44, 0xa9, 0x0e, 0xd4, 0x44, 0x26, 0x7a, 0xd3,
];

/// A token fingerprint is the SHA-256 of the token, and `ct_eq` tells equal from unequal.
fn fingerprint_and_ct_eq() -> Outcome {
    let fp = Fingerprint::of(RFC7515_A1_TOKEN.as_bytes());
    ensure(
        "Fingerprint::of(RFC 7515 A.1) == SHA-256 known answer",
        fp.as_bytes() == &RFC7515_A1_SHA256,
    )?;
    ensure(
        "fingerprint round-trips through bytes",
        Fingerprint::from_bytes(RFC7515_A1_SHA256) == fp,
    )?;
    ensure(
        "ct_eq(equal)",
        ct_eq(DEVICE_TOKEN.as_bytes(), DEVICE_TOKEN.as_bytes()),
    )?;
    ensure(
        "ct_eq(unequal, same length)",
        !ct_eq(
            RFC7515_A1_SHA256.as_slice(),
            fp.as_bytes().map(|b| b ^ 1).as_slice(),
        ),
    )?;
    ensure(
        "ct_eq(different lengths)",
        !ct_eq(DEVICE_TOKEN.as_bytes(), &DEVICE_TOKEN.as_bytes()[1..]),
    )
}

/// One stack measurement; `Err` if the call inside failed.
struct Peak {
    bytes: usize,
    overflowed: bool,
}

fn peak(what: &'static str, mut f: impl FnMut() -> Outcome) -> Result<Peak, Fail> {
    let mut result = Err(Fail::Mismatch(what));
    let usage = stack::measure(&mut || result = f());
    result?;
    Ok(Peak {
        bytes: usage.bytes,
        overflowed: usage.overflowed,
    })
}

/// A call whose frame holds a 1 KiB array that is written in full (zeroed) and read.
#[inline(never)]
fn uses_1k_of_stack() -> u8 {
    let mut a = [0u8; 1024];
    core::hint::black_box(&mut a);
    a.iter().fold(0, |x, y| x | y)
}

/// Peak stack of `sign`, `verify` (fast header path and strict header path) and `verify_with`.
/// Buffers are the caller's and are not counted.
fn stack_figures() -> Outcome {
    let rfc = rfc_key()?;
    let key = device_key()?;
    let claims = device_claims();
    let mut buf = [0u8; 256];
    let mut scratch = [0u8; 256];

    let empty = peak("empty call", || Ok(()))?;
    // Calibration: a call that owns a 1 KiB array must read as at least 1 KiB.
    let calibration = peak("1 KiB calibration call", || {
        ensure("calibration", uses_1k_of_stack() == 0)
    })?;
    ensure(
        "stack measurement sees a 1 KiB local",
        (1024..1024 + 128).contains(&calibration.bytes),
    )?;
    let sign_peak = peak("sign", || {
        let t = core_ok("sign", sign(&key, &claims, &mut buf))?;
        ensure("sign known answer", t == DEVICE_TOKEN)
    })?;
    let fast = peak("verify (fast header path)", || {
        core_ok(
            "verify",
            verify(DEVICE_TOKEN, &key, &device_validation(), NOW, &mut scratch),
        )
        .map(|_| ())
    })?;
    let strict = peak("verify (strict header path)", || {
        core_ok(
            "verify",
            verify(
                RFC7515_A1_TOKEN,
                &rfc,
                &Validation::new(),
                RFC7515_A1_EXP - 100,
                &mut scratch,
            ),
        )
        .map(|_| ())
    })?;
    let with = peak("verify_with", || {
        core_ok(
            "verify_with",
            verify_with::<RootFlag, _>(
                RFC7515_A1_TOKEN,
                &rfc,
                &Validation::new(),
                RFC7515_A1_EXP - 100,
                &mut scratch,
            ),
        )
        .map(|_| ())
    })?;
    ensure(
        "painted stack area not exhausted",
        ![&empty, &calibration, &sign_peak, &fast, &strict, &with]
            .iter()
            .any(|p| p.overflowed),
    )?;

    hprintln!(
        "  measuring harness alone: {} bytes (included below); 1 KiB calibration call: {} bytes",
        empty.bytes,
        calibration.bytes
    );
    hprintln!("  verify, fast header path: {} bytes", fast.bytes);
    hprintln!("  verify, strict header path: {} bytes", strict.bytes);
    hprintln!("  verify_with (RFC 7515 A.1 claims): {} bytes", with.bytes);
    let verify_peak = fast.bytes.max(strict.bytes);
    hprintln!(
        "verify peak stack: {} bytes (target <= {}: {})",
        verify_peak,
        VERIFY_STACK_TARGET,
        if verify_peak <= VERIFY_STACK_TARGET {
            "met"
        } else {
            "NOT met"
        }
    );
    hprintln!("verify_with peak stack: {} bytes", with.bytes);
    hprintln!("sign peak stack: {} bytes", sign_peak.bytes);
    Ok(())
}

/// One engine, both ends: an access token that `rotor-server token sign` minted with the
/// server's configuration (its secret, its derived `kid`, `iss = "rotor"`), passed in by
/// `run.sh` at build time. The device verifies it, reads its claims, and refuses a copy with
/// one byte changed.
fn server_token_verified() -> Outcome {
    let (Some(token), Some(secret), Some(kid)) = (
        option_env!("ROTOR_SERVER_TOKEN"),
        option_env!("ROTOR_SERVER_SECRET"),
        option_env!("ROTOR_SERVER_KID"),
    ) else {
        return Err(Fail::Mismatch(
            "built without ROTOR_SERVER_TOKEN: build and run through tests/embedded/run.sh",
        ));
    };
    let key = core_ok(
        "Key::with_kid(server secret)",
        Key::with_kid(secret.as_bytes(), kid),
    )?;
    let validation = Validation::new().issuer("rotor").subject("user-42");
    let mut scratch = [0u8; 512];
    let v = core_ok(
        "verify the server's token",
        verify(token, &key, &validation, NOW + 1, &mut scratch),
    )?;
    let c = v.claims;
    ensure("sub", c.sub == Some("user-42"))?;
    ensure("iss", c.iss == Some("rotor"))?;
    ensure("jti", c.jti == Some("j-0001"))?;
    ensure("iat", c.iat == Some(NOW))?;
    ensure("exp", c.exp == Some(NOW + 900))?;

    // One byte changed in the payload: the first payload character, as `tampered_rejected` does.
    let mut bytes = [0u8; 512];
    let copy = bytes
        .get_mut(..token.len())
        .ok_or(Fail::Mismatch("server token fits 512 bytes"))?;
    copy.copy_from_slice(token.as_bytes());
    let dot = token.find('.').ok_or(Fail::Mismatch("token has a dot"))?;
    let first = copy.get_mut(dot + 1).ok_or(Fail::Mismatch("payload"))?;
    *first = if *first == b'e' { b'f' } else { b'e' };
    let changed = core::str::from_utf8(copy).map_err(|_| Fail::Mismatch("utf8"))?;
    expect_err(
        "server token with one byte changed",
        Error::BadSignature,
        verify(changed, &key, &validation, NOW + 1, &mut scratch),
    )
}

#[entry]
fn main() -> ! {
    let zeroize = if cfg!(feature = "zeroize") {
        " (rotor-core feature zeroize)"
    } else {
        ""
    };
    hprintln!("rotor-core on {}{}", platform::TARGET, zeroize);
    let cases: [Case; 11] = [
        ("rfc7515_a1_verify", rfc7515_a1_verify),
        ("rfc7515_a1_expired", rfc7515_a1_expired),
        ("sign_known_answer_and_verify", sign_known_answer_and_verify),
        ("tampered_rejected", tampered_rejected),
        ("expired_rejected", expired_rejected),
        ("alg_none_rejected", alg_none_rejected),
        ("custom_claims_borrowed", custom_claims_borrowed),
        ("keys_and_buffers", keys_and_buffers),
        ("fingerprint_and_ct_eq", fingerprint_and_ct_eq),
        ("server_token_verified", server_token_verified),
        ("stack_figures", stack_figures),
    ];
    let mut failed = 0u32;
    for (name, case) in cases {
        match case() {
            Ok(()) => hprintln!("case {} ... ok", name),
            Err(why) => {
                failed += 1;
                hprintln!("case {} ... FAILED: {}", name, why);
            }
        }
    }
    hprintln!("device image flash: {} bytes", flash::image_bytes());
    if failed == 0 {
        hprintln!("result: ok, {} cases passed", cases.len());
        exit(debug::EXIT_SUCCESS)
    } else {
        hprintln!("result: FAILED, {} of {} cases failed", failed, cases.len());
        exit(debug::EXIT_FAILURE)
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    hprintln!("PANIC: {}", info);
    exit(debug::EXIT_FAILURE)
}

#[cfg(target_arch = "arm")]
#[cortex_m_rt::exception]
unsafe fn HardFault(frame: &cortex_m_rt::ExceptionFrame) -> ! {
    hprintln!("HARD FAULT at pc {:#010x}", frame.pc());
    exit(debug::EXIT_FAILURE)
}

/// Any trap (illegal instruction, misaligned or faulting access, ...): riscv-rt calls this.
#[cfg(target_arch = "riscv32")]
#[export_name = "ExceptionHandler"]
fn exception_handler(frame: &riscv_rt::TrapFrame) -> ! {
    hprintln!("EXCEPTION, ra {:#010x}", frame.ra);
    exit(debug::EXIT_FAILURE)
}
