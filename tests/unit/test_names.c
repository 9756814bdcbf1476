/* test_names.c: R1-R18 against the spec's worked examples
 * (spec/lync-certificates.md sections 1.1-1.8) and hostile uses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cscert/names.h"

/* The spec's contoso examples: SE se01.contoso.com (1.1), an EE pool
 * (1.2), a Director pool (1.3), a Mediation pool (1.5), an Edge (1.7)
 * and a reverse proxy (1.8). */
static const char doc[] =
    "{\"sip_domains\":[\"contoso.com\",\"fabrikam.com\"],"
    "\"simple_urls\":{\"meet\":[\"meet.contoso.com\",\"meet.fabrikam.com\"],\"dialin\":\"dialin.contoso.com\","
    "\"admin\":\"admin.contoso.com\"},\"automatic_sign_in_domains\":[\"contoso.com\",\"fabrikam.com\"],"
    "\"office_web_apps\":\"officewebapps01.contoso.com\","
    "\"sites\":[{\"name\":\"S\",\"pools\":["
    "{\"fqdn\":\"se01.contoso.com\",\"role\":\"StandardEdition\",\"servers\":[\"se01.contoso.com\"],"
    " \"web_services\":{\"internal\":\"se01.contoso.com\",\"external\":\"webcon01.contoso.com\"}},"
    "{\"fqdn\":\"eepool.contoso.com\",\"role\":\"FrontEnd\",\"servers\":[\"ee01.contoso.com\"],"
    " \"web_services\":{\"internal\":\"eeint.contoso.com\",\"external\":\"webext.contoso.com\"}},"
    "{\"fqdn\":\"dir-pool.contoso.com\",\"role\":\"Director\",\"servers\":[\"dir01.contoso.com\"],"
    " \"web_services\":{\"internal\":\"dir01.contoso.com\",\"external\":\"webdirext.contoso.com\"}},"
    "{\"fqdn\":\"medsvr-pool.contoso.net\",\"role\":\"Mediation\",\"servers\":[\"medsvr01.contoso.net\"]},"
    "{\"fqdn\":\"lsedge.contoso.net\",\"role\":\"Edge\",\"servers\":[\"edge01.contoso.net\"],"
    " \"edge\":{\"access\":\"sip.contoso.com\",\"webconf\":\"webcon.contoso.com\",\"av\":\"av.contoso.com\"},"
    " \"xmpp_domains\":[\"contoso.com\"]}]}]}";

static int setup(void **state)
{
    cscert_topology *t = NULL;

    assert_int_equal(cscert_topology_parse(&t, doc, strlen(doc), "spec"), CSCERT_OK);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    cscert_topology_free(*state);
    return 0;
}

struct vec {
    const char *server, *types;
    int all_sip;
    const char *extra, *want;
};

