#!/bin/bash
# csca serve: EST (RFC 7030) over HTTPS end to end on a free 127.0.0.1
# port. The CA is a subordinate of a root made here by openssl, so the
# chain has two certificates. Judged with curl (--cacert root.pem
# --resolve, nothing else), openssl (pkcs7, verify -x509_strict, x509),
# certtool (--generate-request, --verify-chain), sqlite3 and
# /usr/bin/python3 + cryptography: cacerts is the whole chain; requests
# from openssl req (base64 on one line, with line breaks, PEM, DER) and
# certtool enroll; every status code (401 x3, 403 x3, 400, 404, 405, 413,
# 415) with the CA database unchanged; 202 + Retry-After, `csca request
# issue`, then the same request gets 200 (and 403 with the reason after
# `csca request deny`); 64 concurrent enrollments with
# no error and no duplicate serial; stalled clients do not block others;
# simplereenroll authenticated by the client's certificate alone (its
# names only: 403 for another; 401 for a self-signed one, the parent
# CA's, a revoked one); a password changed or a client certificate revoked
# while a keep-alive connection is open is refused on that connection's next
# request; SIGHUP renews the TLS certificate; SIGTERM stops it.
. "$(dirname "$0")/lib.sh"
cd "$T" || exit 1
need_csca
dump() { sqlite3 "$H/csca.db" .dump; }

# ---- the root (openssl) and the subordinate CA (csca) ----
openssl req -x509 -newkey rsa:2048 -nodes -keyout root.key -out root.pem -subj "/CN=Contoso Root CA" \
    -days 3650 -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>/dev/null
check "csca init --subordinate-request" csca init --name "$CA_NAME" --key-type rsa:2048 --subordinate-request sub.csr
printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' > sub.ext
openssl x509 -req -in sub.csr -CA root.pem -CAkey root.key -CAcreateserial -days 1825 -extfile sub.ext \
    -out sub.pem 2>/dev/null
cat sub.pem root.pem > sub-chain.pem
check "csca install-cert (issuing CA + root)" csca install-cert sub-chain.pem
echo 'S3cret pass' > pw
echo 'wrong' > badpw
check "account web01 in $ADMINS" csca account add web01 --group "$ADMINS" --password-file pw
check "account guest in Domain Users" csca account add guest --group "Domain Users" --password-file pw
check "grant Enroll on WebServer" csca template grant WebServer --group "$ADMINS" --enroll
check "template Manual (manual approval)" csca template add Manual --approval manual
check "grant Enroll on Manual" csca template grant Manual --group "$ADMINS" --enroll
check "template Contoso (allowed domains)" csca template add Contoso --allowed-domains "*.contoso.net,contoso.net"
check "grant Enroll on Contoso" csca template grant Contoso --group "$ADMINS" --enroll

# ---- serve ----
PORT=$(free_port)
before=$(dump)
expect_fail "--tls-name that is not a host name: usage error" 2 "'est,IP:10.1.2.3' is not a valid host name" \
    "$CSCA" --home "$H" serve --listen 127.0.0.1:"$PORT" --tls-name "est,IP:10.1.2.3" --foreground
assert_eq "... nothing issued for it" "$before" "$(dump)"
bg "$CSCA" --home "$H" serve --listen 127.0.0.1:"$PORT" --workers 2 --tls-name est.contoso.net --foreground 2> serve.log
SERVE=$LAST_PID
if wait_port "$PORT"; then ok "csca serve listens on 127.0.0.1:$PORT"; else nok "csca serve listens" "$(cat serve.log)"; done_testing; fi
check "csca serve says it is ready" wait_log serve.log "ready: CA"
assert_eq "HOME/serve.pid names the server" "$SERVE" "$(cat "$H/serve.pid" 2>/dev/null)"
assert_eq "its TLS certificate names the CA host and --tls-name, as DNS names only" \
    "DNS:$HOST, DNS:est.contoso.net" \
    "$(openssl s_client -connect 127.0.0.1:"$PORT" -servername est.contoso.net </dev/null 2>/dev/null \
       | openssl x509 -noout -ext subjectAltName | tail -n 1 | sed 's/^ *//')"
URL="https://$HOST:$PORT/.well-known/est"
C=(curl -sS --max-time 20 --cacert root.pem --resolve "$HOST:$PORT:127.0.0.1")
# est PATH OUT [curl args...]: prints the HTTP status; headers in OUT.h, body in OUT
est() { local p=$1 o=$2; shift 2; "${C[@]}" -o "$o" -D "$o.h" -w '%{http_code}' "$@" "$URL/$p"; }
enroll() { local o=$1 f=$2; shift 2
           est "${EP:-simpleenroll}" "$o" --user "${WHO:-web01:S3cret pass}" -H "Content-Type: ${CT:-application/pkcs10}" \
               --data-binary @"$f" "$@"; }
