/* certinfo.c: see include/cscert/certinfo.h. */
#include "cscert/certinfo.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "cscert/x509.h"

/* 4096: SANs read from one certificate; public CAs stop at a few hundred. */
#define CERTINFO_MAX_NAMES 4096

int cscert_certinfo_name(char **out, const X509_NAME *n)
{
    return cscert_x509_name_text(out, n);
}

int cscert_certinfo_serial(char **out, X509 *x)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *hex = NULL;

    *out = NULL;
    if (!bn || !(hex = BN_bn2hex(bn))) {
        BN_free(bn);
        return cscert__crypto_error("certificate", "reading the serial number");
    }
    BN_free(bn);
    *out = strdup(hex);
    OPENSSL_free(hex);
    return *out ? CSCERT_OK : cscert__oom();
}

int cscert_certinfo_time(char out[32], const ASN1_TIME *t)
{
    return cscert_x509_time_text(out, t);
}

int cscert_certinfo_time_t(time_t *out, const ASN1_TIME *t)
{
    struct tm tm;

    *out = 0;
    if (!t || !ASN1_TIME_to_tm(t, &tm))
        return cscert_error_set(CSCERT_EINVAL, "certificate", "unreadable validity date", NULL);
    *out = timegm(&tm);
    return CSCERT_OK;
}

void cscert_certinfo_names_free(char **v)
{
    size_t i;

    for (i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

static char *lower_dup(const unsigned char *p, int len)
{
    char *s = malloc((size_t)len + 1);
    int i;

    if (!s)
        return NULL;
    for (i = 0; i < len; i++)
        s[i] = (char)tolower(p[i]);
    s[len] = '\0';
    return s;
}

static int push_name(char ***v, size_t *n, char *s)
{
    size_t i;
    char **nv;

    if (!s)
        return cscert__oom();
    for (i = 0; i < *n; i++)
        if (strcmp((*v)[i], s) == 0) { /* R1: de-duplicated */
            free(s);
            return CSCERT_OK;
        }
    if (*n >= CERTINFO_MAX_NAMES) {
        free(s);
        return CSCERT_OK;
    }
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

static char *get_cn(X509 *x)
{
    X509_NAME *sn = X509_get_subject_name(x);
    int i = X509_NAME_get_index_by_NID(sn, NID_commonName, -1);
    ASN1_STRING *d;
    unsigned char *utf8 = NULL;
    char *s;
    int len;

    if (i < 0)
        return NULL;
    d = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(sn, i));
    if ((len = ASN1_STRING_to_UTF8(&utf8, d)) < 0)
        return NULL;
    /* An embedded NUL would hide the rest of the name (as in x509.c). */
    s = memchr(utf8, '\0', (size_t)len) ? NULL : lower_dup(utf8, len);
    OPENSSL_free(utf8);
    return s;
}

int cscert_certinfo_dns_names(char ***out, size_t *n, char **cn_out, X509 *x)
{
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    char **v = NULL, *cn = get_cn(x);
    int i, rc = CSCERT_OK;

    *out = NULL;
    *n = 0;
    if (cn_out)
        *cn_out = NULL;
    v = calloc(1, sizeof(*v));
    if (!v) {
        rc = cscert__oom();
        goto out;
    }
    for (i = 0; gens && i < sk_GENERAL_NAME_num(gens) && rc == CSCERT_OK; i++) {
        GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

        /* "webpool01.contoso.net\0.evil.com" must not read as the name
         * before its NUL: such a name is no name of ours (as in x509.c). */
        if (g->type == GEN_DNS && ASN1_STRING_length(g->d.dNSName) > 0
            && !memchr(ASN1_STRING_get0_data(g->d.dNSName), '\0', (size_t)ASN1_STRING_length(g->d.dNSName)))
            rc = push_name(&v, n, lower_dup(ASN1_STRING_get0_data(g->d.dNSName),
                                            ASN1_STRING_length(g->d.dNSName)));
    }
    /* Without a SAN extension, TLS clients fall back to the CN. */
    if (rc == CSCERT_OK && !gens && cn)
        rc = push_name(&v, n, strdup(cn));
    if (rc == CSCERT_OK) {
        *out = v;
        v = NULL;
        if (cn_out) {
            *cn_out = cn;
            cn = NULL;
        }
    }
out:
    cscert_certinfo_names_free(v);
    free(cn);
    GENERAL_NAMES_free(gens);
    return rc;
}

int cscert_certinfo_covers(char **names, const char *name)
{
    size_t i;
    const char *dot = strchr(name, '.');

    for (i = 0; names && names[i]; i++) {
        if (strcasecmp(names[i], name) == 0)
            return 1;
        /* "*.contoso.com" covers "meet.contoso.com", not "a.b.contoso.com" */
        if (names[i][0] == '*' && names[i][1] == '.' && dot && dot != name
            && strcasecmp(names[i] + 1, dot) == 0)
            return 1;
    }
    return 0;
}

int cscert_certinfo_is_ca(X509 *x, int *self_signed)
{
    if (self_signed)
        *self_signed = X509_self_signed(x, 1) == 1;
    /* X509_check_ca: 1 basicConstraints CA, 3 v1 self-signed root,
     * 4 keyCertSign, 5 old Netscape CA type; 0 not a CA. */
    return X509_check_ca(x) != 0;
}

static void name_into(char *dst, size_t n, const X509_NAME *nm)
{
    char *s = NULL;

    dst[0] = '\0';
    if (nm && cscert_certinfo_name(&s, nm) == CSCERT_OK)
        snprintf(dst, n, "%s", s);
    free(s);
    cscert_error_clear();
}

int cscert_certinfo_chain_to(cscert_chain_status *out, X509 *x, STACK_OF(X509) *roots,
                             STACK_OF(X509) *untrusted, int check_time)
{
    X509_STORE *xs = NULL;
    X509_STORE_CTX *ctx = NULL;
    X509 *cur;
    int i, rc = CSCERT_ECRYPTO;

    memset(out, 0, sizeof(*out));
    if (!(xs = X509_STORE_new()) || !(ctx = X509_STORE_CTX_new()))
        goto out;
    for (i = 0; i < sk_X509_num(roots); i++)
        if (!X509_STORE_add_cert(xs, sk_X509_value(roots, i)))
            goto out;
    if (!X509_STORE_CTX_init(ctx, xs, x, untrusted))
        goto out;
    if (!check_time)
        X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx), X509_V_FLAG_NO_CHECK_TIME);
    if (X509_verify_cert(ctx) == 1) {
        out->trusted = 1;
    } else {
        out->code = X509_STORE_CTX_get_error(ctx);
        out->depth = X509_STORE_CTX_get_error_depth(ctx);
        snprintf(out->error, sizeof(out->error), "%s", X509_verify_cert_error_string(out->code));
        cur = X509_STORE_CTX_get_current_cert(ctx);
        if (!cur)
            cur = x;
        name_into(out->subject, sizeof(out->subject), X509_get_subject_name(cur));
        name_into(out->issuer, sizeof(out->issuer), X509_get_issuer_name(cur));
    }
    out->length = (size_t)sk_X509_num(X509_STORE_CTX_get0_chain(ctx));
    ERR_clear_error();
    rc = CSCERT_OK;
out:
    if (rc)
        cscert__crypto_error("chain", "building the chain");
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(xs);
    return rc;
}

