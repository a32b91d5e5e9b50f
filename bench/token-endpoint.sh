#!/usr/bin/env bash
# Token endpoint throughput, side by side with node oidc-provider.
#
# Both servers answer the same client credentials request (HTTP Basic
# client authentication, scope api.read, resource https://api.example.com)
# with an RFC 9068 JWT access token signed with the same algorithm, under the
# same load generator (wrk) on loopback, one after the other in one run.
# Prints requests per second for each and the ratio Sigil / node.
#
# With two cores or more, each server is pinned to core 0 and wrk to core 1
# (taskset), so the figures are per server core and node's single process is
# not handicapped against Sigil's worker threads.
#
# Needs: wrk (installed from the system packages when missing and run as
# root), node and npm (oidc-provider is installed from the npm registry into
# a scratch directory), a release build of sigil (built here).
#
# Settings (environment):
#   ALGS          algorithms to measure            (RS256 ES256 EdDSA)
#   DURATION      seconds per measurement          (10)
#   CONNECTIONS   concurrent connections           (32)
#   THREADS       wrk threads                      (1)
#   BENCH_DATABASE_URL  Sigil's store              (a fresh SQLite file)
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."

ALGS=${ALGS:-"RS256 ES256 EdDSA"}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-1}

if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
  else
    echo "wrk is needed (apt-get install wrk)" >&2
    exit 1
  fi
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "node and npm are needed" >&2
  exit 1
fi

server_cpu=()
load_cpu=()
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
  server_cpu=(taskset -c 0)
  load_cpu=(taskset -c 1)
fi

scratch=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$scratch"
}
trap cleanup EXIT

cargo build --release --quiet -p sigil-server
sigil="$PWD/target/release/sigil"
export SIGIL_DATABASE_URL="${BENCH_DATABASE_URL:-$scratch/sigil.db}"
export SIGIL_LOG_LEVEL=warn

cp bench/node-oidc-provider/package.json bench/node-oidc-provider/server.mjs "$scratch/"
(cd "$scratch" && npm install --silent --no-audit --no-fund >/dev/null)
node_version=$(node -p 'require(process.argv[1]).version' "$scratch/node_modules/oidc-provider/package.json")

# Waits for "... listening on http://ADDR" in a log file; prints ADDR.
wait_for_address() {
  local log=$1
  for _ in $(seq 1 100); do
    if grep -q 'listening on http://' "$log" 2>/dev/null; then
      grep -o 'listening on http://[^ ]*' "$log" | head -1 | sed 's|listening on http://||'
      return 0
    fi
    sleep 0.1
  done
  echo "server did not start:" >&2
  cat "$log" >&2
  return 1
}

# Checks that a token request succeeds and the token carries `alg`, then
# runs wrk; prints requests per second.
measure() {
  local url=$1 basic=$2 alg=$3
  local body header
  body=$(curl -sf -H "Authorization: Basic $basic" \
    -d grant_type=client_credentials -d scope=api.read \
    --data-urlencode resource=https://api.example.com "$url")
  header=$(python3 -c 'import base64,json,sys; t=json.loads(sys.argv[1])["access_token"].split(".")[0]; print(json.loads(base64.urlsafe_b64decode(t+"="*(-len(t)%4)))["alg"])' "$body")
  if [ "$header" != "$alg" ]; then
    echo "expected an $alg token from $url, got $header" >&2
    return 1
  fi
  local out
  out=$("${load_cpu[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -s bench/token-request.lua "$url" -- "$basic" 2>&1)
  if grep -q 'Non-2xx\|non-200' <<<"$out"; then
    echo "errors during the run:" >&2
    echo "$out" >&2
    return 1
  fi
  awk '/Requests\/sec/ {print int($2)}' <<<"$out"
}

secret=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
basic=$(printf 'bench:%s' "$secret" | base64 | tr -d '\n')

"$sigil" migrate >/dev/null
printf '%s\n' "|alg|Sigil req/s|node oidc-provider $node_version req/s|Sigil / node|"
printf '%s\n' "|---|---|---|---|"
for alg in $ALGS; do
  "$sigil" client remove --id bench >/dev/null 2>&1 || true
  "$sigil" client add --id bench --secret "$secret" --grant-type client_credentials \
    --scope api.read --audience https://api.example.com \
    --access-token-signed-response-alg "$alg" >/dev/null

  SIGIL_BIND=127.0.0.1:0 "${server_cpu[@]}" "$sigil" serve >"$scratch/sigil.log" 2>&1 &
  pids+=($!)
  addr=$(wait_for_address "$scratch/sigil.log")
  sigil_rps=$(measure "http://$addr/token" "$basic" "$alg")
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true

  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  (cd "$scratch" && PORT=$port ALG=$alg CLIENT_SECRET=$secret exec "${server_cpu[@]}" node server.mjs) >"$scratch/node.log" 2>&1 &
  pids+=($!)
  addr=$(wait_for_address "$scratch/node.log")
  node_rps=$(measure "http://$addr/token" "$basic" "$alg")
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true

  ratio=$(python3 -c "print(f'{$sigil_rps / $node_rps:.2f}')")
  printf '|%s|%s|%s|%s|\n' "$alg" "$sigil_rps" "$node_rps" "$ratio"
done
echo
if [ ${#server_cpu[@]} -gt 0 ]; then
  pinning="server pinned to core 0, wrk to core 1"
else
  pinning="server and wrk share $(nproc) core(s)"
fi
echo "wrk: $THREADS thread(s), $CONNECTIONS connections, ${DURATION}s per run, loopback; $pinning."
echo "Sigil: release build, store ${BENCH_DATABASE_URL:-a SQLite file}; node oidc-provider: one process, in-memory adapter."
