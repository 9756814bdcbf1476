/* fuzz_est_reply.c: what `cscert request --ca` and `request resume` read
 * from a CA that may be hostile or broken: the certs-only body
 * (cscert_enroll__decode_certs), the error body behind a status, the
 * Retry-After header, and the note kept with a pending request. The
 * first byte picks the status; the rest is the body, and also the header
 * value and the note (NUL-terminated copies). Invariants: a decoded body
 * gives DER and at least one certificate; a status error always sets a
 * message; Retry-After stays within 0..CSCERT_ENROLL_RETRY_AFTER_MAX. */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "cscert/enroll.h"
#include "cscert/error.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int statuses[] = {200, 202, 400, 401, 403, 404, 405, 413, 429, 500, 503, 302};
    STACK_OF(X509) *certs = NULL;
    unsigned char *der = NULL;
    size_t der_len = 0;
    cscert_enroll_note note;
    char *text;
    long secs = -1;
    int status;

    if (size == 0 || size > 256 * 1024)
        return 0;
    status = statuses[data[0] % (sizeof(statuses) / sizeof(statuses[0]))];
    data++, size--;
    if (cscert_enroll__decode_certs(&der, &der_len, &certs, (const char *)data, size) == CSCERT_OK) {
        FUZZ_ASSERT(der != NULL && der_len > 0);
        FUZZ_ASSERT(certs != NULL && sk_X509_num(certs) > 0);
    }
    OPENSSL_free(der);
    sk_X509_pop_free(certs, X509_free);
    FUZZ_ASSERT((text = malloc(size + 1)) != NULL);
    memcpy(text, data, size);
    text[size] = '\0';
    if (status != 200 && status != 202) {
        FUZZ_ASSERT(cscert_enroll__status_error(status, text, "ca.contoso.net\\Fuzz", "WebServer", "web01",
                                                "https://ca.contoso.net:8443/") < 0);
        FUZZ_ASSERT(cscert_error_last()[0] != '\0');
        (void)cscert_enroll__definitive(status, 0);
        (void)cscert_enroll__definitive(status, 1);
    }
    if (size < 512 && cscert_enroll__retry_after(&secs, text, 1764000000) == CSCERT_OK)
        FUZZ_ASSERT(secs >= 0 && secs <= CSCERT_ENROLL_RETRY_AFTER_MAX);
    (void)cscert_enroll_note_parse(&note, text);
    free(text);
    return 0;
}
