//! Pins each deliberate difference from `jsonwebtoken` to a committed seed that shows it, so a
//! change in either library that removes or alters a difference is noticed (and `fuzz/README.md`
//! updated), and so the explanations in the harness are known to fire.

use std::fs;
use std::path::Path;

use rotor_fuzz_harness::differential::{judge, Deliberate, Verdict};

fn verdict(seed: &str) -> Verdict {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus/differential")
        .join(seed);
    let data = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    // A seed that uses the clock is skipped if the second changes mid-check: try again.
    for _ in 0..5 {
        match judge(&data) {
            Verdict::Skipped => continue,
            v => return v,
        }
    }
    panic!("{seed}: skipped five times in a row");
}

#[test]
fn each_deliberate_difference_is_seen_on_its_seed() {
    let table: &[(&str, Deliberate)] = &[
        ("typ-other", Deliberate::Type),
        ("crit", Deliberate::Critical),
        ("b64-false", Deliberate::Critical),
        ("kid-unknown", Deliberate::KeyId),
        ("dup-unknown", Deliberate::Duplicate),
        ("exp-float", Deliberate::NumericDate),
        ("exp-exponent", Deliberate::NumericDate),
        ("exp-2-pow-63", Deliberate::NumericDate),
        ("exp-u64-max", Deliberate::NumericDate),
        ("iat-2-pow-63", Deliberate::NumericDate),
        ("jwe-enc", Deliberate::Jwe),
        ("jwe-zip", Deliberate::Jwe),
        ("sub-number", Deliberate::ClaimType),
        ("iss-array", Deliberate::ClaimType),
        ("aud-number", Deliberate::ClaimType),
        ("iat-future", Deliberate::IssuedInFuture),
        ("exp-now-minus-30", Deliberate::ExpiryBoundary),
        ("deep-65", Deliberate::Depth),
        ("deep-100", Deliberate::Depth),
        ("header-33-members", Deliberate::HeaderMembers),
        ("payload-array", Deliberate::NotObject),
        ("cty-number", Deliberate::IgnoredHeaderMember),
        ("number-1e400", Deliberate::NumberRange),
    ];
    for (seed, want) in table {
        assert_eq!(verdict(seed), Verdict::Deliberate(*want), "seed {seed}");
    }
}

#[test]
fn the_libraries_agree_elsewhere() {
    let table: &[(&str, Verdict)] = &[
        ("valid-minimal", Verdict::BothAccept),
        ("valid-empty-claims", Verdict::BothAccept),
        ("escapes", Verdict::BothRefuse), // carries `aud` with no audience expected
        ("aud-array", Verdict::BothRefuse),
        ("whitespace", Verdict::BothAccept),
        ("rfc7515-a1-resigned", Verdict::BothRefuse), // expired in 2011
        ("header-32-members", Verdict::BothAccept),
        ("exp-now-minus-31", Verdict::BothRefuse),
        ("exp-now-minus-29", Verdict::BothAccept),
        ("nbf-now-plus-30", Verdict::BothAccept),
        ("nbf-now-plus-31", Verdict::BothRefuse),
        ("all-times-now", Verdict::BothAccept),
        ("raw-valid-strict-policy", Verdict::BothAccept),
        ("strict-policy-wrong-aud", Verdict::BothRefuse),
        ("alg-none", Verdict::BothRefuse),
        ("alg-hs512", Verdict::BothRefuse),
        ("dup-alg", Verdict::BothRefuse),
        ("dup-exp", Verdict::BothRefuse),
        ("exp-u64-overflow", Verdict::BothRefuse),
        ("exp-i64-max", Verdict::BothAccept),
        ("nbf-u64-max", Verdict::BothRefuse), // jsonwebtoken: not valid yet
        ("jwe-dir", Verdict::BothRefuse),
        ("lone-surrogate", Verdict::BothRefuse),
        ("raw-rfc7515-a1", Verdict::BothRefuse), // signed with the RFC's key, not ours
    ];
    for (seed, want) in table {
        assert_eq!(verdict(seed), *want, "seed {seed}");
    }
}
