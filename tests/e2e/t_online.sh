#!/bin/bash
# Online enrollment end to end: cscert's EST client against a real
# `csca serve` on a free 127.0.0.1 port, located through the topology's
# certification_authorities (URL https://dc01.contoso.net:PORT/, address
# 127.0.0.1). Untrusted CA: a clear error with the trust command, store
# unchanged; `ca trust` refuses a wrong fingerprint and installs the right
# root; the combined certificate enrolled with --assign is judged by
# openssl verify -x509_strict and python cryptography (SANs = `cscert
# topology names`); manual approval: 202 -> pending -> csca request issue
# -> `cscert request resume`; a wrong password and a missing grant are
# refused with the store unchanged (db_dump); --renew carries every name
# of the certificate it renews (online with --assign, offline with the old
# key type and subject fields; online without an account, over a TLS
# client certificate: its names only).
. "$(dirname "$0")/lib.sh"
cd "$T" || exit 1
need_csca
USES=Default,WebServicesInternal,WebServicesExternal
cs() { "$CSCERT" "$@"; }

# ---- the CA ----
check "csca init" csca init --name "$CA_NAME" --key-type ec:P-256
echo 'S3cret pass' > pw
echo 'wrong' > badpw
check "account fe01 in $ADMINS" csca account add fe01 --group "$ADMINS" --password-file pw
check "account guest in Domain Users" csca account add guest --group "Domain Users" --password-file pw
check "grant Enroll on WebServer to $ADMINS" csca template grant WebServer --group "$ADMINS" --enroll
check "template Manual (manual approval)" csca template add Manual --approval manual
check "grant Enroll on Manual" csca template grant Manual --group "$ADMINS" --enroll
openssl x509 -in "$H/ca.pem" -out root.pem 2>/dev/null
FP=$(openssl x509 -in root.pem -noout -fingerprint -sha256 | cut -d= -f2)

PORT=$(free_port)
bg "$CSCA" --home "$H" serve --listen 127.0.0.1:"$PORT" --workers 2 --foreground 2> serve.log
SERVE=$LAST_PID
if wait_port "$PORT"; then ok "csca serve listens on 127.0.0.1:$PORT"; else nok "csca serve listens" "$(cat serve.log)"; done_testing; fi

# ---- the topology registers the CA ----
topology_with_ca topo.json "$PORT"
check "topology publish (CA registered with its address)" cs topology publish topo.json --computer-fqdn fe01.contoso.net
online() { cs request --new --type "$USES" --all-sip-domain --ca "$CA_NAME" --ca-account "${ACCT:-fe01}" \
               --ca-password-file "${PWF:-pw}" "$@"; }

# ---- CA not trusted yet ----
out=$(cs ca list 2>&1)
assert_contains "ca list: the CA, its URL" "https://dc01.contoso.net:$PORT/" "$out"
assert_contains "ca list: reachable, not trusted" "Trusted:    no" "$out"
before=$(db_dump "$CSCERT_HOME")
expect_fail "untrusted CA: refused with the exact trust command" 1 \
    "cscert ca trust 'dc01.contoso.net\\contoso-DC01-CA' --fingerprint SHA256" online --assign
err=$(online 2>&1 >/dev/null)
assert_contains "untrusted CA: says the root is not trusted" "CA root not trusted" "$err"
assert_contains "untrusted CA: says how to get the fingerprint" "csca show" "$err"
assert_eq "untrusted CA: store unchanged (no pending key left)" "$before" "$(db_dump "$CSCERT_HOME")"

# ---- ca trust ----
WRONG=$(printf '%s' "$FP" | tr '0-9A-F' '1-9A-F0')
expect_fail "ca trust: a wrong fingerprint is refused" 1 "nothing was installed" cs ca trust "$CA_NAME" --fingerprint "$WRONG"
expect_fail "ca trust: a malformed fingerprint is a clear error" 1 "not a SHA-256 fingerprint" \
    cs ca trust "$CA_NAME" --fingerprint "12:34"
assert_eq "ca trust refused: store unchanged" "$before" "$(db_dump "$CSCERT_HOME")"
# An impostor serving the real CA's /cacerts behind its own TLS certificate:
# the fingerprint matches, the TLS certificate does not chain to that root.
curl -sk --resolve "$HOST:$PORT:127.0.0.1" "https://$HOST:$PORT/.well-known/est/cacerts" -o real-cacerts.b64
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout evil.key -out evil.pem -days 2 \
    -subj "/CN=$HOST" -addext "subjectAltName=DNS:$HOST" 2>/dev/null
