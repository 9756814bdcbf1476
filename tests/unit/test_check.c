/* test_check.c: the findings of `cscert check`: unassigned uses, a
 * missing certificate or key, an untrusted chain (which link), expiry
 * and its horizon, each missing name on its own with the fixing command,
 * weak RSA and SHA-1 warnings, a missing Server Authentication EKU, the
 * Edge role's uses; and that check never writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "cscert/assign.h"
#include "cscert/certinfo.h"
#include "cscert/check.h"
#include "pki_fixture.h"

static const char topo_json[] =
    "{ \"sip_domains\": [\"contoso.com\", \"fabrikam.com\"],"
    "  \"simple_urls\": { \"meet\": [\"meet.contoso.com\", \"meet.fabrikam.com\"],"
    "                   \"dialin\": \"dialin.contoso.com\", \"admin\": \"admin.contoso.com\" },"
    "  \"automatic_sign_in_domains\": [\"contoso.com\"],"
    "  \"sites\": [ { \"name\": \"Redmond\", \"pools\": ["
    "    { \"fqdn\": \"pool01.contoso.net\", \"role\": \"FrontEnd\","
    "      \"servers\": [\"fe01.contoso.net\", \"fe02.contoso.net\"],"
    "      \"web_services\": { \"internal\": \"webpool01.contoso.net\", \"external\": \"webpool01.contoso.com\" } },"
    "    { \"fqdn\": \"edgepool01.contoso.net\", \"role\": \"Edge\", \"servers\": [\"edge01.contoso.net\"],"
    "      \"edge\": { \"access\": \"sip.contoso.com\", \"webconf\": \"webconf.contoso.com\", \"av\": \"av.contoso.com\" } }"
    "  ] } ] }";

#define FE_USES "Default,WebServicesInternal,WebServicesExternal,OAuthTokenIssuer"

static void silence(const char *m, void *u)
{
    (void)m;
    (void)u;
}

struct fx {
    struct pki p;
    struct home h;
    EVP_PKEY *k;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    pki_init(&f->p);
    home_open(&f->h);
    f->k = pki_key();
    assert_int_equal(cscert_store_set_setting(f->h.st, "topology", topo_json), CSCERT_OK);
    assert_int_equal(cscert_store_set_setting(f->h.st, "computer_fqdn", "fe01.contoso.net"), CSCERT_OK);
    assert_int_equal(cscert_store_put_cert(NULL, f->h.st, CSCERT_STORE_ROOT, f->p.root, NULL, 0), CSCERT_OK);
    assert_int_equal(cscert_store_put_cert(NULL, f->h.st, CSCERT_STORE_CA, f->p.ica, NULL, 0), CSCERT_OK);
    cscert_set_warn_handler(silence, NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    EVP_PKEY_free(f->k);
    home_close(&f->h);
    pki_free(&f->p);
    free(f);
    return 0;
}


static void sans_for(char *out, size_t n, cscert_store *st, const char *uses, const char *drop1,
                     const char *drop2)
{
    char **u = NULL, **names = NULL;
    size_t nu = 0, nn = 0, i, j;

    out[0] = '\0';
    assert_int_equal(cscert_assign_parse_uses(&u, &nu, uses), CSCERT_OK);
    for (i = 0; i < nu; i++) {
        assert_int_equal(cscert__assign_required_names(&names, &nn, st, u[i]), CSCERT_OK);
        for (j = 0; j < nn; j++)
            if ((!drop1 || strcmp(names[j], drop1)) && (!drop2 || strcmp(names[j], drop2))
                && !listed(out, names[j]))
                snprintf(out + strlen(out), n - strlen(out), "%sDNS:%s", out[0] ? "," : "", names[j]);
        cscert_certinfo_names_free(names);
    }
    cscert_assign_uses_free(u);
}

/* Store a certificate (key k, signed by the ICA unless self-signed) and
 * assign it to `uses` directly (check must judge what set would refuse). */
