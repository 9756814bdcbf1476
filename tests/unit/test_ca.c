/* test_ca.c: the CA library: init (root extensions, key mode, refusing a
 * second init), templates and grants, accounts and passwords (wrong
 * password, unknown account, hash format), policy (Enroll, key size,
 * hash, allowed domains, CA:TRUE, a forged signature), issuance (serial,
 * SANs, EKU, AKI/SKI, notAfter capped at the issuer's), the queue
 * (repeat, manual approval, issue, deny), batches, revocation and the
 * CRL. Issued certificates are judged with OpenSSL's verifier and
 * readers, never with the CA's own code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cscert/ca.h"
#include "cscert/csr.h"
#include "cscert/key.h"
#include "cscert/x509.h"

static char home[256];
static EVP_PKEY *rsa2048, *rsa1024, *ec256;
static char *admins[] = {"RTCUniversalServerAdmins", NULL};
static char *others[] = {"Domain Users", NULL};

static void quiet(const char *msg, void *ud)
{
    (void)msg;
    (void)ud;
}

static EVP_PKEY *keygen(const char *spec)
{
    cscert_key_spec s;
    EVP_PKEY *k = NULL;

    assert_int_equal(cscert_key_spec_parse(&s, spec), CSCERT_OK);
    assert_int_equal(cscert_key_generate(&k, &s), CSCERT_OK);
    return k;
}

static X509_REQ *csr(EVP_PKEY *k, const char *cn, const char *const *sans, size_t n,
                     const char *hash)
{
    cscert_csr_params p = {0};
    const cscert_csr_hash *h = NULL;
    X509_REQ *req = NULL;

    assert_int_equal(cscert_csr_hash_parse(&h, hash), CSCERT_OK);
    p.subject.cn = cn;
    p.dns = sans;
    p.n_dns = n;
    p.hash = h;
    assert_int_equal(cscert_csr_build(&req, k, &p), CSCERT_OK);
    return req;
}

static void rm_home(void)
{
    char cmd[300];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", home);
    assert_int_equal(system(cmd), 0);
}

static int setup(void **state)
{
    cscert_ca_init_opts o = {.name = "ca01.contoso.net\\contoso-CA01-CA", .key_type = "ec:P-256"};
    cscert_ca *ca = NULL;

    (void)state;
    snprintf(home, sizeof(home), "/tmp/test_ca.%d", (int)getpid());
    rm_home();
    assert_int_equal(cscert_ca_init(home, &o), CSCERT_OK);
    assert_int_equal(cscert_ca_open(&ca, home, NULL), CSCERT_OK);
    assert_int_equal(cscert_ca_account_add(ca, "lyncadmin", "RTCUniversalServerAdmins",
                                           "s3cret pass", "test"), CSCERT_OK);
    assert_int_equal(cscert_ca_grant(ca, "WebServer", "RTCUniversalServerAdmins", "test"),
                     CSCERT_OK);
    cscert_ca_free(ca);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rm_home();
    return 0;
}

static cscert_ca *open_ca(void)
{
    cscert_ca *ca = NULL;

    assert_int_equal(cscert_ca_open(&ca, home, NULL), CSCERT_OK);
    return ca;
}

/* Bytes of csca.db, to prove a refusal changed nothing. */
static unsigned char *db_bytes(size_t *len)
{
    char path[300];
    FILE *f;
    unsigned char *buf = malloc(1 << 22);

    snprintf(path, sizeof(path), "%s/csca.db", home);
    assert_non_null(buf);
    f = fopen(path, "rb");
    assert_non_null(f);
    *len = fread(buf, 1, 1 << 22, f);
    fclose(f);
    return buf;
}

static int verify_with_openssl(X509 *leaf, cscert_ca *ca)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *chain = cscert_ca_chain(ca);
    int ok;

    X509_STORE_add_cert(store, sk_X509_value(chain, sk_X509_num(chain) - 1));
    X509_STORE_CTX_init(ctx, store, leaf, NULL);
    X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_X509_STRICT);
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
    ok = X509_verify_cert(ctx);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return ok;
}

