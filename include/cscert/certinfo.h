/* certinfo.h: what a certificate says, as the MMC details tab shows it,
 * and whether its chain reaches a trusted root.
 * Owns: the display forms (subject "CN=a, O=b" and dates through x509's
 * cscert_x509_name_text/time_text, serial upper-case hex,
 * dates RFC 3339 UTC, fingerprints upper-case hex), the DNS names a
 * certificate answers for (CN + SAN, lower-cased), and chain building
 * against the store's Root + CA with X509_verify_cert.
 * Uses: error, x509, store (only cscert_store_trust to read Root/CA),
 * OpenSSL, Jansson. Never changes the store. */
#ifndef CSCERT_CERTINFO_H
#define CSCERT_CERTINFO_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "cscert/store.h"

/* "CN=pool01.contoso.net, O=Contoso" (most specific first, as Windows
 * shows it). *out is the caller's (free()). */
int cscert_certinfo_name(char **out, const X509_NAME *n);
/* Serial number, upper-case hex without separators. */
int cscert_certinfo_serial(char **out, X509 *x);
/* An ASN1_TIME as RFC 3339 UTC ("2026-11-22T14:15:29Z") and as time_t. */
int cscert_certinfo_time(char out[32], const ASN1_TIME *t);
int cscert_certinfo_time_t(time_t *out, const ASN1_TIME *t);

/* The DNS names: the SANs (dNSName) in their order, lower-cased; when
 * there is no SAN extension at all, the CN. NULL-terminated; free with
 * cscert_certinfo_names_free. cn_out (may be NULL) gets the CN or NULL. */
int cscert_certinfo_dns_names(char ***out, size_t *n, char **cn_out, X509 *x);
void cscert_certinfo_names_free(char **v);
/* Does x answer for name? Exact (any case), or a wildcard SAN "*.d"
 * covering one left-most label (RFC 6125 6.4.3). */
int cscert_certinfo_covers(char **names, const char *name);

/* 0 when x is not a CA (basicConstraints), 1 when it is; self_signed
 * (may be NULL) gets 1 for a self-issued certificate whose signature
 * verifies with its own key. */
int cscert_certinfo_is_ca(X509 *x, int *self_signed);

/* Chain status against the store's Root + CA (+ extra, e.g. the
 * intermediates of a file being imported). Time is not checked here:
 * expiry is a finding of its own. */
typedef struct cscert_chain_status {
    int trusted;          /* reaches a certificate in Root */
    int depth;            /* failing link (0 = the certificate itself) */
    int code;             /* X509_V_ERR_* (0 when trusted) */
    char error[128];      /* its text */
    char subject[256];    /* the failing link's subject */
    char issuer[256];     /* the issuer it needs (missing or untrusted) */
    size_t length;        /* certificates in the chain that was built */
} cscert_chain_status;

int cscert_certinfo_chain(cscert_chain_status *out, cscert_store *st, X509 *x,
                          STACK_OF(X509) *extra);
/* The same over given certificates: roots are the only anchors (never a
 * partial chain), untrusted may help build it (may be NULL). check_time:
 * also refuse a certificate of the chain outside its validity. What the
 * EST client's trust blob and csca install-cert call too. */
int cscert_certinfo_chain_to(cscert_chain_status *out, X509 *x, STACK_OF(X509) *roots,
                             STACK_OF(X509) *untrusted, int check_time);

/* Everything `cscert show` prints, as one JSON object: subject, issuer,
 * serial, not_before, not_after, dns_names, key {type, bits, curve},
 * signature_algorithm, eku, key_usage, basic_constraints, crl_dps,
 * sha1, sha256, and (st != NULL) chain {trusted, error, depth, subject,
 * issuer}. */
int cscert_certinfo_json(json_t **out, X509 *x, cscert_store *st);

#endif