EVIL=$(free_port)
bg "$PY" -c '
import http.server, ssl, sys
body = open("real-cacerts.b64", "rb").read()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Type", "application/pkcs7-mime")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H)
c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); c.load_cert_chain("evil.pem", "evil.key")
s.socket = c.wrap_socket(s.socket, server_side=True); s.serve_forever()' "$EVIL"
IMPOSTOR=$LAST_PID
wait_port "$EVIL"
"$PY" - topo.json evil-topo.json "$EVIL" <<'EOF2'
import json, sys
d = json.load(open(sys.argv[1])); d["certification_authorities"][0]["url"] = "https://dc01.contoso.net:%s/" % sys.argv[3]
json.dump(d, open(sys.argv[2], "w"))
EOF2
cs topology publish evil-topo.json --computer-fqdn fe01.contoso.net >/dev/null 2>&1
before=$(db_dump "$CSCERT_HOME")
expect_fail "ca trust: an impostor's TLS certificate does not chain to the root: refused" 1 "does not chain to the root" \
    cs ca trust "$CA_NAME" --fingerprint "$FP"
assert_eq "impostor: store unchanged" "$before" "$(db_dump "$CSCERT_HOME")"
kill "$IMPOSTOR"
cs topology publish topo.json --computer-fqdn fe01.contoso.net >/dev/null 2>&1
lower=$(printf '%s' "$FP" | tr 'A-F' 'a-f' | sed 's/:/ /g')
check "ca trust: the right fingerprint (lower case, spaces) installs the root" cs ca trust "$CA_NAME" --fingerprint "$lower"
cs store list --store Root --json > roots.json 2>/dev/null
cs show "$(openssl x509 -in root.pem -noout -fingerprint -sha1 | cut -d= -f2)" --pem > installed-root.pem 2>/dev/null
assert_eq "the installed root is the CA's (openssl)" "$(openssl x509 -in root.pem -noout -fingerprint -sha256)" \
    "$(openssl x509 -in installed-root.pem -noout -fingerprint -sha256 2>&1)"
assert_contains "ca list: trusted now" "Trusted:    yes" "$(cs ca list 2>&1)"
assert_eq "ca list --json: trusted, root fingerprint" "true $(printf '%s' "$FP" | tr -d :)" \
    "$(cs ca list --json | "$PY" -c 'import json,sys; d=json.load(sys.stdin)[0]; print(str(d["trusted"]).lower(), d["root_sha256"])')"

# ---- wrong password, no grant: refused, store unchanged ----
before=$(db_dump "$CSCERT_HOME")
PWF=badpw
expect_fail "wrong password: refused naming the account" 1 "wrong credentials for account 'fe01'" online
PWF=pw
assert_eq "wrong password: store unchanged" "$before" "$(db_dump "$CSCERT_HOME")"
ACCT=guest
expect_fail "no Enroll permission: 403 names the template" 1 "template 'WebServer'" online
ACCT=fe01
assert_eq "no Enroll permission: store unchanged" "$before" "$(db_dump "$CSCERT_HOME")"
expect_fail "unknown template: 404 named" 1 "template 'NoSuch' is not known" online --template NoSuch
assert_eq "unknown template: store unchanged" "$before" "$(db_dump "$CSCERT_HOME")"
expect_fail "--assign for another server is refused" 1 "not this server" online --assign --computer-fqdn fe02.contoso.net

