/* assign.c: see include/cscert/assign.h. */
#include "cscert/assign.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cscert/certinfo.h"
#include "cscert/x509.h"

/* 2048: text of one refusal (the problems, each a line). */
#define ASSIGN_DETAIL_MAX 2048

void cscert_assign_uses_free(char **uses)
{
    size_t i;

    for (i = 0; uses && uses[i]; i++)
        free(uses[i]);
    free(uses);
}

static int push(char ***v, size_t *n, char *s)
{
    char **nv;

    if (!s)
        return cscert__oom();
    nv = realloc(*v, (*n + 2) * sizeof(*nv));
    if (!nv) {
        free(s);
        return cscert__oom();
    }
    nv[(*n)++] = s;
    nv[*n] = NULL;
    *v = nv;
    return CSCERT_OK;
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    va_list ap;
    char *s = NULL;

    va_start(ap, f);
    if (vasprintf(&s, f, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}

int cscert_assign_parse_uses(char ***out, size_t *n, const char *types)
{
    char **v = NULL, *copy = NULL, *tok, *save = NULL;
    const char *canon;
    size_t i;
    int rc = CSCERT_OK, dup;

    *out = NULL;
    *n = 0;
    if (!types || !(copy = strdup(types)))
        return types ? cscert__oom()
                     : cscert_error_set(CSCERT_EINVAL, "--type", "no use given", "e.g. --type Default");
    for (tok = strtok_r(copy, ",", &save); tok && rc == CSCERT_OK; tok = strtok_r(NULL, ",", &save)) {
        char *end;

        while (isspace((unsigned char)*tok))
            tok++;
        end = tok + strlen(tok);
        while (end > tok && isspace((unsigned char)end[-1]))
            *--end = '\0';
        if (!*tok)
            continue;
        if ((rc = cscert__assign_use_canon(&canon, tok)) < 0)
            break;
        for (dup = 0, i = 0; i < *n; i++)
            dup |= !strcmp(v[i], canon);
        if (dup)
            continue;
        if (*n >= CSCERT_ASSIGN_MAX_USES) {
            rc = cscert_error_set(CSCERT_EINVAL, "--type", "too many uses", NULL);
            break;
        }
        rc = push(&v, n, strdup(canon));
    }
    free(copy);
    if (rc == CSCERT_OK && *n == 0)
        rc = cscert_error_set(CSCERT_EINVAL, "--type", "no use given", "e.g. --type Default");
    if (rc < 0) {
        cscert_assign_uses_free(v);
        *n = 0;
        return rc;
    }
    *out = v;
    return CSCERT_OK;
}

int cscert_assign_parse_date(char out[32], const char *in)
{
    static const char *const forms[] = { "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S",
                                         "%Y-%m-%d %H:%M", "%Y-%m-%d" };
    struct tm tm;
    const char *rest = NULL;
    size_t i;
    long off = 0;
    time_t t;

    out[0] = '\0';
    for (i = 0; in && i < sizeof(forms) / sizeof(forms[0]) && !rest; i++) {
        memset(&tm, 0, sizeof(tm));
        rest = strptime(in, forms[i], &tm);
    }
    if (rest && *rest == '.') /* fractional seconds: dropped */
        for (rest++; isdigit((unsigned char)*rest); rest++)
            ;
    if (rest && (*rest == 'Z' || *rest == 'z') && rest[1] == '\0') {
        rest += 1;
    } else if (rest && (*rest == '+' || *rest == '-') && isdigit((unsigned char)rest[1])
               && isdigit((unsigned char)rest[2])) {
        int h = (rest[1] - '0') * 10 + (rest[2] - '0'), m = 0;
        const char *p = rest + 3;

        if (*p == ':')
            p++;
        if (isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1])) {
            m = (p[0] - '0') * 10 + (p[1] - '0');
            p += 2;
        }
        off = (rest[0] == '-' ? -1 : 1) * (h * 3600L + m * 60L);
        rest = h <= 14 && m < 60 ? p : NULL;
    }
    if (!rest || *rest)
        return cscert_error_setf(CSCERT_EINVAL, in ? in : "--effective-date",
                                 "write it as ISO 8601, e.g. 2026-12-01T00:00:00Z",
                                 "not an ISO 8601 date");
    /* No offset: the time is UTC (the cmdlet takes local time; a server
     * fleet is easier to reason about in UTC). */
    t = timegm(&tm) - off;
    if (!gmtime_r(&t, &tm))
        return cscert_error_set(CSCERT_EINVAL, in, "date out of range", NULL);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return CSCERT_OK;
}

