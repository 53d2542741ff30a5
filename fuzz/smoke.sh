#!/usr/bin/env bash
# Bounded fuzz run of every rotor-core target, for CI: each target runs for FUZZ_SECONDS
# (default 60) on nightly with AddressSanitizer (cargo-fuzz's default), starting from the
# committed seeds. New inputs go to a temporary directory, so the committed corpus stays small.
# Any crash, panic, leak or timeout fails the run; the input is left in fuzz/artifacts/<target>/.
#
#   FUZZ_SECONDS=60 fuzz/smoke.sh            # all targets
#   FUZZ_TARGETS="verify buffers" fuzz/smoke.sh
set -euo pipefail
cd "$(dirname "$0")"

secs="${FUZZ_SECONDS:-60}"
read -r -a targets <<<"${FUZZ_TARGETS:-verify decode_parts roundtrip differential buffers}"

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  rustup toolchain install nightly --profile minimal
fi
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

# Build every target once up front, so build time does not eat into the fuzzing budget.
cargo +nightly fuzz build

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
failed=()
for t in "${targets[@]}"; do
  printf '\n--- fuzz %s for %ss (%s)\n' "$t" "$secs" "$(date +%T)"
  mkdir -p "$scratch/$t"
  extra=()
  # buffers signs and verifies once per buffer size: short inputs keep it fast enough to explore.
  if [ "$t" = buffers ]; then extra=(-max_len=512); fi
  # -timeout: an input that takes 20 s is a hang, and a finding.
  if ! cargo +nightly fuzz run "$t" "$scratch/$t" "corpus/$t" -- \
      -max_total_time="$secs" -timeout=20 -print_final_stats=1 ${extra[@]+"${extra[@]}"}; then
    failed+=("$t")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz smoke FAILED: ${failed[*]} (inputs in fuzz/artifacts/<target>/; see fuzz/README.md)" >&2
  exit 1
fi
echo "fuzz smoke passed: ${targets[*]}, ${secs}s each"
