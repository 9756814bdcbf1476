/* enroll_est.c: see include/cscert/enroll.h. */
#include "cscert/enroll.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509v3.h>

#include "cscert/certinfo.h"
#include "cscert/import.h"
#include "cscert/topology.h"
#include "cscert/x509.h"

/* ---- locating a CA ---- */

void cscert_enroll_ca_free(cscert_enroll_ca *ca)
{
    if (!ca)
        return;
    free(ca->name);
    free(ca->url);
    free(ca->base);
    free(ca->host);
    free(ca->address);
    free(ca);
}

void cscert_enroll_cas_free(cscert_enroll_ca **v, size_t n)
{
    size_t i;

    for (i = 0; v && i < n; i++)
        cscert_enroll_ca_free(v[i]);
    free(v);
}

/* Fill host, port and the EST base from url (libcurl's URL parser). */
static int ca_from_url(cscert_enroll_ca *ca, const char *name)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
    int rc = CSCERT_EINVAL;
    size_t pl;
    const char *sep;

    if (!u)
        return cscert__oom();
    if (curl_url_set(u, CURLUPART_URL, ca->url, 0) != CURLUE_OK
        || curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK
        || curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK
        || curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK
        || curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK) {
        cscert_error_setf(CSCERT_EINVAL, name, "fix its url in the topology's certification_authorities",
                          "'%s' is not a URL", ca->url);
        goto out;
    }
    if (strcasecmp(scheme, "https") != 0) {
        cscert_error_setf(CSCERT_EINVAL, name, "register the CA with an https:// URL",
                          "'%s' is not https; the CA is reached over TLS only", ca->url);
        goto out;
    }
    /* A registered URL may already end in the EST root, or be the host's. */
    pl = strlen(path);
    while (pl > 0 && path[pl - 1] == '/')
        path[--pl] = '\0';
    sep = strstr(path, "/.well-known/est") ? "" : "/.well-known/est";
    ca->host = strdup(host);
    ca->port = strtol(port, NULL, 10);
    if (ca->port == 443)
        rc = asprintf(&ca->base, "https://%s%s%s", host, path, sep);
    else
        rc = asprintf(&ca->base, "https://%s:%ld%s%s", host, ca->port, path, sep);
    if (rc < 0 || !ca->host) {
        ca->base = NULL;
        rc = cscert__oom();
        goto out;
    }
    rc = CSCERT_OK;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_url_cleanup(u);
    return rc;
}

static int ca_new(cscert_enroll_ca **out, const char *name, const char *url, const char *address,
                  int registered)
{
    cscert_enroll_ca *ca = calloc(1, sizeof(*ca));
    int rc;

    *out = NULL;
    if (!ca)
        return cscert__oom();
    ca->name = strdup(name);
    ca->url = strdup(url);
    ca->address = address ? strdup(address) : NULL;
    ca->registered = registered;
    if (!ca->name || !ca->url || (address && !ca->address)) {
        cscert_enroll_ca_free(ca);
        return cscert__oom();
    }
    if ((rc = ca_from_url(ca, name)) < 0) {
        cscert_enroll_ca_free(ca);
        return rc;
    }
    *out = ca;
    return CSCERT_OK;
}

int cscert_enroll_ca_locate(cscert_enroll_ca **out, cscert_store *st, const char *name)
{
    cscert_topology *t = NULL;
    const cscert_topology_ca *tc;
    char *fq = NULL, host[254], hostpart[300], url[320];
    const char *bs;
    int rc;

    *out = NULL;
    bs = name ? strchr(name, '\\') : NULL;
    if (!bs || bs == name || !bs[1] || (size_t)(bs - name) >= sizeof(hostpart))
        return cscert_error_setf(CSCERT_EINVAL, name ? name : "--ca",
                                 "give it as FQDN\\Instance, e.g. \"dc01.contoso.net\\contoso-DC01-CA\" (see 'cscert ca list')",
                                 "'%s' is not a CA name", name ? name : "");
    rc = cscert_topology_load_published(&t, &fq, st);
    if (rc == CSCERT_OK && (tc = cscert_topology_find_ca(t, name))) {
        rc = ca_new(out, tc->name, tc->url, tc->address, 1);
        goto out;
    }
    if (rc < 0 && rc != CSCERT_ENOTFOUND)
        goto out;
    cscert_error_clear();
    /* Not registered: the name's host on the default port. */
    snprintf(hostpart, sizeof(hostpart), "%.*s", (int)(bs - name), name);
    if ((rc = cscert_fqdn_check(host, hostpart, 0, name)) < 0)
        goto out;
    snprintf(url, sizeof(url), "https://%s/", host);
    rc = ca_new(out, name, url, NULL, 0);
out:
    free(fq);
    cscert_topology_free(t);
    return rc;
}

int cscert_enroll_ca_list(cscert_enroll_ca ***out, size_t *n, cscert_store *st)
{
    cscert_topology *t = NULL;
    cscert_enroll_ca **v = NULL;
    char *fq = NULL;
    size_t i, cnt = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if ((rc = cscert_topology_load_published(&t, &fq, st)) < 0)
        return rc;
    if (t->n_cas && !(v = calloc(t->n_cas, sizeof(*v)))) {
        rc = cscert__oom();
        goto out;
    }
    for (i = 0; i < t->n_cas; i++) {
        if ((rc = ca_new(&v[cnt], t->cas[i].name, t->cas[i].url, t->cas[i].address, 1)) < 0)
            goto out;
        cnt++;
    }
    *out = v;
    *n = cnt;
    v = NULL;
    rc = CSCERT_OK;
out:
    cscert_enroll_cas_free(v, cnt);
    free(fq);
    cscert_topology_free(t);
    return rc;
}

/* ---- small pure helpers (unit-tested) ---- */

