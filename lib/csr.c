/* csr.c: see include/cscert/csr.h. */
#include "cscert/csr.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/asn1.h>
#include <openssl/asn1t.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "cscert/key.h"
#include "cscert/x509.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
/* 64 bytes of user input are quoted in a message. */
#define QUOTE_MAX 64

/* R15: the hashes a request may be signed with. Never RSASSA-PSS. */
static const cscert_csr_hash hashes[] = {
    { "sha1", "SHA1", 1 },
    { "sha224", "SHA224", 0 },
    { "sha256", "SHA256", 0 },
    { "sha384", "SHA384", 0 },
    { "sha512", "SHA512", 0 },
};
#define HASH_ALLOWED "sha1, sha224, sha256, sha384, sha512"

static void quote(char *buf, size_t n, const char *s)
{
    size_t i = 0;

    for (; *s && i + 4 < n && i < QUOTE_MAX; s++)
        buf[i++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
    if (*s && i + 4 < n) {
        memcpy(buf + i, "...", 3);
        i += 3;
    }
    buf[i] = '\0';
}

int cscert_csr_hash_parse(const cscert_csr_hash **out, const char *s)
{
    char q[QUOTE_MAX + 8], canon[16];
    size_t j = 0;

    *out = NULL;
    if (!s)
        s = CSCERT_CSR_HASH_DEFAULT;
    quote(q, sizeof(q), s);
    /* "SHA-256" as OpenSSL and Windows spell it: drop the '-' after "sha". */
    for (const char *p = s; *p && j + 1 < sizeof(canon); p++) {
        if (p == s + 3 && *p == '-' && strncasecmp(s, "sha", 3) == 0)
            continue;
        canon[j++] = (char)tolower((unsigned char)*p);
    }
    canon[j] = '\0';
    if (strlen(s) < sizeof(canon)) {
        for (size_t i = 0; i < N_OF(hashes); i++) {
            if (strcmp(canon, hashes[i].name) != 0)
                continue;
            /* R15: SHA-1 is accepted because Lync accepts it. */
            if (hashes[i].weak)
                cscert__warn("hash 'sha1' is weak (R15 accepts it for old clients only); "
                             "use sha256");
            *out = &hashes[i];
            return CSCERT_OK;
        }
    }
    return cscert_error_setf(CSCERT_EINVAL, "hash", "use one of " HASH_ALLOWED,
                             "'%s' is not an allowed signature hash", q);
}

int cscert_csr_country_normalize(char out[3], const char *in)
{
    char q[QUOTE_MAX + 8];

    out[0] = '\0';
    if (!in)
        return cscert_error_set(CSCERT_EINVAL, "country", "none given",
                                "give the two-letter ISO 3166 code, e.g. US");
    /* X.520 countryName: a PrintableString of exactly two letters. */
    if (strlen(in) == 2 && isascii((unsigned char)in[0]) && isalpha((unsigned char)in[0])
        && isascii((unsigned char)in[1]) && isalpha((unsigned char)in[1])) {
        out[0] = (char)toupper((unsigned char)in[0]);
        out[1] = (char)toupper((unsigned char)in[1]);
        out[2] = '\0';
        return CSCERT_OK;
    }
    quote(q, sizeof(q), in);
    return cscert_error_setf(CSCERT_EINVAL, "country", "give the two-letter ISO 3166 code, e.g. US",
                             "'%s' is not two letters", q);
}

/* Characters in s if it is UTF-8 without control characters; -1 if not. */
static long utf8_chars(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    long n = 0;

    while (*p) {
        int extra;
        unsigned long cp;

        if (*p < 0x20 || *p == 0x7f)
            return -1;
        if (*p < 0x80) {
            p++;
            n++;
            continue;
        }
        if ((*p & 0xe0) == 0xc0) {
            extra = 1;
            cp = *p & 0x1f;
        } else if ((*p & 0xf0) == 0xe0) {
            extra = 2;
            cp = *p & 0x0f;
        } else if ((*p & 0xf8) == 0xf0) {
            extra = 3;
            cp = *p & 0x07;
        } else {
            return -1;
        }
        p++;
        for (int i = 0; i < extra; i++, p++) {
            if ((*p & 0xc0) != 0x80)
                return -1;
            cp = (cp << 6) | (*p & 0x3f);
        }
        /* Overlong forms, surrogates, beyond U+10FFFF, C1 controls. */
        if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000)
            || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff || (cp >= 0x80 && cp < 0xa0))
            return -1;
        n++;
    }
    return n;
}

