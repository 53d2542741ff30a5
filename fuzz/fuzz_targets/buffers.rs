//! Every buffer size from 0 to the needed one: a clean error, never a panic or truncation.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rotor_fuzz_harness::buffers::check(data));