static void test_vectors(void **state)
{
    static const struct vec v[] = {
        /* 1.1 SE Default with strict auto-logon domains */
        { "se01.contoso.com", "Default", 0, NULL, "se01.contoso.com,sip.contoso.com,sip.fabrikam.com" },
        /* 1.1 SE web internal: all Meet, Dial-in, Admin (+ R6) */
        { "se01.contoso.com", "WebServicesInternal", 0, NULL,
          "se01.contoso.com,meet.contoso.com,meet.fabrikam.com,dialin.contoso.com,admin.contoso.com,"
          "lyncdiscoverinternal.contoso.com" },
        /* 1.1 SE web external: webcon01, Meet, Dial-in, no Admin (R4) */
        { "se01.contoso.com", "WebServicesExternal", 0, NULL,
          "se01.contoso.com,webcon01.contoso.com,meet.contoso.com,meet.fabrikam.com,dialin.contoso.com,"
          "lyncdiscover.contoso.com" },
        /* 1.2 EE Default: pool, server */
        { "ee01.contoso.com", "Default", 0, NULL, "eepool.contoso.com,ee01.contoso.com,sip.contoso.com,sip.fabrikam.com" },
        /* 1.2 EE web internal: pool CN (R3), internal FQDN, server, pool */
        { "ee01.contoso.com", "WebServicesInternal", 1, NULL,
          "eepool.contoso.com,eeint.contoso.com,ee01.contoso.com,meet.contoso.com,meet.fabrikam.com,"
          "dialin.contoso.com,admin.contoso.com,lyncdiscoverinternal.contoso.com,lyncdiscoverinternal.fabrikam.com" },
        /* 1.3 Director Default: pool and Director */
        { "dir01.contoso.com", "Default", 0, NULL, "dir-pool.contoso.com,dir01.contoso.com,sip.contoso.com,sip.fabrikam.com" },
        /* 1.4 IIS page: combined + Autodiscover via --domain-name */
        { "ee01.contoso.com", "Default,WebServicesInternal,WebServicesExternal", 0,
          "LyncdiscoverInternal.Contoso.com,Lyncdiscover.Contoso.com",
          "eepool.contoso.com,ee01.contoso.com,sip.contoso.com,sip.fabrikam.com,eeint.contoso.com,meet.contoso.com,"
          "meet.fabrikam.com,dialin.contoso.com,admin.contoso.com,lyncdiscoverinternal.contoso.com,webext.contoso.com,"
          "lyncdiscover.contoso.com" },
        /* 1.5 Mediation pool member (R8) */
        { "medsvr01.contoso.net", "Default", 0, NULL, "medsvr-pool.contoso.net,medsvr01.contoso.net" },
        /* 1.7 Edge internal (R9) */
        { "edge01.contoso.net", "Internal", 0, NULL, "lsedge.contoso.net" },
        /* 1.7 Edge external (R10) with XMPP domain */
        { "edge01.contoso.net", "AccessEdgeExternal,DataEdgeExternal", 0, NULL,
          "sip.contoso.com,webcon.contoso.com,sip.fabrikam.com,contoso.com" },
        /* R10 + R11 together: CN from R10, A/V added */
        { "edge01.contoso.net", "audiovideoauthentication, accessedgeexternal", 0, NULL,
          "sip.contoso.com,webcon.contoso.com,sip.fabrikam.com,contoso.com,av.contoso.com" },
        { "edge01.contoso.net", "AudioVideoAuthentication", 0, NULL, "av.contoso.com" },
        { "edge01.contoso.net", "XmppServer", 0, NULL, "sip.contoso.com,contoso.com" },
        /* 1.10 / R12 */
        { "ee01.contoso.com", "OAuthTokenIssuer", 0, NULL, "contoso.com" },
        /* 1.8 reverse proxy (R14): one pool's external FQDN, Directors, not other FE pools */
        { "ee01.contoso.com", "ReverseProxy", 0, NULL,
          "webext.contoso.com,webdirext.contoso.com,dialin.contoso.com,meet.contoso.com,meet.fabrikam.com,"
          "officewebapps01.contoso.com,lyncdiscover.contoso.com,lyncdiscover.fabrikam.com" },
        /* wildcard SAN allowed as an addition */
        { "se01.contoso.com", "WebServicesExternal", 0, "*.contoso.com",
          "se01.contoso.com,webcon01.contoso.com,meet.contoso.com,meet.fabrikam.com,dialin.contoso.com,"
          "lyncdiscover.contoso.com,*.contoso.com" },
    };
    size_t i;

    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        cscert_names n = { NULL, 0 };
        unsigned uses = 0;
        char *got;

        assert_int_equal(cscert_uses_parse(&uses, v[i].types), CSCERT_OK);
        if (cscert_names_compute(&n, *state, v[i].server, uses, v[i].all_sip, v[i].extra) != CSCERT_OK)
            fail_msg("row %zu: %s", i, cscert_error_last());
        got = cscert_names_join(&n);
        if (strcmp(got, v[i].want) != 0)
            fail_msg("row %zu (%s on %s):\n got  %s\n want %s", i, v[i].types, v[i].server, got, v[i].want);
        free(got);
        cscert_names_clear(&n);
    }
}

static char *join_rules(const cscert_names *n)
{
    static char buf[2048];
    size_t i, len = 0;

    buf[0] = '\0';
    for (i = 0; i < n->n && len < sizeof(buf); i++)
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", i ? "," : "", n->v[i].rule);
    return buf;
}

/* tests/fixtures/three-domains.json: three SIP domains (litware.com the
 * default), two with automatic sign-in, every role, XMPP, Office Web Apps. */
static int setup3(void **state)
{
    cscert_topology *t = NULL;

    if (cscert_topology_load_file(&t, "tests/fixtures/three-domains.json") != CSCERT_OK)
        fail_msg("%s", cscert_error_last());
    *state = t;
    return 0;
}

