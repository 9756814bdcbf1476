#!/bin/bash
# Run every unit test (cmocka, TAP output), every fuzz target over its
# committed corpus (tests/fuzz/replay.c, TAP) and every end-to-end script
# against each build tree given (e.g. build build/asan), count the TAP
# "ok"/"not ok" lines, and close with one line: "N passed, N failed".
# A program that exits non-zero (a crash, a sanitizer report) counts as a
# failure even when its TAP lines said ok.
set -u
cd "$(dirname "$0")/.."
export CMOCKA_MESSAGE_OUTPUT=TAP
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=86
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LC_ALL=C.UTF-8
pass=0 fail=0 failed_names=()
# PER_TEST_LIMIT: 15 min; a hung test must not eat CI's budget.
PER_TEST_LIMIT=900
ONLY=${TEST_ONLY:-}

run_one() { # name, command...
    local name=$1 out rc np nf
    shift
    out=$(mktemp)
    timeout -k 5 $PER_TEST_LIMIT "$@" >"$out" 2>&1 </dev/null
    rc=$?
    np=$(grep -cE '^ok ' "$out")
    nf=$(grep -cE '^not ok ' "$out")
    if [ "$rc" != 0 ] && [ "$nf" = 0 ]; then nf=1; fi
    pass=$((pass + np)); fail=$((fail + nf))
    if [ "$nf" != 0 ]; then
        failed_names+=("$name")
        echo "FAIL $name (exit $rc)"
        grep -vE '^ok ' "$out" | tail -n 60 | sed 's/^/    /'
    else
        echo "PASS $name ($np checks)"
    fi
    rm -f "$out"
}

for b in "$@"; do
    echo "== $b"
    for t in "$b"/tests/test_*; do
        [ -x "$t" ] || continue
        case "$t" in *"$ONLY"*) ;; *) continue ;; esac
        run_one "$t" "$t"
    done
    # The fuzz targets over their committed corpus (tests/fuzz/).
    for t in "$b"/tests/fuzz_*; do
        [ -x "$t" ] || continue
        case "$t" in *"$ONLY"*) ;; *) continue ;; esac
        run_one "$t" "$t" "tests/fuzz/corpus/${t##*/fuzz_}"
    done
    for t in tests/e2e/t_*.sh; do
        [ -f "$t" ] || continue
        case "$t" in *"$ONLY"*) ;; *) continue ;; esac
        run_one "$b:$t" env BUILD="$b" bash "$t"
    done
done
[ ${#failed_names[@]} -gt 0 ] && printf 'failed: %s\n' "${failed_names[@]}"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
