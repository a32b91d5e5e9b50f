"""The SCIM client of bench/scim.sh, standard library only.

    scim_client.py limits URL TOKEN
        maxOperations and maxPayloadSize of /Bulk, from /ServiceProviderConfig.
    scim_client.py bulk URL TOKEN PREFIX START COUNT PARALLEL IDS
        Creates the users PREFIX-START .. PREFIX-(START+COUNT-1) through /Bulk,
        each request as large as the advertised limits allow, PARALLEL
        requests at a time; every operation must answer 201. Appends
        "index id" lines to IDS; prints the seconds taken.
    scim_client.py total URL TOKEN FILTER
        totalResults of GET /Users?filter=FILTER.
    scim_client.py modified URL TOKEN USERNAME
        meta.lastModified of the user USERNAME.
    scim_client.py group URL TOKEN IDS SIZE
        Creates a group holding the first SIZE users of IDS (a POST, then
        PATCHes, each within the payload limit); prints its id and the
        seconds taken.
    scim_client.py patch URL TOKEN GROUP IDS FROM COUNT
        One PATCH adding users FROM .. FROM+COUNT-1 of IDS to GROUP; prints
        its seconds.
    scim_client.py members URL TOKEN GROUP
        The number of members of GROUP.
    scim_client.py fsync DIR SECONDS
        fsync calls per second on a small file in DIR (write 512 bytes, fsync).

URL is the SCIM base (…/scim/v2 or …/v2). Run from bench/scim.sh.
"""

import http.client
import json
import os
import sys
import threading
import time
import urllib.parse

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


class Client:
    """One keep-alive connection (reopened when the server closes it)."""

    def __init__(self, base, token):
        parts = urllib.parse.urlsplit(base)
        self.prefix = parts.path.rstrip("/")
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=3600)
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/scim+json",
            "Content-Type": "application/scim+json",
        }

    def call(self, method, path, body=None, expect=(200,)):
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        self.conn.request(method, self.prefix + path, body=data, headers=self.headers)
        response = self.conn.getresponse()
        raw = response.read()
        if response.status not in expect:
            raise SystemExit(f"{method} {path}: {response.status} {raw[:500]!r}")
        return json.loads(raw) if raw else None


def limits(client):
    bulk = client.call("GET", "/ServiceProviderConfig")["bulk"]
    if not bulk.get("supported"):
        return 0, 0
    return int(bulk["maxOperations"]), int(bulk["maxPayloadSize"])


def user(name):
    return {
        "schemas": [USER],
        "userName": name,
        "name": {"givenName": "Bench", "familyName": name},
        "emails": [{"value": f"{name}@example.com", "type": "work", "primary": True}],
    }


def bulk_bodies(prefix, start, count, max_ops, max_bytes):
    """Bulk request bodies holding every user once, each within the limits."""

    def body(ops):
        return json.dumps({"schemas": [BULK_REQUEST], "Operations": ops}).encode()

    envelope = len(body([]))
    ops, indexes, size = [], [], envelope
    for i in range(start, start + count):
        op = {"method": "POST", "path": "/Users", "bulkId": f"u{i}", "data": user(f"{prefix}-{i}")}
        op_size = len(json.dumps(op).encode()) + 2  # and the ", " before it
        if ops and (len(ops) == max_ops or size + op_size > max_bytes):
            yield body(ops), indexes
            ops, indexes, size = [], [], envelope
        ops.append(op)
        indexes.append(i)
        size += op_size
    if ops:
        yield body(ops), indexes


