/* ca_serve.c: `csca serve`, EST over HTTPS (see ca_serve.h).
 *
 * Threads. The main thread owns the caller's cscert_ca (TLS certificate
 * issuance, its audit), the signals, the hourly TLS check, and the one
 * SSL_CTX in use (published under tls_mu; a new connection takes the
 * current one, and an SSL keeps its ctx alive, so a renewal never
 * disturbs a connection in flight). N workers each run their own
 * event_base and evhttp, accepting from a dup() of the listening socket,
 * and own a cscert_ca clone: authentication, policy and signing
 * (cscert_ca_prepare) run in the worker. A new issuance or pending entry
 * becomes a job for the committer thread, which takes every job queued
 * (up to CSCERT_EST_BATCH_MAX) and records them with one
 * cscert_ca_commit_batch on its own clone: one transaction, one fsync,
 * however many workers fed it. While it commits, the workers go on
 * signing, so batches grow with the load. Each job then goes back to its
 * worker (a mutex-protected list and event_active, libevent's one
 * thread-safe entry point), which sends the answer.
 *
 * Invariant: an answer that carries a certificate, or a 202 naming a
 * queue ID, leaves only after cscert_ca_commit_batch returned for it.
 * Invariant: the TLS key is generated here and lives only in memory.
 *
 * The drain and accept balancing follow lib/web.c (that module serves the
 * store's certificates; this one the CA's own). What the two servers do
 * alike as processes (detaching, the pid file, the log line, the
 * listening socket) is lib/daemon.c, called with this server's names. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "cscert/ca_serve.h"
#include "cscert/csr.h"
#include "cscert/jsonl.h"
#include "cscert/key.h"
#include "cscert/topology.h"
#include "cscert/store.h"
#include "cscert/x509.h"
#include "daemon.h"

/* 1024: the accept backlog; bursts of clients wait there, not in RAM. */
#define EST_BACKLOG 1024
/* 100 ms: how often a draining worker looks for its last connection. */
#define EST_DRAIN_TICK_MS 100
/* 2 ms: how long the committer waits for issuances still being signed
 * before its commit (an fsync each); only while some are (never at
 * concurrency 1), bounded by CSCERT_EST_BATCH_MAX. */
#define EST_GATHER_MS 2
/* 5 failed logins for one account from one address within 60 s: its
 * further attempts get 429 for the rest of that minute, without a PBKDF2
 * each (a password guesser, or a server with a stale password file, must
 * not cost the CA ~30 ms of CPU per try). 1024 address-account pairs are
 * tracked at once (110 KiB); when they are all live, the pair with the
 * fewest failures gives way, never one that is locked out: failed logins
 * under 1023 other names must not unlock an account (@test t_est). */
#define EST_FAIL_MAX 5
#define EST_FAIL_WINDOW_MS 60000
#define EST_FAIL_SLOTS 1024
/* 1536 bytes: an Authorization header value; base64 of a 63-byte name,
 * ':' and a CSCERT_CA_PASSWORD_MAX password, plus "Basic ". */
#define EST_AUTH_MAX 1536
/* "ec:P-256": the TLS key; the cheapest handshake every EST client accepts. */
#define EST_TLS_KEY "ec:P-256"
/* The internal template of the TLS certificate (never in the database). */
#define EST_TLS_TEMPLATE "csca-serve-tls"
#define EST_ACTOR "csca-serve"

static const char est_prefix[] = "/.well-known/est/";

/* ==================================================================== */
/* pure helpers (unit-tested)                                           */
/* ==================================================================== */

int cscert_ca_serve__media_type_is(const char *h, const char *type)
{
    size_t len, n = strlen(type);

    if (!h)
        return 0;
    while (*h == ' ' || *h == '\t')
        h++;
    len = strcspn(h, ";");
    while (len && (h[len - 1] == ' ' || h[len - 1] == '\t'))
        len--;
    return len == n && strncasecmp(h, type, n) == 0;
}

int cscert_ca_serve__decode_csr(X509_REQ **out, const unsigned char *body, size_t len)
{
    EVP_ENCODE_CTX *ctx = NULL;
    unsigned char *der = NULL;
    const unsigned char *pem;
    int n1 = 0, n2 = 0, rc;

    *out = NULL;
    if (!body || len == 0)
        return cscert_error_set(CSCERT_EINVAL, "request body", "it is empty",
                                "send a base64 PKCS#10 (application/pkcs10)");
    if (len > CSCERT_EST_MAX_BODY)
        return cscert_error_setf(CSCERT_EINVAL, "request body", NULL, "%zu bytes, more than %d", len,
                                 CSCERT_EST_MAX_BODY);
    /* PEM armour: some clients send the file as it is, and certtool's
     * file has the request's description before it. */
    if ((pem = memmem(body, len, "-----BEGIN ", 11)))
        return cscert_csr_from_pem(out, (const char *)pem, len - (size_t)(pem - body));
    /* Raw DER: a SEQUENCE that parses to the last byte. */
    if (body[0] == 0x30 && len >= 2 && (body[1] & 0x80)) {
        if (cscert_csr_from_der(out, body, len) == CSCERT_OK)
            return CSCERT_OK;
        cscert_error_clear();
    }
    /* RFC 7030 4.2.1: base64, with or without line breaks (EVP_Decode*
     * skips white space and takes lines of any length). */
    if (len > INT_MAX / 2 || !(ctx = EVP_ENCODE_CTX_new()) || !(der = malloc(len / 4 * 3 + 80))) {
        rc = cscert__oom();
        goto out;
    }
    EVP_DecodeInit(ctx);
    if (EVP_DecodeUpdate(ctx, der, &n1, body, (int)len) < 0 || EVP_DecodeFinal(ctx, der + n1, &n2) < 0
        || n1 + n2 <= 0) {
        ERR_clear_error();
        rc = cscert_error_set(CSCERT_EINVAL, "request body", "neither base64, PEM nor DER",
                              "send the PKCS#10 request base64-encoded");
        goto out;
    }
    rc = cscert_csr_from_der(out, der, (size_t)(n1 + n2));
out:
    EVP_ENCODE_CTX_free(ctx);
    free(der);
    return rc;
}

int cscert_ca_serve__basic_auth(char **name, char **password, const char *h)
{
    unsigned char *dec = NULL;
    const unsigned char *colon;
    size_t tlen, cap = 0;
    int n, pad = 0, rc = CSCERT_EAUTH;

    *name = *password = NULL;
    if (!h || strlen(h) > EST_AUTH_MAX)
        goto bad;
    while (*h == ' ')
        h++;
    if (strncasecmp(h, "Basic", 5) != 0 || (h[5] != ' ' && h[5] != '\t'))
        goto bad;
    h += 5;
    while (*h == ' ' || *h == '\t')
        h++;
    tlen = strlen(h);
    while (tlen && (h[tlen - 1] == ' ' || h[tlen - 1] == '\t'))
        tlen--;
    if (tlen == 0 || tlen % 4)
        goto bad;
    pad = (h[tlen - 1] == '=') + (h[tlen - 2] == '=');
    cap = tlen / 4 * 3 + 1;
    if (!(dec = malloc(cap)))
        return cscert__oom();
    if ((n = EVP_DecodeBlock(dec, (const unsigned char *)h, (int)tlen)) < pad)
        goto bad;
    n -= pad; /* EVP_DecodeBlock counts the padding as zero bytes */
    dec[n] = '\0';
    if (memchr(dec, '\0', (size_t)n) || !(colon = memchr(dec, ':', (size_t)n)))
        goto bad;
    if (!(*name = strndup((const char *)dec, (size_t)(colon - dec)))
        || !(*password = strndup((const char *)colon + 1, (size_t)n - (size_t)(colon - dec) - 1))) {
        rc = cscert__oom();
        goto fail;
    }
    rc = CSCERT_OK;
    goto out;
bad:
    ERR_clear_error();
    rc = cscert_error_set(CSCERT_EAUTH, "Authorization", "no HTTP Basic credentials",
                          "send the CA account and its password (curl --user)");
fail:
    free(*name);
    if (*password)
        OPENSSL_clear_free(*password, strlen(*password));
    *name = *password = NULL;
out:
    if (dec)
        OPENSSL_clear_free(dec, cap);
    return rc;
}

