#!/bin/bash
# web binding list|set|remove, web serve, web verify end to end on free
# 127.0.0.1 ports. An outside CA made here by openssl (root + issuing CA),
# leaf certificates with and without every name, imported as PKCS#12 and
# assigned with `cscert set`. Judged with openssl s_client (thumbprint by
# openssl x509 -fingerprint -sha1), curl --cacert --resolve and python3's
# ssl module: reassignment seen by new connections within 2 s while a
# keep-alive connection completes; a missing name makes verify exit 3 and
# name it; a certificate without its key is reported while the other site
# serves; 200 concurrent TLS clients without an error; garbage and stalled
# handshakes do not hold a worker; SIGHUP, SIGTERM.
. "$(dirname "$0")/lib.sh"
cd "$T" || exit 1

cat > topo.json <<'JSON'
{
  "sip_domains": ["contoso.com", "fabrikam.com"],
  "simple_urls": { "meet": ["meet.contoso.com", "meet.fabrikam.com"],
                   "dialin": "dialin.contoso.com", "admin": "admin.contoso.com" },
  "sites": [ { "name": "Redmond", "pools": [
    { "fqdn": "pool01.contoso.net", "role": "FrontEnd", "servers": ["fe01.contoso.net", "fe02.contoso.net"],
      "web_services": { "internal": "webpool01.contoso.net", "external": "webpool01.contoso.com" } },
    { "fqdn": "med01.contoso.net", "role": "Mediation", "servers": ["med01.contoso.net"] } ] } ]
}
JSON
# R3 + R4 on fe01 (the spec's rules, written out here, not asked of cscert).
INTERNAL="webpool01.contoso.net fe01.contoso.net pool01.contoso.net meet.contoso.com meet.fabrikam.com dialin.contoso.com admin.contoso.com lyncdiscoverinternal.contoso.com"
EXTERNAL="webpool01.contoso.com meet.contoso.com meet.fabrikam.com dialin.contoso.com lyncdiscover.contoso.com"

# ---- the outside CA ----
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key -out root.pem \
    -subj "/CN=Contoso Web Test Root" -days 3650 -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ica.key -out ica.csr \
    -subj "/CN=Contoso Web Issuing CA" 2>/dev/null
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' > ica.ext
openssl x509 -req -in ica.csr -CA root.pem -CAkey root.key -CAcreateserial -days 1825 -extfile ica.ext \
    -out ica.pem 2>/dev/null
echo "p12-password" > pw
# leaf NAME "SANS...": key + certificate signed by the issuing CA, packed as PKCS#12.
leaf() { local n=$1 sans="" s
         for s in $2; do sans="$sans${sans:+,}DNS:$s"; done
         printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\n' \
             "$sans" > "$n.ext"
         openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$n.key" -out "$n.csr" \
             -subj "/CN=pool01.contoso.net" 2>/dev/null
         openssl x509 -req -in "$n.csr" -CA ica.pem -CAkey ica.key -CAcreateserial -days 365 -extfile "$n.ext" \
             -out "$n.pem" 2>/dev/null
         openssl pkcs12 -export -inkey "$n.key" -in "$n.pem" -certfile ica.pem -passout file:pw -out "$n.p12"; }
