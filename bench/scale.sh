#!/usr/bin/env bash
# bench/scale.sh: rotor-server's POST /refresh-token at scale (issue 13: "Scale", "Concurrency
# curve"), on PostgreSQL and SQLite, on this machine. Not part of .ci/run (about 15 minutes with
# the defaults). Shares bench/run.sh's machinery (bench/lib.sh).
#
#   bash bench/scale.sh                                   # writes bench/SCALE.md
#   SESSIONS_BIG=50000 DURATION=3 WARMUP=1 QUIET_MAX=5 RESULTS=/tmp/scale.md bash bench/scale.sh
#
# Per back end (BACKENDS="pg sqlite"), one database, in this order:
# 1. Seeds SESSIONS_SMALL (10,000) users with one session each through the server library
#    (`rotor-bench seed-rotor`, the login path), then HISTORY (3) refreshes each through
#    `sessions::refresh`: HISTORY used tokens + 1 live per session, as the server writes them.
#    These are the users wrk drives in every run below (wrk/refresh_chain.lua, chained
#    rotation: each run continues the chains of the one before on its database; the 1M
#    database starts from the chains where the first 10k run starts).
# 2. Concurrency curve: one server, then for each of CONNS (1 16 64 256) a warm-up and a
#    measured run with that many connections.
# 3. The big database: a copy of this one, plus bulk rows up to SESSIONS_BIG (1,000,000)
#    sessions: SESSIONS_BIG - SESSIONS_SMALL more users, each with one session holding HISTORY
#    used tokens + 1 live, unexpired (`rotor-bench bulk-rotor ... live`: generate_series on
#    PostgreSQL, a recursive CTE on SQLite, on tmpfs and copied back to disk); PostgreSQL:
#    VACUUM ANALYZE, CHECKPOINT.
# 4. Scale, 10k vs 1M: SCALE_ROUNDS (3) rounds, each a 10k run and a 1M run (10k first in odd
#    rounds, 1M first in even ones), each a fresh server, warm-up, measured run at SCALE_CONNS
#    (16). Each database continues its own chains from the same start. Judged on the median
#    of the rounds' 1M/10k ratios: on this shared machine single pairs of runs of one binary
#    gave SQLite p99 ratios from 0.78 to 1.46.
# 5. From here on the big database, continuing its chains. Empty sweeps: the server with
#    cleanup_interval = SWEEP_INTERVAL (2 s), nothing expired.
# 6. Expired backlog: EXPIRED_SESSIONS (250,000) more users with one session and HISTORY + 1
#    tokens each, all expired 30+ days ago (`bulk-rotor ... expired`).
# 7. Sweeper under load, bracketed: the server with the sweeper off (cleanup_interval = 0),
#    then as 5 while the sweeper deletes the backlog, then off again; the expired rows are
#    counted before each server starts, just before and just after each measured run, and
#    after. The target is judged against the mean of the two sweeper-off runs.
# Then, with PEER_CURVE=1, the concurrency curve of the Express peer (../shared/peer-express) on
# PostgreSQL, seeded by its own seed.js.
#
# After each server's runs the database is checked against what wrk received
# (`rotor-bench verify-scale`: the checks of verify-rotor, restricted to the driven users), and
# the live (unexpired) sessions are counted before and after each run: no run, and no sweep,
# may remove one. The script fails if a check fails or a run had errors, after writing RESULTS.
#
# Everything listens on and targets 127.0.0.1 only; every wait loop and every wrk run is
# bounded in time; the trap stops every process this script started (PostgreSQL is left
# running). The databases are dropped at the end of a run that passed (KEEP_DATABASES=1 keeps
# them), and at the start of the next run.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/bench
PEER_SRC=${PEER_SRC:-$ROOT/../shared/peer-express}
SCRATCH=${SCRATCH:-/tmp/rotor-scale}
OUT=$SCRATCH/out
HOST=127.0.0.1
ROTOR_PORT=${ROTOR_PORT:-8711}
PEER_PORT=${PEER_PORT:-3911}
SESSIONS_SMALL=${SESSIONS_SMALL:-10000}     # the users wrk drives, and the small database
SESSIONS_BIG=${SESSIONS_BIG:-1000000}       # sessions in the big database
HISTORY=${HISTORY:-3}                       # used tokens per session (+ 1 live)
EXPIRED_SESSIONS=${EXPIRED_SESSIONS:-250000} # backlog: sessions with HISTORY + 1 tokens each
SWEEP_INTERVAL=${SWEEP_INTERVAL:-2}         # cleanup_interval of the sweeper runs, seconds
CONNS=${CONNS:-1 16 64 256}                 # the concurrency curve
SCALE_CONNS=${SCALE_CONNS:-16}              # connections of the scale and sweeper runs
SCALE_ROUNDS=${SCALE_ROUNDS:-3}             # scale runs per database size (ABBA order)
KEEP_DATABASES=${KEEP_DATABASES:-0}         # 1: keep the databases after a run that passed
THREADS=${THREADS:-2}                       # wrk threads (at most the connections)
DURATION=${DURATION:-10}                    # seconds per measured run
WARMUP=${WARMUP:-5}                         # seconds of warm-up before each measured run
QUIET_MAX=${QUIET_MAX:-60}                  # longest wait for a quiet machine before a run
QUIET_BUSY=${QUIET_BUSY:-0.3}               # "quiet": at most this many cores busy over 2 s
BACKENDS=${BACKENDS:-pg sqlite}
PARTS=${PARTS:-curve scale sweep}           # any of: curve scale sweep (sweep needs scale)
PEER_CURVE=${PEER_CURVE:-1}                 # 1: the peer's concurrency curve too
RESULTS=${RESULTS:-$BENCH/SCALE.md}
ROTOR_POOL=${ROTOR_POOL:-}
PG_ADMIN_URL_BASE=postgres://rotor:rotor@127.0.0.1:5432
# databases (dropped and created at each run), scratch and ports: change all four to run beside
# another run of this script (the two then share the cores: figures of neither are clean)
PG_DB=${PG_DB:-rotor_scale}
PEER_DB=${PEER_DB:-peer_scale}
PG_URL="$PG_ADMIN_URL_BASE/$PG_DB?sslmode=disable"
PEER_PG_URL=postgres://peer:peer@127.0.0.1:5432/$PEER_DB
SQLITE_DB=$SCRATCH/rotor-scale.db
# the big database: a copy of the small one taken before the first scale run (see use_db)
PG_DB_SMALL=$PG_DB PG_DB_BIG=${PG_DB}_big
SQLITE_DB_SMALL=$SQLITE_DB SQLITE_DB_BIG=$SCRATCH/rotor-scale-big.db
SHM_DB=/dev/shm/rotor-scale-bulk-$$.db # the SQLite bulk insert's tmpfs copy
T_START=$SECONDS

