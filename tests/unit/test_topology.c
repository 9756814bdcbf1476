/* test_topology.c: parsing and validation of the topology document; each
 * hostile row names its JSON path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cscert/topology.h"

#define BASE_HEAD "{\"sip_domains\":[\"contoso.com\",\"fabrikam.com\"]," \
    "\"simple_urls\":{\"meet\":\"meet.contoso.com\",\"dialin\":\"dialin.contoso.com\"},"
#define FE_POOL "{\"fqdn\":\"pool01.contoso.net\",\"role\":\"FrontEnd\",\"servers\":[\"fe01.contoso.net\"]," \
    "\"web_services\":{\"internal\":\"webint.contoso.net\",\"external\":\"webext.contoso.com\"}}"

static void test_valid(void **state)
{
    cscert_topology *t = NULL;
    const char *doc = BASE_HEAD "\"sites\":[{\"name\":\"R\",\"pools\":[" FE_POOL ",{\"fqdn\":\"Edge.Contoso.NET\","
                      "\"role\":\"edge\",\"servers\":[\"EDGE01.contoso.net\"],\"edge\":{\"access\":\"sip.contoso.com\","
                      "\"webconf\":\"wc.contoso.com\",\"av\":\"av.contoso.com\"},\"xmpp_domains\":[\"contoso.com\"]}]}]}";
    const cscert_pool *p;
    char *json = NULL;

    (void)state;
    assert_int_equal(cscert_topology_parse(&t, doc, strlen(doc), "t.json"), CSCERT_OK);
    assert_int_equal(t->n_sip, 2);
    assert_int_equal(t->n_meet, 1); /* a string is a one-item list */
    assert_int_equal(t->n_pools, 2);
    p = cscert_topology_find_server(t, "Edge01.CONTOSO.net");
    assert_non_null(p);
    assert_int_equal(p->role, CSCERT_ROLE_EDGE);
    assert_string_equal(p->fqdn, "edge.contoso.net"); /* lower-cased */
    assert_int_equal(p->n_xmpp, 1);
    assert_null(cscert_topology_find_server(t, "nobody.contoso.net"));
    assert_int_equal(cscert_topology_to_json(&json, t), CSCERT_OK);
    assert_non_null(strstr(json, "\"role\": \"Edge\""));
    free(json);
    cscert_topology_free(t);
}

struct bad_row {
    const char *doc;
    const char *msg;
};

