#!/usr/bin/env bash
# Load benchmark of the helpdesk with the protocol of the django-helpdesk peer
# (/work/shared/bench/peer_django_helpdesk_run.sh): same scenarios, concurrency, durations, drains.
#   bench/run.sh [TICKETS=100000] [SCENARIOS=all|read|search]
# Uses its own database helpdesk_bench_<TICKETS> (migrated, demo org + TICKETS bench tickets,
# seeded once), starts `helpdesk web --workers 2` on 127.0.0.1:$PORT, logs in, measures with
# load.sh, drains between runs, removes the tickets the create runs added, stops the server.
# env: PORT=8810, WORKERS=2, D=30s (c=10 runs), D1=20s (c=1 runs), WARM=3s (0: none),
#      CONCS="10 1", TERMS="printer toner" (~30% / ~2.5% of tickets), TIMEOUT (wrk, 60s),
#      BENCH_SHARED=/work/shared/bench (load.sh, login.py, summarize.py), PGUSER=postgres (psql),
#      RESULTS=bench/results/helpdesk_bench_<N>-<time> (results.jsonl, summary.md, machine.txt),
#      QUIET=25 (start a run only when the box is at most this % busy with the server idle; 100: off),
#      QUIET_WAIT=900 (seconds to wait for that before measuring anyway),
#      NOISY=15, RETRIES=2 (measure again, up to RETRIES times, when others used more than NOISY %
#      of the box during the run; every run stays in results.jsonl, bench/compare.py keeps the best).
set -euo pipefail
N=${1:-100000}; SCEN=${2:-all}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${BENCH_SHARED:-/work/shared/bench}
PORT=${PORT:-8810}; WORKERS=${WORKERS:-2}; D=${D:-30s}; D1=${D1:-20s}; WARM=${WARM:-3s}
CONCS=${CONCS:-10 1}; TERMS=${TERMS:-printer toner}; QUIET=${QUIET:-25}; QUIET_WAIT=${QUIET_WAIT:-900}
NOISY=${NOISY:-15}; RETRIES=${RETRIES:-2}
DB=helpdesk_bench_$N
export DATABASE_URL=postgresql+psycopg://127.0.0.1:5432/$DB
export SECRET_KEY=${SECRET_KEY:-bench-secret-key-not-for-production}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/15}
RESULTS=${RESULTS:-$ROOT/bench/results/$DB-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$RESULTS"
B=http://127.0.0.1:$PORT
HD=$ROOT/.venv/bin/helpdesk
psql_() { psql -h 127.0.0.1 -U "${PGUSER:-postgres}" -d "$DB" -v ON_ERROR_STOP=1 -qtAc "$1"; }

command -v wrk >/dev/null || { flock /tmp/apt.lock apt-get update -q && flock /tmp/apt.lock apt-get install -y -q --no-install-recommends wrk; }

# --- database: migrate, seed once --------------------------------------------------------------
"$HD" db upgrade >/dev/null
# The create runs add tickets titled "Bench create ..."; remove them so the data set stays at N.
# ticket_events refuses DELETE (audit trail): lift that trigger for this one transaction.
cleanup_created() {
  psql_ "BEGIN;
    CREATE TEMP TABLE gone ON COMMIT DROP AS SELECT id FROM tickets WHERE subject LIKE 'Bench create %';
    ALTER TABLE ticket_events DISABLE TRIGGER ticket_events_no_update;
    DELETE FROM ticket_events WHERE ticket_id IN (SELECT id FROM gone);
    DELETE FROM outbox WHERE ticket_id IN (SELECT id FROM gone);
    DELETE FROM tickets WHERE id IN (SELECT id FROM gone);
    ALTER TABLE ticket_events ENABLE TRIGGER ticket_events_no_update;
    COMMIT;" >/dev/null
  psql_ "VACUUM ANALYZE tickets" >/dev/null
}
bench_count() {
  psql_ "SELECT count(*) FROM tickets t JOIN users u ON u.id = t.requester_id WHERE u.email LIKE '%@bench.example'"
}
cleanup_created
HAVE=$(bench_count)
if [ "$HAVE" = 0 ]; then
  echo "seeding $DB with $N tickets ..." >&2
  "$HD" bench seed --tickets "$N" | tee -a "$RESULTS/seed.jsonl"
elif [ "$HAVE" != "$N" ]; then
  echo "database $DB holds $HAVE bench tickets, not $N: dropdb -h 127.0.0.1 -U postgres $DB and rerun" >&2
  exit 1
fi

# --- server ------------------------------------------------------------------------------------
SERVER_PID=
stop() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$SERVER_PID" 2>/dev/null && kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=
}
trap 'stop; cleanup_created || true' EXIT
(cd "$ROOT" && exec "$HD" web --host 127.0.0.1 --port "$PORT" --workers "$WORKERS") >"$RESULTS/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 150); do curl -sf -o /dev/null "$B/healthz" && break; sleep 0.2; done
curl -sf -o /dev/null "$B/healthz" || { echo "server did not start, see $RESULTS/server.log" >&2; exit 1; }
sleep 1
NPROC_WORKERS=$(pgrep -P "$SERVER_PID" | wc -l)

