/* request.c: see include/cscert/request.h. */
#include "cscert/request.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "cscert/csr.h"
#include "cscert/key.h"
#include "cscert/names.h"
#include "cscert/topology.h"


struct cscert_request {
    EVP_PKEY *key;
    X509_REQ *req;
    char *pem;
    char *names;           /* CN first, comma-separated */
    char *uses;            /* canonical, comma-separated */
    char *friendly_name;
    char *template_name;
    char *ca;
    char *computer_fqdn;
    int exportable;
};

void cscert_request_free(cscert_request *r)
{
    if (!r)
        return;
    EVP_PKEY_free(r->key);
    X509_REQ_free(r->req);
    free(r->pem);
    free(r->names);
    free(r->uses);
    free(r->friendly_name);
    free(r->template_name);
    free(r->ca);
    free(r->computer_fqdn);
    free(r);
}

const char *cscert_request_pem(const cscert_request *r) { return r->pem; }
const char *cscert_request_names(const cscert_request *r) { return r->names; }
const char *cscert_request_uses(const cscert_request *r) { return r->uses; }
int cscert_request_exportable(const cscert_request *r) { return r->exportable; }
X509_REQ *cscert_request_x509_req(const cscert_request *r) { return r->req; }

static int to_pending(cscert_pending *p, const cscert_request *r, int64_t key_id, const char *path,
                      const char *state)
{
    memset(p, 0, sizeof(*p));
    p->key_id = key_id;
    p->uses = r->uses;
    p->names = r->names;
    p->friendly_name = r->friendly_name;
    p->template_name = r->template_name;
    p->ca = r->ca;
    p->computer_fqdn = r->computer_fqdn;
    p->output_path = (char *)path;
    p->csr_pem = r->pem;
    p->state = (char *)state;
    p->exportable = r->exportable;
    return CSCERT_OK;
}

/* Key and pending row in one transaction. */
static int commit_pending(int64_t *out_id, cscert_store *st, cscert_request *r, const char *path,
                          const char *state)
{
    cscert_pending p;
    int64_t key_id = 0;
    int rc;

    *out_id = 0;
    if ((rc = cscert_store_begin(st)) < 0)
        return rc;
    if ((rc = cscert_store_put_key(&key_id, st, r->key, r->exportable)) < 0)
        goto fail;
    to_pending(&p, r, key_id, path, state);
    if ((rc = cscert_store_put_pending(out_id, st, &p)) < 0 || (rc = cscert_store_commit(st)) < 0)
        goto fail;
    return CSCERT_OK;
fail:
    cscert_store_rollback(st);
    *out_id = 0;
    return rc;
}

int cscert_request_commit_pending(int64_t *out_id, cscert_store *st, cscert_request *r)
{
    return commit_pending(out_id, st, r, NULL, "submitted");
}

int cscert_request_cancel(cscert_store *st, int64_t id)
{
    int rc;

    if ((rc = cscert_store_begin(st)) < 0)
        return rc;
    if ((rc = cscert_store_delete_pending(st, id, 1)) < 0 || (rc = cscert_store_commit(st)) < 0) {
        cscert_store_rollback(st);
        return rc;
    }
    return CSCERT_OK;
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, buf, len);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        buf += w;
        len -= (size_t)w;
    }
    return 0;
}

int cscert_request_write_offline(int64_t *out_id, cscert_store *st, cscert_request *r,
                                 const char *path)
{
    char tmp[PATH_MAX], dircopy[PATH_MAX], abspath[PATH_MAX];
    const char *dir;
    int64_t id = 0;
    int fd = -1, dfd, rc;

    *out_id = 0;
    /* The pending row records where the file went, absolute. */
    if (path[0] == '/')
        snprintf(abspath, sizeof(abspath), "%s", path);
    else if (getcwd(tmp, sizeof(tmp)))
        snprintf(abspath, sizeof(abspath), "%.2000s/%.2000s", tmp, path);
    else
        snprintf(abspath, sizeof(abspath), "%s", path);
    snprintf(dircopy, sizeof(dircopy), "%s", abspath);
    dir = dirname(dircopy);
    if (snprintf(tmp, sizeof(tmp), "%s/.cscert-request.XXXXXX", dir) >= (int)sizeof(tmp))
        return cscert_error_set(CSCERT_EINVAL, path, "the path is too long", NULL);
    /* 1. the temp file first: an unwritable place fails before any commit */
    if ((fd = mkstemp(tmp)) < 0)
        return cscert_error_setf(CSCERT_EIO, path, "choose a writable directory for --output",
                                 "cannot create a file in '%s': %s", dir, strerror(errno));
    fchmod(fd, 0644); /* a request is public; the key never goes in it */
    /* 2. the key and the request's parameters, committed */
    if ((rc = commit_pending(&id, st, r, abspath, "offline")) < 0)
        goto fail;
    /* 3. write, fsync, rename, fsync the directory */
    if (write_all(fd, r->pem, strlen(r->pem)) < 0 || fsync(fd) < 0) {
        rc = cscert_error_setf(CSCERT_EIO, path, "check free space", "cannot write the request: %s",
                               strerror(errno));
        goto undo;
    }
    close(fd);
    fd = -1;
    if (rename(tmp, abspath) < 0) {
        rc = cscert_error_setf(CSCERT_EIO, path, "choose another --output path",
                               "cannot put the request in place: %s", strerror(errno));
        goto undo;
    }
    if ((dfd = open(dir, O_RDONLY | O_DIRECTORY)) >= 0) {
        fsync(dfd);
        close(dfd);
    }
    *out_id = id;
    return CSCERT_OK;
undo:
    /* The file never appeared: the pending key must not outlive it. */
    {
        char saved[1024];

        snprintf(saved, sizeof(saved), "%s", cscert_error_last());
        if (cscert_request_cancel(st, id) < 0)
            cscert__warn("pending request %lld could not be removed: %s", (long long)id,
                         cscert_error_last());
        cscert_error_set(rc, NULL, saved, NULL);
    }
fail:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return rc;
}

