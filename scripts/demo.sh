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

CSCA="$BUILD/bin/csca"
CAH="$D/ca"
CA_NAME='dc01.contoso.net\contoso-DC01-CA'
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

step "1. The enterprise CA: csca with an account in RTCUniversalServerAdmins granted Enroll on WebServer"
run "$CSCA" --home "$CAH" init --name "$CA_NAME" --key-type ec:P-384
printf 'demo-password\n' > "$D/ca.pw"
run "$CSCA" --home "$CAH" account add fe01 --group RTCUniversalServerAdmins --password-file "$D/ca.pw"
run "$CSCA" --home "$CAH" template grant WebServer --group RTCUniversalServerAdmins --enroll
CAPORT=$(free_port)
printf '$ %s\n' "csca --home $CAH serve --listen 127.0.0.1:$CAPORT --foreground &"
"$CSCA" --home "$CAH" serve --listen 127.0.0.1:"$CAPORT" --foreground 2>"$D/csca.log" &
PIDS+=($!)
wait_port "$CAPORT" || { echo "csca serve did not start:"; cat "$D/csca.log"; exit 1; }

step "2. Publish the topology (a Front End pool of two servers, a Director, an Edge pool, two SIP domains, the CA)"
/usr/bin/python3 - "$ROOT/tests/fixtures/contoso.json" "$D/contoso.json" "$CAPORT" <<'EOF2'
import json, sys
d = json.load(open(sys.argv[1]))
d["certification_authorities"][0]["url"] = "https://dc01.contoso.net:%s/" % sys.argv[3]
json.dump(d, open(sys.argv[2], "w"), indent=1)
EOF2
run "$CSCERT" topology publish "$D/contoso.json" --computer-fqdn fe01.contoso.net
run "$CSCERT" topology names --type Default,WebServicesInternal,WebServicesExternal --all-sip-domain

step "3. Trust the CA's root by its SHA-256 (the administrator reads it on the CA host)"
run "$CSCA" --home "$CAH" show
FP=$("$CSCA" --home "$CAH" show --json 2>/dev/null | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["root_fingerprint_sha256"])' 2>/dev/null) \
    || FP=$(openssl x509 -in "$CAH/ca.pem" -noout -fingerprint -sha256 | cut -d= -f2)
run "$CSCERT" ca list || true
run "$CSCERT" ca trust "$CA_NAME" --fingerprint "$FP"

step "4. Online request: the combined certificate, enrolled over EST, installed and assigned"
run "$CSCERT" request --new --type Default,WebServicesInternal,WebServicesExternal --all-sip-domain \
    --ca "$CA_NAME" --ca-account fe01 --ca-password-file "$D/ca.pw" --assign
run "$CSCERT" get --type Default
echo "# Renew it: a new key, every name kept without --all-sip-domain, and no password:"
echo "# the certificate renewed is the credential (TLS client certificate, simplereenroll)."
run "$CSCERT" request --renew --type Default,WebServicesInternal,WebServicesExternal --ca "$CA_NAME" --assign

step "5. An offline request (OAuthTokenIssuer): the key waits in the store; another CA (openssl) signs it"
run "$CSCERT" request --new --type OAuthTokenIssuer --output "$D/oauth.csr"
run "$CSCERT" request list
run openssl req -in "$D/oauth.csr" -verify -noout
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=Contoso Demo Root" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    -keyout "$D/root.key" -out "$D/root.pem" 2>/dev/null
run openssl x509 -req -in "$D/oauth.csr" -CA "$D/root.pem" -CAkey "$D/root.key" -days 20 \
    -copy_extensions copy -out "$D/oauth.pem"
run "$CSCERT" import "$D/root.pem" --store Root
# import prints the thumbprint alone on its last line, for scripts
run "$CSCERT" import "$D/oauth.pem" | tee "$D/import.out"
THUMB=$(tail -n 1 "$D/import.out")
run "$CSCERT" set --type OAuthTokenIssuer --thumbprint "$THUMB"
run "$CSCERT" check --warn-days 10 || echo "(check found problems: exit $?)"

step "6. HTTPS bindings on loopback: serve, verify, stop"
P1=$(free_port); P2=$(free_port)
run "$CSCERT" web binding set --site Internal --address 127.0.0.1 --port "$P1"
run "$CSCERT" web binding set --site External --address 127.0.0.1 --port "$P2"
run "$CSCERT" web binding list
"$CSCERT" web serve --foreground 2>"$D/web.log" &
PIDS+=($!)
for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/"$P2") 2>/dev/null && break; sleep 0.1; done
run "$CSCERT" web verify || echo "(verify found problems: exit $?)"
run curl -s --cacert "$CAH/ca.pem" --resolve "webpool01.contoso.com:$P2:127.0.0.1" "https://webpool01.contoso.com:$P2/healthz"
echo
kill "${PIDS[@]}"; wait 2>/dev/null || true; PIDS=()   # web serve and csca serve

step "7. The audit log"
run "$CSCERT" log

