/* test_enroll.c: the EST client's pure parts: Retry-After (seconds and
 * HTTP-date, hostile values), SHA-256 fingerprint input, decoding an EST
 * certs-only answer (base64 with and without line breaks, PEM armour, raw
 * DER; garbage, truncation, a certificate instead of a PKCS#7), the
 * translation of HTTP statuses into errors, which refusals are
 * definitive, the pending note, and locating a CA that the topology does
 * not register. The network half is covered by tests/e2e/t_online.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <openssl/bio.h>

#include "cscert/enroll.h"
#include "cscert/topology.h"
#include "pki_fixture.h"

static void test_retry_after(void **state)
{
    static const struct { const char *in; time_t now; int rc; long want; } rows[] = {
        { "60", 0, CSCERT_OK, 60 },
        { " 120 ", 0, CSCERT_OK, 120 },
        { "0", 0, CSCERT_OK, 0 },
        { "999999999", 0, CSCERT_OK, CSCERT_ENROLL_RETRY_AFTER_MAX },        /* clamped */
        { "99999999999999999999999", 0, CSCERT_OK, CSCERT_ENROLL_RETRY_AFTER_MAX },
        /* RFC 9110 IMF-fixdate, 90 s after "now" */
        { "Sun, 22 Nov 2026 19:01:30 GMT", 1795374000, CSCERT_OK, 90 },
        /* a date in the past: ask now */
        { "Sun, 22 Nov 2026 18:00:00 GMT", 1795374000, CSCERT_OK, 0 },
        { "", 0, CSCERT_EINVAL, 0 },
        { "soon", 0, CSCERT_EINVAL, 0 },
        { "60s", 0, CSCERT_EINVAL, 0 },
        { "-5", 0, CSCERT_EINVAL, 0 },
        { "12 34", 0, CSCERT_EINVAL, 0 },
    };
    size_t i;
    long v;

    (void)state;
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int rc = cscert_enroll__retry_after(&v, rows[i].in, rows[i].now);

        if (rc != rows[i].rc || (rc == CSCERT_OK && v != rows[i].want))
            fail_msg("row %zu '%s': rc %d v %ld", i, rows[i].in, rc, v);
        if (rc < 0)
            assert_non_null(strstr(cscert_error_last(), "Retry-After"));
    }
    assert_int_equal(cscert_enroll__retry_after(&v, NULL, 0), CSCERT_EINVAL);
}

static void test_fingerprint(void **state)
{
    const char *hex = "9F2AFDFE5B11F2C58369FDE6E347B1CC1C7BDDB2136E90E7D97CF40EDED2F648";
    char out[65];

    (void)state;
    assert_int_equal(cscert_enroll__fingerprint_normalize(out, hex), CSCERT_OK);
    assert_string_equal(out, hex);
    assert_int_equal(cscert_enroll__fingerprint_normalize(out,
        "9f:2a:fd:fe:5b:11:f2:c5:83:69:fd:e6:e3:47:b1:cc:1c:7b:dd:b2:13:6e:90:e7:d9:7c:f4:0e:de:d2:f6:48"), CSCERT_OK);
    assert_string_equal(out, hex);
    assert_int_equal(cscert_enroll__fingerprint_normalize(out,
        "9F2A FDFE 5B11 F2C5 8369 FDE6 E347 B1CC 1C7B DDB2 136E 90E7 D97C F40E DED2 F648"), CSCERT_OK);
    assert_string_equal(out, hex);
    /* hostile rows */
    assert_int_equal(cscert_enroll__fingerprint_normalize(out, "9F2A"), CSCERT_EINVAL);          /* short */
    assert_non_null(strstr(cscert_error_last(), "--fingerprint"));
    assert_string_equal(out, "");
    assert_int_equal(cscert_enroll__fingerprint_normalize(out, "00" "9F2AFDFE5B11F2C58369FDE6E347B1CC1C7BDDB2136E90E7D97CF40EDED2F648"),
                     CSCERT_EINVAL);                                                            /* long */
    assert_int_equal(cscert_enroll__fingerprint_normalize(out, "ZZ2AFDFE5B11F2C58369FDE6E347B1CC1C7BDDB2136E90E7D97CF40EDED2F648"),
                     CSCERT_EINVAL);                                                            /* not hex */
    /* a SHA-1 thumbprint is not a SHA-256 */
    assert_int_equal(cscert_enroll__fingerprint_normalize(out, "50CB2C8E32D31F7FADD12AC7E26F2BA122494E35"), CSCERT_EINVAL);
    assert_int_equal(cscert_enroll__fingerprint_normalize(out, NULL), CSCERT_EINVAL);
}