static void test_init_root(void **state)
{
    cscert_ca *ca = open_ca();
    X509 *root = cscert_ca_cert(ca);
    BASIC_CONSTRAINTS *bc;
    char path[300], fp[65];
    struct stat sb;
    cscert_ca_init_opts again = {.name = "ca01.contoso.net\\other", .key_type = "ec:P-256"};

    (void)state;
    assert_string_equal(cscert_ca_name(ca), "ca01.contoso.net\\contoso-CA01-CA");
    assert_string_equal(cscert_ca_host(ca), "ca01.contoso.net");
    bc = X509_get_ext_d2i(root, NID_basic_constraints, NULL, NULL);
    assert_non_null(bc);
    assert_true(bc->ca);
    BASIC_CONSTRAINTS_free(bc);
    assert_true(X509_get_key_usage(root) & KU_KEY_CERT_SIGN);
    assert_true(X509_get_key_usage(root) & KU_CRL_SIGN);
    assert_non_null(X509_get0_subject_key_id(root));
    assert_int_equal(X509_check_issued(root, root), X509_V_OK);
    assert_int_equal(X509_verify(root, X509_get0_pubkey(root)), 1);
    snprintf(path, sizeof(path), "%s/ca.key", home);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(stat(home, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    assert_int_equal(cscert_ca_root_fingerprint(fp, ca), CSCERT_OK);
    assert_int_equal(strlen(fp), 64);
    /* A second init on the same home is refused and changes nothing. */
    assert_int_equal(cscert_ca_init(home, &again), CSCERT_EEXISTS);
    cscert_ca_free(ca);
    ca = open_ca();
    assert_string_equal(cscert_ca_name(ca), "ca01.contoso.net\\contoso-CA01-CA");
    cscert_ca_free(ca);
}

static void test_init_refusals(void **state)
{
    cscert_ca_init_opts bad_name = {.name = "no-instance", .key_type = "ec:P-256"};
    cscert_ca_init_opts bad_host = {.name = "-bad-.example\\X", .key_type = "ec:P-256"};
    cscert_ca_init_opts weak = {.name = "ca.example.com\\X", .key_type = "rsa:1024"};
    cscert_ca *ca = NULL;
    char other[300];

    (void)state;
    snprintf(other, sizeof(other), "%s.x", home);
    assert_int_equal(cscert_ca_init(other, &bad_name), CSCERT_EINVAL);
    assert_non_null(strstr(cscert_error_last(), "FQDN\\Instance"));
    assert_int_equal(cscert_ca_init(other, &bad_host), CSCERT_EINVAL);
    assert_int_equal(cscert_ca_init(other, &weak), CSCERT_EPOLICY);
    assert_int_equal(cscert_ca_open(&ca, other, NULL), CSCERT_ENOTFOUND);
    assert_non_null(strstr(cscert_error_last(), "csca init"));
    rmdir(other);
}

static void test_encrypted_key(void **state)
{
    cscert_ca_init_opts o = {.name = "ca02.contoso.net\\enc", .key_type = "ec:P-256",
                             .key_password = "key pass"};
    cscert_ca *ca = NULL;
    char other[300], cmd[400];
    FILE *f;
    char line[128];

    (void)state;
    snprintf(other, sizeof(other), "%s.enc", home);
    assert_int_equal(cscert_ca_init(other, &o), CSCERT_OK);
    snprintf(cmd, sizeof(cmd), "%s/ca.key", other);
    f = fopen(cmd, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof(line), f));
    fclose(f);
    assert_string_equal(line, "-----BEGIN ENCRYPTED PRIVATE KEY-----\n");
    assert_int_equal(cscert_ca_open(&ca, other, NULL), CSCERT_EAUTH);
    assert_non_null(strstr(cscert_error_last(), "--key-password-file"));
    assert_int_equal(cscert_ca_open(&ca, other, "wrong"), CSCERT_EAUTH);
    assert_int_equal(cscert_ca_open(&ca, other, "key pass"), CSCERT_OK);
    cscert_ca_free(ca);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", other);
    assert_int_equal(system(cmd), 0);
}

static void test_passwords(void **state)
{
    cscert_ca *ca = open_ca();
    char **groups = NULL, *h = NULL;

    (void)state;
    assert_int_equal(cscert_ca_authenticate(&groups, ca, "lyncadmin", "s3cret pass"), CSCERT_OK);
    assert_non_null(groups);
    assert_string_equal(groups[0], "RTCUniversalServerAdmins");
    assert_null(groups[1]);
    cscert_x509_names_free(groups);
    assert_int_equal(cscert_ca_authenticate(&groups, ca, "lyncadmin", "s3cret pas"), CSCERT_EAUTH);
    assert_null(groups);
    assert_int_equal(cscert_ca_authenticate(&groups, ca, "LYNCADMIN", "s3cret pass"), CSCERT_OK);
    cscert_x509_names_free(groups);
    assert_int_equal(cscert_ca_authenticate(&groups, ca, "nobody", "s3cret pass"), CSCERT_EAUTH);
    assert_int_equal(cscert_ca_authenticate(&groups, ca, "", ""), CSCERT_EAUTH);
    /* Per-account salt: the same password hashes differently. */
    assert_int_equal(cscert_ca_password_hash(&h, "same"), CSCERT_OK);
    assert_int_equal(strncmp(h, "pbkdf2-sha256$100000$", 21), 0);
    assert_int_equal(cscert_ca_password_verify(h, "same"), 1);
    assert_int_equal(cscert_ca_password_verify(h, "Same"), 0);
    {
        char *h2 = NULL;

        assert_int_equal(cscert_ca_password_hash(&h2, "same"), CSCERT_OK);
        assert_string_not_equal(h, h2);
        free(h2);
    }
    free(h);
    assert_int_equal(cscert_ca_password_verify("pbkdf2-sha256$5$zz$zz", "x"), CSCERT_EINVAL);
    assert_int_equal(cscert_ca_password_verify("plain", "plain"), CSCERT_EINVAL);
    assert_int_equal(cscert_ca_password_hash(&h, ""), CSCERT_EINVAL);
    assert_int_equal(cscert_ca_account_add(ca, "lyncadmin", "G", "x", "test"), CSCERT_EEXISTS);
    assert_int_equal(cscert_ca_account_add(ca, "bad,name", "G", "x", "test"), CSCERT_EINVAL);
    assert_int_equal(cscert_ca_account_passwd(ca, "ghost", "x", "test"), CSCERT_ENOTFOUND);
    cscert_ca_free(ca);
}

static double secs(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A verified password is not derived again, on any clone, until it or the
 * account changes; groups are read fresh on a hit. */
static void test_auth_cache(void **state)
{
    cscert_ca *ca = open_ca(), *w2 = NULL;
    char **groups = NULL;
    double t0, first, again;

    (void)state;
    assert_int_equal(cscert_ca_account_add(ca, "cachey", "G1", "old pass", "test"), CSCERT_OK);
    t0 = secs();
    assert_int_equal(cscert_ca_authenticate(&groups, ca, "cachey", "old pass"), CSCERT_OK);
    first = secs() - t0;
    cscert_x509_names_free(groups);
    assert_int_equal(cscert_ca_clone(&w2, ca), CSCERT_OK);
    /* the fastest of 5: a loaded machine may preempt one of them */
    again = first;
    for (int i = 0; i < 5; i++) {
        double t;

        t0 = secs();
        assert_int_equal(cscert_ca_authenticate(&groups, w2, "cachey", "old pass"), CSCERT_OK);
        t = secs() - t0;
        cscert_x509_names_free(groups);
        if (t < again)
            again = t;
    }
    /* PBKDF2 with 100,000 rounds against an HMAC and a lookup. */
    assert_true(again * 5 < first);
    assert_int_equal(cscert_ca_authenticate(&groups, w2, "cachey", "old pas"), CSCERT_EAUTH);
    assert_null(groups);
    assert_int_equal(cscert_ca_account_set_groups(ca, "cachey", "G2", "test"), CSCERT_OK);
    assert_int_equal(cscert_ca_authenticate(&groups, w2, "cachey", "old pass"), CSCERT_OK);
    assert_string_equal(groups[0], "G2");
    cscert_x509_names_free(groups);
    assert_int_equal(cscert_ca_account_passwd(ca, "cachey", "new pass", "test"), CSCERT_OK);
    assert_int_equal(cscert_ca_authenticate(&groups, w2, "cachey", "old pass"), CSCERT_EAUTH);
    assert_int_equal(cscert_ca_authenticate(&groups, w2, "cachey", "new pass"), CSCERT_OK);
    cscert_x509_names_free(groups);
    assert_int_equal(cscert_ca_account_remove(ca, "cachey", "test"), CSCERT_OK);
    assert_int_equal(cscert_ca_authenticate(&groups, w2, "cachey", "new pass"), CSCERT_EAUTH);
    assert_null(groups);
    cscert_ca_free(w2);
    cscert_ca_free(ca);
}

/* An account's stamp: what authenticate_stamped verified against, equal
 * to account_stamp while the record is unchanged (on another clone too);
 * a new password, new groups or removal change it. */
static void test_account_stamp(void **state)
{
    cscert_ca *ca = open_ca(), *w2 = NULL;
    unsigned char s0[CSCERT_CA_STAMP_LEN], s1[CSCERT_CA_STAMP_LEN], zero[CSCERT_CA_STAMP_LEN] = { 0 };
    char **groups = NULL;

    (void)state;
    assert_int_equal(cscert_ca_account_add(ca, "stampy", "G1", "pass one", "test"), CSCERT_OK);
    assert_int_equal(cscert_ca_account_add(ca, "other", "G1", "pass one", "test"), CSCERT_OK);
    assert_int_equal(cscert_ca_clone(&w2, ca), CSCERT_OK);
    memset(s0, 0, sizeof(s0));
    assert_int_equal(cscert_ca_authenticate_stamped(&groups, s0, w2, "stampy", "pass one"), CSCERT_OK);
    cscert_x509_names_free(groups);
    assert_memory_not_equal(s0, zero, sizeof(s0));
    assert_int_equal(cscert_ca_account_stamp(s1, ca, "stampy"), CSCERT_OK);
    assert_memory_equal(s0, s1, sizeof(s0));
    /* the same password and groups, another account (another salt) */
    assert_int_equal(cscert_ca_account_stamp(s1, w2, "other"), CSCERT_OK);
    assert_memory_not_equal(s0, s1, sizeof(s0));
    /* a wrong password gives no stamp */
    memset(s1, 0, sizeof(s1));
    assert_int_equal(cscert_ca_authenticate_stamped(&groups, s1, w2, "stampy", "pass two"), CSCERT_EAUTH);
    assert_memory_equal(s1, zero, sizeof(s1));
    assert_int_equal(cscert_ca_account_set_groups(ca, "stampy", "G2", "test"), CSCERT_OK);
    assert_int_equal(cscert_ca_account_stamp(s1, w2, "stampy"), CSCERT_OK);
    assert_memory_not_equal(s0, s1, sizeof(s0));
    memcpy(s0, s1, sizeof(s0));
    assert_int_equal(cscert_ca_account_passwd(ca, "stampy", "pass one", "test"), CSCERT_OK); /* same password, new salt */
    assert_int_equal(cscert_ca_account_stamp(s1, w2, "stampy"), CSCERT_OK);
    assert_memory_not_equal(s0, s1, sizeof(s0));
    assert_int_equal(cscert_ca_account_remove(ca, "stampy", "test"), CSCERT_OK);
    assert_int_equal(cscert_ca_account_stamp(s1, w2, "stampy"), CSCERT_ENOTFOUND);
    assert_non_null(strstr(cscert_error_last(), "stampy"));
    cscert_ca_free(w2);
    cscert_ca_free(ca);
}

static void test_domain_match(void **state)
{
    (void)state;
    assert_true(cscert_ca_domain_match("*.contoso.com", "pool01.contoso.com"));
    assert_true(cscert_ca_domain_match("*.contoso.com", "POOL01.Contoso.COM"));
    assert_false(cscert_ca_domain_match("*.contoso.com", "contoso.com"));
    assert_false(cscert_ca_domain_match("*.contoso.com", "a.b.contoso.com"));
    assert_false(cscert_ca_domain_match("*.contoso.com", "evilcontoso.com"));
    assert_true(cscert_ca_domain_match("contoso.com", "contoso.com"));
    assert_false(cscert_ca_domain_match("contoso.com", "x.contoso.com"));
    assert_false(cscert_ca_domain_match("", "x"));
}

static void test_policy(void **state)
{
    cscert_ca *ca = open_ca();
    cscert_ca_template t;
    const char *ok_names[] = {"pool01.contoso.com", "sip.contoso.com"};
    const char *out_names[] = {"pool01.contoso.com", "www.fabrikam.com"};
    X509_REQ *r;

    (void)state;
    assert_int_equal(cscert_ca_template_get(&t, ca, "webserver"), CSCERT_OK);
    assert_string_equal(t.name, "WebServer");
    assert_int_equal(t.validity_days, 730);
    assert_int_equal(t.min_rsa_bits, 2048);
    free(t.allowed_domains);
    t.allowed_domains = strdup("*.contoso.com");

    r = csr(rsa2048, "pool01.contoso.com", ok_names, 2, "sha256");
    assert_int_equal(cscert_ca_policy_check(&t, r, admins), CSCERT_OK);
    assert_int_equal(cscert_ca_policy_check(&t, r, NULL), CSCERT_OK); /* offline, admin */
    assert_int_equal(cscert_ca_policy_check(&t, r, others), CSCERT_EPOLICY);
    assert_non_null(strstr(cscert_error_last(), "no Enroll permission on template 'WebServer'"));
    assert_non_null(strstr(cscert_error_last(), "RTCUniversalServerAdmins"));
    X509_REQ_free(r);

    r = csr(rsa1024, "pool01.contoso.com", ok_names, 2, "sha256");
    assert_int_equal(cscert_ca_policy_check(&t, r, admins), CSCERT_EPOLICY);
    assert_non_null(strstr(cscert_error_last(), "key too small"));
    X509_REQ_free(r);

    r = csr(rsa2048, "pool01.contoso.com", out_names, 2, "sha256");
    assert_int_equal(cscert_ca_policy_check(&t, r, admins), CSCERT_EPOLICY);
    assert_non_null(strstr(cscert_error_last(), "www.fabrikam.com"));
    X509_REQ_free(r);

    r = csr(rsa2048, "pool01.contoso.com", ok_names, 2, "sha1");
    assert_int_equal(cscert_ca_policy_check(&t, r, admins), CSCERT_EPOLICY);
    assert_non_null(strstr(cscert_error_last(), "sha1"));
    X509_REQ_free(r);

    /* A request whose signature no longer matches its content. */
    r = csr(rsa2048, "pool01.contoso.com", ok_names, 2, "sha256");
    X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(r), "O", MBSTRING_ASC,
                               (const unsigned char *)"forged", -1, -1, 0);
    assert_int_equal(cscert_ca_policy_check(&t, r, admins), CSCERT_EINVAL);
    X509_REQ_free(r);

    /* A request asking for CA:TRUE. */
    {
        X509_REQ *q = X509_REQ_new();
        STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
        X509_NAME *n = X509_NAME_new();

        X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                                   (const unsigned char *)"pool01.contoso.com", -1, -1, 0);
        X509_REQ_set_subject_name(q, n);
        X509_REQ_set_pubkey(q, rsa2048);
        sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(NULL, NULL, NID_basic_constraints,
                                                         "critical,CA:TRUE"));
        X509_REQ_add_extensions(q, exts);
        X509_REQ_sign(q, rsa2048, EVP_sha256());
        assert_int_equal(cscert_ca_policy_check(&t, q, admins), CSCERT_EPOLICY);
        assert_non_null(strstr(cscert_error_last(), "CA:TRUE"));
        sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
        X509_NAME_free(n);
        X509_REQ_free(q);
    }
    cscert_ca_template_clear(&t);
    cscert_ca_free(ca);
}

