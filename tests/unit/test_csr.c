/* test_csr.c: R15's hashes, the subject's fields and bounds, the country
 * code, and the request as built: its signature (PKCS#1 v1.5 for RSA,
 * never PSS), subject, SAN list exact and in order (R1), EKUs (R16), key
 * usage, the template name as a BMPString; PEM/DER in and out; reading
 * the names back. The request is judged with OpenSSL's own readers, and
 * the template's DER bytes are compared with hand-written expectations. */
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
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cscert/csr.h"
#include "cscert/key.h"
#include "cscert/x509.h"

static char warned[4096];
static EVP_PKEY *rsa_key, *ec_key;

static void collect(const char *msg, void *ud)
{
    (void)ud;
    strncat(warned, msg, sizeof(warned) - strlen(warned) - 2);
    strcat(warned, "\n");
}

static int group_setup(void **state)
{
    cscert_key_spec s;

    (void)state;
    cscert_set_warn_handler(collect, NULL);
    if (cscert_key_spec_parse(&s, "rsa:2048") || cscert_key_generate(&rsa_key, &s))
        return -1;
    if (cscert_key_spec_parse(&s, "ec:P-256") || cscert_key_generate(&ec_key, &s))
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(rsa_key);
    EVP_PKEY_free(ec_key);
    return 0;
}

/* ---- OpenSSL-side readers (not the code under test) ---- */

static STACK_OF(X509_EXTENSION) *exts_of(X509_REQ *r)
{
    STACK_OF(X509_EXTENSION) *e = X509_REQ_get_extensions(r);

    assert_non_null(e);
    return e;
}

static X509_EXTENSION *ext_by_nid(STACK_OF(X509_EXTENSION) *e, int nid)
{
    int i = X509v3_get_ext_by_NID(e, nid, -1);

    return i < 0 ? NULL : X509v3_get_ext(e, i);
}

static X509_EXTENSION *ext_template(STACK_OF(X509_EXTENSION) *e)
{
    ASN1_OBJECT *o = OBJ_txt2obj("1.3.6.1.4.1.311.20.2", 1);
    int i = X509v3_get_ext_by_OBJ(e, o, -1);

    ASN1_OBJECT_free(o);
    return i < 0 ? NULL : X509v3_get_ext(e, i);
}

static void assert_sans(X509_REQ *r, const char *const *want, size_t n)
{
    STACK_OF(X509_EXTENSION) *e = exts_of(r);
    GENERAL_NAMES *g = X509V3_get_d2i(e, NID_subject_alt_name, NULL, NULL);

    assert_non_null(g);
    assert_int_equal(sk_GENERAL_NAME_num(g), n);
    for (size_t i = 0; i < n; i++) {
        GENERAL_NAME *gn = sk_GENERAL_NAME_value(g, (int)i);

        assert_int_equal(gn->type, GEN_DNS);
        assert_int_equal(ASN1_STRING_length(gn->d.dNSName), strlen(want[i]));
        assert_memory_equal(ASN1_STRING_get0_data(gn->d.dNSName), want[i], strlen(want[i]));
    }
    GENERAL_NAMES_free(g);
    sk_X509_EXTENSION_pop_free(e, X509_EXTENSION_free);
}

/* The template extension's value, DER, must be exactly BMPString(name)
 * written by hand: tag 0x1E, length, UTF-16BE. ASCII names only here. */
static void assert_template_der(X509_REQ *r, const char *name)
{
    STACK_OF(X509_EXTENSION) *e = exts_of(r);
    X509_EXTENSION *x = ext_template(e);
    unsigned char want[260];
    size_t n = strlen(name);

    assert_non_null(x);
    assert_int_equal(X509_EXTENSION_get_critical(x), 0);
    want[0] = 0x1e;
    want[1] = (unsigned char)(2 * n);
    for (size_t i = 0; i < n; i++) {
        want[2 + 2 * i] = 0;
        want[3 + 2 * i] = (unsigned char)name[i];
    }
    assert_int_equal(ASN1_STRING_length(X509_EXTENSION_get_data(x)), 2 + 2 * n);
    assert_memory_equal(ASN1_STRING_get0_data(X509_EXTENSION_get_data(x)), want, 2 + 2 * n);
    sk_X509_EXTENSION_pop_free(e, X509_EXTENSION_free);
}

static void assert_subject_field(X509_REQ *r, int nid, const char *want)
{
    char buf[512];
    int len = X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(r), nid, buf, sizeof(buf));

    if (!want) {
        assert_int_equal(len, -1);
        return;
    }
    assert_true(len >= 0);
    assert_string_equal(buf, want);
}

/* ---- hashes ---- */