static char *b64(const unsigned char *der, size_t len, int lines)
{
    BIO *b = BIO_new(BIO_f_base64()), *m = BIO_new(BIO_s_mem());
    size_t n;

    if (!lines)
        BIO_set_flags(b, BIO_FLAGS_BASE64_NO_NL);
    b = BIO_push(b, m);
    assert_int_equal(BIO_write(b, der, (int)len), (int)len);
    assert_int_equal(BIO_flush(b), 1);
    BIO_pop(b);
    BIO_free(b);
    return (char *)pki_bio_take(m, &n);
}

static void test_decode_certs(void **state)
{
    struct pki p;
    EVP_PKEY *k = pki_key();
    X509 *leaf, *xs[3];
    unsigned char *p7der, *p7pem, *der = NULL, *certder;
    size_t p7len, pemlen, der_len, certlen;
    char *one, *lines, *armour;
    STACK_OF(X509) *certs = NULL;

    (void)state;
    pki_init(&p);
    leaf = pki_cert(k, "fe01.contoso.net", p.ica, p.ica_key, "DNS:fe01.contoso.net", 0, -1, 30);
    xs[0] = leaf;
    xs[1] = p.ica;
    xs[2] = p.root;
    p7der = pki_p7(xs, 3, 0, &p7len);
    p7pem = pki_p7(xs, 3, 1, &pemlen);
    one = b64(p7der, p7len, 0);
    lines = b64(p7der, p7len, 1);
    armour = (char *)p7pem;

    /* base64 on one line, with line breaks, PEM armour, raw DER: the same
     * three certificates in order, and the same DER. */
    {
        const char *bodies[] = { one, lines, armour };
        size_t lens[] = { strlen(one), strlen(lines), pemlen };
        size_t i;

        for (i = 0; i < 3; i++) {
            assert_int_equal(cscert_enroll__decode_certs(&der, &der_len, &certs, bodies[i], lens[i]), CSCERT_OK);
            assert_int_equal(sk_X509_num(certs), 3);
            assert_int_equal(X509_cmp(sk_X509_value(certs, 0), leaf), 0);
            assert_int_equal(X509_cmp(sk_X509_value(certs, 2), p.root), 0);
            assert_int_equal(der_len, p7len);
            assert_memory_equal(der, p7der, p7len);
            OPENSSL_free(der);
            sk_X509_pop_free(certs, X509_free);
        }
    }
    assert_int_equal(cscert_enroll__decode_certs(&der, &der_len, &certs, (char *)p7der, p7len), CSCERT_OK);
    assert_int_equal(sk_X509_num(certs), 3);
    OPENSSL_free(der);
    sk_X509_pop_free(certs, X509_free);

    /* hostile rows: nothing returned, a message naming the CA's answer */
    assert_int_equal(cscert_enroll__decode_certs(&der, &der_len, &certs, "", 0), CSCERT_EINVAL);
    assert_int_equal(cscert_enroll__decode_certs(&der, &der_len, &certs, "not base64 at all!!", 19), CSCERT_EINVAL);
    assert_null(der);
    assert_null(certs);
    assert_non_null(strstr(cscert_error_last(), "the CA's answer"));
    one[strlen(one) / 2] = '\0'; /* truncated */
    assert_int_equal(cscert_enroll__decode_certs(&der, &der_len, &certs, one, strlen(one)), CSCERT_EINVAL);
    assert_int_equal(cscert_enroll__decode_certs(&der, &der_len, &certs, "-----BEGIN PKCS7-----\nAAAA", 26),
                     CSCERT_EINVAL); /* armour without its end */
    certder = pki_der(leaf, &certlen); /* a certificate, not a PKCS#7 */
    free(one);
    one = b64(certder, certlen, 0);
    assert_int_equal(cscert_enroll__decode_certs(&der, &der_len, &certs, one, strlen(one)), CSCERT_EINVAL);
    {
        char *big = malloc(CSCERT_ENROLL_MAX_BODY + 2);

        memset(big, 'A', CSCERT_ENROLL_MAX_BODY + 1);
        big[CSCERT_ENROLL_MAX_BODY + 1] = '\0';
        assert_int_equal(cscert_enroll__decode_certs(&der, &der_len, &certs, big, CSCERT_ENROLL_MAX_BODY + 1),
                         CSCERT_EINVAL);
        free(big);
    }
    OPENSSL_free(certder);
    free(one);
    free(lines);
    OPENSSL_free(p7der);
    OPENSSL_free(p7pem);
    X509_free(leaf);
    EVP_PKEY_free(k);
    pki_free(&p);
}