/* One subject field: NULL is left out; otherwise non-empty, UTF-8, no
 * control characters, at most ub characters. */
static int check_field(const char *what, const char *v, long ub)
{
    char q[QUOTE_MAX + 8];
    long n;

    if (!v)
        return CSCERT_OK;
    quote(q, sizeof(q), v);
    if (!*v)
        return cscert_error_set(CSCERT_EINVAL, what, "empty", "give a value or leave it out");
    n = utf8_chars(v);
    if (n < 0)
        return cscert_error_setf(CSCERT_EINVAL, what, "use printable UTF-8 text",
                                 "'%s' is not UTF-8 text or has control characters", q);
    if (n > ub)
        return cscert_error_setf(CSCERT_EINVAL, what, "shorten it",
                                 "'%s' has %ld characters; X.520 allows at most %ld", q, n, ub);
    return CSCERT_OK;
}

/* A DNS name as a request may carry it: LDH labels, '*' only as the
 * whole first label. Full FQDN rules are the names module's. */
static int check_dns(const char *name)
{
    char q[QUOTE_MAX + 8];
    size_t len, label = 0;

    if (!name || !*name)
        return cscert_error_set(CSCERT_EINVAL, "subject alternative name", "an empty DNS name",
                                NULL);
    quote(q, sizeof(q), name);
    len = strlen(name);
    if (len > CSCERT_CSR_UB_DNS)
        return cscert_error_setf(CSCERT_EINVAL, "subject alternative name", NULL,
                                 "'%s' is longer than 253 characters", q);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];

        if (c == '.') {
            if (label == 0)
                goto bad;
            label = 0;
            continue;
        }
        if (c == '*') {
            if (i != 0 || (name[1] != '.'))
                goto bad;
            label++;
            continue;
        }
        if (!(isascii(c) && (isalnum(c) || c == '-')))
            goto bad;
        if (++label > 63)
            goto bad;
    }
    if (label == 0)
        goto bad;
    return CSCERT_OK;
bad:
    return cscert_error_setf(CSCERT_EINVAL, "subject alternative name",
                             "use letters, digits, '-' and '.', and '*' only as the first label",
                             "'%s' is not a DNS name", q);
}

static int add_field(X509_NAME *n, int nid, const char *v)
{
    if (!v)
        return CSCERT_OK;
    if (!X509_NAME_add_entry_by_NID(n, nid, MBSTRING_UTF8, (const unsigned char *)v, -1, -1, 0))
        return cscert__crypto_error("subject", "adding %s '%.64s'", OBJ_nid2sn(nid), v);
    return CSCERT_OK;
}

/* The subject, most general first (C, ST, L, O, OU, CN): Windows shows
 * it reversed, "CN=..., OU=..., O=..., L=..., S=..., C=...". */
static int build_subject(X509_NAME **out, const cscert_csr_subject *s, const char *cn)
{
    X509_NAME *n = NULL;
    char c[3];
    int rc;

    *out = NULL;
    if ((rc = check_field("common name", cn, CSCERT_CSR_UB_CN)) < 0
        || (rc = check_field("organization", s->o, CSCERT_CSR_UB_O)) < 0
        || (rc = check_field("organizational unit", s->ou, CSCERT_CSR_UB_OU)) < 0
        || (rc = check_field("city", s->l, CSCERT_CSR_UB_L)) < 0
        || (rc = check_field("state", s->st, CSCERT_CSR_UB_ST)) < 0)
        return rc;
    if (s->c && (rc = cscert_csr_country_normalize(c, s->c)) < 0)
        return rc;
    if (!(n = X509_NAME_new()))
        return cscert__oom();
    if ((rc = add_field(n, NID_countryName, s->c ? c : NULL)) < 0
        || (rc = add_field(n, NID_stateOrProvinceName, s->st)) < 0
        || (rc = add_field(n, NID_localityName, s->l)) < 0
        || (rc = add_field(n, NID_organizationName, s->o)) < 0
        || (rc = add_field(n, NID_organizationalUnitName, s->ou)) < 0
        || (rc = add_field(n, NID_commonName, cn)) < 0) {
        X509_NAME_free(n);
        return rc;
    }
    *out = n;
    return CSCERT_OK;
}

static int push_ext(STACK_OF(X509_EXTENSION) *exts, X509_EXTENSION *e, const char *which)
{
    if (!e || !sk_X509_EXTENSION_push(exts, e)) {
        X509_EXTENSION_free(e);
        return cscert__crypto_error("request", "encoding the %s extension", which);
    }
    return CSCERT_OK;
}

