/* test_web.c: the bindings' rules (defaults, port, address, use per role,
 * address:port clashes, hostile site names), each refusal leaving the
 * bindings unchanged; verify's results without a server (unreachable,
 * unassigned) and its JSON; web_running's pid file. Serving is judged
 * end to end in tests/e2e/t_web.sh with openssl and curl. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cmocka.h>

#include "cscert/store.h"
#include "cscert/topology.h"
#include "cscert/web.h"

static const char topo[] =
    "{ \"sip_domains\": [\"contoso.com\"],"
    "  \"simple_urls\": { \"meet\": [\"meet.contoso.com\"], \"dialin\": \"dialin.contoso.com\" },"
    "  \"sites\": [ { \"name\": \"Redmond\", \"pools\": ["
    "    { \"fqdn\": \"pool01.contoso.net\", \"role\": \"FrontEnd\", \"servers\": [\"fe01.contoso.net\"],"
    "      \"web_services\": { \"internal\": \"webpool01.contoso.net\", \"external\": \"webpool01.contoso.com\" } },"
    "    { \"fqdn\": \"med01.contoso.net\", \"role\": \"Mediation\", \"servers\": [\"med01.contoso.net\"] },"
    "    { \"fqdn\": \"edgepool01.contoso.net\", \"role\": \"Edge\", \"servers\": [\"edge01.contoso.net\"],"
    "      \"edge\": { \"access\": \"sip.contoso.com\", \"webconf\": \"webconf.contoso.com\", \"av\": \"av.contoso.com\" } }"
    "  ] } ] }";

struct fx {
    char dir[64], home[80];
    cscert_store *st;
};

static int setup_as(void **state, const char *fqdn)
{
    struct fx *f = calloc(1, sizeof(*f));

    snprintf(f->dir, sizeof(f->dir), "/tmp/cscert-web-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->home, sizeof(f->home), "%s/home", f->dir);
    assert_int_equal(cscert_store_open(&f->st, f->home), CSCERT_OK);
    if (fqdn)
        assert_int_equal(cscert_topology_publish(f->st, topo, strlen(topo), "topo.json", fqdn), CSCERT_OK);
    *state = f;
    return 0;
}

static int setup_fe(void **state) { return setup_as(state, "fe01.contoso.net"); }
static int setup_edge(void **state) { return setup_as(state, "edge01.contoso.net"); }
static int setup_none(void **state) { return setup_as(state, NULL); }

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[120];

    cscert_store_free(f->st);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* "site addr:port use;..." for comparisons. */
static void dump(char *out, size_t len, cscert_store *st)
{
    cscert_binding *b = NULL;
    size_t n = 0, i, off = 0;

    assert_int_equal(cscert_web_bindings(&b, &n, st), CSCERT_OK);
    out[0] = '\0';
    for (i = 0; i < n; i++)
        off += (size_t)snprintf(out + off, len - off, "%s %s:%d %s;", b[i].site, b[i].address, b[i].port, b[i].use);
    free(b);
}

static void test_defaults(void **state)
{
    struct fx *f = *state;
    char d[512];

    dump(d, sizeof(d), f->st);
    assert_string_equal(d, "Internal 0.0.0.0:443 WebServicesInternal;External 0.0.0.0:4443 WebServicesExternal;");
    /* removed stays removed: defaults are created once */
    assert_int_equal(cscert_web_binding_remove(f->st, "internal"), CSCERT_OK);
    dump(d, sizeof(d), f->st);
    assert_string_equal(d, "External 0.0.0.0:4443 WebServicesExternal;");
    assert_int_equal(cscert_web_binding_remove(f->st, "Internal"), CSCERT_ENOTFOUND);
    assert_non_null(strstr(cscert_error_last(), "Internal"));
}

static void test_no_defaults_on_edge_or_without_topology(void **state)
{
    struct fx *f = *state;
    char d[512];

    dump(d, sizeof(d), f->st);
    assert_string_equal(d, "");
}

