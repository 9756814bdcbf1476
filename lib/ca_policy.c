/* ca_policy.c: a template's rules applied to a request, and password
 * hashing: pure functions, no database (see include/cscert/ca.h). */
#include "cscert/ca.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "ca_internal.h"
#include "cscert/csr.h"
#include "cscert/key.h"
#include "cscert/topology.h"
#include "cscert/x509.h"

/* 16 bytes: the per-account salt (NIST SP 800-132 asks for >= 128 bits). */
#define PW_SALT_BYTES 16
/* 32 bytes: the derived hash (SHA-256's size). */
#define PW_HASH_BYTES 32
/* 10^7 rounds: more in a stored hash is hostile (minutes per login). */
#define PW_ITER_MAX 10000000L

/* ---- domains ---- */

int cscert_ca_domain_match(const char *pattern, const char *name)
{
    const char *dot;

    if (!pattern || !name || !*pattern || !*name)
        return 0;
    if (strncmp(pattern, "*.", 2) == 0) {
        /* One label below the suffix, as a wildcard certificate matches. */
        dot = strchr(name, '.');
        if (!dot || dot == name)
            return 0;
        return strcasecmp(dot + 1, pattern + 2) == 0;
    }
    return strcasecmp(pattern, name) == 0;
}

static int domain_allowed(const char *allowed, const char *name)
{
    const char *p = allowed;

    while (p && *p) {
        char pat[256];
        size_t len = strcspn(p, ",");
        size_t a = 0, b = len;

        while (a < b && isspace((unsigned char)p[a]))
            a++;
        while (b > a && isspace((unsigned char)p[b - 1]))
            b--;
        if (b - a > 0 && b - a < sizeof(pat)) {
            memcpy(pat, p + a, b - a);
            pat[b - a] = '\0';
            if (cscert_ca_domain_match(pat, name))
                return 1;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}

/* ---- the request's parts ---- */

int ca__sig_hash_name(char out[16], int sig_nid)
{
    int md_nid = NID_undef, pk_nid = NID_undef;
    const char *sn;

    out[0] = '\0';
    if (!OBJ_find_sigid_algs(sig_nid, &md_nid, &pk_nid) || md_nid == NID_undef)
        return CSCERT_EINVAL;
    if (!(sn = OBJ_nid2sn(md_nid)))
        return CSCERT_EINVAL;
    snprintf(out, 16, "%s", sn);
    for (char *c = out; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    return CSCERT_OK;
}

/* Is name an item of the comma-separated list (any case, spaces ignored)? */
static int listed(const char *list, const char *name)
{
    return list && domain_allowed(list, name) == 1 && strchr(name, '*') == NULL;
}

static int enroll_allowed(const cscert_ca_template *t, char *const *groups)
{
    for (size_t i = 0; groups && groups[i]; i++)
        for (size_t j = 0; t->groups && t->groups[j]; j++)
            if (strcasecmp(groups[i], t->groups[j]) == 0)
                return 1;
    return 0;
}

static int refuse_enroll(const cscert_ca_template *t)
{
    char who[512] = "";
    size_t off = 0;

    for (size_t j = 0; t->groups && t->groups[j] && off + 2 < sizeof(who); j++)
        off += (size_t)snprintf(who + off, sizeof(who) - off, "%s%s", j ? ", " : "", t->groups[j]);
    if (!*who)
        return cscert_error_setf(CSCERT_EPOLICY, t->name,
                                 "the CA administrator runs: csca template grant TEMPLATE --group "
                                 "GROUP --enroll",
                                 "no Enroll permission on template '%s' (no group has it)", t->name);
    return cscert_error_setf(CSCERT_EPOLICY, t->name,
                             "use an account in one of those groups, or have the CA administrator "
                             "grant Enroll to yours",
                             "no Enroll permission on template '%s' (groups with Enroll: %s)",
                             t->name, who);
}

/* A requested name as a message may show it: printable ASCII, others
 * as '?', at most 64 characters (the rest "..."). */
static void shown(char out[72], const unsigned char *s, size_t len)
{
    size_t i, n = len > 64 ? 64 : len;

    for (i = 0; i < n; i++)
        out[i] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
    strcpy(out + i, len > 64 ? "..." : "");
}

/* A name the certificate would carry must be a DNS name: the CA copies
 * it into the SAN (add_san), so a comma, a colon, a space or a NUL in it
 * would be a name no rule here looked at (@unittest test_policy_names). */
static int check_dns_name(const cscert_ca_template *t, const char *where, const unsigned char *s, int len)
{
    char name[254], norm[254], show[72];

    if (len > 0 && (size_t)len < sizeof(name) && !memchr(s, '\0', (size_t)len)) {
        memcpy(name, s, (size_t)len);
        name[len] = '\0';
        if (cscert_fqdn_check(norm, name, 1, where) == CSCERT_OK)
            return CSCERT_OK;
        cscert_error_clear();
    }
    shown(show, s, len > 0 ? (size_t)len : 0);
    return cscert_error_setf(CSCERT_EPOLICY, t->name, "request DNS names only: letters, digits, inner "
                             "hyphens and dots, a leading '*.' at most",
                             "template '%s' issues DNS names only; the request's %s '%s' is not one",
                             t->name, where, show);
}

/* The subject's CN: one at most, a DNS name (TLS clients that read the
 * CN must not find a second one the policy did not check). */
static int check_subject(const cscert_ca_template *t, X509_REQ *req)
{
    const X509_NAME *subject = X509_REQ_get_subject_name(req);
    int idx = -1, count = 0, rc = CSCERT_OK;

    while (subject && (idx = X509_NAME_get_index_by_NID(subject, NID_commonName, idx)) >= 0) {
        const ASN1_STRING *d = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
        unsigned char *utf8 = NULL;
        int len = ASN1_STRING_to_UTF8(&utf8, d);

        if (++count > 1) {
            OPENSSL_free(utf8);
            return cscert_error_setf(CSCERT_EPOLICY, t->name, "make the request with one CN",
                                     "template '%s' issues one CN; the request's subject holds more",
                                     t->name);
        }
        if (len < 0) {
            ERR_clear_error();
            return cscert_error_set(CSCERT_EINVAL, "request", "its subject CN does not decode",
                                    "make the request again");
        }
        rc = check_dns_name(t, "subject CN", utf8, len);
        OPENSSL_free(utf8);
        if (rc < 0)
            return rc;
    }
    return CSCERT_OK;
}

/* Requested extensions: no CA:TRUE; SAN entries only DNS names. */
static int check_extensions(const cscert_ca_template *t, X509_REQ *req)
{
    STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
    BASIC_CONSTRAINTS *bc = NULL;
    GENERAL_NAMES *gens = NULL;
    int rc = CSCERT_OK, crit = 0;

    ERR_clear_error();
    if (!exts)
        return CSCERT_OK;
    bc = X509V3_get_d2i(exts, NID_basic_constraints, &crit, NULL);
    if (bc && bc->ca) {
        rc = cscert_error_setf(CSCERT_EPOLICY, t->name, "request an end-entity certificate",
                               "template '%s' issues end-entity certificates; the request asks "
                               "for CA:TRUE", t->name);
        goto out;
    }
    gens = X509V3_get_d2i(exts, NID_subject_alt_name, &crit, NULL);
    if (!gens && crit >= 0) {
        rc = cscert_error_set(CSCERT_EINVAL, "request", "its subjectAltName extension is malformed",
                              "make the request again");
        goto out;
    }
    for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

        if (g->type != GEN_DNS) {
            rc = cscert_error_setf(CSCERT_EPOLICY, t->name, "request DNS names only",
                                   "template '%s' issues DNS names only; the request's "
                                   "subjectAltName holds a name of another type (%s)", t->name,
                                   g->type == GEN_IPADD ? "IP address"
                                   : g->type == GEN_EMAIL ? "e-mail"
                                   : g->type == GEN_URI ? "URI" : "other");
            goto out;
        }
        if ((rc = check_dns_name(t, "subjectAltName", ASN1_STRING_get0_data(g->d.dNSName),
                                 ASN1_STRING_length(g->d.dNSName))) < 0)
            goto out;
    }
out:
    BASIC_CONSTRAINTS_free(bc);
    GENERAL_NAMES_free(gens);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    ERR_clear_error();
    return rc;
}

int cscert_ca_policy_check(const cscert_ca_template *t, X509_REQ *req, char *const *groups)
{
    EVP_PKEY *pub;
    char hash[16], desc[64];
    char **names = NULL;
    size_t n = 0;
    int rc, bits;

    if (!t || !req)
        return cscert_error_set(CSCERT_EINVAL, "request", "no request", NULL);
    /* Enroll first: an account without permission learns nothing else. */
    if (groups && !enroll_allowed(t, groups))
        return refuse_enroll(t);
    if (!(pub = X509_REQ_get0_pubkey(req)) || X509_REQ_verify(req, pub) != 1) {
        ERR_clear_error();
        return cscert_error_set(CSCERT_EINVAL, "request",
                                "its signature does not verify with its own public key (damaged "
                                "or altered)", "make the request again");
    }
    if (!cscert_key_is_allowed(pub) || cscert_key_describe(desc, sizeof(desc), pub) < 0)
        return cscert_error_setf(CSCERT_EPOLICY, t->name, "use an RSA key or an EC key on P-256, "
                                 "P-384 or P-521", "template '%s' does not accept this key type",
                                 t->name);
    bits = cscert_key_bits(pub);
    if (EVP_PKEY_base_id(pub) == EVP_PKEY_RSA && bits < t->min_rsa_bits)
        return cscert_error_setf(CSCERT_EPOLICY, t->name, "make a new request with a larger key "
                                 "(--key-type rsa:2048 or more)",
                                 "key too small: %s, template '%s' requires RSA >= %d bits", desc,
                                 t->name, t->min_rsa_bits);
    if (EVP_PKEY_base_id(pub) == EVP_PKEY_EC && bits < t->min_ec_bits)
        return cscert_error_setf(CSCERT_EPOLICY, t->name, "make a new request on a larger curve",
                                 "key too small: %s, template '%s' requires EC >= %d bits", desc,
                                 t->name, t->min_ec_bits);
    if (ca__sig_hash_name(hash, X509_REQ_get_signature_nid(req)) < 0)
        return cscert_error_setf(CSCERT_EPOLICY, t->name, "sign the request with PKCS#1 v1.5 or "
                                 "ECDSA and one of the template's hashes",
                                 "template '%s' does not accept the request's signature algorithm",
                                 t->name);
    if (!listed(t->hashes, hash))
        return cscert_error_setf(CSCERT_EPOLICY, t->name, "make the request again with --hash "
                                 "sha256", "signature hash %s not allowed by template '%s' "
                                 "(allowed: %s)", hash, t->name, t->hashes ? t->hashes : "none");
    if ((rc = check_subject(t, req)) < 0 || (rc = check_extensions(t, req)) < 0)
        return rc;
    if ((rc = cscert_csr_names(&names, &n, req)) < 0)
        return rc;
    if (n == 0) {
        rc = cscert_error_set(CSCERT_EPOLICY, "request", "it names no host (no CN, no DNS SAN)",
                              "make the request with the server's names");
        goto out;
    }
    for (size_t i = 0; i < n && t->allowed_domains && *t->allowed_domains; i++)
        if (!domain_allowed(t->allowed_domains, names[i])) {
            rc = cscert_error_setf(CSCERT_EPOLICY, t->name, "request names under the allowed "
                                   "domains, or have the CA administrator extend them (csca "
                                   "template set --allowed-domains)",
                                   "name '%s' is outside template '%s''s allowed domains (%s)",
                                   names[i], t->name, t->allowed_domains);
            goto out;
        }
    rc = CSCERT_OK;
out:
    cscert_x509_names_free(names);
    return rc;
}

/* ---- passwords ---- */

static int pbkdf2(unsigned char out[PW_HASH_BYTES], const char *password, const unsigned char *salt,
                  size_t salt_len, long iter)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_PBKDF2, NULL);
    EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM params[5];
    unsigned int it = (unsigned int)iter;
    int rc = CSCERT_OK;

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)password,
                                                  strlen(password));
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
    params[3] = OSSL_PARAM_construct_uint(OSSL_KDF_PARAM_ITER, &it);
    params[4] = OSSL_PARAM_construct_end();
    if (!kctx || EVP_KDF_derive(kctx, out, PW_HASH_BYTES, params) != 1)
        rc = cscert__crypto_error("password", "deriving the password hash");
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);
    return rc;
}