sha1() { openssl x509 -in "$1" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g'; }
ALL="pool01.contoso.net $(echo $INTERNAL $EXTERNAL | tr ' ' '\n' | sort -u | tr '\n' ' ')"
leaf a "$ALL"
leaf b "$ALL"
leaf c "$(echo "$ALL" | sed 's/lyncdiscover\.contoso\.com//')"   # lacks lyncdiscover.contoso.com
leaf d "$ALL"
T_A=$(sha1 a.pem) T_B=$(sha1 b.pem) T_C=$(sha1 c.pem) T_D=$(sha1 d.pem)

check "publish the topology as fe01" "$CSCERT" topology publish topo.json --computer-fqdn fe01.contoso.net
check "import the root into Root" "$CSCERT" import root.pem --store Root
for x in a b c; do check "import $x.p12 with its key" "$CSCERT" import $x.p12 --password-file pw; done
check "import d.p12 with its key" "$CSCERT" import d.p12 --password-file pw
check "assign a to both web uses" "$CSCERT" set --type WebServicesInternal,WebServicesExternal --thumbprint "$T_A"

# ---- bindings ----
# Before any change: listing, verifying and refused changes write nothing
# (the default bindings are stored with the first change, in its transaction).
before=$(db_dump "$CSCERT_HOME")
"$CSCERT" web binding list >/dev/null
"$CSCERT" web verify >/dev/null 2>&1
expect_fail "a refused binding change on a fresh home" 1 "no such use (R18)" \
    "$CSCERT" web binding set --site X --port 9443 --use AccessEdgeExternal
expect_fail "removing an unknown site on a fresh home" 1 "Nope" "$CSCERT" web binding remove --site Nope
assert_eq "list, verify and the refusals left the store unchanged" "$before" "$(db_dump "$CSCERT_HOME")"
out=$("$CSCERT" web binding list)
assert_contains "default site Internal on 0.0.0.0:443" "$(echo "$out" | grep '^Internal' | tr -s ' ')" "Internal 0.0.0.0 443 WebServicesInternal"
assert_eq "default site Internal on 0.0.0.0:443" "Internal 0.0.0.0 443 WebServicesInternal" "$(echo "$out" | grep '^Internal' | tr -s ' ' | sed 's/ $//')"
assert_eq "default site External on 0.0.0.0:4443" "External 0.0.0.0 4443 WebServicesExternal" "$(echo "$out" | grep '^External' | tr -s ' ' | sed 's/ $//')"
json=$("$CSCERT" web binding list --json)
assert_eq "binding list --json" "External:4443:WebServicesExternal Internal:443:WebServicesInternal" \
    "$("$PY" -c 'import json,sys; print(" ".join(sorted("%s:%d:%s" % (b["site"], b["port"], b["use"]) for b in json.load(sys.stdin))))' <<<"$json")"
P_INT=$(free_port); P_EXT=$(free_port)
while [ "$P_EXT" = "$P_INT" ]; do P_EXT=$(free_port); done
check "move Internal to 127.0.0.1:$P_INT" "$CSCERT" web binding set --site Internal --address 127.0.0.1 --port "$P_INT"
check "move External to 127.0.0.1:$P_EXT" "$CSCERT" web binding set --site external --address 127.0.0.1 --port "$P_EXT"
before=$(sqlite3 "$CSCERT_HOME/cscert.db" 'SELECT * FROM bindings ORDER BY site')
expect_fail "port 70000 refused" 1 "70000 is not a TCP port" "$CSCERT" web binding set --site Internal --port 70000
expect_fail "port 0 refused (usage)" 2 "--port" "$CSCERT" web binding set --site Internal --port 0
expect_fail "address that is not an IP refused" 1 "webpool01: not an IP address" "$CSCERT" web binding set --site Internal --address webpool01
expect_fail "unknown use refused" 1 "Bogus" "$CSCERT" web binding set --site Internal --use Bogus
expect_fail "a use the FrontEnd role lacks refused (R18)" 1 "no such use (R18)" "$CSCERT" web binding set --site Edge --port 5062 --use AccessEdgeExternal
expect_fail "ReverseProxy is never bound" 1 "R18" "$CSCERT" web binding set --site RP --port 5063 --use ReverseProxy
expect_fail "two sites on one address:port refused" 1 "site 'External' already listens on 127.0.0.1:$P_EXT" \
    "$CSCERT" web binding set --site Other --address 127.0.0.1 --port "$P_EXT" --use Default
expect_fail "0.0.0.0 overlaps 127.0.0.1 on one port" 1 "already listens" \
    "$CSCERT" web binding set --site Other --address 0.0.0.0 --port "$P_EXT" --use Default
expect_fail "a new site needs --use" 2 "needs --port, --address or --use" "$CSCERT" web binding set --site Other
expect_fail "bad site name refused" 1 "site name" "$CSCERT" web binding set --site 'a<b' --port 5064 --use Default
expect_fail "remove an unknown site" 1 "Nope" "$CSCERT" web binding remove --site Nope
assert_eq "refusals left the bindings as they were" "$before" "$(sqlite3 "$CSCERT_HOME/cscert.db" 'SELECT * FROM bindings ORDER BY site')"
P_SIP=$(free_port)
check "add a SIP site bound to Default" "$CSCERT" web binding set --site SIP --address 127.0.0.1 --port "$P_SIP" --use default
assert_contains "SIP site listed with canonical use" "Default" "$("$CSCERT" web binding list | grep '^SIP')"
check "remove the SIP site" "$CSCERT" web binding remove --site SIP
assert_eq "a removed site stays removed" "" "$("$CSCERT" web binding list | grep '^SIP')"

# ---- serve ----
bg "$CSCERT" web serve --foreground --workers 2 --timeout 2 2> serve.log
SERVE=$LAST_PID
wait_port "$P_INT" && wait_port "$P_EXT"; check "web serve listens on both sites" wait_port "$P_EXT"
served() { # PORT SNI: the thumbprint served
    openssl s_client -connect 127.0.0.1:"$1" -servername "$2" </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha1 2>/dev/null | sed 's/.*=//; s/://g'; }
assert_eq "s_client: External serves a" "$T_A" "$(served "$P_EXT" webpool01.contoso.com)"
assert_eq "s_client: Internal serves a" "$T_A" "$(served "$P_INT" webpool01.contoso.net)"
chain=$(openssl s_client -connect 127.0.0.1:"$P_EXT" -servername webpool01.contoso.com -showcerts </dev/null 2>/dev/null)
assert_contains "the chain carries the issuing CA" "i:CN = Contoso Web Test Root" "$chain"
check "s_client verifies the chain against the root" openssl s_client -connect 127.0.0.1:"$P_EXT" \
    -servername webpool01.contoso.com -CAfile root.pem -verify_return_error -verify_hostname webpool01.contoso.com </dev/null
expect_fail "TLS 1.1 refused" 1 "" openssl s_client -connect 127.0.0.1:"$P_EXT" -tls1_1 </dev/null
page=$(curl -sS --cacert root.pem --resolve webpool01.contoso.com:"$P_EXT":127.0.0.1 https://webpool01.contoso.com:"$P_EXT"/)
assert_contains "curl reaches External by name: status page names the site" "<h1>External</h1>" "$page"
assert_contains "status page shows the thumbprint" "$T_A" "$page"
assert_contains "status page lists the names" "<li>lyncdiscover.contoso.com</li>" "$page"
assert_contains "status page shows days left" "Days left</th><td>36" "$page"
hz=$(curl -sS --cacert root.pem --resolve webpool01.contoso.com:"$P_EXT":127.0.0.1 https://webpool01.contoso.com:"$P_EXT"/healthz)
assert_eq "/healthz JSON" "ok External $T_A" "$("$PY" -c 'import json,sys; j=json.load(sys.stdin); print(j["status"], j["site"], j["thumbprint"])' <<<"$hz")"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert root.pem --resolve webpool01.contoso.com:"$P_EXT":127.0.0.1 https://webpool01.contoso.com:"$P_EXT"/nope)
assert_eq "unknown path: 404" 404 "$code"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d x --cacert root.pem --resolve webpool01.contoso.com:"$P_EXT":127.0.0.1 https://webpool01.contoso.com:"$P_EXT"/)
assert_eq "POST refused: 405" 405 "$code"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' a)" --cacert root.pem --resolve webpool01.contoso.com:"$P_EXT":127.0.0.1 https://webpool01.contoso.com:"$P_EXT"/)
case "$code" in 4*|000) ok "20 KB header refused ($code)";; *) nok "20 KB header refused" "got $code";; esac
code=$(curl -s -o /dev/null -w '%{http_code}' --http1.1 http://127.0.0.1:"$P_EXT"/healthz)
case "$code" in 200) nok "plain HTTP gets nothing" "got 200";; *) ok "plain HTTP gets nothing ($code)";; esac