static void test_status_errors(void **state)
{
    const char *ca = "dc01.contoso.net\\contoso-DC01-CA", *url = "https://dc01.contoso.net:8443/.well-known/est/X/simpleenroll";

    (void)state;
    assert_int_equal(cscert_enroll__status_error(401, "bad credentials\n", ca, "WebServer", "fe01", url), CSCERT_EAUTH);
    assert_non_null(strstr(cscert_error_last(), "wrong credentials for account 'fe01' at CA dc01.contoso.net"));
    assert_non_null(strstr(cscert_error_last(), "--ca-password-file"));
    assert_int_equal(cscert_enroll__status_error(401, "", ca, "WebServer", NULL, url), CSCERT_EAUTH);
    assert_non_null(strstr(cscert_error_last(), "--ca-account"));
    assert_int_equal(cscert_enroll__status_error(403,
        "no Enroll permission on template 'WebServer' (groups with Enroll: RTCUniversalServerAdmins)", ca,
        "WebServer", "guest", url), CSCERT_EPOLICY);
    assert_non_null(strstr(cscert_error_last(), "template 'WebServer'"));
    assert_non_null(strstr(cscert_error_last(), "RTCUniversalServerAdmins"));
    assert_int_equal(cscert_enroll__status_error(404, "", ca, "NoSuch", "fe01", url), CSCERT_ENOTFOUND);
    assert_non_null(strstr(cscert_error_last(), "template 'NoSuch' is not known"));
    assert_int_equal(cscert_enroll__status_error(400, "x", ca, NULL, NULL, url), CSCERT_EINVAL);
    assert_int_equal(cscert_enroll__status_error(415, "x", ca, NULL, NULL, url), CSCERT_EINVAL);
    assert_int_equal(cscert_enroll__status_error(413, "x", ca, NULL, NULL, url), CSCERT_EPOLICY);
    assert_int_equal(cscert_enroll__status_error(429, "5 failed logins from this address", ca, NULL, "fe01", url),
                     CSCERT_EAUTH);
    assert_non_null(strstr(cscert_error_last(), "account 'fe01'"));
    assert_non_null(strstr(cscert_error_last(), "5 failed logins"));
    assert_non_null(strstr(cscert_error_last(), "cscert request resume"));
    assert_false(cscert_enroll__definitive(429, 0)); /* the pending key stays for resume */
    assert_int_equal(cscert_enroll__status_error(500, "x", ca, NULL, NULL, url), CSCERT_EIO);
    assert_int_equal(cscert_enroll__status_error(302, "x", ca, NULL, NULL, url), CSCERT_EIO);
    /* hostile CA text: control characters never reach the terminal, and
     * it is capped */
    {
        char body[2000];

        memset(body, 'x', sizeof(body) - 1);
        body[sizeof(body) - 1] = '\0';
        memcpy(body, "\033[2J\r\nspoof", 11);
        cscert_enroll__status_error(403, body, ca, "WebServer", "fe01", url);
        assert_null(strchr(cscert_error_last(), '\033'));
        assert_null(strchr(cscert_error_last(), '\n'));
        assert_true(strlen(cscert_error_last()) < 1000);
    }
    /* which answers end the request for good */
    assert_true(cscert_enroll__definitive(403, 0));
    assert_false(cscert_enroll__definitive(400, 1)); /* resume: the CA queued it; only cancel drops it */
    assert_false(cscert_enroll__definitive(403, 1));
    assert_false(cscert_enroll__definitive(404, 1));
    assert_true(cscert_enroll__definitive(404, 0));
    assert_true(cscert_enroll__definitive(401, 0));
    assert_false(cscert_enroll__definitive(401, 1)); /* resume: our credentials, the CA's entry stays */
    assert_false(cscert_enroll__definitive(500, 0));
    assert_false(cscert_enroll__definitive(503, 1));
}

static void test_note(void **state)
{
    cscert_enroll_note n;

    (void)state;
    assert_int_equal(cscert_enroll_note_parse(&n,
        "{\"url\":\"https://h/.well-known/est/Manual/simpleenroll\",\"account\":\"fe01\",\"retry_at\":\"2026-11-22T19:00:00Z\",\"ca_says\":\"pending\"}"),
        CSCERT_OK);
    assert_string_equal(n.account, "fe01");
    assert_string_equal(n.retry_at, "2026-11-22T19:00:00Z");
    assert_string_equal(n.text, "pending");
    assert_int_equal(cscert_enroll_note_parse(&n, "written by hand"), CSCERT_EINVAL);
    assert_int_equal(cscert_enroll_note_parse(&n, "[1,2]"), CSCERT_EINVAL);
    assert_int_equal(cscert_enroll_note_parse(&n, NULL), CSCERT_EINVAL);
    assert_int_equal(cscert_enroll_note_parse(&n, "{\"account\": 5}"), CSCERT_OK);
    assert_string_equal(n.account, "");
}

