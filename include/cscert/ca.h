/* ca.h: the enterprise CA behind `csca` (an AD CS enterprise CA named
 * "FQDN\Instance"), as a library the CLI, `csca serve` and the tests share.
 * Owns: the CA home (HOME/csca.db, HOME/ca.key 0600, optionally encrypted
 * with a password, HOME/ca.pem and HOME/chain.pem), the CA's own key and
 * certificate (self-signed root or subordinate), templates and their
 * policy, accounts (scrypt-hashed passwords), groups and Enroll grants, the
 * request queue (ID, disposition issued|pending|denied), issuance (serials
 * of 16 random bytes, AKI/SKI, the request's SANs, never CA:TRUE, notAfter
 * capped at the issuer's), revocation, the CRL, and the audit log
 * HOME/audit.jsonl.
 * Split: ca.c (home, key, signing, CRL), ca_policy.c (template rules,
 * password hashing: pure functions, no SQL), ca_db.c (every SQL statement;
 * the one module a second backend would replace).
 * Uses: error, key, csr, x509, certinfo (chains), topology (cscert_fqdn_check only), OpenSSL,
 * SQLite (ca_db.c only), Jansson.
 * Not the network: `csca serve` (ca_serve.h) calls in here.
 *
 * Threads: one cscert_ca per thread (each owns its SQLite connection);
 * the CA key is read-only once opened and may be shared through
 * cscert_ca_clone(). */
#ifndef CSCERT_CA_H
#define CSCERT_CA_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cscert/error.h"

/* /var/lib/csca: where `csca` keeps its CA without --home or $CSCA_HOME. */
#define CSCERT_CA_HOME_DEFAULT "/var/lib/csca"
/* "WebServer": the template that exists from init (Lync takes the
 * template name, not its display name). */
#define CSCERT_CA_TEMPLATE_DEFAULT "WebServer"
/* 63: template, account and group names (AD's sAMAccountName is 20,
 * template common names 64). */
#define CSCERT_CA_NAME_MAX 63
/* 16: serial bytes (RFC 5280 allows 20; 16 random bytes with the top bit
 * cleared keep it positive without a leading zero byte). */
#define CSCERT_CA_SERIAL_BYTES 16
/* 3650 days: the default root validity ("10y"). */
#define CSCERT_CA_VALIDITY_DEFAULT_DAYS 3650
/* 730 days: WebServer's default validity (2 years, as AD CS). */
#define CSCERT_CA_TEMPLATE_VALIDITY_DEFAULT_DAYS 730
/* 7 days: the CRL's nextUpdate. */
#define CSCERT_CA_CRL_DAYS 7
/* 100000 PBKDF2-SHA256 rounds: ~30 ms on the reference machine, paid
 * once per TLS connection (DESIGN: not hashed again on that connection). */
#define CSCERT_CA_PBKDF2_ITER 100000
/* 1024: password bytes; longer is refused, not truncated. */
#define CSCERT_CA_PASSWORD_MAX 1024

typedef struct cscert_ca cscert_ca;

/* The home: arg (--home) when given, else $CSCA_HOME, else the default. */
const char *cscert_ca_home_resolve(const char *arg);

/* ---- the CA itself ---- */

typedef struct cscert_ca_init_opts {
    const char *name;          /* "FQDN\Instance", FQDN checked by cscert_fqdn_check */
    const char *key_type;      /* cscert_key_spec_parse; NULL: rsa:4096 */
    int validity_days;         /* <= 0: CSCERT_CA_VALIDITY_DEFAULT_DAYS */
    const char *key_password;  /* NULL: ca.key unencrypted (0600); else PKCS#8 AES-256 + scrypt/PBKDF2 */
    const char *subordinate_request; /* non-NULL: write a PKCS#10 for a parent CA
                                        there (PEM) instead of self-signing; the CA
                                        issues nothing until cscert_ca_install_cert */
    const char *actor;         /* who, for the audit log; NULL: none */
} cscert_ca_init_opts;

/* Create the CA in home (0700, made if missing): key, root or request,
 * the database with the WebServer template (serverAuth,
 * digitalSignature+keyEncipherment, 730 days, RSA >= 2048, EC >= 256,
 * sha256/sha384/sha512, any domain, auto approval, no grants). EEXISTS
 * when home already holds a CA (nothing changed). Audited. */
int cscert_ca_init(const char *home, const cscert_ca_init_opts *o);

/* Complete a subordinate: path holds the CA certificate issued by the
 * parent (PEM/DER/PKCS#7, optionally with its chain). EINVAL when its key
 * is not the CA key or it is not a CA certificate. */
int cscert_ca_install_cert(const char *home, const char *path, const char *key_password,
                           const char *actor);