int cscert_ca_serve__parse_path(int *op, char tmpl[CSCERT_CA_NAME_MAX + 1], const char *path)
{
    const char *rest, *slash, *verb;
    size_t len, i;

    *op = 0;
    tmpl[0] = '\0';
    if (!path || strncmp(path, est_prefix, sizeof(est_prefix) - 1) != 0)
        goto nf;
    rest = path + sizeof(est_prefix) - 1;
    verb = rest;
    if ((slash = strchr(rest, '/'))) {
        len = (size_t)(slash - rest);
        if (len == 0 || len > CSCERT_CA_NAME_MAX || !isalnum((unsigned char)rest[0]))
            goto nf; /* never "." or "..": a template name, not a file path */
        for (i = 0; i < len; i++)
            if (!isalnum((unsigned char)rest[i]) && rest[i] != '-' && rest[i] != '_' && rest[i] != '.')
                goto nf;
        memcpy(tmpl, rest, len);
        tmpl[len] = '\0';
        verb = slash + 1;
    }
    if (strcmp(verb, "cacerts") == 0)
        *op = CSCERT_EST_OP_CACERTS;
    else if (strcmp(verb, "simpleenroll") == 0)
        *op = CSCERT_EST_OP_ENROLL;
    else if (strcmp(verb, "simplereenroll") == 0)
        *op = CSCERT_EST_OP_REENROLL;
    else
        goto nf;
    return CSCERT_OK;
nf:
    tmpl[0] = '\0';
    return cscert_error_setf(CSCERT_ENOTFOUND, path ? path : "path", "see RFC 7030 section 3.2.2",
                             "not an EST path of this CA");
}

/* ==================================================================== */
/* the server                                                           */
/* ==================================================================== */

struct server;
struct worker;

/* One TLS connection's state, hanging off its SSL (ex_data): freed with it. */
struct conn {
    struct worker *w;
    SSL *ssl;
    int by_cert;               /* this request authenticated by the TLS client certificate */
    int basic_ok;              /* a password was verified on this connection: */
    unsigned char cred[32];    /*   SHA-256 of that Authorization value, */
    unsigned char stamp[CSCERT_CA_STAMP_LEN]; /* and the account's record it matched */
    char account[CSCERT_CA_NAME_MAX + 1]; /* who this request authenticated as */
    char **groups;             /* of that account */
};

/* One enrollment between prepare and its answer. */
struct job {
    struct job *next;
    struct worker *w;
    struct evhttp_request *req;
    X509_REQ *csr;
    char **groups;
    char account[CSCERT_CA_NAME_MAX + 1];
    char tmpl[CSCERT_CA_NAME_MAX + 1];
    char source[80];
    cscert_ca_submission sub;
    cscert_ca_result res;
    int rc;                    /* the commit's */
    char err[512];
    long long t0_ms;
};

struct worker {
    struct server *srv;
    int idx;
    pthread_t th;
    int started;
    cscert_ca *ca;
    struct event_base *base;
    struct evhttp *http;
    struct evhttp_bound_socket *sock;
    struct event *reenable_ev, *drain_ev, *tick_ev, *done_ev;
    int live;                       /* connections; this thread only */
    int at_max;                     /* listener paused for max_conns */
    atomic_int outstanding;         /* jobs at the committer */
    pthread_mutex_t done_mu;
    struct job *done;               /* answered by the committer, to send */
    long long drain_deadline_ms;
};

struct committer {
    pthread_t th;
    int started;
    cscert_ca *ca;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct job *head, *tail;
    int stop;
    int idle;                       /* the committer waits for a first job (under mu) */
    atomic_int preparing;           /* enrollments being signed in a worker */
    long batches, rows;             /* committer thread only; read after join */
    long long busy_ms, max_ms;
    size_t max_batch;
};

struct fail_slot {
    char key[INET6_ADDRSTRLEN + CSCERT_CA_NAME_MAX + 2]; /* "ADDR/account" */
    int count;                      /* 0: free */
    long long since_ms;
};

struct server {
    cscert_ca *ca;
    pthread_mutex_t fail_mu;
    struct fail_slot fails[EST_FAIL_SLOTS];
    const cscert_ca_serve_opts *o;
    int detached, timeout_s, n_workers, per_worker_max;
    int fd;
    char listen[80];
    pthread_mutex_t tls_mu;
    SSL_CTX *ctx;                   /* current; NULL only before the first issue */
    char tls_serial[2 * CSCERT_CA_SERIAL_BYTES + 1];
    time_t tls_renew_at;
    char *cacerts;                  /* base64 PKCS#7 of the chain */
    size_t cacerts_len;
    struct worker *workers;
    struct committer cm;
    atomic_int draining;
    atomic_long served;
    struct event_base *base;
    char *pid_path;
};

static int ex_conn_idx = -1;
static pthread_once_t ex_once = PTHREAD_ONCE_INIT;

static void logf_(struct server *srv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(struct server *srv, const char *fmt, ...)
{
    /* One event, one line: a client's bytes (an account name from the
     * Authorization header) cannot start a forged line. */
    const struct cscert__daemon_log l = { "csca serve", srv->o->log, srv->o->log_ud, srv->detached, 1 };
    va_list ap;

    va_start(ap, fmt);
    cscert__daemon_vlog(&l, fmt, ap);
    va_end(ap);
}

static void names_free(char **v)
{
    cscert_x509_names_free(v);
}

static char **names_dup(char *const *v)
{
    size_t n = 0, i;
    char **c;

    while (v && v[n])
        n++;
    if (!(c = calloc(n + 1, sizeof(*c))))
        return NULL;
    for (i = 0; i < n; i++)
        if (!(c[i] = strdup(v[i]))) {
            names_free(c);
            return NULL;
        }
    return c;
}

static void conn_free_cb(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    struct conn *c = ptr;
    struct worker *w;

    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    if (!c)
        return;
    w = c->w;
    /* The SSL is freed with its bufferevent, in its worker's thread. */
    w->live--;
    if (w->at_max && w->live < w->srv->per_worker_max && w->sock) {
        w->at_max = 0;
        evconnlistener_enable(evhttp_bound_socket_get_listener(w->sock));
    }
    names_free(c->groups);
    OPENSSL_cleanse(c->cred, sizeof(c->cred));
    free(c);
}

static void ex_init(void)
{
    ex_conn_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, conn_free_cb);
}

/* ---- base64 out ---- */

static int add_base64(struct evbuffer *out, const unsigned char *der, size_t len)
{
    EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
    size_t cap = (len / 48 + 2) * 65 + 1;
    unsigned char *buf = malloc(cap);
    int n1 = 0, n2 = 0, rc = CSCERT_ENOMEM;

    if (!ctx || !buf || len > INT_MAX / 2)
        goto out;
    /* 64-character lines, as PEM bodies: every EST client decodes them. */
    EVP_EncodeInit(ctx);
    if (EVP_EncodeUpdate(ctx, buf, &n1, der, (int)len) != 1)
        goto out;
    EVP_EncodeFinal(ctx, buf + n1, &n2);
    if (evbuffer_add(out, buf, (size_t)(n1 + n2)) == 0)
        rc = CSCERT_OK;
out:
    EVP_ENCODE_CTX_free(ctx);
    free(buf);
    return rc;
}

/* ---- TLS (main thread) ---- */

/* A client certificate is asked for, never required, and a bad one does
 * not end the handshake: the request then gets a 401 that says why. */
static int verify_later_cb(int ok, X509_STORE_CTX *x)
{
    (void)ok, (void)x;
    return 1;
}

static SSL_CTX *new_ctx(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

    if (!ctx)
        return NULL;
    /* DESIGN: HTTPS only, TLS 1.2+. */
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
    return ctx;
}

/* Issue a fresh TLS certificate from the CA itself for the CA name's host
 * and each --tls-name, with a key that never leaves memory, and publish
 * it for new connections. */