/* The problems of one certificate for the uses; see assign.h. */
int cscert_assign_problems(char ***problems, size_t *n, char **fix, cscert_store *st,
                           const char *const *uses, size_t n_uses, const char *thumbprint)
{
    cscert_cert_rec *rec = NULL;
    cscert_chain_status cs;
    char **have = NULL, **need = NULL, **v = NULL, d[32];
    size_t nh = 0, nn = 0, i, j, missing = 0;
    time_t now = time(NULL);
    int rc;

    *problems = NULL;
    *n = 0;
    if (fix)
        *fix = NULL;
    if ((rc = cscert_store_get_cert(&rec, st, thumbprint)) < 0)
        return rc;
    if (rec->store != CSCERT_STORE_MY) {
        rc = cscert_error_setf(CSCERT_EPOLICY, thumbprint, "assign a certificate of store My (cscert store list --store My)",
                               "the certificate is in store %s; only My certificates serve a use",
                               cscert_store_kind_name(rec->store));
        goto out;
    }
    /* 3.4: "missing private key" */
    if (rec->key_id == 0 && (rc = push(&v, n, fmt("%s has no private key in this store (import"
                                                  " its PKCS#12, or request a new certificate)",
                                                  thumbprint))) < 0)
        goto out;
    if (X509_cmp_time(X509_get0_notAfter(rec->x509), &now) < 0) {
        cscert_certinfo_time(d, X509_get0_notAfter(rec->x509));
        if ((rc = push(&v, n, fmt("%s expired on %s", thumbprint, d))) < 0)
            goto out;
    } else if (X509_cmp_time(X509_get0_notBefore(rec->x509), &now) > 0) {
        cscert_certinfo_time(d, X509_get0_notBefore(rec->x509));
        if ((rc = push(&v, n, fmt("%s is not valid before %s", thumbprint, d))) < 0)
            goto out;
    }
    /* 3.4: "CA root not trusted ... cannot assign" */
    if ((rc = cscert_certinfo_chain(&cs, st, rec->x509, NULL)) < 0)
        goto out;
    if (!cs.trusted
        && (rc = push(&v, n, fmt("the chain of %s does not reach a root in Root (%s; issuer '%s'):"
                                 " import the root with 'cscert import ROOT --store Root' or"
                                 " 'cscert ca trust NAME --fingerprint SHA256'",
                                 thumbprint, cs.error, cs.issuer))) < 0)
        goto out;
    if ((rc = cscert_certinfo_dns_names(&have, &nh, NULL, rec->x509)) < 0)
        goto out;
    for (i = 0; i < n_uses; i++) {
        if ((rc = cscert__assign_required_names(&need, &nn, st, uses[i])) < 0)
            goto out;
        for (j = 0; j < nn; j++) {
            if (cscert_certinfo_covers(have, need[j]))
                continue;
            missing++;
            if ((rc = push(&v, n, fmt("%s lacks the name '%s' that %s requires", thumbprint,
                                      need[j], uses[i]))) < 0)
                goto out;
        }
        cscert_certinfo_names_free(need);
        need = NULL;
        nn = 0;
    }
    if (missing && fix && (rc = cscert__assign_fix_command(fix, st, uses, n_uses, 0)) < 0)
        goto out;
    *problems = v;
    v = NULL;
    rc = CSCERT_OK;
out:
    if (rc < 0)
        *n = 0;
    cscert_assign_uses_free(v);
    cscert_certinfo_names_free(have);
    cscert_certinfo_names_free(need);
    cscert_cert_rec_free(rec);
    return rc;
}

