/* web.c: the HTTPS bindings and `web serve` (see web.h).
 *
 * Threads. The main thread owns the store (SQLite is used from it only),
 * the signals and a 1 s timer that polls the assignments; it builds one
 * SSL_CTX per binding and publishes it in the binding's slot under the
 * slot's mutex. N workers each run their own event_base with one evhttp
 * per binding, accepting from a dup() of the binding's listening socket
 * (one open file: the kernel hands each connection to one worker, an idle
 * one first). A new connection takes SSL_new(slot's current ctx); the SSL
 * holds a reference to that ctx, so a reload never disturbs a connection
 * in flight: it finishes on the certificate it started with, and the old
 * ctx is freed with its last connection.
 *
 * Invariant: the private key goes from the store (EVP_PKEY in memory)
 * into the SSL_CTX; it is never written anywhere. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "cscert/certinfo.h"
#include "cscert/names.h"
#include "cscert/topology.h"
#include "cscert/web.h"
#include "cscert/x509.h"
#include "daemon.h"

/* 8 KiB: request headers; the status page takes a GET with a few short
 * headers, and a larger header block is an attack or a mistake. */
#define WEB_MAX_HEADERS 8192
/* 1 KiB: request body; nothing here takes a body. */
#define WEB_MAX_BODY 1024
/* 256: the accept backlog; wrk's 32 connections and bursts of 200. */
#define WEB_BACKLOG 1024
/* 100 ms: how often a draining worker looks for its last connection. */
#define WEB_DRAIN_TICK_MS 100
/* 64: bindings one server serves; IIS has two, a SIP listener makes three. */
#define WEB_MAX_BINDINGS 64

static const char setting_initialized[] = "web_bindings_initialized";

/* ==================================================================== */
/* bindings                                                             */
/* ==================================================================== */

static int server_role(cscert_role *role, cscert_store *st, int required)
{
    cscert_topology *t = NULL;
    char *fqdn = NULL;
    const cscert_pool *p;
    int rc;

    *role = 0;
    if ((rc = cscert_topology_load_published(&t, &fqdn, st)) < 0) {
        if (!required)
            cscert_error_clear();
        return required ? rc : CSCERT_OK;
    }
    if ((p = cscert_topology_find_server(t, fqdn)))
        *role = p->role;
    else if (required)
        rc = cscert_error_setf(CSCERT_ENOTFOUND, fqdn ? fqdn : "computer FQDN",
                               "publish the topology with --computer-fqdn naming this server",
                               "this server is in no pool of the published topology");
    free(fqdn);
    cscert_topology_free(t);
    return rc;
}

static int web_role(cscert_role r)
{
    return r == CSCERT_ROLE_STANDARD_EDITION || r == CSCERT_ROLE_FRONT_END || r == CSCERT_ROLE_DIRECTOR;
}

/* DESIGN: Internal and External exist from the start on SE/FE/Director. */
static const cscert_binding default_bindings[] = {
    { "Internal", "0.0.0.0", 443, "WebServicesInternal" },
    { "External", "0.0.0.0", 4443, "WebServicesExternal" },
};

/* 1 when this home still has the default bindings it never stored (a
 * web role whose bindings no command has changed yet). */
static int defaults_pending(int *pending, cscert_store *st)
{
    char *v = NULL;
    cscert_role role;
    int rc;

    *pending = 0;
    if (cscert_store_get_setting(&v, st, setting_initialized) == CSCERT_OK) {
        free(v);
        return CSCERT_OK;
    }
    cscert_error_clear();
    if ((rc = server_role(&role, st, 0)) < 0)
        return rc;
    *pending = web_role(role);
    return CSCERT_OK;
}

/* Inside the caller's write transaction: store the defaults before the
 * first change, so that a refused change (rolled back) writes nothing and
 * reading commands never write. */
static int store_defaults(cscert_store *st)
{
    int rc, pending;

    if ((rc = defaults_pending(&pending, st)) < 0 || !pending)
        return rc;
    for (size_t i = 0; i < sizeof(default_bindings) / sizeof(default_bindings[0]); i++)
        if ((rc = cscert_store_set_binding(st, &default_bindings[i])) < 0)
            return rc;
    return cscert_store_set_setting(st, setting_initialized, "1");
}

int cscert_web_bindings(cscert_binding **out, size_t *n, cscert_store *st)
{
    int rc, pending;

    *out = NULL;
    *n = 0;
    if ((rc = defaults_pending(&pending, st)) < 0)
        return rc;
    if (!pending)
        return cscert_store_list_bindings(out, n, st);
    if (!(*out = malloc(sizeof(default_bindings))))
        return cscert__oom();
    memcpy(*out, default_bindings, sizeof(default_bindings));
    *n = sizeof(default_bindings) / sizeof(default_bindings[0]);
    return CSCERT_OK;
}

static int check_site_name(const char *site)
{
    size_t i, len = site ? strlen(site) : 0;

    if (len == 0 || len > CSCERT_WEB_SITE_MAX)
        return cscert_error_setf(CSCERT_EINVAL, "--site", "e.g. --site External",
                                 "a site name has 1 to %d characters", CSCERT_WEB_SITE_MAX);
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)site[i];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'
              || c == '_' || c == '.' || (c == ' ' && i > 0 && i + 1 < len)))
            return cscert_error_setf(CSCERT_EINVAL, site, "use letters, digits, '-', '_', '.' and inner spaces",
                                     "character %zu of the site name is not allowed", i + 1);
    }
    return CSCERT_OK;
}

