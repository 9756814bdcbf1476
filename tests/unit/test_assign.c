/* test_assign.c: the assignment rules of `cscert set|get|remove`:
 * use parsing, dates, each refusal (no key, expired, untrusted, missing
 * names, wrong store, wrong role, separate certificates) leaving
 * cscert.db byte-for-byte unchanged, --force, --roll, remove and get. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cscert/assign.h"
#include "cscert/certinfo.h"
#include "cscert/x509.h"
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

static char warned[16384];
static void collect(const char *msg, void *ud)
{
    (void)ud;
    strncat(warned, msg, sizeof(warned) - strlen(warned) - 2);
    strcat(warned, "\n");
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
    warned[0] = '\0';
    cscert_set_warn_handler(collect, NULL);
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

/* "DNS:a,DNS:b" of every name the uses need here, minus `drop`. */

static void sans_for(char *out, size_t n, cscert_store *st, const char *uses, const char *drop)
{
    char **u = NULL, **names = NULL;
    size_t nu = 0, nn = 0, i, j;

    out[0] = '\0';
    assert_int_equal(cscert_assign_parse_uses(&u, &nu, uses), CSCERT_OK);
    for (i = 0; i < nu; i++) {
        assert_int_equal(cscert__assign_required_names(&names, &nn, st, u[i]), CSCERT_OK);
        for (j = 0; j < nn; j++) {
            if (drop && !strcmp(names[j], drop))
                continue;
            if (listed(out, names[j]))
                continue;
            snprintf(out + strlen(out), n - strlen(out), "%sDNS:%s", out[0] ? "," : "", names[j]);
        }
        cscert_certinfo_names_free(names);
    }
    cscert_assign_uses_free(u);
}

/* A certificate in My for the uses (with key unless nokey), dates given. */
static void put_leaf(char thumb[41], struct fx *f, const char *uses, const char *drop, int nokey,
                     long from, long to)
{
    char sans[4096];
    X509 *x;
    int64_t kid = 0;

    sans_for(sans, sizeof(sans), f->h.st, uses, drop);
    x = pki_cert(f->k, "pool01.contoso.net", f->p.ica, f->p.ica_key, sans, 0, from, to);
    if (!nokey && cscert_store_find_key(&kid, f->h.st, f->k) != CSCERT_OK)
        assert_int_equal(cscert_store_put_key(&kid, f->h.st, f->k, 0), CSCERT_OK);
    assert_int_equal(cscert_store_put_cert(thumb, f->h.st, CSCERT_STORE_MY, x, NULL, nokey ? 0 : kid), CSCERT_OK);
    X509_free(x);
    cscert_error_clear();
}

static void test_parse_uses(void **state)
{
    char **u = NULL;
    size_t n = 0;

    (void)state;
    assert_int_equal(cscert_assign_parse_uses(&u, &n, " default,WEBSERVICESINTERNAL , default,oauthtokenissuer"), CSCERT_OK);
    assert_int_equal(n, 3);
    assert_string_equal(u[0], "Default");
    assert_string_equal(u[1], "WebServicesInternal");
    assert_string_equal(u[2], "OAuthTokenIssuer");
    assert_null(u[3]);
    cscert_assign_uses_free(u);
    static const char *const bad[] = { "Bogus", "Default,Bogus", "", " , ", "Default;WebServicesInternal" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(cscert_assign_parse_uses(&u, &n, bad[i]), CSCERT_EINVAL);
        assert_null(u);
    }
    assert_int_equal(cscert_assign_parse_uses(&u, &n, "Default,Bogus"), CSCERT_EINVAL);
    assert_non_null(strstr(cscert_error_last(), "Bogus"));
}

static void test_parse_date(void **state)
{
    static const struct { const char *in, *out; } good[] = {
        { "2026-12-01", "2026-12-01T00:00:00Z" },
        { "2026-12-01T10:00:00Z", "2026-12-01T10:00:00Z" },
        { "2026-12-01T10:00:00+02:00", "2026-12-01T08:00:00Z" },
        { "2026-12-01T23:30:00-0130", "2026-12-02T01:00:00Z" },
        { "2026-12-01T10:00", "2026-12-01T10:00:00Z" },
        { "2026-12-01T10:00:00.123Z", "2026-12-01T10:00:00Z" },
    };
    static const char *const bad[] = { "", "tomorrow", "2026-13-01", "2026-12-01T25:00:00Z",
                                       "2026-12-01T10:00:00+25:00", "2026-12-01Tjunk", "2026-12-01Z junk" };
    char out[32];

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(cscert_assign_parse_date(out, good[i].in), CSCERT_OK);
        assert_string_equal(out, good[i].out);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(cscert_assign_parse_date(out, bad[i]), CSCERT_EINVAL);
}