static int tls_issue(struct server *srv)
{
    cscert_key_spec spec;
    cscert_ca_template t;
    EVP_PKEY *key = NULL;
    X509_REQ *csr = NULL;
    X509 *x = NULL;
    SSL_CTX *ctx = NULL, *old;
    STACK_OF(X509) *chain = cscert_ca_chain(srv->ca);
    const char *names[1 + CSCERT_EST_TLS_NAMES_MAX];
    unsigned char serial[CSCERT_CA_SERIAL_BYTES];
    char serial_hex[2 * CSCERT_CA_SERIAL_BYTES + 1] = "", na_s[32] = "";
    cscert_csr_params p;
    time_t nb = 0, na = 0, now = time(NULL);
    size_t i, n = 0;
    int rc, capped = 0;

    memset(&t, 0, sizeof(t));
    memset(&p, 0, sizeof(p));
    names[n++] = cscert_ca_host(srv->ca);
    for (i = 0; i < srv->o->n_tls_names && n < 1 + CSCERT_EST_TLS_NAMES_MAX; i++)
        names[n++] = srv->o->tls_names[i];
    p.subject.cn = names[0];
    p.dns = names;
    p.n_dns = n;
    snprintf(t.name, sizeof(t.name), "%s", EST_TLS_TEMPLATE);
    t.validity_days = CSCERT_EST_TLS_DAYS;
    t.eku = CSCERT_CA_EKU_SERVER;
    if ((rc = cscert_key_spec_parse(&spec, EST_TLS_KEY)) < 0 || (rc = cscert_key_generate(&key, &spec)) < 0
        || (rc = cscert_csr_build(&csr, key, &p)) < 0 || (rc = cscert_ca_serial_new(serial)) < 0
        || (rc = cscert_ca_sign(&x, srv->ca, csr, &t, serial, &capped)) < 0
        || (rc = cscert_ca_record_issued(srv->ca, x, EST_ACTOR, EST_TLS_TEMPLATE)) < 0)
        goto out;
    for (i = 0; i < CSCERT_CA_SERIAL_BYTES; i++)
        snprintf(serial_hex + 2 * i, 3, "%02X", serial[i]);
    rc = CSCERT_ECRYPTO;
    if (!(ctx = new_ctx()) || SSL_CTX_use_certificate(ctx, x) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1
        || SSL_CTX_check_private_key(ctx) != 1) {
        rc = cscert__crypto_error("TLS certificate", "loading it");
        goto out;
    }
    /* The chain served: leaf, then the CA chain (issuing CA up to the root);
     * the same chain verifies client certificates (RFC 7030 3.3.2), which
     * are asked for, never required. A session id context lets sessions
     * resume with peer verification on. */
    for (i = 0; chain && i < (size_t)sk_X509_num(chain); i++)
        if (SSL_CTX_add1_chain_cert(ctx, sk_X509_value(chain, (int)i)) != 1
            || X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), sk_X509_value(chain, (int)i)) != 1
            || (i == 0 && SSL_CTX_add_client_CA(ctx, sk_X509_value(chain, 0)) != 1)) {
            rc = cscert__crypto_error("TLS certificate", "adding the CA chain");
            goto out;
        }
    X509_STORE_set_flags(SSL_CTX_get_cert_store(ctx), X509_V_FLAG_PARTIAL_CHAIN);
    /* Any purpose: the server certificate being renewed (serverAuth only)
     * is what proves its holder here, and only for its own names. */
    SSL_CTX_set_purpose(ctx, X509_PURPOSE_ANY);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_later_cb);
    if (SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"csca-est", 8) != 1) {
        rc = cscert__crypto_error("TLS certificate", "setting the session context");
        goto out;
    }
    if (ASN1_TIME_to_tm(X509_get0_notBefore(x), NULL) && ASN1_TIME_to_tm(X509_get0_notAfter(x), NULL)) {
        struct tm tb, ta;

        ASN1_TIME_to_tm(X509_get0_notBefore(x), &tb);
        ASN1_TIME_to_tm(X509_get0_notAfter(x), &ta);
        nb = timegm(&tb);
        na = timegm(&ta);
        strftime(na_s, sizeof(na_s), "%Y-%m-%dT%H:%M:%SZ", &ta);
    }
    pthread_mutex_lock(&srv->tls_mu);
    old = srv->ctx;
    srv->ctx = ctx;
    pthread_mutex_unlock(&srv->tls_mu);
    SSL_CTX_free(old); /* connections in flight keep their reference */
    ctx = NULL;
    /* Renew when 2/3 of the lifetime passed (a capped certificate too). */
    srv->tls_renew_at = na > nb ? nb + (na - nb) * 2 / 3 : now + CSCERT_EST_TLS_CHECK_S;
    snprintf(srv->tls_serial, sizeof(srv->tls_serial), "%s", serial_hex);
    cscert_ca_audit(srv->ca, "issued-tls", EST_ACTOR, "local",
                    json_pack("{s:s, s:s, s:s, s:b}", "template", EST_TLS_TEMPLATE, "serial", serial_hex,
                              "not_after", na_s, "notafter_capped_to_issuer", capped));
    logf_(srv, "tls certificate %s for %s%s, valid until %s%s", serial_hex, names[0], n > 1 ? " (+names)" : "",
          na_s, capped ? " (capped at the CA's notAfter)" : "");
    rc = CSCERT_OK;
out:
    SSL_CTX_free(ctx);
    X509_free(x);
    X509_REQ_free(csr);
    EVP_PKEY_free(key);
    ERR_clear_error();
    return rc;
}

/* ---- answers (worker threads) ---- */

static void common_headers(struct server *srv, struct evhttp_request *req)
{
    struct evkeyvalq *oh = evhttp_request_get_output_headers(req);

    if (atomic_load(&srv->draining))
        evhttp_add_header(oh, "Connection", "close");
    evhttp_add_header(oh, "Cache-Control", "no-store");
    evhttp_add_header(oh, "X-Content-Type-Options", "nosniff");
}

/* A text/plain answer (errors: the message, one line). */
static void reply_text(struct server *srv, struct evhttp_request *req, int code, const char *reason,
                       const char *text)
{
    struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
    struct evbuffer *b = evbuffer_new();

    common_headers(srv, req);
    evhttp_add_header(oh, "Content-Type", "text/plain; charset=utf-8");
    if (b)
        evbuffer_add_printf(b, "%s\n", text);
    evhttp_send_reply(req, code, reason, b);
    if (b)
        evbuffer_free(b);
}

static void reply_pkcs7(struct server *srv, struct evhttp_request *req, const unsigned char *der, size_t len,
                        const char *b64, size_t b64_len, int certs_only)
{
    struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
    struct evbuffer *b = evbuffer_new();

    if (!b || (der ? add_base64(b, der, len) < 0 : evbuffer_add(b, b64, b64_len) < 0)) {
        if (b)
            evbuffer_free(b);
        reply_text(srv, req, 500, "Internal Server Error", "out of memory");
        return;
    }
    common_headers(srv, req);
    /* RFC 7030 4.1.3 / 4.2.3; Content-Transfer-Encoding always sent (RFC
     * 8951), never required of the client. */
    evhttp_add_header(oh, "Content-Type",
                      certs_only ? "application/pkcs7-mime; smime-type=certs-only" : "application/pkcs7-mime");
    evhttp_add_header(oh, "Content-Transfer-Encoding", "base64");
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
}

static int http_code_for(int rc, const char **reason)
{
    switch (rc) {
    case CSCERT_EPOLICY: *reason = "Forbidden"; return 403;
    case CSCERT_EINVAL: *reason = "Bad Request"; return 400;
    case CSCERT_ENOTFOUND: *reason = "Not Found"; return 404;
    case CSCERT_EAUTH: *reason = "Unauthorized"; return 401;
    default: *reason = "Internal Server Error"; return 500;
    }
}

