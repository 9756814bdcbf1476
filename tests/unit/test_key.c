/* test_key.c: R15's key types (every valid spec, hostile ones refused
 * with the value and the allowed set named, the rsa:1024 warning), key
 * generation (rsa:2048, ec:P-256; rsa:4096 stays out for speed), the
 * description, PKCS#8 round trip and its hostile inputs, and the SPKI
 * hash matching a private key to its public half. Judged with OpenSSL
 * calls, not with the code under test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "cscert/key.h"

static char warned[4096];

static void collect(const char *msg, void *ud)
{
    (void)ud;
    strncat(warned, msg, sizeof(warned) - strlen(warned) - 2);
    strcat(warned, "\n");
}

static int setup(void **state)
{
    (void)state;
    warned[0] = '\0';
    cscert_set_warn_handler(collect, NULL);
    return 0;
}

static void test_spec_valid(void **state)
{
    static const struct {
        const char *in;
        cscert_key_kind kind;
        int bits;
        const char *curve, *name;
        int warns;
    } rows[] = {
        { "rsa:1024", CSCERT_KEY_RSA, 1024, NULL, "rsa:1024", 1 },
        { "rsa:2048", CSCERT_KEY_RSA, 2048, NULL, "rsa:2048", 0 },
        { "RSA:2048", CSCERT_KEY_RSA, 2048, NULL, "rsa:2048", 0 },
        { "rsa:3072", CSCERT_KEY_RSA, 3072, NULL, "rsa:3072", 0 },
        { "rsa:4096", CSCERT_KEY_RSA, 4096, NULL, "rsa:4096", 0 },
        { NULL, CSCERT_KEY_RSA, 2048, NULL, "rsa:2048", 0 }, /* the default */
        { "ec:P-256", CSCERT_KEY_EC, 256, "P-256", "ec:P-256", 0 },
        { "ec:p-256", CSCERT_KEY_EC, 256, "P-256", "ec:P-256", 0 },
        { "EC:prime256v1", CSCERT_KEY_EC, 256, "P-256", "ec:P-256", 0 },
        { "ec:secp256r1", CSCERT_KEY_EC, 256, "P-256", "ec:P-256", 0 },
        { "ec:P-384", CSCERT_KEY_EC, 384, "P-384", "ec:P-384", 0 },
        { "ec:secp384r1", CSCERT_KEY_EC, 384, "P-384", "ec:P-384", 0 },
        { "ec:P-521", CSCERT_KEY_EC, 521, "P-521", "ec:P-521", 0 },
        { "ec:SECP521R1", CSCERT_KEY_EC, 521, "P-521", "ec:P-521", 0 },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        cscert_key_spec s;

        warned[0] = '\0';
        if (cscert_key_spec_parse(&s, rows[i].in) != CSCERT_OK)
            fail_msg("row %zu '%s': %s", i, rows[i].in ? rows[i].in : "(null)", cscert_error_last());
        assert_int_equal(s.kind, rows[i].kind);
        assert_int_equal(s.bits, rows[i].bits);
        assert_string_equal(s.name, rows[i].name);
        if (rows[i].curve)
            assert_string_equal(s.curve, rows[i].curve);
        else
            assert_null(s.curve);
        assert_string_equal(s.alg, rows[i].kind == CSCERT_KEY_RSA ? "RSA" : "EC");
        if (rows[i].warns)
            assert_non_null(strstr(warned, "'rsa:1024' is weak"));
        else
            assert_string_equal(warned, "");
    }
}

