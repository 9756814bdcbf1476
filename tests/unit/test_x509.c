/* test_x509.c: the Windows thumbprint (SHA-1 of the DER, upper-case hex,
 * checked against a digest computed here), its input form (spaces, ':',
 * U+200E, any case; 39/41 digits and non-hex refused), a certificate's
 * names (CN first, then DNS SANs, once each) and its template name
 * extension (BMPString; other string types; malformed). Certificates are
 * built with OpenSSL directly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cscert/x509.h"

static EVP_PKEY *key;

static int group_setup(void **state)
{
    (void)state;
    key = EVP_EC_gen("P-256");
    return key ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(key);
    return 0;
}

/* A self-signed certificate: cn (NULL: no CN), sans "DNS:a,IP:..." (NULL:
 * none), and, when tmpl_der is set, a 311.20.2 extension with that value. */
static X509 *mkcert(const char *cn, const char *sans, const unsigned char *tmpl_der, int tmpl_len)
{
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();

    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 4711);
    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)"Contoso", -1, -1, 0);
    if (cn)
        X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
    X509_set_subject_name(x, n);
    X509_set_issuer_name(x, n);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    if (sans) {
        X509V3_CTX ctx;
        X509_EXTENSION *e;

        X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
        e = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, sans);
        assert_non_null(e);
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
    }
    if (tmpl_der) {
        ASN1_OBJECT *o = OBJ_txt2obj("1.3.6.1.4.1.311.20.2", 1);
        ASN1_OCTET_STRING *v = ASN1_OCTET_STRING_new();
        X509_EXTENSION *e;

        ASN1_OCTET_STRING_set(v, tmpl_der, tmpl_len);
        e = X509_EXTENSION_create_by_OBJ(NULL, o, 0, v);
        assert_non_null(e);
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
        ASN1_OCTET_STRING_free(v);
        ASN1_OBJECT_free(o);
    }
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);
    X509_NAME_free(n);
    return x;
}

static void test_thumbprint(void **state)
{
    X509 *x = mkcert("fe01.contoso.net", NULL, NULL, 0);
    unsigned char *der = NULL, md[20];
    unsigned int mdlen = 0;
    char want[41], got[41], norm[41];
    int len;

    (void)state;
    len = i2d_X509(x, &der);
    assert_true(EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha1(), NULL));
    for (unsigned i = 0; i < mdlen; i++)
        snprintf(want + 2 * i, 3, "%02X", md[i]);
    assert_int_equal(cscert_x509_thumbprint(got, x), CSCERT_OK);
    assert_string_equal(got, want);
    /* its own output is already normal */
    assert_int_equal(cscert_x509_thumbprint_normalize(norm, got), CSCERT_OK);
    assert_string_equal(norm, got);
    assert_int_equal(cscert_x509_thumbprint(got, NULL), CSCERT_EINVAL);
    assert_string_equal(got, "");
    OPENSSL_free(der);
    X509_free(x);
}

#define T40 "A9D51A2B3C4D5E6F708192A3B4C5D6E7F8091A2B"

