#!/usr/bin/env bash
# Runs rotor-core on an emulated Cortex-M3 (QEMU lm3s6965evb) and reports its footprint.
#
#   tests/embedded/run.sh
#
# Installs what it needs on a fresh machine (the thumbv7m-none-eabi target, qemu-system-arm),
# builds the device test and the flash probes at opt-level "z" with LTO, runs each under QEMU with
# semihosting, and exits non-zero if any case fails, any probe fails, or QEMU times out.
# Three builds: the configured one (sha2 compact SHA-256), sha2's default unrolled SHA-256, and
# rotor-core's `zeroize` feature.
set -euo pipefail
cd "$(dirname "$0")"
# Flags from the environment would replace .cargo/config.toml's (linker script, sha2 backend).
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS

TARGET=thumbv7m-none-eabi
QEMU_TIMEOUT=120
FLASH_TARGET=16384
STACK_TARGET=2048

step() { printf '\n--- %s\n' "$*"; }

step "toolchain and QEMU"
if command -v rustup >/dev/null; then
  rustup target add "$TARGET" >/dev/null
fi
if ! command -v qemu-system-arm >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-system-arm >/dev/null
fi
qemu-system-arm --version | head -n 1

LOG_DIR=$(mktemp -d)
trap 'rm -rf "$LOG_DIR"' EXIT

# run_elf NAME ELF: runs ELF under QEMU, shows its output, fails the script on a non-zero exit.
run_elf() {
  local name=$1 elf=$2 rc=0
  timeout "$QEMU_TIMEOUT" qemu-system-arm -cpu cortex-m3 -machine lm3s6965evb -nographic \
    -semihosting-config enable=on,target=native -kernel "$elf" \
    >"$LOG_DIR/$name.out" 2>"$LOG_DIR/$name.err" || rc=$?
  cat "$LOG_DIR/$name.out"
  if [ "$rc" -ne 0 ]; then
    cat "$LOG_DIR/$name.err" >&2
    if [ "$rc" -eq 124 ]; then
      echo "FAILED: $name did not finish within ${QEMU_TIMEOUT}s" >&2
    else
      echo "FAILED: $name exited with status $rc" >&2
    fi
    exit 1
  fi
}

# image_bytes NAME: the "image flash: N bytes" figure a probe printed.
image_bytes() {
  local n
  n=$(sed -n 's/.* image flash: \([0-9][0-9]*\) bytes$/\1/p' "$LOG_DIR/$1.out")
  if [ -z "$n" ]; then
    echo "FAILED: $1 printed no flash figure" >&2
    exit 1
  fi
  echo "$n"
}

# stack_bytes NAME WHAT: the "WHAT peak stack: N bytes" figure the device test printed.
stack_bytes() {
  sed -n "s/^$2 peak stack: \([0-9][0-9]*\) bytes.*/\1/p" "$LOG_DIR/$1.out"
}

# build_and_run LABEL [cargo args...]: builds every binary, runs the device test and the probes.
# LABEL prefixes the log names. Extra environment (RUSTFLAGS, CARGO_TARGET_DIR) comes from the caller.
build_and_run() {
  local label=$1
  shift
  step "build ($label)"
  cargo build --release "$@"
  local dir=${CARGO_TARGET_DIR:-target}/$TARGET/release
  step "device test ($label)"
  run_elf "$label-tests" "$dir/rotor-embedded-tests"
  step "flash probes ($label)"
  for probe in probe-base probe-verify probe-sign-verify; do
    run_elf "$label-$probe" "$dir/$probe"
  done
}

# Each build in its own directory under CARGO_TARGET_DIR (default: target).
TARGET_BASE=${CARGO_TARGET_DIR:-target}
# The configured build: .cargo/config.toml selects sha2's compact (not unrolled) SHA-256 rounds.
CARGO_TARGET_DIR=$TARGET_BASE build_and_run compact
# sha2's default backend, which unrolls the 64 rounds. RUSTFLAGS replaces the config's rustflags.
RUSTFLAGS='-C link-arg=-Tlink.x' CARGO_TARGET_DIR=$TARGET_BASE/sha2-unrolled build_and_run unrolled
# Keys wiped on drop.
CARGO_TARGET_DIR=$TARGET_BASE/zeroize build_and_run zeroize --features zeroize

step "rotor-core footprint on $TARGET (opt-level z, lto, codegen-units 1)"
verdict() { if [ "$1" -le "$2" ]; then echo "met"; else echo "NOT met"; fi; }
for label in compact unrolled zeroize; do
  base=$(image_bytes "$label-probe-base")
  v=$(( $(image_bytes "$label-probe-verify") - base ))
  sv=$(( $(image_bytes "$label-probe-sign-verify") - base ))
  case $label in
    compact) what="sha2 compact rounds" ;;
    unrolled) what="sha2 unrolled rounds" ;;
    zeroize) what="sha2 compact rounds, zeroize" ;;
  esac
  if [ "$label" = compact ]; then
    echo "rotor-core flash: $sv bytes (sign+verify, $what; target <= $FLASH_TARGET: $(verdict "$sv" "$FLASH_TARGET"))"
  else
    echo "rotor-core flash ($what): $sv bytes (sign+verify)"
  fi
  echo "  of which verify alone: $v bytes"
done
vs=$(stack_bytes compact-tests verify)
echo "verify peak stack: $vs bytes (target <= $STACK_TARGET: $(verdict "$vs" "$STACK_TARGET"))"
echo "verify_with peak stack: $(stack_bytes compact-tests verify_with) bytes"
echo "sign peak stack: $(stack_bytes compact-tests sign) bytes"
echo "verify peak stack (sha2 unrolled rounds): $(stack_bytes unrolled-tests verify) bytes"
echo "embedded: all device cases and probes passed"
