/* ca.c: the CA's home, key and certificates, templates, accounts, the
 * request queue, issuance, revocation and the CRL (see include/cscert/ca.h).
 * SQL lives in ca_db.c, template rules and password hashing in
 * ca_policy.c. */
#include "cscert/ca.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "ca_internal.h"
#include "cscert/certinfo.h"
#include "cscert/csr.h"
#include "cscert/import.h"
#include "cscert/jsonl.h"
#include "cscert/key.h"
#include "cscert/store.h"
#include "cscert/topology.h"
#include "cscert/x509.h"

/* 5 minutes: issued certificates start this much in the past, so a
 * server whose clock is a little behind the CA's accepts them (AD CS
 * backdates by 10 minutes). */
#define CA_BACKDATE_SECONDS 300
/* 100 years: the longest validity a template or root may ask for. */
#define CA_VALIDITY_MAX_DAYS 36500
/* 64 KiB: the CA's key and certificate files. */
#define CA_FILE_MAX 65536
/* 8192 bits: the largest RSA key a template may demand. */
#define CA_MIN_BITS_MAX 8192

static const char *const ca_files[] = {"ca.key", "ca.pem", "chain.pem", "csca.db",
                                       "csca.db-wal", "csca.db-shm"};

const char *cscert_ca_home_resolve(const char *arg)
{
    const char *env = getenv("CSCA_HOME");

    if (arg && *arg)
        return arg;
    if (env && *env)
        return env;
    return CSCERT_CA_HOME_DEFAULT;
}

const char *cscert_ca_disposition_name(cscert_ca_disposition d)
{
    switch (d) {
    case CSCERT_CA_PENDING: return "pending";
    case CSCERT_CA_ISSUED: return "issued";
    case CSCERT_CA_DENIED: return "denied";
    }
    return "?";
}

/* What prepare computed and commit_batch records: computed once. */
struct ca_prepared {
    unsigned char *csr_der;
    size_t csr_len;
    char csr_sha256[65];
    char *sans;                  /* "a,b,c" */
    char subject[512];
};

static void prepared_free(struct ca_prepared *p)
{
    if (!p)
        return;
    OPENSSL_free(p->csr_der);
    free(p->sans);
    free(p);
}

void cscert_ca_result_clear(cscert_ca_result *r)
{
    if (!r)
        return;
    X509_free(r->cert);
    prepared_free(r->prepared);
    memset(r, 0, sizeof(*r));
}

void cscert_ca_template_clear(cscert_ca_template *t)
{
    if (!t)
        return;
    free(t->hashes);
    free(t->allowed_domains);
    cscert_x509_names_free(t->groups);
    memset(t, 0, sizeof(*t));
}

/* ---- small helpers ---- */

void ca__time_rfc3339(char out[32], const ASN1_TIME *t)
{
    struct tm tm;

    out[0] = '\0';
    if (t && ASN1_TIME_to_tm(t, &tm) == 1)
        strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int ca__serial_hex(char *out, size_t n, const ASN1_INTEGER *serial)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    int rc = CSCERT_OK;

    out[0] = '\0';
    if (!hex || strlen(hex) >= n)
        rc = cscert__crypto_error("serial", "formatting a serial number");
    else
        snprintf(out, n, "%s", hex);
    OPENSSL_free(hex);
    BN_free(bn);
    return rc;
}

/* "aa:bb CC" -> "AABBCC"; EINVAL for anything but hex digits. */
int cscert_ca_serial_normalize(char out[41], const char *in)
{
    size_t n = 0;

    for (; in && *in; in++) {
        if (*in == ':' || *in == ' ')
            continue;
        if (!isxdigit((unsigned char)*in) || n >= 40)
            return cscert_error_setf(CSCERT_EINVAL, "serial", "give the serial in hex, as `csca "
                                     "issued list` prints it", "'%s' is not a serial number", in);
        out[n++] = (char)toupper((unsigned char)*in);
    }
    out[n] = '\0';
    /* BN_bn2hex drops leading zeros: so must we, to compare. */
    while (out[0] == '0' && out[1]) {
        memmove(out, out + 1, n);
        n--;
    }
    if (n == 0)
        return cscert_error_set(CSCERT_EINVAL, "serial", "it is empty", NULL);
    return CSCERT_OK;
}

static int csv_to_list(char ***out, const char *csv)
{
    char **v = NULL;
    size_t n = 0;
    const char *p = csv;

    *out = NULL;
    if (!(v = calloc(1, sizeof(*v))))
        return cscert__oom();
    while (p && *p) {
        size_t len = strcspn(p, ","), a = 0, b = len;

        while (a < b && isspace((unsigned char)p[a]))
            a++;
        while (b > a && isspace((unsigned char)p[b - 1]))
            b--;
        if (b > a) {
            char **nv = realloc(v, (n + 2) * sizeof(*v));

            if (!nv || !(nv[n] = strndup(p + a, b - a))) {
                if (nv)
                    nv[n] = NULL;
                cscert_x509_names_free(nv ? nv : v);
                return cscert__oom();
            }
            v = nv;
            v[++n] = NULL;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    *out = v;
    return CSCERT_OK;
}

/* Template, account and group names: 1..63 printable, no ',' (lists), no
 * control characters. */
static int name_check(const char *what, const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n > CSCERT_CA_NAME_MAX)
        return cscert_error_setf(CSCERT_EINVAL, what, "use 1 to 63 characters",
                                 "'%s' is not a valid name", s ? s : "");
    for (const char *c = s; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == ',' || *c == '"' || *c == '\\')
            return cscert_error_setf(CSCERT_EINVAL, what, "use letters, digits, spaces, '-', "
                                     "'_', '.', '@'", "'%s' holds a character a name cannot "
                                     "have", s);
    return CSCERT_OK;
}

static int write_file_atomic(const char *home, const char *name, const void *data, size_t len)
{
    char path[PATH_MAX], tmp[PATH_MAX];
    int fd, rc = CSCERT_OK;
    mode_t old_mask = umask(077);

    snprintf(path, sizeof(path), "%s/%s", home, name);
    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", home, name);
    unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    umask(old_mask);
    if (fd < 0)
        return cscert_error_setf(CSCERT_EIO, tmp, "check the CA home's permissions",
                                 "cannot create: %s", strerror(errno));
    if (write(fd, data, len) != (ssize_t)len || fsync(fd) < 0)
        rc = cscert_error_setf(CSCERT_EIO, tmp, "check free space", "cannot write: %s",
                               strerror(errno));
    close(fd);
    if (rc == CSCERT_OK && rename(tmp, path) < 0)
        rc = cscert_error_setf(CSCERT_EIO, path, "check the CA home's permissions",
                               "cannot rename into place: %s", strerror(errno));
    if (rc < 0)
        unlink(tmp);
    return rc;
}

static int write_bio_atomic(const char *home, const char *name, BIO *b)
{
    char *data = NULL;
    long len = BIO_get_mem_data(b, &data);

    return write_file_atomic(home, name, data, len > 0 ? (size_t)len : 0);
}

static int read_small_file(unsigned char **out, size_t *len, const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t n;

    *out = NULL;
    *len = 0;
    if (!f)
        return cscert_error_setf(errno == ENOENT ? CSCERT_ENOTFOUND : CSCERT_EIO, path,
                                 "check the CA home", "cannot open: %s", strerror(errno));
    if (!(buf = malloc(CA_FILE_MAX + 1))) {
        fclose(f);
        return cscert__oom();
    }
    n = fread(buf, 1, CA_FILE_MAX + 1, f);
    fclose(f);
    if (n > CA_FILE_MAX) {
        free(buf);
        return cscert_error_setf(CSCERT_EINVAL, path, "check the file", "larger than %d bytes",
                                 CA_FILE_MAX);
    }
    *out = buf;
    *len = n;
    return CSCERT_OK;
}

/* The CA's signing hash: SHA-384 for EC keys above 256 bits, else SHA-256. */
static const char *ca_md_for(EVP_PKEY *k)
{
    return EVP_PKEY_base_id(k) == EVP_PKEY_EC && cscert_key_bits(k) > 256 ? "SHA384" : "SHA256";
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *e;
    int ok;

    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    if (!(e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)))
        return cscert__crypto_error("certificate", "building the %s extension", OBJ_nid2sn(nid));
    ok = X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    return ok ? CSCERT_OK : cscert__crypto_error("certificate", "adding an extension");
}

static int sign_x509(X509 *x, EVP_PKEY *key, const char *md_name)
{
    EVP_MD *md = EVP_MD_fetch(NULL, md_name, NULL);
    int ok = md && X509_sign(x, key, md) > 0;

    EVP_MD_free(md);
    return ok ? CSCERT_OK : cscert__crypto_error("certificate", "signing with the CA key");
}

static int set_serial(X509 *x, const unsigned char serial[CSCERT_CA_SERIAL_BYTES])
{
    BIGNUM *bn = BN_bin2bn(serial, CSCERT_CA_SERIAL_BYTES, NULL);
    ASN1_INTEGER *ai = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
    int ok = ai && X509_set_serialNumber(x, ai);

    ASN1_INTEGER_free(ai);
    BN_free(bn);
    return ok ? CSCERT_OK : cscert__crypto_error("serial", "setting a serial number");
}

int cscert_ca_serial_new(unsigned char out[CSCERT_CA_SERIAL_BYTES])
{
    int zero;

    do {
        if (RAND_bytes(out, CSCERT_CA_SERIAL_BYTES) != 1)
            return cscert__crypto_error("serial", "drawing random bytes");
        /* Positive without a leading zero byte; the second byte keeps it
         * 16 bytes long (RFC 5280: positive, at most 20 octets). */
        out[0] &= 0x7f;
        out[0] |= 0x40;
        zero = 1;
        for (int i = 0; i < CSCERT_CA_SERIAL_BYTES; i++)
            zero &= out[i] == 0;
    } while (zero);
    return CSCERT_OK;
}

/* ---- the CA's name ---- */

/* "host.example.com\Instance": host checked and lower-cased, instance
 * 1..64 printable characters. */
