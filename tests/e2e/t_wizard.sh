#!/bin/bash
# cscert wizard end to end, answers given one a line on standard input:
# an offline request with one SIP domain ticked and an additional SAN (the
# request judged by openssl and python cryptography); an online request to
# a real `csca serve` with alternate credentials and "assign" ticked (the
# certificate verified by openssl, its SANs compared with `cscert topology
# names`, the password never shown); View, Remove and Assign; Renew with
# the certificate as credential (same SANs, openssl verify); Import of a
# PKCS#12 made by openssl; Process Pending Request after a manual approval;
# invalid answers and input that ends inside a task cancel it with the
# store unchanged; no topology is a clear error.
. "$(dirname "$0")/lib.sh"
cd "$T" || exit 1
need_csca
USES=Default,WebServicesInternal,WebServicesExternal
cs() { "$CSCERT" "$@"; }
# wizard LINE...: run the wizard with these answers, one a line.
wizard() { printf '%s\n' "$@" | cs wizard; }
sans() { "$PY" -c 'import sys; from cryptography import x509
d = open(sys.argv[1], "rb").read()
o = x509.load_pem_x509_csr(d) if b"REQUEST" in d else x509.load_pem_x509_certificate(d)
s = o.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
print(" ".join(sorted({n.lower() for n in s})))' "$1" 2>&1; }

out=$(cs wizard --help)
assert_contains "wizard --help: the tasks" "Process Pending Request" "$out"
expect_fail "wizard with an argument: usage error" 2 "takes no arguments" cs wizard now
expect_fail "no topology: says to publish it" 1 "cscert topology publish" wizard q

# ---- the CA ----
check "csca init" csca init --name "$CA_NAME" --key-type ec:P-256
echo 'S3cret pass' > pw
check "account fe01" csca account add fe01 --group RTCUniversalServerAdmins --password-file pw
check "grant Enroll on WebServer" csca template grant WebServer --group RTCUniversalServerAdmins --enroll
check "template Manual" csca template add Manual --approval manual
check "grant Enroll on Manual" csca template grant Manual --group RTCUniversalServerAdmins --enroll
openssl x509 -in "$H/ca.pem" -out root.pem 2>/dev/null
FP=$(openssl x509 -in root.pem -noout -fingerprint -sha256 | cut -d= -f2)
PORT=$(free_port)
bg "$CSCA" --home "$H" serve --listen 127.0.0.1:"$PORT" --workers 2 --foreground 2> serve.log
SERVE=$LAST_PID
if wait_port "$PORT" && wait_log serve.log "ready: CA"; then ok "csca serve is ready"; else nok "csca serve" "$(cat serve.log)"; done_testing; fi
topology_with_ca topo.json "$PORT"
check "topology publish" cs topology publish topo.json --computer-fqdn fe01.contoso.net
check "ca trust" cs ca trust "$CA_NAME" --fingerprint "$FP"

# ---- the main page ----
out=$(wizard q); rc=$?
assert_eq "main page, q: exit 0" 0 "$rc"
assert_contains "main page: this server and its pool" "fe01.contoso.net (FrontEnd pool pool01.contoso.net)" "$out"
assert_contains "main page: each use of the role, not assigned" "OAuthTokenIssuer           Not assigned" "$out"

# ---- Request, offline: SIP domain 2 ticked, one more SAN ----
# task, certificate, offline, file, template, friendly name, bits,
# exportable, O, OU, C, ST, L, SIP domains, extra SAN, end, send
out=$(wizard r 1 2 fe01.csr "" "" 4096 n Contoso IT US Washington Redmond 2 extra.contoso.com "" y q); rc=$?
assert_eq "offline request: exit 0" 0 "$rc"
assert_contains "the Executing Commands page shows the command" \
    "cscert request --new --type $USES --output fe01.csr --key-size 4096" "$out"
check "offline request: openssl req -verify" openssl req -in fe01.csr -noout -verify
assert_contains "offline request: RSA 4096" "4096 bit" "$(openssl req -in fe01.csr -noout -text)"
assert_contains "offline request: the subject's country and city" "C=US, ST=Washington, L=Redmond, O=Contoso, OU=IT" \
    "$(openssl req -in fe01.csr -noout -subject -nameopt sep_comma_plus_space 2>&1 | sed 's/subject=//')"
want=$( (cs topology names --type "$USES" --json | "$PY" -c 'import json,sys
d = json.load(sys.stdin); v = d["names"] if isinstance(d, dict) else d
print("\n".join((n["name"] if isinstance(n, dict) else n) for n in v))'
        printf '%s\n' sip.fabrikam.com lyncdiscover.fabrikam.com lyncdiscoverinternal.fabrikam.com extra.contoso.com) \
        | tr 'A-Z' 'a-z' | sort -u | tr '\n' ' ' | sed 's/ $//')
assert_eq "offline request: SANs = the topology's + fabrikam.com's + the extra one" "$want" "$(sans fe01.csr)"
assert_contains "offline request: pending in the store" "fe01.csr" "$(cs request list)"
check "cancel the offline request" cs request cancel 1

# ---- invalid answers and the end of input cancel, store unchanged ----
before=$(db_dump "$CSCERT_HOME")
out=$(wizard r 1 2 x.csr "" "" 999 123 abc q); rc=$?
assert_contains "three invalid bit lengths cancel the task" "3 invalid answers: the task is cancelled" "$out"
assert_eq "a cancelled task is no failure: exit 0" 0 "$rc"
out=$(wizard r 1 1 1); rc=$?
assert_contains "input ends inside a task: cancelled" "Cancelled: nothing was changed" "$out"
assert_eq "input ends inside a task: exit 1" 1 "$rc"
assert_eq "cancelled tasks: store unchanged" "$before" "$(db_dump "$CSCERT_HOME")"
[ ! -e x.csr ] && ok "cancelled: no request file" || nok "cancelled: no request file" "x.csr exists"

# ---- Request, online, alternate credentials, assign ----
# task, certificate, online, CA 1, account, password, template, name,
# bits, exportable, O, OU, C, ST, L, SIP all, no extra, assign, send
out=$(wizard r 1 1 1 fe01 "S3cret pass" "" "FE01 web" "" n "" "" "" "" "" all "" y y q 2>&1); rc=$?
assert_eq "online request: exit 0" 0 "$rc"
assert_contains "the password page does not echo it" "Password: (not shown)" "$out"
assert_contains "the command: password file, not the password" "--ca-password-file (the password typed)" "$out"
case "$out" in *"S3cret"*) nok "the password is never shown" "$(grep -n S3cret <<<"$out")" ;; *) ok "the password is never shown" ;; esac
THUMB=$(grep -oE 'Thumbprint: [0-9A-F]{40}' <<<"$out" | awk '{print $2}' | head -1)
[ -n "$THUMB" ] && ok "online request: issued ($THUMB)" || nok "online request: issued" "$(tail -20 <<<"$out")"
cs show "$THUMB" --pem > leaf.pem 2>/dev/null
check "online certificate: openssl verify -x509_strict" openssl verify -x509_strict -CAfile root.pem leaf.pem
want=$(cs topology names --type "$USES" --all-sip-domain --json | "$PY" -c 'import json,sys
d = json.load(sys.stdin); v = d["names"] if isinstance(d, dict) else d
print(" ".join(sorted({(n["name"] if isinstance(n, dict) else n).lower() for n in v})))')
assert_eq "online certificate: SANs = cscert topology names --all-sip-domain" "$want" "$(sans leaf.pem)"
assign3() { cs get --json | "$PY" -c 'import json,sys; d={a["Use"]: a["Thumbprint"] for a in json.load(sys.stdin)}
print(d.get("Default"), d.get("WebServicesInternal"), d.get("WebServicesExternal"))'; }
assert_eq "assign ticked: the three uses are assigned" "$THUMB $THUMB $THUMB" "$(assign3)"
out=$(wizard q)
assert_contains "main page: Default assigned, with its thumbprint" "Default                    Assigned      $THUMB" "$out"

# ---- View, Remove, Assign ----
out=$(wizard v 1 q)
assert_contains "View: runs cscert show on the use's certificate" "cscert show $THUMB" "$out"
assert_contains "View: the certificate's details" "pool01.contoso.net" "$out"
out=$(wizard d 1 y q); rc=$?
assert_eq "Remove: exit 0" 0 "$rc"
assert_eq "Remove: Default unassigned, the others kept" "None $THUMB $THUMB" "$(assign3)"
before=$(db_dump "$CSCERT_HOME")
out=$(wizard d 1 n q)
assert_contains "Remove answered no: cancelled" "Cancelled" "$out"
assert_eq "Remove answered no: store unchanged" "$before" "$(db_dump "$CSCERT_HOME")"
NUM=$(cs store list --store My --json | "$PY" -c 'import json,sys
v=[c for c in json.load(sys.stdin) if c["has_key"]]
print([i for i, c in enumerate(v, 1) if c["thumbprint"] == sys.argv[1]][0])' "$THUMB")
out=$(wizard a "$NUM" Default y q); rc=$?
assert_eq "Assign: exit 0" 0 "$rc"
assert_contains "Assign: runs cscert set" "cscert set --type Default --thumbprint $THUMB" "$out"
assert_eq "Assign: Default assigned again" "$THUMB $THUMB $THUMB" "$(assign3)"

# ---- the main page says when a certificate expires within 30 days ----
check "template Short (10 days)" csca template add Short --validity 10
check "grant Enroll on Short" csca template grant Short --group RTCUniversalServerAdmins --enroll
check "an OAuthTokenIssuer certificate for 10 days, assigned" cs request --new --type OAuthTokenIssuer --template Short \
    --ca "$CA_NAME" --ca-account fe01 --ca-password-file pw --assign
assert_contains "main page: Expiring, with its date" "OAuthTokenIssuer           Expiring" "$(wizard q)"

# ---- Renew: online, the certificate itself as the credential ----
# task, use 1 (Default: its certificate serves all three), online, CA 1,
# no account, assign, renew
out=$(wizard n 1 1 1 "" y y q 2>&1); rc=$?
assert_eq "Renew: exit 0" 0 "$rc"
assert_eq "Renew: every use of that certificate, no password" \
    "\$ cscert request --renew --type $USES --ca 'dc01.contoso.net\contoso-DC01-CA' --assign" \
    "$(grep -F '$ cscert request --renew' <<<"$out" | sed 's/^ *//')"
TR=$(grep -oE 'Thumbprint: [0-9A-F]{40}' <<<"$out" | awk '{print $2}' | head -1)
[ -n "$TR" ] && [ "$TR" != "$THUMB" ] && ok "Renew: a new certificate ($TR)" || nok "Renew: a new certificate" "$(tail -20 <<<"$out")"
cs show "$TR" --pem > renewed.pem 2>/dev/null
check "Renew: openssl verify -x509_strict" openssl verify -x509_strict -CAfile root.pem renewed.pem
assert_eq "Renew: the same SANs (python cryptography)" "$(sans leaf.pem)" "$(sans renewed.pem)"
assert_eq "Renew: the three uses now served by it" "$TR $TR $TR" "$(assign3)"
THUMB=$TR

# ---- Import a PKCS#12 made by openssl ----
openssl req -x509 -newkey rsa:2048 -nodes -keyout imp.key -out imp.pem -days 30 -subj "/CN=imported.contoso.net" \
    -addext "subjectAltName=DNS:imported.contoso.net" 2>/dev/null
openssl pkcs12 -export -in imp.pem -inkey imp.key -out imp.pfx -passout pass:pfxpass 2>/dev/null
IMP=$(openssl x509 -in imp.pem -noout -fingerprint -sha1 | cut -d= -f2 | tr -d :)
out=$(wizard i imp.pfx y wrongpass n q); rc=$?
assert_eq "Import, wrong password: exit 1" 1 "$rc"
assert_contains "Import, wrong password: the task failed" "Task failed" "$out"
err=$(wizard i imp.pfx y wrongpass n q 2>&1 >/dev/null)
assert_eq "Import, wrong password: the import's error, once" \
    "cscert: error: imp.pfx: wrong password: the PKCS#12 integrity check (MAC) fails; check the first line of --password-file; nothing was imported" "$err"
out=$(wizard i imp.pfx y pfxpass n q); rc=$?
assert_eq "Import: exit 0" 0 "$rc"
assert_eq "Import: in My with its key" "true" "$(cs store list --store My --json | "$PY" -c '
import json,sys; print(str(any(c["thumbprint"] == sys.argv[1] and c["has_key"] for c in json.load(sys.stdin))).lower())' "$IMP")"
case "$out" in *pfxpass*) nok "the PKCS#12 password is never shown" "" ;; *) ok "the PKCS#12 password is never shown" ;; esac

# ---- Process Pending Request after a manual approval ----
out=$(wizard r 2 1 1 fe01 "S3cret pass" Manual "" "" n "" "" "" "" "" "" "" y y q 2>&1)
assert_contains "manual template: the request is pending" "cscert request resume" "$out"
CAID=$(csca request list --pending --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])')
check "csca request issue $CAID" csca request issue "$CAID"
out=$(wizard p 1 fe01 "S3cret pass" q 2>&1); rc=$?
assert_eq "Process Pending Request: exit 0" 0 "$rc"
T2=$(grep -oE 'Thumbprint: [0-9A-F]{40}' <<<"$out" | awk '{print $2}' | head -1)
[ -n "$T2" ] && ok "Process Pending Request: installed ($T2)" || nok "Process Pending Request: installed" "$(tail -20 <<<"$out")"
assert_eq "Process Pending Request: Default now served by it" "$T2" \
    "$(cs get --json --type Default | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["Thumbprint"])')"
assert_eq "no pending request left" "No pending requests." "$(cs request list)"

kill "$SERVE"; wait "$SERVE" 2>/dev/null
done_testing