/* Join lines with "; " for one-line messages and the audit. */
static void join(char *buf, size_t size, char **lines, size_t n)
{
    size_t i, off = 0;

    buf[0] = '\0';
    for (i = 0; i < n && off < size; i++) {
        int w = snprintf(buf + off, size - off, "%s%s", i ? "; " : "", lines[i]);

        if (w < 0)
            break;
        off += (size_t)w;
    }
}

int cscert_assign_set(cscert_store *st, const cscert_assign_opts *o)
{
    char **uses = NULL, **problems = NULL, *fix = NULL, thumb[41], eff[32] = "";
    char detail[ASSIGN_DETAIL_MAX], object[256];
    cscert_assignment cur, a;
    size_t nu = 0, np = 0, i, j, distinct = 0;
    char seen[CSCERT_ASSIGN_MAX_USES][41];
    int rc, in_tx = 0, audited = 0;

    snprintf(object, sizeof(object), "%s -> %s", o->thumbprint ? o->thumbprint : "",
             o->types ? o->types : "");
    if ((rc = cscert_x509_thumbprint_normalize(thumb, o->thumbprint)) < 0)
        goto out;
    if ((rc = cscert_assign_parse_uses(&uses, &nu, o->types)) < 0)
        goto out;
    for (i = 0; i < nu; i++)
        if ((rc = cscert__assign_use_allowed(st, uses[i])) < 0)
            goto out;
    if (o->roll && (rc = cscert_assign_parse_date(eff, o->effective_date)) < 0)
        goto out;
    snprintf(object, sizeof(object), "%s -> %s", thumb, o->types);
    if ((rc = cscert_assign_problems(&problems, &np, &fix, st, (const char *const *)uses, nu, thumb)) < 0)
        goto out;
    /* Spec 5.4: Set-CsCertificate with several types over separate
     * certificates overwrites them; name what would be replaced. */
    if (nu > 1) {
        char line[512];
        size_t off = 0;

        line[0] = '\0';
        for (i = 0; i < nu; i++) {
            if (cscert_store_get_assignment(&cur, st, uses[i]) < 0) {
                cscert_error_clear();
                continue;
            }
            for (j = 0; j < distinct && strcmp(seen[j], cur.thumbprint); j++)
                ;
            if (j == distinct)
                memcpy(seen[distinct++], cur.thumbprint, 41);
            if (strcmp(cur.thumbprint, thumb) && off < sizeof(line)) {
                int w = snprintf(line + off, sizeof(line) - off, "%s%s (now %s)", off ? ", " : "",
                                 uses[i], cur.thumbprint);
                off += w > 0 ? (size_t)w : 0;
            }
        }
        if (distinct > 1
            && (rc = push(&problems, &np, fmt("separate certificates serve these uses today; one"
                                              " certificate would replace them: %s (run 'cscert set'"
                                              " once per use to keep them apart)", line))) < 0)
            goto out;
    }
    if (np > 0) {
        join(detail, sizeof(detail), problems, np);
        if (!o->force) {
            for (i = 0; i < np; i++)
                cscert__warn("refusing: %s", problems[i]);
            if (fix)
                cscert__warn("to get a certificate with every name, run: %s", fix);
            cscert_store_audit(st, "set", object, "refused", detail);
            audited = 1;
            rc = cscert_error_setf(CSCERT_EPOLICY, thumb,
                                   fix ? fix : "fix the problems above, or --force to assign anyway",
                                   "not assigned to %s: %zu problem%s (%s)", o->types, np,
                                   np == 1 ? "" : "s", problems[0]);
            goto out;
        }
        for (i = 0; i < np; i++)
            cscert__warn("FORCED: %s", problems[i]);
    }
    if ((rc = cscert_store_begin(st)) < 0)
        goto out;
    in_tx = 1;
    /* Checked again under the write lock: a `remove-cert` in another
     * process may have deleted it since the checks above. */
    {
        cscert_cert_rec *rec = NULL;

        rc = cscert_store_get_cert(&rec, st, thumb);
        cscert_cert_rec_free(rec);
        if (rc < 0)
            goto out;
    }
    for (i = 0; i < nu; i++) {
        memset(&a, 0, sizeof(a));
        snprintf(a.use, sizeof(a.use), "%s", uses[i]);
        memcpy(a.thumbprint, thumb, 41);
        if (o->roll) {
            memcpy(a.effective_date, eff, sizeof(eff));
            /* The one in force now stays in force until eff, even when
             * cur is itself a roll still staged. */
            if (cscert_store_get_assignment(&cur, st, uses[i]) == CSCERT_OK
                && strcmp(cscert_store_assignment_in_force(&cur, time(NULL)), thumb))
                snprintf(a.previous_thumbprint, sizeof(a.previous_thumbprint), "%s",
                         cscert_store_assignment_in_force(&cur, time(NULL)));
            cscert_error_clear();
        }
        if ((rc = cscert_store_set_assignment(st, &a)) < 0)
            goto out;
    }
    if ((rc = cscert_store_commit(st)) < 0)
        goto out;
    in_tx = 0;
    cscert_store_audit(st, "set", object, np ? "forced" : "ok", np ? detail : eff[0] ? eff : NULL);
out:
    if (in_tx)
        cscert_store_rollback(st);
    if (rc < 0 && !audited)
        cscert_store_audit(st, "set", object, "refused", cscert_error_last());
    free(fix);
    cscert_assign_uses_free(problems);
    cscert_assign_uses_free(uses);
    return rc;
}

