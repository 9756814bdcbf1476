/* ca_serve.h: `csca serve`, the CA's online enrollment over EST (RFC 7030)
 * on HTTPS.
 * Owns: the EST endpoints (/.well-known/est/cacerts, [TEMPLATE/]
 * simpleenroll and simplereenroll) and their status codes, HTTP Basic
 * authentication (once per TLS connection), request body decoding
 * (base64 with or without line breaks, PEM armour, raw DER), media type
 * matching, the server's own TLS certificate (issued by the CA for the CA
 * name's host and each --tls-name, key in memory only, renewed at 2/3 of
 * its lifetime and on SIGHUP), the worker threads (one event loop and one
 * cscert_ca clone each; signing happens there), the group committer (one
 * cscert_ca_commit_batch per batch of issuances from every worker; an
 * answer leaves only after its commit returned), the limits (headers,
 * body, time, connections), SIGTERM drain, SIGHUP reload and HOME/serve.pid.
 * Uses: error, ca, key, csr, x509, jsonl (audit strings), topology (cscert_fqdn_check for
 * --tls-name), daemon (detach, pid file, log line, listening
 * socket, signal events; lib/daemon.h), OpenSSL, libevent (with web, the
 * only modules that touch libevent; daemon is their shared part). Not SQL:
 * every database access goes through ca.h. */
#ifndef CSCERT_CA_SERVE_H
#define CSCERT_CA_SERVE_H

#include <stddef.h>

#include <openssl/x509.h>

#include "cscert/ca.h"
#include "cscert/error.h"

/* 64 KiB: a request body; a CSR is < 8 KiB even with hundreds of SANs
 * (as CSCERT_CSR_MAX_BYTES). Larger is a 413, refused from Content-Length
 * before the body is read. */
#define CSCERT_EST_MAX_BODY (64 * 1024)
/* 8 KiB: the request header block; an EST request has a few short
 * headers (Authorization, Content-Type, Content-Length). */
#define CSCERT_EST_MAX_HEADERS 8192
/* 10 s: how long a connection may stay silent (handshake, headers, body,
 * idle keep-alive) before it is closed: a slow client cannot keep a slot. */
#define CSCERT_EST_TIMEOUT_DEFAULT 10
/* 512 connections at once: each TLS connection costs ~50 KiB (buffers,
 * SSL state); 512 keep the server inside its 64 MiB budget. More wait in
 * the accept backlog. */
#define CSCERT_EST_MAX_CONNS 512
/* 64 workers: signing is CPU-bound; more threads than cores only add
 * context switches. */
#define CSCERT_EST_WORKERS_MAX 64
/* 16 --tls-name values: a CA is known by a few names. */
#define CSCERT_EST_TLS_NAMES_MAX 16
/* 60 s: Retry-After of a 202 (manual approval waits for a person). */
#define CSCERT_EST_RETRY_AFTER 60
/* 30 days: the TLS certificate's validity; renewed after 20. */
#define CSCERT_EST_TLS_DAYS 30
/* 3600 s: how often the TLS certificate's age is checked. */
#define CSCERT_EST_TLS_CHECK_S 3600
/* 5 s: how long SIGTERM waits for connections in flight. */
#define CSCERT_EST_DRAIN_MS 5000
/* 256 issuances per transaction: bounds the committer's arrays and the
 * time one commit holds the database's write lock. */
#define CSCERT_EST_BATCH_MAX 256

/* One log line, without its newline. */
typedef void (*cscert_ca_serve_log_fn)(const char *line, void *ud);

typedef struct cscert_ca_serve_opts {
    const char *listen;              /* "ADDR:PORT": a literal IPv4 address, or "[IPv6]:PORT" */
    int workers;                     /* <= 0: the number of online CPUs */
    const char *const *tls_names;    /* more names for the TLS certificate (may be NULL) */
    size_t n_tls_names;
    int timeout_s;                   /* <= 0: CSCERT_EST_TIMEOUT_DEFAULT */
    int max_conns;                   /* <= 0: CSCERT_EST_MAX_CONNS */
    int foreground;                  /* 0: detach (fork, setsid, syslog); the parent returns once
                                        the child listens */
    cscert_ca_serve_log_fn log;      /* NULL: stderr ("csca serve: TIME MSG"), syslog when detached */
    void *log_ud;
    long *child_pid;                 /* detached: the serving process (may be NULL) */
} cscert_ca_serve_opts;

/* Serve EST for ca until SIGTERM or SIGINT (drain, then stop). ca stays
 * the caller's; each worker and the committer use their own clone.
 * EINVAL for a bad --listen or --tls-name, EIO when the address cannot
 * be bound. Writes HOME/serve.pid while serving. */
int cscert_ca_serve(cscert_ca *ca, const cscert_ca_serve_opts *o);

/* ---- library-internal, shared with tests/unit/test_ca_serve.c ---- */

/* 1 when the Content-Type header value names type (case-insensitive,
 * parameters and blanks ignored: "Application/PKCS10; charset=x"), else 0. */
int cscert_ca_serve__media_type_is(const char *header, const char *type);
/* A PKCS#10 from an EST body: PEM armoured, base64 with or without line
 * breaks (EVP_Decode*), or raw DER. EINVAL for anything else (garbage,
 * trailing bytes, empty, above CSCERT_EST_MAX_BODY). */
int cscert_ca_serve__decode_csr(X509_REQ **out, const unsigned char *body, size_t len);
/* "Basic base64(name:password)" (scheme case-insensitive): *name and
 * *password are the caller's (free; wipe the password with
 * OPENSSL_clear_free). EAUTH when absent or malformed. */
int cscert_ca_serve__basic_auth(char **name, char **password, const char *header);

enum {
    CSCERT_EST_OP_CACERTS = 1,
    CSCERT_EST_OP_ENROLL = 2,
    CSCERT_EST_OP_REENROLL = 3
};
/* Split an EST path: op and template (tmpl "" when the path names none).
 * ENOTFOUND for another path or a template name that is not 1 to
 * CSCERT_CA_NAME_MAX letters, digits, '-', '_' or '.'. */
int cscert_ca_serve__parse_path(int *op, char tmpl[CSCERT_CA_NAME_MAX + 1], const char *path);

#endif
