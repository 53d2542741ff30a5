//! Property tests: sign→verify round-trips for arbitrary claims, and no single-byte or
//! single-bit change to a valid token verifies.

use heapless::{String as HString, Vec as HVec};
use proptest::prelude::*;
use proptest::sample::Index;
use rotor_core::{inspect, sign, verify, verify_with, Claims, Error, Key, Validation};
use rotor_tests::{scratch_for, test_key, SECRET};
use serde::{Deserialize, Serialize};

const NOW: u64 = 1_700_000_000;

/// Private and registered claims with arbitrary content.
#[derive(Clone, Debug, Serialize)]
struct Arb {
    sub: String,
    name: String,
    n: u64,
    i: i64,
    flag: bool,
    tags: Vec<String>,
    exp: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    nbf: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iat: Option<u64>,
}

/// The same claims read back without a heap.
#[derive(Debug, Deserialize)]
struct Back {
    sub: HString<128>,
    name: HString<256>,
    n: u64,
    i: i64,
    flag: bool,
    tags: HVec<HString<64>, 4>,
}

/// Any characters at all, controls, quotes, backslashes and astral planes included.
fn text(max_chars: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..=max_chars).prop_map(String::from_iter)
}

fn arb() -> impl Strategy<Value = Arb> {
    (
        (
            text(32),
            text(64),
            any::<u64>(),
            any::<i64>(),
            any::<bool>(),
        ),
        prop::collection::vec(text(16), 0..=4),
        // NumericDates are read as non-negative `i64` seconds.
        (NOW + 1)..=i64::MAX.unsigned_abs(),
        prop::option::of(0..=NOW),
        prop::option::of(0..=NOW),
    )
        .prop_map(|((sub, name, n, i, flag), tags, exp, nbf, iat)| Arb {
            sub,
            name,
            n,
            i,
            flag,
            tags,
            exp,
            nbf,
            iat,
        })
}

fn signed(key: &Key, claims: &Arb) -> String {
    let mut buf = vec![0u8; 2048];
    sign(key, claims, &mut buf)
        .expect("arbitrary claims fit in 2 KiB")
        .to_owned()
}

/// Replaces the byte at `at` (all token bytes are ASCII) with `with`.
fn replaced(token: &str, at: usize, with: &str) -> String {
    format!("{}{with}{}", &token[..at], &token[at + 1..])
}

/// A byte offset inside segment `seg` (0 header, 1 payload, 2 signature) of `token`.
fn offset_in(token: &str, seg: usize, pick: Index) -> usize {
    let mut start = 0;
    for (i, part) in token.split('.').enumerate() {
        if i == seg {
            return start + pick.index(part.len());
        }
        start += part.len() + 1;
    }
    unreachable!("tokens have three segments")
}

