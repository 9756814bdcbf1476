/* check.c: see include/cscert/check.h. Reads only: no transaction, no
 * audit line, nothing written. */
#include "cscert/check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "cscert/assign.h"
#include "cscert/certinfo.h"
#include "cscert/web.h"
#include "cscert/x509.h"

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
    EVP_PKEY *pub = X509_get0_pubkey(rec->x509), *key = NULL;
    char d[32], fix[512];
    time_t na = 0, nb = 0;
    int rc, i, server_auth = 0;

    snprintf(fix, sizeof(fix), "cscert request --renew --type %s", uses);
    /* Spec 3.4's "missing private key": none recorded, or the recorded
     * one is gone (a store restored without its keys), does not load, or
     * is not this certificate's (web serve would refuse the binding). */
    if (rec->key_id == 0) {
        rc = add(a, CSCERT_SEV_ERROR, uses, t, "missing-key", NULL,
                 "import the certificate's PKCS#12 with its key, or request a new certificate",
                 "%s has no private key in this store", t);
    } else if ((rc = cscert_store_get_key(&key, st, rec->key_id)) == CSCERT_ENOMEM) {
        return rc;
    } else if (rc < 0) {
        snprintf(d, sizeof(d), "%.31s", rc == CSCERT_ENOTFOUND ? "is gone" : "does not load");
        cscert_error_clear();
        rc = add(a, CSCERT_SEV_ERROR, uses, t, "missing-key", NULL,
                 "import the certificate's PKCS#12 with its key, or request a new certificate",
                 "%s has no private key in this store: its key (%lld) %s", t, (long long)rec->key_id, d);
    } else if (X509_check_private_key(rec->x509, key) != 1) {
        ERR_clear_error();
        rc = add(a, CSCERT_SEV_ERROR, uses, t, "missing-key", NULL,
                 "import the certificate's PKCS#12 with its key, or request a new certificate",
                 "%s has no private key in this store: the key recorded for it (%lld) is another one", t,
                 (long long)rec->key_id);
    }
    EVP_PKEY_free(key);
    if (rc < 0)
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

/* An earlier finding of this kind for this thumbprint, or NULL. */
static cscert_finding *find_same(struct acc *a, const char *kind, const char *thumb)
{
    size_t i;

    for (i = 0; i < a->n; i++)
        if (!strcmp(a->v[i].kind, kind) && !strcmp(a->v[i].thumbprint, thumb))
            return &a->v[i];
    return NULL;
}

/* Add uses ("A,B") to a finding's list, each once. */
static void add_uses(cscert_finding *x, const char *uses)
{
    char buf[sizeof(x->use)], *tok, *save = NULL, probe[64], hay[sizeof(x->use) + 2];

    snprintf(buf, sizeof(buf), "%s", uses);
    for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        snprintf(probe, sizeof(probe), ",%s,", tok);
        snprintf(hay, sizeof(hay), ",%s,", x->use);
        if (!strstr(hay, probe))
            snprintf(x->use + strlen(x->use), sizeof(x->use) - strlen(x->use), "%s%s", x->use[0] ? "," : "", tok);
    }
}

/* The CA certificates above a leaf: the chain as a client builds it from
 * Root + CA (time not checked, so an expired link still shows up in
 * it). Each link that has expired, is not valid yet or expires within
 * warn_days is a finding naming it, once per CA certificate however many
 * assigned certificates it issued (`uses` then lists them all): when the
 * issuing CA lapses, every certificate below it stops validating. */