static void test_normalize(void **state)
{
    static const char *ok_rows[] = {
        T40,
        "a9d51a2b3c4d5e6f708192a3b4c5d6e7f8091a2b",
        "a9 d5 1a 2b 3c 4d 5e 6f 70 81 92 a3 b4 c5 d6 e7 f8 09 1a 2b",
        "A9:D5:1A:2B:3C:4D:5E:6F:70:81:92:A3:B4:C5:D6:E7:F8:09:1A:2B",
        "\xe2\x80\x8e" "a9 d5 1a 2b 3c 4d 5e 6f 70 81 92 a3 b4 c5 d6 e7 f8 09 1a 2b", /* the MMC */
        "a9d51a2b3c4d5e6f708192a3b4c5d6e7f8091a2b\xe2\x80\x8e",
        "  a9d5 1a2b\t3c4d:5e6f \xe2\x80\x8e 708192a3b4c5d6e7f8091a2b  ",
        "A9d51A2b3C4d5E6f708192A3b4C5d6E7f8091A2b",
    };
    static const struct { const char *in, *msg; } bad[] = {
        { "A9D51A2B3C4D5E6F708192A3B4C5D6E7F8091A2", "39 hex digits" },      /* 39 */
        { "A9D51A2B3C4D5E6F708192A3B4C5D6E7F8091A2BC", "more than 40" },     /* 41 */
        { "a9 d5 1a 2b 3c 4d 5e 6f 70 81 92 a3 b4 c5 d6 e7 f8 09 1a", "38 hex digits" },
        { "G9D51A2B3C4D5E6F708192A3B4C5D6E7F8091A2B", "not a hex digit at byte 1" },
        { "0xA9D51A2B3C4D5E6F708192A3B4C5D6E7F8091A", "not a hex digit at byte 2" },
        { "A9D51A2B-3C4D5E6F708192A3B4C5D6E7F8091A2B", "not a hex digit" },
        { "A9D51A2B3C4D5E6F708192A3B4C5D6E7F8091A2B\n", "not a hex digit" },
        { "\xe2\x80\x8f" T40, "not a hex digit" },   /* U+200F is not stripped */
        { "\xe2\x80" T40, "not a hex digit" },       /* a torn U+200E */
        { T40 "\xe2\x80", "not a hex digit" },
        { "", "0 hex digits" },
        { "   ::: \xe2\x80\x8e", "0 hex digits" },
        { "\xef\xbc\xa1" "9D51A2B3C4D5E6F708192A3B4C5D6E7F8091A2B", "not a hex digit" }, /* fullwidth A */
    };

    (void)state;
    for (size_t i = 0; i < sizeof(ok_rows) / sizeof(ok_rows[0]); i++) {
        char out[41];

        if (cscert_x509_thumbprint_normalize(out, ok_rows[i]) != CSCERT_OK)
            fail_msg("row %zu: %s", i, cscert_error_last());
        assert_string_equal(out, T40);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char out[41] = "junk";

        if (cscert_x509_thumbprint_normalize(out, bad[i].in) != CSCERT_EINVAL)
            fail_msg("bad row %zu accepted", i);
        assert_string_equal(out, "");
        assert_int_equal(cscert_error_code(), CSCERT_EINVAL);
        if (!strstr(cscert_error_last(), bad[i].msg))
            fail_msg("bad row %zu: [%s] not in [%s]", i, bad[i].msg, cscert_error_last());
        assert_true(strncmp(cscert_error_last(), "thumbprint: ", 12) == 0);
        /* the input is named, with nothing unprintable in the message */
        for (const char *p = cscert_error_last(); *p; p++)
            assert_true(*p >= 0x20 && *p < 0x7f);
    }
    {
        char out[41], *big = malloc(5000);

        assert_int_equal(cscert_x509_thumbprint_normalize(out, NULL), CSCERT_EINVAL);
        assert_int_equal(cscert_x509_thumbprint_normalize(out, "zz"), CSCERT_EINVAL);
        assert_non_null(strstr(cscert_error_last(), "'zz'"));
        /* very long input of only separators: refused without a scan of it all */
        memset(big, ' ', 4999);
        big[4999] = '\0';
        memcpy(big + 4000, T40, 40);
        assert_int_equal(cscert_x509_thumbprint_normalize(out, big), CSCERT_EINVAL);
        assert_non_null(strstr(cscert_error_last(), "too long"));
        free(big);
    }
}