/// What a change in segment `seg` may fail with: the header is parsed before the MAC, so any
/// header error is fair; a change elsewhere must fail the MAC or the structure (a new `.`).
fn acceptable(seg: usize, err: Error) -> bool {
    seg == 0 || matches!(err, Error::BadSignature | Error::Malformed)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn sign_verify_round_trip(claims in arb()) {
        let key = test_key();
        let token = signed(&key, &claims);
        prop_assert_eq!(&signed(&key, &claims), &token, "signing is deterministic");

        let mut scratch = scratch_for(&token);
        let ok = verify_with::<Back, _>(&token, &key, &Validation::new().leeway(0), NOW, &mut scratch)
            .map_err(|e| TestCaseError::fail(format!("{e}: {token}")))?;
        prop_assert_eq!(ok.claims.sub, Some(claims.sub.as_str()));
        prop_assert_eq!(ok.claims.exp, Some(claims.exp));
        prop_assert_eq!(ok.claims.nbf, claims.nbf);
        prop_assert_eq!(ok.claims.iat, claims.iat);
        prop_assert_eq!(ok.custom.sub.as_str(), claims.sub.as_str());
        prop_assert_eq!(ok.custom.name.as_str(), claims.name.as_str());
        prop_assert_eq!((ok.custom.n, ok.custom.i, ok.custom.flag), (claims.n, claims.i, claims.flag));
        let tags: Vec<&str> = ok.custom.tags.iter().map(HString::as_str).collect();
        prop_assert_eq!(tags, claims.tags.iter().map(String::as_str).collect::<Vec<_>>());

        // serde_json reads the signed payload, and its canonical form, as the original claims.
        let want = serde_json::to_value(&claims).expect("serialisable");
        let mut scratch = scratch_for(&token);
        let seen = inspect(&token, &mut scratch).expect("well-formed");
        prop_assert_eq!(serde_json::from_str::<serde_json::Value>(seen.payload).expect("json"), want);
    }

    #[test]
    fn registered_claims_round_trip(
        iss in text(16), sub in text(16), aud in text(16), jti in text(16),
        exp in // NumericDates are read as non-negative `i64` seconds.
        (NOW + 1)..=i64::MAX.unsigned_abs(), nbf in 0..=NOW, iat in 0..=NOW,
    ) {
        let key = Key::with_kid(SECRET, "kid-1").expect("key");
        let claims = Claims {
            iss: Some(&iss), sub: Some(&sub), aud: Some(&aud), jti: Some(&jti),
            exp: Some(exp), nbf: Some(nbf), iat: Some(iat),
        };
        let mut buf = vec![0u8; 1024];
        let token = sign(&key, &claims, &mut buf).expect("fits");
        let v = Validation::new().issuer(&iss).subject(&sub).audience(&aud).leeway(0);
        let mut scratch = scratch_for(token);
        let ok = verify(token, &key, &v, NOW, &mut scratch)
            .map_err(|e| TestCaseError::fail(format!("{e}: {token}")))?;
        prop_assert_eq!(ok.claims.iss, claims.iss);
        prop_assert_eq!(ok.claims.sub, claims.sub);
        prop_assert_eq!(ok.claims.jti, claims.jti);
        prop_assert_eq!((ok.claims.exp, ok.claims.nbf, ok.claims.iat), (claims.exp, claims.nbf, claims.iat));
        let aud_json = ok.claims.aud.expect("aud").as_json();
        prop_assert_eq!(serde_json::from_str::<String>(aud_json).expect("json string"), aud);
    }

    #[test]
    fn any_single_bit_flip_is_rejected(claims in arb(), seg in 0usize..3, pick in any::<Index>(), bit in 0u8..7) {
        // Bit 7 would make a non-ASCII byte that is not UTF-8 on its own: no `&str` can hold it.
        let key = test_key();
        let token = signed(&key, &claims);
        let at = offset_in(&token, seg, pick);
        let flipped = char::from(token.as_bytes()[at] ^ (1 << bit));
        let bad = replaced(&token, at, &flipped.to_string());
        let mut scratch = scratch_for(&bad);
        match verify(&bad, &key, &Validation::new(), NOW, &mut scratch) {
            Ok(_) => prop_assert!(false, "bit {} of byte {} flipped still verifies: {}", bit, at, bad),
            Err(e) => prop_assert!(acceptable(seg, e), "segment {}: {:?} for {}", seg, e, bad),
        }
    }

    #[test]
    fn any_single_byte_replacement_is_rejected(claims in arb(), seg in 0usize..3, pick in any::<Index>(), with in any::<char>()) {
        let key = test_key();
        let token = signed(&key, &claims);
        let at = offset_in(&token, seg, pick);
        prop_assume!(u32::from(with) != u32::from(token.as_bytes()[at]));
        let bad = replaced(&token, at, &with.to_string());
        let mut scratch = scratch_for(&bad);
        match verify(&bad, &key, &Validation::new(), NOW, &mut scratch) {
            Ok(_) => prop_assert!(false, "byte {} replaced by {:?} still verifies: {}", at, with, bad),
            Err(e) => prop_assert!(acceptable(seg, e), "segment {}: {:?} for {}", seg, e, bad),
        }
    }

    #[test]
    fn any_single_byte_removal_or_insertion_is_rejected(claims in arb(), seg in 0usize..3, pick in any::<Index>(), with in any::<char>()) {
        let key = test_key();
        let token = signed(&key, &claims);
        let at = offset_in(&token, seg, pick);
        let removed = replaced(&token, at, "");
        let inserted = format!("{}{with}{}", &token[..at], &token[at..]);
        for bad in [removed, inserted] {
            let mut scratch = scratch_for(&bad);
            match verify(&bad, &key, &Validation::new(), NOW, &mut scratch) {
                Ok(_) => prop_assert!(false, "changed token still verifies: {}", bad),
                Err(e) => prop_assert!(acceptable(seg, e), "segment {}: {:?} for {}", seg, e, bad),
            }
        }
    }
}

