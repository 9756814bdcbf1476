/* fuzz_bundle.c: a file given to `cscert import` (PEM, DER, PKCS#7,
 * PKCS#12 with the password "fuzz"), then everything `cscert show`
 * reads from each certificate in it. Invariants: a refusal says why and
 * returns nothing; a bundle holds 1..CSCERT_IMPORT_MAX_CERTS
 * certificates (or a PKCS#12 key), each with a 40-digit thumbprint and a
 * details object that serializes. */
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "cscert/certinfo.h"
#include "cscert/error.h"
#include "cscert/import.h"
#include "cscert/x509.h"
#include "fuzz.h"

static void read_cert(X509 *x)
{
    char thumb[41], t1[32], t2[32], **names = NULL, **dns = NULL, *cn = NULL, *serial = NULL, *tmpl = NULL;
    size_t n = 0, nd = 0, i;
    json_t *j = NULL;
    int self = 0;

    FUZZ_ASSERT(cscert_x509_thumbprint(thumb, x) == CSCERT_OK && strlen(thumb) == 40);
    if (cscert_certinfo_json(&j, x, NULL) == CSCERT_OK) {
        char *s = json_dumps(j, JSON_COMPACT);

        FUZZ_ASSERT(s != NULL);
        free(s);
        json_decref(j);
    }
    if (cscert_x509_names(&names, &n, x) == CSCERT_OK) {
        for (i = 0; i < n; i++)
            FUZZ_ASSERT(names[i] != NULL);
        cscert_x509_names_free(names);
    }
    if (cscert_certinfo_dns_names(&dns, &nd, &cn, x) == CSCERT_OK) {
        for (i = 0; i < nd; i++)
            (void)cscert_certinfo_covers(dns, dns[i]);
        cscert_certinfo_names_free(dns);
        free(cn);
    }
    if (cscert_certinfo_serial(&serial, x) == CSCERT_OK)
        free(serial);
    if (cscert_x509_template_name(&tmpl, x) == CSCERT_OK)
        free(tmpl);
    (void)cscert_certinfo_time(t1, X509_get0_notBefore(x));
    (void)cscert_certinfo_time(t2, X509_get0_notAfter(x));
    (void)cscert_certinfo_is_ca(x, &self);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cscert_bundle *b = NULL;
    int i;

    if (size > CSCERT_IMPORT_MAX_FILE)
        return 0;
    if (cscert_bundle_parse(&b, data, size, "fuzz", "fuzz input") < 0) {
        FUZZ_ASSERT(b == NULL);
        FUZZ_ASSERT(cscert_error_last()[0] != '\0');
        return 0;
    }
    FUZZ_ASSERT(b != NULL && b->certs != NULL);
    FUZZ_ASSERT(sk_X509_num(b->certs) <= CSCERT_IMPORT_MAX_CERTS);
    FUZZ_ASSERT(sk_X509_num(b->certs) > 0 || b->key != NULL);
    for (i = 0; i < sk_X509_num(b->certs); i++)
        read_cert(sk_X509_value(b->certs, i));
    cscert_bundle_free(b);
    return 0;
}
