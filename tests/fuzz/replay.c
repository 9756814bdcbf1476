/* replay.c: a fuzz target without libFuzzer. Runs every file of the
 * directories (or files) given through LLVMFuzzerTestOneInput once, and
 * prints one TAP line per argument: the committed corpus, inputs that
 * once crashed included, is a regression test in `make check` (under
 * ASan+UBSan there). A crash or a failed invariant aborts: not ok. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* 1 MiB: larger than any corpus file libFuzzer keeps (-max_len). */
#define REPLAY_MAX_FILE (1L << 20)

__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    return 0;
}

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    long len;

    if (!f || fseek(f, 0, SEEK_END) < 0 || (len = ftell(f)) < 0 || len > REPLAY_MAX_FILE
        || fseek(f, 0, SEEK_SET) < 0 || !(buf = malloc((size_t)len + 1))) {
        fprintf(stderr, "replay: %s: cannot read\n", path);
        if (f)
            fclose(f);
        return -1;
    }
    if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
        fprintf(stderr, "replay: %s: short read\n", path);
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, (size_t)len);
    free(buf);
    return 0;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    int failed = 0;

    LLVMFuzzerInitialize(&argc, &argv);
    printf("1..%d\n", argc - 1);
    for (int i = 1; i < argc; i++) {
        struct stat st;
        size_t n = 0, bad = 0;

        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            DIR *d = opendir(argv[i]);
            struct dirent *e;
            char **names = NULL;
            size_t cap = 0;

            while (d && (e = readdir(d))) {
                if (e->d_name[0] == '.')
                    continue;
                if (n == cap && !(names = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof(*names))))
                    abort();
                if (!(names[n++] = strdup(e->d_name)))
                    abort();
            }
            if (d)
                closedir(d);
            qsort(names, n, sizeof(*names), cmp); /* the same order every run */
            for (size_t k = 0; k < n; k++) {
                char path[4096];

                snprintf(path, sizeof(path), "%s/%s", argv[i], names[k]);
                bad += run_file(path) < 0;
                free(names[k]);
            }
            free(names);
        } else {
            n = 1;
            bad = run_file(argv[i]) < 0;
        }
        printf("%sok %d - %s: %zu inputs replayed\n", bad || n == 0 ? "not " : "", i, argv[i], n);
        failed |= bad || n == 0;
    }
    return failed;
}
