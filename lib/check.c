/* check.c: see include/cscert/check.h. Reads only: no transaction, no
 * audit line, nothing written. */
#include "cscert/check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509v3.h>

#include "cscert/assign.h"
#include "cscert/certinfo.h"

/* 2048 bits: the smallest RSA key cscert calls strong (R12, R15). */
#define CHECK_RSA_MIN_BITS 2048
/* 86400 s: one day, for --warn-days. */
#define CHECK_DAY 86400LL

struct acc {
    cscert_finding *v;
    size_t n;
};

static int add(struct acc *a, cscert_severity sev, const char *use, const char *thumb,
               const char *kind, const char *name, const char *fix, const char *f, ...)
    __attribute__((format(printf, 8, 9)));
static int add(struct acc *a, cscert_severity sev, const char *use, const char *thumb,
               const char *kind, const char *name, const char *fix, const char *f, ...)
{
    cscert_finding *nv = realloc(a->v, (a->n + 1) * sizeof(*nv)), *x;
    va_list ap;
    int r;

    if (!nv)
        return cscert__oom();
    a->v = nv;
    x = &nv[a->n];
    memset(x, 0, sizeof(*x));
    x->severity = sev;
    snprintf(x->use, sizeof(x->use), "%s", use ? use : "");
    snprintf(x->thumbprint, sizeof(x->thumbprint), "%s", thumb ? thumb : "");
    x->kind = kind;
    va_start(ap, f);
    r = vasprintf(&x->message, f, ap);
    va_end(ap);
    x->name = name ? strdup(name) : NULL;
    x->fix = fix ? strdup(fix) : NULL;
    a->n++;
    if (r < 0 || (name && !x->name) || (fix && !x->fix))
        return cscert__oom();
    return CSCERT_OK;
}

void cscert_findings_free(cscert_finding *v, size_t n)
{
    size_t i;

    for (i = 0; v && i < n; i++) {
        free(v[i].message);
        free(v[i].name);
        free(v[i].fix);
    }
    free(v);
}

json_t *cscert_findings_json(const cscert_finding *v, size_t n)
{
    json_t *arr = json_array();
    size_t i;

    for (i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:s, s:s?, s:s?, s:s, s:s, s:s?, s:s?}",
            "severity", v[i].severity == CSCERT_SEV_ERROR ? "error" : "warning",
            "use", v[i].use[0] ? v[i].use : NULL, "thumbprint", v[i].thumbprint[0] ? v[i].thumbprint : NULL,
            "kind", v[i].kind, "message", v[i].message, "name", v[i].name, "fix", v[i].fix));
    return json_pack("{s:b, s:o}", "clean", n == 0, "findings", arr);
}

/* The certificate itself, once per thumbprint whatever the number of
 * uses it serves (`uses` names them all). */