static int split_name(char host[254], char instance[65], const char *name)
{
    const char *bs = name ? strchr(name, '\\') : NULL;
    char buf[254];
    size_t hl;

    if (!bs || bs == name || !bs[1] || strchr(bs + 1, '\\'))
        return cscert_error_setf(CSCERT_EINVAL, "--name", "give it as FQDN\\Instance, e.g. "
                                 "\"dc01.contoso.net\\contoso-DC01-CA\"",
                                 "'%s' is not a CA name", name ? name : "");
    hl = (size_t)(bs - name);
    if (hl >= sizeof(buf))
        return cscert_error_set(CSCERT_EINVAL, "--name", "its host part is too long", NULL);
    memcpy(buf, name, hl);
    buf[hl] = '\0';
    if (cscert_fqdn_check(host, buf, 0, "--name") < 0)
        return cscert_error_code();
    if (strlen(bs + 1) > 64)
        return cscert_error_set(CSCERT_EINVAL, "--name", "the instance name is over 64 characters",
                                NULL);
    for (const char *c = bs + 1; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == '/' || *c == ',')
            return cscert_error_setf(CSCERT_EINVAL, "--name", "use letters, digits, '-', '_', "
                                     "'.', spaces", "the instance name '%s' holds a character it "
                                     "cannot have", bs + 1);
    snprintf(instance, 65, "%s", bs + 1);
    return CSCERT_OK;
}

/* ---- init ---- */

static int make_root(X509 **out, EVP_PKEY *key, const char *instance, int days)
{
    X509 *x = X509_new();
    X509_NAME *subj = X509_NAME_new();
    unsigned char serial[CSCERT_CA_SERIAL_BYTES];
    int rc;

    *out = NULL;
    if (!x || !subj) {
        rc = cscert__oom();
        goto out;
    }
    if (!X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_UTF8, (const unsigned char *)instance,
                                    -1, -1, 0)
        || !X509_set_version(x, X509_VERSION_3) || !X509_set_subject_name(x, subj)
        || !X509_set_issuer_name(x, subj) || !X509_set_pubkey(x, key)
        || !X509_gmtime_adj(X509_getm_notBefore(x), -CA_BACKDATE_SECONDS)
        || !X509_time_adj_ex(X509_getm_notAfter(x), days, 0, NULL)) {
        rc = cscert__crypto_error("CA", "building the root certificate");
        goto out;
    }
    if ((rc = cscert_ca_serial_new(serial)) < 0 || (rc = set_serial(x, serial)) < 0
        || (rc = add_ext(x, NULL, NID_basic_constraints, "critical,CA:TRUE")) < 0
        || (rc = add_ext(x, NULL, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature")) < 0
        || (rc = add_ext(x, NULL, NID_subject_key_identifier, "hash")) < 0
        || (rc = add_ext(x, x, NID_authority_key_identifier, "keyid:always")) < 0
        || (rc = sign_x509(x, key, ca_md_for(key))) < 0)
        goto out;
    *out = x;
    x = NULL;
out:
    X509_NAME_free(subj);
    X509_free(x);
    return rc;
}

/* A PKCS#10 for a parent CA: CN=instance, asking for CA:TRUE and the CA key usages. */
static int make_sub_request(BIO *out, EVP_PKEY *key, const char *instance)
{
    X509_REQ *req = X509_REQ_new();
    X509_NAME *subj = X509_NAME_new();
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    X509_EXTENSION *e;
    EVP_MD *md = EVP_MD_fetch(NULL, ca_md_for(key), NULL);
    int rc = CSCERT_OK;

    if (!req || !subj || !exts || !md
        || !X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_UTF8, (const unsigned char *)instance,
                                       -1, -1, 0)
        || !X509_REQ_set_subject_name(req, subj) || !X509_REQ_set_pubkey(req, key)) {
        rc = cscert__crypto_error("CA", "building the subordinate request");
        goto out;
    }
    if (!(e = X509V3_EXT_conf_nid(NULL, NULL, NID_basic_constraints, "critical,CA:TRUE"))
        || !sk_X509_EXTENSION_push(exts, e)
        || !(e = X509V3_EXT_conf_nid(NULL, NULL, NID_key_usage,
                                     "critical,keyCertSign,cRLSign,digitalSignature"))
        || !sk_X509_EXTENSION_push(exts, e) || !X509_REQ_add_extensions(req, exts)
        || X509_REQ_sign(req, key, md) <= 0 || !PEM_write_bio_X509_REQ(out, req)) {
        rc = cscert__crypto_error("CA", "signing the subordinate request");
        goto out;
    }
out:
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_NAME_free(subj);
    X509_REQ_free(req);
    EVP_MD_free(md);
    return rc;
}

static int write_key(const char *home, EVP_PKEY *key, const char *password)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data = NULL;
    long len;
    int ok, rc;

    if (!b)
        return cscert__oom();
    if (password && *password)
        ok = PEM_write_bio_PKCS8PrivateKey(b, key, EVP_aes_256_cbc(), password,
                                           (int)strlen(password), NULL, NULL);
    else
        ok = PEM_write_bio_PKCS8PrivateKey(b, key, NULL, NULL, 0, NULL, NULL);
    if (!ok) {
        BIO_free(b);
        return cscert__crypto_error("ca.key", "encoding the CA key");
    }
    len = BIO_get_mem_data(b, &data);
    rc = write_file_atomic(home, "ca.key", data, (size_t)len);
    OPENSSL_cleanse(data, (size_t)len);
    BIO_free(b);
    return rc;
}

static void remove_ca_files(const char *home)
{
    char path[PATH_MAX];

    for (size_t i = 0; i < sizeof(ca_files) / sizeof(ca_files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", home, ca_files[i]);
        unlink(path);
    }
}

static int default_template(cscert_ca_template *t)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->name, sizeof(t->name), "%s", CSCERT_CA_TEMPLATE_DEFAULT);
    t->validity_days = CSCERT_CA_TEMPLATE_VALIDITY_DEFAULT_DAYS;
    t->eku = CSCERT_CA_EKU_SERVER;
    t->min_rsa_bits = 2048;
    t->min_ec_bits = 256;
    return (t->hashes = strdup("sha256,sha384,sha512")) ? CSCERT_OK : cscert__oom();
}

static void audit_home(const char *home, const char *event, const char *actor, json_t *obj);

int cscert_ca_init(const char *home, const cscert_ca_init_opts *o)
{
    char host[254], instance[65], path[PATH_MAX];
    cscert_key_spec spec;
    cscert_ca_template t = {0};
    EVP_PKEY *key = NULL;
    X509 *root = NULL;
    BIO *b = NULL;
    ca_db *db = NULL;
    struct stat sb;
    int rc, days = o->validity_days > 0 ? o->validity_days : CSCERT_CA_VALIDITY_DEFAULT_DAYS;
    int made = 0;
    mode_t old_mask;

    if ((rc = split_name(host, instance, o->name)) < 0)
        return rc;
    if (days > CA_VALIDITY_MAX_DAYS)
        return cscert_error_setf(CSCERT_EINVAL, "--validity", "use at most 100y",
                                 "%d days is too long", days);
    if ((rc = cscert_key_spec_parse(&spec, o->key_type ? o->key_type : "rsa:4096")) < 0)
        return rc;
    if (spec.kind == CSCERT_KEY_RSA && spec.bits < 2048)
        return cscert_error_set(CSCERT_EPOLICY, "--key-type", "a CA key below RSA 2048 is refused",
                                "use rsa:2048 or more, or ec:P-256");
    old_mask = umask(077);
    if (mkdir(home, 0700) < 0 && errno != EEXIST) {
        umask(old_mask);
        return cscert_error_setf(CSCERT_EIO, home, "create its parent or pass another --home",
                                 "cannot create the CA home: %s", strerror(errno));
    }
    umask(old_mask);
    snprintf(path, sizeof(path), "%s/csca.db", home);
    if (stat(path, &sb) == 0)
        return cscert_error_set(CSCERT_EEXISTS, home, "a CA already lives here",
                                "use another --home, or remove the old CA deliberately");
    snprintf(path, sizeof(path), "%s/ca.key", home);
    if (stat(path, &sb) == 0)
        return cscert_error_set(CSCERT_EEXISTS, path, "a CA key already exists here",
                                "use another --home");
    made = 1;
    if ((rc = cscert_key_generate(&key, &spec)) < 0 || (rc = write_key(home, key, o->key_password)) < 0)
        goto out;
    if (!(b = BIO_new(BIO_s_mem()))) {
        rc = cscert__oom();
        goto out;
    }
    if (o->subordinate_request) {
        char *data = NULL;
        long len;
        FILE *f;

        if ((rc = make_sub_request(b, key, instance)) < 0)
            goto out;
        len = BIO_get_mem_data(b, &data);
        old_mask = umask(022);
        f = fopen(o->subordinate_request, "wx");
        umask(old_mask);
        if (!f || fwrite(data, 1, (size_t)len, f) != (size_t)len || fclose(f) != 0) {
            rc = cscert_error_setf(CSCERT_EIO, o->subordinate_request, "choose a path that does "
                                   "not exist yet", "cannot write the request: %s",
                                   strerror(errno));
            goto out;
        }
    } else {
        if ((rc = make_root(&root, key, instance, days)) < 0)
            goto out;
        if (!PEM_write_bio_X509(b, root)) {
            rc = cscert__crypto_error("ca.pem", "encoding the root");
            goto out;
        }
        if ((rc = write_bio_atomic(home, "ca.pem", b)) < 0)
            goto out;
    }
    if ((rc = ca_db_open(&db, home, 1)) < 0 || (rc = ca_db_begin(db)) < 0)
        goto out;
    if ((rc = ca_db_meta_set(db, "name", o->name)) < 0
        || (rc = ca_db_meta_set(db, "state", o->subordinate_request ? "awaiting-cert" : "active")) < 0
        || (rc = ca_db_meta_set(db, "crl_number", "0")) < 0 || (rc = default_template(&t)) < 0
        || (rc = ca_db_template_put(db, &t, 1)) < 0 || (rc = ca_db_commit(db)) < 0) {
        ca_db_rollback(db);
        goto out;
    }
    made = 0;
    audit_home(home, "init", o->actor,
               json_pack("{s:s, s:s, s:b, s:i}", "name", o->name, "key_type", spec.name,
                         "subordinate", o->subordinate_request != NULL, "validity_days", days));
out:
    ca_db_close(db);
    if (made)
        remove_ca_files(home);
    cscert_ca_template_clear(&t);
    BIO_free(b);
    X509_free(root);
    EVP_PKEY_free(key);
    return rc;
}

