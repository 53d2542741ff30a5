//! Round-trips with varied claims, read back through `verify` and `verify_with` and compared
//! with `serde_json`'s reading of the same payload.

use heapless::{String as HString, Vec as HVec};
use rotor_core::{inspect, sign, verify, verify_with, Error, Validation};
use rotor_tests::{forge, scratch_for, test_key};
use serde::{Deserialize, Serialize};

const NOW: u64 = 1_700_000_000;
const EXP: u64 = NOW + 600;
const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// What the tests sign.
#[derive(Serialize)]
struct Outgoing<'a> {
    sub: &'a str,
    exp: u64,
    name: &'a str,
    big: u64,
    neg: i64,
    admin: bool,
    tags: &'a [&'a str],
}

/// Reads the private claims into fixed-capacity owned strings: every escape is decoded.
#[derive(Debug, Deserialize, PartialEq)]
struct Owned {
    sub: HString<64>,
    name: HString<96>,
    big: u64,
    neg: i64,
    admin: bool,
    tags: HVec<HString<32>, 4>,
}

/// Reads the same claims borrowed from the scratch buffer.
#[derive(Debug, Deserialize, PartialEq)]
struct Borrowed<'a> {
    sub: &'a str,
    name: &'a str,
    big: u64,
    neg: i64,
    admin: bool,
}

fn signed(name: &str, big: u64, neg: i64) -> String {
    let claims = Outgoing {
        sub: "user-42",
        exp: EXP,
        name,
        big,
        neg,
        admin: true,
        tags: &["a", "b\"c"],
    };
    let mut buf = [0u8; 1024];
    sign(&test_key(), &claims, &mut buf)
        .expect("claims fit")
        .to_owned()
}

/// The decoded payload of a token, as `serde_json` sees it.
fn payload_text(token: &str) -> String {
    let segment = token.split('.').nth(1).expect("three segments");
    String::from_utf8(rotor_tests::unb64(segment)).expect("utf-8 payload")
}

#[test]
fn signed_claims_round_trip_like_serde_json() {
    let names = [
        "Ada Lovelace",
        "",
        r#"say "hi""#,
        r"C:\path\to\file",
        r#"\"#,
        "a/b </script>",
        "Zoë, 東京, Ελληνικά, 😀🦀",
        "\u{1}\u{1f}\t\n\r\u{8}\u{c}",
        "del \u{7f}, line sep \u{2028}, bom \u{feff}",
        r#"mixed \"already escaped\" \u0041 text"#,
    ];
    let ints = [
        (0, 0),
        (u64::MAX, i64::MIN),
        (9_007_199_254_740_993, i64::MAX), // 2^53 + 1: not exact as an f64
        (1, -1),
    ];
    let key = test_key();
    for name in names {
        for (big, neg) in ints {
            let token = signed(name, big, neg);
            let payload = payload_text(&token);
            let reference: Owned = serde_json::from_str(&payload).expect("serde_json reads it");
            assert_eq!(
                reference.name.as_str(),
                name,
                "serde_json sees the signed text"
            );

            let mut scratch = scratch_for(&token);
            let ok = verify_with::<Owned, _>(&token, &key, &Validation::new(), NOW, &mut scratch)
                .unwrap_or_else(|e| panic!("{name:?}: {e}"));
            assert_eq!(ok.custom, reference, "payload {payload}");
            assert_eq!(ok.claims.sub, Some("user-42"));
            assert_eq!(ok.claims.exp, Some(EXP));
            assert_eq!(ok.custom.tags[1].as_str(), "b\"c");

            // Borrowing works exactly when the decoded text needs no escape in JSON; serde_json
            // is stricter still (it cannot borrow any escaped string), so compare on values.
            let mut scratch = scratch_for(&token);
            let borrowed =
                verify_with::<Borrowed, _>(&token, &key, &Validation::new(), NOW, &mut scratch);
            let needs_escape = name.chars().any(|c| c == '"' || c == '\\' || c < ' ');
            match borrowed {
                Ok(v) => {
                    assert!(!needs_escape, "{name:?} borrowed");
                    assert_eq!(v.custom.name, reference.name.as_str());
                    assert_eq!(v.custom.sub, reference.sub.as_str());
                    assert_eq!((v.custom.big, v.custom.neg), (big, neg));
                    assert!(v.custom.admin);
                }
                Err(e) => {
                    assert!(needs_escape, "{name:?}: {e}");
                    assert_eq!(e, Error::InvalidClaims);
                }
            }
        }
    }
}

