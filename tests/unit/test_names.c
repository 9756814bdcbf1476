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
    };
    return cmocka_run_group_tests_name("names", tests, NULL, NULL);
}
