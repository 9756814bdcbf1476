/* test_import.c: format detection (PEM, DER, PKCS#7 PEM/DER, PKCS#12,
 * and hostile input), matching a response to its pending key, where each
 * certificate goes, refusals that leave cscert.db byte-for-byte
 * unchanged, and PKCS#12 / PEM export. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "cscert/certinfo.h"
#include "cscert/import.h"
#include "cscert/x509.h"
#include "pki_fixture.h"

static void silence(const char *msg, void *ud)
{
    (void)msg;
    (void)ud;
}

/* Collects warnings so tests can assert what was said. */
static char warned[8192];
static void collect(const char *msg, void *ud)
{
    (void)ud;
    strncat(warned, msg, sizeof(warned) - strlen(warned) - 2);
    strcat(warned, "\n");
}

static void test_detect_formats(void **state)
{
    struct pki p;
    EVP_PKEY *k = pki_key();
    X509 *leaf, *chain[3];
    cscert_bundle *b = NULL;
    unsigned char *buf;
    size_t len;

    (void)state;
    pki_init(&p);
    leaf = pki_cert(k, "fe01.contoso.net", p.ica, p.ica_key, "DNS:fe01.contoso.net", 0, -1, 30);
    chain[0] = leaf;
    chain[1] = p.ica;
    chain[2] = p.root;

    static const struct { int kind; cscert_import_format want; int ncerts; } rows[] = {
        { 0, CSCERT_FMT_PEM, 1 },       /* PEM certificate */
        { 1, CSCERT_FMT_DER, 1 },       /* DER certificate */
        { 2, CSCERT_FMT_PEM, 3 },       /* PKCS#7 PEM with chain */
        { 3, CSCERT_FMT_PKCS7_DER, 3 }, /* PKCS#7 DER (.p7b) */
        { 4, CSCERT_FMT_PKCS12, 2 },    /* PKCS#12 with key and ICA */
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        switch (rows[i].kind) {
        case 0: buf = pki_pem(leaf, &len); break;
        case 1: buf = pki_der(leaf, &len); break;
        case 2: buf = pki_p7(chain, 3, 1, &len); break;
        case 3: buf = pki_p7(chain, 3, 0, &len); break;
        default: buf = pki_p12(k, leaf, p.ica, "s3cret", &len); break;
        }
        assert_int_equal(cscert_bundle_parse(&b, buf, len, "s3cret", "f"), CSCERT_OK);
        assert_int_equal(b->format, rows[i].want);
        assert_int_equal(sk_X509_num(b->certs), rows[i].ncerts);
        assert_int_equal(X509_cmp(sk_X509_value(b->certs, 0), leaf), 0);
        if (rows[i].kind == 4) {
            assert_non_null(b->key);
            assert_int_equal(EVP_PKEY_eq(b->key, k), 1);
            assert_string_equal(b->friendly_name, "test pfx");
        }
        cscert_bundle_free(b);
        b = NULL;
        OPENSSL_free(buf);
    }
    X509_free(leaf);
    EVP_PKEY_free(k);
    pki_free(&p);
}