/* The answer for a prepared (and, when new, committed) result. */
static void reply_result(struct worker *w, struct evhttp_request *req, const cscert_ca_result *r,
                         const char *account, const char *tmpl, const char *source, long long t0)
{
    struct server *srv = w->srv;
    const char *t = tmpl[0] ? tmpl : CSCERT_CA_TEMPLATE_DEFAULT;
    char msg[512], ra[16];
    unsigned char *der = NULL;
    size_t len = 0;

    switch (r->disposition) {
    case CSCERT_CA_ISSUED:
        if (cscert_ca_pkcs7_der(&der, &len, w->ca, r->cert) < 0) {
            logf_(srv, "enroll 500 %s %s from %s: %s", account, t, source, cscert_error_last());
            reply_text(srv, req, 500, "Internal Server Error", "the certificate could not be encoded");
            return;
        }
        reply_pkcs7(srv, req, der, len, NULL, 0, 1);
        OPENSSL_free(der);
        logf_(srv, "enroll 200 %s %s request %lld serial %s from %s%s%s (%lld ms)", account, t, (long long)r->id,
              r->serial, source, r->repeated ? " (repeat)" : "", r->capped ? " (notAfter capped)" : "",
              cscert__daemon_now_ms() - t0);
        break;
    case CSCERT_CA_PENDING:
        /* RFC 7030 4.2.3: 202 + Retry-After; the client repeats the same request. */
        snprintf(ra, sizeof(ra), "%d", CSCERT_EST_RETRY_AFTER);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", ra);
        snprintf(msg, sizeof(msg), "request %lld is pending approval on template %s at CA %s; repeat the same "
                 "request after %d seconds",
                 (long long)r->id, t, cscert_ca_name(w->ca), CSCERT_EST_RETRY_AFTER);
        reply_text(srv, req, 202, "Accepted", msg);
        logf_(srv, "enroll 202 %s %s request %lld pending from %s%s", account, t, (long long)r->id, source,
              r->repeated ? " (repeat)" : "");
        break;
    default:
        snprintf(msg, sizeof(msg), "request %lld was denied at CA %s: %s", (long long)r->id, cscert_ca_name(w->ca),
                 r->reason[0] ? r->reason : "no reason given");
        reply_text(srv, req, 403, "Forbidden", msg);
        logf_(srv, "enroll 403 %s %s request %lld denied from %s", account, t, (long long)r->id, source);
    }
}

static void job_free(struct job *j)
{
    if (!j)
        return;
    cscert_ca_result_clear(&j->res);
    X509_REQ_free(j->csr);
    names_free(j->groups);
    free(j);
}

/* ---- the committer ---- */

static void post_done(struct job *j)
{
    struct worker *w = j->w;

    pthread_mutex_lock(&w->done_mu);
    j->next = w->done;
    w->done = j;
    pthread_mutex_unlock(&w->done_mu);
    event_active(w->done_ev, EV_READ, 0);
}

/* Move queued jobs into jv (cm->mu held). */
static void gather(struct committer *cm, struct job **jv, size_t *n)
{
    while (cm->head && *n < CSCERT_EST_BATCH_MAX) {
        jv[(*n)++] = cm->head;
        cm->head = cm->head->next;
    }
    if (!cm->head)
        cm->tail = NULL;
}

static void *committer_main(void *arg)
{
    struct server *srv = arg;
    struct committer *cm = &srv->cm;
    const cscert_ca_submission *sv[CSCERT_EST_BATCH_MAX];
    cscert_ca_result *rv[CSCERT_EST_BATCH_MAX];
    struct job *jv[CSCERT_EST_BATCH_MAX];

    for (;;) {
        size_t n = 0, i;
        long long t0;
        int rc;

        pthread_mutex_lock(&cm->mu);
        cm->idle = 1;
        while (!cm->head && !cm->stop)
            pthread_cond_wait(&cm->cv, &cm->mu);
        cm->idle = 0;
        if (!cm->head && cm->stop) {
            pthread_mutex_unlock(&cm->mu);
            break;
        }
        gather(cm, jv, &n);
        if (n < CSCERT_EST_BATCH_MAX && atomic_load(&cm->preparing) > 0 && !cm->stop) {
            /* Group commit: issuances being signed now share this fsync. */
            struct timespec until;

            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += EST_GATHER_MS * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            while (n < CSCERT_EST_BATCH_MAX && atomic_load(&cm->preparing) > 0 && !cm->stop
                   && pthread_cond_timedwait(&cm->cv, &cm->mu, &until) == 0)
                gather(cm, jv, &n);
            gather(cm, jv, &n);
        }
        pthread_mutex_unlock(&cm->mu);
        for (i = 0; i < n; i++) {
            sv[i] = &jv[i]->sub;
            rv[i] = &jv[i]->res;
        }
        /* One transaction, one fsync for the whole batch. */
        t0 = cscert__daemon_now_ms();
        rc = cscert_ca_commit_batch(cm->ca, sv, rv, n);
        if (rc < 0 && n > 1) {
            /* One bad row must not sink the others: each alone. */
            for (i = 0; i < n; i++) {
                jv[i]->rc = cscert_ca_commit_batch(cm->ca, &sv[i], &rv[i], 1);
                if (jv[i]->rc < 0)
                    snprintf(jv[i]->err, sizeof(jv[i]->err), "%s", cscert_error_last());
            }
        } else {
            for (i = 0; i < n; i++) {
                jv[i]->rc = rc;
                if (rc < 0)
                    snprintf(jv[i]->err, sizeof(jv[i]->err), "%s", cscert_error_last());
            }
        }
        t0 = cscert__daemon_now_ms() - t0;
        cm->batches++;
        cm->rows += (long)n;
        cm->busy_ms += t0;
        if (t0 > cm->max_ms)
            cm->max_ms = t0;
        if (n > cm->max_batch)
            cm->max_batch = n;
        for (i = 0; i < n; i++)
            post_done(jv[i]);
    }
    return NULL;
}

static void committer_push(struct server *srv, struct job *j)
{
    struct committer *cm = &srv->cm;

    atomic_fetch_add(&j->w->outstanding, 1);
    j->next = NULL;
    pthread_mutex_lock(&cm->mu);
    if (cm->tail)
        cm->tail->next = j;
    else
        cm->head = j;
    cm->tail = j;
    /* Wake the committer when it waits for a first job, or when it gathers
     * and this was the last enrollment being signed: not once per job. */
    if (atomic_fetch_sub(&cm->preparing, 1) == 1 || cm->idle) /* counted in enroll */
        pthread_cond_signal(&cm->cv);
    pthread_mutex_unlock(&cm->mu);
}

/* Worker: send the answers whose commit returned. */
static void done_cb(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    struct job *list, *j;

    (void)fd, (void)what;
    pthread_mutex_lock(&w->done_mu);
    list = w->done;
    w->done = NULL;
    pthread_mutex_unlock(&w->done_mu);
    /* post_done pushes at the head: answer in commit order, oldest first. */
    for (j = list, list = NULL; j;) {
        struct job *next = j->next;

        j->next = list;
        list = j;
        j = next;
    }
    while ((j = list)) {
        list = j->next;
        if (j->rc < 0) {
            logf_(w->srv, "enroll 500 %s %s from %s: commit failed: %s", j->account,
                  j->tmpl[0] ? j->tmpl : CSCERT_CA_TEMPLATE_DEFAULT, j->source, j->err);
            reply_text(w->srv, j->req, 500, "Internal Server Error", "the CA could not record the request");
        } else {
            reply_result(w, j->req, &j->res, j->account, j->tmpl, j->source, j->t0_ms);
        }
        job_free(j);
        atomic_fetch_sub(&w->outstanding, 1);
    }
}

/* ---- requests (worker threads) ---- */

static struct conn *conn_of(struct evhttp_request *req)
{
    struct evhttp_connection *ec = evhttp_request_get_connection(req);
    struct bufferevent *bev = ec ? evhttp_connection_get_bufferevent(ec) : NULL;
    SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;

    return ssl ? SSL_get_ex_data(ssl, ex_conn_idx) : NULL;
}