struct vec3 {
    const char *server, *types;
    int all_sip;
    const char *extra, *want, *rules; /* rules NULL: not checked */
};

static void test_three_domains(void **state)
{
    static const struct vec3 v[] = {
        /* R2: SE, CN = pool = server; sip.<d> for the auto sign-in domains */
        { "se01.litware.net", "Default", 0, NULL, "se01.litware.net,sip.litware.com,sip.contoso.com", "R2,R2,R2" },
        { "SE01.litware.net", "Default", 1, NULL, "se01.litware.net,sip.litware.com,sip.contoso.com,sip.fabrikam.com", NULL },
        /* R3 + R6 on an EE server: pool CN, internal web FQDN, server, every Meet, Dial-in, Admin */
        { "ee02.litware.net", "WebServicesInternal", 0, NULL,
          "eepool.litware.net,eeint.litware.net,ee02.litware.net,meet.litware.com,meet.contoso.com,meet.fabrikam.com,"
          "dialin.litware.com,admin.litware.com,lyncdiscoverinternal.litware.com", "R3,R3,R3,R3,R3,R3,R3,R3,R6" },
        /* R4 + R6 with --all-sip-domain: every lyncdiscover.<d>, never Admin */
        { "ee03.litware.net", "WebServicesExternal", 1, NULL,
          "eepool.litware.net,eeext.litware.com,meet.litware.com,meet.contoso.com,meet.fabrikam.com,dialin.litware.com,"
          "lyncdiscover.litware.com,lyncdiscover.contoso.com,lyncdiscover.fabrikam.com", NULL },
        /* R5: a Director's combined request, union in rule order, the first rule kept */
        { "dir02.litware.net", "WebServicesExternal, Default ,WebServicesInternal,default", 0, NULL,
          "dirpool.litware.net,dir02.litware.net,sip.litware.com,sip.contoso.com,meet.litware.com,meet.contoso.com,"
          "meet.fabrikam.com,dialin.litware.com,admin.litware.com,lyncdiscoverinternal.litware.com,dirext.litware.com,"
          "lyncdiscover.litware.com", "R2,R2,R2,R2,R3,R3,R3,R3,R3,R6,R4,R6" },
        /* R12: the default SIP domain, on any web role */
        { "dir01.litware.net", "OAuthTokenIssuer", 0, NULL, "litware.com", "R12" },
        { "se01.litware.net", "Default,OAuthTokenIssuer", 0, NULL,
          "se01.litware.net,sip.litware.com,sip.contoso.com,litware.com", "R2,R2,R2,R12" },
        /* R14 from a Director: its own external FQDN is the CN */
        { "dir01.litware.net", "ReverseProxy", 0, NULL,
          "dirext.litware.com,dialin.litware.com,meet.litware.com,meet.contoso.com,meet.fabrikam.com,owa.litware.com,"
          "lyncdiscover.litware.com,lyncdiscover.contoso.com,lyncdiscover.fabrikam.com", NULL },
        /* R14 from an EE server: not the SE pool's webext.litware.com */
        { "ee01.litware.net", "ReverseProxy", 0, NULL,
          "eeext.litware.com,dirext.litware.com,dialin.litware.com,meet.litware.com,meet.contoso.com,meet.fabrikam.com,"
          "owa.litware.com,lyncdiscover.litware.com,lyncdiscover.contoso.com,lyncdiscover.fabrikam.com",
          "R14,R14,R14,R14,R14,R14,R14,R14,R14,R14" },
        /* R8 */
        { "med01.litware.net", "Default", 1, NULL, "medpool.litware.net,med01.litware.net", "R8,R8" },
        /* R9 on the second Edge of the pool */
        { "edge02.litware.net", "Internal", 0, NULL, "edgepool.litware.net", "R9" },
        /* R10 + R11: CN from R10, XMPP domains, A/V last */
        { "edge01.litware.net", "AccessEdgeExternal,DataEdgeExternal,AudioVideoAuthentication", 0, NULL,
          "access.litware.com,webconf.litware.com,sip.litware.com,sip.contoso.com,litware.com,contoso.com,av.litware.com",
          "R10,R10,R10,R10,R10,R10,R11" },
        { "edge01.litware.net", "DataEdgeExternal", 1, NULL,
          "access.litware.com,webconf.litware.com,sip.litware.com,sip.contoso.com,sip.fabrikam.com,litware.com,contoso.com",
          NULL },
        /* R13 */
        { "edge02.litware.net", "XmppServer", 0, NULL, "access.litware.com,litware.com,contoso.com", "R13,R13,R13" },
        /* R1: after the CN, rule order (R9 before R10) */
        { "edge01.litware.net", "AccessEdgeExternal,Internal", 0, NULL,
          "access.litware.com,edgepool.litware.net,webconf.litware.com,sip.litware.com,sip.contoso.com,litware.com,"
          "contoso.com", "R10,R9,R10,R10,R10,R10,R10" },
        /* --domain-name: validated, lower-cased, de-duplicated, after the rules */
        { "se01.litware.net", "Default", 0, " *.Litware.com, SE01.litware.net ,, extra.litware.com",
          "se01.litware.net,sip.litware.com,sip.contoso.com,*.litware.com,extra.litware.com",
          "R2,R2,R2,--domain-name,--domain-name" },
    };
    size_t i;

    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        cscert_names n = { NULL, 0 };
        unsigned uses = 0;
        char *got;

        assert_int_equal(cscert_uses_parse(&uses, v[i].types), CSCERT_OK);
        if (cscert_names_compute(&n, *state, v[i].server, uses, v[i].all_sip, v[i].extra) != CSCERT_OK)
            fail_msg("row %zu: %s", i, cscert_error_last());
        got = cscert_names_join(&n);
        if (strcmp(got, v[i].want) != 0)
            fail_msg("row %zu (%s on %s):\n got  %s\n want %s", i, v[i].types, v[i].server, got, v[i].want);
        if (v[i].rules && strcmp(join_rules(&n), v[i].rules) != 0)
            fail_msg("row %zu rules:\n got  %s\n want %s", i, join_rules(&n), v[i].rules);
        free(got);
        cscert_names_clear(&n);
    }
}

