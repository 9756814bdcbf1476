#!/bin/bash
# csca offline end to end: init (RSA, EC, encrypted key), templates, grants,
# accounts, offline submit/retrieve of requests made by cscert, openssl req
# and GnuTLS certtool, manual approval, denial, policy refusals that leave
# csca.db unchanged, revocation and the CRL, the audit log. Judged by
# openssl, certtool and python3 cryptography.
. "$(dirname "$0")/lib.sh"

H="$T/ca"
ca() { "$CSCA" --home "$H" "$@"; }
# ca_dump: the CA database's content and the home's files (the audit log,
# which records refusals, and the WAL files aside).
ca_dump() { sqlite3 "$H/csca.db" .dump 2>/dev/null; ls -l --time-style=+ "$H" | grep -v -e '^total' -e audit.jsonl -e '-wal$' -e '-shm$' | awk '{print $1, $5, $NF}'; }
cd "$T" || exit 1

# A Python judge of an issued certificate: the request, the leaf, the CA.
cat > judge.py <<'PY'
import sys
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
req = x509.load_pem_x509_csr(open(sys.argv[1], 'rb').read())
leaf = x509.load_pem_x509_certificate(open(sys.argv[2], 'rb').read())
ca = x509.load_pem_x509_certificate(open(sys.argv[3], 'rb').read())
def sans(o):
    try:
        return o.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        return []
out = []
out.append("sans_equal" if sorted(sans(req)) == sorted(sans(leaf)) else "sans_differ %s %s" % (sans(req), sans(leaf)))
eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
out.append("eku_server" if ExtendedKeyUsageOID.SERVER_AUTH in list(eku) else "eku_missing")
try:
    bc = leaf.extensions.get_extension_for_class(x509.BasicConstraints).value
    out.append("ca_flag" if bc.ca else "no_ca")
except x509.ExtensionNotFound:
    out.append("no_ca")
aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
out.append("aki_ok" if aki == ski else "aki_bad")
leaf.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
out.append("serial_ok" if 0 < leaf.serial_number < 2**127 and leaf.serial_number.bit_length() > 64 else "serial_bad %x" % leaf.serial_number)
out.append("within_ca" if leaf.not_valid_after <= ca.not_valid_after else "outlives_ca")
spki = lambda k: k.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
out.append("key_match" if spki(leaf.public_key()) == spki(req.public_key()) else "key_differs")
print(" ".join(out))
PY
JUDGE_OK="sans_equal eku_server no_ca aki_ok serial_ok within_ca key_match"

# judge_issued NAME CSR P7 [der]: split the PKCS#7, verify with openssl,
# certtool and python.
judge_issued() {
    local name=$1 csr=$2 p7=$3 inform=${4:-PEM}
    openssl pkcs7 -inform "$inform" -in "$p7" -print_certs -out "$name.chain.pem" 2>/dev/null
    openssl x509 -in "$name.chain.pem" -out "$name.leaf.pem" 2>/dev/null
    check "$name: openssl verify -x509_strict against the root" \
        openssl verify -x509_strict -CAfile "$ROOT_PEM" "$name.leaf.pem"
    check "$name: certtool --verify-chain" sh -c "certtool --verify-chain --infile '$name.chain.pem' | grep -q 'Chain verification output: Verified'"
    assert_eq "$name: python judge (SANs, EKU, no CA, AKI, serial, notAfter, key)" "$JUDGE_OK" \
        "$("$PY" judge.py "$csr" "$name.leaf.pem" "$ROOT_PEM" 2>&1)"
}

# ---- usage, help ----
expect_fail "no command is a usage error" 2 "usage" "$CSCA"
expect_fail "an unknown command exits 2" 2 "not a csca command" "$CSCA" frobnicate
bad=""
for c in "" init install-cert show cacerts template "template add" "template set" "template list" \
         "template show" "template remove" "template grant" "template revoke-grant" account "account add" \
         "account list" "account remove" "account passwd" "account set" group "group list" request \
         "request list" "request issue" "request deny" "request show" submit retrieve revoke crl \
         issued "issued list" log serve; do
    # shellcheck disable=SC2086
    "$CSCA" --home "$T/nohome" $c --help >/dev/null 2>&1 || bad="$bad [$c]"
