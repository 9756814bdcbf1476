/* key.c: see include/cscert/key.h. */
#include "cscert/key.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/x509.h>

/* What `--key-type` accepts, for messages. */
#define KEY_ALLOWED "rsa:1024, rsa:2048, rsa:3072, rsa:4096, ec:P-256, ec:P-384, ec:P-521"
/* 1024: R15's floor ("accepted with a warning"); anything smaller is no key. */
#define RSA_MIN_BITS 1024
/* 64 bytes of user input are quoted in a message. */
#define QUOTE_MAX 64

/* R15: RSA sizes. 1024 is Lync's floor and weak; 3072 goes beyond Lync's
 * own 1024/2048/4096 list. */
static const struct {
    const char *text;
    int bits;
    int weak;
} rsa_sizes[] = {
    { "1024", 1024, 1 },
    { "2048", 2048, 0 },
    { "3072", 3072, 0 },
    { "4096", 4096, 0 },
};

/* R15: EC curves (Lync's ECDH_P256/P384/P521), with their aliases. */
static const struct {
    const char *name;    /* NIST name, also OpenSSL's group name */
    const char *alias1;  /* OpenSSL's short name */
    const char *alias2;  /* SECG name */
    int nid;
    int bits;
} ec_curves[] = {
    { "P-256", "prime256v1", "secp256r1", NID_X9_62_prime256v1, 256 },
    { "P-384", "secp384r1", "secp384r1", NID_secp384r1, 384 },
    { "P-521", "secp521r1", "secp521r1", NID_secp521r1, 521 },
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* s shortened, non-printable bytes as '?', for a message. */
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

int cscert_key_spec_parse(cscert_key_spec *out, const char *s)
{
    char q[QUOTE_MAX + 8];
    const char *arg;

    memset(out, 0, sizeof(*out));
    if (!s)
        s = CSCERT_KEY_SPEC_DEFAULT;
    quote(q, sizeof(q), s);
    if (strncasecmp(s, "rsa:", 4) == 0) {
        arg = s + 4;
        for (size_t i = 0; i < N_OF(rsa_sizes); i++) {
            if (strcmp(arg, rsa_sizes[i].text) != 0)
                continue;
            out->kind = CSCERT_KEY_RSA;
            out->alg = "RSA";
            out->bits = rsa_sizes[i].bits;
            out->curve = NULL;
            snprintf(out->name, sizeof(out->name), "rsa:%d", out->bits);
            /* R15: accepted because Lync accepts it, but said loudly. */
            if (rsa_sizes[i].weak)
                cscert__warn("key type 'rsa:%d' is weak (R15 accepts it for old clients only); "
                             "use rsa:2048 or larger", out->bits);
            return CSCERT_OK;
        }
        memset(out, 0, sizeof(*out));
        return cscert_error_setf(CSCERT_EINVAL, "key type", "use one of " KEY_ALLOWED,
                                 "'%s' is not an allowed RSA key size", q);
    }
    if (strncasecmp(s, "ec:", 3) == 0) {
        arg = s + 3;
        for (size_t i = 0; i < N_OF(ec_curves); i++) {
            if (strcasecmp(arg, ec_curves[i].name) != 0 && strcasecmp(arg, ec_curves[i].alias1) != 0
                && strcasecmp(arg, ec_curves[i].alias2) != 0)
                continue;
            out->kind = CSCERT_KEY_EC;
            out->alg = "EC";
            out->bits = ec_curves[i].bits;
            out->curve = ec_curves[i].name;
            snprintf(out->name, sizeof(out->name), "ec:%s", out->curve);
            return CSCERT_OK;
        }
        return cscert_error_setf(CSCERT_EINVAL, "key type", "use one of " KEY_ALLOWED,
                                 "'%s' is not an allowed EC curve", q);
    }
    return cscert_error_setf(CSCERT_EINVAL, "key type", "use one of " KEY_ALLOWED,
                             "'%s' is not a key type (rsa:N or ec:CURVE)", q);
}

static int set_params(EVP_PKEY_CTX *ctx, const cscert_key_spec *spec)
{
    OSSL_PARAM params[2];
    unsigned int bits;

    if (spec->kind == CSCERT_KEY_RSA) {
        bits = (unsigned int)spec->bits;
        params[0] = OSSL_PARAM_construct_uint(OSSL_PKEY_PARAM_RSA_BITS, &bits);
    } else {
        params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                                     (char *)spec->curve, 0);
    }
    params[1] = OSSL_PARAM_construct_end();
    return EVP_PKEY_CTX_set_params(ctx, params) > 0 ? 0 : -1;
}

