/* bench/est-bench.c: the load generator and the ceiling of
 * bench/ca-throughput, built by that script into BUILD/bench/.
 *
 *   est-bench gen KEYS CSRS OUT
 *       KEYS RSA-2048 keys, CSRS requests over them (distinct subjects),
 *       one base64 DER request a line in OUT (made before any timing).
 *   est-bench est URL CACERT RESOLVE USER:PASS CONC FILE
 *       POST every request of FILE once to an EST simpleenroll URL over
 *       HTTPS, CONC threads each on one keep-alive connection (libcurl).
 *   est-bench cfssl URL CACERT RESOLVE CONC FILE
 *       the same against cfssl's /api/v1/cfssl/sign (JSON, PEM request).
 *   est-bench sign HOME THREADS FILE [read]
 *       the ceiling: cscert_ca_sign on every request with the WebServer
 *       template, THREADS threads, no storage and no network. With
 *       "read", each request is also read from its DER
 *       (cscert_csr_from_der) and its signature checked
 *       (cscert_csr_verify) inside the timed loop: what any CA must do
 *       with a request before it signs, still without network or storage.
 * Each prints one line: "N ok E errors S s RATE certs/s p50 X ms p99 Y ms". */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cscert/ca.h"
#include "cscert/csr.h"
#include "cscert/key.h"

static char **lines;          /* base64 DER requests */
static char **bodies;         /* what is posted */
static size_t n_lines;
static atomic_size_t next_i;
static atomic_size_t n_ok, n_err;
static double *lat_ms;
static const char *g_url, *g_cacert, *g_resolve, *g_user;
static int g_cfssl;
static cscert_ca *g_ca;
static X509_REQ **reqs;
static unsigned char **ders;  /* the requests' DER, for "sign ... read" */
static size_t *der_lens;
static int g_read;

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void read_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0, alloc = 0;
    ssize_t len;

    if (!f) {
        perror(path);
        exit(1);
    }
    while ((len = getline(&line, &cap, f)) > 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (!len)
            continue;
        if (n_lines == alloc) {
            alloc = alloc ? alloc * 2 : 256;
            lines = realloc(lines, alloc * sizeof(*lines));
        }
        lines[n_lines++] = strdup(line);
    }
    free(line);
    fclose(f);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static void report(double secs)
{
    size_t ok = atomic_load(&n_ok), err = atomic_load(&n_err), n = ok + err;

    qsort(lat_ms, n, sizeof(double), cmp_d);
    printf("%zu ok %zu errors %.2f s %.1f certs/s p50 %.2f ms p99 %.2f ms\n", ok, err, secs, ok / secs,
           n ? lat_ms[n / 2] : 0.0, n ? lat_ms[(size_t)((n - 1) * 0.99)] : 0.0);
}

/* ---- gen ---- */

static int gen(int n_keys, int n_csrs, const char *out)
{
    cscert_key_spec spec;
    EVP_PKEY **keys = calloc((size_t)n_keys, sizeof(*keys));
    FILE *f = fopen(out, "w");
    int i;

    if (!f || !keys || cscert_key_spec_parse(&spec, "rsa:2048") < 0)
        return 1;
    for (i = 0; i < n_keys; i++)
        if (cscert_key_generate(&keys[i], &spec) < 0)
            return 1;
    for (i = 0; i < n_csrs; i++) {
        char cn[64], san2[64];
        const char *dns[2] = { cn, san2 };
        cscert_csr_params p;
        X509_REQ *r = NULL;
        unsigned char *der = NULL, *b64;
        int len;

        memset(&p, 0, sizeof(p));
        snprintf(cn, sizeof(cn), "fe%05d.contoso.net", i);
        snprintf(san2, sizeof(san2), "pool%03d.contoso.net", i % 100);
        p.dns = dns;
        p.n_dns = 2;
        if (cscert_csr_build(&r, keys[i % n_keys], &p) < 0 || (len = i2d_X509_REQ(r, &der)) <= 0) {
            fprintf(stderr, "gen: %s\n", cscert_error_last());
            return 1;
        }
        b64 = malloc((size_t)len * 2 + 4);
        EVP_EncodeBlock(b64, der, len);
        fprintf(f, "%s\n", b64);
        free(b64);
        OPENSSL_free(der);
        X509_REQ_free(r);
    }
    for (i = 0; i < n_keys; i++)
        EVP_PKEY_free(keys[i]);
    free(keys);
    return fclose(f) != 0;
}