int cscert_assign_remove(cscert_store *st, const char *types)
{
    char **uses = NULL;
    cscert_assignment cur;
    size_t nu = 0, i;
    int rc, in_tx = 0;

    if ((rc = cscert_assign_parse_uses(&uses, &nu, types)) < 0)
        return rc;
    for (i = 0; i < nu; i++)
        if ((rc = cscert_store_get_assignment(&cur, st, uses[i])) < 0) {
            rc = cscert_error_set(CSCERT_ENOTFOUND, uses[i], "no certificate is assigned to this use",
                                  "see 'cscert get'");
            cscert_store_audit(st, "remove", types, "refused", cscert_error_last());
            goto out;
        }
    if ((rc = cscert_store_begin(st)) < 0)
        goto out;
    in_tx = 1;
    for (i = 0; i < nu; i++)
        if ((rc = cscert_store_delete_assignment(st, uses[i])) < 0)
            goto out;
    if ((rc = cscert_store_commit(st)) < 0)
        goto out;
    in_tx = 0;
    cscert_store_audit(st, "remove", types, "ok", NULL);
out:
    if (in_tx)
        cscert_store_rollback(st);
    cscert_assign_uses_free(uses);
    return rc;
}

int cscert_assign_remove_previous(cscert_store *st, const char *types)
{
    char **uses = NULL, obj[300];
    cscert_assignment *cur = NULL;
    size_t nu = 0, i;
    time_t now = time(NULL);
    int rc, in_tx = 0;

    snprintf(obj, sizeof(obj), "%s (previous)", types ? types : "");
    if ((rc = cscert_assign_parse_uses(&uses, &nu, types)) < 0)
        return rc;
    if (!(cur = calloc(nu, sizeof(*cur)))) {
        rc = cscert__oom();
        goto out;
    }
    for (i = 0; i < nu; i++) {
        if (cscert_store_get_assignment(&cur[i], st, uses[i]) < 0) {
            rc = cscert_error_set(CSCERT_ENOTFOUND, uses[i], "no certificate is assigned to this use",
                                  "see 'cscert get'");
            goto out;
        }
        if (!cur[i].previous_thumbprint[0]) {
            rc = cscert_error_set(CSCERT_ENOTFOUND, uses[i], "it has no previous certificate",
                                  "see 'cscert get'");
            goto out;
        }
        if (cscert_store_assignment_staged(&cur[i], now)) {
            rc = cscert_error_setf(CSCERT_EPOLICY, uses[i], "run it again after that date",
                                   "the previous certificate %s is in force until %s (a staged roll)",
                                   cur[i].previous_thumbprint, cur[i].effective_date);
            goto out;
        }
    }
    if ((rc = cscert_store_begin(st)) < 0)
        goto out;
    in_tx = 1;
    for (i = 0; i < nu; i++) {
        cur[i].previous_thumbprint[0] = '\0';
        if ((rc = cscert_store_set_assignment(st, &cur[i])) < 0)
            goto out;
    }
    if ((rc = cscert_store_commit(st)) < 0)
        goto out;
    in_tx = 0;
out:
    if (in_tx)
        cscert_store_rollback(st);
    cscert_store_audit(st, "remove", obj, rc < 0 ? "refused" : "ok", rc < 0 ? cscert_error_last() : NULL);
    free(cur);
    cscert_assign_uses_free(uses);
    return rc;
}

