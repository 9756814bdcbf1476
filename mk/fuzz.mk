# Fuzz targets (tests/fuzz/fuzz_NAME.c): each is built here with replay.c
# and run over its committed corpus tests/fuzz/corpus/NAME/ by
# tests/run.sh (a regression test, under ASan+UBSan in the second pass);
# `make fuzz` builds them with clang's libFuzzer and searches for new
# inputs (scripts/fuzz.sh).
FUZZ_TARGETS += topology bundle est_csr est_reply text
