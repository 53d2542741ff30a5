//! Flash probe: start-up, inputs and exit, with no call into rotor-core (the baseline).
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

#[entry]
fn main() -> ! {
    let (secret, token, now) = common::inputs();
    // Consume the inputs as the other probes do, without the core.
    let ok = black_box(secret.len() + token.len()) != 0 && black_box(now) != 0;
    common::finish(b"probe-base", ok)
}
