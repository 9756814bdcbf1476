/* jsonl.c: see include/cscert/jsonl.h. */
#include "cscert/jsonl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cscert/error.h"

int cscert__jsonl_append(const char *path, json_t *o, int sync)
{
    char *line;
    size_t len;
    ssize_t w;
    int fd, rc = CSCERT_OK;
    mode_t old_mask;

    if (!(line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER)))
        return cscert__oom();
    len = strlen(line);
    if (len + 1 > CSCERT_JSONL_LINE_MAX)
        len = CSCERT_JSONL_LINE_MAX - 1; /* never: the fields are short */
    line[len++] = '\n'; /* replaces the NUL; one write() per line, O_APPEND */
    old_mask = umask(077);
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    umask(old_mask);
    if (fd < 0) {
        rc = cscert_error_setf(CSCERT_EIO, path, "check the home's permissions",
                               "cannot open the audit log: %s", strerror(errno));
    } else {
        w = write(fd, line, len);
        if (w != (ssize_t)len || (sync && fsync(fd) < 0))
            rc = cscert_error_setf(CSCERT_EIO, path, "check free space",
                                   "cannot append to the audit log: %s", strerror(errno));
        close(fd);
    }
    free(line);
    return rc;
}

int cscert__jsonl_read(json_t **out, const char *path)
{
    FILE *f;
    json_t *arr = json_array();
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    struct stat sb;

    *out = NULL;
    if (!arr)
        return cscert__oom();
    f = fopen(path, "r");
    if (!f) {
        *out = arr; /* no log yet: nothing has changed */
        return CSCERT_OK;
    }
    if (fstat(fileno(f), &sb) == 0 && sb.st_size > CSCERT_JSONL_READ_MAX)
        cscert__warn("%s is over %ld MiB; rotate it", path, CSCERT_JSONL_READ_MAX >> 20);
    while ((len = getline(&line, &cap, f)) > 0) {
        json_t *o = json_loadb(line, (size_t)len, 0, NULL);

        if (o)
            json_array_append_new(arr, o);
    }
    free(line);
    fclose(f);
    *out = arr;
    return CSCERT_OK;
}