static void source_of(char out[80], struct evhttp_request *req)
{
    struct evhttp_connection *ec = evhttp_request_get_connection(req);
    char *addr = NULL;
    ev_uint16_t port = 0;

    snprintf(out, 80, "unknown");
    if (ec) {
        evhttp_connection_get_peer(ec, &addr, &port);
        if (addr)
            snprintf(out, 80, strchr(addr, ':') ? "[%s]:%u" : "%s:%u", addr, (unsigned)port);
    }
}

/* ---- failed logins (see EST_FAIL_MAX) ---- */

/* "ADDR/account" (account lower-cased: names are case-insensitive). */
static void fail_key(char *out, size_t n, struct evhttp_request *req, const char *name)
{
    struct evhttp_connection *ec = evhttp_request_get_connection(req);
    char *addr = NULL;
    ev_uint16_t port = 0;
    size_t i;

    if (ec)
        evhttp_connection_get_peer(ec, &addr, &port);
    snprintf(out, n, "%s/%s", addr ? addr : "?", name);
    for (i = 0; out[i]; i++)
        out[i] = (char)tolower((unsigned char)out[i]);
}

/* The key's live slot, or NULL (fail_mu held). */
static struct fail_slot *fail_find(struct server *srv, const char *key, long long now)
{
    for (size_t i = 0; i < EST_FAIL_SLOTS; i++)
        if (srv->fails[i].count && now - srv->fails[i].since_ms < EST_FAIL_WINDOW_MS
            && strcmp(srv->fails[i].key, key) == 0)
            return &srv->fails[i];
    return NULL;
}

/* Count one attempt for key (fail_mu held): its live slot, else a free or
 * expired one, else the live pair with the fewest failures (then the
 * oldest); a locked-out pair never gives way, and when every pair is
 * locked out this one goes untracked. */
static void fail_count(struct server *srv, const char *key, long long now)
{
    struct fail_slot *f = fail_find(srv, key, now);

    if (f) {
        f->count++;
        return;
    }
    for (size_t i = 0; i < EST_FAIL_SLOTS; i++) {
        struct fail_slot *g = &srv->fails[i];

        if (!g->count || now - g->since_ms >= EST_FAIL_WINDOW_MS) {
            f = g;
            break;
        }
        if (g->count < EST_FAIL_MAX
            && (!f || g->count < f->count || (g->count == f->count && g->since_ms < f->since_ms)))
            f = g;
    }
    if (f) {
        snprintf(f->key, sizeof(f->key), "%s", key);
        f->count = 1;
        f->since_ms = now;
    }
}

/* Before a password is checked: seconds left of key's lockout, or 0 and
 * the attempt counted already, as a failure until fail_done says
 * otherwise. Counted before the ~30 ms hash, so that N workers hashing at
 * once cannot take more than EST_FAIL_MAX guesses between them. */
static int fail_try(struct server *srv, const char *key)
{
    long long now = cscert__daemon_now_ms();
    struct fail_slot *f;
    int left = 0;

    pthread_mutex_lock(&srv->fail_mu);
    if ((f = fail_find(srv, key, now)) && f->count >= EST_FAIL_MAX)
        left = (int)((f->since_ms + EST_FAIL_WINDOW_MS - now + 999) / 1000);
    else
        fail_count(srv, key, now);
    pthread_mutex_unlock(&srv->fail_mu);
    return left;
}

/* After the check: rc OK forgets key's failures; EAUTH keeps the attempt
 * counted; another error (the database, memory) was no guess: uncounted. */
static void fail_done(struct server *srv, const char *key, int rc)
{
    struct fail_slot *f;

    if (rc == CSCERT_EAUTH)
        return;
    pthread_mutex_lock(&srv->fail_mu);
    if ((f = fail_find(srv, key, cscert__daemon_now_ms())))
        f->count = rc == CSCERT_OK ? 0 : (f->count > 0 ? f->count - 1 : 0);
    pthread_mutex_unlock(&srv->fail_mu);
}

/* DESIGN: a password verified on a TLS connection is not hashed again on
 * that connection (same Authorization value, compared in constant time).
 * *retry_s > 0: refused because of EST_FAIL_MAX (429, Retry-After). */
static int authenticate(struct worker *w, struct conn *c, struct evhttp_request *req, const char *source,
                        const char *tmpl, int *retry_s)
{
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    unsigned char d[32], now[CSCERT_CA_STAMP_LEN];
    char *name = NULL, *pw = NULL, **groups = NULL, key[sizeof(((struct fail_slot *)0)->key)];
    unsigned int dl = 0;
    int rc;

    /* Every request is checked against the accounts and certificates as
     * they are now, also on a connection that authenticated before: a
     * removed account, a changed password or groups, a revoked client
     * certificate are refused from the next request on. A password
     * verified on this connection is not derived again: the same
     * Authorization value and the account's record unchanged suffice. */
    *retry_s = 0;
    if (!h || !EVP_Digest(h, strlen(h), d, &dl, EVP_sha256(), NULL))
        dl = 0;
    if (dl == 32 && c->basic_ok && CRYPTO_memcmp(d, c->cred, 32) == 0
        && cscert_ca_account_stamp(now, w->ca, c->account) == CSCERT_OK
        && CRYPTO_memcmp(now, c->stamp, sizeof(now)) == 0) {
        c->by_cert = 0;
        OPENSSL_cleanse(d, sizeof(d));
        return CSCERT_OK;
    }
    cscert_error_clear();
    c->by_cert = c->basic_ok = 0;
    c->account[0] = '\0';
    if (!h && c->ssl && SSL_get0_peer_certificate(c->ssl)) {
        /* No Authorization: the TLS client certificate is the credential. */
        long v = SSL_get_verify_result(c->ssl);

        if (v != X509_V_OK)
            rc = cscert_error_setf(CSCERT_EAUTH, "client certificate",
                                   "present a certificate this CA issued, or use HTTP Basic",
                                   "it does not verify against CA %s: %s", cscert_ca_name(w->ca),
                                   X509_verify_cert_error_string(v));
        else if ((rc = cscert_ca_authenticate_cert(&name, &groups, w->ca, SSL_get0_peer_certificate(c->ssl)))
                 == CSCERT_OK)
            c->by_cert = 1;
    } else if ((rc = cscert_ca_serve__basic_auth(&name, &pw, h)) == CSCERT_OK) {
        fail_key(key, sizeof(key), req, name);
        if ((*retry_s = fail_try(w->srv, key)) > 0) {
            rc = cscert_error_setf(CSCERT_EPOLICY, name, "check the account's password file, then wait",
                                   "%d failed logins from this address within %d seconds; try again in "
                                   "%d seconds", EST_FAIL_MAX, EST_FAIL_WINDOW_MS / 1000, *retry_s);
        } else {
            rc = cscert_ca_authenticate_stamped(&groups, c->stamp, w->ca, name, pw);
            fail_done(w->srv, key, rc);
        }
    }
    if (rc < 0) {
        cscert_ca_audit(w->ca, "refused", name && *name ? name : "(none)", source,
                        json_pack("{s:s, s:o, s:i}", "template", tmpl[0] ? tmpl : CSCERT_CA_TEMPLATE_DEFAULT,
                                  "reason", cscert__jsonl_str(cscert_error_last()),
                                  "code", *retry_s ? CSCERT_EPOLICY : CSCERT_EAUTH));
        goto out;
    }
    names_free(c->groups);
    c->groups = groups;
    groups = NULL;
    snprintf(c->account, sizeof(c->account), "%s", name);
    if (!c->by_cert && dl == 32) {
        memcpy(c->cred, d, 32);
        c->basic_ok = 1;
    }
out:
    free(name);
    if (pw)
        OPENSSL_clear_free(pw, strlen(pw));
    names_free(groups);
    OPENSSL_cleanse(d, sizeof(d));
    return rc;
}

/* A name of a that b lacks (case-insensitive), or NULL. */
static const char *name_missing(char *const *a, size_t na, char *const *b, size_t nb)
{
    size_t i, k;

    for (i = 0; i < na; i++) {
        for (k = 0; k < nb && strcasecmp(a[i], b[k]) != 0; k++)
            ;
        if (k == nb)
            return a[i];
    }
    return NULL;
}

