/* assign_names.c: the bridge from assign and check to topology and names,
 * so that `set`, `check` and `request` ask the same questions
 * (see the library-internal block of include/cscert/assign.h). */
#include "cscert/assign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cscert/names.h"
#include "cscert/topology.h"

int cscert__assign_use_canon(const char **canon, const char *in)
{
    unsigned mask = 0;
    int rc;

    *canon = NULL;
    if (in && strchr(in, ','))
        return cscert_error_setf(CSCERT_EINVAL, in, "give one use", "'%s' is a list", in);
    if ((rc = cscert_uses_parse(&mask, in)) < 0)
        return rc;
    *canon = cscert_use_name(mask);
    return CSCERT_OK;
}

static int load(cscert_topology **t, char **fq, const cscert_pool **pool, cscert_store *st)
{
    int rc;

    if ((rc = cscert_topology_load_published(t, fq, st)) < 0)
        return rc;
    *pool = cscert_topology_find_server(*t, *fq);
    if (!*pool)
        return cscert_error_setf(CSCERT_ENOTFOUND, *fq ? *fq : "computer FQDN",
                                 "publish the topology with --computer-fqdn", "this server is in no pool");
    return CSCERT_OK;
}

int cscert__assign_use_allowed(cscert_store *st, const char *use)
{
    cscert_topology *t = NULL;
    const cscert_pool *p = NULL;
    char *fq = NULL, have[256];
    unsigned mask = 0;
    int rc;

    if ((rc = cscert_uses_parse(&mask, use)) < 0)
        return rc;
    if (mask & CSCERT_USE_REVERSE_PROXY)
        return cscert_error_set(CSCERT_EPOLICY, "ReverseProxy",
                                "the reverse proxy's certificate is requested, never assigned (R14)",
                                "install it on the reverse proxy");
    if ((rc = load(&t, &fq, &p, st)) < 0)
        goto out;
    if (!(mask & cscert_role_uses(p->role))) {
        cscert_uses_format(have, sizeof(have), cscert_role_uses(p->role) & ~(unsigned)CSCERT_USE_REVERSE_PROXY);
        rc = cscert_error_setf(CSCERT_EPOLICY, use, NULL, "not a use of the %s role of '%s' (R18); that role has: %s",
                               cscert_role_name(p->role), p->fqdn, have);
    }
out:
    free(fq);
    cscert_topology_free(t);
    return rc;
}

int cscert__assign_required_names(char ***out, size_t *n, cscert_store *st, const char *use)
{
    cscert_topology *t = NULL;
    const cscert_pool *p = NULL;
    cscert_names names = { NULL, 0 };
    char *fq = NULL, **v = NULL;
    unsigned mask = 0;
    size_t i;
    int rc;

    *out = NULL;
    *n = 0;
    if ((rc = cscert_uses_parse(&mask, use)) < 0 || (rc = load(&t, &fq, &p, st)) < 0
        || (rc = cscert_names_compute(&names, t, fq, mask, 0, NULL)) < 0)
        goto out;
    if (!(v = calloc(names.n + 1, sizeof(*v)))) {
        rc = cscert__oom();
        goto out;
    }
    for (i = 0; i < names.n; i++)
        v[i] = strdup(names.v[i].name);
    *out = v;
    *n = names.n;
out:
    cscert_names_clear(&names);
    free(fq);
    cscert_topology_free(t);
    return rc;
}

int cscert__assign_required_uses(char ***out, size_t *n, cscert_store *st)
{
    cscert_topology *t = NULL;
    const cscert_pool *p = NULL;
    char *fq = NULL, **v = NULL;
    unsigned mask, i;
    size_t cnt = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if ((rc = load(&t, &fq, &p, st)) < 0)
        goto out;
    mask = cscert_pool_required_uses(p);
    if (!(v = calloc(CSCERT_USE_COUNT + 1, sizeof(*v)))) {
        rc = cscert__oom();
        goto out;
    }
    for (i = 0; i < CSCERT_USE_COUNT; i++)
        if (mask & (1u << i))
            v[cnt++] = strdup(cscert_use_name(1u << i));
    *out = v;
    *n = cnt;
out:
    free(fq);
    cscert_topology_free(t);
    return rc;
}

int cscert__assign_fix_command(char **out, cscert_store *st, const char *const *uses, size_t n, int renew)
{
    char buf[512];
    size_t i, len;

    (void)st;
    len = (size_t)snprintf(buf, sizeof(buf), "cscert request %s --type ", renew ? "--renew" : "--new");
    for (i = 0; i < n && len < sizeof(buf); i++)
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", i ? "," : "", uses[i]);
    if (len < sizeof(buf))
        snprintf(buf + len, sizeof(buf) - len, " --ca NAME (or --output FILE)");
    *out = strdup(buf);
    return *out ? CSCERT_OK : cscert__oom();
}