def bulk(base, token, prefix, start, count, parallel, ids_path):
    max_ops, max_bytes = limits(Client(base, token))
    if max_ops == 0:
        raise SystemExit("the server does not support /Bulk")
    bodies = iter(bulk_bodies(prefix, start, count, max_ops, max_bytes))
    lock = threading.Lock()
    ids, failures = [], []

    def worker():
        client = Client(base, token)
        while True:
            with lock:
                item = next(bodies, None)
            if item is None or failures:
                return
            data, indexes = item
            try:
                answer = client.call("POST", "/Bulk", data)
                by_bulk_id = {op.get("bulkId"): op for op in answer["Operations"]}
                for i in indexes:
                    op = by_bulk_id.get(f"u{i}")
                    if op is None or str(op.get("status")) != "201":
                        raise SystemExit(f"bulk operation u{i}: {op}")
                    ids.append((i, op["location"].rstrip("/").rsplit("/", 1)[1]))
            except BaseException as error:  # reported after the threads end
                failures.append(error)
                return

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(parallel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.monotonic() - started
    if failures:
        raise SystemExit(f"bulk load failed: {failures[0]}")
    with open(ids_path, "a") as out:
        for i, rid in sorted(ids):
            out.write(f"{i} {rid}\n")
    print(f"{seconds:.3f}")


def total(base, token, filt):
    query = urllib.parse.urlencode({"filter": filt, "count": "1"})
    print(Client(base, token).call("GET", f"/Users?{query}")["totalResults"])


def modified(base, token, name):
    query = urllib.parse.urlencode({"filter": f'userName eq "{name}"'})
    found = Client(base, token).call("GET", f"/Users?{query}")["Resources"]
    print(found[0]["meta"]["lastModified"])


def read_ids(path):
    with open(path) as f:
        return [line.split()[1] for line in sorted(f, key=lambda line: int(line.split()[0]))]


def add_members(client, group, ids):
    body = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": i} for i in ids]}],
    }
    client.call("PATCH", f"/Groups/{group}?excludedAttributes=members", body)


def group(base, token, ids_path, size):
    client = Client(base, token)
    _, max_bytes = limits(client)
    max_bytes = max_bytes or 1024 * 1024
    ids = read_ids(ids_path)[:size]
    started = time.monotonic()
    # Well within the payload limit: a member is under 60 bytes of JSON.
    chunk = max(1, max_bytes // 120)
    created = client.call(
        "POST",
        "/Groups?excludedAttributes=members",
        {"schemas": [GROUP], "displayName": f"bench-{os.getpid()}-{time.time_ns()}",
         "members": [{"value": i} for i in ids[:chunk]]},
        expect=(201,),
    )
    for at in range(chunk, len(ids), chunk):
        add_members(client, created["id"], ids[at:at + chunk])
    print(created["id"], f"{time.monotonic() - started:.3f}")


def patch(base, token, group_id, ids_path, start, count):
    client = Client(base, token)
    ids = read_ids(ids_path)[start:start + count]
    if len(ids) != count:
        raise SystemExit(f"only {len(ids)} users from {start}, {count} needed")
    started = time.monotonic()
    add_members(client, group_id, ids)
    print(f"{time.monotonic() - started:.3f}")


def members(base, token, group_id):
    found = Client(base, token).call("GET", f"/Groups/{group_id}?attributes=members")
    print(len(found.get("members", [])))


def fsync_rate(directory, seconds):
    path = os.path.join(directory, "fsync-probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        calls, started = 0, time.monotonic()
        while time.monotonic() - started < seconds:
            os.pwrite(fd, b"x" * 512, 0)
            os.fsync(fd)
            calls += 1
        print(int(calls / (time.monotonic() - started)))
    finally:
        os.close(fd)
        os.unlink(path)


def main(argv):
    command, args = argv[1], argv[2:]
    if command == "limits":
        print(*limits(Client(*args)))
    elif command == "bulk":
        base, token, prefix, start, count, parallel, ids_path = args
        bulk(base, token, prefix, int(start), int(count), int(parallel), ids_path)
    elif command == "total":
        total(*args)
    elif command == "modified":
        modified(*args)
    elif command == "group":
        base, token, ids_path, size = args
        group(base, token, ids_path, int(size))
    elif command == "patch":
        base, token, group_id, ids_path, start, count = args
        patch(base, token, group_id, ids_path, int(start), int(count))
    elif command == "members":
        members(*args)
    elif command == "fsync":
        fsync_rate(args[0], float(args[1]))
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main(sys.argv)
