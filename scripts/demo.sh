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

step "4. A CA signs the request (an openssl CA stands in for csca, the next issue)"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=Contoso Demo Root" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    -keyout "$D/root.key" -out "$D/root.pem" 2>/dev/null
run openssl x509 -req -in "$D/fe01.csr" -CA "$D/root.pem" -CAkey "$D/root.key" -days 20 \
    -copy_extensions copy -out "$D/fe01.pem"

step "5. Import the root and the response (matched to its pending key), assign, get, check"
run "$CSCERT" import "$D/root.pem" --store Root
THUMB=$("$CSCERT" import "$D/fe01.pem" | grep -oE '[0-9A-F]{40}' | head -1)
echo "Thumbprint: $THUMB"
run "$CSCERT" set --type Default,WebServicesInternal,WebServicesExternal --thumbprint "$THUMB"
run "$CSCERT" get --type WebServicesExternal
run "$CSCERT" check --warn-days 10 || echo "(check found problems: exit $?)"

step "6. HTTPS bindings on loopback: serve, verify, stop"
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
P1=$(free_port); P2=$(free_port)
run "$CSCERT" web binding set --site Internal --address 127.0.0.1 --port "$P1"
run "$CSCERT" web binding set --site External --address 127.0.0.1 --port "$P2"
run "$CSCERT" web binding list
"$CSCERT" web serve --foreground 2>"$D/web.log" &
PIDS+=($!)
for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/"$P2") 2>/dev/null && break; sleep 0.1; done
run "$CSCERT" web verify || echo "(verify found problems: exit $?)"
run curl -s --cacert "$D/root.pem" --resolve "webpool01.contoso.com:$P2:127.0.0.1" "https://webpool01.contoso.com:$P2/healthz"
echo
kill "${PIDS[@]}"; wait 2>/dev/null || true; PIDS=()

step "7. The audit log"
run "$CSCERT" log

printf '\nNext: the enterprise CA (csca) and online enrollment over EST.\n'