static int chain_ca_findings(struct acc *a, STACK_OF(X509) *roots, STACK_OF(X509) *cas, const char *uses,
                             cscert_cert_rec *rec, const cscert_check_opts *o, time_t now)
{
    X509_STORE *xs = NULL;
    X509_STORE_CTX *vctx = NULL;
    STACK_OF(X509) *chain = NULL;
    char fix[512], d[32], thumb[41], *subj = NULL;
    int i, rc = CSCERT_OK;

    if (!(xs = X509_STORE_new()) || !(vctx = X509_STORE_CTX_new())) {
        rc = cscert__oom();
        goto out;
    }
    for (i = 0; i < sk_X509_num(roots); i++)
        X509_STORE_add_cert(xs, sk_X509_value(roots, i));
    if (!X509_STORE_CTX_init(vctx, xs, rec->x509, cas)) {
        rc = cscert__oom();
        goto out;
    }
    X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(vctx), X509_V_FLAG_NO_CHECK_TIME);
    (void)X509_verify_cert(vctx); /* trust is judged by cert_findings; here only the links */
    ERR_clear_error();
    chain = X509_STORE_CTX_get1_chain(vctx);
    for (i = 1; chain && i < sk_X509_num(chain); i++) {
        X509 *c = sk_X509_value(chain, i);
        int self = X509_check_issued(c, c) == X509_V_OK;
        const char *where = self ? "Root" : "CA", *kind = NULL;
        cscert_severity sev = CSCERT_SEV_ERROR;
        cscert_finding *prev;
        time_t na = 0, nb = 0;

        if ((rc = cscert_certinfo_time_t(&na, X509_get0_notAfter(c))) < 0
            || (rc = cscert_certinfo_time_t(&nb, X509_get0_notBefore(c))) < 0
            || (rc = cscert_x509_thumbprint(thumb, c)) < 0)
            goto out;
        if (na < now)
            kind = "ca-expired";
        else if (nb > now)
            kind = "ca-not-yet-valid";
        else if ((long long)(na - now) < o->warn_days * CHECK_DAY)
            kind = "ca-expiring", sev = CSCERT_SEV_WARNING;
        if (!kind)
            continue;
        if ((prev = find_same(a, kind, thumb))) {
            add_uses(prev, uses);
            continue;
        }
        free(subj);
        subj = NULL;
        if ((rc = cscert_certinfo_name(&subj, X509_get_subject_name(c))) < 0)
            goto out;
        snprintf(fix, sizeof(fix), "renew the CA certificate '%s' at its CA, import the new one (cscert import"
                 " NEW-CA.cer%s), then renew what it issued: cscert request --renew --type %s", subj,
                 self ? " --store Root" : "", uses);
        cscert_certinfo_time(d, nb > now ? X509_get0_notBefore(c) : X509_get0_notAfter(c));
        /* "the CA certificate X ('CN=...', in CA) expired on D; the chain of LEAF goes through it" */
        if (nb > now && na >= now)
            rc = add(a, sev, uses, thumb, kind, NULL, fix, "the CA certificate %s ('%s', in %s) is not valid"
                     " before %s; the chain of %s goes through it", thumb, subj, where, d, rec->thumbprint);
        else if (na < now)
            rc = add(a, sev, uses, thumb, kind, NULL, fix, "the CA certificate %s ('%s', in %s) expired on %s;"
                     " the chain of %s goes through it", thumb, subj, where, d, rec->thumbprint);
        else
            rc = add(a, sev, uses, thumb, kind, NULL, fix, "the CA certificate %s ('%s', in %s) expires on %s,"
                     " in %lld days (warning from %d days); the chain of %s goes through it", thumb, subj, where,
                     d, (long long)(na - now) / CHECK_DAY, o->warn_days, rec->thumbprint);
        if (rc < 0)
            goto out;
    }
out:
    free(subj);
    sk_X509_pop_free(chain, X509_free);
    X509_STORE_CTX_free(vctx);
    X509_STORE_free(xs);
    return rc;
}

/* Is there already a certificate finding that says what this binding
 * problem says? (The served certificate is the assigned one, so the
 * missing name, the expiry or the untrusted chain was reported above.) */
static int web_duplicate(struct acc *a, const cscert_web_result *r, const cscert_web_problem *p)
{
    size_t i;

    if (!strcmp(p->kind, "binding-unassigned")) {
        for (i = 0; i < a->n; i++)
            if (!strcmp(a->v[i].kind, "unassigned") && !strcmp(a->v[i].use, r->binding.use))
                return 1;
        return 0;
    }
    if (!r->match)
        return 0;
    for (i = 0; i < a->n; i++) {
        const cscert_finding *x = &a->v[i];

        if (strcmp(x->thumbprint, r->served))
            continue;
        if ((!strcmp(p->kind, "binding-missing-name") && !strcmp(x->kind, "missing-name") && p->name && x->name
             && !strcmp(p->name, x->name))
            || (!strcmp(p->kind, "binding-expired") && !strcmp(x->kind, "expired"))
            || (!strcmp(p->kind, "binding-untrusted-chain") && !strcmp(x->kind, "untrusted-chain")))
            return 1;
    }
    return 0;
}

