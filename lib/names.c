/* names.c: see include/cscert/names.h. Each name is tagged with the rule
 * of spec/lync-certificates.md that asks for it. */
#include "cscert/names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* 1,000: more SANs than any CA accepts on one certificate. */
#define NAMES_MAX 1000

static const char *const use_names[CSCERT_USE_COUNT] = {
    "Default", "WebServicesInternal", "WebServicesExternal", "OAuthTokenIssuer",
    "AccessEdgeExternal", "DataEdgeExternal", "AudioVideoAuthentication", "Internal",
    "XmppServer", "ReverseProxy",
};

const char *cscert_use_name(unsigned bit)
{
    unsigned i;

    for (i = 0; i < CSCERT_USE_COUNT; i++)
        if (bit == (1u << i))
            return use_names[i];
    return NULL;
}

void cscert_uses_format(char *buf, size_t n, unsigned mask)
{
    size_t len = 0;
    unsigned i;

    buf[0] = '\0';
    for (i = 0; i < CSCERT_USE_COUNT && len < n; i++)
        if (mask & (1u << i))
            len += (size_t)snprintf(buf + len, n - len, "%s%s", len ? "," : "", use_names[i]);
}

#define USES_FIX "use Default, WebServicesInternal, WebServicesExternal, OAuthTokenIssuer, " \
    "AccessEdgeExternal, DataEdgeExternal, AudioVideoAuthentication, Internal, XmppServer or ReverseProxy"

int cscert_use_parse(unsigned *bit, const char *name)
{
    unsigned i;

    *bit = 0;
    for (i = 0; name && i < CSCERT_USE_COUNT; i++)
        if (strcasecmp(name, use_names[i]) == 0) {
            *bit = 1u << i;
            return CSCERT_OK;
        }
    return cscert_error_setf(CSCERT_EINVAL, "--type", USES_FIX, "unknown use '%s'", name ? name : "");
}

int cscert_uses_parse(unsigned *mask, const char *list)
{
    char *copy, *tok, *save = NULL;
    unsigned i;
    int rc = CSCERT_OK;

    *mask = 0;
    if (!list || !(copy = strdup(list)))
        return cscert_error_set(CSCERT_EINVAL, "--type", "no use given", "e.g. --type Default");
    for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *end;

        while (*tok == ' ' || *tok == '\t')
            tok++;
        end = tok + strlen(tok);
        while (end > tok && (end[-1] == ' ' || end[-1] == '\t'))
            *--end = '\0';
        if (!*tok)
            continue;
        if ((rc = cscert_use_parse(&i, tok)) < 0)
            break;
        *mask |= i; /* a use listed twice counts once */
    }
    free(copy);
    if (rc == CSCERT_OK && *mask == 0)
        rc = cscert_error_set(CSCERT_EINVAL, "--type", "no use given", "e.g. --type Default");
    return rc;
}

/* R18 */
unsigned cscert_role_uses(cscert_role r)
{
    switch (r) {
    case CSCERT_ROLE_STANDARD_EDITION:
    case CSCERT_ROLE_FRONT_END:
    case CSCERT_ROLE_DIRECTOR:
        return CSCERT_USE_DEFAULT | CSCERT_USE_WEB_INTERNAL | CSCERT_USE_WEB_EXTERNAL | CSCERT_USE_OAUTH
               | CSCERT_USE_REVERSE_PROXY;
    case CSCERT_ROLE_MEDIATION:
        return CSCERT_USE_DEFAULT;
    case CSCERT_ROLE_EDGE:
        return CSCERT_USE_EDGE_INTERNAL | CSCERT_USE_ACCESS_EDGE | CSCERT_USE_DATA_EDGE | CSCERT_USE_AV_AUTH
               | CSCERT_USE_XMPP;
    }
    return 0;
}

unsigned cscert_pool_required_uses(const cscert_pool *p)
{
    unsigned m = cscert_role_uses(p->role) & ~(unsigned)CSCERT_USE_REVERSE_PROXY;

    if (p->role == CSCERT_ROLE_EDGE && p->n_xmpp == 0)
        m &= ~(unsigned)CSCERT_USE_XMPP;
    return m;
}