/* ---- HTTP clients ---- */

struct resp {
    char buf[16384];
    size_t len;
};

static size_t sink(void *p, size_t s, size_t n, void *ud)
{
    struct resp *r = ud;
    size_t k = s * n, room = sizeof(r->buf) - 1 - r->len;

    memcpy(r->buf + r->len, p, k < room ? k : room);
    r->len += k < room ? k : room;
    r->buf[r->len] = '\0';
    return s * n;
}

static void *client(void *arg)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL, *res = NULL;
    struct resp *body = calloc(1, sizeof(*body));
    size_t i;

    (void)arg;
    h = curl_slist_append(h, g_cfssl ? "Content-Type: application/json" : "Content-Type: application/pkcs10");
    h = curl_slist_append(h, "Expect:"); /* no 100-continue round trip */
    if (g_resolve)
        res = curl_slist_append(res, g_resolve);
    curl_easy_setopt(c, CURLOPT_URL, g_url);
    curl_easy_setopt(c, CURLOPT_CAINFO, g_cacert);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_RESOLVE, res);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (g_user) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERPWD, g_user);
    }
    while ((i = atomic_fetch_add(&next_i, 1)) < n_lines) {
        double t0 = now_s();
        long code = 0;

        body->len = 0;
        body->buf[0] = '\0';
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, bodies[i]);
        /* cfssl: HTTP 200 and "success": true; EST: 200 and a PKCS#7 */
        if (curl_easy_perform(c) == CURLE_OK && curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK
            && code == 200 && (g_cfssl ? strstr(body->buf, "\"success\":true") != NULL : body->len > 100)) {
            atomic_fetch_add(&n_ok, 1);
        } else if (atomic_fetch_add(&n_err, 1) < 3) {
            fprintf(stderr, "request %zu: HTTP %ld %.200s\n", i, code, body->buf);
        }
        lat_ms[i] = (now_s() - t0) * 1e3;
    }
    curl_slist_free_all(h);
    curl_slist_free_all(res);
    curl_easy_cleanup(c);
    free(body);
    return NULL;
}

static char *cfssl_body(const char *b64)
{
    /* {"certificate_request": "-----BEGIN CERTIFICATE REQUEST-----\n...\n-----END...-----\n"} */
    size_t n = strlen(b64), cap = n + n / 64 * 2 + 200, off = 0, i;
    char *s = malloc(cap);

    off += (size_t)snprintf(s + off, cap - off, "{\"certificate_request\": \"-----BEGIN CERTIFICATE REQUEST-----\\n");
    for (i = 0; i < n; i += 64)
        off += (size_t)snprintf(s + off, cap - off, "%.64s\\n", b64 + i);
    snprintf(s + off, cap - off, "-----END CERTIFICATE REQUEST-----\\n\"}");
    return s;
}

static int run_http(int conc)
{
    pthread_t *th = calloc((size_t)conc, sizeof(*th));
    double t0;
    size_t i;
    int k;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    bodies = calloc(n_lines, sizeof(*bodies));
    lat_ms = calloc(n_lines, sizeof(*lat_ms));
    for (i = 0; i < n_lines; i++)
        bodies[i] = g_cfssl ? cfssl_body(lines[i]) : lines[i];
    t0 = now_s();
    for (k = 0; k < conc; k++)
        pthread_create(&th[k], NULL, client, NULL);
    for (k = 0; k < conc; k++)
        pthread_join(th[k], NULL);
    report(now_s() - t0);
    return atomic_load(&n_err) ? 1 : 0;
}

/* ---- the ceiling ---- */