hdr() { tr -d '\r' < "$1.h" | awk -v k="$2" 'BEGIN { IGNORECASE = 1 } index(tolower($0), tolower(k) ":") == 1 { sub(/^[^:]*: */, ""); print }'; }
# p7 FILE OUT: base64 PKCS#7 -> PEM certificates; prints how many
p7() { openssl base64 -d -in "$1" | openssl pkcs7 -inform DER -print_certs 2>/dev/null | pem_certs > "$2"
       grep -c 'BEGIN CERTIFICATE' "$2"; }

# ---- cacerts: the whole chain ----
assert_eq "GET cacerts: 200" 200 "$(est cacerts cacerts.b64)"
assert_contains "cacerts: Content-Type application/pkcs7-mime" "application/pkcs7-mime" "$(hdr cacerts.b64 Content-Type)"
assert_eq "cacerts: Content-Transfer-Encoding base64" base64 "$(hdr cacerts.b64 Content-Transfer-Encoding)"
assert_eq "cacerts: the whole chain (issuing CA and root)" 2 "$(p7 cacerts.b64 cacerts.pem)"
assert_eq "cacerts: the root is the openssl root" "$(openssl x509 -in root.pem -noout -fingerprint -sha256)" \
    "$(openssl x509 -in <(pem_nth 2 cacerts.pem) -noout -fingerprint -sha256 2>/dev/null)"
assert_eq "HEAD cacerts: 200" 200 "$("${C[@]}" -I -o /dev/null -w '%{http_code}' "$URL/cacerts")"
served=$(echo | openssl s_client -connect 127.0.0.1:"$PORT" -servername "$HOST" -showcerts 2>/dev/null)
assert_eq "TLS chain: leaf + issuing CA + root" 3 "$(grep -c 'BEGIN CERTIFICATE' <<<"$served")"
pem_nth 1 <<<"$served" > tls1.pem
tls_san=$("$PY" -c 'import sys; from cryptography import x509
c = x509.load_pem_x509_certificate(open(sys.argv[1], "rb").read())
print(" ".join(c.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)))' tls1.pem 2>&1)
assert_eq "TLS certificate issued by the CA for its host and --tls-name" "$HOST est.contoso.net" "$tls_san"
check "TLS certificate verifies (x509_strict) to the root" openssl verify -x509_strict -CAfile root.pem -untrusted sub.pem tls1.pem
tls_sn=$(sed -n 's/.*tls certificate \([0-9A-F]*\) for.*/\1/p' serve.log | head -1)
assert_eq "the log names the TLS certificate's serial" "$(openssl x509 -in tls1.pem -noout -serial | sed 's/serial=//')" "$tls_sn"
assert_contains "the TLS certificate is in the CA's issued list (revocable)" "\"$tls_sn\"" \
    "$(sqlite3 "$H/csca.db" "SELECT json_object('serial', serial, 'template', template) FROM certs")"
assert_eq "TLS 1.1 refused" no "$(echo | openssl s_client -connect 127.0.0.1:"$PORT" -tls1_1 >/dev/null 2>&1 && echo yes || echo no)"

