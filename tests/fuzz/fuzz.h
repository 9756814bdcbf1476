/* fuzz.h: what every fuzz target shares. Each tests/fuzz/fuzz_NAME.c
 * defines LLVMFuzzerTestOneInput; `make fuzz` links it with libFuzzer
 * (clang), and the normal build links it with replay.c, which runs the
 * committed corpus tests/fuzz/corpus/NAME/ once in `make check`. */
#ifndef CSCERT_FUZZ_H
#define CSCERT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* An invariant the target checks: abort, so that libFuzzer keeps the
 * input and the replay fails. */
#define FUZZ_ASSERT(e)                                                              \
    do {                                                                            \
        if (!(e)) {                                                                 \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #e); \
            abort();                                                                \
        }                                                                           \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#endif