/* Open an existing CA. key_password NULL for an unencrypted key (EAUTH
 * when the key is encrypted and the password is missing or wrong).
 * ENOTFOUND naming home and `csca init` when there is no CA. */
int cscert_ca_open(cscert_ca **out, const char *home, const char *key_password);
/* A second handle on the same CA for another thread: its own database
 * connection, the same (read-only) key and certificates. */
int cscert_ca_clone(cscert_ca **out, cscert_ca *ca);
void cscert_ca_free(cscert_ca *ca);

const char *cscert_ca_name(const cscert_ca *ca);      /* "FQDN\Instance" */
const char *cscert_ca_host(const cscert_ca *ca);      /* "FQDN" */
const char *cscert_ca_home(const cscert_ca *ca);
X509 *cscert_ca_cert(const cscert_ca *ca);            /* the issuing certificate (borrowed) */
EVP_PKEY *cscert_ca_key(const cscert_ca *ca);         /* borrowed; never printed or logged */
/* The chain served by /cacerts: issuing certificate first, up to and
 * including the root (borrowed). */
STACK_OF(X509) *cscert_ca_chain(const cscert_ca *ca);
/* PKCS#7 certs-only DER holding leaf (when not NULL) then the whole CA
 * chain. *out is the caller's (OPENSSL_free). */
int cscert_ca_pkcs7_der(unsigned char **out, size_t *len, cscert_ca *ca, X509 *leaf);
/* SHA-256 of the root's DER, 64 upper-case hex digits: what
 * `cscert ca trust --fingerprint` compares. */
int cscert_ca_root_fingerprint(char out[65], cscert_ca *ca);

/* ---- templates ---- */

enum {
    CSCERT_CA_EKU_SERVER = 1u << 0,   /* serverAuth */
    CSCERT_CA_EKU_CLIENT = 1u << 1    /* clientAuth */
};

typedef struct cscert_ca_template {
    char name[CSCERT_CA_NAME_MAX + 1];
    int validity_days;
    unsigned eku;              /* CSCERT_CA_EKU_* */
    int min_rsa_bits;          /* 2048 */
    int min_ec_bits;           /* 256 */
    char *hashes;              /* "sha256,sha384,sha512" (canonical names, see csr.h) */
    char *allowed_domains;     /* "*.contoso.com,contoso.com"; NULL or "": any */
    int manual_approval;       /* 0 auto, 1 manual */
    char **groups;             /* groups granted Enroll, NULL-terminated (may be NULL) */
} cscert_ca_template;

void cscert_ca_template_clear(cscert_ca_template *t);
/* ENOTFOUND naming the template and listing those that exist. */
int cscert_ca_template_get(cscert_ca_template *out, cscert_ca *ca, const char *name);
/* add: EEXISTS when present; set: ENOTFOUND when absent. Fields are
 * validated (validity 1..CSCERT_CA max, bits, hash names, domain patterns
 * "*.x.y" or "x.y"). Audited with actor. */
int cscert_ca_template_add(cscert_ca *ca, const cscert_ca_template *t, const char *actor);
int cscert_ca_template_set(cscert_ca *ca, const cscert_ca_template *t, const char *actor);
int cscert_ca_template_remove(cscert_ca *ca, const char *name, const char *actor);
/* Every template as a JSON array of objects (name, validity_days, eku [..],
 * min_rsa_bits, min_ec_bits, hashes [..], allowed_domains [..], approval
 * "auto"|"manual", enroll_groups [..]). */
int cscert_ca_template_list(json_t **out, cscert_ca *ca);
/* Grant or revoke Enroll for group on a template. Audited. */
int cscert_ca_grant(cscert_ca *ca, const char *template_name, const char *group, const char *actor);
int cscert_ca_revoke_grant(cscert_ca *ca, const char *template_name, const char *group,
                           const char *actor);

/* ---- accounts ---- */

/* groups: comma-separated ("RTCUniversalServerAdmins,Domain Admins").
 * The password is hashed (PBKDF2-HMAC-SHA256 through EVP_KDF,
 * CSCERT_CA_PBKDF2_ITER rounds, 16-byte random salt per account) before
 * it is stored. Audited (never the password). */
int cscert_ca_account_add(cscert_ca *ca, const char *name, const char *groups,
                          const char *password, const char *actor);
int cscert_ca_account_passwd(cscert_ca *ca, const char *name, const char *password,
                             const char *actor);
int cscert_ca_account_set_groups(cscert_ca *ca, const char *name, const char *groups,
                                 const char *actor);