# ---- enrollment: requests from openssl and certtool ----
judge() { # PEM: SANs, EKU, CA flag, as one line
    "$PY" -c 'import sys; from cryptography import x509
c = x509.load_pem_x509_certificate(open(sys.argv[1], "rb").read())
san = c.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
eku = [o._name for o in c.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value]
print(" ".join(san), "|", ",".join(eku), "| ca=%s" % c.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)' "$1" 2>&1; }
# got NAME: the issued certificate (first of the PKCS#7) as NAME.pem
got() { p7 "$1" "$1.all" >/dev/null; pem_nth 1 "$1.all" > "$1.pem"; }
openssl req -new -newkey rsa:2048 -nodes -keyout fe01.key -subj "/CN=fe01.contoso.net" \
    -addext "subjectAltName=DNS:fe01.contoso.net,DNS:pool01.contoso.net,DNS:meet.contoso.com" -outform DER -out fe01.der 2>/dev/null
base64 -w0 fe01.der > fe01.oneline
openssl base64 -in fe01.der > fe01.lines
openssl req -inform DER -in fe01.der -out fe01.csr.pem
for form in oneline lines csr.pem der; do
    assert_eq "simpleenroll, openssl req CSR as $form: 200" 200 "$(WHO=web01:"S3cret pass" enroll "r-$form.b64" fe01.$form)"
done
assert_eq "response: Content-Type application/pkcs7-mime; smime-type=certs-only" \
    "application/pkcs7-mime; smime-type=certs-only" "$(hdr r-oneline.b64 Content-Type)"
assert_eq "response: Content-Transfer-Encoding base64" base64 "$(hdr r-oneline.b64 Content-Transfer-Encoding)"
got r-oneline.b64
mv r-oneline.b64.pem fe01.pem
check "issued certificate: openssl verify -x509_strict" openssl verify -x509_strict -CAfile root.pem -untrusted sub.pem fe01.pem
cat fe01.pem sub.pem root.pem > fe01-chain.pem
check "issued certificate: certtool --verify-chain" certtool --verify-chain --infile fe01-chain.pem
assert_eq "issued certificate: SANs, EKU serverAuth, not a CA" \
    "fe01.contoso.net pool01.contoso.net meet.contoso.com | serverAuth | ca=False" "$(judge fe01.pem)"
assert_eq "issued certificate: the request's key" "$(openssl pkey -in fe01.key -pubout)" "$(openssl x509 -in fe01.pem -noout -pubkey)"
# The same request again from the same account: answered from the queue.
s1=$(openssl x509 -in fe01.pem -noout -serial)
got r-lines.b64
assert_eq "the same request repeated: the same certificate" "$s1" "$(openssl x509 -in r-lines.b64.pem -noout -serial)"

cat > ct.tmpl <<'EOF'
cn = "fe02.contoso.net"
dns_name = "fe02.contoso.net"
dns_name = "pool01.contoso.net"
tls_www_server
EOF
certtool --generate-privkey --key-type rsa --bits 2048 --outfile fe02.key 2>/dev/null
certtool --generate-request --load-privkey fe02.key --template ct.tmpl --outfile fe02.csr 2>/dev/null
assert_eq "simpleenroll, certtool request (its file: text, then PEM): 200" 200 "$(enroll fe02.b64 fe02.csr)"
got fe02.b64
cat fe02.b64.pem sub.pem root.pem > fe02-chain.pem
check "certtool's certificate: certtool --verify-chain" certtool --verify-chain --infile fe02-chain.pem
check "certtool's certificate: openssl verify -x509_strict" openssl verify -x509_strict -CAfile root.pem -untrusted sub.pem fe02.b64.pem
assert_eq "certtool's certificate: SANs, EKU" "fe02.contoso.net pool01.contoso.net | serverAuth | ca=False" "$(judge fe02.b64.pem)"

openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout fe03.key -subj "/CN=fe03.contoso.net" \
    -addext "subjectAltName=DNS:fe03.contoso.net" -out fe03.csr 2>/dev/null
openssl req -in fe03.csr -outform DER | base64 -w 76 > fe03.b64in
assert_eq "media type matched ignoring case and parameters: 200" 200 \
    "$(CT='Application/PKCS10; charset=us-ascii' enroll fe03.b64 fe03.b64in)"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout fe04.key -subj "/CN=fe04.contoso.net" \
    -outform DER -out fe04.der 2>/dev/null
base64 -w0 fe04.der > fe04.b64in
assert_eq "simplereenroll: 200" 200 "$(EP=simplereenroll enroll fe04.b64 fe04.b64in)"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout fe05.key -subj "/CN=web.contoso.net" \
    -outform DER -out fe05.der 2>/dev/null
base64 -w0 fe05.der > fe05.b64in
assert_eq "TEMPLATE/simpleenroll (Contoso, an allowed domain): 200" 200 "$(EP=Contoso/simpleenroll enroll fe05.b64 fe05.b64in)"
got fe05.b64
assert_eq "Contoso certificate for web.contoso.net" "web.contoso.net | serverAuth | ca=False" "$(judge fe05.b64.pem)"
# Two requests on one keep-alive connection (authenticated once).
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ka.key -subj "/CN=ka1.contoso.net" \
    -outform DER -out ka1.der 2>/dev/null
openssl req -new -key ka.key -subj "/CN=ka2.contoso.net" -outform DER -out ka2.der 2>/dev/null
base64 -w0 ka1.der > ka1.b64in; base64 -w0 ka2.der > ka2.b64in
ka=$("${C[@]}" -o /dev/null -w '%{http_code} %{num_connects}\n' --user "web01:S3cret pass" -H "Content-Type: application/pkcs10" \
    --data-binary @ka1.b64in "$URL/simpleenroll" --next -o /dev/null -w '%{http_code} %{num_connects}\n' \
    --cacert root.pem --resolve "$HOST:$PORT:127.0.0.1" --user "web01:S3cret pass" -H "Content-Type: application/pkcs10" \
    --data-binary @ka2.b64in "$URL/simpleenroll" | tr '\n' ' ')
assert_eq "two enrollments on one keep-alive connection" "200 1 200 0 " "$ka"

# ---- every refusal: status, body, and the database unchanged ----
openssl req -new -newkey rsa:1024 -nodes -keyout weak.key -subj "/CN=weak.contoso.net" -outform DER -out weak.der 2>/dev/null
base64 -w0 weak.der > weak.b64in
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout evil.key -subj "/CN=web2.contoso.net" \
    -addext "subjectAltName=DNS:web2.contoso.net,DNS:evil.fabrikam.com" -outform DER -out evil.der 2>/dev/null
base64 -w0 evil.der > evil.b64in
# A comma in the CN: before the fix, the CA read it as SAN syntax and issued
# DNS:a and an IP address beside web3.contoso.net, whatever the template allowed.
openssl req -new -key evil.key -subj "/CN=a,IP:1:2:3::4,DNS:web3.contoso.net" -outform DER -out inject.der 2>/dev/null
base64 -w0 inject.der > inject.b64in
printf 'this is not a certificate request!!' > garbage
head -c 70000 /dev/zero | tr '\0' 'A' > big
sleep 1.2 # the last commit's audit lines are out; nothing below may change the database
before=$(dump)
assert_eq "no credentials: 401" 401 "$(est simpleenroll r401a -H 'Content-Type: application/pkcs10' --data-binary @fe03.b64in)"
assert_eq "401 carries WWW-Authenticate: Basic realm=\"csca\"" 'Basic realm="csca"' "$(hdr r401a WWW-Authenticate)"
assert_eq "wrong password: 401" 401 "$(WHO=web01:wrong enroll r401b fe03.b64in)"
assert_eq "unknown account: 401" 401 "$(WHO=nobody:wrong enroll r401c fe03.b64in)"
# An account name that is not UTF-8 is refused and audited like any other.
lines=$(wc -l < "$H/audit.jsonl")
assert_eq "an account name that is not UTF-8: 401" 401 \
    "$(est simpleenroll r401u -H 'Content-Type: application/pkcs10' --data-binary @fe03.b64in \
       -H "Authorization: Basic $(printf 'zz\377zz:pw' | base64 -w0)")"
for _ in $(seq 1 50); do [ "$(wc -l < "$H/audit.jsonl")" -gt "$lines" ] && break; sleep 0.1; done
assert_eq "... and audited, the name escaped" 'refused zz\xFFzz' \
    "$(tail -n 1 "$H/audit.jsonl" | "$PY" -c 'import json,sys; e=json.load(sys.stdin); print(e["event"], e["actor"])')"
# Failed logins: 5 for one account from one address, then 429 for the rest
# of the minute (no PBKDF2 per guess); other accounts are not affected.
codes=""
for i in 1 2 3 4 5; do codes="$codes $(WHO=guesser:wrong$i enroll r401g fe03.b64in)"; done
assert_eq "5 wrong passwords for one account: 401 each" " 401 401 401 401 401" "$codes"
assert_eq "the 6th attempt: 429" 429 "$(WHO=guesser:wrong6 enroll r429 fe03.b64in)"
ra=$(hdr r429 Retry-After)
check "429 carries Retry-After in seconds, at most 60 ($ra)" test "${ra:-0}" -ge 1 -a "${ra:-0}" -le 60
assert_contains "429 body says why" "failed logins" "$(cat r429)"
assert_eq "another account is not locked out (wrong password: 401)" 401 "$(WHO=nobody2:wrong enroll r401h fe03.b64in)"
# Failed logins under 70 other names (more than the 64 pairs once tracked)
# must not unlock the locked one: a locked-out pair never gives way.
codes=$("$PY" - "$PORT" "$HOST" root.pem fe03.b64in <<'PYEOF'
import base64, http.client, ssl, sys
port, host, ca, body = sys.argv[1:5]
ctx = ssl.create_default_context(cafile=ca)
data = open(body, "rb").read()
seen = {}
for i in range(70):
    c = http.client.HTTPSConnection("127.0.0.1", int(port), context=ctx, timeout=20)
    c.sock = ctx.wrap_socket(__import__("socket").create_connection(("127.0.0.1", int(port))), server_hostname=host)
    a = "Basic " + base64.b64encode(("junk%d:x" % i).encode()).decode()
    c.request("POST", "/.well-known/est/simpleenroll", body=data,
              headers={"Content-Type": "application/pkcs10", "Authorization": a})
    r = c.getresponse(); r.read(); c.close()
    seen[r.status] = seen.get(r.status, 0) + 1
print(" ".join("%d:%d" % kv for kv in sorted(seen.items())))
PYEOF
)
assert_eq "70 other names, one failed login each: 401 each" "401:70" "$codes"
assert_eq "the locked pair is still locked: 429" 429 \
    "$(WHO="guesser:S3cret pass" enroll r429b fe03.b64in)"
# 12 wrong passwords at once for one name, on both workers: attempts are
# counted before the password hash, so exactly 5 are checked (401).
codes=$("$PY" - "$PORT" "$HOST" root.pem fe03.b64in <<'PYEOF'
import base64, http.client, socket, ssl, sys, threading
port, host, ca, body = sys.argv[1:5]
ctx = ssl.create_default_context(cafile=ca)
data = open(body, "rb").read()
seen = {}; lock = threading.Lock(); go = threading.Event()
def one(i):
    c = http.client.HTTPSConnection("127.0.0.1", int(port), context=ctx, timeout=30)
    c.sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(port))), server_hostname=host)
    go.wait(10)
    a = "Basic " + base64.b64encode(("racer:wrong%d" % i).encode()).decode()
    c.request("POST", "/.well-known/est/simpleenroll", body=data,
              headers={"Content-Type": "application/pkcs10", "Authorization": a})
    r = c.getresponse(); r.read(); c.close()
    with lock: seen[r.status] = seen.get(r.status, 0) + 1
