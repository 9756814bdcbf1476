#!/bin/bash
# The offline lifecycle end to end with an outside CA made here by openssl:
# publish, request --output, sign (openssl x509 -req -copy_extensions copy),
# import the root and the responses, set, get (every SAN), check, a
# certificate lacking a SAN (check exits 3 and names it), --roll, export
# and re-import on a second home. Judged by openssl verify, openssl pkcs12
# -info, certtool --p12-info and python3 cryptography. Each bad input row
# asserts its message and a byte-for-byte unchanged store.
. "$(dirname "$0")/lib.sh"

H1="$CSCERT_HOME"
H2="$T/home2"
cd "$T" || exit 1

cat > topo.json <<'JSON'
{
  "sip_domains": ["contoso.com", "fabrikam.com"],
  "simple_urls": { "meet": ["meet.contoso.com", "meet.fabrikam.com"],
                   "dialin": "dialin.contoso.com", "admin": "admin.contoso.com" },
  "automatic_sign_in_domains": ["contoso.com"],
  "certification_authorities": [
    { "name": "dc01.contoso.net\\contoso-DC01-CA", "url": "https://dc01.contoso.net:8443/", "address": "127.0.0.1" } ],
  "sites": [ { "name": "Redmond", "pools": [
    { "fqdn": "pool01.contoso.net", "role": "FrontEnd", "servers": ["fe01.contoso.net", "fe02.contoso.net"],
      "web_services": { "internal": "webpool01.contoso.net", "external": "webpool01.contoso.com" } },
    { "fqdn": "dir01.contoso.net", "role": "Director", "servers": ["dir01.contoso.net"],
      "web_services": { "internal": "dir01.contoso.net", "external": "webdir01.contoso.com" } },
    { "fqdn": "edgepool01.contoso.net", "role": "Edge", "servers": ["edge01.contoso.net"],
      "edge": { "access": "sip.contoso.com", "webconf": "webconf.contoso.com", "av": "av.contoso.com" } },
    { "fqdn": "med01.contoso.net", "role": "Mediation", "servers": ["med01.contoso.net"] } ] } ]
}
JSON

# ---- the outside CA: a root and an issuing CA, by openssl ----
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key -out root.pem \
    -subj "/CN=Contoso Test Root" -days 3650 -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ica.key -out ica.csr \
    -subj "/CN=Contoso Issuing CA" 2>/dev/null
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' > ica.ext
openssl x509 -req -in ica.csr -CA root.pem -CAkey root.key -CAcreateserial -days 1825 -extfile ica.ext \
    -out ica.pem 2>/dev/null
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\ncrlDistributionPoints=URI:http://pki.contoso.com/ica.crl\n' > leaf.ext
# sign CSR OUT [extra openssl x509 args]: what a public CA's "IIS" form does.
sign() { local csr=$1 out=$2; shift 2
         openssl x509 -req -in "$csr" -CA ica.pem -CAkey ica.key -CAcreateserial -days 365 \
             -copy_extensions copy -extfile leaf.ext -out "$out" "$@" 2>/dev/null; }
sha1() { openssl x509 -in "$1" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g'; }
sha256() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g'; }
sans() { "$PY" - "$1" <<'PY'
import sys
from cryptography import x509
c = x509.load_pem_x509_certificate(open(sys.argv[1], 'rb').read())
print("\n".join(c.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)))
PY
}
# store_state HOME: db_dump (lib.sh) plus cscert.db's own bytes; without
# audit.jsonl's line, since refusals are audited there by design.
store_state() { db_dump "$1" | grep -v ' audit.jsonl$'; sha256sum < "$1/cscert.db"; }
# unchanged DESC BEFORE: the store equals BEFORE, byte for byte.
unchanged() { assert_eq "$1: store unchanged" "$2" "$(store_state "$H1")"; }

check "openssl made the outside CA" openssl verify -CAfile root.pem ica.pem
check "publish the topology as fe01" "$CSCERT" topology publish topo.json --computer-fqdn fe01.contoso.net