static void test_spec_hostile(void **state)
{
    static const char *rows[] = {
        "rsa:1000", "rsa:", "rsa", "rsa:512", "rsa:2047", "rsa:02048", "rsa:2048 ", " rsa:2048",
        "rsa:2048x", "rsa:-2048", "rsa:+2048", "rsa:20480", "rsa:99999999999999999999",
        "ec:P-192", "ec:P-224", "ec:", "ec", "ec:P256x", "ec:P-256 ", "ec:secp256k1",
        "ec:brainpoolP256r1", "ec:X25519", "dsa:2048", "ed25519", "ecdsa:P-256", "2048", "",
        ":", "rsa:2048\n", "rsa\xff:2048", "ec:P-2\xe2\x80\x8e" "56",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        cscert_key_spec s;

        memset(&s, 0x5a, sizeof(s));
        warned[0] = '\0';
        if (cscert_key_spec_parse(&s, rows[i]) != CSCERT_EINVAL)
            fail_msg("row %zu '%s' accepted", i, rows[i]);
        assert_int_equal(cscert_error_code(), CSCERT_EINVAL);
        /* the message names the allowed set */
        assert_non_null(strstr(cscert_error_last(), "rsa:2048"));
        assert_non_null(strstr(cscert_error_last(), "ec:P-521"));
        assert_int_equal(s.kind, 0); /* nothing half-filled */
        assert_null(s.alg);
        assert_string_equal(warned, "");
    }
    /* the value is quoted */
    cscert_key_spec s;
    assert_int_equal(cscert_key_spec_parse(&s, "rsa:1000"), CSCERT_EINVAL);
    assert_non_null(strstr(cscert_error_last(), "'rsa:1000'"));
    assert_int_equal(cscert_key_spec_parse(&s, "ec:P-192"), CSCERT_EINVAL);
    assert_non_null(strstr(cscert_error_last(), "'ec:P-192'"));
    assert_int_equal(cscert_key_spec_parse(&s, "dsa:2048"), CSCERT_EINVAL);
    assert_non_null(strstr(cscert_error_last(), "'dsa:2048'"));
    /* a control character is not echoed raw */
    assert_int_equal(cscert_key_spec_parse(&s, "rsa:2048\n"), CSCERT_EINVAL);
    assert_null(strchr(cscert_error_last(), '\n'));
}

/* A hand-made spec cannot slip past R15. */
static void test_generate_refuses_unparsed(void **state)
{
    cscert_key_spec s;
    EVP_PKEY *k = (EVP_PKEY *)1;

    (void)state;
    memset(&s, 0, sizeof(s));
    assert_int_equal(cscert_key_generate(&k, &s), CSCERT_EINVAL);
    assert_null(k);
    assert_int_equal(cscert_key_spec_parse(&s, "rsa:2048"), CSCERT_OK);
    s.bits = 512;
    assert_int_equal(cscert_key_generate(&k, &s), CSCERT_EINVAL);
    assert_null(k);
    assert_int_equal(cscert_key_generate(&k, NULL), CSCERT_EINVAL);
}

static void check_pkcs8_and_spki(EVP_PKEY *k)
{
    unsigned char *der = NULL, *pub = NULL, md[32];
    size_t len = 0;
    EVP_PKEY *back = NULL, *pubk = NULL;
    const unsigned char *p;
    char a[65], b[65], c[65], want[65];
    unsigned int mdlen = 0;
    int plen;

    /* PKCS#8 round trip: the same key (public and private halves) */
    assert_int_equal(cscert_key_to_pkcs8_der(&der, &len, k), CSCERT_OK);
    assert_non_null(der);
    assert_true(len > 64);
    /* OpenSSL reads it as a PrivateKeyInfo */
    p = der;
    PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)len);
    assert_non_null(p8);
    assert_ptr_equal(p, der + len);
    PKCS8_PRIV_KEY_INFO_free(p8);
    assert_int_equal(cscert_key_from_pkcs8_der(&back, der, len), CSCERT_OK);
    assert_int_equal(EVP_PKEY_eq(k, back), 1);
    /* private halves equal: re-encode and compare */
    {
        unsigned char *der2 = NULL;
        size_t len2 = 0;

        assert_int_equal(cscert_key_to_pkcs8_der(&der2, &len2, back), CSCERT_OK);
        assert_int_equal(len2, len);
        assert_memory_equal(der2, der, len);
        OPENSSL_clear_free(der2, len2);
    }
    /* SPKI SHA-256: private key, its copy, and the public half alone agree */
    assert_int_equal(cscert_key_spki_sha256(a, k), CSCERT_OK);
    assert_int_equal(cscert_key_spki_sha256(b, back), CSCERT_OK);
    plen = i2d_PUBKEY(k, &pub);
    assert_true(plen > 0);
    p = pub;
    pubk = d2i_PUBKEY(NULL, &p, plen);
    assert_non_null(pubk);
    assert_int_equal(cscert_key_spki_sha256(c, pubk), CSCERT_OK);
    assert_string_equal(a, b);
    assert_string_equal(a, c);
    assert_int_equal(strlen(a), 64);
    /* independently: sha256 of the DER SPKI, lower-case hex */
    assert_true(EVP_Digest(pub, (size_t)plen, md, &mdlen, EVP_sha256(), NULL));
    for (unsigned i = 0; i < mdlen; i++)
        snprintf(want + 2 * i, 3, "%02x", md[i]);
    assert_string_equal(a, want);
    OPENSSL_free(pub);
    EVP_PKEY_free(pubk);
    EVP_PKEY_free(back);
    OPENSSL_clear_free(der, len);
}

