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

static int write_lines(const char *path, const char *buf, size_t len, int sync)
{
    ssize_t w;
    int fd, rc = CSCERT_OK;
    mode_t old_mask = umask(077);

    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    umask(old_mask);
    if (fd < 0)
        return cscert_error_setf(CSCERT_EIO, path, "check the home's permissions",
                                 "cannot open the audit log: %s", strerror(errno));
    w = write(fd, buf, len);
    if (w != (ssize_t)len || (sync && fsync(fd) < 0))
        rc = cscert_error_setf(CSCERT_EIO, path, "check free space",
                               "cannot append to the audit log: %s", strerror(errno));
    close(fd);
    return rc;
}

/* 1024 characters: what an over-long field keeps of itself. */
#define JSONL_FIELD_KEEP 1024

/* o as one line of at most CSCERT_JSONL_LINE_MAX - 1 bytes, always valid
 * JSON: when too long (a request naming 400 long SANs), each string field
 * over JSONL_FIELD_KEEP keeps its start and says how much was left out;
 * cutting the line itself made it unreadable, and `log` dropped it. */
static char *dump_bounded(json_t *o)
{
    char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER), *note;
    json_t *copy, *v;
    const char *k;

    if (!line || strlen(line) < CSCERT_JSONL_LINE_MAX)
        return line;
    free(line);
    if (!(copy = json_deep_copy(o)))
        return NULL;
    json_object_foreach(copy, k, v) {
        size_t n = json_is_string(v) ? json_string_length(v) : 0, keep = JSONL_FIELD_KEEP;
        const unsigned char *s = (const unsigned char *)json_string_value(v);

        if (n <= keep)
            continue;
        while (keep > 0 && (s[keep] & 0xc0) == 0x80) /* never inside a UTF-8 character */
            keep--;
        if (asprintf(&note, "%.*s... (%zu more bytes left out of the audit line)", (int)keep, (const char *)s,
                     n - keep) >= 0) {
            json_object_set_new(copy, k, json_string(note));
            free(note);
        }
    }
    line = json_dumps(copy, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(copy);
    if (line && strlen(line) >= CSCERT_JSONL_LINE_MAX) {
        free(line);
        line = strdup("{\"audit\":\"an event too large to record\"}");
    }
    return line;
}

int cscert__jsonl_append_all(const char *path, json_t *arr, int sync)
{
    char *buf = NULL;
    size_t len = 0, cap = 0, i;
    json_t *o;
    int rc;

    json_array_foreach(arr, i, o) {
        char *line = dump_bounded(o);
        size_t n = line ? strlen(line) : 0;

        if (!line) {
            free(buf);
            return cscert__oom();
        }
        if (len + n + 1 > cap) {
            size_t ncap = (len + n + 1) * 2;
            char *nb = realloc(buf, ncap);

            if (!nb) {
                free(line);
                free(buf);
                return cscert__oom();
            }
            buf = nb;
            cap = ncap;
        }
        memcpy(buf + len, line, n);
        len += n;
        buf[len++] = '\n';
        free(line);
    }
    rc = len ? write_lines(path, buf, len, sync) : CSCERT_OK;
    free(buf);
    return rc;
}

int cscert__jsonl_append(const char *path, json_t *o, int sync)
{
    json_t *arr = json_array();
    int rc;

    if (!arr || json_array_append(arr, o) < 0) {
        json_decref(arr);
        return cscert__oom();
    }
    rc = cscert__jsonl_append_all(path, arr, sync);
    json_decref(arr);
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

/* Length of the valid UTF-8 sequence at p (1-4), 0 when it is not one. */
static size_t utf8_len(const unsigned char *p)
{
    size_t n, i;
    unsigned cp;

    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        n = 2, cp = p[0] & 0x1f;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        n = 3, cp = p[0] & 0x0f;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        n = 4, cp = p[0] & 0x07;
    else
        return 0;
    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    /* Overlong forms, surrogates, beyond U+10FFFF. */
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

json_t *cscert__jsonl_str(const char *s)
{
    const unsigned char *p;
    char *buf, *o;
    json_t *j;
    size_t len;

    if (!s)
        return NULL;
    if ((j = json_string(s)))
        return j;
    len = strlen(s);
    if (len > CSCERT_JSONL_LINE_MAX / 4 || !(buf = malloc(len * 4 + 1)))
        return json_string("(not UTF-8)");
    for (p = (const unsigned char *)s, o = buf; *p;) {
        size_t n = utf8_len(p);

        if (n) {
            memcpy(o, p, n);
            o += n;
            p += n;
        } else {
            o += sprintf(o, "\\x%02X", *p++);
        }
    }
    *o = '\0';
    j = json_string(buf);
    free(buf);
    return j;
}