/* A literal IPv4 or IPv6 address, normalized ("0.0.0.0", "::1"). */
static int parse_address(char out[64], int *family, const char *in)
{
    unsigned char buf[sizeof(struct in6_addr)];

    if (inet_pton(AF_INET, in, buf) == 1) {
        *family = AF_INET;
        inet_ntop(AF_INET, buf, out, 64);
        return CSCERT_OK;
    }
    if (inet_pton(AF_INET6, in, buf) == 1) {
        *family = AF_INET6;
        inet_ntop(AF_INET6, buf, out, 64);
        return CSCERT_OK;
    }
    return cscert_error_setf(CSCERT_EINVAL, in, "give a literal IPv4 or IPv6 address, e.g. --address 0.0.0.0",
                             "not an IP address");
}

static int is_wildcard(const char *a)
{
    return strcmp(a, "0.0.0.0") == 0 || strcmp(a, "::") == 0;
}

/* Two bindings clash when one port would be bound twice: the same
 * address, or a wildcard and any address of its family. */
static int clash(const cscert_binding *a, const cscert_binding *b)
{
    int fa = strchr(a->address, ':') ? AF_INET6 : AF_INET;
    int fb = strchr(b->address, ':') ? AF_INET6 : AF_INET;

    if (a->port != b->port || fa != fb)
        return 0;
    return strcmp(a->address, b->address) == 0 || is_wildcard(a->address) || is_wildcard(b->address);
}

int cscert_web_binding_set(cscert_store *st, const char *site, const char *address, int port,
                           const char *use)
{
    cscert_binding *v = NULL, nb;
    cscert_role role;
    unsigned mask = 0, allowed;
    size_t n = 0, i;
    int rc, family, found = 0;
    char detail[256];

    memset(&nb, 0, sizeof(nb));
    if ((rc = check_site_name(site)) < 0)
        return rc;
    if ((rc = server_role(&role, st, 1)) < 0)
        return rc;
    if ((rc = cscert_store_begin(st)) < 0)
        return rc;
    if ((rc = store_defaults(st)) < 0 || (rc = cscert_store_list_bindings(&v, &n, st)) < 0)
        goto out;
    for (i = 0; i < n; i++)
        if (strcasecmp(v[i].site, site) == 0) {
            nb = v[i];
            found = 1;
        }
    if (!found) {
        if (!port || !use) {
            rc = cscert_error_setf(CSCERT_EINVAL, site, "give --port and --use for a new site",
                                   "no such site yet");
            goto out;
        }
        snprintf(nb.site, sizeof(nb.site), "%s", site);
        snprintf(nb.address, sizeof(nb.address), "0.0.0.0");
    }
    if (address && (rc = parse_address(nb.address, &family, address)) < 0)
        goto out;
    if (port) {
        if (port < 1 || port > 65535) {
            rc = cscert_error_setf(CSCERT_EINVAL, "--port", "give a port from 1 to 65535",
                                   "%d is not a TCP port", port);
            goto out;
        }
        nb.port = port;
    }
    if (use) {
        if ((rc = cscert_uses_parse(&mask, use)) < 0)
            goto out;
        if (mask & (mask - 1)) {
            rc = cscert_error_setf(CSCERT_EINVAL, use, "give one use, e.g. --use WebServicesExternal",
                                   "a binding serves the certificate of exactly one use");
            goto out;
        }
        /* R18: only a use this role has; ReverseProxy is never assigned. */
        allowed = cscert_role_uses(role) & ~(unsigned)CSCERT_USE_REVERSE_PROXY;
        if (!(mask & allowed)) {
            char uses[256];

            cscert_uses_format(uses, sizeof(uses), allowed);
            rc = cscert_error_setf(CSCERT_EPOLICY, cscert_use_name(mask), "bind one of the uses listed",
                                   "a %s server has no such use (R18); its uses: %s", cscert_role_name(role),
                                   uses);
            goto out;
        }
        snprintf(nb.use, sizeof(nb.use), "%s", cscert_use_name(mask));
    }
    for (i = 0; i < n; i++)
        if (strcasecmp(v[i].site, nb.site) && clash(&v[i], &nb)) {
            rc = cscert_error_setf(CSCERT_EEXISTS, nb.site, "pick another --port or --address",
                                   "site '%s' already listens on %s:%d", v[i].site, v[i].address, v[i].port);
            goto out;
        }
    if (!found && n >= WEB_MAX_BINDINGS) {
        rc = cscert_error_setf(CSCERT_EPOLICY, nb.site, "remove a site first",
                               "%d sites are the most one server serves", WEB_MAX_BINDINGS);
        goto out;
    }
    if ((rc = cscert_store_set_binding(st, &nb)) < 0 || (rc = cscert_store_commit(st)) < 0)
        goto out;
    snprintf(detail, sizeof(detail), "%s:%d %s", nb.address, nb.port, nb.use);
    cscert_store_audit(st, "web binding set", nb.site, "ok", detail);
out:
    if (rc < 0) {
        char msg[512];

        snprintf(msg, sizeof(msg), "%s", cscert_error_last());
        cscert_store_rollback(st);
        cscert_store_audit(st, "web binding set", site, "refused", msg);
        cscert_error_set(rc, NULL, msg, NULL);
    }
    free(v);
    return rc;
}