/* @unittest test_enroll: test_retry_after */
int cscert_enroll__retry_after(long *out, const char *value, time_t now)
{
    char *end;
    long v;
    time_t when;

    *out = 0;
    if (!value)
        return cscert_error_set(CSCERT_EINVAL, "Retry-After", "the header is missing", NULL);
    while (*value == ' ' || *value == '\t')
        value++;
    if (isdigit((unsigned char)*value)) {
        /* RFC 9110 10.2.3: delay-seconds = 1*DIGIT */
        v = strtol(value, &end, 10);
        while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
            end++;
        if (*end)
            return cscert_error_setf(CSCERT_EINVAL, "Retry-After", NULL, "'%s' is not a number of seconds", value);
        *out = v > CSCERT_ENROLL_RETRY_AFTER_MAX ? CSCERT_ENROLL_RETRY_AFTER_MAX : v;
        return CSCERT_OK;
    }
    if ((when = curl_getdate(value, NULL)) == (time_t)-1)
        return cscert_error_setf(CSCERT_EINVAL, "Retry-After", NULL, "'%s' is neither seconds nor an HTTP-date",
                                 value);
    v = when <= now ? 0 : (long)(when - now);
    *out = v > CSCERT_ENROLL_RETRY_AFTER_MAX ? CSCERT_ENROLL_RETRY_AFTER_MAX : v;
    return CSCERT_OK;
}

int cscert_enroll__fingerprint_normalize(char out[65], const char *in)
{
    size_t n = 0;
    const char *p;

    out[0] = '\0';
    for (p = in ? in : ""; *p; p++) {
        if (*p == ':' || *p == ' ' || *p == '\t' || *p == '-')
            continue;
        if (!isxdigit((unsigned char)*p) || n >= 64)
            goto bad;
        out[n++] = (char)toupper((unsigned char)*p);
    }
    if (n != 64)
        goto bad;
    out[64] = '\0';
    return CSCERT_OK;
bad:
    out[0] = '\0';
    return cscert_error_setf(CSCERT_EINVAL, "--fingerprint",
                             "give the root's SHA-256 as 64 hex digits (on the CA host: csca show)",
                             "'%s' is not a SHA-256 fingerprint", in ? in : "");
}

static void sha256_hex(char out[65], X509 *x)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0, i;

    out[0] = '\0';
    if (X509_digest(x, EVP_sha256(), md, &len) != 1 || len != 32)
        return;
    for (i = 0; i < len; i++)
        snprintf(out + 2 * i, 3, "%02X", md[i]);
}

/* @unittest test_enroll: test_decode_certs */
int cscert_enroll__decode_certs(unsigned char **der, size_t *der_len, STACK_OF(X509) **certs,
                                const char *body, size_t len)
{
    EVP_ENCODE_CTX *ctx = NULL;
    unsigned char *raw = NULL;
    const unsigned char *p;
    PKCS7 *p7 = NULL;
    STACK_OF(X509) *src = NULL, *copy = NULL;
    const char *b = body, *e = body + len;
    int outl = 0, fin = 0, rc = CSCERT_EINVAL, i;
    size_t rawlen = 0;

    *der = NULL;
    *der_len = 0;
    *certs = NULL;
    if (!body || len == 0 || len > CSCERT_ENROLL_MAX_BODY)
        return cscert_error_set(CSCERT_EINVAL, "the CA's answer", len ? "it is too large" : "it is empty",
                                "check the CA's URL");
    /* PEM armour ("-----BEGIN PKCS7-----") around the base64 is allowed. */
    if (len > 10 && memcmp(b, "-----BEGIN", 10) == 0) {
        const char *nl = memchr(b, '\n', len), *end = NULL, *q;

        for (q = nl; q && q < e - 8; q++)
            if (memcmp(q, "-----END", 8) == 0) {
                end = q;
                break;
            }
        if (!nl || !end)
            goto bad;
        b = nl + 1;
        e = end;
    }
    if (!(raw = OPENSSL_malloc((size_t)(e - b) + 4)) || !(ctx = EVP_ENCODE_CTX_new())) {
        rc = cscert__oom();
        goto out;
    }
    EVP_DecodeInit(ctx);
    if (EVP_DecodeUpdate(ctx, raw, &outl, (const unsigned char *)b, (int)(e - b)) < 0
        || EVP_DecodeFinal(ctx, raw + outl, &fin) < 0) {
        /* Not base64: maybe raw DER (Content-Transfer-Encoding: binary). */
        if ((size_t)(e - b) > (size_t)(e - b) + 4)
            goto bad;
        memcpy(raw, b, (size_t)(e - b));
        rawlen = (size_t)(e - b);
    } else {
        rawlen = (size_t)outl + (size_t)fin;
    }
    p = raw;
    if (!(p7 = d2i_PKCS7(NULL, &p, (long)rawlen)) || p != raw + rawlen || !PKCS7_type_is_signed(p7)
        || !p7->d.sign || !(src = p7->d.sign->cert) || sk_X509_num(src) < 1)
        goto bad;
    if (!(copy = sk_X509_new_null()))
        goto oom;
    for (i = 0; i < sk_X509_num(src); i++) {
        X509 *x = sk_X509_value(src, i);

        if (!X509_up_ref(x) || !sk_X509_push(copy, x)) {
            X509_free(x);
            goto oom;
        }
    }
    *der = raw;
    *der_len = rawlen;
    *certs = copy;
    raw = NULL;
    copy = NULL;
    rc = CSCERT_OK;
    goto out;
oom:
    rc = cscert__oom();
    goto out;
bad:
    ERR_clear_error();
    rc = cscert_error_set(CSCERT_EINVAL, "the CA's answer",
                          "it is not a base64 PKCS#7 certs-only (RFC 7030 4.1.3)",
                          "check that the URL is the CA's EST service");
out:
    OPENSSL_free(raw);
    EVP_ENCODE_CTX_free(ctx);
    PKCS7_free(p7);
    sk_X509_pop_free(copy, X509_free);
    return rc;
}

/* The CA's text: printable, one line, capped. */
static void ca_text(char out[CSCERT_ENROLL_CA_TEXT_MAX + 1], const char *body)
{
    size_t n = 0;
    const unsigned char *p;

    for (p = (const unsigned char *)(body ? body : ""); *p && n < CSCERT_ENROLL_CA_TEXT_MAX; p++) {
        if (*p == '\r' || *p == '\n' || *p == '\t')
            out[n++] = ' ';
        else if (*p >= 0x20 && *p != 0x7f)
            out[n++] = (char)*p;
    }
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
}