# ---- requests (the lead's `cscert request --output`) ----
check "request the combined certificate" "$CSCERT" request --new \
    --type Default,WebServicesInternal,WebServicesExternal --output fe01.csr
check "request the OAuthTokenIssuer certificate" "$CSCERT" request --new --type OAuthTokenIssuer --output oauth.csr
check "the CA signs the combined request" sign fe01.csr fe01.cer
check "the CA signs the OAuth request" sign oauth.csr oauth.cer
openssl crl2pkcs7 -nocrl -certfile fe01.cer -certfile ica.pem -certfile root.pem -outform DER -out fe01.p7b
T_FE=$(sha1 fe01.cer)
T_OA=$(sha1 oauth.cer)
T_ROOT=$(sha1 root.pem)
T_ICA=$(sha1 ica.pem)

# ---- bad input before anything is trusted ----
head -c 700 /dev/urandom > garbage.bin
openssl x509 -in fe01.cer -outform DER | head -c 300 > truncated.der
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout stray.key -out stray.csr \
    -subj "/CN=stray.contoso.net" -addext "subjectAltName=DNS:stray.contoso.net" 2>/dev/null
sign stray.csr stray.cer
before=$(store_state "$H1")
expect_fail "garbage is refused, naming the formats tried" 1 "tried PEM" "$CSCERT" import garbage.bin
unchanged "garbage" "$before"
# A file name that is not UTF-8: refused, and the refusal is still audited.
cp garbage.bin "$(printf 'resp\377.cer')"
expect_fail "garbage under a name that is not UTF-8 is refused" 1 "tried PEM" "$CSCERT" import "$(printf 'resp\377.cer')"
assert_eq "... and audited, the name escaped" 'import refused resp\xFF.cer' \
    "$(tail -n 1 "$H1/audit.jsonl" | "$PY" -c 'import json,sys; e=json.load(sys.stdin); print(e["command"], e["outcome"], e["object"])')"
unchanged "garbage under a name that is not UTF-8" "$before"
expect_fail "truncated DER is called truncated" 1 "truncated DER" "$CSCERT" import truncated.der
unchanged "truncated DER" "$before"
expect_fail "a response for no pending key is refused" 1 "no pending request holds the private key" \
    "$CSCERT" import stray.cer
err=$("$CSCERT" import stray.cer 2>&1)
assert_contains "the refusal lists the pending requests" "pending requests:" "$err"
unchanged "response for no pending key" "$before"
expect_fail "a root is trusted only with --store Root" 1 "--store Root" "$CSCERT" import root.pem
unchanged "root without --store Root" "$before"
expect_fail "a CSR is not a response" 1 "certificate request" "$CSCERT" import fe01.csr
unchanged "CSR" "$before"
expect_fail "import without a file is a usage error" 2 "which file" "$CSCERT" import

# ---- import: root, response with chain, OAuth ----
out=$("$CSCERT" import root.pem --store Root 2>&1)
assert_contains "import --store Root prints the root's thumbprint" "$T_ROOT" "$out"
out=$("$CSCERT" import fe01.p7b 2>&1)
assert_contains "the .p7b response completes its request" "completes request" "$out"
assert_contains "import prints the leaf's thumbprint" "$T_FE" "$out"
case "$out" in *warning*) nok "a clean response gives no warning" "$out" ;; *) ok "a clean response gives no warning" ;; esac
out=$("$CSCERT" import fe01.p7b 2>&1)
assert_contains "importing twice is harmless and says so" "already in store My" "$out"
check "import the OAuth response (PEM)" "$CSCERT" import oauth.cer
list=$("$CSCERT" store list --json)
assert_eq "store list: root in Root" "Root" "$(echo "$list" | "$PY" -c "import json,sys; print([c['store'] for c in json.load(sys.stdin) if c['thumbprint']=='$T_ROOT'][0])")"
assert_eq "store list: the issuing CA went to CA" "CA" "$(echo "$list" | "$PY" -c "import json,sys; print([c['store'] for c in json.load(sys.stdin) if c['thumbprint']=='$T_ICA'][0])")"
assert_eq "store list: the leaf is in My with its key, not exportable" "My True False" \
    "$(echo "$list" | "$PY" -c "import json,sys; c=[c for c in json.load(sys.stdin) if c['thumbprint']=='$T_FE'][0]; print(c['store'], c['has_key'], c['exportable'])")"
