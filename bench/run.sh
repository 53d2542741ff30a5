#!/usr/bin/env bash
# bench/run.sh: load benchmark of rotor-server's POST /refresh-token against the Express peer
# (../shared/peer-express), in one run, on this machine. Not part of .ci/run (about 5 minutes).
#
#   bash bench/run.sh                     # writes bench/RESULTS.md, prints the table
#   DURATION=10 WARMUP=3 bash bench/run.sh
#   BASELINE_BIN=/work/target-base/release/rotor-server bash bench/run.sh   # before/after
#
# Builds go to $CARGO_TARGET_DIR (default: target/ at the repository root), as cargo's own.
# The machinery it shares with bench/scale.sh (PostgreSQL, builds, seeding, wrk runs with CPU
# sampling, the quiet-machine wait, the trap) is in bench/lib.sh.
#
# 1. PostgreSQL up (.ci/postgres.sh), fresh databases rotor_bench and peer_bench.
# 2. Release builds of rotor-server and of the seeding/checking helper (bench/src/main.rs).
# 3. Seeds USERS users with one live session each, for each server (rotor: through the
#    server library, as /login does minus the password check; peer: its own seed.js).
# 4. One after another, each alone on 127.0.0.1: rotor-server on PostgreSQL, rotor-server on
#    SQLite, the peer on PostgreSQL. For each: warm-up, then the success path (wrk, chained
#    rotation, wrk/refresh_chain.lua), then the 401 path with a forged token
#    (wrk/invalid_token.lua); then the database is checked against what wrk received.
#    With BASELINE_BIN, the same two rotor runs again with that binary (a build of an earlier
#    commit), on databases of their own seeded the same way.
#    Then GET /me (wrk/me.lua) on rotor-server on PostgreSQL with access_check = "session"
#    (cache on, then access_cache_ttl = 0: today's check) and "token" (ME=0 skips this).
# 5. Prints one table and writes it to bench/RESULTS.md with the machine description.
#
# Everything listens on and targets 127.0.0.1 only; every wait loop and every wrk run is
# bounded in time; the trap stops every process this script started.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/bench
PEER_SRC=${PEER_SRC:-$ROOT/../shared/peer-express}
SCRATCH=${SCRATCH:-/tmp/rotor-bench}
OUT=$SCRATCH/out
HOST=127.0.0.1
ROTOR_PORT=${ROTOR_PORT:-8710}
PEER_PORT=${PEER_PORT:-3910}
USERS=${USERS:-10000}
CONNS=${CONNS:-16}
THREADS=${THREADS:-2}
DURATION=${DURATION:-20}        # seconds per measured run
WARMUP=${WARMUP:-5}             # seconds of warm-up before each server's measured runs
QUIET_MAX=${QUIET_MAX:-60}      # longest wait for a quiet machine before a measured run
QUIET_BUSY=${QUIET_BUSY:-0.3}   # "quiet": at most this many cores busy over 2 s
RESULTS=${RESULTS:-$BENCH/RESULTS.md}
PG_ADMIN_URL_BASE=postgres://rotor:rotor@127.0.0.1:5432
# Plain TCP on loopback, as the peer's `pg` client connects; sqlx's default (sslmode=prefer)
# would negotiate TLS with the local cluster (TLS_ROTOR=1 measures that).
ROTOR_PG_URL="$PG_ADMIN_URL_BASE/rotor_bench?sslmode=$([ "${TLS_ROTOR:-0}" = 1 ] && echo prefer || echo disable)"
PEER_PG_URL=postgres://peer:peer@127.0.0.1:5432/peer_bench
SQLITE_DB=$SCRATCH/rotor-bench.db
# rotor-server's pool size (databases.rotor.max_connections); unset: the server's defaults
# (PostgreSQL: workers x 4, SQLite: 1).
ROTOR_POOL=${ROTOR_POOL:-}
# A rotor-server binary built from an earlier commit, measured the same way (unset: skipped).
BASELINE_BIN=${BASELINE_BIN:-}
BASELINE_DESC=${BASELINE_DESC:-}   # e.g. "main at 4191868", for RESULTS.md
# The baseline's source tree: its databases are seeded by this tree's helper with this tree's
# migrations up to BASELINE_SCHEMA_TO (the seeding writes their columns; they only add
# columns, which the baseline ignores), then forget the migrations the baseline does not know,
# or the baseline refuses to start ("previously applied but missing"). Later migrations change
# indexes and table layout (20261201000003): the baseline runs without them, on its own schema.
BASELINE_SRC=${BASELINE_SRC:-}
BASELINE_SCHEMA_TO=${BASELINE_SCHEMA_TO:-20261201000002}
BASELINE_PG_URL="$PG_ADMIN_URL_BASE/rotor_bench_base?sslmode=${ROTOR_PG_URL##*sslmode=}"
BASELINE_SQLITE_DB=$SCRATCH/rotor-bench-base.db
ME=${ME:-1}
# 1: one more rotor run on SQLite with sqlite_synchronous = "normal" (no fsync per commit).
SQLITE_NORMAL=${SQLITE_NORMAL:-0}
SQLITE_NORMAL_DB=$SCRATCH/rotor-bench-normal.db
WRK_CONNS=$CONNS WRK_THREADS=$THREADS

