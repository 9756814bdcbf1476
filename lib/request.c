/* request.c: see include/cscert/request.h. */
#include "cscert/request.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cscert/csr.h"
#include "cscert/key.h"
#include "cscert/names.h"
#include "cscert/topology.h"
#include "cscert/x509.h"


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
    char *renews, *carried; /* renewal only */
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
    free(r->renews);
    free(r->carried);
    free(r);
}

const char *cscert_request_pem(const cscert_request *r) { return r->pem; }
const char *cscert_request_names(const cscert_request *r) { return r->names; }
const char *cscert_request_uses(const cscert_request *r) { return r->uses; }
int cscert_request_exportable(const cscert_request *r) { return r->exportable; }
X509_REQ *cscert_request_x509_req(const cscert_request *r) { return r->req; }
const char *cscert_request_renews(const cscert_request *r) { return r->renews; }
const char *cscert_request_carried(const cscert_request *r) { return r->carried; }

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
    /* The pending row records where the file went, absolute; a path that
     * does not fit is refused, never cut (the file would land elsewhere). */
    if (path[0] != '/' && !getcwd(tmp, sizeof(tmp)))
        return cscert_error_setf(CSCERT_EIO, path, "give an absolute --output path",
                                 "cannot read the current directory: %s", strerror(errno));
    if (snprintf(abspath, sizeof(abspath), "%s%s%s", path[0] == '/' ? "" : tmp, path[0] == '/' ? "" : "/", path)
        >= (int)sizeof(abspath))
        return cscert_error_setf(CSCERT_EINVAL, "--output", "give a shorter --output path",
                                 "the path is too long (%zu characters with the current directory, at most %d)",
                                 strlen(path) + (path[0] == '/' ? 0 : strlen(tmp) + 1), PATH_MAX - 1);
    /* Never over an existing file (a request, a .pfx, the store itself):
     * said before anything is committed, and checked again when the file
     * is put in place (link, which fails on an existing name). */
    if (access(abspath, F_OK) == 0)
        return cscert_error_set(CSCERT_EEXISTS, path, "a file of that name exists",
                                "choose another --output path, or move the file away");
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
    if (link(tmp, abspath) < 0) {
        rc = errno == EEXIST ? cscert_error_set(CSCERT_EEXISTS, path, "a file of that name appeared meanwhile",
                                                "choose another --output path")
                             : cscert_error_setf(CSCERT_EIO, path, "choose another --output path",
                                                 "cannot put the request in place: %s", strerror(errno));
        unlink(tmp);
        goto undo;
    }
    unlink(tmp);
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


/* ---- renewal ---- */

/* What a renewal takes from the certificates it renews. */
struct renewal {
    char *names;            /* their names, comma-separated: extra SANs */
    char *thumbprints;      /* comma-separated, each once */
    char key_type[16];      /* "rsa:2048", "ec:P-384"; "" when unknown */
    char o[128], ou[128], l[128], st[128], c[3];
    int exportable;
};

static void append(char **list, const char *item)
{
    size_t l = *list ? strlen(*list) : 0;
    char *n = realloc(*list, l + strlen(item) + 2);

    if (!n)
        return;
    snprintf(n + l, strlen(item) + 2, "%s%s", l ? "," : "", item);
    *list = n;
}

static int in_list(const char *list, const char *item)
{
    size_t il = strlen(item);

    for (const char *p = list; p && *p;) {
        size_t l;

        while (*p == ' ')
            p++;
        l = strcspn(p, ",");
        while (l && p[l - 1] == ' ')
            l--;
        if (l == il && strncasecmp(p, item, l) == 0)
            return 1;
        p += strcspn(p, ",");
        p += *p == ',';
    }
    return 0;
}

static void subject_field(char *out, size_t n, X509 *x, int nid)
{
    if (!*out && X509_NAME_get_text_by_NID(X509_get_subject_name(x), nid, out, (int)n) < 0)
        *out = '\0';
}

static void key_type_of(char out[16], X509 *x)
{
    EVP_PKEY *k = X509_get0_pubkey(x);
    char group[64] = "";

    if (!k || *out)
        return;
    if (EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA)
        snprintf(out, 16, "rsa:%d", EVP_PKEY_get_bits(k));
    else if (EVP_PKEY_get_base_id(k) == EVP_PKEY_EC && EVP_PKEY_get_group_name(k, group, sizeof(group), NULL))
        snprintf(out, 16, "%s", !strcmp(group, "prime256v1") ? "ec:P-256"
                                : !strcmp(group, "secp384r1") ? "ec:P-384"
                                : !strcmp(group, "secp521r1") ? "ec:P-521" : "");
    ERR_clear_error();
}

/* The certificates assigned to each use of mask; ENOTFOUND naming the
 * first use that has none. */