/// Any JSON value, nested a few levels, for claims the verifier must skip.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        text(8).prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(text(4), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// One top-level member: a name (perhaps spelled with escapes) and its raw JSON value.
#[derive(Clone, Debug)]
struct Member {
    name: String,
    escaped_name: bool,
    value: String,
}

fn member() -> impl Strategy<Value = Member> {
    let registered = ["exp", "nbf", "iat", "iss", "sub", "jti", "aud"];
    let names = prop::sample::select(
        registered
            .iter()
            .map(|s| (*s).to_owned())
            .chain((0..40).map(|i| format!("m{i}")))
            .collect::<Vec<_>>(),
    );
    (
        names,
        any::<bool>(),
        json_value(),
        text(12),
        // NumericDates are read as non-negative `i64` seconds.
        (NOW + 1)..=i64::MAX.unsigned_abs(),
        0..=NOW,
    )
        .prop_map(|(name, escaped_name, any_value, s, future, past)| {
            // Registered claims get values of their type, so the outcome depends on structure.
            let value = match name.as_str() {
                "exp" => future.to_string(),
                "nbf" | "iat" => past.to_string(),
                "iss" | "sub" | "jti" => serde_json::to_string(&s).expect("string"),
                "aud" => serde_json::to_string(&[s]).expect("array"),
                _ => serde_json::to_string(&any_value).expect("value"),
            };
            Member {
                name,
                escaped_name,
                value,
            }
        })
}

fn object_text(members: &[Member]) -> String {
    let body: Vec<String> = members
        .iter()
        .map(|m| {
            let name = if m.escaped_name {
                // Every character as \uXXXX: the same name once decoded (RFC 8259 §7).
                m.name
                    .chars()
                    .map(|c| format!("\\u{:04x}", u32::from(c)))
                    .collect()
            } else {
                m.name.clone()
            };
            format!("\"{name}\" : {}", m.value)
        })
        .collect();
    format!("{{ {} }}", body.join(" , "))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Objects of 0 to 40 top-level members (around and past any fixed-size member index):
    /// duplicates are found after decoding escapes, registered claims read as serde_json reads
    /// them, and everything else is skipped.
    #[test]
    fn claims_objects_of_any_size_match_serde_json(
        mut members in prop::collection::vec(member(), 0..40),
        unique in any::<bool>(),
    ) {
        if unique {
            let mut seen = std::collections::HashSet::new();
            members.retain(|m| seen.insert(m.name.clone()));
        }
        let key = test_key();
        let payload = object_text(&members);
        let token = rotor_tests::forge(&key, r#"{"alg":"HS256"}"#, &payload);
        let mut seen = std::collections::HashSet::new();
        let duplicate = members.iter().any(|m| !seen.insert(m.name.as_str()));
        // serde_json keeps the last of duplicate members; rotor-core refuses them (RFC 7519 §4).
        let reference: serde_json::Value = serde_json::from_str(&payload).expect("valid JSON");
        let aud = reference.get("aud").map(|a| a[0].as_str().expect("string").to_owned());
        let mut v = Validation::new().leeway(0).max_token_len(usize::MAX).require_exp(false);
        if let Some(aud) = &aud {
            v = v.audience(aud);
        }
        let mut scratch = scratch_for(&token);
        let got = verify(&token, &key, &v, NOW, &mut scratch);
        if duplicate {
            prop_assert_eq!(got.map(|_| ()), Err(Error::DuplicateMember), "{}", payload);
            return Ok(());
        }
        let got = got.map_err(|e| TestCaseError::fail(format!("{e}: {payload}")))?;
        prop_assert_eq!(got.claims.aud.is_some(), aud.is_some());
        let s = |name: &str| reference.get(name).map(|v| v.as_str().expect("string").to_owned());
        let n = |name: &str| reference.get(name).map(|v| v.as_u64().expect("u64"));
        prop_assert_eq!(got.claims.iss.map(str::to_owned), s("iss"));
        prop_assert_eq!(got.claims.sub.map(str::to_owned), s("sub"));
        prop_assert_eq!(got.claims.jti.map(str::to_owned), s("jti"));
        prop_assert_eq!(got.claims.exp, n("exp"));
        prop_assert_eq!(got.claims.nbf, n("nbf"));
        prop_assert_eq!(got.claims.iat, n("iat"));
    }
}