/* ---- open ---- */

struct pw_ud {
    const char *password;
    int asked;
};

static int pw_cb(char *buf, int size, int rwflag, void *u)
{
    struct pw_ud *ud = u;
    size_t n;

    (void)rwflag;
    ud->asked = 1;
    if (!ud->password)
        return -1; /* never prompt on a terminal */
    n = strlen(ud->password);
    if (n > (size_t)size)
        return -1;
    memcpy(buf, ud->password, n);
    return (int)n;
}

static int load_key(EVP_PKEY **out, const char *home, const char *password)
{
    char path[PATH_MAX];
    unsigned char *buf = NULL;
    size_t len = 0;
    struct pw_ud ud = {password, 0};
    BIO *b;
    int rc;

    *out = NULL;
    snprintf(path, sizeof(path), "%s/ca.key", home);
    if ((rc = read_small_file(&buf, &len, path)) < 0)
        return rc;
    if (!(b = BIO_new_mem_buf(buf, (int)len))) {
        OPENSSL_clear_free(buf, len);
        return cscert__oom();
    }
    *out = PEM_read_bio_PrivateKey(b, NULL, pw_cb, &ud);
    BIO_free(b);
    OPENSSL_clear_free(buf, len);
    if (*out)
        return CSCERT_OK;
    ERR_clear_error();
    if (ud.asked)
        return cscert_error_set(CSCERT_EAUTH, path,
                                password ? "wrong password for the encrypted CA key"
                                         : "the CA key is encrypted and no password was given",
                                "pass --key-password-file FILE (or set CSCA_KEY_PASSWORD_FILE)");
    return cscert_error_set(CSCERT_EINVAL, path, "not a PEM private key",
                            "restore ca.key from your backup");
}

static int load_certs(STACK_OF(X509) **out, const char *home, const char *name, int required)
{
    char path[PATH_MAX];
    unsigned char *buf = NULL;
    size_t len = 0;
    cscert_bundle *bundle = NULL;
    int rc;

    *out = NULL;
    snprintf(path, sizeof(path), "%s/%s", home, name);
    rc = read_small_file(&buf, &len, path);
    if (rc == CSCERT_ENOTFOUND && !required) {
        cscert_error_clear();
        return (*out = sk_X509_new_null()) ? CSCERT_OK : cscert__oom();
    }
    if (rc < 0)
        return rc;
    rc = len ? cscert_bundle_parse(&bundle, buf, len, NULL, path) : CSCERT_OK;
    free(buf);
    if (rc < 0)
        return rc;
    if (bundle) {
        *out = bundle->certs;
        bundle->certs = NULL;
        cscert_bundle_free(bundle);
    } else if (!(*out = sk_X509_new_null())) {
        return cscert__oom();
    }
    return CSCERT_OK;
}

static void shared_free(struct ca_shared *sh)
{
    if (!sh || __atomic_sub_fetch(&sh->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    pthread_mutex_destroy(&sh->auth.mu);
    OPENSSL_cleanse(&sh->auth, sizeof(sh->auth));
    EVP_PKEY_free(sh->key);
    X509_free(sh->cert);
    sk_X509_pop_free(sh->chain, X509_free);
    free(sh->home);
    free(sh->name);
    free(sh->host);
    free(sh->audit_path);
    free(sh);
}

int cscert_ca_open(cscert_ca **out, const char *home, const char *key_password)
{
    cscert_ca *ca = NULL;
    struct ca_shared *sh = NULL;
    STACK_OF(X509) *leafs = NULL, *parents = NULL;
    char *state = NULL, host[254], instance[65], path[PATH_MAX];
    int rc;

    *out = NULL;
    if (!(ca = calloc(1, sizeof(*ca))) || !(sh = calloc(1, sizeof(*sh)))) {
        free(ca);
        return cscert__oom();
    }
    sh->refs = 1;
    pthread_mutex_init(&sh->auth.mu, NULL);
    ca->sh = sh;
    if (RAND_priv_bytes(sh->auth.secret, sizeof(sh->auth.secret)) != 1) {
        rc = cscert__crypto_error("CA", "drawing the authentication cache's key");
        goto fail;
    }
    snprintf(path, sizeof(path), "%s/audit.jsonl", home);
    if (!(sh->home = strdup(home)) || !(sh->audit_path = strdup(path))) {
        rc = cscert__oom();
        goto fail;
    }
    if ((rc = ca_db_open(&ca->db, home, 0)) < 0)
        goto fail;
    if ((rc = ca_db_meta_get(&sh->name, ca->db, "name")) < 0) {
        rc = cscert_error_set(CSCERT_EINVAL, home, "the CA database has no name",
                              "restore csca.db from your backup");
        goto fail;
    }
    if ((rc = split_name(host, instance, sh->name)) < 0 || !(sh->host = strdup(host))) {
        rc = rc < 0 ? rc : cscert__oom();
        goto fail;
    }
    if (ca_db_meta_get(&state, ca->db, "state") == CSCERT_OK && strcmp(state, "active") != 0) {
        rc = cscert_error_set(CSCERT_EPOLICY, home, "the subordinate CA has no certificate yet",
                              "have the parent CA sign the request, then run csca install-cert "
                              "FILE");
        goto fail;
    }
    if ((rc = load_key(&sh->key, home, key_password)) < 0
        || (rc = load_certs(&leafs, home, "ca.pem", 1)) < 0
        || (rc = load_certs(&parents, home, "chain.pem", 0)) < 0)
        goto fail;
    if (sk_X509_num(leafs) < 1 || !(sh->cert = sk_X509_shift(leafs))
        || X509_check_private_key(sh->cert, sh->key) != 1) {
        ERR_clear_error();
        rc = cscert_error_set(CSCERT_EINVAL, home, "ca.pem does not belong to ca.key",
                              "restore both from the same backup");
        goto fail;
    }
    if (!(sh->chain = sk_X509_new_null()) || !X509_up_ref(sh->cert)
        || !sk_X509_push(sh->chain, sh->cert)) {
        rc = cscert__oom();
        goto fail;
    }
    while (sk_X509_num(parents) > 0)
        if (!sk_X509_push(sh->chain, sk_X509_shift(parents))) {
            rc = cscert__oom();
            goto fail;
        }
    sh->md = ca_md_for(sh->key);
    *out = ca;
    ca = NULL;
    rc = CSCERT_OK;
fail:
    free(state);
    sk_X509_pop_free(leafs, X509_free);
    sk_X509_pop_free(parents, X509_free);
    cscert_ca_free(ca);
    return rc;
}

int cscert_ca_clone(cscert_ca **out, cscert_ca *ca)
{
    cscert_ca *c = calloc(1, sizeof(*c));
    int rc;

    *out = NULL;
    if (!c)
        return cscert__oom();
    if ((rc = ca_db_open(&c->db, ca->sh->home, 0)) < 0) {
        free(c);
        return rc;
    }
    __atomic_add_fetch(&ca->sh->refs, 1, __ATOMIC_ACQ_REL);
    c->sh = ca->sh;
    *out = c;
    return CSCERT_OK;
}

void cscert_ca_free(cscert_ca *ca)
{
    if (!ca)
        return;
    ca_db_close(ca->db);
    shared_free(ca->sh);
    free(ca);
}

const char *cscert_ca_name(const cscert_ca *ca) { return ca->sh->name; }
const char *cscert_ca_host(const cscert_ca *ca) { return ca->sh->host; }
const char *cscert_ca_home(const cscert_ca *ca) { return ca->sh->home; }
X509 *cscert_ca_cert(const cscert_ca *ca) { return ca->sh->cert; }
EVP_PKEY *cscert_ca_key(const cscert_ca *ca) { return ca->sh->key; }
STACK_OF(X509) *cscert_ca_chain(const cscert_ca *ca) { return ca->sh->chain; }

/* Does mine chain, through the other certificates of the file, to a
 * self-signed root among them? Validity dates are checked too. */
static int chain_to_root(X509 *mine, STACK_OF(X509) *certs, const char *path)
{
    STACK_OF(X509) *roots = sk_X509_new_null(), *others = sk_X509_new_null();
    cscert_chain_status cs;
    int rc = CSCERT_OK;

    if (!roots || !others) {
        rc = cscert__oom();
        goto out;
    }
    for (int i = 0; i < sk_X509_num(certs); i++) {
        X509 *x = sk_X509_value(certs, i);

        if (x != mine && !sk_X509_push(X509_check_issued(x, x) == X509_V_OK ? roots : others, x)) {
            rc = cscert__oom();
            goto out;
        }
    }
    if (!sk_X509_num(roots)) {
        rc = cscert_error_set(CSCERT_EINVAL, path, "it holds no root CA certificate (the chain stops "
                              "below the root)", "give the certificate with the parent's chain up to the "
                              "root: the parent's .p7b, or a PEM bundle");
        goto out;
    }
    if ((rc = cscert_certinfo_chain_to(&cs, mine, roots, others, 1)) == CSCERT_OK && !cs.trusted)
        rc = cscert_error_setf(CSCERT_EINVAL, path, "give the certificate with the parent's chain up to "
                               "the root: the parent's .p7b, or a PEM bundle",
                               "the CA certificate does not chain to the root in the file: %s", cs.error);
out:
    sk_X509_free(roots); /* borrowed from certs */
    sk_X509_free(others);
    return rc;
}

int cscert_ca_install_cert(const char *home, const char *path, const char *key_password,
                           const char *actor)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    cscert_bundle *b = NULL;
    EVP_PKEY *key = NULL;
    X509 *mine = NULL;
    BIO *leaf = NULL, *chain = NULL;
    ca_db *db = NULL;
    char *state = NULL;
    int rc;

    if ((rc = ca_db_open(&db, home, 0)) < 0)
        return rc;
    if (ca_db_meta_get(&state, db, "state") < 0 || strcmp(state, "awaiting-cert") != 0) {
        rc = cscert_error_set(CSCERT_EPOLICY, home, "this CA is not waiting for a certificate",
                              "install-cert completes `csca init --subordinate-request`");
        goto out;
    }
    if ((rc = load_key(&key, home, key_password)) < 0
        || (rc = read_small_file(&buf, &len, path)) < 0
        || (rc = cscert_bundle_parse(&b, buf, len, NULL, path)) < 0)
        goto out;
    if (!(leaf = BIO_new(BIO_s_mem())) || !(chain = BIO_new(BIO_s_mem()))) {
        rc = cscert__oom();
        goto out;
    }
    for (int i = 0; i < sk_X509_num(b->certs); i++) {
        X509 *x = sk_X509_value(b->certs, i);

        if (!mine && X509_check_private_key(x, key) == 1) {
            mine = x;
            PEM_write_bio_X509(leaf, x);
        } else {
            PEM_write_bio_X509(chain, x);
        }
    }
    ERR_clear_error();
    if (!mine) {
        rc = cscert_error_set(CSCERT_EINVAL, path, "no certificate in it is for this CA's key",
                              "give the certificate the parent issued for this CA's request");
        goto out;
    }
    if (X509_check_ca(mine) < 1) {
        rc = cscert_error_set(CSCERT_EINVAL, path, "the certificate is not a CA certificate "
                              "(basicConstraints CA:TRUE missing)",
                              "have the parent issue it from a subordinate-CA template");
        goto out;
    }
    /* /cacerts serves the whole chain and clients trust the root by its
     * fingerprint: the file must carry the chain up to a self-signed root. */
    if ((rc = chain_to_root(mine, b->certs, path)) < 0)
        goto out;
    if ((rc = write_bio_atomic(home, "chain.pem", chain)) < 0
        || (rc = write_bio_atomic(home, "ca.pem", leaf)) < 0)
        goto out;
    if ((rc = ca_db_meta_set(db, "state", "active")) < 0)
        goto out;
    audit_home(home, "install-cert", actor, json_pack("{s:s}", "file", path));
out:
    free(state);
    free(buf);
    cscert_bundle_free(b);
    BIO_free(leaf);
    BIO_free(chain);
    EVP_PKEY_free(key);
    ca_db_close(db);
    return rc;
}

int cscert_ca_pkcs7_der(unsigned char **out, size_t *len, cscert_ca *ca, X509 *leaf)
{
    PKCS7 *p7 = PKCS7_new();
    PKCS7_SIGNED *sd;
    unsigned char *der = NULL;
    int n, rc = CSCERT_OK;

    *out = NULL;
    *len = 0;
    /* certs-only: a SignedData with no signers (RFC 7030 4.1.3, "degenerate"). */
    if (!p7 || !PKCS7_set_type(p7, NID_pkcs7_signed) || !(sd = p7->d.sign)
        || !ASN1_INTEGER_set(sd->version, 1) || !PKCS7_content_new(p7, NID_pkcs7_data)) {
        rc = cscert__crypto_error("PKCS#7", "building a certs-only message");
        goto out;
    }
    if (leaf && !PKCS7_add_certificate(p7, leaf)) {
        rc = cscert__crypto_error("PKCS#7", "adding the certificate");
        goto out;
    }
    for (int i = 0; i < sk_X509_num(ca->sh->chain); i++)
        if (!PKCS7_add_certificate(p7, sk_X509_value(ca->sh->chain, i))) {
            rc = cscert__crypto_error("PKCS#7", "adding the CA chain");
            goto out;
        }
    if ((n = i2d_PKCS7(p7, &der)) <= 0) {
        rc = cscert__crypto_error("PKCS#7", "encoding");
        goto out;
    }
    *out = der;
    *len = (size_t)n;
out:
    PKCS7_free(p7);
    return rc;
}

int cscert_ca_root_fingerprint(char out[65], cscert_ca *ca)
{
    X509 *root = sk_X509_value(ca->sh->chain, sk_X509_num(ca->sh->chain) - 1);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    static const char hex[] = "0123456789ABCDEF";

    out[0] = '\0';
    if (!root || !X509_digest(root, EVP_sha256(), md, &n) || n != 32)
        return cscert__crypto_error("CA", "hashing the root");
    for (unsigned int i = 0; i < n; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 0xf];
    }
    out[64] = '\0';
    return CSCERT_OK;
}