th = [threading.Thread(target=one, args=(i,)) for i in range(12)]
for t in th: t.start()
go.set()
for t in th: t.join(30)
print(" ".join("%d:%d" % kv for kv in sorted(seen.items())))
PYEOF
)
assert_eq "12 parallel guesses for one name: 5 checked (401), 7 refused (429)" "401:5 429:7" "$codes"
assert_eq "no Enroll permission: 403" 403 "$(WHO="guest:S3cret pass" enroll r403a fe03.b64in)"
assert_contains "403 body names the template" "WebServer" "$(cat r403a)"
assert_eq "RSA-1024 key: 403" 403 "$(enroll r403b weak.b64in)"
assert_contains "403 body names the key size rule" "1024" "$(cat r403b)"
assert_eq "SAN outside the allowed domains: 403" 403 "$(EP=Contoso/simpleenroll enroll r403c evil.b64in)"
assert_contains "403 body names the SAN" "evil.fabrikam.com" "$(cat r403c)"
assert_contains "403 body is text/plain" "text/plain" "$(hdr r403c Content-Type)"
for ep in Contoso/simpleenroll simpleenroll; do
    assert_eq "a CN holding SAN syntax ($ep): 403" 403 "$(EP=$ep enroll r403d inject.b64in)"
    assert_contains "403 body names the CN ($ep)" "subject CN 'a,IP:1:2:3::4,DNS:web3.contoso.net' is not one" "$(cat r403d)"
