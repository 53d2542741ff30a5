//! What every flash probe shares: inputs, output without `core::fmt`, exit, panic and fault handlers.
//!
//! The probes differ only in which rotor-core calls they make, so the difference of their flash
//! sizes is what those calls cost. Nothing here formats with `core::fmt`, so formatting code is
//! counted only if the core itself pulls it in.

use core::hint::black_box;

use crate::platform::exit;
use crate::platform::semihosting::{debug, hio};

/// Key of RFC 7515 Appendix A.1 (the JWK `k`, decoded).
pub const SECRET: [u8; 64] = [
    3, 35, 53, 75, 43, 15, 165, 188, 131, 126, 6, 101, 119, 123, 166, 143, 90, 179, 40, 230, 240,
    84, 201, 40, 169, 15, 132, 178, 210, 80, 46, 191, 211, 251, 90, 146, 210, 6, 71, 239, 150, 138,
    180, 195, 119, 98, 61, 34, 61, 46, 33, 114, 5, 46, 79, 8, 192, 205, 154, 245, 103, 208, 128,
    163,
];
/// RFC 7515 Appendix A.1 token.
pub const TOKEN: &str = concat!(
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9",
    ".",
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ",
    ".",
    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
);
/// Its `exp`.
pub const EXP: u64 = 1_300_819_380;

/// The inputs, hidden from the optimiser so no probe can fold them into constants. The base probe
/// calls this too, so the inputs' own bytes are part of the baseline.
pub fn inputs() -> (&'static [u8], &'static str, u64) {
    black_box((&SECRET[..], TOKEN, EXP - 100))
}

/// Writes `bytes` to the host's stdout.
pub fn print(bytes: &[u8]) {
    if let Ok(mut out) = hio::hstdout() {
        let _ = out.write_all(bytes);
    }
}

/// Prints `<label><n> bytes\n` with `n` in decimal.
pub fn print_bytes_line(label: &[u8], n: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    print(label);
    print(&digits[i..]);
    print(b" bytes\n");
}

/// Reports the image size and exits with `ok` as the status.
pub fn finish(name: &[u8], ok: bool) -> ! {
    print(name);
    print_bytes_line(b" image flash: ", crate::flash::image_bytes());
    if !ok {
        print(name);
        print(b": FAILED: the core's result differs from the expected one\n");
    }
    exit(if ok {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    })
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    print(b"PANIC\n");
    exit(debug::EXIT_FAILURE)
}

#[cfg(target_arch = "arm")]
#[cortex_m_rt::exception]
unsafe fn HardFault(_: &cortex_m_rt::ExceptionFrame) -> ! {
    print(b"HARD FAULT\n");
    exit(debug::EXIT_FAILURE)
}

/// Any trap: riscv-rt calls this.
#[cfg(target_arch = "riscv32")]
#[export_name = "ExceptionHandler"]
fn exception_handler(_: &riscv_rt::TrapFrame) -> ! {
    print(b"EXCEPTION\n");
    exit(debug::EXIT_FAILURE)
}
