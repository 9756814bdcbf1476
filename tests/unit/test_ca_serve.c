/* test_ca_serve.c: the pure parts of `csca serve` (ca_serve.h): EST body
 * decoding (base64 with and without line breaks, CRLF, PEM armour with
 * text before it as certtool writes, raw DER; garbage, truncation,
 * trailing bytes, oversize, empty), media type matching, HTTP Basic
 * parsing, and EST path splitting, each with hostile rows. The decoded
 * request is compared with the original by its DER, never by the
 * server's own readers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cscert/ca_serve.h"
#include "cscert/csr.h"
#include "cscert/key.h"

static X509_REQ *req;
static unsigned char *der;
static int der_len;

static int setup(void **state)
{
    cscert_key_spec s;
    EVP_PKEY *k = NULL;
    const char *dns[] = {"fe01.contoso.net", "pool01.contoso.net"};
    cscert_csr_params p;

    (void)state;
    memset(&p, 0, sizeof(p));
    p.dns = dns;
    p.n_dns = 2;
    if (cscert_key_spec_parse(&s, "ec:P-256") < 0 || cscert_key_generate(&k, &s) < 0
        || cscert_csr_build(&req, k, &p) < 0 || (der_len = i2d_X509_REQ(req, &der)) <= 0)
        return -1;
    EVP_PKEY_free(k);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    X509_REQ_free(req);
    OPENSSL_free(der);
    return 0;
}

/* base64 of der: line length 0 = one line, else lines of n with eol. */
static char *b64(int n, const char *eol)
{
    unsigned char one[4096];
    int len = EVP_EncodeBlock(one, der, der_len), i;
    char *out = calloc(1, 8192);
    size_t off = 0;

    for (i = 0; i < len; i++) {
        out[off++] = (char)one[i];
        if (n && (i + 1) % n == 0 && i + 1 < len)
            off += (size_t)sprintf(out + off, "%s", eol);
    }
    return out;
}

/* The decoded request has the original's DER. */
static void assert_same(X509_REQ *r)
{
    unsigned char *d = NULL;
    int l;

    assert_non_null(r);
    l = i2d_X509_REQ(r, &d);
    assert_int_equal(l, der_len);
    assert_memory_equal(d, der, (size_t)l);
    OPENSSL_free(d);
    X509_REQ_free(r);
}

static void decode_ok(const char *body)
{
    X509_REQ *r = NULL;

    assert_int_equal(cscert_ca_serve__decode_csr(&r, (const unsigned char *)body, strlen(body)), CSCERT_OK);
    assert_same(r);
}

static void decode_bad(const unsigned char *body, size_t len)
{
    X509_REQ *r = NULL;

    assert_int_equal(cscert_ca_serve__decode_csr(&r, body, len), CSCERT_EINVAL);
    assert_null(r);
    assert_true(strlen(cscert_error_last()) > 0);
}

static void test_decode_forms(void **state)
{
    char *s, pem[8192];
    BIO *b = BIO_new(BIO_s_mem());
    char *p = NULL;
    long n;
    X509_REQ *r = NULL;

    (void)state;
    decode_ok(s = b64(0, "")); /* one line (RFC 8951: no line breaks) */
    free(s);
    decode_ok(s = b64(64, "\n")); /* PEM-style lines */
    free(s);
    decode_ok(s = b64(76, "\r\n")); /* MIME lines with CRLF */
    free(s);
    decode_ok(s = b64(5, " \t\n")); /* odd white space everywhere */
    free(s);
    /* PEM armour, and PEM after certtool's text description */
    assert_int_equal(PEM_write_bio_X509_REQ(b, req), 1);
    n = BIO_get_mem_data(b, &p);
    snprintf(pem, sizeof(pem), "%.*s", (int)n, p);
    decode_ok(pem);
    snprintf(pem, sizeof(pem), "PKCS #10 Certificate Request Information:\n\tVersion: 1\n%.*s", (int)n, p);
    decode_ok(pem);
    BIO_free(b);
    /* raw DER */
    assert_int_equal(cscert_ca_serve__decode_csr(&r, der, (size_t)der_len), CSCERT_OK);
    assert_same(r);
}

static void test_decode_hostile(void **state)
{
    char *s = b64(0, ""), *t;
    unsigned char *big, *d2;
    size_t len = strlen(s);

    (void)state;
    decode_bad((const unsigned char *)"", 0);
    decode_bad(NULL, 0);
    decode_bad((const unsigned char *)"not base64 at all!!", 19);
    decode_bad((const unsigned char *)"\n\n  \r\n", 6);
    decode_bad((const unsigned char *)"QUJD", 4); /* valid base64 of "ABC": not a request */
    decode_bad((const unsigned char *)s, len / 2); /* truncated */
    t = calloc(1, len + 8);
    memcpy(t, s, len);
    t[len / 2] = '*'; /* an invalid character inside */
    decode_bad((const unsigned char *)t, len);
    free(t);
    /* DER with trailing bytes */
    d2 = malloc((size_t)der_len + 4);
    memcpy(d2, der, (size_t)der_len);
    memcpy(d2 + der_len, "\0\0\0\0", 4);
    decode_bad(d2, (size_t)der_len + 4);
    decode_bad(d2, (size_t)der_len - 1); /* DER truncated */
    free(d2);
    /* PEM armour with garbage inside */
    decode_bad((const unsigned char *)"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
               72);
    /* over the limit: refused before decoding */
    big = malloc(CSCERT_EST_MAX_BODY + 1);
    memset(big, 'A', CSCERT_EST_MAX_BODY + 1);
    decode_bad(big, CSCERT_EST_MAX_BODY + 1);
    free(big);
    free(s);
}

