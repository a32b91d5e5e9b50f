#!/usr/bin/env bash
# Runs the OpenID Foundation conformance suite against a running Sigil:
# the Basic OP, Config OP and RP-Initiated Logout certification plans.
#
# What it does:
#   1. creates the test user the suite's browser signs in as;
#   2. registers the two static clients the suite drives (oidf-client-1 and
#      oidf-client-2, removed first if they exist) and keeps their secrets;
#   3. fills in basic-op.json, config-op.json and rp-logout.json (beside
#      this script) in a private temporary directory;
#   4. runs the suite's scripts/run-test-plan.py on the selected plans and
#      exits with its status.
#
# What it needs, and nothing else installed by hand:
#   - a checkout of the conformance suite with its docker compose stack up
#     (https://localhost.emobix.co.uk:8443/ by default), on a machine with a
#     Docker engine;
#   - Sigil served at an https issuer that the suite's containers can reach.
#     Sigil speaks plain http, so a TLS-terminating reverse proxy must sit in
#     front of it (one that strips the issuer's path, if it has one);
#   - the sigil binary, or a command that runs it, reaching the same database
#     as the running server (it reads SIGIL_DATABASE_URL or SIGIL_CONFIG like
#     the server does);
#   - bash. The suite's Python driver runs with the local python3 when that
#     has the libraries in the suite's scripts/requirements.txt, and
#     otherwise in a throwaway Python container (which installs them there).
#
# Usage:
#   SIGIL_ISSUER=https://sigil.test CONFORMANCE_SUITE_DIR=../conformance-suite \
#     conformance/oidf/run.sh [basic] [config] [logout]     (default: all three)
#
# Environment:
#   SIGIL_ISSUER              required; the issuer the server is configured with
#   CONFORMANCE_SUITE_DIR     required; the conformance-suite checkout
#   CONFORMANCE_SERVER        the suite's URL (default https://localhost.emobix.co.uk:8443/)
#   CONFORMANCE_TOKEN         API token, for a suite that asks for one; without
#                             it the driver runs in the suite's development mode
#   CONFORMANCE_ALIAS         the suite alias in the redirect URIs (default sigil)
#   CONFORMANCE_USERNAME      the test user (default oidf-conformance)
#   CONFORMANCE_PASSWORD      its password; generated when unset. Set it to reuse
#                             a user created by an earlier run
#   CONFORMANCE_RUNNER        auto (default), local or docker: where the driver runs
#   CONFORMANCE_PYTHON_IMAGE  image for the docker runner (default python:3-slim)
#   CONFORMANCE_EXPORT_DIR    if set, the driver saves each plan's results there
#                             (needs a suite version whose driver has --export-dir)
#   CONFORMANCE_EXPECTED_FAILURES, CONFORMANCE_EXPECTED_SKIPS
#                             files of accepted warnings/failures and skips, in
#                             the driver's format (--expected-failures-file and
#                             --expected-skips-file); without them any warning
#                             or skip makes the exit status non-zero
#   SIGIL                     command that runs the sigil CLI, split on spaces
#                             (default sigil; e.g. "docker exec -i sigil sigil")
#   KEEP_CONFIG               if 1, keep the filled-in configuration files

set -euo pipefail

die() {
    printf 'run.sh: %s\n' "$*" >&2
    exit 1
}