done
assert_eq "garbage body: 400" 400 "$(enroll r400a garbage)"
printf '' > empty
assert_eq "empty body: 400" 400 "$(enroll r400b empty)"
assert_eq "unknown template: 404" 404 "$(EP=NoSuchTemplate/simpleenroll enroll r404a fe03.b64in)"
assert_eq "unknown EST path: 404" 404 "$(est serverkeygen r404b --user "web01:S3cret pass" -X POST)"
assert_eq "GET simpleenroll: 405" 405 "$(est simpleenroll r405a --user "web01:S3cret pass")"
assert_eq "POST cacerts: 405" 405 "$(est cacerts r405b -X POST --data-binary @fe03.b64in)"
assert_eq "70000-byte body: 413 (from Content-Length)" 413 "$(enroll r413 big -H 'Expect: 100-continue')"
assert_eq "70000-byte chunked body (no Content-Length): 413" 413 "$(enroll r413c big -H 'Transfer-Encoding: chunked')"
assert_eq "a 20000-byte header: 400" 400 \
    "$(enroll r400h fe03.b64in -H "X-Filler: $(head -c 20000 /dev/zero | tr '\0' a)")"
assert_eq "Content-Type text/plain: 415" 415 "$(CT=text/plain enroll r415 fe03.b64in)"
assert_eq "the CA database is unchanged by every refusal" "$before" "$(dump)"
assert_eq "refusals are audited" yes "$(grep -q '"event":"refused"' "$H/audit.jsonl" && echo yes || echo no)"

# ---- manual approval: 202 + Retry-After, issue, the same request gets 200 ----
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout man.key -subj "/CN=med01.contoso.net" \
    -outform DER -out man.der 2>/dev/null
base64 -w0 man.der > man.b64in
assert_eq "manual template: 202" 202 "$(EP=Manual/simpleenroll enroll man1 man.b64in)"
ra=$(hdr man1 Retry-After)
assert_eq "202 carries Retry-After in seconds" yes "$([[ "$ra" =~ ^[0-9]+$ ]] && echo yes || echo no)"
id=$(sed -n 's/^request \([0-9]*\) is pending.*/\1/p' man1)
assert_eq "the same request again: still 202" 202 "$(EP=Manual/simpleenroll enroll man2 man.b64in)"
# Spelled otherwise (template and account names are any case): the same request.
assert_eq "again as manual/ and WEB01: 202 naming the same request" "202 $id" \
    "$(EP=manual/simpleenroll WHO="WEB01:S3cret pass" enroll man2b man.b64in) $(sed -n 's/^request \([0-9]*\) is pending.*/\1/p' man2b)"
assert_eq "one queue entry for it" 1 "$(sqlite3 "$H/csca.db" "SELECT count(*) FROM requests WHERE subject LIKE '%med01%'")"
assert_eq "recorded with the template as the CA spells it" Manual "$(sqlite3 "$H/csca.db" "SELECT template FROM requests WHERE id=$id")"
check "csca request issue $id" csca request issue "$id"
assert_eq "the same request after issue, as manual/: 200" 200 "$(EP=manual/simpleenroll enroll man3 man.b64in)"
got man3
check "the approved certificate verifies" openssl verify -x509_strict -CAfile root.pem -untrusted sub.pem man3.pem
assert_eq "the approved certificate is the one in the database" \
    "$(sqlite3 "$H/csca.db" "SELECT serial FROM requests WHERE id=$id" | tr a-f A-F)" \
    "$(openssl x509 -in man3.pem -noout -serial | sed 's/serial=//')"

