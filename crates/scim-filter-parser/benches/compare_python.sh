#!/usr/bin/env bash
# Parse throughput of this crate next to the Python scim2-filter-parser 0.7.0,
# on the filters of filters.txt, in one run.
#
#   benches/compare_python.sh            # criterion, then Python, then the table
#   SKIP_CARGO=1 benches/compare_python.sh   # reuse the last criterion results
#
# The Python side times lexing and parsing to its AST (SCIMLexer.tokenize and
# SCIMParser.parse), not SQL transpiling. It needs python3 with venv and pip
# access to the package index; the venv lives in a temporary directory that is
# removed afterwards.
set -euo pipefail

crate_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$(cd "$crate_dir" && cargo metadata --no-deps --format-version 1 |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')}"
filters="$crate_dir/benches/filters.txt"
python="${PYTHON:-python3}"

if [[ -z "${SKIP_CARGO:-}" ]]; then
    (cd "$crate_dir" && cargo bench --bench parse -- '^parse/' >&2)
fi

venv="$(mktemp -d)"
trap 'rm -rf "$venv"' EXIT
"$python" -m venv "$venv/env"
"$venv/env/bin/pip" install --quiet --disable-pip-version-check 'scim2-filter-parser==0.7.0'

"$venv/env/bin/python" - "$filters" "$target_dir/criterion" <<'PY'
import json
import os
import sys
import time

from scim2_filter_parser.lexer import SCIMLexer
from scim2_filter_parser.parser import SCIMParser

filters_path, criterion_dir = sys.argv[1], sys.argv[2]
rows = [l.rstrip("\n").split("\t", 1) for l in open(filters_path, encoding="utf-8") if "\t" in l]
lexer, parser = SCIMLexer(), SCIMParser()


def python_rate(text):
    """Parses per second, best of five rounds of at least 0.2 s each."""
    parser.parse(lexer.tokenize(text))
    best = 0.0
    for _ in range(5):
        n, start = 0, time.perf_counter()
        while True:
            for _ in range(100):
                parser.parse(lexer.tokenize(text))
            n += 100
            elapsed = time.perf_counter() - start
            if elapsed >= 0.2:
                break
        best = max(best, n / elapsed)
    return best


def rust_rate(name):
    path = os.path.join(criterion_dir, "parse", name, "new", "estimates.json")
    try:
        with open(path, encoding="utf-8") as f:
            median_ns = json.load(f)["median"]["point_estimate"]
    except (OSError, KeyError, ValueError):
        return None, None
    return median_ns, 1e9 / median_ns


print(f"{'filter':<14} {'rust median':>12} {'rust filters/s':>15} {'python filters/s':>17} {'ratio':>8}")
for name, text in rows:
    try:
        py = python_rate(text)
        py_cell = f"{py:>17,.0f}"
    except Exception as e:  # the Python parser rejects some filters
        py, py_cell = None, f"{'error: ' + type(e).__name__:>17}"
    ns, rust = rust_rate(name)
    rust_ns = f"{ns:>9.0f} ns" if ns else f"{'n/a':>12}"
    rust_cell = f"{rust:>15,.0f}" if rust else f"{'n/a':>15}"
    ratio = f"{rust / py:>7.0f}x" if rust and py else f"{'':>8}"
    print(f"{name:<14} {rust_ns} {rust_cell} {py_cell} {ratio}")
PY
