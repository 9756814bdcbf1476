#!/bin/bash
# Offline requests end to end: publish, request --output, and the request
# judged by openssl, GnuTLS certtool and python3 cryptography; bad input
# leaves the store byte-for-byte unchanged.
. "$(dirname "$0")/lib.sh"

cp "$FIXTURES/contoso.json" "$T/topo.json"   # the DESIGN.md sample

check "publish the topology as fe01" "$CSCERT" topology publish "$T/topo.json" --computer-fqdn fe01.contoso.net

# A Python judge: prints CN, then the SAN list, then the template name.
cat > "$T/judge.py" <<'PY'
import sys
from cryptography import x509
from cryptography.x509.oid import NameOID, ExtendedKeyUsageOID
req = x509.load_pem_x509_csr(open(sys.argv[1], 'rb').read())
assert req.is_signature_valid
print("CN=" + req.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)
san = req.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
print("SAN=" + ",".join(san.get_values_for_type(x509.DNSName)))
eku = req.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
print("EKU=" + ",".join(sorted(o.dotted_string for o in eku)))
tmpl = [e for e in req.extensions if e.oid.dotted_string == "1.3.6.1.4.1.311.20.2"][0]
der = tmpl.value.value
assert der[0] == 0x1e, "template name is not a BMPString"
print("TEMPLATE=" + der[2:].decode("utf-16-be"))
print("KEY=" + type(req.public_key()).__name__ + ":" + str(req.public_key().key_size))
print("HASH=" + req.signature_hash_algorithm.name)
PY

# The combined certificate of fe01 (R2-R6, --all-sip-domain).
out=$("$CSCERT" request --new --type default,WebServicesInternal,webservicesexternal --all-sip-domain \
      --output "$T/fe01.csr" --friendly-name "FE01 combined" 2>&1)
assert_contains "request --output prints its ID" "written to" "$out"
check "openssl req -verify accepts the request" openssl req -in "$T/fe01.csr" -verify -noout
check "certtool --crq-info reads the request" certtool --crq-info --infile "$T/fe01.csr"
j=$("$PY" "$T/judge.py" "$T/fe01.csr")
assert_eq "CN is the pool FQDN (R2/R5)" "CN=pool01.contoso.net" "$(echo "$j" | sed -n 1p)"
assert_eq "SANs exactly as R1-R6 say, in order" \
  "SAN=pool01.contoso.net,fe01.contoso.net,sip.contoso.com,sip.fabrikam.com,webpool01.contoso.net,meet.contoso.com,meet.fabrikam.com,dialin.contoso.com,admin.contoso.com,lyncdiscoverinternal.contoso.com,lyncdiscoverinternal.fabrikam.com,webpool01.contoso.com,lyncdiscover.contoso.com,lyncdiscover.fabrikam.com" \
  "$(echo "$j" | sed -n 2p)"
assert_eq "EKU is serverAuth only (R16)" "EKU=1.3.6.1.5.5.7.3.1" "$(echo "$j" | sed -n 3p)"
assert_eq "template extension names WebServer (BMPString)" "TEMPLATE=WebServer" "$(echo "$j" | sed -n 4p)"
assert_eq "RSA 2048 by default (R15)" "KEY=_RSAPublicKey:2048" "$(echo "$j" | sed -n 5p | sed 's/KEY=.*RSAPublicKey/KEY=_RSAPublicKey/')"
assert_eq "sha256 by default (R15)" "HASH=sha256" "$(echo "$j" | sed -n 6p)"
crq=$(certtool --crq-info --infile "$T/fe01.csr" 2>&1)
assert_contains "certtool sees the lyncdiscover SAN" "lyncdiscover.fabrikam.com" "$crq"
perm=$(stat -c %a "$CSCERT_HOME/cscert.db"); assert_eq "store file is 0600" "600" "$perm"
perm=$(stat -c %a "$CSCERT_HOME"); assert_eq "home is 0700" "700" "$perm"

