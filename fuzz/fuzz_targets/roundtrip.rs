//! Arbitrary claims sign, verify and come back equal; one changed byte is refused.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rotor_fuzz_harness::roundtrip::check(data));
