/* check.h: Test-CsCertificateConfiguration, done better: every problem
 * of this server's certificates, each with the command that fixes it.
 * Owns: the list of findings and their severities; it reads the store
 * and the topology and never changes anything.
 * While `web serve` runs on this home, `web verify`'s findings about the
 * bindings are part of the check (issue 6).
 * Uses: error, store, topology, names, certinfo, assign, x509, web. */
#ifndef CSCERT_CHECK_H
#define CSCERT_CHECK_H

#include <stddef.h>

#include <jansson.h>

#include "cscert/store.h"

/* 30 days: the default --warn-days, Lync's "expiring soon". */
#define CSCERT_CHECK_WARN_DAYS 30

typedef enum { CSCERT_SEV_ERROR = 0, CSCERT_SEV_WARNING = 1 } cscert_severity;

typedef struct cscert_finding {
    cscert_severity severity;
    char use[192];          /* the use(s), comma-separated; "" for none */
    char thumbprint[41];    /* "" when none */
    const char *kind;       /* "unassigned", "missing-certificate", "missing-key",
                               "untrusted-chain", "expired", "not-yet-valid", "expiring",
                               "missing-name", "weak-key", "sha1-signature", "no-server-eku";
                               a CA certificate in the chain: "ca-expired", "ca-expiring",
                               "ca-not-yet-valid" (thumbprint: the CA's; use: every use below it);
                               a binding while web serve runs: web.h's "binding-*" kinds
                               (thumbprint: the served certificate, else the assigned one) */
    char *message;          /* one line, naming the object */
    char *name;             /* missing-name: the name; else NULL */
    char *fix;              /* the command (or step) that fixes it; NULL when none */
} cscert_finding;

typedef struct cscert_check_opts {
    int warn_days;          /* <= 0: CSCERT_CHECK_WARN_DAYS */
    long long now;          /* 0: time(NULL); tests pin it */
    int no_web;             /* 1: leave a running web serve's bindings out */
    int web_timeout_ms;     /* per binding; <= 0: CSCERT_WEB_VERIFY_TIMEOUT_MS */
} cscert_check_opts;

/* Every finding for the uses this server's role requires (DESIGN
 * clarifications), then for the CA certificates of their chains, then
 * (web serve running, see web_running in web.h) for each binding.
 * n == 0 means clean. */
int cscert_check_run(cscert_finding **out, size_t *n, cscert_store *st, const cscert_check_opts *o);
void cscert_findings_free(cscert_finding *v, size_t n);
/* {"clean": bool, "findings": [{severity, use, thumbprint, kind, message, name, fix}]} */
json_t *cscert_findings_json(const cscert_finding *v, size_t n);

#endif