static json_t *str_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

int cscert_assign_get(json_t **out, cscert_store *st, const char *types)
{
    cscert_assignment *a = NULL;
    cscert_cert_rec *rec = NULL;
    char **uses = NULL, **names = NULL, *subject = NULL, *issuer = NULL, *serial = NULL, nb[32], na[32];
    size_t n = 0, nu = 0, i, j, nn = 0;
    json_t *arr = json_array(), *o, *alt;
    int rc;

    *out = NULL;
    if (!arr)
        return cscert__oom();
    if (types && (rc = cscert_assign_parse_uses(&uses, &nu, types)) < 0)
        goto out;
    if ((rc = cscert_store_list_assignments(&a, &n, st)) < 0)
        goto out;
    for (i = 0; i < n; i++) {
        int wanted = !types;

        for (j = 0; j < nu; j++)
            wanted |= !strcmp(uses[j], a[i].use);
        if (!wanted)
            continue;
        o = json_pack("{s:s, s:s}", "Use", a[i].use, "Thumbprint", a[i].thumbprint);
        /* Beyond Get-CsCertificate's fields: which one serves now (the
         * previous one while a roll is staged). */
        json_object_set_new(o, "InForce", json_string(cscert_store_assignment_in_force(&a[i], time(NULL))));
        if (cscert_store_get_cert(&rec, st, a[i].thumbprint) == CSCERT_OK) {
            if ((rc = cscert_certinfo_name(&subject, X509_get_subject_name(rec->x509))) < 0
                || (rc = cscert_certinfo_name(&issuer, X509_get_issuer_name(rec->x509))) < 0
                || (rc = cscert_certinfo_serial(&serial, rec->x509)) < 0
                || (rc = cscert_certinfo_time(nb, X509_get0_notBefore(rec->x509))) < 0
                || (rc = cscert_certinfo_time(na, X509_get0_notAfter(rec->x509))) < 0
                || (rc = cscert_certinfo_dns_names(&names, &nn, NULL, rec->x509)) < 0) {
                json_decref(o);
                goto out;
            }
            alt = json_array();
            for (j = 0; j < nn; j++)
                json_array_append_new(alt, json_string(names[j]));
            json_object_set_new(o, "Subject", json_string(subject));
            json_object_set_new(o, "Issuer", json_string(issuer));
            json_object_set_new(o, "SerialNumber", json_string(serial));
            json_object_set_new(o, "NotBefore", json_string(nb));
            json_object_set_new(o, "NotAfter", json_string(na));
            json_object_set_new(o, "AlternativeNames", alt);
        } else {
            /* The certificate was deleted behind the assignment's back. */
            cscert_error_clear();
            json_object_set_new(o, "Subject", json_null());
            json_object_set_new(o, "Issuer", json_null());
            json_object_set_new(o, "SerialNumber", json_null());
            json_object_set_new(o, "NotBefore", json_null());
            json_object_set_new(o, "NotAfter", json_null());
            json_object_set_new(o, "AlternativeNames", json_array());
        }
        json_object_set_new(o, "EffectiveDate", str_or_null(a[i].effective_date));
        json_object_set_new(o, "PreviousThumbprint", str_or_null(a[i].previous_thumbprint));
        json_array_append_new(arr, o);
        cscert_cert_rec_free(rec);
        rec = NULL;
        free(subject);
        free(issuer);
        free(serial);
        subject = issuer = serial = NULL;
        cscert_certinfo_names_free(names);
        names = NULL;
    }
    *out = arr;
    arr = NULL;
    rc = CSCERT_OK;
out:
    json_decref(arr);
    cscert_cert_rec_free(rec);
    free(subject);
    free(issuer);
    free(serial);
    cscert_certinfo_names_free(names);
    cscert_assign_uses_free(uses);
    free(a);
    return rc;
}