/* RFC 7030 4.2.2: a request authenticated by a client certificate renews
 * that certificate's names, CN and SANs, no more and no fewer. */
static int same_names(X509_REQ *req, X509 *cert)
{
    char **rn = NULL, **cn = NULL;
    const char *extra, *lost;
    size_t nr = 0, nc = 0;
    int rc;

    if ((rc = cscert_csr_names(&rn, &nr, req)) < 0 || (rc = cscert_x509_names(&cn, &nc, cert)) < 0)
        goto out;
    extra = name_missing(rn, nr, cn, nc);
    lost = name_missing(cn, nc, rn, nr);
    if (extra || lost)
        rc = cscert_error_setf(CSCERT_EPOLICY, "request",
                               "authenticate with HTTP Basic credentials to request other names",
                               "a client certificate renews its own names only (RFC 7030 4.2.2): '%s' %s",
                               extra ? extra : lost,
                               extra ? "is not in the client certificate" : "is missing from the request");
out:
    cscert_x509_names_free(rn);
    cscert_x509_names_free(cn);
    return rc;
}

static void enroll(struct worker *w, struct conn *c, struct evhttp_request *req, const char *tmpl, int reenroll,
                   const char *source, long long t0)
{
    struct server *srv = w->srv;
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    const char *t = tmpl[0] ? tmpl : CSCERT_CA_TEMPLATE_DEFAULT, *reason;
    struct job *j = NULL;
    size_t len = in ? evbuffer_get_length(in) : 0;
    unsigned char *body;
    char msg[600];
    int rc, code, preparing = 0, retry_s = 0;

    if ((rc = authenticate(w, c, req, source, tmpl, &retry_s)) < 0 && retry_s > 0) {
        char ra[16];

        snprintf(ra, sizeof(ra), "%d", retry_s);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", ra);
        snprintf(msg, sizeof(msg), "%s", cscert_error_last());
        reply_text(srv, req, 429, "Too Many Requests", msg);
        logf_(srv, "enroll 429 %s from %s: %s", t, source, msg);
        return;
    }
    if (rc < 0) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate", "Basic realm=\"csca\"");
        snprintf(msg, sizeof(msg), "%s", cscert_error_last());
        reply_text(srv, req, 401, "Unauthorized", msg);
        logf_(srv, "enroll 401 %s from %s: %s", t, source, msg);
        return;
    }
    if (!cscert_ca_serve__media_type_is(ct, "application/pkcs10")) {
        snprintf(msg, sizeof(msg), "Content-Type: '%s' is not application/pkcs10; send the request as "
                 "application/pkcs10 (RFC 7030 4.2.1)", ct ? ct : "");
        reply_text(srv, req, 415, "Unsupported Media Type", msg);
        logf_(srv, "enroll 415 %s %s from %s", c->account, t, source);
        return;
    }
    if (!(j = calloc(1, sizeof(*j))) || !(j->groups = names_dup(c->groups))) {
        rc = cscert__oom();
        goto fail;
    }
    body = len ? evbuffer_pullup(in, -1) : NULL;
    atomic_fetch_add(&srv->cm.preparing, 1); /* until committer_push, or fail */
    preparing = 1;
    if ((rc = cscert_ca_serve__decode_csr(&j->csr, body, len)) < 0
        || (c->by_cert && (rc = same_names(j->csr, SSL_get0_peer_certificate(c->ssl))) < 0))
        goto fail;
    j->w = w;
    j->req = req;
    j->t0_ms = t0;
    snprintf(j->account, sizeof(j->account), "%s", c->account);
    snprintf(j->tmpl, sizeof(j->tmpl), "%s", tmpl);
    /* Where from, and how it proved itself when not by password: the log,
     * the audit and the request's row say so. */
    snprintf(j->source, sizeof(j->source), "%s%s", source, c->by_cert ? " (client certificate)" : "");
    j->sub.req = j->csr;
    j->sub.template_name = j->tmpl[0] ? j->tmpl : CSCERT_CA_TEMPLATE_DEFAULT;
    j->sub.requester = j->account;
    j->sub.groups = j->groups;
    j->sub.source = j->source;
    j->sub.reenroll = reenroll;
    /* Policy, repeat lookup and signing here, in the worker. */
    if ((rc = cscert_ca_prepare(&j->res, w->ca, &j->sub)) < 0)
        goto fail;
    if (j->res.repeated) { /* nothing to record: answer from the queue */
        atomic_fetch_sub(&srv->cm.preparing, 1);
        reply_result(w, req, &j->res, j->account, j->tmpl, j->source, t0);
        job_free(j);
        return;
    }
    committer_push(srv, j); /* answered in done_cb once committed */
    return;
fail:
    if (preparing)
        atomic_fetch_sub(&srv->cm.preparing, 1);
    code = http_code_for(rc, &reason);
    snprintf(msg, sizeof(msg), "%s", cscert_error_last());
    reply_text(srv, req, code, reason, code == 500 ? "internal error; see the CA's log" : msg);
    logf_(srv, "enroll %d %s %s from %s: %s", code, c->account, t, source, msg);
    job_free(j);
}

static void req_cb(struct evhttp_request *req, void *arg)
{
    struct worker *w = arg;
    struct server *srv = w->srv;
    struct conn *c = conn_of(req);
    const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
    const char *path = u ? evhttp_uri_get_path(u) : NULL;
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    char tmpl[CSCERT_CA_NAME_MAX + 1], source[80];
    long long t0 = cscert__daemon_now_ms();
    int op;

    if (!c) { /* never plain HTTP */
        evhttp_send_error(req, HTTP_SERVUNAVAIL, "TLS only");
        return;
    }
    atomic_fetch_add(&srv->served, 1);
    source_of(source, req);
    if (cscert_ca_serve__parse_path(&op, tmpl, path) < 0) {
        reply_text(srv, req, 404, "Not Found", cscert_error_last());
        logf_(srv, "404 %s from %s", path ? path : "?", source);
        return;
    }
    if (op == CSCERT_EST_OP_CACERTS) {
        if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
            evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
            reply_text(srv, req, 405, "Method Not Allowed", "cacerts takes GET");
            logf_(srv, "cacerts 405 from %s", source);
            return;
        }
        /* RFC 7030 4.1.3: the whole chain, not just the issuing CA. */
        reply_pkcs7(srv, req, NULL, 0, srv->cacerts, srv->cacerts_len, 0);
        logf_(srv, "cacerts 200 from %s", source);
        return;
    }
    if (m != EVHTTP_REQ_POST) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
        reply_text(srv, req, 405, "Method Not Allowed", "simpleenroll and simplereenroll take POST");
        logf_(srv, "enroll 405 from %s", source);
        return;
    }
    enroll(w, c, req, tmpl, op == CSCERT_EST_OP_REENROLL, source, t0);
}

/* ---- connections (worker threads) ---- */

static struct bufferevent *bev_cb(struct event_base *base, void *arg)
{
    struct worker *w = arg;
    struct server *srv = w->srv;
    struct conn *c = NULL;
    struct bufferevent *bev;
    SSL *ssl;

    pthread_mutex_lock(&srv->tls_mu);
    ssl = SSL_new(srv->ctx);
    pthread_mutex_unlock(&srv->tls_mu);
    if (!ssl || !(c = calloc(1, sizeof(*c))) || !SSL_set_ex_data(ssl, ex_conn_idx, c)) {
        free(c);
        SSL_free(ssl);
        return NULL; /* evhttp falls back to plain TCP; req_cb refuses it */
    }
    c->w = w;
    c->ssl = ssl;
    w->live++;
    if (w->sock) {
        evconnlistener_disable(evhttp_bound_socket_get_listener(w->sock));
        if (w->live >= srv->per_worker_max) /* resumed when one closes (conn_free_cb) */
            w->at_max = 1;
        else /* one accept per wakeup, so the other workers get theirs (web.c) */
            event_active(w->reenable_ev, EV_READ, 0);
    }
    bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    /* Headers and body in one TLS record; two when this fails. */
    if (bev)
        (void)cscert__daemon_coalesce_output(bev);
    return bev;
}