check "no pending request is left" sh -c "'$CSCERT' request list | grep -q 'No pending requests'"

# ---- set, get, check ----
spaced=$(echo "$T_FE" | tr 'A-F' 'a-f' | sed 's/../& /g')
check "set the three uses (thumbprint in lower case with spaces)" "$CSCERT" set \
    --type "default, WebServicesInternal,webservicesexternal" --thumbprint "$spaced"
check "set OAuthTokenIssuer" "$CSCERT" set --type OAuthTokenIssuer --thumbprint "$T_OA"
get=$("$CSCERT" get --type WebServicesExternal)
missing=""
for n in $(sans fe01.cer); do
    echo "$get" | grep -qE "^(AlternativeNames)? *: $n\$" || missing="$missing $n"
done
assert_eq "get shows every SAN of the certificate, one a line" "" "$missing"
assert_contains "get shows the canonical use" "Use                : WebServicesExternal" "$get"
assert_contains "get shows the serial in upper-case hex" \
    "SerialNumber       : $(openssl x509 -in fe01.cer -noout -serial | sed 's/.*=//')" "$get"
"$CSCERT" get --json > get.json
check "get --json: dates RFC 3339 UTC, names complete, four uses" "$PY" - get.json fe01.cer <<'PY'
import json, re, sys
from cryptography import x509
a = json.load(open(sys.argv[1]))
c = x509.load_pem_x509_certificate(open(sys.argv[2], 'rb').read())
names = c.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
assert sorted(e["Use"] for e in a) == ["Default", "OAuthTokenIssuer", "WebServicesExternal", "WebServicesInternal"], a
for e in a:
    for k in ("NotBefore", "NotAfter"):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", e[k]), e[k]
    assert e["EffectiveDate"] is None and e["PreviousThumbprint"] is None
d = [e for e in a if e["Use"] == "Default"][0]
assert d["AlternativeNames"] == [n.lower() for n in names], (d["AlternativeNames"], names)
assert d["NotAfter"] == c.not_valid_after.strftime("%Y-%m-%dT%H:%M:%SZ")
PY
out=$("$CSCERT" check 2>&1); rc=$?
assert_eq "check is clean (exit 0)" "0" "$rc"
[ "$rc" = 0 ] || echo "$out" | sed 's/^/    # /'
show=$("$CSCERT" show "$T_FE")
assert_contains "show: SHA-256 as openssl computes it" "$(sha256 fe01.cer)" "$show"
assert_contains "show: the chain is trusted" "trusted (3 certificates" "$show"
assert_contains "show: CRL distribution point" "http://pki.contoso.com/ica.crl" "$show"
assert_contains "show: EKU" "serverAuth" "$show"
assert_eq "show: BasicConstraints of a leaf (no path length: nothing after it)" "BasicConstraints        : CA=false" \
    "$(grep '^BasicConstraints' <<<"$show")"
assert_eq "show: BasicConstraints of the root" "BasicConstraints        : CA=true" \
    "$("$CSCERT" show "$T_ROOT" | grep '^BasicConstraints')"
check "show --pem is the certificate" sh -c "'$CSCERT' show '$T_FE' --pem | openssl x509 -noout -fingerprint -sha1 | grep -q \$(echo '$T_FE' | sed 's/../&:/g; s/:\$//')"