out=$("$CSCERT" web verify); rc=$?
assert_eq "verify: all good, exit 0" 0 "$rc"
assert_contains "verify: served matches assigned" "assigned    $T_A  match" "$out"
assert_contains "verify: chain trusted" "trusted (reaches Root)" "$out"
assert_contains "verify: SNI is the external web services FQDN" "SNI webpool01.contoso.com" "$out"
vj=$("$CSCERT" web verify --json)
assert_eq "verify --json" "True External:True:0 Internal:True:0" \
    "$("$PY" -c 'import json,sys; j=json.load(sys.stdin); print(j["clean"], " ".join(sorted("%s:%s:%d" % (b["site"], b["match"], len(b["missing_names"])) for b in j["bindings"])))' <<<"$vj")"

# ---- reassignment: new connections within 2 s, keep-alive completes ----
cat > ka.py <<'PY'
import http.client, ssl, sys, time, subprocess, hashlib
port, root, cscert, newthumb = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=root)
def conn():
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=5)
    c._tunnel_host = None
    return c
ctx.check_hostname = False
def thumb(c):
    return hashlib.sha1(c.sock.getpeercert(binary_form=True)).hexdigest().upper()
ka = conn(); ka.request("GET", "/healthz"); r = ka.getresponse(); r.read()
old = thumb(ka)
subprocess.run([cscert, "set", "--type", "WebServicesExternal", "--thumbprint", newthumb], check=True,
               stdout=subprocess.DEVNULL)