#[test]
fn escapes_the_signer_never_writes_decode_like_serde_json() {
    // Raw payloads as another signer could write them: `\/`, `\uXXXX` in either case,
    // surrogate pairs, escaped member names, and whitespace between tokens.
    let payloads = [
        r#"{"sub":"a\/b","name":"\u00e9t\u00C9","big":1,"neg":-1,"admin":false,"tags":[],"exp":EXP}"#,
        r#"{"sub":"\ud83d\ude00","name":"\uD83E\uDD80 crab","big":2,"neg":-2,"admin":true,"tags":["\u0041"],"exp":EXP}"#,
        r#"{"s\u0075b":"x","n\u0061me":"\u4e1c\u4eac","big":3,"neg":-3,"admin":true,"tags":[],"exp":EXP}"#,
        r#"{"sub":"q\"q","name":"\\\/\b\f\n\r\t\u0000\u001F","big":4,"neg":-4,"admin":true,"tags":["\"","\\"],"exp":EXP}"#,
        "{ \"sub\" :\t\"ws\" ,\r\n \"name\" : \"\" , \"big\" : 5 , \"neg\" : -5 , \"admin\" : true , \"tags\" : [ ] , \"exp\" : EXP }",
    ];
    let key = test_key();
    for raw in payloads {
        let payload = raw.replace("EXP", &EXP.to_string());
        let token = forge(&key, HEADER, &payload);
        let reference: Owned = serde_json::from_str(&payload).expect("serde_json reads it");
        let want_sub: serde_json::Value = serde_json::from_str(&payload).expect("json");
        let want_sub = want_sub["sub"]
            .as_str()
            .expect("sub is a string")
            .to_owned();

        let mut scratch = scratch_for(&token);
        let ok = verify(&token, &key, &Validation::new(), NOW, &mut scratch)
            .unwrap_or_else(|e| panic!("{payload}: {e}"));
        assert_eq!(ok.claims.sub, Some(want_sub.as_str()), "{payload}");

        let mut scratch = scratch_for(&token);
        let ok = verify_with::<Owned, _>(&token, &key, &Validation::new(), NOW, &mut scratch)
            .unwrap_or_else(|e| panic!("{payload}: {e}"));
        assert_eq!(ok.custom, reference, "{payload}");
    }
}