static void test_hash_parse(void **state)
{
    static const struct {
        const char *in, *name, *md;
        int warns;
    } ok_rows[] = {
        { "sha1", "sha1", "SHA1", 1 },     { "sha224", "sha224", "SHA224", 0 },
        { "sha256", "sha256", "SHA256", 0 }, { "SHA256", "sha256", "SHA256", 0 },
        { "sha-256", "sha256", "SHA256", 0 }, { "sha384", "sha384", "SHA384", 0 },
        { "sha512", "sha512", "SHA512", 0 }, { NULL, "sha256", "SHA256", 0 },
    };
    /* R15's list only: no MD5, no SHA-3, no truncated SHA-512, no PSS */
    static const char *bad[] = {
        "md5", "md4", "sha3-256", "sha3-512", "sha512-256", "sha512/256", "sha", "sha-1-",
        "sha2", "sha256 ", "rsassa-pss", "shake256", "sm3", "", "sha--256", "-sha256",
        "sha256sha256sha256",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(ok_rows) / sizeof(ok_rows[0]); i++) {
        const cscert_csr_hash *h = NULL;

        warned[0] = '\0';
        if (cscert_csr_hash_parse(&h, ok_rows[i].in) != CSCERT_OK)
            fail_msg("row %zu: %s", i, cscert_error_last());
        assert_string_equal(h->name, ok_rows[i].name);
        assert_string_equal(h->md_name, ok_rows[i].md);
        if (ok_rows[i].warns)
            assert_non_null(strstr(warned, "'sha1' is weak"));
        else
            assert_string_equal(warned, "");
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const cscert_csr_hash *h = (const cscert_csr_hash *)1;

        if (cscert_csr_hash_parse(&h, bad[i]) != CSCERT_EINVAL)
            fail_msg("'%s' accepted", bad[i]);
        assert_null(h);
        assert_non_null(strstr(cscert_error_last(), "sha1, sha224, sha256, sha384, sha512"));
    }
    const cscert_csr_hash *h;
    assert_int_equal(cscert_csr_hash_parse(&h, "md5"), CSCERT_EINVAL);
    assert_non_null(strstr(cscert_error_last(), "'md5'"));
}

/* ---- country ---- */

static void test_country(void **state)
{
    static const struct { const char *in, *out; } ok_rows[] = {
        { "US", "US" }, { "us", "US" }, { "dE", "DE" }, { "gb", "GB" },
    };
    static const char *bad[] = { "USA", "u1", "", "U", "1U", "U ", " U", "U-", "\xc3\x9c" "S",
                                 "\xc3\x9c", "US\n" };

    (void)state;
    for (size_t i = 0; i < sizeof(ok_rows) / sizeof(ok_rows[0]); i++) {
        char c[3];

        assert_int_equal(cscert_csr_country_normalize(c, ok_rows[i].in), CSCERT_OK);
        assert_string_equal(c, ok_rows[i].out);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char c[3] = "XX";

        if (cscert_csr_country_normalize(c, bad[i]) != CSCERT_EINVAL)
            fail_msg("country row %zu accepted", i);
        assert_string_equal(c, "");
        assert_non_null(strstr(cscert_error_last(), "country"));
    }
    char c[3];
    assert_int_equal(cscert_csr_country_normalize(c, NULL), CSCERT_EINVAL);
    assert_int_equal(cscert_csr_country_normalize(c, "USA"), CSCERT_EINVAL);
    assert_non_null(strstr(cscert_error_last(), "'USA'"));
}

/* ---- the request ---- */

static const char *const pool_names[] = {
    "pool01.contoso.net", "fe01.contoso.net", "webpool01.contoso.net", "webpool01.contoso.com",
    "sip.contoso.com", "meet.contoso.com", "dialin.contoso.com", "admin.contoso.com",
    "lyncdiscoverinternal.contoso.com", "lyncdiscover.contoso.com",
};
#define N_POOL (sizeof(pool_names) / sizeof(pool_names[0]))

