#![no_std]
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(unreachable_pub)]
#![cfg_attr(
    not(test),
    deny(
        clippy::panic,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

mod b64;
mod claims;
mod ct;
mod error;
mod header;
mod json;
mod key;
mod ser;
mod sign;
mod verify;

pub use claims::{
    Audience, Claims, RegisteredClaims, Validation, DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_LEN,
    MAX_NUMERIC_DATE,
};
pub use ct::{ct_eq, Fingerprint, Tag};
pub use error::Error;
pub use header::MAX_HEADER_MEMBERS;
pub use json::MAX_DEPTH;
pub use key::{Key, KeyRing, MAX_KID_LEN, MIN_SECRET_LEN, SIGNATURE_B64_LEN};
pub use sign::sign;
pub use subtle;
pub use verify::{inspect, scratch_len, verify, verify_with, Unverified, Verified};
