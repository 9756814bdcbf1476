/* fuzz_text.c: the short strings an administrator or a client types:
 * an Authorization header, an EST path, a Content-Type, a fingerprint,
 * a thumbprint, an FQDN, a list of uses, a key type, a hash, a country,
 * a domain pattern. The input is split at its first NUL (or taken whole)
 * into two strings. Invariants: every parser either refuses or gives
 * output of its documented shape (64 or 40 upper-case hex digits, an
 * FQDN that checks again, a known use mask). */
#include <ctype.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cscert/ca.h"
#include "cscert/ca_serve.h"
#include "cscert/csr.h"
#include "cscert/enroll.h"
#include "cscert/key.h"
#include "cscert/names.h"
#include "cscert/topology.h"
#include "cscert/x509.h"
#include "fuzz.h"

static int hex_upper(const char *s, size_t n)
{
    if (strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]) || islower((unsigned char)s[i]))
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *a, *b, *name = NULL, *password = NULL, tmpl[CSCERT_CA_NAME_MAX + 1], fp[65], thumb[41];
    char fqdn[254], again[254], country[3];
    const cscert_csr_hash *h = NULL;
    cscert_key_spec spec;
    unsigned mask = 0;
    int op = 0;

    if (size > 4096)
        return 0;
    FUZZ_ASSERT((a = malloc(size + 2)) != NULL);
    memcpy(a, data, size);
    a[size] = a[size + 1] = '\0';
    b = a + strlen(a) + 1; /* "" when there was no NUL */

    if (cscert_ca_serve__basic_auth(&name, &password, a) == CSCERT_OK) {
        FUZZ_ASSERT(name != NULL && password != NULL && strchr(name, ':') == NULL);
        free(name);
        OPENSSL_clear_free(password, strlen(password));
    }
    if (cscert_ca_serve__parse_path(&op, tmpl, a) == CSCERT_OK) {
        FUZZ_ASSERT(op >= CSCERT_EST_OP_CACERTS && op <= CSCERT_EST_OP_REENROLL);
        FUZZ_ASSERT(strlen(tmpl) <= CSCERT_CA_NAME_MAX);
    }
    (void)cscert_ca_serve__media_type_is(a, "application/pkcs10");
    if (cscert_enroll__fingerprint_normalize(fp, a) == CSCERT_OK)
        FUZZ_ASSERT(hex_upper(fp, 64));
    if (cscert_x509_thumbprint_normalize(thumb, a) == CSCERT_OK)
        FUZZ_ASSERT(hex_upper(thumb, 40));
    for (int wild = 0; wild < 2; wild++)
        if (cscert_fqdn_check(fqdn, a, wild, "fuzz") == CSCERT_OK)
            FUZZ_ASSERT(cscert_fqdn_check(again, fqdn, wild, "fuzz") == CSCERT_OK && strcmp(fqdn, again) == 0);
    if (cscert_uses_parse(&mask, a) == CSCERT_OK)
        FUZZ_ASSERT(mask != 0 && mask < (1u << CSCERT_USE_COUNT));
    (void)cscert_key_spec_parse(&spec, a);
    (void)cscert_csr_hash_parse(&h, a);
    if (cscert_csr_country_normalize(country, a) == CSCERT_OK)
        FUZZ_ASSERT(strlen(country) == 2);
    (void)cscert_ca_domain_match(a, b);
    free(a);
    return 0;
}