done
assert_eq "--help on every command and subcommand exits 0" "" "$bad"
assert_contains "--help names CSCA_KEY_PASSWORD_FILE" "CSCA_KEY_PASSWORD_FILE" "$("$CSCA" --help)"
expect_fail "a command without a CA names csca init" 1 "csca init" "$CSCA" --home "$T/nohome" show
expect_fail "init without --name is a usage error" 2 "--name" ca init
expect_fail "a bad --validity is a usage error (2)" 2 "not a validity" ca init --name 'ca.contoso.com\Contoso CA' --validity 3x

# ---- init (RSA) ----
out=$(ca init --name 'ca.contoso.com\Contoso Issuing CA' --key-type rsa:2048 --validity 5y 2>&1)
rc=$?
assert_eq "init an RSA CA" "0" "$rc"
ROOT_PEM="$H/ca.pem"
fp=$(openssl x509 -in "$ROOT_PEM" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g')
assert_contains "init prints the root's SHA-256 fingerprint" "$fp" "$out"
assert_contains "init says what to do next" "cscert ca trust" "$out"
txt=$(openssl x509 -in "$ROOT_PEM" -noout -text)
assert_contains "root: CA:TRUE, critical" "Basic Constraints: critical
                CA:TRUE" "$txt"
assert_contains "root: keyCertSign + cRLSign" "Certificate Sign, CRL Sign" "$txt"
assert_contains "root: SKI" "Subject Key Identifier" "$txt"
check "root: self-signed, openssl verify" openssl verify -x509_strict -CAfile "$ROOT_PEM" "$ROOT_PEM"
py=$("$PY" - "$ROOT_PEM" <<'PY'
import sys, datetime
from cryptography import x509
c = x509.load_pem_x509_certificate(open(sys.argv[1], 'rb').read())
bc = c.extensions.get_extension_for_class(x509.BasicConstraints)
ku = c.extensions.get_extension_for_class(x509.KeyUsage).value
c.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
days = (c.not_valid_after - c.not_valid_before).days
print(bc.critical, bc.value.ca, ku.key_cert_sign, ku.crl_sign, c.public_key().key_size, 1820 <= days <= 1830)
PY
)
assert_eq "python: BC critical CA, keyCertSign, cRLSign, RSA 2048, 5 years" "True True True True 2048 True" "$py"
assert_eq "CA key is 0600" "600" "$(stat -c %a "$H/ca.key")"
assert_eq "CA home is 0700" "700" "$(stat -c %a "$H")"
assert_contains "show names the CA" 'ca.contoso.com\Contoso Issuing CA' "$(ca show 2>&1)"
assert_eq "show --json: fingerprint" "$fp" "$(ca show --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["root_fingerprint_sha256"])')"
before=$(ca_dump; sha256sum "$H/ca.key" "$ROOT_PEM")
expect_fail "init twice is refused" 1 "already" ca init --name 'ca.contoso.com\Other' --key-type rsa:2048
assert_eq "init twice changed nothing" "$before" "$(ca_dump; sha256sum "$H/ca.key" "$ROOT_PEM")"
check "cacerts --out (PEM PKCS#7)" ca cacerts --out cacerts.p7
check "cacerts holds the root" sh -c "openssl pkcs7 -in cacerts.p7 -print_certs | grep -q 'Contoso Issuing CA'"

# ---- templates, accounts, groups ----
check "template add Lync" ca template add Lync --validity 365d --eku serverAuth,clientAuth --min-key-size 2048 \
    --hash sha256,sha384 --allowed-domains '*.contoso.com,*.contoso.net,*.fabrikam.com,contoso.com' --approval auto
check "template add Narrow (only *.contoso.com)" ca template add Narrow --allowed-domains '*.contoso.com'
check "template add Manual (manual approval)" ca template add Manual --approval manual
check "template set Lync --validity 1y" ca template set Lync --validity 1y
j=$(ca template show Lync --json)
assert_eq "template show --json reflects add and set" "365 auto 2 sha256,sha384" \
    "$(echo "$j" | "$PY" -c 'import json,sys; t=json.load(sys.stdin); print(t["validity_days"], t["approval"], len(t["eku"]), ",".join(t["hashes"]))')"
assert_contains "template list shows WebServer" "WebServer" "$(ca template list)"
expect_fail "template set on a missing template" 1 "Nope" ca template set Nope --validity 10d
expect_fail "template add twice" 1 "Lync" ca template add Lync
# A flag's bad value is a usage error (DESIGN: 2), naming the flag; nothing changes.
tdump=$(ca_dump)
expect_fail "template set --validity 0: usage error" 2 "--validity: '0'" ca template set Lync --validity 0
expect_fail "template add --eku codeSigning: usage error" 2 "--eku" ca template add Odd --eku codeSigning
expect_fail "template set --min-key-size 512: usage error" 2 "--min-key-size: '512'" ca template set Lync --min-key-size 512
expect_fail "template set --min-ec-bits x: usage error" 2 "--min-ec-bits: 'x'" ca template set Lync --min-ec-bits x
assert_eq "the templates are unchanged by the refused values" "$tdump" \
    "$(ca_dump)"
expect_fail "grant without --enroll is a usage error" 2 "--enroll" ca template grant WebServer --group RTCUniversalServerAdmins
check "template grant WebServer --enroll" ca template grant WebServer --group RTCUniversalServerAdmins --enroll
check "template grant Lync --enroll" ca template grant Lync --group RTCComponentUniversalServices --enroll
check "template revoke-grant" ca template revoke-grant Lync --group RTCComponentUniversalServices
assert_eq "the grant shows in template show --json" "RTCUniversalServerAdmins" \
    "$(ca template show WebServer --json | "$PY" -c 'import json,sys; print(",".join(json.load(sys.stdin)["enroll_groups"]))')"
printf 'S3cret-pass\n' > pw
check "account add" ca account add lyncadmin --group RTCUniversalServerAdmins,DomainAdmins --password-file pw
expect_fail "account add without a password file" 2 "--password-file" ca account add other --group G
aj=$(ca account list --json)
assert_eq "account list --json: groups, no hash" "lyncadmin RTCUniversalServerAdmins,DomainAdmins False" \
    "$(echo "$aj" | "$PY" -c 'import json,sys; a=json.load(sys.stdin)[0]; print(a["name"], ",".join(a["groups"]), "hash" in json.dumps(a).lower() and "pbkdf2" in json.dumps(a))')"
check "account passwd (password from stdin)" sh -c "printf 'N3w-pass\n' | '$CSCA' --home '$H' account passwd lyncadmin --password-file -"
check "account set groups" ca account set lyncadmin --group RTCUniversalServerAdmins
check "account add then remove" sh -c "'$CSCA' --home '$H' account add tmp --group G --password-file pw && '$CSCA' --home '$H' account remove tmp"
assert_contains "group list: from accounts and grants" "RTCUniversalServerAdmins" "$(ca group list)"
assert_eq "no password in the database in clear" "0" "$(sqlite3 "$H/csca.db" .dump | grep -c -e S3cret -e N3w-pass)"

# ---- a request made by cscert (the contoso topology) ----
cp "$FIXTURES/contoso.json" topo.json
check "publish the topology as fe01" "$CSCERT" topology publish topo.json --computer-fqdn fe01.contoso.net
check "cscert request --output" "$CSCERT" request --new --type default,WebServicesInternal,webservicesexternal \
    --all-sip-domain --output fe01.csr
out=$(ca submit fe01.csr --template WebServer 2>&1)
assert_contains "submit the cscert request: issued" "Disposition: issued" "$out"
id=$(echo "$out" | sed -n 's/^Request ID: //p')
out=$(ca retrieve "$id" --out fe01.p7b 2>&1)
assert_contains "retrieve writes the PKCS#7" "fe01.p7b" "$out"
assert_eq "retrieve: PEM armour by default" "-----BEGIN PKCS7-----" "$(head -1 fe01.p7b)"
judge_issued cscert fe01.csr fe01.p7b
out=$("$CSCERT" import fe01.p7b 2>&1)
assert_contains "cscert import: the response completes the pending request" "completes request" "$out"
assert_eq "the imported leaf is in My with its key" "True" \
    "$("$CSCERT" store list --json | "$PY" -c 'import json,sys; print(any(c["store"]=="My" and c["has_key"] for c in json.load(sys.stdin)))')"
FE_SERIAL=$(openssl x509 -in cscert.leaf.pem -noout -serial | sed 's/serial=//')
assert_eq "serial: 16 bytes (32 hex digits)" "32" "${#FE_SERIAL}"

# ---- a request made by openssl req (retrieved as DER p7b) ----
openssl req -new -newkey rsa:2048 -nodes -keyout ossl.key -subj /CN=www.contoso.com \
    -addext "subjectAltName=DNS:www.contoso.com,DNS:contoso.com" -out ossl.csr 2>/dev/null
openssl req -in ossl.csr -outform DER -out ossl.der
out=$(ca submit ossl.der --template Lync 2>&1)
assert_contains "submit an openssl req (DER): issued" "Disposition: issued" "$out"
id=$(echo "$out" | sed -n 's/^Request ID: //p')
check "retrieve --format p7b" ca retrieve "$id" --out ossl.p7b --format p7b
judge_issued openssl ossl.csr ossl.p7b DER
days=$("$PY" -c "
from cryptography import x509
c = x509.load_pem_x509_certificate(open('openssl.leaf.pem','rb').read())
print((c.not_valid_after - c.not_valid_before).days)")
assert_eq "the Lync template's 1y validity applies" "365" "$days"
out=$(ca submit ossl.der --template Lync 2>&1)
assert_contains "the same request again answers the same ID" "Request ID: $id" "$out"

# ---- a request made by GnuTLS certtool ----
certtool --generate-privkey --key-type rsa --bits 2048 --outfile gnutls.key 2>/dev/null
cat > gnutls.tmpl <<'TMPL'
cn = "sip.contoso.com"
dns_name = "sip.contoso.com"
dns_name = "sip.fabrikam.com"
tls_www_server
encryption_key
signing_key
TMPL
certtool --generate-request --load-privkey gnutls.key --template gnutls.tmpl --outfile gnutls.csr 2>/dev/null
out=$(ca submit gnutls.csr --template WebServer 2>&1)
assert_contains "submit a certtool request: issued" "Disposition: issued" "$out"
id=$(echo "$out" | sed -n 's/^Request ID: //p')
check "retrieve it" ca retrieve "$id" --out gnutls.p7b
judge_issued certtool gnutls.csr gnutls.p7b

# ---- manual approval, denial ----
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout m1.key -subj /CN=lyncdiscover.contoso.com \
    -addext "subjectAltName=DNS:lyncdiscover.contoso.com" -out m1.csr 2>/dev/null
out=$(ca submit m1.csr --template Manual 2>&1)
assert_contains "manual template: pending" "Disposition: pending" "$out"
mid=$(echo "$out" | sed -n 's/^Request ID: //p')
assert_contains "request list --pending shows it" "pending" "$(ca request list --pending)"
assert_eq "request list --pending --json: exactly that one" "$mid" \
    "$(ca request list --pending --json | "$PY" -c 'import json,sys; print(",".join(str(r["id"]) for r in json.load(sys.stdin)))')"
expect_fail "retrieve refuses a pending request" 1 "pending" ca retrieve "$mid" --out m1.p7b
out=$(ca request issue "$mid" 2>&1)
assert_contains "request issue prints the serial" "serial" "$out"
assert_contains "request issue prints the retrieve hint" "csca retrieve $mid" "$out"
check "retrieve after issue" ca retrieve "$mid" --out m1.p7b
judge_issued manual m1.csr m1.p7b
expect_fail "issuing it twice is refused" 1 "" ca request issue "$mid"
openssl req -new -newkey rsa:2048 -nodes -keyout m2.key -subj /CN=dialin.contoso.com \
    -addext "subjectAltName=DNS:dialin.contoso.com" -out m2.csr 2>/dev/null
did=$(ca submit m2.csr --template Manual 2>&1 | sed -n 's/^Request ID: //p')
expect_fail "deny without --reason is a usage error" 2 "--reason" ca request deny "$did"
check "request deny" ca request deny "$did" --reason "not a Lync server"
expect_fail "retrieve refuses a denied request, with the reason" 1 "not a Lync server" ca retrieve "$did" --out m2.p7b
assert_contains "request show: denied and why" "not a Lync server" "$(ca request show "$did")"
assert_eq "request show --json" "denied" "$(ca request show "$did" --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["disposition"])')"
expect_fail "request show of an unknown ID" 1 "" ca request show 9999
expect_fail "a non-numeric ID is a usage error" 2 "request ID" ca retrieve abc --out x

# ---- policy refusals: exit 1, naming the rule; csca.db unchanged ----
openssl req -new -newkey rsa:1024 -nodes -keyout small.key -subj /CN=www.contoso.com -out small.csr 2>/dev/null
openssl req -new -newkey rsa:2048 -nodes -keyout fab.key -subj /CN=www.contoso.com \
    -addext "subjectAltName=DNS:www.contoso.com,DNS:www.fabrikam.com" -out fab.csr 2>/dev/null
openssl req -new -newkey rsa:2048 -sha1 -nodes -keyout sha1.key -subj /CN=www.contoso.com -out sha1.csr 2>/dev/null
head -c 200 /dev/urandom > garbage.bin
head -c 300 ossl.der > truncated.der
before=$(ca_dump)
expect_fail "RSA-1024 refused (key size rule)" 1 "key too small" ca submit small.csr --template WebServer
expect_fail "a SAN outside --allowed-domains refused, naming it" 1 "www.fabrikam.com" ca submit fab.csr --template Narrow
expect_fail "a sha1-signed request refused (hash rule)" 1 "sha1" ca submit sha1.csr --template WebServer
expect_fail "garbage refused, naming the file" 1 "garbage.bin: not a PKCS#10" ca submit garbage.bin --template WebServer
expect_fail "a truncated request called truncated" 1 "truncated.der: truncated" ca submit truncated.der --template WebServer
expect_fail "an unknown template refused, listing the others" 1 "WebServer" ca submit ossl.csr --template Nope
expect_fail "submit without --template is a usage error" 2 "--template" ca submit ossl.csr
assert_eq "every refusal left csca.db byte-for-byte unchanged" "$before" "$(ca_dump)"

# ---- revocation, CRL, CDP ----
before=$(ca_dump)
expect_fail "an unknown reason is a usage error, naming it" 2 "unknown reason 'because'" \
    ca revoke "$FE_SERIAL" --reason because
expect_fail "a serial that is not hex is a usage error" 2 "'XYZ' is not a serial number" ca revoke XYZ --reason superseded
assert_eq "both left csca.db unchanged" "$before" "$(ca_dump)"
# As Windows shows a serial: lower case with spaces; said back as recorded.
out=$(ca revoke "$(tr 'A-F' 'a-f' <<<"$FE_SERIAL" | sed 's/../& /g; s/ $//')" --reason keyCompromise 2>&1)
assert_contains "revoke says the serial as recorded" "Revoked $(sed 's/^0*//' <<<"$FE_SERIAL") (keyCompromise)" "$out"
expect_fail "revoking twice is refused" 1 "already revoked" ca revoke "$FE_SERIAL" --reason keyCompromise
expect_fail "revoking an unknown serial is refused" 1 "never issued" ca revoke 0123456789ABCDEF --reason superseded
check "crl --out" ca crl --out crl.pem
check "openssl crl -verify accepts the CRL" sh -c "openssl crl -in crl.pem -CAfile '$ROOT_PEM' -verify -noout 2>&1 | grep -q 'verify OK'"
assert_contains "the revoked serial is in the CRL" "Serial Number: $FE_SERIAL" "$(openssl crl -in crl.pem -noout -text)"
assert_contains "the CRL says keyCompromise" "Key Compromise" "$(openssl crl -in crl.pem -noout -text)"
assert_eq "issued list --json marks it revoked" "True" \
    "$(ca issued list --json | "$PY" -c "import json,sys; print([c['revoked'] for c in json.load(sys.stdin) if c['serial'].upper()=='$FE_SERIAL'][0])")"
check "crl --url sets the CDP" ca crl --url http://ca.contoso.com/contoso.crl
openssl req -new -newkey rsa:2048 -nodes -keyout cdp.key -subj /CN=meet.contoso.com \
    -addext "subjectAltName=DNS:meet.contoso.com" -out cdp.csr 2>/dev/null
id=$(ca submit cdp.csr --template WebServer | sed -n 's/^Request ID: //p')
ca retrieve "$id" --out cdp.p7b >/dev/null 2>&1
assert_contains "issued certificates carry the CDP" "URI:http://ca.contoso.com/contoso.crl" \
    "$(openssl pkcs7 -in cdp.p7b -print_certs | openssl x509 -noout -text)"

# ---- the audit log ----
events=$(ca log --json | "$PY" -c 'import json,sys; print(" ".join(sorted(set(e["event"] for e in json.load(sys.stdin)))))')
miss=""
for e in init issued pending denied revoked; do case " $events " in *" $e"*) ;; *) miss="$miss $e" ;; esac; done
assert_eq "audit log: init, issued, pending, denied, revoked (have: $events)" "" "$miss"
n_t=$(ca log --json | "$PY" -c 'import json,sys; print(sum(1 for e in json.load(sys.stdin) if "template" in e["event"] or "grant" in e["event"] or "account" in e["event"]))')
check "audit log: template, grant and account changes ($n_t)" test "$n_t" -ge 8
n_r=$(ca log --json | "$PY" -c 'import json,sys; print(sum(1 for e in json.load(sys.stdin) if e["event"].startswith("refused") or "refus" in json.dumps(e)))')
check "audit log: the policy refusals ($n_r)" test "$n_r" -ge 3
who=${SUDO_USER:-$(id -un)}
assert_eq "audit log: init, crl and every admin change name who did it ($who)" "" \
    "$(ca log --json | "$PY" -c 'import json,sys; print(" ".join(sorted(set(e["event"] for e in json.load(sys.stdin) if e["event"] in ("init", "crl", "install-cert", "template-add", "grant", "account-add", "revoked") and e.get("actor") != sys.argv[1]))))' "$who")"
