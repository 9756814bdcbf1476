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

#define CA_OK "{\"name\":\"dc.contoso.net\\\\CA\",\"url\":\"https://dc.contoso.net:8443/\"}"
#define MED_POOL(fqdn, server) "{\"fqdn\":\"" fqdn "\",\"role\":\"Mediation\",\"servers\":[\"" server "\"]}"

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
        /* the document itself is "the top level", never an empty path */
        { "{\"sites\":[]}", "missing required key 'sip_domains' at the top level" },
        { "{\"sip_domains\":[\"contoso.com\"]}", "missing required key 'sites' at the top level" },
        { "{\"sip_domains\":[],\"sites\":[]}", "no SIP domain at sip_domains" },
        { "{\"sip_domains\":[\"contoso.com\"],\"simple_urls\":{\"meet\":7},\"sites\":[]}",
          "'meet' must be a string or an array of strings at simple_urls.meet" },
        { "{\"sip_domains\":[\"contoso.com\"],\"simple_urls\":{\"dialin\":[\"d.contoso.com\"]},\"sites\":[]}",
          "'dialin' must be a string at simple_urls.dialin" },
        { "{\"sip_domains\":[\"contoso.com\"],\"simple_urls\":{\"meet\":[\"m.contoso.com\",1]},\"sites\":[]}",
          "at simple_urls.meet[1]" },
        /* a suggestion only for a near miss */
        { BASE_HEAD "\"certification_authorities\":[{\"name\":\"dc.contoso.net\\\\CA\",\"url\":\"https://dc.contoso.net/\",\"zzz\":1}],\"sites\":[]}",
          "unknown key 'zzz' at certification_authorities[0]; remove it" },
        { BASE_HEAD "\"sites\":[{\"name\":\"R\",\"pools\":[{\"fqdn\":\"p.contoso.net\",\"role\":\"FrontEnd\",\"servers\":[\"a.contoso.net\"],\"webservices\":{}}]}]}",
          "unknown key 'webservices' at sites[0].pools[0]; did you mean 'web_services'?" },
        { BASE_HEAD "\"sites\":[{\"name\":\"R\",\"pools\":[{\"fqdn\":\"e.contoso.net\",\"role\":\"Edge\",\"servers\":[\"a.contoso.net\"],\"edge\":{\"acess\":\"s.contoso.com\"}}]}]}",
          "unknown key 'acess' at sites[0].pools[0].edge; did you mean 'access'?" },
        /* wrong types */
        { BASE_HEAD "\"sites\":{}}", "must be an array at sites" },
        { BASE_HEAD "\"sites\":[{\"name\":\"R\",\"pools\":[7]}]}", "sites[0].pools[0] must be an object" },
        { BASE_HEAD "\"sites\":[{\"name\":\"R\",\"pools\":[{\"fqdn\":\"p.contoso.net\",\"role\":3}]}]}", "role must be a string" },
        { BASE_HEAD "\"sites\":[{\"name\":\"R\",\"pools\":[{\"fqdn\":7}]}]}", "'fqdn' must be a string at sites[0].pools[0].fqdn" },
        { BASE_HEAD "\"sites\":[{\"name\":\"R\",\"pools\":[{\"fqdn\":\"p.contoso.net\",\"role\":\"FrontEnd\",\"servers\":[\"a.contoso.net\"],\"web_services\":\"w.contoso.net\"}]}]}",
          "sites[0].pools[0].web_services must be an object" },
        /* FQDNs: IP addresses and numeric top-level labels are not host names */
        { BASE_HEAD "\"sites\":[{\"name\":\"R\",\"pools\":[{\"fqdn\":\"p.contoso.net\",\"role\":\"Mediation\",\"servers\":[\"10.0.0.1\"]}]}]}",
          "'10.0.0.1' is an IP address" },
        { BASE_HEAD "\"sites\":[{\"name\":\"R\",\"pools\":[" MED_POOL("p.contoso.123", "a.contoso.net") "]}]}", "numeric top-level label" },
        { BASE_HEAD "\"sites\":[{\"name\":\"R\",\"pools\":[" MED_POOL("p\u00f6.contoso.net", "a.contoso.net") "]}]}", "RFC 1123) at sites[0].pools[0].fqdn" },
        { BASE_HEAD "\"office_web_apps\":\"*.contoso.com\",\"sites\":[]}", "wildcard where none is allowed at office_web_apps" },
        { BASE_HEAD "\"sites\":[{\"name\":\"R\",\"pools\":[{\"fqdn\":\"e.contoso.net\",\"role\":\"Edge\",\"servers\":[\"a.contoso.net\"],\"edge\":{\"access\":\"*.contoso.com\",\"webconf\":\"w.contoso.com\",\"av\":\"av.contoso.com\"}}]}]}",
          "at sites[0].pools[0].edge.access" },
        /* roles and their keys */
        { BASE_HEAD "\"sites\":[{\"name\":\"R\",\"pools\":[{\"fqdn\":\"p.contoso.net\",\"role\":\"Mediation\",\"servers\":[]}]}]}", "'servers' is empty" },
        { BASE_HEAD "\"sites\":[{\"name\":\"R\",\"pools\":[{\"fqdn\":\"p.contoso.net\",\"role\":\"FrontEnd\",\"servers\":[\"a.contoso.net\"],\"web_services\":{\"internal\":\"i.contoso.net\",\"external\":\"e.contoso.com\"},\"edge\":{}}]}]}",
          "only an Edge pool has 'edge'" },
        { BASE_HEAD "\"sites\":[{\"name\":\"R\",\"pools\":[{\"fqdn\":\"p.contoso.net\",\"role\":\"Mediation\",\"servers\":[\"a.contoso.net\"],\"xmpp_domains\":[\"contoso.com\"]}]}]}",
          "only an Edge pool has 'xmpp_domains'" },
        { BASE_HEAD "\"sites\":[{\"name\":\"R\",\"pools\":[{\"fqdn\":\"p.contoso.net\",\"role\":\"Mediation\",\"servers\":[\"a.contoso.net\"],\"web_services\":{}}]}]}",
          "a Mediation pool has no 'web_services'" },
        { BASE_HEAD "\"sites\":[{\"name\":\"R\",\"pools\":[{\"fqdn\":\"p.contoso.net\",\"role\":\"FrontEnd\",\"servers\":[\"a.contoso.net\"],\"web_services\":{\"internal\":\"i.contoso.net\"}}]}]}",
          "missing required key 'external' at sites[0].pools[0].web_services" },
        /* sites, pools, servers across the document */
        { BASE_HEAD "\"sites\":[{\"name\":\"R\",\"pools\":[]},{\"name\":\"r\",\"pools\":[]}]}", "duplicate site 'r' at sites[1].name" },
        { BASE_HEAD "\"sites\":[{\"name\":\"\",\"pools\":[]}]}", "non-empty string at sites[0].name" },
        { BASE_HEAD "\"sites\":[{\"name\":\"R\",\"pools\":[" MED_POOL("m.contoso.net", "a.contoso.net") "]},{\"name\":\"S\",\"pools\":[" MED_POOL("M.contoso.net", "b.contoso.net") "]}]}",
          "pool 'm.contoso.net' is defined twice at sites[1].pools[0].fqdn" },
        { BASE_HEAD "\"sites\":[{\"name\":\"R\",\"pools\":[" MED_POOL("m.contoso.net", "a.contoso.net") "," MED_POOL("n.contoso.net", "b.contoso.net") "," MED_POOL("o.contoso.net", "A.contoso.net") "]}]}",
          "server 'a.contoso.net' is in pool 'm.contoso.net' and in pool 'o.contoso.net' at sites[0].pools[2].servers[0]" },
        { BASE_HEAD "\"sites\":[{\"name\":\"R\",\"pools\":[" MED_POOL("m.contoso.net", "a.contoso.net") "," MED_POOL("a.contoso.net", "b.contoso.net") "]}]}",
          "pool 'a.contoso.net' has the FQDN of a server of pool 'm.contoso.net' at sites[0].pools[1].fqdn" },
        { BASE_HEAD "\"sites\":[{\"name\":\"R\",\"pools\":[" MED_POOL("m.contoso.net", "a.contoso.net") "]},{\"name\":\"S\",\"pools\":[" FE_POOL ",{\"fqdn\":\"d.contoso.net\",\"role\":\"Director\",\"servers\":[\"d.contoso.net\"],\"web_services\":{\"internal\":\"d.contoso.net\",\"external\":\"webext.contoso.com\"}}]}]}",
          "R7: the Director pool 'd.contoso.net' and the pool 'pool01.contoso.net' share the external web services FQDN 'webext.contoso.com' at sites[1].pools[1].web_services.external" },
        { BASE_HEAD "\"sites\":[{\"name\":\"R\",\"pools\":[" MED_POOL("m.contoso.net", "a.contoso.net") "," MED_POOL("m2.contoso.net", "a.contoso.net") "]}]}",
          "at sites[0].pools[1].servers[0]" },
        /* certification authorities */
        { BASE_HEAD "\"certification_authorities\":[{\"url\":\"https://dc.contoso.net/\"}],\"sites\":[]}", "missing required key 'name' at certification_authorities[0]" },
        { BASE_HEAD "\"certification_authorities\":[{\"name\":\"dc.contoso.net\\\\CA\"}],\"sites\":[]}", "missing required key 'url' at certification_authorities[0]" },
        { BASE_HEAD "\"certification_authorities\":[{\"name\":\"\\\\CA\",\"url\":\"https://dc.contoso.net/\"}],\"sites\":[]}", "is not FQDN\\Instance at certification_authorities[0].name" },
        { BASE_HEAD "\"certification_authorities\":[{\"name\":\"dc.contoso.net\\\\\",\"url\":\"https://dc.contoso.net/\"}],\"sites\":[]}", "is not FQDN\\Instance" },
        { BASE_HEAD "\"certification_authorities\":[{\"name\":\"dc\\\\CA\",\"url\":\"https://dc.contoso.net/\"}],\"sites\":[]}", "not fully qualified at certification_authorities[0].name" },
        { BASE_HEAD "\"certification_authorities\":[{\"name\":\"dc.contoso.net\\\\CA\",\"url\":\"https://\"}],\"sites\":[]}", "has no host at certification_authorities[0].url" },
        { BASE_HEAD "\"certification_authorities\":[{\"name\":\"dc.contoso.net\\\\CA\",\"url\":\"https://bad_host/\"}],\"sites\":[]}", "at certification_authorities[0].url" },
        { BASE_HEAD "\"certification_authorities\":[{\"name\":\"dc.contoso.net\\\\CA\",\"url\":\"ftp://dc.contoso.net/\"}],\"sites\":[]}", "not https:// at certification_authorities[0].url" },
        { BASE_HEAD "\"certification_authorities\":[{\"name\":\"dc.contoso.net\\\\CA\",\"url\":7}],\"sites\":[]}", "url must be a string" },
        { BASE_HEAD "\"certification_authorities\":[{\"name\":\"dc.contoso.net\\\\CA\",\"url\":\"https://dc.contoso.net/\",\"address\":\"dc.contoso.net\"}],\"sites\":[]}",
          "'dc.contoso.net' is not an IP address at certification_authorities[0].address" },
        { BASE_HEAD "\"certification_authorities\":[" CA_OK ",{\"name\":\"DC.contoso.net\\\\ca\",\"url\":\"https://x.contoso.net/\"}],\"sites\":[]}",
          "duplicate CA 'dc.contoso.net\\ca' at certification_authorities[1]" },
        { BASE_HEAD "\"certification_authorities\":{},\"sites\":[]}", "must be an array at certification_authorities" },
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