# A denied request: the same request then gets 403 with the reason.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout den.key -subj "/CN=den01.contoso.net" \
    -outform DER -out den.der 2>/dev/null
base64 -w0 den.der > den.b64in
assert_eq "another manual request: 202" 202 "$(EP=Manual/simpleenroll enroll den1 den.b64in)"
did=$(sed -n 's/^request \([0-9]*\) is pending.*/\1/p' den1)
check "csca request deny $did" csca request deny "$did" --reason "not a server of ours"
assert_eq "the same request after deny: 403" 403 "$(EP=Manual/simpleenroll enroll den2 den.b64in)"
assert_contains "403 after deny gives the reason" "not a server of ours" "$(cat den2)"

# ---- 64 concurrent enrollments ----
mkdir -p par
for i in $(seq 1 64); do
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout par/$i.key -subj "/CN=n$i.contoso.net" \
        -outform DER -out par/$i.der 2>/dev/null
    base64 -w0 par/$i.der > par/$i.b64in
done
n0=$(sqlite3 "$H/csca.db" "SELECT count(*) FROM certs")
export -f est enroll; export URL HOST PORT
seq 1 64 | xargs -P 64 -I{} bash -c 'C=(curl -sS --max-time 30 --cacert root.pem --resolve "$HOST:$PORT:127.0.0.1"); { enroll par/{}.b64 par/{}.b64in; echo; } > par/{}.code' 2>par.err
assert_eq "64 concurrent enrollments: all 200" "64" "$(cat par/*.code | grep -c '^200$')"
# Each client must get its own certificate: its name and its key. A
# mismatch names the client and what it got.
wrong=
for i in $(seq 1 64); do
    p7 par/$i.b64 par/$i.all >/dev/null
    pem_nth 1 par/$i.all > par/$i.pem
    openssl x509 -in par/$i.pem -noout -serial >> par.serials 2>/dev/null
    cn=$(openssl x509 -in par/$i.pem -noout -subject -nameopt multiline 2>&1 | sed -n 's/^ *commonName *= *//p')
    if [ "$cn" != "n$i.contoso.net" ] \
       || [ "$(openssl pkey -in par/$i.key -pubout)" != "$(openssl x509 -in par/$i.pem -noout -pubkey 2>&1)" ]; then
        wrong+=" client $i got [${cn:-$(head -c 300 par/$i.b64 | tr -d '\n')}] (code $(cat par/$i.code));"
    fi
done
assert_eq "64 concurrent enrollments: each client got its own certificate" "" "$wrong"
assert_eq "64 concurrent enrollments: 64 distinct serials" 64 "$(sort -u par.serials | grep -c serial=)"
assert_eq "64 new certificates in the database, serials unique" "$((n0 + 64)) $((n0 + 64))" \
    "$(sqlite3 "$H/csca.db" "SELECT count(*), count(DISTINCT serial) FROM certs" | tr '|' ' ')"

# ---- stalled clients do not block others ----
"$PY" - "$PORT" > stall.out 2>&1 <<'EOF' &
import socket, sys, time
ss = []
for i in range(6):                      # more stalled clients than workers
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")  # a ClientHello cut short
    ss.append(s)
print("stalled", flush=True)
time.sleep(4)
EOF
STALL=$!; _pids+=($STALL)
for _ in $(seq 1 50); do grep -q stalled stall.out && break; sleep 0.1; done
t0=$(date +%s%N)
code=$(est cacerts stall.b64)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
assert_eq "with 6 stalled handshakes, cacerts still 200" 200 "$code"
assert_eq "and fast (< 2000 ms; was $ms ms)" yes "$([ "$ms" -lt 2000 ] && echo yes || echo no)"
kill "$STALL" 2>/dev/null; wait "$STALL" 2>/dev/null

# ---- a client certificate instead of HTTP Basic (RFC 7030 3.3.2, 4.2.2) ----
FE01_SANS="subjectAltName=DNS:fe01.contoso.net,DNS:pool01.contoso.net,DNS:meet.contoso.com"
openssl req -new -newkey rsa:2048 -nodes -keyout re.key -subj "/CN=fe01.contoso.net" -addext "$FE01_SANS" \
    -outform DER -out re.der 2>/dev/null
base64 -w0 re.der > re.b64in
reenroll() { local o=$1 f=$2; shift 2
             est simplereenroll "$o" -H "Content-Type: application/pkcs10" --data-binary @"$f" "$@"; }
assert_eq "simplereenroll with its certificate and no password: 200" 200 \
    "$(reenroll re.b64 re.b64in --cert fe01.pem --key fe01.key)"