static void test_generate_rsa2048(void **state)
{
    cscert_key_spec s;
    EVP_PKEY *k = NULL;
    char d[32];
    BIGNUM *e = NULL;

    (void)state;
    assert_int_equal(cscert_key_spec_parse(&s, "rsa:2048"), CSCERT_OK);
    assert_int_equal(cscert_key_generate(&k, &s), CSCERT_OK);
    assert_non_null(k);
    assert_true(EVP_PKEY_is_a(k, "RSA"));
    assert_int_equal(EVP_PKEY_get_bits(k), 2048);
    assert_true(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e));
    assert_true(BN_is_word(e, 65537));
    BN_free(e);
    assert_int_equal(cscert_key_bits(k), 2048);
    assert_int_equal(cscert_key_describe(d, sizeof(d), k), CSCERT_OK);
    assert_string_equal(d, "RSA 2048");
    assert_int_equal(cscert_key_is_allowed(k), 1);
    /* too small a buffer is an error, not a truncation */
    assert_int_equal(cscert_key_describe(d, 4, k), CSCERT_EINVAL);
    assert_string_equal(d, "");
    check_pkcs8_and_spki(k);
    EVP_PKEY_free(k);
}

static void test_generate_ec(void **state)
{
    static const struct {
        const char *spec, *desc;
        int bits;
    } rows[] = {
        { "ec:P-256", "EC P-256", 256 },
        { "ec:P-384", "EC P-384", 384 },
        { "ec:P-521", "EC P-521", 521 },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        cscert_key_spec s;
        EVP_PKEY *k = NULL;
        char d[32], group[32];
        size_t gl = 0;

        assert_int_equal(cscert_key_spec_parse(&s, rows[i].spec), CSCERT_OK);
        assert_int_equal(cscert_key_generate(&k, &s), CSCERT_OK);
        assert_true(EVP_PKEY_is_a(k, "EC"));
        assert_true(EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                                   sizeof(group), &gl));
        assert_int_equal(OBJ_txt2nid(group) != NID_undef || OBJ_sn2nid(group) != NID_undef, 1);
        assert_int_equal(cscert_key_bits(k), rows[i].bits);
        assert_int_equal(cscert_key_describe(d, sizeof(d), k), CSCERT_OK);
        assert_string_equal(d, rows[i].desc);
        assert_int_equal(cscert_key_is_allowed(k), 1);
        check_pkcs8_and_spki(k);
        EVP_PKEY_free(k);
    }
}

/* Keys R15 does not allow are described but not allowed. */
static void test_describe_other(void **state)
{
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    EVP_PKEY *k1 = EVP_EC_gen("secp256k1");
    EVP_PKEY *pss = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA-PSS", NULL);
    char d[64];

    (void)state;
    assert_non_null(ctx);
    assert_true(EVP_PKEY_keygen_init(ctx) > 0);
    assert_true(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 1024) > 0);
    assert_true(EVP_PKEY_generate(ctx, &pss) > 0);
    EVP_PKEY_CTX_free(ctx);
    assert_non_null(ed);
    assert_non_null(k1);
    assert_non_null(pss);
    assert_int_equal(cscert_key_describe(d, sizeof(d), ed), CSCERT_OK);
    assert_string_equal(d, "ED25519 256");
    assert_int_equal(cscert_key_is_allowed(ed), 0);
    assert_int_equal(cscert_key_describe(d, sizeof(d), k1), CSCERT_OK);
    assert_string_equal(d, "EC secp256k1");
    assert_int_equal(cscert_key_is_allowed(k1), 0);
    assert_int_equal(cscert_key_describe(d, sizeof(d), pss), CSCERT_OK);
    assert_string_equal(d, "RSA-PSS 1024");
    assert_int_equal(cscert_key_is_allowed(pss), 0); /* R15: never PSS */
    assert_int_equal(cscert_key_is_allowed(NULL), 0);
    assert_int_equal(cscert_key_bits(NULL), 0);
    assert_int_equal(cscert_key_describe(d, sizeof(d), NULL), CSCERT_EINVAL);
    EVP_PKEY_free(ed);
    EVP_PKEY_free(k1);
    EVP_PKEY_free(pss);
}

