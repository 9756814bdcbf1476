/* topology.c: see include/cscert/topology.h. */
#include "cscert/topology.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
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

static int is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* NULL when in is a valid host name (RFC 1123 labels, <= 253 characters,
 * a leftmost "*." only when allowed, not an IP address); else the reason,
 * written into why, with *fix set. Lower-cases into out on success. */
static const char *fqdn_reason(char out[254], const char *in, int allow_wildcard, char *why, size_t nwhy,
                               const char **fix)
{
    size_t len, i, label = 0, last = 0;
    int digits_only = 1;
    const char *p;

    *fix = "use letters, digits and inner hyphens, labels of 1-63";
    if (!in || !*in) {
        *fix = "give an FQDN such as pool01.contoso.net";
        snprintf(why, nwhy, "empty host name");
        return why;
    }
    len = strlen(in);
    if (len > FQDN_MAX) {
        *fix = "shorten it";
        snprintf(why, nwhy, "'%.40s...' is longer than %d characters", in, FQDN_MAX);
        return why;
    }
    p = in;
    if (strncmp(in, "*.", 2) == 0) {
        if (!allow_wildcard) {
            *fix = "a wildcard is allowed only as an extra SAN (--domain-name), never in the topology or a CN";
            snprintf(why, nwhy, "'%s' is a wildcard where none is allowed", in);
            return why;
        }
        p = in + 2;
    }
    if (!strchr(p, '.')) {
        *fix = "give the fully qualified name";
        snprintf(why, nwhy, "'%s' is not fully qualified", in);
        return why;
    }
    for (i = 0; p[i]; i++) {
        unsigned char c = (unsigned char)p[i];

        if (c == '.') {
            if (label == 0 || p[i - 1] == '-')
                goto bad;
            label = 0;
            last = i + 1;
            digits_only = 1;
        } else if (is_alnum(c) || (c == '-' && label > 0)) {
            if (++label > LABEL_MAX)
                goto bad;
            if (c < '0' || c > '9')
                digits_only = 0;
        } else {
            goto bad;
        }
    }
    if (label == 0 || p[i - 1] == '-')
        goto bad;
    if (digits_only) { /* RFC 1123 2.1: a top-level label is never all digits */
        *fix = "give the host's DNS name, not an address";
        snprintf(why, nwhy, "'%s' is an IP address or has a numeric top-level label '%s'", in, p + last);
        return why;
    }
    for (i = 0; i <= len; i++)
        out[i] = (char)(in[i] >= 'A' && in[i] <= 'Z' ? in[i] - 'A' + 'a' : in[i]);
    return NULL;
bad:
    snprintf(why, nwhy, "'%s' is not a valid host name (RFC 1123)", in);
    return why;
}

int cscert_fqdn_check(char out[254], const char *in, int allow_wildcard, const char *what)
{
    const char *fix;
    char why[320];

    if (!fqdn_reason(out, in, allow_wildcard, why, sizeof(why), &fix))
        return CSCERT_OK;
    return cscert_error_set(CSCERT_EINVAL, what, why, fix);
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
    size_t (*where)[2]; /* pool k is sites[where[k][0]].pools[where[k][1]] */
};

/* "sites[i].pools[j]" + suffix, for errors found across pools. */
static const char *pool_path(char *buf, size_t n, const struct ctx *c, size_t k, const char *suffix)
{
    snprintf(buf, n, "sites[%zu].pools[%zu]%s", c->where[k][0], c->where[k][1], suffix);
    return buf;
}

/* "SOURCE: WHY at PATH; FIX"; the empty path is the document itself. */
static int perr(struct ctx *c, const char *path, const char *fix, const char *fmt, const char *arg)
{
    char why[1024];

    snprintf(why, sizeof(why), fmt, arg ? arg : "");
    return cscert_error_setf(CSCERT_EINVAL, c->src, fix, "%s at %s", why, *path ? path : "the top level");
}