int cscert_web_binding_remove(cscert_store *st, const char *site)
{
    int rc;

    if ((rc = check_site_name(site)) < 0)
        return rc;
    if ((rc = cscert_store_begin(st)) < 0)
        return rc;
    if ((rc = store_defaults(st)) < 0)
        goto fail;
    if ((rc = cscert_store_delete_binding(st, site)) < 0) {
        rc = cscert_error_setf(rc, site, "see 'cscert web binding list'", "no such site");
        goto fail;
    }
    if ((rc = cscert_store_commit(st)) < 0)
        goto fail;
    cscert_store_audit(st, "web binding remove", site, "ok", NULL);
    return CSCERT_OK;
fail:
    cscert_store_rollback(st);
    return rc;
}

/* ==================================================================== */
/* serve                                                                */
/* ==================================================================== */

struct server;

/* What the status page and /healthz say about one SSL_CTX; hangs off the
 * ctx (ex_data) so each connection reports the certificate it got. */
struct site_info {
    char *html;
    char *json;
};

struct slot {
    cscert_binding b;
    pthread_mutex_t mu;
    SSL_CTX *ctx;             /* NULL: no valid certificate; connections refused */
    char thumb[41];           /* what ctx serves */
    char sig[512];            /* what ctx was built from; a change means reload */
    int fd;                   /* listening socket; -1 when not bound */
};

struct worker;
struct conn_arg {
    struct worker *w;
    struct slot *slot;
    size_t idx;                     /* the slot's index */
    struct event *reenable_ev;      /* one accept per wakeup, see bev_cb */
};

struct worker {
    struct server *srv;
    int idx;
    pthread_t th;
    int started;
    struct event_base *base;
    struct evhttp **https;          /* one per slot (NULL: not bound) */
    struct evhttp_bound_socket **socks;
    struct conn_arg *args;
    struct event *drain_ev, *tick_ev;
    atomic_int live;                /* connections (SSL objects) alive */
    long long drain_deadline_ms;
};

struct server {
    cscert_store *st;
    const cscert_web_serve_opts *o;
    int timeout_s, n_workers, detached;
    struct slot *slots;
    size_t n_slots;
    struct worker *workers;
    SSL_CTX *refuse_ctx;            /* no certificate: every handshake fails */
    atomic_int draining;
    struct event_base *base;
    char *pid_path;
};

static int ex_info_idx = -1, ex_live_idx = -1;
static pthread_once_t ex_once = PTHREAD_ONCE_INIT;

static void info_free_cb(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    struct site_info *si = ptr;

    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    if (si) {
        free(si->html);
        free(si->json);
        free(si);
    }
}

/* The SSL of a connection is freed with its bufferevent: count it out. */
static void live_free_cb(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    struct conn_arg *ca = ptr;

    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    if (ca)
        atomic_fetch_sub(&ca->w->live, 1);
}

static void ex_init(void)
{
    ex_info_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, info_free_cb);
    ex_live_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, live_free_cb);
}

static void logf_(struct server *srv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(struct server *srv, const char *fmt, ...)
{
    const struct cscert__daemon_log l = { "cscert web", srv->o->log, srv->o->log_ud, srv->detached, 0 };
    va_list ap;

    va_start(ap, fmt);
    cscert__daemon_vlog(&l, fmt, ap);
    va_end(ap);
}

/* ---- the status page ---- */

static void html_escape(struct evbuffer *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': evbuffer_add(b, "&lt;", 4); break;
        case '>': evbuffer_add(b, "&gt;", 4); break;
        case '&': evbuffer_add(b, "&amp;", 5); break;
        case '"': evbuffer_add(b, "&quot;", 6); break;
        case '\'': evbuffer_add(b, "&#39;", 5); break;
        default: evbuffer_add(b, s, 1);
        }
    }
}

static char *evbuffer_strdup(struct evbuffer *b)
{
    size_t len = evbuffer_get_length(b);
    char *s = malloc(len + 1);

    if (s) {
        evbuffer_remove(b, s, len);
        s[len] = '\0';
    }
    return s;
}

static struct site_info *make_info(const cscert_binding *b, X509 *x, const char *thumb)
{
    struct site_info *si = calloc(1, sizeof(*si));
    struct evbuffer *h = evbuffer_new();
    json_t *j = json_object(), *names = json_array();
    char **dns = NULL, *subject = NULL, not_after[32] = "";
    size_t n = 0, i;
    time_t na = 0;
    long days = 0;

