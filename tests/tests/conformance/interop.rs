//! Interoperability both ways with the `jsonwebtoken` crate (v11, RustCrypto backend).
//!
//! `jsonwebtoken` reads the system clock, so these tests use the real time and hand the same
//! `now` to rotor-core.

use heapless::{String as HString, Vec as HVec};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{
    decode, encode, get_current_timestamp, Algorithm, DecodingKey, EncodingKey, Header,
};
use proptest::prelude::*;
use rotor_core::{sign, verify, verify_with, Error, Key, KeyRing, Validation};
use rotor_tests::{scratch_for, test_key, OTHER_SECRET, SECRET};
use serde::{Deserialize, Serialize};

/// Claims as a `std` application would write them.
#[derive(Clone, Debug, Deserialize, PartialEq, Serialize)]
struct StdClaims {
    iss: String,
    sub: String,
    aud: Vec<String>,
    exp: u64,
    nbf: u64,
    iat: u64,
    jti: String,
    name: String,
    roles: Vec<String>,
    n: u64,
}

/// The same claims as a device would read them: fixed capacity, no heap.
#[derive(Debug, Deserialize, PartialEq)]
struct DeviceClaims {
    iss: HString<64>,
    sub: HString<64>,
    aud: HVec<HString<32>, 4>,
    exp: u64,
    nbf: u64,
    iat: u64,
    jti: HString<64>,
    name: HString<256>,
    roles: HVec<HString<32>, 4>,
    n: u64,
}

impl DeviceClaims {
    fn to_std(&self) -> StdClaims {
        StdClaims {
            iss: self.iss.to_string(),
            sub: self.sub.to_string(),
            aud: self.aud.iter().map(ToString::to_string).collect(),
            exp: self.exp,
            nbf: self.nbf,
            iat: self.iat,
            jti: self.jti.to_string(),
            name: self.name.to_string(),
            roles: self.roles.iter().map(ToString::to_string).collect(),
            n: self.n,
        }
    }
}

/// What rotor-core signs: borrowed, serialised by `serde-json-core`.
#[derive(Serialize)]
struct RotorOut<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a [&'a str],
    exp: u64,
    nbf: u64,
    iat: u64,
    jti: &'a str,
    name: &'a str,
    roles: &'a [&'a str],
    n: u64,
}

fn std_claims(now: u64, sub: &str, name: &str) -> StdClaims {
    StdClaims {
        iss: "auth.example".into(),
        sub: sub.into(),
        aud: vec!["api".into(), "admin".into()],
        exp: now + 3600,
        nbf: now - 10,
        iat: now - 10,
        jti: "b1f8c2d0-6a4e-4c55-9b0e-5f1f2a3c4d5e".into(),
        name: name.into(),
        roles: vec!["reader".into(), "writer \"w\"".into()],
        n: u64::MAX,
    }
}

fn jwt_validation() -> jsonwebtoken::Validation {
    let mut v = jsonwebtoken::Validation::new(Algorithm::HS256);
    v.set_audience(&["api"]);
    v.set_issuer(&["auth.example"]);
    v.validate_nbf = true;
    v.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
    v
}

fn rotor_validation() -> Validation<'static> {
    Validation::new().audience("api").issuer("auth.example")
}

/// Signs with `jsonwebtoken`, verifies with rotor-core, and compares every claim.
fn jsonwebtoken_to_rotor(claims: &StdClaims, now: u64) {
    let token = encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(SECRET),
    )
    .expect("jsonwebtoken signs");
    let key = test_key();
    let mut scratch = scratch_for(&token);
    let ok = verify(
        &token,
        &key,
        &rotor_validation().subject(&claims.sub),
        now,
        &mut scratch,
    )
    .unwrap_or_else(|e| panic!("{claims:?}: {e}\n{token}"));
    assert_eq!(ok.claims.iss, Some(claims.iss.as_str()));
    assert_eq!(ok.claims.sub, Some(claims.sub.as_str()));
    assert_eq!(ok.claims.jti, Some(claims.jti.as_str()));
    assert_eq!(ok.claims.exp, Some(claims.exp));
    assert_eq!(ok.claims.nbf, Some(claims.nbf));
    assert_eq!(ok.claims.iat, Some(claims.iat));
    let aud = ok.claims.aud.expect("aud");
    for a in &claims.aud {
        assert!(aud.contains(a), "aud {a}");
    }
    assert_eq!(
        serde_json::from_str::<Vec<String>>(aud.as_json()).expect("aud json"),
        claims.aud
    );

    let mut scratch = scratch_for(&token);
    let ok = verify_with::<DeviceClaims, _>(&token, &key, &rotor_validation(), now, &mut scratch)
        .unwrap_or_else(|e| panic!("{claims:?}: {e}\n{token}"));
    assert_eq!(&ok.custom.to_std(), claims);
}

