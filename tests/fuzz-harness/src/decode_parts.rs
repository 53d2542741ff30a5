//! `decode_parts`: the header and claims parsers, reached through the public API (`inspect`,
//! `verify`, `verify_with`) with tokens correctly signed over fuzzed JSON or fuzzed base64url.
//!
//! Input layout: byte 0 picks the mode (even: the segments are JSON text that the check
//! encodes; odd: the segments are used as base64url text as they are), byte 1 is the length of
//! the header part, the rest is header then payload.

use rotor_core::{inspect, scratch_len, verify, verify_with, Error};
use serde::Deserialize;
use serde_json::Value;

use crate::common::{self, assert_claims_match, has_duplicate_member, nesting_depth};
use crate::verify::permissive;

/// Deepest nesting `rotor-core` accepts ([`rotor_core::MAX_DEPTH`]).
pub const MAX_DEPTH: usize = rotor_core::MAX_DEPTH as usize;

/// A caller's claims type: a borrowed string, numbers, a flag and a bounded list, all optional,
/// so `verify_with` runs serde-json-core over the payload.
#[derive(Debug, Deserialize)]
struct Custom<'a> {
    #[serde(borrow, default)]
    name: Option<&'a str>,
    #[serde(default)]
    n: Option<i64>,
    #[serde(default)]
    flag: Option<bool>,
    #[serde(default)]
    list: Option<heapless::Vec<u32, 4>>,
}

/// Runs the check on one input.
///
/// # Panics
/// If `rotor-core` panics; refuses a JSON object that `serde_json` reads (within the nesting
/// limit); accepts text that is not a JSON object; gives canonical text that means something
/// else than the input or is not a fixed point; says its scratch of `scratch_len` is too
/// small; or reads claims that differ from the payload.
pub fn check(data: &[u8]) {
    let [mode, split, rest @ ..] = data else {
        return;
    };
    let split = usize::from(*split).min(rest.len());
    let (header, payload) = rest.split_at(split);
    let key = common::key();
    let token = if mode.is_multiple_of(2) {
        common::forge(&key, header, payload)
    } else {
        common::sign_segments(&key, header, payload)
    };
    let Ok(token) = String::from_utf8(token) else {
        return;
    };
    let mut scratch = vec![0u8; scratch_len(token.len())];
    let result = inspect(&token, &mut scratch);
    if mode.is_multiple_of(2) {
        match result {
            Ok(parts) => {
                canonical_matches(header, parts.header, "header");
                canonical_matches(payload, parts.payload, "payload");
            }
            Err(e) => refusal_is_right(e, header, payload),
        }
    } else if let Err(e) = result {
        assert!(
            matches!(
                e,
                Error::Malformed | Error::InvalidBase64 | Error::InvalidJson
            ),
            "inspect gave {e:?} for base64 segments {:?}",
            token
        );
    }

    let mut scratch = vec![0u8; scratch_len(token.len())];
    let verified = verify(&token, &key, &permissive(), 0, &mut scratch).ok();
    let payload_text = verified.map(|_| {
        let mut s = vec![0u8; scratch_len(token.len())];
        inspect(&token, &mut s)
            .expect("verify accepted what inspect refuses")
            .payload
            .to_owned()
    });
    if let (Some(ok), Some(text)) = (&verified, &payload_text) {
        if let Ok(payload) = serde_json::from_str::<Value>(text) {
            assert_claims_match(&ok.claims, &payload, "decode_parts");
        }
    }

    let mut scratch = vec![0u8; scratch_len(token.len())];
    match verify_with::<Custom<'_>, _>(&token, &key, &permissive(), 0, &mut scratch) {
        Ok(custom) => {
            let text = payload_text.expect("verify_with accepted what verify refuses");
            let payload: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let c = custom.custom;
            if let Some(v) = payload.get("name") {
                assert_eq!(c.name, v.as_str(), "name read differently");
            }
            if let Some(v) = payload.get("n") {
                assert_eq!(c.n, v.as_i64(), "n read differently");
            }
            if let Some(v) = payload.get("flag") {
                assert_eq!(c.flag, v.as_bool(), "flag read differently");
            }
            if let (Some(list), Some(Value::Array(want))) = (&c.list, payload.get("list")) {
                let want: Vec<Option<u64>> = want.iter().map(Value::as_u64).collect();
                let got: Vec<Option<u64>> = list.iter().map(|&x| Some(u64::from(x))).collect();
                assert_eq!(got, want, "list read differently");
            }
        }
        Err(e) => {
            if verified.is_some() {
                assert!(
                    matches!(e, Error::InvalidClaims | Error::BufferTooSmall),
                    "verify accepted, verify_with gave {e:?}"
                );
            }
        }
    }
}

/// The canonical text must mean what the input means, and be its own canonical form.
fn canonical_matches(raw: &[u8], canonical: &str, part: &str) {
    assert!(
        std::str::from_utf8(raw).is_ok(),
        "{part}: accepted invalid UTF-8 {raw:?}"
    );
    assert!(
        nesting_depth(raw) <= MAX_DEPTH,
        "{part}: accepted nesting deeper than {MAX_DEPTH}"
    );
    let want = serde_json::from_slice::<Value>(raw);
    let got = serde_json::from_str::<Value>(canonical);
    match (want, got) {
        (Ok(want), Ok(got)) => {
            assert!(want.is_object(), "{part}: accepted a non-object {want}");
            if !has_duplicate_member(raw) {
                assert_eq!(
                    got, want,
                    "{part}: canonical text {canonical:?} changed meaning"
                );
            }
        }
        (Err(a), Err(b)) => assert!(
            common::number_out_of_range(raw) && common::number_out_of_range(canonical.as_bytes()),
            "{part}: accepted text serde_json refuses ({a}; canonical: {b})"
        ),
        (Ok(_), Err(e)) => panic!("{part}: canonical text {canonical:?} is not JSON: {e}"),
        (Err(e), Ok(_)) => panic!("{part}: accepted {raw:?}, which serde_json refuses: {e}"),
    }
    // A fixed point: canonicalising the canonical text changes nothing.
    let key = common::key();
    let again = String::from_utf8(common::forge(&key, canonical.as_bytes(), b"{}"))
        .expect("base64 is ASCII");
    let mut scratch = vec![0u8; scratch_len(again.len())];
    let parts = inspect(&again, &mut scratch)
        .unwrap_or_else(|e| panic!("{part}: canonical text {canonical:?} refused: {e}"));
    assert_eq!(parts.header, canonical, "{part}: canonical form not stable");
}

/// `inspect` refused JSON segments: only acceptable if one of them is not a JSON object that
/// `serde_json` reads within the nesting limit.
fn refusal_is_right(e: Error, header: &[u8], payload: &[u8]) {
    if header.is_empty() || payload.is_empty() {
        assert_eq!(e, Error::Malformed, "empty segment");
        return;
    }
    assert_eq!(
        e,
        Error::InvalidJson,
        "inspect refused JSON segments with {e:?}"
    );
    let readable = |raw: &[u8]| {
        serde_json::from_slice::<Value>(raw).is_ok_and(|v| v.is_object())
            && nesting_depth(raw) <= MAX_DEPTH
    };
    assert!(
        !(readable(header) && readable(payload)),
        "inspect refused valid JSON objects: header {:?}, payload {:?}",
        String::from_utf8_lossy(header),
        String::from_utf8_lossy(payload)
    );
}
