//! `buffers`: sign and verify with every buffer size from 0 to the size needed. A buffer that is
//! too small must give [`Error::BufferTooSmall`], never a panic and never a truncated token.

use arbitrary::{Arbitrary, Unstructured};
use rotor_core::{inspect, scratch_len, sign, verify, verify_with, Error, Validation};

use serde::Deserialize;

use crate::common::ClaimsInput;

/// A caller's claims type with no fields: every claim is skipped.
#[derive(Debug, Deserialize)]
struct Nothing {}

/// Owned copy of what verification returned, to compare across buffer sizes.
type Seen = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<u64>,
    Option<u64>,
    Option<u64>,
);

/// Runs the check on one input.
///
/// # Panics
/// If any size below the needed one gives anything but `BufferTooSmall`, if the needed size
/// (or more) does not give the same token, or if verification or inspection with a smaller
/// scratch than [`scratch_len`] returns anything but `BufferTooSmall` or the full result.
pub fn check(data: &[u8]) {
    let Ok(input) = ClaimsInput::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let key = input.key();
    let claims = input.claims();
    let mut big = vec![0u8; input.token_len_bound()];
    if !input.dates_in_range() {
        // A date above `i64::MAX` is never signed: verifiers refuse it (RFC 7519 §2 NumericDate).
        assert_eq!(
            sign(&key, &claims, &mut big).map(|_| ()),
            Err(Error::InvalidClaims),
            "signed a date above i64::MAX: {claims:?}"
        );
        return;
    }
    let token = sign(&key, &claims, &mut big)
        .unwrap_or_else(|e| panic!("sign failed within a sufficient buffer: {e}"))
        .to_owned();
    let needed = token.len();

    let mut buf = vec![0u8; needed + 3];
    for size in 0..needed {
        buf.fill(0xA5);
        match sign(&key, &claims, &mut buf[..size]) {
            Err(Error::BufferTooSmall) => {}
            other => panic!("sign into {size} of {needed} bytes gave {other:?}"),
        }
    }
    for size in needed..=needed + 3 {
        buf.fill(0xA5);
        let got = sign(&key, &claims, &mut buf[..size])
            .unwrap_or_else(|e| panic!("sign into {size} of {needed} bytes failed: {e}"));
        assert_eq!(got, token, "sign into {size} bytes gave a different token");
    }

    let validation = Validation::new()
        .require_exp(false)
        .leeway(u64::MAX)
        .max_token_len(usize::MAX);
    let validation = match claims.aud {
        Some(aud) => validation.audience(aud),
        None => validation,
    };
    let full = scratch_len(needed);
    let mut scratch = vec![0u8; full];
    let want = seen(
        &verify(&token, &key, &validation, 0, &mut scratch)
            .unwrap_or_else(|e| panic!("own token refused with a full scratch: {e}"))
            .claims,
    );
    let want_parts = {
        let p = inspect(&token, &mut scratch).expect("inspect with a full scratch");
        (p.header.to_owned(), p.payload.to_owned())
    };
    for size in 0..=full {
        let s = &mut scratch[..size];
        s.fill(0x5A);
        match verify(&token, &key, &validation, 0, s) {
            Ok(ok) => assert_eq!(
                seen(&ok.claims),
                want,
                "verify with {size} bytes of scratch"
            ),
            Err(Error::BufferTooSmall) if size < full => {}
            Err(e) => panic!("verify with {size} of {full} scratch bytes gave {e}"),
        }
        s.fill(0x5A);
        match verify_with::<Nothing, _>(&token, &key, &validation, 0, s) {
            Ok(ok) => assert_eq!(seen(&ok.claims), want, "verify_with, {size} bytes"),
            Err(Error::BufferTooSmall) if size < full => {}
            Err(e) => panic!("verify_with with {size} of {full} scratch bytes gave {e}"),
        }
        s.fill(0x5A);
        match inspect(&token, s) {
            Ok(p) => assert_eq!(
                (p.header, p.payload),
                (want_parts.0.as_str(), want_parts.1.as_str()),
                "inspect with {size} bytes of scratch"
            ),
            Err(Error::BufferTooSmall) if size < full => {}
            Err(e) => panic!("inspect with {size} of {full} scratch bytes gave {e}"),
        }
    }
}

fn seen(c: &rotor_core::RegisteredClaims<'_>) -> Seen {
    (
        c.iss.map(str::to_owned),
        c.sub.map(str::to_owned),
        c.aud.map(|a| a.as_json().to_owned()),
        c.jti.map(str::to_owned),
        c.exp,
        c.nbf,
        c.iat,
    )
}