# shellcheck source=bench/lib.sh
source "$BENCH/lib.sh"

mkdir -p "$OUT"
rm -f "$OUT"/*.txt "$OUT"/*.log

# ------------------------------------------------------------------ prerequisites
ensure_wrk
prepare_peer

# ------------------------------------------------------------------ PostgreSQL and fresh databases
start_postgres
psql_admin <<'SQL'
DO $$BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'peer') THEN
    CREATE ROLE peer LOGIN PASSWORD 'peer';
  END IF;
END$$;
DROP DATABASE IF EXISTS rotor_bench WITH (FORCE);
CREATE DATABASE rotor_bench OWNER rotor;
DROP DATABASE IF EXISTS rotor_bench_base WITH (FORCE);
CREATE DATABASE rotor_bench_base OWNER rotor;
DROP DATABASE IF EXISTS peer_bench WITH (FORCE);
CREATE DATABASE peer_bench OWNER peer;
SQL

# ------------------------------------------------------------------ builds
build_release
if [ -n "$BASELINE_BIN" ]; then
  [ -x "$BASELINE_BIN" ] || die "BASELINE_BIN=$BASELINE_BIN is not an executable"
fi

# ------------------------------------------------------------------ seeding
log "seeding $USERS users: rotor on PostgreSQL"
# synchronous_commit=off for the seeding connections only (the server runs with the cluster's
# settings): the commits of 10,000 logins would otherwise wait for 10,000 WAL flushes.
env "$(rotor_env "$ROTOR_PG_URL&options=-c%20synchronous_commit%3Doff")" timeout 300 "$HELPER" seed-rotor "$USERS" "$OUT/tokens-rotor-pg.txt" 2>&1 | tee -a "$OUT/seed.log" >&2
log "seeding $USERS users: rotor on SQLite"
seed_sqlite "$SQLITE_DB" "$OUT/tokens-rotor-sqlite.txt" "$USERS"
[ "$SQLITE_NORMAL" != 1 ] || seed_sqlite "$SQLITE_NORMAL_DB" "$OUT/tokens-rotor-sqlite-normal.txt" "$USERS"
if [ -n "$BASELINE_BIN" ]; then
  log "seeding $USERS users: baseline on PostgreSQL and SQLite"
  export ROTOR_BENCH_MIGRATE_TO=$BASELINE_SCHEMA_TO
  env "$(rotor_env "$BASELINE_PG_URL&options=-c%20synchronous_commit%3Doff")" timeout 300 "$HELPER" seed-rotor "$USERS" "$OUT/tokens-base-pg.txt" 2>&1 | tee -a "$OUT/seed.log" >&2
  seed_sqlite "$BASELINE_SQLITE_DB" "$OUT/tokens-base-sqlite.txt" "$USERS"
  unset ROTOR_BENCH_MIGRATE_TO
  if [ -n "$BASELINE_SRC" ]; then
    known=$(find "$BASELINE_SRC/server/migrations/postgres" -name '*.sql' -printf '%f\n' | cut -d_ -f1 | paste -sd,)
    su postgres -c "psql -v ON_ERROR_STOP=1 -qAt -d rotor_bench_base -c 'DELETE FROM _sqlx_migrations WHERE version NOT IN ($known)'" >/dev/null
    known=$(find "$BASELINE_SRC/server/migrations/sqlite" -name '*.sql' -printf '%f\n' | cut -d_ -f1 | paste -sd,)
    sqlite3 "$BASELINE_SQLITE_DB" "DELETE FROM _sqlx_migrations WHERE version NOT IN ($known)"
  fi
fi
log "seeding $USERS users: peer on PostgreSQL"
(cd "$PEER" && DATABASE_URL=$PEER_PG_URL timeout 300 node seed.js "$USERS" "$OUT/tokens-peer.txt") 2>&1 | tee -a "$OUT/seed.log" >&2
FORGED_ROTOR=$(env "$(rotor_env "$ROTOR_PG_URL")" "$HELPER" forge-rotor)
FORGED_PEER=$(cd "$PEER" && node -e 'const jwt=require("jsonwebtoken");process.stdout.write(jwt.sign({_id:process.argv[1]},"forged-refresh-secret-0123456789abcdef",{expiresIn:"10d"}))' "$(head -1 "$OUT/tokens-peer.txt" | cut -d' ' -f1)")

declare -A RSS_IDLE=() RSS_HWM=()

bench_rotor() { # LABEL DB_URL TOKENS [BINARY] [DATABASE SETTINGS]
  local label=$1 dburl=$2 tokens=$3 bin=${4:-$ROTOR_BIN} extra=${5:-}
  port_free "$ROTOR_PORT"
  log "$label: starting rotor-server ($bin${extra:+, $extra})"
  env "$(rotor_env "$dburl" "$extra")" ROCKET_ADDRESS=$HOST ROCKET_PORT="$ROTOR_PORT" \
    "$bin" >"$OUT/server-$label.log" 2>&1 &
  SERVER_PID=$!
  wait_up "http://$HOST:$ROTOR_PORT/health" GET 200 "$OUT/server-$label.log"
  sleep 1
  RSS_IDLE[$label]=$(vm "$SERVER_PID" VmRSS)
  bench_one "$label" rotor "http://$HOST:$ROTOR_PORT" "$tokens" "$FORGED_ROTOR"
  RSS_HWM[$label]=$(vm "$SERVER_PID" VmHWM)
  stop_server
  local ok
  ok=$(( $(field "$label-warmup" ok200) + $(field "$label-success" ok200) ))
  env "$(rotor_env "$dburl")" timeout 120 "$HELPER" verify-rotor "$OUT/final-$label.txt" "$ok" \
    >"$OUT/check-$label.txt" 2>&1 || true
  cat "$OUT/check-$label.txt" >&2
}

bench_peer() {
  local label=peer-pg
  port_free "$PEER_PORT"
  log "$label: starting the Express peer"
  (cd "$PEER" && exec env DATABASE_URL=$PEER_PG_URL HOST=$HOST PORT="$PEER_PORT" NODE_ENV=production \
    node server.js) >"$OUT/server-$label.log" 2>&1 &
  SERVER_PID=$!
  wait_up "http://$HOST:$PEER_PORT/refresh-token" POST 401 "$OUT/server-$label.log"
  sleep 1
  RSS_IDLE[$label]=$(vm "$SERVER_PID" VmRSS)
  bench_one "$label" peer "http://$HOST:$PEER_PORT" "$OUT/tokens-peer.txt" "$FORGED_PEER"
  RSS_HWM[$label]=$(vm "$SERVER_PID" VmHWM)
  stop_server
  timeout 120 "$HELPER" verify-peer "$PEER_PG_URL" "$OUT/final-$label.txt" >"$OUT/check-$label.txt" 2>&1 || true
  cat "$OUT/check-$label.txt" >&2
}

# bench_me LABEL ENV... : GET /me with one access token on rotor-server on PostgreSQL, started
# with the extra environment ENV (the access-check settings).
bench_me() {
  local label=$1; shift
  port_free "$ROTOR_PORT"
  log "$label: starting rotor-server ($*)"
  env "$(rotor_env "$ROTOR_PG_URL")" ROCKET_ADDRESS=$HOST ROCKET_PORT="$ROTOR_PORT" "$@" \
    "$ROTOR_BIN" >"$OUT/server-$label.log" 2>&1 &
  SERVER_PID=$!
  wait_up "http://$HOST:$ROTOR_PORT/health" GET 200 "$OUT/server-$label.log"
  # One refresh with a user's last token gives a fresh access token (and keeps the chain whole).
  local line user token access
  ME_USER=$((ME_USER + 1)) # a user of its own per run: a token refreshed twice would be reuse
  line=$(grep ' ready$' "$OUT/final-rotor-pg.txt" | sed -n "${ME_USER}p")
  user=${line%% *}; token=$(echo "$line" | cut -d' ' -f2)
  access=$(curl -s --max-time 5 "http://$HOST:$ROTOR_PORT/refresh-token" -H 'Content-Type: application/json' \
    -d "{\"refreshToken\":\"$token\"}" | sed -n 's/.*"accessToken":"\([^"]*\)".*/\1/p')
  [ -n "$access" ] || die "$label: no access token for user $user"
  run_wrk "$label-warmup" 2 "$BENCH/wrk/me.lua" "http://$HOST:$ROTOR_PORT" "$access" "$label"
  run_wrk "$label" "$DURATION" "$BENCH/wrk/me.lua" "http://$HOST:$ROTOR_PORT" "$access" "$label"
  stop_server
}
ME_USER=0