int cscert_enroll__definitive(int status, int resume)
{
    /* A resume asks about a request the CA already queued: a refusal then
     * may be this account's (no Enroll, a revoked grant, a removed
     * template), not the request's, and the key would be lost for a
     * certificate the CA may still issue. Only the administrator who asked
     * drops it (request cancel). */
    if (resume)
        return 0;
    switch (status) {
    case 400: case 401: case 403: case 404: case 413: case 415: return 1;
    default: return 0;
    }
}

/* @unittest test_enroll: test_status_errors; e2e t_online.sh (401, 403, 404) */
int cscert_enroll__status_error(int status, const char *body, const char *ca_name,
                                const char *template_name, const char *account, const char *url)
{
    char text[CSCERT_ENROLL_CA_TEXT_MAX + 1], what[600];
    const char *tmpl = template_name ? template_name : "WebServer";

    ca_text(text, body);
    snprintf(what, sizeof(what), "CA %s", ca_name);
    switch (status) {
    case 401:
        if (!account)
            return cscert_error_setf(CSCERT_EAUTH, what, "give --ca-account A --ca-password-file F",
                                     "the CA requires an account (%s)", text[0] ? text : "401 Unauthorized");
        return cscert_error_setf(CSCERT_EAUTH, what, "check --ca-password-file (or $CSCERT_CA_PASSWORD_FILE)",
                                 "wrong credentials for account '%s' at CA %s (%s)", account, ca_name,
                                 text[0] ? text : "401 Unauthorized");
    case 403:
        /* The CA's body names the rule: no Enroll permission (with the
         * template and the groups that have it), a key or a name refused. */
        return cscert_error_setf(CSCERT_EPOLICY, what,
                                 "ask the CA's administrator (csca template show TEMPLATE; csca template grant)",
                                 "the CA refused the request for template '%s'%s%s%s: %s", tmpl,
                                 account ? " from account '" : "", account ? account : "", account ? "'" : "",
                                 text[0] ? text : "403 Forbidden");
    case 404:
        return cscert_error_setf(CSCERT_ENOTFOUND, what, "check --template (on the CA: csca template list)",
                                 "template '%s' is not known at %s (%s)", tmpl, url,
                                 text[0] ? text : "404 Not Found");
    case 429:
        /* csca serve after 5 failed logins for the account from here. */
        return cscert_error_setf(CSCERT_EAUTH, what,
                                 "check --ca-password-file (or $CSCERT_CA_PASSWORD_FILE), wait, then "
                                 "cscert request resume",
                                 "the CA refuses logins for account '%s' for now (%s)", account ? account : "",
                                 text[0] ? text : "429 Too Many Requests");
    case 413:
        return cscert_error_setf(CSCERT_EPOLICY, what, "request fewer names (--domain-name)",
                                 "the request is too large for the CA (%s)", text[0] ? text : "413");
    case 400:
    case 415:
        return cscert_error_setf(CSCERT_EINVAL, what, "see the CA's audit log (csca log)",
                                 "the CA rejected the request as malformed (%d: %s)", status,
                                 text[0] ? text : "Bad Request");
    default:
        return cscert_error_setf(CSCERT_EIO, what, "try again later: cscert request resume",
                                 "unexpected answer %d from %s (%s)", status, url, text[0] ? text : "no text");
    }
}

/* ---- HTTP ---- */

struct body {
    char *p;
    size_t len;
    int overflow;
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct body *b = ud;
    size_t n = size * nmemb;
    char *np;

    if (n == 0)
        return 0;
    if (b->len + n > CSCERT_ENROLL_MAX_BODY) {
        b->overflow = 1;
        return 0; /* aborts the transfer */
    }
    if (!(np = realloc(b->p, b->len + n + 1)))
        return 0;
    b->p = np;
    memcpy(b->p + b->len, ptr, n);
    b->len += n;
    b->p[b->len] = '\0';
    return n;
}

struct http {
    CURL *h;
    struct curl_slist *resolve, *headers;
    char *trust_pem;
    BIO *client_cert, *client_key; /* PEM in memory (the key in secure memory) */
    char err[CURL_ERROR_SIZE];
    struct body body;
    long status;
    CURLcode cc;
    curl_off_t sent;  /* request bytes issued (0: nothing left) */
    char retry_after[64];
    int have_retry_after;
};

static void http_free(struct http *x)
{
    if (x->h)
        curl_easy_cleanup(x->h);
    curl_slist_free_all(x->resolve);
    curl_slist_free_all(x->headers);
    free(x->trust_pem);
    BIO_free(x->client_cert);
    BIO_free(x->client_key); /* a secmem BIO cleanses as it frees */
    free(x->body.p);
    memset(x, 0, sizeof(*x));
}

/* The store certificate thumb and its key as this connection's TLS client
 * credential, handed to libcurl as in-memory PEM. */
static int client_credential(struct http *x, cscert_store *st, const char *thumb)
{
    cscert_cert_rec *rec = NULL;
    EVP_PKEY *key = NULL;
    struct curl_blob cert_blob, key_blob;
    char *p;
    long n;
    int rc;

    if ((rc = cscert_store_get_cert(&rec, st, thumb)) < 0)
        return rc;
    if (!rec->key_id) {
        rc = cscert_error_setf(CSCERT_EINVAL, thumb, "give --ca-account and --ca-password-file instead",
                               "the certificate to renew has no private key here to present to the CA");
        goto out;
    }
    if ((rc = cscert_store_get_key(&key, st, rec->key_id)) < 0)
        goto out;
    if (!(x->client_cert = BIO_new(BIO_s_mem())) || !(x->client_key = BIO_new(BIO_s_secmem()))
        || PEM_write_bio_X509(x->client_cert, rec->x509) != 1
        || PEM_write_bio_PrivateKey(x->client_key, key, NULL, NULL, 0, NULL, NULL) != 1) {
        rc = cscert__crypto_error(thumb, "preparing it as the TLS client certificate");
        goto out;
    }
    n = BIO_get_mem_data(x->client_cert, &p);
    cert_blob.data = p, cert_blob.len = (size_t)n, cert_blob.flags = CURL_BLOB_NOCOPY;
    n = BIO_get_mem_data(x->client_key, &p);
    key_blob.data = p, key_blob.len = (size_t)n, key_blob.flags = CURL_BLOB_NOCOPY;
    if (curl_easy_setopt(x->h, CURLOPT_SSLCERTTYPE, "PEM") != CURLE_OK
        || curl_easy_setopt(x->h, CURLOPT_SSLCERT_BLOB, &cert_blob) != CURLE_OK
        || curl_easy_setopt(x->h, CURLOPT_SSLKEYTYPE, "PEM") != CURLE_OK
        || curl_easy_setopt(x->h, CURLOPT_SSLKEY_BLOB, &key_blob) != CURLE_OK) {
        rc = cscert_error_set(CSCERT_EIO, thumb, "libcurl cannot present a client certificate",
                              "give --ca-account and --ca-password-file instead");
        goto out;
    }
    rc = CSCERT_OK;
out:
    EVP_PKEY_free(key);
    cscert_cert_rec_free(rec);
    return rc;
}

