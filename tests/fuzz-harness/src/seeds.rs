//! The hand-made seed corpora under `fuzz/corpus/<target>/`, as data.
//!
//! `cargo run -p rotor-fuzz-harness --bin make-seeds` writes them (keeping the `found-*` files,
//! which are inputs picked from a fuzzing run's merged corpus), and the `seeds` test checks that
//! the committed files are exactly what [`all`] gives. Tokens are signed with the fixed secrets
//! of [`common`], so the valid ones reach the claims checks.

use std::fs;
use std::io;
use std::path::Path;

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine as _;

use crate::common::{self, b64, forge, other_key};

/// One seed file: `fuzz/corpus/<target>/<name>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seed {
    /// Fuzz target (corpus directory).
    pub target: &'static str,
    /// File name.
    pub name: String,
    /// File contents.
    pub data: Vec<u8>,
}

/// Seeds whose names start with this are picked from fuzzing runs and kept as they are.
pub const FOUND_PREFIX: &str = "found-";

/// RFC 7515 Appendix A.1: the HS256 example, verbatim (its own key, so our verifier refuses it).
pub const RFC7515_A1: &str = concat!(
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9",
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ",
    ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
);
const RFC7515_A1_HEADER: &[u8] = b"{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}";
const RFC7515_A1_PAYLOAD: &[u8] =
    b"{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";

const H: &[u8] = br#"{"alg":"HS256","typ":"JWT"}"#;
/// Claims valid until 2100-01-01 under the strict differential policy.
const GOOD: &[u8] =
    br#"{"iss":"auth.example","aud":"api","sub":"42","exp":4102444800,"iat":1700000000}"#;