t0 = time.monotonic(); seen = None
while time.monotonic() - t0 < 4:
    c = conn(); c.request("GET", "/healthz"); c.getresponse().read()
    if thumb(c) == newthumb:
        seen = time.monotonic() - t0; break
    c.close(); time.sleep(0.1)
ka.request("GET", "/healthz"); r2 = ka.getresponse(); body = r2.read()
print("old=%s seen=%s ka_status=%d ka_thumb=%s" % (old, "yes" if seen is not None and seen <= 2.0 else "no(%s)" % seen,
      r2.status, thumb(ka)))
PY
res=$("$PY" ka.py "$P_EXT" root.pem "$CSCERT" "$T_B" 2>&1)
assert_contains "new connections get b within 2 s" "seen=yes" "$res"
assert_contains "the keep-alive connection completes its request on a" "ka_status=200 ka_thumb=$T_A" "$res"
assert_contains "log: reload with old -> new thumbprint" "reload External: $T_A -> $T_B" "$(cat serve.log)"
assert_eq "s_client: External now serves b" "$T_B" "$(served "$P_EXT" webpool01.contoso.com)"
assert_eq "s_client: Internal still serves a" "$T_A" "$(served "$P_INT" webpool01.contoso.net)"

# ---- a certificate lacking a site's name ----
check "assign c (lacks lyncdiscover.contoso.com) with --force" "$CSCERT" set --type WebServicesExternal --thumbprint "$T_C" --force
for i in $(seq 1 30); do [ "$(served "$P_EXT" webpool01.contoso.com)" = "$T_C" ] && break; sleep 0.1; done
out=$("$CSCERT" web verify 2>&1); rc=$?
assert_eq "verify: a missing name exits 3" 3 "$rc"
assert_contains "verify names the missing name" "lacks lyncdiscover.contoso.com" "$out"
assert_contains "verify lists it under names" "1 of 6 MISSING: lyncdiscover.contoso.com" "$out"
assert_eq "verify --json lists exactly that name" "External lyncdiscover.contoso.com" \
    "$("$CSCERT" web verify --json | "$PY" -c 'import json,sys; j=json.load(sys.stdin); print(" ".join(b["site"]+" "+" ".join(b["missing_names"]) for b in j["bindings"] if b["missing_names"]))')"