static int cert_findings(struct acc *a, cscert_store *st, const char *uses, cscert_cert_rec *rec,
                         const cscert_check_opts *o, time_t now)
{
    const char *t = rec->thumbprint;
    cscert_chain_status cs;
    EXTENDED_KEY_USAGE *eku;
    EVP_PKEY *pub = X509_get0_pubkey(rec->x509);
    char d[32], fix[512];
    time_t na = 0, nb = 0;
    int rc, i, server_auth = 0;

    snprintf(fix, sizeof(fix), "cscert request --renew --type %s", uses);
    if (rec->key_id == 0
        && (rc = add(a, CSCERT_SEV_ERROR, uses, t, "missing-key", NULL,
                     "import the certificate's PKCS#12 with its key, or request a new certificate",
                     "%s has no private key in this store", t)) < 0)
        return rc;
    if ((rc = cscert_certinfo_chain(&cs, st, rec->x509, NULL)) < 0)
        return rc;
    if (!cs.trusted
        && (rc = add(a, CSCERT_SEV_ERROR, uses, t, "untrusted-chain", NULL,
                     "cscert import ROOT.cer --store Root (or: cscert ca trust NAME --fingerprint SHA256)",
                     "the chain of %s is not trusted: %s at depth %d ('%s', issued by '%s')", t,
                     cs.error, cs.depth, cs.subject, cs.issuer)) < 0)
        return rc;
    if ((rc = cscert_certinfo_time_t(&na, X509_get0_notAfter(rec->x509))) < 0
        || (rc = cscert_certinfo_time_t(&nb, X509_get0_notBefore(rec->x509))) < 0)
        return rc;
    cscert_certinfo_time(d, X509_get0_notAfter(rec->x509));
    if (na < now)
        rc = add(a, CSCERT_SEV_ERROR, uses, t, "expired", NULL, fix, "%s expired on %s", t, d);
    else if ((long long)(na - now) < o->warn_days * CHECK_DAY)
        rc = add(a, CSCERT_SEV_WARNING, uses, t, "expiring", NULL, fix,
                 "%s expires on %s, in %lld days (warning from %d days)", t, d,
                 (long long)(na - now) / CHECK_DAY, o->warn_days);
    if (rc < 0)
        return rc;
    if (nb > now) {
        cscert_certinfo_time(d, X509_get0_notBefore(rec->x509));
        if ((rc = add(a, CSCERT_SEV_ERROR, uses, t, "not-yet-valid", NULL, NULL,
                      "%s is not valid before %s", t, d)) < 0)
            return rc;
    }
    /* R15: RSA below 2048 and SHA-1 are accepted by Lync, and weak. */
    if (pub && EVP_PKEY_is_a(pub, "RSA") && EVP_PKEY_get_bits(pub) < CHECK_RSA_MIN_BITS
        && (rc = add(a, CSCERT_SEV_WARNING, uses, t, "weak-key", NULL, "cscert request --renew --type"
                     " ... --key-size 2048", "%s has an RSA key of %d bits (below %d)", t,
                     EVP_PKEY_get_bits(pub), CHECK_RSA_MIN_BITS)) < 0)
        return rc;
    i = X509_get_signature_nid(rec->x509);
    if ((i == NID_sha1WithRSAEncryption || i == NID_ecdsa_with_SHA1 || i == NID_dsaWithSHA1)
        && (rc = add(a, CSCERT_SEV_WARNING, uses, t, "sha1-signature", NULL,
                     "ask the CA for a SHA-256 signature (cscert request --renew --hash sha256)",
                     "%s is signed with SHA-1", t)) < 0)
        return rc;
    /* Spec 0: every server certificate needs the Server Authentication EKU. */
    if ((eku = X509_get_ext_d2i(rec->x509, NID_ext_key_usage, NULL, NULL))) {
        for (i = 0; i < sk_ASN1_OBJECT_num(eku); i++)
            server_auth |= OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i)) == NID_server_auth;
        EXTENDED_KEY_USAGE_free(eku);
        if (!server_auth
            && (rc = add(a, CSCERT_SEV_ERROR, uses, t, "no-server-eku", NULL,
                         "request it again with a template that issues Server Authentication (WebServer)",
                         "%s lacks the Server Authentication EKU", t)) < 0)
            return rc;
    }
    return CSCERT_OK;
}

