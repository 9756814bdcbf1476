/* web_verify.c: `web verify`, the client side of web.h: connect to each
 * binding as a client would (SNI = the site's name), read the certificate
 * and chain actually served, and compare them with the assignment, the
 * store's Root and the names the site must answer for (names.h, the same
 * rules as request, set and check). Nothing here changes the store. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "cscert/certinfo.h"
#include "cscert/names.h"
#include "cscert/topology.h"
#include "cscert/web.h"
#include "cscert/x509.h"
#include "daemon.h"

/* 64: problems one binding reports; one per kind plus one per missing
 * name, and a use needs far fewer names than that. */
#define VERIFY_MAX_PROBLEMS 64

static int add_problem(cscert_web_result *r, const char *kind, const char *name, const char *fix,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int add_problem(cscert_web_result *r, const char *kind, const char *name, const char *fix,
                       const char *fmt, ...)
{
    cscert_web_problem *p;
    char msg[512];
    va_list ap;

    if (r->n_problems >= VERIFY_MAX_PROBLEMS)
        return CSCERT_OK;
    if (!(p = realloc(r->problems, (r->n_problems + 1) * sizeof(*p))))
        return cscert__oom();
    r->problems = p;
    p = &r->problems[r->n_problems];
    memset(p, 0, sizeof(*p));
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    p->kind = kind;
    p->message = strdup(msg);
    p->name = name ? strdup(name) : NULL;
    p->fix = fix ? strdup(fix) : NULL;
    if (!p->message || (name && !p->name) || (fix && !p->fix)) {
        free(p->message);
        free(p->name);
        free(p->fix);
        return cscert__oom();
    }
    r->n_problems++;
    return CSCERT_OK;
}

/* TCP connect with a deadline; the socket is left blocking with
 * SO_RCVTIMEO/SO_SNDTIMEO so the handshake is bounded too. */
static int tcp_connect(int *out, const char *addr, int port, int timeout_ms, char err[256])
{
    struct sockaddr_storage ss;
    struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
    struct pollfd pfd;
    socklen_t len, elen = sizeof(int);
    int fd = -1, e = 0, flags;

    *out = -1;
    memset(&ss, 0, sizeof(ss));
    if (strchr(addr, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((unsigned short)port);
        inet_pton(AF_INET6, addr, &s6->sin6_addr);
        len = sizeof(*s6);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

        s4->sin_family = AF_INET;
        s4->sin_port = htons((unsigned short)port);
        inet_pton(AF_INET, addr, &s4->sin_addr);
        len = sizeof(*s4);
    }
    if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
        goto sys;
    if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
        if (errno != EINPROGRESS)
            goto sys;
        pfd.fd = fd;
        pfd.events = POLLOUT;
        if (poll(&pfd, 1, timeout_ms) != 1) {
            snprintf(err, 256, "no answer within %d ms", timeout_ms);
            close(fd);
            return -1;
        }
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) < 0 || e) {
            errno = e ? e : errno;
            goto sys;
        }
    }
    flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    *out = fd;
    return 0;
sys:
    snprintf(err, 256, "%s", strerror(errno));
    if (fd >= 0)
        close(fd);
    return -1;
}

/* Handshake and read the served certificate and chain. */
static int tls_fetch(X509 **leaf, STACK_OF(X509) **chain, int fd, const char *sni, char err[256])
{
    SSL_CTX *ctx = NULL;
    SSL *ssl = NULL;
    STACK_OF(X509) *sk;
    struct cscert__sigpipe_guard pipe_guard;
    unsigned long e;
    int rc = -1, i, guarded = 0;

    *leaf = NULL;
    *chain = NULL;
    if (!(ctx = SSL_CTX_new(TLS_client_method())) || !(ssl = SSL_new(ctx)))
        goto out;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* Judged below against Root, not by the handshake: we want to see
     * what is served even when it is wrong. */
    SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
    if ((sni[0] && SSL_set_tlsext_host_name(ssl, sni) != 1) || SSL_set_fd(ssl, fd) != 1)
        goto out;
    /* A server that resets the connection is an error here, not a SIGPIPE. */
    cscert__sigpipe_block(&pipe_guard);
    guarded = 1;
    if (SSL_connect(ssl) != 1)
        goto out;
    if (!(*leaf = SSL_get1_peer_certificate(ssl)))
        goto out;
    if (!(*chain = sk_X509_new_null()))
        goto out;
    sk = SSL_get_peer_cert_chain(ssl); /* client side: the leaf first */
    for (i = 1; sk && i < sk_X509_num(sk); i++) {
        X509 *c = sk_X509_value(sk, i);

        if (!X509_up_ref(c) || !sk_X509_push(*chain, c))
            goto out;
    }
    SSL_shutdown(ssl);
    rc = 0;
out:
    if (rc) {
        e = ERR_peek_last_error();
        snprintf(err, 256, "TLS handshake failed: %s",
                 e ? ERR_reason_error_string(e) : errno ? strerror(errno) : "the server closed the connection");
        X509_free(*leaf);
        sk_X509_pop_free(*chain, X509_free);
        *leaf = NULL;
        *chain = NULL;
    }
    ERR_clear_error();
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    if (guarded)
        cscert__sigpipe_restore(&pipe_guard);
    return rc;
}

