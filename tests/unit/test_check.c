/* test_check.c: the findings of `cscert check`: unassigned uses, a
 * missing certificate or key, an untrusted chain (which link), expiry
 * and its horizon, each missing name on its own with the fixing command,
 * weak RSA and SHA-1 warnings, a missing Server Authentication EKU, the
 * uses each role needs (FrontEnd, Director, Edge with and without XMPP,
 * Mediation); an expired or expiring CA certificate in the chain, named
 * once; while a web serve runs (web.pid), the bindings' problems (a
 * binding serving another certificate, one that cannot be reached); and
 * that check never writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/ssl.h>

#include "cscert/assign.h"
#include "cscert/certinfo.h"
#include "cscert/check.h"
#include "cscert/topology.h"
#include "cscert/web.h"
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
        assert_non_null(strstr(v[i].fix, "cscert request --renew --type Default,WebServicesInternal,WebServicesExternal,OAuthTokenIssuer"));
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

/* A leaf like assign_leaf's, issued by a given CA (issuer, ikey). */
static void assign_leaf_by(char thumb[41], struct fx *f, X509 *issuer, EVP_PKEY *ikey, const char *uses)
{
    char sans[4096], **u = NULL;
    size_t nu = 0, i;
    int64_t kid = 0;
    cscert_assignment a;
    X509 *x;

    sans_for(sans, sizeof(sans), f->h.st, uses, NULL, NULL);
    x = pki_cert(f->k, "pool01.contoso.net", issuer, ikey, sans, 0, -1, 365);
    if (cscert_store_find_key(&kid, f->h.st, f->k) != CSCERT_OK)
        assert_int_equal(cscert_store_put_key(&kid, f->h.st, f->k, 0), CSCERT_OK);
    assert_int_equal(cscert_store_put_cert(thumb, f->h.st, CSCERT_STORE_MY, x, NULL, kid), CSCERT_OK);
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

/* Gap (a): the issuing CA of the chain expired, or expires soon. */
static void test_chain_ca_expiry(void **state)
{
    struct fx *f = *state;
    cscert_finding *v = NULL;
    const cscert_finding *x;
    size_t n = 0;
    char t1[41], t2[41], ica_old[41], ica_soon[41], root_t[41];
    EVP_PKEY *k_old = pki_key(), *k_soon = pki_key();
    X509 *old = pki_cert(k_old, "Contoso Old Issuing CA", f->p.root, f->p.root_key, NULL, 1, -400, -3);
    X509 *soon = pki_cert(k_soon, "Contoso Short Issuing CA", f->p.root, f->p.root_key, NULL, 1, -400, 12);
    cscert_check_opts o = { .warn_days = 30 };

    assert_int_equal(cscert_store_put_cert(ica_old, f->h.st, CSCERT_STORE_CA, old, NULL, 0), CSCERT_OK);
    assert_int_equal(cscert_store_put_cert(ica_soon, f->h.st, CSCERT_STORE_CA, soon, NULL, 0), CSCERT_OK);
    assert_int_equal(cscert_x509_thumbprint(root_t, f->p.root), CSCERT_OK);
    /* Default + WSI below the expired CA; WSE + OAuth below the one that
     * expires in 12 days: each CA named once, with every use below it. */
    assign_leaf_by(t1, f, old, k_old, "Default,WebServicesInternal");
    assign_leaf_by(t2, f, soon, k_soon, "WebServicesExternal,OAuthTokenIssuer");
    assert_int_equal(cscert_check_run(&v, &n, f->h.st, &o), CSCERT_OK);
    assert_int_equal(count(v, n, "ca-expired"), 1);
    assert_non_null(x = find(v, n, "ca-expired"));
    assert_int_equal(x->severity, CSCERT_SEV_ERROR);
    assert_string_equal(x->thumbprint, ica_old);
    assert_string_equal(x->use, "Default,WebServicesInternal");
    assert_non_null(strstr(x->message, ica_old));
    assert_non_null(strstr(x->message, "Contoso Old Issuing CA"));
    assert_non_null(strstr(x->message, t1));
    assert_non_null(strstr(x->message, "expired on"));
    assert_non_null(strstr(x->fix, "cscert import NEW-CA.cer"));
    assert_int_equal(count(v, n, "ca-expiring"), 1);
    assert_non_null(x = find(v, n, "ca-expiring"));
    assert_int_equal(x->severity, CSCERT_SEV_WARNING);
    assert_string_equal(x->thumbprint, ica_soon);
    assert_string_equal(x->use, "WebServicesExternal,OAuthTokenIssuer");
    assert_non_null(strstr(x->message, "Contoso Short Issuing CA"));
    assert_non_null(strstr(x->message, "in 11 days") ? strstr(x->message, "in 11 days") : strstr(x->message, "in 12 days"));
    /* The leaves themselves are fine: no leaf expiry, chain trusted. */
    assert_int_equal(count(v, n, "expired") + count(v, n, "expiring") + count(v, n, "untrusted-chain"), 0);
    assert_int_equal(n, 2);
    cscert_findings_free(v, n);

    /* --warn-days 0: only the expired CA; a horizon past the root's ten
     * years also names the root, in Root. */
    o.warn_days = 0;
    assert_int_equal(cscert_check_run(&v, &n, f->h.st, &o), CSCERT_OK);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].kind, "ca-expired");
    cscert_findings_free(v, n);
    o.warn_days = 3700;
    assert_int_equal(cscert_check_run(&v, &n, f->h.st, &o), CSCERT_OK);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i].kind, "ca-expiring") && !strcmp(v[i].thumbprint, root_t)) {
            assert_non_null(strstr(v[i].message, "in Root)"));
            assert_non_null(strstr(v[i].fix, "--store Root"));
            assert_string_equal(v[i].use, "Default,WebServicesInternal,WebServicesExternal,OAuthTokenIssuer");
            root_t[0] = '\0';
        }
    assert_string_equal(root_t, "");
    cscert_findings_free(v, n);
    X509_free(old);
    X509_free(soon);
    EVP_PKEY_free(k_old);
    EVP_PKEY_free(k_soon);
}