got re.b64
check "re-enrolled: openssl verify -x509_strict" openssl verify -x509_strict -CAfile root.pem -untrusted sub.pem re.b64.pem
assert_eq "re-enrolled: the same names, a new serial" "$(judge fe01.pem) new" \
    "$(judge re.b64.pem) $([ "$(openssl x509 -in re.b64.pem -noout -serial)" != "$(openssl x509 -in fe01.pem -noout -serial)" ] && echo new || echo same)"
RE_SN=$(openssl x509 -in re.b64.pem -noout -serial | cut -d= -f2)
assert_eq "re-enrolled: recorded for the certificate's account" web01 \
    "$(sqlite3 "$H/csca.db" "SELECT requester FROM certs WHERE serial='$RE_SN'")"
before=$(dump)
openssl req -new -newkey rsa:2048 -nodes -keyout other.key -subj "/CN=fe01.contoso.net" \
    -addext "$FE01_SANS,DNS:evil.contoso.net" -outform DER -out other.der 2>/dev/null
base64 -w0 other.der > other.b64in
assert_eq "client certificate, a name it does not carry: 403" 403 \
    "$(reenroll other.b64 other.b64in --cert fe01.pem --key fe01.key)"
assert_contains "403 names the name" "'evil.contoso.net' is not in the client certificate" "$(cat other.b64)"
openssl req -x509 -newkey rsa:2048 -nodes -keyout self.key -out self.pem -days 2 -subj "/CN=fe01.contoso.net" \
    -addext "$FE01_SANS" 2>/dev/null
assert_eq "a self-signed client certificate: 401" 401 "$(reenroll self.b64 re.b64in --cert self.pem --key self.key)"
assert_contains "401 says it does not verify against the CA" "does not verify against CA" "$(cat self.b64)"
openssl x509 -req -in <(openssl req -new -key self.key -subj "/CN=fe01.contoso.net" -addext "$FE01_SANS" 2>/dev/null) \
    -CA root.pem -CAkey root.key -CAcreateserial -days 2 -copy_extensions copy -out byroot.pem 2>/dev/null
assert_eq "a certificate of the parent CA, not this one's: 401" 401 \
    "$(reenroll byroot.b64 re.b64in --cert byroot.pem --key self.key)"
assert_contains "401: not one this CA issued" "is not one CA" "$(cat byroot.b64)"
assert_eq "403 and 401 for client certificates: the CA database unchanged" "$before" "$(dump)"
check "csca revoke the client certificate" csca revoke "$(openssl x509 -in fe01.pem -noout -serial | cut -d= -f2)" \
    --reason superseded
before=$(dump)
assert_eq "a revoked client certificate: 401" 401 "$(reenroll rev.b64 re.b64in --cert fe01.pem --key fe01.key)"
assert_contains "401 says it is revoked" "is revoked" "$(cat rev.b64)"
assert_eq "a revoked client certificate: the CA database unchanged" "$before" "$(dump)"

# ---- credentials are checked on every request, also on an open connection ----
# keepalive GO BODY1 BODY2 [USER:PASSWORD | CERT KEY]: two simplereenroll/
# simpleenroll POSTs on one TLS connection; prints the first status, waits
# (10 s at most) for the file GO, prints the second status and whether it
# went on the same connection.
keepalive() {
    "$PY" - "$PORT" "$HOST" root.pem "$@" <<'PYEOF'
import base64, http.client, os, socket, ssl, sys, time
port, host, ca, path, go, b1, b2 = sys.argv[1:8]
ctx = ssl.create_default_context(cafile=ca)
auth = None
if len(sys.argv) == 9:
    auth = "Basic " + base64.b64encode(sys.argv[8].encode()).decode()
elif len(sys.argv) == 10:
    ctx.load_cert_chain(sys.argv[8], sys.argv[9])
c = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=20)
c.sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(port))), server_hostname=host)
first = c.sock
def post(f):
    h = {"Content-Type": "application/pkcs10"}
    if auth:
        h["Authorization"] = auth
    c.request("POST", "/.well-known/est/" + path, body=open(f, "rb").read(), headers=h)
    r = c.getresponse()
    r.read()
    return r.status
print(post(b1), flush=True)
for _ in range(200):
    if os.path.exists(go):
        break
    time.sleep(0.05)
print(post(b2), "same connection" if c.sock is first else "another connection", flush=True)
PYEOF
}
ka_csr() { openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -subj "/CN=$2" \
               ${3:+-addext "$3"} -outform DER -out "$1.der" 2>/dev/null && base64 -w0 "$1.der" > "$1.b64in"; }
echo 'K33p pass' > kpw
echo 'N3w pass' > kpw2
check "account keep01 in $ADMINS" csca account add keep01 --group "$ADMINS" --password-file kpw
ka_csr kp1 kp1.contoso.net; ka_csr kp2 kp2.contoso.net; ka_csr kp3 kp3.contoso.net; ka_csr kp4 kp4.contoso.net
touch kp0.go
assert_eq "keep-alive, nothing changed: 200, then 200 on the same connection" "200|200 same connection" \
    "$(keepalive simpleenroll kp0.go kp3.b64in kp4.b64in "keep01:K33p pass" 2>&1 | paste -sd '|')"