static void *signer(void *arg)
{
    cscert_ca *ca = NULL;
    cscert_ca_template t;
    unsigned char serial[CSCERT_CA_SERIAL_BYTES];
    size_t i;

    (void)arg;
    memset(&t, 0, sizeof(t));
    if (cscert_ca_clone(&ca, g_ca) < 0 || cscert_ca_template_get(&t, ca, CSCERT_CA_TEMPLATE_DEFAULT) < 0) {
        fprintf(stderr, "sign: %s\n", cscert_error_last());
        exit(1);
    }
    while ((i = atomic_fetch_add(&next_i, 1)) < n_lines) {
        double t0 = now_s();
        X509 *x = NULL;
        X509_REQ *r = reqs[i], *own = NULL;

        if (g_read && (cscert_csr_from_der(&own, ders[i], der_lens[i]) < 0 || cscert_csr_verify(own) != 1))
            r = NULL;
        else if (g_read)
            r = own;
        if (r && cscert_ca_serial_new(serial) == 0 && cscert_ca_sign(&x, ca, r, &t, serial, NULL) == 0)
            atomic_fetch_add(&n_ok, 1);
        else
            atomic_fetch_add(&n_err, 1);
        lat_ms[i] = (now_s() - t0) * 1e3;
        X509_free(x);
        X509_REQ_free(own);
    }
    cscert_ca_template_clear(&t);
    cscert_ca_free(ca);
    return NULL;
}

static int run_sign(const char *home, int threads)
{
    pthread_t *th = calloc((size_t)threads, sizeof(*th));
    double t0;
    size_t i;
    int k;

    if (cscert_ca_open(&g_ca, home, NULL) < 0) {
        fprintf(stderr, "sign: %s\n", cscert_error_last());
        return 1;
    }
    reqs = calloc(n_lines, sizeof(*reqs));
    ders = calloc(n_lines, sizeof(*ders));
    der_lens = calloc(n_lines, sizeof(*der_lens));
    lat_ms = calloc(n_lines, sizeof(*lat_ms));
    for (i = 0; i < n_lines; i++) {
        unsigned char *der = malloc(strlen(lines[i]));
        int len = EVP_DecodeBlock(der, (const unsigned char *)lines[i], (int)strlen(lines[i]));
        size_t l = strlen(lines[i]);

        /* Parsed as csca serve parses them, so that the ceiling signs
         * requests whose keys are in the same form. */
        len -= (lines[i][l - 1] == '=') + (lines[i][l - 2] == '=');
        if (len <= 0 || cscert_csr_from_der(&reqs[i], der, (size_t)len) < 0) {
            fprintf(stderr, "sign: request %zu does not parse\n", i);
            return 1;
        }
        ders[i] = der;
        der_lens[i] = (size_t)len;
    }
    t0 = now_s();
    for (k = 0; k < threads; k++)
        pthread_create(&th[k], NULL, signer, NULL);
    for (k = 0; k < threads; k++)
        pthread_join(th[k], NULL);
    report(now_s() - t0);
    return atomic_load(&n_err) ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "gen") == 0)
        return gen(atoi(argv[2]), atoi(argv[3]), argv[4]);
    if (argc == 8 && strcmp(argv[1], "est") == 0) {
        g_url = argv[2], g_cacert = argv[3], g_resolve = argv[4], g_user = argv[5];
        read_lines(argv[7]);
        return run_http(atoi(argv[6]));
    }
    if (argc == 7 && strcmp(argv[1], "cfssl") == 0) {
        g_url = argv[2], g_cacert = argv[3], g_resolve = argv[4], g_cfssl = 1;
        read_lines(argv[6]);
        return run_http(atoi(argv[5]));
    }
    if ((argc == 5 || (argc == 6 && strcmp(argv[5], "read") == 0)) && strcmp(argv[1], "sign") == 0) {
        g_read = argc == 6;
        read_lines(argv[4]);
        return run_sign(argv[2], atoi(argv[3]));
    }
    fprintf(stderr, "usage: see the comment at the top of bench/est-bench.c\n");
    return 2;
}
