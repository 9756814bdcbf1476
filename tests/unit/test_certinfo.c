/* test_certinfo.c: display forms (subject, serial, RFC 3339), the DNS
 * names and wildcard coverage, CA detection, chain status naming the
 * failing link, and the JSON details `cscert show` prints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cscert/certinfo.h"
#include "pki_fixture.h"

static void test_names_and_forms(void **state)
{
    EVP_PKEY *k = pki_key();
    X509 *x = pki_cert(k, "Pool01.Contoso.NET", NULL, k,
                       "DNS:Pool01.contoso.net,DNS:fe01.contoso.net,DNS:pool01.contoso.net,DNS:*.contoso.com,IP:127.0.0.1",
                       0, 0, 1);
    X509 *nosan = pki_cert(k, "only-cn.contoso.net", NULL, k, NULL, 0, 0, 1);
    char **v = NULL, *cn = NULL, *s = NULL, t[32];
    size_t n = 0;

    (void)state;
    assert_int_equal(cscert_certinfo_dns_names(&v, &n, &cn, x), CSCERT_OK);
    assert_int_equal(n, 3); /* lower-cased, de-duplicated, IP dropped */
    assert_string_equal(v[0], "pool01.contoso.net");
    assert_string_equal(v[1], "fe01.contoso.net");
    assert_string_equal(v[2], "*.contoso.com");
    assert_null(v[3]);
    assert_string_equal(cn, "pool01.contoso.net");
    /* RFC 6125: one label only, never the bare domain */
    static const struct { const char *name; int want; } rows[] = {
        { "FE01.contoso.net", 1 }, { "meet.contoso.com", 1 }, { "a.b.contoso.com", 0 },
        { "contoso.com", 0 }, { "fe02.contoso.net", 0 }, { "", 0 }, { "pool01.contoso.net.", 0 },
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        assert_int_equal(cscert_certinfo_covers(v, rows[i].name), rows[i].want);
    cscert_certinfo_names_free(v);
    free(cn);
    /* Without a SAN extension, the CN is the name. */
    assert_int_equal(cscert_certinfo_dns_names(&v, &n, NULL, nosan), CSCERT_OK);
    assert_int_equal(n, 1);
    assert_string_equal(v[0], "only-cn.contoso.net");
    cscert_certinfo_names_free(v);

    assert_int_equal(cscert_certinfo_name(&s, X509_get_subject_name(x)), CSCERT_OK);
    assert_string_equal(s, "CN=Pool01.Contoso.NET");
    free(s);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 0x1ABCDEF);
    assert_int_equal(cscert_certinfo_serial(&s, x), CSCERT_OK);
    assert_string_equal(s, "01ABCDEF");
    free(s);
    ASN1_TIME_set_string(X509_getm_notAfter(x), "20261122141529Z");
    assert_int_equal(cscert_certinfo_time(t, X509_get0_notAfter(x)), CSCERT_OK);
    assert_string_equal(t, "2026-11-22T14:15:29Z");
    X509_free(x);
    X509_free(nosan);
    EVP_PKEY_free(k);
}

/* A dNSName with a NUL inside is no name: "webpool01.contoso.net\0.evil.com"
 * must not cover webpool01.contoso.net (set and check would accept it). */
static void test_nul_in_name(void **state)
{
    EVP_PKEY *k = pki_key();
    X509 *x = pki_cert(k, "evil.com", NULL, k, NULL, 0, 0, 1);
    GENERAL_NAMES *gens = GENERAL_NAMES_new();
    GENERAL_NAME *g = GENERAL_NAME_new();
    ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
    char **v = NULL, *cn = NULL, *s = NULL;
    size_t n = 0;

    (void)state;
    assert_true(ASN1_STRING_set(ia5, "webpool01.contoso.net\0.evil.com", 32));
    GENERAL_NAME_set0_value(g, GEN_DNS, ia5);
    sk_GENERAL_NAME_push(gens, g);
    assert_true(X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT));
    GENERAL_NAMES_free(gens);
    assert_int_equal(cscert_certinfo_dns_names(&v, &n, &cn, x), CSCERT_OK);
    assert_int_equal(n, 0);
    assert_false(cscert_certinfo_covers(v, "webpool01.contoso.net"));
    cscert_certinfo_names_free(v);
    free(cn);
    /* An empty subject prints as "" (was memcpy from NULL: UB). */
    {
        X509_NAME *empty = X509_NAME_new();

        assert_int_equal(cscert_certinfo_name(&s, empty), CSCERT_OK);
        assert_string_equal(s, "");
        free(s);
        X509_NAME_free(empty);
    }
    X509_free(x);
    EVP_PKEY_free(k);
}