# ---- a certificate without its key: reported, the other site serves ----
check "assign d to WebServicesInternal" "$CSCERT" set --type WebServicesInternal --thumbprint "$T_D"
for i in $(seq 1 30); do [ "$(served "$P_INT" webpool01.contoso.net)" = "$T_D" ] && break; sleep 0.1; done
# Fault injection (no command loses a key): the key row of d is gone, as
# after restoring a store backup taken without keys.
sqlite3 "$CSCERT_HOME/cscert.db" "PRAGMA foreign_keys=OFF; DELETE FROM keys WHERE id=(SELECT key_id FROM certs WHERE thumbprint='$T_D')"
for i in $(seq 1 30); do grep -q "error Internal" serve.log && break; sleep 0.1; done
assert_contains "log: Internal has no key, skipped" "error Internal: the certificate $T_D assigned to WebServicesInternal has no private key in the store" "$(cat serve.log)"
assert_eq "Internal serves nothing" "" "$(served "$P_INT" webpool01.contoso.net)"
assert_eq "External keeps serving" "$T_C" "$(served "$P_EXT" webpool01.contoso.com)"
check "curl still reaches External" curl -sSf --cacert root.pem --resolve webpool01.contoso.com:"$P_EXT":127.0.0.1 https://webpool01.contoso.com:"$P_EXT"/healthz
out=$("$CSCERT" web verify 2>&1); rc=$?
assert_eq "verify exits 3" 3 "$rc"
assert_contains "verify reports Internal serves no certificate" "site 'Internal' on 127.0.0.1:$P_INT serves no certificate" "$out"
out=$("$CSCERT" check 2>&1); rc=$?
assert_eq "check while web serve runs: exit 3" 3 "$rc"
assert_contains "check includes verify's finding: Internal serves no certificate" \
    "site 'Internal' on 127.0.0.1:$P_INT serves no certificate" "$out"
assert_contains "check also names the missing key itself" "$T_D has no private key in this store" "$out"
check "assign b to Internal again" "$CSCERT" set --type WebServicesInternal --thumbprint "$T_B"
check "assign b to External again" "$CSCERT" set --type WebServicesExternal --thumbprint "$T_B"
for i in $(seq 1 30); do [ "$(served "$P_INT" webpool01.contoso.net)" = "$T_B" ] && break; sleep 0.1; done
assert_eq "Internal serves again once a keyed certificate is assigned" "$T_B" "$(served "$P_INT" webpool01.contoso.net)"
check "verify: clean again" "$CSCERT" web verify

# ---- a staged roll: the previous certificate serves until the effective date ----
check "stage a on External for 2030 (--roll)" "$CSCERT" set --type WebServicesExternal --thumbprint "$T_A" \
    --roll --effective-date 2030-01-01
sleep 1.5 # the 1 s poll has seen the new assignment
assert_eq "staged: External still serves b" "$T_B" "$(served "$P_EXT" webpool01.contoso.com)"
check "staged: verify is clean (b is in force)" "$CSCERT" web verify
eff=$(date -u -d '+6 seconds' +%Y-%m-%dT%H:%M:%SZ)
check "stage a again, effective in 6 s" "$CSCERT" set --type WebServicesExternal --thumbprint "$T_A" --roll --effective-date "$eff"
assert_contains "get: b stays the previous one" "PreviousThumbprint : $T_B" "$("$CSCERT" get --type WebServicesExternal)"
assert_eq "before the date: External serves b" "$T_B" "$(served "$P_EXT" webpool01.contoso.com)"
for i in $(seq 1 150); do [ "$(served "$P_EXT" webpool01.contoso.com)" = "$T_A" ] && break; sleep 0.1; done
assert_eq "after the date: External serves a, no restart" "$T_A" "$(served "$P_EXT" webpool01.contoso.com)"
check "after the date: verify is clean (a is in force)" "$CSCERT" web verify
assert_contains "log: the reload at the effective date" "reload External: $T_B -> $T_A" "$(cat serve.log)"
check "assign b to External again" "$CSCERT" set --type WebServicesExternal --thumbprint "$T_B"
for i in $(seq 1 30); do [ "$(served "$P_EXT" webpool01.contoso.com)" = "$T_B" ] && break; sleep 0.1; done