static void test_media_type(void **state)
{
    static const struct { const char *h; int want; } rows[] = {
        { "application/pkcs10", 1 },
        { "Application/PKCS10", 1 },
        { "application/pkcs10; charset=us-ascii", 1 },
        { "  application/pkcs10 ;x=y", 1 },
        { "application/pkcs10\t", 1 },
        { "application/pkcs10x", 0 },
        { "application/pkcs1", 0 },
        { "text/plain", 0 },
        { "application/pkcs7-mime", 0 },
        { "", 0 },
        { ";application/pkcs10", 0 },
        { "application/ pkcs10", 0 },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        assert_int_equal(cscert_ca_serve__media_type_is(rows[i].h, "application/pkcs10"), rows[i].want);
    assert_int_equal(cscert_ca_serve__media_type_is(NULL, "application/pkcs10"), 0);
}

static void test_basic_auth(void **state)
{
    static const struct { const char *h; const char *name, *pw; } rows[] = {
        { "Basic d2ViMDE6UzNjcmV0IHBhc3M=", "web01", "S3cret pass" },  /* web01:S3cret pass */
        { "basic d2ViMDE6UzNjcmV0IHBhc3M=", "web01", "S3cret pass" },
        { "Basic   d2ViMDE6UzNjcmV0IHBhc3M=  ", "web01", "S3cret pass" },
        { "Basic d2ViMDE6YTpiOmM=", "web01", "a:b:c" },                /* colons in the password */
        { "Basic OnB3", "", "pw" },                                    /* ":pw" */
        { "Basic d2ViMDE6", "web01", "" },                             /* "web01:" */
        { "Basic d2ViMDE=", NULL, NULL },                              /* no colon */
        { "Basic d2ViMDE6UzNjcmV0IHBhc3M", NULL, NULL },               /* bad length */
        { "Basic ****", NULL, NULL },
        { "Basic d2ViAAE6cHc=", NULL, NULL },                          /* NUL inside */
        { "Bearer abc.def", NULL, NULL },
        { "Basic", NULL, NULL },
        { "Basic ", NULL, NULL },
        { "Basicd2ViMDE6cHc=", NULL, NULL },
        { "", NULL, NULL },
    };
    char *name = NULL, *pw = NULL, huge[4096];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int rc = cscert_ca_serve__basic_auth(&name, &pw, rows[i].h);

        if (rows[i].name) {
            assert_int_equal(rc, CSCERT_OK);
            assert_string_equal(name, rows[i].name);
            assert_string_equal(pw, rows[i].pw);
        } else {
            assert_int_equal(rc, CSCERT_EAUTH);
            assert_null(name);
            assert_null(pw);
        }
        free(name);
        free(pw);
        name = pw = NULL;
    }
    assert_int_equal(cscert_ca_serve__basic_auth(&name, &pw, NULL), CSCERT_EAUTH);
    memset(huge, 'A', sizeof(huge) - 1);
    huge[sizeof(huge) - 1] = '\0';
    memcpy(huge, "Basic ", 6);
    assert_int_equal(cscert_ca_serve__basic_auth(&name, &pw, huge), CSCERT_EAUTH);
}

static void test_paths(void **state)
{
    static const struct { const char *path; int op; const char *tmpl; } rows[] = {
        { "/.well-known/est/cacerts", CSCERT_EST_OP_CACERTS, "" },
        { "/.well-known/est/simpleenroll", CSCERT_EST_OP_ENROLL, "" },
        { "/.well-known/est/simplereenroll", CSCERT_EST_OP_REENROLL, "" },
        { "/.well-known/est/WebServer/simpleenroll", CSCERT_EST_OP_ENROLL, "WebServer" },
        { "/.well-known/est/Web_Server-2.x/simplereenroll", CSCERT_EST_OP_REENROLL, "Web_Server-2.x" },
        { "/.well-known/est/WebServer/cacerts", CSCERT_EST_OP_CACERTS, "WebServer" },
        { "/.well-known/est/serverkeygen", 0, NULL },
        { "/.well-known/est/", 0, NULL },
        { "/.well-known/est", 0, NULL },
        { "/", 0, NULL },
        { "/.well-known/est//simpleenroll", 0, NULL },
        { "/.well-known/est/a/b/simpleenroll", 0, NULL },
        { "/.well-known/est/We%20b/simpleenroll", 0, NULL },
        { "/.well-known/est/../simpleenroll", 0, NULL },
        { "/.well-known/est/.hidden/simpleenroll", 0, NULL },
        { "/.well-known/est/simpleenroll/", 0, NULL },
        { "/.well-known/est/SimpleEnroll", 0, NULL },
        { "/.well-known/est/0123456789012345678901234567890123456789012345678901234567890123/simpleenroll", 0,
          NULL }, /* 64 characters: one too many */
    };
    char tmpl[CSCERT_CA_NAME_MAX + 1];
    size_t i;
    int op;

    (void)state;
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int rc = cscert_ca_serve__parse_path(&op, tmpl, rows[i].path);

        if (rows[i].tmpl) {
            assert_int_equal(rc, CSCERT_OK);
            assert_int_equal(op, rows[i].op);
            assert_string_equal(tmpl, rows[i].tmpl);
        } else {
            assert_int_equal(rc, CSCERT_ENOTFOUND);
            assert_int_equal(op, 0);
            assert_string_equal(tmpl, "");
        }
    }
    assert_int_equal(cscert_ca_serve__parse_path(&op, tmpl, NULL), CSCERT_ENOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_forms),
        cmocka_unit_test(test_decode_hostile),
        cmocka_unit_test(test_media_type),
        cmocka_unit_test(test_basic_auth),
        cmocka_unit_test(test_paths),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
