/* import.h: certificates into the store and out of it, as
 * Import-CsCertificate and the MMC export wizard do.
 * Owns: format detection (PEM/DER certificate, PKCS#7 PEM/DER, PKCS#12),
 * matching a CA's response to its pending key by public key, where each
 * certificate of a file goes (leaf My, intermediates CA, self-signed roots
 * Root only when asked), and PKCS#12 / PEM export.
 * Invariant: one import is one store transaction; a refusal writes
 * nothing to cscert.db.
 * Uses: error, x509, certinfo, store, OpenSSL. Not names or topology:
 * a response is compared with its own pending request's names. */
#ifndef CSCERT_IMPORT_H
#define CSCERT_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cscert/store.h"

/* 1 MiB: a certificate file; a full chain in PKCS#7 is a few KiB. */
#define CSCERT_IMPORT_MAX_FILE (1L << 20)
/* 64: certificates in one file; a chain is 2-5. */
#define CSCERT_IMPORT_MAX_CERTS 64

typedef enum {
    CSCERT_FMT_UNKNOWN = 0,
    CSCERT_FMT_PEM,        /* one or more "CERTIFICATE" / "PKCS7" blocks */
    CSCERT_FMT_DER,        /* one DER certificate */
    CSCERT_FMT_PKCS7_DER,  /* .p7b / .p7c */
    CSCERT_FMT_PKCS12      /* .pfx / .p12 */
} cscert_import_format;

const char *cscert_import_format_name(cscert_import_format f);

/* A parsed file: its certificates in file order and, for PKCS#12, the key
 * and its friendly name. */
typedef struct cscert_bundle {
    cscert_import_format format;
    STACK_OF(X509) *certs;
    EVP_PKEY *key;        /* NULL unless PKCS#12 */
    char *friendly_name;  /* PKCS#12 friendlyName, or NULL */
} cscert_bundle;

/* Parse buf. password: for PKCS#12 only (NULL = none given). Errors:
 * EINVAL naming `what` and the formats that were tried (garbage,
 * truncated DER, a CSR instead of a certificate); EAUTH for a wrong or
 * missing PKCS#12 password. */
int cscert_bundle_parse(cscert_bundle **out, const unsigned char *buf, size_t len,
                        const char *password, const char *what);
void cscert_bundle_free(cscert_bundle *b);

typedef struct cscert_import_opts {
    const char *password;       /* PKCS#12 */
    int exportable;             /* --private-key-exportable */
    cscert_store_kind store;    /* --store; CSCERT_STORE_ALL: by what it is */
    const char *friendly_name;  /* --friendly-name */
    int64_t expect_pending;     /* > 0: the file must complete exactly this
                                   pending request (an EST answer): any other
                                   leaf is refused before anything is written */
} cscert_import_opts;

typedef struct cscert_import_result {
    char thumbprint[41];        /* the leaf (or the first certificate stored) */
    cscert_store_kind store;    /* where it went */
    cscert_import_format format;
    int has_key;                /* the leaf has its private key now */
    int exportable;
    int64_t pending_id;         /* the request it completed (0: none) */
    int already;                /* every certificate was stored before */
    size_t added;               /* certificates added (leaf + chain) */
    size_t skipped_roots;       /* self-signed roots left out (no --store Root) */
    int chain_trusted;          /* the leaf's chain reaches Root */
    int names_differ;           /* the response's names differ from the request's */
    int expired, not_yet_valid;
} cscert_import_result;

/* Import a file (path) or a buffer. Warnings (names that differ, expiry,
 * an untrusted chain with its fix) go through cscert__warn. */
int cscert_import_file(cscert_import_result *out, cscert_store *st, const char *path,
                       const cscert_import_opts *o);
int cscert_import_buffer(cscert_import_result *out, cscert_store *st, const unsigned char *buf,
                         size_t len, const char *what, const cscert_import_opts *o);

/* Export. PKCS#12: key + certificate + chain (from Root/CA), AES-256-CBC
 * with PBKDF2 and an HMAC-SHA256 MAC; EPOLICY for a key not marked
 * exportable (naming --private-key-exportable), ENOTFOUND without a key.
 * PEM: the certificate and its chain, never the key.
 * The file is created 0600 and must not exist (O_EXCL); written beside,
 * fsynced and renamed, so a failure leaves nothing behind. */
typedef enum { CSCERT_EXPORT_PKCS12 = 0, CSCERT_EXPORT_PEM = 1 } cscert_export_format;

int cscert_export_file(cscert_store *st, const char *thumbprint, const char *path,
                       cscert_export_format fmt, const char *password, int with_chain);
/* The same into memory (*out is the caller's; OPENSSL_clear_free it). */
int cscert_export_pkcs12(unsigned char **out, size_t *len, cscert_store *st,
                         const char *thumbprint, const char *password, int with_chain);

#endif