static void reenable_cb(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;

    (void)fd, (void)what;
    if (w->sock && !w->at_max) /* NULL once draining */
        evconnlistener_enable(evhttp_bound_socket_get_listener(w->sock));
}

static void drain_tick(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;

    (void)fd, (void)what;
    /* Never stop with a job at the committer: its request would dangle. */
    if ((w->live <= 0 || cscert__daemon_now_ms() >= w->drain_deadline_ms) && atomic_load(&w->outstanding) == 0)
        event_base_loopbreak(w->base);
}

static void drain_cb(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    struct timeval tick = { 0, EST_DRAIN_TICK_MS * 1000 };

    (void)fd, (void)what;
    if (w->sock) {
        evhttp_del_accept_socket(w->http, w->sock);
        w->sock = NULL;
    }
    w->drain_deadline_ms = cscert__daemon_now_ms() + CSCERT_EST_DRAIN_MS;
    if (!(w->tick_ev = event_new(w->base, -1, EV_PERSIST, drain_tick, w)) || event_add(w->tick_ev, &tick) < 0)
        event_base_loopbreak(w->base);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;

    event_base_dispatch(w->base);
    return NULL;
}

static int worker_setup(struct worker *w)
{
    struct server *srv = w->srv;
    struct event_config *cfg = event_config_new();
    int fd, rc;

    pthread_mutex_init(&w->done_mu, NULL);
    if ((rc = cscert_ca_clone(&w->ca, srv->ca)) < 0) {
        event_config_free(cfg);
        return rc;
    }
    /* Changelist: evhttp toggles a connection's events around each
     * request; batching epoll_ctl per loop turn cancels those pairs. */
    if (!cfg || event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST) < 0) {
        event_config_free(cfg);
        return cscert__oom();
    }
    w->base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    if (!w->base || !(w->http = evhttp_new(w->base))
        || !(w->reenable_ev = event_new(w->base, -1, 0, reenable_cb, w))
        || !(w->drain_ev = event_new(w->base, -1, 0, drain_cb, w))
        || !(w->done_ev = event_new(w->base, -1, 0, done_cb, w)))
        return cscert__oom();
    evhttp_set_bevcb(w->http, bev_cb, w);
    evhttp_set_gencb(w->http, req_cb, w);
    /* Every common method reaches req_cb, which answers 405 itself. */
    evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST | EVHTTP_REQ_PUT
                                            | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
    evhttp_set_max_headers_size(w->http, CSCERT_EST_MAX_HEADERS);
    /* 413 from Content-Length before the body is read (evhttp_get_body). */
    evhttp_set_max_body_size(w->http, CSCERT_EST_MAX_BODY);
    evhttp_set_timeout(w->http, srv->timeout_s);
    if ((fd = fcntl(srv->fd, F_DUPFD_CLOEXEC, 0)) < 0)
        return cscert_error_setf(CSCERT_EIO, srv->listen, NULL, "dup: %s", strerror(errno));
    if (!(w->sock = evhttp_accept_socket_with_handle(w->http, fd))) {
        close(fd);
        return cscert_error_setf(CSCERT_EIO, srv->listen, NULL, "cannot listen on the socket");
    }
    cscert__daemon_accept_guard(evhttp_bound_socket_get_listener(w->sock));
    return CSCERT_OK;
}

static void worker_free(struct worker *w)
{
    if (w->http)
        evhttp_free(w->http); /* closes its socket and connections */
    if (w->reenable_ev)
        event_free(w->reenable_ev);
    if (w->tick_ev)
        event_free(w->tick_ev);
    if (w->drain_ev)
        event_free(w->drain_ev);
    if (w->done_ev)
        event_free(w->done_ev);
    if (w->base)
        event_base_free(w->base);
    cscert_ca_free(w->ca);
    pthread_mutex_destroy(&w->done_mu);
}

/* ---- the listener (main thread) ---- */

static int parse_listen(struct sockaddr_storage *ss, socklen_t *len, char norm[80], const char *in)
{
    char host[64];
    const char *colon, *h = in;
    size_t hl;
    long port;
    char *end;

    memset(ss, 0, sizeof(*ss));
    if (!in || !*in)
        goto bad;
    if (*in == '[') {
        const char *rb = strchr(in, ']');

        if (!rb || rb[1] != ':')
            goto bad;
        h = in + 1;
        hl = (size_t)(rb - h);
        colon = rb + 1;
    } else {
        if (!(colon = strrchr(in, ':')))
            goto bad;
        hl = (size_t)(colon - in);
    }
    if (hl == 0 || hl >= sizeof(host))
        goto bad;
    memcpy(host, h, hl);
    host[hl] = '\0';
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || port < 1 || port > 65535)
        goto bad;
    if (cscert__daemon_sockaddr(ss, len, host, (int)port) < 0)
        goto bad;
    if (ss->ss_family == AF_INET6)
        snprintf(norm, 80, "[%s]:%ld", host, port);
    else
        snprintf(norm, 80, "%s:%ld", host, port);
    return CSCERT_OK;
bad:
    return cscert_error_setf(CSCERT_EINVAL, in && *in ? in : "--listen",
                             "give a literal address and a port, e.g. --listen 0.0.0.0:8443 or [::]:8443",
                             "not ADDR:PORT");
}

static int open_listener(struct server *srv)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    int rc;

    if ((rc = parse_listen(&ss, &len, srv->listen, srv->o->listen)) < 0)
        return rc;
    if (cscert__daemon_listen(&srv->fd, &ss, len, EST_BACKLOG) < 0)
        return cscert_error_setf(CSCERT_EIO, srv->listen, "free the port or pick another --listen",
                                 "cannot listen: %s", strerror(errno));
    return CSCERT_OK;
}

/* ---- signals and timers (main thread) ---- */

static void hup_cb(evutil_socket_t fd, short what, void *arg)
{
    struct server *srv = arg;

    (void)fd, (void)what;
    /* Templates, accounts and grants are read from the database on every
     * request; what SIGHUP reloads is the TLS certificate. */
    logf_(srv, "SIGHUP: re-issuing the TLS certificate");
    if (tls_issue(srv) < 0)
        logf_(srv, "error: TLS certificate not renewed, the old one serves: %s", cscert_error_last());
}

static void tls_check_cb(evutil_socket_t fd, short what, void *arg)
{
    struct server *srv = arg;

    (void)fd, (void)what;
    if (time(NULL) >= srv->tls_renew_at && tls_issue(srv) < 0)
        logf_(srv, "error: TLS certificate not renewed, retrying in %d s: %s", CSCERT_EST_TLS_CHECK_S,
              cscert_error_last());
}