# ------------------------------------------------------------------ the runs
bench_rotor rotor-pg "$ROTOR_PG_URL" "$OUT/tokens-rotor-pg.txt"
bench_rotor rotor-sqlite "sqlite://$SQLITE_DB" "$OUT/tokens-rotor-sqlite.txt"
ROTOR_LABELS="rotor-pg rotor-sqlite"
if [ "$SQLITE_NORMAL" = 1 ]; then
  bench_rotor rotor-sqlite-normal "sqlite://$SQLITE_NORMAL_DB" "$OUT/tokens-rotor-sqlite-normal.txt" "$ROTOR_BIN" 'sqlite_synchronous="normal"'
  ROTOR_LABELS="$ROTOR_LABELS rotor-sqlite-normal"
fi
if [ -n "$BASELINE_BIN" ]; then
  bench_rotor base-pg "$BASELINE_PG_URL" "$OUT/tokens-base-pg.txt" "$BASELINE_BIN"
  bench_rotor base-sqlite "sqlite://$BASELINE_SQLITE_DB" "$OUT/tokens-base-sqlite.txt" "$BASELINE_BIN"
  ROTOR_LABELS="$ROTOR_LABELS base-pg base-sqlite"
fi
bench_peer
if [ "$ME" = 1 ]; then
  bench_me me-session ROCKET_ACCESS_CHECK=session ROCKET_ACCESS_CACHE_TTL=1
  bench_me me-session-nocache ROCKET_ACCESS_CHECK=session ROCKET_ACCESS_CACHE_TTL=0
  bench_me me-token ROCKET_ACCESS_CHECK=token
