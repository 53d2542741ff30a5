#!/usr/bin/env bash
# Builds rotor-core (the library alone, release, with and without `zeroize`) for every bare-metal
# and wasm target it supports, so a change that breaks a 32-bit, atomics-free or FPU target is
# caught without running it. Device runs are in run.sh (Cortex-M3) and run-riscv.sh (RISC-V 32).
#
#   tests/embedded/targets.sh                 # every target below
#   TARGETS="thumbv6m-none-eabi" tests/embedded/targets.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
# Flags from the environment would apply to every target; the core needs none.
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS

read -r -a targets <<<"${TARGETS:-thumbv6m-none-eabi thumbv7m-none-eabi thumbv7em-none-eabihf riscv32imc-unknown-none-elf wasm32-unknown-unknown}"

if command -v rustup >/dev/null; then
  rustup target add "${targets[@]}" >/dev/null
fi
for t in "${targets[@]}"; do
  for features in "" zeroize; do
    printf '\n--- rotor-core for %s%s\n' "$t" "${features:+ (features: $features)}"
    cargo build -p rotor-core --release --locked --target "$t" ${features:+--features "$features"}
  done
done
echo "targets: rotor-core builds for ${targets[*]}"