/* The normalized form: lower-case FQDNs (CA host too, not its instance),
 * canonical roles, https:// in lower case; it parses to itself. */
static void test_normalized_round_trip(void **state)
{
    const char *doc = "{\"sip_domains\":[\"Contoso.COM\"],\"simple_urls\":{\"meet\":\"Meet.contoso.com\","
                      "\"dialin\":\"dialin.contoso.com\"},\"certification_authorities\":[{\"name\":"
                      "\"DC01.Contoso.NET\\\\contoso-DC01-CA\",\"url\":\"HTTPS://dc01.contoso.net:8443/\","
                      "\"address\":\"::1\"},{\"name\":\"ca2.contoso.net\\\\B\",\"url\":\"https://[::1]:9443/\"}],"
                      "\"sites\":[{\"name\":\"R\",\"pools\":[{\"fqdn\":\"P.contoso.net\",\"role\":\"standardedition\","
                      "\"servers\":[\"P.contoso.net\"],\"web_services\":{\"internal\":\"P.contoso.net\","
                      "\"external\":\"Web.contoso.com\"}}]},{\"name\":\"Empty\",\"pools\":[]}]}";
    cscert_topology *t = NULL, *t2 = NULL;
    const cscert_topology_ca *ca;
    char *j1 = NULL, *j2 = NULL;

    (void)state;
    assert_int_equal(cscert_topology_parse(&t, doc, strlen(doc), "n.json"), CSCERT_OK);
    assert_string_equal(t->sip_domains[0], "contoso.com");
    assert_string_equal(t->meet[0], "meet.contoso.com");
    assert_int_equal(t->pools[0].role, CSCERT_ROLE_STANDARD_EDITION);
    ca = cscert_topology_find_ca(t, "dc01.contoso.net\\CONTOSO-dc01-ca");
    assert_non_null(ca);
    assert_string_equal(ca->name, "dc01.contoso.net\\contoso-DC01-CA");
    assert_string_equal(ca->url, "https://dc01.contoso.net:8443/");
    assert_string_equal(ca->address, "::1");
    assert_null(cscert_topology_find_ca(t, "dc01.contoso.net"));
    assert_null(cscert_topology_find_ca(t, NULL));
    assert_int_equal(cscert_topology_to_json(&j1, t), CSCERT_OK);
    assert_non_null(strstr(j1, "\"role\": \"StandardEdition\""));
    assert_int_equal(cscert_topology_parse(&t2, j1, strlen(j1), "j1"), CSCERT_OK);
    assert_int_equal(cscert_topology_to_json(&j2, t2), CSCERT_OK);
    assert_string_equal(j1, j2);
    free(j1);
    free(j2);
    cscert_topology_free(t);
    cscert_topology_free(t2);
    cscert_topology_free(NULL); /* NULL-safe */
}