/* ---- audit ---- */

static void audit_path(const char *path, const char *event, const char *actor,
                       const char *source, json_t *obj)
{
    json_t *o;
    char now[32];

    cscert_now_rfc3339(now);
    /* actor and source may come from a client (an account name that is
     * not UTF-8): kept, escaped, never the reason a line is lost. */
    o = json_pack("{s:s, s:s, s:o*, s:o*, s:i}", "time", now, "event", event, "actor", cscert__jsonl_str(actor),
                  "source", cscert__jsonl_str(source), "pid", (int)getpid());
    if (o && obj)
        json_object_update(o, obj);
    json_decref(obj);
    /* No fsync: csca.db is the durable record of every decision that
     * changes something; the audit line follows it. */
    if (!o || cscert__jsonl_append(path, o, 0) < 0)
        cscert__warn("%s: %s", path, o ? cscert_error_last() : "out of memory");
    json_decref(o);
}

static void audit_home(const char *home, const char *event, const char *actor, json_t *obj)
{
    char path[PATH_MAX];

    snprintf(path, sizeof(path), "%s/audit.jsonl", home);
    audit_path(path, event, actor, "local", obj);
}

void cscert_ca_audit(cscert_ca *ca, const char *event, const char *actor, const char *source,
                     json_t *obj)
{
    audit_path(ca->sh->audit_path, event, actor, source, obj);
}

/* ---- templates ---- */

static int template_check(const cscert_ca_template *t)
{
    const cscert_csr_hash *h;
    char **items = NULL;
    int rc;

    if ((rc = name_check("template", t->name)) < 0)
        return rc;
    if (t->validity_days < 1 || t->validity_days > CA_VALIDITY_MAX_DAYS)
        return cscert_error_setf(CSCERT_EINVAL, "--validity", "use 1d to 100y",
                                 "%d days is out of range", t->validity_days);
    if (!t->eku || (t->eku & ~(unsigned)(CSCERT_CA_EKU_SERVER | CSCERT_CA_EKU_CLIENT)))
        return cscert_error_set(CSCERT_EINVAL, "--eku", "no usable EKU",
                                "use serverAuth, clientAuth or both");
    if (t->min_rsa_bits < 1024 || t->min_rsa_bits > CA_MIN_BITS_MAX)
        return cscert_error_setf(CSCERT_EINVAL, "--min-key-size", "use 1024 to 8192",
                                 "%d bits is out of range", t->min_rsa_bits);
    if (t->min_ec_bits < 256 || t->min_ec_bits > 521)
        return cscert_error_setf(CSCERT_EINVAL, "--min-ec-bits", "use 256, 384 or 521",
                                 "%d bits is out of range", t->min_ec_bits);
    if ((rc = csv_to_list(&items, t->hashes)) < 0)
        return rc;
    if (!items[0])
        rc = cscert_error_set(CSCERT_EINVAL, "--hash", "no hash listed", "e.g. sha256,sha384");
    for (size_t i = 0; rc == CSCERT_OK && items[i]; i++)
        rc = cscert_csr_hash_parse(&h, items[i]);
    cscert_x509_names_free(items);
    if (rc < 0)
        return rc;
    if ((rc = csv_to_list(&items, t->allowed_domains)) < 0)
        return rc;
    for (size_t i = 0; rc == CSCERT_OK && items[i]; i++) {
        char fq[254];

        rc = cscert_fqdn_check(fq, items[i], 1, "--allowed-domains");
        if (rc == CSCERT_OK && strchr(items[i] + 1, '*'))
            rc = cscert_error_setf(CSCERT_EINVAL, "--allowed-domains", "write \"*.domain\" or "
                                   "\"host.domain\"", "'%s' is not a domain pattern", items[i]);
    }
    cscert_x509_names_free(items);
    return rc;
}

/* Canonical hash list ("SHA-256, sha384" -> "sha256,sha384"). */
static int hashes_canon(char **out, const char *in)
{
    char **items = NULL, buf[256] = "";
    size_t off = 0;
    const cscert_csr_hash *h;
    int rc;

    *out = NULL;
    if ((rc = csv_to_list(&items, in)) < 0)
        return rc;
    for (size_t i = 0; items[i] && off + 2 < sizeof(buf); i++) {
        if ((rc = cscert_csr_hash_parse(&h, items[i])) < 0)
            break;
        off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", off ? "," : "", h->name);
    }
    cscert_x509_names_free(items);
    if (rc < 0)
        return rc;
    return (*out = strdup(buf)) ? CSCERT_OK : cscert__oom();
}

int cscert_ca_template_get(cscert_ca_template *out, cscert_ca *ca, const char *name)
{
    char *names = NULL;
    int rc = ca_db_template_get(out, ca->db, name);

    if (rc != CSCERT_ENOTFOUND)
        return rc;
    ca_db_template_names(&names, ca->db);
    rc = cscert_error_setf(CSCERT_ENOTFOUND, name, "use one of the CA's templates, or have the CA "
                           "administrator add it (csca template add)",
                           "no such template on CA %s (templates: %s)", ca->sh->name,
                           names ? names : "?");
    free(names);
    return rc;
}

