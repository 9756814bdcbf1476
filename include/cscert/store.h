/* store.h: the machine certificate store of one server's home.
 * Owns: the SQLite file HOME/cscert.db (schema, migrations, transactions),
 * the home's modes (0700 directory, 0600 files), the stores My/Root/CA,
 * private keys (PKCS#8 DER; wiped after use), pending requests,
 * assignments, bindings, settings (the published topology, the computer
 * FQDN) and the append-only audit log HOME/audit.jsonl.
 * Uses: error, key (PKCS#8, SPKI hash), x509 (thumbprints), SQLite, OpenSSL, Jansson (audit).
 * It is the only module that runs SQL on the cscert side; it knows nothing
 * of naming rules or of the network. */
#ifndef CSCERT_STORE_H
#define CSCERT_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cscert/error.h"

typedef struct cscert_store cscert_store;

typedef enum {
    CSCERT_STORE_ALL = 0,
    CSCERT_STORE_MY = 1,   /* personal: certificates that may have a key */
    CSCERT_STORE_ROOT = 2, /* trusted roots */
    CSCERT_STORE_CA = 3    /* intermediates */
} cscert_store_kind;

/* "My", "Root", "CA"; parsing ignores case. */
const char *cscert_store_kind_name(cscert_store_kind k);
int cscert_store_kind_parse(cscert_store_kind *out, const char *s);

/* Open HOME/cscert.db, creating the home (0700) and the file (0600) with
 * the right umask, and migrating the schema (PRAGMA user_version). */
int cscert_store_open(cscert_store **out, const char *home);
void cscert_store_free(cscert_store *st);
const char *cscert_store_home(const cscert_store *st);

/* One transaction per change: BEGIN IMMEDIATE (waits, bounded, for other
 * cscert processes), COMMIT, ROLLBACK. Writers below assume one is open
 * when several of them must stand or fall together. */
int cscert_store_begin(cscert_store *st);
int cscert_store_commit(cscert_store *st);
void cscert_store_rollback(cscert_store *st);

/* Settings: "topology" (the published JSON), "computer_fqdn".
 * get: ENOTFOUND when unset; *out is the caller's (free()). */
int cscert_store_get_setting(char **out, cscert_store *st, const char *key);
int cscert_store_set_setting(cscert_store *st, const char *key, const char *value);

/* Private keys. */
int cscert_store_put_key(int64_t *out_id, cscert_store *st, EVP_PKEY *pkey, int exportable);
int cscert_store_get_key(EVP_PKEY **out, cscert_store *st, int64_t key_id);
int cscert_store_delete_key(cscert_store *st, int64_t key_id);
/* The stored key whose public half is pub's (SPKI SHA-256); ENOTFOUND. */
int cscert_store_find_key(int64_t *out_id, cscert_store *st, EVP_PKEY *pub);

/* Certificates. */
typedef struct cscert_cert_rec {
    char thumbprint[41];     /* SHA-1 of the DER, upper-case hex */
    cscert_store_kind store;
    X509 *x509;
    char *friendly_name;     /* NULL when none */
    int64_t key_id;          /* 0: no private key */
    int exportable;          /* the key's flag; 0 without a key */
    char added_at[32];       /* RFC 3339 UTC */
} cscert_cert_rec;

/* Add x to a store; thumb_out (may be NULL) gets its thumbprint.
 * EEXISTS when that thumbprint is already stored (in any store). */
int cscert_store_put_cert(char thumb_out[41], cscert_store *st, cscert_store_kind kind, X509 *x,
                          const char *friendly_name, int64_t key_id);
int cscert_store_get_cert(cscert_cert_rec **out, cscert_store *st, const char *thumbprint);
/* kind CSCERT_STORE_ALL lists every store; ordered by store, then subject. */
int cscert_store_list_certs(cscert_cert_rec ***out, size_t *n, cscert_store *st, cscert_store_kind kind);
/* A certificate's listing, read from its row without decoding the
 * certificate (`store list` over 10,000 of them): ordered as
 * cscert_store_list_certs. */