static void test_build_rsa_full(void **state)
{
    cscert_csr_params p;
    X509_REQ *r = NULL;
    STACK_OF(X509_EXTENSION) *e;
    EXTENDED_KEY_USAGE *eku;
    ASN1_BIT_STRING *ku;
    X509_EXTENSION *x;
    const X509_ALGOR *alg;
    const ASN1_OBJECT *aobj;
    char cn_sans[16][128];
    char **names = NULL, *tmpl = NULL;
    size_t n = 0;

    (void)state;
    memset(&p, 0, sizeof(p));
    p.subject.cn = "pool01.contoso.net";
    p.subject.o = "Contoso, Ltd.";
    p.subject.ou = "IT";
    p.subject.l = "Redmond";
    p.subject.st = "Washington";
    p.subject.c = "us";
    p.dns = pool_names;
    p.n_dns = N_POOL;
    assert_int_equal(cscert_csr_build(&r, rsa_key, &p), CSCERT_OK);
    assert_non_null(r);
    /* signature verifies, with sha256WithRSAEncryption (PKCS#1 v1.5) */
    assert_int_equal(X509_REQ_verify(r, X509_REQ_get0_pubkey(r)), 1);
    assert_int_equal(cscert_csr_verify(r), 1);
    assert_int_equal(EVP_PKEY_eq(X509_REQ_get0_pubkey(r), rsa_key), 1);
    X509_REQ_get0_signature(r, NULL, &alg);
    X509_ALGOR_get0(&aobj, NULL, NULL, alg);
    assert_int_equal(OBJ_obj2nid(aobj), NID_sha256WithRSAEncryption);
    assert_int_equal(X509_REQ_get_version(r), 0);
    /* subject: every field, country upper-cased, CN last (most specific) */
    assert_subject_field(r, NID_commonName, "pool01.contoso.net");
    assert_subject_field(r, NID_organizationName, "Contoso, Ltd.");
    assert_subject_field(r, NID_organizationalUnitName, "IT");
    assert_subject_field(r, NID_localityName, "Redmond");
    assert_subject_field(r, NID_stateOrProvinceName, "Washington");
    assert_subject_field(r, NID_countryName, "US");
    {
        X509_NAME *sn = X509_REQ_get_subject_name(r);
        int last = X509_NAME_entry_count(sn) - 1;

        assert_int_equal(X509_NAME_entry_count(sn), 6);
        assert_int_equal(OBJ_obj2nid(X509_NAME_ENTRY_get_object(X509_NAME_get_entry(sn, 0))),
                         NID_countryName);
        assert_int_equal(OBJ_obj2nid(X509_NAME_ENTRY_get_object(X509_NAME_get_entry(sn, last))),
                         NID_commonName);
        /* C is a PrintableString */
        assert_int_equal(ASN1_STRING_type(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(sn, 0))),
                         V_ASN1_PRINTABLESTRING);
    }
    /* R1: every name in the SAN, the CN first, in order */
    assert_sans(r, pool_names, N_POOL);
    e = exts_of(r);
    /* R16: serverAuth only */
    eku = X509V3_get_d2i(e, NID_ext_key_usage, NULL, NULL);
    assert_non_null(eku);
    assert_int_equal(sk_ASN1_OBJECT_num(eku), 1);
    assert_int_equal(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)), NID_server_auth);
    EXTENDED_KEY_USAGE_free(eku);
    /* key usage: critical, digitalSignature + keyEncipherment */
    x = ext_by_nid(e, NID_key_usage);
    assert_non_null(x);
    assert_int_equal(X509_EXTENSION_get_critical(x), 1);
    ku = X509V3_get_d2i(e, NID_key_usage, NULL, NULL);
    assert_int_equal(ASN1_BIT_STRING_get_bit(ku, 0), 1);
    assert_int_equal(ASN1_BIT_STRING_get_bit(ku, 1), 0);
    assert_int_equal(ASN1_BIT_STRING_get_bit(ku, 2), 1);
    assert_int_equal(ASN1_BIT_STRING_get_bit(ku, 4), 0);
    ASN1_BIT_STRING_free(ku);
    /* exactly the four requested extensions */
    assert_int_equal(sk_X509_EXTENSION_num(e), 4);
    sk_X509_EXTENSION_pop_free(e, X509_EXTENSION_free);
    /* template: BMPString "WebServer", byte for byte */
    assert_template_der(r, "WebServer");
    assert_int_equal(cscert_csr_template_name(&tmpl, r), CSCERT_OK);
    assert_string_equal(tmpl, "WebServer");
    free(tmpl);
    /* names read back: CN first, then the SANs, each once */
    assert_int_equal(cscert_csr_names(&names, &n, r), CSCERT_OK);
    assert_int_equal(n, N_POOL);
    for (size_t i = 0; i < N_POOL; i++)
        assert_string_equal(names[i], pool_names[i]);
    assert_null(names[N_POOL]);
    cscert_x509_names_free(names);
    (void)cn_sans;
    X509_REQ_free(r);
}

static void test_build_ec_client_template(void **state)
{
    static const char *const dns[] = { "sip.contoso.com", "webconf.contoso.com",
                                       "SIP.contoso.com", "sip.fabrikam.com" };
    static const char *const want[] = { "sip.contoso.com", "webconf.contoso.com",
                                         "sip.fabrikam.com" };
    const cscert_csr_hash *h = NULL;
    cscert_csr_params p;
    X509_REQ *r = NULL;
    STACK_OF(X509_EXTENSION) *e;
    EXTENDED_KEY_USAGE *eku;
    ASN1_BIT_STRING *ku;
    const X509_ALGOR *alg;
    const ASN1_OBJECT *aobj;
    char *tmpl = NULL, **names = NULL;
    size_t n = 0;

    (void)state;
    assert_int_equal(cscert_csr_hash_parse(&h, "sha384"), CSCERT_OK);
    memset(&p, 0, sizeof(p));
    p.dns = dns; /* no CN given: the first DNS name */
    p.n_dns = 4;
    p.client_eku = 1;
    p.template_name = "LyncEdgeExternal";
    p.hash = h;
    assert_int_equal(cscert_csr_build(&r, ec_key, &p), CSCERT_OK);
    assert_int_equal(X509_REQ_verify(r, X509_REQ_get0_pubkey(r)), 1);
    X509_REQ_get0_signature(r, NULL, &alg);
    X509_ALGOR_get0(&aobj, NULL, NULL, alg);
    assert_int_equal(OBJ_obj2nid(aobj), NID_ecdsa_with_SHA384);
    assert_subject_field(r, NID_commonName, "sip.contoso.com");
    assert_subject_field(r, NID_organizationName, NULL);
    assert_subject_field(r, NID_countryName, NULL);
    assert_int_equal(X509_NAME_entry_count(X509_REQ_get_subject_name(r)), 1);
    /* a repeated name (any case) is kept once, first spelling */
    assert_sans(r, want, 3);
    e = exts_of(r);
    /* R16: serverAuth, then clientAuth */
    eku = X509V3_get_d2i(e, NID_ext_key_usage, NULL, NULL);
    assert_int_equal(sk_ASN1_OBJECT_num(eku), 2);
    assert_int_equal(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)), NID_server_auth);
    assert_int_equal(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 1)), NID_client_auth);
    EXTENDED_KEY_USAGE_free(eku);
    /* EC: digitalSignature only */
    ku = X509V3_get_d2i(e, NID_key_usage, NULL, NULL);
    assert_int_equal(ASN1_BIT_STRING_get_bit(ku, 0), 1);
    assert_int_equal(ASN1_BIT_STRING_get_bit(ku, 2), 0);
    ASN1_BIT_STRING_free(ku);
    sk_X509_EXTENSION_pop_free(e, X509_EXTENSION_free);
    assert_template_der(r, "LyncEdgeExternal");
    assert_int_equal(cscert_csr_template_name(&tmpl, r), CSCERT_OK);
    assert_string_equal(tmpl, "LyncEdgeExternal");
    free(tmpl);
    assert_int_equal(cscert_csr_names(&names, &n, r), CSCERT_OK);
    assert_int_equal(n, 3);
    assert_string_equal(names[0], "sip.contoso.com");
    assert_string_equal(names[2], "sip.fabrikam.com");
    cscert_x509_names_free(names);
    X509_REQ_free(r);
}

