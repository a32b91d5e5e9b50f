#!/usr/bin/env bash
# Start-up time on an existing database: from exec of `sigil serve` until
# /readyz answers 200, measured RUNS times after a first start has created
# the database and the signing keys. Prints each run and the median in
# milliseconds.
#
# Needs: curl, python3 (to pick a free port), a release build of sigil
# (built here unless SIGIL_BIN names a binary).
#
# Settings (environment):
#   RUNS                timed starts                (10)
#   SIGIL_BIN           the binary to measure       (target/release/sigil)
#   BENCH_DATABASE_URL  Sigil's store               (a fresh SQLite file)
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."

RUNS=${RUNS:-10}

for tool in curl python3; do
  if ! command -v "$tool" >/dev/null; then
    echo "$tool is needed" >&2
    exit 1
  fi
done

scratch=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$scratch"
}
trap cleanup EXIT

if [ -z "${SIGIL_BIN:-}" ]; then
  cargo build --release --quiet -p sigil-server
fi
sigil=${SIGIL_BIN:-$PWD/target/release/sigil}
export SIGIL_DATABASE_URL="${BENCH_DATABASE_URL:-$scratch/sigil.db}"
export SIGIL_LOG_LEVEL=warn

# Starts the server, waits until /readyz answers 200, stops it; prints the
# milliseconds from exec to the first 200.
start_once() {
  local port started ready
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  started=$(date +%s%N)
  SIGIL_BIND=127.0.0.1:$port "$sigil" serve >"$scratch/sigil.log" 2>&1 &
  pid=$!
  until curl -sf -o /dev/null "http://127.0.0.1:$port/readyz"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "sigil serve exited:" >&2
      cat "$scratch/sigil.log" >&2
      return 1
    fi
    sleep 0.005
  done
  ready=$(date +%s%N)
  kill "$pid"; wait "$pid" 2>/dev/null || true
  pid=
  echo $(((ready - started) / 1000000))
}

# The first start migrates and creates the signing keys; it is not counted.
start_once >/dev/null
times=()
for _ in $(seq 1 "$RUNS"); do
  times+=("$(start_once)")
done
echo "start-up to /readyz 200 on an existing database, ms: ${times[*]}"
printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "median %d ms over %d runs\n", a[int((NR+1)/2)], NR}'