#[test]
fn registered_string_claims_decode_like_serde_json() {
    let key = test_key();
    let values = [
        r#""plain""#,
        r#""a\"b""#,
        r#""back\\slash""#,
        r#""\/\u00e9\ud83d\ude00""#,
        r#""ctl\u0001\n""#,
        r#""\u0022\u005C""#,
        r#""""#,
    ];
    for v in values {
        let payload = format!(r#"{{"iss":{v},"sub":{v},"jti":{v},"exp":{EXP}}}"#);
        let want: serde_json::Value = serde_json::from_str(&payload).expect("json");
        let want = want["iss"].as_str().expect("string").to_owned();
        let token = forge(&key, HEADER, &payload);
        let mut scratch = scratch_for(&token);
        let ok = verify(
            &token,
            &key,
            &Validation::new().issuer(&want).subject(&want),
            NOW,
            &mut scratch,
        )
        .unwrap_or_else(|e| panic!("{payload}: {e}"));
        assert_eq!(ok.claims.iss, Some(want.as_str()), "{payload}");
        assert_eq!(ok.claims.sub, Some(want.as_str()), "{payload}");
        assert_eq!(ok.claims.jti, Some(want.as_str()), "{payload}");
    }
}

#[test]
fn unknown_claims_of_any_shape_are_skipped() {
    #[derive(Debug, Deserialize, PartialEq)]
    struct Just<'a> {
        sub: &'a str,
        n: u64,
    }
    let key = test_key();
    let unknown = [
        r#""obj":{"a":[1,{"b":"\"}]"}],"c":null,"d":{"e":{"f":{}}}}"#,
        r#""arr":[[[]],[{}],["x",-1.5e-3,true,false,null]]"#,
        r#""num":-123456789012345678901234567890.5E+300"#,
        r#""str":"with \"quotes\", \\ and }] and \u00e9 and \ud83d\ude00""#,
        r#""t":true,"f":false,"z":null"#,
        // Registered names nested inside unknown claims are not registered claims.
        r#""nested":{"exp":1,"sub":"evil","iss":"evil","aud":"evil"}"#,
        r#""http://example.com/is_root":true"#,
    ];
    for extra in unknown {
        for position in ["before", "after"] {
            let payload = if position == "before" {
                format!(r#"{{{extra},"sub":"s","n":7,"exp":{EXP}}}"#)
            } else {
                format!(r#"{{"sub":"s","n":7,"exp":{EXP},{extra}}}"#)
            };
            let reference: Just = serde_json::from_str(&payload).expect("serde_json skips it");
            let token = forge(&key, HEADER, &payload);
            let mut scratch = scratch_for(&token);
            let ok = verify_with::<Just, _>(&token, &key, &Validation::new(), NOW, &mut scratch)
                .unwrap_or_else(|e| panic!("{payload}: {e}"));
            assert_eq!(ok.custom, reference, "{payload}");
            assert_eq!(ok.claims.sub, Some("s"), "{payload}");
            assert_eq!(ok.claims.exp, Some(EXP), "{payload}");
            assert_eq!(ok.claims.iss, None, "{payload}");
            assert_eq!(ok.claims.aud, None, "{payload}");
        }
    }

    // A nested `exp` does not satisfy a required top-level `exp`.
    let token = forge(&key, HEADER, r#"{"sub":"s","n":1,"x":{"exp":9999999999}}"#);
    let mut scratch = scratch_for(&token);
    assert_eq!(
        verify(&token, &key, &Validation::new(), NOW, &mut scratch).map(|_| ()),
        Err(Error::MissingClaim)
    );
}

#[test]
fn numbers_out_of_range_for_the_callers_type_are_refused_like_serde_json() {
    #[derive(Debug, Deserialize, PartialEq)]
    struct Nums {
        u: u64,
        i: i64,
        f: f64,
    }
    let key = test_key();
    // (u, i, f, expected to be accepted)
    let table: &[(&str, &str, &str, bool)] = &[
        ("18446744073709551615", "-9223372036854775808", "0.1", true),
        ("0", "9223372036854775807", "1e300", true),
        ("12", "-7", "-2.5e-8", true),
        ("18446744073709551616", "0", "0", false),
        ("0", "-9223372036854775809", "0", false),
        ("0", "9223372036854775808", "0", false),
        ("-1", "0", "0", false),
        ("1.5", "0", "0", false),
        ("\"1\"", "0", "0", false),
        ("null", "0", "0", false),
    ];
    for &(u, i, f, accepted) in table {
        let payload = format!(r#"{{"u":{u},"i":{i},"f":{f},"exp":{EXP}}}"#);
        let reference = serde_json::from_str::<Nums>(&payload);
        assert_eq!(reference.is_ok(), accepted, "serde_json on {payload}");
        let token = forge(&key, HEADER, &payload);
        let mut scratch = scratch_for(&token);
        let got = verify_with::<Nums, _>(&token, &key, &Validation::new(), NOW, &mut scratch);
        match (got, reference) {
            (Ok(v), Ok(r)) => assert_eq!(v.custom, r, "{payload}"),
            (Err(e), Err(_)) => assert_eq!(e, Error::InvalidClaims, "{payload}"),
            (got, reference) => panic!("{payload}: rotor {got:?}, serde_json {reference:?}"),
        }
    }
}

#[test]
fn owned_strings_too_long_for_their_capacity_are_refused() {
    #[derive(Debug, Deserialize)]
    struct Tiny {
        #[allow(dead_code)]
        name: HString<4>,
    }
    let key = test_key();
    for (name, fits) in [
        ("abcd", true),
        ("abcde", false),
        ("\\u00e9\\u00e9", true),
        ("\\\"\\\"\\\"\\\"\\\"", false),
    ] {
        let payload = format!(r#"{{"name":"{name}","exp":{EXP}}}"#);
        let reference = serde_json::from_str::<Tiny>(&payload);
        assert_eq!(reference.is_ok(), fits, "serde_json on {payload}");
        let token = forge(&key, HEADER, &payload);
        let mut scratch = scratch_for(&token);
        let got =
            verify_with::<Tiny, _>(&token, &key, &Validation::new(), NOW, &mut scratch).map(|_| ());
        let want = if fits {
            Ok(())
        } else {
            Err(Error::InvalidClaims)
        };
        assert_eq!(got, want, "{payload}");
    }
}

#[test]
fn inspect_shows_canonical_text() {
    let key = test_key();
    let token = forge(
        &key,
        "{ \"typ\" : \"JWT\" ,\r\n \"alg\" : \"HS256\" }",
        r#"{ "sub" : "\u00e9\/\"" , "exp" : 1 }"#,
    );
    let mut scratch = scratch_for(&token);
    let seen = inspect(&token, &mut scratch).expect("well-formed");
    assert_eq!(seen.header, r#"{"typ":"JWT","alg":"HS256"}"#);
    assert_eq!(seen.payload, r#"{"sub":"é/\"","exp":1}"#);
    // Canonical text means the same to serde_json as the original.
    let a: serde_json::Value = serde_json::from_str(seen.payload).expect("json");
    let b: serde_json::Value =
        serde_json::from_str(r#"{ "sub" : "\u00e9\/\"" , "exp" : 1 }"#).expect("json");
    assert_eq!(a, b);
    // More than three segments is malformed here too, whichever dot is extra.
    let (head, sig) = token.rsplit_once('.').expect("three segments");
    let (_, payload) = head.split_once('.').expect("three segments");
    for bad in [
        format!("{token}.{sig}"),
        format!("{head}.{payload}.{sig}"),
        format!("{head}..{sig}"),
    ] {
        assert_eq!(
            inspect(&bad, &mut scratch).map(|_| ()),
            Err(Error::Malformed),
            "{bad}"
        );
    }
}

#[test]
fn payloads_larger_than_64_kib_are_read_in_full() {
    let key = test_key();
    let v = Validation::new().max_token_len(usize::MAX).issuer("far");
    let pad = "p".repeat(70_000);
    // Registered claims after 64 KiB of text, and a duplicate that far in.
    let ok = format!(r#"{{"pad":"{pad}","iss":"far","exp":{EXP}}}"#);
    let dup = format!(r#"{{"exp":{EXP},"pad":"{pad}","iss":"far","exp":{EXP}}}"#);
    let token = forge(&key, HEADER, &ok);
    let mut scratch = scratch_for(&token);
    let got = verify(&token, &key, &v, NOW, &mut scratch).map(|ok| (ok.claims.iss, ok.claims.exp));
    assert_eq!(got, Ok((Some("far"), Some(EXP))));
    let token = forge(&key, HEADER, &dup);
    let mut scratch = scratch_for(&token);
    assert_eq!(
        verify(&token, &key, &v, NOW, &mut scratch).map(|_| ()),
        Err(Error::DuplicateMember)
    );
    // Many members, none repeated, registered claims last.
    let many: Vec<String> = (0..200).map(|i| format!(r#""m{i}":{i}"#)).collect();
    let payload = format!(r#"{{{},"iss":"far","exp":{EXP}}}"#, many.join(","));
    let token = forge(&key, HEADER, &payload);
    let mut scratch = scratch_for(&token);
    let got = verify(&token, &key, &v, NOW, &mut scratch).map(|ok| (ok.claims.iss, ok.claims.exp));
    assert_eq!(got, Ok((Some("far"), Some(EXP))));
}

#[test]
fn char_claims_sign_as_one_character_strings() {
    #[derive(Serialize)]
    struct WithChars {
        exp: u64,
        chars: [char; 6],
    }
    #[derive(Debug, Deserialize, PartialEq)]
    struct Back {
        chars: [HString<4>; 6],
    }
    let chars = ['a', '"', '\\', '\n', '\u{1}', '😀'];
    let mut buf = [0u8; 256];
    let token = sign(&test_key(), &WithChars { exp: EXP, chars }, &mut buf)
        .expect("char claims sign")
        .to_owned();
    let payload = payload_text(&token);
    let reference: Vec<char> = serde_json::from_str::<serde_json::Value>(&payload).expect("json")
        ["chars"]
        .as_array()
        .expect("array")
        .iter()
        .map(|c| c.as_str().expect("string").parse().expect("one char"))
        .collect();
    assert_eq!(reference, chars);
    let mut scratch = scratch_for(&token);
    let ok = verify_with::<Back, _>(&token, &test_key(), &Validation::new(), NOW, &mut scratch)
        .expect("verifies");
    for (got, want) in ok.custom.chars.iter().zip(chars) {
        assert_eq!(got.as_str(), want.to_string());
    }
}

#[test]
fn every_claims_type_signs_as_serde_json_writes_it_or_fails_cleanly() {
    use std::collections::BTreeMap;
    #[derive(Serialize)]
    enum Shape {
        Tuple(u8, &'static str),
    }
    #[derive(Serialize)]
    #[serde(tag = "type")]
    enum Tagged {
        Number(u32),
    }
    #[derive(Serialize)]
    struct Rich {
        exp: u64,
        shape: Shape,
        scores: BTreeMap<u16, bool>,
        small: u128,
        wide: i128,
    }
    let key = test_key();
    let rich = Rich {
        exp: EXP,
        shape: Shape::Tuple(7, "seven"),
        scores: [(1, true), (65535, false)].into_iter().collect(),
        small: u128::from(u64::MAX),
        wide: -5,
    };
    let mut buf = [0u8; 512];
    let token = sign(&key, &rich, &mut buf).expect("signs").to_owned();
    let payload = payload_text(&token);
    let ours: serde_json::Value = serde_json::from_str(&payload).expect("the payload is JSON");
    assert_eq!(
        ours,
        serde_json::to_value(&rich).expect("serde_json writes it")
    );
    let mut scratch = scratch_for(&token);
    assert!(verify(&token, &key, &Validation::new(), NOW, &mut scratch).is_ok());

    // Values with no JSON form here are errors, never panics or unverifiable tokens.
    let mut buf = [0u8; 512];
    let bool_keys: BTreeMap<bool, u8> = [(true, 1)].into_iter().collect();
    assert_eq!(
        sign(&key, &bool_keys, &mut buf).map(str::len),
        Err(Error::InvalidClaims)
    );
    assert_eq!(
        sign(&key, &Tagged::Number(1), &mut buf).map(str::len),
        Err(Error::InvalidClaims)
    );
    assert_eq!(
        sign(&key, &[u128::MAX], &mut buf).map(str::len),
        Err(Error::InvalidClaims)
    );
}