/* Every R15 hash signs, with PKCS#1 v1.5 for RSA. */
static void test_build_every_hash(void **state)
{
    static const struct { const char *h; int rsa_nid, ec_nid; } rows[] = {
        { "sha1", NID_sha1WithRSAEncryption, NID_ecdsa_with_SHA1 },
        { "sha224", NID_sha224WithRSAEncryption, NID_ecdsa_with_SHA224 },
        { "sha256", NID_sha256WithRSAEncryption, NID_ecdsa_with_SHA256 },
        { "sha384", NID_sha384WithRSAEncryption, NID_ecdsa_with_SHA384 },
        { "sha512", NID_sha512WithRSAEncryption, NID_ecdsa_with_SHA512 },
    };
    static const char *const dns[] = { "med01.contoso.net" };

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        for (int k = 0; k < 2; k++) {
            cscert_csr_params p;
            X509_REQ *r = NULL;
            const X509_ALGOR *alg;
            const ASN1_OBJECT *aobj;

            memset(&p, 0, sizeof(p));
            p.dns = dns;
            p.n_dns = 1;
            assert_int_equal(cscert_csr_hash_parse(&p.hash, rows[i].h), CSCERT_OK);
            assert_int_equal(cscert_csr_build(&r, k ? ec_key : rsa_key, &p), CSCERT_OK);
            assert_int_equal(X509_REQ_verify(r, X509_REQ_get0_pubkey(r)), 1);
            X509_REQ_get0_signature(r, NULL, &alg);
            X509_ALGOR_get0(&aobj, NULL, NULL, alg);
            assert_int_equal(OBJ_obj2nid(aobj), k ? rows[i].ec_nid : rows[i].rsa_nid);
            X509_REQ_free(r);
        }
    }
}

static void test_template_names(void **state)
{
    static const char *const dns[] = { "fe01.contoso.net" };
    /* custom, non-ASCII (BMP), and the 64-character bound */
    static const char *ok_rows[] = {
        "WebServer", "Lync Web Server 2013", "Serv\xc3\xa9ur",
        "T123456789012345678901234567890123456789012345678901234567890123",
    };
    static const char *bad[] = {
        "", "T1234567890123456789012345678901234567890123456789012345678901234",
        "Emoji\xf0\x9f\x94\x92", "Tab\there", "Bad\xff" "UTF8",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(ok_rows) / sizeof(ok_rows[0]); i++) {
        cscert_csr_params p;
        X509_REQ *r = NULL;
        char *t = NULL;
        STACK_OF(X509_EXTENSION) *e;
        ASN1_BMPSTRING *bmp;
        const unsigned char *der;
        unsigned char *utf8 = NULL;

        memset(&p, 0, sizeof(p));
        p.dns = dns;
        p.n_dns = 1;
        p.template_name = ok_rows[i];
        if (cscert_csr_build(&r, ec_key, &p) != CSCERT_OK)
            fail_msg("template row %zu: %s", i, cscert_error_last());
        /* decoded by OpenSSL as a BMPString */
        e = exts_of(r);
        der = ASN1_STRING_get0_data(X509_EXTENSION_get_data(ext_template(e)));
        bmp = d2i_ASN1_BMPSTRING(NULL, &der,
                                 ASN1_STRING_length(X509_EXTENSION_get_data(ext_template(e))));
        assert_non_null(bmp);
        assert_int_equal(ASN1_STRING_type(bmp), V_ASN1_BMPSTRING);
        assert_true(ASN1_STRING_to_UTF8(&utf8, bmp) > 0);
        assert_string_equal((char *)utf8, ok_rows[i]);
        OPENSSL_free(utf8);
        ASN1_BMPSTRING_free(bmp);
        sk_X509_EXTENSION_pop_free(e, X509_EXTENSION_free);
        assert_int_equal(cscert_csr_template_name(&t, r), CSCERT_OK);
        assert_string_equal(t, ok_rows[i]);
        free(t);
        X509_REQ_free(r);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cscert_csr_params p;
        X509_REQ *r = (X509_REQ *)1;

        memset(&p, 0, sizeof(p));
        p.dns = dns;
        p.n_dns = 1;
        p.template_name = bad[i];
        if (cscert_csr_build(&r, ec_key, &p) != CSCERT_EINVAL)
            fail_msg("template row %zu accepted", i);
        assert_null(r);
        assert_non_null(strstr(cscert_error_last(), "template"));
    }
}

