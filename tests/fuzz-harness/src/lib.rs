//! Property checks for `rotor-core`, shared by the cargo-fuzz targets in `fuzz/` and by the
//! stable-toolchain replay test that runs every committed corpus and crash file.
//!
//! Each check takes raw fuzzer bytes and panics, with a message that says which property broke,
//! when `rotor-core` misbehaves. Inputs that do not make sense for a check (for example bytes
//! that are not UTF-8 where a `&str` token is needed) are skipped without a panic.
//!
//! Only the public API of `rotor-core` is used: one small check per property, in the manner of
//! the rustls and httparse fuzz suites.

pub mod buffers;
pub mod common;
pub mod decode_parts;
pub mod differential;
pub mod roundtrip;
pub mod seeds;
pub mod verify;

/// A property check over raw fuzzer bytes; panics when the property breaks.
pub type Check = fn(&[u8]);

/// Every check by target name, as used for `fuzz/corpus/<name>/` and `fuzz/artifacts/<name>/`.
pub const TARGETS: &[(&str, Check)] = &[
    ("verify", verify::check),
    ("decode_parts", decode_parts::check),
    ("roundtrip", roundtrip::check),
    ("differential", differential::check),
    ("buffers", buffers::check),
];