int cscert_uses_key_exportable(unsigned mask)
{
    /* R10, R11, R12 */
    return (mask & (CSCERT_USE_ACCESS_EDGE | CSCERT_USE_DATA_EDGE | CSCERT_USE_AV_AUTH | CSCERT_USE_OAUTH)) != 0;
}

int cscert_names_key_exportable(unsigned mask, const char *target_fqdn, const char *published_fqdn)
{
    /* R17: a key made for another computer has to travel there. */
    return cscert_uses_key_exportable(mask)
           || (target_fqdn && published_fqdn && strcasecmp(target_fqdn, published_fqdn) != 0);
}

int cscert_uses_min_rsa_bits(unsigned mask)
{
    return mask & CSCERT_USE_OAUTH ? 2048 : 0; /* R12 */
}

void cscert_names_clear(cscert_names *n)
{
    free(n->v);
    n->v = NULL;
    n->n = 0;
}

char *cscert_names_join(const cscert_names *n)
{
    size_t i, len = 1;
    char *s;

    for (i = 0; i < n->n; i++)
        len += strlen(n->v[i].name) + 1;
    if (!(s = calloc(1, len)))
        return NULL;
    for (i = 0; i < n->n; i++) {
        if (i)
            strcat(s, ",");
        strcat(s, n->v[i].name);
    }
    return s;
}

/* R1: lower-cased, de-duplicated; a name keeps its first place and rule. */
static int add(cscert_names *n, const char *name, const char *rule)
{
    cscert_name_entry *nv;
    size_t i;

    if (!name)
        return CSCERT_OK;
    for (i = 0; i < n->n; i++)
        if (strcasecmp(n->v[i].name, name) == 0)
            return CSCERT_OK;
    if (n->n >= NAMES_MAX)
        return cscert_error_setf(CSCERT_EINVAL, name, "use fewer names", "more than %d names", NAMES_MAX);
    if (!(nv = realloc(n->v, (n->n + 1) * sizeof(*nv))))
        return cscert__oom();
    n->v = nv;
    snprintf(nv[n->n].name, sizeof(nv[n->n].name), "%s", name);
    for (i = 0; nv[n->n].name[i]; i++)
        if (nv[n->n].name[i] >= 'A' && nv[n->n].name[i] <= 'Z')
            nv[n->n].name[i] = (char)(nv[n->n].name[i] - 'A' + 'a');
    nv[n->n].rule = rule;
    n->n++;
    return CSCERT_OK;
}

static int add_prefixed(cscert_names *n, const char *prefix, char **domains, size_t nd, const char *rule)
{
    char buf[300];
    size_t i;
    int rc;

    for (i = 0; i < nd; i++) {
        snprintf(buf, sizeof(buf), "%s.%s", prefix, domains[i]);
        if (strlen(buf) > 253)
            continue;
        if ((rc = add(n, buf, rule)) < 0)
            return rc;
    }
    return CSCERT_OK;
}

static int add_list(cscert_names *n, char **v, size_t nv, const char *rule)
{
    size_t i;
    int rc;

    for (i = 0; i < nv; i++)
        if ((rc = add(n, v[i], rule)) < 0)
            return rc;
    return CSCERT_OK;
}