/* A request made by hand, so that any bytes go into the CN and the SAN
 * as they are (cscert_csr_build would refuse them). */
static X509_REQ *raw_req(const char *cn, int cn_len, const char *cn2, const char *san, int san_len)
{
    X509_REQ *q = X509_REQ_new();
    X509_NAME *n = X509_NAME_new();
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();

    if (cn)
        assert_true(X509_NAME_add_entry_by_NID(n, NID_commonName, V_ASN1_UTF8STRING,
                                               (const unsigned char *)cn, cn_len, -1, 0));
    if (cn2)
        assert_true(X509_NAME_add_entry_by_NID(n, NID_commonName, V_ASN1_UTF8STRING,
                                               (const unsigned char *)cn2, -1, -1, 0));
    X509_REQ_set_subject_name(q, n);
    X509_REQ_set_pubkey(q, ec256);
    if (san) {
        GENERAL_NAMES *gens = GENERAL_NAMES_new();
        GENERAL_NAME *g = GENERAL_NAME_new();
        ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();

        assert_true(ASN1_STRING_set(ia5, san, san_len));
        GENERAL_NAME_set0_value(g, GEN_DNS, ia5);
        sk_GENERAL_NAME_push(gens, g);
        sk_X509_EXTENSION_push(exts, X509V3_EXT_i2d(NID_subject_alt_name, 0, gens));
        GENERAL_NAMES_free(gens);
        X509_REQ_add_extensions(q, exts);
    }
    assert_true(X509_REQ_sign(q, ec256, EVP_sha256()) > 0);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_NAME_free(n);
    return q;
}

