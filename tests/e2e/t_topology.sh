#!/bin/bash
# Topology publish/show/names through the real binary: names for every
# role judged against the rules' expected lists; every validation error
# names its JSON path and leaves the previous topology in force.
. "$(dirname "$0")/lib.sh"
F="$ROOT/tests/fixtures/contoso.json"

# Nothing published yet: a clear error with its fix, for show and names.
expect_fail "show before any publish" 1 "run 'cscert topology publish FILE'" "$CSCERT" topology show
expect_fail "names before any publish" 1 "no topology is published" "$CSCERT" topology names --type Default

check "publish the sample topology" "$CSCERT" topology publish "$F" --computer-fqdn fe01.contoso.net
show=$("$CSCERT" topology show --json)
assert_contains "show prints the normalized document" '"role": "FrontEnd"' "$show"
txt=$("$CSCERT" topology show)
assert_contains "show names the default SIP domain" "contoso.com (default)" "$txt"

names() { "$CSCERT" topology names --json "$@" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(",".join(n["name"] for n in d["names"]))'; }
rules() { "$CSCERT" topology names --json "$@" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(",".join(n["rule"] for n in d["names"]))'; }

assert_eq "FE Default (R2): pool, server, sip.<auto>" "pool01.contoso.net,fe01.contoso.net,sip.contoso.com" "$(names --type Default)"
assert_eq "FE WebServicesInternal (R3, R6)" \
  "pool01.contoso.net,webpool01.contoso.net,fe01.contoso.net,meet.contoso.com,meet.fabrikam.com,dialin.contoso.com,admin.contoso.com,lyncdiscoverinternal.contoso.com" \
  "$(names --type WebServicesInternal)"
assert_eq "FE WebServicesExternal (R4): no Admin URL" \
  "pool01.contoso.net,webpool01.contoso.com,meet.contoso.com,meet.fabrikam.com,dialin.contoso.com,lyncdiscover.contoso.com" \
  "$(names --type WebServicesExternal)"
assert_eq "rules are named per name" "R3,R3,R3,R3,R3,R3,R3,R6" "$(rules --type WebServicesInternal)"
assert_eq "OAuthTokenIssuer (R12): the default SIP domain" "contoso.com" "$(names --type OAuthTokenIssuer)"
assert_eq "Director Default" "dir01.contoso.net,sip.contoso.com" "$(names --type Default --computer-fqdn dir01.contoso.net)"
assert_eq "Mediation Default (R8)" "med01.contoso.net" "$(names --type default --computer-fqdn MED01.contoso.net)"
assert_eq "Edge Internal (R9)" "edgepool01.contoso.net" "$(names --type Internal --computer-fqdn edge01.contoso.net)"
assert_eq "Edge external (R10), all SIP domains" "sip.contoso.com,webconf.contoso.com,sip.fabrikam.com" \
  "$(names --type AccessEdgeExternal,DataEdgeExternal --all-sip-domain --computer-fqdn edge01.contoso.net)"
assert_eq "Edge external + A/V together (R10+R11)" "sip.contoso.com,webconf.contoso.com,av.contoso.com" \
  "$(names --type AccessEdgeExternal,DataEdgeExternal,AudioVideoAuthentication --computer-fqdn edge01.contoso.net)"
assert_eq "A/V alone (R11)" "av.contoso.com" "$(names --type AudioVideoAuthentication --computer-fqdn edge01.contoso.net)"
assert_eq "ReverseProxy (R14)" \
  "webpool01.contoso.com,webdir01.contoso.com,dialin.contoso.com,meet.contoso.com,meet.fabrikam.com,lyncdiscover.contoso.com,lyncdiscover.fabrikam.com" \
  "$(names --type ReverseProxy --computer-fqdn fe02.contoso.net)"
assert_eq "--domain-name adds, de-duplicated (R1)" "pool01.contoso.net,fe01.contoso.net,sip.contoso.com,*.contoso.com,extra.contoso.com" \
  "$(names --type Default --domain-name 'SIP.contoso.com, *.contoso.com ,extra.contoso.com')"
expect_fail "web use on an Edge server (R18)" 1 "Edge role" "$CSCERT" topology names --type WebServicesExternal --computer-fqdn edge01.contoso.net
expect_fail "no wildcard SAN on the external Edge interfaces (spec 0)" 1 \
  "'*.contoso.com' is a wildcard, which is not supported on the external Edge interfaces" \
  "$CSCERT" topology names --type AccessEdgeExternal --domain-name '*.contoso.com' --computer-fqdn edge01.contoso.net
assert_contains "a wildcard SAN on the internal Edge interface is allowed" "*.contoso.net" \
  "$("$CSCERT" topology names --type Internal --domain-name '*.contoso.net' --computer-fqdn edge01.contoso.net)"
expect_fail "XmppServer without xmpp_domains (R13)" 1 "xmpp_domains" "$CSCERT" topology names --type XmppServer --computer-fqdn edge01.contoso.net
expect_fail "a computer in no pool" 1 "not a server" "$CSCERT" topology names --type Default --computer-fqdn nobody.contoso.net
expect_fail "wildcard CN impossible: wildcard in --computer-fqdn" 1 "wildcard" "$CSCERT" topology names --type Default --computer-fqdn '*.contoso.net'

# Each broken document: the message names the path; the previous topology stays.
bad() { # desc, message part, python expression mutating d
    "$PY" - "$F" "$T/bad.json" "$3" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
exec(sys.argv[3])
json.dump(d, open(sys.argv[2], "w"))
PY
    local before after
    before=$(db_dump "$CSCERT_HOME")
    expect_fail "$1" 1 "$2" "$CSCERT" topology publish "$T/bad.json"
    after=$(db_dump "$CSCERT_HOME")
    assert_eq "$1: previous topology in force" "$before" "$after"
}
bad "misspelt key" "unknown key 'pols' at sites[0]; did you mean 'pools'?" 'd["sites"][0]["pols"]=d["sites"][0].pop("pools")'
bad "unknown top-level key" "unknown key 'simple_url'" 'd["simple_url"]=d.pop("simple_urls")'
bad "missing required key" "missing required key 'fqdn' at sites[0].pools[0]" 'del d["sites"][0]["pools"][0]["fqdn"]'
bad "wrong type" "sip_domains" 'd["sip_domains"]="contoso.com"'
bad "invalid FQDN" "sites[0].pools[0].servers[1]" 'd["sites"][0]["pools"][0]["servers"][1]="fe_02.contoso.net"'
bad "wildcard FQDN" "wildcard" 'd["simple_urls"]["dialin"]="*.contoso.com"'
bad "too long FQDN" "longer than 253" 'd["simple_urls"]["admin"]=("a"*60+".")*4+"contoso.com"'
bad "unknown role" "unknown role 'FrontDoor'" 'd["sites"][0]["pools"][0]["role"]="FrontDoor"'
bad "duplicate SIP domain" "duplicate 'contoso.com'" 'd["sip_domains"].append("CONTOSO.com")'
bad "server in two pools" "server 'fe01.contoso.net' is in pool" 'd["sites"][0]["pools"][1]["servers"].append("fe01.contoso.net")'
bad "R7 Director external FQDN" "R7" 'd["sites"][0]["pools"][1]["web_services"]["external"]="webpool01.contoso.com"'
bad "CA name form" "FQDN\\Instance" 'd["certification_authorities"][0]["name"]="contoso-DC01-CA"'
bad "CA over http" "not https" 'd["certification_authorities"][0]["url"]="http://dc01.contoso.net/"'
bad "not JSON" "line 1" 'open(sys.argv[2],"w").write("{garbage"); sys.exit(0)'
bad "missing key at the top level" "missing required key 'sip_domains' at the top level" 'del d["sip_domains"]'
bad "server in two pools names the path" "at sites[0].pools[3].servers[1]" 'd["sites"][0]["pools"][3]["servers"].append("FE02.contoso.net")'
bad "R7 names the path" "at sites[0].pools[1].web_services.external" 'd["sites"][0]["pools"][1]["web_services"]["external"]="WEBPOOL01.contoso.com"'
bad "pool FQDN of another pool's server" "has the FQDN of a server of pool 'pool01.contoso.net' at sites[0].pools[3].fqdn" 'd["sites"][0]["pools"][3]["fqdn"]="fe02.contoso.net"'
bad "duplicate site" "duplicate site 'redmond' at sites[1].name" 'd["sites"].append({"name":"redmond","pools":[]})'
bad "duplicate CA" "duplicate CA" 'd["certification_authorities"].append(dict(d["certification_authorities"][0], url="https://other.contoso.net/"))'
bad "CA without url" "missing required key 'url' at certification_authorities[0]" 'del d["certification_authorities"][0]["url"]'
bad "CA address not an IP" "is not an IP address at certification_authorities[0].address" 'd["certification_authorities"][0]["address"]="localhost"'
bad "IP address as a server FQDN" "is an IP address" 'd["sites"][0]["pools"][3]["servers"]=["192.0.2.7"]'
bad "Edge pool without edge" "missing required key 'edge' at sites[0].pools[2]" 'del d["sites"][0]["pools"][2]["edge"]'
bad "web pools need meet and dialin" "meet and dialin are required" 'del d["simple_urls"]["dialin"]'
bad "wrong type for meet" "must be a string or an array of strings at simple_urls.meet" 'd["simple_urls"]["meet"]={"a":1}'
printf '{garbage' > "$T/garbage.json"
expect_fail "garbage file" 1 "garbage.json" "$CSCERT" topology publish "$T/garbage.json"
expect_fail "publish for a computer in no pool" 1 "in no pool" "$CSCERT" topology publish "$F" --computer-fqdn other.contoso.net
expect_fail "missing file" 1 "nonexistent.json" "$CSCERT" topology publish "$T/nonexistent.json"
expect_fail "names without --type" 2 "--type" "$CSCERT" topology names
check "topology --help" "$CSCERT" topology --help
for sub in publish show names; do
    out=$("$CSCERT" topology $sub --help 2>&1); rc=$?
    assert_eq "topology $sub --help exits 0" 0 "$rc"
    assert_contains "topology $sub --help shows the usage" "cscert topology $sub" "$out"
done
expect_fail "unknown subcommand" 2 "unknown subcommand 'pubish'" "$CSCERT" topology pubish "$F"
expect_fail "unknown use names the valid ones" 1 "unknown use 'Defualt'" "$CSCERT" topology names --type Defualt
expect_fail "a pool FQDN is not a computer" 1 "is a pool" "$CSCERT" topology names --type Default --computer-fqdn pool01.contoso.net

# JSON of names: subject as CN=..., the CN's name first among the SANs (R1).
js=$("$CSCERT" topology names --type ReverseProxy --computer-fqdn fe02.contoso.net --json)
assert_eq "names --json: subject, rule, role, R17 exportable" "CN=webpool01.contoso.com R14 FrontEnd True webpool01.contoso.com" \
  "$(echo "$js" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(d["subject"], d["cn"]["rule"], d["role"], d["key_exportable"], d["names"][0]["name"])')"
js=$("$CSCERT" topology names --type Default --json)
assert_eq "names --json: this server's own Default key is not exportable" "False" \
  "$(echo "$js" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["key_exportable"])')"
txt=$("$CSCERT" topology names --type Default)
assert_contains "names table: CN line with its rule" "CN   pool01.contoso.net" "$txt"
assert_contains "names table: the CN repeated as a SAN (R1)" "SAN  pool01.contoso.net                                 R1" "$txt"

# show --json is a document publish accepts, and normalizing is idempotent.
"$CSCERT" topology show --json > "$T/norm.json"
check "show --json republishes" "$CSCERT" topology publish "$T/norm.json"
"$CSCERT" topology show --json > "$T/norm2.json"
check "normalized form is stable" cmp "$T/norm.json" "$T/norm2.json"
assert_eq "normalized CA name and url" 'dc01.contoso.net\contoso-DC01-CA https://dc01.contoso.net:8443/ 127.0.0.1' \
  "$("$PY" -c 'import json,sys; c=json.load(open(sys.argv[1]))["certification_authorities"][0]; print(c["name"], c["url"], c["address"])' "$T/norm.json")"
# Mixed case in, lower case out; the saved identity stays without --computer-fqdn.
"$PY" - "$F" "$T/upper.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["sites"][0]["pools"][0]["fqdn"] = "POOL01.Contoso.NET"
d["sites"][0]["pools"][0]["role"] = "frontend"
json.dump(d, open(sys.argv[2], "w"))
PY
check "publish mixed case" "$CSCERT" topology publish "$T/upper.json"
assert_eq "pool FQDN lower-cased, role canonical" "pool01.contoso.net FrontEnd" \
  "$("$CSCERT" topology show --json | "$PY" -c 'import json,sys; p=json.load(sys.stdin)["sites"][0]["pools"][0]; print(p["fqdn"], p["role"])')"
assert_contains "the saved computer FQDN is kept" "Computer FQDN:   fe01.contoso.net" "$("$CSCERT" topology show)"
assert_eq "the store holds the settings" "2" "$(sqlite3 "$CSCERT_HOME/cscert.db" "select count(*) from settings where key in ('topology','computer_fqdn')" 2>/dev/null)"

# Three SIP domains, every role.
check "publish the three-domain topology" "$CSCERT" topology publish "$ROOT/tests/fixtures/three-domains.json" --computer-fqdn se01.litware.net
assert_eq "SE combined, all SIP domains" \
  "se01.litware.net,sip.litware.com,sip.contoso.com,sip.fabrikam.com,meet.litware.com,meet.contoso.com,meet.fabrikam.com,dialin.litware.com,admin.litware.com,lyncdiscoverinternal.litware.com,lyncdiscoverinternal.contoso.com,lyncdiscoverinternal.fabrikam.com,webext.litware.com,lyncdiscover.litware.com,lyncdiscover.contoso.com,lyncdiscover.fabrikam.com" \
  "$(names --type Default,WebServicesInternal,WebServicesExternal --all-sip-domain)"
assert_eq "XmppServer (R13)" "access.litware.com,litware.com,contoso.com" "$(names --type XmppServer --computer-fqdn edge02.litware.net)"
assert_eq "Edge external with XMPP domains (R10)" "access.litware.com,webconf.litware.com,sip.litware.com,sip.contoso.com,litware.com,contoso.com" \
  "$(names --type AccessEdgeExternal --computer-fqdn edge02.litware.net)"
assert_eq "ReverseProxy with Office Web Apps (R14)" \
  "webext.litware.com,dirext.litware.com,dialin.litware.com,meet.litware.com,meet.contoso.com,meet.fabrikam.com,owa.litware.com,lyncdiscover.litware.com,lyncdiscover.contoso.com,lyncdiscover.fabrikam.com" \
  "$(names --type ReverseProxy)"
done_testing