static void test_pkcs8_hostile(void **state)
{
    EVP_PKEY *k = EVP_EC_gen("P-256"), *out = (EVP_PKEY *)1;
    unsigned char *der = NULL, *pub = NULL, *junk = NULL;
    size_t len = 0;
    int plen;

    (void)state;
    assert_non_null(k);
    assert_int_equal(cscert_key_to_pkcs8_der(&der, &len, k), CSCERT_OK);
    /* empty, truncated, trailing bytes, one byte flipped in the tag,
     * a public key, garbage */
    assert_int_equal(cscert_key_from_pkcs8_der(&out, NULL, 0), CSCERT_EINVAL);
    assert_null(out);
    assert_int_equal(cscert_key_from_pkcs8_der(&out, der, 0), CSCERT_EINVAL);
    assert_int_equal(cscert_key_from_pkcs8_der(&out, der, len - 1), CSCERT_EINVAL);
    assert_null(out);
    assert_int_equal(cscert_key_from_pkcs8_der(&out, der, len / 2), CSCERT_EINVAL);
    junk = OPENSSL_malloc(len + 3);
    memcpy(junk, der, len);
    memcpy(junk + len, "\x00\x00\x01", 3);
    assert_int_equal(cscert_key_from_pkcs8_der(&out, junk, len + 3), CSCERT_EINVAL);
    assert_null(out);
    assert_non_null(strstr(cscert_error_last(), "unexpected bytes"));
    memcpy(junk, der, len);
    junk[0] = 0x31; /* SET instead of SEQUENCE */
    assert_int_equal(cscert_key_from_pkcs8_der(&out, junk, len), CSCERT_EINVAL);
    OPENSSL_clear_free(junk, len + 3);
    plen = i2d_PUBKEY(k, &pub);
    assert_int_equal(cscert_key_from_pkcs8_der(&out, pub, (size_t)plen), CSCERT_EINVAL);
    assert_null(out);
    assert_int_equal(cscert_key_from_pkcs8_der(&out, (const unsigned char *)"hello, world", 12),
                     CSCERT_EINVAL);
    assert_null(out);
    /* NULL keys */
    assert_int_equal(cscert_key_to_pkcs8_der(&junk, &len, NULL), CSCERT_EINVAL);
    assert_null(junk);
    {
        char h[65];

        assert_int_equal(cscert_key_spki_sha256(h, NULL), CSCERT_EINVAL);
        assert_string_equal(h, "");
    }
    OPENSSL_free(pub);
    OPENSSL_clear_free(der, 0);
    EVP_PKEY_free(k);
}

/* Different keys, different SPKI hashes. */
static void test_spki_differs(void **state)
{
    EVP_PKEY *a = EVP_EC_gen("P-256"), *b = EVP_EC_gen("P-256");
    char ha[65], hb[65];

    (void)state;
    assert_int_equal(cscert_key_spki_sha256(ha, a), CSCERT_OK);
    assert_int_equal(cscert_key_spki_sha256(hb, b), CSCERT_OK);
    assert_string_not_equal(ha, hb);
    EVP_PKEY_free(a);
    EVP_PKEY_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_spec_valid, setup),
        cmocka_unit_test_setup(test_spec_hostile, setup),
        cmocka_unit_test(test_generate_refuses_unparsed),
        cmocka_unit_test(test_generate_rsa2048),
        cmocka_unit_test(test_generate_ec),
        cmocka_unit_test(test_describe_other),
        cmocka_unit_test(test_pkcs8_hostile),
        cmocka_unit_test(test_spki_differs),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