    if (!si || !h || !j || !names)
        goto fail;
    cscert_certinfo_dns_names(&dns, &n, NULL, x);
    cscert_certinfo_name(&subject, X509_get_subject_name(x));
    cscert_certinfo_time(not_after, X509_get0_notAfter(x));
    if (cscert_certinfo_time_t(&na, X509_get0_notAfter(x)) == CSCERT_OK)
        days = (long)((na - time(NULL)) / 86400);
    evbuffer_add_printf(h, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>");
    html_escape(h, b->site);
    evbuffer_add_printf(h, " - cscert web</title></head>\n<body>\n<h1>");
    html_escape(h, b->site);
    evbuffer_add_printf(h, "</h1>\n<table>\n<tr><th>Site</th><td>");
    html_escape(h, b->site);
    evbuffer_add_printf(h, "</td></tr>\n<tr><th>Binding</th><td>%s:%d</td></tr>\n"
                           "<tr><th>Use</th><td>", b->address, b->port);
    html_escape(h, b->use);
    evbuffer_add_printf(h, "</td></tr>\n<tr><th>Subject</th><td>");
    html_escape(h, subject);
    evbuffer_add_printf(h, "</td></tr>\n<tr><th>Thumbprint</th><td>%s</td></tr>\n"
                           "<tr><th>Expires</th><td>%s</td></tr>\n<tr><th>Days left</th><td>%ld</td></tr>\n"
                           "<tr><th>Names</th><td><ul>\n", thumb, not_after, days);
    for (i = 0; i < n; i++) {
        evbuffer_add_printf(h, "<li>");
        html_escape(h, dns[i]);
        evbuffer_add_printf(h, "</li>\n");
        json_array_append_new(names, json_string(dns[i]));
    }
    evbuffer_add_printf(h, "</ul></td></tr>\n</table>\n</body></html>\n");
    json_object_set_new(j, "status", json_string("ok"));
    json_object_set_new(j, "site", json_string(b->site));
    json_object_set_new(j, "use", json_string(b->use));
    json_object_set_new(j, "port", json_integer(b->port));
    json_object_set_new(j, "thumbprint", json_string(thumb));
    json_object_set_new(j, "subject", json_string(subject ? subject : ""));
    json_object_set_new(j, "not_after", json_string(not_after));
    json_object_set_new(j, "days_left", json_integer(days));
    json_object_set_new(j, "names", names);
    names = NULL;
    si->html = evbuffer_strdup(h);
    si->json = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!si->html || !si->json)
        goto fail;
    goto out;
fail:
    if (si) {
        free(si->html);
        free(si->json);
        free(si);
    }
    si = NULL;
out:
    cscert_certinfo_names_free(dns);
    free(subject);
    json_decref(names);
    json_decref(j);
    if (h)
        evbuffer_free(h);
    return si;
}

/* ---- SSL_CTX per binding ---- */

/* SNI: at the ClientHello, take the binding's newest context, so that a
 * connection accepted just before a reload still gets the new
 * certificate. One certificate per address:port (as IIS without "Require
 * SNI"): a name the certificate lacks still gets it, and `web verify`
 * reports the missing name. */
static int sni_cb(SSL *ssl, int *alert, void *arg)
{
    struct conn_arg *ca = SSL_get_ex_data(ssl, ex_live_idx);
    SSL_CTX *cur;

    (void)alert, (void)arg;
    if (!ca)
        return SSL_TLSEXT_ERR_OK;
    pthread_mutex_lock(&ca->slot->mu);
    cur = ca->slot->ctx;
    if (cur && cur != SSL_get_SSL_CTX(ssl))
        SSL_set_SSL_CTX(ssl, cur);
    pthread_mutex_unlock(&ca->slot->mu);
    return SSL_TLSEXT_ERR_OK;
}

static SSL_CTX *new_ctx(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

    if (!ctx)
        return NULL;
    /* TLS 1.2+ only (the issue; Lync's own TLS 1.2 guidance). */
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET
                                 | SSL_OP_NO_COMPRESSION);
    /* No resumption: a resumed session skips the certificate, so a client
     * could go on trusting a certificate that was replaced (reassigned,
     * or revoked); every connection sees the current assignment. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_tlsext_servername_callback(ctx, sni_cb);
    return ctx;
}

/* Build the ctx of a binding from the store, or say why not (why). The
 * signature sig names everything it was built from. */
/* 16 hex digits of a SHA-256 over the SHA-1 of every Root then CA
 * certificate: what the served chain was built from. Static buffer: one
 * caller, the main thread's reload. */
static const char *trust_digest(STACK_OF(X509) *roots, STACK_OF(X509) *cas)
{
    static char hex[17];
    unsigned char md[EVP_MAX_MD_SIZE], one[EVP_MAX_MD_SIZE];
    unsigned int len = 0, n;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL);

    for (int k = 0; ok && k < 2; k++) {
        STACK_OF(X509) *s = k ? cas : roots;

        for (int i = 0; ok && i < sk_X509_num(s); i++)
            ok = X509_digest(sk_X509_value(s, i), EVP_sha1(), one, &n) && EVP_DigestUpdate(c, one, n);
        ok = ok && EVP_DigestUpdate(c, "|", 1);
    }
    if (!ok || !EVP_DigestFinal_ex(c, md, &len) || len < 8)
        snprintf(hex, sizeof(hex), "?");
    else
        for (unsigned int i = 0; i < 8; i++)
            snprintf(hex + 2 * i, 3, "%02x", md[i]);
    EVP_MD_CTX_free(c);
    return hex;
}

