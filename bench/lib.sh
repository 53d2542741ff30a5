# shellcheck shell=bash disable=SC2034  # (variables set here are read by the sourcing script)
# bench/lib.sh: shared machinery of bench/run.sh and bench/scale.sh (sourced, not run).
#
# Before sourcing, the script sets: ROOT, BENCH, SCRATCH, OUT, HOST, QUIET_MAX, QUIET_BUSY,
# DURATION, WARMUP, ROTOR_POOL (may be empty) and `set -euo pipefail`. Before run_wrk /
# bench_one: WRK_CONNS and WRK_THREADS (wrk's -c and -t), SERVER_PID (the server measured).
#
# Provides: log/die, the process bookkeeping and the trap that stops every process started
# here (stop_server, stop_sampler), port_free, ensure_wrk, prepare_peer, start_postgres,
# build_release, rotor_env, seed_sqlite, the CPU and memory sampling, wait_quiet, run_wrk,
# field, wait_up, bench_one and machine_lines, and GIVEN (the settings given, for the report).
# Everything targets 127.0.0.1 and every wait is bounded.

# The settings this run was given, for the report's command line: every `${NAME:-default}` of
# the sourcing script and of this file whose NAME came in the environment (the scripts' own
# defaults are not exported, so `printenv` sees only what the caller set). Taken before this
# file exports CARGO_TARGET_DIR.
given_settings() {
  local v val
  for v in $(grep -ho '\${[A-Z_]*:-' "$0" "$BENCH/lib.sh" | tr -d '${:-' | sort -u); do
    val=$(printenv "$v") || continue
    case $val in
      *[!A-Za-z0-9_./,:=+-]* | '') printf '%s="%s" ' "$v" "$val" ;;
      *) printf '%s=%s ' "$v" "$val" ;;
    esac
  done
}
GIVEN=$(given_settings)