int cscert_key_generate(EVP_PKEY **out, const cscert_key_spec *spec)
{
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;
    int rc = CSCERT_ECRYPTO;

    *out = NULL;
    /* Only what cscert_key_spec_parse makes: a hand-filled spec must not
     * slip a 512-bit key or an odd curve past R15. */
    if (!spec || (spec->kind != CSCERT_KEY_RSA && spec->kind != CSCERT_KEY_EC)
        || !spec->alg || (spec->kind == CSCERT_KEY_RSA && spec->bits < RSA_MIN_BITS)
        || (spec->kind == CSCERT_KEY_EC && !spec->curve))
        return cscert_error_set(CSCERT_EINVAL, "key", "the key type was not parsed",
                                "parse it with cscert_key_spec_parse");
    ctx = EVP_PKEY_CTX_new_from_name(NULL, spec->alg, NULL);
    if (!ctx || EVP_PKEY_keygen_init(ctx) <= 0 || set_params(ctx, spec) < 0
        || EVP_PKEY_generate(ctx, &pkey) <= 0)
        goto out;
    *out = pkey;
    pkey = NULL; /* the caller owns it now */
    rc = CSCERT_OK;
out:
    if (rc)
        cscert__crypto_error("key", "generating %s", spec->name);
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

/* The curve of an EC key, as a row of ec_curves; -1 for any other. */
static int ec_curve_index(EVP_PKEY *k)
{
    char group[64];
    size_t glen = 0;
    int nid;

    if (!EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &glen))
        return -1;
    nid = OBJ_txt2nid(group);
    if (nid == NID_undef)
        nid = OBJ_sn2nid(group);
    for (size_t i = 0; i < N_OF(ec_curves); i++)
        if (nid == ec_curves[i].nid || strcasecmp(group, ec_curves[i].name) == 0)
            return (int)i;
    return -1;
}

int cscert_key_bits(EVP_PKEY *k)
{
    int bits;

    if (!k)
        return 0;
    bits = EVP_PKEY_get_bits(k);
    return bits > 0 ? bits : 0;
}

int cscert_key_describe(char *buf, size_t n, EVP_PKEY *k)
{
    char group[64] = "";
    size_t glen = 0;
    const char *tn;
    int w, ci;

    if (!buf || n == 0)
        return cscert_error_set(CSCERT_EINVAL, "key", "no room to describe it", NULL);
    buf[0] = '\0';
    if (!k)
        return cscert_error_set(CSCERT_EINVAL, "key", "no key", NULL);
    if (EVP_PKEY_is_a(k, "RSA")) {
        w = snprintf(buf, n, "RSA %d", cscert_key_bits(k));
    } else if (EVP_PKEY_is_a(k, "EC")) {
        ci = ec_curve_index(k);
        if (ci >= 0)
            w = snprintf(buf, n, "EC %s", ec_curves[ci].name);
        else if (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                                sizeof(group), &glen))
            w = snprintf(buf, n, "EC %s", group);
        else
            w = snprintf(buf, n, "EC %d", cscert_key_bits(k));
    } else {
        tn = EVP_PKEY_get0_type_name(k);
        w = snprintf(buf, n, "%s %d", tn ? tn : "unknown", cscert_key_bits(k));
    }
    if (w < 0 || (size_t)w >= n) {
        buf[0] = '\0';
        return cscert_error_set(CSCERT_EINVAL, "key", "no room to describe it", NULL);
    }
    return CSCERT_OK;
}