# ---- online request with --assign ----
out=$(online --assign 2>&1); rc=$?
assert_eq "online request --assign: exit 0" 0 "$rc"
THUMB=$(grep -oE 'Thumbprint: [0-9A-F]{40}' <<<"$out" | awk '{print $2}')
assert_contains "prints the thumbprint" "Thumbprint: $THUMB" "$out"
cs show "$THUMB" --pem > leaf.pem 2>/dev/null
check "issued certificate: openssl verify -x509_strict" openssl verify -x509_strict -CAfile root.pem leaf.pem
assert_eq "the thumbprint is the certificate's SHA-1" "$THUMB" "$(openssl x509 -in leaf.pem -noout -fingerprint -sha1 | cut -d= -f2 | tr -d :)"
want=$(cs topology names --type "$USES" --all-sip-domain --json 2>/dev/null | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
v = d["names"] if isinstance(d, dict) else d
print(" ".join(sorted({(n["name"] if isinstance(n, dict) else n).lower() for n in v})))')
have=$("$PY" -c 'import sys; from cryptography import x509
c = x509.load_pem_x509_certificate(open(sys.argv[1], "rb").read())
s = c.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
print(" ".join(sorted({n.lower() for n in s})))' leaf.pem 2>&1)
assert_eq "SANs (python cryptography) = cscert topology names" "$want" "$have"
get=$(cs get --json)
assert_eq "cscert get: the three uses assigned to it" "$THUMB $THUMB $THUMB" \
    "$("$PY" -c 'import json,sys; d={a["Use"]: a["Thumbprint"] for a in json.load(sys.stdin)}
print(d.get("Default"), d.get("WebServicesInternal"), d.get("WebServicesExternal"))' <<<"$get")"
cs check > check.out 2>&1; rc=$?
assert_contains "cscert check runs (exit 0 or 3)" "0 3" "$(case $rc in 0|3) echo 0 3 ;; *) echo "exit $rc: $(tail -3 check.out)" ;; esac)"
assert_eq "no pending request left" "No pending requests." "$(cs request list)"

# ---- manual approval: 202 -> pending -> issue -> resume ----
out=$(online --template Manual 2>&1); rc=$?
assert_eq "manual template: exit 0" 0 "$rc"
assert_contains "manual template: pending, with the resume command" "cscert request resume" "$out"
PID=$(cs request list --json | "$PY" -c 'import json,sys; v=[r for r in json.load(sys.stdin) if r["state"]=="pending"]; print(v[0]["id"] if v else "")')
[ -n "$PID" ] && ok "manual template: the request is pending in the store" || nok "pending in the store" "$(cs request list)"
out=$(cs request resume "$PID" --ca-password-file pw 2>&1)
assert_contains "resume before approval: still pending" "pending" "$out"
# Resumed by an account without Enroll: refused, and the key is kept (the
# CA may still issue the request; only 'request cancel' drops it).
before=$(db_dump "$CSCERT_HOME")
out=$(cs request resume "$PID" --ca-account guest --ca-password-file pw 2>&1); rc=$?
assert_eq "... the store unchanged (the account that queued it stays the one resume uses)" "$before" "$(db_dump "$CSCERT_HOME")"
assert_eq "resume by an account without Enroll: exit 1" 1 "$rc"
assert_contains "... says the key is kept and how to drop it" "cscert request cancel $PID" "$out"
assert_eq "... the request is still pending here" "$PID" \
    "$(cs request list --json | "$PY" -c 'import json,sys; print(" ".join(str(r["id"]) for r in json.load(sys.stdin)))')"
CAID=$(csca request list --pending --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])')
check "csca request issue $CAID" csca request issue "$CAID"
out=$(cs request resume --ca-password-file pw 2>&1); rc=$?
assert_eq "resume after approval: exit 0" 0 "$rc"
T2=$(grep -oE 'Thumbprint: [0-9A-F]{40}' <<<"$out" | awk '{print $2}')
[ -n "$T2" ] && ok "resume installs the certificate ($T2)" || nok "resume installs" "$out"
cs show "$T2" --pem > manual.pem 2>/dev/null
check "resumed certificate: openssl verify -x509_strict" openssl verify -x509_strict -CAfile root.pem manual.pem
assert_eq "resumed certificate has its key in My" "true" "$(cs store list --store My --json | "$PY" -c '
import json,sys; print(str(any(c["thumbprint"] == sys.argv[1] and c["has_key"] for c in json.load(sys.stdin))).lower())' "$T2")"
assert_eq "no pending request left after resume" "No pending requests." "$(cs request list)"

# ---- renewal: a new key, every name of the certificate renewed ----
# The certificate assigned above was requested with --all-sip-domain; the
# renewal forgets the flag (spec 5.3) and must still carry fabrikam.com's.
before=$(db_dump "$CSCERT_HOME")
expect_fail "--renew of a use with nothing assigned: names the use" 1 "no certificate is assigned to 'OAuthTokenIssuer'" \
    cs request --renew --type OAuthTokenIssuer --output oauth-renew.csr
assert_eq "--renew refused: store unchanged, no file" "$before no" "$(db_dump "$CSCERT_HOME") $([ -e oauth-renew.csr ] && echo yes || echo no)"
expect_fail "--new and --renew together: usage error" 2 "exclude each other" \
    cs request --new --renew --type Default --output x.csr
out=$(cs request --renew --type "$USES" --ca "$CA_NAME" --ca-account fe01 --ca-password-file pw --assign 2>&1); rc=$?
assert_eq "online --renew --assign: exit 0" 0 "$rc"
assert_contains "--renew names the certificate it renews" "Renewing $THUMB with a new key" "$out"
assert_contains "--renew names a name carried over" "sip.fabrikam.com" "$(grep 'carried over' <<<"$out")"
T3=$(grep -oE 'Thumbprint: [0-9A-F]{40}' <<<"$out" | awk '{print $2}')
[ -n "$T3" ] && [ "$T3" != "$THUMB" ] && ok "renewed: a new certificate ($T3)" || nok "renewed: a new certificate" "$out"
cs show "$T3" --pem > renewed.pem 2>/dev/null
check "renewed certificate: openssl verify -x509_strict" openssl verify -x509_strict -CAfile root.pem renewed.pem
san_set() { "$PY" -c 'import sys; from cryptography import x509
d = open(sys.argv[1], "rb").read()
o = x509.load_pem_x509_csr(d) if b"REQUEST" in d else x509.load_pem_x509_certificate(d)
s = o.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
print(" ".join(sorted({n.lower() for n in s})))' "$1" 2>&1; }
assert_eq "renewed: the same SANs as the certificate renewed (python cryptography)" "$(san_set leaf.pem)" "$(san_set renewed.pem)"
k_old=$(openssl x509 -in leaf.pem -noout -pubkey | openssl sha256); k_new=$(openssl x509 -in renewed.pem -noout -pubkey | openssl sha256)
[ "$k_old" != "$k_new" ] && ok "renewed: a new key" || nok "renewed: a new key" "same public key"
assert_eq "renewed: the three uses now served by it" "$T3 $T3 $T3" \
    "$("$PY" -c 'import json,sys; d={a["Use"]: a["Thumbprint"] for a in json.load(sys.stdin)}
print(d.get("Default"), d.get("WebServicesInternal"), d.get("WebServicesExternal"))' <<<"$(cs get --json)")"
# Offline, with its key type, subject fields and one more name carried.
check "EC P-384 certificate with O and C for WebServicesExternal" cs request --new --type WebServicesExternal \
    --key-type ec:P-384 --organization Contoso --country US --domain-name legacy.contoso.com \
    --ca "$CA_NAME" --ca-account fe01 --ca-password-file pw --assign
out=$(cs request --renew --type WebServicesExternal --output ext-renew.csr 2>&1); rc=$?
assert_eq "offline --renew: exit 0" 0 "$rc"
check "offline --renew: openssl req -verify" openssl req -in ext-renew.csr -noout -verify
assert_contains "offline --renew: the old key type (EC P-384)" "secp384r1" "$(openssl req -in ext-renew.csr -noout -text)"
assert_contains "offline --renew: the old subject's O and C" "C=US, O=Contoso" \
    "$(openssl req -in ext-renew.csr -noout -subject -nameopt sep_comma_plus_space)"
assert_contains "offline --renew: the typed name carried over" "legacy.contoso.com" "$(san_set ext-renew.csr)"
assert_contains "offline --renew: says it carried it over" "legacy.contoso.com" "$(grep 'carried over' <<<"$out")"
RID=$(cs request list --json | "$PY" -c 'import json,sys; print([r["id"] for r in json.load(sys.stdin) if r["state"]=="offline"][-1])')
check "cancel the offline renewal" cs request cancel "$RID"

# Online without an account: the certificate renewed is the credential.
before=$(db_dump "$CSCERT_HOME")
expect_fail "--renew with a client certificate: one certificate at a time" 1 "served by several certificates" \
    cs request --renew --type "$USES" --ca "$CA_NAME"
assert_eq "several certificates: store unchanged" "$before" "$(db_dump "$CSCERT_HOME")"
expect_fail "--renew with a client certificate and a new name: the CA's 403 names it" 1 \
    "'extra.contoso.com' is not in the client certificate" \
    cs request --renew --type Default,WebServicesInternal --domain-name extra.contoso.com --ca "$CA_NAME"
assert_eq "client certificate refused: store unchanged" "$before" "$(db_dump "$CSCERT_HOME")"
out=$(cs request --renew --type Default,WebServicesInternal --ca "$CA_NAME" --assign 2>&1); rc=$?
assert_eq "--renew, no password, its certificate as credential: exit 0" 0 "$rc"
T4=$(grep -oE 'Thumbprint: [0-9A-F]{40}' <<<"$out" | awk '{print $2}')
[ -n "$T4" ] && [ "$T4" != "$T3" ] && ok "renewed with the client certificate ($T4)" || nok "renewed with the client certificate" "$out"
assert_contains "the CA logged it as authenticated by the client certificate" "(client certificate)" \
    "$(grep "enroll 200" serve.log | tail -1)"
cs show "$T4" --pem > renewed2.pem 2>/dev/null
check "renewed with the client certificate: openssl verify -x509_strict" openssl verify -x509_strict -CAfile root.pem renewed2.pem
assert_eq "renewed with the client certificate: the same SANs" "$(san_set renewed.pem)" "$(san_set renewed2.pem)"
assert_eq "the CA recorded it for the account of the certificate renewed" fe01 \
    "$(sqlite3 "$H/csca.db" "SELECT requester FROM certs WHERE serial='$(openssl x509 -in renewed2.pem -noout -serial | cut -d= -f2)'")"

# ... held for approval, then resumed with the same client certificate.
out=$(cs request --renew --type Default,WebServicesInternal --template Manual --ca "$CA_NAME" 2>&1); rc=$?
assert_eq "--renew over a client certificate, manual template: pending (exit 0)" "0 yes" \
    "$rc $(grep -q 'cscert request resume' <<<"$out" && echo yes || echo no)"
CAID=$(csca request list --pending --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])')
check "csca request issue $CAID" csca request issue "$CAID"
out=$(cs request resume --assign 2>&1 </dev/null); rc=$?
assert_eq "resume with no account: the client certificate again (exit 0)" 0 "$rc"
T5=$(grep -oE 'Thumbprint: [0-9A-F]{40}' <<<"$out" | awk '{print $2}')
[ -n "$T5" ] && ok "resumed renewal installed ($T5)" || nok "resumed renewal installed" "$out"
assert_eq "resumed renewal: Default now served by it" "$T5" \
    "$(cs get --json --type Default | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["Thumbprint"])')"

# ---- the CA gone: unreachable names the URL; the store unchanged ----
kill "$SERVE"; wait "$SERVE" 2>/dev/null
before=$(db_dump "$CSCERT_HOME")
expect_fail "CA unreachable: names the URL tried" 1 "https://dc01.contoso.net:$PORT/.well-known/est/WebServer/simpleenroll" online
assert_eq "CA unreachable: nothing was sent, store unchanged" "$before" "$(db_dump "$CSCERT_HOME")"

# ---- an impostor CA anchored by a forged intermediate ----
# A certificate whose subject equals its issuer but that another key signed,
# imported into the CA store, was a trust anchor to the EST client: an
# impostor presenting a chain under it received the account's password.
cat > impostor.py <<'PY'
import datetime, http.server, ssl, sys
from cryptography import x509
from cryptography.x509.oid import NameOID, ExtendedKeyUsageOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs7
now = datetime.datetime.now(datetime.timezone.utc)
kf, kx, kl = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Contoso Issuing CA 2")])
forged = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(kf.public_key())
    .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
    .not_valid_after(now + datetime.timedelta(days=30))
    .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    .sign(kx, hashes.SHA256()))  # self-issued, not self-signed
