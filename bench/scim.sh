#!/usr/bin/env bash
# SCIM under load: Sigil on SQLite and on PostgreSQL beside the Python
# scim2-server, one after the other in one run, on the same operations, in
# this order on each server:
#   - loading N users through /Bulk (each request as large as the limits in
#     /ServiceProviderConfig allow, LOAD_PARALLEL requests at a time), then
#     counting them;
#   - GET /Users?filter=userName eq "..." on random loaded users: p50 with
#     one connection, requests per second with CONNECTIONS;
#   - filter=emails.value co "-<i>@" (one random user, found by a walk of the
#     emails) and filter=meta.lastModified gt "..." (the last tenth of the
#     users loaded, as a sync asking for what changed), both with count=10:
#     requests per second and p50 with CONNECTIONS;
#   - POST /Users with CONNECTIONS connections, a new userName per request
#     (a random run prefix and a counter per wrk thread): creates per second,
#     p50 and p99; every answer must be 2xx, and the users stored afterwards
#     are counted;
#   - BULK_USERS users through /Bulk by one client (seconds);
#   - a group of GROUP_SIZE loaded users, built by a POST and PATCHes within
#     the payload limit (seconds), then PATCH_REPEATS PATCHes each adding
#     PATCH_MEMBERS other users (seconds each, median shown), and the
#     members counted;
# For creates and userName searches it also reports the CPU time each request
# cost the server and, for Sigil on PostgreSQL, PostgreSQL's own processes
# (from /proc, over the run and its settling): on a small machine, where
# the cores go is what bounds the rates.
# And the ceilings of the machine in the same run: fsync calls per second on
# the disk holding the stores (before and after), nproc and the load average.
# Any non-2xx answer, socket error, empty search or missing user stops the run.
#
# Users carry a userName, a name and a work email, no password (a password
# is an argon2 hash, which would be measured instead). scim2-server keeps its
# users in memory and is served by its own command (one process, a thread per
# connection); Sigil writes every change to disk before answering.
#
# With two cores or more, each SCIM server is pinned to core 0 and the load
# generators (wrk, the Python bulk client) to core 1 (taskset); PostgreSQL's
# own processes are not pinned.
#
# Needs: wrk (installed from the system packages when missing and run as
# root), python3 with venv (scim2-server is installed from PyPI into target/),
# curl, psql for the PostgreSQL half, a release build of sigil (built here).
#
# Settings (environment):
#   N              users loaded into Sigil                  (100000)
#   PEER_N         users loaded into scim2-server           (the group's need:
#                  GROUP_SIZE + PATCH_REPEATS * PATCH_MEMBERS, at most N)
#   DURATION       seconds per wrk measurement              (10)
#   CONNECTIONS    concurrent connections                   (16)
#   THREADS        wrk threads                              (1)
#   BACKENDS       Sigil's stores to measure                (sqlite postgres)
#   PEER           measure scim2-server too (1); 0 skips it  (1)
#   GROUP_SIZE     members of the group before the PATCHes (50000)
#   PATCH_MEMBERS  members each PATCH adds                  (1000)
#   PATCH_REPEATS  PATCHes measured                         (3)
#   BULK_USERS     users of the timed /Bulk load            (10000)
#   LOAD_PARALLEL  concurrent /Bulk requests while loading  (4)
#   MAX_WINDOW     longest wrk window for a slow server, s  (160)
#   BENCH_POSTGRES_URL  a PostgreSQL server where a database is created for
#                       the run and dropped after it
#                       (postgres://postgres@127.0.0.1:5432/postgres)
# A group holds at most the users loaded less the ones the PATCHes add; the
# output says what each side had.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."

N=${N:-100000}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-16}
THREADS=${THREADS:-1}
BACKENDS=${BACKENDS:-"sqlite postgres"}
PEER=${PEER:-1}
GROUP_SIZE=${GROUP_SIZE:-50000}
PATCH_MEMBERS=${PATCH_MEMBERS:-1000}
PATCH_REPEATS=${PATCH_REPEATS:-3}
BULK_USERS=${BULK_USERS:-10000}
LOAD_PARALLEL=${LOAD_PARALLEL:-4}
MAX_WINDOW=${MAX_WINDOW:-160}
POSTGRES_URL=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
# scim2-server walks every user for a filter other than eq, so at Sigil's N a
# search of it outlasts a measurement: it gets the users the group needs.
peer_default=$((GROUP_SIZE + PATCH_REPEATS * PATCH_MEMBERS))
PEER_N=${PEER_N:-$((N < peer_default ? N : peer_default))}
SCIM2_SERVER_VERSION=0.8.3

