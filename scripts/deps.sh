#!/bin/sh
# Install the Debian packages cscert needs, only when one is missing.
# One `apt-get update`, and only then; silent when all are present.
set -eu
PKGS="gcc make pkg-config libssl-dev openssl libsqlite3-dev sqlite3
 libcurl4-openssl-dev curl libevent-dev libjansson-dev libcmocka-dev
 gnutls-bin python3 python3-cryptography ca-certificates procps"
[ $# -gt 0 ] && PKGS="$PKGS $*"
missing=""
for p in $PKGS; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$st" in *"install ok installed"*) ;; *) missing="$missing $p" ;; esac
done
[ -z "$missing" ] && exit 0
echo "deps: installing:$missing"
if [ "$(id -u)" != 0 ]; then
    echo "deps: error: missing packages:$missing; run 'make deps' as root (apt-get install -y$missing)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "deps: done"