/* R1: every name in the SAN, in the caller's order, each once. */
static int ext_san(STACK_OF(X509_EXTENSION) *exts, const char *const *dns, size_t n)
{
    X509_EXTENSION *e = NULL;
    int rc;

    if (n == 0)
        return CSCERT_OK;
    if ((rc = cscert__x509_san_dns(&e, dns, n)) < 0)
        return rc;
    return push_ext(exts, e, "subjectAltName");
}

/* R16: serverAuth always; clientAuth on request. */
static int ext_eku(STACK_OF(X509_EXTENSION) *exts, int client)
{
    EXTENDED_KEY_USAGE *eku = NULL;
    ASN1_OBJECT *o = NULL;
    int rc = CSCERT_OK;
    int nids[2] = { NID_server_auth, NID_client_auth };

    if (!(eku = sk_ASN1_OBJECT_new_null()))
        return cscert__oom();
    for (int i = 0; i < (client ? 2 : 1); i++) {
        if (!(o = OBJ_nid2obj(nids[i])) || !sk_ASN1_OBJECT_push(eku, o)) {
            rc = cscert__crypto_error("request", "building the extendedKeyUsage extension");
            goto out;
        }
    }
    rc = push_ext(exts, X509V3_EXT_i2d(NID_ext_key_usage, 0, eku), "extendedKeyUsage");
out:
    /* OBJ_nid2obj returns static objects; freeing them is a no-op. */
    sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
    return rc;
}

/* The WebServer template's key usage: RSA signs (ECDHE) and enciphers
 * (RSA key transport); EC only signs. Critical, as AD CS issues it. */
static int ext_key_usage(STACK_OF(X509_EXTENSION) *exts, int rsa)
{
    ASN1_BIT_STRING *ku = NULL;
    int rc;

    if (!(ku = ASN1_BIT_STRING_new()))
        return cscert__oom();
    /* Bit 0 digitalSignature, bit 2 keyEncipherment (RFC 5280 4.2.1.3). */
    if (!ASN1_BIT_STRING_set_bit(ku, 0, 1) || (rsa && !ASN1_BIT_STRING_set_bit(ku, 2, 1))) {
        ASN1_BIT_STRING_free(ku);
        return cscert__oom();
    }
    rc = push_ext(exts, X509V3_EXT_i2d(NID_key_usage, 1, ku), "keyUsage");
    ASN1_BIT_STRING_free(ku);
    return rc;
}

/* The Microsoft certificate template name: OID 1.3.6.1.4.1.311.20.2,
 * value a BMPString (UTF-16BE), encoded by OpenSSL. */
static int ext_template(STACK_OF(X509_EXTENSION) *exts, const char *name)
{
    ASN1_STRING *bmp = NULL;
    ASN1_OCTET_STRING *val = NULL;
    ASN1_OBJECT *oid = NULL;
    X509_EXTENSION *e = NULL;
    unsigned char *der = NULL;
    char q[QUOTE_MAX + 8];
    int rc = CSCERT_OK, len;
    long chars;

    quote(q, sizeof(q), name);
    chars = utf8_chars(name);
    if (!*name || chars < 0 || chars > CSCERT_CSR_UB_TEMPLATE)
        return cscert_error_setf(CSCERT_EINVAL, "template", "give the CA template's name, e.g. "
                                 CSCERT_CSR_TEMPLATE_DEFAULT,
                                 "'%s' is not a template name (1 to 64 printable characters)", q);
    /* UTF-8 to BMPString: fails for characters beyond U+FFFF. */
    if (ASN1_mbstring_copy(&bmp, (const unsigned char *)name, -1, MBSTRING_UTF8,
                           B_ASN1_BMPSTRING) < 0) {
        ERR_clear_error();
        return cscert_error_setf(CSCERT_EINVAL, "template", "use characters of the Basic "
                                 "Multilingual Plane", "'%s' cannot be written as a BMPString", q);
    }
    if ((len = i2d_ASN1_BMPSTRING(bmp, &der)) <= 0 || !(val = ASN1_OCTET_STRING_new())
        || !ASN1_OCTET_STRING_set(val, der, len) || !(oid = OBJ_txt2obj(CSCERT_OID_MS_CERTTYPE, 1))
        || !(e = X509_EXTENSION_create_by_OBJ(NULL, oid, 0, val))) {
        rc = cscert__crypto_error("template", "encoding the template name '%s'", q);
        goto out;
    }
    rc = push_ext(exts, e, "certificate template");
    e = NULL;
out:
    X509_EXTENSION_free(e);
    ASN1_OBJECT_free(oid);
    ASN1_OCTET_STRING_free(val);
    OPENSSL_free(der);
    ASN1_STRING_free(bmp);
    return rc;
}