# Process-tree CPU ticks of the server (master + workers).
server_ticks() {
  local t=0 p f
  for p in $SERVER_PID $(pgrep -P "$SERVER_PID" || true); do
    read -r -a f <"/proc/$p/stat" 2>/dev/null || continue
    t=$((t + f[13] + f[14]))
  done
  echo "$t"
}
# wrk abandons requests when a run ends and the server finishes them anyway: wait until no
# query is active in the database and the server processes are idle, three checks in a row.
drain() {
  local i idle=0 before after
  before=$(server_ticks)
  for i in $(seq 3000); do
    sleep 0.3
    after=$(server_ticks)
    if [ $((after - before)) -le 1 ] && [ "$(psql_ "SELECT count(*) FROM pg_stat_activity WHERE datname='$DB' AND state='active' AND pid<>pg_backend_pid()")" = 0 ]; then
      idle=$((idle + 1)); [ $idle -ge 3 ] && return 0
    else idle=0; fi
    before=$after
  done
}

# The box is shared (other people's test suites, browsers): CPU that others use skews every
# figure. Before a run we wait until the box is idle (our server is idle then); during a run we
# add up the CPU time of every process that is not ours (server, its database backends, and
# the short-lived wrk and parallel query workers, which exit before the second snapshot).
cpu_total() { local _c u n s i w q sq st; read -r _c u n s i w q sq st _ </proc/stat; echo "$((u + n + s + q + sq + st)) $((u + n + s + i + w + q + sq + st))"; }
busy_pct() {  # % of the box busy over $1 seconds
  local a b; a=($(cpu_total)); sleep "$1"; b=($(cpu_total))
  echo $(((b[0] - a[0]) * 100 / (b[1] - a[1] + 1)))
}
wait_quiet() {  # with our server idle, wait until others leave the CPUs alone (twice in a row)
  local waited=0 ok=0 pct
  [ "$QUIET" -ge 100 ] && { echo 0; return 0; }
  while [ $waited -lt "$QUIET_WAIT" ]; do
    pct=$(busy_pct 1); waited=$((waited + 1))
    if [ "$pct" -le "$QUIET" ]; then ok=$((ok + 1)); [ $ok -ge 2 ] && { echo "$waited"; return 0; }; else ok=0; sleep 2; waited=$((waited + 2)); fi
  done
  echo "$waited (gave up)"
}
proc_ticks() {  # "pid ticks" of every process (fields after the ")" that ends the command name)
  local f s a
  for f in /proc/[0-9]*/stat; do
    read -r s 2>/dev/null <"$f" || continue  # the process may be gone already
    s=${s##*) }; read -r -a a <<<"$s"; echo "${f//[^0-9]/} $((a[11] + a[12]))"
  done
}
our_pids() {
  echo "$SERVER_PID" $(pgrep -P "$SERVER_PID" || true) \
    $(psql_ "SELECT pid FROM pg_stat_activity WHERE datname='$DB' AND pid<>pg_backend_pid()")
}
foreign_pct() {  # $1 $2: proc_ticks files before/after, $3: jiffies elapsed on the box, $4...: our pids
  local before=$1 after=$2 total=$3; shift 3
  awk -v ours=" $* " -v total="$total" 'NR == FNR { t0[$1] = $2; next }
    index(ours, " " $1 " ") == 0 { d += $2 - ($1 in t0 ? t0[$1] : 0) }
    END { printf "%d\n", d * 100 / (total + 1) }' "$before" "$after"
}

# --- sessions and ids --------------------------------------------------------------------------
login() {  # our form: POST /login with email, password and _csrf (double-submitted with hd_csrf)
  local i
  for i in 1 2 3 4 5; do
    "$SHARED/login.py" "$B" "$1" "$2" --path /login --user-field email --csrf-field _csrf \
      --csrf-cookie hd_csrf --session-cookie hd_session && return 0
    curl -s "$B/login" >"$RESULTS/login-failed-$i.html" || true
    sleep 2
  done
  echo "cannot log in as $1" >&2; return 1
}
AGENT=$(login agent0001@bench.example bench)       # an IT agent (like the peer's staff001)
ADMIN=$(login admin@example.com demo)              # sees every ticket (the peer's staff see all queues)
REQUESTER=$(login user0001@bench.example bench)    # the busiest requester
csrf_of() {  # the session's CSRF token, from a hidden form field of a page
  curl -sf -H "Cookie: $1" "$B$2" | grep -o 'name="_csrf" value="[^"]*"' | head -1 | sed 's/.*value="//; s/"$//'
}
REQ_CSRF=$(csrf_of "$REQUESTER" /portal/new)
IT=$(psql_ "SELECT id FROM teams WHERE slug='it'")
CAT=$(psql_ "SELECT id FROM categories WHERE slug='it-network'")
RANGE=$(psql_ "SELECT min(t.number) || '-' || max(t.number) FROM tickets t JOIN users u ON u.id = t.requester_id WHERE u.email LIKE '%@bench.example'")
status_of() { curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $1" "$B${2//%ID%/${RANGE%-*}}"; }

{ echo "date: $(date -Is)"; echo "db: $DB tickets=$(bench_count) (+ demo) messages=$(psql_ 'SELECT count(*) FROM ticket_messages') events=$(psql_ 'SELECT count(*) FROM ticket_events')"
  echo "db size: $(psql_ 'SELECT pg_size_pretty(pg_database_size(current_database()))')"
  echo "server: helpdesk web --workers $WORKERS (uvicorn; worker processes seen: $NPROC_WORKERS)"
  echo "cpus: $(nproc)"; grep -m1 'model name' /proc/cpuinfo; free -g | sed -n 2p; echo "loadavg at start: $(cat /proc/loadavg)"
  { wrk --version 2>&1 || true; } | head -1; psql_ 'SELECT version()'
  "$ROOT/.venv/bin/pip" freeze 2>/dev/null | grep -iE '^(litestar|uvicorn|sqlalchemy|psycopg|psycopg-binary|jinja2)==' || true
  echo "git: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$ROOT" diff --quiet 2>/dev/null || echo ' (+ uncommitted changes)')"
} >"$RESULTS/machine.txt"
cat "$RESULTS/machine.txt" >&2

BODY="_csrf=$REQ_CSRF&category_id=$CAT&subject=Bench+create+%N%&description=Paper+jam+again%2C+please+send+someone."
run() {  # label conc dur cookie path [env...]; repeated (up to RETRIES times) while the box was noisy
  local label=$1 c=$2 dur=$3 cookie=$4 path=$5 code try; shift 5
  code=$(status_of "$cookie" "$path")
  if [ "$code" != 200 ] && [[ "$label" != create* ]]; then
    echo "skip $label: GET $path answers $code" | tee -a "$RESULTS/skipped.txt" >&2; return 0
  fi
  [ "$WARM" = 0 ] || env "$@" C=1 D="$WARM" LABEL=warmup "$SHARED/load.sh" "$B" "$path" "$cookie" >/dev/null
  drain
  for try in $(seq 0 "$RETRIES"); do
    measure "$label" "$c" "$dur" "$cookie" "$path" "$@"
    if [ "$FOREIGN" -le "$NOISY" ]; then break; fi
  done
  return 0
}
measure() {
  local label=$1 c=$2 dur=$3 cookie=$4 path=$5 waited t0 t1 pids; shift 5
  waited=$(wait_quiet)
  { echo "== $N/$label c=$c"; top -bn1 -w 160 | sed -n '7,13p'; } >>"$RESULTS/cpu.txt"  # who else is busy
  proc_ticks >"$RESULTS/.ticks0"; t0=($(cpu_total))
  env "$@" C="$c" D="$dur" LABEL="$N/$label" OUT_JSONL="$RESULTS/results.jsonl" "$SHARED/load.sh" "$B" "$path" "$cookie"
  proc_ticks >"$RESULTS/.ticks1"; t1=($(cpu_total)); pids=$(our_pids)
  FOREIGN=$(foreign_pct "$RESULTS/.ticks0" "$RESULTS/.ticks1" $((t1[1] - t0[1])) $pids)
  echo "$N/$label c=$c waited_quiet_s=$waited foreign_cpu_pct=$FOREIGN loadavg $(cat /proc/loadavg)" >>"$RESULTS/loadavg.txt"
  drain
}
for c in $CONCS; do
  dur=$D; [ "$c" = 1 ] && dur=$D1
  if [ "$SCEN" != search ]; then
    run list_html "$c" "$dur" "$AGENT" /console/teams/it                    # team backlog page (open)
    run list_json "$c" "$dur" "$AGENT" "/api/v1/tickets?team_id=$IT&state=open"
    run portal_list "$c" "$dur" "$REQUESTER" /portal                        # my open requests
    run detail "$c" "$dur" "$ADMIN" "/console/tickets/%ID%" IDS="$RANGE"
  fi
  if [ "$SCEN" = all ]; then run search_html "$c" "$dur" "$AGENT" "/console/teams/it?status=all&q=${TERMS%% *}"; fi
  if [ "$SCEN" != read ]; then
    for t in $TERMS; do run "search_json_$t" "$c" "$dur" "$ADMIN" "/api/v1/tickets?q=$t"; done
  fi
  if [ "$SCEN" = all ]; then
    run create "$c" "$dur" "$REQUESTER" /portal/new METHOD=POST BODY="$BODY"
    cleanup_created  # the new tickets are open IT tickets: remove them before the next list run
  fi
done
stop
python3 "$SHARED/summarize.py" "$RESULTS/results.jsonl" | tee "$RESULTS/summary.md"
echo "results in $RESULTS" >&2
