# tests/e2e/lib.sh: shared helpers for the end-to-end scripts.
# Each script sources this, runs the real binaries from $BUILD/bin, judges
# with independent tools (openssl, certtool, curl, /usr/bin/python3), and
# prints TAP lines ("ok N - what" / "not ok N - what").
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
CSCERT="$BUILD/bin/cscert"
CSCA="$BUILD/bin/csca"
PY=/usr/bin/python3
FIXTURES="$ROOT/tests/fixtures"
T=$(mktemp -d /tmp/cscert-e2e.XXXXXX)
export CSCERT_HOME="$T/home"
_n=0
_failed=0
_pids=()

cleanup() {
    local p
    for p in "${_pids[@]}"; do
        kill "$p" 2>/dev/null
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
        kill -9 "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    # KEEP_FAILED=DIR keeps a failed script's scratch directory there.
    if [ "$_failed" = 1 ] && [ -n "${KEEP_FAILED:-}" ]; then
        mkdir -p "$KEEP_FAILED" && mv "$T" "$KEEP_FAILED/" && echo "# kept $KEEP_FAILED/$(basename "$T")"
    fi
    rm -rf "$T"
}
trap cleanup EXIT

ok()   { _n=$((_n + 1)); echo "ok $_n - $1"; }
nok()  { _n=$((_n + 1)); _failed=1; echo "not ok $_n - $1"; [ $# -gt 1 ] && printf '    %s\n' "$2"; }
# need_csca: skip the script (TAP) when csca is not built; else set the
# test CA's home H, host HOST, name CA_NAME and the Lync admins' group.
need_csca() {
    if [ ! -x "$CSCA" ]; then echo "1..0 # SKIP $CSCA is not built"; exit 0; fi
    H="$T/ca"
    HOST=dc01.contoso.net
    CA_NAME='dc01.contoso.net\contoso-DC01-CA'
    ADMINS=RTCUniversalServerAdmins
}
# csca ARGS: the csca tool on the test CA's home (need_csca).
csca() { "$CSCA" --home "$H" "$@"; }
# pem_certs: the certificates' PEM blocks on stdin, nothing else. The
# armour lines are matched whole: a base64 line can contain "END".
pem_certs() { sed -n '/^-----BEGIN CERTIFICATE-----$/,/^-----END CERTIFICATE-----$/p'; }
# pem_nth N [FILE]: the Nth certificate (from 1) of FILE or stdin.
pem_nth() { pem_certs < "${2:-/dev/stdin}" | awk -v n="$1" '/^-----BEGIN CERTIFICATE-----$/ { k++ } k == n'; }
# check DESC CMD...: the command must succeed.
check() { local d=$1; shift; local o; if o=$("$@" 2>&1); then ok "$d"; else nok "$d" "$(echo "$o" | tail -5)"; fi; }
# assert_eq DESC EXPECTED ACTUAL
assert_eq() { if [ "$2" == "$3" ]; then ok "$1"; else nok "$1" "expected [$2] got [$3]"; fi; }
# assert_contains DESC NEEDLE HAYSTACK
assert_contains() { case "$3" in *"$2"*) ok "$1" ;; *) nok "$1" "[$2] not in: $(echo "$3" | head -5)" ;; esac; }
# expect_fail DESC EXIT_CODE MESSAGE_PART CMD...: fails with that exit code
# and says the part on stderr.
expect_fail() {
    local d=$1 code=$2 msg=$3 rc err
    shift 3
    err=$("$@" 2>&1 >/dev/null); rc=$?
    if [ "$rc" != "$code" ]; then nok "$d" "exit $rc, wanted $code: $err"
    else case "$err" in *"$msg"*) ok "$d" ;; *) nok "$d" "message lacks [$msg]: $err" ;; esac; fi
}
# db_dump HOME: the store's content and files (the audit log, which
# records refusals, and the WAL files aside), for before/after comparisons.
db_dump() { sqlite3 "$1/cscert.db" .dump 2>/dev/null; ls -l --time-style=+ "$1" | grep -v -e '^total' -e audit.jsonl -e '-wal$' -e '-shm$' | awk '{print $1, $NF}'; }
# free_port: a TCP port on 127.0.0.1 nobody listens on now.
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# bg CMD...: start in the background, remember the PID for cleanup.
bg() { "$@" & _pids+=($!); LAST_PID=$!; }
# wait_port PORT: until something listens (bounded: 10 s).
wait_port() {
    local i
    for i in $(seq 1 100); do
        (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
# wait_log FILE TEXT: until FILE holds TEXT (bounded: 10 s). A server
# accepts on its port before it is ready (the pid file, the workers):
# its "ready:" line says when it is.
wait_log() {
    local i
    for i in $(seq 1 100); do
        grep -qF -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
# topology_with_ca OUT PORT: the contoso fixture with the CA
# dc01.contoso.net\contoso-DC01-CA registered at https://dc01.contoso.net:PORT/
# (address 127.0.0.1: no DNS), written to OUT.
topology_with_ca() {
    "$PY" - "$FIXTURES/contoso.json" "$1" "$2" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["certification_authorities"] = [{"name": "dc01.contoso.net\\contoso-DC01-CA",
    "url": "https://dc01.contoso.net:%s/" % sys.argv[3], "address": "127.0.0.1"}]
json.dump(d, open(sys.argv[2], "w"), indent=1)
EOF
}
done_testing() { echo "1..$_n"; exit $_failed; }
