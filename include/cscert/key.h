/* key.h: private keys: which algorithm and size a request may ask for,
 * making the key in-process, its PKCS#8 form for the store, and the
 * SubjectPublicKeyInfo hash that matches a certificate to its key.
 * Owns: R15's key choices (rsa:1024 with a warning, rsa:2048 by default,
 * rsa:3072, rsa:4096, ec:P-256, ec:P-384, ec:P-521) and their names.
 * Uses: error, OpenSSL 3 EVP/encoder/decoder only (no deprecated RSA_* or
 * EC_KEY_* calls). Not the store: the store calls in here. */
#ifndef CSCERT_KEY_H
#define CSCERT_KEY_H

#include <stddef.h>

#include <openssl/evp.h>

#include "cscert/error.h"

/* The default of `--key-type` (R15). */
#define CSCERT_KEY_SPEC_DEFAULT "rsa:2048"

typedef enum {
    CSCERT_KEY_RSA = 1,
    CSCERT_KEY_EC = 2
} cscert_key_kind;

/* A parsed `--key-type`. Plain data: nothing to free. */
typedef struct cscert_key_spec {
    cscert_key_kind kind;
    const char *alg;   /* "RSA" or "EC": EVP_PKEY_CTX_new_from_name's name */
    int bits;          /* RSA modulus bits; EC: the curve's size (256, 384, 521) */
    const char *curve; /* "P-256", "P-384", "P-521"; NULL for RSA */
    char name[16];     /* canonical: "rsa:2048", "ec:P-256" */
} cscert_key_spec;

/* Parse "rsa:N" (N 1024, 2048, 3072, 4096; "rsa:1024" warns that it is
 * weak) or "ec:C" (C P-256, P-384, P-521, any case, also the OpenSSL
 * names prime256v1/secp256r1, secp384r1, secp521r1). The "rsa"/"ec"
 * prefix is case-insensitive. s NULL means the default (rsa:2048).
 * Anything else: EINVAL naming the value and the allowed set. */
int cscert_key_spec_parse(cscert_key_spec *out, const char *s);

/* A fresh key for spec. *out is the caller's (EVP_PKEY_free). */
int cscert_key_generate(EVP_PKEY **out, const cscert_key_spec *spec);

/* "RSA 2048", "EC P-256" (other types: OpenSSL's type name and bits,
 * e.g. "ED25519 256"). EINVAL when buf is too small. */
int cscert_key_describe(char *buf, size_t n, EVP_PKEY *k);
/* The key's size in bits (RSA modulus, EC field); 0 when unknown. */
int cscert_key_bits(EVP_PKEY *k);
/* 1 when k is a key R15 allows (RSA >= 1024 with PKCS#1 v1.5, or EC on
 * P-256/P-384/P-521), 0 otherwise (RSA-PSS, Ed25519, DSA, other curves). */
int cscert_key_is_allowed(EVP_PKEY *k);

/* The private key as unencrypted PKCS#8 PrivateKeyInfo DER, for the
 * store. *der is the caller's: wipe and free it with
 * OPENSSL_clear_free(*der, *len). */
int cscert_key_to_pkcs8_der(unsigned char **der, size_t *len, EVP_PKEY *k);
/* The reverse. EINVAL for anything but exactly one PrivateKeyInfo
 * (garbage, trailing bytes, an encrypted PKCS#8). The input is not wiped:
 * it is the caller's. */
int cscert_key_from_pkcs8_der(EVP_PKEY **out, const unsigned char *der, size_t len);

/* SHA-256 of the DER SubjectPublicKeyInfo, 64 lower-case hex digits (the
 * form the store's keys.spki_sha256 column holds): equal for a private
 * key and the public key of its certificate (X509_get0_pubkey) or
 * request (X509_REQ_get0_pubkey). */
int cscert_key_spki_sha256(char out[65], EVP_PKEY *k);

#endif