/* Does the served chain reach the store's Root? (Only Root is trusted;
 * the intermediates must be among what the server sent, as a client
 * that has never seen our CA store would need.) */
static int chain_check(int *trusted, char err[256], cscert_store *st, X509 *leaf, STACK_OF(X509) *served)
{
    STACK_OF(X509) *roots = NULL, *cas = NULL;
    X509_STORE *xs = NULL;
    X509_STORE_CTX *vctx = NULL;
    int i, rc;

    *trusted = 0;
    err[0] = '\0';
    if ((rc = cscert_store_trust(&roots, &cas, st)) < 0)
        return rc;
    rc = CSCERT_ENOMEM;
    if (!(xs = X509_STORE_new()) || !(vctx = X509_STORE_CTX_new()))
        goto out;
    for (i = 0; i < sk_X509_num(roots); i++)
        X509_STORE_add_cert(xs, sk_X509_value(roots, i));
    if (!X509_STORE_CTX_init(vctx, xs, leaf, served))
        goto out;
    X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(vctx), X509_V_FLAG_NO_CHECK_TIME);
    if (X509_verify_cert(vctx) == 1) {
        *trusted = 1;
    } else {
        X509 *cur = X509_STORE_CTX_get_current_cert(vctx);
        char *iss = NULL;

        if (cur)
            cscert_certinfo_name(&iss, X509_get_issuer_name(cur));
        snprintf(err, 256, "%s (at depth %d, issuer %s)",
                 X509_verify_cert_error_string(X509_STORE_CTX_get_error(vctx)),
                 X509_STORE_CTX_get_error_depth(vctx), iss ? iss : "?");
        free(iss);
    }
    ERR_clear_error();
    rc = CSCERT_OK;
out:
    X509_STORE_CTX_free(vctx);
    X509_STORE_free(xs);
    sk_X509_pop_free(roots, X509_free);
    sk_X509_pop_free(cas, X509_free);
    return rc;
}

