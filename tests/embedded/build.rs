//! Puts the target's memory map on the linker search path as `memory.x` (`memory-thumbv7m.x` for the
//! Cortex-M3, `memory-riscv32.x` for RISC-V 32; neither is named `memory.x` in this directory, which
//! the linker would search first), passes the target triple to the code, and
//! rebuilds when either changes.

use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let target = env::var("TARGET").expect("cargo sets TARGET");
    let memory: &[u8] = if target.starts_with("riscv32") {
        include_bytes!("memory-riscv32.x")
    } else {
        include_bytes!("memory-thumbv7m.x")
    };
    fs::write(out.join("memory.x"), memory).expect("write memory.x to OUT_DIR");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rustc-env=ROTOR_EMBEDDED_TARGET={target}");
    println!("cargo:rerun-if-changed=memory-thumbv7m.x");
    println!("cargo:rerun-if-changed=memory-riscv32.x");
    println!("cargo:rerun-if-changed=build.rs");
}
