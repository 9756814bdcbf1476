#!/bin/bash
# scripts/fuzz.sh: `make fuzz`. Builds the library and each fuzz target
# (tests/fuzz/fuzz_NAME.c) with clang's libFuzzer and ASan+UBSan in
# build/fuzz, then runs each for FUZZ_SECONDS (60) on one core, starting
# from a scratch copy of its corpus tests/fuzz/corpus/NAME/. New inputs
# that cover more stay in build/fuzz/corpus/NAME/ (copy the worthwhile
# ones into the committed corpus); a crash is kept in
# build/fuzz/crashes/NAME/ and makes the run fail. FUZZ_TARGETS picks
# targets ("topology est_csr"). Bounded: every target stops by itself.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
scripts/deps.sh clang libclang-rt-14-dev || exit 1
TARGETS=${FUZZ_TARGETS:-$(make -s --no-print-directory -f - <<<'include mk/fuzz.mk
all: ; @echo $(FUZZ_TARGETS)')}
B=build/fuzz
FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
make --no-print-directory BUILD=$B CC=clang EXTRA_CFLAGS="-fsanitize=fuzzer-no-link $FLAGS -O1 -Wno-unknown-warning-option" \
    "$B/lib/libcscert.a" >/dev/null || exit 1
# shellcheck disable=SC2046
LIBS=$(pkg-config --libs openssl sqlite3 libcurl libevent libevent_openssl libevent_pthreads jansson)
failed=0
for t in $TARGETS; do
    mkdir -p "$B/corpus/$t" "$B/crashes/$t"
    # shellcheck disable=SC2086
    clang -std=c11 -D_GNU_SOURCE -g -O1 $FLAGS -fsanitize=fuzzer -Iinclude $(pkg-config --cflags openssl) \
        -o "$B/fuzz_$t" "tests/fuzz/fuzz_$t.c" "$B/lib/libcscert.a" $LIBS -lpthread -lm || exit 1
    cp -n tests/fuzz/corpus/"$t"/* "$B/corpus/$t/" 2>/dev/null
    echo "== fuzz_$t: ${FUZZ_SECONDS}s"
    "$B/fuzz_$t" -max_total_time="$FUZZ_SECONDS" -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$B/crashes/$t/" -print_final_stats=1 "$B/corpus/$t" >"$B/fuzz_$t.log" 2>&1
    rc=$?
    grep -E "^(stat::number_of_executed_units|stat::new_units_added|#[0-9]+ *DONE)" "$B/fuzz_$t.log" | sed 's/^/    /'
    if [ "$rc" != 0 ]; then
        failed=1
        echo "FAIL fuzz_$t (exit $rc): see $B/fuzz_$t.log and $B/crashes/$t/"
        grep -m 5 -E "ERROR|invariant failed|runtime error" "$B/fuzz_$t.log" | sed 's/^/    /'
    fi
done
exit $failed