started_at=$(date +%s)

if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
  else
    echo "wrk is needed (apt-get install wrk)" >&2
    exit 1
  fi
fi
for tool in curl python3; do
  if ! command -v "$tool" >/dev/null; then
    echo "$tool is needed" >&2
    exit 1
  fi
done

server_cpu=()
load_cpu=()
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
  server_cpu=(taskset -c 0)
  load_cpu=(taskset -c 1)
fi

scratch=$(mktemp -d)
pids=()
pg_database=
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "$pg_database" ]; then
    psql "$POSTGRES_URL" -qc "DROP DATABASE IF EXISTS $pg_database WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  rm -rf "$scratch"
}
trap cleanup EXIT

# Results, by "target/measure".
declare -A result

client() { "${load_cpu[@]}" python3 bench/scim_client.py "$@"; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Waits for a line matching "PATTERN http://ADDR" in a log file; prints ADDR.
wait_for_address() {
  local log=$1 pattern=$2
  for _ in $(seq 1 200); do
    if grep -q "$pattern http://" "$log" 2>/dev/null; then
      grep -o "$pattern http://[^ /]*" "$log" | head -1 | sed 's|.*http://||'
      return 0
    fi
    sleep 0.1
  done
  echo "server did not start:" >&2
  cat "$log" >&2
  return 1
}

stop_last_server() {
  kill "${pids[-1]}"
  wait "${pids[-1]}" 2>/dev/null || true
  unset 'pids[-1]'
}

# Waits until the server (the last one started) is idle: wrk stops at the
# end of its duration, but a slow server still works on what it was sent,
# which the next measure would pay for.
settle() {
  local pid=${pids[-1]} before after
  for _ in $(seq 1 600); do
    before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    sleep 0.5
    after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    # Clock ticks (usually 100 a second): idle below 5% of a core.
    if [ $((after - before)) -le 2 ]; then return 0; fi
  done
  echo "the server is still busy after 5 minutes" >&2
  return 1
}

# CPU time (clock ticks) used so far by the processes PIDS, summed.
cpu_ticks() {
  local ticks=0 pid
  for pid in "$@"; do
    if [ -r "/proc/$pid/stat" ]; then
      ticks=$((ticks + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
    fi
  done
  echo "$ticks"
}

# PostgreSQL's processes (its backends serve the server's connections).
database_pids() { pgrep -x postgres || true; }

# Percent-encodes a filter, keeping "{i}" for scim-request.lua.
encode() {
  python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe="{}"))' "$1"
}

# Runs wrk with scim-request.lua, then waits for the server to be idle;
# fails on any non-2xx answer, socket error or empty search. A server that
# answers fewer than two requests a connection within DURATION is measured
# again over a window four times longer, up to MAX_WINDOW seconds, so that
# its figures rest on more than its first answers. Prints the fields of
# wrk's RESULT line, "key=value" words, and the window used.
run_wrk() {
  local url=$1 connections=$2
  shift 2
  local out line window=$DURATION server_before database_before
  while true; do
    server_before=$(cpu_ticks "${pids[-1]}")
    # shellcheck disable=SC2046 # one argument per process id
    database_before=$(cpu_ticks $(database_pids))
    out=$("${load_cpu[@]}" wrk -t"$THREADS" -c"$connections" -d"${window}s" --timeout 60s \
      -s bench/scim-request.lua "$url" -- "$@" 2>&1)
    settle
    line=$(grep '^RESULT ' <<<"$out" || true)
    # A request wrk gave up on (no answer in 60 s) is a result, not a broken
    # run: record() reports it; any other error aborts.
    if [ -z "$line" ] || [ "$(field non2xx "$line")" != 0 ] ||
      [ "$(field socket_errors "$line")" != 0 ] || [ "$(field empty "$line")" != 0 ]; then
      echo "errors during the run against $url:" >&2
      echo "$out" >&2
      return 1
    fi
    if [ "$(field requests "$line")" -ge $((2 * connections)) ] || [ "$window" -ge "$MAX_WINDOW" ]; then
      break
    fi
    window=$((window * 4 < MAX_WINDOW ? window * 4 : MAX_WINDOW))
    echo "  (few answers: again over ${window}s)" >&2
  done
  # CPU spent by the server and by PostgreSQL over the run and its settling,
  # in clock ticks: where the cores went.
  # shellcheck disable=SC2046
  echo "${line#RESULT } window=$window server_ticks=$(($(cpu_ticks "${pids[-1]}") - server_before))" \
    "database_ticks=$(($(cpu_ticks $(database_pids)) - database_before))"
}

# Keeps the figures of a wrk run (OUT, from run_wrk) as TARGET/NAME_rate,
# _p50 and _p99; a run that got no answer at all keeps "none in <window>s".
# Requests left unanswered past wrk's 60 s timeout are kept as
# TARGET/NAME_timeouts, and the p99 then reads "> 60000 ms" when they are
# more than 1% of what was sent (wrk's percentiles count answers only).
record() {
  local target=$1 name=$2 out=$3
  local requests window figure timeouts
  requests=$(field requests "$out")
  window=$(field window "$out")
  if [ "$requests" -eq 0 ]; then
    for figure in rate p50 p99; do result[$target/${name}_$figure]="none in ${window}s"; done
  else
    result[$target/${name}_rate]=$(rate "$requests" "$(field seconds "$out")")
    result[$target/${name}_p50]=$(ms "$(field p50_us "$out")")
    result[$target/${name}_p99]=$(ms "$(field p99_us "$out")")
    result[$target/${name}_server_cpu]=$(per_request_us "$(field server_ticks "$out")" "$requests")
    if [ "$target" = sigil-postgres ]; then
      result[$target/${name}_database_cpu]=$(per_request_us "$(field database_ticks "$out")" "$requests")
    fi
  fi
  result[$target/${name}_requests]=$requests
  timeouts=$(field timeouts "$out")
  if [ "${timeouts:-0}" -gt 0 ]; then
    result[$target/${name}_timeouts]=$timeouts
    if [ $((timeouts * 100)) -gt $((requests + timeouts)) ]; then
      result[$target/${name}_p99]="> 60000 ms"
    fi
  fi
  if [ "$window" != "$DURATION" ]; then
    result[$target/windows]+=" $name over ${window}s;"
  fi
}

# The path and query of a URL.
path_of() { echo "/${1#http://*/}"; }

# field NAME "k=v k=v ...": the value of NAME.
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }

rate() {
  python3 -c "import sys; r = float(sys.argv[1]) / float(sys.argv[2]); print(f'{r:.1f}' if r < 10 else int(r))" "$1" "$2"
}
# per_request_us TICKS REQUESTS: CPU microseconds a request.
per_request_us() {
  python3 -c "import sys; print(int(int(sys.argv[1]) * 1e6 / int(sys.argv[3]) / int(sys.argv[2])))" \
    "$1" "$2" "$(getconf CLK_TCK)"
}
ms() { python3 -c "import sys; print(f'{int(sys.argv[1]) / 1000:.2f}')" "$1"; }

# Every measurement on one running server. TARGET names the column, BASE is
# the SCIM base URL, LOADED the number of users to load.
measure_target() {
  local target=$1 base=$2 token=$3 loaded=$4
  local run prefix ids seconds stored out
  run=$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
  prefix="u$run"
  ids="$scratch/$target.ids"
  : >"$ids"
  result[$target/n]=$loaded
  result[$target/limits]=$(client limits "$base" "$token")

  echo "[$target] loading $loaded users through /Bulk, $LOAD_PARALLEL requests at a time" >&2
  seconds=$(client bulk "$base" "$token" "$prefix" 0 "$loaded" "$LOAD_PARALLEL" "$ids")
  stored=$(client total "$base" "$token" "userName sw \"$prefix-\"")
  if [ "$stored" != "$loaded" ]; then
    echo "[$target] $stored users stored, $loaded loaded" >&2
    return 1
  fi
  result[$target/load]=$(rate "$loaded" "$seconds")

  # The searches run on exactly the loaded users.
  echo "[$target] filter userName eq" >&2
  local eq
  eq="$base/Users?filter=$(encode "userName eq \"$prefix-{i}\"")"
  record "$target" eq1 "$(run_wrk "$eq" 1 "$token" get "$(path_of "$eq")" "$loaded")"
  record "$target" eq "$(run_wrk "$eq" "$CONNECTIONS" "$token" get "$(path_of "$eq")" "$loaded")"

  echo "[$target] filter emails.value co" >&2
  local co
  co="$base/Users?filter=$(encode "emails.value co \"-{i}@\"")&count=10"
  record "$target" co "$(run_wrk "$co" "$CONNECTIONS" "$token" get "$(path_of "$co")" "$loaded")"

  # Changed since a sync: the last tenth of the users loaded.
  echo "[$target] filter meta.lastModified gt" >&2
  local since gt
  since=$(client modified "$base" "$token" "$prefix-$((loaded * 9 / 10))")
  gt="$base/Users?filter=$(encode "meta.lastModified gt \"$since\"")&count=10"
  record "$target" gt "$(run_wrk "$gt" "$CONNECTIONS" "$token" get "$(path_of "$gt")" 1)"

  echo "[$target] POST /Users, $CONNECTIONS connections" >&2
  out=$(run_wrk "$base/Users" "$CONNECTIONS" "$token" create "${prefix}c")
  stored=$(client total "$base" "$token" "userName sw \"${prefix}c-\"")
  # Requests still in flight when wrk stops may land without being counted.
  if [ "$stored" -lt "$(field requests "$out")" ]; then
    echo "[$target] $(field requests "$out") creates answered, $stored stored" >&2
    return 1
  fi
  record "$target" create "$out"
  result[$target/create_stored]=$stored

  echo "[$target] $BULK_USERS users through /Bulk, one client" >&2
  seconds=$(client bulk "$base" "$token" "${prefix}b" 0 "$BULK_USERS" 1 "$scratch/$target.bulk-ids")
  stored=$(client total "$base" "$token" "userName sw \"${prefix}b-\"")
  if [ "$stored" != "$BULK_USERS" ]; then
    echo "[$target] $stored of $BULK_USERS bulk users stored" >&2
    return 1
  fi
  result[$target/bulk]=$seconds

  local size=$((loaded - PATCH_REPEATS * PATCH_MEMBERS))
  if [ "$size" -gt "$GROUP_SIZE" ]; then size=$GROUP_SIZE; fi
  if [ "$size" -lt 1 ]; then
    echo "[$target] too few users for the PATCH measure" >&2
    return 1
  fi
  echo "[$target] a group of $size members, then $PATCH_REPEATS PATCHes of $PATCH_MEMBERS" >&2
  local group times=() r members
  out=$(client group "$base" "$token" "$ids" "$size")
  group=${out% *}
  result[$target/group_build]=${out#* }
  for r in $(seq 0 $((PATCH_REPEATS - 1))); do
    times+=("$(client patch "$base" "$token" "$group" "$ids" $((size + r * PATCH_MEMBERS)) "$PATCH_MEMBERS")")
  done
  members=$(client members "$base" "$token" "$group")
  if [ "$members" != $((size + PATCH_REPEATS * PATCH_MEMBERS)) ]; then
    echo "[$target] the group has $members members, $((size + PATCH_REPEATS * PATCH_MEMBERS)) expected" >&2
    return 1
  fi
  result[$target/group]=$size
  result[$target/patch]=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  result[$target/patch_all]="${times[*]}"
}