static int verify_one(cscert_web_result *r, cscert_store *st, const cscert_topology *t, const char *fqdn,
                      const cscert_pool *pool, int timeout_ms)
{
    const cscert_binding *b = &r->binding;
    cscert_assignment a;
    cscert_names names = { 0 };
    unsigned mask = 0;
    X509 *leaf = NULL;
    STACK_OF(X509) *served = NULL;
    char **dns = NULL, fix[512];
    const char *host;
    size_t n_dns = 0, i;
    int fd = -1, rc = CSCERT_OK, have_names = 0;

    host = strcmp(b->address, "0.0.0.0") == 0 ? "127.0.0.1" : strcmp(b->address, "::") == 0 ? "::1" : b->address;
    snprintf(r->connect_to, sizeof(r->connect_to), strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, b->port);

    /* The site's names: R3 for Internal, R4 for External, the use's rule
     * for another site; SNI is the name a browser would type. */
    if (t && pool && cscert_uses_parse(&mask, b->use) == CSCERT_OK
        && cscert_names_compute(&names, t, fqdn, mask, 0, NULL) == CSCERT_OK && names.n > 0) {
        have_names = 1;
        if (!(r->required = calloc(names.n + 1, sizeof(char *))) || !(r->missing = calloc(names.n + 1, sizeof(char *))))
            goto oom;
        for (i = 0; i < names.n; i++)
            if (!(r->required[i] = strdup(names.v[i].name)))
                goto oom;
        if (mask == CSCERT_USE_WEB_INTERNAL && pool->web_internal)
            snprintf(r->sni, sizeof(r->sni), "%s", pool->web_internal);
        else if (mask == CSCERT_USE_WEB_EXTERNAL && pool->web_external)
            snprintf(r->sni, sizeof(r->sni), "%s", pool->web_external);
        else
            snprintf(r->sni, sizeof(r->sni), "%s", names.v[0].name);
    } else {
        cscert_error_clear();
        if ((rc = add_problem(r, "binding-no-topology", NULL, "cscert topology publish FILE --computer-fqdn F",
                              "site '%s': the names it must answer for are unknown (no published topology "
                              "placing this server in a pool)", b->site)) < 0)
            goto out;
    }
    if (cscert_store_get_assignment(&a, st, b->use) == CSCERT_OK) {
        snprintf(r->assigned, sizeof(r->assigned), "%s", cscert_store_assignment_in_force(&a, time(NULL)));
    } else {
        cscert_error_clear();
        snprintf(fix, sizeof(fix), "cscert request --new --type %s ..., then cscert set --type %s --thumbprint X",
                 b->use, b->use);
        if ((rc = add_problem(r, "binding-unassigned", NULL, fix, "site '%s': no certificate is assigned to %s",
                              b->site, b->use)) < 0)
            goto out;
    }

    if (tcp_connect(&fd, host, b->port, timeout_ms, r->error) < 0) {
        rc = add_problem(r, "binding-unreachable", NULL, "start it: cscert web serve",
                         "site '%s': cannot connect to %s: %s", b->site, r->connect_to, r->error);
        goto out;
    }
    r->reachable = 1;
    if (tls_fetch(&leaf, &served, fd, r->sni, r->error) < 0) {
        snprintf(fix, sizeof(fix), "assign a valid certificate with its private key: cscert set --type %s "
                                   "--thumbprint X; see the server's log",
                 b->use);
        rc = add_problem(r, "binding-no-certificate", NULL, fix, "site '%s' on %s serves no certificate: %s",
                         b->site, r->connect_to, r->error);
        goto out;
    }
    r->handshake = 1;
    if ((rc = cscert_x509_thumbprint(r->served, leaf)) < 0)
        goto out;
    cscert_certinfo_time(r->not_after, X509_get0_notAfter(leaf));
    r->match = r->assigned[0] && strcmp(r->served, r->assigned) == 0;
    if (r->assigned[0] && !r->match
        && (rc = add_problem(r, "binding-mismatch", NULL,
                             "web serve takes a new assignment within 2 s; if it does not, send it SIGHUP",
                             "site '%s' on %s serves %s, but %s is assigned to %s", b->site, r->connect_to,
                             r->served, r->assigned, b->use)) < 0)
        goto out;
    if ((rc = chain_check(&r->chain_trusted, r->chain_error, st, leaf, served)) < 0)
        goto out;
    if (!r->chain_trusted
        && (rc = add_problem(r, "binding-untrusted-chain", NULL,
                             "import the issuing CA and its root: cscert import CA.cer; cscert import ROOT.cer "
                             "--store Root",
                             "site '%s': the served chain of %s does not reach a root in Root: %s", b->site,
                             r->served, r->chain_error)) < 0)
        goto out;
    if (X509_cmp_current_time(X509_get0_notAfter(leaf)) < 0
        && (rc = add_problem(r, "binding-expired", NULL, "cscert request --renew ...",
                             "site '%s': the served certificate %s expired %s", b->site, r->served,
                             r->not_after)) < 0)
        goto out;
    if (have_names) {
        if ((rc = cscert_certinfo_dns_names(&dns, &n_dns, NULL, leaf)) < 0)
            goto out;
        snprintf(fix, sizeof(fix), "cscert request --new --type %s (it adds every name), then cscert set", b->use);
        for (i = 0; i < names.n; i++) {
            if (cscert_certinfo_covers(dns, names.v[i].name))
                continue;
            if (!(r->missing[r->n_missing++] = strdup(names.v[i].name)))
                goto oom;
            if ((rc = add_problem(r, "binding-missing-name", names.v[i].name, fix,
                                  "site '%s': the served certificate %s lacks %s (%s)", b->site, r->served,
                                  names.v[i].name, names.v[i].rule)) < 0)
                goto out;
        }
    }
    goto out;
oom:
    rc = cscert__oom();
out:
    if (fd >= 0)
        close(fd);
    cscert_certinfo_names_free(dns);
    cscert_names_clear(&names);
    X509_free(leaf);
    sk_X509_pop_free(served, X509_free);
    return rc;
}