static void test_hostile(void **state)
{
    static const struct bad_row rows[] = {
        { "{", "line 1" },
        { "[]", "not an object" },
        { BASE_HEAD "\"sites\":[{\"name\":\"R\",\"pols\":[]}]}", "unknown key 'pols' at sites[0]; did you mean 'pools'?" },
        { BASE_HEAD "\"sites\":[], \"zzz\":1}", "unknown key 'zzz' at the top level" },
        { "{\"simple_urls\":{},\"sites\":[]}", "missing required key 'sip_domains'" },
        { BASE_HEAD "\"sites\":[{\"name\":\"R\",\"pools\":[{\"role\":\"FrontEnd\"}]}]}", "missing required key 'fqdn' at sites[0].pools[0]" },
        { BASE_HEAD "\"sites\":[{\"name\":\"R\",\"pools\":[{\"fqdn\":\"p.contoso.net\",\"role\":\"Gateway\",\"servers\":[\"a.contoso.net\"]}]}]}", "unknown role 'Gateway'" },
        { BASE_HEAD "\"sites\":[{\"name\":\"R\",\"pools\":[{\"fqdn\":\"p.contoso.net\",\"role\":\"Mediation\",\"servers\":[\"a..contoso.net\"]}]}]}", "sites[0].pools[0].servers[0]" },
        { BASE_HEAD "\"sites\":[{\"name\":\"R\",\"pools\":[{\"fqdn\":\"*.contoso.net\",\"role\":\"Mediation\",\"servers\":[\"a.contoso.net\"]}]}]}", "wildcard" },
        { BASE_HEAD "\"sites\":[{\"name\":\"R\",\"pools\":[{\"fqdn\":\"-p.contoso.net\",\"role\":\"Mediation\",\"servers\":[\"a.contoso.net\"]}]}]}", "RFC 1123" },
        { BASE_HEAD "\"sites\":[{\"name\":\"R\",\"pools\":[{\"fqdn\":\"p\",\"role\":\"Mediation\",\"servers\":[\"a.contoso.net\"]}]}]}", "not fully qualified" },
        { "{\"sip_domains\":[\"contoso.com\",\"Contoso.com\"],\"sites\":[]}", "duplicate 'contoso.com'" },
        { "{\"sip_domains\":\"contoso.com\",\"sites\":[]}", "must be an array" },
        { BASE_HEAD "\"sites\":[{\"name\":\"R\",\"pools\":[" FE_POOL ",{\"fqdn\":\"m.contoso.net\",\"role\":\"Mediation\",\"servers\":[\"fe01.contoso.net\"]}]}]}", "server 'fe01.contoso.net' is in pool" },
        { BASE_HEAD "\"sites\":[{\"name\":\"R\",\"pools\":[" FE_POOL ",{\"fqdn\":\"d.contoso.net\",\"role\":\"Director\",\"servers\":[\"d.contoso.net\"],\"web_services\":{\"internal\":\"d.contoso.net\",\"external\":\"WEBEXT.contoso.com\"}}]}]}", "R7" },
        { BASE_HEAD "\"sites\":[{\"name\":\"R\",\"pools\":[{\"fqdn\":\"p.contoso.net\",\"role\":\"FrontEnd\",\"servers\":[\"a.contoso.net\"]}]}]}", "missing required key 'web_services'" },
        { BASE_HEAD "\"sites\":[{\"name\":\"R\",\"pools\":[{\"fqdn\":\"e.contoso.net\",\"role\":\"Edge\",\"servers\":[\"a.contoso.net\"],\"edge\":{\"access\":\"s.contoso.com\",\"webconf\":\"w.contoso.com\"}}]}]}", "missing required key 'av' at sites[0].pools[0].edge" },
        { BASE_HEAD "\"certification_authorities\":[{\"name\":\"nobackslash\"}],\"sites\":[]}", "FQDN\\Instance" },
        { BASE_HEAD "\"certification_authorities\":[{\"name\":\"dc.contoso.net\\\\CA\",\"url\":\"http://x\"}],\"sites\":[]}", "not https" },
        { "{\"sip_domains\":[\"contoso.com\"],\"sites\":[{\"name\":\"R\",\"pools\":[" FE_POOL "]}]}", "meet and dialin are required" },
        { "{\"sip_domains\":[\"contoso.com\"],\"automatic_sign_in_domains\":[\"other.com\"],\"sites\":[]}", "not a SIP domain" },
        { "{\"sip_domains\":[\"a.com\"],\"sites\":[],\"sites\":[]}", "duplicate" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        cscert_topology *t = NULL;
        int rc = cscert_topology_parse(&t, rows[i].doc, strlen(rows[i].doc), "t.json");

        if (rc != CSCERT_EINVAL || !strstr(cscert_error_last(), rows[i].msg) || !strstr(cscert_error_last(), "t.json"))
            fail_msg("row %zu: rc %d, message '%s', wanted '%s'", i, rc, cscert_error_last(), rows[i].msg);
        assert_null(t);
    }
}

static void test_fqdn(void **state)
{
    char out[254], longname[300];

    (void)state;
    assert_int_equal(cscert_fqdn_check(out, "Pool01.Contoso.NET", 0, "x"), CSCERT_OK);
    assert_string_equal(out, "pool01.contoso.net");
    assert_int_equal(cscert_fqdn_check(out, "*.contoso.com", 1, "x"), CSCERT_OK);
    assert_int_equal(cscert_fqdn_check(out, "*.contoso.com", 0, "x"), CSCERT_EINVAL);
    assert_int_equal(cscert_fqdn_check(out, "a.*.contoso.com", 1, "x"), CSCERT_EINVAL);
    assert_int_equal(cscert_fqdn_check(out, "a-.contoso.com", 0, "x"), CSCERT_EINVAL);
    assert_int_equal(cscert_fqdn_check(out, "a_b.contoso.com", 0, "x"), CSCERT_EINVAL);
    assert_int_equal(cscert_fqdn_check(out, "contoso.com.", 0, "x"), CSCERT_EINVAL);
    assert_int_equal(cscert_fqdn_check(out, "", 0, "x"), CSCERT_EINVAL);
    memset(longname, 'a', 64);
    strcpy(longname + 64, ".contoso.com");
    assert_int_equal(cscert_fqdn_check(out, longname, 0, "x"), CSCERT_EINVAL); /* label of 64 */
    memset(longname, 'a', 250);
    strcpy(longname + 250, ".com");
    assert_int_equal(cscert_fqdn_check(out, longname, 0, "x"), CSCERT_EINVAL);
    assert_non_null(strstr(cscert_error_last(), "253"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_fqdn),
    };
    return cmocka_run_group_tests_name("topology", tests, NULL, NULL);
}