fi

# ------------------------------------------------------------------ table
errors_of() { # errors of run NAME: success path = non-200 + parse failures + duplicates +
  local n=$1   # socket errors + timeouts; 401 path = non-401 + socket errors + timeouts
  case $n in
    *-success) echo $(( $(field "$n" non200) + $(field "$n" parse_fail) + $(field "$n" starved) + $(field "$n" dup) + $(field "$n" sock_err) + $(field "$n" timeouts) )) ;;
    *) echo $(( $(field "$n" non401) + $(field "$n" sock_err) + $(field "$n" timeouts) )) ;;
  esac
}
check_of() { grep -o 'result=[A-Z]*' "$OUT/check-$1.txt" 2>/dev/null | cut -d= -f2 || echo "FAIL"; }

TABLE=$OUT/table.md
{
  echo "| server | database | path | req/s | p50 ms | p99 ms | errors | rotor/peer req/s | server cores | PostgreSQL cores | CPU µs/request | busy cores | quiet before |"
  echo "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
  for label in $ROTOR_LABELS peer-pg; do
    case $label in
      rotor-pg) srv=rotor-server; db=PostgreSQL ;;
      rotor-sqlite) srv=rotor-server; db=SQLite ;;
      rotor-sqlite-normal) srv=rotor-server; db='SQLite, synchronous=NORMAL' ;;
      base-pg) srv="rotor-server baseline"; db=PostgreSQL ;;
      base-sqlite) srv="rotor-server baseline"; db=SQLite ;;
      peer-pg) srv="peer (Express)"; db=PostgreSQL ;;
    esac
    for path in success 401; do
      n=$label-$path
      rps=$(field "$n" rps); peer_rps=$(field "peer-pg-$path" rps)
      ratio=$(awk -v a="$rps" -v b="$peer_rps" 'BEGIN{ if (b > 0) printf "%.2f", a / b; else print "n/a" }')
      [ "$path" = success ] && pname="refresh (200, chained)" || pname="forged token (401)"
      cpu_us=$(awk -v s="$(field "$n" server_cores)" -v p="$(field "$n" pg_cores)" -v r="$rps" 'BEGIN{ if (r > 0) printf "%.0f", (s + p) * 1e6 / r; else print "n/a" }')
      printf '| %s | %s | %s | %.0f | %.2f | %.2f | %s | %s | %s | %s | %s | %s | %s |\n' \
        "$srv" "$db" "$pname" "$rps" "$(field "$n" p50_ms)" "$(field "$n" p99_ms)" "$(errors_of "$n")" \
        "$ratio" "$(field "$n" server_cores)" "$(field "$n" pg_cores)" "$cpu_us" "$(field "$n" busy_cores)" "$(field "$n" quiet_before)"
    done
  done
  if [ "$ME" = 1 ]; then
    for n in me-session me-session-nocache me-token; do
      case $n in
        me-session) pname='GET /me, access_check=session, cache 1 s' ;;
        me-session-nocache) pname='GET /me, access_check=session, access_cache_ttl=0 (lookup per request)' ;;
        me-token) pname='GET /me, access_check=token' ;;
      esac
      rps=$(field "$n" rps)
      cpu_us=$(awk -v s="$(field "$n" server_cores)" -v p="$(field "$n" pg_cores)" -v r="$rps" 'BEGIN{ if (r > 0) printf "%.0f", (s + p) * 1e6 / r; else print "n/a" }')
      printf '| rotor-server | PostgreSQL | %s | %.0f | %.2f | %.2f | %s | %s | %s | %s | %s | %s | %s |\n' \
        "$pname" "$rps" "$(field "$n" p50_ms)" "$(field "$n" p99_ms)" "$(( $(field "$n" non200) + $(field "$n" sock_err) + $(field "$n" timeouts) ))" \
        "n/a" "$(field "$n" server_cores)" "$(field "$n" pg_cores)" "$cpu_us" "$(field "$n" busy_cores)" "$(field "$n" quiet_before)"
    done
  fi
} >"$TABLE"