/* An FQDN of the document at path; no wildcard anywhere in a topology. */
static int check_doc_fqdn(char out[254], struct ctx *c, const char *in, const char *path)
{
    const char *fix;
    char why[320];

    if (!fqdn_reason(out, in, 0, why, sizeof(why), &fix))
        return CSCERT_OK;
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
        /* A suggestion only when it is close: one or two edits, or three
         * in a long key ('zzz' is not a typo of 'url'). */
        if (best && (bd <= 2 || (bd == 3 && strlen(best) >= 8)) && bd < strlen(best))
            snprintf(fix, sizeof(fix), "did you mean '%s'?", best);
        else
            snprintf(fix, sizeof(fix), "remove it; see cscert(1), TOPOLOGY DOCUMENT, for the document's keys");
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
    if ((rc = check_doc_fqdn(buf, c, json_string_value(v), p)) < 0)
        return rc;
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
        return perr(c, p, "give an array of strings",
                    allow_string ? "wrong type: '%s' must be a string or an array of strings"
                                 : "wrong type: '%s' must be an array of strings", key);
    if (!(list = calloc(json_array_size(v) + 1, sizeof(*list))))
        return cscert__oom();
    json_array_foreach(v, i, e) {
        snprintf(ep, sizeof(ep), "%s[%zu]", p, i);
        if (!json_is_string(e)) {
            free_list(list, i);
            return perr(c, ep, "give a string", "wrong type: %s must be a string", ep);
        }
        if ((rc = check_doc_fqdn(buf, c, json_string_value(e), ep)) < 0) {
            free_list(list, i);
            return rc;
        }
        for (j = 0; j < i; j++)
            if (strcmp(list[j], buf) == 0) {
                free_list(list, i);
                return perr(c, ep, "list it once", "duplicate '%s'", buf);
            }
        if (!(list[i] = strdup(buf))) {
            free_list(list, i);
            return cscert__oom();
        }
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

/* A CA: name FQDN\Instance (host lower-cased, instance kept), url
 * https://HOST[:PORT]/... (required: how enrollment reaches it), and an
 * optional IP address that HOST resolves to without DNS. */
static int parse_ca(struct ctx *c, cscert_topology_ca *ca, json_t *v, const char *p)
{
    json_t *name, *url, *addr;
    const char *n, *bs, *u, *hs, *he;
    char host[254], urlhost[254], tmp[300], hp[700];
    unsigned char ip[sizeof(struct in6_addr)];
    int rc;

    if (!json_is_object(v))
        return perr(c, p, "give an object", "wrong type: %s", "must be an object");
    if ((rc = check_keys(c, v, p, ca_keys)) < 0)
        return rc;
    name = json_object_get(v, "name");
    url = json_object_get(v, "url");
    addr = json_object_get(v, "address");
    if (!name)
        return perr(c, p, "add \"name\": \"FQDN\\\\Instance\"", "missing required key '%s'", "name");
    snprintf(hp, sizeof(hp), "%s.name", p);
    if (!json_is_string(name))
        return perr(c, hp, "give a string", "wrong type: %s must be a string", "name");
    n = json_string_value(name);
    bs = strchr(n, '\\');
    if (!bs || !bs[1] || bs == n || strchr(bs + 1, '\\'))
        return perr(c, hp, "write it as FQDN\\\\Instance, e.g. dc01.contoso.net\\\\contoso-DC01-CA",
                    "CA name '%s' is not FQDN\\Instance", n);
    snprintf(tmp, sizeof(tmp), "%.*s", (int)(bs - n < 299 ? bs - n : 299), n);
    if ((rc = check_doc_fqdn(host, c, tmp, hp)) < 0)
        return rc;
    if (!url)
        return perr(c, p, "add \"url\": \"https://HOST:PORT/\"", "missing required key '%s'", "url");
    snprintf(hp, sizeof(hp), "%s.url", p);
    if (!json_is_string(url))
        return perr(c, hp, "give a string", "wrong type: %s must be a string", "url");
    u = json_string_value(url);
    if (strncasecmp(u, "https://", 8) != 0)
        return perr(c, hp, "the CA is reached over HTTPS only", "url '%s' is not https://", u);
    hs = u + 8;
    if (!*hs || strchr(":/?#", *hs))
        return perr(c, hp, "write https://HOST:PORT/", "url '%s' has no host", u);
    if (*hs == '[') {
        he = strchr(hs, ']');
        snprintf(tmp, sizeof(tmp), "%.*s", he ? (int)(he - hs - 1 < 299 ? he - hs - 1 : 299) : 0, hs + 1);
        if (!he || inet_pton(AF_INET6, tmp, ip) != 1)
            return perr(c, hp, "write https://HOST:PORT/", "url '%s' has an invalid IPv6 host", u);
    } else {
        he = hs + strcspn(hs, ":/?#");
        snprintf(tmp, sizeof(tmp), "%.*s", (int)(he - hs < 299 ? he - hs : 299), hs);
        if (inet_pton(AF_INET, tmp, ip) != 1 && (rc = check_doc_fqdn(urlhost, c, tmp, hp)) < 0)
            return rc;
    }
    if (addr) {
        snprintf(hp, sizeof(hp), "%s.address", p);
        if (!json_is_string(addr))
            return perr(c, hp, "give an IP address string", "wrong type: %s must be a string", "address");
        if (inet_pton(AF_INET, json_string_value(addr), ip) != 1
            && inet_pton(AF_INET6, json_string_value(addr), ip) != 1)
            return perr(c, hp, "give the IPv4 or IPv6 address the URL's host is reached at",
                        "'%s' is not an IP address", json_string_value(addr));
    }
    /* Normalized: lower-case host, the instance name as given; https:// in lower case. */
    snprintf(tmp, sizeof(tmp), "%s%s", host, bs);
    if (!(ca->name = strdup(tmp)) || !(ca->url = malloc(strlen(u) + 1))
        || (addr && !(ca->address = strdup(json_string_value(addr)))))
        return cscert__oom();
    memcpy(ca->url, "https://", 8);
    strcpy(ca->url + 8, u + 8);
    return CSCERT_OK;
}

static int parse_doc(cscert_topology *t, struct ctx *c, json_t *doc)
{
    json_t *urls, *cas, *sites, *v;
    size_t i, j, k;
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
        if (!(t->cas = calloc(json_array_size(cas) + 1, sizeof(*t->cas))))
            return cscert__oom();
        json_array_foreach(cas, i, v) {
            snprintf(p, sizeof(p), "certification_authorities[%zu]", i);
            t->n_cas++; /* before parsing: the free sees what was filled in */
            if ((rc = parse_ca(c, &t->cas[i], v, p)) < 0)
                return rc;
            for (j = 0; j < i; j++)
                if (strcasecmp(t->cas[j].name, t->cas[i].name) == 0)
                    return perr(c, p, "list each CA once", "duplicate CA '%s'", t->cas[i].name);
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
        if (!name)
            return perr(c, p, "add \"name\"", "missing required key '%s'", "name");
        if (!json_is_string(name) || !*json_string_value(name)) {
            snprintf(p, sizeof(p), "sites[%zu].name", i);
            return perr(c, p, "give the site's name", "wrong type: %s must be a non-empty string", "name");
        }
        if (!pools)
            return perr(c, p, "add \"pools\"", "missing required key '%s'", "pools");
        if (!json_is_array(pools))
            return perr(c, p, "give an array", "wrong type: %s", "pools must be an array");
        json_array_foreach(pools, j, pj) {
            cscert_pool *np = realloc(t->pools, (t->n_pools + 1) * sizeof(*np));
            size_t(*nw)[2] = np ? realloc(c->where, (t->n_pools + 1) * sizeof(*nw)) : NULL;
            char pp[700];

            if (np)
                t->pools = np;
            if (!nw)
                return cscert__oom();
            c->where = nw;
            c->where[t->n_pools][0] = i;
            c->where[t->n_pools][1] = j;
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
        json_t *seen_site = json_object();

        /* Site names, compared without case: the normalized document
         * groups pools by site name, so two sites of one name would merge. */
        json_array_foreach(sites, i, v) {
            char *lc = strdup(json_string_value(json_object_get(v, "name")));

            if (!lc) {
                rc = cscert__oom();
                break;
            }
            for (k = 0; lc[k]; k++)
                lc[k] = (char)(lc[k] >= 'A' && lc[k] <= 'Z' ? lc[k] - 'A' + 'a' : lc[k]);
            if (json_object_get(seen_site, lc)) {
                snprintf(p, sizeof(p), "sites[%zu].name", i);
                rc = perr(c, p, "give each site its own name", "duplicate site '%s'",
                          json_string_value(json_object_get(v, "name")));
            }
            json_object_set_new(seen_site, lc, json_true());
            free(lc);
            if (rc < 0)
                break;
        }

        for (i = 0; i < t->n_pools && rc == CSCERT_OK; i++) {
            cscert_pool *a = &t->pools[i];

            if (a->role != CSCERT_ROLE_EDGE && a->role != CSCERT_ROLE_MEDIATION)
                web_pools = 1;
            if (json_object_get(seen_pool, a->fqdn)) {
                rc = perr(c, pool_path(p, sizeof(p), c, i, ".fqdn"), "define each pool once",
                          "pool '%s' is defined twice", a->fqdn);
                break;
            }
            json_object_set_new(seen_pool, a->fqdn, json_integer((json_int_t)i));
            if (a->web_external && a->role != CSCERT_ROLE_DIRECTOR)
                json_object_set_new(fe_ext, a->web_external, json_string(a->fqdn));
            for (k = 0; k < a->n_servers; k++) {
                json_t *prev = json_object_get(seen_server, a->servers[k]);

                if (prev) {
                    snprintf(p, sizeof(p), "sites[%zu].pools[%zu].servers[%zu]", c->where[i][0], c->where[i][1], k);
                    rc = cscert_error_setf(CSCERT_EINVAL, c->src, "a server belongs to one pool",
                                           "server '%s' is in pool '%s' and in pool '%s' at %s", a->servers[k],
                                           t->pools[json_integer_value(prev)].fqdn, a->fqdn, p);
                    break;
                }
                json_object_set_new(seen_server, a->servers[k], json_integer((json_int_t)i));
            }
        }
        /* A pool's FQDN may be one of its own servers (a one-server pool),
         * never another pool's server: find_server would be ambiguous. */
        for (i = 0; i < t->n_pools && rc == CSCERT_OK; i++) {
            json_t *owner = json_object_get(seen_server, t->pools[i].fqdn);

            if (owner && (size_t)json_integer_value(owner) != i)
                rc = cscert_error_setf(CSCERT_EINVAL, c->src, "give the pool its own FQDN",
                                       "pool '%s' has the FQDN of a server of pool '%s' at %s", t->pools[i].fqdn,
                                       t->pools[json_integer_value(owner)].fqdn,
                                       pool_path(p, sizeof(p), c, i, ".fqdn"));
        }
        for (i = 0; i < t->n_pools && rc == CSCERT_OK; i++) {
            cscert_pool *a = &t->pools[i];
            json_t *fe = a->role == CSCERT_ROLE_DIRECTOR ? json_object_get(fe_ext, a->web_external) : NULL;

            if (fe) /* R7 */
                rc = cscert_error_setf(CSCERT_EINVAL, c->src, "give the Director its own external web FQDN",
                                       "R7: the Director pool '%s' and the pool '%s' share the external web "
                                       "services FQDN '%s' at %s", a->fqdn, json_string_value(fe), a->web_external,
                                       pool_path(p, sizeof(p), c, i, ".web_services.external"));
        }
        json_decref(seen_pool);
        json_decref(seen_site);
        json_decref(seen_server);
        json_decref(fe_ext);
        if (rc < 0)
            return rc;
    }
    if (web_pools && (t->n_meet == 0 || !t->dialin))
        return perr(c, "simple_urls", "add simple_urls.meet (one per SIP domain) and simple_urls.dialin",
                    "%smeet and dialin are required with Front End, Standard Edition or Director pools", "");
    return CSCERT_OK;
}

int cscert_topology_parse(cscert_topology **out, const char *text, size_t len, const char *source)
{
    struct ctx c = { source ? source : "topology", NULL };
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
    free(c.where);
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
    if ((rc = cscert_store_get_setting(&text, st, "topology")) == CSCERT_ENOTFOUND)
        return cscert_error_set(CSCERT_ENOTFOUND, cscert_store_home(st), "no topology is published",
                                "run 'cscert topology publish FILE'");
    if (rc < 0)
        return rc; /* the store's own error (EIO...), unchanged */
    rc = cscert_topology_parse(out, text, strlen(text), "published topology");
    free(text);
    if (rc == CSCERT_OK && computer_fqdn)
        cscert_store_get_setting(computer_fqdn, st, "computer_fqdn");
    return rc;
}

/* The whole file, NUL-terminated, refused past TOPOLOGY_MAX_BYTES. */
static int read_file(char **out, size_t *len, const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0;
    int rc = CSCERT_OK;

    *out = NULL;
    *len = 0;
    if (!f)
        return cscert_error_setf(CSCERT_EIO, path, "check the path", "cannot open: %s", strerror(errno));
    if (!(buf = malloc(TOPOLOGY_MAX_BYTES + 1)))
        rc = cscert__oom();
    else if ((n = fread(buf, 1, TOPOLOGY_MAX_BYTES + 1, f)) > TOPOLOGY_MAX_BYTES)
        rc = cscert_error_setf(CSCERT_EINVAL, path, "is it a topology?", "larger than %ld MiB",
                               TOPOLOGY_MAX_BYTES >> 20);
    else if (ferror(f))
        rc = cscert_error_setf(CSCERT_EIO, path, "check the file", "cannot read: %s", strerror(errno));
    fclose(f);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return CSCERT_OK;
}

int cscert_topology_load_file(cscert_topology **out, const char *path)
{
    char *text = NULL;
    size_t len;
    int rc;

    *out = NULL;
    if ((rc = read_file(&text, &len, path)) < 0)
        return rc;
    rc = cscert_topology_parse(out, text, len, path);
    free(text);
    return rc;
}

int cscert_topology_publish_file(cscert_store *st, const char *path, const char *computer_fqdn)
{
    char *text = NULL;
    size_t len;
    int rc;

    if ((rc = read_file(&text, &len, path)) < 0)
        return rc;
    rc = cscert_topology_publish(st, text, len, path, computer_fqdn);
    free(text);
    return rc;
}

const cscert_topology_ca *cscert_topology_find_ca(const cscert_topology *t, const char *name)
{
    size_t i;

    for (i = 0; name && i < t->n_cas; i++)
        if (strcasecmp(t->cas[i].name, name) == 0)
            return &t->cas[i];
    return NULL;
}