/* R15: PKCS#1 v1.5 for RSA (never PSS), ECDSA for EC, with md. */
static int sign_req(X509_REQ *req, EVP_PKEY *key, const cscert_csr_hash *h)
{
    EVP_MD_CTX *mctx = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    int rc = CSCERT_ECRYPTO;

    if (!(mctx = EVP_MD_CTX_new())
        || EVP_DigestSignInit_ex(mctx, &pctx, h->md_name, NULL, NULL, key, NULL) <= 0)
        goto out;
    if (EVP_PKEY_is_a(key, "RSA") && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0)
        goto out;
    if (X509_REQ_sign_ctx(req, mctx) <= 0)
        goto out;
    rc = CSCERT_OK;
out:
    if (rc)
        cscert__crypto_error("request", "signing with %s", h->name);
    EVP_MD_CTX_free(mctx); /* frees pctx too */
    return rc;
}

int cscert_csr_build(X509_REQ **out, EVP_PKEY *key, const cscert_csr_params *p)
{
    X509_REQ *req = NULL;
    X509_NAME *subj = NULL;
    STACK_OF(X509_EXTENSION) *exts = NULL;
    const cscert_csr_hash *h = p ? p->hash : NULL;
    const char *cn;
    char kd[64] = "";
    int rc;

    *out = NULL;
    if (!key || !p)
        return cscert_error_set(CSCERT_EINVAL, "request", "no key or no parameters", NULL);
    /* R15: only RSA (PKCS#1 v1.5) and EC on the NIST curves. */
    if (!cscert_key_is_allowed(key)) {
        cscert_key_describe(kd, sizeof(kd), key);
        return cscert_error_setf(CSCERT_EPOLICY, "request", "use rsa:2048 or ec:P-256",
                                 "a %s key is not allowed (R15)", kd);
    }
    if (!h && (rc = cscert_csr_hash_parse(&h, NULL)) < 0)
        return rc;
    if (p->n_dns > CSCERT_CSR_MAX_DNS)
        return cscert_error_setf(CSCERT_EINVAL, "request", "split the names over several requests",
                                 "%zu DNS names; at most %d fit", p->n_dns, CSCERT_CSR_MAX_DNS);
    if (p->n_dns && !p->dns)
        return cscert_error_set(CSCERT_EINVAL, "request", "no DNS name list", NULL);
    for (size_t i = 0; i < p->n_dns; i++)
        if ((rc = check_dns(p->dns[i])) < 0)
            return rc;
    cn = p->subject.cn ? p->subject.cn : (p->n_dns ? p->dns[0] : NULL);
    if (!cn)
        return cscert_error_set(CSCERT_EINVAL, "request", "no subject name",
                                "give a common name or at least one DNS name");
    if ((rc = build_subject(&subj, &p->subject, cn)) < 0)
        goto out;
    if (!(req = X509_REQ_new()) || !(exts = sk_X509_EXTENSION_new_null())) {
        rc = cscert__oom();
        goto out;
    }
    if (!X509_REQ_set_version(req, X509_REQ_VERSION_1) || !X509_REQ_set_subject_name(req, subj)
        || !X509_REQ_set_pubkey(req, key)) {
        rc = cscert__crypto_error("request", "setting the subject and key");
        goto out;
    }
    if ((rc = ext_san(exts, p->dns, p->n_dns)) < 0 || (rc = ext_eku(exts, p->client_eku)) < 0
        || (rc = ext_key_usage(exts, EVP_PKEY_is_a(key, "RSA"))) < 0
        || (rc = ext_template(exts, p->template_name ? p->template_name
                                                     : CSCERT_CSR_TEMPLATE_DEFAULT)) < 0)
        goto out;
    if (!X509_REQ_add_extensions(req, exts)) {
        rc = cscert__crypto_error("request", "adding the extensionRequest attribute");
        goto out;
    }
    if ((rc = sign_req(req, key, h)) < 0)
        goto out;
    *out = req;
    req = NULL;
    rc = CSCERT_OK;
out:
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_NAME_free(subj);
    X509_REQ_free(req);
    return rc;
}

