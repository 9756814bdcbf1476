/* test_request.c: cscert_request_prepare, new and renewal. A new request
 * carries the topology's names for its uses; a renewal carries every name
 * of the certificates assigned to them (the ones the topology would not
 * give marked "carried over"), their key type, exportable flag and subject
 * O/C unless given, and is refused, naming the use, when nothing is
 * assigned, leaving the store byte-for-byte unchanged. The request is read
 * back with OpenSSL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <strings.h>

#include <cmocka.h>

#include "cscert/assign.h"
#include "cscert/csr.h"
#include "cscert/request.h"
#include "cscert/x509.h"
#include "pki_fixture.h"

static const char topo_json[] =
    "{ \"sip_domains\": [\"contoso.com\", \"fabrikam.com\"],"
    "  \"simple_urls\": { \"meet\": [\"meet.contoso.com\"], \"dialin\": \"dialin.contoso.com\" },"
    "  \"sites\": [ { \"name\": \"Redmond\", \"pools\": ["
    "    { \"fqdn\": \"pool01.contoso.net\", \"role\": \"FrontEnd\","
    "      \"servers\": [\"fe01.contoso.net\", \"fe02.contoso.net\"],"
    "      \"web_services\": { \"internal\": \"webpool01.contoso.net\", \"external\": \"webpool01.contoso.com\" } }"
    "  ] } ] }";

struct fx {
    struct pki p;
    struct home h;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    pki_init(&f->p);
    home_open(&f->h);
    assert_int_equal(cscert_store_set_setting(f->h.st, "topology", topo_json), CSCERT_OK);
    assert_int_equal(cscert_store_set_setting(f->h.st, "computer_fqdn", "fe01.contoso.net"), CSCERT_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    home_close(&f->h);
    pki_free(&f->p);
    free(f);
    return 0;
}

/* A certificate for key k with these SANs, subject O=Contoso, C=US, in My
 * with its key (exportable or not), assigned to Default. */
static void assigned(char thumb[41], struct fx *f, EVP_PKEY *k, const char *sans, int exportable)
{
    X509 *x = pki_cert(k, "pool01.contoso.net", f->p.ica, f->p.ica_key, sans, 0, -1, 365);
    cscert_assignment a;
    int64_t kid = 0;

    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "O", MBSTRING_UTF8, (const unsigned char *)"Contoso", -1,
                               -1, 0);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "C", MBSTRING_UTF8, (const unsigned char *)"US", -1, -1, 0);
    assert_true(X509_sign(x, f->p.ica_key, EVP_sha256()) > 0);
    assert_int_equal(cscert_store_put_key(&kid, f->h.st, k, exportable), CSCERT_OK);
    assert_int_equal(cscert_store_put_cert(thumb, f->h.st, CSCERT_STORE_MY, x, NULL, kid), CSCERT_OK);
    memset(&a, 0, sizeof(a));
    snprintf(a.use, sizeof(a.use), "Default");
    memcpy(a.thumbprint, thumb, 41);
    assert_int_equal(cscert_store_set_assignment(f->h.st, &a), CSCERT_OK);
    X509_free(x);
}

static int has_name(X509_REQ *r, const char *name)
{
    char **v = NULL;
    size_t n = 0, i;
    int found = 0;

    assert_int_equal(cscert_csr_names(&v, &n, r), CSCERT_OK);
    for (i = 0; i < n; i++)
        found |= strcasecmp(v[i], name) == 0;
    cscert_x509_names_free(v);
    return found;
}

static void test_new(void **state)
{
    struct fx *f = *state;
    cscert_request_opts o = { .types = "Default" };
    cscert_request *r = NULL;
    X509_REQ *req;

    assert_int_equal(cscert_request_prepare(&r, f->h.st, &o), CSCERT_OK);
    req = cscert_request_x509_req(r);
    assert_int_equal(X509_REQ_verify(req, X509_REQ_get0_pubkey(req)), 1);
    assert_true(has_name(req, "pool01.contoso.net") && has_name(req, "fe01.contoso.net"));
    assert_false(has_name(req, "sip.fabrikam.com"));
    assert_int_equal(EVP_PKEY_get_base_id(X509_REQ_get0_pubkey(req)), EVP_PKEY_RSA); /* the default */
    assert_null(cscert_request_renews(r));
    assert_null(cscert_request_carried(r));
    cscert_request_free(r);
}

static void test_renew_carries(void **state)
{
    struct fx *f = *state;
    EVP_PKEY *k = pki_key(); /* EC P-256 */
    cscert_request_opts o = { .types = "Default", .renew = 1 };
    cscert_request *r = NULL;
    X509_REQ *req;
    char thumb[41], o_field[64] = "";

    /* the old certificate lacks fe01.contoso.net, which the topology now requires */
    assigned(thumb, f, k, "DNS:pool01.contoso.net,DNS:sip.fabrikam.com,DNS:old.contoso.com", 1);
    assert_int_equal(cscert_request_prepare(&r, f->h.st, &o), CSCERT_OK);
    req = cscert_request_x509_req(r);
    assert_int_equal(X509_REQ_verify(req, X509_REQ_get0_pubkey(req)), 1);
    /* every old name, and the topology's, fe01 included */
    assert_true(has_name(req, "old.contoso.com") && has_name(req, "sip.fabrikam.com"));
    assert_true(has_name(req, "pool01.contoso.net") && has_name(req, "fe01.contoso.net"));
    assert_string_equal(cscert_request_renews(r), thumb);
    assert_string_equal(cscert_request_carried(r), "sip.fabrikam.com,old.contoso.com");
    /* a new key of the old type, exportable as the old one was */
    assert_int_equal(EVP_PKEY_get_base_id(X509_REQ_get0_pubkey(req)), EVP_PKEY_EC);
    assert_int_equal(EVP_PKEY_eq(X509_REQ_get0_pubkey(req), k), 0);
    assert_int_equal(cscert_request_exportable(r), 1);
    X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(req), NID_organizationName, o_field, sizeof(o_field));
    assert_string_equal(o_field, "Contoso");
    cscert_request_free(r);
    /* given options win: RSA, another organization */
    o.key_type = "rsa:3072";
    o.organization = "Fabrikam";
    assert_int_equal(cscert_request_prepare(&r, f->h.st, &o), CSCERT_OK);
    req = cscert_request_x509_req(r);
    assert_int_equal(EVP_PKEY_get_bits(X509_REQ_get0_pubkey(req)), 3072);
    X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(req), NID_organizationName, o_field, sizeof(o_field));
    assert_string_equal(o_field, "Fabrikam");
    cscert_request_free(r);
    EVP_PKEY_free(k);
}

static void test_renew_refusals(void **state)
{
    struct fx *f = *state;
    cscert_request_opts o = { .types = "WebServicesInternal", .renew = 1 };
    cscert_request *r = (cscert_request *)1;
    unsigned char *before;
    size_t blen;

    before = home_db_bytes(&f->h, &blen);
    assert_int_equal(cscert_request_prepare(&r, f->h.st, &o), CSCERT_ENOTFOUND);
    assert_null(r);
    assert_non_null(strstr(cscert_error_last(), "no certificate is assigned to 'WebServicesInternal'"));
    o.computer_fqdn = "fe02.contoso.net";
    assert_int_equal(cscert_request_prepare(&r, f->h.st, &o), CSCERT_EINVAL);
    assert_non_null(strstr(cscert_error_last(), "--computer-fqdn"));
    ASSERT_DB_UNCHANGED(&f->h, before, blen);
    free(before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_new, setup, teardown),
        cmocka_unit_test_setup_teardown(test_renew_carries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_renew_refusals, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
