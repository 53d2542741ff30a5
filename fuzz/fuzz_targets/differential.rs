//! Same token through rotor-core and jsonwebtoken: agree, or a documented difference.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rotor_fuzz_harness::differential::check(data));
