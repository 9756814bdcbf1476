/* topology.c: see include/cscert/topology.h. */
#include "cscert/topology.h"

#include <ctype.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>

/* 16 MiB: a topology of 10,000 servers is under 2 MiB. */
#define TOPOLOGY_MAX_BYTES (16L << 20)
#define FQDN_MAX 253
#define LABEL_MAX 63

static const char *const role_names[] = { NULL, "StandardEdition", "FrontEnd", "Director", "Edge",
                                          "Mediation" };

const char *cscert_role_name(cscert_role r)
{
    return r >= CSCERT_ROLE_STANDARD_EDITION && r <= CSCERT_ROLE_MEDIATION ? role_names[r] : "?";
}

int cscert_fqdn_check(char out[254], const char *in, int allow_wildcard, const char *what)
{
    size_t len, i, label = 0;
    const char *p;

    if (!in || !*in)
        return cscert_error_set(CSCERT_EINVAL, what, "empty host name", "give an FQDN such as pool01.contoso.net");
    len = strlen(in);
    if (len > FQDN_MAX)
        return cscert_error_setf(CSCERT_EINVAL, what, "shorten it", "'%.40s...' is longer than %d characters",
                                 in, FQDN_MAX);
    p = in;
    if (strncmp(in, "*.", 2) == 0) {
        if (!allow_wildcard)
            return cscert_error_setf(CSCERT_EINVAL, what,
                                     "wildcards are allowed only as extra SANs (--domain-name)",
                                     "'%s' is a wildcard where none is allowed", in);
        p = in + 2;
    }
    if (!strchr(p, '.'))
        return cscert_error_setf(CSCERT_EINVAL, what, "give the fully qualified name",
                                 "'%s' is not fully qualified", in);
    for (i = 0; p[i]; i++) {
        unsigned char c = (unsigned char)p[i];

        if (c == '.') {
            if (label == 0 || p[i - 1] == '-')
                goto bad;
            label = 0;
        } else if (isalnum(c) || (c == '-' && label > 0)) {
            if (++label > LABEL_MAX)
                goto bad;
        } else {
            goto bad;
        }
    }
    if (label == 0 || p[i - 1] == '-')
        goto bad;
    for (i = 0; i <= len; i++)
        out[i] = (char)tolower((unsigned char)in[i]);
    return CSCERT_OK;
bad:
    return cscert_error_setf(CSCERT_EINVAL, what, "use letters, digits and inner hyphens, labels of 1-63",
                             "'%s' is not a valid host name (RFC 1123)", in);
}