static void test_chain_status(void **state)
{
    struct pki p;
    struct home h;
    EVP_PKEY *k = pki_key();
    X509 *leaf;
    STACK_OF(X509) *extra = sk_X509_new_null();
    cscert_chain_status cs;
    int self = 0;

    (void)state;
    pki_init(&p);
    home_open(&h);
    leaf = pki_cert(k, "fe01.contoso.net", p.ica, p.ica_key, "DNS:fe01.contoso.net", 0, -1, 30);
    assert_true(cscert_certinfo_is_ca(p.root, &self));
    assert_true(self);
    assert_true(cscert_certinfo_is_ca(p.ica, &self));
    assert_false(self);
    assert_false(cscert_certinfo_is_ca(leaf, &self));

    /* Empty store: the leaf's issuer is missing; the message names it. */
    assert_int_equal(cscert_certinfo_chain(&cs, h.st, leaf, NULL), CSCERT_OK);
    assert_false(cs.trusted);
    assert_int_equal(cs.depth, 0);
    assert_string_equal(cs.issuer, "CN=Contoso Issuing CA");
    /* With the ICA given but no root: the failing link is the ICA. */
    sk_X509_push(extra, p.ica);
    assert_int_equal(cscert_certinfo_chain(&cs, h.st, leaf, extra), CSCERT_OK);
    assert_false(cs.trusted);
    assert_int_equal(cs.depth, 1);
    assert_string_equal(cs.subject, "CN=Contoso Issuing CA");
    assert_string_equal(cs.issuer, "CN=Contoso Root CA");
    /* Root in Root, ICA in CA: trusted, 3 long. */
    assert_int_equal(cscert_store_put_cert(NULL, h.st, CSCERT_STORE_ROOT, p.root, NULL, 0), CSCERT_OK);
    assert_int_equal(cscert_store_put_cert(NULL, h.st, CSCERT_STORE_CA, p.ica, NULL, 0), CSCERT_OK);
    assert_int_equal(cscert_certinfo_chain(&cs, h.st, leaf, NULL), CSCERT_OK);
    assert_true(cs.trusted);
    assert_int_equal(cs.length, 3);
    sk_X509_free(extra);
    X509_free(leaf);
    EVP_PKEY_free(k);
    home_close(&h);
    pki_free(&p);
}

static void test_json_details(void **state)
{
    struct pki p;
    struct home h;
    EVP_PKEY *k = pki_key();
    X509 *leaf;
    json_t *o = NULL;
    unsigned char sha1[20];
    unsigned int n = 0;
    char hex[41];

    (void)state;
    pki_init(&p);
    home_open(&h);
    leaf = pki_cert(k, "fe01.contoso.net", p.ica, p.ica_key, "DNS:fe01.contoso.net,DNS:meet.contoso.com", 0, -1, 30);
    pki_ext(leaf, p.ica, NID_crl_distribution_points, "URI:http://pki.contoso.com/ica.crl");
    X509_sign(leaf, p.ica_key, EVP_sha256());
    assert_int_equal(cscert_certinfo_json(&o, leaf, h.st), CSCERT_OK);
    assert_string_equal(json_string_value(json_object_get(o, "subject")), "CN=fe01.contoso.net");
    assert_string_equal(json_string_value(json_object_get(o, "issuer")), "CN=Contoso Issuing CA");
    assert_int_equal(json_array_size(json_object_get(o, "dns_names")), 2);
    assert_string_equal(json_string_value(json_object_get(json_object_get(o, "key"), "type")), "EC");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "key"), "bits")), 256);
    assert_string_equal(json_string_value(json_object_get(json_object_get(o, "key"), "curve")), "prime256v1");
    assert_string_equal(json_string_value(json_object_get(o, "signature_algorithm")), "ecdsa-with-SHA256");
    assert_string_equal(json_string_value(json_array_get(json_object_get(o, "eku"), 0)), "serverAuth");
    assert_int_equal(json_array_size(json_object_get(o, "key_usage")), 2);
    assert_true(json_is_false(json_object_get(json_object_get(o, "basic_constraints"), "ca")));
    assert_string_equal(json_string_value(json_array_get(json_object_get(o, "crl_distribution_points"), 0)),
                        "http://pki.contoso.com/ica.crl");
    X509_digest(leaf, EVP_sha1(), sha1, &n);
    for (unsigned i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02X", sha1[i]);
    assert_string_equal(json_string_value(json_object_get(o, "sha1")), hex);
    assert_int_equal(strlen(json_string_value(json_object_get(o, "sha256"))), 64);
    assert_true(json_is_false(json_object_get(json_object_get(o, "chain"), "trusted")));
    json_decref(o);
    X509_free(leaf);
    EVP_PKEY_free(k);
    home_close(&h);
    pki_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_and_forms),
        cmocka_unit_test(test_nul_in_name),
        cmocka_unit_test(test_chain_status),
        cmocka_unit_test(test_json_details),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