static void test_set_rules(void **state)
{
    struct fx *f = *state;
    static const struct row {
        const char *site, *addr;
        int port;
        const char *use;
        int rc;
        const char *msg;
    } rows[] = {
        { "Internal", NULL, 70000, NULL, CSCERT_EINVAL, "70000 is not a TCP port" },
        { "Internal", NULL, -1, NULL, CSCERT_EINVAL, "not a TCP port" },
        { "Internal", "localhost", 0, NULL, CSCERT_EINVAL, "localhost: not an IP address" },
        { "Internal", "127.0.0.1; rm", 0, NULL, CSCERT_EINVAL, "not an IP address" },
        { "Internal", "999.1.1.1", 0, NULL, CSCERT_EINVAL, "not an IP address" },
        { "Internal", NULL, 0, "Bogus", CSCERT_EINVAL, "Bogus" },
        { "Internal", NULL, 0, "Default,WebServicesExternal", CSCERT_EINVAL, "exactly one use" },
        { "Edge", NULL, 5061, "AccessEdgeExternal", CSCERT_EPOLICY, "FrontEnd server has no such use (R18)" },
        { "RP", NULL, 8443, "ReverseProxy", CSCERT_EPOLICY, "R18" },
        { "New", NULL, 0, "Default", CSCERT_EINVAL, "give --port and --use" },
        { "New", NULL, 5061, NULL, CSCERT_EINVAL, "give --port and --use" },
        { "Clash", NULL, 4443, "Default", CSCERT_EEXISTS, "site 'External' already listens on 0.0.0.0:4443" },
        { "Clash", "127.0.0.1", 443, "Default", CSCERT_EEXISTS, "site 'Internal' already listens" },
        { "", NULL, 5061, "Default", CSCERT_EINVAL, "1 to 63 characters" },
        { " lead", NULL, 5061, "Default", CSCERT_EINVAL, "not allowed" },
        { "a\nb", NULL, 5061, "Default", CSCERT_EINVAL, "not allowed" },
        { "<script>", NULL, 5061, "Default", CSCERT_EINVAL, "not allowed" },
        { "0123456789012345678901234567890123456789012345678901234567890123", NULL, 5061, "Default",
          CSCERT_EINVAL, "1 to 63" },
    };
    char before[512], after[512];
    size_t i;

    dump(before, sizeof(before), f->st);
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int rc = cscert_web_binding_set(f->st, rows[i].site, rows[i].addr, rows[i].port, rows[i].use);

        if (rc != rows[i].rc || !strstr(cscert_error_last(), rows[i].msg))
            fail_msg("row %zu (%s): rc %d, message '%s'", i, rows[i].site, rc, cscert_error_last());
        dump(after, sizeof(after), f->st);
        assert_string_equal(before, after);
    }
}

static void test_set_ok(void **state)
{
    struct fx *f = *state;
    char d[512];

    assert_int_equal(cscert_web_binding_set(f->st, "external", "127.0.0.1", 14443, NULL), CSCERT_OK);
    assert_int_equal(cscert_web_binding_set(f->st, "SIP", NULL, 5061, "default"), CSCERT_OK);
    /* another address on 4443 no longer clashes: External moved */
    assert_int_equal(cscert_web_binding_set(f->st, "Other", "0.0.0.0", 4443, "WebServicesExternal"), CSCERT_OK);
    /* IPv6 :: and IPv4 0.0.0.0 are separate sockets (IPV6_V6ONLY) */
    assert_int_equal(cscert_web_binding_set(f->st, "V6", "::", 443, "WebServicesInternal"), CSCERT_OK);
    assert_int_equal(cscert_web_binding_set(f->st, "V6b", "::1", 443, "Default"), CSCERT_EEXISTS);
    assert_int_equal(cscert_web_binding_set(f->st, "V6", "0:0::1", 0, NULL), CSCERT_OK); /* normalized */
    dump(d, sizeof(d), f->st);
    assert_string_equal(d, "Internal 0.0.0.0:443 WebServicesInternal;V6 ::1:443 WebServicesInternal;"
                           "Other 0.0.0.0:4443 WebServicesExternal;SIP 0.0.0.0:5061 Default;"
                           "External 127.0.0.1:14443 WebServicesExternal;");
}

