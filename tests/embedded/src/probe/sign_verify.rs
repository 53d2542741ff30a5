//! Flash probe: `Key::new`, `sign` of the registered claims and `verify` of the result.
#![no_std]
#![no_main]

mod common;
#[path = "../flash.rs"]
mod flash;
#[allow(dead_code)] // The probes use start-up and exit only.
#[path = "../platform.rs"]
mod platform;

use core::hint::black_box;

use platform::entry;
use rotor_core::{sign, verify, Claims, Key, Validation};

#[entry]
fn main() -> ! {
    let (secret, _, now) = common::inputs();
    let claims = Claims {
        sub: Some(black_box("sensor-7")),
        exp: Some(now + 600),
        iat: Some(now),
        ..Claims::default()
    };
    let mut buf = [0u8; 256];
    let mut scratch = [0u8; 256];
    let ok = match Key::new(secret) {
        Ok(key) => match sign(&key, &claims, &mut buf) {
            Ok(token) => matches!(
                verify(black_box(token), &key, &Validation::new(), now, &mut scratch),
                Ok(v) if v.claims.sub == Some("sensor-7") && v.claims.exp == Some(now + 600)
            ),
            Err(_) => false,
        },
        Err(_) => false,
    };
    common::finish(b"probe-sign-verify", ok)
}