# Sigil on a fresh store: registers a SCIM client holding service-account,
# serves, and measures. BACKEND is sqlite or postgres.
measure_sigil() {
  local backend=$1 target="sigil-$1"
  case $backend in
    sqlite) export SIGIL_DATABASE_URL="$scratch/sigil.db" ;;
    postgres)
      if ! PGCONNECT_TIMEOUT=3 psql "$POSTGRES_URL" -Atqc 'SELECT 1' >/dev/null 2>&1; then
        echo "PostgreSQL does not answer at $POSTGRES_URL: skipping Sigil on PostgreSQL" >&2
        result[$target/skipped]="no PostgreSQL at $POSTGRES_URL"
        return 0
      fi
      pg_database="sigil_scim_bench_$$_$(date +%s)"
      psql "$POSTGRES_URL" -qc "CREATE DATABASE $pg_database" >/dev/null
      export SIGIL_DATABASE_URL="${POSTGRES_URL%/*}/$pg_database"
      ;;
    *) echo "unknown backend $backend (sqlite or postgres)" >&2; return 1 ;;
  esac
  "$sigil" migrate >/dev/null
  local secret addr token
  secret=$("$sigil" client add --id scim-bench --grant-type client_credentials --scope "scim:read scim:write" |
    sed -n 's/^client_secret: //p')
  "$sigil" admin grant service-account --client scim-bench >/dev/null

  SIGIL_BIND=127.0.0.1:0 "${server_cpu[@]}" "$sigil" serve >"$scratch/$target.log" 2>&1 &
  pids+=($!)
  addr=$(wait_for_address "$scratch/$target.log" 'listening on')
  token=$(curl -sf -u "scim-bench:$secret" -d grant_type=client_credentials -d "scope=scim:read scim:write" \
    "http://$addr/token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  measure_target "$target" "http://$addr/scim/v2" "$token" "$N"
  stop_last_server

  if [ "$backend" = postgres ]; then
    psql "$POSTGRES_URL" -qc "DROP DATABASE $pg_database WITH (FORCE)" >/dev/null
    pg_database=
  fi
}