note() {
    printf 'run.sh: %s\n' "$*" >&2
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# --- inputs -----------------------------------------------------------------

issuer=${SIGIL_ISSUER:-}
[[ -n $issuer ]] || die "set SIGIL_ISSUER to the https issuer of the running Sigil"
issuer=${issuer%/}
[[ $issuer == https://* ]] || die "SIGIL_ISSUER must be an https URL (the suite requires https); put a TLS-terminating proxy in front of Sigil"
rest=${issuer#https://}
[[ -n $rest && $rest != /* && $rest != *'?'* && $rest != *'#'* ]] ||
    die "SIGIL_ISSUER must be an https URL such as https://sigil.test, without a query or fragment"

suite_dir=${CONFORMANCE_SUITE_DIR:-}
[[ -n $suite_dir ]] || die "set CONFORMANCE_SUITE_DIR to a checkout of the conformance suite"
[[ -f $suite_dir/scripts/run-test-plan.py ]] ||
    die "$suite_dir/scripts/run-test-plan.py not found: is CONFORMANCE_SUITE_DIR a conformance-suite checkout?"
suite_dir=$(cd "$suite_dir" && pwd)

suite_url=${CONFORMANCE_SERVER:-https://localhost.emobix.co.uk:8443/}
[[ $suite_url == */ ]] || suite_url=$suite_url/
export CONFORMANCE_SERVER=$suite_url
if [[ -z ${CONFORMANCE_TOKEN:-} ]]; then
    # The driver then sends no token and accepts the suite's own certificate.
    export CONFORMANCE_DEV_MODE=1
fi

alias_name=${CONFORMANCE_ALIAS:-sigil}
[[ $alias_name =~ ^[A-Za-z0-9._-]+$ ]] || die "CONFORMANCE_ALIAS may only hold letters, digits, '.', '_' and '-'"

username=${CONFORMANCE_USERNAME:-oidf-conformance}
password=${CONFORMANCE_PASSWORD:-}
generated_password=0
if [[ -z $password ]]; then
    password=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
    generated_password=1
fi
for value in "$username" "$password"; do
    [[ $value != *[[:cntrl:]]* ]] || die "CONFORMANCE_USERNAME and CONFORMANCE_PASSWORD may not hold control characters"
done

runner=${CONFORMANCE_RUNNER:-auto}
case $runner in
auto | local | docker) ;;
*) die "CONFORMANCE_RUNNER must be auto, local or docker" ;;
esac
python_image=${CONFORMANCE_PYTHON_IMAGE:-python:3-slim}
export_dir=${CONFORMANCE_EXPORT_DIR:-}

read -r -a sigil_cmd <<<"${SIGIL:-sigil}"
[[ ${#sigil_cmd[@]} -gt 0 ]] || die "SIGIL is empty"
command -v "${sigil_cmd[0]}" >/dev/null 2>&1 || die "cannot run ${sigil_cmd[0]}: set SIGIL to the command that runs the sigil CLI"

run_sigil() {
    command "${sigil_cmd[@]}" "$@"
}

plans=()
configs=()
[[ $# -gt 0 ]] || set -- basic config logout
for plan in "$@"; do
    case $plan in
    basic)
        plans+=("oidcc-basic-certification-test-plan[server_metadata=discovery][client_registration=static_client]")
        configs+=(basic-op.json)
        ;;
    config)
        plans+=("oidcc-config-certification-test-plan")
        configs+=(config-op.json)
        ;;
    logout)
        plans+=("oidcc-rp-initiated-logout-certification-test-plan[response_type=code][client_registration=static_client]")
        configs+=(rp-logout.json)
        ;;
    *) die "unknown plan '$plan' (basic, config or logout)" ;;
    esac
done

# --- user and clients -------------------------------------------------------

# A user with a value for every standard claim Sigil releases, so the scope
# tests find profile, email, address and phone claims.
if err=$(printf '%s\n' "$password" | run_sigil user add \
    --username "$username" \
    --password-stdin \
    --email "$username@example.com" \
    --given-name Ada \
    --family-name Lovelace \
    --display-name "Ada Lovelace" \
    --nickname ada \
    --phone-number "+41227676111" \
    --street-address "1 Example Street" \
    --locality Geneva \
    --region GE \
    --postal-code 1211 \
    --country CH \
    --locale en-GB \
    --zoneinfo Europe/Zurich 2>&1 >/dev/null); then
    if [[ $generated_password == 1 ]]; then
        note "created user $username with password $password (set CONFORMANCE_PASSWORD to it to reuse the user)"
    else
        note "created user $username"
    fi
elif [[ $err == *"already exists"* && $generated_password == 0 ]]; then
    note "user $username exists; signing in with CONFORMANCE_PASSWORD"
elif [[ $err == *"already exists"* ]]; then
    die "user $username exists: set CONFORMANCE_PASSWORD to its password, or CONFORMANCE_USERNAME to a new name"
else
    die "sigil user add failed: $err"
fi

redirect_uri=${suite_url}test/a/${alias_name}/callback
post_logout_uri=${suite_url}test/a/${alias_name}/post_logout_redirect

# Registers (or re-registers) a confidential client and prints its secret.
register_client() {
    local id=$1 out line secret=''
    run_sigil client remove --id "$id" >/dev/null 2>&1 || true
    out=$(run_sigil client add \
        --id "$id" \
        --name "OpenID Foundation conformance suite" \
        --redirect-uri "$redirect_uri" \
        --post-logout-redirect-uri "$post_logout_uri" \
        --grant-type authorization_code \
        --grant-type refresh_token \
        --scope "openid profile email phone address offline_access" \
        --token-endpoint-auth-method client_secret_basic \
        --id-token-alg RS256 \
        --skip-consent) || die "sigil client add --id $id failed"
    while IFS= read -r line; do
        case $line in
        "client_secret: "*) secret=${line#"client_secret: "} ;;
        *) ;;
        esac
    done <<<"$out"
    [[ -n $secret ]] || die "sigil client add --id $id printed no client_secret"
    printf '%s' "$secret"
}

client1_id=oidf-client-1
client2_id=oidf-client-2
client1_secret=$(register_client "$client1_id")
client2_secret=$(register_client "$client2_id")
note "registered clients $client1_id and $client2_id (redirect URI $redirect_uri)"

# --- configuration files ----------------------------------------------------

work=$(mktemp -d "${TMPDIR:-/tmp}/sigil-oidf.XXXXXX")
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    if [[ ${KEEP_CONFIG:-0} == 1 ]]; then
        note "kept the filled-in configuration (with secrets) in $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

# Escapes a value for a JSON string.
json_escape() {
    local s=$1
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    printf '%s' "$s"
}

# Replaces every literal occurrence of $2 in $1 by $3.
replace_all() {
    local text=$1 placeholder=$2 value=$3 out=''
    while [[ $text == *"$placeholder"* ]]; do
        out+=${text%%"$placeholder"*}$value
        text=${text#*"$placeholder"}
    done
    printf '%s' "$out$text"
}

# The value of each placeholder in the templates.
placeholder_value() {
    case $1 in
    ISSUER) printf '%s' "$issuer" ;;
    SUITE_URL) printf '%s' "$suite_url" ;;
    ALIAS) printf '%s' "$alias_name" ;;
    CLIENT1_ID) printf '%s' "$client1_id" ;;
    CLIENT1_SECRET) printf '%s' "$client1_secret" ;;
    CLIENT2_ID) printf '%s' "$client2_id" ;;
    CLIENT2_SECRET) printf '%s' "$client2_secret" ;;
    USERNAME) printf '%s' "$username" ;;
    PASSWORD) printf '%s' "$password" ;;
    *) die "the templates use \${$1}, which this script does not fill in" ;;
    esac
}
placeholders=(ISSUER SUITE_URL ALIAS CLIENT1_ID CLIENT1_SECRET CLIENT2_ID CLIENT2_SECRET USERNAME PASSWORD)

