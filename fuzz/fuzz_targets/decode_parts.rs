//! Header and claims parsers on fuzzed JSON and base64url, via inspect and verify.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rotor_fuzz_harness::decode_parts::check(data));
