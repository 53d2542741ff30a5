//! `roundtrip`: arbitrary claims are signed, verified, and must come back equal; then any
//! single-byte change to the token must be refused.

use arbitrary::{Arbitrary, Unstructured};
use rotor_core::{scratch_len, sign, verify, Validation};
use serde_json::Value;

use crate::common::{self, ClaimsInput};

/// Claims plus the byte to change.
#[derive(Arbitrary, Debug)]
struct Input {
    claims: ClaimsInput,
    mutate_at: u16,
    mutate_xor: u8,
}

/// Runs the check on one input.
///
/// # Panics
/// If signing fails within a buffer that always suffices, the token is not the documented
/// header and payload, verification refuses it, the claims come back different, or a token with
/// one byte changed is accepted.
pub fn check(data: &[u8]) {
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let key = input.claims.key();
    let claims = input.claims.claims();
    let mut buf = vec![0u8; input.claims.token_len_bound()];
    if !input.claims.dates_in_range() {
        // A date above `i64::MAX` is never signed: verifiers refuse it (RFC 7519 §2 NumericDate).
        assert_eq!(
            sign(&key, &claims, &mut buf).map(|_| ()),
            Err(rotor_core::Error::InvalidClaims),
            "signed a date above i64::MAX: {claims:?}"
        );
        return;
    }
    let token = sign(&key, &claims, &mut buf)
        .unwrap_or_else(|e| panic!("sign failed within a sufficient buffer: {e} for {claims:?}"));

    // The payload is the JSON of the claims, absent ones left out (RFC 7519 §4.1).
    let [h, p, _] = common::segments(token.as_bytes()).expect("three segments");
    assert_eq!(
        h,
        key.header_b64().as_bytes(),
        "header is not the key's header"
    );
    let payload: Value = serde_json::from_slice(&common::unb64(p).expect("canonical base64url"))
        .expect("payload is JSON");
    let want = serde_json::to_value(claims).expect("claims serialise");
    assert_eq!(payload, want, "signed payload differs from the claims");

    // Time checks off (the leeway saturates); the audience, if any, expected.
    let mut validation = Validation::new()
        .require_exp(false)
        .leeway(u64::MAX)
        .max_token_len(usize::MAX);
    if let Some(aud) = claims.aud {
        validation = validation.audience(aud);
    }
    let mut scratch = vec![0u8; scratch_len(token.len())];
    let ok = verify(token, &key, &validation, 0, &mut scratch)
        .unwrap_or_else(|e| panic!("own token refused: {e} for {claims:?}"));
    let c = ok.claims;
    assert_eq!(
        (c.iss, c.sub, c.jti, c.exp, c.nbf, c.iat),
        (claims.iss, claims.sub, claims.jti, claims.exp, claims.nbf, claims.iat),
        "claims came back different"
    );
    let aud_back = c
        .aud
        .map(|a| serde_json::from_str::<Value>(a.as_json()).ok());
    assert_eq!(
        aud_back,
        claims.aud.map(|a| Some(Value::from(a))),
        "aud came back different"
    );

    // Every byte is covered by the MAC or is the MAC, and the signature segment is compared in
    // its canonical spelling, so any single-byte change must be refused.
    let mut mutated = token.as_bytes().to_vec();
    let at = usize::from(input.mutate_at) % mutated.len();
    mutated[at] ^= input.mutate_xor.max(1);
    if let Ok(mutated) = std::str::from_utf8(&mutated) {
        let mut scratch = vec![0u8; scratch_len(mutated.len())];
        assert!(
            verify(mutated, &key, &validation, 0, &mut scratch).is_err(),
            "accepted the token with byte {at} changed: {mutated}"
        );
    }
}
