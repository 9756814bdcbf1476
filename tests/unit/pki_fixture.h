/* pki_fixture.h: a throw-away PKI for the unit tests of import, assign,
 * check and certinfo: EC keys, a root, an intermediate, leaves with
 * chosen names and dates, built with OpenSSL directly (never with the
 * code under test), and a temporary home. Header-only: each test file
 * is its own program. */
#ifndef PKI_FIXTURE_H
#define PKI_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cscert/store.h"

static long pki_serial = 1000;

static __attribute__((unused)) EVP_PKEY *pki_key(void)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");

    assert_non_null(k);
    return k;
}

static __attribute__((unused)) void pki_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *e;

    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    assert_non_null(e);
    assert_true(X509_add_ext(x, e, -1));
    X509_EXTENSION_free(e);
}

/* A certificate for pub, named cn, signed by (issuer, ikey) or itself
 * (issuer NULL: ikey signs, subject = issuer). sans "DNS:a,DNS:b" or
 * NULL; ca 1 for a CA; validity from now+from_days to now+to_days. */
static __attribute__((unused)) X509 *pki_cert_md(EVP_PKEY *pub, const char *cn, X509 *issuer, EVP_PKEY *ikey,
                         const char *sans, int ca, long from_days, long to_days, const EVP_MD *md)
{
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();

    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), pki_serial++);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
    X509_set_subject_name(x, n);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
    X509_gmtime_adj(X509_getm_notBefore(x), from_days * 86400);
    X509_gmtime_adj(X509_getm_notAfter(x), to_days * 86400);
    X509_set_pubkey(x, pub);
    pki_ext(x, issuer, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    pki_ext(x, issuer, NID_key_usage, ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature,keyEncipherment");
    if (!ca)
        pki_ext(x, issuer, NID_ext_key_usage, "serverAuth");
    if (sans)
        pki_ext(x, issuer, NID_subject_alt_name, sans);
    assert_true(X509_sign(x, ikey, md) > 0);
    X509_NAME_free(n);
    return x;
}

static __attribute__((unused)) X509 *pki_cert(EVP_PKEY *pub, const char *cn, X509 *issuer, EVP_PKEY *ikey, const char *sans,
                      int ca, long from_days, long to_days)
{
    return pki_cert_md(pub, cn, issuer, ikey, sans, ca, from_days, to_days, EVP_sha256());
}

/* A root and an intermediate below it. */
struct pki {
    EVP_PKEY *root_key, *ica_key;
    X509 *root, *ica;
};

static __attribute__((unused)) void pki_init(struct pki *p)
{
    p->root_key = pki_key();
    p->ica_key = pki_key();
    p->root = pki_cert(p->root_key, "Contoso Root CA", NULL, p->root_key, NULL, 1, -1, 3650);
    p->ica = pki_cert(p->ica_key, "Contoso Issuing CA", p->root, p->root_key, NULL, 1, -1, 1825);
}

static __attribute__((unused)) void pki_free(struct pki *p)
{
    EVP_PKEY_free(p->root_key);
    EVP_PKEY_free(p->ica_key);
    X509_free(p->root);
    X509_free(p->ica);
}

/* Encodings, into a malloc'd buffer (*len). */
static __attribute__((unused)) unsigned char *pki_der(X509 *x, size_t *len)
{
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);

    assert_true(n > 0);
    *len = (size_t)n;
    return der;
}

static __attribute__((unused)) unsigned char *pki_bio_take(BIO *b, size_t *len)
{
    char *data;
    long n = BIO_get_mem_data(b, &data);
    unsigned char *out = OPENSSL_malloc((size_t)n + 1);

    memcpy(out, data, (size_t)n);
    out[n] = 0;
    *len = (size_t)n;
    BIO_free(b);
    return out;
}

static __attribute__((unused)) unsigned char *pki_pem(X509 *x, size_t *len)
{
    BIO *b = BIO_new(BIO_s_mem());

    assert_true(PEM_write_bio_X509(b, x));
    return pki_bio_take(b, len);
}

