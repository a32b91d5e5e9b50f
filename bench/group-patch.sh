#!/usr/bin/env bash
# SCIM PATCH on a large group: the time of one request adding BATCH members
# to a group of SIZE (RFC 7644 §3.5.2, `add` with path `members`, as
# Microsoft Entra ID and Okta send it), answered with the whole group;
# then the same with `excludedAttributes=members`, one removing BATCH
# members, and a GET of the group for comparison.
#
# The users are created over SCIM and the group filled BATCH members at a
# time, then the server is started again; none of that is timed, nor a
# first read of the group. Each timed figure is the client's wall time
# for one request on loopback, from sending it to the last byte of the
# answer (encoding the request and decoding the answer are left out), in
# milliseconds: every run, then the median.
#
# Needs: curl, python3, a release build of sigil (built here unless
# SIGIL_BIN names a binary).
#
# Settings (environment):
#   SIZE                members before each timed PATCH   (50000)
#   BATCH               members one PATCH adds or removes  (1000)
#   RUNS                timed requests of each kind        (5)
#   SIGIL_BIN           the binary measured                (target/release/sigil)
#   SEED_BIN            the binary that creates the users and fills the
#                       group (SIGIL_BIN); a faster one saves time when
#                       measuring an older build on the same schema
#   BENCH_DATABASE_URL  an empty store                     (a fresh SQLite file)
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."

SIZE=${SIZE:-50000}
BATCH=${BATCH:-1000}
RUNS=${RUNS:-5}

for tool in curl python3; do
  if ! command -v "$tool" >/dev/null; then
    echo "$tool is needed" >&2
    exit 1
  fi
done

scratch=$(mktemp -d)
pid=
stop() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  pid=
}
cleanup() {
  stop
  rm -rf "$scratch"
}
trap cleanup EXIT

if [ -z "${SIGIL_BIN:-}" ]; then
  cargo build --release --quiet -p sigil-server
fi
sigil=${SIGIL_BIN:-$PWD/target/release/sigil}
seeder=${SEED_BIN:-$sigil}
# Not settings of sigil, which warns about SIGIL_* variables it does not know.
unset SIGIL_BIN SEED_BIN
export SIGIL_DATABASE_URL="${BENCH_DATABASE_URL:-$scratch/sigil.db}"
export SIGIL_LOG_LEVEL=warn

secret=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
"$seeder" migrate >/dev/null
"$seeder" client add --id bench --secret "$secret" --grant-type client_credentials --scope scim:write >/dev/null
"$seeder" admin grant service-account --client bench >/dev/null

# Starts `$1 serve` on a free port; sets pid and addr.
start() {
  SIGIL_BIND=127.0.0.1:0 "$1" serve >"$scratch/sigil.log" 2>&1 &
  pid=$!
  addr=
  for _ in $(seq 1 100); do
    addr=$(grep -o 'listening on http://[^ ]*' "$scratch/sigil.log" 2>/dev/null | head -1 | sed 's|listening on http://||' || true)
    [ -n "$addr" ] && return 0
    sleep 0.1
  done
  echo "server did not start:" >&2
  cat "$scratch/sigil.log" >&2
  exit 1
}

cat >"$scratch/client.py" <<'PY'
import base64, http.client, json, statistics, sys, time, urllib.parse
from concurrent.futures import ThreadPoolExecutor

phase, addr, secret, state = sys.argv[1:5]
size, batch, runs = map(int, sys.argv[5:8])
host, port = addr.rsplit(":", 1)

def connect():
    return http.client.HTTPConnection(host, int(port), timeout=600)

def fresh_token():
    conn = connect()
    basic = base64.b64encode(f"bench:{secret}".encode()).decode()
    form = urllib.parse.urlencode({"grant_type": "client_credentials", "scope": "scim:write"})
    conn.request("POST", "/token", body=form, headers={
        "Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"})
    token = json.loads(conn.getresponse().read())["access_token"]
    conn.close()
    return token

# Access tokens expire while the users are created: one is fetched again
# before each phase, and by a request answered 401.
token = fresh_token()

def exchange(conn, method, path, body=None, expect=(200,), again=True):
    """Sends `body` (bytes) and returns the answer's body, unparsed."""
    global token
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
    conn.request(method, "/scim/v2" + path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    if response.status == 401 and again:
        token = fresh_token()
        return exchange(conn, method, path, body, expect, False)
    if response.status not in expect:
        sys.exit(f"{method} {path}: {response.status} {data[:300]!r}")
    return data

def send(conn, method, path, body=None, expect=(200,)):
    data = exchange(conn, method, path, None if body is None else json.dumps(body).encode(), expect)
    return json.loads(data) if data else None

def patch(ops):
    return {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops}

def add(ids):
    return patch([{"op": "add", "path": "members", "value": [{"value": i} for i in ids]}])

def remove(ids):
    return patch([{"op": "remove", "path": "members", "value": [{"value": i} for i in ids]}])

if phase == "seed":
    def create(start):
        conn = connect()
        ids = [send(conn, "POST", "/Users", {"userName": f"member-{i}"}, (201,))["id"]
               for i in range(start, min(start + 500, total))]
        conn.close()
        return ids
    total = size + 2 * runs * batch
    with ThreadPoolExecutor(32) as pool:
        users = [i for ids in pool.map(create, range(0, total, 500)) for i in ids]
    token = fresh_token()
    conn = connect()
    group = send(conn, "POST", "/Groups", {"displayName": "Everyone"}, (201,))["id"]
    for start in range(0, size, batch):
        send(conn, "PATCH", f"/Groups/{group}?excludedAttributes=members", add(users[start:start + batch]))
    json.dump({"group": group, "users": users}, open(state, "w"))
    sys.exit()

seeded = json.load(open(state))
users, path = seeded["users"], f"/Groups/{seeded['group']}"
spare = iter(users[size:][i:i + batch] for i in range(0, 2 * runs * batch, batch))
conn = connect()

def timed(method, target, body=None):
    # The request is encoded and the answer decoded outside the time: the
    # figure is the server's, and the transfer's, not this script's.
    body = None if body is None else json.dumps(body).encode()
    started = time.perf_counter()
    data = exchange(conn, method, target, body)
    elapsed = (time.perf_counter() - started) * 1000
    return elapsed, json.loads(data)

def report(what, figures):
    print(f"{what}: {' '.join(f'{f:.0f}' for f in figures)} ms; median {statistics.median(figures):.0f} ms")

# The server was just started: one untimed read of the group first, so
# what is timed is a server in service, not its first statements.
timed("GET", path)
figures, answered = [], 0
for _ in range(runs):
    ms, answer = timed("PATCH", path, add(next(spare)))
    figures.append(ms)
    answered = len(answer.get("members", []))
report(f"PATCH add {batch} to a group of {size}+, whole group answered ({answered} members after the last)",
       figures)
report(f"PATCH add {batch}, excludedAttributes=members",
       [timed("PATCH", path + "?excludedAttributes=members", add(next(spare)))[0] for _ in range(runs)])
report(f"PATCH remove {batch} (members with a value array), excludedAttributes=members",
       [timed("PATCH", path + "?excludedAttributes=members", remove(users[i * batch:(i + 1) * batch]))[0]
        for i in range(runs)])
report("GET the group", [timed("GET", path)[0] for _ in range(runs)])
PY

client() {
  python3 "$scratch/client.py" "$1" "$addr" "$secret" "$scratch/state.json" "$SIZE" "$BATCH" "$RUNS"
}
start "$seeder"
client seed
stop
start "$sigil"
client measure
