/* csr.h: PKCS#10 certificate requests, as the Lync Certificate Wizard and
 * Request-CsCertificate build them.
 * Owns: R15's hashes (sha1 with a warning, sha224, sha256 by default,
 * sha384, sha512; PKCS#1 v1.5 for RSA, never RSASSA-PSS), the subject's
 * fields and their X.520 bounds, the requested extensions (SAN, EKU
 * serverAuth [+ clientAuth, R16], key usage, the Microsoft certificate
 * template name) in the extensionRequest attribute, and reading a
 * request's names back.
 * Uses: error, key, x509 (name and template readers), OpenSSL. Not names
 * or topology: the caller says which names go in. */
#ifndef CSCERT_CSR_H
#define CSCERT_CSR_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cscert/error.h"

/* The default template (DESIGN: "Template ... default WebServer"). */
#define CSCERT_CSR_TEMPLATE_DEFAULT "WebServer"
/* The default of `--hash` (R15). */
#define CSCERT_CSR_HASH_DEFAULT "sha256"

/* X.520 upper bounds (RFC 5280 Appendix A, ub-*), in characters. */
#define CSCERT_CSR_UB_CN 64    /* ub-common-name */
#define CSCERT_CSR_UB_O 64     /* ub-organization-name */
#define CSCERT_CSR_UB_OU 64    /* ub-organizational-unit-name */
#define CSCERT_CSR_UB_L 128    /* ub-locality-name */
#define CSCERT_CSR_UB_ST 128   /* ub-state-name */
/* 64 characters: an AD CS template's name is its AD object's cn. */
#define CSCERT_CSR_UB_TEMPLATE 64
/* 253: the longest DNS name in text form (RFC 1035, without the dot). */
#define CSCERT_CSR_UB_DNS 253
/* 1000 SANs: far beyond any pool (Lync's largest lists are tens). */
#define CSCERT_CSR_MAX_DNS 1000
/* 64 KiB: a request is a few KiB even with hundreds of SANs; as the CA's
 * CSCERT_EST_MAX_BODY. Bigger input is refused before parsing. */
#define CSCERT_CSR_MAX_BYTES (64 * 1024)

/* A hash R15 allows. Static: never freed. */
typedef struct cscert_csr_hash {
    const char *name;    /* canonical: "sha256" */
    const char *md_name; /* OpenSSL's digest name: "SHA256" */
    int weak;            /* sha1 */
} cscert_csr_hash;

/* Parse "sha1" (warns: weak), "sha224", "sha256", "sha384", "sha512"
 * (any case; "sha-256" also accepted). NULL means the default (sha256).
 * Anything else (md5, sha3-256, ...): EINVAL naming it and the set. */
int cscert_csr_hash_parse(const cscert_csr_hash **out, const char *s);

/* The subject: NULL fields are left out. cn NULL: the first DNS name. */
typedef struct cscert_csr_subject {
    const char *cn, *o, *ou, *l, *st, *c;
} cscert_csr_subject;

/* Country: two ASCII letters, upper-cased into out ("us" -> "US").
 * EINVAL for "USA", "u1", "". */
int cscert_csr_country_normalize(char out[3], const char *in);

typedef struct cscert_csr_params {
    cscert_csr_subject subject;
    /* R1: every name goes in the SAN, the CN first (the caller passes it
     * first), in this order; a name repeated (any case) is kept once.
     * n_dns 0: no SAN extension. */
    const char *const *dns;
    size_t n_dns;
    int client_eku;               /* R16: add clientAuth to serverAuth */
    const char *template_name;    /* NULL: "WebServer" */
    const cscert_csr_hash *hash;  /* NULL: sha256 */
} cscert_csr_params;

/* Build and sign a request for key (RSA: PKCS#1 v1.5; EC: ECDSA).
 * Subject fields are checked (bounds, no control characters, country),
 * DNS names are checked (non-empty, <= 253, letters, digits, '-', '.',
 * '*' as a whole first label). Requested extensions: subjectAltName,
 * extendedKeyUsage, keyUsage (critical; RSA digitalSignature +
 * keyEncipherment, EC digitalSignature), and the certificate template
 * name (1.3.6.1.4.1.311.20.2, a BMPString). *out is the caller's. */
int cscert_csr_build(X509_REQ **out, EVP_PKEY *key, const cscert_csr_params *p);

/* PEM ("-----BEGIN CERTIFICATE REQUEST-----"), NUL-terminated; free(). */
int cscert_csr_to_pem(char **out, X509_REQ *req);
/* Parse one request (PEM, either header; or DER). EINVAL for anything
 * else, for trailing bytes after DER, and above CSCERT_CSR_MAX_BYTES. */
int cscert_csr_from_pem(X509_REQ **out, const char *pem, size_t len);
int cscert_csr_from_der(X509_REQ **out, const unsigned char *der, size_t len);
/* 1 when the request's signature verifies with its own key. */
int cscert_csr_verify(X509_REQ *req);

/* The request's CN first, then its DNS SANs in order, each name once
 * (case-insensitive). NULL-terminated; free with cscert_x509_names_free. */
int cscert_csr_names(char ***out, size_t *n, X509_REQ *req);
/* The requested template name (311.20.2), as UTF-8; ENOTFOUND without. */
int cscert_csr_template_name(char **out, X509_REQ *req);

#endif
