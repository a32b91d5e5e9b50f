#!/usr/bin/env bash
# Runs two SCIM 2.0 compliance testers against a running Sigil:
#   - scim2-tester, through scim2-cli's `scim ... test`;
#   - scim-sanity's `probe` (it creates and deletes test users and groups).
# Both must be on PATH: pip install -r requirements.txt (beside this script).
#
# Usage: SCIM_URL=http://127.0.0.1:8080/scim/v2 SCIM_TOKEN=... conformance/scim/run.sh
#   SCIM_TOKEN is an access token with the scopes scim:read and scim:write,
#   of a client holding the built-in role service-account
#   (sigil admin grant service-account --client ID).
# Exits non-zero when either tester reports a failed check (a skipped one
# is not a failure).
set -euo pipefail

: "${SCIM_URL:?set SCIM_URL to the SCIM base URL, e.g. http://127.0.0.1:8080/scim/v2}"
: "${SCIM_TOKEN:?set SCIM_TOKEN to an access token with scim:read and scim:write}"

status=0
out="$(mktemp)"
trap 'rm -f "${out}"' EXIT

echo "== scim2-tester (scim2-cli)"
# The header goes through the environment, not the command line.
if ! SCIM_CLI_HEADERS="Authorization: Bearer ${SCIM_TOKEN}" \
    scim --url "${SCIM_URL}" test | tee "${out}"; then
    # scim2-cli exits 1 on a SKIPPED check too: fail only on any other
    # status (ERROR, CRITICAL), on a crash, or when nothing succeeded.
    if grep -qvE '^(SUCCESS|SKIPPED) |^  |^Performing a SCIM compliance check' "${out}" \
        || ! grep -q '^SUCCESS ' "${out}"; then
        status=1
    fi
fi

echo "== scim-sanity probe"
scim-sanity probe "${SCIM_URL}" --token "${SCIM_TOKEN}" --i-accept-side-effects || status=1

exit "${status}"