int cscert_request_prepare(cscert_request **out, cscert_store *st, const cscert_request_opts *o)
{
    cscert_topology *t = NULL;
    cscert_names names = { NULL, 0 };
    cscert_key_spec spec;
    const cscert_csr_hash *hash = NULL;
    cscert_csr_params params;
    cscert_request *r = NULL;
    const char **dns = NULL;
    char *published = NULL, country[3] = "", usebuf[256], fq[254];
    const char *target;
    unsigned uses = 0;
    size_t i;
    int rc, min_bits;

    *out = NULL;
    /* Every input is checked before a key is made. */
    if ((rc = cscert_uses_parse(&uses, o->types)) < 0 || (rc = cscert_key_spec_parse(&spec, o->key_type)) < 0
        || (rc = cscert_csr_hash_parse(&hash, o->hash)) < 0)
        return rc;
    if (o->country && (rc = cscert_csr_country_normalize(country, o->country)) < 0)
        return rc;
    if (o->computer_fqdn && (rc = cscert_fqdn_check(fq, o->computer_fqdn, 0, "--computer-fqdn")) < 0)
        return rc;
    min_bits = cscert_uses_min_rsa_bits(uses);
    if (spec.kind == CSCERT_KEY_RSA && spec.bits < min_bits)
        return cscert_error_setf(CSCERT_EPOLICY, spec.name, "use --key-size 2048 or more",
                                 "OAuthTokenIssuer is a deployment-wide signing key: RSA %d is too small (R12)",
                                 spec.bits);
    if ((rc = cscert_topology_load_published(&t, &published, st)) < 0)
        goto out;
    target = o->computer_fqdn ? fq : published;
    if ((rc = cscert_names_compute(&names, t, target, uses, o->all_sip_domain, o->domain_names)) < 0)
        goto out;
    if (!(r = calloc(1, sizeof(*r))) || !(dns = calloc(names.n + 1, sizeof(*dns)))) {
        rc = cscert__oom();
        goto out;
    }
    for (i = 0; i < names.n; i++)
        dns[i] = names.v[i].name;
    cscert_uses_format(usebuf, sizeof(usebuf), uses);
    /* R10-R12 always; R17: a request for another computer. */
    r->exportable = o->exportable || cscert_names_key_exportable(uses, target, published);
    r->uses = strdup(usebuf);
    r->names = cscert_names_join(&names);
    r->template_name = strdup(o->template_name ? o->template_name : CSCERT_CSR_TEMPLATE_DEFAULT);
    r->ca = o->ca ? strdup(o->ca) : NULL;
    r->computer_fqdn = strdup(target);
    if (o->friendly_name) {
        r->friendly_name = strdup(o->friendly_name);
    } else {
        char now[32], buf[600];

        cscert_now_rfc3339(now);
        snprintf(buf, sizeof(buf), "%s %s %.10s", names.v[0].name, usebuf, now);
        r->friendly_name = strdup(buf);
    }
    memset(&params, 0, sizeof(params));
    params.subject.cn = names.v[0].name;
    params.subject.o = o->organization;
    params.subject.ou = o->ou;
    params.subject.l = o->city;
    params.subject.st = o->state;
    params.subject.c = country[0] ? country : NULL;
    params.dns = dns;
    params.n_dns = names.n;
    params.client_eku = o->client_eku;
    params.template_name = r->template_name;
    params.hash = hash;
    if ((rc = cscert_key_generate(&r->key, &spec)) < 0 || (rc = cscert_csr_build(&r->req, r->key, &params)) < 0
        || (rc = cscert_csr_to_pem(&r->pem, r->req)) < 0)
        goto out;
    *out = r;
    r = NULL;
    rc = CSCERT_OK;
out:
    cscert_request_free(r);
    free(dns);
    cscert_names_clear(&names);
    free(published);
    cscert_topology_free(t);
    return rc;
}