static int renewal_load(struct renewal *rn, cscert_store *st, unsigned mask)
{
    unsigned bit;
    int rc;

    memset(rn, 0, sizeof(*rn));
    for (bit = 1; bit < (1u << CSCERT_USE_COUNT); bit <<= 1) {
        cscert_assignment a;
        cscert_cert_rec *rec = NULL;
        char **names = NULL;
        size_t n = 0, i;

        if (!(mask & bit))
            continue;
        if ((rc = cscert_store_get_assignment(&a, st, cscert_use_name(bit))) < 0) {
            if (rc != CSCERT_ENOTFOUND)
                return rc;
            return cscert_error_setf(CSCERT_ENOTFOUND, "--renew",
                                     "request a first one with --new instead of --renew",
                                     "no certificate is assigned to '%s': there is nothing to renew",
                                     cscert_use_name(bit));
        }
        if (in_list(rn->thumbprints, a.thumbprint))
            continue;
        if ((rc = cscert_store_get_cert(&rec, st, a.thumbprint)) < 0)
            return rc;
        if ((rc = cscert_x509_names(&names, &n, rec->x509)) < 0) {
            cscert_cert_rec_free(rec);
            return rc;
        }
        for (i = 0; i < n; i++)
            if (!in_list(rn->names, names[i]))
                append(&rn->names, names[i]);
        append(&rn->thumbprints, a.thumbprint);
        key_type_of(rn->key_type, rec->x509);
        subject_field(rn->o, sizeof(rn->o), rec->x509, NID_organizationName);
        subject_field(rn->ou, sizeof(rn->ou), rec->x509, NID_organizationalUnitName);
        subject_field(rn->l, sizeof(rn->l), rec->x509, NID_localityName);
        subject_field(rn->st, sizeof(rn->st), rec->x509, NID_stateOrProvinceName);
        subject_field(rn->c, sizeof(rn->c), rec->x509, NID_countryName);
        rn->exportable |= rec->exportable;
        cscert_x509_names_free(names);
        cscert_cert_rec_free(rec);
    }
    if (!rn->thumbprints || !rn->names)
        return cscert__oom();
    return CSCERT_OK;
}

static void renewal_clear(struct renewal *rn)
{
    free(rn->names);
    free(rn->thumbprints);
    memset(rn, 0, sizeof(*rn));
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
    const char *target, *extra = o->domain_names, *organization = o->organization, *ou = o->ou,
                        *city = o->city, *state = o->state, *country_in = o->country;
    char extra_buf[8192] = "", *carried = NULL;
    struct renewal rn = { 0 };
    unsigned uses = 0;
    size_t i;
    int rc, min_bits, given;

    *out = NULL;
    /* Every input is checked before a key is made. */
    if ((rc = cscert_uses_parse(&uses, o->types)) < 0)
        return rc;
    if (o->renew) {
        if (o->computer_fqdn)
            return cscert_error_set(CSCERT_EINVAL, "--renew", "it renews this server's assigned certificates",
                                    "drop --computer-fqdn, or request with --new for another server");
        if ((rc = renewal_load(&rn, st, uses)) < 0)
            goto out;
        /* The renewed certificates' names after the ones given here. */
        given = o->domain_names && *o->domain_names;
        if ((size_t)snprintf(extra_buf, sizeof(extra_buf), "%s%s%s", given ? o->domain_names : "",
                             given ? "," : "", rn.names) >= sizeof(extra_buf)) {
            rc = cscert_error_set(CSCERT_EINVAL, "--renew", "the certificates renewed carry too many names", NULL);
            goto out;
        }
        extra = extra_buf;
    }
    if ((rc = cscert_key_spec_parse(&spec, o->key_type ? o->key_type : (*rn.key_type ? rn.key_type : NULL))) < 0
        || (rc = cscert_csr_hash_parse(&hash, o->hash)) < 0)
        goto out;
    if (o->renew) {
        organization = o->organization ? o->organization : (*rn.o ? rn.o : NULL);
        ou = o->ou ? o->ou : (*rn.ou ? rn.ou : NULL);
        city = o->city ? o->city : (*rn.l ? rn.l : NULL);
        state = o->state ? o->state : (*rn.st ? rn.st : NULL);
        country_in = o->country ? o->country : (*rn.c ? rn.c : NULL);
    }
    if (country_in && (rc = cscert_csr_country_normalize(country, country_in)) < 0)
        goto out;
    if (o->computer_fqdn && (rc = cscert_fqdn_check(fq, o->computer_fqdn, 0, "--computer-fqdn")) < 0)
        goto out;
    min_bits = cscert_uses_min_rsa_bits(uses);
    if (spec.kind == CSCERT_KEY_RSA && spec.bits < min_bits) {
        rc = cscert_error_setf(CSCERT_EPOLICY, spec.name, "use --key-size 2048 or more",
                               "OAuthTokenIssuer is a deployment-wide signing key: RSA %d is too small (R12)",
                               spec.bits);
        goto out;
    }
    if ((rc = cscert_topology_load_published(&t, &published, st)) < 0)
        goto out;
    target = o->computer_fqdn ? fq : published;
    if ((rc = cscert_names_compute(&names, t, target, uses, o->all_sip_domain, extra)) < 0)
        goto out;
    if (o->renew) {
        /* Names only the renewed certificates gave: carried over. */
        static const char carried_rule[] = "renewal: carried over";

        for (i = 0; i < names.n; i++)
            if (strcmp(names.v[i].rule, "--domain-name") == 0 && !in_list(o->domain_names, names.v[i].name)) {
                names.v[i].rule = carried_rule;
                append(&carried, names.v[i].name);
            }
    }
    if (!(r = calloc(1, sizeof(*r))) || !(dns = calloc(names.n + 1, sizeof(*dns)))) {
        rc = cscert__oom();
        goto out;
    }
    for (i = 0; i < names.n; i++)
        dns[i] = names.v[i].name;
    cscert_uses_format(usebuf, sizeof(usebuf), uses);
    /* R10-R12 always; R17: a request for another computer. */
    r->exportable = o->exportable || rn.exportable || cscert_names_key_exportable(uses, target, published);
    if (o->renew) {
        r->renews = strdup(rn.thumbprints);
        r->carried = strdup(carried ? carried : "");
    }
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
    params.subject.o = organization;
    params.subject.ou = ou;
    params.subject.l = city;
    params.subject.st = state;
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
    free(carried);
    renewal_clear(&rn);
    cscert_topology_free(t);
    return rc;
}