int cscert_key_is_allowed(EVP_PKEY *k)
{
    if (!k)
        return 0;
    /* EVP_PKEY_is_a(k, "RSA") is false for an RSA-PSS key: R15 refuses it. */
    if (EVP_PKEY_is_a(k, "RSA"))
        return cscert_key_bits(k) >= RSA_MIN_BITS;
    if (EVP_PKEY_is_a(k, "EC"))
        return ec_curve_index(k) >= 0;
    return 0;
}

int cscert_key_to_pkcs8_der(unsigned char **der, size_t *len, EVP_PKEY *k)
{
    OSSL_ENCODER_CTX *ectx = NULL;
    unsigned char *buf = NULL;
    size_t blen = 0;
    int rc = CSCERT_ECRYPTO;

    *der = NULL;
    *len = 0;
    if (!k)
        return cscert_error_set(CSCERT_EINVAL, "key", "no key", NULL);
    /* OpenSSL's memory BIO behind OSSL_ENCODER_to_data grows with
     * BUF_MEM_grow_clean and hands its buffer over: no copy of the
     * key is left behind unwiped. */
    ectx = OSSL_ENCODER_CTX_new_for_pkey(k, EVP_PKEY_KEYPAIR, "DER", "PrivateKeyInfo", NULL);
    if (!ectx || OSSL_ENCODER_CTX_get_num_encoders(ectx) == 0
        || !OSSL_ENCODER_to_data(ectx, &buf, &blen) || blen == 0)
        goto out;
    *der = buf;
    *len = blen;
    buf = NULL;
    rc = CSCERT_OK;
out:
    if (rc)
        cscert__crypto_error("key", "encoding a private key as PKCS#8");
    OPENSSL_clear_free(buf, blen);
    OSSL_ENCODER_CTX_free(ectx);
    return rc;
}

int cscert_key_from_pkcs8_der(EVP_PKEY **out, const unsigned char *der, size_t len)
{
    OSSL_DECODER_CTX *dctx = NULL;
    EVP_PKEY *pkey = NULL;
    const unsigned char *p = der;
    size_t left = len;
    int rc = CSCERT_EINVAL;

    *out = NULL;
    if (!der || len == 0)
        return cscert_error_set(CSCERT_EINVAL, "key", "an empty PKCS#8 key", NULL);
    dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, "DER", "PrivateKeyInfo", NULL, EVP_PKEY_KEYPAIR,
                                         NULL, NULL);
    if (!dctx) {
        rc = cscert__crypto_error("key", "preparing a PKCS#8 decoder");
        goto out;
    }
    if (!OSSL_DECODER_from_data(dctx, &p, &left) || !pkey) {
        ERR_clear_error();
        rc = cscert_error_set(CSCERT_EINVAL, "key", "not an unencrypted PKCS#8 private key", NULL);
        goto out;
    }
    if (left != 0) {
        rc = cscert_error_setf(CSCERT_EINVAL, "key", NULL,
                               "%zu unexpected bytes after the PKCS#8 private key", left);
        goto out;
    }
    *out = pkey;
    pkey = NULL;
    rc = CSCERT_OK;
out:
    EVP_PKEY_free(pkey);
    OSSL_DECODER_CTX_free(dctx);
    return rc;
}

int cscert_key_spki_sha256(char out[65], EVP_PKEY *k)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int len, rc = CSCERT_OK;

    out[0] = '\0';
    if (!k)
        return cscert_error_set(CSCERT_EINVAL, "key", "no key", NULL);
    /* i2d_PUBKEY writes the public half only, whatever k holds. */
    len = i2d_PUBKEY(k, &der);
    if (len <= 0)
        return cscert__crypto_error("key", "encoding a public key");
    if (!EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32) {
        rc = cscert__crypto_error("key", "hashing a public key");
        goto out;
    }
    for (unsigned int i = 0; i < mdlen; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 0xf];
    }
    out[64] = '\0';
out:
    OPENSSL_free(der);
    return rc;
}
