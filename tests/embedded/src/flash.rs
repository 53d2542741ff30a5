//! Flash occupied by this image, from the section symbols of the cortex-m-rt or riscv-rt linker
//! script (both use these names).

extern "C" {
    // Defined by cortex-m-rt's and riscv-rt's `link.x`: the load address (in flash) of `.data` and
    // its bounds in RAM. `.data` is the last section placed in flash, after the vector table (or
    // start-up and trap code), `.text` and `.rodata`, so its load end is the end of the image.
    static __sidata: u32;
    static __sdata: u32;
    static __edata: u32;
}

/// Start of FLASH in `memory-thumbv7m.x`.
#[cfg(target_arch = "arm")]
const FLASH_ORIGIN: usize = 0x0000_0000;
/// Start of FLASH in `memory-riscv32.x`.
#[cfg(target_arch = "riscv32")]
const FLASH_ORIGIN: usize = 0x8000_0000;

/// Bytes of flash this image occupies: vector table, code, read-only data and `.data` initialisers.
pub fn image_bytes() -> usize {
    // Only the addresses of the linker symbols are taken; nothing is read through them.
    let sidata = core::ptr::addr_of!(__sidata) as usize;
    let sdata = core::ptr::addr_of!(__sdata) as usize;
    let edata = core::ptr::addr_of!(__edata) as usize;
    sidata + (edata - sdata) - FLASH_ORIGIN
}