static void test_hostile_input(void **state)
{
    struct pki p;
    EVP_PKEY *k = pki_key();
    X509 *leaf;
    cscert_bundle *b = NULL;
    unsigned char *der, *p12, big[64];
    size_t dlen, plen;
    static const char csr[] = "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n";
    static const char keypem[] = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n";
    static const char nopem[] = "-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n";

    (void)state;
    pki_init(&p);
    leaf = pki_cert(k, "fe01.contoso.net", p.ica, p.ica_key, NULL, 0, -1, 30);
    der = pki_der(leaf, &dlen);
    p12 = pki_p12(k, leaf, NULL, "right", &plen);
    memset(big, 'A', sizeof(big));

    /* garbage: names every format tried */
    assert_int_equal(cscert_bundle_parse(&b, big, sizeof(big), NULL, "junk.bin"), CSCERT_EINVAL);
    assert_non_null(strstr(cscert_error_last(), "junk.bin"));
    assert_non_null(strstr(cscert_error_last(), "tried PEM"));
    assert_non_null(strstr(cscert_error_last(), "PKCS#12"));
    /* truncated DER: says truncated, with both sizes */
    assert_int_equal(cscert_bundle_parse(&b, der, dlen / 2, NULL, "cut.cer"), CSCERT_EINVAL);
    assert_non_null(strstr(cscert_error_last(), "truncated DER"));
    /* one byte short */
    assert_int_equal(cscert_bundle_parse(&b, der, dlen - 1, NULL, "cut.cer"), CSCERT_EINVAL);
    assert_non_null(strstr(cscert_error_last(), "truncated"));
    /* empty */
    assert_int_equal(cscert_bundle_parse(&b, der, 0, NULL, "empty.cer"), CSCERT_EINVAL);
    assert_non_null(strstr(cscert_error_last(), "empty"));
    /* a request instead of the response */
    assert_int_equal(cscert_bundle_parse(&b, (const unsigned char *)csr, strlen(csr), NULL, "fe01.csr"),
                     CSCERT_EINVAL);
    assert_non_null(strstr(cscert_error_last(), "request"));
    assert_int_equal(cscert_bundle_parse(&b, (const unsigned char *)keypem, strlen(keypem), NULL, "k.pem"),
                     CSCERT_EINVAL);
    assert_non_null(strstr(cscert_error_last(), "private key"));
    assert_int_equal(cscert_bundle_parse(&b, (const unsigned char *)nopem, strlen(nopem), NULL, "foo.pem"),
                     CSCERT_EINVAL);
    assert_non_null(strstr(cscert_error_last(), "tried PEM"));
    /* PKCS#12: wrong password, no password, truncated */
    assert_int_equal(cscert_bundle_parse(&b, p12, plen, "wrong", "x.pfx"), CSCERT_EAUTH);
    assert_non_null(strstr(cscert_error_last(), "wrong password"));
    assert_int_equal(cscert_bundle_parse(&b, p12, plen, NULL, "x.pfx"), CSCERT_EAUTH);
    assert_non_null(strstr(cscert_error_last(), "--password-file"));
    assert_int_equal(cscert_bundle_parse(&b, p12, plen - 10, "right", "x.pfx"), CSCERT_EINVAL);
    assert_null(b);
    OPENSSL_free(der);
    OPENSSL_free(p12);
    X509_free(leaf);
    EVP_PKEY_free(k);
    pki_free(&p);
}