int cscert_certinfo_chain(cscert_chain_status *out, cscert_store *st, X509 *x,
                          STACK_OF(X509) *extra)
{
    STACK_OF(X509) *roots = NULL, *cas = NULL;
    int i, rc;

    memset(out, 0, sizeof(*out));
    if ((rc = cscert_store_trust(&roots, &cas, st)) < 0)
        return rc;
    for (i = 0; extra && i < sk_X509_num(extra); i++) {
        X509 *e = sk_X509_value(extra, i);

        if (!X509_up_ref(e) || !sk_X509_push(cas, e)) {
            X509_free(e);
            rc = cscert__oom();
            goto out;
        }
    }
    /* Expiry is reported on its own; here only the links matter. */
    rc = cscert_certinfo_chain_to(out, x, roots, cas, 0);
out:
    sk_X509_pop_free(roots, X509_free);
    sk_X509_pop_free(cas, X509_free);
    return rc;
}

static json_t *hex_digest(X509 *x, const EVP_MD *md)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int len = 0, i;
    char hex[2 * EVP_MAX_MD_SIZE + 1];

    if (!X509_digest(x, md, d, &len))
        return NULL;
    for (i = 0; i < len; i++)
        snprintf(hex + 2 * i, 3, "%02X", d[i]);
    return json_string(hex);
}

static json_t *key_json(X509 *x)
{
    EVP_PKEY *k = X509_get0_pubkey(x);
    char group[64] = "";
    size_t glen = 0;
    json_t *o;

    if (!k)
        return json_null();
    o = json_pack("{s:s, s:i}", "type", EVP_PKEY_get0_type_name(k) ? EVP_PKEY_get0_type_name(k) : "?",
                  "bits", EVP_PKEY_get_bits(k));
    if (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &glen))
        json_object_set_new(o, "curve", json_string(group));
    return o;
}

static json_t *eku_json(X509 *x)
{
    EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
    json_t *a = json_array();
    char buf[128];
    int i;

    for (i = 0; eku && i < sk_ASN1_OBJECT_num(eku); i++) {
        ASN1_OBJECT *o = sk_ASN1_OBJECT_value(eku, i);
        int nid = OBJ_obj2nid(o);

        if (nid != NID_undef)
            json_array_append_new(a, json_string(OBJ_nid2sn(nid)));
        else if (OBJ_obj2txt(buf, sizeof(buf), o, 1) > 0)
            json_array_append_new(a, json_string(buf));
    }
    EXTENDED_KEY_USAGE_free(eku);
    return a;
}