/* The shipped fixtures parse, and every role is there. */
static void test_fixtures(void **state)
{
    static const char *const files[] = { "tests/fixtures/contoso.json", "tests/fixtures/three-domains.json" };
    size_t i, k;

    (void)state;
    for (i = 0; i < 2; i++) {
        cscert_topology *t = NULL;
        unsigned roles = 0;

        if (cscert_topology_load_file(&t, files[i]) != CSCERT_OK)
            fail_msg("%s: %s", files[i], cscert_error_last());
        for (k = 0; k < t->n_pools; k++)
            roles |= 1u << t->pools[k].role;
        assert_true(roles & (1u << CSCERT_ROLE_FRONT_END));
        assert_true(roles & (1u << CSCERT_ROLE_DIRECTOR));
        assert_true(roles & (1u << CSCERT_ROLE_EDGE));
        assert_true(roles & (1u << CSCERT_ROLE_MEDIATION));
        if (i == 1) {
            assert_true(roles & (1u << CSCERT_ROLE_STANDARD_EDITION));
            assert_int_equal(t->n_sip, 3);
        }
        cscert_topology_free(t);
    }
    assert_int_equal(cscert_topology_load_file(&(cscert_topology *){ NULL }, "tests/fixtures/nonexistent.json"),
                     CSCERT_EIO);
    assert_non_null(strstr(cscert_error_last(), "nonexistent.json"));
}

