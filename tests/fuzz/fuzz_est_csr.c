/* fuzz_est_csr.c: what `csca serve` does with an EST body before it
 * answers: decode it (base64, PEM or DER), read its names and template
 * extension, apply the WebServer template's policy ("*.contoso.com",
 * Enroll for RTCUniversalServerAdmins), and sign what passes. A body
 * whose signature no longer verifies is also signed afresh with a key of
 * the harness's, so that mutated names and extensions reach the policy
 * and the signer. Invariants: a refusal says why; an issued certificate
 * is never a CA, verifies with the CA key, and carries as SANs only
 * dNSNames, each a DNS name under the allowed domains. */
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cscert/ca.h"
#include "cscert/ca_serve.h"
#include "cscert/csr.h"
#include "cscert/key.h"
#include "cscert/topology.h"
#include "cscert/x509.h"
#include "fuzz.h"

static char home[64];
static cscert_ca *ca;
static cscert_ca_template tmpl;
static EVP_PKEY *own_key;
static char *admins[] = {"RTCUniversalServerAdmins", NULL};

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(p);
}

static void cleanup(void)
{
    cscert_ca_template_clear(&tmpl);
    cscert_ca_free(ca);
    EVP_PKEY_free(own_key);
    if (home[0])
        nftw(home, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    cscert_ca_init_opts o = {0};
    cscert_key_spec spec;

    (void)argc, (void)argv;
    strcpy(home, "/tmp/cscert-fuzz-ca.XXXXXX");
    FUZZ_ASSERT(mkdtemp(home) != NULL);
    atexit(cleanup);
    o.name = "ca.contoso.net\\Fuzz";
    o.key_type = "ec:P-256";
    FUZZ_ASSERT(cscert_ca_init(home, &o) == CSCERT_OK);
    FUZZ_ASSERT(cscert_ca_open(&ca, home, NULL) == CSCERT_OK);
    FUZZ_ASSERT(cscert_ca_template_get(&tmpl, ca, CSCERT_CA_TEMPLATE_DEFAULT) == CSCERT_OK);
    free(tmpl.allowed_domains);
    tmpl.allowed_domains = strdup("*.contoso.com,contoso.com");
    FUZZ_ASSERT(tmpl.allowed_domains != NULL);
    FUZZ_ASSERT(cscert_ca_grant(ca, tmpl.name, admins[0], "fuzz") == CSCERT_OK);
    cscert_ca_template_clear(&tmpl);
    FUZZ_ASSERT(cscert_ca_template_get(&tmpl, ca, CSCERT_CA_TEMPLATE_DEFAULT) == CSCERT_OK);
    free(tmpl.allowed_domains);
    tmpl.allowed_domains = strdup("*.contoso.com,contoso.com");
    FUZZ_ASSERT(cscert_key_spec_parse(&spec, "ec:P-256") == CSCERT_OK);
    FUZZ_ASSERT(cscert_key_generate(&own_key, &spec) == CSCERT_OK);
    return 0;
}

/* What the policy let through, read back with OpenSSL's own decoder. */
static void check_issued(X509 *x)
{
    GENERAL_NAMES *gens;
    int crit = 0;

    FUZZ_ASSERT(X509_verify(x, cscert_ca_key(ca)) == 1);
    FUZZ_ASSERT(X509_check_ca(x) == 0);
    gens = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
    FUZZ_ASSERT(gens != NULL);
    for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        char name[254], norm[254];
        int len;

        FUZZ_ASSERT(g->type == GEN_DNS);
        len = ASN1_STRING_length(g->d.dNSName);
        FUZZ_ASSERT(len > 0 && len < (int)sizeof(name));
        memcpy(name, ASN1_STRING_get0_data(g->d.dNSName), (size_t)len);
        name[len] = '\0';
        FUZZ_ASSERT(cscert_fqdn_check(norm, name, 1, "issued SAN") == CSCERT_OK);
        FUZZ_ASSERT(cscert_ca_domain_match("*.contoso.com", name) || cscert_ca_domain_match("contoso.com", name));
    }
    GENERAL_NAMES_free(gens);
}

static void policy_and_sign(X509_REQ *req)
{
    unsigned char serial[CSCERT_CA_SERIAL_BYTES];
    char **names = NULL, *t = NULL;
    size_t n = 0;
    X509 *x = NULL;

    if (cscert_csr_names(&names, &n, req) == CSCERT_OK)
        cscert_x509_names_free(names);
    if (cscert_csr_template_name(&t, req) == CSCERT_OK)
        free(t);
    if (cscert_ca_policy_check(&tmpl, req, admins) < 0) {
        FUZZ_ASSERT(cscert_error_last()[0] != '\0');
        return;
    }
    FUZZ_ASSERT(cscert_ca_serial_new(serial) == CSCERT_OK);
    if (cscert_ca_sign(&x, ca, req, &tmpl, serial, NULL) == CSCERT_OK) {
        check_issued(x);
        X509_free(x);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    X509_REQ *req = NULL;

    if (cscert_ca_serve__decode_csr(&req, data, size) < 0) {
        FUZZ_ASSERT(req == NULL);
        FUZZ_ASSERT(cscert_error_last()[0] != '\0');
        return 0;
    }
    FUZZ_ASSERT(req != NULL);
    policy_and_sign(req);
    /* Signed afresh: the mutated content reaches the policy and the signer. */
    if (X509_REQ_set_pubkey(req, own_key) && X509_REQ_sign(req, own_key, EVP_sha256()) > 0)
        policy_and_sign(req);
    X509_REQ_free(req);
    return 0;
}