static void test_required_names_bridge(void **state)
{
    struct fx *f = *state;
    char **names = NULL, **uses = NULL, *fix = NULL;
    size_t n = 0, nu = 0;

    /* R2: pool FQDN first, this server, sip.<automatic sign-in domain> */
    assert_int_equal(cscert__assign_required_names(&names, &n, f->h.st, "Default"), CSCERT_OK);
    assert_true(n >= 3);
    assert_string_equal(names[0], "pool01.contoso.net");
    assert_true(cscert_certinfo_covers(names, "fe01.contoso.net"));
    assert_true(cscert_certinfo_covers(names, "sip.contoso.com"));
    cscert_certinfo_names_free(names);
    assert_int_equal(cscert__assign_required_uses(&uses, &nu, f->h.st), CSCERT_OK);
    assert_int_equal(nu, 4); /* FrontEnd: Default, WSI, WSE, OAuthTokenIssuer */
    cscert_assign_uses_free(uses);
    assert_int_equal(cscert__assign_use_allowed(f->h.st, "ReverseProxy"), CSCERT_EPOLICY);
    assert_int_equal(cscert__assign_use_allowed(f->h.st, "AccessEdgeExternal"), CSCERT_EPOLICY);
    assert_non_null(strstr(cscert_error_last(), "FrontEnd"));
    assert_int_equal(cscert__assign_use_allowed(f->h.st, "WebServicesExternal"), CSCERT_OK);
    {
        const char *u[] = { "Default", "WebServicesExternal" };

        assert_int_equal(cscert__assign_fix_command(&fix, f->h.st, u, 2, 0), CSCERT_OK);
        assert_non_null(strstr(fix, "cscert request --new --type Default,WebServicesExternal"));
        free(fix);
        assert_int_equal(cscert__assign_fix_command(&fix, f->h.st, u, 2, 1), CSCERT_OK);
        assert_non_null(strstr(fix, "cscert request --renew --type Default,WebServicesExternal"));
        free(fix);
    }
}

static void test_set_refusals(void **state)
{
    struct fx *f = *state;
    char fit[41], nokey[41], expired[41], future[41], lacking[41], root[41];
    cscert_assign_opts o = { .types = "Default" };
    cscert_assignment a;
    unsigned char *before;
    size_t blen;

    put_leaf(fit, f, "Default", NULL, 0, -1, 300);
    put_leaf(lacking, f, "Default", "sip.contoso.com", 0, -1, 301);
    put_leaf(expired, f, "Default", NULL, 0, -30, -1);
    put_leaf(future, f, "Default", NULL, 0, 5, 300);
    {
        EVP_PKEY *k2 = pki_key(), *save = f->k;

        f->k = k2;
        put_leaf(nokey, f, "Default", NULL, 1, -1, 300);
        f->k = save;
        EVP_PKEY_free(k2);
    }
    assert_int_equal(cscert_x509_thumbprint(root, f->p.root), CSCERT_OK);

    before = home_db_bytes(&f->h, &blen);
    const struct { const char *types; const char *thumb; const char *msg; int code; } rows[] = {
        { "Default", nokey, "no private key", CSCERT_EPOLICY },
        { "Default", expired, "expired", CSCERT_EPOLICY },
        { "Default", future, "not valid before", CSCERT_EPOLICY },
        { "Default", lacking, "sip.contoso.com", CSCERT_EPOLICY },
        { "Default", root, "store Root", CSCERT_EPOLICY },
        { "ReverseProxy", fit, "ReverseProxy", CSCERT_EPOLICY },
        { "Internal", fit, "Internal", CSCERT_EPOLICY },
        { "Bogus", fit, "Bogus", CSCERT_EINVAL },
        { "Default", "0123456789abcdef0123456789abcdef01234567", "0123456789ABCDEF", CSCERT_ENOTFOUND },
        { "Default", "12 34", NULL, CSCERT_EINVAL }, /* x509.h's message */
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        o.types = rows[i].types;
        o.thumbprint = rows[i].thumb;
        assert_int_equal(cscert_assign_set(f->h.st, &o), rows[i].code);
        if (rows[i].msg && !strstr(cscert_error_last(), rows[i].msg) && !strstr(warned, rows[i].msg))
            fail_msg("row %zu: [%s] not in [%s] / [%s]", i, rows[i].msg, cscert_error_last(), warned);
        ASSERT_DB_UNCHANGED(&f->h, before, blen);
    }
    /* The missing-name refusal prints the fixing command. */
    o.types = "Default";
    o.thumbprint = lacking;
    warned[0] = '\0';
    assert_int_equal(cscert_assign_set(f->h.st, &o), CSCERT_EPOLICY);
    assert_non_null(strstr(cscert_error_last(), "cscert request --new --type Default"));
    assert_non_null(strstr(warned, "lacks the name 'sip.contoso.com'"));
    ASSERT_DB_UNCHANGED(&f->h, before, blen);
    free(before);

    /* --force: assigned, said loudly. */
    o.force = 1;
    warned[0] = '\0';
    assert_int_equal(cscert_assign_set(f->h.st, &o), CSCERT_OK);
    assert_non_null(strstr(warned, "FORCED"));
    assert_int_equal(cscert_store_get_assignment(&a, f->h.st, "Default"), CSCERT_OK);
    assert_string_equal(a.thumbprint, lacking);
    /* A fit certificate needs no force; thumbprint as Windows copies it. */
    o.force = 0;
    {
        char spaced[80] = "";

        for (int i = 0; i < 40; i += 2)
            snprintf(spaced + strlen(spaced), sizeof(spaced) - strlen(spaced), "%c%c ", fit[i] + (fit[i] >= 'A' ? 32 : 0),
                     fit[i + 1]);
        o.thumbprint = spaced;
        assert_int_equal(cscert_assign_set(f->h.st, &o), CSCERT_OK);
    }
    assert_int_equal(cscert_store_get_assignment(&a, f->h.st, "Default"), CSCERT_OK);
    assert_string_equal(a.thumbprint, fit);
}