int cscert_check_run(cscert_finding **out, size_t *n, cscert_store *st, const cscert_check_opts *opts)
{
    cscert_check_opts o = opts ? *opts : (cscert_check_opts){ 0 };
    struct acc a = { 0 };
    char **uses = NULL, **need = NULL, **have = NULL, *fix = NULL, joined[192], fixbuf[512];
    cscert_assignment *asg = NULL;
    cscert_cert_rec *rec = NULL;
    size_t nu = 0, na = 0, nn = 0, nh = 0, i, j, k;
    const char *same[CSCERT_ASSIGN_MAX_USES];
    int rc, *done = NULL;
    time_t now;

    *out = NULL;
    *n = 0;
    if (o.warn_days <= 0 && !(opts && opts->warn_days == 0))
        o.warn_days = CSCERT_CHECK_WARN_DAYS;
    now = o.now ? (time_t)o.now : time(NULL);
    if ((rc = cscert__assign_required_uses(&uses, &nu, st)) < 0
        || (rc = cscert_store_list_assignments(&asg, &na, st)) < 0)
        goto out;
    if (!(done = calloc(nu + 1, sizeof(*done)))) {
        rc = cscert__oom();
        goto out;
    }
    for (i = 0; i < nu; i++) {
        const cscert_assignment *cur = NULL;
        size_t ns = 0;

        for (j = 0; j < na; j++)
            if (!strcmp(asg[j].use, uses[i]))
                cur = &asg[j];
        if (!cur) {
            snprintf(fixbuf, sizeof(fixbuf), "cscert request --new --type %s, then cscert set --type %s"
                     " --thumbprint X (or assign a certificate you have: cscert store list)", uses[i], uses[i]);
            if ((rc = add(&a, CSCERT_SEV_ERROR, uses[i], NULL, "unassigned", NULL, fixbuf,
                          "no certificate is assigned to %s", uses[i])) < 0)
                goto out;
            continue;
        }
        if (done[i])
            continue;
        /* Every required use that this same certificate serves. */
        joined[0] = '\0';
        for (k = i; k < nu; k++)
            for (j = 0; j < na; j++)
                if (!strcmp(asg[j].use, uses[k]) && !strcmp(asg[j].thumbprint, cur->thumbprint)
                    && ns < CSCERT_ASSIGN_MAX_USES) {
                    same[ns++] = uses[k];
                    done[k] = 1;
                    snprintf(joined + strlen(joined), sizeof(joined) - strlen(joined), "%s%s",
                             joined[0] ? "," : "", uses[k]);
                }
        if ((rc = cscert_store_get_cert(&rec, st, cur->thumbprint)) == CSCERT_ENOTFOUND) {
            cscert_error_clear();
            snprintf(fixbuf, sizeof(fixbuf), "import it again, or assign another: cscert set --type %s --thumbprint X",
                     joined);
            if ((rc = add(&a, CSCERT_SEV_ERROR, joined, cur->thumbprint, "missing-certificate", NULL,
                          fixbuf, "the assigned certificate %s is not in the store", cur->thumbprint)) < 0)
                goto out;
            continue;
        }
        if (rc < 0 || (rc = cert_findings(&a, st, joined, rec, &o, now)) < 0)
            goto out;
        /* Spec 5.2: name every missing name, one finding each. */
        if ((rc = cscert_certinfo_dns_names(&have, &nh, NULL, rec->x509)) < 0)
            goto out;
        for (k = 0; k < ns; k++) {
            if ((rc = cscert__assign_required_names(&need, &nn, st, same[k])) < 0)
                goto out;
            for (j = 0; j < nn; j++) {
                if (cscert_certinfo_covers(have, need[j]))
                    continue;
                if (!fix && (rc = cscert__assign_fix_command(&fix, st, same, ns)) < 0)
                    goto out;
                if ((rc = add(&a, CSCERT_SEV_ERROR, same[k], rec->thumbprint, "missing-name", need[j], fix,
                              "%s lacks the name '%s' that %s requires", rec->thumbprint, need[j],
                              same[k])) < 0)
                    goto out;
            }
            cscert_certinfo_names_free(need);
            need = NULL;
        }
        free(fix);
        fix = NULL;
        cscert_certinfo_names_free(have);
        have = NULL;
        cscert_cert_rec_free(rec);
        rec = NULL;
    }
    *out = a.v;
    *n = a.n;
    a.v = NULL;
    rc = CSCERT_OK;
out:
    cscert_findings_free(a.v, a.n);
    cscert_cert_rec_free(rec);
    cscert_certinfo_names_free(need);
    cscert_certinfo_names_free(have);
    cscert_assign_uses_free(uses);
    free(fix);
    free(done);
    free(asg);
    return rc;
}