int cscert_ca_account_remove(cscert_ca *ca, const char *name, const char *actor);
/* JSON array of {name, groups [..], created} (never the hash). */
int cscert_ca_account_list(json_t **out, cscert_ca *ca);
/* Check a password. CSCERT_OK and *groups (NULL-terminated, the caller's:
 * cscert_x509_names_free) on success; EAUTH otherwise, with the same work
 * for an unknown account (a dummy hash) and a constant-time comparison. */
int cscert_ca_authenticate(char ***groups, cscert_ca *ca, const char *name, const char *password);
/* An account's record as it is now, as a digest: it changes with the
 * password (a new hash, a new salt) and the groups. */
#define CSCERT_CA_STAMP_LEN 32
/* cscert_ca_authenticate, and on success stamp: the digest of the record
 * the password was verified against (stamp may be NULL). */
int cscert_ca_authenticate_stamped(char ***groups, unsigned char stamp[CSCERT_CA_STAMP_LEN], cscert_ca *ca,
                                   const char *name, const char *password);
/* The digest of the account's record now; ENOTFOUND naming it when it is
 * gone. A connection that authenticated compares it with the stamp it got,
 * instead of deriving the password again (csca serve). */
int cscert_ca_account_stamp(unsigned char stamp[CSCERT_CA_STAMP_LEN], cscert_ca *ca, const char *name);
/* A TLS client certificate as the credential (RFC 7030 3.3.2), once the
 * TLS layer has verified it chains to this CA: it must be one this CA
 * issued (the same DER on record), not revoked, and its requester's account
 * must still exist. CSCERT_OK with *account (free()) and *groups
 * (cscert_x509_names_free); EAUTH naming why otherwise. */
int cscert_ca_authenticate_cert(char **account, char ***groups, cscert_ca *ca, X509 *cert);

/* ---- policy (ca_policy.c: pure, no database) ---- */

/* Does req satisfy template t for a requester in groups (NULL groups:
 * an offline submission by the CA administrator, no Enroll check)?
 * CSCERT_OK, or EPOLICY with a message naming the rule that refused it:
 * no Enroll permission (naming the template and the groups that have
 * it), a bad request signature (EINVAL), key type or size below the
 * minimum, a signature hash not allowed, the CN or a SAN outside
 * allowed_domains (naming it), a request asking for CA:TRUE. */
int cscert_ca_policy_check(const cscert_ca_template *t, X509_REQ *req, char *const *groups);
/* "*.contoso.com" matches one label below contoso.com; "contoso.com"
 * matches itself. Case-insensitive. 1 match, 0 not. */
int cscert_ca_domain_match(const char *pattern, const char *name);
/* Password hashing: "pbkdf2-sha256$ITER$SALT_HEX$HASH_HEX". PBKDF2
 * rather than scrypt: scrypt's 16-32 MiB per hash, times the workers
 * hashing at once, would break `csca serve`'s 64 MiB budget. */
int cscert_ca_password_hash(char **out, const char *password);
/* 1 when password matches encoded (constant-time), 0 when not; EINVAL
 * for a malformed encoding. */
int cscert_ca_password_verify(const char *encoded, const char *password);

/* ---- the request queue and issuance ---- */

typedef enum {
    CSCERT_CA_PENDING = 1,
    CSCERT_CA_ISSUED = 2,
    CSCERT_CA_DENIED = 3
} cscert_ca_disposition;

const char *cscert_ca_disposition_name(cscert_ca_disposition d); /* "pending", ... */

typedef struct cscert_ca_submission {
    X509_REQ *req;
    const char *template_name;   /* from the EST path or --template; never from the request */
    const char *requester;       /* account name, or "admin:USER" offline */
    char *const *groups;         /* the account's groups; NULL offline (admin) */
    const char *source;          /* "127.0.0.1:53422" online, "offline:FILE" */
    int reenroll;                /* simplereenroll */
} cscert_ca_submission;

typedef struct cscert_ca_result {
    int64_t id;                  /* queue ID */
    cscert_ca_disposition disposition;
    X509 *cert;                  /* issued: the certificate (the caller's: X509_free) */
    char serial[2 * CSCERT_CA_SERIAL_BYTES + 1];   /* upper-case hex, "" until issued */
    char reason[256];            /* denied: why */
    char template_name[CSCERT_CA_NAME_MAX + 1]; /* as the CA spells it ("webserver" in a path: "WebServer") */
    int capped;                  /* notAfter was cut to the issuer's */
    int repeated;                /* an earlier submission of the same request answered */
    struct ca_prepared *prepared; /* library-private: what prepare computed for commit_batch
                                     (freed by commit_batch, or by cscert_ca_result_clear) */
} cscert_ca_result;

void cscert_ca_result_clear(cscert_ca_result *r);

