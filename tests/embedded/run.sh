#!/usr/bin/env bash
# Runs rotor-core on an emulated Cortex-M3 (QEMU lm3s6965evb) and an emulated RISC-V 32 core
# (QEMU virt) and reports its footprint on each.
#
#   tests/embedded/run.sh
#
# Installs what it needs on a fresh machine (the thumbv7m-none-eabi and riscv32imc-unknown-none-elf
# targets, qemu-system-arm and qemu-system-misc), builds the device test and the flash probes at
# opt-level "z" with LTO, runs each under QEMU with semihosting, and exits non-zero if any case
# fails, any probe fails, or QEMU times out. Cortex-M3: three builds, the configured one (sha2
# compact SHA-256), sha2's default unrolled SHA-256, and rotor-core's `zeroize` feature. RISC-V:
# the configured build.
set -euo pipefail
cd "$(dirname "$0")"
# Flags from the environment would replace .cargo/config.toml's (linker script, sha2 backend).
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS

ARM=thumbv7m-none-eabi
RISCV=riscv32imc-unknown-none-elf
QEMU_TIMEOUT=120
FLASH_TARGET=16384
STACK_TARGET=2048

step() { printf '\n--- %s\n' "$*"; }

step "toolchain and QEMU"
if command -v rustup >/dev/null; then
  rustup target add "$ARM" "$RISCV" >/dev/null
fi
need=()
command -v qemu-system-arm >/dev/null || need+=(qemu-system-arm)
command -v qemu-system-riscv32 >/dev/null || need+=(qemu-system-misc)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
qemu-system-arm --version | head -n 1
qemu-system-riscv32 --version | head -n 1

# The emulated machines (the same commands as the runners in .cargo/config.toml).
qemu_for() {
  case $1 in
    "$ARM") echo "qemu-system-arm -cpu cortex-m3 -machine lm3s6965evb -nographic -semihosting-config enable=on,target=native -kernel" ;;
    "$RISCV") echo "qemu-system-riscv32 -machine virt -cpu rv32 -smp 1 -m 128M -bios none -nographic -semihosting-config enable=on,target=native -kernel" ;;
  esac
}

LOG_DIR=$(mktemp -d)
trap 'rm -rf "$LOG_DIR"' EXIT

# run_elf NAME TARGET ELF: runs ELF under TARGET's QEMU, shows its output, fails the script on a
# non-zero exit.
run_elf() {
  local name=$1 target=$2 elf=$3 rc=0
  local -a qemu
  read -r -a qemu <<<"$(qemu_for "$target")"
  timeout "$QEMU_TIMEOUT" "${qemu[@]}" "$elf" \
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

# build_and_run LABEL TARGET [cargo args...]: builds every binary, runs the device test and the
# probes. LABEL prefixes the log names. Extra environment (RUSTFLAGS, CARGO_TARGET_DIR) comes from
# the caller.
build_and_run() {
  local label=$1 target=$2
  shift 2
  step "build ($label, $target)"
  cargo build --release --locked --target "$target" "$@"
  local dir=${CARGO_TARGET_DIR:-target}/$target/release
  step "device test ($label, $target)"
  run_elf "$label-tests" "$target" "$dir/rotor-embedded-tests"
  step "flash probes ($label, $target)"
  for probe in probe-base probe-verify probe-sign-verify; do
    run_elf "$label-$probe" "$target" "$dir/$probe"
  done
}

# One engine, both ends: the server's command line mints an access token with the server's
# configuration (this secret, the kid it derives from it, iss "rotor"); the device test verifies
# it (case server_token_verified). Passed in at build time (option_env!).
step "a token from rotor-server token sign, for the device"
export ROTOR_SERVER_SECRET="embedded test access secret, at least 32 bytes long"
export ROTOR_SERVER_TOKEN
# From the workspace root: this folder's .cargo/config.toml sets a device target.
ROTOR_SERVER_TOKEN=$(cd ../.. && cargo run --locked -q -p rotor-server -- \
  token sign --secret "raw:$ROTOR_SERVER_SECRET" --server-kid --iss rotor --sub user-42 \
  --jti j-0001 --ttl 15m --now 1767225600 --claims '{"sid":"s-0001","token_use":"access"}')
export ROTOR_SERVER_KID
ROTOR_SERVER_KID=$(python3 -c 'import base64, json, sys
h = sys.argv[1].split(".")[0]
print(json.loads(base64.urlsafe_b64decode(h + "=" * (-len(h) % 4)))["kid"])' "$ROTOR_SERVER_TOKEN")
echo "token ${ROTOR_SERVER_TOKEN:0:24}... kid $ROTOR_SERVER_KID"

# Each build in its own directory under CARGO_TARGET_DIR (default: target).
TARGET_BASE=${CARGO_TARGET_DIR:-target}
# The configured build: .cargo/config.toml selects sha2's compact (not unrolled) SHA-256 rounds.
CARGO_TARGET_DIR=$TARGET_BASE build_and_run compact "$ARM"
# sha2's default backend, which unrolls the 64 rounds. RUSTFLAGS replaces the config's rustflags.
RUSTFLAGS='-C link-arg=-Tlink.x' CARGO_TARGET_DIR=$TARGET_BASE/sha2-unrolled build_and_run unrolled "$ARM"
# Keys wiped on drop.
CARGO_TARGET_DIR=$TARGET_BASE/zeroize build_and_run zeroize "$ARM" --features zeroize
# RISC-V 32, the configured build (sha2 compact rounds).
CARGO_TARGET_DIR=$TARGET_BASE build_and_run riscv "$RISCV"

step "rotor-core footprint on $ARM (opt-level z, lto, codegen-units 1)"
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

step "rotor-core footprint on $RISCV (opt-level z, lto, codegen-units 1, sha2 compact rounds)"
base=$(image_bytes riscv-probe-base)
echo "rotor-core flash: $(( $(image_bytes riscv-probe-sign-verify) - base )) bytes (sign+verify)"
echo "  of which verify alone: $(( $(image_bytes riscv-probe-verify) - base )) bytes"
echo "verify peak stack: $(stack_bytes riscv-tests verify) bytes"
echo "verify_with peak stack: $(stack_bytes riscv-tests verify_with) bytes"
echo "sign peak stack: $(stack_bytes riscv-tests sign) bytes"
echo "embedded: all device cases and probes passed on $ARM and $RISCV"