# cargo's target directory, made absolute (cargo resolves a relative one against its cwd).
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
case $TARGET_DIR in /*) ;; *) TARGET_DIR=$PWD/$TARGET_DIR ;; esac
export CARGO_TARGET_DIR=$TARGET_DIR

export ACCESS_TOKEN_SECRET=bench-access-secret-0123456789abcdef
export REFRESH_TOKEN_SECRET=bench-refresh-secret-0123456789abcdef
export ACCESS_TOKEN_EXPIRY=15m REFRESH_TOKEN_EXPIRY=10d
# One client address sends the whole load: the per-IP rate limits would cap it.
export ROCKET_RATE_REFRESH_PER_IP=0 ROCKET_RATE_LOGIN_PER_IP=0 ROCKET_RATE_LOGIN_PER_ACCOUNT=0
export ROCKET_PROFILE=release ROCKET_CLI_COLORS=false

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

# ------------------------------------------------------------------ process bookkeeping
SERVER_PID=""
stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
  fi
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}
SAMPLER_PID=""
stop_sampler() {
  [ -n "$SAMPLER_PID" ] || return 0
  kill "$SAMPLER_PID" 2>/dev/null || true
  wait "$SAMPLER_PID" 2>/dev/null || true
  SAMPLER_PID=""
}
# seed_sqlite's tmpfs file, named by this script's PID so that two runs cannot share it
SHM_SEED=/dev/shm/rotor-bench-seed-$$.db
# cleanup: every process started here, tmpfs files (GiBs of memory), then the script's own
# cleanup_hook if it defines one
cleanup() {
  stop_sampler
  stop_server
  rm -f "$SHM_SEED" "$SHM_SEED"-wal "$SHM_SEED"-shm
  if declare -F cleanup_hook >/dev/null; then cleanup_hook; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_free() { [ -z "$(ss -Hltn "sport = :$1")" ] || die "port $1 is already in use"; }

# ------------------------------------------------------------------ prerequisites
ensure_wrk() {
  command -v wrk >/dev/null && return 0
  log "installing wrk"
  timeout 300 bash -c 'apt-get install -y -qq wrk || { apt-get update -qq && apt-get install -y -qq wrk; }' >/dev/null
}

# prepare_peer: the peer folder ($PEER_SRC) is read-only: run a copy in $SCRATCH; sets PEER.
prepare_peer() {
  command -v node >/dev/null || die "node is required for the peer"
  [ -f "$PEER_SRC/server.js" ] || die "peer not found at $PEER_SRC (set PEER_SRC)"
  PEER=$SCRATCH/peer-express
  if [ ! -f "$PEER/package-lock.json" ] || ! cmp -s "$PEER_SRC/package-lock.json" "$PEER/package-lock.json"; then
    rm -rf "$PEER"
  fi
  mkdir -p "$PEER"
  cp -r "$PEER_SRC"/. "$PEER"/
  chmod -R u+w "$PEER"
  if [ ! -d "$PEER/node_modules" ]; then
    log "npm ci (peer)"
    (cd "$PEER" && timeout 300 npm ci --no-audit --no-fund >/dev/null)
  fi
}

# ------------------------------------------------------------------ PostgreSQL
psql_admin() { su postgres -c "psql -v ON_ERROR_STOP=1 -qAt" >/dev/null; }
# start_postgres: the cluster up (.ci/postgres.sh) and the rotor role; sets PG_SETTINGS, PG_VERSION.
start_postgres() {
  log "PostgreSQL"
  # shellcheck source=/dev/null
  source "$ROOT/.ci/postgres.sh" >/dev/null
  PG_SETTINGS=$(su postgres -c "psql -qAtc \"SELECT string_agg(name||'='||setting, ' ' ORDER BY name) FROM pg_settings WHERE name IN ('fsync','synchronous_commit','shared_buffers','wal_sync_method','max_connections')\"")
  PG_VERSION=$(su postgres -c "psql -qAtc 'SHOW server_version'")
}

# ------------------------------------------------------------------ builds
# build_release: rotor-server and the helper crate bench/ in release; sets ROTOR_BIN, HELPER.
build_release() {
  log "building rotor-server and the bench helper (release)"
  # The commit the measured binary is built from (HEAD may move while a long run goes on).
  BUILT_AT=$(cd "$ROOT" && git rev-parse --short HEAD)$(cd "$ROOT" && git diff --quiet -- server core || echo " (with uncommitted changes in server/ or core/)")
  (cd "$ROOT" && timeout 1800 cargo build --release -q -p rotor-server) || die "cargo build rotor-server"
  (cd "$BENCH" && timeout 1800 cargo build --release -q) || die "cargo build bench helper"
  ROTOR_BIN=$TARGET_DIR/release/rotor-server
  HELPER=$TARGET_DIR/release/rotor-bench
}

rotor_env() { # $1 = database url, $2 = more settings of databases.rotor (TOML, optional)
  echo "ROCKET_DATABASES={rotor={url=\"$1\"${ROTOR_POOL:+,max_connections=$ROTOR_POOL}${2:+,$2}}}"
}

# seed_sqlite DB_FILE TOKENS_OUT USERS [HISTORY]
# Seeded on tmpfs (no fsync per commit) and copied to disk, where the server runs on it.
seed_sqlite() {
  local seed=$SHM_SEED
  rm -f "$seed" "$seed"-wal "$seed"-shm "$1" "$1"-wal "$1"-shm
  env "$(rotor_env "sqlite://$seed")" timeout 300 "$HELPER" seed-rotor "$3" "$2" ${4:+"$4"} 2>&1 | tee -a "$OUT/seed.log" >&2
  [ ! -e "$seed-wal" ] || [ ! -s "$seed-wal" ] || die "SQLite seed left a non-empty WAL"
  cp "$seed" "$1"
  rm -f "$seed" "$seed"-wal "$seed"-shm
}

# ------------------------------------------------------------------ measurement helpers
cpu_of() { # user+sys ticks of a pid list
  local t=0 p
  for p in "$@"; do
    [ -r "/proc/$p/stat" ] || continue
    t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo "$t"
}
declare -A PG0=()
pg_pids() { pgrep -u postgres || true; }
pg_snapshot() { PG0=(); local p; for p in $(pg_pids); do PG0[$p]=$(cpu_of "$p"); done; }
pg_delta() { local t=0 p now; for p in $(pg_pids); do now=$(cpu_of "$p"); t=$((t + now - ${PG0[$p]:-0})); done; echo "$t"; }
idle_ticks() { awk '/^cpu /{print $5 + $6}' /proc/stat; }
total_ticks() { awk '/^cpu /{t = 0; for (i = 2; i <= 9; i++) t += $i; print t}' /proc/stat; }
# Bytes of file pages a process dirtied (`write_bytes` of /proc/PID/io: what it gave the kernel
# to write back, counted per page-cache folio dirtied, so a small write into a large folio
# counts the whole folio: `folio_account_dirtied` in Linux's mm/page-writeback.c).
written_of() { awk '$1 == "write_bytes:" {print $2}' "/proc/$1/io" 2>/dev/null || echo 0; }
vm() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; } # kB
wait_quiet() { # bounded wait for a quiet machine; sets QUIET
  local deadline=$((SECONDS + QUIET_MAX)) t0 i0 busy
  while :; do
    t0=$(total_ticks); i0=$(idle_ticks); sleep 2
    busy=$(awk -v t="$(($(total_ticks) - t0))" -v i="$(($(idle_ticks) - i0))" 'BEGIN{printf "%.2f", (t - i) / 100 / 2}')
    if awk -v b="$busy" -v m="$QUIET_BUSY" 'BEGIN{exit !(b <= m)}'; then QUIET="yes($busy)"; return 0; fi
    if [ $SECONDS -ge $deadline ]; then QUIET="NO($busy)"; return 0; fi
  done
}

# run_wrk NAME DURATION SCRIPT URL ARGS... -> $OUT/wrk-NAME.txt; appends a RESULT line with
# CPU use to $OUT/results.txt. wrk -t$WRK_THREADS -c$WRK_CONNS; a bounded wait for a quiet
# machine first, except for *warmup* runs and with QUIET_WAIT=0.
run_wrk() {
  local name=$1 dur=$2 script=$3 url=$4; shift 4
  local n0 n1 w0 w1 p1 i0 i1 t0 t1 load rss_mid
  QUIET=skipped
  # QUIET_WAIT=0: the caller waited before starting the server (a sweep must not run unmeasured)
  case $name in *warmup*) ;; *) if [ "${QUIET_WAIT:-1}" = 1 ]; then wait_quiet; fi ;; esac
  load=$(cut -d' ' -f1 /proc/loadavg)
  # resident memory halfway through the run
  (sleep $((dur / 2)); vm "$SERVER_PID" VmRSS >"$OUT/rss-mid-$name.txt") &
  SAMPLER_PID=$!
  n0=$(cpu_of "$SERVER_PID"); w0=$(written_of "$SERVER_PID"); pg_snapshot; i0=$(idle_ticks); t0=$(total_ticks)
  timeout $((dur + 30)) wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"${dur}s" --timeout 5s --latency \
    -s "$script" "$url" -- "$@" >"$OUT/wrk-$name.txt" 2>&1 || true
  n1=$(cpu_of "$SERVER_PID"); w1=$(written_of "$SERVER_PID"); p1=$(pg_delta); i1=$(idle_ticks); t1=$(total_ticks)
  wait "$SAMPLER_PID" 2>/dev/null || true
  SAMPLER_PID=""
  rss_mid=$(cat "$OUT/rss-mid-$name.txt" 2>/dev/null || echo 0)
  local res
  res=$(grep '^RESULT' "$OUT/wrk-$name.txt" || echo "RESULT case=FAILED")
  echo "$res name=$name server_cores=$(awk -v a="$n0" -v b="$n1" -v d="$dur" 'BEGIN{printf "%.2f",(b-a)/100/d}') pg_cores=$(awk -v p="$p1" -v d="$dur" 'BEGIN{printf "%.2f",p/100/d}') busy_cores=$(awk -v t="$((t1 - t0))" -v i="$((i1 - i0))" -v d="$dur" 'BEGIN{printf "%.2f",(t-i)/100/d}') rss_mid_kb=$rss_mid server_written_kb=$(( (w1 - w0) / 1024 )) quiet_before=$QUIET load1_before=$load" \
    | tee -a "$OUT/results.txt" >&2
}
field() { # field NAME KEY -> value from the RESULT line of run NAME
  { grep " name=$1 " "$OUT/results.txt" || true; } | tr ' ' '\n' |
    awk -F= -v k="$2" '$1 == k && !f {v = $2; f = 1} END {print f ? v : 0}'
}

wait_up() { # wait_up URL_PATH METHOD WANT_STATUS LOG
  for _ in $(seq 1 100); do
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$4" >&2; die "server exited"; }
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 -X "$2" "$1" || true)
    [ "$code" = "$3" ] && return 0
    sleep 0.2
  done
  cat "$4" >&2; die "server did not come up at $1"
}

# bench_one LABEL FLAVOR URL TOKENS FORGED
# Warm-up chain, measured chain (continuing from the warm-up's tokens), 401 pass.
bench_one() {
  local label=$1 flavor=$2 url=$3 tokens=$4 forged=$5
  log "$label: warm-up ${WARMUP}s"
  run_wrk "$label-warmup" "$WARMUP" "$BENCH/wrk/refresh_chain.lua" "$url" \
    "$tokens" "$WRK_THREADS" "$flavor" "$OUT/final-$label-warmup.txt"
  log "$label: success path ${DURATION}s"
  run_wrk "$label-success" "$DURATION" "$BENCH/wrk/refresh_chain.lua" "$url" \
    "$OUT/final-$label-warmup.txt" "$WRK_THREADS" "$flavor" "$OUT/final-$label.txt"
  # users left in flight by the warm-up were not driven again: carry them over as they are
  grep ' inflight$' "$OUT/final-$label-warmup.txt" >>"$OUT/final-$label.txt" || true
  [ -n "$forged" ] || return 0
  log "$label: 401 path (forged token) ${DURATION}s"
  run_wrk "$label-401warmup" 2 "$BENCH/wrk/invalid_token.lua" "$url" "$forged" forged
  run_wrk "$label-401" "$DURATION" "$BENCH/wrk/invalid_token.lua" "$url" "$forged" forged
}

# machine_lines: the "## Machine" bullets of a results file.
machine_lines() {
  echo "- $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo) memory; $(uname -sr)"
  echo "- PostgreSQL $PG_VERSION on the same machine ($PG_SETTINGS)"
  echo "- $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2); node $(node -v); rustc $(rustc -V | cut -d' ' -f2)"
}