typedef struct cscert_cert_summary {
    char thumbprint[41];
    cscert_store_kind store;
    char *subject;           /* "CN=a, O=b" (cscert_x509_name_text); NULL when unreadable */
    char not_after[32];      /* RFC 3339 UTC; "" when unreadable */
    char *friendly_name;     /* NULL when none */
    int64_t key_id;          /* 0: no private key */
    int exportable;
} cscert_cert_summary;
int cscert_store_list_summaries(cscert_cert_summary **out, size_t *n, cscert_store *st, cscert_store_kind kind);
void cscert_cert_summaries_free(cscert_cert_summary *v, size_t n);
int cscert_store_set_cert_key(cscert_store *st, const char *thumbprint, int64_t key_id);
int cscert_store_set_friendly_name(cscert_store *st, const char *thumbprint, const char *name);
int cscert_store_delete_cert(cscert_store *st, const char *thumbprint);
void cscert_cert_rec_free(cscert_cert_rec *r);
void cscert_cert_recs_free(cscert_cert_rec **v, size_t n);
/* Root and CA certificates, for chain building (the caller frees with
 * sk_X509_pop_free(..., X509_free)). */
int cscert_store_trust(STACK_OF(X509) **roots, STACK_OF(X509) **intermediates, cscert_store *st);

/* Pending requests: a key waiting for its certificate. The key is
 * committed before the request leaves the machine (DESIGN, reliability). */
typedef struct cscert_pending {
    int64_t id;
    int64_t key_id;
    char created[32];        /* RFC 3339 UTC */
    char *uses;              /* canonical, comma-separated */
    char *names;             /* CN first, then SANs, comma-separated */
    char *friendly_name;
    char *template_name;
    char *ca;                /* CA name; NULL for an offline request */
    char *computer_fqdn;
    char *output_path;       /* offline request file; NULL online */
    char *csr_pem;
    char *state;             /* "offline", "pending" (CA said 202), "submitted" */
    char *note;              /* e.g. the CA's request ID or Retry-After */
    int exportable;
} cscert_pending;

int cscert_store_put_pending(int64_t *out_id, cscert_store *st, const cscert_pending *p);
int cscert_store_get_pending(cscert_pending **out, cscert_store *st, int64_t id);
int cscert_store_find_pending_by_key(cscert_pending **out, cscert_store *st, int64_t key_id);
int cscert_store_list_pending(cscert_pending ***out, size_t *n, cscert_store *st);
int cscert_store_set_pending_state(cscert_store *st, int64_t id, const char *state, const char *note);
/* Drop the request; drop_key also deletes its key (cancel), 0 keeps it
 * (the key now belongs to an installed certificate). */
int cscert_store_delete_pending(cscert_store *st, int64_t id, int drop_key);
void cscert_pending_free(cscert_pending *p);
void cscert_pendings_free(cscert_pending **v, size_t n);

/* Assignments: use -> thumbprint (canonical use names, see names.h). */
typedef struct cscert_assignment {
    char use[32];
    char thumbprint[41];
    char effective_date[32];      /* "" when none */
    char previous_thumbprint[41]; /* "" when none */
    char assigned_at[32];
} cscert_assignment;

/* A roll staged with --roll and an --effective-date still ahead of now:
 * the previous certificate stays in force until that date (spec 2.3:
 * "On that date the new certificate becomes current and the old one
 * becomes previous"). 1 staged, 0 not. */
int cscert_store_assignment_staged(const cscert_assignment *a, time_t now);
/* The thumbprint in force now: the previous one while a roll is staged
 * (when there is one), else the assigned one. What `web serve` serves,
 * `web verify` and `check` judge, and `remove-cert` protects. */
const char *cscert_store_assignment_in_force(const cscert_assignment *a, time_t now);

int cscert_store_set_assignment(cscert_store *st, const cscert_assignment *a);
int cscert_store_get_assignment(cscert_assignment *out, cscert_store *st, const char *use);
int cscert_store_list_assignments(cscert_assignment **out, size_t *n, cscert_store *st);
int cscert_store_delete_assignment(cscert_store *st, const char *use);

/* HTTPS bindings (web module): site -> address:port, use. */
typedef struct cscert_binding {
    char site[64];
    char address[64];
    int port;
    char use[32];
} cscert_binding;

int cscert_store_set_binding(cscert_store *st, const cscert_binding *b);
int cscert_store_list_bindings(cscert_binding **out, size_t *n, cscert_store *st);
int cscert_store_delete_binding(cscert_store *st, const char *site);

/* Audit: one JSON object a line in HOME/audit.jsonl, outside the database
 * so that a refusal leaves cscert.db byte-for-byte unchanged.
 * outcome: "ok", "refused", "forced", "failed". detail may be NULL. */
int cscert_store_audit(cscert_store *st, const char *command, const char *object,
                       const char *outcome, const char *detail);
/* Every entry, oldest first: a JSON array (caller json_decref()s). */
int cscert_store_audit_read(json_t **out, cscert_store *st);

/* Now as RFC 3339 UTC ("2026-11-22T14:15:29Z"). */
void cscert_now_rfc3339(char out[32]);

#endif
