/* enroll.h: online enrollment with the deployment's enterprise CA over EST
 * (RFC 7030), as the Certificate Wizard's "send the request immediately to
 * an online certification authority" does it.
 * Owns: locating a CA (the topology's certification_authorities by name,
 * else the name's host on port 443), the HTTPS client (libcurl: TLS
 * verified against the store's Root + CA only, https only, no redirects,
 * timeouts, a response size cap), EST's encodings (base64 PKCS#10 out,
 * base64 PKCS#7 certs-only in), the translation of the CA's answers into
 * errors, Retry-After, a pending request's life after it was sent (200:
 * installed through import; 202: "pending"; a definitive refusal: removed
 * again), and `cscert ca trust`'s fingerprint-checked root bootstrap.
 * Invariant: the request's key is committed (request.h) before a byte goes
 * to the CA; it is removed again only when the CA refused the request for
 * good or when nothing was sent.
 * Uses: error, store, topology, import, x509, certinfo, OpenSSL, libcurl
 * (the one module that calls libcurl), Jansson (the pending note). */
#ifndef CSCERT_ENROLL_H
#define CSCERT_ENROLL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "cscert/store.h"

/* 256 KiB: an EST answer; a certificate with its chain is a few KiB, a
 * refusal one line. More is a broken or hostile server. */
#define CSCERT_ENROLL_MAX_BODY (256 * 1024)
/* 10 s to connect and finish the TLS handshake (a CA on the LAN). */
#define CSCERT_ENROLL_CONNECT_TIMEOUT 10
/* 60 s for a whole exchange: signing with an RSA-4096 CA under load. */
#define CSCERT_ENROLL_TIMEOUT 60
/* 443: the port of a CA that the topology does not register. */
#define CSCERT_ENROLL_DEFAULT_PORT 443
/* 86400 s: the longest Retry-After honoured; beyond a day is a typo or
 * an attack on a waiting client. */
#define CSCERT_ENROLL_RETRY_AFTER_MAX 86400
/* 400 characters of a CA's text/plain answer kept in a message. */
#define CSCERT_ENROLL_CA_TEXT_MAX 400

/* A CA as the client reaches it. base: "https://host:port/.well-known/est". */
typedef struct cscert_enroll_ca {
    char *name;        /* FQDN\Instance as registered (or as given) */
    char *url;         /* the registered URL, or https://HOST/ */
    char *base;        /* the EST base URL */
    char *host;        /* the URL's host: what TLS verifies */
    long port;
    char *address;     /* where host is reached without DNS (NULL: DNS) */
    int registered;    /* found in the topology */
} cscert_enroll_ca;

/* Locate name ("FQDN\Instance", any case) in the published topology, else
 * by its host on CSCERT_ENROLL_DEFAULT_PORT. EINVAL for a name that is
 * not FQDN\Instance or a registered URL that is not https. */
int cscert_enroll_ca_locate(cscert_enroll_ca **out, cscert_store *st, const char *name);
/* Every CA the published topology registers (ENOTFOUND: no topology). */
int cscert_enroll_ca_list(cscert_enroll_ca ***out, size_t *n, cscert_store *st);
void cscert_enroll_ca_free(cscert_enroll_ca *ca);
void cscert_enroll_cas_free(cscert_enroll_ca **v, size_t n);

typedef struct cscert_enroll_opts {
    const char *account;   /* HTTP Basic user; NULL: no credentials */
    const char *password;  /* never logged, never in a message */
    int resume;            /* a repeat of a request sent before */
    /* A certificate of the store with its key, presented as the TLS
     * client certificate to simplereenroll (RFC 7030 3.3.2, 4.2.2): the
     * renewal of a certificate this CA issued, without a password. */
    const char *client_thumbprint;
} cscert_enroll_opts;

typedef struct cscert_enroll_result {
    int status;            /* 200: installed; 202: pending at the CA */
    int64_t pending_id;
    char thumbprint[41];   /* 200: the installed certificate */
    long retry_after;      /* 202: seconds the CA asked to wait */
    int chain_trusted;     /* 200: the chain reaches Root */
    char url[512];         /* the URL posted to */
    char ca_text[CSCERT_ENROLL_CA_TEXT_MAX + 1]; /* 202: the CA's words */
} cscert_enroll_result;