struct refusal {
    const char *server, *types, *extra;
    int code;
    const char *msg1, *msg2;
};

static void test_three_domains_refusals(void **state)
{
    static const struct refusal r[] = {
        /* R18: named role and its uses */
        { "edge01.litware.net", "ReverseProxy", NULL, CSCERT_EPOLICY, "not a use of the Edge role", "AccessEdgeExternal" },
        { "edge01.litware.net", "Default,Internal", NULL, CSCERT_EPOLICY, "Default: not a use", "Internal" },
        { "med01.litware.net", "XmppServer", NULL, CSCERT_EPOLICY, "Mediation role of 'medpool.litware.net'", "has: Default" },
        { "med01.litware.net", "WebServicesInternal", NULL, CSCERT_EPOLICY, "(R18)", "Default" },
        { "se01.litware.net", "Internal", NULL, CSCERT_EPOLICY, "StandardEdition role", "ReverseProxy" },
        { "dir01.litware.net", "AudioVideoAuthentication", NULL, CSCERT_EPOLICY, "Director role", "OAuthTokenIssuer" },
        /* a pool FQDN is not a computer: say which server to give */
        { "eepool.litware.net", "Default", NULL, CSCERT_ENOTFOUND, "is a pool", "--computer-fqdn ee01.litware.net" },
        { "nobody.litware.net", "Default", NULL, CSCERT_ENOTFOUND, "not a server", "nobody.litware.net" },
        { NULL, "Default", NULL, CSCERT_ENOTFOUND, "not a server", "computer FQDN" },
        /* --domain-name: wildcards only as the leftmost label, real host names only */
        { "se01.litware.net", "Default", "*.com", CSCERT_EINVAL, "--domain-name", "not fully qualified" },
        { "se01.litware.net", "Default", "ok.litware.com,10.1.2.3", CSCERT_EINVAL, "--domain-name", "IP address" },
        { "se01.litware.net", "Default", "a_b.litware.com", CSCERT_EINVAL, "'a_b.litware.com'", "RFC 1123" },
        { "se01.litware.net", "Default", "*.*.litware.com", CSCERT_EINVAL, "--domain-name", "RFC 1123" },
        /* spec 0: no wildcard SAN on the external Edge interfaces */
        { "edge01.litware.net", "AccessEdgeExternal", "*.litware.com", CSCERT_EINVAL, "'*.litware.com'",
          "not supported on the external Edge interfaces" },
        { "edge01.litware.net", "AudioVideoAuthentication", "x.litware.com, *.litware.com", CSCERT_EINVAL,
          "*.litware.com", "external Edge" },
    };
    size_t i;

    for (i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
        cscert_names n = { (cscert_name_entry *)1, 7 }; /* cleared even on failure */
        unsigned uses = 0;
        int rc;

        assert_int_equal(cscert_uses_parse(&uses, r[i].types), CSCERT_OK);
        rc = cscert_names_compute(&n, *state, r[i].server, uses, 0, r[i].extra);
        if (rc != r[i].code || !strstr(cscert_error_last(), r[i].msg1) || !strstr(cscert_error_last(), r[i].msg2))
            fail_msg("row %zu: rc %d '%s', wanted %d '%s' '%s'", i, rc, cscert_error_last(), r[i].code, r[i].msg1,
                     r[i].msg2);
        assert_null(n.v);
        assert_int_equal(n.n, 0);
    }
}