int cscert_csr_to_pem(char **out, X509_REQ *req)
{
    BIO *b = NULL;
    char *data = NULL, *s = NULL;
    long len;
    int rc = CSCERT_OK;

    *out = NULL;
    if (!req)
        return cscert_error_set(CSCERT_EINVAL, "request", "no request", NULL);
    if (!(b = BIO_new(BIO_s_mem())) || !PEM_write_bio_X509_REQ(b, req)
        || (len = BIO_get_mem_data(b, &data)) <= 0) {
        rc = cscert__crypto_error("request", "writing PEM");
        goto out;
    }
    if (!(s = malloc((size_t)len + 1))) {
        rc = cscert__oom();
        goto out;
    }
    memcpy(s, data, (size_t)len);
    s[len] = '\0';
    *out = s;
out:
    BIO_free(b);
    return rc;
}

/* The fast path of cscert_csr_from_der. OpenSSL 3.0's d2i_X509_REQ
 * decodes the public key through a provider decoder chain that it builds
 * afresh for every request (about 0.15 ms, under a lock shared by every
 * thread), and the certificate later re-encodes it through an encoder
 * chain. For the common case, an rsaEncryption key, the request is read
 * here with a template that keeps the key as bits, the key is made by
 * d2i_PublicKey (no decoder chain, and a key that re-encodes without an
 * encoder chain), and the X509_REQ is rebuilt from the parts. It is used
 * only when it encodes to exactly the bytes received, so that what is
 * verified, hashed, stored and signed is what the client sent; anything
 * else takes d2i_X509_REQ. */
typedef struct {
    X509_ALGOR *alg;
    ASN1_BIT_STRING *bits;
} CSR_SPKI;

typedef struct {
    ASN1_INTEGER *version;
    X509_NAME *subject;
    CSR_SPKI *spki;
    STACK_OF(X509_ATTRIBUTE) *attrs;
} CSR_INFO;

typedef struct {
    CSR_INFO *info;
    X509_ALGOR *sig_alg;
    ASN1_BIT_STRING *sig;
} CSR_RAW;