# ---- a certificate lacking a SAN ----
check "request a WebServicesExternal certificate" "$CSCERT" request --new --type WebServicesExternal --output ext.csr
# The CA drops lyncdiscover.contoso.com: its own SAN list, not the request's.
"$PY" - ext.csr > drop.ext <<'PY'
import sys
from cryptography import x509
r = x509.load_pem_x509_csr(open(sys.argv[1], 'rb').read())
n = [x for x in r.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName) if x != "lyncdiscover.contoso.com"]
print("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth")
print("subjectAltName=" + ",".join("DNS:" + x for x in n))
PY
openssl x509 -req -in ext.csr -CA ica.pem -CAkey ica.key -CAcreateserial -days 365 -extfile drop.ext -out ext.cer 2>/dev/null
T_EXT=$(sha1 ext.cer)
out=$("$CSCERT" import ext.cer 2>&1)
assert_contains "import warns, naming the name the CA dropped" "dropped the requested name 'lyncdiscover.contoso.com'" "$out"
before=$(store_state "$H1")
expect_fail "set refuses a certificate lacking a required name, naming it" 1 "lyncdiscover.contoso.com" \
    "$CSCERT" set --type WebServicesExternal --thumbprint "$T_EXT"
err=$("$CSCERT" set --type WebServicesExternal --thumbprint "$T_EXT" 2>&1)
assert_contains "the refusal prints the request command that fixes it" "cscert request --new --type WebServicesExternal" "$err"
unchanged "set lacking a name" "$before"
out=$("$CSCERT" set --type WebServicesExternal --thumbprint "$T_EXT" --force 2>&1)
assert_contains "--force says so loudly" "FORCED" "$out"
assert_contains "--force is audited" '"outcome":"forced"' "$(cat "$H1/audit.jsonl")"
before=$(store_state "$H1")
out=$("$CSCERT" check 2>&1); rc=$?
assert_eq "check finds the missing name (exit 3)" "3" "$rc"
assert_contains "check names the missing SAN" "lacks the name 'lyncdiscover.contoso.com'" "$out"
assert_contains "check prints the fixing command (a renewal: it keeps the names the certificate has)" \
    "cscert request --renew --type WebServicesExternal" "$out"
"$CSCERT" check --json > check.json
check "check --json lists a missing-name finding for lyncdiscover.contoso.com" "$PY" -c "
import json; d = json.load(open('check.json'))
assert d['clean'] is False
f = [x for x in d['findings'] if x['kind'] == 'missing-name']
assert [x['name'] for x in f] == ['lyncdiscover.contoso.com'], f
assert f[0]['use'] == 'WebServicesExternal' and f[0]['fix'].startswith('cscert request --renew')"
unchanged "check changes nothing" "$before"

# ---- several uses over separate certificates ----
expect_fail "several uses over separate certificates need --force" 1 "separate certificates" \
    "$CSCERT" set --type Default,WebServicesExternal --thumbprint "$T_FE"
unchanged "set over separate certificates" "$before"
check "set --force puts the combined certificate back" "$CSCERT" set --type Default,WebServicesExternal \
    --thumbprint "$T_FE" --force
out=$("$CSCERT" check 2>&1); rc=$?
assert_eq "check is clean again" "0" "$rc"
# The issuing CA (1825 days) falls inside a 1900-day horizon: named once.
out=$("$CSCERT" check --warn-days 1900 2>&1); rc=$?
assert_eq "check --warn-days 1900: the issuing CA expires inside it (exit 3)" "3" "$rc"
assert_contains "check names the issuing CA by thumbprint and subject" \
    "the CA certificate $T_ICA ('CN=Contoso Issuing CA', in CA) expires on" "$out"
check "check --json: one ca-expiring warning for the ICA, over every use below it" "$PY" -c "
import json, subprocess
d = json.loads(subprocess.run(['$CSCERT', 'check', '--json', '--warn-days', '1900'], capture_output=True).stdout)
f = [x for x in d['findings'] if x['kind'] == 'ca-expiring']
assert len(f) == 1 and f[0]['thumbprint'] == '$T_ICA' and f[0]['severity'] == 'warning', f
assert sorted(f[0]['use'].split(',')) == ['Default', 'OAuthTokenIssuer', 'WebServicesExternal', 'WebServicesInternal'], f
assert 'cscert import NEW-CA.cer' in f[0]['fix'], f"