/* The whole response path: pending key -> certificate in My with it. */
static void test_response_matches_pending(void **state)
{
    struct pki p;
    struct home h;
    EVP_PKEY *k = pki_key(), *other = pki_key();
    X509 *leaf, *stray, *chain[3];
    cscert_import_opts o = { .store = CSCERT_STORE_ALL };
    cscert_import_result r;
    cscert_cert_rec *rec = NULL;
    cscert_pending *pend = NULL;
    unsigned char *buf, *before;
    size_t len, blen;
    int64_t id;
    char thumb[41];

    (void)state;
    pki_init(&p);
    home_open(&h);
    cscert_set_warn_handler(collect, NULL);
    id = pki_pending(h.st, k, "pool01.contoso.net,pool01.contoso.net,fe01.contoso.net,sip.contoso.com", 0);

    /* A response for a key nobody here holds: refused, store untouched,
     * and the message lists the pending request. */
    stray = pki_cert(other, "stray.contoso.net", p.ica, p.ica_key, "DNS:stray.contoso.net", 0, -1, 30);
    buf = pki_pem(stray, &len);
    before = home_db_bytes(&h, &blen);
    assert_int_equal(cscert_import_buffer(&r, h.st, buf, len, "stray.cer", &o), CSCERT_ENOTFOUND);
    assert_non_null(strstr(cscert_error_last(), "no pending request"));
    assert_non_null(strstr(cscert_error_last(), "pool01.contoso.net"));
    ASSERT_DB_UNCHANGED(&h, before, blen);
    free(before);
    OPENSSL_free(buf);

    /* The real response, as a .p7b with its chain; the CA dropped
     * sip.contoso.com and added extra.contoso.com. */
    leaf = pki_cert(k, "pool01.contoso.net", p.ica, p.ica_key,
                    "DNS:pool01.contoso.net,DNS:fe01.contoso.net,DNS:extra.contoso.com", 0, -1, 30);
    chain[0] = p.root;
    chain[1] = p.ica;
    chain[2] = leaf;
    buf = pki_p7(chain, 3, 0, &len);
    warned[0] = '\0';
    assert_int_equal(cscert_import_buffer(&r, h.st, buf, len, "resp.p7b", &o), CSCERT_OK);
    assert_int_equal(cscert_x509_thumbprint(thumb, leaf), CSCERT_OK);
    assert_string_equal(r.thumbprint, thumb);
    assert_int_equal(r.store, CSCERT_STORE_MY);
    assert_int_equal(r.pending_id, id);
    assert_true(r.has_key);
    assert_false(r.exportable);
    assert_int_equal(r.added, 2);          /* leaf + ICA; the root is not trusted implicitly */
    assert_int_equal(r.skipped_roots, 1);
    assert_false(r.chain_trusted);
    assert_true(r.names_differ);
    assert_non_null(strstr(warned, "dropped the requested name 'sip.contoso.com'"));
    assert_non_null(strstr(warned, "added the name 'extra.contoso.com'"));
    assert_non_null(strstr(warned, "--store Root"));
    assert_int_equal(cscert_store_get_pending(&pend, h.st, id), CSCERT_ENOTFOUND);
    assert_int_equal(cscert_store_get_cert(&rec, h.st, thumb), CSCERT_OK);
    assert_true(rec->key_id > 0);
    cscert_cert_rec_free(rec);

    /* Twice: harmless, says so, writes nothing. */
    before = home_db_bytes(&h, &blen);
    assert_int_equal(cscert_import_buffer(&r, h.st, buf, len, "resp.p7b", &o), CSCERT_OK);
    assert_true(r.already);
    assert_true(r.has_key);
    ASSERT_DB_UNCHANGED(&h, before, blen);
    free(before);
    OPENSSL_free(buf);

    /* The root: refused without --store Root, trusted with it. */
    buf = pki_der(p.root, &len);
    before = home_db_bytes(&h, &blen);
    assert_int_equal(cscert_import_buffer(&r, h.st, buf, len, "root.cer", &o), CSCERT_EPOLICY);
    assert_non_null(strstr(cscert_error_last(), "--store Root"));
    assert_non_null(strstr(cscert_error_last(), "SHA-256"));
    ASSERT_DB_UNCHANGED(&h, before, blen);
    free(before);
    o.store = CSCERT_STORE_MY; /* a CA certificate never goes to My */
    assert_int_equal(cscert_import_buffer(&r, h.st, buf, len, "root.cer", &o), CSCERT_EPOLICY);
    o.store = CSCERT_STORE_ROOT;
    assert_int_equal(cscert_import_buffer(&r, h.st, buf, len, "root.cer", &o), CSCERT_OK);
    assert_int_equal(r.store, CSCERT_STORE_ROOT);
    assert_true(r.chain_trusted);
    OPENSSL_free(buf);
    /* A leaf with --store Root is refused. */
    buf = pki_pem(leaf, &len);
    assert_int_equal(cscert_import_buffer(&r, h.st, buf, len, "leaf.cer", &o), CSCERT_EPOLICY);
    assert_non_null(strstr(cscert_error_last(), "not a CA certificate"));
    OPENSSL_free(buf);

    cscert_set_warn_handler(silence, NULL);
    X509_free(leaf);
    X509_free(stray);
    EVP_PKEY_free(k);
    EVP_PKEY_free(other);
    home_close(&h);
    pki_free(&p);
}

/* An EST answer must complete the request that was sent (expect_pending):
 * another pending request's certificate is refused before any write, and
 * both requests stay pending. */