static void test_subject_hostile(void **state)
{
    static const char *const dns[] = { "fe01.contoso.net" };
    char cn64[65], cn65[66], eacute64[129], l128[129], l129[130];
    struct {
        cscert_csr_subject s;
        int rc;
        const char *msg;
    } rows[] = {
        { { .cn = cn64 }, CSCERT_OK, NULL },
        { { .cn = cn65 }, CSCERT_EINVAL, "65 characters" },
        { { .cn = "x", .o = cn65 }, CSCERT_EINVAL, "organization" },
        { { .cn = "x", .ou = cn65 }, CSCERT_EINVAL, "organizational unit" },
        { { .cn = "x", .o = eacute64 }, CSCERT_OK, NULL }, /* 64 characters, 128 bytes */
        { { .cn = "x", .l = l128, .st = l128 }, CSCERT_OK, NULL },
        { { .cn = "x", .l = l129 }, CSCERT_EINVAL, "city" },
        { { .cn = "x", .st = l129 }, CSCERT_EINVAL, "state" },
        { { .cn = "x", .c = "USA" }, CSCERT_EINVAL, "'USA'" },
        { { .cn = "x", .c = "u1" }, CSCERT_EINVAL, "'u1'" },
        { { .cn = "x", .c = "" }, CSCERT_EINVAL, "country" },
        { { .cn = "x", .o = "" }, CSCERT_EINVAL, "organization: empty" },
        { { .cn = "" }, CSCERT_EINVAL, "common name: empty" },
        { { .cn = "x", .o = "Contoso\nCN=evil" }, CSCERT_EINVAL, "control characters" },
        { { .cn = "x", .ou = "I\x7fT" }, CSCERT_EINVAL, "control characters" },
        { { .cn = "x", .o = "Bad\xc3" }, CSCERT_EINVAL, "not UTF-8" },
        { { .cn = "x", .o = "\xc0\xaf" }, CSCERT_EINVAL, "not UTF-8" }, /* overlong '/' */
        { { .cn = "x", .o = "\xed\xa0\x80" }, CSCERT_EINVAL, "not UTF-8" }, /* surrogate */
        { { .cn = "x", .o = "C\xc2\x85" }, CSCERT_EINVAL, "control" }, /* C1 NEL */
    };

    (void)state;
    memset(cn64, 'a', 64);
    cn64[64] = '\0';
    memset(cn65, 'a', 65);
    cn65[65] = '\0';
    for (int i = 0; i < 64; i++)
        memcpy(eacute64 + 2 * i, "\xc3\xa9", 2);
    eacute64[128] = '\0';
    memset(l128, 'b', 128);
    l128[128] = '\0';
    memset(l129, 'b', 129);
    l129[129] = '\0';
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        cscert_csr_params p;
        X509_REQ *r = NULL;
        int rc;

        memset(&p, 0, sizeof(p));
        p.subject = rows[i].s;
        p.dns = dns;
        p.n_dns = 1;
        rc = cscert_csr_build(&r, ec_key, &p);
        if (rc != rows[i].rc)
            fail_msg("subject row %zu: rc %d, want %d (%s)", i, rc, rows[i].rc, cscert_error_last());
        if (rows[i].msg && !strstr(cscert_error_last(), rows[i].msg))
            fail_msg("subject row %zu: [%s] not in [%s]", i, rows[i].msg, cscert_error_last());
        if (rc == CSCERT_OK)
            assert_int_equal(X509_REQ_verify(r, X509_REQ_get0_pubkey(r)), 1);
        else
            assert_null(r);
        X509_REQ_free(r);
    }
}

static void test_dns_hostile(void **state)
{
    char long254[255], label64[80];
    const char *bad[] = {
        "", "a..b", ".contoso.com", "contoso.com.", "foo bar.com", "*.*.contoso.com",
        "sip.*.contoso.com", "*", "*contoso.com", "a*.contoso.com", "sip,contoso.com",
        "sip.contoso.com\n", "s\xc3\xadp.contoso.com", "sip_contoso.com", "DNS:sip.contoso.com",
        long254, label64,
    };

    (void)state;
    memset(long254, 'a', 254);
    for (int i = 10; i < 254; i += 11)
        long254[i] = '.';
    long254[254] = '\0';
    memset(label64, 'l', 64);
    strcpy(label64 + 64, ".contoso.com");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *dns[] = { "fe01.contoso.net", bad[i] };
        cscert_csr_params p;
        X509_REQ *r = (X509_REQ *)1;

        memset(&p, 0, sizeof(p));
        p.subject.cn = "fe01.contoso.net";
        p.dns = dns;
        p.n_dns = 2;
        if (cscert_csr_build(&r, ec_key, &p) != CSCERT_EINVAL)
            fail_msg("dns row %zu accepted", i);
        assert_null(r);
        assert_non_null(strstr(cscert_error_last(), "subject alternative name"));
    }
    /* a wildcard first label and a 253-character name are fine */
    {
        char long253[254];
        const char *dns[] = { "*.contoso.com", long253 };
        cscert_csr_params p;
        X509_REQ *r = NULL;

        memcpy(long253, long254, 253);
        long253[253] = '\0';
        if (long253[252] == '.')
            long253[252] = 'z';
        memset(&p, 0, sizeof(p));
        p.subject.cn = "contoso.com";
        p.dns = dns;
        p.n_dns = 2;
        assert_int_equal(cscert_csr_build(&r, ec_key, &p), CSCERT_OK);
        assert_sans(r, dns, 2);
        X509_REQ_free(r);
    }
}

