//! Flash probe: `Key::new` and `verify` of RFC 7515 Appendix A.1 (both header paths are linked:
//! the choice between them is made at run time).
#![no_std]
#![no_main]

mod common;
#[path = "../flash.rs"]
mod flash;
#[allow(dead_code)] // The probes use start-up and exit only.
#[path = "../platform.rs"]
mod platform;

use platform::entry;
use rotor_core::{verify, Key, Validation};

#[entry]
fn main() -> ! {
    let (secret, token, now) = common::inputs();
    let mut scratch = [0u8; 256];
    let ok = match Key::new(secret) {
        Ok(key) => matches!(
            verify(token, &key, &Validation::new(), now, &mut scratch),
            Ok(v) if v.claims.exp == Some(common::EXP) && v.claims.iss == Some("joe")
        ),
        Err(_) => false,
    };
    common::finish(b"probe-verify", ok)
}
