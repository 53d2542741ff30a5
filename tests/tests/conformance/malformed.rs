//! Malformed-input tables. Each row shows the raw input: the token text itself for structural
//! defects, or the header and payload JSON that is encoded and correctly signed, so the row
//! fails for the defect it names and not for its MAC.

use rotor_core::{scratch_len, sign, verify, verify_with, Claims, Error, Key, KeyRing, Validation};
use rotor_tests::{b64, forge, scratch_for, sign_segments, test_key, OTHER_SECRET, SECRET};

const NOW: u64 = 1_700_000_000;
const EXP: u64 = NOW + 600;
const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

fn run(token: &str, keys: &[Key], v: &Validation<'_>, now: u64) -> Result<usize, Error> {
    let mut scratch = scratch_for(token);
    verify(token, keys, v, now, &mut scratch).map(|ok| ok.key_index)
}

fn ok_payload() -> String {
    format!(r#"{{"sub":"s","exp":{EXP}}}"#)
}

fn valid_token() -> String {
    forge(&test_key(), HEADER, ok_payload())
}

/// Segments of the valid token.
fn parts() -> (String, String, String) {
    let t = valid_token();
    let mut it = t.split('.').map(str::to_owned);
    (
        it.next().expect("h"),
        it.next().expect("p"),
        it.next().expect("s"),
    )
}

#[test]
fn structure() {
    let (h, p, s) = parts();
    let table: Vec<(String, Error)> = vec![
        (String::new(), Error::Malformed),
        (".".into(), Error::Malformed),
        ("..".into(), Error::Malformed),
        ("...".into(), Error::Malformed),
        ("abc".into(), Error::Malformed),
        (format!("{h}.{p}"), Error::Malformed),
        (format!("{h}.{p}."), Error::Malformed),
        (format!("{h}..{s}"), Error::Malformed),
        (format!(".{p}.{s}"), Error::Malformed),
        (format!("{h}.{p}.{s}."), Error::Malformed),
        (format!("{h}.{p}.{s}.{s}"), Error::Malformed),
        (format!("{h}.{p}.{s}.{s}.{s}"), Error::Malformed), // JWE shape
        (format!("{h}.{p}.{p}.{s}"), Error::Malformed),
        (format!("{h}.{p}..{s}"), Error::Malformed),
        // Extra segments are reported as such whatever else is wrong: a header the key did not
        // write (strict path), one that is not base64url, a signature that does not match.
        (
            format!("{}.{p}.{p}.{s}", b64(r#"{"typ":"JWT","alg":"HS256"}"#)),
            Error::Malformed,
        ),
        (
            format!("{}.{p}.{s}.{s}", b64(r#"{"alg":"none"}"#)),
            Error::Malformed,
        ),
        ("a.b.c.d".into(), Error::Malformed),
        ("....".into(), Error::Malformed),
        (format!("{h}.{p}.{s}.x"), Error::Malformed),
        (format!(" {h}.{p}.{s}"), Error::InvalidBase64),
        (format!("{h}.{p}.{s} "), Error::BadSignature),
        (format!("{h}.{p}.{s}\n"), Error::BadSignature),
        (format!("Bearer {h}.{p}.{s}"), Error::InvalidBase64),
    ];
    let keys = [test_key()];
    for (token, want) in table {
        assert_eq!(
            run(&token, &keys, &Validation::new(), NOW).map(|_| ()),
            Err(want),
            "{token:?}"
        );
    }
    assert_eq!(
        run(&format!("{h}.{p}.{s}"), &keys, &Validation::new(), NOW),
        Ok(0)
    );
}

/// Adds `=` padding to a multiple of four characters.
fn padded(seg: &str) -> String {
    let mut s = seg.to_owned();
    while !s.len().is_multiple_of(4) {
        s.push('=');
    }
    s
}

/// Pads with `A` to a length of 1 mod 4, which no byte string encodes to (RFC 4648 §4).
fn one_mod_four(seg: &str) -> String {
    let mut s = seg.to_owned();
    while s.len() % 4 != 1 {
        s.push('A');
    }
    s
}

/// Sets a bit that canonical base64 leaves zero in the last character (RFC 4648 §3.5).
fn noncanonical(seg: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    assert!(seg.len() % 4 > 1, "{seg} has no unused bits");
    let last = seg.as_bytes()[seg.len() - 1];
    let v = ALPHABET.iter().position(|&c| c == last).expect("base64url");
    assert_eq!(v & 1, 0, "canonical text has zero unused bits");
    let mut s = seg[..seg.len() - 1].to_owned();
    s.push(char::from(ALPHABET[v | 1]));
    s
}

#[test]
fn base64() {
    let key = test_key();
    // JSON whose encodings have a partial final quantum, so padding and trailing bits exist.
    let header = r#"{"alg":"HS256","typ":"JWT" }"#;
    let payload = format!(r#"{{"sub":"s","exp":{EXP} }}"#);
    let (h, p) = (b64(header), b64(&payload));
    assert!(h.len() % 4 > 1 && p.len() % 4 > 1, "{h} {p}");
    // Each row: (header segment, payload segment, expected); all carry a valid MAC.
    let table: Vec<(String, String, Result<(), Error>)> = vec![
        (h.clone(), p.clone(), Ok(())),
        (padded(&h), p.clone(), Err(Error::InvalidBase64)),
        (h.clone(), padded(&p), Err(Error::InvalidBase64)),
        (noncanonical(&h), p.clone(), Err(Error::InvalidBase64)),
        (h.clone(), noncanonical(&p), Err(Error::InvalidBase64)),
        (
            h.replacen('e', "+", 1),
            p.clone(),
            Err(Error::InvalidBase64),
        ),
        (
            h.clone(),
            p.replacen('e', "/", 1),
            Err(Error::InvalidBase64),
        ),
        (h.clone(), format!("{p}%"), Err(Error::InvalidBase64)),
        (one_mod_four(&h), p.clone(), Err(Error::InvalidBase64)),
        (h.clone(), one_mod_four(&p), Err(Error::InvalidBase64)),
        (h.clone(), format!("{p}\t"), Err(Error::InvalidBase64)),
    ];
    for (hs, ps, want) in table {
        let token = sign_segments(&key, &hs, &ps);
        assert_eq!(
            run(&token, &[test_key()], &Validation::new(), NOW).map(|_| ()),
            want,
            "{token}"
        );
    }
}

#[test]
fn header() {
    let key = test_key();
    let payload = ok_payload();
    let table: &[(&str, Result<(), Error>)] = &[
        (r#"{"alg":"HS256"}"#, Ok(())),
        (r#"{"typ":"JWT","alg":"HS256"}"#, Ok(())),
        (r#"{"alg":"HS\u0032\u0035\u0036"}"#, Ok(())),
        ("{\r\n \"alg\" : \"HS256\" \t}", Ok(())),
        (
            r#"{"alg":"HS256","x5t":{"a":[1,{"b":null}]},"cty":"JWT"}"#,
            Ok(()),
        ),
        // RFC 8725 §3.1, §3.2: exactly HS256, nothing else.
        (r#"{"alg":"none"}"#, Err(Error::UnsupportedAlgorithm)),
        (r#"{"alg":"None"}"#, Err(Error::UnsupportedAlgorithm)),
        (r#"{"alg":"NONE"}"#, Err(Error::UnsupportedAlgorithm)),
        (r#"{"alg":"nOnE"}"#, Err(Error::UnsupportedAlgorithm)),
        (r#"{"alg":"hs256"}"#, Err(Error::UnsupportedAlgorithm)),
        (r#"{"alg":"Hs256"}"#, Err(Error::UnsupportedAlgorithm)),
        (r#"{"alg":"HS384"}"#, Err(Error::UnsupportedAlgorithm)),
        (r#"{"alg":"HS512"}"#, Err(Error::UnsupportedAlgorithm)),
        (r#"{"alg":"RS256"}"#, Err(Error::UnsupportedAlgorithm)),
        (r#"{"alg":"ES256"}"#, Err(Error::UnsupportedAlgorithm)),
        (r#"{"alg":"PS256"}"#, Err(Error::UnsupportedAlgorithm)),
        (r#"{"alg":"EdDSA"}"#, Err(Error::UnsupportedAlgorithm)),
        (r#"{"alg":""}"#, Err(Error::UnsupportedAlgorithm)),
        (r#"{"alg":"HS256 "}"#, Err(Error::UnsupportedAlgorithm)),
        (r#"{"alg":" HS256"}"#, Err(Error::UnsupportedAlgorithm)),
        (r#"{"alg":"HS256\u0000"}"#, Err(Error::UnsupportedAlgorithm)),
        (r#"{"alg":null}"#, Err(Error::UnsupportedAlgorithm)),
        (r#"{"alg":["HS256"]}"#, Err(Error::UnsupportedAlgorithm)),
        (
            r#"{"alg":{"HS256":true}}"#,
            Err(Error::UnsupportedAlgorithm),
        ),
        (r#"{"ALG":"HS256"}"#, Err(Error::UnsupportedAlgorithm)),
        (r#"{"typ":"JWT"}"#, Err(Error::UnsupportedAlgorithm)),
        (r#"{}"#, Err(Error::UnsupportedAlgorithm)),
        // RFC 7515 §4.1.11, RFC 7797 §3.
        (
            r#"{"alg":"HS256","crit":["exp"]}"#,
            Err(Error::UnsupportedCritical),
        ),
        (
            r#"{"alg":"HS256","crit":[]}"#,
            Err(Error::UnsupportedCritical),
        ),
        (
            r#"{"alg":"HS256","crit":["b64"],"b64":false}"#,
            Err(Error::UnsupportedCritical),
        ),
        (
            r#"{"alg":"HS256","b64":false}"#,
            Err(Error::UnsupportedCritical),
        ),
        (
            r#"{"alg":"HS256","b64":"false"}"#,
            Err(Error::UnsupportedCritical),
        ),
        (
            r#"{"alg":"HS256","b64":0}"#,
            Err(Error::UnsupportedCritical),
        ),
        (r#"{"alg":"HS256","b64":true}"#, Ok(())),
        // RFC 7516 §9: a header with `enc` is a JWE; `zip` is a JWE parameter (RFC 7516 §4.1.3).
        (r#"{"alg":"HS256","enc":"A256GCM"}"#, Err(Error::JweHeader)),
        (
            r#"{"alg":"dir","enc":"A128CBC-HS256"}"#,
            Err(Error::JweHeader),
        ),
        (r#"{"alg":"HS256","zip":"DEF"}"#, Err(Error::JweHeader)),
        (r#"{"alg":"HS256","enc":null}"#, Err(Error::JweHeader)),
        (
            r#"{"alg":"HS256","\u0065nc":"A128GCM"}"#,
            Err(Error::JweHeader),
        ),
        (r#"{"alg":"HS256","ENC":"A128GCM"}"#, Ok(())),
        // RFC 7515 §4: member names are unique, compared after decoding escapes.
        (
            r#"{"alg":"HS256","alg":"HS256"}"#,
            Err(Error::DuplicateMember),
        ),
        (
            r#"{"alg":"HS256","alg":"none"}"#,
            Err(Error::DuplicateMember),
        ),
        (
            r#"{"alg":"none","\u0061lg":"HS256"}"#,
            Err(Error::DuplicateMember),
        ),
        (
            r#"{"alg":"HS256","typ":"JWT","typ":"JWT"}"#,
            Err(Error::DuplicateMember),
        ),
        (
            r#"{"alg":"HS256","kid":"a","kid":"b"}"#,
            Err(Error::DuplicateMember),
        ),
        // RFC 8259.
        (r#"{"alg":"HS256",}"#, Err(Error::InvalidJson)),
        (r#"{"alg":'HS256'}"#, Err(Error::InvalidJson)),
        (r#"["HS256"]"#, Err(Error::InvalidJson)),
        (r#""HS256""#, Err(Error::InvalidJson)),
        (r#"{"alg":"HS256"}{}"#, Err(Error::InvalidJson)),
        ("\u{feff}{\"alg\":\"HS256\"}", Err(Error::InvalidJson)),
        (
            "{\"alg\":\"HS256\",\"x\":\"\u{1}\"}",
            Err(Error::InvalidJson),
        ),
    ];
    for (header, want) in table {
        let token = forge(&key, header, &payload);
        assert_eq!(
            run(&token, &[test_key()], &Validation::new(), NOW).map(|_| ()),
            *want,
            "header {header}"
        );
    }
    // At most 32 header members: the header is read before the MAC, so its cost is bounded.
    for (count, want) in [
        (32, Ok(())),
        (33, Err(Error::InvalidJson)),
        (900, Err(Error::InvalidJson)),
    ] {
        let extra: String = (1..count).map(|i| format!(r#","x{i}":0"#)).collect();
        let header = format!(r#"{{"alg":"HS256"{extra}}}"#);
        let token = forge(&key, &header, &payload);
        assert_eq!(
            run(
                &token,
                &[test_key()],
                &Validation::new().max_token_len(usize::MAX),
                NOW
            )
            .map(|_| ()),
            want,
            "{count} header members"
        );
    }
    // Not UTF-8.
    let token = sign_segments(
        &key,
        &b64(b"{\"alg\":\"HS256\",\"x\":\"\xff\"}"),
        &b64(&payload),
    );
    assert_eq!(
        run(&token, &[test_key()], &Validation::new(), NOW).map(|_| ()),
        Err(Error::InvalidJson)
    );
}

#[test]
fn typ() {
    let key = test_key();
    let payload = ok_payload();
    // (typ JSON value, extra types allowed, expected); RFC 7515 §4.1.9, RFC 8725 §3.11.
    let table: &[(&str, &[&str], Result<(), Error>)] = &[
        (r#""JWT""#, &[], Ok(())),
        (r#""jwt""#, &[], Ok(())),
        (r#""Jwt""#, &[], Ok(())),
        (r#""\u004aWT""#, &[], Ok(())),
        (r#""application/jwt""#, &[], Ok(())),
        (r#""APPLICATION/JWT""#, &[], Ok(())),
        (r#""application\/jwt""#, &[], Ok(())),
        (r#""JWS""#, &[], Err(Error::UnsupportedType)),
        (r#""""#, &[], Err(Error::UnsupportedType)),
        (r#""JWT ""#, &[], Err(Error::UnsupportedType)),
        (r#""application/""#, &[], Err(Error::UnsupportedType)),
        (r#""application/jose""#, &[], Err(Error::UnsupportedType)),
        (r#""text/jwt""#, &[], Err(Error::UnsupportedType)),
        (r#""at+jwt""#, &[], Err(Error::UnsupportedType)),
        (r#"1"#, &[], Err(Error::UnsupportedType)),
        (r#"null"#, &[], Err(Error::UnsupportedType)),
        (r#"["JWT"]"#, &[], Err(Error::UnsupportedType)),
        (r#""at+jwt""#, &["at+jwt"], Ok(())),
        (r#""AT+JWT""#, &["at+jwt"], Ok(())),
        (r#""JWT""#, &["at+jwt"], Ok(())),
        // RFC 7515 §4.1.9: "application/" is implied when absent; RFC 9068 §4 accepts both.
        (r#""application/at+jwt""#, &["at+jwt"], Ok(())),
        (r#""at+jwt""#, &["application/at+jwt"], Ok(())),
        (
            r#""secevent+jwt""#,
            &["at+jwt"],
            Err(Error::UnsupportedType),
        ),
    ];
    for (typ, extra, want) in table {
        let header = format!(r#"{{"alg":"HS256","typ":{typ}}}"#);
        let token = forge(&key, &header, &payload);
        assert_eq!(
            run(
                &token,
                &[test_key()],
                &Validation::new().extra_types(extra),
                NOW
            )
            .map(|_| ()),
            *want,
            "header {header}, extra types {extra:?}"
        );
    }
}

#[test]
fn kid() {
    let k1 = Key::with_kid(SECRET, "k1").expect("key");
    let k2 = Key::with_kid(OTHER_SECRET, "k2").expect("key");
    let mut ring = KeyRing::<2>::new();
    ring.push(k1.clone()).expect("room");
    ring.push(k2.clone()).expect("room");
    let payload = ok_payload();
    // (header, signing key, expected key index or error)
    let table: &[(&str, &Key, Result<usize, Error>)] = &[
        (r#"{"alg":"HS256","kid":"k1"}"#, &k1, Ok(0)),
        (r#"{"kid":"k2","alg":"HS256"}"#, &k2, Ok(1)),
        (r#"{"alg":"HS256","kid":"k\u0032"}"#, &k2, Ok(1)),
        (
            r#"{"alg":"HS256","kid":"k2"}"#,
            &k1,
            Err(Error::BadSignature),
        ),
        (r#"{"alg":"HS256"}"#, &k1, Err(Error::UnknownKeyId)),
        (
            r#"{"alg":"HS256","kid":"K2"}"#,
            &k2,
            Err(Error::UnknownKeyId),
        ),
        (
            r#"{"alg":"HS256","kid":"k3"}"#,
            &k2,
            Err(Error::UnknownKeyId),
        ),
        (r#"{"alg":"HS256","kid":""}"#, &k2, Err(Error::UnknownKeyId)),
        (r#"{"alg":"HS256","kid":1}"#, &k2, Err(Error::UnknownKeyId)),
        (
            r#"{"alg":"HS256","kid":null}"#,
            &k2,
            Err(Error::UnknownKeyId),
        ),
    ];
    for (header, signer, want) in table {
        let token = forge(signer, header, &payload);
        let mut scratch = scratch_for(&token);
        assert_eq!(
            verify(&token, &ring, &Validation::new(), NOW, &mut scratch).map(|ok| ok.key_index),
            *want,
            "header {header}"
        );
    }
    // No keys at all.
    let token = forge(&k1, r#"{"alg":"HS256","kid":"k1"}"#, &payload);
    assert_eq!(
        run(&token, &[], &Validation::new(), NOW),
        Err(Error::UnknownKeyId)
    );
    // A key without an id does not answer to a header that names one.
    let plain = test_key();
    let token = forge(&plain, r#"{"alg":"HS256","kid":"k1"}"#, &payload);
    assert_eq!(
        run(&token, &[plain], &Validation::new(), NOW),
        Err(Error::UnknownKeyId)
    );
    // Tokens the ring signs verify through the byte-for-byte header path.
    let mut buf = [0u8; 256];
    let claims = Claims {
        exp: Some(EXP),
        ..Claims::default()
    };
    let token = sign(&k2, &claims, &mut buf).expect("fits");
    let mut scratch = scratch_for(token);
    assert_eq!(
        verify(token, &ring, &Validation::new(), NOW, &mut scratch).map(|ok| ok.key_index),
        Ok(1)
    );
}

/// (payload, leeway, now, require_exp, expected)
type DateCase = (String, u64, u64, bool, Result<(), Error>);

#[test]
fn numeric_dates() {
    // The largest NumericDate accepted (dates are read as non-negative `i64` seconds).
    let max = i64::MAX.unsigned_abs();
    let two_63 = max + 1;
    let u64_max = u64::MAX;
    // (payload, leeway, now, require_exp, expected); RFC 7519 §4.1.4–4.1.6 and §2.
    let table: Vec<DateCase> = vec![
        (format!(r#"{{"exp":{}}}"#, NOW + 1), 0, NOW, true, Ok(())),
        (
            format!(r#"{{"exp":{NOW}}}"#),
            0,
            NOW,
            true,
            Err(Error::Expired),
        ),
        (
            format!(r#"{{"exp":{}}}"#, NOW - 1),
            1,
            NOW,
            true,
            Err(Error::Expired),
        ),
        (format!(r#"{{"exp":{}}}"#, NOW - 1), 2, NOW, true, Ok(())),
        (
            format!(r#"{{"exp":{}}}"#, NOW - 60),
            60,
            NOW,
            true,
            Err(Error::Expired),
        ),
        (r#"{"exp":0}"#.into(), 30, NOW, true, Err(Error::Expired)),
        (format!(r#"{{"exp":{max}}}"#), 30, NOW, true, Ok(())),
        (format!(r#"{{"exp":{max}}}"#), max, max - 1, true, Ok(())),
        (
            format!(r#"{{"exp":{max}}}"#),
            0,
            max,
            true,
            Err(Error::Expired),
        ),
        (
            format!(r#"{{"exp":{max}}}"#),
            u64_max,
            u64_max,
            true,
            Err(Error::Expired),
        ),
        // Above `i64::MAX`: 2^63 and `u64::MAX` are not NumericDates a verifier accepts.
        (
            format!(r#"{{"exp":{two_63}}}"#),
            0,
            NOW,
            true,
            Err(Error::InvalidNumericDate),
        ),
        (
            format!(r#"{{"exp":{u64_max}}}"#),
            0,
            NOW,
            true,
            Err(Error::InvalidNumericDate),
        ),
        (
            format!(r#"{{"exp":{EXP},"nbf":{two_63}}}"#),
            0,
            NOW,
            true,
            Err(Error::InvalidNumericDate),
        ),
        (
            format!(r#"{{"exp":{EXP},"nbf":{u64_max}}}"#),
            0,
            NOW,
            true,
            Err(Error::InvalidNumericDate),
        ),
        (
            format!(r#"{{"exp":{EXP},"iat":{two_63}}}"#),
            0,
            NOW,
            true,
            Err(Error::InvalidNumericDate),
        ),
        (
            format!(r#"{{"exp":{EXP},"iat":{u64_max}}}"#),
            0,
            NOW,
            true,
            Err(Error::InvalidNumericDate),
        ),
        (format!(r#"{{"exp":{}}}"#, NOW + 1), max, NOW, true, Ok(())),
        (
            r#"{"exp":18446744073709551616}"#.into(),
            0,
            NOW,
            true,
            Err(Error::InvalidNumericDate),
        ),
        (
            r#"{"exp":99999999999999999999999999999}"#.into(),
            0,
            NOW,
            true,
            Err(Error::InvalidNumericDate),
        ),
        (
            r#"{"exp":-1}"#.into(),
            0,
            NOW,
            true,
            Err(Error::InvalidNumericDate),
        ),
        (
            r#"{"exp":-0}"#.into(),
            0,
            NOW,
            true,
            Err(Error::InvalidNumericDate),
        ),
        (
            r#"{"exp":1700000600.5}"#.into(),
            0,
            NOW,
            true,
            Err(Error::InvalidNumericDate),
        ),
        (
            r#"{"exp":1700000600.0}"#.into(),
            0,
            NOW,
            true,
            Err(Error::InvalidNumericDate),
        ),
        (
            r#"{"exp":1.7e9}"#.into(),
            0,
            NOW,
            true,
            Err(Error::InvalidNumericDate),
        ),
        (
            r#"{"exp":17E8}"#.into(),
            0,
            NOW,
            true,
            Err(Error::InvalidNumericDate),
        ),
        (
            r#"{"exp":"1700000600"}"#.into(),
            0,
            NOW,
            true,
            Err(Error::InvalidNumericDate),
        ),
        (
            r#"{"exp":null}"#.into(),
            0,
            NOW,
            true,
            Err(Error::InvalidNumericDate),
        ),
        (
            r#"{"exp":true}"#.into(),
            0,
            NOW,
            true,
            Err(Error::InvalidNumericDate),
        ),
        (
            r#"{"exp":[1700000600]}"#.into(),
            0,
            NOW,
            true,
            Err(Error::InvalidNumericDate),
        ),
        (
            r#"{"exp":01700000600}"#.into(),
            0,
            NOW,
            true,
            Err(Error::InvalidJson),
        ),
        (
            r#"{"sub":"no exp"}"#.into(),
            0,
            NOW,
            true,
            Err(Error::MissingClaim),
        ),
        (r#"{"sub":"no exp"}"#.into(), 0, NOW, false, Ok(())),
        // nbf: valid from nbf - leeway on.
        (
            format!(r#"{{"exp":{EXP},"nbf":{NOW}}}"#),
            0,
            NOW,
            true,
            Ok(()),
        ),
        (
            format!(r#"{{"exp":{EXP},"nbf":{}}}"#, NOW + 1),
            0,
            NOW,
            true,
            Err(Error::NotYetValid),
        ),
        (
            format!(r#"{{"exp":{EXP},"nbf":{}}}"#, NOW + 30),
            30,
            NOW,
            true,
            Ok(()),
        ),
        (
            format!(r#"{{"exp":{EXP},"nbf":{}}}"#, NOW + 31),
            30,
            NOW,
            true,
            Err(Error::NotYetValid),
        ),
        (format!(r#"{{"exp":{EXP},"nbf":0}}"#), 0, NOW, true, Ok(())),
        (
            format!(r#"{{"exp":{EXP},"nbf":{max}}}"#),
            30,
            NOW,
            true,
            Err(Error::NotYetValid),
        ),
        (format!(r#"{{"nbf":{max}}}"#), 30, max, false, Ok(())),
        (format!(r#"{{"nbf":{max}}}"#), max, 1, false, Ok(())),
        (
            format!(r#"{{"exp":{EXP},"nbf":-5}}"#),
            0,
            NOW,
            true,
            Err(Error::InvalidNumericDate),
        ),
        (
            format!(r#"{{"exp":{EXP},"nbf":1.5}}"#),
            0,
            NOW,
            true,
            Err(Error::InvalidNumericDate),
        ),
        (
            format!(r#"{{"exp":{EXP},"nbf":"0"}}"#),
            0,
            NOW,
            true,
            Err(Error::InvalidNumericDate),
        ),
        // iat: not in the future beyond the leeway.
        (
            format!(r#"{{"exp":{EXP},"iat":{NOW}}}"#),
            0,
            NOW,
            true,
            Ok(()),
        ),
        (
            format!(r#"{{"exp":{EXP},"iat":{}}}"#, NOW + 1),
            0,
            NOW,
            true,
            Err(Error::IssuedInFuture),
        ),
        (
            format!(r#"{{"exp":{EXP},"iat":{}}}"#, NOW + 30),
            30,
            NOW,
            true,
            Ok(()),
        ),
        (
            format!(r#"{{"exp":{EXP},"iat":{}}}"#, NOW + 31),
            30,
            NOW,
            true,
            Err(Error::IssuedInFuture),
        ),
        (
            format!(r#"{{"exp":{EXP},"iat":{max}}}"#),
            30,
            NOW,
            true,
            Err(Error::IssuedInFuture),
        ),
        (format!(r#"{{"iat":{max}}}"#), 0, max, false, Ok(())),
        (
            format!(r#"{{"exp":{EXP},"iat":1e3}}"#),
            0,
            NOW,
            true,
            Err(Error::InvalidNumericDate),
        ),
        (
            format!(r#"{{"exp":{EXP},"iat":18446744073709551616}}"#),
            0,
            NOW,
            true,
            Err(Error::InvalidNumericDate),
        ),
    ];
    let key = test_key();
    for (payload, leeway, now, require_exp, want) in table {
        let token = forge(&key, HEADER, &payload);
        let v = Validation::new().leeway(leeway).require_exp(require_exp);
        assert_eq!(
            run(&token, &[test_key()], &v, now).map(|_| ()),
            want,
            "payload {payload}, leeway {leeway}, now {now}, require_exp {require_exp}"
        );
    }
}

#[test]
fn audience_issuer_subject() {
    // (claims after `"exp":EXP,`, validation, expected); RFC 7519 §4.1.1–4.1.3.
    let none = Validation::new();
    let api = Validation::new().audience("api");
    let joe = Validation::new().issuer("joe");
    let alice = Validation::new().subject("alice");
    let quote = Validation::new().audience("a\"pi");
    let control = Validation::new().audience("a\u{1}pi");
    let table: &[(&str, &Validation<'_>, Result<(), Error>)] = &[
        (r#""aud":"api""#, &api, Ok(())),
        (r#""aud":["x","api"]"#, &api, Ok(())),
        (r#""aud":["api"]"#, &api, Ok(())),
        (r#""aud":"\u0061pi""#, &api, Ok(())),
        (r#""aud":["a\"pi"]"#, &quote, Ok(())),
        (r#""aud":["x","a\u0001pi"]"#, &control, Ok(())),
        (r#""aud":"a\u0001pi""#, &api, Err(Error::InvalidAudience)),
        (r#""aud":"API""#, &api, Err(Error::InvalidAudience)),
        (r#""aud":"api ""#, &api, Err(Error::InvalidAudience)),
        (r#""aud":["x"]"#, &api, Err(Error::InvalidAudience)),
        (r#""aud":[]"#, &api, Err(Error::InvalidAudience)),
        (r#""aud":"api""#, &none, Err(Error::InvalidAudience)),
        (r#""aud":["api"]"#, &none, Err(Error::InvalidAudience)),
        (r#""sub":"x""#, &api, Err(Error::MissingClaim)),
        (r#""aud":1"#, &api, Err(Error::InvalidClaims)),
        (r#""aud":null"#, &api, Err(Error::InvalidClaims)),
        (r#""aud":["api",1]"#, &api, Err(Error::InvalidClaims)),
        (r#""aud":[["api"]]"#, &api, Err(Error::InvalidClaims)),
        (r#""aud":{"api":true}"#, &api, Err(Error::InvalidClaims)),
        (r#""iss":"joe""#, &joe, Ok(())),
        (r#""iss":"jo\u0065""#, &joe, Ok(())),
        (r#""iss":"joe""#, &none, Ok(())),
        (r#""iss":"Joe""#, &joe, Err(Error::InvalidIssuer)),
        (r#""iss":"joe\u0000""#, &joe, Err(Error::InvalidIssuer)),
        (r#""iss":"""#, &joe, Err(Error::InvalidIssuer)),
        (r#""sub":"joe""#, &joe, Err(Error::MissingClaim)),
        (r#""iss":1"#, &joe, Err(Error::InvalidClaims)),
        (r#""iss":["joe"]"#, &joe, Err(Error::InvalidClaims)),
        (r#""iss":null"#, &none, Err(Error::InvalidClaims)),
        (r#""sub":"alice""#, &alice, Ok(())),
        (r#""sub":"\u0061lice""#, &alice, Ok(())),
        (r#""sub":"alice2""#, &alice, Err(Error::InvalidSubject)),
        (r#""iss":"alice""#, &alice, Err(Error::MissingClaim)),
        (r#""sub":42"#, &alice, Err(Error::InvalidClaims)),
        (r#""jti":42"#, &none, Err(Error::InvalidClaims)),
    ];
    let key = test_key();
    for (claims, v, want) in table {
        let payload = format!(r#"{{"exp":{EXP},{claims}}}"#);
        let token = forge(&key, HEADER, &payload);
        assert_eq!(
            run(&token, &[test_key()], v, NOW).map(|_| ()),
            *want,
            "payload {payload}, validation {v:?}"
        );
    }
}

#[test]
fn claims_json() {
    let depth = |n: usize| format!(r#"{{"exp":{EXP},"x":{}1{}}}"#, "[".repeat(n), "]".repeat(n));
    // (payload, expected); RFC 7519 §4: unique top-level names; RFC 8259 syntax.
    let table: Vec<(String, Result<(), Error>)> = vec![
        (
            format!(r#"{{"exp":{EXP},"exp":{EXP}}}"#),
            Err(Error::DuplicateMember),
        ),
        (
            format!(r#"{{"exp":1,"\u0065xp":{EXP}}}"#),
            Err(Error::DuplicateMember),
        ),
        (
            format!(r#"{{"sub":"a","exp":{EXP},"sub":"a"}}"#),
            Err(Error::DuplicateMember),
        ),
        (
            format!(r#"{{"x":1,"exp":{EXP},"x":2}}"#),
            Err(Error::DuplicateMember),
        ),
        (format!(r#"{{"exp":{EXP},}}"#), Err(Error::InvalidJson)),
        (format!(r#"{{"exp":{EXP}}}x"#), Err(Error::InvalidJson)),
        (format!(r#"[{{"exp":{EXP}}}]"#), Err(Error::InvalidJson)),
        (
            format!(r#"{{"exp":{EXP},"s":"\x"}}"#),
            Err(Error::InvalidJson),
        ),
        (
            format!(r#"{{"exp":{EXP},"s":"\ud800"}}"#),
            Err(Error::InvalidJson),
        ),
        (
            format!(r#"{{"exp":{EXP},"s":"\udc00\ud800"}}"#),
            Err(Error::InvalidJson),
        ),
        (
            format!(r#"{{"exp":{EXP},"n":NaN}}"#),
            Err(Error::InvalidJson),
        ),
        (
            format!(r#"{{"exp":{EXP},"n":.5}}"#),
            Err(Error::InvalidJson),
        ),
        (
            format!("{{\"exp\":{EXP},\"s\":\"tab\there\"}}"),
            Err(Error::InvalidJson),
        ),
        // The top-level object is depth 1: 63 arrays inside it reach the limit of 64.
        (depth(63), Ok(())),
        (depth(64), Err(Error::InvalidJson)),
        (depth(2000), Err(Error::InvalidJson)),
    ];
    let key = test_key();
    for (payload, want) in table {
        let token = forge(&key, HEADER, &payload);
        let shown = &payload[..payload.len().min(120)];
        assert_eq!(
            run(&token, &[test_key()], &Validation::new(), NOW).map(|_| ()),
            want,
            "payload {shown}"
        );
    }
    let token = sign_segments(
        &key,
        &b64(HEADER),
        &b64(b"{\"exp\":1700000600,\"s\":\"\xc3\x28\"}"),
    );
    assert_eq!(
        run(&token, &[test_key()], &Validation::new(), NOW).map(|_| ()),
        Err(Error::InvalidJson)
    );
}

#[test]
fn nothing_from_the_payload_is_trusted_before_the_mac() {
    let key = test_key();
    let wrong = Key::new(OTHER_SECRET).expect("key");
    // Each payload would fail on its own; signed with the wrong key, the MAC must fail first.
    let payloads = [
        format!(r#"{{"exp":{}}}"#, NOW - 100),
        format!(r#"{{"exp":{EXP},"nbf":{}}}"#, NOW + 100),
        r#"{"exp":1.5}"#.to_owned(),
        r#"{"exp":1,"exp":2}"#.to_owned(),
        "not json".to_owned(),
        r#"{"exp":"#.to_owned(),
    ];
    for payload in payloads {
        let token = forge(&wrong, HEADER, &payload);
        assert_eq!(
            run(&token, &[test_key()], &Validation::new(), NOW).map(|_| ()),
            Err(Error::BadSignature),
            "payload {payload}"
        );
    }
    // A payload segment that is not base64 at all, behind a signature that does not match.
    let (h, _, s) = parts();
    let token = format!("{h}.!!!not*base64!!!.{s}");
    assert_eq!(
        run(&token, &[key], &Validation::new(), NOW).map(|_| ()),
        Err(Error::BadSignature)
    );
}

#[test]
fn token_size_limit() {
    let token = valid_token();
    let n = token.len();
    let keys = [test_key()];
    assert_eq!(
        run(&token, &keys, &Validation::new().max_token_len(n), NOW),
        Ok(0)
    );
    assert_eq!(
        run(&token, &keys, &Validation::new().max_token_len(n - 1), NOW),
        Err(Error::TooLarge)
    );
    assert_eq!(
        run(&token, &keys, &Validation::new().max_token_len(0), NOW),
        Err(Error::TooLarge)
    );
    // The size limit comes before any other check (default: 8 KiB).
    for huge in [
        "a".repeat(8193),
        format!(
            "{}.{}.{}",
            "a".repeat(4000),
            "b".repeat(4000),
            "c".repeat(200)
        ),
    ] {
        assert_eq!(
            run(&huge, &keys, &Validation::new(), NOW),
            Err(Error::TooLarge),
            "{} bytes",
            huge.len()
        );
    }
    let big_claim = "x".repeat(8192);
    let token = forge(
        &keys[0],
        HEADER,
        format!(r#"{{"exp":{EXP},"pad":"{big_claim}"}}"#),
    );
    assert_eq!(
        run(&token, &keys, &Validation::new(), NOW),
        Err(Error::TooLarge)
    );
    assert_eq!(
        run(
            &token,
            &keys,
            &Validation::new().max_token_len(token.len()),
            NOW
        ),
        Ok(0)
    );
}

/// Scratch sizes from 0 up: every size below the smallest that works fails with
/// `BufferTooSmall` and nothing else, and `scratch_len` always suffices.
fn smallest_scratch(token: &str, key: &Key, with_custom: bool) -> usize {
    #[derive(serde::Deserialize)]
    struct Custom<'a> {
        #[allow(dead_code)]
        note: heapless::String<256>,
        #[allow(dead_code)]
        #[serde(borrow)]
        plain: &'a str,
    }
    let limit = scratch_len(token.len());
    for size in 0..=limit {
        let mut scratch = vec![0u8; size];
        let got = if with_custom {
            verify_with::<Custom, _>(token, key, &Validation::new(), NOW, &mut scratch).map(|_| ())
        } else {
            verify(token, key, &Validation::new(), NOW, &mut scratch).map(|_| ())
        };
        match got {
            Ok(()) => return size,
            Err(Error::BufferTooSmall) => {}
            Err(e) => panic!("scratch of {size} bytes: {e}"),
        }
    }
    panic!(
        "scratch_len({}) = {limit} is not enough for {token}",
        token.len()
    );
}

#[test]
fn scratch_too_small() {
    let key = test_key();
    // Unescaping `sub` and `note` needs room beyond the decoded payload.
    let payload = format!(
        r#"{{"exp":{EXP},"sub":"a\"b\\c","plain":"p","note":"{}\"","other":"{}\\"}}"#,
        "n".repeat(100),
        "o".repeat(100)
    );
    // Fast path: the header is the one the key writes.
    let fast = forge(&key, HEADER, &payload);
    let payload_len = payload.len();
    let min = smallest_scratch(&fast, &key, false);
    assert!(min >= payload_len, "{min} < payload {payload_len}");
    let min_custom = smallest_scratch(&fast, &key, true);
    assert!(
        min_custom > min,
        "custom claims need unescape room: {min_custom} vs {min}"
    );
    // Strict path: another signer's header is decoded into the scratch first.
    let slow = forge(
        &key,
        r#"{"typ":"JWT","alg":"HS256","x":"padding padding padding padding padding padding"}"#,
        r#"{"exp":1700000600}"#,
    );
    let min_slow = smallest_scratch(&slow, &key, false);
    assert!(
        min_slow > r#"{"exp":1700000600}"#.len(),
        "header needs room too: {min_slow}"
    );
}

#[test]
fn sign_buffer_too_small() {
    let key = Key::with_kid(SECRET, "2026-11").expect("key");
    let claims = Claims {
        iss: Some("auth.example"),
        sub: Some("user \"42\" \\ é"),
        aud: Some("api"),
        exp: Some(EXP),
        nbf: Some(NOW),
        iat: Some(NOW),
        jti: Some("0123456789abcdef"),
    };
    let mut full = [0u8; 1024];
    let token = sign(&key, &claims, &mut full).expect("fits").to_owned();
    for size in 0..token.len() {
        let mut buf = vec![0u8; size];
        assert_eq!(
            sign(&key, &claims, &mut buf).map(str::len),
            Err(Error::BufferTooSmall),
            "buffer of {size} bytes for a {}-byte token",
            token.len()
        );
    }
    let mut exact = vec![0u8; token.len()];
    assert_eq!(sign(&key, &claims, &mut exact), Ok(token.as_str()));
    let mut scratch = scratch_for(&token);
    let ok = verify(
        &token,
        &key,
        &Validation::new().audience("api"),
        NOW,
        &mut scratch,
    )
    .expect("verifies");
    assert_eq!(ok.claims.sub, claims.sub);
}

#[test]
fn scratch_len_is_enough_when_registered_claims_are_escaped() {
    #[derive(serde::Deserialize)]
    struct OnlyExp {
        exp: u64,
    }
    #[derive(serde::Deserialize)]
    struct WithSub {
        sub: heapless::String<4096>,
    }
    let key = test_key();
    for n in [10, 100, 1000] {
        // Each of iss, sub and jti holds an escape, so each is unescaped into the scratch; the
        // caller's type then meets them again (ignored, or read into an owned string).
        let s = format!("{}\\\"", "x".repeat(n));
        let payload = format!(r#"{{"exp":{EXP},"iss":"{s}","sub":"{s}","jti":"{s}"}}"#);
        let token = forge(&key, HEADER, &payload);
        let v = Validation::new().max_token_len(usize::MAX);
        let mut scratch = scratch_for(&token);
        let got =
            verify_with::<OnlyExp, _>(&token, &key, &v, NOW, &mut scratch).map(|ok| ok.custom.exp);
        assert_eq!(
            got,
            Ok(EXP),
            "ignored claims, n = {n}, token {} bytes",
            token.len()
        );
        let mut scratch = scratch_for(&token);
        let got = verify_with::<WithSub, _>(&token, &key, &v, NOW, &mut scratch)
            .map(|ok| ok.custom.sub.len());
        assert_eq!(
            got,
            Ok(n + 1),
            "sub re-read, n = {n}, token {} bytes",
            token.len()
        );
    }
}