static void test_build_misuse(void **state)
{
    static const char *const dns[] = { "fe01.contoso.net" };
    cscert_csr_params p;
    X509_REQ *r = (X509_REQ *)1;
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    char **names = NULL;
    size_t n = 0;

    (void)state;
    memset(&p, 0, sizeof(p));
    /* no name at all */
    assert_int_equal(cscert_csr_build(&r, ec_key, &p), CSCERT_EINVAL);
    assert_null(r);
    assert_non_null(strstr(cscert_error_last(), "no subject name"));
    assert_int_equal(cscert_csr_build(&r, NULL, &p), CSCERT_EINVAL);
    assert_int_equal(cscert_csr_build(&r, ec_key, NULL), CSCERT_EINVAL);
    p.n_dns = 3; /* count without list */
    assert_int_equal(cscert_csr_build(&r, ec_key, &p), CSCERT_EINVAL);
    /* R15: a key type outside the list is refused by policy */
    p.dns = dns;
    p.n_dns = 1;
    assert_int_equal(cscert_csr_build(&r, ed, &p), CSCERT_EPOLICY);
    assert_null(r);
    assert_non_null(strstr(cscert_error_last(), "ED25519"));
    EVP_PKEY_free(ed);
    /* CN only, no SAN extension at all */
    p.subject.cn = "ca01.contoso.net";
    p.n_dns = 0;
    assert_int_equal(cscert_csr_build(&r, ec_key, &p), CSCERT_OK);
    {
        STACK_OF(X509_EXTENSION) *e = exts_of(r);

        assert_null(ext_by_nid(e, NID_subject_alt_name));
        sk_X509_EXTENSION_pop_free(e, X509_EXTENSION_free);
    }
    assert_int_equal(cscert_csr_names(&names, &n, r), CSCERT_OK);
    assert_int_equal(n, 1);
    assert_string_equal(names[0], "ca01.contoso.net");
    cscert_x509_names_free(names);
    X509_REQ_free(r);
}