static void free_list(char **v, size_t n)
{
    size_t i;

    for (i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

void cscert_topology_free(cscert_topology *t)
{
    size_t i;

    if (!t)
        return;
    free_list(t->sip_domains, t->n_sip);
    free_list(t->meet, t->n_meet);
    free_list(t->auto_sign_in, t->n_auto);
    free(t->dialin);
    free(t->admin);
    free(t->office_web_apps);
    for (i = 0; i < t->n_cas; i++) {
        free(t->cas[i].name);
        free(t->cas[i].url);
        free(t->cas[i].address);
    }
    free(t->cas);
    for (i = 0; i < t->n_pools; i++) {
        cscert_pool *p = &t->pools[i];

        free(p->fqdn);
        free_list(p->servers, p->n_servers);
        free(p->web_internal);
        free(p->web_external);
        free(p->edge_access);
        free(p->edge_webconf);
        free(p->edge_av);
        free_list(p->xmpp_domains, p->n_xmpp);
        free(p->site);
    }
    free(t->pools);
    free(t);
}

struct ctx {
    const char *src;
};

static int perr(struct ctx *c, const char *path, const char *fix, const char *fmt, const char *arg)
{
    char why[1024];

    snprintf(why, sizeof(why), fmt, arg ? arg : "");
    return cscert_error_setf(CSCERT_EINVAL, c->src, fix, "%s at %s", why, path);
}

/* Levenshtein distance, for "did you mean" (keys are short). */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), i, j, d[32][32];

    if (la >= 32 || lb >= 32)
        return 99;
    for (i = 0; i <= la; i++)
        d[i][0] = i;
    for (j = 0; j <= lb; j++)
        d[0][j] = j;
    for (i = 1; i <= la; i++)
        for (j = 1; j <= lb; j++) {
            size_t sub = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;

            d[i][j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
    return d[la][lb];
}

/* Unknown keys are errors: a typo must never silently drop a SAN. */
static int check_keys(struct ctx *c, json_t *obj, const char *path, const char *const *allowed)
{
    const char *key, *best;
    json_t *v;
    size_t i, bd;
    char fix[128];

    json_object_foreach(obj, key, v) {
        (void)v;
        best = NULL;
        bd = 99;
        for (i = 0; allowed[i]; i++) {
            size_t d;

            if (strcmp(key, allowed[i]) == 0)
                break;
            if ((d = distance(key, allowed[i])) < bd) {
                bd = d;
                best = allowed[i];
            }
        }
        if (allowed[i])
            continue;
        if (best && bd <= 3)
            snprintf(fix, sizeof(fix), "did you mean '%s'?", best);
        else
            snprintf(fix, sizeof(fix), "remove it; see DESIGN.md for the document's keys");
        {
            char why[160];

            snprintf(why, sizeof(why), "unknown key '%s'", key);
            return cscert_error_setf(CSCERT_EINVAL, c->src, fix, "%s at %s", why, path);
        }
    }
    return CSCERT_OK;
}

static int get_fqdn(char **out, struct ctx *c, json_t *obj, const char *key, const char *path,
                    int required)
{
    json_t *v = json_object_get(obj, key);
    char p[640], buf[254];
    int rc;

    *out = NULL;
    snprintf(p, sizeof(p), "%s%s%s", path, *path ? "." : "", key);
    if (!v) {
        if (required)
            return perr(c, path, "add it", "missing required key '%s'", key);
        return CSCERT_OK;
    }
    if (!json_is_string(v))
        return perr(c, p, "give a string", "wrong type: '%s' must be a string", key);
    if ((rc = cscert_fqdn_check(buf, json_string_value(v), 0, c->src)) < 0) {
        char msg[512];

        snprintf(msg, sizeof(msg), "%s", cscert_error_last());
        return cscert_error_setf(rc, c->src, "fix the host name", "at %s: %s", p, msg + strlen(c->src) + 2);
    }
    return (*out = strdup(buf)) ? CSCERT_OK : cscert__oom();
}

/* A string or an array of strings (as_list), each an FQDN. */
static int get_fqdn_list(char ***out, size_t *n, struct ctx *c, json_t *obj, const char *key,
                         const char *path, int required, int allow_string)
{
    json_t *v = json_object_get(obj, key), *e;
    char p[640], ep[700], buf[254], **list;
    size_t i, j;
    int rc;

    *out = NULL;
    *n = 0;
    snprintf(p, sizeof(p), "%s%s%s", path, *path ? "." : "", key);
    if (!v) {
        if (required)
            return perr(c, path, "add it", "missing required key '%s'", key);
        return CSCERT_OK;
    }
    if (allow_string && json_is_string(v)) {
        json_t *arr = json_array();

        json_array_append(arr, v);
        json_object_set_new(obj, key, arr);
        v = arr;
    }
    if (!json_is_array(v))
        return perr(c, p, "give an array of strings", "wrong type: '%s' must be an array", key);
    if (!(list = calloc(json_array_size(v) + 1, sizeof(*list))))
        return cscert__oom();
    json_array_foreach(v, i, e) {
        snprintf(ep, sizeof(ep), "%s[%zu]", p, i);
        if (!json_is_string(e)) {
            free_list(list, i);
            return perr(c, ep, "give a string", "wrong type: %s must be a string", ep);
        }
        if ((rc = cscert_fqdn_check(buf, json_string_value(e), 0, c->src)) < 0) {
            char msg[512];

            free_list(list, i);
            snprintf(msg, sizeof(msg), "%s", cscert_error_last());
            return cscert_error_setf(rc, c->src, "fix the host name", "at %s: %s", ep,
                                     msg + strlen(c->src) + 2);
        }
        for (j = 0; j < i; j++)
            if (strcmp(list[j], buf) == 0) {
                free_list(list, i);
                return perr(c, ep, "list it once", "duplicate '%s'", buf);
            }
        list[i] = strdup(buf);
    }
    *out = list;
    *n = json_array_size(v);
    return CSCERT_OK;
}

static const char *const top_keys[] = { "sip_domains", "simple_urls", "automatic_sign_in_domains",
    "certification_authorities", "sites", "office_web_apps", NULL };
static const char *const url_keys[] = { "meet", "dialin", "admin", NULL };
static const char *const ca_keys[] = { "name", "url", "address", NULL };
static const char *const site_keys[] = { "name", "pools", NULL };
static const char *const pool_keys[] = { "fqdn", "role", "servers", "web_services", "edge", "xmpp_domains", NULL };
static const char *const web_keys[] = { "internal", "external", NULL };
static const char *const edge_keys[] = { "access", "webconf", "av", NULL };

static int parse_pool(struct ctx *c, cscert_pool *pool, json_t *pj, const char *path, const char *site)
{
    json_t *role = json_object_get(pj, "role"), *w, *e;
    char p[640];
    int rc, r;

    if (!json_is_object(pj))
        return perr(c, path, "give an object", "wrong type: %s must be an object", path);
    if ((rc = check_keys(c, pj, path, pool_keys)) < 0 || (rc = get_fqdn(&pool->fqdn, c, pj, "fqdn", path, 1)) < 0)
        return rc;
    pool->site = strdup(site);
    if (!role)
        return perr(c, path, "add it", "missing required key '%s'", "role");
    snprintf(p, sizeof(p), "%s.role", path);
    if (!json_is_string(role))
        return perr(c, p, "give a string", "wrong type: %s must be a string", p);
    for (r = CSCERT_ROLE_STANDARD_EDITION; r <= CSCERT_ROLE_MEDIATION; r++)
        if (strcasecmp(json_string_value(role), role_names[r]) == 0)
            break;
    if (r > CSCERT_ROLE_MEDIATION)
        return perr(c, p, "use StandardEdition, FrontEnd, Director, Edge or Mediation",
                    "unknown role '%s'", json_string_value(role));
    pool->role = (cscert_role)r;
    json_object_set_new(pj, "role", json_string(role_names[r]));
    if ((rc = get_fqdn_list(&pool->servers, &pool->n_servers, c, pj, "servers", path, 1, 0)) < 0)
        return rc;
    if (pool->n_servers == 0)
        return perr(c, path, "list the pool's servers", "'%s' is empty", "servers");
    w = json_object_get(pj, "web_services");
    e = json_object_get(pj, "edge");
    if (r == CSCERT_ROLE_EDGE) {
        if (w)
            return perr(c, path, "remove it", "an Edge pool has no '%s'", "web_services");
        snprintf(p, sizeof(p), "%s.edge", path);
        if (!e)
            return perr(c, path, "add edge {access, webconf, av}", "missing required key '%s'", "edge");
        if (!json_is_object(e))
            return perr(c, p, "give an object", "wrong type: %s must be an object", p);
        if ((rc = check_keys(c, e, p, edge_keys)) < 0
            || (rc = get_fqdn(&pool->edge_access, c, e, "access", p, 1)) < 0
            || (rc = get_fqdn(&pool->edge_webconf, c, e, "webconf", p, 1)) < 0
            || (rc = get_fqdn(&pool->edge_av, c, e, "av", p, 1)) < 0
            || (rc = get_fqdn_list(&pool->xmpp_domains, &pool->n_xmpp, c, pj, "xmpp_domains", path, 0, 0)) < 0)
            return rc;
    } else {
        if (e)
            return perr(c, path, "remove it", "only an Edge pool has '%s'", "edge");
        if (json_object_get(pj, "xmpp_domains"))
            return perr(c, path, "remove it", "only an Edge pool has '%s'", "xmpp_domains");
        if (r != CSCERT_ROLE_MEDIATION) {
            snprintf(p, sizeof(p), "%s.web_services", path);
            if (!w)
                return perr(c, path, "add web_services {internal, external}", "missing required key '%s'",
                            "web_services");
            if (!json_is_object(w))
                return perr(c, p, "give an object", "wrong type: %s must be an object", p);
            if ((rc = check_keys(c, w, p, web_keys)) < 0
                || (rc = get_fqdn(&pool->web_internal, c, w, "internal", p, 1)) < 0
                || (rc = get_fqdn(&pool->web_external, c, w, "external", p, 1)) < 0)
                return rc;
        } else if (w) {
            return perr(c, path, "remove it", "a Mediation pool has no '%s'", "web_services");
        }
    }
    return CSCERT_OK;
}

static int parse_doc(cscert_topology *t, struct ctx *c, json_t *doc)
{
    json_t *urls, *cas, *sites, *v;
    size_t i, j, k, l, m;
    char p[640];
    int rc, web_pools = 0;

    if (!json_is_object(doc))
        return perr(c, "the top level", "give a JSON object", "wrong type: %s", "not an object");
    if ((rc = check_keys(c, doc, "the top level", top_keys)) < 0
        || (rc = get_fqdn_list(&t->sip_domains, &t->n_sip, c, doc, "sip_domains", "", 1, 0)) < 0)
        return rc;
    if (t->n_sip == 0)
        return perr(c, "sip_domains", "list at least one SIP domain", "%sno SIP domain", "");
    if ((rc = get_fqdn_list(&t->auto_sign_in, &t->n_auto, c, doc, "automatic_sign_in_domains", "", 0, 0)) < 0
        || (rc = get_fqdn(&t->office_web_apps, c, doc, "office_web_apps", "", 0)) < 0)
        return rc;
    for (i = 0; i < t->n_auto; i++) {
        for (j = 0; j < t->n_sip && strcmp(t->auto_sign_in[i], t->sip_domains[j]); j++)
            ;
        if (j == t->n_sip) {
            snprintf(p, sizeof(p), "automatic_sign_in_domains[%zu]", i);
            return perr(c, p, "add it to sip_domains or remove it", "'%s' is not a SIP domain", t->auto_sign_in[i]);
        }
    }
    urls = json_object_get(doc, "simple_urls");
    if (urls) {
        if (!json_is_object(urls))
            return perr(c, "simple_urls", "give an object", "wrong type: %s", "must be an object");
        if ((rc = check_keys(c, urls, "simple_urls", url_keys)) < 0
            || (rc = get_fqdn_list(&t->meet, &t->n_meet, c, urls, "meet", "simple_urls", 0, 1)) < 0
            || (rc = get_fqdn(&t->dialin, c, urls, "dialin", "simple_urls", 0)) < 0
            || (rc = get_fqdn(&t->admin, c, urls, "admin", "simple_urls", 0)) < 0)
            return rc;
    }
    cas = json_object_get(doc, "certification_authorities");
    if (cas) {
        if (!json_is_array(cas))
            return perr(c, "certification_authorities", "give an array", "wrong type: %s", "must be an array");
        t->cas = calloc(json_array_size(cas) + 1, sizeof(*t->cas));
        json_array_foreach(cas, i, v) {
            json_t *name, *url, *addr;
            const char *bs;
            char host[254], hp[700];

            snprintf(p, sizeof(p), "certification_authorities[%zu]", i);
            if (!json_is_object(v))
                return perr(c, p, "give an object", "wrong type: %s", "must be an object");
            if ((rc = check_keys(c, v, p, ca_keys)) < 0)
                return rc;
            name = json_object_get(v, "name");
            url = json_object_get(v, "url");
            addr = json_object_get(v, "address");
            if (!json_is_string(name))
                return perr(c, p, "add \"name\": \"FQDN\\\\Instance\"", "missing or wrong '%s'", "name");
            bs = strchr(json_string_value(name), '\\');
            snprintf(hp, sizeof(hp), "%s.name", p);
            if (!bs || !bs[1] || bs == json_string_value(name))
                return perr(c, hp, "write it as FQDN\\\\Instance, e.g. dc01.contoso.net\\\\contoso-DC01-CA",
                            "CA name '%s' is not FQDN\\Instance", json_string_value(name));
            snprintf(host, sizeof(host), "%.*s", (int)(bs - json_string_value(name)), json_string_value(name));
            if ((rc = cscert_fqdn_check(host, host, 0, c->src)) < 0)
                return perr(c, hp, "fix the CA's host name", "'%s' has an invalid host", json_string_value(name));
            if (url && (!json_is_string(url) || strncmp(json_string_value(url), "https://", 8) != 0)) {
                snprintf(hp, sizeof(hp), "%s.url", p);
                return perr(c, hp, "the CA is reached over HTTPS only", "url '%s' is not https://",
                            json_is_string(url) ? json_string_value(url) : "?");
            }
            if (addr && !json_is_string(addr))
                return perr(c, p, "give an IP address string", "wrong type: %s", "address");
            t->cas[i].name = strdup(json_string_value(name));
            t->cas[i].url = url ? strdup(json_string_value(url)) : NULL;
            t->cas[i].address = addr ? strdup(json_string_value(addr)) : NULL;
            t->n_cas++;
        }
    }
    sites = json_object_get(doc, "sites");
    if (!sites)
        return perr(c, "the top level", "add \"sites\"", "missing required key '%s'", "sites");
    if (!json_is_array(sites))
        return perr(c, "sites", "give an array", "wrong type: %s", "must be an array");
    json_array_foreach(sites, i, v) {
        json_t *name, *pools, *pj;

        snprintf(p, sizeof(p), "sites[%zu]", i);
        if (!json_is_object(v))
            return perr(c, p, "give an object", "wrong type: %s", "must be an object");
        if ((rc = check_keys(c, v, p, site_keys)) < 0)
            return rc;
        name = json_object_get(v, "name");
        pools = json_object_get(v, "pools");
        if (!json_is_string(name))
            return perr(c, p, "add \"name\"", "missing or wrong '%s'", "name");
        if (!pools)
            return perr(c, p, "add \"pools\"", "missing required key '%s'", "pools");
        if (!json_is_array(pools))
            return perr(c, p, "give an array", "wrong type: %s", "pools must be an array");
        json_array_foreach(pools, j, pj) {
            cscert_pool *np = realloc(t->pools, (t->n_pools + 1) * sizeof(*np));
            char pp[700];

            if (!np)
                return cscert__oom();
            t->pools = np;
            memset(&t->pools[t->n_pools], 0, sizeof(*np));
            t->n_pools++;
            snprintf(pp, sizeof(pp), "%s.pools[%zu]", p, j);
            if ((rc = parse_pool(c, &t->pools[t->n_pools - 1], pj, pp, json_string_value(name))) < 0)
                return rc;
        }
    }
    /* A server in two pools; R7: a Director's external web FQDN differs
     * from every Front End (or Standard Edition) pool's. Jansson objects
     * serve as hash sets, so 10,000 servers take one pass. */
    rc = CSCERT_OK;
    {
        json_t *seen_pool = json_object(), *seen_server = json_object(), *fe_ext = json_object();

        for (i = 0; i < t->n_pools && rc == CSCERT_OK; i++) {
            cscert_pool *a = &t->pools[i];

            if (a->role != CSCERT_ROLE_EDGE && a->role != CSCERT_ROLE_MEDIATION)
                web_pools = 1;
            if (json_object_get(seen_pool, a->fqdn)) {
                rc = perr(c, "sites", "each pool once", "pool '%s' is defined twice", a->fqdn);
                break;
            }
            json_object_set_new(seen_pool, a->fqdn, json_integer((json_int_t)i));
            if (a->web_external && a->role != CSCERT_ROLE_DIRECTOR)
                json_object_set_new(fe_ext, a->web_external, json_string(a->fqdn));
            for (k = 0; k < a->n_servers; k++) {
                json_t *prev = json_object_get(seen_server, a->servers[k]);

                if (prev) {
                    char why[600];

                    snprintf(why, sizeof(why), "server '%s' is in pool '%s' and in pool '%s'", a->servers[k],
                             t->pools[json_integer_value(prev)].fqdn, a->fqdn);
                    rc = cscert_error_set(CSCERT_EINVAL, c->src, why, "a server belongs to one pool");
                    break;
                }
                json_object_set_new(seen_server, a->servers[k], json_integer((json_int_t)i));
            }
        }
        for (i = 0; i < t->n_pools && rc == CSCERT_OK; i++) {
            cscert_pool *a = &t->pools[i];
            json_t *fe = a->role == CSCERT_ROLE_DIRECTOR ? json_object_get(fe_ext, a->web_external) : NULL;

            if (fe) {
                char why[600];

                snprintf(why, sizeof(why), "R7: the Director pool '%s' and the pool '%s' share the external "
                         "web services FQDN '%s'", a->fqdn, json_string_value(fe), a->web_external);
                rc = cscert_error_set(CSCERT_EINVAL, c->src, why, "give the Director its own external web FQDN");
            }
        }
        json_decref(seen_pool);
        json_decref(seen_server);
        json_decref(fe_ext);
        if (rc < 0)
            return rc;
    }
    (void)j;
    (void)l;
    (void)m;
    if (web_pools && (t->n_meet == 0 || !t->dialin))
        return perr(c, "simple_urls", "add simple_urls.meet (one per SIP domain) and simple_urls.dialin",
                    "%smeet and dialin are required with Front End, Standard Edition or Director pools", "");
    return CSCERT_OK;
}

int cscert_topology_parse(cscert_topology **out, const char *text, size_t len, const char *source)
{
    struct ctx c = { source ? source : "topology" };
    cscert_topology *t = NULL;
    json_error_t je;
    json_t *doc;
    int rc;

    *out = NULL;
    if (len > TOPOLOGY_MAX_BYTES)
        return cscert_error_setf(CSCERT_EINVAL, c.src, "split the deployment", "larger than %ld MiB",
                                 TOPOLOGY_MAX_BYTES >> 20);
    doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!doc)
        return cscert_error_setf(CSCERT_EINVAL, c.src, "fix the JSON", "line %d column %d: %s", je.line,
                                 je.column, je.text);
    if (!(t = calloc(1, sizeof(*t)))) {
        json_decref(doc);
        return cscert__oom();
    }
    rc = parse_doc(t, &c, doc);
    json_decref(doc);
    if (rc < 0) {
        cscert_topology_free(t);
        return rc;
    }
    *out = t;
    return CSCERT_OK;
}

static json_t *jlist(char **v, size_t n)
{
    json_t *a = json_array();
    size_t i;

    for (i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

int cscert_topology_to_json(char **out, const cscert_topology *t)
{
    json_t *doc = json_object(), *urls = json_object(), *cas = json_array(), *sites = json_array();
    size_t i, j;

    json_object_set_new(doc, "sip_domains", jlist(t->sip_domains, t->n_sip));
    if (t->n_meet)
        json_object_set_new(urls, "meet", jlist(t->meet, t->n_meet));
    if (t->dialin)
        json_object_set_new(urls, "dialin", json_string(t->dialin));
    if (t->admin)
        json_object_set_new(urls, "admin", json_string(t->admin));
    json_object_set_new(doc, "simple_urls", urls);
    json_object_set_new(doc, "automatic_sign_in_domains", jlist(t->auto_sign_in, t->n_auto));
    if (t->office_web_apps)
        json_object_set_new(doc, "office_web_apps", json_string(t->office_web_apps));
    for (i = 0; i < t->n_cas; i++) {
        json_t *ca = json_pack("{s:s}", "name", t->cas[i].name);

        if (t->cas[i].url)
            json_object_set_new(ca, "url", json_string(t->cas[i].url));
        if (t->cas[i].address)
            json_object_set_new(ca, "address", json_string(t->cas[i].address));
        json_array_append_new(cas, ca);
    }
    json_object_set_new(doc, "certification_authorities", cas);
    for (i = 0; i < t->n_pools; i++) {
        const cscert_pool *p = &t->pools[i];
        json_t *site = NULL, *pj;

        for (j = 0; j < json_array_size(sites); j++)
            if (strcmp(json_string_value(json_object_get(json_array_get(sites, j), "name")), p->site) == 0)
                site = json_array_get(sites, j);
        if (!site) {
            site = json_pack("{s:s, s:[]}", "name", p->site, "pools");
            json_array_append_new(sites, site);
        }
        pj = json_pack("{s:s, s:s, s:o}", "fqdn", p->fqdn, "role", cscert_role_name(p->role), "servers",
                       jlist(p->servers, p->n_servers));
        if (p->web_internal)
            json_object_set_new(pj, "web_services", json_pack("{s:s, s:s}", "internal", p->web_internal,
                                                              "external", p->web_external));
        if (p->edge_access)
            json_object_set_new(pj, "edge", json_pack("{s:s, s:s, s:s}", "access", p->edge_access, "webconf",
                                                      p->edge_webconf, "av", p->edge_av));
        if (p->n_xmpp)
            json_object_set_new(pj, "xmpp_domains", jlist(p->xmpp_domains, p->n_xmpp));
        json_array_append_new(json_object_get(site, "pools"), pj);
    }
    json_object_set_new(doc, "sites", sites);
    *out = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(doc);
    return *out ? CSCERT_OK : cscert__oom();
}

const cscert_pool *cscert_topology_find_server(const cscert_topology *t, const char *fqdn)
{
    size_t i, j;

    for (i = 0; fqdn && i < t->n_pools; i++)
        for (j = 0; j < t->pools[i].n_servers; j++)
            if (strcasecmp(t->pools[i].servers[j], fqdn) == 0)
                return &t->pools[i];
    return NULL;
}

static int host_fqdn(char out[254])
{
    struct addrinfo hints = { .ai_flags = AI_CANONNAME }, *ai = NULL;
    char host[256];

    if (gethostname(host, sizeof(host)) < 0)
        return -1;
    host[sizeof(host) - 1] = '\0';
    if (getaddrinfo(host, NULL, &hints, &ai) == 0 && ai && ai->ai_canonname)
        snprintf(host, sizeof(host), "%s", ai->ai_canonname);
    if (ai)
        freeaddrinfo(ai);
    return cscert_fqdn_check(out, host, 0, "host name") < 0 ? -1 : 0;
}

static int not_in_topology(const cscert_topology *t, const char *fqdn)
{
    char some[512] = "";
    size_t i, j, len = 0;

    for (i = 0; i < t->n_pools && len < 300; i++)
        for (j = 0; j < t->pools[i].n_servers && len < 300; j++)
            len += (size_t)snprintf(some + len, sizeof(some) - len, "%s%s", len ? ", " : "",
                                    t->pools[i].servers[j]);
    return cscert_error_setf(CSCERT_EINVAL, fqdn, NULL,
                             "this computer is in no pool of the topology; pass --computer-fqdn with one of: %s",
                             some);
}

int cscert_topology_publish(cscert_store *st, const char *text, size_t len, const char *source,
                            const char *computer_fqdn)
{
    cscert_topology *t = NULL;
    char *norm = NULL, *saved = NULL, fq[254];
    int rc;

    if ((rc = cscert_topology_parse(&t, text, len, source)) < 0)
        return rc;
    if (computer_fqdn) {
        if ((rc = cscert_fqdn_check(fq, computer_fqdn, 0, "--computer-fqdn")) < 0)
            goto out;
    } else if (cscert_store_get_setting(&saved, st, "computer_fqdn") == CSCERT_OK) {
        snprintf(fq, sizeof(fq), "%s", saved);
    } else if (host_fqdn(fq) < 0) {
        rc = cscert_error_set(CSCERT_EINVAL, "computer FQDN", "the host has no FQDN",
                              "pass --computer-fqdn");
        goto out;
    }
    if (!cscert_topology_find_server(t, fq)) {
        rc = not_in_topology(t, fq);
        goto out;
    }
    if ((rc = cscert_topology_to_json(&norm, t)) < 0 || (rc = cscert_store_begin(st)) < 0)
        goto out;
    if ((rc = cscert_store_set_setting(st, "topology", norm)) < 0
        || (rc = cscert_store_set_setting(st, "computer_fqdn", fq)) < 0
        || (rc = cscert_store_commit(st)) < 0)
        cscert_store_rollback(st);
out:
    free(norm);
    free(saved);
    cscert_topology_free(t);
    return rc;
}

int cscert_topology_load_published(cscert_topology **out, char **computer_fqdn, cscert_store *st)
{
    char *text = NULL;
    int rc;

    *out = NULL;
    if (computer_fqdn)
        *computer_fqdn = NULL;
    if (cscert_store_get_setting(&text, st, "topology") < 0)
        return cscert_error_set(CSCERT_ENOTFOUND, cscert_store_home(st), "no topology is published",
                                "run 'cscert topology publish FILE'");
    rc = cscert_topology_parse(out, text, strlen(text), "published topology");
    free(text);
    if (rc == CSCERT_OK && computer_fqdn)
        cscert_store_get_setting(computer_fqdn, st, "computer_fqdn");
    return rc;
}