static void test_expect_pending(void **state)
{
    struct pki p;
    struct home h;
    EVP_PKEY *k1 = pki_key(), *k2 = pki_key();
    X509 *c1, *chain[2];
    cscert_import_opts o = { .store = CSCERT_STORE_ALL };
    cscert_import_result r;
    cscert_pending *pend = NULL;
    unsigned char *buf, *before;
    size_t len, blen;
    int64_t id1, id2;

    (void)state;
    pki_init(&p);
    home_open(&h);
    id1 = pki_pending(h.st, k1, "a.contoso.net", 0);
    id2 = pki_pending(h.st, k2, "b.contoso.net", 0);
    c1 = pki_cert(k1, "a.contoso.net", p.ica, p.ica_key, "DNS:a.contoso.net", 0, -1, 30);
    buf = pki_pem(c1, &len);
    before = home_db_bytes(&h, &blen);
    o.expect_pending = id2;
    assert_int_equal(cscert_import_buffer(&r, h.st, buf, len, "answer", &o), CSCERT_EPOLICY);
    assert_non_null(strstr(cscert_error_last(), "does not carry the key of request"));
    assert_non_null(strstr(cscert_error_last(), "another pending request's"));
    ASSERT_DB_UNCHANGED(&h, before, blen);
    free(before);
    OPENSSL_free(buf);
    /* Only CA certificates: no end-entity certificate for the request. */
    chain[0] = p.ica;
    buf = pki_p7(chain, 1, 0, &len);
    before = home_db_bytes(&h, &blen);
    assert_int_equal(cscert_import_buffer(&r, h.st, buf, len, "answer", &o), CSCERT_EPOLICY);
    assert_non_null(strstr(cscert_error_last(), "no end-entity certificate"));
    ASSERT_DB_UNCHANGED(&h, before, blen);
    free(before);
    OPENSSL_free(buf);
    assert_int_equal(cscert_store_get_pending(&pend, h.st, id1), CSCERT_OK);
    cscert_pending_free(pend);
    assert_int_equal(cscert_store_get_pending(&pend, h.st, id2), CSCERT_OK);
    cscert_pending_free(pend);
    /* The right one goes in. */
    buf = pki_pem(c1, &len);
    o.expect_pending = id1;
    assert_int_equal(cscert_import_buffer(&r, h.st, buf, len, "answer", &o), CSCERT_OK);
    assert_int_equal(r.pending_id, id1);
    OPENSSL_free(buf);
    X509_free(c1);
    EVP_PKEY_free(k1);
    EVP_PKEY_free(k2);
    home_close(&h);
    pki_free(&p);
}

static void test_exportable_from_request(void **state)
{
    struct pki p;
    struct home h;
    EVP_PKEY *k1 = pki_key(), *k2 = pki_key();
    X509 *a, *b;
    cscert_import_opts o = { .store = CSCERT_STORE_ALL };
    cscert_import_result r;
    unsigned char *buf, *before;
    size_t len, blen;

    (void)state;
    pki_init(&p);
    home_open(&h);
    pki_pending(h.st, k1, "a.contoso.net", 1);
    pki_pending(h.st, k2, "b.contoso.net", 0);
    a = pki_cert(k1, "a.contoso.net", p.ica, p.ica_key, "DNS:a.contoso.net", 0, -1, 30);
    b = pki_cert(k2, "b.contoso.net", p.ica, p.ica_key, "DNS:b.contoso.net", 0, -1, 30);
    buf = pki_pem(a, &len);
    assert_int_equal(cscert_import_buffer(&r, h.st, buf, len, "a.cer", &o), CSCERT_OK);
    assert_true(r.exportable); /* R17: the request's flag */
    OPENSSL_free(buf);
    buf = pki_pem(b, &len);
    o.exportable = 1;          /* --private-key-exportable cannot make a non-exportable key exportable */
    before = home_db_bytes(&h, &blen);
    assert_int_equal(cscert_import_buffer(&r, h.st, buf, len, "b.cer", &o), CSCERT_EPOLICY);
    assert_non_null(strstr(cscert_error_last(), "was made non-exportable, and stays so"));
    ASSERT_DB_UNCHANGED(&h, before, blen);
    free(before);
    o.exportable = 0;
    assert_int_equal(cscert_import_buffer(&r, h.st, buf, len, "b.cer", &o), CSCERT_OK);
    assert_false(r.exportable);
    OPENSSL_free(buf);
    X509_free(a);
    X509_free(b);
    EVP_PKEY_free(k1);
    EVP_PKEY_free(k2);
    home_close(&h);
    pki_free(&p);
}