/* Does an intermediate of the CA store chain to a certificate of Root
 * (the CA store's others helping)? Everything in CURLOPT_CAINFO_BLOB is a
 * trust anchor to OpenSSL, and one whose subject equals its issuer is
 * taken as a root without its signature being checked: a forged
 * "self-issued" certificate imported into CA would anchor an impostor CA.
 * Only intermediates that chain to Root go into the blob. */
static int chains_to_root(X509 *x, STACK_OF(X509) *roots, STACK_OF(X509) *cas)
{
    cscert_chain_status cs;

    if (cscert_certinfo_chain_to(&cs, x, roots, cas, 1) < 0) {
        cscert_error_clear();
        return 0;
    }
    return cs.trusted;
}

/* The store's Root certificates, and the CA store's intermediates that
 * chain to one of them, as one PEM blob. */
static int trust_pem(char **out, cscert_store *st)
{
    STACK_OF(X509) *roots = NULL, *cas = NULL;
    BIO *bio = NULL;
    BUF_MEM *bm = NULL;
    int rc, k;

    *out = NULL;
    if (!(bio = BIO_new(BIO_s_mem())))
        return cscert__oom();
    if ((rc = cscert_store_trust(&roots, &cas, st)) < 0)
        goto out;
    for (k = 0; k < 2; k++) {
        STACK_OF(X509) *set = k == 0 ? roots : cas;

        for (int j = 0; j < sk_X509_num(set); j++) {
            X509 *x = sk_X509_value(set, j);

            if (k == 1 && !chains_to_root(x, roots, cas))
                continue;
            if (PEM_write_bio_X509(bio, x) != 1) {
                rc = cscert__crypto_error("Root store", "encoding a certificate");
                goto out;
            }
        }
    }
    BIO_get_mem_ptr(bio, &bm);
    if (!(*out = malloc(bm->length + 1))) {
        rc = cscert__oom();
        goto out;
    }
    if (bm->length) /* an empty store: an empty blob */
        memcpy(*out, bm->data, bm->length);
    (*out)[bm->length] = '\0';
    rc = CSCERT_OK;
out:
    sk_X509_pop_free(roots, X509_free);
    sk_X509_pop_free(cas, X509_free);
    BIO_free(bio);
    return rc;
}