# ---- the issuing CA's certificate replaced (same key, same count) ----
openssl x509 -req -in ica.csr -CA root.pem -CAkey root.key -set_serial 4242 -days 1000 -extfile ica.ext \
    -out ica2.pem 2>/dev/null
check "remove the old issuing CA certificate from CA" "$CSCERT" remove-cert "$(sha1 ica.pem)"
check "import its renewal into CA" "$CSCERT" import ica2.pem
chain_ica() { openssl s_client -connect 127.0.0.1:"$P_EXT" -servername webpool01.contoso.com -showcerts </dev/null 2>/dev/null \
    | awk '/BEGIN CERT/{n++} n==2' | openssl x509 -noout -serial 2>/dev/null; }
for i in $(seq 1 30); do [ "$(chain_ica)" = "serial=1092" ] && break; sleep 0.1; done
assert_eq "web serve now sends the renewed issuing CA in the chain, without a restart" "serial=1092" "$(chain_ica)"

# ---- load: 200 concurrent TLS clients; garbage and stalled handshakes ----
cat > load.py <<'PY'
import socket, ssl, sys, threading, time, os
port, root, secs, n = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
ctx = ssl.create_default_context(cafile=root); ctx.check_hostname = False
ok = [0]; err = []; lock = threading.Lock(); stop = time.monotonic() + secs
def client():
    while time.monotonic() < stop:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                with ctx.wrap_socket(s, server_hostname="webpool01.contoso.com") as t:
                    t.sendall(b"GET /healthz HTTP/1.1\r\nHost: webpool01.contoso.com\r\nConnection: close\r\n\r\n")
                    data = b""
                    while True:
                        d = t.recv(65536)
                        if not d: break
                        data += d
                    if not data.startswith(b"HTTP/1.1 200"): raise Exception("bad answer %r" % data[:40])
            with lock: ok[0] += 1
        except Exception as e:
            with lock: err.append(repr(e))
th = [threading.Thread(target=client) for _ in range(n)]
for t in th: t.start()
for t in th: t.join()
print("ok=%d errors=%d %s" % (ok[0], len(err), err[:3]))
PY
res=$("$PY" load.py "$P_EXT" root.pem 3 200)
assert_contains "200 concurrent TLS clients for 3 s: 0 errors" "errors=0 " "$res"
echo "# $res"
cat > stall.py <<'PY'
import socket, ssl, sys, time, os
port, root = int(sys.argv[1]), sys.argv[2]
held = []
for i in range(40):   # 20 send garbage, 20 stall after half a ClientHello
    s = socket.create_connection(("127.0.0.1", port)); held.append(s)
    if i % 2: s.sendall(os.urandom(300))
    else: s.sendall(bytes.fromhex("16030100c4010000c00303") + os.urandom(20))
ctx = ssl.create_default_context(cafile=root); ctx.check_hostname = False
t0 = time.monotonic(); good = 0
for i in range(20):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        with ctx.wrap_socket(s, server_hostname="webpool01.contoso.com") as t:
            t.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            if t.recv(100).startswith(b"HTTP/1.1 200"): good += 1
fast = time.monotonic() - t0
# the stalled ones are closed by the server once --timeout (2 s) passes
time.sleep(3.5); closed = 0
for s in held:
    s.settimeout(0.5)
    try:
        d = s.recv(100)
        closed += (d == b"" or len(d) > 0)
    except (ConnectionResetError, BrokenPipeError): closed += 1
    except socket.timeout: pass