static int template_write(cscert_ca *ca, const cscert_ca_template *t, const char *actor, int insert)
{
    cscert_ca_template c = *t;
    char *hashes = NULL;
    int rc;

    if ((rc = hashes_canon(&hashes, t->hashes)) < 0)
        return rc;
    c.hashes = hashes;
    if ((rc = template_check(&c)) < 0)
        goto out;
    rc = ca_db_template_put(ca->db, &c, insert);
    if (rc == CSCERT_EEXISTS)
        rc = cscert_error_setf(CSCERT_EEXISTS, t->name, "change it with csca template set",
                               "template already exists");
    else if (rc == CSCERT_ENOTFOUND)
        rc = cscert_error_setf(CSCERT_ENOTFOUND, t->name, "create it with csca template add",
                               "no such template");
    if (rc < 0)
        goto out;
    cscert_ca_audit(ca, insert ? "template-add" : "template-set", actor, "local",
                    json_pack("{s:s, s:i, s:i, s:i, s:i, s:s, s:s*, s:s}", "template", c.name,
                              "validity_days", c.validity_days, "eku", (int)c.eku, "min_rsa_bits",
                              c.min_rsa_bits, "min_ec_bits", c.min_ec_bits, "hashes", c.hashes,
                              "allowed_domains", c.allowed_domains, "approval",
                              c.manual_approval ? "manual" : "auto"));
out:
    free(hashes);
    return rc;
}

int cscert_ca_template_add(cscert_ca *ca, const cscert_ca_template *t, const char *actor)
{
    return template_write(ca, t, actor, 1);
}

int cscert_ca_template_set(cscert_ca *ca, const cscert_ca_template *t, const char *actor)
{
    return template_write(ca, t, actor, 0);
}

int cscert_ca_template_remove(cscert_ca *ca, const char *name, const char *actor)
{
    int rc;

    if ((rc = ca_db_begin(ca->db)) < 0)
        return rc;
    if ((rc = ca_db_template_remove(ca->db, name)) < 0 || (rc = ca_db_commit(ca->db)) < 0) {
        ca_db_rollback(ca->db);
        if (rc == CSCERT_ENOTFOUND)
            return cscert_ca_template_get(&(cscert_ca_template){0}, ca, name);
        return rc;
    }
    cscert_ca_audit(ca, "template-remove", actor, "local", json_pack("{s:s}", "template", name));
    return CSCERT_OK;
}

int cscert_ca_template_list(json_t **out, cscert_ca *ca)
{
    return ca_db_template_list(out, ca->db);
}

static int grant_change(cscert_ca *ca, const char *template_name, const char *group,
                        const char *actor, int add)
{
    cscert_ca_template t;
    int rc;

    if ((rc = name_check("--group", group)) < 0)
        return rc;
    if ((rc = cscert_ca_template_get(&t, ca, template_name)) < 0)
        return rc;
    rc = ca_db_grant(ca->db, t.name, group, add);
    if (rc == CSCERT_EEXISTS)
        rc = cscert_error_setf(CSCERT_EEXISTS, t.name, NULL,
                               "group '%s' already has Enroll on it", group);
    else if (rc == CSCERT_ENOTFOUND)
        rc = cscert_error_setf(CSCERT_ENOTFOUND, t.name, "see csca template show",
                               "group '%s' has no Enroll grant on it", group);
    if (rc == CSCERT_OK)
        cscert_ca_audit(ca, add ? "grant" : "revoke-grant", actor, "local",
                        json_pack("{s:s, s:s, s:s}", "template", t.name, "group", group,
                                  "permission", "Enroll"));
    cscert_ca_template_clear(&t);
    return rc;
}

int cscert_ca_grant(cscert_ca *ca, const char *template_name, const char *group, const char *actor)
{
    return grant_change(ca, template_name, group, actor, 1);
}

int cscert_ca_revoke_grant(cscert_ca *ca, const char *template_name, const char *group,
                           const char *actor)
{
    return grant_change(ca, template_name, group, actor, 0);
}

/* ---- accounts ---- */

static int groups_canon(char **out, const char *groups)
{
    char **items = NULL, buf[1024] = "";
    size_t off = 0;
    int rc;

    *out = NULL;
    if ((rc = csv_to_list(&items, groups)) < 0)
        return rc;
    for (size_t i = 0; items[i]; i++) {
        if ((rc = name_check("--group", items[i])) < 0)
            break;
        if (off + strlen(items[i]) + 2 >= sizeof(buf)) {
            rc = cscert_error_set(CSCERT_EINVAL, "--group", "too many groups", NULL);
            break;
        }
        off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", off ? "," : "", items[i]);
    }
    cscert_x509_names_free(items);
    if (rc < 0)
        return rc;
    return (*out = strdup(buf)) ? CSCERT_OK : cscert__oom();
}

int cscert_ca_account_add(cscert_ca *ca, const char *name, const char *groups,
                          const char *password, const char *actor)
{
    char *g = NULL, *hash = NULL;
    int rc;

    if ((rc = name_check("account", name)) < 0 || (rc = groups_canon(&g, groups)) < 0
        || (rc = cscert_ca_password_hash(&hash, password)) < 0)
        goto out;
    rc = ca_db_account_put(ca->db, name, g, hash, 1);
    if (rc == CSCERT_EEXISTS)
        rc = cscert_error_set(CSCERT_EEXISTS, name, "the account already exists",
                              "change it with csca account passwd / account set");
    if (rc == CSCERT_OK)
        cscert_ca_audit(ca, "account-add", actor, "local",
                        json_pack("{s:s, s:s}", "account", name, "groups", g));
out:
    free(g);
    free(hash);
    return rc;
}

static int account_missing(const char *name)
{
    return cscert_error_set(CSCERT_ENOTFOUND, name, "no such account", "see csca account list");
}

int cscert_ca_account_passwd(cscert_ca *ca, const char *name, const char *password,
                             const char *actor)
{
    char *hash = NULL;
    int rc;

    if ((rc = cscert_ca_password_hash(&hash, password)) < 0)
        return rc;
    rc = ca_db_account_update(ca->db, name, NULL, hash);
    free(hash);
    if (rc == CSCERT_ENOTFOUND)
        return account_missing(name);
    if (rc == CSCERT_OK)
        cscert_ca_audit(ca, "account-passwd", actor, "local", json_pack("{s:s}", "account", name));
    return rc;
}

int cscert_ca_account_set_groups(cscert_ca *ca, const char *name, const char *groups,
                                 const char *actor)
{
    char *g = NULL;
    int rc;

    if ((rc = groups_canon(&g, groups)) < 0)
        return rc;
    rc = ca_db_account_update(ca->db, name, g, NULL);
    if (rc == CSCERT_ENOTFOUND)
        rc = account_missing(name);
    if (rc == CSCERT_OK)
        cscert_ca_audit(ca, "account-set", actor, "local",
                        json_pack("{s:s, s:s}", "account", name, "groups", g));
    free(g);
    return rc;
}

int cscert_ca_account_remove(cscert_ca *ca, const char *name, const char *actor)
{
    int rc = ca_db_account_remove(ca->db, name);

    if (rc == CSCERT_ENOTFOUND)
        return account_missing(name);
    if (rc == CSCERT_OK)
        cscert_ca_audit(ca, "account-remove", actor, "local", json_pack("{s:s}", "account", name));
    return rc;
}

int cscert_ca_account_list(json_t **out, cscert_ca *ca)
{
    return ca_db_account_list(out, ca->db);
}

/* A password verified against an account's stored hash is not derived
 * again (PBKDF2, ~30 ms) for CA_AUTH_CACHE_SECONDS: EST clients open a
 * connection per enrollment, and the work is the server's, not the
 * attacker's. A tag is HMAC-SHA256 under a per-process random key over
 * (stored hash, password): a new password (new salt), a removed account
 * or a wrong password never matches one; a hit only skips the derivation,
 * the account and its groups are still read. find: 1 when tag is cached;
 * else 0, and with add the tag is cached. */
static int auth_tag(unsigned char tag[32], struct ca_auth_cache *c, const char *hash, const char *password)
{
    size_t hl = strlen(hash), pl = strlen(password);
    unsigned char *buf = malloc(hl + 1 + pl);
    unsigned int n = 0;
    int ok;

    if (!buf)
        return 0;
    memcpy(buf, hash, hl + 1);
    memcpy(buf + hl + 1, password, pl);
    ok = HMAC(EVP_sha256(), c->secret, sizeof(c->secret), buf, hl + 1 + pl, tag, &n) && n == 32;
    OPENSSL_clear_free(buf, hl + 1 + pl);
    return ok;
}

static int auth_cached(struct ca_auth_cache *c, const unsigned char tag[32], int add)
{
    time_t now = time(NULL);
    int hit = 0;

    pthread_mutex_lock(&c->mu);
    for (unsigned i = 0; i < CA_AUTH_CACHE_SLOTS; i++)
        if (c->slot[i].until > now && CRYPTO_memcmp(c->slot[i].tag, tag, 32) == 0)
            hit = 1;
    if (!hit && add) {
        memcpy(c->slot[c->next].tag, tag, 32);
        c->slot[c->next].until = now + CA_AUTH_CACHE_SECONDS;
        c->next = (c->next + 1) % CA_AUTH_CACHE_SLOTS;
    }
    pthread_mutex_unlock(&c->mu);
    return hit;
}

/* SHA-256 over an account's row as stored: (hash, groups). */
static int account_stamp(unsigned char stamp[CSCERT_CA_STAMP_LEN], const char *hash, const char *groups)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int n = 0;
    int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) && EVP_DigestUpdate(md, hash, strlen(hash) + 1)
             && EVP_DigestUpdate(md, groups, strlen(groups)) && EVP_DigestFinal_ex(md, stamp, &n) && n == 32;

    EVP_MD_CTX_free(md);
    return ok ? CSCERT_OK : cscert__crypto_error("account", "hashing its record");
}

int cscert_ca_account_stamp(unsigned char stamp[CSCERT_CA_STAMP_LEN], cscert_ca *ca, const char *name)
{
    char *g = NULL, *hash = NULL;
    int rc;

    if ((rc = ca_db_account_get(&g, &hash, ca->db, name)) == CSCERT_OK)
        rc = account_stamp(stamp, hash, g);
    else if (rc == CSCERT_ENOTFOUND)
        rc = cscert_error_setf(CSCERT_ENOTFOUND, name, "add it again with csca account add", "no such account");
    free(g);
    free(hash);
    return rc;
}

int cscert_ca_authenticate(char ***groups, cscert_ca *ca, const char *name, const char *password)
{
    return cscert_ca_authenticate_stamped(groups, NULL, ca, name, password);
}

