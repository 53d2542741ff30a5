//! Peak stack use of a call, measured by painting the free stack and finding the high-water mark.
//!
//! The device runs one thread on the main stack (MSP on the Cortex-M3, the one hart's stack on
//! RISC-V) with no interrupts enabled, so nothing but
//! the measured call writes below the stack pointer while a measurement runs.

use core::ptr::{addr_of, read_volatile, write_volatile};
use core::sync::atomic::{compiler_fence, Ordering};

/// The word written over the free stack before a measurement.
const PAINT: u32 = 0xC5AC_CE55;

extern "C" {
    // cortex-m-rt's `link.x`: the lowest address the stack may grow down to (end of .bss/.uninit).
    #[cfg(target_arch = "arm")]
    #[link_name = "_stack_end"]
    static STACK_END: u32;
    // riscv-rt's `link.x`: the bottom of the stack region (after .bss, .uninit and an empty heap).
    #[cfg(target_arch = "riscv32")]
    #[link_name = "__estack"]
    static STACK_END: u32;
}

/// What a measurement found.
pub struct Usage {
    /// Bytes of stack used below the caller's frame: the measured call and everything it calls.
    pub bytes: usize,
    /// Whether the painted area was used up, so `bytes` is only a lower bound.
    pub overflowed: bool,
}

/// Runs `f` and reports the deepest stack it reached.
///
/// The figure counts every byte below this function's own frame: the frame of a small
/// non-inlined trampoline, the closure's frame and all that it calls. Buffers the caller passes
/// in by reference live above and are not counted, as they are not the callee's stack.
#[inline(never)]
pub fn measure(f: &mut dyn FnMut()) -> Usage {
    let lowest = (addr_of_stack_end() + 3) & !3;
    let top = crate::platform::stack_pointer();

    // Paint [lowest, top). Nothing lives below the stack pointer, and this loop keeps its state in
    // registers and in this function's frame, which is above `top`.
    let mut p = lowest;
    while p < top {
        // SAFETY: `p` is word-aligned and inside RAM between the end of the statics and the
        // current stack pointer, which no live object occupies (single thread, no interrupts).
        unsafe { write_volatile(p as *mut u32, PAINT) };
        p += 4;
    }
    compiler_fence(Ordering::SeqCst);

    trampoline(f);

    compiler_fence(Ordering::SeqCst);
    let mut p = lowest;
    // SAFETY: same region as above, read word by word; it is plain RAM.
    while p < top && unsafe { read_volatile(p as *const u32) } == PAINT {
        p += 4;
    }
    Usage {
        bytes: top - p,
        overflowed: p == lowest,
    }
}

/// A real call, so whatever the optimiser inlines into the closure still lands below `top`.
#[inline(never)]
fn trampoline(f: &mut dyn FnMut()) {
    f();
}

fn addr_of_stack_end() -> usize {
    // Only the symbol's address is taken.
    addr_of!(STACK_END) as usize
}