assert_eq "log --last 2 --json gives two entries" "2" "$(ca log --last 2 --json | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')"
assert_eq "audit log: never a password" "0" "$(grep -c -e S3cret -e N3w-pass "$H/audit.jsonl")"

# ---- an EC CA ----
HE="$T/ca-ec"
check "init an EC P-256 CA" "$CSCA" --home "$HE" init --name 'ecca.contoso.com\Contoso EC' --key-type ec:P-256
assert_eq "EC root: P-256, CA" "secp256r1 True" "$("$PY" -c "
from cryptography import x509
c = x509.load_pem_x509_certificate(open('$HE/ca.pem','rb').read())
print(c.public_key().curve.name, c.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)")"
out=$("$CSCA" --home "$HE" submit ossl.csr --template WebServer 2>&1)
id=$(echo "$out" | sed -n 's/^Request ID: //p')
check "EC CA: retrieve" "$CSCA" --home "$HE" retrieve "$id" --out ec.p7b
SAVE_ROOT=$ROOT_PEM; ROOT_PEM="$HE/ca.pem"
judge_issued ec-ca ossl.csr ec.p7b
ROOT_PEM=$SAVE_ROOT

# ---- a subordinate CA (parent: an openssl root) ----
HS="$T/ca-sub"
openssl req -x509 -newkey rsa:2048 -nodes -keyout parent.key -subj "/CN=Parent Root" -days 3650 \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign -out parent.pem 2>/dev/null
out=$("$CSCA" --home "$HS" init --name 'sub.contoso.com\Contoso Sub' --key-type rsa:2048 --subordinate-request sub.csr 2>&1)
assert_contains "init --subordinate-request says to install-cert" "install-cert" "$out"
check "the subordinate request is a valid PKCS#10" openssl req -in sub.csr -verify -noout
expect_fail "a subordinate CA issues nothing before install-cert" 1 "install-cert" "$CSCA" --home "$HS" submit ossl.csr --template WebServer
printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' > sub.ext
openssl x509 -req -in sub.csr -CA parent.pem -CAkey parent.key -CAcreateserial -days 1825 -extfile sub.ext -out sub.pem 2>/dev/null
cat sub.pem parent.pem > subchain.pem
expect_fail "install-cert refuses a certificate for another key" 1 "parent.pem" "$CSCA" --home "$HS" install-cert parent.pem
before=$(ls -l --time-style=+ "$HS"; sqlite3 "$HS/csca.db" .dump)
expect_fail "install-cert refuses the certificate alone (no root: /cacerts could not serve the chain)" 1 \
    "sub.pem: it holds no root CA certificate" "$CSCA" --home "$HS" install-cert sub.pem
openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -subj "/CN=Other Root" -days 3650 \
    -addext basicConstraints=critical,CA:TRUE -out other.pem 2>/dev/null
cat sub.pem other.pem > wrongroot.pem
expect_fail "install-cert refuses a root that did not issue it" 1 "does not chain to the root in the file" \
    "$CSCA" --home "$HS" install-cert wrongroot.pem
assert_eq "both refusals left the subordinate's home as it was" "$before" "$(ls -l --time-style=+ "$HS"; sqlite3 "$HS/csca.db" .dump)"
check "install-cert with the chain" "$CSCA" --home "$HS" install-cert subchain.pem
id=$("$CSCA" --home "$HS" submit ossl.csr --template WebServer | sed -n 's/^Request ID: //p')
check "subordinate: retrieve" "$CSCA" --home "$HS" retrieve "$id" --out sub.p7b
openssl pkcs7 -in sub.p7b -print_certs -out subleaf.chain.pem 2>/dev/null
openssl x509 -in subleaf.chain.pem -out subleaf.pem
assert_eq "subordinate: the PKCS#7 holds leaf, sub CA, root" "3" "$(grep -c 'BEGIN CERTIFICATE' subleaf.chain.pem)"
check "subordinate: openssl verify -x509_strict root -> sub -> leaf" \
    openssl verify -x509_strict -CAfile parent.pem -untrusted sub.pem subleaf.pem