int cscert_ca_authenticate_stamped(char ***groups, unsigned char stamp[CSCERT_CA_STAMP_LEN], cscert_ca *ca,
                                   const char *name, const char *password)
{
    /* A fixed, well-formed hash: an unknown account costs the same work. */
    static const char dummy[] = "pbkdf2-sha256$100000$00000000000000000000000000000000$"
                                "0000000000000000000000000000000000000000000000000000000000000000";
    char *g = NULL, *hash = NULL;
    unsigned char tag[32];
    int rc, found, ok, tagged;

    *groups = NULL;
    found = name && *name && strlen(name) <= CSCERT_CA_NAME_MAX
            && ca_db_account_get(&g, &hash, ca->db, name) == CSCERT_OK;
    tagged = found && auth_tag(tag, &ca->sh->auth, hash, password ? password : "");
    if (tagged && auth_cached(&ca->sh->auth, tag, 0))
        ok = 1;
    else if ((ok = cscert_ca_password_verify(found ? hash : dummy, password ? password : "")) == 1 && tagged)
        auth_cached(&ca->sh->auth, tag, 1);
    OPENSSL_cleanse(tag, sizeof(tag));
    if (found && ok == 1) {
        rc = csv_to_list(groups, g);
        if (rc == CSCERT_OK && stamp && (rc = account_stamp(stamp, hash, g)) < 0) {
            cscert_x509_names_free(*groups);
            *groups = NULL;
        }
    } else {
        rc = cscert_error_setf(CSCERT_EAUTH, name && *name ? name : "account",
                               "check the account name and its password file",
                               "wrong account or password at CA %s", ca->sh->name);
    }
    free(g);
    free(hash);
    return rc;
}

int cscert_ca_authenticate_cert(char **account, char ***groups, cscert_ca *ca, X509 *cert)
{
    char serial[2 * CSCERT_CA_SERIAL_BYTES + 16], *requester = NULL, *g = NULL, *hash = NULL;
    unsigned char *der = NULL;
    int rc, len, revoked = 0;

    *account = NULL;
    *groups = NULL;
    if (!cert || (len = i2d_X509(cert, &der)) <= 0 || ca__serial_hex(serial, sizeof(serial), X509_get0_serialNumber(cert)) < 0) {
        rc = cscert_error_set(CSCERT_EAUTH, "client certificate", "it cannot be read",
                              "present a certificate this CA issued, or use HTTP Basic");
        goto out;
    }
    if ((rc = ca_db_cert_owner(&requester, &revoked, ca->db, serial, der, len)) < 0) {
        if (rc == CSCERT_ENOTFOUND)
            rc = cscert_error_setf(CSCERT_EAUTH, "client certificate", "present a certificate this CA issued, or use HTTP Basic",
                                   "serial %s is not one CA %s issued", serial, ca->sh->name);
        goto out;
    }
    if (revoked) {
        rc = cscert_error_setf(CSCERT_EAUTH, "client certificate", "request a new one with HTTP Basic credentials",
                               "serial %s is revoked", serial);
        goto out;
    }
    /* Checked here, on every request, and not only by the TLS handshake: a
     * resumed session keeps the verdict of the handshake that made it. */
    if (X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0 || X509_cmp_current_time(X509_get0_notBefore(cert)) > 0) {
        rc = cscert_error_setf(CSCERT_EAUTH, "client certificate", "request a new one with HTTP Basic credentials",
                               "serial %s is expired or not yet valid", serial);
        goto out;
    }
    if ((rc = ca_db_account_get(&g, &hash, ca->db, requester)) < 0) {
        if (rc == CSCERT_ENOTFOUND)
            rc = cscert_error_setf(CSCERT_EAUTH, "client certificate", "re-create the account, or use another one",
                                   "serial %s was issued to account '%s', which no longer exists", serial,
                                   requester);
        goto out;
    }
    if ((rc = csv_to_list(groups, g)) < 0)
        goto out;
    *account = requester;
    requester = NULL;
out:
    OPENSSL_free(der);
    free(requester);
    free(g);
    free(hash);
    return rc;
}

/* ---- issuance ---- */

static int add_san(X509 *x, X509_REQ *req)
{
    X509_EXTENSION *e = NULL;
    char **names = NULL;
    size_t n = 0;
    int rc;

    /* The request's CN and DNS SANs, CN first (R1): every name the
     * request carries is in the issued certificate's SAN, each as one
     * dNSName (policy checked that each is a DNS name). */
    if ((rc = cscert_csr_names(&names, &n, req)) < 0)
        return rc;
    if (n > 0 && (rc = cscert__x509_san_dns(&e, (const char *const *)names, n)) == CSCERT_OK
        && !X509_add_ext(x, e, -1))
        rc = cscert__crypto_error("certificate", "adding the subjectAltName extension");
    X509_EXTENSION_free(e);
    cscert_x509_names_free(names);
    return rc;
}

int cscert_ca_sign(X509 **out, cscert_ca *ca, X509_REQ *req, const cscert_ca_template *t,
                   const unsigned char serial[CSCERT_CA_SERIAL_BYTES], int *capped)
{
    X509 *x = X509_new(), *issuer = ca->sh->cert;
    EVP_PKEY *pub = X509_REQ_get0_pubkey(req);
    char eku[64], url[600], *crl = NULL;
    time_t now = time(NULL);
    int rc;

    *out = NULL;
    if (capped)
        *capped = 0;
    if (!x || !pub) {
        rc = x ? cscert_error_set(CSCERT_EINVAL, "request", "it has no public key", NULL)
               : cscert__oom();
        goto out;
    }
    if (!X509_set_version(x, X509_VERSION_3) || !X509_set_issuer_name(x, X509_get_subject_name(issuer))
        || !X509_set_subject_name(x, X509_REQ_get_subject_name(req)) || !X509_set_pubkey(x, pub)
        || !X509_time_adj_ex(X509_getm_notBefore(x), 0, -CA_BACKDATE_SECONDS, &now)
        || !X509_time_adj_ex(X509_getm_notAfter(x), t->validity_days, 0, &now)) {
        rc = cscert__crypto_error("certificate", "building it");
        goto out;
    }
    /* Never outlive the issuer, never start before it. */
    if (ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(issuer)) > 0) {
        if (!X509_set1_notAfter(x, X509_get0_notAfter(issuer))) {
            rc = cscert__crypto_error("certificate", "capping notAfter");
            goto out;
        }
        if (capped)
            *capped = 1;
    }
    if (ASN1_TIME_compare(X509_get0_notBefore(x), X509_get0_notBefore(issuer)) < 0
        && !X509_set1_notBefore(x, X509_get0_notBefore(issuer))) {
        rc = cscert__crypto_error("certificate", "setting notBefore");
        goto out;
    }
    snprintf(eku, sizeof(eku), "%s%s%s", t->eku & CSCERT_CA_EKU_SERVER ? "serverAuth" : "",
             (t->eku & CSCERT_CA_EKU_SERVER) && (t->eku & CSCERT_CA_EKU_CLIENT) ? "," : "",
             t->eku & CSCERT_CA_EKU_CLIENT ? "clientAuth" : "");
    if ((rc = set_serial(x, serial)) < 0
        || (rc = add_ext(x, NULL, NID_basic_constraints, "CA:FALSE")) < 0
        || (rc = add_ext(x, NULL, NID_key_usage,
                         EVP_PKEY_base_id(pub) == EVP_PKEY_RSA
                             ? "critical,digitalSignature,keyEncipherment"
                             : "critical,digitalSignature")) < 0
        || (rc = add_ext(x, NULL, NID_ext_key_usage, eku)) < 0
        || (rc = add_ext(x, NULL, NID_subject_key_identifier, "hash")) < 0
        || (rc = add_ext(x, issuer, NID_authority_key_identifier, "keyid:always")) < 0
        || (rc = add_san(x, req)) < 0)
        goto out;
    if (ca_db_meta_get(&crl, ca->db, "crl_url") == CSCERT_OK && *crl) {
        snprintf(url, sizeof(url), "URI:%s", crl);
        if ((rc = add_ext(x, NULL, NID_crl_distribution_points, url)) < 0)
            goto out;
    }
    if ((rc = sign_x509(x, ca->sh->key, ca->sh->md)) < 0)
        goto out;
    *out = x;
    x = NULL;
out:
    free(crl);
    X509_free(x);
    return rc;
}

int cscert_ca_record_issued(cscert_ca *ca, X509 *x, const char *requester, const char *template_name)
{
    char serial[2 * CSCERT_CA_SERIAL_BYTES + 1];
    int rc;

    if ((rc = ca__serial_hex(serial, sizeof(serial), X509_get0_serialNumber(x))) < 0)
        return rc;
    return ca_db_cert_insert(ca->db, serial, 0, x, NULL, requester, template_name);
}

static int csr_der_hash(unsigned char **der, size_t *len, char hex[65], X509_REQ *req)
{
    unsigned char md[32];
    unsigned int n = 0;
    static const char digits[] = "0123456789abcdef";
    int l;

    *der = NULL;
    if ((l = i2d_X509_REQ(req, der)) <= 0)
        return cscert__crypto_error("request", "encoding it");
    *len = (size_t)l;
    if (!EVP_Digest(*der, *len, md, &n, EVP_sha256(), NULL) || n != 32) {
        OPENSSL_free(*der);
        *der = NULL;
        return cscert__crypto_error("request", "hashing it");
    }
    for (unsigned i = 0; i < n; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 0xf];
    }
    hex[64] = '\0';
    return CSCERT_OK;
}

static void audit_refusal(cscert_ca *ca, const cscert_ca_submission *s)
{
    cscert_ca_audit(ca, "refused", s->requester, s->source,
                    json_pack("{s:s, s:o, s:i}", "template", s->template_name ? s->template_name : "",
                              "reason", cscert__jsonl_str(cscert_error_last()), "code", cscert_error_code()));
}