/* Every name the CA would copy into the SAN is a DNS name: a comma in a
 * CN used to become a second SAN entry of any type ("a,IP:1:2:3::4,
 * DNS:b.contoso.com" passed "*.contoso.com" and was issued with an IP
 * address and the name "a"). */
static void test_policy_names(void **state)
{
    static const struct {
        const char *cn;
        int cn_len;
        const char *cn2, *san;
        int san_len, rc;
        const char *msg;
    } rows[] = {
        {"a,IP:1:2:3::4,DNS:b.contoso.com", -1, NULL, NULL, 0, CSCERT_EPOLICY, "'a,IP:1:2:3::4,DNS:b.contoso.com' is not one"},
        {"pool01.contoso.com", -1, NULL, "x.contoso.com,IP:1.2.3.4", -1, CSCERT_EPOLICY, "subjectAltName 'x.contoso.com,IP:1.2.3.4'"},
        {"pool01.contoso.com", -1, NULL, "x.contoso.com\0.evil.net", 23, CSCERT_EPOLICY, "'x.contoso.com?.evil.net' is not one"},
        {"pool01.contoso.com\nx", -1, NULL, NULL, 0, CSCERT_EPOLICY, "'pool01.contoso.com?x'"},
        {"pool01 contoso.com", -1, NULL, NULL, 0, CSCERT_EPOLICY, "subject CN"},
        {"10.1.2.3", -1, NULL, NULL, 0, CSCERT_EPOLICY, "'10.1.2.3' is not one"},
        {"", 0, NULL, "pool01.contoso.com", -1, CSCERT_EPOLICY, "subject CN '' is not one"},
        {"www.fabrikam.com", -1, "pool01.contoso.com", NULL, 0, CSCERT_EPOLICY, "issues one CN"},
        {"pool01.contoso.com", -1, NULL, "*.*.contoso.com", -1, CSCERT_EPOLICY, "'*.*.contoso.com'"},
        {"pool01.contoso.com", -1, NULL, "*.contoso.com", -1, CSCERT_OK, NULL},
        {"Pool01.Contoso.com", -1, NULL, "sip.contoso.com", -1, CSCERT_OK, NULL},
    };
    cscert_ca *ca = open_ca();
    cscert_ca_template t;
    unsigned char serial[CSCERT_CA_SERIAL_BYTES];

    (void)state;
    assert_int_equal(cscert_ca_template_get(&t, ca, "WebServer"), CSCERT_OK);
    free(t.allowed_domains);
    t.allowed_domains = strdup("*.contoso.com");
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        X509_REQ *q = raw_req(rows[i].cn, rows[i].cn_len, rows[i].cn2, rows[i].san, rows[i].san_len);
        X509 *x = NULL;
        GENERAL_NAMES *gens;

        print_message("row %zu: %s\n", i, rows[i].cn);
        assert_int_equal(cscert_ca_policy_check(&t, q, admins), rows[i].rc);
        if (rows[i].rc != CSCERT_OK) {
            assert_non_null(strstr(cscert_error_last(), rows[i].msg));
            /* Offline (no groups) is refused the same way. */
            assert_int_equal(cscert_ca_policy_check(&t, q, NULL), rows[i].rc);
            X509_REQ_free(q);
            continue;
        }
        /* Issued: the SAN holds exactly the CN and the SAN, as dNSNames. */
        assert_int_equal(cscert_ca_serial_new(serial), CSCERT_OK);
        assert_int_equal(cscert_ca_sign(&x, ca, q, &t, serial, NULL), CSCERT_OK);
        gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
        assert_non_null(gens);
        assert_int_equal(sk_GENERAL_NAME_num(gens), 2);
        for (int k = 0; k < 2; k++)
            assert_int_equal(sk_GENERAL_NAME_value(gens, k)->type, GEN_DNS);
        assert_string_equal(ASN1_STRING_get0_data(sk_GENERAL_NAME_value(gens, 0)->d.dNSName), rows[i].cn);
        assert_string_equal(ASN1_STRING_get0_data(sk_GENERAL_NAME_value(gens, 1)->d.dNSName), rows[i].san);
        GENERAL_NAMES_free(gens);
        X509_free(x);
        X509_REQ_free(q);
    }
    cscert_ca_template_clear(&t);
    cscert_ca_free(ca);
}

