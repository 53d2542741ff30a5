//! `secret generate`.

use rotor_server::config::{Config, Secret};
use rotor_server::keys::Keys;

use crate::common::run;

#[test]
fn generates_long_random_secrets_the_server_accepts_with_its_kid() {
    let a = run(&["secret", "generate"], None);
    a.expect_code(0);
    let b = run(&["secret", "generate"], None);
    let (sa, sb) = (a.stdout.trim(), b.stdout.trim());
    assert_eq!(a.stdout.lines().count(), 1);
    assert_eq!(sa.len(), 43, "32 bytes in unpadded base64url: {a:#?}");
    assert!(sa
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    assert_ne!(sa, sb);

    // The kid printed is the one the server derives from this secret.
    let kid = a
        .stderr
        .strip_prefix("kid: ")
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("{a:#?}"));
    let cfg = Config {
        access_token_secret: Some(Secret::new(sa)),
        refresh_token_secret: Some(Secret::new(sb)),
        ..Config::default()
    };
    let keys = Keys::from_config(&cfg, false).expect("the server accepts generated secrets");
    assert_eq!(keys.access.primary().and_then(|k| k.kid()), Some(kid));

    // A token signed with --server-kid verifies against the server's own key ring.
    let out = run(
        &[
            "token",
            "sign",
            "--secret",
            sa,
            "--server-kid",
            "--sub",
            "u1",
            "--now",
            "1800000000",
        ],
        None,
    );
    out.expect_code(0);
    let mut scratch = [0u8; 1024];
    let ok = rotor_core::verify(
        out.stdout.trim(),
        &keys.access,
        &rotor_core::Validation::new(),
        1_800_000_001,
        &mut scratch,
    )
    .expect("the server's ring verifies it");
    assert_eq!(ok.claims.sub, Some("u1"));
    // Without the kid, the server's ring (every key has one) does not pick a key.
    let out = run(
        &[
            "token",
            "sign",
            "--secret",
            sa,
            "--sub",
            "u1",
            "--now",
            "1800000000",
        ],
        None,
    );
    let err = rotor_core::verify(
        out.stdout.trim(),
        &keys.access,
        &rotor_core::Validation::new(),
        1_800_000_001,
        &mut scratch,
    )
    .unwrap_err();
    assert_eq!(err, rotor_core::Error::UnknownKeyId);
}

#[test]
fn bytes_and_json_output() {
    let out = run(&["secret", "generate", "--bytes", "64", "--json"], None);
    out.expect_code(0);
    let v = out.json();
    assert_eq!(v["bytes"], 64);
    assert_eq!(v["secret"].as_str().unwrap().len(), 86);
    assert_eq!(v["kid"].as_str().unwrap().len(), 16);
    assert_eq!(out.stderr, "");

    run(&["secret", "generate", "--bytes", "31"], None)
        .expect_code(2)
        .expect_error("at least 32");
    run(&["secret", "generate", "--bytes", "0"], None).expect_code(2);
    run(&["secret", "generate", "--bytes", "100000"], None)
        .expect_code(2)
        .expect_error("at most");
    run(&["secret", "generate", "--bytes", "-1"], None).expect_code(2);
    run(&["secret", "generate", "--bytes", "many"], None).expect_code(2);
}