/* Issue 6: while `web serve` runs on this home, what `web verify` finds
 * is part of the check: a binding that serves another certificate than
 * the assignment, serves none, cannot be reached, lacks a site's name or
 * sends a chain a client cannot verify. */
static int web_findings(struct acc *a, cscert_store *st, const cscert_check_opts *o)
{
    cscert_web_verify_opts vo = { .timeout_ms = o->web_timeout_ms };
    cscert_web_result *v = NULL;
    size_t n = 0, i, j;
    long pid = 0;
    int rc;

    if (o->no_web || !cscert_web_running(&pid, st))
        return CSCERT_OK;
    if ((rc = cscert_web_verify(&v, &n, st, &vo)) < 0)
        return rc;
    for (i = 0; i < n; i++)
        for (j = 0; j < v[i].n_problems; j++) {
            const cscert_web_problem *p = &v[i].problems[j];

            if (web_duplicate(a, &v[i], p))
                continue;
            if ((rc = add(a, CSCERT_SEV_ERROR, v[i].binding.use, v[i].served[0] ? v[i].served : v[i].assigned,
                          p->kind, p->name, p->fix, "%s", p->message)) < 0)
                goto out;
        }
    rc = CSCERT_OK;
out:
    cscert_web_results_free(v, n);
    return rc;
}

/* One certificate serving the uses same[0..ns) (joined: "A,B"): missing
 * from the store, the certificate's own findings, its chain, and every
 * name a use needs that it lacks (spec 5.2: one finding each). */
static int judge(struct acc *a, cscert_store *st, STACK_OF(X509) *roots, STACK_OF(X509) *cas,
                 const char *const *same, size_t ns, const char *joined, const char *thumb,
                 const cscert_check_opts *o, time_t now)
{
    char **need = NULL, **have = NULL, *fix = NULL, fixbuf[512];
    cscert_cert_rec *rec = NULL;
    size_t nn = 0, nh = 0, j, k;
    int rc;

    if ((rc = cscert_store_get_cert(&rec, st, thumb)) == CSCERT_ENOTFOUND) {
        cscert_error_clear();
        snprintf(fixbuf, sizeof(fixbuf), "import it again, or assign another: cscert set --type %s --thumbprint X",
                 joined);
        return add(a, CSCERT_SEV_ERROR, joined, thumb, "missing-certificate", NULL, fixbuf,
                   "the assigned certificate %s is not in the store", thumb);
    }
    if (rc < 0 || (rc = cert_findings(a, st, joined, rec, o, now)) < 0
        || (rc = chain_ca_findings(a, roots, cas, joined, rec, o, now)) < 0)
        goto out;
    if ((rc = cscert_certinfo_dns_names(&have, &nh, NULL, rec->x509)) < 0)
        goto out;
    for (k = 0; k < ns; k++) {
        if ((rc = cscert__assign_required_names(&need, &nn, st, same[k])) < 0)
            goto out;
        for (j = 0; j < nn; j++) {
            if (cscert_certinfo_covers(have, need[j]))
                continue;
            if (!fix && (rc = cscert__assign_fix_command(&fix, st, same, ns, 1)) < 0)
                goto out;
            if ((rc = add(a, CSCERT_SEV_ERROR, same[k], rec->thumbprint, "missing-name", need[j], fix,
                          "%s lacks the name '%s' that %s requires", rec->thumbprint, need[j], same[k])) < 0)
                goto out;
        }
        cscert_certinfo_names_free(need);
        need = NULL;
    }
    rc = CSCERT_OK;
out:
    free(fix);
    cscert_certinfo_names_free(need);
    cscert_certinfo_names_free(have);
    cscert_cert_rec_free(rec);
    return rc;
}

/* A staged roll (--roll, effective date ahead): the certificate in force
 * must last until the date, and the staged one is judged as it will serve
 * then. */