static void test_issue_auto(void **state)
{
    cscert_ca *ca = open_ca();
    const char *names[] = {"pool01.contoso.com", "sip.contoso.com", "meet.contoso.com"};
    X509_REQ *r = csr(rsa2048, "pool01.contoso.com", names, 3, "sha256");
    cscert_ca_submission s = {.req = r, .template_name = "WebServer", .requester = "lyncadmin",
                              .groups = admins, .source = "127.0.0.1:1"};
    cscert_ca_result res, again;
    char **got = NULL;
    size_t n = 0;
    const ASN1_INTEGER *serial;
    BIGNUM *bn;
    EXTENDED_KEY_USAGE *eku;

    (void)state;
    assert_int_equal(cscert_ca_submit(&res, ca, &s), CSCERT_OK);
    assert_int_equal(res.disposition, CSCERT_CA_ISSUED);
    assert_true(res.id > 0);
    assert_non_null(res.cert);
    assert_int_equal(verify_with_openssl(res.cert, ca), 1);
    /* SAN: exactly the request's names, CN first. */
    assert_int_equal(cscert_x509_names(&got, &n, res.cert), CSCERT_OK);
    assert_int_equal(n, 3);
    assert_string_equal(got[0], "pool01.contoso.com");
    assert_string_equal(got[2], "meet.contoso.com");
    cscert_x509_names_free(got);
    /* 16 random bytes, positive. */
    serial = X509_get0_serialNumber(res.cert);
    bn = ASN1_INTEGER_to_BN(serial, NULL);
    assert_int_equal(BN_num_bytes(bn), 16);
    assert_false(BN_is_negative(bn));
    BN_free(bn);
    assert_int_equal(strlen(res.serial), 32);
    /* No CA flag; EKU serverAuth only; AKI = the CA's SKI. */
    assert_int_equal(X509_check_ca(res.cert), 0);
    eku = X509_get_ext_d2i(res.cert, NID_ext_key_usage, NULL, NULL);
    assert_non_null(eku);
    assert_int_equal(sk_ASN1_OBJECT_num(eku), 1);
    assert_int_equal(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)), NID_server_auth);
    EXTENDED_KEY_USAGE_free(eku);
    assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(res.cert),
                                           X509_get0_subject_key_id(cscert_ca_cert(ca))), 0);
    /* The same requester repeating the same request gets the same answer. */
    assert_int_equal(cscert_ca_submit(&again, ca, &s), CSCERT_OK);
    assert_true(again.repeated);
    assert_int_equal(again.id, res.id);
    assert_int_equal(X509_cmp(again.cert, res.cert), 0);
    cscert_ca_result_clear(&again);
    cscert_ca_result_clear(&res);
    X509_REQ_free(r);
    cscert_ca_free(ca);
}