/* Wrong EKU: an EKU extension without serverAuth is an error; the other
 * certificates (serverAuth present) are not. */
static void test_wrong_eku(void **state)
{
    struct fx *f = *state;
    cscert_finding *v = NULL;
    const cscert_finding *x;
    char sans[4096], t[41], tg[41];
    int64_t kid = 0;
    size_t n = 0;
    cscert_assignment a = { .use = "WebServicesExternal" };
    X509 *c = X509_new();
    X509_NAME *nm = X509_NAME_new();

    assign_leaf(tg, f, f->k, "Default,WebServicesInternal,OAuthTokenIssuer", NULL, NULL, 1, -1, 365, EVP_sha256(), 0);
    /* A client-authentication-only certificate on WebServicesExternal. */
    sans_for(sans, sizeof(sans), f->h.st, "WebServicesExternal", NULL, NULL);
    X509_set_version(c, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(c), 77);
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_UTF8, (const unsigned char *)"pool01.contoso.net", -1, -1, 0);
    X509_set_subject_name(c, nm);
    X509_set_issuer_name(c, X509_get_subject_name(f->p.ica));
    X509_gmtime_adj(X509_getm_notBefore(c), -86400);
    X509_gmtime_adj(X509_getm_notAfter(c), 86400 * 300);
    X509_set_pubkey(c, f->k);
    pki_ext(c, f->p.ica, NID_ext_key_usage, "clientAuth,codeSigning");
    pki_ext(c, f->p.ica, NID_subject_alt_name, sans);
    assert_true(X509_sign(c, f->p.ica_key, EVP_sha256()) > 0);
    assert_int_equal(cscert_store_find_key(&kid, f->h.st, f->k), CSCERT_OK);
    assert_int_equal(cscert_store_put_cert(t, f->h.st, CSCERT_STORE_MY, c, NULL, kid), CSCERT_OK);
    memcpy(a.thumbprint, t, 41);
    assert_int_equal(cscert_store_set_assignment(f->h.st, &a), CSCERT_OK);
    assert_int_equal(cscert_check_run(&v, &n, f->h.st, NULL), CSCERT_OK);
    assert_int_equal(n, 1);
    assert_non_null(x = find(v, n, "no-server-eku"));
    assert_int_equal(x->severity, CSCERT_SEV_ERROR);
    assert_string_equal(x->use, "WebServicesExternal");
    assert_string_equal(x->thumbprint, t);
    assert_non_null(strstr(x->message, "Server Authentication"));
    assert_non_null(x->fix);
    cscert_findings_free(v, n);
    X509_NAME_free(nm);
    X509_free(c);
}