keepalive simpleenroll kp.go kp1.b64in kp2.b64in "keep01:K33p pass" > kp.out 2>&1 &
KA=$!; _pids+=($KA)
for _ in $(seq 1 100); do [ -s kp.out ] && break; sleep 0.1; done
assert_eq "keep-alive: the first request with the password: 200" 200 "$(head -n 1 kp.out)"
check "csca account passwd keep01 (while the connection is open)" csca account passwd keep01 --password-file kpw2
touch kp.go; wait $KA
assert_eq "the old password on the same connection, after passwd: 401" "401 same connection" "$(sed -n 2p kp.out)"
# A client certificate revoked while its connection is open.
ka_csr kc1 fe01.contoso.net "$FE01_SANS"; ka_csr kc2 fe01.contoso.net "$FE01_SANS"
keepalive simplereenroll kc.go kc1.b64in kc2.b64in re.b64.pem re.key > kc.out 2>&1 &
KC=$!; _pids+=($KC)
for _ in $(seq 1 100); do [ -s kc.out ] && break; sleep 0.1; done
assert_eq "keep-alive: the first request with a client certificate: 200" 200 "$(head -n 1 kc.out)"
check "csca revoke that certificate (while the connection is open)" csca revoke "$RE_SN" --reason keyCompromise
touch kc.go; wait $KC
assert_eq "the revoked certificate on the same connection: 401" "401 same connection" "$(sed -n 2p kc.out)"

# ---- SIGHUP: a new TLS certificate; SIGTERM: stop ----
tls_serial() { echo | openssl s_client -connect 127.0.0.1:"$PORT" -servername "$HOST" 2>/dev/null | openssl x509 -noout -serial; }
s_before=$(tls_serial)
kill -HUP "$SERVE"
for _ in $(seq 1 100); do s_after=$(tls_serial); [ -n "$s_after" ] && [ "$s_after" != "$s_before" ] && break; sleep 0.1; done
assert_eq "SIGHUP re-issues the TLS certificate" yes "$([ -n "$s_after" ] && [ "$s_before" != "$s_after" ] && echo yes || echo no)"
ka_csr hup1 hup1.contoso.net
assert_eq "after SIGHUP, a new enrollment is signed" 200 "$(enroll hup1.b64 hup1.b64in)"
got hup1.b64
check "the certificate issued after SIGHUP verifies" openssl verify -x509_strict -CAfile root.pem -untrusted sub.pem hup1.b64.pem
kill -TERM "$SERVE"
for _ in $(seq 1 70); do kill -0 "$SERVE" 2>/dev/null || break; sleep 0.1; done
assert_eq "SIGTERM stops it" stopped "$(kill -0 "$SERVE" 2>/dev/null && echo running || echo stopped)"
wait "$SERVE"; rc=$?
assert_eq "exit status 0 after SIGTERM" 0 "$rc"
assert_eq "serve.pid removed" no "$([ -e "$H/serve.pid" ] && echo yes || echo no)"
assert_contains "log: one line per enrollment" "enroll 200 web01 WebServer" "$(cat serve.log)"
assert_contains "log: stopped" "stopped after" "$(tail -1 serve.log)"

# ---- out of file descriptors: no busy loop, and it recovers ----
# With 48 descriptors and 80 clients holding connections, accept() fails
# with EMFILE; libevent retried at once, forever (3.5 CPU-seconds in 3 s,
# 120 MB of warnings, before the fix).
EP2=$(free_port)
bg bash -c "ulimit -n 48; exec '$CSCA' --home '$H' serve --listen 127.0.0.1:$EP2 --workers 2 --foreground 2> emf.log"
ESRV=$LAST_PID
wait_port "$EP2"; sleep 0.3
cat > hold.py <<'PY'
import socket, sys, time
held = []
for i in range(80):
    try: held.append(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2))
    except OSError: pass
time.sleep(3)
print(len(held))
PY
t0=$(awk '{print $14+$15}' /proc/"$ESRV"/stat)
held=$("$PY" hold.py "$EP2")
t1=$(awk '{print $14+$15}' /proc/"$ESRV"/stat)
echo "# out of descriptors: $held connections held 3 s, server CPU $((t1 - t0)) ticks"
check "out of descriptors for 3 s: under 1 CPU-second ($((t1 - t0)) ticks)" test $((t1 - t0)) -lt 100
assert_eq "... and it serves again once they close" 200 "$(sleep 0.5; curl -sS --max-time 20 --cacert root.pem \
    --resolve "$HOST:$EP2:127.0.0.1" -o /dev/null -w '%{http_code}' "https://$HOST:$EP2/.well-known/est/cacerts")"
check "... without a flood of warnings ($(wc -c < emf.log) bytes of log)" test "$(wc -c < emf.log)" -lt 100000
kill "$ESRV" 2>/dev/null; wait "$ESRV" 2>/dev/null
done_testing