static int build_ctx(SSL_CTX **out, char sig[512], char thumb[41], char why[256], cscert_store *st,
                     const cscert_binding *b)
{
    cscert_assignment a;
    cscert_cert_rec *rec = NULL;
    EVP_PKEY *key = NULL;
    STACK_OF(X509) *roots = NULL, *cas = NULL, *chain = NULL;
    X509_STORE *xs = NULL;
    X509_STORE_CTX *vctx = NULL;
    SSL_CTX *ctx = NULL;
    struct site_info *si = NULL;
    int i, rc = -1, validity;

    *out = NULL;
    thumb[0] = why[0] = '\0';
    if (cscert_store_get_assignment(&a, st, b->use) < 0) {
        snprintf(sig, 512, "unassigned");
        snprintf(why, 256, "no certificate is assigned to %s; run 'cscert set --type %s --thumbprint X'", b->use,
                 b->use);
        goto out;
    }
    /* A staged roll: the previous certificate serves until the effective
     * date; the 1 s poll sees the signature change then. */
    snprintf(thumb, 41, "%s", cscert_store_assignment_in_force(&a, time(NULL)));
    if (cscert_store_get_cert(&rec, st, thumb) < 0) {
        snprintf(sig, 512, "missing %s", thumb);
        snprintf(why, 256, "the certificate %s assigned to %s is not in the store", thumb, b->use);
        goto out;
    }
    validity = X509_cmp_current_time(X509_get0_notAfter(rec->x509)) < 0    ? 1
               : X509_cmp_current_time(X509_get0_notBefore(rec->x509)) > 0 ? 2
                                                                          : 0;
    if (cscert_store_trust(&roots, &cas, st) < 0)
        goto out;
    if (rec->key_id && cscert_store_get_key(&key, st, rec->key_id) < 0)
        cscert_error_clear(); /* reported below as a missing key */
    /* Which Root and CA certificates, not only how many: swapping one
     * intermediate for another changes the chain served. */
    snprintf(sig, 512, "%s key=%lld/%d v=%d trust=%s", thumb, (long long)rec->key_id, key != NULL, validity,
             trust_digest(roots, cas));
    if (validity == 1) {
        snprintf(why, 256, "the certificate %s assigned to %s has expired", thumb, b->use);
        goto out;
    }
    if (validity == 2) {
        snprintf(why, 256, "the certificate %s assigned to %s is not valid yet", thumb, b->use);
        goto out;
    }
    if (!key) {
        snprintf(why, 256, "the certificate %s assigned to %s has no private key in the store", thumb,
                 b->use);
        goto out;
    }
    if (!(ctx = new_ctx()) || SSL_CTX_use_certificate(ctx, rec->x509) != 1
        || SSL_CTX_use_PrivateKey(ctx, key) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
        unsigned long e = ERR_peek_last_error();

        snprintf(why, 256, "the certificate %s and its key do not load: %s", thumb,
                 e ? ERR_reason_error_string(e) : "out of memory");
        ERR_clear_error();
        goto out;
    }
    /* The chain from CA (and Root), built as a client would; the root
     * itself is not sent (the client has it or does not trust it). */
    if (!(xs = X509_STORE_new()) || !(vctx = X509_STORE_CTX_new()))
        goto out;
    for (i = 0; i < sk_X509_num(roots); i++)
        X509_STORE_add_cert(xs, sk_X509_value(roots, i));
    if (!X509_STORE_CTX_init(vctx, xs, rec->x509, cas))
        goto out;
    X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(vctx), X509_V_FLAG_NO_CHECK_TIME);
    if (X509_verify_cert(vctx) != 1)
        snprintf(why, 256, "the chain of %s does not reach a trusted root: %s (serving it anyway)",
                 thumb, X509_verify_cert_error_string(X509_STORE_CTX_get_error(vctx)));
    ERR_clear_error();
    chain = X509_STORE_CTX_get1_chain(vctx);
    for (i = 1; chain && i < sk_X509_num(chain); i++) {
        X509 *c = sk_X509_value(chain, i);

        if (X509_check_issued(c, c) == X509_V_OK)
            break; /* a self-signed root */
        if (SSL_CTX_add1_chain_cert(ctx, c) != 1)
            goto out;
    }
    if (!(si = make_info(b, rec->x509, thumb)) || !SSL_CTX_set_ex_data(ctx, ex_info_idx, si))
        goto out;
    si = NULL;
    *out = ctx;
    ctx = NULL;
    rc = 0;
out:
    if (rc && !why[0]) {
        snprintf(why, 256, "building the TLS context failed: %s", cscert_error_last());
        ERR_clear_error();
    }
    if (si)
        info_free_cb(NULL, si, NULL, 0, 0, NULL);
    SSL_CTX_free(ctx);
    EVP_PKEY_free(key);
    sk_X509_pop_free(roots, X509_free);
    sk_X509_pop_free(cas, X509_free);
    sk_X509_pop_free(chain, X509_free);
    X509_STORE_CTX_free(vctx);
    X509_STORE_free(xs);
    cscert_cert_rec_free(rec);
    return rc;
}

/* Poll (or force): rebuild each slot whose sources changed. Main thread. */
static void reload(struct server *srv, int force)
{
    size_t i;

    for (i = 0; i < srv->n_slots; i++) {
        struct slot *s = &srv->slots[i];
        SSL_CTX *ctx = NULL, *old;
        char sig[512], thumb[41], why[256], oldthumb[41];

        build_ctx(&ctx, sig, thumb, why, srv->st, &s->b);
        if (!force && strcmp(sig, s->sig) == 0) {
            SSL_CTX_free(ctx);
            continue;
        }
        pthread_mutex_lock(&s->mu);
        old = s->ctx;
        snprintf(oldthumb, sizeof(oldthumb), "%s", old ? s->thumb : "");
        s->ctx = ctx;
        snprintf(s->thumb, sizeof(s->thumb), "%s", ctx ? thumb : "");
        pthread_mutex_unlock(&s->mu);
        SSL_CTX_free(old); /* connections in flight keep their reference */
        if (ctx && !s->sig[0])
            logf_(srv, "certificate %s: %s (%s)", s->b.site, thumb, s->b.use);
        else if (ctx)
            logf_(srv, "reload %s: %s -> %s", s->b.site, oldthumb[0] ? oldthumb : "(none)", thumb);
        if (why[0])
            logf_(srv, "%s %s: %s%s", ctx ? "warning" : "error", s->b.site, why,
                  ctx ? "" : "; its connections are refused, the other sites serve");
        snprintf(s->sig, sizeof(s->sig), "%s", sig);
    }
}