# ---- bad set rows ----
cat > expired.py <<'PY'
import datetime, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
csr = x509.load_pem_x509_csr(open(sys.argv[1], 'rb').read())
ca = x509.load_pem_x509_certificate(open("ica.pem", 'rb').read())
key = serialization.load_pem_private_key(open("ica.key", 'rb').read(), None)
now = datetime.datetime.utcnow()
b = (x509.CertificateBuilder().subject_name(csr.subject).issuer_name(ca.subject)
     .public_key(csr.public_key()).serial_number(x509.random_serial_number())
     .not_valid_before(now - datetime.timedelta(days=400)).not_valid_after(now - datetime.timedelta(days=1)))
for e in csr.extensions:
    b = b.add_extension(e.value, e.critical)
open(sys.argv[2], 'wb').write(b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
PY
check "request a certificate the CA will issue expired" "$CSCERT" request --new --type Default --output exp.csr
"$PY" expired.py exp.csr exp.cer
out=$("$CSCERT" import exp.cer 2>&1)
assert_contains "import warns about an expired certificate" "expired on" "$out"
T_EXP=$(sha1 exp.cer)
before=$(store_state "$H1")
expect_fail "set refuses an expired certificate" 1 "expired" "$CSCERT" set --type Default --thumbprint "$T_EXP"
unchanged "set expired" "$before"
expect_fail "set refuses an unknown thumbprint" 1 "0123456789ABCDEF0123456789ABCDEF01234567" \
    "$CSCERT" set --type Default --thumbprint 0123456789abcdef0123456789abcdef01234567
unchanged "unknown thumbprint" "$before"
expect_fail "set refuses an unknown use, naming it" 1 "Bogus" "$CSCERT" set --type Default,Bogus --thumbprint "$T_FE"
unchanged "unknown use" "$before"
expect_fail "set refuses ReverseProxy (never assigned)" 1 "ReverseProxy" "$CSCERT" set --type ReverseProxy --thumbprint "$T_FE"
expect_fail "set refuses an Edge use on a Front End" 1 "AccessEdgeExternal" \
    "$CSCERT" set --type AccessEdgeExternal --thumbprint "$T_FE"
expect_fail "set refuses a Root certificate" 1 "Root" "$CSCERT" set --type Default --thumbprint "$T_ROOT"
unchanged "bad set rows" "$before"
expect_fail "show an unknown thumbprint" 1 "0123456789ABCDEF0123456789ABCDEF01234567" \
    "$CSCERT" show 0123456789ABCDEF0123456789ABCDEF01234567
expect_fail "remove-cert refuses an assigned certificate, naming its uses" 1 "Default" "$CSCERT" remove-cert "$T_FE"
unchanged "remove-cert assigned" "$before"
# A key made non-exportable stays so: the response is refused with
# --private-key-exportable (the PFX export would otherwise carry the key).
check "request a non-exportable key (offline)" "$CSCERT" request --new --type Default --output ne.csr
sign ne.csr ne.cer
before=$(store_state "$H1")
expect_fail "import --private-key-exportable of a non-exportable request's response: refused" 1 \
    "was made non-exportable, and stays so" "$CSCERT" import ne.cer --private-key-exportable
unchanged "import --private-key-exportable refused" "$before"
NEID=$("$CSCERT" request list --json | "$PY" -c 'import json,sys; print([r["id"] for r in json.load(sys.stdin) if (r["output"] or "").endswith("ne.csr")][0])')
check "cancel that request" "$CSCERT" request cancel "$NEID"
before=$(store_state "$H1")

# ---- --roll ----
check "request a second OAuth certificate" "$CSCERT" request --new --type OAuthTokenIssuer --output oauth2.csr
sign oauth2.csr oauth2.cer
T_OA2=$(sha1 oauth2.cer)
check "import it" "$CSCERT" import oauth2.cer
check "set --roll with an effective date" "$CSCERT" set --type OAuthTokenIssuer --thumbprint "$T_OA2" \
    --roll --effective-date 2030-01-02T03:04:05+01:00
get=$("$CSCERT" get --type oauthtokenissuer)
assert_contains "get: EffectiveDate in UTC" "EffectiveDate      : 2030-01-02T02:04:05Z" "$get"
assert_contains "get: PreviousThumbprint" "PreviousThumbprint : $T_OA" "$get"
expect_fail "--roll needs --effective-date" 2 "--effective-date" "$CSCERT" set --type OAuthTokenIssuer --thumbprint "$T_OA2" --roll
# Until the effective date the previous certificate is in force: it cannot be
# deleted, check judges it, and its expiry before the date is a gap.
expect_fail "remove-cert refuses the certificate in force until the roll" 1 "still serves OAuthTokenIssuer" \
    "$CSCERT" remove-cert "$T_OA"
cj=$("$CSCERT" check --json)
assert_eq "check: a roll gap (the one in force expires before 2030)" "roll-gap $T_OA" \
    "$("$PY" -c 'import json,sys; print(" ".join(f["kind"]+" "+f["thumbprint"] for f in json.load(sys.stdin)["findings"] if f["kind"]=="roll-gap"))' <<<"$cj")"
assert_contains "check: the gap names the staged certificate and the fix" "before the staged $T_OA2 takes over at 2030-01-02T02:04:05Z" \
    "$("$CSCERT" check 2>&1)"
soon=$(date -u -d '+2 days' +%Y-%m-%dT%H:%M:%SZ)
check "stage it before the old one expires" "$CSCERT" set --type OAuthTokenIssuer --thumbprint "$T_OA2" \
    --roll --effective-date "$soon"
assert_eq "check: no roll gap then" "" \
    "$("$CSCERT" check --json | "$PY" -c 'import json,sys; print(" ".join(f["kind"] for f in json.load(sys.stdin)["findings"] if f["kind"]=="roll-gap"))')"
assert_contains "get: still the same previous one" "PreviousThumbprint : $T_OA" "$("$CSCERT" get --type OAuthTokenIssuer)"
assert_contains "get: InForce names the previous one while staged" "InForce            : $T_OA (staged roll" \
    "$("$CSCERT" get --type OAuthTokenIssuer)"
assert_eq "get --json: InForce" "$T_OA" \
    "$("$CSCERT" get --type OAuthTokenIssuer --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["InForce"])')"
before=$(store_state "$H1")
expect_fail "remove --previous while the roll is staged: refused, naming the date" 1 "is in force until $soon" \
    "$CSCERT" remove --type OAuthTokenIssuer --previous
unchanged "remove --previous refused" "$before"
# The roll takes effect (a date already past): the previous one may go.
check "stage with a date already past: in force at once" "$CSCERT" set --type OAuthTokenIssuer \
    --thumbprint "$T_OA2" --roll --effective-date 2020-01-01
assert_eq "get --json: the new one in force, the old one previous" "$T_OA2 $T_OA" \
    "$("$CSCERT" get --type OAuthTokenIssuer --json | "$PY" -c 'import json,sys; e=json.load(sys.stdin)[0]; print(e["InForce"], e["PreviousThumbprint"])')"
check "remove --previous after the date (Remove-CsCertificate -Previous)" "$CSCERT" remove --type OAuthTokenIssuer --previous
assert_eq "get --json: no previous, the assignment kept" "$T_OA2 None" \
    "$("$CSCERT" get --type OAuthTokenIssuer --json | "$PY" -c 'import json,sys; e=json.load(sys.stdin)[0]; print(e["Thumbprint"], e["PreviousThumbprint"])')"
expect_fail "remove --previous with none left" 1 "no previous certificate" "$CSCERT" remove --type OAuthTokenIssuer --previous
expect_fail "a bad effective date is named" 1 "2030-13-45" "$CSCERT" set --type OAuthTokenIssuer \
    --thumbprint "$T_OA2" --roll --effective-date 2030-13-45

# ---- export ----
echo "Exp0rt-pass" > pw
echo "not-the-password" > badpw
before=$(store_state "$H1")
expect_fail "export of a non-exportable key is refused, naming the flag" 1 "--private-key-exportable" \
    "$CSCERT" export --thumbprint "$T_FE" --path fe01.pfx --password-file pw
[ -e fe01.pfx ] && nok "no file is left behind" || ok "no file is left behind"
unchanged "export refused" "$before"
check "export the OAuth certificate (R12: exportable) as PKCS#12" "$CSCERT" export --thumbprint "$T_OA" \
    --path oauth.pfx --password-file pw
assert_eq "the PKCS#12 file is mode 0600" "600" "$(stat -c %a oauth.pfx)"
expect_fail "export never overwrites" 1 "exists" "$CSCERT" export --thumbprint "$T_OA" --path oauth.pfx --password-file pw
info=$(openssl pkcs12 -in oauth.pfx -info -noout -passin file:pw 2>&1)
assert_contains "openssl pkcs12 -info: the key is AES-256-CBC" "Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC" "$info"
assert_contains "openssl pkcs12 -info: the certificates are AES-256-CBC" "PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC" "$info"
assert_contains "openssl pkcs12 -info: MAC is sha256" "MAC: sha256" "$info"
case "$info" in *RC2*|*3DES*|*TripleDES*) nok "no RC2/3DES in the PKCS#12" "$info" ;; *) ok "no RC2/3DES in the PKCS#12" ;; esac
check "certtool --p12-info reads it with the password" certtool --p12-info --inder --infile oauth.pfx \
    --password "Exp0rt-pass"
