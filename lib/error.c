/* error.c: see include/cscert/error.h. */
#include "cscert/error.h"

#include <openssl/err.h>
#include <stdio.h>
#include <string.h>

/* 1 KiB: one line naming an object, its reason and the fix. */
#define CSCERT_ERROR_MAX 1024

static _Thread_local char last_msg[CSCERT_ERROR_MAX];
static _Thread_local int last_code;

const char *cscert_strerror(int code)
{
    switch ((cscert_err)code) {
    case CSCERT_OK: return "success";
    case CSCERT_EINVAL: return "invalid input";
    case CSCERT_ENOTFOUND: return "not found";
    case CSCERT_EEXISTS: return "already exists";
    case CSCERT_EAUTH: return "authentication failed";
    case CSCERT_EPOLICY: return "refused by policy";
    case CSCERT_ECRYPTO: return "cryptographic operation failed";
    case CSCERT_EIO: return "input/output error";
    case CSCERT_ENOMEM: return "out of memory";
    case CSCERT_EPENDING: return "request pending";
    }
    return "unknown error";
}

static void compose(const char *what, const char *why, const char *fix)
{
    snprintf(last_msg, sizeof(last_msg), "%s%s%s%s%s", what ? what : "",
             what ? ": " : "", why ? why : cscert_strerror(last_code),
             fix ? "; " : "", fix ? fix : "");
}

int cscert_error_set(int code, const char *what, const char *why, const char *fix)
{
    last_code = code;
    compose(what, why, fix);
    return code;
}

int cscert_error_setf(int code, const char *what, const char *fix, const char *why_fmt, ...)
{
    char why[CSCERT_ERROR_MAX];
    va_list ap;

    va_start(ap, why_fmt);
    vsnprintf(why, sizeof(why), why_fmt, ap);
    va_end(ap);
    return cscert_error_set(code, what, why, fix);
}

const char *cscert_error_last(void)
{
    return last_msg;
}

int cscert_error_code(void)
{
    return last_code;
}

void cscert_error_clear(void)
{
    last_msg[0] = '\0';
    last_code = CSCERT_OK;
}

int cscert__crypto_error(const char *what, const char *why_fmt, ...)
{
    char why[CSCERT_ERROR_MAX / 2], reason[CSCERT_ERROR_MAX / 2] = "";
    unsigned long e, first = 0;
    va_list ap;

    va_start(ap, why_fmt);
    vsnprintf(why, sizeof(why), why_fmt, ap);
    va_end(ap);
    /* The first error queued is the root cause; drain the rest. */
    while ((e = ERR_get_error()) != 0)
        if (!first)
            first = e;
    if (first)
        ERR_error_string_n(first, reason, sizeof(reason));
    return cscert_error_setf(CSCERT_ECRYPTO, what, NULL, "%s%s%s", why,
                             first ? ": " : "", reason);
}

int cscert__oom(void)
{
    last_code = CSCERT_ENOMEM;
    /* No formatting: the static text needs no memory. */
    strcpy(last_msg, "out of memory");
    return CSCERT_ENOMEM;
}

static void default_warn(const char *msg, void *ud)
{
    (void)ud;
    fprintf(stderr, "cscert: warning: %s\n", msg);
}

static cscert_warn_fn warn_fn = default_warn;
static void *warn_ud;

void cscert_set_warn_handler(cscert_warn_fn fn, void *ud)
{
    warn_fn = fn ? fn : default_warn;
    warn_ud = ud;
}

void cscert__warn(const char *fmt, ...)
{
    char msg[CSCERT_ERROR_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    warn_fn(msg, warn_ud);
}