print("good=%d fast=%s closed=%d" % (good, "yes" if fast < 2 else "no(%.2f)" % fast, closed))
PY
res=$("$PY" stall.py "$P_EXT" root.pem)
assert_contains "40 garbage/stalled handshakes: 20 good clients served at once" "good=20 fast=yes" "$res"
assert_contains "stalled handshakes closed after --timeout" "closed=40" "$res"

# ---- SIGHUP, SIGTERM ----
kill -HUP "$SERVE"
for i in $(seq 1 100); do grep -q "SIGHUP" serve.log && break; sleep 0.1; done
assert_contains "SIGHUP reloads" "SIGHUP: reloading" "$(cat serve.log)"
assert_eq "still serving after SIGHUP" "$T_B" "$(served "$P_EXT" webpool01.contoso.com)"
check "web.pid names the server" test "$(cat "$CSCERT_HOME/web.pid")" = "$SERVE"
out=$("$CSCERT" web binding set --site Internal --port "$P_INT" 2>&1)
assert_contains "a binding change while web serve runs says to restart it" "restart it to apply this change: kill -TERM $SERVE" "$out"
kill -TERM "$SERVE"
for i in $(seq 1 60); do kill -0 "$SERVE" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$SERVE" 2>/dev/null; then nok "SIGTERM stops within 6 s"; else wait "$SERVE"; assert_eq "SIGTERM: exit 0" 0 "$?"; fi
assert_contains "log: stopped" "stopped" "$(tail -1 serve.log)"
check "web.pid removed" test ! -e "$CSCERT_HOME/web.pid"
assert_eq "no key material in the log" "" "$(grep -e 'BEGIN' -e 'PRIVATE KEY-' serve.log)"
expect_fail "verify without a server: exit 1 naming the address" 1 "cannot connect to 127.0.0.1:" "$CSCERT" web verify
out=$("$CSCERT" check 2>&1)
case "$out" in *"site '"*) nok "check without a web serve leaves the bindings out" "$out" ;; *) ok "check without a web serve leaves the bindings out" ;; esac
# A stale server on External's port (web.pid names it) serving a, while b
# is assigned: check reports the binding serving another certificate.
bg openssl s_server -accept 127.0.0.1:"$P_EXT" -cert a.pem -key a.key -cert_chain ica.pem -quiet -www
STRAY=$LAST_PID
wait_port "$P_EXT"
echo "$STRAY" > "$CSCERT_HOME/web.pid"
out=$("$CSCERT" check 2>&1); rc=$?
assert_eq "check with a binding serving another certificate: exit 3" 3 "$rc"
assert_contains "check names the served and the assigned thumbprints" \
    "site 'External' on 127.0.0.1:$P_EXT serves $T_A, but $T_B is assigned to WebServicesExternal" "$out"
assert_contains "check names the binding it cannot reach" "site 'Internal': cannot connect to 127.0.0.1:$P_INT" "$out"
assert_eq "check --json: binding-mismatch for WebServicesExternal, thumbprint served" "WebServicesExternal $T_A" \
    "$("$CSCERT" check --json | "$PY" -c 'import json,sys; print(" ".join(x["use"]+" "+x["thumbprint"] for x in json.load(sys.stdin)["findings"] if x["kind"] == "binding-mismatch"))')"
kill "$STRAY"; wait "$STRAY" 2>/dev/null
rm -f "$CSCERT_HOME/web.pid"

# ---- detached serve ----
pid=$("$CSCERT" web serve --timeout 2); rc=$?
assert_eq "detached serve prints its PID" 0 "$rc"
[ -n "$pid" ] && _pids+=("$pid")
assert_eq "detached serve serves" "$T_B" "$(served "$P_EXT" webpool01.contoso.com)"
kill -TERM "$pid" 2>/dev/null
for i in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
check "detached serve stops on SIGTERM" bash -c "! kill -0 $pid 2>/dev/null"
echo "# serve.log:"; sed 's/^/#   /' serve.log
done_testing
