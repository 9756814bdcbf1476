/* error.h: one error type and one last message per thread.
 * Owns: the cscert_err codes, their texts, the per-thread "WHAT: WHY; FIX"
 * message, warnings, and draining OpenSSL's error queue into a message.
 * Uses: libc and OpenSSL's ERR_* only. Every other module reports through it. */
#ifndef CSCERT_ERROR_H
#define CSCERT_ERROR_H

#include <stdarg.h>

typedef enum {
    CSCERT_OK = 0,
    CSCERT_EINVAL = -1,    /* bad input: a file, a flag value, a topology */
    CSCERT_ENOTFOUND = -2, /* no such certificate, request, use, CA */
    CSCERT_EEXISTS = -3,   /* already there */
    CSCERT_EAUTH = -4,     /* wrong password or credentials */
    CSCERT_EPOLICY = -5,   /* refused by a rule (R-numbered, or a CA's template) */
    CSCERT_ECRYPTO = -6,   /* OpenSSL failed */
    CSCERT_EIO = -7,       /* file, database or network */
    CSCERT_ENOMEM = -8,
    CSCERT_EPENDING = -9   /* the CA holds the request for approval */
} cscert_err;

/* The code's fixed text ("invalid input", ...). */
const char *cscert_strerror(int code);

/* Record the last error of this thread as "WHAT: WHY; FIX" and return code,
 * so that `return cscert_error_set(...)` reads as one statement.
 * what or fix may be NULL. */
int cscert_error_set(int code, const char *what, const char *why, const char *fix);
/* The same with a printf-style WHY (the format comes last, as C requires). */
int cscert_error_setf(int code, const char *what, const char *fix, const char *why_fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The last message of this thread ("" when none) and its code. */
const char *cscert_error_last(void);
int cscert_error_code(void);
void cscert_error_clear(void);

/* Library-internal: drain OpenSSL's error queue into WHY ("generating
 * rsa:2048: <openssl reason>") and set CSCERT_ECRYPTO. */
int cscert__crypto_error(const char *what, const char *why_fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Library-internal: out of memory, a static message (no allocation). */
int cscert__oom(void);

/* Warnings (weak key, SHA-1, a name the CA dropped...): sent to a handler
 * the tool installs; the default writes "cscert: warning: MSG" to stderr. */
typedef void (*cscert_warn_fn)(const char *msg, void *ud);
void cscert_set_warn_handler(cscert_warn_fn fn, void *ud);
void cscert__warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