/* st NULL: an unverified connection (ca trust only). */
static int http_setup(struct http *x, const cscert_enroll_ca *ca, cscert_store *st, const char *url,
                      long connect_timeout, long timeout)
{
    char line[400];
    int rc;

    memset(x, 0, sizeof(*x));
    if (!(x->h = curl_easy_init()))
        return cscert__oom();
    if (st && (rc = trust_pem(&x->trust_pem, st)) < 0)
        return rc;
    curl_easy_setopt(x->h, CURLOPT_URL, url);
    curl_easy_setopt(x->h, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(x->h, CURLOPT_REDIR_PROTOCOLS_STR, "https");
    curl_easy_setopt(x->h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(x->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(x->h, CURLOPT_NOPROXY, "*"); /* the CA is reached directly */
    curl_easy_setopt(x->h, CURLOPT_CONNECTTIMEOUT, connect_timeout);
    curl_easy_setopt(x->h, CURLOPT_TIMEOUT, timeout);
    curl_easy_setopt(x->h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)CSCERT_ENROLL_MAX_BODY);
    curl_easy_setopt(x->h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    curl_easy_setopt(x->h, CURLOPT_ERRORBUFFER, x->err);
    curl_easy_setopt(x->h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(x->h, CURLOPT_WRITEDATA, &x->body);
    curl_easy_setopt(x->h, CURLOPT_USERAGENT, "cscert-est/1");
    curl_easy_setopt(x->h, CURLOPT_CAPATH, NULL);
    curl_easy_setopt(x->h, CURLOPT_CAINFO, NULL);
    if (st) {
        /* Only Root + CA of this server; intermediates help build the chain
         * but never anchor it (no partial chains). */
        struct curl_blob blob = { x->trust_pem, strlen(x->trust_pem), CURL_BLOB_COPY };

        curl_easy_setopt(x->h, CURLOPT_CAINFO_BLOB, &blob);
        curl_easy_setopt(x->h, CURLOPT_SSL_OPTIONS, (long)CURLSSLOPT_NO_PARTIALCHAIN);
        curl_easy_setopt(x->h, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(x->h, CURLOPT_SSL_VERIFYHOST, 2L);
    } else {
        /* RFC 7030 4.1.1: the bootstrap GET; the caller checks the
         * certificates itself (CERTINFO) against the fingerprint. */
        curl_easy_setopt(x->h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(x->h, CURLOPT_SSL_VERIFYHOST, 0L);
        curl_easy_setopt(x->h, CURLOPT_CERTINFO, 1L);
    }
    if (ca->address) {
        /* DESIGN: as curl's --resolve; TLS still verifies the URL's host. */
        snprintf(line, sizeof(line), "%s:%ld:%s", ca->host, ca->port, ca->address);
        if (!(x->resolve = curl_slist_append(NULL, line)))
            return cscert__oom();
        curl_easy_setopt(x->h, CURLOPT_RESOLVE, x->resolve);
    }
    return CSCERT_OK;
}

static void http_perform(struct http *x)
{
    struct curl_header *hd = NULL;

    x->cc = curl_easy_perform(x->h);
    curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &x->status);
    curl_easy_getinfo(x->h, CURLINFO_REQUEST_SIZE, &x->sent);
    if (x->cc == CURLE_OK && curl_easy_header(x->h, "Retry-After", 0, CURLH_HEADER, -1, &hd) == CURLHE_OK
        && hd && hd->value) {
        snprintf(x->retry_after, sizeof(x->retry_after), "%s", hd->value);
        x->have_retry_after = 1;
    }
}

/* A transport failure as an error naming the URL; TLS trust failures
 * carry the exact `cscert ca trust` command. */
static int transport_error(const struct http *x, const cscert_enroll_ca *ca, const char *url)
{
    char what[600];
    const char *why = x->err[0] ? x->err : curl_easy_strerror(x->cc);

    snprintf(what, sizeof(what), "CA %s", ca->name);
    if (x->body.overflow)
        return cscert_error_setf(CSCERT_EIO, what, "check the CA's URL in the topology",
                                 "the answer from %s exceeds %d bytes", url, CSCERT_ENROLL_MAX_BODY);
    switch (x->cc) {
    case CURLE_SSL_CACERT_BADFILE: /* an empty blob: nothing in Root or CA */
        why = "this server's Root store is empty";
        /* fall through */
    case CURLE_PEER_FAILED_VERIFICATION:
        if (strstr(why, "subject name") || strstr(why, "does not match") || strstr(why, "alternative"))
            return cscert_error_setf(CSCERT_EIO, what,
                                     "register the CA under the URL its certificate names (topology certification_authorities)",
                                     "the CA's TLS certificate does not name '%s' (%s)", ca->host, why);
        {
            char fix[700];

            snprintf(fix, sizeof(fix), "get the root's SHA-256 from the CA's administrator ('csca show' on the"
                     " CA host) and run: cscert ca trust '%s' --fingerprint SHA256", ca->name);
            return cscert_error_setf(CSCERT_EIO, what, fix,
                                     "CA root not trusted: the TLS certificate of %s does not chain to a root in"
                                     " this server's Root store (%s)", url, why);
        }
    case CURLE_COULDNT_RESOLVE_HOST:
        return cscert_error_setf(CSCERT_EIO, what,
                                 "give the CA's address in the topology (certification_authorities[].address) or fix DNS",
                                 "cannot resolve '%s' for %s (%s)", ca->host, url, why);
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
        return cscert_error_setf(CSCERT_EIO, what, "check that csca serve runs there and the port is open",
                                 "the CA is unreachable at %s%s%s (%s)", url, ca->address ? " via " : "",
                                 ca->address ? ca->address : "", why);
    default:
        return cscert_error_setf(CSCERT_EIO, what, "check the CA's URL and that csca serve runs there",
                                 "talking to %s failed (%s)", url, why);
    }
}

/* ---- the pending note ---- */

static char *note_json(const char *url, const cscert_enroll_opts *eo, long retry_after, const char *text,
                       const char *error)
{
    const char *account = eo ? eo->account : NULL;
    json_t *o = json_object();
    char at[32] = "", *s = NULL;

    if (!o)
        return NULL;
    if (retry_after >= 0) {
        time_t t = time(NULL) + retry_after;
        struct tm tm;

        gmtime_r(&t, &tm);
        strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    json_object_set_new(o, "url", json_string(url));
    if (account)
        json_object_set_new(o, "account", json_string(account));
    if (eo && eo->client_thumbprint) /* resume presents it again */
        json_object_set_new(o, "client_certificate", json_string(eo->client_thumbprint));
    if (at[0])
        json_object_set_new(o, "retry_at", json_string(at));
    if (text && *text)
        json_object_set_new(o, "ca_says", json_string(text));
    if (error && *error)
        json_object_set_new(o, "error", json_string(error));
    s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}

int cscert_enroll_note_parse(cscert_enroll_note *out, const char *note)
{
    json_t *o = NULL;
    const char *s;

    memset(out, 0, sizeof(*out));
    if (!note || !(o = json_loads(note, 0, NULL)) || !json_is_object(o)) {
        json_decref(o);
        return cscert_error_set(CSCERT_EINVAL, "pending note", "not an online request's note", NULL);
    }
    if ((s = json_string_value(json_object_get(o, "url"))))
        snprintf(out->url, sizeof(out->url), "%s", s);
    if ((s = json_string_value(json_object_get(o, "account"))))
        snprintf(out->account, sizeof(out->account), "%s", s);
    if ((s = json_string_value(json_object_get(o, "client_certificate"))))
        snprintf(out->client_cert, sizeof(out->client_cert), "%s", s);
    if ((s = json_string_value(json_object_get(o, "retry_at"))))
        snprintf(out->retry_at, sizeof(out->retry_at), "%s", s);
    if ((s = json_string_value(json_object_get(o, "ca_says"))) || (s = json_string_value(json_object_get(o, "error"))))
        snprintf(out->text, sizeof(out->text), "%s", s);
    json_decref(o);
    return CSCERT_OK;
}

/* ---- enrollment ---- */

/* The base64 body of a PKCS#10 (RFC 7030 4.2.1): the PEM's inside. */
static int csr_body(char **out, const char *pem)
{
    BIO *in = NULL, *b64 = NULL, *mem = NULL;
    X509_REQ *req = NULL;
    unsigned char *der = NULL;
    BUF_MEM *bm = NULL;
    int len, rc = CSCERT_EINVAL;

    *out = NULL;
    if (!pem || !(in = BIO_new_mem_buf(pem, -1)) || !(req = PEM_read_bio_X509_REQ(in, NULL, NULL, NULL))
        || (len = i2d_X509_REQ(req, &der)) <= 0) {
        rc = cscert__crypto_error("pending request", "its stored CSR cannot be read");
        goto out;
    }
    if (!(b64 = BIO_new(BIO_f_base64())) || !(mem = BIO_new(BIO_s_mem()))) {
        rc = cscert__oom();
        goto out;
    }
    b64 = BIO_push(b64, mem);
    mem = NULL;
    if (BIO_write(b64, der, len) != len || BIO_flush(b64) != 1) {
        rc = cscert__crypto_error("pending request", "encoding its CSR");
        goto out;
    }
    BIO_get_mem_ptr(b64, &bm);
    if (!(*out = malloc(bm->length + 1))) {
        rc = cscert__oom();
        goto out;
    }
    memcpy(*out, bm->data, bm->length);
    (*out)[bm->length] = '\0';
    rc = CSCERT_OK;
out:
    OPENSSL_free(der);
    X509_REQ_free(req);
    BIO_free(in);
    BIO_free_all(b64);
    BIO_free(mem);
    return rc;
}

/* The requested names (CN first, comma-separated) the certificate lacks:
 * one warning each, and the list in *dropped. */
static int dropped_names(char *dropped, size_t cap, X509 *x, const char *requested)
{
    char **have = NULL, *cn = NULL, *copy = NULL, *tok, *save = NULL;
    size_t n = 0, off = 0;
    int cnt = 0;

    dropped[0] = '\0';
    if (!requested || cscert_certinfo_dns_names(&have, &n, &cn, x) < 0 || !(copy = strdup(requested)))
        goto out;
    for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        if (!*tok || cscert_certinfo_covers(have, tok) || (cn && !strcasecmp(cn, tok)))
            continue;
        if (off < cap)
            off += (size_t)snprintf(dropped + off, cap - off, "%s'%s'", cnt ? ", " : "", tok);
        cnt++;
    }
out:
    cscert_error_clear();
    free(copy);
    free(cn);
    cscert_certinfo_names_free(have);
    return cnt;
}

/* Remove the pending request and its key again (store as before), keeping
 * the current error message. */
static void drop_pending(cscert_store *st, int64_t id)
{
    char saved[1024];
    int code = cscert_error_code();

    snprintf(saved, sizeof(saved), "%s", cscert_error_last());
    if (cscert_store_begin(st) == CSCERT_OK) {
        if (cscert_store_delete_pending(st, id, 1) < 0 || cscert_store_commit(st) < 0) {
            cscert_store_rollback(st);
            cscert__warn("pending request %lld could not be removed: %s", (long long)id, cscert_error_last());
        }
    }
    cscert_error_set(code, NULL, saved, NULL);
}

static void keep_pending(cscert_store *st, int64_t id, const char *state, const char *url,
                         const cscert_enroll_opts *eo)
{
    char saved[1024], *note;
    int code = cscert_error_code();

    snprintf(saved, sizeof(saved), "%s", cscert_error_last());
    if ((note = note_json(url, eo, -1, NULL, saved))) {
        if (cscert_store_set_pending_state(st, id, state, note) < 0)
            cscert__warn("pending request %lld: the error could not be noted: %s", (long long)id,
                         cscert_error_last());
        free(note);
    }
    cscert_error_setf(code, NULL, NULL, "%s; the key stays pending: cscert request resume %lld", saved,
                      (long long)id);
}

int cscert_enroll_send(cscert_enroll_result *out, cscert_store *st, int64_t pending_id,
                       const cscert_enroll_opts *o)
{
    cscert_pending *p = NULL;
    cscert_enroll_ca *ca = NULL;
    struct http x;
    char *body = NULL, *note = NULL, dropped[1024];
    unsigned char *der = NULL;
    size_t der_len = 0;
    STACK_OF(X509) *certs = NULL;
    cscert_import_result ir;
    cscert_import_opts io = { 0 };
    const char *tmpl;
    int rc;

    memset(out, 0, sizeof(*out));
    memset(&x, 0, sizeof(x));
    out->pending_id = pending_id;
    if ((rc = cscert_store_get_pending(&p, st, pending_id)) < 0)
        return rc;
    if (!p->ca) {
        rc = cscert_error_setf(CSCERT_EINVAL, "pending request", "import the CA's response with 'cscert import FILE'",
                               "request %lld was written to a file, not sent to a CA", (long long)pending_id);
        goto out;
    }
    /* R-order: the key is committed before the request leaves (request.h). */
    if (!p->csr_pem || !*p->csr_pem) {
        rc = cscert_error_setf(CSCERT_EINVAL, "pending request", "cancel it and request again",
                               "request %lld has no stored CSR", (long long)pending_id);
        goto out;
    }
    if ((rc = cscert_enroll_ca_locate(&ca, st, p->ca)) < 0 || (rc = csr_body(&body, p->csr_pem)) < 0)
        goto out;
    tmpl = p->template_name && *p->template_name ? p->template_name : "WebServer";
    snprintf(out->url, sizeof(out->url), "%s/%s/%s", ca->base, tmpl,
             o && o->client_thumbprint ? "simplereenroll" : "simpleenroll");
    if ((rc = http_setup(&x, ca, st, out->url, CSCERT_ENROLL_CONNECT_TIMEOUT, CSCERT_ENROLL_TIMEOUT)) < 0)
        goto out;
    if (o && o->client_thumbprint && (rc = client_credential(&x, st, o->client_thumbprint)) < 0) {
        if (!o->resume) /* nothing was sent: the store as before */
            drop_pending(st, pending_id);
        goto out;
    }
    if (!(x.headers = curl_slist_append(NULL, "Content-Type: application/pkcs10"))
        || !curl_slist_append(x.headers, "Content-Transfer-Encoding: base64")
        || !curl_slist_append(x.headers, "Expect:")) {
        rc = cscert__oom();
        goto out;
    }
    curl_easy_setopt(x.h, CURLOPT_HTTPHEADER, x.headers);
    curl_easy_setopt(x.h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(x.h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    if (o && o->account) {
        curl_easy_setopt(x.h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(x.h, CURLOPT_USERNAME, o->account);
        curl_easy_setopt(x.h, CURLOPT_PASSWORD, o->password ? o->password : "");
    }
    http_perform(&x);
    if (x.cc != CURLE_OK) {
        rc = transport_error(&x, ca, out->url);
        /* Nothing left the machine on a first send: no certificate can
         * exist for this key, so the store goes back to how it was. */
        if (x.sent == 0 && !(o && o->resume))
            drop_pending(st, pending_id);
        else
            keep_pending(st, pending_id, p->state, out->url, o);
        goto out;
    }
    out->status = (int)x.status;
    if (x.status == 202) {
        long ra = 60;

        if (x.have_retry_after && cscert_enroll__retry_after(&ra, x.retry_after, time(NULL)) < 0)
            ra = 60;
        cscert_error_clear();
        out->retry_after = ra;
        ca_text(out->ca_text, x.body.p);
        if (!(note = note_json(out->url, o, ra, out->ca_text, NULL))) {
            rc = cscert__oom();
            goto out;
        }
        if ((rc = cscert_store_set_pending_state(st, pending_id, "pending", note)) < 0)
            goto out;
        rc = CSCERT_OK;
        goto out;
    }
    if (x.status != 200) {
        rc = cscert_enroll__status_error((int)x.status, x.body.p, ca->name, tmpl, o ? o->account : NULL, out->url);
        if (cscert_enroll__definitive((int)x.status, o && o->resume)) {
            drop_pending(st, pending_id);
        } else if (o && o->resume) {
            /* Left exactly as it was: the account and URL that queued it
             * stay the ones a later resume uses. */
            if (x.status >= 400 && x.status < 500 && x.status != 429)
                cscert__warn("pending request %lld and its key are kept; if the CA refused it for good, "
                             "'cscert request cancel %lld' drops them", (long long)pending_id, (long long)pending_id);
        } else {
            keep_pending(st, pending_id, p->state, out->url, o);
        }
        goto out;
    }
    if ((rc = cscert_enroll__decode_certs(&der, &der_len, &certs, x.body.p, x.body.len)) < 0) {
        keep_pending(st, pending_id, p->state, out->url, o);
        goto out;
    }
    /* Install: leaf to My with its pending key, intermediates to CA, the
     * root only when already trusted (import never trusts implicitly). */
    io.store = CSCERT_STORE_ALL;
    io.expect_pending = pending_id; /* another request's certificate: refused before any write */
    if ((rc = cscert_import_buffer(&ir, st, der, der_len, out->url, &io)) < 0) {
        keep_pending(st, pending_id, p->state, out->url, o);
        goto out;
    }
    memcpy(out->thumbprint, ir.thumbprint, sizeof(out->thumbprint));
    out->chain_trusted = ir.chain_trusted;
    if (ir.pending_id != pending_id) {
        rc = cscert_error_setf(CSCERT_EPOLICY, out->thumbprint, "check the CA: it answered with another certificate",
                               "the CA's certificate does not carry the key of request %lld",
                               (long long)pending_id);
        goto out;
    }
    /* A known way CAs lose SANs: say each one, loudly. */
    if (dropped_names(dropped, sizeof(dropped), sk_X509_value(certs, 0), p->names) > 0) {
        rc = cscert_error_setf(CSCERT_EPOLICY, out->thumbprint,
                               "ask the CA's administrator why (template policy, allowed domains); the certificate is"
                               " installed but was not assigned",
                               "CA %s dropped the requested name(s) %s", ca->name, dropped);
        goto out;
    }
    rc = CSCERT_OK;
out:
    sk_X509_pop_free(certs, X509_free);
    OPENSSL_free(der);
    free(note);
    free(body);
    http_free(&x);
    cscert_enroll_ca_free(ca);
    cscert_pending_free(p);
    return rc;
}

/* ---- ca trust, ca list ---- */

/* The server's TLS chain from CERTINFO (PEM per certificate). */
static int tls_chain(STACK_OF(X509) **out, struct http *x)
{
    struct curl_certinfo *ci = NULL;
    STACK_OF(X509) *sk = sk_X509_new_null();
    int i;

    *out = NULL;
    if (!sk)
        return cscert__oom();
    if (curl_easy_getinfo(x->h, CURLINFO_CERTINFO, &ci) != CURLE_OK || !ci || ci->num_of_certs < 1) {
        sk_X509_free(sk);
        return cscert_error_set(CSCERT_EIO, "TLS", "the server's certificate could not be read", NULL);
    }
    for (i = 0; i < ci->num_of_certs; i++) {
        struct curl_slist *s;

        for (s = ci->certinfo[i]; s; s = s->next)
            if (strncmp(s->data, "Cert:", 5) == 0) {
                BIO *b = BIO_new_mem_buf(s->data + 5, -1);
                X509 *c = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;

                BIO_free(b);
                if (c && !sk_X509_push(sk, c))
                    X509_free(c);
            }
    }
    ERR_clear_error();
    if (sk_X509_num(sk) < 1) {
        sk_X509_free(sk);
        return cscert_error_set(CSCERT_EIO, "TLS", "the server's certificate could not be read", NULL);
    }
    *out = sk;
    return CSCERT_OK;
}

/* Does leaf chain to root (through untrusted) for host, as a TLS server? */
static int chains_to(X509 *leaf, X509 *root, STACK_OF(X509) *untrusted, const char *host, char *why, size_t cap)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    X509_VERIFY_PARAM *vp;
    int ok = 0;

    if (!store || !ctx || X509_STORE_add_cert(store, root) != 1
        || X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1) {
        snprintf(why, cap, "out of memory");
        goto out;
    }
    vp = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_purpose(vp, X509_PURPOSE_SSL_SERVER);
    X509_VERIFY_PARAM_set1_host(vp, host, 0);
    if (X509_verify_cert(ctx) == 1)
        ok = 1;
    else
        snprintf(why, cap, "%s", X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
out:
    ERR_clear_error();
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return ok;
}

int cscert_enroll_ca_trust(char thumb_out[41], int *already, cscert_store *st, const char *name,
                           const char *fingerprint)
{
    cscert_enroll_ca *ca = NULL;
    struct http x;
    char want[65], fp[65], url[600], served[1024] = "", why[256] = "", what[600];
    unsigned char *der = NULL;
    size_t der_len = 0, off = 0;
    STACK_OF(X509) *certs = NULL, *tls = NULL, *untrusted = NULL;
    X509 *root = NULL;
    cscert_cert_rec *rec = NULL;
    int rc, i, self, in_tx = 0;

    thumb_out[0] = '\0';
    *already = 0;
    memset(&x, 0, sizeof(x));
    if ((rc = cscert_enroll__fingerprint_normalize(want, fingerprint)) < 0
        || (rc = cscert_enroll_ca_locate(&ca, st, name)) < 0)
        goto out;
    snprintf(what, sizeof(what), "CA %s", ca->name);
    snprintf(url, sizeof(url), "%s/cacerts", ca->base);
    /* RFC 7030 4.1.1: unverified, and so without credentials. */
    if ((rc = http_setup(&x, ca, NULL, url, CSCERT_ENROLL_CONNECT_TIMEOUT, CSCERT_ENROLL_TIMEOUT)) < 0)
        goto out;
    http_perform(&x);
    if (x.cc != CURLE_OK) {
        rc = transport_error(&x, ca, url);
        goto out;
    }
    if (x.status != 200) {
        rc = cscert_enroll__status_error((int)x.status, x.body.p, ca->name, NULL, NULL, url);
        goto out;
    }
    if ((rc = cscert_enroll__decode_certs(&der, &der_len, &certs, x.body.p, x.body.len)) < 0
        || (rc = tls_chain(&tls, &x)) < 0)
        goto out;
    for (i = 0; i < sk_X509_num(certs); i++) {
        X509 *c = sk_X509_value(certs, i);

        sha256_hex(fp, c);
        if (cscert_certinfo_is_ca(c, &self) == 1 && self && !root && strcmp(fp, want) == 0)
            root = c;
        if (off < sizeof(served))
            off += (size_t)snprintf(served + off, sizeof(served) - off, "%s%s %.16s...", i ? ", " : "",
                                    self ? "root" : "CA", fp);
    }
    if (!root) {
        rc = cscert_error_setf(CSCERT_EPOLICY, what,
                               "compare with the root's SHA-256 on the CA host (csca show); nothing was installed",
                               "no root served by %s has the SHA-256 %s (served: %s)", url, want, served);
        goto out;
    }
    /* The server we talked to must itself chain to that root, for its host. */
    if (!(untrusted = sk_X509_new_null())) {
        rc = cscert__oom();
        goto out;
    }
    for (i = 0; i < sk_X509_num(certs); i++)
        sk_X509_push(untrusted, sk_X509_value(certs, i));
    for (i = 1; i < sk_X509_num(tls); i++)
        sk_X509_push(untrusted, sk_X509_value(tls, i));
    if (!chains_to(sk_X509_value(tls, 0), root, untrusted, ca->host, why, sizeof(why))) {
        rc = cscert_error_setf(CSCERT_EPOLICY, what, "nothing was installed; check that the URL reaches the real CA",
                               "the TLS certificate of %s does not chain to the root with that fingerprint for"
                               " '%s' (%s)", url, ca->host, why);
        goto out;
    }
    /* Install: the root to Root, the CA certificates under it to CA. */
    if ((rc = cscert_x509_thumbprint(thumb_out, root)) < 0)
        goto out;
    if ((rc = cscert_store_begin(st)) < 0)
        goto out;
    in_tx = 1;
    for (i = 0; i < sk_X509_num(certs); i++) {
        X509 *c = sk_X509_value(certs, i);
        char th[41];
        int is_root = c == root;

        if (!is_root && (cscert_certinfo_is_ca(c, &self) != 1 || self
                         || !chains_to(c, root, untrusted, NULL, why, sizeof(why))))
            continue; /* only what this root vouches for */
        if ((rc = cscert_x509_thumbprint(th, c)) < 0)
            goto out;
        rc = cscert_store_get_cert(&rec, st, th);
        cscert_cert_rec_free(rec);
        rec = NULL;
        if (rc == CSCERT_OK) {
            if (is_root)
                *already = 1;
            continue;
        }
        if (rc != CSCERT_ENOTFOUND)
            goto out;
        cscert_error_clear();
        if ((rc = cscert_store_put_cert(NULL, st, is_root ? CSCERT_STORE_ROOT : CSCERT_STORE_CA, c, NULL, 0)) < 0)
            goto out;
    }
    if ((rc = cscert_store_commit(st)) < 0)
        goto out;
    in_tx = 0;
    rc = CSCERT_OK;
out:
    if (in_tx)
        cscert_store_rollback(st);
    if (rc < 0)
        thumb_out[0] = '\0';
    sk_X509_free(untrusted);
    sk_X509_pop_free(certs, X509_free);
    sk_X509_pop_free(tls, X509_free);
    OPENSSL_free(der);
    http_free(&x);
    cscert_enroll_ca_free(ca);
    return rc;
}

int cscert_enroll_ca_probe(cscert_enroll_probe *out, cscert_store *st, const cscert_enroll_ca *ca)
{
    struct http x;
    char url[600];
    unsigned char *der = NULL;
    size_t der_len = 0;
    STACK_OF(X509) *certs = NULL;
    int rc, i, self;

    memset(out, 0, sizeof(*out));
    snprintf(url, sizeof(url), "%s/cacerts", ca->base);
    /* 5 s each: a listing must not hang on one dead CA. */
    if ((rc = http_setup(&x, ca, st, url, 5, 5)) < 0)
        goto out;
    http_perform(&x);
    out->reachable = x.cc == CURLE_OK || x.cc == CURLE_PEER_FAILED_VERIFICATION || x.cc == CURLE_SSL_CACERT_BADFILE;
    if (x.cc != CURLE_OK) {
        transport_error(&x, ca, url);
        snprintf(out->error, sizeof(out->error), "%s", cscert_error_last());
        cscert_error_clear();
        rc = CSCERT_OK;
        goto out;
    }
    out->trusted = 1;
    if (x.status == 200
        && cscert_enroll__decode_certs(&der, &der_len, &certs, x.body.p, x.body.len) == CSCERT_OK) {
        for (i = 0; i < sk_X509_num(certs); i++) {
            X509 *c = sk_X509_value(certs, i);
            char *subj = NULL;

            if (cscert_certinfo_is_ca(c, &self) == 1 && self) {
                sha256_hex(out->root_sha256, c);
                if (cscert_certinfo_name(&subj, X509_get_subject_name(c)) == CSCERT_OK)
                    snprintf(out->root_subject, sizeof(out->root_subject), "%s", subj);
                free(subj);
                break;
            }
        }
    } else {
        snprintf(out->error, sizeof(out->error), "cacerts answered %ld", x.status);
    }
    cscert_error_clear();
    rc = CSCERT_OK;
out:
    sk_X509_pop_free(certs, X509_free);
    OPENSSL_free(der);
    http_free(&x);
    return rc;
}