static void test_set_needs_topology(void **state)
{
    struct fx *f = *state;

    assert_true(cscert_web_binding_set(f->st, "SIP", NULL, 5061, "Default") < 0);
}

static void test_edge_uses(void **state)
{
    struct fx *f = *state;

    assert_int_equal(cscert_web_binding_set(f->st, "Access", "127.0.0.1", 5061, "AccessEdgeExternal"), CSCERT_OK);
    assert_int_equal(cscert_web_binding_set(f->st, "Web", NULL, 443, "WebServicesExternal"), CSCERT_EPOLICY);
    assert_non_null(strstr(cscert_error_last(), "Edge"));
}

static int closed_port(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, len), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    port = ntohs(a.sin_port);
    close(fd); /* nobody listens there now */
    return port;
}

static void test_verify_unreachable(void **state)
{
    struct fx *f = *state;
    cscert_web_result *v = NULL;
    cscert_web_verify_opts o = { .timeout_ms = 1000 };
    size_t n = 0, i;
    json_t *j;
    int found_unreach = 0, found_unassigned = 0;
    char *s;

    assert_int_equal(cscert_web_binding_remove(f->st, "Internal"), CSCERT_OK);
    assert_int_equal(cscert_web_binding_set(f->st, "External", "127.0.0.1", closed_port(), NULL), CSCERT_OK);
    assert_int_equal(cscert_web_verify(&v, &n, f->st, &o), CSCERT_OK);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].sni, "webpool01.contoso.com");
    assert_false(v[0].reachable);
    assert_non_null(v[0].required);
    assert_string_equal(v[0].required[0], "pool01.contoso.net");
    for (i = 0; i < v[0].n_problems; i++) {
        if (strcmp(v[0].problems[i].kind, "binding-unreachable") == 0) {
            found_unreach = 1;
            assert_non_null(strstr(v[0].problems[i].message, "cannot connect to 127.0.0.1:"));
            assert_non_null(strstr(v[0].problems[i].message, "refused"));
        }
        if (strcmp(v[0].problems[i].kind, "binding-unassigned") == 0)
            found_unassigned = 1;
    }
    assert_true(found_unreach);
    assert_true(found_unassigned);
    j = cscert_web_results_json(v, n);
    assert_true(json_is_false(json_object_get(j, "clean")));
    s = json_dumps(j, JSON_COMPACT);
    assert_non_null(strstr(s, "\"kind\":\"binding-unreachable\""));
    free(s);
    json_decref(j);
    cscert_web_results_free(v, n);
}

static void test_running(void **state)
{
    struct fx *f = *state;
    char path[128];
    FILE *fp;
    long pid = 0;

    assert_int_equal(cscert_web_running(&pid, f->st), 0);
    snprintf(path, sizeof(path), "%s/web.pid", f->home);
    assert_non_null(fp = fopen(path, "w"));
    fprintf(fp, "%ld\n", (long)getpid());
    fclose(fp);
    assert_int_equal(cscert_web_running(&pid, f->st), 1);
    assert_int_equal(pid, (long)getpid());
    assert_non_null(fp = fopen(path, "w"));
    fprintf(fp, "garbage\n");
    fclose(fp);
    assert_int_equal(cscert_web_running(&pid, f->st), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup_fe, teardown),
        cmocka_unit_test_setup_teardown(test_no_defaults_on_edge_or_without_topology, setup_edge, teardown),
        cmocka_unit_test_setup_teardown(test_no_defaults_on_edge_or_without_topology, setup_none, teardown),
        cmocka_unit_test_setup_teardown(test_set_rules, setup_fe, teardown),
        cmocka_unit_test_setup_teardown(test_set_ok, setup_fe, teardown),
        cmocka_unit_test_setup_teardown(test_set_needs_topology, setup_none, teardown),
        cmocka_unit_test_setup_teardown(test_edge_uses, setup_edge, teardown),
        cmocka_unit_test_setup_teardown(test_verify_unreachable, setup_fe, teardown),
        cmocka_unit_test_setup_teardown(test_running, setup_fe, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