/* Send pending request id (its stored CSR, CA and template) and act on the
 * answer: 200 installs the certificate with its key and chain (import.h;
 * intermediates to CA, the root only if already trusted) and compares its
 * names with the request's: each dropped name is named in an EPOLICY
 * error (the certificate stays installed, out->thumbprint set, so that its
 * key is not lost); 202 marks the request "pending" with a note (URL,
 * account, retry time, the CA's text). Errors: EAUTH (401), EPOLICY (403,
 * 413), ENOTFOUND (404: unknown template), EINVAL (400, 415), EIO (cannot
 * connect, naming the URL; TLS not trusted, naming `cscert ca trust`).
 * A definitive refusal (400, 401 on a first send, 403, 404, 413, 415), or
 * a first send of which no byte left, removes the pending request and its
 * key (the store as before the command); any other failure keeps it
 * ("submitted", with the error in its note) for `cscert request resume`. */
int cscert_enroll_send(cscert_enroll_result *out, cscert_store *st, int64_t pending_id,
                       const cscert_enroll_opts *o);

/* What the note of an online pending request says (pending_note_get). */
typedef struct cscert_enroll_note {
    char url[512];
    char account[128];
    char client_cert[41];  /* the thumbprint presented (client_thumbprint), "" */
    char retry_at[32];     /* RFC 3339 UTC, "" when unknown */
    char text[CSCERT_ENROLL_CA_TEXT_MAX + 1];
} cscert_enroll_note;
/* Parse a pending request's note (EINVAL when it is not one of ours). */
int cscert_enroll_note_parse(cscert_enroll_note *out, const char *note);

/* `cscert ca trust`: one GET of /cacerts without TLS verification and
 * without credentials (RFC 7030 4.1.1); the self-signed root whose SHA-256
 * (of its DER) is fingerprint (any case, ':' and blanks ignored) goes to
 * Root, the CA certificates that chain to it to CA, and only when the
 * server's own TLS certificate chains to that root for the URL's host.
 * EPOLICY when the fingerprint matches nothing (naming what the CA
 * served) or the TLS certificate does not chain to it. thumb_out: the
 * root's thumbprint; *already: it was trusted before. */
int cscert_enroll_ca_trust(char thumb_out[41], int *already, cscert_store *st, const char *name,
                           const char *fingerprint);

/* `cscert ca list`: a verified GET of /cacerts. */
typedef struct cscert_enroll_probe {
    int reachable;          /* TCP + TLS handshake reached the server */
    int trusted;            /* its TLS certificate verified against Root + CA */
    char error[512];        /* why not ("" when trusted) */
    char root_sha256[65];   /* trusted: the served root's fingerprint */
    char root_subject[256];
} cscert_enroll_probe;
int cscert_enroll_ca_probe(cscert_enroll_probe *out, cscert_store *st, const cscert_enroll_ca *ca);

/* ---- library-internal, shared with tests/unit/test_enroll.c ---- */

/* Retry-After: delay-seconds or an HTTP-date (curl_getdate), relative to
 * now; clamped to 0..CSCERT_ENROLL_RETRY_AFTER_MAX. EINVAL otherwise. */
int cscert_enroll__retry_after(long *out, const char *value, time_t now);
/* An EST certs-only body: base64 (line breaks allowed, PEM armour
 * allowed) of a PKCS#7, or raw DER. *der is the DER PKCS#7 (OPENSSL_free),
 * *certs its certificates in order (sk_X509_pop_free). EINVAL otherwise. */
int cscert_enroll__decode_certs(unsigned char **der, size_t *der_len, STACK_OF(X509) **certs,
                                const char *body, size_t len);
/* 64 hex digits of a SHA-256 fingerprint from user input (any case, ':',
 * spaces). EINVAL naming the input otherwise. */
int cscert_enroll__fingerprint_normalize(char out[65], const char *in);
/* The error for an HTTP status other than 200/202 (sets the message). */
int cscert_enroll__status_error(int status, const char *body, const char *ca_name,
                                const char *template_name, const char *account, const char *url);
/* 1 when status is a definitive refusal (the request will never be issued). */
int cscert_enroll__definitive(int status, int resume);

#endif
