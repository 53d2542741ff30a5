//! Project Wycheproof HMAC-SHA256 vectors (`tests/data/wycheproof/`, Apache-2.0), run through
//! the precomputed-key path `Key::new(..).mac(..)`.

use rotor_core::{Error, Key, MIN_SECRET_LEN};
use rotor_tests::hex;
use serde::Deserialize;

const VECTORS: &str = include_str!("../../data/wycheproof/hmac_sha256_test.json");

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct File {
    algorithm: String,
    number_of_tests: usize,
    test_groups: Vec<Group>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Group {
    key_size: usize,
    tag_size: usize,
    tests: Vec<Vector>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Vector {
    tc_id: u32,
    key: String,
    msg: String,
    tag: String,
    result: String,
}

#[derive(Debug, Default)]
struct Counts {
    /// Full-length tags with a key `Key::new` accepts.
    run: usize,
    /// Of those, vectors whose result is "invalid" (modified tags).
    run_invalid: usize,
    /// Vectors whose key is shorter than 32 bytes: `Key::new` must refuse the key.
    refused: usize,
    /// Truncated tags (HMAC-SHA256-128), compared on their prefix.
    truncated: usize,
}

#[test]
fn wycheproof_hmac_sha256() {
    let file: File = serde_json::from_str(VECTORS).expect("the vector file parses");
    assert_eq!(file.algorithm, "HMACSHA256");
    let mut counts = Counts::default();
    let mut seen = 0;
    for group in &file.test_groups {
        for v in &group.tests {
            seen += 1;
            let key = hex(&v.key);
            let msg = hex(&v.msg);
            let tag = hex(&v.tag);
            assert_eq!(key.len() * 8, group.key_size, "tcId {}", v.tc_id);
            assert_eq!(tag.len() * 8, group.tag_size, "tcId {}", v.tc_id);
            let valid = match v.result.as_str() {
                "valid" => true,
                "invalid" => false,
                other => panic!("tcId {}: unexpected result {other:?}", v.tc_id),
            };
            if key.len() < MIN_SECRET_LEN {
                // RFC 7518 §3.2: a key of the same size as the hash output or larger MUST be used.
                assert_eq!(
                    Key::new(&key).map(|_| ()),
                    Err(Error::WeakKey),
                    "tcId {}: {}-byte key accepted",
                    v.tc_id,
                    key.len()
                );
                counts.refused += 1;
                continue;
            }
            let mac = Key::new(&key)
                .unwrap_or_else(|e| panic!("tcId {}: key refused: {e}", v.tc_id))
                .mac(&msg);
            let computed = &mac.as_bytes()[..tag.len()];
            assert_eq!(
                computed == tag.as_slice(),
                valid,
                "tcId {} ({} tag bits)",
                v.tc_id,
                group.tag_size
            );
            if tag.len() == mac.as_bytes().len() {
                counts.run += 1;
                counts.run_invalid += usize::from(!valid);
            } else {
                counts.truncated += 1;
            }
        }
    }
    println!("wycheproof hmac_sha256: {counts:?} of {seen} vectors");
    assert_eq!(seen, file.number_of_tests);
    assert!(counts.run > 0, "no full-length vector was run");
    assert!(counts.run_invalid > 0, "no modified-tag vector was run");
    assert!(counts.refused > 0, "no short-key vector was refused");
    assert_eq!(
        counts.run + counts.refused + counts.truncated,
        seen,
        "every vector is accounted for"
    );
}