static void test_refusal_leaves_db(void **state)
{
    cscert_ca *ca = open_ca();
    const char *names[] = {"pool01.contoso.com"};
    X509_REQ *r = csr(rsa1024, "pool01.contoso.com", names, 1, "sha256");
    cscert_ca_submission s = {.req = r, .template_name = "WebServer", .requester = "lyncadmin",
                              .groups = admins, .source = "127.0.0.1:1"};
    cscert_ca_result res;
    size_t la, lb;
    unsigned char *before, *after;

    (void)state;
    before = db_bytes(&lb);
    assert_int_equal(cscert_ca_submit(&res, ca, &s), CSCERT_EPOLICY);
    s.groups = others;
    X509_REQ_free(r);
    r = csr(rsa2048, "pool01.contoso.com", names, 1, "sha256");
    s.req = r;
    assert_int_equal(cscert_ca_submit(&res, ca, &s), CSCERT_EPOLICY);
    s.template_name = "NoSuchTemplate";
    assert_int_equal(cscert_ca_submit(&res, ca, &s), CSCERT_ENOTFOUND);
    assert_non_null(strstr(cscert_error_last(), "WebServer"));
    cscert_ca_free(ca);
    after = db_bytes(&la);
    assert_int_equal(la, lb);
    assert_memory_equal(before, after, la);
    free(before);
    free(after);
    X509_REQ_free(r);
}

static void test_manual_queue(void **state)
{
    cscert_ca *ca = open_ca();
    cscert_ca_template t = {0};
    const char *names[] = {"dir01.contoso.com"};
    X509_REQ *r = csr(ec256, "dir01.contoso.com", names, 1, "sha256");
    cscert_ca_submission s = {.req = r, .template_name = "Manual", .requester = "lyncadmin",
                              .groups = admins, .source = "127.0.0.1:2"};
    cscert_ca_result res, again, issued;
    json_t *list = NULL;

    (void)state;
    snprintf(t.name, sizeof(t.name), "Manual");
    t.validity_days = 365;
    t.eku = CSCERT_CA_EKU_SERVER | CSCERT_CA_EKU_CLIENT;
    t.min_rsa_bits = 2048;
    t.min_ec_bits = 256;
    t.hashes = "SHA-256";
    t.manual_approval = 1;
    assert_int_equal(cscert_ca_template_add(ca, &t, "test"), CSCERT_OK);
    assert_int_equal(cscert_ca_template_add(ca, &t, "test"), CSCERT_EEXISTS);
    t.hashes = "md5";
    assert_int_equal(cscert_ca_template_set(ca, &t, "test"), CSCERT_EINVAL);
    assert_int_equal(cscert_ca_grant(ca, "Manual", "RTCUniversalServerAdmins", "test"), CSCERT_OK);

    assert_int_equal(cscert_ca_submit(&res, ca, &s), CSCERT_OK);
    assert_int_equal(res.disposition, CSCERT_CA_PENDING);
    assert_null(res.cert);
    assert_int_equal(cscert_ca_request_list(&list, ca, 1), CSCERT_OK);
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "disposition")),
                        "pending");
    json_decref(list);
    /* Repeating while pending: still pending, no new entry. */
    assert_int_equal(cscert_ca_submit(&again, ca, &s), CSCERT_OK);
    assert_true(again.repeated);
    assert_int_equal(again.id, res.id);
    assert_int_equal(again.disposition, CSCERT_CA_PENDING);
    /* The administrator issues it; the repeat now gets the certificate. */
    assert_int_equal(cscert_ca_request_issue(&issued, ca, res.id, "test"), CSCERT_OK);
    assert_int_equal(verify_with_openssl(issued.cert, ca), 1);
    assert_int_equal(cscert_ca_request_issue(&again, ca, res.id, "test"), CSCERT_EPOLICY);
    assert_int_equal(cscert_ca_submit(&again, ca, &s), CSCERT_OK);
    assert_int_equal(again.disposition, CSCERT_CA_ISSUED);
    assert_int_equal(X509_cmp(again.cert, issued.cert), 0);
    cscert_ca_result_clear(&again);
    cscert_ca_result_clear(&issued);
    assert_int_equal(cscert_ca_request_issue(&again, ca, 999999, "test"), CSCERT_ENOTFOUND);

    /* A second request, denied. */
    X509_REQ_free(r);
    r = csr(ec256, "dir01.contoso.com", names, 1, "sha384");
    s.req = r;
    assert_int_equal(cscert_ca_submit(&res, ca, &s), CSCERT_EPOLICY); /* sha384 not allowed */
    t.hashes = "sha256,sha384";
    assert_int_equal(cscert_ca_template_set(ca, &t, "test"), CSCERT_OK);
    assert_int_equal(cscert_ca_submit(&res, ca, &s), CSCERT_OK);
    assert_int_equal(cscert_ca_request_deny(ca, res.id, "not this one", "test"), CSCERT_OK);
    assert_int_equal(cscert_ca_request_get(&again, ca, res.id), CSCERT_OK);
    assert_int_equal(again.disposition, CSCERT_CA_DENIED);
    assert_string_equal(again.reason, "not this one");
    cscert_ca_result_clear(&again);
    assert_int_equal(cscert_ca_request_deny(ca, res.id, "again", "test"), CSCERT_EPOLICY);
    X509_REQ_free(r);
    cscert_ca_free(ca);
}