static void test_locate_unregistered(void **state)
{
    struct home h;
    cscert_enroll_ca *ca = NULL;

    (void)state;
    home_open(&h);
    /* No topology: the name's host on 443. */
    assert_int_equal(cscert_enroll_ca_locate(&ca, h.st, "DC01.contoso.net\\contoso-DC01-CA"), CSCERT_OK);
    assert_string_equal(ca->host, "dc01.contoso.net");
    assert_int_equal(ca->port, 443);
    assert_string_equal(ca->base, "https://dc01.contoso.net/.well-known/est");
    assert_false(ca->registered);
    assert_null(ca->address);
    cscert_enroll_ca_free(ca);
    ca = NULL;
    /* hostile names */
    assert_int_equal(cscert_enroll_ca_locate(&ca, h.st, "dc01.contoso.net"), CSCERT_EINVAL);
    assert_non_null(strstr(cscert_error_last(), "FQDN\\Instance"));
    assert_int_equal(cscert_enroll_ca_locate(&ca, h.st, "\\Instance"), CSCERT_EINVAL);
    assert_int_equal(cscert_enroll_ca_locate(&ca, h.st, "dc01.contoso.net\\"), CSCERT_EINVAL);
    assert_int_equal(cscert_enroll_ca_locate(&ca, h.st, "bad host!\\X"), CSCERT_EINVAL);
    assert_int_equal(cscert_enroll_ca_locate(&ca, h.st, NULL), CSCERT_EINVAL);
    assert_null(ca);
    cscert_enroll_ca_free(NULL);
    home_close(&h);
}

static void test_locate_registered(void **state)
{
    struct home h;
    cscert_enroll_ca *ca = NULL;
    cscert_enroll_ca **v = NULL;
    size_t n = 0;
    const char *topo =
        "{\"sip_domains\":[\"contoso.com\"],\"simple_urls\":{\"meet\":[\"meet.contoso.com\"],\"dialin\":\"dialin.contoso.com\"},\"certification_authorities\":["
        "{\"name\":\"dc01.contoso.net\\\\contoso-DC01-CA\",\"url\":\"https://ca.contoso.net:8443/\",\"address\":\"127.0.0.1\"},"
        "{\"name\":\"dc02.contoso.net\\\\Two\",\"url\":\"https://dc02.contoso.net/pki/.well-known/est/\"}],"
        "\"sites\":[{\"name\":\"S\",\"pools\":[{\"fqdn\":\"pool01.contoso.net\",\"role\":\"FrontEnd\","
        "\"servers\":[\"fe01.contoso.net\"],\"web_services\":{\"internal\":\"web.contoso.net\",\"external\":\"web.contoso.com\"}}]}]}";

    (void)state;
    home_open(&h);
    if (cscert_topology_publish(h.st, topo, strlen(topo), "t.json", "fe01.contoso.net") != CSCERT_OK)
        fail_msg("%s", cscert_error_last());
    assert_int_equal(cscert_enroll_ca_locate(&ca, h.st, "DC01.CONTOSO.NET\\contoso-dc01-ca"), CSCERT_OK);
    assert_true(ca->registered);
    assert_string_equal(ca->host, "ca.contoso.net");     /* the URL's host, not the name's */
    assert_int_equal(ca->port, 8443);
    assert_string_equal(ca->address, "127.0.0.1");
    assert_string_equal(ca->base, "https://ca.contoso.net:8443/.well-known/est");
    cscert_enroll_ca_free(ca);
    assert_int_equal(cscert_enroll_ca_list(&v, &n, h.st), CSCERT_OK);
    assert_int_equal(n, 2);
    assert_string_equal(v[1]->base, "https://dc02.contoso.net/pki/.well-known/est"); /* not doubled */
    cscert_enroll_cas_free(v, n);
    home_close(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_fingerprint),
        cmocka_unit_test(test_decode_certs),
        cmocka_unit_test(test_status_errors),
        cmocka_unit_test(test_note),
        cmocka_unit_test(test_locate_unregistered),
        cmocka_unit_test(test_locate_registered),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