static int web_names(cscert_names *n, const cscert_topology *t, const cscert_pool *p, const char *server,
                     unsigned uses, int all_sip)
{
    size_t nd = all_sip ? t->n_sip : 1; /* R6: default (first) SIP domain, or every one */
    int rc = CSCERT_OK;

    if (uses & CSCERT_USE_DEFAULT) {
        if (p->role == CSCERT_ROLE_MEDIATION) { /* R8 */
            if ((rc = add(n, p->fqdn, "R8")) < 0 || (rc = add(n, server, "R8")) < 0)
                return rc;
        } else { /* R2 */
            if ((rc = add(n, p->fqdn, "R2")) < 0 || (rc = add(n, server, "R2")) < 0
                || (rc = add_prefixed(n, "sip", all_sip ? t->sip_domains : t->auto_sign_in,
                                      all_sip ? t->n_sip : t->n_auto, "R2")) < 0)
                return rc;
        }
    }
    if (uses & CSCERT_USE_WEB_INTERNAL) { /* R3 */
        if ((rc = add(n, p->web_internal, "R3")) < 0 || (rc = add(n, server, "R3")) < 0
            || (rc = add(n, p->fqdn, "R3")) < 0 || (rc = add_list(n, t->meet, t->n_meet, "R3")) < 0
            || (rc = add(n, t->dialin, "R3")) < 0 || (rc = add(n, t->admin, "R3")) < 0
            || (rc = add_prefixed(n, "lyncdiscoverinternal", t->sip_domains, nd, "R6")) < 0)
            return rc;
    }
    if (uses & CSCERT_USE_WEB_EXTERNAL) { /* R4: never the Admin URL */
        if ((rc = add(n, p->web_external, "R4")) < 0 || (rc = add_list(n, t->meet, t->n_meet, "R4")) < 0
            || (rc = add(n, t->dialin, "R4")) < 0
            || (rc = add_prefixed(n, "lyncdiscover", t->sip_domains, nd, "R6")) < 0)
            return rc;
    }
    if (uses & CSCERT_USE_OAUTH) /* R12 */
        if ((rc = add(n, t->sip_domains[0], "R12")) < 0)
            return rc;
    if (uses & CSCERT_USE_REVERSE_PROXY) { /* R14 */
        size_t i;

        if ((rc = add(n, p->web_external, "R14")) < 0)
            return rc;
        for (i = 0; i < t->n_pools; i++)
            if (t->pools[i].role == CSCERT_ROLE_DIRECTOR && (rc = add(n, t->pools[i].web_external, "R14")) < 0)
                return rc;
        if ((rc = add(n, t->dialin, "R14")) < 0 || (rc = add_list(n, t->meet, t->n_meet, "R14")) < 0
            || (rc = add(n, t->office_web_apps, "R14")) < 0
            || (rc = add_prefixed(n, "lyncdiscover", t->sip_domains, t->n_sip, "R14")) < 0)
            return rc;
    }
    return rc;
}

/* After the CN, names follow the rules' order (R1): R9, R10, R11, R13. */
static int edge_names(cscert_names *n, const cscert_topology *t, const cscert_pool *p, unsigned uses,
                      int all_sip)
{
    int rc = CSCERT_OK;

    if (uses & CSCERT_USE_EDGE_INTERNAL) /* R9 */
        if ((rc = add(n, p->fqdn, "R9")) < 0)
            return rc;
    if (uses & (CSCERT_USE_ACCESS_EDGE | CSCERT_USE_DATA_EDGE)) { /* R10 */
        if ((rc = add(n, p->edge_access, "R10")) < 0 || (rc = add(n, p->edge_webconf, "R10")) < 0
            || (rc = add_prefixed(n, "sip", all_sip ? t->sip_domains : t->auto_sign_in,
                                  all_sip ? t->n_sip : t->n_auto, "R10")) < 0
            || (rc = add_list(n, p->xmpp_domains, p->n_xmpp, "R10")) < 0)
            return rc;
    }
    if (uses & CSCERT_USE_AV_AUTH) /* R11 */
        if ((rc = add(n, p->edge_av, "R11")) < 0)
            return rc;
    if (uses & CSCERT_USE_XMPP) /* R13 */
        if ((rc = add(n, p->edge_access, "R13")) < 0 || (rc = add_list(n, p->xmpp_domains, p->n_xmpp, "R13")) < 0)
            return rc;
    return rc;
}

