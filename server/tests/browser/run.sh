#!/usr/bin/env bash
# Runs the headless-Chromium end-to-end suite against a release build of rotor-server.
#   ROTOR_SERVER_BIN   the binary (default: $CARGO_TARGET_DIR/release/rotor-server, else
#                      ../../../target/release/rotor-server relative to this script)
#   CHROMIUM_BIN       the browser (default /usr/bin/chromium; never downloaded)
#   extra arguments go to `node --test`, e.g. ./run.sh --test-name-pattern='logout'
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
if [[ -z "${ROTOR_SERVER_BIN:-}" ]]; then
  if [[ -n "${CARGO_TARGET_DIR:-}" ]]; then
    ROTOR_SERVER_BIN="$CARGO_TARGET_DIR/release/rotor-server"
  else
    ROTOR_SERVER_BIN="$here/../../../target/release/rotor-server"
  fi
fi
ROTOR_SERVER_BIN="$(realpath -m "$ROTOR_SERVER_BIN")"
if [[ ! -x "$ROTOR_SERVER_BIN" ]]; then
  echo "run.sh: no rotor-server binary at $ROTOR_SERVER_BIN; build it with" >&2
  echo "  cargo build --release -p rotor-server   (or set ROTOR_SERVER_BIN)" >&2
  exit 2
fi
export ROTOR_SERVER_BIN
if [[ ! -d node_modules/playwright-core ]]; then
  npm ci --no-audit --no-fund
fi
# One file at a time (each starts its own servers and browser); every test has its own timeout.
# Files named among the arguments replace the default of every *.test.js here.
files=(./*.test.js)
for arg in "$@"; do [[ "$arg" == *.test.js ]] && files=(); done
exec node --test --test-concurrency=1 --test-timeout=120000 "$@" "${files[@]}"