static void test_names(void **state)
{
    static const struct {
        const char *cn, *sans;
        size_t n;
        const char *want[6];
    } rows[] = {
        /* CN first, then SANs in order; the CN repeated in the SAN, in any
         * case, is kept once; IP and email entries are not DNS names */
        { "pool01.contoso.net",
          "DNS:POOL01.contoso.net,DNS:fe01.contoso.net,IP:127.0.0.1,email:a@contoso.com,DNS:sip.contoso.com,DNS:fe01.contoso.net",
          3, { "pool01.contoso.net", "fe01.contoso.net", "sip.contoso.com" } },
        { "only-cn.contoso.net", NULL, 1, { "only-cn.contoso.net" } },
        { NULL, "DNS:a.contoso.com,DNS:*.contoso.com", 2, { "a.contoso.com", "*.contoso.com" } },
        { NULL, NULL, 0, { NULL } },
        { "Mixed.Case.NET", "DNS:other.contoso.net", 2, { "Mixed.Case.NET", "other.contoso.net" } },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        X509 *x = mkcert(rows[i].cn, rows[i].sans, NULL, 0);
        char **v = NULL;
        size_t n = 99;

        assert_int_equal(cscert_x509_names(&v, &n, x), CSCERT_OK);
        assert_non_null(v);
        if (n != rows[i].n)
            fail_msg("names row %zu: %zu names, want %zu", i, n, rows[i].n);
        for (size_t j = 0; j < n; j++)
            assert_string_equal(v[j], rows[i].want[j]);
        assert_null(v[n]);
        cscert_x509_names_free(v);
        X509_free(x);
    }
    {
        char **v = (char **)1;
        size_t n = 1;

        assert_int_equal(cscert_x509_names(&v, &n, NULL), CSCERT_EINVAL);
        assert_null(v);
        assert_int_equal(n, 0);
        cscert_x509_names_free(NULL);
    }
}

static void test_template(void **state)
{
    /* BMPString "WebServer" */
    static const unsigned char bmp[] = { 0x1e, 0x12, 0, 'W', 0, 'e', 0, 'b', 0, 'S', 0, 'e',
                                         0, 'r', 0, 'v', 0, 'e', 0, 'r' };
    /* BMPString "Servéur" (U+00E9) */
    static const unsigned char bmp2[] = { 0x1e, 0x0e, 0, 'S', 0, 'e', 0, 'r', 0, 'v', 0, 0xe9,
                                          0, 'u', 0, 'r' };
    static const unsigned char utf8[] = { 0x0c, 0x04, 'L', 'y', 'n', 'c' };
    static const unsigned char integer[] = { 0x02, 0x01, 0x05 };
    static const unsigned char trailing[] = { 0x0c, 0x04, 'L', 'y', 'n', 'c', 0x00 };
    static const unsigned char truncated[] = { 0x1e, 0x12, 0, 'W' };
    static const unsigned char empty[] = { 0x1e, 0x00 };
    static const unsigned char odd[] = { 0x1e, 0x03, 0, 'W', 0 }; /* half a UTF-16 unit */
    static const unsigned char nul[] = { 0x1e, 0x04, 0, 'W', 0, 0 };
    static const struct {
        const unsigned char *der;
        int len, rc;
        const char *want;
    } rows[] = {
        { bmp, sizeof(bmp), CSCERT_OK, "WebServer" },
        { bmp2, sizeof(bmp2), CSCERT_OK, "Serv\xc3\xa9ur" },
        { utf8, sizeof(utf8), CSCERT_OK, "Lync" },
        { NULL, 0, CSCERT_ENOTFOUND, NULL },
        { integer, sizeof(integer), CSCERT_EINVAL, NULL },
        { trailing, sizeof(trailing), CSCERT_EINVAL, NULL },
        { truncated, sizeof(truncated), CSCERT_EINVAL, NULL },
        { empty, sizeof(empty), CSCERT_EINVAL, NULL },
        { odd, sizeof(odd), CSCERT_EINVAL, NULL },
        { nul, sizeof(nul), CSCERT_EINVAL, NULL },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        X509 *x = mkcert("fe01.contoso.net", NULL, rows[i].der, rows[i].len);
        char *t = (char *)1;
        int rc = cscert_x509_template_name(&t, x);

        if (rc != rows[i].rc)
            fail_msg("template row %zu: rc %d want %d (%s)", i, rc, rows[i].rc, cscert_error_last());
        if (rows[i].want)
            assert_string_equal(t, rows[i].want);
        else
            assert_null(t);
        if (rc != CSCERT_OK)
            assert_non_null(strstr(cscert_error_last(), "template"));
        free(t);
        X509_free(x);
    }
    char *t;
    assert_int_equal(cscert_x509_template_name(&t, NULL), CSCERT_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thumbprint),
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_template),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