check "python cryptography loads key, certificate and chain" "$PY" -c "
from cryptography.hazmat.primitives.serialization import pkcs12
k, c, extra = pkcs12.load_key_and_certificates(open('oauth.pfx','rb').read(), b'Exp0rt-pass')
assert k is not None and c is not None
assert k.public_key().public_numbers() == c.public_key().public_numbers()
assert len(extra) == 2, extra"
check "export --format pem: certificate and chain, no key" "$CSCERT" export --thumbprint "$T_FE" --path fe01-chain.pem --format pem
check "openssl verify accepts the PEM chain" openssl verify -CAfile root.pem -untrusted fe01-chain.pem fe01-chain.pem
check "certtool --verify-chain accepts the PEM chain" certtool --verify-chain --infile fe01-chain.pem
check "the PEM export holds no key" sh -c "! grep -q 'PRIVATE KEY' fe01-chain.pem"

# ---- re-import on a second home ----
"$CSCERT" --home "$H2" store list >/dev/null
before2=$(store_state "$H2")
expect_fail "a wrong PFX password is refused" 1 "wrong password" "$CSCERT" --home "$H2" import oauth.pfx --password-file badpw
assert_eq "wrong password: second store unchanged" "$before2" "$(store_state "$H2")"
expect_fail "a PFX without --password-file asks for one" 1 "--password-file" "$CSCERT" --home "$H2" import oauth.pfx
out=$("$CSCERT" --home "$H2" import oauth.pfx --password-file pw 2>&1)
assert_contains "the PFX imports on the second home with its thumbprint" "$T_OA" "$out"
assert_contains "its key came along, not exportable without the flag" "private key not exportable" "$out"
expect_fail "the re-imported key is not exportable from the second home" 1 "--private-key-exportable" \
    "$CSCERT" --home "$H2" export --thumbprint "$T_OA" --path again.pfx --password-file pw