/* The result of an earlier queue entry (repeat, or request get). */
static int result_from_row(cscert_ca_result *out, cscert_ca *ca, const ca_db_request *r)
{
    out->id = r->id;
    out->disposition = r->disposition;
    snprintf(out->serial, sizeof(out->serial), "%s", r->serial);
    snprintf(out->reason, sizeof(out->reason), "%s", r->reason ? r->reason : "");
    if (r->disposition == CSCERT_CA_ISSUED)
        return ca_db_cert_get(&out->cert, ca->db, r->serial);
    return CSCERT_OK;
}

static void names_csv(char **out, X509_REQ *req)
{
    char **names = NULL;
    size_t n = 0, cap = 1, off = 0;

    *out = NULL;
    if (cscert_csr_names(&names, &n, req) < 0)
        return;
    for (size_t i = 0; i < n; i++)
        cap += strlen(names[i]) + 1;
    if ((*out = malloc(cap))) {
        (*out)[0] = '\0';
        for (size_t i = 0; i < n; i++)
            off += (size_t)snprintf(*out + off, cap - off, "%s%s", i ? "," : "", names[i]);
    }
    cscert_x509_names_free(names);
}

static int prepared_new(struct ca_prepared **out, X509_REQ *req)
{
    struct ca_prepared *p = calloc(1, sizeof(*p));
    int rc;

    *out = NULL;
    if (!p)
        return cscert__oom();
    if ((rc = csr_der_hash(&p->csr_der, &p->csr_len, p->csr_sha256, req)) < 0) {
        free(p);
        return rc;
    }
    X509_NAME_oneline(X509_REQ_get_subject_name(req), p->subject, sizeof(p->subject));
    names_csv(&p->sans, req);
    if (!p->sans) {
        prepared_free(p);
        return cscert__oom();
    }
    *out = p;
    return CSCERT_OK;
}

int cscert_ca_prepare(cscert_ca_result *out, cscert_ca *ca, const cscert_ca_submission *s)
{
    cscert_ca_template t = {0};
    ca_db_request prev = {0};
    unsigned char serial[CSCERT_CA_SERIAL_BYTES];
    int rc;

    memset(out, 0, sizeof(*out));
    if (!s || !s->req || !s->requester)
        return cscert_error_set(CSCERT_EINVAL, "request", "nothing submitted", NULL);
    if ((rc = cscert_ca_template_get(&t, ca, s->template_name ? s->template_name
                                                              : CSCERT_CA_TEMPLATE_DEFAULT)) < 0
        || (rc = cscert_ca_policy_check(&t, s->req, s->groups)) < 0) {
        audit_refusal(ca, s);
        goto out;
    }
    if ((rc = prepared_new(&out->prepared, s->req)) < 0)
        goto out;
    snprintf(out->template_name, sizeof(out->template_name), "%s", t.name);
    /* Names compare as the CA does (templates and accounts: any case). */
    rc = ca_db_request_find(&prev, ca->db, out->prepared->csr_sha256, s->requester, t.name);
    if (rc == CSCERT_OK) {
        /* The same client repeating the same request (RFC 7030 4.2.3):
         * answer from the queue, add nothing. */
        out->repeated = 1;
        prepared_free(out->prepared);
        out->prepared = NULL;
        rc = result_from_row(out, ca, &prev);
        goto out;
    }
    if (rc != CSCERT_ENOTFOUND)
        goto out;
    if (t.manual_approval) {
        out->disposition = CSCERT_CA_PENDING;
        rc = CSCERT_OK;
        goto out;
    }
    if ((rc = cscert_ca_serial_new(serial)) < 0
        || (rc = cscert_ca_sign(&out->cert, ca, s->req, &t, serial, &out->capped)) < 0
        || (rc = ca__serial_hex(out->serial, sizeof(out->serial),
                                X509_get0_serialNumber(out->cert))) < 0)
        goto out;
    out->disposition = CSCERT_CA_ISSUED;
out:
    if (rc < 0)
        cscert_ca_result_clear(out);
    ca_db_request_clear(&prev);
    cscert_ca_template_clear(&t);
    return rc;
}

static json_t *decision_event(const cscert_ca_submission *s, const cscert_ca_result *r,
                              const char *now)
{
    return json_pack("{s:s, s:s, s:s*, s:s*, s:i, s:I, s:s, s:s, s:s*, s:b, s:b}", "time", now,
                     "event", r->disposition == CSCERT_CA_ISSUED ? "issued" : "pending", "actor",
                     s->requester, "source", s->source, "pid", (int)getpid(), "request_id",
                     (json_int_t)r->id, "template",
                     r->template_name[0] ? r->template_name
                     : s->template_name ? s->template_name : CSCERT_CA_TEMPLATE_DEFAULT, "subject",
                     r->prepared->subject, "serial", *r->serial ? r->serial : NULL,
                     "notafter_capped_to_issuer", r->capped, "reenroll", s->reenroll);
}

int cscert_ca_commit_batch(cscert_ca *ca, const cscert_ca_submission *const *s,
                           cscert_ca_result *const *r, size_t n)
{
    char now[32];
    json_t *events;
    size_t i;
    int rc = CSCERT_OK, any = 0;

    for (i = 0; i < n; i++) {
        if (r[i]->repeated)
            continue;
        any = 1;
        if (!r[i]->prepared && (rc = prepared_new(&r[i]->prepared, s[i]->req)) < 0)
            return rc;
    }
    if (!any)
        return CSCERT_OK;
    cscert_now_rfc3339(now);
    if ((rc = ca_db_begin(ca->db)) < 0)
        return rc;
    for (i = 0; i < n; i++) {
        const struct ca_prepared *p = r[i]->prepared;
        const char *tname = r[i]->template_name[0] ? r[i]->template_name
                            : s[i]->template_name ? s[i]->template_name : CSCERT_CA_TEMPLATE_DEFAULT;
        ca_db_request row = {0};

        if (r[i]->repeated)
            continue;
        row.csr_der = p->csr_der;
        row.csr_len = p->csr_len;
        memcpy(row.csr_sha256, p->csr_sha256, sizeof(row.csr_sha256));
        row.template_name = (char *)tname;
        row.requester = (char *)s[i]->requester;
        row.source = (char *)s[i]->source;
        row.subject = (char *)p->subject;
        row.sans = p->sans;
        row.disposition = r[i]->disposition;
        snprintf(row.serial, sizeof(row.serial), "%s", r[i]->serial);
        snprintf(row.submitted, sizeof(row.submitted), "%s", now);
        if (r[i]->disposition == CSCERT_CA_ISSUED)
            snprintf(row.decided, sizeof(row.decided), "%s", now);
        if ((rc = ca_db_request_insert(&r[i]->id, ca->db, &row)) < 0)
            break;
        /* The issued SAN is the request's names (add_san), so they are
         * recorded as they were computed here. */
        if (r[i]->disposition == CSCERT_CA_ISSUED
            && (rc = ca_db_cert_insert(ca->db, r[i]->serial, r[i]->id, r[i]->cert, p->sans,
                                       s[i]->requester, tname)) < 0)
            break;
    }
    if (rc == CSCERT_OK)
        rc = ca_db_commit(ca->db);
    if (rc < 0) {
        ca_db_rollback(ca->db);
        for (i = 0; i < n; i++)
            if (!r[i]->repeated)
                r[i]->id = 0;
        return rc;
    }
    /* One append for the whole batch. */
    if ((events = json_array())) {
        for (i = 0; i < n; i++)
            if (!r[i]->repeated)
                json_array_append_new(events, decision_event(s[i], r[i], now));
        if (cscert__jsonl_append_all(ca->sh->audit_path, events, 0) < 0)
            cscert__warn("%s", cscert_error_last());
        json_decref(events);
    }
    /* Recorded: what prepare computed is no longer needed. */
    for (i = 0; i < n; i++) {
        prepared_free(r[i]->prepared);
        r[i]->prepared = NULL;
    }
    return CSCERT_OK;
}

int cscert_ca_submit(cscert_ca_result *out, cscert_ca *ca, const cscert_ca_submission *s)
{
    const cscert_ca_submission *sv[1] = {s};
    cscert_ca_result *rv[1] = {out};
    int rc;

    if ((rc = cscert_ca_prepare(out, ca, s)) < 0)
        return rc;
    if ((rc = cscert_ca_commit_batch(ca, sv, rv, 1)) < 0)
        cscert_ca_result_clear(out);
    return rc;
}

/* ---- the queue ---- */

static int request_load(ca_db_request *row, X509_REQ **req, cscert_ca *ca, int64_t id)
{
    const unsigned char *p;
    int rc = ca_db_request_get(row, ca->db, id);

    if (rc == CSCERT_ENOTFOUND)
        return cscert_error_setf(CSCERT_ENOTFOUND, "request", "see csca request list",
                                 "no request %lld in the queue of CA %s", (long long)id,
                                 ca->sh->name);
    if (rc < 0 || !req)
        return rc;
    p = row->csr_der;
    if (!(*req = d2i_X509_REQ(NULL, &p, (long)row->csr_len))) {
        ca_db_request_clear(row);
        return cscert__crypto_error("request", "decoding stored request %lld", (long long)id);
    }
    return CSCERT_OK;
}

static int not_pending(const ca_db_request *row)
{
    return cscert_error_setf(CSCERT_EPOLICY, "request", "only pending requests are decided",
                             "request %lld is %s, not pending", (long long)row->id,
                             cscert_ca_disposition_name(row->disposition));
}