leaf = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dc01.contoso.net")]))
    .issuer_name(name).public_key(kl.public_key()).serial_number(x509.random_serial_number())
    .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
    .add_extension(x509.SubjectAlternativeName([x509.DNSName("dc01.contoso.net")]), critical=False)
    .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    .sign(kf, hashes.SHA256()))
open("forged.p7b", "wb").write(pkcs7.serialize_certificates([forged], serialization.Encoding.DER))
open("imp.pem", "wb").write(leaf.public_bytes(serialization.Encoding.PEM))
open("imp.key", "wb").write(kl.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()))
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        open("stolen.txt", "a").write("%s\n" % self.headers.get("Authorization"))
        self.send_response(500); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H)
c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); c.load_cert_chain("imp.pem", "imp.key")
s.socket = c.wrap_socket(s.socket, server_side=True); s.timeout = 20
open("imp.ready", "w").close()
for _ in range(4): s.handle_request()  # bounded: 4 connections or 4 x 20 s
PY
IPORT=$(free_port)
bg "$PY" impostor.py "$IPORT"
IMP=$LAST_PID
for _ in $(seq 1 100); do [ -e imp.ready ] && break; sleep 0.1; done
topology_with_ca topo-imp.json "$IPORT"
check "topology republished: the CA's URL now reaches the impostor" cs topology publish topo-imp.json --computer-fqdn fe01.contoso.net
check "the forged intermediate imports into CA (a file like any other)" cs import forged.p7b
before=$(db_dump "$CSCERT_HOME")
expect_fail "impostor CA: refused as untrusted" 1 "CA root not trusted" online
assert_eq "impostor CA: no credentials were sent to it" "" "$(cat stolen.txt 2>/dev/null)"
assert_eq "impostor CA: store unchanged" "$before" "$(db_dump "$CSCERT_HOME")"
kill "$IMP" 2>/dev/null; wait "$IMP" 2>/dev/null
done_testing