assert_eq "the chain came along: the root is left out, the ICA went to CA" "CA" \
    "$("$CSCERT" --home "$H2" store list --json | "$PY" -c "import json,sys; print(' '.join(c['store'] for c in json.load(sys.stdin) if c['thumbprint']=='$T_ICA'))")"

# ---- remove, remove-cert, check after ----
check "remove WebServicesExternal" "$CSCERT" remove --type webservicesexternal
expect_fail "remove an unassigned use" 1 "WebServicesExternal" "$CSCERT" remove --type WebServicesExternal
out=$("$CSCERT" check 2>&1); rc=$?
assert_eq "check after remove exits 3" "3" "$rc"
assert_contains "check names the unassigned use" "no certificate is assigned to WebServicesExternal" "$out"
check "remove-cert deletes an unassigned certificate" "$CSCERT" remove-cert "$T_EXT"
expect_fail "it is gone" 1 "$T_EXT" "$CSCERT" show "$T_EXT"

# ---- an expired intermediate in the chain of a valid certificate ----
cat > oldca.py <<'PY'
import datetime
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
root = x509.load_pem_x509_certificate(open("root.pem", "rb").read())
rkey = serialization.load_pem_private_key(open("root.key", "rb").read(), None)
key = ec.generate_private_key(ec.SECP256R1())
now = datetime.datetime.utcnow()
c = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Contoso Old Issuing CA")]))
     .issuer_name(root.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
     .not_valid_before(now - datetime.timedelta(days=800)).not_valid_after(now - datetime.timedelta(days=2))
     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
     .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
     .sign(rkey, hashes.SHA256()))