static void term_cb(evutil_socket_t sig, short what, void *arg)
{
    struct server *srv = arg;
    int i;

    (void)what;
    if (atomic_exchange(&srv->draining, 1))
        return;
    logf_(srv, "%s: draining, then stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    for (i = 0; i < srv->n_workers; i++)
        event_active(srv->workers[i].drain_ev, EV_READ, 0);
    event_base_loopbreak(srv->base);
}

static int cacerts_prepare(struct server *srv)
{
    struct evbuffer *b = evbuffer_new();
    unsigned char *der = NULL;
    size_t len = 0;
    int rc;

    if (!b)
        return cscert__oom();
    if ((rc = cscert_ca_pkcs7_der(&der, &len, srv->ca, NULL)) == CSCERT_OK
        && (rc = add_base64(b, der, len)) == CSCERT_OK) {
        srv->cacerts_len = evbuffer_get_length(b);
        if (!(srv->cacerts = malloc(srv->cacerts_len + 1)))
            rc = cscert__oom();
        else
            evbuffer_remove(b, srv->cacerts, srv->cacerts_len);
    } else if (rc == CSCERT_ENOMEM) {
        cscert__oom();
    }
    OPENSSL_free(der);
    evbuffer_free(b);
    return rc;
}

static int check_opts(const cscert_ca_serve_opts *o)
{
    size_t i;

    if (o->n_tls_names > CSCERT_EST_TLS_NAMES_MAX)
        return cscert_error_setf(CSCERT_EINVAL, "--tls-name", "name the CA by fewer names",
                                 "%zu names, at most %d", o->n_tls_names, CSCERT_EST_TLS_NAMES_MAX);
    for (i = 0; i < o->n_tls_names; i++) {
        char fqdn[254];
        int rc;

        /* The names go into the CA's own TLS certificate: DNS names only. */
        if ((rc = cscert_fqdn_check(fqdn, o->tls_names[i], 0, "--tls-name")) < 0)
            return rc;
    }
    return CSCERT_OK;
}

static int serve_here(cscert_ca *ca, const cscert_ca_serve_opts *o, int detached, int ready_fd)
{
    struct server srv;
    struct cscert__daemon_events ev = { 0 };
    struct timeval tls_tv = { CSCERT_EST_TLS_CHECK_S, 0 };
    sigset_t all, old;
    long ncpu;
    int rc, w, max_conns;

    memset(&srv, 0, sizeof(srv));
    srv.ca = ca;
    srv.o = o;
    srv.fd = -1;
    srv.detached = detached;
    pthread_mutex_init(&srv.tls_mu, NULL);
    pthread_mutex_init(&srv.fail_mu, NULL);
    pthread_mutex_init(&srv.cm.mu, NULL);
    pthread_cond_init(&srv.cm.cv, NULL);
    srv.timeout_s = o->timeout_s > 0 ? o->timeout_s : CSCERT_EST_TIMEOUT_DEFAULT;
    ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    srv.n_workers = o->workers > 0 ? o->workers : (ncpu > 0 ? (int)ncpu : 1);
    if (srv.n_workers > CSCERT_EST_WORKERS_MAX)
        srv.n_workers = CSCERT_EST_WORKERS_MAX;
    max_conns = o->max_conns > 0 ? o->max_conns : CSCERT_EST_MAX_CONNS;
    srv.per_worker_max = max_conns / srv.n_workers > 0 ? max_conns / srv.n_workers : 1;
    pthread_once(&ex_once, ex_init);
    if (ex_conn_idx < 0 || evthread_use_pthreads() < 0) {
        rc = cscert_error_set(CSCERT_ECRYPTO, "csca serve", "cannot set up OpenSSL or libevent threads", NULL);
        goto out;
    }
    signal(SIGPIPE, SIG_IGN); /* a client that goes away is an EPIPE, not a death */
    if ((rc = check_opts(o)) < 0 || (rc = open_listener(&srv)) < 0)
        goto out;
    rc = CSCERT_ENOMEM;
    if (!(srv.workers = calloc((size_t)srv.n_workers, sizeof(*srv.workers))) || !(srv.base = event_base_new())) {
        cscert__oom();
        goto out;
    }
    if ((rc = cacerts_prepare(&srv)) < 0 || (rc = tls_issue(&srv)) < 0
        || (rc = cscert_ca_clone(&srv.cm.ca, ca)) < 0)
        goto out;
    for (w = 0; w < srv.n_workers; w++) {
        srv.workers[w].srv = &srv;
        srv.workers[w].idx = w;
        if ((rc = worker_setup(&srv.workers[w])) < 0)
            goto out;
    }
    if ((rc = cscert__daemon_pid_write(&srv.pid_path, cscert_ca_home(ca), "serve.pid")) < 0)
        goto out;
    /* Workers and the committer never take a signal. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    if (pthread_create(&srv.cm.th, NULL, committer_main, &srv) != 0) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        rc = cscert_error_set(CSCERT_EIO, "csca serve", "cannot start the committer thread", NULL);
        goto out;
    }
    srv.cm.started = 1;
    for (w = 0; w < srv.n_workers; w++) {
        if (pthread_create(&srv.workers[w].th, NULL, worker_main, &srv.workers[w]) != 0) {
            pthread_sigmask(SIG_SETMASK, &old, NULL);
            rc = cscert_error_setf(CSCERT_EIO, "csca serve", NULL, "cannot start worker %d", w);
            goto out;
        }
        srv.workers[w].started = 1;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    rc = CSCERT_ENOMEM;
    if (cscert__daemon_events_add(&ev, srv.base, hup_cb, term_cb, tls_check_cb, &tls_tv, &srv) < 0) {
        cscert__oom();
        goto out;
    }
    logf_(&srv, "ready: CA %s on https://%s/.well-known/est/ (%d workers, pid %ld)", cscert_ca_name(ca), srv.listen,
          srv.n_workers, (long)getpid());
    cscert__daemon_ready(&ready_fd);
    event_base_dispatch(srv.base);
    rc = CSCERT_OK;
out:
    if (srv.workers && !atomic_load(&srv.draining)) { /* an error: stop the workers that started */
        atomic_store(&srv.draining, 1);
        for (w = 0; w < srv.n_workers; w++)
            if (srv.workers[w].started)
                event_active(srv.workers[w].drain_ev, EV_READ, 0);
    }
    for (w = 0; srv.workers && w < srv.n_workers; w++)
        if (srv.workers[w].started)
            pthread_join(srv.workers[w].th, NULL);
    /* Every worker waited for its jobs: the committer's queue is empty. */
    if (srv.cm.started) {
        pthread_mutex_lock(&srv.cm.mu);
        srv.cm.stop = 1;
        pthread_cond_signal(&srv.cm.cv);
        pthread_mutex_unlock(&srv.cm.mu);
        pthread_join(srv.cm.th, NULL);
    }
    for (w = 0; srv.workers && w < srv.n_workers; w++)
        worker_free(&srv.workers[w]);
    if (rc == CSCERT_OK)
        logf_(&srv, "stopped after %ld requests; %ld issuances in %ld commits (%.1f a commit, at most %zu; "
              "%.1f ms a commit, at most %lld ms)", (long)atomic_load(&srv.served), srv.cm.rows, srv.cm.batches,
              srv.cm.batches ? (double)srv.cm.rows / (double)srv.cm.batches : 0.0, srv.cm.max_batch,
              srv.cm.batches ? (double)srv.cm.busy_ms / (double)srv.cm.batches : 0.0, srv.cm.max_ms);
    cscert__daemon_events_free(&ev);
    if (srv.base)
        event_base_free(srv.base);
    if (srv.fd >= 0)
        close(srv.fd);
    cscert__daemon_pid_remove(srv.pid_path);
    cscert_ca_free(srv.cm.ca);
    SSL_CTX_free(srv.ctx);
    free(srv.cacerts);
    free(srv.workers);
    pthread_mutex_destroy(&srv.tls_mu);
    pthread_mutex_destroy(&srv.fail_mu);
    pthread_mutex_destroy(&srv.cm.mu);
    pthread_cond_destroy(&srv.cm.cv);
    if (ready_fd >= 0)
        close(ready_fd);
    return rc;
}

/* The detached child's part: it works on its own database connection (an
 * SQLite handle must not cross a fork). */
struct child_arg {
    cscert_ca *ca;
    const cscert_ca_serve_opts *o;
};

static int serve_child(void *arg, int ready_fd)
{
    struct child_arg *a = arg;
    cscert_ca *child_ca = NULL;
    int rc;

    if ((rc = cscert_ca_clone(&child_ca, a->ca)) < 0)
        return rc;
    rc = serve_here(child_ca, a->o, 1, ready_fd);
    cscert_ca_free(child_ca);
    return rc;
}

int cscert_ca_serve(cscert_ca *ca, const cscert_ca_serve_opts *o)
{
    static const struct cscert__daemon_names names = {
        "csca serve", "csca-serve", "see syslog, or run 'csca serve --foreground'"
    };
    struct child_arg a = { ca, o };

    if (o->foreground)
        return serve_here(ca, o, 0, -1);
    return cscert__daemon_detach(o->child_pid, &names, serve_child, &a);
}
