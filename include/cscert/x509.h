/* x509.h: reading certificates: thumbprints, names, validity, details.
 * Owns: the Windows-style thumbprint (SHA-1 of the DER, 40 upper-case hex)
 * and its input form (any case, spaces, ':' and U+200E stripped); the
 * names a certificate carries (CN, then DNS SANs) and its Microsoft
 * certificate template name; the display forms of a name and a time
 * (certinfo shows them, the store keeps them as listing columns).
 * Uses: error, OpenSSL. Not the store or the network. */
#ifndef CSCERT_X509_H
#define CSCERT_X509_H

#include <stddef.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cscert/error.h"

/* 1.3.6.1.4.1.311.20.2, szOID_ENROLL_CERTTYPE_EXTENSION: the template's
 * name as a BMPString (what AD CS's v1 templates and the wizard send). */
#define CSCERT_OID_MS_CERTTYPE "1.3.6.1.4.1.311.20.2"

int cscert_x509_thumbprint(char out[41], X509 *x);
/* Normalize user input; EINVAL naming the input unless 40 hex digits remain. */
int cscert_x509_thumbprint_normalize(char out[41], const char *in);

/* The CN first (when there is one), then the DNS SANs in their order,
 * each name once (case-insensitive; case kept as written). NULL-
 * terminated; *n excludes the NULL. Free with cscert_x509_names_free. */
int cscert_x509_names(char ***out, size_t *n, X509 *x);
void cscert_x509_names_free(char **v);
/* The template name extension (CSCERT_OID_MS_CERTTYPE) as UTF-8 (free());
 * ENOTFOUND when the certificate has none, EINVAL when it is malformed. */
int cscert_x509_template_name(char **out, X509 *x);

/* The display forms (certinfo's, and the store's listing columns): a name
 * as "CN=a, O=b" (RFC 2253, ", " between RDNs; free()), a time as RFC 3339
 * UTC "2026-11-22T23:59:59Z". */
int cscert_x509_name_text(char **out, const X509_NAME *n);
int cscert_x509_time_text(char out[32], const ASN1_TIME *t);

/* Library-internal, shared with csr: the same readers over a subject
 * name and an extension list (a certificate's or a request's). */
int cscert__x509_names_from(char ***out, size_t *n, const X509_NAME *subject,
                            const STACK_OF(X509_EXTENSION) *exts);
int cscert__x509_template_from(char **out, const STACK_OF(X509_EXTENSION) *exts);
/* A subjectAltName extension of dNSNames, in the given order, each once
 * (any case). Built through GENERAL_NAME, never a config string, so no
 * character of a name is read as syntax. Shared by csr (the request) and
 * ca (the issued certificate). *out NULL when n is 0. */
int cscert__x509_san_dns(X509_EXTENSION **out, const char *const *dns, size_t n);

#endif
