#!/bin/bash
# tests/fuzz/make-seeds.sh [BUILD]: (re)make the starting inputs of each
# fuzz target in tests/fuzz/corpus/NAME/seed-* with openssl and csca. The
# corpus also keeps inputs that `make fuzz` found (any other name); this
# script touches only the seed-* files.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-build}
C="$ROOT/tests/fuzz/corpus"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"
for d in topology bundle est_csr est_reply text; do mkdir -p "$C/$d"; rm -f "$C/$d"/seed-*; done

# topology: the fixtures, and one with every optional key
cp "$ROOT/tests/fixtures/contoso.json" "$C/topology/seed-contoso.json"
cp "$ROOT/tests/fixtures/three-domains.json" "$C/topology/seed-three-domains.json"
cat > "$C/topology/seed-all-keys.json" <<'JSON'
{"sip_domains":["contoso.com","fabrikam.com"],"simple_urls":{"meet":["meet.contoso.com"],"dialin":"dialin.contoso.com","admin":"admin.contoso.com"},
"automatic_sign_in_domains":["contoso.com"],"office_web_apps":"owa.contoso.net",
"certification_authorities":[{"name":"dc01.contoso.net\\contoso-DC01-CA","url":"https://dc01.contoso.net:8443/","address":"127.0.0.1"}],
"sites":[{"name":"Redmond","pools":[
{"fqdn":"se01.contoso.net","role":"StandardEdition","servers":["se01.contoso.net"],"web_services":{"internal":"se01.contoso.net","external":"web.contoso.com"}},
{"fqdn":"edgepool01.contoso.net","role":"Edge","servers":["edge01.contoso.net","edge02.contoso.net"],"edge":{"access":"sip.contoso.com","webconf":"webconf.contoso.com","av":"av.contoso.com"},"xmpp_domains":["contoso.com"]},
{"fqdn":"med01.contoso.net","role":"Mediation","servers":["med01.contoso.net"]}]}]}
JSON

# A CA, a key, a request and its certificate
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
    -subj "/CN=Contoso Root" -days 30 -addext basicConstraints=critical,CA:TRUE 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key -subj "/CN=pool01.contoso.com" \
    -addext "subjectAltName=DNS:pool01.contoso.com,DNS:sip.contoso.com,DNS:*.contoso.com" -out leaf.csr 2>/dev/null
openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 10 -copy_extensions copy \
    -out leaf.pem 2>/dev/null

# bundle: each format cscert import reads, and two it refuses
cp leaf.pem "$C/bundle/seed-leaf.pem"
cat leaf.pem ca.pem > "$C/bundle/seed-chain.pem"
openssl x509 -in leaf.pem -outform DER -out "$C/bundle/seed-leaf.der"
openssl crl2pkcs7 -nocrl -certfile leaf.pem -certfile ca.pem -outform DER -out "$C/bundle/seed-chain.p7b"
openssl crl2pkcs7 -nocrl -certfile leaf.pem -certfile ca.pem -out "$C/bundle/seed-chain.p7b.pem"
openssl pkcs12 -export -inkey leaf.key -in leaf.pem -certfile ca.pem -passout pass:fuzz -name "pool01" \
    -out "$C/bundle/seed-leaf.pfx"
cp leaf.csr "$C/bundle/seed-request.csr"
printf 'not a certificate' > "$C/bundle/seed-garbage"

# est_csr: the bodies EST clients send
openssl req -in leaf.csr -outform DER -out leaf.der
base64 -w0 leaf.der > "$C/est_csr/seed-b64"
base64 -w64 leaf.der > "$C/est_csr/seed-b64-lines"
cp leaf.csr "$C/est_csr/seed-pem"
cp leaf.der "$C/est_csr/seed-der"
openssl req -new -newkey rsa:2048 -nodes -keyout rsa.key -subj "/O=Contoso/CN=web.contoso.com" \
    -addext "subjectAltName=DNS:web.contoso.com" -addext "basicConstraints=CA:FALSE" -outform DER -out rsa.der 2>/dev/null
base64 -w0 rsa.der > "$C/est_csr/seed-rsa-b64"
openssl req -new -key leaf.key -subj "/CN=a,IP:1:2:3::4,DNS:b.contoso.com" -outform DER -out inj.der 2>/dev/null
base64 -w0 inj.der > "$C/est_csr/seed-cn-injection"

# est_reply: first byte = status index (0: 200, 1: 202, 4: 403, ...)
CA_HOME=$T/csca
"$ROOT/$BUILD/bin/csca" --home "$CA_HOME" init --name 'ca.contoso.net\Seed' --key-type ec:P-256 >/dev/null
"$ROOT/$BUILD/bin/csca" --home "$CA_HOME" submit leaf.csr --template WebServer >/dev/null
"$ROOT/$BUILD/bin/csca" --home "$CA_HOME" retrieve 1 --out reply.p7b --format p7b >/dev/null
{ printf '\000'; base64 -w76 reply.p7b; } > "$C/est_reply/seed-200-b64"
{ printf '\000'; cat reply.p7b; } > "$C/est_reply/seed-200-der"
{ printf '\000'; openssl pkcs7 -inform DER -in reply.p7b; } > "$C/est_reply/seed-200-pem"
printf '\001120' > "$C/est_reply/seed-202-seconds"
printf '\001Wed, 21 Oct 2026 07:28:00 GMT' > "$C/est_reply/seed-202-date"
printf "\004no Enroll permission on template 'WebServer' (groups with Enroll: RTCUniversalServerAdmins)" \
    > "$C/est_reply/seed-403"
printf '\003bad credentials' > "$C/est_reply/seed-401"

# text: two strings split at the first NUL
printf 'Basic d2ViMDE6UzNjcmV0IHBhc3M=' > "$C/text/seed-basic"
printf '/.well-known/est/WebServer/simpleenroll' > "$C/text/seed-path"
printf '/.well-known/est/cacerts' > "$C/text/seed-path-cacerts"
printf 'Application/PKCS10; charset=x' > "$C/text/seed-media"
printf 'AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89' \
    > "$C/text/seed-fingerprint"
printf '\xe2\x80\x8e3a 4b 5c 6d 7e 8f 90 01 12 23 34 45 56 67 78 89 9a ab bc cd' > "$C/text/seed-thumbprint"
printf 'Pool01.Contoso.NET' > "$C/text/seed-fqdn"
printf 'Default, WebServicesInternal,webservicesexternal' > "$C/text/seed-uses"
printf 'rsa:2048' > "$C/text/seed-keytype"
printf 'ec:P-384' > "$C/text/seed-keytype-ec"
printf 'sha384' > "$C/text/seed-hash"
printf 'us' > "$C/text/seed-country"
printf '*.contoso.com\000pool01.contoso.com' > "$C/text/seed-domain-match"
echo "seeds written under $C"