# The pending request holds the key; the key is not in the file.
list=$("$CSCERT" request list --json)
n=$(echo "$list" | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')
assert_eq "one pending request" "1" "$n"
assert_eq "no private key in the request file" "0" "$(grep -c PRIVATE "$T/fe01.csr")"
keys=$(sqlite3 "$CSCERT_HOME/cscert.db" 'select count(*) from keys')
assert_eq "the key is committed in the store" "1" "$keys"
sqlite3 "$CSCERT_HOME/cscert.db" "select hex(pkcs8) from keys where id=1" | "$PY" -c 'import sys,binascii; sys.stdout.buffer.write(binascii.unhexlify(sys.stdin.read().strip()))' > "$T/k.der"
check "the stored key is PKCS#8 (openssl pkcs8 reads it)" openssl pkcs8 -nocrypt -inform DER -in "$T/k.der" -out "$T/k.pem"
m1=$(openssl pkey -in "$T/k.pem" -pubout | sha256sum); m2=$(openssl req -in "$T/fe01.csr" -noout -pubkey | sha256sum)
assert_eq "the stored key is the request's key" "$m2" "$m1"

# Edge external with client EKU, EC key, sha384 and a subject.
check "edge request for another computer" "$CSCERT" request --new --type AccessEdgeExternal,DataEdgeExternal \
  --computer-fqdn edge01.contoso.net --key-type ec:P-384 --hash sha384 --client-eku --template EdgeTmpl \
  --organization "Contoso Ltd" --ou IT --city Redmond --state Washington --country us --output "$T/edge.csr"
j=$("$PY" "$T/judge.py" "$T/edge.csr")
assert_eq "edge CN is the Access Edge FQDN (R10)" "CN=sip.contoso.com" "$(echo "$j" | sed -n 1p)"
assert_eq "edge SANs (R10)" "SAN=sip.contoso.com,webconf.contoso.com" "$(echo "$j" | sed -n 2p)"
assert_eq "client EKU added (R16)" "EKU=1.3.6.1.5.5.7.3.1,1.3.6.1.5.5.7.3.2" "$(echo "$j" | sed -n 3p)"
assert_eq "custom template" "TEMPLATE=EdgeTmpl" "$(echo "$j" | sed -n 4p)"
assert_eq "EC P-384 key" "KEY=_EllipticCurvePublicKey:384" "$(echo "$j" | sed -n 5p | sed 's/KEY=.*EllipticCurvePublicKey/KEY=_EllipticCurvePublicKey/')"
subj=$(openssl req -in "$T/edge.csr" -noout -subject -nameopt RFC2253)
assert_eq "subject carries O/OU/L/ST/C" "subject=CN=sip.contoso.com,OU=IT,O=Contoso Ltd,L=Redmond,ST=Washington,C=US" "$subj"
exp=$("$CSCERT" request list --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[1]["exportable"])')
assert_eq "another computer's key is exportable (R17)" "True" "$exp"

# Bad input: each refused with its message, the store unchanged.
before=$(db_dump "$CSCERT_HOME")
expect_fail "unwritable --output" 1 "/nonexistent/dir/x.csr" \
  "$CSCERT" request --new --type Default --output /nonexistent/dir/x.csr
# Never over an existing file: another request, or the store itself.
echo "keep me" > "$T/exists.csr"
expect_fail "--output over an existing file: refused" 1 "a file of that name exists" \
  "$CSCERT" request --new --type Default --output "$T/exists.csr"
assert_eq "... the file is left as it was" "keep me" "$(cat "$T/exists.csr")"
expect_fail "--output over the store itself: refused" 1 "a file of that name exists" \
  "$CSCERT" request --new --type Default --output "$CSCERT_HOME/cscert.db"
long=$(printf 'd%.0s' $(seq 1 250)); longp="$T"; for _ in $(seq 1 17); do longp="$longp/$long"; done
expect_fail "an --output path too long: refused, not cut" 1 "the path is too long" \
  "$CSCERT" request --new --type Default --output "$longp/x.csr"
expect_fail "unknown use" 1 "Defualt" "$CSCERT" request --new --type Defualt --output "$T/x.csr"
expect_fail "use not on this role (R18)" 1 "FrontEnd" "$CSCERT" request --new --type Internal --output "$T/x.csr"
expect_fail "bad key size" 1 "rsa:1000" "$CSCERT" request --new --type Default --key-size 1000 --output "$T/x.csr"
expect_fail "bad curve" 1 "P-192" "$CSCERT" request --new --type Default --key-type ec:P-192 --output "$T/x.csr"
# Usage errors are exit 2 in every form of `request` (they were exit 0).
expect_fail "request: unknown option: exit 2" 2 "unknown option" "$CSCERT" request --new --bogus
expect_fail "request list: unknown option: exit 2" 2 "unknown option" "$CSCERT" request list --bogus
expect_fail "request --output without a value: exit 2" 2 "see 'cscert request --help'" \
    "$CSCERT" request --new --type Default --output
expect_fail "request resume --wait=abc: exit 2" 2 "--wait takes seconds" "$CSCERT" request resume --wait=abc
expect_fail "request --key-size abc: exit 2" 2 "--key-size takes a number of bits" \
    "$CSCERT" request --new --type Default --key-size abc --output "$T/x.csr"
assert_contains "request cancel --help prints the usage" "cscert request list" "$("$CSCERT" request cancel --help)"
expect_fail "bad hash" 1 "md5" "$CSCERT" request --new --type Default --hash md5 --output "$T/x.csr"
expect_fail "bad country" 1 "USA" "$CSCERT" request --new --type Default --country USA --output "$T/x.csr"
expect_fail "bad --domain-name" 1 "bad..name" "$CSCERT" request --new --type Default --domain-name "bad..name" --output "$T/x.csr"
expect_fail "missing --type is a usage error" 2 "--type" "$CSCERT" request --new --output "$T/x.csr"
after=$(db_dump "$CSCERT_HOME")
assert_eq "store unchanged by every refusal" "$before" "$after"
[ -e "$T/x.csr" ] && nok "no request file after refusals" || ok "no request file after refusals"
left=$(ls -a /nonexistent 2>/dev/null; ls -a "$T" | grep -c cscert-request)
assert_eq "no temp file left behind" "0" "$left"

# cancel drops the request and its key; the audit log has it.
id=$("$CSCERT" request list --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
check "cancel a pending request" "$CSCERT" request cancel "$id"
keys=$(sqlite3 "$CSCERT_HOME/cscert.db" 'select count(*) from keys')
assert_eq "its key is gone" "1" "$keys"
expect_fail "cancel an unknown request" 1 "no pending request 999" "$CSCERT" request cancel 999
log=$("$CSCERT" log --json)
assert_contains "audit has the cancel" '"request cancel"' "$log"
assert_contains "audit has the publish" 'topology' "$log"
check "--help works" "$CSCERT" request --help

# A damaged store is named as such, and left as it was.
DH="$T/damaged"; mkdir -m 700 "$DH"; head -c 4096 /dev/urandom > "$DH/cscert.db"; chmod 600 "$DH/cscert.db"
cp "$DH/cscert.db" "$T/damaged.copy"
expect_fail "a damaged cscert.db: named, with the fix" 1 "is not this tool's database: move it aside" \
    "$CSCERT" --home "$DH" store list
check "the damaged file is left byte-for-byte as it was" cmp "$DH/cscert.db" "$T/damaged.copy"
done_testing