int cscert_web_verify(cscert_web_result **out, size_t *n, cscert_store *st, const cscert_web_verify_opts *o)
{
    cscert_binding *b = NULL;
    cscert_web_result *v = NULL;
    cscert_topology *t = NULL;
    char *fqdn = NULL;
    const cscert_pool *pool = NULL;
    size_t nb = 0, i;
    int rc, timeout = o && o->timeout_ms > 0 ? o->timeout_ms : CSCERT_WEB_VERIFY_TIMEOUT_MS;

    *out = NULL;
    *n = 0;
    if ((rc = cscert_web_bindings(&b, &nb, st)) < 0)
        return rc;
    if (cscert_topology_load_published(&t, &fqdn, st) == CSCERT_OK)
        pool = cscert_topology_find_server(t, fqdn);
    cscert_error_clear();
    if (nb && !(v = calloc(nb, sizeof(*v)))) {
        rc = cscert__oom();
        goto out;
    }
    for (i = 0; i < nb; i++) {
        v[i].binding = b[i];
        if ((rc = verify_one(&v[i], st, t, fqdn, pool, timeout)) < 0) {
            cscert_web_results_free(v, nb);
            v = NULL;
            goto out;
        }
    }
    *out = v;
    *n = nb;
    rc = CSCERT_OK;
out:
    free(b);
    free(fqdn);
    cscert_topology_free(t);
    return rc;
}

static void strv_free(char **v)
{
    size_t i;

    for (i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

void cscert_web_results_free(cscert_web_result *v, size_t n)
{
    size_t i, j;

    for (i = 0; v && i < n; i++) {
        strv_free(v[i].required);
        strv_free(v[i].missing);
        for (j = 0; j < v[i].n_problems; j++) {
            free(v[i].problems[j].message);
            free(v[i].problems[j].name);
            free(v[i].problems[j].fix);
        }
        free(v[i].problems);
    }
    free(v);
}

static json_t *str_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

json_t *cscert_web_results_json(const cscert_web_result *v, size_t n)
{
    json_t *root = json_object(), *arr = json_array();
    size_t i, j;
    int clean = 1;

    for (i = 0; i < n; i++) {
        const cscert_web_result *r = &v[i];
        json_t *o = json_object(), *miss = json_array(), *req = json_array(), *probs = json_array();

        for (j = 0; r->required && r->required[j]; j++)
            json_array_append_new(req, json_string(r->required[j]));
        for (j = 0; j < r->n_missing; j++)
            json_array_append_new(miss, json_string(r->missing[j]));
        for (j = 0; j < r->n_problems; j++) {
            json_t *p = json_object();

            json_object_set_new(p, "kind", json_string(r->problems[j].kind));
            json_object_set_new(p, "message", json_string(r->problems[j].message));
            json_object_set_new(p, "name", str_or_null(r->problems[j].name));
            json_object_set_new(p, "fix", str_or_null(r->problems[j].fix));
            json_array_append_new(probs, p);
        }
        if (r->n_problems)
            clean = 0;
        json_object_set_new(o, "site", json_string(r->binding.site));
        json_object_set_new(o, "address", json_string(r->binding.address));
        json_object_set_new(o, "port", json_integer(r->binding.port));
        json_object_set_new(o, "use", json_string(r->binding.use));
        json_object_set_new(o, "sni", str_or_null(r->sni));
        json_object_set_new(o, "reachable", json_boolean(r->reachable));
        json_object_set_new(o, "error", str_or_null(r->error));
        json_object_set_new(o, "served", str_or_null(r->served));
        json_object_set_new(o, "assigned", str_or_null(r->assigned));
        json_object_set_new(o, "match", json_boolean(r->match));
        json_object_set_new(o, "chain_trusted", json_boolean(r->chain_trusted));
        json_object_set_new(o, "chain_error", str_or_null(r->chain_error));
        json_object_set_new(o, "not_after", str_or_null(r->not_after));
        json_object_set_new(o, "required_names", req);
        json_object_set_new(o, "missing_names", miss);
        json_object_set_new(o, "problems", probs);
        json_array_append_new(arr, o);
    }
    json_object_set_new(root, "clean", json_boolean(clean));
    json_object_set_new(root, "bindings", arr);
    return root;
}