static void test_use_parsing(void **state)
{
    unsigned bit = 99, mask = 0;
    char buf[64];

    (void)state;
    assert_int_equal(cscert_use_parse(&bit, "webservicesEXTERNAL"), CSCERT_OK);
    assert_int_equal(bit, CSCERT_USE_WEB_EXTERNAL);
    assert_string_equal(cscert_use_name(bit), "WebServicesExternal");
    assert_int_equal(cscert_use_parse(&bit, "External"), CSCERT_EINVAL); /* Lync's CertType, not a cscert use */
    assert_non_null(strstr(cscert_error_last(), "unknown use 'External'"));
    assert_non_null(strstr(cscert_error_last(), "ReverseProxy"));
    assert_int_equal(bit, 0);
    assert_int_equal(cscert_use_parse(&bit, NULL), CSCERT_EINVAL);
    assert_int_equal(cscert_uses_parse(&mask, "xmppserver, XmppServer,internal"), CSCERT_OK);
    assert_int_equal(mask, CSCERT_USE_XMPP | CSCERT_USE_EDGE_INTERNAL);
    cscert_uses_format(buf, sizeof(buf), mask);
    assert_string_equal(buf, "Internal,XmppServer");
    assert_int_equal(cscert_uses_parse(&mask, "Default,,WebServicesInternal"), CSCERT_OK);
    assert_int_equal(mask, CSCERT_USE_DEFAULT | CSCERT_USE_WEB_INTERNAL);
    /* R17: exportable for another computer, R10-R12 always, else not */
    assert_false(cscert_names_key_exportable(CSCERT_USE_DEFAULT, "fe01.contoso.net", "FE01.contoso.net"));
    assert_true(cscert_names_key_exportable(CSCERT_USE_DEFAULT, "fe02.contoso.net", "fe01.contoso.net"));
    assert_true(cscert_names_key_exportable(CSCERT_USE_ACCESS_EDGE, NULL, NULL));
    assert_true(cscert_names_key_exportable(CSCERT_USE_DATA_EDGE, "a.b.c", "a.b.c"));
    assert_false(cscert_names_key_exportable(CSCERT_USE_EDGE_INTERNAL | CSCERT_USE_XMPP, NULL, "a.b.c"));
    assert_int_equal(cscert_uses_min_rsa_bits(CSCERT_USE_DEFAULT | CSCERT_USE_WEB_INTERNAL), 0);
    assert_int_equal(cscert_uses_min_rsa_bits(CSCERT_USE_DEFAULT | CSCERT_USE_OAUTH), 2048);
}