ASN1_SEQUENCE(CSR_SPKI) = {
    ASN1_SIMPLE(CSR_SPKI, alg, X509_ALGOR),
    ASN1_SIMPLE(CSR_SPKI, bits, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(CSR_SPKI)

ASN1_SEQUENCE(CSR_INFO) = {
    ASN1_SIMPLE(CSR_INFO, version, ASN1_INTEGER),
    ASN1_SIMPLE(CSR_INFO, subject, X509_NAME),
    ASN1_SIMPLE(CSR_INFO, spki, CSR_SPKI),
    ASN1_IMP_SET_OF_OPT(CSR_INFO, attrs, X509_ATTRIBUTE, 0),
} static_ASN1_SEQUENCE_END(CSR_INFO)

ASN1_SEQUENCE(CSR_RAW) = {
    ASN1_SIMPLE(CSR_RAW, info, CSR_INFO),
    ASN1_SIMPLE(CSR_RAW, sig_alg, X509_ALGOR),
    ASN1_SIMPLE(CSR_RAW, sig, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(CSR_RAW)

static X509_REQ *rsa_request(const unsigned char *der, size_t len)
{
    const unsigned char *p = der, *k;
    CSR_RAW *raw = (CSR_RAW *)ASN1_item_d2i(NULL, &p, (long)len, ASN1_ITEM_rptr(CSR_RAW));
    X509_REQ *req = NULL, *ok = NULL;
    EVP_PKEY *pkey = NULL;
    ASN1_BIT_STRING *sig = NULL;
    const ASN1_OBJECT *oid;
    unsigned char *enc = NULL;
    int ptype, n, i;
    long version;

    if (!raw || p != der + len)
        goto out;
    X509_ALGOR_get0(&oid, &ptype, NULL, raw->info->spki->alg);
    k = raw->info->spki->bits->data;
    version = ASN1_INTEGER_get(raw->info->version);
    if (OBJ_obj2nid(oid) != NID_rsaEncryption || (ptype != V_ASN1_NULL && ptype != V_ASN1_UNDEF)
        || version < 0 || version > 2 || !k
        || !(pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &k, raw->info->spki->bits->length))
        || k != raw->info->spki->bits->data + raw->info->spki->bits->length)
        goto out;
    if (!(req = X509_REQ_new()) || !X509_REQ_set_version(req, version)
        || !X509_REQ_set_subject_name(req, raw->info->subject) || !X509_REQ_set_pubkey(req, pkey)
        || !X509_REQ_set1_signature_algo(req, raw->sig_alg) || !(sig = ASN1_STRING_dup(raw->sig)))
        goto out;
    X509_REQ_set0_signature(req, sig);
    for (i = 0; i < sk_X509_ATTRIBUTE_num(raw->info->attrs); i++)
        if (!X509_REQ_add1_attr(req, sk_X509_ATTRIBUTE_value(raw->info->attrs, i)))
            goto out;
    if ((n = i2d_X509_REQ(req, &enc)) == (int)len && memcmp(enc, der, len) == 0) {
        ok = req;
        req = NULL;
    }
out:
    OPENSSL_free(enc);
    X509_REQ_free(req);
    EVP_PKEY_free(pkey);
    ASN1_item_free((ASN1_VALUE *)raw, ASN1_ITEM_rptr(CSR_RAW));
    ERR_clear_error();
    return ok;
}

int cscert_csr_from_der(X509_REQ **out, const unsigned char *der, size_t len)
{
    const unsigned char *p = der;
    X509_REQ *req;

    *out = NULL;
    if (!der || len == 0)
        return cscert_error_set(CSCERT_EINVAL, "request", "empty", NULL);
    if (len > CSCERT_CSR_MAX_BYTES)
        return cscert_error_setf(CSCERT_EINVAL, "request", NULL,
                                 "%zu bytes; a request is at most %d", len, CSCERT_CSR_MAX_BYTES);
    if ((*out = rsa_request(der, len)))
        return CSCERT_OK;
    req = d2i_X509_REQ(NULL, &p, (long)len);
    if (!req) {
        ERR_clear_error();
        return cscert_error_set(CSCERT_EINVAL, "request", "not a PKCS#10 request", NULL);
    }
    if (p != der + len) {
        X509_REQ_free(req);
        return cscert_error_setf(CSCERT_EINVAL, "request", NULL,
                                 "%zu unexpected bytes after the request", (size_t)(der + len - p));
    }
    *out = req;
    return CSCERT_OK;
}

int cscert_csr_from_pem(X509_REQ **out, const char *pem, size_t len)
{
    BIO *b = NULL;
    X509_REQ *req = NULL;

    *out = NULL;
    if (!pem || len == 0)
        return cscert_error_set(CSCERT_EINVAL, "request", "empty", NULL);
    if (len > CSCERT_CSR_MAX_BYTES)
        return cscert_error_setf(CSCERT_EINVAL, "request", NULL,
                                 "%zu bytes; a request is at most %d", len, CSCERT_CSR_MAX_BYTES);
    /* Not PEM at all: maybe DER. */
    if (!memmem(pem, len, "-----BEGIN", 10))
        return cscert_csr_from_der(out, (const unsigned char *)pem, len);
    if (!(b = BIO_new_mem_buf(pem, (int)len)))
        return cscert__oom();
    /* Either header: "CERTIFICATE REQUEST" or "NEW CERTIFICATE REQUEST". */
    req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
    BIO_free(b);
    if (!req) {
        ERR_clear_error();
        return cscert_error_set(CSCERT_EINVAL, "request",
                                "no PEM certificate request (BEGIN CERTIFICATE REQUEST)", NULL);
    }
    *out = req;
    return CSCERT_OK;
}

int cscert_csr_verify(X509_REQ *req)
{
    EVP_PKEY *pub = req ? X509_REQ_get0_pubkey(req) : NULL;
    int ok = pub && X509_REQ_verify(req, pub) == 1;

    ERR_clear_error();
    return ok;
}

int cscert_csr_names(char ***out, size_t *n, X509_REQ *req)
{
    STACK_OF(X509_EXTENSION) *exts = NULL;
    int rc;

    *out = NULL;
    *n = 0;
    if (!req)
        return cscert_error_set(CSCERT_EINVAL, "request", "no request", NULL);
    /* NULL both when there is no extensionRequest and when it is bad;
     * a request without extensions just has no SANs. */
    exts = X509_REQ_get_extensions(req);
    ERR_clear_error();
    rc = cscert__x509_names_from(out, n, X509_REQ_get_subject_name(req), exts);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    return rc;
}

int cscert_csr_template_name(char **out, X509_REQ *req)
{
    STACK_OF(X509_EXTENSION) *exts = NULL;
    int rc;

    *out = NULL;
    if (!req)
        return cscert_error_set(CSCERT_EINVAL, "request", "no request", NULL);
    exts = X509_REQ_get_extensions(req);
    ERR_clear_error();
    rc = cscert__x509_template_from(out, exts);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    return rc;
}
