#!/usr/bin/env bash
# Sequential refresh-token rotations against a running-from-scratch release server on loopback:
# register, log in, then N chained refreshes (each with the previous successor), timed by curl.
# Usage: server/scripts/refresh-latency.sh [N] [DATABASE_URL]   (defaults: 200, a temporary SQLite file)
# Needs: curl, jq, a release build (cargo build --release -p rotor-server). Bounded: N <= 5000.
set -euo pipefail
n=${1:-200}
[ "$n" -le 5000 ] || { echo "N must be <= 5000" >&2; exit 2; }
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${ROTOR_BIN:-$root/target/release/rotor-server}
[ -x "$bin" ] || { echo "build first: cargo build --release -p rotor-server" >&2; exit 2; }
work=$(mktemp -d)
url=${2:-sqlite://$work/rotor.db}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ROCKET_PORT=$port ROCKET_LOG_LEVEL=critical ROCKET_DATABASES="{rotor={url=\"$url\"}}" \
  ACCESS_TOKEN_SECRET=bench-access-secret-at-least-32-bytes-long \
  REFRESH_TOKEN_SECRET=bench-refresh-secret-at-least-32-bytes-long \
  "$bin" >"$work/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$work"' EXIT
base=http://127.0.0.1:$port
for _ in $(seq 1 100); do curl -sf "$base/health" >/dev/null && break; sleep 0.1; done
user="bench$RANDOM$RANDOM"
curl -sf "$base/register" -H 'Content-Type: application/json' \
  -d "{\"username\":\"$user\",\"email\":\"$user@example.com\",\"password\":\"bench password 123\"}" >/dev/null
token=$(curl -sf "$base/login" -H 'Content-Type: application/json' \
  -d "{\"email\":\"$user@example.com\",\"password\":\"bench password 123\"}" | jq -r .data.refreshToken)
total=0
times=()
for _ in $(seq 1 "$n"); do
  out=$(curl -s -w '\n%{time_total}' "$base/refresh-token" -H 'Content-Type: application/json' \
    -d "{\"refreshToken\":\"$token\"}")
  t=${out##*$'\n'}
  token=$(printf '%s' "${out%$'\n'*}" | jq -r .data.refreshToken)
  [ "$token" != null ] || { echo "refresh failed: ${out%$'\n'*}" >&2; exit 1; }
  times+=("$t")
done
printf '%s\n' "${times[@]}" | sort -n | awk -v n="$n" -v url="${url%%:*}" '
  { a[NR] = $1 * 1000; s += $1 * 1000 }
  END { printf "%s: %d chained refreshes, mean %.2f ms, p50 %.2f ms, p95 %.2f ms, max %.2f ms\n",
        url, n, s / n, a[int(n * 0.5) + 1], a[int(n * 0.95)], a[n] }'