static void test_pkcs12_in_and_out(void **state)
{
    struct pki p;
    struct home h, h2;
    EVP_PKEY *k = pki_key(), *back = NULL;
    X509 *leaf, *x = NULL;
    STACK_OF(X509) *ca = NULL;
    cscert_import_opts o = { .store = CSCERT_STORE_ALL, .password = "pfx-pass" };
    cscert_import_result r;
    cscert_cert_rec *rec = NULL;
    PKCS12 *p12;
    const ASN1_OBJECT *mdoid = NULL;
    const X509_ALGOR *macalg = NULL;
    const unsigned char *q;
    unsigned char *buf, *out = NULL, *before;
    size_t len, olen = 0, blen;
    char path[160];
    struct stat sb;

    (void)state;
    pki_init(&p);
    home_open(&h);
    home_open(&h2);
    leaf = pki_cert(k, "edge.contoso.com", p.ica, p.ica_key, "DNS:edge.contoso.com", 0, -1, 30);
    buf = pki_p12(k, leaf, p.ica, "pfx-pass", &len);

    /* Wrong password: refused, nothing written. */
    o.password = "nope";
    before = home_db_bytes(&h, &blen);
    assert_int_equal(cscert_import_buffer(&r, h.st, buf, len, "e.pfx", &o), CSCERT_EAUTH);
    ASSERT_DB_UNCHANGED(&h, before, blen);
    free(before);
    /* Right password, not exportable by default. */
    o.password = "pfx-pass";
    assert_int_equal(cscert_import_buffer(&r, h.st, buf, len, "e.pfx", &o), CSCERT_OK);
    assert_true(r.has_key);
    assert_false(r.exportable);
    assert_int_equal(r.added, 2);
    /* Export refused for a non-exportable key, naming the flag. */
    assert_int_equal(cscert_export_pkcs12(&out, &olen, h.st, r.thumbprint, "x", 1), CSCERT_EPOLICY);
    assert_non_null(strstr(cscert_error_last(), "--private-key-exportable"));
    assert_null(out);
    OPENSSL_free(buf);

    /* Exportable in the second home: export, judge the PKCS#12. */
    buf = pki_p12(k, leaf, p.ica, "pfx-pass", &len);
    o.exportable = 1;
    assert_int_equal(cscert_import_buffer(&r, h2.st, buf, len, "e.pfx", &o), CSCERT_OK);
    assert_true(r.exportable);
    assert_int_equal(cscert_export_pkcs12(&out, &olen, h2.st, r.thumbprint, "", 1), CSCERT_EINVAL);
    assert_int_equal(cscert_export_pkcs12(&out, &olen, h2.st, r.thumbprint, "new-pass", 1), CSCERT_OK);
    q = out;
    p12 = d2i_PKCS12(NULL, &q, (long)olen);
    assert_non_null(p12);
    assert_false(PKCS12_verify_mac(p12, "wrong", -1));
    assert_true(PKCS12_verify_mac(p12, "new-pass", -1));
    PKCS12_get0_mac(NULL, &macalg, NULL, NULL, p12);
    X509_ALGOR_get0(&mdoid, NULL, NULL, macalg);
    assert_int_equal(OBJ_obj2nid(mdoid), NID_sha256);
    assert_true(PKCS12_parse(p12, "new-pass", &back, &x, &ca));
    assert_int_equal(EVP_PKEY_eq(back, k), 1);
    assert_int_equal(X509_cmp(x, leaf), 0);
    assert_int_equal(sk_X509_num(ca), 1); /* the ICA; no root in Root here */
    PKCS12_free(p12);
    OPENSSL_clear_free(out, olen);

    /* Files: 0600, never overwritten. */
    snprintf(path, sizeof(path), "%s/out.pfx", h2.dir);
    assert_int_equal(cscert_export_file(h2.st, r.thumbprint, path, CSCERT_EXPORT_PKCS12, "pw", 1), CSCERT_OK);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(cscert_export_file(h2.st, r.thumbprint, path, CSCERT_EXPORT_PEM, NULL, 1), CSCERT_EEXISTS);
    snprintf(path, sizeof(path), "%s/out.pem", h2.dir);
    assert_int_equal(cscert_export_file(h2.st, r.thumbprint, path, CSCERT_EXPORT_PEM, NULL, 1), CSCERT_OK);
    assert_int_equal(cscert_export_file(h2.st, "0000000000000000000000000000000000000000", "/tmp/none.pem",
                                        CSCERT_EXPORT_PEM, NULL, 1), CSCERT_ENOTFOUND);
    assert_int_equal(cscert_store_get_cert(&rec, h2.st, r.thumbprint), CSCERT_OK);
    assert_string_equal(rec->friendly_name, "test pfx");
    cscert_cert_rec_free(rec);

    OPENSSL_free(buf);
    EVP_PKEY_free(back);
    X509_free(x);
    sk_X509_pop_free(ca, X509_free);
    X509_free(leaf);
    EVP_PKEY_free(k);
    home_close(&h);
    home_close(&h2);
    pki_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect_formats),
        cmocka_unit_test(test_hostile_input),
        cmocka_unit_test(test_response_matches_pending),
        cmocka_unit_test(test_expect_pending),
        cmocka_unit_test(test_exportable_from_request),
        cmocka_unit_test(test_pkcs12_in_and_out),
    };

    cscert_set_warn_handler(silence, NULL);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