/* DESIGN clarifications: the uses check requires per role. */
static void test_uses_per_role(void **state)
{
    static const char topo2[] =
        "{ \"sip_domains\": [\"contoso.com\"],"
        "  \"simple_urls\": { \"meet\": [\"meet.contoso.com\"], \"dialin\": \"dialin.contoso.com\" },"
        "  \"sites\": [ { \"name\": \"Redmond\", \"pools\": ["
        "    { \"fqdn\": \"se01.contoso.net\", \"role\": \"StandardEdition\", \"servers\": [\"se01.contoso.net\"],"
        "      \"web_services\": { \"internal\": \"se01.contoso.net\", \"external\": \"webse01.contoso.com\" } },"
        "    { \"fqdn\": \"dir01.contoso.net\", \"role\": \"Director\", \"servers\": [\"dir01.contoso.net\"],"
        "      \"web_services\": { \"internal\": \"dir01.contoso.net\", \"external\": \"webdir01.contoso.com\" } },"
        "    { \"fqdn\": \"med01.contoso.net\", \"role\": \"Mediation\", \"servers\": [\"med01.contoso.net\"] },"
        "    { \"fqdn\": \"edgepool01.contoso.net\", \"role\": \"Edge\", \"servers\": [\"edge01.contoso.net\"],"
        "      \"xmpp_domains\": [\"contoso.com\"],"
        "      \"edge\": { \"access\": \"sip.contoso.com\", \"webconf\": \"webconf.contoso.com\", \"av\": \"av.contoso.com\" } }"
        "  ] } ] }";
    static const struct row {
        const char *topo, *fqdn, *uses;
    } rows[] = {
        { topo_json, "fe01.contoso.net", "Default,WebServicesInternal,WebServicesExternal,OAuthTokenIssuer" },
        { topo2, "se01.contoso.net", "Default,WebServicesInternal,WebServicesExternal,OAuthTokenIssuer" },
        { topo2, "dir01.contoso.net", "Default,WebServicesInternal,WebServicesExternal,OAuthTokenIssuer" },
        { topo2, "med01.contoso.net", "Default" },
        { topo_json, "edge01.contoso.net", "AccessEdgeExternal,DataEdgeExternal,AudioVideoAuthentication,Internal" },
        { topo2, "edge01.contoso.net",
          "AccessEdgeExternal,DataEdgeExternal,AudioVideoAuthentication,Internal,XmppServer" },
    };
    struct fx *f = *state;
    cscert_finding *v = NULL;
    char got[256];
    size_t n = 0, r, i;

    for (r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
        assert_int_equal(cscert_store_set_setting(f->h.st, "topology", rows[r].topo), CSCERT_OK);
        assert_int_equal(cscert_store_set_setting(f->h.st, "computer_fqdn", rows[r].fqdn), CSCERT_OK);
        if (cscert_check_run(&v, &n, f->h.st, NULL) != CSCERT_OK)
            fail_msg("row %zu: %s", r, cscert_error_last());
        got[0] = '\0';
        for (i = 0; i < n; i++) {
            assert_string_equal(v[i].kind, "unassigned");
            snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", i ? "," : "", v[i].use);
        }
        if (strcmp(got, rows[r].uses))
            fail_msg("row %zu (%s): uses '%s', wanted '%s'", r, rows[r].fqdn, got, rows[r].uses);
        cscert_findings_free(v, n);
    }
}