static void assign_leaf(char thumb[41], struct fx *f, EVP_PKEY *k, const char *uses, const char *drop1,
                        const char *drop2, int with_key, long from, long to, const EVP_MD *md, int self)
{
    char sans[4096], **u = NULL;
    size_t nu = 0, i;
    int64_t kid = 0;
    cscert_assignment a;
    X509 *x;

    sans_for(sans, sizeof(sans), f->h.st, uses, drop1, drop2);
    x = self ? pki_cert_md(k, "pool01.contoso.net", NULL, k, sans, 0, from, to, md)
             : pki_cert_md(k, "pool01.contoso.net", f->p.ica, f->p.ica_key, sans, 0, from, to, md);
    if (with_key && cscert_store_find_key(&kid, f->h.st, k) != CSCERT_OK)
        assert_int_equal(cscert_store_put_key(&kid, f->h.st, k, 0), CSCERT_OK);
    assert_int_equal(cscert_store_put_cert(thumb, f->h.st, CSCERT_STORE_MY, x, NULL, with_key ? kid : 0), CSCERT_OK);
    assert_int_equal(cscert_assign_parse_uses(&u, &nu, uses), CSCERT_OK);
    for (i = 0; i < nu; i++) {
        memset(&a, 0, sizeof(a));
        snprintf(a.use, sizeof(a.use), "%s", u[i]);
        memcpy(a.thumbprint, thumb, 41);
        assert_int_equal(cscert_store_set_assignment(f->h.st, &a), CSCERT_OK);
    }
    cscert_assign_uses_free(u);
    X509_free(x);
    cscert_error_clear();
}

static size_t count(const cscert_finding *v, size_t n, const char *kind)
{
    size_t i, c = 0;

    for (i = 0; i < n; i++)
        c += !strcmp(v[i].kind, kind);
    return c;
}

static const cscert_finding *find(const cscert_finding *v, size_t n, const char *kind)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!strcmp(v[i].kind, kind))
            return &v[i];
    return NULL;
}

static void test_unassigned(void **state)
{
    struct fx *f = *state;
    cscert_finding *v = NULL;
    size_t n = 0;
    json_t *j;

    assert_int_equal(cscert_check_run(&v, &n, f->h.st, NULL), CSCERT_OK);
    assert_int_equal(n, 4);
    assert_int_equal(count(v, n, "unassigned"), 4);
    assert_string_equal(v[0].use, "Default");
    assert_non_null(strstr(v[0].fix, "cscert request --new --type Default"));
    j = cscert_findings_json(v, n);
    assert_true(json_is_false(json_object_get(j, "clean")));
    assert_int_equal(json_array_size(json_object_get(j, "findings")), 4);
    json_decref(j);
    cscert_findings_free(v, n);
}

static void test_clean_and_never_writes(void **state)
{
    struct fx *f = *state;
    cscert_finding *v = NULL;
    size_t n = 0, blen;
    char t[41];
    unsigned char *before;

    assign_leaf(t, f, f->k, FE_USES, NULL, NULL, 1, -1, 365, EVP_sha256(), 0);
    before = home_db_bytes(&f->h, &blen);
    assert_int_equal(cscert_check_run(&v, &n, f->h.st, NULL), CSCERT_OK);
    for (size_t i = 0; i < n; i++)
        print_message("unexpected: %s: %s\n", v[i].kind, v[i].message);
    assert_int_equal(n, 0);
    ASSERT_DB_UNCHANGED(&f->h, before, blen);
    free(before);
    cscert_findings_free(v, n);
}

static void test_missing_names_one_by_one(void **state)
{
    struct fx *f = *state;
    cscert_finding *v = NULL;
    size_t n = 0, i, seen = 0;
    char t[41];

    assign_leaf(t, f, f->k, FE_USES, "lyncdiscover.contoso.com", "meet.fabrikam.com", 1, -1, 365, EVP_sha256(), 0);
    assert_int_equal(cscert_check_run(&v, &n, f->h.st, NULL), CSCERT_OK);
    /* meet.fabrikam.com is required by WSI and WSE: one finding per use. */
    assert_int_equal(count(v, n, "missing-name"), 3);
    for (i = 0; i < n; i++) {
        if (strcmp(v[i].kind, "missing-name"))
            continue;
        assert_string_equal(v[i].thumbprint, t);
        assert_non_null(strstr(v[i].message, v[i].name));
        assert_non_null(strstr(v[i].fix, "cscert request --new --type Default,WebServicesInternal,WebServicesExternal,OAuthTokenIssuer"));
        if (!strcmp(v[i].name, "lyncdiscover.contoso.com")) {
            assert_string_equal(v[i].use, "WebServicesExternal");
            seen++;
        }
    }
    assert_int_equal(seen, 1);
    assert_int_equal(n, 3); /* nothing else is wrong */
    cscert_findings_free(v, n);
}

