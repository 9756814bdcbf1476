/* jsonl.h: the append-only JSON-lines audit files (HOME/audit.jsonl of a
 * cscert home and of a csca home): one object a line, one write() per
 * line with O_APPEND, so concurrent writers never interleave.
 * Owns: the file's mode (0600), the line's size bound, reading it back.
 * Uses: error, Jansson. Library-internal (store and ca call it). */
#ifndef CSCERT_JSONL_H
#define CSCERT_JSONL_H

#include <jansson.h>

/* 64 KiB: an audit line is one decision, never a certificate. */
#define CSCERT_JSONL_LINE_MAX 65536
/* 64 MiB: the log is read whole by `log`; past this, rotate. */
#define CSCERT_JSONL_READ_MAX (64L << 20)

/* Append o (not stolen) as one compact line. sync: fsync after the write
 * (cscert: every line; csca serve: the database is the durable record of
 * an issuance, and an fsync per line would halve its rate). EIO naming
 * path. */
int cscert__jsonl_append(const char *path, json_t *o, int sync);
/* Every object of the array arr (not stolen), one line each, in one
 * write(): a batch of decisions costs one append. */
int cscert__jsonl_append_all(const char *path, json_t *arr, int sync);
/* A JSON string of s for an audit line; NULL s gives NULL (omitted with
 * "s:o*"). A string that is not UTF-8 (an account name from an
 * Authorization header, a message quoting one) is kept, its bytes outside
 * UTF-8 written as the text "\xNN": Jansson refuses invalid UTF-8, and an
 * audit line must never be dropped for it. */
json_t *cscert__jsonl_str(const char *s);
/* Every line that parses, as an array; a missing file is an empty array. */
int cscert__jsonl_read(json_t **out, const char *path);

#endif