static void test_batch_and_serials(void **state)
{
    enum { N = 16 };
    cscert_ca *ca = open_ca(), *ca2 = NULL;
    X509_REQ *reqs[N];
    cscert_ca_submission subs[N];
    cscert_ca_result res[N];
    const cscert_ca_submission *sv[N];
    cscert_ca_result *rv[N];
    char cn[64];

    (void)state;
    assert_int_equal(cscert_ca_clone(&ca2, ca), CSCERT_OK);
    for (int i = 0; i < N; i++) {
        const char *names[1] = {cn};

        snprintf(cn, sizeof(cn), "fe%02d.contoso.com", i);
        reqs[i] = csr(ec256, cn, names, 1, "sha256");
        subs[i] = (cscert_ca_submission){.req = reqs[i], .template_name = "WebServer",
                                         .requester = "lyncadmin", .groups = admins,
                                         .source = "batch"};
        assert_int_equal(cscert_ca_prepare(&res[i], i % 2 ? ca2 : ca, &subs[i]), CSCERT_OK);
        assert_int_equal(res[i].id, 0);
        sv[i] = &subs[i];
        rv[i] = &res[i];
    }
    assert_int_equal(cscert_ca_commit_batch(ca2, sv, rv, N), CSCERT_OK);
    for (int i = 0; i < N; i++) {
        assert_true(res[i].id > 0);
        for (int j = 0; j < i; j++) {
            assert_string_not_equal(res[i].serial, res[j].serial);
            assert_true(res[i].id != res[j].id);
        }
    }
    for (int i = 0; i < N; i++) {
        cscert_ca_result_clear(&res[i]);
        X509_REQ_free(reqs[i]);
    }
    cscert_ca_free(ca2);
    cscert_ca_free(ca);
}

static void test_revoke_crl(void **state)
{
    cscert_ca *ca = open_ca();
    const char *names[] = {"edge.contoso.com"};
    X509_REQ *r = csr(rsa2048, "edge.contoso.com", names, 1, "sha256");
    cscert_ca_submission s = {.req = r, .template_name = "WebServer", .requester = "lyncadmin",
                              .groups = admins, .source = "x"};
    cscert_ca_result res;
    char *pem = NULL, lower[64];
    BIO *b;
    X509_CRL *crl;
    X509_REVOKED *rev = NULL;

    (void)state;
    assert_int_equal(cscert_ca_submit(&res, ca, &s), CSCERT_OK);
    snprintf(lower, sizeof(lower), "%s", res.serial);
    for (char *c = lower; *c; c++)
        *c = (char)(*c >= 'A' && *c <= 'F' ? *c + 32 : *c);
    assert_int_equal(cscert_ca_revoke(ca, lower, "KeyCompromise", "test"), CSCERT_OK);
    assert_int_equal(cscert_ca_revoke(ca, res.serial, "keyCompromise", "test"), CSCERT_EEXISTS);
    assert_int_equal(cscert_ca_revoke(ca, "0102", "keyCompromise", "test"), CSCERT_ENOTFOUND);
    assert_int_equal(cscert_ca_revoke(ca, res.serial, "because", "test"), CSCERT_EINVAL);
    assert_int_equal(cscert_ca_revoke(ca, "xyz", "superseded", "test"), CSCERT_EINVAL);
    assert_int_equal(cscert_ca_crl_pem(&pem, ca, "test"), CSCERT_OK);
    b = BIO_new_mem_buf(pem, -1);
    crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL);
    assert_non_null(crl);
    assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(cscert_ca_cert(ca))), 1);
    assert_int_equal(X509_CRL_get0_by_cert(crl, &rev, res.cert), 1);
    assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(crl),
                                   X509_get_subject_name(cscert_ca_cert(ca))), 0);
    X509_CRL_free(crl);
    BIO_free(b);
    free(pem);
    cscert_ca_result_clear(&res);
    X509_REQ_free(r);
    cscert_ca_free(ca);
}

/* A client certificate as the credential: one this CA issued and recorded,
 * not revoked, whose account exists gives that account and its groups. */