static void test_role_uses(void **state)
{
    const cscert_topology *t = *state;
    char buf[256];
    size_t i;

    /* DESIGN clarifications: what `check` requires per role */
    for (i = 0; i < t->n_pools; i++) {
        const cscert_pool *p = &t->pools[i];
        const char *want = p->role == CSCERT_ROLE_EDGE        ? "AccessEdgeExternal,DataEdgeExternal,AudioVideoAuthentication,Internal,XmppServer"
                           : p->role == CSCERT_ROLE_MEDIATION ? "Default"
                                                              : "Default,WebServicesInternal,WebServicesExternal,OAuthTokenIssuer";

        cscert_uses_format(buf, sizeof(buf), cscert_pool_required_uses(p));
        assert_string_equal(buf, want);
        /* ReverseProxy is requested, never required */
        assert_false(cscert_pool_required_uses(p) & CSCERT_USE_REVERSE_PROXY);
    }
    cscert_uses_format(buf, sizeof(buf), cscert_role_uses(CSCERT_ROLE_DIRECTOR));
    assert_string_equal(buf, "Default,WebServicesInternal,WebServicesExternal,OAuthTokenIssuer,ReverseProxy");
    assert_int_equal(cscert_role_uses((cscert_role)0), 0);
}

static void test_refusals(void **state)
{
    cscert_names n = { NULL, 0 };
    unsigned uses = 0;

    assert_int_equal(cscert_uses_parse(&uses, "Default,Defualt"), CSCERT_EINVAL);
    assert_non_null(strstr(cscert_error_last(), "unknown use 'Defualt'"));
    assert_int_equal(cscert_uses_parse(&uses, " , "), CSCERT_EINVAL);
    assert_int_equal(cscert_uses_parse(&uses, NULL), CSCERT_EINVAL);
    /* R18: a web use on an Edge server, naming the role and its uses */
    assert_int_equal(cscert_uses_parse(&uses, "WebServicesExternal"), CSCERT_OK);
    assert_int_equal(cscert_names_compute(&n, *state, "edge01.contoso.net", uses, 0, NULL), CSCERT_EPOLICY);
    assert_non_null(strstr(cscert_error_last(), "Edge role"));
    assert_non_null(strstr(cscert_error_last(), "AccessEdgeExternal"));
    assert_int_equal(cscert_uses_parse(&uses, "Internal"), CSCERT_OK);
    assert_int_equal(cscert_names_compute(&n, *state, "medsvr01.contoso.net", uses, 0, NULL), CSCERT_EPOLICY);
    assert_int_equal(cscert_names_compute(&n, *state, "nobody.contoso.com", uses, 0, NULL), CSCERT_ENOTFOUND);
    assert_int_equal(cscert_uses_parse(&uses, "Default"), CSCERT_OK);
    assert_int_equal(cscert_names_compute(&n, *state, "se01.contoso.com", uses, 0, "bad..name"), CSCERT_EINVAL);
    assert_int_equal(cscert_names_compute(&n, *state, "se01.contoso.com", uses, 0, "a.*.contoso.com"), CSCERT_EINVAL);
    assert_null(n.v);
}

static void test_role_tables(void **state)
{
    const cscert_topology *t = *state;
    const cscert_pool *edge = cscert_topology_find_server(t, "edge01.contoso.net");
    const cscert_pool *fe = cscert_topology_find_server(t, "ee01.contoso.com");
    char buf[256];

    cscert_uses_format(buf, sizeof(buf), cscert_pool_required_uses(fe));
    assert_string_equal(buf, "Default,WebServicesInternal,WebServicesExternal,OAuthTokenIssuer");
    cscert_uses_format(buf, sizeof(buf), cscert_pool_required_uses(edge));
    assert_string_equal(buf, "AccessEdgeExternal,DataEdgeExternal,AudioVideoAuthentication,Internal,XmppServer");
    assert_true(cscert_uses_key_exportable(CSCERT_USE_AV_AUTH));
    assert_true(cscert_uses_key_exportable(CSCERT_USE_OAUTH));
    assert_false(cscert_uses_key_exportable(CSCERT_USE_DEFAULT | CSCERT_USE_WEB_INTERNAL));
    assert_int_equal(cscert_uses_min_rsa_bits(CSCERT_USE_OAUTH), 2048);
    assert_string_equal(cscert_use_name(CSCERT_USE_REVERSE_PROXY), "ReverseProxy");
    assert_null(cscert_use_name(1u << 12));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_vectors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_role_tables, setup, teardown),
        cmocka_unit_test_setup_teardown(test_three_domains, setup3, teardown),
        cmocka_unit_test_setup_teardown(test_three_domains_refusals, setup3, teardown),
        cmocka_unit_test_setup_teardown(test_role_uses, setup3, teardown),
        cmocka_unit_test(test_use_parsing),
    };
    return cmocka_run_group_tests_name("names", tests, NULL, NULL);
}