static void test_separate_certificates(void **state)
{
    struct fx *f = *state;
    char all[41], web[41];
    cscert_assign_opts o = { 0 };
    unsigned char *before;
    size_t blen;

    put_leaf(all, f, "Default,WebServicesInternal,WebServicesExternal", NULL, 0, -1, 300);
    put_leaf(web, f, "Default,WebServicesInternal,WebServicesExternal", NULL, 0, -1, 301);
    o.types = "Default,WebServicesInternal";
    o.thumbprint = all;
    assert_int_equal(cscert_assign_set(f->h.st, &o), CSCERT_OK); /* nothing assigned yet: fine */
    o.types = "WebServicesExternal";
    o.thumbprint = web;
    assert_int_equal(cscert_assign_set(f->h.st, &o), CSCERT_OK);
    before = home_db_bytes(&f->h, &blen);
    o.types = "Default,WebServicesInternal,WebServicesExternal";
    o.thumbprint = all;
    warned[0] = '\0';
    assert_int_equal(cscert_assign_set(f->h.st, &o), CSCERT_EPOLICY);
    assert_non_null(strstr(warned, "separate certificates"));
    assert_non_null(strstr(warned, web)); /* names what it would replace */
    ASSERT_DB_UNCHANGED(&f->h, before, blen);
    free(before);
    o.force = 1;
    assert_int_equal(cscert_assign_set(f->h.st, &o), CSCERT_OK);
}

static void test_roll_remove_get(void **state)
{
    struct fx *f = *state;
    char one[41], two[41];
    cscert_assign_opts o = { .types = "OAuthTokenIssuer" };
    json_t *arr = NULL, *e;
    unsigned char *before;
    size_t blen;

    put_leaf(one, f, "OAuthTokenIssuer,Default", NULL, 0, -1, 300);
    put_leaf(two, f, "OAuthTokenIssuer,Default", NULL, 0, -1, 301);
    o.thumbprint = one;
    assert_int_equal(cscert_assign_set(f->h.st, &o), CSCERT_OK);
    o.thumbprint = two;
    o.roll = 1;
    o.effective_date = "2030-01-01";
    assert_int_equal(cscert_assign_set(f->h.st, &o), CSCERT_OK);
    o.types = "Default";
    o.roll = 0;
    assert_int_equal(cscert_assign_set(f->h.st, &o), CSCERT_OK);
    assert_int_equal(cscert_assign_get(&arr, f->h.st, "oauthtokenissuer"), CSCERT_OK);
    assert_int_equal(json_array_size(arr), 1);
    e = json_array_get(arr, 0);
    assert_string_equal(json_string_value(json_object_get(e, "Use")), "OAuthTokenIssuer");
    assert_string_equal(json_string_value(json_object_get(e, "Thumbprint")), two);
    assert_string_equal(json_string_value(json_object_get(e, "PreviousThumbprint")), one);
    assert_string_equal(json_string_value(json_object_get(e, "EffectiveDate")), "2030-01-01T00:00:00Z");
    assert_string_equal(json_string_value(json_object_get(e, "Subject")), "CN=pool01.contoso.net");
    assert_true(json_array_size(json_object_get(e, "AlternativeNames")) >= 1);
    json_decref(arr);
    assert_int_equal(cscert_assign_get(&arr, f->h.st, NULL), CSCERT_OK);
    assert_int_equal(json_array_size(arr), 2);
    assert_true(json_is_null(json_object_get(json_array_get(arr, 0), "EffectiveDate")) ||
                json_is_null(json_object_get(json_array_get(arr, 1), "EffectiveDate")));
    json_decref(arr);

    before = home_db_bytes(&f->h, &blen);
    assert_int_equal(cscert_assign_remove(f->h.st, "Default,WebServicesExternal"), CSCERT_ENOTFOUND);
    assert_non_null(strstr(cscert_error_last(), "WebServicesExternal"));
    ASSERT_DB_UNCHANGED(&f->h, before, blen); /* nothing removed: all or none */
    free(before);
    assert_int_equal(cscert_assign_remove(f->h.st, "default"), CSCERT_OK);
    assert_int_equal(cscert_assign_get(&arr, f->h.st, NULL), CSCERT_OK);
    assert_int_equal(json_array_size(arr), 1);
    json_decref(arr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_uses),
        cmocka_unit_test(test_parse_date),
        cmocka_unit_test_setup_teardown(test_required_names_bridge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_separate_certificates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roll_remove_get, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