/* ---- a running web serve (web.pid names this process) ---- */

static void write_pid(struct fx *f, long pid)
{
    char path[160];
    FILE *fp;

    snprintf(path, sizeof(path), "%s/web.pid", f->h.home);
    assert_non_null(fp = fopen(path, "w"));
    fprintf(fp, "%ld\n", pid);
    fclose(fp);
}

static int listen_any(int *port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(sa);
    struct timeval tv = { 3, 0 }; /* accept gives up: a check that never connects fails, not hangs */
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

    assert_true(fd >= 0);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, len), 0);
    assert_int_equal(listen(fd, 8), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

/* A stand-in for a stale server on the binding's port: it serves `cert`
 * to each of `conns` clients, then stops. */
struct tls_srv {
    int fd, conns;
    X509 *cert, *chain;
    EVP_PKEY *key;
};

static void *tls_srv_main(void *arg)
{
    struct tls_srv *s = arg;
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    int i;

    SSL_CTX_use_certificate(ctx, s->cert);
    SSL_CTX_use_PrivateKey(ctx, s->key);
    SSL_CTX_add1_chain_cert(ctx, s->chain);
    for (i = 0; i < s->conns; i++) {
        int c = accept(s->fd, NULL, NULL);
        SSL *ssl;

        if (c < 0)
            break;
        ssl = SSL_new(ctx);
        SSL_set_fd(ssl, c);
        if (SSL_accept(ssl) == 1)
            SSL_shutdown(ssl);
        SSL_free(ssl);
        close(c);
    }
    SSL_CTX_free(ctx);
    return NULL;
}

static void test_web_findings(void **state)
{
    struct fx *f = *state;
    cscert_finding *v = NULL;
    const cscert_finding *x;
    cscert_check_opts o = { .web_timeout_ms = 2000 };
    struct tls_srv srv = { 0 };
    pthread_t th;
    char t[41], other[41], sans[4096];
    X509 *stray;
    size_t n = 0;
    int port, closed;

    assign_leaf(t, f, f->k, FE_USES, NULL, NULL, 1, -1, 365, EVP_sha256(), 0);
    /* Internal: nobody listens; External: a server with another
     * certificate (all the names, trusted, just not the assigned one). */
    closed = listen_any(&port);
    close(closed);
    assert_int_equal(cscert_web_binding_set(f->h.st, "Internal", "127.0.0.1", port, NULL), CSCERT_OK);
    srv.fd = listen_any(&port);
    assert_int_equal(cscert_web_binding_set(f->h.st, "External", "127.0.0.1", port, NULL), CSCERT_OK);
    sans_for(sans, sizeof(sans), f->h.st, FE_USES, NULL, NULL);
    stray = pki_cert(f->k, "pool01.contoso.net", f->p.ica, f->p.ica_key, sans, 0, -1, 365);
    assert_int_equal(cscert_x509_thumbprint(other, stray), CSCERT_OK);

    /* No web.pid: the bindings are not looked at. */
    assert_int_equal(cscert_check_run(&v, &n, f->h.st, &o), CSCERT_OK);
    assert_int_equal(n, 0);
    cscert_findings_free(v, n);

    srv.conns = 1;
    srv.cert = stray;
    srv.chain = f->p.ica;
    srv.key = f->k;
    assert_int_equal(pthread_create(&th, NULL, tls_srv_main, &srv), 0);
    write_pid(f, (long)getpid());
    assert_int_equal(cscert_check_run(&v, &n, f->h.st, &o), CSCERT_OK);
    pthread_join(th, NULL);
    close(srv.fd);
    assert_non_null(x = find(v, n, "binding-mismatch"));
    assert_int_equal(x->severity, CSCERT_SEV_ERROR);
    assert_string_equal(x->use, "WebServicesExternal");
    assert_string_equal(x->thumbprint, other);
    assert_non_null(strstr(x->message, "site 'External'"));
    assert_non_null(strstr(x->message, other));
    assert_non_null(strstr(x->message, t));
    assert_non_null(x = find(v, n, "binding-unreachable"));
    assert_string_equal(x->use, "WebServicesInternal");
    assert_non_null(strstr(x->message, "site 'Internal'"));
    assert_non_null(strstr(x->message, "cannot connect to 127.0.0.1:"));
    /* the stray certificate has every name and a trusted chain */
    assert_int_equal(n, 2);
    cscert_findings_free(v, n);

    /* no_web leaves them out; a stale web.pid (no such process) too. */
    o.no_web = 1;
    assert_int_equal(cscert_check_run(&v, &n, f->h.st, &o), CSCERT_OK);
    assert_int_equal(n, 0);
    cscert_findings_free(v, n);
    X509_free(stray);
}

static void test_web_unassigned_not_twice(void **state)
{
    struct fx *f = *state;
    cscert_finding *v = NULL;
    cscert_check_opts o = { .web_timeout_ms = 1000 };
    size_t n = 0;
    int port, fd = listen_any(&port);

    close(fd);
    assert_int_equal(cscert_web_binding_remove(f->h.st, "Internal"), CSCERT_OK);
    assert_int_equal(cscert_web_binding_set(f->h.st, "External", "127.0.0.1", port, NULL), CSCERT_OK);
    write_pid(f, (long)getpid());
    assert_int_equal(cscert_check_run(&v, &n, f->h.st, &o), CSCERT_OK);
    /* the four uses unassigned, and External unreachable; WSE's
     * "binding-unassigned" says again what "unassigned" said. */
    assert_int_equal(count(v, n, "unassigned"), 4);
    assert_int_equal(count(v, n, "binding-unassigned"), 0);
    assert_int_equal(count(v, n, "binding-unreachable"), 1);
    assert_int_equal(n, 5);
    cscert_findings_free(v, n);
}

/* A certificate whose recorded key is not its own (the "is gone" case,
 * a store restored without its keys, is in tests/e2e/t_web.sh): still a
 * missing private key. */
static void test_key_not_its_own(void **state)
{
    struct fx *f = *state;
    cscert_finding *v = NULL;
    const cscert_finding *x;
    EVP_PKEY *other = pki_key();
    int64_t kid = 0;
    size_t n = 0;
    char t[41];

    assign_leaf(t, f, f->k, FE_USES, NULL, NULL, 1, -1, 365, EVP_sha256(), 0);
    assert_int_equal(cscert_store_put_key(&kid, f->h.st, other, 0), CSCERT_OK);
    assert_int_equal(cscert_store_set_cert_key(f->h.st, t, kid), CSCERT_OK);
    assert_int_equal(cscert_check_run(&v, &n, f->h.st, NULL), CSCERT_OK);
    assert_int_equal(n, 1);
    assert_non_null(x = find(v, n, "missing-key"));
    assert_string_equal(x->use, FE_USES);
    assert_non_null(strstr(x->message, "is another one"));
    cscert_findings_free(v, n);
    EVP_PKEY_free(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_unassigned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clean_and_never_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_names_one_by_one, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cert_problems, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_certificate_and_edge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_not_its_own, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_ca_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_eku, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uses_per_role, setup, teardown),
        cmocka_unit_test_setup_teardown(test_web_findings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_web_unassigned_not_twice, setup, teardown),
    };

    /* The stand-in servers write close_notify to clients that may have
     * reset the connection already: an EPIPE there, not this test's death. */
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