check "subordinate: certtool --verify-chain" sh -c "certtool --verify-chain --infile subleaf.chain.pem | grep -q 'Chain verification output: Verified'"
assert_eq "subordinate: python judge against the sub CA" "$JUDGE_OK" "$("$PY" judge.py ossl.csr subleaf.pem sub.pem 2>&1)"

# ---- an encrypted CA key ----
HP="$T/ca-enc"
printf 'ca-key-pass\n' > kpw
printf 'wrong\n' > wpw
check "init with --key-password-file" "$CSCA" --home "$HP" init --name 'encca.contoso.com\Enc' --key-type ec:P-256 --key-password-file kpw
assert_contains "the CA key is encrypted at rest" "ENCRYPTED PRIVATE KEY" "$(head -1 "$HP/ca.key")"
expect_fail "opening without the password is refused" 1 "password" "$CSCA" --home "$HP" show
expect_fail "opening with a wrong password is refused" 1 "password" "$CSCA" --home "$HP" --key-password-file wpw show
check "the global --key-password-file opens it" "$CSCA" --home "$HP" --key-password-file kpw show
check "CSCA_KEY_PASSWORD_FILE opens it" env CSCA_KEY_PASSWORD_FILE=kpw "$CSCA" --home "$HP" show
assert_eq "the password is nowhere in the home" "0" "$(grep -rc ca-key-pass "$HP" | awk -F: '{s+=$2} END {print s}')"

# A damaged csca.db is named as such, and left as it was.
HD="$PWD/damaged-ca"; mkdir -m 700 "$HD"; head -c 4096 /dev/urandom > "$HD/csca.db"; cp "$HD/csca.db" damaged.copy
expect_fail "a damaged csca.db: named, with the fix" 1 "is not this tool's database: move it aside" \
    "$CSCA" --home "$HD" request list
check "the damaged file is left byte-for-byte as it was" cmp "$HD/csca.db" damaged.copy

done_testing