/* ---- connections (worker threads) ---- */

static struct bufferevent *bev_cb(struct event_base *base, void *arg)
{
    struct conn_arg *ca = arg;
    struct slot *s = ca->slot;
    struct bufferevent *bev;
    SSL *ssl;

    pthread_mutex_lock(&s->mu);
    ssl = SSL_new(s->ctx ? s->ctx : ca->w->srv->refuse_ctx);
    pthread_mutex_unlock(&s->mu);
    if (!ssl)
        return NULL; /* evhttp falls back to plain TCP; req_cb refuses it */
    atomic_fetch_add(&ca->w->live, 1);
    SSL_set_ex_data(ssl, ex_live_idx, ca);
    /* One accept per wakeup (nginx's multi_accept off): libevent would
     * accept every pending connection into this worker while the other
     * sits idle; pausing the listener until the next loop turn lets the
     * other worker take the next one, so handshakes use both cores. */
    if (ca->w->socks[ca->idx]) {
        evconnlistener_disable(evhttp_bound_socket_get_listener(ca->w->socks[ca->idx]));
        event_active(ca->reenable_ev, EV_READ, 0);
    }
    if (!(bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE)))
        return NULL;
    /* Not fatal when it fails: the response then takes two records. */
    (void)cscert__daemon_coalesce_output(bev);
    return bev;
}

static void req_cb(struct evhttp_request *req, void *arg)
{
    struct conn_arg *ca = arg;
    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
    SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
    struct site_info *si = ssl ? SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ex_info_idx) : NULL;
    struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
    const char *path = evhttp_request_get_uri(req);
    struct evbuffer *body = NULL;

    if (!si) { /* never plain HTTP */
        evhttp_send_error(req, HTTP_SERVUNAVAIL, "no certificate");
        return;
    }
    if (atomic_load(&ca->w->srv->draining))
        evhttp_add_header(oh, "Connection", "close");
    evhttp_add_header(oh, "Cache-Control", "no-store");
    evhttp_add_header(oh, "X-Content-Type-Options", "nosniff");
    if (!(body = evbuffer_new())) {
        evhttp_send_error(req, HTTP_INTERNAL, NULL);
        return;
    }
    if (evhttp_request_get_command(req) != EVHTTP_REQ_GET && evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
        evhttp_add_header(oh, "Allow", "GET, HEAD");
        evhttp_send_error(req, 405, "Method Not Allowed");
    } else if (strcmp(path, "/") == 0) {
        evhttp_add_header(oh, "Content-Type", "text/html; charset=utf-8");
        evbuffer_add(body, si->html, strlen(si->html));
        evhttp_send_reply(req, HTTP_OK, "OK", body);
    } else if (strcmp(path, "/healthz") == 0) {
        evhttp_add_header(oh, "Content-Type", "application/json");
        evbuffer_add(body, si->json, strlen(si->json));
        evhttp_send_reply(req, HTTP_OK, "OK", body);
    } else {
        evhttp_send_error(req, HTTP_NOTFOUND, NULL);
    }
    evbuffer_free(body);
}

static void reenable_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn_arg *ca = arg;

    (void)fd, (void)what;
    if (ca->w->socks[ca->idx]) /* NULL once draining */
        evconnlistener_enable(evhttp_bound_socket_get_listener(ca->w->socks[ca->idx]));
}

static void drain_tick(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;

    (void)fd, (void)what;
    if (atomic_load(&w->live) <= 0 || cscert__daemon_now_ms() >= w->drain_deadline_ms)
        event_base_loopbreak(w->base);
}

/* SIGTERM, in each worker's own thread: stop accepting, let what is in
 * flight finish (bounded by CSCERT_WEB_DRAIN_MS), then stop. */