/* Submit a request: policy (EPOLICY/EINVAL, audited, NO queue entry and
 * the database unchanged); then, when the same requester already
 * submitted the same request (SHA-256 of its DER) for the same template,
 * its current state (pending stays pending; issued returns the
 * certificate; denied returns the denial); else a new queue entry,
 * issued at once (auto approval: signed and committed in one transaction
 * before this returns) or pending (manual). Returns CSCERT_OK with
 * out->disposition set (out->id always). Audited. */
int cscert_ca_submit(cscert_ca_result *out, cscert_ca *ca, const cscert_ca_submission *s);

/* The same in two steps, so `csca serve` can commit many issuances in one
 * transaction (one fsync for a batch, synchronous=FULL):
 * prepare = policy + repeat lookup + signing, no write (out->id 0 for a new
 * entry, then out->cert is set for auto approval); commit_batch = one
 * transaction recording every prepared result (assigning IDs), or none.
 * cscert_ca_submit is prepare + commit_batch of one. */
int cscert_ca_prepare(cscert_ca_result *out, cscert_ca *ca, const cscert_ca_submission *s);
int cscert_ca_commit_batch(cscert_ca *ca, const cscert_ca_submission *const *s,
                           cscert_ca_result *const *r, size_t n);

/* Sign req for template t with serial (16 bytes) and no storage: the
 * ceiling the benchmark compares against, and what prepare calls. */
int cscert_ca_sign(X509 **out, cscert_ca *ca, X509_REQ *req, const cscert_ca_template *t,
                   const unsigned char serial[CSCERT_CA_SERIAL_BYTES], int *capped);

/* Record a certificate the CA signed outside the request queue (csca
 * serve's own TLS certificate) in the issued list, so that it can be
 * listed, revoked and put on the CRL like any other. Committed before it
 * returns. */
int cscert_ca_record_issued(cscert_ca *ca, X509 *x, const char *requester, const char *template_name);
/* 16 random bytes, top bit cleared, never all zero. */
int cscert_ca_serial_new(unsigned char out[CSCERT_CA_SERIAL_BYTES]);

/* Administrator decisions on a pending request (ENOTFOUND, or EPOLICY
 * when it is not pending). issue signs with the template as it is now. */
int cscert_ca_request_issue(cscert_ca_result *out, cscert_ca *ca, int64_t id, const char *actor);
int cscert_ca_request_deny(cscert_ca *ca, int64_t id, const char *reason, const char *actor);
/* One entry: out as for submit (cert set when issued). */
int cscert_ca_request_get(cscert_ca_result *out, cscert_ca *ca, int64_t id);
/* JSON array of {id, disposition, template, requester, source, subject,
 * sans [..], submitted, decided, serial, reason}; pending_only filters. */
int cscert_ca_request_list(json_t **out, cscert_ca *ca, int pending_only);

/* ---- revocation ---- */

/* reason: unspecified, keyCompromise, cACompromise, affiliationChanged,
 * superseded, cessationOfOperation, certificateHold (RFC 5280 names, any
 * case). serial: hex, any case, ':' and spaces ignored. ENOTFOUND for a
 * serial this CA never issued; EEXISTS when already revoked. Audited. */
int cscert_ca_revoke(cscert_ca *ca, const char *serial, const char *reason, const char *actor);
/* The reason's CRL code (0..), or EINVAL naming it and the known ones. */
int cscert_ca_revoke_reason(const char *reason);
/* A serial as the CA records it: upper-case hex, ':' and spaces dropped,
 * no leading zeros. EINVAL naming the input otherwise. */
int cscert_ca_serial_normalize(char out[41], const char *in);
/* A CRL (v2, CRL number, AKI, nextUpdate = now + CSCERT_CA_CRL_DAYS),
 * signed by the CA, as PEM. *out is the caller's (free()). Audited with actor. */
int cscert_ca_crl_pem(char **out, cscert_ca *ca, const char *actor);
/* The URL put in issued certificates' CRL distribution points; NULL/"" none. */
int cscert_ca_set_crl_url(cscert_ca *ca, const char *url, const char *actor);
/* JSON array of issued certificates {serial, subject, sans, not_before,
 * not_after, requester, template, revoked, reason}. */
int cscert_ca_issued_list(json_t **out, cscert_ca *ca);

/* ---- audit ---- */

/* Append one JSON line to HOME/audit.jsonl: {"time", "event", "actor",
 * "source", ...fields of obj (stolen)}. Never fails the caller's work:
 * a write error is a warning. */
void cscert_ca_audit(cscert_ca *ca, const char *event, const char *actor, const char *source,
                     json_t *obj);

#endif