static json_t *key_usage_json(X509 *x)
{
    static const struct { uint32_t bit; const char *name; } ku[] = {
        { KU_DIGITAL_SIGNATURE, "digitalSignature" }, { KU_NON_REPUDIATION, "nonRepudiation" },
        { KU_KEY_ENCIPHERMENT, "keyEncipherment" }, { KU_DATA_ENCIPHERMENT, "dataEncipherment" },
        { KU_KEY_AGREEMENT, "keyAgreement" }, { KU_KEY_CERT_SIGN, "keyCertSign" },
        { KU_CRL_SIGN, "cRLSign" }, { KU_ENCIPHER_ONLY, "encipherOnly" },
        { KU_DECIPHER_ONLY, "decipherOnly" },
    };
    uint32_t bits = X509_get_key_usage(x);
    json_t *a = json_array();
    size_t i;

    if (bits == UINT32_MAX) /* no extension: any use */
        return a;
    for (i = 0; i < sizeof(ku) / sizeof(ku[0]); i++)
        if (bits & ku[i].bit)
            json_array_append_new(a, json_string(ku[i].name));
    return a;
}

static json_t *bc_json(X509 *x)
{
    BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(x, NID_basic_constraints, NULL, NULL);
    json_t *o;

    if (!bc)
        return json_null();
    o = json_pack("{s:b}", "ca", bc->ca ? 1 : 0);
    if (bc->pathlen)
        json_object_set_new(o, "path_length", json_integer(ASN1_INTEGER_get(bc->pathlen)));
    BASIC_CONSTRAINTS_free(bc);
    return o;
}

static json_t *crldp_json(X509 *x)
{
    CRL_DIST_POINTS *dps = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);
    json_t *a = json_array();
    int i, j;

    for (i = 0; dps && i < sk_DIST_POINT_num(dps); i++) {
        DIST_POINT *dp = sk_DIST_POINT_value(dps, i);

        if (!dp->distpoint || dp->distpoint->type != 0)
            continue;
        for (j = 0; j < sk_GENERAL_NAME_num(dp->distpoint->name.fullname); j++) {
            GENERAL_NAME *g = sk_GENERAL_NAME_value(dp->distpoint->name.fullname, j);

            if (g->type == GEN_URI)
                json_array_append_new(a, json_stringn((const char *)ASN1_STRING_get0_data(g->d.uniformResourceIdentifier),
                                                      (size_t)ASN1_STRING_length(g->d.uniformResourceIdentifier)));
        }
    }
    CRL_DIST_POINTS_free(dps);
    return a;
}

int cscert_certinfo_json(json_t **out, X509 *x, cscert_store *st)
{
    char *subject = NULL, *issuer = NULL, *serial = NULL, **names = NULL, nb[32], na[32];
    size_t n = 0, i;
    json_t *o = NULL, *arr;
    int rc;

    *out = NULL;
    if ((rc = cscert_certinfo_name(&subject, X509_get_subject_name(x))) < 0
        || (rc = cscert_certinfo_name(&issuer, X509_get_issuer_name(x))) < 0
        || (rc = cscert_certinfo_serial(&serial, x)) < 0
        || (rc = cscert_certinfo_time(nb, X509_get0_notBefore(x))) < 0
        || (rc = cscert_certinfo_time(na, X509_get0_notAfter(x))) < 0
        || (rc = cscert_certinfo_dns_names(&names, &n, NULL, x)) < 0)
        goto out;
    arr = json_array();
    for (i = 0; i < n; i++)
        json_array_append_new(arr, json_string(names[i]));
    o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o*, s:o*}",
                  "subject", subject, "issuer", issuer, "serial_number", serial,
                  "not_before", nb, "not_after", na, "dns_names", arr, "key", key_json(x),
                  "signature_algorithm", OBJ_nid2ln(X509_get_signature_nid(x)),
                  "eku", eku_json(x), "key_usage", key_usage_json(x),
                  "basic_constraints", bc_json(x), "crl_distribution_points", crldp_json(x),
                  "sha1", hex_digest(x, EVP_sha1()), "sha256", hex_digest(x, EVP_sha256()));
    if (!o) {
        rc = cscert__oom();
        goto out;
    }
    if (st) {
        cscert_chain_status cs;

        if ((rc = cscert_certinfo_chain(&cs, st, x, NULL)) < 0)
            goto out;
        json_object_set_new(o, "chain", cs.trusted
            ? json_pack("{s:b, s:i}", "trusted", 1, "length", (int)cs.length)
            : json_pack("{s:b, s:s, s:i, s:s, s:s}", "trusted", 0, "error", cs.error,
                        "depth", cs.depth, "subject", cs.subject, "issuer", cs.issuer));
    }
    *out = o;
    o = NULL;
out:
    json_decref(o);
    free(subject);
    free(issuer);
    free(serial);
    cscert_certinfo_names_free(names);
    return rc;
}
