#!/usr/bin/env bash
# bench/flood.sh: a password-guessing flood against one account (wrong passwords over 32 and
# 256 connections) beside a legitimate user on another loopback address, with no flood first,
# in one run, against a release build on its SQLite default with the default limits and the
# default (OWASP) Argon2id cost. Not part of .ci/run (about 2 minutes plus the build).
#
#   bash bench/flood.sh                 # prints the table (bench/RESULTS.md keeps the last one)
#   DURATION=10 bash bench/flood.sh
#
# Loopback only (127.0.0.1 for the server and the flood, 127.0.0.2-4 for the user); every run is
# bounded in time; the trap stops the server.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
PORT=${PORT:-8730}
DURATION=${DURATION:-20}
SCRATCH=$(mktemp -d)
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$SCRATCH"
}
trap cleanup EXIT
log() { printf '[flood %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
log "release build"
(cd "$ROOT" && cargo build --release -q -p rotor-server)

export ROCKET_PROFILE=release ROCKET_ADDRESS=127.0.0.1 ROCKET_PORT=$PORT ROCKET_LOG_LEVEL=off
export ACCESS_TOKEN_SECRET=flood-bench-access-secret-0123456789abcdef
export REFRESH_TOKEN_SECRET=flood-bench-refresh-secret-0123456789abcdef
export ROCKET_DATABASES="{rotor={url=\"sqlite://$SCRATCH/rotor.db\"}}"
# Registration of the accounts below would meet the per-IP register limit: raise it only.
export ROCKET_RATE_REGISTER_PER_IP=0
"$TARGET/release/rotor-server" >"$SCRATCH/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
curl -fs "http://127.0.0.1:$PORT/health" >/dev/null || { cat "$SCRATCH/server.log"; exit 1; }

register() {
  curl -fs -o /dev/null "http://127.0.0.1:$PORT/register" -H 'Content-Type: application/json' \
    -d "{\"username\":\"$1\",\"email\":\"$1@example.com\",\"password\":\"$2\"}"
}
register victim "the victim's real password"
for i in $(seq 0 9); do register "legit$i" "legitimate user password"; done

rows=()
phase() { # NAME CONNECTIONS (0: no flood) USER_ADDRESS (a fresh one per run: own budgets)
  local name=$1 conns=$2 source=$3 flood=""
  log "$name: legitimate user for ${DURATION}s${conns:+, flood over $conns connections}"
  if [ "$conns" -gt 0 ]; then
    FLOOD_ACCOUNT=victim timeout $((DURATION + 30)) wrk -t2 -c"$conns" -d"${DURATION}s" \
      -s "$ROOT/bench/wrk/login_flood.lua" "http://127.0.0.1:$PORT/login" >"$SCRATCH/wrk-$name.txt" 2>&1 &
    local wrk_pid=$!
  fi
  local user
  user=$(timeout $((DURATION + 60)) python3 "$ROOT/bench/flood_client.py" "$PORT" "$DURATION" "$source")
  if [ "$conns" -gt 0 ]; then
    wait "$wrk_pid" || true
    flood=$(grep '^FLOOD' "$SCRATCH/wrk-$name.txt" || echo "FLOOD none")
  fi
  rows+=("$name|$conns|$user|$flood")
}
phase "no flood" 0 127.0.0.2
phase "flood 32" 32 127.0.0.3
phase "flood 256" 256 127.0.0.4

printf '\n| run | flood conns | legit login p50 | legit login p99 | legit refresh p50 | legit refresh p99 | flood req/s | accepted guesses/s (401) | refused (429) | legit errors |\n'
printf '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n'
for row in "${rows[@]}"; do
  IFS='|' read -r name conns user flood <<<"$row"
  python3 - "$name" "$conns" "$user" "$flood" <<'PY'
import json, re, sys
name, conns, user, flood = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
f = dict(re.findall(r"(\w+)=([\d.]+)", flood))
secs = float(f.get("seconds", 0) or 0)
rate = lambda k: f"{float(f[k]) / secs:,.1f}" if secs else "–"
print(f"| {name} | {conns} | {user['login_p50_ms']} ms | {user['login_p99_ms']} ms | "
      f"{user['refresh_p50_ms']} ms | {user['refresh_p99_ms']} ms | "
      f"{rate('requests')} | {rate('guesses')} | {f.get('limited', '–')} | {user['errors'] or 'none'} |")
PY
done
printf '\nDefaults: rate_login_per_ip 60/min, rate_login_per_account 10/min (bursts of the same size), Argon2id m=19456 KiB t=2 p=1, password_concurrency = cores (%s), password_queue 32.\n' "$(nproc)"