static int staged_findings(struct acc *a, cscert_store *st, STACK_OF(X509) *roots, STACK_OF(X509) *cas,
                           const cscert_assignment *asg, const cscert_check_opts *o, time_t now)
{
    const char *use = asg->use, *same[1] = {asg->use};
    cscert_cert_rec *old = NULL;
    char fixbuf[512], until[32];
    struct tm tm = {0};
    time_t eff;
    int rc;

    if ((rc = judge(a, st, roots, cas, same, 1, use, asg->thumbprint, o, now)) < 0)
        return rc;
    if (cscert_store_get_cert(&old, st, asg->previous_thumbprint) < 0) {
        cscert_error_clear();
        return CSCERT_OK; /* judged as the certificate in force */
    }
    /* effective_date is RFC 3339 UTC (cscert_assign_parse_date). */
    if (strptime(asg->effective_date, "%Y-%m-%dT%H:%M:%SZ", &tm) && (eff = timegm(&tm)) > 0
        && ASN1_TIME_cmp_time_t(X509_get0_notAfter(old->x509), eff) < 0) {
        cscert_certinfo_time(until, X509_get0_notAfter(old->x509));
        snprintf(fixbuf, sizeof(fixbuf), "stage it earlier: cscert set --type %s --thumbprint %s --roll "
                 "--effective-date DATE (before %s)", use, asg->thumbprint, until);
        rc = add(a, CSCERT_SEV_ERROR, use, old->thumbprint, "roll-gap", NULL, fixbuf,
                 "the certificate in force for %s (%s) expires %s, before the staged %s takes over at %s",
                 use, old->thumbprint, until, asg->thumbprint, asg->effective_date);
    }
    cscert_cert_rec_free(old);
    return rc;
}

int cscert_check_run(cscert_finding **out, size_t *n, cscert_store *st, const cscert_check_opts *opts)
{
    cscert_check_opts o = opts ? *opts : (cscert_check_opts){ 0 };
    struct acc a = { 0 };
    char **uses = NULL, joined[192], fixbuf[512];
    cscert_assignment *asg = NULL;
    STACK_OF(X509) *roots = NULL, *cas = NULL;
    size_t nu = 0, na = 0, i, j, k;
    const char *same[CSCERT_ASSIGN_MAX_USES];
    int rc, *done = NULL;
    time_t now;

    *out = NULL;
    *n = 0;
    if (o.warn_days <= 0 && !(opts && opts->warn_days == 0))
        o.warn_days = CSCERT_CHECK_WARN_DAYS;
    now = o.now ? (time_t)o.now : time(NULL);
    if ((rc = cscert__assign_required_uses(&uses, &nu, st)) < 0
        || (rc = cscert_store_list_assignments(&asg, &na, st)) < 0
        || (rc = cscert_store_trust(&roots, &cas, st)) < 0)
        goto out;
    if (!(done = calloc(nu + 1, sizeof(*done)))) {
        rc = cscert__oom();
        goto out;
    }
    for (i = 0; i < nu; i++) {
        const cscert_assignment *cur = NULL;
        const char *thumb;
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
        /* Every required use that the certificate in force for this one
         * serves too. */
        thumb = cscert_store_assignment_in_force(cur, now);
        joined[0] = '\0';
        for (k = i; k < nu; k++)
            for (j = 0; j < na; j++)
                if (!strcmp(asg[j].use, uses[k]) && !strcmp(cscert_store_assignment_in_force(&asg[j], now), thumb)
                    && ns < CSCERT_ASSIGN_MAX_USES) {
                    same[ns++] = uses[k];
                    done[k] = 1;
                    snprintf(joined + strlen(joined), sizeof(joined) - strlen(joined), "%s%s",
                             joined[0] ? "," : "", uses[k]);
                }
        if ((rc = judge(&a, st, roots, cas, same, ns, joined, thumb, &o, now)) < 0)
            goto out;
    }
    for (j = 0; j < na; j++)
        if (asg[j].previous_thumbprint[0] && cscert_store_assignment_staged(&asg[j], now)
            && (rc = staged_findings(&a, st, roots, cas, &asg[j], &o, now)) < 0)
            goto out;
    if ((rc = web_findings(&a, st, &o)) < 0)
        goto out;
    *out = a.v;
    *n = a.n;
    a.v = NULL;
    rc = CSCERT_OK;
out:
    cscert_findings_free(a.v, a.n);
    cscert_assign_uses_free(uses);
    sk_X509_pop_free(roots, X509_free);
    sk_X509_pop_free(cas, X509_free);
    free(asg);
    free(done);
    return rc;
}