# shellcheck source=bench/lib.sh
source "$BENCH/lib.sh"
cleanup_hook() { rm -f "$SHM_DB" "$SHM_DB"-wal "$SHM_DB"-shm; }

[ "$SESSIONS_BIG" -ge "$SESSIONS_SMALL" ] || die "SESSIONS_BIG < SESSIONS_SMALL"
has() { case " $1 " in *" $2 "*) return 0 ;; *) return 1 ;; esac; }
has "$PARTS" sweep && ! has "$PARTS" scale && die "PARTS: sweep runs on the scale database: add scale"
mkdir -p "$OUT"
rm -f "$OUT"/*.txt "$OUT"/*.log

ensure_wrk
[ "$PEER_CURVE" != 1 ] || prepare_peer # sets PEER, the copy it runs
start_postgres
psql_admin <<SQL
DO \$\$BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'peer') THEN
    CREATE ROLE peer LOGIN PASSWORD 'peer';
  END IF;
END\$\$;
DROP DATABASE IF EXISTS $PG_DB WITH (FORCE);
DROP DATABASE IF EXISTS $PG_DB_BIG WITH (FORCE);
CREATE DATABASE $PG_DB OWNER rotor;
DROP DATABASE IF EXISTS $PEER_DB WITH (FORCE);
CREATE DATABASE $PEER_DB OWNER peer;
SQL
build_release

# ------------------------------------------------------------------ helpers
url_of() { case $1 in pg) echo "$PG_URL" ;; sqlite) echo "sqlite://$SQLITE_DB" ;; esac; }
name_of() { case $1 in pg) echo PostgreSQL ;; sqlite) echo SQLite ;; peer) echo PostgreSQL ;; esac; }
helper() { # helper BACKEND ARGS...: the helper on that back end's database
  local b=$1; shift
  env "$(rotor_env "$(url_of "$b")")" timeout 600 "$HELPER" "$@"
}
kv() { # kv "LINE" KEY -> value of KEY=value in LINE ("?" if absent)
  echo "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k {v = $2; f = 1; exit} END {print f ? v : "?"}'
}
kvn() { local v; v=$(kv "$1" "$2"); [ "$v" = "?" ] && echo 0 || echo "$v"; } # numeric, 0 if absent
declare -A REC=() # everything the report needs, by "key"
db_size() { # db_size BACKEND -> bytes
  case $1 in
    pg) su postgres -c "psql -qAtc \"SELECT pg_database_size('$PG_DB')\"" ;;
    sqlite) du -bc "$SQLITE_DB"* | tail -1 | cut -f1 ;;
  esac
}
mib() { awk -v b="${1:-0}" 'BEGIN{printf "%.0f MiB", b / 1048576}'; }

# start_rotor BACKEND LABEL [ENV...]: rotor-server on that database (ENV: extra settings)
start_rotor() {
  local b=$1 label=$2; shift 2
  port_free "$ROTOR_PORT"
  env "$(rotor_env "$(url_of "$b")")" ROCKET_ADDRESS=$HOST ROCKET_PORT="$ROTOR_PORT" "$@" \
    "$ROTOR_BIN" >"$OUT/server-$label.log" 2>&1 &
  SERVER_PID=$!
  wait_up "http://$HOST:$ROTOR_PORT/health" GET 200 "$OUT/server-$label.log"
}

pg_wal() { su postgres -c "psql -qAtc \"SELECT wal_bytes::bigint || ' ' || wal_fpi FROM pg_stat_wal\""; }
pg_checkpoint() { su postgres -c "psql -qAtc CHECKPOINT" >/dev/null; }
declare -A WAL=() # per run on PostgreSQL: "bytes fpi" written by the whole cluster during it
# chain NAME DURATION CONNS FLAVOR URL: one wrk run continuing the chains of $CUR (users left
# in flight stay in the file, not driven again); adds its 200s to OK_TOTAL.
CUR="" OK_TOTAL=0 CUR_BACKEND=""
chain() {
  local name=$1 dur=$2 c=$3 flavor=$4 url=$5 t w0 w1
  t=$(( c < THREADS ? c : THREADS ))
  [ "$CUR_BACKEND" != pg ] || w0=$(pg_wal)
  WRK_CONNS=$c WRK_THREADS=$t run_wrk "$name" "$dur" "$BENCH/wrk/refresh_chain.lua" "$url" \
    "$CUR" "$t" "$flavor" "$OUT/final-$name.txt"
  if [ "$CUR_BACKEND" = pg ]; then
    w1=$(pg_wal)
    WAL[$name]="$(( ${w1% *} - ${w0% *} )) $(( ${w1#* } - ${w0#* } ))"
  fi
  grep ' inflight$' "$CUR" >>"$OUT/final-$name.txt" || true
  CUR=$OUT/final-$name.txt
  OK_TOTAL=$((OK_TOTAL + $(field "$name" ok200)))
}
# measure NAME CONNS FLAVOR URL: warm-up and measured run
measure() {
  log "$1: warm-up ${WARMUP}s, then ${DURATION}s at $2 connections"
  chain "$1-warmup" "$WARMUP" "$2" "$3" "$4"
  chain "$1" "$DURATION" "$2" "$3" "$4"
}
errors_of() {
  echo $(( $(field "$1" non200) + $(field "$1" parse_fail) + $(field "$1" starved) + $(field "$1" dup) + $(field "$1" sock_err) + $(field "$1" timeouts) ))
}

CHECKS=$OUT/checks.txt
: >"$CHECKS"
FAILS=()
# verify BACKEND LABEL USED_BEFORE START_TOKENS: the driven users' rows against wrk's final tokens
verify() {
  local out=$OUT/check-$2.txt
  helper "$1" verify-scale "$CUR" "$OK_TOTAL" "$3" "$4" >"$out" 2>&1 || true
  sed "s/^CHECK rotor-scale /CHECK rotor-scale $2 /" "$out" | tee -a "$CHECKS" >&2
  grep -q 'result=PASS' "$out" || FAILS+=("$2: correctness check failed ($out)")
}
# counted BACKEND KEY: full row counts into REC[KEY]
counted() { REC[$2]=$(helper "$1" count-rotor | grep '^COUNT'); }
live_unchanged() { # live_unchanged LABEL KEY_BEFORE KEY_AFTER
  local a b
  a=$(kv "${REC[$2]}" live_sessions); b=$(kv "${REC[$3]}" live_sessions)
  echo "CHECK live-sessions $1 before=$a after=$b result=$([ "$a" = "$b" ] && echo PASS || echo FAIL)" | tee -a "$CHECKS" >&2
  [ "$a" = "$b" ] || FAILS+=("$1: live sessions changed from $a to $b")
}

# scale_run BACKEND LABEL [ENV...]: fresh server, warm-up + measured run at SCALE_CONNS, check
scale_run() {
  local b=$1 label=$2 used start=$CUR; shift 2
  used=$(helper "$b" driven-used "$CUR")
  # every scale run starts right after a checkpoint (the first 1M run also follows the bulk
  # insert's)
  [ "$b" != pg ] || pg_checkpoint
  # On SQLite each scale run starts with the file out of the page cache. After `cp` (the copy
  # from tmpfs) and the full scans of this script's counts and checks, the server dirtied 98
  # and 183 KiB of file pages per refresh at 10k and 1M (/proc/PID/io write_bytes, the same
  # wchar), 33 KiB at both once the file was dropped. Our reading: whole-file reads and copies
  # leave it in large page-cache folios, and a 4 KiB page SQLite writes dirties its whole folio;
  # the server alone reads and writes the file page by page. Its warm-up reads back what the
  # run needs.
  [ "$b" != sqlite ] || drop_page_cache "$SQLITE_DB"
  OK_TOTAL=0
  start_rotor "$b" "$label" "$@"
  measure "$label" "$SCALE_CONNS" rotor "http://$HOST:$ROTOR_PORT"
  stop_server
  verify "$b" "$label" "$used" "$start"
}

# bulk BACKEND N MODE TAG: N bulk sessions; SQLite on tmpfs, copied back to disk
bulk() {
  local b=$1 n=$2 mode=$3 tag=$4 line
  log "$b: bulk insert of $n $mode sessions (users, sessions, $((n * (HISTORY + 1))) tokens)"
  [ "$n" -gt 0 ] || return 0
  case $b in
    pg)
      line=$(helper pg bulk-rotor "$n" "$HISTORY" "$mode" "$tag" | grep '^BULK')
      pg_checkpoint
      ;;
    sqlite)
      rm -f "$SHM_DB" "$SHM_DB"-wal "$SHM_DB"-shm
      cp "$SQLITE_DB" "$SHM_DB"
      # a WAL the server left (it is replayed when the helper opens the copy)
      [ ! -s "$SQLITE_DB-wal" ] || cp "$SQLITE_DB-wal" "$SHM_DB-wal"
      line=$(env "$(rotor_env "sqlite://$SHM_DB")" timeout 900 "$HELPER" bulk-rotor "$n" "$HISTORY" "$mode" "$tag" | grep '^BULK')
      [ ! -s "$SHM_DB-wal" ] || die "SQLite bulk left a non-empty WAL"
      rm -f "$SQLITE_DB"-wal "$SQLITE_DB"-shm
      cp "$SHM_DB" "$SQLITE_DB"
      rm -f "$SHM_DB" "$SHM_DB"-wal "$SHM_DB"-shm
      sync
      ;;
  esac
  log "$line"
  REC[bulk-$b-$mode]=$line
}

# copy_big BACKEND: the big database as a copy of this back end's database now (no server runs)
copy_big() {
  case $1 in
    pg)
      # a template must have no connection: the helper's may take a moment to end
      local try
      for try in 1 2 3 4 5; do
        psql_admin <<SQL && return 0
DROP DATABASE IF EXISTS $PG_DB_BIG WITH (FORCE);
CREATE DATABASE $PG_DB_BIG TEMPLATE $PG_DB OWNER rotor;
SQL
        sleep 1
      done
      die "could not copy $PG_DB to $PG_DB_BIG"
      ;;
    sqlite)
      rm -f "$SQLITE_DB_BIG" "$SQLITE_DB_BIG"-wal "$SQLITE_DB_BIG"-shm
      cp "$SQLITE_DB" "$SQLITE_DB_BIG"
      [ ! -s "$SQLITE_DB-wal" ] || cp "$SQLITE_DB-wal" "$SQLITE_DB_BIG-wal"
      ;;
  esac
}
# drop_page_cache FILE...: written back, then out of the page cache (POSIX_FADV_DONTNEED)
drop_page_cache() {
  sync
  python3 -c 'import os, sys
for p in sys.argv[1:]:
    fd = os.open(p, os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)' "$@" || die "could not drop the page cache of $*"
}
# use_db BACKEND small|big: every later step of this back end works on that database
use_db() {
  local pg=$PG_DB_SMALL sq=$SQLITE_DB_SMALL
  [ "$2" = small ] || pg=$PG_DB_BIG sq=$SQLITE_DB_BIG
  case $1 in
    pg) PG_DB=$pg PG_URL="$PG_ADMIN_URL_BASE/$pg?sslmode=disable" ;;
    sqlite) SQLITE_DB=$sq ;;
  esac
}

# ------------------------------------------------------------------ rotor-server, per back end
for b in $BACKENDS; do
  CUR_BACKEND=$b
  log "=== rotor-server on $(name_of "$b")"
  tokens=$OUT/tokens-$b.txt
  t0=$SECONDS
  case $b in
    pg)
      env "$(rotor_env "$PG_URL&options=-c%20synchronous_commit%3Doff")" timeout 600 "$HELPER" \
        seed-rotor "$SESSIONS_SMALL" "$tokens" "$HISTORY" 2>&1 | tee -a "$OUT/seed.log" >&2
      ;;
    sqlite) seed_sqlite "$SQLITE_DB" "$tokens" "$SESSIONS_SMALL" "$HISTORY" ;;
    *) die "unknown back end $b" ;;
  esac
  REC[seed-$b]=$((SECONDS - t0))
  CUR=$tokens

  if has "$PARTS" curve; then
    used=$(helper "$b" driven-used "$CUR") start=$CUR
    OK_TOTAL=0
    start_rotor "$b" "curve-$b"
    for c in $CONNS; do measure "curve-$b-c$c" "$c" rotor "http://$HOST:$ROTOR_PORT"; done
    stop_server
    verify "$b" "curve-$b" "$used" "$start"
  fi

  if has "$PARTS" scale; then
    counted "$b" "count-$b-small"
    REC[size-$b-small]=$(db_size "$b")
    # The big database starts where the small one starts: a copy of this database plus the
    # bulk rows, driven from the same tokens, so the two differ only in the bulk rows, not in
    # the history the small runs add (on SQLite the p99 grows with it from run to run: 1.24x
    # between two 10k runs).
    copy_big "$b"
    use_db "$b" big
    t0=$SECONDS
    bulk "$b" $((SESSIONS_BIG - SESSIONS_SMALL)) live L
    REC[bulk-$b-live-s]=$((SECONDS - t0))
    counted "$b" "count-$b-big"
    REC[size-$b-big]=$(db_size "$b")
    # SCALE_ROUNDS rounds, small then big in odd rounds and big then small in even ones (ABBA:
    # neither size always runs first or second); each database continues its own chains.
    declare -A CUR_OF=([small]=$CUR [big]=$CUR)
    for r in $(seq 1 "$SCALE_ROUNDS"); do
      if [ $((r % 2)) = 1 ]; then order="small big"; else order="big small"; fi
      for sz in $order; do
        use_db "$b" "$sz"
        CUR=${CUR_OF[$sz]}
        scale_run "$b" "scale-$b-$sz-r$r"
        CUR_OF[$sz]=$CUR
      done
    done
    # what follows works on the big database, continuing its chains
    use_db "$b" big
    CUR=${CUR_OF[big]}
    counted "$b" "count-$b-big-after"
    live_unchanged "scale-$b-big" "count-$b-big" "count-$b-big-after"
  fi

  if has "$PARTS" sweep; then
    # base: nothing expired, sweeper on; off: the backlog, sweeper off; backlog: sweeper on;
    # after: what is left of the backlog, sweeper off. off and after bracket the backlog run
    # on the same database, so the history the runs add (SQLite's p99 grows with it) is in
    # its reference too.
    for phase in base off backlog after; do
      label=sweep-$b-$phase
      if [ "$phase" = off ]; then
        t0=$SECONDS
        bulk "$b" "$EXPIRED_SESSIONS" expired X
        REC[bulk-$b-expired-s]=$((SECONDS - t0))
      fi
      case $phase in base | backlog) every=$SWEEP_INTERVAL ;; *) every=0 ;; esac
      counted "$b" "count-$label-before"
      used=$(helper "$b" driven-used "$CUR") start=$CUR
      OK_TOTAL=0
      # the quiet wait comes before the start: the sweeper starts with the server
      wait_quiet
      REC[$label-quiet]=$QUIET
      start_rotor "$b" "$label" ROCKET_CLEANUP_INTERVAL="$every"
      log "$label: warm-up ${WARMUP}s, then ${DURATION}s at $SCALE_CONNS connections (cleanup_interval ${every}s)"
      QUIET_WAIT=0 chain "$label-warmup" "$WARMUP" "$SCALE_CONNS" rotor "http://$HOST:$ROTOR_PORT"
      REC[$label-exp-start]=$(helper "$b" count-rotor expired | grep '^COUNT')
      QUIET_WAIT=0 chain "$label" "$DURATION" "$SCALE_CONNS" rotor "http://$HOST:$ROTOR_PORT"
      REC[$label-exp-end]=$(helper "$b" count-rotor expired | grep '^COUNT')
      stop_server
      counted "$b" "count-$label-after"
      verify "$b" "$label" "$used" "$start"
      live_unchanged "$label" "count-$label-before" "count-$label-after"
    done
  fi
done

# ------------------------------------------------------------------ the peer's curve
if [ "$PEER_CURVE" = 1 ] && has "$PARTS" curve; then
  log "=== the Express peer on PostgreSQL"
  CUR_BACKEND=peer
  (cd "$PEER" && DATABASE_URL=$PEER_PG_URL timeout 300 node seed.js "$SESSIONS_SMALL" "$OUT/tokens-peer.txt") 2>&1 | tee -a "$OUT/seed.log" >&2
  CUR=$OUT/tokens-peer.txt
  port_free "$PEER_PORT"
  (cd "$PEER" && exec env DATABASE_URL="$PEER_PG_URL" HOST=$HOST PORT="$PEER_PORT" NODE_ENV=production \
    node server.js) >"$OUT/server-peer.log" 2>&1 &
  SERVER_PID=$!
  wait_up "http://$HOST:$PEER_PORT/refresh-token" POST 401 "$OUT/server-peer.log"
  for c in $CONNS; do measure "curve-peer-c$c" "$c" peer "http://$HOST:$PEER_PORT"; done
  stop_server
  timeout 120 "$HELPER" verify-peer "$PEER_PG_URL" "$CUR" >"$OUT/check-peer.txt" 2>&1 || true
  tee -a "$CHECKS" <"$OUT/check-peer.txt" >&2
  grep -q 'result=PASS' "$OUT/check-peer.txt" || FAILS+=("peer: correctness check failed")
fi

# ------------------------------------------------------------------ report
cpu_us() { awk -v s="$(field "$1" server_cores)" -v p="$(field "$1" pg_cores)" -v r="$(field "$1" rps)" 'BEGIN{ if (r > 0) printf "%.0f", (s + p) * 1e6 / r; else print "n/a" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
row() { # row NAME: req/s | p50 | p99 | errors | server cores | PG cores | CPU µs/req | quiet
  printf '%.0f | %.2f | %.2f | %s | %s | %s | %s | %s' "$(field "$1" rps)" "$(field "$1" p50_ms)" \
    "$(field "$1" p99_ms)" "$(errors_of "$1")" "$(field "$1" server_cores)" "$(field "$1" pg_cores)" \
    "$(cpu_us "$1")" "$(field "$1" quiet_before)"
}
written_per_req() { # written_per_req NAME -> KiB of file pages the server dirtied per request
  awk -v w="$(field "$1" server_written_kb)" -v r="$(field "$1" requests)" \
    'BEGIN{ if (r > 0) printf "%.0f", w / r; else print "n/a" }'
}
wal_of() { # wal_of NAME -> "WAL KiB / request, full-page images / request" (PostgreSQL runs)
  local w=${WAL[$1]:-} r
  r=$(field "$1" requests)
  if [ -z "$w" ] || [ "$r" -le 0 ]; then echo "n/a | n/a"; return; fi
  awk -v b="${w% *}" -v f="${w#* }" -v r="$r" 'BEGIN{printf "%.1f | %.2f", b / 1024 / r, f / r}'
}
verdict() { # verdict VALUE LIMIT BIGGER_IS_BETTER
  awk -v v="$1" -v l="$2" -v up="$3" 'BEGIN{ if (v == "n/a") print "n/a"; else if ((up && v >= l) || (!up && v <= l)) print "met"; else print "**missed**" }'
}
median() { # median NUMBERS... ("n/a" entries are left out)
  printf '%s\n' "$@" | grep -v '^n/a$' | sort -g | awk '{v[NR] = $1} END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
for_runs() { grep -o " name=[^ ]*" "$OUT/results.txt" | cut -d= -f2 | grep -v warmup || true; }
ELAPSED=$((SECONDS - T_START))
human() { awk -v n="$1" 'BEGIN{ if (n % 1000000 == 0) printf "%dM", n / 1000000; else if (n % 1000 == 0) printf "%dk", n / 1000; else printf "%d", n }'; }
SMALL_L=$(human "$SESSIONS_SMALL") BIG_L=$(human "$SESSIONS_BIG")
{
  echo "# rotor-server at scale: sessions, sweeper, concurrency"
  echo
  echo "Generated by \`bash bench/scale.sh\` on $(date -u +%Y-%m-%dT%H:%M:%SZ) at commit $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)$(cd "$ROOT" && git diff --quiet -- server core 2>/dev/null && echo "" || echo " (with uncommitted changes in server/ or core/)"), in $((ELAPSED / 60)) min $((ELAPSED % 60)) s."
  echo "Command: \`${GIVEN}bash bench/scale.sh\`."
  echo "Not part of \`.ci/run\`. Settings: SESSIONS_SMALL=$SESSIONS_SMALL SESSIONS_BIG=$SESSIONS_BIG HISTORY=$HISTORY EXPIRED_SESSIONS=$EXPIRED_SESSIONS SWEEP_INTERVAL=$SWEEP_INTERVAL CONNS=\"$CONNS\" SCALE_CONNS=$SCALE_CONNS DURATION=$DURATION WARMUP=$WARMUP THREADS=$THREADS."
  echo
  echo "## Machine"
  echo
  machine_lines
  echo "- \`quiet\` column: busy cores in the 2 s before the run (NO = the machine never got quiet within ${QUIET_MAX} s: other work was running, figures are noisier)"
  echo
  echo "## Load"
  echo
  echo "\`wrk --latency\` on 127.0.0.1 with \`bench/wrk/refresh_chain.lua\` (chained rotation: each connection sends the rotated token of its own users, never one user twice at once), driving the same $SESSIONS_SMALL users in every run; each run continues the chains of the one before, after a ${WARMUP} s warm-up (a user whose request was unanswered when a run stopped is not driven again: up to one per connection per run; the checks account for it). The driven users were seeded through the server library (login, then $HISTORY refreshes each: $HISTORY used + 1 live token per session)."
  echo "rotor-server: release build, \`ROCKET_PROFILE=release\`, $(nproc) workers, ${ROTOR_POOL:+pool size $ROTOR_POOL}${ROTOR_POOL:-the default pools of the server}, PostgreSQL over plain TCP on loopback; the sweeper (\`cleanup_interval\`) at its default (3600 s: one sweep at start) except in the sweeper runs."
  echo
  if has "$PARTS" scale; then
    echo "## Scale: $SMALL_L vs $BIG_L sessions"
    echo
    echo "The big database is a copy of the small one taken just before the first scale run (so both start from the same rows and drive the same chains from the same tokens) plus $((SESSIONS_BIG - SESSIONS_SMALL)) bulk users, each with one session holding $HISTORY used tokens + 1 live (\`rotor-bench bulk-rotor\`: the server's columns and constraints, chained \`successor_jti\`, time-ordered ids as the server makes them (UUIDv7 of each row's creation time: the bulk sessions started over the 4 days before the driven users' logins, so the driven users' rows are the newest), inserted in id order, fingerprints of tokens nobody holds; PostgreSQL: \`generate_series\` in two sessions, then \`VACUUM ANALYZE\` and \`CHECKPOINT\`; SQLite: one transaction on tmpfs, copied to disk). On SQLite the file is written back and dropped from the page cache (\`POSIX_FADV_DONTNEED\`) before each scale run: after \`cp\` and this script's full scans (counts, checks) the server dirtied three to six times as many bytes of file pages per refresh (bench/README.md; our reading: large page-cache folios, each dirtied whole by a 4 KiB page SQLite writes), where the server alone reads and writes the file page by page; each warm-up reads back what its run needs. The sweeper runs below do not drop it. \`server writes\`: KiB of file pages the server process dirtied per request (\`write_bytes\` of /proc/PID/io: the WAL, the database file by checkpoints; PostgreSQL's server writes none). Both databases fit in memory (24 GiB machine): this measures index depth and buffer-cache misses, not disk reads."
    echo "$SCALE_ROUNDS rounds per back end: $SMALL_L then $BIG_L in odd rounds, $BIG_L then $SMALL_L in even ones (so neither size always runs first), each run on a fresh server, each database continuing its own chains (both gain the same history per round). $SCALE_CONNS connections, wrk -t$(( SCALE_CONNS < THREADS ? SCALE_CONNS : THREADS )), ${DURATION} s after a ${WARMUP} s warm-up; on PostgreSQL each scale run starts right after a \`CHECKPOINT\`, and the WAL columns are the cluster's \`pg_stat_wal\` over the run and the 2 s quiet wait before it (a full-page image is written at the first change of a page after a checkpoint: the more distinct pages a run touches, the more images). Row counts and sizes are before the first round."
    echo
    echo "| database | sessions | round | rows: users / sessions / refresh tokens | database size | req/s | p50 ms | p99 ms | errors | server cores | PostgreSQL cores | CPU µs/request | quiet before | server writes KiB / request | WAL KiB / request | full-page images / request |"
    echo "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |"
    for b in $BACKENDS; do
      for r in $(seq 1 "$SCALE_ROUNDS"); do
        for sz in small big; do
          c=${REC[count-$b-$sz]:-}
          printf '| %s | %s | %s | %s / %s / %s | %s | %s | %s | %s |\n' "$(name_of "$b")" "$(kv "$c" sessions)" "$r" "$(kv "$c" users)" "$(kv "$c" sessions)" "$(kv "$c" tokens)" "$(mib "${REC[size-$b-$sz]:-0}")" "$(row "scale-$b-$sz-r$r")" "$(written_per_req "scale-$b-$sz-r$r")" "$(wal_of "scale-$b-$sz-r$r")"
        done
      done
    done
    echo
    echo "Ratios $BIG_L / $SMALL_L per round (the two runs of a round are next to each other in time), and their median, on which the target is judged; also the ratio of the medians of the runs."
    echo
    echo "| database | req/s $BIG_L / $SMALL_L per round | p50 per round | p99 per round | median req/s ratio | median p99 ratio | ratio of median p99s | target: $BIG_L within 20 % of $SMALL_L (median req/s ratio ≥ 0.80, median p99 ratio ≤ 1.20) | bulk insert of $((SESSIONS_BIG - SESSIONS_SMALL)) sessions |"
    echo "| --- | --- | --- | --- | ---: | ---: | ---: | --- | --- |"
    for b in $BACKENDS; do
      rs="" p50s="" p99s="" sp99="" bp99=""
      for r in $(seq 1 "$SCALE_ROUNDS"); do
        rs="$rs $(ratio "$(field "scale-$b-big-r$r" rps)" "$(field "scale-$b-small-r$r" rps)")"
        p50s="$p50s $(ratio "$(field "scale-$b-big-r$r" p50_ms)" "$(field "scale-$b-small-r$r" p50_ms)")"
        p99s="$p99s $(ratio "$(field "scale-$b-big-r$r" p99_ms)" "$(field "scale-$b-small-r$r" p99_ms)")"
        sp99="$sp99 $(field "scale-$b-small-r$r" p99_ms)" bp99="$bp99 $(field "scale-$b-big-r$r" p99_ms)"
      done
      mr=$(median $rs) mp99=$(median $p99s)
      bl=${REC[bulk-$b-live]:-}
      printf '| %s | %s | %s | %s | %s | %s | %s | req/s %s, p99 %s | %s s (%s) |\n' "$(name_of "$b")" "$(echo $rs | sed 's/ /, /g')" "$(echo $p50s | sed 's/ /, /g')" "$(echo $p99s | sed 's/ /, /g')" "$mr" "$mp99" "$(ratio "$(median $bp99)" "$(median $sp99)")" "$(verdict "$mr" 0.80 1)" "$(verdict "$mp99" 1.20 0)" "${REC[bulk-$b-live-s]:-?}" "$(echo "$bl" | sed -n 's/.*(\(.*\))$/\1/p')"
    done
    echo
    echo "Seeding the $SESSIONS_SMALL driven users (login + $HISTORY refreshes each, through the server library):$(for b in $BACKENDS; do printf ' %s %s s;' "$(name_of "$b")" "${REC[seed-$b]:-?}"; done)"
    echo
  fi
  if has "$PARTS" sweep; then
    echo "## Sweeper under load"
    echo
    echo "The big database (above), rotor-server with \`cleanup_interval = $SWEEP_INTERVAL\` (\`ROCKET_CLEANUP_INTERVAL\`; the sweeper deletes expired sessions with their tokens, then expired tokens, in batches of 25 (\`cleanup::BATCH\`), at most 2,000 batches per table per sweep, resting after each batch as long as it took when no refresh came meanwhile and nine times as long when one did (\`cleanup::BUSY_SHARE_PERCENT\`: 10 % of the time under load), starting at liftoff). Four runs, in this order: nothing expired (empty sweeps); then, after the backlog is inserted, the sweeper off (\`cleanup_interval = 0\`), the sweeper on, and the sweeper off again. Backlog: $EXPIRED_SESSIONS more users with one session and $((HISTORY + 1)) tokens each, all expired 30 days ago or more ($((EXPIRED_SESSIONS * (HISTORY + 2))) expired rows: sessions + tokens). The machine's quiet wait is before the server starts (the sweep starts with it); warm-up ${WARMUP} s, then ${DURATION} s measured at $SCALE_CONNS connections. Expired rows counted before the server started, just before and just after the measured run (range counts on the \`expires_at\` indexes), and after it stopped."
    echo
    echo "| database | run | expired sessions / tokens before start | at measured start | at measured end | swept during the measured run (sessions / tokens) | req/s | p50 ms | p99 ms | errors | server cores | PostgreSQL cores | CPU µs/request | quiet before start |"
    echo "| --- | --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
    for b in $BACKENDS; do
      for phase in base off backlog after; do
        l=sweep-$b-$phase
        c0=${REC[count-$l-before]:-}; cs=${REC[$l-exp-start]:-}; ce=${REC[$l-exp-end]:-}
        ds=$(( $(kvn "$cs" expired_sessions) - $(kvn "$ce" expired_sessions) ))
        dt=$(( $(kvn "$cs" expired_tokens) - $(kvn "$ce" expired_tokens) ))
        case $phase in
          base) what="no backlog, empty sweeps" ;;
          off) what="backlog, sweeper off (reference)" ;;
          backlog) what="backlog being swept" ;;
          *) what="what is left, sweeper off (reference)" ;;
        esac
        r=$(row "$l"); r=${r% | *}
        printf '| %s | %s | %s / %s | %s / %s | %s / %s | %s / %s | %s | %s |\n' "$(name_of "$b")" "$what" \
          "$(kv "$c0" expired_sessions)" "$(kv "$c0" expired_tokens)" "$(kv "$cs" expired_sessions)" "$(kv "$cs" expired_tokens)" \
          "$(kv "$ce" expired_sessions)" "$(kv "$ce" expired_tokens)" "$ds" "$dt" "$r" "${REC[$l-quiet]:-}"
      done
    done
    echo
    echo "The target is judged against the sweeper-off runs just before and just after the backlog run (their mean), on the same database with the same backlog: each run adds some 50,000 rotations to the history, and on SQLite the p99 grows with the history from run to run whatever the sweeper does. Also shown: against the last $BIG_L scale run above (round $SCALE_ROUNDS; sweeper idle, nothing expired, earlier and with less history), and what empty sweeps cost against it. req/s is shown because with a fixed number of connections a stalled server can keep its p99 while its throughput collapses."
    echo
    echo "| database | p99 backlog / sweeper off (mean of before and after) | req/s backlog / sweeper off | p99 backlog / last scale run | req/s backlog / last scale run | p99 empty sweeps / last scale run | target: p99 raised by at most 20 % | expired rows left when the server stopped (sessions / tokens) |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |"
    mean2() { awk -v a="$1" -v b="$2" 'BEGIN{ printf "%.3f", (a + b) / 2 }'; }
    for b in $BACKENDS; do
      off_p99=$(mean2 "$(field "sweep-$b-off" p99_ms)" "$(field "sweep-$b-after" p99_ms)")
      off_r=$(mean2 "$(field "sweep-$b-off" rps)" "$(field "sweep-$b-after" rps)")
      p99=$(ratio "$(field "sweep-$b-backlog" p99_ms)" "$off_p99")
      r=$(ratio "$(field "sweep-$b-backlog" rps)" "$off_r")
      p99s=$(ratio "$(field "sweep-$b-backlog" p99_ms)" "$(field "scale-$b-big-r$SCALE_ROUNDS" p99_ms)")
      rs=$(ratio "$(field "sweep-$b-backlog" rps)" "$(field "scale-$b-big-r$SCALE_ROUNDS" rps)")
      p99e=$(ratio "$(field "sweep-$b-base" p99_ms)" "$(field "scale-$b-big-r$SCALE_ROUNDS" p99_ms)")
      v=$(verdict "$p99" 1.20 0)
      [ "$(verdict "$r" 0.80 1)" = met ] || v="$v; req/s fell to ${r}x"
      ca=${REC[count-sweep-$b-backlog-after]:-}
      printf '| %s | %s | %s | %s | %s | %s | %s | %s / %s |\n' "$(name_of "$b")" "$p99" "$r" "$p99s" "$rs" "$p99e" "$v" "$(kv "$ca" expired_sessions)" "$(kv "$ca" expired_tokens)"
    done
    echo
    echo "A backlog left at the measured end means the sweeper had work during the whole measured run; none left means part of the run measured an idle sweeper."
    echo
  fi
  if has "$PARTS" curve; then
    echo "## Concurrency curve"
    echo
    echo "$SESSIONS_SMALL users ($HISTORY used + 1 live token per session at the start), one server per database, a ${WARMUP} s warm-up at each point, ${DURATION} s measured; wrk -t = min(connections, $THREADS). Peer: \`node server.js\`, NODE_ENV=production, pg pool 10."
    echo
    echo "| server | database | connections | req/s | p50 ms | p99 ms | errors | server cores | PostgreSQL cores | CPU µs/request | quiet before |"
    echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
    srvs=$BACKENDS
    [ "$PEER_CURVE" != 1 ] || srvs="$srvs peer"
    for b in $srvs; do
      [ "$b" = peer ] && srv="peer (Express)" || srv=rotor-server
      for c in $CONNS; do
        printf '| %s | %s | %s | %s |\n' "$srv" "$(name_of "$b")" "$c" "$(row "curve-$b-c$c")"
      done
    done
    echo
  fi
  echo "errors = non-200 + unparsable + duplicate tokens + socket errors + timeouts. server / PostgreSQL cores: CPU used over the run (of $(nproc)). CPU µs/request = (server + PostgreSQL CPU) / requests."
  echo
  echo "## Correctness"
  echo
  echo "After each server's runs (\`rotor-bench verify-scale\`, the driven users only): one session each, not revoked, exactly one live token and no fork, every settled token wrk holds is its user's live one, and rotations recorded = 200s received + rotations whose response wrk never read. \`live-sessions\`: unexpired sessions counted before and after (no run and no sweep may remove one)."
  echo
  echo '```text'
  cat "$CHECKS"
  echo '```'
  echo
  echo "Raw wrk results: \`$OUT/results.txt\` ($(for_runs | wc -l) measured runs)."
} >"$RESULTS.tmp"
mv "$RESULTS.tmp" "$RESULTS"
cat "$RESULTS" >&2
log "wrote $RESULTS in ${ELAPSED}s; servers stopped, PostgreSQL left running"
for n in $(for_runs); do
  [ "$(errors_of "$n")" = 0 ] || FAILS+=("$n: $(errors_of "$n") errors")
done
# The databases take some GiB each (the 1M ones, the small ones with their history): kept for
# a look after a failed run or with KEEP_DATABASES=1, dropped otherwise.
if [ ${#FAILS[@]} -eq 0 ] && [ "$KEEP_DATABASES" != 1 ]; then
  rm -f "$SQLITE_DB_SMALL"* "$SQLITE_DB_BIG"*
  if has "$BACKENDS" pg; then
    psql_admin <<SQL || log "could not drop $PG_DB_SMALL and $PG_DB_BIG"
DROP DATABASE IF EXISTS $PG_DB_SMALL WITH (FORCE);
DROP DATABASE IF EXISTS $PG_DB_BIG WITH (FORCE);
SQL
  fi
  log "dropped the benchmark databases (KEEP_DATABASES=1 keeps them)"
fi
if [ ${#FAILS[@]} -gt 0 ]; then
  printf '%s\n' "${FAILS[@]}" >&2
  die "${#FAILS[@]} failures"
fi