static void test_cert_problems(void **state)
{
    struct fx *f = *state;
    cscert_finding *v = NULL;
    const cscert_finding *x;
    size_t n = 0;
    char t1[41], t2[41], t3[41], t4[41];
    EVP_PKEY *rsa = EVP_RSA_gen(1024), *k3 = pki_key(), *k4 = pki_key();
    cscert_check_opts o = { .warn_days = 30 };

    assert_non_null(rsa);
    /* Default: expiring in 10 days, no key.  WSI: RSA 1024 + SHA-1.
     * WSE: self-signed (untrusted).  OAuth: expired. */
    assign_leaf(t1, f, f->k, "Default", NULL, NULL, 0, -1, 10, EVP_sha256(), 0);
    assign_leaf(t2, f, rsa, "WebServicesInternal", NULL, NULL, 1, -1, 365, EVP_sha1(), 0);
    assign_leaf(t3, f, k3, "WebServicesExternal", NULL, NULL, 1, -1, 365, EVP_sha256(), 1);
    assign_leaf(t4, f, k4, "OAuthTokenIssuer", NULL, NULL, 1, -20, -2, EVP_sha256(), 0);
    assert_int_equal(cscert_check_run(&v, &n, f->h.st, &o), CSCERT_OK);

    assert_non_null(x = find(v, n, "missing-key"));
    assert_string_equal(x->use, "Default");
    assert_non_null(x = find(v, n, "expiring"));
    assert_int_equal(x->severity, CSCERT_SEV_WARNING);
    assert_string_equal(x->thumbprint, t1);
    assert_non_null(x = find(v, n, "weak-key"));
    assert_non_null(strstr(x->message, "1024"));
    assert_int_equal(x->severity, CSCERT_SEV_WARNING);
    assert_non_null(find(v, n, "sha1-signature"));
    assert_non_null(x = find(v, n, "untrusted-chain"));
    assert_string_equal(x->use, "WebServicesExternal");
    assert_non_null(strstr(x->message, "depth 0"));
    assert_non_null(strstr(x->fix, "--store Root"));
    assert_non_null(x = find(v, n, "expired"));
    assert_string_equal(x->thumbprint, t4);
    assert_int_equal(x->severity, CSCERT_SEV_ERROR);
    assert_int_equal(count(v, n, "missing-name"), 0);
    cscert_findings_free(v, n);

    /* A wider horizon finds nothing more; a narrower one drops "expiring". */
    o.warn_days = 5;
    assert_int_equal(cscert_check_run(&v, &n, f->h.st, &o), CSCERT_OK);
    assert_null(find(v, n, "expiring"));
    cscert_findings_free(v, n);
    /* Pinned clock: 400 days on, everything has expired. */
    o.now = (long long)time(NULL) + 400LL * 86400;
    assert_int_equal(cscert_check_run(&v, &n, f->h.st, &o), CSCERT_OK);
    assert_int_equal(count(v, n, "expired"), 4);
    cscert_findings_free(v, n);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(k3);
    EVP_PKEY_free(k4);
}

static void test_missing_certificate_and_edge(void **state)
{
    struct fx *f = *state;
    cscert_finding *v = NULL;
    cscert_assignment a = { .use = "Default", .thumbprint = "0123456789ABCDEF0123456789ABCDEF01234567" };
    size_t n = 0, i;

    assert_int_equal(cscert_store_set_assignment(f->h.st, &a), CSCERT_OK);
    assert_int_equal(cscert_check_run(&v, &n, f->h.st, NULL), CSCERT_OK);
    assert_int_equal(count(v, n, "missing-certificate"), 1);
    assert_int_equal(count(v, n, "unassigned"), 3);
    cscert_findings_free(v, n);
    /* The Edge server needs the Edge uses (DESIGN clarifications). */
    assert_int_equal(cscert_store_set_setting(f->h.st, "computer_fqdn", "edge01.contoso.net"), CSCERT_OK);
    assert_int_equal(cscert_check_run(&v, &n, f->h.st, NULL), CSCERT_OK);
    assert_int_equal(count(v, n, "unassigned"), 4);
    for (i = 0; i < n; i++)
        assert_true(!strcmp(v[i].use, "Internal") || !strcmp(v[i].use, "AccessEdgeExternal")
                    || !strcmp(v[i].use, "DataEdgeExternal") || !strcmp(v[i].use, "AudioVideoAuthentication"));
    cscert_findings_free(v, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_unassigned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clean_and_never_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_names_one_by_one, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cert_problems, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_certificate_and_edge, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