# scim2-server, installed once into target/ at the pinned version, served by
# its own command with a static bearer token.
measure_peer() {
  local venv="target/scim2-server-$SCIM2_SERVER_VERSION"
  if [ ! -x "$venv/bin/scim2-server" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "scim2-server==$SCIM2_SERVER_VERSION"
  fi
  local token port addr
  token=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
  port=$(free_port)
  "${server_cpu[@]}" "$venv/bin/scim2-server" --hostname 127.0.0.1 --port "$port" --bearer-token "$token" \
    >"$scratch/peer.log" 2>&1 &
  pids+=($!)
  addr=$(wait_for_address "$scratch/peer.log" 'Serving SCIM on')
  measure_target peer "http://$addr/v2" "$token" "$PEER_N"
  stop_last_server
}

# How many times faster Sigil is than the peer: rates divided, times inverted.
faster() {
  local kind=$1 sigil=$2 peer=$3
  if [ "$kind" = none ]; then return 0; fi
  python3 - "$kind" "$sigil" "$peer" <<'EOF'
import sys
kind, sigil, peer = sys.argv[1:]
try:
    s, p = float(sigil.rstrip("/s")), float(peer.rstrip("/s"))
    r = s / p if kind == "rate" else p / s
    print(f"{r:.1f}×" if r >= 1 else f"{r:.2f}×")
except (ValueError, ZeroDivisionError):
    print("n/a")
EOF
}

row() {
  local label=$1 key=$2 kind=$3
  local cells=() target
  for target in sigil-sqlite sigil-postgres peer; do
    cells+=("${result[$target/$key]:-n/a}")
  done
  printf '|%s|%s|%s|%s|%s|%s|\n' "$label" "${cells[@]}" \
    "$(faster "$kind" "${cells[0]}" "${cells[2]}")" "$(faster "$kind" "${cells[1]}" "${cells[2]}")"
}

cargo build --release --quiet -p sigil-server
sigil="$PWD/target/release/sigil"
export SIGIL_LOG_LEVEL=warn
# One token for the whole run: the longest lifetime the configuration allows.
export SIGIL_TOKENS_ACCESS_TOKEN_LIFETIME_SECONDS=86400

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
fsync_before=$(python3 bench/scim_client.py fsync "$scratch" 2)
for backend in $BACKENDS; do
  measure_sigil "$backend"
done
if [ "$PEER" = 1 ]; then
  measure_peer
else
  result[peer/skipped]="PEER=0"
fi
fsync_after=$(python3 bench/scim_client.py fsync "$scratch" 2)
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

peer="scim2-server $SCIM2_SERVER_VERSION"
echo
printf '%s\n' "|measure|Sigil SQLite|Sigil PostgreSQL|$peer|SQLite vs peer|PostgreSQL vs peer|"
printf '%s\n' "|---|---|---|---|---|---|"
row "users loaded (N)" n none
row "loading them through /Bulk, $LOAD_PARALLEL requests at a time, users/s" load rate
row "$BULK_USERS users through /Bulk, one client, s" bulk time
row "POST /Users, $CONNECTIONS conn, creates/s" create_rate rate
row "POST /Users p50, ms" create_p50 time
row "POST /Users p99, ms" create_p99 time
row "POST /Users, server CPU per create, µs" create_server_cpu time
row "POST /Users, PostgreSQL CPU per create, µs" create_database_cpu none
row "userName eq, 1 conn, p50 ms" eq1_p50 time
row "userName eq, $CONNECTIONS conn, req/s" eq_rate rate
row "userName eq, server CPU per request, µs" eq_server_cpu time
row "userName eq, PostgreSQL CPU per request, µs" eq_database_cpu none
row "emails.value co, count=10, $CONNECTIONS conn, req/s" co_rate rate
row "emails.value co, $CONNECTIONS conn, p50 ms" co_p50 time
row "meta.lastModified gt, count=10, $CONNECTIONS conn, req/s" gt_rate rate
row "meta.lastModified gt, $CONNECTIONS conn, p50 ms" gt_p50 time
row "a group built by POST and PATCHes (sizes below), s" group_build time
row "PATCH +$PATCH_MEMBERS members to it, median s" patch time
echo
echo "vs peer: how many times faster Sigil is (rates divided, times inverted); below 1.0× it is slower."
declare -A timed_out
for key in "${!result[@]}"; do
  if [[ $key == */*_timeouts ]]; then
    name=${key#*/}
    timed_out[${key%%/*}]+=" ${name%_timeouts} ${result[$key]};"
  fi
done
for target in sigil-sqlite sigil-postgres peer; do
  if [ -n "${result[$target/skipped]:-}" ]; then
    echo "$target: skipped (${result[$target/skipped]})."
  elif [ -n "${result[$target/n]:-}" ]; then
    echo "$target: N=${result[$target/n]} users loaded; a group of ${result[$target/group]} members," \
      "PATCHes of $PATCH_MEMBERS took ${result[$target/patch_all]} s;" \
      "${result[$target/create_stored]} users stored by the POST run;" \
      "requests answered: co ${result[$target/co_requests]}, gt ${result[$target/gt_requests]};" \
      "${timed_out[$target]:+unanswered within 60 s:${timed_out[$target]} }" \
      "${result[$target/windows]:+windows made longer:${result[$target/windows]} }/Bulk limits:" \
      "${result[$target/limits]/ / operations, } bytes."
  fi
done
if [ ${#server_cpu[@]} -gt 0 ]; then
  pinning="server pinned to core 0, wrk and the bulk client to core 1, PostgreSQL not pinned"
else
  pinning="servers and load generators share $(nproc) core(s)"
fi
echo "wrk: $THREADS thread(s), ${DURATION}s per run unless noted, loopback; $pinning."
stores="release build"
if [ -n "${result[sigil-sqlite/n]:-}" ]; then
  stores="$stores; SQLite in WAL mode with synchronous=FULL (an fsync per commit)"
fi
if [ -n "${result[sigil-postgres/n]:-}" ]; then
  stores="$stores; PostgreSQL $(psql "$POSTGRES_URL" -Atqc 'SHOW server_version') with its settings as found"
fi
echo "Sigil: $stores."
echo "$peer: its own scim2-server command (wsgiref, a thread per connection, HTTP/1.0 so a connection" \
  "per request), users in memory, nothing written to disk."
echo "Ceilings: fsync ${fsync_before}/s before and ${fsync_after}/s after on the disk of the stores; nproc $(nproc);" \
  "load average $load_before before, $load_after after."
echo "Run took $(($(date +%s) - started_at)) s."