/// Signs with rotor-core, verifies with `jsonwebtoken`, and compares every claim.
fn rotor_to_jsonwebtoken(claims: &StdClaims, key: &Key) {
    let aud: Vec<&str> = claims.aud.iter().map(String::as_str).collect();
    let roles: Vec<&str> = claims.roles.iter().map(String::as_str).collect();
    let out = RotorOut {
        iss: &claims.iss,
        sub: &claims.sub,
        aud: &aud,
        exp: claims.exp,
        nbf: claims.nbf,
        iat: claims.iat,
        jti: &claims.jti,
        name: &claims.name,
        roles: &roles,
        n: claims.n,
    };
    let mut buf = vec![0u8; 4096];
    let token = sign(key, &out, &mut buf).expect("rotor signs");
    let mut v = jwt_validation();
    v.sub = Some(claims.sub.clone());
    let got = decode::<StdClaims>(token, &DecodingKey::from_secret(SECRET), &v)
        .unwrap_or_else(|e| panic!("{claims:?}: {e}\n{token}"));
    assert_eq!(&got.claims, claims);
    assert_eq!(got.header.alg, Algorithm::HS256);
    assert_eq!(got.header.typ.as_deref(), Some("JWT"));
    assert_eq!(got.header.kid.as_deref(), key.kid());
}

const NAMES: &[&str] = &[
    "Ada Lovelace",
    "",
    r#"quote " and backslash \ and slash /"#,
    "Zoë, 東京, 😀🦀",
    "\u{0}\u{1}\u{1f}\t\n\r\u{8}\u{c}\u{7f}\u{2028}\u{feff}",
    r"\u0041 is not an escape here",
];

#[test]
fn jsonwebtoken_signs_rotor_verifies() {
    let now = get_current_timestamp();
    for name in NAMES {
        jsonwebtoken_to_rotor(&std_claims(now, name, name), now);
    }
}

#[test]
fn rotor_signs_jsonwebtoken_verifies() {
    let now = get_current_timestamp();
    let keys = [test_key(), Key::with_kid(SECRET, "2026-11").expect("key")];
    for key in &keys {
        for name in NAMES {
            rotor_to_jsonwebtoken(&std_claims(now, name, name), key);
        }
    }
}

#[test]
fn jsonwebtoken_kid_selects_the_ring_key() {
    let now = get_current_timestamp();
    let mut ring = KeyRing::<2>::new();
    ring.push(Key::with_kid(OTHER_SECRET, "new").expect("key"))
        .expect("room");
    ring.push(Key::with_kid(SECRET, "old").expect("key"))
        .expect("room");
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("old".into());
    let claims = std_claims(now, "alice", "Alice");
    let token = encode(&header, &claims, &EncodingKey::from_secret(SECRET)).expect("signs");
    let mut scratch = scratch_for(&token);
    let ok = verify(&token, &ring, &rotor_validation(), now, &mut scratch).expect("verifies");
    assert_eq!(ok.key_index, 1);
    assert_eq!(ok.claims.sub, Some("alice"));
}

#[test]
fn disagreements_are_rejected_on_both_sides() {
    let now = get_current_timestamp();
    let claims = std_claims(now, "alice", "Alice");
    let key = test_key();
    // Other HMAC algorithms with the same secret: no algorithm confusion (RFC 8725 §3.1).
    for alg in [Algorithm::HS384, Algorithm::HS512] {
        let token = encode(
            &Header::new(alg),
            &claims,
            &EncodingKey::from_secret(SECRET),
        )
        .expect("signs");
        let mut scratch = scratch_for(&token);
        assert_eq!(
            verify(&token, &key, &rotor_validation(), now, &mut scratch).map(|_| ()),
            Err(Error::UnsupportedAlgorithm),
            "{alg:?}"
        );
    }
    // Wrong secret, each way.
    let token = encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(OTHER_SECRET),
    )
    .expect("signs");
    let mut scratch = scratch_for(&token);
    assert_eq!(
        verify(&token, &key, &rotor_validation(), now, &mut scratch).map(|_| ()),
        Err(Error::BadSignature)
    );
    let mut buf = [0u8; 1024];
    let ours = sign(&Key::new(OTHER_SECRET).expect("key"), &claims, &mut buf).expect("signs");
    let err = decode::<StdClaims>(ours, &DecodingKey::from_secret(SECRET), &jwt_validation())
        .expect_err("wrong secret");
    assert_eq!(err.kind(), &ErrorKind::InvalidSignature);
    // Both agree an expired token is expired (leeway 0 on both sides).
    let expired = StdClaims {
        exp: now - 1,
        ..claims.clone()
    };
    let ours = sign(&key, &expired, &mut buf).expect("signs").to_owned();
    let mut v = jwt_validation();
    v.leeway = 0;
    let err =
        decode::<StdClaims>(&ours, &DecodingKey::from_secret(SECRET), &v).expect_err("expired");
    assert_eq!(err.kind(), &ErrorKind::ExpiredSignature);
    let theirs = encode(
        &Header::new(Algorithm::HS256),
        &expired,
        &EncodingKey::from_secret(SECRET),
    )
    .expect("signs");
    let mut scratch = scratch_for(&theirs);
    assert_eq!(
        verify(
            &theirs,
            &key,
            &rotor_validation().leeway(0),
            now,
            &mut scratch
        )
        .map(|_| ()),
        Err(Error::Expired)
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Arbitrary Unicode in string claims survives both directions unchanged.
    #[test]
    fn arbitrary_strings_interoperate(
        sub in "\\PC{0,16}",
        name in any::<String>().prop_filter("fits in 256 bytes", |s| s.len() <= 256),
        n in any::<u64>(),
    ) {
        let now = get_current_timestamp();
        let mut claims = std_claims(now, &sub, &name);
        claims.n = n;
        jsonwebtoken_to_rotor(&claims, now);
        rotor_to_jsonwebtoken(&claims, &test_key());
    }
}