int cscert_names_compute(cscert_names *out, const cscert_topology *t, const char *computer_fqdn,
                         unsigned uses, int all_sip_domain, const char *domain_names)
{
    const cscert_pool *p = cscert_topology_find_server(t, computer_fqdn);
    cscert_names n = { NULL, 0 };
    char have[256], bad[256], server[254];
    unsigned extra;
    int rc;

    out->v = NULL;
    out->n = 0;
    if (!p) {
        size_t i;

        /* Lync's -ComputerFqdn: "always give the computer name, even for a
         * pool certificate". Say so when a pool's FQDN was given. */
        for (i = 0; computer_fqdn && i < t->n_pools; i++)
            if (strcasecmp(t->pools[i].fqdn, computer_fqdn) == 0) {
                char fix[320];

                snprintf(fix, sizeof(fix), "pass the FQDN of one of its servers, e.g. --computer-fqdn %s",
                         t->pools[i].servers[0]);
                return cscert_error_set(CSCERT_ENOTFOUND, computer_fqdn,
                                        "is a pool, not a server of the published topology", fix);
            }
        return cscert_error_setf(CSCERT_ENOTFOUND, computer_fqdn ? computer_fqdn : "computer FQDN",
                                 "pass --computer-fqdn of a server in the topology, or publish it again",
                                 "not a server of the published topology");
    }
    snprintf(server, sizeof(server), "%s", computer_fqdn);
    for (rc = 0; server[rc]; rc++)
        if (server[rc] >= 'A' && server[rc] <= 'Z')
            server[rc] = (char)(server[rc] - 'A' + 'a');
    extra = uses & ~cscert_role_uses(p->role);
    if (extra) { /* R18 */
        cscert_uses_format(bad, sizeof(bad), extra);
        cscert_uses_format(have, sizeof(have), cscert_role_uses(p->role));
        return cscert_error_setf(CSCERT_EPOLICY, bad, NULL,
                                 "not a use of the %s role of '%s' (R18); that role has: %s",
                                 cscert_role_name(p->role), p->fqdn, have);
    }
    if ((uses & CSCERT_USE_XMPP) && p->n_xmpp == 0)
        return cscert_error_setf(CSCERT_EPOLICY, "XmppServer", "add xmpp_domains to the Edge pool and publish",
                                 "the Edge pool '%s' has no xmpp_domains (R13)", p->fqdn);
    /* The CN comes first (R1); which rule gives it: R5/R10/R11/R12/R14. */
    if (p->role == CSCERT_ROLE_EDGE) {
        if (uses & (CSCERT_USE_ACCESS_EDGE | CSCERT_USE_DATA_EDGE))
            rc = add(&n, p->edge_access, "R10");
        else if (uses & CSCERT_USE_XMPP)
            rc = add(&n, p->edge_access, "R13");
        else if (uses & CSCERT_USE_AV_AUTH)
            rc = add(&n, p->edge_av, "R11");
        else
            rc = add(&n, p->fqdn, "R9");
        if (rc >= 0)
            rc = edge_names(&n, t, p, uses, all_sip_domain);
    } else {
        if (uses & (CSCERT_USE_DEFAULT | CSCERT_USE_WEB_INTERNAL | CSCERT_USE_WEB_EXTERNAL))
            rc = add(&n, p->fqdn, uses & CSCERT_USE_DEFAULT ? (p->role == CSCERT_ROLE_MEDIATION ? "R8" : "R2")
                                  : uses & CSCERT_USE_WEB_INTERNAL ? "R3" : "R4");
        else if (uses & CSCERT_USE_REVERSE_PROXY)
            rc = add(&n, p->web_external, "R14");
        else
            rc = add(&n, t->sip_domains[0], "R12");
        if (rc >= 0)
            rc = web_names(&n, t, p, server, uses, all_sip_domain);
    }
    if (rc >= 0 && domain_names) {
        char *copy = strdup(domain_names), *tok, *save = NULL, fq[254];

        for (tok = copy ? strtok_r(copy, ",", &save) : NULL; tok && rc >= 0; tok = strtok_r(NULL, ",", &save)) {
            char *end;

            while (*tok == ' ')
                tok++;
            end = tok + strlen(tok);
            while (end > tok && end[-1] == ' ')
                *--end = '\0';
            if (!*tok)
                continue;
            if ((rc = cscert_fqdn_check(fq, tok, 1, "--domain-name")) < 0)
                break;
            /* Spec 0: a wildcard SAN "is not supported for the external
             * Edge interfaces" (Access, Web Conferencing, A/V). */
            if (fq[0] == '*' && (uses & (CSCERT_USE_ACCESS_EDGE | CSCERT_USE_DATA_EDGE | CSCERT_USE_AV_AUTH))) {
                rc = cscert_error_setf(CSCERT_EINVAL, "--domain-name", "name each external Edge FQDN instead (they "
                                       "are computed from the topology)",
                                       "'%s' is a wildcard, which is not supported on the external Edge interfaces",
                                       tok);
                break;
            }
            rc = add(&n, fq, "--domain-name");
        }
        free(copy);
    }
    if (rc < 0) {
        cscert_names_clear(&n);
        return rc;
    }
    *out = n;
    return CSCERT_OK;
}