static void hex_encode(char *out, const unsigned char *in, size_t n)
{
    static const char hex[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[in[i] >> 4];
        out[2 * i + 1] = hex[in[i] & 0xf];
    }
    out[2 * n] = '\0';
}

static int hex_decode(unsigned char *out, size_t n, const char *in, size_t in_len)
{
    long len = 0;
    unsigned char *buf;
    char tmp[2 * 64 + 1];

    if (in_len != 2 * n || in_len >= sizeof(tmp))
        return CSCERT_EINVAL;
    memcpy(tmp, in, in_len);
    tmp[in_len] = '\0';
    if (!(buf = OPENSSL_hexstr2buf(tmp, &len)) || (size_t)len != n) {
        OPENSSL_free(buf);
        ERR_clear_error();
        return CSCERT_EINVAL;
    }
    memcpy(out, buf, n);
    OPENSSL_free(buf);
    return CSCERT_OK;
}

int cscert_ca_password_hash(char **out, const char *password)
{
    unsigned char salt[PW_SALT_BYTES], hash[PW_HASH_BYTES];
    char salt_hex[2 * PW_SALT_BYTES + 1], hash_hex[2 * PW_HASH_BYTES + 1];
    size_t cap = 64 + sizeof(salt_hex) + sizeof(hash_hex);
    int rc;

    *out = NULL;
    if (!password || !*password)
        return cscert_error_set(CSCERT_EINVAL, "password", "it is empty",
                                "put the password on the first line of the file");
    if (strlen(password) > CSCERT_CA_PASSWORD_MAX)
        return cscert_error_setf(CSCERT_EINVAL, "password", "use a shorter one",
                                 "longer than %d bytes", CSCERT_CA_PASSWORD_MAX);
    if (RAND_bytes(salt, sizeof(salt)) != 1)
        return cscert__crypto_error("password", "drawing a salt");
    if ((rc = pbkdf2(hash, password, salt, sizeof(salt), CSCERT_CA_PBKDF2_ITER)) < 0)
        return rc;
    hex_encode(salt_hex, salt, sizeof(salt));
    hex_encode(hash_hex, hash, sizeof(hash));
    OPENSSL_cleanse(hash, sizeof(hash));
    if (!(*out = malloc(cap)))
        return cscert__oom();
    snprintf(*out, cap, "pbkdf2-sha256$%d$%s$%s", CSCERT_CA_PBKDF2_ITER, salt_hex, hash_hex);
    return CSCERT_OK;
}

