//! `token sign`, `token verify`, `token inspect` through the real binary.

use std::time::{Duration, Instant};

use rotor_core::{Key, Validation};
use serde_json::json;

use crate::common::run;

/// RFC 7515 Appendix A.1: the HS256 example token, its key (JWK `k`, base64url) and its `exp`.
const RFC7515_A1_TOKEN: &str = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.\
    eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.\
    dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const RFC7515_A1_KEY: &str =
    "base64:AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
const RFC7515_A1_EXP: u64 = 1_300_819_380;

const SECRET: &str = "a command-line test secret, over 32 bytes";
const OTHER: &str = "another command-line secret, over 32 bytes";

fn invalid(out: &crate::common::Out, kind: &str) {
    out.expect_code(1);
    let v = out.json();
    assert_eq!(v["valid"], false, "{out:#?}");
    assert_eq!(v["error"], kind, "{out:#?}");
    assert!(
        v["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{out:#?}"
    );
    assert_eq!(v.as_object().unwrap().len(), 3, "{out:#?}");
    out.expect_error(&format!("({kind})"));
}

#[test]
fn rfc7515_a1_verifies_at_its_time() {
    let now = (RFC7515_A1_EXP - 10).to_string();
    let out = run(
        &[
            "token",
            "verify",
            "--secret",
            RFC7515_A1_KEY,
            "--now",
            &now,
            "--iss",
            "joe",
            RFC7515_A1_TOKEN,
        ],
        None,
    );
    out.expect_code(0);
    assert_eq!(out.stderr, "");
    assert_eq!(
        out.json(),
        json!({
            "valid": true,
            "header": {"typ": "JWT", "alg": "HS256"},
            "claims": {"iss": "joe", "exp": 1_300_819_380, "http://example.com/is_root": true},
            "secret_index": 0,
        })
    );
    // The documented field order: valid, error, message.
    let expired = run(
        &[
            "token",
            "verify",
            "--secret",
            RFC7515_A1_KEY,
            RFC7515_A1_TOKEN,
        ],
        None,
    );
    invalid(&expired, "expired");
    assert!(expired
        .stdout
        .starts_with(r#"{"valid":false,"error":"expired","message":"#));
    // Leeway counts: 30 s after exp still passes with --leeway 60, not with the default.
    let late = (RFC7515_A1_EXP + 30).to_string();
    let base = [
        "token",
        "verify",
        "--secret",
        RFC7515_A1_KEY,
        "--now",
        &late,
    ];
    invalid(
        &run(&[&base[..], &[RFC7515_A1_TOKEN]].concat(), None),
        "expired",
    );
    run(
        &[&base[..], &["--leeway", "60", RFC7515_A1_TOKEN]].concat(),
        None,
    )
    .expect_code(0);
}

#[test]
fn verify_reports_each_failure_by_kind() {
    let now = (RFC7515_A1_EXP - 10).to_string();
    let args = |extra: &[&str], token: &str| {
        let mut v: Vec<String> = ["token", "verify", "--now", &now]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        v.extend(extra.iter().map(|s| (*s).to_owned()));
        v.push(token.to_owned());
        v
    };
    let go = |extra: &[&str], token: &str| {
        let a = args(extra, token);
        run(&a.iter().map(String::as_str).collect::<Vec<_>>(), None)
    };
    let key = ["--secret", RFC7515_A1_KEY];
    // Wrong secret.
    invalid(
        &go(&["--secret", SECRET], RFC7515_A1_TOKEN),
        "bad_signature",
    );
    // Truncated token: cut inside the signature, and before the second dot.
    invalid(
        &go(&key, &RFC7515_A1_TOKEN[..RFC7515_A1_TOKEN.len() - 5]),
        "bad_signature",
    );
    invalid(&go(&key, &RFC7515_A1_TOKEN[..60]), "malformed");
    invalid(&go(&key, "not a token"), "malformed");
    // Wrong issuer, audience expected but absent.
    invalid(
        &go(&[&key[..], &["--iss", "jane"]].concat(), RFC7515_A1_TOKEN),
        "invalid_issuer",
    );
    invalid(
        &go(&[&key[..], &["--aud", "api"]].concat(), RFC7515_A1_TOKEN),
        "missing_claim",
    );
    // alg:none with the same claims (RFC 8725 §3.1).
    let none = format!(
        "eyJhbGciOiJub25lIn0.{}.{}",
        RFC7515_A1_TOKEN.split('.').nth(1).unwrap(),
        RFC7515_A1_TOKEN.split('.').nth(2).unwrap()
    );
    invalid(&go(&key, &none), "unsupported_algorithm");
    // One byte of the payload changed.
    let mut tampered = RFC7515_A1_TOKEN.to_owned();
    tampered.replace_range(50..51, "A");
    assert_ne!(tampered, RFC7515_A1_TOKEN);
    let out = go(&key, &tampered);
    out.expect_code(1);
    assert!(
        ["bad_signature", "invalid_base64", "invalid_json"]
            .contains(&out.json()["error"].as_str().unwrap()),
        "{out:#?}"
    );
}

#[test]
fn verify_tries_every_secret_in_order() {
    let now = (RFC7515_A1_EXP - 10).to_string();
    let out = run(
        &[
            "token",
            "verify",
            "--secret",
            SECRET,
            "--secret",
            OTHER,
            "--secret",
            RFC7515_A1_KEY,
            "--now",
            &now,
            RFC7515_A1_TOKEN,
        ],
        None,
    );
    out.expect_code(0);
    assert_eq!(out.json()["secret_index"], 2);
    // The secret that matches decides the error: past the MAC, the claims fail.
    let out = run(
        &[
            "token",
            "verify",
            "--secret",
            SECRET,
            "--secret",
            RFC7515_A1_KEY,
            RFC7515_A1_TOKEN,
        ],
        None,
    );
    invalid(&out, "expired");
}

#[test]
fn verify_reads_stdin_and_refuses_bad_input_cleanly() {
    let now = (RFC7515_A1_EXP - 10).to_string();
    let base = [
        "token",
        "verify",
        "--secret",
        RFC7515_A1_KEY,
        "--now",
        &now,
        "-",
    ];
    let piped = format!("  {RFC7515_A1_TOKEN}\n");
    run(&base, Some(piped.as_bytes())).expect_code(0);
    // Not UTF-8.
    invalid(&run(&base, Some(b"\xff\xfe\x00eyJ.\xc3(")), "malformed");
    // Empty.
    invalid(&run(&base, Some(b"\n")), "malformed");
    // 10 MB: refused quickly without reading it all or hanging.
    let big = vec![b'a'; 10 * 1024 * 1024];
    let started = Instant::now();
    let out = run(&base, Some(&big));
    invalid(&out, "too_large");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    // A 10 MB token of the right shape is refused as too large too, even with --max-len raised
    // to cover only part of it.
    let mut shaped = b"eyJhbGciOiJIUzI1NiJ9.".to_vec();
    shaped.resize(10 * 1024 * 1024, b'A');
    shaped.extend_from_slice(b".sig");
    let out = run(
        &[
            "token",
            "verify",
            "--secret",
            RFC7515_A1_KEY,
            "--max-len",
            "1000000",
            "-",
        ],
        Some(&shaped),
    );
    invalid(&out, "too_large");
    // The same on the command line (below the OS's 128 KiB limit on one argument).
    let long = format!("{}.{}.x", "e".repeat(60_000), "e".repeat(60_000));
    invalid(
        &run(
            &["token", "verify", "--secret", RFC7515_A1_KEY, &long],
            None,
        ),
        "too_large",
    );
}

#[test]
fn sign_then_verify_round_trip_and_matches_the_library() {
    let out = run(
        &[
            "token",
            "sign",
            "--secret",
            SECRET,
            "--sub",
            "42",
            "--iss",
            "rotor",
            "--aud",
            "api",
            "--jti",
            "j1",
            "--ttl",
            "15m",
            "--now",
            "1800000000",
        ],
        None,
    );
    out.expect_code(0);
    assert_eq!(out.stderr, "");
    let token = out.stdout.trim_end_matches('\n');
    assert_eq!(token.lines().count(), 1);
    // The same claims through rotor-core in this process give the very same token (HS256 is
    // deterministic); the command line writes claims in name order.
    #[derive(serde::Serialize)]
    struct InNameOrder<'a> {
        aud: &'a str,
        exp: u64,
        iat: u64,
        iss: &'a str,
        jti: &'a str,
        sub: &'a str,
    }
    let key = Key::new(SECRET.as_bytes()).unwrap();
    let mut buf = [0u8; 512];
    let claims = InNameOrder {
        aud: "api",
        exp: 1_800_000_900,
        iat: 1_800_000_000,
        iss: "rotor",
        jti: "j1",
        sub: "42",
    };
    let expected = rotor_core::sign(&key, &claims, &mut buf).unwrap();
    assert_eq!(token, expected);
    let mut scratch = [0u8; 512];
    let checked = rotor_core::verify(
        token,
        &key,
        &Validation::new().audience("api"),
        1_800_000_100,
        &mut scratch,
    )
    .unwrap();
    assert_eq!(checked.claims.sub, Some("42"));

    let verify = |extra: &[&str]| {
        run(
            &[
                &["token", "verify", "--secret", SECRET, "--now", "1800000100"][..],
                extra,
                &[token],
            ]
            .concat(),
            None,
        )
    };
    let ok = verify(&["--iss", "rotor", "--aud", "api", "--sub", "42"]);
    ok.expect_code(0);
    assert_eq!(
        ok.json()["claims"],
        json!({"aud":"api","exp":1_800_000_900_u64,"iat":1_800_000_000_u64,"iss":"rotor","jti":"j1","sub":"42"})
    );
    invalid(&verify(&["--aud", "web"]), "invalid_audience");
    invalid(&verify(&["--sub", "43"]), "invalid_subject");
    invalid(&verify(&[]), "invalid_audience");
    // Expired 15 minutes after iat, within the default 30 s leeway before that.
    invalid(
        &run(
            &[
                "token",
                "verify",
                "--secret",
                SECRET,
                "--aud",
                "api",
                "--now",
                "1800000930",
                token,
            ],
            None,
        ),
        "expired",
    );
}

#[test]
fn sign_takes_claims_json_and_refuses_what_no_verifier_accepts() {
    let sign = |extra: &[&str]| {
        run(
            &[
                &["token", "sign", "--secret", SECRET, "--now", "1800000000"][..],
                extra,
            ]
            .concat(),
            None,
        )
    };
    let out = sign(&[
        "--claims",
        r#"{"sub":"7","role":"admin","n":[1,2.5,null]}"#,
        "--kid",
        "k1",
    ]);
    out.expect_code(0);
    let token = out.stdout.trim();
    let shown = run(&["token", "inspect", token], None);
    shown.expect_code(0);
    assert_eq!(
        shown.json(),
        json!({
            "verified": false,
            "header": {"alg": "HS256", "typ": "JWT", "kid": "k1"},
            "claims": {"exp": 1_800_000_900_u64, "iat": 1_800_000_000_u64, "n": [1, 2.5, null], "role": "admin", "sub": "7"},
        })
    );
    // The kid in the header does not stop a --secret without one from verifying.
    run(
        &[
            "token",
            "verify",
            "--secret",
            SECRET,
            "--now",
            "1800000001",
            token,
        ],
        None,
    )
    .expect_code(0);

    // exp from --claims is kept; --no-exp and --no-iat leave them out.
    let out = sign(&["--claims", r#"{"exp":1900000000}"#, "--no-iat"]);
    out.expect_code(0);
    let c = run(&["token", "inspect", out.stdout.trim()], None).json()["claims"].clone();
    assert_eq!(c, json!({"exp": 1_900_000_000_u64}));
    let out = sign(&["--no-exp", "--sub", "x"]);
    let c = run(&["token", "inspect", out.stdout.trim()], None).json()["claims"].clone();
    assert_eq!(c, json!({"iat": 1_800_000_000_u64, "sub": "x"}));
    // Such a token fails verification unless --allow-no-exp.
    invalid(
        &run(
            &[
                "token",
                "verify",
                "--secret",
                SECRET,
                "--now",
                "1800000001",
                out.stdout.trim(),
            ],
            None,
        ),
        "missing_claim",
    );
    run(
        &[
            "token",
            "verify",
            "--secret",
            SECRET,
            "--now",
            "1800000001",
            "--allow-no-exp",
            out.stdout.trim(),
        ],
        None,
    )
    .expect_code(0);

    // Usage errors: exit 2, one line.
    for (extra, needle) in [
        (
            &["--claims", r#"{"sub":"a","sub":"b"}"#][..],
            "duplicate member name `sub`",
        ),
        (&["--claims", "[1]"][..], "must be a JSON object"),
        (&["--claims", "{"][..], "not valid JSON"),
        (
            &["--claims", r#"{"sub":"a"}"#, "--sub", "b"][..],
            "claim `sub` is set twice",
        ),
        (
            &["--claims", r#"{"exp":5}"#, "--ttl", "1h"][..],
            "claim `exp` is set twice",
        ),
        (
            &["--claims", r#"{"exp":"tomorrow"}"#][..],
            "claim `exp` must be a non-negative integer",
        ),
        (
            &["--claims", r#"{"iat":-1}"#][..],
            "claim `iat` must be a non-negative integer",
        ),
        (
            &["--claims", r#"{"aud":[1]}"#][..],
            "claim `aud` must be a string",
        ),
        (
            &["--claims", r#"{"sub":5}"#][..],
            "claim `sub` must be a string",
        ),
        (&["--ttl", "15x"][..], "--ttl"),
        (&["--ttl", "0"][..], "--ttl must be positive"),
        (&["--kid", "bad\"kid"][..], "--kid"),
    ] {
        sign(extra).expect_code(2).expect_error(needle);
    }
    // Clap's own usage errors exit 2 as well.
    sign(&["--ttl", "1h", "--no-exp"]).expect_code(2);
    run(&["token", "sign", "--sub", "x"], None).expect_code(2);
}

#[test]
fn secrets_in_every_form() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("secret");
    std::fs::write(&file, format!("{SECRET}\n")).unwrap();
    let hex = format!("hex:{}", hex::encode(SECRET));
    let b64 = format!(
        "base64:{}",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, SECRET)
    );
    let file_form = format!("file:{}", file.display());
    let raw = format!("raw:{SECRET}");
    let mut tokens = Vec::new();
    for form in [
        SECRET,
        raw.as_str(),
        hex.as_str(),
        b64.as_str(),
        file_form.as_str(),
    ] {
        let out = run(
            &[
                "token",
                "sign",
                "--secret",
                form,
                "--sub",
                "1",
                "--now",
                "1800000000",
            ],
            None,
        );
        out.expect_code(0);
        tokens.push(out.stdout);
    }
    let out = crate::common::command(dir.path())
        .env("ROTOR_CLI_TEST_SECRET", SECRET)
        .args([
            "token",
            "sign",
            "--secret",
            "env:ROTOR_CLI_TEST_SECRET",
            "--sub",
            "1",
            "--now",
            "1800000000",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    tokens.push(String::from_utf8(out.stdout).unwrap());
    assert!(tokens.iter().all(|t| *t == tokens[0]), "{tokens:#?}");

    for (form, needle) in [
        ("short secret", "HS256 needs at least 32"),
        ("hex:abc", "not hex"),
        ("base64:a*b", "not base64"),
        ("env:ROTOR_CLI_TEST_UNSET_VARIABLE", "is not set"),
        ("file:/nonexistent/rotor-secret", "cannot read"),
    ] {
        let out = run(&["token", "sign", "--secret", form, "--sub", "1"], None);
        out.expect_code(2).expect_error(needle);
        // The secret never appears in the message.
        assert!(!out.stderr.contains("short secret"), "{out:#?}");
        let out = run(
            &["token", "verify", "--secret", form, RFC7515_A1_TOKEN],
            None,
        );
        out.expect_code(2).expect_error(needle);
        assert_eq!(out.stdout, "");
    }
}

#[test]
fn inspect_decodes_without_verifying_and_says_so() {
    let out = run(&["token", "inspect", RFC7515_A1_TOKEN], None);
    out.expect_code(0);
    assert!(out.stderr.contains("UNVERIFIED"), "{out:#?}");
    assert_eq!(
        out.json(),
        json!({"verified": false, "header": {"typ":"JWT","alg":"HS256"}, "claims": {"iss":"joe","exp":1_300_819_380,"http://example.com/is_root":true}})
    );
    // Expired, wrongly signed, alg:none: shown all the same (it verifies nothing).
    let none = format!(
        "eyJhbGciOiJub25lIn0.{}.x",
        RFC7515_A1_TOKEN.split('.').nth(1).unwrap()
    );
    let out = run(&["token", "inspect", "-"], Some(none.as_bytes()));
    out.expect_code(0);
    assert_eq!(out.json()["header"], json!({"alg":"none"}));
    // Duplicate claim names are shown as they are, not collapsed.
    let dup = format!(
        "eyJhbGciOiJIUzI1NiJ9.{}.x",
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            r#"{"sub":"a","sub":"b"}"#
        )
    );
    let out = run(&["token", "inspect", &dup], None);
    out.expect_code(0);
    assert!(
        out.stdout.contains(r#""claims":{"sub":"a","sub":"b"}"#),
        "{out:#?}"
    );

    // Only malformed input is refused: exit 1, one line, nothing on stdout, no UNVERIFIED output.
    for (input, kind) in [
        (&b"only.two"[..], "malformed"),
        (&RFC7515_A1_TOKEN.as_bytes()[..60], "malformed"),
        (&b"e30.a.x"[..], "invalid_base64"),
        (&b"bm90IGpzb24.e30.x"[..], "invalid_json"),
        (&b"\xff\xfe"[..], "malformed"),
        (&b""[..], "malformed"),
    ] {
        let out = run(&["token", "inspect", "-"], Some(input));
        out.expect_code(1).expect_error(&format!("({kind})"));
        assert_eq!(out.stdout, "", "{out:#?}");
    }
}

#[test]
fn inspect_handles_a_10_mb_token_quickly() {
    // A well-formed 10 MB token: one large claim.
    let payload = format!(r#"{{"sub":"big","pad":"{}"}}"#, "x".repeat(7_500_000));
    let token = format!(
        "eyJhbGciOiJIUzI1NiJ9.{}.sig",
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
    );
    assert!(token.len() > 10_000_000);
    let started = Instant::now();
    let out = run(&["token", "inspect", "-"], Some(token.as_bytes()));
    out.expect_code(0);
    assert_eq!(out.json()["claims"]["sub"], "big");
    // And 10 MB of garbage: a clean error.
    let out = run(
        &["token", "inspect", "-"],
        Some(&vec![b'.'; 10 * 1024 * 1024]),
    );
    out.expect_code(1).expect_error("(malformed)");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    // Past the 16 MiB input bound.
    let out = run(
        &["token", "inspect", "-"],
        Some(&vec![b'a'; 17 * 1024 * 1024]),
    );
    out.expect_code(1).expect_error("(too_large)");
}

/// A token with any header, MACed with `secret` through rotor-core's `Key::mac`.
fn hand_made(header: &str, claims: &str, secret: &str) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let tag = Key::new(secret.as_bytes()).unwrap().mac(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag))
}

#[test]
fn verify_header_checks_typ_and_crit() {
    let claims = r#"{"sub":"1","exp":1800000900}"#;
    let go = |token: &str, extra: &[&str]| {
        run(
            &[
                &["token", "verify", "--secret", SECRET, "--now", "1800000000"][..],
                extra,
                &[token],
            ]
            .concat(),
            None,
        )
    };
    let at = hand_made(r#"{"alg":"HS256","typ":"at+jwt"}"#, claims, SECRET);
    invalid(&go(&at, &[]), "unsupported_type");
    let ok = go(&at, &["--typ", "at+jwt"]);
    ok.expect_code(0);
    assert_eq!(ok.json()["header"]["typ"], "at+jwt");
    // Several --typ values; case does not matter (RFC 7515 §4.1.9).
    go(&at, &["--typ", "dpop+jwt", "--typ", "AT+JWT"]).expect_code(0);
    // An unknown critical extension is refused (RFC 7515 §4.1.11).
    let crit = hand_made(r#"{"alg":"HS256","crit":["exp"],"exp":1}"#, claims, SECRET);
    invalid(&go(&crit, &[]), "unsupported_critical");
    // A kid the secret was not given under: the kid only picks a key, the MAC decides.
    let kid = hand_made(r#"{"alg":"HS256","kid":"2026-11"}"#, claims, SECRET);
    go(&kid, &[]).expect_code(0);
    let kid_other = hand_made(r#"{"alg":"HS256","kid":"2026-11"}"#, claims, OTHER);
    invalid(&go(&kid_other, &[]), "bad_signature");
    // Duplicate claims behind a valid MAC (RFC 7519 §4).
    let dup = hand_made(
        r#"{"alg":"HS256"}"#,
        r#"{"sub":"1","sub":"2","exp":1800000900}"#,
        SECRET,
    );
    invalid(&go(&dup, &[]), "duplicate_member");
    // A token that is not valid yet.
    let early = hand_made(
        r#"{"alg":"HS256"}"#,
        r#"{"nbf":1800009999,"exp":1800099999}"#,
        SECRET,
    );
    invalid(&go(&early, &[]), "not_yet_valid");
}

#[test]
fn verify_help_lists_every_error_kind_of_the_core() {
    let help = run(&["token", "verify", "--help"], None);
    help.expect_code(0);
    for e in rotor_core::Error::ALL {
        assert!(
            help.stdout.contains(e.kind()),
            "`{}` missing from token verify --help:\n{}",
            e.kind(),
            help.stdout
        );
    }
    assert!(help.stdout.contains("jwe_header") && help.stdout.contains("invalid_subject"));
}