static void test_pem_der(void **state)
{
    static const char *const dns[] = { "fe01.contoso.net", "pool01.contoso.net" };
    cscert_csr_params p;
    X509_REQ *r = NULL, *back = NULL;
    char *pem = NULL, *old = NULL, *big;
    unsigned char *der = NULL, *der2 = NULL, *junk;
    int dlen, dlen2;
    BIO *b;

    (void)state;
    memset(&p, 0, sizeof(p));
    p.dns = dns;
    p.n_dns = 2;
    assert_int_equal(cscert_csr_build(&r, rsa_key, &p), CSCERT_OK);
    assert_int_equal(cscert_csr_to_pem(&pem, r), CSCERT_OK);
    assert_true(strncmp(pem, "-----BEGIN CERTIFICATE REQUEST-----\n", 36) == 0);
    assert_non_null(strstr(pem, "-----END CERTIFICATE REQUEST-----\n"));
    /* OpenSSL reads what we wrote */
    b = BIO_new_mem_buf(pem, -1);
    back = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
    BIO_free(b);
    assert_non_null(back);
    dlen = i2d_X509_REQ(r, &der);
    dlen2 = i2d_X509_REQ(back, &der2);
    assert_int_equal(dlen, dlen2);
    assert_memory_equal(der, der2, (size_t)dlen);
    X509_REQ_free(back);
    OPENSSL_free(der2);
    der2 = NULL;
    /* and our readers read PEM and DER */
    assert_int_equal(cscert_csr_from_pem(&back, pem, strlen(pem)), CSCERT_OK);
    assert_int_equal(cscert_csr_verify(back), 1);
    X509_REQ_free(back);
    assert_int_equal(cscert_csr_from_der(&back, der, (size_t)dlen), CSCERT_OK);
    dlen2 = i2d_X509_REQ(back, &der2);
    assert_memory_equal(der, der2, (size_t)dlen);
    X509_REQ_free(back);
    OPENSSL_free(der2);
    /* DER through the PEM reader too */
    assert_int_equal(cscert_csr_from_pem(&back, (char *)der, (size_t)dlen), CSCERT_OK);
    X509_REQ_free(back);
    /* the old header, as Windows' certreq writes it */
    old = malloc(strlen(pem) + 16);
    strcpy(old, "-----BEGIN NEW CERTIFICATE REQUEST-----\n");
    strcat(old, strchr(pem, '\n') + 1);
    strcpy(strstr(old, "-----END "), "-----END NEW CERTIFICATE REQUEST-----\n");
    assert_int_equal(cscert_csr_from_pem(&back, old, strlen(old)), CSCERT_OK);
    assert_int_equal(cscert_csr_verify(back), 1);
    X509_REQ_free(back);
    free(old);
    /* hostile: trailing bytes after DER, truncated, empty, a certificate
     * header, garbage, too big */
    back = (X509_REQ *)1;
    junk = malloc((size_t)dlen + 1);
    memcpy(junk, der, (size_t)dlen);
    junk[dlen] = 0;
    assert_int_equal(cscert_csr_from_der(&back, junk, (size_t)dlen + 1), CSCERT_EINVAL);
    assert_null(back);
    assert_non_null(strstr(cscert_error_last(), "unexpected bytes"));
    assert_int_equal(cscert_csr_from_der(&back, der, (size_t)dlen - 1), CSCERT_EINVAL);
    /* a flipped byte in the signature still parses but does not verify */
    memcpy(junk, der, (size_t)dlen);
    junk[dlen - 5] ^= 0x01;
    assert_int_equal(cscert_csr_from_der(&back, junk, (size_t)dlen), CSCERT_OK);
    assert_int_equal(cscert_csr_verify(back), 0);
    X509_REQ_free(back);
    free(junk);
    assert_int_equal(cscert_csr_from_der(&back, der, 0), CSCERT_EINVAL);
    assert_int_equal(cscert_csr_from_pem(&back, "", 0), CSCERT_EINVAL);
    assert_int_equal(cscert_csr_from_pem(&back, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", 59),
                     CSCERT_EINVAL);
    assert_null(back);
    assert_int_equal(cscert_csr_from_pem(&back, "hello", 5), CSCERT_EINVAL);
    big = calloc(1, CSCERT_CSR_MAX_BYTES + 2);
    memcpy(big, pem, strlen(pem));
    assert_int_equal(cscert_csr_from_pem(&back, big, CSCERT_CSR_MAX_BYTES + 1), CSCERT_EINVAL);
    assert_non_null(strstr(cscert_error_last(), "at most"));
    assert_int_equal(cscert_csr_verify(NULL), 0);
    free(big);
    OPENSSL_free(der);
    free(pem);
    X509_REQ_free(r);
}

/* cscert_csr_from_der has two readers: RSA requests are rebuilt from
 * their parts with a key that needs no provider decoder (csca serve's
 * fast path), anything else, or anything that would not re-encode to the
 * same bytes, goes through d2i_X509_REQ. Both must give a request that
 * encodes to the bytes received and verifies; a request whose signed
 * part is valid BER but not DER must still verify (it would not if it
 * were rebuilt). */
static unsigned char *noncanonical_rsa_request(size_t *len, const cscert_csr_params *p)
{
    static const unsigned char sha256_rsa[] = { 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
                                                0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00 };
    X509_REQ *r = NULL;
    unsigned char *tbs = NULL, *info, *out, sig[512];
    size_t il, sl = sizeof(sig), body, o = 0;
    int tl;
    EVP_MD_CTX *md = EVP_MD_CTX_new();

    assert_int_equal(cscert_csr_build(&r, rsa_key, p), CSCERT_OK);
    tl = i2d_re_X509_REQ_tbs(r, &tbs);
    /* 30 82 hi lo | 02 01 00 (version) | rest: the version's length in
     * long form (02 81 01 00), one byte more. */
    assert_true(tl > 7 && tbs[0] == 0x30 && tbs[1] == 0x82 && tbs[4] == 0x02 && tbs[5] == 0x01);
    il = (size_t)tl + 1;
    info = malloc(il);
    info[0] = 0x30, info[1] = 0x82, info[2] = (unsigned char)((il - 4) >> 8), info[3] = (unsigned char)(il - 4);
    info[4] = 0x02, info[5] = 0x81, info[6] = 0x01;
    memcpy(info + 7, tbs + 6, (size_t)tl - 6);
    assert_true(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, rsa_key) == 1);
    assert_true(EVP_DigestSign(md, sig, &sl, info, il) == 1);
    body = il + sizeof(sha256_rsa) + 4 + 1 + sl;
    out = malloc(body + 4);
    out[o++] = 0x30, out[o++] = 0x82, out[o++] = (unsigned char)(body >> 8), out[o++] = (unsigned char)body;
    memcpy(out + o, info, il), o += il;
    memcpy(out + o, sha256_rsa, sizeof(sha256_rsa)), o += sizeof(sha256_rsa);
    out[o++] = 0x03, out[o++] = 0x82, out[o++] = (unsigned char)((sl + 1) >> 8), out[o++] = (unsigned char)(sl + 1);
    out[o++] = 0x00;
    memcpy(out + o, sig, sl), o += sl;
    *len = o;
    EVP_MD_CTX_free(md);
    OPENSSL_free(tbs);
    free(info);
    X509_REQ_free(r);
    return out;
}

static void assert_reads_back(const unsigned char *der, size_t len, int legacy_key)
{
    X509_REQ *back = NULL;
    unsigned char *again = NULL;
    EVP_PKEY *pub;
    char **names = NULL;
    size_t n = 0;

    assert_int_equal(cscert_csr_from_der(&back, der, len), CSCERT_OK);
    assert_non_null(pub = X509_REQ_get0_pubkey(back));
    /* the fast path's key is a legacy one: no provider behind it */
    assert_int_equal(EVP_PKEY_get0_provider(pub) == NULL, legacy_key);
    assert_int_equal(EVP_PKEY_eq(pub, legacy_key ? rsa_key : X509_REQ_get0_pubkey(back)), 1);
    assert_int_equal(i2d_X509_REQ(back, &again), (int)len);
    assert_memory_equal(again, der, len);
    assert_int_equal(cscert_csr_verify(back), 1);
    assert_int_equal(cscert_csr_names(&names, &n, back), CSCERT_OK);
    assert_int_equal(n, 2);
    assert_string_equal(names[1], "pool01.contoso.net");
    cscert_x509_names_free(names);
    OPENSSL_free(again);
    X509_REQ_free(back);
}