kb_to_mib() { awk -v k="${1:-0}" 'BEGIN{printf "%.1f MiB", k / 1024}'; }
r401() { awk -v a="$(field "$1-401" rps)" -v b="$(field "$1-success" rps)" 'BEGIN{ if (b > 0) printf "%.1f", a / b; else print "n/a" }'; }

{
  echo "# rotor-server load benchmark"
  echo
  echo "Generated by \`bash bench/run.sh\` on $(date -u +%Y-%m-%dT%H:%M:%SZ) with rotor-server built at commit $BUILT_AT."
  echo "Command: \`${GIVEN}bash bench/run.sh\`."
  echo "Not part of \`.ci/run\` (it takes about five minutes and needs a quiet machine)."
  echo
  echo "## Machine"
  echo
  machine_lines
  echo "- load average before the first run: see \`quiet before\` (busy cores in the 2 s before each run; NO = the machine never got quiet within ${QUIET_MAX} s: other work was running)"
  echo
  echo "## Load"
  echo
  echo "\`wrk -t$THREADS -c$CONNS -d${DURATION}s --latency\` on 127.0.0.1, one server at a time, $USERS users each with one live session."
  echo "Success path: \`bench/wrk/refresh_chain.lua\`, each connection chains the rotated token of its own users (a user is never in two requests at once), after a ${WARMUP} s warm-up on the same chains."
  echo "401 path: \`bench/wrk/invalid_token.lua\` with a forged token (the server's claims, signed with another secret)."
  [ -z "$BASELINE_BIN" ] || echo "rotor-server baseline: \`$BASELINE_BIN\`${BASELINE_DESC:+ ($BASELINE_DESC)}, same settings, databases of its own seeded the same way on this tree's schema up to migration $BASELINE_SCHEMA_TO."
  [ "$ME" != 1 ] || echo "GET /me: \`bench/wrk/me.lua\`, one user's access token on every request, rotor-server on PostgreSQL restarted per mode (\`ROCKET_ACCESS_CHECK\`, \`ROCKET_ACCESS_CACHE_TTL\`)."
  echo "rotor-server: release build, \`ROCKET_PROFILE=release\` (log level critical), $(nproc) Rocket workers, pool size ${ROTOR_POOL:-the server default (PostgreSQL: 16, SQLite: 1 writer and 4 readers)}, PostgreSQL URL with \`sslmode=${ROTOR_PG_URL##*sslmode=}\` (the peer's \`pg\` client uses no TLS either). Peer: \`node server.js\`, NODE_ENV=production, pg pool 10, its default error handler."
  echo
  echo "## Results"
  echo
  cat "$TABLE"
  echo
  echo "errors: success path = non-200 + unparsable + duplicate tokens + socket errors + timeouts; 401 path = non-401 + socket errors + timeouts."
  echo "server / PostgreSQL / busy cores: CPU used over the run (of $(nproc)); busy includes wrk and anything else on the machine. CPU µs/request = (server + PostgreSQL CPU) / requests: the figure that depends least on what else the machine is doing."
  echo "What bounds each server and what was changed because of this benchmark: bench/README.md."
  echo
  echo "- rotor-server 401 path vs its success path: PostgreSQL $(r401 rotor-pg)x, SQLite $(r401 rotor-sqlite)x (peer: $(r401 peer-pg)x)."
  echo "- rotor-server resident memory (VmRSS): PostgreSQL idle $(kb_to_mib "${RSS_IDLE[rotor-pg]}"), mid-run $(kb_to_mib "$(field rotor-pg-success rss_mid_kb)"), peak $(kb_to_mib "${RSS_HWM[rotor-pg]}") (VmHWM); SQLite idle $(kb_to_mib "${RSS_IDLE[rotor-sqlite]}"), mid-run $(kb_to_mib "$(field rotor-sqlite-success rss_mid_kb)"), peak $(kb_to_mib "${RSS_HWM[rotor-sqlite]}"). Peer (node): idle $(kb_to_mib "${RSS_IDLE[peer-pg]}"), peak $(kb_to_mib "${RSS_HWM[peer-pg]}")."
  echo
  echo "## Correctness under load"
  echo
  echo "Checked after each server's runs against what wrk received (\`rotor-bench verify-rotor\` / \`verify-peer\`):"
  echo "rotor: every session active with exactly one live refresh token, no forked chain (tokens - used = sessions), every user's last received token is its live one, and rotations recorded = 200s received + rotations whose response wrk never read when it stopped. Peer: every user's last received token is the stored one."
  echo
  echo '```text'
  for label in $ROTOR_LABELS peer-pg; do cat "$OUT/check-$label.txt"; done
  echo '```'
  echo
  echo "Raw wrk results: \`$OUT/results.txt\`."
} >"$RESULTS.tmp"

cat "$TABLE"
echo
grep -h '^CHECK' "$OUT"/check-*.txt || true
mv "$RESULTS.tmp" "$RESULTS"
log "wrote $RESULTS; servers stopped, PostgreSQL left running"
for label in $ROTOR_LABELS peer-pg; do
  [ "$(check_of "$label")" = PASS ] || die "correctness check failed for $label (see $OUT/check-$label.txt)"
  [ "$(errors_of "$label-success")" = 0 ] || die "$label: errors on the success path"
done
