//! What differs between the two emulated devices: start-up, semihosting, the stack pointer and
//! exit. Cortex-M3 (`thumbv7m-none-eabi`, QEMU `lm3s6965evb`) uses cortex-m-rt and ARM
//! semihosting; RISC-V 32 (`riscv32imc-unknown-none-elf`, QEMU `virt`) uses riscv-rt and RISC-V
//! semihosting. Everything else is shared.

#[cfg(target_arch = "arm")]
pub use cortex_m_rt::entry;
#[cfg(target_arch = "arm")]
pub use cortex_m_semihosting as semihosting;
#[cfg(target_arch = "riscv32")]
pub use riscv_rt::entry;
#[cfg(target_arch = "riscv32")]
pub use riscv_semihosting as semihosting;

/// The target triple this image was built for.
pub const TARGET: &str = env!("ROTOR_EMBEDDED_TARGET");

/// The current stack pointer.
#[cfg(target_arch = "arm")]
#[inline(always)]
pub fn stack_pointer() -> usize {
    cortex_m::register::msp::read() as usize
}

/// The current stack pointer.
#[cfg(target_arch = "riscv32")]
#[inline(always)]
pub fn stack_pointer() -> usize {
    let sp: usize;
    // SAFETY: copies the stack pointer into a general register; no memory is read or written.
    unsafe { core::arch::asm!("mv {}, sp", out(reg) sp, options(nomem, nostack, preserves_flags)) };
    sp
}

/// Ends the run with `status` through semihosting (QEMU exits with 0 or 1).
pub fn exit(status: semihosting::debug::ExitStatus) -> ! {
    semihosting::debug::exit(status);
    // Only reached without a semihosting host; nothing left to do.
    loop {
        core::hint::spin_loop();
    }
}