open("oldca.pem", "wb").write(c.public_bytes(serialization.Encoding.PEM))
open("oldca.key", "wb").write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()))
PY
"$PY" oldca.py
T_OLDCA=$(sha1 oldca.pem)
check "request a WebServicesExternal certificate again" "$CSCERT" request --new --type WebServicesExternal --output ext2.csr
# A leaf valid today, issued (copying the request's names) by the CA that expired two days ago.
sed 's/"ica.pem"/"oldca.pem"/; s/"ica.key"/"oldca.key"/; s/not_valid_after(now - datetime.timedelta(days=1))/not_valid_after(now + datetime.timedelta(days=300))/; s/days=400/days=1/' \
    expired.py > byoldca.py
"$PY" byoldca.py ext2.csr ext2.cer
cat ext2.cer oldca.pem > ext2-chain.pem
T_EXT2=$(sha1 ext2.cer)
check "import the response with its expired issuing CA" "$CSCERT" import ext2-chain.pem
check "assign it to WebServicesExternal (--force)" "$CSCERT" set --type WebServicesExternal --thumbprint "$T_EXT2" --force
before=$(store_state "$H1")
out=$("$CSCERT" check 2>&1); rc=$?
assert_eq "check: an expired intermediate exits 3" "3" "$rc"
assert_contains "check names the expired intermediate, its subject and the leaf" \
    "the CA certificate $T_OLDCA ('CN=Contoso Old Issuing CA', in CA) expired on" "$out"
assert_contains "... and the certificate whose chain goes through it" "the chain of $T_EXT2 goes through it" "$out"
case "$out" in *"$T_EXT2 expired"*) nok "the leaf itself is not called expired" "$out" ;; *) ok "the leaf itself is not called expired" ;; esac
assert_eq "check --json: one ca-expired error, for WebServicesExternal" "ca-expired error WebServicesExternal $T_OLDCA" \
    "$("$CSCERT" check --json | "$PY" -c 'import json,sys; print(" ".join(" ".join((x["kind"], x["severity"], x["use"], x["thumbprint"])) for x in json.load(sys.stdin)["findings"] if x["kind"].startswith("ca-")))')"
unchanged "check with an expired intermediate changes nothing" "$before"

# ---- set and remove-cert of one certificate at once, in two processes ----
# Either may win; never both (an assignment to a deleted certificate).
both=0
for i in $(seq 1 12); do
    "$CSCERT" store list --json | grep -q "$T_OA" || "$CSCERT" import oauth.pfx --password-file pw --private-key-exportable >/dev/null
    "$CSCERT" set --type OAuthTokenIssuer --thumbprint "$T_OA2" >/dev/null 2>&1 # T_OA unassigned again
    "$CSCERT" set --type OAuthTokenIssuer --thumbprint "$T_OA" >/dev/null 2>&1 & s=$!
    "$CSCERT" remove-cert "$T_OA" >/dev/null 2>&1 & r=$!
    wait $s; rs=$?; wait $r; rr=$?
    [ "$rs" = 0 ] && [ "$rr" = 0 ] && both=$((both + 1))
done
assert_eq "set and remove-cert racing 12 times: never both succeed" 0 "$both"
assert_eq "the assignment never points at a missing certificate" "" \
    "$("$CSCERT" check --json | "$PY" -c 'import json,sys; print(" ".join(f["kind"] for f in json.load(sys.stdin)["findings"] if f["kind"]=="missing-certificate"))')"

done_testing