int cscert_ca_request_issue(cscert_ca_result *out, cscert_ca *ca, int64_t id, const char *actor)
{
    ca_db_request row = {0};
    cscert_ca_template t = {0};
    X509_REQ *req = NULL;
    unsigned char serial[CSCERT_CA_SERIAL_BYTES];
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = request_load(&row, &req, ca, id)) < 0)
        return rc;
    if (row.disposition != CSCERT_CA_PENDING) {
        rc = not_pending(&row);
        goto out;
    }
    /* The template as it is now; Enroll was checked at submission. */
    if ((rc = cscert_ca_template_get(&t, ca, row.template_name)) < 0
        || (rc = cscert_ca_policy_check(&t, req, NULL)) < 0
        || (rc = cscert_ca_serial_new(serial)) < 0
        || (rc = cscert_ca_sign(&out->cert, ca, req, &t, serial, &out->capped)) < 0
        || (rc = ca__serial_hex(out->serial, sizeof(out->serial), X509_get0_serialNumber(out->cert))) < 0)
        goto out;
    if ((rc = ca_db_begin(ca->db)) < 0)
        goto out;
    if ((rc = ca_db_request_decide(ca->db, id, CSCERT_CA_ISSUED, out->serial, NULL)) < 0
        || (rc = ca_db_cert_insert(ca->db, out->serial, id, out->cert, row.sans, row.requester,
                                   row.template_name)) < 0
        || (rc = ca_db_commit(ca->db)) < 0) {
        ca_db_rollback(ca->db);
        goto out;
    }
    out->id = id;
    out->disposition = CSCERT_CA_ISSUED;
    cscert_ca_audit(ca, "issued", actor, "local",
                    json_pack("{s:I, s:s, s:s, s:s, s:b}", "request_id", (json_int_t)id, "template",
                              t.name, "requester", row.requester, "serial", out->serial,
                              "notafter_capped_to_issuer", out->capped));
out:
    if (rc < 0)
        cscert_ca_result_clear(out);
    X509_REQ_free(req);
    ca_db_request_clear(&row);
    cscert_ca_template_clear(&t);
    return rc;
}

int cscert_ca_request_deny(cscert_ca *ca, int64_t id, const char *reason, const char *actor)
{
    ca_db_request row = {0};
    int rc;

    if (!reason || !*reason || strlen(reason) > 200)
        return cscert_error_set(CSCERT_EINVAL, "--reason", "give a reason of 1 to 200 characters",
                                "it is shown to the requester");
    if ((rc = request_load(&row, NULL, ca, id)) < 0)
        return rc;
    if (row.disposition != CSCERT_CA_PENDING)
        rc = not_pending(&row);
    else
        rc = ca_db_request_decide(ca->db, id, CSCERT_CA_DENIED, NULL, reason);
    if (rc == CSCERT_OK)
        cscert_ca_audit(ca, "denied", actor, "local",
                        json_pack("{s:I, s:s, s:s}", "request_id", (json_int_t)id, "requester",
                                  row.requester, "reason", reason));
    ca_db_request_clear(&row);
    return rc;
}

int cscert_ca_request_get(cscert_ca_result *out, cscert_ca *ca, int64_t id)
{
    ca_db_request row = {0};
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = request_load(&row, NULL, ca, id)) < 0)
        return rc;
    rc = result_from_row(out, ca, &row);
    ca_db_request_clear(&row);
    if (rc < 0)
        cscert_ca_result_clear(out);
    return rc;
}

int cscert_ca_request_list(json_t **out, cscert_ca *ca, int pending_only)
{
    return ca_db_request_list(out, ca->db, pending_only);
}

/* ---- revocation ---- */

static const char *const reasons[] = {
    "unspecified", "keyCompromise", "cACompromise", "affiliationChanged", "superseded",
    "cessationOfOperation", "certificateHold"};

int cscert_ca_revoke_reason(const char *reason)
{
    for (int i = 0; i < (int)(sizeof(reasons) / sizeof(reasons[0])); i++)
        if (reason && strcasecmp(reason, reasons[i]) == 0)
            return i;
    return cscert_error_setf(CSCERT_EINVAL, "--reason", "use unspecified, keyCompromise, "
                             "cACompromise, affiliationChanged, superseded, "
                             "cessationOfOperation or certificateHold",
                             "unknown reason '%s'", reason ? reason : "");
}

int cscert_ca_revoke(cscert_ca *ca, const char *serial, const char *reason, const char *actor)
{
    char hex[41];
    int code, rc;

    if ((code = cscert_ca_revoke_reason(reason)) < 0)
        return code;
    if ((rc = cscert_ca_serial_normalize(hex, serial)) < 0)
        return rc;
    rc = ca_db_cert_revoke(ca->db, hex, code);
    if (rc == CSCERT_ENOTFOUND)
        return cscert_error_setf(CSCERT_ENOTFOUND, hex, "see csca issued list",
                                 "CA %s never issued this serial", ca->sh->name);
    if (rc == CSCERT_EEXISTS)
        return cscert_error_set(CSCERT_EEXISTS, hex, "already revoked", NULL);
    if (rc == CSCERT_OK)
        cscert_ca_audit(ca, "revoked", actor, "local",
                        json_pack("{s:s, s:s}", "serial", hex, "reason", reasons[code]));
    return rc;
}

struct crl_ctx {
    X509_CRL *crl;
};

static int crl_add(void *ud, const char *serial, const char *when, int reason)
{
    struct crl_ctx *c = ud;
    X509_REVOKED *r = X509_REVOKED_new();
    BIGNUM *bn = NULL;
    ASN1_INTEGER *ai = NULL;
    ASN1_TIME *t = ASN1_TIME_new();
    ASN1_ENUMERATED *e = ASN1_ENUMERATED_new();
    char gt[16];
    int ok;

    /* RFC 3339 "2026-11-22T18:40:00Z" -> GeneralizedTime "20261122184000Z". */
    ok = when && strlen(when) == 20
         && snprintf(gt, sizeof(gt), "%.4s%.2s%.2s%.2s%.2s%.2sZ", when, when + 5, when + 8,
                     when + 11, when + 14, when + 17) == 15;
    ok = ok && r && t && e && BN_hex2bn(&bn, serial) && (ai = BN_to_ASN1_INTEGER(bn, NULL))
         && X509_REVOKED_set_serialNumber(r, ai) && ASN1_TIME_set_string_X509(t, gt)
         && X509_REVOKED_set_revocationDate(r, t) && ASN1_ENUMERATED_set(e, reason)
         && X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, e, 0, 0) && X509_CRL_add0_revoked(c->crl, r);
    if (ok)
        r = NULL;
    X509_REVOKED_free(r);
    ASN1_INTEGER_free(ai);
    BN_free(bn);
    ASN1_TIME_free(t);
    ASN1_ENUMERATED_free(e);
    return ok ? CSCERT_OK : cscert__crypto_error("CRL", "adding serial %s", serial);
}

int cscert_ca_crl_pem(char **out, cscert_ca *ca, const char *actor)
{
    struct crl_ctx c = {X509_CRL_new()};
    ASN1_TIME *last = ASN1_TIME_new(), *next = ASN1_TIME_new();
    ASN1_INTEGER *num = ASN1_INTEGER_new();
    X509V3_CTX ctx;
    X509_EXTENSION *aki = NULL;
    EVP_MD *md = EVP_MD_fetch(NULL, ca->sh->md, NULL);
    BIO *b = BIO_new(BIO_s_mem());
    char *numstr = NULL, buf[32], *data;
    long n = 0, len;
    int rc = CSCERT_OK;

    *out = NULL;
    if (!c.crl || !last || !next || !num || !md || !b) {
        rc = cscert__oom();
        goto out;
    }
    if ((rc = ca_db_begin(ca->db)) < 0)
        goto out;
    if (ca_db_meta_get(&numstr, ca->db, "crl_number") == CSCERT_OK)
        n = strtol(numstr, NULL, 10);
    snprintf(buf, sizeof(buf), "%ld", n + 1);
    if ((rc = ca_db_meta_set(ca->db, "crl_number", buf)) < 0
        || (rc = ca_db_revoked_each(ca->db, crl_add, &c)) < 0 || (rc = ca_db_commit(ca->db)) < 0) {
        ca_db_rollback(ca->db);
        goto out;
    }
    X509V3_set_ctx(&ctx, ca->sh->cert, NULL, NULL, c.crl, 0);
    if (!X509_CRL_set_version(c.crl, X509_CRL_VERSION_2)
        || !X509_CRL_set_issuer_name(c.crl, X509_get_subject_name(ca->sh->cert))
        || !X509_gmtime_adj(last, 0) || !X509_CRL_set1_lastUpdate(c.crl, last)
        || !X509_time_adj_ex(next, CSCERT_CA_CRL_DAYS, 0, NULL)
        || !X509_CRL_set1_nextUpdate(c.crl, next) || !ASN1_INTEGER_set(num, n + 1)
        || !X509_CRL_add1_ext_i2d(c.crl, NID_crl_number, num, 0, 0)
        || !(aki = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier, "keyid:always"))
        || !X509_CRL_add_ext(c.crl, aki, -1) || !X509_CRL_sort(c.crl)
        || !X509_CRL_sign(c.crl, ca->sh->key, md) || !PEM_write_bio_X509_CRL(b, c.crl)) {
        rc = cscert__crypto_error("CRL", "building and signing it");
        goto out;
    }
    len = BIO_get_mem_data(b, &data);
    if (!(*out = strndup(data, (size_t)len))) {
        rc = cscert__oom();
        goto out;
    }
    cscert_ca_audit(ca, "crl", actor, "local", json_pack("{s:I}", "crl_number", (json_int_t)(n + 1)));
out:
    free(numstr);
    X509_EXTENSION_free(aki);
    X509_CRL_free(c.crl);
    ASN1_TIME_free(last);
    ASN1_TIME_free(next);
    ASN1_INTEGER_free(num);
    EVP_MD_free(md);
    BIO_free(b);
    return rc;
}

int cscert_ca_set_crl_url(cscert_ca *ca, const char *url, const char *actor)
{
    int rc;

    if (url && *url && strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return cscert_error_setf(CSCERT_EINVAL, "--url", "give an http:// or https:// URL",
                                 "'%s' is not a CRL URL", url);
    if (url && (strlen(url) > 512 || strpbrk(url, " \t\r\n,\"")))
        return cscert_error_set(CSCERT_EINVAL, "--url", "it is too long or holds a space, comma "
                                "or quote", NULL);
    rc = ca_db_meta_set(ca->db, "crl_url", url && *url ? url : NULL);
    if (rc == CSCERT_OK)
        cscert_ca_audit(ca, "crl-url", actor, "local", json_pack("{s:s*}", "url", url));
    return rc;
}

int cscert_ca_issued_list(json_t **out, cscert_ca *ca)
{
    return ca_db_issued_list(out, ca->db);
}