for config in basic-op.json config-op.json rp-logout.json; do
    text=$(<"$here/$config")
    # Every placeholder in the template must be one this script fills in.
    rest=$text
    while [[ $rest =~ \$\{([A-Za-z0-9_]+)\} ]]; do
        placeholder_value "${BASH_REMATCH[1]}" >/dev/null
        rest=${rest#*"${BASH_REMATCH[0]}"}
    done
    for name in "${placeholders[@]}"; do
        value=$(placeholder_value "$name")
        text=$(replace_all "$text" "\${$name}" "$(json_escape "$value")")
    done
    printf '%s\n' "$text" >"$work/$config"
done

# --- the driver -------------------------------------------------------------

driver_args=()
# Accepted warnings, failures and skips, in the driver's own format; copied
# beside the configuration so that a containerised driver sees them too.
if [[ -n ${CONFORMANCE_EXPECTED_FAILURES:-} ]]; then
    cp "$CONFORMANCE_EXPECTED_FAILURES" "$work/expected-failures.json" ||
        die "cannot read CONFORMANCE_EXPECTED_FAILURES ($CONFORMANCE_EXPECTED_FAILURES)"
    driver_args+=(--expected-failures-file "$work/expected-failures.json")
fi
if [[ -n ${CONFORMANCE_EXPECTED_SKIPS:-} ]]; then
    cp "$CONFORMANCE_EXPECTED_SKIPS" "$work/expected-skips.json" ||
        die "cannot read CONFORMANCE_EXPECTED_SKIPS ($CONFORMANCE_EXPECTED_SKIPS)"
    driver_args+=(--expected-skips-file "$work/expected-skips.json")
fi
if [[ -n $export_dir ]]; then
    mkdir -p "$export_dir"
    export_dir=$(cd "$export_dir" && pwd)
    driver_args+=(--export-dir "$export_dir")
fi
for i in "${!plans[@]}"; do
    driver_args+=("${plans[$i]}" "$work/${configs[$i]}")
done

# True when the local python3 can import every library the driver needs.
local_python_ready() {
    local line module modules=()
    command -v python3 >/dev/null 2>&1 || return 1
    [[ -f $suite_dir/scripts/requirements.txt ]] || return 1
    while IFS= read -r line || [[ -n $line ]]; do
        line=${line%%#*}
        module=${line%%[<>=!~;[ ]*}
        module=${module//-/_}
        if [[ -n $module ]]; then
            modules+=("$module")
        fi
    done <"$suite_dir/scripts/requirements.txt"
    [[ ${#modules[@]} -gt 0 ]] || return 0
    local IFS=,
    python3 -c "import ${modules[*]}" >/dev/null 2>&1
}

if [[ $runner == auto ]]; then
    if local_python_ready; then runner=local; else runner=docker; fi
fi

note "running ${#plans[@]} plan(s) against $issuer on the suite at $suite_url ($runner driver)"
status=0
case $runner in
local)
    (cd "$suite_dir" && python3 scripts/run-test-plan.py "${driver_args[@]}") || status=$?
    ;;
docker)
    command -v docker >/dev/null 2>&1 || die "docker not found (needed to run the suite's driver without a local python3 setup)"
    docker_args=(run --rm --network host
        -e CONFORMANCE_SERVER -e CONFORMANCE_TOKEN -e CONFORMANCE_DEV_MODE
        -e PIP_DISABLE_PIP_VERSION_CHECK=1 -e PIP_ROOT_USER_ACTION=ignore
        -v "$suite_dir:/suite:ro" -v "$work:$work:ro" -w /suite)
    if [[ -n $export_dir ]]; then
        docker_args+=(-v "$export_dir:$export_dir")
    fi
    # shellcheck disable=SC2016 # $@ is expanded by the container's shell
    docker "${docker_args[@]}" "$python_image" sh -c \
        'pip install --quiet -r scripts/requirements.txt && exec python3 scripts/run-test-plan.py "$@"' \
        run-test-plan "${driver_args[@]}" || status=$?
    ;;
*) die "no such runner: $runner" ;;
esac

if [[ $status -ne 0 ]]; then
    note "the suite's driver exited with status $status; each module's log is linked from the plan-detail page it printed"
fi
exit "$status"
