"""Parses a Prometheus text exposition (version 0.0.4) from stdin with the
official Python client's parser and prints it as JSON:

    {"family": {"type": "counter", "samples": [[name, {labels}, value], ...]}}

(families named as their TYPE line names them, counters with _total).

The parser raises on malformed lines. On top of it, checks what a scraper
relies on and the parser lets pass: every sample belongs to a family with a
TYPE, no series appears twice, counters are not negative, and histogram
buckets are cumulative, end in +Inf, and agree with _count. Exits 1 with
the reason on the first violation.
"""

import json
import math
import sys

from prometheus_client.parser import text_string_to_metric_families


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(1)


def check_histogram(family):
    series = {}
    for sample in family.samples:
        labels = {k: v for k, v in sample.labels.items() if k != "le"}
        key = tuple(sorted(labels.items()))
        entry = series.setdefault(key, {"buckets": [], "count": None, "sum": None})
        if sample.name.endswith("_bucket"):
            entry["buckets"].append((float(sample.labels["le"]), sample.value))
        elif sample.name.endswith("_count"):
            entry["count"] = sample.value
        elif sample.name.endswith("_sum"):
            entry["sum"] = sample.value
    for key, entry in series.items():
        buckets = entry["buckets"]
        if not buckets or not math.isinf(buckets[-1][0]):
            fail(f"{family.name}{dict(key)}: no +Inf bucket")
        bounds = [b for b, _ in buckets]
        if bounds != sorted(bounds):
            fail(f"{family.name}{dict(key)}: buckets out of order")
        counts = [c for _, c in buckets]
        if any(a > b for a, b in zip(counts, counts[1:])):
            fail(f"{family.name}{dict(key)}: buckets are not cumulative: {counts}")
        if entry["count"] != counts[-1]:
            fail(f"{family.name}{dict(key)}: _count {entry['count']} != +Inf bucket {counts[-1]}")
        if entry["sum"] is None:
            fail(f"{family.name}{dict(key)}: no _sum")


def main():
    text = sys.stdin.read()
    declared = {
        line.split()[2]
        for line in text.splitlines()
        if line.startswith("# TYPE ")
    }
    out = {}
    seen = set()
    for family in text_string_to_metric_families(text):
        # The parser names a counter's family without its _total suffix.
        name = family.name + "_total" if family.name + "_total" in declared else family.name
        if family.type == "unknown" or name not in declared:
            fail(f"{family.name}: sample without a TYPE line")
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            if key in seen:
                fail(f"duplicate series {sample.name}{sample.labels}")
            seen.add(key)
            if family.type == "counter" and sample.value < 0:
                fail(f"negative counter {sample.name}{sample.labels}")
        if family.type == "histogram":
            check_histogram(family)
        out[name] = {
            "type": family.type,
            "samples": [[s.name, s.labels, s.value] for s in family.samples],
        }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
