#!/bin/bash
# make demo: the main job end to end on loopback, with readable output.
# Everything lives in a temporary directory and every process started
# here is stopped here, by PID.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
CSCERT="$BUILD/bin/cscert"
D=$(mktemp -d /tmp/cscert-demo.XXXXXX)
export CSCERT_HOME="$D/fe01"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$D"; }
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "1. Publish the topology (a Front End pool of two servers, a Director, an Edge pool, two SIP domains)"
run "$CSCERT" topology publish "$ROOT/tests/fixtures/contoso.json" --computer-fqdn fe01.contoso.net

step "2. Every name each certificate needs, and the rule that asks for it"
run "$CSCERT" topology names --type Default,WebServicesInternal,WebServicesExternal --all-sip-domain
run "$CSCERT" topology names --type OAuthTokenIssuer
run "$CSCERT" topology names --type AccessEdgeExternal,DataEdgeExternal --computer-fqdn edge01.contoso.net
run "$CSCERT" topology names --type ReverseProxy --computer-fqdn fe01.contoso.net

step "3. An offline request: the key stays in the store, pending"
run "$CSCERT" request --new --type Default,WebServicesInternal,WebServicesExternal --all-sip-domain \
    --output "$D/fe01.csr" --friendly-name "fe01 combined"
run "$CSCERT" request list
run openssl req -in "$D/fe01.csr" -verify -noout
openssl req -in "$D/fe01.csr" -noout -text | grep -A2 'Subject Alternative Name' | sed 's/^ */  /'

step "4. The audit log"
run "$CSCERT" log

printf '\nNext: the CA (csca), online enrollment, assignment and HTTPS bindings.\n'
