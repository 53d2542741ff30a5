//! Arbitrary bytes as a token: never panics, accepts only a real MAC.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rotor_fuzz_harness::verify::check(data));