static char *setting(cscert_store *st, const char *key)
{
    char *v = NULL;

    return cscert_store_get_setting(&v, st, key) == CSCERT_OK ? v : NULL;
}

/* publish: validate, check the computer, save both settings in one
 * transaction; a refusal changes nothing (@e2e t_topology.sh). */
static void test_publish(void **state)
{
    const char *doc = BASE_HEAD "\"sites\":[{\"name\":\"R\",\"pools\":[" FE_POOL "]}]}";
    const char *doc2 = BASE_HEAD "\"sites\":[{\"name\":\"R\",\"pools\":[" FE_POOL "," MED_POOL("m.contoso.net", "med01.contoso.net") "]}]}";
    const char *bad = BASE_HEAD "\"sites\":[{\"name\":\"R\",\"pols\":[]}]}";
    char tmpl[] = "/tmp/cscert-topo.XXXXXX", home[64], cmd[128], *v, *fq = NULL;
    cscert_topology *t = NULL;
    cscert_store *st = NULL;

    (void)state;
    assert_non_null(mkdtemp(tmpl));
    snprintf(home, sizeof(home), "%s/home", tmpl);
    assert_int_equal(cscert_store_open(&st, home), CSCERT_OK);
    /* nothing published yet */
    assert_int_equal(cscert_topology_load_published(&t, &fq, st), CSCERT_ENOTFOUND);
    assert_non_null(strstr(cscert_error_last(), "cscert topology publish FILE"));
    assert_null(t);
    /* a computer in no pool: refused, listing servers */
    assert_int_equal(cscert_topology_publish(st, doc, strlen(doc), "t.json", "other.contoso.net"), CSCERT_EINVAL);
    assert_non_null(strstr(cscert_error_last(), "fe01.contoso.net"));
    assert_null(setting(st, "topology"));
    assert_int_equal(cscert_topology_publish(st, doc, strlen(doc), "t.json", "*.contoso.net"), CSCERT_EINVAL);
    assert_null(setting(st, "computer_fqdn"));
    /* published, normalized, with the computer FQDN lower-cased */
    assert_int_equal(cscert_topology_publish(st, doc, strlen(doc), "t.json", "FE01.contoso.net"), CSCERT_OK);
    assert_non_null(v = setting(st, "computer_fqdn"));
    assert_string_equal(v, "fe01.contoso.net");
    free(v);
    assert_int_equal(cscert_topology_load_published(&t, &fq, st), CSCERT_OK);
    assert_string_equal(fq, "fe01.contoso.net");
    assert_int_equal(t->n_pools, 1);
    cscert_topology_free(t);
    free(fq);
    /* a refused document leaves both settings as they were */
    v = setting(st, "topology");
    assert_int_equal(cscert_topology_publish(st, bad, strlen(bad), "bad.json", "med01.contoso.net"), CSCERT_EINVAL);
    assert_non_null(strstr(cscert_error_last(), "did you mean 'pools'?"));
    {
        char *v2 = setting(st, "topology"), *f2 = setting(st, "computer_fqdn");

        assert_string_equal(v, v2);
        assert_string_equal(f2, "fe01.contoso.net");
        free(v2);
        free(f2);
    }
    free(v);
    /* no --computer-fqdn: the saved one stays */
    assert_int_equal(cscert_topology_publish(st, doc2, strlen(doc2), "t2.json", NULL), CSCERT_OK);
    assert_non_null(v = setting(st, "computer_fqdn"));
    assert_string_equal(v, "fe01.contoso.net");
    free(v);
    /* a new identity */
    assert_int_equal(cscert_topology_publish(st, doc2, strlen(doc2), "t2.json", "med01.contoso.net"), CSCERT_OK);
    assert_int_equal(cscert_topology_load_published(&t, NULL, st), CSCERT_OK);
    assert_int_equal(t->n_pools, 2);
    cscert_topology_free(t);
    assert_non_null(v = setting(st, "computer_fqdn"));
    assert_string_equal(v, "med01.contoso.net");
    free(v);
    /* the saved identity is no longer in the new topology: refused */
    assert_int_equal(cscert_topology_publish(st, doc, strlen(doc), "t.json", NULL), CSCERT_EINVAL);
    assert_non_null(strstr(cscert_error_last(), "med01.contoso.net"));
    assert_int_equal(cscert_topology_publish_file(st, "tests/fixtures/nonexistent.json", NULL), CSCERT_EIO);
    cscert_store_free(st);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
    assert_int_equal(system(cmd), 0);
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
    memset(longname, 'a', 63);
    strcpy(longname + 63, ".contoso.com"); /* a label of 63 is fine */
    assert_int_equal(cscert_fqdn_check(out, longname, 0, "x"), CSCERT_OK);
    assert_int_equal(cscert_fqdn_check(out, "*.com", 1, "x"), CSCERT_EINVAL);      /* *.tld */
    assert_int_equal(cscert_fqdn_check(out, "*", 1, "x"), CSCERT_EINVAL);
    assert_int_equal(cscert_fqdn_check(out, "a*.contoso.com", 1, "x"), CSCERT_EINVAL);
    assert_int_equal(cscert_fqdn_check(out, "192.168.1.1", 0, "x"), CSCERT_EINVAL);
    assert_int_equal(cscert_fqdn_check(out, "1st.contoso.com", 0, "x"), CSCERT_OK); /* RFC 1123: digits first */
    assert_int_equal(cscert_fqdn_check(out, "a.b-.com", 0, "x"), CSCERT_EINVAL);
    assert_int_equal(cscert_fqdn_check(out, ".contoso.com", 0, "x"), CSCERT_EINVAL);
    assert_int_equal(cscert_fqdn_check(out, "a b.contoso.com", 0, "x"), CSCERT_EINVAL);
    assert_int_equal(cscert_fqdn_check(out, NULL, 0, "x"), CSCERT_EINVAL);
    assert_int_equal(cscert_fqdn_check(out, "x\xc3\xa9.contoso.com", 0, "x"), CSCERT_EINVAL);
    assert_non_null(strstr(cscert_error_last(), "x: "));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_fqdn),
        cmocka_unit_test(test_normalized_round_trip),
        cmocka_unit_test(test_fixtures),
        cmocka_unit_test(test_publish),
    };
    return cmocka_run_group_tests_name("topology", tests, NULL, NULL);
}
