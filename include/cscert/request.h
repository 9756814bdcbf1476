/* request.h: a certificate request end to end, as Request-CsCertificate
 * -New does it: the names from the topology, a key made in-process, the
 * PKCS#10, and the pending key in the store.
 * Owns: the order that keeps keys safe: a pending key is committed before
 * its request leaves the machine (offline: before the file is renamed into
 * place; online: before the first byte goes to the CA).
 * Uses: error, topology, names, key, csr, x509, store (for --renew, the
 * assignments and the certificates they name). Not the network: the
 * online client (enroll_est) takes a prepared request from here. */
#ifndef CSCERT_REQUEST_H
#define CSCERT_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cscert/store.h"

typedef struct cscert_request_opts {
    const char *types;            /* "Default, WebServicesInternal" (any case) */
    const char *computer_fqdn;    /* NULL: the published identity */
    int all_sip_domain;
    const char *domain_names;     /* "a,b": added SANs, or NULL */
    const char *friendly_name;    /* NULL: generated */
    const char *key_type;         /* "rsa:2048" (default), "ec:P-256", ... */
    const char *hash;             /* "sha256" (default) */
    int exportable;               /* --private-key-exportable */
    int client_eku;               /* R16 */
    const char *template_name;    /* "WebServer" (default) */
    const char *ca;               /* online: the CA name */
    const char *organization, *ou, *city, *state, *country;
    /* --renew: a new key for the certificates assigned to these uses on
     * this server, with every name they carry (spec 5.3: renewals that
     * lose a SAN) plus any the topology now requires; their key type,
     * exportable flag and subject O/OU/L/ST/C unless given here. */
    int renew;
} cscert_request_opts;

/* A prepared request: key, PKCS#10, names; nothing stored yet. */
typedef struct cscert_request cscert_request;

int cscert_request_prepare(cscert_request **out, cscert_store *st, const cscert_request_opts *o);
void cscert_request_free(cscert_request *r);

/* What was computed: the request's PEM, its names (CN first, comma-
 * separated), its canonical uses, whether its key is exportable (R17). */
const char *cscert_request_pem(const cscert_request *r);
const char *cscert_request_names(const cscert_request *r);
const char *cscert_request_uses(const cscert_request *r);
int cscert_request_exportable(const cscert_request *r);
X509_REQ *cscert_request_x509_req(const cscert_request *r);
/* Renewal: the thumbprints renewed and the names carried over from them
 * that the topology alone would not give (comma-separated; "" when none);
 * NULL for a new request. */
const char *cscert_request_renews(const cscert_request *r);
const char *cscert_request_carried(const cscert_request *r);

/* Offline: temp file (O_EXCL) beside path, commit the pending key, write,
 * fsync, rename; when a step after the commit fails, the row is deleted
 * again and the temp file removed. *out_id: the pending request's ID. */
int cscert_request_write_offline(int64_t *out_id, cscert_store *st, cscert_request *r,
                                 const char *path);

/* Online: commit the pending key (state "submitted") before the request
 * is sent; the enrollment client then installs or marks it pending. */
int cscert_request_commit_pending(int64_t *out_id, cscert_store *st, cscert_request *r);

/* Cancel: drop the pending request and its key (one transaction). */
int cscert_request_cancel(cscert_store *st, int64_t id);

#endif