static void drain_cb(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    struct timeval tick = { 0, WEB_DRAIN_TICK_MS * 1000 };
    size_t i;

    (void)fd, (void)what;
    for (i = 0; i < w->srv->n_slots; i++)
        if (w->socks[i]) {
            evhttp_del_accept_socket(w->https[i], w->socks[i]);
            w->socks[i] = NULL;
        }
    w->drain_deadline_ms = cscert__daemon_now_ms() + CSCERT_WEB_DRAIN_MS;
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
    size_t i;

    struct event_config *cfg = event_config_new();

    /* Changelist: evhttp disables and re-enables a connection's events
     * around each request; batching the epoll_ctl calls per loop turn
     * cancels those pairs (4 syscalls a request otherwise). Each worker's
     * epoll holds one dup of a listening socket, which the changelist
     * caveat about dup()ed descriptors in one base does not touch. */
    if (!cfg || event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST) < 0)
        return cscert__oom();
    w->base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    if (!w->base || !(w->https = calloc(srv->n_slots, sizeof(*w->https)))
        || !(w->socks = calloc(srv->n_slots, sizeof(*w->socks)))
        || !(w->args = calloc(srv->n_slots, sizeof(*w->args)))
        || !(w->drain_ev = event_new(w->base, -1, 0, drain_cb, w)))
        return cscert__oom();
    for (i = 0; i < srv->n_slots; i++) {
        struct slot *s = &srv->slots[i];
        struct evhttp *h;
        int fd;

        if (s->fd < 0)
            continue;
        if (!(h = w->https[i] = evhttp_new(w->base)))
            return cscert__oom();
        w->args[i].w = w;
        w->args[i].slot = s;
        w->args[i].idx = i;
        if (!(w->args[i].reenable_ev = event_new(w->base, -1, 0, reenable_cb, &w->args[i])))
            return cscert__oom();
        evhttp_set_bevcb(h, bev_cb, &w->args[i]);
        evhttp_set_gencb(h, req_cb, &w->args[i]);
        /* POST and PUT are let through to get a 405 (with a body of at most
         * WEB_MAX_BODY); anything else is libevent's 501. */
        evhttp_set_allowed_methods(h, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST | EVHTTP_REQ_PUT);
        evhttp_set_max_headers_size(h, WEB_MAX_HEADERS);
        evhttp_set_max_body_size(h, WEB_MAX_BODY);
        evhttp_set_timeout(h, srv->timeout_s);
        if ((fd = fcntl(s->fd, F_DUPFD_CLOEXEC, 0)) < 0)
            return cscert_error_setf(CSCERT_EIO, s->b.site, NULL, "dup: %s", strerror(errno));
        if (!(w->socks[i] = evhttp_accept_socket_with_handle(h, fd))) {
            close(fd);
            return cscert_error_setf(CSCERT_EIO, s->b.site, NULL, "cannot listen on the socket");
        }
        cscert__daemon_accept_guard(evhttp_bound_socket_get_listener(w->socks[i]));
    }
    return CSCERT_OK;
}

static void worker_free(struct worker *w, size_t n_slots)
{
    size_t i;

    for (i = 0; w->https && i < n_slots; i++)
        if (w->https[i])
            evhttp_free(w->https[i]); /* closes its sockets and connections */
    for (i = 0; w->args && i < n_slots; i++)
        if (w->args[i].reenable_ev)
            event_free(w->args[i].reenable_ev);
    if (w->tick_ev)
        event_free(w->tick_ev);
    if (w->drain_ev)
        event_free(w->drain_ev);
    if (w->base)
        event_base_free(w->base);
    free(w->https);
    free(w->socks);
    free(w->args);
}

/* ---- listening sockets (main thread) ---- */

static int open_listener(int *out, const cscert_binding *b, char err[128])
{
    struct sockaddr_storage ss;
    socklen_t len;

    *out = -1;
    if (cscert__daemon_sockaddr(&ss, &len, b->address, b->port) < 0) {
        snprintf(err, 128, "not an IP address");
        return -1;
    }
    if (cscert__daemon_listen(out, &ss, len, WEB_BACKLOG) < 0) {
        snprintf(err, 128, "%s", strerror(errno));
        return -1;
    }
    return 0;
}

/* ---- signals and the poll timer (main thread) ---- */

static void poll_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    reload(arg, 0);
}

static void hup_cb(evutil_socket_t fd, short what, void *arg)
{
    struct server *srv = arg;

    (void)fd, (void)what;
    logf_(srv, "SIGHUP: reloading");
    reload(srv, 1);
}

static void term_cb(evutil_socket_t sig, short what, void *arg)
{
    struct server *srv = arg;
    int i, live = 0;

    (void)what;
    if (atomic_exchange(&srv->draining, 1))
        return;
    for (i = 0; i < srv->n_workers; i++)
        live += atomic_load(&srv->workers[i].live);
    logf_(srv, "%s: draining %d connection%s, then stopping", sig == SIGINT ? "SIGINT" : "SIGTERM", live,
          live == 1 ? "" : "s");
    for (i = 0; i < srv->n_workers; i++)
        event_active(srv->workers[i].drain_ev, EV_READ, 0);
    event_base_loopbreak(srv->base);
}

int cscert_web_running(long *pid, cscert_store *st)
{
    char path[4096], buf[32];
    FILE *f;
    long p = 0;

    *pid = 0;
    snprintf(path, sizeof(path), "%s/web.pid", cscert_store_home(st));
    if (!(f = fopen(path, "re")))
        return 0;
    if (fgets(buf, sizeof(buf), f))
        p = strtol(buf, NULL, 10);
    fclose(f);
    if (p <= 1 || (kill((pid_t)p, 0) < 0 && errno == ESRCH))
        return 0;
    *pid = p;
    return 1;
}