/// `(name, header JSON, payload JSON)`: each becomes a signed token for several targets.
fn json_cases() -> Vec<(&'static str, Vec<u8>, Vec<u8>)> {
    let far = br#"{"exp":4102444800}"#;
    let fixed: &[(&str, &[u8], &[u8])] = &[
        ("valid-strict", H, GOOD),
        ("valid-minimal", br#"{"alg":"HS256"}"#, br#"{"sub":"42"}"#),
        ("valid-empty-claims", H, b"{}"),
        ("rfc7515-a1-resigned", RFC7515_A1_HEADER, RFC7515_A1_PAYLOAD),
        (
            "aud-array",
            H,
            br#"{"aud":["x","api"],"exp":4102444800,"iss":"auth.example"}"#,
        ),
        (
            "escapes",
            br#"{"alg":"HS\u0032\u0035\u0036","typ":"jwt"}"#,
            br#"{"iss":"\u0061uth.example","sub":"\"\\\n\u0001\ud83d\ude00","aud":"api","exp":4102444800}"#,
        ),
        (
            "whitespace",
            b" {\t\"alg\" : \"HS256\" }\r\n",
            br#"{ "exp" : 4102444800 , "n" : [ 1 , 2 ] }"#,
        ),
        ("typ-at-jwt", br#"{"alg":"HS256","typ":"at+jwt"}"#, far),
        ("typ-other", br#"{"alg":"HS256","typ":"JWS"}"#, far),
        ("kid-unknown", br#"{"alg":"HS256","kid":"nope"}"#, far),
        ("alg-none", br#"{"alg":"none"}"#, br#"{"sub":"admin"}"#),
        ("alg-lowercase", br#"{"alg":"hs256"}"#, br#"{"sub":"admin"}"#),
        ("alg-hs512", br#"{"alg":"HS512"}"#, br#"{"sub":"admin"}"#),
        ("alg-rs256", br#"{"alg":"RS256"}"#, br#"{"sub":"admin"}"#),
        ("alg-array", br#"{"alg":["HS256"]}"#, br#"{"sub":"admin"}"#),
        ("crit", br#"{"alg":"HS256","crit":["exp"]}"#, far),
        ("b64-false", br#"{"alg":"HS256","b64":false}"#, far),
        (
            "jwk-embedded",
            br#"{"alg":"HS256","jwk":{"kty":"oct","k":"AAAA"}}"#,
            far,
        ),
        ("cty-number", br#"{"alg":"HS256","cty":1}"#, far),
        // RFC 7516 §9: `enc` marks a JWE; `zip` is a JWE-only parameter (RFC 7516 §4.1.3).
        ("jwe-enc", br#"{"alg":"HS256","enc":"A256GCM"}"#, far),
        ("jwe-zip", br#"{"alg":"HS256","zip":"DEF"}"#, far),
        ("jwe-dir", br#"{"alg":"dir","enc":"A128CBC-HS256"}"#, far),
        ("dup-alg", br#"{"alg":"HS256","alg":"none"}"#, far),
        ("dup-exp", H, br#"{"exp":4102444800,"exp":1}"#),
        ("dup-escaped", H, br#"{"sub":"a","s\u0075b":"b"}"#),
        ("exp-float", H, br#"{"exp":4102444800.5}"#),
        ("exp-exponent", H, br#"{"exp":4.1e9}"#),
        ("exp-negative", H, br#"{"exp":-1}"#),
        ("exp-string", H, br#"{"exp":"4102444800"}"#),
        ("exp-null", H, br#"{"exp":null}"#),
        // RFC 7519 §2 NumericDate: accepted up to i64::MAX, refused from 2^63 on.
        ("exp-i64-max", H, br#"{"exp":9223372036854775807}"#),
        ("exp-2-pow-63", H, br#"{"exp":9223372036854775808}"#),
        ("exp-u64-max", H, br#"{"exp":18446744073709551615}"#),
        ("exp-u64-overflow", H, br#"{"exp":18446744073709551616}"#),
        (
            "nbf-u64-max",
            H,
            br#"{"exp":4102444800,"nbf":18446744073709551615}"#,
        ),
        (
            "iat-2-pow-63",
            H,
            br#"{"exp":4102444800,"iat":9223372036854775808}"#,
        ),
        ("number-1e400", H, br#"{"exp":4102444800,"x":1e400}"#),
        ("iat-future", H, br#"{"exp":4102444800,"iat":4102444000}"#),
        ("nbf-future", H, br#"{"exp":4102444800,"nbf":4102444000}"#),
        ("iss-array", H, br#"{"exp":4102444800,"iss":["auth.example"]}"#),
        ("sub-number", H, br#"{"exp":4102444800,"sub":42}"#),
        ("aud-number", H, br#"{"exp":4102444800,"aud":1}"#),
        ("payload-array", H, b"[4102444800,0,null,null,null]"),
        ("dup-unknown", H, br#"{"x":1,"x":2}"#),
        ("lone-surrogate", H, br#"{"sub":"\ud800"}"#),
        ("invalid-utf8", H, b"{\"sub\":\"\xff\xfe\"}"),
        ("trailing-garbage", H, b"{\"exp\":4102444800}x"),
    ];
    let mut cases: Vec<_> = fixed
        .iter()
        .map(|&(n, h, p)| (n, h.to_vec(), p.to_vec()))
        .collect();
    let nested = |levels: usize| {
        let mut p = br#"{"a":"#.to_vec();
        p.extend(std::iter::repeat_n(b'[', levels));
        p.extend(std::iter::repeat_n(b']', levels));
        p.push(b'}');
        p
    };
    for (name, levels) in [("deep-64", 63), ("deep-65", 64), ("deep-100", 99)] {
        cases.push((name, H.to_vec(), nested(levels)));
    }
    let members = |extra: usize| {
        let names: Vec<String> = (0..extra).map(|i| format!(r#""{i}":0"#)).collect();
        format!(r#"{{"alg":"HS256",{}}}"#, names.join(",")).into_bytes()
    };
    for (name, extra) in [("header-32-members", 31), ("header-33-members", 32)] {
        cases.push((name, members(extra), far.to_vec()));
    }
    cases
}

/// Every hand-made seed, for every target.
///
/// # Panics
/// Never: the fixed secrets and key ids are valid.
#[must_use]
pub fn all() -> Vec<Seed> {
    let mut out = Vec::new();
    let mut add = |target: &'static str, name: &str, data: Vec<u8>| {
        out.push(Seed {
            target,
            name: name.to_owned(),
            data,
        });
    };
    let key = common::key();
    let cases = json_cases();
    let one_byte = |n: usize| u8::try_from(n).expect("header shorter than 256 bytes");

    // verify: raw tokens, including attack shapes that are not signed JSON.
    for (name, h, p) in &cases {
        add("verify", name, forge(&key, h, p));
    }
    add("verify", "rfc7515-a1", RFC7515_A1.as_bytes().to_vec());
    add(
        "verify",
        "kid-k2",
        forge(&key, br#"{"alg":"HS256","kid":"k2"}"#, GOOD),
    );
    add(
        "verify",
        "kid-k1-other-secret",
        forge(&other_key(), br#"{"alg":"HS256","kid":"k1"}"#, GOOD),
    );
    let good = forge(&key, H, GOOD);
    let good_text = String::from_utf8(good.clone()).expect("a token is ASCII");
    let mut it = good_text.split('.');
    let (hs, ps, ss) = (
        it.next().expect("header"),
        it.next().expect("payload"),
        it.next().expect("signature"),
    );
    add(
        "verify",
        "padded-segments",
        format!("{hs}==.{ps}.{ss}=").into_bytes(),
    );
    // The signature's last character with its unused low bits set: the same bytes, spelled
    // non-canonically (RFC 4648 §3.5).
    let (body, last) = ss.split_at(ss.len() - 1);
    let twins = "AEIMQUYcgkosw048";
    let twin = twins
        .find(last)
        .map_or(last.to_owned(), |i| "BFJNRVZdhlptx159"[i..=i].to_owned());
    add(
        "verify",
        "signature-noncanonical-tail",
        format!("{hs}.{ps}.{body}{twin}").into_bytes(),
    );
    add(
        "verify",
        "four-segments",
        format!("{good_text}.x").into_bytes(),
    );
    add(
        "verify",
        "empty-signature",
        format!("{hs}.{ps}.").into_bytes(),
    );
    add(
        "verify",
        "standard-base64",
        format!("{}.{ps}.{ss}", STANDARD_NO_PAD.encode(H)).into_bytes(),
    );
    // A JWE in compact form: five segments, the second (encrypted key) empty for `dir`.
    add(
        "verify",
        "jwe-compact",
        format!(
            "{}..{}.{}.{}",
            b64(br#"{"alg":"dir","enc":"A128GCM"}"#),
            b64([7u8; 12]),
            b64(br#"{"sub":"admin"}"#),
            b64([9u8; 16])
        )
        .into_bytes(),
    );

    // decode_parts: [mode, header length, header, payload]; even mode = JSON, odd = base64url.
    for (name, h, p) in &cases {
        if h.len() < 256 {
            add(
                "decode_parts",
                name,
                [&[0, one_byte(h.len())], &h[..], p].concat(),
            );
        }
    }
    let h64 = b64(H);
    for (name, hseg, pseg) in [
        ("b64-valid", h64.clone(), b64(GOOD)),
        ("b64-padded", format!("{h64}=="), b64(GOOD)),
        (
            "b64-standard-alphabet",
            STANDARD_NO_PAD.encode(br#"{"alg":"HS256","x":"??>"}"#),
            b64(b"{}"),
        ),
        (
            "b64-noncanonical-tail",
            format!("{}1", &h64[..h64.len() - 1]),
            b64(b"{}"),
        ),
        ("b64-one-char-tail", format!("{h64}A"), b64(b"{}")),
    ] {
        let data = [&[1, one_byte(hseg.len())], hseg.as_bytes(), pseg.as_bytes()].concat();
        add("decode_parts", name, data);
    }

    // differential: [mode, policy, ...]; even mode = [header length, header, payload] with
    // '@'+byte standing for now + (byte as i8); odd mode = a raw token.
    for (name, h, p) in &cases {
        if h.len() < 256 {
            add(
                "differential",
                name,
                [&[0, 0, one_byte(h.len())], &h[..], p].concat(),
            );
        }
    }
    for (name, p) in [
        ("exp-now-minus-31", &b"{\"exp\":@\xe1}"[..]),
        ("exp-now-minus-30", b"{\"exp\":@\xe2}"),
        ("exp-now-minus-29", b"{\"exp\":@\xe3}"),
        ("nbf-now-plus-30", b"{\"exp\":4102444800,\"nbf\":@\x1e}"),
        ("nbf-now-plus-31", b"{\"exp\":4102444800,\"nbf\":@\x1f}"),
        ("iat-now-plus-31", b"{\"exp\":4102444800,\"iat\":@\x1f}"),
        (
            "all-times-now",
            b"{\"exp\":@\x01,\"nbf\":@\x00,\"iat\":@\x00,\"sub\":\"42\"}",
        ),
    ] {
        add(
            "differential",
            name,
            [&[0, 0b0001, one_byte(H.len())], H, p].concat(),
        );
    }
    add(
        "differential",
        "raw-rfc7515-a1",
        [&[1, 0], RFC7515_A1.as_bytes()].concat(),
    );
    add(
        "differential",
        "raw-valid-strict-policy",
        [&[1, 0b1111], &good[..]].concat(),
    );
    add(
        "differential",
        "strict-policy-wrong-aud",
        [
            &[0, 0b1111, one_byte(H.len())],
            H,
            br#"{"iss":"auth.example","aud":["x"],"sub":"42","exp":4102444800}"#,
        ]
        .concat(),
    );

    // roundtrip and buffers: `arbitrary` reads these as claims (and for roundtrip, a byte to
    // change); hand-made byte patterns that give short, escaped, long and absent strings.
    let structured: [(&str, Vec<u8>); 6] = [
        ("zeros", vec![0; 32]),
        ("ones", vec![0xff; 64]),
        (
            "ascii",
            b"\x01auth.example\x01api\x0142\x01\x00\x00\x00\x00\x01exp-and-more-claims".repeat(2),
        ),
        (
            "quotes-and-controls",
            b"\x01\"\\\n\x00\x1f\x7f\x01</script>\x01\xe2\x82\xac\x01\xf0\x9f\x98\x80".repeat(3),
        ),
        (
            "long-kid",
            [&b"\x01"[..], &[b'k'; 80], &[1; 8], &[0x40; 24]].concat(),
        ),
        (
            "big-numbers",
            b"\x00\x00\x00\x01\xff\xff\xff\xff\xff\xff\xff\xff\x01\x00\x00\x00\x00\x00\x00\x00\x80\x01"
                .repeat(2),
        ),
    ];
    for (name, data) in structured {
        add("roundtrip", name, data.clone());
        add("buffers", name, data);
    }
    out
}

/// Replaces the hand-made seeds under `corpus` (`fuzz/corpus`) with [`all`], keeping
/// `found-*` files.
///
/// # Errors
/// Any I/O error.
pub fn write(corpus: &Path) -> io::Result<()> {
    for (target, _) in crate::TARGETS {
        let dir = corpus.join(target);
        if dir.exists() {
            for entry in fs::read_dir(&dir)? {
                let entry = entry?;
                if !entry
                    .file_name()
                    .to_string_lossy()
                    .starts_with(FOUND_PREFIX)
                {
                    fs::remove_file(entry.path())?;
                }
            }
        }
    }
    for seed in all() {
        let dir = corpus.join(seed.target);
        fs::create_dir_all(&dir)?;
        fs::write(dir.join(&seed.name), &seed.data)?;
    }
    Ok(())
}