static void test_der_readers(void **state)
{
    static const char *const dns[] = { "fe01.contoso.net", "pool01.contoso.net" };
    cscert_csr_params p;
    X509_REQ *r = NULL, *back = NULL;
    unsigned char *der = NULL, *odd;
    size_t olen;
    int dlen;

    (void)state;
    memset(&p, 0, sizeof(p));
    p.subject.cn = "fe01.contoso.net";
    p.dns = dns;
    p.n_dns = 2;
    /* RSA: the fast path */
    assert_int_equal(cscert_csr_build(&r, rsa_key, &p), CSCERT_OK);
    dlen = i2d_X509_REQ(r, &der);
    assert_reads_back(der, (size_t)dlen, 1);
    X509_REQ_free(r);
    OPENSSL_free(der);
    der = NULL;
    /* EC: d2i_X509_REQ */
    assert_int_equal(cscert_csr_build(&r, ec_key, &p), CSCERT_OK);
    dlen = i2d_X509_REQ(r, &der);
    assert_reads_back(der, (size_t)dlen, 0);
    X509_REQ_free(r);
    OPENSSL_free(der);
    /* RSA, BER inside the signed part: not rebuilt, and it verifies */
    odd = noncanonical_rsa_request(&olen, &p);
    assert_reads_back(odd, olen, 0);
    /* the same with its signature broken: read, but refused by verify */
    odd[olen - 1] ^= 0x01;
    assert_int_equal(cscert_csr_from_der(&back, odd, olen), CSCERT_OK);
    assert_int_equal(cscert_csr_verify(back), 0);
    X509_REQ_free(back);
    free(odd);
}

/* Every byte of an RSA request flipped in turn, and every length cut:
 * either refused (EINVAL, nothing returned) or read and then refused by
 * verify; never accepted, never a crash or a leak (run under ASan too). */
static void test_der_mutations(void **state)
{
    static const char *const dns[] = { "fe01.contoso.net", "pool01.contoso.net" };
    cscert_csr_params p;
    X509_REQ *r = NULL, *back;
    unsigned char *der = NULL, *m;
    int dlen, i, parsed = 0;

    (void)state;
    memset(&p, 0, sizeof(p));
    p.subject.cn = "fe01.contoso.net";
    p.dns = dns;
    p.n_dns = 2;
    assert_int_equal(cscert_csr_build(&r, rsa_key, &p), CSCERT_OK);
    dlen = i2d_X509_REQ(r, &der);
    m = malloc((size_t)dlen);
    for (i = 0; i < dlen; i++) {
        int rc;

        memcpy(m, der, (size_t)dlen);
        m[i] ^= 0xff;
        back = (X509_REQ *)1;
        rc = cscert_csr_from_der(&back, m, (size_t)dlen);
        if (rc == CSCERT_OK) {
            parsed++;
            /* OpenSSL verifies PKCS#1 v1.5 without looking at the
             * signature algorithm's parameters (NULL flipped to an
             * empty [PRIVATE 26] still verifies): a flip outside the
             * signed part may pass, but then what the request says is
             * what the original said. */
            if (cscert_csr_verify(back)) {
                unsigned char *tbs = NULL;
                int tl = i2d_re_X509_REQ_tbs(back, &tbs);

                assert_true(i > dlen - 2 - 256 - 5 - 15);
                assert_int_equal(EVP_PKEY_eq(X509_REQ_get0_pubkey(back), rsa_key), 1);
                assert_true(tl > 0 && memcmp(tbs, der + 4, (size_t)tl) == 0);
                OPENSSL_free(tbs);
            }
            X509_REQ_free(back);
        } else {
            assert_int_equal(rc, CSCERT_EINVAL);
            assert_null(back);
        }
        back = (X509_REQ *)1;
        assert_int_equal(cscert_csr_from_der(&back, der, (size_t)i), CSCERT_EINVAL);
        assert_null(back);
    }
    /* flips inside names, the key and the signature still parse */
    assert_true(parsed > dlen / 4);
    free(m);
    OPENSSL_free(der);
    X509_REQ_free(r);
}

/* A request with no template and no extensions at all: ENOTFOUND, and
 * the names are the CN alone. Built with OpenSSL directly. */
static void test_read_foreign(void **state)
{
    X509_REQ *r = X509_REQ_new();
    X509_NAME *n = X509_NAME_new();
    char *t = (char *)1, **names = NULL;
    size_t cnt = 9;

    (void)state;
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)"plain.contoso.net", -1,
                               -1, 0);
    X509_REQ_set_subject_name(r, n);
    X509_REQ_set_pubkey(r, ec_key);
    assert_true(X509_REQ_sign(r, ec_key, EVP_sha256()) > 0);
    assert_int_equal(cscert_csr_template_name(&t, r), CSCERT_ENOTFOUND);
    assert_null(t);
    assert_int_equal(cscert_csr_names(&names, &cnt, r), CSCERT_OK);
    assert_int_equal(cnt, 1);
    assert_string_equal(names[0], "plain.contoso.net");
    cscert_x509_names_free(names);
    X509_NAME_free(n);
    X509_REQ_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_parse),
        cmocka_unit_test(test_country),
        cmocka_unit_test(test_build_rsa_full),
        cmocka_unit_test(test_build_ec_client_template),
        cmocka_unit_test(test_build_every_hash),
        cmocka_unit_test(test_template_names),
        cmocka_unit_test(test_subject_hostile),
        cmocka_unit_test(test_dns_hostile),
        cmocka_unit_test(test_build_misuse),
        cmocka_unit_test(test_pem_der),
        cmocka_unit_test(test_der_readers),
        cmocka_unit_test(test_der_mutations),
        cmocka_unit_test(test_read_foreign),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
