/* ca_internal.h: what ca.c, ca_policy.c and ca_db.c share (library-private).
 * ca_db is the only part that runs SQL: a second backend (PostgreSQL)
 * replaces ca_db.c and nothing else. */
#ifndef CSCERT_CA_INTERNAL_H
#define CSCERT_CA_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "cscert/ca.h"

/* The CA's read-only part, shared by every handle (cscert_ca_clone). */
/* 64 slots, 300 s: passwords verified lately (see ca_auth_cached in ca.c). */
#define CA_AUTH_CACHE_SLOTS 64
#define CA_AUTH_CACHE_SECONDS 300

struct ca_auth_cache {
    pthread_mutex_t mu;
    unsigned char secret[32];  /* per process, random: the tags' HMAC key */
    struct {
        unsigned char tag[32]; /* HMAC(secret, stored hash NUL password) */
        time_t until;          /* 0: empty */
    } slot[CA_AUTH_CACHE_SLOTS];
    unsigned next;             /* round robin */
};

struct ca_shared {
    int refs;                  /* guarded by the atomic builtins */
    struct ca_auth_cache auth; /* shared by every clone (worker) */
    char *home, *name, *host, *audit_path;
    EVP_PKEY *key;
    X509 *cert;
    STACK_OF(X509) *chain;     /* issuing certificate first, root last */
    const char *md;            /* "SHA256" or "SHA384": the CA's signing hash */
};

typedef struct ca_db ca_db;

struct cscert_ca {
    struct ca_shared *sh;
    ca_db *db;
};

/* ---- ca_db.c ---- */

/* One queue row. Strings are the row's (ca_db_request_clear frees). */
typedef struct ca_db_request {
    int64_t id;
    char csr_sha256[65];
    unsigned char *csr_der;
    size_t csr_len;
    char *template_name, *requester, *source, *subject, *sans;
    cscert_ca_disposition disposition;
    char *reason;
    char serial[2 * CSCERT_CA_SERIAL_BYTES + 1];
    char submitted[32], decided[32];
} ca_db_request;

void ca_db_request_clear(ca_db_request *r);

int ca_db_open(ca_db **out, const char *home, int create);
void ca_db_close(ca_db *db);
int ca_db_begin(ca_db *db);
int ca_db_commit(ca_db *db);
void ca_db_rollback(ca_db *db);

/* meta: "name", "crl_url", "crl_number", "state" ("active", "awaiting-cert"). */
int ca_db_meta_get(char **out, ca_db *db, const char *key);   /* ENOTFOUND */
int ca_db_meta_set(ca_db *db, const char *key, const char *value);

int ca_db_template_get(cscert_ca_template *out, ca_db *db, const char *name);
/* insert 1: EEXISTS when present; insert 0: ENOTFOUND when absent. Grants untouched. */
int ca_db_template_put(ca_db *db, const cscert_ca_template *t, int insert);
int ca_db_template_remove(ca_db *db, const char *name);
/* "WebServer, Client" for messages; *out is the caller's. */
int ca_db_template_names(char **out, ca_db *db);
int ca_db_template_list(json_t **out, ca_db *db);
/* add 1: grant (EEXISTS when granted); add 0: revoke (ENOTFOUND). */
int ca_db_grant(ca_db *db, const char *template_name, const char *group, int add);

int ca_db_account_put(ca_db *db, const char *name, const char *groups, const char *pwhash,
                      int insert);
int ca_db_account_get(char **groups, char **pwhash, ca_db *db, const char *name);
int ca_db_account_update(ca_db *db, const char *name, const char *groups, const char *pwhash);
int ca_db_account_remove(ca_db *db, const char *name);
int ca_db_account_list(json_t **out, ca_db *db);

/* The newest entry for (csr hash, requester, template); ENOTFOUND. */
int ca_db_request_find(ca_db_request *out, ca_db *db, const char *csr_sha256,
                       const char *requester, const char *template_name);
int ca_db_request_get(ca_db_request *out, ca_db *db, int64_t id);
int ca_db_request_insert(int64_t *id, ca_db *db, const ca_db_request *r);
int ca_db_request_decide(ca_db *db, int64_t id, cscert_ca_disposition d, const char *serial,
                         const char *reason);
int ca_db_request_list(json_t **out, ca_db *db, int pending_only);

/* sans: "a,b" as recorded (NULL: read from x). */
int ca_db_cert_insert(ca_db *db, const char *serial, int64_t request_id, X509 *x,
                      const char *sans, const char *requester, const char *template_name);
int ca_db_cert_get(X509 **out, ca_db *db, const char *serial);
/* Who requested the certificate recorded under serial, provided its DER is
 * der; *revoked 1 when it is revoked. ENOTFOUND for an unknown serial or
 * another certificate under it. */
int ca_db_cert_owner(char **requester, int *revoked, ca_db *db, const char *serial, const unsigned char *der,
                     int der_len);
/* EEXISTS when already revoked; ENOTFOUND for an unknown serial. */
int ca_db_cert_revoke(ca_db *db, const char *serial, int reason_code);
/* Call fn for every revoked certificate (serial hex, revocation time, reason code). */
int ca_db_revoked_each(ca_db *db, int (*fn)(void *ud, const char *serial, const char *when,
                                            int reason), void *ud);
int ca_db_issued_list(json_t **out, ca_db *db);

/* ---- ca.c helpers shared with ca_policy.c ---- */

/* "SHA256" -> "sha256"; the digest a request or certificate was signed with. */
int ca__sig_hash_name(char out[16], int sig_nid);
/* asn1 time -> RFC 3339 UTC. */
void ca__time_rfc3339(char out[32], const ASN1_TIME *t);
/* upper-case hex of a serial (<= 20 bytes). */
int ca__serial_hex(char *out, size_t n, const ASN1_INTEGER *serial);

#endif