/* PKCS#7 certs-only of the given certificates; pem selects the form. */
static __attribute__((unused)) unsigned char *pki_p7(X509 **xs, int n, int pem, size_t *len)
{
    PKCS7 *p7 = PKCS7_new();
    BIO *b = BIO_new(BIO_s_mem());
    int i;

    assert_true(PKCS7_set_type(p7, NID_pkcs7_signed));
    assert_true(PKCS7_content_new(p7, NID_pkcs7_data));
    for (i = 0; i < n; i++)
        assert_true(PKCS7_add_certificate(p7, xs[i]));
    assert_true(pem ? PEM_write_bio_PKCS7(b, p7) : i2d_PKCS7_bio(b, p7));
    PKCS7_free(p7);
    return pki_bio_take(b, len);
}

static __attribute__((unused)) unsigned char *pki_p12(EVP_PKEY *k, X509 *x, X509 *ca, const char *pass, size_t *len)
{
    STACK_OF(X509) *cas = sk_X509_new_null();
    PKCS12 *p12;
    unsigned char *der = NULL;
    int n;

    if (ca)
        sk_X509_push(cas, ca);
    p12 = PKCS12_create(pass, "test pfx", k, x, cas, NID_aes_256_cbc, NID_aes_256_cbc, 2048, 2048, 0);
    assert_non_null(p12);
    n = i2d_PKCS12(p12, &der);
    assert_true(n > 0);
    *len = (size_t)n;
    PKCS12_free(p12);
    sk_X509_free(cas);
    return der;
}

/* A temporary home with an open store. */
struct home {
    char dir[64];
    char home[96];
    cscert_store *st;
};

static __attribute__((unused)) void home_open(struct home *h)
{
    snprintf(h->dir, sizeof(h->dir), "/tmp/cscert-unit-XXXXXX");
    assert_non_null(mkdtemp(h->dir));
    snprintf(h->home, sizeof(h->home), "%s/home", h->dir);
    assert_int_equal(cscert_store_open(&h->st, h->home), CSCERT_OK);
}

static __attribute__((unused)) void home_close(struct home *h)
{
    char cmd[160];

    cscert_store_free(h->st);
    h->st = NULL;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", h->dir);
    assert_int_equal(system(cmd), 0);
}

/* The bytes of HOME/cscert.db followed by its WAL (the store runs in WAL
 * mode, so a commit lands in cscert.db-wal first), to prove that a
 * refusal wrote nothing. */
#define HOME_DB_MAX (1 << 22) /* 4 MiB: a unit test's store is tiny */
static __attribute__((unused)) unsigned char *home_db_bytes(struct home *h, size_t *len)
{
    static const char *const parts[] = { "cscert.db", "cscert.db-wal" };
    unsigned char *buf = malloc(2 * HOME_DB_MAX);
    char path[160];
    size_t n = 0, i;
    FILE *f;

    assert_non_null(buf);
    for (i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "%s/%s", h->home, parts[i]);
        if (!(f = fopen(path, "rb")))
            continue;
        n += fread(buf + n, 1, HOME_DB_MAX, f);
        fclose(f);
    }
    *len = n;
    return buf;
}

#define ASSERT_DB_UNCHANGED(h, before, blen)                         \
    do {                                                             \
        size_t alen_;                                                \
        unsigned char *after_ = home_db_bytes(h, &alen_);            \
        assert_int_equal(alen_, blen);                               \
        assert_memory_equal(after_, before, blen);                   \
        free(after_);                                                \
    } while (0)

/* A pending request in the store for key k (as `cscert request` leaves it). */
static __attribute__((unused)) int64_t pki_pending(cscert_store *st, EVP_PKEY *k, const char *names, int exportable)
{
    cscert_pending p;
    int64_t key_id = 0, id = 0;

    memset(&p, 0, sizeof(p));
    assert_int_equal(cscert_store_put_key(&key_id, st, k, exportable), CSCERT_OK);
    p.key_id = key_id;
    p.uses = (char *)"Default";
    p.names = (char *)names;
    p.friendly_name = (char *)"unit request";
    p.state = (char *)"offline";
    p.exportable = exportable;
    assert_int_equal(cscert_store_put_pending(&id, st, &p), CSCERT_OK);
    return id;
}

/* Is "DNS:name" already in the list "DNS:a,DNS:b"? (exact, not a substring) */
static inline int listed(const char *list, const char *name)
{
    char probe[300], hay[8200];

    snprintf(probe, sizeof(probe), ",DNS:%s,", name);
    snprintf(hay, sizeof(hay), ",%s,", list);
    return strstr(hay, probe) != NULL;
}

#endif