static void test_authenticate_cert(void **state)
{
    cscert_ca *ca = open_ca();
    const char *names[] = {"fe01.contoso.com"};
    X509_REQ *r = csr(rsa2048, "fe01.contoso.com", names, 1, "sha256");
    cscert_ca_submission s = {.req = r, .template_name = "WebServer", .requester = "certholder",
                              .groups = admins, .source = "x"};
    cscert_ca_result res;
    char *account = NULL, **groups = NULL;
    X509 *forged;

    (void)state;
    assert_int_equal(cscert_ca_account_add(ca, "certholder", "RTCUniversalServerAdmins,Web", "pw-12345", "t"),
                     CSCERT_OK);
    assert_int_equal(cscert_ca_submit(&res, ca, &s), CSCERT_OK);
    assert_int_equal(cscert_ca_authenticate_cert(&account, &groups, ca, res.cert), CSCERT_OK);
    assert_string_equal(account, "certholder");
    assert_string_equal(groups[0], "RTCUniversalServerAdmins");
    assert_string_equal(groups[1], "Web");
    assert_null(groups[2]);
    free(account);
    cscert_x509_names_free(groups);
    /* the same serial, other bytes (a copy re-signed by another key) */
    forged = X509_dup(res.cert);
    assert_true(X509_sign(forged, ec256, EVP_sha256()) > 0);
    assert_int_equal(cscert_ca_authenticate_cert(&account, &groups, ca, forged), CSCERT_EAUTH);
    assert_non_null(strstr(cscert_error_last(), "is not one CA"));
    assert_null(account);
    X509_free(forged);
    /* its account removed */
    assert_int_equal(cscert_ca_account_remove(ca, "certholder", "t"), CSCERT_OK);
    assert_int_equal(cscert_ca_authenticate_cert(&account, &groups, ca, res.cert), CSCERT_EAUTH);
    assert_non_null(strstr(cscert_error_last(), "no longer exists"));
    assert_int_equal(cscert_ca_account_add(ca, "certholder", "Web", "pw-12345", "t"), CSCERT_OK);
    /* expired: one this CA signed and recorded, valid until yesterday (a
     * resumed TLS session would keep the handshake's old verdict) */
    {
        X509 *old = X509_dup(res.cert);
        unsigned char sn[CSCERT_CA_SERIAL_BYTES];
        BIGNUM *bn;

        assert_int_equal(cscert_ca_serial_new(sn), CSCERT_OK);
        bn = BN_bin2bn(sn, sizeof(sn), NULL);
        BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(old));
        BN_free(bn);
        X509_gmtime_adj(X509_getm_notBefore(old), -10 * 86400L);
        X509_gmtime_adj(X509_getm_notAfter(old), -86400L);
        assert_true(X509_sign(old, cscert_ca_key(ca), EVP_sha256()) > 0);
        assert_int_equal(cscert_ca_record_issued(ca, old, "certholder", "WebServer"), CSCERT_OK);
        assert_int_equal(cscert_ca_authenticate_cert(&account, &groups, ca, old), CSCERT_EAUTH);
        assert_non_null(strstr(cscert_error_last(), "expired or not yet valid"));
        assert_null(account);
        X509_free(old);
    }
    /* revoked */
    assert_int_equal(cscert_ca_revoke(ca, res.serial, "superseded", "t"), CSCERT_OK);
    assert_int_equal(cscert_ca_authenticate_cert(&account, &groups, ca, res.cert), CSCERT_EAUTH);
    assert_non_null(strstr(cscert_error_last(), "is revoked"));
    assert_int_equal(cscert_ca_authenticate_cert(&account, &groups, ca, NULL), CSCERT_EAUTH);
    assert_null(groups);
    cscert_ca_result_clear(&res);
    X509_REQ_free(r);
    cscert_ca_free(ca);
}

static void test_capped_and_pkcs7(void **state)
{
    cscert_ca *ca = open_ca();
    cscert_ca_template t = {0};
    const char *names[] = {"long.contoso.com"};
    X509_REQ *r = csr(ec256, "long.contoso.com", names, 1, "sha256");
    unsigned char serial[CSCERT_CA_SERIAL_BYTES], *der = NULL;
    const unsigned char *p;
    size_t len = 0;
    X509 *x = NULL;
    PKCS7 *p7;
    int capped = 0;

    (void)state;
    snprintf(t.name, sizeof(t.name), "Long");
    t.validity_days = 36500;
    t.eku = CSCERT_CA_EKU_SERVER;
    t.min_rsa_bits = 2048;
    t.min_ec_bits = 256;
    t.hashes = "sha256";
    assert_int_equal(cscert_ca_serial_new(serial), CSCERT_OK);
    assert_int_equal(cscert_ca_sign(&x, ca, r, &t, serial, &capped), CSCERT_OK);
    assert_int_equal(capped, 1);
    assert_int_equal(ASN1_TIME_compare(X509_get0_notAfter(x),
                                       X509_get0_notAfter(cscert_ca_cert(ca))), 0);
    assert_int_equal(cscert_ca_pkcs7_der(&der, &len, ca, x), CSCERT_OK);
    p = der;
    p7 = d2i_PKCS7(NULL, &p, (long)len);
    assert_non_null(p7);
    assert_true(PKCS7_type_is_signed(p7));
    assert_int_equal(sk_X509_num(p7->d.sign->cert), 2); /* leaf + root */
    PKCS7_free(p7);
    OPENSSL_free(der);
    X509_free(x);
    X509_REQ_free(r);
    cscert_ca_free(ca);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_root),
        cmocka_unit_test(test_init_refusals),
        cmocka_unit_test(test_encrypted_key),
        cmocka_unit_test(test_passwords),
        cmocka_unit_test(test_auth_cache),
        cmocka_unit_test(test_account_stamp),
        cmocka_unit_test(test_domain_match),
        cmocka_unit_test(test_policy),
        cmocka_unit_test(test_policy_names),
        cmocka_unit_test(test_issue_auto),
        cmocka_unit_test(test_refusal_leaves_db),
        cmocka_unit_test(test_manual_queue),
        cmocka_unit_test(test_batch_and_serials),
        cmocka_unit_test(test_revoke_crl),
        cmocka_unit_test(test_capped_and_pkcs7),
        cmocka_unit_test(test_authenticate_cert),
    };
    int rc;

    cscert_set_warn_handler(quiet, NULL);
    rsa2048 = keygen("rsa:2048");
    rsa1024 = keygen("rsa:1024");
    ec256 = keygen("ec:P-256");
    rc = cmocka_run_group_tests(tests, setup, teardown);
    EVP_PKEY_free(rsa2048);
    EVP_PKEY_free(rsa1024);
    EVP_PKEY_free(ec256);
    return rc;
}
