/* check.h: Test-CsCertificateConfiguration, done better: every problem
 * of this server's certificates, each with the command that fixes it.
 * Owns: the list of findings and their severities; it reads the store
 * and the topology and never changes anything.
 * Uses: error, store, topology, names, certinfo, assign, x509. */
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
                               "missing-name", "weak-key", "sha1-signature", "no-server-eku" */
    char *message;          /* one line, naming the object */
    char *name;             /* missing-name: the name; else NULL */
    char *fix;              /* the command (or step) that fixes it; NULL when none */
} cscert_finding;

typedef struct cscert_check_opts {
    int warn_days;          /* <= 0: CSCERT_CHECK_WARN_DAYS */
    long long now;          /* 0: time(NULL); tests pin it */
} cscert_check_opts;

/* Every finding for the uses this server's role requires (DESIGN
 * clarifications). n == 0 means clean. */
int cscert_check_run(cscert_finding **out, size_t *n, cscert_store *st, const cscert_check_opts *o);
void cscert_findings_free(cscert_finding *v, size_t n);
/* {"clean": bool, "findings": [{severity, use, thumbprint, kind, message, name, fix}]} */
json_t *cscert_findings_json(const cscert_finding *v, size_t n);

#endif