static int serve_here(cscert_store *st, const cscert_web_serve_opts *o, int detached, int ready_fd)
{
    struct server srv;
    cscert_binding *bindings = NULL;
    struct cscert__daemon_events ev = { 0 };
    struct timeval poll_tv = { CSCERT_WEB_POLL_MS / 1000, (CSCERT_WEB_POLL_MS % 1000) * 1000 };
    sigset_t all, old;
    size_t n = 0, i, bound = 0;
    int rc, w;

    memset(&srv, 0, sizeof(srv));
    srv.st = st;
    srv.o = o;
    srv.detached = detached;
    srv.timeout_s = o->timeout_s > 0 ? o->timeout_s : CSCERT_WEB_TIMEOUT_DEFAULT;
    srv.n_workers = o->workers > 0 ? o->workers : CSCERT_WEB_WORKERS_DEFAULT;
    if (srv.n_workers > CSCERT_WEB_WORKERS_MAX)
        srv.n_workers = CSCERT_WEB_WORKERS_MAX;
    pthread_once(&ex_once, ex_init);
    if (ex_info_idx < 0 || ex_live_idx < 0 || evthread_use_pthreads() < 0)
        return cscert_error_set(CSCERT_ECRYPTO, "web serve", "cannot set up OpenSSL or libevent threads", NULL);
    signal(SIGPIPE, SIG_IGN); /* a client that goes away is an EPIPE, not a death */
    if ((rc = cscert_web_bindings(&bindings, &n, st)) < 0)
        return rc;
    if (n == 0) {
        free(bindings);
        return cscert_error_set(CSCERT_ENOTFOUND, "web serve", "there are no bindings",
                                "add one with 'cscert web binding set --site NAME --port P --use U'");
    }
    rc = CSCERT_ENOMEM;
    if (!(srv.slots = calloc(n, sizeof(*srv.slots))) || !(srv.refuse_ctx = new_ctx())
        || !(srv.workers = calloc((size_t)srv.n_workers, sizeof(*srv.workers)))
        || !(srv.base = event_base_new()))
        goto out;
    srv.n_slots = n;
    logf_(&srv, "start: %zu binding%s, %d workers, pid %ld", n, n == 1 ? "" : "s", srv.n_workers,
          (long)getpid());
    for (i = 0; i < n; i++) {
        char err[128];

        srv.slots[i].b = bindings[i];
        srv.slots[i].fd = -1;
        pthread_mutex_init(&srv.slots[i].mu, NULL);
        if (open_listener(&srv.slots[i].fd, &bindings[i], err) < 0) {
            logf_(&srv, "error %s: cannot bind %s:%d: %s; skipped", bindings[i].site, bindings[i].address,
                  bindings[i].port, err);
            continue;
        }
        bound++;
        logf_(&srv, "bind %s %s:%d (%s)", bindings[i].site, bindings[i].address, bindings[i].port,
              bindings[i].use);
    }
    if (bound == 0) {
        rc = cscert_error_set(CSCERT_EIO, "web serve", "no binding could be bound",
                              "see the errors above; free the ports or change them with 'cscert web binding set'");
        goto out;
    }
    reload(&srv, 0);
    for (w = 0; w < srv.n_workers; w++) {
        srv.workers[w].srv = &srv;
        srv.workers[w].idx = w;
        if ((rc = worker_setup(&srv.workers[w])) < 0)
            goto out;
    }
    if ((rc = cscert__daemon_pid_write(&srv.pid_path, cscert_store_home(st), "web.pid")) < 0)
        goto out;
    /* Workers never take a signal: libevent's handler lives in the main base. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (w = 0; w < srv.n_workers; w++) {
        if (pthread_create(&srv.workers[w].th, NULL, worker_main, &srv.workers[w]) != 0) {
            pthread_sigmask(SIG_SETMASK, &old, NULL);
            rc = cscert_error_setf(CSCERT_EIO, "web serve", NULL, "cannot start worker %d", w);
            goto out;
        }
        srv.workers[w].started = 1;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    rc = CSCERT_ENOMEM;
    if (cscert__daemon_events_add(&ev, srv.base, hup_cb, term_cb, poll_cb, &poll_tv, &srv) < 0)
        goto out;
    logf_(&srv, "ready");
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
    for (w = 0; srv.workers && w < srv.n_workers; w++)
        worker_free(&srv.workers[w], srv.n_slots);
    if (rc == CSCERT_OK)
        logf_(&srv, "stopped");
    cscert__daemon_events_free(&ev);
    if (srv.base)
        event_base_free(srv.base);
    for (i = 0; i < srv.n_slots; i++) {
        SSL_CTX_free(srv.slots[i].ctx);
        if (srv.slots[i].fd >= 0)
            close(srv.slots[i].fd);
        pthread_mutex_destroy(&srv.slots[i].mu);
    }
    cscert__daemon_pid_remove(srv.pid_path);
    if (rc == CSCERT_ENOMEM && !cscert_error_last()[0])
        cscert__oom();
    SSL_CTX_free(srv.refuse_ctx);
    free(srv.slots);
    free(srv.workers);
    free(bindings);
    if (ready_fd >= 0)
        close(ready_fd);
    return rc;
}

/* The detached child's part: it reopens the store (an SQLite handle must
 * not cross a fork). */
struct child_arg {
    cscert_store *st;
    const cscert_web_serve_opts *o;
};

static int serve_child(void *arg, int ready_fd)
{
    struct child_arg *a = arg;
    cscert_store *child_st = NULL;
    int rc;

    if ((rc = cscert_store_open(&child_st, cscert_store_home(a->st))) < 0)
        return rc;
    rc = serve_here(child_st, a->o, 1, ready_fd);
    cscert_store_free(child_st);
    return rc;
}

int cscert_web_serve(cscert_store *st, const cscert_web_serve_opts *o)
{
    static const struct cscert__daemon_names names = {
        "web serve", "cscert-web", "see syslog, or run 'cscert web serve --foreground'"
    };
    struct child_arg a = { st, o };

    if (o->foreground)
        return serve_here(st, o, 0, -1);
    return cscert__daemon_detach(o->child_pid, &names, serve_child, &a);
}