int cscert_ca_password_verify(const char *encoded, const char *password)
{
    unsigned char salt[PW_SALT_BYTES], want[PW_HASH_BYTES], got[PW_HASH_BYTES];
    const char *p, *s, *h;
    char *end;
    long iter;
    int rc, same;

    static const char prefix[] = "pbkdf2-sha256$";
    if (!encoded || strncmp(encoded, prefix, sizeof(prefix) - 1) != 0)
        return cscert_error_set(CSCERT_EINVAL, "account", "its password hash is malformed",
                                "set the password again: csca account passwd");
    p = encoded + sizeof(prefix) - 1;
    iter = strtol(p, &end, 10);
    if (end == p || *end != '$' || iter < 1000 || iter > PW_ITER_MAX)
        return cscert_error_set(CSCERT_EINVAL, "account", "its password hash is malformed",
                                "set the password again: csca account passwd");
    s = end + 1;
    h = strchr(s, '$');
    if (!h || hex_decode(salt, sizeof(salt), s, (size_t)(h - s)) < 0
        || hex_decode(want, sizeof(want), h + 1, strlen(h + 1)) < 0)
        return cscert_error_set(CSCERT_EINVAL, "account", "its password hash is malformed",
                                "set the password again: csca account passwd");
    if ((rc = pbkdf2(got, password ? password : "", salt, sizeof(salt), iter)) < 0)
        return rc;
    same = CRYPTO_memcmp(got, want, sizeof(got)) == 0;
    OPENSSL_cleanse(got, sizeof(got));
    return same;
}
